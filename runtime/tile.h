/* tile.h — libtile, the runtime that loads kernel bundles written by `tilec build -o
   NAME.tbn` and launches their kernels on the GPU from plain C. The only public header:
   it needs neither cuda.h nor a compiler at run time, and links against nothing but libc
   (libcuda.so.1 is opened with dlopen when a context is created). docs/runtime.md is the
   guide; every function returns a tile_status and never prints, exits or aborts. */
#ifndef TILE_H
#define TILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libtile exports only what this header declares. */
#if defined(__GNUC__)
#define TILE_API __attribute__((visibility("default")))
#else
#define TILE_API
#endif

/* The same declaration as cuda.h's (C11 and C++ allow the repeat), so a program may
   include both and pass a CUstream from the driver, the runtime API or PyTorch. NULL is
   the legacy default stream. */
typedef struct CUstream_st *CUstream;

#define TILE_VERSION_MAJOR 0
#define TILE_VERSION_MINOR 1
#define TILE_MAX_RANK 8

typedef enum tile_status {
    TILE_OK = 0,
    TILE_ERR_NO_DEVICE,   /* no driver, no GPU, or the driver failed to start */
    TILE_ERR_BUNDLE,      /* a bundle is unreadable, corrupt, of another version, or does not
                             match the launcher that names it */
    TILE_ERR_ARCH,        /* the bundle has no variant this GPU can run */
    TILE_ERR_SHAPE,       /* shapes disagree, overflow, or no variant serves them */
    TILE_ERR_ARG,         /* a null, misaligned or wrongly typed argument */
    TILE_ERR_CONST,       /* a const parameter value the bundle was not built for */
    TILE_ERR_CAPTURE,     /* a module would have to load while the stream is captured */
    TILE_ERR_LAUNCH,      /* the driver refused a module load or launch */
    TILE_ERR_MEMORY,      /* host memory ran out */
    TILE_ERR_IO,          /* a bundle file could not be read */
    TILE_ERR_CHECK,       /* checking mode: a pointer's allocation is smaller than its shape */
    TILE_ERR_INDEX,       /* a kernel met an index read from data outside its tensor (reported
                             by the bundle's next launch or tile_bundle_synchronize) */
    TILE_STATUS_COUNT
} tile_status;

/* "TILE_ERR_SHAPE"; "TILE_ERR_?" for a value out of range. */
TILE_API const char *tile_status_string(tile_status status);

/* Element types: the raw bits, as distinct types so a bf16 pointer cannot be passed where
   an f16 one is expected. */
typedef struct tile_bf16 { uint16_t bits; } tile_bf16;
typedef struct tile_f16 { uint16_t bits; } tile_f16;
typedef struct tile_f8e4m3 { uint8_t bits; } tile_f8e4m3;
typedef struct tile_f8e5m2 { uint8_t bits; } tile_f8e5m2;

/* Numbered as in the bundle format. */
typedef enum tile_dtype {
    TILE_F32, TILE_F16, TILE_BF16, TILE_F8E4M3, TILE_F8E5M2, TILE_I32, TILE_I64, TILE_BOOL,
    TILE_I8, TILE_I16, TILE_U8, TILE_U32,   /* bundle version 5 */
    TILE_DTYPE_COUNT
} tile_dtype;

TILE_API const char *tile_dtype_name(tile_dtype dtype);   /* "bf16" */
TILE_API int tile_dtype_size(tile_dtype dtype);           /* bytes per element; 0 if unknown */

/* ---- contexts */

typedef struct tile_context tile_context;

enum {
    TILE_CONTEXT_CHECK = 1u << 0,   /* checking mode: cuMemGetAddressRange on every pointer
                                       (also turned on by the environment's TILE_CHECK=1) */
};

typedef struct tile_options {
    unsigned flags;                 /* TILE_CONTEXT_* */
    const char *driver_library;     /* NULL: "libcuda.so.1", found as dlopen finds it */
} tile_options;

/* Opens the CUDA driver. On TILE_ERR_NO_DEVICE *out still holds a context (bundles load and
   can be examined; launches fail with the same status), so tile_error_message tells why;
   destroy it either way. *out is NULL only on TILE_ERR_MEMORY. opts may be NULL. A context
   may be used by several threads at once. */
