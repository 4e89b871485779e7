/* tir.c — TIR data: the op table, the builder used by lowering, the parser and the passes,
   and the printer of the text form (docs/ir.md gives its grammar). The printer numbers
   values in print order, so printing is canonical and round-trips through tir_parse. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tir.h"

static const TirOpInfo op_table[TIR_OPCODE_COUNT] = {
#define OP(id, text, noperands, nresults, form) [TIR_##id] = {text, noperands, nresults, form},
#include "ops.def"
};

static const char *const unary_names[TIR_UN_COUNT] = {
#define UNOP(id, text) [TIR_UN_##id] = text,
#include "ops.def"
};

static const char *const binary_names[TIR_BIN_COUNT] = {
#define BINOP(id, text) [TIR_BIN_##id] = text,
#include "ops.def"
};

static const char *const cmp_names[TIR_CMP_COUNT] = {
#define CMPOP(id, text) [TIR_CMP_##id] = text,
#include "ops.def"
};

static const char *const reduce_names[TIR_RED_COUNT] = {
#define REDKIND(id, text) [TIR_RED_##id] = text,
#include "ops.def"
};

const TirOpInfo *tir_op_info(TirOpcode op)
{
    if ((int)op < 0 || op >= TIR_OPCODE_COUNT)
        return NULL;
    return &op_table[op];
}

const char *tir_unary_name(TirUnaryOp op)
{
    return (int)op >= 0 && op < TIR_UN_COUNT ? unary_names[op] : "?";
}

const char *tir_binary_name(TirBinaryOp op)
{
    return (int)op >= 0 && op < TIR_BIN_COUNT ? binary_names[op] : "?";
}

const char *tir_cmp_name(TirCmpOp op)
{
    return (int)op >= 0 && op < TIR_CMP_COUNT ? cmp_names[op] : "?";
}

const char *tir_reduce_name(TirReduceKind kind)
{
    return (int)kind >= 0 && kind < TIR_RED_COUNT ? reduce_names[kind] : "?";
}

/* ---- builder */

TirKernel *tir_kernel_new(Arena *a, const char *name, Loc loc)
{
    TirKernel *k = arena_alloc(a, sizeof *k);
    k->name = arena_strdup(a, name);
    k->loc = loc;
    k->arena = a;
    k->body = tir_block_new(k, NULL);
    return k;
}

TirBlock *tir_block_new(TirKernel *k, TirOp *parent)
{
    TirBlock *b = arena_alloc(k->arena, sizeof *b);
    b->parent = parent;
    return b;
}

static TirValue *value_new(TirKernel *k, TirType type)
{
    TirValue *v = arena_alloc(k->arena, sizeof *v);
    v->id = k->nvalues++;
    v->type = type;
    return v;
}

TirValue *tir_block_add_arg(TirKernel *k, TirBlock *b, TirType type)
{
    TirValue *v = value_new(k, type);
    v->owner = b;
    v->def_index = b->nargs;
    TirValue **args = arena_alloc(k->arena, (size_t)(b->nargs + 1) * sizeof *args);
    if (b->nargs)
        memcpy(args, b->args, (size_t)b->nargs * sizeof *args);
    args[b->nargs++] = v;
    b->args = args;
    return v;
}

TirOp *tir_op_new(TirKernel *k, TirOpcode opcode, Loc loc, int noperands, int nresults,
                  const TirType *result_types)
{
    TirOp *op = arena_alloc(k->arena, sizeof *op);
    op->opcode = opcode;
    op->loc = loc;
    op->axis = -1;
    op->param = op->sym = op->loopvar = -1;
    op->noperands = noperands;
    if (noperands > 0)
        op->operands = arena_alloc(k->arena, (size_t)noperands * sizeof *op->operands);
    op->nresults = nresults;
    if (nresults > 0) {
        op->results = arena_alloc(k->arena, (size_t)nresults * sizeof *op->results);
        for (int i = 0; i < nresults; i++) {
            op->results[i] = value_new(k, result_types ? result_types[i] : tir_type_scalar(DT_F32));
            op->results[i]->def = op;
            op->results[i]->def_index = i;
        }
    }
    return op;
}

