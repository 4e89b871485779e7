/* parser.y — the grammar of .tile files (docs/language.md): builds the AST of front.h in
   the arena. Pure and located; `error` rules resynchronise at statement, parameter and
   kernel level so one run reports several syntax errors. */

%define api.pure full
%define api.prefix {tl}
%define api.token.prefix {TOK_}
%define parse.error custom
%define parse.lac full
%locations
%param {void *scanner}
%parse-param {ParseState *ps}

%code requires {
#include "front.h"

typedef struct ParseState ParseState;
typedef struct ProgramBody ProgramBody;
}

%code provides {
/* An open `{`: where it is, and the paren depth outside it. */
typedef struct OpenBrace {
    int depth;
    int line, col;
} OpenBrace;

/* Shared by the scanner (as its extra data) and the parser's actions. */
struct ParseState {
    Arena *arena;
    Diag *diag;
    const SourceFile *file;
    ParsedItems *items;           /* what the file defines and includes */
    /* scanner position and newline rules */
    int line, col;                /* of the next byte */
    int depth;                    /* open ( and [ since the innermost open { */
    OpenBrace *braces;            /* every open {, innermost last */
    int nbraces, capbraces;
    bool can_end;                 /* the last token may end a statement */
    bool comment_newline;         /* the block comment being read holds a newline */
    int comment_line, comment_col;
    /* expression nodes made since the last statement, bounded so that one absurd
       expression cannot take all memory; past it the parse stops */
    int nodes;
    bool too_large;
    /* one token of lookahead, for dropping a newline before `{` and `else` */
    bool has_pending;
    int pending_token;
    TLSTYPE pending_value;
    TLLTYPE pending_loc;
};

int tllex(TLSTYPE *lval, TLLTYPE *lloc, void *scanner);
}

%union {
    int64_t ival;
    double fval;
    const char *str;
    DType dtype;
    int op;
    struct Expr *expr;
    struct Stmt *stmt;
    struct Param *param;
    struct Kernel *kernel;
    struct ProgramDef *program;
    struct ProgramCall *call;
    ProgramBody *program_body;
    PtrVec *vec;
    BlockSpec *block;
}

