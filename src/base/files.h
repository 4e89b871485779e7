/* files.h — the files tilec reads and writes (files.c). An input opens only if it is a
   regular file. An output never overwrites an input; a regular file is replaced whole (a
   temp file beside it, renamed over it once written: a failed or killed write keeps the old
   file, and the next writer removes a dead one's temp file); a symlink keeps its link and
   its target is replaced; anything else (a FIFO, /dev/stdout, a terminal) is written in
   place. docs/run.md describes it for users. */
#ifndef TILEC_FILES_H
#define TILEC_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Opens `path` for reading when it is a regular file (after symlinks); NULL with the reason
   in `why` ("Is a directory", "not a regular file (...)": never a wait on a FIFO). */
FILE *infile_open(const char *path, char *why, size_t whylen);

/* -1 with the reason in err when `output` names the same file (device and inode) as one of
   `inputs` (NULL entries are skipped); 0 when it does not, is not there yet, or is "-". */
int outfile_refuse_input(const char *output, const char *const *inputs, int ninputs,
                         char *err, size_t errlen);

/* Do two output paths land on the same file (after symlinks and "..", whether it is there
   yet or not)? */
bool outfile_same_destination(const char *a, const char *b);

typedef struct OutFile {
    FILE *f;                  /* write here */
    bool durable;             /* fsync before the rename (set it before outfile_commit) */
    char *path;               /* as given; NULL: standard output */
    char *target;             /* the file a finished write replaces; NULL: written in place */
    char *temp;               /* the temp file beside target */
    int fd;
    int write_errno;          /* the first write error, reported by outfile_commit */
} OutFile;

/* Opens an output: `path`, or standard output for NULL or "-". NULL with "cannot write
   'PATH': why" in err. */
OutFile *outfile_open(const char *path, char *err, size_t errlen);
/* Finishes it: checks every write, closes, renames the temp file over the destination.
   -1 with "cannot write 'PATH': why" in err (the destination is then as it was). Frees o. */
int outfile_commit(OutFile *o, char *err, size_t errlen);
/* Drops it: a file stays as it was (standard output keeps what was written). Frees o;
   NULL is allowed. */
void outfile_discard(OutFile *o);

#endif
