/* gpu_run.c — a TIR kernel on the GPU: opens the device, uploads a launch's tensors into
   guard bands of canary bytes (strides kept), compiles and loads the variant the launch
   needs, launches it through codegen's kernel ABI, checks the guards, downloads the
   outputs, times repetitions with events, and counts FLOPs and bytes for `tilec bench`. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static GpuStatus report(GpuStatus status, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static GpuStatus report(GpuStatus status, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return status;
}

/* A failed driver call: its message, prefixed with what we were doing. */
static GpuStatus driver_failure(GpuSession *s, CudaStatus st, const char *doing, char *err,
                                size_t errlen)
{
    if (st == CUDA_ERR_NO_DRIVER || st == CUDA_ERR_NO_DEVICE)
        return report(GPU_NO_GPU, err, errlen, "no GPU: %s", cuda_driver_message(&s->drv));
    return report(GPU_FAILED, err, errlen, "%s: %s", doing, cuda_driver_message(&s->drv));
}

/* ---- the device */

GpuStatus gpu_open(GpuSession *s, const Target *want, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    CudaStatus st = cuda_driver_open(&s->drv);
    if (st == CUDA_OK)
        st = cuda_device_open(&s->drv, 0);
    if (st == CUDA_OK)
        st = cuda_device_info(&s->drv, &s->info);
    if (st != CUDA_OK) {
        GpuStatus g = driver_failure(s, st, "opening the GPU", err, errlen);
        cuda_driver_close(&s->drv);
        return g;
    }
    s->open = true;
    if (want && !target_runs_on(want, s->info.cc_major, s->info.cc_minor)) {
        report(GPU_FAILED, err, errlen, "%s is compute capability %d.%d: it cannot run %s code",
               s->info.name, s->info.cc_major, s->info.cc_minor, want->name);
        gpu_close(s);
        return GPU_FAILED;
    }
    static const char *const order[] = {"sm_90a", "sm_89", "sm_80"};
    s->target = want;
    for (int i = 0; !s->target && i < 3; i++)
        if (target_runs_on(target_lookup(order[i]), s->info.cc_major, s->info.cc_minor))
            s->target = target_lookup(order[i]);
    if (!s->target) {
        report(GPU_NO_GPU, err, errlen, "no GPU tilec can compile for: %s is compute capability "
               "%d.%d (tilec targets %s)", s->info.name, s->info.cc_major, s->info.cc_minor,
               target_names());
        gpu_close(s);
        return GPU_NO_GPU;
    }
    if ((st = cuda_stream_create(&s->drv, &s->stream)) != CUDA_OK) {
        GpuStatus g = driver_failure(s, st, "creating a stream", err, errlen);
        gpu_close(s);
        return g;
    }
    return GPU_OK;
}

void gpu_close(GpuSession *s)
{
    if (s->open) {
        if (s->flush)
            cuda_mem_free(&s->drv, s->flush);
        if (s->stream)
            cuda_stream_destroy(&s->drv, s->stream);
    }
    cuda_driver_close(&s->drv);
    s->open = false;
    s->flush = 0;
    s->stream = NULL;
}

/* ---- alignment */

AlignClass gpu_align_class(const TirKernel *k, const LaunchArgs *args)
{
    AlignClass worst = ALIGN_VEC16;
    for (int i = 0; i < k->nparams; i++) {
        if (k->params[i].kind != PARAM_TENSOR)
            continue;
        const HostTensor *t = &args->args[i].tensor;
        int inner = t->rank - 1;
        int64_t item = dtype_size(t->dtype);
        if (inner >= 0 && t->shape[inner] > 1 && t->strides[inner] != 1)
            return ALIGN_ANY;
        for (int d = 0; d < inner; d++)
            if (t->shape[d] > 1 && (t->strides[d] * item) % 16 != 0)
                worst = ALIGN_UNIT;
    }
    return worst;
}

/* ---- tensors on the device */

