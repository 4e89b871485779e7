/* stub_cuda.c — a stand-in libcuda.so.1 for testing libtile, and tilec's commands through
   it, without a GPU. It exports cuGetProcAddress_v2 like the real driver, so libtile finds
   it the same way (dlopen through LD_LIBRARY_PATH), answers the entry points libtile uses,
   and records what they were asked in a state the tests read and set through stub_state()
   (found with dlsym). Device memory is host memory: cuMemAlloc mallocs (256-byte aligned,
   as the driver's), and copies and memsets inside an allocation happen (memsets elsewhere,
   at the tests' made-up addresses, are only recorded); kernels never run. A stream capture
   records the launches as a graph's nodes, which cuGraphLaunch launches (memsets during a
   capture happen at once). With STUB_CUDA_LOG=FILE it appends a line per
   allocation and launch to FILE:
     alloc BASE BYTES
     launch ENTRY grid X Y Z block X Y Z smem BYTES args A0 A1 ...
   (addresses, sizes and arguments in hex with 0x, the rest in decimal; the arguments are
   the 8-byte slots the PTX entry declares, none for a cubin).
   STUB_CUDA_STORE=ARG:OFFSET makes every launch store a zero byte at OFFSET (may be
   negative) from the value of its argument ARG, when that lands in an allocation: a stray
   store for the guard bands to catch. STUB_CUDA_HANG=1 makes every wait for the device
   after a launch block forever. A PTX module that defines `tile_fault_sink` (a kernel with
   checked indices) has it as a 24-byte allocation; with StubState.fault set, or
   STUB_CUDA_FAULT=PARAM:DIM:INDEX:EXTENT:LINE:COL:KIND, a launch of its kernel raises that
   index fault through the sink as the kernel would (codegen's emit_memory.c). A test
   double: its one global state is the point. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cuda.h>

#include "stub_cuda.h"

static StubState state = {.device_count = 1, .sm = 90, .name = "Stub GPU"};

StubState *stub_state(void) { return &state; }

/* ---- the launch log (STUB_CUDA_LOG) */

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
{
    const char *path = getenv("STUB_CUDA_LOG");
    FILE *f = path && path[0] ? fopen(path, "a") : NULL;
    if (!f)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

/* ---- memory: host allocations standing in for device ones */

typedef struct Allocation {
    uint8_t *base;
    size_t size;
} Allocation;

enum { MAX_ALLOCATIONS = 1024 };
static Allocation allocations[MAX_ALLOCATIONS];

/* The allocation holding [p, p + bytes), or NULL. */
static Allocation *find_allocation(CUdeviceptr p, size_t bytes)
{
    for (int i = 0; i < MAX_ALLOCATIONS; i++) {
        Allocation *a = &allocations[i];
        uintptr_t base = (uintptr_t)a->base;
        if (a->base && p >= base && p - base < a->size && bytes <= a->size - (p - base))
            return a;
    }
    return NULL;
}

/* A zeroed allocation, not logged (a module's globals). */
static CUresult allocate(CUdeviceptr *p, size_t bytes)
{
    for (int i = 0; i < MAX_ALLOCATIONS; i++)
        if (!allocations[i].base) {
            size_t rounded = (bytes + 255) / 256 * 256;   /* 256-byte aligned, as cuMemAlloc's */
            if (!(allocations[i].base = aligned_alloc(256, rounded ? rounded : 256)))
                return CUDA_ERROR_OUT_OF_MEMORY;
            memset(allocations[i].base, 0, rounded ? rounded : 256);
            allocations[i].size = bytes;
            *p = (CUdeviceptr)(uintptr_t)allocations[i].base;
            return CUDA_SUCCESS;
        }
    return CUDA_ERROR_OUT_OF_MEMORY;
}

static CUresult MemAlloc(CUdeviceptr *p, size_t bytes)
{
    CUresult r = allocate(p, bytes);
    if (r == CUDA_SUCCESS)
        log_line("alloc 0x%llx 0x%zx\n", (unsigned long long)*p, bytes);
    return r;
}

static CUresult MemFree(CUdeviceptr p)
{
    for (int i = 0; i < MAX_ALLOCATIONS; i++)
        if (allocations[i].base && (uintptr_t)allocations[i].base == p) {
            free(allocations[i].base);
            allocations[i].base = NULL;
            return CUDA_SUCCESS;
        }
    return CUDA_ERROR_INVALID_VALUE;
}

/* Pinned host memory the device maps: the same address on both sides (unified addressing). */
static CUresult MemHostAlloc(void **p, size_t bytes, unsigned flags)
{
    (void)flags;
    *p = calloc(1, bytes ? bytes : 1);
    return *p ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}
static CUresult MemFreeHost(void *p)
{
    free(p);
    return CUDA_SUCCESS;
}
static CUresult MemHostGetDevicePointer(CUdeviceptr *d, void *p, unsigned flags)
{
    (void)flags;
    *d = (CUdeviceptr)(uintptr_t)p;
    return CUDA_SUCCESS;
}

static CUresult MemcpyHtoD(CUdeviceptr dst, const void *src, size_t n)
{
    if (n && !find_allocation(dst, n))
        return CUDA_ERROR_INVALID_VALUE;
    if (n)
        memcpy((void *)(uintptr_t)dst, src, n);
    return CUDA_SUCCESS;
}

static CUresult MemcpyDtoH(void *dst, CUdeviceptr src, size_t n)
{
    if (n && !find_allocation(src, n))
        return CUDA_ERROR_INVALID_VALUE;
    if (n)
        memcpy(dst, (const void *)(uintptr_t)src, n);
    return CUDA_SUCCESS;
}

static CUresult MemcpyDtoDAsync(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s)
{
    (void)s;
    if (n && (!find_allocation(dst, n) || !find_allocation(src, n)))
        return CUDA_ERROR_INVALID_VALUE;
    if (n)
        memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n);
    return CUDA_SUCCESS;
}

