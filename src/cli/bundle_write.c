/* bundle_write.c — `tilec build FILE -o NAME.tbn`: lowers each kernel per const value,
   compiles its variants (config x full-axis sizes x align class), adds cubins when ptxas is
   there, and writes the bundle (runtime/bundle_format.h) plus NAME.h, the typed launchers. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_format.h"
#include "cli.h"

_Static_assert((int)DT_F32 == (int)TBN_DT_F32 && (int)DT_BF16 == (int)TBN_DT_BF16 && (int)DT_F8E5M2 == (int)TBN_DT_F8E5M2 &&
               (int)DT_I64 == (int)TBN_DT_I64 && (int)DT_BOOL == (int)TBN_DT_BOOL && (int)DT_I8 == (int)TBN_DT_I8 &&
               (int)DT_U32 == (int)TBN_DT_U32 && (int)DT_COUNT == (int)TBN_DT_COUNT,
               "the bundle's dtype numbers are base.h's");
_Static_assert((int)PARAM_TENSOR == (int)TBN_PARAM_TENSOR && (int)PARAM_SCALAR == (int)TBN_PARAM_SCALAR &&
               (int)PARAM_CONST == (int)TBN_PARAM_CONST, "the bundle's parameter kinds are base.h's");
_Static_assert((int)REDUCE_SUM == (int)TBN_REDUCE_SUM && (int)REDUCE_MAX == (int)TBN_REDUCE_MAX &&
               (int)REDUCE_MIN == (int)TBN_REDUCE_MIN, "the bundle's reduce ops are base.h's");
_Static_assert((int)ALIGN_VEC16 == (int)TBN_ALIGN_VEC16 && (int)ALIGN_UNIT == (int)TBN_ALIGN_UNIT &&
               (int)ALIGN_ANY == (int)TBN_ALIGN_ANY, "the bundle's align classes are codegen.h's");

/* ---- growable byte buffers, one per section */

typedef struct Buf {
    uint8_t *data;
    size_t len, cap;
} Buf;

static void buf_put(Buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (!grown) {
            fputs("tilec: error: out of memory writing the bundle\n", stderr);
            exit(EXIT_INPUT);
        }
        b->data = grown;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put8(Buf *b, uint8_t v) { buf_put(b, &v, 1); }
static void put32(Buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    buf_put(b, x, 4);
}
static void put64(Buf *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}
static void put_zero(Buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put8(b, 0);
}

typedef struct Writer {
    Buf sec[TBN_SECTION_KINDS + 1];
    uint32_t nkernels, nparams, nsyms, nvariants, nconfigs, ninstrs, ndispatch, nvalues;
    uint32_t nprograms, ncalls, ncall_args;
} Writer;

static uint32_t put_string(Writer *w, const char *s)
{
    Buf *b = &w->sec[TBN_SEC_STRINGS];
    /* reuse an identical string already in the pool (names repeat across variants) */
    for (size_t at = 0; at < b->len;) {
        const char *have = (const char *)b->data + at;
        size_t n = strlen(have);
        if (strcmp(have, s) == 0)
            return (uint32_t)at;
        at += n + 1;
    }
    uint32_t at = (uint32_t)b->len;
    buf_put(b, s, strlen(s) + 1);
    return at;
}

static uint32_t put_value(Writer *w, int64_t v)
{
    put64(&w->sec[TBN_SEC_VALUES], (uint64_t)v);
    return w->nvalues++;
}

static uint64_t put_blob(Writer *w, const void *p, size_t n)
{
    Buf *b = &w->sec[TBN_SEC_BLOBS];
    while (b->len % 16)
        put8(b, 0);
    uint64_t at = b->len;
    buf_put(b, p, n);
    return at;
}

/* ---- the grid-size program from the GRID op's extents */

typedef struct GridInstr {
    uint8_t op, dtype, sub;
    uint32_t index;
    int64_t imm;
} GridInstr;

typedef struct GridProgram {
    GridInstr code[TBN_MAX_GRID_INSTRS];
    int n;
    char err[256];
} GridProgram;

static bool emit_instr(GridProgram *g, int op, int dtype, int sub, uint32_t index, int64_t imm)
{
    if (g->n >= TBN_MAX_GRID_INSTRS) {
        snprintf(g->err, sizeof g->err, "the grid extents need more than %d instructions",
                 TBN_MAX_GRID_INSTRS);
        return false;
    }
    g->code[g->n++] = (GridInstr){(uint8_t)op, (uint8_t)dtype, (uint8_t)sub, index, imm};
    return true;
}

static bool grid_dtype_ok(DType t)
{
    return t == DT_F32 || t == DT_I32 || t == DT_I64 || t == DT_BOOL;
}

static bool emit_extent(GridProgram *g, const TirValue *v, int depth)
{
    if (depth > 64 || !v->def || v->type.rank != 0) {
        snprintf(g->err, sizeof g->err, "a grid extent depends on a value libtile cannot "
                 "compute at launch (%s)", !v->def ? "a loop value" : "a tile or deep expression");
        return false;
    }
    const TirOp *op = v->def;
    DType t = v->type.dtype;
    if (!grid_dtype_ok(t)) {
        snprintf(g->err, sizeof g->err, "a grid extent computes in %s (libtile evaluates "
                 "f32, i32, i64 and bool)", dtype_name(t));
        return false;
    }
    for (int i = 0; i < op->noperands; i++)
        if (op->opcode != TIR_FULL && !emit_extent(g, op->operands[i], depth + 1))
            return false;
    switch (op->opcode) {
    case TIR_FULL:
        if (t == DT_F32) {
            int64_t bits;
            double f = op->fvalue;
            memcpy(&bits, &f, sizeof bits);
            return emit_instr(g, TBN_G_FLOAT, t, 0, 0, bits);
        }
        return emit_instr(g, TBN_G_INT, t, 0, 0, op->ivalue);
    case TIR_DIM: return emit_instr(g, TBN_G_SYM, DT_I64, 0, (uint32_t)op->sym, 0);
    case TIR_PARAM: return emit_instr(g, TBN_G_SCALAR, t, 0, (uint32_t)op->param, 0);
    case TIR_UNARY:
        if (op->sub == TIR_UN_NEG) return emit_instr(g, TBN_G_UNARY, t, TBN_UN_NEG, 0, 0);
        if (op->sub == TIR_UN_NOT) return emit_instr(g, TBN_G_UNARY, t, TBN_UN_NOT, 0, 0);
        if (op->sub == TIR_UN_ABS) return emit_instr(g, TBN_G_UNARY, t, TBN_UN_ABS, 0, 0);
        snprintf(g->err, sizeof g->err, "a grid extent uses %s, which libtile does not "
                 "evaluate", tir_unary_name((TirUnaryOp)op->sub));
        return false;
    case TIR_BINARY: {
        if (op->sub >= TIR_BIN_BITAND) {   /* bit ops: not in libtile's grid programs */
            snprintf(g->err, sizeof g->err, "a grid extent uses %s, which libtile does not "
                     "evaluate", tir_binary_name((TirBinaryOp)op->sub));
            return false;
        }
        static const int map[TIR_BIN_COUNT] = {
            [TIR_BIN_ADD] = TBN_BIN_ADD, [TIR_BIN_SUB] = TBN_BIN_SUB, [TIR_BIN_MUL] = TBN_BIN_MUL,
            [TIR_BIN_DIV] = TBN_BIN_DIV, [TIR_BIN_MOD] = TBN_BIN_MOD, [TIR_BIN_MAX] = TBN_BIN_MAX,
            [TIR_BIN_MIN] = TBN_BIN_MIN, [TIR_BIN_AND] = TBN_BIN_AND, [TIR_BIN_OR] = TBN_BIN_OR,
            [TIR_BIN_CDIV] = TBN_BIN_CDIV};
        return emit_instr(g, TBN_G_BINARY, t, map[op->sub], 0, 0);
    }
    case TIR_CMP: {
        static const int map[TIR_CMP_COUNT] = {
            [TIR_CMP_LT] = TBN_CMP_LT, [TIR_CMP_LE] = TBN_CMP_LE, [TIR_CMP_GT] = TBN_CMP_GT,
            [TIR_CMP_GE] = TBN_CMP_GE, [TIR_CMP_EQ] = TBN_CMP_EQ, [TIR_CMP_NE] = TBN_CMP_NE};
        return emit_instr(g, TBN_G_CMP, DT_BOOL, map[op->sub], 0, 0);
    }
    case TIR_SELECT: return emit_instr(g, TBN_G_SELECT, t, 0, 0, 0);
    case TIR_CONVERT: return emit_instr(g, TBN_G_CONVERT, t, 0, 0, 0);
    case TIR_BROADCAST: return true;   /* rank 0 to rank 0: the operand itself */
    default:
        snprintf(g->err, sizeof g->err, "a grid extent uses the op '%s', which libtile does "
                 "not evaluate", tir_op_info(op->opcode)->name);
        return false;
    }
}

static const TirOp *grid_op(const TirKernel *k)
{
    const TirOp *last = k->body ? k->body->last : NULL;
    return last && last->opcode == TIR_GRID ? last : NULL;
}

static bool build_grid_program(const TirKernel *k, GridProgram *g)
{
    g->n = 0;
    g->err[0] = 0;
    const TirOp *grid = grid_op(k);
    if (!grid || grid->nvars < 1 || grid->nvars > TBN_MAX_GRID_VARS) {
        snprintf(g->err, sizeof g->err, "the kernel has no grid loop of 1 to %d variables",
                 TBN_MAX_GRID_VARS);
        return false;
    }
    for (int i = 0; i < grid->nvars; i++)
        if (!emit_extent(g, grid->operands[i], 0) ||
            !emit_instr(g, TBN_G_EXTENT, 0, 0, (uint32_t)i, 0))
            return false;
    return true;
}

/* ---- options: const values, full-axis sizes and tunables out of --config */

typedef struct KernelPlan {
    const Kernel *ast;
    int64_t *const_choice[64];   /* per param index: the values to build */
    int nconst_choice[64];
    int64_t full_values[TBN_MAX_SYMS][FULL_AXIS_MAX_SIZES];
    int nfull_values[TBN_MAX_SYMS];
    Config user;
} KernelPlan;

/* What a kernel put in the bundle: its signature and its runs of variants. */
typedef struct KernelOut {
    const TirKernel *signature_tk;   /* the first lowering: signature and header */
    uint64_t signature;
    uint32_t first_variant, nvariants, first_dispatch;
    const KernelPlan *plan;          /* the const values built */
} KernelOut;

static int parse_int_list(const char *text, int64_t *out, int max, const char *what)
{
    int n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 0);
        if (errno || end == p || (*end && *end != '|') || v < 1 || v > TIR_MAX_FULL_AXIS ||
            n == max) {
            fprintf(stderr, "tilec: error: --config %s=%s: expected up to %d sizes from 1 to %d "
                    "separated by '|'\n", what, text, max, TIR_MAX_FULL_AXIS);
            return -1;
        }
        out[n++] = v;
        p = *end ? end + 1 : end;
    }
    if (n == 0)
        fprintf(stderr, "tilec: error: --config %s= has no value\n", what);
    return n ? n : -1;
}

