/* eval.c — TIR's scalar arithmetic, defined once (docs/ir.md): integer ops that wrap in
   their dtype (INT64_MIN / -1 too) with x / 0 = x % 0 = cdiv(x, 0) = 0, and the evaluator
   of scalar values over them with which the folder, the interpreter's loop extents, the
   GPU runner's grid check and work count and the tuner's estimates all compute.
   libtile keeps its own copy of the integer ops for a bundle's grid program
   (runtime/bundle_format.c): the runtime links nothing of the compiler. */
#include <math.h>
#include <string.h>

#include "tir.h"

enum { MAX_EVAL_DEPTH = 64 };

/* ---- integer ops */

int64_t tir_int_wrap(DType t, uint64_t v)
{
    if (t == DT_BOOL)
        return v != 0;
    int bits = dtype_int_bits(t);
    if (bits >= 64 || !dtype_is_int(t))
        return (int64_t)v;
    uint64_t low = v & ((UINT64_C(1) << bits) - 1);
    if (dtype_is_unsigned(t))
        return (int64_t)low;
    uint64_t sign = UINT64_C(1) << (bits - 1);
    return (int64_t)(low ^ sign) - (int64_t)sign;
}

bool tir_int_binary(int sub, DType t, int64_t a, int64_t b, int64_t *out)
{
    a = tir_int_wrap(t, (uint64_t)a);
    b = tir_int_wrap(t, (uint64_t)b);
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (sub) {
    case TIR_BIN_ADD: *out = tir_int_wrap(t, ua + ub); return true;
    case TIR_BIN_SUB: *out = tir_int_wrap(t, ua - ub); return true;
    case TIR_BIN_MUL: *out = tir_int_wrap(t, ua * ub); return true;
    case TIR_BIN_DIV:   /* by -1 is a negation: C's INT64_MIN / -1 would trap */
        *out = b == 0 ? 0 : b == -1 ? tir_int_wrap(t, 0 - ua) : tir_int_wrap(t, (uint64_t)(a / b));
        return true;
    case TIR_BIN_MOD:
        *out = b == 0 || b == -1 ? 0 : tir_int_wrap(t, (uint64_t)(a % b));
        return true;
    case TIR_BIN_CDIV:   /* (a + b - 1) / b, the sum wrapping in t like add */
        if (b == 0) {
            *out = 0;
            return true;
        }
        return tir_int_binary(TIR_BIN_DIV, t, tir_int_wrap(t, ua + ub - 1), b, out);
    case TIR_BIN_MAX: *out = a > b ? a : b; return true;
    case TIR_BIN_MIN: *out = a < b ? a : b; return true;
    case TIR_BIN_AND: *out = (a != 0) & (b != 0); return true;
    case TIR_BIN_OR: *out = (a != 0) | (b != 0); return true;
    case TIR_BIN_BITAND: *out = a & b; return true;
    case TIR_BIN_BITOR: *out = a | b; return true;
    case TIR_BIN_BITXOR: *out = a ^ b; return true;
    case TIR_BIN_SHL:
    case TIR_BIN_SHR: {
        /* the count as an unsigned number of t's width: a negative one is huge */
        int width = dtype_int_bits(t);
        uint64_t count = width >= 64 ? ub : ub & ((UINT64_C(1) << width) - 1);
        if (sub == TIR_BIN_SHL) {
            *out = count >= (uint64_t)width ? 0 : tir_int_wrap(t, ua << count);
            return true;
        }
        if (count >= (uint64_t)width)   /* a is wrapped: its sign is t's */
            *out = a < 0 ? -1 : 0;
        else   /* a wrapped unsigned value is non-negative: >> is logical on it */
            *out = a < 0 ? ~(~a >> count) : a >> count;
        return true;
    }
    }
    return false;
}

bool tir_int_divides_by_zero(int sub, int64_t b)
{
    return b == 0 && (sub == TIR_BIN_DIV || sub == TIR_BIN_MOD || sub == TIR_BIN_CDIV);
}

bool tir_int_unary(int sub, DType t, int64_t x, int64_t *out)
{
    x = tir_int_wrap(t, (uint64_t)x);
    switch (sub) {
    case TIR_UN_NEG: *out = tir_int_wrap(t, 0 - (uint64_t)x); return true;
    case TIR_UN_ABS: *out = x < 0 ? tir_int_wrap(t, 0 - (uint64_t)x) : x; return true;
    case TIR_UN_NOT: *out = x == 0; return true;
    case TIR_UN_BITNOT: *out = tir_int_wrap(t, ~(uint64_t)x); return true;
    }
    return false;
}

