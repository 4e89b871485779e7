/* files_test.c — src/base/files.c's OutFile and infile_open: a writer killed mid-write leaves the
   old file and a temp file the next writer removes (a live writer's is kept), a failed
   write leaves the old file and no temp file, a symlink keeps its link and the replaced
   file its mode, a FIFO and /dev/stdout are written in place, an output onto an input is
   refused, and a directory or FIFO is no input. Run by tests/reliability/cases_data_loss.py.
   usage: files_test DIR   (an empty scratch folder; prints `ok` lines, exit 1 on failure) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base.h"
#include "../check.h"

static char dir[512];

static char *path_of(const char *name)
{
    static char buf[4][1024];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static char *get(const char *path)
{
    static char buf[4096];
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
    }
    return buf;
}

/* Temp files in dir (names holding ".tilec-tmp."). */
static int count_temps(void)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c '\\.tilec-tmp\\.' > '%s/count'", dir, dir);
    if (system(cmd) < 0)
        return -1;
    return atoi(get(path_of("count")));
}

static int write_whole(const char *path, const char *text)
{
    char err[512];
    OutFile *o = outfile_open(path, err, sizeof err);
    if (!o) {
        printf("  open: %s\n", err);
        return -1;
    }
    fputs(text, o->f);
    int rc = outfile_commit(o, err, sizeof err);
    if (rc)
        printf("  commit: %s\n", err);
    return rc;
}

