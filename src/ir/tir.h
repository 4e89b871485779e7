/* tir.h — the tiled IR (TIR): a kernel as a loop nest of SSA tile ops, its text form,
   verifier, passes, and the Config that binds tunables (the lowering from the checked AST
   is the front end's, in front.h). docs/ir.md is the reference for the semantics; this
   header is the data layout. Owners: tir.c (data, builder, printer), tir_parse.c,
   tir_verify.c, eval.c, mathfn.c, passes.c, config.c. Changes after the first version are additive only. */
#ifndef TILEC_TIR_H
#define TILEC_TIR_H

#include "base.h"

/* ---- ops.def (its names: tir.c): the op table. Each op has one mnemonic in the text
   form; elementwise unary/binary/compare ops and reduce/atomic kinds have their own
   sub-tables. */

typedef enum TirOpcode {
#define OP(id, text, noperands, nresults, form) TIR_##id,
#include "ops.def"
#undef OP
    TIR_OPCODE_COUNT
} TirOpcode;

typedef enum TirUnaryOp {
#define UNOP(id, text) TIR_UN_##id,
#include "ops.def"
#undef UNOP
    TIR_UN_COUNT
} TirUnaryOp;

typedef enum TirBinaryOp {
#define BINOP(id, text) TIR_BIN_##id,
#include "ops.def"
#undef BINOP
    TIR_BIN_COUNT
} TirBinaryOp;

typedef enum TirCmpOp {
#define CMPOP(id, text) TIR_CMP_##id,
#include "ops.def"
#undef CMPOP
    TIR_CMP_COUNT
} TirCmpOp;

typedef enum TirReduceKind {
#define REDKIND(id, text) TIR_RED_##id,
#include "ops.def"
#undef REDKIND
    TIR_RED_COUNT
} TirReduceKind;

/* How the printer and parser treat an op's operands and attributes (ops.def's `form`). */
typedef enum TirForm {
    TIR_FORM_FULL,      /* full VALUE : T */
    TIR_FORM_NAMED,     /* param NAME / dim SYM / begin VAR / end VAR / iota VAR : T */
    TIR_FORM_OPERANDS,  /* MNEMONIC %a, %b, ... : T (unary, binary, cmp, select, convert, ...) */
    TIR_FORM_AXIS,      /* expand_dims %x, AXIS : T */
    TIR_FORM_REDUCE,    /* reduce KIND %x, AXIS [masked] : T */
    TIR_FORM_DOT,       /* dot %a, %b, %acc [masked] : T [prologue_a(..){} prologue_b(..){} epilogue(..){}] */
    TIR_FORM_MEMORY,    /* load P[idx] [mask(..)] : T / store P[idx], %v [mask(..)] / atomic KIND ... */
    TIR_FORM_LOOP,      /* for/grid VAR in tile(%e) block B, ... [iter(...)] { ... } */
    TIR_FORM_YIELD,     /* yield %a, ... */
} TirForm;

typedef struct TirOpInfo {
    const char *name;   /* mnemonic in the text form */
    int noperands;      /* exact count, or -1 when variable */
    int nresults;       /* exact count, or -1 when variable */
    TirForm form;
} TirOpInfo;

const TirOpInfo *tir_op_info(TirOpcode op);
const char *tir_unary_name(TirUnaryOp op);
const char *tir_binary_name(TirBinaryOp op);
const char *tir_cmp_name(TirCmpOp op);
const char *tir_reduce_name(TirReduceKind kind);   /* sum max min amax */

/* ---- tir.c: the data structures and the builder. */

/* A tile type dtype[axes]. Axis (base.h) is reused with TIR ids: AXIS_BLOCK's id indexes
   TirKernel.loopvars, AXIS_FULL's id indexes TirKernel.syms, AXIS_ONE has size 1.
   Rank 0 is a scalar. */
typedef struct TirType {
    DType dtype;
    int rank;
    Axis axes[MAX_RANK];
} TirType;

struct TirOp;
struct TirBlock;

/* An SSA value: the result of an op or an argument of a block (loop-carried values and the
   arguments of dot regions). `id` is unique in the kernel and < TirKernel.nvalues; after
   tir_renumber it is dense and in print order, so an interpreter can keep one slot per id. */