typedef struct PlanTaker {
    Arena *arena;
    const Kernel *k;
    KernelPlan *plan;
    bool *given;
} PlanTaker;

/* Const values (one each) and full-axis sizes (a '|' list each) out of --config. */
static int take_plan_entry(void *ctx, const char *name, const char *value)
{
    PlanTaker *t = ctx;
    const Kernel *k = t->k;
    for (int i = 0; i < k->nparams; i++) {
        const Param *pa = k->params[i];
        if (pa->kind != PARAM_CONST || strcmp(pa->name, name) != 0)
            continue;
        if (t->given[i]) {
            fprintf(stderr, "tilec: error: --config: const %s is given twice (leave it out to "
                    "build every value)\n", name);
            return -1;
        }
        /* one value, or a '|' list of the values to build (causal=true|false) */
        int n = 1;
        for (const char *c = value; *c; c++)
            n += *c == '|';
        int64_t *v = arena_alloc(t->arena, sizeof *v * (size_t)n);
        const char *item = value;
        for (int j = 0; j < n; j++) {
            size_t len = strcspn(item, "|");
            char *one = arena_strndup(t->arena, item, len);
            if (parse_const_value(pa, one, &v[j]) != 0)
                return -1;
            for (int prev = 0; prev < j; prev++)
                if (v[prev] == v[j]) {
                    fprintf(stderr, "tilec: error: --config %s=%s lists %s twice\n", name, value,
                            one);
                    return -1;
                }
            item += len + (item[len] == '|');
        }
        t->plan->const_choice[i] = v;
        t->plan->nconst_choice[i] = n;
        t->given[i] = true;
        return 1;
    }
    for (int s = 0; s < k->nsyms; s++) {
        if (!k->syms[s]->is_full || strcmp(k->syms[s]->name, name) != 0)
            continue;
        if (t->plan->nfull_values[s]) {
            fprintf(stderr, "tilec: error: --config: %s is given twice: give several sizes in "
                    "one entry, %s=", name, name);
            for (int i = 0; i < t->plan->nfull_values[s]; i++)
                fprintf(stderr, "%lld|", (long long)t->plan->full_values[s][i]);
            fprintf(stderr, "%s\n", value);
            return -1;
        }
        int n = parse_int_list(value, t->plan->full_values[s], FULL_AXIS_MAX_SIZES, name);
        if (n < 0)
            return -1;
        t->plan->nfull_values[s] = n;
        return 1;
    }
    return 0;
}

static int plan_kernel(Arena *a, const Kernel *k, const char *config, KernelPlan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->ast = k;
    if (k->nparams > 64 || k->nsyms > TBN_MAX_SYMS) {
        fprintf(stderr, "tilec: error: kernel %s has more than 64 parameters or %d shape "
                "symbols, more than a bundle holds\n", k->name, TBN_MAX_SYMS);
        return -1;
    }
    bool given[64] = {false};
    char rest[4096];
    PlanTaker taker = {a, k, plan, given};
    if (config_split(config, take_plan_entry, &taker, rest, sizeof rest) != 0)
        return -1;
    char err[512];
    if (config_parse(rest, &plan->user, err, sizeof err) != 0) {
        fprintf(stderr, "tilec: error: --config: %s\n", err);
        return -1;
    }
    for (int i = 0; i < k->nparams; i++) {
        const Param *pa = k->params[i];
        if (pa->kind != PARAM_CONST || given[i])
            continue;
        if (pa->dtype == DT_BOOL) {
            int64_t *v = arena_alloc(a, 2 * sizeof *v);
            v[0] = 0;
            v[1] = 1;
            plan->const_choice[i] = v;
            plan->nconst_choice[i] = 2;
        } else if (pa->nconst_values > 0) {
            plan->const_choice[i] = pa->const_values;
            plan->nconst_choice[i] = pa->nconst_values;
        } else {
            fprintf(stderr, "tilec: error: kernel %s: const %s declares no set of values: give "
                    "one with --config %s=VALUE\n", k->name, pa->name, pa->name);
            return -1;
        }
    }
    for (int s = 0; s < k->nsyms; s++) {
        const ShapeSym *sym = k->syms[s];
        if (!sym->is_full || plan->nfull_values[s])
            continue;
        if (sym->nsizes) {   /* `const D in {64, 128}` in the source */
            memcpy(plan->full_values[s], sym->sizes, sizeof(int64_t) * (size_t)sym->nsizes);
            plan->nfull_values[s] = sym->nsizes;
            continue;
        }
        fprintf(stderr, "tilec: error: kernel %s takes %s whole, so its size is compiled in: "
                "list its sizes in the kernel (`const %s in {64, 128}`) or give them with "
                "--config %s=64|128\n", k->name, sym->name, sym->name, sym->name);
        return -1;
    }
    return 0;
}

/* Every target x const combination x full-axis size x 2 align classes is compiled: refuses
   more than `limit` before compiling any, naming what multiplies the count. */
static int check_variant_count(const Kernel *k, const KernelPlan *plan, int ntargets,
                               int64_t limit)
{
    int64_t count = 2 * (int64_t)ntargets;
    char factors[1024];
    size_t used = 0;
    factors[0] = 0;
    if (ntargets > 1)
        used += (size_t)snprintf(factors, sizeof factors, "targets (%d)", ntargets);
    for (int i = 0; i <= k->nparams + k->nsyms; i++) {
        const char *name = NULL;
        int n = 1;
        if (i < k->nparams && k->params[i]->kind == PARAM_CONST)
            name = k->params[i]->name, n = plan->nconst_choice[i];
        else if (i >= k->nparams && i < k->nparams + k->nsyms && k->syms[i - k->nparams]->is_full)
            name = k->syms[i - k->nparams]->name, n = plan->nfull_values[i - k->nparams];
        else if (i == k->nparams + k->nsyms)
            name = "align classes", n = 2;
        if (!name || n < 2)
            continue;
        if (i < k->nparams + k->nsyms && __builtin_mul_overflow(count, n, &count))
            count = INT64_MAX;
        if (used < sizeof factors)
            used += (size_t)snprintf(factors + used, sizeof factors - used, "%s%s (%d)",
                                     used ? " x " : "", name, n);
    }
    if (count <= limit)
        return 0;
    fprintf(stderr, "tilec: error: kernel %s: %lld variants to build (%s), more than the "
            "limit of %lld: give consts one value (--config NAME=VALUE) or raise the limit "
            "with --max-variants N\n", k->name, (long long)count, factors, (long long)limit);
    return -1;
}

