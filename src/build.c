/* build.c — `tilec build`: runs the front end, then prints the requested stage. Bundles
   (PTX + launchers) come with codegen and the runtime. */
#include <errno.h>
#include <string.h>

#include <stdlib.h>

#include "driver.h"
#include "tir.h"

/* Opens -o or standard output; NULL (with a message) if the file cannot be written. */
static FILE *open_output(const char *path)
{
    if (!path || strcmp(path, "-") == 0)
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "tilec: error: cannot write '%s': %s\n", path, strerror(errno));
    return f;
}

static int close_output(FILE *f, const char *path)
{
    if (f == stdout)
        return fflush(f) == 0 ? EXIT_OK : EXIT_INPUT;
    if (fclose(f) != 0) {
        fprintf(stderr, "tilec: error: cannot write '%s': %s\n", path, strerror(errno));
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

/* Says which kernels exist when --kernel names none of them. */
static void report_unknown_kernel(const Program *p, const char *name)
{
    fprintf(stderr, "tilec: error: no kernel named '%s' (kernels:", name);
    for (int i = 0; i < p->nkernels; i++)
        fprintf(stderr, " %s", p->kernels[i]->name);
    fputs(")\n", stderr);
}

/* Splits --config text into const-parameter values (causal=true, split=2), which pick
   what is lowered, and the rest (tunables), which go to config_parse. Returns 0, or -1
   after printing a message. */
static int split_config(const Kernel *k, const char *text, int64_t *const_values,
                        Config *tunables)
{
    char rest[4096] = "", item[256];
    size_t rest_len = 0;
    const char *p = text ? text : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n >= sizeof item) {
            fprintf(stderr, "tilec: error: --config entry too long: '%.40s...'\n", p);
            return -1;
        }
        memcpy(item, p, n);
        item[n] = 0;
        p += n + (p[n] == ',');
        char *eq = strchr(item, '=');
        const Param *param = NULL;
        if (eq) {
            *eq = 0;
            for (int i = 0; i < k->nparams; i++)
                if (k->params[i]->kind == PARAM_CONST && strcmp(k->params[i]->name, item) == 0)
                    param = k->params[i];
            *eq = '=';
        }
        if (param) {
            if (parse_const_value(param, eq + 1, &const_values[param->index]) != 0)
                return -1;
            continue;
        }
        if (rest_len + n + 2 >= sizeof rest) {
            fputs("tilec: error: --config is too long\n", stderr);
            return -1;
        }
        rest_len += (size_t)snprintf(rest + rest_len, sizeof rest - rest_len, "%s%s",
                                     rest_len ? "," : "", item);
    }
    char err[512];
    if (config_parse(rest, tunables, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: --config: %s\n", err);
        return -1;
    }
    return 0;
}

/* Lowers one kernel for the const values in `config` (the rest of it binds tunables),
   resolves the Config and runs the pass pipeline. NULL after reporting; *status says
   whether the command line (EXIT_USAGE) or the input (EXIT_INPUT) was at fault. */
static TirKernel *lower_with_config(Arena *arena, Diag *diag, const Kernel *k,
                                    const char *config, Config *resolved, int *status)
{
    int64_t *const_values = arena_alloc(arena, sizeof(int64_t) * (size_t)(k->nparams + 1));
    for (int i = 0; i < k->nparams; i++)
        if (k->params[i]->kind == PARAM_CONST && k->params[i]->nconst_values > 0)
            const_values[i] = k->params[i]->const_values[0];
    Config user = {0};
    *status = EXIT_USAGE;
    if (split_config(k, config, const_values, &user) != 0)
        return NULL;
    *status = EXIT_INPUT;
    TirKernel *tk = tir_lower(arena, diag, k, const_values);
    if (!tk)
        return NULL;
    char err[1024];
    if (config_resolve(tk, &user, resolved, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: --config for kernel %s: %s\n", k->name, err);
        *status = EXIT_USAGE;
        return NULL;
    }
    if (tir_run_pipeline(tk, diag, NULL) != 0)
        return NULL;
    *status = EXIT_OK;
    return tk;
}

/* --emit=ir: the kernel's TIR after the pass pipeline. */
static int emit_ir(FILE *out, Arena *arena, Diag *diag, const Kernel *k, const char *config)
{
    Config resolved;
    int status;
    TirKernel *tk = lower_with_config(arena, diag, k, config, &resolved, &status);
    if (tk)
        tir_print(out, tk);
    return status;
}

/* --emit=llvm|ptx: pulls the codegen-only entries out of --config text — full-axis sizes
   (`D=64`) and the alignment class (`align=vec16|unit|any`) — leaving the rest (const
   values and tunables) in `rest`. Returns 0, or -1 after printing a message. */
static int split_variant(const Kernel *k, const char *text, char *rest, size_t restlen,
                         int64_t *full_sizes, AlignClass *align)
{
    size_t used = 0;
    rest[0] = 0;
    const char *p = text ? text : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        char item[256];
        if (n >= sizeof item) {
            fprintf(stderr, "tilec: error: --config entry too long: '%.40s...'\n", p);
            return -1;
        }
        memcpy(item, p, n);
        item[n] = 0;
        p += n + (p[n] == ',');
        char *eq = strchr(item, '=');
        if (eq) {
            *eq = 0;
            char *name = item, *value = eq + 1;
            while (*name == ' ')
                name++;
            for (char *t = name + strlen(name); t > name && t[-1] == ' ';)
                *--t = 0;
            while (*value == ' ')
                value++;
            if (strcmp(name, "align") == 0) {
                int c = 0;
                while (c < ALIGN_CLASS_COUNT && strncmp(value, align_class_name((AlignClass)c),
                                                        strlen(align_class_name((AlignClass)c))))
                    c++;
                if (c == ALIGN_CLASS_COUNT) {
                    fprintf(stderr, "tilec: error: --config align=%s: expected vec16, unit or any\n",
                            value);
                    return -1;
                }
                *align = (AlignClass)c;
                continue;
            }
            bool is_sym = false;
            for (int i = 0; i < k->nsyms; i++)
                if (k->syms[i]->is_full && strcmp(k->syms[i]->name, name) == 0) {
                    char *end = NULL;
                    long long v = strtoll(value, &end, 10);
                    if (!end || *end || v <= 0 || v > 65536) {
                        fprintf(stderr, "tilec: error: --config %s=%s: expected a size from 1 "
                                        "to 65536\n", name, value);
                        return -1;
                    }
                    full_sizes[i] = v;
                    is_sym = true;
                }
            if (is_sym)
                continue;
            *eq = '=';
        }
        used += (size_t)snprintf(rest + used, restlen - used, "%s%s", used ? "," : "", item);
        if (used >= restlen) {
            fputs("tilec: error: --config is too long\n", stderr);
            return -1;
        }
    }
    return 0;
}

/* Lowers one kernel and compiles its variant (the resolved --config, full-axis sizes from
   --config, align class vec16 unless given) to LLVM IR or PTX. */
static int emit_code(FILE *out, Arena *arena, Diag *diag, const Kernel *k, const char *config,
                     const Target *target, bool llvm)
{
    if (k->nsyms > VARIANT_MAX_SYMS) {
        fprintf(stderr, "tilec: error: kernel %s has %d shape symbols; codegen handles at most %d\n",
                k->name, k->nsyms, VARIANT_MAX_SYMS);
        return EXIT_INPUT;
    }
    int64_t full_sizes[VARIANT_MAX_SYMS] = {0};
    AlignClass align = ALIGN_VEC16;
    char rest[4096];
    if (split_variant(k, config, rest, sizeof rest, full_sizes, &align) != 0)
        return EXIT_USAGE;
    Config resolved;
    int status;
    TirKernel *tk = lower_with_config(arena, diag, k, rest, &resolved, &status);
    if (!tk)
        return status;
    char err[1024];
    Variant v = {.config = &resolved, .align = align};
    int missing = 0;
    for (int i = 0; i < tk->nsyms; i++) {
        if (!tk->syms[i].is_full)
            continue;
        for (int j = 0; j < k->nsyms; j++)
            if (strcmp(k->syms[j]->name, tk->syms[i].name) == 0)
                v.full_sizes[i] = full_sizes[j];
        if (v.full_sizes[i] <= 0) {
            fprintf(stderr, "tilec: error: kernel %s takes full axis %s whole: give its size "
                            "in --config (e.g. --config %s=64)\n", k->name, tk->syms[i].name,
                    tk->syms[i].name);
            missing++;
        }
    }
    if (missing)
        return EXIT_USAGE;
    CompiledKernel ck;
    if (codegen_compile(arena, tk, &v, target, llvm, &ck, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: kernel %s: %s\n", k->name, err);
        return EXIT_INPUT;
    }
    fputs(llvm ? ck.llvm_ir : ck.ptx, out);
    return EXIT_OK;
}

int run_build(const BuildRequest *req)
{
    Arena arena = {0};
    Diag diag = {.out = stderr};
    Program *p;
    int status = EXIT_OK;
    FILE *out = NULL;
    if (front_end(&arena, &diag, req->path, req->target, &p)) {
        status = EXIT_INPUT;
        goto done;
    }
    if (req->kernel && !program_find_kernel(p, req->kernel)) {
        report_unknown_kernel(p, req->kernel);
        status = EXIT_USAGE;
        goto done;
    }
    switch (req->emit) {
    case EMIT_AST:
        if (!(out = open_output(req->output))) {
            status = EXIT_INPUT;
            goto done;
        }
        ast_print(out, p, req->kernel);
        status = close_output(out, req->output);
        break;
    case EMIT_NONE:
        status = build_bundle(req, p, &arena, &diag);
        break;
    case EMIT_IR:
    case EMIT_LLVM:
    case EMIT_PTX:
        if (!(out = open_output(req->output))) {
            status = EXIT_INPUT;
            goto done;
        }
        for (int i = 0; i < p->nkernels && status == EXIT_OK; i++) {
            const Kernel *k = p->kernels[i];
            if (req->kernel && strcmp(req->kernel, k->name) != 0)
                continue;
            if (req->emit == EMIT_IR)
                status = emit_ir(out, &arena, &diag, k, req->config);
            else
                status = emit_code(out, &arena, &diag, k, req->config,
                                   req->target ? req->target : target_lookup("sm_90a"),
                                   req->emit == EMIT_LLVM);
        }
        if (close_output(out, req->output) != EXIT_OK && status == EXIT_OK)
            status = EXIT_INPUT;
        break;
    }
done:
    arena_free(&arena);
    return status;
}
