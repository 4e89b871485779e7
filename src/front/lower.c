/* lower.c — the checked AST of one kernel, with its const parameters bound, to TIR.
   `if` on consts is resolved here; implicit promotion and broadcasting become explicit
   convert/broadcast/expand_dims ops; locals become SSA values, loop-carried ones flow
   through the loop's block arguments and yield (sema's Stmt.carried). */
#include <math.h>
#include <string.h>

#include "front.h"

typedef struct Lowerer {
    Arena *arena;
    Diag *diag;
    const Kernel *ast;
    TirKernel *k;
    const int64_t *const_values;  /* by Param.index */
    TirValue **locals;            /* current SSA value of each Local, by Local.id */
    int *loopvar_map;             /* sema LoopVar.id -> TirKernel.loopvars index */
    TirBlock *block;              /* where ops are appended */
    int depth;
    bool failed;
} Lowerer;

static TirValue *lower_expr(Lowerer *L, const Expr *e);
static void lower_stmts(Lowerer *L, Stmt *const *stmts, int n);

static void fail(Lowerer *L, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(Lowerer *L, Loc loc, const char *fmt, ...)
{
    L->failed = true;
    va_list ap;
    va_start(ap, fmt);
    diag_verror(L->diag, loc, "error", fmt, ap);
    va_end(ap);
}

/* ---- types */

static bool map_type(Lowerer *L, Loc loc, const Type *t, TirType *out)
{
    *out = tir_type_scalar(t->dtype);
    if (t->kind != TYPE_VALUE) {
        fail(L, loc, "internal: lowering a value that sema did not type");
        return false;
    }
    out->rank = t->rank;
    for (int i = 0; i < t->rank; i++) {
        Axis a = t->axes[i];
        if (a.kind == AXIS_BLOCK) {
            if (a.id < 0 || a.id >= L->ast->nloopvars || L->loopvar_map[a.id] < 0) {
                fail(L, loc, "internal: axis of a loop variable that is not lowered");
                return false;
            }
            a.id = L->loopvar_map[a.id];
        } else if (a.kind == AXIS_CONST && a.id != 2) {
            fail(L, loc, "internal: a literal-size axis other than a pair axis in a tile type");
            return false;
        }
        out->axes[i] = a;
    }
    return true;
}

static TirType with_dtype(TirType t, DType d)
{
    t.dtype = d;
    return t;
}

/* ---- emitting */

static TirOp *emit(Lowerer *L, TirOpcode opc, Loc loc, TirValue **operands, int n, const TirType *rtype)
{
    TirOp *op = tir_op_new(L->k, opc, loc, n, rtype ? 1 : 0, rtype);
    for (int i = 0; i < n; i++)
        op->operands[i] = operands[i];
    tir_op_append(L->block, op);
    return op;
}

static TirValue *emit1(Lowerer *L, TirOpcode opc, Loc loc, TirValue **operands, int n, TirType rtype)
{
    return emit(L, opc, loc, operands, n, &rtype)->results[0];
}

static TirValue *emit_sub(Lowerer *L, TirOpcode opc, int sub, Loc loc, TirValue **operands, int n,
                          TirType rtype)
{
    TirOp *op = emit(L, opc, loc, operands, n, &rtype);
    op->sub = sub;
    return op->results[0];
}

/* A constant tile: the value rounded to the dtype once, as a literal is. */
static TirValue *emit_full(Lowerer *L, Loc loc, TirType t, bool is_float, int64_t iv, double fv)
{
    TirOp *op = emit(L, TIR_FULL, loc, NULL, 0, &t);
    double x = is_float ? fv : (double)iv;
    if (dtype_is_float(t.dtype)) {
        op->fvalue = dtype_decode(t.dtype, dtype_encode_f64(t.dtype, x));
        op->ivalue = 0;
    } else if (t.dtype == DT_BOOL) {
        op->ivalue = is_float ? convert_f64_to_bool(fv) : iv != 0;
        op->fvalue = (double)op->ivalue;
    } else {
        int64_t v = is_float ? convert_f64_to_int(t.dtype, fv) : tir_int_wrap(t.dtype, (uint64_t)iv);
        op->ivalue = v;
        op->fvalue = (double)v;
    }
    return op->results[0];
}

/* v converted to want's dtype and broadcast to want's axes (right-aligned). */
static TirValue *coerce(Lowerer *L, Loc loc, TirValue *v, TirType want)
{
    if (!v)
        return NULL;
    if (v->type.dtype != want.dtype)
        v = emit1(L, TIR_CONVERT, loc, &v, 1, with_dtype(v->type, want.dtype));
    TirType have = v->type;
    bool same = have.rank == want.rank;
    for (int i = 0; same && i < have.rank; i++)
        same = tir_axis_equal(have.axes[i], want.axes[i]);
    if (same)
        return v;
    if (have.rank > want.rank) {
        fail(L, loc, "internal: cannot broadcast rank %d to rank %d", have.rank, want.rank);
        return NULL;
    }
    return emit1(L, TIR_BROADCAST, loc, &v, 1, want);
}

/* A literal (or a negated one) that adopts the dtype it is used at, rounded once. */
static bool literal_value(const Expr *e, bool *is_float, int64_t *iv, double *fv)
{
    bool neg = false;
    while (e && e->kind == EXPR_UNARY && e->op == UN_NEG) {
        neg = !neg;
        e = e->lhs;
    }
    if (!e)
        return false;
    if (e->kind == EXPR_INT || e->kind == EXPR_BOOL) {
        *is_float = false;
        *iv = neg ? (int64_t)(0 - (uint64_t)e->int_value) : e->int_value;
        *fv = (double)*iv;
        return e->kind == EXPR_INT || !neg;
    }
    if (e->kind == EXPR_FLOAT) {
        *is_float = true;
        *fv = neg ? -e->float_value : e->float_value;
        *iv = 0;
        return true;
    }
    return false;
}

static TirValue *lower_as(Lowerer *L, const Expr *e, TirType want)
{
    bool is_float;
    int64_t iv;
    double fv;
    if (e && e->type.weak && literal_value(e, &is_float, &iv, &fv))
        return emit_full(L, e->loc, want, is_float, iv, fv);
    return coerce(L, e ? e->loc : L->k->loc, lower_expr(L, e), want);
}

/* ---- compile-time values */

/* Lowers e into a detached block and folds it; false when it is not a constant. */
static bool eval_const_expr(Lowerer *L, const Expr *e, int64_t *out)
{
    TirBlock *saved = L->block;
    L->block = tir_block_new(L->k, NULL);
    TirValue *v = lower_expr(L, e);
    L->block = saved;
    double fv;
    if (!v || !tir_eval_const(v, out, &fv))
        return false;
    if (dtype_is_float(v->type.dtype))
        *out = fv != 0;
    return true;
}

static bool const_condition(Lowerer *L, const Expr *cond, bool *out)
{
    int64_t v;
    if (!eval_const_expr(L, cond, &v)) {
        if (!L->failed)
            fail(L, cond->loc, "this condition must be known when the kernel is compiled "
                 "(const parameters and literals)");
        return false;
    }
    *out = v != 0;
    return true;
}

/* ---- expressions */

static int loopvar_of(Lowerer *L, const Expr *e)
{
    if (!e || e->kind != EXPR_NAME || !e->sym || e->sym->kind != SYM_LOOPVAR)
        return -1;
    int id = e->sym->loopvar->id;
    return id >= 0 && id < L->ast->nloopvars ? L->loopvar_map[id] : -1;
}

/* x ** c (sema: c = e->float_value, a number): an integer c by multiplication, squaring
   (x**5 = x·(x²)², 1/x**n for c < 0), 0.5 as sqrt, -0.5 as rsqrt, any other c as
   exp2(c·log2(x)); a 16-bit float in f32, rounded once at the end (docs/language.md). */
static TirValue *lower_pow(Lowerer *L, const Expr *e, TirType rt)
{
    double c = e->float_value;
    TirType t = rt;
    if (rt.dtype == DT_BF16 || rt.dtype == DT_F16)
        t.dtype = DT_F32;
    TirValue *x = lower_as(L, e->lhs, t);
    if (!x)
        return NULL;
    TirValue *ops[2], *r = NULL;
    if (c == floor(c) && fabs(c) <= POW_MAX_MULTIPLIED) {
        for (int64_t n = (int64_t)fabs(c); n > 0; n >>= 1) {
            if (n & 1) {
                ops[0] = r;
                ops[1] = x;
                r = r ? emit_sub(L, TIR_BINARY, TIR_BIN_MUL, e->loc, ops, 2, t) : x;
            }
            if (n > 1) {
                ops[0] = ops[1] = x;
                x = emit_sub(L, TIR_BINARY, TIR_BIN_MUL, e->loc, ops, 2, t);
            }
        }
        if (!r || c < 0) {
            ops[0] = emit_full(L, e->loc, t, false, 1, 0);
            ops[1] = r;
            r = r ? emit_sub(L, TIR_BINARY, TIR_BIN_DIV, e->loc, ops, 2, t) : ops[0];
        }
    } else if (c == 0.5 || c == -0.5) {
        r = emit_sub(L, TIR_UNARY, c > 0 ? TIR_UN_SQRT : TIR_UN_RSQRT, e->loc, &x, 1, t);
    } else {
        ops[0] = emit_full(L, e->loc, t, true, 0, c);
        ops[1] = emit_sub(L, TIR_UNARY, TIR_UN_LOG2, e->loc, &x, 1, t);
        ops[0] = emit_sub(L, TIR_BINARY, TIR_BIN_MUL, e->loc, ops, 2, t);
        r = emit_sub(L, TIR_UNARY, TIR_UN_EXP2, e->loc, ops, 1, t);
    }
    return coerce(L, e->loc, r, rt);
}

/* `a @ b` and dot(a, b, tf32=...): a dot from a zero accumulator. */
static TirValue *lower_dot(Lowerer *L, const Expr *e, const Expr *a, const Expr *b, bool tf32,
                           TirType rt)
{
    TirValue *ops[3];
    if (!(ops[0] = lower_expr(L, a)) || !(ops[1] = lower_expr(L, b)))
        return NULL;
    ops[2] = emit_full(L, e->loc, rt, false, 0, 0);
    return emit_sub(L, TIR_DOT, tf32 ? TIR_DOT_TF32 : TIR_DOT_EXACT, e->loc, ops, 3, rt);
}

static TirValue *lower_binary(Lowerer *L, const Expr *e)
{
    TirType rt;
    if (!map_type(L, e->loc, &e->type, &rt))
        return NULL;
    if (e->op == BIN_POW)
        return lower_pow(L, e, rt);
    if (e->op == BIN_MATMUL)
        return lower_dot(L, e, e->lhs, e->rhs, false, rt);
    TirValue *ops[2];
    TirType operand = rt;
    int opc, sub;
    switch (e->op) {
    case BIN_ADD: opc = TIR_BINARY; sub = TIR_BIN_ADD; break;
    case BIN_SUB: opc = TIR_BINARY; sub = TIR_BIN_SUB; break;
    case BIN_MUL: opc = TIR_BINARY; sub = TIR_BIN_MUL; break;
    case BIN_DIV: opc = TIR_BINARY; sub = TIR_BIN_DIV; break;
    case BIN_MOD: opc = TIR_BINARY; sub = TIR_BIN_MOD; break;
    case BIN_AND: opc = TIR_BINARY; sub = TIR_BIN_AND; break;
    case BIN_OR:  opc = TIR_BINARY; sub = TIR_BIN_OR; break;
    case BIN_BITAND: opc = TIR_BINARY; sub = TIR_BIN_BITAND; break;
    case BIN_BITOR: opc = TIR_BINARY; sub = TIR_BIN_BITOR; break;
    case BIN_BITXOR: opc = TIR_BINARY; sub = TIR_BIN_BITXOR; break;
    case BIN_SHL: opc = TIR_BINARY; sub = TIR_BIN_SHL; break;
    case BIN_SHR: opc = TIR_BINARY; sub = TIR_BIN_SHR; break;
    case BIN_LT: opc = TIR_CMP; sub = TIR_CMP_LT; break;
    case BIN_LE: opc = TIR_CMP; sub = TIR_CMP_LE; break;
    case BIN_GT: opc = TIR_CMP; sub = TIR_CMP_GT; break;
    case BIN_GE: opc = TIR_CMP; sub = TIR_CMP_GE; break;
    case BIN_EQ: opc = TIR_CMP; sub = TIR_CMP_EQ; break;
    case BIN_NE: opc = TIR_CMP; sub = TIR_CMP_NE; break;
    default:
        fail(L, e->loc, "internal: unknown binary operator");
        return NULL;
    }
    if (opc == TIR_CMP)
        operand.dtype = type_promote(&e->lhs->type, &e->rhs->type);
    if (!(ops[0] = lower_as(L, e->lhs, operand)) || !(ops[1] = lower_as(L, e->rhs, operand)))
        return NULL;
    return emit_sub(L, opc, sub, e->loc, ops, 2, rt);
}

/* The index entries of `P[args]`: fills index[] and appends VALUE operands to vals (a
   `mask=` entry is lowered by lower_memory). */
static int lower_index(Lowerer *L, const Expr *target, TirIndex *index, TirValue **vals, int *nvals)
{
    int n = 0;
    for (int i = 0; i < target->nargs; i++) {
        const Expr *arg = target->args[i];
        if (arg->kind == EXPR_KWARG)
            continue;
        TirIndex *ix = &index[n++];
        memset(ix, 0, sizeof *ix);
        ix->loopvar = ix->operand = -1;
        if (arg->kind == EXPR_NONE) {
            ix->kind = TIR_IDX_NEWAXIS;
        } else if (arg->kind == EXPR_SLICE) {
            ix->kind = TIR_IDX_FULL;
        } else if (loopvar_of(L, arg) >= 0) {
            ix->kind = TIR_IDX_BLOCK;
            ix->loopvar = loopvar_of(L, arg);
        } else {
            ix->kind = TIR_IDX_VALUE;
            TirValue *v = lower_expr(L, arg);
            if (!v)
                return -1;
            if (!dtype_is_int(v->type.dtype)) {
                fail(L, arg->loc, "internal: a tensor index must be an integer scalar or tile");
                return -1;
            }
            ix->operand = *nvals;
            vals[(*nvals)++] = v;
        }
    }
    return n;
}

static const Param *indexed_param(const Expr *target)
{
    if (!target || target->kind != EXPR_INDEX || !target->lhs || !target->lhs->sym ||
        target->lhs->sym->kind != SYM_PARAM)
        return NULL;
    const Param *p = target->lhs->sym->param;
    return p && p->kind == PARAM_TENSOR ? p : NULL;
}

/* load / store / atomic of P[...]; value NULL for a load. */
static TirValue *lower_memory(Lowerer *L, TirOpcode opc, int sub, Loc loc, const Expr *target,
                              const Expr *value)
{
    const Param *p = indexed_param(target);
    if (!p || target->nargs > 2 * MAX_RANK + 1) {
        fail(L, target ? target->loc : loc, "internal: a tensor access without a tensor parameter");
        return NULL;
    }
    TirIndex index[2 * MAX_RANK];
    TirValue *vals[2 * MAX_RANK + 2];
    int nvals = opc == TIR_LOAD ? 0 : 1;
    int n = lower_index(L, target, index, vals, &nvals);
    if (n < 0)
        return NULL;
    TirType t;
    if (!map_type(L, target->loc, &target->type, &t))
        return NULL;
    if (value && !(vals[0] = lower_as(L, value, t)))
        return NULL;
    const Expr *mask = NULL;   /* `mask=`: the last operand, a bool of the access's type */
    for (int i = 0; i < target->nargs; i++)
        if (target->args[i]->kind == EXPR_KWARG)
            mask = target->args[i]->lhs;
    if (mask) {
        TirType mt = t;
        mt.dtype = DT_BOOL;
        if (!(vals[nvals++] = lower_as(L, mask, mt)))
            return NULL;
    }
    TirOp *op = emit(L, opc, loc, vals, nvals, opc == TIR_LOAD ? &t : NULL);
    op->sub = sub;
    op->masked = mask != NULL;
    op->param = p->index;
    op->nindex = n;
    op->index = arena_alloc(L->arena, (size_t)n * sizeof *op->index);
    memcpy(op->index, index, (size_t)n * sizeof *index);
    return opc == TIR_LOAD ? op->results[0] : NULL;
}

static TirValue *lower_slice(Lowerer *L, const Expr *e)
{
    TirValue *v = lower_expr(L, e->lhs);
    if (!v)
        return NULL;
    for (int i = 0; i < e->nargs; i++) {
        if (e->args[i]->kind != EXPR_NONE)
            continue;
        TirType t = v->type;
        if (t.rank >= MAX_RANK || i > t.rank) {
            fail(L, e->loc, "internal: slice out of range");
            return NULL;
        }
        for (int j = t.rank; j > i; j--)
            t.axes[j] = t.axes[j - 1];
        t.axes[i] = (Axis){AXIS_ONE, 0};
        t.rank++;
        TirOp *op = emit(L, TIR_EXPAND_DIMS, e->loc, &v, 1, &t);
        op->axis = i;
        v = op->results[0];
    }
    return v;
}

static TirValue *lower_field(Lowerer *L, const Expr *e)
{
    TirType rt;
    if (!map_type(L, e->loc, &e->type, &rt))
        return NULL;
    if (strcmp(e->name, "T") == 0) {
        TirValue *v = lower_expr(L, e->lhs);
        return v ? emit1(L, TIR_TRANSPOSE, e->loc, &v, 1, rt) : NULL;
    }
    int lv = loopvar_of(L, e->lhs);
    if (lv < 0) {
        fail(L, e->loc, "internal: .%s of something that is not a loop variable", e->name);
        return NULL;
    }
    TirOpcode opc = strcmp(e->name, "index") == 0 ? TIR_IOTA : strcmp(e->name, "begin") == 0 ? TIR_BEGIN
                  : strcmp(e->name, "id") == 0 ? TIR_BLOCK_ID : TIR_END;
    TirOp *op = emit(L, opc, e->loc, NULL, 0, &rt);
    op->loopvar = lv;
    return op->results[0];
}

/* sum/max/min/amax over one axis or (axis -1) all of them, last axis first. */
static TirValue *lower_reduction(Lowerer *L, const Expr *e)
{
    TirType rt;
    if (!map_type(L, e->loc, &e->type, &rt))
        return NULL;
    TirValue *v = lower_expr(L, e->args[0]);
    if (!v)
        return NULL;
    int kind = e->builtin == BI_SUM ? TIR_RED_SUM : e->builtin == BI_MAX ? TIR_RED_MAX
             : e->builtin == BI_MIN ? TIR_RED_MIN : TIR_RED_AMAX;
    if (v->type.dtype != rt.dtype)   /* sum of a 16-bit float accumulates in f32 */
        v = emit1(L, TIR_CONVERT, e->loc, &v, 1, with_dtype(v->type, rt.dtype));
    if (e->reduce_axis >= 0) {
        TirOp *op = emit(L, TIR_REDUCE, e->loc, &v, 1, &rt);
        op->sub = kind;
        op->axis = e->reduce_axis;
        return op->results[0];
    }
    if (v->type.rank == 0)
        return kind == TIR_RED_AMAX ? emit_sub(L, TIR_UNARY, TIR_UN_ABS, e->loc, &v, 1, v->type) : v;
    while (v->type.rank > 0) {
        TirType t = v->type;
        t.rank--;
        TirOp *op = emit(L, TIR_REDUCE, e->loc, &v, 1, &t);
        op->sub = kind;
        op->axis = t.rank;
        v = op->results[0];
        if (kind == TIR_RED_AMAX)
            kind = TIR_RED_MAX;   /* |x| is taken once, over the first axis reduced */
    }
    return v;
}

static TirValue *lower_call(Lowerer *L, const Expr *e)
{
    TirType rt;
    if (!map_type(L, e->loc, &e->type, &rt))
        return NULL;
    switch (e->builtin) {
    case BI_EXP2: case BI_EXP: case BI_LOG: case BI_LOG2: case BI_SQRT: case BI_RSQRT: case BI_ABS:
    case BI_TANH: case BI_ERF: case BI_SIGMOID: case BI_SILU: case BI_GELU: case BI_GELU_TANH:
    case BI_SIN: case BI_COS: {
        static const int sub[] = {[BI_EXP2] = TIR_UN_EXP2, [BI_EXP] = TIR_UN_EXP, [BI_LOG] = TIR_UN_LOG,
                                  [BI_LOG2] = TIR_UN_LOG2, [BI_SQRT] = TIR_UN_SQRT,
                                  [BI_RSQRT] = TIR_UN_RSQRT, [BI_ABS] = TIR_UN_ABS,
                                  [BI_TANH] = TIR_UN_TANH, [BI_ERF] = TIR_UN_ERF,
                                  [BI_SIGMOID] = TIR_UN_SIGMOID, [BI_SILU] = TIR_UN_SILU,
                                  [BI_GELU] = TIR_UN_GELU, [BI_GELU_TANH] = TIR_UN_GELU_TANH,
                                  [BI_SIN] = TIR_UN_SIN, [BI_COS] = TIR_UN_COS};
        TirValue *v = lower_as(L, e->args[0], rt);
        return v ? emit_sub(L, TIR_UNARY, sub[e->builtin], e->loc, &v, 1, rt) : NULL;
    }
    case BI_MAX: case BI_MIN:
        if (e->reduce_axis >= -1)
            return lower_reduction(L, e);
        /* fallthrough */
    case BI_CDIV: {
        TirValue *ops[2];
        if (!(ops[0] = lower_as(L, e->args[0], rt)) || !(ops[1] = lower_as(L, e->args[1], rt)))
            return NULL;
        int sub = e->builtin == BI_MAX ? TIR_BIN_MAX : e->builtin == BI_MIN ? TIR_BIN_MIN : TIR_BIN_CDIV;
        return emit_sub(L, TIR_BINARY, sub, e->loc, ops, 2, rt);
    }
    case BI_SUM: case BI_AMAX:
        return lower_reduction(L, e);
    case BI_DOT:
        return lower_dot(L, e, e->args[0], e->args[1], e->tf32, rt);
    case BI_SPLIT: {
        TirValue *v = lower_expr(L, e->args[0]);
        if (!v)
            return NULL;
        TirOp *op = emit(L, TIR_SPLIT, e->loc, &v, 1, &rt);
        op->axis = e->reduce_axis;   /* the lane */
        return op->results[0];
    }
    case BI_JOIN: {   /* both operands in the result's dtype and axes, less the pair axis */
        TirType half = rt;
        half.rank--;
        TirValue *ops[2];
        if (!(ops[0] = lower_as(L, e->args[0], half)) || !(ops[1] = lower_as(L, e->args[1], half)))
            return NULL;
        return emit1(L, TIR_JOIN, e->loc, ops, 2, rt);
    }
    case BI_CUMSUM: {   /* in the result's dtype: 16-bit floats widened to f32 first */
        TirValue *v = lower_as(L, e->args[0], rt);
        if (!v)
            return NULL;
        TirOp *op = emit(L, TIR_CUMSUM, e->loc, &v, 1, &rt);
        op->sub = e->exclusive;
        op->axis = e->reduce_axis;
        return op->results[0];
    }
    case BI_RAND: case BI_RANDINT: {   /* the seed and the offset as i64 with the result's axes */
        TirValue *ops[2];
        if (!(ops[0] = lower_as(L, e->args[0], with_dtype(rt, DT_I64))) ||
            !(ops[1] = lower_as(L, e->args[1], with_dtype(rt, DT_I64))))
            return NULL;
        return emit1(L, TIR_RAND, e->loc, ops, 2, rt);
    }
    case BI_WHERE: {
        TirValue *ops[3];
        if (!(ops[0] = lower_as(L, e->args[0], with_dtype(rt, DT_BOOL))) ||
            !(ops[1] = lower_as(L, e->args[1], rt)) || !(ops[2] = lower_as(L, e->args[2], rt)))
            return NULL;
        return emit1(L, TIR_SELECT, e->loc, ops, 3, rt);
    }
    case BI_ZEROS:
        return emit_full(L, e->loc, rt, false, 0, 0);
    case BI_FULL:
        return lower_as(L, e->args[1], rt);
    default:
        fail(L, e->loc, "internal: %s is not a value", builtin_name(e->builtin));
        return NULL;
    }
}

static TirValue *lower_name(Lowerer *L, const Expr *e)
{
    const Symbol *s = e->sym;
    if (!s) {
        fail(L, e->loc, "internal: unresolved name");
        return NULL;
    }
    switch (s->kind) {
    case SYM_LOCAL: {
        TirValue *v = s->local->id >= 0 && s->local->id < L->ast->nlocals ? L->locals[s->local->id] : NULL;
        if (!v)
            fail(L, e->loc, "internal: local '%s' has no value here", s->local->name);
        return v;
    }
    case SYM_SHAPE: {
        TirOp *op = emit(L, TIR_DIM, e->loc, NULL, 0, &(TirType){.dtype = DT_I64});
        op->sym = s->shape->id;
        return op->results[0];
    }
    case SYM_PARAM: {
        const Param *p = s->param;
        if (p->kind == PARAM_CONST) {
            int64_t v = L->k->params[p->index].const_value;
            return emit_full(L, e->loc, tir_type_scalar(p->dtype), false, v, 0);
        }
        if (p->kind != PARAM_SCALAR)
            break;
        TirOp *op = emit(L, TIR_PARAM, e->loc, NULL, 0, &(TirType){.dtype = p->dtype});
        op->param = p->index;
        return op->results[0];
    }
    case SYM_LOOPVAR:
        break;
    }
    fail(L, e->loc, "internal: '%s' is not a value", e->name);
    return NULL;
}

static TirValue *lower_expr_kind(Lowerer *L, const Expr *e)
{
    TirType rt;
    switch (e->kind) {
    case EXPR_INT:
    case EXPR_FLOAT:
    case EXPR_BOOL:
        if (!map_type(L, e->loc, &e->type, &rt))
            return NULL;
        return emit_full(L, e->loc, rt, e->kind == EXPR_FLOAT, e->int_value, e->float_value);
    case EXPR_NAME:
        return lower_name(L, e);
    case EXPR_UNARY: {
        if (!map_type(L, e->loc, &e->type, &rt))
            return NULL;
        bool is_float;
        int64_t iv;
        double fv;
        if (e->type.weak && literal_value(e, &is_float, &iv, &fv))
            return emit_full(L, e->loc, rt, is_float, iv, fv);
        TirValue *v = lower_as(L, e->lhs, rt);
        int sub = e->op == UN_NOT ? TIR_UN_NOT : e->op == UN_BITNOT ? TIR_UN_BITNOT : TIR_UN_NEG;
        return v ? emit_sub(L, TIR_UNARY, sub, e->loc, &v, 1, rt) : NULL;
    }
    case EXPR_BINARY:
        return lower_binary(L, e);
    case EXPR_TERNARY: {
        if (!map_type(L, e->loc, &e->type, &rt))
            return NULL;
        if (e->cond->type.is_const) {
            bool c;
            if (!const_condition(L, e->cond, &c))
                return NULL;
            return lower_as(L, c ? e->lhs : e->rhs, rt);
        }
        TirValue *ops[3];
        if (!(ops[0] = lower_as(L, e->cond, with_dtype(rt, DT_BOOL))) || !(ops[1] = lower_as(L, e->lhs, rt)) ||
            !(ops[2] = lower_as(L, e->rhs, rt)))
            return NULL;
        return emit1(L, TIR_SELECT, e->loc, ops, 3, rt);
    }
    case EXPR_CALL:
        return lower_call(L, e);
    case EXPR_INDEX:
        if (indexed_param(e))
            return lower_memory(L, TIR_LOAD, 0, e->loc, e, NULL);
        return lower_slice(L, e);
    case EXPR_FIELD:
        return lower_field(L, e);
    case EXPR_TO: {
        if (!map_type(L, e->loc, &e->type, &rt))
            return NULL;
        TirValue *v = lower_expr(L, e->lhs);
        return v ? coerce(L, e->loc, v, rt) : NULL;
    }
    default:
        fail(L, e->loc, "internal: this expression is not a value");
        return NULL;
    }
}

static TirValue *lower_expr(Lowerer *L, const Expr *e)
{
    if (!e) {
        fail(L, L->k->loc, "internal: missing expression");
        return NULL;
    }
    if (L->failed)
        return NULL;
    if (L->depth > MAX_NESTING * 2) {
        fail(L, e->loc, "expression nested too deeply to lower");
        return NULL;
    }
    L->depth++;
    TirValue *v = lower_expr_kind(L, e);
    L->depth--;
    return v;
}

/* ---- statements */

static void lower_assign(Lowerer *L, const Stmt *s)
{
    const Local *local = s->local;
    if (!local || local->id < 0 || local->id >= L->ast->nlocals) {
        fail(L, s->loc, "internal: assignment without a local");
        return;
    }
    TirType t;
    if (!map_type(L, s->loc, &local->type, &t))
        return;
    if (s->assign_op < 0) {
        L->locals[local->id] = lower_as(L, s->value, t);
        return;
    }
    static const int sub[] = {[BIN_ADD] = TIR_BIN_ADD, [BIN_SUB] = TIR_BIN_SUB, [BIN_MUL] = TIR_BIN_MUL,
                              [BIN_DIV] = TIR_BIN_DIV, [BIN_MOD] = TIR_BIN_MOD};
    if (s->assign_op > BIN_MOD || s->assign_op == BIN_MATMUL) {
        fail(L, s->loc, "internal: unknown compound assignment");
        return;
    }
    TirValue *ops[2] = {L->locals[local->id], lower_as(L, s->value, t)};
    if (!ops[0] || !ops[1]) {
        if (!L->failed)
            fail(L, s->loc, "internal: '%s' has no value here", local->name);
        return;
    }
    L->locals[local->id] = emit_sub(L, TIR_BINARY, sub[s->assign_op], s->loc, ops, 2, t);
}

static void lower_atomic(Lowerer *L, const Stmt *s)
{
    const Expr *e = s->value;
    if (!e || e->kind != EXPR_CALL || e->nargs != 2) {
        fail(L, s->loc, "internal: statement is not an atomic");
        return;
    }
    int sub = e->builtin == BI_ATOMIC_ADD ? TIR_RED_SUM : e->builtin == BI_ATOMIC_MAX ? TIR_RED_MAX : TIR_RED_MIN;
    lower_memory(L, TIR_ATOMIC, sub, e->loc, e->args[0], e->args[1]);
}

/* The first integer div, mod or cdiv in a just-lowered extent whose divisor is a constant
   0 (`M / 0`, a const parameter that is 0), or NULL. An extent is index arithmetic: folding
   would make that a silent 0 (a scalar 0 is caught at launch, docs/ir.md). Extents use no
   locals, so the expression is a tree as big as its source. */
static const TirOp *division_by_constant_zero(const TirValue *v, int depth)
{
    if (!v || !v->def || depth > 64)
        return NULL;
    const TirOp *op = v->def;
    int64_t divisor;
    double f;
    if (op->opcode == TIR_BINARY && dtype_is_int(v->type.dtype) &&
        tir_eval_const(op->operands[1], &divisor, &f) && tir_int_divides_by_zero(op->sub, divisor))
        return op;
    for (int i = 0; i < op->noperands; i++) {
        const TirOp *found = division_by_constant_zero(op->operands[i], depth + 1);
        if (found)
            return found;
    }
    return NULL;
}

static void lower_loop(Lowerer *L, Loc loc, bool grid, int nvars, const int *vars,
                       TirValue *const *operands, TirValue *start, const Local *const *carried,
                       int ncarried, const TirType *types, Stmt *const *stmts, int nstmts);

static void lower_for(Lowerer *L, const Stmt *s)
{
    TirKernel *k = L->k;
    bool grid = s->nvars > 0 && s->vars[0]->is_grid;
    TirValue *operands[MAX_LOOP_VARS];
    int vars[MAX_LOOP_VARS];
    TirValue *start = NULL;
    if (s->nvars < 1 || s->nvars > MAX_LOOP_VARS || (s->vars[0]->start && (grid || s->nvars != 1))) {
        fail(L, s->loc, "internal: loop with %d variables", s->nvars);
        return;
    }
    for (int i = 0; i < s->nvars; i++) {
        const LoopVar *v = s->vars[i];
        if (v->start && !(start = lower_as(L, v->start, tir_type_scalar(DT_I64))))
            return;
        if (!(operands[i] = lower_as(L, v->extent, tir_type_scalar(DT_I64))))
            return;
        const TirOp *by_zero = division_by_constant_zero(operands[i], 0);
        if (!by_zero && start)
            by_zero = division_by_constant_zero(start, 0);
        if (by_zero) {
            fail(L, by_zero->loc, "the extent of loop %s divides by zero", v->name);
            return;
        }
        TirLoopVar *lv = tir_loopvar_new(k, v->name, grid, v->loc);
        lv->dim = i;
        if (v->scalar) {
            lv->block = 1;
        } else if (v->tunable) {
            lv->tunable = tir_find_tunable(k, v->tunable);
            lv->block = 0;
            if (lv->tunable < 0) {
                fail(L, v->loc, "internal: loop variable '%s' names an unknown tunable %s", v->name, v->tunable);
                return;
            }
        } else if (v->block.kind == BLOCK_FIXED && v->block.nvalues == 1) {
            lv->block = v->block.values[0];
        } else {
            fail(L, v->loc, "internal: loop variable '%s' has no block size", v->name);
            return;
        }
        L->loopvar_map[v->id] = lv->id;
        vars[i] = lv->id;
    }
    /* carried locals that have a value before the loop */
    int ncarried = 0;
    const Local **carried = arena_alloc(L->arena, (size_t)(s->ncarried + 1) * sizeof *carried);
    TirType *types = arena_alloc(L->arena, (size_t)(s->ncarried + 1) * sizeof *types);
    for (int i = 0; i < s->ncarried && !grid; i++) {
        const Local *c = s->carried[i];
        if (!c || c->id < 0 || c->id >= L->ast->nlocals || !L->locals[c->id])
            continue;
        carried[ncarried] = c;
        types[ncarried++] = L->locals[c->id]->type;
    }
    lower_loop(L, s->loc, grid, s->nvars, vars, operands, start, carried, ncarried, types,
               s->body, s->nbody);
}

/* The FOR/GRID op of loop variables `vars` with extents `operands` (and a start), carrying
   the locals `carried` (of `types`) through the lowered `body`. */
static void lower_loop(Lowerer *L, Loc loc, bool grid, int nvars, const int *vars,
                       TirValue *const *operands, TirValue *start, const Local *const *carried,
                       int ncarried, const TirType *types, Stmt *const *stmts, int nstmts)
{
    TirKernel *k = L->k;
    TirOp *op = tir_op_new(k, grid ? TIR_GRID : TIR_FOR, loc, nvars + ncarried + (start != NULL),
                           ncarried, types);
    op->nvars = nvars;
    op->ranged = start != NULL;
    if (start)
        op->operands[nvars + ncarried] = start;
    op->loopvars = arena_alloc(L->arena, (size_t)nvars * sizeof *op->loopvars);
    for (int i = 0; i < nvars; i++) {
        op->loopvars[i] = vars[i];
        op->operands[i] = operands[i];
        k->loopvars[vars[i]]->loop = op;
    }
    TirBlock *body = tir_block_new(k, op);
    op->regions[0] = body;
    for (int i = 0; i < ncarried; i++) {
        op->operands[nvars + i] = L->locals[carried[i]->id];
        L->locals[carried[i]->id] = tir_block_add_arg(k, body, types[i]);
    }
    tir_op_append(L->block, op);
    TirBlock *saved = L->block;
    L->block = body;
    lower_stmts(L, stmts, nstmts);
    if (!grid && !L->failed) {
        TirOp *y = tir_op_new(k, TIR_YIELD, loc, ncarried, 0, NULL);
        for (int i = 0; i < ncarried; i++)
            y->operands[i] = L->locals[carried[i]->id];
        tir_op_append(body, y);
    }
    L->block = saved;
    for (int i = 0; i < ncarried; i++)
        L->locals[carried[i]->id] = op->results[i];
}

/* One branch of an if on a run-time condition: a loop of one block (variable `name`,
   block 1) that runs when `taken` holds, carrying the locals the branch assigns. */
static void lower_branch(Lowerer *L, Loc loc, const char *name, TirValue *taken,
                         Local *const *carried_in, int ncarried_in, Stmt *const *stmts, int nstmts)
{
    TirKernel *k = L->k;
    TirType i64 = tir_type_scalar(DT_I64);
    TirValue *ops[3] = {taken, emit_full(L, loc, i64, false, 1, 0), emit_full(L, loc, i64, false, 0, 0)};
    TirValue *extent = emit1(L, TIR_SELECT, loc, ops, 3, tir_type_scalar(DT_I64));
    TirLoopVar *lv = tir_loopvar_new(k, name, false, loc);
    lv->block = 1;
    lv->is_branch = true;
    int var = lv->id;
    /* carried locals that have a value before the branch */
    int ncarried = 0;
    const Local **carried = arena_alloc(L->arena, (size_t)(ncarried_in + 1) * sizeof *carried);
    TirType *types = arena_alloc(L->arena, (size_t)(ncarried_in + 1) * sizeof *types);
    for (int i = 0; i < ncarried_in; i++) {
        const Local *c = carried_in[i];
        if (!c || c->id < 0 || c->id >= L->ast->nlocals || !L->locals[c->id])
            continue;
        carried[ncarried] = c;
        types[ncarried++] = L->locals[c->id]->type;
    }
    lower_loop(L, loc, false, 1, &var, &extent, NULL, carried, ncarried, types, stmts, nstmts);
}

static void lower_runtime_if(Lowerer *L, const Stmt *s)
{
    TirValue *c = lower_as(L, s->cond, tir_type_scalar(DT_BOOL));
    if (!c)
        return;
    lower_branch(L, s->loc, "_if", c, s->carried, s->ncarried, s->body, s->nbody);
    if (s->nelse && !L->failed) {
        TirValue *not_c = emit_sub(L, TIR_UNARY, TIR_UN_NOT, s->loc, &c, 1, tir_type_scalar(DT_BOOL));
        lower_branch(L, s->loc, "_else", not_c, s->else_carried, s->nelse_carried, s->else_body,
                     s->nelse);
    }
}

static void lower_stmt(Lowerer *L, const Stmt *s)
{
    if (L->failed || !s)
        return;
    switch (s->kind) {
    case STMT_ASSIGN:
        lower_assign(L, s);
        return;
    case STMT_STORE:
        lower_memory(L, TIR_STORE, 0, s->loc, s->target, s->value);
        return;
    case STMT_EXPR:
        lower_atomic(L, s);
        return;
    case STMT_FOR:
        lower_for(L, s);
        return;
    case STMT_IF: {
        bool c;
        if (s->runtime) {
            lower_runtime_if(L, s);
            return;
        }
        if (!const_condition(L, s->cond, &c))
            return;
        if (c)
            lower_stmts(L, s->body, s->nbody);
        else
            lower_stmts(L, s->else_body, s->nelse);
        return;
    }
    case STMT_TUNE:
    case STMT_SIZES:
        return;   /* already applied by sema (Kernel.tunables, ShapeSym.sizes) */
    }
}

static void lower_stmts(Lowerer *L, Stmt *const *stmts, int n)
{
    if (L->depth > MAX_NESTING * 2) {
        fail(L, L->k->loc, "statements nested too deeply to lower");
        return;
    }
    L->depth++;
    for (int i = 0; i < n && !L->failed; i++)
        lower_stmt(L, stmts[i]);
    L->depth--;
}

/* ---- the signature */

static bool copy_signature(Lowerer *L, const int64_t *const_values)
{
    const Kernel *ast = L->ast;
    TirKernel *k = L->k;
    k->nsyms = ast->nsyms;
    k->syms = arena_alloc(L->arena, (size_t)(ast->nsyms + 1) * sizeof *k->syms);
    for (int i = 0; i < ast->nsyms; i++) {
        k->syms[i].name = ast->syms[i]->name;
        k->syms[i].is_full = ast->syms[i]->is_full;
    }
    k->nparams = ast->nparams;
    k->params = arena_alloc(L->arena, (size_t)(ast->nparams + 1) * sizeof *k->params);
    for (int i = 0; i < ast->nparams; i++) {
        const Param *p = ast->params[i];
        TirParam *tp = &k->params[i];
        if (p->index != i) {
            fail(L, p->loc, "internal: parameter '%s' is out of order", p->name);
            return false;
        }
        tp->name = p->name;
        tp->kind = p->kind;
        tp->dtype = p->dtype;
        tp->rank = p->rank;
        tp->reduce = p->reduce;
        for (int d = 0; d < p->rank; d++) {
            tp->dims[d].sym = p->dims[d].is_symbol ? p->dims[d].sym : -1;
            tp->dims[d].value = p->dims[d].is_symbol ? 0 : p->dims[d].value;
        }
        if (p->kind != PARAM_CONST)
            continue;
        tp->const_values = p->const_values;
        tp->nconst_values = p->dtype == DT_BOOL ? 0 : p->nconst_values;
        if (const_values) {
            tp->const_value = const_values[i];
        } else {
            tp->const_value = p->dtype != DT_BOOL && p->nconst_values > 0 ? p->const_values[0] : 0;
        }
        if (p->dtype == DT_BOOL && tp->const_value != 0 && tp->const_value != 1) {
            fail(L, p->loc, "const parameter '%s' is bool: its value is true or false", p->name);
            return false;
        }
        bool listed = p->dtype == DT_BOOL || tp->nconst_values == 0;
        for (int j = 0; j < tp->nconst_values; j++)
            listed = listed || tp->const_values[j] == tp->const_value;
        if (!listed) {
            fail(L, p->loc, "const parameter '%s' = %lld is not one of its listed values", p->name,
                 (long long)tp->const_value);
            return false;
        }
    }
    k->ntunables = ast->ntunables;
    k->tunables = arena_alloc(L->arena, (size_t)(ast->ntunables + 1) * sizeof *k->tunables);
    for (int i = 0; i < ast->ntunables; i++) {
        const Tunable *t = ast->tunables[i];
        k->tunables[i] = (TirTunable){t->name, t->kind, t->values, t->nvalues, t->default_value};
    }
    return true;
}

TirKernel *tir_lower(Arena *a, Diag *d, const Kernel *ast, const int64_t *const_values)
{
    if (!ast || !ast->checked) {
        if (ast)
            diag_error(d, ast->loc, "kernel '%s' has errors: it cannot be lowered", ast->name);
        return NULL;
    }
    Lowerer L = {.arena = a, .diag = d, .ast = ast, .const_values = const_values};
    L.k = tir_kernel_new(a, ast->name, ast->loc);
    L.k->source = ast->loc.file ? ast->loc.file->path : NULL;
    L.locals = arena_alloc(a, (size_t)(ast->nlocals + 1) * sizeof *L.locals);
    L.loopvar_map = arena_alloc(a, (size_t)(ast->nloopvars + 1) * sizeof *L.loopvar_map);
    for (int i = 0; i < ast->nloopvars; i++)
        L.loopvar_map[i] = -1;
    L.block = L.k->body;
    if (!copy_signature(&L, const_values))
        return NULL;
    lower_stmts(&L, ast->body, ast->nbody);
    if (L.failed)
        return NULL;
    tir_renumber(L.k);
    return L.k;
}
