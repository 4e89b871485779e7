/* codegen.h — TIR + Config to PTX through LLVM's C API (NVPTX backend, LLVM 22 linked
   statically): targets, the LLVM pipeline, NVVM instruction emitters, and the compile
   entry point (Schedule + emitter) with the kernel ABI every launcher uses. */
#ifndef TILEC_CODEGEN_H
#define TILEC_CODEGEN_H

#include <stdbool.h>
#include <stddef.h>

#include <llvm-c/Core.h>
#include <llvm-c/DebugInfo.h>
#include <llvm-c/TargetMachine.h>

#include "base.h" /* Arena, DType */
#include "tensor_map.h"

/* ---- target.c */

typedef struct Target {
    const char *name;     /* "sm_90a" */
    int sm;               /* 90 */
    const char *features; /* LLVM target features, e.g. "+ptx86" */
    int smem_limit;       /* opt-in shared memory per block, bytes */
} Target;

/* Looks up a --target name; NULL if unknown. */
const Target *target_lookup(const char *name);
/* "sm_90a, sm_89, sm_80": the names target_lookup accepts, for messages. */
const char *target_names(void);
/* Whether a GPU of compute capability major.minor runs `target`'s code: "sm_90a" only on
   9.0 (arch-specific), plain targets on their own capability and every later one (the
   driver compiles their PTX). */
bool target_runs_on(const Target *target, int major, int minor);
/* Writes "22.1.8" into buf. */
void codegen_llvm_version(char *buf, size_t size);
/* True when the NVPTX backend is linked in and registered. */
bool codegen_has_nvptx(void);

/* ---- llvm_ptx.c: the LLVM-C → NVPTX → PTX pipeline. One CodegenContext per compile; it owns
   its LLVMContext, module, builder and target machine, so compiles on several threads share
   nothing but LLVM's one-time NVPTX registration (pthread_once). Failures return false and
   leave a message in `error`; nothing aborts or prints. */

typedef struct CodegenTypes {
    LLVMTypeRef void_, i1, i8, i16, i32, i64, f16, bf16, f32;
    LLVMTypeRef half2, bfloat2;   /* <2 x half>, <2 x bfloat> */
    LLVMTypeRef ptr;              /* generic `ptr` */
    LLVMTypeRef ptr_global;       /* ptr addrspace(1) */
    LLVMTypeRef ptr_shared;       /* ptr addrspace(3) */
} CodegenTypes;

enum { ADDRSPACE_GLOBAL = 1, ADDRSPACE_SHARED = 3 };
enum { CALLCONV_PTX_KERNEL = 71 };

typedef struct CodegenContext {
    const Target *target;
    LLVMContextRef llvm;
    LLVMModuleRef module;
    LLVMBuilderRef builder;
    LLVMTargetMachineRef machine;
    CodegenTypes t;
    LLVMValueRef function;        /* the kernel being built */
    /* Line info, present when the context was made with a source path. */
    LLVMDIBuilderRef di;
    LLVMMetadataRef di_file, di_unit, di_scope;
    bool finalized;
    char error[4096];
} CodegenContext;

/* Launch bounds; 0 leaves one unset. Emitted as "nvvm.*" string function attributes. */
typedef struct KernelBounds {
    int max_threads;              /* nvvm.maxntid: the most threads a block may have */
    int required_threads;         /* nvvm.reqntid: the exact block size, when fixed */
    int min_blocks_per_sm;        /* nvvm.minctasm */
    int max_registers;            /* nvvm.maxnreg */
} KernelBounds;

/* Makes the LLVM context, an nvptx64-nvidia-cuda module and a target machine for `target`.
   With `source_path` set, kernels carry line info so the PTX has .file/.loc for it. */
bool codegen_context_init(CodegenContext *cg, const Target *target, const char *module_name,
                          const char *source_path);
void codegen_context_dispose(CodegenContext *cg);

/* Declares `name` as a kernel (calling convention 71, bounds as attributes, a subprogram at
   `line` when there is line info), opens its entry block and puts the builder there. Pointer
   parameters should be ptr_global; each gets noalias when `noalias_pointers`. */
LLVMValueRef codegen_kernel_begin(CodegenContext *cg, const char *name, LLVMTypeRef *params,
                                  int nparams, const KernelBounds *bounds, bool noalias_pointers,
                                  int line);
/* Kernel parameter `index` (a `ptr`) is a `bytes`-byte struct passed by value and read in
   place (byval, nvvm.grid_constant): a TMA tensor map the kernel hands to the copy engine. */
void codegen_param_grid_constant(CodegenContext *cg, LLVMValueRef fn, int index, unsigned bytes,
                                 unsigned align);
