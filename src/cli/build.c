/* build.c — `tilec build`: runs the front end, then prints the requested stage. Bundles
   (PTX + launchers) come with codegen and the runtime. */
#include <string.h>

#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

typedef struct ConstTaker {
    const Kernel *k;
    int64_t *const_values;
    bool *given;             /* per parameter index */
} ConstTaker;

static int take_const(void *ctx, const char *name, const char *value)
{
    ConstTaker *t = ctx;
    for (int i = 0; i < t->k->nparams; i++) {
        const Param *param = t->k->params[i];
        if (param->kind != PARAM_CONST || strcmp(param->name, name) != 0)
            continue;
        if (t->given[i]) {
            fprintf(stderr, "tilec: error: --config: const %s is given twice (one value per "
                    "lowering)\n", name);
            return -1;
        }
        t->given[i] = true;
        return parse_const_value(param, value, &t->const_values[param->index]) ? -1 : 1;
    }
    return 0;
}

/* Splits --config text into const-parameter values (causal=true, split=2), which pick
   what is lowered, and the rest (tunables), which go to config_parse. Returns 0, or -1
   after printing a message. */
static int split_config(const Kernel *k, const char *text, int64_t *const_values,
                        Config *tunables)
{
    char rest[4096], err[512];
    bool *given = calloc((size_t)k->nparams + 1, sizeof *given);
    if (!given) {
        fputs("tilec: error: out of memory\n", stderr);
        return -1;
    }
    ConstTaker taker = {k, const_values, given};
    int status = config_split(text, take_const, &taker, rest, sizeof rest);
    free(given);
    if (status != 0)
        return -1;
    if (config_parse(rest, tunables, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: --config: %s\n", err);
        return -1;
    }
    return 0;
}

/* Runs the pipeline on one kernel for the const values in `config` (each const's first
   declared value when not given; the rest of `config` binds tunables). NULL after
   reporting; *status says whether the command line (EXIT_USAGE) or the input (EXIT_INPUT)
   was at fault. */
static TirKernel *lower_with_config(Arena *arena, Diag *diag, const Kernel *k,
                                    const char *config, Config *resolved, int *status)
{
    int64_t *const_values = arena_alloc(arena, sizeof(int64_t) * (size_t)(k->nparams + 1));
    for (int i = 0; i < k->nparams; i++)
        if (k->params[i]->kind == PARAM_CONST && k->params[i]->nconst_values > 0)
            const_values[i] = k->params[i]->const_values[0];
    Config user = {0};
    if (split_config(k, config, const_values, &user) != 0) {
        *status = EXIT_USAGE;
        return NULL;
    }
    TirKernel *tk;
    *status = pipeline_kernel(arena, diag, k, const_values, &user, NULL, &tk, resolved);
    return tk;
}

typedef struct VariantTaker {
    const Kernel *k;
    int64_t *full_sizes;
    AlignClass *align;
    bool align_given;
} VariantTaker;

static int take_variant(void *ctx, const char *name, const char *value)
{
    VariantTaker *t = ctx;
    if (strcmp(name, "align") == 0) {
        if (t->align_given) {
            fputs("tilec: error: --config: align is given twice\n", stderr);
            return -1;
        }
        t->align_given = true;
        for (int c = 0; c < ALIGN_CLASS_COUNT; c++)
            if (strcmp(value, align_class_name((AlignClass)c)) == 0) {
                *t->align = (AlignClass)c;
                return 1;
            }
        fprintf(stderr, "tilec: error: --config align=%s: expected vec16, unit or any\n", value);
        return -1;
    }
    for (int i = 0; i < t->k->nsyms; i++)
        if (t->k->syms[i]->is_full && strcmp(t->k->syms[i]->name, name) == 0) {
            if (t->full_sizes[i]) {
                fprintf(stderr, "tilec: error: --config: %s is given twice; --emit compiles one "
                        "size (%s=%lld), a bundle several from one entry (%s=%lld|%s)\n", name,
                        name, (long long)t->full_sizes[i], name, (long long)t->full_sizes[i], value);
                return -1;
            }
            char *end = NULL;
            long long v = strtoll(value, &end, 10);
            if (!end || *end || v <= 0 || v > TIR_MAX_FULL_AXIS) {
                fprintf(stderr, "tilec: error: --config %s=%s: expected a size from 1 to %d\n",
                        name, value, TIR_MAX_FULL_AXIS);
                return -1;
            }
            t->full_sizes[i] = v;
            return 1;
        }
    return 0;
}

/* Refuses an entry that lists several values (`BLOCK_M=32|64`): --emit compiles one variant. */
static int refuse_list(void *ctx, const char *name, const char *value)
{
    const Kernel *k = ctx;
    const char *kind = strcmp(name, "align") == 0 ? "align class" : "tunable";
    for (int i = 0; i < k->nparams; i++)
        if (k->params[i]->kind == PARAM_CONST && strcmp(k->params[i]->name, name) == 0)
            kind = "const";
    for (int i = 0; i < k->nsyms; i++)
        if (k->syms[i]->is_full && strcmp(k->syms[i]->name, name) == 0)
            kind = "full axis";
    char err[512];
    if (!config_value_is_list(kind, "--emit", name, value, strlen(value), err, sizeof err))
        return 0;
    fprintf(stderr, "tilec: error: --config: %s\n", err);
    return -1;
}

/* --emit=ir|schedule|llvm|ptx: pulls the codegen-only entries out of --config text —
   full-axis sizes (`D=64`) and the alignment class (`align=vec16|unit|any`) — leaving the
   rest (const values and tunables) in `rest`. Returns 0, or -1 after printing a message
   (a list of values is one: a stage is one variant). */
static int split_variant(const Kernel *k, const char *text, char *rest, size_t restlen,
                         int64_t *full_sizes, AlignClass *align)
{
    if (config_split(text, refuse_list, (void *)k, rest, restlen) != 0)
        return -1;
    VariantTaker taker = {k, full_sizes, align, false};
    return config_split(text, take_variant, &taker, rest, restlen);
}

/* One kernel lowered for --emit: full-axis sizes (per kernel symbol, 0 when not given) and
   the align class out of --config, the rest resolved against its tunables. NULL after
   reporting, *status saying whose fault. */
static TirKernel *lower_for_emit(Arena *arena, Diag *diag, const Kernel *k, const char *config,
                                 int64_t **full_sizes, AlignClass *align, Config *resolved,
                                 int *status)
{
    *full_sizes = arena_alloc(arena, sizeof **full_sizes * (size_t)(k->nsyms + 1));
    memset(*full_sizes, 0, sizeof **full_sizes * (size_t)(k->nsyms + 1));
    *align = ALIGN_VEC16;
    char rest[4096];
    if (split_variant(k, config, rest, sizeof rest, *full_sizes, align) != 0) {
        *status = EXIT_USAGE;
        return NULL;
    }
    return lower_with_config(arena, diag, k, rest, resolved, status);
}

/* --emit=ir: the kernel's TIR after the pass pipeline. Full-axis sizes and the align class
   are taken (as the later stages take them) and unused: TIR keeps full axes symbolic. */
static int emit_ir(FILE *out, Arena *arena, Diag *diag, const Kernel *k, const char *config)
{
    int64_t *full_sizes;
    AlignClass align;
    Config resolved;
    int status;
    TirKernel *tk = lower_for_emit(arena, diag, k, config, &full_sizes, &align, &resolved,
                                   &status);
    if (tk)
        tir_print(out, tk);
    return status;
}

/* Lowers one kernel and compiles its variant (the resolved --config, full-axis sizes from
   --config, align class vec16 unless given) to its Schedule, LLVM IR or PTX. */
static int emit_code(FILE *out, Arena *arena, Diag *diag, const Kernel *k, const char *config,
                     const Target *target, EmitStage stage)
{
    if (k->nsyms > VARIANT_MAX_SYMS) {
        fprintf(stderr, "tilec: error: kernel %s has %d shape symbols; codegen handles at most %d\n",
                k->name, k->nsyms, VARIANT_MAX_SYMS);
        return EXIT_INPUT;
    }
    int64_t *full_sizes;
    AlignClass align;
    Config resolved;
    int status;
    TirKernel *tk = lower_for_emit(arena, diag, k, config, &full_sizes, &align, &resolved,
                                   &status);
    if (!tk)
        return status;
    char err[1024];
    Variant v = {.config = &resolved, .align = align};
    int missing = 0;
    for (int i = 0; i < tk->nsyms; i++) {
        if (!tk->syms[i].is_full)
            continue;
        const ShapeSym *sym = NULL;
        for (int j = 0; j < k->nsyms; j++)
            if (strcmp(k->syms[j]->name, tk->syms[i].name) == 0) {
                sym = k->syms[j];
                v.full_sizes[i] = full_sizes[j];
            }
        if (v.full_sizes[i] <= 0 && sym && sym->nsizes) {
            /* `const D in {...}`: the first listed size; one variant is printed */
            v.full_sizes[i] = sym->sizes[0];
            if (sym->nsizes > 1)
                fprintf(stderr, "tilec: note: kernel %s: %s=%lld, the first of its listed sizes "
                        "(--config %s=N for another)\n", k->name, sym->name,
                        (long long)sym->sizes[0], sym->name);
        }
        if (v.full_sizes[i] <= 0) {
            fprintf(stderr, "tilec: error: kernel %s takes full axis %s whole: give its size "
                            "in --config (e.g. --config %s=64) or list its sizes in the kernel "
                            "(`const %s in {64, 128}`)\n", k->name, tk->syms[i].name,
                    tk->syms[i].name, tk->syms[i].name);
            missing++;
        }
    }
    if (missing)
        return EXIT_USAGE;
    if (stage == EMIT_SCHEDULE) {
        Schedule s;
        if (schedule_build(arena, tk, &v, target, &s, err, sizeof err) != 0) {
            fprintf(stderr, "tilec: error: kernel %s: %s\n", k->name, err);
            return EXIT_INPUT;
        }
        schedule_print(out, &s);
        return EXIT_OK;
    }
    CompiledKernel ck;
    bool llvm = stage == EMIT_LLVM;
    if (codegen_compile(arena, tk, &v, target, llvm, &ck, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: kernel %s: %s\n", k->name, err);
        return EXIT_INPUT;
    }
    fputs(llvm ? ck.llvm_ir : ck.ptx, out);
    return EXIT_OK;
}

/* The tuned entries found so far, with each one's time for choosing between duplicates. */
typedef struct TunedSet {
    BundleTuned *items;
    double *time_ms;
    int n, cap;
} TunedSet;

static bool tuned_key_equal(const BundleTuned *x, const TuneCacheEntry *e)
{
    return strcmp(x->kernel, e->key.kernel) == 0 && strcmp(x->gpu, e->key.gpu) == 0 &&
           strcmp(x->consts, e->key.consts) == 0 && strcmp(x->align, e->key.align) == 0 &&
           strcmp(x->shape, e->key.shape) == 0;
}

/* Adds a table's entries for the kernels being built whose source hash is this program's.
   A GPU name keys the dispatch table, so entries that differ only in SM count or driver
   (one GPU model under several drivers) collapse to the fastest. */
static void tuned_add_table(Arena *a, const BuildRequest *req, const Program *p,
                            uint64_t source_hash, const char *what, const TuneTable *t,
                            bool quiet, TunedSet *set)
{
    char ours[24];
    snprintf(ours, sizeof ours, "%016llx", (unsigned long long)source_hash);
    if (t->ignored_other_version && !quiet)
        fprintf(stderr, "tilec: note: %s: ignored %d entr%s written by another tilec version "
                "(this is %s)\n", what, t->ignored_other_version,
                t->ignored_other_version == 1 ? "y" : "ies", TILEC_VERSION);
    for (int ki = 0; ki < p->nkernels; ki++) {
        const char *kernel = p->kernels[ki]->name;
        if (req->kernel && strcmp(req->kernel, kernel) != 0)
            continue;
        int stale = 0, used = 0;
        const char *stale_hash = "";
        for (int i = 0; i < t->n; i++) {
            const TuneCacheEntry *e = &t->entries[i];
            if (strcmp(e->key.kernel, kernel) != 0)
                continue;
            if (strcmp(e->key.source_hash, ours) != 0) {
                stale++;
                stale_hash = e->key.source_hash;
                continue;
            }
            used++;
            int at = 0;
            while (at < set->n && !tuned_key_equal(&set->items[at], e))
                at++;
            if (at < set->n) {
                if (e->time_ms > 0 && (set->time_ms[at] <= 0 || e->time_ms < set->time_ms[at])) {
                    set->items[at].config = arena_strdup(a, e->config);
                    set->time_ms[at] = e->time_ms;
                }
                continue;
            }
            if (set->n == set->cap) {
                int cap = set->cap ? 2 * set->cap : 16;
                BundleTuned *items = arena_alloc(a, sizeof *items * (size_t)cap);
                double *times = arena_alloc(a, sizeof *times * (size_t)cap);
                if (set->n) {
                    memcpy(items, set->items, sizeof *items * (size_t)set->n);
                    memcpy(times, set->time_ms, sizeof *times * (size_t)set->n);
                }
                set->items = items;
                set->time_ms = times;
                set->cap = cap;
            }
            set->items[set->n] = (BundleTuned){
                .kernel = arena_strdup(a, e->key.kernel), .gpu = arena_strdup(a, e->key.gpu),
                .consts = arena_strdup(a, e->key.consts), .align = arena_strdup(a, e->key.align),
                .shape = arena_strdup(a, e->key.shape), .config = arena_strdup(a, e->config)};
            set->time_ms[set->n++] = e->time_ms;
        }
        if (stale && !quiet)
            fprintf(stderr, "tilec: note: %s: ignored %d entr%s of kernel %s tuned for another "
                    "version of its source (source hash %s; this source is %s)\n", what, stale,
                    stale == 1 ? "y" : "ies", kernel, stale_hash, ours);
        if (!used && !quiet)
            fprintf(stderr, "tilec: note: %s: no tuned config for kernel %s of this source; "
                    "it gets the default dispatch entries only\n", what, kernel);
    }
}

/* The tune cache's path, or NULL after printing why there is none. */
static const char *tune_cache_path(Arena *a, const char *what)
{
    char dir[4096], path[4200], err[1024];
    if (autotune_cache_dir(dir, sizeof dir, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: %s: %s\n", what, err);
        return NULL;
    }
    autotune_cache_path(dir, path, sizeof path);
    return arena_strdup(a, path);
}

/* Whether a bundle build reads the tune cache: --tuned, or by default (quietly: one note
   when it has entries for this source) unless --no-tuned or --tuned-from is given. */
static bool reads_cache_quietly(const BuildRequest *req)
{
    return !req->tuned && !req->tuned_from && !req->no_tuned;
}

/* The tuned entries for build_bundle: --tuned and --tuned-from FILE, or the cache by
   default. Returns EXIT_OK, or an exit code after printing why (a malformed or missing
   table asked for is an input error; a malformed cache read by default is a warning). */
static int load_tuned(const BuildRequest *req, const Program *p, Arena *a, BundleTuned **out,
                      int *nout)
{
    TunedSet set = {NULL, NULL, 0, 0};
    uint64_t source_hash = program_source_hash(p);
    char err[1024];
    bool quiet = reads_cache_quietly(req);
    if (req->tuned || quiet) {
        const char *path = tune_cache_path(a, quiet ? "warning: the tune cache" : "error: --tuned");
        TuneTable t;
        if (!path) {
            if (!quiet)
                return EXIT_INPUT;
        } else if (access(path, F_OK) != 0) {
            if (!quiet)
                fprintf(stderr, "tilec: note: --tuned: no tune cache at %s; the bundle gets "
                        "the default dispatch entries only\n", path);
        } else if (autotune_load_table(path, &t, err, sizeof err) != 0) {
            fprintf(stderr, "tilec: %s: the tune cache %s\n",
                    quiet ? "warning: left out" : "error: --tuned", err);
            if (!quiet)
                return EXIT_INPUT;
        } else {
            tuned_add_table(a, req, p, source_hash, path, &t, quiet, &set);
            autotune_table_free(&t);
            if (quiet && set.n)
                fprintf(stderr, "tilec: note: %d tuned config%s from the tune cache (%s); "
                        "--no-tuned leaves them out\n", set.n, set.n == 1 ? "" : "s", path);
        }
    }
    if (req->tuned_from) {
        TuneTable t;
        if (autotune_load_table(req->tuned_from, &t, err, sizeof err) != 0) {
            fprintf(stderr, "tilec: error: --tuned-from %s\n", err);
            return EXIT_INPUT;
        }
        tuned_add_table(a, req, p, source_hash, req->tuned_from, &t, false, &set);
        autotune_table_free(&t);
    }
    *out = set.items;
    *nout = set.n;
    return EXIT_OK;
}

/* Refuses the output (and a bundle's header) when it names one of the build's inputs: the
   source files, the --tuned-from table, or the tune cache the build reads. */
static int refuse_outputs_onto_inputs(const BuildRequest *req, const char *output,
                                      const Program *p, Arena *a)
{
    char dir[4096], err[512], cache[4200] = "";
    if (req->emit == EMIT_NONE && (req->tuned || reads_cache_quietly(req)) &&
        autotune_cache_dir(dir, sizeof dir, err, sizeof err) == 0)
        autotune_cache_path(dir, cache, sizeof cache);
    const char *extra[] = {req->tuned_from, cache[0] ? cache : NULL};
    int status = refuse_output_onto_input(output, p, extra, 2);
    if (status == EXIT_OK && req->emit == EMIT_NONE && output)
        status = refuse_output_onto_input(bundle_header_path(a, output), p, extra, 2);
    return status;
}

/* --emit=STAGE: every kernel asked for, to -o or standard output. */
static int emit_stage(const BuildRequest *req, const Program *p, Arena *arena, Diag *diag)
{
    char err[8400];
    int status = EXIT_OK;
    /* LLVM IR and PTX are one module per kernel, and two modules in one file are text
       neither llvm-as nor ptxas takes: with several kernels, one must be named */
    if ((req->emit == EMIT_LLVM || req->emit == EMIT_PTX) && !req->kernel && p->nkernels > 1) {
        fprintf(stderr, "tilec: error: --emit=%s writes one kernel's module and the file holds "
                "%d kernels: name one with --kernel (", req->emit == EMIT_PTX ? "ptx" : "llvm",
                p->nkernels);
        for (int i = 0; i < p->nkernels; i++)
            fprintf(stderr, "%s%s", i ? ", " : "", p->kernels[i]->name);
        fputs(")\n", stderr);
        return EXIT_USAGE;
    }
    OutFile *out = outfile_open(req->output, err, sizeof err);
    if (!out) {
        fprintf(stderr, "tilec: error: %s\n", err);
        return EXIT_INPUT;
    }
    if (req->emit == EMIT_AST)
        ast_print(out->f, p, req->kernel ? req->kernel : req->program);
    if (req->emit == EMIT_BUFFERS)
        status = program_emit_buffers(out->f, arena, p, req->path, req->program, &req->shapes);
    for (int i = 0; i < p->nkernels && status == EXIT_OK && req->emit != EMIT_AST &&
                    req->emit != EMIT_BUFFERS; i++) {
        const Kernel *k = p->kernels[i];
        if (req->kernel && strcmp(req->kernel, k->name) != 0)
            continue;
        if (req->emit == EMIT_IR)
            status = emit_ir(out->f, arena, diag, k, req->config);
        else
            status = emit_code(out->f, arena, diag, k, req->config,
                               req->ntargets ? req->targets[0] : target_lookup("sm_90a"),
                               req->emit);
    }
    if (status != EXIT_OK) {
        outfile_discard(out);   /* a file keeps what it held; standard output gets what came */
        return status;
    }
    if (outfile_commit(out, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: %s\n", err);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

/* A bundle's default name: the source file's stem in the current folder
   (examples/attention.tile -> attention.tbn, beside attention.h). */
static const char *default_bundle_path(Arena *a, const char *source)
{
    const char *base = strrchr(source, '/');
    base = base ? base + 1 : source;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".tile") == 0)
        n -= 5;
    return arena_printf(a, "%.*s.tbn", (int)n, base);
}

/* The targets of a bundle: --target's, each of which must take every kernel; by default
   sm_90a and sm_80, where a kernel sm_80 cannot run (fp8) gets sm_90a's variants only. */
static int bundle_targets(const BuildRequest *req, Program *primary, Arena *a, Diag *d,
                          BundleTarget *out, int *nout)
{
    int n = 0;
    out[n++] = (BundleTarget){req->ntargets ? req->targets[0] : target_lookup("sm_90a"), primary};
    for (int i = 1; i < req->ntargets; i++) {
        Program *p;
        if (front_end(a, d, req->path, req->targets[i], &p))
            return EXIT_INPUT;
        out[n++] = (BundleTarget){req->targets[i], p};
    }
    if (!req->ntargets) {
        const Target *older = target_lookup("sm_80");
        Diag quiet = {.out = NULL};
        Program *p;
        front_end(a, &quiet, req->path, older, &p);
        if (!p || p->nkernels != primary->nkernels)
            return EXIT_INPUT;   /* cannot happen: the same source checked a moment ago */
        int left_out = 0;
        bool all_fp8 = true;
        for (int k = 0; k < p->nkernels; k++) {
            const Kernel *kk = p->kernels[k];
            if (kk->checked || (req->kernel && strcmp(req->kernel, kk->name) != 0))
                continue;
            if (!left_out++)
                fprintf(stderr, "tilec: note: %s only: ", out[0].target->name);
            fprintf(stderr, "%s%s", left_out > 1 ? ", " : "", kk->name);
            all_fp8 &= kk->uses_fp8;
        }
        if (left_out)
            fprintf(stderr, " (%s; `tilec check --target %s` shows where)\n",
                    all_fp8 ? "fp8 needs sm_89 or newer" : "they do not check for sm_80",
                    older->name);
        out[n++] = (BundleTarget){older, p};
    }
    *nout = n;
    return EXIT_OK;
}

/* EMIT_NONE: `tilec build FILE [-o NAME.tbn]`. */
static int build_bundle(const BuildRequest *req, const char *output, Program *p,
                        const BundleTuned *tuned, int ntuned, Arena *a, Diag *d)
{
    if (strcmp(output, "-") == 0) {
        fputs("tilec: error: build writes a bundle and its header, not standard output: give "
              "-o NAME.tbn (or --emit=STAGE to print a stage)\n", stderr);
        return EXIT_USAGE;
    }
    BundleTarget targets[BUILD_MAX_TARGETS];
    int ntargets;
    int status = bundle_targets(req, p, a, d, targets, &ntargets);
    if (status != EXIT_OK)
        return status;
    BundleOptions o = {.path = output, .kernel = req->kernel, .config = req->config,
                       .targets = targets, .ntargets = ntargets, .tuned = tuned,
                       .ntuned = ntuned, .max_variants = req->max_variants};
    status = bundle_write_program(a, d, &o);
    if (status == EXIT_OK && !req->output)
        fprintf(stderr, "tilec: wrote %s and %s\n", output, bundle_header_path(a, output));
    return status;
}

int run_build(const BuildRequest *req)
{
    Arena arena = {0};
    Diag diag = {.out = stderr};
    Program *p;
    int status = EXIT_OK;
    const Target *primary = req->ntargets ? req->targets[0] : target_lookup("sm_90a");
    const char *output = req->output;
    if (front_end(&arena, &diag, req->path, primary, &p)) {
        status = EXIT_INPUT;
        goto done;
    }
    if (req->kernel && !choose_kernel(p, req->kernel)) {
        status = EXIT_USAGE;
        goto done;
    }
    if (req->program && !program_find_program(p, req->program)) {
        fprintf(stderr, "tilec: error: no program named '%s'\n", req->program);
        status = EXIT_USAGE;
        goto done;
    }
    if (req->emit == EMIT_NONE && !output)
        output = default_bundle_path(&arena, req->path);
    if ((status = refuse_outputs_onto_inputs(req, output, p, &arena)) != EXIT_OK)
        goto done;
    if (req->emit != EMIT_NONE) {
        status = emit_stage(req, p, &arena, &diag);
        goto done;
    }
    BundleTuned *tuned = NULL;
    int ntuned = 0;
    status = load_tuned(req, p, &arena, &tuned, &ntuned);
    if (status == EXIT_OK)
        status = build_bundle(req, output, p, tuned, ntuned, &arena, &diag);
done:
    arena_free(&arena);
    return status;
}
