/* grid_tool.c — the grid a `tilec run` launch of a kernel would have, without a GPU: the GPU
   runner's check of its extents (gpu_grid_check over src/ir/eval.c, which refuses a
   division by zero) and libtile's count from the bundle's grid program (tbn_grid_blocks,
   the runtime's own libc-only copy of the integer ops), as tile_launch_prepare computes it.
   For tests/tir/check_arith.py:
     grid_tool FILE.tile OUT_DIR NAME=VALUE...   (the scalar parameters and shape symbols)
   prints `check ok` or `check error: MSG`, then `libtile N` or `libtile error: ...`. */
#include <stdlib.h>
#include <string.h>

#include "bundle_format.h"
#include "cli.h"

/* The bundle's kernels are never run: PTX that names the kernel is enough. */
static int fake_compile(Arena *a, const TirKernel *k, const Variant *v, const Target *t,
                        bool want_llvm, CompiledKernel *out, char *err, size_t errlen)
{
    (void)v, (void)want_llvm, (void)err, (void)errlen;
    out->entry = arena_strdup(a, k->name);
    out->ptx = arena_printf(a, ".version 8.6\n.target %s\n.address_size 64\n.visible .entry "
                            "%s()\n{\n\tret;\n}\n", t->name, k->name);
    out->num_threads = 128;
    return 0;
}

/* libtile's count for the launch `args` binds, from the bundle of `p` written in dir. */
static void libtile_blocks(Arena *a, Diag *d, const Program *p, const char *dir,
                           const LaunchArgs *args)
{
    char path[512], header[512], err[512];
    snprintf(path, sizeof path, "%s/grid.tbn", dir);
    snprintf(header, sizeof header, "%s/grid.h", dir);
    BundleTarget target = {target_lookup("sm_90a"), p};
    BundleOptions o = {.path = path, .header_path = header, .targets = &target, .ntargets = 1,
                       .compile = fake_compile, .ptxas = ""};
    size_t size = 0;
    uint8_t *data = NULL;
    TbnBundle b;
    memset(&b, 0, sizeof b);
    if (bundle_write_program(a, d, &o) != EXIT_OK ||
        tbn_read_file(path, &data, &size, err, sizeof err) != 0 ||
        tbn_read(data, size, false, &b, err, sizeof err) != 0 || b.nkernels < 1) {
        puts("libtile error: no bundle");
        goto done;
    }
    TbnScalar scalars[TBN_MAX_PARAMS] = {{0, 0}};
    for (int i = 0; i < args->nargs && i < TBN_MAX_PARAMS; i++)
        scalars[i] = (TbnScalar){args->args[i].ivalue, args->args[i].fvalue};
    int64_t blocks = 0;
    if (tbn_grid_blocks(&b.variants[b.kernels[0].first_variant], args->sym_values, scalars,
                        &blocks) != 0)
        puts("libtile error: more than 2^31 - 1 blocks");
    else
        printf("libtile %lld\n", (long long)blocks);
done:
    tbn_free(&b);
    free(data);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: grid_tool FILE.tile OUT_DIR NAME=VALUE...\n", stderr);
        return 2;
    }
    Arena arena = {0};
    Diag diag = {.out = stderr};
    Program *p;
    TirKernel *tk;
    Config config;
    int status = 1;
    LaunchArgs args = {0};
    if (front_end(&arena, &diag, argv[1], target_lookup("sm_90a"), &p) ||
        pipeline_kernel(&arena, &diag, p->kernels[0], NULL, NULL, NULL, &tk, &config))
        goto done;
    args.nargs = tk->nparams;
    args.args = calloc((size_t)tk->nparams + 1, sizeof *args.args);
    args.nsyms = tk->nsyms;
    args.sym_values = calloc((size_t)tk->nsyms + 1, sizeof *args.sym_values);
    for (int i = 3; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq)
            goto done;
        *eq = 0;
        long long v = strtoll(eq + 1, NULL, 0);
        int param = tir_find_param(tk, argv[i]), sym = tir_find_sym(tk, argv[i]);
        if (param >= 0)
            args.args[param].ivalue = v;
        else if (sym >= 0)
            args.sym_values[sym] = v;
        else
            goto done;
    }
    char err[1024];
    if (gpu_grid_check(tk, &args, err, sizeof err))
        puts("check ok");
    else
        printf("check error: %s\n", err);
    libtile_blocks(&arena, &diag, p, argv[2], &args);
    status = 0;
done:
    free(args.args);
    free(args.sym_values);
    arena_free(&arena);
    return status;
}
