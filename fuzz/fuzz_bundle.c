/* fuzz_bundle.c — libFuzzer harness for the .tbn reader: any bytes either read into a checked
   bundle or fail with a message, never touching memory outside the input; an accepted bundle
   has every grid program run on hostile symbol and scalar values. */
#include <stdint.h>
#include <string.h>

#include "bundle_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TbnBundle b;
    char err[512];
    if (tbn_read(data, size, false, &b, err, sizeof err) == 0) {
        int64_t symbols[TBN_MAX_SYMS];
        TbnScalar scalars[TBN_MAX_PARAMS];
        for (int i = 0; i < TBN_MAX_SYMS; i++)
            symbols[i] = i & 1 ? INT64_MAX - i : (int64_t)size * (i + 1);
        for (int i = 0; i < TBN_MAX_PARAMS; i++)
            scalars[i] = (TbnScalar){INT64_MIN + i, -1e300 * i};
        for (uint32_t v = 0; v < b.nvariants; v++) {
            int64_t blocks;
            (void)tbn_grid_blocks(&b.variants[v], symbols, scalars, &blocks);
        }
    } else if (!err[0])
        __builtin_trap();   /* every rejection carries a message */
    tbn_free(&b);
    return 0;
}