/* ---- cubins through ptxas (autotune/ptxas.c) */

/* BundleOptions.ptxas ("": no cubins), else the ptxas on PATH or in the CUDA toolkit. */
static const char *bundle_ptxas(const BundleOptions *o, char *buf, size_t size)
{
    if (o->ptxas)
        return o->ptxas[0] ? o->ptxas : NULL;
    return ptxas_find(buf, size);
}

/* The cubin of `ptx` for `target` (malloc'ed), or NULL, silently, when ptxas fails: the
   cubin is optional and the PTX still loads. *report gets ptxas's figures (spills). */
static uint8_t *assemble(const char *ptxas, const char *target, const char *ptx, size_t *size,
                         PtxasReport *report)
{
    void *cubin = NULL;
    char err[512];
    if (ptxas_assemble(ptxas, ptx, target, report, &cubin, size, err, sizeof err) != 0)
        return NULL;
    return cubin;
}

/* A variant the bundle ships slow: spilled registers or wgmma serialised by ptxas (the
   tuner rejects both). A warning at the kernel with the config and the knobs to turn. */
static void warn_slow_variant(Diag *d, const Kernel *k, const TirKernel *tk, const Target *target,
                              const Variant *v, const PtxasReport *r)
{
    if (!r->ran || (!r->spill_store_bytes && !r->spill_load_bytes && !r->serialised))
        return;
    char cfg[640];
    config_format(v->config, cfg, sizeof cfg);
    for (int s = 0; s < tk->nsyms; s++)   /* the full-axis sizes are part of the variant */
        if (tk->syms[s].is_full) {
            size_t n = strlen(cfg);
            snprintf(cfg + n, sizeof cfg - n, ",%s=%lld", tk->syms[s].name,
                     (long long)v->full_sizes[s]);
        }
    if (r->spill_store_bytes || r->spill_load_bytes)
        diag_warning(d, k->loc, "kernel %s (%s, %s) spills registers: %d bytes stored, %d "
                     "loaded; lower BLOCK_* or raise num_warps (`tilec tune` rejects spilling "
                     "configs)", k->name, target->name, cfg, r->spill_store_bytes,
                     r->spill_load_bytes);
    if (r->serialised)
        diag_warning(d, k->loc, "kernel %s (%s, %s): ptxas serialises its wgmma (a C75xx "
                     "note); lower BLOCK_* or num_stages, or pin dot=mma_sync", k->name,
                     target->name, cfg);
}

/* ---- records */

/* Which tensors a kernel stores to (plain or atomic stores: the bundle's written flags and
   the header's const qualifiers) and which it reads (loads, and atomics into a tensor that is
   not a reduction target, whose old contents count): the bundle's read flags. */
typedef struct StoreScan {
    const TirKernel *kernel;
    bool written[64], read[64];
} StoreScan;

static void mark_written(TirOp *op, void *ctx)
{
    StoreScan *s = ctx;
    if (op->param < 0 || op->param >= 64)
        return;
    if (op->opcode == TIR_STORE || op->opcode == TIR_ATOMIC)
        s->written[op->param] = true;
    if (op->opcode == TIR_LOAD ||
        (op->opcode == TIR_ATOMIC && s->kernel->params[op->param].reduce == REDUCE_NONE))
        s->read[op->param] = true;
}

static StoreScan kernel_access(const TirKernel *tk)
{
    StoreScan s = {.kernel = tk};
    tir_walk(tk->body, mark_written, &s);
    return s;
}

/* What a program does with its parameters: reads its inputs, writes its outputs (put_param
   keeps the flags of tensors only: the reader refuses them on a scalar). */
static StoreScan program_access(const TirProgram *p)
{
    StoreScan s = {0};
    for (int i = 0; i < p->nparams && i < 64; i++) {
        s.read[i] = i < p->ninputs;
        s.written[i] = i >= p->ninputs;
    }
    return s;
}

static uint32_t access_flags(const StoreScan *s, int i)
{
    return (s->written[i] ? TBN_PARAM_WRITTEN : 0) | (s->read[i] ? TBN_PARAM_READ : 0);
}

/* A parameter record (a kernel's or a program's, or an intermediate's), its view in *q;
   flags: TBN_PARAM_WRITTEN and TBN_PARAM_READ. */
static void put_param(Writer *w, const TirParam *p, TbnParam *q, uint32_t flags)
{
    memset(q, 0, sizeof *q);
    q->name = p->name;
    q->kind = (uint8_t)p->kind;
    q->dtype = (uint8_t)p->dtype;
    q->rank = (uint8_t)(p->kind == PARAM_TENSOR ? p->rank : 0);
    q->reduce = (uint8_t)p->reduce;
    uint32_t first_dim = w->nvalues;
    for (int d = 0; d < q->rank; d++) {
        q->dims[d] = p->dims[d].sym >= 0 ? -(int64_t)p->dims[d].sym - 1 : p->dims[d].value;
        put_value(w, q->dims[d]);
    }
    uint32_t first_const = w->nvalues;
    int nconst = p->kind == PARAM_CONST && p->dtype != DT_BOOL ? p->nconst_values : 0;
    for (int c = 0; c < nconst; c++)
        put_value(w, p->const_values[c]);
    Buf *b = &w->sec[TBN_SEC_PARAMS];
    put32(b, put_string(w, p->name));
    put8(b, q->kind);
    put8(b, q->dtype);
    put8(b, q->rank);
    put8(b, q->reduce);
    put32(b, first_dim);
    put32(b, first_const);
    put32(b, (uint32_t)nconst);
    put32(b, p->kind == PARAM_TENSOR ? flags : 0);   /* flags are a tensor's */
    w->nparams++;
}

static void put_signature(Writer *w, const TirKernel *tk, const StoreScan *access,
                          uint32_t *first_param, uint32_t *first_sym, uint64_t *signature)
{
    TbnParam params[64];
    TbnSym syms[TIR_PROGRAM_MAX_SYMS];
    *first_param = w->nparams;
    *first_sym = w->nsyms;
    for (int i = 0; i < tk->nparams; i++)
        put_param(w, &tk->params[i], &params[i], access_flags(access, i));
    for (int s = 0; s < tk->nsyms; s++) {
        syms[s].name = tk->syms[s].name;
        syms[s].full = tk->syms[s].is_full;
        put32(&w->sec[TBN_SEC_SYMS], put_string(w, tk->syms[s].name));
        put32(&w->sec[TBN_SEC_SYMS], tk->syms[s].is_full ? TBN_SYM_FULL : 0);
        w->nsyms++;
    }
    *signature = tbn_signature(tk->name, params, (uint32_t)tk->nparams, syms,
                               (uint32_t)tk->nsyms);
}

typedef struct VariantRecord {
    const TirKernel *tk;
    const Config *config;
    int64_t consts[64];
    int nconsts;
    int64_t full[TBN_MAX_SYMS];
    const GridProgram *grid;
    AlignClass align;
    const Target *target;
    CompiledKernel compiled;
    const uint8_t *cubin;
    size_t cubin_size;
} VariantRecord;

