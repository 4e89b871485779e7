/* emit_memory.c — global memory under the TIR's masks: element addresses through the ABI
   strides (64-bit index math), predicated loads that read 0 in masked-off lanes, stores
   and atomics that never touch them, 16-byte vectors in ALIGN_VEC16 variants. */
#include <string.h>

#include "emit.h"

enum { MAX_INDEX = MAX_RANK + 4 };

static LLVMValueRef dim_value(Emitter *e, const TirParam *p, int d)
{
    if (p->dims[d].sym >= 0)
        return e->sym[p->dims[d].sym];
    return emit_i64(e, p->dims[d].value);
}

static LLVMValueRef min64(Emitter *e, LLVMValueRef a, LLVMValueRef b)
{
    if (!a)
        return b;
    return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, a, b, ""), a, b, "");
}

static LLVMValueRef and1(Emitter *e, LLVMValueRef a, LLVMValueRef b)
{
    return a ? LLVMBuildAnd(e->b, a, b, "") : b;
}

static LLVMValueRef true1(Emitter *e)
{
    return LLVMConstInt(e->cg->t.i1, 1, 0);
}

/* ---- index faults: a checked index (one read from data, TIR_MASK_CHECK) outside its dim
   at an element the access would otherwise touch. The element is not accessed; the op's
   checks are gathered over its elements and raised once at its end, through the module's
   fault sink, which libtile fills when it loads the module (docs/runtime.md, "Index
   faults"; the records' layout is written in codegen.h's ABI). */

/* `void tile_raise_fault(i32 param, i32 dim, i32 kind, i32 line, i32 col, i64 index,
   i64 extent)`, with the sink `tile_fault_sink` ({claim, record, variant}, each 8 bytes),
   made once per module: unless the sink is empty, the first caller to move the claim word
   from 0 to 1 writes the record and, after a system-wide fence, its `raised` word. */
static LLVMValueRef fault_function(Emitter *e)
{
    CodegenContext *cg = e->cg;
    LLVMValueRef fn = LLVMGetNamedFunction(cg->module, "tile_raise_fault");
    if (fn)
        return fn;
    LLVMTypeRef i32 = cg->t.i32, i64 = cg->t.i64;
    LLVMTypeRef sink_type = LLVMArrayType2(i64, 3);
    LLVMValueRef sink = LLVMAddGlobalInAddressSpace(cg->module, sink_type, "tile_fault_sink",
                                                    ADDRSPACE_GLOBAL);
    LLVMSetInitializer(sink, LLVMConstNull(sink_type));
    LLVMSetExternallyInitialized(sink, 1);   /* libtile writes it: no load folds to 0 */
    LLVMSetAlignment(sink, 8);
    LLVMTypeRef params[7] = {i32, i32, i32, i32, i32, i64, i64};
    LLVMTypeRef type = LLVMFunctionType(cg->t.void_, params, 7, 0);
    fn = LLVMAddFunction(cg->module, "tile_raise_fault", type);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    const char *attrs[] = {"noinline", "cold"};
    for (int i = 0; i < 2; i++) {
        unsigned kind = LLVMGetEnumAttributeKindForName(attrs[i], strlen(attrs[i]));
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                LLVMCreateEnumAttribute(cg->llvm, kind, 0));
    }
    LLVMBuilderRef b = LLVMCreateBuilderInContext(cg->llvm);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(cg->llvm, fn, "entry");
    LLVMBasicBlockRef claim_it = LLVMAppendBasicBlockInContext(cg->llvm, fn, "claim");
    LLVMBasicBlockRef write = LLVMAppendBasicBlockInContext(cg->llvm, fn, "write");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->llvm, fn, "done");
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef words[3];
    for (int i = 0; i < 3; i++) {
        LLVMValueRef at = emit_i64(e, i);
        LLVMValueRef ptr = LLVMBuildGEP2(b, i64, sink, &at, 1, "");
        words[i] = LLVMBuildLoad2(b, i64, ptr, "");
        LLVMSetVolatile(words[i], 1);
    }
    LLVMValueRef filled = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntNE, words[0], emit_i64(e, 0), ""),
                                       LLVMBuildICmp(b, LLVMIntNE, words[1], emit_i64(e, 0), ""), "");
    LLVMBuildCondBr(b, filled, claim_it, done);
    LLVMPositionBuilderAtEnd(b, claim_it);
    LLVMValueRef claim = LLVMBuildIntToPtr(b, words[0], cg->t.ptr, "");
    LLVMValueRef cas = LLVMBuildAtomicCmpXchg(b, claim, LLVMConstInt(i32, 0, 0), LLVMConstInt(i32, 1, 0),
                                              LLVMAtomicOrderingMonotonic,
                                              LLVMAtomicOrderingMonotonic, 0);
    LLVMBuildCondBr(b, LLVMBuildExtractValue(b, cas, 1, ""), write, done);
    LLVMPositionBuilderAtEnd(b, write);
    LLVMValueRef record = LLVMBuildIntToPtr(b, words[1], cg->t.ptr, "");
    LLVMValueRef fields[8] = {LLVMBuildTrunc(b, words[2], i32, ""), LLVMGetParam(fn, 0),
                              LLVMGetParam(fn, 1), LLVMGetParam(fn, 2), LLVMGetParam(fn, 3),
                              LLVMGetParam(fn, 4), LLVMGetParam(fn, 5), LLVMGetParam(fn, 6)};
    const int offsets[8] = {4, 8, 12, 16, 20, 24, 32, 40};
    for (int i = 0; i < 8; i++) {
        LLVMValueRef at = emit_i64(e, offsets[i]);
        LLVMValueRef st = LLVMBuildStore(b, fields[i], LLVMBuildGEP2(b, cg->t.i8, record, &at, 1, ""));
        LLVMSetVolatile(st, 1);
    }
    LLVMBuildFence(b, LLVMAtomicOrderingSequentiallyConsistent, 0, "");
    LLVMValueRef raised = LLVMBuildStore(b, LLVMConstInt(i32, 1, 0), record);
    LLVMSetVolatile(raised, 1);
    LLVMBuildBr(b, done);
    LLVMPositionBuilderAtEnd(b, done);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    return fn;
}

