/* emit.c — TIR to LLVM IR under a Schedule: the kernel skeleton (ABI parameters, grid
   decomposition with L2 grouping), seq loops with one phi per carried register, elementwise
   math, reductions (registers, quad shuffles, a cross-warp step through shared memory),
   reshapes and layout conversions. Memory ops are in emit_memory.c, dots in emit_dot.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "emit.h"

void emit_fail(Emitter *e, const char *fmt, ...)
{
    if (e->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err, e->errlen, fmt, ap);
    va_end(ap);
    e->failed = true;
}

LLVMTypeRef emit_type(Emitter *e, DType t)
{
    CodegenTypes *ty = &e->cg->t;
    switch (t) {
    case DT_F32: return ty->f32;
    case DT_F16: return ty->f16;
    case DT_BF16: return ty->bf16;
    case DT_F8E4M3:
    case DT_F8E5M2: return ty->i8;
    case DT_I8:
    case DT_U8: return ty->i8;
    case DT_I16: return ty->i16;
    case DT_I32:
    case DT_U32: return ty->i32;
    case DT_I64: return ty->i64;
    case DT_BOOL: return ty->i1;
    default: return ty->i32;
    }
}

LLVMValueRef emit_i32(Emitter *e, long long v)
{
    return LLVMConstInt(e->cg->t.i32, (unsigned long long)v, 1);
}

LLVMValueRef emit_i64(Emitter *e, long long v)
{
    return LLVMConstInt(e->cg->t.i64, (unsigned long long)v, 1);
}

LLVMValueRef emit_smem_at(Emitter *e, LLVMValueRef offset)
{
    return nvvm_offset(e->cg, e->smem, offset);
}

Tile emit_tile_new(Emitter *e, const Layout *l)
{
    Tile t = {l, 1 << l->nreg, NULL};
    t.regs = arena_alloc(e->arena, sizeof(LLVMValueRef) * (size_t)t.n);
    return t;
}

/* An intrinsic overloaded on one type, the type of its result (llvm.smax, llvm.sqrt, ...). */
static LLVMValueRef call_intrinsic(Emitter *e, const char *name, LLVMTypeRef overload,
                                   LLVMValueRef *args, unsigned nargs)
{
    return nvvm_call_intrinsic(e->cg, name, overload, args, nargs, &overload, 1);
}

/* ---- coordinates */

static LLVMValueRef bit_of(Emitter *e, LLVMValueRef x, int bit)
{
    return LLVMBuildAnd(e->b, LLVMBuildLShr(e->b, x, emit_i32(e, bit), ""), emit_i32(e, 1), "");
}

static LLVMValueRef thread_base(Emitter *e, const Layout *l, int axis)
{
    LLVMValueRef base = emit_i32(e, 0);
    for (int i = 0; i < 5; i++)
        if (l->lane[i][axis])
            base = LLVMBuildOr(e->b, base, LLVMBuildMul(e->b, bit_of(e, e->lane, i),
                                                        emit_i32(e, l->lane[i][axis]), ""), "");
    for (int i = 0; i < l->nwarp; i++)
        if (l->warp[i][axis])
            base = LLVMBuildOr(e->b, base, LLVMBuildMul(e->b, bit_of(e, e->warp, i),
                                                        emit_i32(e, l->warp[i][axis]), ""), "");
    return base;
}

LLVMValueRef emit_coord(Emitter *e, const Layout *l, int r, int axis)
{
    return LLVMBuildOr(e->b, thread_base(e, l, axis),
                       emit_i32(e, layout_reg_offset(l, r, axis)), "");
}

LLVMValueRef emit_owner(Emitter *e, const Layout *l)
{
    LLVMValueRef ok = LLVMConstInt(e->cg->t.i1, 1, 0);
    for (int i = 0; i < 5; i++) {
        bool zero = true;
        for (int d = 0; d < l->rank; d++)
            zero &= l->lane[i][d] == 0;
        if (zero)
            ok = LLVMBuildAnd(e->b, ok, LLVMBuildICmp(e->b, LLVMIntEQ, bit_of(e, e->lane, i),
                                                      emit_i32(e, 0), ""), "");
    }
    for (int i = 0; i < l->nwarp; i++) {
        bool zero = true;
        for (int d = 0; d < l->rank; d++)
            zero &= l->warp[i][d] == 0;
        if (zero)
            ok = LLVMBuildAnd(e->b, ok, LLVMBuildICmp(e->b, LLVMIntEQ, bit_of(e, e->warp, i),
                                                      emit_i32(e, 0), ""), "");
    }
    return ok;
}

LLVMValueRef emit_axis_valid(Emitter *e, Axis axis, LLVMValueRef coord)
{
    if (axis.kind == AXIS_BLOCK) {
        if (e->lv_full[axis.id])
            return LLVMConstInt(e->cg->t.i1, 1, 0);
        LLVMValueRef index = LLVMBuildAdd(e->b, e->lv_begin[axis.id],
                                          LLVMBuildZExt(e->b, coord, e->cg->t.i64, ""), "");
        return LLVMBuildICmp(e->b, LLVMIntSLT, index, e->lv_extent[axis.id], "");
    }
    if (axis.kind == AXIS_FULL) {
        int64_t real = e->s->variant->full_sizes[axis.id];
        if (real == schedule_axis_size(e->s, axis))
            return LLVMConstInt(e->cg->t.i1, 1, 0);
        return LLVMBuildICmp(e->b, LLVMIntSLT, coord, emit_i32(e, real), "");
    }
    return LLVMConstInt(e->cg->t.i1, 1, 0);
}

/* ---- numbers */

LLVMValueRef emit_to_f32(Emitter *e, LLVMValueRef x, DType t)
{
    if (t == DT_F16 || t == DT_BF16)
        return LLVMBuildFPExt(e->b, x, e->cg->t.f32, "");
    if (dtype_is_fp8(t)) {
        LLVMValueRef out[2];
        nvvm_unpack_fp8x2(e->cg, t, LLVMBuildZExt(e->b, x, e->cg->t.i16, ""), out);
        return out[0];
    }
    return x;
}

LLVMValueRef emit_from_f32(Emitter *e, LLVMValueRef x, DType t)
{
    if (t == DT_F16 || t == DT_BF16)
        return LLVMBuildFPTrunc(e->b, x, emit_type(e, t), "");
    if (dtype_is_fp8(t))
        return LLVMBuildTrunc(e->b, nvvm_pack_fp8x2(e->cg, t, x, LLVMConstReal(e->cg->t.f32, 0)),
                              e->cg->t.i8, "");
    return x;
}

static LLVMValueRef constant(Emitter *e, const TirOp *op)
{
    DType t = op->results[0]->type.dtype;
    if (dtype_is_fp8(t)) {
        /* folded once: the constant's bits through the same saturating conversion */
        return emit_from_f32(e, LLVMConstReal(e->cg->t.f32, op->fvalue), t);
    }
    if (dtype_is_float(t))
        return LLVMConstReal(emit_type(e, t), op->fvalue);
    return LLVMConstInt(emit_type(e, t), (unsigned long long)op->ivalue, 1);
}

/* Float ops carry no fast-math flags: neither LLVM nor ptxas (which contracts a mul.f32
   and add.f32 without .rn) fuses anything; the only fmas are tir_fused_multiply's. */
static LLVMValueRef float_binary(Emitter *e, int op, LLVMValueRef x, LLVMValueRef y)
{
    LLVMValueRef args[2] = {x, y};
    switch (op) {
    case TIR_BIN_ADD: return LLVMBuildFAdd(e->b, x, y, "");
    case TIR_BIN_SUB: return LLVMBuildFSub(e->b, x, y, "");
    case TIR_BIN_MUL: return LLVMBuildFMul(e->b, x, y, "");
    case TIR_BIN_DIV: return LLVMBuildFDiv(e->b, x, y, "");
    case TIR_BIN_MAX: return call_intrinsic(e, "llvm.maximum", e->cg->t.f32, args, 2);
    case TIR_BIN_MIN: return call_intrinsic(e, "llvm.minimum", e->cg->t.f32, args, 2);
    default: return x;
    }
}

/* x*y + c as one fma; `sub`: x*y - c (the mul is operand 0) or c - x*y (operand 1). */
static LLVMValueRef fused_multiply(Emitter *e, int op, int mul_operand, LLVMValueRef x,
                                   LLVMValueRef y, LLVMValueRef c)
{
    if (op == TIR_BIN_SUB && mul_operand == 0)
        c = LLVMBuildFNeg(e->b, c, "");
    else if (op == TIR_BIN_SUB)
        x = LLVMBuildFNeg(e->b, x, "");
    LLVMValueRef args[3] = {x, y, c};
    return call_intrinsic(e, "llvm.fma", e->cg->t.f32, args, 3);
}

static LLVMValueRef float_unary(Emitter *e, int op, LLVMValueRef x);

/* mathfn.c's recipes as LLVM IR: its operations are the ones below (ex2.approx, fma, IEEE
   add/sub/mul/div), so the interpreter's --arith=gpu computes the same bits. */
static TirMathValue recipe_value(LLVMValueRef v)
{
    return (TirMathValue){.handle = v};
}

static TirMathValue recipe_constant(const TirMathOps *m, float c)
{
    Emitter *e = m->ctx;
    return recipe_value(LLVMConstReal(e->cg->t.f32, c));
}

static TirMathValue recipe_unary(const TirMathOps *m, int sub, TirMathValue x)
{
    return recipe_value(float_unary(m->ctx, sub, x.handle));
}

static TirMathValue recipe_binary(const TirMathOps *m, int sub, TirMathValue x, TirMathValue y)
{
    return recipe_value(float_binary(m->ctx, sub, x.handle, y.handle));
}

static TirMathValue recipe_fma(const TirMathOps *m, TirMathValue x, TirMathValue y, TirMathValue z)
{
    return recipe_value(fused_multiply(m->ctx, TIR_BIN_ADD, 0, x.handle, y.handle, z.handle));
}

static TirMathValue recipe_select_less(const TirMathOps *m, TirMathValue a, TirMathValue b,
                                       TirMathValue if_less, TirMathValue otherwise)
{
    Emitter *e = m->ctx;
    LLVMValueRef less = LLVMBuildFCmp(e->b, LLVMRealOLT, a.handle, b.handle, "");
    return recipe_value(LLVMBuildSelect(e->b, less, if_less.handle, otherwise.handle, ""));
}

static LLVMValueRef float_unary(Emitter *e, int op, LLVMValueRef x)
{
    LLVMTypeRef f32 = e->cg->t.f32;
    if (tir_math_is_recipe(op)) {
        TirMathOps ops = {e, recipe_constant, recipe_unary, recipe_binary, recipe_fma,
                          recipe_select_less};
        return tir_math_recipe(&ops, op, recipe_value(x)).handle;
    }
    switch (op) {
    case TIR_UN_NEG: return LLVMBuildFNeg(e->b, x, "");
    case TIR_UN_EXP2: return nvvm_ex2_approx(e->cg, x);
    case TIR_UN_EXP:
        return nvvm_ex2_approx(e->cg, LLVMBuildFMul(e->b, x, LLVMConstReal(f32, 1.4426950408889634), ""));
    case TIR_UN_LOG2: return nvvm_lg2_approx(e->cg, x);
    case TIR_UN_LOG:
        return LLVMBuildFMul(e->b, nvvm_lg2_approx(e->cg, x),
                             LLVMConstReal(f32, 0.6931471805599453), "");
    case TIR_UN_SQRT: return call_intrinsic(e, "llvm.sqrt", f32, &x, 1);
    case TIR_UN_RSQRT: return nvvm_rsqrt_approx(e->cg, x);
    case TIR_UN_ABS: return call_intrinsic(e, "llvm.fabs", f32, &x, 1);
    default: return x;
    }
}

