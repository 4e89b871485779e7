/* interp.c — the CPU interpreter of TIR: runs a kernel under a Config exactly as the GPU
   decomposes it (a program per grid block, sequential blocks in `for` loops, the TIR's
   masks), in f32 with each op's result rounded to its dtype, and stops at the first
   memory access outside a tensor in a lane that no mask covered (the mask checker).
   With gpu_arith it follows the GPU's arithmetic (codegen's fmas and approximations), and
   it tracks which values the GPU computes in another order or approximately.
   Tiles are flat C-order buffers, one per SSA value, allocated once per run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"

/* A tile's data: float dtypes hold f32 values already rounded to the dtype; integer and
   bool dtypes hold int64 (i32 values kept wrapped to 32 bits, bool 0/1). */
typedef struct Tile {
    DType dtype;
    int rank;
    int64_t shape[MAX_RANK];
    int64_t count;
    int64_t cap;
    float *f;
    int64_t *i;
    bool overflowed;   /* a scalar computed with i64 arithmetic that overflowed, here or in
                          an operand: a loop extent or an index must not be one */
    bool inexact;     /* depends on a float sum, a dot, a float atomic_add or ex2/lg2/rsqrt */
} Tile;

typedef struct LoopState {
    int64_t block;    /* block size under the Config (1 for a scalar index) */
    int64_t begin;    /* first index of the current block */
    int64_t extent;   /* the loop's extent (its end), evaluated when the loop started */
    int64_t start;    /* its start: tile(lo, hi)'s lo, else 0 */
} LoopState;

typedef struct Interp {
    const TirKernel *k;
    const Config *config;
    LaunchArgs *args;
    InterpLimits limits;
    Diag *d;
    Tile *slots;             /* one per TirValue.id */
    LoopState *loops;        /* one per loop variable */
    int64_t *full_size;      /* per shape symbol: the padded size of its full axis */
    float fp8_lut[2][256];   /* decoded e4m3 / e5m2 patterns */
    int64_t *scratch;        /* index/offset arrays for memory ops */
    size_t scratch_cap;
    bool gpu_arith;
    bool *tensor_inexact;    /* per param: a store or atomic wrote an inexact value */
    bool failed;
} Interp;

static bool is_float(DType t) { return dtype_is_float(t); }

/* ---- errors */

static void fail(Interp *I, Loc loc, const char *msg)
{
    if (!I->failed)
        diag_error(I->d, loc, "%s", msg);
    I->failed = true;
}

/* ---- sizes */

static int64_t axis_size(const Interp *I, Axis a)
{
    switch (a.kind) {
    case AXIS_BLOCK: return I->loops[a.id].block;
    case AXIS_FULL: return I->full_size[a.id];
    case AXIS_CONST: return a.id;
    case AXIS_ONE: return 1;
    }
    return 1;
}

/* Whether lane `lane` of axis a is valid now: inside its loop's extent (a block axis)
   or below the symbol's value (a full axis padded to a power of two). */
static bool lane_valid(const Interp *I, Axis a, int64_t lane)
{
    switch (a.kind) {
    case AXIS_BLOCK: return I->loops[a.id].begin + lane < I->loops[a.id].extent;
    case AXIS_FULL: return lane < I->args->sym_values[a.id];
    case AXIS_CONST:
    case AXIS_ONE: return true;
    }
    return true;
}

/* ---- tiles */

static Tile *slot(Interp *I, const TirValue *v) { return &I->slots[v->id]; }

/* Shapes the slot of v for its type and makes room; the data is left as it was. */
static Tile *define(Interp *I, const TirValue *v)
{
    Tile *t = slot(I, v);
    t->inexact = false;
    t->dtype = v->type.dtype;
    t->rank = v->type.rank;
    t->overflowed = false;
    int64_t count = 1;
    for (int a = 0; a < t->rank; a++) {
        t->shape[a] = axis_size(I, v->type.axes[a]);
        count *= t->shape[a];
    }
    t->count = count;
    if (count > t->cap) {
        free(t->f);
        free(t->i);
        t->f = NULL;
        t->i = NULL;
        if (is_float(t->dtype))
            t->f = malloc((size_t)count * sizeof *t->f);
        else
            t->i = malloc((size_t)count * sizeof *t->i);
        if ((is_float(t->dtype) && !t->f) || (!is_float(t->dtype) && !t->i)) {
            fputs("tilec: error: out of memory in the interpreter\n", stderr);
            abort();
        }
        t->cap = count;
    }
    return t;
}

static void copy_tile(Tile *dst, const Tile *src)
{
    if (src->f)
        memcpy(dst->f, src->f, (size_t)src->count * sizeof *src->f);
    else
        memcpy(dst->i, src->i, (size_t)src->count * sizeof *src->i);
}

/* Assigns src's data to the slot of v (a block argument or a loop result). */
static void assign(Interp *I, const TirValue *v, const Tile *src)
{
    Tile *t = define(I, v);
    if (t->count != src->count || (t->f == NULL) != (src->f == NULL)) {
        fail(I, (Loc){0}, "internal error: a carried value changed its shape");
        return;
    }
    copy_tile(t, src);
    t->inexact = src->inexact;
}

static float round_to(DType t, float x)
{
    return t == DT_F32 ? x : round_f32_to(t, x);
}

/* A scalar tile's value as an integer (extents and index values). */
static int64_t tile_scalar_i(const Tile *t) { return t->i ? t->i[0] : (int64_t)t->f[0]; }

/* ---- tensor element access */

static float load_element(const Interp *I, const HostTensor *t, int64_t off)
{
    switch (t->dtype) {
    case DT_F32: return ((const float *)t->data)[off];
    case DT_BF16: {
        uint32_t b = (uint32_t)((const uint16_t *)t->data)[off] << 16;
        float f;
        memcpy(&f, &b, sizeof f);
        return f;
    }
    case DT_F16: return (float)dtype_decode(DT_F16, ((const uint16_t *)t->data)[off]);
    case DT_F8E4M3: return I->fp8_lut[0][((const uint8_t *)t->data)[off]];
    case DT_F8E5M2: return I->fp8_lut[1][((const uint8_t *)t->data)[off]];
    default: return (float)host_get_at(t, off);
    }
}

static int64_t load_int(const HostTensor *t, int64_t off)
{
    switch (t->dtype) {
    case DT_I8: return ((const int8_t *)t->data)[off];
    case DT_I16: return ((const int16_t *)t->data)[off];
    case DT_U8: return ((const uint8_t *)t->data)[off];
    case DT_U32: return ((const uint32_t *)t->data)[off];
    case DT_I32: return ((const int32_t *)t->data)[off];
    case DT_I64: return ((const int64_t *)t->data)[off];
    case DT_BOOL: return ((const uint8_t *)t->data)[off] != 0;
    default: return 0;
    }
}

/* Stores a value already rounded to the tensor's dtype (so the encoding is exact). */
static void store_element(HostTensor *t, int64_t off, float x)
{
    if (t->dtype == DT_F32)
        ((float *)t->data)[off] = x;
    else
        host_set_raw_at(t, off, dtype_encode_f64(t->dtype, x));
}

static void store_int(HostTensor *t, int64_t off, int64_t x)
{
    switch (t->dtype) {
    case DT_I8: ((int8_t *)t->data)[off] = (int8_t)x; break;
    case DT_I16: ((int16_t *)t->data)[off] = (int16_t)x; break;
    case DT_U8: ((uint8_t *)t->data)[off] = (uint8_t)x; break;
    case DT_U32: ((uint32_t *)t->data)[off] = (uint32_t)x; break;
    case DT_I32: ((int32_t *)t->data)[off] = (int32_t)x; break;
    case DT_I64: ((int64_t *)t->data)[off] = x; break;
    case DT_BOOL: ((uint8_t *)t->data)[off] = x != 0; break;
    default: break;
    }
}

/* ---- float semantics shared by elementwise ops, reductions and atomics */

/* max/min: NaN if either operand is NaN (ops.def; PTX max.NaN.f32). */
static float max_nan(float a, float b)
{
    if (isnan(a) || isnan(b))
        return NAN;
    return a > b ? a : (b > a ? b : (signbit(a) ? b : a));
}

