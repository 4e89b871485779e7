/* emit_dot.c — `dot` on tensor cores: operands staged in padded shared memory (cp.async
   copies pipelined num_stages deep across the enclosing loop, or registers stored K-major,
   fp8 transposed there), read with ldmatrix (.trans for 16-bit M/N-major tiles), or taken
   from another dot's accumulator registers (attention's P); mma.sync m16n8k16 / m16n8k32;
   prologues on the operand tiles, epilogues on the accumulator in registers. */
#include <string.h>

#include "emit.h"

static int slot_bytes(const OperandPlan *o)
{
    return o->rows * o->row_stride;
}

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
static int copy_passes(const Emitter *e, const OperandPlan *o)
{
    int total = o->rows * (o->row_bytes / 16), threads = e->s->num_threads;
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
        e->lv_begin[lv->id] = LLVMBuildMul(e->b, block,
                                           emit_i64(e, tir_loopvar_block(e->k, lv, e->s->variant->config)), "");
    int es = dtype_size(load->results[0]->type.dtype);
    int per_row = o->row_bytes / 16, total = o->rows * per_row, epc = 16 / es;
    int threads = e->s->num_threads;
    LLVMValueRef base = LLVMBuildAdd(e->b, emit_i32(e, o->smem_offset),
                                     LLVMBuildMul(e->b, slot, emit_i32(e, slot_bytes(o)), ""), "");
    bool fixed_column = threads % per_row == 0;
    LLVMValueRef row0 = NULL, chunk0 = NULL, dst0 = NULL;
    if (fixed_column) {
        row0 = LLVMBuildUDiv(e->b, e->tid, emit_i32(e, per_row), "");
        chunk0 = LLVMBuildURem(e->b, e->tid, emit_i32(e, per_row), "");
        dst0 = nvvm_opaque_i32(e->cg, LLVMBuildAdd(e->b, base, LLVMBuildAdd(e->b,
                   LLVMBuildMul(e->b, row0, emit_i32(e, o->row_stride), ""),
                   LLVMBuildShl(e->b, chunk0, emit_i32(e, 4), ""), ""), ""));
    }
    int kaxis = load_k_axis(p, which);
    /* a prefetch past the last block reads nothing when the copies check the loop's
       extent anyway: its begin is at or past it */
    if (in_range && lv && emit_checks_loop_extent(e, load, lv->id, kaxis))
        in_range = NULL;
    for (int j = from; j < to && j * threads < total; j++) {
        LLVMValueRef c = LLVMBuildAdd(e->b, e->tid, emit_i32(e, j * threads), "");
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
            dst = LLVMBuildAdd(e->b, base, LLVMBuildAdd(e->b,
                      LLVMBuildMul(e->b, row, emit_i32(e, o->row_stride), ""),
                      LLVMBuildShl(e->b, chunk, emit_i32(e, 4), ""), ""), "");
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
    nvvm_barrier(e->cg);
    issue_copies(e, p, o, which, emit_i32(e, 0), NULL, NULL, 0, copy_passes(e, o));
    nvvm_cp_async_commit(e->cg);
    nvvm_cp_async_wait(e->cg, 0);
    nvvm_barrier(e->cg);
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
            int n = copy_passes(e, o);
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
    nvvm_barrier(e->cg);  /* an earlier pass over the ring may still be read */
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
    if (stages == 1) {
        nvvm_barrier(e->cg);
        issue_stage(e, loop, emit_i32(e, 0), block, NULL);
        nvvm_cp_async_wait(e->cg, 0);
        nvvm_barrier(e->cg);
        return;
    }
    nvvm_cp_async_wait(e->cg, stages - 2);
    nvvm_barrier(e->cg);
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

void emit_pipeline_drain(Emitter *e, const TirOp *loop)
{
    (void)loop;
    nvvm_cp_async_wait(e->cg, 0);
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
            int words = o->slots * slot_bytes(o) / 4;
            for (int w = 0; w * e->s->num_threads < words; w++) {
                LLVMValueRef idx = LLVMBuildAdd(e->b, e->tid, emit_i32(e, w * e->s->num_threads), "");
                LLVMValueRef safe = LLVMBuildSelect(e->b,
                    LLVMBuildICmp(e->b, LLVMIntULT, idx, emit_i32(e, words), ""), idx, emit_i32(e, 0), "");
                LLVMValueRef off = LLVMBuildAdd(e->b, emit_i32(e, o->smem_offset),
                                                LLVMBuildMul(e->b, safe, emit_i32(e, 4), ""), "");
                LLVMBuildStore(e->b, emit_i32(e, 0), emit_smem_at(e, off));
            }
            any = true;
        }
    }
    if (any)
        nvvm_barrier(e->cg);
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

static LLVMValueRef element_bits(Emitter *e, LLVMValueRef v, DType t)
{
    if (dtype_is_fp8(t))
        return v;
    return LLVMBuildBitCast(e->b, v, e->cg->t.i16, "");
}

/* Registers of an operand tile (any layout) stored K-major into its shared buffer; masked
   contraction lanes as 0. */
static void stage_registers(Emitter *e, const DotPlan *p, const OperandPlan *o, int which,
                            const Tile *tile, DType t, Axis k_axis)
{
    int es = dtype_size(t);
    nvvm_barrier(e->cg);
    LLVMValueRef zero = dtype_is_fp8(t) ? LLVMConstInt(e->cg->t.i8, 0, 0) : LLVMConstInt(e->cg->t.i16, 0, 0);
    for (int r = 0; r < tile->n; r++) {
        LLVMValueRef c0 = emit_coord(e, tile->layout, r, 0), c1 = emit_coord(e, tile->layout, r, 1);
        LLVMValueRef mn = which == 0 ? c0 : c1, k = which == 0 ? c1 : c0;
        LLVMValueRef v = element_bits(e, tile->regs[r], t);
        if (p->op->masked)
            v = LLVMBuildSelect(e->b, emit_axis_valid(e, k_axis, k), v, zero, "");
        LLVMValueRef col = o->permute_k ? permuted_k_value(e, k) : k;
        LLVMValueRef off = LLVMBuildAdd(e->b, emit_i32(e, o->smem_offset),
                               LLVMBuildAdd(e->b, LLVMBuildMul(e->b, mn, emit_i32(e, o->row_stride), ""),
                                            LLVMBuildMul(e->b, col, emit_i32(e, es), ""), ""), "");
        LLVMBuildStore(e->b, v, emit_smem_at(e, off));
    }
    nvvm_barrier(e->cg);
}

static LLVMValueRef pack16(Emitter *e, LLVMValueRef lo, LLVMValueRef hi)
{
    LLVMValueRef l = LLVMBuildZExt(e->b, lo, e->cg->t.i32, "");
    LLVMValueRef h = LLVMBuildZExt(e->b, hi, e->cg->t.i32, "");
    return LLVMBuildOr(e->b, l, LLVMBuildShl(e->b, h, emit_i32(e, 16), ""), "");
}

static LLVMValueRef pack8x4(Emitter *e, LLVMValueRef const *b)
{
    LLVMValueRef w = emit_i32(e, 0);
    for (int i = 0; i < 4; i++)
        w = LLVMBuildOr(e->b, w, LLVMBuildShl(e->b, LLVMBuildZExt(e->b, b[i], e->cg->t.i32, ""),
                                             emit_i32(e, 8 * i), ""), "");
    return w;
}

/* The f32 value a register of `type` was rounded from (fptrunc to bf16/f16, the fp8 pack
   with a zero partner, either under a select against 0), or NULL: pairs of such registers
   are rounded together by one cvt.rn.{bf16,f16,e4m3,e5m2}x2 instead of one cvt per element
   and integer packing. The rounding is the same instruction's, so the bits are too. */
LLVMValueRef emit_rounded_from_f32(Emitter *e, LLVMValueRef v, DType type)
{
    if (!LLVMIsAInstruction(v))
        return NULL;
    LLVMOpcode opc = LLVMGetInstructionOpcode(v);
    if (opc == LLVMSelect) {
        LLVMValueRef zero = LLVMGetOperand(v, 2);
        if (!LLVMIsAConstant(zero) || !LLVMIsNull(zero))
            return NULL;
        LLVMValueRef x = emit_rounded_from_f32(e, LLVMGetOperand(v, 1), type);
        if (!x)
            return NULL;
        return LLVMBuildSelect(e->b, LLVMGetOperand(v, 0), x, LLVMConstReal(e->cg->t.f32, 0), "");
    }
    if (!dtype_is_fp8(type)) {
        if (opc != LLVMFPTrunc)
            return NULL;
        LLVMValueRef x = LLVMGetOperand(v, 0);
        return LLVMTypeOf(x) == e->cg->t.f32 ? x : NULL;
    }
    if (opc != LLVMTrunc)
        return NULL;
    LLVMValueRef call = LLVMGetOperand(v, 0);
    if (!LLVMIsACallInst(call) || LLVMGetNumArgOperands(call) != 2)
        return NULL;
    LLVMValueRef hi = LLVMGetOperand(call, 0), lo = LLVMGetOperand(call, 1);
    LLVMValueRef callee = LLVMGetCalledValue(call);
    size_t len = 0;
    const char *name = callee ? LLVMGetValueName2(callee, &len) : "";
    char want[48];
    snprintf(want, sizeof want, "llvm.nvvm.ff.to.%sx2.rn", type == DT_F8E4M3 ? "e4m3" : "e5m2");
    if (strcmp(name, want) != 0 || !LLVMIsAConstantFP(hi) || !LLVMIsNull(hi) || LLVMTypeOf(lo) != e->cg->t.f32)
        return NULL;
    return lo;
}

/* Two 16-bit registers packed into an i32 (lo in bits 0-15), by one paired rounding when
   both came from f32. */
static LLVMValueRef pack_pair16(Emitter *e, LLVMValueRef lo, LLVMValueRef hi, DType type)
{
    LLVMValueRef flo = emit_rounded_from_f32(e, lo, type), fhi = flo ? emit_rounded_from_f32(e, hi, type) : NULL;
    if (!flo || !fhi)
        return pack16(e, element_bits(e, lo, type), element_bits(e, hi, type));
    if (type == DT_BF16)
        return nvvm_pack_bf16x2(e->cg, flo, fhi);
    LLVMTypeRef v2f = LLVMVectorType(e->cg->t.f32, 2);
    LLVMValueRef v = LLVMGetUndef(v2f);
    v = LLVMBuildInsertElement(e->b, v, flo, emit_i32(e, 0), "");
    v = LLVMBuildInsertElement(e->b, v, fhi, emit_i32(e, 1), "");
    return LLVMBuildBitCast(e->b, LLVMBuildFPTrunc(e->b, v, e->cg->t.half2, ""), e->cg->t.i32, "");
}

/* Four fp8 registers packed into an i32 (b[0] in bits 0-7), two cvt.rn.satfinite x2 when all
   came from f32. */
static LLVMValueRef pack_quad8(Emitter *e, LLVMValueRef const *b, DType type)
{
    LLVMValueRef f[4];
    for (int i = 0; i < 4; i++) {
        f[i] = emit_rounded_from_f32(e, b[i], type);
        if (!f[i])
            return pack8x4(e, b);
    }
    LLVMValueRef lo = LLVMBuildZExt(e->b, nvvm_pack_fp8x2(e->cg, type, f[0], f[1]), e->cg->t.i32, "");
    LLVMValueRef hi = LLVMBuildZExt(e->b, nvvm_pack_fp8x2(e->cg, type, f[2], f[3]), e->cg->t.i32, "");
    return LLVMBuildOr(e->b, lo, LLVMBuildShl(e->b, hi, emit_i32(e, 16), ""), "");
}

/* The A fragment of 16-row block mi and k-step ks from an accumulator-layout tile (wn = 1,
   so the warp holds every column: register e + 2h + 4(nj + NJ·mi)). */
static void fragment_a(Emitter *e, const DotPlan *p, const Tile *t, DType type, int mi, int ks,
                       LLVMValueRef a[4])
{
    int nj_src = p->k / 8;
    LLVMValueRef zero = dtype_is_fp8(type) ? LLVMConstInt(e->cg->t.i8, 0, 0) : LLVMConstInt(e->cg->t.i16, 0, 0);
#define P(h, nj, x) ((nj) < nj_src ? t->regs[(x) + 2 * (h) + 4 * ((nj) + nj_src * mi)] : zero)
    if (!dtype_is_fp8(type)) {
        for (int i = 0; i < 4; i++) {
            int h = i & 1, nj = 2 * ks + (i >> 1);
            a[i] = pack_pair16(e, P(h, nj, 0), P(h, nj, 1), type);
        }
        return;
    }
    for (int i = 0; i < 4; i++) {
        int h = i & 1, nj = 4 * ks + 2 * (i >> 1);
        LLVMValueRef bytes[4] = {P(h, nj, 0), P(h, nj, 1), P(h, nj + 1, 0), P(h, nj + 1, 1)};
        a[i] = pack_quad8(e, bytes, type);
    }
#undef P
}

/* The A fragment of row block mi at k-step ks: an ldmatrix, or packed from registers. */
static void a_fragment(Emitter *e, const DotPlan *p, const Tile *a_regs, LLVMValueRef a_base,
                       int mi, int ks, LLVMValueRef a[4])
{
    if (p->a.source == OPERAND_FRAGMENT) {
        fragment_a(e, p, a_regs, p->a_type, mi, ks, a);
        return;
    }
    int off = p->a.k_major ? mi * 16 * p->a.row_stride + ks * 32
                           : ks * 16 * p->a.row_stride + mi * 16 * dtype_size(p->a_type);
    nvvm_ldmatrix(e->cg, 4, !p->a.k_major, emit_smem_at(e, LLVMBuildAdd(e->b, a_base, emit_i32(e, off), "")), a);
}

/* Per-lane ldmatrix offsets (bytes, within a slot) for the warp's first block; the others
   are constants away, so one register per operand serves every (mi, nj, ks). */
static LLVMValueRef lane_offset(Emitter *e, const DotPlan *p, const OperandPlan *o, int which,
                                LLVMValueRef wm, LLVMValueRef wn, int es)
{
    LLVMValueRef l = e->lane;
    LLVMValueRef l7 = LLVMBuildAnd(e->b, l, emit_i32(e, 7), "");
    LLVMValueRef bit3 = LLVMBuildAnd(e->b, LLVMBuildLShr(e->b, l, emit_i32(e, 3), ""), emit_i32(e, 1), "");
    LLVMValueRef bit4 = LLVMBuildAnd(e->b, LLVMBuildLShr(e->b, l, emit_i32(e, 4), ""), emit_i32(e, 1), "");
    LLVMValueRef row, col;
    if (which == 0) {
        LLVMValueRef m0 = LLVMBuildMul(e->b, wm, emit_i32(e, 16 * p->mi), "");
        if (o->k_major) {
            row = LLVMBuildAdd(e->b, m0, LLVMBuildAnd(e->b, l, emit_i32(e, 15), ""), "");
            col = LLVMBuildMul(e->b, bit4, emit_i32(e, 16), "");
        } else {
            row = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, bit4, emit_i32(e, 8), ""), l7, "");
            col = LLVMBuildMul(e->b, LLVMBuildAdd(e->b, m0, LLVMBuildMul(e->b, bit3, emit_i32(e, 8), ""), ""),
                               emit_i32(e, es), "");
        }
    } else {
        LLVMValueRef n0 = LLVMBuildMul(e->b, wn, emit_i32(e, 8 * p->nj), "");
        if (o->k_major) {
            row = LLVMBuildAdd(e->b, n0, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, bit4, emit_i32(e, 8), ""), l7, ""), "");
            col = LLVMBuildMul(e->b, bit3, emit_i32(e, 16), "");
        } else {
            row = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, bit3, emit_i32(e, 8), ""), l7, "");
            col = LLVMBuildMul(e->b, LLVMBuildAdd(e->b, n0, LLVMBuildMul(e->b, bit4, emit_i32(e, 8), ""), ""),
                               emit_i32(e, es), "");
        }
    }
    return LLVMBuildAdd(e->b, LLVMBuildMul(e->b, row, emit_i32(e, o->row_stride), ""), col, "");
}

