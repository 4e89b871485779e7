/* sema.c — the checker: resolves names, types every expression (tiles whose axes are loop
   blocks, whole dims or 1), enforces the kernel structure and the typing rules of
   docs/language.md, and fills the sema fields of front.h that the lowering consumes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "front.h"

/* Keeps each recursive step's stack frame to its own locals (see SEMA_MAX_DEPTH). */
#define NOINLINE __attribute__((noinline))

enum {
    SEMA_MAX_DEPTH = 10000, /* deepest nesting checked: a guard behind the parser's MAX_NESTING */
    MAX_BLOCK_SIZE = 1024,
    MAX_BLOCK_LOG2 = 10,
    TYPE_TEXT = 192,        /* room for one printed type */
};

static const Type error_type = {.kind = TYPE_ERROR};

/* What sema keeps about a local beside the public Local. */
typedef struct LocalInfo {
    Local *local;
    Symbol sym;
    int loop_depth;         /* loops open at its definition: a deeper loop assigning it carries it */
    const char *block;      /* "loop", "if", "else branch": the block that defined it, or NULL */
    bool hidden;            /* a loop variable of the same name (an error) is in scope */
} LocalInfo;

typedef struct LoopFrame {
    bool is_grid;
    PtrVec carried;         /* Local*, in order of first assignment */
} LoopFrame;

/* Everything one kernel's check needs; a fresh one per kernel. */
typedef struct Checker {
    Arena *arena;
    Diag *diag;
    const SemaOptions *opts;
    Kernel *kernel;
    Symbol *param_syms;     /* by position in kernel->params */
    Symbol *shape_syms;     /* by ShapeSym.id */
    Symbol *loopvar_syms;   /* by LoopVar.id */
    PtrVec locals;          /* LocalInfo*, by Local.id */
    PtrVec visible;         /* LocalInfo* in scope, innermost last */
    int *visible_below;     /* per visible entry: the next lower one in its name bucket, or -1 */
    int visible_below_cap;
    int *name_top;          /* by name hash (NAME_BUCKETS): the topmost visible entry, or -1 */
    PtrVec dead;            /* LocalInfo* whose block has closed */
    PtrVec scope_vars;      /* LoopVar* of the enclosing loops, innermost last */
    PtrVec frames;          /* LoopFrame* of the enclosing loops, outermost first */
    PtrVec tunables;        /* Tunable*, BLOCK_* first */
    PtrVec tunes;           /* STMT_TUNE already applied */
    Stmt *grid;             /* the grid loop, NULL if the kernel has none */
    const char *block;      /* the innermost open block: "loop", "if", "else branch" */
    bool in_prologue;       /* checking statements before the grid loop */
    int depth;
    bool too_deep_reported;
    bool fp8_reported;
    unsigned *block_roles;  /* BlockRole bits, by index in tunables: what it is used for */
    int dot_esize;          /* the narrowest `@` operand's bytes per element */
    int inner_esize;        /* the widest element of an access whose last index is a block */
    int ndots;              /* `@` expressions checked */
} Checker;

/* How a block size serves the kernel's dots: rows or columns of a result, or the reduction.
   A variable that is both a result's columns and another dot's reduction chains two dots
   (attention's n). sm_90a's default config follows these roles (target_defaults). Every
   kernel also notes where a block variable indexes tensors: the last (contiguous) dim, or
   an earlier one; a dot-free kernel's default config follows those (memory_default). */
typedef enum BlockRole {
    ROLE_ROWS = 1, ROLE_COLS = 2, ROLE_RED = 4, ROLE_INNER = 8, ROLE_OUTER = 16
} BlockRole;

/* ---- small helpers */

static NOINLINE const char *show_type(Checker *c, const Type *t)
{
    char buf[TYPE_TEXT];
    return arena_strdup(c->arena, type_str(buf, sizeof buf, t, c->kernel));
}

static NOINLINE const char *show_axis(Checker *c, Axis a)
{
    Type t = {.kind = TYPE_SHAPELIST, .rank = 1, .axes = {a}};
    char buf[TYPE_TEXT];
    type_str(buf, sizeof buf, &t, c->kernel);
    /* "shape [m]" -> "m" */
    size_t n = strlen(buf);
    if (n >= 8 && buf[n - 1] == ']')
        return arena_strndup(c->arena, buf + 7, n - 8);
    return arena_strdup(c->arena, buf);
}

/* "12:5" in the same file, "path:12:5" elsewhere. */
static NOINLINE const char *show_loc(Checker *c, Loc here, Loc there)
{
    if (there.file && there.file != here.file)
        return arena_printf(c->arena, "%s:%d:%d", there.file->path, there.line, there.col);
    return arena_printf(c->arena, "%d:%d", there.line, there.col);
}

static const char *or_q(const char *s)
{
    return s ? s : "?";
}

static void set_error(Expr *e)
{
    memset(&e->type, 0, sizeof e->type);
    e->type.kind = TYPE_ERROR;
}

static Type scalar_type(DType dt)
{
    Type t = {.kind = TYPE_VALUE, .dtype = dt};
    return t;
}

static bool is_pow2(int64_t v)
{
    return v > 0 && (v & (v - 1)) == 0;
}

static bool same_axes(const Type *a, const Type *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (!axis_equal(a->axes[i], b->axes[i]))
            return false;
    return true;
}

static bool numeric_dtype(DType dt)
{
    return dtype_is_int(dt) || (dtype_is_float(dt) && !dtype_is_fp8(dt));
}


/* Right-aligned broadcasting of a and b's axes into out (rank and axes only). On a
   conflict returns false with the two axes that disagree. */
static bool broadcast(const Type *a, const Type *b, Type *out, Axis *bad_a, Axis *bad_b)
{
    int rank = a->rank > b->rank ? a->rank : b->rank;
    Axis axes[MAX_RANK];
    for (int i = 0; i < rank; i++) {
        int ia = a->rank - 1 - i, ib = b->rank - 1 - i, io = rank - 1 - i;
        if (ia < 0)
            axes[io] = b->axes[ib];
        else if (ib < 0)
            axes[io] = a->axes[ia];
        else if (axis_equal(a->axes[ia], b->axes[ib]) || b->axes[ib].kind == AXIS_ONE)
            axes[io] = a->axes[ia];
        else if (a->axes[ia].kind == AXIS_ONE)
            axes[io] = b->axes[ib];
        else {
            *bad_a = a->axes[ia];
            *bad_b = b->axes[ib];
            return false;
        }
    }
    out->rank = rank;
    memcpy(out->axes, axes, sizeof axes);
    return true;
}

static NOINLINE bool broadcast_or_report(Checker *c, Loc loc, const Type *a, const Type *b, Type *out)
{
    Axis bad_a, bad_b;
    if (broadcast(a, b, out, &bad_a, &bad_b))
        return true;
    diag_error(c->diag, loc, "cannot broadcast %s with %s: axis %s vs %s", show_type(c, a),
               show_type(c, b), show_axis(c, bad_a), show_axis(c, bad_b));
    return false;
}

/* fp8 needs sm_89: the first fp8 use in a kernel is reported when the target is older. */
static void note_fp8(Checker *c, Loc loc, DType dt)
{
    if (!dtype_is_fp8(dt))
        return;
    c->kernel->uses_fp8 = true;
    int sm = c->opts ? c->opts->target_sm : 0;
    if (c->fp8_reported || sm <= 0 || sm >= 89)
        return;
    c->fp8_reported = true;
    diag_error(c->diag, loc, "%s needs sm_89 or newer (target is sm_%d)", dtype_name(dt), sm);
}

/* ---- name suggestions */

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 1000;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

typedef struct Suggestion {
    const char *name;
    const char *best;
    int distance;
} Suggestion;

static void consider(Suggestion *s, const char *candidate)
{
    if (!candidate || strcmp(candidate, s->name) == 0)
        return;
    int limit = strlen(s->name) <= 3 ? 1 : 2;
    int d = edit_distance(s->name, candidate);
    if (d <= limit && d < s->distance) {
        s->distance = d;
        s->best = candidate;
    }
}

/* " (did you mean x?)" or "". Functions look only at built-ins, values at everything. */
static NOINLINE const char *suggest(Checker *c, const char *name, bool function)
{
    Suggestion s = {name, NULL, 1000};
    if (!function) {
        for (int i = 0; i < c->visible.len; i++)
            consider(&s, ((LocalInfo *)c->visible.items[i])->local->name);
        for (int i = 0; i < c->scope_vars.len; i++)
            consider(&s, ((LoopVar *)c->scope_vars.items[i])->name);
        for (int i = 0; i < c->kernel->nparams; i++)
            if (c->kernel->params[i])
                consider(&s, c->kernel->params[i]->name);
        for (int i = 0; i < c->kernel->nsyms; i++)
            consider(&s, c->kernel->syms[i]->name);
    }
    for (int b = BI_NONE + 1; b < BI_COUNT; b++)
        consider(&s, builtin_name((Builtin)b));
    return s.best ? arena_printf(c->arena, " (did you mean %s?)", s.best) : "";
}

/* ---- name resolution: local, loop variable, parameter, shape symbol (built-ins last,
   by the callers that accept them) */

/* Visible locals are found through name buckets chained down the `visible` stack, so a
   kernel of many locals checks in time linear in its size. */
enum { NAME_BUCKETS = 1024 };

static unsigned name_bucket(const char *name)
{
    uint32_t h = 2166136261u;
    for (; *name; name++)
        h = (h ^ (uint8_t)*name) * 16777619u;
    return h & (NAME_BUCKETS - 1);
}

static void push_visible(Checker *c, LocalInfo *info)
{
    if (!c->name_top) {
        c->name_top = arena_alloc(c->arena, NAME_BUCKETS * sizeof *c->name_top);
        memset(c->name_top, 0xff, NAME_BUCKETS * sizeof *c->name_top);   /* every bucket -1 */
    }
    if (c->visible.len == c->visible_below_cap) {
        int cap = c->visible_below_cap ? 2 * c->visible_below_cap : 64;
        int *grown = arena_alloc(c->arena, (size_t)cap * sizeof *grown);
        if (c->visible.len)
            memcpy(grown, c->visible_below, (size_t)c->visible.len * sizeof *grown);
        c->visible_below = grown;
        c->visible_below_cap = cap;
    }
    unsigned b = name_bucket(info->local->name);
    c->visible_below[c->visible.len] = c->name_top[b];
    c->name_top[b] = c->visible.len;
    ptrvec_push(c->arena, &c->visible, info);
}

static void pop_visible(Checker *c, int len)
{
    while (c->visible.len > len) {
        int top = --c->visible.len;
        c->name_top[name_bucket(((LocalInfo *)c->visible.items[top])->local->name)] =
            c->visible_below[top];
    }
}

static LocalInfo *find_local(Checker *c, const char *name)
{
    if (!c->name_top)
        return NULL;
    for (int i = c->name_top[name_bucket(name)]; i >= 0; i = c->visible_below[i]) {
        LocalInfo *info = c->visible.items[i];
        if (!info->hidden && strcmp(info->local->name, name) == 0)
            return info;
    }
    return NULL;
}

static LoopVar *find_scope_var(Checker *c, const char *name)
{
    for (int i = c->scope_vars.len - 1; i >= 0; i--) {
        LoopVar *v = c->scope_vars.items[i];
        if (v->name && strcmp(v->name, name) == 0)
            return v;
    }
    return NULL;
}

static int find_param(Checker *c, const char *name)
{
    for (int i = 0; i < c->kernel->nparams; i++)
        if (c->kernel->params[i] && c->kernel->params[i]->name && strcmp(c->kernel->params[i]->name, name) == 0)
            return i;
    return -1;
}

static int find_shape(Checker *c, const char *name)
{
    for (int i = 0; i < c->kernel->nsyms; i++)
        if (strcmp(c->kernel->syms[i]->name, name) == 0)
            return i;
    return -1;
}

static Symbol *lookup(Checker *c, const char *name)
{
    if (!name)
        return NULL;
    LocalInfo *local = find_local(c, name);
    if (local)
        return &local->sym;
    LoopVar *v = find_scope_var(c, name);
    if (v)
        return &c->loopvar_syms[v->id];
    int p = find_param(c, name);
    if (p >= 0)
        return &c->param_syms[p];
    int s = find_shape(c, name);
    if (s >= 0)
        return &c->shape_syms[s];
    return NULL;
}

static const char *symbol_kind_name(const Symbol *s)
{
    switch (s->kind) {
    case SYM_PARAM: return "a parameter";
    case SYM_SHAPE: return "a shape symbol";
    case SYM_LOOPVAR: return "a loop variable";
    case SYM_LOCAL: return "a local";
    }
    return "a name";
}

/* The message for a name that resolves to nothing: it may have gone out of scope. */
static NOINLINE void report_unknown_name(Checker *c, Loc loc, const char *name)
{
    for (int i = c->dead.len - 1; i >= 0; i--) {
        LocalInfo *info = c->dead.items[i];
        if (strcmp(info->local->name, name) == 0) {
            diag_error(c->diag, loc, "%s is not defined here (it was defined inside the %s at %s)",
                       name, info->block ? info->block : "block",
                       show_loc(c, loc, info->local->loc));
            return;
        }
    }
    for (int i = 0; i < c->kernel->nloopvars; i++) {
        LoopVar *v = c->kernel->loopvars[i];
        if (v->name && strcmp(v->name, name) == 0) {
            diag_error(c->diag, loc, "%s is not defined here (it is the variable of the loop at %s)",
                       name, show_loc(c, loc, v->loc));
            return;
        }
    }
    if (builtin_lookup(name) != BI_NONE) {
        diag_error(c->diag, loc, "%s is a built-in function, not a value: call it", name);
        return;
    }
    diag_error(c->diag, loc, "unknown name %s%s", name, suggest(c, name, false));
}

/* ---- expressions */

static const Type *check_expr(Checker *c, Expr *e);

/* Reports why an operand is not a tile value; false (silently) for an earlier error too. */
static NOINLINE bool need_value(Checker *c, const Expr *e)
{
    if (!e)
        return false;
    const Type *t = &e->type;
    const char *name = e->kind == EXPR_NAME ? or_q(e->name) : "?";
    switch (t->kind) {
    case TYPE_VALUE:
        return true;
    case TYPE_ERROR:
        return false;
    case TYPE_TENSOR:
        diag_error(c->diag, e->loc, "tensor %s is not a value: index it (%s[...])", name, name);
        return false;
    case TYPE_LOOPVAR:
        diag_error(c->diag, e->loc,
                   "loop variable %s is not a value: use %s.index for its indices", name, name);
        return false;
    case TYPE_DTYPE:
        diag_error(c->diag, e->loc, "dtype %s is not a value here", dtype_name(t->dtype));
        return false;
    default:
        diag_error(c->diag, e->loc, "%s is not a value here", show_type(c, t));
        return false;
    }
}

/* An operand of arithmetic: a number, not bool, not fp8. `what` names the operation. */
static NOINLINE bool need_arith(Checker *c, Loc loc, const char *what, const Type *t)
{
    if (dtype_is_fp8(t->dtype)) {
        diag_error(c->diag, loc, "%s on %s: fp8 takes part in no arithmetic, convert with .to(f32) first",
                   what, show_type(c, t));
        return false;
    }
    if (!numeric_dtype(t->dtype)) {
        diag_error(c->diag, loc, "%s needs numbers, got %s", what, show_type(c, t));
        return false;
    }
    return true;
}

static const char *binop_text(int op)
{
    return binop_str(op);
}

