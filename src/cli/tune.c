/* tune.c — `tilec tune`: a thin command over the autotune library. Parses the options,
   runs the front end and lowers the kernel for its const values, builds the space per
   --shape, and prints it (--space, no GPU needed), exports cache entries (--export), or
   tunes on the GPU; over several FILEs, or the --shard share of their cases.
   docs/tuning.md describes the whole of it. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *const usage_tune =
    "usage: tilec tune FILE... [--kernel NAME] [--shape M=...,N=...]... [--shapes FILE]\n"
    "                  [--const NAME=V,...] [--set NAME=VALUE]...\n"
    "                  [--space-set NAME=V1,V2|LO..HI]...\n"
    "                  [--budget 60s] [--max-evals N] [--seed N]\n"
    "                  [--strategy exhaustive|random|pattern|de] [--jobs N]\n"
    "                  [--prune-off RULE,...] [--space] [--retune] [--shard I/N]\n"
    "                  [--gpus all|I,J,...]\n"
    "       tilec tune --kernel NAME --export FILE\n"
    "\n"
    "Searches block sizes, warps, stages and grouping for each shape, keeps the best\n"
    "config in the tune cache ($TILEC_CACHE_DIR, $XDG_CACHE_HOME/tilec or ~/.cache/tilec).\n"
    "The shapes are the --shape ones, else those of FILE's shapes file (attention.shapes\n"
    "beside attention.tile: one SYM=N,... a line, or KERNEL: SYM=N,...). When the cache has\n"
    "every shape's best for this source, GPU, tilec and space, it answers from there.\n"
    "Several FILEs are tuned one after the other, each with its shapes file (then\n"
    "--kernel, --shape and --shapes, which name one file's kernel or shapes, are refused).\n"
    "\n"
    "  --kernel NAME          the kernel to tune; without it, a FILE of several kernels\n"
    "                         tunes each kernel its shapes file names\n"
    "  --shape SYM=N,...      the value of every shape symbol (repeat for more shapes;\n"
    "                         instead of FILE's .shapes, added to a --shapes FILE's)\n"
    "  --shapes FILE          read the shapes from FILE instead of FILE's .shapes\n"
    "  --retune               measure even when the cache has every answer\n"
    "  --const NAME=V,...     const parameters (causal=true); their first value otherwise\n"
    "  --set NAME=VALUE       a scalar parameter's value for the timed launches (every\n"
    "                         scalar needs one, as for `tilec bench`); inputs are random\n"
    "  --space-set NAME=...   narrow a tunable: BLOCK_M=64,128 or num_stages=2..4\n"
    "  --space                print the space, what each pruning rule removed and the\n"
    "                         first 40 survivors, then exit (no GPU needed)\n"
    "  --space-all            the same, listing every survivor\n"
    "  --budget TIME          wall clock per shape: 60s, 2m or seconds (default 60s)\n"
    "  --max-evals N          at most N candidates measured per shape\n"
    "  --strategy NAME        exhaustive, random, pattern or de (default: exhaustive when\n"
    "                         at most 64 points survive, pattern otherwise)\n"
    "  --seed N               the search's seed (default 1)\n"
    "  --jobs N               compile at most N candidates at once (default: one per\n"
    "                         CPU); 1 compiles each just before it is timed\n"
    "  --prune-off RULE,...   turn pruning rules off (oversized-block, duplicate, warps,\n"
    "                         shared-memory, registers): their points are compiled and\n"
    "                         timed, and fail there if they must\n"
    "  --align CLASS          vec16 (default), unit or any: the tensors' alignment class\n"
    "  --shard I/N            tune only shard I of N (0 <= I < N): of every FILE's\n"
    "                         kernel x shape cases sorted by name (KERNEL:SHAPE), those\n"
    "                         whose index is I modulo N; give every shard the same FILEs\n"
    "                         and shapes, merge their caches with `tilec cache merge`\n"
    "  --gpus all|I,J,...     time candidates on these GPUs at once (driver ordinals, as\n"
    "                         nvidia-smi numbers them under CUDA_VISIBLE_DEVICES), one\n"
    "                         benchmark child pinned to each; all: every GPU of the first\n"
    "                         one's model. Without it, one GPU (the driver's first)\n"
    "  --export FILE          write the cache entries of --kernel to FILE (for\n"
    "                         `tilec build --tuned-from FILE` on another machine)\n";

typedef struct TuneRequest {
    const char *path;               /* the FILE being tuned, one of paths */
    char **paths;                   /* FILE... */
    int npaths;
    const char *kernel;
    char **shapes;                  /* --shape */
    int nshapes;
    const char *shapes_path;        /* --shapes; NULL: FILE's .shapes when there is one */
    bool retune;                    /* measure even when the cache has every answer */
    const char *consts;
    LaunchNamed *sets;
    int nsets;
    char **space_sets;
    int nspace_sets;
    bool print_space;
    bool list_all;
    double budget_s;
    int64_t max_evals;
    uint64_t seed;
    bool strategy_given;
    SearchStrategy strategy;
    int jobs;                       /* 0: one per CPU */
    bool prune_off[PRUNE_RULE_COUNT];
    const char *align;
    const char *export_path;
    int shard_index, shard_count;   /* --shard I/N; shard_count 0: every case */
    struct ShardCases *shard;       /* --shard: every case's name, sorted */
    const char *gpus;               /* --gpus, as given; NULL: one GPU, not pinned */
    struct GpuChoice *gpu_choice;   /* the GPUs, found once for every kernel */
} TuneRequest;

enum { MAX_GPUS = 64 };

/* The GPUs of this run: --gpus resolved against the driver (or the synthetic stand-in),
   all of one model; the first one's facts go into the cache key. */
