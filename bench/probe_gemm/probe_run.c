/* probe_run.c — runs tests/codegen/mma_probe's PTX on the GPU through runtime/cuda_driver.c:
   every GEMM variant at 4096³ and at a ragged shape, checked against a double-precision CPU
   reference (all entries of ragged shapes, a sample of big ones), guard bands and a NaN canary
   around C, then timed (median of 20 after warm-up); and the small emitters' self-test.
   Prints one table row per run. usage: probe_run PTX_FILE [STAGES] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_driver.h"
#include "base.h"

#define CHECK(call)                                                                   \
    do {                                                                              \
        if ((call) != CUDA_OK) {                                                      \
            fprintf(stderr, "probe_run: %s:%d: %s\n", __FILE__, __LINE__,             \
                    cuda_driver_message(drv));                                        \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

enum { GUARD = 4096, CANARY_BF16 = 0x7FC1, TIMED_RUNS = 20, WARMUP = 5 };

typedef struct Variant {
    const char *kernel;
    DType ab;
    bool b_k_major;
    int threads;
} Variant;

static const Variant variants[] = {
    {"gemm_bf16", DT_BF16, false, 128},   {"gemm_bf16_nt", DT_BF16, true, 128},
    {"gemm_e4m3", DT_F8E4M3, true, 256},  {"gemm_e4m3_ca8", DT_F8E4M3, true, 256},
    {"gemm_e5m2", DT_F8E5M2, true, 256},  {"gemm_e4m3_f16", DT_F8E4M3, true, 128},
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double uniform(void) /* [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1p-52 - 1.0;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    s[n] = 0;
    fclose(f);
    return s;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Random operand bits of type t (values in [-2, 2) for fp8, [-1, 1) for bf16) and their
   exact values as doubles. */
static void fill(DType t, size_t n, unsigned char *bits, double *values)
{
    int es = dtype_size(t);
    double scale = dtype_is_fp8(t) ? 2.0 : 1.0;
    for (size_t i = 0; i < n; i++) {
        uint32_t b = dtype_encode_f64(t, uniform() * scale);
        values[i] = dtype_decode(t, b);
        memcpy(bits + i * (size_t)es, &b, (size_t)es); /* little-endian low bytes */
    }
}

static int stages = 2;

static void run_gemm(CudaDriver *drv, const CudaModule *mod, const Variant *v, int M, int N,
                     int K)
{
    CUfunction fn;
    CHECK(cuda_module_function(drv, mod, v->kernel, &fn));
    int smem = stages * (128 * 128 + 128 * 128); /* A and B per stage, 128 bytes of K a row */
    CHECK(cuda_function_set_max_dynamic_shared(drv, fn, smem));
    int regs, local, shared;
    CHECK(cuda_function_resources(drv, fn, &regs, &local, &shared));
    int es = dtype_size(v->ab);
    size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N;
    unsigned char *ha = malloc(na * es), *hb = malloc(nb * es);
    double *va = malloc(na * sizeof *va), *vb = malloc(nb * sizeof *vb);
    fill(v->ab, na, ha, va);
    fill(v->ab, nb, hb, vb);
    uint16_t *hc = malloc((nc + 2 * GUARD) * 2);
    CUdeviceptr da, db, dc;
    CHECK(cuda_mem_alloc(drv, na * es, &da));
    CHECK(cuda_mem_alloc(drv, nb * es, &db));
    CHECK(cuda_mem_alloc(drv, (nc + 2 * GUARD) * 2, &dc));
    CHECK(cuda_copy_to_device(drv, da, ha, na * es));
    CHECK(cuda_copy_to_device(drv, db, hb, nb * es));
    CHECK(cuda_memset16_async(drv, dc, CANARY_BF16, nc + 2 * GUARD, NULL));
    CUdeviceptr c = dc + GUARD * 2;
    int lda = K, ldb = v->b_k_major ? K : N, ldc = N;
    void *args[] = {&da, &db, &c, &M, &N, &K, &lda, &ldb, &ldc};
    unsigned blocks = (unsigned)(((M + 127) / 128) * ((N + 127) / 128));
    CudaLaunch launch = {{blocks, 1, 1}, {(unsigned)v->threads, 1, 1}, (unsigned)smem, NULL};
    CHECK(cuda_launch(drv, fn, &launch, args));
    CHECK(cuda_synchronize(drv));
    CHECK(cuda_copy_to_host(drv, hc, dc, (nc + 2 * GUARD) * 2));

    int guard_bad = 0, unwritten = 0;
    for (int i = 0; i < GUARD; i++)
        guard_bad += (hc[i] != CANARY_BF16) + (hc[GUARD + nc + i] != CANARY_BF16);
    const uint16_t *out = hc + GUARD;
    for (size_t i = 0; i < nc; i++)
        unwritten += out[i] == CANARY_BF16;
    /* All entries when small; else every 64th row (and the last) at every 8th column. */
    bool full = nc <= 1200000;
    double err2 = 0, ref2 = 0, max_err = 0;
    long checked = 0;
    for (int i = 0; i < M; i++) {
        if (!full && i % 64 != 0 && i != M - 1)
            continue;
        for (int j = 0; j < N; j++) {
            if (!full && j % 8 != 0 && j != N - 1)
                continue;
            double ref = 0;
            for (int k = 0; k < K; k++)
                ref += va[(size_t)i * K + k] *
                       (v->b_k_major ? vb[(size_t)j * K + k] : vb[(size_t)k * N + j]);
            double got = dtype_decode(DT_BF16, out[(size_t)i * N + j]);
            double e = fabs(got - ref);
            if (!(e <= max_err))
                max_err = isnan(e) ? INFINITY : e;
            err2 += e * e;
            ref2 += ref * ref;
            checked++;
        }
    }
    double rel = sqrt(err2 / (ref2 > 0 ? ref2 : 1));

    CUevent start, end;
    CHECK(cuda_event_create(drv, &start));
    CHECK(cuda_event_create(drv, &end));
    float times[TIMED_RUNS];
    for (int r = 0; r < WARMUP + TIMED_RUNS; r++) {
        CHECK(cuda_event_record(drv, start, NULL));
        CHECK(cuda_launch(drv, fn, &launch, args));
        CHECK(cuda_event_record(drv, end, NULL));
        float ms;
        CHECK(cuda_event_elapsed_ms(drv, start, end, &ms));
        if (r >= WARMUP)
            times[r - WARMUP] = ms;
    }
    qsort(times, TIMED_RUNS, sizeof times[0], cmp_float);
    float median = (times[TIMED_RUNS / 2 - 1] + times[TIMED_RUNS / 2]) / 2;
    double tflops = 2.0 * M * N * K / (median * 1e-3) / 1e12;
    bool ok = guard_bad == 0 && unwritten == 0 && rel < 1e-2 && isfinite(max_err);
    printf("%-14s s%d %5dx%5dx%5d regs %3d local %3d | checked %8ld rel %.2e max %.2e unwritten %d "
           "guard %d | %8.4f ms %7.1f TFLOP/s %s\n",
           v->kernel, stages, M, N, K, regs, local, checked, rel, max_err, unwritten, guard_bad, median,
           tflops, ok ? "PASS" : "FAIL");
    CHECK(cuda_event_destroy(drv, start));
    CHECK(cuda_event_destroy(drv, end));
    CHECK(cuda_mem_free(drv, da));
    CHECK(cuda_mem_free(drv, db));
    CHECK(cuda_mem_free(drv, dc));
    free(ha), free(hb), free(va), free(vb), free(hc);
}

