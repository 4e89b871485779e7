/* nvvm.c — emitters for the NVPTX instructions tile kernels are made of: special registers,
   barriers, shared memory, cp.async, ldmatrix, mma.sync, fast math, fp8/bf16 conversion,
   shuffles, atomics and predicated global access. Intrinsics first (LLVM 22's names); inline
   PTX only where an intrinsic cannot express the form (predicated ld/st). */
#include <stdio.h>
#include <string.h>

#include "codegen.h"

LLVMValueRef nvvm_call_intrinsic(CodegenContext *cg, const char *name, LLVMTypeRef result,
                                 LLVMValueRef *args, unsigned nargs, LLVMTypeRef *overloads,
                                 size_t noverloads)
{
    LLVMTypeRef params[16];
    for (unsigned i = 0; i < nargs && i < 16; i++)
        params[i] = LLVMTypeOf(args[i]);
    LLVMTypeRef type = LLVMFunctionType(result, params, nargs, 0);
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn;
    if (id && LLVMIntrinsicIsOverloaded(id)) {
        fn = LLVMGetIntrinsicDeclaration(cg->module, id, overloads, noverloads);
        type = LLVMGlobalGetValueType(fn);
    } else if (!(fn = LLVMGetNamedFunction(cg->module, name))) {
        fn = LLVMAddFunction(cg->module, name, type);
    }
    return LLVMBuildCall2(cg->builder, type, fn, args, nargs, "");
}

static LLVMValueRef i32_const(CodegenContext *cg, long long v)
{
    return LLVMConstInt(cg->t.i32, (unsigned long long)v, 1);
}

static LLVMValueRef special_register(CodegenContext *cg, const char *reg, NvvmDim dim)
{
    char name[64];
    snprintf(name, sizeof name, "llvm.nvvm.read.ptx.sreg.%s.%c", reg, "xyz"[dim]);
    return nvvm_call_intrinsic(cg, name, cg->t.i32, NULL, 0, NULL, 0);
}

/* mov.u32 %r, %tid.x (and .y, .z) */
LLVMValueRef nvvm_thread_id(CodegenContext *cg, NvvmDim dim)
{
    return special_register(cg, "tid", dim);
}

/* mov.u32 %r, %ctaid.x */
LLVMValueRef nvvm_block_id(CodegenContext *cg, NvvmDim dim)
{
    return special_register(cg, "ctaid", dim);
}

/* mov.u32 %r, %ntid.x */
LLVMValueRef nvvm_block_dim(CodegenContext *cg, NvvmDim dim)
{
    return special_register(cg, "ntid", dim);
}

/* mov.u32 %r, %nctaid.x */
LLVMValueRef nvvm_grid_dim(CodegenContext *cg, NvvmDim dim)
{
    return special_register(cg, "nctaid", dim);
}

/* mov.u32 %r, %laneid */
LLVMValueRef nvvm_lane_id(CodegenContext *cg)
{
    return nvvm_call_intrinsic(cg, "llvm.nvvm.read.ptx.sreg.laneid", cg->t.i32, NULL, 0, NULL, 0);
}

/* shr.u32 %r, %tid.x, 5 */
LLVMValueRef nvvm_warp_index(CodegenContext *cg)
{
    return LLVMBuildLShr(cg->builder, nvvm_thread_id(cg, DIM_X), i32_const(cg, 5), "warp");
}

/* bar.sync 0;  (llvm.nvvm.barrier0 is gone in LLVM 22) */
void nvvm_barrier(CodegenContext *cg)
{
    LLVMValueRef zero = i32_const(cg, 0);
    nvvm_call_intrinsic(cg, "llvm.nvvm.barrier.cta.sync.aligned.all", cg->t.void_, &zero, 1, NULL, 0);
}

/* .shared .align A .b8 name[bytes];  — uninitialised, internal to the module. */
LLVMValueRef nvvm_shared_array(CodegenContext *cg, const char *name, unsigned bytes,
                               unsigned align)
{
    LLVMTypeRef type = LLVMArrayType2(cg->t.i8, bytes);
    LLVMValueRef g = LLVMAddGlobalInAddressSpace(cg->module, type, name, ADDRSPACE_SHARED);
    LLVMSetInitializer(g, LLVMGetUndef(type));
    LLVMSetLinkage(g, LLVMInternalLinkage);
    LLVMSetAlignment(g, align);
    return g;
}

/* .extern .shared .align A .b8 name[];  — sized by the launch. */
LLVMValueRef nvvm_dynamic_shared(CodegenContext *cg, const char *name, unsigned align)
{
    LLVMTypeRef type = LLVMArrayType2(cg->t.i8, 0);
    LLVMValueRef g = LLVMAddGlobalInAddressSpace(cg->module, type, name, ADDRSPACE_SHARED);
    LLVMSetLinkage(g, LLVMExternalLinkage);
    LLVMSetAlignment(g, align);
    return g;
}

