/* bundle_test.c — the bundle writer and reader without a GPU: writes bundles of test kernels
   through a fake compile hook (so the format is tested whether or not codegen runs), reads
   them back and checks every field, compares the launcher header with its golden copy, and
   writes a corpus of corrupted bundles (truncated at every section boundary and elsewhere,
   flipped bytes, hostile counts and offsets, wrong magic and version), each of which the
   reader must reject with a message.
   usage: bundle_test OUT_DIR SOURCE_DIR   (prints `ok`/`FAIL` lines, exits 1 on failure) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle_format.h"
#include "cli.h"
#include "../check.h"

static void find_checked_index(TirOp *op, void *ctx)
{
    for (int i = 0; i < op->nindex; i++)
        if (op->index[i].mask & TIR_MASK_CHECK)
            *(bool *)ctx = true;
}

/* Stands in for codegen_compile: PTX text that names the variant, and sizes that depend on
   it (D=128 asks for more than 48 KB of shared memory, to test the attribute); a kernel
   with a checked index defines the fault sink as codegen's does. */
static int fake_compile(Arena *a, const TirKernel *k, const Variant *v, const Target *t,
                        bool want_llvm, CompiledKernel *out, char *err, size_t errlen)
{
    (void)want_llvm, (void)err, (void)errlen;
    int64_t full = 0;
    for (int s = 0; s < k->nsyms; s++)
        if (k->syms[s].is_full)
            full = v->full_sizes[s];
    out->entry = arena_printf(a, "%s_kernel", k->name);
    bool checked = false;
    tir_walk(k->body, find_checked_index, &checked);
    out->ptx = arena_printf(a, ".version 8.6\n.target %s\n.address_size 64\n// %s align %d "
                            "full %lld\n%s.visible .entry %s()\n{\n\tret;\n}\n", t->name, k->name,
                            (int)v->align, (long long)full,
                            checked ? ".visible .global .align 8 .b8 tile_fault_sink[24];\n" : "",
                            out->entry);
    out->num_threads = (int)config_get(v->config, "num_warps", 4) * 32;
    out->smem_bytes = full >= 128 ? 70000 : 1024;
    return 0;
}

static const Target sm90 = {"sm_90a", 90, "+ptx86", 232448};

static int write_bundle(const char *src, const char *out, const char *config)
{
    Arena arena = {0};
    Diag diag = {.out = stderr};
    Program *p = parse_program(&arena, &diag, src);
    int status = EXIT_INPUT;
    if (p && !diag.errors && sema_check(&arena, &diag, p, &(SemaOptions){.target_sm = 90}) == 0) {
        BundleTarget target = {&sm90, p};
        BundleOptions o = {.path = out, .config = config, .targets = &target, .ntargets = 1,
                           .compile = fake_compile, .ptxas = ""};
        status = bundle_write_program(&arena, &diag, &o);
    }
    arena_free(&arena);
    return status;
}

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(n > 0 ? (size_t)n : 1);
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return data;
}

static void spit(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, size, f);
        fclose(f);
    }
}

static const TbnKernel *find(const TbnBundle *b, const char *name)
{
    for (uint32_t i = 0; i < b->nkernels; i++)
        if (strcmp(b->kernels[i].name, name) == 0)
            return &b->kernels[i];
    return NULL;
}

/* The header the writer generated beside NAME.tbn against tests/runtime/NAME_golden.h. */
static void compare_header(const char *dir, const char *srcdir, const char *name)
{
    char header[512], golden[512];
    snprintf(header, sizeof header, "%s/%s.h", dir, name);
    snprintf(golden, sizeof golden, "%s/tests/runtime/%s_golden.h", srcdir, name);
    size_t hn = 0, gn = 0;
    uint8_t *h = slurp(header, &hn), *g = slurp(golden, &gn);
    if (h)
        h = realloc(h, hn + 1), h[hn] = 0;
    if (g)
        g = realloc(g, gn + 1), g[gn] = 0;
    /* the opening comment names paths, which differ per build folder */
    const char *hb = h ? strstr((char *)h, "#ifndef") : NULL;
    const char *gb = g ? strstr((char *)g, "#ifndef") : NULL;
    CHECK(h && g && hb && gb && hn - (size_t)(hb - (char *)h) == gn - (size_t)(gb - (char *)g) &&
          memcmp(hb, gb, hn - (size_t)(hb - (char *)h)) == 0,
          "%s differs from %s (bless with: cp %s %s)", header, golden, header, golden);
    free(h);
    free(g);
}

