/* cuda_driver.c — opens libcuda.so.1 with dlopen and resolves its entry points through
   cuGetProcAddress; thin, checked wrappers over the calls the runtime and `tilec run` use.
   CUDA 13's libcuda exports versioned symbols (cuMemAlloc_v2, cuEventElapsedTime_v2), so
   only cuGetProcAddress_v2 itself is taken with dlsym (NVPTX-NOTES.md). */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cuda_driver.h"

typedef CUresult (*GetProcAddressFn)(const char *symbol, void **pfn, int cuda_version,
                                     cuuint64_t flags, CUdriverProcAddressQueryResult *status);

static CudaStatus fail(CudaDriver *drv, CudaStatus status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static CudaStatus fail(CudaDriver *drv, CudaStatus status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(drv->message, sizeof drv->message, fmt, ap);
    va_end(ap);
    return status;
}

void cuda_error_text(const CudaDriver *drv, CUresult result, char *buf, size_t size)
{
    const char *name = NULL, *text = NULL;
    if (drv && drv->cu.GetErrorName)
        drv->cu.GetErrorName(result, &name);
    if (drv && drv->cu.GetErrorString)
        drv->cu.GetErrorString(result, &text);
    if (name && text)
        snprintf(buf, size, "%s: %s", name, text);
    else
        snprintf(buf, size, "CUDA error %d", (int)result);
}

/* Turns a driver result into a status, naming the call that failed. */
static CudaStatus check(CudaDriver *drv, CUresult result, const char *call)
{
    if (result == CUDA_SUCCESS) {
        drv->message[0] = '\0';
        return CUDA_OK;
    }
    char text[512];
    cuda_error_text(drv, result, text, sizeof text);
    return fail(drv, CUDA_ERR_CALL, "%s failed: %s", call, text);
}

/* One row per entry point: the name asked of cuGetProcAddress and where the pointer goes. */
typedef struct EntryPoint {
    const char *symbol;
    size_t offset;
} EntryPoint;

#define ENTRY(member) {"cu" #member, offsetof(CudaEntryPoints, member)}
static const EntryPoint entry_points[] = {
    ENTRY(GetErrorString), ENTRY(GetErrorName), ENTRY(Init), ENTRY(DriverGetVersion),
    ENTRY(DeviceGet), ENTRY(DeviceGetCount), ENTRY(DeviceGetName), ENTRY(DeviceGetAttribute),
    ENTRY(DevicePrimaryCtxRetain), ENTRY(DevicePrimaryCtxRelease), ENTRY(CtxSetCurrent),
    ENTRY(CtxSynchronize), ENTRY(ModuleLoadDataEx), ENTRY(ModuleUnload),
    ENTRY(ModuleGetFunction), ENTRY(FuncSetAttribute), ENTRY(FuncGetAttribute),
    ENTRY(MemAlloc), ENTRY(MemFree), ENTRY(MemcpyHtoD), ENTRY(MemcpyDtoH),
    ENTRY(MemcpyDtoDAsync), ENTRY(MemsetD8Async), ENTRY(MemsetD16Async),
    ENTRY(MemsetD32Async), ENTRY(LaunchKernel), ENTRY(StreamCreate), ENTRY(StreamDestroy),
    ENTRY(StreamSynchronize), ENTRY(EventCreate), ENTRY(EventDestroy), ENTRY(EventRecord),
    ENTRY(EventSynchronize), ENTRY(EventElapsedTime),
};
#undef ENTRY

CudaStatus cuda_driver_open(CudaDriver *drv)
{
    memset(drv, 0, sizeof *drv);
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return fail(drv, CUDA_ERR_NO_DRIVER,
                    "libcuda.so.1 not found: no NVIDIA driver on this machine (%s)", dlerror());
    GetProcAddressFn get_proc = NULL;
    /* dlsym returns void *; the copy through memcpy is ISO C's way to a function pointer. */
    void *sym = dlsym(lib, "cuGetProcAddress_v2");
    if (!sym) {
        dlclose(lib);
        return fail(drv, CUDA_ERR_NO_DRIVER,
                    "libcuda.so.1 has no cuGetProcAddress_v2: the NVIDIA driver is older than "
                    "CUDA 12 (update the driver)");
    }
    memcpy(&get_proc, &sym, sizeof get_proc);
    for (size_t i = 0; i < sizeof entry_points / sizeof entry_points[0]; i++) {
        void *fn = NULL;
        CUdriverProcAddressQueryResult found = CU_GET_PROC_ADDRESS_SUCCESS;
        CUresult r = get_proc(entry_points[i].symbol, &fn, CUDA_DRIVER_ABI_VERSION,
                              CU_GET_PROC_ADDRESS_DEFAULT, &found);
        if (r != CUDA_SUCCESS || found != CU_GET_PROC_ADDRESS_SUCCESS || !fn) {
            dlclose(lib);
            memset(&drv->cu, 0, sizeof drv->cu);
            return fail(drv, CUDA_ERR_NO_DRIVER,
                        "the NVIDIA driver has no %s for CUDA %d.%d (error %d, status %d)",
                        entry_points[i].symbol, CUDA_DRIVER_ABI_VERSION / 1000,
                        CUDA_DRIVER_ABI_VERSION % 1000 / 10, (int)r, (int)found);
        }
        memcpy((char *)&drv->cu + entry_points[i].offset, &fn, sizeof fn);
    }
    drv->library = lib;
    CudaStatus s = check(drv, drv->cu.Init(0), "cuInit");
    if (s != CUDA_OK)
        return s;
    return check(drv, drv->cu.DriverGetVersion(&drv->driver_version), "cuDriverGetVersion");
}

void cuda_driver_close(CudaDriver *drv)
{
    if (drv->context_retained && drv->cu.DevicePrimaryCtxRelease)
        drv->cu.DevicePrimaryCtxRelease(drv->device);
    drv->context_retained = false;
    if (drv->library)
        dlclose(drv->library);
    drv->library = NULL;
    memset(&drv->cu, 0, sizeof drv->cu);
}

const char *cuda_driver_message(const CudaDriver *drv)
{
    return drv->message;
}

/* Every call below needs an open driver; this catches a caller that ignored open's status. */
static bool opened(CudaDriver *drv)
{
    if (drv->library)
        return true;
    if (!drv->message[0])
        fail(drv, CUDA_ERR_NO_DRIVER, "the CUDA driver is not open");
    return false;
}

CudaStatus cuda_device_count(CudaDriver *drv, int *count)
{
    *count = 0;
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.DeviceGetCount(count), "cuDeviceGetCount");
}

