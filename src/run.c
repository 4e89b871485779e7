/* run.c — `tilec run`: parse → check → lower (with the --set consts) → passes → config →
   bind the launch (interp_launch.c) → interpret (--interpret; the GPU path comes with
   codegen) → write or summarise the outputs. docs/run.md describes the flags and rules. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "interp.h"

static const char *const usage_run =
    "usage: tilec run FILE [--kernel NAME] [--interpret] [--shape M=64,...]\n"
    "                 [--config KEY=V,...] [--in PARAM=FILE.npy ...] [--set NAME=VALUE ...]\n"
    "                 [--out PARAM=FILE.npy ...] [--seed N] [--no-mask-inference]\n"
    "\n"
    "Runs one kernel on host data and writes or summarises its outputs.\n"
    "\n"
    "  --kernel NAME         the kernel (may be left out when FILE has one)\n"
    "  --interpret           run on the CPU interpreter (GPU execution comes with codegen)\n"
    "  --shape SYM=N,...     values of shape symbols no input gives (repeatable)\n"
    "  --config KEY=V,...    tunables (BLOCK_M=64,BLOCK_N=32,...); the rest take defaults\n"
    "  --in PARAM=FILE.npy   a tensor's data: float32/float16/float64 (rounded to the\n"
    "                        parameter's dtype, fp8 saturating), uint16 bits (bf16/f16),\n"
    "                        uint8 bits (fp8), int32/int64/bool; C or Fortran order\n"
    "  --set NAME=VALUE      a scalar or const parameter (scale=0.125, causal=true)\n"
    "  --out PARAM=FILE.npy  write a tensor after the run (float32, or int32/int64/bool)\n"
    "  --seed N              seed of the random values of inputs not given (default 0)\n"
    "  --no-mask-inference   leave every mask off (the interpreter reports the first\n"
    "                        access outside a tensor)\n"
    "\n"
    "Inputs not given are uniform random in [-1, 1) (ints in [-8, 8)); outputs not given\n"
    "start zeroed; reduction targets start at their identity. Without --out, each output\n"
    "is summarised: shape, sum, max |x| and its count of non-finite values.\n";

enum {
    OPT_KERNEL = 256, OPT_INTERPRET, OPT_SHAPE, OPT_CONFIG, OPT_IN, OPT_SET, OPT_OUT, OPT_SEED,
    OPT_NO_MASKS, OPT_HELP,
};

typedef struct RunRequest {
    const char *path;
    const char *kernel;
    const char *config;
    bool interpret;
    bool no_mask_inference;
    bool seed_given;
    LaunchSpec spec;
} RunRequest;

static int usage_error(const char *fmt, const char *a, const char *b)
{
    fputs("tilec: error: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    fputs(usage_run, stderr);
    return EXIT_USAGE;
}

static int error_message(int status, const char *msg)
{
    fprintf(stderr, "tilec: error: %s\n", msg);
    return status;
}

/* Splits "NAME=TEXT" (in place); false when there is no '=' or no name. */
static bool split_assignment(char *arg, const char **name, const char **text)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return false;
    *eq = 0;
    *name = arg;
    *text = eq + 1;
    return true;
}

/* Adds one NAME=TEXT of a repeatable flag; a name given twice is an error. */
static int add_named(LaunchNamed **list, int *n, const char *flag, char *arg, const char *expected)
{
    const char *name, *text;
    char copy[64];
    snprintf(copy, sizeof copy, "%s", arg);
    if (!split_assignment(arg, &name, &text) || !*text) {
        fprintf(stderr, "tilec: error: %s '%s': expected %s\n", flag, copy, expected);
        fputs(usage_run, stderr);
        return EXIT_USAGE;
    }
    for (int i = 0; i < *n; i++)
        if (strcmp((*list)[i].name, name) == 0) {
            fprintf(stderr, "tilec: error: %s %s given twice\n", flag, name);
            return EXIT_USAGE;
        }
    LaunchNamed *grown = realloc(*list, (size_t)(*n + 1) * sizeof **list);
    if (!grown)
        return error_message(EXIT_INPUT, "out of memory");
    *list = grown;
    grown[*n].name = name;
    grown[*n].text = text;
    (*n)++;
    return EXIT_OK;
}

