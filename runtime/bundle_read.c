/* bundle_read.c — reads a .tbn bundle into a checked TbnBundle. Every offset, length,
   count, index and string is checked against the file before use, the checksums first;
   a failure names the section, record and field at fault. No recursion, no allocation
   whose size the file controls beyond the file's own size. Also reads a bundle file's
   bytes for libtile and `tilec inspect`. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle_format.h"

typedef struct Section {
    uint64_t offset, size;
    bool present;
} Section;

typedef struct Reader {
    const uint8_t *data;
    size_t size;
    Section sec[TBN_SECTION_KINDS + 1];
    uint32_t version;
    char *err;
    size_t errlen;
} Reader;

static const char *const section_names[TBN_SECTION_KINDS + 1] = {
    "?", "strings", "kernels", "params", "syms", "variants", "configs", "grid", "dispatch",
    "values", "blobs", "launch", "tensor maps", "programs", "calls", "call arguments",
};

static int fail(Reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(Reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(r->err, r->errlen, "invalid bundle: ");
    if (n > 0 && (size_t)n < r->errlen)
        vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* The bytes of record `i` of a record section (the caller checked i < count). */
static const uint8_t *record(const Reader *r, int kind, uint32_t i, size_t size)
{
    return r->data + r->sec[kind].offset + (uint64_t)i * size;
}

static uint32_t record_count(const Reader *r, int kind, size_t size)
{
    return (uint32_t)(r->sec[kind].size / size);
}

/* A string reference: in range and NUL-terminated inside the string section. */
static int string_at(Reader *r, uint32_t ref, const char **out, const char *what)
{
    const Section *s = &r->sec[TBN_SEC_STRINGS];
    if (ref >= s->size)
        return fail(r, "%s: string offset %u is past the string section (%llu bytes)", what, ref,
                    (unsigned long long)s->size);
    const char *start = (const char *)r->data + s->offset + ref;
    if (!memchr(start, '\0', (size_t)(s->size - ref)))
        return fail(r, "%s: string at offset %u runs past the string section", what, ref);
    *out = start;
    return 0;
}

/* A run [first, first + count) of a pool of `limit` items. */
static int run_in(Reader *r, uint32_t first, uint64_t count, uint32_t limit, const char *what)
{
    if (first > limit || count > (uint64_t)(limit - first))
        return fail(r, "%s: run %u+%llu is outside its section (%u entries)", what, first,
                    (unsigned long long)count, limit);
    return 0;
}

static int check_header(Reader *r, uint32_t *version, uint32_t *file_crc)
{
    if (r->size < TBN_HEADER_SIZE)
        return fail(r, "the file has %zu bytes, fewer than the %d-byte header", r->size,
                    TBN_HEADER_SIZE);
    const uint8_t *h = r->data;
    if (memcmp(h, TBN_MAGIC, 8) != 0)
        return fail(r, "no TILEBNDL magic at the start: not a tilec bundle");
    *version = rd32(h + 8);
    if (*version < TBN_OLDEST_VERSION || *version > TBN_VERSION)
        return fail(r, "format version %u; this libtile reads versions %d to %d (rebuild the "
                    "bundle with a matching tilec)", *version, TBN_OLDEST_VERSION, TBN_VERSION);
    r->version = *version;
    if (tbn_crc32(0, h, 60) != rd32(h + 60))
        return fail(r, "header checksum mismatch (the first 64 bytes are corrupt)");
    if (rd32(h + 12) != TBN_HEADER_SIZE)
        return fail(r, "header size %u, expected %d", rd32(h + 12), TBN_HEADER_SIZE);
    uint64_t file_size = rd64(h + 16);
    if (file_size != r->size)
        return fail(r, "the header says %llu bytes but the file has %zu (truncated or padded)",
                    (unsigned long long)file_size, r->size);
    for (int i = 44; i < 60; i++)
        if (h[i])
            return fail(r, "reserved header byte %d is not zero", i);
    if (rd32(h + 28) != 0)
        return fail(r, "unknown header flags 0x%x", rd32(h + 28));
    *file_crc = rd32(h + 40);
    if (tbn_crc32(0, h + TBN_HEADER_SIZE, r->size - TBN_HEADER_SIZE) != *file_crc)
        return fail(r, "file checksum mismatch (the contents after the header are corrupt)");
    return 0;
}

static int check_sections(Reader *r)
{
    const uint8_t *h = r->data;
    uint32_t count = rd32(h + 24);
    uint64_t table = rd64(h + 32);
    if (count > 64)
        return fail(r, "%u sections (at most 64)", count);
    if (table < TBN_HEADER_SIZE || table > r->size ||
        (uint64_t)count * TBN_SECTION_ENTRY_SIZE > r->size - table)
        return fail(r, "the section table (%u entries at offset %llu) is outside the file",
                    count, (unsigned long long)table);
    static const size_t record_sizes[TBN_SECTION_KINDS + 1] = {
        0, 1, TBN_KERNEL_SIZE, TBN_PARAM_SIZE, TBN_SYM_SIZE, TBN_VARIANT_SIZE,
        TBN_CONFIG_SIZE, TBN_GRID_INSTR_SIZE, TBN_DISPATCH_SIZE, 8, 1, TBN_LAUNCH_SIZE,
        TBN_TMAP_SIZE, TBN_PROGRAM_SIZE, TBN_CALL_SIZE, TBN_CALL_ARG_SIZE,
    };
    int kinds = r->version == 1 ? TBN_V1_SECTION_KINDS
                : r->version == 2 ? TBN_V2_SECTION_KINDS
                : r->version == 3 ? TBN_V3_SECTION_KINDS : TBN_SECTION_KINDS;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = h + table + (uint64_t)i * TBN_SECTION_ENTRY_SIZE;
        uint32_t kind = rd32(e);
        uint64_t off = rd64(e + 8), size = rd64(e + 16);
        if (kind < 1 || (int)kind > kinds)
            return fail(r, "section %u has unknown kind %u (version %u)", i, kind, r->version);
        if (rd32(e + 4) != 0)
            return fail(r, "section %u (%s): reserved field is not zero", i, section_names[kind]);
        if (r->sec[kind].present)
            return fail(r, "the %s section appears twice", section_names[kind]);
        if (off < TBN_HEADER_SIZE || off > r->size || size > r->size - off)
            return fail(r, "the %s section (%llu bytes at offset %llu) is outside the file "
                        "(%zu bytes)", section_names[kind], (unsigned long long)size,
                        (unsigned long long)off, r->size);
        if (size % record_sizes[kind] != 0)
            return fail(r, "the %s section's size %llu is not a multiple of its %zu-byte "
                        "records", section_names[kind], (unsigned long long)size,
                        record_sizes[kind]);
        if (size / record_sizes[kind] > UINT32_MAX)
            return fail(r, "the %s section has too many records", section_names[kind]);
        r->sec[kind] = (Section){off, size, true};
    }
    for (int k = 1; k <= kinds; k++)
        if (!r->sec[k].present)
            return fail(r, "the %s section is missing", section_names[k]);
    return 0;
}

