/* files.c — the files tilec reads and writes. An input opens only as a regular file (a
   directory or FIFO is an error, never a hang). Every output goes through an OutFile:
   never onto one of the command's inputs, a regular file replaced whole (a temp file
   beside it, renamed over it once written, so a failed or killed write keeps the old
   one), anything else written in place, and every write error reported. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base.h"

/* A temp file is "<name>.tilec-tmp.<random>" beside its destination; the name is cut so
   the whole fits NAME_MAX. */
#define TEMP_MARK ".tilec-tmp."
enum { TEMP_NAME_BYTES = 200 };

FILE *infile_open(const char *path, char *why, size_t whylen)
{
    /* O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "%s", S_ISDIR(st.st_mode) ? strerror(EISDIR)
                 : "not a regular file (a FIFO, socket or device)");
        close(fd);
        return NULL;
    }
    FILE *f = fcntl(fd, F_SETFL, 0) == 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        snprintf(why, whylen, "%s", strerror(errno));
        close(fd);
    }
    return f;
}

int outfile_refuse_input(const char *output, const char *const *inputs, int ninputs, char *err,
                         size_t errlen)
{
    struct stat out, in;
    if (!output || strcmp(output, "-") == 0 || stat(output, &out) != 0)
        return 0;   /* standard output, or a file not there yet */
    for (int i = 0; i < ninputs; i++)
        if (inputs[i] && stat(inputs[i], &in) == 0 && in.st_dev == out.st_dev &&
            in.st_ino == out.st_ino) {
            snprintf(err, errlen, "'%s' is the same file as the input '%s': refusing to "
                     "overwrite an input", output, inputs[i]);
            return -1;
        }
    return 0;
}

/* Where a write to `path` lands: its real path, or for a file not there yet its folder's
   real path and its name (malloc'ed; NULL when the folder is not there either). */
static char *destination_of(const char *path)
{
    char *real = realpath(path, NULL);
    if (real)
        return real;
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path + 1)) : strdup(".");
    char *real_dir = dir ? realpath(dir, NULL) : NULL;
    char *joined = NULL;
    if (real_dir && asprintf(&joined, "%s/%s", real_dir, slash ? slash + 1 : path) < 0)
        joined = NULL;
    free(dir);
    free(real_dir);
    return joined;
}

bool outfile_same_destination(const char *a, const char *b)
{
    char *x = destination_of(a), *y = destination_of(b);
    bool same = x && y ? strcmp(x, y) == 0 : strcmp(a, b) == 0;
    free(x);
    free(y);
    return same;
}

/* ---- temp files: a writer holds an flock on its temp file until it is done, so a temp
   file nobody holds belongs to a writer that died (the kernel drops a dead process's
   locks) and the next writer of the same destination removes it. */

/* "<dir>/<base cut to TEMP_NAME_BYTES>.tilec-tmp." for destination `target`. */
static char *temp_prefix(const char *target)
{
    const char *slash = strrchr(target, '/');
    const char *base = slash ? slash + 1 : target;
    int dir_len = slash ? (int)(slash - target + 1) : 0;
    size_t base_len = strlen(base);
    int cut = base_len > TEMP_NAME_BYTES ? TEMP_NAME_BYTES : (int)base_len;
    size_t size = (size_t)dir_len + (size_t)cut + sizeof TEMP_MARK;
    char *prefix = malloc(size);
    if (prefix)
        snprintf(prefix, size, "%.*s%.*s%s", dir_len, target, cut, base, TEMP_MARK);
    return prefix;
}

/* Removes the temp files of dead writers of `target` (whose name starts with `prefix`). */
static void remove_dead_temps(const char *prefix)
{
    const char *slash = strrchr(prefix, '/');
    const char *name_prefix = slash ? slash + 1 : prefix;
    char dir_path[PATH_MAX];
    snprintf(dir_path, sizeof dir_path, "%.*s", slash ? (int)(slash - prefix + 1) : 2,
             slash ? prefix : "./");
    DIR *dir = opendir(dir_path);
    if (!dir)
        return;
    size_t n = strlen(name_prefix);
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (strncmp(e->d_name, name_prefix, n) != 0)
            continue;
        char path[PATH_MAX + NAME_MAX + 2];
        snprintf(path, sizeof path, "%s%s", dir_path, e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
            continue;
        struct stat held, named;
        /* unlocked, and still the file of that name: its writer is gone */
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &held) == 0 &&
            lstat(path, &named) == 0 && held.st_dev == named.st_dev &&
            held.st_ino == named.st_ino && S_ISREG(named.st_mode))
            unlink(path);
        close(fd);
    }
    closedir(dir);
}

/* Creates and locks a new temp file "<prefix><random>"; mode 0666 less the umask, as a
   new file gets. Returns its fd (the name in *temp, malloc'ed) or -1 with errno. */