static float min_nan(float a, float b)
{
    if (isnan(a) || isnan(b))
        return NAN;
    return a < b ? a : (b < a ? b : (signbit(a) ? a : b));
}

/* ---- ops */

static void exec_block(Interp *I, TirBlock *b, const TirOp **yield);

static void op_full(Interp *I, const TirOp *op)
{
    Tile *t = define(I, op->results[0]);
    if (t->f) {
        float v = round_to(t->dtype, (float)op->fvalue);
        if (!is_float(t->dtype))
            v = 0;
        for (int64_t e = 0; e < t->count; e++)
            t->f[e] = v;
    } else {
        int64_t v = tir_int_wrap(t->dtype, (uint64_t)op->ivalue);
        for (int64_t e = 0; e < t->count; e++)
            t->i[e] = v;
    }
}

static void op_param(Interp *I, const TirOp *op)
{
    Tile *t = define(I, op->results[0]);
    const TirParam *p = &I->k->params[op->param];
    const LaunchArg *a = &I->args->args[op->param];
    if (t->f)
        t->f[0] = round_to(t->dtype, p->kind == PARAM_CONST ? (float)p->const_value : (float)a->fvalue);
    else
        t->i[0] = tir_int_wrap(t->dtype,
                               (uint64_t)(p->kind == PARAM_CONST ? p->const_value : a->ivalue));
}

static void op_index_scalar(Interp *I, const TirOp *op, int64_t value)
{
    Tile *t = define(I, op->results[0]);
    if (t->f)
        t->f[0] = (float)value;
    else
        t->i[0] = value;
}

static void op_iota(Interp *I, const TirOp *op)
{
    Tile *t = define(I, op->results[0]);
    int64_t begin = I->loops[op->loopvar].begin;
    for (int64_t e = 0; e < t->count; e++) {
        if (t->f)
            t->f[e] = (float)(begin + e);
        else
            t->i[e] = begin + e;
    }
}

static float binary_f(int sub, float a, float b)
{
    switch (sub) {
    case TIR_BIN_ADD: return a + b;
    case TIR_BIN_SUB: return a - b;
    case TIR_BIN_MUL: return a * b;
    case TIR_BIN_DIV: return a / b;
    case TIR_BIN_MOD: return fmodf(a, b);
    case TIR_BIN_MAX: return max_nan(a, b);
    case TIR_BIN_MIN: return min_nan(a, b);
    default: return NAN;
    }
}

static float unary_f(int sub, float x)
{
    switch (sub) {
    case TIR_UN_NEG: return -x;
    case TIR_UN_EXP2: return exp2f(x);
    case TIR_UN_EXP: return expf(x);
    case TIR_UN_LOG: return logf(x);
    case TIR_UN_LOG2: return log2f(x);
    case TIR_UN_SQRT: return sqrtf(x);
    case TIR_UN_RSQRT: return (float)(1.0 / sqrt((double)x));
    case TIR_UN_ABS: return fabsf(x);
    default: return (float)tir_math_reference(sub, (double)x);
    }
}

/* Subnormals flush to sign-preserving zero, as the .ftz approximations do. */
static float flush_subnormal(float x)
{
    return fpclassify(x) == FP_SUBNORMAL ? copysignf(0.0f, x) : x;
}

static float unary_gpu(int sub, float x);

/* mathfn.c's recipes on floats: its operations as the GPU does them. */
static TirMathValue gpu_constant(const TirMathOps *m, float c)
{
    (void)m;
    return (TirMathValue){.f = c};
}

static TirMathValue gpu_unary(const TirMathOps *m, int sub, TirMathValue x)
{
    (void)m;
    return (TirMathValue){.f = unary_gpu(sub, x.f)};
}

static TirMathValue gpu_binary(const TirMathOps *m, int sub, TirMathValue x, TirMathValue y)
{
    (void)m;
    return (TirMathValue){.f = binary_f(sub, x.f, y.f)};
}

static TirMathValue gpu_fma(const TirMathOps *m, TirMathValue x, TirMathValue y, TirMathValue z)
{
    (void)m;
    return (TirMathValue){.f = fmaf(x.f, y.f, z.f)};
}

static TirMathValue gpu_select_less(const TirMathOps *m, TirMathValue a, TirMathValue b,
                                    TirMathValue if_less, TirMathValue otherwise)
{
    (void)m;
    return a.f < b.f ? if_less : otherwise;
}

static const TirMathOps gpu_math_ops = {NULL, gpu_constant, gpu_unary, gpu_binary, gpu_fma,
                                        gpu_select_less};

/* The GPU's unary math as codegen emits it (codegen.md, Math): ex2.approx.ftz (flushing
   subnormal inputs and results), lg2/rsqrt.approx (keeping subnormal inputs), exp
   as ex2(x * log2(e)) and log as lg2(x) * ln(2) in f32, tanh .. cos by mathfn.c's recipes.
   The approximations are taken as correctly rounded: their PTX ISA error bounds are what
   --check tolerates (docs/run.md). */
static float unary_gpu(int sub, float x)
{
    if (tir_math_is_recipe(sub))
        return tir_math_recipe(&gpu_math_ops, sub, (TirMathValue){.f = x}).f;
    switch (sub) {
    case TIR_UN_EXP2: return flush_subnormal(exp2f(flush_subnormal(x)));
    case TIR_UN_EXP: return flush_subnormal(exp2f(flush_subnormal(x * 1.4426950408889634f)));
    case TIR_UN_LOG2: return log2f(x);
    case TIR_UN_LOG: return log2f(x) * 0.6931471805599453f;
    case TIR_UN_RSQRT: return (float)(1.0 / sqrt((double)x));
    default: return unary_f(sub, x);
    }
}

/* Whether the GPU computes this unary op approximately (not bit-exact with the interpreter). */
static bool unary_is_approximate(int sub)
{
    return sub == TIR_UN_EXP2 || sub == TIR_UN_EXP || sub == TIR_UN_LOG || sub == TIR_UN_LOG2 ||
           sub == TIR_UN_RSQRT || tir_math_is_approximate(sub);
}

/* Integer ops are eval.c's, in the result's dtype: the folder and the host compute alike. */
static int64_t unary_i(int sub, DType t, int64_t x)
{
    int64_t r = 0;
    tir_int_unary(sub, t, x, &r);
    return r;
}

static void op_unary(Interp *I, const TirOp *op)
{
    const Tile *x = slot(I, op->operands[0]);
    Tile *r = define(I, op->results[0]);
    if (x->count != r->count && x->count != 1) {
        fail(I, op->loc, "internal error: unary operand and result differ in shape");
        return;
    }
    int64_t step = x->count == 1 ? 0 : 1;
    if (r->f && x->f) {
        int sub = op->sub;
        if (I->gpu_arith) {
            for (int64_t e = 0; e < r->count; e++)
                r->f[e] = round_to(r->dtype, unary_gpu(sub, x->f[e * step]));
            return;
        }
        if (r->dtype == DT_F32 && sub == TIR_UN_EXP2) {
            for (int64_t e = 0; e < r->count; e++)
                r->f[e] = exp2f(x->f[e * step]);
            return;
        }
        for (int64_t e = 0; e < r->count; e++)
            r->f[e] = round_to(r->dtype, unary_f(sub, x->f[e * step]));
    } else if (r->i && x->i) {
        for (int64_t e = 0; e < r->count; e++)
            r->i[e] = unary_i(op->sub, r->dtype, x->i[e * step]);
        if (r->count == 1)
            r->overflowed = x->overflowed || (r->dtype == DT_I64 && x->i[0] == INT64_MIN &&
                                               (op->sub == TIR_UN_NEG || op->sub == TIR_UN_ABS));
    } else {
        fail(I, op->loc, "internal error: unary operand and result differ in kind");
    }
}


static int64_t binary_i(int sub, DType t, int64_t a, int64_t b)
{
    int64_t r = 0;
    tir_int_binary(sub, t, a, b, &r);
    return r;
}

/* Whether i64 op `sub` on a and b wraps (the interpreter's result is then not the exact
   one): for the extents and indices that must not. */
