/* tuner.c — the tuning loop: a strategy proposes points of the pruned space, compile
   threads build them ahead of time (prefetch), the benchmark child times them one at a
   time against the reference (the default config, measured first), and every finished
   measurement is kept. With several GPUs there is a child pinned to each, the search
   hands over batches, and a thread per GPU takes the batch's next candidate (retries,
   dropped GPUs and the final re-timing: TuneOptions.devices). SIGINT (through a signalfd,
   so no handler and no global flag) stops the search between candidates or interrupts the
   ones running; the best so far stands. Progress goes to a bar on a terminal, plain lines
   otherwise. */
#include <errno.h>
#include <stdarg.h>
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

/* A GPU that times candidates: its benchmark child and whether it is still in use. */
typedef struct Device {
    BenchChild child;
    bool dropped;
    int strikes;          /* crashes on candidates another GPU then timed */
} Device;

/* One candidate of a batch handed to the GPUs. */
typedef struct Slot {
    const int *point;
    double *value;
    bool taken, done;
    int failed_on;        /* the device it crashed or hung on (-1: none yet): not again */
    TuneStatus first;     /* how it failed there */
} Slot;

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
    Device *devices;
    int ndevices;
    int live;                       /* devices not dropped */
    Slot *slots;                    /* the batch the GPUs are timing */
    int nslots;
    pthread_cond_t slot_changed;
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

/* What the compiled artifact decides before any GPU: a compile failure, spills or
   serialised wgmma end the candidate; TUNE_OK: it must be timed. */
static TuneStatus precheck(const Job *job)
{
    if (job->rc != 0)
        return TUNE_COMPILE_FAILED;
    if (job->artifact.spill_bytes > 0)
        return TUNE_SPILLS;
    if (job->artifact.serialised)
        return TUNE_SERIALISED;
    return TUNE_OK;
}

/* Interrupted while it ran: not measured, so a later tune may try it again. */
static void unmeasured(Job *job)
{
    free(job->artifact.data);
    job->artifact.data = NULL;
    job->state = JOB_COMPILED;
    job->rc = -1;
}

/* The measurement is final: recorded, the artifact freed. Called with the lock held. */
static void finish_job(Tuner *t, Job *job, TuneStatus status, const BenchTiming *timing)
{
    free(job->artifact.data);
    job->artifact.data = NULL;
    job->state = JOB_MEASURED;
    job->time_ms = status == TUNE_OK ? timing->median_ms : INFINITY;
    record(t, job->point, status, timing->median_ms, timing->early_stopped);
    show_progress(t, false);
}

/* Times a compiled job in a device's child, against the best so far (early stop). */
static TuneStatus time_job(Tuner *t, Device *d, const Job *job, BenchTiming *timing, char *msg,
                           size_t msglen)
{
    pthread_mutex_lock(&t->lock);
    double best = t->best_ms;
    pthread_mutex_unlock(&t->lock);
    TuneStatus status = bench_child_run(&d->child, job->artifact.data, job->artifact.size, best,
                                        t->sigfd, timing, msg, msglen);
    if (status == TUNE_INTERRUPTED) {
        pthread_mutex_lock(&t->lock);
        t->r->interrupted = true;
        pthread_mutex_unlock(&t->lock);
    }
    return status;
}

static Device *first_live(Tuner *t)
{
    for (int d = 0; d < t->ndevices; d++)
        if (!t->devices[d].dropped)
            return &t->devices[d];
    return NULL;
}

/* One candidate on the first GPU in use (the default, and every candidate with one GPU). */
static double measure(Tuner *t, const int *point)
{
    Job *job = compiled_job(t, point);
    Device *dev = first_live(t);
    if (!job || !dev)
        return INFINITY;
    if (job->state == JOB_MEASURED)
        return job->time_ms;
    BenchTiming timing = {.median_ms = INFINITY, .min_ms = INFINITY};
    char msg[384] = "";
    TuneStatus status = precheck(job);
    if (status == TUNE_OK)
        status = time_job(t, dev, job, &timing, msg, sizeof msg);
    if (status == TUNE_INTERRUPTED) {
        unmeasured(job);
        return INFINITY;
    }
    pthread_mutex_lock(&t->lock);
    finish_job(t, job, status, &timing);
    pthread_mutex_unlock(&t->lock);
    return job->time_ms;
}

/* ---- several GPUs: a thread per GPU takes the batch's slots one at a time */

typedef struct Worker {
    Tuner *t;
    int device;
} Worker;

static bool other_live(const Tuner *t, int d)
{
    for (int i = 0; i < t->ndevices; i++)
        if (i != d && !t->devices[i].dropped)
            return true;
    return false;
}