static void test_attention(const char *dir, const char *srcdir)
{
    char src[512], out[512];
    snprintf(src, sizeof src, "%s/examples/attention.tile", srcdir);
    snprintf(out, sizeof out, "%s/attention.tbn", dir);
    CHECK(write_bundle(src, out, "D=64|128,BLOCK_M=64,num_warps=4") == EXIT_OK, "write attention");
    size_t size;
    uint8_t *data = slurp(out, &size);
    CHECK(data, "read back %s", out);
    if (!data)
        return;
    TbnBundle b;
    char err[512];
    CHECK(tbn_read(data, size, false, &b, err, sizeof err) == 0, "tbn_read: %s", err);
    const TbnKernel *k = find(&b, "attention");
    CHECK(k && k->nparams == 6 && k->nsyms == 5 && k->nconsts == 1 && k->ntensors == 4,
          "attention signature");
    /* 2 causal values x 2 head dims x 2 align classes */
    CHECK(k && k->nvariants == 8 && k->ndispatch == 8, "attention has %u variants",
          k ? k->nvariants : 0);
    if (k && k->nvariants == 8) {
        const TbnVariant *v0 = &b.variants[k->first_variant];
        CHECK(v0->align == TBN_ALIGN_VEC16 && b.variants[k->first_variant + 1].align ==
              TBN_ALIGN_ANY, "align classes vec16 then any");
        CHECK(strcmp(v0->target, "sm_90a") == 0 && v0->sm == 90, "target");
        CHECK(strcmp(v0->entry, "attention_kernel") == 0, "entry %s", v0->entry);
        CHECK(v0->ngrid == 3 && v0->grid_blocks[0] == 1 && v0->grid_blocks[2] == 64,
              "grid blocks");
        CHECK(v0->num_threads == 128, "threads %u", v0->num_threads);
        int64_t syms[5] = {2, 3, 1000, 64, 512}; /* Z H M D N in symbol order? */
        for (uint32_t s = 0; s < k->nsyms; s++) {
            const char *n = b.syms[k->first_sym + s].name;
            syms[s] = !strcmp(n, "Z") ? 2 : !strcmp(n, "H") ? 3 : !strcmp(n, "M") ? 1000
                      : !strcmp(n, "D") ? 64 : 512;
        }
        TbnScalar scalars[8] = {{0, 0}};
        int64_t blocks = -1;
        CHECK(tbn_grid_blocks(v0, syms, scalars, &blocks) == 0 && blocks == 2 * 3 * 16,
              "grid of 2x3x1000/64 = 96 blocks, got %lld", (long long)blocks);
        bool seen_large = false;
        for (uint32_t i = 0; i < k->nvariants; i++)
            seen_large |= b.variants[k->first_variant + i].smem_bytes == 70000;
        CHECK(seen_large, "D=128 variants ask for 70000 bytes");
        CHECK(strstr(v0->ptx, ".entry attention_kernel") != NULL, "ptx stored");
    }
    tbn_free(&b);

    compare_header(dir, srcdir, "attention");
    free(data);
}

