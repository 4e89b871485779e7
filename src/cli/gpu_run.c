/* gpu_run.c — a TIR kernel on the GPU for `tilec run`, `tilec bench` and the tuner's
   benchmark child, through libtile: uploads a launch's tensors into guard bands of canary
   bytes (strides kept), compiles the variant the launch needs into a one-variant bundle in
   memory that libtile loads, checks, dispatches and launches exactly as it does an
   application's (tile_internal.h), checks the guards and the kernels' index faults,
   downloads the outputs, times
   repetitions with events, and counts a launch's work for `tilec bench` (FLOPs as the
   tuner's estimate counts them, bytes of its tensors). Every driver call goes through
   libtile's context. */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* ---- the watchdog
   A kernel that never finishes (a wait in generated code that nothing satisfies) would hang
   the command, and with it a script or CI. So each wait for the GPU is bounded by
   TILEC_GPU_TIMEOUT seconds (default 120; 0: unbounded): past it the process says what it
   waited for and exits 1, and the stuck context goes with the process. The message sits
   in static storage, the only thing a signal handler may read. */
static char watch_message[320];
static size_t watch_length;

static void watchdog_fired(int sig)
{
    (void)sig;
    ssize_t written = write(STDERR_FILENO, watch_message, watch_length);
    (void)written;
    _exit(1);
}

static unsigned watch_seconds(void)
{
    const char *text = getenv("TILEC_GPU_TIMEOUT");
    if (!text || !*text)
        return 120;
    char *end;
    long v = strtol(text, &end, 10);
    return *end || v < 0 || v > 86400 ? 120 : (unsigned)v;
}

/* Arms the watchdog for one wait: `kernel` (or NULL) and what the wait is for. */
static void watch_begin(const GpuLaunch *l, const char *doing)
{
    unsigned seconds = watch_seconds();
    if (!seconds)
        return;
    snprintf(watch_message, sizeof watch_message, "tilec: error: %s%s%s did not finish within "
             "%u s (TILEC_GPU_TIMEOUT): the GPU is stuck in a kernel that never returns, "
             "a bug in its code; the process ends and its GPU context with it\n", doing,
             l ? " of kernel " : "", l ? l->tir->name : "", seconds);
    watch_length = strlen(watch_message);
    signal(SIGALRM, watchdog_fired);
    alarm(seconds);
}

static void watch_end(void)
{
    alarm(0);
}

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

/* A failed libtile call: its message, prefixed with what we were doing (when `doing`). */
static GpuStatus tile_failure(GpuSession *s, tile_status st, const char *doing, char *err,
                              size_t errlen)
{
    const char *msg = tile_error_message(s->ctx);
    if (st == TILE_ERR_NO_DEVICE)
        return report(GPU_NO_GPU, err, errlen, "no GPU: %s", msg);
    if (!doing)
        return report(GPU_FAILED, err, errlen, "%s", msg);
    return report(GPU_FAILED, err, errlen, "%s: %s", doing, msg);
}

/* ---- the device */

GpuStatus gpu_open(GpuSession *s, const Target *want, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    tile_status st = tile_context_create(&s->ctx, NULL);
    if (!s->ctx)
        return report(GPU_FAILED, err, errlen, "out of memory");
    if (st == TILE_OK)
        st = tile_dev_info(s->ctx, &s->info);
    if (st != TILE_OK) {
        GpuStatus g = tile_failure(s, st, "opening the GPU", err, errlen);
        gpu_close(s);
        return g;
    }
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
    if ((st = tile_dev_stream_create(s->ctx, &s->stream)) != TILE_OK) {
        GpuStatus g = tile_failure(s, st, "creating a stream", err, errlen);
        gpu_close(s);
        return g;
    }
    return GPU_OK;
}

