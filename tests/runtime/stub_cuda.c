/* stub_cuda.c — a stand-in libcuda.so.1 for testing libtile without a GPU. It exports
   cuGetProcAddress_v2 like the real driver, so libtile finds it the same way (dlopen through
   LD_LIBRARY_PATH), answers the entry points libtile uses, and records what they were asked
   in a state the tests read and set through stub_state() (found with dlsym). A test double:
   its one global state is the point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h>

#include "stub_cuda.h"

static StubState state = {.device_count = 1, .sm = 90, .name = "Stub GPU"};

StubState *stub_state(void) { return &state; }

static CUresult GetErrorName(CUresult r, const char **name)
{
    *name = r == CUDA_SUCCESS ? "CUDA_SUCCESS" : "CUDA_ERROR_STUB";
    return CUDA_SUCCESS;
}
static CUresult Init(unsigned flags) { (void)flags; return CUDA_SUCCESS; }
static CUresult DeviceGetCount(int *n) { *n = state.device_count; return CUDA_SUCCESS; }
static CUresult DeviceGet(CUdevice *d, int ordinal)
{
    if (ordinal >= state.device_count)
        return CUDA_ERROR_INVALID_DEVICE;
    *d = ordinal;
    return CUDA_SUCCESS;
}
static CUresult DeviceGetName(char *buf, int len, CUdevice d)
{
    (void)d;
    strncpy(buf, state.name, (size_t)len - 1);
    buf[len - 1] = 0;
    return CUDA_SUCCESS;
}
static CUresult DeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice d)
{
    (void)d;
    *v = a == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR ? state.sm / 10 : state.sm % 10;
    return CUDA_SUCCESS;
}
static CUresult DevicePrimaryCtxRetain(CUcontext *c, CUdevice d)
{
    *c = (CUcontext)(uintptr_t)(0x1000 + d);
    state.retains++;
    return CUDA_SUCCESS;
}
static CUresult DevicePrimaryCtxRelease(CUdevice d) { (void)d; state.releases++; return CUDA_SUCCESS; }
static CUresult CtxGetCurrent(CUcontext *c) { *c = (CUcontext)state.current; return CUDA_SUCCESS; }
static CUresult CtxSetCurrent(CUcontext c) { state.current = c; return CUDA_SUCCESS; }
static CUresult CtxGetDevice(CUdevice *d)
{
    *d = (CUdevice)((uintptr_t)state.current - 0x1000);
    return CUDA_SUCCESS;
}
static CUresult ModuleLoadDataEx(CUmodule *m, const void *image, unsigned n, CUjit_option *o,
                                 void **v)
{
    (void)n, (void)o, (void)v;
    const char *text = image;
    if (memcmp(text, "\177ELF", 4) == 0)
        state.cubin_loads++;
    else {
        if (strstr(text, "STUB_FAIL"))
            return CUDA_ERROR_INVALID_PTX;
        state.ptx_loads++;
    }
    *m = (CUmodule)(uintptr_t)(0x2000 + state.cubin_loads + state.ptx_loads);
    return CUDA_SUCCESS;
}
static CUresult ModuleUnload(CUmodule m) { (void)m; state.unloads++; return CUDA_SUCCESS; }
static CUresult ModuleGetFunction(CUfunction *f, CUmodule m, const char *name)
{
    *f = (CUfunction)(uintptr_t)((uintptr_t)m + 0x10000);
    strncpy(state.last_entry, name, sizeof state.last_entry - 1);
    return CUDA_SUCCESS;
}
static CUresult FuncSetAttribute(CUfunction f, CUfunction_attribute a, int v)
{
    (void)f;
    if (a == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
        state.max_dynamic_smem = v;
    return CUDA_SUCCESS;
}
static CUresult record_memset(CUdeviceptr p, unsigned v, size_t n, int width)
{
    if (state.nmemsets < STUB_MAX_RECORDS)
        state.memsets[state.nmemsets++] = (StubMemset){(uint64_t)p, v, n, width};
    return CUDA_SUCCESS;
}
static CUresult MemsetD8Async(CUdeviceptr p, unsigned char v, size_t n, CUstream s)
{
    (void)s;
    return record_memset(p, v, n, 1);
}
static CUresult MemsetD16Async(CUdeviceptr p, unsigned short v, size_t n, CUstream s)
{
    (void)s;
    return record_memset(p, v, n, 2);
}
static CUresult MemsetD32Async(CUdeviceptr p, unsigned v, size_t n, CUstream s)
{
    (void)s;
    return record_memset(p, v, n, 4);
}
static CUresult MemGetAddressRange(CUdeviceptr *base, size_t *size, CUdeviceptr p)
{
    state.range_queries++;
    if (p < state.range_base || p >= state.range_base + state.range_size)
        return CUDA_ERROR_NOT_FOUND;
    *base = state.range_base;
    *size = state.range_size;
    return CUDA_SUCCESS;
}
static CUresult StreamIsCapturing(CUstream s, CUstreamCaptureStatus *st)
{
    (void)s;
    *st = state.capturing ? CU_STREAM_CAPTURE_STATUS_ACTIVE : CU_STREAM_CAPTURE_STATUS_NONE;
    return CUDA_SUCCESS;
}
static CUresult LaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                             unsigned by, unsigned bz, unsigned smem, CUstream s, void **args,
                             void **extra)
{
    (void)f, (void)s, (void)extra;
    StubLaunch *l = &state.last_launch;
    state.launches++;
    l->grid[0] = gx, l->grid[1] = gy, l->grid[2] = gz;
    l->block[0] = bx, l->block[1] = by, l->block[2] = bz;
    l->smem = smem;
    /* libtile keeps every argument in an 8-byte slot, so 8 bytes may be read from each */
    for (int i = 0; i < state.record_args && i < STUB_MAX_ARGS; i++)
        memcpy(&l->args[i], args[i], 8);
    return state.launch_result;
}

typedef struct Entry {
    const char *name;
    void *fn;
} Entry;

#define E(name) {"cu" #name, (void *)name}
static const Entry entries[] = {
    E(GetErrorName), E(Init), E(DeviceGetCount), E(DeviceGet), E(DeviceGetName),
    E(DeviceGetAttribute), E(DevicePrimaryCtxRetain), E(DevicePrimaryCtxRelease),
    E(CtxGetCurrent), E(CtxSetCurrent), E(CtxGetDevice), E(ModuleLoadDataEx), E(ModuleUnload),
    E(ModuleGetFunction), E(FuncSetAttribute), E(MemsetD8Async), E(MemsetD16Async),
    E(MemsetD32Async), E(MemGetAddressRange), E(StreamIsCapturing), E(LaunchKernel),
};

CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version, cuuint64_t flags,
                             CUdriverProcAddressQueryResult *status)
{
    (void)version, (void)flags;
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        if (strcmp(entries[i].name, symbol) == 0) {
            *pfn = entries[i].fn;
            if (status)
                *status = CU_GET_PROC_ADDRESS_SUCCESS;
            return CUDA_SUCCESS;
        }
    *pfn = NULL;
    if (status)
        *status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    return CUDA_ERROR_NOT_FOUND;
}
