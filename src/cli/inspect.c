/* inspect.c — `tilec inspect NAME.tbn`: reads a bundle with libtile's own reader and prints
   what it holds: kernels and their signatures, variants (config, consts, full-axis sizes,
   align class, target, threads, shared memory, code sizes), the dispatch table (what each
   entry matches: GPU, const values, align class, shape), targets, and the programs (their
   signatures, intermediates with live ranges, calls in order). */
#include <stdlib.h>
#include <string.h>

#include "bundle_format.h"
#include "cli.h"

static const char *const usage_inspect =
    "usage: tilec inspect BUNDLE\n"
    "\n"
    "Prints the kernels, signatures, variants, dispatch table and target GPUs of a kernel\n"
    "bundle written by `tilec build FILE -o NAME.tbn`, and its programs. Exits 1 if the\n"
    "file is not a valid bundle, with the reader's message.\n";

/* A dim of a kernel's or a program's tensor: a literal, or its symbol `first_sym` on. */
static void print_dim(const TbnBundle *b, uint32_t first_sym, int64_t dim)
{
    if (dim < 0)
        fputs(b->syms[first_sym + (uint32_t)(-dim - 1)].name, stdout);
    else
        printf("%lld", (long long)dim);
}

/* `x: bf16[M, K] in`, `scale: f32`, `causal: const bool`; `access`: a tensor's in, out or
   inout (bundle version 3; unknown before). */
static void print_param(const TbnBundle *b, uint32_t first_sym, const TbnParam *p, bool access)
{
    printf("%s: ", p->name);
    if (p->kind == TBN_PARAM_CONST)
        fputs("const ", stdout);
    fputs(tbn_dtype_name(p->dtype), stdout);
    if (p->kind == TBN_PARAM_CONST && p->nconst_values) {
        fputs(" in {", stdout);
        for (uint32_t c = 0; c < p->nconst_values; c++)
            printf("%s%lld", c ? ", " : "", (long long)p->const_values[c]);
        fputs("}", stdout);
    }
    if (p->kind == TBN_PARAM_TENSOR) {
        fputs("[", stdout);
        for (int d = 0; d < p->rank; d++) {
            if (d)
                fputs(", ", stdout);
            print_dim(b, first_sym, p->dims[d]);
        }
        fputs("]", stdout);
    }
    if (p->reduce)
        printf(" reduce(%s)", tbn_reduce_name(p->reduce));
    if (access && p->kind == TBN_PARAM_TENSOR && p->written >= 0 && p->read >= 0)
        fputs(p->written ? (p->read ? " inout" : " out") : " in", stdout);
}

static void print_symbols(const TbnBundle *b, uint64_t signature, uint32_t first_sym,
                          uint32_t nsyms)
{
    printf("  signature %016llx\n  symbols:", (unsigned long long)signature);
    for (uint32_t s = 0; s < nsyms; s++) {
        const TbnSym *sym = &b->syms[first_sym + s];
        printf(" %s%s", sym->name, sym->full ? " (full)" : "");
    }
    fputs("\n", stdout);
}

static void print_signature(const TbnBundle *b, const TbnKernel *k)
{
    printf("kernel %s(", k->name);
    for (uint32_t i = 0; i < k->nparams; i++) {
        fputs(i ? ", " : "", stdout);
        print_param(b, k->first_sym, &b->params[k->first_param + i], true);
    }
    fputs(")\n", stdout);
    print_symbols(b, k->signature, k->first_sym, k->nsyms);
}

/* One argument of a program's call, as the program names it or as a literal of the kernel
   parameter's dtype. */
