/* search_test.c — the strategies against synthetic cost functions over spaces of at least
   10^4 points with several local optima and few points within 3% of the optimum. Over 10
   seeds each, with at most 5% of the space evaluated, pattern search and DE must land
   within 3% in at least 9 runs and beat random search with the same budget; exhaustive
   must find the exact optimum. The same again with a batch evaluator (4 points at once, as
   the tuner's GPUs take them), which must never get an invalid point, a point twice or more
   than 4. Prints the table; exits 1 on a failed criterion. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autotune.h"

typedef struct Synthetic {
    const char *name;
    int ndims;
    int sizes[TUNE_MAX_DIMS];
    double (*f)(const int *x);
    bool (*valid)(const int *x);
} Synthetic;

/* A deterministic per-point ripple in [-1, 1]. */
static double ripple(const int *x, int n, unsigned salt)
{
    uint64_t h = 1469598103934665603ULL ^ salt;
    for (int d = 0; d < n; d++) {
        h ^= (uint64_t)(x[d] + 1);
        h *= 1099511628211ULL;
    }
    h ^= h >> 29;
    return (double)(h % 20001) / 10000.0 - 1.0;
}

/* Six quadratic basins of different depths in 10^4 points. */
static double basins(const int *x)
{
    static const int centers[6][4] = {
        {7, 2, 5, 8}, {1, 8, 2, 3}, {4, 4, 9, 1}, {8, 8, 8, 8}, {2, 1, 1, 6}, {5, 9, 4, 4},
    };
    static const double depth[6] = {1.00, 1.06, 1.09, 1.12, 1.18, 1.25};
    double best = INFINITY;
    for (int b = 0; b < 6; b++) {
        double q = 0;
        for (int d = 0; d < 4; d++)
            q += (x[d] - centers[b][d]) * (x[d] - centers[b][d]);
        double v = depth[b] * (1 + 0.045 * q);
        best = v < best ? v : best;
    }
    return best;
}

/* A GEMM-like model over BLOCK_M, BLOCK_N, BLOCK_K, num_warps, num_stages, group_m: two
   tile shapes that work (a wide and a tall one), warps that must match the tile, stages
   that must match BLOCK_K, a small grouping gain, a 1.5% per-config ripple; tiles too
   large for shared memory are invalid. */
static double gemm_model(const int *x)
{
    int bm = x[0], bn = x[1], bk = x[2], warps = x[3], stages = x[4], group = x[5];
    double tile_a = 0.07 * ((bm - 4) * (bm - 4) + (bn - 3) * (bn - 3));
    double tile_b = 0.05 + 0.07 * ((bm - 2) * (bm - 2) + (bn - 5) * (bn - 5));
    double tile = tile_a < tile_b ? tile_a : tile_b;
    double ideal_warps = (bm + bn) / 3.0;
    double w = 0.08 * (warps - ideal_warps) * (warps - ideal_warps);
    double ideal_stages = 4.0 - bk * 0.75;
    double st = 0.06 * (stages - ideal_stages) * (stages - ideal_stages);
    double gr = group == 1 ? 0.0 : group == 0 ? 0.05 : 0.035;
    return (1 + tile + w + st + gr) * (1 + 0.015 * ripple(x, 6, 7));
}

static bool gemm_valid(const int *x)
{
    return x[0] + x[1] + x[2] + x[4] <= 15;   /* a shared-memory budget */
}

/* A rugged bowl: a quadratic trend with a cosine of period 3 in every dimension, so each
   dimension has local minima every third value. */
static double rugged(const int *x)
{
    static const int c[5] = {4, 2, 5, 3, 1};
    double v = 1;
    for (int d = 0; d < 5; d++) {
        double t = x[d] - c[d];
        v += 0.012 * t * t + 0.06 * (1 - cos(2 * M_PI * t / 3));
    }
    return v;
}

static const Synthetic functions[] = {
    {"basins", 4, {10, 10, 10, 10}, basins, NULL},
    {"gemm-model", 6, {6, 6, 5, 4, 6, 3}, gemm_model, gemm_valid},
    {"rugged", 5, {7, 7, 8, 7, 6}, rugged, NULL},
};

typedef struct Eval {
    const Synthetic *fn;
    int batch;                 /* the most points eval_batch may get */
    uint8_t *seen;             /* a bit per point: handed to eval_batch already */
    int bad_batches, invalid, repeats;
} Eval;

static double eval_point(const int *x, void *ctx)
{
    return ((Eval *)ctx)->fn->f(x);
}

static uint64_t point_number(const Synthetic *fn, const int *x)
{
    uint64_t index = 0;
    for (int d = 0; d < fn->ndims; d++)
        index = index * (uint64_t)fn->sizes[d] + (uint64_t)x[d];
    return index;
}

/* The batch evaluator (as the tuner's GPUs): counts batches over the size, invalid points
   and points evaluated twice, which the search must never hand over. */
static void eval_batch(const int *points, int n, double *values, void *ctx)
{
    Eval *e = ctx;
    if (n < 1 || n > e->batch)
        e->bad_batches++;
    for (int i = 0; i < n; i++) {
        const int *x = points + (size_t)i * TUNE_MAX_DIMS;
        uint64_t k = point_number(e->fn, x);
        if (e->fn->valid && !e->fn->valid(x))
            e->invalid++;
        if (e->seen[k / 8] & (1u << (k % 8)))
            e->repeats++;
        e->seen[k / 8] |= (uint8_t)(1u << (k % 8));
        values[i] = e->fn->f(x);
    }
}

static bool valid_point(const int *x, void *ctx)
{
    const Synthetic *fn = ((Eval *)ctx)->fn;
    return !fn->valid || fn->valid(x);
}

