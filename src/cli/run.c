/* run.c — `tilec run`: parse → check → lower (with the --set consts) → passes → config →
   bind the launch (interp_launch.c) → run on the GPU (gpu_run.c, through libtile; with
   --check also on the interpreter, comparing) or on the interpreter (--interpret) → write
   or summarise the outputs. docs/run.md describes the flags and rules. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const usage_run =
    "usage: tilec run FILE [--kernel NAME | --program NAME] [--interpret | --check]\n"
    "                 [--arith=ieee|gpu]\n"
    "                 [--shape M=64,...] [--config KEY=V,...] [--in PARAM=FILE.npy ...]\n"
    "                 [--set NAME=VALUE ...] [--out PARAM=FILE.npy ...] [--seed N]\n"
    "                 [--no-mask-inference] [--ptx FILE.ptx] [--target sm_90a|sm_89|sm_80]\n"
    "                 [--max-programs N] [--max-bytes N]\n"
    "\n"
    "Runs one kernel, or one program of kernels, on host data, on the GPU or the CPU\n"
    "interpreter, and writes or summarises its outputs.\n"
    "\n"
    "  --kernel NAME         the kernel (may be left out when FILE has one)\n"
    "  --program NAME        a program: each call's kernel in order (its default config),\n"
    "                        the intermediates in one workspace; --in gives its inputs,\n"
    "                        --out its outputs and intermediates (an intermediate as its\n"
    "                        writer left it)\n"
    "  --interpret           run on the CPU interpreter instead of the GPU\n"
    "  --check               run on the GPU and on the interpreter, print each output's\n"
    "                        max error and fail (exit 1) beyond its dtype's tolerance\n"
    "  --arith=gpu           the interpreter follows the GPU's arithmetic (codegen's fmas,\n"
    "                        ex2 flushing subnormals); with --check, outputs\n"
    "                        that depend on no float sum, dot, float atomic_add or\n"
    "                        ex2/lg2/rsqrt must match bit for bit (default: ieee)\n"
    "  --ptx FILE.ptx        launch this hand-written PTX (entry: the kernel's name, the\n"
    "                        kernel ABI of codegen.h) instead of compiling the kernel\n"
    "  --target NAME         compile for this target (default: the first of sm_90a,\n"
    "                        sm_89, sm_80 the GPU runs; sm_89 and sm_80 PTX also runs on\n"
    "                        later GPUs)\n"
    "  --shape SYM=N,...     values of shape symbols no input gives (repeatable)\n"
    "  --config KEY=V,...    tunables (BLOCK_M=64,BLOCK_N=32,...); the rest take defaults\n"
    "  --in PARAM=FILE.npy   a tensor's data: float32/float16/float64 (rounded to the\n"
    "                        parameter's dtype, fp8 saturating), uint16 bits (bf16/f16),\n"
    "                        uint8 bits (fp8), any int/uint that fits, bool; C or Fortran order\n"
    "  --set NAME=VALUE      a scalar or const parameter (scale=0.125, causal=true)\n"
    "  --out PARAM=FILE.npy  write a tensor after the run (float32, or the integer dtype, or bool)\n"
    "  --seed N              seed of the random values of inputs not given (default 0)\n"
    "  --no-mask-inference   leave every mask off (the interpreter reports the first\n"
    "                        access outside a tensor)\n"
    "  --max-programs N      the interpreter runs at most N programs of the grid and N\n"
    "                        blocks of any one loop (default 16M, 2^24)\n"
    "  --max-bytes N         the interpreter's tensors and tiles take at most N bytes\n"
    "                        (default 4G; K, M, G suffixes are powers of 1024)\n"
    "\n"
    "Inputs not given are uniform random in [-1, 1) (ints in [-8, 8)); outputs not given\n"
    "start zeroed; reduction targets start at their identity. Without --out, each output\n"
    "is summarised: shape, sum, max |x| and its count of non-finite values. On the GPU\n"
    "every tensor sits between guard bands of canary bytes; a store into one is an error.\n";

enum {
    OPT_KERNEL = 256, OPT_PROGRAM, OPT_INTERPRET, OPT_SHAPE, OPT_CONFIG, OPT_IN, OPT_SET, OPT_OUT, OPT_SEED,
    OPT_NO_MASKS, OPT_HELP, OPT_CHECK, OPT_PTX, OPT_TARGET, OPT_MAX_PROGRAMS, OPT_MAX_BYTES,
    OPT_ARITH,
};

typedef struct RunRequest {
    const char *path;
    const char *kernel;
    const char *program;     /* --program */
    const char *config;
    const char *ptx_path;
    const Target *target;    /* --target, or NULL: picked from the GPU */
    bool interpret;
    bool check;
    bool gpu_arith;          /* --arith=gpu */
    bool arith_given;
    bool no_mask_inference;
    bool seed_given;
    InterpLimits limits;     /* --max-programs, --max-bytes (0 until given) */
    LaunchSpec spec;
} RunRequest;