static void put_variant(Writer *w, uint32_t kernel, const VariantRecord *r)
{
    const TirKernel *tk = r->tk;
    uint32_t first_config = w->nconfigs;
    for (int i = 0; i < r->config->n; i++) {
        put32(&w->sec[TBN_SEC_CONFIGS], put_string(w, r->config->entries[i].name));
        put32(&w->sec[TBN_SEC_CONFIGS], 0);
        put64(&w->sec[TBN_SEC_CONFIGS], (uint64_t)r->config->entries[i].value);
        w->nconfigs++;
    }
    uint32_t first_const = w->nvalues;
    for (int i = 0; i < r->nconsts; i++)
        put_value(w, r->consts[i]);
    uint32_t first_full = w->nvalues;
    for (int s = 0; s < tk->nsyms; s++)
        put_value(w, tk->syms[s].is_full ? r->full[s] : 0);
    const TirOp *grid = grid_op(tk);
    uint32_t first_block = w->nvalues;
    for (int i = 0; i < grid->nvars; i++)
        put_value(w, tir_loopvar_block(tk, tk->loopvars[grid->loopvars[i]], r->config));
    uint32_t first_instr = w->ninstrs;
    for (int i = 0; i < r->grid->n; i++) {
        Buf *b = &w->sec[TBN_SEC_GRID];
        put8(b, r->grid->code[i].op);
        put8(b, r->grid->code[i].dtype);
        put8(b, r->grid->code[i].sub);
        put8(b, 0);
        put32(b, r->grid->code[i].index);
        put64(b, (uint64_t)r->grid->code[i].imm);
        w->ninstrs++;
    }
    uint64_t ptx_size = strlen(r->compiled.ptx) + 1;
    uint64_t ptx_at = put_blob(w, r->compiled.ptx, ptx_size);
    uint64_t cubin_at = r->cubin_size ? put_blob(w, r->cubin, r->cubin_size) : 0;
    Buf *b = &w->sec[TBN_SEC_VARIANTS];
    put32(b, kernel);
    put32(b, first_config);
    put32(b, (uint32_t)r->config->n);
    put32(b, first_const);
    put32(b, first_full);
    put32(b, first_block);
    put32(b, (uint32_t)grid->nvars);
    put32(b, first_instr);
    put32(b, (uint32_t)r->grid->n);
    put32(b, (uint32_t)r->target->sm);
    put32(b, put_string(w, r->target->name));
    put32(b, put_string(w, r->compiled.entry));
    put32(b, (uint32_t)r->compiled.num_threads);
    put32(b, (uint32_t)r->compiled.smem_bytes);
    put8(b, (uint8_t)r->align);
    put_zero(b, 7);
    put64(b, ptx_at);
    put64(b, ptx_size);
    put64(b, cubin_at);
    put64(b, r->cubin_size);
    Buf *launch = &w->sec[TBN_SEC_LAUNCH];
    put32(launch, r->compiled.persistent ? TBN_LAUNCH_PERSISTENT : 0);
    put32(launch, (uint32_t)(w->sec[TBN_SEC_TMAPS].len / TBN_TMAP_SIZE));
    put32(launch, (uint32_t)r->compiled.ntmaps);
    put32(launch, put_string(w, r->compiled.path ? r->compiled.path : ""));
    for (int m = 0; m < r->compiled.ntmaps; m++) {
        const TensorMapSpec *t = &r->compiled.tmaps[m];
        Buf *tm = &w->sec[TBN_SEC_TMAPS];
        put32(tm, t->param);
        put32(tm, t->rank);
        for (int d = 0; d < TMAP_MAX_RANK; d++)
            put32(tm, t->box[d]);
        put32(tm, t->swizzle);
    }
    w->nvariants++;
}

/* A kernel record and its signature; its variant and dispatch runs are patched in when
   they are written. Returns the signature hash. */
static uint64_t put_kernel(Writer *w, const TirKernel *tk)
{
    uint32_t fp, fs;
    uint64_t signature;
    StoreScan access = kernel_access(tk);
    put_signature(w, tk, &access, &fp, &fs, &signature);
    Buf *b = &w->sec[TBN_SEC_KERNELS];
    put32(b, put_string(w, tk->name));
    put32(b, fp);
    put32(b, (uint32_t)tk->nparams);
    put32(b, fs);
    put32(b, (uint32_t)tk->nsyms);
    put_zero(b, 5 * 4); /* variant and dispatch runs, 4 zero bytes */
    put64(b, signature);
    put_zero(b, 16);
    w->nkernels++;
    return signature;
}

static void patch_kernel_runs(Writer *w, uint32_t kernel_index, uint32_t first_variant,
                              uint32_t nvariants, uint32_t first_dispatch, uint32_t ndispatch)
{
    uint8_t *rec = w->sec[TBN_SEC_KERNELS].data + (size_t)kernel_index * TBN_KERNEL_SIZE;
    uint32_t runs[4] = {first_variant, nvariants, first_dispatch, ndispatch};
    for (int j = 0; j < 4; j++)
        for (int byte = 0; byte < 4; byte++)
            rec[20 + 4 * j + byte] = (uint8_t)(runs[j] >> (8 * byte));
}

/* A dispatch entry: `gpu` ("*" or a device name) and a shape key of nshape (symbol, value)
   pairs (none: the kernel's default). */
static void put_dispatch(Writer *w, uint32_t kernel, uint32_t variant, const char *gpu,
                         const int64_t *shape, int nshape)
{
    uint32_t first_shape = w->nvalues;
    for (int i = 0; i < 2 * nshape; i++)
        put_value(w, shape[i]);
    Buf *b = &w->sec[TBN_SEC_DISPATCH];
    put32(b, kernel);
    put32(b, variant);
    put32(b, put_string(w, gpu));
    put32(b, first_shape);
    put32(b, (uint32_t)nshape);
    put32(b, 0);
    w->ndispatch++;
}

static void put_default_dispatch(Writer *w, uint32_t kernel, uint32_t variant)
{
    put_dispatch(w, kernel, variant, "*", NULL, 0);
}

/* ---- programs */

static const KernelOut *kernel_out(const KernelOut *outs, uint32_t n, const char *name,
                                   uint32_t *index)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(outs[i].signature_tk->name, name) == 0) {
            *index = i;
            return &outs[i];
        }
    return NULL;
}

/* What a call passes for one parameter of its kernel, as a call-argument record. */
static void put_call_arg(Writer *w, const TirProgram *p, const int *temp_index,
                         const TirProgArg *arg)
{
    uint8_t kind = TBN_ARG_LITERAL;
    uint32_t index = 0;
    int64_t value = arg->ivalue;
    if (arg->kind == TIR_PARG_VALUE && p->values[arg->index].kind == TIR_PV_TEMP) {
        kind = TBN_ARG_TEMP;
        index = (uint32_t)temp_index[arg->index];
    } else if (arg->kind == TIR_PARG_VALUE) {
        kind = TBN_ARG_PARAM;
        index = (uint32_t)p->values[arg->index].param;
    } else if (arg->kind == TIR_PARG_SCALAR) {
        kind = TBN_ARG_PARAM;
        index = (uint32_t)arg->index;
    } else if (dtype_is_float(arg->dtype)) {
        memcpy(&value, &arg->fvalue, sizeof value);
    }
    Buf *b = &w->sec[TBN_SEC_CALL_ARGS];
    put8(b, kind);
    put_zero(b, 3);
    put32(b, index);
    put64(b, (uint64_t)value);
    w->ncall_args++;
}

/* One call: its arguments in the order of its kernel's bundle signature, and the size of
   each of the kernel's symbols in the program's terms. Fails when the kernel is not built
   for a const value the call passes (--config picked others). */
static int put_call(Writer *w, const Program *file, const TirProgram *p, const int *temp_index,
                    const TirProgCall *call, const KernelOut *outs, uint32_t nkernels)
{
    uint32_t ki = 0;
    const KernelOut *ko = kernel_out(outs, nkernels, call->kernel, &ki);
    const Kernel *k = program_find_kernel(file, call->kernel);
    const TirKernel *tk = ko->signature_tk;
    uint32_t first_arg = w->ncall_args;
    for (int i = 0; i < tk->nparams; i++) {
        int ai = 0;
        while (ai < call->nargs && strcmp(call->args[ai].param, tk->params[i].name) != 0)
            ai++;
        const TirProgArg *arg = &call->args[ai];
        if (tk->params[i].kind == PARAM_CONST) {
            bool built = false;
            for (int v = 0; v < ko->plan->nconst_choice[ai]; v++)
                built |= ko->plan->const_choice[ai][v] == arg->ivalue;
            if (!built) {
                fprintf(stderr, "tilec: error: program %s calls %s with %s=%lld at %d:%d, which "
                        "--config leaves out of the bundle\n", p->name, k->name, arg->param,
                        (long long)arg->ivalue, call->loc.line, call->loc.col);
                return EXIT_USAGE;
            }
        }
        put_call_arg(w, p, temp_index, arg);
    }
    uint32_t first_size = w->nvalues;
    for (int s = 0; s < tk->nsyms; s++) {
        int j = 0;
        while (j < k->nsyms && strcmp(k->syms[j]->name, tk->syms[s].name) != 0)
            j++;
        TirDim d = call->sym_sizes[j];
        put_value(w, d.sym >= 0 ? -(int64_t)d.sym - 1 : d.value);
    }
    Buf *b = &w->sec[TBN_SEC_CALLS];
    put32(b, ki);
    put32(b, first_arg);
    put32(b, (uint32_t)tk->nparams);
    put32(b, first_size);
    put32(b, (uint32_t)tk->nsyms);
    put32(b, 0);
    w->ncalls++;
    return EXIT_OK;
}

