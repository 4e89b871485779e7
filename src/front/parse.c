/* parse.c — source files to one Program: reads each file, runs the grammar over it,
   follows `include` lines (relative to the including file, each file once, cycles are
   errors), rejects duplicate kernel names and trees nested past MAX_NESTING. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "front.h"

enum { MAX_INCLUDE_DEPTH = 64, SHOWN_PATH_BYTES = 256 };

/* A file on the include chain being read, innermost last. */
typedef struct OpenFile {
    const char *real;         /* realpath, NULL for in-memory text */
    const char *path;         /* as named */
} OpenFile;

typedef struct Loader {
    Arena *arena;
    Diag *diag;
    Program *program;
    SourceFile **files_tail;
    PtrVec kernels;
    PtrVec programs;
    PtrVec done;              /* realpaths of every file read */
    OpenFile chain[MAX_INCLUDE_DEPTH + 1];
    int nchain;
} Loader;

/* Reads a whole regular file into the arena, NUL-terminated; false with the reason in
   `why` on failure. */
static bool read_file(Arena *a, const char *path, char **text, size_t *len, char *why,
                      size_t whylen)
{
    /* Only regular files: a directory, a FIFO or /dev/zero would fail late or never end. */
    FILE *f = infile_open(path, why, whylen);
    if (!f)
        return false;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    bool ok = buf != NULL;
    int error = ok ? 0 : ENOMEM;
    while (ok) {
        if (n == cap) {
            char *bigger = cap < (size_t)INT_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!bigger) {
                error = EFBIG;
                ok = false;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                error = errno ? errno : EIO;
                ok = false;
            }
            break;
        }
    }
    fclose(f);
    if (ok) {
        *text = arena_strndup(a, buf, n);
        *len = n;
    } else
        snprintf(why, whylen, "%s", strerror(error));
    free(buf);
    return ok;
}

static SourceFile *add_source(Loader *L, const char *path, char *text, size_t len)
{
    SourceFile *f = arena_alloc(L->arena, sizeof *f);
    f->path = arena_strdup(L->arena, path);
    f->text = text;
    f->len = len;
    *L->files_tail = f;
    L->files_tail = &f->next;
    return f;
}

/* ---- nesting bound: an iterative walk, so the check itself cannot overflow the stack */

typedef struct WalkItem {
    const Stmt *stmt;
    const Expr *expr;
    int depth;
} WalkItem;

typedef struct Walk {
    WalkItem *items;
    size_t len, cap;
} Walk;

static void walk_push(Walk *w, const Stmt *s, const Expr *e, int depth)
{
    if (!s && !e)
        return;
    if (w->len == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        WalkItem *items = realloc(w->items, cap * sizeof *items);
        if (!items) {
            fputs("tilec: out of memory\n", stderr);
            abort();
        }
        w->items = items;
        w->cap = cap;
    }
    w->items[w->len++] = (WalkItem){s, e, depth};
}

static void walk_push_stmts(Walk *w, Stmt *const *body, int n, int depth)
{
    for (int i = 0; i < n; i++)
        walk_push(w, body[i], NULL, depth);
}

/* Returns the first node nested deeper than MAX_NESTING, or NULL. */
static bool too_deep(const Kernel *k, Loc *where)
{
    Walk w = {0};
    walk_push_stmts(&w, k->body, k->nbody, 1);
    bool deep = false;
    while (w.len > 0 && !deep) {
        WalkItem it = w.items[--w.len];
        Loc loc = it.stmt ? it.stmt->loc : it.expr->loc;
        if (it.depth > MAX_NESTING) {
            *where = loc;
            deep = true;
            break;
        }
        int d = it.depth + 1;
        if (it.stmt) {
            const Stmt *s = it.stmt;
            walk_push(&w, NULL, s->value, d);
            walk_push(&w, NULL, s->target, d);
            walk_push(&w, NULL, s->cond, d);
            for (int i = 0; i < s->nvars; i++) {
                walk_push(&w, NULL, s->vars[i]->start, d);
                walk_push(&w, NULL, s->vars[i]->extent, d);
            }
            walk_push_stmts(&w, s->body, s->nbody, d);
            walk_push_stmts(&w, s->else_body, s->nelse, d);
        } else {
            const Expr *e = it.expr;
            walk_push(&w, NULL, e->lhs, d);
            walk_push(&w, NULL, e->rhs, d);
            walk_push(&w, NULL, e->cond, d);
            for (int i = 0; i < e->nargs; i++)
                walk_push(&w, NULL, e->args[i], d);
        }
    }
    free(w.items);
    return deep;
}