static NOINLINE bool matmul_result(Checker *c, Loc loc, const Type *l, const Type *r, Type *out)
{
    if (l->rank != 2 || r->rank != 2) {
        diag_error(c->diag, loc, "@ needs rank-2 tiles, got %s @ %s", show_type(c, l),
                   show_type(c, r));
        return false;
    }
    bool ok = (l->dtype == DT_BF16 && r->dtype == DT_BF16) ||
              (l->dtype == DT_F16 && r->dtype == DT_F16) ||
              (l->dtype == DT_F32 && r->dtype == DT_F32) ||
              (dtype_is_fp8(l->dtype) && dtype_is_fp8(r->dtype)) ||
              (l->dtype == DT_I8 && r->dtype == DT_I8);
    if (!ok) {
        diag_error(c->diag, loc, "@ needs both operands f32, both bf16, both f16, both fp8 or "
                   "both i8, got %s @ %s (convert one with .to())", show_type(c, l),
                   show_type(c, r));
        return false;
    }
    if (!axis_equal(l->axes[1], r->axes[0])) {
        diag_error(c->diag, loc, "@ inner axes differ: %s @ %s contracts %s with %s "
                   "(transpose an operand with .T?)", show_type(c, l), show_type(c, r),
                   show_axis(c, l->axes[1]), show_axis(c, r->axes[0]));
        return false;
    }
    *out = scalar_type(l->dtype == DT_I8 ? DT_I32 : DT_F32);   /* i8 accumulates exactly in i32 */
    out->rank = 2;
    out->axes[0] = l->axes[0];
    out->axes[1] = r->axes[1];
    return true;
}

/* ---- weak integer literals: their exact value, checked where they adopt a dtype */

static bool weak_binary_value(int op, int64_t a, int64_t b, int64_t *out, bool *overflow)
{
    bool o = false;
    switch (op) {
    case BIN_ADD: o = __builtin_add_overflow(a, b, out); break;
    case BIN_SUB: o = __builtin_sub_overflow(a, b, out); break;
    case BIN_MUL: o = __builtin_mul_overflow(a, b, out); break;
    case BIN_DIV:   /* as TIR computes it: x / 0 = x % 0 = 0 */
    case BIN_MOD:
        o = a == INT64_MIN && b == -1;
        *out = b == 0 || o ? 0 : op == BIN_DIV ? a / b : a % b;
        break;
    case BIN_POW:   /* b >= 0 (sema's rule for an integer base), by squaring */
        *out = 1;
        while (b > 0 && !o) {
            if (b & 1)
                o = __builtin_mul_overflow(*out, a, out);
            b >>= 1;
            if (b > 0 && !o)
                o = __builtin_mul_overflow(a, a, &a);
        }
        break;
    default: return false;
    }
    *overflow = *overflow || o;
    return !o;
}

/* The exact value of a weak integer expression (integer literals, unary -, + - * / %,
   min, max and cdiv of them). False when e is not one or its arithmetic leaves i64; then
   *overflow is set. */
static bool weak_int_value(const Expr *e, int64_t *out, bool *overflow)
{
    int64_t a, b;
    if (!e || !e->type.weak || !dtype_is_int(e->type.dtype))
        return false;
    switch (e->kind) {
    case EXPR_INT:
        *out = e->int_value;
        return true;
    case EXPR_UNARY:
        return e->op == UN_NEG && weak_int_value(e->lhs, &a, overflow) &&
               weak_binary_value(BIN_SUB, 0, a, out, overflow);
    case EXPR_BINARY:
        return weak_int_value(e->lhs, &a, overflow) && weak_int_value(e->rhs, &b, overflow) &&
               weak_binary_value(e->op, a, b, out, overflow);
    case EXPR_CALL:
        if (e->nargs != 2 || !weak_int_value(e->args[0], &a, overflow) ||
            !weak_int_value(e->args[1], &b, overflow))
            return false;
        if (e->builtin == BI_MIN || e->builtin == BI_MAX) {
            *out = (e->builtin == BI_MIN) == (a < b) ? a : b;
            return true;
        }
        if (e->builtin != BI_CDIV)
            return false;
        if (b == 0) {
            *out = 0;
            return true;
        }
        return weak_binary_value(BIN_ADD, a, b, &a, overflow) &&
               weak_binary_value(BIN_SUB, a, 1, &a, overflow) &&
               weak_binary_value(BIN_DIV, a, b, out, overflow);
    default:
        return false;
    }
}

/* Literal arithmetic is exact: an operation whose operands fit but whose result leaves
   i64 (`9223372036854775807 + 1`) is an error where it happens. */
static void check_weak_overflow(Checker *c, const Expr *e)
{
    int64_t v;
    bool overflow = false;
    if (weak_int_value(e, &v, &overflow) || !overflow)
        return;
    for (int i = 0; i < 2; i++) {   /* reported at the innermost operation that overflows */
        const Expr *x = e->kind == EXPR_CALL ? (i < e->nargs ? e->args[i] : NULL)
                                             : i == 0 ? e->lhs : e->rhs;
        bool inner = false;
        if (x && !weak_int_value(x, &v, &inner) && inner)
            return;
    }
    diag_error(c->diag, e->loc, "this literal arithmetic overflows i64");
}

/* A weak literal used where it takes the dtype `want` must fit it: `x + 4294967296` on an
   i32 x would be x + 0. */
static void check_adopted(Checker *c, const Expr *e, DType want)
{
    if (!e || !e->type.weak || !dtype_is_int(e->type.dtype) || !dtype_is_int(want) ||
        want == DT_I64)
        return;
    if (e->kind == EXPR_TERNARY) {
        check_adopted(c, e->lhs, want);
        check_adopted(c, e->rhs, want);
        return;
    }
    int64_t v;
    bool overflow = false;
    if (weak_int_value(e, &v, &overflow) && !dtype_int_fits(want, v))
        diag_error(c->diag, e->loc, "the literal %lld does not fit %s, the dtype it takes here "
                   "(convert the other operand with .to(i64))", (long long)v, dtype_name(want));
}

/* The weak side of a pair (binary operands, branches, min/max/cdiv arguments) takes the
   dtype the pair computes in. */
static void check_adopted_pair(Checker *c, const Expr *a, const Expr *b, DType want)
{
    if (a->type.weak && !b->type.weak)
        check_adopted(c, a, want);
    if (b->type.weak && !a->type.weak)
        check_adopted(c, b, want);
}

static void mark_role(Checker *c, Axis axis, BlockRole role)
{
    if (axis.kind != AXIS_BLOCK || !c->block_roles || axis.id < 0 || axis.id >= c->kernel->nloopvars)
        return;
    const char *name = c->kernel->loopvars[axis.id]->tunable;
    for (int i = 0; name && i < c->tunables.len; i++)
        if (strcmp(((Tunable *)c->tunables.items[i])->name, name) == 0)
            c->block_roles[i] |= role;
}

static void note_dot_roles(Checker *c, const Type *a, const Type *b)
{
    int es = dtype_size(a->dtype) < dtype_size(b->dtype) ? dtype_size(a->dtype) : dtype_size(b->dtype);
    c->ndots++;
    if (es > 0 && (c->dot_esize == 0 || es < c->dot_esize))
        c->dot_esize = es;
    if (a->rank < 2 || b->rank < 2)
        return;
    mark_role(c, a->axes[a->rank - 2], ROLE_ROWS);
    mark_role(c, b->axes[b->rank - 1], ROLE_COLS);
    mark_role(c, a->axes[a->rank - 1], ROLE_RED);
}

/* Types `l op r` into out; shared by binary expressions and `x op= e`. */
static NOINLINE bool binary_result(Checker *c, Loc loc, int op, const Type *l, const Type *r, Type *out)
{
    const char *text = binop_text(op);
    if (op == BIN_MATMUL) {
        c->kernel->has_dot = true;
        note_dot_roles(c, l, r);
        return matmul_result(c, loc, l, r, out);
    }
    Type res = {.kind = TYPE_VALUE};
    switch (op) {
    case BIN_ADD: case BIN_SUB: case BIN_MUL: case BIN_DIV: case BIN_MOD:
        if (!need_arith(c, loc, text, l) || !need_arith(c, loc, text, r))
            return false;
        res.dtype = type_promote(l, r);
        if (op == BIN_MOD && !dtype_is_int(res.dtype)) {
            diag_error(c->diag, loc, "%% needs integers, got %s %% %s", show_type(c, l),
                       show_type(c, r));
            return false;
        }
        res.weak = l->weak && r->weak;
        break;
    case BIN_LT: case BIN_LE: case BIN_GT: case BIN_GE:
        if (!need_arith(c, loc, text, l) || !need_arith(c, loc, text, r))
            return false;
        res.dtype = DT_BOOL;
        break;
    case BIN_EQ: case BIN_NE:
        if ((l->dtype == DT_BOOL) != (r->dtype == DT_BOOL)) {
            diag_error(c->diag, loc, "%s compares %s with %s: both sides must be bool or both numbers",
                       text, show_type(c, l), show_type(c, r));
            return false;
        }
        if (l->dtype != DT_BOOL && (!need_arith(c, loc, text, l) || !need_arith(c, loc, text, r)))
            return false;
        res.dtype = DT_BOOL;
        break;
    case BIN_BITAND: case BIN_BITOR: case BIN_BITXOR: case BIN_SHL: case BIN_SHR:
        if (!dtype_is_int(l->dtype) || !dtype_is_int(r->dtype)) {
            diag_error(c->diag, loc, "%s needs integer operands, got %s %s %s%s", text,
                       show_type(c, l), text, show_type(c, r),
                       l->dtype == DT_BOOL || r->dtype == DT_BOOL ? " (on bools use && and ||)"
                                                                   : " (convert with .to())");
            return false;
        }
        res.dtype = type_promote(l, r);
        res.weak = l->weak && r->weak;
        break;
    case BIN_AND: case BIN_OR:
        if (l->dtype != DT_BOOL || r->dtype != DT_BOOL) {
            diag_error(c->diag, loc, "%s needs bool operands, got %s %s %s", text, show_type(c, l),
                       text, show_type(c, r));
            return false;
        }
        res.dtype = DT_BOOL;
        break;
    default:
        diag_error(c->diag, loc, "unknown operator");
        return false;
    }
    if (!broadcast_or_report(c, loc, l, r, &res))
        return false;
    res.is_const = l->is_const && r->is_const;
    *out = res;
    return true;
}

static NOINLINE void check_unary(Checker *c, Expr *e)
{
    Expr *x = e->lhs;
    check_expr(c, x);
    if (!need_value(c, x)) {
        set_error(e);
        return;
    }
    const Type *t = &x->type;
    if (e->op == UN_NOT) {
        if (t->dtype != DT_BOOL) {
            diag_error(c->diag, e->loc, "! needs bool, got %s", show_type(c, t));
            set_error(e);
            return;
        }
    } else if (e->op == UN_BITNOT) {
        if (!dtype_is_int(t->dtype)) {
            diag_error(c->diag, e->loc, "~ needs an integer, got %s%s", show_type(c, t),
                       t->dtype == DT_BOOL ? " (on a bool use !)" : "");
            set_error(e);
            return;
        }
    } else if (!need_arith(c, e->loc, "unary -", t)) {
        set_error(e);
        return;
    }
    e->type = *t;
    check_weak_overflow(c, e);
}

/* The exponent of `**`: a number literal, optionally negated, or integer literal
   arithmetic. */
static bool pow_exponent(const Expr *e, double *out)
{
    int64_t iv;
    bool overflow = false;
    if (weak_int_value(e, &iv, &overflow)) {
        *out = (double)iv;
        return true;
    }
    if (e->kind == EXPR_FLOAT) {
        *out = e->float_value;
        return true;
    }
    if (e->kind == EXPR_UNARY && e->op == UN_NEG && e->lhs && pow_exponent(e->lhs, out)) {
        *out = -*out;
        return true;
    }
    return false;
}

/* x ** c: x a number tile or scalar; c a number literal, known here, whose value the
   lowering reads from e->float_value. An integer base needs an integer c >= 0. */
static NOINLINE void check_pow(Checker *c, Expr *e)
{
    const Type *x = &e->lhs->type;
    double value;
    if (!need_arith(c, e->loc, "**", x)) {
        set_error(e);
        return;
    }
    if (!pow_exponent(e->rhs, &value)) {
        const Expr *r = e->rhs;
        diag_error(c->diag, r->loc, "the exponent of ** must be a number literal (such as 3 or "
                   "-0.5), not %s%s%s", r->kind == EXPR_NAME ? or_q(r->name) : "a value of type ",
                   r->kind == EXPR_NAME ? ": " : "", show_type(c, &r->type));
        set_error(e);
        return;
    }
    if (!isfinite(value)) {
        diag_error(c->diag, e->rhs->loc, "the exponent of ** must be finite");
        set_error(e);
        return;
    }
    bool integer = value == floor(value) && fabs(value) <= POW_MAX_MULTIPLIED;
    Type res = *x;
    if (dtype_is_int(x->dtype) && !(integer && value >= 0)) {
        if (!x->weak) {
            diag_error(c->diag, e->rhs->loc, "an integer base takes a non-negative integer "
                       "exponent below 2^31, got %s ** %.17g (convert the base with .to(f32))",
                       show_type(c, x), value);
            set_error(e);
            return;
        }
        res.dtype = DT_F32;   /* a weak integer literal is taken as f32, as by exp2 */
    }
    res.is_const = x->is_const && integer;   /* multiplications fold; sqrt, exp2 do not */
    e->float_value = value;
    e->type = res;
    check_weak_overflow(c, e);
}

static NOINLINE void check_binary(Checker *c, Expr *e)
{
    check_expr(c, e->lhs);
    check_expr(c, e->rhs);
    if (e->op == BIN_POW) {
        if (!need_value(c, e->lhs) || !need_value(c, e->rhs)) {
            set_error(e);
            return;
        }
        check_pow(c, e);
        return;
    }
    bool ok_l = need_value(c, e->lhs);
    bool ok_r = need_value(c, e->rhs);
    if (!ok_l || !ok_r || !binary_result(c, e->loc, e->op, &e->lhs->type, &e->rhs->type, &e->type)) {
        set_error(e);
        return;
    }
    if (e->op != BIN_AND && e->op != BIN_OR && e->op != BIN_MATMUL)
        check_adopted_pair(c, e->lhs, e->rhs, type_promote(&e->lhs->type, &e->rhs->type));
    check_weak_overflow(c, e);
}

/* Two branches (of ?: or where) that must agree: equal dtypes, or a weak literal that
   adopts the other's dtype. Axes are handled by the caller. */
static bool branch_dtype(const Type *a, const Type *b, DType *out)
{
    if ((a->dtype == DT_BOOL) != (b->dtype == DT_BOOL))
        return false;
    if (a->dtype == b->dtype) {
        *out = a->dtype;
        return true;
    }
    if (dtype_is_fp8(a->dtype) || dtype_is_fp8(b->dtype))
        return false;
    if (a->weak || b->weak) {
        *out = type_promote(a, b);
        return true;
    }
    return false;
}

static NOINLINE void type_ternary(Checker *c, Expr *e)
{
    bool ok = need_value(c, e->cond);
    if (ok && (e->cond->type.dtype != DT_BOOL || e->cond->type.rank != 0)) {
        diag_error(c->diag, e->cond->loc, "the condition of ?: must be a scalar bool, got %s%s",
                   show_type(c, &e->cond->type),
                   e->cond->type.rank ? " (use where() to select per element)" : "");
        ok = false;
    }
    bool ok_l = need_value(c, e->lhs), ok_r = need_value(c, e->rhs);
    if (!ok || !ok_l || !ok_r) {
        set_error(e);
        return;
    }
    const Type *a = &e->lhs->type, *b = &e->rhs->type;
    DType dt;
    if (!same_axes(a, b) || !branch_dtype(a, b, &dt)) {
        diag_error(c->diag, e->loc, "the branches of ?: differ: %s vs %s", show_type(c, a),
                   show_type(c, b));
        set_error(e);
        return;
    }
    e->type = *a;
    e->type.dtype = dt;
    e->type.weak = a->weak && b->weak;
    e->type.is_const = a->is_const && b->is_const && e->cond->type.is_const;
    check_adopted_pair(c, e->lhs, e->rhs, dt);
}