/* Integer ops of an unsigned dtype (u8 u32) use the unsigned instructions: abs is x,
   division, max/min and comparisons are unsigned. */
static LLVMValueRef int_unary(Emitter *e, int op, LLVMValueRef x, bool is_unsigned)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    switch (op) {
    case TIR_UN_NEG: return LLVMBuildNeg(e->b, x, "");
    case TIR_UN_NOT:
    case TIR_UN_BITNOT: return LLVMBuildNot(e->b, x, "");
    case TIR_UN_ABS: {
        if (is_unsigned)
            return x;
        LLVMValueRef args[2] = {x, LLVMConstInt(e->cg->t.i1, 0, 0)};
        return call_intrinsic(e, "llvm.abs", t, args, 2);
    }
    default: return x;
    }
}

/* Integer division and remainder with x / 0 = x % 0 = 0 and wrapping MIN / -1. */
static LLVMValueRef int_divide(Emitter *e, LLVMValueRef x, LLVMValueRef y, bool rem,
                               bool is_unsigned)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    LLVMValueRef zero = LLVMConstInt(t, 0, 0), one = LLVMConstInt(t, 1, 0);
    if (is_unsigned) {
        LLVMValueRef is_zero = LLVMBuildICmp(e->b, LLVMIntEQ, y, zero, "");
        LLVMValueRef safe = LLVMBuildSelect(e->b, is_zero, one, y, "");
        LLVMValueRef q = rem ? LLVMBuildURem(e->b, x, safe, "") : LLVMBuildUDiv(e->b, x, safe, "");
        return LLVMBuildSelect(e->b, is_zero, zero, q, "");
    }
    LLVMValueRef minus1 = LLVMConstAllOnes(t);
    LLVMValueRef is_zero = LLVMBuildICmp(e->b, LLVMIntEQ, y, zero, "");
    LLVMValueRef is_m1 = LLVMBuildICmp(e->b, LLVMIntEQ, y, minus1, "");
    LLVMValueRef safe = LLVMBuildSelect(e->b, LLVMBuildOr(e->b, is_zero, is_m1, ""), one, y, "");
    LLVMValueRef q = rem ? LLVMBuildSRem(e->b, x, safe, "") : LLVMBuildSDiv(e->b, x, safe, "");
    LLVMValueRef m1 = rem ? zero : LLVMBuildNeg(e->b, x, "");
    q = LLVMBuildSelect(e->b, is_m1, m1, q, "");
    return LLVMBuildSelect(e->b, is_zero, zero, q, "");
}

/* x << y and x >> y as TIR defines them (the count unsigned; at or past the width every bit
   is shifted out), where LLVM's shifts would be poison. */
static LLVMValueRef int_shift(Emitter *e, int op, LLVMValueRef x, LLVMValueRef y, bool is_unsigned)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    LLVMValueRef width1 = LLVMConstInt(t, LLVMGetIntTypeWidth(t) - 1, 0);
    LLVMValueRef past = LLVMBuildICmp(e->b, LLVMIntUGT, y, width1, "");
    if (op == TIR_BIN_SHR && !is_unsigned) {   /* sign fill: shifting by width - 1 is the same */
        LLVMValueRef args[2] = {y, width1};
        return LLVMBuildAShr(e->b, x, call_intrinsic(e, "llvm.umin", t, args, 2), "");
    }
    LLVMValueRef safe = LLVMBuildSelect(e->b, past, LLVMConstInt(t, 0, 0), y, "");
    LLVMValueRef v = op == TIR_BIN_SHL ? LLVMBuildShl(e->b, x, safe, "") : LLVMBuildLShr(e->b, x, safe, "");
    return LLVMBuildSelect(e->b, past, LLVMConstInt(t, 0, 0), v, "");
}

static LLVMValueRef int_binary(Emitter *e, int op, LLVMValueRef x, LLVMValueRef y,
                               bool is_unsigned)
{
    LLVMValueRef args[2] = {x, y};
    switch (op) {
    case TIR_BIN_ADD: return LLVMBuildAdd(e->b, x, y, "");
    case TIR_BIN_SUB: return LLVMBuildSub(e->b, x, y, "");
    case TIR_BIN_MUL: return LLVMBuildMul(e->b, x, y, "");
    case TIR_BIN_DIV: return int_divide(e, x, y, false, is_unsigned);
    case TIR_BIN_MOD: return int_divide(e, x, y, true, is_unsigned);
    case TIR_BIN_MAX:
        return call_intrinsic(e, is_unsigned ? "llvm.umax" : "llvm.smax", LLVMTypeOf(x), args, 2);
    case TIR_BIN_MIN:
        return call_intrinsic(e, is_unsigned ? "llvm.umin" : "llvm.smin", LLVMTypeOf(x), args, 2);
    case TIR_BIN_AND: return LLVMBuildAnd(e->b, x, y, "");
    case TIR_BIN_OR: return LLVMBuildOr(e->b, x, y, "");
    case TIR_BIN_BITAND: return LLVMBuildAnd(e->b, x, y, "");
    case TIR_BIN_BITOR: return LLVMBuildOr(e->b, x, y, "");
    case TIR_BIN_BITXOR: return LLVMBuildXor(e->b, x, y, "");
    case TIR_BIN_SHL:
    case TIR_BIN_SHR: return int_shift(e, op, x, y, is_unsigned);
    case TIR_BIN_CDIV: {
        LLVMValueRef one = LLVMConstInt(LLVMTypeOf(x), 1, 0);
        return int_divide(e, LLVMBuildSub(e->b, LLVMBuildAdd(e->b, x, y, ""), one, ""), y, false,
                          is_unsigned);
    }
    default: return x;
    }
}

static LLVMValueRef compare(Emitter *e, int op, LLVMValueRef x, LLVMValueRef y, DType t)
{
    if (dtype_is_float(t)) {
        static const LLVMRealPredicate fp[] = {LLVMRealOLT, LLVMRealOLE, LLVMRealOGT,
                                               LLVMRealOGE, LLVMRealOEQ, LLVMRealUNE};
        return LLVMBuildFCmp(e->b, fp[op], emit_to_f32(e, x, t), emit_to_f32(e, y, t), "");
    }
    static const LLVMIntPredicate ip[] = {LLVMIntSLT, LLVMIntSLE, LLVMIntSGT,
                                          LLVMIntSGE, LLVMIntEQ, LLVMIntNE};
    static const LLVMIntPredicate up[] = {LLVMIntULT, LLVMIntULE, LLVMIntUGT,
                                          LLVMIntUGE, LLVMIntEQ, LLVMIntNE};
    return LLVMBuildICmp(e->b, dtype_is_unsigned(t) ? up[op] : ip[op], x, y, "");
}

/* convert: RNE between floats, saturating fp8, float -> int truncating and saturating
   (NaN -> 0), anything -> bool as x != 0. */
static LLVMValueRef convert(Emitter *e, LLVMValueRef x, DType from, DType to)
{
    if (from == to)
        return x;
    LLVMTypeRef tt = emit_type(e, to);
    if (to == DT_BOOL) {
        if (dtype_is_float(from))
            return LLVMBuildFCmp(e->b, LLVMRealUNE, emit_to_f32(e, x, from),
                                 LLVMConstReal(e->cg->t.f32, 0), "");
        return LLVMBuildICmp(e->b, LLVMIntNE, x, LLVMConstInt(LLVMTypeOf(x), 0, 0), "");
    }
    if (from == DT_BOOL)
        return dtype_is_float(to)
                   ? emit_from_f32(e, LLVMBuildUIToFP(e->b, x, e->cg->t.f32, ""), to)
                   : LLVMBuildZExt(e->b, x, tt, "");
    if (dtype_is_float(from) && dtype_is_float(to)) {
        if (to == DT_F32)
            return emit_to_f32(e, x, from);
        if ((to == DT_F16 || to == DT_BF16) && !dtype_is_fp8(from))
            return LLVMBuildFPTrunc(e->b, emit_to_f32(e, x, from), tt, "");
        return emit_from_f32(e, emit_to_f32(e, x, from), to);
    }
    if (dtype_is_float(from)) {
        LLVMValueRef f = emit_to_f32(e, x, from);
        LLVMTypeRef overloads[2] = {tt, e->cg->t.f32};
        return nvvm_call_intrinsic(e->cg, dtype_is_unsigned(to) ? "llvm.fptoui.sat" : "llvm.fptosi.sat",
                                   tt, &f, 1, overloads, 2);
    }
    bool from_signed = !dtype_is_unsigned(from);
    if (dtype_is_float(to)) {
        LLVMTypeRef ft = to == DT_F32 || to == DT_F16 || to == DT_BF16 ? tt : e->cg->t.f32;
        LLVMValueRef f = from_signed ? LLVMBuildSIToFP(e->b, x, ft, "") : LLVMBuildUIToFP(e->b, x, ft, "");
        return ft == tt ? f : emit_from_f32(e, f, to);
    }
    return LLVMBuildIntCast2(e->b, x, tt, from_signed, "");
}

/* ---- fetching values in a layout */

/* The row-major element index of register r of layout l (its shape's strides). */
static LLVMValueRef emit_linear_coord(Emitter *e, const Layout *l, int r)
{
    LLVMValueRef lin = emit_i32(e, 0);
    for (int d = 0; d < l->rank; d++)
        lin = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, lin, emit_i32(e, l->shape[d]), ""),
                           emit_coord(e, l, r, d), "");
    return lin;
}

static Tile splat(Emitter *e, LLVMValueRef x, const Layout *want)
{
    Tile t = emit_tile_new(e, want);
    for (int r = 0; r < t.n; r++)
        t.regs[r] = x;
    return t;
}

static Tile convert_layout(Emitter *e, const Tile *in, DType t, const Layout *want)
{
    Tile out = emit_tile_new(e, want);
    LLVMTypeRef ty = emit_type(e, t);
    if (t == DT_BOOL)
        ty = e->cg->t.i8;
    int esize = dtype_size(t);  /* the scratch holds the value's own dtype (bool as a byte) */
    int64_t bytes = esize;
    for (int d = 0; d < in->layout->rank; d++)
        bytes *= in->layout->shape[d];
    if (!e->smem || bytes > e->s->scratch_bytes) {
        /* the schedule reserves scratch for every conversion it foresees */
        emit_fail(e, "internal: a layout conversion of %lld bytes without shared scratch "
                  "(%d reserved)", (long long)bytes, e->s->scratch_bytes);
        return splat(e, LLVMGetUndef(ty), want);
    }
    emit_barrier(e);  /* the scratch may still be read by an earlier conversion */
    for (int r = 0; r < in->n; r++) {
        LLVMValueRef off = LLVMBuildAdd(e->b, emit_private_offset(e, e->s->scratch_offset),
                                        LLVMBuildMul(e->b, emit_linear_coord(e, in->layout, r),
                                                     emit_i32(e, esize), ""), "");
        LLVMValueRef v = t == DT_BOOL ? LLVMBuildZExt(e->b, in->regs[r], ty, "") : in->regs[r];
        LLVMBuildStore(e->b, v, emit_smem_at(e, off));
    }
    emit_barrier(e);
    for (int r = 0; r < out.n; r++) {
        LLVMValueRef off = LLVMBuildAdd(e->b, emit_private_offset(e, e->s->scratch_offset),
                                        LLVMBuildMul(e->b, emit_linear_coord(e, want, r),
                                                     emit_i32(e, esize), ""), "");
        LLVMValueRef v = LLVMBuildLoad2(e->b, ty, emit_smem_at(e, off), "");
        out.regs[r] = t == DT_BOOL ? LLVMBuildTrunc(e->b, v, e->cg->t.i1, "") : v;
    }
    return out;
}

