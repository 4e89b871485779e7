/* base.h — what every part of tilec shares, sectioned by owning file: memory (arena.c),
   diagnostics (diag.c), the files tilec reads and writes (files.c), the element types
   (dtype.c) and their exact conversions (convert.c), hashing (hash.c), and the few kinds
   both the AST (src/front/front.h) and the IR (src/ir/tir.h) carry. It includes nothing of
   the project: every arrow ends here. */
#ifndef TILEC_BASE_H
#define TILEC_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TILEC_VERSION "0.1.0"
#define MAX_RANK 8          /* most axes a tensor or tile may have */
#define MAX_LOOP_VARS 8     /* most variables one `for ... in tile(...)` may bind */
#define MAX_TUNABLE_NAME 63 /* longest tunable name (BLOCK_<V>): a --config key */

/* ---- arena.c: compiler memory. A compile allocates into one arena and frees it at once. */

typedef struct ArenaChunk ArenaChunk;
typedef struct Arena {
    ArenaChunk *head;
} Arena;

void *arena_alloc(Arena *a, size_t size);     /* zeroed, 16-byte aligned; aborts only on OOM */
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(Arena *a);

/* A growable array of pointers whose storage lives in an arena. */
typedef struct PtrVec {
    void **items;
    int len, cap;
} PtrVec;
void ptrvec_push(Arena *a, PtrVec *v, void *item);

/* ---- diag.c: source files and GCC-style diagnostics (file:line:col, source line, caret). */

typedef struct SourceFile {
    const char *path;        /* as the user or the include named it */
    const char *text;        /* whole file, NUL-terminated copy (embedded NULs are lexer errors) */
    size_t len;              /* real length, may include NUL bytes */
    struct SourceFile *next;
} SourceFile;

typedef struct Loc {
    const SourceFile *file;  /* NULL for locations with no source (command line) */
    int line, col;           /* 1-based; col counts bytes */
} Loc;

typedef struct Diag {
    FILE *out;               /* where messages go (stderr; NULL: only counted) */
    int errors;
    int max_errors;          /* stop reporting after this many (0 = 50) */
    bool suppressed;         /* set once max_errors is reached */
} Diag;