void gpu_close(GpuSession *s)
{
    if (s->ctx) {
        tile_dev_free(s->ctx, s->flush);
        tile_dev_stream_destroy(s->ctx, s->stream);
        tile_context_destroy(s->ctx);
    }
    memset(s, 0, sizeof *s);
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
    tile_status st = tile_dev_alloc(s->ctx, total, &out->alloc);
    if (st != TILE_OK) {
        char doing[160];
        snprintf(doing, sizeof doing, "allocating %zu bytes for %s", total, p->name);
        return tile_failure(s, st, doing, err, errlen);
    }
    out->base = out->alloc + GPU_GUARD_BYTES;
    if ((st = tile_dev_memset_async(s->ctx, out->alloc, 1, GPU_CANARY, total, s->stream)) ==
        TILE_OK)
        st = tile_dev_stream_synchronize(s->ctx, s->stream);
    if (st == TILE_OK && t->nbytes)
        st = tile_dev_copy_to_device(s->ctx, out->base, t->data, t->nbytes);
    if (st != TILE_OK) {
        char doing[160];
        snprintf(doing, sizeof doing, "uploading %s", p->name);
        return tile_failure(s, st, doing, err, errlen);
    }
    return GPU_OK;
}

GpuStatus gpu_upload(GpuSession *s, const TirKernel *k, const LaunchArgs *args,
                     const GpuTensor *const *share, GpuLaunch *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->tir = k;
    out->tensors = calloc((size_t)k->nparams + 1, sizeof *out->tensors);
    if (!out->tensors)
        return report(GPU_FAILED, err, errlen, "out of memory");
    for (int i = 0; i < k->nparams; i++) {
        if (k->params[i].kind != PARAM_TENSOR)
            continue;
        if (share && share[i]) {
            out->tensors[i] = *share[i];
            out->tensors[i].shared = true;
            continue;
        }
        GpuStatus g = upload_tensor(s, &k->params[i], &args->args[i].tensor, &out->tensors[i],
                                    err, errlen);
        if (g != GPU_OK) {
            gpu_launch_free(s, out);
            return g;
        }
    }
    return GPU_OK;
}

void gpu_launch_free(GpuSession *s, GpuLaunch *l)
{
    for (int i = 0; l->tensors && l->tir && i < l->tir->nparams; i++)
        if (!l->tensors[i].shared)
            tile_dev_free(s->ctx, l->tensors[i].alloc);
    tile_bundle_free(l->bundle);
    free(l->tensors);
    free(l->prepared);
    memset(l, 0, sizeof *l);
}

/* ---- the variant, as a bundle libtile loads */

bool gpu_grid_check(const TirKernel *k, const LaunchArgs *args, char *err, size_t errlen)
{
    const TirOp *grid = k->body->last;
    for (int i = 0; grid && grid->opcode == TIR_GRID && i < grid->nvars; i++) {
        TirScalar extent;
        tir_eval_scalar(grid->operands[i], launch_leaf_value, (void *)args, &extent);
        const TirOp *op = extent.div_by_zero;
        if (op) {
            snprintf(err, errlen, "%s:%d:%d: the extent of grid variable %s divides by zero",
                     op->loc.file ? op->loc.file->path : k->source ? k->source : k->name,
                     op->loc.line, op->loc.col, k->loopvars[grid->loopvars[i]]->name);
            return false;
        }
    }
    return true;
}

GpuStatus gpu_compile(GpuSession *s, Arena *arena, const TirKernel *k, Config *config, bool fit,
                      const LaunchArgs *args, const char *ptx_override, void **bundle,
                      size_t *size, char *err, size_t errlen)
{
    *bundle = NULL;
    if (k->nsyms > VARIANT_MAX_SYMS)
        return report(GPU_COMPILE, err, errlen, "%s has %d shape symbols; codegen takes at most "
                      "%d", k->name, k->nsyms, VARIANT_MAX_SYMS);
    char gerr[1024];
    if (!gpu_grid_check(k, args, gerr, sizeof gerr))
        return report(GPU_COMPILE, err, errlen, "the grid of %s: %s", k->name, gerr);
    Variant v = {.config = config, .align = gpu_align_class(k, args)};
    for (int sidx = 0; sidx < k->nsyms; sidx++)
        v.full_sizes[sidx] = args->sym_values[sidx];
    CompiledKernel compiled;
    if (ptx_override) {
        /* hand-written PTX: its entry is the kernel's name, no dynamic shared memory */
        compiled = (CompiledKernel){.ptx = ptx_override, .entry = k->name,
                                    .num_threads = (int)config_knob(config, TUNE_WARPS) * 32};
    } else {
        char cerr[1024];
        if (codegen_compile(arena, k, &v, s->target, false, &compiled, cerr, sizeof cerr) != 0)
            return report(GPU_COMPILE, err, errlen, "%s", cerr);
        PtxasReport rep;
        if (fit && v.align == ALIGN_ANY &&
            ptxas_assemble(NULL, compiled.ptx, s->target->name, &rep, NULL, NULL, cerr, sizeof cerr) == 0 &&
            variant_fit_align_any(arena, codegen_compile, k, &v, s->target, NULL, &compiled, &rep,
                                  NULL, NULL)) {
            char text[640];
            config_format(v.config, text, sizeof text);
            fprintf(stderr, "tilec: note: kernel %s on tensors that are not 16-byte aligned runs "
                            "%s: the default config spills registers there (as a bundle's "
                            "align-any variant)\n", k->name, text);
            *config = *v.config;
            v.config = config;
        }
    }
    BundleVariant bv = {.kernel = k, .variant = &v, .target = s->target, .compiled = &compiled};
    char berr[512];
    if (bundle_write_variant(&bv, bundle, size, berr, sizeof berr) != 0)
        return report(GPU_COMPILE, err, errlen, "%s", berr);
    return GPU_OK;
}

