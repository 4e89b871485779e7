/* config.c — the knob table (every kind of tunable: its name, values, default and
   meaning), and a Config, which binds every tunable of a kernel (BLOCK_<V>, num_warps,
   num_stages, group_m) by name: parsing `--config` text, filling defaults and checking
   values against the kernel's allowed sets. No allocation: a Config is a fixed-size value. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tir.h"

/* ---- the knob table: one row per TunableKind. A knob with named values lists them
   (.value_names, value v named value_names[v]); one that only some kernels have says what
   they need (.needs). */

#define VALUES(array) .values = array, .nvalues = (int)(sizeof array / sizeof array[0])

static const int64_t block_sizes[] = {16, 32, 64, 128, 256};
static const int64_t warp_counts[] = {4, 8};
static const int64_t stage_counts[] = {1, 2, 3, 4, 5, 6};
static const int64_t group_rows[] = {1, 8};
static const int64_t dot_kinds[] = {0, 1, 2};
static const char *const dot_names[] = {"auto", "wgmma", "mma_sync"};
static const int64_t tile_group_counts[] = {1, 2};
static const int64_t on_off[] = {0, 1};

static const Knob knobs[TUNE_KIND_COUNT] = {
    [TUNE_BLOCK] = {.name = "BLOCK_", .per_loop = true, .powers_of_two = true,
                    VALUES(block_sizes), .preferred = 64,
                    .meaning = "block size of tile loop variable v (BLOCK_M for m)"},
    [TUNE_WARPS] = {.name = "num_warps", VALUES(warp_counts), .preferred = 4,
                    .meaning = "compute warps per program (wgmma: num_warps/4 warpgroups; a "
                               "producer warpgroup comes on top when ws)"},
    [TUNE_STAGES] = {.name = "num_stages", VALUES(stage_counts), .preferred = 2,
                     .meaning = "depth of a dot loop's pipeline (cp.async groups or TMA ring)"},
    [TUNE_GROUP_M] = {.name = "group_m", VALUES(group_rows), .preferred = 1,
                      .meaning = "grid rows grouped for L2 reuse (1: row-major)"},
    [TUNE_DOT] = {.name = "dot", VALUES(dot_kinds), .preferred = 0, .value_names = dot_names,
                  .needs = KNOB_NEEDS_DOT,
                  .meaning = "the instruction of `@` on sm_90a (auto: wgmma where it fits)"},
    [TUNE_TILE_GROUPS] = {.name = "tile_groups", VALUES(tile_group_counts), .preferred = 1,
                          .needs = KNOB_NEEDS_DOT,
                          .meaning = "2: two ping-pong warpgroups on their own tiles (needs "
                                     "num_warps=4, ws, persistent)"},
    [TUNE_WS] = {.name = "ws", VALUES(on_off), .preferred = 1, .needs = KNOB_NEEDS_DOT,
                 .meaning = "warp specialisation: a producer warpgroup loads (wgmma only)"},
    [TUNE_PERSISTENT] = {.name = "persistent", VALUES(on_off), .preferred = 1,
                         .needs = KNOB_NEEDS_DOT,
                         .meaning = "one program per SM looping over tiles (with ws)"},
};

const Knob *knob_of_kind(TunableKind kind)
{
    return kind >= 0 && kind < TUNE_KIND_COUNT ? &knobs[kind] : NULL;
}

bool knob_kind_of_name(const char *name, TunableKind *out)
{
    for (int i = 0; i < TUNE_KIND_COUNT; i++) {
        const Knob *k = &knobs[i];
        size_t n = strlen(k->name);
        if (k->per_loop ? strncmp(name, k->name, n) == 0 : strcmp(name, k->name) == 0) {
            *out = (TunableKind)i;
            return true;
        }
    }
    return false;
}

