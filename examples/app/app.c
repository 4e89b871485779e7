/* app.c — a C program embedding a tilec kernel: loads a bundle (e.g. attention.tbn, built
   with `tilec build examples/attention.tile -o attention.tbn --config D=64`), fills device
   buffers, runs the attention kernel through libtile, checks it against a CPU reference and
   reports the time per launch. Needs only libtile and the NVIDIA driver at run time.
   usage: tile_app BUNDLE [Z H M N D]     build: cc app.c $(pkg-config --cflags --libs tile) -lm */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tile.h>

/* The few driver calls the app itself makes (memory), taken from libcuda with dlsym. */
typedef unsigned long long DevicePtr;
typedef struct Cuda {
    int (*MemAlloc)(DevicePtr *, size_t);
    int (*MemFree)(DevicePtr);
    int (*MemcpyHtoD)(DevicePtr, const void *, size_t);
    int (*MemcpyDtoH)(void *, DevicePtr, size_t);
    int (*CtxSynchronize)(void);
} Cuda;

static int open_cuda(Cuda *cu)
{
    void *lib = dlopen("libcuda.so.1", RTLD_NOW);
    if (!lib)
        return -1;
    *(void **)&cu->MemAlloc = dlsym(lib, "cuMemAlloc_v2");
    *(void **)&cu->MemFree = dlsym(lib, "cuMemFree_v2");
    *(void **)&cu->MemcpyHtoD = dlsym(lib, "cuMemcpyHtoD_v2");
    *(void **)&cu->MemcpyDtoH = dlsym(lib, "cuMemcpyDtoH_v2");
    *(void **)&cu->CtxSynchronize = dlsym(lib, "cuCtxSynchronize");
    return cu->MemAlloc && cu->MemFree && cu->MemcpyHtoD && cu->MemcpyDtoH && cu->CtxSynchronize
               ? 0 : -1;
}

static uint16_t to_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    u += 0x7fff + ((u >> 16) & 1);   /* round to nearest even */
    return (uint16_t)(u >> 16);
}

