/* cache.c — the tuner's memory: the best config per key (kernel, source hash, const
   values, alignment class, shape, GPU, SM count, driver, tilec version) in one JSON file.
   Writers serialise on an flock of a separate lock file and replace the JSON atomically
   (an OutFile with fsync), so readers never see half a file and concurrent tuners never
   lose each other's entries. Malformed entries are reported and set aside in a numbered
   backup (.corrupt.1, .2, ...: the last three are kept), the good ones stay; a file that
   is not a tune cache at all is set aside whole. Entries written by another tilec version
   are kept but never matched. Exports and the tables `tilec build --tuned-from` reads use
   the same format. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "autotune.h"
#include "base.h"

#define CACHE_FORMAT "tilec-tune-cache"
#define CACHE_FORMAT_VERSION 1
#define CACHE_FILE "tune-cache.json"
#define LOCK_FILE "tune-cache.lock"

static int mkdir_p(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

int autotune_cache_dir(char *buf, size_t size, char *err, size_t errlen)
{
    const char *env = getenv("TILEC_CACHE_DIR");
    int len;
    if (env && *env)
        len = snprintf(buf, size, "%s", env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env)
        len = snprintf(buf, size, "%s/tilec", env);
    else if ((env = getenv("HOME")) && *env)
        len = snprintf(buf, size, "%s/.cache/tilec", env);
    else {
        snprintf(err, errlen, "no cache directory: set TILEC_CACHE_DIR or HOME");
        return -1;
    }
    if (len < 0 || (size_t)len >= size) {   /* cut short, it would name another folder */
        snprintf(err, errlen, "the cache directory's path is longer than %zu bytes", size - 1);
        return -1;
    }
    if (mkdir_p(buf) != 0) {
        snprintf(err, errlen, "cannot create the cache directory %s: %s", buf, strerror(errno));
        return -1;
    }
    return 0;
}

void autotune_cache_path(const char *dir, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", dir, CACHE_FILE);
}
void autotune_shape_bucket(const char *shape, char *out, size_t size)
{
    size_t len = 0;
    out[0] = 0;
    const char *p = shape;
    while (*p && len < size) {
        const char *end = p + strcspn(p, ",");
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq) {
            long long v = strtoll(eq + 1, NULL, 10), b = 1;
            while (b < v)
                b <<= 1;
            len += (size_t)snprintf(out + len, size - len, "%s%.*s=%lld", len ? "," : "",
                                    (int)(eq - p), p, b);
        }
        p = *end ? end + 1 : end;
    }
}

/* ---- entries <-> JSON */

static void copy_string(char *dst, size_t size, json_t *obj, const char *name)
{
    const char *s = json_string_value(json_object_get(obj, name));
    snprintf(dst, size, "%s", s ? s : "");
}

static bool entry_from_json(json_t *o, TuneCacheEntry *e)
{
    memset(e, 0, sizeof *e);
    static const char *const required[] = {"kernel", "source_hash", "shape", "gpu",
                                           "tilec_version", "config"};
    if (!json_is_object(o))
        return false;
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!json_is_string(json_object_get(o, required[i])))
            return false;
    if (!json_is_number(json_object_get(o, "time_ms")))
        return false;
    TuneKey *k = &e->key;
    copy_string(k->kernel, sizeof k->kernel, o, "kernel");
    copy_string(k->source_hash, sizeof k->source_hash, o, "source_hash");
    copy_string(k->consts, sizeof k->consts, o, "consts");
    copy_string(k->align, sizeof k->align, o, "align");
    copy_string(k->shape, sizeof k->shape, o, "shape");
    copy_string(k->gpu, sizeof k->gpu, o, "gpu");
    copy_string(k->tilec_version, sizeof k->tilec_version, o, "tilec_version");
    copy_string(k->space, sizeof k->space, o, "space");
    copy_string(e->tuned_at, sizeof e->tuned_at, o, "tuned_at");
    k->sm_count = (int)json_integer_value(json_object_get(o, "sm_count"));
    k->driver_version = (int)json_integer_value(json_object_get(o, "driver_version"));
    copy_string(e->config, sizeof e->config, o, "config");
    copy_string(e->strategy, sizeof e->strategy, o, "strategy");
    e->time_ms = json_number_value(json_object_get(o, "time_ms"));
    e->default_ms = json_number_value(json_object_get(o, "default_ms"));
    e->evaluations = (int)json_integer_value(json_object_get(o, "evaluations"));
    return true;
}