static bool next_point(const Synthetic *fn, int *x)
{
    for (int d = fn->ndims - 1; d >= 0; d--) {
        if (++x[d] < fn->sizes[d])
            return true;
        x[d] = 0;
    }
    return false;
}

typedef struct Landscape {
    long points, valid, near, local_optima;
    double optimum;
} Landscape;

/* The exact optimum, how many points lie within 3% of it, and the local optima (no better
   valid neighbour one step away along an axis). */
static void survey(const Synthetic *fn, Landscape *l)
{
    memset(l, 0, sizeof *l);
    l->optimum = INFINITY;
    int x[TUNE_MAX_DIMS] = {0};
    do {
        l->points++;
        if (fn->valid && !fn->valid(x))
            continue;
        l->valid++;
        double v = fn->f(x);
        if (v < l->optimum)
            l->optimum = v;
    } while (next_point(fn, x));
    memset(x, 0, sizeof x);
    do {
        if (fn->valid && !fn->valid(x))
            continue;
        double v = fn->f(x);
        if (v <= l->optimum * 1.03)
            l->near++;
        bool local = true;
        for (int d = 0; d < fn->ndims && local; d++)
            for (int s = -1; s <= 1; s += 2) {
                int y[TUNE_MAX_DIMS];
                memcpy(y, x, sizeof y);
                y[d] += s;
                if (y[d] < 0 || y[d] >= fn->sizes[d] || (fn->valid && !fn->valid(y)))
                    continue;
                if (fn->f(y) < v)
                    local = false;
            }
        l->local_optima += local;
    } while (next_point(fn, x));
}

int main(void)
{
    int failures = 0;
    printf("%-11s %6s %5s %6s %7s  %-10s %5s %8s %9s %10s\n", "function", "points", "near",
           "optima", "budget", "strategy", "batch", "within3%", "mean-gap", "mean-evals");
    for (size_t run = 0; run < 2 * sizeof functions / sizeof functions[0]; run++) {
        const Synthetic *fn = &functions[run / 2];
        int batch = run % 2 ? 4 : 1;
        Landscape l;
        survey(fn, &l);
        int64_t budget = l.points / 20;   /* 5% of the space */
        if (l.points < 10000 || l.local_optima < 3 || l.near * 100 > l.valid) {
            printf("FAIL %s: not a hard enough landscape\n", fn->name);
            failures++;
        }
        Eval ctx = {fn, batch, NULL, 0, 0, 0};
        SearchProblem p = {.ndims = fn->ndims, .eval = eval_point, .valid = valid_point,
                           .eval_batch = batch > 1 ? eval_batch : NULL, .batch = batch,
                           .ctx = &ctx};
        memcpy(p.sizes, fn->sizes, sizeof p.sizes);
        int successes[SEARCH_STRATEGY_COUNT] = {0};
        double gaps[SEARCH_STRATEGY_COUNT] = {0};
        for (int st = 0; st < SEARCH_STRATEGY_COUNT; st++) {
            int runs = st == SEARCH_EXHAUSTIVE ? 1 : 10;
            double evals = 0;
            for (int seed = 0; seed < runs; seed++) {
                SearchOptions o = {.strategy = (SearchStrategy)st, .seed = (uint64_t)seed + 1,
                                   .max_evals = st == SEARCH_EXHAUSTIVE ? 0 : budget};
                SearchResult r;
                free(ctx.seen);
                ctx.seen = calloc((size_t)l.points / 8 + 1, 1);
                if (search_run(&p, &o, &r) != 0) {
                    printf("FAIL %s %s: search_run failed\n", fn->name, search_strategy_name(o.strategy));
                    failures++;
                    continue;
                }
                if (o.max_evals && r.evaluations > o.max_evals) {
                    printf("FAIL %s %s: %lld evaluations over the budget\n", fn->name,
                           search_strategy_name(o.strategy), (long long)r.evaluations);
                    failures++;
                }
                double gap = r.best_value / l.optimum - 1;
                successes[st] += gap <= 0.03;
                gaps[st] += gap / runs;
                evals += (double)r.evaluations / runs;
                if (st == SEARCH_EXHAUSTIVE && r.best_value != l.optimum) {
                    printf("FAIL %s exhaustive: %g, optimum %g\n", fn->name, r.best_value, l.optimum);
                    failures++;
                }
            }
            printf("%-11s %6ld %5ld %6ld %7lld  %-10s %5d %5d/%-2d %8.2f%% %10.0f\n", fn->name,
                   l.points, l.near, l.local_optima, st == SEARCH_EXHAUSTIVE ? 0LL : (long long)budget,
                   search_strategy_name((SearchStrategy)st), batch, successes[st], runs,
                   100 * gaps[st], evals);
        }
        free(ctx.seen);
        if (ctx.bad_batches || ctx.invalid || ctx.repeats) {
            printf("FAIL %s batch %d: %d batches over the size, %d invalid points, %d repeats\n",
                   fn->name, batch, ctx.bad_batches, ctx.invalid, ctx.repeats);
            failures++;
        }
        for (int st = SEARCH_PATTERN; st <= SEARCH_DE; st++) {
            bool beats = successes[st] > successes[SEARCH_RANDOM] ||
                         (successes[st] == successes[SEARCH_RANDOM] && gaps[st] < gaps[SEARCH_RANDOM]);
            if (successes[st] < 9 || !beats) {
                printf("FAIL %s %s: %d/10 within 3%%%s\n", fn->name,
                       search_strategy_name((SearchStrategy)st), successes[st],
                       beats ? "" : ", not better than random");
                failures++;
            }
        }
    }
    printf("search: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