/* Ends the kernel: `ret void` at the builder's position. */
void codegen_kernel_end(CodegenContext *cg);
/* A new block at the end of the current kernel. */
LLVMBasicBlockRef codegen_block(CodegenContext *cg, const char *name);
/* Instructions built from now on map to `line`:`col` of the source (no-op without line info). */
void codegen_set_line(CodegenContext *cg, int line, int col);

/* Finalises line info and runs the verifier. */
bool codegen_verify(CodegenContext *cg);
/* Runs an LLVM pass pipeline, e.g. "default<O3>" (CODEGEN_O3). */
#define CODEGEN_O3 "default<O3>"
bool codegen_optimize(CodegenContext *cg, const char *pipeline);
/* The module as LLVM IR text, or PTX text; NUL-terminated, in `arena`; NULL on failure. */
char *codegen_emit_llvm(CodegenContext *cg, Arena *arena);
char *codegen_emit_ptx(CodegenContext *cg, Arena *arena);
/* verify → optimise at O3 → verify → PTX: what `tilec build --emit=ptx` runs. */
char *codegen_compile_ptx(CodegenContext *cg, Arena *arena);

/* ---- nvvm.c: named emitters for the NVPTX instructions kernels are made of. Each builds at
   cg->builder's position and says in its comment which PTX it becomes. Fragment layouts are
   CODEGEN.md's; operand registers of mma/ldmatrix are i32 (two 16-bit or four 8-bit values). */

typedef enum NvvmDim { DIM_X, DIM_Y, DIM_Z } NvvmDim;

/* Calls an intrinsic by name. An overloaded one is declared through LLVM with every type
   it is overloaded on, in LLVM's order (`llvm.fptosi.sat`: result, then source); the rest
   with `result` and the argument types, so a wrong signature is a verifier message. */
LLVMValueRef nvvm_call_intrinsic(CodegenContext *cg, const char *name, LLVMTypeRef result,
                                 LLVMValueRef *args, unsigned nargs, LLVMTypeRef *overloads,
                                 size_t noverloads);

LLVMValueRef nvvm_thread_id(CodegenContext *cg, NvvmDim dim); /* %tid.x|y|z, i32 */
LLVMValueRef nvvm_block_id(CodegenContext *cg, NvvmDim dim);  /* %ctaid.x|y|z */
LLVMValueRef nvvm_block_dim(CodegenContext *cg, NvvmDim dim); /* %ntid.x|y|z */
LLVMValueRef nvvm_grid_dim(CodegenContext *cg, NvvmDim dim);  /* %nctaid.x|y|z */
LLVMValueRef nvvm_lane_id(CodegenContext *cg);                  /* %laneid */
/* tid.x / 32: warp-uniform, unlike %warpid (which names a hardware slot and can change). */
LLVMValueRef nvvm_warp_index(CodegenContext *cg);
/* bar.sync 0 — every thread of the block, converged (barrier.cta.sync.aligned.all). */
void nvvm_barrier(CodegenContext *cg);

/* A static shared-memory array of `bytes` bytes (`.shared .align A .b8 name[bytes]`). */
LLVMValueRef nvvm_shared_array(CodegenContext *cg, const char *name, unsigned bytes,
                               unsigned align);
/* The block's dynamic shared memory (`.extern .shared .align A .b8 name[]`); its size is the
   launch's shared_bytes (over 48 KB needs cuda_function_set_max_dynamic_shared). */
LLVMValueRef nvvm_dynamic_shared(CodegenContext *cg, const char *name, unsigned align);
/* Byte offset into a shared or global pointer (a GEP on i8). */
LLVMValueRef nvvm_offset(CodegenContext *cg, LLVMValueRef ptr, LLVMValueRef byte_offset);
/* x through an opaque mov: LLVM cannot reassociate or split it (one base register). */
LLVMValueRef nvvm_opaque_i32(CodegenContext *cg, LLVMValueRef x);

typedef enum NvvmCopyCache {
    COPY_CACHE_ALL,      /* cp.async.ca: L1 and L2, 4, 8 or 16 bytes */
    COPY_CACHE_GLOBAL,   /* cp.async.cg: L2 only, 16 bytes */
} NvvmCopyCache;
/* cp.async.{ca,cg}.shared.global [dst], [src], bytes{, src_bytes}: an asynchronous copy of
   `bytes`; with `src_bytes` (i32, may be NULL) only that many are read and the rest of the
   destination is zero-filled — a masked load that stays asynchronous. */
