/* autotune.h — the tuner as a library: the search space of a kernel and its pruning rules,
   the search strategies, the benchmark child process, the tuning loop over a backend, and
   the on-disk cache of best configs. `tilec tune` (src/cli/tune.c) is a thin command over it;
   tests drive the same loop with a fake backend. docs/tuning.md is the reference. */
#ifndef TILEC_AUTOTUNE_H
#define TILEC_AUTOTUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tir.h"

enum {
    TUNE_MAX_DIMS = 16,     /* tunables one space may search */
    TUNE_MAX_VALUES = 64,   /* allowed values per tunable */
    TUNE_MAX_SYMS = 16,     /* shape symbols (VARIANT_MAX_SYMS) */
};

/* H100/H200 budgets: the opt-in shared memory per block and the registers a thread may
   hold (ptxas's ceiling). */
#define TUNE_SMEM_LIMIT_H100 232448
#define TUNE_REGISTER_LIMIT 255

/* ---- estimate.c: what a kernel needs for one config and shape, from its TIR alone.
   Estimates, not codegen's Schedule: a TuneEstimator lets codegen swap in exact numbers. */

typedef struct TuneShapeInfo {
    const TirKernel *kernel;
    int64_t sym_values[TUNE_MAX_SYMS];   /* per TirKernel.syms index */
} TuneShapeInfo;

/* The largest extent a tile loop variable can have for the shape (`m.end` counts as the
   whole extent of m; tir_eval_scalar's arithmetic), or -1 when it depends on a scalar
   parameter or divides by zero. */
int64_t estimate_loop_extent(const TuneShapeInfo *s, int loopvar);
/* The size of a tile axis under a config: a block size, a full axis padded to a power of
   two, or 1. */
int64_t estimate_axis_size(const TuneShapeInfo *s, const Config *c, Axis axis);
/* Shared memory: for each dot operand loaded from memory, its tile bytes, times
   num_stages when the load is inside the dot's sequential loop (pipelined) and once when
   it is loop-invariant; operands from registers (attention's p) cost none. */
int64_t estimate_smem_bytes(const TuneShapeInfo *s, const Config *c);
/* Registers per thread: the accumulators and carried tiles spread over the threads, the
   tensor-core operand fragments of one k-step, and a fixed 32 for addresses and indices. */
int estimate_registers(const TuneShapeInfo *s, const Config *c);
/* The largest dot result tile (rows*cols), 0 when the kernel has no dot; with rows/cols. */
int64_t estimate_largest_dot(const TuneShapeInfo *s, const Config *c, int64_t *rows,
                             int64_t *cols);
/* The largest tile of any op (elements). */
int64_t estimate_largest_tile(const TuneShapeInfo *s, const Config *c);
/* Floating-point operations of one launch: 2*M*N*K per dot over its enclosing loops (an
   extent bounded by `v.end` counts half, as causal attention does). 0 without dots. */
double estimate_flops(const TuneShapeInfo *s);
/* The operand dtype the kernel's dots multiply in (after their prologues): fp8 when any
   dot's A is fp8, else the first dot's; DT_COUNT without dots. Picks the peak to compare
   with. */
DType estimate_dot_dtype(const TirKernel *k);

/* Replaceable estimates: codegen can plug in its Schedule's exact numbers. */
typedef struct TuneEstimator {
    int64_t (*smem_bytes)(const TuneShapeInfo *s, const Config *c, void *ctx);
    int (*registers)(const TuneShapeInfo *s, const Config *c, void *ctx);
    void *ctx;
} TuneEstimator;

/* ---- space.c: the search space of one kernel for one shape. A point is an index vector:
   point[d] indexes dims[d].values. Tunables not searched keep their default. */

typedef struct TuneDim {
    const char *name;                  /* the tunable's name (TirTunable.name) */
    TunableKind kind;
    int tunable;                       /* TirKernel.tunables index */
    int64_t values[TUNE_MAX_VALUES];   /* ascending */
    int nvalues;
    int default_index;                 /* the default's index, or 0 when narrowed away */
} TuneDim;

