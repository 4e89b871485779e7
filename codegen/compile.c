/* compile.c — the compile entry point: TirKernel + Variant -> Schedule -> LLVM IR ->
   verify -> O3 -> PTX, errors as messages (never an abort); and the host-side grid size. */
#include <stdio.h>
#include <string.h>

#include "emit.h"

const char *align_class_name(AlignClass c)
{
    switch (c) {
    case ALIGN_VEC16: return "vec16";
    case ALIGN_UNIT: return "unit";
    case ALIGN_ANY: return "any";
    default: return "?";
    }
}

int codegen_compile(Arena *a, const TirKernel *k, const Variant *v, const Target *t,
                    bool want_llvm, CompiledKernel *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    Schedule s;
    if (schedule_build(a, k, v, t, &s, err, errlen) != 0)
        return -1;
    CodegenContext cg;
    if (!codegen_context_init(&cg, t, k->name, k->source)) {
        snprintf(err, errlen, "%s", cg.error);
        codegen_context_dispose(&cg);
        return -1;
    }
    Emitter e = {.cg = &cg, .b = cg.builder, .arena = a, .k = k, .s = &s, .err = err,
                 .errlen = errlen};
    int status = -1;
    if (emit_kernel(&e, k->name) != 0)
        goto done;
    if (!codegen_verify(&cg) || !codegen_optimize(&cg, CODEGEN_O3) || !codegen_verify(&cg)) {
        snprintf(err, errlen, "kernel %s: %s", k->name, cg.error);
        goto done;
    }
    if (want_llvm)
        out->llvm_ir = codegen_emit_llvm(&cg, a);
    out->ptx = codegen_emit_ptx(&cg, a);
    if (!out->ptx) {
        snprintf(err, errlen, "kernel %s: %s", k->name, cg.error);
        goto done;
    }
    out->entry = arena_strdup(a, k->name);
    out->num_threads = s.num_threads;
    out->smem_bytes = s.smem_bytes;
    status = 0;
done:
    codegen_context_dispose(&cg);
    return status;
}

/* ---- the grid on the host */

/* Where an op came from, for a message that is not a located diagnostic. */
static void loc_text(const TirKernel *k, Loc loc, char *buf, size_t size)
{
    const char *file = loc.file ? loc.file->path : k->source ? k->source : k->name;
    snprintf(buf, size, "%s:%d:%d", file, loc.line, loc.col);
}

int64_t codegen_grid_programs(const TirKernel *k, const Config *c, TirLeafFn leaf, void *ctx,
                              char *err, size_t errlen)
{
    const TirOp *grid = k->body->last;
    if (!grid || grid->opcode != TIR_GRID) {
        snprintf(err, errlen, "kernel %s has no grid", k->name);
        return -1;
    }
    int64_t programs = 1;
    for (int i = 0; i < grid->nvars; i++) {
        const TirLoopVar *lv = k->loopvars[grid->loopvars[i]];
        TirScalar extent;
        char where[512];
        if (!tir_eval_scalar(grid->operands[i], leaf, ctx, &extent)) {
            const TirValue *u = extent.unknown;
            if (!u || !u->def)
                snprintf(err, errlen, "the extent of grid variable %s depends on a loop-carried "
                         "value", lv->name);
            else
                snprintf(err, errlen, "the extent of grid variable %s uses `%s`, which the host "
                         "cannot evaluate", lv->name, tir_op_info(u->def->opcode)->name);
            return -1;
        }
        if (extent.div_by_zero) {
            loc_text(k, extent.div_by_zero->loc, where, sizeof where);
            snprintf(err, errlen, "%s: the extent of grid variable %s divides by zero", where,
                     lv->name);
            return -1;
        }
        int64_t block = tir_loopvar_block(k, lv, c);
        int64_t blocks = extent.i > 0 ? tir_cdiv(extent.i, block) : 0;
        if (__builtin_mul_overflow(programs, blocks, &programs)) {
            snprintf(err, errlen, "the grid has more than 2^63 programs");
            return -1;
        }
    }
    return programs;
}
