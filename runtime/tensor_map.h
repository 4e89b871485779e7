/* tensor_map.h — what a kernel's TMA tensor maps describe, shared by the compiler (which
   plans them), the bundle (which records them) and every launcher (which encodes them with
   cuTensorMapEncodeTiled). Plain C over libc. */
#ifndef TILE_TENSOR_MAP_H
#define TILE_TENSOR_MAP_H

#include <stddef.h>
#include <stdint.h>

enum { TMAP_MAX_RANK = 5, TMAP_BYTES = 128 };

/* One tensor map a kernel takes, by value, after its shape symbols: it covers tensor
   parameter `param` whole, dims innermost first (the tensor's own order reversed); each
   copy moves box[d] elements along dim d into a tile swizzled in `swizzle`-byte panels
   (32, 64 or 128). Out-of-bounds elements arrive as zeros. */
typedef struct TensorMapSpec {
    uint32_t param;
    uint32_t rank;
    uint32_t box[TMAP_MAX_RANK];
    uint32_t swizzle;
} TensorMapSpec;

/* The arguments of cuTensorMapEncodeTiled for one launch's tensor (base, shape and strides
   in elements, in the tensor's own order). Enumerators are cuda.h's numbers. */
typedef struct TensorMapArgs {
    uint32_t data_type;        /* CU_TENSOR_MAP_DATA_TYPE_UINT8 / UINT16 / UINT32 */
    uint32_t rank;
    void *base;
    uint64_t dims[TMAP_MAX_RANK];
    uint64_t strides[TMAP_MAX_RANK - 1];   /* bytes, dims 1.. */
    uint32_t box[TMAP_MAX_RANK];
    uint32_t element_strides[TMAP_MAX_RANK];
    uint32_t swizzle;          /* CU_TENSOR_MAP_SWIZZLE_32B / 64B / 128B */
} TensorMapArgs;

/* Fills `out`; returns 0, 1 for an empty tensor (nothing is ever copied from it: leave its
   map zeroed), or -1 with the reason in err when TMA cannot describe the tensor
   (a base not 16-byte aligned, a stride not a positive multiple of 16 bytes or over 2^40,
   a dim over 2^32, an innermost stride other than 1). */
int tensor_map_args(const TensorMapSpec *spec, void *base, const int64_t *shape,
                    const int64_t *strides, int esize, TensorMapArgs *out, char *err,
                    size_t errlen);

#endif