/* The launch's values for libtile (tile_launch_values' arrays, in signature order). */
typedef struct LaunchValues {
    void *pointers[TBN_MAX_PARAMS];
    int64_t strides[TBN_MAX_PARAMS * TBN_MAX_RANK];
    tile_scalar scalars[TBN_MAX_PARAMS];
    int64_t consts[TBN_MAX_PARAMS];
} LaunchValues;

static void fill_values(const GpuLaunch *l, const LaunchArgs *args, LaunchValues *v)
{
    const TirKernel *k = l->tir;
    int tensors = 0, strides = 0, scalars = 0, consts = 0;
    for (int i = 0; i < k->nparams; i++) {
        const TirParam *p = &k->params[i];
        const LaunchArg *a = &args->args[i];
        if (p->kind == PARAM_CONST) {
            v->consts[consts++] = a->ivalue;
        } else if (p->kind == PARAM_TENSOR) {
            v->pointers[tensors++] = (void *)(uintptr_t)l->tensors[i].base;
            for (int d = 0; d < p->rank; d++)
                v->strides[strides++] = a->tensor.strides[d];
        } else {
            tile_scalar *sv = &v->scalars[scalars++];
            memset(sv, 0, sizeof *sv);
            switch (p->dtype) {
            case DT_F32: sv->f32 = (float)a->fvalue; break;
            case DT_F16: case DT_BF16:
                sv->bits16 = (uint16_t)dtype_encode_f64(p->dtype, a->fvalue);
                break;
            case DT_F8E4M3: case DT_F8E5M2:
                sv->bits8 = (uint8_t)dtype_encode_f64(p->dtype, a->fvalue);
                break;
            case DT_I32: sv->i32 = (int32_t)a->ivalue; break;
            case DT_I64: sv->i64 = a->ivalue; break;
            default: sv->b = a->ivalue != 0; break;
            }
        }
    }
}

GpuStatus gpu_load(GpuSession *s, const void *bundle, size_t size, const LaunchArgs *args,
                   GpuLaunch *l, char *err, size_t errlen)
{
    tile_status st = tile_bundle_load_memory(s->ctx, bundle, size, &l->bundle);
    if (st != TILE_OK)
        return tile_failure(s, st, "loading the compiled variant", err, errlen);
    const TbnBundle *view = tile_bundle_view(l->bundle);
    if (view->nkernels != 1 || view->nvariants != 1 ||
        strcmp(view->kernels[0].name, l->tir->name) != 0)
        return report(GPU_FAILED, err, errlen, "the bundle is not one variant of %s",
                      l->tir->name);
    if ((int)view->variants[0].smem_bytes > s->info.max_shared_per_block)
        return report(GPU_COMPILE, err, errlen, "%s needs %u bytes of shared memory per block; "
                      "%s allows %d", l->tir->name, view->variants[0].smem_bytes, s->info.name,
                      s->info.max_shared_per_block);
    LaunchValues *v = calloc(1, sizeof *v);
    if (!v || !(l->prepared = malloc(sizeof *l->prepared))) {
        free(v);
        return report(GPU_FAILED, err, errlen, "out of memory");
    }
    fill_values(l, args, v);
    tile_launch_values values = {v->pointers, v->strides, args->sym_values, v->scalars,
                                 v->consts};
    st = tile_launch_prepare(s->ctx, l->bundle, 0, &values, s->stream, l->prepared);
    free(v);
    if (st != TILE_OK) {
        free(l->prepared);
        l->prepared = NULL;
        return tile_failure(s, st, NULL, err, errlen);
    }
    l->align = (AlignClass)view->variants[l->prepared->variant].align;
    return GPU_OK;
}

