/* driver.h — the command-line driver's shared pieces: exit codes, the front end in one
   call, and the subcommands that live in their own files. */
#ifndef TILEC_DRIVER_H
#define TILEC_DRIVER_H

#include <getopt.h>

#include "codegen.h"
#include "tilec.h"

enum {
    EXIT_OK = 0,
    EXIT_INPUT = 1,      /* diagnostics in the user's input (source, data files, shapes) */
    EXIT_USAGE = 2,      /* bad command line */
};

/* ---- main.c */

/* parse_program + sema_check for one root file; returns the number of errors. */
int front_end(Arena *arena, Diag *diag, const char *path, const Target *target, Program **out);

/* ---- driver.c */

/* The kernel named `name`, or the file's only one when name is NULL; prints why not
   (listing the kernels) and returns NULL. */
const Kernel *choose_kernel(const Program *p, const char *name);

/* Parses the value of a const parameter given on the command line (`causal=true`,
   `split=2`): bool takes true/false/1/0, integers must be in the declared set. Prints
   the error itself and returns -1 on a bad value. */
int parse_const_value(const Param *param, const char *text, int64_t *out);

/* One NAME=VALUE entry of --config text, name and value trimmed of spaces: returns 1 when
   it takes the entry, 0 to leave it in the rest, -1 after printing an error. */
typedef int (*ConfigEntryFn)(void *ctx, const char *name, const char *value);

/* Walks the comma-separated entries of --config text (NULL: none), offering each NAME=VALUE
   to `take`, and copies the entries it leaves (and any without '=') into `rest`, comma
   separated, for config_parse. Returns 0, or -1 after printing a message. */
int config_split(const char *text, ConfigEntryFn take, void *ctx, char *rest, size_t restlen);

/* --seed N (run, bench, tune): a decimal or 0x integer from 0 to 2^64 - 1. Returns 0, or
   -1 after printing why. */
int parse_seed(const char *text, uint64_t *out);

/* EXIT_USAGE after printing why when `output` names the same file as one of the program's
   source files or of the `nextra` other inputs (a table, data files; NULL entries are
   skipped); EXIT_OK otherwise. */
int refuse_output_onto_input(const char *output, const Program *p, const char *const *extra,
                             int nextra);

/* Whether option `val` (a getopt_long val, below OPTION_VALS) is one of the single-valued
   options `single` (0-terminated) given a second time: records it in `seen` and then
   prints "tilec: error: --NAME given twice" (a later one would silently win). */
enum { OPTION_VALS = 512 };
bool option_repeated(const struct option *longopts, const int *single, int val, bool *seen);

/* A limit given on the command line (--max-variants, --max-programs, --max-bytes): a
   positive integer, optionally followed by K, M or G (times 2^10, 2^20, 2^30). False when
   it is not one (or overflows int64). */
bool parse_limit(const char *text, int64_t *out);

/* ---- build.c: `tilec build` */

typedef enum EmitStage { EMIT_NONE, EMIT_AST, EMIT_IR, EMIT_LLVM, EMIT_PTX } EmitStage;

typedef struct BuildRequest {
    const char *path;
    const char *output;      /* -o */
    const char *kernel;      /* --kernel */
    const char *config;      /* --config text */
    bool tuned;              /* --tuned: the tune cache's configs into the dispatch table */
    const char *tuned_from;  /* --tuned-from FILE: an exported table's configs (likewise) */
    EmitStage emit;
    const Target *target;
    int64_t max_variants;    /* --max-variants: most variants a bundle's kernel may need */
} BuildRequest;

int run_build(const BuildRequest *req);

/* The tuner's source hash of a program: FNV-1a over every file it read (path, NUL, text),
   the root first. `tilec tune` keys cache entries by it; `tilec build --tuned` matches them. */
uint64_t program_source_hash(const Program *p);

/* ---- bundle_write.c (bundle.h has the rest): the EMIT_NONE case, -o NAME.tbn */

struct BundleTuned;
int build_bundle(const BuildRequest *req, const Program *p, const struct BundleTuned *tuned,
                 int ntuned, Arena *a, Diag *d);

/* ---- inspect.c: `tilec inspect BUNDLE` */

int cmd_inspect(int argc, char **argv);

/* ---- run.c: `tilec run` (its own options; see its --help) */

int cmd_run(int argc, char **argv);

/* ---- bench.c: `tilec bench` (its own options; see its --help) */

int cmd_bench(int argc, char **argv);

/* ---- tune.c: `tilec tune` over the autotune library (its own options; see its --help) */

int cmd_tune(int argc, char **argv);

#endif
