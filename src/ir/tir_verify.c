/* tir_verify.c — structural and type checks of a TirKernel: every operand defined before
   use and in scope, loop variables bound by an enclosing loop, operand counts, types per
   op (docs/ir.md), yields matching carried types, one grid loop last. Reports every
   problem it finds with the op's location; never trusts the input (it may come from text). */
#include <stdlib.h>
#include <string.h>

#include "tir.h"

typedef struct Verifier {
    const TirKernel *k;
    Diag *d;
    int errors;
    const TirValue **visible; /* by value id: the value in scope (a value of a removed op
                                 keeps its stale id, which a live value may have) */
    bool *bound;            /* by loop var id: bound by an enclosing loop */
    int depth;
} Verifier;

static void fail(Verifier *v, const TirOp *op, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static const char *op_mnemonic(const TirOp *op)
{
    switch (op->opcode) {
    case TIR_UNARY: return tir_unary_name(op->sub);
    case TIR_BINARY: return tir_binary_name(op->sub);
    case TIR_CMP: return tir_cmp_name(op->sub);
    default: return tir_op_info(op->opcode) ? tir_op_info(op->opcode)->name : "?";
    }
}

static void fail(Verifier *v, const TirOp *op, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    v->errors++;
    if (op)
        diag_error(v->d, op->loc, "tir: '%s' %s", op_mnemonic(op), msg);
    else
        diag_error(v->d, v->k->loc, "tir: %s", msg);
}

static const char *tstr(Verifier *v, const TirType *t, char *buf, size_t size)
{
    return tir_type_str(buf, size, v->k, t);
}

static bool value_ok(Verifier *v, const TirValue *val)
{
    return val && val->id >= 0 && val->id < v->k->nvalues;
}

static bool axes_ok(Verifier *v, const TirOp *op, const TirType *t)
{
    if (t->rank < 0 || t->rank > MAX_RANK || (int)t->dtype < 0 || t->dtype >= DT_COUNT) {
        fail(v, op, "malformed type");
        return false;
    }
    for (int i = 0; i < t->rank; i++) {
        Axis a = t->axes[i];
        if (a.kind == AXIS_BLOCK) {
            if (a.id < 0 || a.id >= v->k->nloopvars || !v->bound[a.id]) {
                fail(v, op, "axis %d names a loop variable that is not bound here", i);
                return false;
            }
            const TirLoopVar *lv = v->k->loopvars[a.id];
            if (lv->tunable < 0 && lv->block == 1) {
                fail(v, op, "loop variable '%s' has block 1: it is a scalar index, not an axis", lv->name);
                return false;
            }
        } else if (a.kind == AXIS_FULL) {
            if (a.id < 0 || a.id >= v->k->nsyms) {
                fail(v, op, "axis %d names an unknown shape symbol", i);
                return false;
            }
        } else if (a.kind == AXIS_CONST && a.id != 2) {
            fail(v, op, "axis %d has the literal extent %d (only 2, a pair axis, may be)", i, a.id);
            return false;
        } else if (a.kind != AXIS_ONE && a.kind != AXIS_CONST) {
            fail(v, op, "axis %d has a kind TIR does not use", i);
            return false;
        }
    }
    return true;
}

static bool is_arith(DType t)
{
    return t != DT_BOOL && !dtype_is_fp8(t);
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

static bool loopvar_is_scalar(const TirLoopVar *lv)
{
    return lv->tunable < 0 && lv->block == 1;
}

static void verify_block(Verifier *v, const TirBlock *b, const TirOp *parent);

static void expect_type(Verifier *v, const TirOp *op, const char *what, const TirType *got, const TirType *want)
{
    if (!tir_type_equal(got, want)) {
        char g[256], w[256];
        fail(v, op, "%s has type %s, expected %s", what, tstr(v, got, g, sizeof g), tstr(v, want, w, sizeof w));
    }
}

/* The tile shape `P[index]` addresses. Returns false (diagnosed) on a malformed index. */
static bool index_type(Verifier *v, const TirOp *op, TirType *out)
{
    const TirKernel *k = v->k;
    if (op->param < 0 || op->param >= k->nparams) {
        fail(v, op, "unknown parameter");
        return false;
    }
    const TirParam *prm = &k->params[op->param];
    if (prm->kind != PARAM_TENSOR) {
        fail(v, op, "'%s' is not a tensor", prm->name);
        return false;
    }
    if (!op->index || op->nindex < 0 || tir_index_rank(op->index, op->nindex) != prm->rank) {
        fail(v, op, "'%s' has %d dims, indexed with %d", prm->name, prm->rank,
             op->index ? tir_index_rank(op->index, op->nindex) : 0);
        return false;
    }
    *out = tir_type_scalar(prm->dtype);
    int dim = 0;
    for (int i = 0; i < op->nindex; i++) {
        const TirIndex *ix = &op->index[i];
        if ((int)ix->mask < 0 || ix->mask > TIR_MASK_LOOP_CHECK) {
            fail(v, op, "index %d has a malformed mask", i);
            return false;
        }
        if ((ix->mask & TIR_MASK_CHECK) && ix->kind != TIR_IDX_VALUE) {
            fail(v, op, "index %d is not a value and cannot be checked", i);
            return false;
        }
        Axis axis = {AXIS_ONE, 0};
        bool adds_axis = false;
        switch (ix->kind) {
        case TIR_IDX_BLOCK:
            if (ix->loopvar < 0 || ix->loopvar >= k->nloopvars || !v->bound[ix->loopvar]) {
                fail(v, op, "index %d is not a loop variable bound here", i);
                return false;
            }
            if (!loopvar_is_scalar(k->loopvars[ix->loopvar])) {
                axis = (Axis){AXIS_BLOCK, ix->loopvar};
                adds_axis = true;
            }
            dim++;
            break;
        case TIR_IDX_FULL:
            if (prm->dims[dim].sym < 0 && prm->dims[dim].value != 1 && prm->dims[dim].value != 2) {
                fail(v, op, "index %d takes a literal-size dim of '%s' whole (only a dim of size 1 or 2 may be)",
                     i, prm->name);
                return false;
            }
            if (ix->mask & TIR_MASK_LOOP) {
                fail(v, op, "index %d is ':' and has no loop to mask by", i);
                return false;
            }
            axis = prm->dims[dim].sym >= 0 ? (Axis){AXIS_FULL, prm->dims[dim].sym}
                 : prm->dims[dim].value == 2 ? (Axis){AXIS_CONST, 2} : (Axis){AXIS_ONE, 0};
            adds_axis = true;
            dim++;
            break;
        case TIR_IDX_VALUE: {
            const TirValue *val = tir_index_value(op, i);
            if (!val) {
                fail(v, op, "index %d has no value", i);
                return false;
            }
            if (!dtype_is_int(val->type.dtype)) {
                fail(v, op, "index %d must be an integer scalar or tile", i);
                return false;
            }
            if ((ix->mask & TIR_MASK_LOOP) && val->type.rank == 0) {
                fail(v, op, "index %d is a scalar value and has no lanes to mask by", i);
                return false;
            }
            /* a gather: the index tile's axes are the access's */
            for (int a = 0; a < val->type.rank; a++) {
                if (out->rank >= MAX_RANK) {
                    fail(v, op, "too many axes");
                    return false;
                }
                out->axes[out->rank++] = val->type.axes[a];
            }
            dim++;
            break;
        }
        case TIR_IDX_NEWAXIS:
            if (ix->mask) {
                fail(v, op, "index %d is None and cannot be masked", i);
                return false;
            }
            adds_axis = true;
            break;
        default:
            fail(v, op, "index %d is malformed", i);
            return false;
        }
        if (adds_axis) {
            if (out->rank >= MAX_RANK) {
                fail(v, op, "too many axes");
                return false;
            }
            out->axes[out->rank++] = axis;
        }
    }
    return true;
}

static void verify_memory(Verifier *v, const TirOp *op)
{
    TirType t;
    if (!index_type(v, op, &t))
        return;
    const TirParam *prm = &v->k->params[op->param];
    int nvalue = 0;
    for (int i = 0; i < op->nindex; i++)
        if (op->index[i].kind == TIR_IDX_VALUE)
            nvalue++;
    int first = op->opcode == TIR_LOAD ? 0 : 1;
    if (op->noperands != first + nvalue + op->masked) {
        fail(v, op, "has %d operands, expected %d", op->noperands, first + nvalue + op->masked);
        return;
    }
    if (op->masked) {
        TirType want = t;
        want.dtype = DT_BOOL;
        expect_type(v, op, "the data mask", &tir_data_mask(op)->type, &want);
    }
    if (op->opcode == TIR_LOAD) {
        if (prm->reduce != REDUCE_NONE)
            fail(v, op, "'%s' is a reduction target: it is never read", prm->name);
        expect_type(v, op, "the result", &op->results[0]->type, &t);
        return;
    }
    if (op->opcode == TIR_STORE && prm->reduce != REDUCE_NONE)
        fail(v, op, "'%s' is a reduction target: write it with atomic %s", prm->name,
             prm->reduce == REDUCE_SUM ? "sum" : prm->reduce == REDUCE_MAX ? "max" : "min");
    if (op->opcode == TIR_ATOMIC) {
        int want = prm->reduce == REDUCE_SUM ? TIR_RED_SUM : prm->reduce == REDUCE_MAX ? TIR_RED_MAX
                 : prm->reduce == REDUCE_MIN ? TIR_RED_MIN : -1;
        if (want < 0)
            fail(v, op, "'%s' is not declared reduce(...)", prm->name);
        else if (op->sub != want)
            fail(v, op, "'%s' is declared reduce(%s), not %s", prm->name, tir_reduce_name(want),
                 tir_reduce_name(op->sub));
    }
    expect_type(v, op, "the stored value", &op->operands[0]->type, &t);
}

static bool is_elementwise(TirOpcode opc)
{
    return opc == TIR_UNARY || opc == TIR_BINARY || opc == TIR_CMP || opc == TIR_SELECT ||
           opc == TIR_CONVERT || opc == TIR_RAND || opc == TIR_FULL || opc == TIR_BROADCAST || opc == TIR_EXPAND_DIMS ||
           opc == TIR_YIELD;
}

static void verify_region_yield(Verifier *v, const TirOp *op, const TirBlock *b, const char *what,
                                const TirType *want)
{
    if (!b->last || b->last->opcode != TIR_YIELD || b->last->noperands != 1) {
        fail(v, op, "the %s must end with a yield of one value", what);
        return;
    }
    const TirValue *y = b->last->operands[0];
    if (value_ok(v, y) && want)
        expect_type(v, op, what, &y->type, want);
}

static void verify_dot(Verifier *v, const TirOp *op)
{
    TirType a = op->operands[0]->type, b = op->operands[1]->type;
    const TirType *acc = &op->operands[2]->type;
    static const char *const names[3] = {"prologue_a", "prologue_b", "epilogue"};
    for (int r = 0; r < 3; r++) {
        const TirBlock *reg = op->regions[r];
        if (!reg)
            continue;
        if (reg->nargs != 1) {
            fail(v, op, "the %s takes one argument", names[r]);
            continue;
        }
        const TirType *in = r == 0 ? &op->operands[0]->type : r == 1 ? &op->operands[1]->type : NULL;
        if (in)
            expect_type(v, op, names[r], &reg->args[0]->type, in);
        for (const TirOp *o = reg->first; o; o = o->next)
            if (!is_elementwise(o->opcode))
                fail(v, o, "only elementwise ops may be fused into a dot's %s", names[r]);
        if (reg->last && reg->last->opcode == TIR_YIELD && reg->last->noperands == 1 &&
            value_ok(v, reg->last->operands[0])) {
            if (r == 0)
                a = reg->last->operands[0]->type;
            else if (r == 1)
                b = reg->last->operands[0]->type;
        }
    }
    if (a.rank != 2 || b.rank != 2) {
        fail(v, op, "operands must be rank 2, found rank %d and %d", a.rank, b.rank);
        return;
    }
    if (!tir_axis_equal(a.axes[1], b.axes[0])) {
        char x[256], y[256];
        fail(v, op, "contraction axes differ: %s @ %s", tstr(v, &a, x, sizeof x), tstr(v, &b, y, sizeof y));
        return;
    }
    bool f32 = a.dtype == DT_F32 && b.dtype == DT_F32;
    bool ok = (a.dtype == DT_BF16 && b.dtype == DT_BF16) || (a.dtype == DT_F16 && b.dtype == DT_F16) ||
              f32 || (dtype_is_fp8(a.dtype) && dtype_is_fp8(b.dtype)) ||
              (a.dtype == DT_I8 && b.dtype == DT_I8);
    if (!ok)
        fail(v, op, "operands are %s and %s: a dot takes f32, bf16, f16, fp8 or i8 pairs",
             dtype_name(a.dtype), dtype_name(b.dtype));
    if (op->sub != TIR_DOT_EXACT && (op->sub != TIR_DOT_TF32 || !f32))
        fail(v, op, "tf32 applies to f32 operands only");
    TirType out = tir_type_scalar(a.dtype == DT_I8 ? DT_I32 : DT_F32);
    out.rank = 2;
    out.axes[0] = a.axes[0];
    out.axes[1] = b.axes[1];
    expect_type(v, op, "the accumulator", acc, &out);
    if (op->regions[TIR_REGION_EPILOGUE]) {
        const TirBlock *e = op->regions[TIR_REGION_EPILOGUE];
        if (e->nargs == 1)
            expect_type(v, op, "the epilogue's argument", &e->args[0]->type, &out);
        verify_region_yield(v, op, e, "epilogue", &op->results[0]->type);
    } else {
        expect_type(v, op, "the result", &op->results[0]->type, &out);
    }
    for (int r = 0; r < 2; r++)
        if (op->regions[r])
            verify_region_yield(v, op, op->regions[r], names[r], NULL);
}

static void verify_loop(Verifier *v, const TirOp *op, const TirOp *parent)
{
    const TirKernel *k = v->k;
    bool grid = op->opcode == TIR_GRID;
    if (op->nvars < 1 || op->nvars > MAX_LOOP_VARS || !op->loopvars || op->noperands < op->nvars) {
        fail(v, op, "a loop binds 1 to %d variables, each with an extent", MAX_LOOP_VARS);
        return;
    }
    if (grid && parent) {
        fail(v, op, "the grid loop must be at the kernel's top level");
    }
    if (!grid && !parent) {
        fail(v, op, "a sequential loop must be inside the grid loop");
    }
    for (int i = 0; i < op->nvars; i++) {
        int id = op->loopvars[i];
        if (id < 0 || id >= k->nloopvars) {
            fail(v, op, "unknown loop variable");
            return;
        }
        const TirLoopVar *lv = k->loopvars[id];
        if (lv->loop != op || v->bound[id])
            fail(v, op, "loop variable '%s' is bound by more than one loop", lv->name);
        if (lv->is_grid != grid)
            fail(v, op, "loop variable '%s' is %s but its loop is %s", lv->name, lv->is_grid ? "grid" : "seq",
                 grid ? "the grid" : "sequential");
        if (lv->tunable >= k->ntunables || (lv->tunable < 0 && lv->block < 1))
            fail(v, op, "loop variable '%s' has no valid block size", lv->name);
        const TirType *e = &op->operands[i]->type;
        if (e->rank != 0 || !dtype_is_int(e->dtype))
            fail(v, op, "the extent of '%s' must be an integer scalar", lv->name);
    }
    const TirBlock *body = op->regions[0];
    int ncarried = op->noperands - op->nvars - op->ranged;
    if (op->ranged && (grid || op->nvars != 1 || ncarried < 0))
        fail(v, op, "only a sequential loop of one variable has a start");
    else if (op->ranged) {
        const TirType *s = &tir_loop_start(op)->type;
        if (s->rank != 0 || !dtype_is_int(s->dtype))
            fail(v, op, "the start of '%s' must be an integer scalar", k->loopvars[op->loopvars[0]]->name);
    }
    if (!body) {
        fail(v, op, "a loop needs a body");
        return;
    }
    if (grid && (ncarried || op->nresults)) {
        fail(v, op, "the grid loop carries no values");
        return;
    }
    if (body->nargs != ncarried || op->nresults != ncarried) {
        fail(v, op, "%d initial values, %d carried, %d results: they must match", ncarried, body->nargs,
             op->nresults);
        return;
    }
    for (int i = 0; i < ncarried; i++) {
        expect_type(v, op, "an initial value", &op->operands[op->nvars + i]->type, &body->args[i]->type);
        expect_type(v, op, "a result", &op->results[i]->type, &body->args[i]->type);
        axes_ok(v, op, &body->args[i]->type);
    }
    for (int i = 0; i < op->nvars; i++)
        v->bound[op->loopvars[i]] = true;
    verify_block(v, body, op);
    for (int i = 0; i < op->nvars; i++)
        v->bound[op->loopvars[i]] = false;
    if (grid)
        return;
    const TirOp *y = body->last;
    if (!y || y->opcode != TIR_YIELD) {
        fail(v, op, "a loop body must end with a yield");
        return;
    }
    if (y->noperands != ncarried) {
        fail(v, y, "yields %d values, the loop carries %d", y->noperands, ncarried);
        return;
    }
    for (int i = 0; i < ncarried; i++)
        if (value_ok(v, y->operands[i]))
            expect_type(v, y, "a yielded value", &y->operands[i]->type, &body->args[i]->type);
}

static void verify_op(Verifier *v, const TirOp *op, const TirOp *parent)
{
    const TirKernel *k = v->k;
    const TirOpInfo *info = tir_op_info(op->opcode);
    if (!info) {
        fail(v, op, "unknown opcode");
        return;
    }
    if ((info->noperands >= 0 && op->noperands != info->noperands) ||
        (info->nresults >= 0 && op->nresults != info->nresults)) {
        fail(v, op, "has %d operands and %d results, expected %d and %d", op->noperands, op->nresults,
             info->noperands, info->nresults);
        return;
    }
    for (int i = 0; i < op->noperands; i++) {
        const TirValue *val = op->operands[i];
        if (!value_ok(v, val)) {
            fail(v, op, "operand %d is missing", i);
            return;
        }
        if (v->visible[val->id] != val) {
            fail(v, op, "operand %d is used before its definition or outside its scope", i);
            return;
        }
    }
    for (int i = 0; i < op->nresults; i++)
        if (!value_ok(v, op->results[i]) || !axes_ok(v, op, &op->results[i]->type))
            return;
    const TirType *r = op->nresults == 1 ? &op->results[0]->type : NULL;
    TirValue *const *x = op->operands;
    char b1[256], b2[256];
    switch (op->opcode) {
    case TIR_FULL:
        if (r->dtype == DT_BOOL && op->ivalue != 0 && op->ivalue != 1)
            fail(v, op, "a bool constant is 0 or 1");
        break;
    case TIR_PARAM:
        if (op->param < 0 || op->param >= k->nparams || k->params[op->param].kind == PARAM_TENSOR) {
            fail(v, op, "names no scalar parameter");
            break;
        }
        if (r->rank != 0 || r->dtype != k->params[op->param].dtype)
            fail(v, op, "the result must be %s", dtype_name(k->params[op->param].dtype));
        break;
    case TIR_DIM:
        if (op->sym < 0 || op->sym >= k->nsyms)
            fail(v, op, "names no shape symbol");
        else if (r->rank != 0 || r->dtype != DT_I64)
            fail(v, op, "the result must be i64");
        break;
    case TIR_BEGIN:
    case TIR_END:
    case TIR_BLOCK_ID:
    case TIR_IOTA: {
        if (op->loopvar < 0 || op->loopvar >= k->nloopvars || !v->bound[op->loopvar]) {
            fail(v, op, "names no loop variable bound here");
            break;
        }
        TirType want = tir_type_scalar(DT_I64);
        if (op->opcode == TIR_IOTA && !loopvar_is_scalar(k->loopvars[op->loopvar])) {
            want.rank = 1;
            want.axes[0] = (Axis){AXIS_BLOCK, op->loopvar};
        }
        expect_type(v, op, "the result", r, &want);
        break;
    }
    case TIR_UNARY: {
        if ((int)op->sub < 0 || op->sub >= TIR_UN_COUNT) {
            fail(v, op, "unknown unary op");
            break;
        }
        expect_type(v, op, "the operand", &x[0]->type, r);
        DType t = r->dtype;
        bool ok = op->sub == TIR_UN_NOT ? t == DT_BOOL
                : op->sub == TIR_UN_BITNOT ? dtype_is_int(t)
                : op->sub == TIR_UN_NEG || op->sub == TIR_UN_ABS ? is_arith(t)
                : is_arith(t) && dtype_is_float(t);
        if (!ok)
            fail(v, op, "does not apply to %s", dtype_name(t));
        break;
    }
    case TIR_BINARY: {
        if ((int)op->sub < 0 || op->sub >= TIR_BIN_COUNT) {
            fail(v, op, "unknown binary op");
            break;
        }
        expect_type(v, op, "the first operand", &x[0]->type, r);
        expect_type(v, op, "the second operand", &x[1]->type, r);
        DType t = r->dtype;
        bool ok = op->sub == TIR_BIN_AND || op->sub == TIR_BIN_OR ? t == DT_BOOL
                : op->sub == TIR_BIN_MOD || op->sub == TIR_BIN_CDIV || op->sub >= TIR_BIN_BITAND
                ? dtype_is_int(t)
                : is_arith(t);
        if (!ok)
            fail(v, op, "does not apply to %s", dtype_name(t));
        break;
    }
    case TIR_CMP: {
        if ((int)op->sub < 0 || op->sub >= TIR_CMP_COUNT) {
            fail(v, op, "unknown comparison");
            break;
        }
        expect_type(v, op, "the second operand", &x[1]->type, &x[0]->type);
        if (r->dtype != DT_BOOL || !same_axes(r, &x[0]->type))
            fail(v, op, "the result must be bool with the operands' axes");
        DType t = x[0]->type.dtype;
        if (dtype_is_fp8(t) || (t == DT_BOOL && op->sub != TIR_CMP_EQ && op->sub != TIR_CMP_NE))
            fail(v, op, "does not apply to %s", dtype_name(t));
        break;
    }
    case TIR_SELECT:
        if (x[0]->type.dtype != DT_BOOL || !same_axes(&x[0]->type, r))
            fail(v, op, "the condition is %s, expected bool with the result's axes", tstr(v, &x[0]->type, b1, sizeof b1));
        expect_type(v, op, "the second operand", &x[1]->type, r);
        expect_type(v, op, "the third operand", &x[2]->type, r);
        break;
    case TIR_RAND: {
        TirType want = *r;
        want.dtype = DT_I64;
        expect_type(v, op, "the seed", &x[0]->type, &want);
        expect_type(v, op, "the offset", &x[1]->type, &want);
        if (r->dtype != DT_F32 && r->dtype != DT_I32)
            fail(v, op, "gives f32 or i32, not %s", dtype_name(r->dtype));
        break;
    }
    case TIR_CONVERT:
        if (!same_axes(&x[0]->type, r))
            fail(v, op, "changes axes: %s to %s", tstr(v, &x[0]->type, b1, sizeof b1), tstr(v, r, b2, sizeof b2));
        break;
    case TIR_BROADCAST: {
        const TirType *in = &x[0]->type;
        bool ok = in->dtype == r->dtype && in->rank <= r->rank;
        for (int i = 1; ok && i <= in->rank; i++) {
            Axis ia = in->axes[in->rank - i], oa = r->axes[r->rank - i];
            ok = tir_axis_equal(ia, oa) || ia.kind == AXIS_ONE;
        }
        if (!ok)
            fail(v, op, "cannot broadcast %s to %s", tstr(v, in, b1, sizeof b1), tstr(v, r, b2, sizeof b2));
        break;
    }
    case TIR_EXPAND_DIMS: {
        const TirType *in = &x[0]->type;
        TirType want = *in;
        if (op->axis < 0 || op->axis > in->rank || in->rank >= MAX_RANK) {
            fail(v, op, "axis %d is out of range for rank %d", op->axis, in->rank);
            break;
        }
        for (int i = in->rank; i > op->axis; i--)
            want.axes[i] = want.axes[i - 1];
        want.axes[op->axis] = (Axis){AXIS_ONE, 0};
        want.rank++;
        expect_type(v, op, "the result", r, &want);
        break;
    }
    case TIR_CUMSUM: {
        const TirType *in = &x[0]->type;
        if (op->axis < 0 || op->axis >= in->rank)
            fail(v, op, "axis %d is out of range for rank %d", op->axis, in->rank);
        if (op->sub != 0 && op->sub != 1)
            fail(v, op, "is inclusive or exclusive");
        if (in->dtype != DT_F32 && in->dtype != DT_I32 && in->dtype != DT_I64)
            fail(v, op, "sums f32, i32 or i64, not %s", dtype_name(in->dtype));
        expect_type(v, op, "the result", r, in);
        break;
    }
    case TIR_SPLIT: {
        const TirType *in = &x[0]->type;
        if (in->rank < 2 || in->axes[in->rank - 1].kind != AXIS_CONST) {
            fail(v, op, "splits a tile whose last axis is a pair (2), found %s", tstr(v, in, b1, sizeof b1));
            break;
        }
        if (op->axis != 0 && op->axis != 1)
            fail(v, op, "takes lane 0 or 1, not %d", op->axis);
        TirType want = *in;
        want.rank--;
        expect_type(v, op, "the result", r, &want);
        break;
    }
    case TIR_JOIN: {
        const TirType *in = &x[0]->type;
        expect_type(v, op, "the second operand", &x[1]->type, in);
        if (in->rank < 1 || in->rank >= MAX_RANK) {
            fail(v, op, "joins tiles of rank 1 to %d, found rank %d", MAX_RANK - 1, in->rank);
            break;
        }
        TirType want = *in;
        want.axes[want.rank++] = (Axis){AXIS_CONST, 2};
        expect_type(v, op, "the result", r, &want);
        break;
    }
    case TIR_TRANSPOSE: {
        const TirType *in = &x[0]->type;
        if (in->rank != 2) {
            fail(v, op, "transposes rank-2 tiles, found rank %d", in->rank);
            break;
        }
        TirType want = *in;
        want.axes[0] = in->axes[1];
        want.axes[1] = in->axes[0];
        expect_type(v, op, "the result", r, &want);
        break;
    }
    case TIR_REDUCE: {
        const TirType *in = &x[0]->type;
        if ((int)op->sub < 0 || op->sub >= TIR_RED_COUNT) {
            fail(v, op, "unknown reduction");
            break;
        }
        if (op->axis < 0 || op->axis >= in->rank) {
            fail(v, op, "axis %d is out of range for rank %d", op->axis, in->rank);
            break;
        }
        TirType want = *in;
        for (int i = op->axis; i + 1 < in->rank; i++)
            want.axes[i] = in->axes[i + 1];
        want.rank--;
        expect_type(v, op, "the result", r, &want);
        if (!is_arith(in->dtype))
            fail(v, op, "does not apply to %s", dtype_name(in->dtype));
        break;
    }
    case TIR_DOT:
        verify_dot(v, op);
        break;
    case TIR_LOAD:
    case TIR_STORE:
    case TIR_ATOMIC:
        if (op->opcode == TIR_ATOMIC && (op->sub < 0 || op->sub == TIR_RED_AMAX || op->sub >= TIR_RED_COUNT)) {
            fail(v, op, "an atomic is sum, max or min");
            break;
        }
        verify_memory(v, op);
        if (op->opcode != TIR_LOAD && !parent)
            fail(v, op, "stores belong inside the grid loop");
        break;
    case TIR_FOR:
    case TIR_GRID:
        verify_loop(v, op, parent);
        break;
    case TIR_YIELD:
        if (!parent || (parent->opcode != TIR_FOR && parent->opcode != TIR_DOT) || op->next)
            fail(v, op, "a yield ends a for body or a dot region");
        break;
    case TIR_OPCODE_COUNT:
        break;
    }
}

static void verify_block(Verifier *v, const TirBlock *b, const TirOp *parent)
{
    if (++v->depth > 256) {
        fail(v, parent, "regions nest too deeply");
        v->depth--;
        return;
    }
    for (int i = 0; i < b->nargs; i++)
        if (value_ok(v, b->args[i]))
            v->visible[b->args[i]->id] = b->args[i];
    for (const TirOp *op = b->first; op; op = op->next) {
        if (op->block != b)
            fail(v, op, "is linked into the wrong block");
        if (op->opcode != TIR_FOR && op->opcode != TIR_GRID)
            for (int r = 0; r < 3; r++)
                if (op->regions[r] && op->opcode != TIR_DOT)
                    fail(v, op, "has a region it cannot hold");
        int before = v->errors;
        verify_op(v, op, parent);
        if (op->opcode == TIR_DOT && v->errors == before)
            for (int r = 0; r < 3; r++)
                if (op->regions[r])
                    verify_block(v, op->regions[r], op);
        for (int i = 0; i < op->nresults; i++)
            if (value_ok(v, op->results[i]))
                v->visible[op->results[i]->id] = op->results[i];
    }
    /* values of this block go out of scope with it */
    for (int i = 0; i < b->nargs; i++)
        if (value_ok(v, b->args[i]))
            v->visible[b->args[i]->id] = NULL;
    for (const TirOp *op = b->first; op; op = op->next)
        for (int i = 0; i < op->nresults; i++)
            if (value_ok(v, op->results[i]))
                v->visible[op->results[i]->id] = NULL;
    v->depth--;
}

int tir_verify(const TirKernel *k, Diag *d)
{
    Verifier v = {k, d, 0, NULL, NULL, 0};
    v.visible = calloc((size_t)(k->nvalues > 0 ? k->nvalues : 1), sizeof *v.visible);
    v.bound = calloc((size_t)(k->nloopvars > 0 ? k->nloopvars : 1), sizeof *v.bound);
    if (!v.visible || !v.bound) {
        fputs("tilec: out of memory\n", stderr);
        abort();
    }
    for (int i = 0; i < k->nparams; i++)
        for (int j = 0; j < k->params[i].rank; j++)
            if (k->params[i].dims[j].sym >= k->nsyms)
                fail(&v, NULL, "parameter '%s' names an unknown shape symbol", k->params[i].name);
    int grids = 0;
    for (const TirOp *op = k->body->first; op; op = op->next) {
        if (op->opcode == TIR_GRID) {
            grids++;
            if (op->next)
                fail(&v, op, "the grid loop must be the kernel's last op");
        }
        if (op->opcode == TIR_YIELD)
            fail(&v, op, "the kernel body has nothing to yield to");
    }
    if (grids != 1)
        fail(&v, NULL, "kernel '%s' has %d grid loops, expected exactly one", k->name, grids);
    verify_block(&v, k->body, NULL);
    free(v.visible);
    free(v.bound);
    return v.errors;
}
