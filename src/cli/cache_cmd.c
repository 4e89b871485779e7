/* cache_cmd.c — `tilec cache list | show KERNEL | clear [KERNEL] | merge OUT TABLE...`: what
   the tune cache holds, removing it, and joining the partial tables of `tilec tune --shard`. A thin command over autotune/cache.c (the same file, the same
   lock and atomic rewrite as `tilec tune`); docs/tuning.md describes the cache. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *const usage_cache =
    "usage: tilec cache list\n"
    "       tilec cache show KERNEL\n"
    "       tilec cache clear [KERNEL]\n"
    "       tilec cache merge OUT TABLE...\n"
    "\n"
    "The tune cache: the best config `tilec tune` found per kernel, shape and GPU, in\n"
    "tune-cache.json under $TILEC_CACHE_DIR, $XDG_CACHE_HOME/tilec or ~/.cache/tilec.\n"
    "\n"
    "  list           one line per entry: kernel, shape, GPU, config, time, date, source\n"
    "  show KERNEL    the kernel's entries in full\n"
    "  clear [KERNEL] remove every entry, or the kernel's\n"
    "  merge OUT TABLE...\n"
    "                 write the entries of the tables (caches of `tilec tune --shard`\n"
    "                 runs, exported tables) to OUT; of two entries with the same\n"
    "                 kernel, shape, GPU and source the faster wins (reported)\n";

/* The cache's table (this tilec version's entries), or -1 after an error naming the file.
   A cache not there yet is an empty table. */