/* getelementptr inbounds i8, ptr, offset */
LLVMValueRef nvvm_offset(CodegenContext *cg, LLVMValueRef ptr, LLVMValueRef byte_offset)
{
    return LLVMBuildInBoundsGEP2(cg->builder, cg->t.i8, ptr, &byte_offset, 1, "");
}

/* mov.b32 d, x; — the same value, opaque to LLVM: a per-iteration base that must stay one
   register (LLVM would otherwise reassociate base + constant into one hoisted register per
   constant and subtract the loop-varying part, costing a register per access). */
LLVMValueRef nvvm_opaque_i32(CodegenContext *cg, LLVMValueRef x)
{
    static const char text[] = "mov.b32 $0, $1;", cons[] = "=r,r";
    LLVMTypeRef type = LLVMFunctionType(cg->t.i32, &cg->t.i32, 1, 0);
    LLVMValueRef fn = LLVMGetInlineAsm(type, (char *)text, sizeof text - 1, (char *)cons,
                                       sizeof cons - 1, 0, 0, LLVMInlineAsmDialectATT, 0);
    return LLVMBuildCall2(cg->builder, type, fn, &x, 1, "");
}

/* cp.async.ca.shared.global [dst], [src], 4|8|16{, src_bytes};
   cp.async.cg.shared.global [dst], [src], 16{, src_bytes}; */
void nvvm_cp_async(CodegenContext *cg, NvvmCopyCache cache, int bytes, LLVMValueRef dst_shared,
                   LLVMValueRef src_global, LLVMValueRef src_bytes)
{
    if (cache == COPY_CACHE_GLOBAL)
        bytes = 16; /* .cg moves 16 bytes only */
    char name[64];
    snprintf(name, sizeof name, "llvm.nvvm.cp.async.%s.shared.global.%d%s",
             cache == COPY_CACHE_GLOBAL ? "cg" : "ca", bytes, src_bytes ? ".s" : "");
    LLVMValueRef args[3] = {dst_shared, src_global, src_bytes};
    nvvm_call_intrinsic(cg, name, cg->t.void_, args, src_bytes ? 3 : 2, NULL, 0);
}

/* cp.async.commit_group; */
void nvvm_cp_async_commit(CodegenContext *cg)
{
    nvvm_call_intrinsic(cg, "llvm.nvvm.cp.async.commit.group", cg->t.void_, NULL, 0, NULL, 0);
}

/* cp.async.wait_group N;  — at most N of this thread's groups still in flight. */
void nvvm_cp_async_wait(CodegenContext *cg, int pending)
{
    LLVMValueRef n = i32_const(cg, pending < 0 ? 0 : pending);
    nvvm_call_intrinsic(cg, "llvm.nvvm.cp.async.wait.group", cg->t.void_, &n, 1, NULL, 0);
}

/* ldmatrix.sync.aligned.m8n8.x4{.trans}.shared.b16 {r0, r1, r2, r3}, [addr]; */
void nvvm_ldmatrix(CodegenContext *cg, int matrices, bool transpose, LLVMValueRef row_address,
                   LLVMValueRef out[])
{
    char name[80];
    snprintf(name, sizeof name, "llvm.nvvm.ldmatrix.sync.aligned.m8n8.x%d%s.b16", matrices,
             transpose ? ".trans" : "");
    LLVMTypeRef fields[4] = {cg->t.i32, cg->t.i32, cg->t.i32, cg->t.i32};
    LLVMTypeRef result = matrices == 1 ? cg->t.i32
                                       : LLVMStructTypeInContext(cg->llvm, fields,
                                                                 (unsigned)matrices, 0);
    LLVMTypeRef ptr_type = LLVMTypeOf(row_address);
    LLVMValueRef v = nvvm_call_intrinsic(cg, name, result, &row_address, 1, &ptr_type, 1);
    if (matrices == 1) {
        out[0] = v;
        return;
    }
    for (int i = 0; i < matrices; i++)
        out[i] = LLVMBuildExtractValue(cg->builder, v, (unsigned)i, "");
}

int nvvm_mma_k(DType t)
{
    switch (t) {
    case DT_BF16:
    case DT_F16:
        return 16;
    case DT_F8E4M3:
    case DT_F8E5M2:
    case DT_I8:
        return 32;
    case DT_F32:
        return 8;
    default:
        return 0;
    }
}

bool nvvm_mma_supported(const Target *target, DType t)
{
    if (dtype_is_fp8(t))
        return target->sm >= 89;
    return nvvm_mma_k(t) != 0 && target->sm >= 80;
}

static const char *fp8_suffix(DType t)
{
    return t == DT_F8E5M2 ? "e5m2" : "e4m3";
}

/* mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {d0..d3}, {a0..a3}, {b0, b1}, {c0..c3};
   mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 (operands as <2 x half>);
   mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 (and e5m2, either mix);
   mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 (i32 accumulators, wrapping). */
void nvvm_mma_sync(CodegenContext *cg, DType a_type, DType b_type, LLVMValueRef const a[4],
                   LLVMValueRef const b[2], LLVMValueRef const c[4], LLVMValueRef d[4])
{
    char name[96];
    bool fp8 = dtype_is_fp8(a_type);
    bool half = a_type == DT_F16;
    bool s8 = a_type == DT_I8;
    if (s8)
        snprintf(name, sizeof name, "llvm.nvvm.mma.m16n8k32.row.col.s8");
    else if (fp8)
        snprintf(name, sizeof name, "llvm.nvvm.mma.m16n8k32.row.col.f32.%s.%s.f32",
                 fp8_suffix(a_type), fp8_suffix(b_type));
    else
        snprintf(name, sizeof name, "llvm.nvvm.mma.m16n8k16.row.col.%s",
                 half ? "f32.f32" : "bf16");
    LLVMValueRef args[10];
    for (int i = 0; i < 4; i++)
        args[i] = half ? LLVMBuildBitCast(cg->builder, a[i], cg->t.half2, "") : a[i];
    for (int i = 0; i < 2; i++)
        args[4 + i] = half ? LLVMBuildBitCast(cg->builder, b[i], cg->t.half2, "") : b[i];
    for (int i = 0; i < 4; i++)
        args[6 + i] = c[i];
    LLVMTypeRef acc = s8 ? cg->t.i32 : cg->t.f32;
    LLVMTypeRef f4[4] = {acc, acc, acc, acc};
    LLVMTypeRef result = LLVMStructTypeInContext(cg->llvm, f4, 4, 0);
    LLVMValueRef v = nvvm_call_intrinsic(cg, name, result, args, 10, NULL, 0);
    for (int i = 0; i < 4; i++)
        d[i] = LLVMBuildExtractValue(cg->builder, v, (unsigned)i, "");
}

void nvvm_mma_sync_tf32(CodegenContext *cg, LLVMValueRef const a[4], LLVMValueRef const b[2],
                        LLVMValueRef const c[4], LLVMValueRef d[4])
{
    LLVMValueRef args[10];
    for (int i = 0; i < 4; i++)
        args[i] = a[i];
    for (int i = 0; i < 2; i++)
        args[4 + i] = b[i];
    for (int i = 0; i < 4; i++)
        args[6 + i] = c[i];
    LLVMTypeRef f4[4] = {cg->t.f32, cg->t.f32, cg->t.f32, cg->t.f32};
    LLVMTypeRef result = LLVMStructTypeInContext(cg->llvm, f4, 4, 0);
    LLVMValueRef v = nvvm_call_intrinsic(cg, "llvm.nvvm.mma.m16n8k8.row.col.tf32", result, args, 10,
                                         NULL, 0);
    for (int i = 0; i < 4; i++)
        d[i] = LLVMBuildExtractValue(cg->builder, v, (unsigned)i, "");
}

LLVMValueRef nvvm_to_tf32(CodegenContext *cg, LLVMValueRef x)
{
    return nvvm_call_intrinsic(cg, "llvm.nvvm.f2tf32.rna", cg->t.i32, &x, 1, NULL, 0);
}

static LLVMValueRef unary_f32(CodegenContext *cg, const char *name, LLVMValueRef x,
                              bool overloaded)
{
    LLVMTypeRef f32 = cg->t.f32;
    return nvvm_call_intrinsic(cg, name, f32, &x, 1, overloaded ? &f32 : NULL, overloaded ? 1 : 0);
}

/* mul.hi.u32 %r, %a, %b; — the high word of the 64-bit product, as an instruction of its
   own: from a 64-bit multiply of zero-extended words LLVM keeps some mul.lo.s64. */
LLVMValueRef nvvm_mulhi_u32(CodegenContext *cg, LLVMValueRef a, LLVMValueRef b)
{
    LLVMValueRef args[2] = {a, b};
    return nvvm_call_intrinsic(cg, "llvm.nvvm.mulhi.ui", cg->t.i32, args, 2, NULL, 0);
}

/* ex2.approx.ftz.f32 %f, %x;  — 2^x; LLVM's llvm.exp2 is not used (NVPTX-NOTES.md). */
LLVMValueRef nvvm_ex2_approx(CodegenContext *cg, LLVMValueRef x)
{
    return unary_f32(cg, "llvm.nvvm.ex2.approx.ftz", x, true);
}

