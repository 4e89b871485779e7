/* ast.c — AST nodes and `tilec build --emit=ast`: an indented tree, one node per line,
   with the types and shapes sema filled in. The format is stable: golden tests diff it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "front.h"

Expr *expr_new(Arena *a, ExprKind kind, Loc loc)
{
    Expr *e = arena_alloc(a, sizeof *e);
    e->kind = kind;
    e->loc = loc;
    e->reduce_axis = -2;
    return e;
}

Stmt *stmt_new(Arena *a, StmtKind kind, Loc loc)
{
    Stmt *s = arena_alloc(a, sizeof *s);
    s->kind = kind;
    s->loc = loc;
    s->assign_op = -1;
    return s;
}

Kernel *program_find_kernel(const Program *p, const char *name)
{
    for (int i = 0; p && i < p->nkernels; i++)
        if (strcmp(p->kernels[i]->name, name) == 0)
            return p->kernels[i];
    return NULL;
}

ProgramDef *program_find_program(const Program *p, const char *name)
{
    for (int i = 0; p && i < p->nprograms; i++)
        if (strcmp(p->programs[i]->name, name) == 0)
            return p->programs[i];
    return NULL;
}

/* ---- printing */

/* Trees are bounded by the parser (MAX_NESTING); this guards hand-built ones. */
enum { PRINT_DEPTH_LIMIT = 4 * MAX_NESTING };

static const char *const binop_text[] = {
    [BIN_ADD] = "+", [BIN_SUB] = "-", [BIN_MUL] = "*", [BIN_DIV] = "/", [BIN_MOD] = "%",
    [BIN_MATMUL] = "@", [BIN_LT] = "<", [BIN_LE] = "<=", [BIN_GT] = ">", [BIN_GE] = ">=",
    [BIN_EQ] = "==", [BIN_NE] = "!=", [BIN_AND] = "&&", [BIN_OR] = "||", [BIN_POW] = "**",
    [BIN_BITAND] = "&", [BIN_BITOR] = "|", [BIN_BITXOR] = "^", [BIN_SHL] = "<<", [BIN_SHR] = ">>",
};

const char *binop_str(int op)
{
    if (op < 0 || op > BIN_SHR)
        return "?";
    return binop_text[op];
}

/* Binding strength, as in docs/language.md: higher binds tighter. */
static int binop_prec(int op)
{
    switch (op) {
    case BIN_OR: return 2;
    case BIN_AND: return 3;
    case BIN_EQ: case BIN_NE: return 4;
    case BIN_LT: case BIN_LE: case BIN_GT: case BIN_GE: return 5;
    case BIN_BITOR: return 6;
    case BIN_BITXOR: return 7;
    case BIN_BITAND: return 8;
    case BIN_SHL: case BIN_SHR: return 9;
    case BIN_ADD: case BIN_SUB: return 10;
    case BIN_POW: return 13;
    default: return 11;
    }
}

enum { PREC_TERNARY = 1, PREC_UNARY = 12, PREC_POSTFIX = 14 };

/* The shortest decimal that reads back as the same double, always looking like a float;
   plain notation unless the exponent is far from zero. */
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
    int digits = 1;
    for (; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    double mag = fabs(v);
    if (strchr(buf, 'e') && mag >= 1e-4 && mag < 1e16) {
        int exponent = (int)floor(log10(mag));
        int decimals = digits - 1 - exponent;
        snprintf(buf, sizeof buf, "%.*f", decimals > 0 ? decimals : 0, v);
    }
    fputs(buf, out);
    if (!strpbrk(buf, ".e"))
        fputs(".0", out);
}

static const char *reduce_name(ReduceOp r)
{
    switch (r) {
    case REDUCE_SUM: return "sum";
    case REDUCE_MAX: return "max";
    case REDUCE_MIN: return "min";
    default: return "none";
    }
}

