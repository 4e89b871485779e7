/* tuner.c — the tuning loop: a strategy proposes points of the pruned space, compile
   threads build them ahead of time (prefetch), the benchmark child times them one at a
   time against the reference (the default config, measured first), and every finished
   measurement is kept. SIGINT (through a signalfd, so no handler and no global flag)
   stops the search between candidates or interrupts the one running; the best so far
   stands. Progress goes to a bar on a terminal, plain lines otherwise. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "autotune.h"

static const char *const status_names[TUNE_STATUS_COUNT] = {
    "ok", "pruned", "compile-failed", "spills", "serialised", "crashed", "timeout", "wrong-output",
    "bench-failed", "interrupted",
};

const char *tune_status_name(TuneStatus s)
{
    return s >= 0 && s < TUNE_STATUS_COUNT ? status_names[s] : "?";
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef enum JobState { JOB_QUEUED, JOB_RUNNING, JOB_COMPILED, JOB_MEASURED } JobState;

typedef struct Job {
    uint64_t index;
    int point[TUNE_MAX_DIMS];
    JobState state;
    int rc;
    TuneArtifact artifact;
    char error[256];
    double time_ms;                 /* once measured */
    struct Job *next_queued;
} Job;

typedef struct Tuner {
    const TuneSpace *space;
    const TuneBackend *backend;
    const TuneOptions *o;
    TuneResult *r;
    FILE *out;
    pthread_mutex_t lock;
    pthread_cond_t work, compiled;
    Job **jobs;
    int njobs, cap_jobs;
    Job *queue_head, *queue_tail;
    bool shutdown;
    pthread_t *threads;
    int nthreads;
    BenchChild child;
    int sigfd;
    double start;
    double best_ms;
    uint64_t survivors;
    bool tty;
    double last_line;
} Tuner;

/* ---- compile threads */

static void compile_job(Tuner *t, Job *job)
{
    Config c;
    tune_space_config(t->space, job->point, &c);
    double start = now_s();
    job->rc = t->backend->compile(t->backend->ctx, &c, &job->artifact, job->error,
                                  sizeof job->error);
    double took = now_s() - start;
    pthread_mutex_lock(&t->lock);
    t->r->compile_s += took;
    job->state = JOB_COMPILED;
    pthread_cond_broadcast(&t->compiled);
    pthread_mutex_unlock(&t->lock);
}