typedef struct GpuChoice {
    bool resolved;
    int status;                     /* EXIT_OK, or why they could not be found */
    bool synthetic;
    TuneGpuInfo info;
    int devices[MAX_GPUS];
    int ndevices;                   /* 0: not pinned (no --gpus) */
} GpuChoice;

/* The names ("KERNEL:SHAPE", the shape as the cache key writes it) of every kernel x shape
   case of the run. A first pass over the FILEs (collecting) fills it; the tuning pass asks
   it which cases are this shard's. */
typedef struct ShardCases {
    bool collecting;
    char **names;        /* malloc'ed */
    int n;
} ShardCases;

static int usage_error(const char *fmt, const char *arg)
{
    fputs("tilec: error: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    fputs(usage_tune, stderr);
    return EXIT_USAGE;
}

/* "60s", "2m", "90" (seconds). */
static bool parse_duration(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || !(v > 0))
        return false;
    if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        v *= 60;
    else if (*end && strcmp(end, "s") != 0)
        return false;
    *out = v;
    return true;
}

/* "warps,registers": marks each named pruning rule off. */
static int parse_prune_off(const char *list, bool *off)
{
    const char *p = list;
    do {
        char name[64];
        size_t n = strcspn(p, ",");
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        p += n + (p[n] == ',');
        TunePruneRule rule;
        if (tune_prune_rule_parse(name, &rule) != 0) {
            usage_error("--prune-off: unknown pruning rule '%s' (expected oversized-block, "
                        "duplicate, warps, shared-memory or registers)", name);
            return -1;
        }
        off[rule] = true;
    } while (*p);
    return 0;
}

static bool push(char ***list, int *n, char *item)
{
    char **grown = realloc(*list, sizeof *grown * (size_t)(*n + 1));
    if (!grown)
        return false;
    grown[(*n)++] = item;
    *list = grown;
    return true;
}

static void default_shapes_path(const char *tile, char *out, size_t size);

/* "0,2,3": distinct decimal GPU numbers below MAX_GPUS. */
static bool parse_gpu_list(const char *text, int *list, int *n)
{
    *n = 0;
    for (const char *p = text;; p++) {
        if (!isdigit((unsigned char)*p) || *n == MAX_GPUS)
            return false;
        char *end;
        errno = 0;
        long d = strtol(p, &end, 10);
        if (errno || d >= MAX_GPUS || end - p > 2)
            return false;
        for (int i = 0; i < *n; i++)
            if (list[i] == d)
                return false;
        list[(*n)++] = (int)d;
        p = end;
        if (!*p)
            return true;
        if (*p != ',')
            return false;
    }
}

/* "I/N" with 0 <= I < N, both plain decimal numbers. */
static bool parse_shard(const char *text, int *index, int *count)
{
    char *slash, *end;
    if (!isdigit((unsigned char)text[0]))
        return false;
    errno = 0;
    long i = strtol(text, &slash, 10);
    if (errno || *slash != '/' || !isdigit((unsigned char)slash[1]))
        return false;
    long n = strtol(slash + 1, &end, 10);
    if (errno || *end || n < 1 || n > INT_MAX || i >= n)
        return false;
    *index = (int)i;
    *count = (int)n;
    return true;
}