/* Source-like text of an expression, on one line: loop extents and `if` conditions. */
static void print_inline(FILE *out, const Expr *e, int parent_prec, int depth)
{
    if (depth > PRINT_DEPTH_LIMIT) {
        fputs("...", out);
        return;
    }
    switch (e->kind) {
    case EXPR_INT: fprintf(out, "%lld", (long long)e->int_value); return;
    case EXPR_FLOAT: print_float(out, e->float_value); return;
    case EXPR_BOOL: fputs(e->int_value ? "true" : "false", out); return;
    case EXPR_NAME: fputs(e->name, out); return;
    case EXPR_SLICE: fputc(':', out); return;
    case EXPR_NONE: fputs("None", out); return;
    case EXPR_DTYPE: fputs(dtype_name(e->dtype), out); return;
    case EXPR_KWARG:
        fprintf(out, "%s=", e->name);
        print_inline(out, e->lhs, 0, depth + 1);
        return;
    case EXPR_UNARY: {
        bool paren = parent_prec > PREC_UNARY;
        fputs(paren ? "(" : "", out);
        fputs(e->op == UN_NOT ? "!" : e->op == UN_BITNOT ? "~" : "-", out);
        print_inline(out, e->lhs, PREC_UNARY, depth + 1);
        fputs(paren ? ")" : "", out);
        return;
    }
    case EXPR_BINARY: {
        int prec = binop_prec(e->op);
        bool paren = parent_prec > prec;
        fputs(paren ? "(" : "", out);
        bool right = e->op == BIN_POW;   /* the one right-associative operator */
        print_inline(out, e->lhs, right ? prec + 1 : prec, depth + 1);
        fprintf(out, " %s ", binop_str(e->op));
        print_inline(out, e->rhs, right ? prec : prec + 1, depth + 1);
        fputs(paren ? ")" : "", out);
        return;
    }
    case EXPR_TERNARY: {
        bool paren = parent_prec > PREC_TERNARY;
        fputs(paren ? "(" : "", out);
        print_inline(out, e->cond, PREC_TERNARY + 1, depth + 1);
        fputs(" ? ", out);
        print_inline(out, e->lhs, PREC_TERNARY + 1, depth + 1);
        fputs(" : ", out);
        print_inline(out, e->rhs, PREC_TERNARY, depth + 1);
        fputs(paren ? ")" : "", out);
        return;
    }
    case EXPR_CALL:
    case EXPR_INDEX:
    case EXPR_LIST:
        if (e->kind == EXPR_CALL)
            fprintf(out, "%s(", e->name);
        else if (e->kind == EXPR_INDEX) {
            print_inline(out, e->lhs, PREC_POSTFIX, depth + 1);
            fputc('[', out);
        } else {
            fputc('[', out);
        }
        for (int i = 0; i < e->nargs; i++) {
            fputs(i ? ", " : "", out);
            print_inline(out, e->args[i], 0, depth + 1);
        }
        fputc(e->kind == EXPR_CALL ? ')' : ']', out);
        return;
    case EXPR_FIELD:
        print_inline(out, e->lhs, PREC_POSTFIX, depth + 1);
        fprintf(out, ".%s", e->name);
        return;
    case EXPR_TO:
        print_inline(out, e->lhs, PREC_POSTFIX, depth + 1);
        fprintf(out, ".to(%s)", dtype_name(e->dtype));
        return;
    }
    fputs("?", out);
}

static void print_block_spec(FILE *out, const BlockSpec *b)
{
    switch (b->kind) {
    case BLOCK_FREE:
        fputc('_', out);
        return;
    case BLOCK_FIXED:
        fprintf(out, "%lld", (long long)b->values[0]);
        return;
    case BLOCK_SET:
        fputc('{', out);
        for (int i = 0; i < b->nvalues; i++)
            fprintf(out, "%s%lld", i ? ", " : "", (long long)b->values[i]);
        fputc('}', out);
        return;
    case BLOCK_RANGE:
        fprintf(out, "%lld..%lld", (long long)b->lo, (long long)b->hi);
        return;
    }
}

typedef struct Printer {
    FILE *out;
    const Kernel *kernel;
} Printer;

static void indent(const Printer *pr, int level)
{
    for (int i = 0; i < level; i++)
        fputs("  ", pr->out);
}