/* A line of its own, past the progress bar. Called with the lock held. */
static void tell(Tuner *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tell(Tuner *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(t->tty ? "\r\033[K" : "", t->out);
    vfprintf(t->out, fmt, ap);
    fputc('\n', t->out);
    fflush(t->out);
    va_end(ap);
}

/* Called with the lock held. */
static void drop_device(Tuner *t, int d, const char *why)
{
    Device *dev = &t->devices[d];
    if (dev->dropped)
        return;
    dev->dropped = true;
    t->live--;
    t->r->devices_dropped++;
    tell(t, "tune: GPU %d dropped: %s%s", dev->child.device, why,
         t->live ? "" : " (no GPU is left)");
    pthread_cond_broadcast(&t->slot_changed);
}

/* Called with the lock held. */
static void end_slot(Tuner *t, Slot *s, Job *job, TuneStatus status, const BenchTiming *timing)
{
    if (job && status == TUNE_INTERRUPTED) {
        unmeasured(job);
    } else if (job && job->state != JOB_MEASURED) {
        finish_job(t, job, status, timing);
    }
    *s->value = job && status != TUNE_INTERRUPTED ? job->time_ms : INFINITY;
    s->done = true;
    pthread_cond_broadcast(&t->slot_changed);
}

/* Times slot s on device d (the lock not held). A crash or a hang goes back to the batch
   for another GPU, once; a GPU whose child cannot start is dropped and the slot goes back. */
static void run_slot(Tuner *t, int d, Slot *s)
{
    static const BenchTiming none = {.median_ms = INFINITY, .min_ms = INFINITY};
    Device *dev = &t->devices[d];
    Job *job = compiled_job(t, s->point);
    BenchTiming timing = none;
    char msg[384] = "";
    TuneStatus status = job ? precheck(job) : TUNE_BENCH_FAILED;
    if (job && job->state == JOB_MEASURED) {
        pthread_mutex_lock(&t->lock);
        end_slot(t, s, job, TUNE_OK, &timing);
        pthread_mutex_unlock(&t->lock);
        return;
    }
    if (status == TUNE_OK && dev->child.pid <= 0 && bench_child_start(&dev->child) != 0) {
        pthread_mutex_lock(&t->lock);
        drop_device(t, d, dev->child.error);
        s->taken = false;
        pthread_cond_broadcast(&t->slot_changed);
        pthread_mutex_unlock(&t->lock);
        return;
    }
    if (status == TUNE_OK)
        status = time_job(t, dev, job, &timing, msg, sizeof msg);
    pthread_mutex_lock(&t->lock);
    bool failed = status == TUNE_CRASHED || status == TUNE_TIMEOUT;
    if (failed && s->failed_on < 0 && other_live(t, d)) {
        char config[600];
        config_text(t->space, s->point, config, sizeof config);
        tell(t, "tune: %s %s on GPU %d (%s): timing it on another GPU", config,
             status == TUNE_CRASHED ? "crashed" : "hung", dev->child.device, msg);
        s->failed_on = d;
        s->first = status;
        s->taken = false;
        t->r->retried++;
        pthread_cond_broadcast(&t->slot_changed);
        pthread_mutex_unlock(&t->lock);
        return;
    }
    if (s->failed_on >= 0 && !failed && status != TUNE_INTERRUPTED) {
        /* it failed on the other GPU and not here: that GPU is suspect */
        Device *o = &t->devices[s->failed_on];
        char why[160];
        snprintf(why, sizeof why, "a candidate %s there that GPU %d then timed",
                 s->first == TUNE_TIMEOUT ? "hung" : "crashed", dev->child.device);
        if (s->first == TUNE_TIMEOUT || ++o->strikes >= 2)
            drop_device(t, s->failed_on, why);
    }
    end_slot(t, s, job, status, &timing);
    pthread_mutex_unlock(&t->lock);
}

static void *device_worker(void *arg)
{
    const Worker *w = arg;
    Tuner *t = w->t;
    static const BenchTiming none = {.median_ms = INFINITY, .min_ms = INFINITY};
    pthread_mutex_lock(&t->lock);
    while (!t->devices[w->device].dropped && !interrupted(t)) {
        Slot *next = NULL;
        bool pending = false;
        for (int i = 0; i < t->nslots && !next; i++) {
            Slot *s = &t->slots[i];
            if (s->done)
                continue;
            pending = true;
            if (!s->taken && (s->failed_on != w->device || !other_live(t, w->device)))
                next = s;
        }
        if (!pending)
            break;
        if (!next) {
            pthread_cond_wait(&t->slot_changed, &t->lock);
            continue;
        }
        if (next->failed_on == w->device) {
            /* no other GPU is left to try it: its first failure stands */
            Job *job = find_job(t, next->point, false);
            end_slot(t, next, job, next->first, &none);
            continue;
        }
        next->taken = true;
        pthread_mutex_unlock(&t->lock);
        run_slot(t, w->device, next);
        pthread_mutex_lock(&t->lock);
    }
    pthread_cond_broadcast(&t->slot_changed);
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* SearchProblem.eval_batch: the batch's candidates over the GPUs still in use. */
static void eval_batch(const int *points, int n, double *values, void *ctx)
{
    Tuner *t = ctx;
    Slot *slots = calloc((size_t)n, sizeof *slots);
    Worker *workers = calloc((size_t)t->ndevices, sizeof *workers);
    pthread_t *threads = calloc((size_t)t->ndevices, sizeof *threads);
    bool *started = calloc((size_t)t->ndevices, sizeof *started);
    for (int i = 0; i < n; i++)
        values[i] = INFINITY;
    if (!slots || !workers || !threads || !started)
        goto done;
    for (int i = 0; i < n; i++)
        slots[i] = (Slot){.point = points + (size_t)i * TUNE_MAX_DIMS, .value = &values[i],
                          .failed_on = -1};
    pthread_mutex_lock(&t->lock);
    t->slots = slots;
    t->nslots = n;
    pthread_mutex_unlock(&t->lock);
    /* this thread serves the first GPU in use; a thread each for the others */
    int here = -1;
    for (int d = 0; d < t->ndevices; d++) {
        if (t->devices[d].dropped)
            continue;
        workers[d] = (Worker){t, d};
        if (here < 0) {
            here = d;
        } else if (!(started[d] = pthread_create(&threads[d], NULL, device_worker, &workers[d]) == 0)) {
            /* a GPU no thread serves would be waited for by a candidate retried there */
            pthread_mutex_lock(&t->lock);
            drop_device(t, d, "no thread could be started for it");
            pthread_mutex_unlock(&t->lock);
        }
    }
    if (here >= 0)
        device_worker(&workers[here]);
    for (int d = 0; d < t->ndevices; d++)
        if (started[d])
            pthread_join(threads[d], NULL);
    pthread_mutex_lock(&t->lock);
    t->slots = NULL;
    t->nslots = 0;
    pthread_mutex_unlock(&t->lock);
    for (int d = 0; d < t->ndevices; d++)
        if (t->devices[d].dropped)
            bench_child_stop(&t->devices[d].child);
done:
    free(slots);
    free(workers);
    free(threads);
    free(started);
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
    Tuner *t = ctx;
    pthread_mutex_lock(&t->lock);
    bool stop = interrupted(t) || t->live == 0;
    pthread_mutex_unlock(&t->lock);
    return stop;
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
    /* every child gets the reference when it starts; the first that starts times the
       default (with several GPUs, one whose child cannot start is dropped) */
    for (int d = 0; d < t->ndevices; d++) {
        t->devices[d].child.reference = reference->data;
        t->devices[d].child.reference_size = reference->size;
    }
    for (int d = 0; d < t->ndevices; d++) {
        BenchChild *c = &t->devices[d].child;
        if (bench_child_start(c) == 0)
            break;
        if (t->ndevices == 1) {
            snprintf(t->r->error, sizeof t->r->error, "%s", c->error);
            return -1;
        }
        pthread_mutex_lock(&t->lock);
        drop_device(t, d, c->error);
        pthread_mutex_unlock(&t->lock);
        if (t->live == 0) {
            snprintf(t->r->error, sizeof t->r->error, "no GPU could start a benchmark child "
                     "(the last: %.400s)", c->error);
            return -1;
        }
    }
    t->r->default_ms = measure(t, point);
    return 0;
}

static int compare_measurement(const void *a, const void *b);

/* The median of three timings of a config on one device (+inf unless all three ran). */
static double retime(Tuner *t, Device *dev, const TuneArtifact *a, double *times, int round)
{
    BenchTiming timing;
    char msg[384];
    TuneStatus status = bench_child_run(&dev->child, a->data, a->size, INFINITY, t->sigfd,
                                        &timing, msg, sizeof msg);
    times[round] = status == TUNE_OK ? timing.median_ms : INFINITY;
    double x = times[0], y = times[1], z = times[2];
    if (round < 2)
        return INFINITY;
    return x > y ? (y > z ? y : x > z ? z : x) : (x > z ? x : y > z ? z : y);
}

/* With several GPUs the search compared times from different cards: the winner and the
   runner-up are timed again, alternately, three times each on the first GPU in use, and
   the faster median wins. */
static void retime_winner(Tuner *t)
{
    TuneResult *r = t->r;
    Device *dev = first_live(t);
    if (t->ndevices < 2 || !r->found || r->interrupted || !dev)
        return;
    TuneMeasurement *ok = malloc(sizeof *ok * (size_t)(r->nmeasurements + 1));
    int n = 0;
    for (int i = 0; ok && i < r->nmeasurements; i++)
        if (r->measurements[i].status == TUNE_OK)
            ok[n++] = r->measurements[i];
    if (n < 2) {
        free(ok);
        return;
    }
    qsort(ok, (size_t)n, sizeof *ok, compare_measurement);
    const int *pair[2] = {ok[0].point, ok[1].point};
    TuneArtifact art[2] = {{0}};
    double times[2][3], median[2] = {INFINITY, INFINITY};
    char err[256];
    for (int i = 0; i < 2; i++) {
        Config c;
        tune_space_config(t->space, pair[i], &c);
        if (t->backend->compile(t->backend->ctx, &c, &art[i], err, sizeof err) != 0)
            goto done;
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 2; i++)
            median[i] = retime(t, dev, &art[i], times[i], round);
    if (!isfinite(median[0]) || !isfinite(median[1]))
        goto done;
    int win = median[1] < median[0];
    r->retimed = true;
    memcpy(r->best, pair[win], sizeof r->best);
    r->best_ms = median[win];
    memcpy(r->runner_up, pair[!win], sizeof r->runner_up);
    r->runner_up_ms = median[!win];
done:
    free(art[0].data);
    free(art[1].data);
    free(ok);
}

int tune_run(const TuneSpace *space, const TuneBackend *backend, const TuneOptions *o,
             TuneResult *result)
{
    memset(result, 0, sizeof *result);
    result->best_ms = result->default_ms = INFINITY;
    result->runner_up_ms = INFINITY;
    Tuner t = {.space = space, .backend = backend, .o = o, .r = result,
               .out = o->out ? o->out : stderr, .sigfd = -1, .best_ms = INFINITY};
    t.ndevices = o->devices && o->ndevices > 0 ? o->ndevices : 1;
    t.devices = calloc((size_t)t.ndevices, sizeof *t.devices);
    if (!t.devices) {
        snprintf(result->error, sizeof result->error, "out of memory");
        return -1;
    }
    for (int d = 0; d < t.ndevices; d++) {
        t.devices[d].child = (BenchChild){.backend = backend, .exec_argv = o->child_exec_argv,
                                          .timeout_s = o->bench_timeout_s > 0 ? o->bench_timeout_s : 10,
                                          .pid = -1, .sock = -1, .restarts = -1};
        bench_child_pin(&t.devices[d].child, o->devices && o->ndevices > 0 ? o->devices[d] : -1);
    }
    t.live = t.ndevices;
    result->devices_used = t.ndevices;
    t.tty = isatty(fileno(t.out));
    t.start = now_s();
    pthread_mutex_init(&t.lock, NULL);
    pthread_cond_init(&t.work, NULL);
    pthread_cond_init(&t.compiled, NULL);
    pthread_cond_init(&t.slot_changed, NULL);
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
    for (int d = 0; d < t.ndevices; d++)
        t.devices[d].child.restarts = 0;
    /* with several GPUs, batches of two candidates a GPU keep every GPU busy */
    SearchProblem p = {.ndims = space->ndims, .eval = eval_point, .valid = valid_point,
                       .prefetch = prefetch_points, .should_stop = should_stop,
                       .eval_batch = t.ndevices > 1 ? eval_batch : NULL,
                       .batch = 2 * t.ndevices, .ctx = &t};
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
    if (t.live == 0) {
        snprintf(result->error, sizeof result->error, "every GPU was dropped (their messages "
                 "are above); %d candidates were measured", result->nmeasurements);
        goto done;
    }
    retime_winner(&t);
    status = 0;
done:
    interrupted(&t);
    for (int d = 0; d < t.ndevices; d++)
        bench_child_stop(&t.devices[d].child);
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
    pthread_cond_destroy(&t.slot_changed);
    free(t.devices);
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
    if (r->retimed) {
        char runner[512];
        config_text(space, r->best, cfg, sizeof cfg);
        config_text(space, r->runner_up, runner, sizeof runner);
        fprintf(out, "re-timed on one GPU: best %.4f ms  %s\n           runner-up %.4f ms  %s\n",
                r->best_ms, cfg, r->runner_up_ms, runner);
    }
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
