/* front.h — the front end: source text to a checked AST, and the AST lowered to TIR,
   sectioned by owning file (types.c, ast.c, parse.c with grammar/, sema.c, lower.c). Above
   the IR (src/ir/tir.h) and the base (src/base/base.h); code generation, the interpreter
   and the tuner never see this header. */
#ifndef TILEC_FRONT_H
#define TILEC_FRONT_H

#include "base.h"
#include "tir.h"

/* ---- types.c: checked types of expressions. */

typedef enum TypeKind {
    TYPE_ERROR,      /* an error was already reported here: silences follow-on errors */
    TYPE_VALUE,      /* a tile of `dtype` with `rank` axes; rank 0 is a scalar */
    TYPE_TENSOR,     /* a tensor parameter: only indexed, never used as a value; dtype,
                        rank, axes = its dims (AXIS_FULL of a symbol, AXIS_CONST of a size) */
    TYPE_LOOPVAR,    /* a tile loop variable: indexes tensors; has .index .begin .end;
                        rank 0, axes[0] = {AXIS_BLOCK, LoopVar.id} */
    TYPE_DTYPE,      /* a dtype written as an argument: zeros([m], f32) */
    TYPE_SHAPELIST,  /* [m, D, 1]: the shape argument of zeros/full; rank, axes */
    TYPE_SLICE,      /* `:` in an index */
    TYPE_NONE,       /* `None` in an index */
} TypeKind;

typedef struct Type {
    TypeKind kind;
    DType dtype;
    int rank;
    Axis axes[MAX_RANK];
    bool weak;       /* an untyped literal (or arithmetic of only literals): adopts the
                        other operand's dtype in a binary op */
    bool is_const;   /* value known at compile time: literals, const params and
                        arithmetic/comparisons/min/max/cdiv/?: of them (shape symbols are
                        not); `if` conditions need this. Locals are never const or weak */
} Type;

struct Kernel;
const char *type_str(char *buf, size_t size, const Type *t, const struct Kernel *k);
                                /* "bf16[m, D]", "f32", "tensor bf16[M, K]" */
bool axis_equal(Axis a, Axis b);
/* The dtype of a binary operation on a and b: a weak literal adopts the other dtype (a
   float literal with an integer gives f32); two integers give i64, an integer and a float
   the float, two different floats f32. Sema types with it and the lowering converts to it. */
DType type_promote(const Type *a, const Type *b);

/* ---- ast.c: the syntax tree, built by the parser, annotated by sema, printed by
   `tilec build --emit=ast`. */

typedef enum ExprKind {
    EXPR_INT,        /* integer literal: int_value */
    EXPR_FLOAT,      /* float literal, also `inf` and `nan`: float_value */
    EXPR_BOOL,       /* true / false: int_value 0/1 */
    EXPR_NAME,       /* identifier: name */
    EXPR_UNARY,      /* op lhs (UnOp) */
    EXPR_BINARY,     /* lhs op rhs (BinOp) */
    EXPR_TERNARY,    /* cond ? lhs : rhs */
    EXPR_CALL,       /* name(args...): a built-in function; args may hold EXPR_KWARG */
    EXPR_INDEX,      /* lhs[args...]: index a tensor or slice a tile */
    EXPR_FIELD,      /* lhs.name: .T .index .begin .end */
    EXPR_TO,         /* lhs.to(dtype) */
    EXPR_SLICE,      /* `:` in an index list */
    EXPR_NONE,       /* `None` in an index list */
    EXPR_DTYPE,      /* a dtype keyword used as an argument: dtype */
    EXPR_LIST,       /* [args...]: a shape list */
    EXPR_KWARG,      /* name=lhs inside a call: axis=1 */
} ExprKind;

typedef enum BinOp {
    BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_MOD, BIN_MATMUL,
    BIN_LT, BIN_LE, BIN_GT, BIN_GE, BIN_EQ, BIN_NE,
    BIN_AND, BIN_OR,
    BIN_POW,                  /* x ** c, c a number literal (sema keeps its value) */
    BIN_BITAND, BIN_BITOR, BIN_BITXOR, BIN_SHL, BIN_SHR,   /* integers only */
} BinOp;

/* x ** n with an integer n up to this magnitude multiplies (docs/language.md); a larger
   or fractional exponent goes through exp2 and log2. */
#define POW_MAX_MULTIPLIED 2147483647.0

typedef enum UnOp { UN_NEG, UN_NOT, UN_BITNOT } UnOp;

