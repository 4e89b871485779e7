/* probe_run.c — runs tests/codegen/mma_probe's PTX on the GPU, through libtile's driver (its
   internal interface; the probe's kernels are not tilec's, so they load and launch raw):
   every GEMM variant at 4096³ and at a ragged shape, checked against a double-precision CPU
   reference (all entries of ragged shapes, a sample of big ones), guard bands and a NaN canary
   around C, then timed (median of 20 after warm-up); and the small emitters' self-test.
   Prints one table row per run. usage: probe_run PTX_FILE [STAGES] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "tile_internal.h"

/* libtile's context, and the raw driver calls a probe needs, resolved by libtile's loader. */
typedef struct Probe {
    tile_context *ctx;
    CUresult (*ModuleLoadDataEx)(CUmodule *, const void *, unsigned, CUjit_option *, void **);
    CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
    CUresult (*ModuleUnload)(CUmodule);
    CUresult (*FuncSetAttribute)(CUfunction, CUfunction_attribute, int);
    CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void **, void **);
} Probe;

#define CHECK(call)                                                                   \
    do {                                                                              \
        if ((call) != TILE_OK) {                                                      \
            fprintf(stderr, "probe_run: %s:%d: %s\n", __FILE__, __LINE__,             \
                    tile_error_message(probe->ctx));                                  \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)
#define CU(call)                                                                      \
    do {                                                                              \
        CUresult r_ = (call);                                                         \
        if (r_ != CUDA_SUCCESS) {                                                     \
            fprintf(stderr, "probe_run: %s:%d: %s failed (%d)\n", __FILE__, __LINE__, \
                    #call, (int)r_);                                                  \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

static void open_probe(Probe *probe)
{
    const char *names[] = {"cuModuleLoadDataEx", "cuModuleGetFunction", "cuModuleUnload",
                           "cuFuncSetAttribute", "cuLaunchKernel"};
    void **slots[] = {(void **)&probe->ModuleLoadDataEx, (void **)&probe->ModuleGetFunction,
                      (void **)&probe->ModuleUnload, (void **)&probe->FuncSetAttribute,
                      (void **)&probe->LaunchKernel};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK(tile_dev_proc(probe->ctx, names[i], slots[i]));
}

/* Loads NUL-terminated PTX; a failure prints the JIT's error log. */
static CUmodule load_ptx(Probe *probe, const char *ptx)
{
    char log[8192] = "";
    CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *values[] = {log, (void *)(uintptr_t)sizeof log};
    CUmodule module = NULL;
    CUresult r = probe->ModuleLoadDataEx(&module, ptx, 2, options, values);
    if (r != CUDA_SUCCESS) {
        fprintf(stderr, "probe_run: loading the PTX failed (%d)\n%s\n", (int)r, log);
        exit(1);
    }
    return module;
}

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

static void run_gemm(Probe *probe, CUmodule mod, const Variant *v, int M, int N, int K)
{
    tile_context *ctx = probe->ctx;
    CUfunction fn;
    CU(probe->ModuleGetFunction(&fn, mod, v->kernel));
    int smem = stages * (128 * 128 + 128 * 128); /* A and B per stage, 128 bytes of K a row */
    CU(probe->FuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem));
    int regs, local;
    CHECK(tile_dev_function_resources(ctx, fn, &regs, &local));
    int es = dtype_size(v->ab);
    size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N;
    unsigned char *ha = malloc(na * es), *hb = malloc(nb * es);
    double *va = malloc(na * sizeof *va), *vb = malloc(nb * sizeof *vb);
    fill(v->ab, na, ha, va);
    fill(v->ab, nb, hb, vb);
    uint16_t *hc = malloc((nc + 2 * GUARD) * 2);
    CUdeviceptr da, db, dc;
    CHECK(tile_dev_alloc(ctx, na * es, &da));
    CHECK(tile_dev_alloc(ctx, nb * es, &db));
    CHECK(tile_dev_alloc(ctx, (nc + 2 * GUARD) * 2, &dc));
    CHECK(tile_dev_copy_to_device(ctx, da, ha, na * es));
    CHECK(tile_dev_copy_to_device(ctx, db, hb, nb * es));
    CHECK(tile_dev_memset_async(ctx, dc, 2, CANARY_BF16, nc + 2 * GUARD, NULL));
    CUdeviceptr c = dc + GUARD * 2;
    int lda = K, ldb = v->b_k_major ? K : N, ldc = N;
    void *args[] = {&da, &db, &c, &M, &N, &K, &lda, &ldb, &ldc};
    unsigned blocks = (unsigned)(((M + 127) / 128) * ((N + 127) / 128));
    CU(probe->LaunchKernel(fn, blocks, 1, 1, (unsigned)v->threads, 1, 1, (unsigned)smem, NULL,
                           args, NULL));
    CHECK(tile_dev_synchronize(ctx));
    CHECK(tile_dev_copy_to_host(ctx, hc, dc, (nc + 2 * GUARD) * 2));

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
    CHECK(tile_dev_event_create(ctx, &start));
    CHECK(tile_dev_event_create(ctx, &end));
    float times[TIMED_RUNS];
    for (int r = 0; r < WARMUP + TIMED_RUNS; r++) {
        CHECK(tile_dev_event_record(ctx, start, NULL));
        CU(probe->LaunchKernel(fn, blocks, 1, 1, (unsigned)v->threads, 1, 1, (unsigned)smem,
                               NULL, args, NULL));
        CHECK(tile_dev_event_record(ctx, end, NULL));
        float ms;
        CHECK(tile_dev_event_elapsed_ms(ctx, start, end, &ms));
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
    CHECK(tile_dev_event_destroy(ctx, start));
    CHECK(tile_dev_event_destroy(ctx, end));
    CHECK(tile_dev_free(ctx, da));
    CHECK(tile_dev_free(ctx, db));
    CHECK(tile_dev_free(ctx, dc));
    free(ha), free(hb), free(va), free(vb), free(hc);
}

/* The nvvm_selftest kernel's outputs against host arithmetic. */
static void run_selftest(Probe *probe, CUmodule mod)
{
    enum { N = 4096 + 6 };
    tile_context *ctx = probe->ctx;
    CUfunction fn;
    CU(probe->ModuleGetFunction(&fn, mod, "nvvm_selftest"));
    static float x[N];
    for (int i = 0; i < N; i++)
        x[i] = (float)(uniform() * (i % 5 == 0 ? 1000.0 : 4.0)); /* some saturate in e4m3 */
    int pairs = N / 2;
    CUdeviceptr dx, dfp8, dun, dbf, dmath, dsum, damax;
    CHECK(tile_dev_alloc(ctx, sizeof x, &dx));
    CHECK(tile_dev_alloc(ctx, (size_t)pairs * 4, &dfp8));
    CHECK(tile_dev_alloc(ctx, sizeof x, &dun));
    CHECK(tile_dev_alloc(ctx, (size_t)pairs * 4, &dbf));
    CHECK(tile_dev_alloc(ctx, (size_t)pairs * 16, &dmath));
    CHECK(tile_dev_alloc(ctx, (size_t)pairs * 4, &dsum));
    CHECK(tile_dev_alloc(ctx, 8, &damax));
    CHECK(tile_dev_copy_to_device(ctx, dx, x, sizeof x));
    CHECK(tile_dev_memset_async(ctx, damax, 4, 0xFF800000u, 2, NULL)); /* -inf: max's identity */
    int n = N;
    void *args[] = {&dx, &dfp8, &dun, &dbf, &dmath, &dsum, &damax, &n};
    CU(probe->LaunchKernel(fn, (unsigned)(pairs + 127) / 128, 1, 1, 128, 1, 1, 0, NULL, args,
                           NULL));
    CHECK(tile_dev_synchronize(ctx));
    static uint32_t fp8[N / 2], bf[N / 2];
    static float un[N], math[N * 2], sum[N / 2], amax[2];
    CHECK(tile_dev_copy_to_host(ctx, fp8, dfp8, sizeof fp8));
    CHECK(tile_dev_copy_to_host(ctx, un, dun, sizeof un));
    CHECK(tile_dev_copy_to_host(ctx, bf, dbf, sizeof bf));
    CHECK(tile_dev_copy_to_host(ctx, math, dmath, (size_t)pairs * 16));
    CHECK(tile_dev_copy_to_host(ctx, sum, dsum, sizeof sum));
    CHECK(tile_dev_copy_to_host(ctx, amax, damax, sizeof amax));
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
        CHECK(tile_dev_free(ctx, all[i]));
}

int main(int argc, char **argv)
{
    Probe probe_state = {0}, *probe = &probe_state;
    if (tile_context_create(&probe->ctx, NULL) != TILE_OK) {
        printf("probe_run: %s\n", tile_error_message(probe->ctx));
        tile_context_destroy(probe->ctx);
        return 3;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: probe_run PTX_FILE\n");
        return 2;
    }
    tile_device_info info;
    CHECK(tile_dev_info(probe->ctx, &info));   /* device 0's primary context, made current */
    open_probe(probe);
    printf("device %s, %d SMs, sm_%d%d, %d MHz, %d KB smem/block opt-in, driver %d\n", info.name,
           info.sm_count, info.cc_major, info.cc_minor, info.clock_khz / 1000,
           info.max_shared_per_block / 1024, info.driver_version);
    if (argc > 2)
        stages = atoi(argv[2]);
    char *ptx = read_file(argv[1]);
    if (!ptx) {
        fprintf(stderr, "probe_run: cannot read %s\n", argv[1]);
        return 2;
    }
    CUmodule mod = load_ptx(probe, ptx);
    run_selftest(probe, mod);
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const Variant *v = &variants[i];
        bool fp8 = dtype_is_fp8(v->ab);
        bool narrow_copy = strstr(v->kernel, "ca8") != NULL;
        run_gemm(probe, mod, v, 4096, 4096, 4096);
        /* 16-byte copies need K·es % 16 == 0: fp8 cg variants take K = 1008 */
        run_gemm(probe, mod, v, 1000, 1000, fp8 && !narrow_copy ? 1008 : 1000);
    }
    CU(probe->ModuleUnload(mod));
    free(ptx);
    tile_context_destroy(probe->ctx);
    return 0;
}
