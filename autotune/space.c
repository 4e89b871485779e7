/* space.c — the search space of one kernel for one shape: the tunables and their allowed
   values (narrowed by the source and the command line), points as index vectors, the
   clamping that finds duplicate points, and the pruning rules applied before compiling. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "autotune.h"
#include "base.h"

static const char *const rule_names[PRUNE_RULE_COUNT] = {
    "oversized-block", "duplicate", "warps", "shared-memory", "registers",
};

const char *tune_prune_rule_name(TunePruneRule r)
{
    return r >= 0 && r < PRUNE_RULE_COUNT ? rule_names[r] : "none";
}

int tune_prune_rule_parse(const char *name, TunePruneRule *out)
{
    for (int r = 0; r < PRUNE_RULE_COUNT; r++)
        if (strcmp(name, rule_names[r]) == 0) {
            *out = (TunePruneRule)r;
            return 0;
        }
    return -1;
}

static int64_t default_smem(const TuneShapeInfo *s, const Config *c, void *ctx)
{
    (void)ctx;
    return estimate_smem_bytes(s, c);
}

static int default_registers(const TuneShapeInfo *s, const Config *c, void *ctx)
{
    (void)ctx;
    return estimate_registers(s, c);
}

int tune_space_init(TuneSpace *s, const TirKernel *k, const int64_t *sym_values, char *err,
                    size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (k->nsyms > TUNE_MAX_SYMS || k->ntunables > TUNE_MAX_DIMS) {
        snprintf(err, errlen, "kernel %s has too many shape symbols or tunables to tune", k->name);
        return -1;
    }
    s->shape.kernel = k;
    for (int i = 0; i < k->nsyms; i++)
        s->shape.sym_values[i] = sym_values[i];
    s->smem_limit = TUNE_SMEM_LIMIT_H100;
    s->register_limit = TUNE_REGISTER_LIMIT;
    s->estimator = (TuneEstimator){default_smem, default_registers, NULL};
    for (int t = 0; t < k->ntunables; t++) {
        const TirTunable *tu = &k->tunables[t];
        TuneDim *d = &s->dims[s->ndims++];
        d->name = tu->name;
        d->kind = tu->kind;
        d->tunable = t;
        if (tu->nvalues > TUNE_MAX_VALUES) {
            snprintf(err, errlen, "tunable %s has more than %d values", tu->name, TUNE_MAX_VALUES);
            return -1;
        }
        /* the dot's codegen knobs stay at their defaults until the estimate models them */
        bool pinned = tu->kind == TUNE_DOT || tu->kind == TUNE_TILE_GROUPS || tu->kind == TUNE_WS ||
                      tu->kind == TUNE_PERSISTENT;
        for (int i = 0; i < tu->nvalues; i++) {
            d->values[d->nvalues] = tu->values[i];
            if (pinned && tu->values[i] != tu->default_value)
                continue;
            if (tu->values[i] == tu->default_value)
                d->default_index = d->nvalues;
            d->nvalues++;
        }
    }
    return 0;
}

static TuneDim *find_dim(TuneSpace *s, const char *name)
{
    for (int d = 0; d < s->ndims; d++)
        if (strcmp(s->dims[d].name, name) == 0)
            return &s->dims[d];
    return NULL;
}

/* A value of the tunable: a number, or a name of its knob's values. */
static bool parse_value(const TuneDim *d, const char *text, const char *end, int64_t *out)
{
    return knob_parse_value(d->name, text, (size_t)(end - text), out) == 0;
}

/* Which of d's values "V1,V2,..." or "LO..HI" (the text after '=') keeps. */
static int narrow_keep(const TuneDim *d, const char *name, const char *p, bool *keep, char *err,
                       size_t errlen)
{
    const char *range = strstr(p, "..");
    if (range) {
        int64_t lo, hi;
        if (!parse_value(d, p, range, &lo) || !parse_value(d, range + 2, p + strlen(p), &hi) ||
            lo > hi) {
            snprintf(err, errlen, "--space-set %s: '%s' is not a range LO..HI", name, p);
            return -1;
        }
        for (int i = 0; i < d->nvalues; i++)
            keep[i] = d->values[i] >= lo && d->values[i] <= hi;
        return 0;
    }
    while (*p) {
        const char *end = p + strcspn(p, ",");
        int64_t v;
        if (!parse_value(d, p, end, &v)) {
            snprintf(err, errlen, "--space-set %s: '%.*s' is not an integer", name,
                     (int)(end - p), p);
            return -1;
        }
        int found = -1;
        for (int i = 0; i < d->nvalues; i++)
            if (d->values[i] == v)
                found = i;
        if (found < 0) {
            char text[32], allowed[512];
            knob_values_text(d->kind, d->values, d->nvalues, allowed, sizeof allowed);
            snprintf(err, errlen, "--space-set %s: %s is not allowed (allowed: %s)", name,
                     knob_value_text(d->kind, v, text, sizeof text), allowed);
            return -1;
        }
        keep[found] = true;
        p = *end ? end + 1 : end;
    }
    return 0;
}