/* lg2.approx.f32 %f, %x;  — without .ftz: a subnormal x has its finite logarithm, as in
   torch (its results are never subnormal, and ex2 keeps .ftz: 2^subnormal is 1 either way) */
LLVMValueRef nvvm_lg2_approx(CodegenContext *cg, LLVMValueRef x)
{
    return unary_f32(cg, "llvm.nvvm.lg2.approx.f", x, false);
}

/* rsqrt.approx.f32 %f, %x;  — without .ftz: rsqrt of a subnormal is finite, not inf */
LLVMValueRef nvvm_rsqrt_approx(CodegenContext *cg, LLVMValueRef x)
{
    return unary_f32(cg, "llvm.nvvm.rsqrt.approx.f", x, false);
}

/* cvt.rn.satfinite.e4m3x2.f32 %h, hi, lo;  (PTX puts the first source in the upper byte) */
LLVMValueRef nvvm_pack_fp8x2(CodegenContext *cg, DType fp8, LLVMValueRef lo, LLVMValueRef hi)
{
    char name[48];
    snprintf(name, sizeof name, "llvm.nvvm.ff.to.%sx2.rn", fp8_suffix(fp8));
    LLVMValueRef args[2] = {hi, lo};
    return nvvm_call_intrinsic(cg, name, cg->t.i16, args, 2, NULL, 0);
}

/* cvt.rn.f16x2.e4m3x2 %r, %h;  cvt.f32.f16 ×2 — the low byte becomes out[0]. */
void nvvm_unpack_fp8x2(CodegenContext *cg, DType fp8, LLVMValueRef packed, LLVMValueRef out[2])
{
    char name[48];
    snprintf(name, sizeof name, "llvm.nvvm.%sx2.to.f16x2.rn", fp8_suffix(fp8));
    LLVMValueRef h2 = nvvm_call_intrinsic(cg, name, cg->t.half2, &packed, 1, NULL, 0);
    for (int i = 0; i < 2; i++) {
        LLVMValueRef h = LLVMBuildExtractElement(cg->builder, h2, i32_const(cg, i), "");
        out[i] = LLVMBuildFPExt(cg->builder, h, cg->t.f32, "");
    }
}

/* cvt.rn.f16x2.e4m3x2 %lo, reg[0:15];  cvt.rn.f16x2.e4m3x2 %hi, reg[16:31]; */
void nvvm_widen_fp8x4(CodegenContext *cg, DType fp8, LLVMValueRef reg, LLVMValueRef out[2])
{
    char name[48];
    snprintf(name, sizeof name, "llvm.nvvm.%sx2.to.f16x2.rn", fp8_suffix(fp8));
    for (int i = 0; i < 2; i++) {
        LLVMValueRef half = i ? LLVMBuildLShr(cg->builder, reg, i32_const(cg, 16), "") : reg;
        LLVMValueRef pair = LLVMBuildTrunc(cg->builder, half, cg->t.i16, "");
        LLVMValueRef h2 = nvvm_call_intrinsic(cg, name, cg->t.half2, &pair, 1, NULL, 0);
        out[i] = LLVMBuildBitCast(cg->builder, h2, cg->t.i32, "");
    }
}

/* cvt.rn.bf16x2.f32 %r, hi, lo;  — `lo` lands in bits 0-15. */
LLVMValueRef nvvm_pack_bf16x2(CodegenContext *cg, LLVMValueRef lo, LLVMValueRef hi)
{
    LLVMValueRef args[2] = {hi, lo};
    LLVMValueRef v = nvvm_call_intrinsic(cg, "llvm.nvvm.ff2bf16x2.rn", cg->t.bfloat2, args, 2, NULL, 0);
    return LLVMBuildBitCast(cg->builder, v, cg->t.i32, "");
}

/* shfl.sync.bfly.b32 %r, value, lane_mask, 0x1f, 0xffffffff; */
LLVMValueRef nvvm_shfl_xor(CodegenContext *cg, LLVMValueRef value, int lane_mask)
{
    bool is_float = LLVMGetTypeKind(LLVMTypeOf(value)) == LLVMFloatTypeKind;
    LLVMValueRef args[4] = {i32_const(cg, -1), value, i32_const(cg, lane_mask),
                            i32_const(cg, 0x1f)};
    return nvvm_call_intrinsic(cg, is_float ? "llvm.nvvm.shfl.sync.bfly.f32"
                                       : "llvm.nvvm.shfl.sync.bfly.i32",
                          LLVMTypeOf(value), args, 4, NULL, 0);
}

/* setp.lt.s32 %p, bits, 0;
   @!%p atom.global.max.s32 _, [ptr], bits;   (relaxed and .gpu: PTX's defaults)
   @%p  atom.global.min.u32 _, [ptr], bits;
   Non-negative floats order like their bits as signed integers, negative ones reversed as
   unsigned, and any non-negative bit pattern is below any negative one unsigned and above it
   signed: so one atomic per call is exact. A CAS loop would serialise contending threads. */
