/* fuzz_tir.c — libFuzzer entry point for the TIR text form: any bytes through tir_parse_many,
   and every kernel that parses through the verifier, the pass pipeline and the printer,
   must not crash, hang, leak or trip a sanitizer. Built and run by .ci/fuzz. */
#include <stdint.h>

#include "tir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *discard;
    if (!discard && !(discard = fopen("/dev/null", "w")))
        return 0;
    Arena arena = {0};
    Diag diag = {.out = discard};
    TirKernel **kernels = NULL;
    int n = tir_parse_many(&arena, &diag, "fuzz.ir", (const char *)data, size, &kernels);
    for (int i = 0; i < n && kernels; i++) {
        if (!kernels[i] || tir_verify(kernels[i], &diag) != 0)
            continue;
        tir_print(discard, kernels[i]);
        if (tir_run_pipeline(kernels[i], &diag, NULL) == 0)
            tir_print(discard, kernels[i]);
    }
    arena_free(&arena);
    return 0;
}
