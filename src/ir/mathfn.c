/* mathfn.c — the math built-ins tanh, erf, sigmoid, silu, gelu, gelu_tanh, sin and cos:
   their definition (tir_math_reference, the interpreter's IEEE arithmetic) and their one
   f32 recipe, written over TirMathOps so that codegen emits it and the interpreter's
   --arith=gpu computes it, operation for operation (docs/codegen.md, "Math functions"). */
#include <math.h>

#include "tir.h"

/* ---- the recipes' operations, shortened */

typedef TirMathValue Val;

static Val num(const TirMathOps *m, float c)
{
    return m->constant(m, c);
}

static Val add(const TirMathOps *m, Val x, Val y)
{
    return m->binary(m, TIR_BIN_ADD, x, y);
}

static Val sub(const TirMathOps *m, Val x, Val y)
{
    return m->binary(m, TIR_BIN_SUB, x, y);
}

static Val mul(const TirMathOps *m, Val x, Val y)
{
    return m->binary(m, TIR_BIN_MUL, x, y);
}

static Val divide(const TirMathOps *m, Val x, Val y)
{
    return m->binary(m, TIR_BIN_DIV, x, y);
}

static Val neg(const TirMathOps *m, Val x)
{
    return m->unary(m, TIR_UN_NEG, x);
}

static Val absolute(const TirMathOps *m, Val x)
{
    return m->unary(m, TIR_UN_ABS, x);
}

static Val ex2(const TirMathOps *m, Val x)
{
    return m->unary(m, TIR_UN_EXP2, x);
}

static Val fma3(const TirMathOps *m, Val x, Val y, Val z)
{
    return m->fma(m, x, y, z);
}

/* a < b ? if_less : otherwise; a NaN operand picks `otherwise`. */
static Val pick_less(const TirMathOps *m, Val a, Val b, Val if_less, Val otherwise)
{
    return m->select_less(m, a, b, if_less, otherwise);
}

/* c[0] + v·(c[1] + v·(... c[n-1])), one fma a step. */
static Val horner(const TirMathOps *m, Val v, const float *c, int n)
{
    Val p = num(m, c[n - 1]);
    for (int i = n - 2; i >= 0; i--)
        p = fma3(m, p, v, num(m, c[i]));
    return p;
}

/* ---- constants: f32 values, a _LO part holding what the f32 value lacks */

#define LOG2E 0x1.715476p+0f
#define LOG2E_LO 0x1.4ae0cp-26f
#define LN2 0x1.62e43p-1f
#define TWO_OVER_PI 0x1.45f306p-1f
#define TWO_OVER_PI_LO 0x1.b9391p-26f
#define PI_OVER_2 0x1.921fb6p+0f      /* pi/2 in three parts: PI_OVER_2 + _2 + _3 */
#define PI_OVER_2_2 -0x1.777a5cp-25f
#define PI_OVER_2_3 -0x1.ee59dap-50f
#define RSQRT2 0x1.6a09e6p-1f
#define RSQRT2_LO 0x1.9fcef4p-27f
#define TWO_OVER_SQRTPI 0x1.20dd76p+0f
#define GELU_TANH_C1 0x1.988454p+0f    /* 2·sqrt(2/pi) */
#define GELU_TANH_C1_LO -0x1.857936p-25f
#define GELU_TANH_C3 0x1.2444f2p-4f    /* 2·sqrt(2/pi)·0.044715 */
#define GELU_TANH_C3_LO 0x1.49b16ap-29f
#define TINY 0x1p-12f                  /* tanh(x) and sin(x) round to x below it */
#define ROUND_MAGIC 0x1.8p23f          /* (v + 1.5·2^23) - 1.5·2^23 rounds |v| < 2^22 to an integer */

/* Minimax polynomials, fitted to the relative error of the function (the absolute error of
   S), as tests/interp/fit_math.py prints them. */
static const float TANH_POLY[] = {      /* tanh(x) = x + x^3·P(x^2) for |x| < TANH_SMALL */
    -0x1.555532p-2f, 0x1.1106f6p-3f, -0x1.b835a4p-5f, 0x1.51f8cep-6f, -0x1.750ce4p-8f};
#define TANH_SMALL 0.625f
static const float ERF_POLY[] = {       /* erf(x) = x + x·P(x^2) for |x| < 1 */
    0x1.06eba8p-3f, -0x1.81274p-2f, 0x1.ce2d74p-4f, -0x1.b8044cp-6f, 0x1.5482cep-8f,
    -0x1.a99594p-11f, 0x1.699794p-14f, -0x1.2262cap-19f};