CudaStatus cuda_device_open(CudaDriver *drv, int ordinal)
{
    int count = 0;
    CudaStatus s = cuda_device_count(drv, &count);
    if (s != CUDA_OK)
        return s;
    if (ordinal < 0 || ordinal >= count)
        return fail(drv, CUDA_ERR_NO_DEVICE, "no CUDA device %d (this machine has %d)", ordinal,
                    count);
    if ((s = check(drv, drv->cu.DeviceGet(&drv->device, ordinal), "cuDeviceGet")) != CUDA_OK)
        return s;
    s = check(drv, drv->cu.DevicePrimaryCtxRetain(&drv->context, drv->device),
              "cuDevicePrimaryCtxRetain");
    if (s != CUDA_OK)
        return s;
    drv->context_retained = true;
    return check(drv, drv->cu.CtxSetCurrent(drv->context), "cuCtxSetCurrent");
}

static CudaStatus attribute(CudaDriver *drv, CUdevice_attribute which, int *value)
{
    return check(drv, drv->cu.DeviceGetAttribute(value, which, drv->device),
                 "cuDeviceGetAttribute");
}

CudaStatus cuda_device_info(CudaDriver *drv, CudaDeviceInfo *info)
{
    memset(info, 0, sizeof *info);
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    CudaStatus s = check(drv, drv->cu.DeviceGetName(info->name, (int)sizeof info->name,
                                                    drv->device), "cuDeviceGetName");
    int l2 = 0;
    if (s == CUDA_OK)
        s = attribute(drv, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, &info->sm_count);
    if (s == CUDA_OK)
        s = attribute(drv, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, &info->cc_major);
    if (s == CUDA_OK)
        s = attribute(drv, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, &info->cc_minor);
    if (s == CUDA_OK)
        s = attribute(drv, CU_DEVICE_ATTRIBUTE_CLOCK_RATE, &info->clock_khz);
    if (s == CUDA_OK)
        s = attribute(drv, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                      &info->max_shared_per_block);
    if (s == CUDA_OK)
        s = attribute(drv, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, &l2);
    info->l2_bytes = (size_t)l2;
    return s;
}