void nvvm_cp_async(CodegenContext *cg, NvvmCopyCache cache, int bytes, LLVMValueRef dst_shared,
                   LLVMValueRef src_global, LLVMValueRef src_bytes);
void nvvm_cp_async_commit(CodegenContext *cg);          /* cp.async.commit_group */
void nvvm_cp_async_wait(CodegenContext *cg, int pending); /* cp.async.wait_group N */

/* ldmatrix.sync.aligned.m8n8.x{1,2,4}{.trans}.shared.b16: lane l passes the address of row
   l%8 of matrix l/8; out[i] (i32) gets matrix i's fragment (row lane/4, elements 2(lane%4)
   and +1, or the transpose). Also serves 8-bit K-major operands as pairs of bytes. */
void nvvm_ldmatrix(CodegenContext *cg, int matrices, bool transpose, LLVMValueRef row_address,
                   LLVMValueRef out[]);

/* mma.sync.aligned.row.col: m16n8k16 for bf16/f16, m16n8k32 for f8e4m3/f8e5m2 (either mix),
   f32 accumulate, and m16n8k32 for i8 (s8), i32 accumulate: d = a·b + c. a[4], b[2] are i32
   operand registers, c[4]/d[4] f32 (i32 for i8). */
void nvvm_mma_sync(CodegenContext *cg, DType a_type, DType b_type, LLVMValueRef const a[4],
                   LLVMValueRef const b[2], LLVMValueRef const c[4], LLVMValueRef d[4]);
/* The K of one mma.sync for an operand type: 16 (16-bit), 32 (fp8, i8), 8 (f32 as tf32); 0
   if none. */
int nvvm_mma_k(DType t);
/* mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32: a[4], b[2] tf32 in i32 registers
   (fragments as m16n8k16's with 32-bit elements: a {(g, t), (g+8, t), (g, t+4), (g+8, t+4)},
   b {(t, g), (t+4, g)}, g = lane/4, t = lane%4), c[4]/d[4] f32. */
void nvvm_mma_sync_tf32(CodegenContext *cg, LLVMValueRef const a[4], LLVMValueRef const b[2],
                        LLVMValueRef const c[4], LLVMValueRef d[4]);
/* cvt.rna.tf32.f32: f32 to tf32 (to nearest, ties away from zero), an i32 of the bits. */
LLVMValueRef nvvm_to_tf32(CodegenContext *cg, LLVMValueRef x);
/* Whether `target` has an mma.sync for the type (fp8 needs sm_89+ and PTX 8.4). */
bool nvvm_mma_supported(const Target *target, DType t);

LLVMValueRef nvvm_mulhi_u32(CodegenContext *cg, LLVMValueRef a, LLVMValueRef b); /* mul.hi.u32 */
LLVMValueRef nvvm_ex2_approx(CodegenContext *cg, LLVMValueRef x);   /* ex2.approx.ftz.f32 */
LLVMValueRef nvvm_lg2_approx(CodegenContext *cg, LLVMValueRef x);   /* lg2.approx.f32 */
LLVMValueRef nvvm_rsqrt_approx(CodegenContext *cg, LLVMValueRef x); /* rsqrt.approx.f32 */

/* cvt.rn.satfinite.{e4m3x2,e5m2x2}.f32: two f32 to two fp8 in an i16, `lo` in the low byte;
   out-of-range values saturate to the largest finite value. */
LLVMValueRef nvvm_pack_fp8x2(CodegenContext *cg, DType fp8, LLVMValueRef lo, LLVMValueRef hi);
/* cvt.rn.f16x2.{e4m3x2,e5m2x2} then cvt.f32.f16: an i16 of two fp8 to f32 (exact). */
void nvvm_unpack_fp8x2(CodegenContext *cg, DType fp8, LLVMValueRef packed, LLVMValueRef out[2]);
/* cvt.rn.f16x2.{e4m3x2,e5m2x2} on each half of an i32 of four fp8 (an m16n8k32 operand
   register): out[0] = bytes 0-1 as f16x2, out[1] = bytes 2-3, each an i32. An m16n8k32 step
   is then two m16n8k16 f16 mmas — A {lo a0, lo a1, hi a0, hi a1} · B {lo b0, hi b0} and the
   same of a2, a3, b1 (K permuted alike in A and B) — converting each fragment once however
   many mmas reuse it. What ptxas does itself for fp8 mma.sync on sm_90. */
void nvvm_widen_fp8x4(CodegenContext *cg, DType fp8, LLVMValueRef reg, LLVMValueRef out[2]);
/* cvt.rn.bf16x2.f32: two f32 to two bf16 in an i32, `lo` in the low half. */
LLVMValueRef nvvm_pack_bf16x2(CodegenContext *cg, LLVMValueRef lo, LLVMValueRef hi);