typedef enum TunePruneRule {
    PRUNE_NONE = -1,
    PRUNE_OVERSIZED_BLOCK = 0, /* a block >= 2x the next power of two of its extent */
    PRUNE_DUPLICATE,           /* equal to a smaller point after clamping to the shape */
    PRUNE_WARPS,               /* fewer than one mma tile (16x8) per warp */
    PRUNE_SMEM,                /* shared-memory estimate over the limit */
    PRUNE_REGISTERS,           /* register estimate over the limit */
    PRUNE_RULE_COUNT
} TunePruneRule;

const char *tune_prune_rule_name(TunePruneRule r);   /* "oversized-block", ... */
int tune_prune_rule_parse(const char *name, TunePruneRule *out);   /* -1 if unknown */

typedef struct TuneSpace {
    TuneShapeInfo shape;
    int ndims;
    TuneDim dims[TUNE_MAX_DIMS];
    int64_t smem_limit;                /* bytes per block */
    int register_limit;                /* per thread */
    TuneEstimator estimator;           /* defaults: estimate.c */
    bool no_prune;                     /* keep every point (rules still computed) */
    bool prune_off[PRUNE_RULE_COUNT];  /* rules tune_space_check skips (--prune-off) */
} TuneSpace;

/* The space of a lowered kernel (tunables with their allowed values, already narrowed by
   the source) for a shape: sym_values per TirKernel.syms index, every one given. */
int tune_space_init(TuneSpace *s, const TirKernel *k, const int64_t *sym_values, char *err,
                    size_t errlen);
/* Narrows one tunable from the command line: "BLOCK_M=64,128", "num_stages=2..4"
   (a range keeps the allowed values inside it). Values must already be allowed. */
int tune_space_narrow(TuneSpace *s, const char *spec, char *err, size_t errlen);
uint64_t tune_space_size(const TuneSpace *s);
/* The space's identity for the cache: FNV-1a over its tunables and their values, the
   limits and the pruning rules turned off (not the shape, which the key holds itself). */
uint64_t tune_space_hash(const TuneSpace *s);
/* point <-> mixed-radix index (dims[0] varies slowest). */
uint64_t tune_space_index(const TuneSpace *s, const int *point);
void tune_space_point(const TuneSpace *s, uint64_t index, int *point);
/* The default config's point. */
void tune_space_default(const TuneSpace *s, int *point);
/* A resolved Config: every tunable bound (searched ones from the point). */
void tune_space_config(const TuneSpace *s, const int *point, Config *out);
/* The point a config names (every searched tunable must be bound to an allowed value). */
int tune_space_point_of(const TuneSpace *s, const Config *c, int *point);
/* The point with each value clamped to what the shape can use (a block to its extent,
   num_stages to the iterations of the longest sequential loop, group_m to the grid's
   rows): the smallest point that compiles to the same kernel. */
void tune_space_canonical(const TuneSpace *s, const int *point, int *canonical);
/* The first rule that removes a point, or PRUNE_NONE; smem/regs receive the estimates. */
TunePruneRule tune_space_check(const TuneSpace *s, const int *point, int64_t *smem, int *regs);

typedef struct TunePruneCounts {
    uint64_t total, survivors;
    uint64_t pruned[PRUNE_RULE_COUNT];
} TunePruneCounts;

/* Walks the space once (odometer order) and counts. */
void tune_space_count(const TuneSpace *s, TunePruneCounts *out);
/* `tilec tune --space`: the tunables, what each rule pruned, and the survivors with their
   estimates (the first max_listed of them; 0: every one). */
void tune_space_print(FILE *out, const TuneSpace *s, uint64_t max_listed);

/* ---- search.c: strategies over index vectors. Evaluations are memoised (a point is
   evaluated once; a repeat costs nothing); invalid points are never evaluated. */

typedef enum SearchStrategy {
    SEARCH_EXHAUSTIVE, /* every valid point in index order */
    SEARCH_RANDOM,     /* uniform samples without repeats */
    SEARCH_PATTERN,    /* random seeding, then compass search with shrinking steps; restarts */
    SEARCH_DE,         /* random seeding, differential evolution, a compass polish at the end */
    SEARCH_STRATEGY_COUNT
} SearchStrategy;

