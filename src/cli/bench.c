/* bench.c — `tilec bench`: compiles one kernel (or a chain of kernels timed as one region,
   sharing tensors), binds inputs (random unless --in), and times it with events: median of
   repetitions with a cold L2 (a 256 MB write between repetitions) and warm, reported as
   TFLOP/s for kernels with dots or GB/s otherwise, and as a share of the device's peak (and
   for kernels without dots, of a device-to-device copy timed in the same run). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char *const usage_bench =
    "usage: tilec bench FILE [--kernel NAME[,NAME...]] [--shape M=...,...] [--config KEY=V,...]\n"
    "                   [--set NAME=VALUE ...] [--in PARAM=FILE.npy ...] [--out PARAM=FILE.npy ...]\n"
    "                   [--link KERNEL.PARAM=KERNEL.PARAM ...] [--seed N] [--reps N] [--warmup N]\n"
    "                   [--json FILE] [--ptx FILE.ptx] [--target sm_90a|sm_89|sm_80]\n"
    "\n"
    "Times a kernel on the GPU: the median of --reps repetitions (default 20, after --warmup,\n"
    "default 3) with a cold L2 (256 MB written before each, outside the timed region) and\n"
    "with a warm one. Prints TFLOP/s for kernels with dots (2*m*n*k per product; a causal\n"
    "loop counts half) or GB/s otherwise (each tensor read or written once), and the share\n"
    "of the device's dense peak; without dots also the share of the copy bandwidth (a\n"
    "device-to-device copy timed in the same run). Declared reduction targets are reset\n"
    "inside every repetition.\n"
    "\n"
    "  --kernel A,B          several kernels are timed as one region, run in order; tensor\n"
    "                        parameters of the same name (dtype and shape) are one tensor\n"
    "                        (default: the file's kernel when it has only one)\n"
    "  --link B.P=A.Q        parameter P of kernel B is kernel A's tensor Q\n"
    "  --config KEY=V,...    tunables; with several kernels give one --config per kernel,\n"
    "                        in order, or one for all\n"
    "  --in, --set, --shape, --seed as for `tilec run`; inputs not given are random\n"
    "  --out PARAM=FILE.npy  write a tensor after the last repetition\n"
    "  --json FILE           also write the figures as JSON\n"
    "  --ptx FILE.ptx        launch hand-written PTX instead of compiling (one kernel)\n"
    "  --target NAME         compile for this target (default: the first of sm_90a, sm_89,\n"
    "                        sm_80 the GPU runs)\n";

enum {
    OPT_KERNEL = 256, OPT_SHAPE, OPT_CONFIG, OPT_IN, OPT_SET, OPT_OUT, OPT_SEED, OPT_REPS,
    OPT_WARMUP, OPT_LINK, OPT_JSON, OPT_PTX, OPT_HELP, OPT_TARGET,
};

enum { BENCH_MAX_KERNELS = 8, BENCH_MAX_CONFIGS = 8 };

typedef struct BenchLink {
    char kernel[64], param[64];          /* this parameter ... */
    char from_kernel[64], from_param[64]; /* ... is that kernel's tensor */
} BenchLink;

typedef struct BenchRequest {
    const char *path;
    char *kernels_text;
    const char *kernels[BENCH_MAX_KERNELS];
    int nkernels;
    const char *configs[BENCH_MAX_CONFIGS];
    int nconfigs;
    BenchLink *links;
    int nlinks;
    const char *json_path;
    const char *ptx_path;
    const Target *target;    /* --target, or NULL: picked from the GPU */
    int reps, warmup;
    bool seed_given;
    LaunchSpec spec;
} BenchRequest;

static int bench_usage_error(const char *fmt, const char *arg)
{
    fputs("tilec: error: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    fputs(usage_bench, stderr);
    return EXIT_USAGE;
}

static int parse_count(const char *flag, const char *text, int min, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < min || v > 100000) {
        fprintf(stderr, "tilec: error: %s '%s': expected a whole number from %d to 100000\n", flag,
                text, min);
        return EXIT_USAGE;
    }
    *out = (int)v;
    return EXIT_OK;
}

