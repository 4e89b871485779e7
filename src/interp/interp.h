/* interp.h — running a TIR kernel on host data, sectioned by owning file: host tensors in
   each dtype's own bit format (hostdata.c) and .npy files (npy.c), the arguments of a launch
   (LaunchArgs, shared with the GPU runner) bound from the command line's files and values
   (interp_launch.c), and the CPU interpreter that executes TIR block by block as the GPU
   does and checks every memory access against its mask (interp.c). docs/run.md,
   docs/numerics.md. */
#ifndef TILEC_INTERP_H
#define TILEC_INTERP_H

#include "base.h"
#include "tir.h"

/* ---- hostdata.c: host tensors */

#define HOST_MAX_RANK 8

/* Elements are stored in the dtype's own bit format: f32 as float, f16/bf16 as
   uint16_t bits, fp8 as uint8_t bits, i32 int32_t, i64 int64_t, bool uint8_t 0/1.
   Strides are in elements and may describe any non-negative layout (C order,
   Fortran order, a transpose, ...). */
typedef struct HostTensor {
    DType dtype;
    int rank;
    int64_t shape[HOST_MAX_RANK];
    int64_t strides[HOST_MAX_RANK];
    void *data;
    size_t nbytes;
} HostTensor;

/* Element count and byte size of a shape; false if rank > 8, a dimension is negative,
   or the product (of the nonzero dimensions, so strides stay representable) times
   itemsize overflows int64_t or size_t. */
bool host_shape_size(int rank, const int64_t *shape, int itemsize, int64_t *count,
                     size_t *nbytes);

/* Allocate a zeroed C-order tensor. Returns 0, or -1 (t zeroed) on a bad shape or when
   out of memory. data is never NULL on success, even with zero elements. */
int host_alloc(HostTensor *t, DType dtype, int rank, const int64_t *shape);

/* Free the data and zero the struct; safe on a zeroed or already freed tensor. */
void host_free(HostTensor *t);

int64_t host_numel(const HostTensor *t);

/* Storage offset (in elements) of an index vector of length t->rank. */
int64_t host_offset(const HostTensor *t, const int64_t *index);

/* Advance index through shape in C (row-major) order; false once it wraps past the
   last element. Start from all zeros (and check numel > 0 first). */
bool host_next_index(int rank, const int64_t *shape, int64_t *index);

/* Element access by storage offset. get returns the exact value (an i64 beyond 2^53
   is rounded to double); set converts through the encoders above. */
double host_get_at(const HostTensor *t, int64_t offset);
void host_set_at(HostTensor *t, int64_t offset, double x);

/* Element access by index vector. */
double host_get(const HostTensor *t, const int64_t *index);
void host_set(HostTensor *t, const int64_t *index, double x);

/* Raw storage bits at an offset, zero-extended (ints as two's complement): no
   conversion, so NaN payloads and the full i64 range survive. */
uint64_t host_get_raw_at(const HostTensor *t, int64_t offset);
void host_set_raw_at(HostTensor *t, int64_t offset, uint64_t bits);

/* Fill every element, visited in C index order so the values do not depend on the
   layout, from splitmix64 streams (one per chunk of 2^20 elements, filled on up to 16
   threads): floats uniform in [-1, 1) after rounding to the dtype, ints in [-8, 8) (in
   [0, int_below) when int_below > 0), bool 0/1. Same seed, same data, whatever the number
   of threads. */
void host_fill_random(HostTensor *t, uint64_t seed, int64_t int_below);

/* ---- npy.c: .npy files */

/* Read a .npy file (versions 1.0, 2.0, 3.0) into a new tensor of dtype target.
   Fortran-order files keep their layout (Fortran strides). Returns 0, or -1 with a
   message naming the path in err (out is left zeroed). Rules in docs/numerics.md. */
int npy_load(const char *path, DType target, HostTensor *out, char *err, size_t errlen);

/* Write a tensor as .npy 1.0 in C order: float dtypes as '<f4' (exact), i32 '<i4',
   i64 '<i8', bool '|b1'. Any strided layout is accepted. Returns 0 or -1 with err. */
int npy_save(const char *path, const HostTensor *t, char *err, size_t errlen);

/* ---- interp_launch.c: the arguments of one launch */

/* One argument, by TirKernel.params index. */
typedef struct LaunchArg {
    HostTensor tensor;   /* PARAM_TENSOR: the bound view (its own strides) */
    double fvalue;       /* PARAM_SCALAR of a float dtype */
    int64_t ivalue;      /* PARAM_SCALAR/PARAM_CONST of an integer or bool dtype */
    bool given;          /* the user passed it (--in / --set) rather than a default */
    bool is_output;      /* the kernel stores to it or combines into it */
} LaunchArg;

typedef struct LaunchArgs {
    int nargs;           /* TirKernel.nparams */
    LaunchArg *args;
    int nsyms;           /* TirKernel.nsyms */
    int64_t *sym_values; /* every shape symbol's value */
} LaunchArgs;