static bool i64_wraps(int sub, int64_t a, int64_t b)
{
    int64_t r;
    switch (sub) {
    case TIR_BIN_ADD: return __builtin_add_overflow(a, b, &r);
    case TIR_BIN_SUB: return __builtin_sub_overflow(a, b, &r);
    case TIR_BIN_MUL: return __builtin_mul_overflow(a, b, &r);
    case TIR_BIN_DIV: return a == INT64_MIN && b == -1;
    case TIR_BIN_CDIV: return b != 0 && (__builtin_add_overflow(a, b, &r) ||
                                         __builtin_sub_overflow(r, 1, &r));
    default: return false;
    }
}

/* An add/sub the GPU computes as one fma (tir_fused_multiply): x*y + c rounded once, with
   the mul's operands x, y read from their own slots; through a where(), the fma where its
   condition picks the mul and the plain add/sub of the other branch elsewhere. */
static void op_fused_multiply(Interp *I, const TirOp *op, const TirFusedMultiply *f, Tile *r)
{
    const Tile *x = slot(I, f->mul->operands[0]), *y = slot(I, f->mul->operands[1]);
    const Tile *c = slot(I, op->operands[1 - f->operand]);
    const Tile *cond = f->select ? slot(I, f->select->operands[0]) : NULL;
    const Tile *other = f->select ? slot(I, f->select->operands[3 - f->mul_branch]) : NULL;
    int64_t n = r->count;
    bool fits = x->f && y->f && c->f && (x->count == n || x->count == 1) &&
                (y->count == n || y->count == 1) && (c->count == n || c->count == 1);
    if (f->select)
        fits = fits && cond->i && other->f && (cond->count == n || cond->count == 1) &&
               (other->count == n || other->count == 1);
    if (!fits) {
        fail(I, op->loc, "internal error: malformed fused multiply-add");
        return;
    }
    int64_t sx = x->count == 1 ? 0 : 1, sy = y->count == 1 ? 0 : 1, sc = c->count == 1 ? 0 : 1;
    for (int64_t e = 0; e < n; e++) {
        float xv = x->f[e * sx], yv = y->f[e * sy], cv = c->f[e * sc];
        if (f->select && (cond->i[cond->count == 1 ? 0 : e] != 0) != (f->mul_branch == 1)) {
            float ov = other->f[other->count == 1 ? 0 : e];
            r->f[e] = f->operand == 0 ? binary_f(op->sub, ov, cv) : binary_f(op->sub, cv, ov);
            continue;
        }
        if (op->sub == TIR_BIN_SUB && f->operand == 0)
            cv = -cv;
        else if (op->sub == TIR_BIN_SUB)
            xv = -xv;
        r->f[e] = fmaf(xv, yv, cv);
    }
}

static void op_binary(Interp *I, const TirOp *op)
{
    TirFusedMultiply fused;
    if (I->gpu_arith && tir_fused_multiply(op, &fused)) {
        op_fused_multiply(I, op, &fused, define(I, op->results[0]));
        return;
    }
    const Tile *a = slot(I, op->operands[0]);
    const Tile *b = slot(I, op->operands[1]);
    Tile *r = define(I, op->results[0]);
    if ((a->count != r->count && a->count != 1) || (b->count != r->count && b->count != 1)) {
        fail(I, op->loc, "internal error: binary operands and result differ in shape");
        return;
    }
    int64_t sa = a->count == 1 ? 0 : 1, sb = b->count == 1 ? 0 : 1;
    int64_t n = r->count;
    if (r->f && a->f && b->f) {
        float *rf = r->f;
        const float *af = a->f, *bf = b->f;
        if (r->dtype == DT_F32) {
            switch (op->sub) {
            case TIR_BIN_ADD: for (int64_t e = 0; e < n; e++) rf[e] = af[e * sa] + bf[e * sb]; return;
            case TIR_BIN_SUB: for (int64_t e = 0; e < n; e++) rf[e] = af[e * sa] - bf[e * sb]; return;
            case TIR_BIN_MUL: for (int64_t e = 0; e < n; e++) rf[e] = af[e * sa] * bf[e * sb]; return;
            case TIR_BIN_DIV: for (int64_t e = 0; e < n; e++) rf[e] = af[e * sa] / bf[e * sb]; return;
            default: break;
            }
        }
        for (int64_t e = 0; e < n; e++)
            rf[e] = round_to(r->dtype, binary_f(op->sub, af[e * sa], bf[e * sb]));
    } else if (r->i && a->i && b->i) {
        for (int64_t e = 0; e < n; e++)
            r->i[e] = binary_i(op->sub, r->dtype, a->i[e * sa], b->i[e * sb]);
        if (n == 1)
            r->overflowed = a->overflowed || b->overflowed ||
                            (r->dtype == DT_I64 && i64_wraps(op->sub, a->i[0], b->i[0]));
    } else {
        fail(I, op->loc, "internal error: binary operands and result differ in kind");
    }
}

static void op_cmp(Interp *I, const TirOp *op)
{
    const Tile *a = slot(I, op->operands[0]);
    const Tile *b = slot(I, op->operands[1]);
    Tile *r = define(I, op->results[0]);
    if (!r->i || (a->count != r->count && a->count != 1) || (b->count != r->count && b->count != 1)) {
        fail(I, op->loc, "internal error: malformed comparison");
        return;
    }
    int64_t sa = a->count == 1 ? 0 : 1, sb = b->count == 1 ? 0 : 1;
    r->overflowed = r->count == 1 && (a->overflowed || b->overflowed);
    for (int64_t e = 0; e < r->count; e++) {
        if (a->i && b->i)
            r->i[e] = tir_int_compare(op->sub, a->i[e * sa], b->i[e * sb]);
        else
            r->i[e] = tir_float_compare(op->sub, a->f ? a->f[e * sa] : (double)a->i[e * sa],
                                        b->f ? b->f[e * sb] : (double)b->i[e * sb]);
    }
}

static void op_select(Interp *I, const TirOp *op)
{
    const Tile *c = slot(I, op->operands[0]);
    const Tile *a = slot(I, op->operands[1]);
    const Tile *b = slot(I, op->operands[2]);
    Tile *r = define(I, op->results[0]);
    int64_t n = r->count;
    if (!c->i || (c->count != n && c->count != 1) || (a->count != n && a->count != 1) ||
        (b->count != n && b->count != 1) || (r->f && (!a->f || !b->f)) || (r->i && (!a->i || !b->i))) {
        fail(I, op->loc, "internal error: malformed select");
        return;
    }
    int64_t sc = c->count == 1 ? 0 : 1, sa = a->count == 1 ? 0 : 1, sb = b->count == 1 ? 0 : 1;
    r->overflowed = n == 1 && (c->overflowed || a->overflowed || b->overflowed);
    for (int64_t e = 0; e < n; e++) {
        if (r->f)
            r->f[e] = c->i[e * sc] ? a->f[e * sa] : b->f[e * sb];
        else
            r->i[e] = c->i[e * sc] ? a->i[e * sa] : b->i[e * sb];
    }
}

/* Philox of (seed, offset) per element: integer arithmetic, so --arith=gpu gives the same
   bits as the default and as the GPU. */
static void op_rand(Interp *I, const TirOp *op)
{
    const Tile *s = slot(I, op->operands[0]), *o = slot(I, op->operands[1]);
    Tile *r = define(I, op->results[0]);
    int64_t n = r->count;
    if (!s->i || !o->i || (s->count != n && s->count != 1) || (o->count != n && o->count != 1)) {
        fail(I, op->loc, "internal error: malformed rand");
        return;
    }
    int64_t ss = s->count == 1 ? 0 : 1, so = o->count == 1 ? 0 : 1;
    for (int64_t e = 0; e < n; e++) {
        uint32_t r0 = tir_philox(s->i[e * ss], o->i[e * so]);
        if (r->f)
            r->f[e] = tir_rand_uniform(r0);
        else
            r->i[e] = tir_int_wrap(DT_I32, r0);
    }
}