/* Register r of layout `to` from a tile whose layout is `to` with some axes projected away
   (or sliced off): the register bits along the dropped axes are removed. */
int emit_projected_register(const Layout *to, const bool *keep, int r)
{
    int out = 0, bit = 0;
    for (int i = 0; i < to->nreg; i++) {
        bool dropped = false;
        for (int d = 0; d < to->rank; d++)
            dropped |= to->reg[i][d] && !keep[d];
        if (dropped)
            continue;
        out |= (r >> i & 1) << bit;
        bit++;
    }
    return out;
}

Tile emit_fetch(Emitter *e, const TirValue *v, const Layout *want)
{
    const Tile *have = &e->values[v->id];
    if (v->type.rank == 0 || want->rank == 0)
        return splat(e, have->regs ? have->regs[0] : LLVMGetUndef(emit_type(e, v->type.dtype)),
                     want);
    if (have->regs && layout_equal(have->layout, want))
        return *have;
    const TirOp *def = v->def;
    if (def && def->opcode == TIR_FULL)
        return splat(e, constant(e, def), want);
    if (def && def->opcode == TIR_IOTA) {
        Tile t = emit_tile_new(e, want);
        for (int r = 0; r < t.n; r++)
            t.regs[r] = LLVMBuildAdd(e->b, e->lv_begin[def->loopvar],
                                     LLVMBuildZExt(e->b, emit_coord(e, want, r, 0),
                                                   e->cg->t.i64, ""), "");
        return t;
    }
    if (def && (def->opcode == TIR_BROADCAST || def->opcode == TIR_EXPAND_DIMS) &&
        schedule_fetch_cost(e->s, v, want) == 0) {
        const TirValue *x = def->operands[0];
        bool keep[LAYOUT_MAX_RANK];
        for (int d = 0; d < LAYOUT_MAX_RANK; d++)
            keep[d] = true;
        Layout inner;
        if (def->opcode == TIR_EXPAND_DIMS) {
            inner = layout_slice(want, def->axis);
            keep[def->axis] = false;
        } else {
            int lead = want->rank - x->type.rank;
            for (int d = 0; d < want->rank; d++)
                keep[d] = d >= lead && (x->type.axes[d - lead].kind != AXIS_ONE ||
                                        want->shape[d] == 1);
            Layout p = layout_project(want, keep);
            inner = p;
            for (int d = 0; d < lead; d++)
                inner = layout_slice(&inner, 0);
        }
        Tile src = emit_fetch(e, x, &inner);
        Tile t = emit_tile_new(e, want);
        for (int r = 0; r < t.n; r++)
            t.regs[r] = src.regs[x->type.rank == 0 ? 0 : emit_projected_register(want, keep, r)];
        return t;
    }
    if (def && def->opcode == TIR_BINARY && !dtype_is_float(v->type.dtype) &&
        schedule_fetch_cost(e->s, v, want) == 0) {   /* index arithmetic, recomputed */
        Tile x = emit_fetch(e, def->operands[0], want), y = emit_fetch(e, def->operands[1], want);
        Tile t = emit_tile_new(e, want);
        for (int r = 0; r < t.n; r++)
            t.regs[r] = int_binary(e, def->sub, x.regs[r], y.regs[r],
                                   dtype_is_unsigned(def->operands[0]->type.dtype));
        return t;
    }
    if (def && def->opcode == TIR_CMP && !dtype_is_float(def->operands[0]->type.dtype) &&
        schedule_fetch_cost(e->s, v, want) == 0) {   /* a mask of index arithmetic, recomputed */
        Tile x = emit_fetch(e, def->operands[0], want), y = emit_fetch(e, def->operands[1], want);
        Tile t = emit_tile_new(e, want);
        for (int r = 0; r < t.n; r++)
            t.regs[r] = compare(e, def->sub, x.regs[r], y.regs[r], def->operands[0]->type.dtype);
        return t;
    }
    if (!have->regs) {
        emit_fail(e, "internal: value %%%d used before it has registers", v->id);
        return splat(e, LLVMGetUndef(emit_type(e, v->type.dtype)), want);
    }
    return convert_layout(e, have, v->type.dtype, want);
}

/* ---- ops */

static LLVMValueRef high_word(Emitter *e, LLVMValueRef x64)
{
    return LLVMBuildTrunc(e->b, LLVMBuildLShr(e->b, x64, emit_i64(e, 32), ""), e->cg->t.i32, "");
}

/* tir_philox's rounds on i32 words (each 32x32 product as mul.lo.u32 and mul.hi.u32):
   the four words of counter block `block` (an i64) under key `seed`. */
static void philox_words(Emitter *e, LLVMValueRef seed, LLVMValueRef block, LLVMValueRef c[4])
{
    LLVMBuilderRef b = e->b;
    LLVMTypeRef i32 = e->cg->t.i32;
    LLVMValueRef k[2] = {LLVMBuildTrunc(b, seed, i32, ""), high_word(e, seed)};
    c[0] = LLVMBuildTrunc(b, block, i32, "");
    c[1] = high_word(e, block);
    c[2] = c[3] = LLVMConstInt(i32, 0, 0);
    LLVMValueRef m0 = LLVMConstInt(i32, TIR_PHILOX_M0, 0), m1 = LLVMConstInt(i32, TIR_PHILOX_M1, 0);
    for (int r = 0; r < TIR_PHILOX_ROUNDS; r++) {
        if (r > 0) {
            k[0] = LLVMBuildAdd(b, k[0], LLVMConstInt(i32, TIR_PHILOX_W0, 0), "");
            k[1] = LLVMBuildAdd(b, k[1], LLVMConstInt(i32, TIR_PHILOX_W1, 0), "");
        }
        LLVMValueRef hi0 = nvvm_mulhi_u32(e->cg, c[0], m0), hi1 = nvvm_mulhi_u32(e->cg, c[2], m1);
        LLVMValueRef next[4] = {
            LLVMBuildXor(b, LLVMBuildXor(b, hi1, c[1], ""), k[0], ""),
            LLVMBuildMul(b, c[2], m1, ""),
            LLVMBuildXor(b, LLVMBuildXor(b, hi0, c[3], ""), k[1], ""),
            LLVMBuildMul(b, c[0], m0, "")};
        memcpy(c, next, sizeof next);
    }
}

/* The element at `offset` takes word offset & 3 of its block's four, as tir_philox; rand
   scales it to an exact f32 (tir_rand_uniform), randint keeps its bits. */
static LLVMValueRef philox_element(Emitter *e, LLVMValueRef const c[4], LLVMValueRef offset, DType rt)
{
    LLVMBuilderRef b = e->b;
    LLVMTypeRef i32 = e->cg->t.i32;
    LLVMValueRef w = LLVMBuildTrunc(b, LLVMBuildAnd(b, offset, emit_i64(e, 3), ""), i32, "");
    LLVMValueRef r0 = c[3];
    for (int i = 2; i >= 0; i--)
        r0 = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, w, LLVMConstInt(i32, (unsigned)i, 0), ""),
                             c[i], r0, "");
    if (rt == DT_I32)
        return r0;
    LLVMValueRef top = LLVMBuildUIToFP(b, LLVMBuildLShr(b, r0, LLVMConstInt(i32, 8, 0), ""), e->cg->t.f32, "");
    return LLVMBuildFMul(b, top, LLVMConstReal(e->cg->t.f32, 0x1p-24), "");
}

static LLVMValueRef philox_block(Emitter *e, LLVMValueRef offset)
{
    return LLVMBuildLShr(e->b, offset, emit_i64(e, 2), "");
}

/* rand / randint of a tile. One Philox call gives four words, the values of four adjacent
   offsets; a thread's registers hold runs of adjacent elements, so each run of four whose
   seeds and counter blocks agree (checked at run time: in practice the same answer in
   every thread) computes one call instead of four. Dropout was bound by the Philox
   arithmetic at one call per element. */
static void emit_rand(Emitter *e, const Tile *seed, const Tile *offset, Tile *out, DType rt)
{
    LLVMBuilderRef b = e->b;
    for (int g = 0; g < out->n; g += 4) {
        int n = out->n - g < 4 ? out->n - g : 4;
        LLVMValueRef c[4];
        if (n == 1) {
            philox_words(e, seed->regs[g], philox_block(e, offset->regs[g]), c);
            out->regs[g] = philox_element(e, c, offset->regs[g], rt);
            continue;
        }
        LLVMValueRef block0 = philox_block(e, offset->regs[g]), same = NULL;
        for (int j = 1; j < n; j++) {
            LLVMValueRef eq = LLVMBuildAnd(b,
                LLVMBuildICmp(b, LLVMIntEQ, philox_block(e, offset->regs[g + j]), block0, ""),
                LLVMBuildICmp(b, LLVMIntEQ, seed->regs[g + j], seed->regs[g], ""), "");
            same = same ? LLVMBuildAnd(b, same, eq, "") : eq;
        }
        LLVMBasicBlockRef shared = codegen_block(e->cg, "rand.shared");
        LLVMBasicBlockRef each = codegen_block(e->cg, "rand.each");
        LLVMBasicBlockRef join = codegen_block(e->cg, "rand.done");
        LLVMBuildCondBr(b, same, shared, each);
        LLVMValueRef one[4], apart[4];
        LLVMPositionBuilderAtEnd(b, shared);
        philox_words(e, seed->regs[g], block0, c);
        for (int j = 0; j < n; j++)
            one[j] = philox_element(e, c, offset->regs[g + j], rt);
        LLVMBasicBlockRef shared_end = LLVMGetInsertBlock(b);
        LLVMBuildBr(b, join);
        LLVMPositionBuilderAtEnd(b, each);
        for (int j = 0; j < n; j++) {
            philox_words(e, seed->regs[g + j], philox_block(e, offset->regs[g + j]), c);
            apart[j] = philox_element(e, c, offset->regs[g + j], rt);
        }
        LLVMBasicBlockRef each_end = LLVMGetInsertBlock(b);
        LLVMBuildBr(b, join);
        LLVMPositionBuilderAtEnd(b, join);
        for (int j = 0; j < n; j++) {
            LLVMValueRef phi = LLVMBuildPhi(b, LLVMTypeOf(one[j]), "");
            LLVMValueRef vals[2] = {one[j], apart[j]};
            LLVMBasicBlockRef from[2] = {shared_end, each_end};
            LLVMAddIncoming(phi, vals, from, 2);
            out->regs[g + j] = phi;
        }
    }
}

static const Layout *result_layout(Emitter *e, const TirValue *v)
{
    return e->s->layouts[v->id];
}