static GpuStatus upload_tensor(GpuSession *s, const TirParam *p, const HostTensor *t,
                               GpuTensor *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->storage_bytes = t->nbytes;
    size_t total = t->nbytes + 2 * (size_t)GPU_GUARD_BYTES;
    CudaStatus st = cuda_mem_alloc(&s->drv, total, &out->alloc);
    if (st != CUDA_OK) {
        char doing[160];
        snprintf(doing, sizeof doing, "allocating %zu bytes for %s", total, p->name);
        return driver_failure(s, st, doing, err, errlen);
    }
    out->base = out->alloc + GPU_GUARD_BYTES;
    if ((st = cuda_memset8_async(&s->drv, out->alloc, GPU_CANARY, total, s->stream)) == CUDA_OK)
        st = cuda_stream_synchronize(&s->drv, s->stream);
    if (st == CUDA_OK && t->nbytes)
        st = cuda_copy_to_device(&s->drv, out->base, t->data, t->nbytes);
    if (st != CUDA_OK) {
        char doing[160];
        snprintf(doing, sizeof doing, "uploading %s", p->name);
        return driver_failure(s, st, doing, err, errlen);
    }
    if (p->reduce != REDUCE_NONE && dtype_size(p->dtype) == 8) {
        /* launch_bind filled the host tensor with the identity: keep a copy to reset from */
        if ((st = cuda_mem_alloc(&s->drv, t->nbytes ? t->nbytes : 8, &out->identity)) == CUDA_OK && t->nbytes)
            st = cuda_copy_to_device(&s->drv, out->identity, t->data, t->nbytes);
        if (st != CUDA_OK)
            return driver_failure(s, st, "uploading a reduction identity", err, errlen);
    }
    return GPU_OK;
}

static void free_tensor(GpuSession *s, GpuTensor *t)
{
    if (!t->shared && t->alloc)
        cuda_mem_free(&s->drv, t->alloc);
    if (!t->shared && t->identity)
        cuda_mem_free(&s->drv, t->identity);
    memset(t, 0, sizeof *t);
}

void gpu_launch_free(GpuSession *s, GpuLaunch *l)
{
    for (int i = 0; l->tensors && l->tir && i < l->tir->nparams; i++)
        free_tensor(s, &l->tensors[i]);
    if (l->module.module)
        cuda_module_unload(&s->drv, &l->module);
    free(l->tensors);
    free(l->slots);
    free(l->slot_ptrs);
    memset(l, 0, sizeof *l);
}

/* ---- the kernel ABI (codegen.h): tensors as base + one i64 stride per dim, scalars by
   dtype, consts compiled in, then every shape symbol as i64. */

static GpuStatus fill_slots(GpuLaunch *l, const LaunchArgs *args, char *err, size_t errlen)
{
    const TirKernel *k = l->tir;
    int n = k->nsyms;
    for (int i = 0; i < k->nparams; i++)
        n += k->params[i].kind == PARAM_TENSOR ? 1 + k->params[i].rank
             : k->params[i].kind == PARAM_SCALAR ? 1 : 0;
    l->slots = calloc((size_t)n + 1, sizeof *l->slots);
    l->slot_ptrs = calloc((size_t)n + 1, sizeof *l->slot_ptrs);
    if (!l->slots || !l->slot_ptrs)
        return report(GPU_FAILED, err, errlen, "out of memory");
    int at = 0;
    for (int i = 0; i < k->nparams; i++) {
        const TirParam *p = &k->params[i];
        const LaunchArg *a = &args->args[i];
        if (p->kind == PARAM_TENSOR) {
            uint64_t base = l->tensors[i].base;
            memcpy(&l->slots[at++], &base, sizeof base);
            for (int d = 0; d < p->rank; d++)
                l->slots[at++] = a->tensor.strides[d];
            continue;
        }
        if (p->kind != PARAM_SCALAR)
            continue;
        /* little-endian: a narrower value sits in the slot's first bytes */
        void *slot = &l->slots[at++];
        switch (p->dtype) {
        case DT_F32: {
            float f = (float)a->fvalue;
            memcpy(slot, &f, sizeof f);
            break;
        }
        case DT_F16:
        case DT_BF16: {
            uint16_t bits = (uint16_t)dtype_encode_f64(p->dtype, a->fvalue);
            memcpy(slot, &bits, sizeof bits);
            break;
        }
        case DT_I32: {
            int32_t v = (int32_t)a->ivalue;
            memcpy(slot, &v, sizeof v);
            break;
        }
        case DT_I64:
            memcpy(slot, &a->ivalue, sizeof a->ivalue);
            break;
        case DT_BOOL: {
            uint8_t v = a->ivalue != 0;
            memcpy(slot, &v, sizeof v);
            break;
        }
        default:
            return report(GPU_COMPILE, err, errlen, "scalar parameter %s has dtype %s, which the "
                          "kernel ABI does not pass", p->name, dtype_name(p->dtype));
        }
    }
    for (int s = 0; s < k->nsyms; s++)
        l->slots[at++] = args->sym_values[s];
    l->nslots = at;
    for (int i = 0; i < at; i++)
        l->slot_ptrs[i] = &l->slots[i];
    return GPU_OK;
}