static int read_values(Reader *r, TbnBundle *b)
{
    b->nvalues = record_count(r, TBN_SEC_VALUES, 8);
    for (uint32_t i = 0; i < b->nvalues; i++)
        b->values[i] = (int64_t)rd64(record(r, TBN_SEC_VALUES, i, 8));
    return 0;
}

static int read_syms(Reader *r, TbnBundle *b)
{
    b->nsyms = record_count(r, TBN_SEC_SYMS, TBN_SYM_SIZE);
    for (uint32_t i = 0; i < b->nsyms; i++) {
        const uint8_t *p = record(r, TBN_SEC_SYMS, i, TBN_SYM_SIZE);
        char what[64];
        snprintf(what, sizeof what, "symbol %u", i);
        if (string_at(r, rd32(p), &b->syms[i].name, what) != 0)
            return -1;
        uint32_t flags = rd32(p + 4);
        if (flags & ~(uint32_t)TBN_SYM_FULL)
            return fail(r, "symbol %u (%s): unknown flags 0x%x", i, b->syms[i].name, flags);
        b->syms[i].full = flags & TBN_SYM_FULL;
    }
    return 0;
}

static int read_params(Reader *r, TbnBundle *b)
{
    b->nparams = record_count(r, TBN_SEC_PARAMS, TBN_PARAM_SIZE);
    for (uint32_t i = 0; i < b->nparams; i++) {
        const uint8_t *p = record(r, TBN_SEC_PARAMS, i, TBN_PARAM_SIZE);
        TbnParam *q = &b->params[i];
        char what[96];
        snprintf(what, sizeof what, "parameter %u", i);
        if (string_at(r, rd32(p), &q->name, what) != 0)
            return -1;
        snprintf(what, sizeof what, "parameter %u (%s)", i, q->name);
        q->kind = p[4];
        q->dtype = p[5];
        q->rank = p[6];
        q->reduce = p[7];
        if (q->kind > TBN_PARAM_CONST)
            return fail(r, "%s: unknown kind %u", what, q->kind);
        if (q->dtype >= (r->version < 5 ? TBN_DT_V4_COUNT : TBN_DT_COUNT))
            return fail(r, "%s: unknown dtype %u (version %u)", what, q->dtype, r->version);
        if (q->kind == TBN_PARAM_SCALAR && q->dtype >= TBN_DT_V4_COUNT)
            return fail(r, "%s: a scalar of dtype %s", what, tbn_dtype_name(q->dtype));
        if (q->rank > TBN_MAX_RANK || (q->kind != TBN_PARAM_TENSOR && q->rank != 0))
            return fail(r, "%s: rank %u", what, q->rank);
        if (q->kind == TBN_PARAM_TENSOR && q->rank == 0)
            return fail(r, "%s: a tensor of rank 0", what);
        if (q->reduce >= TBN_REDUCE_COUNT || (q->reduce && q->kind != TBN_PARAM_TENSOR))
            return fail(r, "%s: reduce op %u", what, q->reduce);
        uint32_t first_dim = rd32(p + 8), first_const = rd32(p + 12), nconst = rd32(p + 16);
        if (run_in(r, first_dim, q->rank, b->nvalues, what) != 0 ||
            run_in(r, first_const, nconst, b->nvalues, what) != 0)
            return -1;
        for (int d = 0; d < q->rank; d++)
            q->dims[d] = b->values[first_dim + (uint32_t)d];
        if (nconst && (q->kind != TBN_PARAM_CONST || q->dtype == TBN_DT_BOOL))
            return fail(r, "%s: declared values on a %s %s", what, tbn_dtype_name(q->dtype),
                        tbn_param_kind_name(q->kind));
        if (q->kind == TBN_PARAM_CONST && q->dtype != TBN_DT_BOOL &&
            q->dtype != TBN_DT_I32 && q->dtype != TBN_DT_I64)
            return fail(r, "%s: a const of dtype %s", what, tbn_dtype_name(q->dtype));
        q->const_values = nconst ? b->values + first_const : NULL;
        q->nconst_values = nconst;
        uint32_t flags = rd32(p + 20);
        if (r->version < 3) {
            q->written = q->read = -1;   /* not recorded */
        } else if ((flags & ~(uint32_t)(TBN_PARAM_WRITTEN | TBN_PARAM_READ)) ||
                   (flags && q->kind != TBN_PARAM_TENSOR)) {
            return fail(r, "%s: flags %#x", what, flags);
        } else {
            q->written = (flags & TBN_PARAM_WRITTEN) != 0;
            q->read = (flags & TBN_PARAM_READ) != 0;
        }
    }
    return 0;
}

static int read_configs(Reader *r, TbnBundle *b)
{
    b->nconfigs = record_count(r, TBN_SEC_CONFIGS, TBN_CONFIG_SIZE);
    for (uint32_t i = 0; i < b->nconfigs; i++) {
        const uint8_t *p = record(r, TBN_SEC_CONFIGS, i, TBN_CONFIG_SIZE);
        char what[64];
        snprintf(what, sizeof what, "config entry %u", i);
        if (string_at(r, rd32(p), &b->configs[i].name, what) != 0)
            return -1;
        b->configs[i].value = (int64_t)rd64(p + 8);
    }
    return 0;
}

