/* passes.c — the TIR passes: simplification (constant folding with eval.c's arithmetic,
   shape identities, CSE of pure ops, dead code and dead loop-carried values), mask
   inference from loop extents and tensor dims, and fusion of elementwise producers/
   consumers into a dot's prologue and epilogue regions. Each is a plain function
   TirKernel -> TirKernel, tested text in/out (tests/golden/passes). docs/ir.md states what
   each guarantees. */
#include <math.h>
#include <string.h>

#include "tir.h"

enum { MAX_FOLD_DEPTH = 64, MAX_SIMPLIFY_ROUNDS = 16, MAX_HOIST_DEPTH = 8, MAX_CHAIN = 64 };

/* ---- helpers shared by the passes */

static bool is_pure(const TirOp *op)
{
    switch (op->opcode) {
    case TIR_STORE: case TIR_ATOMIC: case TIR_FOR: case TIR_GRID: case TIR_YIELD:
        return false;
    default:
        return true;
    }
}

static bool is_elementwise(const TirOp *op)
{
    return op->opcode == TIR_UNARY || op->opcode == TIR_BINARY || op->opcode == TIR_CMP ||
           op->opcode == TIR_SELECT || op->opcode == TIR_CONVERT || op->opcode == TIR_RAND;
}

typedef struct UseCount {
    int *counts;        /* by value id */
    int n;
} UseCount;

static void count_op_uses(TirOp *op, void *ctx)
{
    UseCount *u = ctx;
    for (int i = 0; i < op->noperands; i++)
        if (op->operands[i] && op->operands[i]->id >= 0 && op->operands[i]->id < u->n)
            u->counts[op->operands[i]->id]++;
}

/* Use counts of every value, by id; ids must be below k->nvalues (they are). */
static UseCount count_uses(TirKernel *k)
{
    UseCount u = {arena_alloc(k->arena, (size_t)(k->nvalues + 1) * sizeof(int)), k->nvalues};
    tir_walk(k->body, count_op_uses, &u);
    return u;
}

static int uses_of(const UseCount *u, const TirValue *v)
{
    return v->id >= 0 && v->id < u->n ? u->counts[v->id] : 0;
}

/* True when v is available just before `at`: a block argument or result of an op that
   comes earlier in at's block or in a block enclosing it. */
static bool available_before(const TirValue *v, const TirOp *at)
{
    for (const TirOp *scope = at; scope; scope = scope->block ? scope->block->parent : NULL) {
        const TirBlock *b = scope->block;
        if (!b)
            return false;
        if (v->owner == b)
            return true;
        for (const TirOp *o = b->first; o && o != scope; o = o->next)
            if (v->def == o)
                return true;
    }
    return false;
}

/* ---- simplification */

static TirOp *make_full_like(TirKernel *k, const TirOp *at, const TirType *t, int64_t iv, double fv)
{
    TirOp *full = tir_op_new(k, TIR_FULL, at->loc, 0, 1, t);
    full->ivalue = iv;
    full->fvalue = fv;
    return full;
}

static bool same_const(const TirOp *a, const TirOp *b)
{
    return a->ivalue == b->ivalue && memcmp(&a->fvalue, &b->fvalue, sizeof a->fvalue) == 0;
}

/* Ops that compute the same value: same opcode and attributes, same operands, same type. */
static bool equivalent(const TirOp *a, const TirOp *b)
{
    if (a->opcode != b->opcode || a->noperands != b->noperands || a->nresults != 1 || b->nresults != 1 ||
        a->sub != b->sub || a->axis != b->axis || a->masked != b->masked || a->param != b->param ||
        a->sym != b->sym || a->loopvar != b->loopvar || !tir_type_equal(&a->results[0]->type, &b->results[0]->type))
        return false;
    if (a->opcode == TIR_FULL && !same_const(a, b))
        return false;
    if (a->opcode == TIR_LOAD || a->opcode == TIR_DOT)
        return false;   /* loads may see stores between them; dots are never duplicated by lowering */
    for (int i = 0; i < a->noperands; i++)
        if (a->operands[i] != b->operands[i])
            return false;
    return true;
}

/* One round walks the ops in order. Pure ops visible at the current point sit on a stack
   (popped when a block ends) and in hash buckets chained through that stack, so CSE looks
   at candidates of the same hash only. A replaced value is forwarded, not searched for:
   each op's operands are resolved through `forward` when the walk reaches it, and every
   use comes after its definition. Both keep a round linear in the ops. */
typedef struct Simplifier {
    TirKernel *k;
    bool changed;
    TirOp **avail;      /* the stack of available pure ops */
    int *below;         /* per stack entry: the next lower entry of its bucket, or -1 */
    int navail, cap;
    int *buckets;       /* by hash: the topmost stack entry, or -1 */
    unsigned nbuckets;  /* a power of two */
    TirValue **forward; /* by value id: the value that replaced it, or NULL */
    int nforward;
} Simplifier;