GpuStatus gpu_prepare(GpuSession *s, Arena *arena, const TirKernel *k, const Config *config,
                      const LaunchArgs *args, const char *ptx_override,
                      const GpuTensor *const *share, GpuLaunch *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->tir = k;
    out->config = *config;
    GpuStatus g = GPU_OK;
    out->tensors = calloc((size_t)k->nparams + 1, sizeof *out->tensors);
    if (!out->tensors) {
        g = report(GPU_FAILED, err, errlen, "out of memory");
        goto fail;
    }
    for (int i = 0; i < k->nparams; i++) {
        if (k->params[i].kind != PARAM_TENSOR)
            continue;
        if (share && share[i]) {
            out->tensors[i] = *share[i];
            out->tensors[i].shared = true;
            continue;
        }
        if ((g = upload_tensor(s, &k->params[i], &args->args[i].tensor, &out->tensors[i], err,
                               errlen)) != GPU_OK)
            goto fail;
    }
    out->align = gpu_align_class(k, args);
    if (ptx_override) {
        out->compiled.ptx = ptx_override;
        out->compiled.entry = k->name;
        out->compiled.num_threads = (int)config_get(config, "num_warps", 4) * 32;
        out->compiled.smem_bytes = 0;
    } else {
        Variant v = {.config = &out->config, .align = out->align};
        for (int sidx = 0; sidx < k->nsyms && sidx < VARIANT_MAX_SYMS; sidx++)
            v.full_sizes[sidx] = args->sym_values[sidx];
        if (k->nsyms > VARIANT_MAX_SYMS) {
            g = report(GPU_COMPILE, err, errlen, "%s has %d shape symbols; codegen takes at most %d",
                       k->name, k->nsyms, VARIANT_MAX_SYMS);
            goto fail;
        }
        char cerr[1024];
        if (codegen_compile(arena, k, &v, s->target, false, &out->compiled, cerr, sizeof cerr) != 0) {
            g = report(GPU_COMPILE, err, errlen, "%s", cerr);
            goto fail;
        }
    }
    CudaStatus st = cuda_module_load_ptx(&s->drv, out->compiled.ptx, &out->module);
    if (st == CUDA_OK)
        st = cuda_module_function(&s->drv, &out->module, out->compiled.entry, &out->function);
    if (st != CUDA_OK) {
        g = driver_failure(s, st, "loading the kernel's PTX", err, errlen);
        goto fail;
    }
    if (out->compiled.smem_bytes > s->info.max_shared_per_block) {
        g = report(GPU_COMPILE, err, errlen, "%s needs %d bytes of shared memory per block; %s "
                   "allows %d", k->name, out->compiled.smem_bytes, s->info.name,
                   s->info.max_shared_per_block);
        goto fail;
    }
    if (out->compiled.smem_bytes > 48 * 1024 &&
        (st = cuda_function_set_max_dynamic_shared(&s->drv, out->function,
                                                   out->compiled.smem_bytes)) != CUDA_OK) {
        g = driver_failure(s, st, "raising the dynamic shared-memory limit", err, errlen);
        goto fail;
    }
    char gerr[1024];
    out->programs = codegen_grid_programs(k, &out->config, launch_leaf_value, (void *)args,
                                          gerr, sizeof gerr);
    if (out->programs < 0) {
        g = report(GPU_COMPILE, err, errlen, "the grid of %s: %s", k->name, gerr);
        goto fail;
    }
    if (out->programs > 0x7fffffff) {
        g = report(GPU_COMPILE, err, errlen, "%s needs %lld blocks, over the grid's limit of 2^31-1",
                   k->name, (long long)out->programs);
        goto fail;
    }
    if ((g = fill_slots(out, args, err, errlen)) != GPU_OK)
        goto fail;
    return GPU_OK;
fail:
    gpu_launch_free(s, out);
    return g;
}

/* ---- launching */

/* The identity of a reduction target's op in the dtype's bits. */
static uint64_t identity_bits(DType t, ReduceOp op)
{
    if (dtype_is_float(t))
        return dtype_encode_f64(t, op == REDUCE_MAX ? -INFINITY : op == REDUCE_MIN ? INFINITY : 0.0);
    if (t == DT_I32)
        return (uint32_t)(op == REDUCE_MAX ? INT32_MIN : op == REDUCE_MIN ? INT32_MAX : 0);
    if (t == DT_BOOL)
        return op == REDUCE_MIN ? 1 : 0;
    return 0; /* i64 uses the identity image */
}