/* ---- includes */

static const char *join_relative(Arena *a, const char *including, const char *path)
{
    if (path[0] == '/')
        return path;
    const char *slash = strrchr(including, '/');
    if (!slash)
        return path;
    return arena_printf(a, "%.*s/%s", (int)(slash - including + 1) - 1, including, path);
}

static bool already_read(const Loader *L, const char *real)
{
    for (int i = 0; i < L->done.len; i++)
        if (strcmp(L->done.items[i], real) == 0)
            return true;
    return false;
}

static void report_cycle(Loader *L, const Include *inc, int from)
{
    size_t size = 64;
    for (int i = from; i < L->nchain; i++)
        size += strlen(L->chain[i].path) + 4;
    size += strlen(L->chain[from].path);
    char *msg = arena_alloc(L->arena, size);
    strcpy(msg, "include cycle: ");
    for (int i = from; i < L->nchain; i++) {
        strcat(msg, L->chain[i].path);
        strcat(msg, " -> ");
    }
    strcat(msg, L->chain[from].path);
    diag_error(L->diag, inc->loc, "%s", msg);
}

static void load_source(Loader *L, SourceFile *file, const char *real);

static void follow_include(Loader *L, const SourceFile *from, const Include *inc)
{
    const char *path = join_relative(L->arena, from->path, inc->path);
    char *resolved = realpath(path, NULL);
    if (!resolved) {
        diag_error(L->diag, inc->loc, "cannot read '%.*s%s': %s", SHOWN_PATH_BYTES, path,
                   strlen(path) > SHOWN_PATH_BYTES ? "..." : "", strerror(errno));
        return;
    }
    const char *real = arena_strdup(L->arena, resolved);
    free(resolved);
    for (int i = 0; i < L->nchain; i++) {
        if (L->chain[i].real && strcmp(L->chain[i].real, real) == 0) {
            report_cycle(L, inc, i);
            return;
        }
    }
    if (already_read(L, real))
        return;
    if (L->nchain >= MAX_INCLUDE_DEPTH) {
        diag_error(L->diag, inc->loc, "includes nested too deeply (more than %d files)",
                   MAX_INCLUDE_DEPTH);
        return;
    }
    char *text, why[128];
    size_t len;
    if (!read_file(L->arena, path, &text, &len, why, sizeof why)) {
        diag_error(L->diag, inc->loc, "cannot read '%.*s%s': %s", SHOWN_PATH_BYTES, path,
                   strlen(path) > SHOWN_PATH_BYTES ? "..." : "", why);
        return;
    }
    load_source(L, add_source(L, path, text, len), real);
}

/* Parses one file, keeps its kernels, then reads the files it includes. */
static void load_source(Loader *L, SourceFile *file, const char *real)
{
    if (real)
        ptrvec_push(L->arena, &L->done, (void *)real);
    L->chain[L->nchain++] = (OpenFile){real, file->path};
    ParsedItems items = {0};
    if (file->len > (size_t)INT_MAX - 2)
        diag_error(L->diag, (Loc){file, 1, 1}, "file is too large (%zu bytes)", file->len);
    else
        grammar_parse(L->arena, L->diag, file, &items);
    for (int i = 0; i < items.programs.len; i++)
        ptrvec_push(L->arena, &L->programs, items.programs.items[i]);
    for (int i = 0; i < items.kernels.len; i++) {
        Kernel *k = items.kernels.items[i];
        Loc where;
        if (too_deep(k, &where)) {
            diag_error(L->diag, where,
                       "nesting too deep: kernel '%s' nests blocks and expressions more than "
                       "%d levels", k->name, MAX_NESTING);
            continue;
        }
        ptrvec_push(L->arena, &L->kernels, k);
    }
    for (int i = 0; i < items.includes.len; i++)
        follow_include(L, file, items.includes.items[i]);
    L->nchain--;
}

