/* inspect.c — `tilec inspect NAME.tbn`: reads a bundle with libtile's own reader and prints
   what it holds: kernels and their signatures, variants (config, consts, full-axis sizes,
   align class, target, threads, shared memory, code sizes), the dispatch table (what each
   entry matches: GPU, const values, align class, shape), targets. */
#include <stdlib.h>
#include <string.h>

#include "bundle_format.h"
#include "cli.h"

static const char *const usage_inspect =
    "usage: tilec inspect BUNDLE\n"
    "\n"
    "Prints the kernels, signatures, variants, dispatch table and target GPUs of a kernel\n"
    "bundle written by `tilec build FILE -o NAME.tbn`. Exits 1 if the file is not a valid\n"
    "bundle, with the reader's message.\n";

static void print_dim(const TbnBundle *b, const TbnKernel *k, int64_t dim)
{
    if (dim < 0)
        fputs(b->syms[k->first_sym + (uint32_t)(-dim - 1)].name, stdout);
    else
        printf("%lld", (long long)dim);
}

static void print_signature(const TbnBundle *b, const TbnKernel *k)
{
    printf("kernel %s(", k->name);
    for (uint32_t i = 0; i < k->nparams; i++) {
        const TbnParam *p = &b->params[k->first_param + i];
        printf("%s%s: ", i ? ", " : "", p->name);
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
                print_dim(b, k, p->dims[d]);
            }
            fputs("]", stdout);
        }
        if (p->reduce)
            printf(" reduce(%s)", tbn_reduce_name(p->reduce));
        /* what the kernel does with a tensor (bundle version 3; unknown before) */
        if (p->kind == TBN_PARAM_TENSOR && p->written >= 0 && p->read >= 0)
            fputs(p->written ? (p->read ? " inout" : " out") : " in", stdout);
    }
    printf(")\n  signature %016llx\n  symbols:", (unsigned long long)k->signature);
    for (uint32_t s = 0; s < k->nsyms; s++) {
        const TbnSym *sym = &b->syms[k->first_sym + s];
        printf(" %s%s", sym->name, sym->full ? " (full)" : "");
    }
    fputs("\n", stdout);
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
        printf("bundle %s: format version %u, %zu bytes, crc32 %08x, %u kernels, %u variants\n",
               path, b.version, b.size, b.file_crc, b.nkernels, b.nvariants);
        print_targets(&b);
        for (uint32_t i = 0; i < b.nkernels; i++) {
            const TbnKernel *k = &b.kernels[i];
            fputs("\n", stdout);
            print_signature(&b, k);
            for (uint32_t v = 0; v < k->nvariants; v++)
                print_variant(&b, k, k->first_variant + v);
            print_dispatch(&b, k);
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
