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
        return 32;
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
   mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 (and e5m2, either mix). */
void nvvm_mma_sync(CodegenContext *cg, DType a_type, DType b_type, LLVMValueRef const a[4],
                   LLVMValueRef const b[2], LLVMValueRef const c[4], LLVMValueRef d[4])
{
    char name[96];
    bool fp8 = dtype_is_fp8(a_type);
    bool half = a_type == DT_F16;
    if (fp8)
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
    LLVMTypeRef f4[4] = {cg->t.f32, cg->t.f32, cg->t.f32, cg->t.f32};
    LLVMTypeRef result = LLVMStructTypeInContext(cg->llvm, f4, 4, 0);
    LLVMValueRef v = nvvm_call_intrinsic(cg, name, result, args, 10, NULL, 0);
    for (int i = 0; i < 4; i++)
        d[i] = LLVMBuildExtractValue(cg->builder, v, (unsigned)i, "");
}

static LLVMValueRef unary_f32(CodegenContext *cg, const char *name, LLVMValueRef x,
                              bool overloaded)
{
    LLVMTypeRef f32 = cg->t.f32;
    return nvvm_call_intrinsic(cg, name, f32, &x, 1, overloaded ? &f32 : NULL, overloaded ? 1 : 0);
}

/* ex2.approx.ftz.f32 %f, %x;  — 2^x; LLVM's llvm.exp2 is not used (NVPTX-NOTES.md). */
LLVMValueRef nvvm_ex2_approx(CodegenContext *cg, LLVMValueRef x)
{
    return unary_f32(cg, "llvm.nvvm.ex2.approx.ftz", x, true);
}

/* lg2.approx.ftz.f32 %f, %x; */
LLVMValueRef nvvm_lg2_approx(CodegenContext *cg, LLVMValueRef x)
{
    return unary_f32(cg, "llvm.nvvm.lg2.approx.ftz.f", x, false);
}

/* rsqrt.approx.ftz.f32 %f, %x; */
LLVMValueRef nvvm_rsqrt_approx(CodegenContext *cg, LLVMValueRef x)
{
    return unary_f32(cg, "llvm.nvvm.rsqrt.approx.ftz.f", x, false);
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
