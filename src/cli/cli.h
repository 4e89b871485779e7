/* cli.h — the `tilec` command and what its commands share, sectioned by owning file:
   the pipeline (pipeline.c), the shared pieces (driver.c, launch_cli.c), the bundle writer
   (bundle_write.c), the GPU runner (gpu_run.c), the tuner's GPU backend (tune_gpu.c), then
   the commands (main.c's dispatch over build.c, run.c, bench.c, tune.c, inspect.c). Arrows
   point down: a command calls the pipeline and the shared pieces, never another command. */
#ifndef TILEC_CLI_H
#define TILEC_CLI_H

#include <getopt.h>

#include "autotune.h"
#include "codegen.h"
#include "front.h"
#include "interp.h"
#include "tile_internal.h"

enum {
    EXIT_OK = 0,
    EXIT_INPUT = 1,      /* diagnostics in the user's input (source, data files, shapes) */
    EXIT_USAGE = 2,      /* bad command line */
};

/* ---- pipeline.c: source -> checked AST -> TIR -> passes -> resolved Config, in this order
   for every command */

/* parse_program + sema_check for one root file; returns the number of errors. */
int front_end(Arena *arena, Diag *diag, const char *path, const Target *target, Program **out);

/* The rest of the pipeline for one checked kernel: lowers it for `const_values` (by
   Param.index, as tir_lower takes them), runs the passes (`passes` may be NULL: all) and
   resolves `user`'s tunables against the kernel's (NULL: the defaults) into *out_config.
   Returns EXIT_OK with *out_tir, EXIT_INPUT after diagnostics, or EXIT_USAGE after
   `tilec: error: --config for kernel K: ...` when the tunables do not fit the kernel. */
int pipeline_kernel(Arena *arena, Diag *diag, const Kernel *k, const int64_t *const_values,
                    const Config *user, const TirPipelineOptions *passes, TirKernel **out_tir,
                    Config *out_config);

/* ---- driver.c: pieces several commands share (run, bench, tune, build, the bundle writer) */

/* The kernel named `name`, or the file's only one when name is NULL; prints why not
   (listing the kernels) and returns NULL. */
const Kernel *choose_kernel(const Program *p, const char *name);

/* Parses the value of a const parameter given on the command line (`causal=true`,
   `split=2`): bool takes true/false/1/0, integers must be in the declared set. Prints
   the error itself and returns -1 on a bad value. */
int parse_const_value(const Param *param, const char *text, int64_t *out);

/* One NAME=VALUE entry of --config text, name and value trimmed of spaces: returns 1 when
   it takes the entry, 0 to leave it in the rest, -1 after printing an error. */
typedef int (*ConfigEntryFn)(void *ctx, const char *name, const char *value);

/* Walks the comma-separated entries of --config text (NULL: none), offering each NAME=VALUE
   to `take`, and copies the entries it leaves (and any without '=') into `rest`, comma
   separated, for config_parse. Returns 0, or -1 after printing a message. */
int config_split(const char *text, ConfigEntryFn take, void *ctx, char *rest, size_t restlen);

/* --seed N (run, bench, tune): a decimal or 0x integer from 0 to 2^64 - 1. Returns 0, or
   -1 after printing why. */
int parse_seed(const char *text, uint64_t *out);

/* EXIT_USAGE after printing why when `output` names the same file as one of the program's
   source files or of the `nextra` other inputs (a table, data files; NULL entries are
   skipped); EXIT_OK otherwise. */
int refuse_output_onto_input(const char *output, const Program *p, const char *const *extra,
                             int nextra);

/* Whether option `val` (a getopt_long val, below OPTION_VALS) is one of the single-valued
   options `single` (0-terminated) given a second time: records it in `seen` and then
   prints "tilec: error: --NAME given twice" (a later one would silently win). */
enum { OPTION_VALS = 512 };
bool option_repeated(const struct option *longopts, const int *single, int val, bool *seen);

/* A limit given on the command line (--max-variants, --max-programs, --max-bytes): a
   positive integer, optionally followed by K, M or G (times 2^10, 2^20, 2^30). False when
   it is not one (or overflows int64). */
