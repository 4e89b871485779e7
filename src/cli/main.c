/* main.c — the `tilec` command: parses the command line and runs the pipeline
   parse → check → lower → (config) → codegen → write for each subcommand.
   Exit status: 0 success, 1 diagnostics in the user's input (or no GPU for a command that
   needs one), 2 bad command line; `tilec tune` exits 130 when Ctrl-C stopped it. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const usage_main =
    "usage: tilec [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "tilec compiles .tile kernels to PTX, tunes their launch configurations and\n"
    "packs them for libtile.\n"
    "\n"
    "commands:\n"
    "  check FILE...     parse and type-check kernels\n"
    "  build FILE        compile kernels (--emit=ast|ir|schedule|llvm|ptx: print a stage)\n"
    "  run FILE          run a kernel on inputs (--interpret: on the CPU)\n"
    "  tune FILE         search block sizes, warps and stages for given shapes\n"
    "  cache list        the tune cache's entries (also: show KERNEL, clear [KERNEL])\n"
    "  bench FILE        time one configuration of a kernel on the GPU\n"
    "  inspect BUNDLE    print what a kernel bundle holds\n"
    "\n"
    "`tilec COMMAND --help` describes each command.\n"
    "exit status: 0 success, 1 errors in the input (or no GPU), 2 bad command line\n";

static const char *const usage_check =
    "usage: tilec check [--target sm_90a|sm_89|sm_80] FILE...\n"
    "\n"
    "Parses and type-checks every kernel in each FILE (and the files it includes).\n"
    "Prints diagnostics as file:line:col: error: message and exits 1 if there are any.\n"
    "\n"
    "  --target NAME   check for this GPU target (fp8 needs sm_89 or newer); default sm_90a\n";

static const char *const usage_build =
    "usage: tilec build FILE [-o OUT] [--kernel NAME] [--emit=ast|ir|schedule|llvm|ptx]\n"
    "                        [--config KEY=V,...] [--target sm_90a|sm_89|sm_80]...\n"
    "                        [--tuned | --no-tuned] [--tuned-from TABLE] [--max-variants N]\n"
    "       tilec build FILE --emit=buffers [--program NAME] [--shape SYM=N,...]\n"
    "\n"
    "Compiles the kernels of FILE. With no --emit it writes a bundle and its typed C\n"
    "launcher header: NAME.tbn and NAME.h in the current folder for FILE NAME.tile, or\n"
    "OUT and OUT's .h with -o. Full axes are built for the sizes the kernel lists\n"
    "(`const D in {64, 128}`) unless --config gives them.\n"
    "\n"
    "  -o, --output OUT     where to write (default: NAME.tbn; standard output for --emit)\n"
    "  --kernel NAME        only this kernel\n"
    "  --emit STAGE         print a stage: ast (checked tree with types and shapes),\n"
    "                       ir (tiled IR), schedule (codegen's layouts, dot plans,\n"
    "                       shared memory and pipelines), llvm (LLVM IR), ptx;\n"
    "                       buffers: each program's calls in order and its workspace\n"
    "                       (allocations, their intermediates and live ranges, the\n"
    "                       peak and the naive sum) for the --shape given, else for\n"
    "                       the lines of FILE's .shapes naming it (`NAME: SYM=N,...`)\n"
    "  --program NAME       --emit=buffers or ast: only this program\n"
    "  --shape SYM=N,...    --emit=buffers: the sizes of the shape symbols (repeatable)\n"
    "  --config KEY=V,...   bind tunables (BLOCK_M=64,num_warps=4; `tilec --help` lists\n"
    "                       the knobs) and const parameters (causal=true); a full axis's\n"
    "                       sizes (D=64, a bundle several: D=64|128) and the alignment\n"
    "                       class align=vec16|unit|any (default vec16: 16-byte aligned\n"
    "                       tensors with unit innermost stride)\n"
    "  --target NAME        sm_90a, sm_89 (native fp8 mma.sync) or sm_80; repeat it for a\n"
    "                       bundle with a variant set per target (libtile runs the one\n"
    "                       for the GPU it finds). Default: --emit sm_90a; a bundle\n"
    "                       sm_90a and sm_80 (fp8 kernels sm_90a only)\n"
    "  --tuned              add the tune cache's configs for these kernels (this\n"
    "                       source, every GPU tuned on) to the bundle's dispatch\n"
    "                       table, keyed by GPU name and shape; the defaults stay\n"
    "                       as the fallback (see docs/tuning.md). A bundle build\n"
    "                       does this by default, quietly (one note when the cache\n"
    "                       has entries for this source)\n"
    "  --no-tuned           leave the tune cache out\n"
    "  --tuned-from TABLE   the configs of a table `tilec tune --export` wrote (on a\n"
    "                       build machine without a GPU) instead of the cache\n"
    "  --max-variants N     most variants a bundle's kernel may need (default 256):\n"
    "                       every target x const combination x full-axis size x 2\n"
    "                       align classes is compiled; more is an error naming them\n";

/* `tilec --help`: the commands, then the knobs every kernel is tuned by. */
static int print_help(void)
{
    fputs(usage_main, stdout);
    fputc('\n', stdout);
    knob_print_table(stdout);
    return EXIT_OK;
}

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
    fputs("tilec: error: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    fputs(usage, stderr);
    return EXIT_USAGE;
}

