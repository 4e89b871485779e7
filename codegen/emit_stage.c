/* emit_stage.c — how dot operands reach shared memory: cp.async copies of loads (pipelined
   num_stages deep across the enclosing loop, or staged once), registers stored K-major (fp8
   transposed there), zero padding of K, and the byte offset of an element in either shared
   layout (padded rows for ldmatrix; 128/64/32-byte swizzled panels for wgmma). The
   instructions that read the tiles are emit_mma_sync.c's and emit_wgmma.c's. */
#include <string.h>

#include "emit.h"

static const OperandPlan *plan_of_load(const Schedule *s, const TirOp *load, const DotPlan **dot,
                                       int *which)
{
    for (int i = 0; i < s->ndots; i++) {
        if (s->dots[i].a.source == OPERAND_ASYNC && s->dots[i].a.load == load) {
            *dot = &s->dots[i];
            *which = 0;
            return &s->dots[i].a;
        }
        if (s->dots[i].b.source == OPERAND_ASYNC && s->dots[i].b.load == load) {
            *dot = &s->dots[i];
            *which = 1;
            return &s->dots[i].b;
        }
    }
    return NULL;
}

/* The shared offset of an operand's slots: a ring's are shared, the others are each tile
   group's own. */
static LLVMValueRef operand_region(Emitter *e, const OperandPlan *o)
{
    return o->per_group ? emit_private_offset(e, o->smem_offset) : emit_i32(e, o->smem_offset);
}

/* Byte offset of byte `byte` of row `row` of an operand tile, inside its slot. */
int emit_tile_offset_const(const OperandPlan *o, int row, int byte)
{
    if (o->layout == SMEM_PADDED)
        return row * o->row_stride + byte;
    int w = o->swizzle, x = row * w + byte % w;
    return byte / w * o->rows * w + (x ^ ((x >> 7) & (w / 16 - 1)) << 4);
}

LLVMValueRef emit_tile_offset(Emitter *e, const OperandPlan *o, LLVMValueRef row, LLVMValueRef byte)
{
    if (o->layout == SMEM_PADDED)
        return LLVMBuildAdd(e->b, LLVMBuildMul(e->b, row, emit_i32(e, o->row_stride), ""), byte, "");
    int w = o->swizzle;
    LLVMValueRef x = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, row, emit_i32(e, w), ""),
                                  LLVMBuildURem(e->b, byte, emit_i32(e, w), ""), "");
    LLVMValueRef bits = LLVMBuildAnd(e->b, LLVMBuildLShr(e->b, x, emit_i32(e, 7), ""),
                                     emit_i32(e, w / 16 - 1), "");
    x = LLVMBuildXor(e->b, x, LLVMBuildShl(e->b, bits, emit_i32(e, 4), ""), "");
    LLVMValueRef panel = LLVMBuildUDiv(e->b, byte, emit_i32(e, w), "");
    return LLVMBuildAdd(e->b, LLVMBuildMul(e->b, panel, emit_i32(e, o->rows * w), ""), x, "");
}

/* Shared memory written by ordinary stores or cp.async that wgmma reads next must be
   fenced into the async proxy by every writing thread before the barrier. */
static void fence_for_wgmma(Emitter *e)
{
    for (int i = 0; i < e->s->ndots; i++)
        if (e->s->dots[i].instr == DOT_WGMMA) {
            nvvm_fence_proxy_async(e->cg);
            return;
        }
}

/* The contraction axis of the load's own tile (before a transpose), or -1 when the dot
   is not masked. */
static int load_k_axis(const DotPlan *p, int which)
{
    if (!p->op->masked)
        return -1;
    int k = which == 0 ? 1 : 0;
    const TirValue *v = p->op->operands[which];
    return v->def && v->def->opcode == TIR_TRANSPOSE ? 1 - k : k;
}

/* Copy passes of one operand tile: pass j moves chunks j*T .. j*T + T - 1. */
int emit_copy_passes(const Emitter *e, const OperandPlan *o)
{
    int total = o->rows * (o->row_bytes / 16), threads = e->copy_threads;
    return (total + threads - 1) / threads;
}

