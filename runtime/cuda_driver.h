/* cuda_driver.h — the CUDA Driver API, opened at run time: libcuda.so.1 is dlopen'ed and
   every entry point is resolved through cuGetProcAddress, so a program links and starts on a
   machine with no GPU and says so. The caller owns a CudaDriver; nothing here is global.
   Every call returns a status and leaves a message in the driver; none prints or exits. */
#ifndef TILEC_CUDA_DRIVER_H
#define TILEC_CUDA_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cuda.h> /* types only: nothing links against libcuda */

/* The driver ABI asked of cuGetProcAddress: CUDA 12.0's, which a CUDA 13 driver still
   serves (it maps plain names to the right _v2/_v3 entry points for that version). */
#define CUDA_DRIVER_ABI_VERSION 12000

typedef enum CudaStatus {
    CUDA_OK = 0,
    CUDA_ERR_NO_DRIVER,   /* libcuda.so.1 missing or an entry point unresolved */
    CUDA_ERR_NO_DEVICE,   /* the driver loads but the device ordinal does not exist */
    CUDA_ERR_CALL,        /* a driver call failed: the message names it and its error */
    CUDA_ERR_MODULE,      /* PTX failed to load: the message holds ptxas's log */
    CUDA_ERR_ARGUMENT,    /* a bad argument caught before calling the driver */
} CudaStatus;

/* Entry points, named after the driver function without the `cu` (cuda.h's macros rename
   plain names such as cuMemAlloc to cuMemAlloc_v2, so the members avoid those names). */