void tir_op_append(TirBlock *b, TirOp *op)
{
    op->block = b;
    op->next = NULL;
    op->prev = b->last;
    if (b->last)
        b->last->next = op;
    else
        b->first = op;
    b->last = op;
}

void tir_op_insert_before(TirOp *pos, TirOp *op)
{
    TirBlock *b = pos->block;
    op->block = b;
    op->next = pos;
    op->prev = pos->prev;
    if (pos->prev)
        pos->prev->next = op;
    else
        b->first = op;
    pos->prev = op;
}

void tir_op_remove(TirOp *op)
{
    TirBlock *b = op->block;
    if (!b)
        return;
    if (op->prev)
        op->prev->next = op->next;
    else
        b->first = op->next;
    if (op->next)
        op->next->prev = op->prev;
    else
        b->last = op->prev;
    op->prev = op->next = NULL;
    op->block = NULL;
}

TirLoopVar *tir_loopvar_new(TirKernel *k, const char *name, bool is_grid, Loc loc)
{
    TirLoopVar *lv = arena_alloc(k->arena, sizeof *lv);
    lv->name = arena_strdup(k->arena, name);
    lv->is_grid = is_grid;
    lv->tunable = -1;
    lv->block = 1;
    lv->loc = loc;
    lv->id = k->nloopvars;
    TirLoopVar **vars = arena_alloc(k->arena, (size_t)(k->nloopvars + 1) * sizeof *vars);
    if (k->nloopvars)
        memcpy(vars, k->loopvars, (size_t)k->nloopvars * sizeof *vars);
    vars[k->nloopvars++] = lv;
    k->loopvars = vars;
    return lv;
}

void tir_walk(TirBlock *b, void (*fn)(TirOp *op, void *ctx), void *ctx)
{
    if (!b)
        return;
    for (TirOp *op = b->first, *next; op; op = next) {
        next = op->next;   /* fn may remove op */
        fn(op, ctx);
        for (int r = 0; r < 3; r++)
            tir_walk(op->regions[r], fn, ctx);
    }
}

typedef struct ReplaceCtx {
    const TirValue *from;
    TirValue *to;
    int count;
} ReplaceCtx;

static void replace_in_op(TirOp *op, void *ctx)
{
    ReplaceCtx *rc = ctx;
    for (int i = 0; i < op->noperands; i++)
        if (op->operands[i] == rc->from) {
            if (rc->to)
                op->operands[i] = rc->to;
            rc->count++;
        }
}

void tir_replace_uses(TirKernel *k, const TirValue *from, TirValue *to)
{
    ReplaceCtx rc = {from, to, 0};
    tir_walk(k->body, replace_in_op, &rc);
}

int tir_count_uses(const TirKernel *k, const TirValue *v)
{
    ReplaceCtx rc = {v, NULL, 0};
    tir_walk(k->body, replace_in_op, &rc);
    return rc.count;
}

static void renumber_block(TirKernel *k, TirBlock *b);

static void renumber_op(TirKernel *k, TirOp *op)
{
    for (int i = 0; i < op->nresults; i++)
        op->results[i]->id = k->nvalues++;
    for (int r = 0; r < 3; r++)
        if (op->regions[r])
            renumber_block(k, op->regions[r]);
}

static void renumber_block(TirKernel *k, TirBlock *b)
{
    for (int i = 0; i < b->nargs; i++)
        b->args[i]->id = k->nvalues++;
    for (TirOp *op = b->first; op; op = op->next)
        renumber_op(k, op);
}

static void mark_full_type(TirKernel *k, const TirType *t)
{
    for (int i = 0; i < t->rank; i++)
        if (t->axes[i].kind == AXIS_FULL && t->axes[i].id >= 0 && t->axes[i].id < k->nsyms)
            k->syms[t->axes[i].id].is_full = true;
}

static void mark_full_op(TirOp *op, void *ctx)
{
    TirKernel *k = ctx;
    for (int i = 0; i < op->nresults; i++)
        mark_full_type(k, &op->results[i]->type);
    for (int r = 0; r < 3; r++)
        if (op->regions[r])
            for (int i = 0; i < op->regions[r]->nargs; i++)
                mark_full_type(k, &op->regions[r]->args[i]->type);
}