static void op_convert(Interp *I, const TirOp *op)
{
    const Tile *x = slot(I, op->operands[0]);
    Tile *r = define(I, op->results[0]);
    if (x->count != r->count) {
        fail(I, op->loc, "internal error: convert changes the shape");
        return;
    }
    DType t = r->dtype;
    r->overflowed = x->overflowed;
    for (int64_t e = 0; e < r->count; e++) {
        if (r->f && x->f)
            r->f[e] = round_to(t, x->f[e]);
        else if (r->f)          /* int/bool -> float */
            r->f[e] = (float)dtype_decode(t, dtype_encode_f64(t, (double)x->i[e]));
        else if (x->f)          /* float -> int/bool */
            r->i[e] = t == DT_BOOL ? convert_f64_to_bool(x->f[e])
                    : convert_f64_to_int(t, x->f[e]);
        else
            r->i[e] = tir_int_wrap(t, (uint64_t)x->i[e]);
    }
}

/* Copies x into r where r's axes are x's aligned from the right, x's 1-axes repeated. */
static void op_broadcast(Interp *I, const TirOp *op)
{
    const Tile *x = slot(I, op->operands[0]);
    Tile *r = define(I, op->results[0]);
    int off = r->rank - x->rank;
    if (off < 0) {
        fail(I, op->loc, "internal error: broadcast to a lower rank");
        return;
    }
    int64_t xstride[MAX_RANK] = {0};
    int64_t s = 1;
    for (int a = x->rank - 1; a >= 0; a--) {
        if (x->shape[a] != 1 && x->shape[a] != r->shape[a + off]) {
            fail(I, op->loc, "internal error: broadcast of mismatched axes");
            return;
        }
        xstride[a + off] = x->shape[a] == 1 ? 0 : s;
        s *= x->shape[a];
    }
    int64_t idx[MAX_RANK] = {0};
    int64_t src = 0;
    for (int64_t e = 0; e < r->count; e++) {
        if (r->f)
            r->f[e] = x->f[src];
        else
            r->i[e] = x->i[src];
        for (int a = r->rank - 1; a >= 0; a--) {
            src += xstride[a];
            if (++idx[a] < r->shape[a])
                break;
            src -= xstride[a] * idx[a];
            idx[a] = 0;
        }
    }
}

static void op_reshape_copy(Interp *I, const TirOp *op)
{
    const Tile *x = slot(I, op->operands[0]);
    Tile *r = define(I, op->results[0]);
    if (x->count != r->count) {
        fail(I, op->loc, "internal error: expand_dims changes the element count");
        return;
    }
    copy_tile(r, x);
}

static void op_transpose(Interp *I, const TirOp *op)
{
    const Tile *x = slot(I, op->operands[0]);
    Tile *r = define(I, op->results[0]);
    if (x->rank != 2 || r->rank != 2) {
        fail(I, op->loc, "internal error: transpose of a tile that is not rank 2");
        return;
    }
    int64_t R = x->shape[0], C = x->shape[1];
    for (int64_t i = 0; i < R; i++)
        for (int64_t j = 0; j < C; j++) {
            if (r->f)
                r->f[j * R + i] = x->f[i * C + j];
            else
                r->i[j * R + i] = x->i[i * C + j];
        }
}

/* split: lane `axis` (0 or 1) of each pair of the last axis; join: a and b interleaved as
   the pairs of a new last axis. Row-major, so a pair is two adjacent elements. */
static void op_split_join(Interp *I, const TirOp *op)
{
    const Tile *x = slot(I, op->operands[0]);
    const Tile *y = op->opcode == TIR_JOIN ? slot(I, op->operands[1]) : NULL;
    Tile *r = define(I, op->results[0]);
    bool split = op->opcode == TIR_SPLIT;
    int64_t pairs = split ? r->count : x->count;
    if ((split ? x->count != 2 * r->count : r->count != 2 * x->count || y->count != x->count) ||
        !x->f != !r->f) {
        fail(I, op->loc, "internal error: malformed split or join");
        return;
    }
    for (int64_t p = 0; p < pairs; p++) {
        if (split && r->f)
            r->f[p] = x->f[2 * p + op->axis];
        else if (split)
            r->i[p] = x->i[2 * p + op->axis];
        else if (r->f)
            r->f[2 * p] = x->f[p], r->f[2 * p + 1] = y->f[p];
        else
            r->i[2 * p] = x->i[p], r->i[2 * p + 1] = y->i[p];
    }
}

/* cumsum: each line along the axis summed in lane order (f32, or the integer dtype
   wrapping), as the GPU's serial scan does; an exclusive one gives each lane the sum of the
   lanes before it. Lanes past the valid ones come last, so no valid lane sums them. */
static void op_cumsum(Interp *I, const TirOp *op)
{
    const Tile *x = slot(I, op->operands[0]);
    Tile *r = define(I, op->results[0]);
    int axis = op->axis;
    if (axis < 0 || axis >= x->rank || r->count != x->count || !x->f != !r->f) {
        fail(I, op->loc, "internal error: malformed cumsum");
        return;
    }
    int64_t outer = 1, inner = 1, len = x->shape[axis];
    for (int a = 0; a < axis; a++)
        outer *= x->shape[a];
    for (int a = axis + 1; a < x->rank; a++)
        inner *= x->shape[a];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            float facc = 0.0f;
            int64_t iacc = 0;
            for (int64_t l = 0; l < len; l++) {
                int64_t at = (o * len + l) * inner + in;
                if (x->f) {
                    float v = x->f[at];
                    r->f[at] = op->sub ? facc : facc + v;
                    facc += v;
                } else {
                    int64_t v = x->i[at];
                    int64_t next = binary_i(TIR_BIN_ADD, r->dtype, iacc, v);
                    r->i[at] = op->sub ? iacc : next;
                    iacc = next;
                }
            }
        }
}

static void op_reduce(Interp *I, const TirOp *op)
{
    const TirValue *xv = op->operands[0];
    const Tile *x = slot(I, xv);
    Tile *r = define(I, op->results[0]);
    int axis = op->axis;
    if (axis < 0 || axis >= x->rank) {
        fail(I, op->loc, "internal error: reduce axis out of range");
        return;
    }
    int64_t outer = 1, inner = 1, len = x->shape[axis];
    for (int a = 0; a < axis; a++)
        outer *= x->shape[a];
    for (int a = axis + 1; a < x->rank; a++)
        inner *= x->shape[a];
    if (outer * inner != r->count) {
        fail(I, op->loc, "internal error: reduce result has the wrong shape");
        return;
    }
    Axis ax = xv->type.axes[axis];
    int kind = op->sub;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            if (x->f) {
                float acc = kind == TIR_RED_SUM ? 0.0f : kind == TIR_RED_MIN ? INFINITY : -INFINITY;
                for (int64_t l = 0; l < len; l++) {
                    if (op->masked && !lane_valid(I, ax, l))
                        continue;
                    float v = x->f[(o * len + l) * inner + in];
                    switch (kind) {
                    case TIR_RED_SUM: acc += v; break;
                    case TIR_RED_MAX: acc = max_nan(acc, v); break;
                    case TIR_RED_MIN: acc = min_nan(acc, v); break;
                    case TIR_RED_AMAX: acc = max_nan(acc, fabsf(v)); break;
                    default: break;
                    }
                }
                if (r->f)
                    r->f[o * inner + in] = round_to(r->dtype, acc);
                else
                    r->i[o * inner + in] = convert_f64_to_i64(acc);
            } else {
                int64_t acc = kind == TIR_RED_SUM || kind == TIR_RED_AMAX ? 0
                            : kind == TIR_RED_MIN ? INT64_MAX : INT64_MIN;
                for (int64_t l = 0; l < len; l++) {
                    if (op->masked && !lane_valid(I, ax, l))
                        continue;
                    int64_t v = x->i[(o * len + l) * inner + in];
                    switch (kind) {
                    case TIR_RED_SUM: acc = binary_i(TIR_BIN_ADD, DT_I64, acc, v); break;
                    case TIR_RED_MAX: acc = v > acc ? v : acc; break;
                    case TIR_RED_MIN: acc = v < acc ? v : acc; break;
                    case TIR_RED_AMAX: v = unary_i(TIR_UN_ABS, x->dtype, v); acc = v > acc ? v : acc; break;
                    default: break;
                    }
                }
                if (r->f)
                    r->f[o * inner + in] = round_to(r->dtype, (float)acc);
                else
                    r->i[o * inner + in] = tir_int_wrap(r->dtype, (uint64_t)acc);
            }
        }
}