/* A program record: its signature, intermediates, their live ranges and its calls. */
static int put_program(Writer *w, Arena *a, const Program *file, const TirProgram *p,
                       const KernelOut *outs, uint32_t nkernels, uint64_t *signature)
{
    uint32_t first_param, first_sym;
    StoreScan access = program_access(p);
    put_signature(w, program_signature_kernel(a, p), &access, &first_param, &first_sym, signature);
    int *temp_index = arena_alloc(a, sizeof *temp_index * (size_t)(p->nvalues + 1));
    uint32_t first_temp = w->nparams, ntemps = 0;
    for (int v = 0; v < p->nvalues; v++) {
        const TirProgValue *val = &p->values[v];
        if (val->kind != TIR_PV_TEMP)
            continue;
        temp_index[v] = (int)ntemps++;
        TirParam tp = {.name = val->name, .kind = PARAM_TENSOR, .dtype = val->dtype,
                       .rank = val->rank};
        memcpy(tp.dims, val->dims, sizeof tp.dims);
        TbnParam q;
        put_param(w, &tp, &q, TBN_PARAM_WRITTEN | TBN_PARAM_READ);
    }
    uint32_t first_live = w->nvalues;
    for (int v = 0; v < p->nvalues; v++)
        if (p->values[v].kind == TIR_PV_TEMP) {
            put_value(w, p->values[v].first);
            put_value(w, p->values[v].last);
        }
    uint32_t first_call = w->ncalls;
    for (int c = 0; c < p->ncalls; c++) {
        int status = put_call(w, file, p, temp_index, &p->calls[c], outs, nkernels);
        if (status != EXIT_OK)
            return status;
    }
    Buf *b = &w->sec[TBN_SEC_PROGRAMS];
    uint32_t fields[] = {put_string(w, p->name), first_param, (uint32_t)p->nparams,
                         (uint32_t)p->ninputs, first_sym, (uint32_t)p->nsyms, first_temp,
                         ntemps, first_live, first_call, (uint32_t)p->ncalls, 0};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        put32(b, fields[i]);
    put64(b, *signature);
    put_zero(b, 8);
    w->nprograms++;
    return EXIT_OK;
}

/* The bundle's bytes: header, section table, sections (16-byte aligned; malloc'ed, in
   *out). */
static void serialize(Writer *w, Buf *out)
{
    memset(out, 0, sizeof *out);
    uint32_t nsec = TBN_SECTION_KINDS;
    uint64_t at = TBN_HEADER_SIZE + (uint64_t)nsec * TBN_SECTION_ENTRY_SIZE;
    uint64_t offsets[TBN_SECTION_KINDS + 1];
    for (uint32_t k = 1; k <= nsec; k++) {
        at = (at + 15) & ~(uint64_t)15;
        offsets[k] = at;
        at += w->sec[k].len;
    }
    put_zero(out, TBN_HEADER_SIZE);
    for (uint32_t k = 1; k <= nsec; k++) {
        put32(out, k);
        put32(out, 0);
        put64(out, offsets[k]);
        put64(out, w->sec[k].len);
    }
    for (uint32_t k = 1; k <= nsec; k++) {
        put_zero(out, (size_t)(offsets[k] - out->len));
        buf_put(out, w->sec[k].data, w->sec[k].len);
    }
    Buf h = {0};
    buf_put(&h, TBN_MAGIC, 8);
    put32(&h, TBN_VERSION);
    put32(&h, TBN_HEADER_SIZE);
    put64(&h, out->len);
    put32(&h, nsec);
    put32(&h, 0);
    put64(&h, TBN_HEADER_SIZE);
    put32(&h, tbn_crc32(0, out->data + TBN_HEADER_SIZE, out->len - TBN_HEADER_SIZE));
    put_zero(&h, 16);
    put32(&h, tbn_crc32(0, h.data, 60));
    memcpy(out->data, h.data, TBN_HEADER_SIZE);
    free(h.data);
}

/* The bundle's bytes into f (errors: outfile_commit reports them). */
static void put_bundle(FILE *f, Writer *w)
{
    Buf out;
    serialize(w, &out);
    fwrite(out.data, 1, out.len, f);
    free(out.data);
}

/* ---- the launcher header */

static const char *c_scalar_type(DType t)
{
    switch (t) {
    case DT_F32: return "float";
    case DT_F16: return "tile_f16";
    case DT_BF16: return "tile_bf16";
    case DT_F8E4M3: return "tile_f8e4m3";
    case DT_F8E5M2: return "tile_f8e5m2";
    case DT_I8: return "int8_t";
    case DT_I16: return "int16_t";
    case DT_U8: return "uint8_t";
    case DT_U32: return "uint32_t";
    case DT_I32: return "int32_t";
    case DT_I64: return "int64_t";
    case DT_BOOL: return "bool";
    default: return "void";
    }
}

static const char *scalar_member(DType t)
{
    switch (t) {
    case DT_F32: return "f32";
    case DT_F16: case DT_BF16: return "bits16";
    case DT_F8E4M3: case DT_F8E5M2: return "bits8";
    case DT_I32: return "i32";
    case DT_I64: return "i64";
    default: return "b";
    }
}

static void header_params(FILE *f, const TirKernel *tk, const StoreScan *ws, bool strided,
                          bool program)
{
    fputs("tile_context *ctx, tile_bundle *bundle, CUstream stream", f);
    if (program)
        fputs(",\n    void *workspace, size_t workspace_bytes", f);
    for (int i = 0; i < tk->nparams; i++) {
        const TirParam *p = &tk->params[i];
        if (p->kind != PARAM_TENSOR)
            continue;
        fprintf(f, ",\n    %s%s *%s", ws->written[i] ? "" : "const ", c_scalar_type(p->dtype),
                p->name);
        for (int d = 0; strided && d < p->rank; d++)
            fprintf(f, ", int64_t %s_s%d", p->name, d);
    }
    for (int s = 0; s < tk->nsyms; s++)
        fprintf(f, ",\n    int64_t %s", tk->syms[s].name);
    for (int i = 0; i < tk->nparams; i++) {
        const TirParam *p = &tk->params[i];
        if (p->kind == PARAM_SCALAR)
            fprintf(f, ",\n    %s %s", c_scalar_type(p->dtype), p->name);
        else if (p->kind == PARAM_CONST)
            fprintf(f, ",\n    %s %s", p->dtype == DT_BOOL ? "bool" : "int64_t", p->name);
    }
}

/* The typed launcher of a kernel, or of a program (`program`: its signature as a kernel;
   it takes the workspace after the stream), and its `_contiguous` form. `ws` marks the
   tensors it writes (the others are const pointers). */