bool parse_limit(const char *text, int64_t *out);

/* The tuner's source hash of a program: FNV-1a over every file it read (its length and
   text, not its path), the root first. `tilec tune` keys cache entries by it; `tilec build --tuned` matches them. */
uint64_t program_source_hash(const Program *p);

/* Calls fn with each line of a shapes file (docs/tuning.md, "Shapes files": tune reads its
   kernels' lines, build --emit=buffers its programs'), the `#` comment cut off, numbered from
   1; a status other than EXIT_OK stops the reading and is returned. Prints why a file
   cannot be read (EXIT_INPUT). */
typedef int (*ShapesLineFn)(void *ctx, char *line, int number);
int shapes_file_each_line(const char *path, ShapesLineFn fn, void *ctx);

/* `tilec: error: ` and the message formatted with a and b, then `usage`: EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, const char *a, const char *b);
/* `tilec: error: MSG`; returns status. */
int cli_error(int status, const char *msg);

/* ---- launch_cli.c: the command-line side of a launch that run, bench and tune share */

/* Per-element tolerance of an output dtype against a reference (docs/run.md), used by
   `tilec run --check` and the tuner's output check alike:
   |got - ref| <= rel * |ref| + floor * max|ref| (the floor covers values that cancel to
   near zero, whose rounding differs with the order of f32 sums); fp8 outputs may differ
   by `fp8_steps` codes, integers and bools not at all (every field 0). */
typedef struct OutputTolerance {
    double rel, floor;
    int fp8_steps;
    const char *text;
} OutputTolerance;

/* fp8_dots: the kernel has a dot of fp8 operands (tir_has_fp8_dot) */
OutputTolerance output_tolerance(DType t, bool fp8_dots);
/* An fp8 code's place in value order: sign-magnitude to a signed integer. */
int fp8_code_order(uint64_t bits);

/* Adds one NAME=TEXT of a repeatable flag (--in, --out, --set); a name given twice is an
   error. Prints its own message (and `usage`); returns an exit status. */
int launch_cli_add_named(LaunchNamed **list, int *n, const char *flag, char *arg,
                         const char *expected, const char *usage);
/* Adds the SYM=N,... of one --shape. */
int launch_cli_add_shapes(LaunchSpec *spec, char *arg, const char *usage);
/* --target NAME: the target, or EXIT_USAGE after printing the known names and `usage`. */
int launch_cli_target(const char *arg, const Target **out, const char *usage);
/* Checks the spec against the kernel, lowers it for the --set consts, runs the passes and
   resolves `config_text`. Prints its errors; returns an exit status. */
int run_prepare_kernel(Arena *arena, Diag *diag, const Program *prog, const char *kernel_name,
                       const LaunchSpec *spec, const char *config_text, bool no_mask_inference,
                       TirKernel **out_tir, Config *out_config);
/* Refuses (EXIT_USAGE, after printing why) an --out path, or `other_output` (bench's
   --json; may be NULL), that names one of the command's inputs (a source file, an --in
   file or the --ptx file) or the same file as another of these outputs. */
int launch_cli_refuse_outputs(const LaunchSpec *spec, const Program *prog, const char *ptx_path,
                              const char *other_output);
/* A whole file as NUL-terminated text in the arena; NULL with a message in err. */
char *run_read_text_file(Arena *arena, const char *path, char *err, size_t errlen);

/* ---- bundle_write.c: a checked Program to a .tbn bundle (runtime/bundle_format.h) and its
   typed launcher header */

/* codegen_compile's shape: the writer calls it once per variant. Tests pass a fake. */
typedef int (*BundleCompileFn)(Arena *a, const struct TirKernel *k, const Variant *v,
                               const Target *t, bool want_llvm, CompiledKernel *out, char *err,
                               size_t errlen);

