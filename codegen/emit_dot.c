/* emit_dot.c — `dot` on tensor cores: the accumulator fetched in the plan's layout, register
   operands (prologues applied) staged to shared memory or packed as A fragments from another
   dot's accumulator (attention's P), the instruction's k-steps (emit_mma_sync.c,
   emit_wgmma.c), the epilogue on the accumulator in registers. */
#include <string.h>

#include "emit.h"

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
        return pack16(e, emit_element_bits(e, lo, type), emit_element_bits(e, hi, type));
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

/* The A fragment of 16-row block mi and k-step ks from an accumulator-layout tile whose
   warps hold every column of their rows (register e + 2h + 4(nj + NJ·mi), NJ = k/8): the
   same registers serve mma.sync's m16 blocks and wgmma's m64 blocks, each warp 16 rows. */
void emit_fragment_a(Emitter *e, const DotPlan *p, const Tile *t, DType type, int mi, int ks,
                     LLVMValueRef a[4])
{
    int nj_src = p->k / 8;
    LLVMValueRef zero = dtype_size(type) == 1 ? LLVMConstInt(e->cg->t.i8, 0, 0) : LLVMConstInt(e->cg->t.i16, 0, 0);
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

/* A staged operand defined before the loop (attention's masked q, staged through registers)
   would otherwise be stored every iteration: its registers live across the whole loop and
   every iteration pays the stores and two barriers. Its slot is its own, so once is enough.
   Only for the dots of a sequential loop's own body, in the compute role, and operands
   without a prologue. */
void emit_stage_invariant_operands(Emitter *e, const TirOp *loop)
{
    if (e->producer || loop->nvars < 1 || e->k->loopvars[loop->loopvars[0]]->is_branch)
        return;
    for (const TirOp *op = loop->regions[0]->first; op; op = op->next) {
        const DotPlan *p = op->opcode == TIR_DOT ? schedule_dot(e->s, op) : NULL;
        for (int w = 0; p && w < 2; w++) {
            const OperandPlan *o = w == 0 ? &p->a : &p->b;
            const TirValue *v = op->operands[w];
            if (o->source != OPERAND_STAGED || op->regions[w] || schedule_defined_in(v, loop) ||
                !e->values[v->id].regs)
                continue;
            Tile t = operand_tile(e, op, w);
            emit_stage_registers(e, p, o, w, &t, w == 0 ? p->a_type : p->b_type,
                                 v->type.axes[w == 0 ? 1 : 0]);
            e->staged_early[2 * (p - e->s->dots) + w] = true;
        }
    }
}

/* The shared-memory offset of element (row, 0) of a staged K-major f32 operand: element
   (row, k) is 4k bytes on. */
static LLVMValueRef staged_f32_at(Emitter *e, const OperandPlan *o, LLVMValueRef row)
{
    return LLVMBuildAdd(e->b, emit_operand_slot(e, o), emit_tile_offset(e, o, row, emit_i32(e, 0)), "");
}

static LLVMValueRef load_f32(Emitter *e, LLVMValueRef base, int byte)
{
    LLVMValueRef at = emit_smem_at(e, LLVMBuildAdd(e->b, base, emit_i32(e, byte), ""));
    return LLVMBuildLoad2(e->b, e->cg->t.f32, at, "");
}

/* An exact f32 dot: for each k in order, the thread's A values (one per accumulator row it
   holds: 2 per 16-row block) and B values (one per column) from the staged operands, then
   one fma.rn per accumulator, as the interpreter sums. Accumulators keep mma.sync's layout
   (register 2h + x + 4(nj + NJ·mi): row 16mi + 8h + lane/4, column 8nj + 2(lane%4) + x). */
static void emit_fma_steps(Emitter *e, const DotPlan *p, LLVMValueRef *c)
{
    int rows = 2 * p->mi, cols = 2 * p->nj;
    LLVMValueRef *a_at = arena_alloc(e->arena, sizeof(LLVMValueRef) * (size_t)(rows + cols));
    LLVMValueRef *b_at = a_at + rows;
    LLVMValueRef *av = arena_alloc(e->arena, sizeof(LLVMValueRef) * (size_t)(rows + cols));
    LLVMValueRef *bv = av + rows;
    for (int i = 0; i < rows; i++)
        a_at[i] = nvvm_opaque_i32(e->cg, staged_f32_at(e, &p->a,
                                  emit_coord(e, &p->acc, 4 * p->nj * (i / 2) + 2 * (i % 2), 0)));
    for (int j = 0; j < cols; j++)
        b_at[j] = nvvm_opaque_i32(e->cg, staged_f32_at(e, &p->b, emit_coord(e, &p->acc, 4 * (j / 2) + j % 2, 1)));
    for (int k = 0; k < p->kpad; k++) {
        for (int i = 0; i < rows; i++)
            av[i] = load_f32(e, a_at[i], 4 * k);
        for (int j = 0; j < cols; j++)
            bv[j] = load_f32(e, b_at[j], 4 * k);
        for (int mi = 0; mi < p->mi; mi++)
            for (int nj = 0; nj < p->nj; nj++)
                for (int h = 0; h < 2; h++)
                    for (int x = 0; x < 2; x++) {
                        LLVMValueRef *acc = &c[4 * (nj + p->nj * mi) + 2 * h + x];
                        LLVMValueRef args[3] = {av[2 * mi + h], bv[2 * nj + x], *acc};
                        *acc = nvvm_call_intrinsic(e->cg, "llvm.fma", e->cg->t.f32, args, 3,
                                                   &e->cg->t.f32, 1);
                    }
    }
}

/* The f32 at `byte` past `base` as tf32 bits, or 0 where `inside` (NULL: everywhere) fails. */
static LLVMValueRef tf32_operand(Emitter *e, LLVMValueRef base, int byte, LLVMValueRef inside)
{
    LLVMValueRef v = nvvm_to_tf32(e->cg, load_f32(e, base, byte));
    return inside ? LLVMBuildSelect(e->b, inside, v, emit_i32(e, 0), "") : v;
}

/* A tf32 dot: mma.sync m16n8k8 per 16x8 tile and k-step of 8, fragments read from the
   staged operands as 32-bit scalars and rounded by cvt.rna.tf32.f32 (as the interpreter
   rounds); lanes of a last k-step beyond k read 0. */
static void emit_tf32_steps(Emitter *e, const DotPlan *p, LLVMValueRef *c)
{
    LLVMValueRef t = LLVMBuildAnd(e->b, e->lane, emit_i32(e, 3), "");
    LLVMValueRef g = LLVMBuildLShr(e->b, e->lane, emit_i32(e, 2), "");
    LLVMValueRef t_bytes = LLVMBuildMul(e->b, t, emit_i32(e, 4), "");
    LLVMValueRef *a_at = arena_alloc(e->arena, sizeof(LLVMValueRef) * (size_t)(2 * p->mi + p->nj));
    LLVMValueRef *b_at = a_at + 2 * p->mi;
    for (int i = 0; i < 2 * p->mi; i++) {   /* rows g and g + 8 of block mi: the acc's */
        LLVMValueRef row = emit_coord(e, &p->acc, 4 * p->nj * (i / 2) + 2 * (i % 2), 0);
        a_at[i] = nvvm_opaque_i32(e->cg, LLVMBuildAdd(e->b, staged_f32_at(e, &p->a, row), t_bytes, ""));
    }
    for (int nj = 0; nj < p->nj; nj++) {    /* column g of block nj: acc column 2t, less 2t, plus g */
        LLVMValueRef col = emit_coord(e, &p->acc, 4 * nj, 1);
        col = LLVMBuildAdd(e->b, LLVMBuildSub(e->b, col, LLVMBuildShl(e->b, t, emit_i32(e, 1), ""), ""), g, "");
        b_at[nj] = nvvm_opaque_i32(e->cg, LLVMBuildAdd(e->b, staged_f32_at(e, &p->b, col), t_bytes, ""));
    }
    for (int ks = 0; ks < p->kpad / 8; ks++) {
        /* the k of lane t's two elements: 8ks + t and 8ks + t + 4 */
        LLVMValueRef inside[2];
        for (int q = 0; q < 2; q++)
            inside[q] = 8 * ks + 8 <= p->k ? NULL
                      : LLVMBuildICmp(e->b, LLVMIntULT, LLVMBuildAdd(e->b, t, emit_i32(e, 8 * ks + 4 * q), ""),
                                      emit_i32(e, p->k), "");
        LLVMValueRef bf[64][2];
        for (int nj = 0; nj < p->nj; nj++)
            for (int q = 0; q < 2; q++)
                bf[nj][q] = tf32_operand(e, b_at[nj], 32 * ks + 16 * q, inside[q]);
        for (int mi = 0; mi < p->mi; mi++) {
            LLVMValueRef a[4];
            for (int i = 0; i < 4; i++)     /* (g, t), (g+8, t), (g, t+4), (g+8, t+4) */
                a[i] = tf32_operand(e, a_at[2 * mi + (i & 1)], 32 * ks + 16 * (i >> 1), inside[i >> 1]);
            for (int nj = 0; nj < p->nj; nj++) {
                LLVMValueRef *cc = &c[4 * (nj + p->nj * mi)];
                LLVMValueRef in[4] = {cc[0], cc[1], cc[2], cc[3]};
                nvvm_mma_sync_tf32(e->cg, a, bf[nj], in, cc);
            }
        }
    }
}

void emit_dot(Emitter *e, const TirOp *op)
{
    const DotPlan *p = schedule_dot(e->s, op);
    Tile acc = emit_fetch(e, op->operands[2], &p->acc);
    LLVMValueRef *c = arena_alloc(e->arena, sizeof(LLVMValueRef) * (size_t)acc.n);
    memcpy(c, acc.regs, sizeof(LLVMValueRef) * (size_t)acc.n);

    Tile a_regs = {0};
    const TirValue *av = op->operands[0], *bv = op->operands[1];
    if (p->a.source == OPERAND_FRAGMENT) {
        a_regs = operand_tile(e, op, 0);
        if (op->masked) {
            LLVMValueRef zero = dtype_size(p->a_type) == 1 ? LLVMConstInt(e->cg->t.i8, 0, 0)
                                                        : LLVMConstReal(emit_type(e, p->a_type), 0);
            Tile z = emit_tile_new(e, a_regs.layout);
            for (int r = 0; r < z.n; r++)
                z.regs[r] = LLVMBuildSelect(e->b, emit_axis_valid(e, av->type.axes[1],
                                                                  emit_coord(e, a_regs.layout, r, 1)),
                                            a_regs.regs[r], zero, "");
            a_regs = z;
        }
    } else if (p->a.source == OPERAND_STAGED && !e->staged_early[2 * (p - e->s->dots)]) {
        Tile t = operand_tile(e, op, 0);
        emit_stage_registers(e, p, &p->a, 0, &t, p->a_type, av->type.axes[1]);
    }
    if (p->b.source == OPERAND_STAGED && !e->staged_early[2 * (p - e->s->dots) + 1]) {
        Tile t = operand_tile(e, op, 1);
        emit_stage_registers(e, p, &p->b, 1, &t, p->b_type, bv->type.axes[0]);
    }
    if (p->instr == DOT_WGMMA)
        emit_wgmma_steps(e, p, &a_regs, c);
    else if (p->instr == DOT_FMA)
        emit_fma_steps(e, p, c);
    else if (p->a_type == DT_F32)
        emit_tf32_steps(e, p, c);
    else
        emit_mma_sync_steps(e, p, &a_regs, c);
    Tile result = emit_tile_new(e, &p->acc);
    memcpy(result.regs, c, sizeof(LLVMValueRef) * (size_t)result.n);
    const TirBlock *epi = op->regions[TIR_REGION_EPILOGUE];
    const Layout *want = e->s->layouts[op->results[0]->id];
    if (epi)
        result = emit_region(e, epi, result, want ? want : &p->acc);
    e->values[op->results[0]->id] = result;
    /* the result's scheduled layout can differ from the plan's (a carried accumulator
       another op laid out first): schedule_conversions reserved the scratch */
    if (want && !layout_equal(result.layout, want))
        e->values[op->results[0]->id] = emit_fetch(e, op->results[0], want);
}