static void *compile_worker(void *arg)
{
    Tuner *t = arg;
    pthread_mutex_lock(&t->lock);
    for (;;) {
        while (!t->shutdown && !t->queue_head)
            pthread_cond_wait(&t->work, &t->lock);
        if (t->shutdown)
            break;
        Job *job = t->queue_head;
        t->queue_head = job->next_queued;
        if (!t->queue_head)
            t->queue_tail = NULL;
        job->state = JOB_RUNNING;
        pthread_mutex_unlock(&t->lock);
        compile_job(t, job);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* The job of a point, made (and queued when `queue`) if new. Called with the lock held. */
static Job *find_job(Tuner *t, const int *point, bool queue)
{
    uint64_t index = tune_space_index(t->space, point);
    for (int i = 0; i < t->njobs; i++)
        if (t->jobs[i]->index == index)
            return t->jobs[i];
    if (t->njobs == t->cap_jobs) {
        int cap = t->cap_jobs ? 2 * t->cap_jobs : 256;
        Job **grown = realloc(t->jobs, sizeof *grown * (size_t)cap);
        if (!grown)
            return NULL;
        t->jobs = grown;
        t->cap_jobs = cap;
    }
    Job *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->index = index;
    memcpy(job->point, point, sizeof(int) * (size_t)t->space->ndims);
    job->time_ms = INFINITY;
    t->jobs[t->njobs++] = job;
    if (queue) {
        if (t->queue_tail)
            t->queue_tail->next_queued = job;
        else
            t->queue_head = job;
        t->queue_tail = job;
        pthread_cond_signal(&t->work);
    }
    return job;
}

static void prefetch_points(const int *points, int n, void *ctx)
{
    Tuner *t = ctx;
    pthread_mutex_lock(&t->lock);
    for (int i = 0; i < n; i++)
        find_job(t, points + (size_t)i * TUNE_MAX_DIMS, t->nthreads > 0);
    pthread_mutex_unlock(&t->lock);
}

/* Compiled, waiting for a compile thread when it is running and compiling it here when it is
   still queued (the search needs it now). */
static Job *compiled_job(Tuner *t, const int *point)
{
    pthread_mutex_lock(&t->lock);
    Job *job = find_job(t, point, false);
    if (!job) {
        pthread_mutex_unlock(&t->lock);
        return NULL;
    }
    if (job->state == JOB_QUEUED) {
        for (Job **p = &t->queue_head; *p; p = &(*p)->next_queued)
            if (*p == job) {
                *p = job->next_queued;
                break;
            }
        t->queue_tail = NULL;
        for (Job *q = t->queue_head; q; q = q->next_queued)
            t->queue_tail = q;
        job->state = JOB_RUNNING;
        pthread_mutex_unlock(&t->lock);
        compile_job(t, job);
        return job;
    }
    while (job->state == JOB_RUNNING)
        pthread_cond_wait(&t->compiled, &t->lock);
    pthread_mutex_unlock(&t->lock);
    return job;
}

/* ---- progress */

static void config_text(const TuneSpace *s, const int *point, char *buf, size_t size)
{
    Config c;
    tune_space_config(s, point, &c);
    config_format(&c, buf, size);
}

static void show_progress(Tuner *t, bool final)
{
    if (!t->o->progress)
        return;
    const SearchOptions *so = &t->o->search;
    int done = t->r->nmeasurements;
    double elapsed = now_s() - t->start, fraction;
    if (so->max_evals > 0)
        fraction = (double)done / (double)so->max_evals;
    else if (so->budget_s > 0)
        fraction = elapsed / so->budget_s;
    else
        fraction = t->survivors ? (double)done / (double)t->survivors : 0;
    fraction = fraction > 1 ? 1 : fraction;
    int failed = done - t->r->status_counts[TUNE_OK];
    /* every measurement is a distinct surviving point (the default included) */
    uint64_t left = t->survivors > (uint64_t)done ? t->survivors - (uint64_t)done : 0;
    char best[700] = "none yet", config[600], clock[96];
    if (isfinite(t->best_ms)) {
        config_text(t->space, t->r->best, config, sizeof config);
        snprintf(best, sizeof best, "%.4f ms (%s)", t->best_ms, config);
    }
    int len = snprintf(clock, sizeof clock, "%.1f s", elapsed);
    if (so->budget_s > 0)
        snprintf(clock + len, sizeof clock - (size_t)len, ", %.1f s of the budget left",
                 so->budget_s > elapsed ? so->budget_s - elapsed : 0.0);
    if (t->tty) {
        char bar[31];
        int filled = (int)(fraction * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[30] = 0;
        fprintf(t->out, "\r[%s] %3d%% %d measured, %llu left, %d failed, %s, best %s\033[K%s",
                bar, (int)(fraction * 100), done, (unsigned long long)left, failed, clock, best,
                final ? "\n" : "");
        fflush(t->out);
        return;
    }
    if (!final && now_s() - t->last_line < 2.0 && done % 25 != 0)
        return;
    t->last_line = now_s();
    fprintf(t->out, "tune: %d measured, %llu left in the space, %d failed; %s; best %s\n", done,
            (unsigned long long)left, failed, clock, best);
    fflush(t->out);
}

/* ---- measuring */

static void record(Tuner *t, const int *point, TuneStatus status, double ms, bool early)
{
    TuneResult *r = t->r;
    TuneMeasurement *grown = realloc(r->measurements, sizeof *grown * (size_t)(r->nmeasurements + 1));
    if (!grown)
        return;
    r->measurements = grown;
    TuneMeasurement *m = &r->measurements[r->nmeasurements++];
    memset(m, 0, sizeof *m);
    memcpy(m->point, point, sizeof(int) * (size_t)t->space->ndims);
    m->status = status;
    m->time_ms = status == TUNE_OK ? ms : INFINITY;
    m->early_stopped = early;
    r->status_counts[status]++;
    if (status == TUNE_OK && ms < t->best_ms) {
        t->best_ms = ms;
        r->found = true;
        r->best_ms = ms;
        memcpy(r->best, point, sizeof r->best);
    }
}

static bool interrupted(Tuner *t)
{
    if (t->r->interrupted)
        return true;
    if (t->sigfd < 0)
        return false;
    struct pollfd p = {.fd = t->sigfd, .events = POLLIN};
    if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
        t->r->interrupted = true;
    return t->r->interrupted;
}

static double measure(Tuner *t, const int *point)
{
    Job *job = compiled_job(t, point);
    if (!job)
        return INFINITY;
    if (job->state == JOB_MEASURED)
        return job->time_ms;
    TuneStatus status;
    BenchTiming timing = {.median_ms = INFINITY};
    char msg[384] = "";
    if (job->rc != 0) {
        status = TUNE_COMPILE_FAILED;
    } else if (job->artifact.spill_bytes > 0) {
        status = TUNE_SPILLS;
    } else if (job->artifact.serialised) {
        status = TUNE_SERIALISED;
    } else {
        status = bench_child_run(&t->child, job->artifact.data, job->artifact.size, t->best_ms,
                                 t->sigfd, &timing, msg, sizeof msg);
        if (status == TUNE_INTERRUPTED)
            t->r->interrupted = true;
    }
    free(job->artifact.data);
    job->artifact.data = NULL;
    if (status == TUNE_INTERRUPTED) {
        /* not measured: a later tune may try it again */
        job->state = JOB_COMPILED;
        job->rc = -1;
        return INFINITY;
    }
    job->state = JOB_MEASURED;
    job->time_ms = status == TUNE_OK ? timing.median_ms : INFINITY;
    pthread_mutex_lock(&t->lock);
    record(t, point, status, timing.median_ms, timing.early_stopped);
    pthread_mutex_unlock(&t->lock);
    show_progress(t, false);
    return job->time_ms;
}

static double eval_point(const int *point, void *ctx)
{
    return measure(ctx, point);
}

static bool valid_point(const int *point, void *ctx)
{
    const Tuner *t = ctx;
    return tune_space_check(t->space, point, NULL, NULL) == PRUNE_NONE;
}

static bool should_stop(void *ctx)
{
    return interrupted(ctx);
}

/* ---- the loop */

/* compile_threads - 1 threads compile ahead; the search's thread makes up the count (it
   compiles a point it needs that no thread has started). With none, prefetch only records
   points and each is compiled when the search needs it. */
static int start_threads(Tuner *t)
{
    int n = t->o->compile_threads;
    if (n <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? (int)cpus : 1;
    }
    n = (n > 64 ? 64 : n) - 1;
    t->threads = calloc((size_t)n + 1, sizeof *t->threads);
    if (!t->threads)
        return -1;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&t->threads[i], NULL, compile_worker, t) != 0)
            break;
        t->nthreads++;
    }
    return 0;
}