/* cp.async of passes [from, to) of one operand tile into `slot`: thread t copies 16-byte
   chunks t, t + T, ... (8 threads per 128 bytes of a row: coalesced); chunks past the
   tensor's edge read only their valid bytes and zero-fill the rest, so masked lanes read 0
   asynchronously. With `block` set, the loop variable's begin is that block's (a pipelined
   prefetch). When T is a multiple of the chunks per row, a thread's chunk column is the same
   in every pass and its rows step by T / per_row: the shared destination is one opaque base
   register plus a constant per pass (an immediate of cp.async). */
static void issue_copies(Emitter *e, const DotPlan *p, const OperandPlan *o, int which,
                         LLVMValueRef slot, LLVMValueRef block, LLVMValueRef in_range,
                         int from, int to)
{
    const TirOp *load = o->load;
    const TirLoopVar *lv = o->loop ? e->k->loopvars[o->loop->loopvars[0]] : NULL;
    LLVMValueRef saved = lv ? e->lv_begin[lv->id] : NULL;
    bool saved_full = lv && e->lv_full[lv->id];
    if (lv)   /* a prefetch may reach the ragged last block */
        e->lv_full[lv->id] = false;
    if (lv && block)
        e->lv_begin[lv->id] = emit_block_begin(e, lv, block);
    int es = dtype_size(load->results[0]->type.dtype);
    int per_row = o->row_bytes / 16, total = o->rows * per_row, epc = 16 / es;
    int threads = e->copy_threads;
    LLVMValueRef base = LLVMBuildAdd(e->b, operand_region(e, o),
                                     LLVMBuildMul(e->b, slot, emit_i32(e, o->slot_bytes), ""), "");
    /* a fixed chunk column keeps its swizzle when the rows step by a multiple of its period
       of 8 rows */
    bool fixed_column = threads % per_row == 0 &&
                        (o->layout == SMEM_PADDED || (threads / per_row) % 8 == 0);
    LLVMValueRef row0 = NULL, chunk0 = NULL, dst0 = NULL;
    if (fixed_column) {
        row0 = LLVMBuildUDiv(e->b, e->copy_tid, emit_i32(e, per_row), "");
        chunk0 = LLVMBuildURem(e->b, e->copy_tid, emit_i32(e, per_row), "");
        dst0 = nvvm_opaque_i32(e->cg, LLVMBuildAdd(e->b, base,
                   emit_tile_offset(e, o, row0, LLVMBuildShl(e->b, chunk0, emit_i32(e, 4), "")), ""));
    }
    int kaxis = load_k_axis(p, which);
    /* a prefetch past the last block reads nothing when the copies check the loop's
       extent anyway: its begin is at or past it */
    if (in_range && lv && emit_checks_loop_extent(e, load, lv->id, kaxis))
        in_range = NULL;
    for (int j = from; j < to && j * threads < total; j++) {
        LLVMValueRef c = LLVMBuildAdd(e->b, e->copy_tid, emit_i32(e, j * threads), "");
        LLVMBasicBlockRef next = NULL;
        if ((j + 1) * threads > total) {
            LLVMBasicBlockRef doit = codegen_block(e->cg, "copy");
            next = codegen_block(e->cg, "copy.done");
            LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntULT, c, emit_i32(e, total), ""), doit, next);
            LLVMPositionBuilderAtEnd(e->b, doit);
        }
        LLVMValueRef row, chunk, dst;
        if (fixed_column) {
            int drow = j * (threads / per_row);
            row = LLVMBuildAdd(e->b, row0, emit_i32(e, drow), "");
            chunk = chunk0;
            dst = LLVMBuildAdd(e->b, dst0, emit_i32(e, drow * o->row_stride), "");
        } else {
            row = LLVMBuildUDiv(e->b, c, emit_i32(e, per_row), "");
            chunk = LLVMBuildURem(e->b, c, emit_i32(e, per_row), "");
            dst = LLVMBuildAdd(e->b, base,
                      emit_tile_offset(e, o, row, LLVMBuildShl(e->b, chunk, emit_i32(e, 4), "")), "");
        }
        LLVMValueRef coords[2] = {row, LLVMBuildMul(e->b, chunk, emit_i32(e, epc), "")};
        LLVMValueRef run = emit_valid_run(e, load, coords, 1, epc, kaxis);
        if (in_range)
            run = LLVMBuildSelect(e->b, in_range, run, emit_i32(e, 0), "");
        LLVMValueRef src, valid;
        emit_element_address(e, load, coords, &src, &valid);
        /* a chunk with run 0 reads nothing (src-size 0): its address, maybe past the
           tensor, is never dereferenced, so it needs no clamping */
        nvvm_cp_async(e->cg, COPY_CACHE_GLOBAL, 16, emit_smem_at(e, dst), src,
                      LLVMBuildMul(e->b, run, emit_i32(e, es), ""));
        if (next) {
            LLVMBuildBr(e->b, next);
            LLVMPositionBuilderAtEnd(e->b, next);
        }
    }
    if (lv) {
        e->lv_begin[lv->id] = saved;
        e->lv_full[lv->id] = saved_full;
    }
}