GpuStatus gpu_reset_targets(GpuSession *s, GpuLaunch *l, char *err, size_t errlen)
{
    const TirKernel *k = l->tir;
    for (int i = 0; i < k->nparams; i++) {
        const TirParam *p = &k->params[i];
        const GpuTensor *t = &l->tensors[i];
        if (p->kind != PARAM_TENSOR || p->reduce == REDUCE_NONE || !t->storage_bytes)
            continue;
        int size = dtype_size(p->dtype);
        uint64_t bits = identity_bits(p->dtype, p->reduce);
        size_t count = t->storage_bytes / (size_t)size;
        CudaStatus st;
        if (size == 4)
            st = cuda_memset32_async(&s->drv, t->base, (uint32_t)bits, count, s->stream);
        else if (size == 2)
            st = cuda_memset16_async(&s->drv, t->base, (uint16_t)bits, count, s->stream);
        else if (size == 1)
            st = cuda_memset8_async(&s->drv, t->base, (uint8_t)bits, count, s->stream);
        else
            st = cuda_copy_device_async(&s->drv, t->base, t->identity, t->storage_bytes, s->stream);
        if (st != CUDA_OK)
            return driver_failure(s, st, "resetting a reduction target", err, errlen);
    }
    return GPU_OK;
}

GpuStatus gpu_enqueue(GpuSession *s, GpuLaunch *l, char *err, size_t errlen)
{
    if (l->programs == 0)
        return GPU_OK;
    CudaLaunch launch = {
        .grid = {(unsigned)l->programs, 1, 1},
        .block = {(unsigned)l->compiled.num_threads, 1, 1},
        .shared_bytes = (unsigned)l->compiled.smem_bytes,
        .stream = s->stream,
    };
    CudaStatus st = cuda_launch(&s->drv, l->function, &launch, l->slot_ptrs);
    if (st != CUDA_OK)
        return driver_failure(s, st, "launching the kernel", err, errlen);
    return GPU_OK;
}

/* The first byte of `buf` that is not the canary, or -1. */
static long first_stray(const unsigned char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != GPU_CANARY)
            return (long)i;
    return -1;
}

GpuStatus gpu_check_guards(GpuSession *s, GpuLaunch *l, char *err, size_t errlen)
{
    CudaStatus st = cuda_stream_synchronize(&s->drv, s->stream);
    if (st != CUDA_OK)
        return driver_failure(s, st, "running the kernel", err, errlen);
    unsigned char *buf = malloc(GPU_GUARD_BYTES);
    if (!buf)
        return report(GPU_FAILED, err, errlen, "out of memory");
    GpuStatus g = GPU_OK;
    const TirKernel *k = l->tir;
    for (int i = 0; i < k->nparams && g == GPU_OK; i++) {
        const GpuTensor *t = &l->tensors[i];
        if (k->params[i].kind != PARAM_TENSOR || t->shared)
            continue;
        for (int side = 0; side < 2 && g == GPU_OK; side++) {
            CUdeviceptr at = side == 0 ? t->alloc : t->base + t->storage_bytes;
            if ((st = cuda_copy_to_host(&s->drv, buf, at, GPU_GUARD_BYTES)) != CUDA_OK) {
                g = driver_failure(s, st, "reading a guard band", err, errlen);
                break;
            }
            long stray = first_stray(buf, GPU_GUARD_BYTES);
            if (stray < 0)
                continue;
            if (side == 0)
                g = report(GPU_STRAY_STORE, err, errlen, "stray store: the guard band before %s "
                           "was written at byte offset %ld (before the tensor's first byte)",
                           k->params[i].name, stray - (long)GPU_GUARD_BYTES);
            else
                g = report(GPU_STRAY_STORE, err, errlen, "stray store: the guard band after %s "
                           "was written at byte offset %zu (the tensor's storage is %zu bytes)",
                           k->params[i].name, t->storage_bytes + (size_t)stray, t->storage_bytes);
        }
    }
    free(buf);
    return g;
}