static json_t *entry_to_json(const TuneCacheEntry *e)
{
    const TuneKey *k = &e->key;
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:f, s:f, s:s, s:i, "
                     "s:s, s:s}",
                     "kernel", k->kernel, "source_hash", k->source_hash, "consts", k->consts,
                     "align", k->align, "shape", k->shape, "gpu", k->gpu, "sm_count", k->sm_count,
                     "driver_version", k->driver_version, "tilec_version", k->tilec_version,
                     "config", e->config, "time_ms", isfinite(e->time_ms) ? e->time_ms : 0.0,
                     "default_ms", isfinite(e->default_ms) ? e->default_ms : 0.0,
                     "strategy", e->strategy, "evaluations", e->evaluations, "space", k->space,
                     "tuned_at", e->tuned_at);
}

static bool key_equal(const TuneKey *a, const TuneKey *b, bool shape, bool gpu)
{
    return strcmp(a->kernel, b->kernel) == 0 && strcmp(a->source_hash, b->source_hash) == 0 &&
           strcmp(a->consts, b->consts) == 0 && strcmp(a->align, b->align) == 0 &&
           (!shape || strcmp(a->shape, b->shape) == 0) &&
           (!gpu || (strcmp(a->gpu, b->gpu) == 0 && a->sm_count == b->sm_count &&
                     a->driver_version == b->driver_version)) &&
           strcmp(a->tilec_version, b->tilec_version) == 0;
}

/* Parses a cache/table file into *root (its "entries" array holds every entry, any version,
   well-formed or not). Returns LOAD_OK, LOAD_MISSING, LOAD_UNREADABLE (not a regular file,
   or an I/O error: leave it alone) or LOAD_CORRUPT (not JSON, or not a tune cache), the
   last two with a message. */
enum { LOAD_OK, LOAD_MISSING, LOAD_UNREADABLE, LOAD_CORRUPT };
static int load_json(const char *path, json_t **root, char *err, size_t errlen)
{
    *root = NULL;
    if (access(path, F_OK) != 0)
        return LOAD_MISSING;
    char why[128];
    FILE *f = infile_open(path, why, sizeof why);
    if (!f) {
        snprintf(err, errlen, "cannot read '%s': %s", path, why);
        return LOAD_UNREADABLE;
    }
    json_error_t jerr;
    json_t *r = json_loadf(f, 0, &jerr);
    bool read_error = ferror(f);
    fclose(f);
    if (read_error) {
        snprintf(err, errlen, "cannot read '%s'", path);
        json_decref(r);
        return LOAD_UNREADABLE;
    }
    if (!r) {
        snprintf(err, errlen, "%s:%d:%d: not valid JSON: %s", path, jerr.line, jerr.column, jerr.text);
        return LOAD_CORRUPT;
    }
    const char *format = json_string_value(json_object_get(r, "format"));
    json_t *entries = json_object_get(r, "entries");
    if (!format || strcmp(format, CACHE_FORMAT) != 0 || !json_is_array(entries)) {
        snprintf(err, errlen, "%s: not a tilec tune cache (expected \"format\": \"%s\" and "
                 "an \"entries\" array)", path, CACHE_FORMAT);
        json_decref(r);
        return LOAD_CORRUPT;
    }
    *root = r;
    return LOAD_OK;
}

static json_t *empty_root(void)
{
    return json_pack("{s:s, s:i, s:[]}", "format", CACHE_FORMAT, "version", CACHE_FORMAT_VERSION,
                     "entries");
}

/* Writes root to path atomically (an OutFile: a temp file beside it, fsync, rename). */
static int write_atomic(const char *path, json_t *root, char *err, size_t errlen)
{
    OutFile *o = outfile_open(path, err, errlen);
    if (!o)
        return -1;
    o->durable = true;
    json_dumpf(root, o->f, JSON_INDENT(1) | JSON_SORT_KEYS);
    fputc('\n', o->f);
    return outfile_commit(o, err, errlen);   /* reports any failed write */
}