GpuStatus gpu_prepare(GpuSession *s, Arena *arena, const TirKernel *k, Config *config, bool fit,
                      const LaunchArgs *args, const char *ptx_override,
                      const GpuTensor *const *share, GpuLaunch *out, char *err, size_t errlen)
{
    void *bundle = NULL;
    size_t size = 0;
    GpuStatus g = gpu_upload(s, k, args, share, out, err, errlen);
    if (g == GPU_OK)
        g = gpu_compile(s, arena, k, config, fit, args, ptx_override, &bundle, &size, err, errlen);
    if (g == GPU_OK)
        g = gpu_load(s, bundle, size, args, out, err, errlen);
    free(bundle);
    if (g != GPU_OK)
        gpu_launch_free(s, out);
    return g;
}

/* ---- launching */

GpuStatus gpu_reset_targets(GpuSession *s, GpuLaunch *l, char *err, size_t errlen)
{
    tile_status st = tile_launch_reset_targets(s->ctx, l->prepared, s->stream);
    return st == TILE_OK ? GPU_OK : tile_failure(s, st, NULL, err, errlen);
}

GpuStatus gpu_enqueue(GpuSession *s, GpuLaunch *l, char *err, size_t errlen)
{
    tile_status st = tile_launch_enqueue(s->ctx, l->prepared, s->stream);
    return st == TILE_OK ? GPU_OK : tile_failure(s, st, NULL, err, errlen);
}

/* The first byte of `buf` that is not the canary, or -1. */
static long first_stray(const unsigned char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != GPU_CANARY)
            return (long)i;
    return -1;
}

GpuStatus gpu_check_faults(GpuSession *s, GpuLaunch *l, char *err, size_t errlen)
{
    watch_begin(l, "the launch");
    tile_status st = tile_bundle_synchronize(s->ctx, l->bundle, s->stream);
    watch_end();
    if (st == TILE_ERR_INDEX)
        return report(GPU_INDEX_FAULT, err, errlen, "%s", tile_error_message(s->ctx));
    return st == TILE_OK ? GPU_OK : tile_failure(s, st, "running the kernel", err, errlen);
}