static uint64_t op_hash(const TirOp *op)
{
    uint64_t h = 1469598103934665603u;
#define MIX(x) (h = (h ^ (uint64_t)(x)) * 1099511628211u)
    MIX(op->opcode);
    MIX(op->sub);
    MIX(op->axis);
    MIX(op->param);
    MIX(op->sym);
    MIX(op->loopvar);
    for (int i = 0; i < op->noperands; i++)
        MIX(op->operands[i] ? op->operands[i]->id : -1);
    MIX(op->results[0]->type.dtype);
    MIX(op->results[0]->type.rank);
    if (op->opcode == TIR_FULL) {
        uint64_t bits;
        memcpy(&bits, &op->fvalue, sizeof bits);
        MIX(op->ivalue);
        MIX(bits);
    }
#undef MIX
    return h ^ (h >> 29);
}

static void simplifier_init(Simplifier *s, TirKernel *k)
{
    memset(s, 0, sizeof *s);
    s->k = k;
    s->nbuckets = 64;
    while (s->nbuckets < 2u * (unsigned)k->nvalues && s->nbuckets < (1u << 30))
        s->nbuckets *= 2;
    s->buckets = arena_alloc(k->arena, s->nbuckets * sizeof *s->buckets);
    memset(s->buckets, 0xff, s->nbuckets * sizeof *s->buckets);   /* every bucket -1 */
    s->nforward = k->nvalues + 1;
    s->forward = arena_alloc(k->arena, (size_t)s->nforward * sizeof *s->forward);
}

static void push_avail(Simplifier *s, TirOp *op)
{
    if (s->navail == s->cap) {
        int cap = s->cap ? s->cap * 2 : 64;
        TirOp **items = arena_alloc(s->k->arena, (size_t)cap * sizeof *items);
        int *below = arena_alloc(s->k->arena, (size_t)cap * sizeof *below);
        if (s->navail) {
            memcpy(items, s->avail, (size_t)s->navail * sizeof *items);
            memcpy(below, s->below, (size_t)s->navail * sizeof *below);
        }
        s->avail = items;
        s->below = below;
        s->cap = cap;
    }
    unsigned b = (unsigned)op_hash(op) & (s->nbuckets - 1);
    s->below[s->navail] = s->buckets[b];
    s->buckets[b] = s->navail;
    s->avail[s->navail++] = op;
}

/* Pops the stack down to `n` entries (a block ends): each popped entry tops its bucket. */
static void pop_avail(Simplifier *s, int n)
{
    while (s->navail > n) {
        int top = --s->navail;
        s->buckets[(unsigned)op_hash(s->avail[top]) & (s->nbuckets - 1)] = s->below[top];
    }
}

/* The latest available op equivalent to op, or NULL. */
static TirOp *find_avail(const Simplifier *s, const TirOp *op)
{
    for (int i = s->buckets[(unsigned)op_hash(op) & (s->nbuckets - 1)]; i >= 0; i = s->below[i])
        if (equivalent(s->avail[i], op))
            return s->avail[i];
    return NULL;
}

static TirValue *forwarded(const Simplifier *s, TirValue *v)
{
    while (v && v->id >= 0 && v->id < s->nforward && s->forward[v->id])
        v = s->forward[v->id];
    return v;
}

static void replace_op_with_value(Simplifier *s, TirOp *op, TirValue *v)
{
    int id = op->results[0]->id;
    if (id >= s->nforward) {   /* a value made this round (a folded constant) */
        int n = id * 2 + 1;
        TirValue **grown = arena_alloc(s->k->arena, (size_t)n * sizeof *grown);
        memcpy(grown, s->forward, (size_t)s->nforward * sizeof *grown);
        s->forward = grown;
        s->nforward = n;
    }
    s->forward[id] = v;
    tir_op_remove(op);
    s->changed = true;
}

/* The simplifier's walk turns every constant it reaches into a `full`, so an operand is
   constant exactly when a full defines it: no need to fold from the leaves again at each
   op (which made a long chain cost its length, up to MAX_FOLD_DEPTH, per op). */
static bool full_value(const TirValue *v, int64_t *iv, double *fv)
{
    return v && v->def && v->def->opcode == TIR_FULL && tir_eval_const(v, iv, fv);
}

static bool operands_are_full(const TirOp *op)
{
    for (int i = 0; i < op->noperands; i++)
        if (!op->operands[i] || !op->operands[i]->def || op->operands[i]->def->opcode != TIR_FULL)
            return false;
    return true;
}

