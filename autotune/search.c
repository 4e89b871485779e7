/* search.c — search strategies over index vectors: exhaustive, random, pattern (compass)
   search with restarts, and differential evolution. Each point is evaluated at most once
   (a memo by mixed-radix index), so revisits cost nothing against the budget; a strategy
   is deterministic for a seed when the evaluation is. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autotune.h"

static const char *const strategy_names[SEARCH_STRATEGY_COUNT] = {
    "exhaustive", "random", "pattern", "de",
};

const char *search_strategy_name(SearchStrategy s)
{
    return s >= 0 && s < SEARCH_STRATEGY_COUNT ? strategy_names[s] : "?";
}

int search_strategy_parse(const char *name, SearchStrategy *out)
{
    for (int i = 0; i < SEARCH_STRATEGY_COUNT; i++)
        if (strcmp(name, strategy_names[i]) == 0) {
            *out = (SearchStrategy)i;
            return 0;
        }
    return -1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- memo: an open-addressing map from point index to value */

typedef struct MemoSlot {
    uint64_t key;        /* index + 1; 0 = empty */
    double value;
} MemoSlot;

typedef struct Memo {
    MemoSlot *slots;
    size_t cap, len;
} Memo;

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static MemoSlot *memo_find(const Memo *m, uint64_t index)
{
    size_t mask = m->cap - 1;
    for (size_t i = mix64(index) & mask;; i = (i + 1) & mask)
        if (m->slots[i].key == 0 || m->slots[i].key == index + 1)
            return &m->slots[i];
}

static int memo_put(Memo *m, uint64_t index, double value)
{
    if ((m->len + 1) * 2 > m->cap) {
        Memo grown = {calloc(m->cap ? m->cap * 2 : 1024, sizeof(MemoSlot)),
                      m->cap ? m->cap * 2 : 1024, 0};
        if (!grown.slots)
            return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key) {
                *memo_find(&grown, m->slots[i].key - 1) = m->slots[i];
                grown.len++;
            }
        free(m->slots);
        *m = grown;
    }
    MemoSlot *s = memo_find(m, index);
    if (!s->key)
        m->len++;
    s->key = index + 1;
    s->value = value;
    return 0;
}

static bool memo_get(const Memo *m, uint64_t index, double *value)
{
    if (!m->cap)
        return false;
    MemoSlot *s = memo_find(m, index);
    if (!s->key)
        return false;
    *value = s->value;
    return true;
}

/* ---- the search state */

typedef struct Rng {
    uint64_t state;
} Rng;

static uint64_t rng_next(Rng *r)
{
    r->state += 0x9e3779b97f4a7c15ULL;
    return mix64(r->state);
}

static int rng_below(Rng *r, int n)
{
    return n <= 1 ? 0 : (int)(rng_next(r) % (uint64_t)n);
}