typedef struct TirValue {
    int id;
    TirType type;
    struct TirOp *def;          /* the defining op, NULL for a block argument */
    int def_index;              /* which result of `def`, or which argument of `owner` */
    struct TirBlock *owner;     /* the block whose argument this is (NULL for op results) */
} TirValue;

/* A straight-line list of ops with arguments. A `for` body's arguments are the carried
   values; a dot region's argument is the tile it transforms. A block ends with `yield`
   except the kernel body and a grid body. */
typedef struct TirBlock {
    TirValue **args;
    int nargs;
    struct TirOp *first, *last;
    struct TirOp *parent;       /* the op owning the block; NULL for the kernel body */
} TirBlock;

/* One index of a load/store/atomic, per entry of `P[...]`. */
typedef enum TirIndexKind {
    TIR_IDX_BLOCK,   /* a loop variable: lanes begin..begin+BLOCK-1 (one lane when its block is 1) */
    TIR_IDX_FULL,    /* `:`: the whole dim, a full axis named by the dim's symbol */
    TIR_IDX_VALUE,   /* an integer SSA value (an operand of the op): a scalar adds no axis; a
                        tile (a gather or scatter) adds the tile's axes, and lane i of them
                        takes the tile's element i as its index */
    TIR_IDX_NEWAXIS, /* `None`: adds a 1 axis and consumes no tensor dim */
} TirIndexKind;

/* Which checks guard the lanes of one index (set by tir_infer_masks). A lane is
   accessed only when every check holds; a masked-off load lane reads 0. */
typedef enum TirMask {
    TIR_MASK_NONE = 0,   /* no check: provably valid and in the tensor */
    TIR_MASK_LOOP = 1,   /* lane index < the loop variable's extent (lane is valid); for a
                            tile VALUE: every axis of the index tile is valid at the lane */
    TIR_MASK_DIM = 2,    /* 0 <= index < the tensor's dim */
    TIR_MASK_BOTH = 3,   /* both */
    TIR_MASK_CHECK = 4,  /* VALUE only (an index read from data): 0 <= index < the tensor's
                            dim, and a lane the access would otherwise touch that fails it is
                            an error (the interpreter stops, a GPU kernel raises its fault) */
    TIR_MASK_LOOP_CHECK = 5,   /* LOOP and CHECK */
} TirMask;

typedef struct TirIndex {
    TirIndexKind kind;
    int loopvar;       /* BLOCK: TirKernel.loopvars index */
    int operand;       /* VALUE: index into the op's operands */
    TirMask mask;
} TirIndex;

typedef struct TirOp {
    TirOpcode opcode;
    Loc loc;                    /* the .tile (or .ir) position the op came from */
    struct TirOp *prev, *next;
    struct TirBlock *block;     /* the block holding the op */
    TirValue **operands;
    int noperands;
    TirValue **results;
    int nresults;

    /* attributes; which are meaningful depends on the opcode (docs/ir.md) */
    int sub;                    /* UNARY: TirUnaryOp, BINARY: TirBinaryOp, CMP: TirCmpOp,
                                   REDUCE and ATOMIC: TirReduceKind (atomic: sum/max/min),
                                   DOT: TIR_DOT_EXACT/TF32, CUMSUM: 1 when exclusive */
    int axis;                   /* REDUCE, EXPAND_DIMS, CUMSUM */
    bool masked;                /* REDUCE: skip invalid lanes of the reduced axis;
                                   DOT: skip invalid lanes of the contraction axis;
                                   LOAD, STORE, ATOMIC: the last operand is a data mask, a
                                   bool tile of the access's type (`mask=`): lanes where it
                                   is false are neither accessed nor checked */
    int64_t ivalue;             /* FULL of an integer or bool dtype */
    double fvalue;              /* FULL of a float dtype */
    int param;                  /* PARAM, LOAD, STORE, ATOMIC: TirKernel.params index */
    int sym;                    /* DIM: TirKernel.syms index */
    int loopvar;                /* BEGIN, END, IOTA: TirKernel.loopvars index */
    TirIndex *index;            /* LOAD, STORE, ATOMIC: one entry per `[...]` entry */
    int nindex;

    /* FOR/GRID: loopvars[i] is bound by the op, operands[0..nvars-1] are the extents,
       operands[nvars..] the initial carried values, regions[0] the body whose args are
       the carried values; results are the carried values after the last iteration.
       A `ranged` FOR (one variable, `tile(lo, hi)`) has one more operand, last: its start.
       DOT: regions[0] prologue of a, [1] prologue of b, [2] epilogue (each may be NULL). */
    int *loopvars;
    int nvars;
    bool ranged;
    struct TirBlock *regions[3];
} TirOp;

