/* workspace.c — where a program's intermediates live: byte offsets in one workspace,
   computed from their sizes and live ranges when the shapes are known. libtile's program
   launch, tilec's interpreter runner and `tilec build --emit=buffers` all call it, so the
   three agree byte for byte (docs/runtime.md, "Programs"). */
#include <string.h>

#include "bundle_format.h"

static bool live_together(const TbnWorkspaceValue *a, const TbnWorkspaceValue *b)
{
    return a->first <= b->last && b->first <= a->last;
}

static uint64_t align_up(uint64_t x)
{
    return (x + TBN_WORKSPACE_ALIGN - 1) / TBN_WORKSPACE_ALIGN * TBN_WORKSPACE_ALIGN;
}

/* Largest first; equal sizes keep their order. An insertion sort: n is small, it is stable. */
static void sort_by_size(const TbnWorkspaceValue *values, uint32_t n, uint32_t *order)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = i;
        for (; j > 0 && values[order[j - 1]].bytes < values[i].bytes; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
}

/* Groups values whose byte ranges overlap into allocations: contiguous ranges, in offset
   order. */
static void make_allocations(const TbnWorkspaceValue *values, uint32_t n, TbnWorkspacePlan *out)
{
    uint32_t by_offset[TBN_MAX_PROGRAM_TEMPS];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = i;
        for (; j > 0 && out->offset[by_offset[j - 1]] > out->offset[i]; j--)
            by_offset[j] = by_offset[j - 1];
        by_offset[j] = i;
    }
    for (uint32_t k = 0; k < n; k++) {
        uint32_t v = by_offset[k];
        uint64_t end = out->offset[v] + align_up(values[v].bytes);
        uint32_t a = out->nallocs;
        if (a > 0 && out->offset[v] < out->alloc_offset[a - 1] + out->alloc_bytes[a - 1])
            a--;
        else
            out->alloc_offset[out->nallocs++] = out->offset[v];
        if (end - out->alloc_offset[a] > out->alloc_bytes[a])
            out->alloc_bytes[a] = end - out->alloc_offset[a];
        out->alloc_of[v] = a;
    }
}

int tbn_workspace_plan(const TbnWorkspaceValue *values, uint32_t n, TbnWorkspacePlan *out)
{
    memset(out, 0, sizeof *out);
    if (n > TBN_MAX_PROGRAM_TEMPS)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (values[i].bytes > UINT64_MAX / 4 || values[i].first > values[i].last)
            return -1;
    uint32_t order[TBN_MAX_PROGRAM_TEMPS], placed[TBN_MAX_PROGRAM_TEMPS];
    uint32_t nplaced = 0;    /* the values placed so far, by offset */
    sort_by_size(values, n, order);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t v = order[k];
        uint64_t size = align_up(values[v].bytes), offset = 0;
        /* the lowest offset where it fits below or between the values live with it */
        for (uint32_t i = 0; i < nplaced; i++) {
            uint32_t u = placed[i];
            if (!live_together(&values[u], &values[v]))
                continue;
            uint64_t end = out->offset[u] + align_up(values[u].bytes);
            if (offset + size <= out->offset[u])
                break;
            if (end > offset)
                offset = end;
        }
        if (__builtin_add_overflow(offset, size, &size))
            return -1;
        out->offset[v] = offset;
        if (size > out->total)
            out->total = size;
        uint32_t j = nplaced++;
        for (; j > 0 && out->offset[placed[j - 1]] > offset; j--)
            placed[j] = placed[j - 1];
        placed[j] = v;
    }
    make_allocations(values, n, out);
    return 0;
}
