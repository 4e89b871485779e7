/* tensor_map.c — a TensorMapSpec and one launch's tensor to cuTensorMapEncodeTiled's
   arguments, with TMA's limits checked first (the driver's own refusal says less). */
#include <stdio.h>
#include <string.h>

#include "tensor_map.h"

int tensor_map_args(const TensorMapSpec *spec, void *base, const int64_t *shape,
                    const int64_t *strides, int esize, TensorMapArgs *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    uint32_t rank = spec->rank;
    if (rank < 1 || rank > TMAP_MAX_RANK) {
        snprintf(err, errlen, "a tensor map of rank %u (TMA takes 1 to %d)", rank, TMAP_MAX_RANK);
        return -1;
    }
    if ((uintptr_t)base % 16) {
        snprintf(err, errlen, "its base is not 16-byte aligned");
        return -1;
    }
    out->data_type = esize == 1 ? 0 : esize == 2 ? 1 : 2;   /* UINT8, UINT16, UINT32: bits moved as is */
    out->rank = rank;
    out->base = base;
    uint64_t span = (uint64_t)esize;   /* bytes the inner dims cover, for dims of one */
    for (uint32_t d = 0; d < rank; d++) {
        int64_t n = shape[rank - 1 - d], st = strides[rank - 1 - d];
        if (n == 0)
            return 1;
        if (n < 0 || (uint64_t)n > (UINT64_C(1) << 32)) {
            snprintf(err, errlen, "dim %u of %lld is outside TMA's 1 .. 2^32", rank - 1 - d, (long long)n);
            return -1;
        }
        out->dims[d] = (uint64_t)n;
        out->box[d] = spec->box[d];
        out->element_strides[d] = 1;
        if (d == 0) {
            if (st != 1 && n > 1) {
                snprintf(err, errlen, "its innermost stride is %lld, not 1", (long long)st);
                return -1;
            }
            span = (uint64_t)esize * (uint64_t)n;
            continue;
        }
        int64_t bytes = st * esize;
        if (n == 1)   /* a dim of one: its stride is never used; any valid one will do */
            bytes = (int64_t)((span + 15) / 16 * 16);
        if (bytes <= 0 || bytes % 16 || bytes >= (INT64_C(1) << 40)) {
            snprintf(err, errlen, "stride %lld of dim %u is not a positive multiple of 16 bytes "
                     "below 2^40", (long long)st, rank - 1 - d);
            return -1;
        }
        out->strides[d - 1] = (uint64_t)bytes;
        span = (uint64_t)bytes * (uint64_t)n;
    }
    out->swizzle = spec->swizzle == 128 ? 3 : spec->swizzle == 64 ? 2 : spec->swizzle == 32 ? 1 : 0;
    return 0;
}
