/* stub_cuda.h — the recorded state of the stub libcuda.so.1 (stub_cuda.c), shared with the
   runtime tests, which reach it through dlsym(dlopen("libcuda.so.1"), "stub_state"). A
   process that cannot (tilec) sets STUB_CUDA_LOG=FILE: allocations and launches are
   appended there as lines (stub_cuda.c says their form). */
#ifndef TILE_STUB_CUDA_H
#define TILE_STUB_CUDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { STUB_MAX_RECORDS = 32, STUB_MAX_ARGS = 64 };

typedef struct StubMemset {
    uint64_t ptr;
    unsigned value;
    size_t count;
    int width;
    size_t pitch;      /* 0, or a 2-D fill's row pitch (one 4-byte element per row) */
} StubMemset;

typedef struct StubLaunch {
    unsigned grid[3], block[3], smem;
    uint64_t args[STUB_MAX_ARGS];
} StubLaunch;

/* An index fault a launch raises (stub_cuda.c's raise_fault). */
typedef struct StubFault {
    bool on;
    uint32_t param, dim, kind, line, col;
    int64_t index, extent;
} StubFault;

typedef struct StubState {
    /* set by tests */
    int device_count;
    int sm;
    int sm_count;                      /* multiprocessors (0: 132) */
    char name[64];
    bool capturing;
    uint64_t range_base, range_size;   /* the one allocation MemGetAddressRange knows */
    int record_args;                   /* how many launch arguments to copy */
    int launch_result;                 /* CUresult LaunchKernel returns */
    StubFault fault;                   /* raised by launches of kernels with a fault sink */
    /* recorded */
    void *current;
    int retains, releases;
    int ptx_loads, cubin_loads, unloads;
    int max_dynamic_smem;
    int launches;
    StubLaunch last_launch;
    char last_entry[128];
    StubMemset memsets[STUB_MAX_RECORDS];
    int nmemsets;
    int range_queries;
    int tmap_encodes;                  /* cuTensorMapEncodeTiled calls */
    unsigned tmap_rank, tmap_swizzle;  /* the last one's rank and swizzle enumerator */
    uint64_t tmap_dims[5], tmap_strides[4];
    unsigned tmap_box[5];
    int graphs, graph_execs;           /* live CUgraph / CUgraphExec handles */
    int graph_launches;                /* cuGraphLaunch calls */
} StubState;

typedef StubState *(*StubStateFn)(void);

#endif
