/* bench.c — `tilec bench`: compiles one kernel (or a chain of kernels timed as one region,
   sharing tensors), binds inputs (random unless --in), and times it with events: median of
   repetitions with a cold L2 (a 256 MB write between repetitions) and warm, reported as
   TFLOP/s for kernels with dots or GB/s otherwise, and as a share of the device's peak. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const usage_bench =
    "usage: tilec bench FILE --kernel NAME[,NAME...] [--shape M=...,...] [--config KEY=V,...]\n"
    "                   [--set NAME=VALUE ...] [--in PARAM=FILE.npy ...] [--out PARAM=FILE.npy ...]\n"
    "                   [--link KERNEL.PARAM=KERNEL.PARAM ...] [--seed N] [--reps N] [--warmup N]\n"
    "                   [--json FILE] [--ptx FILE.ptx] [--target sm_90a|sm_89|sm_80]\n"
    "\n"
    "Times a kernel on the GPU: the median of --reps repetitions (default 20, after --warmup,\n"
    "default 3) with a cold L2 (256 MB written before each, outside the timed region) and\n"
    "with a warm one. Prints TFLOP/s for kernels with dots (2*m*n*k per product; a causal\n"
    "loop counts half) or GB/s otherwise (each tensor read or written once), and the share\n"
    "of the device's dense peak. Declared reduction targets are reset inside every\n"
    "repetition.\n"
    "\n"
    "  --kernel A,B          several kernels are timed as one region, run in order; tensor\n"
    "                        parameters of the same name (dtype and shape) are one tensor\n"
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

/* ---- reporting */