/* Identities that hold bit for bit: min(x,x), select(c,x,x), x*1, x/1, int x+0, ... */
static TirValue *identity_operand(const TirOp *op)
{
    TirValue *const *x = op->operands;
    const TirType *r = op->nresults == 1 ? &op->results[0]->type : NULL;
    int64_t iv;
    double fv;
    switch (op->opcode) {
    case TIR_BINARY:
        if ((op->sub == TIR_BIN_MIN || op->sub == TIR_BIN_MAX || op->sub == TIR_BIN_AND || op->sub == TIR_BIN_OR ||
             op->sub == TIR_BIN_BITAND || op->sub == TIR_BIN_BITOR) &&
            x[0] == x[1])
            return x[0];
        if (full_value(x[1], &iv, &fv)) {
            bool isf = dtype_is_float(r->dtype);
            bool one = isf ? fv == 1.0 : iv == 1, zero = isf ? false : iv == 0;
            if ((op->sub == TIR_BIN_MUL || op->sub == TIR_BIN_DIV) && one)
                return x[0];
            if ((op->sub == TIR_BIN_ADD || op->sub == TIR_BIN_SUB) && zero)
                return x[0];
        }
        if (op->sub == TIR_BIN_MUL && full_value(x[0], &iv, &fv) &&
            (dtype_is_float(r->dtype) ? fv == 1.0 : iv == 1))
            return x[1];
        return NULL;
    case TIR_SELECT:
        return x[1] == x[2] ? x[1] : NULL;
    case TIR_CONVERT:
    case TIR_BROADCAST:
        return tir_type_equal(&x[0]->type, r) ? x[0] : NULL;
    default:
        return NULL;
    }
}

static void simplify_block(Simplifier *s, TirBlock *b);

static void simplify_op(Simplifier *s, TirOp *op)
{
    TirKernel *k = s->k;
    for (int i = 0; i < op->noperands; i++)
        op->operands[i] = forwarded(s, op->operands[i]);
    if (op->opcode == TIR_SELECT) {
        int64_t c;
        double f;
        if (full_value(op->operands[0], &c, &f)) {
            replace_op_with_value(s, op, op->operands[c ? 1 : 2]);
            return;
        }
    }
    if (is_pure(op) && op->opcode != TIR_FULL && op->nresults == 1 && op->opcode != TIR_DOT) {
        int64_t iv;
        double fv;
        if (operands_are_full(op) && tir_eval_const(op->results[0], &iv, &fv)) {
            TirOp *full = make_full_like(k, op, &op->results[0]->type, iv, fv);
            tir_op_insert_before(op, full);
            replace_op_with_value(s, op, full->results[0]);
            simplify_op(s, full);   /* may be CSE'd with an earlier constant */
            return;
        }
    }
    TirValue *same = identity_operand(op);
    if (same) {
        replace_op_with_value(s, op, same);
        return;
    }
    if (is_pure(op) && op->nresults == 1 && op->opcode != TIR_DOT && op->opcode != TIR_LOAD) {
        TirOp *same_op = find_avail(s, op);
        if (same_op) {
            replace_op_with_value(s, op, same_op->results[0]);
            return;
        }
        push_avail(s, op);
    }
    for (int r = 0; r < 3; r++)
        if (op->regions[r])
            simplify_block(s, op->regions[r]);
}

static void simplify_block(Simplifier *s, TirBlock *b)
{
    int saved = s->navail;
    for (TirOp *op = b->first, *next; op; op = next) {
        next = op->next;
        simplify_op(s, op);
    }
    pop_avail(s, saved);
}

static bool has_side_effects(const TirBlock *b)
{
    for (const TirOp *op = b ? b->first : NULL; op; op = op->next) {
        if (op->opcode == TIR_STORE || op->opcode == TIR_ATOMIC || op->opcode == TIR_GRID)
            return true;
        for (int r = 0; r < 3; r++)
            if (op->regions[r] && has_side_effects(op->regions[r]))
                return true;
    }
    return false;
}

/* Drops carried value i of a for loop: its initial value, block argument, yield operand
   and result. */
static void drop_carried(TirOp *loop, int i)
{
    TirBlock *body = loop->regions[0];
    TirOp *y = body->last;
    int n = body->nargs;
    for (int j = loop->nvars + i; j + 1 < loop->noperands; j++)   /* the start stays last */
        loop->operands[j] = loop->operands[j + 1];
    for (int j = i; j + 1 < n; j++) {
        body->args[j] = body->args[j + 1];
        body->args[j]->def_index = j;
        loop->results[j] = loop->results[j + 1];
        loop->results[j]->def_index = j;
        y->operands[j] = y->operands[j + 1];
    }
    body->nargs--;
    loop->noperands--;
    loop->nresults--;
    y->noperands--;
}

/* Carried values that never change (yield gives back the argument) become their initial
   value; carried values nobody reads (result unused, argument used only by the yield) go.
   The initial value takes over the uses in `u`: the sweep goes on into the loop's body,
   where a removed op must not count its last use of it (a parameter read only there went). */