static int read_grid(Reader *r, TbnBundle *b)
{
    b->ngrid = record_count(r, TBN_SEC_GRID, TBN_GRID_INSTR_SIZE);
    for (uint32_t i = 0; i < b->ngrid; i++) {
        const uint8_t *p = record(r, TBN_SEC_GRID, i, TBN_GRID_INSTR_SIZE);
        b->grid[i] = (TbnGridInstr){p[0], p[1], p[2], rd32(p + 4), (int64_t)rd64(p + 8)};
    }
    return 0;
}

static int read_kernels(Reader *r, TbnBundle *b)
{
    b->nkernels = record_count(r, TBN_SEC_KERNELS, TBN_KERNEL_SIZE);
    for (uint32_t i = 0; i < b->nkernels; i++) {
        const uint8_t *p = record(r, TBN_SEC_KERNELS, i, TBN_KERNEL_SIZE);
        TbnKernel *k = &b->kernels[i];
        char what[96];
        snprintf(what, sizeof what, "kernel %u", i);
        if (string_at(r, rd32(p), &k->name, what) != 0)
            return -1;
        snprintf(what, sizeof what, "kernel %u (%s)", i, k->name);
        k->first_param = rd32(p + 4);
        k->nparams = rd32(p + 8);
        k->first_sym = rd32(p + 12);
        k->nsyms = rd32(p + 16);
        k->first_variant = rd32(p + 20);
        k->nvariants = rd32(p + 24);
        k->first_dispatch = rd32(p + 28);
        k->ndispatch = rd32(p + 32);
        k->signature = rd64(p + 40);
        if (k->nparams > TBN_MAX_PARAMS || k->nsyms > TBN_MAX_SYMS)
            return fail(r, "%s: %u parameters and %u symbols (at most %d and %d)", what,
                        k->nparams, k->nsyms, TBN_MAX_PARAMS, TBN_MAX_SYMS);
        if (run_in(r, k->first_param, k->nparams, b->nparams, what) != 0 ||
            run_in(r, k->first_sym, k->nsyms, b->nsyms, what) != 0 ||
            run_in(r, k->first_variant, k->nvariants, b->nvariants, what) != 0 ||
            run_in(r, k->first_dispatch, k->ndispatch, b->ndispatch, what) != 0)
            return -1;
        if (k->nvariants == 0)
            return fail(r, "%s has no variants", what);
        for (uint32_t j = 0; j < k->nparams; j++) {
            const TbnParam *q = &b->params[k->first_param + j];
            k->nconsts += q->kind == TBN_PARAM_CONST;
            k->ntensors += q->kind == TBN_PARAM_TENSOR;
            k->nscalars += q->kind == TBN_PARAM_SCALAR;
            for (int d = 0; d < q->rank; d++)
                if (q->dims[d] < -(int64_t)k->nsyms)
                    return fail(r, "%s: parameter %s dim %d names symbol %lld of %u", what,
                                q->name, d, (long long)(-q->dims[d] - 1), k->nsyms);
            for (uint32_t j2 = 0; j2 < j; j2++)
                if (strcmp(b->params[k->first_param + j2].name, q->name) == 0)
                    return fail(r, "%s: two parameters named %s", what, q->name);
        }
        uint64_t sig = tbn_signature(k->name, b->params + k->first_param, k->nparams,
                                     b->syms + k->first_sym, k->nsyms);
        if (sig != k->signature)
            return fail(r, "%s: signature hash %016llx does not match its parameters "
                        "(%016llx)", what, (unsigned long long)k->signature,
                        (unsigned long long)sig);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(b->kernels[j].name, k->name) == 0)
                return fail(r, "two kernels named %s", k->name);
    }
    return 0;
}

/* Simulates the program's stack: depth, operand dtypes, indices, one extent per grid
   variable, so that evaluating it at launch time cannot fail. */