/* The nvvm_selftest kernel's outputs against host arithmetic. */
static void run_selftest(CudaDriver *drv, const CudaModule *mod)
{
    enum { N = 4096 + 6 };
    CUfunction fn;
    CHECK(cuda_module_function(drv, mod, "nvvm_selftest", &fn));
    static float x[N];
    for (int i = 0; i < N; i++)
        x[i] = (float)(uniform() * (i % 5 == 0 ? 1000.0 : 4.0)); /* some saturate in e4m3 */
    int pairs = N / 2;
    CUdeviceptr dx, dfp8, dun, dbf, dmath, dsum, damax;
    CHECK(cuda_mem_alloc(drv, sizeof x, &dx));
    CHECK(cuda_mem_alloc(drv, (size_t)pairs * 4, &dfp8));
    CHECK(cuda_mem_alloc(drv, sizeof x, &dun));
    CHECK(cuda_mem_alloc(drv, (size_t)pairs * 4, &dbf));
    CHECK(cuda_mem_alloc(drv, (size_t)pairs * 16, &dmath));
    CHECK(cuda_mem_alloc(drv, (size_t)pairs * 4, &dsum));
    CHECK(cuda_mem_alloc(drv, 8, &damax));
    CHECK(cuda_copy_to_device(drv, dx, x, sizeof x));
    CHECK(cuda_memset32_async(drv, damax, 0xFF800000u, 2, NULL)); /* -inf: max's identity */
    int n = N;
    void *args[] = {&dx, &dfp8, &dun, &dbf, &dmath, &dsum, &damax, &n};
    CudaLaunch launch = {{(unsigned)(pairs + 127) / 128, 1, 1}, {128, 1, 1}, 0, NULL};
    CHECK(cuda_launch(drv, fn, &launch, args));
    CHECK(cuda_synchronize(drv));
    static uint32_t fp8[N / 2], bf[N / 2];
    static float un[N], math[N * 2], sum[N / 2], amax[2];
    CHECK(cuda_copy_to_host(drv, fp8, dfp8, sizeof fp8));
    CHECK(cuda_copy_to_host(drv, un, dun, sizeof un));
    CHECK(cuda_copy_to_host(drv, bf, dbf, sizeof bf));
    CHECK(cuda_copy_to_host(drv, math, dmath, (size_t)pairs * 16));
    CHECK(cuda_copy_to_host(drv, sum, dsum, sizeof sum));
    CHECK(cuda_copy_to_host(drv, amax, damax, sizeof amax));
    int bad_e4 = 0, bad_e5 = 0, bad_un = 0, bad_bf = 0, bad_math = 0, bad_sum = 0;
    float want_max = -INFINITY, want_negabs = -INFINITY;
    for (int p = 0; p < pairs; p++) {
        float x0 = x[2 * p], x1 = x[2 * p + 1];
        uint32_t e4 = dtype_encode_f64(DT_F8E4M3, x0) | dtype_encode_f64(DT_F8E4M3, x1) << 8;
        uint32_t e5 = dtype_encode_f64(DT_F8E5M2, x0) | dtype_encode_f64(DT_F8E5M2, x1) << 8;
        bad_e4 += (fp8[p] & 0xFFFF) != e4;
        bad_e5 += (fp8[p] >> 16) != e5;
        bad_un += un[2 * p] != (float)dtype_decode(DT_F8E4M3, e4 & 0xFF) ||
                  un[2 * p + 1] != (float)dtype_decode(DT_F8E4M3, e4 >> 8);
        uint32_t b = dtype_encode_f64(DT_BF16, x0) | dtype_encode_f64(DT_BF16, x1) << 16;
        bad_bf += bf[p] != b;
        float m[4] = {exp2f(x0), exp2f(x1), log2f(fabsf(x0)), 1 / sqrtf(fabsf(x0))};
        for (int i = 0; i < 4; i++)
            /* .approx: ~2 ulp for ex2/rsqrt, 2^-22 absolute for lg2 near 1 */
            bad_math += !(fabsf(math[4 * p + i] - m[i]) <= 4e-6f * fabsf(m[i]) + 1e-6f) &&
                        !(isinf(m[i]) && isinf(math[4 * p + i]));
        int warp0 = p & ~31;
        double s = 0;
        for (int q = warp0; q < warp0 + 32 && q < pairs + 32; q++)
            s += q < pairs ? x[2 * q] : 0;
        bad_sum += fabs(sum[p] - s) > 1e-3 * (fabs(s) + 1);
        want_max = fmaxf(want_max, fmaxf(x0, x1));
        want_negabs = fmaxf(want_negabs, -fabsf(x0));
    }
    bool ok = !bad_e4 && !bad_e5 && !bad_un && !bad_bf && !bad_math && !bad_sum &&
              amax[0] == want_max && amax[1] == want_negabs;
    printf("nvvm_selftest  pairs %d | e4m3 %d e5m2 %d unpack %d bf16 %d math %d shfl %d bad | "
           "amax %g (want %g) max(-|x|) %g (want %g) %s\n",
           pairs, bad_e4, bad_e5, bad_un, bad_bf, bad_math, bad_sum, amax[0], want_max, amax[1],
           want_negabs, ok ? "PASS" : "FAIL");
    CUdeviceptr all[] = {dx, dfp8, dun, dbf, dmath, dsum, damax};
    for (int i = 0; i < 7; i++)
        CHECK(cuda_mem_free(drv, all[i]));
}