/* A FOR's start (`tile(lo, hi)`'s lo, an i64 scalar), or NULL when it runs from 0. */
static inline TirValue *tir_loop_start(const TirOp *op)
{
    return op->ranged && op->noperands > op->nvars ? op->operands[op->noperands - 1] : NULL;
}

enum { TIR_REGION_PROLOGUE_A = 0, TIR_REGION_PROLOGUE_B = 1, TIR_REGION_EPILOGUE = 2 };

/* DOT's `sub`: exact products (f32 operands: FMA in f32), or f32 operands rounded to tf32
   (10-bit mantissa, to nearest, ties away from zero) for the tensor cores. */
enum { TIR_DOT_EXACT = 0, TIR_DOT_TF32 = 1 };

/* A tile loop variable. Block size: `tunable` >= 0 names TirKernel.tunables[tunable]
   (bound by a Config), else the constant `block` (1 makes it a scalar index: no axis). */
typedef struct TirLoopVar {
    const char *name;
    int id;                     /* index in TirKernel.loopvars */
    bool is_grid;
    int tunable;                /* -1 when pinned */
    int64_t block;              /* pinned block size (meaningful when tunable < 0) */
    bool is_branch;             /* the one-block loop of a run-time if: its extent is the
                                   condition as 0 or 1, not index arithmetic (`block 1 branch`) */
    struct TirOp *loop;         /* the FOR/GRID op binding it */
    int dim;                    /* its position among loop->loopvars */
    Loc loc;
} TirLoopVar;

/* A shape symbol: its value is bound at launch. `is_full` symbols are taken whole as tile
   axes; their value is specialised at compile time (part of the variant key). */
typedef struct TirSym {
    const char *name;
    bool is_full;
} TirSym;

typedef struct TirDim {
    int sym;                    /* TirKernel.syms index, or -1 for a literal */
    int64_t value;              /* literal size */
} TirDim;

typedef struct TirParam {
    const char *name;
    ParamKind kind;             /* base.h: PARAM_TENSOR / PARAM_SCALAR / PARAM_CONST */
    DType dtype;
    int rank;
    TirDim dims[MAX_RANK];
    ReduceOp reduce;            /* base.h: a whole-grid reduction target */
    int64_t const_value;        /* PARAM_CONST: the value this kernel was lowered for */
    int64_t *const_values;      /* PARAM_CONST i32/i64: the allowed values (bool: none) */
    int nconst_values;
} TirParam;

typedef struct TirTunable {
    const char *name;           /* BLOCK_M, num_warps, num_stages, group_m */
    TunableKind kind;           /* base.h */
    int64_t *values;            /* allowed values, ascending */
    int nvalues;
    int64_t default_value;
} TirTunable;

typedef struct TirKernel {
    const char *name;
    Loc loc;
    Arena *arena;               /* where the kernel and anything passes add live */
    const char *source;         /* path of the .tile it was lowered from (NULL if unknown) */
    TirParam *params;
    int nparams;
    TirSym *syms;
    int nsyms;
    TirTunable *tunables;
    int ntunables;
    TirLoopVar **loopvars;
    int nloopvars;
    TirBlock *body;             /* prologue ops (scalars), then one GRID op, last */
    int nvalues;                /* every TirValue.id is below this */
} TirKernel;

TirKernel *tir_kernel_new(Arena *a, const char *name, Loc loc);
TirBlock *tir_block_new(TirKernel *k, TirOp *parent);
TirValue *tir_block_add_arg(TirKernel *k, TirBlock *b, TirType type);
/* A detached op with room for its operands (all NULL) and results (created from
   `result_types`, which may be NULL when nresults is 0). */
TirOp *tir_op_new(TirKernel *k, TirOpcode opcode, Loc loc, int noperands, int nresults,
                  const TirType *result_types);