CudaStatus cuda_synchronize(CudaDriver *drv)
{
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.CtxSynchronize(), "cuCtxSynchronize");
}

CudaStatus cuda_module_load_ptx(CudaDriver *drv, const char *ptx, CudaModule *out)
{
    out->module = NULL;
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    char log[8192] = "";
    CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *values[] = {log, (void *)(uintptr_t)sizeof log};
    CUresult r = drv->cu.ModuleLoadDataEx(&out->module, ptx, 2, options, values);
    if (r == CUDA_SUCCESS) {
        drv->message[0] = '\0';
        return CUDA_OK;
    }
    char text[512];
    cuda_error_text(drv, r, text, sizeof text);
    return fail(drv, CUDA_ERR_MODULE, "cuModuleLoadDataEx failed: %s%s%s", text,
                log[0] ? "\n" : "", log);
}

CudaStatus cuda_module_unload(CudaDriver *drv, CudaModule *mod)
{
    if (!mod->module)
        return CUDA_OK;
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    CUmodule m = mod->module;
    mod->module = NULL;
    return check(drv, drv->cu.ModuleUnload(m), "cuModuleUnload");
}

CudaStatus cuda_module_function(CudaDriver *drv, const CudaModule *mod, const char *name,
                                CUfunction *out)
{
    *out = NULL;
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    CUresult r = drv->cu.ModuleGetFunction(out, mod->module, name);
    if (r == CUDA_ERROR_NOT_FOUND)
        return fail(drv, CUDA_ERR_ARGUMENT, "the module has no kernel named '%s'", name);
    return check(drv, r, "cuModuleGetFunction");
}

CudaStatus cuda_function_set_max_dynamic_shared(CudaDriver *drv, CUfunction fn, int bytes)
{
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.FuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                               bytes), "cuFuncSetAttribute");
}

CudaStatus cuda_function_resources(CudaDriver *drv, CUfunction fn, int *registers,
                                   int *local_bytes, int *shared_bytes)
{
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    CudaStatus s = check(drv, drv->cu.FuncGetAttribute(registers, CU_FUNC_ATTRIBUTE_NUM_REGS, fn),
                         "cuFuncGetAttribute");
    if (s == CUDA_OK)
        s = check(drv, drv->cu.FuncGetAttribute(local_bytes, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES,
                                                fn), "cuFuncGetAttribute");
    if (s == CUDA_OK)
        s = check(drv, drv->cu.FuncGetAttribute(shared_bytes,
                                                CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, fn),
                  "cuFuncGetAttribute");
    return s;
}

CudaStatus cuda_mem_alloc(CudaDriver *drv, size_t bytes, CUdeviceptr *out)
{
    *out = 0;
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    if (bytes == 0)
        return fail(drv, CUDA_ERR_ARGUMENT, "cannot allocate 0 bytes of device memory");
    return check(drv, drv->cu.MemAlloc(out, bytes), "cuMemAlloc");
}

CudaStatus cuda_mem_free(CudaDriver *drv, CUdeviceptr ptr)
{
    if (!ptr)
        return CUDA_OK;
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.MemFree(ptr), "cuMemFree");
}