void tir_renumber(TirKernel *k)
{
    k->nvalues = 0;
    renumber_block(k, k->body);
    for (int i = 0; i < k->nsyms; i++)
        k->syms[i].is_full = false;
    tir_walk(k->body, mark_full_op, k);
}

/* ---- types and lookups */

TirType tir_type_scalar(DType dtype)
{
    TirType t;
    memset(&t, 0, sizeof t);
    t.dtype = dtype;
    return t;
}

bool tir_axis_equal(Axis a, Axis b)
{
    return a.kind == b.kind && (a.kind == AXIS_ONE || a.id == b.id);
}

bool tir_type_equal(const TirType *a, const TirType *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (!tir_axis_equal(a->axes[i], b->axes[i]))
            return false;
    return true;
}

/* Whether a value of type `t` may stand for a tile of type `of` in an elementwise op: the
   same type, or a scalar. */
static bool fits(const TirType *t, const TirType *of)
{
    return t->dtype == DT_F32 && (t->rank == 0 || tir_type_equal(t, of));
}

/* The value that stands for v: what a dot's epilogue yields (a dot scaled, or masked, in
   its epilogue), else v itself. */
static const TirValue *through_epilogue(const TirValue *v)
{
    const TirOp *d = v->def;
    const TirBlock *epilogue = d && d->opcode == TIR_DOT ? d->regions[TIR_REGION_EPILOGUE] : NULL;
    if (epilogue && epilogue->last && epilogue->last->opcode == TIR_YIELD &&
        epilogue->last->noperands == 1)
        return epilogue->last->operands[0];
    return v;
}

/* The f32 mul that v is (through a dot's epilogue), or NULL. */
static const TirOp *multiply_of(const TirValue *v)
{
    const TirOp *m = through_epilogue(v)->def;
    return m && m->opcode == TIR_BINARY && m->sub == TIR_BIN_MUL &&
           fits(&m->results[0]->type, &v->type) ? m : NULL;
}

bool tir_fused_multiply(const TirOp *op, TirFusedMultiply *out)
{
    const TirType *rt = &op->results[0]->type;
    if (op->opcode != TIR_BINARY || (op->sub != TIR_BIN_ADD && op->sub != TIR_BIN_SUB) ||
        op->noperands != 2 || rt->dtype != DT_F32 || op->operands[0]->type.dtype != DT_F32 ||
        op->operands[1]->type.dtype != DT_F32)
        return false;
    for (int i = 0; i < 2; i++) {
        const TirValue *v = op->operands[i];
        if (!fits(&v->type, rt))
            continue;
        *out = (TirFusedMultiply){.mul = multiply_of(v), .operand = i};
        if (out->mul)
            return true;
        const TirOp *sel = through_epilogue(v)->def;
        if (!sel || sel->opcode != TIR_SELECT || !fits(&sel->results[0]->type, &v->type))
            continue;
        for (int branch = 1; branch <= 2; branch++) {
            const TirValue *b = sel->operands[branch];
            out->mul = fits(&b->type, &v->type) ? multiply_of(b) : NULL;
            if (out->mul) {
                out->select = sel;
                out->mul_branch = branch;
                return true;
            }
        }
    }
    return false;
}

static const char *axis_name(const TirKernel *k, Axis ax)
{
    switch (ax.kind) {
    case AXIS_BLOCK:
        return ax.id >= 0 && ax.id < k->nloopvars ? k->loopvars[ax.id]->name : "?";
    case AXIS_FULL:
        return ax.id >= 0 && ax.id < k->nsyms ? k->syms[ax.id].name : "?";
    case AXIS_ONE:
        return "1";
    case AXIS_CONST:
        return ax.id == 2 ? "2" : "?";   /* a tile's pair axis (split, join) */
    default:
        return "?";
    }
}

const char *tir_type_str(char *buf, size_t size, const TirKernel *k, const TirType *t)
{
    if (!size)
        return buf;
    size_t n = (size_t)snprintf(buf, size, "%s", dtype_name(t->dtype));
    if (t->rank > 0 && n < size) {
        for (int i = 0; i < t->rank && n < size; i++)
            n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "[", axis_name(k, t->axes[i]));
        if (n < size)
            snprintf(buf + n, size - n, "]");
    }
    return buf;
}

