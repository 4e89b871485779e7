/* emit_wgmma.c — one dot's k-steps on wgmma (sm_90a): per warpgroup, 64-bit matrix
   descriptors of its rows of A and columns of B in SWIZZLED shared memory (A from registers
   for a FRAGMENT operand), m_instr x n_instr wgmma.mma_async per k-step in one commit group,
   the pending prefetch of the enclosing loop issued while they run, then the wait. */
#include "emit.h"

/* Descriptor bits besides the start address (NVPTX-NOTES.md): the swizzle mode in bits
   62-63 (1: 128 bytes, 2: 64, 3: 32); the stride byte offset (bits 32-45, >> 4) between
   groups of 8 rows of a panel; the leading byte offset (bits 16-29, >> 4): for an MN-major
   tile the distance between its panels along M/N, for a K-major one unused (one k-step
   never leaves a panel). */
static uint64_t descriptor_bits(const OperandPlan *o)
{
    uint64_t mode = o->swizzle == 128 ? 1 : o->swizzle == 64 ? 2 : 3;
    uint64_t stride = 8 * (uint64_t)o->swizzle;
    uint64_t leading = o->k_major ? 16 : (uint64_t)o->rows * (uint64_t)o->swizzle;
    return ((leading >> 4) & 0x3FFF) << 16 | ((stride >> 4) & 0x3FFF) << 32 | mode << 62;
}

/* The descriptor of the operand's slot, plus `offset` bytes (i32), for this iteration. */
static LLVMValueRef descriptor(Emitter *e, const OperandPlan *o, LLVMValueRef offset)
{
    LLVMValueRef smem = LLVMBuildPtrToInt(e->b, e->smem, e->cg->t.i32, "");
    LLVMValueRef addr = LLVMBuildAdd(e->b, smem, LLVMBuildAdd(e->b, emit_operand_slot(e, o), offset, ""), "");
    LLVMValueRef field = LLVMBuildAnd(e->b, LLVMBuildLShr(e->b, addr, emit_i32(e, 4), ""),
                                      emit_i32(e, 0x3FFF), "");
    LLVMValueRef desc = LLVMBuildZExt(e->b, field, e->cg->t.i64, "");
    return LLVMBuildOr(e->b, desc, LLVMConstInt(e->cg->t.i64, descriptor_bits(o), 0), "");
}

/* Byte offset, within a slot, of the first row/column `mn` of an instruction's operand at
   k-step ks. Rows are multiples of 8 and K-major k-steps stay inside a panel, so the swizzle
   adds nothing at these points: the descriptor's start address is the unswizzled one. */
static int operand_offset(const DotPlan *p, const OperandPlan *o, DType t, int mn, int ks)
{
    int es = dtype_size(t), kbyte = ks * 32;
    if (o->k_major)
        return emit_tile_offset_const(o, mn, kbyte);
    return emit_tile_offset_const(o, ks * p->kstep, mn * es);
}

static LLVMValueRef at(Emitter *e, LLVMValueRef desc, int offset)
{
    return LLVMBuildAdd(e->b, desc, LLVMConstInt(e->cg->t.i64, (unsigned long long)(offset >> 4), 0), "");
}

