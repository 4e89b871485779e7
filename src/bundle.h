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

typedef struct BundleOptions {
    const char *path;          /* the .tbn to write */
    const char *header_path;   /* the launcher header; NULL: `path` with .h for .tbn */
    const char *name;          /* launcher prefix; NULL: the file name's stem as an identifier */
    const char *kernel;        /* only this kernel (NULL: all) */
    const char *config;        /* --config: tunables, const values, full-axis sizes (D=64|128) */
    const Target *target;
    BundleCompileFn compile;   /* NULL: codegen_compile */
    const char *ptxas;         /* NULL: "ptxas" from PATH when there; "": no cubins */
} BundleOptions;

/* Lowers every kernel for each const value, compiles each variant (config, full-axis sizes,
   align classes vec16 and any), and writes the bundle and the header. Returns an EXIT_*
   code (driver.h) after printing any error. */
int bundle_write_program(Arena *a, Diag *d, const Program *p, const BundleOptions *opts);

#endif