TILE_API tile_status tile_context_create(tile_context **out, const tile_options *opts);
/* Releases the primary contexts it retained. Free its bundles first. */
TILE_API void tile_context_destroy(tile_context *ctx);
/* The message of this thread's most recent failed call on ctx ("" if none): it names the
   kernel, parameter or byte offset at fault. Valid until this thread's next call. */
TILE_API const char *tile_error_message(const tile_context *ctx);
TILE_API void tile_context_set_checking(tile_context *ctx, bool on);
/* GPUs visible to the driver (0 with no driver). */
TILE_API int tile_device_count(const tile_context *ctx);

/* ---- bundles */

typedef struct tile_bundle tile_bundle;

/* Reads and verifies a bundle (checksums, bounds, every index). Loads no module yet. */
TILE_API tile_status tile_bundle_load_file(tile_context *ctx, const char *path, tile_bundle **out);
/* The same from memory; the bytes are copied. */
TILE_API tile_status tile_bundle_load_memory(tile_context *ctx, const void *data, size_t size,
                                    tile_bundle **out);
/* Unloads its modules. NULL is allowed. */
TILE_API void tile_bundle_free(tile_bundle *bundle);
/* Loads every module this GPU can run (on the current context's device, or device 0), so
   that later launches never load one: needed before capturing launches into a CUDA graph. */
TILE_API tile_status tile_bundle_preload(tile_context *ctx, tile_bundle *bundle);

TILE_API int tile_bundle_kernel_count(const tile_bundle *bundle);
TILE_API const char *tile_bundle_kernel_name(const tile_bundle *bundle, int index);
/* -1 if the bundle has no kernel of that name. */
TILE_API int tile_bundle_find_kernel(const tile_bundle *bundle, const char *name);

/* ---- kernel signatures, for bindings that build a launch's arguments from the bundle
   (the Python package) instead of a generated header */

typedef enum tile_arg_kind { TILE_ARG_TENSOR, TILE_ARG_SCALAR, TILE_ARG_CONST } tile_arg_kind;
typedef enum tile_reduce { TILE_REDUCE_NONE, TILE_REDUCE_SUM, TILE_REDUCE_MAX, TILE_REDUCE_MIN }
    tile_reduce;

typedef struct tile_param_info {
    const char *name;
    tile_arg_kind kind;
    tile_dtype dtype;
    int rank;                       /* a tensor's; 0 for scalars and consts */
    int64_t dims[TILE_MAX_RANK];    /* a literal size >= 0, or -(symbol + 1) */
    tile_reduce reduce;             /* a reduction target, set to the op's identity per launch */
    int written;                    /* 1: the kernel stores to the tensor, 0: it does not */
    int read;                       /* 1: it reads the tensor's contents (loads, or atomics
                                       into a tensor that is not a reduction target), 0: not;
                                       both -1: not recorded (a bundle older than format 3) */
    const int64_t *const_values;    /* an integer const's declared values (a bool const has
                                       none: 0 and 1); owned by the bundle */
    int nconst_values;
} tile_param_info;

/* Parameters and shape symbols of kernel `kernel` (an index, as tile_bundle_kernel_name's);
   -1 when there is no such kernel. */
TILE_API int tile_kernel_param_count(const tile_bundle *bundle, int kernel);
TILE_API int tile_kernel_symbol_count(const tile_bundle *bundle, int kernel);
/* Parameter `index` in signature order; TILE_ERR_ARG for a NULL or an index out of range. */
TILE_API tile_status tile_kernel_param(const tile_bundle *bundle, int kernel, int index,
                                       tile_param_info *out);
/* Symbol `index`'s name ("M"), as dims' -(index + 1) name it; NULL out of range. */
TILE_API const char *tile_kernel_symbol_name(const tile_bundle *bundle, int kernel, int index);

/* ---- launching through the generic interface */

/* One argument per kernel parameter, in signature order (const parameters included).
   A tensor gives its device pointer, dtype, shape and strides in elements (strides NULL:
   contiguous, row-major); shape symbols are taken from the tensors and must agree. A
   scalar gives its value in `f` (float dtypes) or `i` (integers, bool); a const its value
   in `i`. `name`, when not NULL, is checked against the parameter's. */
typedef struct tile_arg {
    tile_arg_kind kind;
    tile_dtype dtype;
    const char *name;
    void *data;
    int rank;
    int64_t shape[TILE_MAX_RANK];
    int64_t strides[TILE_MAX_RANK];
    bool has_strides;
    double f;
    int64_t i;
} tile_arg;