void nvvm_atomic_max_f32(CodegenContext *cg, LLVMValueRef global_ptr, LLVMValueRef value)
{
    LLVMBuilderRef b = cg->builder;
    LLVMValueRef bits = LLVMBuildBitCast(b, value, cg->t.i32, "");
    LLVMValueRef negative = LLVMBuildICmp(b, LLVMIntSLT, bits, i32_const(cg, 0), "");
    LLVMBasicBlockRef neg_block = codegen_block(cg, "amax.neg");
    LLVMBasicBlockRef pos_block = codegen_block(cg, "amax.pos");
    LLVMBasicBlockRef done = codegen_block(cg, "amax.done");
    LLVMBuildCondBr(b, negative, neg_block, pos_block);
    unsigned scope = LLVMGetSyncScopeID(cg->llvm, "device", 6);
    LLVMPositionBuilderAtEnd(b, neg_block);
    LLVMBuildAtomicRMWSyncScope(b, LLVMAtomicRMWBinOpUMin, global_ptr, bits,
                                LLVMAtomicOrderingMonotonic, scope);
    LLVMBuildBr(b, done);
    LLVMPositionBuilderAtEnd(b, pos_block);
    LLVMBuildAtomicRMWSyncScope(b, LLVMAtomicRMWBinOpMax, global_ptr, bits,
                                LLVMAtomicOrderingMonotonic, scope);
    LLVMBuildBr(b, done);
    LLVMPositionBuilderAtEnd(b, done);
}

static const char *vector_prefix(int words)
{
    return words == 4 ? ".v4" : words == 2 ? ".v2" : "";
}

/* Writes "{$first, $first+1, ...}" (or "$first" for one word) into buf. */
static void operand_list(char *buf, size_t size, int first, int words)
{
    if (words == 1) {
        snprintf(buf, size, "$%d", first);
        return;
    }
    int n = snprintf(buf, size, "{");
    for (int i = 0; i < words; i++)
        n += snprintf(buf + n, size - (size_t)n, "%s$%d", i ? ", " : "", first + i);
    snprintf(buf + n, size - (size_t)n, "}");
}

/* mov.b32 $i, 0; ...  @p ld.global.v4.b32 {$0, $1, $2, $3}, [ptr]; */
void nvvm_load_global_predicated(CodegenContext *cg, LLVMValueRef global_ptr, LLVMValueRef pred,
                                 int words, LLVMValueRef out[])
{
    char text[512], regs[64], constraints[64];
    int n = 0;
    for (int i = 0; i < words; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "mov.b32 $%d, 0;\n\t", i);
    operand_list(regs, sizeof regs, 0, words);
    snprintf(text + n, sizeof text - (size_t)n, "@$%d ld.global%s.b32 %s, [$%d];", words + 1,
             vector_prefix(words), regs, words);
    n = 0;
    for (int i = 0; i < words; i++)
        n += snprintf(constraints + n, sizeof constraints - (size_t)n, "=r,");
    snprintf(constraints + n, sizeof constraints - (size_t)n, "l,b");

    LLVMTypeRef fields[4] = {cg->t.i32, cg->t.i32, cg->t.i32, cg->t.i32};
    LLVMTypeRef result = words == 1 ? cg->t.i32
                                    : LLVMStructTypeInContext(cg->llvm, fields, (unsigned)words, 0);
    LLVMTypeRef params[2] = {LLVMTypeOf(global_ptr), cg->t.i1};
    LLVMTypeRef type = LLVMFunctionType(result, params, 2, 0);
    LLVMValueRef asm_fn = LLVMGetInlineAsm(type, text, strlen(text), constraints,
                                           strlen(constraints), 0, 0, LLVMInlineAsmDialectATT, 0);
    LLVMValueRef args[2] = {global_ptr, pred};
    LLVMValueRef v = LLVMBuildCall2(cg->builder, type, asm_fn, args, 2, "");
    if (words == 1) {
        out[0] = v;
        return;
    }
    for (int i = 0; i < words; i++)
        out[i] = LLVMBuildExtractValue(cg->builder, v, (unsigned)i, "");
}