static void case_name(const TuneRequest *req, const TuneSpace *space, char *buf, size_t size)
{
    TuneKey key;
    tune_key_make(&key, space, 0, "", req->align, NULL);
    snprintf(buf, size, "%s:%s", key.kernel, key.shape);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The shard rule (docs/tuning.md): the case's index in the sorted list of every case of the
   run, modulo N (an equal name, the same kernel name and shape in two FILEs, takes its
   first index). Every task of a job array given the same FILEs and shapes computes the same
   list, so they agree without talking to each other, and shards differ by one case at most. */
static bool shard_owns(const TuneRequest *req, const TuneSpace *space)
{
    if (req->shard_count == 0)
        return true;
    char name[512], *key = name;
    case_name(req, space, name, sizeof name);
    char **hit = bsearch(&key, req->shard->names, (size_t)req->shard->n, sizeof key,
                         compare_names);
    if (!hit)
        return false;   /* not reached: the collecting pass saw every case */
    while (hit > req->shard->names && strcmp(hit[-1], name) == 0)
        hit--;
    return (hit - req->shard->names) % req->shard_count == req->shard_index;
}

/* Returns EXIT_OK, -1 after --help, or a usage error. */
static int parse_args(int argc, char **argv, TuneRequest *req)
{
    enum { OPT_SHAPE = 256, OPT_CONST, OPT_SET, OPT_SPACE_SET, OPT_SPACE, OPT_BUDGET, OPT_MAX_EVALS,
           OPT_STRATEGY, OPT_SEED, OPT_ALIGN, OPT_EXPORT, OPT_SPACE_ALL, OPT_JOBS,
           OPT_PRUNE_OFF, OPT_SHAPES, OPT_RETUNE, OPT_SHARD, OPT_GPUS };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"kernel", required_argument, NULL, 'k'},
        {"shape", required_argument, NULL, OPT_SHAPE},
        {"shapes", required_argument, NULL, OPT_SHAPES},
        {"retune", no_argument, NULL, OPT_RETUNE},
        {"const", required_argument, NULL, OPT_CONST},
        {"set", required_argument, NULL, OPT_SET},
        {"space-set", required_argument, NULL, OPT_SPACE_SET},
        {"space", no_argument, NULL, OPT_SPACE},
        {"space-all", no_argument, NULL, OPT_SPACE_ALL},
        {"budget", required_argument, NULL, OPT_BUDGET},
        {"max-evals", required_argument, NULL, OPT_MAX_EVALS},
        {"strategy", required_argument, NULL, OPT_STRATEGY},
        {"seed", required_argument, NULL, OPT_SEED},
        {"align", required_argument, NULL, OPT_ALIGN},
        {"export", required_argument, NULL, OPT_EXPORT},
        {"jobs", required_argument, NULL, OPT_JOBS},
        {"prune-off", required_argument, NULL, OPT_PRUNE_OFF},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"gpus", required_argument, NULL, OPT_GPUS},
        {0, 0, 0, 0},
    };
    req->budget_s = 60;
    req->seed = 1;
    req->align = "vec16";
    static const int single[] = {'k', OPT_CONST, OPT_BUDGET, OPT_MAX_EVALS, OPT_STRATEGY, OPT_SEED,
                                 OPT_ALIGN, OPT_EXPORT, OPT_JOBS, OPT_SHAPES, OPT_SHARD, OPT_GPUS, 0};
    bool seen[OPTION_VALS] = {false};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end;
        if (option_repeated(longopts, single, c, seen))
            return EXIT_USAGE;
        switch (c) {
        case 'h': fputs(usage_tune, stdout); return -1;
        case 'k': req->kernel = optarg; break;
        case OPT_SHAPE:
            if (!push(&req->shapes, &req->nshapes, optarg))
                return EXIT_INPUT;
            break;
        case OPT_SHAPES: req->shapes_path = optarg; break;
        case OPT_RETUNE: req->retune = true; break;
        case OPT_CONST: req->consts = optarg; break;
        case OPT_SET: {
            int status = launch_cli_add_named(&req->sets, &req->nsets, "--set", optarg,
                                              "NAME=VALUE", usage_tune);
            if (status != EXIT_OK)
                return status;
            break;
        }
        case OPT_SPACE_SET: {
            size_t len = strcspn(optarg, "=");
            for (int i = 0; i < req->nspace_sets; i++)
                if (strncmp(req->space_sets[i], optarg, len) == 0 && req->space_sets[i][len] == '=') {
                    fprintf(stderr, "tilec: error: --space-set %.*s given twice (list its values "
                            "in one: %.*s=V1,V2 or %.*s=LO..HI)\n", (int)len, optarg, (int)len,
                            optarg, (int)len, optarg);
                    return EXIT_USAGE;
                }
            if (!push(&req->space_sets, &req->nspace_sets, optarg))
                return EXIT_INPUT;
            break;
        }
        case OPT_SPACE: req->print_space = true; break;
        case OPT_SPACE_ALL: req->print_space = req->list_all = true; break;
        case OPT_BUDGET:
            if (!parse_duration(optarg, &req->budget_s))
                return usage_error("--budget '%s': expected a time such as 60s, 2m or 90", optarg);
            break;
        case OPT_MAX_EVALS:
            errno = 0;
            req->max_evals = strtoll(optarg, &end, 10);
            if (*end || req->max_evals < 1 || errno == ERANGE)
                return usage_error("--max-evals '%s': expected a positive integer", optarg);
            break;
        case OPT_SEED:
            if (parse_seed(optarg, &req->seed) != 0)
                return EXIT_USAGE;
            break;
        case OPT_STRATEGY:
            if (search_strategy_parse(optarg, &req->strategy) != 0)
                return usage_error("unknown --strategy '%s' (expected exhaustive, random, pattern or de)", optarg);
            req->strategy_given = true;
            break;
        case OPT_ALIGN:
            if (strcmp(optarg, "vec16") && strcmp(optarg, "unit") && strcmp(optarg, "any"))
                return usage_error("unknown --align '%s' (expected vec16, unit or any)", optarg);
            req->align = optarg;
            break;
        case OPT_EXPORT: req->export_path = optarg; break;
        case OPT_JOBS: {
            errno = 0;
            long jobs = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || jobs < 0 || jobs > INT_MAX)
                return usage_error("--jobs '%s': expected how many candidates compile at once, "
                                   "1 or more (0: one per CPU)", optarg);
            req->jobs = (int)jobs;
            break;
        }
        case OPT_SHARD:
            if (!parse_shard(optarg, &req->shard_index, &req->shard_count))
                return usage_error("--shard '%s': expected I/N, shard I of N with 0 <= I < N "
                                   "(0/4 .. 3/4)", optarg);
            break;
        case OPT_PRUNE_OFF:
            if (parse_prune_off(optarg, req->prune_off) != 0)
                return EXIT_USAGE;
            break;
        case OPT_GPUS: {
            int list[MAX_GPUS], n;
            if (strcmp(optarg, "all") != 0 && !parse_gpu_list(optarg, list, &n))
                return usage_error("--gpus '%s': expected all, or GPU numbers such as 0,1,3 "
                                   "(each once, 0 to 63)", optarg);
            req->gpus = optarg;
            break;
        }
        default: fputs(usage_tune, stderr); return EXIT_USAGE;
        }
    }
    if (req->export_path) {
        if (!req->kernel)
            return usage_error("%s", "--export needs --kernel NAME");
        if (req->shard_count)
            return usage_error("%s", "--shard chooses cases to tune; --export tunes none");
        if (optind < argc)
            req->path = argv[optind++];
        if (optind < argc)
            return usage_error("unexpected argument '%s' (--export takes at most one FILE)",
                               argv[optind]);
    } else {
        if (optind >= argc)
            return usage_error("%s", "tune needs a FILE");
        req->paths = argv + optind;
        req->npaths = argc - optind;
        if (req->npaths > 1 && (req->kernel || req->nshapes || req->shapes_path))
            return usage_error("%s", "--kernel, --shape and --shapes name one file's kernel or "
                               "shapes: give them with one FILE (several FILEs tune the shapes "
                               "of each FILE's .shapes)");
        for (int i = 0; i < req->npaths; i++) {
            char beside[4200];
            default_shapes_path(req->paths[i], beside, sizeof beside);
            if (req->nshapes == 0 && !req->shapes_path && access(beside, F_OK) != 0)
                return usage_error("tune needs shapes: list them in %s (one SYM=N,... a line; "
                                   "docs/tuning.md) or give --shape SYM=N,...", beside);
        }
    }
    return EXIT_OK;
}

