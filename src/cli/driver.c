/* driver.c — command-line pieces several commands share (check, build, run, bench, tune and
   the bundle writer): choosing a kernel by name, reading a const parameter's value,
   splitting --config text between what a command takes itself and the tunables, --seed,
   repeated options and limits, refusing an output that would overwrite an input, the
   program's source hash, and the `tilec: error:` messages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const Kernel *choose_kernel(const Program *p, const char *name)
{
    if (name) {
        const Kernel *k = program_find_kernel(p, name);
        if (!k && program_find_program(p, name)) {
            fprintf(stderr, "tilec: error: '%s' is a program, not a kernel: name it with "
                    "--program\n", name);
        } else if (!k) {
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

int parse_const_value(const Param *param, const char *text, int64_t *out)
{
    char err[512];
    if (config_value_is_list("const", NULL, param->name, text, strlen(text), err, sizeof err)) {
        fprintf(stderr, "tilec: error: %s\n", err);
        return -1;
    }
    if (param->dtype == DT_BOOL) {
        if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
            *out = 1;
        else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
            *out = 0;
        else {
            fprintf(stderr, "tilec: error: const %s is a bool: expected true or false, got '%s'\n",
                    param->name, text);
            return -1;
        }
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 0);
    if (errno || end == text || *end) {
        fprintf(stderr, "tilec: error: const %s: '%s' is not an integer\n", param->name, text);
        return -1;
    }
    if (param->nconst_values > 0) {
        bool allowed = false;
        for (int i = 0; i < param->nconst_values; i++)
            allowed |= param->const_values[i] == v;
        if (!allowed) {
            fprintf(stderr, "tilec: error: const %s = %lld is not one of its declared values {",
                    param->name, v);
            for (int i = 0; i < param->nconst_values; i++)
                fprintf(stderr, "%s%lld", i ? ", " : "", (long long)param->const_values[i]);
            fputs("}\n", stderr);
            return -1;
        }
    }
    *out = v;
    return 0;
}

int parse_seed(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (!*text || *end || text[0] == '-' || text[0] == '+' || text[0] == ' ') {
        fprintf(stderr, "tilec: error: --seed '%s' is not a number (expected 0 to %llu)\n",
                text, (unsigned long long)UINT64_MAX);
        return -1;
    }
    if (errno == ERANGE) {
        fprintf(stderr, "tilec: error: --seed '%s' is out of range (0 to %llu)\n", text,
                (unsigned long long)UINT64_MAX);
        return -1;
    }
    *out = v;
    return 0;
}

bool option_repeated(const struct option *longopts, const int *single, int val, bool *seen)
{
    bool listed = false;
    for (int i = 0; single[i]; i++)
        listed = listed || single[i] == val;
    if (!listed || val < 0 || val >= OPTION_VALS)
        return false;
    if (!seen[val]) {
        seen[val] = true;
        return false;
    }
    const char *name = "?";
    for (int i = 0; longopts[i].name; i++)
        if (longopts[i].val == val)
            name = longopts[i].name;
    fprintf(stderr, "tilec: error: --%s given twice\n", name);
    return true;
}

bool parse_limit(const char *text, int64_t *out)
{
    if (!(*text >= '0' && *text <= '9'))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
    if (shift)
        end++;
    if (errno || *end || v < 1 || v > (INT64_MAX >> shift))
        return false;
    *out = (int64_t)v << shift;
    return true;
}

static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    for (char *t = s + strlen(s); t > s && t[-1] == ' ';)
        *--t = 0;
    return s;
}

int config_split(const char *text, ConfigEntryFn take, void *ctx, char *rest, size_t restlen)
{
    size_t used = 0;
    rest[0] = 0;
    for (const char *p = text ? text : ""; *p;) {
        size_t n = strcspn(p, ",");
        char item[256], scratch[256];
        if (n >= sizeof item) {
            fprintf(stderr, "tilec: error: --config entry too long: '%.40s...'\n", p);
            return -1;
        }
        memcpy(item, p, n);
        item[n] = 0;
        p += n + (p[n] == ',');
        char *eq = strchr(strcpy(scratch, item), '=');
        if (eq) {
            *eq = 0;
            int took = take(ctx, trim(scratch), trim(eq + 1));
            if (took < 0)
                return -1;
            if (took)
                continue;
        }
        used += (size_t)snprintf(rest + used, restlen - used, "%s%s", used ? "," : "", item);
        if (used >= restlen) {
            fputs("tilec: error: --config is too long\n", stderr);
            return -1;
        }
    }
    return 0;
}

int refuse_output_onto_input(const char *output, const Program *p, const char *const *extra,
                             int nextra)
{
    int n = 0;
    for (const SourceFile *f = p ? p->files : NULL; f; f = f->next)
        n++;
    const char **inputs = malloc(sizeof *inputs * (size_t)(n + nextra + 1));
    if (!inputs) {
        fputs("tilec: error: out of memory\n", stderr);
        return EXIT_INPUT;
    }
    n = 0;
    for (const SourceFile *f = p ? p->files : NULL; f; f = f->next)
        inputs[n++] = f->path;
    for (int i = 0; i < nextra; i++)
        inputs[n++] = extra[i];
    char err[8400];
    int refused = outfile_refuse_input(output, inputs, n, err, sizeof err);
    free(inputs);
    if (refused)
        fprintf(stderr, "tilec: error: %s\n", err);
    return refused ? EXIT_USAGE : EXIT_OK;
}

uint64_t program_source_hash(const Program *p)
{
    uint64_t hash = FNV1A_START;
    /* The text of every file read (root first, then includes in order), not their paths:
       a table tuned on one machine must match the same source built from another path. */
    for (const SourceFile *f = p->files; f; f = f->next) {
        uint64_t len = f->len;
        hash = fnv1a(hash, &len, sizeof len);
        hash = fnv1a(hash, f->text, f->len);
    }
    return hash;
}

int cli_usage_error(const char *usage, const char *fmt, const char *a, const char *b)
{
    fputs("tilec: error: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    fputs(usage, stderr);
    return EXIT_USAGE;
}

int cli_error(int status, const char *msg)
{
    fprintf(stderr, "tilec: error: %s\n", msg);
    return status;
}

int shapes_file_each_line(const char *path, ShapesLineFn fn, void *ctx)
{
    char why[256];
    FILE *f = infile_open(path, why, sizeof why);
    if (!f) {
        fprintf(stderr, "tilec: error: cannot read the shapes file '%s': %s\n", path, why);
        return EXIT_INPUT;
    }
    char *buf = NULL;
    size_t cap = 0;
    int status = EXIT_OK;
    for (int line = 1; status == EXIT_OK && getline(&buf, &cap, f) != -1; line++) {
        buf[strcspn(buf, "#")] = 0;
        status = fn(ctx, buf, line);
    }
    if (status == EXIT_OK && ferror(f)) {
        fprintf(stderr, "tilec: error: cannot read the shapes file '%s'\n", path);
        status = EXIT_INPUT;
    }
    free(buf);
    fclose(f);
    return status;
}