/* @p st.global.v4.b32 [ptr], {v0, v1, v2, v3}; */
void nvvm_store_global_predicated(CodegenContext *cg, LLVMValueRef global_ptr, LLVMValueRef pred,
                                  int words, LLVMValueRef const values[])
{
    char text[256], regs[64], constraints[64];
    operand_list(regs, sizeof regs, 2, words);
    snprintf(text, sizeof text, "@$0 st.global%s.b32 [$1], %s;", vector_prefix(words), regs);
    int n = snprintf(constraints, sizeof constraints, "b,l");
    for (int i = 0; i < words; i++)
        n += snprintf(constraints + n, sizeof constraints - (size_t)n, ",r");
    snprintf(constraints + n, sizeof constraints - (size_t)n, ",~{memory}");

    LLVMTypeRef params[6] = {cg->t.i1, LLVMTypeOf(global_ptr)};
    LLVMValueRef args[6] = {pred, global_ptr};
    for (int i = 0; i < words; i++) {
        params[2 + i] = cg->t.i32;
        args[2 + i] = values[i];
    }
    LLVMTypeRef type = LLVMFunctionType(cg->t.void_, params, (unsigned)(2 + words), 0);
    LLVMValueRef asm_fn = LLVMGetInlineAsm(type, text, strlen(text), constraints,
                                           strlen(constraints), 1, 0, LLVMInlineAsmDialectATT, 0);
    LLVMBuildCall2(cg->builder, type, asm_fn, args, (unsigned)(2 + words), "");
}

/* ---- Hopper: wgmma, async-proxy fences */

/* Builds an inline-asm call; `side_effects` keeps it in place (a fence, a wait). */
static LLVMValueRef call_asm(CodegenContext *cg, LLVMTypeRef result, const char *text,
                             const char *constraints, LLVMValueRef *args, unsigned nargs,
                             bool side_effects)
{
    LLVMTypeRef params[600];
    for (unsigned i = 0; i < nargs; i++)
        params[i] = LLVMTypeOf(args[i]);
    LLVMTypeRef type = LLVMFunctionType(result, params, nargs, 0);
    LLVMValueRef fn = LLVMGetInlineAsm(type, (char *)text, strlen(text), (char *)constraints,
                                       strlen(constraints), side_effects, 0,
                                       LLVMInlineAsmDialectATT, 0);
    return LLVMBuildCall2(cg->builder, type, fn, args, nargs, "");
}

/* fence.proxy.async.shared::cta;  — ordinary shared-memory writes (st.shared, cp.async)
   become visible to the async proxy (wgmma operand reads, TMA stores). */
void nvvm_fence_proxy_async(CodegenContext *cg)
{
    call_asm(cg, cg->t.void_, "fence.proxy.async.shared::cta;", "~{memory}", NULL, 0, true);
}

/* wgmma.fence.sync.aligned; */
void nvvm_wgmma_fence(CodegenContext *cg)
{
    nvvm_call_intrinsic(cg, "llvm.nvvm.wgmma.fence.sync.aligned", cg->t.void_, NULL, 0, NULL, 0);
}

/* wgmma.commit_group.sync.aligned; */
void nvvm_wgmma_commit(CodegenContext *cg)
{
    nvvm_call_intrinsic(cg, "llvm.nvvm.wgmma.commit_group.sync.aligned", cg->t.void_, NULL, 0, NULL, 0);
}

/* The text "$first, ..., $first+n-1" (braced) into buf; returns its length. */
static int reg_list(char *buf, size_t size, int first, int n)
{
    int len = snprintf(buf, size, "{");
    for (int i = 0; i < n && (size_t)len < size; i++)
        len += snprintf(buf + len, size - (size_t)len, "%s$%d", i ? ", " : "", first + i);
    if ((size_t)len < size)
        len += snprintf(buf + len, size - (size_t)len, "}");
    return len;
}

/* Constraints "=f,...,=f" (n outputs), then n inputs tied to them, then `rest`. */
static void tied_constraints(char *buf, size_t size, int n, const char *rest)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s=f", i ? "," : "");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, size - len, ",%d", i);
    snprintf(buf + len, size - len, "%s", rest);
}

/* Replaces acc[0..n) by the asm's outputs (a struct of n floats, or one float). */
static void untie(CodegenContext *cg, LLVMValueRef v, LLVMValueRef *acc, int n)
{
    if (n == 1) {
        acc[0] = v;
        return;
    }
    for (int i = 0; i < n; i++)
        acc[i] = LLVMBuildExtractValue(cg->builder, v, (unsigned)i, "");
}

static LLVMTypeRef floats_type(CodegenContext *cg, int n)
{
    LLVMTypeRef fields[256];
    for (int i = 0; i < n; i++)
        fields[i] = cg->t.f32;
    return n == 1 ? cg->t.f32 : LLVMStructTypeInContext(cg->llvm, fields, (unsigned)n, 0);
}

/* wgmma.wait_group.sync.aligned N;  with every accumulator register tied through it, so LLVM
   cannot move a read of them above the wait (nor a write of them below the mma that still
   writes them). */