static int create_temp(const char *prefix, char **temp)
{
    size_t size = strlen(prefix) + 32;
    *temp = malloc(size);
    if (!*temp) {
        errno = ENOMEM;
        return -1;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    unsigned long long seed = ((unsigned long long)getpid() << 32) ^
                              (unsigned long long)now.tv_nsec ^ (uintptr_t)*temp;
    for (int attempt = 0; attempt < 64; attempt++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        snprintf(*temp, size, "%s%06llx", prefix, (seed >> 40) & 0xffffff);
        int fd = open(*temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            flock(fd, LOCK_EX | LOCK_NB);   /* new, so nobody else holds it */
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    int saved = errno;
    free(*temp);
    *temp = NULL;
    errno = saved;
    return -1;
}

/* ---- the stream: every write goes straight to the fd, and the first error is kept for
   the message (stdio alone forgets which write failed and why). */

static ssize_t stream_write(void *cookie, const char *buf, size_t size)
{
    OutFile *o = cookie;
    size_t done = 0;
    while (!o->write_errno && done < size) {
        ssize_t n = write(o->fd, buf + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            o->write_errno = n < 0 ? errno : EIO;
        else
            done += (size_t)n;
    }
    return o->write_errno ? 0 : (ssize_t)size;   /* 0: stdio marks the stream in error */
}

static void describe(const OutFile *o, int error, char *err, size_t errlen)
{
    if (o->path)
        snprintf(err, errlen, "cannot write '%s': %s", o->path, strerror(error));
    else
        snprintf(err, errlen, "cannot write to standard output: %s", strerror(error));
}

static void outfile_free(OutFile *o)
{
    free(o->path);
    free(o->temp);
    free(o->target);
    free(o);
}

/* Is `st` the file our standard output or error already writes (/dev/stdout, /proc/self/fd/2,
   or its path)? Then writing through that descriptor keeps the shell's `>` or `>>`. */
static int standard_stream_of(const struct stat *st)
{
    struct stat s;
    for (int fd = 1; fd <= 2; fd++)
        if (fstat(fd, &s) == 0 && s.st_dev == st->st_dev && s.st_ino == st->st_ino)
            return fd;
    return -1;
}

/* The replacement keeps the old file's mode, and its owner and group where we may. */
static void keep_mode(int fd, const struct stat *old)
{
    if (fchown(fd, old->st_uid, old->st_gid) != 0 && fchown(fd, (uid_t)-1, old->st_gid) != 0) {
        /* neither is ours to give: the new file stays ours, as a fresh one would */
    }
    fchmod(fd, old->st_mode & 07777);
}

/* Picks how to write o->path: sets o->fd, and o->target and o->temp unless in place. */
static int open_destination(OutFile *o, char *err, size_t errlen)
{
    struct stat old, link;
    bool exists = stat(o->path, &old) == 0;
    int std_fd;
    if (exists && S_ISDIR(old.st_mode))
        errno = EISDIR;
    else if (exists && (std_fd = standard_stream_of(&old)) >= 0) {
        fflush(std_fd == 1 ? stdout : stderr);
        o->fd = dup(std_fd);
    } else if (exists && !S_ISREG(old.st_mode))   /* a FIFO, a terminal, /dev/null */
        o->fd = open(o->path, O_WRONLY | O_CLOEXEC);
    else if (exists)
        o->target = realpath(o->path, NULL);   /* a symlink keeps its link */
    else if (errno == ENOENT && lstat(o->path, &link) == 0 && S_ISLNK(link.st_mode))
        o->fd = open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);   /* dangling */
    else if (errno == ENOENT)
        o->target = strdup(o->path);
    if (o->fd < 0 && !o->target) {
        describe(o, errno ? errno : ENOMEM, err, errlen);
        return -1;
    }
    if (o->fd >= 0)
        return 0;
    char *prefix = temp_prefix(o->target);
    if (!prefix) {
        describe(o, ENOMEM, err, errlen);
        return -1;
    }
    remove_dead_temps(prefix);
    o->fd = create_temp(prefix, &o->temp);
    free(prefix);
    if (o->fd < 0 && exists && (errno == EACCES || errno == EPERM)) {
        /* a file we may write in a folder we may not create in: only in place */
        free(o->target);
        o->target = NULL;
        o->fd = open(o->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    }
    if (o->fd < 0) {
        describe(o, errno, err, errlen);
        return -1;
    }
    if (exists && o->temp)
        keep_mode(o->fd, &old);
    return 0;
}

OutFile *outfile_open(const char *path, char *err, size_t errlen)
{
    OutFile *o = calloc(1, sizeof *o);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    o->fd = -1;
    int status;
    if (!path || strcmp(path, "-") == 0) {
        fflush(stdout);   /* what was printed before comes first */
        o->fd = dup(1);
        status = o->fd >= 0 ? 0 : -1;
        if (status)
            describe(o, errno, err, errlen);
    } else if (!(o->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        status = -1;
    } else
        status = open_destination(o, err, errlen);
    cookie_io_functions_t io = {.write = stream_write};
    if (status == 0 && !(o->f = fopencookie(o, "w", io))) {
        describe(o, errno, err, errlen);
        status = -1;
    }
    if (status != 0) {
        if (o->fd >= 0)
            close(o->fd);
        if (o->temp)
            unlink(o->temp);
        outfile_free(o);
        return NULL;
    }
    return o;
}

int outfile_commit(OutFile *o, char *err, size_t errlen)
{
    int error = 0;
    if (fflush(o->f) != 0 || ferror(o->f))
        error = o->write_errno ? o->write_errno : errno ? errno : EIO;
    fclose(o->f);
    if (!error && o->durable && o->temp && fsync(o->fd) != 0)
        error = errno;
    if (close(o->fd) != 0 && !error)
        error = errno;
    if (!error && o->temp && rename(o->temp, o->target) != 0)
        error = errno;
    if (error) {
        describe(o, error, err, errlen);
        if (o->temp)
            unlink(o->temp);
    }
    outfile_free(o);
    return error ? -1 : 0;
}

void outfile_discard(OutFile *o)
{
    if (!o)
        return;
    if (o->path)
        o->write_errno = ECANCELED;   /* nothing more reaches the file */
    fclose(o->f);
    close(o->fd);
    if (o->temp)
        unlink(o->temp);
    outfile_free(o);
}
