/* autotune_test.c — the tuner's CPU checks: the benchmark child with a fake backend (a
   candidate that crashes, hangs or computes garbage costs only itself, in a forked and in an
   exec'ed child), the timing policy, ptxas's report, the cache (atomic writes, two
   concurrent writers, a corrupt file, another tilec version, causal kept apart from
   non-causal, export/import) and SIGINT in the middle of a tune.
   usage: autotune_test ROOT [TEST...]   (ROOT: the repository, for examples/) */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "autotune.h"
#include "front.h"

static int failures;
static const char *self_path;

#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            failures++;                                                               \
            printf("  FAIL %s:%d: ", __FILE__, __LINE__);                             \
            printf(__VA_ARGS__);                                                      \
            putchar('\n');                                                            \
        }                                                                             \
    } while (0)

/* ---- a fake backend: the artifact is the Config; the cost is a function of it */

enum { FAKE_DEVICES = 4 };

/* Shared with the forked children (MAP_SHARED): how many candidates run at once, the most
   seen, and how many each device timed. */
typedef struct FakeShared {
    atomic_int running, most_running;
    atomic_int timed_on[FAKE_DEVICES];
} FakeShared;

typedef struct Fake {
    int64_t crash_block_m, crash_warps;     /* this pair segfaults */
    int64_t hang_block_n, hang_block_k;     /* this pair sleeps past the timeout */
    int64_t wrong_block_m, wrong_block_n;   /* this pair computes garbage */
    int64_t fail_compile_block_m;           /* this BLOCK_M fails to compile (0: none) */
    int sleep_ms;                           /* per benchmark */
    int compile_ms;                         /* per compile */
    atomic_int compiling, most_compiling;   /* compiles at once: now, and the most seen */
    const char *started_path;               /* touched when the child starts */
    bool has_reference;
    /* several GPUs: the child's device, a device whose child cannot start, one that hangs
       on every candidate, and counters in memory shared with the children */
    int device, dead_device, hang_device;
    FakeShared *shared;
} Fake;

static double fake_cost(const Config *c)
{
    double t = 1.0;
    t += 0.1 * fabs(log2((double)config_get(c, "BLOCK_M", 64)) - 7);
    t += 0.1 * fabs(log2((double)config_get(c, "BLOCK_N", 64)) - 6);
    t += 0.05 * fabs(log2((double)config_get(c, "BLOCK_K", 32)) - 5);
    t += 0.05 * fabs((double)config_get(c, "num_warps", 4) - 4) / 4;
    t += 0.03 * fabs((double)config_get(c, "num_stages", 2) - 3);
    t += config_get(c, "group_m", 1) == 8 ? 0 : 0.02;
    return t;
}

typedef enum Fault { FAULT_NONE, FAULT_CRASH, FAULT_HANG, FAULT_WRONG, FAULT_COMPILE } Fault;

static Fault fake_fault(const Fake *f, const Config *c)
{
    int64_t bm = config_get(c, "BLOCK_M", 0), bn = config_get(c, "BLOCK_N", 0);
    int64_t bk = config_get(c, "BLOCK_K", 0), w = config_get(c, "num_warps", 0);
    if (bm == f->fail_compile_block_m)
        return FAULT_COMPILE;
    if (bm == f->crash_block_m && w == f->crash_warps)
        return FAULT_CRASH;
    if (bn == f->hang_block_n && bk == f->hang_block_k)
        return FAULT_HANG;
    if (bm == f->wrong_block_m && bn == f->wrong_block_n)
        return FAULT_WRONG;
    return FAULT_NONE;
}