int main(int argc, char **argv)
{
    CudaDriver driver, *drv = &driver;
    if (cuda_driver_open(drv) != CUDA_OK) {
        printf("probe_run: %s\n", cuda_driver_message(drv));
        cuda_driver_close(drv);
        return 3;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: probe_run PTX_FILE\n");
        return 2;
    }
    CHECK(cuda_device_open(drv, 0));
    CudaDeviceInfo info;
    CHECK(cuda_device_info(drv, &info));
    printf("device %s, %d SMs, sm_%d%d, %d MHz, %d KB smem/block opt-in, driver %d\n", info.name,
           info.sm_count, info.cc_major, info.cc_minor, info.clock_khz / 1000,
           info.max_shared_per_block / 1024, drv->driver_version);
    if (argc > 2)
        stages = atoi(argv[2]);
    char *ptx = read_file(argv[1]);
    if (!ptx) {
        fprintf(stderr, "probe_run: cannot read %s\n", argv[1]);
        return 2;
    }
    CudaModule mod;
    CHECK(cuda_module_load_ptx(drv, ptx, &mod));
    run_selftest(drv, &mod);
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const Variant *v = &variants[i];
        bool fp8 = dtype_is_fp8(v->ab);
        bool narrow_copy = strstr(v->kernel, "ca8") != NULL;
        run_gemm(drv, &mod, v, 4096, 4096, 4096);
        /* 16-byte copies need K·es % 16 == 0: fp8 cg variants take K = 1008 */
        run_gemm(drv, &mod, v, 1000, 1000, fp8 && !narrow_copy ? 1008 : 1000);
    }
    CHECK(cuda_module_unload(drv, &mod));
    free(ptx);
    cuda_driver_close(drv);
    return 0;
}
