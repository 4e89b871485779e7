/* libtile.c — the runtime: contexts (the CUDA driver opened with dlopen, one slot per CUDA
   context a launch runs on), bundles (the checked reader's view plus per-device modules and
   functions), dispatch and launch, and tilec's internal interface (tile_internal.h: the
   driver calls its commands need, a launch in three steps): the one place in tilec and
   libtile that opens the driver. Lua's rules: all state hangs off a tile_context, errors are status
   codes with a per-thread message, nothing prints, exits or aborts.
   The launch path allocates nothing, formats no strings and compares no names: the
   per-kernel plans and per-device candidate lists are built at load time. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h> /* types and constants only: libcuda is opened with dlopen */

#include "bundle_format.h"
#include "tensor_map.h"
#include "tile.h"
#include "tile_internal.h"

_Static_assert((int)TILE_F32 == (int)TBN_DT_F32 && (int)TILE_BF16 == (int)TBN_DT_BF16 &&
               (int)TILE_BOOL == (int)TBN_DT_BOOL && (int)TILE_U32 == (int)TBN_DT_U32 &&
               (int)TILE_DTYPE_COUNT == (int)TBN_DT_COUNT, "tile.h's dtypes are the bundle's");
_Static_assert((int)TILE_MAX_RANK == (int)TBN_MAX_RANK, "ranks");
_Static_assert((int)TILE_ARG_CONST == (int)TBN_PARAM_CONST &&
               (int)TILE_REDUCE_MIN == (int)TBN_REDUCE_MIN, "param kinds and reduce ops");

/* The driver ABI asked of cuGetProcAddress: CUDA 12.0's, which a CUDA 13 driver still
   serves (it maps plain names to the right _v2/_v3 entry points for that version). */
#define DRIVER_ABI_VERSION 12000
enum { MAX_SLOTS = 32, MESSAGE_SIZE = 1024 };

/* ---- the driver's entry points */

typedef CUresult (*GetProcAddressFn)(const char *, void **, int, cuuint64_t,
                                     CUdriverProcAddressQueryResult *);

/* Named after the driver function without the `cu` (cuda.h's macros rename plain names such
   as cuMemAlloc to cuMemAlloc_v2, so the members avoid those names). */