void tir_op_append(TirBlock *b, TirOp *op);
void tir_op_insert_before(TirOp *pos, TirOp *op);
void tir_op_remove(TirOp *op);                     /* unlinks; uses are not checked */
TirLoopVar *tir_loopvar_new(TirKernel *k, const char *name, bool is_grid, Loc loc);
/* Every use of `from` in the kernel (operands, nested regions) becomes `to`. */
void tir_replace_uses(TirKernel *k, const TirValue *from, TirValue *to);
int tir_count_uses(const TirKernel *k, const TirValue *v);
/* Calls fn on every op of `b` and of the regions nested in it, in print order. */
void tir_walk(TirBlock *b, void (*fn)(TirOp *op, void *ctx), void *ctx);
/* Gives values dense ids in print order and sets nvalues. */
void tir_renumber(TirKernel *k);

TirType tir_type_scalar(DType dtype);
bool tir_type_equal(const TirType *a, const TirType *b);
bool tir_axis_equal(Axis a, Axis b);
/* Floating-point contraction, one rule for codegen and the interpreter's GPU arithmetic:
   an f32 add/sub one of whose operands (the first that qualifies) is an f32 mul of the
   same type or a scalar one (or a dot whose epilogue yields such a mul) is one fma rounded
   once, reading the mul's operands: a*b + c, a*b - c = fma(a, b, -c), c - a*b =
   fma(-a, b, c). Through a where() that picks the mul on one branch (a causal mask), each
   element is the fma where the condition picks the mul and the plain add/sub of the other
   branch elsewhere. No other op is contracted. */
typedef struct TirFusedMultiply {
    const TirOp *mul;       /* its operands are the fma's factors */
    int operand;            /* the add/sub's operand the mul stands for */
    const TirOp *select;    /* NULL, or the where() between the mul and the add/sub */
    int mul_branch;         /* the select's operand (1 or 2) that is the mul */
} TirFusedMultiply;
bool tir_fused_multiply(const TirOp *op, TirFusedMultiply *out);
/* "bf16[m, D]" using the kernel's names; returns buf. */
const char *tir_type_str(char *buf, size_t size, const TirKernel *k, const TirType *t);
int tir_find_param(const TirKernel *k, const char *name);     /* -1 if none */
int tir_find_sym(const TirKernel *k, const char *name);
int tir_find_tunable(const TirKernel *k, const char *name);
/* Whether a dot of the kernel takes an fp8 operand. */
bool tir_has_fp8_dot(const TirKernel *k);
TirValue *tir_index_value(const TirOp *op, int i);            /* VALUE index's operand */
/* The tensor dims an index list consumes (NEWAXIS consumes none). */
int tir_index_rank(const TirIndex *index, int nindex);
/* How many tile axes index entry i of a load/store/atomic adds: 1 for a loop variable (0
   when its block is pinned to 1), `:` and None, the rank of a VALUE's tile (0: a scalar). */
int tir_index_axes(const TirKernel *k, const TirOp *op, int i);
/* A load/store/atomic's data mask (its last operand when `masked`), or NULL. */
TirValue *tir_data_mask(const TirOp *op);

/* The text form. Prints one kernel; values are numbered in print order. */
void tir_print(FILE *out, const TirKernel *k);
/* The smallest power of two >= x (1 for x <= 1): the padded size of a full axis. Above
   TIR_MAX_POW2, the largest int64 power of two, it is TIR_MAX_POW2: sizes that large are
   refused elsewhere, and the answer stays finite. */
#define TIR_MAX_POW2 (INT64_C(1) << 62)
/* The largest size of a full axis: it is compiled in, every program holds it whole. */
#define TIR_MAX_FULL_AXIS 65536
int64_t tir_next_pow2(int64_t x);
/* ceil(a / b) for b > 0 without overflow, 0 for b <= 0: the blocks of a loop. */
int64_t tir_cdiv(int64_t a, int64_t b);

/* ---- tir_parse.c: the text form back into kernels. */

/* Parses one kernel from text. `name` is the file name used in diagnostics (line:col).
   Returns NULL on error (reported through d). Never crashes on malformed text. */
TirKernel *tir_parse(Arena *a, Diag *d, const char *name, const char *text, size_t len);
/* Every kernel of a text holding zero or more (what `--emit=ir` prints for a file).
   Returns the count with the kernels in *out, or -1 on error. */
int tir_parse_many(Arena *a, Diag *d, const char *name, const char *text, size_t len, TirKernel ***out);

/* ---- tir_verify.c: structural and type checks. Returns the number of errors reported. */
int tir_verify(const TirKernel *k, Diag *d);