static int export_entries(const TuneRequest *req)
{
    char dir[4096], err[512];
    if (autotune_cache_dir(dir, sizeof dir, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: %s\n", err);
        return EXIT_INPUT;
    }
    char cache[4200];
    autotune_cache_path(dir, cache, sizeof cache);
    const char *inputs[] = {cache};
    if (refuse_output_onto_input(req->export_path, NULL, inputs, 1) != EXIT_OK)
        return EXIT_USAGE;
    int n = autotune_export(dir, req->kernel, req->export_path, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "tilec: error: --export: %s\n", err);
        return EXIT_INPUT;
    }
    if (n == 0) {
        fprintf(stderr, "tilec: error: --export: the tune cache %s has no entries of kernel %s "
                "(`tilec cache list` shows what it has); nothing written\n", cache, req->kernel);
        return EXIT_INPUT;
    }
    fprintf(stderr, "tilec: wrote %d tuned config%s of kernel %s to %s\n", n, n == 1 ? "" : "s",
            req->kernel, req->export_path);
    return EXIT_OK;
}

/* Const values from --const (others: their first declared value, bool false). */
static int parse_consts(const Kernel *k, const char *text, int64_t *values)
{
    for (int i = 0; i < k->nparams; i++)
        if (k->params[i]->kind == PARAM_CONST && k->params[i]->nconst_values > 0)
            values[i] = k->params[i]->const_values[0];
    const char *p = text ? text : "";
    while (*p) {
        char item[256];
        size_t n = strcspn(p, ",");
        snprintf(item, sizeof item, "%.*s", (int)n, p);
        p += n + (p[n] == ',');
        char *eq = strchr(item, '=');
        const Param *param = NULL;
        if (eq) {
            *eq = 0;
            for (int i = 0; i < k->nparams; i++)
                if (k->params[i]->kind == PARAM_CONST && strcmp(k->params[i]->name, item) == 0)
                    param = k->params[i];
        }
        if (!param) {
            fprintf(stderr, "tilec: error: --const '%s': kernel %s has no const parameter of "
                    "that name\n", item, k->name);
            return -1;
        }
        if (parse_const_value(param, eq + 1, &values[param->index]) != 0)
            return -1;
    }
    return 0;
}

/* Binds every shape symbol of the kernel from "SYM=N,..." (a --shape or a line of a shapes
   file: one parser for both). Returns 0, or -1 with the message in err and in *col the
   offset in text of what is wrong. */
static int parse_shape(const TirKernel *k, const char *text, int64_t *values, char *err,
                       size_t errlen, int *col)
{
    bool given[TUNE_MAX_SYMS] = {false};
    const char *p = text;
    while (*p) {
        char item[128];
        size_t n = strcspn(p, ",");
        snprintf(item, sizeof item, "%.*s", (int)n, p);
        *col = (int)(p - text);
        p += n + (p[n] == ',');
        char *eq = strchr(item, '='), *end;
        if (!eq) {
            snprintf(err, errlen, "'%s': expected SYM=N", item);
            return -1;
        }
        *eq = 0;
        int sym = tir_find_sym(k, item);
        if (sym < 0) {
            snprintf(err, errlen, "kernel %s has no shape symbol '%s'", k->name, item);
            return -1;
        }
        if (given[sym]) {
            snprintf(err, errlen, "%s given twice", item);
            return -1;
        }
        errno = 0;
        long long v = strtoll(eq + 1, &end, 10);
        if (errno || *end || end == eq + 1 || v < 0) {
            snprintf(err, errlen, "%s='%s' is not a size", item, eq + 1);
            return -1;
        }
        if (k->syms[sym].is_full && v > TIR_MAX_FULL_AXIS) {
            snprintf(err, errlen, "%s=%lld: %s is taken whole (compiled in), at most %d", item,
                     v, item, TIR_MAX_FULL_AXIS);
            return -1;
        }
        values[sym] = v;
        given[sym] = true;
    }
    *col = 0;
    for (int i = 0; i < k->nsyms; i++)
        if (!given[i]) {
            size_t len = (size_t)snprintf(err, errlen, "no value for %s (kernel %s needs:",
                                          k->syms[i].name, k->name);
            for (int j = 0; j < k->nsyms && len < errlen; j++)
                len += (size_t)snprintf(err + len, errlen - len, " %s", k->syms[j].name);
            if (len < errlen)
                snprintf(err + len, errlen - len, ")");
            return -1;
        }
    return 0;
}

/* The shapes to tune for, each binding every symbol of the kernel. */
typedef struct ShapeList {
    int64_t (*values)[TUNE_MAX_SYMS];
    int *lines;                         /* the shapes file's line; 0 for a --shape */
    int n;
} ShapeList;

/* The index of a shape equal to values, or -1. */
static int shape_find(const ShapeList *l, const TirKernel *k, const int64_t *values)
{
    for (int i = 0; i < l->n; i++)
        if (memcmp(l->values[i], values, sizeof(int64_t) * (size_t)k->nsyms) == 0)
            return i;
    return -1;
}