static void print_call_arg(const TbnBundle *b, const TbnProgram *p, const TbnParam *q,
                           const TbnCallArg *a)
{
    if (a->kind == TBN_ARG_PARAM)
        fputs(b->params[p->first_param + a->index].name, stdout);
    else if (a->kind == TBN_ARG_TEMP)
        fputs(b->params[p->first_temp + a->index].name, stdout);
    else if (q->dtype == TBN_DT_BOOL)
        fputs(a->value ? "true" : "false", stdout);
    else if (q->dtype == TBN_DT_F32) {
        double d;
        memcpy(&d, &a->value, sizeof d);
        printf("%g", d);
    } else if (q->dtype == TBN_DT_F16 || q->dtype == TBN_DT_BF16)
        printf("%g", dtype_decode((DType)q->dtype, (uint32_t)a->value));
    else
        printf("%lld", (long long)a->value);
}

static void print_program(const TbnBundle *b, const TbnProgram *p)
{
    printf("program %s(", p->name);
    for (uint32_t i = 0; i < p->nparams; i++) {
        fputs(i == p->ninputs ? ") -> (" : i ? ", " : "", stdout);
        print_param(b, p->first_sym, &b->params[p->first_param + i], true);
    }
    fputs(p->ninputs == p->nparams ? ") -> ()\n" : ")\n", stdout);
    print_symbols(b, p->signature, p->first_sym, p->nsyms);
    for (uint32_t t = 0; t < p->ntemps; t++) {
        fputs("  intermediate ", stdout);
        print_param(b, p->first_sym, &b->params[p->first_temp + t], false);
        printf(", live [%lld, %lld]\n", (long long)p->live[2 * t], (long long)p->live[2 * t + 1]);
    }
    for (uint32_t c = 0; c < p->ncalls; c++) {
        const TbnCall *call = &b->calls[p->first_call + c];
        const TbnKernel *k = &b->kernels[call->kernel];
        printf("  call %u: %s(", c, k->name);
        for (uint32_t j = 0; j < call->nargs; j++) {
            fputs(j ? ", " : "", stdout);
            print_call_arg(b, p, &b->params[k->first_param + j], &call->args[j]);
        }
        fputs(")\n", stdout);
    }
}

/* A variant's const values and full-axis sizes: " causal=true D=128" (sep before each). */
static int print_consts(const TbnBundle *b, const TbnKernel *k, const TbnVariant *v,
                        const char *sep)
{
    uint32_t ci = 0;
    int printed = 0;
    for (uint32_t i = 0; i < k->nparams; i++) {
        const TbnParam *p = &b->params[k->first_param + i];
        if (p->kind != TBN_PARAM_CONST)
            continue;
        long long val = (long long)v->consts[ci++];
        printed++;
        if (p->dtype == TBN_DT_BOOL)
            printf("%s%s=%s", sep, p->name, val ? "true" : "false");
        else
            printf("%s%s=%lld", sep, p->name, val);
    }
    for (uint32_t s = 0; s < k->nsyms; s++)
        if (b->syms[k->first_sym + s].full) {
            printf("%s%s=%lld", sep, b->syms[k->first_sym + s].name, (long long)v->full_sizes[s]);
            printed++;
        }
    return printed;
}

static void print_variant(const TbnBundle *b, const TbnKernel *k, uint32_t index)
{
    const TbnVariant *v = &b->variants[index];
    printf("  variant %u: ", index);
    for (uint32_t c = 0; c < v->nconfig; c++) {
        char text[32];
        printf("%s%s=%s", c ? "," : "", v->config[c].name,
               tunable_value_text(v->config[c].name, v->config[c].value, text, sizeof text));
    }
    (void)print_consts(b, k, v, " ");
    printf("\n    align %s, target %s (sm %u), entry %s, %u threads, %u bytes shared, grid "
           "blocks", tbn_align_name(v->align), v->target, v->sm, v->entry, v->num_threads,
           v->smem_bytes);
    for (uint32_t d = 0; d < v->ngrid; d++)
        printf("%s%lld", d ? "x" : " ", (long long)v->grid_blocks[d]);
    printf(", PTX %llu bytes", (unsigned long long)(v->ptx_size - 1));
    if (v->cubin_size)
        printf(", cubin %llu bytes", (unsigned long long)v->cubin_size);
    else
        fputs(", no cubin", stdout);
    fputs("\n", stdout);
    if (v->path[0])
        printf("    path: %s\n", v->path);
    for (uint32_t m = 0; m < v->ntmaps; m++) {
        const TensorMapSpec *t = &v->tmaps[m];
        printf("    tensor map %u: %s, box", m, b->params[k->first_param + t->param].name);
        for (uint32_t d = t->rank; d-- > 0;)   /* in the tensor's order */
            printf("%s%u", d + 1 == t->rank ? " " : "x", t->box[d]);
        printf(", %u-byte swizzle\n", t->swizzle);
    }
}

