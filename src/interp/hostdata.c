/* hostdata.c — exact conversions between doubles and every dtype's storage format,
   and host tensors that keep elements in that format. One generic encoder/decoder,
   parameterised by the float format, serves f32, f16, bf16 and both fp8 kinds. */
#include "hostdata.h"
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

bool convert_f64_to_bool(double x)
{
    return x != 0;
}

float round_f32_to(DType t, float x)
{
    switch (t) {
    case DT_I32: return (float)convert_f64_to_i32(x);
    case DT_I64: return (float)convert_f64_to_i64(x);
    case DT_BOOL: return convert_f64_to_bool(x) ? 1.0f : 0.0f;
    default: break;
    }
    if (!dtype_is_float(t))
        return x;
    /* The decoded value of every float dtype is exactly a float, so the cast is exact. */
    return (float)dtype_decode(t, dtype_encode_f64(t, x));
}

/* ---- host tensors ---- */

static bool multiply_fits_int64(int64_t a, int64_t b, int64_t *out)
{
    if (a != 0 && b > INT64_MAX / a)
        return false;
    *out = a * b;
    return true;
}

bool host_shape_size(int rank, const int64_t *shape, int itemsize, int64_t *count,
                     size_t *nbytes)
{
    if (rank < 0 || rank > HOST_MAX_RANK || itemsize <= 0)
        return false;
    int64_t nonzero_product = 1;
    bool has_zero = false;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0)
            return false;
        if (shape[i] == 0) {
            has_zero = true;
            continue;
        }
        if (!multiply_fits_int64(nonzero_product, shape[i], &nonzero_product))
            return false;
    }
    int64_t bytes;
    if (!multiply_fits_int64(nonzero_product, itemsize, &bytes) || (uint64_t)bytes > SIZE_MAX)
        return false;
    *count = has_zero ? 0 : nonzero_product;
    *nbytes = has_zero ? 0 : (size_t)bytes;
    return true;
}

int host_alloc(HostTensor *t, DType dtype, int rank, const int64_t *shape)
{
    memset(t, 0, sizeof *t);
    int itemsize = dtype_size(dtype);
    int64_t count;
    size_t nbytes;
    if (!host_shape_size(rank, shape, itemsize, &count, &nbytes))
        return -1;
    void *data = calloc(nbytes ? nbytes : 1, 1);
    if (!data)
        return -1;
    t->dtype = dtype;
    t->rank = rank;
    int64_t stride = 1;
    for (int i = rank - 1; i >= 0; i--) {
        t->shape[i] = shape[i];
        t->strides[i] = stride;
        /* A zero dimension makes later strides meaningless; keep them finite. */
        stride *= shape[i] ? shape[i] : 1;
    }
    t->data = data;
    t->nbytes = nbytes;
    return 0;
}

void host_free(HostTensor *t)
{
    free(t->data);
    memset(t, 0, sizeof *t);
}

int64_t host_numel(const HostTensor *t)
{
    int64_t count = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->shape[i] == 0)
            return 0; /* before multiplying, as the other dimensions may be huge */
        count *= t->shape[i];
    }
    return count;
}

int64_t host_offset(const HostTensor *t, const int64_t *index)
{
    int64_t offset = 0;
    for (int i = 0; i < t->rank; i++)
        offset += index[i] * t->strides[i];
    return offset;
}

bool host_next_index(int rank, const int64_t *shape, int64_t *index)
{
    for (int i = rank - 1; i >= 0; i--) {
        if (++index[i] < shape[i])
            return true;
        index[i] = 0;
    }
    return false;
}

uint64_t host_get_raw_at(const HostTensor *t, int64_t offset)
{
    const unsigned char *p = (const unsigned char *)t->data;
    switch (dtype_size(t->dtype)) {
    case 1: return p[offset];
    case 2: { uint16_t v; memcpy(&v, p + offset * 2, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p + offset * 4, 4); return v; }
    case 8: { uint64_t v; memcpy(&v, p + offset * 8, 8); return v; }
    default: return 0;
    }
}

void host_set_raw_at(HostTensor *t, int64_t offset, uint64_t bits)
{
    unsigned char *p = (unsigned char *)t->data;
    switch (dtype_size(t->dtype)) {
    case 1: p[offset] = (unsigned char)bits; break;
    case 2: { uint16_t v = (uint16_t)bits; memcpy(p + offset * 2, &v, 2); break; }
    case 4: { uint32_t v = (uint32_t)bits; memcpy(p + offset * 4, &v, 4); break; }
    case 8: memcpy(p + offset * 8, &bits, 8); break;
    default: break;
    }
}