/* variant_fit.c: the align-any variant of a kernel with dots stages its operands through
   registers (rows that are not 16-byte aligned take neither TMA nor cp.async), which the
   default tiles, sized for a TMA ring, leave no room for: gemm's 256x128x64 spilled 1.4 KB
   there. When `report` (ptxas on v's PTX) shows spills, the configs down a ladder (a
   sequential loop's block halved while over 32, then the largest grid block; at most 6
   steps) are compiled with `compile` and assembled with `ptxas` (NULL: from PATH), and the
   first that spills nothing replaces v->config, *compiled, *report and, when cubin is not
   NULL, *cubin (malloc'ed) and *cubin_size. Returns whether it did; a variant whose every
   rung spills keeps its config. The bundle writer's variants and `tilec run` / `bench` on
   unaligned tensors without --config go through it, so both run the same code. */
bool variant_fit_align_any(Arena *a, BundleCompileFn compile, const struct TirKernel *tk, Variant *v,
                           const Target *target, const char *ptxas, CompiledKernel *compiled,
                           PtxasReport *report, uint8_t **cubin, size_t *cubin_size);

/* A tuned config to add to the dispatch table (`tilec build --tuned`, `--tuned-from`): a tune
   cache entry already matched to this program's source hash. The writer adds a variant
   compiled with `config` (or reuses an identical one) and a dispatch entry keyed by `gpu`
   and `shape` for the lowering whose const values print as `consts`. */
typedef struct BundleTuned {
    const char *kernel;
    const char *gpu;           /* a device name as cuDeviceGetName gives it */
    const char *consts;        /* bundle_const_key's text: "causal=true" ("" when none) */
    const char *align;         /* "vec16", "unit", "any" */
    const char *shape;         /* "M=4096,K=4096,N=4096": every symbol of the kernel */
    const char *config;        /* "BLOCK_M=128,...,num_warps=8" */
} BundleTuned;

/* A target a bundle is built for and the program checked for it (the defaults of the
   tunables depend on the target, and a kernel a target cannot run is unchecked there). */
typedef struct BundleTarget {
    const Target *target;
    const Program *program;
} BundleTarget;

typedef struct BundleOptions {
    const char *path;          /* the .tbn to write */
    const char *header_path;   /* the launcher header; NULL: `path` with .h for .tbn */
    const char *name;          /* launcher prefix; NULL: the file name's stem as an identifier */
    const char *kernel;        /* only this kernel (NULL: all), and no program */
    const char *program;       /* only this program and the kernels it calls (NULL: all) */
    const char *config;        /* --config: tunables, const values, full-axis sizes (D=64|128) */
    const BundleTarget *targets; /* one variant set per target; the first's program names
                                    the kernels and takes the tuned entries */
    int ntargets;
    BundleCompileFn compile;   /* NULL: codegen_compile */
    const char *ptxas;         /* NULL: "ptxas" from PATH when there; "": no cubins */
    const BundleTuned *tuned;  /* tuned dispatch entries (any kernel; others are skipped) */
    int ntuned;
    int64_t max_variants;      /* most variants one kernel may need; 0: BUNDLE_MAX_VARIANTS */
    void **memory;             /* not NULL: the bundle's bytes here (malloc'ed, *memory_size
                                  of them), no file and no header */
    size_t *memory_size;
} BundleOptions;

/* The default limit on a kernel's variants (const combinations x full-axis sizes x align
   classes): each is a compile, so 24 const bools would take days. --max-variants. */
#define BUNDLE_MAX_VARIANTS 256

/* The const values of one lowering as the tuner keys them: "causal=true,split=2" in
   parameter order, bools as true/false ("" when the kernel has no const parameter). */
void bundle_const_key(const Kernel *k, const int64_t *const_values, char *buf, size_t size);

/* Lowers every kernel for each target and const value, compiles each variant (config,
   full-axis sizes, align classes vec16 and any), records each program (its calls, in
   execution order, name the kernels' entries), and writes the bundle and the header.
   Returns an EXIT_* code after printing any error. */
int bundle_write_program(Arena *a, Diag *d, const BundleOptions *opts);

/* The launcher header beside a bundle: NAME.tbn's is NAME.h, any other path's PATH.h. */
char *bundle_header_path(Arena *a, const char *bundle_path);

/* One compiled variant of a lowered kernel as a bundle in memory (one kernel, one variant,
   one default dispatch entry): how `tilec run`, `tilec bench` and the tuner's candidates
   reach libtile (tile_bundle_load_memory), so they launch as an application does. */
