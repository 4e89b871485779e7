/* tune_gpu.c — the GPU TuneBackend of `tilec tune`. On the tuner's compile threads codegen
   turns a candidate Config into PTX, ptxas reports spills and assembles it, and the two go
   to the child as a one-variant bundle, so the child loads machine code without a JIT on
   its critical path and launches through libtile as `tilec run` does. In the benchmark
   child: the GPU is opened, the inputs bound once (random, as `tilec bench`) and uploaded
   once, the reference output computed (the interpreter for small shapes, else the default
   config), and each candidate loaded, run once, checked against the reference with `tilec
   run --check`'s tolerances, then timed by bench_measure (warm-up, L2 flush, targets
   reset, median). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Shapes small enough for the interpreter (about 2 GFLOP/s) to give the reference in a
   second or two; larger ones use the default config's output on the GPU. */
#define INTERP_MAX_FLOPS 4e9
#define INTERP_MAX_ELEMENTS ((int64_t)16 << 20)

struct TuneGpuBackend {
    /* Set up in the parent and read-only afterwards: compile threads share it. */
    const TirKernel *kernel;
    int64_t sym_values[VARIANT_MAX_SYMS];
    AlignClass align;
    const Target *target;
    Config default_config;
    bool interp_reference;      /* the interpreter gives the reference output */
    LaunchShape *shapes;
    LaunchSpec spec;            /* what launch_bind gets in the child */
    char summary[256];

    /* The child's. */
    GpuSession gpu;
    LaunchArgs args;            /* the bound inputs (host), kept for the whole child */
    GpuLaunch owner;            /* owns the device tensors (uploaded, never launched) */
    const GpuTensor **share;    /* per param: the owner's tensor, for every candidate */
    bool *read_outputs;         /* per param: an output the kernel also loads */
    LaunchArgs reference;       /* args with their own output buffers: the reference */
    double *reference_max;      /* per param: max |finite reference element| */
    bool have_reference;
    LaunchArgs result;          /* args with their own output buffers: a candidate's */
    CUevent start, end;
    unsigned flush_round;
};

/* ---- the parent's side: a candidate is a bundle (bundle_write_variant) of its PTX and,
   when ptxas is there, its cubin */

static void fill_variant(const TuneGpuBackend *g, const Config *c, Variant *v)
{
    memset(v, 0, sizeof *v);
    v->config = c;
    v->align = g->align;
    memcpy(v->full_sizes, g->sym_values, sizeof v->full_sizes);
}

static int compile_candidate(void *ctx, const Config *config, TuneArtifact *out, char *err,
                             size_t errlen)
{
    const TuneGpuBackend *g = ctx;
    memset(out, 0, sizeof *out);
    Arena arena = {0};
    Variant v;
    fill_variant(g, config, &v);
    CompiledKernel ck;
    void *cubin = NULL;
    size_t cubin_size = 0;
    int status = -1;
    if (codegen_compile(&arena, g->kernel, &v, g->target, false, &ck, err, errlen) != 0)
        goto done;
    PtxasReport report;
    if (ptxas_assemble(NULL, ck.ptx, g->target->name, &report, &cubin, &cubin_size, err,
                       errlen) != 0)
        goto done;
    BundleVariant bv = {.kernel = g->kernel, .variant = &v, .target = g->target,
                        .compiled = &ck, .cubin = cubin, .cubin_size = cubin_size};
    if (bundle_write_variant(&bv, &out->data, &out->size, err, errlen) != 0)
        goto done;
    out->spill_bytes = report.spill_store_bytes + report.spill_load_bytes;
    out->serialised = report.serialised;
    out->registers = report.registers;
    status = 0;
done:
    free(cubin);
    arena_free(&arena);
    return status;
}

static const LaunchNamed *find_set(const LaunchNamed *sets, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(sets[i].name, name) == 0)
            return &sets[i];
    return NULL;
}

/* The alignment class of the launch the child makes: C-order tensors on 256-byte-aligned
   bases, so only the shape decides it (gpu_align_class over strides alone). */
