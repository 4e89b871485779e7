/* runtime_test.c — libtile against the stub libcuda.so.1 (stub_cuda.c): the no-driver path,
   bundle loading, the typed launcher (attention_golden.h, the writer's output), dispatch by
   const values, full-axis sizes and alignment, lazy loading and its capture rule, preload,
   the arch check, argument and shape checks, reduction-target initialisation, checking mode,
   per-thread messages. Run with LD_LIBRARY_PATH at the stub's folder.
   usage: runtime_test BUNDLE_DIR   (the folder bundle_test wrote) */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention_golden.h"
#include "programs_golden.h"
#include "stub_cuda.h"
#include "tile.h"
#include "../check.h"

#define EXPECT(call, want, needle)                                                           \
    do {                                                                                     \
        tile_status got_ = (call);                                                           \
        const char *msg_ = tile_error_message(ctx);                                          \
        CHECK(got_ == (want) && (!(needle) || strstr(msg_, (needle) ? (needle) : "")),      \
              "%s gave %s (wanted %s): %s", #call, tile_status_string(got_),                 \
              tile_status_string(want), msg_);                                               \
    } while (0)

static char dir[512];
static StubState *stub;

/* Fake device addresses: 256-byte aligned, far apart. */
#define Q ((tile_bf16 *)(uintptr_t)0x7000000000ull)
#define K ((tile_bf16 *)(uintptr_t)0x7100000000ull)
#define V ((tile_bf16 *)(uintptr_t)0x7200000000ull)
#define O ((tile_bf16 *)(uintptr_t)0x7300000000ull)

static void test_no_driver(void)
{
    tile_context *ctx = NULL;
    tile_options opts = {.driver_library = "/nonexistent/libcuda.so.1"};
    tile_status s = tile_context_create(&ctx, &opts);
    CHECK(s == TILE_ERR_NO_DEVICE && ctx, "no driver gives TILE_ERR_NO_DEVICE, got %s",
          tile_status_string(s));
    if (!ctx)
        return;
    CHECK(strstr(tile_error_message(ctx), "no CUDA driver") != NULL, "message: %s",
          tile_error_message(ctx));
    CHECK(tile_device_count(ctx) == 0, "no devices");
    char path[600];
    snprintf(path, sizeof path, "%s/attention.tbn", dir);
    tile_bundle *b = NULL;
    EXPECT(tile_bundle_load_file(ctx, path, &b), TILE_OK, NULL);
    CHECK(b && tile_bundle_kernel_count(b) == 1 &&
          strcmp(tile_bundle_kernel_name(b, 0), "attention") == 0, "bundle without a GPU");
    EXPECT(attention_attention_contiguous(ctx, b, NULL, Q, K, V, O, 1, 1, 64, 64, 64, 1.0f,
                                          false), TILE_ERR_NO_DEVICE, "no CUDA driver");
    EXPECT(tile_bundle_preload(ctx, b), TILE_ERR_NO_DEVICE, NULL);
    tile_bundle_free(b);
    tile_context_destroy(ctx);
    printf("ok no driver\n");
}

/* DIR/NAME.tbn, loaded (NULL after a failed check). */
static tile_bundle *load_bundle(tile_context *ctx, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s.tbn", dir, name);
    tile_bundle *b = NULL;
    EXPECT(tile_bundle_load_file(ctx, path, &b), TILE_OK, NULL);
    return b;
}

static tile_status attention(tile_context *ctx, tile_bundle *b, const tile_bf16 *q, int64_t M,
                             int64_t D, bool causal)
{
    return attention_attention_contiguous(ctx, b, NULL, q, K, V, O, 2, 3, M, D, 512, 0.125f,
                                          causal);
}