static NOINLINE void check_ternary(Checker *c, Expr *e)
{
    check_expr(c, e->cond);
    check_expr(c, e->lhs);
    check_expr(c, e->rhs);
    type_ternary(c, e);
}

/* ---- tensor indexing and tile slicing */

static void type_tensor_index(Checker *c, Expr *e, Param *p);

/* Types t[args] for a tensor parameter; used by loads, stores and atomics. A `mask=` entry
   (a data mask) is checked here and typed against the access by type_tensor_index. */
static NOINLINE void check_tensor_index(Checker *c, Expr *e, Param *p)
{
    bool masked = false;
    for (int i = 0; i < e->nargs; i++) {
        Expr *arg = e->args[i];
        if (!arg || arg->kind == EXPR_NONE || arg->kind == EXPR_SLICE)
            continue;
        if (arg->kind != EXPR_KWARG) {
            check_expr(c, arg);
            continue;
        }
        arg->reduce_axis = -2;
        set_error(arg);
        if (!arg->name || strcmp(arg->name, "mask") != 0)
            diag_error(c->diag, arg->loc, "unknown keyword %s in an index of %s: the one keyword "
                       "is mask= (the lanes to access)", or_q(arg->name), or_q(p->name));
        else if (masked)
            diag_error(c->diag, arg->loc, "mask= given twice in an index of %s", or_q(p->name));
        else
            check_expr(c, arg->lhs);
        masked = true;
    }
    type_tensor_index(c, e, p);
}

/* The `mask=` entry of a tensor index, or NULL. */
static Expr *index_mask(const Expr *e)
{
    for (int i = 0; i < e->nargs; i++)
        if (e->args[i] && e->args[i]->kind == EXPR_KWARG)
            return e->args[i];
    return NULL;
}

/* A data mask is a bool that broadcasts to the access's tile exactly. */
static bool check_index_mask(Checker *c, const Expr *e, const Param *p, const Type *access)
{
    Expr *kw = index_mask(e);
    if (!kw)
        return true;
    if (!kw->name || strcmp(kw->name, "mask") != 0 || !kw->lhs)
        return false;
    const Type *t = &kw->lhs->type;
    if (t->kind == TYPE_ERROR || !need_value(c, kw->lhs))
        return false;
    Type res = {.kind = TYPE_VALUE};
    Axis bad_a, bad_b;
    if (t->dtype != DT_BOOL || !broadcast(t, access, &res, &bad_a, &bad_b) ||
        !same_axes(&res, access)) {
        diag_error(c->diag, kw->lhs->loc, "mask= of %s must be a bool that broadcasts to the "
                   "accessed tile %s, got %s", or_q(p->name), show_type(c, access), show_type(c, t));
        return false;
    }
    return true;
}

/* A literal index must lie inside its dim when the dim is a literal, and is never
   negative (the masks would silently drop every access). Dims count from 0. */
static bool literal_index_inside(Checker *c, const Expr *arg, const Param *p, int dim)
{
    int64_t v;
    bool overflow = false;
    if (!weak_int_value(arg, &v, &overflow))
        return true;
    const ShapeDim *d = &p->dims[dim];
    if (!d->is_symbol && (v < 0 || v >= d->value)) {
        diag_error(c->diag, arg->loc, "index %lld is outside dim %d of %s (size %lld: indices "
                   "0 to %lld)", (long long)v, dim, or_q(p->name), (long long)d->value,
                   (long long)d->value - 1);
        return false;
    }
    if (v < 0) {
        diag_error(c->diag, arg->loc, "index %lld of dim %d of %s is negative (indices count "
                   "from 0; there is no indexing from the end)", (long long)v, dim, or_q(p->name));
        return false;
    }
    return true;
}

static NOINLINE void type_tensor_index(Checker *c, Expr *e, Param *p)
{
    if (p->rank < 0 || p->rank > MAX_RANK) {
        set_error(e);
        return;
    }
    int dims = 0;
    for (int i = 0; i < e->nargs; i++)
        if (e->args[i] && e->args[i]->kind != EXPR_NONE && e->args[i]->kind != EXPR_KWARG)
            dims++;
    if (dims != p->rank) {
        diag_error(c->diag, e->loc, "%s has %d dim%s, indexed with %d", or_q(p->name), p->rank,
                   p->rank == 1 ? "" : "s", dims);
        set_error(e);
        return;
    }
    Type res = {.kind = TYPE_VALUE, .dtype = p->dtype};
    bool ok = true;
    int dim = 0;
    for (int i = 0; i < e->nargs; i++) {
        Expr *arg = e->args[i];
        if (!arg) {
            ok = false;
            continue;
        }
        if (arg->kind == EXPR_KWARG)
            continue;
        Axis axis = {AXIS_ONE, 0};
        bool adds_axis = true;
        if (arg->kind == EXPR_NONE) {
            arg->type.kind = TYPE_NONE;
            arg->reduce_axis = -2;
        } else if (arg->kind == EXPR_SLICE) {
            ShapeDim *d = &p->dims[dim++];
            arg->type.kind = TYPE_SLICE;
            arg->reduce_axis = -2;
            if (d->is_symbol && d->sym >= 0) {
                axis = (Axis){AXIS_FULL, d->sym};
                c->kernel->syms[d->sym]->is_full = true;
            } else if (!d->is_symbol && d->value == 1) {
                axis = (Axis){AXIS_ONE, 0};
            } else if (!d->is_symbol && d->value == 2) {
                axis = (Axis){AXIS_CONST, 2};   /* a pair axis (split, join) */
            } else if (!d->is_symbol) {
                diag_error(c->diag, arg->loc, "`:` takes a dim whole only when it has a shape symbol "
                           "or the literal size 2 (a pair axis): dim %d of %s has the literal size %lld",
                           dim - 1, or_q(p->name), (long long)d->value);
                ok = false;
            } else {
                ok = false;
            }
        } else {
            dim++;
            const Type *t = &arg->type;
            if (t->kind == TYPE_LOOPVAR) {
                LoopVar *v = c->kernel->loopvars[t->axes[0].id];
                if (v->scalar) {
                    adds_axis = false;
                } else {
                    axis = t->axes[0];
                    bool last = dim == p->rank;
                    mark_role(c, axis, last ? ROLE_INNER : ROLE_OUTER);
                    if (last && dtype_size(p->dtype) > c->inner_esize)
                        c->inner_esize = dtype_size(p->dtype);
                }
            } else if (t->kind == TYPE_VALUE && t->rank == 0 && dtype_is_int(t->dtype)) {
                adds_axis = false;
                ok = literal_index_inside(c, arg, p, dim - 1) && ok;
            } else if (t->kind == TYPE_VALUE && dtype_is_int(t->dtype)) {
                /* a gather or scatter: the index tile's axes, each lane's index from it */
                adds_axis = false;
                if (res.rank + t->rank > MAX_RANK) {
                    diag_error(c->diag, e->loc, "indexing %s makes a tile of more than %d axes",
                               or_q(p->name), MAX_RANK);
                    set_error(e);
                    return;
                }
                for (int a = 0; a < t->rank; a++)
                    res.axes[res.rank++] = t->axes[a];
            } else if (t->kind != TYPE_ERROR) {
                diag_error(c->diag, arg->loc, "index %d of %s must be a loop variable, `:`, None or an "
                           "integer scalar or tile, got %s", i, or_q(p->name), show_type(c, t));
                ok = false;
            } else {
                ok = false;
            }
        }
        if (adds_axis) {
            if (res.rank == MAX_RANK) {
                diag_error(c->diag, e->loc, "indexing %s makes a tile of more than %d axes",
                           or_q(p->name), MAX_RANK);
                set_error(e);
                return;
            }
            res.axes[res.rank++] = axis;
        }
    }
    if (!ok || !check_index_mask(c, e, p, &res)) {
        set_error(e);
        return;
    }
    e->type = res;
}

static NOINLINE void check_tile_slice(Checker *c, Expr *e)
{
    const Type *t = &e->lhs->type;
    int keep = 0;
    for (int i = 0; i < e->nargs; i++) {
        Expr *arg = e->args[i];
        if (!arg) {
            set_error(e);
            return;
        }
        arg->reduce_axis = -2;
        if (arg->kind == EXPR_SLICE) {
            arg->type.kind = TYPE_SLICE;
            keep++;
        } else if (arg->kind == EXPR_NONE) {
            arg->type.kind = TYPE_NONE;
        } else {
            diag_error(c->diag, arg->loc, "a tile is sliced only with `:` and None (%s is a tile, "
                       "not a tensor parameter)", show_type(c, t));
            set_error(e);
            return;
        }
    }
    if (keep != t->rank) {
        diag_error(c->diag, e->loc, "slicing %s needs %d `:` (one per axis), got %d",
                   show_type(c, t), t->rank, keep);
        set_error(e);
        return;
    }
    if (e->nargs > MAX_RANK) {
        diag_error(c->diag, e->loc, "slicing makes a tile of more than %d axes", MAX_RANK);
        set_error(e);
        return;
    }
    Type res = *t;
    int from = 0;
    res.rank = 0;
    for (int i = 0; i < e->nargs; i++)
        res.axes[res.rank++] = e->args[i]->kind == EXPR_SLICE ? t->axes[from++]
                                                              : (Axis){AXIS_ONE, 0};
    e->type = res;
}

static NOINLINE void check_index(Checker *c, Expr *e)
{
    const Type *base = check_expr(c, e->lhs);
    switch (base->kind) {
    case TYPE_TENSOR: {
        Param *p = e->lhs->sym ? e->lhs->sym->param : NULL;
        if (!p) {
            set_error(e);
            return;
        }
        if (p->reduce != REDUCE_NONE) {
            diag_error(c->diag, e->loc, "%s is a reduction target: it is only written through "
                       "atomic_%s, never read", or_q(p->name),
                       p->reduce == REDUCE_SUM ? "add" : p->reduce == REDUCE_MAX ? "max" : "min");
            set_error(e);
            return;
        }
        check_tensor_index(c, e, p);
        return;
    }
    case TYPE_VALUE:
        check_tile_slice(c, e);
        return;
    case TYPE_LOOPVAR:
        diag_error(c->diag, e->loc, "loop variable %s cannot be indexed: index a tensor with it, "
                   "or use %s.index", or_q(e->lhs->name), or_q(e->lhs->name));
        set_error(e);
        return;
    default:
        need_value(c, e->lhs);
        set_error(e);
        return;
    }
}

static NOINLINE void check_field(Checker *c, Expr *e)
{
    const Type *t = check_expr(c, e->lhs);
    const char *f = or_q(e->name);
    if (t->kind == TYPE_ERROR) {
        set_error(e);
        return;
    }
    bool loop_field = strcmp(f, "index") == 0 || strcmp(f, "begin") == 0 || strcmp(f, "end") == 0 ||
                      strcmp(f, "id") == 0;
    if (strcmp(f, "T") == 0) {
        if (!need_value(c, e->lhs)) {
            set_error(e);
            return;
        }
        if (t->rank != 2) {
            diag_error(c->diag, e->loc, ".T needs a rank-2 tile, got %s", show_type(c, t));
            set_error(e);
            return;
        }
        e->type = *t;
        e->type.axes[0] = t->axes[1];
        e->type.axes[1] = t->axes[0];
        return;
    }
    if (!loop_field) {
        diag_error(c->diag, e->loc, "unknown field .%s (tiles have .T; loop variables have .index, "
                   ".begin, .end, .id)", f);
        set_error(e);
        return;
    }
    if (t->kind != TYPE_LOOPVAR) {
        diag_error(c->diag, e->loc, ".%s is only on loop variables, got %s", f, show_type(c, t));
        set_error(e);
        return;
    }
    e->type = scalar_type(DT_I64);
    if (strcmp(f, "index") == 0 && !c->kernel->loopvars[t->axes[0].id]->scalar) {
        e->type.rank = 1;
        e->type.axes[0] = t->axes[0];
    }
}

static NOINLINE void check_to(Checker *c, Expr *e)
{
    check_expr(c, e->lhs);
    if (!need_value(c, e->lhs)) {
        set_error(e);
        return;
    }
    e->type = e->lhs->type;
    e->type.dtype = e->dtype;
    e->type.weak = false;
    note_fp8(c, e->loc, e->dtype);
}

/* ---- built-in calls */

typedef struct CallArgs {
    int npos;               /* positional arguments: args[0..npos) */
    Expr *axis;             /* the value of axis=, or NULL */
    Expr *tf32;             /* the value of tf32= (dot), or NULL */
    Expr *exclusive;        /* the value of exclusive= (cumsum), or NULL */
} CallArgs;

static NOINLINE bool split_args(Checker *c, Expr *e, CallArgs *out)
{
    out->npos = 0;
    out->axis = NULL;
    out->tf32 = NULL;
    out->exclusive = NULL;
    bool seen_kwarg = false;
    for (int i = 0; i < e->nargs; i++) {
        Expr *arg = e->args[i];
        if (!arg)
            return false;
        if (arg->kind != EXPR_KWARG) {
            if (seen_kwarg) {
                diag_error(c->diag, arg->loc, "positional argument after a keyword argument");
                return false;
            }
            out->npos++;
            continue;
        }
        seen_kwarg = true;
        arg->reduce_axis = -2;
        Expr **slot = !arg->name ? NULL : strcmp(arg->name, "axis") == 0 ? &out->axis
                    : strcmp(arg->name, "tf32") == 0 ? &out->tf32
                    : strcmp(arg->name, "exclusive") == 0 ? &out->exclusive : NULL;
        if (!slot) {
            diag_error(c->diag, arg->loc, "unknown keyword argument %s (reductions and cumsum take "
                       "axis=, dot takes tf32=, cumsum exclusive=)", or_q(arg->name));
            return false;
        }
        if (slot == &out->tf32 && e->builtin != BI_DOT) {
            diag_error(c->diag, arg->loc, "%s takes no tf32= (only dot does)", builtin_name(e->builtin));
            return false;
        }
        if (slot == &out->exclusive && e->builtin != BI_CUMSUM) {
            diag_error(c->diag, arg->loc, "%s takes no exclusive= (only cumsum does)",
                       builtin_name(e->builtin));
            return false;
        }
        if (*slot) {
            diag_error(c->diag, arg->loc, "%s= given twice", arg->name);
            return false;
        }
        *slot = arg->lhs;
        if (!arg->lhs)
            return false;
        arg->type = *check_expr(c, arg->lhs);
    }
    return true;
}

static bool need_arity(Checker *c, Expr *e, const CallArgs *a, int n)
{
    if (a->axis && e->builtin != BI_SUM && e->builtin != BI_AMAX && e->builtin != BI_CUMSUM) {
        diag_error(c->diag, e->loc, "%s takes no axis= (only the reductions sum, max, min and amax do)",
                   builtin_name(e->builtin));
        return false;
    }
    if (a->npos != n) {
        diag_error(c->diag, e->loc, "%s takes %d argument%s, got %d", builtin_name(e->builtin), n,
                   n == 1 ? "" : "s", a->npos);
        return false;
    }
    return true;
}

/* Whether the first n (already checked) positional arguments are values; reports those
   that are not. */
static NOINLINE bool args_are_values(Checker *c, Expr *e, int n)
{
    bool ok = true;
    for (int i = 0; i < n; i++)
        if (!need_value(c, e->args[i]))
            ok = false;
    return ok;
}

static NOINLINE void type_math(Checker *c, Expr *e, const CallArgs *a)
{
    if (!need_arity(c, e, a, 1) || !args_are_values(c, e, 1)) {
        set_error(e);
        return;
    }
    const char *name = builtin_name(e->builtin);
    Type t = e->args[0]->type;
    if (!need_arith(c, e->loc, name, &t)) {
        set_error(e);
        return;
    }
    if (e->builtin != BI_ABS && dtype_is_int(t.dtype)) {
        if (!t.weak) {
            diag_error(c->diag, e->loc, "%s needs a float tile, got %s (convert with .to(f32))", name,
                       show_type(c, &t));
            set_error(e);
            return;
        }
        t.dtype = DT_F32;
    }
    if (e->builtin != BI_ABS)
        t.is_const = false;   /* the compiler folds no transcendental function: no `if` on it */
    e->type = t;
}