static AlignClass shape_align_class(const TirKernel *k, const int64_t *syms)
{
    LaunchArgs a = {.nargs = k->nparams, .args = calloc((size_t)k->nparams + 1, sizeof *a.args)};
    if (!a.args)
        return ALIGN_ANY;
    for (int i = 0; i < k->nparams; i++) {
        const TirParam *p = &k->params[i];
        HostTensor *t = &a.args[i].tensor;
        if (p->kind != PARAM_TENSOR)
            continue;
        t->dtype = p->dtype;
        t->rank = p->rank;
        int64_t stride = 1;
        for (int d = p->rank - 1; d >= 0; d--) {
            t->shape[d] = p->dims[d].sym >= 0 ? syms[p->dims[d].sym] : p->dims[d].value;
            t->strides[d] = stride;
            stride *= t->shape[d] > 0 ? t->shape[d] : 1;
        }
    }
    AlignClass c = gpu_align_class(k, &a);
    free(a.args);
    return c;
}

static int64_t tensor_elements(const TirKernel *k, const int64_t *syms)
{
    int64_t total = 0;
    for (int i = 0; i < k->nparams; i++) {
        const TirParam *p = &k->params[i];
        if (p->kind != PARAM_TENSOR)
            continue;
        int64_t n = 1;
        for (int d = 0; d < p->rank; d++)
            n *= p->dims[d].sym >= 0 ? syms[p->dims[d].sym] : p->dims[d].value;
        total += n;
    }
    return total;
}

static int gpu_child_start(void *ctx, int device, char *err, size_t errlen);
static int gpu_child_reference(void *ctx, const void *data, size_t size, char *err, size_t errlen);
static TuneStatus gpu_child_benchmark(void *ctx, const void *data, size_t size, double best_ms,
                                      BenchTiming *out, char *err, size_t errlen);
static void gpu_child_stop(void *ctx);