/* What one load, store or atomic reads besides its tensor: its gathered index tiles, each
   in the view of the access's layout along its axes, and its data mask in that layout; and
   per checked entry, whether an element faulted and the index it had. */
typedef struct Access {
    const TirOp *op;
    const Layout *l;
    Tile gathered[MAX_INDEX];
    bool keep[MAX_INDEX][LAYOUT_MAX_RANK];
    Tile mask;                          /* regs NULL: no data mask */
    bool mask_uniform;                  /* the mask is the same along the tile's last axis */
    LLVMValueRef bad[MAX_INDEX];        /* i1 per checked entry, NULL for others */
    LLVMValueRef bad_index[MAX_INDEX];  /* i64 */
} Access;

/* Whether every lane along `axis` of v has the same value: v broadcasts or expands that
   axis from a tile without it (a row mask `ok[m][:, None]` over [m, k]), or is a constant. */
static bool uniform_along(const TirValue *v, int axis, int depth)
{
    const TirOp *def = v->def;
    if (!def || depth > 16)
        return false;
    if (def->opcode == TIR_FULL)
        return true;
    if (def->opcode == TIR_EXPAND_DIMS)
        return def->axis == axis ||
               uniform_along(def->operands[0], axis - (def->axis < axis), depth + 1);
    if (def->opcode == TIR_BROADCAST) {
        const TirType *in = &def->operands[0]->type;
        int lead = v->type.rank - in->rank;
        return axis < lead || in->axes[axis - lead].kind == AXIS_ONE ||
               uniform_along(def->operands[0], axis - lead, depth + 1);
    }
    return false;
}

static void access_begin(Emitter *e, const TirOp *op, const Layout *l, Access *a)
{
    memset(a, 0, sizeof *a);
    a->op = op;
    a->l = l;
    for (int i = 0, axis = 0; i < op->nindex && i < MAX_INDEX; i++) {
        int naxes = tir_index_axes(e->k, op, i);
        const TirValue *v = op->index[i].kind == TIR_IDX_VALUE ? tir_index_value(op, i) : NULL;
        if (v && naxes > 0) {
            Layout *view = arena_alloc(e->arena, sizeof *view);
            *view = layout_axes_view(l, axis, naxes);
            a->gathered[i] = emit_fetch(e, v, view);
            for (int d = 0; d < l->rank; d++)
                a->keep[i][d] = d >= axis && d < axis + naxes;
        }
        if (op->index[i].mask & TIR_MASK_CHECK) {
            a->bad[i] = LLVMConstInt(e->cg->t.i1, 0, 0);
            a->bad_index[i] = emit_i64(e, 0);
        }
        axis += naxes;
    }
    if (tir_data_mask(op)) {
        a->mask = emit_fetch(e, tir_data_mask(op), l);
        a->mask_uniform = l->rank > 0 && uniform_along(tir_data_mask(op), l->rank - 1, 0);
    }
}

/* Raises the op's faults: one cold branch per checked entry. */
static void access_end(Emitter *e, Access *a)
{
    const TirOp *op = a->op;
    const TirParam *p = &e->k->params[op->param];
    int kind = op->opcode == TIR_LOAD ? 0 : op->opcode == TIR_STORE ? 1 : 2;
    for (int i = 0, dim = 0; i < op->nindex && i < MAX_INDEX; i++) {
        int d = op->index[i].kind == TIR_IDX_NEWAXIS ? -1 : dim++;
        if (!a->bad[i] || LLVMIsConstant(a->bad[i]))
            continue;
        LLVMBasicBlockRef raise = codegen_block(e->cg, "fault"), done = codegen_block(e->cg, "fault.done");
        LLVMBuildCondBr(e->b, a->bad[i], raise, done);
        LLVMPositionBuilderAtEnd(e->b, raise);
        LLVMValueRef fn = fault_function(e);
        LLVMValueRef args[7] = {emit_i32(e, op->param), emit_i32(e, d), emit_i32(e, kind),
                                emit_i32(e, op->loc.line), emit_i32(e, op->loc.col),
                                a->bad_index[i], dim_value(e, p, d)};
        LLVMBuildCall2(e->b, LLVMGlobalGetValueType(fn), fn, args, 7, "");
        LLVMBuildBr(e->b, done);
        LLVMPositionBuilderAtEnd(e->b, done);
    }
}

