/* estimate.c — what a kernel needs for one config and shape, read from its TIR: loop
   extents, shared memory, registers, the largest tiles and the launch's FLOPs. These feed
   the pruning rules before anything is compiled; codegen may replace the smem and register
   numbers with its Schedule's (TuneEstimator). */
#include <math.h>
#include <string.h>

#include "autotune.h"

/* Loop extents for a shape: `begin` is 0 and `end` the whole extent of its variable, or
   half of it with `half_end` (its mean over the blocks, for FLOPs); scalar parameters are
   not known. */
typedef struct ShapeLeaf {
    const TuneShapeInfo *s;
    bool half_end;
} ShapeLeaf;

static bool extent_of(const TuneShapeInfo *s, int loopvar, bool half_end, int64_t *out);

static bool shape_leaf(void *ctx, const TirOp *op, int64_t *ivalue, double *fvalue)
{
    const ShapeLeaf *l = ctx;
    int64_t e;
    (void)fvalue;
    switch (op->opcode) {
    case TIR_DIM:
        *ivalue = l->s->sym_values[op->sym];
        return true;
    case TIR_BEGIN:
        *ivalue = 0;
        return true;
    case TIR_END:
        if (!extent_of(l->s, op->loopvar, l->half_end, &e))
            return false;
        if (l->half_end)
            tir_int_binary(TIR_BIN_CDIV, DT_I64, e, 2, &e);
        *ivalue = e;
        return true;
    default:
        return false;
    }
}

/* The extent of a loop variable; false when the shape does not give it (it uses a scalar
   parameter) or it divides by zero. */
static bool extent_of(const TuneShapeInfo *s, int loopvar, bool half_end, int64_t *out)
{
    const TirLoopVar *lv = s->kernel->loopvars[loopvar];
    ShapeLeaf leaf = {s, half_end};
    TirScalar e;
    if (!lv->loop || !tir_eval_scalar(lv->loop->operands[lv->dim], shape_leaf, &leaf, &e) ||
        e.div_by_zero)
        return false;
    *out = e.i;
    return true;
}

static int64_t loop_extent(const TuneShapeInfo *s, int loopvar, bool half_end)
{
    int64_t e;
    if (!extent_of(s, loopvar, half_end, &e))
        return -1;
    return e < 0 ? 0 : e;
}

int64_t estimate_loop_extent(const TuneShapeInfo *s, int loopvar)
{
    return loop_extent(s, loopvar, false);
}

int64_t estimate_axis_size(const TuneShapeInfo *s, const Config *c, Axis axis)
{
    switch (axis.kind) {
    case AXIS_BLOCK:
        return tir_loopvar_block(s->kernel, s->kernel->loopvars[axis.id], c);
    case AXIS_FULL:
        return tir_next_pow2(s->sym_values[axis.id]);
    case AXIS_CONST:
        return axis.id;
    case AXIS_ONE:
    default:
        return 1;
    }
}

static int64_t tile_elements(const TuneShapeInfo *s, const Config *c, const TirType *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= estimate_axis_size(s, c, t->axes[i]);
    return n;
}

static int64_t tile_bytes(const TuneShapeInfo *s, const Config *c, const TirType *t)
{
    return tile_elements(s, c, t) * dtype_size(t->dtype);
}

/* The innermost FOR or GRID op holding `op` (through dot regions). */
static const TirOp *enclosing_loop(const TirOp *op)
{
    for (const TirBlock *b = op->block; b && b->parent; b = b->parent->block)
        if (b->parent->opcode == TIR_FOR || b->parent->opcode == TIR_GRID)
            return b->parent;
    return NULL;
}

/* The load a dot operand comes from through layout-only ops, or NULL (registers). */
static const TirOp *operand_load(const TirValue *v)
{
    while (v && v->def) {
        TirOpcode oc = v->def->opcode;
        if (oc == TIR_LOAD)
            return v->def;
        if (oc != TIR_TRANSPOSE && oc != TIR_CONVERT && oc != TIR_BROADCAST &&
            oc != TIR_EXPAND_DIMS)
            return NULL;
        v = v->def->operands[0];
    }
    return NULL;
}

