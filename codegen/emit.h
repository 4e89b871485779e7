/* emit.h — the emitter's private state, shared by emit.c (kernel, loops, elementwise,
   reductions, layout conversions), emit_memory.c (global loads, stores, atomics), emit_dot.c
   (dots and their epilogues), emit_stage.c (operands to shared memory, cp.async pipelines)
   and the instruction emitters emit_mma_sync.c and emit_wgmma.c. */
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
    bool *staged_early;         /* per Schedule.dots entry x 2 (a, b): staged before its loop */
    LLVMValueRef *tensor_base;  /* per param: ptr addrspace(1) */
    LLVMValueRef **strides;     /* per param: i64 per dim */
    LLVMValueRef *scalar;       /* per param: the scalar argument */
    LLVMValueRef *sym;          /* per sym: i64 */
    LLVMValueRef *tmap;         /* per Schedule.tmaps: the tensor map parameter (ptr) */
    LLVMValueRef *lv_begin;     /* per loopvar: i64 begin of the current block */
    LLVMValueRef *lv_extent;    /* per loopvar: i64 extent */
    LLVMValueRef *lv_start;     /* per loopvar: i64 start of a tile(lo, hi) range; NULL: 0 */
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
    LLVMValueRef tid, lane, smem;
    LLVMValueRef warp;          /* the warp within its tile group: what layouts index */
    LLVMValueRef group;         /* the tile group of a compute thread (0 with one group) */
    LLVMValueRef group_shift;   /* group * Schedule.private_bytes: its private smem copy */
    /* cp.async copies are spread over copy_threads threads, this one being copy_tid: every
       compute thread, or the producer warpgroup's threads when warp-specialised */
    LLVMValueRef copy_tid;
    int copy_threads;
    bool producer;              /* emitting the producer warpgroup's role */
    LLVMValueRef *ring_pos;     /* per ring: an i32 alloca, the ring's position (its blocks
                                   handed over so far; mem2reg makes it a phi) */
    LLVMValueRef *ring_base;    /* per ring: the position at the current loop's first block */
    LLVMValueRef *ring_slot;    /* per ring: the slot of the current block (i32) */
    LLVMValueRef *ring_at;      /* per ring: the position of the current block (i32) */
    /* Tile groups take turns at the ring (emit_grid): a group's first ring loop of a tile
       waits for the other group's last ring loop of the tile before, whose end lets it go. */
    const TirOp *turn_first, *turn_last;   /* those loops in the grid body, or NULL */
    LLVMValueRef turn_wait;     /* i1: the current tile waits its turn (not the block's first) */
    LLVMValueRef turn_pass;     /* i1: a tile follows the current one (the other group's) */
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
/* Register r of layout `to` in a tile whose layout is `to` with the axes not in `keep`
   projected or sliced away (their register bits removed). */
int emit_projected_register(const Layout *to, const bool *keep, int r);
Tile emit_tile_new(Emitter *e, const Layout *l);
void emit_block(Emitter *e, const TirBlock *b);
/* Emits a dot region with its argument bound to `arg`; returns the yielded tile in `want`. */
Tile emit_region(Emitter *e, const TirBlock *region, Tile arg, const Layout *want);
LLVMValueRef emit_to_f32(Emitter *e, LLVMValueRef x, DType t);
LLVMValueRef emit_from_f32(Emitter *e, LLVMValueRef x, DType t);
/* i1: lane `coord` of tile axis `axis` is valid (its index is below the loop's extent, or
   below the full axis's real size). */
LLVMValueRef emit_axis_valid(Emitter *e, Axis axis, LLVMValueRef coord);
/* bar.sync among the compute threads: every thread, or named barrier 1 of the compute warps
   when a producer warpgroup runs beside them. */