static void header_entry(FILE *f, const char *prefix, int index, const TirKernel *tk,
                         uint64_t signature, const StoreScan *ws, bool program)
{
    int ntensors = 0, nstrides = 0, nscalars = 0, nconsts = 0;
    for (int i = 0; i < tk->nparams; i++) {
        const TirParam *p = &tk->params[i];
        ntensors += p->kind == PARAM_TENSOR;
        nstrides += p->kind == PARAM_TENSOR ? p->rank : 0;
        nscalars += p->kind == PARAM_SCALAR;
        nconsts += p->kind == PARAM_CONST;
    }
    const char *what = program ? "program" : "kernel";
    if (program)
        fprintf(f, "\n/* program %s: strides in elements; the shape symbols in this order; a\n"
                "   workspace of at least %s_%s_workspace_bytes() bytes of device memory,\n"
                "   256-byte aligned, for one launch at a time (the caller's, or a stream's). */\n",
                tk->name, prefix, tk->name);
    else
        fprintf(f, "\n/* kernel %s: strides in elements; the shape symbols in this order. */\n",
                tk->name);
    fprintf(f, "static inline tile_status %s_%s(", prefix, tk->name);
    header_params(f, tk, ws, true, program);
    fputs(")\n{\n", f);
    fprintf(f, "    void *const pointers[%d] = {", ntensors ? ntensors : 1);
    const char *sep = "";
    for (int i = 0; i < tk->nparams; i++)
        if (tk->params[i].kind == PARAM_TENSOR) {
            fprintf(f, "%s(void *)%s", sep, tk->params[i].name);
            sep = ", ";
        }
    fprintf(f, "%s};\n    const int64_t strides[%d] = {", ntensors ? "" : "0", nstrides ? nstrides : 1);
    sep = "";
    for (int i = 0; i < tk->nparams; i++)
        for (int d = 0; tk->params[i].kind == PARAM_TENSOR && d < tk->params[i].rank; d++) {
            fprintf(f, "%s%s_s%d", sep, tk->params[i].name, d);
            sep = ", ";
        }
    fprintf(f, "%s};\n    const int64_t symbols[%d] = {", nstrides ? "" : "0",
            tk->nsyms ? tk->nsyms : 1);
    for (int s = 0; s < tk->nsyms; s++)
        fprintf(f, "%s%s", s ? ", " : "", tk->syms[s].name);
    fprintf(f, "%s};\n    tile_scalar scalars[%d] = {{0}};\n", tk->nsyms ? "" : "0",
            nscalars ? nscalars : 1);
    int si = 0;
    for (int i = 0; i < tk->nparams; i++) {
        const TirParam *p = &tk->params[i];
        if (p->kind != PARAM_SCALAR)
            continue;
        bool wrapped = p->dtype == DT_F16 || p->dtype == DT_BF16 || dtype_is_fp8(p->dtype);
        fprintf(f, "    scalars[%d].%s = %s%s;\n", si++, scalar_member(p->dtype), p->name,
                wrapped ? ".bits" : "");
    }
    fprintf(f, "    const int64_t consts[%d] = {", nconsts ? nconsts : 1);
    sep = "";
    for (int i = 0; i < tk->nparams; i++)
        if (tk->params[i].kind == PARAM_CONST) {
            fprintf(f, "%s(int64_t)%s", sep, tk->params[i].name);
            sep = ", ";
        }
    fprintf(f, "%s};\n", nconsts ? "" : "0");
    fprintf(f, "    const tile_launch_values values = {pointers, strides, symbols, scalars, "
            "consts};\n");
    if (program)
        fprintf(f, "    return tile_launch_program_values_at(ctx, bundle, %d, 0x%016llxull, "
                "&values, workspace,\n                                         workspace_bytes, "
                "stream);\n}\n", index, (unsigned long long)signature);
    else
        fprintf(f, "    return tile_launch_values_at(ctx, bundle, %d, 0x%016llxull, &values, "
                "stream);\n}\n", index, (unsigned long long)signature);

    /* the contiguous form: row-major strides from the dims */
    fprintf(f, "\n/* %s %s on contiguous (row-major) tensors. */\n"
            "static inline tile_status %s_%s_contiguous(", what, tk->name, prefix, tk->name);
    header_params(f, tk, ws, false, program);
    fprintf(f, ")\n{\n    return %s_%s(ctx, bundle, stream%s", prefix, tk->name,
            program ? ", workspace, workspace_bytes" : "");
    for (int i = 0; i < tk->nparams; i++) {
        const TirParam *p = &tk->params[i];
        if (p->kind != PARAM_TENSOR)
            continue;
        fprintf(f, ",\n        %s", p->name);
        for (int d = 0; d < p->rank; d++) {
            fputs(", ", f);
            if (d == p->rank - 1) {
                fputs("1", f);
                continue;
            }
            for (int e = d + 1; e < p->rank; e++) {
                if (e > d + 1)
                    fputs(" * ", f);
                if (p->dims[e].sym >= 0)
                    fprintf(f, "%s", tk->syms[p->dims[e].sym].name);
                else
                    fprintf(f, "(int64_t)%lld", (long long)p->dims[e].value);
            }
        }
    }
    for (int s = 0; s < tk->nsyms; s++)
        fprintf(f, ", %s", tk->syms[s].name);
    for (int i = 0; i < tk->nparams; i++)
        if (tk->params[i].kind != PARAM_TENSOR)
            fprintf(f, ", %s", tk->params[i].name);
    fputs(");\n}\n", f);
}

static void header_kernel(FILE *f, const char *prefix, int index, const TirKernel *tk,
                          uint64_t signature)
{
    StoreScan ws = kernel_access(tk);
    header_entry(f, prefix, index, tk, signature, &ws, false);
}

/* A program's launcher, and the size of the workspace it takes for given symbols. */
static void header_program(FILE *f, const char *prefix, int index, const TirProgram *p,
                           const TirKernel *signature_tk, uint64_t signature)
{
    fprintf(f, "\n/* program %s: the bytes of workspace a launch with these sizes needs. */\n"
            "static inline tile_status %s_%s_workspace_bytes(tile_context *ctx, tile_bundle *bundle",
            p->name, prefix, p->name);
    for (int s = 0; s < p->nsyms; s++)
        fprintf(f, ",\n    int64_t %s", p->syms[s]);
    fprintf(f, ",\n    size_t *bytes)\n{\n    const int64_t symbols[%d] = {", p->nsyms ? p->nsyms : 1);
    for (int s = 0; s < p->nsyms; s++)
        fprintf(f, "%s%s", s ? ", " : "", p->syms[s]);
    fprintf(f, "%s};\n    return tile_program_workspace_bytes_at(ctx, bundle, %d, 0x%016llxull, "
            "symbols, bytes);\n}\n", p->nsyms ? "" : "0", index, (unsigned long long)signature);
    StoreScan ws = program_access(p);
    header_entry(f, prefix, index, signature_tk, signature, &ws, true);
}

/* ---- the driver */

static char *derive_name(Arena *a, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn(base, ".");
    char *name = arena_strndup(a, base, n ? n : strlen(base));
    for (char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c))
            *c = '_';
    if (!name[0] || isdigit((unsigned char)name[0]))
        name = arena_printf(a, "b_%s", name);
    return name;
}

char *bundle_header_path(Arena *a, const char *path)
{
    size_t n = strlen(path);
    if (n > 4 && strcmp(path + n - 4, ".tbn") == 0)
        n -= 4;
    return arena_printf(a, "%.*s.h", (int)n, path);
}

/* ---- tuned dispatch entries (--tuned, --tuned-from) */

void bundle_const_key(const Kernel *k, const int64_t *const_values, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < k->nparams && len < size; i++) {
        const Param *p = k->params[i];
        if (p->kind != PARAM_CONST)
            continue;
        if (p->dtype == DT_BOOL)
            len += (size_t)snprintf(buf + len, size - len, "%s%s=%s", len ? "," : "", p->name,
                                    const_values[i] ? "true" : "false");
        else
            len += (size_t)snprintf(buf + len, size - len, "%s%s=%lld", len ? "," : "", p->name,
                                    (long long)const_values[i]);
    }
}

/* A variant already written for the current lowering, so a tuned config equal to the
   default (or to another GPU's) reuses it instead of compiling it again. */
typedef struct Emitted {
    const Config *config;
    int64_t full[TBN_MAX_SYMS];
    AlignClass align;
    uint32_t index;
} Emitted;

typedef struct EmittedList {
    Emitted *items;
    int n, cap;
} EmittedList;

static void emitted_add(Arena *a, EmittedList *l, const Config *c, const int64_t *full, int nsyms,
                        AlignClass align, uint32_t index)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        Emitted *grown = arena_alloc(a, sizeof *grown * (size_t)cap);
        if (l->n)
            memcpy(grown, l->items, sizeof *grown * (size_t)l->n);
        l->items = grown;
        l->cap = cap;
    }
    Emitted *e = &l->items[l->n++];
    memset(e, 0, sizeof *e);
    e->config = c;
    memcpy(e->full, full, sizeof(int64_t) * (size_t)nsyms);
    e->align = align;
    e->index = index;
}

static bool config_same(const Config *x, const Config *y)
{
    if (x->n != y->n)
        return false;
    for (int i = 0; i < x->n; i++)
        if (strcmp(x->entries[i].name, y->entries[i].name) != 0 ||
            x->entries[i].value != y->entries[i].value)
            return false;
    return true;
}

static const Emitted *emitted_find(const EmittedList *l, const Config *c, const int64_t *full,
                                   int nsyms, AlignClass align)
{
    for (int i = 0; i < l->n; i++)
        if (l->items[i].align == align && config_same(l->items[i].config, c) &&
            memcmp(l->items[i].full, full, sizeof(int64_t) * (size_t)nsyms) == 0)
            return &l->items[i];
    return NULL;
}

static bool parse_align_name(const char *name, AlignClass *out)
{
    for (int c = 0; c < TBN_ALIGN_COUNT; c++)
        if (strcmp(name, tbn_align_name(c)) == 0) {
            *out = (AlignClass)c;
            return true;
        }
    return false;
}

/* "M=4096,K=4096,N=4096" to (symbol, value) pairs in the kernel's symbol order; every symbol
   once. Returns false with the reason in err. */
