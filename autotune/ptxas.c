/* ptxas.c — CUDA's assembler run on PTX text: the one runner (found on PATH or in the
   CUDA toolkit, spawned in a temp dir) behind the bundle writer's cubins and the tuner's
   spill check and candidate machine code, and the parser of its `-v` report. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autotune.h"

extern char **environ;

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
    static const char *const serialising[] = {"(C7508)", "(C7510)", "(C7511)", "(C7515)",
                                               "(C7517)", "(C7519)"};
    for (size_t i = 0; i < sizeof serialising / sizeof serialising[0]; i++)
        out->serialised |= strstr(text, serialising[i]) != NULL;
}

const char *ptxas_find(char *buf, size_t size)
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

/* The whole of a small file, malloc'ed; NULL when it cannot be read or is empty. */
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

/* Runs argv with its standard output and error in `log`; the exit status as waitpid gives
   it, or -1 (errno set) when it could not be started. */
static int spawn_logged(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t actions;
    if (posix_spawn_file_actions_init(&actions) != 0)
        return -1;
    pid_t pid;
    int rc = posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (rc == 0)
        rc = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0)
        if (errno != EINTR)
            return -1;
    return wstatus;
}

int ptxas_check(const char *ptx, const char *arch, PtxasReport *report, char *err, size_t errlen)
{
    return ptxas_assemble(NULL, ptx, arch, report, NULL, NULL, err, errlen);
}

/* ptxas's input, output and log, in one temp dir. */
typedef struct PtxasFiles {
    char dir[32], in[64], obj[64], log[64];
} PtxasFiles;

static int make_files(PtxasFiles *f, const char *ptx, char *err, size_t errlen)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/tilec-ptxas-XXXXXX");
    if (!mkdtemp(f->dir)) {
        snprintf(err, errlen, "cannot make a temp dir for ptxas: %s", strerror(errno));
        return -1;
    }
    snprintf(f->in, sizeof f->in, "%s/k.ptx", f->dir);
    snprintf(f->obj, sizeof f->obj, "%s/k.cubin", f->dir);
    snprintf(f->log, sizeof f->log, "%s/log", f->dir);
    FILE *in = fopen(f->in, "w");
    bool written = in && fputs(ptx, in) >= 0;
    if (in && fclose(in) != 0)
        written = false;
    if (!written) {
        snprintf(err, errlen, "cannot write %s", f->in);
        return -1;
    }
    return 0;
}

static void remove_files(const PtxasFiles *f)
{
    unlink(f->in);
    unlink(f->obj);
    unlink(f->log);
    rmdir(f->dir);
}

/* `ptxas -arch=ARCH [-v] -o OBJ IN` (-v only when asked: ptxas records its options in the
   cubin); its log in `text`. Returns 0, or -1 with the reason. */
static int run_ptxas(const char *ptxas, const char *arch, bool verbose, const PtxasFiles *f,
                     char *text, size_t size, char *err, size_t errlen)
{
    char arch_flag[64];
    snprintf(arch_flag, sizeof arch_flag, "-arch=%s", arch);
    char *argv[7];
    int argc = 0;
    argv[argc++] = (char *)ptxas;
    argv[argc++] = arch_flag;
    if (verbose)
        argv[argc++] = (char *)"-v";
    argv[argc++] = (char *)"-o";
    argv[argc++] = (char *)f->obj;
    argv[argc++] = (char *)f->in;
    argv[argc] = NULL;
    int wstatus = spawn_logged(argv, f->log);
    if (wstatus == -1) {
        snprintf(err, errlen, "cannot run %s: %s", ptxas, strerror(errno));
        return -1;
    }
    text[0] = 0;
    FILE *log = fopen(f->log, "r");
    if (log) {
        text[fread(text, 1, size - 1, log)] = 0;
        fclose(log);
    }
    if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
        snprintf(err, errlen, "ptxas rejected the PTX: %.400s", text);
        return -1;
    }
    return 0;
}

int ptxas_assemble(const char *ptxas, const char *ptx, const char *arch, PtxasReport *report,
                   void **cubin, size_t *cubin_size, char *err, size_t errlen)
{
    if (report)
        memset(report, 0, sizeof *report);
    if (cubin) {
        *cubin = NULL;
        *cubin_size = 0;
    }
    char found[4200];
    if (!ptxas && !(ptxas = ptxas_find(found, sizeof found)))
        return 0;
    PtxasFiles f = {.dir = ""};   /* nothing to remove until make_files names them */
    char text[16384];
    int status = -1;
    if (make_files(&f, ptx, err, errlen) != 0 ||
        run_ptxas(ptxas, arch, report != NULL, &f, text, sizeof text, err, errlen) != 0)
        goto done;
    if (report)
        ptxas_parse_report(text, report);
    if (cubin && !(*cubin = read_whole(f.obj, cubin_size))) {
        snprintf(err, errlen, "cannot read ptxas's output %s", f.obj);
        goto done;
    }
    status = 0;
done:
    remove_files(&f);
    return status;
}