static void print_dispatch(const TbnBundle *b, const TbnKernel *k)
{
    printf("  dispatch (%u entries):\n", k->ndispatch);
    for (uint32_t i = 0; i < k->ndispatch; i++) {
        const TbnDispatch *e = &b->dispatch[k->first_dispatch + i];
        const TbnVariant *v = &b->variants[e->variant];
        if (strcmp(e->gpu, "*") == 0)
            fputs("    gpu *,", stdout);
        else
            printf("    gpu \"%s\",", e->gpu);
        if (print_consts(b, k, v, " "))
            fputs(",", stdout);
        printf(" align %s", tbn_align_name(v->align));
        if (!e->nshape)
            fputs(", default", stdout);
        for (uint32_t s = 0; s < e->nshape; s++)
            printf("%s%s=%lld", s ? "," : ", shape ", b->syms[k->first_sym +
                   (uint32_t)e->shape[2 * s]].name, (long long)e->shape[2 * s + 1]);
        printf(" -> variant %u\n", e->variant);
    }
}

static void print_targets(const TbnBundle *b)
{
    fputs("targets:", stdout);
    for (uint32_t i = 0; i < b->nvariants; i++) {
        bool seen = false;
        for (uint32_t j = 0; j < i && !seen; j++)
            seen = strcmp(b->variants[j].target, b->variants[i].target) == 0;
        if (!seen)
            printf(" %s", b->variants[i].target);
    }
    fputs("\n", stdout);
}

static int inspect_file(const char *path)
{
    uint8_t *data;
    size_t len;
    char err[4400];
    if (tbn_read_file(path, &data, &len, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: %s\n", err);
        return EXIT_INPUT;
    }
    TbnBundle b;
    int status = EXIT_OK;
    if (tbn_read(data, len, false, &b, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: %s: %s\n", path, err);
        status = EXIT_INPUT;
    } else {
        printf("bundle %s: format version %u, %zu bytes, crc32 %08x, %u kernels, %u variants, "
               "%u programs\n", path, b.version, b.size, b.file_crc, b.nkernels, b.nvariants,
               b.nprograms);
        print_targets(&b);
        for (uint32_t i = 0; i < b.nkernels; i++) {
            const TbnKernel *k = &b.kernels[i];
            fputs("\n", stdout);
            print_signature(&b, k);
            for (uint32_t v = 0; v < k->nvariants; v++)
                print_variant(&b, k, k->first_variant + v);
            print_dispatch(&b, k);
        }
        for (uint32_t i = 0; i < b.nprograms; i++) {
            fputs("\n", stdout);
            print_program(&b, &b.programs[i]);
        }
    }
    tbn_free(&b);
    free(data);
    return status;
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_inspect, stdout);
            return EXIT_OK;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "tilec: error: unknown option '%s'\n%s", argv[i], usage_inspect);
            return EXIT_USAGE;
        }
        if (path) {
            fprintf(stderr, "tilec: error: inspect takes one BUNDLE\n%s", usage_inspect);
            return EXIT_USAGE;
        }
        path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "tilec: error: inspect needs a BUNDLE\n%s", usage_inspect);
        return EXIT_USAGE;
    }
    return inspect_file(path);
}