static int load_cache(char *path, size_t size, TuneTable *t)
{
    char dir[4096], err[4600];
    if (autotune_cache_dir(dir, sizeof dir, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: %s\n", err);
        return -1;
    }
    autotune_cache_path(dir, path, size);
    memset(t, 0, sizeof *t);
    if (access(path, F_OK) != 0)
        return 0;
    if (autotune_load_table(path, t, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: the tune cache is unreadable: %s\n", err);
        return -1;
    }
    return 0;
}

static const char *date_of(const TuneCacheEntry *e, char *buf, size_t size)
{
    snprintf(buf, size, "%.10s", e->tuned_at[0] ? e->tuned_at : "-");
    return buf;
}

static void other_versions_note(const TuneTable *t)
{
    if (t->ignored_other_version)
        printf("(%d entr%s of other tilec versions not shown)\n", t->ignored_other_version,
               t->ignored_other_version == 1 ? "y" : "ies");
}

static int cache_list(void)
{
    char path[4200], date[16];
    TuneTable t;
    if (load_cache(path, sizeof path, &t) != 0)
        return EXIT_INPUT;
    if (t.n == 0)
        printf("the tune cache %s has no entries\n", path);
    for (int i = 0; i < t.n; i++) {
        const TuneCacheEntry *e = &t.entries[i];
        printf("%s  %s%s%s  %s  %s  %.4f ms  %s  %.7s\n", e->key.kernel, e->key.shape,
               e->key.consts[0] ? " " : "", e->key.consts, e->key.gpu, e->config, e->time_ms,
               date_of(e, date, sizeof date), e->key.source_hash);
    }
    other_versions_note(&t);
    autotune_table_free(&t);
    return EXIT_OK;
}

static int cache_show(const char *kernel)
{
    char path[4200];
    TuneTable t;
    if (load_cache(path, sizeof path, &t) != 0)
        return EXIT_INPUT;
    int shown = 0;
    for (int i = 0; i < t.n; i++) {
        const TuneCacheEntry *e = &t.entries[i];
        const TuneKey *k = &e->key;
        if (strcmp(k->kernel, kernel) != 0)
            continue;
        printf("%skernel %s, shape %s\n", shown++ ? "\n" : "", k->kernel, k->shape);
        printf("  config       %s\n", e->config);
        printf("  time         %.4f ms (default %.4f ms)\n", e->time_ms, e->default_ms);
        printf("  gpu          %s (%d SMs, driver %d)\n", k->gpu, k->sm_count, k->driver_version);
        printf("  consts       %s\n", k->consts[0] ? k->consts : "-");
        printf("  align        %s\n", k->align);
        printf("  source hash  %s\n", k->source_hash);
        printf("  space        %s\n", k->space[0] ? k->space : "unknown (an older entry)");
        printf("  tuned        %s by tilec %s, %s search, %d measured\n",
               e->tuned_at[0] ? e->tuned_at : "at an unknown date", k->tilec_version,
               e->strategy[0] ? e->strategy : "unknown", e->evaluations);
    }
    autotune_table_free(&t);
    if (!shown) {
        fprintf(stderr, "tilec: error: the tune cache %s has no entries of kernel %s (`tilec "
                "cache list` shows what it has)\n", path, kernel);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

static int cache_clear(const char *kernel)
{
    char dir[4096], path[4200], err[4600];
    if (autotune_cache_dir(dir, sizeof dir, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: %s\n", err);
        return EXIT_INPUT;
    }
    autotune_cache_path(dir, path, sizeof path);
    int n = autotune_cache_clear(dir, kernel, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "tilec: error: the tune cache is unreadable, left as it is: %s\n", err);
        return EXIT_INPUT;
    }
    if (kernel && n == 0) {
        fprintf(stderr, "tilec: error: the tune cache %s has no entries of kernel %s (`tilec "
                "cache list` shows what it has)\n", path, kernel);
        return EXIT_INPUT;
    }
    printf("removed %d entr%s%s%s from %s\n", n, n == 1 ? "y" : "ies", kernel ? " of kernel " : "",
           kernel ? kernel : "", path);
    return EXIT_OK;
}

static int cache_merge(const char *out, char *const *inputs, int ninputs)
{
    if (refuse_output_onto_input(out, NULL, (const char *const *)inputs, ninputs) != EXIT_OK)
        return EXIT_USAGE;
    char err[4600];
    int n = autotune_merge_tables(out, (const char *const *)inputs, ninputs, stderr, err,
                                  sizeof err);
    if (n < 0) {
        fprintf(stderr, "tilec: error: cache merge: %s; nothing written\n", err);
        return EXIT_INPUT;
    }
    printf("wrote %d entr%s from %d table%s to %s\n", n, n == 1 ? "y" : "ies", ninputs,
           ninputs == 1 ? "" : "s", out);
    return EXIT_OK;
}

int cmd_cache(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_cache, stdout);
            return EXIT_OK;
        }
        fputs(usage_cache, stderr);
        return EXIT_USAGE;
    }
    const char *action = optind < argc ? argv[optind++] : NULL;
    int nargs = argc - optind;
    const char *arg = nargs > 0 ? argv[optind] : NULL;
    if (action && strcmp(action, "list") == 0 && nargs == 0)
        return cache_list();
    if (action && strcmp(action, "show") == 0 && nargs == 1)
        return cache_show(arg);
    if (action && strcmp(action, "clear") == 0 && nargs <= 1)
        return cache_clear(arg);
    if (action && strcmp(action, "merge") == 0 && nargs >= 2)
        return cache_merge(arg, argv + optind + 1, nargs - 1);
    if (!action)
        fputs("tilec: error: cache needs list, show KERNEL, clear [KERNEL] or merge OUT "
              "TABLE...\n", stderr);
    else if (strcmp(action, "list") && strcmp(action, "show") && strcmp(action, "clear") &&
             strcmp(action, "merge"))
        fprintf(stderr, "tilec: error: unknown cache action '%s' (expected list, show, clear "
                "or merge)\n", action);
    else
        fprintf(stderr, "tilec: error: `cache %s` takes %s\n", action,
                strcmp(action, "list") == 0 ? "no argument" :
                strcmp(action, "show") == 0 ? "one KERNEL" :
                strcmp(action, "merge") == 0 ? "OUT and one TABLE or more" :
                "at most one KERNEL");
    fputs(usage_cache, stderr);
    return EXIT_USAGE;
}