/* A new backup name for the cache at `path`, PATH.corrupt.N with N one past the highest
   there, after removing all but the two newest so three remain once it is written. */
static void next_backup(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    char dir_path[4200], stem[300];
    snprintf(dir_path, sizeof dir_path, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    snprintf(stem, sizeof stem, "%s.corrupt.", slash ? slash + 1 : path);
    size_t stem_len = strlen(stem);
    long newest = 0;
    for (int pass = 0; pass < 2; pass++) {   /* find the newest, then remove the old */
        DIR *dir = opendir(dir_path);
        struct dirent *e;
        while (dir && (e = readdir(dir))) {
            char *end;
            if (strncmp(e->d_name, stem, stem_len) != 0 || !e->d_name[stem_len])
                continue;
            long n = strtol(e->d_name + stem_len, &end, 10);
            if (*end || n <= 0)
                continue;
            if (pass == 0 && n > newest)
                newest = n;
            if (pass == 1 && n <= newest - 2) {
                char old[4600];
                snprintf(old, sizeof old, "%s/%s", dir_path, e->d_name);
                unlink(old);
            }
        }
        if (dir)
            closedir(dir);
    }
    snprintf(out, size, "%s.corrupt.%ld", path, newest + 1);
}

/* Moves the malformed entries of a loaded cache into a new backup and out of root.
   Returns 0 (nothing to do, or done), -1 with a message when the backup failed. */
static int set_aside_malformed(const char *path, json_t *root, FILE *warn, char *err,
                               size_t errlen)
{
    json_t *entries = json_object_get(root, "entries");
    json_t *bad = empty_root();
    json_t *bad_entries = json_object_get(bad, "entries");
    size_t i = 0, first = 0, nbad = 0;
    TuneCacheEntry scratch;
    while (i < json_array_size(entries)) {
        json_t *item = json_array_get(entries, i);
        if (entry_from_json(item, &scratch)) {
            i++;
            continue;
        }
        if (!nbad)
            first = i;
        json_array_append(bad_entries, item);
        json_array_remove(entries, i);
        nbad++;
    }
    int status = 0;
    if (nbad) {
        char aside[4300];
        next_backup(path, aside, sizeof aside);
        status = write_atomic(aside, bad, err, errlen);
        if (status == 0 && warn)
            fprintf(warn, "tilec: warning: the tune cache %s had %zu malformed entr%s (the "
                    "first is entry %zu); moved %s to %s and kept the %zu good one%s\n", path,
                    nbad, nbad == 1 ? "y" : "ies", first, nbad == 1 ? "it" : "them", aside,
                    json_array_size(entries), json_array_size(entries) == 1 ? "" : "s");
    }
    json_decref(bad);
    return status;
}

static int lock_dir(const char *dir, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, LOCK_FILE);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
    }
    return fd;
}

int autotune_cache_store(const char *dir, const TuneCacheEntry *e, FILE *warn, char *err,
                         size_t errlen)
{
    char path[4200];
    autotune_cache_path(dir, path, sizeof path);
    int lock = lock_dir(dir, err, errlen);
    if (lock < 0)
        return -1;
    int status = -1;
    json_t *root = NULL;
    char why[512];
    int loaded = load_json(path, &root, why, sizeof why);
    if (loaded == LOAD_UNREADABLE) {
        snprintf(err, errlen, "%s", why);
        goto done;
    }
    if (loaded == LOAD_CORRUPT) {
        char aside[4300];
        next_backup(path, aside, sizeof aside);
        if (rename(path, aside) != 0) {
            snprintf(err, errlen, "the tune cache is corrupt (%s) and cannot be moved aside "
                     "to %s: %s", why, aside, strerror(errno));
            goto done;
        }
        if (warn)
            fprintf(warn, "tilec: warning: the tune cache is corrupt (%s); moved it to %s and "
                    "started a new one\n", why, aside);
    }
    if (loaded == LOAD_OK && set_aside_malformed(path, root, warn, err, errlen) != 0)
        goto done;
    if (!root)
        root = empty_root();
    json_t *entries = json_object_get(root, "entries");
    json_t *fresh = entry_to_json(e);
    if (!root || !entries || !fresh) {
        snprintf(err, errlen, "out of memory");
        json_decref(fresh);
        goto done;
    }
    size_t i, replace = (size_t)-1;
    json_t *item;
    json_array_foreach(entries, i, item) {
        TuneCacheEntry old;
        if (entry_from_json(item, &old) && key_equal(&old.key, &e->key, true, true))
            replace = i;
    }
    if (replace != (size_t)-1)
        json_array_set_new(entries, replace, fresh);
    else
        json_array_append_new(entries, fresh);
    status = write_atomic(path, root, err, errlen);
done:
    json_decref(root);
    close(lock);   /* releases the flock */
    return status;
}