const char *search_strategy_name(SearchStrategy s);
int search_strategy_parse(const char *name, SearchStrategy *out);   /* -1 if unknown */

typedef struct SearchProblem {
    int ndims;
    int sizes[TUNE_MAX_DIMS];
    /* A time (lower is better), +inf for a failed point. Required. */
    double (*eval)(const int *point, void *ctx);
    bool (*valid)(const int *point, void *ctx);                  /* NULL: every point */
    /* Points about to be evaluated, so a tuner can compile them in parallel: point i is
       points[i * TUNE_MAX_DIMS ...]. */
    void (*prefetch)(const int *points, int npoints, void *ctx); /* may be NULL */
    /* Asked before each evaluation: true stops the search (SIGINT, a target reached). */
    bool (*should_stop)(void *ctx);                              /* may be NULL */
    /* Several points at once (the tuner's GPUs time them in parallel): values[i] for point
       i (points[i * TUNE_MAX_DIMS ...]), +inf for a failed one. With batch > 1 the
       strategies hand over up to `batch` points that do not depend on each other's values
       (a window of the exhaustive order, random draws, a compass poll, a DE generation);
       the memo, the budget and the best are kept as for one at a time. NULL or batch <= 1:
       eval, one point at a time. */
    void (*eval_batch)(const int *points, int n, double *values, void *ctx);
    int batch;
    void *ctx;
} SearchProblem;

typedef struct SearchOptions {
    SearchStrategy strategy;
    uint64_t seed;
    int64_t max_evals;         /* distinct evaluations; 0: no limit */
    double budget_s;           /* wall clock; 0: no limit */
    const int *start;          /* evaluated first when valid (the default config); may be NULL */
} SearchOptions;

typedef enum SearchStop {
    SEARCH_DONE,      /* the strategy finished (space exhausted, converged) */
    SEARCH_BUDGET,    /* evaluation or wall-clock budget spent */
    SEARCH_STOPPED,   /* should_stop said so */
} SearchStop;

typedef struct SearchResult {
    int best[TUNE_MAX_DIMS];
    double best_value;         /* +inf when nothing succeeded */
    int64_t evaluations;       /* distinct points evaluated */
    SearchStop stop;
    double elapsed_s;
} SearchResult;

int search_run(const SearchProblem *p, const SearchOptions *o, SearchResult *out);

/* ---- bench.c: the timing policy (warm-up, L2 flush, target reset, median, early stop),
   over operations a GPU backend supplies. */

typedef struct BenchOps {
    int (*reset_targets)(void *ctx);     /* fill declared reduction targets with identity */
    int (*flush_l2)(void *ctx);          /* evict the inputs from L2 */
    int (*launch_timed)(void *ctx, double *ms);  /* one launch, timed with events */
    void *ctx;
} BenchOps;

typedef struct BenchPolicy {
    int warmup;              /* untimed launches first */
    int min_reps, max_reps;
    double max_seconds;      /* stop adding reps after this much time (after min_reps) */
    double early_stop_ratio; /* after min_reps: median > ratio * best_so_far stops (e.g. 1.3) */
} BenchPolicy;

BenchPolicy bench_policy_default(void);

typedef struct BenchTiming {
    double median_ms, min_ms;
    int reps;
    bool early_stopped;     /* clearly slower than the best so far: fewer reps */
} BenchTiming;

/* Returns 0, or -1 when an op failed. best_so_far_ms <= 0 or inf: no early stop. */
int bench_measure(const BenchOps *ops, const BenchPolicy *p, double best_so_far_ms,
                  BenchTiming *out);

/* ---- ptxas.c: CUDA's assembler on PTX text, the one runner the bundle writer (cubins)
   and the tuner (spill report, candidate machine code) use. */