/* The literal of axis=: an integer, possibly negated. */
static bool axis_literal(Checker *c, const Expr *x, int64_t *out)
{
    if (x->kind == EXPR_INT) {
        *out = x->int_value;
        return true;
    }
    if (x->kind == EXPR_UNARY && x->op == UN_NEG && x->lhs && x->lhs->kind == EXPR_INT) {
        *out = -x->lhs->int_value;
        return true;
    }
    diag_error(c->diag, x->loc, "axis= must be an integer literal");
    return false;
}

static NOINLINE void type_reduction(Checker *c, Expr *e, const CallArgs *a)
{
    const char *name = builtin_name(e->builtin);
    if (a->npos != 1) {
        diag_error(c->diag, e->loc, "%s takes 1 tile argument (and axis=), got %d", name, a->npos);
        set_error(e);
        return;
    }
    if (!args_are_values(c, e, 1)) {
        set_error(e);
        return;
    }
    const Type *t = &e->args[0]->type;
    if (!need_arith(c, e->loc, name, t)) {
        set_error(e);
        return;
    }
    Type res = scalar_type(t->dtype);
    if (e->builtin == BI_SUM && (t->dtype == DT_F16 || t->dtype == DT_BF16))
        res.dtype = DT_F32;
    res.is_const = t->is_const;
    e->reduce_axis = -1;
    if (a->axis) {
        int64_t axis;
        if (!axis_literal(c, a->axis, &axis)) {
            set_error(e);
            return;
        }
        int64_t norm = axis < 0 ? axis + t->rank : axis;
        if (norm < 0 || norm >= t->rank) {
            diag_error(c->diag, a->axis->loc, "axis %lld is out of range for %s (rank %d)",
                       (long long)axis, show_type(c, t), t->rank);
            e->reduce_axis = -2;
            set_error(e);
            return;
        }
        e->reduce_axis = (int)norm;
        for (int i = 0; i < t->rank; i++)
            if (i != norm)
                res.axes[res.rank++] = t->axes[i];
    }
    e->type = res;
}

static NOINLINE void type_minmax(Checker *c, Expr *e, const CallArgs *a)
{
    if (a->npos == 1) {
        type_reduction(c, e, a);
        return;
    }
    const char *name = builtin_name(e->builtin);
    if (a->npos != 2) {
        diag_error(c->diag, e->loc, "%s takes one tile (a reduction) or two (elementwise), "
                   "got %d arguments", name, a->npos);
        set_error(e);
        return;
    }
    if (a->axis) {
        diag_error(c->diag, e->loc, "%s of two tiles is elementwise: axis= is for the "
                   "one-argument reduction", name);
        set_error(e);
        return;
    }
    if (!args_are_values(c, e, 2)) {
        set_error(e);
        return;
    }
    const Type *l = &e->args[0]->type, *r = &e->args[1]->type;
    Type res = {.kind = TYPE_VALUE};
    if (!need_arith(c, e->loc, name, l) || !need_arith(c, e->loc, name, r) ||
        !broadcast_or_report(c, e->loc, l, r, &res)) {
        set_error(e);
        return;
    }
    res.dtype = type_promote(l, r);
    res.weak = l->weak && r->weak;
    res.is_const = l->is_const && r->is_const;
    e->type = res;
    check_adopted_pair(c, e->args[0], e->args[1], res.dtype);
    check_weak_overflow(c, e);
}

static NOINLINE void type_where(Checker *c, Expr *e, const CallArgs *a)
{
    if (!need_arity(c, e, a, 3) || !args_are_values(c, e, 3)) {
        set_error(e);
        return;
    }
    const Type *cond = &e->args[0]->type, *x = &e->args[1]->type, *y = &e->args[2]->type;
    if (cond->dtype != DT_BOOL) {
        diag_error(c->diag, e->args[0]->loc, "where needs a bool condition, got %s",
                   show_type(c, cond));
        set_error(e);
        return;
    }
    if ((x->dtype == DT_BOOL) != (y->dtype == DT_BOOL)) {
        diag_error(c->diag, e->loc, "where selects between %s and %s: both bool or both numbers",
                   show_type(c, x), show_type(c, y));
        set_error(e);
        return;
    }
    if (x->dtype != DT_BOOL && (!need_arith(c, e->loc, "where", x) || !need_arith(c, e->loc, "where", y))) {
        set_error(e);
        return;
    }
    DType dt;
    if (!branch_dtype(x, y, &dt))
        dt = type_promote(x, y);
    Type both = {.kind = TYPE_VALUE}, res = {.kind = TYPE_VALUE};
    if (!broadcast_or_report(c, e->loc, x, y, &both) ||
        !broadcast_or_report(c, e->loc, cond, &both, &res)) {
        set_error(e);
        return;
    }
    res.dtype = dt;
    res.weak = x->weak && y->weak && cond->rank == 0;
    res.is_const = cond->is_const && x->is_const && y->is_const;
    e->type = res;
    check_adopted_pair(c, e->args[1], e->args[2], dt);
}

/* [m, D, 1]: loop variables (not block-1 ones), shape symbols taken whole, and 1. */
static NOINLINE bool check_shape_list(Checker *c, Expr *list, const char *fn)
{
    if (!list || list->kind != EXPR_LIST) {
        diag_error(c->diag, list ? list->loc : c->kernel->loc,
                   "%s needs a shape list like [m, D] as its first argument", fn);
        return false;
    }
    list->reduce_axis = -2;
    if (list->nargs > MAX_RANK) {
        diag_error(c->diag, list->loc, "a shape has at most %d axes, got %d", MAX_RANK, list->nargs);
        return false;
    }
    Type shape = {.kind = TYPE_SHAPELIST};
    bool ok = true;
    for (int i = 0; i < list->nargs; i++) {
        Expr *entry = list->args[i];
        if (!entry) {
            ok = false;
            continue;
        }
        entry->reduce_axis = -2;
        Axis axis = {AXIS_ONE, 0};
        if (entry->kind == EXPR_INT && entry->int_value == 1) {
            entry->type = scalar_type(DT_I64);
            entry->type.weak = entry->type.is_const = true;
        } else if (entry->kind == EXPR_NAME) {
            Symbol *s = lookup(c, entry->name);
            entry->sym = s;
            if (!s) {
                report_unknown_name(c, entry->loc, or_q(entry->name));
                ok = false;
                continue;
            }
            if (s->kind == SYM_LOOPVAR) {
                entry->type = (Type){.kind = TYPE_LOOPVAR, .axes = {{AXIS_BLOCK, s->loopvar->id}}};
                if (s->loopvar->scalar) {
                    diag_error(c->diag, entry->loc, "%s has block size 1 (a scalar index) and is no "
                               "tile axis", entry->name);
                    ok = false;
                    continue;
                }
                axis = (Axis){AXIS_BLOCK, s->loopvar->id};
            } else if (s->kind == SYM_SHAPE) {
                entry->type = scalar_type(DT_I64);
                axis = (Axis){AXIS_FULL, s->shape->id};
                s->shape->is_full = true;
            } else {
                diag_error(c->diag, entry->loc, "shape entries are loop variables, shape symbols or 1; "
                           "%s is %s", entry->name, symbol_kind_name(s));
                ok = false;
                continue;
            }
        } else if (entry->kind == EXPR_INT) {
            diag_error(c->diag, entry->loc, "shape entries are loop variables, shape symbols or 1, "
                       "got %lld", (long long)entry->int_value);
            ok = false;
            continue;
        } else {
            diag_error(c->diag, entry->loc, "shape entries are loop variables, shape symbols or 1");
            ok = false;
            continue;
        }
        shape.axes[shape.rank++] = axis;
    }
    if (ok)
        list->type = shape;
    return ok;
}

static bool check_dtype_arg(Checker *c, Expr *e, Expr *arg)
{
    if (!arg || arg->kind != EXPR_DTYPE) {
        diag_error(c->diag, arg ? arg->loc : e->loc, "%s needs a dtype (f32, bf16, ...) as its last "
                   "argument", builtin_name(e->builtin));
        return false;
    }
    arg->reduce_axis = -2;
    arg->type = (Type){.kind = TYPE_DTYPE, .dtype = arg->dtype};
    return true;
}

static NOINLINE void type_constructor(Checker *c, Expr *e, const CallArgs *a)
{
    bool is_full = e->builtin == BI_FULL;
    if (!need_arity(c, e, a, is_full ? 3 : 2)) {
        set_error(e);
        return;
    }
    Expr *list = e->args[0], *dt_arg = e->args[is_full ? 2 : 1];
    bool ok = check_shape_list(c, list, builtin_name(e->builtin));
    ok = check_dtype_arg(c, e, dt_arg) && ok;
    if (is_full) {
        Expr *v = e->args[1];
        if (!need_value(c, v)) {
            ok = false;
        } else if (ok) {
            const Type *vt = &v->type;
            DType dt = dt_arg->dtype;
            bool fits = vt->rank == 0 &&
                        (vt->dtype == dt ||
                         (vt->weak && (dtype_is_int(vt->dtype) ? dt != DT_BOOL : dtype_is_float(dt))));
            if (vt->rank != 0) {
                diag_error(c->diag, v->loc, "the value of full must be a scalar, got %s",
                           show_type(c, vt));
                ok = false;
            } else if (!fits) {
                diag_error(c->diag, v->loc, "the value of full is %s, the tile is %s: convert it "
                           "with .to(%s)", show_type(c, vt), dtype_name(dt), dtype_name(dt));
                ok = false;
            } else {
                check_adopted(c, v, dt);
            }
        }
    }
    if (!ok) {
        set_error(e);
        return;
    }
    e->type = list->type;
    e->type.kind = TYPE_VALUE;
    e->type.dtype = dt_arg->dtype;
    note_fp8(c, e->loc, dt_arg->dtype);
}

static NOINLINE void type_cdiv(Checker *c, Expr *e, const CallArgs *a)
{
    if (!need_arity(c, e, a, 2) || !args_are_values(c, e, 2)) {
        set_error(e);
        return;
    }
    const Type *l = &e->args[0]->type, *r = &e->args[1]->type;
    if (!dtype_is_int(l->dtype) || !dtype_is_int(r->dtype)) {
        diag_error(c->diag, e->loc, "cdiv needs integers, got %s and %s", show_type(c, l),
                   show_type(c, r));
        set_error(e);
        return;
    }
    Type res = {.kind = TYPE_VALUE};
    if (!broadcast_or_report(c, e->loc, l, r, &res)) {
        set_error(e);
        return;
    }
    res.dtype = type_promote(l, r);
    res.weak = l->weak && r->weak;
    res.is_const = l->is_const && r->is_const;
    e->type = res;
    check_adopted_pair(c, e->args[0], e->args[1], res.dtype);
    check_weak_overflow(c, e);
}

/* rand(seed, offset) and randint(seed, offset): an integer scalar seed and an integer
   offset tile (or scalar); the result has the offset's axes, f32 or i32. */
static NOINLINE void type_rand(Checker *c, Expr *e, const CallArgs *a)
{
    if (!need_arity(c, e, a, 2) || !args_are_values(c, e, 2)) {
        set_error(e);
        return;
    }
    const char *name = builtin_name(e->builtin);
    const Type *seed = &e->args[0]->type, *offset = &e->args[1]->type;
    if (!dtype_is_int(seed->dtype) || seed->rank != 0) {
        diag_error(c->diag, e->args[0]->loc, "%s's seed must be an integer scalar (i32 or i64), got %s",
                   name, show_type(c, seed));
        set_error(e);
        return;
    }
    if (!dtype_is_int(offset->dtype)) {
        diag_error(c->diag, e->args[1]->loc, "%s's offset must be an integer tile (i32 or i64), got %s",
                   name, show_type(c, offset));
        set_error(e);
        return;
    }
    Type t = *offset;
    t.dtype = e->builtin == BI_RAND ? DT_F32 : DT_I32;
    t.weak = false;
    t.is_const = false;   /* folded by no one: no `if` on it */
    e->type = t;
}

/* A true/false literal of a keyword argument into *out; false (with an error) otherwise. */
static bool bool_kwarg(Checker *c, const Expr *x, const char *name, bool *out)
{
    if (x->kind != EXPR_BOOL) {
        diag_error(c->diag, x->loc, "%s= must be true or false", name);
        return false;
    }
    *out = x->int_value != 0;
    return true;
}

/* dot(a, b) is `a @ b`; tf32=true (a bool literal) puts f32 operands on tf32 tensor cores. */
static NOINLINE void type_dot(Checker *c, Expr *e, const CallArgs *a)
{
    if (!need_arity(c, e, a, 2) || !args_are_values(c, e, 2)) {
        set_error(e);
        return;
    }
    const Type *l = &e->args[0]->type, *r = &e->args[1]->type;
    if (a->tf32) {
        if (!bool_kwarg(c, a->tf32, "tf32", &e->tf32)) {
            set_error(e);
            return;
        }
        if (e->tf32 && (l->dtype != DT_F32 || r->dtype != DT_F32)) {
            diag_error(c->diag, a->tf32->loc, "tf32=true rounds f32 operands, got %s and %s",
                       show_type(c, l), show_type(c, r));
            set_error(e);
            return;
        }
    }
    Type t;
    if (!binary_result(c, e->loc, BIN_MATMUL, l, r, &t)) {
        set_error(e);
        return;
    }
    e->type = t;
}

/* cumsum(x, axis=i[, exclusive=b]): prefix sums of a number tile along axis i (axis= may be
   left out on a rank-1 tile), the tile's axes kept; 16-bit floats sum in f32 (as sum), f32
   and integers keep their dtype (i32 wraps). */
static NOINLINE void type_cumsum(Checker *c, Expr *e, const CallArgs *a)
{
    if (a->npos != 1) {
        diag_error(c->diag, e->loc, "cumsum takes 1 tile argument (and axis=, exclusive=), got %d",
                   a->npos);
        set_error(e);
        return;
    }
    if (!args_are_values(c, e, 1)) {
        set_error(e);
        return;
    }
    const Type *t = &e->args[0]->type;
    if (!need_arith(c, e->loc, "cumsum", t) ||
        (a->exclusive && !bool_kwarg(c, a->exclusive, "exclusive", &e->exclusive))) {
        set_error(e);
        return;
    }
    if (t->rank == 0) {
        diag_error(c->diag, e->loc, "cumsum needs a tile, got %s", show_type(c, t));
        set_error(e);
        return;
    }
    int64_t axis = 0;
    if (!a->axis && t->rank > 1) {
        diag_error(c->diag, e->loc, "cumsum of %s needs axis= (which axis to sum along)",
                   show_type(c, t));
        set_error(e);
        return;
    }
    if (a->axis && !axis_literal(c, a->axis, &axis)) {
        set_error(e);
        return;
    }
    int64_t norm = axis < 0 ? axis + t->rank : axis;
    if (norm < 0 || norm >= t->rank) {
        diag_error(c->diag, a->axis->loc, "axis %lld is out of range for %s (rank %d)",
                   (long long)axis, show_type(c, t), t->rank);
        set_error(e);
        return;
    }
    e->reduce_axis = (int)norm;
    Type res = *t;
    if (res.dtype == DT_F16 || res.dtype == DT_BF16)
        res.dtype = DT_F32;
    if (res.weak || dtype_is_int(res.dtype))
        res.dtype = res.dtype == DT_I32 ? DT_I32 : DT_I64;
    res.weak = false;
    res.is_const = false;
    e->type = res;
}

/* Whether axis a is a pair axis: a literal extent 2 (from `:` over a tensor dim of size 2
   or from join). */
static bool is_pair_axis(Axis a)
{
    return a.kind == AXIS_CONST && a.id == 2;
}