GpuStatus gpu_check_guards(GpuSession *s, GpuLaunch *l, char *err, size_t errlen)
{
    GpuStatus g0 = l->bundle ? gpu_check_faults(s, l, err, errlen) : GPU_OK;
    if (g0 != GPU_OK)
        return g0;
    watch_begin(l, "the launch");
    tile_status st = tile_dev_stream_synchronize(s->ctx, s->stream);
    watch_end();
    if (st != TILE_OK)
        return tile_failure(s, st, "running the kernel", err, errlen);
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
            if ((st = tile_dev_copy_to_host(s->ctx, buf, at, GPU_GUARD_BYTES)) != TILE_OK) {
                g = tile_failure(s, st, "reading a guard band", err, errlen);
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
    watch_begin(l, "the launch");
    tile_status st = tile_dev_stream_synchronize(s->ctx, s->stream);
    watch_end();
    for (int i = 0; i < l->tir->nparams && st == TILE_OK; i++) {
        HostTensor *t = &args->args[i].tensor;
        if (l->tir->params[i].kind != PARAM_TENSOR || !args->args[i].is_output || !t->nbytes)
            continue;
        st = tile_dev_copy_to_host(s->ctx, t->data, l->tensors[i].base, t->nbytes);
    }
    if (st != TILE_OK)
        return tile_failure(s, st, "downloading the outputs", err, errlen);
    return GPU_OK;
}

/* ---- timing */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The L2 flush buffer, allocated on first use. */
static GpuStatus flush_buffer(GpuSession *s, char *err, size_t errlen)
{
    tile_status st = TILE_OK;
    if (!s->flush && (st = tile_dev_alloc(s->ctx, GPU_FLUSH_BYTES, &s->flush)) != TILE_OK)
        return tile_failure(s, st, "allocating the L2 flush buffer", err, errlen);
    return GPU_OK;
}

GpuStatus gpu_time(GpuSession *s, GpuLaunch *const *launches, int n, int reps, int warmup,
                   bool cold_l2, double *times_ms, char *err, size_t errlen)
{
    tile_status st = TILE_OK;
    if (cold_l2 && flush_buffer(s, err, errlen) != GPU_OK)
        return GPU_FAILED;
    CUevent start = NULL, end = NULL;
    if ((st = tile_dev_event_create(s->ctx, &start)) != TILE_OK ||
        (st = tile_dev_event_create(s->ctx, &end)) != TILE_OK) {
        tile_dev_event_destroy(s->ctx, start);
        return tile_failure(s, st, "creating events", err, errlen);
    }
    GpuStatus g = GPU_OK;
    for (int r = 0; r < warmup + reps && g == GPU_OK; r++) {
        if (cold_l2 && (st = tile_dev_memset_async(s->ctx, s->flush, 1, (uint8_t)r,
                                                   GPU_FLUSH_BYTES, s->stream)) != TILE_OK) {
            g = tile_failure(s, st, "flushing L2", err, errlen);
            break;
        }
        if ((st = tile_dev_event_record(s->ctx, start, s->stream)) != TILE_OK) {
            g = tile_failure(s, st, "recording an event", err, errlen);
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
        watch_begin(n ? launches[0] : NULL, "a timed repetition");
        if ((st = tile_dev_event_record(s->ctx, end, s->stream)) == TILE_OK)
            st = tile_dev_event_elapsed_ms(s->ctx, start, end, &ms);
        watch_end();
        if (st != TILE_OK) {
            g = tile_failure(s, st, "timing the kernel", err, errlen);
            break;
        }
        if (r >= warmup)
            times_ms[r - warmup] = ms;
    }
    tile_dev_event_destroy(s->ctx, start);
    tile_dev_event_destroy(s->ctx, end);
    if (g == GPU_OK)
        qsort(times_ms, (size_t)reps, sizeof *times_ms, compare_double);
    return g;
}

GpuStatus gpu_copy_gbps(GpuSession *s, double *gbps, char *err, size_t errlen)
{
    enum { REPS = 5 };
    const size_t half = GPU_FLUSH_BYTES / 2;
    if (flush_buffer(s, err, errlen) != GPU_OK)
        return GPU_FAILED;
    CUevent start = NULL, end = NULL;
    tile_status st;
    if ((st = tile_dev_event_create(s->ctx, &start)) != TILE_OK ||
        (st = tile_dev_event_create(s->ctx, &end)) != TILE_OK) {
        tile_dev_event_destroy(s->ctx, start);
        return tile_failure(s, st, "creating events", err, errlen);
    }
    double times[REPS];
    for (int r = -1; r < REPS && st == TILE_OK; r++) {   /* r = -1 warms up */
        float ms = 0;
        if ((st = tile_dev_event_record(s->ctx, start, s->stream)) == TILE_OK &&
            (st = tile_dev_copy_async(s->ctx, s->flush + half, s->flush, half, s->stream)) == TILE_OK &&
            (st = tile_dev_event_record(s->ctx, end, s->stream)) == TILE_OK &&
            (st = tile_dev_event_elapsed_ms(s->ctx, start, end, &ms)) == TILE_OK && r >= 0)
            times[r] = ms;
    }
    tile_dev_event_destroy(s->ctx, start);
    tile_dev_event_destroy(s->ctx, end);
    if (st != TILE_OK)
        return tile_failure(s, st, "timing a device-to-device copy", err, errlen);
    qsort(times, REPS, sizeof *times, compare_double);
    *gbps = times[REPS / 2] > 0 ? 2.0 * (double)half / (times[REPS / 2] * 1e-3) / 1e9 : 0;
    return GPU_OK;
}

/* ---- counting work */

void gpu_count_work(const TirKernel *k, const LaunchArgs *args, GpuWork *out)
{
    TuneShapeInfo shape = {.kernel = k};
    bool known = k->nsyms <= TUNE_MAX_SYMS;
    for (int i = 0; known && i < k->nsyms; i++)
        shape.sym_values[i] = args->sym_values[i];
    out->flops = known ? estimate_flops(&shape) : 0;
    out->dot_dtype = estimate_dot_dtype(k);
    out->bytes = 0;
    for (int i = 0; i < k->nparams; i++)
        if (k->params[i].kind == PARAM_TENSOR)
            out->bytes += (double)host_numel(&args->args[i].tensor) * dtype_size(k->params[i].dtype);
}