static void test_other_kernels(const char *dir, const char *srcdir)
{
    char src[512], out[512];
    snprintf(src, sizeof src, "%s/tests/runtime/kernels.tile", srcdir);
    snprintf(out, sizeof out, "%s/kernels.tbn", dir);
    CHECK(write_bundle(src, out, "") == EXIT_OK, "write kernels.tile");
    size_t size;
    uint8_t *data = slurp(out, &size);
    if (!data)
        return;
    TbnBundle b;
    char err[512];
    CHECK(tbn_read(data, size, true, &b, err, sizeof err) == 0, "tbn_read: %s", err);
    free(data);
    const TbnKernel *amax = find(&b, "amax"), *split = find(&b, "scaled_split");
    CHECK(amax && b.params[amax->first_param + 1].reduce == TBN_REDUCE_MAX, "reduce(max) kept");
    CHECK(split && split->nconsts == 1 && split->nvariants == 3 * 2,
          "integer const in {1, 2, 4}: 3 values x 2 aligns, got %u", split ? split->nvariants : 0);
    tbn_free(&b);

    /* errors the writer reports */
    snprintf(src, sizeof src, "%s/examples/attention.tile", srcdir);
    snprintf(out, sizeof out, "%s/bad.tbn", dir);
    CHECK(write_bundle(src, out, "") == EXIT_OK, "attention builds the head dims it lists");
    CHECK(write_bundle(src, out, "causal=maybe,D=64") == EXIT_USAGE, "bad const value");
    CHECK(write_bundle(src, out, "D=64,BLOCK_Q=3") == EXIT_USAGE, "unknown tunable");
}

/* ---- the corrupted corpus */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

/* Recomputes both checksums, so a corruption reaches the checks behind them. */
static void reseal(uint8_t *d, size_t n)
{
    if (n < TBN_HEADER_SIZE)
        return;
    wr32(d + 40, tbn_crc32(0, d + TBN_HEADER_SIZE, n - TBN_HEADER_SIZE));
    wr32(d + 60, tbn_crc32(0, d, 60));
}

static int corpus_count;

static void expect_rejected(const char *dir, const char *what, const uint8_t *d, size_t n)
{
    TbnBundle b;
    char err[512] = "";
    int r = tbn_read(d, n, false, &b, err, sizeof err);
    tbn_free(&b);
    CHECK(r != 0 && strncmp(err, "invalid bundle: ", 16) == 0 && strlen(err) > 20,
          "corrupt bundle (%s) %s: '%s'", what, r == 0 ? "was accepted" : "had no message", err);
    char path[600];
    snprintf(path, sizeof path, "%s/corpus/bad-%03d.tbn", dir, corpus_count++);
    spit(path, d, n);
}

