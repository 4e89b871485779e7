/* bench_child.c — the benchmark child process. Candidates run in a child (a fork of the
   tuner, or a fresh exec of it) that owns the GPU, so a crash, an illegal address or a
   hang costs only the candidate: the child is killed or reaped and started again on the
   next request, and the candidate is scored as failed. Requests and replies travel over
   a socket pair (send with MSG_NOSIGNAL: a dead child never kills the tuner with SIGPIPE). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "autotune.h"

enum { REQ_REFERENCE = 1, REQ_BENCH = 2, REQ_QUIT = 3 };

typedef struct Request {
    uint32_t kind;
    uint32_t pad;
    uint64_t size;         /* payload bytes that follow */
    double best_ms;
} Request;

typedef struct Reply {
    int32_t status;        /* TuneStatus; for start and reference: 0 ok, -1 failed */
    int32_t reps;
    int32_t early_stopped;
    int32_t pad;
    double median_ms, min_ms;
    char message[384];
} Reply;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int send_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Blocking read of exactly n bytes (the child's side): 1 ok, 0 end of stream, -1 error. */
static int recv_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? 0 : -1;
        p += r;
        n -= (size_t)r;
    }
    return 1;
}

enum { WAIT_OK = 1, WAIT_EOF = 0, WAIT_ERROR = -1, WAIT_TIMEOUT = -2, WAIT_INTERRUPTED = -3 };

/* The tuner's side: reads n bytes before `deadline`, giving up when interrupt_fd turns
   readable. */
static int recv_deadline(int fd, void *buf, size_t n, double deadline, int interrupt_fd)
{
    char *p = buf;
    while (n > 0) {
        double left = deadline - now_s();
        if (left <= 0)
            return WAIT_TIMEOUT;
        struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = interrupt_fd, .events = POLLIN}};
        int nfds = interrupt_fd >= 0 ? 2 : 1;
        int r = poll(fds, (nfds_t)nfds, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return WAIT_ERROR;
        if (nfds == 2 && (fds[1].revents & POLLIN))
            return WAIT_INTERRUPTED;
        if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return got == 0 ? WAIT_EOF : WAIT_ERROR;
        p += got;
        n -= (size_t)got;
    }
    return WAIT_OK;
}

static void reply_message(Reply *r, const char *msg)
{
    snprintf(r->message, sizeof r->message, "%s", msg);
}

int bench_child_device(void)
{
    const char *env = getenv("TILEC_BENCH_DEVICE");
    char *end;
    long d = env ? strtol(env, &end, 10) : -1;
    return env && *env && !*end && d >= 0 && d < 4096 ? (int)d : -1;
}

int bench_child_serve(const TuneBackend *b, int fd, int device)
{
    Reply ready = {0};
    char err[384] = "";
    if (b->child_start && b->child_start(b->ctx, device, err, sizeof err) != 0) {
        ready.status = -1;
        reply_message(&ready, err[0] ? err : "the benchmark child could not start");
        send_all(fd, &ready, sizeof ready);
        return 1;
    }
    if (send_all(fd, &ready, sizeof ready) != 0)
        return 1;
    for (;;) {
        Request req;
        if (recv_all(fd, &req, sizeof req) != 1 || req.kind == REQ_QUIT)
            break;
        void *payload = req.size ? malloc(req.size) : NULL;
        if (req.size && (!payload || recv_all(fd, payload, req.size) != 1)) {
            free(payload);
            break;
        }
        Reply rep = {0};
        err[0] = 0;
        if (req.kind == REQ_REFERENCE) {
            rep.status = b->child_reference ?
                b->child_reference(b->ctx, payload, req.size, err, sizeof err) : 0;
        } else {
            BenchTiming t = {0};
            rep.status = (int32_t)b->child_benchmark(b->ctx, payload, req.size, req.best_ms, &t,
                                                     err, sizeof err);
            rep.median_ms = t.median_ms;
            rep.min_ms = t.min_ms;
            rep.reps = t.reps;
            rep.early_stopped = t.early_stopped;
        }
        reply_message(&rep, err);
        free(payload);
        if (send_all(fd, &rep, sizeof rep) != 0)
            break;
    }
    if (b->child_stop)
        b->child_stop(b->ctx);
    return 0;
}