static bool simplify_carried(TirKernel *k, TirOp *loop, UseCount *u)
{
    TirBlock *body = loop->regions[0];
    TirOp *y = body ? body->last : NULL;
    if (!y || y->opcode != TIR_YIELD || y->noperands != body->nargs)
        return false;
    for (int i = 0; i < body->nargs; i++) {
        TirValue *arg = body->args[i], *res = loop->results[i], *init = loop->operands[loop->nvars + i];
        if (y->operands[i] == arg) {
            if (init->id >= 0 && init->id < u->n)
                u->counts[init->id] += uses_of(u, arg) + uses_of(u, res);
            tir_replace_uses(k, arg, init);
            tir_replace_uses(k, res, init);
            drop_carried(loop, i);
            return true;
        }
        int arg_uses = uses_of(u, arg) - (y->operands[i] == arg);
        if (uses_of(u, res) == 0 && arg_uses == 0) {
            drop_carried(loop, i);
            return true;
        }
    }
    return false;
}

typedef struct DceCtx {
    TirKernel *k;
    UseCount uses;
    bool changed;
    TirOp **dead;       /* pure ops whose last use went, to remove in turn */
    int ndead, cap;
} DceCtx;

static bool unused(const DceCtx *d, const TirOp *op)
{
    for (int i = 0; i < op->nresults; i++)
        if (uses_of(&d->uses, op->results[i]))
            return false;
    return true;
}

/* Removes a pure op and then, in turn, each pure op whose last use that was: a dead
   chain goes in one sweep instead of one link per sweep. */
static void remove_dead_chain(DceCtx *d, TirOp *op)
{
    d->ndead = 0;
    for (;;) {
        tir_op_remove(op);
        d->changed = true;
        for (int i = 0; i < op->noperands; i++) {
            TirValue *v = op->operands[i];
            if (!v || v->id < 0 || v->id >= d->uses.n || --d->uses.counts[v->id] > 0)
                continue;
            TirOp *def = v->def;
            if (!def || !def->block || !is_pure(def) || !unused(d, def))
                continue;
            if (d->ndead == d->cap) {
                int cap = d->cap ? d->cap * 2 : 64;
                TirOp **grown = arena_alloc(d->k->arena, (size_t)cap * sizeof *grown);
                if (d->ndead)
                    memcpy(grown, d->dead, (size_t)d->ndead * sizeof *grown);
                d->dead = grown;
                d->cap = cap;
            }
            d->dead[d->ndead++] = def;
        }
        do {
            if (d->ndead == 0)
                return;
            op = d->dead[--d->ndead];
        } while (!op->block);   /* already gone (listed twice) */
    }
}

static void dce_op(TirOp *op, void *ctx)
{
    DceCtx *d = ctx;
    if (!op->block)
        return;
    if (op->opcode == TIR_FOR) {
        if (simplify_carried(d->k, op, &d->uses)) {
            d->changed = true;
            return;
        }
        if (op->nresults == 0 && !has_side_effects(op->regions[0])) {
            tir_op_remove(op);
            d->changed = true;
        }
        return;
    }
    if (is_pure(op) && unused(d, op))
        remove_dead_chain(d, op);
}

/* One sweep of dead-code removal; use counts are recomputed between sweeps. */
static bool remove_dead_code(TirKernel *k)
{
    DceCtx d = {k, count_uses(k), false, NULL, 0, 0};
    tir_walk(k->body, dce_op, &d);
    return d.changed;
}

void tir_simplify(TirKernel *k)
{
    for (int round = 0; round < MAX_SIMPLIFY_ROUNDS; round++) {
        Simplifier s;
        simplifier_init(&s, k);
        simplify_block(&s, k->body);
        bool dead = false;
        while (remove_dead_code(k))
            dead = true;
        if (!s.changed && !dead)
            break;
    }
    tir_renumber(k);
}

/* ---- mask inference */

typedef struct DimRef {
    int sym;            /* -1 for a literal */
    int64_t value;
} DimRef;

static const TirValue *look_through_convert(const TirValue *v)
{
    while (v && v->def && v->def->opcode == TIR_CONVERT && dtype_is_int(v->type.dtype) &&
           dtype_is_int(v->def->operands[0]->type.dtype))
        v = v->def->operands[0];
    return v;
}

