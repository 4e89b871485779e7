/* internal_test.c — libtile's internal interface (tile_internal.h, what tilec's commands use)
   against the stub libcuda.so.1: without a driver every call returns TILE_ERR_NO_DEVICE and
   a message instead of crashing; with the stub, the device's facts, memory round trips, a
   launch in three steps that matches tile_launch's (variant, grid, arguments, target
   fills), and entry points resolved through the same loader. Linked with libtile.a (the
   shared library hides these functions). Run with LD_LIBRARY_PATH at the stub's folder.
   usage: internal_test BUNDLE_DIR   (the folder bundle_test wrote) */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "stub_cuda.h"
#include "tile_internal.h"
#include "../check.h"

static void test_no_driver(void)
{
    tile_context *ctx = NULL;
    tile_options opts = {.driver_library = "/nonexistent/libcuda.so.1"};
    tile_status s = tile_context_create(&ctx, &opts);
    CHECK(s == TILE_ERR_NO_DEVICE && ctx, "no driver: %s", tile_status_string(s));
    const char *want = "/nonexistent/libcuda.so.1 not found: no CUDA driver on this machine";
    CHECK(strncmp(tile_error_message(ctx), want, strlen(want)) == 0, "message: %s",
          tile_error_message(ctx));
    tile_device_info info;
    CUdeviceptr ptr = 1;
    CUstream stream = (CUstream)1;
    void *fn = &ptr;
    CHECK(tile_dev_info(ctx, &info) == TILE_ERR_NO_DEVICE && info.name[0] == 0, "info");
    CHECK(strstr(tile_error_message(ctx), "not found") != NULL, "the startup message again: %s",
          tile_error_message(ctx));
    CHECK(tile_dev_alloc(ctx, 16, &ptr) == TILE_ERR_NO_DEVICE && ptr == 0, "alloc");
    CHECK(tile_dev_memset_async(ctx, 0x1000, 4, 0, 4, NULL) == TILE_ERR_NO_DEVICE, "memset");
    CHECK(tile_dev_stream_create(ctx, &stream) == TILE_ERR_NO_DEVICE && !stream, "stream");
    CHECK(tile_dev_proc(ctx, "cuLaunchKernel", &fn) == TILE_ERR_NO_DEVICE && !fn, "proc");
    CHECK(tile_dev_free(ctx, 0) == TILE_OK, "freeing 0 needs no driver");
    tile_context_destroy(ctx);
    printf("ok internal interface without a driver\n");
}

static void test_memory(tile_context *ctx)
{
    tile_device_info info;
    CHECK(tile_dev_info(ctx, &info) == TILE_OK && strcmp(info.name, "Stub GPU") == 0 &&
          info.cc_major == 9 && info.cc_minor == 0 && info.max_shared_per_block == 232448 &&
          info.driver_version == 13000, "device %s %d.%d", info.name, info.cc_major,
          info.cc_minor);
    CUdeviceptr p = 0;
    CHECK(tile_dev_alloc(ctx, 64, &p) == TILE_OK && p, "alloc");
    uint32_t in[16], out[16] = {0};
    for (int i = 0; i < 16; i++)
        in[i] = 0x01010101u * (uint32_t)i;
    CHECK(tile_dev_copy_to_device(ctx, p, in, sizeof in) == TILE_OK &&
          tile_dev_memset_async(ctx, p + 8, 2, 0xbeef, 2, NULL) == TILE_OK &&
          tile_dev_copy_to_host(ctx, out, p, sizeof out) == TILE_OK, "round trip");
    CHECK(out[1] == in[1] && out[2] == 0xbeefbeefu && out[3] == in[3], "memset16 at 8: %x",
          out[2]);
    CHECK(tile_dev_memset_async(ctx, p, 8, 0, 1, NULL) == TILE_ERR_ARG, "8-byte memsets");
    CHECK(tile_dev_free(ctx, p) == TILE_OK, "free");
    void *fn = NULL;
    CHECK(tile_dev_proc(ctx, "cuLaunchKernel", &fn) == TILE_OK && fn, "resolve");
    CHECK(tile_dev_proc(ctx, "cuNoSuchCall", &fn) != TILE_OK && !fn &&
          strstr(tile_error_message(ctx), "cuNoSuchCall"), "unknown entry point");
    printf("ok device facts and memory\n");
}

/* The amax kernel of kernels.tbn (bf16 x[M, K], f32 out[1] reduce(max)) in three steps and
   through tile_launch: the same variant, grid and arguments, and the target set to -inf. */