typedef struct EntryIndex {
    LLVMValueRef index;   /* i64 */
    LLVMValueRef limit;   /* i64 bound (index < limit), or NULL */
    LLVMValueRef nonneg;  /* i1 check for a value index, or NULL */
    LLVMValueRef lanes;   /* i1: a gathered index's lane is valid (its tile's axes), or NULL */
    LLVMValueRef inrange; /* i1: a checked index lies in its dim, or NULL */
    int axis;             /* first tile axis, or -1 */
    int dim;              /* tensor dim, or -1 */
} EntryIndex;

/* The index, bound and tile axis of every entry of a memory op at tile coordinates (of
   register r of the access's layout, for a gathered index: `a` may be NULL for an access
   without one). */
static void entry_indices(Emitter *e, const TirOp *op, const Access *a, int r,
                          LLVMValueRef const *coords, int contraction_axis, EntryIndex *out)
{
    const TirParam *p = &e->k->params[op->param];
    int ax = 0, dim = 0;
    for (int i = 0; i < op->nindex; i++) {
        const TirIndex *x = &op->index[i];
        EntryIndex *o = &out[i];
        memset(o, 0, sizeof *o);
        int naxes = tir_index_axes(e->k, op, i);
        o->axis = naxes ? ax : -1;
        ax += naxes;
        o->dim = x->kind == TIR_IDX_NEWAXIS ? -1 : dim++;
        if (x->kind == TIR_IDX_NEWAXIS)
            continue;
        LLVMValueRef c = x->kind != TIR_IDX_VALUE && o->axis >= 0
                             ? LLVMBuildZExt(e->b, coords[o->axis], e->cg->t.i64, "") : NULL;
        bool check_loop = x->mask & TIR_MASK_LOOP, check_dim = x->mask & TIR_MASK_DIM;
        if (o->axis >= 0 && o->axis == contraction_axis)
            check_loop = true;
        switch (x->kind) {
        case TIR_IDX_BLOCK:
            o->index = c ? LLVMBuildAdd(e->b, e->lv_begin[x->loopvar], c, "") : e->lv_begin[x->loopvar];
            if (check_loop && !e->lv_full[x->loopvar])
                o->limit = e->lv_extent[x->loopvar];
            /* a range's start is data: its indices may be negative */
            if (check_dim && e->lv_start[x->loopvar])
                o->nonneg = LLVMBuildICmp(e->b, LLVMIntSGE, o->index, emit_i64(e, 0), "");
            break;
        case TIR_IDX_FULL: {
            o->index = c;
            int sym = p->dims[o->dim].sym;
            int64_t real = sym >= 0 ? e->s->variant->full_sizes[sym] : p->dims[o->dim].value;
            Axis fa = {AXIS_FULL, sym};
            int padded = sym >= 0 ? schedule_axis_size(e->s, fa) : (int)real;
            if ((check_loop || check_dim) && real != padded)
                o->limit = emit_i64(e, real);
            check_dim = false;
            break;
        }
        case TIR_IDX_VALUE: {
            const TirValue *v = tir_index_value(op, i);
            LLVMValueRef reg;
            if (naxes == 0) {
                reg = e->values[v->id].regs[0];
            } else if (a && a->gathered[i].regs) {
                reg = a->gathered[i].regs[emit_projected_register(a->l, a->keep[i], r)];
                for (int j = 0; check_loop && j < naxes; j++)
                    o->lanes = and1(e, o->lanes, emit_axis_valid(e, v->type.axes[j], coords[o->axis + j]));
            } else {
                emit_fail(e, "internal: a gathered index outside a register access");
                reg = emit_i64(e, 0);
            }
            o->index = LLVMBuildIntCast2(e->b, reg, e->cg->t.i64, 1, "");
            if (check_dim)
                o->nonneg = LLVMBuildICmp(e->b, LLVMIntSGE, o->index, emit_i64(e, 0), "");
            if (x->mask & TIR_MASK_CHECK)   /* one unsigned compare: a negative index is huge */
                o->inrange = LLVMBuildICmp(e->b, LLVMIntULT, o->index, dim_value(e, p, o->dim), "");
            break;
        }
        default:
            break;
        }
        if (check_dim)
            o->limit = min64(e, o->limit, dim_value(e, p, o->dim));
    }
}

bool emit_checks_loop_extent(const Emitter *e, const TirOp *op, int loopvar, int contraction_axis)
{
    for (int i = 0, ax = 0; i < op->nindex; i++) {
        const TirIndex *x = &op->index[i];
        int naxes = tir_index_axes(e->k, op, i);
        int axis = naxes ? ax : -1;
        ax += naxes;
        if (x->kind == TIR_IDX_BLOCK && x->loopvar == loopvar &&
            ((x->mask & TIR_MASK_LOOP) || (axis >= 0 && axis == contraction_axis)))
            return true;
    }
    return false;
}

static LLVMValueRef address_of(Emitter *e, const TirOp *op, const EntryIndex *ix)
{
    LLVMValueRef off = emit_i64(e, 0);
    for (int i = 0; i < op->nindex; i++)
        if (ix[i].dim >= 0)
            off = LLVMBuildAdd(e->b, off, LLVMBuildMul(e->b, ix[i].index,
                                                       e->strides[op->param][ix[i].dim], ""), "");
    return off;
}

