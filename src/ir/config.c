/* config.c — a Config binds every tunable of a kernel (BLOCK_<V>, num_warps, num_stages,
   group_m) by name: parsing `--config` text, filling defaults and checking values against
   the kernel's allowed sets. No allocation: a Config is a fixed-size value. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tir.h"

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
        if (!(*p >= '0' && *p <= '9') && *p != '-') {
            snprintf(err, errlen, "the value of '%s' must be an integer", key);
            return -1;
        }
        errno = 0;
        char *endp;
        long long v = strtoll(p, &endp, 10);
        if (endp == p || (*endp && *endp != ',' && *endp != ' ' && *endp != '\t')) {
            snprintf(err, errlen, "the value of '%s' must be an integer", key);
            return -1;
        }
        if (errno == ERANGE) {
            snprintf(err, errlen, "the value of '%s' is out of range", key);
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

static void list_values(const TirTunable *t, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < t->nvalues && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%" PRId64, i ? ", " : "", t->values[i]);
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
        if (t->kind == TUNE_BLOCK && (v < 1 || (v & (v - 1)) != 0)) {
            snprintf(err, errlen, "%s=%" PRId64 ": a block size must be a power of two >= 1", t->name, v);
            return -1;
        }
        bool allowed = t->nvalues == 0;
        for (int j = 0; j < t->nvalues; j++)
            if (t->values[j] == v)
                allowed = true;
        if (!allowed) {
            char values[512];
            list_values(t, values, sizeof values);
            snprintf(err, errlen, "%s=%" PRId64 " is not allowed (allowed: %s)", t->name, v, values);
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

void config_print(FILE *out, const Config *c)
{
    for (int i = 0; i < c->n; i++)
        fprintf(out, "%s%s=%" PRId64, i ? "," : "", c->entries[i].name, c->entries[i].value);
}

int64_t tir_loopvar_block(const TirKernel *k, const TirLoopVar *lv, const Config *c)
{
    if (lv->tunable < 0 || lv->tunable >= k->ntunables)
        return lv->block;
    const TirTunable *t = &k->tunables[lv->tunable];
    return config_get(c, t->name, t->default_value);
}