int tir_find_param(const TirKernel *k, const char *name)
{
    for (int i = 0; i < k->nparams; i++)
        if (strcmp(k->params[i].name, name) == 0)
            return i;
    return -1;
}

int tir_find_sym(const TirKernel *k, const char *name)
{
    for (int i = 0; i < k->nsyms; i++)
        if (strcmp(k->syms[i].name, name) == 0)
            return i;
    return -1;
}

static void note_fp8_dot(TirOp *op, void *ctx)
{
    if (op->opcode == TIR_DOT && (dtype_is_fp8(op->operands[0]->type.dtype) ||
                                  dtype_is_fp8(op->operands[1]->type.dtype)))
        *(bool *)ctx = true;
}

bool tir_has_fp8_dot(const TirKernel *k)
{
    bool found = false;
    tir_walk(k->body, note_fp8_dot, &found);
    return found;
}

int tir_find_tunable(const TirKernel *k, const char *name)
{
    for (int i = 0; i < k->ntunables; i++)
        if (strcmp(k->tunables[i].name, name) == 0)
            return i;
    return -1;
}

TirValue *tir_index_value(const TirOp *op, int i)
{
    if (i < 0 || i >= op->nindex || op->index[i].kind != TIR_IDX_VALUE)
        return NULL;
    int o = op->index[i].operand;
    return o >= 0 && o < op->noperands ? op->operands[o] : NULL;
}

int tir_index_rank(const TirIndex *index, int nindex)
{
    int n = 0;
    for (int i = 0; i < nindex; i++)
        if (index[i].kind != TIR_IDX_NEWAXIS)
            n++;
    return n;
}

int tir_index_axes(const TirKernel *k, const TirOp *op, int i)
{
    const TirIndex *x = &op->index[i];
    switch (x->kind) {
    case TIR_IDX_BLOCK: {
        const TirLoopVar *lv = k->loopvars[x->loopvar];
        return lv->tunable < 0 && lv->block == 1 ? 0 : 1;
    }
    case TIR_IDX_VALUE: {
        const TirValue *v = tir_index_value(op, i);
        return v ? v->type.rank : 0;
    }
    default:
        return 1;
    }
}

TirValue *tir_data_mask(const TirOp *op)
{
    bool memory = op->opcode == TIR_LOAD || op->opcode == TIR_STORE || op->opcode == TIR_ATOMIC;
    return memory && op->masked && op->noperands > 0 ? op->operands[op->noperands - 1] : NULL;
}

/* ---- printer */

typedef struct Printer {
    FILE *out;
    const TirKernel *k;
    int *numbers;       /* print number by value id, -1 when not yet printed */
    int nnumbers;
    int next;
} Printer;

static int value_number(Printer *p, const TirValue *v)
{
    if (!v || v->id < 0 || v->id >= p->nnumbers)
        return -1;
    if (p->numbers[v->id] < 0)
        p->numbers[v->id] = p->next++;
    return p->numbers[v->id];
}

static void print_value(Printer *p, const TirValue *v)
{
    int n = value_number(p, v);
    if (n < 0)
        fputs("%?", p->out);
    else
        fprintf(p->out, "%%%d", n);
}

static void print_type(Printer *p, const TirType *t)
{
    char buf[512];
    fputs(tir_type_str(buf, sizeof buf, p->k, t), p->out);
}

static void indent(Printer *p, int depth)
{
    for (int i = 0; i < depth; i++)
        fputs("    ", p->out);
}

/* The shortest decimal that reads back as the same double, always recognisable as a float. */
static void print_float(FILE *out, double v)
{
    if (isnan(v)) {
        fputs("nan", out);
        return;
    }
    if (isinf(v)) {
        fputs(v < 0 ? "-inf" : "inf", out);
        return;
    }
    char buf[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, out);
    if (!strpbrk(buf, ".eE"))
        fputs(".0", out);
}

static void print_loc(Printer *p, Loc loc)
{
    if (loc.line > 0)
        fprintf(p->out, " @%d:%d", loc.line, loc.col);
}

