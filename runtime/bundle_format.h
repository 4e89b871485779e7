/* bundle_format.h — the .tbn kernel bundle: its byte layout (shared by the writer in
   src/cli/bundle_write.c and the reader here), the checked in-memory view the reader builds, and
   the grid-size program. Internal to libtile and tilec; applications see only tile.h.
   Plain C over libc: no CUDA, no compiler types, so `tilec inspect` and the fuzz harness
   use it as is. docs/runtime.md describes the format for people. */
#ifndef TILE_BUNDLE_FORMAT_H
#define TILE_BUNDLE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor_map.h"

/* ---- the layout: every integer little-endian, every record a fixed size.

   header (64 bytes)
     0  magic "TILEBNDL"            8  u32 version           12 u32 header size (64)
     16 u64 file size               24 u32 section count     28 u32 flags (0)
     32 u64 section table offset    40 u32 CRC-32 of bytes [64, file size)
     44 16 bytes of zero            60 u32 CRC-32 of bytes [0, 60)
   section table: section count entries of {u32 kind, u32 zero, u64 offset, u64 size}
   sections: each kind once, all required; a record section's size is a multiple of its
   record size, and its record count is that quotient.
   A string is a u32 offset into STRINGS, NUL-terminated there. A `first, count` pair
   names a run of records of another section (or of VALUES, the int64 pool). */

#define TBN_MAGIC "TILEBNDL"
enum {
    TBN_VERSION = 5,             /* written; the reader takes TBN_OLDEST_VERSION up to it */
    TBN_OLDEST_VERSION = 1,
    TBN_HEADER_SIZE = 64,
    TBN_SECTION_ENTRY_SIZE = 24,
};

typedef enum TbnSectionKind {
    TBN_SEC_STRINGS = 1,   /* bytes: NUL-terminated strings */
    TBN_SEC_KERNELS,       /* TBN_KERNEL_SIZE records */
    TBN_SEC_PARAMS,        /* TBN_PARAM_SIZE */
    TBN_SEC_SYMS,          /* TBN_SYM_SIZE */
    TBN_SEC_VARIANTS,      /* TBN_VARIANT_SIZE */
    TBN_SEC_CONFIGS,       /* TBN_CONFIG_SIZE: {name, value} of a variant's Config */
    TBN_SEC_GRID,          /* TBN_GRID_INSTR_SIZE: grid-size programs */
    TBN_SEC_DISPATCH,      /* TBN_DISPATCH_SIZE */
    TBN_SEC_VALUES,        /* 8-byte int64s */
    TBN_SEC_BLOBS,         /* bytes: PTX (NUL-terminated) and cubins */
    TBN_SEC_LAUNCH,        /* version 2: TBN_LAUNCH_SIZE records, one per variant */
    TBN_SEC_TMAPS,         /* version 2: TBN_TMAP_SIZE records */
    TBN_SEC_PROGRAMS,      /* version 4: TBN_PROGRAM_SIZE records */
    TBN_SEC_CALLS,         /* version 4: TBN_CALL_SIZE records */
    TBN_SEC_CALL_ARGS,     /* version 4: TBN_CALL_ARG_SIZE records */
    TBN_SEC_COUNT_PLUS_ONE
} TbnSectionKind;
enum { TBN_SECTION_KINDS = TBN_SEC_COUNT_PLUS_ONE - 1, TBN_V1_SECTION_KINDS = TBN_SEC_BLOBS,
       TBN_V2_SECTION_KINDS = TBN_SEC_TMAPS, TBN_V3_SECTION_KINDS = TBN_SEC_TMAPS };

/* kernel: name, first_param, nparams, first_sym, nsyms, first_variant, nvariants,
   first_dispatch, ndispatch (u32 each), 4 zero bytes, u64 signature hash, 16 zero bytes. */
enum { TBN_KERNEL_SIZE = 64 };
/* param: name (u32), kind, dtype, rank, reduce (u8 each), first_dim (VALUES: rank dims, a
   literal size >= 0 or -(symbol + 1)), first_const, nconst (VALUES: the declared values of
   an integer const; a bool has none and means {0, 1}), flags (u32, version 3:
   TBN_PARAM_WRITTEN on a tensor the kernel stores to, TBN_PARAM_READ on one whose contents
   it reads; zero bytes before version 3). */