static int check_grid_program(Reader *r, const TbnBundle *b, const TbnKernel *k,
                              const TbnVariant *v, const char *what)
{
    uint8_t types[TBN_MAX_GRID_STACK];
    bool seen[TBN_MAX_GRID_VARS] = {false};
    int sp = 0;
    for (uint32_t n = 0; n < v->ngrid_instrs; n++) {
        const TbnGridInstr *g = &v->grid[n];
        int dt = g->dtype;
        bool dt_ok = dt == TBN_DT_F32 || dt == TBN_DT_I32 || dt == TBN_DT_I64 || dt == TBN_DT_BOOL;
        int pops = 0;
        switch (g->op) {
        case TBN_G_INT:
        case TBN_G_FLOAT:
            if ((g->op == TBN_G_FLOAT) != (dt == TBN_DT_F32))
                return fail(r, "%s: grid instruction %u: immediate of dtype %s", what, n,
                            tbn_dtype_name(dt));
            break;
        case TBN_G_SYM:
            if (g->index >= k->nsyms || dt != TBN_DT_I64)
                return fail(r, "%s: grid instruction %u reads symbol %u of %u", what, n,
                            g->index, k->nsyms);
            break;
        case TBN_G_SCALAR:
            if (g->index >= k->nparams ||
                b->params[k->first_param + g->index].kind != TBN_PARAM_SCALAR ||
                b->params[k->first_param + g->index].dtype != dt)
                return fail(r, "%s: grid instruction %u reads parameter %u, not a scalar of "
                            "dtype %s", what, n, g->index, tbn_dtype_name(dt));
            break;
        case TBN_G_UNARY:
            pops = 1;
            if (g->sub >= TBN_UN_COUNT || (g->sub == TBN_UN_NOT && dt == TBN_DT_F32))
                return fail(r, "%s: grid instruction %u: unary op %u", what, n, g->sub);
            break;
        case TBN_G_BINARY:
            pops = 2;
            if (g->sub >= TBN_BIN_COUNT ||
                (dt == TBN_DT_F32 && g->sub > TBN_BIN_DIV && g->sub != TBN_BIN_MAX &&
                 g->sub != TBN_BIN_MIN))
                return fail(r, "%s: grid instruction %u: binary op %u on %s", what, n, g->sub,
                            tbn_dtype_name(dt));
            break;
        case TBN_G_CMP:
            pops = 2;
            if (g->sub >= TBN_CMP_COUNT || dt != TBN_DT_BOOL)
                return fail(r, "%s: grid instruction %u: comparison %u", what, n, g->sub);
            break;
        case TBN_G_SELECT: pops = 3; break;
        case TBN_G_CONVERT: pops = 1; break;
        case TBN_G_EXTENT:
            pops = 1;
            if (g->index >= v->ngrid || seen[g->index])
                return fail(r, "%s: grid instruction %u sets extent %u (of %u, each once)",
                            what, n, g->index, v->ngrid);
            seen[g->index] = true;
            break;
        default:
            return fail(r, "%s: grid instruction %u has unknown op %u", what, n, g->op);
        }
        if (!dt_ok)
            return fail(r, "%s: grid instruction %u has dtype %s", what, n, tbn_dtype_name(dt));
        if (sp < pops)
            return fail(r, "%s: grid instruction %u pops an empty stack", what, n);
        /* operand dtypes: binary/unary/select values and compared pairs must agree */
        if ((g->op == TBN_G_BINARY && (types[sp - 1] != dt || types[sp - 2] != dt)) ||
            (g->op == TBN_G_UNARY && types[sp - 1] != dt) ||
            (g->op == TBN_G_CMP && types[sp - 1] != types[sp - 2]) ||
            (g->op == TBN_G_SELECT && (types[sp - 3] != TBN_DT_BOOL || types[sp - 2] != dt ||
                                       types[sp - 1] != dt)) ||
            (g->op == TBN_G_EXTENT && types[sp - 1] != TBN_DT_I64 && types[sp - 1] != TBN_DT_I32))
            return fail(r, "%s: grid instruction %u: operand dtypes do not match", what, n);
        sp -= pops;
        if (g->op == TBN_G_EXTENT)
            continue;
        if (sp >= TBN_MAX_GRID_STACK)
            return fail(r, "%s: grid program deeper than %d", what, TBN_MAX_GRID_STACK);
        types[sp++] = (uint8_t)dt;
    }
    if (sp != 0)
        return fail(r, "%s: grid program leaves %d values on the stack", what, sp);
    for (uint32_t d = 0; d < v->ngrid; d++)
        if (!seen[d])
            return fail(r, "%s: grid program never sets extent %u", what, d);
    return 0;
}

static int blob_at(Reader *r, uint64_t off, uint64_t size, const uint8_t **out,
                   const char *what, const char *blob)
{
    const Section *s = &r->sec[TBN_SEC_BLOBS];
    if (off > s->size || size > s->size - off)
        return fail(r, "%s: %s (%llu bytes at %llu) is outside the blob section", what, blob,
                    (unsigned long long)size, (unsigned long long)off);
    *out = r->data + s->offset + off;
    return 0;
}

/* Version 2: how variant i launches (persistent, the tensor maps it takes). */
static int read_launch(Reader *r, TbnBundle *b, const TbnKernel *k, TbnVariant *v, uint32_t i,
                       const char *what)
{
    if (record_count(r, TBN_SEC_LAUNCH, TBN_LAUNCH_SIZE) != b->nvariants)
        return fail(r, "the launch section has %u records for %u variants",
                    (unsigned)record_count(r, TBN_SEC_LAUNCH, TBN_LAUNCH_SIZE), b->nvariants);
    const uint8_t *p = record(r, TBN_SEC_LAUNCH, i, TBN_LAUNCH_SIZE);
    uint32_t flags = rd32(p), first = rd32(p + 4);
    v->ntmaps = rd32(p + 8);
    if (flags & ~(uint32_t)TBN_LAUNCH_PERSISTENT)
        return fail(r, "%s: unknown launch flags 0x%x", what, flags);
    if (string_at(r, rd32(p + 12), &v->path, what) != 0)
        return -1;
    v->persistent = flags & TBN_LAUNCH_PERSISTENT;
    if (v->ntmaps > TBN_MAX_TMAPS)
        return fail(r, "%s: %u tensor maps (at most %d)", what, v->ntmaps, TBN_MAX_TMAPS);
    if (run_in(r, first, v->ntmaps, b->ntmaps, what) != 0)
        return -1;
    v->tmaps = b->tmaps + first;
    for (uint32_t m = 0; m < v->ntmaps; m++) {
        const TensorMapSpec *t = &v->tmaps[m];
        if (t->param >= k->nparams || b->params[k->first_param + t->param].kind != TBN_PARAM_TENSOR)
            return fail(r, "%s: tensor map %u names parameter %u, not a tensor", what, m, t->param);
        const TbnParam *q = &b->params[k->first_param + t->param];
        int es = tbn_dtype_size(q->dtype);
        if (t->rank != q->rank || t->rank < 1 || t->rank > TMAP_MAX_RANK ||
            (t->swizzle != 32 && t->swizzle != 64 && t->swizzle != 128) ||
            t->box[0] * (uint32_t)es > t->swizzle)
            return fail(r, "%s: tensor map %u: rank %u, swizzle %u, inner box %u", what, m,
                        t->rank, t->swizzle, t->box[0]);
        for (uint32_t d = 0; d < TMAP_MAX_RANK; d++)
            if (d < t->rank ? (t->box[d] < 1 || t->box[d] > 256) : t->box[d] != 0)
                return fail(r, "%s: tensor map %u: box %u along dim %u", what, m, t->box[d], d);
    }
    return 0;
}

static int read_tmaps(Reader *r, TbnBundle *b)
{
    if (r->version < 2)
        return 0;
    b->ntmaps = (uint32_t)record_count(r, TBN_SEC_TMAPS, TBN_TMAP_SIZE);
    for (uint32_t i = 0; i < b->ntmaps; i++) {
        const uint8_t *p = record(r, TBN_SEC_TMAPS, i, TBN_TMAP_SIZE);
        TensorMapSpec *t = &b->tmaps[i];
        t->param = rd32(p);
        t->rank = rd32(p + 4);
        for (int d = 0; d < TMAP_MAX_RANK; d++)
            t->box[d] = rd32(p + 8 + 4 * d);
        t->swizzle = rd32(p + 28);
    }
    return 0;
}