static void test_corpus(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/corpus", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/attention.tbn", dir);
    size_t n;
    uint8_t *good = slurp(path, &n);
    if (!good)
        return;
    uint8_t *d = malloc(n);
    char what[128];
    TbnBundle b;
    CHECK(tbn_read(good, n, false, &b, NULL, 0) == 0, "the good bundle reads");
    tbn_free(&b);

    /* truncated at every section boundary and inside the header, then resealed too */
    uint32_t nsec = rd32(good + 24);
    for (uint32_t i = 0; i < nsec; i++) {
        const uint8_t *e = good + TBN_HEADER_SIZE + i * TBN_SECTION_ENTRY_SIZE;
        uint64_t off = (uint64_t)rd32(e + 8), size = (uint64_t)rd32(e + 16);
        uint64_t cuts[3] = {off, off + size / 2, off + size};
        for (int c = 0; c < 3; c++) {
            if (cuts[c] >= n)
                continue;
            snprintf(what, sizeof what, "truncated at %llu", (unsigned long long)cuts[c]);
            expect_rejected(dir, what, good, (size_t)cuts[c]);
            memcpy(d, good, (size_t)cuts[c]);
            if (cuts[c] >= TBN_HEADER_SIZE) {
                wr64(d + 16, cuts[c]);
                reseal(d, (size_t)cuts[c]);
                snprintf(what, sizeof what, "truncated and resealed at %llu",
                         (unsigned long long)cuts[c]);
                expect_rejected(dir, what, d, (size_t)cuts[c]);
            }
        }
    }
    size_t header_cuts[] = {0, 1, 8, 63};
    for (size_t i = 0; i < sizeof header_cuts / sizeof header_cuts[0]; i++)
        expect_rejected(dir, "truncated header", good, header_cuts[i]);

    /* flipped bytes: without resealing the checksums catch them */
    for (size_t at = 0; at < n; at += n / 40 + 1) {
        memcpy(d, good, n);
        d[at] ^= 0x5a;
        snprintf(what, sizeof what, "byte %zu flipped", at);
        expect_rejected(dir, what, d, n);
    }
    /* wrong magic and version */
    memcpy(d, good, n);
    d[0] = 'X';
    expect_rejected(dir, "wrong magic", d, n);
    memcpy(d, good, n);
    wr32(d + 8, TBN_VERSION + 1);
    reseal(d, n);
    expect_rejected(dir, "wrong version", d, n);

    /* written flags: o is stored to, q only read; a version 2 bundle (zero flags, as
       written before version 3) still reads, its flags unknown */
    CHECK(tbn_read(good, n, false, &b, NULL, 0) == 0 && b.params[0].written == 0 &&
          b.params[0].read == 1 && b.params[3].written == 1 && b.params[3].read == 0 &&
          b.params[4].written == 0 && b.params[4].read == 0, "access flags of attention");
    tbn_free(&b);
    memcpy(d, good, n);
    wr32(d + 8, 2);
    for (uint32_t i = 0; i < nsec; i++) {
        const uint8_t *e = good + TBN_HEADER_SIZE + i * TBN_SECTION_ENTRY_SIZE;
        if (rd32(e) == TBN_SEC_PARAMS)
            for (uint32_t at = 0; at < rd32(e + 16); at += TBN_PARAM_SIZE)
                wr32(d + rd32(e + 8) + at + 20, 0);
    }
    wr32(d + 24, TBN_V2_SECTION_KINDS);   /* the later versions' sections (last) dropped */
    reseal(d, n);
    CHECK(tbn_read(d, n, false, &b, NULL, 0) == 0 && b.version == 2 &&
          b.params[3].written == -1 && b.params[3].read == -1, "a version 2 bundle reads, written unknown");
    tbn_free(&b);

    /* hostile sizes, offsets, counts and indices behind valid checksums */
    for (uint32_t i = 0; i < nsec; i++) {
        uint8_t *e = d + TBN_HEADER_SIZE + i * TBN_SECTION_ENTRY_SIZE;
        uint64_t bad[] = {UINT64_MAX, n, (uint64_t)n + 8, 0xffffffffull};
        const uint8_t *ge = good + TBN_HEADER_SIZE + i * TBN_SECTION_ENTRY_SIZE;
        for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
            memcpy(d, good, n);
            wr64(e + 16, bad[j]);
            reseal(d, n);
            snprintf(what, sizeof what, "section %u size %llu", i, (unsigned long long)bad[j]);
            expect_rejected(dir, what, d, n);
            /* an empty last section already sits at the file's end: that offset is no change */
            if (rd32(ge + 16) == 0 && rd32(ge + 8) == bad[j])
                continue;
            memcpy(d, good, n);
            wr64(e + 8, bad[j]);
            reseal(d, n);
            snprintf(what, sizeof what, "section %u offset %llu", i, (unsigned long long)bad[j]);
            expect_rejected(dir, what, d, n);
        }
        memcpy(d, good, n);
        wr32(e, 99);
        reseal(d, n);
        expect_rejected(dir, "unknown section kind", d, n);
    }
    memcpy(d, good, n);
    wr32(d + 24, 0xffffffffu);
    reseal(d, n);
    expect_rejected(dir, "huge section count", d, n);

    /* every u32 field of the first kernel, variant and dispatch record set to huge values */
    static const struct { int kind; int size; const char *name; } recs[] = {
        {TBN_SEC_KERNELS, TBN_KERNEL_SIZE, "kernel"}, {TBN_SEC_PARAMS, TBN_PARAM_SIZE, "param"},
        {TBN_SEC_VARIANTS, TBN_VARIANT_SIZE, "variant"},
        {TBN_SEC_DISPATCH, TBN_DISPATCH_SIZE, "dispatch"}, {TBN_SEC_SYMS, TBN_SYM_SIZE, "sym"},
        {TBN_SEC_GRID, TBN_GRID_INSTR_SIZE, "grid"},
    };
    for (size_t r = 0; r < sizeof recs / sizeof recs[0]; r++) {
        uint64_t off = 0;
        for (uint32_t i = 0; i < nsec; i++) {
            const uint8_t *e = good + TBN_HEADER_SIZE + i * TBN_SECTION_ENTRY_SIZE;
            if ((int)rd32(e) == recs[r].kind)
                off = rd32(e + 8);
        }
        for (int field = 0; field + 4 <= recs[r].size; field += 4) {
            if (recs[r].kind == TBN_SEC_GRID && field >= 8)
                break; /* the immediate may be any value */
            memcpy(d, good, n);
            if (rd32(good + off + field) == 0xfffffff0u)
                continue;
            wr32(d + off + field, 0xfffffff0u);
            reseal(d, n);
            TbnBundle tmp;
            char err[512];
            /* a few fields (a config value, a cubin offset with no cubin) may take any value */
            if (tbn_read(d, n, false, &tmp, err, sizeof err) == 0) {
                tbn_free(&tmp);
                continue;
            }
            tbn_free(&tmp);
            snprintf(what, sizeof what, "%s field at %d", recs[r].name, field);
            expect_rejected(dir, what, d, n);
        }
    }
    printf("ok corpus: %d corrupted bundles rejected with a message\n", corpus_count);
    free(d);
    free(good);
}