/* The status a candidate's fault earns it. */
static TuneStatus fault_status(const Fake *f, const Config *c)
{
    switch (fake_fault(f, c)) {
    case FAULT_CRASH: return TUNE_CRASHED;
    case FAULT_HANG: return TUNE_TIMEOUT;
    case FAULT_WRONG: return TUNE_WRONG_OUTPUT;
    case FAULT_COMPILE: return TUNE_COMPILE_FAILED;
    default: return TUNE_OK;
    }
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int fake_compile(void *ctx, const Config *config, TuneArtifact *out, char *err, size_t errlen)
{
    Fake *f = ctx;
    memset(out, 0, sizeof *out);
    if (fake_fault(f, config) == FAULT_COMPILE) {
        snprintf(err, errlen, "fake compile failure");
        return -1;
    }
    if (f->compile_ms) {
        int now = atomic_fetch_add(&f->compiling, 1) + 1;
        for (int most = atomic_load(&f->most_compiling);
             now > most && !atomic_compare_exchange_weak(&f->most_compiling, &most, now);)
            ;
        pause_ms(f->compile_ms);
        atomic_fetch_sub(&f->compiling, 1);
    }
    out->data = malloc(sizeof *config);
    memcpy(out->data, config, sizeof *config);
    out->size = sizeof *config;
    return 0;
}

static int fake_start(void *ctx, int device, char *err, size_t errlen)
{
    Fake *f = ctx;
    f->device = device;
    if (device >= 0 && device == f->dead_device) {
        snprintf(err, errlen, "fake device %d is out of order", device);
        return -1;
    }
    if (f->started_path) {
        FILE *s = fopen(f->started_path, "w");
        if (s)
            fclose(s);
    }
    return 0;
}

static int fake_reference(void *ctx, const void *data, size_t size, char *err, size_t errlen)
{
    Fake *f = ctx;
    (void)err;
    (void)errlen;
    f->has_reference = data && size == sizeof(Config);
    return 0;
}

static TuneStatus fake_benchmark(void *ctx, const void *data, size_t size, double best_ms,
                                 BenchTiming *out, char *err, size_t errlen)
{
    Fake *f = ctx;
    (void)best_ms;
    if (!f->has_reference || size != sizeof(Config)) {
        snprintf(err, errlen, "no reference");
        return TUNE_BENCH_FAILED;
    }
    Config c;
    memcpy(&c, data, sizeof c);
    switch (fake_fault(f, &c)) {
    case FAULT_CRASH:   /* the default action: a sanitizer's handler would report slowly,
                           past the test's short timeout on a loaded machine */
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        break;
    case FAULT_HANG: sleep(100); break;
    case FAULT_WRONG: snprintf(err, errlen, "max error 3.5"); return TUNE_WRONG_OUTPUT;
    default: break;
    }
    if (f->device >= 0 && f->device == f->hang_device)
        sleep(100);
    if (f->shared) {
        int now = atomic_fetch_add(&f->shared->running, 1) + 1;
        for (int most = atomic_load(&f->shared->most_running);
             now > most && !atomic_compare_exchange_weak(&f->shared->most_running, &most, now);)
            ;
        if (f->device >= 0 && f->device < FAKE_DEVICES)
            atomic_fetch_add(&f->shared->timed_on[f->device], 1);
    }
    if (f->sleep_ms)
        pause_ms(f->sleep_ms);
    if (f->shared)
        atomic_fetch_sub(&f->shared->running, 1);
    out->median_ms = out->min_ms = fake_cost(&c);
    out->reps = 1;
    return TUNE_OK;
}

static TuneBackend fake_backend(Fake *f)
{
    return (TuneBackend){.ctx = f, .compile = fake_compile, .child_start = fake_start,
                         .child_reference = fake_reference, .child_benchmark = fake_benchmark};
}

/* ---- the kernels */

static TirKernel *lower_example(Arena *a, const char *root, const char *file, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/%s", root, file);
    Diag d = {.out = stderr};
    Program *p = parse_program(a, &d, path);
    SemaOptions opts = {.target_sm = 90};
    if (!p || d.errors || sema_check(a, &d, p, &opts))
        return NULL;
    Kernel *k = program_find_kernel(p, name);
    TirKernel *tk = k ? tir_lower(a, &d, k, NULL) : NULL;
    if (!tk || tir_run_pipeline(tk, &d, NULL) != 0)
        return NULL;
    return tk;
}

static int gemm_space(TuneSpace *s, const TirKernel *k, int64_t size, const char *const *narrow)
{
    int64_t syms[TUNE_MAX_SYMS];
    for (int i = 0; i < k->nsyms; i++)
        syms[i] = size;
    char err[512];
    if (tune_space_init(s, k, syms, err, sizeof err) != 0) {
        printf("  %s\n", err);
        return -1;
    }
    for (int i = 0; narrow && narrow[i]; i++)
        if (tune_space_narrow(s, narrow[i], err, sizeof err) != 0) {
            printf("  %s\n", err);
            return -1;
        }
    return 0;
}

/* ---- tests */

/* Exhaustive over a small gemm space with a crash, a hang, a wrong output and a compile
   failure: each costs only its candidate; every other survivor is measured, and the best
   is the true optimum. */
static void test_child(const TirKernel *gemm, bool exec_child)
{
    static const char *const narrow[] = {"BLOCK_K=32,64", "num_stages=2,3", "group_m=1", NULL};
    TuneSpace space;
    if (gemm_space(&space, gemm, 512, narrow) != 0) {
        failures++;
        return;
    }
    Fake f = {.crash_block_m = 32, .crash_warps = 8, .hang_block_n = 256, .hang_block_k = 64,
              .wrong_block_m = 256, .wrong_block_n = 32, .fail_compile_block_m = 16};
    TuneBackend b = fake_backend(&f);
    const char *argv[] = {self_path, "serve-child", NULL};
    TuneOptions o = {.search = {.strategy = SEARCH_EXHAUSTIVE}, .compile_threads = 4,
                     /* 1 s: a healthy candidate's child must finish inside it on a loaded
                        machine under ASan (0.3 s once timed one out); each hang costs it */
                     .bench_timeout_s = 1.0, .child_exec_argv = exec_child ? argv : NULL};
    TuneResult r;
    int rc = tune_run(&space, &b, &o, &r);
    CHECK(rc == 0, "tune_run failed: %s", r.error);
    TunePruneCounts counts;
    tune_space_count(&space, &counts);
    int expected[TUNE_STATUS_COUNT] = {0};
    double best = INFINITY;
    int mismatched = 0;
    for (int i = 0; i < r.nmeasurements; i++) {
        const TuneMeasurement *m = &r.measurements[i];
        Config c;
        tune_space_config(&space, m->point, &c);
        TuneStatus want = fault_status(&f, &c);
        expected[want]++;
        mismatched += m->status != want;
        if (want == TUNE_OK && fake_cost(&c) < best)
            best = fake_cost(&c);
    }
    CHECK(mismatched == 0, "%d candidates got another status than their fault", mismatched);
    CHECK((uint64_t)r.search.evaluations == counts.survivors, "evaluated %lld of %llu survivors",
          (long long)r.search.evaluations, (unsigned long long)counts.survivors);
    CHECK(expected[TUNE_CRASHED] > 0 && expected[TUNE_TIMEOUT] > 0 && expected[TUNE_WRONG_OUTPUT] > 0 &&
          expected[TUNE_COMPILE_FAILED] > 0, "the space lacks a fault kind (crash %d hang %d wrong %d compile %d)",
          expected[TUNE_CRASHED], expected[TUNE_TIMEOUT], expected[TUNE_WRONG_OUTPUT],
          expected[TUNE_COMPILE_FAILED]);
    CHECK(r.found && r.best_ms == best, "best %g, expected %g", r.best_ms, best);
    CHECK(isfinite(r.default_ms), "the default was not measured");
    printf("  %s child: %d measured (ok %d, crashed %d, timeout %d, wrong %d, compile-failed %d)\n",
           exec_child ? "exec'ed" : "forked", r.nmeasurements, r.status_counts[TUNE_OK],
           r.status_counts[TUNE_CRASHED], r.status_counts[TUNE_TIMEOUT],
           r.status_counts[TUNE_WRONG_OUTPUT], r.status_counts[TUNE_COMPILE_FAILED]);
    if (!exec_child) {
        char *text;
        size_t len;
        FILE *mem = open_memstream(&text, &len);
        tune_print_table(mem, &space, &(TuneOptions){.flops = 2.0 * 512 * 512 * 512, .peak_tflops = 989}, &r);
        fclose(mem);
        CHECK(strstr(text, "speedup") && strstr(text, "crashed"), "table lacks columns:\n%s", text);
        fputs(text, stdout);
        free(text);
    }
    tune_result_free(&r);
}

/* Four fake GPUs: device 1's child cannot start, device 2 hangs on every candidate, devices
   0 and 3 work. Both bad GPUs are dropped with a message, device 2's candidate is timed
   again elsewhere, a candidate that crashes or hangs everywhere fails after its second
   try, every survivor is measured once with the status its fault gives, the two good GPUs
   time candidates at the same time, and the winner, re-timed on one GPU against the
   runner-up, is the true optimum. */
static void test_gpus(const TirKernel *gemm)
{
    static const char *const narrow[] = {"BLOCK_K=32,64", "num_stages=2,3", "group_m=1", NULL};
    TuneSpace space;
    if (gemm_space(&space, gemm, 512, narrow) != 0) {
        failures++;
        return;
    }
    FakeShared *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        CHECK(false, "mmap: %s", strerror(errno));
        return;
    }
    memset(shared, 0, sizeof *shared);
    Fake f = {.crash_block_m = 32, .crash_warps = 8, .hang_block_n = 256, .hang_block_k = 64,
              .wrong_block_m = 256, .wrong_block_n = 32, .fail_compile_block_m = 16,
              .sleep_ms = 10, .dead_device = 1, .hang_device = 2, .shared = shared};
    TuneBackend b = fake_backend(&f);
    static const int devices[FAKE_DEVICES] = {0, 1, 2, 3};
    char *log;
    size_t loglen;
    FILE *out = open_memstream(&log, &loglen);
    TuneOptions o = {.search = {.strategy = SEARCH_EXHAUSTIVE}, .compile_threads = 4,
                     .bench_timeout_s = 1.0, .devices = devices, .ndevices = FAKE_DEVICES,
                     .out = out};
    TuneResult r;
    int rc = tune_run(&space, &b, &o, &r);
    fclose(out);
    CHECK(rc == 0, "tune_run failed: %s", r.error);
    TunePruneCounts counts;
    tune_space_count(&space, &counts);
    double best = INFINITY;
    int mismatched = 0, repeats = 0, faulty = 0;
    for (int i = 0; i < r.nmeasurements; i++) {
        const TuneMeasurement *m = &r.measurements[i];
        Config c;
        tune_space_config(&space, m->point, &c);
        TuneStatus want = fault_status(&f, &c);
        faulty += want == TUNE_CRASHED || want == TUNE_TIMEOUT;
        mismatched += m->status != want;
        for (int j = 0; j < i; j++)
            repeats += memcmp(r.measurements[j].point, m->point, sizeof m->point) == 0;
        if (want == TUNE_OK && fake_cost(&c) < best)
            best = fake_cost(&c);
    }
    CHECK(mismatched == 0, "%d candidates got another status than their fault", mismatched);
    CHECK(repeats == 0, "%d candidates measured twice", repeats);
    CHECK((uint64_t)r.nmeasurements == counts.survivors, "measured %d of %llu survivors",
          r.nmeasurements, (unsigned long long)counts.survivors);
    CHECK(r.devices_dropped == 2, "%d GPUs dropped, expected 2 (the dead and the hanging one)",
          r.devices_dropped);
    CHECK(faulty > 0 && r.retried >= faulty + 1, "%d retries for %d faulty candidates and a "
          "hanging GPU", r.retried, faulty);
    CHECK(strstr(log, "GPU 1 dropped: fake device 1 is out of order") != NULL,
          "no message for the dead GPU:\n%s", log);
    CHECK(strstr(log, "GPU 2 dropped: a candidate hung there that GPU") != NULL,
          "no message for the hanging GPU:\n%s", log);
    CHECK(atomic_load(&shared->most_running) >= 2, "the GPUs never timed two candidates at once");
    int on0 = atomic_load(&shared->timed_on[0]), on3 = atomic_load(&shared->timed_on[3]);
    CHECK(on0 > 0 && on3 > 0 && atomic_load(&shared->timed_on[1]) == 0,
          "timed on devices 0..3: %d %d %d %d", on0, atomic_load(&shared->timed_on[1]),
          atomic_load(&shared->timed_on[2]), on3);
    CHECK(r.retimed && r.found && r.best_ms == best && r.runner_up_ms >= best,
          "re-timed %d: best %g (runner-up %g), expected %g", r.retimed, r.best_ms,
          r.runner_up_ms, best);
    printf("  4 fake GPUs (1 dead, 1 hanging): %d measured, %d retried, %d dropped, timed on "
           "GPU 0 %d and GPU 3 %d, at most %d at once\n", r.nmeasurements, r.retried,
           r.devices_dropped, on0, on3, atomic_load(&shared->most_running));
    free(log);
    munmap(shared, sizeof *shared);
    tune_result_free(&r);
}