static int read_variants(Reader *r, TbnBundle *b)
{
    b->nvariants = record_count(r, TBN_SEC_VARIANTS, TBN_VARIANT_SIZE);
    for (uint32_t i = 0; i < b->nvariants; i++) {
        const uint8_t *p = record(r, TBN_SEC_VARIANTS, i, TBN_VARIANT_SIZE);
        TbnVariant *v = &b->variants[i];
        char what[64];
        snprintf(what, sizeof what, "variant %u", i);
        v->kernel = rd32(p);
        uint32_t first_config = rd32(p + 4), first_const = rd32(p + 12),
                 first_full = rd32(p + 16), first_block = rd32(p + 20),
                 first_instr = rd32(p + 28);
        v->nconfig = rd32(p + 8);
        v->ngrid = rd32(p + 24);
        v->ngrid_instrs = rd32(p + 32);
        v->sm = rd32(p + 36);
        uint32_t target = rd32(p + 40), entry = rd32(p + 44);
        v->num_threads = rd32(p + 48);
        v->smem_bytes = rd32(p + 52);
        v->align = p[56];
        uint64_t ptx_off = rd64(p + 64), ptx_size = rd64(p + 72);
        uint64_t cubin_off = rd64(p + 80), cubin_size = rd64(p + 88);
        if (v->kernel >= b->nkernels)
            return fail(r, "%s names kernel %u of %u", what, v->kernel, b->nkernels);
        const TbnKernel *k = &b->kernels[v->kernel];
        if (i < k->first_variant || i - k->first_variant >= k->nvariants)
            return fail(r, "%s is outside its kernel %s's variant run", what, k->name);
        if (v->nconfig > TBN_MAX_CONFIG || v->ngrid > TBN_MAX_GRID_VARS || v->ngrid == 0 ||
            v->ngrid_instrs > TBN_MAX_GRID_INSTRS)
            return fail(r, "%s: %u config entries, %u grid variables, %u grid instructions",
                        what, v->nconfig, v->ngrid, v->ngrid_instrs);
        if (run_in(r, first_config, v->nconfig, b->nconfigs, what) != 0 ||
            run_in(r, first_const, k->nconsts, b->nvalues, what) != 0 ||
            run_in(r, first_full, k->nsyms, b->nvalues, what) != 0 ||
            run_in(r, first_block, v->ngrid, b->nvalues, what) != 0 ||
            run_in(r, first_instr, v->ngrid_instrs, b->ngrid, what) != 0)
            return -1;
        v->config = b->configs + first_config;
        v->consts = b->values + first_const;
        v->full_sizes = b->values + first_full;
        v->grid_blocks = b->values + first_block;
        v->grid = b->grid + first_instr;
        if (string_at(r, target, &v->target, what) != 0 ||
            string_at(r, entry, &v->entry, what) != 0)
            return -1;
        if (!v->entry[0])
            return fail(r, "%s: empty entry name", what);
        if (v->align >= TBN_ALIGN_COUNT)
            return fail(r, "%s: unknown alignment class %u", what, v->align);
        if (v->num_threads == 0 || v->num_threads > 1024 || v->smem_bytes > (1u << 24))
            return fail(r, "%s: %u threads, %u bytes of shared memory", what, v->num_threads,
                        v->smem_bytes);
        for (uint32_t d = 0; d < v->ngrid; d++)
            if (v->grid_blocks[d] < 1 || v->grid_blocks[d] > (1 << 20))
                return fail(r, "%s: grid block size %lld", what, (long long)v->grid_blocks[d]);
        uint32_t c = 0;
        for (uint32_t j = 0; j < k->nparams; j++) {
            const TbnParam *q = &b->params[k->first_param + j];
            if (q->kind != TBN_PARAM_CONST)
                continue;
            int64_t val = v->consts[c++];
            bool ok = q->dtype == TBN_DT_BOOL ? (val == 0 || val == 1) : false;
            for (uint32_t n = 0; n < q->nconst_values; n++)
                ok |= q->const_values[n] == val;
            if (!ok)
                return fail(r, "%s: const %s = %lld is not a declared value", what, q->name,
                            (long long)val);
        }
        for (uint32_t s = 0; s < k->nsyms; s++)
            if (b->syms[k->first_sym + s].full && v->full_sizes[s] < 1)
                return fail(r, "%s: full-axis symbol %s has size %lld", what,
                            b->syms[k->first_sym + s].name, (long long)v->full_sizes[s]);
        const uint8_t *ptx = NULL;
        if (blob_at(r, ptx_off, ptx_size, &ptx, what, "its PTX") != 0)
            return -1;
        if (ptx_size == 0 || ptx[ptx_size - 1] != '\0')
            return fail(r, "%s: its PTX is not NUL-terminated", what);
        v->ptx = (const char *)ptx;
        v->ptx_size = ptx_size;
        v->cubin = NULL;
        v->cubin_size = cubin_size;
        v->path = "";
        if (cubin_size && blob_at(r, cubin_off, cubin_size, &v->cubin, what, "its cubin") != 0)
            return -1;
        if (check_grid_program(r, b, k, v, what) != 0)
            return -1;
        if (r->version >= 2 && read_launch(r, b, k, v, i, what) != 0)
            return -1;
    }
    return 0;
}