static bool parse_tuned_shape(const TirKernel *tk, const char *text, int64_t *pairs, char *err,
                              size_t errlen)
{
    bool given[TBN_MAX_SYMS] = {false};
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, ",");
        const char *eq = memchr(p, '=', n);
        int s = 0;
        for (; eq && s < tk->nsyms; s++)
            if (strlen(tk->syms[s].name) == (size_t)(eq - p) &&
                memcmp(tk->syms[s].name, p, (size_t)(eq - p)) == 0)
                break;
        char *end = NULL;
        long long v = eq ? strtoll(eq + 1, &end, 10) : -1;
        if (!eq || s == tk->nsyms || given[s] || end != p + n || v < 0) {
            snprintf(err, errlen, "its shape '%s' does not bind the kernel's symbols once each "
                     "('%.*s')", text, (int)n, p);
            return false;
        }
        given[s] = true;
        pairs[2 * s] = s;
        pairs[2 * s + 1] = v;
        p += n + (p[n] == ',');
    }
    for (int s = 0; s < tk->nsyms; s++)
        if (!given[s]) {
            snprintf(err, errlen, "its shape '%s' does not give %s", text, tk->syms[s].name);
            return false;
        }
    return true;
}

typedef struct TunedCounts {
    int entries, variants, skipped;
} TunedCounts;

/* Adds the tuned entries of kernel k for this lowering (const values `consts`): a variant
   per distinct (config, full-axis sizes, align class) not already written, and a dispatch
   entry per entry. An entry that no longer fits the kernel is skipped with a warning. */
static void add_tuned(Arena *a, const BundleOptions *o, BundleCompileFn compile, const Kernel *k,
                      const TirKernel *tk, const VariantRecord *base, const char *consts,
                      Writer *w, uint32_t kernel_index, const char *ptxas, EmittedList *emitted,
                      TunedCounts *counts)
{
    for (int i = 0; i < o->ntuned; i++) {
        const BundleTuned *t = &o->tuned[i];
        if (strcmp(t->kernel, k->name) != 0 || strcmp(t->consts, consts) != 0)
            continue;
        char err[512];
        AlignClass align = ALIGN_VEC16;
        int64_t pairs[2 * TBN_MAX_SYMS];
        Config user, *resolved = arena_alloc(a, sizeof *resolved);
        bool ok = parse_align_name(t->align, &align);
        if (!ok)
            snprintf(err, sizeof err, "unknown alignment class '%s'", t->align);
        ok = ok && parse_tuned_shape(tk, t->shape, pairs, err, sizeof err);
        if (ok && (config_parse(t->config, &user, err, sizeof err) != 0 ||
                   config_resolve(tk, &user, resolved, err, sizeof err) != 0))
            ok = false;
        VariantRecord r = *base;
        r.config = resolved;
        r.align = align;
        Variant v = {.config = resolved, .align = align};
        for (int s = 0; ok && s < tk->nsyms; s++)
            if (tk->syms[s].is_full)
                v.full_sizes[s] = r.full[s] = pairs[2 * s + 1];
        const Emitted *same = ok ? emitted_find(emitted, resolved, r.full, tk->nsyms, align) : NULL;
        uint32_t index = same ? same->index : w->nvariants;
        if (ok && !same) {
            memset(&r.compiled, 0, sizeof r.compiled);
            if (compile(a, tk, &v, base->target, false, &r.compiled, err, sizeof err) != 0)
                ok = false;
        }
        if (!ok) {
            fprintf(stderr, "tilec: warning: kernel %s: skipped the tuned config '%s' for GPU "
                    "'%s', %s%s%s, align %s: %s\n", k->name, t->config, t->gpu, t->shape,
                    consts[0] ? ", " : "", consts, t->align, err);
            counts->skipped++;
            continue;
        }
        if (!same) {
            uint8_t *cubin = NULL;
            r.cubin_size = 0;
            PtxasReport report = {0};
            if (ptxas)
                cubin = assemble(ptxas, base->target->name, r.compiled.ptx, &r.cubin_size,
                                 &report);
            r.cubin = cubin;
            put_variant(w, kernel_index, &r);
            free(cubin);
            emitted_add(a, emitted, resolved, r.full, tk->nsyms, align, index);
            counts->variants++;
        }
        put_dispatch(w, kernel_index, index, t->gpu, pairs, tk->nsyms);
        counts->entries++;
    }
}

/* One target's variants of kernel k (that target's checked AST): every const combination x
   full-axis size x align class, then (for the first target) the tuned entries. */
static int build_kernel_target(Arena *a, Diag *d, const BundleOptions *o, const Kernel *k,
                               const KernelPlan *plan, const Target *target, bool tuned_here,
                               Writer *w, uint32_t kernel_index, KernelOut *out,
                               const char *ptxas, TunedCounts *tuned)
{
    BundleCompileFn compile = o->compile ? o->compile : codegen_compile;
    int64_t *const_values = arena_alloc(a, sizeof(int64_t) * (size_t)(k->nparams + 1));
    int idx[64] = {0};
    /* every combination of const values: an odometer over the const params */
    for (;;) {
        for (int i = 0; i < k->nparams; i++)
            if (k->params[i]->kind == PARAM_CONST)
                const_values[i] = plan->const_choice[i][idx[i]];
        TirKernel *tk;
        Config *resolved = arena_alloc(a, sizeof *resolved);
        int status = pipeline_kernel(a, d, k, const_values, &plan->user, NULL, &tk, resolved);
        if (status != EXIT_OK)
            return status;
        char err[512];
        GridProgram *grid = arena_alloc(a, sizeof *grid);
        if (!build_grid_program(tk, grid)) {
            fprintf(stderr, "tilec: error: kernel %s: %s\n", k->name, grid->err);
            return EXIT_INPUT;
        }
        if (!out->signature_tk) {
            out->signature_tk = tk;
            out->signature = put_kernel(w, tk);
        }
        /* every combination of full-axis sizes */
        int fidx[TBN_MAX_SYMS] = {0};
        EmittedList emitted = {NULL, 0, 0};
        VariantRecord base = {.tk = tk, .grid = grid, .target = target};
        for (;;) {
            VariantRecord r = {.tk = tk, .config = resolved, .grid = grid, .target = target};
            for (int i = 0; i < k->nparams; i++)
                if (k->params[i]->kind == PARAM_CONST)
                    r.consts[r.nconsts++] = const_values[i];
            Variant v = {.config = resolved};
            for (int s = 0; s < tk->nsyms; s++)
                if (tk->syms[s].is_full)
                    v.full_sizes[s] = r.full[s] = plan->full_values[s][fidx[s]];
            static const AlignClass aligns[] = {ALIGN_VEC16, ALIGN_ANY};
            for (size_t ai = 0; ai < sizeof aligns / sizeof aligns[0]; ai++) {
                v.align = r.align = aligns[ai];
                memset(&r.compiled, 0, sizeof r.compiled);
                if (compile(a, tk, &v, target, false, &r.compiled, err, sizeof err) != 0) {
                    fprintf(stderr, "tilec: error: kernel %s (%s, align %s): %s\n", k->name,
                            target->name, tbn_align_name((int)v.align), err);
                    return EXIT_INPUT;
                }
                uint8_t *cubin = NULL;
                PtxasReport report = {0};
                if (ptxas)
                    cubin = assemble(ptxas, target->name, r.compiled.ptx, &r.cubin_size, &report);
                if (v.align == ALIGN_VEC16)   /* the other class repeats the warning */
                    warn_slow_variant(d, k, tk, target, &v, &report);
                r.config = v.config;
                if (ptxas && variant_fit_align_any(a, compile, tk, &v, target, ptxas, &r.compiled,
                                                   &report, &cubin, &r.cubin_size))
                    r.config = v.config;
                v.config = resolved;
                r.cubin = cubin;
                emitted_add(a, &emitted, r.config, r.full, tk->nsyms, v.align, w->nvariants);
                put_default_dispatch(w, kernel_index, w->nvariants);
                put_variant(w, kernel_index, &r);
                free(cubin);
            }
            base.nconsts = r.nconsts;
            memcpy(base.consts, r.consts, sizeof base.consts);
            int s = 0;
            for (; s < tk->nsyms; s++) {
                if (!tk->syms[s].is_full)
                    continue;
                if (++fidx[s] < plan->nfull_values[s])
                    break;
                fidx[s] = 0;
            }
            if (s == tk->nsyms)
                break;
        }
        if (tuned_here && o->ntuned) {
            char consts[256];
            bundle_const_key(k, const_values, consts, sizeof consts);
            add_tuned(a, o, compile, k, tk, &base, consts, w, kernel_index, ptxas, &emitted,
                      tuned);
        }
        int i = 0;
        for (; i < k->nparams; i++) {
            if (k->params[i]->kind != PARAM_CONST)
                continue;
            if (++idx[i] < plan->nconst_choice[i])
                break;
            idx[i] = 0;
        }
        if (i == k->nparams)
            return EXIT_OK;
    }
}