/* Records the fill, and performs it when it lies inside an allocation. */
static CUresult memset_rows(CUdeviceptr p, unsigned v, size_t count, int width, size_t pitch)
{
    if (state.nmemsets < STUB_MAX_RECORDS)
        state.memsets[state.nmemsets++] = (StubMemset){(uint64_t)p, v, count, width, pitch};
    size_t step = pitch ? pitch : (size_t)width;
    if (count == 0 || !find_allocation(p, (count - 1) * step + (size_t)width))
        return CUDA_SUCCESS;
    for (size_t i = 0; i < count; i++)
        memcpy((uint8_t *)(uintptr_t)p + i * step, &v, (size_t)width);   /* little-endian */
    return CUDA_SUCCESS;
}

static CUresult MemsetD8Async(CUdeviceptr p, unsigned char v, size_t n, CUstream s)
{
    (void)s;
    return memset_rows(p, v, n, 1, 0);
}
static CUresult MemsetD16Async(CUdeviceptr p, unsigned short v, size_t n, CUstream s)
{
    (void)s;
    return memset_rows(p, v, n, 2, 0);
}
static CUresult MemsetD32Async(CUdeviceptr p, unsigned v, size_t n, CUstream s)
{
    (void)s;
    return memset_rows(p, v, n, 4, 0);
}
static CUresult MemsetD2D32Async(CUdeviceptr p, size_t pitch, unsigned v, size_t width,
                                 size_t height, CUstream s)
{
    (void)s;
    if (width != 1 || pitch < 4 || pitch % 4)
        return CUDA_ERROR_INVALID_VALUE;   /* the only shape libtile asks for */
    return memset_rows(p, v, height, 4, pitch);
}