void diag_error(Diag *d, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_note(Diag *d, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(Diag *d, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_verror(Diag *d, Loc loc, const char *kind, const char *fmt, va_list ap);

/* ---- files.c: the files tilec reads and writes. An input opens only if it is a regular
   file. An output never overwrites an input; a regular file is replaced whole (a temp file
   beside it, renamed over it once written: a failed or killed write keeps the old file, and
   the next writer removes a dead one's temp file); a symlink keeps its link and its target
   is replaced; anything else (a FIFO, /dev/stdout, a terminal) is written in place.
   docs/run.md describes it for users. */

/* Opens `path` for reading when it is a regular file (after symlinks); NULL with the reason
   in `why` ("Is a directory", "not a regular file (...)": never a wait on a FIFO). */
FILE *infile_open(const char *path, char *why, size_t whylen);

/* -1 with the reason in err when `output` names the same file (device and inode) as one of
   `inputs` (NULL entries are skipped); 0 when it does not, is not there yet, or is "-". */
int outfile_refuse_input(const char *output, const char *const *inputs, int ninputs,
                         char *err, size_t errlen);

/* Do two output paths land on the same file (after symlinks and "..", whether it is there
   yet or not)? */
bool outfile_same_destination(const char *a, const char *b);

typedef struct OutFile {
    FILE *f;                  /* write here */
    bool durable;             /* fsync before the rename (set it before outfile_commit) */
    char *path;               /* as given; NULL: standard output */
    char *target;             /* the file a finished write replaces; NULL: written in place */
    char *temp;               /* the temp file beside target */
    int fd;
    int write_errno;          /* the first write error, reported by outfile_commit */
} OutFile;

/* Opens an output: `path`, or standard output for NULL or "-". NULL with "cannot write
   'PATH': why" in err. */
OutFile *outfile_open(const char *path, char *err, size_t errlen);
/* Finishes it: checks every write, closes, renames the temp file over the destination.
   -1 with "cannot write 'PATH': why" in err (the destination is then as it was). Frees o. */
int outfile_commit(OutFile *o, char *err, size_t errlen);
/* Drops it: a file stays as it was (standard output keeps what was written). Frees o;
   NULL is allowed. */
void outfile_discard(OutFile *o);

/* ---- dtype.c: the element types of the language: names, sizes and classes. */

typedef enum DType {
    DT_F32,     /* IEEE binary32 */
    DT_F16,     /* IEEE binary16 */
    DT_BF16,    /* bfloat16: binary32 with the low 16 mantissa bits dropped */
    DT_F8E4M3,  /* OCP FP8 E4M3 ("fn"): no infinities, max 448, NaN = S.1111.111 */
    DT_F8E5M2,  /* OCP FP8 E5M2: IEEE-like, max 57344, has inf and NaN */
    DT_I32,
    DT_I64,
    DT_BOOL,
    DT_I8,      /* appended after bool: a bundle stores a dtype as this enum's value */
    DT_I16,
    DT_U8,
    DT_U32,
    DT_COUNT
} DType;

const char *dtype_name(DType t);          /* "bf16" */
bool dtype_from_name(const char *name, DType *out);
int dtype_size(DType t);                  /* bytes per element */
bool dtype_is_float(DType t);             /* f32 f16 bf16 and both fp8 */
bool dtype_is_fp8(DType t);
bool dtype_is_int(DType t);               /* i8 i16 i32 i64 u8 u32 (not bool) */
bool dtype_is_unsigned(DType t);          /* u8 u32 */
int dtype_int_bits(DType t);              /* width of an integer dtype, 1 for bool */
bool dtype_int_fits(DType t, int64_t v);  /* v is in integer dtype t's range */

/* ---- convert.c: exact conversions between doubles and each dtype's storage format
   (docs/numerics.md). */

/* Round x to the float dtype t with round-to-nearest-even and return its bit pattern
   (f32 in 32 bits, f16/bf16 in the low 16, fp8 in the low 8). One routine serves f32
   and f64 inputs because every f32 is exactly a double.
   f32/f16/bf16: IEEE overflow to +-inf, NaN -> canonical quiet NaN with the input's sign.
   fp8 (both): saturating like PTX cvt.rn.satfinite: +-inf and finite overflow -> +-max,
   NaN -> 0x7F. Returns 0 when t is not a float dtype. */
uint32_t dtype_encode_f64(DType t, double x);

/* The exact value of a float dtype's bit pattern (every such value is a double).
   Returns NaN when t is not a float dtype. */
double dtype_decode(DType t, uint32_t bits);

/* x as it reads back after being stored in t (encode then decode). For i32/i64 this is
   convert_f64_to_i32/i64 and for bool 0 or 1; the int result is then rounded to float. */
float round_f32_to(DType t, float x);

/* Float to integer: truncate toward zero, NaN -> 0, out of range saturates to the
   type's min or max (like PTX cvt.rzi.s32.f32 and friends). */
int32_t convert_f64_to_i32(double x);
int64_t convert_f64_to_i64(double x);
/* x truncated toward zero and saturated to integer dtype t's range, NaN -> 0 (PTX's cvt.rzi
   and llvm.fpto[su]i.sat); the i32 and i64 cases are the two functions above. */
int64_t convert_f64_to_int(DType t, double x);

/* Float to bool: any nonzero value, NaN included, is true (C and numpy agree). */
bool convert_f64_to_bool(double x);

/* ---- hash.c: FNV-1a, 64-bit, continued from `hash` (FNV1A_START to begin). */

#define FNV1A_START 0xcbf29ce484222325ull
uint64_t fnv1a(uint64_t hash, const void *data, size_t size);

/* ---- the kinds the AST and the IR share (types only). */

/* One axis of a tile or tensor type. The ids index the kernel's own tables: the AST's
   (LoopVar.id, ShapeSym.id) in a checked Type, TIR's (TirKernel.loopvars, .syms) in a
   TirType. */
typedef enum AxisKind {
    AXIS_BLOCK,   /* one block of a tile loop variable: size BLOCK_<VAR>, id = LoopVar.id */
    AXIS_FULL,    /* a whole tensor dim (`:` or a shape symbol in a shape list), id = ShapeSym.id */
    AXIS_ONE,     /* size 1, from `None` or a reduction with keepdims; broadcasts */
    AXIS_CONST,   /* a tensor dim declared as a literal size, id = the size; only in
                     TYPE_TENSOR types (a tile never has one: `:` over it is an error) */
} AxisKind;

typedef struct Axis {
    AxisKind kind;
    int id;
} Axis;

typedef enum ParamKind {
    PARAM_TENSOR,   /* a: bf16[M, K] — a strided view in global memory */
    PARAM_SCALAR,   /* scale: f32 — a run-time value */
    PARAM_CONST,    /* causal: const bool — compiled per value */
} ParamKind;

typedef enum ReduceOp { REDUCE_NONE, REDUCE_SUM, REDUCE_MAX, REDUCE_MIN } ReduceOp;

/* The kinds of tuning knob; what each means, its values and default are the knob table's
   (src/ir/config.c, tir.h's Knob). */
typedef enum TunableKind {
    TUNE_BLOCK,     /* BLOCK_<V>: the block size of one tile loop variable */
    TUNE_WARPS,     /* num_warps */
    TUNE_STAGES,    /* num_stages */
    TUNE_GROUP_M,   /* group_m */
    TUNE_DOT,       /* dot: the instruction of `@` (auto, wgmma, mma_sync) */
    TUNE_TILE_GROUPS,   /* tile_groups: 1, or 2 ping-pong groups of one warpgroup */
    TUNE_WS,        /* ws: warp specialisation (a producer warpgroup) where possible */
    TUNE_PERSISTENT,    /* persistent: one block per SM looping over tiles */
    TUNE_KIND_COUNT
} TunableKind;

#endif