/* Hopper (sm_90a). fence.proxy.async.shared::cta: ordinary shared-memory writes (st.shared,
   cp.async) are seen by the async proxy (wgmma's shared operands, TMA stores) after it. */
void nvvm_fence_proxy_async(CodegenContext *cg);
void nvvm_wgmma_fence(CodegenContext *cg);   /* wgmma.fence.sync.aligned */
void nvvm_wgmma_commit(CodegenContext *cg);  /* wgmma.commit_group.sync.aligned */
/* wgmma.wait_group.sync.aligned N, the accumulators acc[0..nacc) tied through it (replaced by
   the values after the wait), so no read of them moves above it. */
void nvvm_wgmma_wait(CodegenContext *cg, int pending, LLVMValueRef *acc, int nacc);
/* wgmma.mma_async m64nNk16 (bf16/f16) or m64nNk32 (fp8), f32 accumulate, scale-d 1:
   acc[0..N/2) in and out, in the accumulator layout (CODEGEN.md): register i of this thread
   is row 16·warp_in_group + lane/4 + 8·((i%4)/2), column 8·(i/4) + 2·(lane%4) + i%2.
   A from shared memory (desc_a) or from registers (a_regs[4], the m16n8k16-style fragment
   of the warp's 16 rows); B from shared memory (desc_b). trans_a/trans_b: the operand lies
   MN-major (16-bit types only). */
void nvvm_wgmma(CodegenContext *cg, DType a_type, DType b_type, int n, LLVMValueRef desc_a,
                LLVMValueRef const *a_regs, LLVMValueRef desc_b, bool trans_a, bool trans_b,
                LLVMValueRef *acc);

/* Warp roles (sm_90a). bar.sync id, count: the first `count` threads at barrier `id` (i32). */
void nvvm_barrier_named(CodegenContext *cg, LLVMValueRef id, int count);
void nvvm_barrier_arrive_named(CodegenContext *cg, LLVMValueRef id, int count);
/* setmaxnreg.inc/dec: the executing warpgroup's register budget (24..256, a multiple of 8). */
void nvvm_setmaxnreg(CodegenContext *cg, bool increase, int regs);
/* mbarriers in shared memory (`bar` a ptr addrspace(3), 8-byte aligned). */
void nvvm_mbarrier_init(CodegenContext *cg, LLVMValueRef bar, int count);
void nvvm_mbarrier_arrive(CodegenContext *cg, LLVMValueRef bar, LLVMValueRef pred);
void nvvm_mbarrier_arrive_expect_tx(CodegenContext *cg, LLVMValueRef bar, LLVMValueRef pred,
                                    int bytes);
/* Spins (try_wait) until the phase of parity `parity` (i32) has completed. */
void nvvm_mbarrier_wait(CodegenContext *cg, LLVMValueRef bar, LLVMValueRef parity);
/* cp.async.bulk.tensor.Nd.shared::cluster.global.mbarrier::complete_tx::bytes: one box of
   tensor map `tmap` (a grid-constant parameter) at coords[0..n) (i32, innermost first) into
   shared memory at `dst`, completing `bytes` on `bar`. */
void nvvm_tma_load(CodegenContext *cg, LLVMValueRef dst, LLVMValueRef tmap,
                   LLVMValueRef const *coords, int n, LLVMValueRef bar);
/* Arrives on `bar` when this thread's earlier cp.async copies have landed (noinc). */
void nvvm_cp_async_mbarrier_arrive(CodegenContext *cg, LLVMValueRef bar);

/* shfl.sync.bfly.b32 over the full warp: the value of lane (lane ^ lane_mask); f32 or i32. */
LLVMValueRef nvvm_shfl_xor(CodegenContext *cg, LLVMValueRef value, int lane_mask);

/* *ptr = max(*ptr, value) for f32 in global memory, atomically (relaxed, .gpu scope: PTX's
   default, so plain `atom.global`), by the integer trick: atom.global.max.s32 when value's
   sign bit is clear, atom.global.min.u32 when set. The target must start at -inf (or any
   float) and no NaN may come. Exact for every non-NaN float (and ±0); one atomic, no CAS loop. */
void nvvm_atomic_max_f32(CodegenContext *cg, LLVMValueRef global_ptr, LLVMValueRef value);

/* @p ld.global.{b32,v2.b32,v4.b32}: `words` (1, 2, 4) i32 from a global address aligned to
   4·words, read only when `pred` (i1) holds; otherwise out[] = 0. Inline PTX, so the load is
   one predicated instruction, never a branch. */