static CUresult MemGetAddressRange(CUdeviceptr *base, size_t *size, CUdeviceptr p)
{
    state.range_queries++;
    Allocation *a = find_allocation(p, 0);
    if (a) {
        *base = (CUdeviceptr)(uintptr_t)a->base;
        *size = a->size;
        return CUDA_SUCCESS;
    }
    if (p < state.range_base || p >= state.range_base + state.range_size)
        return CUDA_ERROR_NOT_FOUND;
    *base = state.range_base;
    *size = state.range_size;
    return CUDA_SUCCESS;
}

/* ---- device and context */

static CUresult GetErrorName(CUresult r, const char **name)
{
    *name = r == CUDA_SUCCESS ? "CUDA_SUCCESS" : "CUDA_ERROR_STUB";
    return CUDA_SUCCESS;
}
static CUresult Init(unsigned flags) { (void)flags; return CUDA_SUCCESS; }
static CUresult DriverGetVersion(int *v) { *v = 13000; return CUDA_SUCCESS; }
static CUresult DeviceGetCount(int *n) { *n = state.device_count; return CUDA_SUCCESS; }
static CUresult DeviceGet(CUdevice *d, int ordinal)
{
    if (ordinal >= state.device_count)
        return CUDA_ERROR_INVALID_DEVICE;
    *d = ordinal;
    return CUDA_SUCCESS;
}
static CUresult DeviceGetName(char *buf, int len, CUdevice d)
{
    (void)d;
    strncpy(buf, state.name, (size_t)len - 1);
    buf[len - 1] = 0;
    return CUDA_SUCCESS;
}
static CUresult DeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice d)
{
    (void)d;
    switch (a) {
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = state.sm / 10; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = state.sm % 10; break;
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = state.sm_count ? state.sm_count : 132; break;
    case CU_DEVICE_ATTRIBUTE_CLOCK_RATE: *v = 1000000; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *v = 232448; break;
    case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: *v = 1 << 20; break;
    default: *v = 0; break;
    }
    return CUDA_SUCCESS;
}
static CUresult DevicePrimaryCtxRetain(CUcontext *c, CUdevice d)
{
    *c = (CUcontext)(uintptr_t)(0x1000 + d);
    state.retains++;
    return CUDA_SUCCESS;
}
static CUresult DevicePrimaryCtxRelease(CUdevice d) { (void)d; state.releases++; return CUDA_SUCCESS; }
static CUresult CtxGetCurrent(CUcontext *c) { *c = (CUcontext)state.current; return CUDA_SUCCESS; }
static CUresult CtxSetCurrent(CUcontext c) { state.current = c; return CUDA_SUCCESS; }
static CUresult CtxGetDevice(CUdevice *d)
{
    *d = (CUdevice)((uintptr_t)state.current - 0x1000);
    return CUDA_SUCCESS;
}
static CUresult CtxSynchronize(void) { return CUDA_SUCCESS; }

/* ---- modules and functions: a function knows its entry's name and, from PTX, how many
   parameters the entry declares */

enum { MAX_MODULES = 256, MAX_FUNCTIONS = 256, FAULT_SINK_BYTES = 24 };
static char *module_ptx[MAX_MODULES];   /* NULL for a cubin */
static CUdeviceptr module_sink[MAX_MODULES];   /* its tile_fault_sink, or 0 */
static int nmodules;

typedef struct Function {
    char name[128];
    int nparams;        /* -1: unknown (a cubin) */
    int module;         /* its module's slot */
} Function;
static Function functions[MAX_FUNCTIONS];
static int nfunctions;