/* ---- programs (format version 4) */

static uint64_t section_offset(const uint8_t *d, int kind)
{
    for (uint32_t i = 0; i < rd32(d + 24); i++) {
        const uint8_t *e = d + TBN_HEADER_SIZE + i * TBN_SECTION_ENTRY_SIZE;
        if ((int)rd32(e) == kind)
            return rd32(e + 8);
    }
    return 0;
}

/* Rewritten as an older version: the sections that version lacks dropped from the table
   (they are last), the header's version set. */
static void as_version(uint8_t *d, size_t n, uint32_t version, uint32_t nsec)
{
    wr32(d + 8, version);
    wr32(d + 24, nsec);
    reseal(d, n);
}

static void test_programs(const char *dir, const char *srcdir)
{
    char src[512], out[512];
    snprintf(src, sizeof src, "%s/tests/runtime/programs.tile", srcdir);
    snprintf(out, sizeof out, "%s/programs.tbn", dir);
    CHECK(write_bundle(src, out, "") == EXIT_OK, "write programs.tile");
    size_t n;
    uint8_t *good = slurp(out, &n);
    if (!good)
        return;
    TbnBundle b;
    char err[512];
    CHECK(tbn_read(good, n, false, &b, err, sizeof err) == 0, "tbn_read: %s", err);
    const TbnProgram *p = b.nprograms == 1 ? &b.programs[0] : NULL;
    CHECK(b.version == TBN_VERSION && p && strcmp(p->name, "chain") == 0 && p->nparams == 3 &&
          p->ninputs == 2 && p->nsyms == 2 && p->ntemps == 4 && p->ncalls == 5 &&
          p->ntensors == 2 && p->nscalars == 1, "the program's record");
    if (p && p->ncalls == 5 && p->ntemps == 4) {
        static const char *const kernels[] = {"scale", "scale", "add", "scale", "shift"};
        for (uint32_t c = 0; c < 5; c++)
            CHECK(strcmp(b.kernels[b.calls[p->first_call + c].kernel].name, kernels[c]) == 0,
                  "call %u is %s", c, kernels[c]);
        static const int64_t live[] = {0, 2, 1, 2, 2, 3, 3, 4};
        CHECK(memcmp(p->live, live, sizeof live) == 0, "live ranges");
        const TbnCall *second = &b.calls[p->first_call + 1], *last = &b.calls[p->first_call + 4];
        double two;
        memcpy(&two, &second->args[1].value, sizeof two);
        CHECK(second->args[0].kind == TBN_ARG_TEMP && second->args[0].index == 0 &&
              second->args[1].kind == TBN_ARG_LITERAL && two == 2.0 &&
              second->args[2].kind == TBN_ARG_TEMP && second->args[2].index == 1,
              "scale(a, 2.0, b): a temp, an f32 literal, a temp");
        CHECK(last->args[1].kind == TBN_ARG_PARAM && last->args[1].index == 2 &&
              last->args[2].kind == TBN_ARG_LITERAL && last->args[2].value == 1 &&
              last->nsizes == 2 && last->sizes[0] == -1 && last->sizes[1] == -2,
              "shift(d, y, up=true): the output, a const literal, M=R and N=C");
    }
    tbn_free(&b);

    uint8_t *d = malloc(n);
    char what[128];
    /* read as version 4 (no dtype of version 5 in it): all of it reads */
    memcpy(d, good, n);
    as_version(d, n, 4, TBN_SECTION_KINDS);
    CHECK(tbn_read(d, n, false, &b, err, sizeof err) == 0 && b.version == 4 && b.nprograms == 1 &&
          b.nkernels == 3, "a version 4 bundle reads: %s", err);
    tbn_free(&b);
    /* read as versions 3 and 2: the kernels stay, the programs are gone */
    memcpy(d, good, n);
    as_version(d, n, 3, TBN_V3_SECTION_KINDS);
    CHECK(tbn_read(d, n, false, &b, err, sizeof err) == 0 && b.nprograms == 0 && b.nkernels == 3 &&
          b.params[0].read == 1, "a version 3 bundle reads: %s", err);
    tbn_free(&b);
    memcpy(d, good, n);
    as_version(d, n, 2, TBN_V2_SECTION_KINDS);
    CHECK(tbn_read(d, n, false, &b, err, sizeof err) == 0 && b.nprograms == 0 && b.nkernels == 3,
          "a version 2 bundle reads: %s", err);
    tbn_free(&b);
    memcpy(d, good, n);
    as_version(d, n, 3, TBN_SECTION_KINDS);
    expect_rejected(dir, "a version 3 bundle with program sections", d, n);

    /* every u32 field of the program's record and of its first call and argument, huge */
    static const struct { int kind; int size; const char *name; } recs[] = {
        {TBN_SEC_PROGRAMS, TBN_PROGRAM_SIZE, "program"}, {TBN_SEC_CALLS, TBN_CALL_SIZE, "call"},
        {TBN_SEC_CALL_ARGS, TBN_CALL_ARG_SIZE, "call argument"},
    };
    for (size_t r = 0; r < sizeof recs / sizeof recs[0]; r++) {
        uint64_t off = section_offset(good, recs[r].kind);
        for (int field = 0; field + 4 <= recs[r].size; field += 4) {
            memcpy(d, good, n);
            wr32(d + off + field, 0xfffffff0u);
            reseal(d, n);
            TbnBundle tmp;
            /* a literal's value may be anything */
            bool accepted = tbn_read(d, n, false, &tmp, err, sizeof err) == 0;
            tbn_free(&tmp);
            if (accepted && recs[r].kind == TBN_SEC_CALL_ARGS && field >= 8)
                continue;
            snprintf(what, sizeof what, "%s field at %d", recs[r].name, field);
            expect_rejected(dir, what, d, n);
        }
    }
    /* arguments that do not fit their kernel's parameters, sizes that disagree */
    CHECK(tbn_read(good, n, false, &b, err, sizeof err) == 0, "reads again");
    p = &b.programs[0];
    uint64_t args = section_offset(good, TBN_SEC_CALL_ARGS);
    uint64_t values = section_offset(good, TBN_SEC_VALUES);
    const TbnCall *first = &b.calls[p->first_call];
    uint32_t a0 = (uint32_t)(first->args - b.call_args);
    uint32_t size0 = (uint32_t)(first->sizes - b.values);
    uint32_t live0 = (uint32_t)(p->live - b.values);
    tbn_free(&b);
    struct { uint64_t at; uint64_t value; int width; const char *what; } edits[] = {
        {args + 16 * a0 + 4, 1, 4, "a tensor argument naming the scalar parameter s"},
        {args + 16 * (a0 + 1), TBN_ARG_TEMP, 1, "a scalar argument naming an intermediate"},
        {args + 16 * (a0 + 2), TBN_ARG_LITERAL, 1, "a tensor argument given a literal"},
        {values + 8 * size0, 7, 8, "a kernel symbol's size a literal the tensors do not have"},
        {values + 8 * size0, (uint64_t)-2, 8, "a kernel symbol's size another program symbol"},
        {values + 8 * (live0 + 1), 5, 8, "a live range past the last call"},
    };
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
        memcpy(d, good, n);
        if (edits[e].width == 1)
            d[edits[e].at] = (uint8_t)edits[e].value;
        else if (edits[e].width == 4)
            wr32(d + edits[e].at, (uint32_t)edits[e].value);
        else
            wr64(d + edits[e].at, edits[e].value);
        reseal(d, n);
        expect_rejected(dir, edits[e].what, d, n);
    }
    compare_header(dir, srcdir, "programs");
    printf("ok programs: round trip, older versions, corrupted program records\n");
    free(d);
    free(good);
}