static void emit_elementwise(Emitter *e, const TirOp *op)
{
    const TirValue *rv = op->results[0];
    const Layout *l = result_layout(e, rv);
    Tile in[3] = {{0}}, mul[2] = {{0}}, sel[2] = {{0}};
    /* an fma reads its mul's operands (and a where()'s condition and other branch) in
       place of the operand the mul stands for */
    TirFusedMultiply fused = {0};
    bool fma = tir_fused_multiply(op, &fused);
    for (int i = 0; i < op->noperands; i++)
        if (!fma || i != fused.operand)
            in[i] = emit_fetch(e, op->operands[i], l);
    for (int i = 0; fma && i < 2; i++)
        mul[i] = emit_fetch(e, fused.mul->operands[i], l);
    if (fused.select) {
        sel[0] = emit_fetch(e, fused.select->operands[0], l);
        sel[1] = emit_fetch(e, fused.select->operands[3 - fused.mul_branch], l);
    }
    Tile out = emit_tile_new(e, l);
    DType t = op->operands[0]->type.dtype, rt = rv->type.dtype;
    if (op == e->true_cmp) {   /* a causal mask below the diagonal (emit_for) */
        for (int r = 0; r < out.n; r++)
            out.regs[r] = LLVMConstInt(e->cg->t.i1, 1, 0);
        e->values[rv->id] = out;
        return;
    }
    if (op->opcode == TIR_RAND) {
        emit_rand(e, &in[0], &in[1], &out, rt);
        e->values[rv->id] = out;
        return;
    }
    for (int r = 0; r < out.n; r++) {
        LLVMValueRef x = in[0].regs ? in[0].regs[r] : NULL;
        LLVMValueRef y = op->noperands > 1 && in[1].regs ? in[1].regs[r] : NULL;
        LLVMValueRef v = NULL;
        switch (op->opcode) {
        case TIR_UNARY:
            v = dtype_is_float(t) ? emit_from_f32(e, float_unary(e, op->sub, emit_to_f32(e, x, t)), t)
                                  : int_unary(e, op->sub, x, dtype_is_unsigned(t));
            break;
        case TIR_BINARY:
            if (fma) {
                LLVMValueRef c = in[1 - fused.operand].regs[r];
                v = fused_multiply(e, op->sub, fused.operand, mul[0].regs[r], mul[1].regs[r], c);
                if (fused.select) {
                    LLVMValueRef other = sel[1].regs[r];
                    LLVMValueRef plain = fused.operand == 0 ? float_binary(e, op->sub, other, c)
                                                            : float_binary(e, op->sub, c, other);
                    v = fused.mul_branch == 1 ? LLVMBuildSelect(e->b, sel[0].regs[r], v, plain, "")
                                              : LLVMBuildSelect(e->b, sel[0].regs[r], plain, v, "");
                }
                break;
            }
            v = dtype_is_float(t) ? emit_from_f32(e, float_binary(e, op->sub, emit_to_f32(e, x, t),
                                                                  emit_to_f32(e, y, t)), t)
                                  : int_binary(e, op->sub, x, y, dtype_is_unsigned(t));
            break;
        case TIR_CMP: v = compare(e, op->sub, x, y, t); break;
        case TIR_SELECT: v = LLVMBuildSelect(e->b, x, y, in[2].regs[r], ""); break;
        case TIR_CONVERT: v = convert(e, x, t, rt); break;
        default: break;
        }
        out.regs[r] = v;
    }
    e->values[rv->id] = out;
}

/* The type a reduction of dtype t computes in: f32 for floats, i32 for the integers
   narrower than 32 bits (shuffles move 32-bit words), else t's own. */
static LLVMTypeRef reduce_type(Emitter *e, DType t)
{
    if (dtype_is_float(t))
        return e->cg->t.f32;
    return dtype_int_bits(t) < 32 ? e->cg->t.i32 : emit_type(e, t);
}

static LLVMValueRef reduce_identity(Emitter *e, int kind, DType t)
{
    if (dtype_is_float(t)) {
        double v = kind == TIR_RED_MAX ? -INFINITY : kind == TIR_RED_MIN ? INFINITY : 0.0;
        return LLVMConstReal(e->cg->t.f32, v);
    }
    int bits = dtype_int_bits(t);
    unsigned long long min = 1ULL << (bits - 1), max = min - 1;   /* signed, as bits */
    if (dtype_is_unsigned(t))
        min = 0, max = bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
    else if (bits < 64)
        min = (unsigned long long)-(long long)min;   /* sign-extended into the wider type */
    return LLVMConstInt(reduce_type(e, t), kind == TIR_RED_MAX ? min : kind == TIR_RED_MIN ? max : 0, 0);
}

static LLVMValueRef reduce_combine(Emitter *e, int kind, LLVMValueRef x, LLVMValueRef y,
                                   DType t)
{
    if (dtype_is_float(t))
        return float_binary(e, kind == TIR_RED_SUM ? TIR_BIN_ADD
                               : kind == TIR_RED_MIN ? TIR_BIN_MIN : TIR_BIN_MAX, x, y);
    return int_binary(e, kind == TIR_RED_SUM ? TIR_BIN_ADD
                         : kind == TIR_RED_MIN ? TIR_BIN_MIN : TIR_BIN_MAX, x, y,
                      dtype_is_unsigned(t));
}

static LLVMValueRef shuffle_xor(Emitter *e, LLVMValueRef x, int mask)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    if (t == e->cg->t.i64) {
        LLVMValueRef lo = LLVMBuildTrunc(e->b, x, e->cg->t.i32, "");
        LLVMValueRef hi = LLVMBuildTrunc(e->b, LLVMBuildLShr(e->b, x, emit_i64(e, 32), ""),
                                         e->cg->t.i32, "");
        lo = LLVMBuildZExt(e->b, nvvm_shfl_xor(e->cg, lo, mask), t, "");
        hi = LLVMBuildZExt(e->b, nvvm_shfl_xor(e->cg, hi, mask), t, "");
        return LLVMBuildOr(e->b, lo, LLVMBuildShl(e->b, hi, emit_i64(e, 32), ""), "");
    }
    return nvvm_shfl_xor(e->cg, x, mask);
}

/* Sum/max/min/amax over one axis: each thread folds its registers, lanes along the axis
   exchange by shfl.xor, warps along it meet in shared memory. Invalid lanes of a masked
   reduction give the identity. Floats reduce in f32. */
static void emit_reduce(Emitter *e, const TirOp *op)
{
    const TirValue *x = op->operands[0], *rv = op->results[0];
    const Tile *in = &e->values[x->id];
    const Layout *l = in->layout;
    Layout sl = layout_slice(l, op->axis);
    Layout *slice = arena_alloc(e->arena, sizeof *slice);
    *slice = sl;
    DType t = x->type.dtype;
    bool is_float = dtype_is_float(t);
    int kind = op->sub;
    Tile out = emit_tile_new(e, slice);
    LLVMValueRef id = reduce_identity(e, kind, t);
    for (int r = 0; r < out.n; r++)
        out.regs[r] = id;
    bool keep[LAYOUT_MAX_RANK];
    for (int d = 0; d < LAYOUT_MAX_RANK; d++)
        keep[d] = d != op->axis;
    for (int r = 0; r < in->n; r++) {
        LLVMValueRef v = is_float ? emit_to_f32(e, in->regs[r], t)
                                  : LLVMBuildIntCast2(e->b, in->regs[r], reduce_type(e, t),
                                                      !dtype_is_unsigned(t), "");
        if (kind == TIR_RED_AMAX)
            v = is_float ? float_unary(e, TIR_UN_ABS, v) : int_unary(e, TIR_UN_ABS, v, dtype_is_unsigned(t));
        if (op->masked) {
            LLVMValueRef ok = emit_axis_valid(e, x->type.axes[op->axis],
                                              emit_coord(e, l, r, op->axis));
            v = LLVMBuildSelect(e->b, ok, v, id, "");
        }
        int o = emit_projected_register(l, keep, r);
        out.regs[o] = reduce_combine(e, kind, out.regs[o], v, t);
    }
    for (int i = 0; i < 5; i++)
        if (l->lane[i][op->axis])
            for (int r = 0; r < out.n; r++)
                out.regs[r] = reduce_combine(e, kind, out.regs[r],
                                             shuffle_xor(e, out.regs[r], 1 << i), t);
    int slots = 1;
    for (int i = 0; i < l->nwarp; i++)
        slots *= l->warp[i][op->axis] ? 2 : 1;
    if (slots > 1) {
        /* slot = the warp's bits along the axis; element = its coordinate in the slice */
        int elems = 1;
        for (int d = 0; d < slice->rank; d++)
            elems *= slice->shape[d];
        LLVMValueRef slot = emit_i32(e, 0);
        for (int i = 0, s = 0; i < l->nwarp; i++)
            if (l->warp[i][op->axis])
                slot = LLVMBuildOr(e->b, slot, LLVMBuildShl(e->b, bit_of(e, e->warp, i),
                                                            emit_i32(e, s++), ""), "");
        LLVMTypeRef ty = LLVMTypeOf(out.regs[0]);
        emit_barrier(e);
        for (int r = 0; r < out.n; r++) {
            LLVMValueRef lin = emit_linear_coord(e, slice, r);
            LLVMValueRef idx = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, slot, emit_i32(e, elems), ""),
                                            lin, "");
            LLVMValueRef off = LLVMBuildAdd(e->b, emit_private_offset(e, e->s->scratch_offset),
                                            LLVMBuildMul(e->b, idx, emit_i32(e, 8), ""), "");
            LLVMBuildStore(e->b, out.regs[r], emit_smem_at(e, off));
        }
        emit_barrier(e);
        for (int r = 0; r < out.n; r++) {
            LLVMValueRef lin = emit_linear_coord(e, slice, r);
            LLVMValueRef acc = id;
            for (int s = 0; s < slots; s++) {
                LLVMValueRef idx = LLVMBuildAdd(e->b, emit_i32(e, s * elems), lin, "");
                LLVMValueRef off = LLVMBuildAdd(e->b, emit_private_offset(e, e->s->scratch_offset),
                                                LLVMBuildMul(e->b, idx, emit_i32(e, 8), ""), "");
                acc = reduce_combine(e, kind, acc, LLVMBuildLoad2(e->b, ty, emit_smem_at(e, off), ""),
                                     t);
            }
            out.regs[r] = acc;
        }
        /* the duplicated warps now agree; the slice layout says so */
    }
    if (is_float)
        for (int r = 0; r < out.n; r++)
            out.regs[r] = emit_from_f32(e, out.regs[r], rv->type.dtype);
    else
        for (int r = 0; r < out.n; r++)
            out.regs[r] = LLVMBuildIntCast2(e->b, out.regs[r], emit_type(e, rv->type.dtype),
                                            !dtype_is_unsigned(t), "");
    const Layout *want = result_layout(e, rv);
    if (want && !layout_equal(want, slice)) {
        Tile conv = convert_layout(e, &out, rv->type.dtype, want);
        out = conv;
    }
    e->values[rv->id] = out;
}

/* The row-major index of register r's element in a tile of layout l (i32). */
static LLVMValueRef row_major_index(Emitter *e, const Layout *l, int r)
{
    LLVMValueRef idx = emit_i32(e, 0);
    for (int d = 0; d < l->rank; d++)
        idx = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, idx, emit_i32(e, (int)l->shape[d]), ""),
                           emit_coord(e, l, r, d), "");
    return idx;
}

static LLVMValueRef scratch_element(Emitter *e, LLVMValueRef base, LLVMValueRef idx, int size)
{
    return emit_smem_at(e, LLVMBuildAdd(e->b, base, LLVMBuildMul(e->b, idx, emit_i32(e, size), ""), ""));
}

/* cumsum through the shared scratch: the tile stored row-major (its dtype's bytes), each
   line along the axis scanned in lane order by one compute thread (a loop: the interpreter's
   order, so f32 sums agree to the bit), the result read back in its own layout. */