/* The structural checks of every entry (loops, dims, gathered lanes), without the checked
   indices' ranges and the data mask. */
static LLVMValueRef validity(Emitter *e, const TirOp *op, const EntryIndex *ix, int skip_axis)
{
    LLVMValueRef ok = true1(e);
    for (int i = 0; i < op->nindex; i++) {
        if (ix[i].axis >= 0 && ix[i].axis == skip_axis)
            continue;
        if (ix[i].limit)
            ok = LLVMBuildAnd(e->b, ok, LLVMBuildICmp(e->b, LLVMIntSLT, ix[i].index, ix[i].limit, ""), "");
        if (ix[i].nonneg)
            ok = LLVMBuildAnd(e->b, ok, ix[i].nonneg, "");
        if (ix[i].lanes)
            ok = LLVMBuildAnd(e->b, ok, ix[i].lanes, "");
    }
    return ok;
}

static LLVMValueRef element_pointer(Emitter *e, const TirOp *op, LLVMValueRef offset)
{
    DType t = e->k->params[op->param].dtype;
    return LLVMBuildGEP2(e->b, emit_type(e, t) == e->cg->t.i1 ? e->cg->t.i8 : emit_type(e, t),
                         e->tensor_base[op->param], &offset, 1, "");
}

void emit_element_address(Emitter *e, const TirOp *op, LLVMValueRef const *coords,
                          LLVMValueRef *address, LLVMValueRef *valid)
{
    EntryIndex ix[MAX_INDEX];
    entry_indices(e, op, NULL, 0, coords, -1, ix);
    *valid = validity(e, op, ix, -1);
    *address = element_pointer(e, op, address_of(e, op, ix));
}

LLVMValueRef emit_valid_run(Emitter *e, const TirOp *op, LLVMValueRef const *coords, int axis,
                            int count, int also_valid_axis)
{
    EntryIndex ix[MAX_INDEX];
    entry_indices(e, op, NULL, 0, coords, also_valid_axis, ix);
    LLVMValueRef others = validity(e, op, ix, axis);
    LLVMValueRef run = emit_i32(e, count);
    for (int i = 0; i < op->nindex; i++)
        if (ix[i].axis == axis && ix[i].limit) {
            LLVMValueRef left = LLVMBuildSub(e->b, ix[i].limit, ix[i].index, "");
            LLVMValueRef lo = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, left,
                                                                  emit_i64(e, 0), ""),
                                              emit_i64(e, 0), left, "");
            LLVMValueRef hi = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, lo,
                                                                  emit_i64(e, count), ""),
                                              emit_i64(e, count), lo, "");
            run = LLVMBuildTrunc(e->b, hi, e->cg->t.i32, "");
        }
    return LLVMBuildSelect(e->b, others, run, emit_i32(e, 0), "");
}

/* ---- predicated scalar access (inline PTX: one predicated instruction, no branch) */

static LLVMValueRef scalar_load(Emitter *e, LLVMValueRef ptr, LLVMValueRef pred, int bytes)
{
    const char *text = bytes == 1 ? "mov.b16 $0, 0;\n\t@$2 ld.global.u8 $0, [$1];"
                     : bytes == 2 ? "mov.b16 $0, 0;\n\t@$2 ld.global.b16 $0, [$1];"
                     : bytes == 4 ? "mov.b32 $0, 0;\n\t@$2 ld.global.b32 $0, [$1];"
                                  : "mov.b64 $0, 0;\n\t@$2 ld.global.b64 $0, [$1];";
    const char *cons = bytes <= 2 ? "=h,l,b" : bytes == 4 ? "=r,l,b" : "=l,l,b";
    LLVMTypeRef rt = bytes <= 2 ? e->cg->t.i16 : bytes == 4 ? e->cg->t.i32 : e->cg->t.i64;
    LLVMTypeRef params[2] = {LLVMTypeOf(ptr), e->cg->t.i1};
    LLVMTypeRef type = LLVMFunctionType(rt, params, 2, 0);
    LLVMValueRef fn = LLVMGetInlineAsm(type, (char *)text, strlen(text), (char *)cons,
                                       strlen(cons), 0, 0, LLVMInlineAsmDialectATT, 0);
    LLVMValueRef args[2] = {ptr, pred};
    LLVMValueRef v = LLVMBuildCall2(e->b, type, fn, args, 2, "");
    return bytes == 1 ? LLVMBuildTrunc(e->b, v, e->cg->t.i8, "") : v;
}

