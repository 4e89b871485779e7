/* bench.c — the timing policy every candidate gets (warm-up, then repetitions that each
   reset the reduction targets, flush L2 and time one launch; the median counts; a candidate
   clearly slower than the best so far stops early), and ptxas's register/spill report
   (keeping the machine code it made when a GPU backend wants it). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "autotune.h"

BenchPolicy bench_policy_default(void)
{
    return (BenchPolicy){.warmup = 3, .min_reps = 5, .max_reps = 50, .max_seconds = 0.5,
                         .early_stop_ratio = 1.3};
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *samples, int n, double *scratch)
{
    memcpy(scratch, samples, sizeof(double) * (size_t)n);
    qsort(scratch, (size_t)n, sizeof(double), compare_double);
    return n % 2 ? scratch[n / 2] : 0.5 * (scratch[n / 2 - 1] + scratch[n / 2]);
}

int bench_measure(const BenchOps *ops, const BenchPolicy *p, double best_so_far_ms,
                  BenchTiming *out)
{
    memset(out, 0, sizeof *out);
    out->median_ms = out->min_ms = INFINITY;
    int max_reps = p->max_reps > 0 ? p->max_reps : 1;
    int min_reps = p->min_reps > 0 && p->min_reps <= max_reps ? p->min_reps : 1;
    double *samples = malloc(sizeof(double) * (size_t)max_reps * 2);
    if (!samples)
        return -1;
    double *scratch = samples + max_reps;
    int status = -1;
    for (int i = 0; i < p->warmup; i++) {
        double ms;
        if ((ops->reset_targets && ops->reset_targets(ops->ctx) != 0) ||
            ops->launch_timed(ops->ctx, &ms) != 0)
            goto done;
    }
    double start = now_s();
    int n = 0;
    while (n < max_reps) {
        double ms;
        if ((ops->reset_targets && ops->reset_targets(ops->ctx) != 0) ||
            (ops->flush_l2 && ops->flush_l2(ops->ctx) != 0) || ops->launch_timed(ops->ctx, &ms) != 0)
            goto done;
        samples[n++] = ms;
        if (n < min_reps)
            continue;
        double med = median(samples, n, scratch);
        if (best_so_far_ms > 0 && isfinite(best_so_far_ms) && p->early_stop_ratio > 0 &&
            med > p->early_stop_ratio * best_so_far_ms) {
            out->early_stopped = true;
            break;
        }
        if (p->max_seconds > 0 && now_s() - start >= p->max_seconds)
            break;
    }
    out->reps = n;
    out->median_ms = median(samples, n, scratch);
    out->min_ms = scratch[0];
    status = 0;
done:
    free(samples);
    return status;
}

/* "... Used 40 registers ..." and "N bytes spill stores, M bytes spill loads"; with several
   functions the largest of each counts. */
void ptxas_parse_report(const char *text, PtxasReport *out)
{
    memset(out, 0, sizeof *out);
    out->ran = true;
    for (const char *p = text; (p = strstr(p, "Used ")); p += 5) {
        int regs;
        if (sscanf(p, "Used %d registers", &regs) == 1 && regs > out->registers)
            out->registers = regs;
    }
    for (const char *p = text; (p = strstr(p, "bytes spill stores")); p++) {
        const char *q = p;
        while (q > text && q[-1] == ' ')
            q--;
        while (q > text && q[-1] >= '0' && q[-1] <= '9')
            q--;
        int stores = atoi(q), loads = 0;
        const char *l = strstr(p, "spill stores,");
        if (l)
            sscanf(l, "spill stores, %d bytes spill loads", &loads);
        if (stores > out->spill_store_bytes)
            out->spill_store_bytes = stores;
        if (loads > out->spill_load_bytes)
            out->spill_load_bytes = loads;
    }
}

/* The ptxas on PATH, or the CUDA toolkit's; NULL when neither. */
static const char *find_ptxas(char *buf, size_t size)
{
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s:/usr/local/cuda/bin", path ? path : "");
    for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        snprintf(buf, size, "%s/ptxas", dir);
        if (access(buf, X_OK) == 0)
            return buf;
    }
    return NULL;
}

/* The whole of a small file, malloc'ed; NULL when it cannot be read. */
static void *read_whole(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n))) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    *size = buf ? (size_t)n : 0;
    return buf;
}

int ptxas_check(const char *ptx, const char *arch, PtxasReport *report, char *err, size_t errlen)
{
    return ptxas_assemble(ptx, arch, report, NULL, NULL, err, errlen);
}

int ptxas_assemble(const char *ptx, const char *arch, PtxasReport *report, void **cubin,
                   size_t *cubin_size, char *err, size_t errlen)
{
    memset(report, 0, sizeof *report);
    if (cubin) {
        *cubin = NULL;
        *cubin_size = 0;
    }
    char ptxas[4200];
    if (!find_ptxas(ptxas, sizeof ptxas))
        return 0;
    char dir[] = "/tmp/tilec-ptxas-XXXXXX";
    if (!mkdtemp(dir)) {
        snprintf(err, errlen, "cannot make a temp dir for ptxas: %s", strerror(errno));
        return -1;
    }
    char in[64], obj[64], log[64];
    snprintf(in, sizeof in, "%s/k.ptx", dir);
    snprintf(obj, sizeof obj, "%s/k.cubin", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    int status = -1;
    FILE *f = fopen(in, "w");
    if (!f || fputs(ptx, f) < 0 || fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s", in);
        goto done;
    }
    char arch_flag[64];
    snprintf(arch_flag, sizeof arch_flag, "-arch=%s", arch);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto done;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(ptxas, "ptxas", arch_flag, "-v", in, "-o", obj, (char *)NULL);
        _exit(127);
    }
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    char text[16384] = "";
    f = fopen(log, "r");
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = 0;
        fclose(f);
    }
    if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
        snprintf(err, errlen, "ptxas rejected the PTX: %.400s", text);
        goto done;
    }
    ptxas_parse_report(text, report);
    if (cubin && !(*cubin = read_whole(obj, cubin_size))) {
        snprintf(err, errlen, "cannot read ptxas's output %s", obj);
        goto done;
    }
    status = 0;
done:
    unlink(in);
    unlink(obj);
    unlink(log);
    rmdir(dir);
    return status;
}