int tune_space_narrow(TuneSpace *s, const char *spec, char *err, size_t errlen)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) {
        snprintf(err, errlen, "--space-set '%s': expected NAME=V1,V2,... or NAME=LO..HI", spec);
        return -1;
    }
    char name[CONFIG_MAX_NAME];
    snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
    TuneDim *d = find_dim(s, name);
    if (!d) {
        char names[512] = "";
        size_t len = 0;
        for (int i = 0; i < s->ndims && len < sizeof names; i++)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                                    s->dims[i].name);
        snprintf(err, errlen, "--space-set: kernel %s has no tunable '%s' (tunables: %s)",
                 s->shape.kernel->name, name, names);
        return -1;
    }
    bool keep[TUNE_MAX_VALUES] = {false};
    if (narrow_keep(d, name, eq + 1, keep, err, errlen) != 0)
        return -1;
    int64_t old_default = d->values[d->default_index];
    int n = 0;
    for (int i = 0; i < d->nvalues; i++)
        if (keep[i])
            d->values[n++] = d->values[i];
    if (n == 0) {
        char allowed[512];
        knob_values_text(d->kind, d->values, d->nvalues, allowed, sizeof allowed);
        snprintf(err, errlen, "--space-set %s keeps none of the allowed values (%s)", name, allowed);
        return -1;
    }
    d->nvalues = n;
    /* the default, or the kept value nearest to it (ties: the smaller) */
    d->default_index = 0;
    for (int i = 1; i < n; i++) {
        int64_t best = llabs(d->values[d->default_index] - old_default);
        if (llabs(d->values[i] - old_default) < best)
            d->default_index = i;
    }
    return 0;
}

uint64_t tune_space_hash(const TuneSpace *s)
{
    uint64_t h = fnv1a(FNV1A_START, &s->ndims, sizeof s->ndims);
    for (int d = 0; d < s->ndims; d++) {
        const TuneDim *dim = &s->dims[d];
        h = fnv1a(h, dim->name, strlen(dim->name) + 1);
        h = fnv1a(h, &dim->nvalues, sizeof dim->nvalues);
        h = fnv1a(h, dim->values, sizeof dim->values[0] * (size_t)dim->nvalues);
        h = fnv1a(h, &dim->default_index, sizeof dim->default_index);
    }
    h = fnv1a(h, &s->smem_limit, sizeof s->smem_limit);
    h = fnv1a(h, &s->register_limit, sizeof s->register_limit);
    h = fnv1a(h, &s->no_prune, sizeof s->no_prune);
    return fnv1a(h, s->prune_off, sizeof s->prune_off);
}

uint64_t tune_space_size(const TuneSpace *s)
{
    uint64_t n = 1;
    for (int d = 0; d < s->ndims; d++)
        n *= (uint64_t)s->dims[d].nvalues;
    return n;
}

uint64_t tune_space_index(const TuneSpace *s, const int *point)
{
    uint64_t index = 0;
    for (int d = 0; d < s->ndims; d++)
        index = index * (uint64_t)s->dims[d].nvalues + (uint64_t)point[d];
    return index;
}

void tune_space_point(const TuneSpace *s, uint64_t index, int *point)
{
    for (int d = s->ndims - 1; d >= 0; d--) {
        point[d] = (int)(index % (uint64_t)s->dims[d].nvalues);
        index /= (uint64_t)s->dims[d].nvalues;
    }
}

void tune_space_default(const TuneSpace *s, int *point)
{
    for (int d = 0; d < s->ndims; d++)
        point[d] = s->dims[d].default_index;
}

void tune_space_config(const TuneSpace *s, const int *point, Config *out)
{
    const TirKernel *k = s->shape.kernel;
    out->n = 0;
    for (int t = 0; t < k->ntunables; t++)
        config_set(out, k->tunables[t].name, k->tunables[t].default_value);
    for (int d = 0; d < s->ndims; d++)
        config_set(out, s->dims[d].name, s->dims[d].values[point[d]]);
}

int tune_space_point_of(const TuneSpace *s, const Config *c, int *point)
{
    for (int d = 0; d < s->ndims; d++) {   /* a knob the config leaves out takes its default */
        int64_t v = config_get(c, s->dims[d].name, s->dims[d].values[s->dims[d].default_index]);
        point[d] = -1;
        for (int i = 0; i < s->dims[d].nvalues; i++)
            if (s->dims[d].values[i] == v)
                point[d] = i;
        if (point[d] < 0)
            return -1;
    }
    return 0;
}