/* ---- mathfn.c: the math built-ins tanh, erf, sigmoid, silu, gelu, gelu_tanh, sin and cos
   (unary ops): each is defined by tir_math_reference and computed on the GPU by one f32
   recipe over TirMathOps, which codegen runs with LLVM builders and the interpreter's
   --arith=gpu with floats, so both do the same operations in the same order. */

/* A recipe's value: an f32 (the interpreter) or a back end's handle (an LLVMValueRef). */
typedef union TirMathValue {
    float f;
    void *handle;
} TirMathValue;

/* The operations recipes are made of, each an IEEE f32 operation rounded to nearest, but
   unary TIR_UN_EXP2, which is ex2.approx.ftz (docs/run.md). `ctx` is the back end's. */
typedef struct TirMathOps TirMathOps;
struct TirMathOps {
    void *ctx;
    TirMathValue (*constant)(const TirMathOps *m, float c);
    TirMathValue (*unary)(const TirMathOps *m, int sub, TirMathValue x);   /* neg, abs, exp2 */
    TirMathValue (*binary)(const TirMathOps *m, int sub, TirMathValue x, TirMathValue y); /* add sub mul div */
    TirMathValue (*fma)(const TirMathOps *m, TirMathValue x, TirMathValue y, TirMathValue z);
    /* a < b ? if_less : otherwise (a NaN operand picks otherwise) */
    TirMathValue (*select_less)(const TirMathOps *m, TirMathValue a, TirMathValue b,
                                TirMathValue if_less, TirMathValue otherwise);
};

/* sin and cos take |x| <= TIR_TRIG_LIMIT (2^22) and are NaN beyond. */
#define TIR_TRIG_LIMIT 4194304.0
/* Whether unary op `sub` is one of these built-ins. */
bool tir_math_is_recipe(int sub);
/* Whether its recipe uses ex2.approx (the GPU's result is then within its bound of the
   interpreter's, not bit-exact; sin and cos are bit-exact). */
bool tir_math_is_approximate(int sub);
/* The recipe of `sub` applied to x. */
TirMathValue tir_math_recipe(const TirMathOps *m, int sub, TirMathValue x);
/* The function itself, in double (the interpreter's default arithmetic rounds it once). */
double tir_math_reference(int sub, double x);

/* ---- eval.c: TIR's scalar arithmetic, defined once (docs/ir.md, "Scalar arithmetic").
   The folder, the interpreter, the GPU runner (its grid check and work count) and the
   tuner's estimates compute with these; no other copy exists in the compiler. */

/* v wrapped to dtype t: to its width, sign-extended (i8 i16 i32) or zero-extended (u8 u32),
   bool to 0/1, i64 as it is. */
int64_t tir_int_wrap(DType t, uint64_t v);
/* Integer binary op `sub` (TirBinaryOp) of dtype t as TIR defines it: operands and result
   wrapped to t; div truncates, INT64_MIN / -1 wraps to INT64_MIN and x % -1 is 0;
   x / 0 = x % 0 = cdiv(x, 0) = 0; cdiv(a, b) = (a + b - 1) / b with the sum wrapping like
   add; shl/shr read the count as unsigned in t, and a count >= t's width shifts every bit
   out (0, or -1 from shr of a negative signed a). False for a sub that is not a binary op. */
bool tir_int_binary(int sub, DType t, int64_t a, int64_t b, int64_t *out);
/* Whether binary op `sub` with divisor b is a division by zero (div, mod, cdiv by 0):
   defined as 0 above, and a fault where the host evaluates index arithmetic. */
bool tir_int_divides_by_zero(int sub, int64_t b);
/* Integer unary op `sub` (neg, abs, not) of dtype t, wrapping (-INT64_MIN is INT64_MIN).
   False for a sub that is not one. */
bool tir_int_unary(int sub, DType t, int64_t x, int64_t *out);
/* Integer comparison `sub` (TirCmpOp). */
bool tir_int_compare(int sub, int64_t a, int64_t b);
/* Float comparison `sub`: a NaN operand makes every comparison false but `ne`. */
bool tir_float_compare(int sub, double a, double b);
/* The `rand` op (docs/language.md, "Random numbers"): Philox 4x32-10 keyed by the seed's two
   32-bit halves, counter (q low 32, q high 32, 0, 0) for the block q = offset >> 2 (offsets
   unsigned), and the element takes word offset & 3: four adjacent offsets share one call.
   Codegen emits the same rounds, so every target gives these bits. */