/* compile_threads is how many candidates compile at once: 1 compiles each just before it is
   timed, more compile ahead of the exhaustive search while a candidate is timed. */
static void test_jobs(const TirKernel *gemm)
{
    static const char *const narrow[] = {"BLOCK_M=64,128", "BLOCK_N=64,128", "BLOCK_K=64",
                                         "num_stages=2,3", "group_m=1", NULL};
    TuneSpace space;
    if (gemm_space(&space, gemm, 512, narrow) != 0) {
        failures++;
        return;
    }
    TunePruneCounts counts;
    tune_space_count(&space, &counts);
    for (int jobs = 1; jobs <= 4; jobs += 3) {
        Fake f = {.compile_ms = 20, .sleep_ms = 5};
        TuneBackend b = fake_backend(&f);
        TuneOptions o = {.search = {.strategy = SEARCH_EXHAUSTIVE}, .compile_threads = jobs};
        TuneResult r;
        CHECK(tune_run(&space, &b, &o, &r) == 0, "tune_run failed: %s", r.error);
        CHECK((uint64_t)r.nmeasurements == counts.survivors, "jobs %d: %d measured of %llu", jobs,
              r.nmeasurements, (unsigned long long)counts.survivors);
        int most = atomic_load(&f.most_compiling);
        CHECK(jobs == 1 ? most == 1 : most > 1 && most <= jobs,
              "jobs %d: %d candidates compiled at once", jobs, most);
        printf("  jobs %d: %d measured, at most %d compiling at once\n", jobs, r.nmeasurements, most);
        tune_result_free(&r);
    }
}