static void scalar_store(Emitter *e, LLVMValueRef ptr, LLVMValueRef pred, LLVMValueRef bits,
                         int bytes)
{
    const char *text = bytes == 1 ? "@$0 st.global.u8 [$1], $2;"
                     : bytes == 2 ? "@$0 st.global.b16 [$1], $2;"
                     : bytes == 4 ? "@$0 st.global.b32 [$1], $2;" : "@$0 st.global.b64 [$1], $2;";
    const char *cons = bytes <= 2 ? "b,l,h,~{memory}" : bytes == 4 ? "b,l,r,~{memory}"
                                                                   : "b,l,l,~{memory}";
    if (bytes == 1)
        bits = LLVMBuildZExt(e->b, bits, e->cg->t.i16, "");
    LLVMTypeRef params[3] = {e->cg->t.i1, LLVMTypeOf(ptr), LLVMTypeOf(bits)};
    LLVMTypeRef type = LLVMFunctionType(e->cg->t.void_, params, 3, 0);
    LLVMValueRef fn = LLVMGetInlineAsm(type, (char *)text, strlen(text), (char *)cons,
                                       strlen(cons), 1, 0, LLVMInlineAsmDialectATT, 0);
    LLVMValueRef args[3] = {pred, ptr, bits};
    LLVMBuildCall2(e->b, type, fn, args, 3, "");
}

static int stored_bytes(DType t)
{
    return t == DT_BOOL ? 1 : dtype_size(t);
}

static LLVMTypeRef bits_type(Emitter *e, int bytes)
{
    return LLVMIntTypeInContext(e->cg->llvm, (unsigned)bytes * 8);
}

static LLVMValueRef to_bits(Emitter *e, LLVMValueRef v, DType t)
{
    if (t == DT_BOOL)
        return LLVMBuildZExt(e->b, v, e->cg->t.i8, "");
    return LLVMBuildBitCast(e->b, v, bits_type(e, dtype_size(t)), "");
}

static LLVMValueRef from_bits(Emitter *e, LLVMValueRef v, DType t)
{
    if (t == DT_BOOL)
        return LLVMBuildICmp(e->b, LLVMIntNE, v, LLVMConstInt(e->cg->t.i8, 0, 0), "");
    return LLVMBuildBitCast(e->b, v, emit_type(e, t), "");
}

/* Registers per 16-byte-or-smaller vector: the leading register bits that step the
   innermost tensor index by one (0 when the access must stay scalar: its innermost index is
   not a loop variable's block or a whole dim, or a data mask that varies along the vector
   comes with a checked index, whose fault would need each element's checks). */
static int vector_width(Emitter *e, const Access *a, DType t)
{
    const TirOp *op = a->op;
    const Layout *l = a->l;
    if (e->s->variant->align != ALIGN_VEC16 || l->rank == 0)
        return 1;
    const TirIndex *last = &op->index[op->nindex - 1];
    if ((last->kind != TIR_IDX_BLOCK && last->kind != TIR_IDX_FULL) ||
        tir_index_axes(e->k, op, op->nindex - 1) == 0 || schedule_unaligned_index(e->k, op))
        return 1;
    for (int i = 0; a->mask.regs && !a->mask_uniform && i < op->nindex; i++)
        if (a->bad[i])
            return 1;
    int axis = l->rank - 1, es = stored_bytes(t), width = 1;
    for (int i = 0; i < l->nreg && l->reg[i][axis] == width && width * es < 16; i++)
        width *= 2;
    return width * es >= 4 ? width : 1;
}

static void coords_of(Emitter *e, const Layout *l, int r, LLVMValueRef *coords)
{
    for (int d = 0; d < l->rank; d++)
        coords[d] = emit_coord(e, l, r, d);
}

/* A vector whose last element is valid is accessed whole (the masks are monotone along
   the innermost index, a data mask is checked for every element); a partly valid one goes
   element by element in a block of its own right after it, which interior tiles branch
   around. Element addresses and checks are computed in that block: only the vector's first
   and last checks and its address live in the fast path (computing them all up front kept
   every address live across the accesses: 255 registers and spills in GEMM epilogues,
   107-123 registers in elementwise kernels). */
typedef struct VectorEnds {
    LLVMValueRef ptr;     /* address of the vector's first element */
    LLVMValueRef first;   /* i1: its first element is valid (its structural checks, and
                             the data mask unless the mask varies along the vector) */
    LLVMValueRef all;     /* i1: every element is valid */
} VectorEnds;

/* Whether element r of the access is accessed (its structural checks, its checked indices
   in range, the data mask unless `with_mask` is false, the owner), and its address. With
   `record`, a checked index outside its dim where the element would otherwise be accessed
   is gathered into the access's faults (straight-line code only: never in a ragged block). */
static LLVMValueRef element_valid(Emitter *e, Access *a, int r, LLVMValueRef owner,
                                  LLVMValueRef *ptr, bool with_mask, bool record)
{
    const TirOp *op = a->op;
    LLVMValueRef coords[LAYOUT_MAX_RANK];
    EntryIndex ix[MAX_INDEX];
    coords_of(e, a->l, r, coords);
    entry_indices(e, op, a, r, coords, -1, ix);
    LLVMValueRef valid = validity(e, op, ix, -1);
    /* built even when unused: a vector's last address is shared with its ragged block */
    LLVMValueRef address = element_pointer(e, op, address_of(e, op, ix));
    if (ptr)
        *ptr = address;
    if (with_mask && a->mask.regs)
        valid = LLVMBuildAnd(e->b, valid, a->mask.regs[r], "");
    LLVMValueRef inrange = NULL;
    for (int i = 0; i < op->nindex; i++) {
        if (!ix[i].inrange)
            continue;
        if (record) {
            LLVMValueRef bad = LLVMBuildAnd(e->b, valid, LLVMBuildNot(e->b, ix[i].inrange, ""), "");
            a->bad_index[i] = LLVMBuildSelect(e->b, bad, ix[i].index, a->bad_index[i], "");
            a->bad[i] = LLVMBuildOr(e->b, a->bad[i], bad, "");
        }
        inrange = and1(e, inrange, ix[i].inrange);
    }
    if (inrange)
        valid = LLVMBuildAnd(e->b, valid, inrange, "");
    return owner ? LLVMBuildAnd(e->b, valid, owner, "") : valid;
}