typedef struct PtxasReport {
    int registers;
    int spill_store_bytes, spill_load_bytes;
    bool serialised;        /* a C7508/C7510/C7511/C7515/C7517/C7519 note: wgmma serialised or
                               waits injected, so the config is slow whatever it measures */
    bool ran;               /* false: no ptxas on PATH (nothing is rejected) */
} PtxasReport;

/* Parses `ptxas -v` output ("Used N registers", "N bytes spill stores/loads"). */
void ptxas_parse_report(const char *text, PtxasReport *out);
/* The ptxas on PATH, else the CUDA toolkit's (/usr/local/cuda/bin), in buf; NULL when
   neither. */
const char *ptxas_find(char *buf, size_t size);
/* Runs `PTXAS -arch=ARCH [-v] -o OUT IN` on the PTX in a temp dir; `ptxas` is the program
   (a bare name is looked up on PATH), NULL for ptxas_find's. With `report`, -v and its
   figures; with `cubin`, the machine code (*cubin malloc'ed, loadable with
   cuModuleLoadData, and *cubin_size). Returns 0 (report->ran false and no cubin when there
   is no ptxas), or -1 with the reason in err (ptxas's log when it rejected the PTX). */
int ptxas_assemble(const char *ptxas, const char *ptx, const char *arch, PtxasReport *report,
                   void **cubin, size_t *cubin_size, char *err, size_t errlen);
/* ptxas_assemble for the report alone. */
int ptxas_check(const char *ptx, const char *arch, PtxasReport *report, char *err,
                size_t errlen);

/* ---- gpu.c: the GPU as the tuner sees it, and the table of peaks. */

typedef struct TuneGpuInfo {
    char name[256];        /* "NVIDIA H100 80GB HBM3" */
    int sm_count;
    int driver_version;
    double peak_tflops;    /* dense, for the dtype of the kernel's dots (0: unknown) */
} TuneGpuInfo;

/* Opens libtile's context (the CUDA driver) in a short-lived child (so this process never
   initialises CUDA) and reads device 0. Returns 0, or -1 with the reason (no driver, no
   device) in err. */
int tune_gpu_probe(TuneGpuInfo *out, char *err, size_t errlen);
/* The same for GPU `device` (a driver ordinal; -1: device 0 unpinned), with the number of
   GPUs the driver sees in *count (may be NULL; with a device, 1: the one pinned). */
int tune_gpu_probe_device(int device, TuneGpuInfo *out, int *count, char *err, size_t errlen);
/* Dense (no sparsity) peaks of a device by name: bf16/f16 and fp8 tensor-core TFLOP/s
   and memory TB/s, for `tilec bench` and the tuner's % of peak; false for a device not
   in the table. */
typedef struct GpuPeak {
    const char *match;         /* substring of the device name */
    double bf16_tflops, fp8_tflops, mem_tbps;
    const char *source;
} GpuPeak;
bool gpu_peak_lookup(const char *device_name, GpuPeak *out);
/* The tensor-core peak for a GPU name and a dot operand dtype (0: unknown). */
double tune_gpu_peak_tflops(const char *gpu_name, DType operand);

/* ---- tuner.c + bench_child.c: the tuning loop over a backend. */

typedef enum TuneStatus {
    TUNE_OK,
    TUNE_PRUNED,           /* removed before compiling */
    TUNE_COMPILE_FAILED,
    TUNE_SPILLS,           /* ptxas reported spills */
    TUNE_SERIALISED,       /* ptxas serialised the wgmmas or injected waits (C7508-C7519) */
    TUNE_CRASHED,          /* the benchmark child died (illegal address, abort, ...) */
    TUNE_TIMEOUT,          /* the benchmark child hung and was killed */
    TUNE_WRONG_OUTPUT,     /* differs from the reference */
    TUNE_BENCH_FAILED,     /* the backend reported a failure */
    TUNE_INTERRUPTED,      /* SIGINT while it ran: not measured */
    TUNE_STATUS_COUNT
} TuneStatus;

const char *tune_status_name(TuneStatus s);

/* A compiled candidate as bytes: what the child needs to load and launch it (PTX plus the
   backend's launch facts). Sent over a socket to the child. */