GpuStatus gpu_download(GpuSession *s, GpuLaunch *l, LaunchArgs *args, char *err, size_t errlen)
{
    CudaStatus st = cuda_stream_synchronize(&s->drv, s->stream);
    for (int i = 0; i < l->tir->nparams && st == CUDA_OK; i++) {
        HostTensor *t = &args->args[i].tensor;
        if (l->tir->params[i].kind != PARAM_TENSOR || !args->args[i].is_output || !t->nbytes)
            continue;
        st = cuda_copy_to_host(&s->drv, t->data, l->tensors[i].base, t->nbytes);
    }
    if (st != CUDA_OK)
        return driver_failure(s, st, "downloading the outputs", err, errlen);
    return GPU_OK;
}

/* ---- timing */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

GpuStatus gpu_time(GpuSession *s, GpuLaunch *const *launches, int n, int reps, int warmup,
                   bool cold_l2, double *times_ms, char *err, size_t errlen)
{
    CudaStatus st = CUDA_OK;
    if (cold_l2 && !s->flush && (st = cuda_mem_alloc(&s->drv, GPU_FLUSH_BYTES, &s->flush)) != CUDA_OK)
        return driver_failure(s, st, "allocating the L2 flush buffer", err, errlen);
    CUevent start = NULL, end = NULL;
    if ((st = cuda_event_create(&s->drv, &start)) != CUDA_OK ||
        (st = cuda_event_create(&s->drv, &end)) != CUDA_OK)
        return driver_failure(s, st, "creating events", err, errlen);
    GpuStatus g = GPU_OK;
    for (int r = 0; r < warmup + reps && g == GPU_OK; r++) {
        if (cold_l2 && (st = cuda_memset8_async(&s->drv, s->flush, (uint8_t)r, GPU_FLUSH_BYTES,
                                                s->stream)) != CUDA_OK) {
            g = driver_failure(s, st, "flushing L2", err, errlen);
            break;
        }
        if ((st = cuda_event_record(&s->drv, start, s->stream)) != CUDA_OK) {
            g = driver_failure(s, st, "recording an event", err, errlen);
            break;
        }
        for (int i = 0; i < n && g == GPU_OK; i++) {
            g = gpu_reset_targets(s, launches[i], err, errlen);
            if (g == GPU_OK)
                g = gpu_enqueue(s, launches[i], err, errlen);
        }
        if (g != GPU_OK)
            break;
        float ms = 0;
        if ((st = cuda_event_record(&s->drv, end, s->stream)) != CUDA_OK ||
            (st = cuda_event_elapsed_ms(&s->drv, start, end, &ms)) != CUDA_OK) {
            g = driver_failure(s, st, "timing the kernel", err, errlen);
            break;
        }
        if (r >= warmup)
            times_ms[r - warmup] = ms;
    }
    cuda_event_destroy(&s->drv, start);
    cuda_event_destroy(&s->drv, end);
    if (g == GPU_OK)
        qsort(times_ms, (size_t)reps, sizeof *times_ms, compare_double);
    return g;
}

/* ---- counting work */

typedef struct WorkCount {
    const TirKernel *k;
    const LaunchArgs *args;
    double flops;
    DType dot_dtype;
} WorkCount;

/* Extents at launch for counting: a block's begin is 0 and its end its loop's whole extent,
   and `relative` records that an extent used either (it depends on the block). */
typedef struct CountLeaf {
    const TirKernel *k;
    const LaunchArgs *args;
    bool relative;
} CountLeaf;

static bool count_leaf(void *ctx, const TirOp *op, int64_t *ivalue, double *fvalue)
{
    CountLeaf *c = ctx;
    if (op->opcode != TIR_BEGIN && op->opcode != TIR_END)
        return launch_leaf_value((void *)c->args, op, ivalue, fvalue);
    c->relative = true;
    *ivalue = 0;
    if (op->opcode == TIR_BEGIN)
        return true;
    const TirLoopVar *lv = c->k->loopvars[op->loopvar];
    TirScalar extent;
    if (!tir_eval_scalar(lv->loop->operands[lv->dim], count_leaf, ctx, &extent))
        return false;
    *ivalue = extent.i;
    return true;
}

/* The dtype a dot multiplies for operand `which`: a prologue's result when there is one. */
static DType dot_operand_dtype(const TirOp *dot, int which)
{
    const TirBlock *pro = dot->regions[which];
    if (pro && pro->last && pro->last->opcode == TIR_YIELD && pro->last->noperands > 0)
        return pro->last->operands[0]->type.dtype;
    return dot->operands[which]->type.dtype;
}

