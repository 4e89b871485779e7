/* graph_replay.c — libtile launches captured into a CUDA graph on the real driver: the
   fp8 quantize bundle is preloaded, amax (whose declared reduction target is reset by a
   captured memset) and quantize_e4m3 are captured through the typed launchers, and the
   graph is replayed on fresh inputs, each replay checked against a CPU reference. Also: a
   kernel whose module is not loaded yet, launched during capture, returns TILE_ERR_CAPTURE.
   And libtile's own program graph (tile_program_graph): tests/runtime/programs.tile's chain,
   y = 3 s^2 x + 1 through four intermediates in one workspace, replayed on fresh x.
   usage: graph_replay DIR   (DIR holds quant.tbn and quant.h from
   `tilec build examples/fp8_quantize.tile -o quant.tbn` and programs.tbn from
   `tilec build tests/runtime/programs.tile -o programs.tbn`); build: run_runtime_gpu.sh */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"
#include "tile_internal.h"

enum { M = 300, K = 520, REPLAYS = 5 };

/* The graph calls, which libtile does not make itself, resolved by its driver loader (an
   application would take them from its own CUDA library). */
typedef struct Graphs {
    CUresult (*BeginCapture)(CUstream, CUstreamCaptureMode);
    CUresult (*EndCapture)(CUstream, CUgraph *);
    CUresult (*Instantiate)(CUgraphExec *, CUgraph, unsigned long long);
    CUresult (*Launch)(CUgraphExec, CUstream);
    CUresult (*ExecDestroy)(CUgraphExec);
    CUresult (*Destroy)(CUgraph);
    CUresult (*GetNodes)(CUgraph, CUgraphNode *, size_t *);
} Graphs;

static int open_graphs(tile_context *ctx, Graphs *g)
{
    static const char *const names[] = {"cuStreamBeginCapture", "cuStreamEndCapture",
                                        "cuGraphInstantiateWithFlags", "cuGraphLaunch",
                                        "cuGraphExecDestroy", "cuGraphDestroy", "cuGraphGetNodes"};
    void **slots[] = {(void **)&g->BeginCapture, (void **)&g->EndCapture,
                      (void **)&g->Instantiate, (void **)&g->Launch, (void **)&g->ExecDestroy,
                      (void **)&g->Destroy, (void **)&g->GetNodes};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (tile_dev_proc(ctx, names[i], slots[i]) != TILE_OK) {
            fprintf(stderr, "graph_replay: %s\n", tile_error_message(ctx));
            return -1;
        }
    return 0;
}

