/* pipeline.c — the compiler's pipeline in the one order every command follows: source ->
   checked AST (front_end), then for one kernel and its const values: TIR (tir_lower) -> the
   passes (tir_run_pipeline) -> the Config resolved against its tunables (pipeline_kernel).
   build (--emit and the bundle writer), run, bench and tune call both; where the const
   values and the tunables come from (--config, --set, --const) stays with each command. */
#include "cli.h"

/* A file with no kernels is an error: there is nothing to check or build. */
int front_end(Arena *arena, Diag *diag, const char *path, const Target *target, Program **out)
{
    *out = NULL;
    Program *p = parse_program(arena, diag, path);
    if (!p)
        return diag->errors ? diag->errors : 1;
    *out = p;
    if (diag->errors)
        return diag->errors;
    if (p->nkernels == 0) {
        Loc start = {.file = p->files, .line = 1, .col = 1};
        if (p->files)
            diag_error(diag, start, "no kernels in this file");
        else {
            if (diag->out)
                fprintf(diag->out, "%s: error: no kernels in this file\n", path);
            diag->errors++;
        }
        return diag->errors;
    }
    SemaOptions opts = {.target_sm = target ? target->sm : 0};
    return sema_check(arena, diag, p, &opts);
}

int pipeline_kernel(Arena *arena, Diag *diag, const Kernel *k, const int64_t *const_values,
                    const Config *user, const TirPipelineOptions *passes, TirKernel **out_tir,
                    Config *out_config)
{
    *out_tir = NULL;
    TirKernel *tk = tir_lower(arena, diag, k, const_values);
    if (!tk || tir_run_pipeline(tk, diag, passes) != 0)
        return EXIT_INPUT;
    char err[1024];
    if (config_resolve(tk, user, out_config, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: --config for kernel %s: %s\n", k->name, err);
        return EXIT_USAGE;
    }
    *out_tir = tk;
    return EXIT_OK;
}