static int usage_error(const char *fmt, const char *a, const char *b)
{
    return cli_usage_error(usage_run, fmt, a, b);
}

static int parse_args(int argc, char **argv, RunRequest *req)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, OPT_HELP},
        {"kernel", required_argument, NULL, OPT_KERNEL},
        {"program", required_argument, NULL, OPT_PROGRAM},
        {"interpret", no_argument, NULL, OPT_INTERPRET},
        {"check", no_argument, NULL, OPT_CHECK},
        {"arith", required_argument, NULL, OPT_ARITH},
        {"ptx", required_argument, NULL, OPT_PTX},
        {"target", required_argument, NULL, OPT_TARGET},
        {"shape", required_argument, NULL, OPT_SHAPE},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"in", required_argument, NULL, OPT_IN},
        {"set", required_argument, NULL, OPT_SET},
        {"out", required_argument, NULL, OPT_OUT},
        {"seed", required_argument, NULL, OPT_SEED},
        {"no-mask-inference", no_argument, NULL, OPT_NO_MASKS},
        {"max-programs", required_argument, NULL, OPT_MAX_PROGRAMS},
        {"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
        {0, 0, 0, 0},
    };
    static const int single[] = {OPT_TARGET, OPT_ARITH, OPT_PROGRAM, 0};
    bool seen[OPTION_VALS] = {false};
    int c, status;
    /* no '+': flags may follow FILE (GNU getopt permutes) */
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (option_repeated(longopts, single, c, seen))
            return EXIT_USAGE;
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
        case OPT_PROGRAM: req->program = optarg; break;
        case OPT_INTERPRET: req->interpret = true; break;
        case OPT_CHECK: req->check = true; break;
        case OPT_ARITH:
            if (strcmp(optarg, "gpu") != 0 && strcmp(optarg, "ieee") != 0)
                return usage_error("unknown --arith '%s' (known: ieee, gpu)%s", optarg, "");
            req->gpu_arith = strcmp(optarg, "gpu") == 0;
            req->arith_given = true;
            break;
        case OPT_PTX:
            if (req->ptx_path)
                return usage_error("%s%s", "--ptx given twice", "");
            req->ptx_path = optarg;
            break;
        case OPT_NO_MASKS: req->no_mask_inference = true; break;
        case OPT_CONFIG:
            if (req->config)
                return usage_error("%s%s", "--config given twice (join the settings with commas)", "");
            req->config = optarg;
            break;
        case OPT_SEED:
            if (req->seed_given)
                return usage_error("%s%s", "--seed given twice", "");
            if (parse_seed(optarg, &req->spec.seed) != 0)
                return EXIT_USAGE;
            req->seed_given = true;
            break;
        case OPT_TARGET:
            if ((status = launch_cli_target(optarg, &req->target, usage_run)))
                return status;
            break;
        case OPT_MAX_PROGRAMS:
        case OPT_MAX_BYTES: {
            bool programs = c == OPT_MAX_PROGRAMS;
            int64_t *limit = programs ? &req->limits.max_programs : &req->limits.max_bytes;
            if (*limit)
                return usage_error("%s given twice%s", programs ? "--max-programs" : "--max-bytes", "");
            if (!parse_limit(optarg, limit))
                return usage_error("%s '%s': expected a positive integer (K, M, G suffixes allowed)",
                                   programs ? "--max-programs" : "--max-bytes", optarg);
            break;
        }
        case OPT_SHAPE:
            if ((status = launch_cli_add_shapes(&req->spec, optarg, usage_run)) != EXIT_OK)
                return status;
            break;
        case OPT_IN:
            if ((status = launch_cli_add_named(&req->spec.inputs, &req->spec.ninputs, "--in", optarg,
                                            "PARAM=FILE.npy", usage_run)))
                return status;
            break;
        case OPT_OUT:
            if ((status = launch_cli_add_named(&req->spec.outputs, &req->spec.noutputs, "--out", optarg,
                                            "PARAM=FILE.npy", usage_run)))
                return status;
            break;
        case OPT_SET:
            if ((status = launch_cli_add_named(&req->spec.sets, &req->spec.nsets, "--set", optarg,
                                            "NAME=VALUE", usage_run)))
                return status;
            break;
        default:
            fputs(usage_run, stderr);
            return EXIT_USAGE;
        }
    }
    if (!req->limits.max_programs)
        req->limits.max_programs = INTERP_MAX_PROGRAMS;
    if (!req->limits.max_bytes)
        req->limits.max_bytes = INTERP_MAX_BYTES;
    if (req->interpret || req->check)   /* the GPU alone is bounded by its own memory */
        req->spec.max_bytes = req->limits.max_bytes;
    if (req->interpret && (req->check || req->ptx_path))
        return usage_error("%s%s", req->check ? "--check runs the GPU and the interpreter: leave out --interpret"
                                              : "--ptx is GPU code: leave out --interpret", "");
    if (req->arith_given && !req->interpret && !req->check)
        return usage_error("%s%s", "--arith sets the interpreter's arithmetic: use it with "
                           "--interpret or --check", "");
    if (req->program && (req->kernel || req->config || req->ptx_path || req->check))
        return usage_error("%s%s", "--program runs each call's kernel under its default config, "
                           "on the GPU or (--interpret) the interpreter: leave out --kernel, "
                           "--config, --ptx and --check", "");
    if (optind >= argc)
        return usage_error("%s%s", "run needs a FILE", "");
    if (optind + 1 < argc)
        return usage_error("unexpected argument '%s' (run takes one FILE)%s", argv[optind + 1], "");
    req->path = argv[optind];
    return EXIT_OK;
}