/* Kernel `ki` of the program for each target whose front end accepted it (a default target
   a kernel cannot run on, fp8 on sm_80, has left it unchecked: build.c said so). Tuned
   entries were measured for the first target and go with it only. */
static int build_kernel(Arena *a, Diag *d, const BundleOptions *o, int ki, Writer *w,
                        uint32_t kernel_index, KernelOut *out, const char *ptxas)
{
    const Kernel *k = o->targets[0].program->kernels[ki];
    KernelPlan *plan = arena_alloc(a, sizeof *plan);
    if (plan_kernel(a, k, o->config, plan) != 0)
        return EXIT_USAGE;
    out->plan = plan;
    int built_for = 0;
    for (int t = 0; t < o->ntargets; t++)
        built_for += o->targets[t].program->kernels[ki]->checked;
    int64_t limit = o->max_variants > 0 ? o->max_variants : BUNDLE_MAX_VARIANTS;
    if (check_variant_count(k, plan, built_for, limit))
        return EXIT_INPUT;
    TunedCounts tuned = {0, 0, 0};
    out->first_variant = w->nvariants;
    out->first_dispatch = w->ndispatch;
    for (int t = 0; t < o->ntargets; t++) {
        const Kernel *kt = o->targets[t].program->kernels[ki];
        if (!kt->checked)
            continue;
        int status = build_kernel_target(a, d, o, kt, plan, o->targets[t].target, t == 0, w,
                                          kernel_index, out, ptxas, &tuned);
        if (status != EXIT_OK)
            return status;
    }
    out->nvariants = w->nvariants - out->first_variant;
    if (tuned.entries)
        fprintf(stderr, "tilec: note: kernel %s: %d tuned dispatch entr%s, %d tuned variant%s "
                "beside the defaults\n", k->name, tuned.entries, tuned.entries == 1 ? "y" : "ies",
                tuned.variants, tuned.variants == 1 ? "" : "s");
    patch_kernel_runs(w, kernel_index, out->first_variant, out->nvariants, out->first_dispatch,
                      w->ndispatch - out->first_dispatch);
    return EXIT_OK;
}

int bundle_write_program(Arena *a, Diag *d, const BundleOptions *o)
{
    const Program *p = o->targets[0].program;
    Writer w;
    memset(&w, 0, sizeof w);
    put_string(&w, "");
    const char *name = o->name ? o->name : derive_name(a, o->path);
    const char *header = o->header_path ? o->header_path : bundle_header_path(a, o->path);
    char found[4200];
    const char *ptxas = bundle_ptxas(o, found, sizeof found);
    KernelOut *outs = arena_alloc(a, sizeof *outs * (size_t)(p->nkernels + 1));
    int status = EXIT_OK;
    const ProgramDef *only = o->program ? program_find_program(p, o->program) : NULL;
    if (o->program && (!only || !only->ir)) {
        fprintf(stderr, "tilec: error: no program %s checked for %s\n", o->program,
                o->targets[0].target->name);
        return EXIT_INPUT;
    }
    for (int i = 0; i < p->nkernels && status == EXIT_OK; i++) {
        if (o->kernel && strcmp(o->kernel, p->kernels[i]->name) != 0)
            continue;
        bool called = !only;
        for (int c = 0; only && c < only->ir->ncalls; c++)
            called |= strcmp(only->ir->calls[c].kernel, p->kernels[i]->name) == 0;
        if (called)
            status = build_kernel(a, d, o, i, &w, w.nkernels, &outs[w.nkernels], ptxas);
    }
    /* the programs, when every kernel is in the bundle (not with --kernel) */
    uint64_t *program_signatures = arena_alloc(a, sizeof *program_signatures *
                                                  (size_t)(p->nprograms + 1));
    const ProgramDef **programs = arena_alloc(a, sizeof *programs * (size_t)(p->nprograms + 1));
    for (int i = 0; i < p->nprograms && status == EXIT_OK && !o->kernel; i++) {
        if ((only && only != p->programs[i]) || !p->programs[i]->ir)
            continue;   /* not asked for, or calling a kernel the first target cannot run */
        programs[w.nprograms] = p->programs[i];
        status = put_program(&w, a, p, p->programs[i]->ir, outs, w.nkernels,
                             &program_signatures[w.nprograms]);
    }
    if (status == EXIT_OK && o->memory) {
        Buf out;
        serialize(&w, &out);
        *o->memory = out.data;
        *o->memory_size = out.len;
    }
    if (o->memory) {
        for (int k = 0; k <= TBN_SECTION_KINDS; k++)
            free(w.sec[k].data);
        return status;
    }
    /* both files written before either replaces its old one */
    char err[8400];
    OutFile *bundle = NULL, *launchers = NULL;
    if (status == EXIT_OK && (!(bundle = outfile_open(o->path, err, sizeof err)) ||
                              !(launchers = outfile_open(header, err, sizeof err)))) {
        fprintf(stderr, "tilec: error: %s\n", err);
        status = EXIT_INPUT;
    }
    if (status == EXIT_OK) {
        put_bundle(bundle->f, &w);
        char *guard = arena_printf(a, "TILE_BUNDLE_%s_H", name);
        for (char *c = guard; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        FILE *f = launchers->f;
        fprintf(f, "/* %s — typed launchers for the kernels and programs of %s, generated by tilec build"
                "\n   from %s. Each returns a tile_status; see docs/runtime.md. */\n"
                "#ifndef %s\n#define %s\n\n#include <tile.h>\n", header, o->path,
                p->files ? p->files->path : "?", guard, guard);
        for (uint32_t i = 0; i < w.nkernels; i++)
            header_kernel(f, name, (int)i, outs[i].signature_tk, outs[i].signature);
        for (uint32_t i = 0; i < w.nprograms; i++)
            header_program(f, name, (int)i, programs[i]->ir,
                           program_signature_kernel(a, programs[i]->ir), program_signatures[i]);
        fputs("\n#endif\n", f);
        int committed = outfile_commit(bundle, err, sizeof err);
        bundle = NULL;
        if (committed == 0) {
            committed = outfile_commit(launchers, err, sizeof err);
            launchers = NULL;
        }
        if (committed != 0) {
            fprintf(stderr, "tilec: error: %s\n", err);
            status = EXIT_INPUT;
        }
    }
    outfile_discard(bundle);
    outfile_discard(launchers);
    for (int k = 0; k <= TBN_SECTION_KINDS; k++)
        free(w.sec[k].data);
    return status;
}

int bundle_write_variant(const BundleVariant *bv, void **data, size_t *size, char *err,
                         size_t errlen)
{
    const TirKernel *tk = bv->kernel;
    *data = NULL;
    *size = 0;
    if (tk->nparams > TBN_MAX_PARAMS || tk->nsyms > TBN_MAX_SYMS) {
        snprintf(err, errlen, "kernel %s has more than %d parameters or %d shape symbols, "
                 "more than a bundle holds", tk->name, TBN_MAX_PARAMS, TBN_MAX_SYMS);
        return -1;
    }
    GridProgram *grid = malloc(sizeof *grid);
    if (!grid) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!build_grid_program(tk, grid)) {
        snprintf(err, errlen, "the grid of %s: %s", tk->name, grid->err);
        free(grid);
        return -1;
    }
    Writer w;
    memset(&w, 0, sizeof w);
    put_string(&w, "");
    put_kernel(&w, tk);
    VariantRecord r = {.tk = tk, .config = bv->variant->config, .grid = grid,
                       .align = bv->variant->align, .target = bv->target,
                       .compiled = *bv->compiled, .cubin = bv->cubin,
                       .cubin_size = bv->cubin_size};
    for (int i = 0; i < tk->nparams; i++)
        if (tk->params[i].kind == PARAM_CONST)
            r.consts[r.nconsts++] = tk->params[i].const_value;
    for (int s = 0; s < tk->nsyms; s++)
        r.full[s] = tk->syms[s].is_full ? bv->variant->full_sizes[s] : 0;
    put_default_dispatch(&w, 0, 0);
    put_variant(&w, 0, &r);
    patch_kernel_runs(&w, 0, 0, 1, 0, 1);
    Buf out;
    serialize(&w, &out);
    for (int k = 0; k <= TBN_SECTION_KINDS; k++)
        free(w.sec[k].data);
    free(grid);
    *data = out.data;
    *size = out.len;
    return 0;
}