typedef struct FakeOps {
    const double *times;
    int n, next, resets, flushes;
} FakeOps;

static int ops_reset(void *ctx)
{
    ((FakeOps *)ctx)->resets++;
    return 0;
}

static int ops_flush(void *ctx)
{
    ((FakeOps *)ctx)->flushes++;
    return 0;
}

static int ops_launch(void *ctx, double *ms)
{
    FakeOps *o = ctx;
    *ms = o->times[o->next++ % o->n];
    return 0;
}

static void test_bench_policy(void)
{
    static const double times[] = {5, 1.0, 1.2, 0.9, 1.1, 1.0, 3.0, 1.05};
    FakeOps f = {times, 8, 0, 0, 0};
    BenchOps ops = {ops_reset, ops_flush, ops_launch, &f};
    BenchPolicy p = {.warmup = 1, .min_reps = 5, .max_reps = 7, .early_stop_ratio = 1.3};
    BenchTiming t;
    CHECK(bench_measure(&ops, &p, 2.0, &t) == 0 && !t.early_stopped, "bench_measure failed");
    /* reps are times[1..7]: 1.0 1.2 0.9 1.1 1.0 3.0 1.05 -> median 1.05 */
    CHECK(t.reps == 7 && t.median_ms == 1.05 && t.min_ms == 0.9, "reps %d median %g min %g",
          t.reps, t.median_ms, t.min_ms);
    CHECK(f.resets == 8 && f.flushes == 7, "resets %d (want warm-up + reps = 8), flushes %d (want 7)",
          f.resets, f.flushes);
    FakeOps g = {times, 8, 0, 0, 0};
    ops.ctx = &g;
    CHECK(bench_measure(&ops, &p, 0.5, &t) == 0 && t.early_stopped && t.reps == 5,
          "a candidate twice as slow as the best should stop after min_reps (reps %d)", t.reps);
}