%code {
#include <string.h>

/* Nesting deeper than this in the parser's stack is reported, not followed. */
#define YYMAXDEPTH 10000
#define YYINITDEPTH 200
#define MAX_STATEMENT_NODES 65536

static void yyerror(TLLTYPE *lloc, void *scanner, ParseState *ps, const char *msg);

static Loc loc_of(const ParseState *ps, TLLTYPE l)
{
    return (Loc){ps->file, l.first_line, l.first_column};
}

static PtrVec *vec_new(ParseState *ps)
{
    return arena_alloc(ps->arena, sizeof(PtrVec));
}

static PtrVec *vec_push(ParseState *ps, PtrVec *v, void *item)
{
    if (item)
        ptrvec_push(ps->arena, v, item);
    return v;
}

static PtrVec *vec_one(ParseState *ps, void *item)
{
    return vec_push(ps, vec_new(ps), item);
}

/* Copies a collected list into an arena array of exactly its length. */
static void **vec_array(ParseState *ps, const PtrVec *v, int *n)
{
    *n = v ? v->len : 0;
    if (!*n)
        return NULL;
    void **items = arena_alloc(ps->arena, (size_t)*n * sizeof *items);
    memcpy(items, v->items, (size_t)*n * sizeof *items);
    return items;
}

static int64_t *int_box(ParseState *ps, int64_t value)
{
    int64_t *p = arena_alloc(ps->arena, sizeof *p);
    *p = value;
    return p;
}

static int64_t *int_array(ParseState *ps, const PtrVec *v, int *n)
{
    *n = v->len;
    int64_t *values = arena_alloc(ps->arena, (size_t)(v->len ? v->len : 1) * sizeof *values);
    for (int i = 0; i < v->len; i++)
        values[i] = *(int64_t *)v->items[i];
    return values;
}

static Expr *leaf(ParseState *ps, ExprKind kind, TLLTYPE l)
{
    if (++ps->nodes > MAX_STATEMENT_NODES && !ps->too_large) {
        diag_error(ps->diag, loc_of(ps, l),
                   "expression too large: more than %d nodes in one statement",
                   MAX_STATEMENT_NODES);
        ps->too_large = true;     /* the scanner now ends the file */
    }
    return expr_new(ps->arena, kind, loc_of(ps, l));
}

static Expr *binary(ParseState *ps, BinOp op, Expr *lhs, Expr *rhs, TLLTYPE l)
{
    Expr *e = leaf(ps, EXPR_BINARY, l);
    e->op = op;
    e->lhs = lhs;
    e->rhs = rhs;
    return e;
}

static Expr *unary(ParseState *ps, UnOp op, Expr *operand, TLLTYPE l)
{
    Expr *e = leaf(ps, EXPR_UNARY, l);
    e->op = op;
    e->lhs = operand;
    return e;
}

static Expr *with_args(ParseState *ps, Expr *e, PtrVec *args)
{
    e->args = (Expr **)vec_array(ps, args, &e->nargs);
    return e;
}

/* `x.name(args)`: only `.to(dtype)` is a method. */
static Expr *method_call(ParseState *ps, Expr *base, const char *name, TLLTYPE name_loc,
                         PtrVec *args)
{
    if (strcmp(name, "to") != 0) {
        diag_error(ps->diag, loc_of(ps, name_loc),
                   "unknown method '.%s()': only .to(dtype) takes arguments", name);
        return base;
    }
    if (!args || args->len != 1 || ((Expr *)args->items[0])->kind != EXPR_DTYPE) {
        diag_error(ps->diag, loc_of(ps, name_loc),
                   ".to() takes one dtype, e.g. x.to(f32)");
        return base;
    }
    Expr *e = leaf(ps, EXPR_TO, name_loc);
    e->lhs = base;
    e->dtype = ((Expr *)args->items[0])->dtype;
    return e;
}

/* `lhs = value` and `lhs op= value`: a local or a store into an indexed tensor. */
static Stmt *assignment(ParseState *ps, Expr *lhs, int op, Expr *value, TLLTYPE l,
                        TLLTYPE op_loc)
{
    if (lhs->kind == EXPR_NAME) {
        Stmt *s = stmt_new(ps->arena, STMT_ASSIGN, loc_of(ps, l));
        s->name = lhs->name;
        s->assign_op = op;
        s->value = value;
        return s;
    }
    if (lhs->kind == EXPR_INDEX && op < 0) {
        Stmt *s = stmt_new(ps->arena, STMT_STORE, loc_of(ps, l));
        s->target = lhs;
        s->value = value;
        return s;
    }
    if (lhs->kind == EXPR_INDEX)
        diag_error(ps->diag, loc_of(ps, op_loc),
                   "compound assignment needs a local name on its left; "
                   "store with t[...] = value");
    else
        diag_error(ps->diag, loc_of(ps, op_loc),
                   "cannot assign to this expression: expected a name or an indexed "
                   "tensor on the left of '='");
    return NULL;
}

static Stmt *expr_statement(ParseState *ps, Expr *e, TLLTYPE l)
{
    if (e->kind != EXPR_CALL) {
        diag_error(ps->diag, loc_of(ps, l),
                   "expression is not a statement: expected an assignment, a store or a "
                   "call such as atomic_add(...)");
        return NULL;
    }
    Stmt *s = stmt_new(ps->arena, STMT_EXPR, loc_of(ps, l));
    s->value = e;
    return s;
}

static BlockSpec *block_new(ParseState *ps, BlockKind kind, TLLTYPE l)
{
    BlockSpec *b = arena_alloc(ps->arena, sizeof *b);
    b->kind = kind;
    b->loc = loc_of(ps, l);
    return b;
}

static BlockSpec *block_fixed(ParseState *ps, int64_t value, TLLTYPE l)
{
    BlockSpec *b = block_new(ps, BLOCK_FIXED, l);
    b->values = int_box(ps, value);
    b->nvalues = 1;
    return b;
}

static BlockSpec *block_set(ParseState *ps, PtrVec *values, TLLTYPE l)
{
    BlockSpec *b = block_new(ps, BLOCK_SET, l);
    b->values = int_array(ps, values, &b->nvalues);
    return b;
}

static BlockSpec *block_range(ParseState *ps, int64_t lo, int64_t hi, TLLTYPE l)
{
    BlockSpec *b = block_new(ps, BLOCK_RANGE, l);
    b->lo = lo;
    b->hi = hi;
    return b;
}

/* `for vars in tile(extents) block(specs) { body }`: one extent and one spec per variable;
   one variable with two extents, `tile(lo, hi)`, runs over [lo, hi). */
static Stmt *for_loop(ParseState *ps, TLLTYPE l, PtrVec *vars, bool grid, TLLTYPE kind_loc,
                      PtrVec *extents, PtrVec *blocks, TLLTYPE blocks_loc, PtrVec *body)
{
    Stmt *s = stmt_new(ps->arena, STMT_FOR, loc_of(ps, l));
    s->explicit_grid = grid;
    const char *kind = grid ? "grid" : "tile";
    int n = vars->len;
    Expr *start = NULL;
    if (n == 1 && extents->len == 2) {
        start = extents->items[0];
        extents->items[0] = extents->items[1];
        extents->len = 1;
    }
    if (extents->len != n) {
        diag_error(ps->diag, loc_of(ps, kind_loc),
                   "'for' binds %d variable%s but %s(...) gives %d extent%s", n,
                   n == 1 ? "" : "s", kind, extents->len, extents->len == 1 ? "" : "s");
        if (extents->len < n)
            n = extents->len;
    }
    if (n > MAX_LOOP_VARS) {
        diag_error(ps->diag, loc_of(ps, l), "'for' binds %d variables; at most %d are allowed",
                   n, MAX_LOOP_VARS);
        n = MAX_LOOP_VARS;
    }
    if (blocks && blocks->len != vars->len) {
        diag_error(ps->diag, loc_of(ps, blocks_loc),
                   "block(...) gives %d size%s for %d loop variable%s", blocks->len,
                   blocks->len == 1 ? "" : "s", vars->len, vars->len == 1 ? "" : "s");
        blocks = NULL;
    }
    s->vars = arena_alloc(ps->arena, (size_t)n * sizeof *s->vars);
    s->nvars = n;
    for (int i = 0; i < n; i++) {
        LoopVar *v = vars->items[i];
        v->extent = extents->items[i];
        v->start = start;
        v->range_loc = loc_of(ps, kind_loc);
        if (blocks)
            v->block = *(BlockSpec *)blocks->items[i];
        else
            v->block = (BlockSpec){.kind = BLOCK_FREE, .loc = v->loc};
        s->vars[i] = v;
    }
    s->body = (Stmt **)vec_array(ps, body, &s->nbody);
    return s;
}

static LoopVar *loop_var(ParseState *ps, const char *name, TLLTYPE l)
{
    LoopVar *v = arena_alloc(ps->arena, sizeof *v);
    v->name = name;
    v->loc = loc_of(ps, l);
    return v;
}

static Stmt *if_stmt(ParseState *ps, TLLTYPE l, Expr *cond, PtrVec *then_body,
                     PtrVec *else_body)
{
    Stmt *s = stmt_new(ps->arena, STMT_IF, loc_of(ps, l));
    s->cond = cond;
    s->body = (Stmt **)vec_array(ps, then_body, &s->nbody);
    s->else_body = (Stmt **)vec_array(ps, else_body, &s->nelse);
    return s;
}

static Stmt *tune_stmt(ParseState *ps, TLLTYPE l, const char *name, BlockSpec *spec)
{
    Stmt *s = stmt_new(ps->arena, STMT_TUNE, loc_of(ps, l));
    s->name = name;
    s->tune = *spec;
    return s;
}

/* `const D in {64, 128}`: the sizes a full axis is built for (a BLOCK_SET spec's values). */
static Stmt *sizes_stmt(ParseState *ps, TLLTYPE l, const char *name, PtrVec *values, TLLTYPE set_loc)
{
    Stmt *s = stmt_new(ps->arena, STMT_SIZES, loc_of(ps, l));
    s->name = name;
    s->tune = *block_set(ps, values, set_loc);
    return s;
}

static Param *param_new(ParseState *ps, const char *name, TLLTYPE l, ParamKind kind,
                        DType dtype)
{
    Param *p = arena_alloc(ps->arena, sizeof *p);
    p->name = name;
    p->loc = loc_of(ps, l);
    p->kind = kind;
    p->dtype = dtype;
    return p;
}

static Param *tensor_param(ParseState *ps, const char *name, TLLTYPE l, DType dtype,
                           PtrVec *dims, ReduceOp reduce)
{
    Param *p = param_new(ps, name, l, PARAM_TENSOR, dtype);
    int rank = dims->len;
    if (rank > MAX_RANK) {
        ShapeDim *extra = dims->items[MAX_RANK];
        diag_error(ps->diag, extra->loc, "tensor '%s' has %d dims; at most %d are allowed",
                   name, rank, MAX_RANK);
        rank = MAX_RANK;
    }
    p->rank = rank;
    for (int i = 0; i < rank; i++)
        p->dims[i] = *(ShapeDim *)dims->items[i];
    p->reduce = reduce;
    return p;
}

static ShapeDim *shape_dim(ParseState *ps, const char *name, int64_t value, TLLTYPE l)
{
    ShapeDim *d = arena_alloc(ps->arena, sizeof *d);
    d->is_symbol = name != NULL;
    d->name = name;
    d->value = value;
    d->loc = loc_of(ps, l);
    return d;
}

static ReduceOp reduce_op(ParseState *ps, const char *name, TLLTYPE l)
{
    if (strcmp(name, "sum") == 0)
        return REDUCE_SUM;
    if (strcmp(name, "max") == 0)
        return REDUCE_MAX;
    if (strcmp(name, "min") == 0)
        return REDUCE_MIN;
    diag_error(ps->diag, loc_of(ps, l), "unknown reduction '%s' (expected sum, max or min)",
               name);
    return REDUCE_NONE;
}

static Kernel *kernel_new(ParseState *ps, TLLTYPE l, const char *name, PtrVec *params,
                          PtrVec *body)
{
    Kernel *k = arena_alloc(ps->arena, sizeof *k);
    k->name = name;
    k->loc = loc_of(ps, l);
    k->params = (Param **)vec_array(ps, params, &k->nparams);
    for (int i = 0; i < k->nparams; i++)
        k->params[i]->index = i;
    k->body = (Stmt **)vec_array(ps, body, &k->nbody);
    return k;
}

static void add_include(ParseState *ps, const char *path, TLLTYPE l)
{
    Include *inc = arena_alloc(ps->arena, sizeof *inc);
    inc->path = path;
    inc->loc = loc_of(ps, l);
    ptrvec_push(ps->arena, &ps->items->includes, inc);
}

/* A program's body while it is parsed: its intermediates and its calls, apart. */
struct ProgramBody {
    PtrVec temps, calls;
};

static ProgramBody *program_body_new(ParseState *ps)
{
    return arena_alloc(ps->arena, sizeof(ProgramBody));
}

static ProgramBody *program_body_add(ParseState *ps, ProgramBody *b, Param *temp,
                                     ProgramCall *call)
{
    if (temp)
        ptrvec_push(ps->arena, &b->temps, temp);
    if (call)
        ptrvec_push(ps->arena, &b->calls, call);
    return b;
}

static ProgramCall *program_call(ParseState *ps, const char *kernel, TLLTYPE l, PtrVec *args)
{
    ProgramCall *c = arena_alloc(ps->arena, sizeof *c);
    c->kernel_name = kernel;
    c->loc = loc_of(ps, l);
    c->args = (Expr **)vec_array(ps, args, &c->nargs);
    ps->nodes = 0;
    return c;
}

static ProgramDef *program_new(ParseState *ps, TLLTYPE l, const char *name, PtrVec *inputs,
                               PtrVec *outputs, ProgramBody *b)
{
    ProgramDef *p = arena_alloc(ps->arena, sizeof *p);
    p->name = name;
    p->loc = loc_of(ps, l);
    int ninputs, noutputs;
    Param **in = (Param **)vec_array(ps, inputs, &ninputs);
    Param **out = (Param **)vec_array(ps, outputs, &noutputs);
    p->ninputs = ninputs;
    p->nparams = ninputs + noutputs;
    p->params = arena_alloc(ps->arena, sizeof *p->params * (size_t)(p->nparams + 1));
    for (int i = 0; i < p->nparams; i++) {
        p->params[i] = i < ninputs ? in[i] : out[i - ninputs];
        p->params[i]->index = i;
    }
    p->temps = (Param **)vec_array(ps, &b->temps, &p->ntemps);
    p->calls = (ProgramCall **)vec_array(ps, &b->calls, &p->ncalls);
    return p;
}
}