/* A vector's ends. A checked index along a vector is the same for all its elements (it
   indexes another dim), and so is a data mask that does not vary along it: a fault is
   gathered at the first element. A mask that varies is ANDed over the vector (no checked
   index comes with one here: vector_width). */
static VectorEnds vector_ends(Emitter *e, Access *a, int r0, int width, LLVMValueRef owner)
{
    bool varies = a->mask.regs && !a->mask_uniform;
    VectorEnds v;
    v.first = element_valid(e, a, r0, owner, &v.ptr, !varies, true);
    v.all = width > 1 ? element_valid(e, a, r0 + width - 1, owner, NULL, !varies, false) : v.first;
    for (int j = 0; varies && j < width; j++)
        v.all = LLVMBuildAnd(e->b, v.all, a->mask.regs[r0 + j], "");
    return v;
}

/* Opens the ragged block of a vector (entered when its first element is valid and its last
   is not); returns the block it branched from. */
static LLVMBasicBlockRef open_ragged(Emitter *e, const VectorEnds *v, const char *name,
                                     LLVMBasicBlockRef *slow, LLVMBasicBlockRef *join)
{
    LLVMBasicBlockRef from = LLVMGetInsertBlock(e->b);
    *slow = codegen_block(e->cg, name);
    *join = codegen_block(e->cg, "ragged.done");
    LLVMBuildCondBr(e->b, LLVMBuildAnd(e->b, v->first, LLVMBuildNot(e->b, v->all, ""), ""), *slow, *join);
    LLVMPositionBuilderAtEnd(e->b, *slow);
    return from;
}

static LLVMValueRef word_part(Emitter *e, LLVMValueRef const *w, int j, int es)
{
    if (es == 8)
        return LLVMBuildOr(e->b, LLVMBuildZExt(e->b, w[2 * j], e->cg->t.i64, ""),
                           LLVMBuildShl(e->b, LLVMBuildZExt(e->b, w[2 * j + 1], e->cg->t.i64, ""),
                                        emit_i64(e, 32), ""), "");
    return LLVMBuildTrunc(e->b, LLVMBuildLShr(e->b, w[j * es / 4], emit_i32(e, (j * es % 4) * 8), ""),
                          bits_type(e, es), "");
}

/* A load whose tile the producer copied into the ring (OperandPlan.landing): each thread
   reads its registers from the current block's slot in vectors of up to 16 bytes along the
   innermost axis, each inside one 16-byte chunk of the swizzled tile (aligned to its size).
   What lies past the tensor's edge arrived as zeros; lanes past a loop's extent but inside
   the tensor hold data, which the one dot this load feeds zeroes when it stages them
   (plan_landing, tma_masks_hold). */
static void emit_landed_load(Emitter *e, const TirOp *op, const OperandPlan *o)
{
    const TirValue *rv = op->results[0];
    const Layout *l = e->s->layouts[rv->id];
    DType t = rv->type.dtype;
    int es = stored_bytes(t), width = 1;
    for (int i = 0; i < l->nreg && l->reg[i][1] == width && width * es < 16; i++)
        width *= 2;
    int bytes = width * es;
    LLVMTypeRef vt = bytes <= 4 ? bits_type(e, bytes) : LLVMVectorType(e->cg->t.i32, (unsigned)bytes / 4);
    const LoopPlan *lp = schedule_loop(e->s, o->loop);
    LLVMValueRef slot = LLVMBuildAdd(e->b, emit_i32(e, o->smem_offset),
                                     LLVMBuildMul(e->b, e->ring_slot[lp->ring], emit_i32(e, o->slot_bytes), ""), "");
    Tile out = emit_tile_new(e, l);
    for (int r0 = 0; r0 < out.n; r0 += width) {
        LLVMValueRef row = emit_coord(e, l, r0, 0);
        LLVMValueRef byte = LLVMBuildMul(e->b, emit_coord(e, l, r0, 1), emit_i32(e, es), "");
        LLVMValueRef v = LLVMBuildLoad2(e->b, vt, emit_smem_at(e, LLVMBuildAdd(e->b, slot,
                                            emit_tile_offset(e, o, row, byte), "")), "");
        LLVMSetAlignment(v, (unsigned)bytes);
        LLVMValueRef w[4];   /* 32-bit words, as word_part splits them */
        for (int i = 0; i < (bytes + 3) / 4; i++)
            w[i] = bytes <= 4 ? LLVMBuildZExtOrBitCast(e->b, v, e->cg->t.i32, "")
                              : LLVMBuildExtractElement(e->b, v, emit_i32(e, i), "");
        for (int j = 0; j < width; j++)
            out.regs[r0 + j] = from_bits(e, word_part(e, w, j, es), t);
    }
    e->values[rv->id] = out;
}