/* ---- PIPE_RING: a ring of num_stages slots handed between a producer warpgroup and the
   compute warps by two mbarriers per slot (full, then empty, 8 bytes each). The ring's
   position counts the blocks handed over since the kernel began: block b of a loop entered
   at position p lives in slot (p + b) % stages, in round (p + b) / stages, whose parity
   both sides wait on. */

static LLVMValueRef ring_barrier(Emitter *e, const LoopPlan *lp, bool empty, LLVMValueRef slot)
{
    LLVMValueRef off = LLVMBuildAdd(e->b, emit_i32(e, lp->barriers + (empty ? 8 * lp->stages : 0)),
                                    LLVMBuildMul(e->b, slot, emit_i32(e, 8), ""), "");
    return emit_smem_at(e, off);
}

/* Waits for block `index` (i64, of the current loop) of ring lp: the compute warps for its
   full barrier's round, the producer for the round before on its empty barrier. Sets and
   returns the block's slot. */
static LLVMValueRef ring_wait(Emitter *e, const LoopPlan *lp, LLVMValueRef index, bool producer)
{
    LLVMValueRef pos = LLVMBuildAdd(e->b, e->ring_base[lp->ring],
                                    LLVMBuildTrunc(e->b, index, e->cg->t.i32, ""), "");
    LLVMValueRef slot = LLVMBuildURem(e->b, pos, emit_i32(e, lp->stages), "");
    LLVMValueRef parity = LLVMBuildAnd(e->b, LLVMBuildUDiv(e->b, pos, emit_i32(e, lp->stages), ""),
                                       emit_i32(e, 1), "");
    if (producer)
        parity = LLVMBuildXor(e->b, parity, emit_i32(e, 1), "");
    nvvm_mbarrier_wait(e->cg, ring_barrier(e, lp, producer, slot), parity);
    e->ring_slot[lp->ring] = slot;
    e->ring_at[lp->ring] = pos;
    return slot;
}

/* TMA copies of operand o's tile for the current block into `slot`, one per panel: the
   load's indices (block begins, scalar values, 0 for a whole axis) are the box's corner,
   innermost first; the copy engine zero-fills what lies past the tensor's edge. */
static void issue_tma(Emitter *e, const OperandPlan *o, LLVMValueRef slot, LLVMValueRef bar)
{
    const TirOp *load = o->load;
    const TensorMapSpec *m = &e->s->tmaps[o->tmap];
    int rank = (int)m->rank, es = dtype_size(load->results[0]->type.dtype);
    LLVMValueRef coords[TMAP_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        const TirIndex *x = &load->index[d];
        LLVMValueRef c = emit_i64(e, 0);
        if (x->kind == TIR_IDX_BLOCK)
            c = e->lv_begin[x->loopvar];
        else if (x->kind == TIR_IDX_VALUE)
            c = LLVMBuildSExtOrBitCast(e->b, e->values[tir_index_value(load, d)->id].regs[0],
                                       e->cg->t.i64, "");
        coords[rank - 1 - d] = LLVMBuildTrunc(e->b, c, e->cg->t.i32, "");
    }
    LLVMValueRef base = LLVMBuildAdd(e->b, emit_i32(e, o->smem_offset),
                                     LLVMBuildMul(e->b, slot, emit_i32(e, o->slot_bytes), ""), "");
    LLVMValueRef inner = coords[0];
    for (int p = 0; p < o->row_bytes / o->swizzle; p++) {
        coords[0] = LLVMBuildAdd(e->b, inner, emit_i32(e, p * o->swizzle / es), "");
        LLVMValueRef dst = LLVMBuildAdd(e->b, base, emit_i32(e, p * o->rows * o->swizzle), "");
        nvvm_tma_load(e->cg, emit_smem_at(e, dst), e->tmap[o->tmap], coords, rank, bar);
    }
}