static int read_dispatch(Reader *r, TbnBundle *b)
{
    b->ndispatch = record_count(r, TBN_SEC_DISPATCH, TBN_DISPATCH_SIZE);
    for (uint32_t i = 0; i < b->ndispatch; i++) {
        const uint8_t *p = record(r, TBN_SEC_DISPATCH, i, TBN_DISPATCH_SIZE);
        TbnDispatch *e = &b->dispatch[i];
        char what[64];
        snprintf(what, sizeof what, "dispatch entry %u", i);
        e->kernel = rd32(p);
        e->variant = rd32(p + 4);
        uint32_t first_shape = rd32(p + 12);
        e->nshape = rd32(p + 16);
        if (rd32(p + 20) != 0)
            return fail(r, "%s: unknown flags", what);
        if (e->kernel >= b->nkernels)
            return fail(r, "%s names kernel %u of %u", what, e->kernel, b->nkernels);
        const TbnKernel *k = &b->kernels[e->kernel];
        if (i < k->first_dispatch || i - k->first_dispatch >= k->ndispatch)
            return fail(r, "%s is outside its kernel %s's dispatch run", what, k->name);
        if (e->variant >= b->nvariants || b->variants[e->variant].kernel != e->kernel)
            return fail(r, "%s names variant %u, not one of kernel %s's", what, e->variant,
                        k->name);
        if (string_at(r, rd32(p + 8), &e->gpu, what) != 0)
            return -1;
        if (e->nshape > TBN_MAX_SHAPE_KEY)
            return fail(r, "%s: shape key of %u symbols", what, e->nshape);
        if (run_in(r, first_shape, 2ull * e->nshape, b->nvalues, what) != 0)
            return -1;
        e->shape = b->values + first_shape;
        for (uint32_t s = 0; s < e->nshape; s++)
            if (e->shape[2 * s] < 0 || e->shape[2 * s] >= (int64_t)k->nsyms ||
                e->shape[2 * s + 1] < 0)
                return fail(r, "%s: shape key entry %u (symbol %lld = %lld)", what, s,
                            (long long)e->shape[2 * s], (long long)e->shape[2 * s + 1]);
    }
    return 0;
}

/* ---- programs (version 4) */

static int read_call_args(Reader *r, TbnBundle *b)
{
    b->ncall_args = record_count(r, TBN_SEC_CALL_ARGS, TBN_CALL_ARG_SIZE);
    for (uint32_t i = 0; i < b->ncall_args; i++) {
        const uint8_t *p = record(r, TBN_SEC_CALL_ARGS, i, TBN_CALL_ARG_SIZE);
        TbnCallArg *a = &b->call_args[i];
        *a = (TbnCallArg){p[0], rd32(p + 4), (int64_t)rd64(p + 8)};
        if (a->kind >= TBN_ARG_COUNT || p[1] || p[2] || p[3])
            return fail(r, "call argument %u: kind %u", i, a->kind);
    }
    return 0;
}

static int read_calls(Reader *r, TbnBundle *b)
{
    b->ncalls = record_count(r, TBN_SEC_CALLS, TBN_CALL_SIZE);
    for (uint32_t i = 0; i < b->ncalls; i++) {
        const uint8_t *p = record(r, TBN_SEC_CALLS, i, TBN_CALL_SIZE);
        TbnCall *c = &b->calls[i];
        char what[64];
        snprintf(what, sizeof what, "call %u", i);
        c->kernel = rd32(p);
        uint32_t first_arg = rd32(p + 4), first_size = rd32(p + 12);
        c->nargs = rd32(p + 8);
        c->nsizes = rd32(p + 16);
        if (rd32(p + 20) != 0)
            return fail(r, "%s: reserved field is not zero", what);
        if (c->kernel >= b->nkernels)
            return fail(r, "%s names kernel %u of %u", what, c->kernel, b->nkernels);
        const TbnKernel *k = &b->kernels[c->kernel];
        if (c->nargs != k->nparams || c->nsizes != k->nsyms)
            return fail(r, "%s of kernel %s: %u arguments and %u sizes for %u parameters and %u "
                        "symbols", what, k->name, c->nargs, c->nsizes, k->nparams, k->nsyms);
        if (run_in(r, first_arg, c->nargs, b->ncall_args, what) != 0 ||
            run_in(r, first_size, c->nsizes, b->nvalues, what) != 0)
            return -1;
        c->args = b->call_args + first_arg;
        c->sizes = b->values + first_size;
    }
    return 0;
}

/* A tensor's dims against a kernel parameter's: a literal equal, a symbol the size the call
   gives it (sizes and dims both encoded as a literal >= 0 or -(program symbol + 1)). */
static bool dims_agree(const TbnParam *kernel_param, const TbnParam *given, const TbnCall *c)
{
    for (int d = 0; d < kernel_param->rank; d++) {
        int64_t want = kernel_param->dims[d];
        if ((want >= 0 ? want : c->sizes[-want - 1]) != given->dims[d])
            return false;
    }
    return true;
}

/* One argument of call c against its kernel's parameter q: what libtile passes for it must
   be what the kernel's signature takes, so a launch of the program cannot pass a tensor of
   another dtype, rank or size than its kernel's own checks expect. */
static int check_call_arg(Reader *r, const TbnBundle *b, const TbnProgram *prog,
                          const TbnCall *c, const TbnParam *q, const TbnCallArg *a,
                          const char *what)
{
    const TbnParam *given = NULL;
    if (a->kind == TBN_ARG_PARAM && a->index < prog->nparams)
        given = &b->params[prog->first_param + a->index];
    else if (a->kind == TBN_ARG_TEMP && a->index < prog->ntemps)
        given = &b->params[prog->first_temp + a->index];
    else if (a->kind != TBN_ARG_LITERAL)
        return fail(r, "%s: argument %s names %s %u of %u", what, q->name,
                    a->kind == TBN_ARG_PARAM ? "parameter" : "intermediate", a->index,
                    a->kind == TBN_ARG_PARAM ? prog->nparams : prog->ntemps);
    if (!given) {
        bool ok = q->kind == TBN_PARAM_SCALAR || (q->kind == TBN_PARAM_CONST && q->dtype == TBN_DT_BOOL
                                                  && (a->value == 0 || a->value == 1));
        for (uint32_t n = 0; q->kind == TBN_PARAM_CONST && n < q->nconst_values; n++)
            ok |= q->const_values[n] == a->value;
        if (!ok)
            return fail(r, "%s: the literal %lld for %s %s", what, (long long)a->value,
                        tbn_param_kind_name(q->kind), q->name);
        return 0;
    }
    if (q->kind == TBN_PARAM_CONST || given->kind != q->kind || given->dtype != q->dtype ||
        given->rank != q->rank || (q->kind == TBN_PARAM_TENSOR && !dims_agree(q, given, c)))
        return fail(r, "%s: argument %s (%s %s) does not fit the kernel's %s %s", what, q->name,
                    tbn_dtype_name(given->dtype), given->name, tbn_dtype_name(q->dtype),
                    tbn_param_kind_name(q->kind));
    return 0;
}

