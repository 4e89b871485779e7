/* emit_mma_sync.c — one dot's k-steps on mma.sync: per warp, A fragments by ldmatrix (.trans
   for 16-bit M/N-major tiles) or from another dot's accumulator registers, B fragments by
   ldmatrix, m16n8k16 / m16n8k32 mmas; fp8 widened to f16 pairs on sm_90, which has no fp8
   mma.sync datapath. The pending prefetch of the enclosing loop goes out between k-steps. */
#include <string.h>

#include "emit.h"

/* The A fragment of row block mi at k-step ks: an ldmatrix, or packed from registers. */
static void a_fragment(Emitter *e, const DotPlan *p, const Tile *a_regs, LLVMValueRef a_base,
                       int mi, int ks, LLVMValueRef a[4])
{
    if (p->a.source == OPERAND_FRAGMENT) {
        emit_fragment_a(e, p, a_regs, p->a_type, mi, ks, a);
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

void emit_mma_sync_steps(Emitter *e, const DotPlan *p, const Tile *a_regs, LLVMValueRef *c)
{
    int wn_bits = 0;
    while ((1 << wn_bits) < p->wn)
        wn_bits++;
    LLVMValueRef wn = LLVMBuildAnd(e->b, e->warp, emit_i32(e, p->wn - 1), "");
    LLVMValueRef wm = LLVMBuildAnd(e->b, LLVMBuildLShr(e->b, e->warp, emit_i32(e, wn_bits), ""),
                                   emit_i32(e, p->wm - 1), "");
    LLVMValueRef a_base = NULL, b_base = NULL;
    /* one opaque base register per operand: every (mi, nj, ks) is a constant offset from it
       (folded into ldmatrix's immediate) */
    if (p->a.source != OPERAND_FRAGMENT)
        a_base = nvvm_opaque_i32(e->cg, LLVMBuildAdd(e->b, emit_operand_slot(e, &p->a),
                                 lane_offset(e, p, &p->a, 0, wm, wn, dtype_size(p->a_type)), ""));
    b_base = nvvm_opaque_i32(e->cg, LLVMBuildAdd(e->b, emit_operand_slot(e, &p->b),
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
        emit_copy_passes(e, &p->a) * (widen ? 2 : 1) > 4)
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
        a_fragment(e, p, a_regs, a_base, 0, ks, af[0]);
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
                a_fragment(e, p, a_regs, a_base, mi, ks, af[mi]);
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
}
