/* convert.c — exact conversions between doubles and every dtype's storage format. One
   generic encoder/decoder, parameterised by the float format, serves f32, f16, bf16 and
   both fp8 kinds; integer and bool conversions saturate as PTX does. docs/numerics.md. */
#include <math.h>
#include <string.h>

#include "base.h"

/* ---- float formats ---- */

typedef struct FloatFormat {
    int exponent_bits;
    int mantissa_bits;
    int bias;
    bool has_infinity;      /* e4m3fn spends the top exponent on finite values instead */
    bool saturates;         /* fp8 conversions clamp like PTX cvt.rn.satfinite */
    bool nan_keeps_sign;    /* IEEE formats keep the sign; PTX fp8 NaN is always 0x7F */
    uint32_t canonical_nan; /* positive quiet NaN */
} FloatFormat;

static const FloatFormat format_f32 = {8, 23, 127, true, false, true, 0x7FC00000u};
static const FloatFormat format_f16 = {5, 10, 15, true, false, true, 0x7E00u};
static const FloatFormat format_bf16 = {8, 7, 127, true, false, true, 0x7FC0u};
static const FloatFormat format_e4m3 = {4, 3, 7, false, true, false, 0x7Fu};
static const FloatFormat format_e5m2 = {5, 2, 15, true, true, false, 0x7Fu};

static const FloatFormat *float_format(DType t)
{
    switch (t) {
    case DT_F32: return &format_f32;
    case DT_F16: return &format_f16;
    case DT_BF16: return &format_bf16;
    case DT_F8E4M3: return &format_e4m3;
    case DT_F8E5M2: return &format_e5m2;
    default: return NULL;
    }
}

static uint32_t all_ones(int bits) { return (1u << bits) - 1; }

/* The largest exponent field that still holds finite numbers. */
static int max_finite_exponent_field(const FloatFormat *f)
{
    int top = (int)all_ones(f->exponent_bits);
    return f->has_infinity ? top - 1 : top;
}

static uint32_t max_finite_bits(const FloatFormat *f)
{
    uint32_t mantissa = all_ones(f->mantissa_bits);
    if (!f->has_infinity)
        mantissa -= 1; /* the all-ones mantissa at the top exponent is NaN */
    return ((uint32_t)max_finite_exponent_field(f) << f->mantissa_bits) | mantissa;
}

static uint32_t infinity_bits(const FloatFormat *f)
{
    return all_ones(f->exponent_bits) << f->mantissa_bits;
}

/* Magnitude bits for a value too large for the format. A non-saturating format without
   infinity would need NaN here; there is none (e4m3fn saturates). */
static uint32_t overflow_bits(const FloatFormat *f)
{
    if (f->saturates || !f->has_infinity)
        return max_finite_bits(f);
    return infinity_bits(f);
}

/* value >> shift, rounded to nearest with ties to even; value < 2^53. */
static uint64_t shift_right_nearest_even(uint64_t value, int shift)
{
    if (shift <= 0)
        return value << -shift;
    if (shift > 63)
        return 0; /* value / 2^shift < 2^-10: below half of one unit */
    uint64_t kept = value >> shift;
    uint64_t dropped = value & ((UINT64_C(1) << shift) - 1);
    uint64_t half = UINT64_C(1) << (shift - 1);
    if (dropped > half || (dropped == half && (kept & 1)))
        kept += 1;
    return kept;
}

static int highest_set_bit(uint64_t v)
{
    int bit = 0;
    while (v >>= 1)
        bit++;
    return bit;
}

/* Encode a finite nonzero positive double given by its bits. The result is the count of
   quanta (units in the last place) of the target binade, added onto the exponent field
   so that a rounding carry into the next binade, and the subnormal/normal boundary,
   fall out of plain integer addition. */