int autotune_load_table(const char *path, TuneTable *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *root;
    int loaded = load_json(path, &root, err, errlen);
    if (loaded == LOAD_MISSING)
        snprintf(err, errlen, "%s: no such file", path);
    if (loaded != LOAD_OK)
        return -1;
    json_t *entries = json_object_get(root, "entries");
    size_t i;
    json_t *item;
    TuneCacheEntry scratch;
    json_array_foreach(entries, i, item) {
        if (!entry_from_json(item, &scratch)) {
            snprintf(err, errlen, "%s: entry %zu is malformed", path, i);
            json_decref(root);
            return -1;
        }
        /* "*" keys a bundle's default dispatch entries: a tuned config is for one GPU */
        if (strcmp(scratch.key.gpu, "*") == 0) {
            snprintf(err, errlen, "%s: entry %zu (kernel %s, shape %s) has \"gpu\": \"*\"; a "
                     "tuned config is for one GPU, named as its driver names it (e.g. \"NVIDIA "
                     "H100 80GB HBM3\")", path, i, scratch.key.kernel, scratch.key.shape);
            json_decref(root);
            return -1;
        }
    }
    out->entries = calloc(json_array_size(entries) + 1, sizeof *out->entries);
    if (!out->entries) {
        json_decref(root);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_array_foreach(entries, i, item) {
        TuneCacheEntry *e = &out->entries[out->n];
        entry_from_json(item, e);
        if (strcmp(e->key.tilec_version, TILEC_VERSION) != 0) {
            out->ignored_other_version++;
            continue;
        }
        out->n++;
    }
    json_decref(root);
    return 0;
}

const TuneCacheEntry *autotune_table_lookup(const TuneTable *t, const TuneKey *key, bool any_gpu)
{
    for (int i = 0; i < t->n; i++)
        if (key_equal(&t->entries[i].key, key, true, !any_gpu))
            return &t->entries[i];
    char bucket[256], other[256];
    autotune_shape_bucket(key->shape, bucket, sizeof bucket);
    for (int i = 0; i < t->n; i++) {
        if (!key_equal(&t->entries[i].key, key, false, !any_gpu))
            continue;
        autotune_shape_bucket(t->entries[i].key.shape, other, sizeof other);
        if (strcmp(bucket, other) == 0)
            return &t->entries[i];
    }
    return NULL;
}

const TuneCacheEntry *autotune_table_same_tune(const TuneTable *t, const TuneKey *key)
{
    for (int i = 0; i < t->n; i++) {
        const TuneKey *k = &t->entries[i].key;
        if (key_equal(k, key, true, false) && strcmp(k->gpu, key->gpu) == 0 &&
            k->sm_count == key->sm_count && k->space[0] && strcmp(k->space, key->space) == 0)
            return &t->entries[i];
    }
    return NULL;
}

void autotune_table_free(TuneTable *t)
{
    free(t->entries);
    memset(t, 0, sizeof *t);
}

int autotune_cache_lookup(const char *dir, const TuneKey *key, TuneCacheEntry *out, char *err,
                          size_t errlen)
{
    char path[4200];
    autotune_cache_path(dir, path, sizeof path);
    if (access(path, F_OK) != 0)
        return 0;
    TuneTable t;
    if (autotune_load_table(path, &t, err, errlen) != 0)
        return -1;
    const TuneCacheEntry *e = autotune_table_lookup(&t, key, false);
    if (e)
        *out = *e;
    autotune_table_free(&t);
    return e ? 1 : 0;
}

int autotune_export(const char *dir, const char *kernel, const char *path, char *err, size_t errlen)
{
    char cache[4200];
    autotune_cache_path(dir, cache, sizeof cache);
    json_t *root;
    int loaded = load_json(cache, &root, err, errlen);
    if (loaded != LOAD_OK && loaded != LOAD_MISSING)
        return -1;
    json_t *out = empty_root();
    json_t *entries = json_object_get(out, "entries");
    int n = 0;
    if (loaded == LOAD_OK) {
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(root, "entries"), i, item) {
            TuneCacheEntry e;
            if (entry_from_json(item, &e) && strcmp(e.key.kernel, kernel) == 0) {
                json_array_append(entries, item);
                n++;
            }
        }
        json_decref(root);
    }
    int rc = n ? write_atomic(path, out, err, errlen) : 0;   /* nothing to export: no file */
    json_decref(out);
    return rc == 0 ? n : -1;
}

