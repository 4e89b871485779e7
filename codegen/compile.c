/* compile.c — the compile entry point: TirKernel + Variant -> Schedule -> LLVM IR ->
   verify -> O3 -> PTX, errors as messages (never an abort). The grid a launch needs is the
   bundle's grid program (src/cli/bundle_write.c), run by libtile's tbn_grid_blocks. */
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
    out->persistent = s.persistent;
    out->path = schedule_path(a, &s);
    out->ntmaps = s.ntmaps;
    memcpy(out->tmaps, s.tmaps, sizeof s.tmaps);
    out->smem_bytes = s.smem_bytes;
    status = 0;
done:
    codegen_context_dispose(&cg);
    return status;
}