static void test_attention(tile_context *ctx)
{
    tile_bundle *b = load_bundle(ctx, "attention");
    if (!b)
        return;
    stub->record_args = 26; /* attention passes 26 arguments */
    EXPECT(attention(ctx, b, Q, 1000, 64, false), TILE_OK, NULL);
    StubLaunch *l = &stub->last_launch;
    CHECK(stub->launches == 1 && l->grid[0] == 2 * 3 * 16 && l->grid[1] == 1 &&
          l->block[0] == 128 && l->smem == 1024, "launch %ux%u block %u smem %u", l->grid[0],
          l->grid[1], l->block[0], l->smem);
    CHECK(stub->retains == 1 && stub->ptx_loads == 1, "primary context retained, one module");
    CHECK(strcmp(stub->last_entry, "attention_kernel") == 0, "entry %s", stub->last_entry);
    /* ABI: q, 4 strides, k, 4, v, 4, o, 4, scale, then Z H M D N */
    CHECK(l->args[0] == (uint64_t)(uintptr_t)Q && l->args[1] == 3 * 1000 * 64 &&
          l->args[2] == 1000 * 64 && l->args[3] == 64 && l->args[4] == 1, "q and its strides");
    CHECK(l->args[15] == (uint64_t)(uintptr_t)O, "o is the 4th tensor");
    float scale;
    memcpy(&scale, &l->args[20], 4);
    CHECK(scale == 0.125f, "scale %g", scale);
    CHECK(l->args[21] == 2 && l->args[22] == 3 && l->args[23] == 1000 && l->args[24] == 64 &&
          l->args[25] == 512, "symbols Z H M D N");
    stub->record_args = 0;

    EXPECT(attention(ctx, b, Q, 1000, 64, false), TILE_OK, NULL);
    CHECK(stub->ptx_loads == 1 && stub->launches == 2, "the module is cached");
    EXPECT(attention(ctx, b, Q, 1000, 64, true), TILE_OK, NULL);
    CHECK(stub->ptx_loads == 2, "causal=true is another variant");
    EXPECT(attention(ctx, b, Q, 1000, 128, false), TILE_OK, NULL);
    CHECK(stub->max_dynamic_smem == 70000 && stub->last_launch.smem == 70000,
          "dynamic shared memory raised to %d", stub->max_dynamic_smem);
    EXPECT(attention(ctx, b, Q, 1000, 96, false), TILE_ERR_SHAPE, "D = 96");
    EXPECT(attention(ctx, b, Q, -1, 64, false), TILE_ERR_SHAPE, "negative");
    EXPECT(attention(ctx, b, Q, 0, 64, false), TILE_OK, NULL);
    CHECK(stub->launches == 4, "an empty grid launches nothing");

    /* pointers */
    EXPECT(attention(ctx, b, NULL, 1000, 64, false), TILE_ERR_ARG, "null pointer");
    EXPECT(attention(ctx, b, (const tile_bf16 *)((uintptr_t)Q + 1), 1000, 64, false),
           TILE_ERR_ARG, "not aligned");
    int loads = stub->ptx_loads;
    EXPECT(attention(ctx, b, Q + 1, 1000, 64, false), TILE_OK, NULL);
    CHECK(stub->ptx_loads == loads + 1, "an element-aligned pointer takes the `any` variant");
    /* a strided view: every other element of the head dim */
    loads = stub->ptx_loads;
    EXPECT(attention_attention(ctx, b, NULL, Q, 3 * 1000 * 128, 1000 * 128, 128, 2, K,
                               3 * 512 * 64, 512 * 64, 64, 1, V, 3 * 512 * 64, 512 * 64, 64, 1,
                               O, 3 * 1000 * 64, 1000 * 64, 64, 1, 2, 3, 1000, 64, 512, 1.0f,
                               false), TILE_OK, NULL);
    CHECK(stub->ptx_loads == loads, "the `any` variant is already loaded");
    EXPECT(attention_attention(ctx, b, NULL, Q, INT64_MAX / 2, 1, 1, 1, K, 0, 0, 0, 1, V, 0, 0,
                               0, 1, O, 0, 0, 0, 1, 2, 3, 1000, 64, 512, 1.0f, false),
           TILE_ERR_SHAPE, "overflow");

    /* the generic interface: shapes from the tensors, which must agree */
    int64_t qs[4] = {2, 3, 1000, 64}, ks[4] = {2, 3, 512, 64}, os[4] = {2, 3, 999, 64};
    tile_arg args[6] = {
        tile_arg_tensor(Q, TILE_BF16, 4, qs, NULL), tile_arg_tensor(K, TILE_BF16, 4, ks, NULL),
        tile_arg_tensor(V, TILE_BF16, 4, ks, NULL), tile_arg_tensor(O, TILE_BF16, 4, qs, NULL),
        tile_arg_f32(0.5f), tile_arg_const(1)};
    int launches = stub->launches;
    EXPECT(tile_launch(ctx, b, "attention", args, 6, NULL), TILE_OK, NULL);
    CHECK(stub->launches == launches + 1 && stub->last_launch.grid[0] == 96, "generic launch");
    args[3] = tile_arg_tensor(O, TILE_BF16, 4, os, NULL);
    EXPECT(tile_launch(ctx, b, "attention", args, 6, NULL), TILE_ERR_SHAPE, "from tensor q");
    args[3] = tile_arg_tensor(O, TILE_F16, 4, qs, NULL);
    EXPECT(tile_launch(ctx, b, "attention", args, 6, NULL), TILE_ERR_ARG, "is bf16");
    args[3] = tile_arg_tensor(O, TILE_BF16, 4, qs, NULL);
    args[5] = tile_arg_const(7);
    EXPECT(tile_launch(ctx, b, "attention", args, 6, NULL), TILE_ERR_CONST, "causal = 7");
    args[5] = tile_arg_const(0);
    EXPECT(tile_launch(ctx, b, "attention", args, 5, NULL), TILE_ERR_ARG, "takes 6");
    EXPECT(tile_launch(ctx, b, "nope", args, 6, NULL), TILE_ERR_ARG, "no kernel named");
    tile_launch_values values = {0};
    EXPECT(tile_launch_values_at(ctx, b, 0, 0x1234, &values, NULL), TILE_ERR_BUNDLE,
           "does not match");

    /* the driver refusing a launch */
    stub->launch_result = 1;
    EXPECT(attention(ctx, b, Q, 1000, 64, false), TILE_ERR_LAUNCH, "cuLaunchKernel");
    stub->launch_result = 0;

    /* checking mode: every pointer's allocation must hold its extent */
    tile_context_set_checking(ctx, true);
    stub->range_base = 0x7000000000ull;
    stub->range_size = 0x4000000000ull;
    EXPECT(attention(ctx, b, Q, 1000, 64, false), TILE_OK, NULL);
    CHECK(stub->range_queries == 4, "4 ranges checked, %d", stub->range_queries);
    stub->range_size = 0x300000000ull + 100; /* o starts 0x300000000 in */
    EXPECT(attention(ctx, b, Q, 1000, 64, false), TILE_ERR_CHECK, "tensor o");
    stub->range_base = 0;
    EXPECT(attention(ctx, b, Q, 1000, 64, false), TILE_ERR_CHECK, "not device memory");
    tile_context_set_checking(ctx, false);

    /* capture: a variant not loaded yet is an error; after preload, none is */
    stub->capturing = true;
    EXPECT(attention(ctx, b, Q, 1000, 64, false), TILE_OK, NULL);
    EXPECT(attention(ctx, b, Q, 1000, 128, true), TILE_ERR_CAPTURE, "preload");
    stub->capturing = false;
    EXPECT(tile_bundle_preload(ctx, b), TILE_OK, NULL);
    CHECK(stub->ptx_loads == 8, "preload loads all 8 variants, %d", stub->ptx_loads);
    stub->capturing = true;
    EXPECT(attention(ctx, b, Q, 1000, 128, true), TILE_OK, NULL);
    stub->capturing = false;
    int unloads = stub->unloads;
    tile_bundle_free(b);
    CHECK(stub->unloads == unloads + 8, "free unloads its modules");
    printf("ok attention dispatch and checks\n");
}