/* Provably e <= dim (e an i64 extent). */
static bool extent_le_dim(const TirValue *e, DimRef dim, int depth)
{
    e = look_through_convert(e);
    if (!e || !e->def || depth > MAX_FOLD_DEPTH)
        return false;
    const TirOp *op = e->def;
    int64_t c;
    double f;
    if (tir_eval_const(e, &c, &f))
        return dim.sym < 0 ? c <= dim.value : c <= 0;
    if (op->opcode == TIR_DIM)
        return dim.sym >= 0 && op->sym == dim.sym;
    if (op->opcode == TIR_BINARY && op->sub == TIR_BIN_MIN)
        return extent_le_dim(op->operands[0], dim, depth + 1) || extent_le_dim(op->operands[1], dim, depth + 1);
    if (op->opcode == TIR_BINARY && op->sub == TIR_BIN_MAX)
        return extent_le_dim(op->operands[0], dim, depth + 1) && extent_le_dim(op->operands[1], dim, depth + 1);
    if (op->opcode == TIR_SELECT)
        return extent_le_dim(op->operands[1], dim, depth + 1) && extent_le_dim(op->operands[2], dim, depth + 1);
    return false;
}

/* Provably dim <= e. */
static bool dim_le_extent(DimRef dim, const TirValue *e, int depth)
{
    e = look_through_convert(e);
    if (!e || !e->def || depth > MAX_FOLD_DEPTH)
        return false;
    const TirOp *op = e->def;
    int64_t c;
    double f;
    if (tir_eval_const(e, &c, &f))
        return dim.sym < 0 && dim.value <= c;
    if (op->opcode == TIR_DIM)
        return dim.sym >= 0 && op->sym == dim.sym;
    if (op->opcode == TIR_BINARY && op->sub == TIR_BIN_MAX)
        return dim_le_extent(dim, op->operands[0], depth + 1) || dim_le_extent(dim, op->operands[1], depth + 1);
    if (op->opcode == TIR_BINARY && op->sub == TIR_BIN_MIN)
        return dim_le_extent(dim, op->operands[0], depth + 1) && dim_le_extent(dim, op->operands[1], depth + 1);
    if (op->opcode == TIR_SELECT)
        return dim_le_extent(dim, op->operands[1], depth + 1) && dim_le_extent(dim, op->operands[2], depth + 1);
    return false;
}

static const TirValue *loopvar_extent(const TirKernel *k, int lv)
{
    const TirLoopVar *v = k->loopvars[lv];
    return v->loop && v->dim < v->loop->noperands ? v->loop->operands[v->dim] : NULL;
}

static bool loopvar_scalar(const TirKernel *k, int lv)
{
    return k->loopvars[lv]->tunable < 0 && k->loopvars[lv]->block == 1;
}

/* Whether v's value depends on a tensor load: through any op, a loop's carried values and a
   dot region's arguments (data). `seen` has a byte per value id: 1 being visited or known
   not to, 2 known to. */
static bool reads_data(const TirValue *v, unsigned char *seen, int depth)
{
    if (!v || v->id < 0 || depth > MAX_FOLD_DEPTH * 16)
        return true;   /* too deep to follow: taken as data, the stricter rule */
    if (seen[v->id])
        return seen[v->id] == 2;
    seen[v->id] = 1;
    bool data = false;
    const TirOp *op = v->def;
    if (!op) {
        const TirOp *owner = v->owner ? v->owner->parent : NULL;
        if (owner && owner->opcode == TIR_FOR) {
            const TirOp *yield = owner->regions[0]->last;
            data = reads_data(owner->operands[owner->nvars + v->def_index], seen, depth + 1) ||
                   (yield && v->def_index < yield->noperands &&
                    reads_data(yield->operands[v->def_index], seen, depth + 1));
        } else {
            data = true;
        }
    } else if (op->opcode == TIR_LOAD || op->opcode == TIR_DOT) {
        data = true;
    } else if (op->opcode == TIR_FOR) {
        const TirValue *carried = op->regions[0]->args[v->def_index];
        data = reads_data(carried, seen, depth + 1);
    } else {
        for (int i = 0; i < op->noperands && !data; i++)
            data = reads_data(op->operands[i], seen, depth + 1);
    }
    seen[v->id] = data ? 2 : 1;
    return data;
}

static TirMask infer_index_mask(const TirKernel *k, const TirOp *op, int i, DimRef dim,
                                unsigned char *data)
{
    const TirIndex *ix = &op->index[i];
    switch (ix->kind) {
    case TIR_IDX_NEWAXIS:
        return TIR_MASK_NONE;
    case TIR_IDX_FULL:
        /* A full axis is padded to a power of two (docs/ir.md): the padding lanes lie past
           the dim. Codegen drops the check when the specialised size is a power of two. */
        return dim.sym < 0 ? TIR_MASK_NONE : TIR_MASK_DIM;
    case TIR_IDX_VALUE: {
        int64_t c;
        double f;
        const TirValue *v = tir_index_value(op, i);
        TirMask lanes = v && v->type.rank > 0 ? TIR_MASK_LOOP : TIR_MASK_NONE;
        if (v && tir_eval_const(v, &c, &f) && c >= 0 && dim.sym < 0 && c < dim.value)
            return lanes;
        if (v && reads_data(v, data, 0))
            return lanes | TIR_MASK_CHECK;
        return lanes | TIR_MASK_DIM;
    }
    case TIR_IDX_BLOCK: {
        const TirValue *e = loopvar_extent(k, ix->loopvar);
        /* a range's indices start at its start, which may be negative unless known */
        const TirOp *loop = k->loopvars[ix->loopvar]->loop;
        const TirValue *start = loop ? tir_loop_start(loop) : NULL;
        int64_t c;
        double f;
        bool within = e && extent_le_dim(e, dim, 0) &&
                      (!start || (tir_eval_const(start, &c, &f) && c >= 0));
        if (loopvar_scalar(k, ix->loopvar))
            return within ? TIR_MASK_NONE : TIR_MASK_DIM;   /* a block of 1 is always valid */
        if (within)
            return TIR_MASK_LOOP;
        if (e && dim_le_extent(dim, e, 0))
            return TIR_MASK_DIM;
        return TIR_MASK_BOTH;
    }
    }
    return TIR_MASK_BOTH;
}