#define TIR_PHILOX_M0 0xD2511F53u   /* the round multipliers */
#define TIR_PHILOX_M1 0xCD9E8D57u
#define TIR_PHILOX_W0 0x9E3779B9u   /* the key's Weyl increments */
#define TIR_PHILOX_W1 0xBB67AE85u
#define TIR_PHILOX_ROUNDS 10
uint32_t tir_philox(int64_t seed, int64_t offset);
/* An element's word as rand's f32: (word >> 8) * 2^-24, exact, in [0, 1). */
float tir_rand_uniform(uint32_t r0);
/* x rounded to tf32 as cvt.rna.tf32.f32 does: 10 mantissa bits, to nearest with ties away
   from zero (an f32 with the low 13 bits clear); NaN and infinities pass through. */
float tir_round_tf32(float x);

/* The value of a `param`, `dim`, `begin` or `end` op that the TIR does not hold: in *ivalue
   for integer and bool dtypes, *fvalue for floats (the evaluator wraps or rounds it to the
   op's dtype). False when the caller does not know it. */
typedef bool (*TirLeafFn)(void *ctx, const TirOp *op, int64_t *ivalue, double *fvalue);

/* A scalar's value: in i for integer and bool dtypes (f = (double)i), in f for floats. */
typedef struct TirScalar {
    int64_t i;
    double f;
    const TirOp *div_by_zero;   /* the first integer div, mod or cdiv by 0 it evaluated (each
                                   gives 0), or NULL: the caller decides whether it is a fault */
    const TirValue *unknown;    /* on failure: the value it could not evaluate */
} TirScalar;

/* Evaluates a scalar value (a broadcast of one counts) as TIR defines it: constants, the
   leaves `leaf` gives (NULL: none), and neg/abs/not, binary, compare, select (only the
   branch taken) and convert over them; f32 arithmetic with one rounding, 16-bit float
   arithmetic and float functions not at all. False when v needs anything else (a loop-
   carried value, a load, an expression deeper than 64 ops): out->unknown says which. */
bool tir_eval_scalar(const TirValue *v, TirLeafFn leaf, void *ctx, TirScalar *out);
/* tir_eval_scalar with no leaves: the value of v when it is a compile-time constant, in
   *ivalue for integer and bool dtypes, in *fvalue for floats. */
bool tir_eval_const(const TirValue *v, int64_t *ivalue, double *fvalue);

/* ---- passes.c */
void tir_simplify(TirKernel *k);      /* fold constants and shapes, min(x,x), dead code */
void tir_infer_masks(TirKernel *k);   /* set load/store/atomic masks, reduce/dot `masked` */
void tir_fuse_dot(TirKernel *k);      /* elementwise producers/consumers into dot regions */
/* Loop-invariant loads of dot operands move before their loop (docs/ir.md). */
void tir_hoist_invariant_loads(TirKernel *k);

typedef struct TirPipelineOptions {
    bool no_mask_inference;   /* leave every mask off: the interpreter's mask checker test */
    bool no_simplify;
    bool no_fusion;
} TirPipelineOptions;

/* simplify, infer masks (unless turned off), fuse dots, simplify, renumber, verify.
   opts may be NULL (everything on). Returns the number of errors (verifier). */
int tir_run_pipeline(TirKernel *k, Diag *d, const TirPipelineOptions *opts);

/* ---- config.c: the knob table, and the Config that binds every tunable by name.

   A knob is a kind of tunable. The table has one row per TunableKind and is the only place
   a knob's name, values, default and meaning are written: sema makes each kernel's
   tunables from it, codegen, the tuner and the interpreter read a Config through it, and
   `tilec --help` prints it. A new knob is a row (and a TunableKind) plus the code that
   reads its value; a knob whose values are names (value_names) is parsed, printed and
   listed by name everywhere a value appears as text. */

/* What a kernel needs for a knob to exist in it (a bit set). */
typedef enum KnobNeeds {
    KNOB_NEEDS_NOTHING = 0,
    KNOB_NEEDS_DOT = 1 << 0,       /* an `@` dot */
} KnobNeeds;