enum { TBN_PARAM_SIZE = 24, TBN_PARAM_WRITTEN = 1, TBN_PARAM_READ = 2 };
/* sym: name (u32), flags (u32: TBN_SYM_FULL). */
enum { TBN_SYM_SIZE = 8, TBN_SYM_FULL = 1 };
/* variant: kernel, first_config, nconfig, first_const (VALUES: a value per const param in
   signature order), first_full (VALUES: a value per symbol, 0 unless full), first_block
   (VALUES: the block size per grid variable), ngrid (grid variables), first_instr,
   ninstr (GRID), sm, target (string), entry (string), num_threads, smem_bytes (u32 each),
   align (u8: 0 vec16, 1 unit, 2 any), 3 zero bytes, then u64 ptx offset, ptx size, cubin
   offset, cubin size (into BLOBS; cubin size 0: none). */
enum { TBN_VARIANT_SIZE = 96 };
/* launch (version 2; a version 1 variant has the defaults: none, 0, 0, ""): flags (u32:
   TBN_LAUNCH_PERSISTENT), first_tmap, ntmaps (TMAPS), path (string: how the variant's dots
   and copies run, for people). */
enum { TBN_LAUNCH_SIZE = 16, TBN_LAUNCH_PERSISTENT = 1 };
/* tensor map: param (u32, of the variant's kernel), rank, box[5] (innermost first; unused
   entries 0), swizzle bytes (u32). */
enum { TBN_TMAP_SIZE = 32, TBN_MAX_TMAPS = 8 };
/* program (version 4): name, first_param, nparams, ninputs (PARAMS: the inputs, then the
   outputs; tensors and scalars whose dims name the program's symbols), first_sym, nsyms
   (SYMS), first_temp, ntemps (PARAMS: a tensor record per intermediate, dims of the
   program's symbols), first_live (VALUES: the first and last call of each intermediate),
   first_call, ncalls (CALLS, in execution order) (u32 each), 4 zero bytes, u64 signature
   hash (tbn_signature of its parameters and symbols), 12 zero bytes. */
enum { TBN_PROGRAM_SIZE = 64 };
/* call: kernel, first_arg, nargs (CALL_ARGS: one per parameter of the kernel, in its
   order), first_size, nsizes (VALUES: one per symbol of the kernel, a literal size >= 0 or
   -(program symbol + 1)) (u32 each), 4 zero bytes. */
enum { TBN_CALL_SIZE = 24 };
/* call argument: kind (u8: TBN_ARG_*), 3 zero bytes, index (u32: a parameter or an
   intermediate of the program), i64 value (a literal: the integer, or the bits of the
   double for a float scalar). */
enum { TBN_CALL_ARG_SIZE = 16 };
enum { TBN_ARG_PARAM, TBN_ARG_TEMP, TBN_ARG_LITERAL, TBN_ARG_COUNT };

/* config entry: name (u32), 4 zero bytes, i64 value. */
enum { TBN_CONFIG_SIZE = 16 };
/* grid instruction: op, dtype, sub (u8 each), a zero byte, index (u32), i64 immediate. */
enum { TBN_GRID_INSTR_SIZE = 16 };
/* dispatch entry: kernel, variant (a bundle-wide variant index of that kernel), gpu
   (string: a device name as cuDeviceGetName gives it, or "*"), first_shape, nshape
   (VALUES: pairs of symbol index and value; none: the kernel's default), flags (0). */
enum { TBN_DISPATCH_SIZE = 24 };

/* Limits the reader enforces, so a hostile file cannot ask for unbounded work. */
enum {
    TBN_MAX_PARAMS = 64,         /* per kernel */
    TBN_MAX_SYMS = 16,           /* per kernel (codegen's VARIANT_MAX_SYMS) */
    TBN_MAX_RANK = 8,
    TBN_MAX_GRID_VARS = 8,
    TBN_MAX_GRID_INSTRS = 256,   /* per variant */
    TBN_MAX_GRID_STACK = 16,
    TBN_MAX_CONFIG = 64,
    TBN_MAX_SHAPE_KEY = 16,
    TBN_MAX_PROGRAM_SYMS = 64,   /* per program (tir.h's TIR_PROGRAM_MAX_SYMS) */
    TBN_MAX_PROGRAM_CALLS = 1024,
};

