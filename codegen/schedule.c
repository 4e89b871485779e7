/* schedule.c — the Schedule: for one TirKernel and Variant, the layout of every tile value
   (blocked, mma accumulator, slices), how each dot's operands reach the tensor cores
   (cp.async staging, register staging, accumulator fragments), the pipelined loops and the
   shared-memory budget. The emitter follows it; nothing here builds LLVM IR. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codegen.h"
#include "tir.h"

/* A thread holds at most 255 registers (232 in a warp-specialised consumer warpgroup), and
   beside its accumulators it needs registers for addresses, indices and the epilogue: a dot
   of 256 accumulator registers per thread never allocates (ptxas C7600). */
enum { MAX_ACC_REGISTERS = 224 };

typedef struct Sched {
    Schedule *s;
    Arena *arena;
    const TirKernel *k;
    char *err;
    size_t errlen;
    bool row_mode;             /* dots keep whole rows in one warp (reductions over rows) */
    bool use_wgmma;            /* dots lower to wgmma (the target's default, or the dot knob) */
    bool *no_registers;        /* per value: consumed only by cp.async staging */
    Layout **owned;            /* per value: the assigned layout (arena) */
    const TirOp *grid;         /* the kernel's grid op, or NULL */
} Sched;

static int fail(Sched *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(Sched *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int log2_int(int64_t v)
{
    int n = 0;
    while ((INT64_C(1) << n) < v && n < 62)
        n++;
    return n;
}

/* ---- layouts */

bool layout_equal(const Layout *a, const Layout *b)
{
    if (a == b)
        return true;
    if (!a || !b || a->rank != b->rank || a->nreg != b->nreg)
        return false;
    for (int d = 0; d < a->rank; d++)
        if (a->shape[d] != b->shape[d])
            return false;
    for (int i = 0; i < a->nreg; i++)
        for (int d = 0; d < a->rank; d++)
            if (a->reg[i][d] != b->reg[i][d])
                return false;
    for (int i = 0; i < 5; i++)
        for (int d = 0; d < a->rank; d++)
            if (a->lane[i][d] != b->lane[i][d])
                return false;
    for (int i = 0; i < LAYOUT_MAX_WARP_BITS; i++)
        for (int d = 0; d < a->rank; d++)
            if ((i < a->nwarp ? a->warp[i][d] : 0) != (i < b->nwarp ? b->warp[i][d] : 0))
                return false;
    return true;
}

int layout_reg_offset(const Layout *l, int r, int axis)
{
    int off = 0;
    for (int i = 0; i < l->nreg; i++)
        if (r >> i & 1)
            off += l->reg[i][axis];
    return off;
}

static Layout layout_scalar(int nwarp)
{
    Layout l;
    memset(&l, 0, sizeof l);
    l.kind = LAYOUT_SCALAR;
    l.nwarp = nwarp;
    return l;
}

/* Each thread owns up to 8 consecutive elements of the last axis; lanes continue along the
   last axis, then the one before; warps split the first axis, then the last. */
static Layout layout_blocked(int rank, const int *shape, int nwarp)
{
    Layout l = layout_scalar(nwarp);
    l.kind = LAYOUT_BLOCKED;
    l.rank = rank;
    if (rank == 0)
        return l;
    int left[LAYOUT_MAX_RANK] = {0}, unit[LAYOUT_MAX_RANK] = {0};
    for (int d = 0; d < rank; d++) {
        l.shape[d] = shape[d];
        left[d] = log2_int(shape[d]);
        unit[d] = 1;
    }
    int last = rank - 1;
    for (int i = 0; i < 3 && left[last] > 0; i++, left[last]--, unit[last] *= 2)
        l.reg[l.nreg++][last] = unit[last];
    for (int i = 0; i < 5; i++)
        for (int d = last; d >= 0; d--)
            if (left[d] > 0) {
                l.lane[i][d] = unit[d];
                unit[d] *= 2;
                left[d]--;
                break;
            }
    for (int i = 0; i < nwarp; i++)
        for (int d = 0; d < rank; d++)
            if (left[d] > 0) {
                l.warp[i][d] = unit[d];
                unit[d] *= 2;
                left[d]--;
                break;
            }
    for (int d = last; d >= 0; d--)
        for (; left[d] > 0 && l.nreg < LAYOUT_MAX_REG_BITS; left[d]--, unit[d] *= 2)
            l.reg[l.nreg++][d] = unit[d];
    return l;
}

/* An fp8 B tile [k, n] staged for a FRAGMENT A (k permuted: permuted_k_value in
   emit_stage.c): each thread holds 4 consecutive bytes of a row (one 32-bit read) of the
   rows k, k + 1, k + 8, k + 9, which after the permutation are 4 consecutive bytes of a
   K-major row: 4 words read, their bytes regrouped, 4 words stored, instead of 16 bytes
   stored one by one. Lanes take k 2 and 4, then n; warps and the remaining registers the
   rest. Needs k >= 16 and n >= 4. */
static Layout layout_fp8_staging(const int *shape, int nwarp)
{
    Layout l = layout_scalar(nwarp);
    l.kind = LAYOUT_BLOCKED;
    l.rank = 2;
    l.shape[0] = shape[0];
    l.shape[1] = shape[1];
    l.reg[l.nreg++][1] = 1;
    l.reg[l.nreg++][1] = 2;
    l.reg[l.nreg++][0] = 1;
    l.reg[l.nreg++][0] = 8;
    int nu = 4, ku = 2;   /* the next unit along n, and along k among 2 and 4 */
    for (int i = 0; i < 5; i++) {
        if (ku <= 4) {
            l.lane[i][0] = ku;
            ku *= 2;
        } else if (nu < shape[1]) {
            l.lane[i][1] = nu;
            nu *= 2;
        }
    }
    int kn = 16;   /* k units past 8 */
    for (int i = 0; i < nwarp; i++) {
        if (nu < shape[1]) {
            l.warp[i][1] = nu;
            nu *= 2;
        } else if (kn < shape[0]) {
            l.warp[i][0] = kn;
            kn *= 2;
        }
    }
    for (; nu < shape[1] && l.nreg < LAYOUT_MAX_REG_BITS; nu *= 2)
        l.reg[l.nreg++][1] = nu;
    for (; kn < shape[0] && l.nreg < LAYOUT_MAX_REG_BITS; kn *= 2)
        l.reg[l.nreg++][0] = kn;
    return l;
}

/* Register r = e + 2h + 4(nj + NJ·mi) is c[e + 2h] of 16x8 tile (mi, nj): row g + 8h,
   column 2t + e (g = lane/4, t = lane%4); warp w = wm·WN + wn. */
static Layout layout_mma(const DotPlan *p, int nwarp)
{
    Layout l = layout_scalar(nwarp);
    l.kind = LAYOUT_MMA;
    l.rank = 2;
    l.shape[0] = p->m;
    l.shape[1] = p->n;
    l.reg[l.nreg++][1] = 1;
    l.reg[l.nreg++][0] = 8;
    for (int u = 8; u < p->n / p->wn; u *= 2)
        l.reg[l.nreg++][1] = u;
    for (int u = 16; u < p->m / p->wm; u *= 2)
        l.reg[l.nreg++][0] = u;
    l.lane[0][1] = 2;
    l.lane[1][1] = 4;
    l.lane[2][0] = 1;
    l.lane[3][0] = 2;
    l.lane[4][0] = 4;
    int w = 0;
    for (int u = p->n / p->wn; u < p->n; u *= 2)
        l.warp[w++][1] = u;
    for (int u = p->m / p->wm; u < p->m; u *= 2)
        l.warp[w++][0] = u;
    return l;
}

/* The wgmma accumulator over a wg_m x wg_n grid of warpgroups: in each warpgroup of
   rw x cw, register r = e + 2h + 4(nj + NJ·mi) is row 64·mi + 16·w + g + 8h, column 8·nj +
   2t + e (w the warp in its group, g = lane/4, t = lane%4, NJ = cw/8): the mma layout's
   register order, with the warps of a group stacked 16 rows apart inside each m64 block. */
static Layout layout_wgmma(const DotPlan *p, int nwarp)
{
    Layout l = layout_scalar(nwarp);
    l.kind = LAYOUT_MMA;
    l.rank = 2;
    l.shape[0] = p->m;
    l.shape[1] = p->n;
    int rw = p->m / p->wg_m, cw = p->n / p->wg_n;
    l.reg[l.nreg++][1] = 1;
    l.reg[l.nreg++][0] = 8;
    for (int u = 8; u < cw; u *= 2)
        l.reg[l.nreg++][1] = u;
    for (int u = 64; u < rw; u *= 2)
        l.reg[l.nreg++][0] = u;
    l.lane[0][1] = 2;
    l.lane[1][1] = 4;
    l.lane[2][0] = 1;
    l.lane[3][0] = 2;
    l.lane[4][0] = 4;
    int w = 0;
    l.warp[w++][0] = 16;
    l.warp[w++][0] = 32;
    for (int u = cw; u < p->n; u *= 2)
        l.warp[w++][1] = u;
    for (int u = rw; u < p->m; u *= 2)
        l.warp[w++][0] = u;
    return l;
}

Layout layout_slice(const Layout *l, int axis)
{
    Layout s = layout_scalar(l->nwarp);
    s.kind = l->rank == 1 ? LAYOUT_SCALAR : LAYOUT_DERIVED;
    s.rank = l->rank - 1;
    s.parent = l;
    for (int d = 0, e = 0; d < l->rank; d++)
        if (d != axis)
            s.shape[e++] = l->shape[d];
    for (int i = 0; i < l->nreg; i++) {
        if (l->reg[i][axis])
            continue;
        for (int d = 0, e = 0; d < l->rank; d++)
            if (d != axis)
                s.reg[s.nreg][e++] = l->reg[i][d];
        s.nreg++;
    }
    for (int i = 0; i < 5; i++)
        for (int d = 0, e = 0; d < l->rank; d++)
            if (d != axis)
                s.lane[i][e++] = l->lane[i][axis] ? 0 : l->lane[i][d];
    for (int i = 0; i < l->nwarp; i++)
        for (int d = 0, e = 0; d < l->rank; d++)
            if (d != axis)
                s.warp[i][e++] = l->warp[i][axis] ? 0 : l->warp[i][d];
    return s;
}

Layout layout_project(const Layout *l, const bool *keep_axis)
{
    Layout s = *l;
    s.kind = LAYOUT_DERIVED;
    s.nreg = 0;
    s.parent = l;
    for (int d = 0; d < l->rank; d++)
        if (!keep_axis[d])
            s.shape[d] = 1;
    for (int i = 0; i < l->nreg; i++) {
        bool dropped = false;
        for (int d = 0; d < l->rank; d++)
            dropped |= l->reg[i][d] && !keep_axis[d];
        if (dropped)
            continue;
        memcpy(s.reg[s.nreg++], l->reg[i], sizeof l->reg[i]);
    }
    for (int i = 0; i < 5; i++)
        for (int d = 0; d < l->rank; d++)
            if (l->lane[i][d] && !keep_axis[d])
                memset(s.lane[i], 0, sizeof s.lane[i]);
    for (int i = 0; i < l->nwarp; i++)
        for (int d = 0; d < l->rank; d++)
            if (l->warp[i][d] && !keep_axis[d])
                memset(s.warp[i], 0, sizeof s.warp[i]);
    return s;
}

Layout layout_axes_view(const Layout *l, int first, int naxes)
{
    if (first == 0 && naxes == l->rank)
        return *l;
    Layout v = *l;
    for (int d = l->rank - 1; d >= 0; d--) {
        if (d >= first && d < first + naxes)
            continue;
        Layout t = layout_slice(&v, d);
        t.parent = l;
        v = t;
    }
    return v;
}

/* `l` with a size-1 axis inserted at `axis`. */
static Layout layout_expand(const Layout *l, int axis)
{
    Layout s = layout_scalar(l->nwarp);
    s.kind = LAYOUT_DERIVED;
    s.rank = l->rank + 1;
    s.parent = l->parent;
    s.nreg = l->nreg;
    for (int d = 0, e = 0; d < s.rank; d++) {
        if (d == axis) {
            s.shape[d] = 1;
            continue;
        }
        s.shape[d] = l->shape[e];
        for (int i = 0; i < l->nreg; i++)
            s.reg[i][d] = l->reg[i][e];
        for (int i = 0; i < 5; i++)
            s.lane[i][d] = l->lane[i][e];
        for (int i = 0; i < l->nwarp; i++)
            s.warp[i][d] = l->warp[i][e];
        e++;
    }
    return s;
}

static Layout layout_transpose(const Layout *l)
{
    Layout s = *l;
    s.kind = LAYOUT_DERIVED;
    s.parent = NULL;
    s.shape[0] = l->shape[1];
    s.shape[1] = l->shape[0];
    for (int i = 0; i < l->nreg; i++)
        s.reg[i][0] = l->reg[i][1], s.reg[i][1] = l->reg[i][0];
    for (int i = 0; i < 5; i++)
        s.lane[i][0] = l->lane[i][1], s.lane[i][1] = l->lane[i][0];
    for (int i = 0; i < l->nwarp; i++)
        s.warp[i][0] = l->warp[i][1], s.warp[i][1] = l->warp[i][0];
    return s;
}

/* ---- queries */

int schedule_axis_size(const Schedule *s, Axis axis)
{
    if (axis.kind == AXIS_BLOCK)
        return (int)s->axis_size[axis.id];
    if (axis.kind == AXIS_FULL)
        return (int)s->axis_size[s->kernel->nloopvars + axis.id];
    if (axis.kind == AXIS_CONST)
        return axis.id;   /* a pair axis: 2 */
    return 1;
}

const DotPlan *schedule_dot(const Schedule *s, const TirOp *op)
{
    for (int i = 0; i < s->ndots; i++)
        if (s->dots[i].op == op)
            return &s->dots[i];
    return NULL;
}

const LoopPlan *schedule_loop(const Schedule *s, const TirOp *op)
{
    for (int i = 0; i < s->nloops; i++)
        if (s->loops[i].loop == op)
            return &s->loops[i];
    return NULL;
}

bool schedule_rematerializable(const Schedule *s, const TirValue *v)
{
    (void)s;
    if (v->type.rank == 0)
        return true;
    if (!v->def)
        return false;
    switch (v->def->opcode) {
    case TIR_FULL:
    case TIR_IOTA:
        return true;
    case TIR_BROADCAST:
    case TIR_EXPAND_DIMS:
        return schedule_rematerializable(s, v->def->operands[0]);
    default:
        return false;
    }
}

/* The operand view of a broadcast's result layout: the broadcast axes projected away, and
   for a lower-rank operand (right-aligned) the leading axes sliced off. */
static Layout broadcast_operand_layout(const Layout *result, const TirType *operand)
{
    bool keep[LAYOUT_MAX_RANK] = {false, false};
    int lead = result->rank - operand->rank;
    for (int d = lead; d < result->rank; d++)
        keep[d] = operand->axes[d - lead].kind != AXIS_ONE || result->shape[d] == 1;
    Layout p = layout_project(result, keep);
    Layout out = p;
    for (int d = 0; d < lead; d++) {
        Layout t = layout_slice(&out, 0);
        t.parent = result;
        out = t;
    }
    return out;
}

int schedule_fetch_cost(const Schedule *s, const TirValue *v, const Layout *want)
{
    if (v->type.rank == 0)
        return 0;
    const Layout *have = s->layouts[v->id];
    if (have && layout_equal(have, want))
        return 0;
    if (!v->def)
        return 1;
    switch (v->def->opcode) {
    case TIR_FULL:
    case TIR_IOTA:
        return 0;
    case TIR_BROADCAST: {
        Layout o = broadcast_operand_layout(want, &v->def->operands[0]->type);
        return schedule_fetch_cost(s, v->def->operands[0], &o);
    }
    case TIR_EXPAND_DIMS: {
        Layout o = layout_slice(want, v->def->axis);
        return schedule_fetch_cost(s, v->def->operands[0], &o);
    }
    case TIR_BINARY:   /* index arithmetic on iotas and scalars: recomputed, not moved */
    case TIR_CMP:      /* and masks compared from it (a ragged block's rows) */
        if (dtype_is_float(v->def->operands[0]->type.dtype))
            return 1;
        return schedule_fetch_cost(s, v->def->operands[0], want) ||
               schedule_fetch_cost(s, v->def->operands[1], want);
    default:
        return 1;
    }
}

/* ---- layout assignment */

static const Layout *get_layout(Sched *c, const TirValue *v)
{
    return c->owned[v->id];
}

static bool set_layout(Sched *c, const TirValue *v, const Layout *l)
{
    if (c->owned[v->id] || c->no_registers[v->id])
        return false;
    Layout *copy = arena_alloc(c->arena, sizeof *copy);
    *copy = *l;
    c->owned[v->id] = copy;
    return true;
}

/* Where a value comes from in the source: its op, or for a block argument the op owning
   the block. */
static Loc value_loc(const TirKernel *k, const TirValue *v)
{
    if (v->def)
        return v->def->loc;
    if (v->owner && v->owner->parent)
        return v->owner->parent->loc;
    return k->loc;
}

/* The error for a tile too large for one program: where it is, the sizes that make it
   (BLOCK_M=64 x D=8192), the most one program holds at this num_warps, and the knobs that
   shrink it. */
static int fail_too_large(Sched *c, const TirValue *v, int64_t elements, int64_t most)
{
    const TirKernel *k = c->k;
    char sizes[256] = "", blocks[128] = "";
    size_t ns = 0, nb = 0;
    for (int d = 0; d < v->type.rank && ns < sizeof sizes && nb < sizeof blocks; d++) {
        Axis a = v->type.axes[d];
        const char *name = "";
        if (a.kind == AXIS_BLOCK && k->loopvars[a.id]->tunable >= 0) {
            name = k->tunables[k->loopvars[a.id]->tunable].name;
            nb += (size_t)snprintf(blocks + nb, sizeof blocks - nb, "%s%s", nb ? " or " : "", name);
        } else if (a.kind == AXIS_FULL)
            name = k->syms[a.id].name;
        ns += (size_t)snprintf(sizes + ns, sizeof sizes - ns, "%s%s%s%d", d ? " x " : "", name,
                               name[0] ? "=" : "", schedule_axis_size(c->s, a));
    }
    bool more_warps = c->s->num_warps < (1 << LAYOUT_MAX_WARP_BITS);
    char hint[256];
    if (blocks[0])
        snprintf(hint, sizeof hint, "lower %s%s", blocks, more_warps ? " or raise num_warps" : "");
    else
        snprintf(hint, sizeof hint, "%s", more_warps ? "raise num_warps"
                                                     : "none of its sizes is a block size");
    Loc at = value_loc(k, v);
    return fail(c, "%s:%d:%d: a tile of %lld elements (%s) is too large for one program (at "
                "most %lld at num_warps=%d): %s",
                at.file ? at.file->path : k->source ? k->source : k->name, at.line, at.col,
                (long long)elements, sizes, (long long)most, c->s->num_warps, hint);
}

static int layout_of_value(Sched *c, const TirValue *v, Layout *out)
{
    const TirType *t = &v->type;
    int shape[LAYOUT_MAX_RANK];
    for (int d = 0; d < t->rank; d++)
        shape[d] = schedule_axis_size(c->s, t->axes[d]);
    int nwarp = log2_int(c->s->num_warps);
    *out = t->rank ? layout_blocked(t->rank, shape, nwarp) : layout_scalar(nwarp);
    int64_t elements = 1;
    for (int d = 0; d < t->rank; d++)
        elements *= shape[d];
    /* a thread holds fewer than 2^LAYOUT_MAX_REG_BITS elements, over 32 lanes and the warps */
    int64_t most = INT64_C(1) << (LAYOUT_MAX_REG_BITS - 1 + 5 + nwarp);
    most = most < (INT64_C(1) << 20) ? most : INT64_C(1) << 20;
    if (out->nreg >= LAYOUT_MAX_REG_BITS || elements > (INT64_C(1) << 20))
        return fail_too_large(c, v, elements, most);
    return 0;
}

static bool is_elementwise(TirOpcode op)
{
    return op == TIR_UNARY || op == TIR_BINARY || op == TIR_CMP || op == TIR_SELECT ||
           op == TIR_CONVERT || op == TIR_RAND;
}

/* Propagation steps, one per kind of op: each assigns what it can from the layouts its
   values already have and returns whether it assigned any. */

/* Operands and result share one layout (rematerializable operands are regenerated). */
static bool propagate_elementwise(Sched *c, TirOp *op)
{
    bool changed = false;
    const TirValue *r = op->results[0];
    const Layout *known = get_layout(c, r);
    for (int i = 0; !known && i < op->noperands; i++)
        if (!schedule_rematerializable(c->s, op->operands[i]))
            known = get_layout(c, op->operands[i]);
    if (!known)
        return false;
    changed |= set_layout(c, r, known);
    for (int i = 0; i < op->noperands; i++)
        if (!schedule_rematerializable(c->s, op->operands[i]))
            changed |= set_layout(c, op->operands[i], known);
    return changed;
}

static bool propagate_reduce(Sched *c, TirOp *op)
{
    const Layout *in = get_layout(c, op->operands[0]);
    if (!in || get_layout(c, op->results[0]))
        return false;
    Layout s = layout_slice(in, op->axis);
    return set_layout(c, op->results[0], &s);
}

/* cumsum goes through shared memory: its result reads back in any layout, so it takes the
   operand's unless another op chose one first. */
static bool propagate_cumsum(Sched *c, TirOp *op)
{
    const Layout *in = get_layout(c, op->operands[0]);
    if (!in || get_layout(c, op->results[0]))
        return false;
    return set_layout(c, op->results[0], in);
}

static bool propagate_expand_dims(Sched *c, TirOp *op)
{
    const TirValue *r = op->results[0];
    const Layout *in = get_layout(c, op->operands[0]), *out = get_layout(c, r);
    if (in && !out) {
        Layout e = layout_expand(in, op->axis);
        return set_layout(c, r, &e);
    }
    if (out && !in && !schedule_rematerializable(c->s, op->operands[0])) {
        Layout s = layout_slice(out, op->axis);
        return set_layout(c, op->operands[0], &s);
    }
    return false;
}

/* Backwards: the operand's view of the result. Forwards only to the layout the operand
   was sliced from, when the broadcast restores exactly its shape. */
static bool propagate_broadcast(Sched *c, TirOp *op)
{
    const TirValue *x = op->operands[0], *r = op->results[0];
    const Layout *in = get_layout(c, x), *out = get_layout(c, r);
    if (out && !in && !schedule_rematerializable(c->s, x)) {
        Layout o = broadcast_operand_layout(out, &x->type);
        return set_layout(c, x, &o);
    }
    if (in && !out && in->parent && in->parent->rank == r->type.rank) {
        Layout o = broadcast_operand_layout(in->parent, &x->type);
        bool same_shape = true;
        for (int d = 0; d < r->type.rank; d++)
            same_shape &= in->parent->shape[d] == schedule_axis_size(c->s, r->type.axes[d]);
        if (same_shape && layout_equal(&o, in))
            return set_layout(c, r, in->parent);
    }
    return false;
}

static bool propagate_transpose(Sched *c, TirOp *op)
{
    const TirValue *r = op->results[0];
    const Layout *in = get_layout(c, op->operands[0]), *out = get_layout(c, r);
    if (in && !out) {
        Layout t = layout_transpose(in);
        return set_layout(c, r, &t);
    }
    if (out && !in) {
        Layout t = layout_transpose(out);
        return set_layout(c, op->operands[0], &t);
    }
    return false;
}

/* A carried value's body argument, initial value, yielded value and result share one
   layout (a rematerializable initial value is regenerated in it). */
static bool propagate_for(Sched *c, TirOp *op)
{
    bool changed = false;
    TirBlock *body = op->regions[0];
    const TirOp *yield = body->last;
    for (int i = 0; i < body->nargs; i++) {
        const TirValue *group[4] = {body->args[i], op->operands[op->nvars + i],
                                    yield->operands[i], op->results[i]};
        const Layout *known = NULL;
        for (int j = 0; j < 4 && !known; j++)
            if (j != 1 || !schedule_rematerializable(c->s, group[j]))
                known = get_layout(c, group[j]);
        for (int j = 0; known && j < 4; j++)
            if (!schedule_rematerializable(c->s, group[j]) || j != 1)
                changed |= set_layout(c, group[j], known);
    }
    return changed;
}

/* The accumulator, the epilogue and the result take the dot's mma layout; a prologue's
   argument takes its operand's layout. */
static bool propagate_dot(Sched *c, TirOp *op)
{
    bool changed = false;
    const DotPlan *p = schedule_dot(c->s, op);
    TirBlock *epi = op->regions[TIR_REGION_EPILOGUE];
    if (!schedule_rematerializable(c->s, op->operands[2]))
        changed |= set_layout(c, op->operands[2], &p->acc);
    if (epi) {
        changed |= set_layout(c, epi->args[0], &p->acc);
        const TirValue *y = epi->last->operands[0];
        if (!schedule_rematerializable(c->s, y))
            changed |= set_layout(c, y, &p->acc);
    }
    changed |= set_layout(c, op->results[0], &p->acc);
    for (int i = 0; i < 2; i++) {
        TirBlock *pro = op->regions[i];
        const Layout *in = get_layout(c, op->operands[i]);
        if (pro && in)
            changed |= set_layout(c, pro->args[0], in);
    }
    return changed;
}

/* The layout a load, store or atomic accesses its tile in: the loaded value's, or the
   stored one's. */
static const Layout *access_layout(const Schedule *s, const TirOp *op)
{
    if (op->opcode == TIR_LOAD)
        return s->layouts[op->results[0]->id];
    return op->noperands ? s->layouts[op->operands[0]->id] : NULL;
}

/* Calls fn with each value a memory op reads in a layout derived from its access's: a
   gathered index tile in the view of the access's layout along the tile's axes, the data
   mask in the access's layout. */
typedef void (*AccessReadFn)(const TirValue *v, const Layout *want, void *ctx);
static void access_reads(const Schedule *s, const TirOp *op, const Layout *l, AccessReadFn fn,
                         void *ctx)
{
    for (int i = 0, axis = 0; i < op->nindex; i++) {
        int naxes = tir_index_axes(s->kernel, op, i);
        const TirValue *v = op->index[i].kind == TIR_IDX_VALUE ? tir_index_value(op, i) : NULL;
        if (v && naxes > 0) {
            Layout view = layout_axes_view(l, axis, naxes);
            fn(v, &view, ctx);
        }
        axis += naxes;
    }
    if (tir_data_mask(op))
        fn(tir_data_mask(op), l, ctx);
}

typedef struct Propagation {
    Sched *c;
    bool changed;
} Propagation;

static void propagate_access_read(const TirValue *v, const Layout *want, void *ctx)
{
    Propagation *p = ctx;
    if (!schedule_rematerializable(p->c->s, v))
        p->changed |= set_layout(p->c, v, want);
}

/* A gathered index tile and a data mask take the views of the access's layout they are read
   in, so that neither converts. */
static bool propagate_memory(Sched *c, TirOp *op)
{
    const Layout *l = access_layout(c->s, op);
    Propagation p = {c, false};
    if (l)
        access_reads(c->s, op, l, propagate_access_read, &p);
    return p.changed;
}

/* One propagation step over an op: returns whether any layout was assigned. */
static bool propagate_op(Sched *c, TirOp *op)
{
    if (is_elementwise(op->opcode))
        return propagate_elementwise(c, op);
    switch (op->opcode) {
    case TIR_REDUCE: return propagate_reduce(c, op);
    case TIR_CUMSUM: return propagate_cumsum(c, op);
    case TIR_EXPAND_DIMS: return propagate_expand_dims(c, op);
    case TIR_BROADCAST: return propagate_broadcast(c, op);
    case TIR_TRANSPOSE: return propagate_transpose(c, op);
    case TIR_FOR: return propagate_for(c, op);
    case TIR_DOT: return propagate_dot(c, op);
    case TIR_LOAD:
    case TIR_STORE:
    case TIR_ATOMIC: return propagate_memory(c, op);
    default: return false;
    }
}

typedef struct WalkList {
    TirOp **ops;
    int n, cap;
    Arena *arena;
} WalkList;

static void collect(TirOp *op, void *ctx)
{
    WalkList *w = ctx;
    if (w->n == w->cap) {
        int cap = w->cap ? w->cap * 2 : 64;
        TirOp **ops = arena_alloc(w->arena, sizeof *ops * (size_t)cap);
        if (w->n)
            memcpy(ops, w->ops, sizeof *ops * (size_t)w->n);
        w->ops = ops;
        w->cap = cap;
    }
    w->ops[w->n++] = op;
}

static void propagate(Sched *c, const WalkList *w)
{
    for (bool changed = true; changed;) {
        changed = false;
        for (int i = 0; i < w->n; i++)
            changed |= propagate_op(c, w->ops[i]);
        for (int i = w->n - 1; i >= 0; i--)
            changed |= propagate_op(c, w->ops[i]);
    }
}

/* Values of a block, in order: its arguments, then each op's results. */
static int assign_defaults(Sched *c, const WalkList *w)
{
    /* the dots claim their accumulators and results first: a loop-carried accumulator
       seeded from another layout (a transposed dot result) then converts once at the
       loop's entry, not twice in every block */
    for (int i = 0; i < w->n; i++)
        if (w->ops[i]->opcode == TIR_DOT)
            propagate_dot(c, w->ops[i]);
    /* a load with a gathered index or a data mask takes its layout before the values it
       reads them from, which then take views of it instead of converting */
    for (int i = 0; i < w->n; i++) {
        const TirOp *op = w->ops[i];
        const TirValue *r = op->opcode == TIR_LOAD ? op->results[0] : NULL;
        bool gathers = r && tir_data_mask(op);
        for (int x = 0; r && x < op->nindex; x++)
            gathers |= op->index[x].kind == TIR_IDX_VALUE && tir_index_axes(c->k, op, x) > 0;
        if (!gathers || get_layout(c, r) || c->no_registers[r->id])
            continue;
        Layout l;
        if (layout_of_value(c, r, &l) != 0)
            return -1;
        set_layout(c, r, &l);
    }
    for (;;) {
        propagate(c, w);
        /* the widest tiles first: their slices then reach the narrower values */
        const TirValue *todo = NULL;
        for (int i = 0; i < w->n; i++) {
            TirOp *op = w->ops[i];
            for (int r = 0; r < op->nresults; r++)
                if (!get_layout(c, op->results[r]) && !c->no_registers[op->results[r]->id] &&
                    (!todo || op->results[r]->type.rank > todo->type.rank))
                    todo = op->results[r];
            for (int g = 0; g < 3; g++) {
                TirBlock *b = op->regions[g];
                for (int a = 0; b && a < b->nargs; a++)
                    if (!get_layout(c, b->args[a]) && (!todo || b->args[a]->type.rank > todo->type.rank))
                        todo = b->args[a];
            }
        }
        if (!todo)
            return 0;
        Layout l;
        if (layout_of_value(c, todo, &l) != 0)
            return -1;
        set_layout(c, todo, &l);
    }
}

/* ---- dots */

static bool is_inside(const TirBlock *b, const TirOp *loop)
{
    for (; b; b = b->parent ? b->parent->block : NULL)
        if (b->parent == loop)
            return true;
    return false;
}

static int count_uses(const TirKernel *k, const TirValue *v)
{
    return tir_count_uses(k, v);
}

/* The tile axis (0 or 1) of a load's result that runs along the tensor's innermost dim, or
   -1 when the innermost index is not a tile axis. */
static int contiguous_axis(const TirKernel *k, const TirOp *load)
{
    int axes = 0;
    bool last_is_axis = false;
    for (int i = 0; i < load->nindex; i++) {
        const TirIndex *x = &load->index[i];
        bool pinned_scalar = x->kind == TIR_IDX_BLOCK && k->loopvars[x->loopvar]->tunable < 0 &&
                             k->loopvars[x->loopvar]->block == 1;
        if (x->kind == TIR_IDX_NEWAXIS)
            return -1;
        last_is_axis = (x->kind == TIR_IDX_FULL || x->kind == TIR_IDX_BLOCK) && !pinned_scalar;
        axes += last_is_axis;
    }
    return axes == 2 && last_is_axis && load->results[0]->type.rank == 2 ? 1 : -1;
}

/* Whether the innermost index of an access is a tile(lo, hi) range's loop variable: its
   blocks begin at the range's start, a run-time value, so 16-byte vectors and cp.async
   chunks along that dim may be misaligned (other dims step by 16-byte-aligned strides). */
bool schedule_unaligned_index(const TirKernel *k, const TirOp *access)
{
    const TirIndex *last = access->nindex ? &access->index[access->nindex - 1] : NULL;
    return last && last->kind == TIR_IDX_BLOCK && k->loopvars[last->loopvar]->loop &&
           k->loopvars[last->loopvar]->loop->ranged;
}

/* Whether operand `which` (0 = A, 1 = B) of dot `op` can be copied straight from global
   memory with cp.async; fills the plan's load, k_major and loop. */
static bool plan_async(Sched *c, const TirOp *op, int which, DotPlan *p, OperandPlan *o)
{
    const TirValue *v = op->operands[which];
    if (c->s->variant->align != ALIGN_VEC16 || op->regions[which] || !v->def ||
        count_uses(c->k, v) != 1)
        return false;
    const TirOp *load = v->def;
    bool transposed = false;
    if (load->opcode == TIR_TRANSPOSE) {
        if (count_uses(c->k, load->operands[0]) != 1 || !load->operands[0]->def)
            return false;
        load = load->operands[0]->def;
        transposed = true;
    }
    /* the load's block holds the dot (a tile loaded before the loop stays staged) */
    bool encloses = false;
    for (const TirBlock *b = op->block; b && !encloses; b = b->parent ? b->parent->block : NULL)
        encloses = b == load->block;
    if (load->opcode != TIR_LOAD || !encloses || load->masked)
        return false;
    /* an index read from data is checked, a gathered one read from registers: both go
       through registers (staged), never cp.async or TMA */
    for (int i = 0; i < load->nindex; i++)
        if ((load->index[i].mask & TIR_MASK_CHECK) ||
            (load->index[i].kind == TIR_IDX_VALUE && tir_index_axes(c->k, load, i) > 0))
            return false;
    int axis = contiguous_axis(c->k, load);
    if (axis < 0 || schedule_unaligned_index(c->k, load))
        return false;
    if (transposed)
        axis = 1 - axis;
    /* K is axis 1 of A and axis 0 of B */
    bool k_major = which == 0 ? axis == 1 : axis == 0;
    int es = dtype_size(which == 0 ? p->a_type : p->b_type);
    if (!k_major && es != 2)
        return false;
    if (p->kpad != p->k)
        return false;
    int mn = which == 0 ? p->m : p->n;
    if ((k_major ? p->k : mn) * es < (p->instr == DOT_WGMMA ? 32 : 16))
        return false;
    o->source = OPERAND_ASYNC;
    o->load = load;
    o->k_major = k_major;
    if (transposed)
        c->no_registers[load->results[0]->id] = true;
    c->no_registers[v->id] = true;
    return true;
}

static void plan_operand_memory(DotPlan *p, OperandPlan *o, int which)
{
    int es = dtype_size(which == 0 ? p->a_type : p->b_type);
    int mn = which == 0 ? p->m : p->n;
    if (o->source == OPERAND_STAGED)
        o->k_major = true;
    o->rows = o->k_major ? mn : p->kpad;
    o->row_bytes = (o->k_major ? p->kpad : mn) * es;
    if (p->instr == DOT_WGMMA) {
        o->layout = SMEM_SWIZZLED;
        o->swizzle = o->row_bytes < 128 ? o->row_bytes : 128;
        o->row_stride = o->swizzle;
        o->slot_bytes = (o->rows * o->row_bytes + 1023) & ~1023;
    } else {
        o->layout = SMEM_PADDED;
        o->row_stride = o->row_bytes + 16;
        o->slot_bytes = o->rows * o->row_stride;
    }
    if (!o->slots)
        o->slots = 1;
}

/* mma.sync: a warp grid over the tile, each warp mi x nj tiles of 16x8. */
static int plan_mma_sync(Sched *c, DotPlan *p)
{
    Schedule *s = c->s;
    if (p->m < 16 || p->n < 8)
        return fail(c, "a dot of %dx%d is below the mma.sync tile of 16x8 (raise the block sizes)",
                    p->m, p->n);
    int w = s->num_warps;
    if (c->row_mode) {
        p->wn = 1;
        p->wm = w < p->m / 16 ? w : p->m / 16;
    } else {
        int best = -1;
        for (int wm = 1; wm <= w; wm *= 2) {
            int wn = w / wm;
            if (wm > p->m / 16 || wn > p->n / 8)
                continue;
            int score = log2_int(p->m / wm) - log2_int(p->n / wn);
            score = score < 0 ? -score : score;
            if (best < 0 || score < best || (score == best && wm > p->wm)) {
                best = score;
                p->wm = wm;
                p->wn = wn;
            }
        }
        if (best < 0) {  /* fewer warps than the tile has 16x8 pieces for: some duplicate */
            p->wm = w < p->m / 16 ? w : p->m / 16;
            p->wn = w / p->wm < p->n / 8 ? w / p->wm : p->n / 8;
        }
    }
    p->mi = p->m / (16 * p->wm);
    p->nj = p->n / (8 * p->wn);
    if (p->mi * p->nj * 4 > MAX_ACC_REGISTERS)
        return fail(c, "a warp tile of %dx%d f32 accumulators (%d registers per thread, at most "
                       "%d) is too large", 16 * p->mi, 8 * p->nj, p->mi * p->nj * 4,
                    MAX_ACC_REGISTERS);
    p->acc = layout_mma(p, log2_int(w));
    return 0;
}

/* wgmma: warpgroups along M while each keeps 64 rows or more (always, when rows must stay in
   one warp), the rest along N; each warpgroup m_instr x n_instr instructions of m64 x instr_n. */
static void split_warpgroups(const Sched *c, int m, int *wg_m, int *wg_n)
{
    *wg_m = c->s->num_warps / 4;
    *wg_n = 1;
    while (!c->row_mode && *wg_m > 1 && m / *wg_m < 64) {
        *wg_m /= 2;
        *wg_n *= 2;
    }
}

/* dot=auto's rule on sm_90a: wgmma when every dot gives each warpgroup at least 64 rows, 8
   columns and at most MAX_ACC_REGISTERS accumulator registers per thread; mma.sync otherwise
   (BLOCK_M below a warpgroup's 64 rows is where it is the only choice). */
static bool wgmma_fits(const Sched *c, const TirOp *dot)
{
    int m = (int)schedule_axis_size(c->s, dot->operands[2]->type.axes[0]);
    int n = (int)schedule_axis_size(c->s, dot->operands[2]->type.axes[1]);
    if (c->s->num_warps % 4 || dot->operands[2]->type.dtype == DT_I32)
        return false;   /* i8 dots (i32 accumulators) run on mma.sync (docs/language.md, Targets) */
    int wg_m, wg_n;
    split_warpgroups(c, m, &wg_m, &wg_n);
    int rw = m / wg_m, cw = n / wg_n;
    return rw >= 64 && cw >= 8 && rw / 64 * cw / 2 <= MAX_ACC_REGISTERS;
}

static int plan_wgmma(Sched *c, DotPlan *p)
{
    Schedule *s = c->s;
    int w = s->num_warps;
    if (p->a_type == DT_I8)
        return fail(c, "dot=wgmma: tilec runs i8 dots on mma.sync only (set dot=mma_sync or auto)");
    if (w % 4)
        return fail(c, "wgmma runs on whole warpgroups: num_warps=%d is not a multiple of 4 "
                       "(or set dot=mma_sync)", w);
    split_warpgroups(c, p->m, &p->wg_m, &p->wg_n);
    int rw = p->m / p->wg_m, cw = p->n / p->wg_n;
    if (rw < 64)
        return fail(c, "a dot of %d rows gives %d rows to each of %d warpgroups, below wgmma's "
                       "64 (raise BLOCK_M, lower num_warps, or set dot=mma_sync)", p->m, rw,
                    p->wg_m);
    if (cw < 8)
        return fail(c, "a dot of %d columns is below wgmma's 8 per warpgroup", p->n);
    p->m_instr = rw / 64;
    p->instr_n = cw < 256 ? cw : 256;
    p->n_instr = cw / p->instr_n;
    if (p->m_instr * cw / 2 > MAX_ACC_REGISTERS)
        return fail(c, "a warpgroup tile of %dx%d f32 accumulators (%d registers per thread, at "
                       "most %d) is too large", rw, cw, p->m_instr * cw / 2, MAX_ACC_REGISTERS);
    p->acc = layout_wgmma(p, log2_int(w));
    return 0;
}

static int plan_dot(Sched *c, TirOp *op)
{
    Schedule *s = c->s;
    if (s->ndots == SCHEDULE_MAX_DOTS)
        return fail(c, "more than %d dots in one kernel", SCHEDULE_MAX_DOTS);
    DotPlan *p = &s->dots[s->ndots++];
    memset(p, 0, sizeof *p);
    p->op = op;
    TirBlock *pa = op->regions[TIR_REGION_PROLOGUE_A], *pb = op->regions[TIR_REGION_PROLOGUE_B];
    const TirValue *a = pa ? pa->last->operands[0] : op->operands[0];
    const TirValue *b = pb ? pb->last->operands[0] : op->operands[1];
    p->a_type = a->type.dtype;
    p->b_type = b->type.dtype;
    p->m = schedule_axis_size(s, op->operands[2]->type.axes[0]);
    p->n = schedule_axis_size(s, op->operands[2]->type.axes[1]);
    p->k = schedule_axis_size(s, op->operands[0]->type.axes[1]);
    p->kstep = nvvm_mma_k(p->a_type);
    if (!p->kstep || nvvm_mma_k(p->b_type) != p->kstep)
        return fail(c, "a dot of %s and %s has no tensor-core instruction",
                    dtype_name(p->a_type), dtype_name(p->b_type));
    /* f32 operands: exact dots on FMA, tf32 ones on mma.sync m16n8k8 (wgmma's tf32 would
       need its K-major-only shared layouts: not done) */
    bool f32 = p->a_type == DT_F32;
    if (f32 && op->sub == TIR_DOT_EXACT)
        p->kstep = 1;
    p->kpad = (p->k + p->kstep - 1) / p->kstep * p->kstep;
    p->instr = f32 ? (op->sub == TIR_DOT_EXACT ? DOT_FMA : DOT_MMA_SYNC)
                   : c->use_wgmma ? DOT_WGMMA : DOT_MMA_SYNC;
    if (p->instr == DOT_WGMMA) {
        if (plan_wgmma(c, p) != 0)
            return -1;
    } else if (plan_mma_sync(c, p) != 0) {   /* FMA too: its accumulators in the same layout */
        return -1;
    }
    p->acc.dot = s->ndots - 1;
    /* f32 operands go through registers: read from shared memory as 32-bit scalars */
    if (f32 || !plan_async(c, op, 0, p, &p->a))
        p->a.source = OPERAND_STAGED;
    if (f32 || !plan_async(c, op, 1, p, &p->b))
        p->b.source = OPERAND_STAGED;
    return 0;
}

/* Attention's P: the A operand comes from another dot's accumulator registers when that
   dot's rows lie in the same warps and lanes (both keep whole rows in one warp). */
static void plan_fragments(Sched *c)
{
    Schedule *s = c->s;
    for (int i = 0; i < s->ndots; i++) {
        DotPlan *p = &s->dots[i];
        const TirValue *a = p->op->operands[0];
        const Layout *l = get_layout(c, a);
        if (p->a.source != OPERAND_STAGED || !l || l->kind != LAYOUT_MMA || p->a_type == DT_F32)
            continue;
        const DotPlan *src = &s->dots[l->dot];
        if (src->instr != p->instr || src->m != p->m || src->n != p->k || p->k % 16)
            continue;
        if (p->instr == DOT_MMA_SYNC && (src->wn != 1 || p->wn != 1 || src->wm != p->wm))
            continue;
        if (p->instr == DOT_WGMMA && (src->wg_n != 1 || p->wg_n != 1 || src->wg_m != p->wg_m))
            continue;
        if (p->a_type == DT_I8)
            continue;   /* an i32 accumulator is no i8 operand */
        if (dtype_is_fp8(p->a_type)) {
            if (p->b.source != OPERAND_STAGED)
                continue;
            p->b.permute_k = true;
            /* B read by nothing but this dot: a layout whose registers pack into words */
            const TirValue *b = p->op->operands[1];
            int shape[2] = {(int)schedule_axis_size(s, b->type.axes[0]),
                            (int)schedule_axis_size(s, b->type.axes[1])};
            if (!p->op->regions[TIR_REGION_PROLOGUE_B] && b->def && b->def->opcode == TIR_LOAD &&
                b->type.rank == 2 && count_uses(c->k, b) == 1 && shape[0] >= 16 && shape[1] >= 4) {
                Layout *l = arena_alloc(c->arena, sizeof *l);
                *l = layout_fp8_staging(shape, log2_int(s->num_warps));
                c->owned[b->id] = l;
            }
        }
        p->a.source = OPERAND_FRAGMENT;
    }
}

static void plan_pipelines(Sched *c)
{
    Schedule *s = c->s;
    for (int i = 0; i < s->ndots; i++) {
        DotPlan *p = &s->dots[i];
        OperandPlan *ops[2] = {&p->a, &p->b};
        for (int j = 0; j < 2; j++) {
            OperandPlan *o = ops[j];
            if (o->source != OPERAND_ASYNC)
                continue;
            const TirOp *loop = o->load->block->parent;
            if (!loop || loop->opcode != TIR_FOR || loop->nvars != 1 || s->stages < 1)
                continue;
            bool invariant = true;
            for (int x = 0; x < o->load->nindex; x++)
                if (o->load->index[x].kind == TIR_IDX_VALUE) {
                    const TirValue *iv = tir_index_value(o->load, x);
                    const TirBlock *home = iv->def ? iv->def->block : iv->owner;
                    invariant &= !is_inside(home, loop);
                }
            if (!invariant)
                continue;
            o->loop = loop;
            o->slots = s->stages;
            if (!schedule_loop(s, loop) && s->nloops < SCHEDULE_MAX_LOOPS)
                s->loops[s->nloops++] = (LoopPlan){.loop = loop, .stages = s->stages, .kind = PIPE_GROUPS, .deferred = -1};
        }
    }
}

/* The layout a shape op (broadcast, expand_dims, transpose) wants its operand in, given
   its own result layout; false for other ops. */
static bool operand_view(const TirOp *op, const Layout *result, Layout *out)
{
    switch (op->opcode) {
    case TIR_BROADCAST: *out = broadcast_operand_layout(result, &op->operands[0]->type); return true;
    case TIR_EXPAND_DIMS: *out = layout_slice(result, op->axis); return true;
    case TIR_TRANSPOSE: *out = layout_transpose(result); return true;
    default: return false;
    }
}

/* Whether scalar v can be recomputed by the producer warpgroup: it is rank 0 and made, in
   the kernel's or the grid's body, by pure scalar ops from shapes, parameters and the grid's
   block indices (or it is a loop extent's slice of those). */
static bool producer_can_compute(const TirOp *grid, const TirValue *v, int depth)
{
    if (v->type.rank != 0 || !v->def || depth > 64)
        return false;
    const TirOp *d = v->def;
    if (d->block != grid->regions[0] && d->block->parent)   /* in the grid body or before it */
        return false;
    switch (d->opcode) {
    case TIR_DIM:
    case TIR_PARAM:
    case TIR_FULL:
    case TIR_BEGIN:
    case TIR_END:
    case TIR_BLOCK_ID:
    case TIR_IOTA:     /* rank 0: a block-1 index, its block's begin (GQA's h.index / group) */
        return true;
    case TIR_UNARY:
    case TIR_BINARY:
    case TIR_CMP:
    case TIR_SELECT:
    case TIR_CONVERT:
        for (int i = 0; i < d->noperands; i++)
            if (!producer_can_compute(grid, d->operands[i], depth + 1))
                return false;
        return true;
    default:
        return false;
    }
}

/* The tensor dim (an index of the load) of tile axis `axis` of a load's result, or -1. */
static int tensor_dim_of_axis(const TirKernel *k, const TirOp *load, int axis)
{
    for (int d = 0, a = 0; d < load->nindex; d++) {
        const TirIndex *x = &load->index[d];
        bool is_axis = x->kind == TIR_IDX_FULL ||
                       (x->kind == TIR_IDX_BLOCK && !(k->loopvars[x->loopvar]->tunable < 0 &&
                                                       k->loopvars[x->loopvar]->block == 1));
        if (is_axis && a++ == axis)
            return d;
    }
    return -1;
}

/* Whether TMA's zero fill beyond the tensor's edge gives operand `which` of dot p what its
   masks ask. Only the contraction axis matters (lanes of the other axis past a loop's extent
   are never used: masked reductions, stores and dots skip them): a loop mask there must be
   against the tensor's own dim, unless the other operand is zeroed there in registers (a
   masked FRAGMENT or STAGED A, as attention's P), when the lanes past the extent are
   multiplied by exact zeros. */
static bool tma_masks_hold(Sched *c, const DotPlan *p, const OperandPlan *o, int which)
{
    const TirOp *load = o->load;
    bool transposed = p->op->operands[which]->def != load;
    int kaxis = which == 0 ? 1 : 0;
    if (transposed)
        kaxis = 1 - kaxis;
    int d = tensor_dim_of_axis(c->k, load, kaxis);
    if (d < 0)
        return false;
    const TirIndex *x = &load->index[d];
    if (!(x->mask & TIR_MASK_LOOP) || x->kind != TIR_IDX_BLOCK)
        return true;
    const OperandPlan *other = which == 0 ? &p->b : &p->a;
    if (other->source != OPERAND_ASYNC && p->op->masked)
        return true;
    const TirOp *loop = NULL;
    for (const TirBlock *b = load->block; b && !loop; b = b->parent ? b->parent->block : NULL)
        if (b->parent && b->parent->opcode == TIR_FOR)
            for (int v = 0; v < b->parent->nvars; v++)
                if (b->parent->loopvars[v] == x->loopvar)
                    loop = b->parent;
    if (!loop)
        return false;
    int v = 0;
    while (loop->loopvars[v] != x->loopvar)
        v++;
    const TirValue *extent = loop->operands[v];
    const TirDim *dim = &c->k->params[load->param].dims[d];
    return extent->def && extent->def->opcode == TIR_DIM && dim->sym >= 0 && extent->def->sym == dim->sym;
}

/* A tensor map for operand o (a SWIZZLED K- or MN-major tile): box = the panel's width
   along the tensor's innermost dim, the tile's rows along the other tile axis, 1 along
   every scalar index. Returns the map's index, or -1 when TMA cannot take it. */
static int plan_tensor_map(Sched *c, const DotPlan *p, OperandPlan *o, int which)
{
    Schedule *s = c->s;
    const TirOp *load = o->load;
    const TirParam *param = &c->k->params[load->param];
    if (param->rank > TMAP_MAX_RANK || load->nindex != param->rank || o->rows > 256)
        return -1;
    if (!tma_masks_hold(c, p, o, which))
        return -1;
    int es = dtype_size(param->dtype);
    TensorMapSpec m = {.param = (uint32_t)load->param, .rank = (uint32_t)param->rank,
                       .swizzle = (uint32_t)o->swizzle};
    int axes = 0;
    for (int d = 0; d < param->rank; d++) {
        const TirIndex *x = &load->index[d];
        bool is_axis = x->kind == TIR_IDX_FULL ||
                       (x->kind == TIR_IDX_BLOCK && !(c->k->loopvars[x->loopvar]->tunable < 0 &&
                                                       c->k->loopvars[x->loopvar]->block == 1));
        uint32_t box = 1;
        if (is_axis)
            box = d == param->rank - 1 ? (uint32_t)(o->swizzle / es) : (uint32_t)o->rows;
        axes += is_axis;
        m.box[param->rank - 1 - d] = box;
    }
    if (axes != 2)
        return -1;
    for (int i = 0; i < s->ntmaps; i++)
        if (memcmp(&s->tmaps[i], &m, sizeof m) == 0)
            return i;
    if (s->ntmaps == (int)(sizeof s->tmaps / sizeof s->tmaps[0]))
        return -1;
    s->tmaps[s->ntmaps] = m;
    return s->ntmaps++;
}

/* A STAGED operand whose value is a plain load in ring loop lp's body (fp8 V in attention,
   an fp8 b[K, N]: MN-major tiles fp8 wgmma cannot read) lands through the ring: TMA copies
   the load's tile as it lies into slots of its own, and the compute warps read the load's
   registers from there (emit_landed_load), not from global memory a block's latency away.
   They still stage those registers K-major for the dot. Adds the tile's bytes to the stage. */
static void plan_landing(Sched *c, const LoopPlan *lp, const DotPlan *p, OperandPlan *o, int which,
                         int *bytes)
{
    Schedule *s = c->s;
    const TirValue *v = p->op->operands[which];
    if (o->source != OPERAND_STAGED || p->instr != DOT_WGMMA || p->op->regions[which] || !c->grid ||
        !v->def || v->def->opcode != TIR_LOAD || count_uses(c->k, v) != 1)
        return;
    const TirOp *load = v->def;
    if (load->block != lp->loop->regions[0] || load->masked || s->variant->align != ALIGN_VEC16 ||
        contiguous_axis(c->k, load) != 1 || schedule_unaligned_index(c->k, load))
        return;
    for (int i = 0; i < load->nindex; i++) {
        const TirIndex *x = &load->index[i];
        if ((x->mask & TIR_MASK_CHECK) ||
            (x->kind == TIR_IDX_VALUE && (tir_index_axes(c->k, load, i) > 0 ||
                                          !producer_can_compute(c->grid, tir_index_value(load, i), 0))))
            return;
    }
    int es = dtype_size(v->type.dtype);
    int rows = (int)schedule_axis_size(s, v->type.axes[0]);
    int row_bytes = (int)schedule_axis_size(s, v->type.axes[1]) * es;
    if (row_bytes < 32 || (row_bytes > 128 && row_bytes % 128))
        return;
    OperandPlan *l = arena_alloc(c->arena, sizeof *l);
    *l = (OperandPlan){.source = OPERAND_ASYNC, .load = load, .layout = SMEM_SWIZZLED,
                       .swizzle = row_bytes < 128 ? row_bytes : 128, .rows = rows,
                       .row_bytes = row_bytes, .slots = lp->stages, .loop = lp->loop};
    l->row_stride = l->swizzle;
    l->slot_bytes = (rows * row_bytes + 1023) & ~1023;
    l->tmap = plan_tensor_map(c, p, l, which);
    if (l->tmap < 0)
        return;
    o->landing = l;
    *bytes += rows * row_bytes;
}

/* A ring whose every operand TMA can take copies with TMA from one producer thread. */
static void plan_tma(Sched *c, LoopPlan *lp)
{
    Schedule *s = c->s;
    int saved = s->ntmaps, bytes = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < s->ndots; i++) {
            DotPlan *p = &s->dots[i];
            OperandPlan *ops[2] = {&p->a, &p->b};
            for (int j = 0; j < 2; j++) {
                OperandPlan *o = ops[j];
                if (o->source != OPERAND_ASYNC || o->loop != lp->loop)
                    continue;
                if (pass == 0) {
                    o->tmap = plan_tensor_map(c, p, o, j);
                    if (o->tmap < 0) {   /* cp.async for the whole ring */
                        s->ntmaps = saved;
                        return;
                    }
                } else {
                    bytes += o->rows * o->row_bytes;
                }
            }
        }
    for (int i = 0; i < s->ndots; i++) {
        plan_landing(c, lp, &s->dots[i], &s->dots[i].a, 0, &bytes);
        plan_landing(c, lp, &s->dots[i], &s->dots[i].b, 1, &bytes);
    }
    lp->tma = true;
    lp->stage_bytes = bytes;
}

/* Warp specialisation: with every dot on wgmma and every pipelined loop directly in the
   grid's body (its extent and its loads' indices scalars the producer can recompute), a
   producer warpgroup runs the copies through a ring of mbarrier-guarded slots and the
   compute warps only compute. Knob ws=0 keeps the compute warps issuing their own copies. */
static void plan_roles(Sched *c, const TirOp *grid)
{
    Schedule *s = c->s;
    if (!grid || !s->nloops || config_knob(s->variant->config, TUNE_WS) == 0)
        return;
    for (int i = 0; i < s->ndots; i++)
        if (s->dots[i].instr != DOT_WGMMA)
            return;
    for (int i = 0; i < s->nloops; i++) {
        const TirOp *loop = s->loops[i].loop;
        /* a range's start read from data is not the producer's to compute (it reads none);
           one made of block indices and shapes is (a sliding window's first key) */
        if (loop->block != grid->regions[0] ||
            (loop->ranged && !producer_can_compute(grid, tir_loop_start(loop), 0)))
            return;
        for (int v = 0; v < loop->nvars; v++)
            if (!producer_can_compute(grid, loop->operands[v], 0))
                return;
    }
    for (int i = 0; i < s->ndots; i++) {
        const OperandPlan *ops[2] = {&s->dots[i].a, &s->dots[i].b};
        for (int j = 0; j < 2; j++) {
            const OperandPlan *o = ops[j];
            if (o->source != OPERAND_ASYNC || !o->loop)
                continue;
            for (int x = 0; x < o->load->nindex; x++)
                if (o->load->index[x].kind == TIR_IDX_VALUE &&
                    !producer_can_compute(grid, tir_index_value(o->load, x), 0))
                    return;
        }
    }
    s->warp_specialized = true;
    s->persistent = config_knob(s->variant->config, TUNE_PERSISTENT) != 0;
    /* ping-pong: two groups of compute warps, each on its own tiles (needs the tile loop) */
    int groups = (int)config_knob(s->variant->config, TUNE_TILE_GROUPS);
    s->tile_groups = groups == 2 && s->persistent && s->num_warps == 4 ? 2 : 1;
    s->compute_threads = 32 * s->num_warps * s->tile_groups;
    s->num_threads = s->compute_threads + 128;
    s->producer_regs = 56;   /* cp.async producers: 128 threads with their copies' addresses */
    for (int i = 0; i < s->nloops; i++) {
        s->loops[i].kind = PIPE_RING;
        s->loops[i].ring = s->nrings++;
    }
}

const OperandPlan *schedule_landing(const Schedule *s, const TirOp *load)
{
    for (int i = 0; i < s->ndots; i++)
        for (int j = 0; j < 2; j++) {
            const OperandPlan *o = j ? &s->dots[i].b : &s->dots[i].a;
            if (o->landing && o->landing->load == load)
                return o->landing;
        }
    return NULL;
}

bool schedule_defined_in(const TirValue *v, const TirOp *loop)
{
    const TirBlock *b = v->def ? v->def->block : v->owner;
    for (; b && b->parent; b = b->parent->block)
        if (b->parent == loop)
            return true;
    return false;
}

/* A ring loop whose body's one dot only accumulates (its acc is a carried value used by
   nothing else, its result goes straight to the yield, no epilogue) lets that dot's wgmmas
   run on into the next block: each block waits for the one before and releases its slot. */
static void plan_deferred_waits(Sched *c)
{
    Schedule *s = c->s;
    for (int i = 0; i < s->nloops; i++) {
        LoopPlan *lp = &s->loops[i];
        lp->deferred = -1;
        /* a block's slot goes back only at the next block's wait: one slot would deadlock */
        if (lp->kind != PIPE_RING || lp->stages < 2)
            continue;
        const TirBlock *body = lp->loop->regions[0];
        int found = -1, ndots = 0;
        for (const TirOp *op = body->first; op; op = op->next)
            if (op->opcode == TIR_DOT) {
                ndots++;
                for (int d = 0; d < s->ndots; d++)
                    if (s->dots[d].op == op)
                        found = d;
            } else if (op->opcode == TIR_FOR) {
                ndots = 2;   /* a nested loop: keep it simple */
            }
        if (ndots != 1 || found < 0)
            continue;
        const DotPlan *p = &s->dots[found];
        const TirOp *dot = p->op, *yield = body->last;
        const TirValue *acc = dot->operands[2];
        int arg = -1;
        for (int a = 0; a < body->nargs; a++)
            if (body->args[a] == acc)
                arg = a;
        if (p->instr != DOT_WGMMA || dot->regions[TIR_REGION_EPILOGUE] || arg < 0 ||
            tir_count_uses(c->k, acc) != 1 || tir_count_uses(c->k, dot->results[0]) != 1 ||
            yield->operands[arg] != dot->results[0])
            continue;
        /* an operand staged through registers every block has one slot, which the next
           block's stores would overwrite under this block's wgmmas still reading it (moe's
           gathered rows, split-K's ranged A): only one staged once before the loop
           (emit_stage_invariant_operands) lets the wgmmas run on */
        bool restaged = false;
        for (int w = 0; w < 2; w++) {
            const OperandPlan *o = w == 0 ? &p->a : &p->b;
            restaged |= o->source == OPERAND_STAGED &&
                        (dot->regions[w] || schedule_defined_in(dot->operands[w], lp->loop));
        }
        if (restaged)
            continue;
        lp->deferred = found;
    }
}

/* Copies of each ring: TMA where every operand allows (a producer of one thread's work,
   40 registers), cp.async by the whole producer warpgroup otherwise. */
static void plan_copies(Sched *c)
{
    Schedule *s = c->s;
    bool all_tma = true;
    for (int i = 0; i < s->nloops; i++)
        if (s->loops[i].kind == PIPE_RING) {
            plan_tma(c, &s->loops[i]);
            all_tma &= s->loops[i].tma;
        }
    if (s->warp_specialized && all_tma) {
        /* TMA: one thread issuing copies. A kernel of one dot leaves its producer little
           else (40, and its two compute warpgroups 232 for the epilogue); chained dots'
           producer replays the loop's causal and ragged splits and the tile's index
           arithmetic (GQA's i64 head division spilled at 48). 56 costs their consumers
           nothing: 224 either way once rounded to a multiple of 8. */
        s->producer_regs = s->ndots > 1 ? 56 : 40;
    } else if (s->warp_specialized) {
        for (int i = 0; i < s->nloops; i++)   /* one kind of copy for every ring */
            s->loops[i].tma = false;
        for (int i = 0; i < s->ndots; i++) {
            s->dots[i].a.tmap = s->dots[i].b.tmap = -1;
            s->dots[i].a.landing = s->dots[i].b.landing = NULL;   /* TMA rings only */
        }
        s->ntmaps = 0;
    }
    /* setmaxnreg moves registers within what the block was launched with, never beyond:
       ptxas gives each of num_threads at most 64K / num_threads (a multiple of 8), so the
       compute warpgroups may take what that pool holds past the producer's. Counting the
       whole 64K instead made .inc wait forever at 384 threads (168 each at launch: 48 x 128
       + 232 x 256 is 1024 over the pool). */
    int launch_regs = (65536 / s->num_threads > 255 ? 255 : 65536 / s->num_threads) & ~7;
    int per = (launch_regs * s->num_threads - 128 * s->producer_regs) / s->compute_threads;
    s->consumer_regs = (per > 240 ? 240 : per) & ~7;
}

static int64_t layout_elements(const Layout *l)
{
    int64_t elems = 1;
    for (int d = 0; d < l->rank; d++)
        elems *= l->shape[d];
    return elems;
}

typedef struct AccessConversions {
    const Schedule *s;
    ConversionFn fn;
    void *ctx;
} AccessConversions;

static void access_conversion(const TirValue *v, const Layout *want, void *ctx)
{
    AccessConversions *ac = ctx;
    if (schedule_fetch_cost(ac->s, v, want))
        ac->fn(v, want, layout_elements(want), ac->ctx);
}

void schedule_conversions(const Schedule *s, const TirOp *op, ConversionFn fn, void *ctx)
{
    if (op->opcode == TIR_REDUCE) {
        const Layout *in = s->layouts[op->operands[0]->id];
        const Layout *out = s->layouts[op->results[0]->id];
        if (in && out) {
            Layout sl = layout_slice(in, op->axis);
            if (!layout_equal(&sl, out))
                fn(op->results[0], out, layout_elements(&sl), ctx);
        }
    }
    const Layout *want = op->nresults ? s->layouts[op->results[0]->id] : NULL;
    /* broadcast, expand_dims and transpose are emitted by fetching their operand in a view
       of their own layout: a conversion when the operand's layout differs */
    Layout view;
    if (want && operand_view(op, want, &view) && schedule_fetch_cost(s, op->operands[0], &view))
        fn(op->operands[0], &view, layout_elements(want), ctx);
    /* a dot reads its accumulator in the plan's layout and leaves its result (or its
       epilogue's) there; emit_dot converts the result to the scheduled layout */
    const DotPlan *dot = op->opcode == TIR_DOT ? schedule_dot(s, op) : NULL;
    if (want && dot) {
        const TirBlock *epi = op->regions[TIR_REGION_EPILOGUE];
        if (schedule_fetch_cost(s, op->operands[2], &dot->acc))
            fn(op->operands[2], &dot->acc, layout_elements(&dot->acc), ctx);
        if (epi ? schedule_fetch_cost(s, epi->last->operands[0], want) != 0
                : !layout_equal(&dot->acc, want))
            fn(op->results[0], want, layout_elements(want), ctx);
    }
    if (want && is_elementwise(op->opcode)) {
        int first = 0;
        /* an fma reads its mul's operands instead of the mul (emit_elementwise) */
        TirFusedMultiply fused = {0};
        bool fma = op->opcode != TIR_DOT && tir_fused_multiply(op, &fused);
        const TirValue *reads[6];
        int nreads = 0;
        for (int i = first; i < op->noperands; i++)
            if (!fma || i != fused.operand)
                reads[nreads++] = op->operands[i];
        for (int i = 0; fma && i < 2; i++)
            reads[nreads++] = fused.mul->operands[i];
        if (fused.select) {
            reads[nreads++] = fused.select->operands[0];
            reads[nreads++] = fused.select->operands[3 - fused.mul_branch];
        }
        for (int i = 0; i < nreads; i++)
            if (schedule_fetch_cost(s, reads[i], want))
                fn(reads[i], want, layout_elements(want), ctx);
    }
    /* a prologue runs in its argument's layout, which the operand's may not be (the
       argument can take its layout from another operand of the prologue): the operand is
       fetched in it and the prologue's result back in the operand's (operand_tile) */
    for (int i = 0; op->opcode == TIR_DOT && i < 2; i++) {
        const TirBlock *pro = op->regions[i];
        const Layout *have = s->layouts[op->operands[i]->id];
        const Layout *arg = pro ? s->layouts[pro->args[0]->id] : NULL;
        if (!have || !arg)
            continue;
        if (schedule_fetch_cost(s, op->operands[i], arg))
            fn(op->operands[i], arg, layout_elements(arg), ctx);
        if (schedule_fetch_cost(s, pro->last->operands[0], have))
            fn(pro->last->operands[0], have, layout_elements(have), ctx);
    }
    /* a memory op fetches its gathered index tiles and its data mask in views of its
       access's layout (emit_memory.c) */
    const Layout *access = op->opcode == TIR_LOAD || op->opcode == TIR_STORE ||
                           op->opcode == TIR_ATOMIC ? access_layout(s, op) : NULL;
    if (access) {
        AccessConversions ac = {s, fn, ctx};
        access_reads(s, op, access, access_conversion, &ac);
    }
    /* a loop fetches its initial carried values in the carried layout (emit_for) */
    for (int i = 0; op->opcode == TIR_FOR && i < op->regions[0]->nargs; i++) {
        const Layout *l = s->layouts[op->regions[0]->args[i]->id];
        if (l && schedule_fetch_cost(s, op->operands[op->nvars + i], l))
            fn(op->operands[op->nvars + i], l, layout_elements(l), ctx);
    }
    if (op->opcode == TIR_YIELD && op->block->parent && op->block->parent->opcode == TIR_FOR) {
        const TirBlock *body = op->block;
        for (int i = 0; i < op->noperands; i++) {
            const Layout *l = s->layouts[body->args[i]->id];
            if (l && schedule_fetch_cost(s, op->operands[i], l))
                fn(op->operands[i], l, layout_elements(l), ctx);
        }
    }
}

typedef struct ScratchNeed {
    Schedule *s;
    int64_t bytes;
} ScratchNeed;

static void count_conversion(const TirValue *v, const Layout *to, int64_t elements, void *ctx)
{
    (void)to;
    ScratchNeed *n = ctx;
    n->s->conversions++;
    int64_t bytes = elements * dtype_size(v->type.dtype);  /* as convert_layout stores it */
    if (bytes > n->bytes)
        n->bytes = bytes;
}

int schedule_reduce_warps(const Schedule *s, const TirOp *op, int64_t *bytes)
{
    const Layout *in = op->opcode == TIR_REDUCE ? s->layouts[op->operands[0]->id] : NULL;
    int slots = 1;
    for (int i = 0; in && i < in->nwarp; i++)
        if (in->warp[i][op->axis])
            slots *= 2;
    int64_t elems = 1;
    for (int d = 0; in && d < in->rank; d++)
        if (d != op->axis)
            elems *= in->shape[d];
    *bytes = slots > 1 ? slots * elems * 8 : 0;
    return slots;
}

/* Bytes of shared scratch a conversion or reduction of this op needs. */
static int scratch_for(Sched *c, const TirOp *op)
{
    ScratchNeed need = {c->s, 0};
    schedule_reduce_warps(c->s, op, &need.bytes);
    bool whole = op->opcode == TIR_CUMSUM || op->opcode == TIR_SPLIT || op->opcode == TIR_JOIN;
    const Layout *in = whole ? c->s->layouts[op->operands[0]->id] : NULL;
    if (in)    /* the whole tile, join's two (emit_cumsum, emit_split_join) */
        need.bytes = layout_elements(in) * op->noperands * dtype_size(op->results[0]->type.dtype);
    schedule_conversions(c->s, op, count_conversion, &need);
    return (int)need.bytes;
}

static int64_t full_size(const Schedule *s, int sym)
{
    return s->variant->full_sizes[sym];
}

/* The variant's knobs and the padded size of every axis. */
static int read_variant(Sched *c, const Variant *v)
{
    Schedule *s = c->s;
    const TirKernel *k = c->k;
    s->num_warps = (int)config_knob(v->config, TUNE_WARPS);
    s->num_threads = s->compute_threads = 32 * s->num_warps;
    s->tile_groups = 1;
    s->stages = (int)config_knob(v->config, TUNE_STAGES);
    s->group_m = (int)config_knob(v->config, TUNE_GROUP_M);
    if (s->num_warps < 1 || s->num_warps > 8 || (s->num_warps & (s->num_warps - 1)))
        return fail(c, "num_warps=%d: codegen takes 1, 2, 4 or 8", s->num_warps);
    if (s->stages < 1)
        s->stages = 1;
    if (k->nsyms > VARIANT_MAX_SYMS)
        return fail(c, "kernel %s has more than %d shape symbols", k->name, VARIANT_MAX_SYMS);
    s->axis_size = arena_alloc(c->arena, sizeof(int64_t) * (size_t)(k->nloopvars + k->nsyms + 1));
    for (int i = 0; i < k->nloopvars; i++)
        s->axis_size[i] = tir_loopvar_block(k, k->loopvars[i], v->config);
    for (int i = 0; i < k->nsyms; i++) {
        if (!k->syms[i].is_full)
            continue;
        if (full_size(s, i) <= 0)
            return fail(c, "kernel %s needs the size of full axis %s (e.g. %s=64)", k->name,
                        k->syms[i].name, k->syms[i].name);
        if (full_size(s, i) > TIR_MAX_FULL_AXIS)
            return fail(c, "full axis %s=%lld: a size taken whole is at most %d", k->syms[i].name,
                        (long long)full_size(s, i), TIR_MAX_FULL_AXIS);
        s->axis_size[k->nloopvars + i] = tir_next_pow2(full_size(s, i));
    }
    return 0;
}

/* Every dot's plan, in print order; row mode when whole rows must stay in one warp. */
static int plan_dots(Sched *c, const WalkList *w, const Target *t)
{
    Schedule *s = c->s;
    int ndots = 0, nreduce_dot = 0;
    for (int i = 0; i < w->n; i++) {
        ndots += w->ops[i]->opcode == TIR_DOT;
        nreduce_dot += w->ops[i]->opcode == TIR_REDUCE;
    }
    c->row_mode = ndots > 1 || (ndots == 1 && nreduce_dot > 0);
    const Config *config = s->variant->config;
    int64_t dot_knob = config_knob(config, TUNE_DOT);
    bool has_wgmma = t->sm == 90;   /* sm_90a: the only target tilec emits for Hopper */
    if (dot_knob == DOT_KNOB_WGMMA && !has_wgmma)
        return fail(c, "dot=wgmma needs sm_90a (target %s has mma.sync only)", t->name);
    c->use_wgmma = dot_knob == DOT_KNOB_AUTO ? has_wgmma : dot_knob == DOT_KNOB_WGMMA;
    for (int i = 0; i < w->n && dot_knob == DOT_KNOB_AUTO; i++)
        if (w->ops[i]->opcode == TIR_DOT && !wgmma_fits(c, w->ops[i]))
            c->use_wgmma = false;   /* one instruction for the kernel's dots */
    if (config_knob(config, TUNE_TILE_GROUPS) > 1 && s->num_warps != 4)
        return fail(c, "tile_groups=2 gives each tile group one warpgroup: it needs num_warps=4");
    for (int i = 0; i < w->n; i++) {
        if (w->ops[i]->opcode != TIR_DOT)
            continue;
        if (plan_dot(c, w->ops[i]) != 0)
            return -1;
        const DotPlan *p = &s->dots[s->ndots - 1];
        if (!nvvm_mma_supported(t, p->a_type) || !nvvm_mma_supported(t, p->b_type))
            return fail(c, "target %s has no mma.sync for a dot of %s and %s (fp8 needs "
                           "sm_89 or later)", t->name, dtype_name(p->a_type),
                        dtype_name(p->b_type));
    }
    return 0;
}

/* Shared memory: the rings' slots and barriers, then what each tile group has its own copy
   of (operand tiles outside rings, the scratch every conversion and cross-warp reduction
   shares); over the target's limit fails. Operand layouts and copies are planned first. */
static int plan_shared_memory(Sched *c, const WalkList *w, const Target *t)
{
    Schedule *s = c->s;
    for (int i = 0; i < s->ndots; i++)
        for (int j = 0; j < 2; j++) {
            OperandPlan *o = j ? &s->dots[i].b : &s->dots[i].a;
            o->tmap = -1;
            if (o->source != OPERAND_FRAGMENT)
                plan_operand_memory(&s->dots[i], o, j);
        }
    if (s->warp_specialized) {
        plan_copies(c);
        plan_deferred_waits(c);
    }
    /* shared memory: the rings' slots and barriers, then what each tile group has its own
       copy of (operand tiles outside rings, scratch) */
    int offset = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            for (int i = 0; i < s->nloops; i++)
                if (s->loops[i].kind == PIPE_RING) {
                    offset = (offset + 7) & ~7;
                    s->loops[i].barriers = offset;
                    offset += 16 * s->loops[i].stages;
                }
            offset = (offset + 1023) & ~1023;
            s->private_offset = offset;
        }
        for (int i = 0; i < s->ndots; i++)
            for (int j = 0; j < 2; j++) {
                OperandPlan *o = j ? &s->dots[i].b : &s->dots[i].a;
                const LoopPlan *lp = o->source == OPERAND_ASYNC && o->loop ? schedule_loop(s, o->loop) : NULL;
                bool ring = lp && lp->kind == PIPE_RING;
                if (o->landing && pass == 0) {   /* a ring's slots, shared by the tile groups */
                    offset = (offset + 1023) & ~1023;
                    o->landing->smem_offset = offset;
                    offset += o->landing->slots * o->landing->slot_bytes;
                }
                if (o->source == OPERAND_FRAGMENT || ring != (pass == 0))
                    continue;
                o->per_group = !ring;
                if (o->layout == SMEM_SWIZZLED)   /* the swizzle pattern is 1024-byte periodic */
                    offset = (offset + 1023) & ~1023;
                o->smem_offset = offset;
                offset += o->slots * o->slot_bytes;
                offset = (offset + 127) & ~127;
            }
    }
    s->scratch_offset = offset;
    for (int i = 0; i < w->n; i++) {
        int need = scratch_for(c, w->ops[i]);
        s->scratch_bytes = need > s->scratch_bytes ? need : s->scratch_bytes;
    }
    offset += s->scratch_bytes;
    s->private_bytes = (offset - s->private_offset + 1023) & ~1023;
    if (s->tile_groups > 1)
        offset = s->private_offset + s->tile_groups * s->private_bytes;
    s->smem_bytes = offset;
    int limit = t->smem_limit;
    if (s->smem_bytes > limit)
        return fail(c, "kernel %s needs %d bytes of shared memory per block, over %s's %d "
                       "(lower the block sizes or num_stages)", c->k->name, s->smem_bytes,
                    t->name, limit);
    return 0;
}

