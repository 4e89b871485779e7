/* tune_gpu.h — the GPU backend of `tilec tune` (tune_gpu.c): candidates compiled by codegen
   on the tuner's threads (ptxas rejects spills and assembles them), then checked against a
   reference output and timed on the GPU in the benchmark child. */
#ifndef TILEC_TUNE_GPU_H
#define TILEC_TUNE_GPU_H

#include "autotune.h"
#include "interp.h"

typedef struct TuneGpuBackend TuneGpuBackend;

/* The backend for one space (its kernel and shape). `sets` gives every scalar parameter's
   value (as `tilec bench --set`); inputs are random from `data_seed` (as `tilec bench
   --seed`, default 0). `align` is the class asked for ("vec16", "unit", "any"): candidates
   are compiled for it, or for the weaker class the shape's tensors allow. Fills *backend
   (its ctx is the returned object). NULL with the reason in err. Nothing here opens the
   GPU: only the backend's child_* functions do, in the benchmark child. */
TuneGpuBackend *tune_gpu_backend_new(const TuneSpace *space, const LaunchNamed *sets, int nsets,
                                     uint64_t data_seed, const char *align, TuneBackend *backend,
                                     char *err, size_t errlen);
/* What the backend chose, for the command's header line: "reference: interpreter", ... */
const char *tune_gpu_backend_summary(const TuneGpuBackend *g);
void tune_gpu_backend_free(TuneGpuBackend *g);

#endif