/* split(x, i): lane i (a literal 0 or 1) of x's last axis, which must be a pair axis; the
   result has x's other axes and dtype. In reduce_axis: i. */
static NOINLINE void type_split(Checker *c, Expr *e, const CallArgs *a)
{
    if (a->npos != 2) {
        diag_error(c->diag, e->loc, "split takes a pair tile and a lane (0 or 1), got %d argument%s",
                   a->npos, a->npos == 1 ? "" : "s");
        set_error(e);
        return;
    }
    if (!args_are_values(c, e, 1)) {
        set_error(e);
        return;
    }
    const Type *t = &e->args[0]->type;
    const Expr *lane = e->args[1];
    if (lane->kind != EXPR_INT || (lane->int_value != 0 && lane->int_value != 1)) {
        diag_error(c->diag, lane->loc, "split's lane must be the literal 0 or 1");
        set_error(e);
        return;
    }
    if (t->rank < 2 || !is_pair_axis(t->axes[t->rank - 1])) {
        diag_error(c->diag, e->args[0]->loc, "split needs a tile of rank 2 or more whose last axis "
                   "has extent 2 (a pair axis), got %s", show_type(c, t));
        set_error(e);
        return;
    }
    e->reduce_axis = (int)lane->int_value;
    Type res = *t;
    res.rank--;
    res.weak = false;
    res.is_const = false;
    e->type = res;
}

/* join(a, b): a and b (tiles of one type, rank below the maximum) stacked on a new last
   axis of extent 2: lane 0 from a, lane 1 from b. */
static NOINLINE void type_join(Checker *c, Expr *e, const CallArgs *a)
{
    if (a->npos != 2) {
        diag_error(c->diag, e->loc, "join takes 2 tiles, got %d", a->npos);
        set_error(e);
        return;
    }
    if (!args_are_values(c, e, 2)) {
        set_error(e);
        return;
    }
    const Type *l = &e->args[0]->type, *r = &e->args[1]->type;
    bool same = l->rank == r->rank && l->dtype == r->dtype && !l->weak && !r->weak;
    for (int i = 0; same && i < l->rank; i++)
        same = axis_equal(l->axes[i], r->axes[i]);
    if (!same || l->rank == 0) {
        diag_error(c->diag, e->loc, "join takes two tiles of one type (same dtype and axes; convert "
                   "with .to()), got %s and %s", show_type(c, l), show_type(c, r));
        set_error(e);
        return;
    }
    if (l->rank >= MAX_RANK) {
        diag_error(c->diag, e->loc, "join of %s gives a tile above the maximum rank %d",
                   show_type(c, l), MAX_RANK);
        set_error(e);
        return;
    }
    Type res = *l;
    res.axes[res.rank++] = (Axis){AXIS_CONST, 2};
    res.is_const = false;
    e->type = res;
}

/* The built-in a call names, after locals, loop variables, parameters and shape symbols
   have had their chance to shadow it. */
static Builtin resolve_callee(Checker *c, Expr *e)
{
    const char *name = or_q(e->name);
    Symbol *s = lookup(c, e->name);
    if (s) {
        diag_error(c->diag, e->loc, "%s is %s, not a function", name, symbol_kind_name(s));
        return BI_NONE;
    }
    Builtin b = builtin_lookup(e->name);
    if (b == BI_NONE)
        diag_error(c->diag, e->loc, "unknown function %s%s", name, suggest(c, name, true));
    return b;
}

static bool is_atomic(Builtin b)
{
    return b == BI_ATOMIC_ADD || b == BI_ATOMIC_MAX || b == BI_ATOMIC_MIN;
}

static NOINLINE void check_call(Checker *c, Expr *e)
{
    Builtin b = resolve_callee(c, e);
    e->builtin = b;
    CallArgs a;
    if (b == BI_NONE || !split_args(c, e, &a)) {
        set_error(e);
        return;
    }
    if (is_atomic(b)) {
        diag_error(c->diag, e->loc, "%s is a statement, not a value", builtin_name(b));
        set_error(e);
        return;
    }
    /* The arguments first, then the call's type in a function of its own: the recursion
       carries no more stack than it must. A constructor's shape list and dtype are not
       values and are checked by type_constructor. */
    bool constructor = b == BI_ZEROS || b == BI_FULL;
    for (int i = 0; i < a.npos; i++) {
        Expr *arg = e->args[i];
        if (constructor && ((i == 0 && arg->kind == EXPR_LIST) ||
                            (i == a.npos - 1 && arg->kind == EXPR_DTYPE)))
            continue;
        check_expr(c, arg);
    }
    switch (b) {
    case BI_EXP2: case BI_EXP: case BI_LOG: case BI_LOG2: case BI_SQRT: case BI_RSQRT: case BI_ABS:
    case BI_TANH: case BI_ERF: case BI_SIGMOID: case BI_SILU: case BI_GELU: case BI_GELU_TANH:
    case BI_SIN: case BI_COS:
        type_math(c, e, &a);
        return;
    case BI_MAX: case BI_MIN:
        type_minmax(c, e, &a);
        return;
    case BI_SUM: case BI_AMAX:
        type_reduction(c, e, &a);
        return;
    case BI_WHERE:
        type_where(c, e, &a);
        return;
    case BI_ZEROS: case BI_FULL:
        type_constructor(c, e, &a);
        return;
    case BI_CDIV:
        type_cdiv(c, e, &a);
        return;
    case BI_RAND: case BI_RANDINT:
        type_rand(c, e, &a);
        return;
    case BI_DOT:
        type_dot(c, e, &a);
        return;
    case BI_CUMSUM:
        type_cumsum(c, e, &a);
        return;
    case BI_SPLIT:
        type_split(c, e, &a);
        return;
    case BI_JOIN:
        type_join(c, e, &a);
        return;
    default:
        set_error(e);
        return;
    }
}

static NOINLINE void check_name(Checker *c, Expr *e)
{
    Symbol *s = lookup(c, e->name);
    if (!s) {
        if (e->name)
            report_unknown_name(c, e->loc, e->name);
        set_error(e);
        return;
    }
    e->sym = s;
    switch (s->kind) {
    case SYM_LOCAL:
        e->type = s->local->type;
        return;
    case SYM_LOOPVAR:
        e->type = (Type){.kind = TYPE_LOOPVAR, .axes = {{AXIS_BLOCK, s->loopvar->id}}};
        return;
    case SYM_SHAPE:
        e->type = scalar_type(DT_I64);
        return;
    case SYM_PARAM:
        break;
    }
    Param *p = s->param;
    if (p->kind != PARAM_TENSOR) {
        e->type = scalar_type(p->dtype);
        e->type.is_const = p->kind == PARAM_CONST;
        return;
    }
    Type t = {.kind = TYPE_TENSOR, .dtype = p->dtype, .rank = p->rank};
    for (int i = 0; i < p->rank && i < MAX_RANK; i++)
        t.axes[i] = p->dims[i].is_symbol ? (Axis){AXIS_FULL, p->dims[i].sym}
                                         : (Axis){AXIS_CONST, (int)p->dims[i].value};
    e->type = t;
}

static NOINLINE void check_expr_kind(Checker *c, Expr *e)
{
    switch (e->kind) {
    case EXPR_INT:
        e->type = scalar_type(DT_I64);
        e->type.weak = e->type.is_const = true;
        return;
    case EXPR_FLOAT:
        e->type = scalar_type(DT_F32);
        e->type.weak = e->type.is_const = true;
        return;
    case EXPR_BOOL:
        e->type = scalar_type(DT_BOOL);
        e->type.is_const = true;
        return;
    case EXPR_NAME:
        check_name(c, e);
        return;
    case EXPR_UNARY:
        check_unary(c, e);
        return;
    case EXPR_BINARY:
        check_binary(c, e);
        return;
    case EXPR_TERNARY:
        check_ternary(c, e);
        return;
    case EXPR_CALL:
        check_call(c, e);
        return;
    case EXPR_INDEX:
        check_index(c, e);
        return;
    case EXPR_FIELD:
        check_field(c, e);
        return;
    case EXPR_TO:
        check_to(c, e);
        return;
    case EXPR_SLICE:
        diag_error(c->diag, e->loc, "`:` is only allowed in an index");
        break;
    case EXPR_NONE:
        diag_error(c->diag, e->loc, "None is only allowed in an index");
        break;
    case EXPR_DTYPE:
        diag_error(c->diag, e->loc, "dtype %s is only an argument of zeros or full",
                   dtype_name(e->dtype));
        break;
    case EXPR_LIST:
        diag_error(c->diag, e->loc, "a shape list is only the first argument of zeros or full");
        break;
    case EXPR_KWARG:
        diag_error(c->diag, e->loc, "a keyword argument is only allowed in a call");
        break;
    }
    set_error(e);
}

/* Fills e's sema fields and returns its type. Depth-guarded: a pathological nesting is
   one error, not a stack overflow. */
static NOINLINE const Type *check_expr(Checker *c, Expr *e)
{
    if (!e)
        return &error_type;
    e->reduce_axis = -2;
    e->builtin = BI_NONE;
    e->sym = NULL;
    set_error(e);
    if (c->depth >= SEMA_MAX_DEPTH) {
        if (!c->too_deep_reported)
            diag_error(c->diag, e->loc, "expression nested too deeply (more than %d levels)",
                       SEMA_MAX_DEPTH);
        c->too_deep_reported = true;
        return &e->type;
    }
    c->depth++;
    check_expr_kind(c, e);
    c->depth--;
    return &e->type;
}

/* ---- loop extents */

/* The first part of an extent that is not a shape symbol, scalar/const parameter,
   literal, .begin/.end, min/max/cdiv, arithmetic or a const ?:. `why` names it, or is
   NULL for a ?: whose condition is not const. */
static const Expr *extent_offender(const Expr *e, const char **why)
{
    if (!e)
        return NULL;
    switch (e->kind) {
    case EXPR_INT: case EXPR_BOOL:
        return NULL;
    case EXPR_NAME:
        if (e->sym && (e->sym->kind == SYM_SHAPE || e->sym->kind == SYM_PARAM))
            return NULL;
        *why = e->sym && e->sym->kind == SYM_LOCAL ? "a local" : "this name";
        return e;
    case EXPR_UNARY:
        if (e->op == UN_BITNOT) {   /* libtile's grid programs have no bit operations */
            *why = "a bit operation";
            return e;
        }
        return extent_offender(e->lhs, why);
    case EXPR_BINARY: {
        if (e->op >= BIN_BITAND && e->op <= BIN_SHR) {
            *why = "a bit operation";
            return e;
        }
        const Expr *l = extent_offender(e->lhs, why);
        return l ? l : extent_offender(e->rhs, why);
    }
    case EXPR_TERNARY: {
        if (e->cond && !e->cond->type.is_const) {
            *why = NULL;        /* a run-time condition */
            return e->cond;
        }
        const Expr *l = extent_offender(e->lhs, why);
        return l ? l : extent_offender(e->rhs, why);
    }
    case EXPR_CALL:
        if (e->builtin == BI_MIN || e->builtin == BI_MAX || e->builtin == BI_CDIV) {
            for (int i = 0; i < e->nargs; i++) {
                const Expr *bad = extent_offender(e->args[i], why);
                if (bad)
                    return bad;
            }
            return NULL;
        }
        *why = "a call";
        return e;
    case EXPR_FIELD:
        if (e->name && (strcmp(e->name, "begin") == 0 || strcmp(e->name, "end") == 0))
            return NULL;
        *why = "this field";
        return e;
    case EXPR_INDEX:
        *why = "a tensor load";
        return e;
    default:
        *why = "this expression";
        return e;
    }
}

/* A loop bound: the extent (end) of a variable, or tile(lo, hi)'s lo. A sequential loop's
   bounds are any integer scalars of the program (a jagged batch's offsets read from a
   tensor); the grid is sized before the launch, from the launch's values alone. */
static NOINLINE void check_extent(Checker *c, Expr *e, bool is_grid)
{
    const Type *t = check_expr(c, e);
    if (t->kind == TYPE_ERROR || !need_value(c, e))
        return;
    if (t->rank != 0 || !dtype_is_int(t->dtype)) {
        diag_error(c->diag, e->loc, "a loop extent must be an integer scalar, got %s", show_type(c, t));
        return;
    }
    if (!is_grid)
        return;
    const char *why = "this expression";
    const Expr *bad = extent_offender(e, &why);
    if (bad && bad->kind == EXPR_INDEX)
        diag_error(c->diag, bad->loc, "the grid's extent may not read a tensor: the grid is "
                   "sized before the launch, from shape symbols, scalar and const parameters "
                   "and literals (a sequential loop's bounds may read one)");
    else if (bad && !why)
        diag_error(c->diag, bad->loc, "the condition of ?: in the grid's extent must be known at "
                   "compile time (const parameters and literals)");
    else if (bad)
        diag_error(c->diag, bad->loc, "the grid's extent may not use %s: it is built from shape "
                   "symbols, scalar and const parameters and literals (a sequential loop's "
                   "bounds may use any integer scalar)", why);
}

/* ---- statements */

static void check_stmts(Checker *c, Stmt **stmts, int n, const char *block);
static void check_stmt(Checker *c, Stmt *s);

static void open_scope(Checker *c, int *saved_len, const char **saved_block, const char *block)
{
    *saved_len = c->visible.len;
    *saved_block = c->block;
    c->block = block;
}

static void close_scope(Checker *c, int saved_len, const char *saved_block)
{
    for (int i = saved_len; i < c->visible.len; i++)
        ptrvec_push(c->arena, &c->dead, c->visible.items[i]);
    pop_visible(c, saved_len);
    c->block = saved_block;
}

static NOINLINE void check_stmts(Checker *c, Stmt **stmts, int n, const char *block)
{
    int saved_len;
    const char *saved_block;
    open_scope(c, &saved_len, &saved_block, block);
    for (int i = 0; i < n; i++)
        check_stmt(c, stmts[i]);
    close_scope(c, saved_len, saved_block);
}

/* An assignment to an existing local inside loops opened after its definition makes it
   loop-carried in each of them (the grid loop carries nothing: its iterations are
   separate programs). */
static void mark_carried(Checker *c, LocalInfo *info)
{
    for (int i = info->loop_depth; i < c->frames.len; i++) {
        LoopFrame *f = c->frames.items[i];
        if (f->is_grid)
            continue;
        bool seen = false;
        for (int j = 0; j < f->carried.len && !seen; j++)
            seen = f->carried.items[j] == info->local;
        if (!seen)
            ptrvec_push(c->arena, &f->carried, info->local);
    }
}

/* A local may not take the name of a parameter, shape symbol or loop variable in scope. */
static bool local_name_free(Checker *c, Loc loc, const char *name)
{
    Symbol *s = lookup(c, name);
    if (!s || s->kind == SYM_LOCAL)
        return true;
    if (s->kind == SYM_PARAM)
        diag_error(c->diag, loc, "cannot assign to parameter %s: parameters are read-only "
                   "(name the local differently)", name);
    else if (s->kind == SYM_LOOPVAR)
        diag_error(c->diag, loc, "cannot assign to loop variable %s (name the local differently)",
                   name);
    else
        diag_error(c->diag, loc, "cannot assign to shape symbol %s (name the local differently)", name);
    return false;
}

static LocalInfo *define_local(Checker *c, Stmt *s, const Type *t)
{
    LocalInfo *info = arena_alloc(c->arena, sizeof *info);
    Local *local = arena_alloc(c->arena, sizeof *local);
    local->name = s->name;
    local->loc = s->loc;
    local->type = *t;
    local->type.weak = false;
    local->type.is_const = false;
    local->id = c->locals.len;
    info->local = local;
    info->sym = (Symbol){.kind = SYM_LOCAL, .name = s->name, .local = local};
    info->loop_depth = c->frames.len;
    info->block = c->block;
    ptrvec_push(c->arena, &c->locals, info);
    push_visible(c, info);
    return info;
}