/* Reaps the child (killing it first when `kill_it`) and says how it ended. */
static void reap(BenchChild *c, bool kill_it, char *msg, size_t msglen)
{
    if (c->pid <= 0)
        return;
    int status = 0;
    if (!kill_it) {
        /* the stream ended: the child is dying; give it a moment to say how */
        double deadline = now_s() + 2.0;
        pid_t r;
        while ((r = waitpid(c->pid, &status, WNOHANG)) == 0 && now_s() < deadline) {
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        kill_it = r == 0;
        if (r != 0)
            goto reaped;
    }
    if (kill_it)
        kill(c->pid, SIGKILL);
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
        ;
reaped:
    if (msg && msglen) {
        if (WIFSIGNALED(status))
            snprintf(msg, msglen, "the benchmark child died of signal %d (%s)", WTERMSIG(status),
                     strsignal(WTERMSIG(status)));
        else
            snprintf(msg, msglen, "the benchmark child exited with status %d", WEXITSTATUS(status));
    }
    close(c->sock);
    c->sock = -1;
    c->pid = -1;
}

static double start_timeout(const BenchChild *c)
{
    double t = c->timeout_s > 0 ? 3 * c->timeout_s : 30;
    return t < 30 ? 30 : t;
}

/* Sends one request and waits for its reply. */
static int exchange(BenchChild *c, uint32_t kind, const void *data, size_t size, double best_ms,
                    double timeout_s, int interrupt_fd, Reply *rep)
{
    Request req = {.kind = kind, .size = size, .best_ms = best_ms};
    if (send_all(c->sock, &req, sizeof req) != 0 || (size && send_all(c->sock, data, size) != 0))
        return WAIT_EOF;
    return recv_deadline(c->sock, rep, sizeof *rep, now_s() + timeout_s, interrupt_fd);
}

void bench_visible_entry(int device, char *buf, size_t size)
{
    /* under a CUDA_VISIBLE_DEVICES list the driver's ordinal d is the list's d-th entry */
    const char *list = getenv("CUDA_VISIBLE_DEVICES");
    snprintf(buf, size, "%d", device);
    if (list && *list) {
        const char *p = list;
        for (int i = 0; i < device && p; i++)
            p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
        if (p)
            snprintf(buf, size, "%.*s", (int)strcspn(p, ","), p);
    }
}

void bench_child_pin(BenchChild *c, int device)
{
    c->device = device;
    c->env_visible[0] = c->env_device[0] = 0;
    if (device < 0)
        return;
    char entry[128];
    bench_visible_entry(device, entry, sizeof entry);
    snprintf(c->env_visible, sizeof c->env_visible, "CUDA_VISIBLE_DEVICES=%s", entry);
    snprintf(c->env_device, sizeof c->env_device, "TILEC_BENCH_DEVICE=%d", device);
}

int bench_child_start(BenchChild *c)
{
    c->error[0] = 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(c->error, sizeof c->error, "socketpair: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(c->error, sizeof c->error, "fork: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        /* Ctrl-C reaches the whole process group: the tuner decides, the child carries on
           until it is told to quit or killed */
        signal(SIGINT, SIG_IGN);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        close(sv[0]);
        /* the strings were made before the fork: putenv only links them in */
        if (c->device >= 0 && (putenv(c->env_visible) != 0 || putenv(c->env_device) != 0))
            _exit(125);
        if (c->exec_argv) {
            if (sv[1] == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(sv[1], 3) < 0)
                _exit(126);
            execv(c->exec_argv[0], (char *const *)c->exec_argv);
            _exit(127);
        }
        _exit(bench_child_serve(c->backend, sv[1], c->device));
    }
    close(sv[1]);
    c->pid = pid;
    c->sock = sv[0];
    Reply ready;
    int w = recv_deadline(c->sock, &ready, sizeof ready, now_s() + start_timeout(c), -1);
    if (w != WAIT_OK || ready.status != 0) {
        if (w == WAIT_OK)
            snprintf(c->error, sizeof c->error, "%s", ready.message);
        else if (w == WAIT_TIMEOUT)
            snprintf(c->error, sizeof c->error, "the benchmark child did not start in %.0f s",
                     start_timeout(c));
        reap(c, true, c->error[0] ? NULL : c->error, sizeof c->error);
        return -1;
    }
    if (c->reference || c->reference_size) {
        Reply rep;
        w = exchange(c, REQ_REFERENCE, c->reference, c->reference_size, 0, start_timeout(c), -1, &rep);
        if (w != WAIT_OK || rep.status != 0) {
            if (w == WAIT_OK)
                snprintf(c->error, sizeof c->error, "the reference failed: %s", rep.message);
            else
                snprintf(c->error, sizeof c->error, "the reference run %s",
                         w == WAIT_TIMEOUT ? "timed out" : "crashed");
            reap(c, true, NULL, 0);
            return -1;
        }
    }
    return 0;
}

TuneStatus bench_child_run(BenchChild *c, const void *data, size_t size, double best_ms,
                           int interrupt_fd, BenchTiming *out, char *msg, size_t msglen)
{
    memset(out, 0, sizeof *out);
    out->median_ms = out->min_ms = INFINITY;
    if (msg && msglen)
        msg[0] = 0;
    if (c->pid <= 0) {
        if (bench_child_start(c) != 0) {
            snprintf(msg, msglen, "%s", c->error);
            return TUNE_BENCH_FAILED;
        }
        if (c->restarts >= 0)
            c->restarts++;
    }
    Reply rep;
    double timeout = c->timeout_s > 0 ? c->timeout_s : 10;
    int w = exchange(c, REQ_BENCH, data, size, best_ms, timeout, interrupt_fd, &rep);
    switch (w) {
    case WAIT_OK:
        break;
    case WAIT_TIMEOUT:
        reap(c, true, NULL, 0);
        snprintf(msg, msglen, "no answer in %.1f s: killed", timeout);
        return TUNE_TIMEOUT;
    case WAIT_INTERRUPTED:
        reap(c, true, NULL, 0);
        snprintf(msg, msglen, "interrupted");
        return TUNE_INTERRUPTED;
    default:
        reap(c, false, msg, msglen);
        return TUNE_CRASHED;
    }
    snprintf(msg, msglen, "%s", rep.message);
    out->median_ms = rep.median_ms;
    out->min_ms = rep.min_ms;
    out->reps = rep.reps;
    out->early_stopped = rep.early_stopped != 0;
    if (rep.status < 0 || rep.status >= TUNE_STATUS_COUNT)
        return TUNE_BENCH_FAILED;
    return (TuneStatus)rep.status;
}

void bench_child_stop(BenchChild *c)
{
    if (c->pid <= 0)
        return;
    Request req = {.kind = REQ_QUIT};
    send_all(c->sock, &req, sizeof req);
    /* a child that does not leave within a second is killed */
    double deadline = now_s() + 1.0;
    int status;
    while (now_s() < deadline) {
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        if (r == c->pid || (r < 0 && errno != EINTR)) {
            close(c->sock);
            c->sock = -1;
            c->pid = -1;
            return;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    reap(c, true, NULL, 0);
}