static const char *mask_name(TirMask m)
{
    switch (m) {
    case TIR_MASK_NONE: return "none";
    case TIR_MASK_LOOP: return "loop";
    case TIR_MASK_DIM: return "dim";
    case TIR_MASK_BOTH: return "both";
    case TIR_MASK_CHECK: return "check";
    case TIR_MASK_LOOP_CHECK: return "loop_check";
    }
    return "?";
}

static void print_operands(Printer *p, TirValue *const *vals, int n)
{
    for (int i = 0; i < n; i++) {
        if (i)
            fputs(", ", p->out);
        print_value(p, vals[i]);
    }
}

static void print_block_body(Printer *p, const TirBlock *b, int depth);

static void print_index(Printer *p, const TirOp *op)
{
    const TirKernel *k = p->k;
    const char *pname = op->param >= 0 && op->param < k->nparams ? k->params[op->param].name : "?";
    fprintf(p->out, "%s[", pname);
    bool any_mask = false;
    for (int i = 0; i < op->nindex; i++) {
        const TirIndex *ix = &op->index[i];
        if (i)
            fputs(", ", p->out);
        switch (ix->kind) {
        case TIR_IDX_BLOCK:
            fputs(ix->loopvar >= 0 && ix->loopvar < k->nloopvars ? k->loopvars[ix->loopvar]->name : "?", p->out);
            break;
        case TIR_IDX_FULL:
            fputs(":", p->out);
            break;
        case TIR_IDX_VALUE:
            print_value(p, tir_index_value(op, i));
            break;
        case TIR_IDX_NEWAXIS:
            fputs("None", p->out);
            break;
        }
        if (ix->mask)
            any_mask = true;
    }
    fputs("]", p->out);
    if (op->opcode != TIR_LOAD && op->noperands > 0) {
        fputs(", ", p->out);
        print_value(p, op->operands[0]);
    }
    if (any_mask) {
        fputs(" mask(", p->out);
        for (int i = 0; i < op->nindex; i++)
            fprintf(p->out, "%s%s", i ? ", " : "", mask_name(op->index[i].mask));
        fputs(")", p->out);
    }
    if (tir_data_mask(op)) {
        fputs(" if ", p->out);
        print_value(p, tir_data_mask(op));
    }
}

static void print_block_args(Printer *p, const TirBlock *b)
{
    fputs("(", p->out);
    for (int i = 0; i < b->nargs; i++) {
        if (i)
            fputs(", ", p->out);
        print_value(p, b->args[i]);
        fputs(": ", p->out);
        print_type(p, &b->args[i]->type);
    }
    fputs(")", p->out);
}

static void print_loop_header(Printer *p, const TirOp *op)
{
    const TirKernel *k = p->k;
    fprintf(p->out, "%s ", tir_op_info(op->opcode)->name);
    for (int i = 0; i < op->nvars; i++) {
        const TirLoopVar *lv = op->loopvars[i] >= 0 && op->loopvars[i] < k->nloopvars
                                   ? k->loopvars[op->loopvars[i]] : NULL;
        if (i)
            fputs(", ", p->out);
        fprintf(p->out, "%s in tile(", lv ? lv->name : "?");
        if (tir_loop_start(op)) {
            print_value(p, tir_loop_start(op));
            fputs(", ", p->out);
        }
        print_value(p, i < op->noperands ? op->operands[i] : NULL);
        fputs(") block ", p->out);
        if (!lv)
            fputs("?", p->out);
        else if (lv->tunable >= 0 && lv->tunable < k->ntunables)
            fputs(k->tunables[lv->tunable].name, p->out);
        else
            fprintf(p->out, "%" PRId64, lv->block);
        if (lv && lv->is_branch)
            fputs(" branch", p->out);
    }
    const TirBlock *body = op->regions[0];
    if (body && body->nargs) {
        fputs(" iter(", p->out);
        for (int i = 0; i < body->nargs; i++) {
            if (i)
                fputs(", ", p->out);
            print_value(p, body->args[i]);
            fputs(": ", p->out);
            print_type(p, &body->args[i]->type);
            fputs(" = ", p->out);
            print_value(p, op->nvars + i < op->noperands ? op->operands[op->nvars + i] : NULL);
        }
        fputs(")", p->out);
    }
}