/* Runs a dot region whose argument is set; returns the yielded tile (`in` on error). */
static const Tile *region_result(Interp *I, TirBlock *region, const Tile *in, const TirOp *op)
{
    const TirOp *yield = NULL;
    exec_block(I, region, &yield);
    if (I->failed)
        return in;
    if (!yield || yield->noperands != 1) {
        fail(I, op->loc, "internal error: a dot region must yield one value");
        return in;
    }
    return slot(I, yield->operands[0]);
}

/* Runs a dot region (prologue or epilogue) on `in`; returns the yielded tile. */
static const Tile *run_region(Interp *I, TirBlock *region, const Tile *in, const TirOp *op)
{
    if (!region)
        return in;
    if (region->nargs != 1) {
        fail(I, op->loc, "internal error: a dot region must take one argument");
        return in;
    }
    assign(I, region->args[0], in);
    return region_result(I, region, in, op);
}

static void op_dot(Interp *I, TirOp *op)
{
    const Tile *a = run_region(I, op->regions[TIR_REGION_PROLOGUE_A], slot(I, op->operands[0]), op);
    if (I->failed)
        return;
    const Tile *b = run_region(I, op->regions[TIR_REGION_PROLOGUE_B], slot(I, op->operands[1]), op);
    if (I->failed)
        return;
    const Tile *acc = slot(I, op->operands[2]);
    /* The product accumulates in f32 (i32 for i8 operands): in the epilogue's argument when
       there is one (the epilogue may give another dtype, a comparison's bool), else in the
       result. */
    TirBlock *epilogue = op->regions[TIR_REGION_EPILOGUE];
    if (epilogue && epilogue->nargs != 1) {
        fail(I, op->loc, "internal error: a dot region must take one argument");
        return;
    }
    Tile *r = define(I, epilogue ? epilogue->args[0] : op->results[0]);
    bool integer = a->i && b->i && r->i && acc->i;   /* i8 @ i8 into i32, exact */
    if (a->rank != 2 || b->rank != 2 || (!integer && (!a->f || !b->f || !r->f || !acc->f)) ||
        a->shape[1] != b->shape[0] || r->rank != 2 || r->shape[0] != a->shape[0] ||
        r->shape[1] != b->shape[1] || (acc->count != r->count && acc->count != 1)) {
        fail(I, op->loc, "internal error: malformed dot");
        return;
    }
    int64_t M = a->shape[0], K = a->shape[1], N = b->shape[1];
    /* Validity of the contraction lanes: the a operand's axis 1 (the yielded tile's type
       when a prologue ran, else the operand's). */
    Axis kaxis = op->operands[0]->type.axes[1];
    TirBlock *pa = op->regions[TIR_REGION_PROLOGUE_A];
    if (pa && pa->last && pa->last->opcode == TIR_YIELD && pa->last->noperands == 1)
        kaxis = pa->last->operands[0]->type.axes[1];
    if (integer) {
        for (int64_t e = 0; e < r->count; e++)
            r->i[e] = acc->i[acc->count == 1 ? 0 : e];
        for (int64_t i = 0; i < M; i++)
            for (int64_t kk = 0; kk < K; kk++) {
                if (op->masked && !lane_valid(I, kaxis, kk))
                    continue;
                for (int64_t j = 0; j < N; j++)
                    r->i[i * N + j] = binary_i(TIR_BIN_ADD, DT_I32, r->i[i * N + j],
                                               a->i[i * K + kk] * b->i[kk * N + j]);
            }
    } else {
        float *out = r->f;
        if (acc->count == 1)
            for (int64_t e = 0; e < r->count; e++)
                out[e] = acc->f[0];
        else if (acc->f != out)
            memcpy(out, acc->f, (size_t)r->count * sizeof *out);
        /* Products of 16-bit and fp8 operands are exact in f32; f32 ones take one fma each, in
           k order, as the GPU's FMA dot does; tf32 dots round both operands first (cvt.rna). */
        bool fused = op->sub == TIR_DOT_EXACT && a->dtype == DT_F32, tf32 = op->sub == TIR_DOT_TF32;
        for (int64_t i = 0; i < M; i++) {
            float *row = out + i * N;
            const float *arow = a->f + i * K;
            for (int64_t kk = 0; kk < K; kk++) {
                if (op->masked && !lane_valid(I, kaxis, kk))
                    continue;
                float av = arow[kk];
                const float *brow = b->f + kk * N;
                if (fused)
                    for (int64_t j = 0; j < N; j++)
                        row[j] = fmaf(av, brow[j], row[j]);
                else if (tf32)
                    for (int64_t j = 0; j < N; j++)
                        row[j] += tir_round_tf32(av) * tir_round_tf32(brow[j]);
                else
                    for (int64_t j = 0; j < N; j++)
                        row[j] += av * brow[j];
            }
        }
    }
    if (epilogue) {
        const Tile *e = region_result(I, epilogue, r, op);
        if (I->failed)
            return;
        Tile *result = define(I, op->results[0]);
        if (result->count != e->count || (result->f == NULL) != (e->f == NULL)) {
            fail(I, op->loc, "internal error: a dot epilogue changed the shape");
            return;
        }
        copy_tile(result, e);
    }
}

/* ---- memory: load, store, atomic */

/* Per index entry: the lanes it contributes, and for each lane the tensor index, whether
   its mask checks pass, and whether it lies in the tensor. A checked entry (an index read
   from data) is not tested here: for_each_lane stops at an accessed lane outside. */
typedef struct IndexLanes {
    int64_t n;           /* lanes (1 for a scalar entry) */
    int naxes;           /* tile axes it contributes */
    int dim;             /* tensor dim it indexes, -1 for NEWAXIS */
    bool checked;        /* TIR_MASK_CHECK: a lane outside is an error */
    int64_t *pos;        /* tensor index per lane */
    bool all_pass;       /* every lane passes its mask checks */
    bool all_inside;
} IndexLanes;

/* What one access touches: its entries' lanes and the data mask (NULL: none). */
typedef struct Access {
    IndexLanes ix[MAX_RANK + 4];
    bool *pass[MAX_RANK + 4];
    const Tile *mask;
} Access;

static const char *access_verb(TirOpcode opc)
{
    return opc == TIR_LOAD ? "load of" : opc == TIR_STORE ? "store to" : "atomic update of";
}

/* Steps lane[] to the next element in C order of the access's tile; false after the last. */
static bool next_lane(int64_t *lane, const IndexLanes *ix, int nindex)
{
    int e = nindex - 1;
    while (e >= 0 && ++lane[e] >= ix[e].n)
        lane[e--] = 0;
    return e >= 0;
}

/* Whether the element at lane[] (flat index elem) is accessed: every entry's checks pass
   and the data mask holds. */
static bool lane_accessed(const Access *a, int nindex, const int64_t *lane, int64_t elem)
{
    for (int e = 0; e < nindex; e++)
        if (!a->pass[e][lane[e]])
            return false;
    return !a->mask || a->mask->i[elem];
}

static void report_outside(Interp *I, const TirOp *op, const HostTensor *t, const Access *a,
                           int nindex)
{
    const IndexLanes *ix = a->ix;
    /* the first lane (in C order) that is accessed and lies outside */
    int64_t lane[MAX_RANK + 4] = {0};
    for (int64_t elem = 0;; elem++) {
        bool inside = true;
        for (int e = 0; e < nindex; e++) {
            if (ix[e].dim < 0 || ix[e].checked)
                continue;
            int64_t p = ix[e].pos[lane[e]];
            inside = inside && p >= 0 && p < t->shape[ix[e].dim];
        }
        if (!inside && lane_accessed(a, nindex, lane, elem))
            break;
        if (!next_lane(lane, ix, nindex))
            return;
    }
    char idx[256], shape[256];
    size_t u = 0, v = 0;
    idx[0] = shape[0] = 0;
    int d = 0;
    for (int e = 0; e < nindex; e++) {
        if (ix[e].dim < 0)
            continue;
        u += (size_t)snprintf(idx + u, sizeof idx - u, "%s%lld", d ? ", " : "",
                              (long long)ix[e].pos[lane[e]]);
        d++;
        if (u >= sizeof idx)
            u = sizeof idx - 1;
    }
    for (int r = 0; r < t->rank; r++) {
        v += (size_t)snprintf(shape + v, sizeof shape - v, "%s%lld", r ? ", " : "", (long long)t->shape[r]);
        if (v >= sizeof shape)
            v = sizeof shape - 1;
    }
    const char *name = I->k->params[op->param].name;
    if (!I->failed)
        diag_error(I->d, op->loc, "%s %s %s index [%s] outside the tensor (shape [%s]) in a lane "
                   "the mask did not cover", access_verb(op->opcode), name,
                   op->opcode == TIR_LOAD ? "reads" : "writes", idx, shape);
    I->failed = true;
}