typedef struct OpList {
    const TirOp *ops[256];
    int n;
} OpList;

static void collect(TirOp *op, void *ctx)
{
    OpList *l = ctx;
    if (l->n < (int)(sizeof l->ops / sizeof l->ops[0]))
        l->ops[l->n++] = op;
}

static void list_ops(const TuneShapeInfo *s, TirOpcode opcode, OpList *out)
{
    OpList all = {.n = 0};
    out->n = 0;
    tir_walk(s->kernel->body, collect, &all);
    for (int i = 0; i < all.n; i++)
        if (all.ops[i]->opcode == opcode)
            out->ops[out->n++] = all.ops[i];
}

int64_t estimate_smem_bytes(const TuneShapeInfo *s, const Config *c)
{
    OpList dots;
    list_ops(s, TIR_DOT, &dots);
    const TirOp *counted[512];
    int ncounted = 0;
    int64_t stages = config_knob(c, TUNE_STAGES);
    int64_t total = 0;
    for (int i = 0; i < dots.n; i++) {
        const TirOp *dot = dots.ops[i];
        const TirOp *dot_loop = enclosing_loop(dot);
        for (int operand = 0; operand < 2; operand++) {
            const TirOp *load = operand_load(dot->operands[operand]);
            if (!load)
                continue;
            bool seen = false;
            for (int j = 0; j < ncounted; j++)
                seen |= counted[j] == load;
            if (seen || ncounted == 512)
                continue;
            counted[ncounted++] = load;
            int64_t bytes = tile_bytes(s, c, &load->results[0]->type);
            bool pipelined = dot_loop && dot_loop->opcode == TIR_FOR &&
                             enclosing_loop(load) == dot_loop;
            total += pipelined ? bytes * (stages > 0 ? stages : 1) : bytes;
        }
    }
    return total;
}

static bool is_for_body_arg(const TirValue *v)
{
    return v && !v->def && v->owner && v->owner->parent && v->owner->parent->opcode == TIR_FOR;
}

int64_t estimate_largest_dot(const TuneShapeInfo *s, const Config *c, int64_t *rows,
                             int64_t *cols)
{
    OpList dots;
    list_ops(s, TIR_DOT, &dots);
    int64_t best = 0, r = 0, k = 0;
    for (int i = 0; i < dots.n; i++) {
        const TirType *t = &dots.ops[i]->results[0]->type;
        if (t->rank != 2)
            continue;
        int64_t a = estimate_axis_size(s, c, t->axes[0]), b = estimate_axis_size(s, c, t->axes[1]);
        if (a * b > best) {
            best = a * b;
            r = a;
            k = b;
        }
    }
    if (rows)
        *rows = r;
    if (cols)
        *cols = k;
    return best;
}

typedef struct LargestTile {
    const TuneShapeInfo *s;
    const Config *c;
    int64_t elements;
} LargestTile;

static void largest_tile_visit(TirOp *op, void *ctx)
{
    LargestTile *l = ctx;
    for (int i = 0; i < op->nresults; i++) {
        int64_t n = tile_elements(l->s, l->c, &op->results[i]->type);
        if (n > l->elements)
            l->elements = n;
    }
}

int64_t estimate_largest_tile(const TuneShapeInfo *s, const Config *c)
{
    LargestTile l = {s, c, 0};
    tir_walk(s->kernel->body, largest_tile_visit, &l);
    return l.elements;
}