/* The slot a pipelined operand reads in this iteration. */
static LLVMValueRef operand_base(Emitter *e, const OperandPlan *o)
{
    LLVMValueRef slot = emit_i32(e, 0);
    if (o->source == OPERAND_ASYNC && o->loop && o->slots > 1) {
        const TirLoopVar *lv = e->k->loopvars[o->loop->loopvars[0]];
        slot = LLVMBuildURem(e->b, LLVMBuildTrunc(e->b, e->lv_block[lv->id], e->cg->t.i32, ""),
                             emit_i32(e, o->slots), "");
    }
    return LLVMBuildAdd(e->b, emit_i32(e, o->smem_offset),
                        LLVMBuildMul(e->b, slot, emit_i32(e, slot_bytes(o)), ""), "");
}

static Tile operand_tile(Emitter *e, const TirOp *op, int which)
{
    const TirValue *v = op->operands[which];
    const Tile *in = &e->values[v->id];
    const TirBlock *pro = op->regions[which];
    if (!pro)
        return *in;
    /* the prologue runs in its argument's layout (scratch_for reserves the conversions) */
    const Layout *arg = e->s->layouts[pro->args[0]->id];
    return emit_region(e, pro, arg ? emit_fetch(e, v, arg) : *in, in->layout);
}

void emit_dot(Emitter *e, const TirOp *op)
{
    const DotPlan *p = schedule_dot(e->s, op);
    int wn_bits = 0;
    while ((1 << wn_bits) < p->wn)
        wn_bits++;
    LLVMValueRef wn = LLVMBuildAnd(e->b, e->warp, emit_i32(e, p->wn - 1), "");
    LLVMValueRef wm = LLVMBuildAnd(e->b, LLVMBuildLShr(e->b, e->warp, emit_i32(e, wn_bits), ""),
                                   emit_i32(e, p->wm - 1), "");
    Tile acc = emit_fetch(e, op->operands[2], &p->acc);
    LLVMValueRef *c = arena_alloc(e->arena, sizeof(LLVMValueRef) * (size_t)acc.n);
    memcpy(c, acc.regs, sizeof(LLVMValueRef) * (size_t)acc.n);

    Tile a_regs = {0};
    LLVMValueRef a_base = NULL, b_base = NULL;
    const TirValue *av = op->operands[0], *bv = op->operands[1];
    if (p->a.source == OPERAND_FRAGMENT) {
        a_regs = operand_tile(e, op, 0);
        if (op->masked) {
            LLVMValueRef zero = dtype_is_fp8(p->a_type) ? LLVMConstInt(e->cg->t.i8, 0, 0)
                                                        : LLVMConstReal(emit_type(e, p->a_type), 0);
            Tile z = emit_tile_new(e, a_regs.layout);
            for (int r = 0; r < z.n; r++)
                z.regs[r] = LLVMBuildSelect(e->b, emit_axis_valid(e, av->type.axes[1],
                                                                  emit_coord(e, a_regs.layout, r, 1)),
                                            a_regs.regs[r], zero, "");
            a_regs = z;
        }
    } else if (p->a.source == OPERAND_STAGED) {
        Tile t = operand_tile(e, op, 0);
        stage_registers(e, p, &p->a, 0, &t, p->a_type, av->type.axes[1]);
    }
    if (p->b.source == OPERAND_STAGED) {
        Tile t = operand_tile(e, op, 1);
        stage_registers(e, p, &p->b, 1, &t, p->b_type, bv->type.axes[0]);
    }
    /* one opaque base register per operand: every (mi, nj, ks) is a constant offset from it
       (folded into ldmatrix's immediate) */
    if (p->a.source != OPERAND_FRAGMENT)
        a_base = nvvm_opaque_i32(e->cg, LLVMBuildAdd(e->b, operand_base(e, &p->a),
                                 lane_offset(e, p, &p->a, 0, wm, wn, dtype_size(p->a_type)), ""));
    b_base = nvvm_opaque_i32(e->cg, LLVMBuildAdd(e->b, operand_base(e, &p->b),
                             lane_offset(e, p, &p->b, 1, wm, wn, dtype_size(p->b_type)), ""));

    int esb = dtype_size(p->b_type);
    /* sm_90 has no fp8 mma.sync datapath: ptxas expands each m16n8k32 into F2FP conversions
       and two f16 HMMAs. Widening here converts each fragment once per k-step, however many
       mmas reuse it (nvvm_widen_fp8x4), in far fewer registers than ptxas's expansion
       (measured: 144 vs 250 at 128x128x64, no spills; 1.33x at 128x256x64). */
    bool widen = dtype_is_fp8(p->a_type) && e->cg->target->sm == 90;
    /* this dot spreads the pending prefetch of its loop over its k-steps */
    bool prefetch = e->pending.loop && ((p->a.source == OPERAND_ASYNC && p->a.loop == e->pending.loop) ||
                                        (p->b.source == OPERAND_ASYNC && p->b.loop == e->pending.loop));
    int nk = p->kpad / p->kstep;
    /* The copies go in k-steps 0 .. spread - 1, after each one's first ldmatrix. Over every
       k-step is fastest (bf16 GEMM 128x256x64: 375 TFLOP/s against 350 over two and 339
       all in the first, H100), but ptxas then keeps more of the copies' addresses live: with
       an A operand of over 4 copy passes per thread (2 for widened fp8), whose rows each
       hold a pointer, 29 of 52 bf16 GEMM configs spilled against 13 over two k-steps (fp8:
       35 of 71 against 20); at or below that, no more than over two. */
    int spread = nk;
    if (prefetch && p->a.source == OPERAND_ASYNC && p->a.loop == e->pending.loop &&
        copy_passes(e, &p->a) * (widen ? 2 : 1) > 4)
        spread = nk < 2 ? nk : 2;
    for (int ks = 0; ks < nk; ks++) {
        LLVMValueRef bf[64][2];
        for (int q = 0; q < p->nj; q += 2) {
            int off = p->b.k_major ? q / 2 * 16 * p->b.row_stride + ks * 32
                                   : ks * 16 * p->b.row_stride + q / 2 * 16 * esb;
            LLVMValueRef r[4];
            int count = q + 1 < p->nj ? 4 : 2;
            nvvm_ldmatrix(e->cg, count, !p->b.k_major,
                          emit_smem_at(e, LLVMBuildAdd(e->b, b_base, emit_i32(e, off), "")), r);
            bf[q][0] = r[0];
            bf[q][1] = r[1];
            if (count == 4) {
                bf[q + 1][0] = r[2];
                bf[q + 1][1] = r[3];
            }
        }
        LLVMValueRef af[64][4];
        a_fragment(e, p, &a_regs, a_base, 0, ks, af[0]);
        /* after this k-step's first ldmatrix (shared-memory accesses keep their order) and
           before its mmas, which wait for them: the copies' arithmetic fills that wait */
        if (prefetch)
            emit_pipeline_issue(e, e->pending.total * (ks + 1) / spread);
        LLVMValueRef bw[64][4];
        if (widen)
            for (int nj = 0; nj < p->nj; nj++) {
                nvvm_widen_fp8x4(e->cg, p->b_type, bf[nj][0], &bw[nj][0]);
                nvvm_widen_fp8x4(e->cg, p->b_type, bf[nj][1], &bw[nj][2]);
            }
        for (int mi = 0; mi < p->mi; mi++) {
            if (mi > 0)
                a_fragment(e, p, &a_regs, a_base, mi, ks, af[mi]);
            LLVMValueRef *a = af[mi];
            LLVMValueRef aw[8];
            if (widen)
                for (int i = 0; i < 4; i++)
                    nvvm_widen_fp8x4(e->cg, p->a_type, a[i], &aw[2 * i]);
            for (int nj = 0; nj < p->nj; nj++) {
                LLVMValueRef *cc = &c[4 * (nj + p->nj * mi)];
                LLVMValueRef in[4] = {cc[0], cc[1], cc[2], cc[3]};
                if (!widen) {
                    nvvm_mma_sync(e->cg, p->a_type, p->b_type, a, bf[nj], in, cc);
                    continue;
                }
                /* aw[2i] = bytes 0-1 of a[i] as f16x2, aw[2i+1] = bytes 2-3 (likewise bw):
                   K 4t..4t+3 of each half becomes f16 K 2t, 2t+1, 2t+8, 2t+9 in A and B alike */
                for (int half = 0; half < 2; half++) {
                    LLVMValueRef a16[4] = {aw[4 * half], aw[4 * half + 2], aw[4 * half + 1], aw[4 * half + 3]};
                    LLVMValueRef b16[2] = {bw[nj][2 * half], bw[nj][2 * half + 1]};
                    LLVMValueRef acc_in[4] = {cc[0], cc[1], cc[2], cc[3]};
                    nvvm_mma_sync(e->cg, DT_F16, DT_F16, a16, b16, half ? acc_in : in, cc);
                }
            }
        }
    }
    Tile result = emit_tile_new(e, &p->acc);
    memcpy(result.regs, c, sizeof(LLVMValueRef) * (size_t)result.n);
    const TirBlock *epi = op->regions[TIR_REGION_EPILOGUE];
    const Layout *want = e->s->layouts[op->results[0]->id];
    if (epi)
        result = emit_region(e, epi, result, want ? want : &p->acc);
    e->values[op->results[0]->id] = result;
}