static CUresult ModuleLoadDataEx(CUmodule *m, const void *image, unsigned n, CUjit_option *o,
                                 void **v)
{
    (void)n, (void)o, (void)v;
    const char *text = image;
    bool cubin = memcmp(text, "\177ELF", 4) == 0;
    if (cubin)
        state.cubin_loads++;
    else {
        if (strstr(text, "STUB_FAIL"))
            return CUDA_ERROR_INVALID_PTX;
        state.ptx_loads++;
    }
    int slot = nmodules++ % MAX_MODULES;
    free(module_ptx[slot]);
    module_ptx[slot] = cubin ? NULL : strdup(text);
    module_sink[slot] = 0;
    if (!cubin && strstr(text, ".global .align 8 .b8 tile_fault_sink[24]") &&
        allocate(&module_sink[slot], FAULT_SINK_BYTES) != CUDA_SUCCESS)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *m = (CUmodule)(uintptr_t)(0x2000 + slot);
    return CUDA_SUCCESS;
}
static CUresult ModuleUnload(CUmodule m)
{
    uintptr_t slot = (uintptr_t)m - 0x2000;
    if (slot < MAX_MODULES) {
        free(module_ptx[slot]);
        module_ptx[slot] = NULL;
        if (module_sink[slot])
            MemFree(module_sink[slot]);
        module_sink[slot] = 0;
    }
    state.unloads++;
    return CUDA_SUCCESS;
}
static CUresult ModuleGetGlobal(CUdeviceptr *p, size_t *bytes, CUmodule m, const char *name)
{
    uintptr_t slot = (uintptr_t)m - 0x2000;
    if (slot >= MAX_MODULES || strcmp(name, "tile_fault_sink") != 0 || !module_sink[slot])
        return CUDA_ERROR_NOT_FOUND;
    *p = module_sink[slot];
    *bytes = FAULT_SINK_BYTES;
    return CUDA_SUCCESS;
}

/* The number of `.param`s of `.entry NAME(...)` in the PTX, or -1. */
static int count_params(const char *ptx, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = ptx ? strstr(ptx, ".entry ") : NULL; p; p = strstr(p + 1, ".entry ")) {
        const char *at = p + 7;
        if (strncmp(at, name, len) != 0 || (at[len] != '(' && at[len] != ' ' && at[len] != '\n'))
            continue;
        const char *open = strchr(at, '('), *close = open ? strchr(open, ')') : NULL;
        int count = 0;
        for (const char *q = open; q && close && (q = strstr(q, ".param")) && q < close; q++)
            count++;
        return count;
    }
    return -1;
}