static const float ERFC_S[] = {         /* erfc(y) = e^(-y^2)·2^(S(y - 2) - 2) for 1 <= y <= 5 */
    0x1.f8b9dp-6f, -0x1.34e0eap-1f, 0x1.c2938ep-4f, -0x1.853164p-6f, 0x1.51add6p-8f,
    -0x1.14fcc6p-10f, 0x1.96b7ap-13f, -0x1.e8385p-16f, 0x1.9708b4p-19f, -0x1.507286p-23f};
static const float SIN_POLY[] = {       /* sin(r) = r + r^3·P(r^2) for |r| <= pi/4 */
    -0x1.555556p-3f, 0x1.111174p-7f, -0x1.a05956p-13f, 0x1.7c2d9ep-19f};
static const float COS_POLY[] = {       /* cos(r) = 1 + r^2·P(r^2) for |r| <= pi/4 */
    -0x1p-1f, 0x1.555556p-5f, -0x1.6c175ep-10f, 0x1.a071bap-16f, -0x1.361666p-22f};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- the recipes */

/* e^(a + a_lo) for a <= 0 and |a_lo| < 2^-12: ex2 of t = a·log2(e) rounded, times
   1 + ln2·(the product's rounding residual) + a_lo — without the residual the f32 product
   would cost up to 2^-24·|t| of relative error (60 ulp near a = -87). Below -104 the result
   is 0 (ex2 flushes what would be subnormal anyway). */
static Val exp_negative(const TirMathOps *m, Val a, Val a_lo)
{
    a = pick_less(m, a, num(m, -104.0f), num(m, -104.0f), a);
    Val t = mul(m, a, num(m, LOG2E));
    Val residual = fma3(m, a, num(m, LOG2E_LO), fma3(m, a, num(m, LOG2E), neg(m, t)));
    Val factor = fma3(m, residual, num(m, LN2), add(m, num(m, 1.0f), a_lo));
    return mul(m, ex2(m, t), factor);
}

/* 1 / (1 + e^-z) for z = z_hi + z_lo, as n / (1 + e) with e = e^-|z| <= 1 and n = 1
   (z >= 0) or e (z < 0): nothing overflows and nothing cancels. */
static Val sigmoid_of_sum(const TirMathOps *m, Val z, Val z_lo)
{
    Val negative = pick_less(m, z, num(m, 0.0f), num(m, 1.0f), num(m, 0.0f));
    Val a_lo = pick_less(m, negative, num(m, 0.5f), neg(m, z_lo), z_lo);
    Val e = exp_negative(m, neg(m, absolute(m, z)), a_lo);
    Val n = pick_less(m, negative, num(m, 0.5f), num(m, 1.0f), e);
    return divide(m, n, add(m, num(m, 1.0f), e));
}

static Val sigmoid(const TirMathOps *m, Val x)
{
    return sigmoid_of_sum(m, x, num(m, 0.0f));
}

/* x + x^3·P(x^2) near 0; else ±(1 - e) / (1 + e) with e = e^(-2|x|). */
static Val hyperbolic_tangent(const TirMathOps *m, Val x)
{
    Val ax = absolute(m, x), x2 = mul(m, x, x);
    Val small = fma3(m, mul(m, x, x2), horner(m, x2, TANH_POLY, COUNT(TANH_POLY)), x);
    Val e = exp_negative(m, mul(m, ax, num(m, -2.0f)), num(m, 0.0f));
    Val big = divide(m, sub(m, num(m, 1.0f), e), add(m, num(m, 1.0f), e));
    big = pick_less(m, x, num(m, 0.0f), neg(m, big), big);
    small = pick_less(m, ax, num(m, TINY), x, small);   /* -0 stays -0 */
    return pick_less(m, ax, num(m, TANH_SMALL), small, big);
}

/* erfc(y) for y >= 1, given g = e^(-y^2): g·2^S·2^-2, 0 above 5 (where erfc(y) < 2^-38).
   S lies in (-1.2, 0.8): its f32 rounding costs 2^-25 at most. A NaN y gives NaN. */
static Val erfc_tail(const TirMathOps *m, Val y, Val gauss)
{
    Val s = horner(m, sub(m, y, num(m, 2.0f)), ERFC_S, COUNT(ERFC_S));
    Val tail = mul(m, gauss, mul(m, ex2(m, s), num(m, 0.25f)));
    return pick_less(m, num(m, 5.0f), y, num(m, 0.0f), tail);
}

