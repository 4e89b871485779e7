/* tile_with_cuda_h.c — tile.h and cuda.h in one program: both declare CUstream alike, so a
   stream from the driver API passes straight to a launch. Built by the tests; prints ok. */
#include <cuda.h>
#include <stdio.h>

#include "tile.h"

int main(void)
{
    CUstream stream = NULL;
    tile_status (*launch)(tile_context *, tile_bundle *, const char *, const tile_arg *, int,
                          CUstream) = tile_launch;
    printf("ok tile.h with cuda.h (%s, %p)\n", tile_status_string(TILE_OK), (void *)stream);
    return launch ? 0 : 1;
}
