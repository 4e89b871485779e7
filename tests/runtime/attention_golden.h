/* attention_golden.h — the launcher header tilec build writes for examples/attention.tile
   (bundle_test checks the writer against it; runtime_test calls it). */
#ifndef TILE_BUNDLE_ATTENTION_H
#define TILE_BUNDLE_ATTENTION_H

#include <tile.h>

/* kernel attention: strides in elements; the shape symbols in this order. */
static inline tile_status attention_attention(tile_context *ctx, tile_bundle *bundle, CUstream stream,
    const tile_bf16 *q, int64_t q_s0, int64_t q_s1, int64_t q_s2, int64_t q_s3,
    const tile_bf16 *k, int64_t k_s0, int64_t k_s1, int64_t k_s2, int64_t k_s3,
    const tile_bf16 *v, int64_t v_s0, int64_t v_s1, int64_t v_s2, int64_t v_s3,
    tile_bf16 *o, int64_t o_s0, int64_t o_s1, int64_t o_s2, int64_t o_s3,
    int64_t Z,
    int64_t H,
    int64_t M,
    int64_t D,
    int64_t N,
    float scale,
    bool causal)
{
    void *const pointers[4] = {(void *)q, (void *)k, (void *)v, (void *)o};
    const int64_t strides[16] = {q_s0, q_s1, q_s2, q_s3, k_s0, k_s1, k_s2, k_s3, v_s0, v_s1, v_s2, v_s3, o_s0, o_s1, o_s2, o_s3};
    const int64_t symbols[5] = {Z, H, M, D, N};
    tile_scalar scalars[1] = {{0}};
    scalars[0].f32 = scale;
    const int64_t consts[1] = {(int64_t)causal};
    const tile_launch_values values = {pointers, strides, symbols, scalars, consts};
    return tile_launch_values_at(ctx, bundle, 0, 0xf71e070b2ce01012ull, &values, stream);
}

/* kernel attention on contiguous (row-major) tensors. */
static inline tile_status attention_attention_contiguous(tile_context *ctx, tile_bundle *bundle, CUstream stream,
    const tile_bf16 *q,
    const tile_bf16 *k,
    const tile_bf16 *v,
    tile_bf16 *o,
    int64_t Z,
    int64_t H,
    int64_t M,
    int64_t D,
    int64_t N,
    float scale,
    bool causal)
{
    return attention_attention(ctx, bundle, stream,
        q, H * M * D, M * D, D, 1,
        k, H * N * D, N * D, D, 1,
        v, H * N * D, N * D, D, 1,
        o, H * M * D, M * D, D, 1, Z, H, M, D, N, scale, causal);
}

#endif