static CUresult ModuleGetFunction(CUfunction *f, CUmodule m, const char *name)
{
    uintptr_t slot = (uintptr_t)m - 0x2000;
    int index = nfunctions++ % MAX_FUNCTIONS;
    Function *fn = &functions[index];
    snprintf(fn->name, sizeof fn->name, "%s", name);
    fn->nparams = slot < MAX_MODULES ? count_params(module_ptx[slot], name) : -1;
    fn->module = slot < MAX_MODULES ? (int)slot : -1;
    *f = (CUfunction)(uintptr_t)(0x10000 + index);
    strncpy(state.last_entry, name, sizeof state.last_entry - 1);
    return CUDA_SUCCESS;
}
static CUresult FuncSetAttribute(CUfunction f, CUfunction_attribute a, int v)
{
    (void)f;
    if (a == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
        state.max_dynamic_smem = v;
    return CUDA_SUCCESS;
}
static CUresult FuncGetAttribute(int *v, CUfunction_attribute a, CUfunction f)
{
    (void)f;
    *v = a == CU_FUNC_ATTRIBUTE_NUM_REGS ? 32 : 0;
    return CUDA_SUCCESS;
}

/* ---- streams, events, launches */

static CUresult StreamCreate(CUstream *s, unsigned flags)
{
    (void)flags;
    *s = (CUstream)(uintptr_t)0x5000;
    return CUDA_SUCCESS;
}
static CUresult StreamDestroy(CUstream s) { (void)s; return CUDA_SUCCESS; }
/* STUB_CUDA_HANG=1: once a kernel was launched, every wait for the device waits forever,
   as for a kernel that never returns (the watchdog of tilec's GPU commands must end it) */
static CUresult wait_device(void)
{
    const char *hang = getenv("STUB_CUDA_HANG");
    while (hang && *hang == '1' && state.launches > 0)
        sleep(60);
    return CUDA_SUCCESS;
}
static CUresult StreamSynchronize(CUstream s) { (void)s; return wait_device(); }
static CUresult StreamIsCapturing(CUstream s, CUstreamCaptureStatus *st)
{
    (void)s;
    *st = state.capturing ? CU_STREAM_CAPTURE_STATUS_ACTIVE : CU_STREAM_CAPTURE_STATUS_NONE;
    return CUDA_SUCCESS;
}
static CUresult EventCreate(CUevent *e, unsigned flags)
{
    (void)flags;
    *e = (CUevent)(uintptr_t)0x6000;
    return CUDA_SUCCESS;
}
static CUresult EventDestroy(CUevent e) { (void)e; return CUDA_SUCCESS; }
static CUresult EventRecord(CUevent e, CUstream s) { (void)e, (void)s; return CUDA_SUCCESS; }
static CUresult EventSynchronize(CUevent e) { (void)e; return wait_device(); }
static CUresult EventElapsedTime(float *ms, CUevent a, CUevent b)
{
    (void)a, (void)b;
    *ms = 0.25f;   /* every timed region takes a quarter of a millisecond */
    return CUDA_SUCCESS;
}

/* What a kernel does when a checked index is outside its dim: unless the sink is empty,
   the first to move the claim word from 0 to 1 writes the record, `raised` last. */
static void raise_fault(const Function *fn)
{
    const char *env = getenv("STUB_CUDA_FAULT");
    StubFault f = state.fault;
    if (env) {
        long long index, extent;
        unsigned param, dim, line, col, kind;
        if (sscanf(env, "%u:%u:%lld:%lld:%u:%u:%u", &param, &dim, &index, &extent, &line, &col,
                   &kind) != 7)
            return;
        f = (StubFault){true, param, dim, kind, line, col, index, extent};
    }
    if (!f.on || fn->module < 0 || !module_sink[fn->module])
        return;
    uint64_t sink[3];
    memcpy(sink, (void *)(uintptr_t)module_sink[fn->module], sizeof sink);
    uint32_t *claim = (uint32_t *)(uintptr_t)sink[0];
    uint8_t *record = (uint8_t *)(uintptr_t)sink[1];
    if (!claim || !record || *claim)
        return;
    *claim = 1;
    uint32_t words[7] = {(uint32_t)sink[2], f.param, f.dim, f.kind, f.line, f.col, 0};
    memcpy(record + 4, words, sizeof words);
    memcpy(record + 32, &f.index, 8);
    memcpy(record + 40, &f.extent, 8);
    uint32_t raised = 1;
    memcpy(record, &raised, 4);
}

/* ---- graphs: the launches between cuStreamBeginCapture and cuStreamEndCapture are recorded
   (not run) as a graph's nodes; cuGraphLaunch runs them in order through LaunchKernel */

enum { MAX_GRAPH_NODES = 64 };
typedef struct GraphNode {
    CUfunction f;
    unsigned grid[3], block[3], smem;
    uint64_t args[STUB_MAX_ARGS];
} GraphNode;
typedef struct Graph {
    int n;
    GraphNode node[MAX_GRAPH_NODES];
} Graph;
static Graph *recording;   /* the capture in progress */

static CUresult StreamBeginCapture(CUstream s, CUstreamCaptureMode mode)
{
    (void)s, (void)mode;
    if (recording)
        return CUDA_ERROR_ILLEGAL_STATE;
    recording = calloc(1, sizeof *recording);
    if (!recording)
        return CUDA_ERROR_OUT_OF_MEMORY;
    state.capturing = true;
    return CUDA_SUCCESS;
}
static CUresult StreamEndCapture(CUstream s, CUgraph *g)
{
    (void)s;
    if (!recording)
        return CUDA_ERROR_ILLEGAL_STATE;
    *g = (CUgraph)recording;
    recording = NULL;
    state.capturing = false;
    state.graphs++;
    return CUDA_SUCCESS;
}
static CUresult GraphInstantiateWithFlags(CUgraphExec *e, CUgraph g, unsigned long long flags)
{
    (void)flags;
    Graph *copy = malloc(sizeof *copy);
    if (!copy)
        return CUDA_ERROR_OUT_OF_MEMORY;
    memcpy(copy, g, sizeof *copy);
    *e = (CUgraphExec)copy;
    state.graph_execs++;
    return CUDA_SUCCESS;
}
static CUresult GraphDestroy(CUgraph g) { free(g); state.graphs--; return CUDA_SUCCESS; }
static CUresult GraphExecDestroy(CUgraphExec e) { free(e); state.graph_execs--; return CUDA_SUCCESS; }
static CUresult LaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                             unsigned by, unsigned bz, unsigned smem, CUstream s, void **args,
                             void **extra);