static float from_bf16(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

static uint16_t to_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

static float from_e4m3(uint8_t b)
{
    int sign = b >> 7, e = (b >> 3) & 15, m = b & 7;
    if (e == 15 && m == 7)
        return NAN;
    float v = e == 0 ? ldexpf((float)m / 8, -6) : ldexpf(1 + (float)m / 8, e - 7);
    return sign ? -v : v;
}

/* amax, the scaled e4m3 values (within half a step of x * scale, saturated at 448) and
   inv_scale of one replay. Returns the number of wrong values. */
static int check(const uint16_t *x, float got_amax, const uint8_t *y, float got_inv, int replay)
{
    float amax = 0;
    for (int i = 0; i < M * K; i++)
        amax = fmaxf(amax, fabsf(from_bf16(x[i])));
    float scale = 448.0f / fmaxf(amax, 1e-12f);
    int wrong = 0;
    double worst = 0;
    for (int i = 0; i < M * K; i++) {
        float want = fminf(fmaxf(from_bf16(x[i]) * scale, -448), 448), have = from_e4m3(y[i]);
        float tolerance = fmaxf(fabsf(want) * 0.0625f, ldexpf(1, -10)) * 1.001f;
        double err = fabs((double)have - want);
        worst = err / fmax(fabs(want), 1e-3) > worst ? err / fmax(fabs(want), 1e-3) : worst;
        if (!(err <= tolerance) && wrong++ < 5)
            fprintf(stderr, "  replay %d: y[%d] = %g, want %g\n", replay, i, have, want);
    }
    bool amax_ok = got_amax == amax, inv_ok = fabsf(got_inv - 1 / scale) <= 1e-6f / scale;
    printf("replay %d: amax %.6g (want %.6g) %s, inv_scale %.6g %s, y: %d of %d wrong, worst "
           "relative error %.4f\n", replay, got_amax, amax, amax_ok ? "ok" : "WRONG", got_inv,
           inv_ok ? "ok" : "WRONG", wrong, M * K, worst);
    return wrong + !amax_ok + !inv_ok;
}

enum { R = 300, C = 257 };

/* tile_program_graph of programs.tbn's chain on the real driver, against the same program
   launched directly and a CPU reference. Returns the number of failures. */
static int program_graph(tile_context *ctx, const char *dir, CUstream stream)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/programs.tbn", dir);
    tile_bundle *b = NULL;
    tile_status s = tile_bundle_load_file(ctx, path, &b);
    CUdeviceptr x = 0, y = 0;
    void *ws = NULL;
    size_t bytes = 0;
    int64_t shape[2] = {R, C};
    tile_arg args[3];
    const float sc = 0.75f;
    if (s == TILE_OK)
        s = tile_dev_alloc(ctx, R * C * 4, &x);
    if (s == TILE_OK)
        s = tile_dev_alloc(ctx, R * C * 4, &y);
    args[0] = tile_arg_tensor((void *)(uintptr_t)x, TILE_F32, 2, shape, NULL);
    args[1] = tile_arg_f32(sc);
    args[2] = tile_arg_tensor((void *)(uintptr_t)y, TILE_F32, 2, shape, NULL);
    if (s == TILE_OK)
        s = tile_program_workspace_bytes(ctx, b, "chain", args, 3, &bytes);
    if (s == TILE_OK)
        s = tile_workspace_alloc(ctx, bytes, stream, &ws);
    tile_graph *g = NULL;
    if (s == TILE_OK)   /* captured on a fresh bundle: the capture preloads its modules */
        s = tile_program_graph(ctx, b, "chain", args, 3, ws, bytes, &g);
    if (s != TILE_OK) {
        fprintf(stderr, "graph_replay: program graph: %s: %s\n", tile_status_string(s),
                tile_error_message(ctx));
        return 1;
    }
    float *hx = malloc(R * C * 4), *hy = malloc(R * C * 4), *direct = malloc(R * C * 4);
    int failures = 0;
    for (int replay = 0; replay < 3 && hx && hy && direct; replay++) {
        srand(7 + replay);
        for (int i = 0; i < R * C; i++)
            hx[i] = ((float)rand() / RAND_MAX * 2 - 1) * (1 + replay);
        s = tile_dev_copy_to_device(ctx, x, hx, R * C * 4);
        if (s == TILE_OK)
            s = tile_launch_program(ctx, b, "chain", args, 3, ws, bytes, stream);
        if (s == TILE_OK)
            s = tile_dev_stream_synchronize(ctx, stream);
        if (s == TILE_OK)
            s = tile_dev_copy_to_host(ctx, direct, y, R * C * 4);
        if (s == TILE_OK)
            s = tile_dev_memset_async(ctx, y, 4, 0, R * C, stream);
        if (s == TILE_OK)
            s = tile_graph_launch(g, stream);
        if (s == TILE_OK)
            s = tile_dev_stream_synchronize(ctx, stream);
        if (s == TILE_OK)
            s = tile_dev_copy_to_host(ctx, hy, y, R * C * 4);
        if (s != TILE_OK) {
            fprintf(stderr, "graph_replay: program replay %d: %s: %s\n", replay,
                    tile_status_string(s), tile_error_message(ctx));
            failures++;
            break;
        }
        int wrong = 0;
        double worst = 0;
        for (int i = 0; i < R * C; i++) {
            double want = 3.0 * sc * sc * hx[i] + 1, err = fabs(hy[i] - want);
            worst = err > worst ? err : worst;
            wrong += !(err <= 1e-5 * (1 + fabs(want))) || hy[i] != direct[i];
        }
        printf("program graph replay %d: %d of %d wrong (vs the reference, and bit-equal to a "
               "direct launch), worst error %.3g\n", replay, wrong, R * C, worst);
        failures += wrong != 0;
    }
    tile_graph_free(g);
    tile_workspace_free(ctx, ws, stream);
    free(hx), free(hy), free(direct);
    tile_dev_free(ctx, x), tile_dev_free(ctx, y);
    tile_bundle_free(b);
    return failures;
}

#define TRY(call) do { tile_status s_ = (call); if (s_ != TILE_OK) { \
    fprintf(stderr, "graph_replay: %s: %s: %s\n", #call, tile_status_string(s_), \
            tile_error_message(ctx)); return 1; } } while (0)