static void test_ptxas(void)
{
    PtxasReport r;
    ptxas_parse_report("ptxas info    : Compiling entry function 'k' for 'sm_90a'\n"
                       "ptxas info    : Function properties for k\n"
                       "    40 bytes stack frame, 36 bytes spill stores, 28 bytes spill loads\n"
                       "ptxas info    : Used 255 registers, used 1 barriers\n", &r);
    CHECK(r.registers == 255 && r.spill_store_bytes == 36 && r.spill_load_bytes == 28,
          "parsed regs %d stores %d loads %d", r.registers, r.spill_store_bytes, r.spill_load_bytes);
    static const char ptx[] = ".version 8.0\n.target sm_90a\n.address_size 64\n"
                              ".visible .entry k(.param .u64 p)\n{\n  ret;\n}\n";
    char err[512];
    CHECK(ptxas_check(ptx, "sm_90a", &r, err, sizeof err) == 0, "ptxas_check: %s", err);
    bool ran = r.ran;
    if (ran)
        CHECK(r.spill_store_bytes == 0 && r.registers > 0, "a trivial kernel: %d registers, %d spilled",
              r.registers, r.spill_store_bytes);
    CHECK(!ran || ptxas_check("not ptx", "sm_90a", &r, err, sizeof err) == -1,
          "ptxas accepted garbage");
    printf("  ptxas %s\n", ran ? "ran" : "absent (parser checked only)");
}

static TuneCacheEntry make_entry(const char *kernel, const char *consts, const char *shape, double ms)
{
    TuneCacheEntry e = {.time_ms = ms, .default_ms = 2 * ms, .evaluations = 10};
    snprintf(e.key.kernel, sizeof e.key.kernel, "%s", kernel);
    snprintf(e.key.source_hash, sizeof e.key.source_hash, "0123456789abcdef");
    snprintf(e.key.consts, sizeof e.key.consts, "%s", consts);
    snprintf(e.key.align, sizeof e.key.align, "vec16");
    snprintf(e.key.shape, sizeof e.key.shape, "%s", shape);
    snprintf(e.key.gpu, sizeof e.key.gpu, "NVIDIA H100 80GB HBM3");
    e.key.sm_count = 132;
    e.key.driver_version = 13000;
    snprintf(e.key.tilec_version, sizeof e.key.tilec_version, "%s", TILEC_VERSION);
    snprintf(e.config, sizeof e.config, "BLOCK_M=128,BLOCK_N=128,num_warps=8");
    snprintf(e.strategy, sizeof e.strategy, "pattern");
    return e;
}