int estimate_registers(const TuneShapeInfo *s, const Config *c)
{
    int64_t threads = config_knob(c, TUNE_WARPS) * 32;
    if (threads <= 0)
        threads = 128;
    OpList fors, dots;
    list_ops(s, TIR_FOR, &fors);
    list_ops(s, TIR_DOT, &dots);
    int64_t carried = 0;
    for (int i = 0; i < fors.n; i++) {
        const TirBlock *body = fors.ops[i]->regions[0];
        for (int a = 0; body && a < body->nargs; a++)
            carried += tile_bytes(s, c, &body->args[a]->type);
    }
    /* a dot that starts a fresh accumulator (attention's scores) holds it beside the
       carried ones; one accumulating into a carried value reuses its registers */
    int64_t fresh_dot = 0;
    for (int i = 0; i < dots.n; i++) {
        if (is_for_body_arg(dots.ops[i]->operands[2]))
            continue;
        int64_t b = tile_bytes(s, c, &dots.ops[i]->results[0]->type);
        if (b > fresh_dot)
            fresh_dot = b;
    }
    int64_t live = carried + fresh_dot;
    if (dots.n == 0) {
        int64_t largest = estimate_largest_tile(s, c) * 4;
        if (largest > live)
            live = largest;
    }
    int64_t rows = 0, cols = 0;
    estimate_largest_dot(s, c, &rows, &cols);
    /* one k-step of operand fragments: 32 bytes of k per row of a and column of b */
    int64_t fragments = (rows + cols) * 32 / 4;
    int64_t regs = tir_cdiv(live / 4, threads) + tir_cdiv(fragments, threads) + 32;
    return regs > 1 << 20 ? 1 << 20 : (int)regs;
}

typedef struct FlopCount {
    const TuneShapeInfo *s;
    double total;
    bool unknown;              /* an extent could not be evaluated */
    DType dtype;               /* estimate_dot_dtype's */
} FlopCount;

static void count_dot_flops(TirOp *dot, void *ctx)
{
    FlopCount *c = ctx;
    if (dot->opcode != TIR_DOT)
        return;
    double f = 2;
    for (const TirOp *loop = enclosing_loop(dot); loop; loop = enclosing_loop(loop))
        for (int v = 0; v < loop->nvars; v++) {
            int64_t e = loop_extent(c->s, loop->loopvars[v], true);
            if (e < 0)
                c->unknown = true;
            f *= (double)e;
        }
    /* full axes of the operands and result (attention's D) are not loops */
    Axis seen[6];
    int nseen = 0;
    const TirType *types[3] = {&dot->operands[0]->type, &dot->operands[1]->type,
                               &dot->results[0]->type};
    for (int t = 0; t < 3; t++)
        for (int a = 0; a < types[t]->rank; a++) {
            Axis ax = types[t]->axes[a];
            if (ax.kind != AXIS_FULL && ax.kind != AXIS_CONST)
                continue;
            bool dup = false;
            for (int j = 0; j < nseen; j++)
                dup |= tir_axis_equal(seen[j], ax);
            if (dup || nseen == 6)
                continue;
            seen[nseen++] = ax;
            f *= ax.kind == AXIS_FULL ? (double)c->s->sym_values[ax.id] : (double)ax.id;
        }
    c->total += f;
}

double estimate_flops(const TuneShapeInfo *s)
{
    FlopCount c = {.s = s};
    tir_walk(s->kernel->body, count_dot_flops, &c);
    return c.unknown ? 0 : c.total;
}

/* The dtype dot `op` multiplies for operand `which`: its prologue's result when it has one. */
static DType dot_operand_dtype(const TirOp *dot, int which)
{
    const TirBlock *pro = dot->regions[which];
    if (pro && pro->last && pro->last->opcode == TIR_YIELD && pro->last->noperands > 0)
        return pro->last->operands[0]->type.dtype;
    return dot->operands[which]->type.dtype;
}

static void note_dot_dtype(TirOp *op, void *ctx)
{
    FlopCount *c = ctx;
    if (op->opcode != TIR_DOT)
        return;
    DType t = dot_operand_dtype(op, TIR_REGION_PROLOGUE_A);
    if (c->dtype == DT_COUNT || dtype_is_fp8(t))
        c->dtype = t;
}

DType estimate_dot_dtype(const TirKernel *k)
{
    FlopCount c = {.dtype = DT_COUNT};
    tir_walk(k->body, note_dot_dtype, &c);
    return c.dtype;
}