/* After a loop of `total` blocks (i64): the ring's position moves past them. */
static void ring_advance(Emitter *e, const LoopPlan *lp, LLVMValueRef total)
{
    LLVMValueRef pos = LLVMBuildAdd(e->b, e->ring_base[lp->ring],
                                    LLVMBuildTrunc(e->b, total, e->cg->t.i32, ""), "");
    LLVMBuildStore(e->b, pos, e->ring_pos[lp->ring]);
}

void emit_async_load(Emitter *e, const TirOp *op)
{
    const DotPlan *p;
    int which;
    const OperandPlan *o = plan_of_load(e->s, op, &p, &which);
    if (!o) {
        emit_fail(e, "internal: load %%%d has no registers and no staging", op->results[0]->id);
        return;
    }
    if (o->loop)
        return;  /* the pipeline issues it */
    emit_barrier(e);
    issue_copies(e, p, o, which, emit_i32(e, 0), NULL, NULL, 0, emit_copy_passes(e, o));
    nvvm_cp_async_commit(e->cg);
    nvvm_cp_async_wait(e->cg, 0);
    fence_for_wgmma(e);
    emit_barrier(e);
}

/* Passes [from, to) of the copies of every pipelined operand of `loop`, numbered operand
   after operand. */
static int issue_stage_passes(Emitter *e, const TirOp *loop, LLVMValueRef slot, LLVMValueRef block,
                              LLVMValueRef in_range, int from, int to)
{
    int first = 0;
    for (int i = 0; i < e->s->ndots; i++) {
        const DotPlan *p = &e->s->dots[i];
        const OperandPlan *ops[2] = {&p->a, &p->b};
        for (int which = 0; which < 2; which++) {
            const OperandPlan *o = ops[which];
            if (o->source != OPERAND_ASYNC || o->loop != loop)
                continue;
            int n = emit_copy_passes(e, o);
            int lo = from > first ? from - first : 0, hi = to - first < n ? to - first : n;
            if (lo < hi)
                issue_copies(e, p, o, which, slot, block, in_range, lo, hi);
            first += n;
        }
    }
    return first;
}

/* Copies every pipelined operand of `loop` (one commit group). */
static void issue_stage(Emitter *e, const TirOp *loop, LLVMValueRef slot, LLVMValueRef block,
                        LLVMValueRef in_range)
{
    issue_stage_passes(e, loop, slot, block, in_range, 0, 1 << 30);
    nvvm_cp_async_commit(e->cg);
}

void emit_pipeline_prologue(Emitter *e, const TirOp *loop, LLVMValueRef nblocks)
{
    const LoopPlan *lp = schedule_loop(e->s, loop);
    if (lp->kind == PIPE_RING) {   /* the producer fills the ring */
        e->ring_base[lp->ring] = LLVMBuildLoad2(e->b, e->cg->t.i32, e->ring_pos[lp->ring], "");
        return;
    }
    emit_barrier(e);  /* an earlier pass over the ring may still be read */
    for (int s = 0; s < lp->stages - 1; s++) {
        LLVMValueRef in_range = LLVMBuildICmp(e->b, LLVMIntSLT, emit_i64(e, s), nblocks, "");
        issue_stage(e, loop, emit_i32(e, s), emit_i64(e, s), in_range);
    }
}

/* At the top of an iteration: wait for this block's copies, then the prefetch of the block
   num_stages - 1 ahead into the slot every warp finished reading before the barrier. The
   prefetch is left pending: the body's first dot issues it between its k-steps (a prefetch
   issued here would put all its address arithmetic between the barrier and the first mma,
   with every warp of the block doing the same and the tensor cores idle). */