/* Resolves --target; prints the error itself. */
static const Target *parse_target(const char *name)
{
    const Target *t = target_lookup(name);
    if (!t)
        fprintf(stderr, "tilec: error: unknown target '%s' (known: %s)\n", name, target_names());
    return t;
}

static int cmd_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"target", required_argument, NULL, 't'},
        {0, 0, 0, 0},
    };
    const Target *target = target_lookup("sm_90a");
    static const int single[] = {'t', 0};
    bool seen[OPTION_VALS] = {false};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (option_repeated(longopts, single, c, seen))
            return EXIT_USAGE;
        switch (c) {
        case 'h': fputs(usage_check, stdout); return EXIT_OK;
        case 't':
            if (!(target = parse_target(optarg)))
                return EXIT_USAGE;
            break;
        default: fputs(usage_check, stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return usage_error(usage_check, "%s", "check needs at least one FILE");
    int status = EXIT_OK;
    for (int i = optind; i < argc; i++) {
        Arena arena = {0};
        Diag diag = {.out = stderr};
        Program *p;
        if (front_end(&arena, &diag, argv[i], target, &p))
            status = EXIT_INPUT;
        arena_free(&arena);
    }
    return status;
}

static int cmd_build(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"output", required_argument, NULL, 'o'},
        {"kernel", required_argument, NULL, 'k'},
        {"emit", required_argument, NULL, 'e'},
        {"config", required_argument, NULL, 'c'},
        {"target", required_argument, NULL, 't'},
        {"tuned", no_argument, NULL, 'u'},
        {"no-tuned", no_argument, NULL, 'n'},
        {"tuned-from", required_argument, NULL, 'f'},
        {"max-variants", required_argument, NULL, 'V'},
        {"program", required_argument, NULL, 'p'},
        {"shape", required_argument, NULL, 's'},
        {0, 0, 0, 0},
    };
    BuildRequest req = {0};
    static const int single[] = {'o', 'k', 'V', 'p', 0};
    bool seen[OPTION_VALS] = {false};
    int c;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        if (option_repeated(longopts, single, c, seen))
            return EXIT_USAGE;
        switch (c) {
        case 'h': fputs(usage_build, stdout); return EXIT_OK;
        case 'o': req.output = optarg; break;
        case 'k': req.kernel = optarg; break;
        case 'p': req.program = optarg; break;
        case 's': {
            int status = launch_cli_add_shapes(&req.shapes, optarg, usage_build);
            if (status != EXIT_OK) {
                launch_spec_free(&req.shapes);
                return status;
            }
            break;
        }
        case 'u': req.tuned = true; break;
        case 'n': req.no_tuned = true; break;
        case 'f':
            if (req.tuned_from)
                return usage_error(usage_build, "%s", "--tuned-from given twice (one table per build)");
            req.tuned_from = optarg;
            break;
        case 'c':
            if (req.config)
                return usage_error(usage_build, "%s", "--config given twice (join the settings with commas)");
            req.config = optarg;
            break;
        case 't': {
            const Target *t = parse_target(optarg);
            if (!t)
                return EXIT_USAGE;
            for (int i = 0; i < req.ntargets; i++)
                if (req.targets[i] == t)
                    return usage_error(usage_build, "--target %s is given twice", optarg);
            req.targets[req.ntargets++] = t;   /* distinct known targets: fewer than the cap */
            break;
        }
        case 'V':
            if (!parse_limit(optarg, &req.max_variants))
                return usage_error(usage_build, "--max-variants '%s': expected a positive integer", optarg);
            break;
        case 'e':
            if (req.emit != EMIT_NONE)
                return usage_error(usage_build, "%s", "--emit given twice (one stage per build)");
            if (strcmp(optarg, "ast") == 0) req.emit = EMIT_AST;
            else if (strcmp(optarg, "ir") == 0) req.emit = EMIT_IR;
            else if (strcmp(optarg, "schedule") == 0) req.emit = EMIT_SCHEDULE;
            else if (strcmp(optarg, "llvm") == 0) req.emit = EMIT_LLVM;
            else if (strcmp(optarg, "ptx") == 0) req.emit = EMIT_PTX;
            else if (strcmp(optarg, "buffers") == 0) req.emit = EMIT_BUFFERS;
            else return usage_error(usage_build, "unknown --emit stage '%s' (expected ast, ir, schedule, llvm, ptx or buffers)", optarg);
            break;
        default: fputs(usage_build, stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return usage_error(usage_build, "%s", "build needs a FILE");
    if (optind + 1 < argc)
        return usage_error(usage_build, "unexpected argument '%s' (build takes one FILE)", argv[optind + 1]);
    req.path = argv[optind];
    if (req.emit != EMIT_NONE && req.max_variants)
        return usage_error(usage_build, "%s", "--max-variants limits a bundle's variants: drop --emit (or it)");
    if (req.emit != EMIT_NONE && (req.tuned || req.tuned_from || req.no_tuned))
        return usage_error(usage_build, "%s", "--tuned, --no-tuned and --tuned-from fill a bundle's dispatch table: drop --emit (or them)");
    if (req.emit != EMIT_NONE && req.ntargets > 1)
        return usage_error(usage_build, "%s", "--emit prints one target's code: give one --target (a bundle takes several)");
    if (req.no_tuned && (req.tuned || req.tuned_from))
        return usage_error(usage_build, "%s", "--no-tuned leaves the tuned configs out: drop it or --tuned/--tuned-from");
    if ((req.emit != EMIT_BUFFERS && req.shapes.nshapes) ||
        (req.emit != EMIT_BUFFERS && req.emit != EMIT_AST && req.program)) {
        launch_spec_free(&req.shapes);
        return usage_error(usage_build, "%s", "--program and --shape choose what --emit=buffers prints (--program also --emit=ast's): add it (or drop them)");
    }
    if (req.program && req.kernel) {
        launch_spec_free(&req.shapes);
        return usage_error(usage_build, "%s", "--kernel and --program each choose what to print: give one");
    }
    if (req.emit == EMIT_BUFFERS && (req.kernel || req.config)) {
        launch_spec_free(&req.shapes);
        return usage_error(usage_build, "%s", "--emit=buffers prints programs: name one with --program (--kernel and --config are for kernels)");
    }
    int status = run_build(&req);
    launch_spec_free(&req.shapes);
    return status;
}

static int run_command(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': return print_help();
        case 'V': {
            char llvm[32];
            codegen_llvm_version(llvm, sizeof llvm);
            printf("tilec %s (LLVM %s, NVPTX backend %s; targets %s)\n", TILEC_VERSION, llvm,
                   codegen_has_nvptx() ? "linked" : "missing", target_names());
            return EXIT_OK;
        }
        default: fputs(usage_main, stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs("tilec: error: no command given\n", stderr);
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[optind];
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 0; /* glibc: restart getopt for the subcommand's own options */
    if (strcmp(cmd, "check") == 0)
        return cmd_check(sub_argc, sub_argv);
    if (strcmp(cmd, "build") == 0)
        return cmd_build(sub_argc, sub_argv);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(sub_argc, sub_argv);
    if (strcmp(cmd, "tune") == 0)
        return cmd_tune(sub_argc, sub_argv);
    if (strcmp(cmd, "cache") == 0)
        return cmd_cache(sub_argc, sub_argv);
    if (strcmp(cmd, "bench") == 0)
        return cmd_bench(sub_argc, sub_argv);
    if (strcmp(cmd, "inspect") == 0)
        return cmd_inspect(sub_argc, sub_argv);
    if (strcmp(cmd, "help") == 0)
        return print_help();
    fprintf(stderr, "tilec: error: unknown command '%s'\n", cmd);
    fputs(usage_main, stderr);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    /* Past `ulimit -f` a write then fails with EFBIG, which is reported, instead of the
       signal killing tilec mid-write. */
    signal(SIGXFSZ, SIG_IGN);
    int status = run_command(argc, argv);
    /* What went to standard output must have arrived (`tilec inspect B > /dev/full`). */
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "tilec: error: cannot write to standard output%s%s\n",
                errno ? ": " : "", errno ? strerror(errno) : "");
        if (status == EXIT_OK)
            status = EXIT_INPUT;
    }
    return status;
}
