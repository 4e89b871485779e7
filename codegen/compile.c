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

typedef struct HostEval {
    const TirKernel *k;
    const int64_t *syms;
    const int64_t *ints;      /* integer and bool scalars, exact */
    const double *floats;     /* float scalars */
    char *err;
    size_t errlen;
} HostEval;

static bool eval_int(HostEval *h, const TirValue *v, int64_t *out);

static bool eval_operands(HostEval *h, const TirOp *op, int64_t *x, int64_t *y)
{
    return eval_int(h, op->operands[0], x) && (op->noperands < 2 || eval_int(h, op->operands[1], y));
}

static bool eval_int(HostEval *h, const TirValue *v, int64_t *out)
{
    const TirOp *op = v->def;
    int64_t x = 0, y = 0, c = 0;
    if (!op) {
        snprintf(h->err, h->errlen, "a grid extent depends on a loop-carried value");
        return false;
    }
    switch (op->opcode) {
    case TIR_FULL: *out = dtype_is_float(v->type.dtype) ? convert_f64_to_i64(op->fvalue) : op->ivalue; return true;
    case TIR_DIM: *out = h->syms[op->sym]; return true;
    case TIR_PARAM:
        *out = dtype_is_float(v->type.dtype) ? convert_f64_to_i64(h->floats[op->param])
                                             : h->ints[op->param];
        return true;
    case TIR_CONVERT:
        if (!eval_int(h, op->operands[0], out))
            return false;
        return tir_int_binary(TIR_BIN_ADD, v->type.dtype, *out, 0, out);   /* wrap to the dtype */
    case TIR_SELECT:
        if (!eval_int(h, op->operands[0], &c))
            return false;
        return eval_int(h, op->operands[c ? 1 : 2], out);
    case TIR_CMP:
        if (!eval_operands(h, op, &x, &y))
            return false;
        switch (op->sub) {
        case TIR_CMP_LT: *out = x < y; break;
        case TIR_CMP_LE: *out = x <= y; break;
        case TIR_CMP_GT: *out = x > y; break;
        case TIR_CMP_GE: *out = x >= y; break;
        case TIR_CMP_EQ: *out = x == y; break;
        default: *out = x != y; break;
        }
        return true;
    case TIR_BINARY:   /* as the device computes it: wrapping in the op's dtype */
        if (!eval_operands(h, op, &x, &y))
            return false;
        if (!tir_int_binary(op->sub, v->type.dtype, x, y, out)) {
            snprintf(h->err, h->errlen, "a grid extent uses a float `%s`", tir_binary_name(op->sub));
            return false;
        }
        return true;
    default:
        snprintf(h->err, h->errlen, "a grid extent uses `%s`, which the host cannot evaluate",
                 tir_op_info(op->opcode)->name);
        return false;
    }
}

int64_t codegen_grid_programs(const TirKernel *k, const Config *c, const int64_t *sym_values,
                              const int64_t *int_values, const double *float_values, char *err,
                              size_t errlen)
{
    HostEval h = {k, sym_values, int_values, float_values, err, errlen};
    const TirOp *grid = k->body->last;
    if (!grid || grid->opcode != TIR_GRID) {
        snprintf(err, errlen, "kernel %s has no grid", k->name);
        return -1;
    }
    int64_t programs = 1;
    for (int i = 0; i < grid->nvars; i++) {
        int64_t extent;
        if (!eval_int(&h, grid->operands[i], &extent))
            return -1;
        int64_t block = tir_loopvar_block(k, k->loopvars[grid->loopvars[i]], c);
        if (__builtin_mul_overflow(programs, extent > 0 ? tir_cdiv(extent, block) : 0, &programs)) {
            snprintf(err, errlen, "the grid has more than 2^63 programs");
            return -1;
        }
    }
    return programs;
}