/* "B.P=A.Q" into a link. */
static int parse_link(BenchRequest *req, const char *text)
{
    BenchLink link = {0};
    char k1[64], p1[64], k2[64], p2[64];
    int n = 0;
    if (sscanf(text, "%63[^.=].%63[^=]=%63[^.].%63s%n", k1, p1, k2, p2, &n) != 4 || text[n])
        return bench_usage_error("--link '%s': expected KERNEL.PARAM=KERNEL.PARAM", text);
    snprintf(link.kernel, sizeof link.kernel, "%s", k1);
    snprintf(link.param, sizeof link.param, "%s", p1);
    snprintf(link.from_kernel, sizeof link.from_kernel, "%s", k2);
    snprintf(link.from_param, sizeof link.from_param, "%s", p2);
    BenchLink *grown = realloc(req->links, (size_t)(req->nlinks + 1) * sizeof *grown);
    if (!grown)
        return bench_usage_error("%s", "out of memory");
    req->links = grown;
    grown[req->nlinks++] = link;
    return EXIT_OK;
}

static int parse_bench_args(int argc, char **argv, BenchRequest *req)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, OPT_HELP},
        {"kernel", required_argument, NULL, OPT_KERNEL},
        {"shape", required_argument, NULL, OPT_SHAPE},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"in", required_argument, NULL, OPT_IN},
        {"set", required_argument, NULL, OPT_SET},
        {"out", required_argument, NULL, OPT_OUT},
        {"seed", required_argument, NULL, OPT_SEED},
        {"reps", required_argument, NULL, OPT_REPS},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"link", required_argument, NULL, OPT_LINK},
        {"json", required_argument, NULL, OPT_JSON},
        {"ptx", required_argument, NULL, OPT_PTX},
        {"target", required_argument, NULL, OPT_TARGET},
        {0, 0, 0, 0},
    };
    req->reps = 20;
    req->warmup = 3;
    static const int single[] = {OPT_REPS, OPT_WARMUP, OPT_JSON, OPT_PTX, OPT_TARGET, 0};
    bool seen[OPTION_VALS] = {false};
    int c, status;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (option_repeated(longopts, single, c, seen))
            return EXIT_USAGE;
        switch (c) {
        case 'h':
        case OPT_HELP:
            fputs(usage_bench, stdout);
            return -1;
        case OPT_KERNEL:
            if (req->kernels_text)
                return bench_usage_error("%s", "--kernel given twice (join the kernels with commas)");
            req->kernels_text = optarg;
            for (char *name = strtok(optarg, ","); name; name = strtok(NULL, ",")) {
                if (req->nkernels == BENCH_MAX_KERNELS)
                    return bench_usage_error("--kernel: at most 8 kernels%s", "");
                req->kernels[req->nkernels++] = name;
            }
            break;
        case OPT_CONFIG:
            if (req->nconfigs == BENCH_MAX_CONFIGS)
                return bench_usage_error("--config: at most 8 (one per kernel)%s", "");
            req->configs[req->nconfigs++] = optarg;
            break;
        case OPT_SHAPE:
            if ((status = launch_cli_add_shapes(&req->spec, optarg, usage_bench)) != EXIT_OK)
                return status;
            break;
        case OPT_IN:
            if ((status = launch_cli_add_named(&req->spec.inputs, &req->spec.ninputs, "--in", optarg,
                                               "PARAM=FILE.npy", usage_bench)))
                return status;
            break;
        case OPT_OUT:
            if ((status = launch_cli_add_named(&req->spec.outputs, &req->spec.noutputs, "--out",
                                               optarg, "PARAM=FILE.npy", usage_bench)))
                return status;
            break;
        case OPT_SET:
            if ((status = launch_cli_add_named(&req->spec.sets, &req->spec.nsets, "--set", optarg,
                                               "NAME=VALUE", usage_bench)))
                return status;
            break;
        case OPT_SEED:
            if (req->seed_given)
                return bench_usage_error("%s", "--seed given twice");
            if (parse_seed(optarg, &req->spec.seed) != 0)
                return EXIT_USAGE;
            req->seed_given = true;
            break;
        case OPT_REPS:
            if ((status = parse_count("--reps", optarg, 1, &req->reps)))
                return status;
            break;
        case OPT_WARMUP:
            if ((status = parse_count("--warmup", optarg, 0, &req->warmup)))
                return status;
            break;
        case OPT_LINK:
            if ((status = parse_link(req, optarg)))
                return status;
            break;
        case OPT_JSON: req->json_path = optarg; break;
        case OPT_PTX: req->ptx_path = optarg; break;
        case OPT_TARGET:
            if ((status = launch_cli_target(optarg, &req->target, usage_bench)))
                return status;
            break;
        default:
            fputs(usage_bench, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return bench_usage_error("%s", "bench needs a FILE");
    if (optind + 1 < argc)
        return bench_usage_error("unexpected argument '%s' (bench takes one FILE)", argv[optind + 1]);
    req->path = argv[optind];
    if (req->nconfigs > 1 && req->nconfigs != req->nkernels)
        return bench_usage_error("%s", "give one --config per kernel, or one for all");
    if (req->ptx_path && req->nkernels > 1)
        return bench_usage_error("%s", "--ptx takes one kernel");
    return EXIT_OK;
}

/* ---- names across the chain */

static bool kernel_has_param(const Kernel *k, const char *name)
{
    for (int i = 0; i < k->nparams; i++)
        if (strcmp(k->params[i]->name, name) == 0)
            return true;
    return false;
}

static bool kernel_has_sym(const Kernel *k, const char *name)
{
    for (int i = 0; i < k->nsyms; i++)
        if (strcmp(k->syms[i]->name, name) == 0)
            return true;
    return false;
}

/* The part of the spec that names this kernel's parameters and symbols. */
static int filter_spec(const Kernel *k, const LaunchSpec *all, LaunchSpec *out)
{
    memset(out, 0, sizeof *out);
    out->seed = all->seed;
    out->inputs = calloc((size_t)all->ninputs + 1, sizeof *out->inputs);
    out->outputs = calloc((size_t)all->noutputs + 1, sizeof *out->outputs);
    out->sets = calloc((size_t)all->nsets + 1, sizeof *out->sets);
    out->shapes = calloc((size_t)all->nshapes + 1, sizeof *out->shapes);
    if (!out->inputs || !out->outputs || !out->sets || !out->shapes)
        return -1;
    for (int i = 0; i < all->ninputs; i++)
        if (kernel_has_param(k, all->inputs[i].name))
            out->inputs[out->ninputs++] = all->inputs[i];
    for (int i = 0; i < all->noutputs; i++)
        if (kernel_has_param(k, all->outputs[i].name))
            out->outputs[out->noutputs++] = all->outputs[i];
    for (int i = 0; i < all->nsets; i++)
        if (kernel_has_param(k, all->sets[i].name))
            out->sets[out->nsets++] = all->sets[i];
    for (int i = 0; i < all->nshapes; i++)
        if (kernel_has_sym(k, all->shapes[i].name))
            out->shapes[out->nshapes++] = all->shapes[i];
    return 0;
}

/* Every name the command line gives belongs to some kernel of the chain. */
static int check_names(const BenchRequest *req, const Kernel *const *ks)
{
    const LaunchNamed *lists[3] = {req->spec.inputs, req->spec.outputs, req->spec.sets};
    int counts[3] = {req->spec.ninputs, req->spec.noutputs, req->spec.nsets};
    const char *flags[3] = {"--in", "--out", "--set"};
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < counts[l]; i++) {
            bool found = false;
            for (int k = 0; k < req->nkernels; k++)
                found = found || kernel_has_param(ks[k], lists[l][i].name);
            if (!found) {
                fprintf(stderr, "tilec: error: %s %s: no kernel of the chain has a parameter '%s'\n",
                        flags[l], lists[l][i].name, lists[l][i].name);
                return EXIT_USAGE;
            }
        }
    for (int i = 0; i < req->spec.nshapes; i++) {
        bool found = false;
        for (int k = 0; k < req->nkernels; k++)
            found = found || kernel_has_sym(ks[k], req->spec.shapes[i].name);
        if (!found) {
            fprintf(stderr, "tilec: error: --shape %s: no kernel of the chain has a shape symbol '%s'\n",
                    req->spec.shapes[i].name, req->spec.shapes[i].name);
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

static bool same_layout(const HostTensor *a, const HostTensor *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return false;
    for (int d = 0; d < a->rank; d++)
        if (a->shape[d] != b->shape[d])
            return false;
    return true;
}

/* ---- the command */

typedef struct BenchKernel {
    TirKernel *tir;
    Config config;
    LaunchSpec spec;
    LaunchArgs args;
    GpuLaunch launch;
} BenchKernel;

/* The front end, then each kernel of the chain lowered for its --config and bound to the
   part of the command line that names it. Without --kernel the chain is the file's only
   kernel (set in req). */
static int bench_bind(BenchRequest *req, Arena *arena, Diag *diag, BenchKernel *bk)
{
    Program *prog = NULL;
    char err[8192];
    if (front_end(arena, diag, req->path, req->target ? req->target : target_lookup("sm_90a"), &prog))
        return EXIT_INPUT;
    if (req->nkernels == 0) {
        const Kernel *only = choose_kernel(prog, NULL);
        if (!only)
            return EXIT_USAGE;
        req->kernels[req->nkernels++] = only->name;
    }
    const Kernel *ks[BENCH_MAX_KERNELS];
    for (int k = 0; k < req->nkernels; k++)
        if (!(ks[k] = choose_kernel(prog, req->kernels[k])))
            return EXIT_USAGE;
    int status = check_names(req, ks);
    if (status == EXIT_OK)
        status = launch_cli_refuse_outputs(&req->spec, prog, req->ptx_path, req->json_path);
    for (int k = 0; k < req->nkernels && status == EXIT_OK; k++) {
        if (filter_spec(ks[k], &req->spec, &bk[k].spec) != 0) {
            fputs("tilec: error: out of memory\n", stderr);
            return EXIT_INPUT;
        }
        const char *config = req->nconfigs == 0 ? NULL : req->configs[req->nconfigs == 1 ? 0 : k];
        status = run_prepare_kernel(arena, diag, prog, req->kernels[k], &bk[k].spec, config,
                                    false, &bk[k].tir, &bk[k].config);
        if (status != EXIT_OK)
            return status;
        LaunchStatus ls = launch_bind(bk[k].tir, &bk[k].spec, &bk[k].args, err, sizeof err);
        if (ls != LAUNCH_OK) {
            fprintf(stderr, "tilec: error: %s\n", err);
            return ls == LAUNCH_BAD_USAGE ? EXIT_USAGE : EXIT_INPUT;
        }
    }
    return status;
}

/* Which device tensors kernel k takes from earlier kernels of the chain: by --link, else
   by name (same dtype and shape). share[p] is NULL for a tensor of its own. */
static int bench_share(const BenchRequest *req, BenchKernel *bk, int k, const GpuTensor **share)
{
    const TirKernel *t = bk[k].tir;
    for (int p = 0; p < t->nparams; p++) {
        if (t->params[p].kind != PARAM_TENSOR)
            continue;
        const char *from_kernel = NULL, *from_param = t->params[p].name;
        for (int l = 0; l < req->nlinks; l++)
            if (strcmp(req->links[l].kernel, t->name) == 0 && strcmp(req->links[l].param, from_param) == 0) {
                from_kernel = req->links[l].from_kernel;
                from_param = req->links[l].from_param;
            }
        for (int j = 0; j < k; j++) {
            if (from_kernel && strcmp(bk[j].tir->name, from_kernel) != 0)
                continue;
            int q = tir_find_param(bk[j].tir, from_param);
            if (q < 0 || bk[j].tir->params[q].kind != PARAM_TENSOR)
                continue;
            HostTensor *mine = &bk[k].args.args[p].tensor, *theirs = &bk[j].args.args[q].tensor;
            if (!same_layout(mine, theirs)) {
                if (from_kernel) {
                    fprintf(stderr, "tilec: error: --link %s.%s=%s.%s: the tensors differ in dtype or "
                            "shape\n", t->name, t->params[p].name, from_kernel, from_param);
                    return EXIT_USAGE;
                }
                continue;
            }
            memcpy(mine->strides, theirs->strides, sizeof mine->strides);
            share[p] = &bk[j].launch.tensors[q];
        }
    }
    return EXIT_OK;
}

/* Uploads, compiles (or takes --ptx) and loads every kernel of the chain. */
static int bench_prepare(const BenchRequest *req, GpuSession *gpu, Arena *arena, BenchKernel *bk)
{
    char err[8192];
    const char *ptx = NULL;
    if (req->ptx_path && !(ptx = run_read_text_file(arena, req->ptx_path, err, sizeof err))) {
        fprintf(stderr, "tilec: error: %s\n", err);
        return EXIT_INPUT;
    }
    for (int k = 0; k < req->nkernels; k++) {
        const TirKernel *t = bk[k].tir;
        const GpuTensor **share = calloc((size_t)t->nparams + 1, sizeof *share);
        if (!share)
            return EXIT_INPUT;
        int status = bench_share(req, bk, k, share);
        GpuStatus g = GPU_OK;
        if (status == EXIT_OK)
            g = gpu_prepare(gpu, arena, t, &bk[k].config, req->nconfigs == 0, &bk[k].args, ptx,
                            share, &bk[k].launch,
                            err, sizeof err);
        free(share);
        if (status != EXIT_OK)
            return status;
        if (g != GPU_OK) {
            fprintf(stderr, "tilec: error: %s: %s\n", t->name, err);
            return EXIT_INPUT;
        }
    }
    return EXIT_OK;
}

/* Times the chain with a cold L2, then a warm one; checks the guards and downloads. */
static int bench_time(const BenchRequest *req, GpuSession *gpu, BenchKernel *bk, double *cold,
                      double *warm)
{
    char err[8192];
    GpuLaunch *launches[BENCH_MAX_KERNELS];
    for (int k = 0; k < req->nkernels; k++)
        launches[k] = &bk[k].launch;
    GpuStatus g = gpu_time(gpu, launches, req->nkernels, req->reps, req->warmup, true, cold, err, sizeof err);
    if (g == GPU_OK)
        g = gpu_time(gpu, launches, req->nkernels, req->reps, req->warmup, false, warm, err, sizeof err);
    for (int k = 0; k < req->nkernels && g == GPU_OK; k++)
        g = gpu_check_guards(gpu, &bk[k].launch, err, sizeof err);
    for (int k = 0; k < req->nkernels && g == GPU_OK; k++)
        g = gpu_download(gpu, &bk[k].launch, &bk[k].args, err, sizeof err);
    if (g != GPU_OK) {
        fprintf(stderr, "tilec: error: %s\n", err);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

/* ---- reporting */

static double median_of(const double *sorted, int n)
{
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

typedef struct BenchFigures {
    const double *times_ms;  /* sorted */
    double median_ms, min_ms, max_ms;
    double rate;            /* TFLOP/s or GB/s */
    double percent;         /* of the peak; < 0 when unknown */
} BenchFigures;

/* What the chain did and how fast: its work, the device's peak for it, and the figures
   of the cold-L2 and the warm-L2 runs. */
typedef struct BenchReport {
    GpuWork total;
    bool is_dot;            /* TFLOP/s (else GB/s) */
    bool have_peak;
    GpuPeak peak;
    double peak_rate;       /* in `unit`; 0 when unknown */
    double copy_gbps;       /* the same run's copy bandwidth; 0 for dots (not measured) */
    const char *unit;
    BenchFigures figs[2];   /* cold, warm */
} BenchReport;

static void bench_figures(const BenchRequest *req, const GpuSession *gpu, const BenchKernel *bk,
                          const double *cold, const double *warm, BenchReport *r)
{
    memset(r, 0, sizeof *r);
    r->total.dot_dtype = DT_COUNT;
    for (int k = 0; k < req->nkernels; k++) {
        GpuWork w;
        gpu_count_work(bk[k].tir, &bk[k].args, &w);
        r->total.flops += w.flops;
        r->total.bytes += w.bytes;
        if (r->total.dot_dtype == DT_COUNT || (w.dot_dtype != DT_COUNT && dtype_is_fp8(w.dot_dtype)))
            r->total.dot_dtype = w.dot_dtype;
    }
    r->is_dot = r->total.flops > 0;
    r->have_peak = gpu_peak_lookup(gpu->info.name, &r->peak);
    r->peak_rate = !r->have_peak ? 0
                   : r->is_dot ? (dtype_is_fp8(r->total.dot_dtype) ? r->peak.fp8_tflops : r->peak.bf16_tflops)
                               : r->peak.mem_tbps * 1000;
    r->unit = r->is_dot ? "TFLOP/s" : "GB/s";
    const double *times[2] = {cold, warm};
    for (int c = 0; c < 2; c++) {
        BenchFigures *f = &r->figs[c];
        f->times_ms = times[c];
        f->median_ms = median_of(times[c], req->reps);
        f->min_ms = times[c][0];
        f->max_ms = times[c][req->reps - 1];
        f->rate = r->is_dot ? r->total.flops / (f->median_ms * 1e-3) / 1e12
                            : r->total.bytes / (f->median_ms * 1e-3) / 1e9;
        f->percent = r->peak_rate > 0 ? 100 * f->rate / r->peak_rate : -1;
    }
}

static void print_report(const BenchRequest *req, GpuSession *gpu, const BenchKernel *bk,
                         const BenchReport *r)
{
    printf("bench %s on %s (%d SMs, %s)\n", req->path, gpu->info.name, gpu->info.sm_count, gpu->target->name);
    for (int k = 0; k < req->nkernels; k++) {
        const GpuLaunch *l = &bk[k].launch;
        int regs = 0, local = 0;
        tile_dev_function_resources(gpu->ctx, l->prepared->function, &regs, &local);
        printf("  %s: ", bk[k].tir->name);
        config_print(stdout, &bk[k].config);
        printf("; %s variant; %u blocks of %u threads; %u bytes of dynamic shared memory; "
               "%d registers, %d bytes of local memory\n", align_class_name(l->align),
               l->prepared->blocks, l->prepared->threads, l->prepared->smem_bytes, regs, local);
    }
    printf("  shapes:");
    for (int s = 0; s < bk[0].tir->nsyms; s++)
        printf(" %s=%lld", bk[0].tir->syms[s].name, (long long)bk[0].args.sym_values[s]);
    printf("\n  work: %.4g FLOP%s%s, %.4g bytes (each tensor once)\n", r->total.flops,
           r->is_dot ? " in " : "", r->is_dot ? dtype_name(r->total.dot_dtype) : "", r->total.bytes);
    const char *labels[2] = {"cold L2", "warm L2"};
    for (int c = 0; c < 2; c++) {
        const BenchFigures *f = &r->figs[c];
        printf("  %s: median %.4f ms (min %.4f, max %.4f over %d)  %.1f %s", labels[c], f->median_ms,
               f->min_ms, f->max_ms, req->reps, f->rate, r->unit);
        if (f->percent >= 0)
            printf("  %.1f%% of %.1f %s (%s dense %s peak)", f->percent, r->peak_rate, r->unit,
                   r->peak.match, r->is_dot ? dtype_name(dtype_is_fp8(r->total.dot_dtype) ? DT_F8E4M3 : DT_BF16)
                                            : "memory");
        if (r->copy_gbps > 0)
            printf("  %.2f of copy (%.0f GB/s)", f->rate / r->copy_gbps, r->copy_gbps);
        putchar('\n');
    }
    if (!r->have_peak)
        printf("  (no peak on record for %s)\n", gpu->info.name);
}

/* --out: each named tensor as the last kernel of the chain that has it left it. */
static int write_outputs(const BenchRequest *req, const BenchKernel *bk)
{
    char err[8192];
    int status = EXIT_OK;
    for (int o = 0; o < req->spec.noutputs; o++)
        for (int k = req->nkernels - 1; k >= 0; k--) {
            int p = tir_find_param(bk[k].tir, req->spec.outputs[o].name);
            if (p < 0)
                continue;
            if (npy_save(req->spec.outputs[o].text, &bk[k].args.args[p].tensor, err, sizeof err) != 0) {
                fprintf(stderr, "tilec: error: %s\n", err);
                status = EXIT_INPUT;
            }
            break;
        }
    return status;
}

static json_t *figures_json(const BenchFigures *f, int reps)
{
    json_t *times = json_array();
    for (int i = 0; i < reps; i++)
        json_array_append_new(times, json_real(f->times_ms[i]));
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:o}", "median_ms", f->median_ms, "min_ms",
                     f->min_ms, "max_ms", f->max_ms, "rate", f->rate, "percent_of_peak",
                     f->percent, "times_ms", times);
}

/* --json: the report's figures, for bench/run_bench.py, through files.c's writer (never
   onto an input, never a truncated file). */
static int write_json(const BenchRequest *req, GpuSession *gpu, const BenchKernel *bk,
                      const BenchReport *r)
{
    json_t *kernels = json_array(), *shapes = json_object();
    for (int k = 0; k < req->nkernels; k++) {
        const GpuLaunch *l = &bk[k].launch;
        int regs = 0, local = 0;
        char config[CONFIG_MAX_ENTRIES * (CONFIG_MAX_NAME + 32)];
        tile_dev_function_resources(gpu->ctx, l->prepared->function, &regs, &local);
        json_array_append_new(kernels, json_pack(
            "{s:s, s:s, s:s, s:I, s:I, s:I, s:i, s:i}", "name", bk[k].tir->name, "config",
            config_format(&bk[k].config, config, sizeof config), "variant",
            align_class_name(l->align), "blocks", (json_int_t)l->prepared->blocks, "threads",
            (json_int_t)l->prepared->threads, "smem", (json_int_t)l->prepared->smem_bytes,
            "registers", regs, "local_bytes", local));
    }
    for (int s = 0; s < bk[0].tir->nsyms; s++)
        json_object_set_new(shapes, bk[0].tir->syms[s].name, json_integer(bk[0].args.sym_values[s]));
    json_t *root = json_pack("{s:s, s:i, s:s, s:o, s:o, s:f, s:f, s:s, s:f, s:s, s:f, s:o, s:o}",
                             "device", gpu->info.name, "sm_count", gpu->info.sm_count, "target",
                             gpu->target->name, "kernels", kernels, "shapes", shapes, "flops",
                             r->total.flops, "bytes", r->total.bytes, "unit", r->unit, "peak",
                             r->peak_rate, "peak_source", r->have_peak ? r->peak.source : "",
                             "copy_gbps", r->copy_gbps, "cold", figures_json(&r->figs[0], req->reps), "warm",
                             figures_json(&r->figs[1], req->reps));
    char err[8400];
    OutFile *out = NULL;
    if (!root)
        snprintf(err, sizeof err, "cannot write '%s': out of memory", req->json_path);
    else if ((out = outfile_open(req->json_path, err, sizeof err)) != NULL) {
        json_dumpf(root, out->f, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
        fputc('\n', out->f);
    }
    json_decref(root);
    if (!out || outfile_commit(out, err, sizeof err) != 0) {   /* commit checks the writes */
        fprintf(stderr, "tilec: error: %s\n", err);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

static int bench_request(BenchRequest *req)
{
    Arena arena = {0};
    Diag diag = {.out = stderr};
    BenchKernel bk[BENCH_MAX_KERNELS];
    memset(bk, 0, sizeof bk);
    GpuSession gpu = {0};
    char err[8192];
    double *cold = NULL, *warm = NULL;
    int status = bench_bind(req, &arena, &diag, bk);
    if (status != EXIT_OK)
        goto done;
    if (gpu_open(&gpu, req->target, err, sizeof err) != GPU_OK) {
        fprintf(stderr, "tilec: error: %s\n", err);
        status = EXIT_INPUT;
        goto done;
    }
    if ((status = bench_prepare(req, &gpu, &arena, bk)) != EXIT_OK)
        goto done;
    cold = calloc((size_t)req->reps, sizeof *cold);
    warm = calloc((size_t)req->reps, sizeof *warm);
    if (!cold || !warm) {
        status = EXIT_INPUT;
        goto done;
    }
    if ((status = bench_time(req, &gpu, bk, cold, warm)) != EXIT_OK)
        goto done;
    BenchReport report;
    bench_figures(req, &gpu, bk, cold, warm, &report);
    if (!report.is_dot && gpu_copy_gbps(&gpu, &report.copy_gbps, err, sizeof err) != GPU_OK) {
        fprintf(stderr, "tilec: error: %s\n", err);
        status = EXIT_INPUT;
        goto done;
    }
    print_report(req, &gpu, bk, &report);
    status = write_outputs(req, bk);
    if (req->json_path && write_json(req, &gpu, bk, &report) != EXIT_OK)
        status = EXIT_INPUT;
done:
    fflush(stdout);
    for (int k = 0; k < BENCH_MAX_KERNELS; k++) {
        gpu_launch_free(&gpu, &bk[k].launch);
        launch_free(&bk[k].args);
        launch_spec_free(&bk[k].spec);
    }
    gpu_close(&gpu);
    free(cold);
    free(warm);
    arena_free(&arena);
    return status;
}

int cmd_bench(int argc, char **argv)
{
    BenchRequest req = {0};
    int status = parse_bench_args(argc, argv, &req);
    if (status == -1)
        status = EXIT_OK;
    else if (status == EXIT_OK)
        status = bench_request(&req);
    launch_spec_free(&req.spec);
    free(req.links);
    return status;
}
