/* gpu.c — what the tuner knows of the GPU: device 0's name, SM count and driver version,
   read through libtile (the one place that opens the driver) in a short-lived child so the
   tuner itself never initialises CUDA (a process that did cannot fork a working benchmark
   child), and the one table of GPU peaks (tensor-core TFLOP/s and memory bandwidth) that
   `tilec bench` and the tuner's % of peak read. */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autotune.h"
#include "tile_internal.h"

typedef struct ProbeReply {
    int ok;
    int count;
    TuneGpuInfo info;
    char message[384];
} ProbeReply;

static void probe_in_child(ProbeReply *r)
{
    tile_context *ctx = NULL;
    tile_device_info info;
    tile_status s = tile_context_create(&ctx, NULL);
    if (s == TILE_OK)
        s = tile_dev_info(ctx, &info);
    if (s != TILE_OK) {
        snprintf(r->message, sizeof r->message, "%s",
                 ctx ? tile_error_message(ctx) : "out of memory");
    } else {
        snprintf(r->info.name, sizeof r->info.name, "%s", info.name);
        r->info.sm_count = info.sm_count;
        r->info.driver_version = info.driver_version;
        r->count = tile_device_count(ctx);
        r->ok = 1;
    }
    tile_context_destroy(ctx);
}

int tune_gpu_probe(TuneGpuInfo *out, char *err, size_t errlen)
{
    return tune_gpu_probe_device(-1, out, NULL, err, errlen);
}

int tune_gpu_probe_device(int device, TuneGpuInfo *out, int *count, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char visible[160] = "";
    if (device >= 0) {
        char entry[128];
        bench_visible_entry(device, entry, sizeof entry);
        snprintf(visible, sizeof visible, "CUDA_VISIBLE_DEVICES=%s", entry);
    }
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        ProbeReply r = {0};
        if (visible[0])
            putenv(visible);
        probe_in_child(&r);
        ssize_t w = write(fds[1], &r, sizeof r);
        _exit(w == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fds[1]);
    ProbeReply r = {0};
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = read(fds[0], (char *)&r + got, sizeof r - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got != sizeof r) {
        snprintf(err, errlen, "the GPU probe crashed");
        return -1;
    }
    if (!r.ok) {
        snprintf(err, errlen, "%s", r.message);
        return -1;
    }
    *out = r.info;
    if (count)
        *count = r.count;
    return 0;
}

/* Dense tensor-core peaks (the datasheets' sparsity figures halved) and memory bandwidth.
   Sources: NVIDIA H100 Tensor Core GPU datasheet (SXM5, PCIe, NVL columns), NVIDIA H200
   Tensor Core GPU datasheet (SXM, NVL), NVIDIA A100 Tensor Core GPU datasheet (no fp8:
   Ampere has none, so the bf16 figure stands in). More specific names come first. */
static const GpuPeak peaks[] = {
    {"H100 NVL", 835.5, 1670.5, 3.9, "NVIDIA H100 datasheet, H100 NVL"},
    {"H100 PCIe", 756.5, 1513.0, 2.0, "NVIDIA H100 datasheet, H100 PCIe"},
    {"H100", 989.4, 1978.9, 3.35, "NVIDIA H100 datasheet, H100 SXM5"},
    {"H200 NVL", 835.5, 1670.5, 4.8, "NVIDIA H200 datasheet, H200 NVL"},
    {"H200", 989.4, 1978.9, 4.8, "NVIDIA H200 datasheet, H200 SXM"},
    {"A100-SXM4-40GB", 312.0, 312.0, 1.555, "NVIDIA A100 datasheet, A100 SXM 40GB"},
    {"A100-SXM4-80GB", 312.0, 312.0, 2.039, "NVIDIA A100 datasheet, A100 SXM 80GB"},
    {"A100 80GB PCIe", 312.0, 312.0, 1.935, "NVIDIA A100 datasheet, A100 PCIe 80GB"},
    {"A100-PCIE-40GB", 312.0, 312.0, 1.555, "NVIDIA A100 datasheet, A100 PCIe 40GB"},
};

bool gpu_peak_lookup(const char *device_name, GpuPeak *out)
{
    for (size_t i = 0; i < sizeof peaks / sizeof peaks[0]; i++)
        if (strstr(device_name, peaks[i].match)) {
            *out = peaks[i];
            return true;
        }
    return false;
}

double tune_gpu_peak_tflops(const char *gpu_name, DType operand)
{
    GpuPeak p;
    if (!gpu_peak_lookup(gpu_name, &p))
        return 0;
    return dtype_is_fp8(operand) ? p.fp8_tflops : p.bf16_tflops;
}