void emit_pipeline_step(Emitter *e, const TirOp *loop, LLVMValueRef block, LLVMValueRef nblocks)
{
    const LoopPlan *lp = schedule_loop(e->s, loop);
    int stages = lp->stages;
    if (lp->kind == PIPE_RING) {
        ring_wait(e, lp, block, false);
        if (!lp->tma)   /* cp.async wrote the slot; wgmma reads it through the async proxy */
            fence_for_wgmma(e);
        return;
    }
    if (stages == 1) {
        emit_barrier(e);
        issue_stage(e, loop, emit_i32(e, 0), block, NULL);
        nvvm_cp_async_wait(e->cg, 0);
        fence_for_wgmma(e);
        emit_barrier(e);
        return;
    }
    nvvm_cp_async_wait(e->cg, stages - 2);
    fence_for_wgmma(e);
    emit_barrier(e);
    LLVMValueRef ahead = LLVMBuildAdd(e->b, block, emit_i64(e, stages - 1), "");
    e->pending.loop = loop;
    e->pending.slot = LLVMBuildURem(e->b, LLVMBuildTrunc(e->b, ahead, e->cg->t.i32, ""),
                                    emit_i32(e, stages), "");
    e->pending.block = ahead;
    e->pending.in_range = LLVMBuildICmp(e->b, LLVMIntSLT, ahead, nblocks, "");
    e->pending.issued = 0;
    e->pending.total = issue_stage_passes(e, loop, NULL, NULL, NULL, 0, 0);
}

void emit_pipeline_issue(Emitter *e, int upto)
{
    struct PendingStage *ps = &e->pending;
    if (!ps->loop)
        return;
    if (upto > ps->total)
        upto = ps->total;
    if (upto > ps->issued)
        issue_stage_passes(e, ps->loop, ps->slot, ps->block, ps->in_range, ps->issued, upto);
    ps->issued = upto;
    if (ps->issued == ps->total) {
        nvvm_cp_async_commit(e->cg);
        ps->loop = NULL;
    }
}

/* Hands slot `pos` % stages (pos i32) back to the producer: one arrival per compute warp,
   when `when` holds. */
static void ring_release(Emitter *e, const LoopPlan *lp, LLVMValueRef pos, LLVMValueRef when)
{
    LLVMValueRef slot = LLVMBuildURem(e->b, pos, emit_i32(e, lp->stages), "");
    LLVMValueRef pred = LLVMBuildICmp(e->b, LLVMIntEQ, e->lane, emit_i32(e, 0), "");
    if (when)
        pred = LLVMBuildAnd(e->b, pred, when, "");
    nvvm_mbarrier_arrive(e->cg, ring_barrier(e, lp, true, slot), pred);
}

void emit_pipeline_drain(Emitter *e, const TirOp *loop, LLVMValueRef nblocks)
{
    const LoopPlan *lp = schedule_loop(e->s, loop);
    if (lp->kind != PIPE_RING) {
        nvvm_cp_async_wait(e->cg, 0);
        return;
    }
    if (lp->deferred >= 0) {
        /* the last block's wgmmas: wait for them (the accumulator is read from here on) and
           release its slot */
        const TirOp *dot = e->s->dots[lp->deferred].op;
        const TirBlock *body = loop->regions[0];
        for (int a = 0; a < body->nargs; a++)
            if (body->args[a] == dot->operands[2]) {
                Tile *t = &e->values[loop->results[a]->id];
                LLVMValueRef *regs = arena_alloc(e->arena, sizeof(LLVMValueRef) * (size_t)t->n);
                memcpy(regs, t->regs, sizeof(LLVMValueRef) * (size_t)t->n);
                nvvm_wgmma_wait(e->cg, 0, regs, t->n);
                t->regs = regs;
            }
        LLVMValueRef last = LLVMBuildAdd(e->b, e->ring_base[lp->ring],
                                         LLVMBuildTrunc(e->b, nblocks, e->cg->t.i32, ""), "");
        last = LLVMBuildSub(e->b, last, emit_i32(e, 1), "");
        ring_release(e, lp, last, LLVMBuildICmp(e->b, LLVMIntSGT, nblocks, emit_i64(e, 0), ""));
    }
    ring_advance(e, lp, nblocks);
}

void emit_pipeline_release(Emitter *e, const TirOp *loop)
{
    const LoopPlan *lp = schedule_loop(e->s, loop);
    if (lp->kind != PIPE_RING)
        return;
    LLVMValueRef pos = e->ring_at[lp->ring];
    if (lp->deferred < 0) {   /* every wgmma of the block has completed: each dot waited */
        ring_release(e, lp, pos, NULL);
        return;
    }
    /* the block's wgmmas run on; the wait before this left only them in flight, so the
       block before is done with its slot */
    LLVMValueRef prev = LLVMBuildAdd(e->b, pos, emit_i32(e, lp->stages - 1), "");
    ring_release(e, lp, prev, LLVMBuildICmp(e->b, LLVMIntNE, pos, e->ring_base[lp->ring], ""));
}

