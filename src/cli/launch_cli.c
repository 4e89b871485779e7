/* launch_cli.c — the command-line side of a launch that `tilec run`, `tilec bench` and
   `tilec tune` share: the repeatable NAME=VALUE flags, --shape and --target; checking what
   they name against the source kernel, lowering for the --set consts and resolving the
   config (run_prepare_kernel); refusing outputs onto inputs; reading a text file; and the
   output tolerance of --check. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- flags */

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

int launch_cli_add_named(LaunchNamed **list, int *n, const char *flag, char *arg,
                         const char *expected, const char *usage)
{
    const char *name, *text;
    char copy[64];
    snprintf(copy, sizeof copy, "%s", arg);
    if (!split_assignment(arg, &name, &text) || !*text) {
        fprintf(stderr, "tilec: error: %s '%s': expected %s\n", flag, copy, expected);
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    for (int i = 0; i < *n; i++)
        if (strcmp((*list)[i].name, name) == 0) {
            fprintf(stderr, "tilec: error: %s %s given twice\n", flag, name);
            return EXIT_USAGE;
        }
    LaunchNamed *grown = realloc(*list, (size_t)(*n + 1) * sizeof **list);
    if (!grown)
        return cli_error(EXIT_INPUT, "out of memory");
    *list = grown;
    grown[*n].name = name;
    grown[*n].text = text;
    (*n)++;
    return EXIT_OK;
}

int launch_cli_target(const char *arg, const Target **out, const char *usage)
{
    if (!(*out = target_lookup(arg)))
        return cli_usage_error(usage, "unknown --target '%s' (known: %s)", arg, target_names());
    return EXIT_OK;
}

int launch_cli_add_shapes(LaunchSpec *spec, char *arg, const char *usage)
{
    for (char *item = strtok(arg, ","); item; item = strtok(NULL, ",")) {
        const char *name, *text;
        if (!split_assignment(item, &name, &text))
            return cli_usage_error(usage, "--shape '%s': expected NAME=VALUE%s", item, "");
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (!*text || *end || v < 0 || text[0] == '-' || text[0] == '+' || errno == ERANGE)
            return cli_usage_error(usage, "--shape %s='%s' is not a size (a non-negative integer)",
                                   name, text);
        for (int i = 0; i < spec->nshapes; i++)
            if (strcmp(spec->shapes[i].name, name) == 0) {
                fprintf(stderr, "tilec: error: --shape %s given twice\n", name);
                return EXIT_USAGE;
            }
        LaunchShape *grown = realloc(spec->shapes, (size_t)(spec->nshapes + 1) * sizeof *grown);
        if (!grown)
            return cli_error(EXIT_INPUT, "out of memory");
        spec->shapes = grown;
        grown[spec->nshapes].name = name;
        grown[spec->nshapes].value = v;
        spec->nshapes++;
    }
    return EXIT_OK;
}

int launch_cli_refuse_outputs(const LaunchSpec *spec, const Program *prog, const char *ptx_path,
                              const char *other_output)
{
    const char **inputs = malloc(sizeof *inputs * (size_t)(spec->ninputs + 1));
    if (!inputs)
        return cli_error(EXIT_INPUT, "out of memory");
    for (int i = 0; i < spec->ninputs; i++)
        inputs[i] = spec->inputs[i].text;
    inputs[spec->ninputs] = ptx_path;
    int status = EXIT_OK;
    for (int o = 0; o <= spec->noutputs && status == EXIT_OK; o++) {
        const char *out = o < spec->noutputs ? spec->outputs[o].text : other_output;
        if (out)
            status = refuse_output_onto_input(out, prog, inputs, spec->ninputs + 1);
        for (int e = 0; e < o && out && status == EXIT_OK; e++)   /* one would be lost */
            if (outfile_same_destination(out, spec->outputs[e].text)) {
                fprintf(stderr, "tilec: error: '%s' and '%s' are the same file: each output "
                        "needs its own\n", spec->outputs[e].text, out);
                status = EXIT_USAGE;
            }
    }
    free(inputs);
    return status;
}

/* ---- checking names against the checked kernel, then lowering */

static const Param *find_param(const Kernel *k, const char *name)
{
    for (int i = 0; i < k->nparams; i++)
        if (strcmp(k->params[i]->name, name) == 0)
            return k->params[i];
    return NULL;
}

static void list_params(const Kernel *k, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < k->nparams && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", k->params[i]->name);
}

static LaunchStatus unknown_param(const Kernel *k, const char *flag, const LaunchNamed *n, char *err,
                                  size_t errlen)
{
    char names[256];
    list_params(k, names, sizeof names);
    return launch_error(LAUNCH_BAD_USAGE, err, errlen, "%s %s=%s: unknown parameter '%s' (parameters of %s: %s)",
                        flag, n->name, n->text, n->name, k->name, names);
}

/* Checks every name in spec against the checked kernel (parameters, shape symbols, what
   each flag may name) and fills const_values (indexed by Param.index, as tir_lower
   wants) from --set. Every const needs a value. */
static LaunchStatus launch_check_spec(const Kernel *k, const LaunchSpec *spec, int64_t *const_values,
                                      char *err, size_t errlen)
{
    for (int i = 0; i < spec->ninputs; i++) {
        const LaunchNamed *n = &spec->inputs[i];
        const Param *p = find_param(k, n->name);
        if (!p)
            return unknown_param(k, "--in", n, err, errlen);
        if (p->kind != PARAM_TENSOR)
            return launch_error(LAUNCH_BAD_USAGE, err, errlen, "--in %s=%s: '%s' is a %s parameter (use --set %s=VALUE)",
                                n->name, n->text, n->name, p->kind == PARAM_CONST ? "const" : "scalar", n->name);
        if (p->reduce != REDUCE_NONE)
            return launch_error(LAUNCH_BAD_USAGE, err, errlen,
                                "--in %s=%s: '%s' is a reduction target: it starts at its identity and "
                                "cannot be given", n->name, n->text, n->name);
    }
    for (int i = 0; i < spec->noutputs; i++) {
        const LaunchNamed *n = &spec->outputs[i];
        const Param *p = find_param(k, n->name);
        if (!p)
            return unknown_param(k, "--out", n, err, errlen);
        if (p->kind != PARAM_TENSOR)
            return launch_error(LAUNCH_BAD_USAGE, err, errlen, "--out %s=%s: '%s' is a %s parameter, not a tensor",
                                n->name, n->text, n->name, p->kind == PARAM_CONST ? "const" : "scalar");
    }
    for (int i = 0; i < spec->nshapes; i++) {
        bool found = false;
        for (int s = 0; s < k->nsyms; s++)
            found = found || strcmp(k->syms[s]->name, spec->shapes[i].name) == 0;
        if (!found) {
            char names[256];
            size_t used = 0;
            names[0] = 0;
            for (int s = 0; s < k->nsyms && used < sizeof names; s++)
                used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", s ? ", " : "", k->syms[s]->name);
            return launch_error(LAUNCH_BAD_USAGE, err, errlen, "--shape %s: %s has no shape symbol '%s' (symbols: %s)",
                                spec->shapes[i].name, k->name, spec->shapes[i].name, names);
        }
    }
    for (int i = 0; i < spec->nsets; i++) {
        const LaunchNamed *n = &spec->sets[i];
        const Param *p = find_param(k, n->name);
        if (!p)
            return unknown_param(k, "--set", n, err, errlen);
        if (p->kind == PARAM_TENSOR)
            return launch_error(LAUNCH_BAD_USAGE, err, errlen, "--set %s=%s: '%s' is a tensor parameter (use --in %s=FILE.npy)",
                                n->name, n->text, n->name, n->name);
        double f = 0;
        int64_t v = 0;
        LaunchStatus st = launch_parse_value(n->name, p->dtype, n->text, &f, &v, err, errlen);
        if (st != LAUNCH_OK)
            return st;
        if (p->kind != PARAM_CONST)
            continue;
        if (p->nconst_values > 0) {
            bool allowed = false;
            for (int c = 0; c < p->nconst_values; c++)
                allowed = allowed || p->const_values[c] == v;
            if (!allowed) {
                char list[256];
                size_t used = 0;
                list[0] = 0;
                for (int c = 0; c < p->nconst_values && used < sizeof list; c++)
                    used += (size_t)snprintf(list + used, sizeof list - used, "%s%lld", c ? ", " : "",
                                             (long long)p->const_values[c]);
                return launch_error(LAUNCH_BAD_USAGE, err, errlen, "--set %s=%s: const '%s' is compiled for {%s} only",
                                    n->name, n->text, n->name, list);
            }
        }
        const_values[p->index] = v;
    }
    for (int i = 0; i < k->nparams; i++) {
        const Param *p = k->params[i];
        if (p->kind == PARAM_TENSOR)
            continue;
        bool given = false;
        for (int s = 0; s < spec->nsets; s++)
            given = given || strcmp(spec->sets[s].name, p->name) == 0;
        if (!given)
            return launch_error(LAUNCH_BAD_USAGE, err, errlen, "no value for %s parameter '%s' (use --set %s=%s)",
                                p->kind == PARAM_CONST ? "const" : "scalar", p->name, p->name,
                                p->dtype == DT_BOOL ? "true|false" : "VALUE");
    }
    return LAUNCH_OK;
}

/* --config entries a build takes that a launch gets elsewhere: a full axis's size (from
   --shape or the inputs) and the align class (from the tensors' strides). */
static int refuse_build_only(void *ctx, const char *name, const char *value)
{
    const Kernel *k = ctx;
    if (strcmp(name, "align") == 0) {
        fprintf(stderr, "tilec: error: --config align=%s: a launch picks its align class from "
                "its tensors' strides\n", value);
        return -1;
    }
    for (int i = 0; i < k->nsyms; i++)
        if (k->syms[i]->is_full && strcmp(k->syms[i]->name, name) == 0) {
            fprintf(stderr, "tilec: error: --config %s=%s: %s is a full axis: a launch takes its "
                    "size from --shape or the inputs (--shape %s=%s)\n", name, value, name, name,
                    value);
            return -1;
        }
    return 0;
}

int run_prepare_kernel(Arena *arena, Diag *diag, const Program *prog, const char *kernel_name,
                       const LaunchSpec *spec, const char *config_text, bool no_mask_inference,
                       TirKernel **out_tir, Config *out_config)
{
    char err[512];
    *out_tir = NULL;
    const Kernel *kernel = choose_kernel(prog, kernel_name);
    if (!kernel)
        return EXIT_USAGE;
    int64_t *const_values = arena_alloc(arena, ((size_t)kernel->nparams + 1) * sizeof *const_values);
    LaunchStatus ls = launch_check_spec(kernel, spec, const_values, err, sizeof err);
    if (ls != LAUNCH_OK)
        return cli_error(ls == LAUNCH_BAD_USAGE ? EXIT_USAGE : EXIT_INPUT, err);
    char rest[4096];
    if (config_split(config_text, refuse_build_only, (void *)kernel, rest, sizeof rest) != 0)
        return EXIT_USAGE;
    Config user;
    if (config_parse(config_text, &user, err, sizeof err) != 0)
        return cli_error(EXIT_USAGE, err);
    TirPipelineOptions passes = {.no_mask_inference = no_mask_inference};
    return pipeline_kernel(arena, diag, kernel, const_values, &user, &passes, out_tir, out_config);
}

char *run_read_text_file(Arena *arena, const char *path, char *err, size_t errlen)
{
    char why[128];
    FILE *f = infile_open(path, why, sizeof why);
    if (!f) {
        snprintf(err, errlen, "cannot read '%s': %s", path, why);
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    bool read_error = ferror(f);
    fclose(f);
    if (!buf || read_error) {
        snprintf(err, errlen, read_error ? "cannot read '%s'" : "out of memory reading '%s'",
                 path);
        free(buf);
        return NULL;
    }
    char *text = arena_alloc(arena, len + 1);
    memcpy(text, buf, len);
    text[len] = 0;
    free(buf);
    return text;
}

/* ---- --check: the tolerance of an output against a reference */

OutputTolerance output_tolerance(DType t, bool fp8_dots)
{
    /* fp8 tensor cores sum their products at reduced precision (docs/numerics.md): a
       kernel with fp8 dots agrees with the interpreter to fp8-sized bounds */
    if (fp8_dots && dtype_is_float(t) && !dtype_is_fp8(t))
        return (OutputTolerance){0x1p-5, 0x1p-6, 0, "fp8 dots: 2^-5 relative + 2^-6 of max|ref|"};
    switch (t) {
    case DT_F32: return (OutputTolerance){0x1p-14, 0x1p-20, 0, "f32: 2^-14 relative + 2^-20 of max|ref|"};
    case DT_F16: return (OutputTolerance){0x1p-9, 0x1p-11, 0, "f16: 2 ulp (2^-9 relative) + 2^-11 of max|ref|"};
    case DT_BF16: return (OutputTolerance){0x1p-6, 0x1p-8, 0, "bf16: 2 ulp (2^-6 relative) + 2^-8 of max|ref|"};
    case DT_F8E4M3: return (OutputTolerance){0, 0, 1, "f8e4m3: 1 step of the format"};
    case DT_F8E5M2: return (OutputTolerance){0, 0, 1, "f8e5m2: 1 step of the format"};
    default: return (OutputTolerance){0, 0, 0, "exact"};
    }
}

int fp8_code_order(uint64_t bits)
{
    int magnitude = (int)(bits & 0x7f);
    return bits & 0x80 ? -magnitude : magnitude;
}