typedef struct BundleVariant {
    const TirKernel *kernel;        /* lowered for its consts (TirParam.const_value) */
    const Variant *variant;         /* the config, full-axis sizes and align class */
    const Target *target;
    const CompiledKernel *compiled; /* PTX, entry, threads, dynamic shared memory */
    const void *cubin;              /* NULL: none (the driver compiles the PTX) */
    size_t cubin_size;
} BundleVariant;

/* The bundle's bytes, malloc'ed, in *data and *size. Returns 0, or -1 with the reason in
   err (a grid libtile cannot compute, too many parameters for a bundle). */
int bundle_write_variant(const BundleVariant *bv, void **data, size_t *size, char *err,
                         size_t errlen);

/* ---- gpu_run.c: running TIR kernels on the GPU for `tilec run`, `tilec bench` and the
   tuner's benchmark child, through libtile (runtime/tile_internal.h): the compiled variant
   becomes a one-variant bundle in memory that libtile loads, checks, dispatches and
   launches as it does an application's; around that, the launch's tensors on the device
   inside guard bands, checking the guards, timing with events, and counting a kernel's
   FLOPs and bytes. Every driver call goes through libtile's context. */

/* Bytes of canary before and after every tensor on the device: a multiple of 256 so a
   tensor's base keeps cuMemAlloc's alignment. */
#define GPU_GUARD_BYTES 65536
#define GPU_CANARY 0xA5

typedef enum GpuStatus {
    GPU_OK = 0,
    GPU_NO_GPU,        /* no driver or no device: `tilec: error: no GPU: ...` */
    GPU_FAILED,        /* a driver call, a module load, libtile's checks or a launch failed */
    GPU_COMPILE,       /* codegen refused the variant, or the device cannot run it */
    GPU_STRAY_STORE,   /* a guard band lost its canary */
    GPU_INDEX_FAULT,   /* the kernel met an index read from data outside its tensor */
} GpuStatus;

/* The device of one command: libtile's context, the device's facts and one stream. */
typedef struct GpuSession {
    tile_context *ctx;
    tile_device_info info;
    const Target *target;      /* sm_90a on Hopper, sm_80 on Ampere */
    CUstream stream;
    CUdeviceptr flush;         /* GPU_FLUSH_BYTES written between cold-L2 repetitions */
} GpuSession;

#define GPU_FLUSH_BYTES (256u << 20)

/* One tensor on the device: [guard][storage][guard], all in one allocation. */
typedef struct GpuTensor {
    CUdeviceptr alloc;
    CUdeviceptr base;          /* alloc + GPU_GUARD_BYTES: the tensor's storage */
    size_t storage_bytes;      /* the host tensor's nbytes (strides address inside it) */
    bool shared;               /* another launch owns the allocation (bench chains) */
} GpuTensor;

/* One kernel's launch on the device: its tensors, and once loaded the bundle holding its
   variant and the launch libtile prepared (variant, grid, block, arguments). */
typedef struct GpuLaunch {
    const TirKernel *tir;
    GpuTensor *tensors;        /* by TirKernel.params index (PARAM_TENSOR only) */
    tile_bundle *bundle;
    tile_prepared_launch *prepared;
    AlignClass align;          /* the class of the variant libtile chose */
} GpuLaunch;

/* Opens libtile's context (the CUDA driver) on device 0 and makes a stream. The target is
   `want` when the device runs its code (else an error), or with `want` NULL the first of
   sm_90a, sm_89, sm_80 it runs. GPU_NO_GPU with "libcuda.so.1 not found ..." where there is
   none. */
GpuStatus gpu_open(GpuSession *s, const Target *want, char *err, size_t errlen);
void gpu_close(GpuSession *s);

/* The alignment class of a launch from its tensors' strides (bases on the device are
   256-byte aligned): VEC16 when every tensor has innermost stride 1 and its other strides
   are multiples of 16 bytes, UNIT when every innermost stride is 1, else ANY. A dim of
   size 1 never constrains (its stride is never multiplied by a nonzero index). libtile
   computes the same class for the launch and picks a variant that serves it. */