int schedule_build(Arena *a, const TirKernel *k, const Variant *v, const Target *t,
                   Schedule *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    Sched c = {.s = s, .arena = a, .k = k, .err = err, .errlen = errlen};
    s->kernel = k;
    s->variant = v;
    if (read_variant(&c, v) != 0)
        return -1;
    c.owned = arena_alloc(a, sizeof *c.owned * (size_t)(k->nvalues + 1));
    c.no_registers = arena_alloc(a, sizeof(bool) * (size_t)(k->nvalues + 1));
    s->layouts = (const Layout **)c.owned;

    WalkList w = {.arena = a};
    tir_walk(k->body, collect, &w);
    if (plan_dots(&c, &w, t) != 0 || assign_defaults(&c, &w) != 0)
        return -1;
    plan_fragments(&c);
    plan_pipelines(&c);
    c.grid = k->body->last && k->body->last->opcode == TIR_GRID ? k->body->last : NULL;
    plan_roles(&c, c.grid);
    return plan_shared_memory(&c, &w, t);
}

/* "wgmma m64n256 x2 warpgroups, TMA ring of 4, warp-specialised, persistent": how the
   variant's dots and copies run (tilec inspect, the bundle). */
const char *schedule_path(Arena *a, const Schedule *s)
{
    char buf[512];
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < s->ndots && n < sizeof buf; i++) {
        const DotPlan *p = &s->dots[i];
        if (p->instr == DOT_WGMMA)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%swgmma m64n%d x%d warpgroups%s",
                                  n ? "; " : "", p->instr_n, p->wg_m * p->wg_n,
                                  p->a.source == OPERAND_FRAGMENT ? " (A from registers)" : "");
        else
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s %dx%d warps", n ? "; " : "",
                                  p->instr == DOT_FMA ? "fma" : p->a_type == DT_F32 ? "mma.sync tf32"
                                                                                  : "mma.sync",
                                  p->wm, p->wn);
    }
    for (int i = 0; i < s->nloops && n < sizeof buf; i++) {
        const LoopPlan *lp = &s->loops[i];
        const char *kind = lp->kind == PIPE_GROUPS ? "cp.async groups" : lp->tma ? "TMA ring" : "cp.async ring";
        n += (size_t)snprintf(buf + n, sizeof buf - n, ", %s of %d", kind, lp->stages);
    }
    if (s->warp_specialized && n < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, ", warp-specialised");
    if (s->persistent && n < sizeof buf)
        snprintf(buf + n, sizeof buf - n, ", persistent");
    return arena_strdup(a, buf[0] ? buf : "no dots");
}
