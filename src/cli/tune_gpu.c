/* tune_gpu.c — the GPU TuneBackend of `tilec tune`. On the tuner's compile threads codegen
   turns a candidate Config into PTX and ptxas reports spills and assembles it, so the child
   loads machine code without a JIT on its critical path. In the benchmark child: the GPU is
   opened, the inputs bound once (random, as `tilec bench`) and uploaded once, the reference
   output computed (the interpreter for small shapes, else the default config), and each
   candidate loaded, run once, checked against the reference with `tilec run --check`'s
   tolerances, then timed by bench_measure (warm-up, L2 flush, targets reset, median). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Shapes small enough for the interpreter (about 2 GFLOP/s) to give the reference in a
   second or two; larger ones use the default config's output on the GPU. */
#define INTERP_MAX_FLOPS 4e9
#define INTERP_MAX_ELEMENTS ((int64_t)16 << 20)

/* A compiled candidate as the child receives it: this header, then at code_offset() the
   code (a cubin from ptxas, or NUL-terminated PTX for the driver to JIT when there is no
   ptxas). The config goes along for the grid and the launch facts for cuLaunchKernel. */
enum { ARTIFACT_MAGIC = 0x55504754 };

typedef struct ArtifactHeader {
    uint32_t magic;
    int32_t num_threads, smem_bytes;
    int32_t is_cubin;
    uint64_t code_bytes;
    Config config;
} ArtifactHeader;

static size_t code_offset(void)
{
    return (sizeof(ArtifactHeader) + 15) & ~(size_t)15;   /* cubins want aligned images */
}

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
    Arena arena;
    LaunchArgs args;            /* the bound inputs (host), kept for the whole child */
    GpuLaunch owner;            /* owns the device tensors; its stub kernel never runs */
    const GpuTensor **share;    /* per param: the owner's tensor, for every candidate */
    bool *read_outputs;         /* per param: an output the kernel also loads */
    LaunchArgs reference;       /* args with their own output buffers: the reference */
    double *reference_max;      /* per param: max |finite reference element| */
    bool have_reference;
    LaunchArgs result;          /* args with their own output buffers: a candidate's */
    CUevent start, end;
    unsigned flush_round;
};

/* ---- the parent's side */

static void fill_variant(const TuneGpuBackend *g, const Config *c, Variant *v)
{
    memset(v, 0, sizeof *v);
    v->config = c;
    v->align = g->align;
    memcpy(v->full_sizes, g->sym_values, sizeof v->full_sizes);
}