%token <str> IDENT "identifier"
%token <ival> INT "integer"
%token <fval> FLOAT "float"
%token <str> STRING "string"
%token <dtype> DTYPE "dtype"
%token KERNEL "kernel" PROGRAM "program" INCLUDE "include" FOR "for" IN "in" TILE "tile" GRID "grid"
%token BLOCK "block" IF "if" ELSE "else" CONST "const" REDUCE "reduce" TUNE "tune"
%token NONE "None" TRUE "true" FALSE "false" INF "inf" NAN "nan"
%token NEWLINE "newline" UNDERSCORE "_"
%token OROR "||" ANDAND "&&" EQ "==" NE "!=" LE "<=" GE ">=" POW "**" SHL "<<" SHR ">>"
%token PLUSEQ "+=" MINUSEQ "-=" STAREQ "*=" SLASHEQ "/=" DOTDOT ".." ARROW "->"

%right '?' ':'
%left OROR
%left ANDAND
%left EQ NE
%left '<' LE '>' GE
%left '|'                           /* bit operations bind as in Python: | ^ & << >> */
%left '^'
%left '&'
%left SHL SHR
%left '+' '-'
%left '*' '/' '%' '@'
%precedence UNARY
%right POW                          /* -x ** 2 is -(x ** 2), as in Python */

