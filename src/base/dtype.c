/* dtype.c — names, sizes and classes of the element types declared in base.h.
   The numeric conversions between them live in convert.c. */
#include "base.h"

#include <string.h>

typedef struct DTypeInfo {
    const char *name;
    int size;
    bool is_float;
    bool is_fp8;
    bool is_int;
    bool is_unsigned;
} DTypeInfo;

/* Indexed by DType; the order must follow the enum. */
static const DTypeInfo dtype_table[DT_COUNT] = {
    [DT_F32]    = {"f32", 4, true, false, false},
    [DT_F16]    = {"f16", 2, true, false, false},
    [DT_BF16]   = {"bf16", 2, true, false, false},
    [DT_F8E4M3] = {"f8e4m3", 1, true, true, false},
    [DT_F8E5M2] = {"f8e5m2", 1, true, true, false},
    [DT_I32]    = {"i32", 4, false, false, true},
    [DT_I64]    = {"i64", 8, false, false, true},
    [DT_BOOL]   = {"bool", 1, false, false, false},
    [DT_I8]     = {"i8", 1, false, false, true},
    [DT_I16]    = {"i16", 2, false, false, true},
    [DT_U8]     = {"u8", 1, false, false, true, true},
    [DT_U32]    = {"u32", 4, false, false, true, true},
};

static const DTypeInfo *dtype_info(DType t)
{
    if ((int)t < 0 || t >= DT_COUNT)
        return NULL;
    return &dtype_table[t];
}

const char *dtype_name(DType t)
{
    const DTypeInfo *info = dtype_info(t);
    return info ? info->name : "?";
}

bool dtype_from_name(const char *name, DType *out)
{
    for (int i = 0; i < DT_COUNT; i++) {
        if (strcmp(name, dtype_table[i].name) == 0) {
            *out = (DType)i;
            return true;
        }
    }
    return false;
}

int dtype_size(DType t)
{
    const DTypeInfo *info = dtype_info(t);
    return info ? info->size : 0;
}

bool dtype_is_float(DType t)
{
    const DTypeInfo *info = dtype_info(t);
    return info && info->is_float;
}

bool dtype_is_fp8(DType t)
{
    const DTypeInfo *info = dtype_info(t);
    return info && info->is_fp8;
}

bool dtype_is_int(DType t)
{
    const DTypeInfo *info = dtype_info(t);
    return info && info->is_int;
}

bool dtype_is_unsigned(DType t)
{
    const DTypeInfo *info = dtype_info(t);
    return info && info->is_unsigned;
}

int dtype_int_bits(DType t)
{
    return t == DT_BOOL ? 1 : 8 * dtype_size(t);
}

bool dtype_int_fits(DType t, int64_t v)
{
    int bits = dtype_int_bits(t);
    if (bits >= 64)
        return true;
    if (dtype_is_unsigned(t))
        return v >= 0 && v < (INT64_C(1) << bits);
    return v >= -(INT64_C(1) << (bits - 1)) && v < (INT64_C(1) << (bits - 1));
}
