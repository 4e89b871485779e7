/* hostdata.c — host tensors that keep elements in their dtype's own storage format
   (converting through src/base/convert.c), with any strides, and their random fill. */
#include "interp.h"
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* An integer dtype's element from its raw bits: sign- or zero-extended from its width
   (two's complement without implementation-defined casts). */
static int64_t int_from_raw(DType t, uint64_t raw)
{
    int bits = dtype_int_bits(t);
    if (bits >= 64) {
        int64_t value;
        memcpy(&value, &raw, sizeof value);
        return value;
    }
    uint64_t low = raw & ((UINT64_C(1) << bits) - 1);
    if (dtype_is_unsigned(t))
        return (int64_t)low;
    uint64_t sign = UINT64_C(1) << (bits - 1);
    return (int64_t)(low ^ sign) - (int64_t)sign;
}

double host_get_at(const HostTensor *t, int64_t offset)
{
    uint64_t raw = host_get_raw_at(t, offset);
    if (dtype_is_int(t->dtype))
        return (double)int_from_raw(t->dtype, raw);
    if (t->dtype == DT_BOOL)
        return raw ? 1.0 : 0.0;
    return dtype_decode(t->dtype, (uint32_t)raw);
}

void host_set_at(HostTensor *t, int64_t offset, double x)
{
    uint64_t raw;
    if (dtype_is_int(t->dtype))
        raw = (uint64_t)convert_f64_to_int(t->dtype, x);
    else if (t->dtype == DT_BOOL)
        raw = convert_f64_to_bool(x);
    else
        raw = dtype_encode_f64(t->dtype, x);
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

static uint64_t random_raw(DType t, int64_t int_below, uint64_t *state)
{
    switch (t) {
    case DT_BOOL: return splitmix64_next(state) >> 63;
    default:
        if (!dtype_is_int(t))
            return random_float_bits(t, state);
        if (int_below > 0)
            return splitmix64_next(state) % (uint64_t)int_below;
        if (dtype_is_unsigned(t))
            return splitmix64_next(state) >> 60;   /* 0 to 15 */
        return (uint64_t)((int64_t)(splitmix64_next(state) >> 60) - 8);
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
    int64_t int_below;
    int64_t nchunks;
    atomic_llong next;      /* the next chunk to take */
} FillJob;

static void fill_chunk(HostTensor *t, uint64_t seed, int64_t int_below, int64_t chunk)
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
        host_set_raw_at(t, host_offset(t, index), random_raw(t->dtype, int_below, &state));
        host_next_index(t->rank, t->shape, index);
    }
}

static void *fill_worker(void *arg)
{
    FillJob *job = arg;
    for (int64_t c; (c = atomic_fetch_add(&job->next, 1)) < job->nchunks;)
        fill_chunk(job->t, job->seed, job->int_below, c);
    return NULL;
}

void host_fill_random(HostTensor *t, uint64_t seed, int64_t int_below)
{
    int64_t n = host_numel(t);
    if (n == 0)
        return;
    FillJob job = {.t = t, .seed = seed, .int_below = int_below,
                   .nchunks = (n + FILL_CHUNK - 1) / FILL_CHUNK};
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