typedef enum Builtin {
    BI_NONE,
    /* elementwise */
    BI_EXP2, BI_EXP, BI_LOG, BI_LOG2, BI_SQRT, BI_RSQRT, BI_ABS,
    BI_TANH, BI_ERF, BI_SIGMOID, BI_SILU, BI_GELU, BI_GELU_TANH, BI_SIN, BI_COS,
    BI_MAX, BI_MIN,           /* two operands: elementwise; one operand (+ axis=): reduction */
    BI_WHERE,
    /* reductions: sum(x), sum(x, axis=i), amax = max of |x| */
    BI_SUM, BI_AMAX,
    /* constructors */
    BI_ZEROS, BI_FULL,
    /* whole-grid reductions into declared targets */
    BI_ATOMIC_ADD, BI_ATOMIC_MAX, BI_ATOMIC_MIN,
    /* index helpers */
    BI_CDIV,
    /* counter-based random numbers: Philox 4x32-10 of (seed, offset) */
    BI_RAND, BI_RANDINT,
    /* dot(a, b[, tf32=true]): `a @ b`, with f32 operands optionally on tf32 tensor cores */
    BI_DOT,
    /* cumsum(x, axis=i[, exclusive=true]): prefix sums along a tile axis */
    BI_CUMSUM,
    /* split(x, i): lane i (0 or 1) of a pair tile's last axis (extent 2), which it removes;
       join(a, b): two same-typed tiles stacked on a new last axis of extent 2 */
    BI_SPLIT, BI_JOIN,
    BI_COUNT
} Builtin;

/* Defined in types.c with the other tables of names. */
const char *builtin_name(Builtin b);
Builtin builtin_lookup(const char *name);    /* BI_NONE if not a built-in */


struct Symbol;

typedef struct Expr {
    ExprKind kind;
    Loc loc;
    int op;                   /* BinOp or UnOp */
    int64_t int_value;
    double float_value;       /* FLOAT; BINARY `**`: the exponent's value (sema) */
    const char *name;         /* NAME, CALL callee, FIELD field, KWARG key */
    DType dtype;              /* DTYPE, TO */
    struct Expr *lhs, *rhs, *cond;
    struct Expr **args;
    int nargs;
    /* filled by sema (on every node it reaches; TYPE_ERROR only when the kernel is not
       `checked`). A weak literal keeps its own type (`2` is weak i64): the lowering converts
       it to the dtype of the operation that uses it (a binary op's promoted dtype, a
       store's tensor dtype, ...). An atomic_* call statement's type is its target's tile. */
    Type type;
    struct Symbol *sym;       /* NAME (also a shape-list entry): what the name resolved to */
    Builtin builtin;          /* CALL: which built-in; BI_MAX/BI_MIN are reductions when
                                 reduce_axis >= -1. BI_NONE on every other node */
    int reduce_axis;          /* CALL reductions: -1 = all axes (result is scalar),
                                 0..rank-1 = that axis; -2 when not a reduction;
                                 split: the lane taken, 0 or 1 */
    bool tf32;                /* CALL dot: tf32=true (f32 operands rounded to tf32 on tensor cores) */
    bool exclusive;           /* CALL cumsum: exclusive=true (each lane sums the lanes before it);
                                 its axis is in reduce_axis */
} Expr;

typedef struct ShapeDim {
    bool is_symbol;           /* M, or a literal size */
    const char *name;         /* the symbol's name */
    int sym;                  /* sema: ShapeSym id; -1 for a literal size */
    int64_t value;            /* literal size */
    Loc loc;
} ShapeDim;

typedef struct Param {
    const char *name;
    Loc loc;
    ParamKind kind;
    DType dtype;
    int rank;
    ShapeDim dims[MAX_RANK];
    ReduceOp reduce;          /* `reduce(max)`: a whole-grid reduction target */
    int64_t *const_values;    /* `const i32 in {1, 2}`: the values to compile */
    int nconst_values;
    int index;                /* position in the signature */
} Param;

typedef struct ShapeSym {
    const char *name;         /* M, N, K, D ... */
    Loc loc;                  /* first mention */
    int id;
    bool is_full;             /* taken whole as a tile axis somewhere: its value is
                                 specialised at compile time */
    const int64_t *sizes;     /* `const D in {64, 128}`: the sizes a bundle builds by
                                 default (NULL: none declared) */
    int nsizes;
} ShapeSym;

/* The most sizes one full axis may list (`const D in {...}`, `--config D=a|b|...`). */
#define FULL_AXIS_MAX_SIZES 8

typedef enum BlockKind {
    BLOCK_FREE,     /* `_` or nothing: the tuner picks from the default range */
    BLOCK_FIXED,    /* `64`: pinned */
    BLOCK_SET,      /* `{64, 128}`: the tuner picks from these */
    BLOCK_RANGE,    /* `16..128`: powers of two in [lo, hi] */
} BlockKind;

