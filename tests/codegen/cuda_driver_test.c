/* cuda_driver_test.c — the driver layer on a machine without a GPU: opening fails with
   CUDA_ERR_NO_DRIVER and a clear message, and every later call on the unopened driver
   returns a status instead of crashing. On a GPU machine it reports the device instead. */
#include <stdio.h>
#include <string.h>

#include "cuda_driver.h"

int main(void)
{
    CudaDriver drv;
    CudaStatus s = cuda_driver_open(&drv);
    if (s == CUDA_OK) {
        int count = 0;
        s = cuda_device_count(&drv, &count);
        printf("driver %d, %d device(s)\n", drv.driver_version, count);
        cuda_driver_close(&drv);
        return s == CUDA_OK ? 0 : 1;
    }
    int failures = 0;
    const char *want = "libcuda.so.1 not found: no NVIDIA driver on this machine";
    if (s != CUDA_ERR_NO_DRIVER || strncmp(cuda_driver_message(&drv), want, strlen(want)) != 0) {
        printf("FAIL open: status %d, message '%s'\n", (int)s, cuda_driver_message(&drv));
        failures++;
    }
    int count = -1;
    CUdeviceptr ptr = 1;
    CudaModule mod;
    failures += cuda_device_count(&drv, &count) != CUDA_ERR_NO_DRIVER || count != 0;
    failures += cuda_device_open(&drv, 0) != CUDA_ERR_NO_DRIVER;
    failures += cuda_mem_alloc(&drv, 16, &ptr) != CUDA_ERR_NO_DRIVER || ptr != 0;
    failures += cuda_module_load_ptx(&drv, ".version 8.6", &mod) != CUDA_ERR_NO_DRIVER;
    cuda_driver_close(&drv);
    cuda_driver_close(&drv); /* closing twice is harmless */
    printf("%s: %s\n", failures ? "FAIL" : "ok", cuda_driver_message(&drv));
    return failures ? 1 : 0;
}
