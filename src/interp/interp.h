/* interp.h — launching a TIR kernel on host data: the arguments of a launch (LaunchArgs,
   shared with the GPU path to come), binding them from the command line's files and
   values (interp_launch.c), and the CPU interpreter that executes TIR block by block as
   the GPU does and checks every memory access against its mask (interp.c). docs/run.md. */
#ifndef TILEC_INTERP_H
#define TILEC_INTERP_H

#include "hostdata.h"
#include "tir.h"

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
       emits (tir_fused_multiply), ex2/lg2/rsqrt flushing subnormals, exp and log through
       them in f32. Off: IEEE f32, each op rounded once. */
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