static double rng_unit(Rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct Search {
    const SearchProblem *p;
    const SearchOptions *o;
    Memo memo;
    Rng rng;
    double start;
    int64_t evals;
    int64_t eval_limit;       /* a phase's own limit (DE keeps some for its polish) */
    bool stopped;
    SearchStop stop;
    int best[TUNE_MAX_DIMS];
    double best_value;
    bool oom;
} Search;

static uint64_t point_index(const Search *s, const int *x)
{
    uint64_t index = 0;
    for (int d = 0; d < s->p->ndims; d++)
        index = index * (uint64_t)s->p->sizes[d] + (uint64_t)x[d];
    return index;
}

static bool is_valid(const Search *s, const int *x)
{
    return !s->p->valid || s->p->valid(x, s->p->ctx);
}

static bool visited(const Search *s, const int *x)
{
    double v;
    return memo_get(&s->memo, point_index(s, x), &v);
}

static bool budget_left(Search *s)
{
    if (s->stopped)
        return false;
    if ((s->o->max_evals > 0 && s->evals >= s->o->max_evals) ||
        (s->eval_limit > 0 && s->evals >= s->eval_limit) ||
        (s->o->budget_s > 0 && now_s() - s->start >= s->o->budget_s)) {
        s->stopped = true;
        s->stop = SEARCH_BUDGET;
        return false;
    }
    return true;
}

/* Keeps an evaluated value: the memo, the count and the best. False when out of memory. */
static bool keep_value(Search *s, const int *x, double v)
{
    s->evals++;
    if (memo_put(&s->memo, point_index(s, x), v) != 0) {
        s->oom = s->stopped = true;
        return false;
    }
    if (v < s->best_value) {
        s->best_value = v;
        memcpy(s->best, x, sizeof(int) * (size_t)s->p->ndims);
    }
    return true;
}

/* The value of a point: memoised, +inf when invalid. False when the search must stop (the
   point was not evaluated). */
static bool evaluate(Search *s, const int *x, double *value)
{
    uint64_t index = point_index(s, x);
    if (memo_get(&s->memo, index, value))
        return true;
    if (!is_valid(s, x)) {
        *value = INFINITY;
        return true;
    }
    if (!budget_left(s))
        return false;
    if (s->p->should_stop && s->p->should_stop(s->p->ctx)) {
        s->stopped = true;
        s->stop = SEARCH_STOPPED;
        return false;
    }
    double v = s->p->eval(x, s->p->ctx);
    if (isnan(v))
        v = INFINITY;
    if (!keep_value(s, x, v))
        return false;
    *value = v;
    return true;
}

static void prefetch(Search *s, const int *points, int n)
{
    if (s->p->prefetch && n > 0)
        s->p->prefetch(points, n, s->p->ctx);
}

/* Points handed over at once: the evaluator's batch, or 1. */
static int batch_size(const Search *s)
{
    return s->p->eval_batch && s->p->batch > 1 ? s->p->batch : 1;
}

/* Evaluations the budget still allows (INT64_MAX: no count limit). */
static int64_t evals_left(const Search *s)
{
    int64_t left = INT64_MAX;
    if (s->o->max_evals > 0)
        left = s->o->max_evals - s->evals;
    if (s->eval_limit > 0 && s->eval_limit - s->evals < left)
        left = s->eval_limit - s->evals;
    return left;
}

/* values[i] for points[0..n), in order, as evaluate gives them: one at a time, or, with a
   batch evaluator, the fresh valid points in chunks of its batch (a point repeated in the
   list is evaluated once). Returns how many leading points have their value: n, or fewer
   when the search must stop. */
static int evaluate_many(Search *s, int (*points)[TUNE_MAX_DIMS], int n, double *values)
{
    int b = batch_size(s);
    if (b == 1) {
        for (int i = 0; i < n; i++)
            if (!evaluate(s, points[i], &values[i]))
                return i;
        return n;
    }
    int *fresh = malloc(sizeof *fresh * (size_t)(n + 1));
    int (*chunk)[TUNE_MAX_DIMS] = malloc(sizeof *chunk * (size_t)b);
    double *got = malloc(sizeof *got * (size_t)b);
    int nfresh = 0, done = 0;
    if (!fresh || !chunk || !got) {
        s->oom = s->stopped = true;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        values[i] = INFINITY;
        bool repeat = false;
        for (int j = 0; j < nfresh && !repeat; j++)
            repeat = memcmp(points[fresh[j]], points[i], sizeof(int) * (size_t)s->p->ndims) == 0;
        if (!repeat && !memo_get(&s->memo, point_index(s, points[i]), &values[i]) &&
            is_valid(s, points[i]))
            fresh[nfresh++] = i;
    }
    done = nfresh ? fresh[0] : n;
    for (int start = 0; start < nfresh;) {
        if (!budget_left(s))
            goto out;
        if (s->p->should_stop && s->p->should_stop(s->p->ctx)) {
            s->stopped = true;
            s->stop = SEARCH_STOPPED;
            goto out;
        }
        int64_t take = nfresh - start < b ? nfresh - start : b;
        take = take < evals_left(s) ? take : evals_left(s);
        for (int j = 0; j < take; j++)
            memcpy(chunk[j], points[fresh[start + j]], sizeof chunk[j]);
        s->p->eval_batch(&chunk[0][0], (int)take, got, s->p->ctx);
        for (int j = 0; j < take; j++) {
            double v = isnan(got[j]) ? INFINITY : got[j];
            values[fresh[start + j]] = v;
            if (!keep_value(s, chunk[j], v))
                goto out;
        }
        start += (int)take;
        done = start < nfresh ? fresh[start] : n;
    }
    done = n;
out:
    /* the points before the first one left unevaluated have their values (repeats and
       memoised ones read the memo now) */
    for (int i = 0; i < done; i++)
        if (!memo_get(&s->memo, point_index(s, points[i]), &values[i]))
            values[i] = INFINITY;
    free(fresh);
    free(chunk);
    free(got);
    return done;
}

/* A valid point not evaluated yet, drawn uniformly; false when none turns up. */
static bool random_unvisited(Search *s, int *x)
{
    for (int attempt = 0; attempt < 4096; attempt++) {
        for (int d = 0; d < s->p->ndims; d++)
            x[d] = rng_below(&s->rng, s->p->sizes[d]);
        if (is_valid(s, x) && !visited(s, x))
            return true;
    }
    return false;
}

static void evaluate_start(Search *s)
{
    double v;
    if (s->o->start && is_valid(s, s->o->start))
        evaluate(s, s->o->start, &v);
}

/* The next point in index order (odometer); false after the last. */
static bool next_in_order(const Search *s, int *x)
{
    for (int d = s->p->ndims - 1; d >= 0; d--) {
        if (++x[d] < s->p->sizes[d])
            return true;
        x[d] = 0;
    }
    return false;
}

/* Valid points are prefetched this far ahead of the one evaluated, so compile threads
   build them while it is timed. */
enum { EXHAUSTIVE_AHEAD = 32 };

/* The valid points in index order, a batch at a time. */
static void run_exhaustive(Search *s)
{
    int x[TUNE_MAX_DIMS] = {0}, ahead[TUNE_MAX_DIMS] = {0};
    bool more_ahead = s->p->prefetch != NULL;
    int prefetched = 0;   /* valid points in [x, ahead) */
    int b = batch_size(s), n = 0;
    int window = EXHAUSTIVE_AHEAD > 2 * b ? EXHAUSTIVE_AHEAD : 2 * b;
    int (*batch)[TUNE_MAX_DIMS] = malloc(sizeof *batch * (size_t)b);
    double *values = malloc(sizeof *values * (size_t)b);
    if (!batch || !values) {
        s->oom = s->stopped = true;
        goto done;
    }
    evaluate_start(s);
    do {
        while (more_ahead && prefetched < window) {
            if (is_valid(s, ahead)) {
                prefetch(s, ahead, 1);
                prefetched++;
            }
            more_ahead = next_in_order(s, ahead);
        }
        if (!is_valid(s, x))
            continue;
        if (prefetched > 0)
            prefetched--;   /* x leaves the window */
        memcpy(batch[n++], x, sizeof batch[0]);
        if (n == b && evaluate_many(s, batch, n, values) < n)
            goto done;
        n = n == b ? 0 : n;
    } while (next_in_order(s, x));
    evaluate_many(s, batch, n, values);
done:
    free(batch);
    free(values);
}

/* Up to `count` valid points not evaluated yet and distinct, drawn uniformly. */
static int random_batch(Search *s, int (*batch)[TUNE_MAX_DIMS], int count)
{
    int n = 0;
    while (n < count && random_unvisited(s, batch[n])) {
        bool repeat = false;
        for (int j = 0; j < n && !repeat; j++)
            repeat = memcmp(batch[j], batch[n], sizeof(int) * (size_t)s->p->ndims) == 0;
        if (repeat && n > 0)
            break;   /* the space is nearly spent: hand over what is drawn */
        n++;
    }
    if (n > 1)
        prefetch(s, &batch[0][0], n);
    return n;
}

/* Random points, `count` of them (< 0: until the budget or the space is spent), the start
   first. */
static void random_points(Search *s, int64_t count)
{
    int b = batch_size(s);
    int (*batch)[TUNE_MAX_DIMS] = malloc(sizeof *batch * (size_t)b);
    double *values = malloc(sizeof *values * (size_t)b);
    if (!batch || !values) {
        s->oom = s->stopped = true;
        goto done;
    }
    evaluate_start(s);
    for (int64_t done = 0; (count < 0 || done < count) && budget_left(s);) {
        int want = count < 0 || count - done > b ? b : (int)(count - done);
        int n = random_batch(s, batch, want);
        if (n == 0 || evaluate_many(s, batch, n, values) < n)
            break;
        done += n;
    }
done:
    free(batch);
    free(values);
}

static void run_random(Search *s)
{
    random_points(s, -1);
}

/* Random seeding: `count` fresh points (the start first). */
static void seed_points(Search *s, int count)
{
    random_points(s, count);
}

static int seed_count(const Search *s)
{
    int n = 4 * s->p->ndims;
    if (s->o->max_evals > 0) {
        int tenth = (int)(s->o->max_evals / 10);
        n = tenth > n ? tenth : n;
    }
    return n;
}

/* Compass search from x: poll +-step along each axis, move to the best improvement,
   halve the steps when none improves, stop when unit steps find nothing. x ends at the
   local optimum. False when the search must stop. */
static bool compass_search(Search *s, int *x, double *fx)
{
    int n = s->p->ndims;
    int step[TUNE_MAX_DIMS];
    for (int d = 0; d < n; d++)
        step[d] = s->p->sizes[d] / 4 > 1 ? s->p->sizes[d] / 4 : 1;
    int poll[2 * TUNE_MAX_DIMS][TUNE_MAX_DIMS];
    for (;;) {
        int npoll = 0;
        for (int d = 0; d < n; d++)
            for (int sign = -1; sign <= 1; sign += 2) {
                int *y = poll[npoll];
                memcpy(y, x, sizeof(int) * (size_t)n);
                y[d] += sign * step[d];
                y[d] = y[d] < 0 ? 0 : y[d] >= s->p->sizes[d] ? s->p->sizes[d] - 1 : y[d];
                if (y[d] != x[d] && is_valid(s, y))
                    npoll++;
            }
        prefetch(s, &poll[0][0], npoll);
        double values[2 * TUNE_MAX_DIMS];
        if (evaluate_many(s, poll, npoll, values) < npoll)
            return false;
        int best = -1;
        double best_value = *fx;
        for (int i = 0; i < npoll; i++)
            if (values[i] < best_value) {
                best_value = values[i];
                best = i;
            }
        if (best >= 0) {
            memcpy(x, poll[best], sizeof(int) * (size_t)n);
            *fx = best_value;
            continue;
        }
        bool unit = true;
        for (int d = 0; d < n; d++) {
            unit &= step[d] == 1;
            step[d] = step[d] / 2 > 1 ? step[d] / 2 : 1;
        }
        if (unit)
            return true;
    }
}

/* Evaluated points, best first (for restarts). */
typedef struct Ranked {
    uint64_t index;
    double value;
} Ranked;

static int compare_ranked(const void *a, const void *b)
{
    const Ranked *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static Ranked *rank_memo(const Search *s, size_t *n)
{
    Ranked *r = malloc(sizeof *r * (s->memo.len + 1));
    *n = 0;
    if (!r)
        return NULL;
    for (size_t i = 0; i < s->memo.cap; i++)
        if (s->memo.slots[i].key)
            r[(*n)++] = (Ranked){s->memo.slots[i].key - 1, s->memo.slots[i].value};
    qsort(r, *n, sizeof *r, compare_ranked);
    return r;
}

static void index_point(const Search *s, uint64_t index, int *x)
{
    for (int d = s->p->ndims - 1; d >= 0; d--) {
        x[d] = (int)(index % (uint64_t)s->p->sizes[d]);
        index /= (uint64_t)s->p->sizes[d];
    }
}

/* Restarts: from the best seeds not yet used as a start, then from fresh random points. */
static void run_pattern(Search *s)
{
    seed_points(s, seed_count(s));
    size_t nseeds = 0;
    Ranked *seeds = rank_memo(s, &nseeds);
    if (!seeds)
        return;
    size_t next_seed = 0;
    Memo optima = {0};   /* the local optima found: a seed already there is skipped */
    int x[TUNE_MAX_DIMS];
    while (budget_left(s)) {
        double fx;
        bool from_seed = false;
        while (next_seed < nseeds) {
            Ranked r = seeds[next_seed++];
            double dummy;
            if (!isfinite(r.value) || memo_get(&optima, r.index, &dummy))
                continue;
            index_point(s, r.index, x);
            fx = r.value;
            from_seed = true;
            break;
        }
        if (!from_seed) {
            if (!random_unvisited(s, x) || !evaluate(s, x, &fx))
                break;
        }
        if (!compass_search(s, x, &fx))
            break;
        if (memo_put(&optima, point_index(s, x), fx) != 0)
            break;
    }
    free(seeds);
    free(optima.slots);
}

typedef struct Member {
    int x[TUNE_MAX_DIMS];
    double value;
} Member;

static int compare_member(const void *a, const void *b)
{
    const Member *x = a, *y = b;
    return x->value < y->value ? -1 : x->value > y->value;
}

/* One DE/current-to-pbest/1/bin trial for member i (pbest: a random one of the best
   quarter, which keeps the population from collapsing onto one basin); false when no
   valid trial was found. `pop` is sorted best first. */
static bool de_trial(Search *s, const Member *pop, int np, int i, double f, double cr, int *u)
{
    int n = s->p->ndims;
    for (int attempt = 0; attempt < 8; attempt++) {
        int best = rng_below(&s->rng, np / 4 > 1 ? np / 4 : 1);
        int r1, r2;
        do r1 = rng_below(&s->rng, np); while (r1 == i);
        do r2 = rng_below(&s->rng, np); while (r2 == i || r2 == r1);
        int forced = rng_below(&s->rng, n);
        for (int d = 0; d < n; d++) {
            double v = pop[i].x[d] + f * (pop[best].x[d] - pop[i].x[d]) +
                       f * (pop[r1].x[d] - pop[r2].x[d]);
            int iv = (int)lround(v);
            iv = iv < 0 ? 0 : iv >= s->p->sizes[d] ? s->p->sizes[d] - 1 : iv;
            u[d] = (d == forced || rng_unit(&s->rng) < cr) ? iv : pop[i].x[d];
        }
        if (memcmp(u, pop[i].x, sizeof(int) * (size_t)n) == 0) {
            int d = rng_below(&s->rng, n);
            int delta = rng_below(&s->rng, 2) ? 1 : -1;
            if (u[d] + delta < 0 || u[d] + delta >= s->p->sizes[d])
                delta = -delta;
            u[d] += delta;
            u[d] = u[d] < 0 ? 0 : u[d] >= s->p->sizes[d] ? s->p->sizes[d] - 1 : u[d];
        }
        if (is_valid(s, u))
            return true;
    }
    return false;
}

/* DE over the seeds, keeping a sixth of the evaluations for a compass polish of the best. */
static void run_de(Search *s)
{
    int n = s->p->ndims;
    int np = 3 * n + 4;
    np = np < 8 ? 8 : np > 40 ? 40 : np;
    int64_t polish_from = s->o->max_evals > 0 ? s->o->max_evals - s->o->max_evals / 6 : 0;
    seed_points(s, seed_count(s) > np ? seed_count(s) : np);
    size_t nranked = 0;
    Ranked *ranked = rank_memo(s, &nranked);
    if (!ranked)
        return;
    Member *pop = calloc((size_t)np, sizeof *pop);
    int (*trials)[TUNE_MAX_DIMS] = calloc((size_t)np, sizeof *trials);
    bool *has_trial = calloc((size_t)np, sizeof *has_trial);
    int *owner = calloc((size_t)np, sizeof *owner);   /* the member a trial is for */
    double *values = calloc((size_t)np, sizeof *values);
    if (!pop || !trials || !has_trial || !owner || !values)
        goto done;
    int members = 0;
    for (size_t i = 0; i < nranked && members < np; i++)
        if (isfinite(ranked[i].value)) {
            index_point(s, ranked[i].index, pop[members].x);
            pop[members++].value = ranked[i].value;
        }
    while (members < np) {   /* every seed failed: fill with fresh points */
        if (!random_unvisited(s, pop[members].x) ||
            !evaluate(s, pop[members].x, &pop[members].value))
            goto done;
        members++;
    }
    s->eval_limit = polish_from;
    int stale = 0;
    while (budget_left(s)) {
        qsort(pop, (size_t)np, sizeof *pop, compare_member);
        double f = 0.4 + 0.5 * rng_unit(&s->rng), cr = 0.7;
        int ntrials = 0;
        for (int i = 0; i < np; i++) {
            has_trial[i] = de_trial(s, pop, np, i, f, cr, trials[ntrials]);
            if (has_trial[i]) {
                prefetch(s, trials[ntrials], 1);
                owner[ntrials++] = i;
            }
        }
        int64_t before = s->evals;
        int evaluated = evaluate_many(s, trials, ntrials, values);
        for (int t = 0; t < evaluated; t++) {
            int i = owner[t];
            if (values[t] <= pop[i].value) {
                memcpy(pop[i].x, trials[t], sizeof(int) * (size_t)n);
                pop[i].value = values[t];
            }
        }
        /* a converged population only revisits memoised points: reseed its worse half */
        stale = s->evals == before ? stale + 1 : 0;
        if (stale >= 3) {
            qsort(pop, (size_t)np, sizeof *pop, compare_member);
            for (int i = np / 2; i < np; i++)
                if (!random_unvisited(s, pop[i].x) || !evaluate(s, pop[i].x, &pop[i].value))
                    goto polish;
            stale = 0;
        }
    }
polish:
    if (s->stop != SEARCH_STOPPED && !s->oom) {
        s->eval_limit = 0;
        s->stopped = false;
        int x[TUNE_MAX_DIMS];
        double fx = s->best_value;
        memcpy(x, s->best, sizeof(int) * (size_t)n);
        if (isfinite(fx))
            compass_search(s, x, &fx);
        while (budget_left(s)) {  /* budget left after the polish: more local searches */
            if (!random_unvisited(s, x) || !evaluate(s, x, &fx) || !compass_search(s, x, &fx))
                break;
        }
    }
done:
    free(ranked);
    free(pop);
    free(trials);
    free(has_trial);
    free(owner);
    free(values);
}

int search_run(const SearchProblem *p, const SearchOptions *o, SearchResult *out)
{
    memset(out, 0, sizeof *out);
    out->best_value = INFINITY;
    if (p->ndims < 1 || p->ndims > TUNE_MAX_DIMS || !p->eval)
        return -1;
    for (int d = 0; d < p->ndims; d++)
        if (p->sizes[d] < 1)
            return -1;
    Search s = {.p = p, .o = o, .rng = {o->seed * 0x2545f4914f6cdd1dULL + 1},
                .start = now_s(), .best_value = INFINITY, .stop = SEARCH_DONE};
    switch (o->strategy) {
    case SEARCH_EXHAUSTIVE: run_exhaustive(&s); break;
    case SEARCH_RANDOM: run_random(&s); break;
    case SEARCH_PATTERN: run_pattern(&s); break;
    case SEARCH_DE: run_de(&s); break;
    default: free(s.memo.slots); return -1;
    }
    memcpy(out->best, s.best, sizeof s.best);
    out->best_value = s.best_value;
    out->evaluations = s.evals;
    out->stop = s.stopped ? s.stop : SEARCH_DONE;
    out->elapsed_s = now_s() - s.start;
    free(s.memo.slots);
    return s.oom ? -1 : 0;
}