/* The largest extent among the loop variables a block tunable sizes; -1 if unknown. */
static int64_t block_extent(const TuneSpace *s, const TuneDim *d)
{
    const TirKernel *k = s->shape.kernel;
    int64_t extent = -1;
    for (int i = 0; i < k->nloopvars; i++) {
        if (k->loopvars[i]->tunable != d->tunable)
            continue;
        int64_t e = estimate_loop_extent(&s->shape, i);
        if (e < 0)
            return -1;
        if (e > extent)
            extent = e;
    }
    return extent;
}

/* Iterations of the longest sequential loop under a config: more pipeline stages than
   that change nothing. -1 when an extent is unknown. */
static int64_t longest_sequential_loop(const TuneSpace *s, const Config *c)
{
    const TirKernel *k = s->shape.kernel;
    int64_t iters = 1;
    for (int i = 0; i < k->nloopvars; i++) {
        const TirLoopVar *lv = k->loopvars[i];
        if (lv->is_grid)
            continue;
        int64_t e = estimate_loop_extent(&s->shape, i);
        if (e < 0)
            return -1;
        int64_t n = tir_cdiv(e, tir_loopvar_block(k, lv, c));
        if (n > iters)
            iters = n;
    }
    return iters;
}

/* Rows of the grid that L2 grouping groups: the blocks along its first variable (a grid
   of one variable has nothing to group). -1 when unknown. */
static int64_t grid_rows(const TuneSpace *s, const Config *c)
{
    const TirKernel *k = s->shape.kernel;
    for (int i = 0; i < k->nloopvars; i++) {
        const TirLoopVar *lv = k->loopvars[i];
        if (!lv->is_grid || lv->dim != 0)
            continue;
        if (lv->loop && lv->loop->nvars < 2)
            return 1;
        int64_t e = estimate_loop_extent(&s->shape, i);
        return e < 0 ? -1 : tir_cdiv(e, tir_loopvar_block(k, lv, c));
    }
    return -1;
}

/* The value a tunable effectively takes for this shape (the `limit` it is clamped to;
   -1: no clamp). */
static int64_t clamp_value(int64_t v, int64_t limit)
{
    return limit >= 0 && v > limit ? limit : v;
}

void tune_space_canonical(const TuneSpace *s, const int *point, int *canonical)
{
    Config c;
    tune_space_config(s, point, &c);
    int64_t iters = longest_sequential_loop(s, &c), rows = grid_rows(s, &c);
    for (int d = 0; d < s->ndims; d++) {
        const TuneDim *dim = &s->dims[d];
        int64_t limit = -1;
        switch (dim->kind) {
        case TUNE_BLOCK: {
            int64_t e = block_extent(s, dim);
            limit = e < 0 ? -1 : tir_next_pow2(e);
            break;
        }
        case TUNE_STAGES: limit = iters; break;
        case TUNE_GROUP_M: limit = rows < 1 && rows != -1 ? 1 : rows; break;
        default: break;
        }
        int64_t target = clamp_value(dim->values[point[d]], limit);
        canonical[d] = point[d];
        for (int i = 0; i < point[d]; i++)
            if (clamp_value(dim->values[i], limit) == target) {
                canonical[d] = i;
                break;
            }
    }
}

/* Fewer than one 16x8 mma tile per warp of the largest dot; without dots, fewer tile
   elements than threads. */
static bool too_many_warps(const TuneSpace *s, const Config *c)
{
    int64_t warps = config_knob(c, TUNE_WARPS);
    int64_t rows, cols;
    if (estimate_largest_dot(&s->shape, c, &rows, &cols) > 0)
        return warps > (rows / 16) * (cols / 8);
    return estimate_largest_tile(&s->shape, c) < warps * 32;
}

TunePruneRule tune_space_check(const TuneSpace *s, const int *point, int64_t *smem, int *regs)
{
    Config c;
    tune_space_config(s, point, &c);
    int64_t smem_bytes = s->estimator.smem_bytes(&s->shape, &c, s->estimator.ctx);
    int registers = s->estimator.registers(&s->shape, &c, s->estimator.ctx);
    if (smem)
        *smem = smem_bytes;
    if (regs)
        *regs = registers;
    if (s->no_prune)
        return PRUNE_NONE;
    if (!s->prune_off[PRUNE_OVERSIZED_BLOCK])
        for (int d = 0; d < s->ndims; d++) {
            if (s->dims[d].kind != TUNE_BLOCK)
                continue;
            int64_t e = block_extent(s, &s->dims[d]);
            if (e >= 0 && s->dims[d].values[point[d]] / 2 >= tir_next_pow2(e))   /* v >= 2 * pow2, without overflow */
                return PRUNE_OVERSIZED_BLOCK;
        }
    if (!s->prune_off[PRUNE_DUPLICATE]) {
        int canonical[TUNE_MAX_DIMS];
        tune_space_canonical(s, point, canonical);
        if (memcmp(canonical, point, sizeof(int) * (size_t)s->ndims) != 0)
            return PRUNE_DUPLICATE;
    }
    if (!s->prune_off[PRUNE_WARPS] && too_many_warps(s, &c))
        return PRUNE_WARPS;
    if (!s->prune_off[PRUNE_SMEM] && smem_bytes > s->smem_limit)
        return PRUNE_SMEM;
    if (!s->prune_off[PRUNE_REGISTERS] && registers > s->register_limit)
        return PRUNE_REGISTERS;
    return PRUNE_NONE;
}