#define CU(call) do { CUresult r_ = (call); if (r_ != CUDA_SUCCESS) { \
    fprintf(stderr, "graph_replay: %s failed: %d\n", #call, (int)r_); return 1; } } while (0)

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: graph_replay DIR\n", stderr);
        return 2;
    }
    Graphs g;
    tile_context *ctx = NULL;
    tile_device_info info;
    TRY(tile_context_create(&ctx, NULL));
    TRY(tile_dev_info(ctx, &info));   /* device 0's primary context, current from here on */
    if (open_graphs(ctx, &g) != 0)
        return 1;
    char path[1024];
    snprintf(path, sizeof path, "%s/quant.tbn", argv[1]);
    tile_bundle *bundle = NULL, *cold = NULL;
    TRY(tile_bundle_load_file(ctx, path, &bundle));
    TRY(tile_bundle_preload(ctx, bundle));
    TRY(tile_bundle_load_file(ctx, path, &cold));   /* never preloaded */

    CUstream stream;
    CUdeviceptr x, amax, y, inv;
    TRY(tile_dev_stream_create(ctx, &stream));
    TRY(tile_dev_alloc(ctx, M * K * 2, &x));
    TRY(tile_dev_alloc(ctx, 4, &amax));
    TRY(tile_dev_alloc(ctx, M * K, &y));
    TRY(tile_dev_alloc(ctx, 4, &inv));
    const tile_bf16 *xp = (const tile_bf16 *)(uintptr_t)x;
    float *amaxp = (float *)(uintptr_t)amax, *invp = (float *)(uintptr_t)inv;
    tile_f8e4m3 *yp = (tile_f8e4m3 *)(uintptr_t)y;

    /* capture: amax (a memset node resets its target, then the kernel), then quantize */
    CUgraph graph;
    CUgraphExec exec;
    CU(g.BeginCapture(stream, CU_STREAM_CAPTURE_MODE_GLOBAL));
    tile_status s1 = quant_amax_contiguous(ctx, bundle, stream, xp, amaxp, M, K);
    tile_status s2 = quant_quantize_e4m3_contiguous(ctx, bundle, stream, xp, amaxp, yp, invp, M, K);
    CU(g.EndCapture(stream, &graph));
    if (s1 != TILE_OK || s2 != TILE_OK) {
        fprintf(stderr, "graph_replay: launch during capture: %s / %s: %s\n",
                tile_status_string(s1), tile_status_string(s2), tile_error_message(ctx));
        return 1;
    }
    size_t nodes = 0;
    CU(g.GetNodes(graph, NULL, &nodes));
    CU(g.Instantiate(&exec, graph, 0));
    printf("captured %zu graph nodes (memset + amax + quantize_e4m3 expected: 3)\n", nodes);

    uint16_t *hx = malloc(M * K * 2);
    uint8_t *hy = malloc(M * K);
    int wrong = 0;
    for (int replay = 0; replay < REPLAYS; replay++) {
        srand(100 + replay);
        float range = 0.5f + 3.0f * replay;   /* a different amax every replay */
        for (int i = 0; i < M * K; i++)
            hx[i] = to_bf16(((float)rand() / RAND_MAX * 2 - 1) * range);
        float got_amax, got_inv;
        TRY(tile_dev_copy_to_device(ctx, x, hx, M * K * 2));
        CU(g.Launch(exec, stream));
        TRY(tile_dev_stream_synchronize(ctx, stream));
        TRY(tile_dev_copy_to_host(ctx, &got_amax, amax, 4));
        TRY(tile_dev_copy_to_host(ctx, &got_inv, inv, 4));
        TRY(tile_dev_copy_to_host(ctx, hy, y, M * K));
        wrong += check(hx, got_amax, hy, got_inv, replay);
    }
    g.ExecDestroy(exec);
    g.Destroy(graph);

    /* a bundle that was not preloaded: its first launch would load a module mid-capture */
    CU(g.BeginCapture(stream, CU_STREAM_CAPTURE_MODE_GLOBAL));
    tile_status cs = quant_amax_contiguous(ctx, cold, stream, xp, amaxp, M, K);
    CUresult end = g.EndCapture(stream, &graph);
    bool capture_ok = cs == TILE_ERR_CAPTURE;
    printf("not-loaded kernel during capture: %s (%s) %s; capture ended with %d\n",
           tile_status_string(cs), tile_error_message(ctx), capture_ok ? "ok" : "WRONG",
           (int)end);
    if (end == CUDA_SUCCESS)
        g.Destroy(graph);
    /* and outside capture the same launch loads lazily and runs */
    tile_status after = quant_amax_contiguous(ctx, cold, stream, xp, amaxp, M, K);
    bool after_ok = after == TILE_OK && tile_dev_stream_synchronize(ctx, stream) == TILE_OK;
    printf("the same launch outside capture: %s %s\n", tile_status_string(after),
           after_ok ? "ok" : "WRONG");

    int program_failures = program_graph(ctx, argv[1], stream);

    free(hx), free(hy);
    tile_dev_free(ctx, x), tile_dev_free(ctx, amax), tile_dev_free(ctx, y);
    tile_dev_free(ctx, inv);
    tile_dev_stream_destroy(ctx, stream);
    tile_bundle_free(cold);
    tile_bundle_free(bundle);
    tile_context_destroy(ctx);
    bool ok = wrong == 0 && nodes >= 2 && capture_ok && after_ok && program_failures == 0;
    printf("graph_replay: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