static inline tile_arg tile_arg_tensor(void *data, tile_dtype dtype, int rank,
                                       const int64_t *shape, const int64_t *strides)
{
    tile_arg a = {TILE_ARG_TENSOR, dtype, NULL, data, rank, {0}, {0}, strides != NULL, 0, 0};
    for (int d = 0; d < rank && d < TILE_MAX_RANK; d++) {
        a.shape[d] = shape[d];
        a.strides[d] = strides ? strides[d] : 0;
    }
    return a;
}
static inline tile_arg tile_arg_f32(float value)
{
    tile_arg a = {TILE_ARG_SCALAR, TILE_F32, NULL, NULL, 0, {0}, {0}, false, value, 0};
    return a;
}
static inline tile_arg tile_arg_int(tile_dtype dtype, int64_t value)
{
    tile_arg a = {TILE_ARG_SCALAR, dtype, NULL, NULL, 0, {0}, {0}, false, 0, value};
    return a;
}
static inline tile_arg tile_arg_const(int64_t value)
{
    tile_arg a = {TILE_ARG_CONST, TILE_I64, NULL, NULL, 0, {0}, {0}, false, 0, value};
    return a;
}

/* Launches `kernel` on `stream` (asynchronous, like cuLaunchKernel): picks the variant for
   the const values, alignment and shapes, loads its module the first time (never while the
   stream is being captured), sets declared reduction targets to their identity on the
   stream, and launches. Runs on the calling thread's current CUDA context, or device 0's
   primary context when there is none (which it then makes current). */
TILE_API tile_status tile_launch(tile_context *ctx, tile_bundle *bundle, const char *kernel,
                        const tile_arg *args, int nargs, CUstream stream);

/* Waits for `stream`, then reports an index fault a kernel of the bundle raised on the
   current device since the last report: TILE_ERR_INDEX, the message naming the kernel, the
   tensor, its dim and size, the index and the op's line. Each launch of the bundle reports
   one that has reached the host already (the launch is then not made). */
TILE_API tile_status tile_bundle_synchronize(tile_context *ctx, tile_bundle *bundle,
                                             CUstream stream);

/* ---- the typed launchers' interface (what NAME.h calls; use tile_launch by hand) */

/* A scalar argument's value, read by the member of the parameter's dtype. */
typedef union tile_scalar {
    float f32;
    uint16_t bits16;   /* f16, bf16 */
    uint8_t bits8;     /* f8e4m3, f8e5m2 */
    int32_t i32;
    int64_t i64;
    bool b;
} tile_scalar;

/* The values of one launch, each array in signature order: a pointer per tensor, `rank`
   strides per tensor (concatenated), one value per shape symbol (the bundle's order,
   listed in the header), a tile_scalar per scalar parameter and an int64 per const one. */
typedef struct tile_launch_values {
    void *const *pointers;
    const int64_t *strides;
    const int64_t *symbols;
    const tile_scalar *scalars;
    const int64_t *consts;
} tile_launch_values;

/* Launches kernel `index` of the bundle; `signature` is the kernel's signature hash the
   header was generated for, so a header used with a bundle of another signature fails
   with TILE_ERR_BUNDLE instead of passing wrong arguments. */
TILE_API tile_status tile_launch_values_at(tile_context *ctx, tile_bundle *bundle, int index,
                                  uint64_t signature, const tile_launch_values *values,
                                  CUstream stream);

/* ---- programs: several kernels in one launch (docs/runtime.md, "Programs")

   A program's calls run in order on the stream, each through the path tile_launch takes;
   the tensors they pass each other live in a workspace of device memory the caller gives:
   at least tile_program_workspace_bytes for the launch's shapes, 256-byte aligned
   (cuMemAlloc's are). A workspace serves one launch at a time: launches on one stream may
   share it (they run one after the other); launches on several streams, or from several
   threads on streams not ordered with each other, each need their own. libtile keeps no
   workspace of its own, so a program launch allocates nothing and can be captured in a
   CUDA graph (the workspace's address is captured with it). */

TILE_API int tile_bundle_program_count(const tile_bundle *bundle);
TILE_API const char *tile_bundle_program_name(const tile_bundle *bundle, int index);
/* -1 if the bundle has no program of that name. */
TILE_API int tile_bundle_find_program(const tile_bundle *bundle, const char *name);