static void stop_threads(Tuner *t)
{
    pthread_mutex_lock(&t->lock);
    t->shutdown = true;
    pthread_cond_broadcast(&t->work);
    pthread_mutex_unlock(&t->lock);
    for (int i = 0; i < t->nthreads; i++)
        pthread_join(t->threads[i], NULL);
    free(t->threads);
    for (int i = 0; i < t->njobs; i++) {
        free(t->jobs[i]->artifact.data);
        free(t->jobs[i]);
    }
    free(t->jobs);
}

/* Compiles the default config for the reference and measures it; its time is the
   baseline of the speedup column. */
static int measure_default(Tuner *t, TuneArtifact *reference)
{
    int point[TUNE_MAX_DIMS];
    tune_space_default(t->space, point);
    Config c;
    tune_space_config(t->space, point, &c);
    char err[256] = "";
    memset(reference, 0, sizeof *reference);
    if (t->backend->compile(t->backend->ctx, &c, reference, err, sizeof err) != 0) {
        memset(reference, 0, sizeof *reference);   /* the backend's own reference */
    }
    t->child.reference = reference->data;
    t->child.reference_size = reference->size;
    if (bench_child_start(&t->child) != 0) {
        snprintf(t->r->error, sizeof t->r->error, "%s", t->child.error);
        return -1;
    }
    t->r->default_ms = measure(t, point);
    return 0;
}