void nvvm_load_global_predicated(CodegenContext *cg, LLVMValueRef global_ptr, LLVMValueRef pred,
                                 int words, LLVMValueRef out[]);
/* @p st.global.{b32,v2.b32,v4.b32}. */
void nvvm_store_global_predicated(CodegenContext *cg, LLVMValueRef global_ptr, LLVMValueRef pred,
                                  int words, LLVMValueRef const values[]);

/* ---- compile.c (with schedule.c, emit*.c): TIR + Variant -> PTX.

   A Variant is everything a compiled kernel is specialised on besides the const values
   (already resolved in the TirKernel): the Config, the value of every full-axis shape
   symbol, and the alignment class of the launch's tensors.

   Kernel ABI (the LLVM function's parameters, in this order; libtile packs them, for
   applications and for tilec run/bench and the tuner alike):
     for each TirKernel.params[i] in order:
       PARAM_TENSOR: `ptr addrspace(1)` base, then one i64 stride per dim (in elements);
       PARAM_SCALAR: f32 -> float, f16/bf16 -> i16 (the bits), i32 -> i32, i64 -> i64,
                     bool -> i8;
       PARAM_CONST:  nothing (compiled in).
     then for each TirKernel.syms[s] in order: i64 value (full-axis symbols too);
     then each of CompiledKernel.tmaps: a 128-byte CUtensorMap by value (grid constant).
   Launch: a 1-D grid of blocks (the product over the grid loop's variables of
   cdiv(extent, block): the bundle's grid program, tbn_grid_blocks; a persistent kernel
   gets at most one block per SM and strides over the tiles itself) of
   CompiledKernel.num_threads threads and CompiledKernel.smem_bytes of dynamic shared
   memory. Declared reduction targets must hold their identity before the launch (libtile's
   job).
   Index faults (a kernel with a checked index, emit_memory.c): the module defines the global
   `tile_fault_sink`, three 8-byte words that the loader fills: the device address of a u32
   claim word (0 when no fault is recorded), the device address of a 48-byte record in
   memory the host reads, the variant's index. The first thread to take the claim writes the
   record: u32 at byte 4 the variant, 8 the parameter, 12 the dim, 16 the kind (0 load,
   1 store, 2 atomic), 20 the line, 24 the column; i64 at 32 the index, 40 the dim's size;
   then, after a system-wide fence, u32 1 at byte 0 (`raised`). An empty sink records
   nothing. */

struct TirKernel;
struct TirOp;
struct TirValue;
struct Config;

typedef enum AlignClass {
    ALIGN_VEC16,   /* every tensor: base 16-byte aligned, innermost stride 1, every other
                      stride a multiple of 16 bytes: 16-byte vector and cp.async.cg copies */
    ALIGN_UNIT,    /* every tensor: innermost stride 1 (element-aligned otherwise) */
    ALIGN_ANY,     /* any strides: scalar accesses */
    ALIGN_CLASS_COUNT
} AlignClass;

const char *align_class_name(AlignClass c);   /* "vec16", "unit", "any" */

enum { VARIANT_MAX_SYMS = 16 };

typedef struct Variant {
    const struct Config *config;          /* resolved: every tunable bound */
    int64_t full_sizes[VARIANT_MAX_SYMS]; /* per TirKernel.syms index: the value of a
                                             full-axis symbol (others ignored) */
    AlignClass align;
} Variant;

typedef struct CompiledKernel {
    const char *ptx;          /* NUL-terminated PTX text (in the caller's arena) */
    const char *llvm_ir;      /* LLVM IR text after O3, when asked for */
    const char *entry;        /* the kernel's symbol in the PTX */
    int num_threads;          /* block size: num_warps * 32 */
    int smem_bytes;           /* dynamic shared memory per block */
    bool persistent;          /* blocks loop over the grid's tiles: launch at most one block
                                 per multiprocessor (more is correct, only wasteful) */
    const char *path;         /* how its dots and copies run, for people (tilec inspect):
                                 "wgmma 64x256/warpgroup, TMA ring of 4, warp-specialised,
                                 persistent" */
    int ntmaps;               /* TMA tensor maps the kernel takes after its symbols */
    TensorMapSpec tmaps[8];
} CompiledKernel;

/* Compiles one kernel variant. Returns 0, or -1 with a message in err (a Variant the
   kernel cannot serve, e.g. fp8 on sm_80, a missing full-axis size, too much shared
   memory for the target). Thread-safe: everything lives in its own CodegenContext. */
