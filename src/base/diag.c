/* diag.c — diagnostics in the GCC/clang format: `file:line:col: error: message`, then the
   source line and a caret under the column, so editors and people find the spot. */
#include <string.h>

#include "base.h"

enum { DEFAULT_MAX_ERRORS = 50, MAX_SHOWN_LINE = 200 };

/* Prints the source line holding `loc` with a caret under its column. Long lines are cut
   to a window around the column so a 10 MB line does not flood the terminal. */
static void print_source_line(FILE *out, Loc loc)
{
    const SourceFile *f = loc.file;
    if (!f || !f->text || loc.line < 1)
        return;
    const char *p = f->text, *end = f->text + f->len;
    for (int line = 1; line < loc.line && p < end; p++)
        if (*p == '\n')
            line++;
    const char *eol = p;
    while (eol < end && *eol != '\n')
        eol++;
    size_t len = (size_t)(eol - p);
    size_t col = loc.col > 0 ? (size_t)loc.col - 1 : 0;
    size_t start = 0;
    if (col > MAX_SHOWN_LINE / 2 && len > MAX_SHOWN_LINE)
        start = col - MAX_SHOWN_LINE / 2;
    size_t shown = len - (start < len ? start : len);
    if (shown > MAX_SHOWN_LINE)
        shown = MAX_SHOWN_LINE;
    fputs("    ", out);
    for (size_t i = 0; i < shown; i++) {
        unsigned char ch = (unsigned char)p[start + i];
        fputc(ch == '\t' || (ch >= 0x20 && ch < 0x7f) ? ch : '?', out);
    }
    fputs("\n    ", out);
    for (size_t i = start; i < col && i - start < shown; i++)
        fputc(p[i] == '\t' ? '\t' : ' ', out);
    fputs("^\n", out);
}

void diag_verror(Diag *d, Loc loc, const char *kind, const char *fmt, va_list ap)
{
    int max = d->max_errors ? d->max_errors : DEFAULT_MAX_ERRORS;
    bool is_error = strcmp(kind, "error") == 0;
    if (is_error)
        d->errors++;
    if (d->suppressed || !d->out)   /* no stream: the errors are only counted */
        return;
    if (is_error && d->errors > max) {
        fprintf(d->out, "tilec: too many errors (%d), stopping\n", max);
        d->suppressed = true;
        return;
    }
    if (loc.file)
        fprintf(d->out, "%s:%d:%d: %s: ", loc.file->path, loc.line, loc.col, kind);
    else
        fprintf(d->out, "tilec: %s: ", kind);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
    print_source_line(d->out, loc);
}

void diag_error(Diag *d, Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_verror(d, loc, "error", fmt, ap);
    va_end(ap);
}

void diag_note(Diag *d, Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_verror(d, loc, "note", fmt, ap);
    va_end(ap);
}

void diag_warning(Diag *d, Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_verror(d, loc, "warning", fmt, ap);
    va_end(ap);
}