void emit_wgmma_steps(Emitter *e, const DotPlan *p, const Tile *a_regs, LLVMValueRef *c)
{
    int rw = p->m / p->wg_m, cw = p->n / p->wg_n, nj_wg = cw / 8;
    LLVMValueRef wg = LLVMBuildLShr(e->b, e->warp, emit_i32(e, 2), "");
    LLVMValueRef wg_n = LLVMBuildURem(e->b, wg, emit_i32(e, p->wg_n), "");
    LLVMValueRef wg_m = LLVMBuildUDiv(e->b, wg, emit_i32(e, p->wg_n), "");
    /* this warpgroup's first row of A and first column of B, as byte offsets in their slots:
       rows of a K-major tile are swizzle bytes apart; an MN-major tile's rows/columns step
       through whole panels (64 or more 16-bit elements a warpgroup) */
    LLVMValueRef a_desc = NULL, b_desc;
    if (p->a.source != OPERAND_FRAGMENT) {
        int step = p->a.k_major ? rw * p->a.row_stride
                                : emit_tile_offset_const(&p->a, 0, rw * dtype_size(p->a_type));
        a_desc = descriptor(e, &p->a, LLVMBuildMul(e->b, wg_m, emit_i32(e, step), ""));
    }
    int bstep = p->b.k_major ? cw * p->b.row_stride
                             : emit_tile_offset_const(&p->b, 0, cw * dtype_size(p->b_type));
    b_desc = descriptor(e, &p->b, LLVMBuildMul(e->b, wg_n, emit_i32(e, bstep), ""));

    bool trans_a = p->a.source != OPERAND_FRAGMENT && !p->a.k_major;
    bool trans_b = !p->b.k_major;
    int nk = p->kpad / p->kstep, nacc = p->m_instr * cw / 2;
    /* register A fragments are packed before the fence: registers written between the
       fence and the wgmmas reading them make ptxas insert waits (C7519) */
    LLVMValueRef *frag = NULL;
    if (p->a.source == OPERAND_FRAGMENT) {
        frag = arena_alloc(e->arena, sizeof(LLVMValueRef) * (size_t)(4 * nk * p->m_instr));
        for (int ks = 0; ks < nk; ks++)
            for (int mi = 0; mi < p->m_instr; mi++)
                emit_fragment_a(e, p, a_regs, p->a_type, mi, ks, &frag[4 * (ks * p->m_instr + mi)]);
    }
    nvvm_wgmma_fence(e->cg);
    for (int ks = 0; ks < nk; ks++)
        for (int mi = 0; mi < p->m_instr; mi++) {
            LLVMValueRef da = NULL, *ra = frag ? &frag[4 * (ks * p->m_instr + mi)] : NULL;
            if (!frag)
                da = at(e, a_desc, operand_offset(p, &p->a, p->a_type, 64 * mi, ks));
            for (int ni = 0; ni < p->n_instr; ni++) {
                LLVMValueRef db = at(e, b_desc, operand_offset(p, &p->b, p->b_type, ni * p->instr_n, ks));
                LLVMValueRef acc[128];
                int first = 4 * (ni * p->instr_n / 8 + nj_wg * mi);
                for (int i = 0; i < p->instr_n / 2; i++)
                    acc[i] = c[first + i % 4 + 4 * (i / 4)];
                nvvm_wgmma(e->cg, p->a_type, p->b_type, p->instr_n, da,
                           ra, db, trans_a, trans_b, acc);
                for (int i = 0; i < p->instr_n / 2; i++)
                    c[first + i % 4 + 4 * (i / 4)] = acc[i];
            }
        }
    nvvm_wgmma_commit(e->cg);
    /* the copies of the enclosing loop's block ahead go out while the tensor cores work */
    bool prefetch = e->pending.loop && ((p->a.source == OPERAND_ASYNC && p->a.loop == e->pending.loop) ||
                                        (p->b.source == OPERAND_ASYNC && p->b.loop == e->pending.loop));
    if (prefetch)
        emit_pipeline_issue(e, 1 << 30);
    /* an accumulate-only dot of a ring loop keeps this block's wgmmas in flight: wait only
       for the block before (its slot is then released), the loop's end waits for the last */
    const OperandPlan *ring = p->a.source == OPERAND_ASYNC && p->a.loop ? &p->a : &p->b;
    const LoopPlan *lp = ring->source == OPERAND_ASYNC && ring->loop ? schedule_loop(e->s, ring->loop) : NULL;
    if (lp && lp->deferred >= 0 && &e->s->dots[lp->deferred] == p)
        nvvm_wgmma_wait(e->cg, 1, NULL, 0);
    else
        nvvm_wgmma_wait(e->cg, 0, c, nacc);
}