void emit_load(Emitter *e, const TirOp *op)
{
    const TirValue *rv = op->results[0];
    const Layout *l = e->s->layouts[rv->id];
    DType t = rv->type.dtype;
    const OperandPlan *landing = schedule_landing(e->s, op);
    if (landing) {
        emit_landed_load(e, op, landing);
        return;
    }
    Access a;
    access_begin(e, op, l, &a);
    Tile out = emit_tile_new(e, l);
    int width = vector_width(e, &a, t), es = stored_bytes(t);
    if (width == 1) {
        for (int r = 0; r < out.n; r++) {
            LLVMValueRef ptr, valid = element_valid(e, &a, r, NULL, &ptr, true, true);
            out.regs[r] = from_bits(e, scalar_load(e, ptr, valid, es), t);
        }
        e->values[rv->id] = out;
        access_end(e, &a);
        return;
    }
    /* The phi at the join takes the loaded 32-bit words, split into elements only after
       it: a split in the fast path would use the load's registers before the branch, and
       ptxas would then wait for each vector load before issuing the next. */
    int words = width * es / 4;
    for (int r0 = 0; r0 < out.n; r0 += width) {
        VectorEnds v = vector_ends(e, &a, r0, width, NULL);
        LLVMValueRef w[4], one[4];
        nvvm_load_global_predicated(e->cg, v.ptr, v.all, words, w);
        LLVMBasicBlockRef slow, join;
        LLVMBasicBlockRef fast = open_ragged(e, &v, "load.ragged", &slow, &join);
        for (int i = 0; i < words; i++)
            one[i] = emit_i32(e, 0);
        for (int j = 0; j < width; j++) {
            LLVMValueRef ptr, valid = element_valid(e, &a, r0 + j, NULL, &ptr, true, false);
            LLVMValueRef b = scalar_load(e, ptr, valid, es);
            if (es == 8) {
                one[2 * j] = LLVMBuildTrunc(e->b, b, e->cg->t.i32, "");
                one[2 * j + 1] = LLVMBuildTrunc(e->b, LLVMBuildLShr(e->b, b, emit_i64(e, 32), ""),
                                                e->cg->t.i32, "");
                continue;
            }
            LLVMValueRef part = es == 4 ? b : LLVMBuildZExt(e->b, b, e->cg->t.i32, "");
            if (j * es % 4)
                part = LLVMBuildShl(e->b, part, emit_i32(e, (j * es % 4) * 8), "");
            one[j * es / 4] = LLVMBuildOr(e->b, one[j * es / 4], part, "");
        }
        LLVMBasicBlockRef slow_end = LLVMGetInsertBlock(e->b);
        LLVMBuildBr(e->b, join);
        LLVMPositionBuilderAtEnd(e->b, join);
        LLVMValueRef joined[4];
        for (int i = 0; i < words; i++) {
            joined[i] = LLVMBuildPhi(e->b, e->cg->t.i32, "");
            LLVMAddIncoming(joined[i], &w[i], &fast, 1);
            LLVMAddIncoming(joined[i], &one[i], &slow_end, 1);
        }
        for (int j = 0; j < width; j++)
            out.regs[r0 + j] = from_bits(e, word_part(e, joined, j, es), t);
    }
    e->values[rv->id] = out;
    access_end(e, &a);
}

void emit_store(Emitter *e, const TirOp *op)
{
    const TirValue *value = op->operands[0];
    const Tile *in = &e->values[value->id];
    const Layout *l = in->layout;
    DType t = value->type.dtype;
    Access a;
    access_begin(e, op, l, &a);
    LLVMValueRef owner = emit_owner(e, l);
    int width = vector_width(e, &a, t), es = stored_bytes(t);
    LLVMValueRef *bits = arena_alloc(e->arena, sizeof(LLVMValueRef) * (size_t)in->n);
    for (int r = 0; r < in->n; r++)
        bits[r] = to_bits(e, in->regs[r], t);
    if (width == 1) {
        for (int r = 0; r < in->n; r++) {
            LLVMValueRef ptr, valid = element_valid(e, &a, r, owner, &ptr, true, true);
            scalar_store(e, ptr, valid, bits[r], es);
        }
        access_end(e, &a);
        return;
    }
    for (int r0 = 0; r0 < in->n; r0 += width) {
        VectorEnds v = vector_ends(e, &a, r0, width, owner);
        int words = width * es / 4;
        LLVMValueRef w[4];
        for (int i = 0; i < words; i++)
            w[i] = emit_i32(e, 0);
        for (int j = 0; j < width; j++) {
            LLVMValueRef b = bits[r0 + j];
            /* fp8 pairs rounded from f32: one cvt.rn.satfinite.*x2 for both bytes */
            LLVMValueRef flo = dtype_is_fp8(t) && j % 2 == 0 && j + 1 < width
                                   ? emit_rounded_from_f32(e, in->regs[r0 + j], t) : NULL;
            LLVMValueRef fhi = flo ? emit_rounded_from_f32(e, in->regs[r0 + j + 1], t) : NULL;
            if (fhi) {
                LLVMValueRef pair = LLVMBuildZExt(e->b, nvvm_pack_fp8x2(e->cg, t, flo, fhi), e->cg->t.i32, "");
                LLVMValueRef part = LLVMBuildShl(e->b, pair, emit_i32(e, (j % 4) * 8), "");
                w[j / 4] = LLVMBuildOr(e->b, w[j / 4], part, "");
                j++;
                continue;
            }
            if (es == 8) {
                w[2 * j] = LLVMBuildTrunc(e->b, b, e->cg->t.i32, "");
                w[2 * j + 1] = LLVMBuildTrunc(e->b, LLVMBuildLShr(e->b, b, emit_i64(e, 32), ""),
                                              e->cg->t.i32, "");
                continue;
            }
            LLVMValueRef part = LLVMBuildShl(e->b, LLVMBuildZExt(e->b, b, e->cg->t.i32, ""),
                                             emit_i32(e, (j * es % 4) * 8), "");
            w[j * es / 4] = LLVMBuildOr(e->b, w[j * es / 4], part, "");
        }
        nvvm_store_global_predicated(e->cg, v.ptr, v.all, words, w);
        LLVMBasicBlockRef slow, join;
        open_ragged(e, &v, "store.ragged", &slow, &join);
        for (int r = r0; r < r0 + width; r++) {
            LLVMValueRef ptr, valid = element_valid(e, &a, r, owner, &ptr, true, false);
            scalar_store(e, ptr, valid, bits[r], es);
        }
        LLVMBuildBr(e->b, join);
        LLVMPositionBuilderAtEnd(e->b, join);
    }
    access_end(e, &a);
}