/* ---- the workspace plan (runtime/workspace.c): its promises on random programs */

static uint64_t next_random(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state >> 33;
}

static uint64_t round_256(uint64_t x)
{
    return (x + 255) / 256 * 256;
}

/* No two values live at one call share a byte; offsets are multiples of 256; the total is
   the highest end; allocations are disjoint, in offset order, and hold their values. */
static bool plan_keeps_promises(const TbnWorkspaceValue *v, uint32_t n, const TbnWorkspacePlan *p)
{
    uint64_t top = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t end = p->offset[i] + round_256(v[i].bytes);
        top = end > top ? end : top;
        if (p->offset[i] % 256 || p->alloc_of[i] >= p->nallocs ||
            p->offset[i] < p->alloc_offset[p->alloc_of[i]] ||
            end > p->alloc_offset[p->alloc_of[i]] + p->alloc_bytes[p->alloc_of[i]])
            return false;
        for (uint32_t j = 0; j < i; j++) {
            bool live = v[i].first <= v[j].last && v[j].first <= v[i].last;
            uint64_t end_j = p->offset[j] + round_256(v[j].bytes);
            if (live && v[i].bytes && v[j].bytes && p->offset[i] < end_j && p->offset[j] < end)
                return false;
        }
    }
    for (uint32_t a = 1; a < p->nallocs; a++)
        if (p->alloc_offset[a] < p->alloc_offset[a - 1] + p->alloc_bytes[a - 1])
            return false;
    return p->total == top;
}