void emit_barrier(Emitter *e);
/* The block index `block` (i64) of loop variable lv: its begin and block. */
void emit_bind_block(Emitter *e, const TirLoopVar *lv, LLVMValueRef block);
/* cdiv(extent, block) of loop variable lv, at least 0 (i64). */
LLVMValueRef emit_count_blocks(Emitter *e, const TirLoopVar *lv, LLVMValueRef extent);
/* The i64 index of block `block` of lv: its start (0 unless a range) + block * BLOCK. */
LLVMValueRef emit_block_begin(Emitter *e, const TirLoopVar *lv, LLVMValueRef block);
/* The shared offset (i32) of private region offset `offset` (scratch, operand tiles
   outside rings) for this thread's tile group. */
LLVMValueRef emit_private_offset(Emitter *e, int offset);
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
/* The A fragment (four i32) of 16-row block mi, k-step ks, packed from an accumulator-layout
   tile `t` of `type` (attention's P). */
void emit_fragment_a(Emitter *e, const DotPlan *p, const Tile *t, DType type, int mi, int ks,
                     LLVMValueRef a[4]);

/* emit_mma_sync.c, emit_wgmma.c: one dot's k-steps, c[] (the accumulator registers in the
   plan's layout) updated in place; a_regs is the A tile of a FRAGMENT operand. */
void emit_mma_sync_steps(Emitter *e, const DotPlan *p, const Tile *a_regs, LLVMValueRef *c);
void emit_wgmma_steps(Emitter *e, const DotPlan *p, const Tile *a_regs, LLVMValueRef *c);

/* emit_stage.c */
/* Byte offset of (row, byte) of an operand tile inside its slot, in the plan's layout. */
int emit_tile_offset_const(const OperandPlan *o, int row, int byte);
LLVMValueRef emit_tile_offset(Emitter *e, const OperandPlan *o, LLVMValueRef row, LLVMValueRef byte);
/* Copy passes of one cp.async-staged operand tile (chunks of 16 bytes over the threads). */
int emit_copy_passes(const Emitter *e, const OperandPlan *o);
/* The shared offset (i32) of the slot an operand reads in this iteration. */
LLVMValueRef emit_operand_slot(Emitter *e, const OperandPlan *o);
/* A bf16/f16 register as i16 bits (fp8 registers are i8 already). */
LLVMValueRef emit_element_bits(Emitter *e, LLVMValueRef v, DType t);
/* Registers of an operand tile (any layout) stored K-major into its shared tile between two
   barriers; masked contraction lanes as 0. */
/* Stages, before a sequential loop, the staged operands of the dots of its body that are
   defined before the loop (emit_dot then skips them). */
void emit_stage_invariant_operands(Emitter *e, const TirOp *loop);
void emit_stage_registers(Emitter *e, const DotPlan *p, const OperandPlan *o, int which,
                          const Tile *tile, DType t, Axis k_axis);
/* A load consumed by cp.async staging: issued here unless a pipelined loop issues it. */
void emit_async_load(Emitter *e, const TirOp *op);
/* Pipelined loops: before the loop, the first num_stages - 1 blocks; at the top of each
   iteration, the block num_stages - 1 ahead. */
void emit_pipeline_prologue(Emitter *e, const TirOp *loop, LLVMValueRef nblocks);
void emit_pipeline_step(Emitter *e, const TirOp *loop, LLVMValueRef block, LLVMValueRef nblocks);
/* Issues the pending prefetch's copy passes up to `upto` of its total (all of them, and the
   commit, when upto >= total); the end of a loop body flushes what is left. */
void emit_pipeline_issue(Emitter *e, int upto);
void emit_pipeline_drain(Emitter *e, const TirOp *loop, LLVMValueRef nblocks);
/* PIPE_RING: the end of an iteration hands the block's slot back to the producer. */
void emit_pipeline_release(Emitter *e, const TirOp *loop);
/* Warp specialisation: the mbarriers' initialisation (before the roles split), and the
   producer's copies of one pipelined loop of the grid's body (its blocks in order). */
void emit_ring_init(Emitter *e);
void emit_producer_loop(Emitter *e, const TirOp *loop, LLVMValueRef const *counts, LLVMValueRef total);
void emit_zero_padding(Emitter *e);

#endif