static void print_full_value(Printer *p, const TirOp *op)
{
    fputs("full ", p->out);
    if (op->nresults && dtype_is_float(op->results[0]->type.dtype))
        print_float(p->out, op->fvalue);
    else if (op->nresults && op->results[0]->type.dtype == DT_BOOL)
        fputs(op->ivalue ? "true" : "false", p->out);
    else
        fprintf(p->out, "%" PRId64, op->ivalue);
}

/* param NAME / dim SYM / begin VAR / end VAR / iota VAR */
static void print_named(Printer *p, const TirOp *op)
{
    const TirKernel *k = p->k;
    const char *name = "?";
    if (op->opcode == TIR_PARAM && op->param >= 0 && op->param < k->nparams)
        name = k->params[op->param].name;
    else if (op->opcode == TIR_DIM && op->sym >= 0 && op->sym < k->nsyms)
        name = k->syms[op->sym].name;
    else if (op->opcode != TIR_PARAM && op->opcode != TIR_DIM && op->loopvar >= 0 &&
             op->loopvar < k->nloopvars)
        name = k->loopvars[op->loopvar]->name;
    fprintf(p->out, "%s %s", tir_op_info(op->opcode)->name, name);
}

/* The op between `%r = ` and ` : T`, by its form. */
static void print_op_form(Printer *p, const TirOp *op)
{
    const TirOpInfo *info = tir_op_info(op->opcode);
    switch (info->form) {
    case TIR_FORM_FULL:
        print_full_value(p, op);
        break;
    case TIR_FORM_NAMED:
        print_named(p, op);
        break;
    case TIR_FORM_OPERANDS:
        if (op->opcode == TIR_UNARY)
            fputs(tir_unary_name(op->sub), p->out);
        else if (op->opcode == TIR_BINARY)
            fputs(tir_binary_name(op->sub), p->out);
        else if (op->opcode == TIR_CMP)
            fputs(tir_cmp_name(op->sub), p->out);
        else
            fputs(info->name, p->out);
        fputs(" ", p->out);
        print_operands(p, op->operands, op->noperands);
        break;
    case TIR_FORM_AXIS:
        fprintf(p->out, "%s ", info->name);
        print_operands(p, op->operands, op->noperands);
        fprintf(p->out, ", %d%s", op->axis, op->opcode == TIR_CUMSUM && op->sub ? " exclusive" : "");
        break;
    case TIR_FORM_REDUCE:
        fprintf(p->out, "reduce %s ", tir_reduce_name(op->sub));
        print_operands(p, op->operands, op->noperands);
        fprintf(p->out, ", %d%s", op->axis, op->masked ? " masked" : "");
        break;
    case TIR_FORM_DOT:
        fputs("dot ", p->out);
        print_operands(p, op->operands, op->noperands);
        if (op->sub == TIR_DOT_TF32)
            fputs(" tf32", p->out);
        if (op->masked)
            fputs(" masked", p->out);
        break;
    case TIR_FORM_MEMORY:
        fprintf(p->out, "%s ", info->name);
        if (op->opcode == TIR_ATOMIC)
            fprintf(p->out, "%s ", tir_reduce_name(op->sub));
        print_index(p, op);
        break;
    case TIR_FORM_LOOP:
        print_loop_header(p, op);
        break;
    case TIR_FORM_YIELD:
        fputs("yield", p->out);
        if (op->noperands)
            fputs(" ", p->out);
        print_operands(p, op->operands, op->noperands);
        break;
    }
}

/* A loop's body, or a dot's prologue/epilogue regions, after the op's line. */
static void print_op_regions(Printer *p, const TirOp *op, int depth)
{
    TirForm form = tir_op_info(op->opcode)->form;
    if (form == TIR_FORM_LOOP) {
        fputs(" {\n", p->out);
        if (op->regions[0])
            print_block_body(p, op->regions[0], depth + 1);
        indent(p, depth);
        fputs("}", p->out);
    } else if (form == TIR_FORM_DOT) {
        static const char *const region_names[3] = {"prologue_a", "prologue_b", "epilogue"};
        for (int r = 0; r < 3; r++) {
            if (!op->regions[r])
                continue;
            fprintf(p->out, " %s", region_names[r]);
            print_block_args(p, op->regions[r]);
            fputs(" {\n", p->out);
            print_block_body(p, op->regions[r], depth + 1);
            indent(p, depth);
            fputs("}", p->out);
        }
    }
}