static void test_killed_writer(void)
{
    const char *dest = path_of("cache.json");
    put(dest, "old");
    /* a live writer, paused with its temp file open until `go` speaks */
    int ready[2], go[2];
    if (pipe(ready) != 0 || pipe(go) != 0)
        return;
    pid_t live = fork();
    if (live == 0) {
        char err[512], c;
        OutFile *o = outfile_open(dest, err, sizeof err);
        fputs("live", o->f);
        if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(2);
        _exit(outfile_commit(o, err, sizeof err) == 0 ? 0 : 1);
    }
    char c;
    CHECK(read(ready[0], &c, 1) == 1, "the live writer started");
    /* a writer that dies (SIGKILL) with 1 MB written */
    pid_t dead = fork();
    if (dead == 0) {
        char err[512];
        OutFile *o = outfile_open(dest, err, sizeof err);
        for (int i = 0; o && i < 1 << 16; i++)
            fputs("0123456789abcdef", o->f);
        fflush(o->f);
        raise(SIGKILL);
    }
    int st;
    waitpid(dead, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the writer was killed");
    CHECK(strcmp(get(dest), "old") == 0, "the killed writer left the old file: '%.20s'", get(dest));
    CHECK(count_temps() == 2, "the live and the killed writer's temp files (%d)", count_temps());
    CHECK(write_whole(dest, "new") == 0 && strcmp(get(dest), "new") == 0, "a third writer");
    CHECK(count_temps() == 1, "the dead writer's temp file is gone, the live one's kept (%d)",
          count_temps());
    CHECK(write(go[1], "x", 1) == 1, "pipe");
    waitpid(live, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the live writer finished");
    CHECK(strcmp(get(dest), "live") == 0 && count_temps() == 0, "the live writer's file, no temps");
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
    printf("ok killed writer\n");
}

static void test_failed_write(void)
{
    const char *dest = path_of("big.tbn");
    put(dest, "old");
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = {1000, 1000};
        setrlimit(RLIMIT_FSIZE, &lim);
        char err[512];
        OutFile *o = outfile_open(dest, err, sizeof err);
        for (int i = 0; o && i < 1000; i++)
            fputs("0123456789abcdef", o->f);
        int rc = outfile_commit(o, err, sizeof err);
        _exit(rc != 0 && strstr(err, "File too large") && strstr(err, "big.tbn") ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a write past ulimit -f is reported");
    CHECK(strcmp(get(dest), "old") == 0 && count_temps() == 0, "the old file stays, no temp");
    char err[512];
    OutFile *o = outfile_open(dest, err, sizeof err);
    fputs("dropped", o->f);
    outfile_discard(o);
    CHECK(strcmp(get(dest), "old") == 0 && count_temps() == 0, "discard keeps the old file");
    o = outfile_open("/dev/full", err, sizeof err);
    CHECK(o != NULL, "open /dev/full: %s", err);
    if (o) {
        fputs("x", o->f);
        CHECK(outfile_commit(o, err, sizeof err) != 0 && strstr(err, "No space left"),
              "/dev/full: %s", err);
    }
    CHECK(outfile_open(dir, err, sizeof err) == NULL && strstr(err, "Is a directory"),
          "a directory: %s", err);
    printf("ok failed writes\n");
}

static void test_links_and_modes(void)
{
    const char *target = path_of("real.h"), *link = path_of("link.h");
    put(target, "old");
    chmod(target, 0640);
    CHECK(symlink("real.h", link) == 0, "symlink");
    CHECK(write_whole(link, "new") == 0, "write through a symlink");
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link is still a link");
    CHECK(stat(target, &st) == 0 && (st.st_mode & 0777) == 0640 && strcmp(get(target), "new") == 0,
          "its target replaced, mode 0640 kept (%o)", st.st_mode & 0777);
    const char *dangling = path_of("dangling");
    CHECK(symlink("made.txt", dangling) == 0, "symlink");
    CHECK(write_whole(dangling, "made") == 0 && strcmp(get(path_of("made.txt")), "made") == 0,
          "a dangling link creates its target");
    /* a FIFO is written in place, to whoever reads it */
    const char *fifo = path_of("fifo");
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
    pid_t reader = fork();
    if (reader == 0) {
        char buf[16] = "";
        int fd = open(fifo, O_RDONLY);
        ssize_t n = read(fd, buf, sizeof buf - 1);
        _exit(n == 4 && memcmp(buf, "pipe", 4) == 0 ? 0 : 1);
    }
    CHECK(write_whole(fifo, "pipe") == 0, "write a FIFO");
    int rs;
    waitpid(reader, &rs, 0);
    CHECK(WIFEXITED(rs) && WEXITSTATUS(rs) == 0, "the FIFO's reader got the text");
    CHECK(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO is still a FIFO");
    /* /dev/stdout, when standard output is a file: written through it, the file kept */
    const char *out = path_of("stdout.txt");
    put(out, "");
    struct stat before;
    stat(out, &before);
    fflush(stdout);   /* the child's outfile_open flushes what is pending */
    pid_t child = fork();
    if (child == 0) {
        int fd = open(out, O_WRONLY);
        dup2(fd, 1);
        _exit(write_whole("/dev/stdout", "std") == 0 ? 0 : 1);
    }
    waitpid(child, &rs, 0);
    CHECK(WIFEXITED(rs) && WEXITSTATUS(rs) == 0 && strcmp(get(out), "std") == 0 &&
          stat(out, &st) == 0 && st.st_ino == before.st_ino, "/dev/stdout: '%s'", get(out));
    printf("ok links, modes, FIFOs\n");
}

static void test_inputs(void)
{
    const char *src = path_of("k.tile"), *hard = path_of("hard.tile");
    put(src, "kernel");
    CHECK(link(src, hard) == 0, "hard link");
    char err[1024];
    const char *inputs[] = {NULL, src};
    CHECK(outfile_refuse_input(hard, inputs, 2, err, sizeof err) != 0 &&
          strstr(err, "same file as the input"), "a hard link to an input: %s", err);
    CHECK(outfile_refuse_input(path_of("new.tbn"), inputs, 2, err, sizeof err) == 0,
          "a new file is no input");
    CHECK(outfile_refuse_input("-", inputs, 2, err, sizeof err) == 0, "standard output");
    char why[128];
    CHECK(!infile_open(dir, why, sizeof why) && strcmp(why, "Is a directory") == 0,
          "a directory: %s", why);
    CHECK(!infile_open(path_of("fifo"), why, sizeof why) && strstr(why, "not a regular file"),
          "a FIFO: %s", why);
    FILE *f = infile_open(src, why, sizeof why);
    CHECK(f && fgetc(f) == 'k', "a regular file reads");
    if (f)
        fclose(f);
    printf("ok inputs\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: files_test DIR\n", stderr);
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    test_killed_writer();
    test_failed_write();
    test_links_and_modes();
    test_inputs();
    return failures ? 1 : 0;
}