AlignClass gpu_align_class(const TirKernel *k, const LaunchArgs *args);

/* Starts a launch of k: uploads its tensors (keeping their strides) into guard-banded
   allocations filled with the canary; `share` (may be NULL) gives, per parameter, a device
   tensor of another launch to use instead. On failure err says what and out is freed. */
GpuStatus gpu_upload(GpuSession *s, const TirKernel *k, const LaunchArgs *args,
                     const GpuTensor *const *share, GpuLaunch *out, char *err, size_t errlen);
/* Whether the launch's grid extents, evaluated as TIR defines them (tir_eval_scalar over
   the launch's symbols and scalars), divide by zero: false with `FILE:LINE:COL: the extent
   of grid variable V divides by zero` in err, as the interpreter says it (libtile's grid
   program would count 0 blocks). libtile computes the grid itself; this only refuses. */
bool gpu_grid_check(const TirKernel *k, const LaunchArgs *args, char *err, size_t errlen);
/* The variant the launch needs (its config, full-axis sizes and alignment class) compiled,
   or `ptx_override` (hand-written PTX whose entry is the kernel's name, num_warps * 32
   threads), as a bundle in memory (bundle_write_variant): *bundle is malloc'ed. A grid
   that divides by zero (gpu_grid_check) is GPU_COMPILE. With `fit` (the config is the
   kernel's default, no --config), an align-any variant takes variant_fit_align_any's rung
   when the default spills and ptxas is on PATH: *config becomes it, with a note. */
GpuStatus gpu_compile(GpuSession *s, Arena *arena, const TirKernel *k, Config *config, bool fit,
                      const LaunchArgs *args, const char *ptx_override, void **bundle,
                      size_t *size, char *err, size_t errlen);
/* Loads a one-variant bundle of l's kernel into libtile and prepares the launch of l's
   tensors with args' strides, symbols and scalars (tile_launch_prepare: the checks,
   dispatch, module load, grid and argument packing). GPU_COMPILE when the variant needs
   more shared memory than the device has. */
GpuStatus gpu_load(GpuSession *s, const void *bundle, size_t size, const LaunchArgs *args,
                   GpuLaunch *l, char *err, size_t errlen);
/* gpu_upload, gpu_compile and gpu_load in a row; on failure out is freed. */
GpuStatus gpu_prepare(GpuSession *s, Arena *arena, const TirKernel *k, Config *config, bool fit,
                      const LaunchArgs *args, const char *ptx_override,
                      const GpuTensor *const *share, GpuLaunch *out, char *err, size_t errlen);
void gpu_launch_free(GpuSession *s, GpuLaunch *l);

/* Sets every declared reduction target to its op's identity, on the stream. */
GpuStatus gpu_reset_targets(GpuSession *s, GpuLaunch *l, char *err, size_t errlen);
/* Enqueues the kernel on the stream. */
GpuStatus gpu_enqueue(GpuSession *s, GpuLaunch *l, char *err, size_t errlen);
/* Synchronises and reports an index fault a kernel of the launch's bundle raised
   (libtile's TILE_ERR_INDEX): GPU_INDEX_FAULT with libtile's message. */
GpuStatus gpu_check_faults(GpuSession *s, GpuLaunch *l, char *err, size_t errlen);
/* Synchronises, reports an index fault of the launch's bundle (when it has one: the tuner
   checks its shared tensors' guards through the launch that owns them) and checks every
   guard band of the launch's tensors: a lost canary is GPU_STRAY_STORE naming the tensor
   and the byte offset relative to its storage. */
GpuStatus gpu_check_guards(GpuSession *s, GpuLaunch *l, char *err, size_t errlen);
/* Copies every output tensor back into args (same strides). */
GpuStatus gpu_download(GpuSession *s, GpuLaunch *l, LaunchArgs *args, char *err, size_t errlen);

/* Times `n` launches run back to back as one region (each preceded by its targets' reset,
   inside the region): `reps` repetitions after `warmup`, each between two events; with
   `cold_l2` the flush buffer is written before each repetition, outside the region.
   times_ms receives the `reps` figures, sorted. */