/* A measured time: an entry written without one stores 0 and loses to any measured one. */
static bool measured(const TuneCacheEntry *e)
{
    return isfinite(e->time_ms) && e->time_ms > 0;
}

int autotune_merge_tables(const char *out, const char *const *inputs, int ninputs,
                          FILE *report, char *err, size_t errlen)
{
    TuneTable *tables = calloc((size_t)ninputs + 1, sizeof *tables);
    int total = 0, status = -1, nmerged = 0;
    if (!tables) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int f = 0; f < ninputs; f++) {
        if (autotune_load_table(inputs[f], &tables[f], err, errlen) != 0)
            goto done;
        total += tables[f].n;
        if (report && tables[f].ignored_other_version)
            fprintf(report, "tilec: note: %s: left out %d entr%s of other tilec versions\n",
                    inputs[f], tables[f].ignored_other_version,
                    tables[f].ignored_other_version == 1 ? "y" : "ies");
    }
    /* merged[i] is the winner so far of its key; from[i] the input it came from */
    const TuneCacheEntry **merged = calloc((size_t)total + 1, sizeof *merged);
    int *from = calloc((size_t)total + 1, sizeof *from);
    json_t *root = empty_root();
    json_t *entries = json_object_get(root, "entries");
    if (!merged || !from || !root || !entries) {
        snprintf(err, errlen, "out of memory");
        goto free_merged;
    }
    for (int f = 0; f < ninputs; f++)
        for (int i = 0; i < tables[f].n; i++) {
            const TuneCacheEntry *e = &tables[f].entries[i];
            int same = -1;
            for (int m = 0; m < nmerged && same < 0; m++)
                if (key_equal(&merged[m]->key, &e->key, true, true))
                    same = m;
            if (same < 0) {
                from[nmerged] = f;
                merged[nmerged++] = e;
                continue;
            }
            const TuneCacheEntry *old = merged[same];
            bool faster = measured(e) && (!measured(old) || e->time_ms < old->time_ms);
            const TuneCacheEntry *win = faster ? e : old, *lose = faster ? old : e;
            if (report && strcmp(e->config, old->config) != 0)
                fprintf(report, "tilec: merge conflict: kernel %s, shape %s%s%s, GPU %s: kept "
                        "%s (%.4f ms, %s) over %s (%.4f ms, %s)\n", e->key.kernel, e->key.shape,
                        e->key.consts[0] ? " " : "", e->key.consts, e->key.gpu, win->config,
                        win->time_ms, inputs[faster ? f : from[same]], lose->config,
                        lose->time_ms, inputs[faster ? from[same] : f]);
            if (faster) {
                merged[same] = e;
                from[same] = f;
            }
        }
    for (int m = 0; m < nmerged; m++)
        if (json_array_append_new(entries, entry_to_json(merged[m])) != 0) {
            snprintf(err, errlen, "out of memory");
            goto free_merged;
        }
    if (write_atomic(out, root, err, errlen) == 0)
        status = nmerged;