/* One line per tensor: its shape, checksum, max |x| and non-finite count; `path` when
   it was written; under --arith=gpu whether the GPU must give the same bits (`inexact`:
   NULL when not known). */
static void summarise(const char *name, const HostTensor *t, const char *path,
                      const bool *inexact)
{
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
    printf("%s: %s[", name, dtype_name(t->dtype));
    for (int d = 0; d < t->rank; d++)
        printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
    printf("] sum=%.9g max|x|=%.9g non-finite=%lld", sum, max_abs, (long long)nonfinite);
    if (path)
        printf(" -> %s", path);
    if (inexact)
        printf(*inexact ? " (GPU: within tolerance, it depends on a float sum, dot, atomic_add "
                          "or ex2/lg2/rsqrt)" : " (GPU: bit-exact)");
    putchar('\n');
}

static const char *out_path(const RunRequest *req, const char *name)
{
    for (int o = 0; o < req->spec.noutputs; o++)
        if (strcmp(req->spec.outputs[o].name, name) == 0)
            return req->spec.outputs[o].text;
    return NULL;
}

/* Writes the tensor to its --out file (when it has one) and summarises it. */
static int write_output(const char *name, const HostTensor *t, const char *path,
                        const bool *inexact)
{
    char err[512];
    if (path && npy_save(path, t, err, sizeof err) != 0)
        return cli_error(EXIT_INPUT, err);
    summarise(name, t, path, inexact);
    return EXIT_OK;
}