void emit_ring_init(Emitter *e)
{
    LLVMBasicBlockRef init = codegen_block(e->cg, "ring.init");
    LLVMBasicBlockRef done = codegen_block(e->cg, "ring.ready");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntEQ, e->tid, emit_i32(e, 0), ""), init, done);
    LLVMPositionBuilderAtEnd(e->b, init);
    for (int i = 0; i < e->s->nloops; i++) {
        const LoopPlan *lp = &e->s->loops[i];
        if (lp->kind != PIPE_RING)
            continue;
        for (int st = 0; st < lp->stages; st++) {
            /* full: every producer thread arrives when its copies land (cp.async noinc), or
               the one TMA thread arrives expecting the stage's bytes; empty: one arrival per
               compute warp */
            nvvm_mbarrier_init(e->cg, ring_barrier(e, lp, false, emit_i32(e, st)), lp->tma ? 1 : 128);
            nvvm_mbarrier_init(e->cg, ring_barrier(e, lp, true, emit_i32(e, st)), e->s->num_warps);
        }
    }
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, done);
    nvvm_barrier(e->cg);   /* every warp, producer included, sees the initialised barriers */
}

/* The producer's side of a PIPE_RING loop: for each block in order, wait until the compute
   warps have handed its slot back (the previous round's phase of the empty barrier; the
   first round passes at once), copy the block's operand tiles into it and arrive on its full
   barrier when they land. */
void emit_producer_loop(Emitter *e, const TirOp *loop, LLVMValueRef const *counts, LLVMValueRef total)
{
    const LoopPlan *lp = schedule_loop(e->s, loop);
    e->ring_base[lp->ring] = LLVMBuildLoad2(e->b, e->cg->t.i32, e->ring_pos[lp->ring], "");
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(e->b);
    LLVMBasicBlockRef header = codegen_block(e->cg, "produce");
    LLVMBasicBlockRef body = codegen_block(e->cg, "produce.body");
    LLVMBasicBlockRef done = codegen_block(e->cg, "produce.done");
    LLVMBuildBr(e->b, header);
    LLVMPositionBuilderAtEnd(e->b, header);
    LLVMValueRef index = LLVMBuildPhi(e->b, e->cg->t.i64, "b");
    LLVMValueRef zero = emit_i64(e, 0);
    LLVMAddIncoming(index, &zero, &pre, 1);
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, index, total, ""), body, done);
    LLVMPositionBuilderAtEnd(e->b, body);
    LLVMValueRef rest = index;
    for (int i = loop->nvars - 1; i >= 0; i--) {
        const TirLoopVar *lv = e->k->loopvars[loop->loopvars[i]];
        emit_bind_block(e, lv, i ? LLVMBuildSRem(e->b, rest, counts[i], "") : rest);
        if (i)
            rest = LLVMBuildSDiv(e->b, rest, counts[i], "");
    }
    LLVMValueRef slot = ring_wait(e, lp, index, true);
    LLVMValueRef full = ring_barrier(e, lp, false, slot);
    if (lp->tma)
        nvvm_mbarrier_arrive_expect_tx(e->cg, full, LLVMConstInt(e->cg->t.i1, 1, 0), lp->stage_bytes);
    for (int i = 0; i < e->s->ndots; i++) {
        const DotPlan *p = &e->s->dots[i];
        const OperandPlan *ops[2] = {&p->a, &p->b};
        for (int which = 0; which < 2; which++) {
            const OperandPlan *o = ops[which];
            if (o->landing && o->landing->loop == loop)   /* a TMA ring's (plan_landing) */
                issue_tma(e, o->landing, slot, full);
            if (o->source != OPERAND_ASYNC || o->loop != loop)
                continue;
            if (lp->tma)
                issue_tma(e, o, slot, full);
            else
                issue_copies(e, p, o, which, slot, NULL, NULL, 0, emit_copy_passes(e, o));
        }
    }
    if (!lp->tma)
        nvvm_cp_async_mbarrier_arrive(e->cg, full);
    LLVMValueRef next = LLVMBuildAdd(e->b, index, emit_i64(e, 1), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->b);
    LLVMAddIncoming(index, &next, &latch, 1);
    LLVMBuildBr(e->b, header);
    LLVMPositionBuilderAtEnd(e->b, done);
    ring_advance(e, lp, total);
}