free_merged:
    json_decref(root);
    free(merged);
    free(from);
done:
    for (int f = 0; f < ninputs; f++)
        autotune_table_free(&tables[f]);
    free(tables);
    return status;
}

int autotune_cache_clear(const char *dir, const char *kernel, char *err, size_t errlen)
{
    char path[4200];
    autotune_cache_path(dir, path, sizeof path);
    int lock = lock_dir(dir, err, errlen);
    if (lock < 0)
        return -1;
    json_t *root = NULL;
    int loaded = load_json(path, &root, err, errlen), removed = 0;
    if (loaded == LOAD_MISSING) {
        close(lock);
        return 0;
    }
    if (loaded != LOAD_OK)
        goto fail;
    json_t *entries = json_object_get(root, "entries");
    for (size_t i = 0; i < json_array_size(entries); i++) {
        TuneCacheEntry e;
        if (!entry_from_json(json_array_get(entries, i), &e)) {
            snprintf(err, errlen, "%s: entry %zu is malformed (`tilec tune` sets such entries "
                     "aside)", path, i);
            goto fail;
        }
    }
    for (size_t i = 0; i < json_array_size(entries);) {
        TuneCacheEntry e;
        entry_from_json(json_array_get(entries, i), &e);
        if (kernel && strcmp(e.key.kernel, kernel) != 0) {
            i++;
            continue;
        }
        json_array_remove(entries, i);
        removed++;
    }
    if (removed && write_atomic(path, root, err, errlen) != 0)
        goto fail;
    json_decref(root);
    close(lock);
    return removed;
fail:
    json_decref(root);
    close(lock);
    return -1;
}

void tune_key_make(TuneKey *key, const TuneSpace *space, uint64_t source_hash,
                   const char *consts, const char *align, const TuneGpuInfo *gpu)
{
    const TirKernel *k = space->shape.kernel;
    memset(key, 0, sizeof *key);
    snprintf(key->kernel, sizeof key->kernel, "%s", k->name);
    snprintf(key->source_hash, sizeof key->source_hash, "%016llx", (unsigned long long)source_hash);
    snprintf(key->consts, sizeof key->consts, "%s", consts ? consts : "");
    snprintf(key->align, sizeof key->align, "%s", align ? align : "vec16");
    size_t len = 0;
    for (int i = 0; i < k->nsyms && len < sizeof key->shape; i++)
        len += (size_t)snprintf(key->shape + len, sizeof key->shape - len, "%s%s=%lld",
                                i ? "," : "", k->syms[i].name,
                                (long long)space->shape.sym_values[i]);
    snprintf(key->gpu, sizeof key->gpu, "%s", gpu ? gpu->name : "");
    key->sm_count = gpu ? gpu->sm_count : 0;
    key->driver_version = gpu ? gpu->driver_version : 0;
    snprintf(key->tilec_version, sizeof key->tilec_version, "%s", TILEC_VERSION);
    snprintf(key->space, sizeof key->space, "%016llx", (unsigned long long)tune_space_hash(space));
}

int tune_store_best(const char *dir, const TuneKey *key, const TuneSpace *space,
                    const TuneResult *r, SearchStrategy strategy, FILE *warn, char *err,
                    size_t errlen)
{
    if (!r->found)
        return 0;
    TuneCacheEntry e = {.key = *key, .time_ms = r->best_ms,
                        .default_ms = isfinite(r->default_ms) ? r->default_ms : 0,
                        .evaluations = r->nmeasurements};
    snprintf(e.strategy, sizeof e.strategy, "%s", search_strategy_name(strategy));
    time_t now = time(NULL);
    struct tm utc;
    if (gmtime_r(&now, &utc))
        strftime(e.tuned_at, sizeof e.tuned_at, "%Y-%m-%dT%H:%M:%SZ", &utc);
    Config c;
    tune_space_config(space, r->best, &c);
    config_format(&c, e.config, sizeof e.config);
    return autotune_cache_store(dir, &e, warn, err, errlen);
}
