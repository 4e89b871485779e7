/* emit.h — the emitter's private state, shared by emit.c (kernel, loops, elementwise,
   reductions, layout conversions), emit_memory.c (global loads, stores, atomics) and
   emit_dot.c (operand staging, cp.async pipelines, ldmatrix, mma.sync). */
#ifndef TILEC_EMIT_H
#define TILEC_EMIT_H

#include "codegen.h"
#include "tir.h"

/* A tile in registers: regs[r] is element r of `layout` in this thread. */
typedef struct Tile {
    const Layout *layout;
    int n;
    LLVMValueRef *regs;
} Tile;

typedef struct Emitter {
    CodegenContext *cg;
    LLVMBuilderRef b;
    Arena *arena;
    const TirKernel *k;
    const Schedule *s;
    Tile *values;               /* per value id */
    bool *emitted;
    LLVMValueRef *tensor_base;  /* per param: ptr addrspace(1) */
    LLVMValueRef **strides;     /* per param: i64 per dim */
    LLVMValueRef *scalar;       /* per param: the scalar argument */
    LLVMValueRef *sym;          /* per sym: i64 */
    LLVMValueRef *lv_begin;     /* per loopvar: i64 begin of the current block */
    LLVMValueRef *lv_extent;    /* per loopvar: i64 extent */
    LLVMValueRef *lv_block;     /* per loopvar: i64 index of the current block */
    bool *lv_full;              /* per loopvar: the current block lies wholly inside the extent */
    const TirOp *true_cmp;      /* a comparison known true in the current loop range, or NULL */
    /* The prefetch of the current pipelined iteration, issued in pieces between the k-steps
       of the body's first dot (emit_pipeline_issue) so its address arithmetic overlaps the
       mmas; loop is NULL when none is pending. */
    struct PendingStage {
        const TirOp *loop;
        LLVMValueRef slot, block, in_range;
        int issued, total;      /* copy passes issued so far, of all operands together */
    } pending;
    LLVMValueRef tid, lane, warp, smem;
    bool failed;
    char *err;
    size_t errlen;
} Emitter;

/* emit.c */
/* Builds the kernel `name` into e->cg's module; 0, or -1 with e->err set. */
int emit_kernel(Emitter *e, const char *name);
void emit_fail(Emitter *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
LLVMTypeRef emit_type(Emitter *e, DType t);
LLVMValueRef emit_i32(Emitter *e, long long v);
LLVMValueRef emit_i64(Emitter *e, long long v);
/* The thread's coordinate along `axis` of register r (i32). */
LLVMValueRef emit_coord(Emitter *e, const Layout *l, int r, int axis);
/* i1: whether this thread is the first holder of its elements (false in duplicates). */
LLVMValueRef emit_owner(Emitter *e, const Layout *l);
/* Value v in layout `want`: its registers, regenerated, or converted through shared memory. */
Tile emit_fetch(Emitter *e, const TirValue *v, const Layout *want);
Tile emit_tile_new(Emitter *e, const Layout *l);
void emit_block(Emitter *e, const TirBlock *b);
/* Emits a dot region with its argument bound to `arg`; returns the yielded tile in `want`. */
Tile emit_region(Emitter *e, const TirBlock *region, Tile arg, const Layout *want);
LLVMValueRef emit_to_f32(Emitter *e, LLVMValueRef x, DType t);
LLVMValueRef emit_from_f32(Emitter *e, LLVMValueRef x, DType t);
/* i1: lane `coord` of tile axis `axis` is valid (its index is below the loop's extent, or
   below the full axis's real size). */
LLVMValueRef emit_axis_valid(Emitter *e, Axis axis, LLVMValueRef coord);
/* shared-memory pointer at a byte offset (i32) */
LLVMValueRef emit_smem_at(Emitter *e, LLVMValueRef offset);

/* emit_memory.c */
void emit_load(Emitter *e, const TirOp *op);
void emit_store(Emitter *e, const TirOp *op);
void emit_atomic(Emitter *e, const TirOp *op);
/* Global address and validity of one element of a load/store: `coords` are the tile
   coordinates (i32, by tile axis). The address is only meaningful when valid: accesses
   are predicated on it. */
void emit_element_address(Emitter *e, const TirOp *op, LLVMValueRef const *coords,
                          LLVMValueRef *address, LLVMValueRef *valid);
/* Count of valid elements (i32, 0..count) from `coords` along tile axis `axis`, and the
   validity of the other axes, for a cp.async chunk. */
/* Whether an access of `op` at a block of `loopvar` is checked against the loop's extent
   (so a block past the loop's last reads nothing); contraction_axis as for emit_valid_run. */
bool emit_checks_loop_extent(const Emitter *e, const TirOp *op, int loopvar, int contraction_axis);
LLVMValueRef emit_valid_run(Emitter *e, const TirOp *op, LLVMValueRef const *coords, int axis,
                            int count, int also_valid_axis);

/* emit_dot.c */
void emit_dot(Emitter *e, const TirOp *op);
/* The f32 value a bf16/f16/fp8 register was rounded from (under an optional select against
   0), or NULL: pairs of such registers are rounded by one paired cvt. */
LLVMValueRef emit_rounded_from_f32(Emitter *e, LLVMValueRef v, DType type);
/* A load consumed by cp.async staging: issued here unless a pipelined loop issues it. */
void emit_async_load(Emitter *e, const TirOp *op);
/* Pipelined loops: before the loop, the first num_stages - 1 blocks; at the top of each
   iteration, the block num_stages - 1 ahead. */
void emit_pipeline_prologue(Emitter *e, const TirOp *loop, LLVMValueRef nblocks);
void emit_pipeline_step(Emitter *e, const TirOp *loop, LLVMValueRef block, LLVMValueRef nblocks);
/* Issues the pending prefetch's copy passes up to `upto` of its total (all of them, and the
   commit, when upto >= total); the end of a loop body flushes what is left. */
void emit_pipeline_issue(Emitter *e, int upto);
void emit_pipeline_drain(Emitter *e, const TirOp *loop);
void emit_zero_padding(Emitter *e);

#endif