typedef struct CudaEntryPoints {
    CUresult (*GetErrorString)(CUresult, const char **);
    CUresult (*GetErrorName)(CUresult, const char **);
    CUresult (*Init)(unsigned int);
    CUresult (*DriverGetVersion)(int *);
    CUresult (*DeviceGet)(CUdevice *, int);
    CUresult (*DeviceGetCount)(int *);
    CUresult (*DeviceGetName)(char *, int, CUdevice);
    CUresult (*DeviceGetAttribute)(int *, CUdevice_attribute, CUdevice);
    CUresult (*DevicePrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*DevicePrimaryCtxRelease)(CUdevice);
    CUresult (*CtxSetCurrent)(CUcontext);
    CUresult (*CtxSynchronize)(void);
    CUresult (*ModuleLoadDataEx)(CUmodule *, const void *, unsigned int, CUjit_option *, void **);
    CUresult (*ModuleUnload)(CUmodule);
    CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
    CUresult (*FuncSetAttribute)(CUfunction, CUfunction_attribute, int);
    CUresult (*FuncGetAttribute)(int *, CUfunction_attribute, CUfunction);
    CUresult (*MemAlloc)(CUdeviceptr *, size_t);
    CUresult (*MemFree)(CUdeviceptr);
    CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
    CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
    CUresult (*MemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
    CUresult (*MemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
    CUresult (*MemsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
    CUresult (*MemsetD32Async)(CUdeviceptr, unsigned int, size_t, CUstream);
    CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void **, void **);
    CUresult (*StreamCreate)(CUstream *, unsigned int);
    CUresult (*StreamDestroy)(CUstream);
    CUresult (*StreamSynchronize)(CUstream);
    CUresult (*EventCreate)(CUevent *, unsigned int);
    CUresult (*EventDestroy)(CUevent);
    CUresult (*EventRecord)(CUevent, CUstream);
    CUresult (*EventSynchronize)(CUevent);
    CUresult (*EventElapsedTime)(float *, CUevent, CUevent);
} CudaEntryPoints;

typedef struct CudaDriver {
    void *library;             /* dlopen handle; NULL until cuda_driver_open succeeds */
    CudaEntryPoints cu;
    int driver_version;        /* 13000 for CUDA 13.0 */
    CUdevice device;
    CUcontext context;         /* the device's primary context (shared with PyTorch) */
    bool context_retained;
    char message[4096];        /* the last failure, for the user; "" after success */
} CudaDriver;

typedef struct CudaDeviceInfo {
    char name[256];            /* "NVIDIA H100 80GB HBM3" */
    int sm_count;              /* multiprocessors */
    int cc_major, cc_minor;    /* compute capability, 9.0 on Hopper */
    int clock_khz;             /* peak SM clock */
    int max_shared_per_block;  /* opt-in limit: 232448 bytes on H100 */
    size_t l2_bytes;
} CudaDeviceInfo;

typedef struct CudaModule {
    CUmodule module;
} CudaModule;

/* Loads libcuda.so.1 and resolves every entry point; CUDA_ERR_NO_DRIVER where there is
   none. Safe to call cuda_driver_close on a driver whose open failed. */
CudaStatus cuda_driver_open(CudaDriver *drv);
void cuda_driver_close(CudaDriver *drv);
/* The message of the last failure. */
const char *cuda_driver_message(const CudaDriver *drv);

CudaStatus cuda_device_count(CudaDriver *drv, int *count);
/* cuInit, picks device `ordinal`, retains its primary context and makes it current. */
CudaStatus cuda_device_open(CudaDriver *drv, int ordinal);
CudaStatus cuda_device_info(CudaDriver *drv, CudaDeviceInfo *info);
CudaStatus cuda_synchronize(CudaDriver *drv);

/* Loads NUL-terminated PTX; a failure's message carries the JIT error log. */
CudaStatus cuda_module_load_ptx(CudaDriver *drv, const char *ptx, CudaModule *out);
CudaStatus cuda_module_unload(CudaDriver *drv, CudaModule *mod);
CudaStatus cuda_module_function(CudaDriver *drv, const CudaModule *mod, const char *name,
                                CUfunction *out);
/* Raises the function's dynamic shared-memory limit (needed above 48 KB). */
CudaStatus cuda_function_set_max_dynamic_shared(CudaDriver *drv, CUfunction fn, int bytes);
/* Registers per thread, local (spill) bytes, static shared bytes of a loaded function. */
CudaStatus cuda_function_resources(CudaDriver *drv, CUfunction fn, int *registers,
                                   int *local_bytes, int *shared_bytes);

CudaStatus cuda_mem_alloc(CudaDriver *drv, size_t bytes, CUdeviceptr *out);
CudaStatus cuda_mem_free(CudaDriver *drv, CUdeviceptr ptr);
CudaStatus cuda_copy_to_device(CudaDriver *drv, CUdeviceptr dst, const void *src, size_t bytes);
CudaStatus cuda_copy_to_host(CudaDriver *drv, void *dst, CUdeviceptr src, size_t bytes);
CudaStatus cuda_copy_device_async(CudaDriver *drv, CUdeviceptr dst, CUdeviceptr src,
                                  size_t bytes, CUstream stream);
/* Fill `count` elements of 1, 2 or 4 bytes with `value`, on `stream`. */
CudaStatus cuda_memset8_async(CudaDriver *drv, CUdeviceptr dst, uint8_t value, size_t count,
                              CUstream stream);
CudaStatus cuda_memset16_async(CudaDriver *drv, CUdeviceptr dst, uint16_t value, size_t count,
                               CUstream stream);
CudaStatus cuda_memset32_async(CudaDriver *drv, CUdeviceptr dst, uint32_t value, size_t count,
                               CUstream stream);

typedef struct CudaLaunch {
    unsigned grid[3], block[3];
    unsigned shared_bytes;     /* dynamic shared memory */
    CUstream stream;           /* NULL: the legacy default stream */
} CudaLaunch;
/* args[i] points at the i-th kernel parameter's value (cuLaunchKernel's convention). */
CudaStatus cuda_launch(CudaDriver *drv, CUfunction fn, const CudaLaunch *launch, void **args);

CudaStatus cuda_stream_create(CudaDriver *drv, CUstream *out);
CudaStatus cuda_stream_destroy(CudaDriver *drv, CUstream stream);
CudaStatus cuda_stream_synchronize(CudaDriver *drv, CUstream stream);
CudaStatus cuda_event_create(CudaDriver *drv, CUevent *out);
CudaStatus cuda_event_destroy(CudaDriver *drv, CUevent event);
CudaStatus cuda_event_record(CudaDriver *drv, CUevent event, CUstream stream);
/* Waits for `end`, then the milliseconds between the two events. */
CudaStatus cuda_event_elapsed_ms(CudaDriver *drv, CUevent start, CUevent end, float *ms);

/* "CUDA_ERROR_OUT_OF_MEMORY: out of memory"; works before and without a driver. */
void cuda_error_text(const CudaDriver *drv, CUresult result, char *buf, size_t size);

#endif