%type <expr> expr postfix primary arg index_item
%type <vec> args args_opt expr_list exprs index_items params params_opt dims int_set
%type <vec> int_items body stmts stmt_list loop_vars block_clause block_specs
%type <stmt> stmt stmt_form if_stmt
%type <param> param
%type <kernel> kernel
%type <program> program_def
%type <program_body> program_body program_items program_item_list
%type <param> temp_decl
%type <call> program_call
%type <block> block_spec
%type <ival> signed_int
%type <op> assign_op loop_kind
%type <op> reduce_opt

%%

program
    : items
    | items item
    ;

items
    : %empty
    | items sep
    | items item sep
    | items error sep               { yyerrok; }
    ;

sep
    : NEWLINE
    | ';'
    ;

item
    : INCLUDE STRING                { if ($2) add_include(ps, $2, @1); }
    | kernel                        { ptrvec_push(ps->arena, &ps->items->kernels, $1); }
    | program_def                   { ptrvec_push(ps->arena, &ps->items->programs, $1); }
    | error body                    /* a broken kernel header: skip its body whole */
    ;

kernel
    : KERNEL IDENT '(' params_opt ')' body  { $$ = kernel_new(ps, @1, $2, $4, $6); }
    ;

params_opt
    : %empty                        { $$ = vec_new(ps); }
    | params
    | params ','
    ;

params
    : param                         { $$ = vec_one(ps, $1); }
    | params ',' param              { $$ = vec_push(ps, $1, $3); }
    ;

param
    : IDENT ':' DTYPE '[' dims ']' reduce_opt
                                    { $$ = tensor_param(ps, $1, @1, $3, $5, (ReduceOp)$7); }
    | IDENT ':' DTYPE               { $$ = param_new(ps, $1, @1, PARAM_SCALAR, $3); }
    | IDENT ':' CONST DTYPE         { $$ = param_new(ps, $1, @1, PARAM_CONST, $4); }
    | IDENT ':' CONST DTYPE IN '{' int_set '}'
        {
            $$ = param_new(ps, $1, @1, PARAM_CONST, $4);
            $$->const_values = int_array(ps, $7, &$$->nconst_values);
        }
    | error                         { $$ = NULL; }
    ;