static void test_workspace_plan(void)
{
    uint64_t state = 26;
    TbnWorkspaceValue v[TBN_MAX_PROGRAM_TEMPS + 1];
    TbnWorkspacePlan plan, again;
    int broken = 0;
    for (int round = 0; round < 3000; round++) {
        uint32_t n = (uint32_t)(next_random(&state) % 40), calls = 1 + (uint32_t)(next_random(&state) % 12);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t a = (uint32_t)(next_random(&state) % calls), b = (uint32_t)(next_random(&state) % calls);
            v[i] = (TbnWorkspaceValue){next_random(&state) % 4 == 0 ? 256 * (next_random(&state) % 4)
                                                                    : next_random(&state) % 5000,
                                       a < b ? a : b, a < b ? b : a};
        }
        bool ok = tbn_workspace_plan(v, n, &plan) == 0 && plan_keeps_promises(v, n, &plan) &&
                  tbn_workspace_plan(v, n, &again) == 0 && memcmp(&plan, &again, sizeof plan) == 0;
        broken += !ok;
    }
    CHECK(broken == 0, "workspace plan: %d of 3000 random programs broke a promise", broken);
    /* live ranges that never meet share one allocation; ranges all at one call, none */
    for (uint32_t i = 0; i < 5; i++)
        v[i] = (TbnWorkspaceValue){1000 * (i + 1), i, i};
    CHECK(tbn_workspace_plan(v, 5, &plan) == 0 && plan.total == 5120 && plan.nallocs == 1,
          "disjoint live ranges: %llu bytes", (unsigned long long)plan.total);
    for (uint32_t i = 0; i < 5; i++)
        v[i] = (TbnWorkspaceValue){1000 * (i + 1), 0, 3};
    CHECK(tbn_workspace_plan(v, 5, &plan) == 0 && plan.total == 1024 * 15 && plan.nallocs == 5,
          "one live range: %llu bytes", (unsigned long long)plan.total);
    v[0] = (TbnWorkspaceValue){16, 2, 1};
    CHECK(tbn_workspace_plan(v, 1, &plan) != 0, "a reversed live range is refused");
    CHECK(tbn_workspace_plan(v, TBN_MAX_PROGRAM_TEMPS + 1, &plan) != 0, "too many values");
    for (uint32_t i = 0; i < 5; i++)
        v[i] = (TbnWorkspaceValue){UINT64_MAX / 4 - 1024, 0, 0};
    CHECK(tbn_workspace_plan(v, 5, &plan) != 0, "a total past 2^64 is refused");
}