/* A value that may be stored in a slot of type `want` without conversion: the same dtype,
   or a weak literal of a compatible class. */
static bool dtype_fits(const Type *value, DType want)
{
    if (value->dtype == want)
        return true;
    if (!value->weak)
        return false;
    if (dtype_is_int(value->dtype))
        return want != DT_BOOL;
    return dtype_is_float(value->dtype) && dtype_is_float(want);
}

static NOINLINE void check_assign(Checker *c, Stmt *s)
{
    const char *name = or_q(s->name);
    check_expr(c, s->value);
    bool value_ok = s->value && need_value(c, s->value);
    const Type *t = value_ok ? &s->value->type : &error_type;
    if (value_ok && c->in_prologue && t->rank != 0) {
        diag_error(c->diag, s->loc, "statements before the grid loop compute scalars only: %s is %s",
                   name, show_type(c, t));
        t = &error_type;
    }
    if (!s->name)
        return;
    LocalInfo *info = find_local(c, s->name);
    if (!info && !local_name_free(c, s->loc, s->name))
        return;
    if (s->assign_op >= 0) {
        if (!info) {
            if (lookup(c, s->name) == NULL) {
                bool dead = false;
                for (int i = 0; i < c->dead.len && !dead; i++)
                    dead = strcmp(((LocalInfo *)c->dead.items[i])->local->name, name) == 0;
                if (dead)
                    report_unknown_name(c, s->loc, name);
                else
                    diag_error(c->diag, s->loc, "%s %s= needs an existing local: define %s first",
                               name, binop_text(s->assign_op), name);
            }
            return;
        }
        s->local = info->local;
        mark_carried(c, info);
        const Type *have = &info->local->type;
        Type res;
        if (have->kind != TYPE_VALUE || t->kind != TYPE_VALUE ||
            !binary_result(c, s->loc, s->assign_op, have, t, &res))
            return;
        if (res.dtype != have->dtype || !same_axes(&res, have))
            diag_error(c->diag, s->loc, "%s was %s, cannot assign %s (the result of %s %s= %s)",
                       name, show_type(c, have), show_type(c, &res), name,
                       binop_text(s->assign_op), show_type(c, t));
        else if (s->assign_op != BIN_MATMUL)
            check_adopted(c, s->value, have->dtype);
        return;
    }
    if (!info) {
        info = define_local(c, s, t);
        s->local = info->local;
        s->defines = true;
        return;
    }
    s->local = info->local;
    mark_carried(c, info);
    const Type *have = &info->local->type;
    if (have->kind != TYPE_VALUE || t->kind != TYPE_VALUE)
        return;
    if (!same_axes(t, have) || !dtype_fits(t, have->dtype))
        diag_error(c->diag, s->loc, "%s was %s, cannot assign %s", name, show_type(c, have),
                   show_type(c, t));
    else
        check_adopted(c, s->value, have->dtype);
}

/* The value of a store or an atomic: it broadcasts to the target's tile shape and has the
   target's dtype. */
static void check_written_value(Checker *c, Expr *target, Expr *value, Param *p, const char *what)
{
    check_expr(c, value);
    if (!need_value(c, value) || target->type.kind != TYPE_VALUE)
        return;
    const Type *want = &target->type, *t = &value->type;
    Type res = {.kind = TYPE_VALUE};
    Axis bad_a, bad_b;
    if (!broadcast(t, want, &res, &bad_a, &bad_b) || !same_axes(&res, want)) {
        diag_error(c->diag, value->loc, "%s of %s into %s: the value does not broadcast to the "
                   "target's shape %s", what, show_type(c, t), or_q(p->name), show_type(c, want));
        return;
    }
    if (!dtype_fits(t, p->dtype))
        diag_error(c->diag, value->loc, "%s of %s into %s tensor %s: convert with .to(%s)", what,
                   show_type(c, t), dtype_name(p->dtype), or_q(p->name), dtype_name(p->dtype));
    else
        check_adopted(c, value, p->dtype);
}

/* The tensor parameter that `t[...]` writes to, or NULL after reporting. */
static Param *written_tensor(Checker *c, Expr *target, const char *what)
{
    if (!target || target->kind != EXPR_INDEX || !target->lhs || target->lhs->kind != EXPR_NAME) {
        if (target)
            diag_error(c->diag, target->loc, "%s needs a tensor parameter indexed as t[...]", what);
        return NULL;
    }
    target->reduce_axis = -2;
    const Type *base = check_expr(c, target->lhs);
    Symbol *s = target->lhs->sym;
    if (base->kind == TYPE_ERROR)
        return NULL;
    if (!s || s->kind != SYM_PARAM) {
        diag_error(c->diag, target->loc, "%s into %s, which is %s: only tensor parameters are written",
                   what, or_q(target->lhs->name), s ? symbol_kind_name(s) : "not a parameter");
        return NULL;
    }
    if (s->param->kind != PARAM_TENSOR) {
        diag_error(c->diag, target->loc, "%s into %s parameter %s: only tensor parameters are written",
                   what, s->param->kind == PARAM_CONST ? "const" : "scalar", or_q(s->param->name));
        return NULL;
    }
    return s->param;
}

static NOINLINE void check_store(Checker *c, Stmt *s)
{
    if (c->in_prologue) {
        diag_error(c->diag, s->loc, "store before the grid loop: statements before it compute "
                   "scalars only (move the store into the grid loop)");
        return;
    }
    Param *p = written_tensor(c, s->target, "store");
    if (!p) {
        check_expr(c, s->value);
        return;
    }
    if (p->reduce != REDUCE_NONE) {
        const char *op = p->reduce == REDUCE_SUM ? "add" : p->reduce == REDUCE_MAX ? "max" : "min";
        diag_error(c->diag, s->target->loc, "%s is a reduction target: write it with atomic_%s(%s[...], v)",
                   or_q(p->name), op, or_q(p->name));
        return;
    }
    check_tensor_index(c, s->target, p);
    check_written_value(c, s->target, s->value, p, "store");
}

static ReduceOp atomic_op(Builtin b)
{
    return b == BI_ATOMIC_ADD ? REDUCE_SUM : b == BI_ATOMIC_MAX ? REDUCE_MAX : REDUCE_MIN;
}

static const char *reduce_name(ReduceOp op)
{
    return op == REDUCE_SUM ? "sum" : op == REDUCE_MAX ? "max" : "min";
}

static NOINLINE void check_expr_stmt(Checker *c, Stmt *s)
{
    Expr *e = s->value;
    if (!e)
        return;
    if (e->kind != EXPR_CALL || !is_atomic(builtin_lookup(e->name)) || lookup(c, e->name)) {
        if (e->kind == EXPR_CALL && is_atomic(builtin_lookup(e->name))) {
            check_expr(c, e);       /* reports the shadowing name */
            return;
        }
        diag_error(c->diag, e->loc, "this value is unused: only atomic_add, atomic_max and atomic_min "
                   "stand alone as statements");
        return;
    }
    e->builtin = builtin_lookup(e->name);
    e->reduce_axis = -2;
    const char *name = builtin_name(e->builtin);
    if (c->in_prologue) {
        diag_error(c->diag, e->loc, "%s before the grid loop: statements before it compute scalars "
                   "only", name);
        return;
    }
    CallArgs a;
    if (!split_args(c, e, &a) || !need_arity(c, e, &a, 2))
        return;
    Param *p = written_tensor(c, e->args[0], name);
    if (!p)
        return;
    ReduceOp op = atomic_op(e->builtin);
    if (p->reduce == REDUCE_NONE) {
        diag_error(c->diag, e->args[0]->loc, "%s needs a reduction target: %s is not declared "
                   "reduce(%s)", name, or_q(p->name), reduce_name(op));
        return;
    }
    if (p->reduce != op) {
        diag_error(c->diag, e->args[0]->loc, "%s is declared reduce(%s): combine into it with "
                   "atomic_%s", or_q(p->name), reduce_name(p->reduce),
                   p->reduce == REDUCE_SUM ? "add" : reduce_name(p->reduce));
        return;
    }
    check_tensor_index(c, e->args[0], p);
    check_written_value(c, e->args[0], e->args[1], p, name);
    e->type = e->args[0]->type;
}

/* One branch of an if on a run-time condition: a loop of zero or one block to the rest of
   the checker, so the locals it assigns are carried through it (into *carried). */
static void check_runtime_branch(Checker *c, Stmt **body, int n, const char *block,
                                 struct Local ***carried, int *ncarried)
{
    LoopFrame *frame = arena_alloc(c->arena, sizeof *frame);
    ptrvec_push(c->arena, &c->frames, frame);
    check_stmts(c, body, n, block);
    c->frames.len--;
    *ncarried = frame->carried.len;
    *carried = arena_alloc(c->arena, sizeof **carried * (size_t)(frame->carried.len + 1));
    for (int i = 0; i < frame->carried.len; i++)
        (*carried)[i] = frame->carried.items[i];
}

static NOINLINE void check_if(Checker *c, Stmt *s)
{
    const Type *t = check_expr(c, s->cond);
    if (s->cond && need_value(c, s->cond)) {
        if (t->dtype != DT_BOOL || t->rank != 0)
            diag_error(c->diag, s->cond->loc, "an if condition must be a scalar bool, got %s",
                       show_type(c, t));
        else if (!t->is_const && c->in_prologue)
            diag_error(c->diag, s->cond->loc, "an if before the grid loop must have a condition "
                       "known at compile time (const parameters and literals); inside the grid "
                       "loop it may be a run-time value");
        else if (!t->is_const)
            s->runtime = true;
    }
    if (s->runtime) {
        check_runtime_branch(c, s->body, s->nbody, "if", &s->carried, &s->ncarried);
        check_runtime_branch(c, s->else_body, s->nelse, "else branch", &s->else_carried,
                             &s->nelse_carried);
        return;
    }
    check_stmts(c, s->body, s->nbody, "if");
    check_stmts(c, s->else_body, s->nelse, "else branch");
}

/* Names a loop variable may not take: another variable of this loop, an enclosing loop's
   variable, a local in scope, a parameter or a shape symbol. */
static void check_loopvar_name(Checker *c, Stmt *s, int index)
{
    LoopVar *v = s->vars[index];
    for (int j = 0; j < index; j++)
        if (s->vars[j] && strcmp(s->vars[j]->name, v->name) == 0) {
            diag_error(c->diag, v->loc, "loop variable %s is bound twice in this loop", v->name);
            return;
        }
    LoopVar *outer = find_scope_var(c, v->name);
    LocalInfo *local = find_local(c, v->name);
    if (outer)
        diag_error(c->diag, v->loc, "loop variable %s shadows the enclosing loop variable %s (at %s)",
                   v->name, v->name, show_loc(c, v->loc, outer->loc));
    else if (local) {
        diag_error(c->diag, v->loc, "loop variable %s has the name of the local %s (defined at %s)",
                   v->name, v->name, show_loc(c, v->loc, local->local->loc));
        local->hidden = true;   /* inside the loop the name means the variable */
    }
    else if (find_param(c, v->name) >= 0)
        diag_error(c->diag, v->loc, "loop variable %s has the name of a parameter", v->name);
    else if (find_shape(c, v->name) >= 0)
        diag_error(c->diag, v->loc, "loop variable %s has the name of a shape symbol", v->name);
}

static NOINLINE void check_for(Checker *c, Stmt *s)
{
    bool is_grid = s == c->grid;
    if (!is_grid && c->in_prologue) {
        diag_error(c->diag, s->loc, "a loop before the grid loop: a kernel is scalar statements, then "
                   "one grid loop as its last statement");
        return;
    }
    if (!is_grid && s->explicit_grid)
        diag_error(c->diag, s->loc, "grid loop inside a sequential loop: `grid(...)` is only the "
                   "kernel's outermost loop");
    for (int i = 0; i < s->nvars; i++) {
        LoopVar *v = s->vars[i];
        if (!v)
            continue;
        if (v->start && is_grid)
            diag_error(c->diag, v->range_loc, "tile(lo, hi) ranges only a sequential loop: the "
                       "grid loop runs from 0 (write tile(hi) and offset the indices)");
        else if (v->start)
            check_extent(c, v->start, false);
        check_extent(c, v->extent, is_grid);
    }
    int saved_vars = c->scope_vars.len;
    for (int i = 0; i < s->nvars; i++) {
        if (!s->vars[i] || !s->vars[i]->name)
            continue;
        check_loopvar_name(c, s, i);
        ptrvec_push(c->arena, &c->scope_vars, s->vars[i]);
    }
    LoopFrame *frame = arena_alloc(c->arena, sizeof *frame);
    frame->is_grid = is_grid;
    ptrvec_push(c->arena, &c->frames, frame);
    bool saved_prologue = c->in_prologue;
    c->in_prologue = false;
    check_stmts(c, s->body, s->nbody, "loop");
    c->in_prologue = saved_prologue;
    c->frames.len--;
    c->scope_vars.len = saved_vars;
    for (int i = 0; i < c->visible.len; i++)
        ((LocalInfo *)c->visible.items[i])->hidden = false;
    s->ncarried = frame->carried.len;
    s->carried = arena_alloc(c->arena, sizeof *s->carried * (size_t)(s->ncarried + 1));
    for (int i = 0; i < s->ncarried; i++)
        s->carried[i] = frame->carried.items[i];
}

static void apply_tune(Checker *c, Stmt *s);
static void apply_sizes(Checker *c, Stmt *s);

static void check_stmt(Checker *c, Stmt *s)
{
    if (!s)
        return;
    if (c->depth >= SEMA_MAX_DEPTH) {
        if (!c->too_deep_reported)
            diag_error(c->diag, s->loc, "statements nested too deeply (more than %d levels)",
                       SEMA_MAX_DEPTH);
        c->too_deep_reported = true;
        return;
    }
    c->depth++;
    switch (s->kind) {
    case STMT_ASSIGN:
        check_assign(c, s);
        break;
    case STMT_STORE:
        check_store(c, s);
        break;
    case STMT_EXPR:
        check_expr_stmt(c, s);
        break;
    case STMT_FOR:
        check_for(c, s);
        break;
    case STMT_IF:
        check_if(c, s);
        break;
    case STMT_TUNE:
        diag_error(c->diag, s->loc, "tune is only allowed at the kernel's top level, before the grid loop");
        break;
    case STMT_SIZES:
        diag_error(c->diag, s->loc, "const %s in {...} is only allowed at the kernel's top level, "
                   "before the grid loop", or_q(s->name));
        break;
    }
    c->depth--;
}

/* ---- loop variables and tunables */

/* The block sizes a spec allows, as a bit set over log2 (bit i = size 2^i). Reports bad
   values; 0 means nothing is allowed (an error was reported). */
static unsigned block_bits(Checker *c, const BlockSpec *b, Loc fallback, const char *var)
{
    Loc loc = b->loc.line ? b->loc : fallback;
    unsigned bits = 0;
    int64_t values[2];
    const int64_t *list = values;
    int n = 0;
    switch (b->kind) {
    case BLOCK_FREE:
        list = knob_of_kind(TUNE_BLOCK)->values;
        n = knob_of_kind(TUNE_BLOCK)->nvalues;
        break;
    case BLOCK_FIXED:
    case BLOCK_SET:
        list = b->values;
        n = b->kind == BLOCK_FIXED && b->nvalues > 1 ? 1 : b->nvalues;
        if (n == 0 || !list) {
            diag_error(c->diag, loc, "the block set of %s is empty", var);
            return 0;
        }
        break;
    case BLOCK_RANGE:
        values[0] = b->lo;
        values[1] = b->hi;
        n = 2;
        break;
    }
    for (int i = 0; i < n; i++) {
        int64_t v = list[i];
        if (v < 1 || v > MAX_BLOCK_SIZE) {
            diag_error(c->diag, loc, "block size %lld of %s is out of range: sizes are 1 to %d",
                       (long long)v, var, MAX_BLOCK_SIZE);
            return 0;
        }
        if (!is_pow2(v)) {
            diag_error(c->diag, loc, "block size %lld of %s is not a power of two", (long long)v, var);
            return 0;
        }
    }
    if (b->kind == BLOCK_RANGE) {
        if (b->lo > b->hi) {
            diag_error(c->diag, loc, "block range %lld..%lld of %s is empty: lo must be <= hi",
                       (long long)b->lo, (long long)b->hi, var);
            return 0;
        }
        for (int i = 0; i <= MAX_BLOCK_LOG2; i++)
            if ((1LL << i) >= b->lo && (1LL << i) <= b->hi)
                bits |= 1u << i;
        return bits;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= MAX_BLOCK_LOG2; j++)
            if (list[i] == 1LL << j)
                bits |= 1u << j;
    return bits;
}