int tune_run(const TuneSpace *space, const TuneBackend *backend, const TuneOptions *o,
             TuneResult *result)
{
    memset(result, 0, sizeof *result);
    result->best_ms = result->default_ms = INFINITY;
    Tuner t = {.space = space, .backend = backend, .o = o, .r = result,
               .out = o->out ? o->out : stderr, .sigfd = -1, .best_ms = INFINITY};
    t.child = (BenchChild){.backend = backend, .exec_argv = o->child_exec_argv,
                           .timeout_s = o->bench_timeout_s > 0 ? o->bench_timeout_s : 10,
                           .pid = -1, .sock = -1, .restarts = -1};
    t.tty = isatty(fileno(t.out));
    t.start = now_s();
    pthread_mutex_init(&t.lock, NULL);
    pthread_cond_init(&t.work, NULL);
    pthread_cond_init(&t.compiled, NULL);
    sigset_t sigint, old_mask;
    sigemptyset(&sigint);
    sigaddset(&sigint, SIGINT);
    if (o->handle_sigint) {
        /* blocked before any thread starts, so every thread inherits it and only the
           signalfd sees Ctrl-C */
        pthread_sigmask(SIG_BLOCK, &sigint, &old_mask);
        t.sigfd = signalfd(-1, &sigint, SFD_CLOEXEC | SFD_NONBLOCK);
    }
    TuneArtifact reference = {0};
    int status = -1;
    if (o->progress) {   /* the progress line counts what is left */
        TunePruneCounts counts;
        tune_space_count(space, &counts);
        t.survivors = counts.survivors;
    }
    if (start_threads(&t) != 0) {
        snprintf(result->error, sizeof result->error, "cannot start compile threads");
        goto done;
    }
    if (measure_default(&t, &reference) != 0)
        goto done;
    t.child.restarts = 0;
    SearchProblem p = {.ndims = space->ndims, .eval = eval_point, .valid = valid_point,
                       .prefetch = prefetch_points, .should_stop = should_stop, .ctx = &t};
    for (int d = 0; d < space->ndims; d++)
        p.sizes[d] = space->dims[d].nvalues;
    SearchOptions so = o->search;
    if (so.budget_s > 0) {
        /* The budget is the whole tune's wall clock: starting the child, making the
           inputs and measuring the reference come out of it, and a margin is kept for
           the candidate still in flight when the search stops. */
        double left = o->search.budget_s * 0.97 - (now_s() - t.start);
        so.budget_s = left > 0.001 ? left : 0.001;
    }
    int start[TUNE_MAX_DIMS];
    tune_space_default(space, start);
    so.start = start;
    if (!interrupted(&t) && search_run(&p, &so, &result->search) != 0) {
        snprintf(result->error, sizeof result->error, "the search failed (out of memory)");
        goto done;
    }
    show_progress(&t, true);
    status = 0;
done:
    interrupted(&t);
    bench_child_stop(&t.child);
    stop_threads(&t);
    free(reference.data);
    if (t.sigfd >= 0) {
        /* a Ctrl-C still pending would kill the process once unblocked: take it here */
        struct signalfd_siginfo info;
        while (read(t.sigfd, &info, sizeof info) == (ssize_t)sizeof info)
            result->interrupted = true;
        close(t.sigfd);
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    }
    pthread_cond_destroy(&t.work);
    pthread_cond_destroy(&t.compiled);
    pthread_mutex_destroy(&t.lock);
    return status;
}

static int compare_measurement(const void *a, const void *b)
{
    const TuneMeasurement *x = a, *y = b;
    return x->time_ms < y->time_ms ? -1 : x->time_ms > y->time_ms;
}

void tune_print_table(FILE *out, const TuneSpace *space, const TuneOptions *o, const TuneResult *r)
{
    int n = 0;
    TuneMeasurement *ok = malloc(sizeof *ok * (size_t)(r->nmeasurements + 1));
    if (!ok)
        return;
    for (int i = 0; i < r->nmeasurements; i++)
        if (r->measurements[i].status == TUNE_OK)
            ok[n++] = r->measurements[i];
    qsort(ok, (size_t)n, sizeof *ok, compare_measurement);
    int top = o->top > 0 ? o->top : 5;
    fprintf(out, "%4s %11s %9s %7s %8s  %s\n", "rank", "time(ms)", "TFLOP/s", "%peak", "speedup",
            "config");
    for (int i = 0; i < n && i < top; i++) {
        char cfg[512];
        config_text(space, ok[i].point, cfg, sizeof cfg);
        double tflops = o->flops > 0 ? o->flops / (ok[i].time_ms * 1e-3) / 1e12 : 0;
        char tf[16] = "-", pk[16] = "-", sp[16] = "-";
        if (tflops > 0)
            snprintf(tf, sizeof tf, "%.1f", tflops);
        if (tflops > 0 && o->peak_tflops > 0)
            snprintf(pk, sizeof pk, "%.1f", 100 * tflops / o->peak_tflops);
        if (isfinite(r->default_ms))
            snprintf(sp, sizeof sp, "%.2fx", r->default_ms / ok[i].time_ms);
        fprintf(out, "%4d %11.4f %9s %7s %8s  %s\n", i + 1, ok[i].time_ms, tf, pk, sp, cfg);
    }
    int def[TUNE_MAX_DIMS];
    char cfg[512];
    tune_space_default(space, def);
    config_text(space, def, cfg, sizeof cfg);
    if (isfinite(r->default_ms))
        fprintf(out, "default %.4f ms  %s\n", r->default_ms, cfg);
    else
        fprintf(out, "default failed or pruned  %s\n", cfg);
    fprintf(out, "measured %d:", r->nmeasurements);
    for (int s = 0; s < TUNE_STATUS_COUNT; s++)
        if (r->status_counts[s])
            fprintf(out, " %s %d", tune_status_name((TuneStatus)s), r->status_counts[s]);
    fprintf(out, "%s\n", r->interrupted ? " (interrupted: best so far)" : "");
    free(ok);
}

void tune_result_free(TuneResult *r)
{
    free(r->measurements);
    r->measurements = NULL;
    r->nmeasurements = 0;
}
