/* fuzz_npy.c — libFuzzer entry point for the .npy reader: any bytes, loaded as every
   parameter dtype, must be rejected with a message or loaded, never crash, hang, leak or
   allocate without bound. Built and run by .ci/fuzz. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "interp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* npy_load reads a path: give it an in-memory file. */
    int fd = memfd_create("fuzz.npy", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    for (int t = 0; t < DT_COUNT; t++) {
        HostTensor tensor;
        char err[512];
        if (npy_load(path, (DType)t, &tensor, err, sizeof err) == 0)
            host_free(&tensor);
    }
    close(fd);
    return 0;
}