typedef struct MaskCtx {
    const TirKernel *k;
    unsigned char *data;     /* reads_data's memo, per value id */
} MaskCtx;

static void infer_op_masks(TirOp *op, void *ctx)
{
    MaskCtx *m = ctx;
    const TirKernel *k = m->k;
    switch (op->opcode) {
    case TIR_LOAD:
    case TIR_STORE:
    case TIR_ATOMIC: {
        if (op->param < 0 || op->param >= k->nparams)
            return;
        const TirParam *p = &k->params[op->param];
        int d = 0;
        for (int i = 0; i < op->nindex; i++) {
            if (op->index[i].kind == TIR_IDX_NEWAXIS) {
                op->index[i].mask = TIR_MASK_NONE;
                continue;
            }
            DimRef dim = {-1, 0};
            if (d < p->rank)
                dim = (DimRef){p->dims[d].sym, p->dims[d].value};
            d++;
            op->index[i].mask = infer_index_mask(k, op, i, dim, m->data);
        }
        return;
    }
    case TIR_REDUCE: {
        const TirType *in = &op->operands[0]->type;
        op->masked = op->axis >= 0 && op->axis < in->rank &&
                     (in->axes[op->axis].kind == AXIS_BLOCK || in->axes[op->axis].kind == AXIS_FULL);
        return;
    }
    case TIR_DOT: {
        const TirType *a = &op->operands[0]->type;
        op->masked = a->rank == 2 && (a->axes[1].kind == AXIS_BLOCK || a->axes[1].kind == AXIS_FULL);
        return;
    }
    default:
        return;
    }
}

void tir_infer_masks(TirKernel *k)
{
    MaskCtx m = {k, arena_alloc(k->arena, (size_t)k->nvalues + 1)};
    memset(m.data, 0, (size_t)k->nvalues + 1);
    tir_walk(k->body, infer_op_masks, &m);
}

/* ---- dot prologue/epilogue fusion */

/* Moves the pure, non-memory op defining v (and what it needs) before `at`, so an
   epilogue can use v. False when that is not possible. */
static bool hoist_before(TirValue *v, TirOp *at, int depth)
{
    if (available_before(v, at))
        return true;
    TirOp *op = v->def;
    if (!op || depth > MAX_HOIST_DEPTH || op->block != at->block || !is_pure(op) ||
        op->opcode == TIR_LOAD || op->opcode == TIR_DOT || op->opcode == TIR_REDUCE)
        return false;
    for (int i = 0; i < op->noperands; i++)
        if (!hoist_before(op->operands[i], at, depth + 1))
            return false;
    tir_op_remove(op);
    tir_op_insert_before(at, op);
    return true;
}

static bool same_axes(const TirType *a, const TirType *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (!tir_axis_equal(a->axes[i], b->axes[i]))
            return false;
    return true;
}

/* The operand of an elementwise op that carries the tile through a prologue chain: the
   only operand with the result's axes that is neither a constant nor a broadcast (those
   stay outside the region as uniform or smaller inputs). -1 when there is no single one. */
static int chain_operand(const TirOp *op)
{
    int found = -1;
    const TirType *r = &op->results[0]->type;
    for (int i = 0; i < op->noperands; i++) {
        const TirValue *x = op->operands[i];
        int64_t c;
        double f;
        if (tir_eval_const(x, &c, &f))
            continue;
        if (x->def && (x->def->opcode == TIR_BROADCAST || x->def->opcode == TIR_EXPAND_DIMS))
            continue;
        if (!same_axes(&x->type, r))
            continue;
        if (found >= 0)
            return -1;
        found = i;
    }
    return found;
}