CudaStatus cuda_copy_to_device(CudaDriver *drv, CUdeviceptr dst, const void *src, size_t bytes)
{
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.MemcpyHtoD(dst, src, bytes), "cuMemcpyHtoD");
}

CudaStatus cuda_copy_to_host(CudaDriver *drv, void *dst, CUdeviceptr src, size_t bytes)
{
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.MemcpyDtoH(dst, src, bytes), "cuMemcpyDtoH");
}

CudaStatus cuda_copy_device_async(CudaDriver *drv, CUdeviceptr dst, CUdeviceptr src,
                                  size_t bytes, CUstream stream)
{
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.MemcpyDtoDAsync(dst, src, bytes, stream), "cuMemcpyDtoDAsync");
}

CudaStatus cuda_memset8_async(CudaDriver *drv, CUdeviceptr dst, uint8_t value, size_t count,
                              CUstream stream)
{
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.MemsetD8Async(dst, value, count, stream), "cuMemsetD8Async");
}

CudaStatus cuda_memset16_async(CudaDriver *drv, CUdeviceptr dst, uint16_t value, size_t count,
                               CUstream stream)
{
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.MemsetD16Async(dst, value, count, stream), "cuMemsetD16Async");
}

CudaStatus cuda_memset32_async(CudaDriver *drv, CUdeviceptr dst, uint32_t value, size_t count,
                               CUstream stream)
{
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.MemsetD32Async(dst, value, count, stream), "cuMemsetD32Async");
}

CudaStatus cuda_launch(CudaDriver *drv, CUfunction fn, const CudaLaunch *l, void **args)
{
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    if (!fn)
        return fail(drv, CUDA_ERR_ARGUMENT, "cannot launch a null kernel");
    for (int i = 0; i < 3; i++)
        if (l->grid[i] == 0 || l->block[i] == 0)
            return fail(drv, CUDA_ERR_ARGUMENT, "launch dimensions must be positive "
                        "(grid %ux%ux%u, block %ux%ux%u)", l->grid[0], l->grid[1], l->grid[2],
                        l->block[0], l->block[1], l->block[2]);
    return check(drv, drv->cu.LaunchKernel(fn, l->grid[0], l->grid[1], l->grid[2], l->block[0],
                                           l->block[1], l->block[2], l->shared_bytes, l->stream,
                                           args, NULL), "cuLaunchKernel");
}

CudaStatus cuda_stream_create(CudaDriver *drv, CUstream *out)
{
    *out = NULL;
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.StreamCreate(out, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
}

CudaStatus cuda_stream_destroy(CudaDriver *drv, CUstream stream)
{
    if (!stream)
        return CUDA_OK;
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.StreamDestroy(stream), "cuStreamDestroy");
}

CudaStatus cuda_stream_synchronize(CudaDriver *drv, CUstream stream)
{
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.StreamSynchronize(stream), "cuStreamSynchronize");
}

CudaStatus cuda_event_create(CudaDriver *drv, CUevent *out)
{
    *out = NULL;
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.EventCreate(out, CU_EVENT_DEFAULT), "cuEventCreate");
}

CudaStatus cuda_event_destroy(CudaDriver *drv, CUevent event)
{
    if (!event)
        return CUDA_OK;
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.EventDestroy(event), "cuEventDestroy");
}

CudaStatus cuda_event_record(CudaDriver *drv, CUevent event, CUstream stream)
{
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    return check(drv, drv->cu.EventRecord(event, stream), "cuEventRecord");
}

CudaStatus cuda_event_elapsed_ms(CudaDriver *drv, CUevent start, CUevent end, float *ms)
{
    *ms = 0;
    if (!opened(drv))
        return CUDA_ERR_NO_DRIVER;
    CudaStatus s = check(drv, drv->cu.EventSynchronize(end), "cuEventSynchronize");
    if (s != CUDA_OK)
        return s;
    return check(drv, drv->cu.EventElapsedTime(ms, start, end), "cuEventElapsedTime");
}