static void emit_cumsum(Emitter *e, const TirOp *op)
{
    const TirValue *x = op->operands[0], *rv = op->results[0];
    const Tile *in = &e->values[x->id];
    const Layout *l = in->layout;
    const Layout *want = result_layout(e, rv) ? result_layout(e, rv) : l;
    bool is_float = dtype_is_float(rv->type.dtype);
    LLVMTypeRef ty = LLVMTypeOf(in->regs[0]);
    int es = dtype_size(rv->type.dtype);
    int64_t len = l->shape[op->axis], lines = 1, stride = 1;
    for (int d = 0; d < l->rank; d++)
        if (d != op->axis)
            lines *= l->shape[d];
    for (int d = op->axis + 1; d < l->rank; d++)
        stride *= l->shape[d];
    LLVMValueRef base = emit_private_offset(e, e->s->scratch_offset);
    emit_barrier(e);
    for (int r = 0; r < in->n; r++)
        LLVMBuildStore(e->b, in->regs[r], scratch_element(e, base, row_major_index(e, l, r), es));
    emit_barrier(e);
    /* thread t scans lines t, t + T, ...; line q starts at (q / stride) * len * stride +
       q % stride and steps by stride */
    int threads = 32 * e->s->num_warps;
    LLVMValueRef t = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, e->warp, emit_i32(e, 32), ""), e->lane, "");
    LLVMValueRef zero = is_float ? LLVMConstReal(ty, 0) : LLVMConstInt(ty, 0, 0);
    for (int64_t first = 0; first < lines; first += threads) {
        LLVMValueRef q = LLVMBuildAdd(e->b, t, emit_i32(e, (int)first), "");
        LLVMValueRef start = LLVMBuildAdd(e->b,
            LLVMBuildMul(e->b, LLVMBuildUDiv(e->b, q, emit_i32(e, (int)stride), ""), emit_i32(e, (int)(len * stride)), ""),
            LLVMBuildURem(e->b, q, emit_i32(e, (int)stride), ""), "");
        LLVMBasicBlockRef pre = LLVMGetInsertBlock(e->b);
        LLVMBasicBlockRef head = codegen_block(e->cg, "scan");
        LLVMBasicBlockRef body = codegen_block(e->cg, "scan.body");
        LLVMBasicBlockRef done = codegen_block(e->cg, "scan.done");
        LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntULT, q, emit_i32(e, (int)lines), ""), head, done);
        LLVMPositionBuilderAtEnd(e->b, head);
        LLVMValueRef i = LLVMBuildPhi(e->b, e->cg->t.i32, "i");
        LLVMValueRef acc = LLVMBuildPhi(e->b, ty, "acc");
        LLVMValueRef i0 = emit_i32(e, 0);
        LLVMAddIncoming(i, &i0, &pre, 1);
        LLVMAddIncoming(acc, &zero, &pre, 1);
        LLVMBuildBr(e->b, body);
        LLVMPositionBuilderAtEnd(e->b, body);
        LLVMValueRef at = scratch_element(e, base, LLVMBuildAdd(e->b, start, LLVMBuildMul(e->b, i, emit_i32(e, (int)stride), ""), ""), es);
        LLVMValueRef v = LLVMBuildLoad2(e->b, ty, at, "");
        LLVMValueRef next = reduce_combine(e, TIR_RED_SUM, acc, v, rv->type.dtype);
        LLVMBuildStore(e->b, op->sub ? acc : next, at);
        LLVMValueRef i1 = LLVMBuildAdd(e->b, i, emit_i32(e, 1), "");
        LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->b);
        LLVMAddIncoming(i, &i1, &latch, 1);
        LLVMAddIncoming(acc, &next, &latch, 1);
        LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntULT, i1, emit_i32(e, (int)len), ""), head, done);
        LLVMPositionBuilderAtEnd(e->b, done);
    }
    emit_barrier(e);
    Tile out = emit_tile_new(e, want);
    for (int r = 0; r < out.n; r++)
        out.regs[r] = LLVMBuildLoad2(e->b, ty, scratch_element(e, base, row_major_index(e, want, r), es), "");
    e->values[rv->id] = out;
}

/* split and join through the shared scratch: the operands stored row-major (join's a and
   b as the even and odd elements, the pairs of its result), the result read back in its
   own layout (split's lane k of pair q at 2q + k). */
static void emit_split_join(Emitter *e, const TirOp *op)
{
    const TirValue *rv = op->results[0];
    bool join = op->opcode == TIR_JOIN;
    const Tile *in = &e->values[op->operands[0]->id];
    const Layout *want = result_layout(e, rv);
    if (!want || !in->regs) {   /* the schedule lays out every value it emits */
        emit_fail(e, "internal: %s of value %%%d without layouts", join ? "join" : "split", rv->id);
        return;
    }
    LLVMTypeRef ty = LLVMTypeOf(in->regs[0]);
    int es = dtype_size(rv->type.dtype);
    LLVMValueRef base = emit_private_offset(e, e->s->scratch_offset);
    LLVMValueRef two = emit_i32(e, 2);
    emit_barrier(e);
    for (int k = 0; k < op->noperands; k++) {
        const Tile *x = &e->values[op->operands[k]->id];
        for (int r = 0; r < x->n; r++) {
            LLVMValueRef at = row_major_index(e, x->layout, r);
            if (join)
                at = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, at, two, ""), emit_i32(e, k), "");
            LLVMBuildStore(e->b, x->regs[r], scratch_element(e, base, at, es));
        }
    }
    emit_barrier(e);
    Tile out = emit_tile_new(e, want);
    for (int r = 0; r < out.n; r++) {
        LLVMValueRef at = row_major_index(e, want, r);
        if (!join)
            at = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, at, two, ""), emit_i32(e, op->axis), "");
        out.regs[r] = LLVMBuildLoad2(e->b, ty, scratch_element(e, base, at, es), "");
    }
    e->values[rv->id] = out;
}

static void emit_reshape(Emitter *e, const TirOp *op)
{
    const TirValue *rv = op->results[0];
    const Layout *l = result_layout(e, rv);
    if (!l)
        return;  /* a transpose feeding cp.async staging */
    if (op->opcode == TIR_TRANSPOSE) {
        const Tile *in = &e->values[op->operands[0]->id];
        Tile t = emit_tile_new(e, l);
        Layout want;
        memset(&want, 0, sizeof want);
        /* the operand in the transposed view of our layout */
        want = *l;
        want.shape[0] = l->shape[1];
        want.shape[1] = l->shape[0];
        for (int i = 0; i < l->nreg; i++)
            want.reg[i][0] = l->reg[i][1], want.reg[i][1] = l->reg[i][0];
        for (int i = 0; i < 5; i++)
            want.lane[i][0] = l->lane[i][1], want.lane[i][1] = l->lane[i][0];
        for (int i = 0; i < l->nwarp; i++)
            want.warp[i][0] = l->warp[i][1], want.warp[i][1] = l->warp[i][0];
        Tile src = in->regs && layout_equal(in->layout, &want)
                       ? *in : emit_fetch(e, op->operands[0], &want);
        memcpy(t.regs, src.regs, sizeof(LLVMValueRef) * (size_t)t.n);
        e->values[rv->id] = t;
        return;
    }
    e->values[rv->id] = emit_fetch(e, rv, l);
}

static void emit_named(Emitter *e, const TirOp *op)
{
    const TirValue *rv = op->results[0];
    LLVMValueRef v = NULL;
    switch (op->opcode) {
    case TIR_FULL: v = constant(e, op); break;
    case TIR_PARAM: v = e->scalar[op->param]; break;
    case TIR_DIM: v = e->sym[op->sym]; break;
    case TIR_BEGIN: v = e->lv_begin[op->loopvar]; break;
    case TIR_BLOCK_ID: v = e->lv_block[op->loopvar]; break;
    case TIR_END: {
        const TirLoopVar *lv = e->k->loopvars[op->loopvar];
        LLVMValueRef end = LLVMBuildAdd(e->b, e->lv_begin[op->loopvar],
                                        emit_i64(e, tir_loopvar_block(e->k, lv, e->s->variant->config)), "");
        LLVMValueRef args[2] = {end, e->lv_extent[op->loopvar]};
        v = call_intrinsic(e, "llvm.smin", e->cg->t.i64, args, 2);
        break;
    }
    case TIR_IOTA: v = e->lv_begin[op->loopvar]; break;
    default: break;
    }
    const Layout *l = result_layout(e, rv);
    if (rv->type.rank == 0 || !l) {
        Layout *s = arena_alloc(e->arena, sizeof *s);
        s->kind = LAYOUT_SCALAR;
        s->nwarp = l ? l->nwarp : 0;
        Tile t = emit_tile_new(e, s);
        t.regs[0] = v;
        e->values[rv->id] = t;
        return;
    }
    e->values[rv->id] = emit_fetch(e, rv, l);
}

Tile emit_region(Emitter *e, const TirBlock *region, Tile arg, const Layout *want)
{
    e->values[region->args[0]->id] = arg;
    emit_block(e, region);
    return emit_fetch(e, region->last->operands[0], want);
}

/* ---- loops */

void emit_barrier(Emitter *e)
{
    if (!e->s->warp_specialized || e->producer) {
        nvvm_barrier(e->cg);
        return;
    }
    /* a tile group's warps on barrier 1 + group */
    nvvm_barrier_named(e->cg, LLVMBuildAdd(e->b, e->group, emit_i32(e, 1), ""),
                       32 * e->s->num_warps);
}

LLVMValueRef emit_private_offset(Emitter *e, int offset)
{
    if (e->s->tile_groups < 2)
        return emit_i32(e, offset);
    return LLVMBuildAdd(e->b, emit_i32(e, offset), e->group_shift, "");
}

LLVMValueRef emit_block_begin(Emitter *e, const TirLoopVar *lv, LLVMValueRef block)
{
    int64_t size = tir_loopvar_block(e->k, lv, e->s->variant->config);
    LLVMValueRef begin = LLVMBuildMul(e->b, block, emit_i64(e, size), "");
    return e->lv_start[lv->id] ? LLVMBuildAdd(e->b, e->lv_start[lv->id], begin, "") : begin;
}

void emit_bind_block(Emitter *e, const TirLoopVar *lv, LLVMValueRef block)
{
    e->lv_block[lv->id] = block;
    e->lv_begin[lv->id] = emit_block_begin(e, lv, block);
}

/* The blocks of lv's loop: cdiv(extent - start, BLOCK), at least 0. */
LLVMValueRef emit_count_blocks(Emitter *e, const TirLoopVar *lv, LLVMValueRef extent)
{
    int64_t size = tir_loopvar_block(e->k, lv, e->s->variant->config);
    if (e->lv_start[lv->id])
        extent = LLVMBuildSub(e->b, extent, e->lv_start[lv->id], "");
    LLVMValueRef n = LLVMBuildSDiv(e->b, LLVMBuildAdd(e->b, extent, emit_i64(e, size - 1), ""),
                                   emit_i64(e, size), "");
    LLVMValueRef args[2] = {n, emit_i64(e, 0)};
    return call_intrinsic(e, "llvm.smax", e->cg->t.i64, args, 2);
}

/* Whether a loop's ragged last block is worth peeling: its body masks registers by the
   loop's extent (a masked reduction, or a masked dot fed from registers), which full blocks
   need not do. cp.async copies keep their own bounds (they prefetch blocks ahead). */