dims
    : IDENT                         { $$ = vec_one(ps, shape_dim(ps, $1, 0, @1)); }
    | INT                           { $$ = vec_one(ps, shape_dim(ps, NULL, $1, @1)); }
    | dims ',' IDENT                { $$ = vec_push(ps, $1, shape_dim(ps, $3, 0, @3)); }
    | dims ',' INT                  { $$ = vec_push(ps, $1, shape_dim(ps, NULL, $3, @3)); }
    ;

reduce_opt
    : %empty                        { $$ = REDUCE_NONE; }
    | REDUCE '(' IDENT ')'          { $$ = reduce_op(ps, $3, @3); }
    ;

int_set
    : int_items
    | int_items ','
    ;

int_items
    : signed_int                    { $$ = vec_one(ps, int_box(ps, $1)); }
    | int_items ',' signed_int      { $$ = vec_push(ps, $1, int_box(ps, $3)); }
    ;

signed_int
    : INT
    | '-' INT                       { $$ = -$2; }
    ;

body
    : '{' stmts '}'                 { $$ = $2; }
    ;

stmts
    : stmt_list
    | stmt_list stmt                { $$ = vec_push(ps, $1, $2); }
    | stmt_list error               { $$ = $1; }
    ;

stmt_list
    : %empty                        { $$ = vec_new(ps); }
    | stmt_list sep
    | stmt_list stmt sep            { $$ = vec_push(ps, $1, $2); }
    | stmt_list error sep           { $$ = $1; yyerrok; }
    ;

stmt
    : stmt_form                     { $$ = $1; ps->nodes = 0; }
    ;

stmt_form
    : expr '=' expr                 { $$ = assignment(ps, $1, -1, $3, @1, @2); }
    | expr assign_op expr           { $$ = assignment(ps, $1, $2, $3, @1, @2); }
    | expr                          { $$ = expr_statement(ps, $1, @1); }
    | FOR loop_vars IN loop_kind '(' exprs ')' block_clause body
                                    { $$ = for_loop(ps, @1, $2, $4, @4, $6, $8, @8, $9); }
    | error body                    { $$ = NULL; }  /* skip a broken header's block whole */
    | if_stmt
    | TUNE IDENT IN '{' int_set '}' { $$ = tune_stmt(ps, @1, $2, block_set(ps, $5, @4)); }
    | TUNE IDENT IN INT DOTDOT INT  { $$ = tune_stmt(ps, @1, $2, block_range(ps, $4, $6, @4)); }
    | CONST IDENT IN '{' int_set '}' { $$ = sizes_stmt(ps, @1, $2, $5, @4); }
    ;

assign_op
    : PLUSEQ                        { $$ = BIN_ADD; }
    | MINUSEQ                       { $$ = BIN_SUB; }
    | STAREQ                        { $$ = BIN_MUL; }
    | SLASHEQ                       { $$ = BIN_DIV; }
    ;

loop_vars
    : IDENT                         { $$ = vec_one(ps, loop_var(ps, $1, @1)); }
    | loop_vars ',' IDENT           { $$ = vec_push(ps, $1, loop_var(ps, $3, @3)); }
    ;

loop_kind
    : TILE                          { $$ = 0; }
    | GRID                          { $$ = 1; }
    ;

block_clause
    : %empty                        { $$ = NULL; }
    | BLOCK '(' block_specs ')'     { $$ = $3; }
    ;

block_specs
    : block_spec                    { $$ = vec_one(ps, $1); }
    | block_specs ',' block_spec    { $$ = vec_push(ps, $1, $3); }
    ;

block_spec
    : UNDERSCORE                    { $$ = block_new(ps, BLOCK_FREE, @1); }
    | INT                           { $$ = block_fixed(ps, $1, @1); }
    | '{' int_set '}'               { $$ = block_set(ps, $2, @1); }
    | INT DOTDOT INT                { $$ = block_range(ps, $1, $3, @1); }
    ;

if_stmt
    : IF expr body                  { $$ = if_stmt(ps, @1, $2, $3, NULL); }
    | IF expr body ELSE body        { $$ = if_stmt(ps, @1, $2, $3, $5); }
    | IF expr body ELSE if_stmt     { $$ = if_stmt(ps, @1, $2, $3, vec_one(ps, $5)); }
    ;