static void test_reductions(tile_context *ctx)
{
    tile_bundle *b = load_bundle(ctx, "kernels");
    if (!b)
        return;
    int64_t xs[2] = {100, 1000}, os[1] = {1};
    tile_arg args[2] = {tile_arg_tensor(Q, TILE_BF16, 2, xs, NULL),
                        tile_arg_tensor(O, TILE_F32, 1, os, NULL)};
    stub->nmemsets = 0;
    EXPECT(tile_launch(ctx, b, "amax", args, 2, NULL), TILE_OK, NULL);
    CHECK(stub->nmemsets == 1 && stub->memsets[0].ptr == (uint64_t)(uintptr_t)O &&
          stub->memsets[0].value == 0xff800000u && stub->memsets[0].count == 1 &&
          stub->memsets[0].width == 4, "reduce(max) target set to -inf before the launch");
    int64_t ys[2] = {100, 1000};
    tile_arg split[4] = {tile_arg_tensor(Q, TILE_F32, 2, ys, NULL),
                         tile_arg_tensor(K, TILE_F32, 2, ys, NULL), tile_arg_f32(2.0f),
                         tile_arg_const(2)};
    EXPECT(tile_launch(ctx, b, "scaled_split", split, 4, NULL), TILE_OK, NULL);
    unsigned g2 = stub->last_launch.grid[0];
    split[3] = tile_arg_const(1);
    EXPECT(tile_launch(ctx, b, "scaled_split", split, 4, NULL), TILE_OK, NULL);
    unsigned g1 = stub->last_launch.grid[0];
    CHECK(g1 == 2 * g2 || g1 == 2 * g2 - 1, "split=2 halves the grid: %u vs %u", g1, g2);
    split[3] = tile_arg_const(3);
    EXPECT(tile_launch(ctx, b, "scaled_split", split, 4, NULL), TILE_ERR_CONST, "split = 3");
    tile_bundle_free(b);
    printf("ok reductions and integer consts\n");
}

/* Index faults (docs/runtime.md): a kernel with a checked index raises one through its
   module's sink (the stub plays the kernel); tile_bundle_synchronize reports it once, a
   later launch of the bundle reports one raised before it and is not made, and a kernel
   without checked indices has no sink. */