static double median_of(const double *sorted, int n)
{
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

typedef struct BenchFigures {
    double median_ms, min_ms, max_ms;
    double rate;            /* TFLOP/s or GB/s */
    double percent;         /* of the peak; < 0 when unknown */
} BenchFigures;

static void print_json_times(FILE *f, const char *name, const double *t, int n, const BenchFigures *fig)
{
    fprintf(f, "  \"%s\": {\"median_ms\": %.6f, \"min_ms\": %.6f, \"max_ms\": %.6f, \"rate\": %.4f, "
            "\"percent_of_peak\": %.3f, \"times_ms\": [", name, fig->median_ms, fig->min_ms,
            fig->max_ms, fig->rate, fig->percent);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%.6f", i ? ", " : "", t[i]);
    fputs("]}", f);
}

/* ---- the command */

typedef struct BenchKernel {
    TirKernel *tir;
    Config config;
    LaunchSpec spec;
    LaunchArgs args;
    GpuLaunch launch;
} BenchKernel;

static int bench_request(BenchRequest *req)
{
    Arena arena = {0};
    Diag diag = {.out = stderr};
    Program *prog = NULL;
    BenchKernel bk[BENCH_MAX_KERNELS];
    memset(bk, 0, sizeof bk);
    GpuSession gpu = {0};
    char err[8192];
    int status = EXIT_OK;
    double *cold = NULL, *warm = NULL;
    const char *ptx = NULL;
    if (req->nkernels == 0) {
        status = bench_usage_error("%s", "bench needs --kernel NAME");
        goto done;
    }
    if (front_end(&arena, &diag, req->path, req->target ? req->target : target_lookup("sm_90a"), &prog)) {
        status = EXIT_INPUT;
        goto done;
    }
    const Kernel *ks[BENCH_MAX_KERNELS];
    for (int k = 0; k < req->nkernels; k++)
        if (!(ks[k] = choose_kernel(prog, req->kernels[k]))) {
            status = EXIT_USAGE;
            goto done;
        }
    if ((status = check_names(req, ks)) != EXIT_OK ||
        (status = launch_cli_refuse_outputs(&req->spec, prog, req->ptx_path,
                                            req->json_path)) != EXIT_OK)
        goto done;
    for (int k = 0; k < req->nkernels; k++) {
        if (filter_spec(ks[k], &req->spec, &bk[k].spec) != 0) {
            status = EXIT_INPUT;
            fputs("tilec: error: out of memory\n", stderr);
            goto done;
        }
        const char *config = req->nconfigs == 0 ? NULL : req->configs[req->nconfigs == 1 ? 0 : k];
        status = run_prepare_kernel(&arena, &diag, prog, req->kernels[k], &bk[k].spec, config,
                                    false, &bk[k].tir, &bk[k].config);
        if (status != EXIT_OK)
            goto done;
        LaunchStatus ls = launch_bind(bk[k].tir, &bk[k].spec, &bk[k].args, err, sizeof err);
        if (ls != LAUNCH_OK) {
            fprintf(stderr, "tilec: error: %s\n", err);
            status = ls == LAUNCH_BAD_USAGE ? EXIT_USAGE : EXIT_INPUT;
            goto done;
        }
    }
    if (gpu_open(&gpu, req->target, err, sizeof err) != GPU_OK) {
        fprintf(stderr, "tilec: error: %s\n", err);
        status = EXIT_INPUT;
        goto done;
    }
    if (req->ptx_path && !(ptx = run_read_text_file(&arena, req->ptx_path, err, sizeof err))) {
        fprintf(stderr, "tilec: error: %s\n", err);
        status = EXIT_INPUT;
        goto done;
    }
    for (int k = 0; k < req->nkernels; k++) {
        const TirKernel *t = bk[k].tir;
        const GpuTensor **share = calloc((size_t)t->nparams + 1, sizeof *share);
        if (!share) {
            status = EXIT_INPUT;
            goto done;
        }
        /* tensors shared with earlier kernels: by --link, else by name */
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
                        free(share);
                        status = EXIT_USAGE;
                        goto done;
                    }
                    continue;
                }
                memcpy(mine->strides, theirs->strides, sizeof mine->strides);
                share[p] = &bk[j].launch.tensors[q];
            }
        }
        GpuStatus g = gpu_prepare(&gpu, &arena, t, &bk[k].config, &bk[k].args, ptx, share,
                                  &bk[k].launch, err, sizeof err);
        free(share);
        if (g != GPU_OK) {
            fprintf(stderr, "tilec: error: %s: %s\n", t->name, err);
            status = EXIT_INPUT;
            goto done;
        }
    }
    GpuLaunch *launches[BENCH_MAX_KERNELS];
    for (int k = 0; k < req->nkernels; k++)
        launches[k] = &bk[k].launch;
    cold = calloc((size_t)req->reps, sizeof *cold);
    warm = calloc((size_t)req->reps, sizeof *warm);
    if (!cold || !warm) {
        status = EXIT_INPUT;
        goto done;
    }
    GpuStatus g = gpu_time(&gpu, launches, req->nkernels, req->reps, req->warmup, true, cold, err, sizeof err);
    if (g == GPU_OK)
        g = gpu_time(&gpu, launches, req->nkernels, req->reps, req->warmup, false, warm, err, sizeof err);
    for (int k = 0; k < req->nkernels && g == GPU_OK; k++)
        g = gpu_check_guards(&gpu, &bk[k].launch, err, sizeof err);
    for (int k = 0; k < req->nkernels && g == GPU_OK; k++)
        g = gpu_download(&gpu, &bk[k].launch, &bk[k].args, err, sizeof err);
    if (g != GPU_OK) {
        fprintf(stderr, "tilec: error: %s\n", err);
        status = EXIT_INPUT;
        goto done;
    }

    /* the work and the figures */
    GpuWork total = {0, 0, DT_COUNT};
    for (int k = 0; k < req->nkernels; k++) {
        GpuWork w;
        gpu_count_work(bk[k].tir, &bk[k].args, &w);
        total.flops += w.flops;
        total.bytes += w.bytes;
        if (total.dot_dtype == DT_COUNT || (w.dot_dtype != DT_COUNT && dtype_is_fp8(w.dot_dtype)))
            total.dot_dtype = w.dot_dtype;
    }
    bool is_dot = total.flops > 0;
    GpuPeak peak;
    bool have_peak = gpu_peak_lookup(gpu.info.name, &peak);
    double peak_rate = !have_peak ? 0 : is_dot ? (dtype_is_fp8(total.dot_dtype) ? peak.fp8_tflops : peak.bf16_tflops)
                                              : peak.mem_tbps * 1000;
    const char *unit = is_dot ? "TFLOP/s" : "GB/s";
    BenchFigures figs[2];
    double *times[2] = {cold, warm};
    for (int c = 0; c < 2; c++) {
        BenchFigures *f = &figs[c];
        f->median_ms = median_of(times[c], req->reps);
        f->min_ms = times[c][0];
        f->max_ms = times[c][req->reps - 1];
        f->rate = is_dot ? total.flops / (f->median_ms * 1e-3) / 1e12 : total.bytes / (f->median_ms * 1e-3) / 1e9;
        f->percent = peak_rate > 0 ? 100 * f->rate / peak_rate : -1;
    }

    printf("bench %s on %s (%d SMs, %s)\n", req->path, gpu.info.name, gpu.info.sm_count, gpu.target->name);
    for (int k = 0; k < req->nkernels; k++) {
        const GpuLaunch *l = &bk[k].launch;
        int regs = 0, local = 0;
        tile_dev_function_resources(gpu.ctx, l->prepared->function, &regs, &local);
        printf("  %s: ", bk[k].tir->name);
        config_print(stdout, &bk[k].config);
        printf("; %s variant; %u blocks of %u threads; %u bytes of dynamic shared memory; "
               "%d registers, %d bytes of local memory\n", align_class_name(l->align),
               l->prepared->blocks, l->prepared->threads, l->prepared->smem_bytes, regs, local);
    }
    printf("  shapes:");
    for (int s = 0; s < bk[0].tir->nsyms; s++)
        printf(" %s=%lld", bk[0].tir->syms[s].name, (long long)bk[0].args.sym_values[s]);
    printf("\n  work: %.4g FLOP%s%s, %.4g bytes (each tensor once)\n", total.flops,
           is_dot ? " in " : "", is_dot ? dtype_name(total.dot_dtype) : "", total.bytes);
    const char *labels[2] = {"cold L2", "warm L2"};
    for (int c = 0; c < 2; c++) {
        printf("  %s: median %.4f ms (min %.4f, max %.4f over %d)  %.1f %s", labels[c], figs[c].median_ms,
               figs[c].min_ms, figs[c].max_ms, req->reps, figs[c].rate, unit);
        if (figs[c].percent >= 0)
            printf("  %.1f%% of %.1f %s (%s dense %s peak)", figs[c].percent, peak_rate, unit,
                   peak.match, is_dot ? dtype_name(dtype_is_fp8(total.dot_dtype) ? DT_F8E4M3 : DT_BF16)
                                      : "memory");
        putchar('\n');
    }
    if (!have_peak)
        printf("  (no peak on record for %s)\n", gpu.info.name);

    /* --out, then --json */
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
    OutFile *json = NULL;
    if (req->json_path && !(json = outfile_open(req->json_path, err, sizeof err))) {
        fprintf(stderr, "tilec: error: %s\n", err);
        status = EXIT_INPUT;
        goto done;
    }
    if (json) {
        FILE *f = json->f;
        fprintf(f, "{\n  \"device\": \"%s\",\n  \"sm_count\": %d,\n  \"target\": \"%s\",\n  \"kernels\": [",
                gpu.info.name, gpu.info.sm_count, gpu.target->name);
        for (int k = 0; k < req->nkernels; k++) {
            const GpuLaunch *l = &bk[k].launch;
            int regs = 0, local = 0;
            tile_dev_function_resources(gpu.ctx, l->prepared->function, &regs, &local);
            fprintf(f, "%s{\"name\": \"%s\", \"config\": \"", k ? ", " : "", bk[k].tir->name);
            config_print(f, &bk[k].config);
            fprintf(f, "\", \"variant\": \"%s\", \"blocks\": %u, \"threads\": %u, \"smem\": %u, "
                    "\"registers\": %d, \"local_bytes\": %d}", align_class_name(l->align),
                    l->prepared->blocks, l->prepared->threads, l->prepared->smem_bytes, regs, local);
        }
        fprintf(f, "],\n  \"shapes\": {");
        for (int s = 0; s < bk[0].tir->nsyms; s++)
            fprintf(f, "%s\"%s\": %lld", s ? ", " : "", bk[0].tir->syms[s].name, (long long)bk[0].args.sym_values[s]);
        fprintf(f, "},\n  \"flops\": %.6g,\n  \"bytes\": %.6g,\n  \"unit\": \"%s\",\n  \"peak\": %.3f,\n"
                "  \"peak_source\": \"%s\",\n", total.flops, total.bytes, unit, peak_rate,
                have_peak ? peak.source : "");
        print_json_times(f, "cold", cold, req->reps, &figs[0]);
        fputs(",\n", f);
        print_json_times(f, "warm", warm, req->reps, &figs[1]);
        fputs("\n}\n", f);
        if (outfile_commit(json, err, sizeof err) != 0) {
            fprintf(stderr, "tilec: error: %s\n", err);
            status = EXIT_INPUT;
        }
    }
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