static void fuse_prologue(TirKernel *k, TirOp *dot, int which, const UseCount *u)
{
    TirOp *chain[MAX_CHAIN];
    int n = 0;
    TirValue *cur = dot->operands[which];
    while (n < MAX_CHAIN) {
        TirOp *op = cur->def;
        if (!op || op->block != dot->block || !is_elementwise(op) || uses_of(u, cur) != 1)
            break;
        int c = chain_operand(op);
        if (c < 0)
            break;
        chain[n++] = op;
        cur = op->operands[c];
    }
    if (n == 0)
        return;
    TirBlock *region = tir_block_new(k, dot);
    TirValue *arg = tir_block_add_arg(k, region, cur->type);
    TirValue *operand = dot->operands[which];
    for (int i = n - 1; i >= 0; i--) {
        tir_op_remove(chain[i]);
        for (int j = 0; j < chain[i]->noperands; j++)
            if (chain[i]->operands[j] == cur)
                chain[i]->operands[j] = arg;
        tir_op_append(region, chain[i]);
    }
    TirOp *y = tir_op_new(k, TIR_YIELD, dot->loc, 1, 0, NULL);
    y->operands[0] = operand;
    tir_op_append(region, y);
    dot->operands[which] = cur;
    dot->regions[which] = region;
}

/* acc' = x + dot(a, b, 0) becomes dot(a, b, x) when the dot's only use is that add. */
static void fold_accumulator(TirKernel *k, TirOp *dot, const UseCount *u)
{
    int64_t c;
    double f;
    TirValue *r = dot->results[0];
    if (dot->regions[TIR_REGION_EPILOGUE] || !tir_eval_const(dot->operands[2], &c, &f) || f != 0.0 ||
        signbit(f) || uses_of(u, r) != 1)
        return;
    TirOp *add = dot->next;
    while (add && !(add->opcode == TIR_BINARY && add->sub == TIR_BIN_ADD &&
                    (add->operands[0] == r || add->operands[1] == r)))
        add = add->next;
    if (!add || add->operands[0] == add->operands[1])
        return;
    TirValue *other = add->operands[0] == r ? add->operands[1] : add->operands[0];
    if (!tir_type_equal(&other->type, &r->type) || !hoist_before(other, dot, 0))
        return;
    dot->operands[2] = other;
    tir_replace_uses(k, add->results[0], r);
    tir_op_remove(add);
}

static void fuse_epilogue(TirKernel *k, TirOp *dot)
{
    TirOp *chain[MAX_CHAIN];
    int n = 0;
    TirValue *cur = dot->results[0];
    for (TirOp *next = dot->next; n < MAX_CHAIN; next = next ? next->next : NULL) {
        if (tir_count_uses(k, cur) != 1)
            break;
        TirOp *user = next;
        while (user) {
            bool uses = false;
            for (int i = 0; i < user->noperands; i++)
                uses = uses || user->operands[i] == cur;
            if (uses)
                break;
            user = user->next;
        }
        if (!user || !is_elementwise(user) || user->block != dot->block)
            break;
        int c = -1, seen = 0;
        for (int i = 0; i < user->noperands; i++)
            if (user->operands[i] == cur) {
                c = i;
                seen++;
            }
        if (seen != 1 || !same_axes(&cur->type, &user->results[0]->type))
            break;
        bool ok = true;
        for (int i = 0; i < user->noperands && ok; i++)
            if (i != c)
                ok = hoist_before(user->operands[i], dot, 0);
        if (!ok)
            break;
        chain[n++] = user;
        cur = user->results[0];
        next = user;
    }
    if (n == 0)
        return;
    TirValue *r = dot->results[0];
    TirBlock *region = tir_block_new(k, dot);
    TirValue *arg = tir_block_add_arg(k, region, r->type);
    for (int i = 0; i < n; i++) {
        tir_op_remove(chain[i]);
        for (int j = 0; j < chain[i]->noperands; j++)
            if (chain[i]->operands[j] == r)
                chain[i]->operands[j] = arg;
        tir_op_append(region, chain[i]);
    }
    TirValue *last = chain[n - 1]->results[0];
    r->type = last->type;
    tir_replace_uses(k, last, r);
    TirOp *y = tir_op_new(k, TIR_YIELD, dot->loc, 1, 0, NULL);
    y->operands[0] = last;
    tir_op_append(region, y);
    dot->regions[TIR_REGION_EPILOGUE] = region;
}

typedef struct DotList {
    TirOp **items;
    int n, cap;
    Arena *arena;
} DotList;

static void collect_dot(TirOp *op, void *ctx)
{
    DotList *l = ctx;
    if (op->opcode != TIR_DOT || op->regions[0] || op->regions[1] || op->regions[2])
        return;
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        TirOp **items = arena_alloc(l->arena, (size_t)cap * sizeof *items);
        if (l->n)
            memcpy(items, l->items, (size_t)l->n * sizeof *items);
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = op;
}