/* Odometer step; false after the last point. */
static bool next_point(const TuneSpace *s, int *point)
{
    for (int d = s->ndims - 1; d >= 0; d--) {
        if (++point[d] < s->dims[d].nvalues)
            return true;
        point[d] = 0;
    }
    return false;
}

void tune_space_count(const TuneSpace *s, TunePruneCounts *out)
{
    memset(out, 0, sizeof *out);
    int point[TUNE_MAX_DIMS] = {0};
    do {
        out->total++;
        TunePruneRule r = tune_space_check(s, point, NULL, NULL);
        if (r == PRUNE_NONE)
            out->survivors++;
        else
            out->pruned[r]++;
    } while (next_point(s, point));
}

static const char *const rule_help[PRUNE_RULE_COUNT] = {
    "a block >= 2x the next power of two of its loop's extent",
    "the same kernel as a smaller point once clamped to the shape",
    "fewer than one 16x8 mma tile (or 32 tile elements) per warp",
    "shared-memory estimate over the limit",
    "register estimate over the limit",
};

void tune_space_print(FILE *out, const TuneSpace *s, uint64_t max_listed)
{
    const TirKernel *k = s->shape.kernel;
    fprintf(out, "kernel %s, shape ", k->name);
    for (int i = 0; i < k->nsyms; i++)
        fprintf(out, "%s%s=%" PRId64, i ? "," : "", k->syms[i].name, s->shape.sym_values[i]);
    fputc('\n', out);
    fprintf(out, "loops:");
    for (int i = 0; i < k->nloopvars; i++) {
        int64_t e = estimate_loop_extent(&s->shape, i);
        fprintf(out, " %s%s", k->loopvars[i]->name, k->loopvars[i]->is_grid ? "(grid)" : "");
        if (e >= 0)
            fprintf(out, "=%" PRId64, e);
        else
            fputs("=?", out);
    }
    fputc('\n', out);
    fprintf(out, "space: %d tunables, %" PRIu64 " points\n", s->ndims, tune_space_size(s));
    for (int d = 0; d < s->ndims; d++) {
        const TuneDim *dim = &s->dims[d];
        char text[32];
        fprintf(out, "  %-12s", dim->name);
        for (int i = 0; i < dim->nvalues; i++)
            fprintf(out, " %s", knob_value_text(dim->kind, dim->values[i], text, sizeof text));
        fprintf(out, "   (default %s)\n",
                knob_value_text(dim->kind, dim->values[dim->default_index], text, sizeof text));
    }
    TunePruneCounts counts;
    tune_space_count(s, &counts);
    fprintf(out, "pruned (each point under the first rule that removes it; limits: %" PRId64
            " bytes shared memory, %d registers):\n", s->smem_limit, s->register_limit);
    for (int r = 0; r < PRUNE_RULE_COUNT; r++) {
        if (s->prune_off[r])
            fprintf(out, "  %-16s %8s   %s\n", rule_names[r], "off", rule_help[r]);
        else
            fprintf(out, "  %-16s %8" PRIu64 "   %s\n", rule_names[r], counts.pruned[r],
                    rule_help[r]);
    }
    fprintf(out, "survivors: %" PRIu64 " of %" PRIu64 "\n", counts.survivors, counts.total);
    int point[TUNE_MAX_DIMS] = {0};
    uint64_t listed = 0;
    do {
        int64_t smem;
        int regs;
        if (tune_space_check(s, point, &smem, &regs) != PRUNE_NONE)
            continue;
        if (max_listed && listed == max_listed) {
            fprintf(out, "  ... and %" PRIu64 " more (--space-all lists every one)\n",
                    counts.survivors - listed);
            break;
        }
        listed++;
        Config c;
        char text[CONFIG_MAX_ENTRIES * (CONFIG_MAX_NAME + 32)];
        tune_space_config(s, point, &c);
        fprintf(out, "  %s  smem=%" PRId64 " regs=%d\n", config_format(&c, text, sizeof text),
                smem, regs);
    } while (next_point(s, point));
}