typedef struct TuneArtifact {
    void *data;               /* malloc'ed; the tuner frees it */
    size_t size;
    int spill_bytes;          /* from ptxas when the backend ran it; > 0 rejects */
    bool serialised;          /* PtxasReport.serialised: rejects */
    int registers;
} TuneArtifact;

/* What a GPU (or a test's fake) supplies. compile runs on the parent's compile threads and
   must be thread-safe; the child_* functions run only in the benchmark child process, which
   opens the GPU itself (the parent never initialises CUDA, so the child can be restarted). */
typedef struct TuneBackend {
    void *ctx;
    int (*compile)(void *ctx, const Config *config, TuneArtifact *out, char *err, size_t errlen);
    /* `device`: the GPU the child is pinned to (TuneOptions.devices; -1 unpinned). A pinned
       child finds CUDA_VISIBLE_DEVICES naming that GPU alone, so device 0 is it. */
    int (*child_start)(void *ctx, int device, char *err, size_t errlen);
    /* The reference output: the default config's artifact (NULL: the backend's own, e.g.
       the interpreter's). Called after every (re)start before any benchmark. */
    int (*child_reference)(void *ctx, const void *data, size_t size, char *err, size_t errlen);
    /* Checks the output against the reference, then times. */
    TuneStatus (*child_benchmark)(void *ctx, const void *data, size_t size, double best_ms,
                                  BenchTiming *out, char *err, size_t errlen);
    void (*child_stop)(void *ctx);   /* may be NULL */
} TuneBackend;

/* The benchmark child: a fork of this process (or, with exec_argv, a fresh exec of it that
   calls bench_child_serve on fd 3) serving requests over a socket. */
typedef struct BenchChild {
    const TuneBackend *backend;
    const char *const *exec_argv;  /* NULL: fork only */
    int device;                     /* the GPU ordinal it is pinned to; -1: not pinned */
    char env_visible[160];          /* "CUDA_VISIBLE_DEVICES=..." for it (bench_child_pin) */
    char env_device[48];            /* "TILEC_BENCH_DEVICE=N": an exec'ed child's device */
    double timeout_s;               /* per request; the child is killed past it */
    int pid;
    int sock;
    int restarts;
    const void *reference;          /* sent after every start */
    size_t reference_size;
    char error[512];                /* why the child could not start */
} BenchChild;

/* Pins the child to GPU `device` (an ordinal as the driver counts them in this process:
   under a CUDA_VISIBLE_DEVICES list, its device-th entry). Call before the first start. */
void bench_child_pin(BenchChild *c, int device);
/* The CUDA_VISIBLE_DEVICES value that leaves a child GPU `device` alone ("3", or the
   device-th entry of this process's own list). */
void bench_visible_entry(int device, char *buf, size_t size);
int bench_child_start(BenchChild *c);
/* Benchmarks one artifact. A crash or a timeout kills/reaps the child (restarted on the next
   call) and costs only this candidate. interrupt_fd (>= 0): readable means stop waiting
   (TUNE_INTERRUPTED). */
TuneStatus bench_child_run(BenchChild *c, const void *data, size_t size, double best_ms,
                           int interrupt_fd, BenchTiming *out, char *msg, size_t msglen);
void bench_child_stop(BenchChild *c);
/* The child's loop: serves requests on fd until told to quit. `device` goes to child_start
   (an exec'ed child reads it with bench_child_device). */
int bench_child_serve(const TuneBackend *b, int fd, int device);
/* In an exec'ed child: the device its parent pinned it to (TILEC_BENCH_DEVICE), or -1. */
int bench_child_device(void);

typedef struct TuneMeasurement {
    int point[TUNE_MAX_DIMS];
    TuneStatus status;
    double time_ms;         /* +inf unless TUNE_OK */
    bool early_stopped;
} TuneMeasurement;