/* A program's own tensors (parameters and intermediates): dims of its symbols. */
static int check_program_tensor(Reader *r, const TbnProgram *p, const TbnParam *q,
                                bool temp, const char *what)
{
    if (q->kind == TBN_PARAM_CONST || q->reduce != TBN_REDUCE_NONE ||
        (temp && q->kind != TBN_PARAM_TENSOR))
        return fail(r, "%s: %s %s is a %s", what, temp ? "intermediate" : "parameter", q->name,
                    q->reduce ? "reduction target" : tbn_param_kind_name(q->kind));
    for (int d = 0; d < q->rank; d++)
        if (q->dims[d] < -(int64_t)p->nsyms)
            return fail(r, "%s: %s dim %d names symbol %lld of %u", what, q->name, d,
                        (long long)(-q->dims[d] - 1), p->nsyms);
    return 0;
}

static int check_program(Reader *r, TbnBundle *b, TbnProgram *p, const char *what)
{
    for (uint32_t j = 0; j < p->nparams + p->ntemps; j++) {
        bool temp = j >= p->nparams;
        const TbnParam *q = &b->params[temp ? p->first_temp + j - p->nparams : p->first_param + j];
        if (check_program_tensor(r, p, q, temp, what) != 0)
            return -1;
        if (!temp && j >= p->ninputs && q->kind != TBN_PARAM_TENSOR)
            return fail(r, "%s: output %s is not a tensor", what, q->name);
        p->ntensors += !temp && q->kind == TBN_PARAM_TENSOR;
        p->nscalars += !temp && q->kind == TBN_PARAM_SCALAR;
    }
    for (uint32_t t = 0; t < p->ntemps; t++)
        if (p->live[2 * t] < 0 || p->live[2 * t] > p->live[2 * t + 1] ||
            p->live[2 * t + 1] >= (int64_t)p->ncalls)
            return fail(r, "%s: intermediate %s lives from call %lld to %lld of %u", what,
                        b->params[p->first_temp + t].name, (long long)p->live[2 * t],
                        (long long)p->live[2 * t + 1], p->ncalls);
    for (uint32_t c = 0; c < p->ncalls; c++) {
        const TbnCall *call = &b->calls[p->first_call + c];
        const TbnKernel *k = &b->kernels[call->kernel];
        char at[160];
        snprintf(at, sizeof at, "%s, call %u (%s)", what, c, k->name);
        for (uint32_t s = 0; s < call->nsizes; s++)
            if (call->sizes[s] < -(int64_t)p->nsyms)
                return fail(r, "%s: symbol %u is program symbol %lld of %u", at, s,
                            (long long)(-call->sizes[s] - 1), p->nsyms);
        for (uint32_t j = 0; j < call->nargs; j++)
            if (check_call_arg(r, b, p, call, &b->params[k->first_param + j], &call->args[j], at) != 0)
                return -1;
    }
    uint64_t sig = tbn_signature(p->name, b->params + p->first_param, p->nparams,
                                 b->syms + p->first_sym, p->nsyms);
    if (sig != p->signature)
        return fail(r, "%s: signature hash %016llx does not match its parameters (%016llx)",
                    what, (unsigned long long)p->signature, (unsigned long long)sig);
    return 0;
}

static int read_programs(Reader *r, TbnBundle *b)
{
    if (r->version < 4)
        return 0;
    if (read_call_args(r, b) || read_calls(r, b))
        return -1;
    b->nprograms = record_count(r, TBN_SEC_PROGRAMS, TBN_PROGRAM_SIZE);
    for (uint32_t i = 0; i < b->nprograms; i++) {
        const uint8_t *rec = record(r, TBN_SEC_PROGRAMS, i, TBN_PROGRAM_SIZE);
        TbnProgram *p = &b->programs[i];
        char what[96];
        snprintf(what, sizeof what, "program %u", i);
        if (string_at(r, rd32(rec), &p->name, what) != 0)
            return -1;
        snprintf(what, sizeof what, "program %u (%s)", i, p->name);
        p->first_param = rd32(rec + 4);
        p->nparams = rd32(rec + 8);
        p->ninputs = rd32(rec + 12);
        p->first_sym = rd32(rec + 16);
        p->nsyms = rd32(rec + 20);
        p->first_temp = rd32(rec + 24);
        p->ntemps = rd32(rec + 28);
        uint32_t first_live = rd32(rec + 32);
        p->first_call = rd32(rec + 36);
        p->ncalls = rd32(rec + 40);
        p->signature = rd64(rec + 48);
        for (int z = 44; z < TBN_PROGRAM_SIZE; z++)
            if ((z < 48 || z >= 56) && rec[z])
                return fail(r, "%s: reserved byte %d is not zero", what, z);
        if (p->nparams > TBN_MAX_PARAMS || p->ninputs > p->nparams ||
            p->nsyms > TBN_MAX_PROGRAM_SYMS || p->ntemps > TBN_MAX_PROGRAM_TEMPS ||
            p->ncalls > TBN_MAX_PROGRAM_CALLS)
            return fail(r, "%s: %u parameters (%u inputs), %u symbols, %u intermediates, %u "
                        "calls", what, p->nparams, p->ninputs, p->nsyms, p->ntemps, p->ncalls);
        if (run_in(r, p->first_param, p->nparams, b->nparams, what) != 0 ||
            run_in(r, p->first_sym, p->nsyms, b->nsyms, what) != 0 ||
            run_in(r, p->first_temp, p->ntemps, b->nparams, what) != 0 ||
            run_in(r, first_live, 2ull * p->ntemps, b->nvalues, what) != 0 ||
            run_in(r, p->first_call, p->ncalls, b->ncalls, what) != 0)
            return -1;
        p->live = b->values + first_live;
        if (check_program(r, b, p, what) != 0)
            return -1;
        for (uint32_t j = 0; j < b->nkernels; j++)
            if (strcmp(b->kernels[j].name, p->name) == 0)
                return fail(r, "%s has the name of a kernel", what);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(b->programs[j].name, p->name) == 0)
                return fail(r, "two programs named %s", p->name);
    }
    return 0;
}