/* " : f32[m, n]" when sema gave the expression a type. */
static void print_type(const Printer *pr, const Type *t)
{
    /* `:`, None and dtypes say what they are already. */
    if (t->kind == TYPE_ERROR || t->kind == TYPE_SLICE || t->kind == TYPE_NONE ||
        t->kind == TYPE_DTYPE)
        return;
    char buf[256];
    type_str(buf, sizeof buf, t, pr->kernel);
    fprintf(pr->out, " : %s", buf);
}

/* An f32 `@` or dot(): exact (FMA) or on tf32 tensor cores, as sema chose. */
static void print_dot_precision(FILE *out, const Expr *e)
{
    bool dot = (e->kind == EXPR_BINARY && e->op == BIN_MATMUL) ||
               (e->kind == EXPR_CALL && e->builtin == BI_DOT && e->nargs >= 1);
    const Expr *a = !dot ? NULL : e->kind == EXPR_BINARY ? e->lhs : e->args[0];
    if (e->tf32)
        fputs(" [tf32]", out);
    else if (a && a->type.kind == TYPE_VALUE && a->type.dtype == DT_F32)
        fputs(" [exact f32]", out);
}

static void print_expr(const Printer *pr, const Expr *e, int level)
{
    FILE *out = pr->out;
    indent(pr, level);
    if (level > PRINT_DEPTH_LIMIT) {
        fputs("...\n", out);
        return;
    }
    switch (e->kind) {
    case EXPR_INT: fprintf(out, "int %lld", (long long)e->int_value); break;
    case EXPR_FLOAT: fputs("float ", out); print_float(out, e->float_value); break;
    case EXPR_BOOL: fputs(e->int_value ? "bool true" : "bool false", out); break;
    case EXPR_NAME: fprintf(out, "name %s", e->name); break;
    case EXPR_UNARY: fputs(e->op == UN_NOT ? "not" : e->op == UN_BITNOT ? "bitnot" : "neg", out); break;
    case EXPR_BINARY:
        fprintf(out, "binary %s", binop_str(e->op));
        print_dot_precision(out, e);
        break;
    case EXPR_TERNARY: fputs("ternary", out); break;
    case EXPR_CALL:
        fprintf(out, "call %s", e->name);
        print_dot_precision(out, e);
        if (e->builtin == BI_SPLIT && e->reduce_axis >= 0)
            fprintf(out, " [lane %d]", e->reduce_axis);
        else if (e->builtin == BI_CUMSUM && e->reduce_axis >= 0)
            fprintf(out, " [%s scan axis %d]", e->exclusive ? "exclusive" : "inclusive", e->reduce_axis);
        else if (e->reduce_axis >= 0)
            fprintf(out, " [reduce axis %d]", e->reduce_axis);
        else if (e->reduce_axis == -1)
            fputs(" [reduce all]", out);
        break;
    case EXPR_INDEX: fputs("index", out); break;
    case EXPR_FIELD: fprintf(out, "field .%s", e->name); break;
    case EXPR_TO: fprintf(out, "to %s", dtype_name(e->dtype)); break;
    case EXPR_SLICE: fputs("slice", out); break;
    case EXPR_NONE: fputs("None", out); break;
    case EXPR_DTYPE: fprintf(out, "dtype %s", dtype_name(e->dtype)); break;
    case EXPR_LIST: fputs("list", out); break;
    case EXPR_KWARG: fprintf(out, "kwarg %s", e->name); break;
    }
    print_type(pr, &e->type);
    fputc('\n', out);
    if (e->cond)
        print_expr(pr, e->cond, level + 1);
    if (e->lhs)
        print_expr(pr, e->lhs, level + 1);
    if (e->rhs)
        print_expr(pr, e->rhs, level + 1);
    for (int i = 0; i < e->nargs; i++)
        print_expr(pr, e->args[i], level + 1);
}

static void print_stmts(const Printer *pr, Stmt *const *body, int n, int level);