/* Reinterpret two's complement bits without implementation-defined casts. */
static int64_t signed_from_raw(uint64_t raw, int size)
{
    if (size == 4) {
        uint32_t narrow = (uint32_t)raw;
        int32_t value;
        memcpy(&value, &narrow, sizeof value);
        return value;
    }
    int64_t value;
    memcpy(&value, &raw, sizeof value);
    return value;
}

double host_get_at(const HostTensor *t, int64_t offset)
{
    uint64_t raw = host_get_raw_at(t, offset);
    switch (t->dtype) {
    case DT_I32: return (double)signed_from_raw(raw, 4);
    case DT_I64: return (double)signed_from_raw(raw, 8);
    case DT_BOOL: return raw ? 1.0 : 0.0;
    default: return dtype_decode(t->dtype, (uint32_t)raw);
    }
}

void host_set_at(HostTensor *t, int64_t offset, double x)
{
    uint64_t raw;
    switch (t->dtype) {
    case DT_I32: raw = (uint32_t)convert_f64_to_i32(x); break;
    case DT_I64: raw = (uint64_t)convert_f64_to_i64(x); break;
    case DT_BOOL: raw = convert_f64_to_bool(x); break;
    default: raw = dtype_encode_f64(t->dtype, x); break;
    }
    host_set_raw_at(t, offset, raw);
}

double host_get(const HostTensor *t, const int64_t *index)
{
    return host_get_at(t, host_offset(t, index));
}

void host_set(HostTensor *t, const int64_t *index, double x)
{
    host_set_at(t, host_offset(t, index), x);
}

static uint64_t splitmix64_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1) after rounding to t: a draw that rounds up to 1.0 is redrawn. */
static uint64_t random_float_bits(DType t, uint64_t *state)
{
    for (;;) {
        double unit = (double)(splitmix64_next(state) >> 11) * 0x1p-53; /* [0, 1) */
        uint32_t bits = dtype_encode_f64(t, 2.0 * unit - 1.0);
        if (dtype_decode(t, bits) < 1.0)
            return bits;
    }
}

static uint64_t random_raw(DType t, uint64_t *state)
{
    switch (t) {
    case DT_I32:
    case DT_I64: return (uint64_t)((int64_t)(splitmix64_next(state) >> 60) - 8);
    case DT_BOOL: return splitmix64_next(state) >> 63;
    default: return random_float_bits(t, state);
    }
}

/* Elements are drawn in C index order in chunks of FILL_CHUNK; each chunk has its own
   stream, seeded from the seed and the chunk's number, so chunks fill independently on
   several threads and the data do not depend on how many threads there are (a 50 M-element
   attention input took 2 s on one thread: most of a tune's start-up). */
enum { FILL_CHUNK = 1 << 20, FILL_MAX_THREADS = 16 };

typedef struct FillJob {
    HostTensor *t;
    uint64_t seed;
    int64_t nchunks;
    atomic_llong next;      /* the next chunk to take */
} FillJob;

static void fill_chunk(HostTensor *t, uint64_t seed, int64_t chunk)
{
    int64_t first = chunk * FILL_CHUNK, n = host_numel(t);
    int64_t last = first + FILL_CHUNK < n ? first + FILL_CHUNK : n;
    uint64_t mix = seed + (uint64_t)chunk * UINT64_C(0xD1B54A32D192ED03);
    uint64_t state = splitmix64_next(&mix);
    int64_t index[HOST_MAX_RANK] = {0}, rest = first;
    for (int i = t->rank - 1; i >= 0; i--) {
        index[i] = rest % t->shape[i];
        rest /= t->shape[i];
    }
    for (int64_t e = first; e < last; e++) {
        host_set_raw_at(t, host_offset(t, index), random_raw(t->dtype, &state));
        host_next_index(t->rank, t->shape, index);
    }
}

static void *fill_worker(void *arg)
{
    FillJob *job = arg;
    for (int64_t c; (c = atomic_fetch_add(&job->next, 1)) < job->nchunks;)
        fill_chunk(job->t, job->seed, c);
    return NULL;
}

void host_fill_random(HostTensor *t, uint64_t seed)
{
    int64_t n = host_numel(t);
    if (n == 0)
        return;
    FillJob job = {.t = t, .seed = seed, .nchunks = (n + FILL_CHUNK - 1) / FILL_CHUNK};
    atomic_init(&job.next, 0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t want = job.nchunks < cpus ? job.nchunks : cpus;
    int nthreads = want > FILL_MAX_THREADS ? FILL_MAX_THREADS : (int)want;
    pthread_t threads[FILL_MAX_THREADS];
    int started = 0;
    while (started < nthreads - 1 && pthread_create(&threads[started], NULL, fill_worker, &job) == 0)
        started++;
    fill_worker(&job);   /* this thread takes chunks too; alone if none could start */
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
}
