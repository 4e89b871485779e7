/* tuned_test.c — one gemm launch through libtile on the stub libcuda.so.1 with a chosen
   device name, so tests/runtime/run_tests.sh can check which dispatch entry of a tuned
   bundle (`tilec build --tuned-from`) the runtime picks on each GPU. Prints what the launch
   ran: "threads T blocks B" (the test's configs differ in both; shared memory is codegen's
   business, so it is left out).
   Run with LD_LIBRARY_PATH at the stub's folder.
   usage: tuned_test BUNDLE DEVICE_NAME M N K [SM]   (SM: compute capability, 90 unless given) */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub_cuda.h"
#include "tile.h"

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fputs("usage: tuned_test BUNDLE DEVICE_NAME M N K [SM]\n", stderr);
        return 2;
    }
    /* the stub's device name must be set before libtile reads it (context creation) */
    void *lib = dlopen("libcuda.so.1", RTLD_NOW);
    StubStateFn state = lib ? (StubStateFn)dlsym(lib, "stub_state") : NULL;
    if (!state) {
        fputs("tuned_test: the stub libcuda.so.1 is not on LD_LIBRARY_PATH\n", stderr);
        return 1;
    }
    StubState *stub = state();
    snprintf(stub->name, sizeof stub->name, "%s", argv[2]);
    if (argc == 7)
        stub->sm = atoi(argv[6]);
    int64_t m = atoll(argv[3]), n = atoll(argv[4]), k = atoll(argv[5]);

    tile_context *ctx = NULL;
    tile_bundle *b = NULL;
    tile_status s = tile_context_create(&ctx, NULL);
    if (s == TILE_OK)
        s = tile_bundle_load_file(ctx, argv[1], &b);
    if (s == TILE_OK) {
        const int64_t a_shape[2] = {m, k}, b_shape[2] = {k, n}, c_shape[2] = {m, n};
        /* fake device addresses, 256-byte aligned: the vec16 class */
        tile_arg args[3] = {
            tile_arg_tensor((void *)(uintptr_t)0x7000000000ull, TILE_BF16, 2, a_shape, NULL),
            tile_arg_tensor((void *)(uintptr_t)0x7100000000ull, TILE_BF16, 2, b_shape, NULL),
            tile_arg_tensor((void *)(uintptr_t)0x7200000000ull, TILE_BF16, 2, c_shape, NULL),
        };
        s = tile_launch(ctx, b, "gemm", args, 3, NULL);
    }
    if (s != TILE_OK) {
        fprintf(stderr, "tuned_test: %s: %s\n", tile_status_string(s),
                ctx ? tile_error_message(ctx) : "");
        return 1;
    }
    const StubLaunch *l = &stub->last_launch;
    printf("threads %u blocks %llu\n", l->block[0] * l->block[1] * l->block[2],
           (unsigned long long)l->grid[0] * l->grid[1] * l->grid[2]);
    tile_bundle_free(b);
    tile_context_destroy(ctx);
    return 0;
}