/* f32 min by the integer order trick (see nvvm_atomic_max_f32): atom.min.s32 for a clear
   sign bit, atom.max.u32 for a set one. */
static void atomic_min_f32(Emitter *e, LLVMValueRef ptr, LLVMValueRef value)
{
    LLVMValueRef bits = LLVMBuildBitCast(e->b, value, e->cg->t.i32, "");
    LLVMValueRef negative = LLVMBuildICmp(e->b, LLVMIntSLT, bits, emit_i32(e, 0), "");
    LLVMBasicBlockRef neg = codegen_block(e->cg, "amin.neg"), pos = codegen_block(e->cg, "amin.pos");
    LLVMBasicBlockRef done = codegen_block(e->cg, "amin.done");
    LLVMBuildCondBr(e->b, negative, neg, pos);
    unsigned scope = LLVMGetSyncScopeID(e->cg->llvm, "device", 6);
    LLVMPositionBuilderAtEnd(e->b, neg);
    LLVMBuildAtomicRMWSyncScope(e->b, LLVMAtomicRMWBinOpUMax, ptr, bits,
                                LLVMAtomicOrderingMonotonic, scope);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, pos);
    LLVMBuildAtomicRMWSyncScope(e->b, LLVMAtomicRMWBinOpMin, ptr, bits,
                                LLVMAtomicOrderingMonotonic, scope);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, done);
}

/* One atomic per element, from the one thread that owns it. */
void emit_atomic(Emitter *e, const TirOp *op)
{
    const TirValue *v = op->operands[0];
    const Tile *in = &e->values[v->id];
    const Layout *l = in->layout;
    DType t = v->type.dtype;
    if (t != DT_F32 && t != DT_I32 && t != DT_I64) {
        emit_fail(e, "atomic %s on %s is not supported (f32, i32, i64)",
                  tir_reduce_name((TirReduceKind)op->sub), dtype_name(t));
        return;
    }
    Access a;
    access_begin(e, op, l, &a);
    LLVMValueRef owner = emit_owner(e, l);
    unsigned scope = LLVMGetSyncScopeID(e->cg->llvm, "device", 6);
    for (int r = 0; r < in->n; r++) {
        LLVMValueRef ptr, valid = element_valid(e, &a, r, owner, &ptr, true, true);
        LLVMBasicBlockRef doit = codegen_block(e->cg, "atomic"), next = codegen_block(e->cg, "atomic.done");
        LLVMBuildCondBr(e->b, valid, doit, next);
        LLVMPositionBuilderAtEnd(e->b, doit);
        LLVMValueRef x = in->regs[r];
        if (op->sub == TIR_RED_SUM)
            LLVMBuildAtomicRMWSyncScope(e->b, t == DT_F32 ? LLVMAtomicRMWBinOpFAdd : LLVMAtomicRMWBinOpAdd,
                                        ptr, x, LLVMAtomicOrderingMonotonic, scope);
        else if (t == DT_F32 && op->sub == TIR_RED_MAX)
            nvvm_atomic_max_f32(e->cg, ptr, x);
        else if (t == DT_F32)
            atomic_min_f32(e, ptr, x);
        else
            LLVMBuildAtomicRMWSyncScope(e->b, op->sub == TIR_RED_MAX ? LLVMAtomicRMWBinOpMax
                                                                     : LLVMAtomicRMWBinOpMin,
                                        ptr, x, LLVMAtomicOrderingMonotonic, scope);
        LLVMBuildBr(e->b, next);
        LLVMPositionBuilderAtEnd(e->b, next);
    }
    access_end(e, &a);
}