/* Parameter kinds, dtypes and reduce ops use the compiler's numbering (src/base/base.h's
   ParamKind, DType, ReduceOp), checked by static assertions in the writer. */
enum { TBN_PARAM_TENSOR = 0, TBN_PARAM_SCALAR = 1, TBN_PARAM_CONST = 2 };
enum { TBN_DT_F32, TBN_DT_F16, TBN_DT_BF16, TBN_DT_F8E4M3, TBN_DT_F8E5M2, TBN_DT_I32,
       TBN_DT_I64, TBN_DT_BOOL, TBN_DT_I8, TBN_DT_I16, TBN_DT_U8, TBN_DT_U32, TBN_DT_COUNT,
       TBN_DT_V4_COUNT = TBN_DT_I8 };   /* versions 1-4 know the dtypes before i8 */
enum { TBN_REDUCE_NONE, TBN_REDUCE_SUM, TBN_REDUCE_MAX, TBN_REDUCE_MIN, TBN_REDUCE_COUNT };
enum { TBN_ALIGN_VEC16, TBN_ALIGN_UNIT, TBN_ALIGN_ANY, TBN_ALIGN_COUNT };

/* Grid-size programs: a stack machine over the launch's symbols and scalars that leaves the
   extent of each grid variable; the launch has prod cdiv(extent, block) blocks. Integer
   ops wrap as the interpreter's do (x/0 = x%0 = 0); float ops round to the dtype. */
typedef enum TbnGridOp {
    TBN_G_INT,       /* push imm as an integer of `dtype` */
    TBN_G_FLOAT,     /* push the double whose bits are imm */
    TBN_G_SYM,       /* push symbol `index`'s value (i64) */
    TBN_G_SCALAR,    /* push scalar parameter `index` (converted from its dtype) */
    TBN_G_UNARY,     /* sub: TBN_UN_* */
    TBN_G_BINARY,    /* sub: TBN_BIN_* */
    TBN_G_CMP,       /* sub: TBN_CMP_*; pushes a bool */
    TBN_G_SELECT,    /* pops b, a, cond: cond ? a : b */
    TBN_G_CONVERT,   /* to `dtype` */
    TBN_G_EXTENT,    /* pops the extent of grid variable `index` */
    TBN_G_COUNT
} TbnGridOp;
enum { TBN_UN_NEG, TBN_UN_NOT, TBN_UN_ABS, TBN_UN_COUNT };
enum { TBN_BIN_ADD, TBN_BIN_SUB, TBN_BIN_MUL, TBN_BIN_DIV, TBN_BIN_MOD, TBN_BIN_MAX,
       TBN_BIN_MIN, TBN_BIN_AND, TBN_BIN_OR, TBN_BIN_CDIV, TBN_BIN_COUNT };
enum { TBN_CMP_LT, TBN_CMP_LE, TBN_CMP_GT, TBN_CMP_GE, TBN_CMP_EQ, TBN_CMP_NE, TBN_CMP_COUNT };

/* ---- shared helpers (bundle_format.c) */

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) continued from `crc` (0 to start). */
uint32_t tbn_crc32(uint32_t crc, const void *data, size_t size);
/* FNV-1a, 64-bit, continued from `hash` (TBN_FNV_START to start). */
#define TBN_FNV_START 0xcbf29ce484222325ull
uint64_t tbn_fnv1a(uint64_t hash, const void *data, size_t size);

const char *tbn_dtype_name(int dtype);        /* "bf16"; "?" out of range */
int tbn_dtype_size(int dtype);                /* bytes; 0 out of range */
const char *tbn_align_name(int align);        /* "vec16" "unit" "any" */
const char *tbn_reduce_name(int reduce);      /* "" "sum" "max" "min" */
const char *tbn_param_kind_name(int kind);    /* "tensor" "scalar" "const" */