static CUresult GraphLaunch(CUgraphExec e, CUstream s)
{
    const Graph *g = (const Graph *)e;
    state.graph_launches++;
    for (int i = 0; i < g->n; i++) {
        const GraphNode *n = &g->node[i];
        void *args[STUB_MAX_ARGS];
        for (int a = 0; a < STUB_MAX_ARGS; a++)
            args[a] = (void *)&n->args[a];
        CUresult r = LaunchKernel(n->f, n->grid[0], n->grid[1], n->grid[2], n->block[0],
                                  n->block[1], n->block[2], n->smem, s, args, NULL);
        if (r != CUDA_SUCCESS)
            return r;
    }
    return CUDA_SUCCESS;
}

/* A launch during a capture becomes a node: its arguments are copied now, as the driver's
   are (8 bytes per slot: the entry's own count or the tests' record_args, the larger). */
static CUresult record_node(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                            unsigned by, unsigned bz, unsigned smem, void **args)
{
    if (recording->n >= MAX_GRAPH_NODES)
        return CUDA_ERROR_OUT_OF_MEMORY;
    GraphNode *n = &recording->node[recording->n++];
    *n = (GraphNode){.f = f, .grid = {gx, gy, gz}, .block = {bx, by, bz}, .smem = smem};
    const Function *fn = &functions[((uintptr_t)f - 0x10000) % MAX_FUNCTIONS];
    int nargs = fn->nparams > state.record_args ? fn->nparams : state.record_args;
    for (int i = 0; i < nargs && i < STUB_MAX_ARGS; i++)
        memcpy(&n->args[i], args[i], 8);
    return CUDA_SUCCESS;
}

static CUresult LaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                             unsigned by, unsigned bz, unsigned smem, CUstream s, void **args,
                             void **extra)
{
    (void)s, (void)extra;
    if (recording)   /* a launch the driver refuses is refused during a capture too */
        return state.launch_result ? (CUresult)state.launch_result
                                   : record_node(f, gx, gy, gz, bx, by, bz, smem, args);
    StubLaunch *l = &state.last_launch;
    state.launches++;
    l->grid[0] = gx, l->grid[1] = gy, l->grid[2] = gz;
    l->block[0] = bx, l->block[1] = by, l->block[2] = bz;
    l->smem = smem;
    /* libtile keeps every argument in an 8-byte slot, so 8 bytes may be read from each */
    for (int i = 0; i < state.record_args && i < STUB_MAX_ARGS; i++)
        memcpy(&l->args[i], args[i], 8);
    const Function *fn = &functions[((uintptr_t)f - 0x10000) % MAX_FUNCTIONS];
    raise_fault(fn);
    if (!getenv("STUB_CUDA_LOG") && !getenv("STUB_CUDA_STORE"))
        return state.launch_result;
    char line[4096];
    int used = snprintf(line, sizeof line, "launch %s grid %u %u %u block %u %u %u smem %u args",
                        fn->name, gx, gy, gz, bx, by, bz, smem);
    for (int i = 0; i < fn->nparams && used > 0 && (size_t)used < sizeof line; i++) {
        uint64_t v;
        memcpy(&v, args[i], 8);
        used += snprintf(line + used, sizeof line - (size_t)used, " 0x%llx",
                         (unsigned long long)v);
    }
    log_line("%s\n", line);
    const char *store = getenv("STUB_CUDA_STORE");
    int arg;
    long long offset;
    if (store && sscanf(store, "%d:%lld", &arg, &offset) == 2 && arg >= 0 &&
        arg < fn->nparams) {
        uint64_t base;
        memcpy(&base, args[arg], 8);
        CUdeviceptr at = (CUdeviceptr)(base + (uint64_t)offset);
        if (find_allocation(at, 1))
            *(uint8_t *)(uintptr_t)at = 0;
    }
    return state.launch_result;
}