static void shape_add(Arena *arena, ShapeList *l, const int64_t *values, int line)
{
    if (l->n % 16 == 0) {   /* grown in steps of 16 from the arena */
        int64_t (*values_grown)[TUNE_MAX_SYMS] = arena_alloc(arena, sizeof *l->values * (size_t)(l->n + 16));
        int *lines_grown = arena_alloc(arena, sizeof *l->lines * (size_t)(l->n + 16));
        if (l->n) {
            memcpy(values_grown, l->values, sizeof *l->values * (size_t)l->n);
            memcpy(lines_grown, l->lines, sizeof *l->lines * (size_t)l->n);
        }
        l->values = values_grown;
        l->lines = lines_grown;
    }
    memcpy(l->values[l->n], values, sizeof l->values[0]);
    l->lines[l->n++] = line;
}

/* The shapes file beside FILE: the same folder and base name, .shapes for .tile (never
   the .tile itself, so a shape added does not change the source hash keying the cache). */
static void default_shapes_path(const char *tile, char *out, size_t size)
{
    size_t len = strlen(tile);
    if (len > 5 && strcmp(tile + len - 5, ".tile") == 0)
        len -= 5;
    snprintf(out, size, "%.*s.shapes", (int)len, tile);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

/* Reads a shapes file (docs/tuning.md, "Shapes files"): one shape a line, `KERNEL: SYM=N,...`
   or, when the program has one kernel, `SYM=N,...`; `#` starts a comment. The lines of
   kernel k are added to l; other kernels' lines are checked to name a kernel of p, and
   lines naming a `program` are skipped.
   Errors are PATH:LINE:COL. With k NULL it only marks named[i] for each kernel of p a
   line names (no errors: each kernel's own pass reports them). Returns EXIT_OK or
   EXIT_INPUT. */
typedef struct ShapesReader {
    Arena *arena;
    const char *path;
    const Program *p;
    const TirKernel *k;
    ShapeList *l;
    bool *named;
} ShapesReader;

static int read_shapes_line(void *ctx, char *buf, int line)
{
    ShapesReader *r = ctx;
    const Program *p = r->p;
    const TirKernel *k = r->k;
    char *text = trim(buf), *colon = strchr(text, ':');
    char err[512] = "";
    int col = (int)(text - buf), at = 0;
    if (!*text)
        return EXIT_OK;
    if (colon) {
        *colon = 0;
        const char *name = trim(text);
        if (program_find_program(p, name))
            return EXIT_OK;   /* a program's shape: `tilec build --emit=buffers` reads it */
        bool known = false;
        for (int i = 0; i < p->nkernels; i++)
            if (strcmp(p->kernels[i]->name, name) == 0)
                known = r->named ? r->named[i] = true : true;
        if (!k)
            return EXIT_OK;
        if (known && strcmp(name, k->name) != 0)
            return EXIT_OK;   /* another kernel's shape */
        if (!known)
            snprintf(err, sizeof err, "no kernel named '%s' in the program", name);
        for (text = colon + 1; *text == ' ' || *text == '\t'; text++) {}
    } else if (!k) {
        return EXIT_OK;
    } else if (p->nkernels > 1) {
        snprintf(err, sizeof err, "the program has several kernels: start the line with "
                 "the kernel's name (%s: SYM=N,...)", k->name);
    }
    int64_t values[TUNE_MAX_SYMS] = {0};
    if (!*err && parse_shape(k, text, values, err, sizeof err, &at) != 0) {
        col = (int)(text - buf) + at;
    } else if (!*err) {
        int same = shape_find(r->l, k, values);
        if (same < 0) {
            shape_add(r->arena, r->l, values, line);
            return EXIT_OK;
        }
        snprintf(err, sizeof err, "the same shape as line %d", r->l->lines[same]);
        col = 0;
    }
    fprintf(stderr, "%s:%d:%d: error: %s\n", r->path, line, col + 1, err);
    return EXIT_INPUT;
}

static int read_shapes_file(Arena *arena, const char *path, const Program *p,
                            const TirKernel *k, ShapeList *l, bool *named)
{
    ShapesReader r = {arena, path, p, k, l, named};
    return shapes_file_each_line(path, read_shapes_line, &r);
}

/* The shapes of --shapes FILE, else of FILE's .shapes when no --shape is given, then each
   --shape not already among them. A --shape replaces the file beside the kernel (scripts
   that name their shapes tune exactly those), and adds to a --shapes file. */
static int collect_shapes(Arena *arena, const TuneRequest *req, const Program *p,
                          const TirKernel *k, ShapeList *l)
{
    if (k->nsyms > TUNE_MAX_SYMS) {
        fprintf(stderr, "tilec: error: kernel %s has %d shape symbols, the tuner takes at most "
                "%d\n", k->name, k->nsyms, TUNE_MAX_SYMS);
        return EXIT_INPUT;
    }
    char beside[4200];
    default_shapes_path(req->path, beside, sizeof beside);
    const char *file = req->shapes_path ? req->shapes_path :
                       req->nshapes == 0 && access(beside, F_OK) == 0 ? beside : NULL;
    if (file && read_shapes_file(arena, file, p, k, l, NULL) != EXIT_OK)
        return EXIT_INPUT;
    for (int s = 0; s < req->nshapes; s++) {
        int64_t values[TUNE_MAX_SYMS] = {0};
        char err[512];
        int col;
        if (parse_shape(k, req->shapes[s], values, err, sizeof err, &col) != 0) {
            fprintf(stderr, "tilec: error: --shape '%s': %s\n", req->shapes[s], err);
            return EXIT_USAGE;
        }
        if (shape_find(l, k, values) < 0)
            shape_add(arena, l, values, 0);
    }
    if (l->n == 0) {
        fprintf(stderr, "tilec: error: %s lists no shape of kernel %s\n", file, k->name);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

/* A stand-in for the GPU, for testing the command without one (TILEC_TUNE_SYNTHETIC=1):
   candidates "compile" to their Config and "run" in the child with a made-up time that
   favours 128x128 tiles, 8 warps and 3 stages. Never used otherwise. */
static int synthetic_compile(void *ctx, const Config *c, TuneArtifact *out, char *err, size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    memset(out, 0, sizeof *out);
    if (!(out->data = malloc(sizeof *c)))
        return -1;
    memcpy(out->data, c, sizeof *c);
    out->size = sizeof *c;
    return 0;
}

static TuneStatus synthetic_benchmark(void *ctx, const void *data, size_t size, double best_ms,
                                      BenchTiming *out, char *err, size_t errlen)
{
    (void)ctx;
    (void)best_ms;
    (void)err;
    (void)errlen;
    Config c;
    if (size != sizeof c)
        return TUNE_BENCH_FAILED;
    memcpy(&c, data, sizeof c);
    double t = 1;
    for (int i = 0; i < c.n; i++) {
        double v = (double)c.entries[i].value;
        TunableKind kind = TUNE_KIND_COUNT;
        knob_kind_of_name(c.entries[i].name, &kind);
        if (kind == TUNE_BLOCK)
            t += 0.1 * fabs(log2(v > 0 ? v : 1) - 7);
        else if (kind == TUNE_WARPS)
            t += 0.05 * fabs(v - 8) / 4;
        else if (kind == TUNE_STAGES)
            t += 0.03 * fabs(v - 3);
    }
    out->median_ms = out->min_ms = t;
    out->reps = 1;
    return TUNE_OK;
}

/* Where candidates are timed: the GPUs (their backend is made per shape, in tune_shapes),
   or the synthetic stand-in with TILEC_TUNE_SYNTHETIC=1 (TILEC_TUNE_SYNTHETIC_GPUS=N
   stand-ins, for --gpus). Resolves --gpus: GPUs that exist, of the first one's model
   (`all` leaves the others out with a note; a list naming another model is an error).
   Prints the error and returns its exit status. */
static int choose_gpus(const TuneRequest *req, GpuChoice *g)
{
    if (g->resolved)
        return g->status;
    g->resolved = true;
    const char *env = getenv("TILEC_TUNE_SYNTHETIC");
    g->synthetic = env && strcmp(env, "1") == 0;
    int count = 1;
    char why[384];
    if (g->synthetic) {
        g->info = (TuneGpuInfo){.name = "synthetic", .sm_count = 1};
        const char *n = getenv("TILEC_TUNE_SYNTHETIC_GPUS");
        count = n ? atoi(n) : 1;
        count = count < 1 ? 1 : count > MAX_GPUS ? MAX_GPUS : count;
    } else if (tune_gpu_probe_device(-1, &g->info, &count, why, sizeof why) != 0) {
        fprintf(stderr, "tilec: error: tilec tune times candidates on an NVIDIA GPU and found "
                "none (%s); `tilec tune --space` shows the search space without one\n", why);
        return g->status = EXIT_INPUT;
    }
    if (!req->gpus)
        return g->status = EXIT_OK;
    int list[MAX_GPUS], n = 0;
    bool all = strcmp(req->gpus, "all") == 0;
    if (all)
        for (n = 0; n < count && n < MAX_GPUS; n++)
            list[n] = n;
    else
        parse_gpu_list(req->gpus, list, &n);
    TuneGpuInfo first;
    memset(&first, 0, sizeof first);
    for (int i = 0; i < n; i++) {
        if (list[i] >= count) {
            fprintf(stderr, "tilec: error: --gpus %s: there is no GPU %d (the driver sees %d: "
                    "0 to %d)\n", req->gpus, list[i], count, count - 1);
            return g->status = EXIT_USAGE;
        }
        TuneGpuInfo info = g->info;
        if (!g->synthetic && tune_gpu_probe_device(list[i], &info, NULL, why, sizeof why) != 0) {
            fprintf(stderr, "tilec: %s: GPU %d: %s\n", all ? "note: leaving it out" : "error",
                    list[i], why);
            if (!all)
                return g->status = EXIT_INPUT;
            continue;
        }
        if (g->ndevices > 0 && (strcmp(info.name, first.name) != 0 ||
                                info.sm_count != first.sm_count)) {
            fprintf(stderr, "tilec: %s: GPU %d is %s (%d SMs) and GPU %d is %s (%d SMs): one "
                    "tune times its candidates on one GPU model%s\n",
                    all ? "note" : "error", list[i], info.name, info.sm_count, g->devices[0],
                    first.name, first.sm_count, all ? ", so it is left out" :
                    " (tune each model in its own run, or list GPUs of one model)");
            if (!all)
                return g->status = EXIT_USAGE;
            continue;
        }
        if (g->ndevices == 0)
            first = info;
        g->devices[g->ndevices++] = list[i];
    }
    if (g->ndevices == 0) {
        fprintf(stderr, "tilec: error: --gpus %s: no GPU could be used\n", req->gpus);
        return g->status = EXIT_INPUT;
    }
    g->info = first;
    return g->status = EXIT_OK;
}

/* "NVIDIA H100 80GB HBM3", or "2 x NVIDIA H100 80GB HBM3 (GPUs 0,1)". */
static void gpus_text(const GpuChoice *g, char *buf, size_t size)
{
    if (g->ndevices < 2) {
        snprintf(buf, size, "%s%s", g->info.name, g->ndevices == 1 ? " (GPU " : "");
        if (g->ndevices == 1)
            snprintf(buf + strlen(buf), size - strlen(buf), "%d)", g->devices[0]);
        return;
    }
    size_t len = (size_t)snprintf(buf, size, "%d x %s (GPUs ", g->ndevices, g->info.name);
    for (int i = 0; i < g->ndevices && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%d", i ? "," : "", g->devices[i]);
    if (len < size)
        snprintf(buf + len, size - len, ")");
}

/* " (pruning off: warps,registers)" for the rules --prune-off turned off; "" for none. */
static void prune_off_note(const TuneSpace *s, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (int r = 0; r < PRUNE_RULE_COUNT && len < size; r++)
        if (s->prune_off[r])
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : " (pruning off: ",
                                    tune_prune_rule_name((TunePruneRule)r));
    if (len && len < size)
        snprintf(buf + len, size - len, ")");
}

/* An identical re-run (every shape's key has an entry of the same space: see
   autotune_table_same_tune) prints the cached best per shape and measures nothing. Returns
   true when it answered. A cache that cannot be read is left to the store to report. */
static bool answer_from_cache(const char *dir, const TuneKey *keys, int n)
{
    char path[4200], err[512];
    autotune_cache_path(dir, path, sizeof path);
    TuneTable t;
    if (access(path, F_OK) != 0 || autotune_load_table(path, &t, err, sizeof err) != 0)
        return false;
    bool all = true;
    for (int s = 0; s < n && all; s++)
        all = autotune_table_same_tune(&t, &keys[s]) != NULL;
    for (int s = 0; s < n && all; s++) {
        const TuneCacheEntry *e = autotune_table_same_tune(&t, &keys[s]);
        char date[32] = "on an unknown date";
        if (e->tuned_at[0])
            snprintf(date, sizeof date, "%.10s", e->tuned_at);
        printf("kernel %s, shape %s: best %.4f ms", e->key.kernel, e->key.shape, e->time_ms);
        if (e->default_ms > 0)
            printf(" (default %.4f ms)", e->default_ms);
        printf(" %s\n  from the cache (tuned %s; --retune to measure again)\n", e->config, date);
    }
    autotune_table_free(&t);
    return all;
}

/* Tunes each shape's space, prints its table and caches its best. */
static int tune_shapes(const TuneRequest *req, TuneSpace *spaces, int nspaces,
                       uint64_t source_hash, const char *consts)
{
    GpuChoice *choice = req->gpu_choice;
    int chosen = choose_gpus(req, choice);
    if (chosen != EXIT_OK)
        return chosen;
    const TuneGpuInfo gpu = choice->info;
    bool synthetic = choice->synthetic;
    char err[512], dir[4096];
    if (autotune_cache_dir(dir, sizeof dir, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: %s\n", err);
        return EXIT_INPUT;
    }
    TuneKey *keys = calloc((size_t)nspaces, sizeof *keys);
    if (!keys) {
        fputs("tilec: error: out of memory\n", stderr);
        return EXIT_INPUT;
    }
    for (int s = 0; s < nspaces; s++)
        tune_key_make(&keys[s], &spaces[s], source_hash, consts, req->align, &gpu);
    if (!req->retune && answer_from_cache(dir, keys, nspaces)) {
        free(keys);
        return EXIT_OK;
    }
    int status = EXIT_OK;
    for (int s = 0; s < nspaces && status == EXIT_OK; s++) {
        TuneSpace *space = &spaces[s];
        const TuneKey *key = &keys[s];
        TuneBackend backend = {.compile = synthetic_compile,
                               .child_benchmark = synthetic_benchmark};
        TuneGpuBackend *gpu_backend = NULL;
        if (!synthetic && !(gpu_backend = tune_gpu_backend_new(space, req->sets, req->nsets, 0,
                                                               req->align, &backend, err,
                                                               sizeof err))) {
            fprintf(stderr, "tilec: error: %s\n", err);
            free(keys);
            return EXIT_USAGE;
        }
        TunePruneCounts counts;
        tune_space_count(space, &counts);
        SearchStrategy strategy = req->strategy_given ? req->strategy :
                                  counts.survivors <= 64 ? SEARCH_EXHAUSTIVE : SEARCH_PATTERN;
        TuneOptions o = {.search = {.strategy = strategy, .seed = req->seed,
                                    .max_evals = req->max_evals, .budget_s = req->budget_s},
                         .compile_threads = req->jobs, .handle_sigint = true,
                         .progress = true, .out = stderr,
                         .flops = estimate_flops(&space->shape),
                         .devices = choice->ndevices ? choice->devices : NULL,
                         .ndevices = choice->ndevices,
                         .peak_tflops = tune_gpu_peak_tflops(
                             gpu.name, estimate_dot_dtype(space->shape.kernel))};
        char off[128];
        prune_off_note(space, off, sizeof off);
        char where[400];
        gpus_text(choice, where, sizeof where);
        printf("kernel %s, shape %s: %llu of %llu points survive pruning%s; %s search on %s\n",
               space->shape.kernel->name, key->shape, (unsigned long long)counts.survivors,
               (unsigned long long)counts.total, off, search_strategy_name(strategy), where);
        if (gpu_backend)
            printf("  %s\n", tune_gpu_backend_summary(gpu_backend));
        fflush(stdout);
        TuneResult r;
        int ran = tune_run(space, &backend, &o, &r);
        tune_gpu_backend_free(gpu_backend);
        if (ran != 0) {
            fprintf(stderr, "tilec: error: %s\n", r.error);
            tune_result_free(&r);
            free(keys);
            return EXIT_INPUT;
        }
        tune_print_table(stdout, space, &o, &r);
        if (tune_store_best(dir, key, space, &r, strategy, stderr, err, sizeof err) != 0)
            fprintf(stderr, "tilec: warning: the best config was not cached: %s\n", err);
        else if (r.found) {
            char cache[4200];
            autotune_cache_path(dir, cache, sizeof cache);
            printf("cached in %s\n", cache);
        }
        if (r.interrupted)
            status = 130;   /* like a shell after Ctrl-C, once the best so far is kept */
        tune_result_free(&r);
    }
    free(keys);
    return status;
}

/* Lowers kernel k for its const values, builds the space of each of its shapes, and prints
   them (--space) or tunes them. */
static int tune_kernel(Arena *arena, Diag *diag, const TuneRequest *req, const Program *p,
                       const Kernel *k)
{
    int64_t *consts = arena_alloc(arena, sizeof(int64_t) * (size_t)(k->nparams + 1));
    if (parse_consts(k, req->consts, consts) != 0)
        return EXIT_USAGE;
    TirKernel *tk;
    Config defaults;
    int status = pipeline_kernel(arena, diag, k, consts, NULL, NULL, &tk, &defaults);
    if (status != EXIT_OK)
        return status;
    ShapeList shapes = {0};
    if ((status = collect_shapes(arena, req, p, tk, &shapes)) != EXIT_OK)
        return status;
    TuneSpace *spaces = arena_alloc(arena, sizeof *spaces * (size_t)shapes.n);
    for (int s = 0; s < shapes.n; s++) {
        char err[512];
        if (tune_space_init(&spaces[s], tk, shapes.values[s], err, sizeof err) != 0) {
            fprintf(stderr, "tilec: error: %s\n", err);
            return EXIT_INPUT;
        }
        for (int i = 0; i < req->nspace_sets; i++)
            if (tune_space_narrow(&spaces[s], req->space_sets[i], err, sizeof err) != 0) {
                fprintf(stderr, "tilec: error: %s\n", err);
                return EXIT_USAGE;
            }
        memcpy(spaces[s].prune_off, req->prune_off, sizeof spaces[s].prune_off);
    }
    if (req->shard && req->shard->collecting) {
        for (int s = 0; s < shapes.n; s++) {
            char name[512], *copy;
            case_name(req, &spaces[s], name, sizeof name);
            if (!(copy = strdup(name)) || !push(&req->shard->names, &req->shard->n, copy)) {
                free(copy);
                fputs("tilec: error: out of memory\n", stderr);
                return EXIT_INPUT;
            }
        }
        return EXIT_OK;
    }
    int owned = 0;
    for (int s = 0; s < shapes.n; s++)
        if (shard_owns(req, &spaces[s]))
            spaces[owned++] = spaces[s];
    if (owned == 0) {
        printf("kernel %s: none of its %d shape%s is in shard %d/%d\n", tk->name, shapes.n,
               shapes.n == 1 ? "" : "s", req->shard_index, req->shard_count);
        return EXIT_OK;
    }
    shapes.n = owned;
    if (req->print_space) {
        for (int s = 0; s < shapes.n; s++) {
            if (s)
                putchar('\n');
            tune_space_print(stdout, &spaces[s], req->list_all ? 0 : 40);
        }
        return EXIT_OK;
    }
    char consts_text[256];
    bundle_const_key(k, consts, consts_text, sizeof consts_text);
    return tune_shapes(req, spaces, shapes.n, program_source_hash(p), consts_text);
}

/* Which kernels to tune: --kernel's, the only one, or (a file of several kernels, no
   --kernel, shapes from a file) each kernel the shapes file names, in program order. */
static int run_tune(const TuneRequest *req)
{
    Arena arena = {0};
    Diag diag = {.out = stderr};
    Program *p;
    int status = EXIT_OK;
    if (front_end(&arena, &diag, req->path, target_lookup("sm_90a"), &p)) {
        arena_free(&arena);
        return EXIT_INPUT;
    }
    bool *named = arena_alloc(&arena, sizeof *named * (size_t)(p->nkernels + 1));
    int nnamed = 0;
    char beside[4200];
    default_shapes_path(req->path, beside, sizeof beside);
    const char *file = req->shapes_path ? req->shapes_path : beside;
    if (!req->kernel && p->nkernels > 1 && req->nshapes == 0 &&
        (status = read_shapes_file(&arena, file, p, NULL, NULL, named)) != EXIT_OK) {
        arena_free(&arena);
        return status;
    }
    for (int i = 0; i < p->nkernels; i++)
        nnamed += named[i];
    if (nnamed == 0) {
        const Kernel *k = choose_kernel(p, req->kernel);
        status = k ? tune_kernel(&arena, &diag, req, p, k) : EXIT_USAGE;
    }
    for (int i = 0, done = 0; i < p->nkernels && nnamed > 0 && status == EXIT_OK; i++) {
        if (!named[i])
            continue;
        if (done++ && req->print_space)
            putchar('\n');
        status = tune_kernel(&arena, &diag, req, p, p->kernels[i]);
    }
    arena_free(&arena);
    return status;
}

int cmd_tune(int argc, char **argv)
{
    GpuChoice gpus = {0};
    TuneRequest req = {.gpu_choice = &gpus};
    int status = parse_args(argc, argv, &req);
    if (status == -1)
        status = EXIT_OK;
    else if (status == EXIT_OK && req.export_path)
        status = export_entries(&req);
    ShardCases shard = {.collecting = true};
    if (status == EXIT_OK && req.shard_count > 0 && !req.export_path) {
        req.shard = &shard;
        for (int i = 0; status == EXIT_OK && i < req.npaths; i++) {
            req.path = req.paths[i];
            status = run_tune(&req);
        }
        qsort(shard.names, (size_t)shard.n, sizeof *shard.names, compare_names);
        shard.collecting = false;
    }
    for (int i = 0; status == EXIT_OK && !req.export_path && i < req.npaths; i++) {
        req.path = req.paths[i];
        status = run_tune(&req);
    }
    for (int i = 0; i < shard.n; i++)
        free(shard.names[i]);
    free(shard.names);
    free(req.shapes);
    free(req.sets);
    free(req.space_sets);
    return status;
}