typedef struct BlockSpec {
    BlockKind kind;
    int64_t *values;          /* FIXED: one; SET: nvalues */
    int nvalues;
    int64_t lo, hi;           /* RANGE */
    Loc loc;
} BlockSpec;

typedef struct LoopVar {
    const char *name;
    Loc loc;
    struct Expr *extent;      /* the tile(...) argument for this variable: its end */
    struct Expr *start;       /* tile(lo, hi)'s lo: the loop runs over [lo, hi); NULL: 0 */
    Loc range_loc;            /* the `tile` keyword */
    BlockSpec block;
    /* filled by sema */
    int id;                   /* index in Kernel.loopvars */
    bool is_grid;             /* bound by the outermost loop */
    bool scalar;              /* block written as `1`: indexing with it drops the axis, .index
                                 is a scalar */
    const char *tunable;      /* "BLOCK_M": names a Kernel.tunables entry (shared by same-name
                                 variables; a pinned size > 1 is a one-value tunable). NULL
                                 only when scalar */
} LoopVar;

typedef enum StmtKind {
    STMT_ASSIGN,    /* name = value, or name op= value (assign_op >= 0) */
    STMT_STORE,     /* target = value, target an EXPR_INDEX of a tensor */
    STMT_EXPR,      /* a call used as a statement: atomic_max(out[0], v) */
    STMT_FOR,       /* for vars in tile(extents) block(...) { body } */
    STMT_IF,        /* if cond { body } else { else_body }: const, or a run-time scalar
                       inside the grid loop */
    STMT_TUNE,      /* tune NAME in {..} | lo..hi : narrow a tunable */
    STMT_SIZES,     /* const SYM in {..} : the sizes a full axis is built for */
} StmtKind;

typedef struct Stmt {
    StmtKind kind;
    Loc loc;
    const char *name;         /* ASSIGN: the local; TUNE: the tunable; SIZES: the symbol */
    int assign_op;            /* ASSIGN: BinOp of `op=`, or -1 for `=` */
    Expr *target;             /* STORE */
    Expr *value;              /* ASSIGN, STORE, EXPR */
    LoopVar **vars;           /* FOR */
    int nvars;
    bool explicit_grid;       /* FOR written as grid(...) rather than tile(...) */
    struct Stmt **body;       /* FOR, IF */
    int nbody;
    Expr *cond;               /* IF */
    struct Stmt **else_body;
    int nelse;
    BlockSpec tune;           /* TUNE; SIZES (a BLOCK_SET of the sizes) */
    /* filled by sema */
    struct Local *local;      /* ASSIGN: the variable assigned */
    bool defines;             /* ASSIGN: first definition of the local */
    struct Local **carried;   /* FOR: locals defined before the loop and assigned anywhere
                                 in it (nested loops and ifs included), in order of first
                                 assignment; always empty for the grid loop.
                                 IF on a run-time condition: those of its body */
    int ncarried;
    bool runtime;             /* IF: the condition is a run-time value (lowered to loops of
                                 zero or one block, one per branch) */
    struct Local **else_carried;   /* IF, runtime: the else branch's, as `carried` */
    int nelse_carried;
} Stmt;

typedef enum SymbolKind { SYM_PARAM, SYM_SHAPE, SYM_LOOPVAR, SYM_LOCAL } SymbolKind;

typedef struct Local {
    const char *name;
    Loc loc;                  /* first definition */
    Type type;
    int id;                   /* index in Kernel.locals */
} Local;

typedef struct Symbol {
    SymbolKind kind;
    const char *name;
    Param *param;
    ShapeSym *shape;
    LoopVar *loopvar;
    Local *local;
} Symbol;


typedef struct Tunable {
    const char *name;         /* BLOCK_M, num_warps, num_stages, group_m */
    TunableKind kind;
    int64_t *values;          /* the allowed values, ascending */
    int nvalues;
    int64_t default_value;
    LoopVar *loopvar;         /* TUNE_BLOCK */
} Tunable;

typedef struct Kernel {
    const char *name;
    Loc loc;
    Param **params;
    int nparams;
    Stmt **body;
    int nbody;
    /* filled by sema */
    ShapeSym **syms;
    int nsyms;
    LoopVar **loopvars;       /* every loop variable in source order (a loop's variables
                                 before its body's): outermost first */
    int nloopvars;
    Local **locals;           /* one per distinct variable, in order of definition; a name
                                 redefined after its block closed is a new Local. Local.type
                                 is never weak or const */
    int nlocals;
    Tunable **tunables;       /* BLOCK_* in loop-variable order (one per name), then the
                                 other knobs the kernel has in the knob table's order
                                 (tir.h); values ascending, narrowed by `tune`;
                                 default_value is one of the values */
    int ntunables;
    bool uses_fp8;            /* needs sm_89 or newer */
    bool has_dot;             /* an `@`: the codegen knobs (dot, tile_groups, ws, persistent) */
    bool checked;             /* sema ran without errors */
} Kernel;