int knob_parse_value(const char *name, const char *text, size_t len, int64_t *out)
{
    TunableKind kind;
    const Knob *k = knob_kind_of_name(name, &kind) ? &knobs[kind] : NULL;
    for (int v = 0; k && k->value_names && v < k->nvalues; v++)
        if (strlen(k->value_names[v]) == len && memcmp(k->value_names[v], text, len) == 0) {
            *out = v;
            return 0;
        }
    char buf[32];
    if (len >= sizeof buf) {   /* too long for an int64_t, unless not a number at all */
        size_t digits = text[0] == '-' || text[0] == '+';
        while (digits < len && text[digits] >= '0' && text[digits] <= '9')
            digits++;
        return digits == len ? -2 : -1;
    }
    memcpy(buf, text, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (end == buf || *end)
        return -1;
    if (errno == ERANGE)
        return -2;
    *out = v;
    return 0;
}

const char *knob_value_text(TunableKind kind, int64_t v, char *buf, size_t size)
{
    const Knob *k = knob_of_kind(kind);
    if (k && k->value_names && v >= 0 && v < k->nvalues)
        snprintf(buf, size, "%s", k->value_names[v]);
    else
        snprintf(buf, size, "%" PRId64, v);
    return buf;
}

const char *knob_values_text(TunableKind kind, const int64_t *values, int nvalues, char *buf,
                             size_t size)
{
    size_t n = 0;
    char text[32];
    buf[0] = 0;
    for (int i = 0; i < nvalues && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "",
                              knob_value_text(kind, values[i], text, sizeof text));
    return buf;
}

const char *tunable_value_text(const char *name, int64_t v, char *buf, size_t size)
{
    TunableKind kind = TUNE_KIND_COUNT;   /* not a knob's name: the number */
    knob_kind_of_name(name, &kind);
    return knob_value_text(kind, v, buf, size);
}

/* "{4, 8}"; returns the characters written. */
static int print_values(FILE *out, TunableKind kind, const int64_t *values, int n)
{
    char text[32];
    int written = fprintf(out, "{");
    for (int i = 0; i < n; i++)
        written += fprintf(out, "%s%s", i ? ", " : "",
                           knob_value_text(kind, values[i], text, sizeof text));
    return written + fprintf(out, "}");
}

void knob_print_tunable(FILE *out, const char *name, TunableKind kind, const int64_t *values,
                        int nvalues, int64_t default_value)
{
    char text[32];
    fprintf(out, "tunable %s in ", name);
    print_values(out, kind, values, nvalues);
    fprintf(out, " default %s\n", knob_value_text(kind, default_value, text, sizeof text));
}

void knob_print_table(FILE *out)
{
    fputs("knobs (bind with --config NAME=V; narrow with `tune NAME in ...` in the kernel or\n"
          "tilec tune --space-set):\n", out);
    fprintf(out, "  %-11s %-23s %-8s %s\n", "name", "values", "default", "meaning");
    for (int i = 0; i < TUNE_KIND_COUNT; i++) {
        const Knob *k = &knobs[i];
        char text[32];
        int width = fprintf(out, "  %s%s", k->name, k->per_loop ? "<V>" : "");
        fprintf(out, "%*s", width < 14 ? 14 - width : 1, "");
        width = print_values(out, (TunableKind)i, k->values, k->nvalues);
        fprintf(out, "%*s%-8s %s%s\n", width < 24 ? 24 - width : 1, "",
                knob_value_text((TunableKind)i, k->preferred, text, sizeof text), k->meaning,
                k->needs & KNOB_NEEDS_DOT ? " (kernels with a dot)" : "");
    }
}

/* ---- Config */

static ConfigEntry *config_find(const Config *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->entries[i].name, name) == 0)
            return (ConfigEntry *)&c->entries[i];
    return NULL;
}

int64_t config_get(const Config *c, const char *name, int64_t fallback)
{
    const ConfigEntry *e = c ? config_find(c, name) : NULL;
    return e ? e->value : fallback;
}

int64_t config_knob(const Config *c, TunableKind kind)
{
    return config_get(c, knobs[kind].name, knobs[kind].preferred);
}

int config_set(Config *c, const char *name, int64_t value)
{
    ConfigEntry *e = config_find(c, name);
    if (!e) {
        if (c->n >= CONFIG_MAX_ENTRIES || strlen(name) >= CONFIG_MAX_NAME)
            return -1;
        e = &c->entries[c->n++];
        snprintf(e->name, sizeof e->name, "%s", name);
    }
    e->value = value;
    return 0;
}

static bool is_name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

bool config_value_is_list(const char *kind, const char *where, const char *name,
                          const char *value, size_t len, char *err, size_t errlen)
{
    static const char *const counts[] = {"two", "three", "four", "five", "six", "seven",
                                         "eight", "nine"};
    int n = 1;
    for (size_t i = 0; i < len; i++)
        n += value[i] == '|';
    if (n == 1)
        return false;
    char count[16];
    if (n - 2 < (int)(sizeof counts / sizeof *counts))
        snprintf(count, sizeof count, "%s", counts[n - 2]);
    else
        snprintf(count, sizeof count, "%d", n);
    snprintf(err, errlen, "one value per %s%s%s (%s=%.*s lists %s)", kind, where ? " for " : "",
             where ? where : "", name, (int)len, value, count);
    return true;
}