static void print_op(Printer *p, const TirOp *op, int depth)
{
    indent(p, depth);
    if (op->nresults > 0) {
        print_operands(p, op->results, op->nresults);
        fputs(" = ", p->out);
    }
    print_op_form(p, op);
    if (op->nresults == 1 && tir_op_info(op->opcode)->form != TIR_FORM_LOOP) {
        fputs(" : ", p->out);
        print_type(p, &op->results[0]->type);
    }
    print_loc(p, op->loc);
    print_op_regions(p, op, depth);
    fputs("\n", p->out);
}

static void print_block_body(Printer *p, const TirBlock *b, int depth)
{
    for (const TirOp *op = b->first; op; op = op->next)
        print_op(p, op, depth);
}

static void print_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20 || *c >= 0x7f)
            fprintf(out, "\\x%02x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

static void print_dims(FILE *out, const TirKernel *k, const TirParam *prm)
{
    if (prm->rank == 0)
        return;
    fputs("[", out);
    for (int d = 0; d < prm->rank; d++) {
        if (d)
            fputs(", ", out);
        if (prm->dims[d].sym >= 0 && prm->dims[d].sym < k->nsyms)
            fputs(k->syms[prm->dims[d].sym].name, out);
        else
            fprintf(out, "%" PRId64, prm->dims[d].value);
    }
    fputs("]", out);
}

static void print_param(FILE *out, const TirKernel *k, const TirParam *prm)
{
    fprintf(out, "%s: ", prm->name);
    if (prm->kind == PARAM_CONST)
        fputs("const ", out);
    fputs(dtype_name(prm->dtype), out);
    print_dims(out, k, prm);
    if (prm->reduce != REDUCE_NONE)
        fprintf(out, " reduce(%s)", prm->reduce == REDUCE_SUM ? "sum" : prm->reduce == REDUCE_MAX ? "max" : "min");
    if (prm->kind == PARAM_CONST) {
        if (prm->nconst_values) {
            fputs(" in {", out);
            for (int i = 0; i < prm->nconst_values; i++)
                fprintf(out, "%s%" PRId64, i ? ", " : "", prm->const_values[i]);
            fputs("}", out);
        }
        if (prm->dtype == DT_BOOL)
            fprintf(out, " = %s", prm->const_value ? "true" : "false");
        else
            fprintf(out, " = %" PRId64, prm->const_value);
    }
}

void tir_print(FILE *out, const TirKernel *k)
{
    Printer p = {out, k, NULL, k->nvalues, 0};
    p.numbers = malloc((size_t)(k->nvalues > 0 ? k->nvalues : 1) * sizeof *p.numbers);
    if (!p.numbers) {
        fputs("tilec: out of memory\n", stderr);
        abort();
    }
    for (int i = 0; i < k->nvalues; i++)
        p.numbers[i] = -1;
    fprintf(out, "kernel %s(", k->name);
    for (int i = 0; i < k->nparams; i++) {
        if (i)
            fputs(", ", out);
        print_param(out, k, &k->params[i]);
    }
    fputs(") {\n", out);
    if (k->source) {
        fputs("    source ", out);
        print_quoted(out, k->source);
        fputs("\n", out);
    }
    for (int i = 0; i < k->ntunables; i++) {
        const TirTunable *t = &k->tunables[i];
        fputs("    ", out);
        knob_print_tunable(out, t->name, t->kind, t->values, t->nvalues, t->default_value);
    }
    print_block_body(&p, k->body, 1);
    fputs("}\n", out);
    free(p.numbers);
}

int64_t tir_next_pow2(int64_t x)
{
    int64_t p = 1;
    while (p < x && p < TIR_MAX_POW2)
        p <<= 1;
    return p;
}

int64_t tir_cdiv(int64_t a, int64_t b)
{
    if (b <= 0)
        return 0;
    return a > 0 ? (a - 1) / b + 1 : (a + b - 1) / b;   /* a + b - 1 would overflow near 2^63 */
}