/* ---- the dtypes of format version 5 (i8 i16 u8 u32) */

static void test_small_ints(const char *dir)
{
    char src[512], out[512];
    snprintf(src, sizeof src, "%s/small_ints.tile", dir);
    snprintf(out, sizeof out, "%s/small_ints.tbn", dir);
    static const char text[] =
        "kernel widen(a: i8[N], b: i16[N], c: u8[N], d: u32[N], s: i32, y: i32[N]) {\n"
        "    for n in tile(N) {\n"
        "        y[n] = a[n].to(i32) + b[n].to(i32) + c[n].to(i32) + d[n].to(i32) + s\n"
        "    }\n"
        "}\n";
    spit(src, text, sizeof text - 1);
    CHECK(write_bundle(src, out, "") == EXIT_OK, "write small_ints");
    size_t n;
    uint8_t *good = slurp(out, &n);
    if (!good)
        return;
    TbnBundle b;
    char err[512];
    CHECK(tbn_read(good, n, false, &b, err, sizeof err) == 0, "tbn_read: %s", err);
    CHECK(b.version == 5 && b.nparams == 6 && b.params[0].dtype == TBN_DT_I8 &&
          b.params[1].dtype == TBN_DT_I16 && b.params[2].dtype == TBN_DT_U8 &&
          b.params[3].dtype == TBN_DT_U32 && strcmp(tbn_dtype_name(TBN_DT_U32), "u32") == 0 &&
          tbn_dtype_size(TBN_DT_I16) == 2, "the version 5 dtypes");
    tbn_free(&b);
    uint8_t *d = malloc(n);
    memcpy(d, good, n);
    as_version(d, n, 4, TBN_SECTION_KINDS);
    expect_rejected(dir, "a version 4 bundle with an i8 tensor", d, n);
    memcpy(d, good, n);
    d[section_offset(d, TBN_SEC_PARAMS) + 4 * TBN_PARAM_SIZE + 5] = TBN_DT_U8;   /* s */
    reseal(d, n);
    expect_rejected(dir, "a u8 scalar", d, n);
    memcpy(d, good, n);
    d[section_offset(d, TBN_SEC_PARAMS) + 5] = TBN_DT_COUNT;
    reseal(d, n);
    expect_rejected(dir, "dtype code past u32", d, n);
    free(d);
    free(good);
    printf("ok small ints: version 5 dtypes, rejected in older versions and on scalars\n");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fputs("usage: bundle_test OUT_DIR SOURCE_DIR\n", stderr);
        return 2;
    }
    mkdir(argv[1], 0755);
    test_attention(argv[1], argv[2]);
    test_other_kernels(argv[1], argv[2]);
    test_corpus(argv[1]);
    test_programs(argv[1], argv[2]);
    test_small_ints(argv[1]);
    test_workspace_plan();
    printf("%s bundle_test (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