static uint32_t encode_positive_finite(const FloatFormat *f, uint64_t double_bits)
{
    int exponent_field = (int)(double_bits >> 52);
    uint64_t fraction = double_bits & ((UINT64_C(1) << 52) - 1);
    uint64_t significand; /* value = significand * 2^exponent */
    int exponent;
    int top_bit;
    if (exponent_field == 0) {
        significand = fraction;
        exponent = -1074;
        top_bit = highest_set_bit(significand);
    } else {
        significand = fraction | (UINT64_C(1) << 52);
        exponent = exponent_field - 1075;
        top_bit = 52;
    }

    int binade = exponent + top_bit; /* floor(log2(value)) */
    int min_normal_binade = 1 - f->bias;
    if (binade > max_finite_exponent_field(f) - f->bias)
        return overflow_bits(f);

    int target_binade = binade < min_normal_binade ? min_normal_binade : binade;
    int quantum = target_binade - f->mantissa_bits;
    uint64_t quanta = shift_right_nearest_even(significand, quantum - exponent);
    uint32_t bits = ((uint32_t)(target_binade + f->bias - 1) << f->mantissa_bits) +
                    (uint32_t)quanta;
    if (bits > max_finite_bits(f))
        return overflow_bits(f);
    return bits;
}

uint32_t dtype_encode_f64(DType t, double x)
{
    const FloatFormat *f = float_format(t);
    if (!f)
        return 0;
    uint64_t double_bits;
    memcpy(&double_bits, &x, sizeof double_bits);
    uint32_t sign = (uint32_t)(double_bits >> 63) << (f->exponent_bits + f->mantissa_bits);
    if (isnan(x))
        return f->canonical_nan | (f->nan_keeps_sign ? sign : 0);
    if (isinf(x))
        return sign | overflow_bits(f);
    if (x == 0)
        return sign;
    return sign | encode_positive_finite(f, double_bits & ~(UINT64_C(1) << 63));
}

double dtype_decode(DType t, uint32_t bits)
{
    const FloatFormat *f = float_format(t);
    if (!f)
        return NAN;
    int width = f->exponent_bits + f->mantissa_bits;
    bool negative = (bits >> width) & 1;
    uint32_t exponent_field = (bits >> f->mantissa_bits) & all_ones(f->exponent_bits);
    uint32_t mantissa = bits & all_ones(f->mantissa_bits);
    double magnitude;

    if (exponent_field == all_ones(f->exponent_bits) &&
        (f->has_infinity || mantissa == all_ones(f->mantissa_bits))) {
        magnitude = (f->has_infinity && mantissa == 0) ? INFINITY : NAN;
    } else if (exponent_field == 0) {
        magnitude = ldexp((double)mantissa, 1 - f->bias - f->mantissa_bits);
    } else {
        magnitude = ldexp((double)(mantissa | (1u << f->mantissa_bits)),
                          (int)exponent_field - f->bias - f->mantissa_bits);
    }
    return negative ? -magnitude : magnitude;
}

/* ---- integer and bool conversions ---- */

int32_t convert_f64_to_i32(double x)
{
    if (isnan(x))
        return 0;
    if (x >= 2147483648.0)
        return INT32_MAX;
    if (x <= -2147483649.0)
        return INT32_MIN;
    return (int32_t)x; /* in range: C truncates toward zero */
}

int64_t convert_f64_to_i64(double x)
{
    if (isnan(x))
        return 0;
    if (x >= 9223372036854775808.0)
        return INT64_MAX;
    if (x < -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)x;
}

int64_t convert_f64_to_int(DType t, double x)
{
    if (t == DT_I64)
        return convert_f64_to_i64(x);
    if (t == DT_I32)
        return convert_f64_to_i32(x);
    int bits = dtype_int_bits(t);
    double lo = dtype_is_unsigned(t) ? 0 : -ldexp(1, bits - 1);
    double hi = dtype_is_unsigned(t) ? ldexp(1, bits) - 1 : ldexp(1, bits - 1) - 1;
    if (isnan(x))
        return 0;
    x = trunc(x);
    return (int64_t)(x < lo ? lo : x > hi ? hi : x);
}

bool convert_f64_to_bool(double x)
{
    return x != 0;
}

float round_f32_to(DType t, float x)
{
    switch (t) {
    case DT_BOOL: return convert_f64_to_bool(x) ? 1.0f : 0.0f;
    default: break;
    }
    if (dtype_is_int(t))
        return (float)convert_f64_to_int(t, x);
    if (!dtype_is_float(t))
        return x;
    /* The decoded value of every float dtype is exactly a float, so the cast is exact. */
    return (float)dtype_decode(t, dtype_encode_f64(t, x));
}