void tbn_free(TbnBundle *b)
{
    if (b->owned)
        free((void *)b->data);
    free(b->kernels);
    memset(b, 0, sizeof *b);
}

int tbn_read(const void *data, size_t size, bool copy, TbnBundle *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char scratch[8];
    Reader r = {.data = data, .size = size, .err = err ? err : scratch,
                .errlen = err ? errlen : sizeof scratch};
    if (r.errlen)
        r.err[0] = '\0';
    if (!data && size)
        return fail(&r, "no data");
    if (check_header(&r, &out->version, &out->file_crc) != 0 || check_sections(&r) != 0)
        return -1;
    if (copy) {
        uint8_t *own = malloc(size);
        if (!own)
            return fail(&r, "out of memory copying %zu bytes", size);
        memcpy(own, data, size);
        out->data = own;
        out->owned = true;
        r.data = own;
    } else
        out->data = data;
    out->size = size;
    /* One allocation for every decoded array: its size is bounded by the file's. */
    size_t nk = record_count(&r, TBN_SEC_KERNELS, TBN_KERNEL_SIZE),
           np = record_count(&r, TBN_SEC_PARAMS, TBN_PARAM_SIZE),
           ns = record_count(&r, TBN_SEC_SYMS, TBN_SYM_SIZE),
           nv = record_count(&r, TBN_SEC_VARIANTS, TBN_VARIANT_SIZE),
           nc = record_count(&r, TBN_SEC_CONFIGS, TBN_CONFIG_SIZE),
           ng = record_count(&r, TBN_SEC_GRID, TBN_GRID_INSTR_SIZE),
           nd = record_count(&r, TBN_SEC_DISPATCH, TBN_DISPATCH_SIZE),
           nval = record_count(&r, TBN_SEC_VALUES, 8),
           nt = out->version >= 2 ? record_count(&r, TBN_SEC_TMAPS, TBN_TMAP_SIZE) : 0,
           nprog = out->version >= 4 ? record_count(&r, TBN_SEC_PROGRAMS, TBN_PROGRAM_SIZE) : 0,
           ncall = out->version >= 4 ? record_count(&r, TBN_SEC_CALLS, TBN_CALL_SIZE) : 0,
           narg = out->version >= 4 ? record_count(&r, TBN_SEC_CALL_ARGS, TBN_CALL_ARG_SIZE) : 0;
    size_t bytes = nk * sizeof(TbnKernel) + np * sizeof(TbnParam) + ns * sizeof(TbnSym) +
                   nv * sizeof(TbnVariant) + nc * sizeof(TbnConfigEntry) +
                   ng * sizeof(TbnGridInstr) + nd * sizeof(TbnDispatch) + nval * 8 +
                   nt * sizeof(TensorMapSpec) + nprog * sizeof(TbnProgram) +
                   ncall * sizeof(TbnCall) + narg * sizeof(TbnCallArg) + 8;
    char *mem = calloc(1, bytes);
    if (!mem)
        return fail(&r, "out of memory decoding %zu bytes", size);
    out->kernels = (TbnKernel *)mem;
    mem += nk * sizeof(TbnKernel);
    out->params = (TbnParam *)mem;
    mem += np * sizeof(TbnParam);
    out->variants = (TbnVariant *)mem;
    mem += nv * sizeof(TbnVariant);
    out->dispatch = (TbnDispatch *)mem;
    mem += nd * sizeof(TbnDispatch);
    out->configs = (TbnConfigEntry *)mem;
    mem += nc * sizeof(TbnConfigEntry);
    out->values = (int64_t *)mem;
    mem += nval * 8;
    out->grid = (TbnGridInstr *)mem;
    mem += ng * sizeof(TbnGridInstr);
    out->tmaps = (TensorMapSpec *)mem;
    mem += nt * sizeof(TensorMapSpec);
    out->programs = (TbnProgram *)mem;
    mem += nprog * sizeof(TbnProgram);
    out->calls = (TbnCall *)mem;
    mem += ncall * sizeof(TbnCall);
    out->call_args = (TbnCallArg *)mem;
    mem += narg * sizeof(TbnCallArg);
    out->syms = (TbnSym *)mem;
    /* kernels reference variants and dispatch by run only, so their counts are read first */
    out->nvariants = (uint32_t)nv;
    out->ndispatch = (uint32_t)nd;
    if (read_values(&r, out) || read_syms(&r, out) || read_params(&r, out) ||
        read_configs(&r, out) || read_grid(&r, out) || read_kernels(&r, out) ||
        read_tmaps(&r, out) || read_variants(&r, out) || read_dispatch(&r, out) ||
        read_programs(&r, out))
        return -1;
    return 0;
}

int tbn_read_file(const char *path, uint8_t **data, size_t *size, char *err, size_t errlen)
{
    *data = NULL;
    *size = 0;
    /* O_NONBLOCK: a FIFO with no writer would otherwise hang the open */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return TBN_FILE_IO;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SIZE_MAX - 1) {
        snprintf(err, errlen, "cannot read '%s': %s", path, S_ISDIR(st.st_mode)
                 ? strerror(EISDIR) : S_ISREG(st.st_mode) ? "too large"
                 : "not a regular file (a FIFO, socket or device)");
        close(fd);
        return TBN_FILE_IO;
    }
    size_t want = (size_t)st.st_size, got = 0;
    uint8_t *bytes = malloc(want ? want : 1);
    if (!bytes) {
        snprintf(err, errlen, "out of memory reading '%s' (%zu bytes)", path, want);
        close(fd);
        return TBN_FILE_MEMORY;
    }
    while (got < want) {
        ssize_t n = read(fd, bytes + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "cannot read '%s': %s", path,
                     n < 0 ? strerror(errno) : "it shrank while being read");
            free(bytes);
            close(fd);
            return TBN_FILE_IO;
        }
        got += (size_t)n;
    }
    close(fd);
    *data = bytes;
    *size = want;
    return 0;
}