int codegen_compile(Arena *a, const struct TirKernel *k, const Variant *v, const Target *t,
                    bool want_llvm, CompiledKernel *out, char *err, size_t errlen);

/* ---- schedule.c: where every TIR value lives for one Variant (CODEGEN.md, docs/codegen.md).

   A Layout is a linear map from (register, lane, warp) bits to tile coordinates: bit i of
   the register index moves the element by reg[i], bit i of the lane by lane[i], of the warp
   by warp[i]. Every basis vector is zero (the bit only duplicates: those threads hold the
   same elements) or one power of two along one axis, and the non-zero ones never share a
   bit, so an element's coordinate is thread_base + reg_offset, the first computed once per
   thread and the second a constant. BLOCKED, the mma accumulator, slices (reductions),
   expanded dims and scalars are all such maps; equal maps need no data movement. */

enum { LAYOUT_MAX_RANK = MAX_RANK, LAYOUT_MAX_REG_BITS = 12, LAYOUT_MAX_WARP_BITS = 3 };

typedef enum LayoutKind {
    LAYOUT_SCALAR,    /* rank 0: one register, the same in every thread */
    LAYOUT_BLOCKED,   /* loads, stores, elementwise work: short vectors along the last axis */
    LAYOUT_MMA,       /* the m16n8 f32 accumulator over a WM x WN warp grid */
    LAYOUT_DERIVED,   /* a slice, expansion or transpose of another layout */
} LayoutKind;

typedef struct Layout {
    LayoutKind kind;
    int rank;
    int shape[LAYOUT_MAX_RANK];        /* padded sizes, powers of two */
    int nreg, nwarp;                   /* register and warp bits (lanes: always 5) */
    int reg[LAYOUT_MAX_REG_BITS][LAYOUT_MAX_RANK];
    int lane[5][LAYOUT_MAX_RANK];
    int warp[LAYOUT_MAX_WARP_BITS][LAYOUT_MAX_RANK];
    const struct Layout *parent;       /* a slice: the layout it was reduced from */
    int dot;                           /* LAYOUT_MMA: DotPlan index */
} Layout;

bool layout_equal(const Layout *a, const Layout *b);
/* Coordinate along `axis` of register r, relative to the thread's base. */
int layout_reg_offset(const Layout *l, int r, int axis);

typedef enum OperandSource {
    OPERAND_ASYNC,      /* a load staged global -> shared with cp.async (pipelined in a loop) */
    OPERAND_STAGED,     /* registers (any layout, prologue applied) stored K-major to shared */
    OPERAND_FRAGMENT,   /* A taken from an mma accumulator's registers (attention's P) */
} OperandSource;

/* How an operand tile lies in shared memory. PADDED: rows of row_bytes + 16 bytes
   (conflict-free ldmatrix and cp.async without swizzling). SWIZZLED: the layout wgmma's
   matrix descriptors and TMA's swizzle modes share: the tile is cut into panels of
   `swizzle` bytes (32, 64 or 128) of every row, each panel rows x swizzle bytes, and within
   a 1024-byte-aligned panel the 16-byte chunk of byte offset x moves to
   x ^ ((x >> 7) & (swizzle/16 - 1)) << 4. */
typedef enum SmemLayoutKind { SMEM_PADDED, SMEM_SWIZZLED } SmemLayoutKind;

/* One operand of a dot in shared memory: a tile of rows x row_bytes, `slots` copies. */
typedef struct OperandPlan {
    OperandSource source;
    const struct TirOp *load;  /* ASYNC: the load (the operand, or under a transpose) */
    bool k_major;              /* shared rows run along K (else along M/N: ldmatrix.trans,
                                  or wgmma's transpose bit) */
    bool permute_k;            /* fp8 B staged for a FRAGMENT A: K permuted to match it */
    SmemLayoutKind layout;
    int swizzle;               /* SWIZZLED: the panel width in bytes */
    int rows, row_bytes, row_stride;  /* row_stride: PADDED row_bytes + 16; SWIZZLED swizzle */
    int slot_bytes;            /* one slot, a multiple of 1024 when SWIZZLED */
    int slots;                 /* ASYNC in a pipelined loop: num_stages, else 1 */
    int smem_offset;
    int tmap;                  /* ASYNC through TMA: Schedule.tmaps index, else -1 */
    bool per_group;            /* not a ring's: each tile group has its own copy */
    const struct TirOp *loop;  /* ASYNC: the pipelined loop, or NULL (staged once) */
    struct OperandPlan *landing;  /* STAGED from a load in a TMA ring's loop (fp8 V, or an
                                  fp8 b[K, N]: tiles wgmma cannot read MN-major): the producer
                                  copies the load's tile as it lies (an ASYNC plan of its
                                  own, rows of the tensor's innermost dim) into ring slots,
                                  and the compute warps read the load's registers from there
                                  instead of global memory; NULL otherwise */
} OperandPlan;