static float from_bf16(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* softmax(q k^T * scale) v per (z, h), in float from the bf16 inputs. */
static void reference(const uint16_t *q, const uint16_t *k, const uint16_t *v, float *o,
                      int64_t ZH, int64_t M, int64_t N, int64_t D, float scale, bool causal)
{
    float *s = malloc((size_t)N * sizeof *s);
    for (int64_t zh = 0; zh < ZH; zh++)
        for (int64_t i = 0; i < M; i++) {
            float mx = -INFINITY, sum = 0;
            for (int64_t j = 0; j < N; j++) {
                float dot = 0;
                for (int64_t d = 0; d < D; d++)
                    dot += from_bf16(q[(zh * M + i) * D + d]) * from_bf16(k[(zh * N + j) * D + d]);
                s[j] = causal && j > i ? -INFINITY : dot * scale;
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int64_t j = 0; j < N; j++)
                sum += s[j] = expf(s[j] - mx);
            for (int64_t d = 0; d < D; d++) {
                float acc = 0;
                for (int64_t j = 0; j < N; j++)
                    acc += s[j] * from_bf16(v[(zh * N + j) * D + d]);
                o[(zh * M + i) * D + d] = acc / sum;
            }
        }
    free(s);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 7) {
        fputs("usage: tile_app BUNDLE [Z H M N D]\n", stderr);
        return 2;
    }
    int64_t Z = 1, H = 4, M = 512, N = 512, D = 64;
    if (argc == 7) {
        Z = atoll(argv[2]), H = atoll(argv[3]), M = atoll(argv[4]), N = atoll(argv[5]);
        D = atoll(argv[6]);
    }
    tile_context *ctx = NULL;
    tile_status s = tile_context_create(&ctx, NULL);
    if (s != TILE_OK) {
        fprintf(stderr, "tile_app: %s: %s\n", tile_status_string(s),
                ctx ? tile_error_message(ctx) : "out of memory");
        tile_context_destroy(ctx);
        return 1;
    }
    tile_bundle *bundle = NULL;
    /* preload: loads every module and makes device 0's primary context current for the
       allocations below */
    if ((s = tile_bundle_load_file(ctx, argv[1], &bundle)) != TILE_OK ||
        (s = tile_bundle_preload(ctx, bundle)) != TILE_OK) {
        fprintf(stderr, "tile_app: %s: %s\n", tile_status_string(s), tile_error_message(ctx));
        tile_bundle_free(bundle);
        tile_context_destroy(ctx);
        return 1;
    }
    Cuda cu;
    if (open_cuda(&cu) != 0) {
        fputs("tile_app: cannot open libcuda.so.1 for memory\n", stderr);
        return 1;
    }
    size_t nq = (size_t)(Z * H * M * D), nk = (size_t)(Z * H * N * D);
    uint16_t *hq = malloc(nq * 2), *hk = malloc(nk * 2), *hv = malloc(nk * 2), *ho = malloc(nq * 2);
    float *ref = malloc(nq * sizeof *ref);
    srand(1);
    for (size_t i = 0; i < nq; i++)
        hq[i] = to_bf16((float)rand() / RAND_MAX * 2 - 1);
    for (size_t i = 0; i < nk; i++) {
        hk[i] = to_bf16((float)rand() / RAND_MAX * 2 - 1);
        hv[i] = to_bf16((float)rand() / RAND_MAX * 2 - 1);
    }
    DevicePtr q, k, v, o;
    cu.MemAlloc(&q, nq * 2);
    cu.MemAlloc(&k, nk * 2);
    cu.MemAlloc(&v, nk * 2);
    cu.MemAlloc(&o, nq * 2);
    cu.MemcpyHtoD(q, hq, nq * 2);
    cu.MemcpyHtoD(k, hk, nk * 2);
    cu.MemcpyHtoD(v, hv, nk * 2);

    float scale = 1.0f / sqrtf((float)D);
    int status = 0;
    for (int causal = 0; causal <= 1 && status == 0; causal++) {
        int64_t qshape[4] = {Z, H, M, D}, kshape[4] = {Z, H, N, D};
        tile_arg args[6] = {
            tile_arg_tensor((void *)(uintptr_t)q, TILE_BF16, 4, qshape, NULL),
            tile_arg_tensor((void *)(uintptr_t)k, TILE_BF16, 4, kshape, NULL),
            tile_arg_tensor((void *)(uintptr_t)v, TILE_BF16, 4, kshape, NULL),
            tile_arg_tensor((void *)(uintptr_t)o, TILE_BF16, 4, qshape, NULL),
            tile_arg_f32(scale), tile_arg_const(causal)};
        if ((s = tile_launch(ctx, bundle, "attention", args, 6, NULL)) != TILE_OK) {
            fprintf(stderr, "tile_app: %s: %s\n", tile_status_string(s), tile_error_message(ctx));
            status = 1;
            break;
        }
        cu.CtxSynchronize();
        cu.MemcpyDtoH(ho, o, nq * 2);
        reference(hq, hk, hv, ref, Z * H, M, N, D, scale, causal);
        double worst = 0;
        for (size_t i = 0; i < nq; i++) {
            double e = fabs((double)from_bf16(ho[i]) - ref[i]);
            worst = e > worst ? e : worst;
        }
        /* time the launch calls: 256 at a time between synchronisations */
        double host = 0, total = 0;
        int reps = 4;
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            for (int i = 0; i < 256; i++)
                tile_launch(ctx, bundle, "attention", args, 6, NULL);
            double t1 = now();
            cu.CtxSynchronize();
            host += t1 - t0;
            total += now() - t0;
        }
        bool ok = worst < 2e-2;
        printf("attention Z=%lld H=%lld M=%lld N=%lld D=%lld causal=%d: max error %.3g %s; "
               "%.2f us host per launch call, %.1f us per launch\n", (long long)Z, (long long)H,
               (long long)M, (long long)N, (long long)D, causal, worst, ok ? "ok" : "WRONG",
               host / (reps * 256) * 1e6, total / (reps * 256) * 1e6);
        status |= !ok;
    }
    cu.MemFree(q), cu.MemFree(k), cu.MemFree(v), cu.MemFree(o);
    free(hq), free(hk), free(hv), free(ho), free(ref);
    tile_bundle_free(bundle);
    tile_context_destroy(ctx);
    return status;
}