bool tir_int_compare(int sub, int64_t a, int64_t b)
{
    switch (sub) {
    case TIR_CMP_LT: return a < b;
    case TIR_CMP_LE: return a <= b;
    case TIR_CMP_GT: return a > b;
    case TIR_CMP_GE: return a >= b;
    case TIR_CMP_EQ: return a == b;
    case TIR_CMP_NE: return a != b;
    }
    return false;
}

/* ---- float ops, as far as the host folds them exactly */

static double round_to(DType t, double x)
{
    return dtype_decode(t, dtype_encode_f64(t, x));
}

static bool float_binary(int sub, DType t, double a, double b, double *out)
{
    switch (sub) {
    case TIR_BIN_MAX:
    case TIR_BIN_MIN:
        if (isnan(a) || isnan(b))
            *out = NAN;
        else if (a == b)   /* max(-0, +0) = +0, min = -0 */
            *out = sub == TIR_BIN_MAX ? (signbit(a) ? b : a) : (signbit(a) ? a : b);
        else
            *out = (sub == TIR_BIN_MAX) == (a > b) ? a : b;
        return true;
    case TIR_BIN_ADD: case TIR_BIN_SUB: case TIR_BIN_MUL: case TIR_BIN_DIV:
        if (t != DT_F32)
            return false;   /* 16-bit arithmetic rounds through f32: not folded */
        *out = sub == TIR_BIN_ADD ? a + b : sub == TIR_BIN_SUB ? a - b : sub == TIR_BIN_MUL ? a * b : a / b;
        *out = round_to(t, *out);   /* one rounding from the exact double result */
        return true;
    }
    return false;
}

bool tir_float_compare(int sub, double a, double b)
{
    if (isnan(a) || isnan(b))   /* unordered: only ne holds */
        return sub == TIR_CMP_NE;
    int order = a < b ? -1 : a > b;
    return tir_int_compare(sub, order, 0);
}

/* One Philox 4x32 round: two 32x32->64 products, their halves xored with the other words
   and the key. */
