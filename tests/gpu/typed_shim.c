/* typed_shim.c — a shared object over attention.h's typed launcher, so that
   typed_torch.py can call it on torch tensors (strided views through the stride
   arguments) and capture it into a torch CUDA graph. Test-only glue. */
#include <stdio.h>
#include <stdlib.h>

#include "attention.h"

typedef struct Shim {
    tile_context *ctx;
    tile_bundle *bundle;
} Shim;

const char *shim_message(const Shim *h) { return tile_error_message(h->ctx); }

/* NULL on failure (the reason on stderr). */
Shim *shim_open(const char *path, int preload)
{
    Shim *h = calloc(1, sizeof *h);
    tile_status s = tile_context_create(&h->ctx, NULL);
    if (s == TILE_OK)
        s = tile_bundle_load_file(h->ctx, path, &h->bundle);
    if (s == TILE_OK && preload)
        s = tile_bundle_preload(h->ctx, h->bundle);
    if (s != TILE_OK) {
        fprintf(stderr, "shim_open: %s: %s\n", tile_status_string(s), tile_error_message(h->ctx));
        tile_bundle_free(h->bundle);
        tile_context_destroy(h->ctx);
        free(h);
        return NULL;
    }
    return h;
}

void shim_close(Shim *h)
{
    tile_bundle_free(h->bundle);
    tile_context_destroy(h->ctx);
    free(h);
}

/* zhmdn: Z, H, M, D, N; each stride array holds 4 strides in elements. */
int shim_attention(Shim *h, CUstream stream, const void *q, const int64_t *qs, const void *k,
                   const int64_t *ks, const void *v, const int64_t *vs, void *o,
                   const int64_t *os, const int64_t *zhmdn, float scale, int causal)
{
    return (int)attention_attention(h->ctx, h->bundle, stream,
        q, qs[0], qs[1], qs[2], qs[3], k, ks[0], ks[1], ks[2], ks[3],
        v, vs[0], vs[1], vs[2], vs[3], o, os[0], os[1], os[2], os[3],
        zhmdn[0], zhmdn[1], zhmdn[2], zhmdn[3], zhmdn[4], scale, causal != 0);
}