static int write_outputs(const TirKernel *k, const RunRequest *req, LaunchArgs *args,
                         const bool *inexact)
{
    int status = EXIT_OK;
    for (int i = 0; i < k->nparams; i++) {
        const char *path = out_path(req, k->params[i].name);
        if (!args->args[i].is_output && !path)
            continue;
        int s = write_output(k->params[i].name, &args->args[i].tensor, path,
                             args->args[i].is_output && inexact ? &inexact[i] : NULL);
        status = s != EXIT_OK ? s : status;
    }
    return status;
}

/* A program's outputs, then the intermediates --out names (as their writers left them). */
static int write_program_outputs(const RunRequest *req, const ProgramRun *r)
{
    const TirProgram *p = r->program;
    int status = EXIT_OK;
    for (int v = 0; v < p->nvalues; v++) {
        const TirProgValue *val = &p->values[v];
        const char *path = out_path(req, val->name);
        if (val->kind == TIR_PV_INPUT && !path)
            continue;
        if (val->kind == TIR_PV_TEMP && !path)
            continue;
        const HostTensor *t = val->kind == TIR_PV_TEMP ? &r->snapshots[v]
                                                       : &r->args.args[val->param].tensor;
        int s = write_output(val->name, t, path, NULL);
        status = s != EXIT_OK ? s : status;
    }
    return status;
}

/* `--program NAME`: binds the program's launch and runs its calls, on the interpreter or
   on the GPU. */
static int run_program(RunRequest *req, Arena *arena, Diag *diag, const Program *prog)
{
    ProgramRun run;
    int status = program_run_bind(arena, prog, req->program, &req->spec, &run);
    for (int o = 0; status == EXIT_OK && !req->interpret && o < req->spec.noutputs; o++)
        for (int v = 0; v < run.program->nvalues; v++)
            if (run.program->values[v].kind == TIR_PV_TEMP &&
                strcmp(run.program->values[v].name, req->spec.outputs[o].name) == 0) {
                fprintf(stderr, "tilec: error: --out %s: an intermediate is kept only by "
                        "--interpret (on the GPU its bytes serve other intermediates)\n",
                        req->spec.outputs[o].name);
                status = EXIT_USAGE;
            }
    if (status == EXIT_OK && req->interpret)
        status = program_run_interpret(arena, diag, prog, &run, &req->spec, &req->limits,
                                       req->gpu_arith);
    else if (status == EXIT_OK)
        status = program_run_gpu(arena, diag, req->path, req->target, &run);
    if (status == EXIT_OK)
        status = write_program_outputs(req, &run);
    program_run_free(&run);
    return status;
}

/* ---- --check: the GPU's outputs against the interpreter's */

/* Whether two elements are the same bits (any NaN matches any NaN: payloads differ). */
static bool same_bits(const HostTensor *gpu, const HostTensor *ref, const int64_t *idx)
{
    double g = host_get(gpu, idx), r = host_get(ref, idx);
    if (isnan(g) || isnan(r))
        return isnan(g) && isnan(r);
    return host_get_raw_at(gpu, host_offset(gpu, idx)) == host_get_raw_at(ref, host_offset(ref, idx));
}

/* Compares one output; prints its line and returns true when it is within tolerance.
   `exact`: the interpreter follows the GPU's arithmetic and the output depends on nothing
   the GPU computes in another order or approximately, so it must match bit for bit.
   `fp8_dots`: the kernel has fp8 dots, whose tensor cores sum at reduced precision. */
