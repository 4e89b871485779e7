/* variant_fit.c — the config an align-any variant of a kernel with dots is built with when
   its own spills: the bundle writer's variants and `tilec run` / `tilec bench` on tensors
   that are not 16-byte aligned take the same rung of the same ladder. */
#include <stdlib.h>

#include "cli.h"

static bool allowed_value(const TirTunable *t, int64_t v)
{
    for (int i = 0; i < t->nvalues; i++)
        if (t->values[i] == v)
            return true;
    return false;
}

/* The next smaller config of the ladder: a sequential loop's block (BLOCK_K) halved while
   over 32, else the largest grid block halved; false when no block can be halved to an
   allowed value. */
static bool smaller_config(const TirKernel *tk, const Config *c, Config *out)
{
    int best = -1;
    int64_t best_value = 0;
    for (int pass = 0; pass < 2 && best < 0; pass++)
        for (int i = 0; i < tk->nloopvars; i++) {
            const TirLoopVar *lv = tk->loopvars[i];
            if (lv->tunable < 0 || lv->is_grid != (pass == 1))
                continue;
            const TirTunable *t = &tk->tunables[lv->tunable];
            int64_t v = config_get(c, t->name, t->default_value);
            if ((pass == 0 && v <= 32) || v < 2 || !allowed_value(t, v / 2) || v <= best_value)
                continue;
            best = lv->tunable;
            best_value = v;
        }
    if (best < 0)
        return false;
    *out = *c;
    return config_set(out, tk->tunables[best].name, best_value / 2) == 0;
}

bool variant_fit_align_any(Arena *a, BundleCompileFn compile, const TirKernel *tk, Variant *v,
                           const Target *target, const char *ptxas, CompiledKernel *compiled,
                           PtxasReport *report, uint8_t **cubin, size_t *cubin_size)
{
    if (!report->ran || v->align != ALIGN_ANY ||
        (!report->spill_store_bytes && !report->spill_load_bytes))
        return false;
    Config *next = arena_alloc(a, sizeof *next);
    const Config *at = v->config;
    for (int step = 0; step < 6 && smaller_config(tk, at, next); step++) {
        Variant trial = *v;
        trial.config = next;
        CompiledKernel ck;
        char err[512];
        if (compile(a, tk, &trial, target, false, &ck, err, sizeof err) != 0)
            return false;
        PtxasReport rep = {0};
        void *bin = NULL;
        size_t size = 0;
        int st = ptxas_assemble(ptxas, ck.ptx, target->name, &rep, cubin ? &bin : NULL,
                                cubin ? &size : NULL, err, sizeof err);
        if (st == 0 && rep.ran && !rep.spill_store_bytes && !rep.spill_load_bytes) {
            if (cubin) {
                free(*cubin);
                *cubin = bin;
                *cubin_size = size;
            }
            *compiled = ck;
            *report = rep;
            v->config = next;
            return true;
        }
        free(bin);
        at = next;
        next = arena_alloc(a, sizeof *next);
    }
    return false;
}