/* Program `program`'s signature (an index, as tile_bundle_program_name's), as a kernel's
   above: its parameters, the first tile_program_input_count of them the inputs (read, never
   written), then the outputs (written, never read); its shape symbols. The counts are -1 when
   there is no such program; tile_program_param gives TILE_ERR_ARG, the name NULL, out of
   range. */
TILE_API int tile_program_param_count(const tile_bundle *bundle, int program);
TILE_API int tile_program_input_count(const tile_bundle *bundle, int program);
TILE_API int tile_program_symbol_count(const tile_bundle *bundle, int program);
TILE_API tile_status tile_program_param(const tile_bundle *bundle, int program, int index,
                                        tile_param_info *out);
TILE_API const char *tile_program_symbol_name(const tile_bundle *bundle, int program, int index);

/* The bytes of workspace `program` needs for these arguments (one per parameter, inputs
   then outputs, as for tile_launch; only their shapes are read). */
TILE_API tile_status tile_program_workspace_bytes(tile_context *ctx, tile_bundle *bundle,
                                                  const char *program, const tile_arg *args,
                                                  int nargs, size_t *bytes);
/* Launches every call of `program` on `stream` (asynchronous), its intermediates in
   `workspace` (device memory of `workspace_bytes` bytes, NULL when it needs none). A call
   that fails stops the launch there (the calls before it are enqueued) with its status and
   a message naming the call. */
TILE_API tile_status tile_launch_program(tile_context *ctx, tile_bundle *bundle,
                                         const char *program, const tile_arg *args, int nargs,
                                         void *workspace, size_t workspace_bytes,
                                         CUstream stream);
/* The typed launchers' interface: program `index` of the bundle, its signature hash, the
   values as tile_launch_values_at takes them (no consts: a program has none). */
TILE_API tile_status tile_program_workspace_bytes_at(tile_context *ctx, tile_bundle *bundle,
                                                     int index, uint64_t signature,
                                                     const int64_t *symbols, size_t *bytes);
TILE_API tile_status tile_launch_program_values_at(tile_context *ctx, tile_bundle *bundle,
                                                   int index, uint64_t signature,
                                                   const tile_launch_values *values,
                                                   void *workspace, size_t workspace_bytes,
                                                   CUstream stream);

/* A program as a CUDA graph, for launches whose host cost matters (small shapes, decode
   steps): tile_program_graph checks the arguments, preloads the bundle's modules, captures
   one launch of `program` (as tile_launch_program makes it) on a stream of its own and
   instantiates the graph. The tensors' addresses, the shapes, the scalars and the workspace
   are fixed in it: tile_graph_launch replays exactly that launch on `stream` (asynchronous),
   so the tensors and the workspace must outlive the graph, and replays on streams not
   ordered with each other race on the same workspace. A failed capture returns its status
   (a launch error names the call) and no graph. tile_graph_free: NULL is allowed; a replay
   in flight finishes on its own. */
typedef struct tile_graph tile_graph;
TILE_API tile_status tile_program_graph(tile_context *ctx, tile_bundle *bundle,
                                        const char *program, const tile_arg *args, int nargs,
                                        void *workspace, size_t workspace_bytes,
                                        tile_graph **out);
TILE_API tile_status tile_graph_launch(tile_graph *graph, CUstream stream);
TILE_API void tile_graph_free(tile_graph *graph);

/* Workspaces for a caller without a device allocator of its own (the Python package's core).
   tile_workspace_alloc: `bytes` (> 0) of device memory (cuMemAlloc: 256-byte aligned) for
   launches on `stream`, on the calling thread's current CUDA context, or device 0's primary
   context made current when none is: the one a launch from this thread runs on;
   tile_current_device: that context's device ordinal. tile_workspace_free waits for
   `stream` (the launches that used the workspace), then frees it; NULL is allowed. Both are
   TILE_ERR_CAPTURE while `stream` is being captured (allocate before capturing). */
TILE_API tile_status tile_current_device(tile_context *ctx, int *device);
TILE_API tile_status tile_workspace_alloc(tile_context *ctx, size_t bytes, CUstream stream,
                                          void **out);
TILE_API tile_status tile_workspace_free(tile_context *ctx, void *workspace, CUstream stream);

#ifdef __cplusplus
}
#endif
#endif