static void print_for(const Printer *pr, const Stmt *s, int level)
{
    FILE *out = pr->out;
    fputs("for ", out);
    for (int i = 0; i < s->nvars; i++)
        fprintf(out, "%s%s", i ? ", " : "", s->vars[i]->name);
    fprintf(out, " in %s(", s->explicit_grid ? "grid" : "tile");
    for (int i = 0; i < s->nvars; i++) {
        fputs(i ? ", " : "", out);
        if (s->vars[i]->start) {
            print_inline(out, s->vars[i]->start, 0, 0);
            fputs(", ", out);
        }
        print_inline(out, s->vars[i]->extent, 0, 0);
    }
    fputc(')', out);
    bool any_block = false;
    for (int i = 0; i < s->nvars; i++)
        any_block |= s->vars[i]->block.kind != BLOCK_FREE;
    if (any_block) {
        fputs(" block(", out);
        for (int i = 0; i < s->nvars; i++) {
            fputs(i ? ", " : "", out);
            print_block_spec(out, &s->vars[i]->block);
        }
        fputc(')', out);
    }
    /* Sema's view: grid or sequential, and each variable's tunable or pinned size. */
    if (pr->kernel->nloopvars > 0) {
        fprintf(out, "  [%s: ", s->vars[0]->is_grid ? "grid" : "seq");
        for (int i = 0; i < s->nvars; i++) {
            const LoopVar *v = s->vars[i];
            fputs(i ? ", " : "", out);
            if (v->tunable)
                fputs(v->tunable, out);
            else if (v->block.kind == BLOCK_FIXED)
                fprintf(out, "%lld", (long long)v->block.values[0]);
            else
                fputc('?', out);
        }
        fputc(']', out);
    }
    fputc('\n', out);
    if (s->ncarried > 0) {
        indent(pr, level + 1);
        fputs("carried", out);
        for (int i = 0; i < s->ncarried; i++)
            fprintf(out, "%s%s", i ? ", " : " ", s->carried[i]->name);
        fputc('\n', out);
    }
    print_stmts(pr, s->body, s->nbody, level + 1);
}

static void print_stmt(const Printer *pr, const Stmt *s, int level)
{
    FILE *out = pr->out;
    indent(pr, level);
    if (level > PRINT_DEPTH_LIMIT) {
        fputs("...\n", out);
        return;
    }
    switch (s->kind) {
    case STMT_ASSIGN:
        fprintf(out, "assign %s", s->name);
        if (s->assign_op >= 0)
            fprintf(out, " %s=", binop_str(s->assign_op));
        if (s->local)
            print_type(pr, &s->local->type);
        if (s->defines)
            fputs("  [new]", out);
        fputc('\n', out);
        print_expr(pr, s->value, level + 1);
        return;
    case STMT_STORE:
        fputs("store\n", out);
        print_expr(pr, s->target, level + 1);
        print_expr(pr, s->value, level + 1);
        return;
    case STMT_EXPR:
        fputs("expr\n", out);
        print_expr(pr, s->value, level + 1);
        return;
    case STMT_FOR:
        print_for(pr, s, level);
        return;
    case STMT_IF:
        fputs("if ", out);
        print_inline(out, s->cond, 0, 0);
        print_type(pr, &s->cond->type);
        fputc('\n', out);
        print_stmts(pr, s->body, s->nbody, level + 1);
        if (s->nelse > 0) {
            indent(pr, level);
            fputs("else\n", out);
            print_stmts(pr, s->else_body, s->nelse, level + 1);
        }
        return;
    case STMT_TUNE:
    case STMT_SIZES:
        fprintf(out, "%s %s in ", s->kind == STMT_TUNE ? "tune" : "const", s->name);
        print_block_spec(out, &s->tune);
        fputc('\n', out);
        return;
    }
}

static void print_stmts(const Printer *pr, Stmt *const *body, int n, int level)
{
    for (int i = 0; i < n; i++)
        print_stmt(pr, body[i], level);
}

/* `role`: param (a kernel's), input, output, temp (a program's). */
static void print_param(const Printer *pr, const Param *p, const char *role)
{
    FILE *out = pr->out;
    fprintf(out, "  %s %s: ", role, p->name);
    if (p->kind == PARAM_CONST)
        fputs("const ", out);
    fputs(dtype_name(p->dtype), out);
    if (p->kind == PARAM_TENSOR) {
        fputc('[', out);
        for (int i = 0; i < p->rank; i++) {
            fputs(i ? ", " : "", out);
            if (p->dims[i].is_symbol)
                fputs(p->dims[i].name, out);
            else
                fprintf(out, "%lld", (long long)p->dims[i].value);
        }
        fputc(']', out);
        if (p->reduce != REDUCE_NONE)
            fprintf(out, " reduce(%s)", reduce_name(p->reduce));
    }
    if (p->nconst_values > 0) {
        fputs(" in {", out);
        for (int i = 0; i < p->nconst_values; i++)
            fprintf(out, "%s%lld", i ? ", " : "", (long long)p->const_values[i]);
        fputc('}', out);
    }
    fputc('\n', out);
}

