/* hash.c — FNV-1a (64-bit), the compiler's one hash: kernel-name tables, the tuner's
   source hash and cache keys. (libtile's bundle format has its own, tbn_fnv1a: the runtime
   uses nothing of the compiler; the two agree bit for bit.) */
#include "base.h"

uint64_t fnv1a(uint64_t hash, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) {
        hash ^= p[i];
        hash *= 0x100000001b3ull;
    }
    return hash;
}
