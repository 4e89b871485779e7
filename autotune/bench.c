/* bench.c — the timing policy every candidate gets (warm-up, then repetitions that each
   reset the reduction targets, flush L2 and time one launch; the median counts; a candidate
   clearly slower than the best so far stops early). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autotune.h"

BenchPolicy bench_policy_default(void)
{
    return (BenchPolicy){.warmup = 3, .min_reps = 5, .max_reps = 50, .max_seconds = 0.5,
                         .early_stop_ratio = 1.3};
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *samples, int n, double *scratch)
{
    memcpy(scratch, samples, sizeof(double) * (size_t)n);
    qsort(scratch, (size_t)n, sizeof(double), compare_double);
    return n % 2 ? scratch[n / 2] : 0.5 * (scratch[n / 2 - 1] + scratch[n / 2]);
}

int bench_measure(const BenchOps *ops, const BenchPolicy *p, double best_so_far_ms,
                  BenchTiming *out)
{
    memset(out, 0, sizeof *out);
    out->median_ms = out->min_ms = INFINITY;
    int max_reps = p->max_reps > 0 ? p->max_reps : 1;
    int min_reps = p->min_reps > 0 && p->min_reps <= max_reps ? p->min_reps : 1;
    double *samples = malloc(sizeof(double) * (size_t)max_reps * 2);
    if (!samples)
        return -1;
    double *scratch = samples + max_reps;
    int status = -1;
    for (int i = 0; i < p->warmup; i++) {
        double ms;
        if ((ops->reset_targets && ops->reset_targets(ops->ctx) != 0) ||
            ops->launch_timed(ops->ctx, &ms) != 0)
            goto done;
    }
    double start = now_s();
    int n = 0;
    while (n < max_reps) {
        double ms;
        if ((ops->reset_targets && ops->reset_targets(ops->ctx) != 0) ||
            (ops->flush_l2 && ops->flush_l2(ops->ctx) != 0) || ops->launch_timed(ops->ctx, &ms) != 0)
            goto done;
        samples[n++] = ms;
        if (n < min_reps)
            continue;
        double med = median(samples, n, scratch);
        if (best_so_far_ms > 0 && isfinite(best_so_far_ms) && p->early_stop_ratio > 0 &&
            med > p->early_stop_ratio * best_so_far_ms) {
            out->early_stopped = true;
            break;
        }
        if (p->max_seconds > 0 && now_s() - start >= p->max_seconds)
            break;
    }
    out->reps = n;
    out->median_ms = median(samples, n, scratch);
    out->min_ms = scratch[0];
    status = 0;
done:
    free(samples);
    return status;
}
