/* gpu.h — running TIR kernels on the GPU for `tilec run` and `tilec bench`: the compiled
   and loaded variant of a launch, its tensors on the device inside guard bands, launching,
   checking the guards, timing with events, and counting a kernel's FLOPs and bytes.
   gpu_run.c owns it; it builds on runtime/cuda_driver.h and codegen's kernel ABI. */
#ifndef TILEC_GPU_H
#define TILEC_GPU_H

#include "codegen.h"
#include "cuda_driver.h"
#include "interp.h"

/* Bytes of canary before and after every tensor on the device: a multiple of 256 so a
   tensor's base keeps cuMemAlloc's alignment. */
#define GPU_GUARD_BYTES 65536
#define GPU_CANARY 0xA5

typedef enum GpuStatus {
    GPU_OK = 0,
    GPU_NO_GPU,        /* no driver or no device: `tilec: error: no GPU: ...` */
    GPU_FAILED,        /* a driver call, a module load or a launch failed */
    GPU_COMPILE,       /* codegen refused the variant */
    GPU_STRAY_STORE,   /* a guard band lost its canary */
} GpuStatus;

/* The device of one command: the driver, the device's facts and one stream. */
typedef struct GpuSession {
    CudaDriver drv;
    CudaDeviceInfo info;
    const Target *target;      /* sm_90a on Hopper, sm_80 on Ampere */
    CUstream stream;
    CUdeviceptr flush;         /* GPU_FLUSH_BYTES written between cold-L2 repetitions */
    bool open;
} GpuSession;

#define GPU_FLUSH_BYTES (256u << 20)

/* One tensor on the device: [guard][storage][guard], all in one allocation. */
typedef struct GpuTensor {
    CUdeviceptr alloc;
    CUdeviceptr base;          /* alloc + GPU_GUARD_BYTES: the tensor's storage */
    size_t storage_bytes;      /* the host tensor's nbytes (strides address inside it) */
    CUdeviceptr identity;      /* a reduction target of 8-byte elements: its identity
                                  image, copied in before each launch (0 otherwise) */
    bool shared;               /* another launch owns the allocation (bench chains) */
} GpuTensor;

/* One kernel's launch on the device: its compiled variant, the loaded function, its
   arguments (device tensors and the ABI's parameter values) and its grid. */
typedef struct GpuLaunch {
    const TirKernel *tir;
    Config config;
    AlignClass align;
    CompiledKernel compiled;
    CudaModule module;
    CUfunction function;
    int64_t programs;          /* blocks in the 1-D grid */
    GpuTensor *tensors;        /* by TirKernel.params index (PARAM_TENSOR only) */
    int64_t *slots;            /* parameter values, one 8-byte slot each */
    void **slot_ptrs;          /* cuLaunchKernel's args: &slots[i] */
    int nslots;
} GpuLaunch;

/* Opens the driver and device 0 and makes a stream. The target is `want` when the device
   runs its code (else an error), or with `want` NULL the first of sm_90a, sm_89, sm_80 it
   runs. GPU_NO_GPU with "libcuda.so.1 not found ..." where there is none. */
GpuStatus gpu_open(GpuSession *s, const Target *want, char *err, size_t errlen);
void gpu_close(GpuSession *s);

/* The alignment class of a launch from its tensors' strides (bases on the device are
   256-byte aligned): VEC16 when every tensor has innermost stride 1 and its other strides
   are multiples of 16 bytes, UNIT when every innermost stride is 1, else ANY. A dim of
   size 1 never constrains (its stride is never multiplied by a nonzero index). */
AlignClass gpu_align_class(const TirKernel *k, const LaunchArgs *args);

/* Uploads the launch's tensors (keeping their strides) into guard-banded allocations
   filled with the canary, compiles the variant (or takes `ptx_override`, hand-written PTX
   whose entry is the kernel's name), loads it, sets the dynamic shared-memory limit and
   computes the grid. `share` (may be NULL) gives, per parameter, a device tensor of an
   earlier launch to use instead of uploading. On failure err says what and the launch
   is freed. */
GpuStatus gpu_prepare(GpuSession *s, Arena *arena, const TirKernel *k, const Config *config,
                      const LaunchArgs *args, const char *ptx_override,
                      const GpuTensor *const *share, GpuLaunch *out, char *err, size_t errlen);
void gpu_launch_free(GpuSession *s, GpuLaunch *l);

/* Sets every declared reduction target to its op's identity, on the stream. */
GpuStatus gpu_reset_targets(GpuSession *s, GpuLaunch *l, char *err, size_t errlen);
/* Enqueues the kernel on the stream. */
GpuStatus gpu_enqueue(GpuSession *s, GpuLaunch *l, char *err, size_t errlen);
/* Synchronises and checks every guard band of the launch's tensors: a lost canary is
   GPU_STRAY_STORE naming the tensor and the byte offset relative to its storage. */
GpuStatus gpu_check_guards(GpuSession *s, GpuLaunch *l, char *err, size_t errlen);
/* Copies every output tensor back into args (same strides). */
GpuStatus gpu_download(GpuSession *s, GpuLaunch *l, LaunchArgs *args, char *err, size_t errlen);

/* Times `n` launches run back to back as one region (each preceded by its targets' reset,
   inside the region): `reps` repetitions after `warmup`, each between two events; with
   `cold_l2` the flush buffer is written before each repetition, outside the region.
   times_ms receives the `reps` figures, sorted. */
GpuStatus gpu_time(GpuSession *s, GpuLaunch *const *launches, int n, int reps, int warmup,
                   bool cold_l2, double *times_ms, char *err, size_t errlen);

/* The work of one launch: FLOPs of its dots (2·m·n·k per product over the whole grid and
   loop nest; a loop whose trip count depends on an enclosing block, causal attention's
   min(m.end, N), counts half its full extent, the usual causal convention) and the bytes
   of every tensor read once and every output written once. `dot_dtype` is the widest-
   counted dot operand dtype (DT_COUNT when the kernel has no dot). */
typedef struct GpuWork {
    double flops;
    double bytes;
    DType dot_dtype;
} GpuWork;
void gpu_count_work(const TirKernel *k, const LaunchArgs *args, GpuWork *out);

/* Dense (no sparsity) peaks of a device by name: bf16/f16 and fp8 tensor-core TFLOP/s
   and memory TB/s; false for a device not in the table. */
typedef struct GpuPeak {
    const char *match;         /* substring of the device name */
    double bf16_tflops, fp8_tflops, mem_tbps;
    const char *source;
} GpuPeak;
bool gpu_peak_lookup(const char *device_name, GpuPeak *out);

/* ---- run.c: the command-line pieces `tilec run` and `tilec bench` share */

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

OutputTolerance output_tolerance(DType t);
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

#endif