expr
    : expr '?' expr ':' expr
        {
            $$ = leaf(ps, EXPR_TERNARY, @2);
            $$->cond = $1;
            $$->lhs = $3;
            $$->rhs = $5;
        }
    | expr OROR expr                { $$ = binary(ps, BIN_OR, $1, $3, @2); }
    | expr ANDAND expr              { $$ = binary(ps, BIN_AND, $1, $3, @2); }
    | expr EQ expr                  { $$ = binary(ps, BIN_EQ, $1, $3, @2); }
    | expr NE expr                  { $$ = binary(ps, BIN_NE, $1, $3, @2); }
    | expr '<' expr                 { $$ = binary(ps, BIN_LT, $1, $3, @2); }
    | expr LE expr                  { $$ = binary(ps, BIN_LE, $1, $3, @2); }
    | expr '>' expr                 { $$ = binary(ps, BIN_GT, $1, $3, @2); }
    | expr GE expr                  { $$ = binary(ps, BIN_GE, $1, $3, @2); }
    | expr '|' expr                 { $$ = binary(ps, BIN_BITOR, $1, $3, @2); }
    | expr '^' expr                 { $$ = binary(ps, BIN_BITXOR, $1, $3, @2); }
    | expr '&' expr                 { $$ = binary(ps, BIN_BITAND, $1, $3, @2); }
    | expr SHL expr                 { $$ = binary(ps, BIN_SHL, $1, $3, @2); }
    | expr SHR expr                 { $$ = binary(ps, BIN_SHR, $1, $3, @2); }
    | expr '+' expr                 { $$ = binary(ps, BIN_ADD, $1, $3, @2); }
    | expr '-' expr                 { $$ = binary(ps, BIN_SUB, $1, $3, @2); }
    | expr '*' expr                 { $$ = binary(ps, BIN_MUL, $1, $3, @2); }
    | expr '/' expr                 { $$ = binary(ps, BIN_DIV, $1, $3, @2); }
    | expr '%' expr                 { $$ = binary(ps, BIN_MOD, $1, $3, @2); }
    | expr '@' expr                 { $$ = binary(ps, BIN_MATMUL, $1, $3, @2); }
    | expr POW expr                 { $$ = binary(ps, BIN_POW, $1, $3, @2); }
    | '-' expr %prec UNARY          { $$ = unary(ps, UN_NEG, $2, @1); }
    | '!' expr %prec UNARY          { $$ = unary(ps, UN_NOT, $2, @1); }
    | '~' expr %prec UNARY          { $$ = unary(ps, UN_BITNOT, $2, @1); }
    | postfix
    ;

postfix
    : primary
    | postfix '[' index_items ']'
        {
            $$ = with_args(ps, leaf(ps, EXPR_INDEX, @2), $3);
            $$->lhs = $1;
        }
    | postfix '.' IDENT
        {
            $$ = leaf(ps, EXPR_FIELD, @3);
            $$->lhs = $1;
            $$->name = $3;
        }
    | postfix '.' IDENT '(' args_opt ')'  { $$ = method_call(ps, $1, $3, @3, $5); }
    ;

primary
    : INT                           { $$ = leaf(ps, EXPR_INT, @1); $$->int_value = $1; }
    | FLOAT                         { $$ = leaf(ps, EXPR_FLOAT, @1); $$->float_value = $1; }
    | INF                           { $$ = leaf(ps, EXPR_FLOAT, @1); $$->float_value = 1.0 / 0.0; }
    | NAN                           { $$ = leaf(ps, EXPR_FLOAT, @1); $$->float_value = 0.0 / 0.0; }
    | TRUE                          { $$ = leaf(ps, EXPR_BOOL, @1); $$->int_value = 1; }
    | FALSE                         { $$ = leaf(ps, EXPR_BOOL, @1); }
    | NONE                          { $$ = leaf(ps, EXPR_NONE, @1); }
    | DTYPE                         { $$ = leaf(ps, EXPR_DTYPE, @1); $$->dtype = $1; }
    | IDENT                         { $$ = leaf(ps, EXPR_NAME, @1); $$->name = $1; }
    | IDENT '(' args_opt ')'
        {
            $$ = with_args(ps, leaf(ps, EXPR_CALL, @1), $3);
            $$->name = $1;
        }
    | '(' expr ')'                  { $$ = $2; }
    | '[' exprs ']'                 { $$ = with_args(ps, leaf(ps, EXPR_LIST, @1), $2); }
    ;

args_opt
    : %empty                        { $$ = vec_new(ps); }
    | args
    | args ','
    ;

args
    : arg                           { $$ = vec_one(ps, $1); }
    | args ',' arg                  { $$ = vec_push(ps, $1, $3); }
    ;

arg
    : expr
    | IDENT '=' expr
        {
            $$ = leaf(ps, EXPR_KWARG, @1);
            $$->name = $1;
            $$->lhs = $3;
        }
    ;

exprs
    : expr_list
    | expr_list ','
    ;

expr_list
    : expr                          { $$ = vec_one(ps, $1); }
    | expr_list ',' expr            { $$ = vec_push(ps, $1, $3); }
    ;

index_items
    : index_item                    { $$ = vec_one(ps, $1); }
    | index_items ',' index_item    { $$ = vec_push(ps, $1, $3); }
    ;

index_item
    : expr
    | ':'                           { $$ = leaf(ps, EXPR_SLICE, @1); }
    | IDENT '=' expr
        {
            $$ = leaf(ps, EXPR_KWARG, @1);
            $$->name = $1;
            $$->lhs = $3;
        }
    ;


/* ---- programs (docs/language.md, "Programs"): after the kernels' rules, so the
   tokens keep their numbers (and the expected-token lists of messages their order) */

