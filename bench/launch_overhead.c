/* launch_overhead.c — host time per launch through libtile's typed launchers (the NAME.h
   functions `tilec build` writes) against a raw cuLaunchKernel of the same variant's code
   with the same arguments and tensor maps prepared once, and the checking mode apart. CPU clock around the launch calls
   only, 256 launches between synchronisations, small problems so the queue never fills.
   usage: launch_overhead DIR   (DIR holds gemm.tbn/gemm.h and attention.tbn/attention.h,
   attention built with --config D=64); build: tests/gpu/run_runtime_gpu.sh */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attention.h"
#include "bundle_format.h"
#include "gemm.h"
#include "tile_internal.h"

enum { BATCH = 256, ROUNDS = 60 };

/* One kernel set up both ways: the typed launcher's arguments and the raw launch's, which
   is what an application that prepared the launch once would replay: the variant's
   function, its ABI values and tensor maps from tile_launch_prepare, then cuLaunchKernel. */
typedef struct Case {
    const char *name;
    tile_context *ctx;
    tile_bundle *bundle;
    CUstream stream;
    CUdeviceptr buf[4];
    int64_t dims[5];
    bool causal;
    /* raw */
    CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void **, void **);
    tile_prepared_launch prep;
    void *args[TILE_MAX_ABI_ARGS + TBN_MAX_TMAPS];
    int failures;
} Case;

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

static tile_status typed_gemm(Case *c)
{
    int64_t M = c->dims[0], K = c->dims[1], N = c->dims[2];
    return gemm_gemm(c->ctx, c->bundle, c->stream, (const tile_bf16 *)(uintptr_t)c->buf[0], K, 1,
                     (const tile_bf16 *)(uintptr_t)c->buf[1], N, 1,
                     (tile_bf16 *)(uintptr_t)c->buf[2], N, 1, M, K, N);
}

static tile_status typed_attention(Case *c)
{
    int64_t Z = c->dims[0], H = c->dims[1], M = c->dims[2], D = c->dims[3], N = c->dims[4];
    return attention_attention(c->ctx, c->bundle, c->stream,
        (const tile_bf16 *)(uintptr_t)c->buf[0], H * M * D, M * D, D, 1,
        (const tile_bf16 *)(uintptr_t)c->buf[1], H * N * D, N * D, D, 1,
        (const tile_bf16 *)(uintptr_t)c->buf[2], H * N * D, N * D, D, 1,
        (tile_bf16 *)(uintptr_t)c->buf[3], H * M * D, M * D, D, 1,
        Z, H, M, D, N, 1.0f / sqrtf((float)D), c->causal);
}

/* The raw launch: libtile's own dispatch, argument packing and tensor maps, prepared once
   (the cuLaunchKernel entry point resolved by libtile's loader, as an application would take
   it from its own CUDA library). */
