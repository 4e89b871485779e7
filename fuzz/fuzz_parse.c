/* fuzz_parse.c — libFuzzer entry point for the front end: any bytes through parse_string
   and sema_check (and the AST printer), and every kernel that checks clean through the
   lowering and the TIR passes, must not crash, hang, leak or trip a sanitizer.
   Build and run: see the end of this file. */
#include <stdint.h>

#include "front.h"

/* Diagnostics are produced in full (so their formatting is exercised) and thrown away. */
static FILE *discard(void)
{
    static FILE *null_file;
    if (!null_file)
        null_file = fopen("/dev/null", "w");
    return null_file;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *out = discard();
    if (!out)
        return 0;
    Arena arena = {0};
    Diag diag = {.out = out};
    Program *p = parse_string(&arena, &diag, "fuzz.tile", (const char *)data, size);
    if (p) {
        /* The parser returns a well-formed tree even after syntax errors, so sema runs on
           whatever it recovered. */
        SemaOptions opts = {.target_sm = 90};
        int errors = sema_check(&arena, &diag, p, &opts);
        ast_print(out, p, NULL);
        for (int i = 0; errors == 0 && i < p->nkernels; i++) {
            TirKernel *k = tir_lower(&arena, &diag, p->kernels[i], NULL);
            if (k && tir_run_pipeline(k, &diag, NULL) == 0)
                tir_print(out, k);
        }
    }
    arena_free(&arena);
    return 0;
}

// Build (from the repository root, clang 14 or newer):
//
//   mkdir -p fuzz-out
//   flex --outfile=fuzz-out/lexer.yy.c --header-file=fuzz-out/lexer.yy.h grammar/lexer.l
//   bison -Wall --defines=fuzz-out/parser.tab.h --output=fuzz-out/parser.tab.c grammar/parser.y
//   clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
//       -fno-sanitize-recover=all -Isrc/base -Isrc/ir -Isrc/front -Ifuzz-out \
//       -o fuzz-out/fuzz_parse fuzz/fuzz_parse.c fuzz-out/lexer.yy.c fuzz-out/parser.tab.c \
//       src/base/*.c src/front/*.c src/ir/*.c -lm
//
// Run, seeded with the examples and the test inputs:
//
//   mkdir -p fuzz-out/corpus && cp examples/*.tile tests/errors/*.tile fuzz-out/corpus/
//   fuzz-out/fuzz_parse -max_len=65536 -timeout=10 fuzz-out/corpus