/* ---- the checked view (bundle_read.c) */

typedef struct TbnParam {
    const char *name;
    uint8_t kind, dtype, rank, reduce;
    int64_t dims[TBN_MAX_RANK];    /* literal size >= 0, or -(symbol + 1) */
    const int64_t *const_values;   /* integer consts: the declared values */
    uint32_t nconst_values;
    int8_t written, read;          /* 1 or 0 (stored to, read); -1 unknown (version < 3) */
} TbnParam;

typedef struct TbnSym {
    const char *name;
    bool full;
} TbnSym;

typedef struct TbnGridInstr {
    uint8_t op, dtype, sub;
    uint32_t index;
    int64_t imm;
} TbnGridInstr;

typedef struct TbnConfigEntry {
    const char *name;
    int64_t value;
} TbnConfigEntry;

typedef struct TbnVariant {
    uint32_t kernel;
    const TbnConfigEntry *config;
    uint32_t nconfig;
    const int64_t *consts;         /* one per const param of the kernel, signature order */
    const int64_t *full_sizes;     /* one per symbol */
    const int64_t *grid_blocks;    /* one per grid variable */
    uint32_t ngrid;
    const TbnGridInstr *grid;
    uint32_t ngrid_instrs;
    uint32_t sm;
    const char *target, *entry;
    uint32_t num_threads, smem_bytes;
    uint8_t align;
    const char *ptx;               /* NUL-terminated */
    uint64_t ptx_size;             /* with the NUL */
    const uint8_t *cubin;          /* NULL when none */
    uint64_t cubin_size;
    bool persistent;               /* blocks loop over the grid: at most one per SM */
    const char *path;              /* "wgmma, TMA ring of 4, warp-specialised, persistent" */
    const TensorMapSpec *tmaps;    /* passed after the symbols, encoded per launch */
    uint32_t ntmaps;
} TbnVariant;

typedef struct TbnDispatch {
    uint32_t kernel, variant;
    const char *gpu;               /* "*" or a device name */
    const int64_t *shape;          /* nshape pairs (symbol, value) */
    uint32_t nshape;
} TbnDispatch;

typedef struct TbnKernel {
    const char *name;
    uint32_t first_param, nparams, first_sym, nsyms;
    uint32_t first_variant, nvariants, first_dispatch, ndispatch;
    uint64_t signature;
    uint32_t nconsts, ntensors, nscalars;   /* counted by the reader */
} TbnKernel;

/* One argument of a program's call: a parameter (tensor or scalar) of the program, one of
   its intermediates, or a literal (a scalar's or a const's value). */
typedef struct TbnCallArg {
    uint8_t kind;                  /* TBN_ARG_* */
    uint32_t index;
    int64_t value;                 /* LITERAL: the integer, or a float scalar's double bits */
} TbnCallArg;

typedef struct TbnCall {
    uint32_t kernel;
    const TbnCallArg *args;        /* one per kernel parameter */
    uint32_t nargs;
    const int64_t *sizes;          /* per kernel symbol: a literal >= 0 or -(program sym + 1) */
    uint32_t nsizes;
} TbnCall;

typedef struct TbnProgram {
    const char *name;
    uint32_t first_param, nparams, ninputs, first_sym, nsyms;
    uint32_t first_temp, ntemps;   /* PARAMS records of the intermediates */
    const int64_t *live;           /* per intermediate: its first and last call */
    uint32_t first_call, ncalls;
    uint64_t signature;
    uint32_t ntensors, nscalars;   /* counted by the reader */
} TbnProgram;

typedef struct TbnBundle {
    uint32_t version;
    const uint8_t *data;           /* the file's bytes (owned when `owned`) */
    size_t size;
    bool owned;
    uint32_t file_crc;
    TbnKernel *kernels;
    uint32_t nkernels;
    TbnParam *params;
    uint32_t nparams;
    TbnSym *syms;
    uint32_t nsyms;
    TbnVariant *variants;
    uint32_t nvariants;
    TbnConfigEntry *configs;
    uint32_t nconfigs;
    TbnGridInstr *grid;
    uint32_t ngrid;
    TbnDispatch *dispatch;
    uint32_t ndispatch;
    int64_t *values;
    uint32_t nvalues;
    TensorMapSpec *tmaps;
    uint32_t ntmaps;
    TbnProgram *programs;          /* version 4; none in older bundles */
    uint32_t nprograms;
    TbnCall *calls;
    uint32_t ncalls;
    TbnCallArg *call_args;
    uint32_t ncall_args;
} TbnBundle;