static void philox_round(uint32_t c[4], const uint32_t k[2])
{
    uint64_t p0 = (uint64_t)TIR_PHILOX_M0 * c[0], p1 = (uint64_t)TIR_PHILOX_M1 * c[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t next[4] = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    memcpy(c, next, sizeof next);
}

/* One Philox call gives four words: offsets 4q..4q+3 (as unsigned 64-bit) take words 0..3
   of counter block q, so a GPU thread holding four adjacent offsets computes one call. */
uint32_t tir_philox(int64_t seed, int64_t offset)
{
    uint64_t s = (uint64_t)seed, q = (uint64_t)offset >> 2;
    uint32_t k[2] = {(uint32_t)s, (uint32_t)(s >> 32)};
    uint32_t c[4] = {(uint32_t)q, (uint32_t)(q >> 32), 0, 0};
    for (int r = 0; r < TIR_PHILOX_ROUNDS; r++) {
        if (r > 0) {
            k[0] += TIR_PHILOX_W0;
            k[1] += TIR_PHILOX_W1;
        }
        philox_round(c, k);
    }
    return c[(uint64_t)offset & 3];
}

float tir_rand_uniform(uint32_t r0)
{
    return (float)(r0 >> 8) * 0x1p-24f;
}

static bool convert(DType from, DType to, int64_t iv, double fv, int64_t *oi, double *of)
{
    bool from_float = dtype_is_float(from);
    if (dtype_is_float(to)) {
        if (!from_float && (iv > (1LL << 53) || iv < -(1LL << 53)))
            return false;
        *of = round_to(to, from_float ? fv : (double)iv);
        return true;
    }
    if (to == DT_BOOL)
        *oi = from_float ? convert_f64_to_bool(fv) : iv != 0;
    else if (from_float)
        *oi = convert_f64_to_int(to, fv);
    else
        *oi = tir_int_wrap(to, (uint64_t)iv);
    return true;
}

/* ---- the scalar evaluator */

typedef struct Eval {
    TirLeafFn leaf;
    void *ctx;
    TirScalar *out;   /* collects div_by_zero and unknown */
} Eval;

static bool eval_rec(Eval *e, const TirValue *v, int64_t *iv, double *fv, int depth);

static bool eval_operand(Eval *e, const TirOp *op, int i, int64_t *iv, double *fv, int depth)
{
    if (i >= op->noperands || !op->operands[i]) {
        if (!e->out->unknown)
            e->out->unknown = op->results[0];
        return false;
    }
    return eval_rec(e, op->operands[i], iv, fv, depth + 1);
}

/* A `param`, `dim`, `begin` or `end` op: its value from the caller, in v's dtype. */
static bool eval_leaf(Eval *e, const TirValue *v, int64_t *iv, double *fv)
{
    int64_t i = 0;
    double f = 0;
    if (!e->leaf || !e->leaf(e->ctx, v->def, &i, &f))
        return false;
    if (dtype_is_float(v->type.dtype))
        *fv = round_to(v->type.dtype, f);
    else
        *iv = tir_int_wrap(v->type.dtype, (uint64_t)i);
    return true;
}

/* Stops at the first unknown operand, as the folder always has: looking on past it for a
   division by zero would walk a shared subexpression once per use. */
static bool eval_binary(Eval *e, const TirOp *op, DType t, int64_t *iv, double *fv, int depth)
{
    int64_t ai = 0, bi = 0;
    double af = 0, bf = 0;
    if (!eval_operand(e, op, 0, &ai, &af, depth) || !eval_operand(e, op, 1, &bi, &bf, depth))
        return false;
    if (dtype_is_float(t))
        return float_binary(op->sub, t, af, bf, fv);
    if (tir_int_divides_by_zero(op->sub, tir_int_wrap(t, (uint64_t)bi)) && !e->out->div_by_zero)
        e->out->div_by_zero = op;
    return tir_int_binary(op->sub, t, ai, bi, iv);
}

static bool eval_op(Eval *e, const TirValue *v, int64_t *iv, double *fv, int depth)
{
    const TirOp *op = v->def;
    DType t = v->type.dtype;
    bool isf = dtype_is_float(t);
    int64_t ai = 0, bi = 0;
    double af = 0, bf = 0;
    switch (op->opcode) {
    case TIR_FULL:
        *iv = tir_int_wrap(t, (uint64_t)op->ivalue);
        *fv = op->fvalue;
        return true;
    case TIR_PARAM:
    case TIR_DIM:
    case TIR_BEGIN:
    case TIR_END:
    case TIR_BLOCK_ID:
        return eval_leaf(e, v, iv, fv);
    case TIR_BROADCAST:
    case TIR_EXPAND_DIMS:
    case TIR_TRANSPOSE:   /* every lane holds the scalar */
    case TIR_SPLIT:
        return eval_operand(e, op, 0, iv, fv, depth);
    case TIR_CONVERT:
        return eval_operand(e, op, 0, &ai, &af, depth) &&
               convert(op->operands[0]->type.dtype, t, ai, af, iv, fv);
    case TIR_UNARY:
        if (!eval_operand(e, op, 0, &ai, &af, depth))
            return false;
        if (!isf)
            return tir_int_unary(op->sub, t, ai, iv);
        if (op->sub != TIR_UN_NEG && op->sub != TIR_UN_ABS)
            return false;   /* transcendental functions are left to the target */
        *fv = op->sub == TIR_UN_NEG ? -af : fabs(af);
        return true;
    case TIR_BINARY:
        return eval_binary(e, op, t, iv, fv, depth);
    case TIR_CMP:
        if (!eval_operand(e, op, 0, &ai, &af, depth) || !eval_operand(e, op, 1, &bi, &bf, depth))
            return false;
        *iv = dtype_is_float(op->operands[0]->type.dtype) ? tir_float_compare(op->sub, af, bf)
                                                          : tir_int_compare(op->sub, ai, bi);
        return true;
    case TIR_SELECT:   /* only the branch taken: a division by zero in the other is no fault */
        return eval_operand(e, op, 0, &ai, &af, depth) &&
               eval_operand(e, op, ai ? 1 : 2, iv, fv, depth);
    default:
        return false;
    }
}

static bool eval_rec(Eval *e, const TirValue *v, int64_t *iv, double *fv, int depth)
{
    if (!v->def || depth > MAX_EVAL_DEPTH || !eval_op(e, v, iv, fv, depth)) {
        if (!e->out->unknown)
            e->out->unknown = v;
        return false;
    }
    return true;
}

bool tir_eval_scalar(const TirValue *v, TirLeafFn leaf, void *ctx, TirScalar *out)
{
    *out = (TirScalar){0, 0, NULL, NULL};
    Eval e = {leaf, ctx, out};
    int64_t iv = 0;
    double fv = 0;
    if (!v || !eval_rec(&e, v, &iv, &fv, 0))
        return false;
    if (dtype_is_float(v->type.dtype))
        out->f = fv;
    else {
        out->i = iv;
        out->f = (double)iv;
    }
    return true;
}

bool tir_eval_const(const TirValue *v, int64_t *ivalue, double *fvalue)
{
    TirScalar s;
    if (!tir_eval_scalar(v, NULL, NULL, &s))
        return false;
    *ivalue = s.i;
    *fvalue = s.f;
    return true;
}

float tir_round_tf32(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) != 0x7f800000u)   /* finite: half an ulp of tf32 away from zero */
        u = (u + 0x1000u) & ~0x1fffu;
    memcpy(&x, &u, sizeof x);
    return x;
}