/* ---- a `program`: kernels composed into one entry point (docs/language.md, "Programs").
   The parser fills the syntax; program.c checks it against the kernels' signatures and
   lowers it to the program IR (tir.h's TirProgram). */

typedef struct ProgramCall {
    const char *kernel_name;
    Loc loc;
    Expr **args;              /* positional values, then EXPR_KWARG `param=value`; each value
                                 a name (a parameter or an intermediate of the program) or
                                 a literal (`0.5`, `-1`, `true`) */
    int nargs;
    Kernel *kernel;           /* sema: the kernel called */
} ProgramCall;

typedef struct ProgramDef {
    const char *name;
    Loc loc;
    Param **params;           /* the inputs, then the outputs; Param.index in this order */
    int nparams;
    int ninputs;              /* params[0 .. ninputs) are inputs, the rest outputs */
    Param **temps;            /* intermediate tensors, declared as `name: dtype[dims]` */
    int ntemps;
    ProgramCall **calls;      /* in source order */
    int ncalls;
    /* filled by sema */
    ShapeSym **syms;          /* the shape symbols of the parameters' dims */
    int nsyms;
    struct TirProgram *ir;    /* checked and ordered; NULL when the program has errors */
} ProgramDef;

typedef struct Program {
    Kernel **kernels;
    int nkernels;
    ProgramDef **programs;    /* the `program` definitions, file order (includes' too) */
    int nprograms;
    SourceFile *files;        /* every file read, the root first */
} Program;

Expr *expr_new(Arena *a, ExprKind kind, Loc loc);
Stmt *stmt_new(Arena *a, StmtKind kind, Loc loc);
void ast_print(FILE *out, const Program *p, const char *only_kernel);
const char *binop_str(int op);   /* a BinOp's source text: "+", "<<" */
Kernel *program_find_kernel(const Program *p, const char *name);
ProgramDef *program_find_program(const Program *p, const char *name);

/* ---- parse.c (with grammar/lexer.l, grammar/parser.y): source text to AST.
   Follows `include "file"` relative to the including file, once per file; a cycle is
   an error. Returns NULL only when the root file cannot be read; syntax errors are
   reported through diag and the partial program is returned. */

Program *parse_program(Arena *a, Diag *d, const char *path);
Program *parse_string(Arena *a, Diag *d, const char *name, const char *text, size_t len);

/* The parser bounds how deep statements and expressions nest (an error past it), so tree
   walkers may recurse. */
#define MAX_NESTING 256

/* grammar/: one file's text to its kernels (Kernel *), programs (ProgramDef *) and
   `include` lines (Include *), appended to the vectors; parse.c follows the includes. */
typedef struct Include {
    const char *path;         /* as written */
    Loc loc;
} Include;
typedef struct ParsedItems {
    PtrVec kernels, programs, includes;
} ParsedItems;
void grammar_parse(Arena *a, Diag *d, const SourceFile *file, ParsedItems *out);

/* ---- sema.c: names, types, symbolic shapes; fills the sema fields above.
   Returns the number of errors reported. */

typedef struct SemaOptions {
    int target_sm;            /* 90 for sm_90a, 80 for sm_80: fp8 needs >= 89 (0 = skip) */
} SemaOptions;

int sema_check(Arena *a, Diag *d, Program *p, const SemaOptions *opts);
/* A program's parameters checked by the kernels' rules (names, dims, dtypes for the target);
   the shape symbols of their dims in *syms. */
void sema_check_signature(Arena *a, Diag *d, const SemaOptions *opts, const char *owner,
                          Param **params, int nparams, ShapeSym ***syms, int *nsyms);

/* ---- program.c: checks each `program` against the kernels it calls (after sema_check,
   which calls it) and lowers it to the program IR, ordered (tir_program_order): fills
   ProgramDef.syms and .ir. Returns the number of errors reported. */
int program_check(Arena *a, Diag *d, Program *p, ProgramDef *pd, const SemaOptions *opts);

/* ---- lower.c: checked AST -> TIR for one (kernel, const values). const_values is indexed
   by Param.index (only PARAM_CONST entries are read); NULL = defaults (bool: false,
   integer: the first listed value). Returns NULL on error (diagnosed). */
TirKernel *tir_lower(Arena *a, Diag *d, const Kernel *k, const int64_t *const_values);

#endif