static int setup_raw(Case *c, const tile_launch_values *values)
{
    if (tile_dev_proc(c->ctx, "cuLaunchKernel", (void **)&c->LaunchKernel) != TILE_OK ||
        tile_launch_prepare(c->ctx, c->bundle, 0, values, c->stream, &c->prep) != TILE_OK) {
        fprintf(stderr, "launch_overhead: %s: %s\n", c->name, tile_error_message(c->ctx));
        return -1;
    }
    const tile_prepared_launch *p = &c->prep;
    for (int i = 0; i < p->nargs; i++)
        c->args[i] = (void *)&p->args[i];
    for (int m = 0; m < p->nmaps; m++)   /* grid-constant tensor maps, by value */
        c->args[p->nargs + m] = (void *)&p->maps[m];
    printf("%s: variant %u, %u blocks x %u threads, %u bytes shared, %d ABI args and %d tensor "
           "maps\n", c->name, p->variant, p->blocks, p->threads, p->smem_bytes, p->nargs,
           p->nmaps);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef enum Mode { RAW, TYPED, TYPED_CHECK, MODE_COUNT } Mode;
static const char *const mode_names[MODE_COUNT] = {"raw cuLaunchKernel", "typed launcher",
                                                   "typed, checking mode"};

/* One batch of BATCH launches; returns µs per launch (launch calls only). */
static double batch(Case *c, Mode mode, tile_status (*typed)(Case *))
{
    double t0 = now_us();
    if (mode == RAW) {
        for (int i = 0; i < BATCH; i++)
            c->failures += c->LaunchKernel(c->prep.function, c->prep.blocks, 1, 1,
                                           c->prep.threads, 1, 1, c->prep.smem_bytes, c->stream,
                                           c->args, NULL) != 0;
    } else {
        for (int i = 0; i < BATCH; i++)
            c->failures += typed(c) != TILE_OK;
    }
    double t1 = now_us();
    tile_dev_stream_synchronize(c->ctx, c->stream);
    return (t1 - t0) / BATCH;
}

static int measure(Case *c, tile_status (*typed)(Case *))
{
    double per[MODE_COUNT][ROUNDS];
    for (int w = 0; w < 4; w++)   /* warm-up: modules, caches, clocks */
        for (int m = 0; m < MODE_COUNT; m++) {
            tile_context_set_checking(c->ctx, m == TYPED_CHECK);
            batch(c, (Mode)m, typed);
        }
    for (int r = 0; r < ROUNDS; r++)   /* interleaved, so drift hits all three alike */
        for (int m = 0; m < MODE_COUNT; m++) {
            tile_context_set_checking(c->ctx, m == TYPED_CHECK);
            per[m][r] = batch(c, (Mode)m, typed);
        }
    tile_context_set_checking(c->ctx, false);
    double median[MODE_COUNT];
    for (int m = 0; m < MODE_COUNT; m++) {
        qsort(per[m], ROUNDS, sizeof per[m][0], cmp_double);
        median[m] = per[m][ROUNDS / 2];
        printf("  %-22s median %6.3f us  min %6.3f us  p90 %6.3f us per launch\n", mode_names[m],
               median[m], per[m][0], per[m][ROUNDS * 9 / 10]);
    }
    printf("  %s: typed / raw = %.3f (goal <= 1.2), checking / raw = %.3f; %d failed calls\n",
           c->name, median[TYPED] / median[RAW], median[TYPED_CHECK] / median[RAW], c->failures);
    printf("RESULT %s raw_us=%.3f typed_us=%.3f check_us=%.3f ratio=%.3f check_ratio=%.3f\n",
           c->name, median[RAW], median[TYPED], median[TYPED_CHECK], median[TYPED] / median[RAW],
           median[TYPED_CHECK] / median[RAW]);
    return c->failures == 0 ? 0 : 1;
}

static int fill(tile_context *ctx, CUdeviceptr *out, size_t count, unsigned seed)
{
    uint16_t *h = malloc(count * 2);
    srand(seed);
    for (size_t i = 0; i < count; i++) {   /* small bf16 values in [-1, 1] */
        float x = (float)rand() / RAND_MAX * 2 - 1;
        uint32_t u;
        memcpy(&u, &x, 4);
        h[i] = (uint16_t)(u >> 16);
    }
    int rc = tile_dev_alloc(ctx, count * 2, out) == TILE_OK &&
             tile_dev_copy_to_device(ctx, *out, h, count * 2) == TILE_OK ? 0 : -1;
    free(h);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: launch_overhead DIR\n", stderr);
        return 2;
    }
    tile_context *ctx = NULL;
    tile_device_info info;
    CUstream stream;
    tile_status s = tile_context_create(&ctx, NULL);
    if (s == TILE_OK)
        s = tile_dev_info(ctx, &info);
    if (s == TILE_OK)
        s = tile_dev_stream_create(ctx, &stream);
    if (s != TILE_OK) {
        fprintf(stderr, "launch_overhead: %s\n", tile_error_message(ctx));
        return 1;
    }
    int sm = info.cc_major * 10 + info.cc_minor;
    printf("GPU: %s (sm_%d), driver %d; %d launches per synchronisation, %d rounds, "
           "medians\n", info.name, sm, info.driver_version, BATCH, ROUNDS);
    char path[1024];
    int status = 0;

    /* gemm 64 x 64 x 64: one block */
    {
        Case c = {.name = "gemm", .ctx = ctx, .stream = stream, .dims = {64, 64, 64}};
        snprintf(path, sizeof path, "%s/gemm.tbn", argv[1]);
        if ((s = tile_bundle_load_file(ctx, path, &c.bundle)) != TILE_OK ||
            (s = tile_bundle_preload(ctx, c.bundle)) != TILE_OK) {
            fprintf(stderr, "launch_overhead: %s\n", tile_error_message(ctx));
            return 1;
        }
        for (int i = 0; i < 3; i++)
            if (fill(ctx, &c.buf[i], 64 * 64, 1 + i) != 0)
                return 1;
        int64_t symbols[3] = {64, 64, 64}, strides[6] = {64, 1, 64, 1, 64, 1};
        void *pointers[3] = {(void *)(uintptr_t)c.buf[0], (void *)(uintptr_t)c.buf[1],
                             (void *)(uintptr_t)c.buf[2]};
        tile_launch_values values = {pointers, strides, symbols, NULL, NULL};
        if (setup_raw(&c, &values) != 0)
            return 1;
        status |= measure(&c, typed_gemm);
        tile_bundle_free(c.bundle);
    }
    /* attention Z=1 H=1 M=N=64 D=64: one block; 21 ABI arguments */
    for (int causal = 0; causal <= 1; causal++) {
        Case c = {.name = causal ? "attention_causal" : "attention", .ctx = ctx,
                  .stream = stream, .dims = {1, 1, 64, 64, 64}, .causal = causal};
        snprintf(path, sizeof path, "%s/attention.tbn", argv[1]);
        if ((s = tile_bundle_load_file(ctx, path, &c.bundle)) != TILE_OK ||
            (s = tile_bundle_preload(ctx, c.bundle)) != TILE_OK) {
            fprintf(stderr, "launch_overhead: %s\n", tile_error_message(ctx));
            return 1;
        }
        for (int i = 0; i < 4; i++)
            if (fill(ctx, &c.buf[i], 64 * 64, 7 + i) != 0)
                return 1;
        int64_t symbols[5] = {1, 1, 64, 64, 64}, consts[1] = {causal}, strides[16];
        for (int t = 0; t < 4; t++) {
            strides[4 * t] = 64 * 64, strides[4 * t + 1] = 64 * 64;
            strides[4 * t + 2] = 64, strides[4 * t + 3] = 1;
        }
        void *pointers[4];
        for (int t = 0; t < 4; t++)
            pointers[t] = (void *)(uintptr_t)c.buf[t];
        tile_scalar scale = {.f32 = 1.0f / 8.0f};
        tile_launch_values values = {pointers, strides, symbols, &scale, consts};
        if (setup_raw(&c, &values) != 0)
            return 1;
        status |= measure(&c, typed_attention);
        tile_bundle_free(c.bundle);
    }
    tile_dev_stream_destroy(ctx, stream);
    tile_context_destroy(ctx);
    return status;
}