typedef struct Knob {
    const char *name;              /* the tunable's name; per-loop knobs: its prefix */
    bool per_loop;                 /* one tunable per unpinned tile loop variable, named
                                      name + the variable in upper case (BLOCK_M) */
    bool powers_of_two;            /* values are powers of two; nearness counts in log2 */
    const int64_t *values;         /* what a kernel allows until `tune`/block(...) narrow
                                      it, ascending */
    int nvalues;
    int64_t preferred;             /* the default: of the allowed values, the nearest to
                                      this (ties take the smaller) */
    const char *const *value_names;  /* NULL: values are numbers; else value v is called
                                        value_names[v] */
    unsigned needs;                /* KnobNeeds: the kernels that have it */
    const char *meaning;           /* one line, for --help */
} Knob;

const Knob *knob_of_kind(TunableKind kind);
/* The kind a tunable name belongs to (BLOCK_M: TUNE_BLOCK); false (out untouched) when
   none. */
bool knob_kind_of_name(const char *name, TunableKind *out);
/* Reads the value text[0..len) of the tunable `name`: one of its knob's value names, or a
   decimal integer (as strtoll reads it, all of the text). Returns 0, -1 when it is
   neither, -2 for an integer out of range. */
int knob_parse_value(const char *name, const char *text, size_t len, int64_t *out);
/* A value as text: its name, or the number. Returns buf. */
const char *knob_value_text(TunableKind kind, int64_t v, char *buf, size_t size);
/* A list of values as "V1, V2, ...", each as knob_value_text shows it. Returns buf. */
const char *knob_values_text(TunableKind kind, const int64_t *values, int nvalues, char *buf,
                             size_t size);
/* The same for a value of the tunable `name`. */
const char *tunable_value_text(const char *name, int64_t v, char *buf, size_t size);
/* `tunable NAME in {V, ...} default V`: how --emit=ast and --emit=ir show a tunable. */
void knob_print_tunable(FILE *out, const char *name, TunableKind kind, const int64_t *values,
                        int nvalues, int64_t default_value);
/* The table as `tilec --help` lists it. */
void knob_print_table(FILE *out);

enum { CONFIG_MAX_ENTRIES = 64, CONFIG_MAX_NAME = MAX_TUNABLE_NAME + 1 };

typedef struct ConfigEntry {
    char name[CONFIG_MAX_NAME];
    int64_t value;
} ConfigEntry;

typedef struct Config {
    int n;
    ConfigEntry entries[CONFIG_MAX_ENTRIES];
} Config;

/* Parses "BLOCK_M=64,BLOCK_N=32,num_warps=4" (spaces around tokens allowed, empty text is
   an empty Config). Returns 0, or -1 with a message in err. */
int config_parse(const char *text, Config *out, char *err, size_t errlen);

/* Whether the `len` bytes of `value` list several values (`64|128`): then writes "one value
   per KIND[ for WHERE] (NAME=VALUE lists two)" into err. KIND names the entry (tunable,
   const, full axis); WHERE (may be NULL) the command that takes one. Every --config reader
   refuses a list it cannot take with this one message. */
bool config_value_is_list(const char *kind, const char *where, const char *name,
                          const char *value, size_t len, char *err, size_t errlen);
/* Fills every tunable of k: the user's value (checked against the allowed set; block
   sizes must be powers of two >= 1) or the default. Unknown names are errors that list
   the kernel's names. user may be NULL. Returns 0, or -1 with a message in err. */
int config_resolve(const TirKernel *k, const Config *user, Config *out, char *err,
                   size_t errlen);
int64_t config_get(const Config *c, const char *name, int64_t fallback);
/* The value of a knob that is not per-loop under a Config: the Config's, or the knob's
   preferred value when the Config has none (a kernel without the tunable). */
int64_t config_knob(const Config *c, TunableKind kind);
int config_set(Config *c, const char *name, int64_t value);  /* -1 when full */
/* "BLOCK_M=64,BLOCK_N=32,...": knob values by name where they have names. config_format
   writes it into buf (cut at size) and returns buf. */
void config_print(FILE *out, const Config *c);
const char *config_format(const Config *c, char *buf, size_t size);
/* The block size of a loop variable under a resolved Config (pinned ones ignore it). */
int64_t tir_loopvar_block(const TirKernel *k, const TirLoopVar *lv, const Config *c);

/* ---- program.c: the program IR — a `program` as calls of kernels on values (its tensors:
   parameters and intermediates), each call's reads and writes explicit, ordered by its
   dependencies, with each intermediate's live range over that order. The front end
   (front.h's program_check) builds it; the interpreter's runner, --emit=buffers and the
   bundle writer read it; a fusion pass would rewrite its calls. docs/language.md,
   "Programs"; the workspace assignment over the live ranges is runtime/workspace.c's. */