/* Staged operands whose K is padded up to the instruction's K keep zeros in the pad. */
void emit_zero_padding(Emitter *e)
{
    bool any = false;
    for (int i = 0; i < e->s->ndots; i++) {
        const DotPlan *p = &e->s->dots[i];
        const OperandPlan *ops[2] = {&p->a, &p->b};
        for (int j = 0; j < 2; j++) {
            const OperandPlan *o = ops[j];
            if (o->source != OPERAND_STAGED || p->kpad == p->k)
                continue;
            int words = o->slots * o->slot_bytes / 4;
            for (int w = 0; w * e->copy_threads < words; w++) {   /* each tile group its copy */
                LLVMValueRef idx = LLVMBuildAdd(e->b, e->copy_tid, emit_i32(e, w * e->copy_threads), "");
                LLVMValueRef safe = LLVMBuildSelect(e->b,
                    LLVMBuildICmp(e->b, LLVMIntULT, idx, emit_i32(e, words), ""), idx, emit_i32(e, 0), "");
                LLVMValueRef off = LLVMBuildAdd(e->b, operand_region(e, o),
                                                LLVMBuildMul(e->b, safe, emit_i32(e, 4), ""), "");
                LLVMBuildStore(e->b, emit_i32(e, 0), emit_smem_at(e, off));
            }
            any = true;
        }
    }
    if (any)
        emit_barrier(e);
}

/* Physical byte column of logical k in an fp8 B tile that pairs with A fragments taken from
   accumulator registers: thread t's bytes 4t..4t+3 hold k = 2t, 2t+1, 2t+8, 2t+9 (and +16
   for the second register), the columns the accumulator gives thread t:
   column = 16(k/16) + 4((k%8)/2) + k%2 + 2((k%16)/8). */
static LLVMValueRef permuted_k_value(Emitter *e, LLVMValueRef k)
{
    LLVMValueRef in = LLVMBuildAnd(e->b, k, emit_i32(e, 15), "");
    LLVMValueRef hi = LLVMBuildAnd(e->b, k, emit_i32(e, ~15), "");
    LLVMValueRef t = LLVMBuildShl(e->b, LLVMBuildLShr(e->b, LLVMBuildAnd(e->b, in, emit_i32(e, 7), ""),
                                                      emit_i32(e, 1), ""), emit_i32(e, 2), "");
    LLVMValueRef lo = LLVMBuildAnd(e->b, in, emit_i32(e, 1), "");
    LLVMValueRef half = LLVMBuildShl(e->b, LLVMBuildLShr(e->b, in, emit_i32(e, 3), ""), emit_i32(e, 1), "");
    return LLVMBuildAdd(e->b, hi, LLVMBuildAdd(e->b, t, LLVMBuildAdd(e->b, lo, half, ""), ""), "");
}

LLVMValueRef emit_element_bits(Emitter *e, LLVMValueRef v, DType t)
{
    if (dtype_size(t) == 1)   /* fp8 and i8 registers are their bytes */
        return v;
    return LLVMBuildBitCast(e->b, v, t == DT_F32 ? e->cg->t.i32 : e->cg->t.i16, "");
}

/* The register bits of a B tile's layout that step k by 1 and by 8, when every other step
   along k is 2, 4 or a multiple of 16 (layout_fp8_staging's): then registers r, r + bit1,
   r + bit8, r + both hold k, k + 1, k + 8, k + 9 with k % 16 in {0, 2, 4, 6}, one 32-bit word
   of the permuted K-major row. False for other layouts. */
static bool packable_k_bits(const Layout *l, int *bit1, int *bit8)
{
    *bit1 = *bit8 = -1;
    for (int i = 0; i < l->nreg; i++) {
        int k = l->reg[i][0];
        if (k == 1 || k == 8)
            *(k == 1 ? bit1 : bit8) = i;
        else if (k && k != 2 && k != 4 && k % 16)
            return false;
    }
    for (int i = 0; i < 5; i++)
        if (l->lane[i][0] && l->lane[i][0] != 2 && l->lane[i][0] != 4 && l->lane[i][0] % 16)
            return false;
    for (int i = 0; i < l->nwarp; i++)
        if (l->warp[i][0] && l->warp[i][0] != 2 && l->warp[i][0] != 4 && l->warp[i][0] % 16)
            return false;
    return *bit1 >= 0 && *bit8 >= 0;
}