/* What sema worked out for the whole kernel: shape symbols and tunables. */
static void print_kernel_facts(const Printer *pr, const Kernel *k)
{
    FILE *out = pr->out;
    if (k->nsyms > 0) {
        fputs("  symbols", out);
        for (int i = 0; i < k->nsyms; i++)
            fprintf(out, "%s%s%s", i ? ", " : " ", k->syms[i]->name,
                    k->syms[i]->is_full ? " (full)" : "");
        fputc('\n', out);
    }
    for (int i = 0; i < k->ntunables; i++) {
        const Tunable *t = k->tunables[i];
        fputs("  ", out);
        knob_print_tunable(out, t->name, t->kind, t->values, t->nvalues, t->default_value);
    }
}

static void print_kernel(FILE *out, const Kernel *k, const SourceFile *root)
{
    Printer pr = {out, k};
    fprintf(out, "kernel %s  (", k->name);
    if (k->loc.file && k->loc.file != root)
        fprintf(out, "%s:", k->loc.file->path);
    fprintf(out, "%d:%d)\n", k->loc.line, k->loc.col);
    for (int i = 0; i < k->nparams; i++)
        print_param(&pr, k->params[i], "param");
    print_kernel_facts(&pr, k);
    print_stmts(&pr, k->body, k->nbody, 1);
}

static void print_location(FILE *out, Loc loc, const SourceFile *root)
{
    fputs("  (", out);
    if (loc.file && loc.file != root)
        fprintf(out, "%s:", loc.file->path);
    fprintf(out, "%d:%d)", loc.line, loc.col);
}

/* A program: its parameters and intermediates, then each call with its arguments as
   written and, once checked, its place in the execution order. */
static void print_program(FILE *out, const ProgramDef *pd, const SourceFile *root)
{
    Printer pr = {out, NULL};
    fprintf(out, "program %s", pd->name);
    print_location(out, pd->loc, root);
    fputc('\n', out);
    for (int i = 0; i < pd->nparams; i++)
        print_param(&pr, pd->params[i], i < pd->ninputs ? "input" : "output");
    if (pd->nsyms > 0) {
        fputs("  symbols", out);
        for (int i = 0; i < pd->nsyms; i++)
            fprintf(out, "%s%s", i ? ", " : " ", pd->syms[i]->name);
        fputc('\n', out);
    }
    for (int i = 0; i < pd->ntemps; i++)
        print_param(&pr, pd->temps[i], "temp");
    for (int c = 0; c < pd->ncalls; c++) {
        const ProgramCall *call = pd->calls[c];
        fprintf(out, "  call %s", call->kernel_name);
        print_location(out, call->loc, root);
        for (int i = 0; pd->ir && i < pd->ir->ncalls; i++)
            if (pd->ir->calls[i].source_index == c)
                fprintf(out, "  [runs %d]", i);
        fputc('\n', out);
        for (int i = 0; i < call->nargs; i++)
            print_expr(&pr, call->args[i], 2);
    }
}

void ast_print(FILE *out, const Program *p, const char *only_kernel)
{
    bool first = true;
    for (int i = 0; p && i < p->nkernels; i++) {
        const Kernel *k = p->kernels[i];
        if (only_kernel && strcmp(k->name, only_kernel) != 0)
            continue;
        if (!first)
            fputc('\n', out);
        first = false;
        print_kernel(out, k, p->files);
    }
    for (int i = 0; p && i < p->nprograms; i++) {
        const ProgramDef *pd = p->programs[i];
        if (only_kernel && strcmp(pd->name, only_kernel) != 0)
            continue;
        if (!first)
            fputc('\n', out);
        first = false;
        print_program(out, pd, p->files);
    }
}
