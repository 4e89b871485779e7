/* hostdata.h — the host-side numeric layer: exact dtype conversions (hostdata.c),
   host tensors in each dtype's own bit format (hostdata.c), and .npy files (npy.c).
   Used by the CPU interpreter and the command line. See docs/numerics.md. */
#ifndef TILEC_HOSTDATA_H
#define TILEC_HOSTDATA_H

#include <stddef.h>
#include <stdint.h>

#include "dtype.h"

/* ---- hostdata.c: conversions ---- */

/* Round x to the float dtype t with round-to-nearest-even and return its bit pattern
   (f32 in 32 bits, f16/bf16 in the low 16, fp8 in the low 8). One routine serves f32
   and f64 inputs because every f32 is exactly a double.
   f32/f16/bf16: IEEE overflow to +-inf, NaN -> canonical quiet NaN with the input's sign.
   fp8 (both): saturating like PTX cvt.rn.satfinite: +-inf and finite overflow -> +-max,
   NaN -> 0x7F. Returns 0 when t is not a float dtype. */
uint32_t dtype_encode_f64(DType t, double x);

/* The exact value of a float dtype's bit pattern (every such value is a double).
   Returns NaN when t is not a float dtype. */
double dtype_decode(DType t, uint32_t bits);

/* x as it reads back after being stored in t (encode then decode). For i32/i64 this is
   convert_f64_to_i32/i64 and for bool 0 or 1; the int result is then rounded to float. */
float round_f32_to(DType t, float x);

/* Float to integer: truncate toward zero, NaN -> 0, out of range saturates to the
   type's min or max (like PTX cvt.rzi.s32.f32 and friends). */
int32_t convert_f64_to_i32(double x);
int64_t convert_f64_to_i64(double x);

/* Float to bool: any nonzero value, NaN included, is true (C and numpy agree). */
bool convert_f64_to_bool(double x);

/* ---- hostdata.c: host tensors ---- */

#define HOST_MAX_RANK 8

/* Elements are stored in the dtype's own bit format: f32 as float, f16/bf16 as
   uint16_t bits, fp8 as uint8_t bits, i32 int32_t, i64 int64_t, bool uint8_t 0/1.
   Strides are in elements and may describe any non-negative layout (C order,
   Fortran order, a transpose, ...). */
typedef struct HostTensor {
    DType dtype;
    int rank;
    int64_t shape[HOST_MAX_RANK];
    int64_t strides[HOST_MAX_RANK];
    void *data;
    size_t nbytes;
} HostTensor;

/* Element count and byte size of a shape; false if rank > 8, a dimension is negative,
   or the product (of the nonzero dimensions, so strides stay representable) times
   itemsize overflows int64_t or size_t. */
bool host_shape_size(int rank, const int64_t *shape, int itemsize, int64_t *count,
                     size_t *nbytes);

/* Allocate a zeroed C-order tensor. Returns 0, or -1 (t zeroed) on a bad shape or when
   out of memory. data is never NULL on success, even with zero elements. */
int host_alloc(HostTensor *t, DType dtype, int rank, const int64_t *shape);

/* Free the data and zero the struct; safe on a zeroed or already freed tensor. */
void host_free(HostTensor *t);

int64_t host_numel(const HostTensor *t);

/* Storage offset (in elements) of an index vector of length t->rank. */
int64_t host_offset(const HostTensor *t, const int64_t *index);

/* Advance index through shape in C (row-major) order; false once it wraps past the
   last element. Start from all zeros (and check numel > 0 first). */
bool host_next_index(int rank, const int64_t *shape, int64_t *index);

/* Element access by storage offset. get returns the exact value (an i64 beyond 2^53
   is rounded to double); set converts through the encoders above. */
double host_get_at(const HostTensor *t, int64_t offset);
void host_set_at(HostTensor *t, int64_t offset, double x);

/* Element access by index vector. */
double host_get(const HostTensor *t, const int64_t *index);
void host_set(HostTensor *t, const int64_t *index, double x);

/* Raw storage bits at an offset, zero-extended (ints as two's complement): no
   conversion, so NaN payloads and the full i64 range survive. */
uint64_t host_get_raw_at(const HostTensor *t, int64_t offset);
void host_set_raw_at(HostTensor *t, int64_t offset, uint64_t bits);

/* Fill every element, visited in C index order so the values do not depend on the
   layout, from splitmix64 streams (one per chunk of 2^20 elements, filled on up to 16
   threads): floats uniform in [-1, 1) after rounding to the dtype, ints in [-8, 8), bool
   0/1. Same seed, same data, whatever the number of threads. */
void host_fill_random(HostTensor *t, uint64_t seed);

/* ---- npy.c ---- */

/* Read a .npy file (versions 1.0, 2.0, 3.0) into a new tensor of dtype target.
   Fortran-order files keep their layout (Fortran strides). Returns 0, or -1 with a
   message naming the path in err (out is left zeroed). Rules in docs/numerics.md. */
int npy_load(const char *path, DType target, HostTensor *out, char *err, size_t errlen);

/* Write a tensor as .npy 1.0 in C order: float dtypes as '<f4' (exact), i32 '<i4',
   i64 '<i8', bool '|b1'. Any strided layout is accepted. Returns 0 or -1 with err. */
int npy_save(const char *path, const HostTensor *t, char *err, size_t errlen);

#endif