/* An fp8 B tile staged with permuted K in 32-bit words (packable_k_bits): byte j of each
   word is k + {0, 1, 8, 9}[j], each masked on its own. */
static void stage_fp8_words(Emitter *e, const DotPlan *p, const OperandPlan *o, const Tile *tile,
                            Axis k_axis, int bit1, int bit8)
{
    static const int dk[4] = {0, 1, 8, 9};
    for (int r = 0; r < tile->n; r++) {
        if (r >> bit1 & 1 || r >> bit8 & 1)
            continue;
        int regs[4] = {r, r | 1 << bit1, r | 1 << bit8, r | 1 << bit1 | 1 << bit8};
        LLVMValueRef k = emit_coord(e, tile->layout, r, 0), mn = emit_coord(e, tile->layout, r, 1);
        LLVMValueRef word = emit_i32(e, 0);
        for (int j = 0; j < 4; j++) {
            LLVMValueRef v = LLVMBuildZExt(e->b, tile->regs[regs[j]], e->cg->t.i32, "");
            if (p->op->masked)
                v = LLVMBuildSelect(e->b, emit_axis_valid(e, k_axis, LLVMBuildAdd(e->b, k, emit_i32(e, dk[j]), "")),
                                    v, emit_i32(e, 0), "");
            word = LLVMBuildOr(e->b, word, LLVMBuildShl(e->b, v, emit_i32(e, 8 * j), ""), "");
        }
        LLVMValueRef off = LLVMBuildAdd(e->b, operand_region(e, o),
                                        emit_tile_offset(e, o, mn, permuted_k_value(e, k)), "");
        LLVMValueRef st = LLVMBuildStore(e->b, word, emit_smem_at(e, off));
        LLVMSetAlignment(st, 4);
    }
}

/* Registers of an operand tile (any layout) stored K-major into its shared buffer; masked
   contraction lanes as 0. */
void emit_stage_registers(Emitter *e, const DotPlan *p, const OperandPlan *o, int which,
                            const Tile *tile, DType t, Axis k_axis)
{
    int es = dtype_size(t), bit1, bit8;
    emit_barrier(e);
    if (which == 1 && es == 1 && o->permute_k && packable_k_bits(tile->layout, &bit1, &bit8)) {
        stage_fp8_words(e, p, o, tile, k_axis, bit1, bit8);
        fence_for_wgmma(e);
        emit_barrier(e);
        return;
    }
    for (int r = 0; r < tile->n; r++) {
        LLVMValueRef c0 = emit_coord(e, tile->layout, r, 0), c1 = emit_coord(e, tile->layout, r, 1);
        LLVMValueRef mn = which == 0 ? c0 : c1, k = which == 0 ? c1 : c0;
        LLVMValueRef v = emit_element_bits(e, tile->regs[r], t);
        if (p->op->masked)
            v = LLVMBuildSelect(e->b, emit_axis_valid(e, k_axis, k), v, LLVMConstNull(LLVMTypeOf(v)), "");
        LLVMValueRef col = o->permute_k ? permuted_k_value(e, k) : k;
        LLVMValueRef off = LLVMBuildAdd(e->b, operand_region(e, o),
                               emit_tile_offset(e, o, mn, LLVMBuildMul(e->b, col, emit_i32(e, es), "")), "");
        LLVMBuildStore(e->b, v, emit_smem_at(e, off));
    }
    fence_for_wgmma(e);
    emit_barrier(e);
}

/* The slot a pipelined operand reads in this iteration. */
LLVMValueRef emit_operand_slot(Emitter *e, const OperandPlan *o)
{
    LLVMValueRef slot = emit_i32(e, 0);
    const LoopPlan *lp = o->source == OPERAND_ASYNC && o->loop ? schedule_loop(e->s, o->loop) : NULL;
    if (lp && lp->kind == PIPE_RING) {
        slot = e->ring_slot[lp->ring];
    } else if (o->source == OPERAND_ASYNC && o->loop && o->slots > 1) {
        const TirLoopVar *lv = e->k->loopvars[o->loop->loopvars[0]];
        slot = LLVMBuildURem(e->b, LLVMBuildTrunc(e->b, e->lv_block[lv->id], e->cg->t.i32, ""),
                             emit_i32(e, o->slots), "");
    }
    return LLVMBuildAdd(e->b, operand_region(e, o),
                        LLVMBuildMul(e->b, slot, emit_i32(e, o->slot_bytes), ""), "");
}