void nvvm_wgmma_wait(CodegenContext *cg, int pending, LLVMValueRef *acc, int nacc)
{
    if (nacc == 0) {   /* nothing read after it: the plain wait */
        LLVMValueRef n = LLVMConstInt(cg->t.i64, (unsigned long long)pending, 0);
        nvvm_call_intrinsic(cg, "llvm.nvvm.wgmma.wait_group.sync.aligned", cg->t.void_, &n, 1, NULL, 0);
        return;
    }
    if (nacc > 256) {   /* one asm per 256 registers; the first waits, the rest only tie */
        nvvm_wgmma_wait(cg, pending, acc, 256);
        nvvm_wgmma_wait(cg, pending, acc + 256, nacc - 256);
        return;
    }
    char text[64], constraints[4096];
    snprintf(text, sizeof text, "wgmma.wait_group.sync.aligned %d;", pending < 0 ? 0 : pending);
    tied_constraints(constraints, sizeof constraints, nacc, ",~{memory}");
    LLVMValueRef v = call_asm(cg, floats_type(cg, nacc), text, constraints, acc, (unsigned)nacc, true);
    untie(cg, v, acc, nacc);
}

static const char *wgmma_type(DType t)
{
    switch (t) {
    case DT_BF16: return "bf16";
    case DT_F16: return "f16";
    case DT_F8E4M3: return "e4m3";
    case DT_F8E5M2: return "e5m2";
    default: return "?";
    }
}

/* wgmma.mma_async.sync.aligned.m64n{N}k{16|32}.f32.{a}.{b} {d}, a, desc_b, 1, 1, 1{, tA}, tB;
   acc[0..N/2) are this thread's accumulators of the m64xN tile (read and written: scale-d
   is 1). A is a shared-memory descriptor (desc_a) or, when a_regs is given, four registers
   of the m64xk16 fragment (for fp8 m64xk32) of this warp's 16 rows. The transpose immediates
   say the operand lies MN-major in shared memory (16-bit types only). */
void nvvm_wgmma(CodegenContext *cg, DType a_type, DType b_type, int n, LLVMValueRef desc_a,
                LLVMValueRef const *a_regs, LLVMValueRef desc_b, bool trans_a, bool trans_b,
                LLVMValueRef *acc)
{
    int nacc = n / 2;
    bool fp8 = dtype_is_fp8(a_type);
    char text[2048], regs[1536], a_text[64];
    reg_list(regs, sizeof regs, 0, nacc);
    int next = 2 * nacc;   /* outputs, then their tied inputs, then A and B */
    if (a_regs) {
        reg_list(a_text, sizeof a_text, next, 4);
        next += 4;
    } else {
        snprintf(a_text, sizeof a_text, "$%d", next++);
    }
    int b_index = next++;
    char imms[32];
    if (fp8)
        snprintf(imms, sizeof imms, "1, 1");
    else if (a_regs)
        snprintf(imms, sizeof imms, "1, 1, %d", trans_b);
    else
        snprintf(imms, sizeof imms, "1, 1, %d, %d", trans_a, trans_b);
    snprintf(text, sizeof text,
             "{\n\t.reg .pred p;\n\tsetp.eq.u32 p, 1, 1;\n\t"
             "wgmma.mma_async.sync.aligned.m64n%dk%d.f32.%s.%s %s, %s, $%d, p, %s;\n\t}",
             n, fp8 ? 32 : 16, wgmma_type(a_type), wgmma_type(b_type), regs, a_text, b_index,
             imms);
    char constraints[4096];
    tied_constraints(constraints, sizeof constraints, nacc, a_regs ? ",r,r,r,r,l" : ",l,l");
    LLVMValueRef args[600];
    int na = 0;
    for (int i = 0; i < nacc; i++)
        args[na++] = acc[i];
    if (a_regs)
        for (int i = 0; i < 4; i++)
            args[na++] = a_regs[i];
    else
        args[na++] = desc_a;
    args[na++] = desc_b;
    LLVMValueRef v = call_asm(cg, floats_type(cg, nacc), text, constraints, args, (unsigned)na, true);
    untie(cg, v, acc, nacc);
}

/* ---- warp roles and mbarriers */

/* bar.sync id, count;  — the first `count` threads to arrive at barrier `id` (a multiple of
   32); the compute warps of a warp-specialised kernel synchronise on their own. */
void nvvm_barrier_named(CodegenContext *cg, LLVMValueRef id, int count)
{
    LLVMValueRef args[2] = {id, i32_const(cg, count)};
    nvvm_call_intrinsic(cg, "llvm.nvvm.barrier.cta.sync.aligned.count", cg->t.void_, args, 2, NULL, 0);
}

/* bar.arrive id, count;  — counts this warp's threads at barrier `id` without waiting: the
   other side of a bar.sync that `count` threads complete. */
void nvvm_barrier_arrive_named(CodegenContext *cg, LLVMValueRef id, int count)
{
    LLVMValueRef args[2] = {id, i32_const(cg, count)};
    nvvm_call_intrinsic(cg, "llvm.nvvm.barrier.cta.arrive.aligned.count", cg->t.void_, args, 2,
                        NULL, 0);
}