/* Whether lane l of a gathered index (a tile value) is valid: every axis of the tile is, at
   the coordinates of its flat element l. */
static bool gather_lane_valid(const Interp *I, const TirValue *v, const Tile *t, int64_t l)
{
    for (int a = v->type.rank - 1; a >= 0; a--) {
        if (!lane_valid(I, v->type.axes[a], l % t->shape[a]))
            return false;
        l /= t->shape[a];
    }
    return true;
}

/* Computes the lanes of every index entry of a memory op. `tile` is the tile loaded or
   stored (its type gives the padded sizes of full axes). Returns false on error. */
static bool index_lanes(Interp *I, const TirOp *op, const TirType *tile, const HostTensor *t, Access *a)
{
    IndexLanes *ix = a->ix;
    int nindex = op->nindex;
    size_t need = 0;
    int axis = 0, dim = 0;
    for (int e = 0; e < nindex; e++) {
        const TirIndex *in = &op->index[e];
        IndexLanes *x = &ix[e];
        x->dim = in->kind == TIR_IDX_NEWAXIS ? -1 : dim++;
        x->naxes = tir_index_axes(I->k, op, e);
        x->checked = (in->mask & TIR_MASK_CHECK) != 0;
        x->n = 1;
        if (in->kind == TIR_IDX_BLOCK && x->naxes)
            x->n = I->loops[in->loopvar].block;
        else if (in->kind == TIR_IDX_FULL)
            x->n = axis < tile->rank ? axis_size(I, tile->axes[axis]) : tir_next_pow2(t->shape[x->dim]);
        else if (in->kind == TIR_IDX_VALUE && tir_index_value(op, e))
            x->n = slot(I, tir_index_value(op, e))->count;
        axis += x->naxes;
        need += (size_t)x->n;
    }
    if (dim != t->rank || axis != tile->rank) {
        fail(I, op->loc, "internal error: a memory op's index does not match its tensor and tile");
        return false;
    }
    if (need * (sizeof(int64_t) + sizeof(bool)) > I->scratch_cap) {
        free(I->scratch);
        I->scratch_cap = need * (sizeof(int64_t) + sizeof(bool)) * 2;
        I->scratch = malloc(I->scratch_cap);
        if (!I->scratch) {
            fputs("tilec: error: out of memory in the interpreter\n", stderr);
            abort();
        }
    }
    int64_t *pos = I->scratch;
    bool *ok = (bool *)(pos + need);
    axis = 0;
    for (int e = 0; e < nindex; e++) {
        const TirIndex *in = &op->index[e];
        IndexLanes *x = &ix[e];
        x->pos = pos;
        a->pass[e] = ok;
        pos += x->n;
        ok += x->n;
        x->all_pass = x->all_inside = true;
        const TirValue *v = in->kind == TIR_IDX_VALUE ? tir_index_value(op, e) : NULL;
        if (in->kind == TIR_IDX_VALUE && !v) {
            fail(I, op->loc, "internal error: an index value is missing");
            return false;
        }
        const Tile *vt = v ? slot(I, v) : NULL;
        if (vt && vt->overflowed) {
            fail(I, op->loc, "an index of this access overflows i64");
            return false;
        }
        bool check_loop = (in->mask & TIR_MASK_LOOP) != 0, check_dim = (in->mask & TIR_MASK_DIM) != 0;
        for (int64_t l = 0; l < x->n; l++) {
            int64_t p = 0;
            bool pass_loop = true;
            switch (in->kind) {
            case TIR_IDX_BLOCK: {
                const LoopState *ls = &I->loops[in->loopvar];
                p = ls->begin + l;
                pass_loop = p < ls->extent;
                break;
            }
            case TIR_IDX_FULL: {
                p = l;
                Axis ax = tile->axes[axis];
                pass_loop = ax.kind == AXIS_FULL ? l < I->args->sym_values[ax.id] : l < t->shape[x->dim];
                break;
            }
            case TIR_IDX_VALUE:
                p = vt->i ? vt->i[l] : (int64_t)vt->f[l];
                pass_loop = v->type.rank == 0 || gather_lane_valid(I, v, vt, l);
                break;
            case TIR_IDX_NEWAXIS:
                p = 0;
                break;
            }
            x->pos[l] = p;
            bool inside = x->dim < 0 || x->checked || (p >= 0 && p < t->shape[x->dim]);
            bool passes = (!check_loop || pass_loop) && (!check_dim || inside);
            a->pass[e][l] = passes;
            x->all_pass = x->all_pass && passes;
            x->all_inside = x->all_inside && inside;
        }
        axis += x->naxes;
    }
    /* mask checker: an accessed lane outside the tensor */
    for (int e = 0; e < nindex; e++) {
        if (ix[e].all_inside)
            continue;
        report_outside(I, op, t, a, nindex);
        if (I->failed)
            return false;
    }
    return true;
}

/* A checked index outside its dim at an accessed lane: the error names the tensor, the dim,
   the index and the dim's size. */
static void report_checked(Interp *I, const TirOp *op, const HostTensor *t, const IndexLanes *x,
                           int64_t p)
{
    char msg[320];
    snprintf(msg, sizeof msg, "%s %s: index %lld is outside dim %d (size %lld)",
             access_verb(op->opcode), I->k->params[op->param].name, (long long)p, x->dim,
             (long long)t->shape[x->dim]);
    fail(I, op->loc, msg);
}

/* Visits every lane of a memory op in C order of its tile: calls fn with the tile's flat
   element index and the tensor offset, for lanes that pass every mask check and the data
   mask. A checked index outside its dim stops the visit with an error. */
typedef void (*LaneFn)(Interp *I, const TirOp *op, HostTensor *t, int64_t elem, int64_t off,
                       void *ctx);

static void for_each_lane(Interp *I, const TirOp *op, HostTensor *t, const Access *a, LaneFn fn,
                          void *ctx)
{
    const IndexLanes *ix = a->ix;
    int nindex = op->nindex;
    int64_t lane[MAX_RANK + 4] = {0};
    int64_t stride[MAX_RANK + 4];
    for (int e = 0; e < nindex; e++)
        stride[e] = ix[e].dim < 0 ? 0 : t->strides[ix[e].dim];
    for (int64_t elem = 0;; elem++) {
        if (lane_accessed(a, nindex, lane, elem)) {
            for (int e = 0; e < nindex; e++) {
                int64_t p = ix[e].pos[lane[e]];
                if (ix[e].checked && (p < 0 || p >= t->shape[ix[e].dim])) {
                    report_checked(I, op, t, &ix[e], p);
                    return;
                }
            }
            /* inside the tensor (the mask checker and the checks saw to it): no overflow */
            int64_t off = 0;
            for (int e = 0; e < nindex; e++)
                off += ix[e].pos[lane[e]] * stride[e];
            fn(I, op, t, elem, off, ctx);
        }
        if (!next_lane(lane, ix, nindex))
            return;
    }
}

static void lane_load(Interp *I, const TirOp *op, HostTensor *t, int64_t elem, int64_t off, void *ctx)
{
    (void)op;
    Tile *r = ctx;
    if (r->f)
        r->f[elem] = load_element(I, t, off);
    else
        r->i[elem] = tir_int_wrap(r->dtype, (uint64_t)load_int(t, off));
}

static void lane_store(Interp *I, const TirOp *op, HostTensor *t, int64_t elem, int64_t off, void *ctx)
{
    (void)I;
    (void)op;
    const Tile *v = ctx;
    int64_t e = v->count == 1 ? 0 : elem;
    if (v->f)
        store_element(t, off, v->f[e]);
    else
        store_int(t, off, v->i[e]);
}