static bool worth_peeling(Emitter *e, const TirOp *op)
{
    if (op->nvars != 1)
        return false;
    for (const TirOp *x = op->regions[0]->first; x; x = x->next) {
        if (x->opcode == TIR_REDUCE && x->masked)
            return true;
        if (x->opcode == TIR_DOT && x->masked) {
            const DotPlan *p = schedule_dot(e->s, x);
            if (p && (p->a.source != OPERAND_ASYNC || p->b.source != OPERAND_ASYNC))
                return true;
        }
    }
    return false;
}

/* Blocks [first, end) of loop `op` carrying `init`; returns the carried tiles at the exit.
   With `full`, every block of the range lies wholly inside the loop's extent, so checks
   against the extent fold away (emit_axis_valid, load/store loop masks). */
static Tile *emit_loop_range(Emitter *e, const TirOp *op, LLVMValueRef first, LLVMValueRef end,
                             LLVMValueRef total, LLVMValueRef const *counts, const Tile *init, bool full)
{
    const LoopPlan *plan = schedule_loop(e->s, op);
    TirBlock *body = op->regions[0];
    int ncarried = body->nargs;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(e->b);
    LLVMBasicBlockRef header = codegen_block(e->cg, full ? "loop.full" : "loop");
    LLVMBasicBlockRef bodyb = codegen_block(e->cg, "body");
    LLVMBasicBlockRef exit = codegen_block(e->cg, "done");
    LLVMBuildBr(e->b, header);
    LLVMPositionBuilderAtEnd(e->b, header);
    LLVMValueRef index = LLVMBuildPhi(e->b, e->cg->t.i64, "b");
    LLVMAddIncoming(index, &first, &pre, 1);
    Tile *phis = arena_alloc(e->arena, sizeof(Tile) * (size_t)(ncarried + 1));
    for (int i = 0; i < ncarried; i++) {
        phis[i] = emit_tile_new(e, init[i].layout);
        for (int r = 0; r < init[i].n; r++) {
            phis[i].regs[r] = LLVMBuildPhi(e->b, LLVMTypeOf(init[i].regs[r]), "");
            LLVMAddIncoming(phis[i].regs[r], &init[i].regs[r], &pre, 1);
        }
        e->values[body->args[i]->id] = phis[i];
        e->values[op->results[i]->id] = phis[i];
    }
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, index, end, ""), bodyb, exit);
    LLVMPositionBuilderAtEnd(e->b, bodyb);
    LLVMValueRef rest = index;
    for (int i = op->nvars - 1; i >= 0; i--) {
        const TirLoopVar *lv = e->k->loopvars[op->loopvars[i]];
        LLVMValueRef mine = i ? LLVMBuildSRem(e->b, rest, counts[i], "") : rest;
        emit_bind_block(e, lv, mine);
        if (i)
            rest = LLVMBuildSDiv(e->b, rest, counts[i], "");
    }
    const TirLoopVar *lv0 = e->k->loopvars[op->loopvars[0]];
    e->lv_full[lv0->id] = full;
    if (plan)
        emit_pipeline_step(e, op, index, total);
    emit_block(e, body);
    emit_pipeline_issue(e, 1 << 30);  /* what no dot of the body issued */
    if (plan)
        emit_pipeline_release(e, op);
    const TirOp *yield = body->last;
    codegen_set_line(e->cg, op->loc.line, op->loc.col);
    Tile *next = arena_alloc(e->arena, sizeof(Tile) * (size_t)(ncarried + 1));
    for (int i = 0; i < ncarried; i++)
        next[i] = emit_fetch(e, yield->operands[i], phis[i].layout);
    e->lv_full[lv0->id] = false;
    LLVMValueRef inc = LLVMBuildAdd(e->b, index, emit_i64(e, 1), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->b);
    LLVMAddIncoming(index, &inc, &latch, 1);
    for (int i = 0; i < ncarried; i++)
        for (int r = 0; r < phis[i].n; r++)
            LLVMAddIncoming(phis[i].regs[r], &next[i].regs[r], &latch, 1);
    LLVMBuildBr(e->b, header);
    LLVMPositionBuilderAtEnd(e->b, exit);
    return phis;
}

/* The loop variable whose indices a tile holds (an iota, through broadcasts and
   expand_dims), or -1. */
static int iota_loopvar(const TirValue *v)
{
    while (v->def && (v->def->opcode == TIR_BROADCAST || v->def->opcode == TIR_EXPAND_DIMS))
        v = v->def->operands[0];
    return v->def && v->def->opcode == TIR_IOTA ? v->def->loopvar : -1;
}

/* A comparison in the body of single-variable loop `op` (over n) of an enclosing loop
   variable's indices against n's, `outer >= n` (or >, or the mirrored <=, <): a causal
   mask. It is true for every element of the loop's first blocks (those whose last index
   lies at or below the outer block's first), which are then emitted without it. Returns the
   op, the outer variable and whether the comparison is strict. */
static const TirOp *diagonal_cmp(Emitter *e, const TirOp *op, int *outer, bool *strict)
{
    if (op->nvars != 1 || op->ranged)   /* nsafe counts blocks from index 0 */
        return NULL;
    int n = op->loopvars[0];
    for (const TirOp *x = op->regions[0]->first; x; x = x->next) {
        if (x->opcode != TIR_CMP || x->results[0]->type.dtype != DT_BOOL)
            continue;
        int a = iota_loopvar(x->operands[0]), b = iota_loopvar(x->operands[1]);
        int o, i;
        if (x->sub == TIR_CMP_GE || x->sub == TIR_CMP_GT) {
            o = a;
            i = b;
        } else if (x->sub == TIR_CMP_LE || x->sub == TIR_CMP_LT) {
            o = b;
            i = a;
        } else {
            continue;
        }
        if (i != n || o < 0 || o == n || !e->lv_begin[o])
            continue;
        *outer = o;
        *strict = x->sub == TIR_CMP_GT || x->sub == TIR_CMP_LT;
        return x;
    }
    return NULL;
}

static LLVMValueRef min_i64(Emitter *e, LLVMValueRef a, LLVMValueRef b)
{
    LLVMValueRef args[2] = {a, b};
    return call_intrinsic(e, "llvm.smin", e->cg->t.i64, args, 2);
}

static void emit_loop(Emitter *e, const TirOp *op);

/* Named barriers 1 and 2 are the tile groups' own (emit_barrier); 3 + g is group g's turn. */
enum { TURN_BARRIER = 3 };

/* Under `cond` (uniform in the group): bar.sync on this group's turn barrier, or bar.arrive
   on the other group's; 256 threads (both groups' warpgroups) complete either. */
static void take_turn(Emitter *e, LLVMValueRef cond, bool wait)
{
    LLVMBasicBlockRef turn = codegen_block(e->cg, wait ? "turn.wait" : "turn.pass");
    LLVMBasicBlockRef done = codegen_block(e->cg, "turn.done");
    LLVMBuildCondBr(e->b, cond, turn, done);
    LLVMPositionBuilderAtEnd(e->b, turn);
    LLVMValueRef group = wait ? e->group : LLVMBuildSub(e->b, emit_i32(e, 1), e->group, "");
    LLVMValueRef id = LLVMBuildAdd(e->b, group, emit_i32(e, TURN_BARRIER), "");
    int threads = 32 * e->s->num_warps * e->s->tile_groups;
    if (wait)
        nvvm_barrier_named(e->cg, id, threads);
    else
        nvvm_barrier_arrive_named(e->cg, id, threads);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, done);
}

/* A loop; with tile groups, the ring loops of a tile run in turns (emit_grid): a group's
   waits on the ring are for its own tile's blocks only once the other group has waited for
   all of the tile before (an mbarrier's parity tells apart only its last two phases). */
static void emit_for(Emitter *e, const TirOp *op)
{
    bool turns = !e->producer && e->s->tile_groups > 1;
    if (turns && op == e->turn_first)
        take_turn(e, e->turn_wait, true);
    emit_loop(e, op);
    if (turns && op == e->turn_last)
        take_turn(e, e->turn_pass, false);
}

static void emit_loop(Emitter *e, const TirOp *op)
{
    /* an enclosing loop's pending prefetch is issued once per iteration of that loop,
       never from inside this one */
    emit_pipeline_issue(e, 1 << 30);
    TirBlock *body = op->regions[0];
    const LoopPlan *plan = schedule_loop(e->s, op);
    emit_stage_invariant_operands(e, op);
    LLVMValueRef total = emit_i64(e, 1);
    LLVMValueRef counts[8];
    for (int i = 0; i < op->nvars; i++) {
        const TirLoopVar *lv = e->k->loopvars[op->loopvars[i]];
        e->lv_extent[lv->id] = e->values[op->operands[i]->id].regs[0];
        e->lv_start[lv->id] = tir_loop_start(op) ? e->values[tir_loop_start(op)->id].regs[0] : NULL;
        counts[i] = emit_count_blocks(e, lv, e->lv_extent[lv->id]);
        total = LLVMBuildMul(e->b, total, counts[i], "");
    }
    /* carried registers: the initial values in each iter arg's layout */
    int ncarried = body->nargs;
    Tile *init = arena_alloc(e->arena, sizeof(Tile) * (size_t)(ncarried + 1));
    for (int i = 0; i < ncarried; i++)
        init[i] = emit_fetch(e, op->operands[op->nvars + i], e->s->layouts[body->args[i]->id]);
    if (plan)
        emit_pipeline_prologue(e, op, total);
    int outer = -1;
    bool strict = false;
    const TirOp *diag = diagonal_cmp(e, op, &outer, &strict);
    LLVMValueRef nsafe = NULL;
    if (diag) {
        /* blocks [0, nsafe): every index of n is <= (<) the outer block's first index */
        const TirLoopVar *lv = e->k->loopvars[op->loopvars[0]];
        int64_t size = tir_loopvar_block(e->k, lv, e->s->variant->config);
        LLVMValueRef first = LLVMBuildAdd(e->b, e->lv_begin[outer], emit_i64(e, strict ? 0 : 1), "");
        LLVMValueRef args[2] = {LLVMBuildSDiv(e->b, first, emit_i64(e, size), ""), emit_i64(e, 0)};
        nsafe = min_i64(e, call_intrinsic(e, "llvm.smax", e->cg->t.i64, args, 2), total);
    }
    const Tile *carried = init;
    LLVMValueRef start = emit_i64(e, 0);
    if (worth_peeling(e, op)) {
        /* full blocks first, then the ragged last one (if any) with every check */
        const TirLoopVar *lv = e->k->loopvars[op->loopvars[0]];
        int64_t size = tir_loopvar_block(e->k, lv, e->s->variant->config);
        LLVMValueRef span = e->lv_extent[lv->id];
        if (e->lv_start[lv->id])
            span = LLVMBuildSub(e->b, span, e->lv_start[lv->id], "");
        LLVMValueRef nfull = LLVMBuildSDiv(e->b, span, emit_i64(e, size), "");
        LLVMValueRef args[2] = {nfull, emit_i64(e, 0)};
        nfull = call_intrinsic(e, "llvm.smax", e->cg->t.i64, args, 2);
        if (diag) {
            nsafe = min_i64(e, nsafe, nfull);
            e->true_cmp = diag;
            carried = emit_loop_range(e, op, start, nsafe, total, counts, carried, true);
            e->true_cmp = NULL;
            start = nsafe;
        }
        Tile *mid = emit_loop_range(e, op, start, nfull, total, counts, carried, true);
        emit_loop_range(e, op, nfull, total, total, counts, mid, false);
    } else {
        if (diag) {
            e->true_cmp = diag;
            carried = emit_loop_range(e, op, start, nsafe, total, counts, carried, false);
            e->true_cmp = NULL;
            start = nsafe;
        }
        emit_loop_range(e, op, start, total, total, counts, carried, false);
    }
    if (plan)
        emit_pipeline_drain(e, op, total);
}