/* What the command line asked for, by name. Filled by `tilec run` (and later bench). */
typedef struct LaunchNamed {
    const char *name;
    const char *text;    /* --in/--out: the path; --set: the value text */
} LaunchNamed;

typedef struct LaunchShape {
    const char *name;
    int64_t value;
} LaunchShape;

typedef struct LaunchSpec {
    LaunchNamed *inputs;  int ninputs;     /* --in PARAM=FILE.npy */
    LaunchNamed *sets;    int nsets;       /* --set NAME=VALUE (scalars and consts) */
    LaunchShape *shapes;  int nshapes;     /* --shape SYM=N */
    LaunchNamed *outputs; int noutputs;    /* --out PARAM=FILE.npy (only names checked here) */
    uint64_t seed;                         /* random fill of inputs not given */
    int64_t max_bytes;                     /* most bytes of tensors bound (0: no limit) */
} LaunchSpec;

/* The status of a binding step: which exit status the command should give. */
typedef enum LaunchStatus {
    LAUNCH_OK = 0,
    LAUNCH_BAD_DATA = 1,   /* a file, a shape: EXIT_INPUT */
    LAUNCH_BAD_USAGE = 2,  /* a name, a missing value, a bad number: EXIT_USAGE */
} LaunchStatus;

/* Formats the message into err and returns status: how a binding step fails. */
LaunchStatus launch_error(LaunchStatus status, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parses `text` (the value of --set NAME) as a value of dtype into fvalue (floats, rounded
   to the dtype) or ivalue (integers, bool). */
LaunchStatus launch_parse_value(const char *name, DType dtype, const char *text, double *fvalue,
                                int64_t *ivalue, char *err, size_t errlen);

/* Fills a reduction target with its op's identity (sum 0, max -inf, min +inf; the integer
   extremes for i32 and i64). */
void launch_fill_identity(HostTensor *t, ReduceOp op);

/* True when the kernel stores to params[param] or combines into it atomically. */
bool tir_param_is_written(const TirKernel *k, int param);

/* Binds a launch: reads the --in files (converted to each parameter's dtype), binds
   the shape symbols from their shapes and --shape (a disagreement names both sides),
   fills the inputs not given with random values from spec->seed, zeroes the outputs and
   sets reduction targets to their identity, parses the scalars. A tensor that would take
   the bytes bound past spec->max_bytes is refused before it is allocated. On failure out
   is freed. */
LaunchStatus launch_bind(const TirKernel *k, const LaunchSpec *spec, LaunchArgs *out,
                         char *err, size_t errlen);
void launch_free(LaunchArgs *a);
/* A TirLeafFn (tir.h) over a bound launch, ctx its LaunchArgs: the values of `dim` and
   `param` ops, with which the interpreter and the GPU runner evaluate extents and the
   grid (`begin` and `end` are the caller's to give). */
bool launch_leaf_value(void *args, const TirOp *op, int64_t *ivalue, double *fvalue);
/* Frees the lists of a spec built from the command line (the strings are argv's). */
void launch_spec_free(LaunchSpec *s);

/* ---- interp.c: the CPU interpreter */

/* What one interpreted run may take (docs/run.md; `tilec run --max-programs/--max-bytes`):
   programs of the grid (and blocks of any one sequential loop), and bytes of the launch's
   tensors plus the interpreter's tiles. */
typedef struct InterpLimits {
    int64_t max_programs;
    int64_t max_bytes;
} InterpLimits;

#define INTERP_MAX_PROGRAMS (INT64_C(1) << 24)
#define INTERP_MAX_BYTES (INT64_C(4) << 30)

typedef struct InterpOptions {
    /* Follow the GPU's arithmetic (`tilec run --arith=gpu`, docs/run.md): the fmas codegen
       emits (tir_fused_multiply), ex2 flushing subnormals (lg2 and rsqrt keep them), exp
       and log through them in f32. Off: IEEE f32, each op rounded once. */
    bool gpu_arith;
    /* When not NULL, one entry per parameter: true when what the run wrote into that
       tensor depends on a value the GPU computes in another order (a float sum, a dot, a
       float atomic_add) or approximately (ex2, lg2, rsqrt); false means bit-exact with
       the GPU under gpu_arith. */
    bool *inexact;
} InterpOptions;

/* Runs the kernel under a resolved Config on the bound arguments, writing the outputs
   in place. Errors (a memory access outside a tensor in a lane no mask covered, a loop
   extent or an index whose i64 arithmetic overflowed, a limit exceeded, a malformed
   kernel) are reported through d at the op's source location. limits NULL: the defaults;
   opts NULL: IEEE arithmetic. Returns the number of errors (0 on success). */
int interp_run(const TirKernel *k, const Config *config, LaunchArgs *args,
               const InterpLimits *limits, const InterpOptions *opts, Diag *d);

#endif