static int add_shapes(LaunchSpec *spec, char *arg)
{
    for (char *item = strtok(arg, ","); item; item = strtok(NULL, ",")) {
        const char *name, *text;
        if (!split_assignment(item, &name, &text))
            return usage_error("--shape '%s': expected NAME=VALUE%s", item, "");
        char *end;
        long long v = strtoll(text, &end, 10);
        if (!*text || *end || v < 0 || text[0] == '-' || text[0] == '+')
            return usage_error("--shape %s='%s' is not a size (a non-negative integer)", name, text);
        for (int i = 0; i < spec->nshapes; i++)
            if (strcmp(spec->shapes[i].name, name) == 0) {
                fprintf(stderr, "tilec: error: --shape %s given twice\n", name);
                return EXIT_USAGE;
            }
        LaunchShape *grown = realloc(spec->shapes, (size_t)(spec->nshapes + 1) * sizeof *grown);
        if (!grown)
            return error_message(EXIT_INPUT, "out of memory");
        spec->shapes = grown;
        grown[spec->nshapes].name = name;
        grown[spec->nshapes].value = v;
        spec->nshapes++;
    }
    return EXIT_OK;
}

static int parse_args(int argc, char **argv, RunRequest *req)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, OPT_HELP},
        {"kernel", required_argument, NULL, OPT_KERNEL},
        {"interpret", no_argument, NULL, OPT_INTERPRET},
        {"shape", required_argument, NULL, OPT_SHAPE},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"in", required_argument, NULL, OPT_IN},
        {"set", required_argument, NULL, OPT_SET},
        {"out", required_argument, NULL, OPT_OUT},
        {"seed", required_argument, NULL, OPT_SEED},
        {"no-mask-inference", no_argument, NULL, OPT_NO_MASKS},
        {0, 0, 0, 0},
    };
    int c, status;
    /* no '+': flags may follow FILE (GNU getopt permutes) */
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
        case OPT_HELP:
            fputs(usage_run, stdout);
            return -1;
        case OPT_KERNEL:
            if (req->kernel)
                return usage_error("%s%s", "--kernel given twice", "");
            req->kernel = optarg;
            break;
        case OPT_INTERPRET: req->interpret = true; break;
        case OPT_NO_MASKS: req->no_mask_inference = true; break;
        case OPT_CONFIG:
            if (req->config)
                return usage_error("%s%s", "--config given twice (join the settings with commas)", "");
            req->config = optarg;
            break;
        case OPT_SEED: {
            if (req->seed_given)
                return usage_error("%s%s", "--seed given twice", "");
            char *end;
            unsigned long long v = strtoull(optarg, &end, 0);
            if (!*optarg || *end || optarg[0] == '-')
                return usage_error("--seed '%s' is not a number%s", optarg, "");
            req->spec.seed = v;
            req->seed_given = true;
            break;
        }
        case OPT_SHAPE:
            if ((status = add_shapes(&req->spec, optarg)) != EXIT_OK)
                return status;
            break;
        case OPT_IN:
            if ((status = add_named(&req->spec.inputs, &req->spec.ninputs, "--in", optarg, "PARAM=FILE.npy")))
                return status;
            break;
        case OPT_OUT:
            if ((status = add_named(&req->spec.outputs, &req->spec.noutputs, "--out", optarg, "PARAM=FILE.npy")))
                return status;
            break;
        case OPT_SET:
            if ((status = add_named(&req->spec.sets, &req->spec.nsets, "--set", optarg, "NAME=VALUE")))
                return status;
            break;
        default:
            fputs(usage_run, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return usage_error("%s%s", "run needs a FILE", "");
    if (optind + 1 < argc)
        return usage_error("unexpected argument '%s' (run takes one FILE)%s", argv[optind + 1], "");
    req->path = argv[optind];
    return EXIT_OK;
}

static const Kernel *choose_kernel(const Program *p, const char *name)
{
    if (name) {
        const Kernel *k = program_find_kernel(p, name);
        if (!k) {
            fprintf(stderr, "tilec: error: no kernel named '%s' (kernels:", name);
            for (int i = 0; i < p->nkernels; i++)
                fprintf(stderr, " %s", p->kernels[i]->name);
            fputs(")\n", stderr);
        }
        return k;
    }
    if (p->nkernels == 1)
        return p->kernels[0];
    fprintf(stderr, "tilec: error: the file holds %d kernels: name one with --kernel (", p->nkernels);
    for (int i = 0; i < p->nkernels; i++)
        fprintf(stderr, "%s%s", i ? ", " : "", p->kernels[i]->name);
    fputs(")\n", stderr);
    return NULL;
}