typedef struct Driver {
    void *library;
    GetProcAddressFn get_proc;
    CUresult (*GetErrorName)(CUresult, const char **);
    CUresult (*Init)(unsigned);
    CUresult (*DriverGetVersion)(int *);
    CUresult (*DeviceGetCount)(int *);
    CUresult (*DeviceGet)(CUdevice *, int);
    CUresult (*DeviceGetName)(char *, int, CUdevice);
    CUresult (*DeviceGetAttribute)(int *, CUdevice_attribute, CUdevice);
    CUresult (*DevicePrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*DevicePrimaryCtxRelease)(CUdevice);
    CUresult (*CtxGetCurrent)(CUcontext *);
    CUresult (*CtxSetCurrent)(CUcontext);
    CUresult (*CtxGetDevice)(CUdevice *);
    CUresult (*CtxSynchronize)(void);
    CUresult (*ModuleLoadDataEx)(CUmodule *, const void *, unsigned, CUjit_option *, void **);
    CUresult (*ModuleUnload)(CUmodule);
    CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
    CUresult (*FuncSetAttribute)(CUfunction, CUfunction_attribute, int);
    CUresult (*FuncGetAttribute)(int *, CUfunction_attribute, CUfunction);
    CUresult (*MemAlloc)(CUdeviceptr *, size_t);
    CUresult (*MemFree)(CUdeviceptr);
    CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
    CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
    CUresult (*MemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
    CUresult (*MemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
    CUresult (*MemsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
    CUresult (*MemsetD32Async)(CUdeviceptr, unsigned int, size_t, CUstream);
    CUresult (*MemsetD2D32Async)(CUdeviceptr, size_t, unsigned int, size_t, size_t, CUstream);
    CUresult (*MemGetAddressRange)(CUdeviceptr *, size_t *, CUdeviceptr);
    CUresult (*StreamCreate)(CUstream *, unsigned);
    CUresult (*StreamDestroy)(CUstream);
    CUresult (*StreamSynchronize)(CUstream);
    CUresult (*StreamIsCapturing)(CUstream, CUstreamCaptureStatus *);
    CUresult (*EventCreate)(CUevent *, unsigned);
    CUresult (*EventDestroy)(CUevent);
    CUresult (*EventRecord)(CUevent, CUstream);
    CUresult (*EventSynchronize)(CUevent);
    CUresult (*EventElapsedTime)(float *, CUevent, CUevent);
    CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void **, void **);
    CUresult (*ModuleGetGlobal)(CUdeviceptr *, size_t *, CUmodule, const char *);
    CUresult (*MemHostAlloc)(void **, size_t, unsigned);
    CUresult (*MemFreeHost)(void *);
    CUresult (*MemHostGetDevicePointer)(CUdeviceptr *, void *, unsigned);
    CUresult (*TensorMapEncodeTiled)(CUtensorMap *, CUtensorMapDataType, cuuint32_t, void *,
                                     const cuuint64_t *, const cuuint64_t *, const cuuint32_t *,
                                     const cuuint32_t *, CUtensorMapInterleave, CUtensorMapSwizzle,
                                     CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
} Driver;

#define ENTRY(member) {"cu" #member, offsetof(Driver, member)}
static const struct { const char *symbol; size_t offset; } entry_points[] = {
    ENTRY(GetErrorName), ENTRY(Init), ENTRY(DriverGetVersion), ENTRY(DeviceGetCount),
    ENTRY(DeviceGet), ENTRY(DeviceGetName), ENTRY(DeviceGetAttribute),
    ENTRY(DevicePrimaryCtxRetain), ENTRY(DevicePrimaryCtxRelease), ENTRY(CtxGetCurrent),
    ENTRY(CtxSetCurrent), ENTRY(CtxGetDevice), ENTRY(CtxSynchronize), ENTRY(ModuleLoadDataEx),
    ENTRY(ModuleUnload), ENTRY(ModuleGetFunction), ENTRY(FuncSetAttribute),
    ENTRY(FuncGetAttribute), ENTRY(MemAlloc), ENTRY(MemFree), ENTRY(MemcpyHtoD),
    ENTRY(MemcpyDtoH), ENTRY(MemcpyDtoDAsync), ENTRY(MemsetD8Async), ENTRY(MemsetD16Async),
    ENTRY(MemsetD32Async), ENTRY(MemsetD2D32Async), ENTRY(MemGetAddressRange),
    ENTRY(StreamCreate), ENTRY(StreamDestroy), ENTRY(StreamSynchronize),
    ENTRY(StreamIsCapturing), ENTRY(EventCreate), ENTRY(EventDestroy), ENTRY(EventRecord),
    ENTRY(EventSynchronize), ENTRY(EventElapsedTime), ENTRY(LaunchKernel),
    ENTRY(ModuleGetGlobal), ENTRY(MemHostAlloc), ENTRY(MemFreeHost),
    ENTRY(MemHostGetDevicePointer), ENTRY(TensorMapEncodeTiled),
};
#undef ENTRY

/* ---- contexts */

/* One per CUDA context a launch has run on (normally each device's primary context). */
typedef struct Slot {
    CUcontext context;
    CUdevice device;
    bool retained;             /* we retained it as the primary context of `device` */
    int sm;                    /* 90 for compute capability 9.0 */
    int sm_count;              /* multiprocessors: a persistent variant's most blocks */
    char name[256];
} Slot;

typedef struct MessageBuffer {
    struct MessageBuffer *next;
    char text[MESSAGE_SIZE];
} MessageBuffer;

struct tile_context {
    Driver cu;
    bool has_driver;
    int device_count;
    atomic_uint flags;
    pthread_mutex_t lock;              /* slot creation, message buffers */
    _Atomic(Slot *) slots[MAX_SLOTS];
    atomic_int nslots;
    pthread_key_t message_key;         /* this thread's MessageBuffer */
    MessageBuffer *messages;           /* every thread's, freed with the context */
    char startup_message[MESSAGE_SIZE];
};

static tile_status fail(const tile_context *cctx, tile_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static tile_status fail(const tile_context *cctx, tile_status s, const char *fmt, ...)
{
    tile_context *ctx = (tile_context *)cctx;
    if (!ctx)
        return s;
    MessageBuffer *m = pthread_getspecific(ctx->message_key);
    if (!m) {
        m = calloc(1, sizeof *m);
        if (!m)
            return s;
        pthread_mutex_lock(&ctx->lock);
        m->next = ctx->messages;
        ctx->messages = m;
        pthread_mutex_unlock(&ctx->lock);
        pthread_setspecific(ctx->message_key, m);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->text, sizeof m->text, fmt, ap);
    va_end(ap);
    return s;
}

const char *tile_error_message(const tile_context *ctx)
{
    if (!ctx)
        return "no tile_context";
    MessageBuffer *m = pthread_getspecific(ctx->message_key);
    return m ? m->text : "";
}

static const char *error_name(const tile_context *ctx, CUresult r)
{
    const char *name = NULL;
    if (ctx->cu.GetErrorName)
        ctx->cu.GetErrorName(r, &name);
    return name ? name : "CUDA_ERROR_UNKNOWN";
}

const char *tile_status_string(tile_status status)
{
    static const char *const names[TILE_STATUS_COUNT] = {
        "TILE_OK", "TILE_ERR_NO_DEVICE", "TILE_ERR_BUNDLE", "TILE_ERR_ARCH", "TILE_ERR_SHAPE",
        "TILE_ERR_ARG", "TILE_ERR_CONST", "TILE_ERR_CAPTURE", "TILE_ERR_LAUNCH",
        "TILE_ERR_MEMORY", "TILE_ERR_IO", "TILE_ERR_CHECK", "TILE_ERR_INDEX"};
    return (unsigned)status < TILE_STATUS_COUNT ? names[status] : "TILE_ERR_?";
}

const char *tile_dtype_name(tile_dtype dtype) { return tbn_dtype_name((int)dtype); }
int tile_dtype_size(tile_dtype dtype) { return tbn_dtype_size((int)dtype); }

static tile_status open_driver(tile_context *ctx, const char *path)
{
    void *lib = dlopen(path ? path : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        return fail(ctx, TILE_ERR_NO_DEVICE, "%s not found: no CUDA driver on this machine "
                    "(%s)", path ? path : "libcuda.so.1", why ? why : "dlopen failed");
    }
    GetProcAddressFn get = (GetProcAddressFn)dlsym(lib, "cuGetProcAddress_v2");
    if (!get) {
        dlclose(lib);
        return fail(ctx, TILE_ERR_NO_DEVICE, "the CUDA driver has no cuGetProcAddress_v2 "
                    "(a driver older than CUDA 12)");
    }
    for (size_t i = 0; i < sizeof entry_points / sizeof entry_points[0]; i++) {
        void *fn = NULL;
        CUdriverProcAddressQueryResult found = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
        CUresult r = get(entry_points[i].symbol, &fn, DRIVER_ABI_VERSION,
                         CU_GET_PROC_ADDRESS_DEFAULT, &found);
        if (r != CUDA_SUCCESS || found != CU_GET_PROC_ADDRESS_SUCCESS || !fn) {
            dlclose(lib);
            memset(&ctx->cu, 0, sizeof ctx->cu);
            return fail(ctx, TILE_ERR_NO_DEVICE, "the CUDA driver has no %s for CUDA 12.0",
                        entry_points[i].symbol);
        }
        memcpy((char *)&ctx->cu + entry_points[i].offset, &fn, sizeof fn);
    }
    ctx->cu.library = lib;
    ctx->cu.get_proc = get;
    CUresult r = ctx->cu.Init(0);
    if (r != CUDA_SUCCESS)
        return fail(ctx, TILE_ERR_NO_DEVICE, "cuInit failed: %s (no usable GPU?)",
                    error_name(ctx, r));
    if ((r = ctx->cu.DeviceGetCount(&ctx->device_count)) != CUDA_SUCCESS)
        return fail(ctx, TILE_ERR_NO_DEVICE, "cuDeviceGetCount failed: %s", error_name(ctx, r));
    if (ctx->device_count < 1)
        return fail(ctx, TILE_ERR_NO_DEVICE, "the CUDA driver sees no GPU");
    ctx->has_driver = true;
    return TILE_OK;
}

tile_status tile_context_create(tile_context **out, const tile_options *opts)
{
    if (!out)
        return TILE_ERR_ARG;   /* no context to hold a message */
    *out = NULL;
    tile_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return TILE_ERR_MEMORY;
    if (pthread_key_create(&ctx->message_key, NULL) != 0) {
        free(ctx);
        return TILE_ERR_MEMORY;
    }
    pthread_mutex_init(&ctx->lock, NULL);
    unsigned flags = opts ? opts->flags : 0;
    const char *check = getenv("TILE_CHECK");
    if (check && check[0] && strcmp(check, "0") != 0)
        flags |= TILE_CONTEXT_CHECK;
    atomic_store(&ctx->flags, flags);
    *out = ctx;
    tile_status s = open_driver(ctx, opts ? opts->driver_library : NULL);
    if (s != TILE_OK)   /* kept for launches from any thread */
        snprintf(ctx->startup_message, sizeof ctx->startup_message, "%s",
                 tile_error_message(ctx));
    return s;
}

void tile_context_destroy(tile_context *ctx)
{
    if (!ctx)
        return;
    for (int i = 0; i < atomic_load(&ctx->nslots); i++) {
        Slot *s = atomic_load(&ctx->slots[i]);
        if (s->retained && ctx->cu.DevicePrimaryCtxRelease)
            ctx->cu.DevicePrimaryCtxRelease(s->device);
        free(s);
    }
    if (ctx->cu.library)
        dlclose(ctx->cu.library);
    pthread_key_delete(ctx->message_key);
    for (MessageBuffer *m = ctx->messages, *next; m; m = next) {
        next = m->next;
        free(m);
    }
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

void tile_context_set_checking(tile_context *ctx, bool on)
{
    if (!ctx)
        return;
    if (on)
        atomic_fetch_or(&ctx->flags, TILE_CONTEXT_CHECK);
    else
        atomic_fetch_and(&ctx->flags, ~(unsigned)TILE_CONTEXT_CHECK);
}

int tile_device_count(const tile_context *ctx)
{
    return ctx && ctx->has_driver ? ctx->device_count : 0;
}

static tile_status describe_slot(tile_context *ctx, Slot *s)
{
    int major = 0, minor = 0;
    CUresult r = ctx->cu.DeviceGetName(s->name, (int)sizeof s->name, s->device);
    if (r == CUDA_SUCCESS)
        r = ctx->cu.DeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                                       s->device);
    if (r == CUDA_SUCCESS)
        r = ctx->cu.DeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                                       s->device);
    if (r == CUDA_SUCCESS)
        r = ctx->cu.DeviceGetAttribute(&s->sm_count, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                                       s->device);
    if (r != CUDA_SUCCESS)
        return fail(ctx, TILE_ERR_NO_DEVICE, "cannot query the GPU: %s", error_name(ctx, r));
    s->name[sizeof s->name - 1] = '\0';
    s->sm = major * 10 + minor;
    return TILE_OK;
}

/* The slot of the calling thread's current CUDA context; with none current, device 0's
   primary context, made current. Found without locking once it exists. */
static tile_status current_slot(tile_context *ctx, Slot **out, int *index)
{
    if (!ctx->has_driver)
        return fail(ctx, TILE_ERR_NO_DEVICE, "%s", ctx->startup_message[0] ? ctx->startup_message
                    : "no CUDA driver or GPU (see tile_context_create's status)");
    CUcontext current = NULL;
    CUresult r = ctx->cu.CtxGetCurrent(&current);
    if (r != CUDA_SUCCESS)
        return fail(ctx, TILE_ERR_NO_DEVICE, "cuCtxGetCurrent failed: %s", error_name(ctx, r));
    int n = atomic_load_explicit(&ctx->nslots, memory_order_acquire);
    if (current) {
        for (int i = 0; i < n; i++) {
            Slot *s = atomic_load_explicit(&ctx->slots[i], memory_order_relaxed);
            if (s->context == current) {
                *out = s;
                *index = i;
                return TILE_OK;
            }
        }
    }
    pthread_mutex_lock(&ctx->lock);
    tile_status status = TILE_OK;
    Slot *s = NULL;
    n = atomic_load(&ctx->nslots);
    if (!current) {
        /* device 0's primary context: retained once, shared by every thread */
        for (int i = 0; i < n && !s; i++) {
            Slot *t = atomic_load(&ctx->slots[i]);
            if (t->retained && t->device == 0)
                s = t, *index = i;
        }
        if (s) {
            if ((r = ctx->cu.CtxSetCurrent(s->context)) != CUDA_SUCCESS)
                status = fail(ctx, TILE_ERR_NO_DEVICE, "cuCtxSetCurrent failed: %s",
                              error_name(ctx, r));
            goto done;
        }
    } else {
        for (int i = 0; i < n && !s; i++)   /* another thread may have added it meanwhile */
            if (atomic_load(&ctx->slots[i])->context == current)
                s = atomic_load(&ctx->slots[i]), *index = i;
        if (s)
            goto done;
    }
    if (n >= MAX_SLOTS) {
        status = fail(ctx, TILE_ERR_NO_DEVICE, "more than %d CUDA contexts used with one "
                      "tile_context", MAX_SLOTS);
        goto done;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        status = fail(ctx, TILE_ERR_MEMORY, "out of memory");
        goto done;
    }
    if (!current) {
        r = ctx->cu.DeviceGet(&s->device, 0);
        if (r == CUDA_SUCCESS && (r = ctx->cu.DevicePrimaryCtxRetain(&s->context, s->device)) ==
                                     CUDA_SUCCESS)
            s->retained = true;
        if (r == CUDA_SUCCESS)
            r = ctx->cu.CtxSetCurrent(s->context);
    } else {
        s->context = current;
        r = ctx->cu.CtxGetDevice(&s->device);
    }
    if (r != CUDA_SUCCESS)
        status = fail(ctx, TILE_ERR_NO_DEVICE, "cannot use the GPU's context: %s",
                      error_name(ctx, r));
    if (status == TILE_OK)
        status = describe_slot(ctx, s);
    if (status != TILE_OK) {
        if (s->retained)
            ctx->cu.DevicePrimaryCtxRelease(s->device);
        free(s);
        s = NULL;
        goto done;
    }
    atomic_store(&ctx->slots[n], s);
    atomic_store_explicit(&ctx->nslots, n + 1, memory_order_release);
    *index = n;
done:
    pthread_mutex_unlock(&ctx->lock);
    *out = s;
    return status;
}

/* ---- bundles */

/* Where each parameter's values come from in a launch, fixed per kernel at load time. */
typedef struct ParamPlan {
    uint8_t kind, dtype, rank, reduce;
    uint8_t esize;
    uint16_t slot;                /* index into pointers[] / scalars[] / consts[] by kind */
    uint16_t first_stride;        /* tensors: into strides[] */
    int16_t dim_sym[TBN_MAX_RANK];   /* symbol index, or -1 for a literal */
    int64_t dim_value[TBN_MAX_RANK];
} ParamPlan;

typedef struct KernelPlan {
    ParamPlan params[TBN_MAX_PARAMS];
    bool has_reduction;
    int nargs;                    /* kernel ABI parameters */
    int ntensors, nstrides, nscalars, nconsts;   /* what tile_launch_values must hold */
} KernelPlan;

/* A bundle's state on one CUDA context: modules, functions, the dispatch entries this GPU
   may use (per kernel, in table order). */
/* The tensor maps of a TMA variant encoded for one set of tensors (each map's base, dims
   and strides): a repeated launch on the same tensors does not encode again. */
enum { TMAP_CACHE_WAYS = 4 };
typedef struct TmapKey {
    uintptr_t base[TBN_MAX_TMAPS];
    int64_t dims[TBN_MAX_TMAPS][TMAP_MAX_RANK], strides[TBN_MAX_TMAPS][TMAP_MAX_RANK];
} TmapKey;
typedef struct TmapEntry {
    bool used;
    TmapKey key;
    CUtensorMap maps[TBN_MAX_TMAPS];
} TmapEntry;
typedef struct TmapCache {
    pthread_mutex_t lock;
    unsigned next;                 /* the way a miss replaces (round robin) */
    TmapEntry ways[TMAP_CACHE_WAYS];
} TmapCache;

/* An index fault (docs/runtime.md, "Index faults"): what the first kernel thread to take the
   claim word writes, `raised` last after a system-wide fence. In host memory the device maps,
   so a launch reads it without a copy; the layout is codegen's (codegen.h's kernel ABI). */
typedef struct FaultRecord {
    uint32_t raised, variant, param, dim, kind, line, col, pad;
    int64_t index, extent;
} FaultRecord;
_Static_assert(sizeof(FaultRecord) == 48, "the fault record's layout is codegen's");

/* The sink a module with checked indices defines: where its faults go, filled at load. */
enum { FAULT_SINK_BYTES = 24 };

typedef struct BundleDevice {
    CUmodule *modules;
    _Atomic(CUfunction) *functions;
    bool *runnable;
    uint32_t *candidates;          /* dispatch entry indices, grouped per kernel */
    uint32_t *first_candidate;     /* per kernel, plus one past the end */
    TmapCache **tmap_caches;       /* per variant: NULL unless it takes tensor maps */
    /* made when the first module with a fault sink loads: the claim word (device memory)
       and the record its kernels share */
    CUdeviceptr fault_claim;
    _Atomic(FaultRecord *) fault_record;
} BundleDevice;

struct tile_bundle {
    tile_context *ctx;
    TbnBundle view;
    KernelPlan *plans;
    KernelPlan *program_plans;     /* a program's parameters, planned as a kernel's */
    pthread_mutex_t lock;          /* device state creation, module loads */
    _Atomic(BundleDevice *) devices[MAX_SLOTS];
    Slot *device_slots[MAX_SLOTS];
};

/* Where each of a signature's parameters (a kernel's or a program's) takes its values from. */
static void plan_params(const TbnBundle *v, uint32_t first_param, uint32_t nparams,
                    uint32_t nsyms, KernelPlan *plan)
{
    int tensors = 0, scalars = 0, consts = 0, strides = 0;
    plan->nargs = (int)nsyms;
    for (uint32_t i = 0; i < nparams; i++) {
        const TbnParam *p = &v->params[first_param + i];
        ParamPlan *pp = &plan->params[i];
        pp->kind = p->kind;
        pp->dtype = p->dtype;
        pp->rank = p->rank;
        pp->reduce = p->reduce;
        pp->esize = (uint8_t)tbn_dtype_size(p->dtype);
        plan->has_reduction |= p->reduce != TBN_REDUCE_NONE;
        if (p->kind == TBN_PARAM_TENSOR) {
            pp->slot = (uint16_t)tensors++;
            pp->first_stride = (uint16_t)strides;
            strides += p->rank;
            plan->nargs += 1 + p->rank;
            for (int d = 0; d < p->rank; d++) {
                pp->dim_sym[d] = (int16_t)(p->dims[d] < 0 ? -p->dims[d] - 1 : -1);
                pp->dim_value[d] = p->dims[d] < 0 ? 0 : p->dims[d];
            }
        } else if (p->kind == TBN_PARAM_SCALAR) {
            pp->slot = (uint16_t)scalars++;
            plan->nargs++;
        } else
            pp->slot = (uint16_t)consts++;
    }
    plan->ntensors = tensors;
    plan->nstrides = strides;
    plan->nscalars = scalars;
    plan->nconsts = consts;
}

static void build_plans(tile_bundle *b)
{
    const TbnBundle *v = &b->view;
    for (uint32_t k = 0; k < v->nkernels; k++)
        plan_params(v, v->kernels[k].first_param, v->kernels[k].nparams, v->kernels[k].nsyms,
                    &b->plans[k]);
    for (uint32_t p = 0; p < v->nprograms; p++)
        plan_params(v, v->programs[p].first_param, v->programs[p].nparams, v->programs[p].nsyms,
                    &b->program_plans[p]);
}

static tile_status load_view(tile_context *ctx, const void *data, size_t size, bool copy,
                             tile_bundle **out)
{
    *out = NULL;
    tile_bundle *b = calloc(1, sizeof *b);
    if (!b)
        return fail(ctx, TILE_ERR_MEMORY, "out of memory loading a bundle");
    char err[512];
    if (tbn_read(data, size, copy, &b->view, err, sizeof err) != 0) {
        tbn_free(&b->view);
        free(b);
        return fail(ctx, TILE_ERR_BUNDLE, "%s", err);
    }
    b->plans = calloc(b->view.nkernels + 1, sizeof *b->plans);
    b->program_plans = calloc(b->view.nprograms + 1, sizeof *b->program_plans);
    if (!b->plans || !b->program_plans) {
        free(b->plans);
        free(b->program_plans);
        tbn_free(&b->view);
        free(b);
        return fail(ctx, TILE_ERR_MEMORY, "out of memory loading a bundle");
    }
    b->ctx = ctx;
    pthread_mutex_init(&b->lock, NULL);
    build_plans(b);
    *out = b;
    return TILE_OK;
}

tile_status tile_bundle_load_memory(tile_context *ctx, const void *data, size_t size,
                                    tile_bundle **out)
{
    if (!out)
        return fail(ctx, TILE_ERR_ARG, "tile_bundle_load_memory: `out` is NULL");
    *out = NULL;
    if (!ctx)
        return TILE_ERR_ARG;
    if (!data && size)
        return fail(ctx, TILE_ERR_ARG, "tile_bundle_load_memory: `data` is NULL");
    return load_view(ctx, data, size, true, out);
}

tile_status tile_bundle_load_file(tile_context *ctx, const char *path, tile_bundle **out)
{
    if (out)
        *out = NULL;
    if (!out || !ctx || !path)
        return fail(ctx, TILE_ERR_ARG, "tile_bundle_load_file: a NULL argument");
    uint8_t *data;
    size_t size;
    char err[MESSAGE_SIZE];
    int read = tbn_read_file(path, &data, &size, err, sizeof err);
    if (read != 0)
        return fail(ctx, read == TBN_FILE_MEMORY ? TILE_ERR_MEMORY : TILE_ERR_IO, "%s", err);
    tile_status s = load_view(ctx, data, size, false, out);
    if (s != TILE_OK) {
        free(data);
        char msg[MESSAGE_SIZE];
        snprintf(msg, sizeof msg, "%s", tile_error_message(ctx));
        return fail(ctx, s, "%s: %s", path, msg);
    }
    (*out)->view.owned = true;   /* the view keeps the bytes it points into */
    return TILE_OK;
}

static void free_device(BundleDevice *d, uint32_t nvariants)
{
    if (!d)
        return;
    for (uint32_t v = 0; d->tmap_caches && v < nvariants; v++)
        if (d->tmap_caches[v]) {
            pthread_mutex_destroy(&d->tmap_caches[v]->lock);
            free(d->tmap_caches[v]);
        }
    free(d->tmap_caches);
    free(d->modules);
    free((void *)d->functions);
    free(d->runnable);
    free(d->candidates);
    free(d->first_candidate);
    free(d);
}

void tile_bundle_free(tile_bundle *b)
{
    if (!b)
        return;
    for (int i = 0; i < MAX_SLOTS; i++) {
        BundleDevice *d = atomic_load(&b->devices[i]);
        if (!d)
            continue;
        for (uint32_t v = 0; v < b->view.nvariants; v++)
            if (d->modules[v] && b->ctx->cu.ModuleUnload)
                b->ctx->cu.ModuleUnload(d->modules[v]);
        FaultRecord *record = atomic_load(&d->fault_record);
        if (record) {
            b->ctx->cu.MemFree(d->fault_claim);
            b->ctx->cu.MemFreeHost(record);
        }
        free_device(d, b->view.nvariants);
    }
    pthread_mutex_destroy(&b->lock);
    free(b->plans);
    free(b->program_plans);
    tbn_free(&b->view);
    free(b);
}

int tile_bundle_kernel_count(const tile_bundle *b) { return b ? (int)b->view.nkernels : 0; }

const char *tile_bundle_kernel_name(const tile_bundle *b, int index)
{
    return b && index >= 0 && (uint32_t)index < b->view.nkernels ? b->view.kernels[index].name
                                                                  : NULL;
}

int tile_bundle_find_kernel(const tile_bundle *b, const char *name)
{
    for (uint32_t k = 0; b && name && k < b->view.nkernels; k++)
        if (strcmp(b->view.kernels[k].name, name) == 0)
            return (int)k;
    return -1;
}

static const TbnKernel *kernel_at(const tile_bundle *b, int kernel)
{
    return b && kernel >= 0 && (uint32_t)kernel < b->view.nkernels ? &b->view.kernels[kernel]
                                                                   : NULL;
}

int tile_kernel_param_count(const tile_bundle *b, int kernel)
{
    const TbnKernel *k = kernel_at(b, kernel);
    return k ? (int)k->nparams : -1;
}

int tile_kernel_symbol_count(const tile_bundle *b, int kernel)
{
    const TbnKernel *k = kernel_at(b, kernel);
    return k ? (int)k->nsyms : -1;
}

/* A kernel's or a program's parameter record as tile.h describes it. */
static void param_info(const TbnParam *p, tile_param_info *out)
{
    memset(out, 0, sizeof *out);
    out->name = p->name;
    out->kind = (tile_arg_kind)p->kind;
    out->dtype = (tile_dtype)p->dtype;
    out->rank = p->rank;
    for (int d = 0; d < p->rank; d++)
        out->dims[d] = p->dims[d];
    out->reduce = (tile_reduce)p->reduce;
    out->written = p->written;
    out->read = p->read;
    out->const_values = p->const_values;
    out->nconst_values = (int)p->nconst_values;
}

tile_status tile_kernel_param(const tile_bundle *b, int kernel, int index, tile_param_info *out)
{
    const TbnKernel *k = kernel_at(b, kernel);
    if (!k || !out || index < 0 || (uint32_t)index >= k->nparams)
        return TILE_ERR_ARG;
    param_info(&b->view.params[k->first_param + (uint32_t)index], out);
    return TILE_OK;
}

const char *tile_kernel_symbol_name(const tile_bundle *b, int kernel, int index)
{
    const TbnKernel *k = kernel_at(b, kernel);
    return k && index >= 0 && (uint32_t)index < k->nsyms ? b->view.syms[k->first_sym +
                                                                        (uint32_t)index].name
                                                         : NULL;
}

/* Can this GPU run the variant? "sm_90a" code runs only on 9.0; plain "sm_80" PTX is
   JIT-compiled for any newer GPU. */
static bool variant_runs_on(const TbnVariant *v, int sm)
{
    size_t n = strlen(v->target);
    bool arch_specific = n > 0 && v->target[n - 1] == 'a';
    return arch_specific ? (int)v->sm == sm : sm >= (int)v->sm;
}

static tile_status bundle_device(tile_context *ctx, tile_bundle *b, Slot *slot, int index,
                                 BundleDevice **out)
{
    BundleDevice *d = atomic_load_explicit(&b->devices[index], memory_order_acquire);
    if (d) {
        *out = d;
        return TILE_OK;
    }
    pthread_mutex_lock(&b->lock);
    d = atomic_load(&b->devices[index]);
    tile_status status = TILE_OK;
    if (d)
        goto done;
    const TbnBundle *v = &b->view;
    d = calloc(1, sizeof *d);
    if (d) {
        d->modules = calloc(v->nvariants + 1, sizeof *d->modules);
        d->functions = calloc(v->nvariants + 1, sizeof *d->functions);
        d->runnable = calloc(v->nvariants + 1, sizeof *d->runnable);
        d->candidates = calloc(v->ndispatch + 1, sizeof *d->candidates);
        d->first_candidate = calloc(v->nkernels + 1, sizeof *d->first_candidate);
        d->tmap_caches = calloc(v->nvariants + 1, sizeof *d->tmap_caches);
    }
    bool ok = d && d->modules && d->functions && d->runnable && d->candidates &&
              d->first_candidate && d->tmap_caches;
    for (uint32_t i = 0; ok && i < v->nvariants; i++)
        if (v->variants[i].ntmaps) {
            d->tmap_caches[i] = calloc(1, sizeof *d->tmap_caches[i]);
            ok = d->tmap_caches[i] && pthread_mutex_init(&d->tmap_caches[i]->lock, NULL) == 0;
            if (!ok && d->tmap_caches[i]) {
                free(d->tmap_caches[i]);
                d->tmap_caches[i] = NULL;
            }
        }
    if (!ok) {
        free_device(d, v->nvariants);
        d = NULL;
        status = fail(ctx, TILE_ERR_MEMORY, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < v->nvariants; i++)
        d->runnable[i] = variant_runs_on(&v->variants[i], slot->sm);
    uint32_t n = 0;
    for (uint32_t k = 0; k < v->nkernels; k++) {
        d->first_candidate[k] = n;
        const TbnKernel *kernel = &v->kernels[k];
        /* entries for this GPU by name first, then the "*" ones */
        for (int pass = 0; pass < 2; pass++)
            for (uint32_t e = 0; e < kernel->ndispatch; e++) {
                const TbnDispatch *entry = &v->dispatch[kernel->first_dispatch + e];
                bool named = strcmp(entry->gpu, slot->name) == 0;
                bool any = strcmp(entry->gpu, "*") == 0;
                if ((pass == 0 ? named : any) && d->runnable[entry->variant])
                    d->candidates[n++] = kernel->first_dispatch + e;
            }
    }
    d->first_candidate[v->nkernels] = n;
    b->device_slots[index] = slot;
    atomic_store_explicit(&b->devices[index], d, memory_order_release);
done:
    pthread_mutex_unlock(&b->lock);
    *out = d;
    return status;
}

/* A module whose kernel checks indices read from data defines `tile_fault_sink`: it gets the
   bundle device's claim word, its record's device address and the variant's index. The
   claim and the record are made with the first such module. Called with the bundle locked. */
static tile_status attach_fault_sink(tile_context *ctx, BundleDevice *d, CUmodule module,
                                     uint32_t vi, const char *kernel)
{
    CUdeviceptr sink = 0;
    size_t size = 0;
    CUresult r = ctx->cu.ModuleGetGlobal(&sink, &size, module, "tile_fault_sink");
    if (r == CUDA_ERROR_NOT_FOUND)
        return TILE_OK;   /* no checked index (or a bundle of an older tilec) */
    if (r != CUDA_SUCCESS || size != FAULT_SINK_BYTES)
        return fail(ctx, TILE_ERR_LAUNCH, "kernel %s, variant %u: its fault sink: %s", kernel,
                    vi, r != CUDA_SUCCESS ? error_name(ctx, r) : "not the size libtile knows");
    FaultRecord *record = atomic_load(&d->fault_record);
    CUdeviceptr record_device = 0;
    if (!record) {
        void *host = NULL;
        uint32_t zero = 0;
        r = ctx->cu.MemHostAlloc(&host, sizeof(FaultRecord),
                                 CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_PORTABLE);
        if (r == CUDA_SUCCESS) {
            memset(host, 0, sizeof(FaultRecord));
            r = ctx->cu.MemAlloc(&d->fault_claim, sizeof zero);
            if (r == CUDA_SUCCESS && (r = ctx->cu.MemcpyHtoD(d->fault_claim, &zero, sizeof zero)) !=
                                         CUDA_SUCCESS)
                ctx->cu.MemFree(d->fault_claim);
            if (r != CUDA_SUCCESS)
                ctx->cu.MemFreeHost(host);
        }
        if (r != CUDA_SUCCESS)
            return fail(ctx, TILE_ERR_LAUNCH, "kernel %s: allocating its fault record failed: %s",
                        kernel, error_name(ctx, r));
        record = host;
        atomic_store(&d->fault_record, record);
    }
    r = ctx->cu.MemHostGetDevicePointer(&record_device, record, 0);
    uint64_t words[3] = {(uint64_t)d->fault_claim, (uint64_t)record_device, vi};
    if (r == CUDA_SUCCESS)
        r = ctx->cu.MemcpyHtoD(sink, words, sizeof words);
    if (r != CUDA_SUCCESS)
        return fail(ctx, TILE_ERR_LAUNCH, "kernel %s, variant %u: filling its fault sink failed: "
                    "%s", kernel, vi, error_name(ctx, r));
    return TILE_OK;
}

/* Loads variant vi's module on this device (once) and returns its function. Called with
   the bundle locked. */
static tile_status load_variant(tile_context *ctx, tile_bundle *b, BundleDevice *d, Slot *slot,
                                uint32_t vi, CUfunction *out)
{
    CUfunction f = atomic_load(&d->functions[vi]);
    if (f) {
        *out = f;
        return TILE_OK;
    }
    const TbnVariant *v = &b->view.variants[vi];
    const TbnKernel *k = &b->view.kernels[v->kernel];
    char log[4096] = "";
    CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *values[] = {log, (void *)(uintptr_t)sizeof log};
    CUmodule module = NULL;
    CUresult r = CUDA_ERROR_INVALID_IMAGE;
    if (v->cubin && (int)v->sm == slot->sm)
        r = ctx->cu.ModuleLoadDataEx(&module, v->cubin, 0, NULL, NULL);
    if (r != CUDA_SUCCESS)   /* no cubin for this GPU: the driver JIT-compiles the PTX */
        r = ctx->cu.ModuleLoadDataEx(&module, v->ptx, 2, options, values);
    if (r != CUDA_SUCCESS)
        return fail(ctx, TILE_ERR_LAUNCH, "kernel %s, variant %u: loading its module for %s "
                    "failed: %s%s%s", k->name, vi, v->target, error_name(ctx, r),
                    log[0] ? ": " : "", log);
    r = ctx->cu.ModuleGetFunction(&f, module, v->entry);
    if (r == CUDA_SUCCESS && v->smem_bytes > 48 * 1024)
        r = ctx->cu.FuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                     (int)v->smem_bytes);
    if (r != CUDA_SUCCESS) {
        ctx->cu.ModuleUnload(module);
        return fail(ctx, TILE_ERR_LAUNCH, "kernel %s, variant %u: entry %s: %s", k->name, vi,
                    v->entry, error_name(ctx, r));
    }
    /* only a module that defines the sink is asked for it: the lookup of a missing global is
       an error compute-sanitizer reports */
    tile_status status = v->ptx && !strstr(v->ptx, "tile_fault_sink")
                             ? TILE_OK : attach_fault_sink(ctx, d, module, vi, k->name);
    if (status != TILE_OK) {
        ctx->cu.ModuleUnload(module);
        return status;
    }
    d->modules[vi] = module;
    atomic_store(&d->functions[vi], f);
    *out = f;
    (void)slot;
    return TILE_OK;
}

/* A bundle belongs to the context that loaded it: its modules and device state live there. */
static tile_status check_owner(tile_context *ctx, const tile_bundle *b)
{
    if (b->ctx == ctx)
        return TILE_OK;
    return fail(ctx, TILE_ERR_ARG, "the bundle was loaded by another tile_context (a bundle's "
                "modules belong to the context that loaded it)");
}

tile_status tile_bundle_preload(tile_context *ctx, tile_bundle *b)
{
    if (!ctx || !b)
        return fail(ctx, TILE_ERR_ARG, "tile_bundle_preload: a NULL argument");
    if (check_owner(ctx, b) != TILE_OK)
        return TILE_ERR_ARG;
    Slot *slot;
    int index;
    BundleDevice *d;
    tile_status s = current_slot(ctx, &slot, &index);
    if (s == TILE_OK)
        s = bundle_device(ctx, b, slot, index, &d);
    if (s != TILE_OK)
        return s;
    pthread_mutex_lock(&b->lock);
    for (uint32_t vi = 0; vi < b->view.nvariants && s == TILE_OK; vi++) {
        CUfunction f;
        if (d->runnable[vi])
            s = load_variant(ctx, b, d, slot, vi, &f);
    }
    pthread_mutex_unlock(&b->lock);
    return s;
}

/* ---- launching */

typedef struct Launch {
    void *const *pointers;
    const int64_t *strides;
    const int64_t *symbols;
    const tile_scalar *scalars;
    const int64_t *consts;
} Launch;

static int64_t dim_of(const ParamPlan *pp, int d, const int64_t *symbols)
{
    return pp->dim_sym[d] >= 0 ? symbols[pp->dim_sym[d]] : pp->dim_value[d];
}

/* The slow path after no variant matched: says which of arch, consts, full-axis sizes or
   alignment excluded them all. */
static tile_status explain_no_variant(tile_context *ctx, const tile_bundle *b, uint32_t ki,
                                      const BundleDevice *d, const Slot *slot, const Launch *a,
                                      int align)
{
    const TbnBundle *v = &b->view;
    const TbnKernel *k = &v->kernels[ki];
    bool any_arch = false, any_const = false, any_full = false;
    for (uint32_t i = 0; i < k->nvariants; i++) {
        const TbnVariant *var = &v->variants[k->first_variant + i];
        if (!d->runnable[k->first_variant + i])
            continue;
        any_arch = true;
        if (memcmp(var->consts, a->consts, k->nconsts * sizeof(int64_t)) != 0)
            continue;
        any_const = true;
        bool full_ok = true;
        for (uint32_t s = 0; s < k->nsyms; s++)
            full_ok &= !v->syms[k->first_sym + s].full || var->full_sizes[s] == a->symbols[s];
        any_full |= full_ok;
    }
    if (!any_arch) {
        char built[128] = "";   /* the kernel's distinct targets, in bundle order */
        size_t used = 0;
        for (uint32_t i = 0; i < k->nvariants; i++) {
            const char *t = v->variants[k->first_variant + i].target;
            bool seen = false;
            for (uint32_t j = 0; j < i && !seen; j++)
                seen = strcmp(v->variants[k->first_variant + j].target, t) == 0;
            if (!seen && used < sizeof built)
                used += (size_t)snprintf(built + used, sizeof built - used, "%s%s",
                                         used ? ", " : "", t);
        }
        return fail(ctx, TILE_ERR_ARCH, "kernel %s: the bundle has no variant for this GPU "
                    "(%s, sm_%d; built for %s)", k->name, slot->name, slot->sm, built);
    }
    if (!any_const) {
        uint32_t c = 0;
        for (uint32_t i = 0; i < k->nparams; i++) {
            const TbnParam *p = &v->params[k->first_param + i];
            if (p->kind == TBN_PARAM_CONST) {
                if (c < k->nconsts)
                    return fail(ctx, TILE_ERR_CONST, "kernel %s: no variant for const %s = %lld "
                                "(%s)", k->name, p->name, (long long)a->consts[c],
                                p->nconst_values ? "not a declared value or not built"
                                                 : "not built");
                c++;
            }
        }
        return fail(ctx, TILE_ERR_CONST, "kernel %s: no variant for these const values", k->name);
    }
    if (!any_full) {
        for (uint32_t s = 0; s < k->nsyms; s++)
            if (v->syms[k->first_sym + s].full)
                return fail(ctx, TILE_ERR_SHAPE, "kernel %s: no variant serves %s = %lld (its "
                            "size is compiled in: rebuild with --config %s=%lld)", k->name,
                            v->syms[k->first_sym + s].name, (long long)a->symbols[s],
                            v->syms[k->first_sym + s].name, (long long)a->symbols[s]);
    }
    return fail(ctx, TILE_ERR_ARG, "kernel %s: the tensors' alignment (class %s) is served by "
                "no variant of the bundle", k->name, tbn_align_name(align));
}

/* Picks the variant: entries for this GPU by name first (a tuned table), then the "*"
   ones; within those, an exact shape key, then the nearest key (least product of size
   ratios), then a default entry; among equals the newest target the GPU runs (a bundle
   built for sm_90a and sm_80 runs sm_90a's code on an H100), then the most specialised
   align class. -1 if none fits. */
static int64_t pick_variant(const tile_bundle *b, uint32_t ki, const BundleDevice *d,
                            const Launch *a, int align)
{
    const TbnBundle *v = &b->view;
    const TbnKernel *k = &v->kernels[ki];
    int64_t best = -1;
    int best_tier = 2, best_rank = 4, best_align = 4;
    uint32_t best_sm = 0;
    double best_distance = 0;
    for (uint32_t c = d->first_candidate[ki]; c < d->first_candidate[ki + 1]; c++) {
        const TbnDispatch *e = &v->dispatch[d->candidates[c]];
        int tier = strcmp(e->gpu, "*") == 0;   /* candidates are this GPU's or "*" */
        const TbnVariant *var = &v->variants[e->variant];
        if (var->align < align)
            continue;
        bool ok = true;
        for (uint32_t i = 0; i < k->nconsts && ok; i++)
            ok = var->consts[i] == a->consts[i];
        for (uint32_t s = 0; s < k->nsyms && ok; s++)
            ok = var->full_sizes[s] == 0 || var->full_sizes[s] == a->symbols[s];
        if (!ok)
            continue;
        int rank = 2;
        double distance = 1;
        if (e->nshape) {
            rank = 0;
            for (uint32_t s = 0; s < e->nshape; s++) {
                double want = (double)e->shape[2 * s + 1], have = (double)a->symbols[e->shape[2 * s]];
                if (want != have)
                    rank = 1;
                want = want < 1 ? 1 : want;
                have = have < 1 ? 1 : have;
                distance *= want > have ? want / have : have / want;
            }
        }
        bool better = tier != best_tier ? tier < best_tier
                      : rank != best_rank ? rank < best_rank
                      : rank == 1 && distance != best_distance ? distance < best_distance
                      : var->sm != best_sm ? var->sm > best_sm
                      : var->align < best_align;
        if (better) {
            best = e->variant;
            best_tier = tier;
            best_rank = rank;
            best_sm = var->sm;
            best_align = var->align;
            best_distance = distance;
        }
    }
    if (best >= 0)
        return best;
    /* no entry fits: the runnable variant of the newest target that serves the launch (a
       hand-edited table) */
    for (uint32_t i = 0; i < k->nvariants; i++) {
        uint32_t vi = k->first_variant + i;
        const TbnVariant *var = &v->variants[vi];
        if (!d->runnable[vi] || var->align < align)
            continue;
        bool ok = true;
        for (uint32_t j = 0; j < k->nconsts && ok; j++)
            ok = var->consts[j] == a->consts[j];
        for (uint32_t s = 0; s < k->nsyms && ok; s++)
            ok = var->full_sizes[s] == 0 || var->full_sizes[s] == a->symbols[s];
        if (ok && (best < 0 || var->sm > v->variants[best].sm))
            best = vi;
    }
    return best;
}

/* The fills that set a reduction target of `count` elements to its op's identity: one
   memset of the element's width, or for i64 (no 64-bit memset) the low words and then the
   high words as a 2-D fill of one word per 8-byte row. False for a dtype that cannot be a
   target. */
static bool plan_identity(const ParamPlan *pp, CUdeviceptr ptr, int64_t count,
                          const char *name, tile_target_fill *fills, int *nfills)
{
    bool max = pp->reduce == TBN_REDUCE_MAX, sum = pp->reduce == TBN_REDUCE_SUM;
    uint32_t bits;
    switch (pp->dtype) {   /* max starts at the lowest value, min at the highest */
    case TBN_DT_F32: bits = sum ? 0 : max ? 0xff800000u : 0x7f800000u; break;
    case TBN_DT_F16: bits = sum ? 0 : max ? 0xfc00u : 0x7c00u; break;
    case TBN_DT_BF16: bits = sum ? 0 : max ? 0xff80u : 0x7f80u; break;
    case TBN_DT_F8E4M3: bits = sum ? 0 : max ? 0xfeu : 0x7eu; break;   /* no infinities: ±448 */
    case TBN_DT_F8E5M2: bits = sum ? 0 : max ? 0xfcu : 0x7cu; break;
    case TBN_DT_I32: bits = sum ? 0 : max ? 0x80000000u : 0x7fffffffu; break;
    case TBN_DT_BOOL: bits = sum || max ? 0u : 1u; break;
    case TBN_DT_I64:   /* INT64_MIN: words 0, 0x80000000; INT64_MAX: ~0, 0x7fffffff */
        fills[(*nfills)++] = (tile_target_fill){ptr, (size_t)count * 2, 0,
                                                sum || max ? 0 : 0xffffffffu, 4, name};
        if (!sum)
            fills[(*nfills)++] = (tile_target_fill){ptr + 4, (size_t)count, 8,
                                                    max ? 0x80000000u : 0x7fffffffu, 4, name};
        return true;
    default: return false;
    }
    fills[(*nfills)++] = (tile_target_fill){ptr, (size_t)count, 0, bits, pp->esize, name};
    return true;
}

/* The variant's tensor maps for this launch's tensors, copied into maps[]: from the cache
   when the same tensors (base, dims, strides) launched it before, else encoded now. */
static tile_status tensor_maps(tile_context *ctx, const tile_bundle *b, BundleDevice *d,
                               uint32_t vi, const KernelPlan *plan, const Launch *a,
                               CUtensorMap *maps)
{
    const TbnVariant *v = &b->view.variants[vi];
    const TbnKernel *k = &b->view.kernels[v->kernel];
    TmapKey key;
    memset(&key, 0, sizeof key);
    for (uint32_t m = 0; m < v->ntmaps; m++) {
        const ParamPlan *pp = &plan->params[v->tmaps[m].param];
        key.base[m] = (uintptr_t)a->pointers[pp->slot];
        for (int dd = 0; dd < pp->rank && dd < TMAP_MAX_RANK; dd++) {
            key.dims[m][dd] = dim_of(pp, dd, a->symbols);
            key.strides[m][dd] = a->strides[pp->first_stride + dd];
        }
    }
    TmapCache *cache = d->tmap_caches[vi];
    pthread_mutex_lock(&cache->lock);
    for (int w = 0; w < TMAP_CACHE_WAYS; w++)
        if (cache->ways[w].used && memcmp(&cache->ways[w].key, &key, sizeof key) == 0) {
            memcpy(maps, cache->ways[w].maps, sizeof(CUtensorMap) * v->ntmaps);
            pthread_mutex_unlock(&cache->lock);
            return TILE_OK;
        }
    pthread_mutex_unlock(&cache->lock);
    for (uint32_t m = 0; m < v->ntmaps; m++) {
        const TensorMapSpec *spec = &v->tmaps[m];
        const ParamPlan *pp = &plan->params[spec->param];
        TensorMapArgs ta;
        char why[256];
        int r = tensor_map_args(spec, (void *)key.base[m], key.dims[m], key.strides[m], pp->esize,
                                &ta, why, sizeof why);
        if (r == 1) {   /* an empty tensor: nothing is copied from it */
            memset(&maps[m], 0, sizeof maps[m]);
            continue;
        }
        if (r != 0)
            return fail(ctx, TILE_ERR_ARG, "kernel %s: tensor %s cannot be described to the copy "
                        "engine its variant uses: %s", k->name,
                        b->view.params[k->first_param + spec->param].name, why);
        CUresult cr = ctx->cu.TensorMapEncodeTiled(&maps[m], (CUtensorMapDataType)ta.data_type,
                                                   ta.rank, ta.base, ta.dims, ta.strides, ta.box,
                                                   ta.element_strides,
                                                   CU_TENSOR_MAP_INTERLEAVE_NONE,
                                                   (CUtensorMapSwizzle)ta.swizzle,
                                                   CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
                                                   CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
        if (cr != CUDA_SUCCESS)
            return fail(ctx, TILE_ERR_LAUNCH, "kernel %s: cuTensorMapEncodeTiled for tensor %s "
                        "failed: %s", k->name, b->view.params[k->first_param + spec->param].name,
                        error_name(ctx, cr));
    }
    pthread_mutex_lock(&cache->lock);
    TmapEntry *e = &cache->ways[cache->next++ % TMAP_CACHE_WAYS];
    e->used = true;
    e->key = key;
    memcpy(e->maps, maps, sizeof(CUtensorMap) * v->ntmaps);
    pthread_mutex_unlock(&cache->lock);
    return TILE_OK;
}

/* The fault a kernel of the bundle raised on this device, if it has reached the record:
   TILE_ERR_INDEX with a message naming the kernel, the tensor, the dim, the index and the
   op's place; the record is cleared and the claim word reset on `stream`, so the next fault
   after this one is recorded. TILE_OK when there is none. */
static tile_status take_fault(tile_context *ctx, tile_bundle *b, BundleDevice *d, CUstream stream)
{
    /* the device writes the record: `raised` is read atomically, the fields after it */
    volatile FaultRecord *rec = atomic_load_explicit(&d->fault_record, memory_order_acquire);
    if (!rec || !__atomic_load_n(&rec->raised, __ATOMIC_ACQUIRE))
        return TILE_OK;
    pthread_mutex_lock(&b->lock);   /* one thread reports a fault */
    if (!__atomic_load_n(&rec->raised, __ATOMIC_ACQUIRE)) {
        pthread_mutex_unlock(&b->lock);
        return TILE_OK;
    }
    FaultRecord f = {.variant = rec->variant, .param = rec->param, .dim = rec->dim,
                     .kind = rec->kind, .line = rec->line, .col = rec->col, .index = rec->index,
                     .extent = rec->extent};
    __atomic_store_n(&rec->raised, 0, __ATOMIC_RELEASE);
    CUresult r = ctx->cu.MemsetD32Async(d->fault_claim, 0, 1, stream);
    pthread_mutex_unlock(&b->lock);
    const TbnBundle *v = &b->view;
    const TbnKernel *k = f.variant < v->nvariants ? &v->kernels[v->variants[f.variant].kernel] : NULL;
    const char *param = k && f.param < k->nparams ? v->params[k->first_param + f.param].name : "?";
    static const char *const kinds[] = {"load", "store", "atomic update"};
    char reset[160] = "";
    if (r != CUDA_SUCCESS)
        snprintf(reset, sizeof reset, " (resetting the fault's claim failed: %s; later faults "
                 "of this bundle go unreported)", error_name(ctx, r));
    return fail(ctx, TILE_ERR_INDEX, "kernel %s: index %lld is outside dim %u of %s (size %lld) "
                "in a %s at line %u, column %u%s", k ? k->name : "?", (long long)f.index, f.dim,
                param, (long long)f.extent, f.kind < 3 ? kinds[f.kind] : "memory access", f.line,
                f.col, reset);
}

tile_status tile_bundle_synchronize(tile_context *ctx, tile_bundle *b, CUstream stream)
{
    if (!ctx || !b)
        return fail(ctx, TILE_ERR_ARG, "tile_bundle_synchronize: a NULL argument");
    if (check_owner(ctx, b) != TILE_OK)
        return TILE_ERR_ARG;
    Slot *slot;
    int index;
    tile_status s = current_slot(ctx, &slot, &index);
    if (s != TILE_OK)
        return s;
    CUresult r = ctx->cu.StreamSynchronize(stream);
    if (r != CUDA_SUCCESS)
        return fail(ctx, TILE_ERR_LAUNCH, "synchronising the stream failed: %s", error_name(ctx, r));
    BundleDevice *d = atomic_load_explicit(&b->devices[index], memory_order_acquire);
    if (!d || (s = take_fault(ctx, b, d, stream)) == TILE_OK)
        return TILE_OK;
    ctx->cu.StreamSynchronize(stream);   /* the claim is reset when this returns */
    return s;
}

/* The checks, the variant, its function, the grid and the kernel ABI's values of a launch;
   nothing is enqueued. A fault an earlier kernel of the bundle raised is reported instead. */
static tile_status prepare(tile_context *ctx, tile_bundle *b, uint32_t ki, const Launch *a,
                           CUstream stream, tile_prepared_launch *out)
{
    Slot *slot;
    int slot_index;
    BundleDevice *d;
    tile_status status = current_slot(ctx, &slot, &slot_index);
    if (status == TILE_OK)
        status = bundle_device(ctx, b, slot, slot_index, &d);
    if (status == TILE_OK)
        status = take_fault(ctx, b, d, stream);
    if (status != TILE_OK)
        return status;
    const TbnBundle *view = &b->view;
    const TbnKernel *k = &view->kernels[ki];
    const KernelPlan *plan = &b->plans[ki];

    for (uint32_t s = 0; s < k->nsyms; s++)
        if (a->symbols[s] < 0)
            return fail(ctx, TILE_ERR_SHAPE, "kernel %s: shape symbol %s = %lld is negative",
                        k->name, view->syms[k->first_sym + s].name, (long long)a->symbols[s]);
    /* pointers, extents, alignment class */
    int align = TBN_ALIGN_VEC16;
    bool check = atomic_load_explicit(&ctx->flags, memory_order_relaxed) & TILE_CONTEXT_CHECK;
    for (uint32_t i = 0; i < k->nparams; i++) {
        const ParamPlan *pp = &plan->params[i];
        if (pp->kind != TBN_PARAM_TENSOR)
            continue;
        uintptr_t ptr = (uintptr_t)a->pointers[pp->slot];
        const int64_t *st = a->strides + pp->first_stride;
        int64_t span = 0;
        bool empty = false;
        for (int dd = 0; dd < pp->rank; dd++) {
            int64_t n = dim_of(pp, dd, a->symbols), mag = st[dd] < 0 ? -st[dd] : st[dd], part;
            if (n == 0)
                empty = true;
            if (st[dd] == INT64_MIN || __builtin_mul_overflow(n > 0 ? n - 1 : 0, mag, &part) ||
                __builtin_add_overflow(span, part, &span))
                goto overflow;
        }
        /* vec16 is what TMA can describe: positive strides, multiples of 16 bytes (an empty
           tensor is never read: its strides do not matter) */
        for (int dd = 0; dd < pp->rank && !empty; dd++) {
            if (dim_of(pp, dd, a->symbols) <= 1)
                continue;
            if (dd == pp->rank - 1 && st[dd] != 1)
                align = TBN_ALIGN_ANY;
            else if (dd < pp->rank - 1 && align == TBN_ALIGN_VEC16 &&
                     (st[dd] <= 0 || (st[dd] * pp->esize) % 16 != 0))
                align = TBN_ALIGN_UNIT;
        }
        int64_t bytes;
        if (__builtin_add_overflow(span, 1, &bytes) ||
            __builtin_mul_overflow(bytes, (int64_t)pp->esize, &bytes))
            goto overflow;
        if (!ptr && !empty)
            return fail(ctx, TILE_ERR_ARG, "kernel %s: tensor %s is a null pointer", k->name,
                        view->params[k->first_param + i].name);
        if (ptr % pp->esize)
            return fail(ctx, TILE_ERR_ARG, "kernel %s: tensor %s at 0x%llx is not aligned to "
                        "its %d-byte %s elements", k->name, view->params[k->first_param + i].name,
                        (unsigned long long)ptr, pp->esize, tbn_dtype_name(pp->dtype));
        if (ptr % 16 && align == TBN_ALIGN_VEC16 && !empty)
            align = TBN_ALIGN_UNIT;
        if (check && !empty) {
            CUdeviceptr base = 0;
            size_t size = 0;
            CUresult r = ctx->cu.MemGetAddressRange(&base, &size, (CUdeviceptr)ptr);
            bool negative = false;
            for (int dd = 0; dd < pp->rank; dd++)
                negative |= st[dd] < 0 && dim_of(pp, dd, a->symbols) > 1;
            if (r != CUDA_SUCCESS || negative || ptr - base + (uint64_t)bytes > size)
                return fail(ctx, TILE_ERR_CHECK, "kernel %s: tensor %s (0x%llx, %lld bytes "
                            "reached) %s", k->name, view->params[k->first_param + i].name,
                            (unsigned long long)ptr, (long long)bytes,
                            r != CUDA_SUCCESS ? "is not device memory"
                            : negative ? "has negative strides (not checked)"
                            : "runs past the end of its allocation");
        }
        continue;
    overflow:
        return fail(ctx, TILE_ERR_SHAPE, "kernel %s: tensor %s's shape and strides overflow "
                    "64-bit offsets", k->name, view->params[k->first_param + i].name);
    }

    int64_t vi = pick_variant(b, ki, d, a, align);
    if (vi < 0)
        return explain_no_variant(ctx, b, ki, d, slot, a, align);
    const TbnVariant *v = &view->variants[vi];

    CUfunction f = atomic_load_explicit(&d->functions[vi], memory_order_acquire);
    if (!f) {
        CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
        CUresult r = ctx->cu.StreamIsCapturing(stream, &capture);
        if (r != CUDA_SUCCESS || capture != CU_STREAM_CAPTURE_STATUS_NONE)
            return fail(ctx, TILE_ERR_CAPTURE, "kernel %s: its module is not loaded and the "
                        "stream is being captured: call tile_bundle_preload before capturing",
                        k->name);
        pthread_mutex_lock(&b->lock);
        status = load_variant(ctx, b, (BundleDevice *)d, slot, (uint32_t)vi, &f);
        pthread_mutex_unlock(&b->lock);
        if (status != TILE_OK)
            return status;
    }

    /* the grid, from the variant's program */
    TbnScalar scalar_values[TBN_MAX_PARAMS];
    for (uint32_t i = 0; i < k->nparams; i++) {
        const ParamPlan *pp = &plan->params[i];
        if (pp->kind != TBN_PARAM_SCALAR)
            continue;
        const tile_scalar *sv = &a->scalars[pp->slot];
        scalar_values[i].f = pp->dtype == TBN_DT_F32 ? sv->f32 : 0;
        scalar_values[i].i = pp->dtype == TBN_DT_I32 ? sv->i32 : pp->dtype == TBN_DT_I64 ? sv->i64
                             : pp->dtype == TBN_DT_BOOL ? sv->b : 0;
    }
    int64_t blocks;
    if (tbn_grid_blocks(v, a->symbols, scalar_values, &blocks) != 0)
        return fail(ctx, TILE_ERR_SHAPE, "kernel %s: these shapes need more than 2^31 - 1 "
                    "blocks", k->name);

    /* declared reduction targets start at their identity: the fills that set it */
    out->nfills = 0;
    for (uint32_t i = 0; plan->has_reduction && i < k->nparams; i++) {
        const ParamPlan *pp = &plan->params[i];
        if (pp->kind != TBN_PARAM_TENSOR || !pp->reduce)
            continue;
        const int64_t *st = a->strides + pp->first_stride;
        int64_t count = 1, expect = 1;
        bool contiguous = true;
        for (int dd = pp->rank - 1; dd >= 0; dd--) {
            int64_t n = dim_of(pp, dd, a->symbols);
            contiguous &= n <= 1 || st[dd] == expect;
            expect *= n;
            count *= n;
        }
        const char *name = view->params[k->first_param + i].name;
        if (!contiguous)
            return fail(ctx, TILE_ERR_ARG, "kernel %s: reduction target %s must be contiguous",
                        k->name, name);
        if (count > 0 && !plan_identity(pp, (CUdeviceptr)(uintptr_t)a->pointers[pp->slot],
                                        count, name, out->fills, &out->nfills))
            return fail(ctx, TILE_ERR_ARG, "kernel %s: reduction target %s: %s %s targets "
                        "cannot be initialised", k->name, name, tbn_dtype_name(pp->dtype),
                        tbn_reduce_name(pp->reduce));
    }

    /* the kernel ABI (codegen.h): per tensor a pointer then its strides, per scalar its
       value, then every symbol; each value in its own 8-byte slot */
    uint64_t *args = out->args;
    int n = 0;
    for (uint32_t i = 0; i < k->nparams; i++) {
        const ParamPlan *pp = &plan->params[i];
        if (pp->kind == TBN_PARAM_TENSOR) {
            args[n++] = (uint64_t)(uintptr_t)a->pointers[pp->slot];
            for (int dd = 0; dd < pp->rank; dd++)
                args[n++] = (uint64_t)a->strides[pp->first_stride + dd];
        } else if (pp->kind == TBN_PARAM_SCALAR) {
            args[n] = 0;
            memcpy(&args[n++], &a->scalars[pp->slot], (size_t)pp->esize);
        }
    }
    for (uint32_t s = 0; s < k->nsyms; s++)
        args[n++] = (uint64_t)a->symbols[s];
    out->nmaps = (int)v->ntmaps;
    if (v->ntmaps) {
        status = tensor_maps(ctx, b, d, (uint32_t)vi, plan, a, out->maps);
        if (status != TILE_OK)
            return status;
    }
    /* a persistent kernel loops over its tiles: one block per multiprocessor is enough */
    if (v->persistent && slot->sm_count > 0 && blocks > slot->sm_count)
        blocks = slot->sm_count;
    out->nargs = n;
    out->kernel = k->name;
    out->variant = (uint32_t)vi;
    out->align = align;
    out->function = f;
    out->blocks = (unsigned)blocks;
    out->threads = v->num_threads;
    out->smem_bytes = v->smem_bytes;
    return TILE_OK;
}

static tile_status reset_targets(tile_context *ctx, const tile_prepared_launch *p,
                                 CUstream stream)
{
    for (int i = 0; i < p->nfills; i++) {
        const tile_target_fill *f = &p->fills[i];
        CUresult r = f->pitch ? ctx->cu.MemsetD2D32Async(f->ptr, f->pitch, f->value, 1, f->count,
                                                         stream)
                     : f->width == 4 ? ctx->cu.MemsetD32Async(f->ptr, f->value, f->count, stream)
                     : f->width == 2 ? ctx->cu.MemsetD16Async(f->ptr, (unsigned short)f->value,
                                                              f->count, stream)
                     : ctx->cu.MemsetD8Async(f->ptr, (unsigned char)f->value, f->count, stream);
        if (r != CUDA_SUCCESS)
            return fail(ctx, TILE_ERR_LAUNCH, "kernel %s: initialising reduction target %s "
                        "failed: %s", p->kernel, f->target, error_name(ctx, r));
    }
    return TILE_OK;
}

static tile_status enqueue(tile_context *ctx, const tile_prepared_launch *p, CUstream stream)
{
    if (p->blocks == 0)
        return TILE_OK;
    void *args[TILE_MAX_ABI_ARGS + TBN_MAX_TMAPS];
    for (int i = 0; i < p->nargs; i++)
        args[i] = (void *)&p->args[i];   /* the driver only reads them */
    for (int m = 0; m < p->nmaps; m++)   /* grid-constant tensor maps, by value */
        args[p->nargs + m] = (void *)&p->maps[m];
    CUresult r = ctx->cu.LaunchKernel(p->function, p->blocks, 1, 1, p->threads, 1, 1,
                                      p->smem_bytes, stream, args, NULL);
    if (r != CUDA_SUCCESS)
        return fail(ctx, TILE_ERR_LAUNCH, "kernel %s: cuLaunchKernel failed: %s", p->kernel,
                    error_name(ctx, r));
    return TILE_OK;
}

static tile_status launch(tile_context *ctx, tile_bundle *b, uint32_t ki, const Launch *a,
                          CUstream stream)
{
    tile_prepared_launch p;
    tile_status status = prepare(ctx, b, ki, a, stream, &p);
    if (status == TILE_OK)
        status = reset_targets(ctx, &p, stream);
    if (status == TILE_OK)
        status = enqueue(ctx, &p, stream);
    return status;
}

/* What a launch from tile_launch_values needs besides a kernel the bundle has: the bundle
   is this context's, and every array the kernel reads is there. */
static tile_status check_values(tile_context *ctx, const tile_bundle *b, int index,
                                const tile_launch_values *values)
{
    if (check_owner(ctx, b) != TILE_OK)
        return TILE_ERR_ARG;
    const KernelPlan *plan = &b->plans[index];
    const char *missing = plan->ntensors && !values->pointers ? "pointers"
                          : plan->nstrides && !values->strides ? "strides"
                          : b->view.kernels[index].nsyms && !values->symbols ? "symbols"
                          : plan->nscalars && !values->scalars ? "scalars"
                          : plan->nconsts && !values->consts ? "consts" : NULL;
    if (missing)
        return fail(ctx, TILE_ERR_ARG, "kernel %s: tile_launch_values.%s is NULL",
                    b->view.kernels[index].name, missing);
    return TILE_OK;
}

tile_status tile_launch_values_at(tile_context *ctx, tile_bundle *b, int index,
                                  uint64_t signature, const tile_launch_values *values,
                                  CUstream stream)
{
    if (!ctx || !b || !values)
        return fail(ctx, TILE_ERR_ARG, "a NULL context, bundle or values");
    if (index < 0 || (uint32_t)index >= b->view.nkernels ||
        b->view.kernels[index].signature != signature)
        return fail(ctx, TILE_ERR_BUNDLE, "the bundle does not match the launcher header: "
                    "kernel %d with signature %016llx is not in it (regenerate both with one "
                    "tilec build)", index, (unsigned long long)signature);
    tile_status st = check_values(ctx, b, index, values);
    if (st != TILE_OK)
        return st;
    Launch a = {values->pointers, values->strides, values->symbols, values->scalars,
                values->consts};
    return launch(ctx, b, (uint32_t)index, &a, stream);
}

/* A launch's values from generic arguments, one per parameter of a signature (a kernel's
   or a program's). */
typedef struct BoundArgs {
    void *pointers[TBN_MAX_PARAMS];
    int64_t strides[TBN_MAX_PARAMS * TBN_MAX_RANK];
    int64_t symbols[TBN_MAX_PROGRAM_SYMS];
    tile_scalar scalars[TBN_MAX_PARAMS];
    int64_t consts[TBN_MAX_PARAMS];
} BoundArgs;

/* Binds generic arguments to a signature's parameters (`what` and `name` say whose, for
   messages): kinds, dtypes, ranks, the symbols from the tensors' shapes, which must agree. */
static tile_status bind_args(tile_context *ctx, const char *what, const char *name,
                             const TbnParam *params, uint32_t nparams, const TbnSym *syms,
                             uint32_t nsyms, const KernelPlan *plan, const tile_arg *args,
                             int nargs, BoundArgs *out)
{
    if (nargs != (int)nparams)
        return fail(ctx, TILE_ERR_ARG, "%s %s takes %u arguments, %d given", what, name,
                    nparams, nargs);
    int symbol_from[TBN_MAX_PROGRAM_SYMS];
    for (uint32_t s = 0; s < nsyms; s++)
        symbol_from[s] = -1;
    for (uint32_t i = 0; i < nparams; i++) {
        const TbnParam *p = &params[i];
        const ParamPlan *pp = &plan->params[i];
        const tile_arg *arg = &args[i];
        if (arg->name && strcmp(arg->name, p->name) != 0)
            return fail(ctx, TILE_ERR_ARG, "%s %s: argument %u is named %s, the parameter "
                        "%s", what, name, i, arg->name, p->name);
        if ((int)arg->kind != p->kind)
            return fail(ctx, TILE_ERR_ARG, "%s %s: argument %u (%s) must be a %s", what, name, i,
                        p->name, tbn_param_kind_name(p->kind));
        if (p->kind == TBN_PARAM_CONST) {
            out->consts[pp->slot] = arg->i;
            continue;
        }
        if (p->kind == TBN_PARAM_SCALAR) {
            tile_scalar *sv = &out->scalars[pp->slot];
            memset(sv, 0, sizeof *sv);
            switch (p->dtype) {
            case TBN_DT_F32: sv->f32 = (float)arg->f; break;
            case TBN_DT_F16: case TBN_DT_BF16: sv->bits16 = (uint16_t)arg->i; break;
            case TBN_DT_F8E4M3: case TBN_DT_F8E5M2: sv->bits8 = (uint8_t)arg->i; break;
            case TBN_DT_I32: sv->i32 = (int32_t)arg->i; break;
            case TBN_DT_I64: sv->i64 = arg->i; break;
            default: sv->b = arg->i != 0; break;
            }
            continue;
        }
        if ((int)arg->dtype != p->dtype)
            return fail(ctx, TILE_ERR_ARG, "%s %s: tensor %s is %s, given %s", what, name,
                        p->name, tbn_dtype_name(p->dtype), tbn_dtype_name((int)arg->dtype));
        if (arg->rank != p->rank)
            return fail(ctx, TILE_ERR_SHAPE, "%s %s: tensor %s has rank %u, given %d",
                        what, name, p->name, p->rank, arg->rank);
        out->pointers[pp->slot] = arg->data;
        int64_t expect = 1;
        for (int d = p->rank - 1; d >= 0; d--) {
            int64_t n = arg->shape[d];
            if (n < 0)
                return fail(ctx, TILE_ERR_SHAPE, "%s %s: tensor %s dim %d is %lld", what, name,
                            p->name, d, (long long)n);
            out->strides[pp->first_stride + d] = arg->has_strides ? arg->strides[d] : expect;
            if (__builtin_mul_overflow(expect, n ? n : 1, &expect))
                return fail(ctx, TILE_ERR_SHAPE, "%s %s: tensor %s's size overflows",
                            what, name, p->name);
            if (pp->dim_sym[d] < 0) {
                if (n != pp->dim_value[d])
                    return fail(ctx, TILE_ERR_SHAPE, "%s %s: tensor %s dim %d is %lld, the "
                                "signature says %lld", what, name, p->name, d, (long long)n,
                                (long long)pp->dim_value[d]);
                continue;
            }
            int s = pp->dim_sym[d];
            if (symbol_from[s] < 0) {
                out->symbols[s] = n;
                symbol_from[s] = (int)i;
            } else if (out->symbols[s] != n)
                return fail(ctx, TILE_ERR_SHAPE, "%s %s: %s = %lld from tensor %s but %lld "
                            "from tensor %s", what, name, syms[s].name,
                            (long long)out->symbols[s], params[symbol_from[s]].name,
                            (long long)n, p->name);
        }
    }
    for (uint32_t s = 0; s < nsyms; s++)
        if (symbol_from[s] < 0)
            out->symbols[s] = 0;
    return TILE_OK;
}

/* The generic path: symbols from the tensors' shapes, which must agree. */
tile_status tile_launch(tile_context *ctx, tile_bundle *b, const char *kernel,
                        const tile_arg *args, int nargs, CUstream stream)
{
    if (!ctx || !b || !kernel || (nargs && !args))
        return fail(ctx, TILE_ERR_ARG, "tile_launch: a NULL argument");
    if (check_owner(ctx, b) != TILE_OK)
        return TILE_ERR_ARG;
    int ki = tile_bundle_find_kernel(b, kernel);
    if (ki < 0)
        return fail(ctx, TILE_ERR_ARG, "the bundle has no kernel named '%s'", kernel);
    const TbnKernel *k = &b->view.kernels[ki];
    BoundArgs v;
    tile_status st = bind_args(ctx, "kernel", kernel, &b->view.params[k->first_param],
                               k->nparams, &b->view.syms[k->first_sym], k->nsyms,
                               &b->plans[ki], args, nargs, &v);
    if (st != TILE_OK)
        return st;
    Launch a = {v.pointers, v.strides, v.symbols, v.scalars, v.consts};
    return launch(ctx, b, (uint32_t)ki, &a, stream);
}

/* ---- programs: each call's kernel launched in order, the intermediates in the caller's
   workspace at the offsets tbn_workspace_plan gives for this launch's sizes */

int tile_bundle_program_count(const tile_bundle *b) { return b ? (int)b->view.nprograms : 0; }

const char *tile_bundle_program_name(const tile_bundle *b, int index)
{
    return b && index >= 0 && (uint32_t)index < b->view.nprograms ? b->view.programs[index].name
                                                                   : NULL;
}

int tile_bundle_find_program(const tile_bundle *b, const char *name)
{
    for (uint32_t p = 0; b && name && p < b->view.nprograms; p++)
        if (strcmp(b->view.programs[p].name, name) == 0)
            return (int)p;
    return -1;
}

static const TbnProgram *program_at_index(const tile_bundle *b, int program)
{
    return b && program >= 0 && (uint32_t)program < b->view.nprograms
               ? &b->view.programs[program] : NULL;
}

int tile_program_param_count(const tile_bundle *b, int program)
{
    const TbnProgram *p = program_at_index(b, program);
    return p ? (int)p->nparams : -1;
}

int tile_program_input_count(const tile_bundle *b, int program)
{
    const TbnProgram *p = program_at_index(b, program);
    return p ? (int)p->ninputs : -1;
}

int tile_program_symbol_count(const tile_bundle *b, int program)
{
    const TbnProgram *p = program_at_index(b, program);
    return p ? (int)p->nsyms : -1;
}

tile_status tile_program_param(const tile_bundle *b, int program, int index, tile_param_info *out)
{
    const TbnProgram *p = program_at_index(b, program);
    if (!p || !out || index < 0 || (uint32_t)index >= p->nparams)
        return TILE_ERR_ARG;
    param_info(&b->view.params[p->first_param + (uint32_t)index], out);
    return TILE_OK;
}

const char *tile_program_symbol_name(const tile_bundle *b, int program, int index)
{
    const TbnProgram *p = program_at_index(b, program);
    return p && index >= 0 && (uint32_t)index < p->nsyms
               ? b->view.syms[p->first_sym + (uint32_t)index].name : NULL;
}

/* A program's intermediate dim: a literal, or one of the launch's program symbols. */
static int64_t program_dim(int64_t dim, const int64_t *symbols)
{
    return dim >= 0 ? dim : symbols[-dim - 1];
}

/* Where program p's intermediates live for these symbols. */
static tile_status program_workspace(tile_context *ctx, const tile_bundle *b,
                                     const TbnProgram *p, const int64_t *symbols,
                                     TbnWorkspacePlan *plan)
{
    TbnWorkspaceValue values[TBN_MAX_PROGRAM_TEMPS];
    for (uint32_t s = 0; s < p->nsyms; s++)
        if (symbols[s] < 0)
            return fail(ctx, TILE_ERR_SHAPE, "program %s: shape symbol %s = %lld is negative",
                        p->name, b->view.syms[p->first_sym + s].name, (long long)symbols[s]);
    for (uint32_t t = 0; t < p->ntemps; t++) {
        const TbnParam *q = &b->view.params[p->first_temp + t];
        uint64_t bytes = (uint64_t)tbn_dtype_size(q->dtype);
        for (int d = 0; d < q->rank; d++)
            if (__builtin_mul_overflow(bytes, (uint64_t)program_dim(q->dims[d], symbols), &bytes))
                return fail(ctx, TILE_ERR_SHAPE, "program %s: intermediate %s's size overflows",
                            p->name, q->name);
        values[t] = (TbnWorkspaceValue){bytes, (uint32_t)p->live[2 * t], (uint32_t)p->live[2 * t + 1]};
    }
    if (tbn_workspace_plan(values, p->ntemps, plan) != 0)
        return fail(ctx, TILE_ERR_SHAPE, "program %s: its workspace's size overflows", p->name);
    return TILE_OK;
}

/* A literal scalar argument: f32 from the double's bits, f16/bf16 as their bits. */
static tile_scalar literal_scalar(int dtype, int64_t value)
{
    tile_scalar sv;
    memset(&sv, 0, sizeof sv);
    double d;
    memcpy(&d, &value, sizeof d);
    switch (dtype) {
    case TBN_DT_F32: sv.f32 = (float)d; break;
    case TBN_DT_F16: case TBN_DT_BF16: sv.bits16 = (uint16_t)value; break;
    case TBN_DT_I32: sv.i32 = (int32_t)value; break;
    case TBN_DT_I64: sv.i64 = value; break;
    default: sv.b = value != 0; break;
    }
    return sv;
}

/* Call c's launch values: the program's tensors and scalars (a: the program's launch), the
   intermediates at their offsets (contiguous), literals, the kernel's symbols as the call
   gives them. */
static void call_values(const tile_bundle *b, const TbnProgram *p, const TbnCall *call,
                        const Launch *a, char *workspace, const TbnWorkspacePlan *plan,
                        BoundArgs *out)
{
    const TbnKernel *k = &b->view.kernels[call->kernel];
    const KernelPlan *kplan = &b->plans[call->kernel];
    const KernelPlan *pplan = &b->program_plans[p - b->view.programs];
    for (uint32_t s = 0; s < k->nsyms; s++)
        out->symbols[s] = program_dim(call->sizes[s], a->symbols);
    for (uint32_t j = 0; j < k->nparams; j++) {
        const ParamPlan *pp = &kplan->params[j];
        const TbnCallArg *arg = &call->args[j];
        const ParamPlan *given = arg->kind == TBN_ARG_PARAM ? &pplan->params[arg->index] : NULL;
        if (pp->kind == TBN_PARAM_CONST) {
            out->consts[pp->slot] = arg->value;
        } else if (pp->kind == TBN_PARAM_SCALAR) {
            out->scalars[pp->slot] = given ? a->scalars[given->slot]
                                           : literal_scalar(pp->dtype, arg->value);
        } else if (given) {
            out->pointers[pp->slot] = a->pointers[given->slot];
            memcpy(&out->strides[pp->first_stride], &a->strides[given->first_stride],
                   sizeof(int64_t) * pp->rank);
        } else {
            const TbnParam *q = &b->view.params[p->first_temp + arg->index];
            out->pointers[pp->slot] = workspace + plan->offset[arg->index];
            int64_t stride = 1;
            for (int d = q->rank - 1; d >= 0; d--) {
                out->strides[pp->first_stride + d] = stride;
                int64_t n = program_dim(q->dims[d], a->symbols);
                stride *= n ? n : 1;   /* cannot overflow: the intermediate's bytes did not */
            }
        }
    }
}

static tile_status launch_program(tile_context *ctx, tile_bundle *b, uint32_t pi, const Launch *a,
                                  void *workspace, size_t workspace_bytes, CUstream stream)
{
    const TbnProgram *p = &b->view.programs[pi];
    TbnWorkspacePlan plan;
    tile_status st = program_workspace(ctx, b, p, a->symbols, &plan);
    if (st != TILE_OK)
        return st;
    if (plan.total > workspace_bytes)
        return fail(ctx, TILE_ERR_ARG, "program %s needs %llu bytes of workspace for these "
                    "shapes, %zu given (tile_program_workspace_bytes says how many)", p->name,
                    (unsigned long long)plan.total, workspace_bytes);
    if (plan.total && (!workspace || (uintptr_t)workspace % TBN_WORKSPACE_ALIGN))
        return fail(ctx, TILE_ERR_ARG, "program %s: the workspace %p is %s", p->name, workspace,
                    workspace ? "not 256-byte aligned" : "NULL");
    for (uint32_t c = 0; c < p->ncalls; c++) {
        const TbnCall *call = &b->view.calls[p->first_call + c];
        BoundArgs v;
        call_values(b, p, call, a, workspace, &plan, &v);
        Launch la = {v.pointers, v.strides, v.symbols, v.scalars, v.consts};
        st = launch(ctx, b, call->kernel, &la, stream);
        if (st != TILE_OK) {
            char why[MESSAGE_SIZE];
            snprintf(why, sizeof why, "%s", tile_error_message(ctx));
            return fail(ctx, st, "program %s, call %u (%s): %s", p->name, c,
                        b->view.kernels[call->kernel].name, why);
        }
    }
    return TILE_OK;
}

/* A program named by the caller: the bundle is this context's and has it. */
static tile_status find_program(tile_context *ctx, const tile_bundle *b, const char *program,
                                int *index)
{
    if (b->ctx != ctx)
        return fail(ctx, TILE_ERR_ARG, "the bundle was loaded by another tile_context (a "
                    "bundle's modules belong to the context that loaded it)");
    *index = tile_bundle_find_program(b, program);
    if (*index < 0)
        return fail(ctx, TILE_ERR_ARG, "the bundle has no program named '%s'", program);
    return TILE_OK;
}

static tile_status bind_program(tile_context *ctx, const tile_bundle *b, int pi,
                                const tile_arg *args, int nargs, BoundArgs *out)
{
    const TbnProgram *p = &b->view.programs[pi];
    return bind_args(ctx, "program", p->name, &b->view.params[p->first_param], p->nparams,
                     &b->view.syms[p->first_sym], p->nsyms, &b->program_plans[pi], args, nargs,
                     out);
}

tile_status tile_program_workspace_bytes(tile_context *ctx, tile_bundle *b, const char *program,
                                         const tile_arg *args, int nargs, size_t *bytes)
{
    if (!ctx || !b || !program || !bytes || (nargs && !args))
        return fail(ctx, TILE_ERR_ARG, "tile_program_workspace_bytes: a NULL argument");
    int pi = -1;
    BoundArgs v;
    TbnWorkspacePlan plan;
    tile_status st = find_program(ctx, b, program, &pi);
    if (st == TILE_OK)
        st = bind_program(ctx, b, pi, args, nargs, &v);
    if (st == TILE_OK)
        st = program_workspace(ctx, b, &b->view.programs[pi], v.symbols, &plan);
    if (st == TILE_OK && plan.total > SIZE_MAX)
        st = fail(ctx, TILE_ERR_SHAPE, "program %s: its workspace's size overflows", program);
    *bytes = st == TILE_OK ? (size_t)plan.total : 0;
    return st;
}

tile_status tile_launch_program(tile_context *ctx, tile_bundle *b, const char *program,
                                const tile_arg *args, int nargs, void *workspace,
                                size_t workspace_bytes, CUstream stream)
{
    if (!ctx || !b || !program || (nargs && !args))
        return fail(ctx, TILE_ERR_ARG, "tile_launch_program: a NULL argument");
    int pi = -1;
    BoundArgs v;
    tile_status st = find_program(ctx, b, program, &pi);
    if (st == TILE_OK)
        st = bind_program(ctx, b, pi, args, nargs, &v);
    if (st != TILE_OK)
        return st;
    Launch a = {v.pointers, v.strides, v.symbols, v.scalars, v.consts};
    return launch_program(ctx, b, (uint32_t)pi, &a, workspace, workspace_bytes, stream);
}

/* A typed launcher's program: the index and signature its header was generated for. */
static tile_status program_at(tile_context *ctx, const tile_bundle *b, int index,
                              uint64_t signature)
{
    if (b->ctx != ctx)
        return fail(ctx, TILE_ERR_ARG, "the bundle was loaded by another tile_context (a "
                    "bundle's modules belong to the context that loaded it)");
    if (index < 0 || (uint32_t)index >= b->view.nprograms ||
        b->view.programs[index].signature != signature)
        return fail(ctx, TILE_ERR_BUNDLE, "the bundle does not match the launcher header: "
                    "program %d with signature %016llx is not in it (regenerate both with one "
                    "tilec build)", index, (unsigned long long)signature);
    return TILE_OK;
}

tile_status tile_program_workspace_bytes_at(tile_context *ctx, tile_bundle *b, int index,
                                            uint64_t signature, const int64_t *symbols,
                                            size_t *bytes)
{
    if (!ctx || !b || !bytes)
        return fail(ctx, TILE_ERR_ARG, "a NULL context, bundle or bytes");
    *bytes = 0;
    tile_status st = program_at(ctx, b, index, signature);
    if (st != TILE_OK)
        return st;
    const TbnProgram *p = &b->view.programs[index];
    if (p->nsyms && !symbols)
        return fail(ctx, TILE_ERR_ARG, "program %s: symbols is NULL", p->name);
    TbnWorkspacePlan plan;
    st = program_workspace(ctx, b, p, symbols, &plan);
    if (st == TILE_OK && plan.total > SIZE_MAX)
        st = fail(ctx, TILE_ERR_SHAPE, "program %s: its workspace's size overflows", p->name);
    if (st == TILE_OK)
        *bytes = (size_t)plan.total;
    return st;
}

tile_status tile_launch_program_values_at(tile_context *ctx, tile_bundle *b, int index,
                                          uint64_t signature, const tile_launch_values *values,
                                          void *workspace, size_t workspace_bytes,
                                          CUstream stream)
{
    if (!ctx || !b || !values)
        return fail(ctx, TILE_ERR_ARG, "a NULL context, bundle or values");
    tile_status st = program_at(ctx, b, index, signature);
    if (st != TILE_OK)
        return st;
    const TbnProgram *p = &b->view.programs[index];
    const KernelPlan *plan = &b->program_plans[index];
    const char *missing = plan->ntensors && !values->pointers ? "pointers"
                          : plan->nstrides && !values->strides ? "strides"
                          : p->nsyms && !values->symbols ? "symbols"
                          : plan->nscalars && !values->scalars ? "scalars" : NULL;
    if (missing)
        return fail(ctx, TILE_ERR_ARG, "program %s: tile_launch_values.%s is NULL", p->name,
                    missing);
    Launch a = {values->pointers, values->strides, values->symbols, values->scalars,
                values->consts};
    return launch_program(ctx, b, (uint32_t)index, &a, workspace, workspace_bytes, stream);
}

/* ---- tilec's internal interface (tile_internal.h) */

const TbnBundle *tile_bundle_view(const tile_bundle *b)
{
    return b ? &b->view : NULL;
}

tile_status tile_launch_prepare(tile_context *ctx, tile_bundle *b, int index,
                                const tile_launch_values *values, CUstream stream,
                                tile_prepared_launch *out)
{
    if (!ctx || !b || !values || !out)
        return fail(ctx, TILE_ERR_ARG, "a NULL context, bundle, values or launch");
    if (index < 0 || (uint32_t)index >= b->view.nkernels)
        return fail(ctx, TILE_ERR_ARG, "the bundle has no kernel %d", index);
    tile_status st = check_values(ctx, b, index, values);
    if (st != TILE_OK)
        return st;
    Launch a = {values->pointers, values->strides, values->symbols, values->scalars,
                values->consts};
    return prepare(ctx, b, (uint32_t)index, &a, stream, out);
}

tile_status tile_launch_reset_targets(tile_context *ctx, const tile_prepared_launch *launch,
                                      CUstream stream)
{
    if (!ctx || !launch)
        return fail(ctx, TILE_ERR_ARG, "a NULL context or launch");
    return reset_targets(ctx, launch, stream);
}

tile_status tile_launch_enqueue(tile_context *ctx, const tile_prepared_launch *launch,
                                CUstream stream)
{
    if (!ctx || !launch)
        return fail(ctx, TILE_ERR_ARG, "a NULL context or launch");
    return enqueue(ctx, launch, stream);
}

/* The driver's result as a status, naming the call that failed. */
static tile_status driver_result(tile_context *ctx, CUresult r, const char *call)
{
    if (r == CUDA_SUCCESS)
        return TILE_OK;
    return fail(ctx, TILE_ERR_LAUNCH, "%s failed: %s", call, error_name(ctx, r));
}

/* Every driver call below needs the driver; a context whose creation failed says why. */
static bool has_driver(tile_context *ctx)
{
    if (ctx && ctx->has_driver)
        return true;
    fail(ctx, TILE_ERR_NO_DEVICE, "%s", ctx && ctx->startup_message[0] ? ctx->startup_message
         : "no CUDA driver or GPU (see tile_context_create's status)");
    return false;
}

tile_status tile_dev_info(tile_context *ctx, tile_device_info *out)
{
    memset(out, 0, sizeof *out);
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    Slot *slot;
    int index, l2 = 0;
    tile_status s = current_slot(ctx, &slot, &index);
    if (s != TILE_OK)
        return s;
    snprintf(out->name, sizeof out->name, "%s", slot->name);
    struct { CUdevice_attribute which; int *value; } attributes[] = {
        {CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, &out->sm_count},
        {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, &out->cc_major},
        {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, &out->cc_minor},
        {CU_DEVICE_ATTRIBUTE_CLOCK_RATE, &out->clock_khz},
        {CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, &out->max_shared_per_block},
        {CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, &l2},
    };
    for (size_t i = 0; i < sizeof attributes / sizeof attributes[0]; i++)
        if ((s = driver_result(ctx, ctx->cu.DeviceGetAttribute(attributes[i].value,
                                                               attributes[i].which,
                                                               slot->device),
                               "cuDeviceGetAttribute")) != TILE_OK)
            return s;
    out->l2_bytes = (size_t)l2;
    return driver_result(ctx, ctx->cu.DriverGetVersion(&out->driver_version),
                         "cuDriverGetVersion");
}

tile_status tile_dev_alloc(tile_context *ctx, size_t bytes, CUdeviceptr *out)
{
    *out = 0;
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    if (bytes == 0)
        return fail(ctx, TILE_ERR_ARG, "cannot allocate 0 bytes of device memory");
    return driver_result(ctx, ctx->cu.MemAlloc(out, bytes), "cuMemAlloc");
}

tile_status tile_dev_free(tile_context *ctx, CUdeviceptr ptr)
{
    if (!ptr)
        return TILE_OK;
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    return driver_result(ctx, ctx->cu.MemFree(ptr), "cuMemFree");
}

tile_status tile_dev_copy_to_device(tile_context *ctx, CUdeviceptr dst, const void *src,
                                    size_t bytes)
{
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    return driver_result(ctx, ctx->cu.MemcpyHtoD(dst, src, bytes), "cuMemcpyHtoD");
}

tile_status tile_dev_copy_to_host(tile_context *ctx, void *dst, CUdeviceptr src, size_t bytes)
{
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    return driver_result(ctx, ctx->cu.MemcpyDtoH(dst, src, bytes), "cuMemcpyDtoH");
}

tile_status tile_dev_copy_async(tile_context *ctx, CUdeviceptr dst, CUdeviceptr src,
                                size_t bytes, CUstream stream)
{
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    return driver_result(ctx, ctx->cu.MemcpyDtoDAsync(dst, src, bytes, stream),
                         "cuMemcpyDtoDAsync");
}

tile_status tile_dev_memset_async(tile_context *ctx, CUdeviceptr dst, int width, uint32_t value,
                                  size_t count, CUstream stream)
{
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    switch (width) {
    case 1:
        return driver_result(ctx, ctx->cu.MemsetD8Async(dst, (unsigned char)value, count, stream),
                             "cuMemsetD8Async");
    case 2:
        return driver_result(ctx, ctx->cu.MemsetD16Async(dst, (unsigned short)value, count,
                                                         stream), "cuMemsetD16Async");
    case 4:
        return driver_result(ctx, ctx->cu.MemsetD32Async(dst, value, count, stream),
                             "cuMemsetD32Async");
    default:
        return fail(ctx, TILE_ERR_ARG, "a memset of %d-byte elements", width);
    }
}

tile_status tile_dev_synchronize(tile_context *ctx)
{
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    return driver_result(ctx, ctx->cu.CtxSynchronize(), "cuCtxSynchronize");
}

tile_status tile_dev_stream_create(tile_context *ctx, CUstream *out)
{
    *out = NULL;
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    return driver_result(ctx, ctx->cu.StreamCreate(out, CU_STREAM_NON_BLOCKING),
                         "cuStreamCreate");
}

tile_status tile_dev_stream_destroy(tile_context *ctx, CUstream stream)
{
    if (!stream)
        return TILE_OK;
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    return driver_result(ctx, ctx->cu.StreamDestroy(stream), "cuStreamDestroy");
}

tile_status tile_dev_stream_synchronize(tile_context *ctx, CUstream stream)
{
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    return driver_result(ctx, ctx->cu.StreamSynchronize(stream), "cuStreamSynchronize");
}

tile_status tile_dev_event_create(tile_context *ctx, CUevent *out)
{
    *out = NULL;
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    return driver_result(ctx, ctx->cu.EventCreate(out, CU_EVENT_DEFAULT), "cuEventCreate");
}

tile_status tile_dev_event_destroy(tile_context *ctx, CUevent event)
{
    if (!event)
        return TILE_OK;
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    return driver_result(ctx, ctx->cu.EventDestroy(event), "cuEventDestroy");
}

tile_status tile_dev_event_record(tile_context *ctx, CUevent event, CUstream stream)
{
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    return driver_result(ctx, ctx->cu.EventRecord(event, stream), "cuEventRecord");
}

tile_status tile_dev_event_elapsed_ms(tile_context *ctx, CUevent start, CUevent end, float *ms)
{
    *ms = 0;
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    tile_status s = driver_result(ctx, ctx->cu.EventSynchronize(end), "cuEventSynchronize");
    if (s != TILE_OK)
        return s;
    return driver_result(ctx, ctx->cu.EventElapsedTime(ms, start, end), "cuEventElapsedTime");
}

tile_status tile_dev_function_resources(tile_context *ctx, CUfunction fn, int *registers,
                                        int *local_bytes)
{
    *registers = *local_bytes = 0;
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    tile_status s = driver_result(ctx, ctx->cu.FuncGetAttribute(registers,
                                                                CU_FUNC_ATTRIBUTE_NUM_REGS, fn),
                                  "cuFuncGetAttribute");
    if (s != TILE_OK)
        return s;
    return driver_result(ctx, ctx->cu.FuncGetAttribute(local_bytes,
                                                       CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, fn),
                         "cuFuncGetAttribute");
}

tile_status tile_dev_proc(tile_context *ctx, const char *symbol, void **fn)
{
    *fn = NULL;
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    CUdriverProcAddressQueryResult found = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    CUresult r = ctx->cu.get_proc(symbol, fn, DRIVER_ABI_VERSION, CU_GET_PROC_ADDRESS_DEFAULT,
                                  &found);
    if (r != CUDA_SUCCESS || found != CU_GET_PROC_ADDRESS_SUCCESS || !*fn) {
        *fn = NULL;
        return fail(ctx, TILE_ERR_NO_DEVICE, "the CUDA driver has no %s for CUDA 12.0", symbol);
    }
    return TILE_OK;
}

/* ---- a program as a CUDA graph: its launches captured once, replayed with one call */

struct tile_graph {
    tile_context *ctx;
    CUgraph graph;
    CUgraphExec exec;
    CUresult (*Launch)(CUgraphExec, CUstream);
    CUresult (*ExecDestroy)(CUgraphExec);
    CUresult (*Destroy)(CUgraph);
};

/* The graph calls are not among the entry points every launch needs: a driver without them
   fails here, not at tile_context_create. */
typedef struct GraphCalls {
    CUresult (*BeginCapture)(CUstream, CUstreamCaptureMode);
    CUresult (*EndCapture)(CUstream, CUgraph *);
    CUresult (*Instantiate)(CUgraphExec *, CUgraph, unsigned long long);
} GraphCalls;

static tile_status graph_calls(tile_context *ctx, GraphCalls *c, tile_graph *g)
{
    static const char *const names[] = {"cuStreamBeginCapture", "cuStreamEndCapture",
                                        "cuGraphInstantiateWithFlags", "cuGraphLaunch",
                                        "cuGraphExecDestroy", "cuGraphDestroy"};
    void **slots[] = {(void **)&c->BeginCapture, (void **)&c->EndCapture,
                      (void **)&c->Instantiate, (void **)&g->Launch, (void **)&g->ExecDestroy,
                      (void **)&g->Destroy};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        tile_status s = tile_dev_proc(ctx, names[i], slots[i]);
        if (s != TILE_OK)
            return s;
    }
    return TILE_OK;
}

/* Captures on a stream of its own (a caller's stream may be the legacy one, which cannot be
   captured), in thread-local mode so that other threads' driver calls go on. */
static tile_status capture_program(tile_context *ctx, tile_bundle *b, int pi, const Launch *a,
                                   void *workspace, size_t workspace_bytes, const GraphCalls *c,
                                   tile_graph *g)
{
    CUstream stream = NULL;
    tile_status st = driver_result(ctx, ctx->cu.StreamCreate(&stream, CU_STREAM_NON_BLOCKING),
                                   "cuStreamCreate");
    if (st != TILE_OK)
        return st;
    st = driver_result(ctx, c->BeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                       "cuStreamBeginCapture");
    if (st == TILE_OK) {
        st = launch_program(ctx, b, (uint32_t)pi, a, workspace, workspace_bytes, stream);
        /* ends the capture whatever the launch said: a failed one leaves no graph behind */
        CUgraph graph = NULL;
        tile_status end = driver_result(ctx, c->EndCapture(stream, &graph),
                                        "cuStreamEndCapture");
        if (st == TILE_OK)
            st = end;
        if (st == TILE_OK)
            g->graph = graph;
        else if (graph)
            g->Destroy(graph);
    }
    if (st == TILE_OK)
        st = driver_result(ctx, c->Instantiate(&g->exec, g->graph, 0),
                           "cuGraphInstantiateWithFlags");
    ctx->cu.StreamDestroy(stream);
    return st;
}

tile_status tile_program_graph(tile_context *ctx, tile_bundle *b, const char *program,
                               const tile_arg *args, int nargs, void *workspace,
                               size_t workspace_bytes, tile_graph **out)
{
    if (!ctx || !b || !program || !out || (nargs && !args))
        return fail(ctx, TILE_ERR_ARG, "tile_program_graph: a NULL argument");
    *out = NULL;
    int pi = -1;
    BoundArgs v;
    tile_status st = find_program(ctx, b, program, &pi);
    if (st == TILE_OK)
        st = bind_program(ctx, b, pi, args, nargs, &v);
    if (st == TILE_OK)
        st = tile_bundle_preload(ctx, b);   /* no module may load during the capture */
    if (st != TILE_OK)
        return st;
    tile_graph *g = calloc(1, sizeof *g);
    if (!g)
        return fail(ctx, TILE_ERR_MEMORY, "tile_program_graph: out of host memory");
    g->ctx = ctx;
    GraphCalls calls;
    Launch a = {v.pointers, v.strides, v.symbols, v.scalars, v.consts};
    st = graph_calls(ctx, &calls, g);
    if (st == TILE_OK)
        st = capture_program(ctx, b, pi, &a, workspace, workspace_bytes, &calls, g);
    if (st != TILE_OK) {
        tile_graph_free(g);
        return st;
    }
    *out = g;
    return TILE_OK;
}

tile_status tile_graph_launch(tile_graph *g, CUstream stream)
{
    if (!g)
        return TILE_ERR_ARG;
    Slot *slot;
    int index;
    tile_status st = current_slot(g->ctx, &slot, &index);
    if (st != TILE_OK)
        return st;
    return driver_result(g->ctx, g->Launch(g->exec, stream), "cuGraphLaunch");
}

void tile_graph_free(tile_graph *g)
{
    if (!g)
        return;
    if (g->exec)
        g->ExecDestroy(g->exec);
    if (g->graph)
        g->Destroy(g->graph);
    free(g);
}

/* ---- workspaces for callers without a device allocator of their own (tile.h, programs) */

tile_status tile_current_device(tile_context *ctx, int *device)
{
    if (!ctx || !device)
        return fail(ctx, TILE_ERR_ARG, "tile_current_device: a NULL argument");
    Slot *slot;
    int index;
    tile_status s = current_slot(ctx, &slot, &index);
    *device = s == TILE_OK ? (int)slot->device : -1;
    return s;
}

/* Neither cuMemAlloc nor a wait for the stream may happen while it is being captured. */
static tile_status not_capturing(tile_context *ctx, CUstream stream, const char *what)
{
    CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
    CUresult r = ctx->cu.StreamIsCapturing(stream, &capture);
    if (r != CUDA_SUCCESS)
        return driver_result(ctx, r, "cuStreamIsCapturing");
    if (capture != CU_STREAM_CAPTURE_STATUS_NONE)
        return fail(ctx, TILE_ERR_CAPTURE, "cannot %s a workspace while its stream is being "
                    "captured: launch once before capturing, so that the workspace exists at "
                    "its size", what);
    return TILE_OK;
}

tile_status tile_workspace_alloc(tile_context *ctx, size_t bytes, CUstream stream, void **out)
{
    if (!ctx || !out || bytes == 0)
        return fail(ctx, TILE_ERR_ARG, "tile_workspace_alloc: %s",
                    bytes ? "a NULL argument" : "0 bytes (a program needing none takes NULL)");
    *out = NULL;
    Slot *slot;
    int index;
    tile_status s = current_slot(ctx, &slot, &index);   /* makes a context current if none is */
    if (s == TILE_OK)
        s = not_capturing(ctx, stream, "allocate");
    if (s != TILE_OK)
        return s;
    CUdeviceptr ptr = 0;
    CUresult r = ctx->cu.MemAlloc(&ptr, bytes);
    if (r == CUDA_ERROR_OUT_OF_MEMORY)
        return fail(ctx, TILE_ERR_MEMORY, "cuMemAlloc of a %zu-byte workspace: out of device "
                    "memory", bytes);
    if ((s = driver_result(ctx, r, "cuMemAlloc")) == TILE_OK)
        *out = (void *)(uintptr_t)ptr;
    return s;
}

tile_status tile_workspace_free(tile_context *ctx, void *workspace, CUstream stream)
{
    if (!workspace)
        return TILE_OK;
    if (!has_driver(ctx))
        return TILE_ERR_NO_DEVICE;
    /* cuMemFree is not ordered with the stream: the launches using the bytes finish first */
    tile_status s = not_capturing(ctx, stream, "free");
    if (s == TILE_OK)
        s = driver_result(ctx, ctx->cu.StreamSynchronize(stream), "cuStreamSynchronize");
    if (s == TILE_OK)
        s = driver_result(ctx, ctx->cu.MemFree((CUdeviceptr)(uintptr_t)workspace), "cuMemFree");
    return s;
}