static void lane_atomic(Interp *I, const TirOp *op, HostTensor *t, int64_t elem, int64_t off, void *ctx)
{
    const Tile *v = ctx;
    int64_t e = v->count == 1 ? 0 : elem;
    if (v->f) {
        float old = load_element(I, t, off), x = v->f[e], r;
        switch (op->sub) {
        case TIR_RED_SUM: r = old + x; break;
        case TIR_RED_MIN: r = min_nan(old, x); break;
        default: r = max_nan(old, x); break;
        }
        store_element(t, off, round_to(t->dtype, r));
    } else {
        int64_t old = load_int(t, off), x = v->i[e];
        int64_t r = op->sub == TIR_RED_SUM ? binary_i(TIR_BIN_ADD, t->dtype, old, x)
                  : op->sub == TIR_RED_MIN ? (x < old ? x : old) : (x > old ? x : old);
        store_int(t, off, r);
    }
}

static void op_memory(Interp *I, const TirOp *op)
{
    HostTensor *t = &I->args->args[op->param].tensor;
    Access a;
    if (op->nindex > MAX_RANK + 4) {
        fail(I, op->loc, "internal error: too many index entries");
        return;
    }
    a.mask = tir_data_mask(op) ? slot(I, tir_data_mask(op)) : NULL;
    if (op->opcode == TIR_LOAD) {
        Tile *r = define(I, op->results[0]);
        if (!index_lanes(I, op, &op->results[0]->type, t, &a))
            return;
        /* lanes the mask turns off read 0 */
        if (r->f)
            memset(r->f, 0, (size_t)r->count * sizeof *r->f);
        else
            memset(r->i, 0, (size_t)r->count * sizeof *r->i);
        for_each_lane(I, op, t, &a, lane_load, r);
        return;
    }
    const TirValue *vv = op->operands[0];
    const Tile *v = slot(I, vv);
    if (!index_lanes(I, op, &vv->type, t, &a))
        return;
    for_each_lane(I, op, t, &a, op->opcode == TIR_STORE ? lane_store : lane_atomic, (void *)v);
}

/* ---- loops */

/* One past the last index of the loop variable's current block: `end`. */
static int64_t block_end(const LoopState *ls)
{
    int64_t end = ls->begin + ls->block;
    return end < ls->extent ? end : ls->extent;
}

/* The number of the loop's current block, counted from its start. */
static int64_t block_id(const LoopState *ls)
{
    return (ls->begin - ls->start) / ls->block;
}

/* `begin` and `end` of the loops running now; `dim` and `param` from the launch. */
static bool interp_leaf(void *ctx, const TirOp *op, int64_t *ivalue, double *fvalue)
{
    Interp *I = ctx;
    if (op->opcode != TIR_BEGIN && op->opcode != TIR_END && op->opcode != TIR_BLOCK_ID)
        return launch_leaf_value(I->args, op, ivalue, fvalue);
    const LoopState *ls = &I->loops[op->loopvar];
    *ivalue = op->opcode == TIR_BEGIN ? ls->begin : op->opcode == TIR_END ? block_end(ls) : block_id(ls);
    return true;
}

/* A loop's extent, by eval.c's evaluator as the host evaluates the grid's: index arithmetic
   that divides by zero is an error where it happens, and so is i64 arithmetic that wrapped
   (the tile's flag). An extent deeper than the evaluator goes is read from its tile, which
   the same integer ops computed. */
static int64_t extent_value(Interp *I, const TirOp *loop, int var, const TirValue *v)
{
    const Tile *t = slot(I, v);
    const char *name = I->k->loopvars[loop->loopvars[var]]->name;
    char msg[320];
    TirScalar s;
    bool known = tir_eval_scalar(v, interp_leaf, I, &s);
    /* A run-time if's extent is its condition (front/lower.c, lower_branch): division by zero
       and wrapping in it are the ops' own semantics, as on the GPU (x / 0 is 0), not errors. */
    if (I->k->loopvars[loop->loopvars[var]]->is_branch)
        return tile_scalar_i(t);
    if (s.div_by_zero) {
        snprintf(msg, sizeof msg, "the extent of loop %s divides by zero", name);
        fail(I, s.div_by_zero->loc, msg);
        return 0;
    }
    if (t->overflowed) {
        snprintf(msg, sizeof msg, "the extent of loop %s overflows i64 (its arithmetic wrapped)",
                 name);
        fail(I, v->def ? v->def->loc : loop->loc, msg);
        return 0;
    }
    return known ? s.i : tile_scalar_i(t);
}

/* The grid's programs, or one sequential loop's blocks, within --max-programs. */
static bool blocks_within_limit(Interp *I, const TirOp *loop, const int64_t *nblocks)
{
    int64_t total = 1;
    for (int v = 0; v < loop->nvars; v++)
        if (__builtin_mul_overflow(total, nblocks[v], &total))
            total = INT64_MAX;
    if (total <= I->limits.max_programs)
        return true;
    char msg[400];
    if (loop->opcode == TIR_GRID)
        snprintf(msg, sizeof msg, "the grid has %lld programs, more than the interpreter's limit "
                 "of %lld (tilec run --max-programs raises it)", (long long)total,
                 (long long)I->limits.max_programs);
    else
        snprintf(msg, sizeof msg, "loop %s runs %lld blocks, more than the interpreter's limit of "
                 "%lld (tilec run --max-programs raises it)",
                 I->k->loopvars[loop->loopvars[0]]->name, (long long)total,
                 (long long)I->limits.max_programs);
    fail(I, loop->loc, msg);
    return false;
}

/* Runs one loop (FOR or GRID) over every block of its variables, in row-major order. */
static void op_loop(Interp *I, TirOp *op)
{
    int nvars = op->nvars;
    TirBlock *body = op->regions[0];
    int ncarried = op->noperands - nvars - op->ranged;
    if (!body || ncarried < 0 || body->nargs != ncarried ||
        (op->opcode == TIR_FOR && op->nresults != ncarried)) {
        fail(I, op->loc, "internal error: malformed loop");
        return;
    }
    int64_t nblocks[MAX_LOOP_VARS];
    bool empty = false;
    for (int v = 0; v < nvars; v++) {
        int lv = op->loopvars[v];
        LoopState *ls = &I->loops[lv];
        ls->extent = extent_value(I, op, v, op->operands[v]);
        ls->start = tir_loop_start(op) ? extent_value(I, op, v, tir_loop_start(op)) : 0;
        ls->begin = ls->start;
        int64_t span;
        if (__builtin_sub_overflow(ls->extent, ls->start, &span)) {
            char msg[320];
            snprintf(msg, sizeof msg, "the range [%lld, %lld) of loop %s overflows i64",
                     (long long)ls->start, (long long)ls->extent, I->k->loopvars[lv]->name);
            fail(I, op->loc, msg);
            return;
        }
        nblocks[v] = span <= 0 ? 0 : tir_cdiv(span, ls->block);
        empty = empty || nblocks[v] == 0;
    }
    if (I->failed || !blocks_within_limit(I, op, nblocks))
        return;
    /* the carried values enter through the loop's results, so a loop that runs no
       iteration yields its initial values */
    for (int c = 0; c < ncarried && op->opcode == TIR_FOR; c++)
        assign(I, op->results[c], slot(I, op->operands[nvars + c]));
    if (empty || I->failed)
        return;
    int64_t blk[MAX_LOOP_VARS] = {0};
    for (;;) {
        for (int v = 0; v < nvars; v++)
            I->loops[op->loopvars[v]].begin = I->loops[op->loopvars[v]].start +
                                              blk[v] * I->loops[op->loopvars[v]].block;
        for (int c = 0; c < ncarried; c++)
            assign(I, body->args[c], slot(I, op->results[c]));
        const TirOp *yield = NULL;
        exec_block(I, body, &yield);
        if (I->failed)
            return;
        if (ncarried) {
            if (!yield || yield->noperands != ncarried) {
                fail(I, op->loc, "internal error: a loop body must yield its carried values");
                return;
            }
            for (int c = 0; c < ncarried; c++)
                assign(I, op->results[c], slot(I, yield->operands[c]));
        }
        int v = nvars - 1;
        while (v >= 0 && ++blk[v] >= nblocks[v])
            blk[v--] = 0;
        if (v < 0)
            break;
    }
}