static int table_count(const char *dir, int *other_version)
{
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/tune-cache.json", dir);
    TuneTable t;
    if (autotune_load_table(path, &t, err, sizeof err) != 0) {
        printf("  %s\n", err);
        return -1;
    }
    int n = t.n;
    if (other_version)
        *other_version = t.ignored_other_version;
    autotune_table_free(&t);
    return n;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_cache(void)
{
    char dir[] = "/tmp/tilec-cache-test-XXXXXX";
    char err[512], path[4200];
    if (!mkdtemp(dir)) {
        failures++;
        return;
    }
    snprintf(path, sizeof path, "%s/tune-cache.json", dir);
    /* the location */
    setenv("TILEC_CACHE_DIR", dir, 1);
    char where[4096];
    CHECK(autotune_cache_dir(where, sizeof where, err, sizeof err) == 0 && strcmp(where, dir) == 0,
          "TILEC_CACHE_DIR not honoured: %s", where);
    unsetenv("TILEC_CACHE_DIR");
    /* causal and non-causal stay apart; a better time replaces its own key only */
    TuneCacheEntry plain = make_entry("attention", "causal=false", "Z=4,H=48,M=4096,N=4096,D=64", 1.5);
    TuneCacheEntry causal = make_entry("attention", "causal=true", "Z=4,H=48,M=4096,N=4096,D=64", 0.9);
    CHECK(autotune_cache_store(dir, &plain, stdout, err, sizeof err) == 0, "store: %s", err);
    CHECK(autotune_cache_store(dir, &causal, stdout, err, sizeof err) == 0, "store: %s", err);
    causal.time_ms = 0.8;
    CHECK(autotune_cache_store(dir, &causal, stdout, err, sizeof err) == 0, "store: %s", err);
    TuneCacheEntry got;
    CHECK(autotune_cache_lookup(dir, &plain.key, &got, err, sizeof err) == 1 && got.time_ms == 1.5,
          "the non-causal entry was overwritten (%g)", got.time_ms);
    CHECK(autotune_cache_lookup(dir, &causal.key, &got, err, sizeof err) == 1 && got.time_ms == 0.8,
          "the causal entry was not replaced (%g)", got.time_ms);
    CHECK(table_count(dir, NULL) == 2, "expected 2 entries");
    /* a shape with no entry of its own takes its bucket's */
    TuneKey near = plain.key;
    snprintf(near.shape, sizeof near.shape, "Z=4,H=48,M=4000,N=4000,D=64");
    CHECK(autotune_cache_lookup(dir, &near, &got, err, sizeof err) == 1, "no bucket match");
    snprintf(near.shape, sizeof near.shape, "Z=4,H=48,M=8192,N=4096,D=64");
    CHECK(autotune_cache_lookup(dir, &near, &got, err, sizeof err) == 0, "a wrong bucket matched");
    /* export/import: only this kernel, every field intact */
    TuneCacheEntry gemm = make_entry("gemm", "", "M=4096,N=4096,K=4096", 0.15);
    CHECK(autotune_cache_store(dir, &gemm, stdout, err, sizeof err) == 0, "store: %s", err);
    char exported[4200];
    snprintf(exported, sizeof exported, "%s/attention-table.json", dir);
    CHECK(autotune_export(dir, "attention", exported, err, sizeof err) == 2, "export: %s", err);
    TuneTable t;
    CHECK(autotune_load_table(exported, &t, err, sizeof err) == 0 && t.n == 2, "import: %s", err);
    TuneKey other_gpu = causal.key;
    snprintf(other_gpu.gpu, sizeof other_gpu.gpu, "NVIDIA H200");
    const TuneCacheEntry *e = autotune_table_lookup(&t, &other_gpu, true);
    CHECK(e && e->time_ms == 0.8 && strcmp(e->config, causal.config) == 0 &&
          strcmp(e->key.gpu, "NVIDIA H100 80GB HBM3") == 0 && e->key.sm_count == 132,
          "round trip lost fields");
    CHECK(!autotune_table_lookup(&t, &other_gpu, false), "another GPU matched");
    CHECK(!autotune_table_lookup(&t, &gemm.key, true), "the export holds another kernel");
    autotune_table_free(&t);
    /* another tilec version: kept, never matched */
    write_file(path, "{\"format\": \"tilec-tune-cache\", \"version\": 1, \"entries\": [{\"kernel\": "
               "\"gemm\", \"source_hash\": \"0123456789abcdef\", \"consts\": \"\", \"align\": \"vec16\", "
               "\"shape\": \"M=4096,N=4096,K=4096\", \"gpu\": \"NVIDIA H100 80GB HBM3\", \"sm_count\": 132, "
               "\"driver_version\": 13000, \"tilec_version\": \"0.0.1\", \"config\": \"BLOCK_M=16\", "
               "\"time_ms\": 0.01}]}\n");
    int other = 0;
    CHECK(autotune_cache_lookup(dir, &gemm.key, &got, err, sizeof err) == 0,
          "an entry of tilec 0.0.1 matched");
    CHECK(autotune_cache_store(dir, &gemm, stdout, err, sizeof err) == 0, "store: %s", err);
    CHECK(table_count(dir, &other) == 1 && other == 1, "the other version's entry was dropped");
    /* a corrupt file: reported, set aside, rebuilt */
    write_file(path, "{\"format\": \"tilec-tune-cache\", \"entries\": [{\"kernel\": ");
    char *warn_text;
    size_t warn_len;
    FILE *warn = open_memstream(&warn_text, &warn_len);
    CHECK(autotune_cache_store(dir, &gemm, warn, err, sizeof err) == 0, "store: %s", err);
    fclose(warn);
    char aside[4300];
    snprintf(aside, sizeof aside, "%s.corrupt.1", path);
    CHECK(strstr(warn_text, "corrupt") && access(aside, F_OK) == 0, "corruption not reported: %s", warn_text);
    CHECK(table_count(dir, NULL) == 1, "the cache was not rebuilt");
    free(warn_text);
    /* two concurrent writers, 200 entries each */
    unlink(path);
    pid_t pids[2];
    for (int w = 0; w < 2; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            int bad = 0;
            for (int i = 0; i < 200; i++) {
                char shape[64];
                snprintf(shape, sizeof shape, "M=%d,N=%d,K=64", 1000 * (w + 1) + i, i);
                TuneCacheEntry x = make_entry("gemm", "", shape, 1 + i);
                bad += autotune_cache_store(dir, &x, stderr, err, sizeof err) != 0;
            }
            _exit(bad ? 1 : 0);
        }
    }
    int ok = 1;
    for (int w = 0; w < 2; w++) {
        int st;
        waitpid(pids[w], &st, 0);
        ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    int n = table_count(dir, NULL);
    CHECK(ok && n == 400, "concurrent writers: %d entries of 400 (writers ok: %d)", n, ok);
    printf("  cache: concurrent writers left %d of 400 entries\n", n);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

/* A tune in a child process, interrupted by SIGINT part way: it must exit normally, and the
   cache must hold the best of what it measured. */
static int sigint_child(const TirKernel *gemm, const char *dir)
{
    TuneSpace space;
    if (gemm_space(&space, gemm, 4096, NULL) != 0)
        return 2;
    char started[4200], measured[4200], err[512];
    snprintf(started, sizeof started, "%s/started", dir);
    snprintf(measured, sizeof measured, "%s/measured", dir);
    Fake f = {.sleep_ms = 15, .started_path = started};
    TuneBackend b = fake_backend(&f);
    FILE *log = fopen(measured, "w");
    TuneOptions o = {.search = {.strategy = SEARCH_EXHAUSTIVE}, .compile_threads = 2,
                     .handle_sigint = true, .progress = true, .out = log};
    TuneResult r;
    if (tune_run(&space, &b, &o, &r) != 0 || !log)
        return 2;
    for (int i = 0; i < r.nmeasurements; i++)
        if (r.measurements[i].status == TUNE_OK)
            fprintf(log, "measured %.17g\n", r.measurements[i].time_ms);
    fprintf(log, "interrupted %d\n", r.interrupted);
    fclose(log);
    TuneKey key;
    TuneGpuInfo gpu = {.name = "fake", .sm_count = 1};
    tune_key_make(&key, &space, 42, "", "vec16", &gpu);
    if (tune_store_best(dir, &key, &space, &r, SEARCH_EXHAUSTIVE, stderr, err, sizeof err) != 0)
        return 2;
    int rc = r.interrupted ? 0 : 3;
    tune_result_free(&r);
    return rc;
}

static void test_sigint(const TirKernel *gemm)
{
    char dir[] = "/tmp/tilec-sigint-test-XXXXXX";
    if (!mkdtemp(dir)) {
        failures++;
        return;
    }
    pid_t pid = fork();
    if (pid == 0)
        _exit(sigint_child(gemm, dir));
    char started[4200], measured[4200];
    snprintf(started, sizeof started, "%s/started", dir);
    snprintf(measured, sizeof measured, "%s/measured", dir);
    for (int i = 0; i < 500 && access(started, F_OK) != 0; i++)
        usleep(10000);
    usleep(400000);
    kill(pid, SIGINT);
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the interrupted tune ended with status %d (signal %d)",
          WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    double best = INFINITY;
    int count = 0;
    FILE *f = fopen(measured, "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        double v;
        if (sscanf(line, "measured %lf", &v) == 1) {
            count++;
            best = v < best ? v : best;
        }
    }
    if (f)
        fclose(f);
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/tune-cache.json", dir);
    TuneTable t;
    CHECK(autotune_load_table(path, &t, err, sizeof err) == 0 && t.n == 1, "no cache entry: %s", err);
    if (t.n == 1)
        CHECK(t.entries[0].time_ms == best && count > 2, "cached %g, best measured %g of %d",
              t.entries[0].time_ms, best, count);
    printf("  sigint: %d measured before Ctrl-C, best %g cached\n", count, best);
    autotune_table_free(&t);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

/* Pruning facts the golden files also show, checked by rule. */
static void test_space(const TirKernel *gemm)
{
    TuneSpace s;
    if (gemm_space(&s, gemm, 4096, NULL) != 0) {
        failures++;
        return;
    }
    int p[TUNE_MAX_DIMS];
    Config c;
    config_parse("BLOCK_M=128,BLOCK_N=128,BLOCK_K=64,num_warps=8,num_stages=4,group_m=8", &c, NULL, 0);
    CHECK(tune_space_point_of(&s, &c, p) == 0, "point_of");
    int64_t smem;
    int regs;
    CHECK(tune_space_check(&s, p, &smem, &regs) == PRUNE_NONE && smem == 4 * (128 * 64 + 64 * 128) * 2,
          "128x128x64 x4 stages: smem %lld", (long long)smem);
    config_parse("BLOCK_M=256,BLOCK_N=256,BLOCK_K=128,num_warps=8,num_stages=4,group_m=1", &c, NULL, 0);
    tune_space_point_of(&s, &c, p);
    CHECK(tune_space_check(&s, p, NULL, NULL) == PRUNE_SMEM, "256x256x128 x4 must exceed shared memory");
    config_parse("BLOCK_M=256,BLOCK_N=256,BLOCK_K=16,num_warps=4,num_stages=1,group_m=1", &c, NULL, 0);
    tune_space_point_of(&s, &c, p);
    CHECK(tune_space_check(&s, p, NULL, &regs) == PRUNE_REGISTERS, "256x256 on 4 warps: regs %d", regs);
    config_parse("BLOCK_M=16,BLOCK_N=16,BLOCK_K=16,num_warps=8,num_stages=1,group_m=1", &c, NULL, 0);
    tune_space_point_of(&s, &c, p);
    CHECK(tune_space_check(&s, p, NULL, NULL) == PRUNE_WARPS, "16x16 on 8 warps");
    /* a rule turned off passes its points on to the next rule */
    TunePruneRule rule;
    CHECK(tune_prune_rule_parse("shared-memory", &rule) == 0 && rule == PRUNE_SMEM &&
          tune_prune_rule_parse("smem", &rule) == -1, "rule names");
    s.prune_off[PRUNE_WARPS] = true;
    CHECK(tune_space_check(&s, p, NULL, NULL) == PRUNE_NONE, "16x16 on 8 warps, warps rule off");
    s.prune_off[PRUNE_SMEM] = true;
    config_parse("BLOCK_M=256,BLOCK_N=256,BLOCK_K=128,num_warps=8,num_stages=4,group_m=1", &c, NULL, 0);
    tune_space_point_of(&s, &c, p);
    CHECK(tune_space_check(&s, p, NULL, NULL) == PRUNE_REGISTERS,
          "256x256x128 x4, shared-memory rule off: over the registers");
    memset(s.prune_off, 0, sizeof s.prune_off);
    /* a small shape: oversized blocks and duplicates */
    TuneSpace small;
    gemm_space(&small, gemm, 40, NULL);
    config_parse("BLOCK_M=128,BLOCK_N=64,BLOCK_K=64,num_warps=4,num_stages=1,group_m=1", &c, NULL, 0);
    tune_space_point_of(&small, &c, p);
    CHECK(tune_space_check(&small, p, NULL, NULL) == PRUNE_OVERSIZED_BLOCK, "128 for an extent of 40");
    config_parse("BLOCK_M=64,BLOCK_N=64,BLOCK_K=64,num_warps=4,num_stages=3,group_m=8", &c, NULL, 0);
    tune_space_point_of(&small, &c, p);
    CHECK(tune_space_check(&small, p, NULL, NULL) == PRUNE_DUPLICATE, "3 stages of a 1-iteration loop");
    char err[256];
    CHECK(tune_space_narrow(&small, "BLOCK_M=48", err, sizeof err) == -1 && strstr(err, "not allowed"),
          "narrowing to a value not allowed: %s", err);
    CHECK(tune_space_narrow(&small, "warps=4", err, sizeof err) == -1 && strstr(err, "num_warps"),
          "unknown tunable message lists the names: %s", err);
    CHECK(tune_space_narrow(&small, "num_stages=2..3", err, sizeof err) == 0 &&
          small.dims[4].nvalues == 2, "range narrowing");
    /* flops: 2*M*N*K */
    CHECK(estimate_flops(&s.shape) == 2.0 * 4096 * 4096 * 4096, "gemm flops %g", estimate_flops(&s.shape));
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc >= 2 && strcmp(argv[1], "serve-child") == 0) {
        Fake f = {.crash_block_m = 32, .crash_warps = 8, .hang_block_n = 256, .hang_block_k = 64,
                  .wrong_block_m = 256, .wrong_block_n = 32, .fail_compile_block_m = 16,
                  .dead_device = -1, .hang_device = -1};
        TuneBackend b = fake_backend(&f);
        return bench_child_serve(&b, 3, bench_child_device());
    }
    if (argc < 2) {
        fputs("usage: autotune_test ROOT [space|child|exec|gpus|bench|ptxas|jobs|cache|sigint]...\n",
              stderr);
        return 2;
    }
    Arena arena = {0};
    TirKernel *gemm = lower_example(&arena, argv[1], "gemm.tile", "gemm");
    if (!gemm) {
        puts("FAIL cannot lower examples/gemm.tile");
        return 1;
    }
    static const char *const all[] = {"space", "bench", "ptxas", "jobs", "child", "exec", "gpus",
                                      "cache", "sigint"};
    int ntests = argc > 2 ? argc - 2 : (int)(sizeof all / sizeof all[0]);
    for (int i = 0; i < ntests; i++) {
        const char *name = argc > 2 ? argv[i + 2] : all[i];
        int before = failures;
        if (strcmp(name, "space") == 0) test_space(gemm);
        else if (strcmp(name, "bench") == 0) test_bench_policy();
        else if (strcmp(name, "ptxas") == 0) test_ptxas();
        else if (strcmp(name, "jobs") == 0) test_jobs(gemm);
        else if (strcmp(name, "child") == 0) test_child(gemm, false);
        else if (strcmp(name, "exec") == 0) test_child(gemm, true);
        else if (strcmp(name, "gpus") == 0) test_gpus(gemm);
        else if (strcmp(name, "cache") == 0) test_cache();
        else if (strcmp(name, "sigint") == 0) test_sigint(gemm);
        else {
            printf("unknown test %s\n", name);
            failures++;
        }
        printf("%s %s\n", failures == before ? "PASS" : "FAIL", name);
    }
    arena_free(&arena);
    return failures ? 1 : 0;
}