static void test_index_faults(tile_context *ctx)
{
    tile_bundle *b = load_bundle(ctx, "kernels");
    if (!b)
        return;
    int64_t is[1] = {10}, ws[2] = {100, 8}, os[2] = {10, 8};
    tile_arg embed[3] = {tile_arg_tensor(Q, TILE_I32, 1, is, NULL),
                         tile_arg_tensor(K, TILE_F32, 2, ws, NULL),
                         tile_arg_tensor(V, TILE_F32, 2, os, NULL)};
    EXPECT(tile_launch(ctx, b, "embed", embed, 3, NULL), TILE_OK, NULL);
    EXPECT(tile_bundle_synchronize(ctx, b, NULL), TILE_OK, NULL);
    stub->fault = (StubFault){true, 1, 0, 0, 12, 27, 1000, 100};
    EXPECT(tile_launch(ctx, b, "embed", embed, 3, NULL), TILE_OK, NULL);
    EXPECT(tile_bundle_synchronize(ctx, b, NULL), TILE_ERR_INDEX,
           "kernel embed: index 1000 is outside dim 0 of weight (size 100) in a load at line 12, "
           "column 27");
    EXPECT(tile_bundle_synchronize(ctx, b, NULL), TILE_OK, NULL);
    int launches = stub->launches;
    stub->fault.index = -3;
    stub->fault.kind = 1;
    EXPECT(tile_launch(ctx, b, "embed", embed, 3, NULL), TILE_OK, NULL);
    EXPECT(tile_launch(ctx, b, "embed", embed, 3, NULL), TILE_ERR_INDEX,
           "index -3 is outside dim 0 of weight (size 100) in a store");
    CHECK(stub->launches == launches + 1, "the launch after a fault is not made: %d launches",
          stub->launches - launches);
    EXPECT(tile_launch(ctx, b, "embed", embed, 3, NULL), TILE_OK, NULL);   /* the claim was reset */
    EXPECT(tile_bundle_synchronize(ctx, b, NULL), TILE_ERR_INDEX, "index -3");
    int64_t xs[2] = {100, 1000}, ones[1] = {1};
    tile_arg amax[2] = {tile_arg_tensor(Q, TILE_BF16, 2, xs, NULL),
                        tile_arg_tensor(O, TILE_F32, 1, ones, NULL)};
    EXPECT(tile_launch(ctx, b, "amax", amax, 2, NULL), TILE_OK, NULL);
    EXPECT(tile_bundle_synchronize(ctx, b, NULL), TILE_OK, NULL);
    EXPECT(tile_bundle_synchronize(ctx, NULL, NULL), TILE_ERR_ARG, "NULL");
    stub->fault.on = false;
    tile_bundle_free(b);
    printf("ok index faults\n");
}

/* The signature as the Python package reads it: kinds, dtypes, dims with symbols, reduce
   ops, written flags, declared const values; out-of-range indices. */
static void test_signature(tile_context *ctx)
{
    tile_bundle *b = load_bundle(ctx, "kernels");
    if (!b)
        return;
    int amax = tile_bundle_find_kernel(b, "amax"), split = tile_bundle_find_kernel(b,
                                                                                "scaled_split");
    CHECK(tile_kernel_param_count(b, amax) == 2 && tile_kernel_symbol_count(b, amax) == 2 &&
          strcmp(tile_kernel_symbol_name(b, amax, 1), "K") == 0, "amax: 2 params, M and K");
    tile_param_info x, out, alpha, n;
    EXPECT(tile_kernel_param(b, amax, 0, &x), TILE_OK, NULL);
    EXPECT(tile_kernel_param(b, amax, 1, &out), TILE_OK, NULL);
    CHECK(strcmp(x.name, "x") == 0 && x.kind == TILE_ARG_TENSOR && x.dtype == TILE_BF16 &&
          x.rank == 2 && x.dims[0] == -1 && x.dims[1] == -2 && x.written == 0 && x.read == 1 &&
          x.reduce == TILE_REDUCE_NONE, "amax's x: bf16[M, K], read");
    CHECK(out.dtype == TILE_F32 && out.rank == 1 && out.dims[0] == 1 && out.written == 1 && out.read == 0 &&
          out.reduce == TILE_REDUCE_MAX, "amax's out: f32[1] reduce(max), written");
    EXPECT(tile_kernel_param(b, split, 2, &alpha), TILE_OK, NULL);
    EXPECT(tile_kernel_param(b, split, 3, &n), TILE_OK, NULL);
    CHECK(alpha.kind == TILE_ARG_SCALAR && alpha.rank == 0 && alpha.written == 0,
          "scaled_split's alpha: a scalar");
    CHECK(n.kind == TILE_ARG_CONST && n.dtype == TILE_I32 && n.nconst_values == 3 &&
          n.const_values[0] == 1 && n.const_values[2] == 4, "split: const i32 in {1, 2, 4}");
    CHECK(tile_kernel_param(b, amax, 2, &x) == TILE_ERR_ARG &&
          tile_kernel_param(b, amax, -1, &x) == TILE_ERR_ARG &&
          tile_kernel_param(b, 99, 0, &x) == TILE_ERR_ARG &&
          tile_kernel_param(b, amax, 0, NULL) == TILE_ERR_ARG &&
          tile_kernel_param(NULL, 0, 0, &x) == TILE_ERR_ARG, "out-of-range parameters");
    CHECK(tile_kernel_param_count(b, 99) == -1 && tile_kernel_symbol_count(NULL, 0) == -1 &&
          tile_kernel_symbol_name(b, amax, 2) == NULL &&
          tile_kernel_symbol_name(b, -1, 0) == NULL, "out-of-range kernels and symbols");
    tile_bundle_free(b);
    printf("ok signature introspection\n");
}

