/* tile_internal.h — libtile's interface for tilec's own commands (`tilec run`, `tilec bench`,
   the tuner's benchmark child) and the GPU test harnesses, beside the public tile.h: the
   device's facts and the driver calls that data movement and timing need, all through the
   one driver libtile opened; and a launch in three steps (prepare, reset the reduction
   targets, enqueue) so a command can report what libtile chose and time one prepared
   launch many times. tile_launch is the same three steps in a row. Not installed: the
   functions are hidden in libtile.so and reached by linking libtile.a. */
#ifndef TILE_INTERNAL_H
#define TILE_INTERNAL_H

#include <cuda.h> /* types only */

#include "bundle_format.h"
#include "tile.h"

/* ---- the device and the driver */

typedef struct tile_device_info {
    char name[256];            /* "NVIDIA H100 80GB HBM3" */
    int sm_count;              /* multiprocessors */
    int cc_major, cc_minor;    /* compute capability, 9.0 on Hopper */
    int clock_khz;             /* peak SM clock */
    int max_shared_per_block;  /* opt-in limit: 232448 bytes on H100 */
    size_t l2_bytes;
    int driver_version;        /* 13000 for CUDA 13.0 */
} tile_device_info;

/* The device a launch on this thread would use (the current CUDA context's, or device 0's
   primary context, which it retains and makes current, as tile_launch does). Call it
   before the memory functions below, which work in that context. */
tile_status tile_dev_info(tile_context *ctx, tile_device_info *out);

/* Thin checked driver calls; a failure is TILE_ERR_LAUNCH with a message naming the call
   and the driver's error, TILE_ERR_NO_DEVICE without a driver. */
tile_status tile_dev_alloc(tile_context *ctx, size_t bytes, CUdeviceptr *out);
tile_status tile_dev_free(tile_context *ctx, CUdeviceptr ptr);   /* 0 is allowed */
tile_status tile_dev_copy_to_device(tile_context *ctx, CUdeviceptr dst, const void *src,
                                    size_t bytes);
tile_status tile_dev_copy_to_host(tile_context *ctx, void *dst, CUdeviceptr src, size_t bytes);
tile_status tile_dev_copy_async(tile_context *ctx, CUdeviceptr dst, CUdeviceptr src,
                                size_t bytes, CUstream stream);
/* Fills `count` elements of `width` bytes (1, 2 or 4) with `value`, on `stream`. */
tile_status tile_dev_memset_async(tile_context *ctx, CUdeviceptr dst, int width, uint32_t value,
                                  size_t count, CUstream stream);
tile_status tile_dev_synchronize(tile_context *ctx);   /* the whole context */
tile_status tile_dev_stream_create(tile_context *ctx, CUstream *out);   /* non-blocking */
tile_status tile_dev_stream_destroy(tile_context *ctx, CUstream stream);   /* NULL allowed */
tile_status tile_dev_stream_synchronize(tile_context *ctx, CUstream stream);
tile_status tile_dev_event_create(tile_context *ctx, CUevent *out);
tile_status tile_dev_event_destroy(tile_context *ctx, CUevent event);   /* NULL allowed */
tile_status tile_dev_event_record(tile_context *ctx, CUevent event, CUstream stream);
/* Waits for `end`, then the milliseconds between the two events. */
tile_status tile_dev_event_elapsed_ms(tile_context *ctx, CUevent start, CUevent end, float *ms);
/* Registers per thread and local (spill) bytes of a loaded function. */
tile_status tile_dev_function_resources(tile_context *ctx, CUfunction fn, int *registers,
                                        int *local_bytes);
/* Any other driver entry point ("cuStreamBeginCapture"), resolved by the loader libtile
   used, for harnesses that stand in for an application (graphs, raw launches). */
tile_status tile_dev_proc(tile_context *ctx, const char *symbol, void **fn);

/* ---- bundles: the reader's checked view (bundle_format.h) of a loaded bundle */

const TbnBundle *tile_bundle_view(const tile_bundle *bundle);

/* ---- a launch in three steps */

enum {
    TILE_MAX_ABI_ARGS = TBN_MAX_PARAMS * (1 + TBN_MAX_RANK) + TBN_MAX_SYMS,
    TILE_MAX_RESETS = 2 * TBN_MAX_PARAMS,   /* an i64 max/min target takes two fills */
};

/* One fill of a reduction target: `count` elements of `width` bytes from `ptr`, or with
   `pitch` set, one 4-byte element at the start of each of `count` rows `pitch` bytes apart. */
typedef struct tile_target_fill {
    CUdeviceptr ptr;
    size_t count, pitch;
    uint32_t value;
    int width;
    const char *target;        /* the parameter's name, for messages */
} tile_target_fill;

/* Everything a launch needs once its arguments are checked and its variant chosen and
   loaded; valid while its bundle is. */
typedef struct tile_prepared_launch {
    const char *kernel;        /* its name, for messages */
    uint32_t variant;          /* bundle-wide index of the variant chosen */
    int align;                 /* the launch's alignment class (TBN_ALIGN_*) */
    CUfunction function;
    unsigned blocks;           /* 1-D grid; 0: nothing to run */
    unsigned threads, smem_bytes;
    int nargs;
    uint64_t args[TILE_MAX_ABI_ARGS];   /* the kernel ABI's values, one 8-byte slot each */
    int nmaps;                 /* TMA tensor maps passed after the args, by value */
    CUtensorMap maps[TBN_MAX_TMAPS];
    int nfills;
    tile_target_fill fills[TILE_MAX_RESETS];
} tile_prepared_launch;

/* tile_launch_values_at's checks, dispatch, module load (on `stream`'s capture rule), grid
   and argument packing, without launching. `index` is the kernel's index in the bundle. */
tile_status tile_launch_prepare(tile_context *ctx, tile_bundle *bundle, int index,
                                const tile_launch_values *values, CUstream stream,
                                tile_prepared_launch *out);
/* Sets the declared reduction targets to their identity, on the stream. */
tile_status tile_launch_reset_targets(tile_context *ctx, const tile_prepared_launch *launch,
                                      CUstream stream);
/* Launches the kernel on the stream (nothing for an empty grid). */
tile_status tile_launch_enqueue(tile_context *ctx, const tile_prepared_launch *launch,
                                CUstream stream);

#endif