GpuStatus gpu_time(GpuSession *s, GpuLaunch *const *launches, int n, int reps, int warmup,
                   bool cold_l2, double *times_ms, char *err, size_t errlen);
/* This device's copy bandwidth in GB/s, read plus write: half of the flush buffer (128 MB,
   beyond any L2) copied onto the other half, the median of 5 after a warm-up; the roof a
   memory-bound kernel's rate is set beside (`tilec bench`). */
GpuStatus gpu_copy_gbps(GpuSession *s, double *gbps, char *err, size_t errlen);

/* The work of one launch: the FLOPs of its dots as the tuner counts them (estimate_flops:
   2·m·n·k per product over the whole grid and loop nest, `m.end` counting half of m's
   extent, the usual causal convention; 0 when an extent depends on a scalar parameter)
   and the bytes of every tensor read once and every output written once. `dot_dtype` is
   estimate_dot_dtype's (DT_COUNT when the kernel has no dot). */
typedef struct GpuWork {
    double flops;
    double bytes;
    DType dot_dtype;
} GpuWork;
void gpu_count_work(const TirKernel *k, const LaunchArgs *args, GpuWork *out);

/* ---- tune_gpu.c: the GPU backend of `tilec tune`: candidates compiled by codegen on the
   tuner's threads (ptxas rejects spills and assembles them), then checked against a
   reference output and timed on the GPU in the benchmark child. */

typedef struct TuneGpuBackend TuneGpuBackend;

/* The backend for one space (its kernel and shape). `sets` gives every scalar parameter's
   value (as `tilec bench --set`); inputs are random from `data_seed` (as `tilec bench
   --seed`, default 0). `align` is the class asked for ("vec16", "unit", "any"): candidates
   are compiled for it, or for the weaker class the shape's tensors allow. Fills *backend
   (its ctx is the returned object). NULL with the reason in err. Nothing here opens the
   GPU: only the backend's child_* functions do, in the benchmark child. */
TuneGpuBackend *tune_gpu_backend_new(const TuneSpace *space, const LaunchNamed *sets, int nsets,
                                     uint64_t data_seed, const char *align, TuneBackend *backend,
                                     char *err, size_t errlen);
/* What the backend chose, for the command's header line: "reference: interpreter", ... */
const char *tune_gpu_backend_summary(const TuneGpuBackend *g);
void tune_gpu_backend_free(TuneGpuBackend *g);

/* ---- program_run.c: programs for the commands — their shapes, the workspace plan
   (runtime/workspace.c, the one libtile computes) and --emit=buffers */

/* A program's workspace for one shape: each value's bytes, the intermediates in the plan's
   numbering, and the plan. */
typedef struct ProgramPlan {
    uint64_t value_bytes[TIR_PROGRAM_MAX_VALUES];   /* per TirProgram value, contiguous */
    int temp_of[TIR_PROGRAM_MAX_VALUES];            /* per value: its intermediate, or -1 */
    int value_of_temp[TBN_MAX_PROGRAM_TEMPS];
    int ntemps;
    TbnWorkspacePlan workspace;
} ProgramPlan;

/* The program's symbols from --shape entries (others are ignored): -1 with "program P:
   shape symbol S has no size (--shape S=N)" in err when one is missing. */
int program_bind_shapes(const TirProgram *p, const LaunchShape *shapes, int nshapes,
                        int64_t *syms, char *err, size_t errlen);
/* The workspace plan for the symbols' values: -1 with the reason when a size overflows. */
int program_plan(const TirProgram *p, const int64_t *syms, ProgramPlan *out, char *err,
                 size_t errlen);
/* The program's signature (its parameters, in order, and symbols) as a kernel with no
   body: what launch_bind binds (with a kernel's messages), the bundle writer records and
   the typed launcher header declares. */
TirKernel *program_signature_kernel(Arena *a, const TirProgram *p);
/* An intermediate's byte offset in the workspace (`value` a TirProgram value index). */
uint64_t program_temp_offset(const ProgramPlan *plan, int value);
/* `tilec build --emit=buffers`: each program of the file (or the one named `only`): its
   calls in order, its intermediates' live ranges, and for each shape (the --shape entries,
   else the lines of SOURCE's .shapes file naming the program) its allocations, their
   values, the peak and the naive sum. Returns an exit status after printing any error. */