static void test_bad_bundles(tile_context *ctx)
{
    tile_bundle *b = NULL;
    EXPECT(tile_bundle_load_file(ctx, "/nonexistent.tbn", &b), TILE_ERR_IO,
           "cannot read '/nonexistent.tbn': No such file or directory");
    char path[600];
    snprintf(path, sizeof path, "%s/corpus/bad-000.tbn", dir);
    EXPECT(tile_bundle_load_file(ctx, path, &b), TILE_ERR_BUNDLE, "invalid bundle");
    CHECK(b == NULL, "no bundle on failure");
    EXPECT(tile_bundle_load_memory(ctx, "TILEBNDL", 8, &b), TILE_ERR_BUNDLE, "header");
    printf("ok bad bundles\n");
}

static void test_arch(void)
{
    tile_context *ctx = NULL;
    stub->sm = 80;
    stub->current = NULL;
    EXPECT(tile_context_create(&ctx, NULL), TILE_OK, NULL);
    char path[600];
    snprintf(path, sizeof path, "%s/attention.tbn", dir);
    tile_bundle *b = NULL;
    EXPECT(tile_bundle_load_file(ctx, path, &b), TILE_OK, NULL);
    EXPECT(attention(ctx, b, Q, 1000, 64, false), TILE_ERR_ARCH, "sm_80");
    tile_bundle_free(b);
    tile_context_destroy(ctx);
    stub->sm = 90;
    printf("ok arch\n");
}

/* Two threads failing differently at once each read their own message. */
typedef struct ThreadArg {
    tile_context *ctx;
    tile_bundle *b;
    bool null_pointer;
    int bad;
} ThreadArg;

static void *hammer(void *p)
{
    ThreadArg *t = p;
    for (int i = 0; i < 2000; i++) {
        tile_status s = t->null_pointer ? attention(t->ctx, t->b, NULL, 1000, 64, false)
                                        : attention(t->ctx, t->b, Q, 1000, 96, false);
        const char *m = tile_error_message(t->ctx);
        if (s != (t->null_pointer ? TILE_ERR_ARG : TILE_ERR_SHAPE) ||
            !strstr(m, t->null_pointer ? "null pointer" : "D = 96"))
            t->bad++;
    }
    return NULL;
}

