/* bundle.h — the compiler side of kernel bundles (bundle_write.c): a checked Program to a
   .tbn file (runtime/bundle_format.h) and its typed launcher header, and `tilec inspect`
   (inspect.c), which prints a bundle back. */
#ifndef TILEC_BUNDLE_H
#define TILEC_BUNDLE_H

#include "codegen.h"
#include "tilec.h"

/* codegen_compile's shape: the writer calls it once per variant. Tests pass a fake. */
typedef int (*BundleCompileFn)(Arena *a, const struct TirKernel *k, const Variant *v,
                               const Target *t, bool want_llvm, CompiledKernel *out, char *err,
                               size_t errlen);

/* A tuned config to add to the dispatch table (`tilec build --tuned`, `--tuned-from`): a tune
   cache entry already matched to this program's source hash. The writer adds a variant
   compiled with `config` (or reuses an identical one) and a dispatch entry keyed by `gpu`
   and `shape` for the lowering whose const values print as `consts`. */
typedef struct BundleTuned {
    const char *kernel;
    const char *gpu;           /* a device name as cuDeviceGetName gives it */
    const char *consts;        /* bundle_const_key's text: "causal=true" ("" when none) */
    const char *align;         /* "vec16", "unit", "any" */
    const char *shape;         /* "M=4096,K=4096,N=4096": every symbol of the kernel */
    const char *config;        /* "BLOCK_M=128,...,num_warps=8" */
} BundleTuned;

typedef struct BundleOptions {
    const char *path;          /* the .tbn to write */
    const char *header_path;   /* the launcher header; NULL: `path` with .h for .tbn */
    const char *name;          /* launcher prefix; NULL: the file name's stem as an identifier */
    const char *kernel;        /* only this kernel (NULL: all) */
    const char *config;        /* --config: tunables, const values, full-axis sizes (D=64|128) */
    const Target *target;
    BundleCompileFn compile;   /* NULL: codegen_compile */
    const char *ptxas;         /* NULL: "ptxas" from PATH when there; "": no cubins */
    const BundleTuned *tuned;  /* tuned dispatch entries (any kernel; others are skipped) */
    int ntuned;
    int64_t max_variants;      /* most variants one kernel may need; 0: BUNDLE_MAX_VARIANTS */
} BundleOptions;

/* The default limit on a kernel's variants (const combinations x full-axis sizes x align
   classes): each is a compile, so 24 const bools would take days. --max-variants. */
#define BUNDLE_MAX_VARIANTS 256

/* Lowers every kernel for each const value, compiles each variant (config, full-axis sizes,
   align classes vec16 and any), and writes the bundle and the header. Returns an EXIT_*
   code (driver.h) after printing any error. */
/* The const values of one lowering as the tuner keys them: "causal=true,split=2" in
   parameter order, bools as true/false ("" when the kernel has no const parameter). */
void bundle_const_key(const Kernel *k, const int64_t *const_values, char *buf, size_t size);

int bundle_write_program(Arena *a, Diag *d, const Program *p, const BundleOptions *opts);

/* The launcher header beside a bundle: NAME.tbn's is NAME.h, any other path's PATH.h. */
char *bundle_header_path(Arena *a, const char *bundle_path);

#endif