static Tunable *find_tunable(Checker *c, const char *name)
{
    for (int i = 0; i < c->tunables.len; i++) {
        Tunable *t = c->tunables.items[i];
        if (strcmp(t->name, name) == 0)
            return t;
    }
    return NULL;
}

static Tunable *new_tunable(Checker *c, const char *name, TunableKind kind, const int64_t *values,
                            int n)
{
    Tunable *t = arena_alloc(c->arena, sizeof *t);
    t->name = name;
    t->kind = kind;
    t->values = arena_alloc(c->arena, sizeof *t->values * (size_t)(n ? n : 1));
    memcpy(t->values, values, sizeof *values * (size_t)n);
    t->nvalues = n;
    ptrvec_push(c->arena, &c->tunables, t);
    return t;
}

static int bits_to_values(unsigned bits, int64_t *out)
{
    int n = 0;
    for (int i = 0; i <= MAX_BLOCK_LOG2; i++)
        if (bits & (1u << i))
            out[n++] = 1LL << i;
    return n;
}

static unsigned values_to_bits(const Tunable *t)
{
    unsigned bits = 0;
    for (int i = 0; i < t->nvalues; i++)
        for (int j = 0; j <= MAX_BLOCK_LOG2; j++)
            if (t->values[i] == 1LL << j)
                bits |= 1u << j;
    return bits;
}

/* The knob's name prefix and the variable in upper case: BLOCK_M. */
static const char *tunable_name_for(Checker *c, const char *var)
{
    const char *prefix = knob_of_kind(TUNE_BLOCK)->name;
    size_t n = strlen(var), p = strlen(prefix);
    char *name = arena_alloc(c->arena, p + n + 1);
    memcpy(name, prefix, p);
    for (size_t i = 0; i < n; i++)
        name[p + i] = var[i] >= 'a' && var[i] <= 'z' ? (char)(var[i] - 'a' + 'A') : var[i];
    return name;
}

/* One BLOCK_<V> tunable per unpinned loop variable; same-name variables (sibling loops)
   share it, allowing the sizes both their block(...) allow. */
static void add_block_tunable(Checker *c, LoopVar *v)
{
    unsigned bits = block_bits(c, &v->block, v->loc, v->name);
    if (v->block.kind == BLOCK_FIXED && bits == 1u) {
        v->scalar = true;
        return;
    }
    const char *name = tunable_name_for(c, v->name);
    v->tunable = name;
    if (strlen(name) > MAX_TUNABLE_NAME) {
        diag_error(c->diag, v->loc, "loop variable %.20s... is %zu bytes: its tunable %s would "
                   "be longer than a --config key may be (loop variables are at most %d bytes)",
                   v->name, strlen(v->name), "BLOCK_<V>", MAX_TUNABLE_NAME - 6);
        return;
    }
    if (!bits)
        return;
    Tunable *t = find_tunable(c, name);
    if (!t) {
        int64_t values[MAX_BLOCK_LOG2 + 1];
        int n = bits_to_values(bits, values);
        t = new_tunable(c, name, TUNE_BLOCK, values, n);
        t->loopvar = v;
        return;
    }
    if (strcmp(t->loopvar->name, v->name) != 0) {
        if (find_param(c, v->name) >= 0 || find_shape(c, v->name) >= 0 ||
            find_param(c, t->loopvar->name) >= 0 || find_shape(c, t->loopvar->name) >= 0)
            return;     /* the name itself is reported when the loop is checked */
        diag_error(c->diag, v->loc, "loop variables %s and %s would share the tunable %s: rename one",
                   t->loopvar->name, v->name, name);
        return;
    }
    unsigned both = bits & values_to_bits(t);
    if (!both) {
        diag_error(c->diag, v->loc, "the block sizes of %s here and at %s have no value in common "
                   "(same-name loop variables share %s)", v->name,
                   show_loc(c, v->loc, t->loopvar->loc), name);
        return;
    }
    t->nvalues = bits_to_values(both, t->values);
}

/* Walks every loop (in source order, outermost first) to number the loop variables and
   make their tunables before any statement is checked, so `tune` and type printing can
   refer to loops that come later. */
static void collect_loopvars(Checker *c, Stmt **stmts, int n, PtrVec *out, int depth)
{
    if (depth >= SEMA_MAX_DEPTH)
        return;
    for (int i = 0; i < n; i++) {
        Stmt *s = stmts[i];
        if (!s)
            continue;
        if (s->kind == STMT_FOR) {
            for (int j = 0; j < s->nvars; j++) {
                LoopVar *v = s->vars[j];
                if (!v)
                    continue;
                v->id = out->len;
                v->is_grid = s == c->grid;
                v->scalar = false;
                v->tunable = NULL;
                if (!v->name)
                    v->name = "?";
                ptrvec_push(c->arena, out, v);
            }
            collect_loopvars(c, s->body, s->nbody, out, depth + 1);
        } else if (s->kind == STMT_IF) {
            collect_loopvars(c, s->body, s->nbody, out, depth + 1);
            collect_loopvars(c, s->else_body, s->nelse, out, depth + 1);
        }
    }
}

/* What the kernel has that some knob needs (Knob.needs), read from the syntax: tunables
   are made before the body is checked, so that `tune` can narrow them. */
static bool expr_has_dot(const Expr *e, int depth)
{
    if (!e || depth >= SEMA_MAX_DEPTH)
        return false;
    if (e->kind == EXPR_BINARY && e->op == BIN_MATMUL)
        return true;
    if (expr_has_dot(e->lhs, depth + 1) || expr_has_dot(e->rhs, depth + 1) ||
        expr_has_dot(e->cond, depth + 1))
        return true;
    for (int i = 0; i < e->nargs; i++)
        if (expr_has_dot(e->args[i], depth + 1))
            return true;
    return false;
}

static bool stmts_have_dot(Stmt **stmts, int n, int depth)
{
    if (depth >= SEMA_MAX_DEPTH)
        return false;
    for (int i = 0; i < n; i++) {
        const Stmt *s = stmts[i];
        if (s && (expr_has_dot(s->target, 0) || expr_has_dot(s->value, 0) ||
                  expr_has_dot(s->cond, 0) || stmts_have_dot(s->body, s->nbody, depth + 1) ||
                  stmts_have_dot(s->else_body, s->nelse, depth + 1)))
            return true;
    }
    return false;
}

/* One BLOCK_<V> per unpinned loop variable, then one tunable of every other knob the
   kernel has, in the knob table's order. */
static void make_tunables(Checker *c)
{
    Kernel *k = c->kernel;
    for (int i = 0; i < k->nloopvars; i++)
        add_block_tunable(c, k->loopvars[i]);
    unsigned features = stmts_have_dot(k->body, k->nbody, 0) ? KNOB_NEEDS_DOT : 0;
    for (int kind = 0; kind < TUNE_KIND_COUNT; kind++) {
        const Knob *knob = knob_of_kind((TunableKind)kind);
        if (!knob->per_loop && (knob->needs & ~features) == 0)
            new_tunable(c, knob->name, (TunableKind)kind, knob->values, knob->nvalues);
    }
}

static const char *list_values(Checker *c, const int64_t *v, int n)
{
    const char *s = "";
    for (int i = 0; i < n; i++)
        s = arena_printf(c->arena, "%s%s%lld", s, i ? ", " : "", (long long)v[i]);
    return s;
}

static const char *list_tunables(Checker *c)
{
    const char *s = "";
    for (int i = 0; i < c->tunables.len; i++)
        s = arena_printf(c->arena, "%s%s%s", s, i ? ", " : "",
                         ((Tunable *)c->tunables.items[i])->name);
    return s;
}

/* `tune NAME in {..}` keeps exactly the listed values, each of which must be allowed
   already; `tune NAME in lo..hi` keeps the allowed values in [lo, hi]. */
/* `const D in {64, 128}`: the sizes a bundle builds full axis D for when --config gives
   none. Whether D is taken whole is known only after the body (check_full_sizes). */
static void apply_sizes(Checker *c, Stmt *s)
{
    const char *name = or_q(s->name);
    int sym = s->name ? find_shape(c, s->name) : -1;
    if (sym < 0) {
        if (s->name && find_param(c, s->name) >= 0)
            diag_error(c->diag, s->loc, "%s is a parameter: `const NAME in {...}` lists the "
                       "sizes of a shape symbol taken whole (a const parameter declares its "
                       "values in the signature)", name);
        else
            diag_error(c->diag, s->loc, "%s is not a shape symbol of kernel %s", name,
                       or_q(c->kernel->name));
        return;
    }
    ShapeSym *shape = c->kernel->syms[sym];
    if (shape->sizes) {
        diag_error(c->diag, s->loc, "the sizes of %s are already listed (one `const %s in {...}` "
                   "per symbol)", name, name);
        return;
    }
    const BlockSpec *b = &s->tune;
    if (b->nvalues > FULL_AXIS_MAX_SIZES) {
        diag_error(c->diag, s->loc, "const %s lists %d sizes; at most %d", name, b->nvalues,
                   FULL_AXIS_MAX_SIZES);
        return;
    }
    for (int i = 0; i < b->nvalues; i++) {
        if (b->values[i] < 1 || b->values[i] > TIR_MAX_FULL_AXIS) {
            diag_error(c->diag, s->loc, "size %lld of %s: a full axis is 1 to %d",
                       (long long)b->values[i], name, TIR_MAX_FULL_AXIS);
            return;
        }
        for (int j = 0; j < i; j++)
            if (b->values[j] == b->values[i]) {
                diag_error(c->diag, s->loc, "size %lld of %s is listed twice",
                           (long long)b->values[i], name);
                return;
            }
    }
    shape->sizes = b->values;
    shape->nsizes = b->nvalues;
}

/* After the body: a size list on a symbol never taken whole would be ignored. */
static void check_full_sizes(Checker *c)
{
    Kernel *k = c->kernel;
    for (int i = 0; i < k->nbody; i++) {
        const Stmt *s = k->body[i];
        if (!s || s->kind != STMT_SIZES || !s->name)
            continue;
        int sym = find_shape(c, s->name);
        if (sym >= 0 && k->syms[sym]->sizes == s->tune.values && !k->syms[sym]->is_full)
            diag_error(c->diag, s->loc, "%s is never taken whole (as `:` or in zeros/full), so "
                       "its size is bound at launch: `const %s in {...}` lists the sizes of a "
                       "full axis", s->name, s->name);
    }
}

static void apply_tune(Checker *c, Stmt *s)
{
    const char *name = or_q(s->name);
    Tunable *t = s->name ? find_tunable(c, s->name) : NULL;
    if (!t) {
        for (int i = 0; i < c->kernel->nloopvars; i++) {
            LoopVar *v = c->kernel->loopvars[i];
            if (v->scalar && strcmp(tunable_name_for(c, v->name), name) == 0) {
                diag_error(c->diag, s->loc, "%s is not a tunable: %s is pinned to block 1", name,
                           v->name);
                return;
            }
        }
        diag_error(c->diag, s->loc, "unknown tunable %s (this kernel's tunables: %s)", name,
                   list_tunables(c));
        return;
    }
    for (int i = 0; i < c->tunes.len; i++) {
        Stmt *prev = c->tunes.items[i];
        if (strcmp(prev->name, name) == 0) {
            diag_error(c->diag, s->loc, "%s is already narrowed by the tune at %s", name,
                       show_loc(c, s->loc, prev->loc));
            return;
        }
    }
    ptrvec_push(c->arena, &c->tunes, s);
    const BlockSpec *b = &s->tune;
    const char *allowed = list_values(c, t->values, t->nvalues);
    int64_t *kept = arena_alloc(c->arena, sizeof *kept * (size_t)(t->nvalues + 1));
    int n = 0;
    if (b->kind == BLOCK_RANGE) {
        if (b->lo > b->hi) {
            diag_error(c->diag, s->loc, "tune range %lld..%lld is empty: lo must be <= hi",
                       (long long)b->lo, (long long)b->hi);
            return;
        }
        for (int i = 0; i < t->nvalues; i++)
            if (t->values[i] >= b->lo && t->values[i] <= b->hi)
                kept[n++] = t->values[i];
        if (n == 0) {
            diag_error(c->diag, s->loc, "tune %s in %lld..%lld keeps none of its values (allowed: %s)",
                       name, (long long)b->lo, (long long)b->hi, allowed);
            return;
        }
    } else if (b->kind == BLOCK_SET || b->kind == BLOCK_FIXED) {
        if (b->nvalues == 0 || !b->values) {
            diag_error(c->diag, s->loc, "tune %s lists no values", name);
            return;
        }
        for (int i = 0; i < t->nvalues; i++)
            for (int j = 0; j < b->nvalues; j++)
                if (b->values[j] == t->values[i]) {
                    kept[n++] = t->values[i];
                    break;
                }
        for (int j = 0; j < b->nvalues; j++) {
            bool found = false;
            for (int i = 0; i < t->nvalues && !found; i++)
                found = b->values[j] == t->values[i];
            if (!found) {
                diag_error(c->diag, s->loc, "tune %s: %lld is not allowed (allowed: %s)", name,
                           (long long)b->values[j], allowed);
                return;
            }
        }
    } else {
        diag_error(c->diag, s->loc, "tune %s needs a set {..} or a range lo..hi", name);
        return;
    }
    t->values = kept;
    t->nvalues = n;
}

/* The allowed value nearest to `want` (in log2 for powers of two); ties take the smaller. */
static void set_default(Tunable *t, int64_t want)
{
    const Knob *knob = knob_of_kind(t->kind);
    if (t->nvalues == 0) {
        t->default_value = want;
        return;
    }
    int64_t best = t->values[0], best_d = -1;
    for (int i = 0; i < t->nvalues; i++) {
        int64_t v = t->values[i], d;
        if (knob->powers_of_two) {
            int lv = 0, lw = 0;
            while ((1LL << lv) < v)
                lv++;
            while ((1LL << lw) < want)
                lw++;
            d = lv > lw ? lv - lw : lw - lv;
        } else {
            d = v > want ? v - want : want - v;
        }
        if (best_d < 0 || d < best_d) {
            best = v;
            best_d = d;
        }
    }
    t->default_value = best;
}

/* ---- parameters and kernel structure */

/* --config reads `align` as the alignment class and each knob's name (num_warps, BLOCK_<V>,
   ...: the knob table) as a tunable: a shape symbol or const parameter so named could not
   be given its value. Writes a suggested new name into `hint`: SIZE_<V> for a per-loop
   knob's name, else the name in upper case. */
static bool is_config_key(const char *name, char *hint, size_t size)
{
    TunableKind kind;
    const Knob *knob = knob_kind_of_name(name, &kind) ? knob_of_kind(kind) : NULL;
    if (!knob && strcmp(name, "align") != 0)
        return false;
    if (knob && knob->per_loop) {
        snprintf(hint, size, "SIZE_%s", name + strlen(knob->name));
        return true;
    }
    size_t n = 0;
    for (; name[n] && n + 1 < size; n++)
        hint[n] = name[n] >= 'a' && name[n] <= 'z' ? (char)(name[n] - 'a' + 'A') : name[n];
    hint[n] = 0;
    return true;
}