static void test_threads(tile_context *ctx)
{
    char path[600];
    snprintf(path, sizeof path, "%s/attention.tbn", dir);
    tile_bundle *b = NULL;
    EXPECT(tile_bundle_load_file(ctx, path, &b), TILE_OK, NULL);
    ThreadArg args[2] = {{ctx, b, true, 0}, {ctx, b, false, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, hammer, &args[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK(args[0].bad == 0 && args[1].bad == 0, "per-thread messages: %d and %d wrong",
          args[0].bad, args[1].bad);
    tile_bundle_free(b);
    printf("ok per-thread messages\n");
}

/* ---- programs: every call launched in order, the intermediates in the caller's workspace */

#define X ((float *)(uintptr_t)0x7400000000ull)
#define Y ((float *)(uintptr_t)0x7500000000ull)
#define WS ((char *)(uintptr_t)0x7600000000ull)

static void chain_args(tile_arg *args, int64_t rows, int64_t cols, int64_t y_cols)
{
    int64_t xs[2] = {rows, cols}, ys[2] = {rows, y_cols};
    args[0] = tile_arg_tensor(X, TILE_F32, 2, xs, NULL);
    args[1] = tile_arg_f32(0.5f);
    args[2] = tile_arg_tensor(Y, TILE_F32, 2, ys, NULL);
}

static void test_programs(tile_context *ctx)
{
    char path[600];
    snprintf(path, sizeof path, "%s/programs.tbn", dir);
    tile_bundle *b = NULL;
    EXPECT(tile_bundle_load_file(ctx, path, &b), TILE_OK, NULL);
    if (!b)
        return;
    CHECK(tile_bundle_program_count(b) == 1 && strcmp(tile_bundle_program_name(b, 0), "chain") == 0 &&
          tile_bundle_find_program(b, "chain") == 0 && tile_bundle_find_program(b, "scale") == -1 &&
          tile_bundle_program_name(b, 1) == NULL, "the bundle's one program");
    /* the signature, as tilec inspect prints it: (x: f32[R, C], s: f32) -> (y: f32[R, C]) */
    tile_param_info info;
    CHECK(tile_program_param_count(b, 0) == 3 && tile_program_input_count(b, 0) == 2 &&
          tile_program_symbol_count(b, 0) == 2 && tile_program_param_count(b, 1) == -1 &&
          tile_program_input_count(b, -1) == -1 && tile_program_symbol_count(b, 1) == -1,
          "chain's parameter, input and symbol counts");
    EXPECT(tile_program_param(b, 0, 2, &info), TILE_OK, NULL);
    CHECK(strcmp(info.name, "y") == 0 && info.kind == TILE_ARG_TENSOR && info.dtype == TILE_F32 &&
          info.rank == 2 && info.dims[0] == -1 && info.dims[1] == -2 && info.written == 1 &&
          info.read == 0 && strcmp(tile_program_symbol_name(b, 0, 0), "R") == 0 &&
          strcmp(tile_program_symbol_name(b, 0, 1), "C") == 0, "chain's output y: f32[R, C] out");
    EXPECT(tile_program_param(b, 0, 1, &info), TILE_OK, NULL);
    CHECK(strcmp(info.name, "s") == 0 && info.kind == TILE_ARG_SCALAR && info.rank == 0,
          "chain's scalar s");
    CHECK(tile_program_param(b, 0, 3, &info) == TILE_ERR_ARG &&
          tile_program_param(b, 1, 0, &info) == TILE_ERR_ARG &&
          tile_program_param(b, 0, 0, NULL) == TILE_ERR_ARG &&
          tile_program_symbol_name(b, 0, 2) == NULL && tile_program_symbol_name(b, 1, 0) == NULL,
          "out of range: TILE_ERR_ARG and NULL");

    tile_arg args[3];
    chain_args(args, 3, 100, 100);
    /* capture: a call whose module is not loaded yet stops the launch, naming the call */
    stub->capturing = true;
    EXPECT(tile_launch_program(ctx, b, "chain", args, 3, WS, 3840, NULL), TILE_ERR_CAPTURE,
           "program chain, call 0 (scale): kernel scale: its module is not loaded");
    stub->capturing = false;
    /* a, b, c live together at call 2 (1200 bytes each, 1280 rounded); d takes a's bytes */
    size_t bytes = 0, typed_bytes = 0;
    EXPECT(tile_program_workspace_bytes(ctx, b, "chain", args, 3, &bytes), TILE_OK, NULL);
    EXPECT(programs_chain_workspace_bytes(ctx, b, 3, 100, &typed_bytes), TILE_OK, NULL);
    CHECK(bytes == 3840 && typed_bytes == 3840, "workspace %zu and %zu bytes, wanted 3840", bytes,
          typed_bytes);

    stub->record_args = 8;   /* shift: x and y with their strides, M, N */
    int before = stub->launches;
    EXPECT(tile_launch_program(ctx, b, "chain", args, 3, WS, bytes, NULL), TILE_OK, NULL);
    uint64_t *a = stub->last_launch.args;
    CHECK(stub->launches == before + 5 && strcmp(stub->last_entry, "shift_kernel") == 0,
          "five launches, shift last (%d, %s)", stub->launches - before, stub->last_entry);
    CHECK(a[0] == (uint64_t)(uintptr_t)WS && a[1] == 100 && a[2] == 1 &&
          a[3] == (uint64_t)(uintptr_t)Y && a[6] == 3 && a[7] == 100,
          "shift(d, y): d at the workspace's start, y the caller's");
    before = stub->launches;
    EXPECT(programs_chain_contiguous(ctx, b, NULL, WS, bytes, X, Y, 3, 100, 0.5f), TILE_OK, NULL);
    CHECK(stub->launches == before + 5 && a[0] == (uint64_t)(uintptr_t)WS, "the typed launcher");
    int64_t strided[2] = {200, 2};
    args[2].has_strides = true;
    memcpy(args[2].strides, strided, sizeof strided);
    EXPECT(tile_launch_program(ctx, b, "chain", args, 3, WS, bytes, NULL), TILE_OK, NULL);
    CHECK(a[3] == (uint64_t)(uintptr_t)Y && a[4] == 200 && a[5] == 2, "an output's strides pass");
    args[2].has_strides = false;
    /* modules loaded (preload would too): a program launch into a captured stream allocates
       nothing and enqueues every call */
    stub->capturing = true;
    before = stub->launches;
    EXPECT(tile_launch_program(ctx, b, "chain", args, 3, WS, bytes, NULL), TILE_OK, NULL);
    CHECK(stub->launches == before + 5, "a captured program launch: five launches");
    stub->capturing = false;

    /* what a launch refuses, each with a message */
    EXPECT(tile_launch_program(ctx, b, "chain", args, 3, WS, bytes - 1, NULL), TILE_ERR_ARG,
           "needs 3840 bytes of workspace for these shapes, 3839 given");
    EXPECT(tile_launch_program(ctx, b, "chain", args, 3, WS + 16, bytes, NULL), TILE_ERR_ARG,
           "not 256-byte aligned");
    EXPECT(tile_launch_program(ctx, b, "chain", args, 3, NULL, bytes, NULL), TILE_ERR_ARG, "NULL");
    EXPECT(tile_launch_program(ctx, b, "scale", args, 3, WS, bytes, NULL), TILE_ERR_ARG,
           "no program named 'scale'");
    EXPECT(tile_launch_program(ctx, b, "chain", args, 2, WS, bytes, NULL), TILE_ERR_ARG,
           "program chain takes 3 arguments, 2 given");
    chain_args(args, 3, 100, 99);
    EXPECT(tile_launch_program(ctx, b, "chain", args, 3, WS, bytes, NULL), TILE_ERR_SHAPE,
           "C = 100 from tensor x but 99 from tensor y");
    EXPECT(tile_program_workspace_bytes(ctx, b, "chain", args, 3, &bytes), TILE_ERR_SHAPE, "C = 100");
    chain_args(args, 3, 100, 100);
    EXPECT(programs_chain_workspace_bytes(ctx, b, -3, 100, &bytes), TILE_ERR_SHAPE,
           "shape symbol R = -3 is negative");
    tile_launch_values none = {0};
    EXPECT(tile_launch_program_values_at(ctx, b, 0, 0x1234, &none, WS, 3840, NULL), TILE_ERR_BUNDLE,
           "does not match the launcher header");
    EXPECT(tile_launch_program_values_at(ctx, b, 0, 0x2845ef3a093a037full, &none,
                                         WS, 3840, NULL), TILE_ERR_ARG,
           "tile_launch_values.pointers is NULL");
    stub->launch_result = 1;   /* CUDA_ERROR_INVALID_VALUE */
    EXPECT(tile_launch_program(ctx, b, "chain", args, 3, WS, 3840, NULL), TILE_ERR_LAUNCH,
           "program chain, call 0 (scale): kernel scale: cuLaunchKernel failed");
    stub->launch_result = 0;
    tile_bundle_free(b);
    printf("ok programs\n");
}

/* A program as a CUDA graph: the capture preloads a fresh bundle's modules, runs nothing,
   and a replay launches exactly what tile_launch_program does; a failed capture leaves no
   graph and no capture behind. */
static void test_program_graph(tile_context *ctx)
{
    char path[600];
    snprintf(path, sizeof path, "%s/programs.tbn", dir);
    tile_bundle *b = NULL;
    EXPECT(tile_bundle_load_file(ctx, path, &b), TILE_OK, NULL);
    if (!b)
        return;
    tile_arg args[3];
    chain_args(args, 3, 100, 100);
    stub->record_args = 8;
    int before = stub->launches, graphs = stub->graphs, execs = stub->graph_execs;
    tile_graph *g = NULL;
    EXPECT(tile_program_graph(ctx, b, "chain", args, 3, WS, 3840, &g), TILE_OK, NULL);
    CHECK(g && stub->launches == before && stub->graphs == graphs + 1 &&
          stub->graph_execs == execs + 1 && !stub->capturing,
          "captured and instantiated, nothing run (%d launches)", stub->launches - before);
    EXPECT(tile_launch_program(ctx, b, "chain", args, 3, WS, 3840, NULL), TILE_OK, NULL);
    StubLaunch direct = stub->last_launch;
    before = stub->launches;
    int replays = stub->graph_launches;
    memset(&stub->last_launch, 0, sizeof stub->last_launch);
    EXPECT(tile_graph_launch(g, NULL), TILE_OK, NULL);
    EXPECT(tile_graph_launch(g, NULL), TILE_OK, NULL);
    CHECK(stub->graph_launches == replays + 2 && stub->launches == before + 10 &&
          strcmp(stub->last_entry, "shift_kernel") == 0,
          "two replays of five calls each, shift last (%d launches, %s)",
          stub->launches - before, stub->last_entry);
    const StubLaunch *r = &stub->last_launch;
    CHECK(memcmp(direct.grid, r->grid, sizeof direct.grid) == 0 &&
          memcmp(direct.block, r->block, sizeof direct.block) == 0 && direct.smem == r->smem &&
          memcmp(direct.args, r->args, 8 * sizeof direct.args[0]) == 0,
          "a replay's last launch is the direct launch's (grid, block, arguments)");
    tile_graph_free(g);
    CHECK(stub->graphs == graphs && stub->graph_execs == execs, "the graph and its exec freed");

    g = (tile_graph *)&before;   /* overwritten with NULL on failure */
    EXPECT(tile_program_graph(ctx, b, "chain", args, 3, WS, 3839, &g), TILE_ERR_ARG,
           "needs 3840 bytes of workspace for these shapes, 3839 given");
    CHECK(!g && stub->graphs == graphs && !stub->capturing, "a failed capture: no graph");
    stub->launch_result = 1;   /* CUDA_ERROR_INVALID_VALUE: the capture of call 0 fails */
    EXPECT(tile_program_graph(ctx, b, "chain", args, 3, WS, 3840, &g), TILE_ERR_LAUNCH,
           "program chain, call 0 (scale)");
    stub->launch_result = 0;
    EXPECT(tile_program_graph(ctx, b, "scale", args, 3, WS, 3840, &g), TILE_ERR_ARG,
           "no program named 'scale'");
    chain_args(args, 3, 100, 99);
    EXPECT(tile_program_graph(ctx, b, "chain", args, 3, WS, 3840, &g), TILE_ERR_SHAPE, NULL);
    EXPECT(tile_program_graph(ctx, b, "chain", NULL, 3, WS, 3840, &g), TILE_ERR_ARG, "NULL");
    CHECK(!g && stub->graphs == graphs && stub->graph_execs == execs && !stub->capturing,
          "no graph from any failed capture");
    CHECK(tile_graph_launch(NULL, NULL) == TILE_ERR_ARG, "a NULL graph");
    tile_graph_free(NULL);
    tile_bundle_free(b);
    printf("ok program graphs\n");
}

/* The workspaces libtile allocates for callers without an allocator (the Python package). */
static void test_workspace_alloc(tile_context *ctx)
{
    int device = -1;
    EXPECT(tile_current_device(ctx, &device), TILE_OK, NULL);
    CHECK(device == 0, "the current device is 0, got %d", device);
    void *ws = NULL;
    EXPECT(tile_workspace_alloc(ctx, 3840, NULL, &ws), TILE_OK, NULL);
    CHECK(ws && (uintptr_t)ws % 256 == 0, "a workspace, 256-byte aligned: %p", ws);
    EXPECT(tile_workspace_alloc(ctx, 0, NULL, &ws), TILE_ERR_ARG, "0 bytes");
    stub->capturing = true;
    void *during = NULL;
    EXPECT(tile_workspace_alloc(ctx, 256, NULL, &during), TILE_ERR_CAPTURE,
           "cannot allocate a workspace while its stream is being captured");
    EXPECT(tile_workspace_free(ctx, ws, NULL), TILE_ERR_CAPTURE, "cannot free a workspace");
    stub->capturing = false;
    CHECK(during == NULL, "nothing allocated during a capture");
    EXPECT(tile_workspace_free(ctx, ws, NULL), TILE_OK, NULL);
    EXPECT(tile_workspace_free(ctx, NULL, NULL), TILE_OK, NULL);
    EXPECT(tile_current_device(ctx, NULL), TILE_ERR_ARG, "NULL");
    printf("ok workspace allocation\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: runtime_test BUNDLE_DIR\n", stderr);
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    test_no_driver();
    tile_context *ctx = NULL;
    tile_status s = tile_context_create(&ctx, NULL);
    CHECK(s == TILE_OK, "the stub driver opens: %s", ctx ? tile_error_message(ctx) : "");
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    StubStateFn state = lib ? (StubStateFn)dlsym(lib, "stub_state") : NULL;
    if (s != TILE_OK || !state) {
        printf("FAIL the stub libcuda.so.1 is not the one loaded (LD_LIBRARY_PATH?)\n");
        return 1;
    }
    stub = state();
    CHECK(tile_device_count(ctx) == 1, "one stub device");
    test_attention(ctx);
    test_reductions(ctx);
    test_index_faults(ctx);
    test_signature(ctx);
    test_bad_bundles(ctx);
    test_programs(ctx);
    test_program_graph(ctx);
    test_workspace_alloc(ctx);
    test_threads(ctx);
    tile_context_destroy(ctx);
    CHECK(stub->releases == 1, "the primary context is released");
    test_arch();
    dlclose(lib);
    printf("%s runtime_test (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
