/* dtype.h — the element types of the language and their host-side facts.
   Shared by the front end, the IR, the interpreter and (later) codegen. */
#ifndef TILEC_DTYPE_H
#define TILEC_DTYPE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum DType {
    DT_F32,     /* IEEE binary32 */
    DT_F16,     /* IEEE binary16 */
    DT_BF16,    /* bfloat16: binary32 with the low 16 mantissa bits dropped */
    DT_F8E4M3,  /* OCP FP8 E4M3 ("fn"): no infinities, max 448, NaN = S.1111.111 */
    DT_F8E5M2,  /* OCP FP8 E5M2: IEEE-like, max 57344, has inf and NaN */
    DT_I32,
    DT_I64,
    DT_BOOL,
    DT_COUNT
} DType;

const char *dtype_name(DType t);          /* "bf16" */
bool dtype_from_name(const char *name, DType *out);
int dtype_size(DType t);                  /* bytes per element */
bool dtype_is_float(DType t);             /* f32 f16 bf16 and both fp8 */
bool dtype_is_fp8(DType t);
bool dtype_is_int(DType t);               /* i32 i64 (not bool) */

#endif
