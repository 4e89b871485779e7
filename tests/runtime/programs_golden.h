/* programs_golden.h — the launcher header tilec build writes for tests/runtime/programs.tile:
   kernels and a program (bundle_test checks the writer against it; runtime_test calls it). */
#ifndef TILE_BUNDLE_PROGRAMS_H
#define TILE_BUNDLE_PROGRAMS_H

#include <tile.h>

/* kernel scale: strides in elements; the shape symbols in this order. */
static inline tile_status programs_scale(tile_context *ctx, tile_bundle *bundle, CUstream stream,
    const float *x, int64_t x_s0, int64_t x_s1,
    float *y, int64_t y_s0, int64_t y_s1,
    int64_t M,
    int64_t N,
    float s)
{
    void *const pointers[2] = {(void *)x, (void *)y};
    const int64_t strides[4] = {x_s0, x_s1, y_s0, y_s1};
    const int64_t symbols[2] = {M, N};
    tile_scalar scalars[1] = {{0}};
    scalars[0].f32 = s;
    const int64_t consts[1] = {0};
    const tile_launch_values values = {pointers, strides, symbols, scalars, consts};
    return tile_launch_values_at(ctx, bundle, 0, 0x0ed425db2d758030ull, &values, stream);
}

/* kernel scale on contiguous (row-major) tensors. */
static inline tile_status programs_scale_contiguous(tile_context *ctx, tile_bundle *bundle, CUstream stream,
    const float *x,
    float *y,
    int64_t M,
    int64_t N,
    float s)
{
    return programs_scale(ctx, bundle, stream,
        x, N, 1,
        y, N, 1, M, N, s);
}

/* kernel add: strides in elements; the shape symbols in this order. */
static inline tile_status programs_add(tile_context *ctx, tile_bundle *bundle, CUstream stream,
    const float *x, int64_t x_s0, int64_t x_s1,
    const float *y, int64_t y_s0, int64_t y_s1,
    float *z, int64_t z_s0, int64_t z_s1,
    int64_t M,
    int64_t N)
{
    void *const pointers[3] = {(void *)x, (void *)y, (void *)z};
    const int64_t strides[6] = {x_s0, x_s1, y_s0, y_s1, z_s0, z_s1};
    const int64_t symbols[2] = {M, N};
    tile_scalar scalars[1] = {{0}};
    const int64_t consts[1] = {0};
    const tile_launch_values values = {pointers, strides, symbols, scalars, consts};
    return tile_launch_values_at(ctx, bundle, 1, 0xe6f0e0c71ff0999aull, &values, stream);
}

/* kernel add on contiguous (row-major) tensors. */
static inline tile_status programs_add_contiguous(tile_context *ctx, tile_bundle *bundle, CUstream stream,
    const float *x,
    const float *y,
    float *z,
    int64_t M,
    int64_t N)
{
    return programs_add(ctx, bundle, stream,
        x, N, 1,
        y, N, 1,
        z, N, 1, M, N);
}

/* kernel shift: strides in elements; the shape symbols in this order. */
static inline tile_status programs_shift(tile_context *ctx, tile_bundle *bundle, CUstream stream,
    const float *x, int64_t x_s0, int64_t x_s1,
    float *y, int64_t y_s0, int64_t y_s1,
    int64_t M,
    int64_t N,
    bool up)
{
    void *const pointers[2] = {(void *)x, (void *)y};
    const int64_t strides[4] = {x_s0, x_s1, y_s0, y_s1};
    const int64_t symbols[2] = {M, N};
    tile_scalar scalars[1] = {{0}};
    const int64_t consts[1] = {(int64_t)up};
    const tile_launch_values values = {pointers, strides, symbols, scalars, consts};
    return tile_launch_values_at(ctx, bundle, 2, 0x8106280244379252ull, &values, stream);
}

/* kernel shift on contiguous (row-major) tensors. */
static inline tile_status programs_shift_contiguous(tile_context *ctx, tile_bundle *bundle, CUstream stream,
    const float *x,
    float *y,
    int64_t M,
    int64_t N,
    bool up)
{
    return programs_shift(ctx, bundle, stream,
        x, N, 1,
        y, N, 1, M, N, up);
}

/* program chain: the bytes of workspace a launch with these sizes needs. */
static inline tile_status programs_chain_workspace_bytes(tile_context *ctx, tile_bundle *bundle,
    int64_t R,
    int64_t C,
    size_t *bytes)
{
    const int64_t symbols[2] = {R, C};
    return tile_program_workspace_bytes_at(ctx, bundle, 0, 0x2845ef3a093a037full, symbols, bytes);
}

/* program chain: strides in elements; the shape symbols in this order; a
   workspace of at least programs_chain_workspace_bytes() bytes of device memory,
   256-byte aligned, for one launch at a time (the caller's, or a stream's). */
static inline tile_status programs_chain(tile_context *ctx, tile_bundle *bundle, CUstream stream,
    void *workspace, size_t workspace_bytes,
    const float *x, int64_t x_s0, int64_t x_s1,
    float *y, int64_t y_s0, int64_t y_s1,
    int64_t R,
    int64_t C,
    float s)
{
    void *const pointers[2] = {(void *)x, (void *)y};
    const int64_t strides[4] = {x_s0, x_s1, y_s0, y_s1};
    const int64_t symbols[2] = {R, C};
    tile_scalar scalars[1] = {{0}};
    scalars[0].f32 = s;
    const int64_t consts[1] = {0};
    const tile_launch_values values = {pointers, strides, symbols, scalars, consts};
    return tile_launch_program_values_at(ctx, bundle, 0, 0x2845ef3a093a037full, &values, workspace,
                                         workspace_bytes, stream);
}

/* program chain on contiguous (row-major) tensors. */
static inline tile_status programs_chain_contiguous(tile_context *ctx, tile_bundle *bundle, CUstream stream,
    void *workspace, size_t workspace_bytes,
    const float *x,
    float *y,
    int64_t R,
    int64_t C,
    float s)
{
    return programs_chain(ctx, bundle, stream, workspace, workspace_bytes,
        x, C, 1,
        y, C, 1, R, C, s);
}

#endif