int program_emit_buffers(FILE *out, Arena *a, const Program *file, const char *source,
                         const char *only, const LaunchSpec *shapes);

/* One run of a program on host data: its parameters bound as a kernel's are (the
   signature as a kernel with no body, for launch_bind), its workspace, and the copies of
   the intermediates --out asks for. */
typedef struct ProgramRun {
    const TirProgram *program;
    TirKernel *signature;      /* params: the program's, in its order */
    LaunchArgs args;           /* by program parameter; sym_values by program symbol */
    ProgramPlan plan;
    void *workspace;           /* plan.workspace.total bytes, 256-byte aligned */
    HostTensor *snapshots;     /* per value: an intermediate as its writer left it (--out) */
} ProgramRun;

/* Binds a launch of program `name`: checks what --in (inputs), --set (scalars), --out
   (outputs, intermediates) and --shape name, binds the parameters (launch_bind: .npy files,
   symbols, random inputs from the seed, scalars), plans and allocates the workspace (within
   spec->max_bytes). Returns an exit status after printing any error; free *out either way. */
int program_run_bind(Arena *a, const Program *file, const char *name, const LaunchSpec *spec,
                     ProgramRun *out);
/* Runs each call in order on the interpreter: its kernel lowered for the call's const
   values under its default config, its tensors the program's (intermediates in the
   workspace at their planned offsets), its reduction targets reset first. */
int program_run_interpret(Arena *a, Diag *d, const Program *file, ProgramRun *r,
                          const LaunchSpec *spec, const InterpLimits *limits, bool gpu_arith);
/* Runs the program on the GPU through libtile, as an application does: the kernels it
   calls built for the GPU's target into one bundle in memory (every const value, full-axis
   size and align class, as `tilec build` does; the file at `path` checked again for that
   target), its tensors uploaded between guard bands, one workspace of the size libtile asks
   for, tile_launch_program, the guards checked, the outputs downloaded into r's args. */
int program_run_gpu(Arena *a, Diag *d, const char *path, const Target *want, ProgramRun *r);
void program_run_free(ProgramRun *r);

/* ---- build.c: `tilec build` (main.c parses its options) */

typedef enum EmitStage { EMIT_NONE, EMIT_AST, EMIT_IR, EMIT_SCHEDULE, EMIT_LLVM, EMIT_PTX,
                         EMIT_BUFFERS } EmitStage;

enum { BUILD_MAX_TARGETS = 8 };

typedef struct BuildRequest {
    const char *path;
    const char *output;      /* -o */
    const char *kernel;      /* --kernel */
    const char *program;     /* --program (--emit=buffers) */
    LaunchSpec shapes;       /* --shape (--emit=buffers): only its shapes are used */
    const char *config;      /* --config text */
    bool tuned;              /* --tuned: the tune cache's configs into the dispatch table */
    const char *tuned_from;  /* --tuned-from FILE: an exported table's configs (likewise) */
    bool no_tuned;           /* --no-tuned: not even the cache's entries by default */
    EmitStage emit;
    const Target *targets[BUILD_MAX_TARGETS];   /* --target, in order (none: the default) */
    int ntargets;
    int64_t max_variants;    /* --max-variants: most variants a bundle's kernel may need */
} BuildRequest;

int run_build(const BuildRequest *req);

/* ---- inspect.c: `tilec inspect BUNDLE` */

int cmd_inspect(int argc, char **argv);

/* ---- run.c: `tilec run` (its own options; see its --help) */

int cmd_run(int argc, char **argv);

/* ---- bench.c: `tilec bench` (its own options; see its --help) */

int cmd_bench(int argc, char **argv);

/* ---- tune.c: `tilec tune` over the autotune library (its own options; see its --help) */

int cmd_tune(int argc, char **argv);
/* `tilec cache list | show KERNEL | clear [KERNEL]` (cache_cmd.c). */
int cmd_cache(int argc, char **argv);

#endif