static void emit_ops(Emitter *e, const TirOp *first, const TirOp *stop)
{
    for (const TirOp *op = first; op && op != stop && !e->failed; op = op->next) {
        codegen_set_line(e->cg, op->loc.line, op->loc.col);
        /* a peeled loop emits its body twice: nothing may be taken from the first copy */
        for (int i = 0; i < op->nresults; i++)
            memset(&e->values[op->results[i]->id], 0, sizeof(Tile));
        switch (op->opcode) {
        case TIR_FULL:
        case TIR_PARAM:
        case TIR_DIM:
        case TIR_BEGIN:
        case TIR_END:
        case TIR_BLOCK_ID:
        case TIR_IOTA: emit_named(e, op); break;
        case TIR_UNARY:
        case TIR_BINARY:
        case TIR_CMP:
        case TIR_SELECT:
        case TIR_CONVERT:
        case TIR_RAND: emit_elementwise(e, op); break;
        case TIR_BROADCAST:
        case TIR_EXPAND_DIMS:
        case TIR_TRANSPOSE: emit_reshape(e, op); break;
        case TIR_REDUCE: emit_reduce(e, op); break;
        case TIR_CUMSUM: emit_cumsum(e, op); break;
        case TIR_SPLIT:
        case TIR_JOIN: emit_split_join(e, op); break;
        case TIR_DOT: emit_dot(e, op); break;
        case TIR_LOAD:
            if (e->s->layouts[op->results[0]->id])
                emit_load(e, op);
            else
                emit_async_load(e, op);
            break;
        case TIR_STORE: emit_store(e, op); break;
        case TIR_ATOMIC: emit_atomic(e, op); break;
        case TIR_FOR: emit_for(e, op); break;
        case TIR_GRID: emit_fail(e, "internal: a nested grid"); break;
        case TIR_YIELD: break;
        default: emit_fail(e, "codegen does not handle op %s", tir_op_info(op->opcode)->name);
        }
    }
}

void emit_block(Emitter *e, const TirBlock *b)
{
    emit_ops(e, b->first, NULL);
}

/* ---- the kernel */

/* The number of blocks of each grid variable (counts[]) and their product. */
static LLVMValueRef grid_counts(Emitter *e, const TirOp *grid, LLVMValueRef *counts)
{
    LLVMValueRef total = emit_i64(e, 1);
    for (int i = 0; i < grid->nvars; i++) {
        const TirLoopVar *lv = e->k->loopvars[grid->loopvars[i]];
        e->lv_extent[lv->id] = e->values[grid->operands[i]->id].regs[0];
        counts[i] = emit_count_blocks(e, lv, e->lv_extent[lv->id]);
        total = LLVMBuildMul(e->b, total, counts[i], "");
    }
    return total;
}

/* Program `pid` (i64) -> block indices of the grid's variables, row-major; with group_m > 1
   the last two variables go in groups of group_m rows (L2 reuse of the tiles the rows
   share). */
static void map_grid(Emitter *e, const TirOp *grid, LLVMValueRef pid)
{
    int n = grid->nvars;
    LLVMValueRef counts[8];
    grid_counts(e, grid, counts);
    int first_plain = n;
    int gm = e->s->group_m;
    if (gm > 1 && n >= 2) {
        LLVMValueRef ca = counts[n - 2], cb = counts[n - 1];
        LLVMValueRef plane = LLVMBuildMul(e->b, ca, cb, "");
        LLVMValueRef inner = LLVMBuildSRem(e->b, pid, plane, "");
        pid = LLVMBuildSDiv(e->b, pid, plane, "");
        LLVMValueRef in_group = LLVMBuildMul(e->b, cb, emit_i64(e, gm), "");
        LLVMValueRef group = LLVMBuildSDiv(e->b, inner, in_group, "");
        LLVMValueRef first = LLVMBuildMul(e->b, group, emit_i64(e, gm), "");
        LLVMValueRef left = LLVMBuildSub(e->b, ca, first, "");
        LLVMValueRef args[2] = {left, emit_i64(e, gm)};
        LLVMValueRef rows = call_intrinsic(e, "llvm.smin", e->cg->t.i64, args, 2);
        LLVMValueRef within = LLVMBuildSRem(e->b, inner, in_group, "");
        emit_bind_block(e, e->k->loopvars[grid->loopvars[n - 2]],
                   LLVMBuildAdd(e->b, first, LLVMBuildSRem(e->b, within, rows, ""), ""));
        emit_bind_block(e, e->k->loopvars[grid->loopvars[n - 1]], LLVMBuildSDiv(e->b, within, rows, ""));
        first_plain = n - 2;
    }
    for (int i = first_plain - 1; i >= 0; i--) {
        const TirLoopVar *lv = e->k->loopvars[grid->loopvars[i]];
        emit_bind_block(e, lv, i ? LLVMBuildSRem(e->b, pid, counts[i], "") : pid);
        if (i)
            pid = LLVMBuildSDiv(e->b, pid, counts[i], "");
    }
}

/* Emits scalar v and the ops it is made of (the producer's slice of a loop extent or an
   index: schedule.c checked they are pure scalar ops). */
static void emit_scalar_slice(Emitter *e, const TirValue *v)
{
    if (e->values[v->id].regs || !v->def)
        return;
    for (int i = 0; i < v->def->noperands; i++)
        emit_scalar_slice(e, v->def->operands[i]);
    emit_ops(e, v->def, v->def->next);
}

/* The producer's copy of a ring loop's bounds: each variable's extent, a range's start (its
   blocks begin there), and the block count. */
static LLVMValueRef producer_bounds(Emitter *e, const TirOp *op, LLVMValueRef *counts)
{
    LLVMValueRef total = emit_i64(e, 1);
    const TirValue *start = tir_loop_start(op);
    if (start)
        emit_scalar_slice(e, start);
    for (int i = 0; i < op->nvars; i++) {
        const TirLoopVar *lv = e->k->loopvars[op->loopvars[i]];
        emit_scalar_slice(e, op->operands[i]);
        e->lv_extent[lv->id] = e->values[op->operands[i]->id].regs[0];
        e->lv_start[lv->id] = start ? e->values[start->id].regs[0] : NULL;
        counts[i] = emit_count_blocks(e, lv, e->lv_extent[lv->id]);
        total = LLVMBuildMul(e->b, total, counts[i], "");
    }
    return total;
}

/* The producer's part of one grid tile: the copies of every pipelined loop of the body. */
static void emit_producer_tile(Emitter *e, const TirOp *grid)
{
    for (const TirOp *op = grid->regions[0]->first; op && !e->failed; op = op->next) {
        const LoopPlan *plan = op->opcode == TIR_FOR ? schedule_loop(e->s, op) : NULL;
        if (!plan || plan->kind != PIPE_RING)
            continue;
        codegen_set_line(e->cg, op->loc.line, op->loc.col);
        LLVMValueRef counts[8];
        LLVMValueRef total = producer_bounds(e, op, counts);
        for (int i = 0; i < e->s->ndots; i++) {   /* the loads' scalar indices */
            const DotPlan *p = &e->s->dots[i];
            const OperandPlan *ops[2] = {&p->a, &p->b};
            for (int j = 0; j < 2; j++)
                if (ops[j]->source == OPERAND_ASYNC && ops[j]->loop == op)
                    for (int x = 0; x < ops[j]->load->nindex; x++)
                        if (ops[j]->load->index[x].kind == TIR_IDX_VALUE)
                            emit_scalar_slice(e, tir_index_value(ops[j]->load, x));
        }
        emit_producer_loop(e, op, counts, total);
    }
}

/* The ring positions move past tile `t` (i64) of the grid without computing it: the tiles of
   the other tile groups. Each ring loop's block count is recomputed from its scalar slice
   (the values a skipped tile binds are forgotten before and after). */
static void forget_grid_values(Emitter *e, const TirOp *grid)
{
    for (const TirOp *op = grid->regions[0]->first; op; op = op->next)
        for (int r = 0; r < op->nresults; r++)
            memset(&e->values[op->results[r]->id], 0, sizeof(Tile));
}

static void skip_tile(Emitter *e, const TirOp *grid, LLVMValueRef t, LLVMValueRef tiles)
{
    LLVMBasicBlockRef skip = codegen_block(e->cg, "tile.skip");
    LLVMBasicBlockRef done = codegen_block(e->cg, "tile.skipped");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, t, tiles, ""), skip, done);
    LLVMPositionBuilderAtEnd(e->b, skip);
    forget_grid_values(e, grid);
    map_grid(e, grid, t);
    for (const TirOp *op = grid->regions[0]->first; op; op = op->next) {
        const LoopPlan *plan = op->opcode == TIR_FOR ? schedule_loop(e->s, op) : NULL;
        if (!plan || plan->kind != PIPE_RING)
            continue;
        LLVMValueRef counts[8];
        LLVMValueRef total = producer_bounds(e, op, counts);
        LLVMValueRef pos = LLVMBuildLoad2(e->b, e->cg->t.i32, e->ring_pos[plan->ring], "");
        LLVMBuildStore(e->b, LLVMBuildAdd(e->b, pos, LLVMBuildTrunc(e->b, total, e->cg->t.i32, ""), ""),
                       e->ring_pos[plan->ring]);
    }
    forget_grid_values(e, grid);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, done);
}

/* The grid's tiles: one per block, or, persistent, blocks blockIdx.x, + gridDim.x, ... of
   them in each block (a launch of fewer blocks than tiles, one per SM, overlaps one tile's
   epilogue with the next tile's loads). With tile groups, group g takes every
   tile_groups-th of the block's tiles from its g-th, and steps the ring past the others'. */