int config_parse(const char *text, Config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *p = skip_spaces(text ? text : "");
    if (!*p)
        return 0;
    for (;;) {
        p = skip_spaces(p);
        const char *name = p;
        if (!is_name_char(*p, true)) {
            snprintf(err, errlen, "expected a tunable name at '%.20s'", *p ? p : "end of text");
            return -1;
        }
        while (is_name_char(*p, false))
            p++;
        size_t len = (size_t)(p - name);
        if (len >= CONFIG_MAX_NAME) {
            snprintf(err, errlen, "tunable name '%.20s...' is too long", name);
            return -1;
        }
        char key[CONFIG_MAX_NAME];
        memcpy(key, name, len);
        key[len] = 0;
        p = skip_spaces(p);
        if (*p != '=') {
            snprintf(err, errlen, "expected '=' after '%s'", key);
            return -1;
        }
        p = skip_spaces(p + 1);
        const char *endp = p + strcspn(p, ", \t");
        if (config_value_is_list("tunable", NULL, key, p, (size_t)(endp - p), err, errlen))
            return -1;
        int64_t v;
        int parsed = *p == '+' ? -1 : knob_parse_value(key, p, (size_t)(endp - p), &v);
        if (parsed != 0) {
            TunableKind kind;
            bool named = knob_kind_of_name(key, &kind) && knobs[kind].value_names;
            snprintf(err, errlen, parsed == -2 ? "the value of '%s' is out of range"
                                  : named ? "the value of '%s' must be one of its names (tilec "
                                            "--help lists them)"
                                          : "the value of '%s' must be an integer", key);
            return -1;
        }
        if (config_find(out, key)) {
            snprintf(err, errlen, "'%s' is given twice", key);
            return -1;
        }
        if (config_set(out, key, v) != 0) {
            snprintf(err, errlen, "too many tunables (at most %d)", CONFIG_MAX_ENTRIES);
            return -1;
        }
        p = skip_spaces(endp);
        if (!*p)
            return 0;
        if (*p != ',') {
            snprintf(err, errlen, "expected ',' after the value of '%s'", key);
            return -1;
        }
        p++;
    }
}

static void list_names(const TirKernel *k, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < k->ntunables && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", k->tunables[i].name);
}

int config_resolve(const TirKernel *k, const Config *user, Config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (user) {
        for (int i = 0; i < user->n; i++) {
            if (tir_find_tunable(k, user->entries[i].name) < 0) {
                char names[512];
                list_names(k, names, sizeof names);
                snprintf(err, errlen, "kernel '%s' has no tunable '%s' (its tunables: %s)", k->name,
                         user->entries[i].name, k->ntunables ? names : "none");
                return -1;
            }
        }
    }
    for (int i = 0; i < k->ntunables; i++) {
        const TirTunable *t = &k->tunables[i];
        const ConfigEntry *given = user ? config_find(user, t->name) : NULL;
        int64_t v = given ? given->value : t->default_value;
        if (knobs[t->kind].powers_of_two && (v < 1 || (v & (v - 1)) != 0)) {
            snprintf(err, errlen, "%s=%" PRId64 ": a block size must be a power of two >= 1", t->name, v);
            return -1;
        }
        bool allowed = t->nvalues == 0;
        for (int j = 0; j < t->nvalues; j++)
            if (t->values[j] == v)
                allowed = true;
        if (!allowed) {
            char values[512], text[32];
            knob_values_text(t->kind, t->values, t->nvalues, values, sizeof values);
            snprintf(err, errlen, "%s=%s is not allowed (allowed: %s)", t->name,
                     knob_value_text(t->kind, v, text, sizeof text), values);
            return -1;
        }
        if (config_set(out, t->name, v) != 0) {
            if (strlen(t->name) >= CONFIG_MAX_NAME)
                snprintf(err, errlen, "tunable name '%.20s...' is longer than %d bytes", t->name,
                         CONFIG_MAX_NAME - 1);
            else
                snprintf(err, errlen, "too many tunables (at most %d)", CONFIG_MAX_ENTRIES);
            return -1;
        }
    }
    return 0;
}

const char *config_format(const Config *c, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < c->n && len < size; i++) {
        char text[32];
        len += (size_t)snprintf(buf + len, size - len, "%s%s=%s", i ? "," : "",
                                c->entries[i].name,
                                tunable_value_text(c->entries[i].name, c->entries[i].value, text,
                                                   sizeof text));
    }
    return buf;
}

void config_print(FILE *out, const Config *c)
{
    char text[CONFIG_MAX_ENTRIES * (CONFIG_MAX_NAME + 32)];
    fputs(config_format(c, text, sizeof text), out);
}

int64_t tir_loopvar_block(const TirKernel *k, const TirLoopVar *lv, const Config *c)
{
    if (lv->tunable < 0 || lv->tunable >= k->ntunables)
        return lv->block;
    const TirTunable *t = &k->tunables[lv->tunable];
    return config_get(c, t->name, t->default_value);
}