/* Bounds that keep every later step (ordering, the workspace plan, the bundle) small;
   program_check reports a program past them. */
enum {
    TIR_PROGRAM_MAX_PARAMS = 64,     /* a bundle's parameter runs (TBN_MAX_PARAMS) */
    TIR_PROGRAM_MAX_SYMS = 64,
    TIR_PROGRAM_MAX_VALUES = 256,    /* tensors: parameters and intermediates */
    TIR_PROGRAM_MAX_CALLS = 1024,
};

typedef enum TirProgValueKind {
    TIR_PV_INPUT,            /* a tensor parameter before `->`: read only */
    TIR_PV_OUTPUT,           /* a tensor parameter after `->`: written by one call */
    TIR_PV_TEMP,             /* an intermediate: written by one call, lives in the workspace */
} TirProgValueKind;

typedef struct TirProgValue {
    const char *name;
    Loc loc;
    TirProgValueKind kind;
    DType dtype;
    int rank;
    TirDim dims[MAX_RANK];   /* sym: TirProgram.syms, or a literal size; row-major (temps) */
    int param;               /* INPUT/OUTPUT: index in TirProgram.params; TEMP: -1 */
    /* filled by tir_program_order */
    int writer;              /* the call writing it (execution order), -1 for an input */
    int first, last;         /* TEMP: the calls from its writer to its last reader */
} TirProgValue;

typedef enum TirProgArgKind {
    TIR_PARG_VALUE,          /* a tensor: TirProgram.values[index] */
    TIR_PARG_SCALAR,         /* the program's scalar parameter TirProgram.params[index] */
    TIR_PARG_LITERAL,        /* a literal: ivalue (integers, bool, consts) or fvalue (floats) */
} TirProgArgKind;

/* What a call passes for one parameter of its kernel. */
typedef struct TirProgArg {
    TirProgArgKind kind;
    const char *param;       /* the kernel parameter's name */
    DType dtype;             /* the kernel parameter's dtype */
    int index;
    int64_t ivalue;
    double fvalue;
    bool reads, writes;      /* VALUE: the kernel loads it; stores or combines into it */
    Loc loc;
} TirProgArg;

typedef struct TirProgCall {
    const char *kernel;
    Loc loc;
    int source_index;        /* its place among the calls as written */
    TirProgArg *args;        /* one per kernel parameter, in its signature's order */
    int nargs;
    TirDim *sym_sizes;       /* per kernel shape symbol: a program symbol or a literal */
    int nsyms;
} TirProgCall;

typedef struct TirProgParam {
    const char *name;
    ParamKind kind;          /* PARAM_TENSOR or PARAM_SCALAR */
    DType dtype;
    int value;               /* TENSOR: its TirProgram.values index; SCALAR: -1 */
} TirProgParam;

typedef struct TirProgram {
    const char *name;
    Loc loc;
    const char **syms;       /* shape symbols, bound at launch from the tensor parameters */
    int nsyms;
    TirProgParam *params;    /* inputs, then outputs */
    int nparams;
    int ninputs;
    TirProgValue *values;    /* the tensor parameters' values first (parameter order), then
                                the intermediates (declaration order) */
    int nvalues;
    TirProgCall *calls;      /* in execution order once tir_program_order ran */
    int ncalls;
} TirProgram;

/* Checks the dataflow (one writer per output and intermediate, none for inputs, no read
   of what nothing writes, no call reading what it writes), orders the calls (a writer
   before its readers; otherwise as written) and sets writers and live ranges. Reports at
   the calls' and arguments' locations; returns the number of errors. */
int tir_program_order(TirProgram *p, Diag *d);
/* The bytes of value v for the symbols' values, contiguous: false when it overflows. */
bool tir_program_value_bytes(const TirProgram *p, const TirProgValue *v, const int64_t *syms,
                             uint64_t *bytes);
/* "f32[B, H]" of a value. */
const char *tir_program_value_type(char *buf, size_t size, const TirProgram *p,
                                   const TirProgValue *v);
/* The calls in execution order (`call 0: matmul(x, w1, h)`) and the intermediates with
   their live ranges: the symbolic part of `--emit=buffers`. */
void tir_program_print(FILE *out, const TirProgram *p);

#endif