static bool check_output(const TirParam *p, const HostTensor *gpu, const HostTensor *ref, bool exact,
                         bool fp8_dots)
{
    OutputTolerance tol = output_tolerance(p->dtype, fp8_dots);
    if (exact)
        tol = (OutputTolerance){0, 0, 0, "bit-exact: it depends on no float sum, dot, float "
                                          "atomic_add or ex2/lg2/rsqrt"};
    int64_t n = host_numel(ref);
    double max_ref = 0;
    int64_t idx[HOST_MAX_RANK] = {0};
    for (int64_t e = 0; e < n; e++) {
        double r = host_get(ref, idx);
        if (isfinite(r) && fabs(r) > max_ref)
            max_ref = fabs(r);
        host_next_index(ref->rank, ref->shape, idx);
    }
    double max_abs = 0;
    int64_t bad = 0, worst[HOST_MAX_RANK] = {0};
    bool have_worst = false;
    memset(idx, 0, sizeof idx);
    for (int64_t e = 0; e < n; e++) {
        double g = host_get(gpu, idx), r = host_get(ref, idx);
        bool ok;
        double diff = fabs(g - r);
        if (exact) {
            ok = same_bits(gpu, ref, idx);
            diff = ok ? 0 : isnan(g - r) ? INFINITY : fabs(g - r);
        } else if (isnan(r) || isnan(g)) {
            ok = isnan(r) && isnan(g);
            diff = ok ? 0 : INFINITY;
        } else if (isinf(r) || isinf(g)) {
            ok = g == r;
            diff = ok ? 0 : INFINITY;
        } else if (tol.fp8_steps) {
            int apart = abs(fp8_code_order(host_get_raw_at(gpu, host_offset(gpu, idx))) -
                            fp8_code_order(host_get_raw_at(ref, host_offset(ref, idx))));
            ok = apart <= tol.fp8_steps;
        } else {
            ok = diff <= tol.rel * fabs(r) + tol.floor * max_ref;
        }
        if (!ok)
            bad++;
        if (diff > max_abs || (!ok && !have_worst)) {
            max_abs = diff > max_abs ? diff : max_abs;
            memcpy(worst, idx, sizeof worst);
            have_worst = true;
        }
        host_next_index(ref->rank, ref->shape, idx);
    }
    printf("check %s: max abs err %.6g, max rel err %.6g (of max|ref| %.6g), %lld of %lld "
           "beyond tolerance [%s]: %s", p->name, max_abs, max_ref > 0 ? max_abs / max_ref : max_abs,
           max_ref, (long long)bad, (long long)n, tol.text, bad ? "FAIL" : "ok");
    if (bad && have_worst) {
        printf(" (worst at [");
        for (int d = 0; d < ref->rank; d++)
            printf("%s%lld", d ? ", " : "", (long long)worst[d]);
        printf("]: gpu %.9g, interpreter %.9g)", host_get(gpu, worst), host_get(ref, worst));
    }
    putchar('\n');
    return bad == 0;
}

/* A deep copy of a launch's arguments (each tensor keeps its strides). */
static int clone_args(const LaunchArgs *from, LaunchArgs *to)
{
    memset(to, 0, sizeof *to);
    to->nargs = from->nargs;
    to->nsyms = from->nsyms;
    to->args = calloc((size_t)from->nargs + 1, sizeof *to->args);
    to->sym_values = malloc(((size_t)from->nsyms + 1) * sizeof *to->sym_values);
    if (!to->args || !to->sym_values)
        return -1;
    memcpy(to->sym_values, from->sym_values, (size_t)from->nsyms * sizeof *to->sym_values);
    for (int i = 0; i < from->nargs; i++) {
        to->args[i] = from->args[i];
        to->args[i].tensor.data = NULL;
        if (!from->args[i].tensor.data)
            continue;
        size_t bytes = from->args[i].tensor.nbytes;
        to->args[i].tensor.data = malloc(bytes ? bytes : 1);
        if (!to->args[i].tensor.data)
            return -1;
        memcpy(to->args[i].tensor.data, from->args[i].tensor.data, bytes);
    }
    return 0;
}

/* The GPU path: open the device, upload, compile and load, launch, check the guards,
   download; with --check run the interpreter on a copy of the same arguments and compare. */