static void emit_grid(Emitter *e, const TirOp *grid)
{
    LLVMValueRef pid = LLVMBuildZExt(e->b, nvvm_block_id(e->cg, DIM_X), e->cg->t.i64, "pid");
    if (!e->s->persistent) {
        map_grid(e, grid, pid);
        if (e->producer)
            emit_producer_tile(e, grid);
        else
            emit_block(e, grid->regions[0]);
        return;
    }
    LLVMValueRef counts[8];
    LLVMValueRef tiles = grid_counts(e, grid, counts);
    LLVMValueRef stride = LLVMBuildZExt(e->b, nvvm_grid_dim(e->cg, DIM_X), e->cg->t.i64, "");
    int groups = e->producer ? 1 : e->s->tile_groups;
    LLVMValueRef first = pid;
    e->turn_first = e->turn_last = NULL;
    for (const TirOp *op = grid->regions[0]->first; op && groups > 1; op = op->next) {
        const LoopPlan *plan = op->opcode == TIR_FOR ? schedule_loop(e->s, op) : NULL;
        if (plan && plan->kind == PIPE_RING) {
            e->turn_first = e->turn_first ? e->turn_first : op;
            e->turn_last = op;
        }
    }
    if (groups > 1) {
        LLVMValueRef g = LLVMBuildZExt(e->b, e->group, e->cg->t.i64, "");
        first = LLVMBuildAdd(e->b, pid, LLVMBuildMul(e->b, g, stride, ""), "");
        /* group 1 starts past group 0's first tile */
        LLVMBasicBlockRef skip = codegen_block(e->cg, "group.skip");
        LLVMBasicBlockRef go = codegen_block(e->cg, "group.go");
        LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntNE, e->group, emit_i32(e, 0), ""), skip, go);
        LLVMPositionBuilderAtEnd(e->b, skip);
        skip_tile(e, grid, pid, tiles);
        LLVMBuildBr(e->b, go);
        LLVMPositionBuilderAtEnd(e->b, go);
    }
    LLVMValueRef step = LLVMBuildMul(e->b, stride, emit_i64(e, groups), "");
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(e->b);
    LLVMBasicBlockRef header = codegen_block(e->cg, "tile");
    LLVMBasicBlockRef body = codegen_block(e->cg, "tile.body");
    LLVMBasicBlockRef done = codegen_block(e->cg, "tile.done");
    LLVMBuildBr(e->b, header);
    LLVMPositionBuilderAtEnd(e->b, header);
    LLVMValueRef t = LLVMBuildPhi(e->b, e->cg->t.i64, "t");
    LLVMAddIncoming(t, &first, &pre, 1);
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, t, tiles, ""), body, done);
    LLVMPositionBuilderAtEnd(e->b, body);
    map_grid(e, grid, t);
    e->turn_wait = LLVMBuildICmp(e->b, LLVMIntNE, t, pid, "");
    e->turn_pass = LLVMBuildICmp(e->b, LLVMIntSLT, LLVMBuildAdd(e->b, t, stride, ""), tiles, "");
    if (e->producer)
        emit_producer_tile(e, grid);
    else
        emit_block(e, grid->regions[0]);
    for (int g = 1; g < groups; g++)   /* the other groups' tiles before this group's next */
        skip_tile(e, grid, LLVMBuildAdd(e->b, t, LLVMBuildMul(e->b, stride, emit_i64(e, g), ""), ""),
                  tiles);
    LLVMValueRef next = LLVMBuildAdd(e->b, t, step, "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->b);
    LLVMAddIncoming(t, &next, &latch, 1);
    LLVMBuildBr(e->b, header);
    LLVMPositionBuilderAtEnd(e->b, done);
}

/* Warp specialisation: the producer warpgroup (warps num_warps..+3) lowers its registers
   and runs the copies; the compute warps raise theirs and run the kernel. */
static void emit_roles(Emitter *e, const TirOp *grid)
{
    const Schedule *s = e->s;
    LLVMValueRef is_producer = LLVMBuildICmp(e->b, LLVMIntUGE, e->tid, emit_i32(e, s->compute_threads), "");
    LLVMBasicBlockRef producer = codegen_block(e->cg, "producer");
    LLVMBasicBlockRef compute = codegen_block(e->cg, "compute");
    LLVMBasicBlockRef end = codegen_block(e->cg, "end");
    LLVMBuildCondBr(e->b, is_producer, producer, compute);

    LLVMPositionBuilderAtEnd(e->b, producer);
    nvvm_setmaxnreg(e->cg, false, s->producer_regs);
    e->producer = true;
    e->copy_tid = LLVMBuildSub(e->b, e->tid, emit_i32(e, s->compute_threads), "");
    e->copy_threads = 128;
    if (s->ntmaps) {   /* TMA: one thread issues every copy */
        LLVMBasicBlockRef issuer = codegen_block(e->cg, "producer.tma");
        LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntEQ, e->copy_tid, emit_i32(e, 0), ""),
                        issuer, end);
        LLVMPositionBuilderAtEnd(e->b, issuer);
    }
    emit_grid(e, grid);
    nvvm_cp_async_wait(e->cg, 0);   /* no copy outlives its thread */
    LLVMBuildBr(e->b, end);

    LLVMPositionBuilderAtEnd(e->b, compute);
    nvvm_setmaxnreg(e->cg, true, s->consumer_regs);
    e->producer = false;
    /* a tile group's own copies (operands staged once) are spread over its threads */
    e->copy_threads = 32 * s->num_warps;
    e->copy_tid = LLVMBuildSub(e->b, e->tid, LLVMBuildMul(e->b, e->group, emit_i32(e, e->copy_threads), ""), "");
    emit_zero_padding(e);
    emit_grid(e, grid);
    LLVMBuildBr(e->b, end);
    LLVMPositionBuilderAtEnd(e->b, end);
}

static LLVMTypeRef scalar_param_type(Emitter *e, DType t)
{
    switch (t) {
    case DT_F32: return e->cg->t.f32;
    case DT_F16:
    case DT_BF16: return e->cg->t.i16;
    case DT_I64: return e->cg->t.i64;
    case DT_BOOL: return e->cg->t.i8;
    default: return e->cg->t.i32;
    }
}

int emit_kernel(Emitter *e, const char *name)
{
    const TirKernel *k = e->k;
    size_t np = (size_t)k->nparams + 1;
    e->tensor_base = arena_alloc(e->arena, sizeof(LLVMValueRef) * np);
    e->strides = arena_alloc(e->arena, sizeof(LLVMValueRef *) * np);
    e->scalar = arena_alloc(e->arena, sizeof(LLVMValueRef) * np);
    e->sym = arena_alloc(e->arena, sizeof(LLVMValueRef) * (size_t)(k->nsyms + 1));
    size_t nl = (size_t)k->nloopvars + 1;
    e->lv_begin = arena_alloc(e->arena, sizeof(LLVMValueRef) * nl);
    e->lv_extent = arena_alloc(e->arena, sizeof(LLVMValueRef) * nl);
    e->lv_start = arena_alloc(e->arena, sizeof(LLVMValueRef) * nl);
    e->lv_block = arena_alloc(e->arena, sizeof(LLVMValueRef) * nl);
    e->lv_full = arena_alloc(e->arena, sizeof(bool) * nl);
    memset(e->lv_full, 0, sizeof(bool) * nl);
    e->values = arena_alloc(e->arena, sizeof(Tile) * (size_t)(k->nvalues + 1));
    e->staged_early = arena_alloc(e->arena, sizeof(bool) * (size_t)(2 * e->s->ndots + 1));
    memset(e->staged_early, 0, sizeof(bool) * (size_t)(2 * e->s->ndots + 1));

    LLVMTypeRef params[256];
    int n = 0;
    for (int i = 0; i < k->nparams; i++) {
        const TirParam *p = &k->params[i];
        if (n + p->rank + 1 >= 240) {
            emit_fail(e, "kernel %s has too many parameters", k->name);
            return -1;
        }
        if (p->kind == PARAM_TENSOR) {
            params[n++] = e->cg->t.ptr_global;
            for (int d = 0; d < p->rank; d++)
                params[n++] = e->cg->t.i64;
        } else if (p->kind == PARAM_SCALAR) {
            params[n++] = scalar_param_type(e, p->dtype);
        }
    }
    for (int s = 0; s < k->nsyms; s++)
        params[n++] = e->cg->t.i64;
    int first_tmap = n;
    for (int m = 0; m < e->s->ntmaps; m++)
        params[n++] = e->cg->t.ptr;
    KernelBounds bounds = {.max_threads = e->s->num_threads, .min_blocks_per_sm = 1};
    LLVMValueRef fn = codegen_kernel_begin(e->cg, name, params, n, &bounds, true, k->loc.line);
    e->tmap = arena_alloc(e->arena, sizeof(LLVMValueRef) * (size_t)(e->s->ntmaps + 1));
    for (int m = 0; m < e->s->ntmaps; m++) {
        codegen_param_grid_constant(e->cg, fn, first_tmap + m, TMAP_BYTES, 64);
        e->tmap[m] = LLVMGetParam(fn, (unsigned)(first_tmap + m));
    }
    int a = 0;
    for (int i = 0; i < k->nparams; i++) {
        const TirParam *p = &k->params[i];
        if (p->kind == PARAM_TENSOR) {
            e->tensor_base[i] = LLVMGetParam(fn, (unsigned)a++);
            e->strides[i] = arena_alloc(e->arena, sizeof(LLVMValueRef) * (size_t)(p->rank + 1));
            for (int d = 0; d < p->rank; d++)
                e->strides[i][d] = LLVMGetParam(fn, (unsigned)a++);
            /* vec16 and unit variants run only on tensors whose innermost stride is 1 where
               that dim is over 1 (libtile's and gpu_align_class's rule; a dim of 1 has one
               valid index, 0): the constant lets LLVM fold a thread's neighbouring
               columns into immediate offsets of one address instead of an address each */
            if (p->rank > 0 && e->s->variant->align != ALIGN_ANY)
                e->strides[i][p->rank - 1] = emit_i64(e, 1);
        } else if (p->kind == PARAM_SCALAR) {
            LLVMValueRef v = LLVMGetParam(fn, (unsigned)a++);
            if (p->dtype == DT_F16 || p->dtype == DT_BF16)
                v = LLVMBuildBitCast(e->b, v, emit_type(e, p->dtype), "");
            else if (p->dtype == DT_BOOL)
                v = LLVMBuildTrunc(e->b, v, e->cg->t.i1, "");
            e->scalar[i] = v;
        }
    }
    for (int s = 0; s < k->nsyms; s++)
        e->sym[s] = LLVMGetParam(fn, (unsigned)a++);
    if (e->s->smem_bytes)
        e->smem = nvvm_dynamic_shared(e->cg, "tilec_smem", 128);
    e->tid = nvvm_thread_id(e->cg, DIM_X);
    e->lane = LLVMBuildAnd(e->b, e->tid, emit_i32(e, 31), "lane");
    LLVMValueRef warp = LLVMBuildLShr(e->b, e->tid, emit_i32(e, 5), "warp");
    e->warp = warp;
    e->group = emit_i32(e, 0);
    e->group_shift = emit_i32(e, 0);
    if (e->s->tile_groups > 1) {   /* num_warps is a power of two */
        e->warp = LLVMBuildAnd(e->b, warp, emit_i32(e, e->s->num_warps - 1), "");
        e->group = LLVMBuildUDiv(e->b, warp, emit_i32(e, e->s->num_warps), "group");
        e->group_shift = LLVMBuildMul(e->b, e->group, emit_i32(e, e->s->private_bytes), "");
    }
    e->copy_tid = e->tid;
    e->copy_threads = e->s->compute_threads;
    size_t nr = (size_t)e->s->nrings + 1;
    e->ring_pos = arena_alloc(e->arena, sizeof(LLVMValueRef) * nr);
    e->ring_base = arena_alloc(e->arena, sizeof(LLVMValueRef) * nr);
    e->ring_slot = arena_alloc(e->arena, sizeof(LLVMValueRef) * nr);
    e->ring_at = arena_alloc(e->arena, sizeof(LLVMValueRef) * nr);
    for (int r = 0; r < e->s->nrings; r++) {
        e->ring_pos[r] = LLVMBuildAlloca(e->b, e->cg->t.i32, "ring");
        LLVMBuildStore(e->b, emit_i32(e, 0), e->ring_pos[r]);
    }
    if (e->s->warp_specialized)
        emit_ring_init(e);
    else
        emit_zero_padding(e);

    const TirOp *grid = k->body->last;
    if (!grid || grid->opcode != TIR_GRID) {
        emit_fail(e, "kernel %s has no grid", k->name);
        return -1;
    }
    emit_ops(e, k->body->first, grid);
    codegen_set_line(e->cg, grid->loc.line, grid->loc.col);
    if (e->s->warp_specialized)
        emit_roles(e, grid);
    else
        emit_grid(e, grid);
    codegen_kernel_end(e->cg);
    return e->failed ? -1 : 0;
}