static void test_three_steps(tile_context *ctx, StubState *stub, const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/kernels.tbn", dir);
    tile_bundle *b = NULL;
    CHECK(tile_bundle_load_file(ctx, path, &b) == TILE_OK, "load: %s", tile_error_message(ctx));
    if (!b)
        return;
    int ki = tile_bundle_find_kernel(b, "amax");
    const TbnBundle *view = tile_bundle_view(b);
    CHECK(ki >= 0 && view && view->kernels[ki].nparams == 2, "the view");
    void *pointers[2] = {(void *)(uintptr_t)0x7000000000ull, (void *)(uintptr_t)0x7100000000ull};
    int64_t strides[3] = {1000, 1, 1}, symbols[2] = {100, 1000};
    tile_launch_values values = {pointers, strides, symbols, NULL, NULL};
    tile_prepared_launch prepared;
    stub->nmemsets = 0;
    int launches = stub->launches;
    CHECK(tile_launch_prepare(ctx, b, ki, &values, NULL, &prepared) == TILE_OK, "prepare: %s",
          tile_error_message(ctx));
    CHECK(stub->nmemsets == 0 && stub->launches == launches, "preparing runs nothing");
    /* x, its 2 strides, out, its stride, then M and K */
    CHECK(prepared.nargs == 7 && prepared.args[0] == 0x7000000000ull && prepared.args[1] == 1000 &&
          prepared.args[3] == 0x7100000000ull && prepared.args[5] == 100 &&
          prepared.args[6] == 1000 &&
          prepared.align == TBN_ALIGN_VEC16 && prepared.nfills == 1 &&
          prepared.fills[0].value == 0xff800000u, "packed: %d args, %d fills", prepared.nargs,
          prepared.nfills);
    CHECK(tile_launch_reset_targets(ctx, &prepared, NULL) == TILE_OK && stub->nmemsets == 1 &&
          stub->memsets[0].ptr == 0x7100000000ull && stub->memsets[0].value == 0xff800000u,
          "the target's fill");
    stub->record_args = 7;
    CHECK(tile_launch_enqueue(ctx, &prepared, NULL) == TILE_OK &&
          tile_launch_enqueue(ctx, &prepared, NULL) == TILE_OK &&
          stub->launches == launches + 2, "enqueued twice");
    StubLaunch three = stub->last_launch;
    CHECK(three.grid[0] == prepared.blocks && three.block[0] == prepared.threads &&
          three.smem == prepared.smem_bytes && three.args[6] == 1000, "the launch");
    int64_t xs[2] = {100, 1000}, os[1] = {1};
    tile_arg args[2] = {tile_arg_tensor(pointers[0], TILE_BF16, 2, xs, NULL),
                        tile_arg_tensor(pointers[1], TILE_F32, 1, os, NULL)};
    CHECK(tile_launch(ctx, b, "amax", args, 2, NULL) == TILE_OK &&
          memcmp(&stub->last_launch, &three, sizeof three) == 0, "tile_launch launches alike");
    stub->record_args = 0;
    strides[1] = 2;
    CHECK(tile_launch_prepare(ctx, b, ki, &values, NULL, &prepared) == TILE_OK &&
          prepared.align == TBN_ALIGN_ANY, "a strided x makes the launch `any`");
    CHECK(tile_launch_prepare(ctx, b, 7, &values, NULL, &prepared) == TILE_ERR_ARG,
          "no kernel 7");
    pointers[0] = NULL;
    CHECK(tile_launch_prepare(ctx, b, ki, &values, NULL, &prepared) == TILE_ERR_ARG &&
          strstr(tile_error_message(ctx), "null pointer"), "the same checks as tile_launch");
    tile_launch_values no_symbols = {pointers, strides, NULL, NULL, NULL};
    CHECK(tile_launch_prepare(ctx, b, ki, &no_symbols, NULL, &prepared) == TILE_ERR_ARG &&
          strstr(tile_error_message(ctx), "tile_launch_values.symbols is NULL"),
          "the same checks as tile_launch_values_at: %s", tile_error_message(ctx));
    tile_context *other = NULL;
    pointers[0] = (void *)(uintptr_t)0x7000000000ull;
    CHECK(tile_context_create(&other, NULL) == TILE_OK &&
          tile_launch_prepare(other, b, ki, &values, NULL, &prepared) == TILE_ERR_ARG &&
          strstr(tile_error_message(other), "another tile_context"),
          "a bundle of another context: %s", tile_error_message(other));
    tile_context_destroy(other);
    tile_bundle_free(b);
    printf("ok a launch in three steps\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: internal_test BUNDLE_DIR\n", stderr);
        return 2;
    }
    test_no_driver();
    tile_context *ctx = NULL;
    tile_status s = tile_context_create(&ctx, NULL);
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    StubStateFn state = lib ? (StubStateFn)dlsym(lib, "stub_state") : NULL;
    if (s != TILE_OK || !state) {
        printf("FAIL the stub libcuda.so.1 is not the one loaded (LD_LIBRARY_PATH?)\n");
        tile_context_destroy(ctx);
        return 1;
    }
    test_memory(ctx);
    test_three_steps(ctx, state(), argv[1]);
    tile_context_destroy(ctx);
    dlclose(lib);
    printf("%s internal_test (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