/* The tensor-core instruction a dot lowers to. */
typedef enum DotInstr {
    DOT_MMA_SYNC,        /* mma.sync m16n8k16 / m16n8k32 per warp (sm_80, sm_89; sm_90 when
                            asked), fp8 widened to f16 pairs on sm_90 (no fp8 datapath) */
    DOT_WGMMA,           /* wgmma.mma_async m64nNk16 / k32 per warpgroup (sm_90a), operands in
                            SWIZZLED shared memory (A possibly from registers) */
    DOT_FMA,             /* an exact f32 dot: each thread's accumulators (MMA_SYNC's layout)
                            take one fma.rn.f32 per k, operands read from shared memory */
} DotInstr;

/* The `dot` knob's values (Config "dot"): auto is the target's own, wgmma on sm_90a. */
enum { DOT_KNOB_AUTO = 0, DOT_KNOB_WGMMA = 1, DOT_KNOB_MMA_SYNC = 2 };

typedef struct DotPlan {
    const struct TirOp *op;
    DotInstr instr;
    DType a_type, b_type;
    int m, n, k;               /* tile sizes (padded); k padded to kpad for the mma */
    int kpad, kstep;           /* k rounded up to the instruction's K; 16 or 32 (8: tf32
                                  mma.sync m16n8k8 on f32 operands; 1: FMA) */
    int wm, wn;                /* MMA_SYNC: warp grid */
    int mi, nj;                /* MMA_SYNC: 16x8 tiles per warp */
    int wg_m, wg_n;            /* WGMMA: warpgroup grid (wg_n fastest in the warpgroup index) */
    int m_instr;               /* WGMMA: m64 instructions per warpgroup along M */
    int instr_n, n_instr;      /* WGMMA: the instruction's N, and instructions along N */
    OperandPlan a, b;
    Layout acc;                /* the accumulator layout */
} DotPlan;

/* How a pipelined loop's operand tiles reach shared memory and change hands. */
typedef enum PipelineKind {
    PIPE_GROUPS,   /* the compute warps issue cp.async commit groups num_stages - 1 blocks
                      ahead and meet at bar.sync before each block */
    PIPE_RING,     /* a producer warpgroup fills a ring of num_stages slots; per slot a full
                      mbarrier hands a stage to the compute warps and an empty one hands it
                      back (warp specialisation) */
} PipelineKind;

/* A seq loop whose ASYNC operand loads are pipelined num_stages deep. */
typedef struct LoopPlan {
    const struct TirOp *loop;
    int stages;
    PipelineKind kind;
    int barriers;              /* PIPE_RING: shared offset of full[stages], then empty[stages] */
    int ring;                  /* PIPE_RING: index of the ring's position counter */
    bool tma;                  /* PIPE_RING: one producer thread copies with TMA (else every
                                  producer thread with cp.async) */
    int stage_bytes;           /* TMA: bytes a stage brings (the full barrier's expect_tx) */
    int deferred;              /* PIPE_RING: the DotPlan index of a dot that only accumulates
                                  across the loop (acc += a @ b): its wgmmas stay in flight
                                  into the next block, whose wait releases this block's slot;
                                  -1 when none */
} LoopPlan;

enum { SCHEDULE_MAX_DOTS = 8, SCHEDULE_MAX_LOOPS = 16 };

typedef struct Schedule {
    const struct TirKernel *kernel;
    const Variant *variant;
    int num_warps;             /* the compute warps, over which every layout is laid out */
    int num_threads;           /* launched per block: the compute warps, plus the producer
                                  warpgroup when warp-specialised */
    int compute_threads;       /* 32 * num_warps * tile_groups */
    int tile_groups;           /* groups of num_warps compute warps, each with its own stream
                                  of tiles (1, or 2: ping-pong, one group's epilogue beside the
                                  other's mainloop); the ring is shared, in tile order */
    int private_offset, private_bytes;  /* shared memory each tile group has a copy of (its
                                  operand tiles outside rings, scratch): group g's at
                                  private_offset + g * private_bytes */
    int stages, group_m;
    bool warp_specialized;     /* a producer warpgroup (the warps after the compute warps)
                                  feeds PIPE_RING loops; each tile group of compute warps
                                  synchronises on named barrier 1 + its group */
    int producer_regs, consumer_regs;  /* setmaxnreg budgets when warp-specialised */
    bool persistent;           /* each block loops over grid tiles (blockIdx.x, + gridDim.x) */
    int nrings;                /* PIPE_RING loops (position counters) */
    int ntmaps;                /* TMA tensor maps, kernel parameters after the symbols */
    TensorMapSpec tmaps[8];
    const Layout **layouts;    /* per value id: NULL for values that are only dot operands */
    int ndots;
    DotPlan dots[SCHEDULE_MAX_DOTS];
    int nloops;
    LoopPlan loops[SCHEDULE_MAX_LOOPS];
    int scratch_offset, scratch_bytes;  /* layout conversions and cross-warp reductions */
    int smem_bytes;
    int conversions;           /* layout conversions through shared memory */
    int64_t *axis_size;        /* per TirKernel.loopvars then syms: lanes of that axis */
} Schedule;