program_def
    : PROGRAM IDENT '(' params_opt ')' ARROW '(' params_opt ')' program_body
                                    { $$ = program_new(ps, @1, $2, $4, $8, $10); }
    ;

program_body
    : '{' program_items '}'         { $$ = $2; }
    ;

program_items
    : program_item_list
    | program_item_list temp_decl   { $$ = program_body_add(ps, $1, $2, NULL); }
    | program_item_list program_call { $$ = program_body_add(ps, $1, NULL, $2); }
    | program_item_list error       { $$ = $1; }
    ;

program_item_list
    : %empty                        { $$ = program_body_new(ps); }
    | program_item_list sep
    | program_item_list temp_decl sep     { $$ = program_body_add(ps, $1, $2, NULL); }
    | program_item_list program_call sep  { $$ = program_body_add(ps, $1, NULL, $2); }
    | program_item_list error sep   { $$ = $1; yyerrok; }
    ;

temp_decl
    : IDENT ':' DTYPE '[' dims ']'  { $$ = tensor_param(ps, $1, @1, $3, $5, REDUCE_NONE); }
    ;

program_call
    : IDENT '(' args_opt ')'        { $$ = program_call(ps, $1, @1, $3); }
    ;

%%

/* How a token is named in a message: keywords and operators quoted, the rest by class. */
static const char *token_description(yysymbol_kind_t sym, char *buf, size_t size)
{
    switch (sym) {
    case YYSYMBOL_YYEOF: return "end of file";
    case YYSYMBOL_NEWLINE: return "newline";
    case YYSYMBOL_IDENT: return "identifier";
    case YYSYMBOL_INT: return "integer";
    case YYSYMBOL_FLOAT: return "number";
    case YYSYMBOL_STRING: return "string";
    case YYSYMBOL_DTYPE: return "dtype";
    default: break;
    }
    const char *name = yysymbol_name(sym);
    if (name[0] == '\'')
        return name;
    snprintf(buf, size, "'%s'", name);
    return buf;
}

/* Keywords that people may try to use as names. */
static bool is_keyword(yysymbol_kind_t sym)
{
    switch (sym) {
    case YYSYMBOL_KERNEL: case YYSYMBOL_PROGRAM: case YYSYMBOL_INCLUDE: case YYSYMBOL_FOR:
    case YYSYMBOL_IN:
    case YYSYMBOL_TILE: case YYSYMBOL_GRID: case YYSYMBOL_BLOCK: case YYSYMBOL_IF:
    case YYSYMBOL_ELSE: case YYSYMBOL_CONST: case YYSYMBOL_REDUCE: case YYSYMBOL_TUNE:
        return true;
    default:
        return false;
    }
}

/* The text of the offending token, when it is short and on one line, for the message. */
static void token_text(ParseState *ps, yysymbol_kind_t sym, const TLLTYPE *l, char *buf,
                       size_t size)
{
    buf[0] = 0;
    if (ps->diag->suppressed)      /* scanning for the line costs; only for shown errors */
        return;
    if (sym != YYSYMBOL_IDENT && sym != YYSYMBOL_INT && sym != YYSYMBOL_FLOAT &&
        sym != YYSYMBOL_DTYPE)
        return;
    if (l->first_line != l->last_line || l->last_column <= l->first_column)
        return;
    const char *text = ps->file->text;
    size_t len = (size_t)(l->last_column - l->first_column);
    if (len > 32)
        return;
    /* Find the start of the token's line. */
    const char *p = text;
    for (int line = 1; line < l->first_line; line++) {
        const char *nl = memchr(p, '\n', ps->file->len - (size_t)(p - text));
        if (!nl)
            return;
        p = nl + 1;
    }
    p += l->first_column - 1;
    if (p + len > text + ps->file->len)
        return;
    snprintf(buf, size, " '%.*s'", (int)len, p);
}

static bool is_char_token(yysymbol_kind_t sym, const char *chars)
{
    const char *name = yysymbol_name(sym);
    return name[0] == '\'' && name[1] && name[2] == '\'' && strchr(chars, name[1]);
}

static bool starts_expression(yysymbol_kind_t sym)
{
    switch (sym) {
    case YYSYMBOL_IDENT: case YYSYMBOL_INT: case YYSYMBOL_FLOAT: case YYSYMBOL_DTYPE:
    case YYSYMBOL_NONE: case YYSYMBOL_TRUE: case YYSYMBOL_FALSE: case YYSYMBOL_INF:
    case YYSYMBOL_NAN:
        return true;
    default:
        return is_char_token(sym, "([-!~");
    }
}

/* Tokens that would extend what came before (an operator, a call, an index, an
   assignment): listing them all after a complete expression is noise. */
static bool continues_expression(yysymbol_kind_t sym)
{
    switch (sym) {
    case YYSYMBOL_OROR: case YYSYMBOL_ANDAND: case YYSYMBOL_EQ: case YYSYMBOL_NE:
    case YYSYMBOL_LE: case YYSYMBOL_GE: case YYSYMBOL_PLUSEQ: case YYSYMBOL_MINUSEQ:
    case YYSYMBOL_STAREQ: case YYSYMBOL_SLASHEQ: case YYSYMBOL_POW: case YYSYMBOL_SHL:
    case YYSYMBOL_SHR:
        return true;
    default:
        return is_char_token(sym, "+-*/%@<>?[.(=&|^");
    }
}