static void count_dot(TirOp *op, void *ctx)
{
    WorkCount *w = ctx;
    if (op->opcode != TIR_DOT)
        return;
    const TirKernel *k = w->k;
    double work = 2;
    /* every enclosing loop's trip count in elements */
    for (const TirOp *loop = op->block ? op->block->parent : NULL; loop;
         loop = loop->block ? loop->block->parent : NULL) {
        if (loop->opcode != TIR_FOR && loop->opcode != TIR_GRID)
            continue;
        for (int v = 0; v < loop->nvars; v++) {
            CountLeaf leaf = {k, w->args, false};
            TirScalar extent;
            bool known = tir_eval_scalar(loop->operands[v], count_leaf, &leaf, &extent);
            double e = known ? extent.f : 0;
            work *= leaf.relative ? e / 2 : e;
        }
    }
    /* full axes of the product (result axes and the contraction axis) */
    const TirType *a = &op->operands[0]->type;
    Axis axes[MAX_RANK + 1];
    int naxes = 0;
    for (int d = 0; d < op->results[0]->type.rank; d++)
        axes[naxes++] = op->results[0]->type.axes[d];
    if (a->rank > 0)
        axes[naxes++] = a->axes[a->rank - 1];
    for (int i = 0; i < naxes; i++) {
        if (axes[i].kind != AXIS_FULL)
            continue;
        bool seen = false;
        for (int j = 0; j < i; j++)
            seen = seen || (axes[j].kind == AXIS_FULL && axes[j].id == axes[i].id);
        if (!seen)
            work *= (double)w->args->sym_values[axes[i].id];
    }
    w->flops += work;
    DType t = dot_operand_dtype(op, TIR_REGION_PROLOGUE_A);
    if (w->dot_dtype == DT_COUNT || dtype_is_fp8(t))
        w->dot_dtype = t;
}

void gpu_count_work(const TirKernel *k, const LaunchArgs *args, GpuWork *out)
{
    WorkCount w = {.k = k, .args = args, .dot_dtype = DT_COUNT};
    tir_walk(k->body, count_dot, &w);
    out->flops = w.flops;
    out->dot_dtype = w.dot_dtype;
    out->bytes = 0;
    for (int i = 0; i < k->nparams; i++)
        if (k->params[i].kind == PARAM_TENSOR)
            out->bytes += (double)host_numel(&args->args[i].tensor) * dtype_size(k->params[i].dtype);
}

/* ---- peaks */

/* Dense tensor-core peaks (the datasheets' sparsity figures halved) and memory bandwidth.
   Sources: NVIDIA H100 Tensor Core GPU datasheet (SXM5, PCIe, NVL columns), NVIDIA H200
   Tensor Core GPU datasheet (SXM, NVL), NVIDIA A100 Tensor Core GPU datasheet (no fp8:
   Ampere has none, so the bf16 figure stands in). More specific names come first. */
static const GpuPeak peaks[] = {
    {"H100 NVL", 835.5, 1670.5, 3.9, "NVIDIA H100 datasheet, H100 NVL"},
    {"H100 PCIe", 756.5, 1513.0, 2.0, "NVIDIA H100 datasheet, H100 PCIe"},
    {"H100", 989.4, 1978.9, 3.35, "NVIDIA H100 datasheet, H100 SXM5"},
    {"H200 NVL", 835.5, 1670.5, 4.8, "NVIDIA H200 datasheet, H200 NVL"},
    {"H200", 989.4, 1978.9, 4.8, "NVIDIA H200 datasheet, H200 SXM"},
    {"A100-SXM4-40GB", 312.0, 312.0, 1.555, "NVIDIA A100 datasheet, A100 SXM 40GB"},
    {"A100-SXM4-80GB", 312.0, 312.0, 2.039, "NVIDIA A100 datasheet, A100 SXM 80GB"},
    {"A100 80GB PCIe", 312.0, 312.0, 1.935, "NVIDIA A100 datasheet, A100 PCIe 80GB"},
    {"A100-PCIE-40GB", 312.0, 312.0, 1.555, "NVIDIA A100 datasheet, A100 PCIe 40GB"},
};

bool gpu_peak_lookup(const char *device_name, GpuPeak *out)
{
    for (size_t i = 0; i < sizeof peaks / sizeof peaks[0]; i++)
        if (strstr(device_name, peaks[i].match)) {
            *out = peaks[i];
            return true;
        }
    return false;
}