/* setmaxnreg.{inc,dec}.sync.aligned.u32 regs;  — the warpgroup's register budget. */
void nvvm_setmaxnreg(CodegenContext *cg, bool increase, int regs)
{
    LLVMValueRef n = i32_const(cg, regs);
    nvvm_call_intrinsic(cg, increase ? "llvm.nvvm.setmaxnreg.inc.sync.aligned.u32"
                                : "llvm.nvvm.setmaxnreg.dec.sync.aligned.u32",
                   cg->t.void_, &n, 1, NULL, 0);
}

/* mbarrier.init.shared::cta.b64 [bar], count; */
void nvvm_mbarrier_init(CodegenContext *cg, LLVMValueRef bar, int count)
{
    LLVMValueRef args[2] = {bar, i32_const(cg, count)};
    nvvm_call_intrinsic(cg, "llvm.nvvm.mbarrier.init.shared", cg->t.void_, args, 2, NULL, 0);
}

/* @pred mbarrier.arrive.shared::cta.b64 _, [bar]; */
void nvvm_mbarrier_arrive(CodegenContext *cg, LLVMValueRef bar, LLVMValueRef pred)
{
    LLVMValueRef args[2] = {pred, bar};
    call_asm(cg, cg->t.void_, "@$0 mbarrier.arrive.shared::cta.b64 _, [$1];", "b,r,~{memory}",
             args, 2, true);
}

/* @pred mbarrier.arrive.expect_tx.shared::cta.b64 _, [bar], bytes;  — one arrival that also
   expects `bytes` of asynchronous copies (TMA) to complete the phase. */
void nvvm_mbarrier_arrive_expect_tx(CodegenContext *cg, LLVMValueRef bar, LLVMValueRef pred,
                                    int bytes)
{
    LLVMValueRef args[3] = {pred, bar, i32_const(cg, bytes)};
    call_asm(cg, cg->t.void_, "@$0 mbarrier.arrive.expect_tx.shared::cta.b64 _, [$1], $2;",
             "b,r,n,~{memory}", args, 3, true);
}

/* Waits until the phase of `bar` with parity `parity` (i32, 0 or 1) has completed:
   mbarrier.try_wait.parity in a loop (the try form suspends the thread for a while). */
void nvvm_mbarrier_wait(CodegenContext *cg, LLVMValueRef bar, LLVMValueRef parity)
{
    static const char text[] =
        "{\n\t.reg .pred done;\n\twait:\n\t"
        "mbarrier.try_wait.parity.shared::cta.b64 done, [$0], $1;\n\t"
        "@!done bra wait;\n\t}";
    LLVMValueRef args[2] = {bar, parity};
    call_asm(cg, cg->t.void_, text, "r,r,~{memory}", args, 2, true);
}

/* cp.async.mbarrier.arrive.noinc.shared::cta.b64 [bar];  — arrives on `bar` once this
   thread's earlier cp.async copies have landed (the barrier counts this thread). */
void nvvm_cp_async_mbarrier_arrive(CodegenContext *cg, LLVMValueRef bar)
{
    nvvm_call_intrinsic(cg, "llvm.nvvm.cp.async.mbarrier.arrive.noinc.shared", cg->t.void_, &bar, 1,
                   NULL, 0);
}

/* cp.async.bulk.tensor.Nd.shared::cluster.global.mbarrier::complete_tx::bytes
       [dst], [tmap, {c0, ...}], [bar]; */
void nvvm_tma_load(CodegenContext *cg, LLVMValueRef dst, LLVMValueRef tmap,
                   LLVMValueRef const *coords, int n, LLVMValueRef bar)
{
    char text[256], list[64], constraints[64];
    int len = 0;
    for (int i = 0; i < n; i++)
        len += snprintf(list + len, sizeof list - (size_t)len, "%s$%d", i ? ", " : "", 2 + i);
    snprintf(text, sizeof text, "cp.async.bulk.tensor.%dd.shared::cluster.global.mbarrier::"
             "complete_tx::bytes [$0], [$1, {%s}], [$%d];", n, list, 2 + n);
    len = snprintf(constraints, sizeof constraints, "r,l");
    for (int i = 0; i < n; i++)
        len += snprintf(constraints + len, sizeof constraints - (size_t)len, ",r");
    snprintf(constraints + len, sizeof constraints - (size_t)len, ",r,~{memory}");
    LLVMValueRef args[8] = {dst, tmap};
    for (int i = 0; i < n; i++)
        args[2 + i] = coords[i];
    args[2 + n] = bar;
    call_asm(cg, cg->t.void_, text, constraints, args, (unsigned)(3 + n), true);
}