TuneGpuBackend *tune_gpu_backend_new(const TuneSpace *space, const LaunchNamed *sets, int nsets,
                                     uint64_t data_seed, const char *align, TuneBackend *backend,
                                     char *err, size_t errlen)
{
    const TirKernel *k = space->shape.kernel;
    if (k->nsyms > VARIANT_MAX_SYMS) {
        snprintf(err, errlen, "kernel %s has %d shape symbols; codegen takes at most %d", k->name,
                 k->nsyms, VARIANT_MAX_SYMS);
        return NULL;
    }
    for (int i = 0; i < nsets; i++) {
        int p = tir_find_param(k, sets[i].name);
        if (p < 0 || k->params[p].kind != PARAM_SCALAR) {
            snprintf(err, errlen, "--set %s: kernel %s has no scalar parameter of that name "
                     "(const parameters take --const)", sets[i].name, k->name);
            return NULL;
        }
    }
    for (int i = 0; i < k->nparams; i++)
        if (k->params[i].kind == PARAM_SCALAR && !find_set(sets, nsets, k->params[i].name)) {
            snprintf(err, errlen, "kernel %s has a scalar parameter '%s': give the value to tune "
                     "with, --set %s=VALUE", k->name, k->params[i].name, k->params[i].name);
            return NULL;
        }
    TuneGpuBackend *g = calloc(1, sizeof *g);
    if (!g || !(g->shapes = calloc((size_t)k->nsyms + 1, sizeof *g->shapes))) {
        free(g);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->kernel = k;
    for (int s = 0; s < k->nsyms; s++) {
        g->sym_values[s] = space->shape.sym_values[s];
        g->shapes[s] = (LaunchShape){.name = k->syms[s].name, .value = g->sym_values[s]};
    }
    g->spec = (LaunchSpec){.shapes = g->shapes, .nshapes = k->nsyms, .seed = data_seed,
                           .sets = (LaunchNamed *)sets, .nsets = nsets};
    int point[TUNE_MAX_DIMS];
    tune_space_default(space, point);
    tune_space_config(space, point, &g->default_config);
    /* only the child can read the compute capability (the parent never opens CUDA); it
       refuses a GPU of another target */
    g->target = target_lookup("sm_90a");
    AlignClass asked = !align || strcmp(align, "vec16") == 0 ? ALIGN_VEC16
                       : strcmp(align, "unit") == 0 ? ALIGN_UNIT : ALIGN_ANY;
    AlignClass allowed = shape_align_class(k, g->sym_values);
    g->align = asked > allowed ? asked : allowed;   /* the weaker of the two */
    g->interp_reference = estimate_flops(&space->shape) <= INTERP_MAX_FLOPS &&
                          tensor_elements(k, g->sym_values) <= INTERP_MAX_ELEMENTS;
    snprintf(g->summary, sizeof g->summary, "%s variant for %s; outputs checked against %s",
             align_class_name(g->align), g->target->name,
             g->interp_reference ? "the interpreter" : "the default config's");
    *backend = (TuneBackend){.ctx = g, .compile = compile_candidate,
                             .child_start = gpu_child_start,
                             .child_reference = gpu_child_reference,
                             .child_benchmark = gpu_child_benchmark, .child_stop = gpu_child_stop};
    return g;
}

const char *tune_gpu_backend_summary(const TuneGpuBackend *g)
{
    return g->summary;
}

void tune_gpu_backend_free(TuneGpuBackend *g)
{
    if (!g)
        return;
    free(g->shapes);
    free(g);
}

/* ---- the child's side */

/* A driver failure after a candidate was launched may leave the context unusable (an
   illegal address is sticky): the child leaves, the tuner scores the candidate `crashed`
   and starts a fresh child. */
static _Noreturn void die(const char *why)
{
    fprintf(stderr, "\ntilec tune: benchmark child: %s (restarting it)\n", why);
    _exit(70);
}

/* A copy of the bound arguments whose outputs have their own buffers (inputs shared). */
static int copy_outputs(const LaunchArgs *from, LaunchArgs *to)
{
    *to = *from;
    to->args = calloc((size_t)from->nargs + 1, sizeof *to->args);
    if (!to->args)
        return -1;
    for (int i = 0; i < from->nargs; i++) {
        to->args[i] = from->args[i];
        if (!from->args[i].is_output)
            continue;
        size_t bytes = from->args[i].tensor.nbytes;
        if (!(to->args[i].tensor.data = malloc(bytes ? bytes : 1)))
            return -1;
        memcpy(to->args[i].tensor.data, from->args[i].tensor.data, bytes);
    }
    return 0;
}

static void free_outputs(LaunchArgs *a)
{
    for (int i = 0; a->args && i < a->nargs; i++)
        if (a->args[i].is_output)
            free(a->args[i].tensor.data);
    free(a->args);
    memset(a, 0, sizeof *a);
}

typedef struct ReadSearch {
    int param;
    bool found;
} ReadSearch;

static void find_read(TirOp *op, void *ctx)
{
    ReadSearch *r = ctx;
    if (op->opcode == TIR_LOAD && op->param == r->param)
        r->found = true;
}

/* The reference's max |x| per output: the floor of the tolerance scales with it. */
static void reference_stats(TuneGpuBackend *g)
{
    for (int i = 0; i < g->reference.nargs; i++) {
        const HostTensor *t = &g->reference.args[i].tensor;
        if (!g->reference.args[i].is_output)
            continue;
        double max = 0;
        for (int64_t e = 0, n = host_numel(t); e < n; e++) {
            double v = host_get_at(t, e);
            if (isfinite(v) && fabs(v) > max)
                max = v < 0 ? -v : v;
        }
        g->reference_max[i] = max;
    }
    g->have_reference = true;
}

/* A pinned child (device >= 0) sees its GPU alone, as device 0 (bench_child_pin). */
static int gpu_child_start(void *ctx, int device, char *err, size_t errlen)
{
    TuneGpuBackend *g = ctx;
    const TirKernel *k = g->kernel;
    char gerr[2048];
    if (gpu_open(&g->gpu, NULL, gerr, sizeof gerr) != GPU_OK) {
        if (device >= 0)
            snprintf(err, errlen, "opening GPU %d: %s", device, gerr);
        else
            snprintf(err, errlen, "%s", gerr);
        return -1;
    }
    if (g->gpu.target != g->target) {
        snprintf(err, errlen, "%s is compute capability %d.%d (target %s); tilec tune compiles "
                 "for %s", g->gpu.info.name, g->gpu.info.cc_major, g->gpu.info.cc_minor,
                 g->gpu.target->name, g->target->name);
        return -1;
    }
    if (launch_bind(k, &g->spec, &g->args, err, errlen) != LAUNCH_OK)
        return -1;
    /* The tensors are uploaded once, into guard bands; every candidate shares them. */
    if (gpu_upload(&g->gpu, k, &g->args, NULL, &g->owner, gerr, sizeof gerr) != GPU_OK) {
        snprintf(err, errlen, "uploading the inputs: %s", gerr);
        return -1;
    }
    g->share = calloc((size_t)k->nparams + 1, sizeof *g->share);
    g->read_outputs = calloc((size_t)k->nparams + 1, sizeof *g->read_outputs);
    g->reference_max = calloc((size_t)k->nparams + 1, sizeof *g->reference_max);
    if (!g->share || !g->read_outputs || !g->reference_max || copy_outputs(&g->args, &g->result)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < k->nparams; i++) {
        if (k->params[i].kind != PARAM_TENSOR)
            continue;
        g->share[i] = &g->owner.tensors[i];
        ReadSearch r = {i, false};
        tir_walk(k->body, find_read, &r);
        g->read_outputs[i] = g->args.args[i].is_output && r.found;
    }
    tile_context *tile = g->gpu.ctx;
    tile_status st = tile_dev_alloc(tile, GPU_FLUSH_BYTES, &g->gpu.flush);
    if (st == TILE_OK)
        st = tile_dev_event_create(tile, &g->start);
    if (st == TILE_OK)
        st = tile_dev_event_create(tile, &g->end);
    if (st != TILE_OK) {
        snprintf(err, errlen, "%s", tile_error_message(tile));
        return -1;
    }
    if (g->interp_reference) {
        Diag diag = {.out = stderr};
        if (copy_outputs(&g->args, &g->reference) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (interp_run(k, &g->default_config, &g->reference, NULL, NULL, &diag) != 0) {
            snprintf(err, errlen, "the interpreter could not run the reference (default config)");
            return -1;
        }
        reference_stats(g);
    }
    return 0;
}

static void restore_guards(TuneGpuBackend *g)
{
    for (int i = 0; i < g->kernel->nparams; i++) {
        const GpuTensor *t = &g->owner.tensors[i];
        if (g->kernel->params[i].kind != PARAM_TENSOR)
            continue;
        if (tile_dev_memset_async(g->gpu.ctx, t->alloc, 1, GPU_CANARY, GPU_GUARD_BYTES,
                                  g->gpu.stream) != TILE_OK ||
            tile_dev_memset_async(g->gpu.ctx, t->base + t->storage_bytes, 1, GPU_CANARY,
                                  GPU_GUARD_BYTES, g->gpu.stream) != TILE_OK)
            die(tile_error_message(g->gpu.ctx));
    }
    if (tile_dev_stream_synchronize(g->gpu.ctx, g->gpu.stream) != TILE_OK)
        die(tile_error_message(g->gpu.ctx));
}

/* Outputs the kernel only stores are filled with all-ones bytes (NaN in every float dtype),
   so an element a candidate never writes fails the check; outputs it also loads get their
   bound contents back. */
static void prime_outputs(TuneGpuBackend *g)
{
    for (int i = 0; i < g->kernel->nparams; i++) {
        const TirParam *p = &g->kernel->params[i];
        const GpuTensor *t = &g->owner.tensors[i];
        if (p->kind != PARAM_TENSOR || !g->args.args[i].is_output || p->reduce != REDUCE_NONE ||
            !t->storage_bytes)
            continue;
        tile_status st;
        if (g->read_outputs[i]) {
            st = tile_dev_stream_synchronize(g->gpu.ctx, g->gpu.stream);
            if (st == TILE_OK)
                st = tile_dev_copy_to_device(g->gpu.ctx, t->base, g->args.args[i].tensor.data,
                                             t->storage_bytes);
        } else {
            st = tile_dev_memset_async(g->gpu.ctx, t->base, 1, 0xff, t->storage_bytes,
                                       g->gpu.stream);
        }
        if (st != TILE_OK)
            die(tile_error_message(g->gpu.ctx));
    }
}

/* Loads a candidate (a one-variant bundle) into libtile over the shared tensors and runs it
   once, downloading its outputs into `into`. */
static TuneStatus run_candidate(TuneGpuBackend *g, const void *data, size_t size, GpuLaunch *l,
                                LaunchArgs *into, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    char *gerr = malloc(8192);   /* a JIT log can be long */
    if (!gerr) {
        snprintf(err, errlen, "out of memory");
        return TUNE_BENCH_FAILED;
    }
    TuneStatus status = TUNE_OK;
    GpuStatus st = gpu_upload(&g->gpu, g->kernel, &g->args, g->share, l, gerr, 8192);
    if (st == GPU_OK)
        st = gpu_load(&g->gpu, data, size, &g->args, l, gerr, 8192);
    if (st != GPU_OK) {
        status = st == GPU_COMPILE ? TUNE_COMPILE_FAILED : TUNE_BENCH_FAILED;
        goto done;
    }
    prime_outputs(g);
    if (gpu_reset_targets(&g->gpu, l, gerr, 8192) != GPU_OK)
        die(gerr);
    if (gpu_enqueue(&g->gpu, l, gerr, 8192) != GPU_OK) {
        /* refused before it ran (too many registers for the block, ...): the context is fine */
        status = TUNE_BENCH_FAILED;
        goto done;
    }
    /* the reference ran on the same inputs: an index fault is the candidate's own */
    st = gpu_check_faults(&g->gpu, l, gerr, 8192);
    if (st == GPU_INDEX_FAULT) {
        status = TUNE_WRONG_OUTPUT;
        goto done;
    }
    if (st == GPU_OK)
        st = gpu_check_guards(&g->gpu, &g->owner, gerr, 8192);
    if (st == GPU_STRAY_STORE) {
        restore_guards(g);
        status = TUNE_WRONG_OUTPUT;
        goto done;
    }
    if (st != GPU_OK || gpu_download(&g->gpu, l, into, gerr, 8192) != GPU_OK)
        die(gerr);
done:
    if (status != TUNE_OK)
        snprintf(err, errlen, "%s", gerr);
    free(gerr);
    return status;
}

/* Element e of a C-order tensor, fast for the common output dtypes. */
static double element(const HostTensor *t, int64_t e)
{
    if (t->dtype == DT_F32)
        return ((const float *)t->data)[e];
    if (t->dtype == DT_BF16) {
        uint32_t bits = (uint32_t)((const uint16_t *)t->data)[e] << 16;
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    return host_get_at(t, e);
}

/* Whether element e is within `tilec run --check`'s tolerance (output_tolerance, launch_cli.c). */
static bool element_ok(const HostTensor *got, const HostTensor *ref, int64_t e,
                       OutputTolerance tol, double ref_max)
{
    if (tol.rel == 0 && tol.floor == 0 && tol.fp8_steps == 0)
        return host_get_raw_at(got, e) == host_get_raw_at(ref, e);
    double x = element(got, e), r = element(ref, e);
    if (isnan(x) || isnan(r))
        return isnan(x) && isnan(r);
    if (isinf(x) || isinf(r))
        return x == r;
    if (tol.fp8_steps)
        return abs(fp8_code_order(host_get_raw_at(got, e)) - fp8_code_order(host_get_raw_at(ref, e))) <=
               tol.fp8_steps;
    return fabs(x - r) <= tol.rel * fabs(r) + tol.floor * ref_max;
}

static TuneStatus check_outputs(const TuneGpuBackend *g, char *err, size_t errlen)
{
    for (int i = 0; i < g->kernel->nparams; i++) {
        if (!g->result.args[i].is_output)
            continue;
        const HostTensor *got = &g->result.args[i].tensor, *ref = &g->reference.args[i].tensor;
        OutputTolerance tol = output_tolerance(ref->dtype, tir_has_fp8_dot(g->kernel));
        int64_t n = host_numel(ref), bad = 0, first = -1;
        for (int64_t e = 0; e < n; e++)
            if (!element_ok(got, ref, e, tol, g->reference_max[i]) && bad++ == 0)
                first = e;
        if (bad) {
            snprintf(err, errlen, "%s: %lld of %lld elements beyond tolerance; the first, at "
                     "flat index %lld: %.9g, reference %.9g", g->kernel->params[i].name,
                     (long long)bad, (long long)n, (long long)first, element(got, first),
                     element(ref, first));
            return TUNE_WRONG_OUTPUT;
        }
    }
    return TUNE_OK;
}

static int gpu_child_reference(void *ctx, const void *data, size_t size, char *err, size_t errlen)
{
    TuneGpuBackend *g = ctx;
    if (g->interp_reference)
        return 0;   /* the interpreter's, computed at the start */
    free_outputs(&g->reference);
    g->have_reference = false;
    if (copy_outputs(&g->args, &g->reference) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    GpuLaunch l;
    TuneStatus st = run_candidate(g, data, size, &l, &g->reference, err, errlen);
    gpu_launch_free(&g->gpu, &l);
    if (st != TUNE_OK)
        return -1;
    reference_stats(g);
    return 0;
}

typedef struct Timed {
    TuneGpuBackend *g;
    GpuLaunch *launch;
    char error[1024];
} Timed;

static int timed_reset(void *ctx)
{
    Timed *t = ctx;
    return gpu_reset_targets(&t->g->gpu, t->launch, t->error, sizeof t->error) == GPU_OK ? 0 : -1;
}

static int timed_flush(void *ctx)
{
    Timed *t = ctx;
    GpuSession *s = &t->g->gpu;
    if (tile_dev_memset_async(s->ctx, s->flush, 1, (uint8_t)t->g->flush_round++,
                              GPU_FLUSH_BYTES, s->stream) != TILE_OK) {
        snprintf(t->error, sizeof t->error, "%s", tile_error_message(s->ctx));
        return -1;
    }
    return 0;
}

static int timed_launch(void *ctx, double *ms)
{
    Timed *t = ctx;
    TuneGpuBackend *g = t->g;
    float elapsed = 0;
    tile_context *tile = g->gpu.ctx;
    if (tile_dev_event_record(tile, g->start, g->gpu.stream) != TILE_OK)
        goto failed;
    if (gpu_enqueue(&g->gpu, t->launch, t->error, sizeof t->error) != GPU_OK)
        return -1;
    if (tile_dev_event_record(tile, g->end, g->gpu.stream) != TILE_OK ||
        tile_dev_event_elapsed_ms(tile, g->start, g->end, &elapsed) != TILE_OK)
        goto failed;
    *ms = elapsed;
    return 0;
failed:
    snprintf(t->error, sizeof t->error, "%s", tile_error_message(tile));
    return -1;
}

static TuneStatus gpu_child_benchmark(void *ctx, const void *data, size_t size, double best_ms,
                                      BenchTiming *out, char *err, size_t errlen)
{
    TuneGpuBackend *g = ctx;
    memset(out, 0, sizeof *out);
    out->median_ms = out->min_ms = INFINITY;
    if (!g->have_reference) {
        snprintf(err, errlen, "no reference output: the default config did not compile and "
                 "the shape is too large for the interpreter");
        return TUNE_BENCH_FAILED;
    }
    GpuLaunch l;
    TuneStatus st = run_candidate(g, data, size, &l, &g->result, err, errlen);
    if (st == TUNE_OK)
        st = check_outputs(g, err, errlen);
    if (st == TUNE_OK) {
        Timed timed = {.g = g, .launch = &l};
        BenchOps ops = {.reset_targets = timed_reset, .flush_l2 = timed_flush,
                        .launch_timed = timed_launch, .ctx = &timed};
        BenchPolicy policy = bench_policy_default();
        if (bench_measure(&ops, &policy, best_ms, out) != 0)
            die(timed.error);
    }
    gpu_launch_free(&g->gpu, &l);
    return st;
}

static void gpu_child_stop(void *ctx)
{
    TuneGpuBackend *g = ctx;
    tile_dev_event_destroy(g->gpu.ctx, g->start);
    tile_dev_event_destroy(g->gpu.ctx, g->end);
    gpu_launch_free(&g->gpu, &g->owner);
    free_outputs(&g->reference);
    free_outputs(&g->result);
    launch_free(&g->args);
    free(g->share);
    free(g->read_outputs);
    free(g->reference_max);
    gpu_close(&g->gpu);
}