static Val error_function(const TirMathOps *m, Val x)
{
    Val ax = absolute(m, x), x2 = mul(m, x, x);
    Val gauss = exp_negative(m, neg(m, x2), neg(m, fma3(m, x, x, neg(m, x2))));
    Val small = fma3(m, x, horner(m, x2, ERF_POLY, COUNT(ERF_POLY)), x);
    Val big = sub(m, num(m, 1.0f), erfc_tail(m, ax, gauss));
    big = pick_less(m, x, num(m, 0.0f), neg(m, big), big);
    return pick_less(m, ax, num(m, 1.0f), small, big);
}

/* x·Φ(x) = (x/2)·(1 + erf(y)), y = x/sqrt(2). For y <= -1 the sum is erfc(-y), computed
   directly, and for |y| < 1 it is (1 + y) + y·P(y^2), which does not cancel where
   1 + erf(y) would, plus y_lo·erf'(y) for the rounding of y (y_lo = x/sqrt(2) - y), which
   the sum's small value near y = -1 would amplify; y^2 = x^2/2 is taken from x exactly. */
static Val gelu(const TirMathOps *m, Val x)
{
    Val y = mul(m, x, num(m, RSQRT2)), ay = absolute(m, y);
    Val y_lo = fma3(m, x, num(m, RSQRT2_LO), fma3(m, x, num(m, RSQRT2), neg(m, y)));
    Val x2 = mul(m, x, x);
    Val y2 = mul(m, x2, num(m, 0.5f)), y2_lo = mul(m, fma3(m, x, x, neg(m, x2)), num(m, 0.5f));
    Val gauss = exp_negative(m, neg(m, y2), neg(m, y2_lo));
    Val small = fma3(m, y, horner(m, y2, ERF_POLY, COUNT(ERF_POLY)), add(m, num(m, 1.0f), y));
    small = fma3(m, y_lo, mul(m, gauss, num(m, TWO_OVER_SQRTPI)), small);
    Val tail = erfc_tail(m, ay, gauss);
    Val big = pick_less(m, y, num(m, 0.0f), tail, sub(m, num(m, 2.0f), tail));
    Val sum = pick_less(m, ay, num(m, 1.0f), small, big);
    return mul(m, mul(m, x, num(m, 0.5f)), sum);
}

/* a + b = sum + *lo exactly (Knuth's two-sum: any order of magnitudes). */
static Val two_sum(const TirMathOps *m, Val a, Val b, Val *lo)
{
    Val sum = add(m, a, b), b_part = sub(m, sum, a);
    *lo = add(m, sub(m, a, sub(m, sum, b_part)), sub(m, b, b_part));
    return sum;
}

/* x/2·(1 + tanh(z/2)) = x·sigmoid(z), z = 2·sqrt(2/pi)·(x + 0.044715·x^3): no cancellation
   for negative x. z is carried as z + z_lo: rounded to f32 alone it would cost sigmoid(z) a
   relative error of about 2^-22·|z| (|z| reaches 87). */
static Val gelu_tanh(const TirMathOps *m, Val x)
{
    Val result_x = x;   /* z is taken at x clamped to [-16, 16]: sigmoid(z) is 0 or 1 beyond */
    x = pick_less(m, x, num(m, -16.0f), num(m, -16.0f), pick_less(m, num(m, 16.0f), x, num(m, 16.0f), x));
    Val x2 = mul(m, x, x), x2_lo = fma3(m, x, x, neg(m, x2));
    Val cube = mul(m, num(m, GELU_TANH_C3), x2);            /* C3·x^2, then w = C1 + C3·x^2 */
    Val cube_lo = fma3(m, num(m, GELU_TANH_C3), x2, neg(m, cube));
    Val w_lo, w = two_sum(m, num(m, GELU_TANH_C1), cube, &w_lo);
    Val small = fma3(m, num(m, GELU_TANH_C3_LO), x2, num(m, GELU_TANH_C1_LO));
    small = fma3(m, num(m, GELU_TANH_C3), x2_lo, add(m, small, cube_lo));
    w_lo = add(m, w_lo, small);
    Val z = mul(m, x, w);
    Val z_lo = fma3(m, x, w_lo, fma3(m, x, w, neg(m, z)));
    return mul(m, result_x, sigmoid_of_sum(m, z, z_lo));
}

static Val round_to_integer(const TirMathOps *m, Val v)
{
    return sub(m, add(m, v, num(m, ROUND_MAGIC)), num(m, ROUND_MAGIC));
}

