/* tir_tool.c — runs one TIR stage on a .ir file and prints the result, for the golden
   tests of tests/golden/passes and the round-trip test:
     tir_tool roundtrip|verify|simplify|masks|fuse|pipeline FILE.ir
   Parses, verifies, applies the stage, verifies again, prints. Exit 1 on any error. */
#include <stdlib.h>
#include <string.h>

#include "tir.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
            }
            buf = bigger;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: tir_tool roundtrip|verify|simplify|masks|fuse|hoist|pipeline FILE.ir\n");
        return 2;
    }
    const char *stage = argv[1];
    size_t len;
    char *text = read_file(argv[2], &len);
    if (!text) {
        fprintf(stderr, "tir_tool: cannot read %s\n", argv[2]);
        return 1;
    }
    Arena arena = {0};
    Diag diag = {.out = stderr};
    int rc = 1;
    TirKernel **kernels = NULL;
    int n = tir_parse_many(&arena, &diag, argv[2], text, len, &kernels);
    if (n < 0)
        goto done;
    for (int i = 0; i < n; i++) {
        TirKernel *k = kernels[i];
        if (tir_verify(k, &diag))
            goto done;
        if (strcmp(stage, "simplify") == 0)
            tir_simplify(k);
        else if (strcmp(stage, "masks") == 0)
            tir_infer_masks(k);
        else if (strcmp(stage, "fuse") == 0)
            tir_fuse_dot(k);
        else if (strcmp(stage, "hoist") == 0)
            tir_hoist_invariant_loads(k);
        else if (strcmp(stage, "pipeline") == 0) {
            if (tir_run_pipeline(k, &diag, NULL))
                goto done;
        } else if (strcmp(stage, "roundtrip") != 0 && strcmp(stage, "verify") != 0) {
            fprintf(stderr, "tir_tool: unknown stage '%s'\n", stage);
            rc = 2;
            goto done;
        }
        tir_renumber(k);
        if (tir_verify(k, &diag))
            goto done;
        if (strcmp(stage, "verify") != 0)
            tir_print(stdout, k);
    }
    rc = 0;
done:
    arena_free(&arena);
    free(text);
    return rc;
}