static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, ParseState *ps)
{
    (void)scanner;
    enum { MAX_LISTED = 5 };
    if (ps->too_large)
        return 0;
    yysymbol_kind_t expected[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, expected, YYNTOKENS);
    yysymbol_kind_t got = yypcontext_token(ctx);
    const TLLTYPE *l = yypcontext_location(ctx);
    char got_buf[64], got_text[48];
    const char *got_name = token_description(got, got_buf, sizeof got_buf);
    token_text(ps, got, l, got_text, sizeof got_text);
    Loc loc = loc_of(ps, *l);

    bool expression = false, end_of_statement = false, close_brace = false;
    int expr_starts = 0, others = 0;
    for (int i = 0; i < n; i++) {
        expr_starts += starts_expression(expected[i]);
        others += !starts_expression(expected[i]) && !continues_expression(expected[i]);
        close_brace |= is_char_token(expected[i], "}");
    }
    if (got == YYSYMBOL_YYEOF && close_brace) {
        diag_error(ps->diag, loc, "expected '}' before end of file");
        if (ps->nbraces > 0) {
            const OpenBrace *open = &ps->braces[ps->nbraces - 1];
            diag_note(ps->diag, (Loc){ps->file, open->line, open->col},
                      "this '{' is not closed");
        }
        return 0;
    }
    bool ident_expected = false, kernel_expected = false;
    for (int i = 0; i < n; i++) {
        ident_expected |= expected[i] == YYSYMBOL_IDENT;
        kernel_expected |= expected[i] == YYSYMBOL_KERNEL;
    }
    if (kernel_expected) {
        diag_error(ps->diag, loc, "expected 'kernel', 'program' or 'include' before %s%s%s", got_name,
                   got_text, got == YYSYMBOL_IDENT || got == YYSYMBOL_FOR || got == YYSYMBOL_IF ||
                   got == YYSYMBOL_TUNE ? " (statements go inside a kernel)" : "");
        return 0;
    }
    if (got == YYSYMBOL_INCLUDE || got == YYSYMBOL_KERNEL || got == YYSYMBOL_PROGRAM) {
        diag_error(ps->diag, loc, "unexpected %s inside a kernel (is a '}' missing before it?)",
                   got_name);
        return 0;
    }
    if (ident_expected && is_keyword(got))
        snprintf(got_text, sizeof got_text, " (a keyword, not a name)");
    /* Name the tokens: expression starts as one "expression" (after an operator), a
       newline and ';' as one; operators only when nothing else could come. */
    const char *names[YYNTOKENS + 1];
    char bufs[YYNTOKENS][64];
    int listed = 0;
    if (expr_starts >= 4) {
        names[listed++] = "an expression";
        expression = true;
    }
    for (int i = 0; i < n; i++) {
        yysymbol_kind_t sym = expected[i];
        if (expression && starts_expression(sym))
            continue;
        if (others > 0 && continues_expression(sym))
            continue;
        if (sym == YYSYMBOL_YYEOF && n > 1)
            continue;
        if (sym == YYSYMBOL_NEWLINE || is_char_token(sym, ";")) {
            if (!end_of_statement)
                names[listed++] = "newline or ';'";
            end_of_statement = true;
            continue;
        }
        names[listed] = token_description(sym, bufs[listed], sizeof bufs[0]);
        listed++;
    }
    if (end_of_statement && !expression) {
        /* After a complete statement, '}' is implied by "newline or ';'". */
        int kept = 0;
        for (int i = 0; i < listed; i++)
            if (strcmp(names[i], "'}'") != 0)
                names[kept++] = names[i];
        listed = kept;
    }
    if (n <= 0 || listed == 0 || listed > MAX_LISTED) {
        diag_error(ps->diag, loc, "unexpected %s%s", got_name, got_text);
        return 0;
    }
    char list[512];
    size_t used = 0;
    list[0] = 0;
    for (int i = 0; i < listed; i++) {
        const char *joiner = i == 0 ? "" : i == listed - 1 ? " or " : ", ";
        int w = snprintf(list + used, sizeof list - used, "%s%s", joiner, names[i]);
        if (w < 0 || (size_t)w >= sizeof list - used)
            break;
        used += (size_t)w;
    }
    diag_error(ps->diag, loc, "expected %s before %s%s", list, got_name, got_text);
    return 0;
}

/* Bison calls this only when its stack is full ("memory exhausted"): input nested
   thousands of levels deep. Syntax errors go through yyreport_syntax_error. */
static void yyerror(TLLTYPE *lloc, void *scanner, ParseState *ps, const char *msg)
{
    (void)scanner;
    if (strstr(msg, "exhausted"))
        diag_error(ps->diag, loc_of(ps, *lloc),
                   "nesting too deep: brackets, parentheses, blocks or operators are nested "
                   "beyond the parser's limit of %d levels", YYMAXDEPTH);
    else
        diag_error(ps->diag, loc_of(ps, *lloc), "%s", msg);
}