static int gpu_compile(void *ctx, const Config *config, TuneArtifact *out, char *err,
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
    if (ptxas_assemble(ck.ptx, g->target->name, &report, &cubin, &cubin_size, err, errlen) != 0)
        goto done;
    const void *code = cubin ? cubin : (const void *)ck.ptx;
    size_t code_bytes = cubin ? cubin_size : strlen(ck.ptx) + 1;
    out->size = code_offset() + code_bytes;
    if (!(out->data = calloc(1, out->size))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    ArtifactHeader h = {.magic = ARTIFACT_MAGIC, .num_threads = ck.num_threads,
                        .smem_bytes = ck.smem_bytes, .is_cubin = cubin != NULL,
                        .code_bytes = code_bytes, .config = *config};
    memcpy(out->data, &h, sizeof h);
    memcpy((char *)out->data + code_offset(), code, code_bytes);
    out->spill_bytes = report.spill_store_bytes + report.spill_load_bytes;
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

static int gpu_child_start(void *ctx, char *err, size_t errlen);
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
    *backend = (TuneBackend){.ctx = g, .compile = gpu_compile, .child_start = gpu_child_start,
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

static int gpu_child_start(void *ctx, char *err, size_t errlen)
{
    TuneGpuBackend *g = ctx;
    const TirKernel *k = g->kernel;
    char gerr[2048];
    if (gpu_open(&g->gpu, NULL, gerr, sizeof gerr) != GPU_OK) {
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
    /* The tensors are uploaded once, into guard bands, by a launch of an empty kernel of
       the same name that is never run; every candidate shares them. */
    char stub[512];
    snprintf(stub, sizeof stub, ".version 8.0\n.target %s\n.address_size 64\n\n"
             ".visible .entry %s()\n{\n\tret;\n}\n", g->target->name, k->name);
    if (gpu_prepare(&g->gpu, &g->arena, k, &g->default_config, &g->args, stub, NULL, &g->owner,
                    gerr, sizeof gerr) != GPU_OK) {
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
    CudaStatus st = cuda_mem_alloc(&g->gpu.drv, GPU_FLUSH_BYTES, &g->gpu.flush);
    if (st == CUDA_OK)
        st = cuda_event_create(&g->gpu.drv, &g->start);
    if (st == CUDA_OK)
        st = cuda_event_create(&g->gpu.drv, &g->end);
    if (st != CUDA_OK) {
        snprintf(err, errlen, "%s", cuda_driver_message(&g->gpu.drv));
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
        if (cuda_memset8_async(&g->gpu.drv, t->alloc, GPU_CANARY, GPU_GUARD_BYTES, g->gpu.stream) ||
            cuda_memset8_async(&g->gpu.drv, t->base + t->storage_bytes, GPU_CANARY,
                               GPU_GUARD_BYTES, g->gpu.stream))
            die(cuda_driver_message(&g->gpu.drv));
    }
    if (cuda_stream_synchronize(&g->gpu.drv, g->gpu.stream) != CUDA_OK)
        die(cuda_driver_message(&g->gpu.drv));
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
        CudaStatus st;
        if (g->read_outputs[i]) {
            st = cuda_stream_synchronize(&g->gpu.drv, g->gpu.stream);
            if (st == CUDA_OK)
                st = cuda_copy_to_device(&g->gpu.drv, t->base, g->args.args[i].tensor.data,
                                         t->storage_bytes);
        } else {
            st = cuda_memset8_async(&g->gpu.drv, t->base, 0xff, t->storage_bytes, g->gpu.stream);
        }
        if (st != CUDA_OK)
            die(cuda_driver_message(&g->gpu.drv));
    }
}

/* Loads a candidate and runs it once, downloading its outputs into `into`. */
static TuneStatus run_candidate(TuneGpuBackend *g, const void *data, size_t size, GpuLaunch *l,
                                LaunchArgs *into, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    ArtifactHeader h = {0};
    if (size >= code_offset())
        memcpy(&h, data, sizeof h);
    if (h.magic != ARTIFACT_MAGIC || code_offset() + h.code_bytes != size) {
        snprintf(err, errlen, "not a candidate of this backend (%zu bytes)", size);
        return TUNE_BENCH_FAILED;
    }
    const char *code = (const char *)data + code_offset();
    char *gerr = malloc(8192);   /* a JIT log can be long */
    if (!gerr) {
        snprintf(err, errlen, "out of memory");
        return TUNE_BENCH_FAILED;
    }
    TuneStatus status = TUNE_OK;
    /* the code stands in for gpu_prepare's PTX: cuModuleLoadData takes a cubin as well */
    GpuStatus st = gpu_prepare(&g->gpu, &g->arena, g->kernel, &h.config, &g->args, code,
                               g->share, l, gerr, 8192);
    if (st != GPU_OK) {
        status = st == GPU_COMPILE ? TUNE_COMPILE_FAILED : TUNE_BENCH_FAILED;
        goto done;
    }
    l->compiled.num_threads = h.num_threads;
    l->compiled.smem_bytes = h.smem_bytes;
    if (h.smem_bytes > g->gpu.info.max_shared_per_block) {
        snprintf(gerr, 8192, "needs %d bytes of shared memory per block; %s allows %d",
                 h.smem_bytes, g->gpu.info.name, g->gpu.info.max_shared_per_block);
        status = TUNE_COMPILE_FAILED;
        goto done;
    }
    if (h.smem_bytes > 48 * 1024 &&
        cuda_function_set_max_dynamic_shared(&g->gpu.drv, l->function, h.smem_bytes) != CUDA_OK) {
        snprintf(gerr, 8192, "%s", cuda_driver_message(&g->gpu.drv));
        status = TUNE_BENCH_FAILED;
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
        OutputTolerance tol = output_tolerance(ref->dtype);
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
    if (cuda_memset8_async(&s->drv, s->flush, (uint8_t)t->g->flush_round++, GPU_FLUSH_BYTES,
                           s->stream) != CUDA_OK) {
        snprintf(t->error, sizeof t->error, "%s", cuda_driver_message(&s->drv));
        return -1;
    }
    return 0;
}

static int timed_launch(void *ctx, double *ms)
{
    Timed *t = ctx;
    TuneGpuBackend *g = t->g;
    float elapsed = 0;
    if (cuda_event_record(&g->gpu.drv, g->start, g->gpu.stream) != CUDA_OK)
        goto failed;
    if (gpu_enqueue(&g->gpu, t->launch, t->error, sizeof t->error) != GPU_OK)
        return -1;
    if (cuda_event_record(&g->gpu.drv, g->end, g->gpu.stream) != CUDA_OK ||
        cuda_event_elapsed_ms(&g->gpu.drv, g->start, g->end, &elapsed) != CUDA_OK)
        goto failed;
    *ms = elapsed;
    return 0;
failed:
    snprintf(t->error, sizeof t->error, "%s", cuda_driver_message(&g->gpu.drv));
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
    if (g->start)
        cuda_event_destroy(&g->gpu.drv, g->start);
    if (g->end)
        cuda_event_destroy(&g->gpu.drv, g->end);
    gpu_launch_free(&g->gpu, &g->owner);
    free_outputs(&g->reference);
    free_outputs(&g->result);
    launch_free(&g->args);
    free(g->share);
    free(g->read_outputs);
    free(g->reference_max);
    gpu_close(&g->gpu);
    arena_free(&g->arena);
}