typedef struct TuneOptions {
    SearchOptions search;
    /* Compiles at once: the search's thread (it compiles a point it needs that no thread
       has started) and compile_threads - 1 threads compiling prefetched points ahead; 1
       compiles each candidate just before it is timed. 0: the number of CPUs. */
    int compile_threads;
    double bench_timeout_s;    /* per candidate; 0: 10 s */
    const char *const *child_exec_argv;  /* see BenchChild */
    /* The GPUs (driver ordinals) that time candidates, one benchmark child pinned to each;
       NULL or ndevices 0: one child, not pinned. With several, the search hands over
       batches and each GPU times the next candidate of the batch; a candidate that crashes
       or hangs is retried once on another GPU; a GPU whose child cannot start, or that hung
       on a candidate another GPU then timed, or crashed twice on candidates another GPU
       then timed, is dropped with a message; and the winner is re-timed on the first GPU
       still in use against the runner-up. The GPUs must be of one model. */
    const int *devices;
    int ndevices;
    bool handle_sigint;        /* SIGINT stops the search (keeps what is measured) */
    bool progress;             /* progress bar on a tty, plain lines otherwise */
    FILE *out;                 /* progress and the table; NULL: stderr */
    double flops;              /* per launch, for TFLOP/s (0: not shown) */
    double peak_tflops;        /* for % of peak (0: not shown) */
    int top;                   /* rows in the table; 0: 5 */
} TuneOptions;

typedef struct TuneResult {
    bool found;                /* a point measured TUNE_OK */
    int best[TUNE_MAX_DIMS];
    double best_ms;
    double default_ms;         /* +inf when the default failed or was not measured */
    bool interrupted;          /* SIGINT stopped it */
    SearchResult search;
    TuneMeasurement *measurements;   /* every finished measurement (malloc'ed) */
    int nmeasurements;
    int status_counts[TUNE_STATUS_COUNT];
    double compile_s;          /* summed over threads */
    int devices_used;          /* GPUs that timed candidates (1 without TuneOptions.devices) */
    int devices_dropped;
    int retried;               /* candidates timed again on another GPU */
    bool retimed;              /* the winner and the runner-up were re-timed on one GPU */
    int runner_up[TUNE_MAX_DIMS];
    double runner_up_ms;       /* its re-timed time (+inf when not retimed) */
    char error[512];           /* why the tune could not run (no GPU, child failed) */
} TuneResult;

/* Searches the space: compiles candidates on threads, benchmarks them in the child,
   measures the default config first (its output is the reference). Returns 0 when the
   search ran (even if interrupted), -1 when it could not (result->error). */
int tune_run(const TuneSpace *space, const TuneBackend *backend, const TuneOptions *o,
             TuneResult *result);
/* The table: the top configs with time, TFLOP/s, % of peak and speedup over the default. */
void tune_print_table(FILE *out, const TuneSpace *space, const TuneOptions *o,
                      const TuneResult *r);
void tune_result_free(TuneResult *r);

/* ---- cache.c: best configs on disk, JSON (jansson). One file, tune-cache.json, under
   $TILEC_CACHE_DIR, else $XDG_CACHE_HOME/tilec, else $HOME/.cache/tilec. Writers take
   an flock on tune-cache.lock and replace the file atomically (temp file + rename). */

typedef struct TuneKey {
    char kernel[128];
    char source_hash[24];      /* 16 hex digits (FNV-1a over every source file) */
    char consts[256];          /* "causal=true" ("" when none): causal never meets non-causal */
    char align[16];            /* "vec16", "unit", "any" */
    char shape[256];           /* "M=4096,N=4096,K=4096" */
    char gpu[256];
    int sm_count;
    int driver_version;
    char tilec_version[32];
    char space[24];            /* tune_space_hash in hex; "" (older entries): unknown. Not
                                  compared when storing: a new tune replaces the entry */
} TuneKey;

typedef struct TuneCacheEntry {
    TuneKey key;
    char config[512];          /* "BLOCK_M=128,BLOCK_N=128,..." */
    double time_ms;
    double default_ms;         /* the default config's time (0: unknown) */
    char strategy[16];
    int evaluations;
    char tuned_at[32];         /* "2026-12-06T17:57:47Z" (UTC); "" when not recorded */
} TuneCacheEntry;