static void check_not_config_key(Checker *c, Loc loc, const char *what, const char *name)
{
    char hint[300], keys[200] = "align";
    if (!is_config_key(name, hint, sizeof hint))
        return;
    for (int per_loop = 0; per_loop < 2; per_loop++)   /* "align, num_warps, ..., BLOCK_*" */
        for (int i = 0; i < TUNE_KIND_COUNT; i++) {
            const Knob *k = knob_of_kind((TunableKind)i);
            if (k->per_loop == per_loop)
                snprintf(keys + strlen(keys), sizeof keys - strlen(keys), ", %s%s", k->name,
                         per_loop ? "*" : "");
        }
    diag_error(c->diag, loc, "%s %s has the name of a --config key (%s): the command line "
               "could not tell them apart; rename it (%s, say)", what, name, keys, hint);
}

static void check_params(Checker *c)
{
    Kernel *k = c->kernel;
    PtrVec syms = {0};
    for (int i = 0; i < k->nparams; i++) {
        Param *p = k->params[i];
        if (!p || !p->name)
            continue;
        for (int j = 0; j < i; j++)
            if (k->params[j] && k->params[j]->name && strcmp(k->params[j]->name, p->name) == 0) {
                diag_error(c->diag, p->loc, "duplicate parameter %s (first at %s)", p->name,
                           show_loc(c, p->loc, k->params[j]->loc));
                break;
            }
        note_fp8(c, p->loc, p->dtype);
        switch (p->kind) {
        case PARAM_TENSOR:
            if (p->rank < 1)
                diag_error(c->diag, p->loc, "tensor parameter %s needs at least one dim", p->name);
            if (p->reduce != REDUCE_NONE && p->dtype != DT_F32 && p->dtype != DT_I32 &&
                p->dtype != DT_I64)
                diag_error(c->diag, p->loc, "reduction target %s must be f32, i32 or i64, got %s",
                           p->name, dtype_name(p->dtype));
            for (int d = 0; d < p->rank && d < MAX_RANK; d++) {
                ShapeDim *dim = &p->dims[d];
                dim->sym = -1;
                if (!dim->is_symbol) {
                    if (dim->value < 1 || dim->value > INT32_MAX)
                        diag_error(c->diag, dim->loc, "dim %d of %s has size %lld: sizes are 1 to %d",
                                   d, p->name, (long long)dim->value, INT32_MAX);
                    continue;
                }
                if (!dim->name)
                    continue;
                int found = -1;
                for (int s = 0; s < syms.len && found < 0; s++)
                    if (strcmp(((ShapeSym *)syms.items[s])->name, dim->name) == 0)
                        found = s;
                if (found < 0) {
                    check_not_config_key(c, dim->loc, "shape symbol", dim->name);
                    ShapeSym *sym = arena_alloc(c->arena, sizeof *sym);
                    sym->name = dim->name;
                    sym->loc = dim->loc;
                    sym->id = found = syms.len;
                    ptrvec_push(c->arena, &syms, sym);
                }
                dim->sym = found;
            }
            break;
        case PARAM_SCALAR:
            if (dtype_is_fp8(p->dtype))
                diag_error(c->diag, p->loc, "scalar parameter %s cannot be %s: pass it as f32",
                           p->name, dtype_name(p->dtype));
            else if (dtype_is_int(p->dtype) && p->dtype != DT_I32 && p->dtype != DT_I64)
                diag_error(c->diag, p->loc, "scalar parameter %s cannot be %s: pass it as i32 "
                           "and convert with .to(%s)", p->name, dtype_name(p->dtype),
                           dtype_name(p->dtype));
            break;
        case PARAM_CONST:
            check_not_config_key(c, p->loc, "const parameter", p->name);
            if (p->dtype != DT_BOOL && p->dtype != DT_I32 && p->dtype != DT_I64) {
                diag_error(c->diag, p->loc, "const parameter %s must be bool, i32 or i64, got %s",
                           p->name, dtype_name(p->dtype));
            } else if (p->dtype == DT_BOOL && p->nconst_values > 0) {
                diag_error(c->diag, p->loc, "const bool %s takes both values: `in {...}` is for "
                           "integer consts", p->name);
            } else if (p->dtype != DT_BOOL && p->nconst_values == 0) {
                diag_error(c->diag, p->loc, "const %s %s must list its values, as in "
                           "`%s: const %s in {1, 2}`", dtype_name(p->dtype), p->name, p->name,
                           dtype_name(p->dtype));
            }
            for (int v = 0; v < p->nconst_values && p->const_values; v++) {
                int64_t x = p->const_values[v];
                if (p->dtype == DT_I32 && (x < INT32_MIN || x > INT32_MAX))
                    diag_error(c->diag, p->loc, "const %s lists %lld, which is not an i32", p->name,
                               (long long)x);
                for (int w = 0; w < v; w++)
                    if (p->const_values[w] == x) {
                        diag_error(c->diag, p->loc, "const %s lists %lld twice", p->name, (long long)x);
                        break;
                    }
            }
            break;
        }
        if (p->kind != PARAM_TENSOR && p->reduce != REDUCE_NONE)
            diag_error(c->diag, p->loc, "reduce(...) needs a tensor parameter: %s is a scalar", p->name);
    }
    k->nsyms = syms.len;
    k->syms = arena_alloc(c->arena, sizeof *k->syms * (size_t)(syms.len + 1));
    for (int i = 0; i < syms.len; i++) {
        ShapeSym *s = syms.items[i];
        k->syms[i] = s;
        int p = find_param(c, s->name);
        if (p >= 0)
            diag_error(c->diag, s->loc, "shape symbol %s has the name of a parameter", s->name);
    }
}

/* A program's signature (program.c): the same rules as a kernel's parameters. */
void sema_check_signature(Arena *a, Diag *d, const SemaOptions *opts, const char *owner,
                          Param **params, int nparams, ShapeSym ***syms, int *nsyms)
{
    Kernel k = {.name = owner, .params = params, .nparams = nparams};
    Checker c = {.arena = a, .diag = d, .opts = opts, .kernel = &k};
    check_params(&c);
    *syms = k.syms;
    *nsyms = k.nsyms;
}

static void make_symbols(Checker *c)
{
    Kernel *k = c->kernel;
    c->param_syms = arena_alloc(c->arena, sizeof *c->param_syms * (size_t)(k->nparams + 1));
    for (int i = 0; i < k->nparams; i++)
        if (k->params[i])
            c->param_syms[i] = (Symbol){.kind = SYM_PARAM, .name = k->params[i]->name,
                                        .param = k->params[i]};
    c->shape_syms = arena_alloc(c->arena, sizeof *c->shape_syms * (size_t)(k->nsyms + 1));
    for (int i = 0; i < k->nsyms; i++)
        c->shape_syms[i] = (Symbol){.kind = SYM_SHAPE, .name = k->syms[i]->name, .shape = k->syms[i]};
    c->loopvar_syms = arena_alloc(c->arena, sizeof *c->loopvar_syms * (size_t)(k->nloopvars + 1));
    for (int i = 0; i < k->nloopvars; i++)
        c->loopvar_syms[i] = (Symbol){.kind = SYM_LOOPVAR, .name = k->loopvars[i]->name,
                                      .loopvar = k->loopvars[i]};
}

/* Top level: prologue statements, then the grid loop as the last statement. */
static void check_body(Checker *c)
{
    Kernel *k = c->kernel;
    int grid_at = -1;
    for (int i = 0; i < k->nbody && grid_at < 0; i++)
        if (k->body[i] && k->body[i]->kind == STMT_FOR)
            grid_at = i;
    if (grid_at < 0) {
        diag_error(c->diag, k->loc, "kernel %s has no grid loop: its body must end with "
                   "`for ... in tile(...) { }`", or_q(k->name));
    }
    c->in_prologue = true;
    for (int i = 0; i < k->nbody; i++) {
        Stmt *s = k->body[i];
        if (!s)
            continue;
        if (i == grid_at) {
            c->in_prologue = false;
            check_stmt(c, s);
        } else if (grid_at >= 0 && i > grid_at) {
            if (s->kind == STMT_TUNE || s->kind == STMT_SIZES)
                diag_error(c->diag, s->loc, "%s must come before the grid loop",
                           s->kind == STMT_TUNE ? "tune" : "a const size list");
            else if (s->kind == STMT_FOR)
                diag_error(c->diag, s->loc, "a second grid loop: a kernel has one (the first is at %s)",
                           show_loc(c, s->loc, k->body[grid_at]->loc));
            else
                diag_error(c->diag, s->loc, "statement after the grid loop: the grid loop (at %s) must "
                           "be the kernel's last statement", show_loc(c, s->loc, k->body[grid_at]->loc));
        } else if (s->kind == STMT_TUNE) {
            apply_tune(c, s);
        } else if (s->kind == STMT_SIZES) {
            apply_sizes(c, s);
        } else {
            check_stmt(c, s);
        }
    }
    c->in_prologue = false;
}

/* The default config on sm_90a, for a kernel with dots (docs/tuning.md, "Default
   configs"): two consumer warpgroups. A single dot: 256x128 tiles (each warpgroup 128x128,
   which leaves an epilogue's per-row and per-column operands registers to spare) and a
   reduction of 128 bytes of the operand per step through a ring of 4. Chained dots
   (attention): 128 rows, 64 keys per step through a ring of 2 (fp8 too, now that V lands
   through the ring and stages in words: 32 keys ran 0.68x as fast on an H100, 128 spills); other kernels of several dots 64x64 with one warpgroup (wgmma needs
   64 rows per warpgroup) through a ring of 2 (their operands and conversions share the
   shared memory). The nearest allowed value is taken (set_default). */
static int64_t target_default(const Checker *c, int i)
{
    bool chained = false;
    for (int j = 0; j < c->tunables.len; j++)
        chained |= (c->block_roles[j] & (ROLE_COLS | ROLE_RED)) == (ROLE_COLS | ROLE_RED);
    const Tunable *t = c->tunables.items[i];
    unsigned role = c->block_roles[i];
    switch (t->kind) {
    case TUNE_BLOCK:
        if (!chained && c->ndots > 1 && (role & (ROLE_ROWS | ROLE_COLS)))
            return 64;   /* several dots' operands and conversions share the shared memory */
        if (role & ROLE_ROWS)
            return chained ? 128 : 256;
        if ((role & ROLE_COLS) && (role & ROLE_RED))
            return 64;
        if (role & ROLE_COLS)
            return 128;
        if (role & ROLE_RED)
            return 128 / (c->dot_esize ? c->dot_esize : 2);
        return 64;
    case TUNE_WARPS: return !chained && c->ndots > 1 ? 4 : 8;   /* 64 rows: one warpgroup */
    case TUNE_STAGES: return chained || c->ndots > 1 ? 2 : 4;
    case TUNE_GROUP_M: return chained ? 1 : 8;
    default: return knob_of_kind(t->kind)->preferred;   /* dot, tile_groups, ws, persistent */
    }
}

/* The default config of a dot-free kernel (docs/tuning.md, "Default configs"): it is
   memory-bound, so a lane moves 16-byte vectors of the widest contiguous tensor (at least 8
   elements: two vectors of f32) and a warp spans the contiguous block (32 lanes' worth),
   while every other block takes one row per warp: a small tile (4x256 for bf16) and many
   programs. A block variable is contiguous when it indexes only the last dim of its
   accesses; without one (a transpose) a block keeps the preferred value, as does a block
   that indexes no tensor. The nearest allowed value is taken (set_default). */
static int64_t memory_default(const Checker *c, int i, int64_t warps)
{
    const Tunable *t = c->tunables.items[i];
    bool any_inner = false;
    for (int j = 0; j < c->tunables.len; j++)
        any_inner |= (c->block_roles[j] & (ROLE_INNER | ROLE_OUTER)) == ROLE_INNER;
    unsigned role = c->block_roles[i] & (ROLE_INNER | ROLE_OUTER);
    if (t->kind != TUNE_BLOCK || !any_inner || !role)
        return knob_of_kind(t->kind)->preferred;
    if (role == ROLE_INNER) {
        int per_lane = 16 / (c->inner_esize > 0 ? c->inner_esize : 4);
        return 32 * (per_lane > 8 ? per_lane : 8);
    }
    return warps;
}

static void check_kernel(Arena *a, Diag *d, Kernel *k, const SemaOptions *opts)
{
    Checker c = {.arena = a, .diag = d, .opts = opts, .kernel = k};
    int errors_before = d->errors;
    k->uses_fp8 = false;
    k->has_dot = false;
    k->checked = false;
    check_params(&c);
    for (int i = 0; i < k->nbody && !c.grid; i++)
        if (k->body[i] && k->body[i]->kind == STMT_FOR)
            c.grid = k->body[i];
    PtrVec vars = {0};
    collect_loopvars(&c, k->body, k->nbody, &vars, 0);
    k->nloopvars = vars.len;
    k->loopvars = arena_alloc(a, sizeof *k->loopvars * (size_t)(vars.len + 1));
    for (int i = 0; i < vars.len; i++)
        k->loopvars[i] = vars.items[i];
    make_tunables(&c);
    c.block_roles = arena_alloc(a, sizeof *c.block_roles * (size_t)(c.tunables.len + 1));
    memset(c.block_roles, 0, sizeof *c.block_roles * (size_t)(c.tunables.len + 1));
    make_symbols(&c);
    check_body(&c);
    check_full_sizes(&c);

    k->nlocals = c.locals.len;
    k->locals = arena_alloc(a, sizeof *k->locals * (size_t)(c.locals.len + 1));
    for (int i = 0; i < c.locals.len; i++)
        k->locals[i] = ((LocalInfo *)c.locals.items[i])->local;
    k->ntunables = c.tunables.len;
    k->tunables = arena_alloc(a, sizeof *k->tunables * (size_t)(c.tunables.len + 1));
    /* f32 dots run on FMA or mma.sync, their operands through registers: the Hopper-sized
       tiles are for wgmma, so a kernel whose dots all take f32 keeps the plain defaults */
    bool hopper = k->has_dot && c.dot_esize < 4 && opts && opts->target_sm >= 90;
    int64_t warps = knob_of_kind(TUNE_WARPS)->preferred;
    for (int i = 0; i < c.tunables.len; i++) {
        Tunable *t = c.tunables.items[i];
        if (!k->has_dot && t->kind == TUNE_WARPS) {   /* memory_default's rows follow it */
            set_default(t, warps);
            warps = t->default_value;
        }
    }
    for (int i = 0; i < c.tunables.len; i++) {
        Tunable *t = c.tunables.items[i];
        if (hopper)
            set_default(t, target_default(&c, i));
        else if (!k->has_dot)
            set_default(t, memory_default(&c, i, warps));
        else
            set_default(t, knob_of_kind(t->kind)->preferred);
        k->tunables[i] = t;
    }
    k->checked = d->errors == errors_before;
}

int sema_check(Arena *a, Diag *d, Program *p, const SemaOptions *opts)
{
    int errors_before = d->errors;
    if (!p)
        return 0;
    for (int i = 0; i < p->nkernels; i++) {
        Kernel *k = p->kernels[i];
        if (!k)
            continue;
        for (int j = 0; j < i; j++) {
            Kernel *prev = p->kernels[j];
            if (prev && k->name && prev->name && strcmp(prev->name, k->name) == 0) {
                if (prev->loc.file && prev->loc.file != k->loc.file)
                    diag_error(d, k->loc, "duplicate kernel %s (first defined at %s:%d:%d)", k->name,
                               prev->loc.file->path, prev->loc.line, prev->loc.col);
                else
                    diag_error(d, k->loc, "duplicate kernel %s (first defined at %d:%d)", k->name,
                               prev->loc.line, prev->loc.col);
                break;
            }
        }
        check_kernel(a, d, k, opts);
    }
    for (int i = 0; i < p->nprograms; i++)
        program_check(a, d, p, p->programs[i], opts);
    return d->errors - errors_before;
}