static CUresult TensorMapEncodeTiled(CUtensorMap *map, CUtensorMapDataType type, cuuint32_t rank,
                                    void *base, const cuuint64_t *dims, const cuuint64_t *strides,
                                    const cuuint32_t *box, const cuuint32_t *estrides,
                                    CUtensorMapInterleave il, CUtensorMapSwizzle sw,
                                    CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oob)
{
    (void)type, (void)estrides, (void)il, (void)l2, (void)oob;
    state.tmap_encodes++;
    state.tmap_rank = rank;
    state.tmap_swizzle = (unsigned)sw;
    for (cuuint32_t d = 0; d < rank && d < 5; d++) {
        state.tmap_dims[d] = dims[d];
        state.tmap_box[d] = box[d];
        if (d)
            state.tmap_strides[d - 1] = strides[d - 1];
    }
    memset(map, 0, sizeof *map);
    memcpy(map, &base, sizeof base);   /* the launch's argument shows the tensor it maps */
    return CUDA_SUCCESS;
}

typedef struct Entry {
    const char *name;
    void *fn;
} Entry;

#define E(name) {"cu" #name, (void *)name}
static const Entry entries[] = {
    E(GetErrorName), E(Init), E(DriverGetVersion), E(DeviceGetCount), E(DeviceGet),
    E(DeviceGetName), E(DeviceGetAttribute), E(DevicePrimaryCtxRetain),
    E(DevicePrimaryCtxRelease), E(CtxGetCurrent), E(CtxSetCurrent), E(CtxGetDevice),
    E(CtxSynchronize), E(ModuleLoadDataEx), E(ModuleUnload), E(ModuleGetFunction),
    E(FuncSetAttribute), E(FuncGetAttribute), E(MemAlloc), E(MemFree), E(MemcpyHtoD),
    E(MemcpyDtoH), E(MemcpyDtoDAsync), E(MemsetD8Async), E(MemsetD16Async), E(MemsetD32Async),
    E(MemsetD2D32Async), E(MemGetAddressRange), E(StreamCreate), E(StreamDestroy),
    E(StreamSynchronize), E(StreamIsCapturing), E(EventCreate), E(EventDestroy),
    E(EventRecord), E(EventSynchronize), E(EventElapsedTime), E(LaunchKernel),
    E(ModuleGetGlobal), E(MemHostAlloc), E(MemFreeHost), E(MemHostGetDevicePointer),
    E(TensorMapEncodeTiled), E(StreamBeginCapture), E(StreamEndCapture),
    E(GraphInstantiateWithFlags), E(GraphDestroy), E(GraphExecDestroy), E(GraphLaunch),
};

CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version, cuuint64_t flags,
                             CUdriverProcAddressQueryResult *status)
{
    (void)version, (void)flags;
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        if (strcmp(entries[i].name, symbol) == 0) {
            *pfn = entries[i].fn;
            if (status)
                *status = CU_GET_PROC_ADDRESS_SUCCESS;
            return CUDA_SUCCESS;
        }
    *pfn = NULL;
    if (status)
        *status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    return CUDA_ERROR_NOT_FOUND;
}