/* Checks and decodes a bundle. With `copy` the bytes are copied (else they must outlive the
   view). Returns 0, or -1 with a message naming what is wrong (and where) in err; never
   reads outside [data, data + size). *out needs tbn_free either way. */
int tbn_read(const void *data, size_t size, bool copy, TbnBundle *out, char *err, size_t errlen);
void tbn_free(TbnBundle *b);

/* Reads a bundle file's bytes (malloc'ed) for tbn_read. Only a regular file: a directory,
   FIFO or device is TBN_FILE_IO, never a hang. Returns 0, or TBN_FILE_IO or
   TBN_FILE_MEMORY with "cannot read 'PATH': why" in err. */
enum { TBN_FILE_IO = 1, TBN_FILE_MEMORY = 2 };
int tbn_read_file(const char *path, uint8_t **data, size_t *size, char *err, size_t errlen);

/* ---- over the checked view's records (bundle_format.c): the signature hash and the grid
   program's evaluator */

/* The signature hash of kernel k (names, kinds, dtypes, ranks, dims, reduce ops, symbols):
   what a typed launcher header is generated for. Used by the writer and checked by the
   reader. `params` and `syms` are the kernel's own runs. */
uint64_t tbn_signature(const char *name, const TbnParam *params, uint32_t nparams,
                       const TbnSym *syms, uint32_t nsyms);

/* A scalar argument as the grid program reads it: `i` for integer and bool dtypes, `f` for
   float ones. */
typedef struct TbnScalar {
    int64_t i;
    double f;
} TbnScalar;

/* Runs a variant's grid program: `symbols` per kernel symbol, `scalars` per kernel
   parameter (only scalar ones read). Writes the number of blocks to *blocks (0 when an
   extent is <= 0). Returns 0, or -1 when the count does not fit a launch (more than
   2^31 - 1 blocks). A program the reader accepted cannot fail otherwise. */
int tbn_grid_blocks(const TbnVariant *v, const int64_t *symbols, const TbnScalar *scalars,
                    int64_t *blocks);

/* ---- a program's workspace (workspace.c): where its intermediates live, once their sizes
   are known. One algorithm for libtile, tilec's interpreter and `--emit=buffers`. */

enum {
    TBN_WORKSPACE_ALIGN = 256,     /* every allocation's offset and size */
    TBN_MAX_PROGRAM_TEMPS = 256,   /* intermediates of one program */
};

typedef struct TbnWorkspaceValue {
    uint64_t bytes;
    uint32_t first, last;          /* its live range: the calls from its writer to its last
                                      reader, in execution order */
} TbnWorkspaceValue;

/* Each value at a byte offset of the workspace (a multiple of 256); two values live at one
   call never share a byte. For people, the values whose bytes overlap form allocations:
   disjoint byte ranges, in offset order. */
typedef struct TbnWorkspacePlan {
    uint64_t offset[TBN_MAX_PROGRAM_TEMPS];        /* per value */
    uint64_t total;                                /* the workspace's bytes */
    uint32_t nallocs;
    uint32_t alloc_of[TBN_MAX_PROGRAM_TEMPS];      /* per value */
    uint64_t alloc_offset[TBN_MAX_PROGRAM_TEMPS];
    uint64_t alloc_bytes[TBN_MAX_PROGRAM_TEMPS];
} TbnWorkspacePlan;

/* Greedy by size: values largest first (equal sizes in their order), each at the lowest
   offset where its size (rounded up to 256) fits between the values already placed that
   are live with it. Returns 0, or -1 for more than TBN_MAX_PROGRAM_TEMPS values, a
   reversed live range or a size that overflows. */
int tbn_workspace_plan(const TbnWorkspaceValue *values, uint32_t n, TbnWorkspacePlan *out);

#endif