/* Marks the op's result (or, for a store or atomic, its tensor) inexact when it depends on
   a value the GPU computes in another order (a float sum, a dot, a float atomic_add) or
   approximately (ex2/lg2/rsqrt and exp/log through them). */
static void mark_inexact(Interp *I, const TirOp *op)
{
    if (op->opcode == TIR_FOR || op->opcode == TIR_GRID || op->opcode == TIR_YIELD)
        return;
    bool inexact = false;
    for (int i = 0; i < op->noperands; i++)
        inexact = inexact || slot(I, op->operands[i])->inexact;
    bool is_float = op->noperands && dtype_is_float(op->operands[0]->type.dtype);
    switch (op->opcode) {
    case TIR_UNARY: inexact = inexact || (is_float && unary_is_approximate(op->sub)); break;
    case TIR_REDUCE: inexact = inexact || (is_float && op->sub == TIR_RED_SUM); break;
    case TIR_DOT: inexact = true; break;
    case TIR_LOAD: inexact = inexact || I->tensor_inexact[op->param]; break;
    case TIR_ATOMIC: inexact = inexact || (is_float && op->sub == TIR_RED_SUM); break;
    default: break;
    }
    if (op->opcode == TIR_STORE || op->opcode == TIR_ATOMIC)
        I->tensor_inexact[op->param] = I->tensor_inexact[op->param] || inexact;
    else if (op->nresults == 1)
        slot(I, op->results[0])->inexact = inexact;
}

static void exec_op(Interp *I, TirOp *op)
{
    switch (op->opcode) {
    case TIR_FULL: op_full(I, op); break;
    case TIR_PARAM: op_param(I, op); break;
    case TIR_DIM: op_index_scalar(I, op, I->args->sym_values[op->sym]); break;
    case TIR_BEGIN: op_index_scalar(I, op, I->loops[op->loopvar].begin); break;
    case TIR_END: op_index_scalar(I, op, block_end(&I->loops[op->loopvar])); break;
    case TIR_BLOCK_ID: op_index_scalar(I, op, block_id(&I->loops[op->loopvar])); break;
    case TIR_IOTA: op_iota(I, op); break;
    case TIR_UNARY: op_unary(I, op); break;
    case TIR_BINARY: op_binary(I, op); break;
    case TIR_CMP: op_cmp(I, op); break;
    case TIR_SELECT: op_select(I, op); break;
    case TIR_CONVERT: op_convert(I, op); break;
    case TIR_RAND: op_rand(I, op); break;
    case TIR_BROADCAST: op_broadcast(I, op); break;
    case TIR_EXPAND_DIMS: op_reshape_copy(I, op); break;
    case TIR_TRANSPOSE: op_transpose(I, op); break;
    case TIR_REDUCE: op_reduce(I, op); break;
    case TIR_CUMSUM: op_cumsum(I, op); break;
    case TIR_SPLIT:
    case TIR_JOIN: op_split_join(I, op); break;
    case TIR_DOT: op_dot(I, op); break;
    case TIR_LOAD:
    case TIR_STORE:
    case TIR_ATOMIC: op_memory(I, op); break;
    case TIR_FOR:
    case TIR_GRID: op_loop(I, op); break;
    case TIR_YIELD: break;
    default: fail(I, op->loc, "internal error: the interpreter does not know this op"); break;
    }
    if (!I->failed)
        mark_inexact(I, op);
}

static void exec_block(Interp *I, TirBlock *b, const TirOp **yield)
{
    for (TirOp *op = b->first; op && !I->failed; op = op->next) {
        if (op->opcode == TIR_YIELD) {
            *yield = op;
            return;
        }
        exec_op(I, op);
    }
}

/* ---- the bytes a run takes: one tile per value, sized by its type under the config */

typedef struct TileBytes {
    const Interp *I;
    int64_t bytes;
} TileBytes;

static void add_value_bytes(TileBytes *tb, const TirValue *v)
{
    int64_t n = is_float(v->type.dtype) ? (int64_t)sizeof(float) : (int64_t)sizeof(int64_t);
    for (int a = 0; a < v->type.rank; a++)
        if (__builtin_mul_overflow(n, axis_size(tb->I, v->type.axes[a]), &n))
            n = INT64_MAX;
    if (__builtin_add_overflow(tb->bytes, n, &tb->bytes))
        tb->bytes = INT64_MAX;
}

static void add_op_bytes(TirOp *op, void *ctx)
{
    for (int r = 0; r < op->nresults; r++)
        add_value_bytes(ctx, op->results[r]);
    for (int g = 0; g < 3; g++)
        for (int a = 0; op->regions[g] && a < op->regions[g]->nargs; a++)
            add_value_bytes(ctx, op->regions[g]->args[a]);
}

/* The launch's tensors and every tile within --max-bytes, checked before the run. */
static bool bytes_within_limit(Interp *I)
{
    TileBytes tb = {I, 0};
    tir_walk(I->k->body, add_op_bytes, &tb);
    int64_t tensors = 0;
    for (int i = 0; i < I->args->nargs; i++)
        tensors += (int64_t)I->args->args[i].tensor.nbytes;
    if (tb.bytes <= I->limits.max_bytes - tensors)
        return true;
    char msg[400];
    snprintf(msg, sizeof msg, "the run needs %lld bytes of tensors and %s%lld bytes of tiles, "
             "more than the interpreter's limit of %lld (tilec run --max-bytes raises it)",
             (long long)tensors, tb.bytes == INT64_MAX ? "more than " : "", (long long)tb.bytes,
             (long long)I->limits.max_bytes);
    fail(I, I->k->loc, msg);
    return false;
}

int interp_run(const TirKernel *k, const Config *config, LaunchArgs *args,
               const InterpLimits *limits, const InterpOptions *opts, Diag *d)
{
    Interp I = {.k = k, .config = config, .args = args, .d = d,
                .limits = limits ? *limits : (InterpLimits){INTERP_MAX_PROGRAMS, INTERP_MAX_BYTES},
                .gpu_arith = opts && opts->gpu_arith};
    int errors_before = d->errors;
    I.slots = calloc((size_t)k->nvalues + 1, sizeof *I.slots);
    I.loops = calloc((size_t)k->nloopvars + 1, sizeof *I.loops);
    I.full_size = calloc((size_t)k->nsyms + 1, sizeof *I.full_size);
    I.tensor_inexact = calloc((size_t)k->nparams + 1, sizeof *I.tensor_inexact);
    if (!I.slots || !I.loops || !I.full_size || !I.tensor_inexact) {
        fputs("tilec: error: out of memory in the interpreter\n", stderr);
        abort();
    }
    for (int b = 0; b < 256; b++) {
        I.fp8_lut[0][b] = (float)dtype_decode(DT_F8E4M3, (uint32_t)b);
        I.fp8_lut[1][b] = (float)dtype_decode(DT_F8E5M2, (uint32_t)b);
    }
    for (int s = 0; s < k->nsyms; s++)
        I.full_size[s] = tir_next_pow2(args->sym_values[s]);
    for (int v = 0; v < k->nloopvars; v++) {
        const TirLoopVar *lv = k->loopvars[v];
        I.loops[v].block = tir_loopvar_block(k, lv, config);
        if (I.loops[v].block < 1) {
            fail(&I, lv->loc, "internal error: a block size below 1");
            goto done;
        }
    }
    if (!bytes_within_limit(&I))
        goto done;
    const TirOp *yield = NULL;
    exec_block(&I, k->body, &yield);
done:
    for (int v = 0; v < k->nvalues; v++) {
        free(I.slots[v].f);
        free(I.slots[v].i);
    }
    if (opts && opts->inexact)
        memcpy(opts->inexact, I.tensor_inexact, (size_t)k->nparams * sizeof *opts->inexact);
    free(I.slots);
    free(I.loops);
    free(I.full_size);
    free(I.scratch);
    free(I.tensor_inexact);
    if (I.failed && d->errors == errors_before)
        d->errors++;
    return d->errors - errors_before;
}