/* Builds the schedule. Returns 0, or -1 with a message (unsupported rank, a dot shape no
   mma can serve, shared memory over the target's limit). */
int schedule_build(Arena *a, const struct TirKernel *k, const Variant *v, const Target *t,
                   Schedule *out, char *err, size_t errlen);
/* One line on how the schedule runs its dots and copies (CompiledKernel.path). */
const char *schedule_path(Arena *a, const Schedule *s);
/* The padded lane count of a tile axis under the schedule. */
int schedule_axis_size(const Schedule *s, Axis axis);
/* The DotPlan of a dot op, or NULL. */
const DotPlan *schedule_dot(const Schedule *s, const struct TirOp *op);
const LoopPlan *schedule_loop(const Schedule *s, const struct TirOp *op);
/* The ring slots a load's tile lands in (OperandPlan.landing), or NULL. */
const OperandPlan *schedule_landing(const Schedule *s, const struct TirOp *load);
/* Whether v is defined inside `loop`'s body (in it or a block nested in it): a dot operand
   defined before its loop is staged once, ahead of it (emit_stage_invariant_operands). */
bool schedule_defined_in(const struct TirValue *v, const struct TirOp *loop);
/* Whether an access's innermost index is a tile(lo, hi) range's variable, whose run-time
   start leaves that dim's vectors unaligned (scalar accesses, no cp.async). */
bool schedule_unaligned_index(const struct TirKernel *k, const struct TirOp *access);
/* Whether a value can be regenerated in any layout where it is used (constants, iota,
   broadcasts of scalars), so it never needs a conversion. */
bool schedule_rematerializable(const Schedule *s, const struct TirValue *v);
/* What fetching value v in layout `want` costs: 0 none (same layout or regenerated),
   1 a conversion through shared memory. */
int schedule_fetch_cost(const Schedule *s, const struct TirValue *v, const Layout *want);
/* A reduction over an axis that spans warps meets the warps' partial results in shared
   memory: the number of warps along the axis (1: none; also for any other op), and the
   scratch bytes it needs in *bytes. */
int schedule_reduce_warps(const Schedule *s, const struct TirOp *op, int64_t *bytes);
/* Calls fn for each value `op` takes in another layout than its own, through shared
   memory (the emitter's conversions): an elementwise op's operand (an fma's: its mul's
   operands) or a dot's accumulator fetched in the result's layout, a dot prologue's operand
   fetched in its argument's layout and its result back, a broadcast's, expand_dims' or
   transpose's operand fetched in the view of the result's layout it reads (`to` then lives
   only during the call), a yielded value fetched in its loop's carried layout, a
   reduction's slice moved into its result's layout. `elements` is the size of the moved
   tile (8 bytes of scratch each). A load, store or atomic fetches its gathered index tiles
   and its data mask in views of the layout it accesses. */
typedef void (*ConversionFn)(const struct TirValue *v, const Layout *to, int64_t elements,
                             void *ctx);
void schedule_conversions(const Schedule *s, const struct TirOp *op, ConversionFn fn,
                          void *ctx);
/* The layout `l` with the given axes dropped to size 1 (a broadcast's operand view). */
Layout layout_project(const Layout *l, const bool *keep_axis);
/* A slice: `l` with `axis` removed (register bits along it dropped, lanes and warps along it
   made duplicates). */
Layout layout_slice(const Layout *l, int axis);
/* `l` sliced down to its axes first .. first + naxes - 1: the layout a gathered index tile
   of those axes is read in (each thread holds the indices of its elements). */
Layout layout_axes_view(const Layout *l, int first, int naxes);

/* ---- schedule_print.c: the schedule as `tilec build --emit=schedule` prints it
   (docs/codegen.md). */
void schedule_print(FILE *out, const Schedule *s);

#endif