typedef struct TuneTable {
    TuneCacheEntry *entries;
    int n;
    int ignored_other_version; /* entries skipped because another tilec wrote them */
} TuneTable;

/* The directory (created when missing). Returns 0, or -1 with a message. */
int autotune_cache_dir(char *buf, size_t size, char *err, size_t errlen);
/* The cache file of a cache directory: DIR/tune-cache.json. */
void autotune_cache_path(const char *dir, char *buf, size_t size);
/* The shape rounded up to powers of two ("M=4096,N=4096"): entries of one bucket serve a
   shape that has no exact entry. */
void autotune_shape_bucket(const char *shape, char *out, size_t size);

/* Adds or replaces the entry with the same key. Malformed entries are reported on `warn`
   (may be NULL) and moved to a new tune-cache.json.corrupt.N (the last three are kept); the
   good ones stay. A file that is not a tune cache at all is moved there whole. A cache
   that is not a regular file is an error (-1), left alone. */
int autotune_cache_store(const char *dir, const TuneCacheEntry *e, FILE *warn, char *err,
                         size_t errlen);
/* The entry for a key: exact shape first, else the same shape bucket. Entries of another
   tilec version never match. Returns 1 found, 0 not found, -1 error. */
int autotune_cache_lookup(const char *dir, const TuneKey *key, TuneCacheEntry *out,
                          char *err, size_t errlen);
/* Reads a cache file or an exported table (same format). Entries from another tilec
   version are skipped and counted. A missing file, a malformed entry or one whose GPU is
   "*" is an error naming the entry. */
int autotune_load_table(const char *path, TuneTable *out, char *err, size_t errlen);
/* The best entry of a table for a key; with any_gpu the GPU fields are not compared (a build
   machine picking for a known target). NULL when none. */
const TuneCacheEntry *autotune_table_lookup(const TuneTable *t, const TuneKey *key,
                                            bool any_gpu);
/* The entry an identical tune would have stored: the same kernel, source hash, const
   values, alignment class, exact shape, GPU model (name and SM count), tilec version and
   space (an entry of unknown space never matches). NULL when none. */
const TuneCacheEntry *autotune_table_same_tune(const TuneTable *t, const TuneKey *key);
void autotune_table_free(TuneTable *t);
/* The key of a tune: the space's kernel and shape, the source hash, const values ("causal=true"),
   alignment class and GPU; tilec_version is this tilec's. */
void tune_key_make(TuneKey *key, const TuneSpace *space, uint64_t source_hash,
                   const char *consts, const char *align, const TuneGpuInfo *gpu);
/* Stores the result's best config (every tunable bound) under key; nothing when no point
   succeeded. Returns 0, or -1 with a message. */
int tune_store_best(const char *dir, const TuneKey *key, const TuneSpace *space,
                    const TuneResult *r, SearchStrategy strategy, FILE *warn, char *err,
                    size_t errlen);
/* Writes the cache entries of `kernel` (every shape, GPU, const value) to a portable file
   in the same format (an OutFile). Returns the number written (0: none, and no file is
   written), or -1. */
int autotune_export(const char *dir, const char *kernel, const char *path, char *err,
                    size_t errlen);

/* Merges tables (caches or exported tables, this tilec's entries) into a new table at `out`,
   written atomically as the cache is. Entries of one key (kernel, source hash, consts,
   alignment, shape, GPU name, SM count and driver, tilec version) are one case: the faster
   measured time wins, the earlier input on a tie; a conflict (different configs) is
   reported on `report` (may be NULL) naming both inputs. Entries of different GPUs are never
   compared. An input that is missing or malformed is an error naming it, and nothing is
   written. Returns the number of entries written, or -1. */
int autotune_merge_tables(const char *out, const char *const *inputs, int ninputs,
                          FILE *report, char *err, size_t errlen);

/* Removes every entry of the cache, or those of `kernel`, under the lock, and rewrites the
   file atomically. A cache that is not one, or has a malformed entry, is an error naming
   it, left alone. Returns how many were removed, or -1. */
int autotune_cache_clear(const char *dir, const char *kernel, char *err, size_t errlen);

#endif