/* One line per tensor: its shape, checksum, max |x| and non-finite count; `path` when
   it was written. */
static void summarise(const TirKernel *k, int index, const HostTensor *t, const char *path)
{
    const TirParam *p = &k->params[index];
    double sum = 0, max_abs = 0;
    int64_t nonfinite = 0;
    int64_t n = host_numel(t);
    int64_t idx[HOST_MAX_RANK] = {0};
    for (int64_t e = 0; e < n; e++) {
        double v = host_get(t, idx);
        if (!isfinite(v)) {
            nonfinite++;
        } else {
            sum += v;
            max_abs = fabs(v) > max_abs ? fabs(v) : max_abs;
        }
        host_next_index(t->rank, t->shape, idx);
    }
    printf("%s: %s[", p->name, dtype_name(p->dtype));
    for (int d = 0; d < t->rank; d++)
        printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
    printf("] sum=%.9g max|x|=%.9g non-finite=%lld", sum, max_abs, (long long)nonfinite);
    if (path)
        printf(" -> %s", path);
    putchar('\n');
}

static int write_outputs(const TirKernel *k, const RunRequest *req, LaunchArgs *args)
{
    int status = EXIT_OK;
    for (int i = 0; i < k->nparams; i++) {
        const char *path = NULL;
        for (int o = 0; o < req->spec.noutputs; o++)
            if (strcmp(req->spec.outputs[o].name, k->params[i].name) == 0)
                path = req->spec.outputs[o].text;
        if (!args->args[i].is_output && !path)
            continue;
        char err[512];
        if (path && npy_save(path, &args->args[i].tensor, err, sizeof err) != 0) {
            status = error_message(EXIT_INPUT, err);
            continue;
        }
        summarise(k, i, &args->args[i].tensor, path);
    }
    return status;
}

static int run_request(RunRequest *req)
{
    Arena arena = {0};
    Diag diag = {.out = stderr};
    Program *prog;
    LaunchArgs args = {0};
    char err[512];
    int status = EXIT_OK;
    if (front_end(&arena, &diag, req->path, target_lookup("sm_90a"), &prog)) {
        status = EXIT_INPUT;
        goto done;
    }
    const Kernel *kernel = choose_kernel(prog, req->kernel);
    if (!kernel) {
        status = EXIT_USAGE;
        goto done;
    }
    int64_t *const_values = arena_alloc(&arena, ((size_t)kernel->nparams + 1) * sizeof *const_values);
    LaunchStatus ls = launch_check_spec(kernel, &req->spec, const_values, err, sizeof err);
    if (ls != LAUNCH_OK) {
        status = error_message(ls == LAUNCH_BAD_USAGE ? EXIT_USAGE : EXIT_INPUT, err);
        goto done;
    }
    TirKernel *tir = tir_lower(&arena, &diag, kernel, const_values);
    TirPipelineOptions opts = {.no_mask_inference = req->no_mask_inference};
    if (!tir || tir_run_pipeline(tir, &diag, &opts)) {
        status = EXIT_INPUT;
        goto done;
    }
    Config user = {0}, config = {0};
    if (config_parse(req->config ? req->config : "", &user, err, sizeof err) != 0 ||
        config_resolve(tir, &user, &config, err, sizeof err) != 0) {
        status = error_message(EXIT_USAGE, err);
        goto done;
    }
    ls = launch_bind(tir, &req->spec, &args, err, sizeof err);
    if (ls != LAUNCH_OK) {
        status = error_message(ls == LAUNCH_BAD_USAGE ? EXIT_USAGE : EXIT_INPUT, err);
        goto done;
    }
    if (!req->interpret) {
        status = error_message(EXIT_NOT_BUILT, "GPU execution is not implemented yet (use --interpret)");
        goto done;
    }
    fputs("config: ", stdout);
    config_print(stdout, &config);
    putchar('\n');
    if (interp_run(tir, &config, &args, &diag)) {
        status = EXIT_INPUT;
        goto done;
    }
    status = write_outputs(tir, req, &args);
done:
    fflush(stdout);
    launch_free(&args);
    arena_free(&arena);
    return status;
}

int cmd_run(int argc, char **argv)
{
    RunRequest req = {0};
    int status = parse_args(argc, argv, &req);
    if (status == -1)
        status = EXIT_OK;
    else if (status == EXIT_OK)
        status = run_request(&req);
    free(req.spec.inputs);
    free(req.spec.outputs);
    free(req.spec.sets);
    free(req.spec.shapes);
    return status;
}