/* sin(x) (cosine: cos(x) = sin(x + pi/2)): x = k·pi/2 + r with k the integer nearest to
   x·2/pi (its f32 product corrected by its rounding residual) and r reduced by pi/2 in three
   parts (the first exact, the fmas' products exact), then ±sin(r) or ±cos(r) by k mod 4.
   Every operation is exact or one IEEE rounding: the GPU's bits are these. NaN above
   TIR_TRIG_LIMIT. */
static Val sine(const TirMathOps *m, Val x, bool cosine)
{
    Val y = mul(m, x, num(m, TWO_OVER_PI));
    Val k = round_to_integer(m, y);
    Val y_lo = fma3(m, x, num(m, TWO_OVER_PI_LO), fma3(m, x, num(m, TWO_OVER_PI), neg(m, y)));
    Val d = add(m, sub(m, y, k), y_lo);
    k = pick_less(m, num(m, 0.5f), d, add(m, k, num(m, 1.0f)),
                  pick_less(m, d, num(m, -0.5f), sub(m, k, num(m, 1.0f)), k));
    Val r = fma3(m, k, num(m, -PI_OVER_2), x);
    r = fma3(m, k, num(m, -PI_OVER_2_2), r);
    r = fma3(m, k, num(m, -PI_OVER_2_3), r);
    if (cosine)
        k = add(m, k, num(m, 1.0f));
    Val half = round_to_integer(m, fma3(m, k, num(m, 0.5f), num(m, -0.25f)));     /* floor(k/2) */
    Val odd = fma3(m, half, num(m, -2.0f), k);                                    /* k mod 2 */
    Val quarter = round_to_integer(m, fma3(m, half, num(m, 0.5f), num(m, -0.25f)));
    Val negative = fma3(m, quarter, num(m, -2.0f), half);                         /* k/2 mod 2 */
    Val r2 = mul(m, r, r);
    Val s = fma3(m, mul(m, r, r2), horner(m, r2, SIN_POLY, COUNT(SIN_POLY)), r);
    Val c = fma3(m, r2, horner(m, r2, COS_POLY, COUNT(COS_POLY)), num(m, 1.0f));
    Val v = pick_less(m, odd, num(m, 0.5f), s, c);
    v = pick_less(m, negative, num(m, 0.5f), v, neg(m, v));
    if (!cosine)
        v = pick_less(m, absolute(m, x), num(m, TINY), x, v);   /* -0 stays -0 */
    return pick_less(m, num(m, (float)TIR_TRIG_LIMIT), absolute(m, x), num(m, NAN), v);
}

bool tir_math_is_recipe(int sub)
{
    switch (sub) {
    case TIR_UN_TANH: case TIR_UN_ERF: case TIR_UN_SIGMOID: case TIR_UN_SILU:
    case TIR_UN_GELU: case TIR_UN_GELU_TANH: case TIR_UN_SIN: case TIR_UN_COS:
        return true;
    default:
        return false;
    }
}

bool tir_math_is_approximate(int sub)
{
    return tir_math_is_recipe(sub) && sub != TIR_UN_SIN && sub != TIR_UN_COS;
}

TirMathValue tir_math_recipe(const TirMathOps *m, int sub, TirMathValue x)
{
    switch (sub) {
    case TIR_UN_TANH: return hyperbolic_tangent(m, x);
    case TIR_UN_ERF: return error_function(m, x);
    case TIR_UN_SIGMOID: return sigmoid(m, x);
    case TIR_UN_SILU: return mul(m, x, sigmoid(m, x));
    case TIR_UN_GELU: return gelu(m, x);
    case TIR_UN_GELU_TANH: return gelu_tanh(m, x);
    case TIR_UN_SIN: return sine(m, x, false);
    case TIR_UN_COS: return sine(m, x, true);
    default: return x;
    }
}

double tir_math_reference(int sub, double x)
{
    switch (sub) {
    case TIR_UN_TANH: return tanh(x);
    case TIR_UN_ERF: return erf(x);
    case TIR_UN_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case TIR_UN_SILU: return x / (1.0 + exp(-x));
    case TIR_UN_GELU: return 0.5 * x * erfc(-x * 0.70710678118654752);
    case TIR_UN_GELU_TANH: {
        double z = 1.5957691216057308 * (x + 0.044715 * x * x * x);
        return x / (1.0 + exp(-z));
    }
    case TIR_UN_SIN: return fabs(x) <= TIR_TRIG_LIMIT ? sin(x) : NAN;
    case TIR_UN_COS: return fabs(x) <= TIR_TRIG_LIMIT ? cos(x) : NAN;
    default: return NAN;
    }
}