/* ---- kernel and program names: unique across a file and its includes, kernels and
   programs together (one entry point each in a bundle); a hash set, so a file of many
   small kernels stays linear */

typedef struct NameSlot {
    const char *name;
    Loc loc;
    const char *kind;         /* "kernel", "program" */
} NameSlot;

/* Whether `name` is new; records it, or reports the second definition. */
static bool claim_name(Loader *L, NameSlot *table, size_t slots, const char *name, Loc loc,
                       const char *kind)
{
    size_t slot = fnv1a(FNV1A_START, name, strlen(name)) & (slots - 1);
    while (table[slot].name && strcmp(table[slot].name, name) != 0)
        slot = (slot + 1) & (slots - 1);
    if (table[slot].name) {
        if (strcmp(table[slot].kind, kind) == 0)
            diag_error(L->diag, loc, "%s '%s' is defined twice", kind, name);
        else
            diag_error(L->diag, loc, "%s '%s' has the name of a %s", kind, name, table[slot].kind);
        diag_note(L->diag, table[slot].loc, "first definition of '%s' is here", name);
        return false;
    }
    table[slot] = (NameSlot){name, loc, kind};
    return true;
}

static void finish_program(Loader *L)
{
    Program *p = L->program;
    size_t slots = 16;
    while (slots < (size_t)(L->kernels.len + L->programs.len) * 2)
        slots *= 2;
    NameSlot *table = arena_alloc(L->arena, slots * sizeof *table);
    p->kernels = arena_alloc(L->arena, (size_t)(L->kernels.len ? L->kernels.len : 1) *
                                       sizeof *p->kernels);
    p->nkernels = 0;
    for (int i = 0; i < L->kernels.len; i++) {
        Kernel *k = L->kernels.items[i];
        if (claim_name(L, table, slots, k->name, k->loc, "kernel"))
            p->kernels[p->nkernels++] = k;
    }
    p->programs = arena_alloc(L->arena, (size_t)(L->programs.len ? L->programs.len : 1) *
                                        sizeof *p->programs);
    p->nprograms = 0;
    for (int i = 0; i < L->programs.len; i++) {
        ProgramDef *pd = L->programs.items[i];
        if (claim_name(L, table, slots, pd->name, pd->loc, "program"))
            p->programs[p->nprograms++] = pd;
    }
}

static Program *load_root(Arena *a, Diag *d, const char *path, char *text, size_t len,
                          const char *real)
{
    Loader L = {.arena = a, .diag = d};
    L.program = arena_alloc(a, sizeof *L.program);
    L.files_tail = &L.program->files;
    SourceFile *root = add_source(&L, path, text, len);
    load_source(&L, root, real);
    finish_program(&L);
    return L.program;
}

Program *parse_program(Arena *a, Diag *d, const char *path)
{
    char *text, why[128];
    size_t len;
    if (!read_file(a, path, &text, &len, why, sizeof why)) {
        diag_error(d, (Loc){0}, "cannot read '%s': %s", path, why);
        return NULL;
    }
    char *resolved = realpath(path, NULL);
    const char *real = resolved ? arena_strdup(a, resolved) : NULL;
    free(resolved);
    return load_root(a, d, path, text, len, real);
}

Program *parse_string(Arena *a, Diag *d, const char *name, const char *text, size_t len)
{
    return load_root(a, d, name, arena_strndup(a, text, len), len, NULL);
}