static int run_on_gpu(const RunRequest *req, Arena *arena, Diag *diag, const TirKernel *tir,
                      Config *config, LaunchArgs *args)
{
    char err[8192];
    GpuSession gpu;
    if (gpu_open(&gpu, req->target, err, sizeof err) != GPU_OK)
        return cli_error(EXIT_INPUT, err);
    int status = EXIT_OK;
    LaunchArgs ref = {0};
    GpuLaunch launch = {0};
    const char *ptx = NULL;
    if (req->ptx_path && !(ptx = run_read_text_file(arena, req->ptx_path, err, sizeof err))) {
        status = cli_error(EXIT_INPUT, err);
        goto done;
    }
    if (req->check && clone_args(args, &ref) != 0) {
        status = cli_error(EXIT_INPUT, "out of memory");
        goto done;
    }
    GpuStatus g = gpu_prepare(&gpu, arena, tir, config, !req->config, args, ptx, NULL, &launch,
                              err, sizeof err);
    if (g == GPU_OK)
        g = gpu_reset_targets(&gpu, &launch, err, sizeof err);
    if (g == GPU_OK)
        g = gpu_enqueue(&gpu, &launch, err, sizeof err);
    if (g == GPU_OK)
        g = gpu_check_guards(&gpu, &launch, err, sizeof err);
    if (g == GPU_OK)
        g = gpu_download(&gpu, &launch, args, err, sizeof err);
    fputs("config: ", stdout);
    config_print(stdout, config);
    putchar('\n');
    if (launch.prepared)
        printf("gpu: %s, %s variant, %u blocks of %u threads, %u bytes of dynamic shared memory\n",
               gpu.info.name, align_class_name(launch.align), launch.prepared->blocks,
               launch.prepared->threads, launch.prepared->smem_bytes);
    if (g != GPU_OK) {
        status = cli_error(EXIT_INPUT, err);
        goto done;
    }
    status = write_outputs(tir, req, args, NULL);
    if (req->check) {
        bool *inexact = arena_alloc(arena, ((size_t)tir->nparams + 1) * sizeof *inexact);
        InterpOptions opts = {.gpu_arith = req->gpu_arith, .inexact = inexact};
        if (interp_run(tir, config, &ref, &req->limits, &opts, diag)) {
            status = EXIT_INPUT;
            goto done;
        }
        bool all_ok = true;
        for (int i = 0; i < tir->nparams; i++)
            if (args->args[i].is_output)
                all_ok = check_output(&tir->params[i], &args->args[i].tensor, &ref.args[i].tensor,
                                      req->gpu_arith && !inexact[i], tir_has_fp8_dot(tir)) && all_ok;
        if (!all_ok) {
            fprintf(stderr, "tilec: error: %s: the GPU's outputs differ from the interpreter's beyond "
                    "tolerance\n", tir->name);
            status = EXIT_INPUT;
        }
    }
done:
    gpu_launch_free(&gpu, &launch);
    gpu_close(&gpu);
    launch_free(&ref);
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
    TirKernel *tir = NULL;
    Config config = {0};
    if (front_end(&arena, &diag, req->path, req->target ? req->target : target_lookup("sm_90a"), &prog)) {
        status = EXIT_INPUT;
        goto done;
    }
    status = launch_cli_refuse_outputs(&req->spec, prog, req->ptx_path, NULL);
    if (status != EXIT_OK)
        goto done;
    if (req->program) {
        status = run_program(req, &arena, &diag, prog);
        goto done;
    }
    status = run_prepare_kernel(&arena, &diag, prog, req->kernel, &req->spec, req->config,
                                req->no_mask_inference, &tir, &config);
    if (status != EXIT_OK)
        goto done;
    LaunchStatus ls = launch_bind(tir, &req->spec, &args, err, sizeof err);
    if (ls != LAUNCH_OK) {
        status = cli_error(ls == LAUNCH_BAD_USAGE ? EXIT_USAGE : EXIT_INPUT, err);
        goto done;
    }
    if (!req->interpret) {
        status = run_on_gpu(req, &arena, &diag, tir, &config, &args);
        goto done;
    }
    fputs("config: ", stdout);
    config_print(stdout, &config);
    putchar('\n');
    bool *inexact = arena_alloc(&arena, ((size_t)tir->nparams + 1) * sizeof *inexact);
    InterpOptions opts = {.gpu_arith = req->gpu_arith, .inexact = inexact};
    if (interp_run(tir, &config, &args, &req->limits, &opts, &diag)) {
        status = EXIT_INPUT;
        goto done;
    }
    status = write_outputs(tir, req, &args, req->gpu_arith ? inexact : NULL);
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
    launch_spec_free(&req.spec);
    return status;
}