void tir_fuse_dot(TirKernel *k)
{
    DotList dots = {.arena = k->arena};
    tir_walk(k->body, collect_dot, &dots);
    for (int i = 0; i < dots.n; i++) {
        TirOp *dot = dots.items[i];
        UseCount u = count_uses(k);
        fold_accumulator(k, dot, &u);
        u = count_uses(k);
        fuse_prologue(k, dot, 0, &u);
        fuse_prologue(k, dot, 1, &u);
        fuse_epilogue(k, dot);
    }
    tir_renumber(k);
}

/* ---- loop-invariant dot operands */

/* Whether any op in b (nested blocks included) stores to or accumulates into `param`. */
static bool writes_param(const TirBlock *b, int param)
{
    for (const TirOp *op = b ? b->first : NULL; op; op = op->next) {
        if ((op->opcode == TIR_STORE || op->opcode == TIR_ATOMIC) && op->param == param)
            return true;
        for (int r = 0; r < 3; r++)
            if (writes_param(op->regions[r], param))
                return true;
    }
    return false;
}

/* Whether v is a dot operand in b or a block nested in it, directly or through a
   transpose. */
static bool feeds_dot(const TirValue *v, const UseCount *u, const TirBlock *b, int depth)
{
    for (const TirOp *op = b ? b->first : NULL; op && depth < 2; op = op->next) {
        for (int i = 0; i < op->noperands; i++) {
            if (op->operands[i] != v)
                continue;
            if (op->opcode == TIR_DOT && i < 2)
                return true;
            if (op->opcode == TIR_TRANSPOSE && uses_of(u, op->results[0]) == 1 &&
                feeds_dot(op->results[0], u, op->block, depth + 1))
                return true;
        }
        for (int r = 0; r < 3; r++)
            if (feeds_dot(v, u, op->regions[r], depth))
                return true;
    }
    return false;
}

/* A load in a sequential loop's body that reads the same tile on every iteration: no index
   runs over the loop's variables, every operand is defined before the loop, no index is
   checked (a gather's bounds error must stay where the program reads), and nothing in the
   loop writes that tensor. */
static bool invariant_load(const TirKernel *k, const TirOp *loop, const TirOp *load)
{
    if (load->opcode != TIR_LOAD || writes_param(loop->regions[0], load->param))
        return false;
    for (int i = 0; i < load->nindex; i++) {
        const TirIndex *x = &load->index[i];
        if (x->mask & TIR_MASK_CHECK)
            return false;
        if (x->kind == TIR_IDX_BLOCK)
            for (int v = 0; v < loop->nvars; v++)
                if (loop->loopvars[v] == x->loopvar)
                    return false;
    }
    for (int i = 0; i < load->noperands; i++)
        if (!available_before(load->operands[i], loop))
            return false;
    (void)k;
    return true;
}

/* Dot operands loaded inside a loop but the same on every iteration (attention's q written
   as `q[z, h, m, :] @ k[z, h, n, :].T` in the key loop) move before the loop, so the
   schedule stages them once, as when the source loads them there: the schedule comes from
   what the code computes, not from where the statement is written. Inner loops first, so
   a load can leave several loops. Only dot operands: they live in shared memory, so the
   longer live range costs no registers. */
static void hoist_block(TirKernel *k, TirBlock *b, const UseCount *u);

static void hoist_loop(TirKernel *k, TirOp *loop, const UseCount *u)
{
    hoist_block(k, loop->regions[0], u);
    if (loop->opcode != TIR_FOR || loop->nvars < 1 || k->loopvars[loop->loopvars[0]]->is_branch)
        return;
    for (TirOp *op = loop->regions[0]->first, *next; op; op = next) {
        next = op->next;
        if (invariant_load(k, loop, op) && feeds_dot(op->results[0], u, op->block, 0)) {
            tir_op_remove(op);
            tir_op_insert_before(loop, op);
        }
    }
}

static void hoist_block(TirKernel *k, TirBlock *b, const UseCount *u)
{
    for (TirOp *op = b ? b->first : NULL; op; op = op->next)
        if (op->opcode == TIR_FOR || op->opcode == TIR_GRID)
            hoist_loop(k, op, u);
}

void tir_hoist_invariant_loads(TirKernel *k)
{
    UseCount u = count_uses(k);
    hoist_block(k, k->body, &u);
}

/* ---- the pipeline */

int tir_run_pipeline(TirKernel *k, Diag *d, const TirPipelineOptions *opts)
{
    TirPipelineOptions none = {0};
    if (!opts)
        opts = &none;
    if (!opts->no_simplify)
        tir_simplify(k);
    if (!opts->no_mask_inference)
        tir_infer_masks(k);
    if (!opts->no_fusion) {
        tir_hoist_invariant_loads(k);
        tir_fuse_dot(k);
    }
    if (!opts->no_simplify)
        tir_simplify(k);
    tir_renumber(k);
    return tir_verify(k, d);
}
