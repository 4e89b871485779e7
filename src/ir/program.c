/* program.c — the program IR (tir.h): a program's dataflow checks, the order of its calls
   from their dependencies (a writer before its readers, otherwise the order as written),
   each intermediate's live range over that order, and its text form. */
#include <stdlib.h>
#include <string.h>

#include "tir.h"

/* "line:col" of a location, for a message about another place of the same program. */
static const char *line_col(char *buf, size_t size, Loc loc)
{
    snprintf(buf, size, "%d:%d", loc.line, loc.col);
    return buf;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fputs("tilec: out of memory\n", stderr);
        abort();
    }
    return p;
}

/* ---- dataflow: who writes and who reads each value */

/* The argument of call c that writes value v, or reads it (NULL: none). */
static const TirProgArg *value_arg(const TirProgCall *c, int v, bool writes)
{
    for (int a = 0; a < c->nargs; a++) {
        const TirProgArg *arg = &c->args[a];
        if (arg->kind == TIR_PARG_VALUE && arg->index == v && (writes ? arg->writes : arg->reads))
            return arg;
    }
    return NULL;
}

/* One writer per output and intermediate, none for an input, no call that reads a value it
   writes. Sets each value's writer to its call's index (or -1); `written` marks the values
   some call writes, valid or not. */
static void check_writers(TirProgram *p, Diag *d, bool *written)
{
    char at[32];
    for (int v = 0; v < p->nvalues; v++) {
        TirProgValue *val = &p->values[v];
        val->writer = -1;
        for (int c = 0; c < p->ncalls; c++) {
            const TirProgCall *call = &p->calls[c];
            const TirProgArg *w = value_arg(call, v, true), *r = value_arg(call, v, false);
            if (!w)
                continue;
            written[v] = true;
            if (val->kind == TIR_PV_INPUT)
                diag_error(d, w->loc, "%s writes %s, an input of program %s: inputs are read "
                           "only (write an output or an intermediate)", call->kernel, val->name,
                           p->name);
            else if (r)
                diag_error(d, call->loc, "write-after-read hazard: %s reads %s (parameter %s) "
                           "and writes it (parameter %s) in place; a tensor of a program holds "
                           "one value, so its readers could not be ordered: write the result "
                           "to another tensor", call->kernel, val->name, r->param, w->param);
            else if (val->writer >= 0)
                diag_error(d, w->loc, "%s is written by two calls (the first at %s): a tensor "
                           "of a program has one writer", val->name,
                           line_col(at, sizeof at, p->calls[val->writer].loc));
            else
                val->writer = c;
        }
    }
}

/* Reads of what nothing writes, outputs never written, intermediates never used or never
   read (a warning: the work that wrote it is wasted). */
static void check_uses(TirProgram *p, Diag *d, const bool *written)
{
    for (int v = 0; v < p->nvalues; v++) {
        const TirProgValue *val = &p->values[v];
        bool read = false;
        for (int c = 0; c < p->ncalls && !read; c++)
            read = value_arg(&p->calls[c], v, false) != NULL;
        if (val->kind == TIR_PV_TEMP && written[v] && !read)
            diag_warning(d, val->loc, "intermediate %s is written but never read", val->name);
        if (val->kind == TIR_PV_INPUT || written[v])
            continue;
        read = false;
        for (int c = 0; c < p->ncalls; c++) {
            const TirProgArg *r = value_arg(&p->calls[c], v, false);
            if (r)
                diag_error(d, r->loc, "%s reads %s, which no call writes", p->calls[c].kernel,
                           val->name);
            read |= r != NULL;
        }
        if (read)
            continue;
        if (val->kind == TIR_PV_OUTPUT)
            diag_error(d, val->loc, "output %s is never written", val->name);
        else
            diag_warning(d, val->loc, "intermediate %s is never used", val->name);
    }
}

/* ---- order */

/* The calls call c waits for: writers of the values it reads (not itself). */
static int pending_writers(const TirProgram *p, int c, const bool *done)
{
    int n = 0;
    const TirProgCall *call = &p->calls[c];
    for (int a = 0; a < call->nargs; a++) {
        const TirProgArg *arg = &call->args[a];
        if (arg->kind != TIR_PARG_VALUE || !arg->reads)
            continue;
        int w = p->values[arg->index].writer;
        n += w >= 0 && w != c && !done[w];
    }
    return n;
}

/* Some call of those not done waits on a cycle of them: follows the first pending writer
   from the first call left until a call repeats, and reports the cycle at its call written
   first. */
static void report_cycle(const TirProgram *p, Diag *d, const bool *done)
{
    int *seen_at = xcalloc((size_t)p->ncalls, sizeof *seen_at);
    int *path = xcalloc((size_t)p->ncalls + 1, sizeof *path);
    int *via = xcalloc((size_t)p->ncalls + 1, sizeof *via);   /* the value read from the next */
    int c = 0, n = 0;
    while (done[c])
        c++;
    while (!seen_at[c]) {
        seen_at[c] = ++n;
        path[n - 1] = c;
        const TirProgCall *call = &p->calls[c];
        for (int a = 0; a < call->nargs; a++) {
            const TirProgArg *arg = &call->args[a];
            int w = arg->kind == TIR_PARG_VALUE && arg->reads ? p->values[arg->index].writer : -1;
            if (w >= 0 && w != c && !done[w]) {
                via[n - 1] = arg->index;
                c = w;
                break;
            }
        }
    }
    int start = seen_at[c] - 1, len = n - start, first = start;
    for (int i = start; i < n; i++)
        if (path[i] < path[first])
            first = i;
    char msg[1024] = "", at[32];
    size_t used = 0;
    for (int k = 0; k < len && used < sizeof msg; k++) {
        int i = start + (first - start + k) % len, next = start + (first - start + k + 1) % len;
        const TirProgCall *from = &p->calls[path[i]], *to = &p->calls[path[next]];
        int w = snprintf(msg + used, sizeof msg - used, "%s%s (%s) reads %s, which %s (",
                         k ? "; " : "", from->kernel, line_col(at, sizeof at, from->loc),
                         p->values[via[i]].name, to->kernel);
        used += w > 0 ? (size_t)w : 0;
        if (used < sizeof msg)
            used += (size_t)snprintf(msg + used, sizeof msg - used, "%s) writes",
                                     line_col(at, sizeof at, to->loc));
    }
    diag_error(d, p->calls[path[first]].loc, "the calls form a cycle: %s", msg);
    free(seen_at);
    free(path);
    free(via);
}

/* Kahn's order: at each step the ready call written first. Returns false on a cycle. */
static bool order_calls(TirProgram *p, Diag *d)
{
    int n = p->ncalls;
    bool *done = xcalloc((size_t)n, sizeof *done);
    int *order = xcalloc((size_t)n, sizeof *order), *position = xcalloc((size_t)n, sizeof *position);
    bool ok = true;
    for (int step = 0; step < n && ok; step++) {
        int next = -1;
        for (int c = 0; c < n && next < 0; c++)
            if (!done[c] && pending_writers(p, c, done) == 0)
                next = c;
        if (next < 0) {
            report_cycle(p, d, done);
            ok = false;
            break;
        }
        done[next] = true;
        order[step] = next;
        position[next] = step;
    }
    if (ok) {
        TirProgCall *sorted = xcalloc((size_t)n, sizeof *sorted);
        for (int i = 0; i < n; i++)
            sorted[i] = p->calls[order[i]];
        memcpy(p->calls, sorted, (size_t)n * sizeof *sorted);
        free(sorted);
        for (int v = 0; v < p->nvalues; v++)
            if (p->values[v].writer >= 0)
                p->values[v].writer = position[p->values[v].writer];
    }
    free(done);
    free(order);
    free(position);
    return ok;
}

/* Each intermediate lives from its writer to its last reader (execution order). */
static void live_ranges(TirProgram *p)
{
    for (int v = 0; v < p->nvalues; v++) {
        TirProgValue *val = &p->values[v];
        val->first = val->last = val->writer;
        for (int c = 0; c < p->ncalls; c++)
            if (value_arg(&p->calls[c], v, false) && c > val->last)
                val->last = c;
    }
}

int tir_program_order(TirProgram *p, Diag *d)
{
    int errors = d->errors;
    bool *written = xcalloc((size_t)p->nvalues, sizeof *written);
    check_writers(p, d, written);
    check_uses(p, d, written);
    free(written);
    if (d->errors != errors || !order_calls(p, d))
        return d->errors - errors;
    live_ranges(p);
    return 0;
}

/* ---- sizes and the text form */

bool tir_program_value_bytes(const TirProgram *p, const TirProgValue *v, const int64_t *syms,
                             uint64_t *bytes)
{
    (void)p;
    uint64_t n = (uint64_t)dtype_size(v->dtype);
    for (int d = 0; d < v->rank; d++) {
        int64_t size = v->dims[d].sym >= 0 ? syms[v->dims[d].sym] : v->dims[d].value;
        if (size < 0 || __builtin_mul_overflow(n, (uint64_t)size, &n) || n > (uint64_t)INT64_MAX)
            return false;
    }
    *bytes = n;
    return true;
}

const char *tir_program_value_type(char *buf, size_t size, const TirProgram *p,
                                   const TirProgValue *v)
{
    size_t used = (size_t)snprintf(buf, size, "%s[", dtype_name(v->dtype));
    for (int d = 0; d < v->rank && used < size; d++) {
        if (v->dims[d].sym >= 0)
            used += (size_t)snprintf(buf + used, size - used, "%s%s", d ? ", " : "",
                                     p->syms[v->dims[d].sym]);
        else
            used += (size_t)snprintf(buf + used, size - used, "%s%lld", d ? ", " : "",
                                     (long long)v->dims[d].value);
    }
    if (used < size)
        snprintf(buf + used, size - used, "]");
    return buf;
}

static void print_param(FILE *out, const TirProgram *p, int i)
{
    const TirProgParam *pp = &p->params[i];
    char type[256];
    fprintf(out, "%s%s: %s", i && i != p->ninputs ? ", " : "", pp->name,
            pp->kind == PARAM_TENSOR ? tir_program_value_type(type, sizeof type, p, &p->values[pp->value])
                                     : dtype_name(pp->dtype));
}

/* The shortest decimal that reads back as the same double, looking like a float. */
static void print_shortest(FILE *out, double v)
{
    char buf[64];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, out);
    if (!strpbrk(buf, ".eni"))   /* not 1e+20, nan, inf */
        fputs(".0", out);
}

static void print_arg(FILE *out, const TirProgram *p, const TirProgArg *a)
{
    switch (a->kind) {
    case TIR_PARG_VALUE: fputs(p->values[a->index].name, out); return;
    case TIR_PARG_SCALAR: fputs(p->params[a->index].name, out); return;
    case TIR_PARG_LITERAL:
        if (a->dtype == DT_BOOL)
            fputs(a->ivalue ? "true" : "false", out);
        else if (dtype_is_float(a->dtype))
            print_shortest(out, a->fvalue);
        else
            fprintf(out, "%lld", (long long)a->ivalue);
        return;
    }
}

void tir_program_print(FILE *out, const TirProgram *p)
{
    fprintf(out, "program %s(", p->name);
    for (int i = 0; i < p->ninputs; i++)
        print_param(out, p, i);
    fputs(") -> (", out);
    for (int i = p->ninputs; i < p->nparams; i++)
        print_param(out, p, i);
    fputs(")\n", out);
    for (int c = 0; c < p->ncalls; c++) {
        const TirProgCall *call = &p->calls[c];
        fprintf(out, "  call %d: %s(", c, call->kernel);
        for (int a = 0; a < call->nargs; a++) {
            fputs(a ? ", " : "", out);
            print_arg(out, p, &call->args[a]);
        }
        fprintf(out, ")  # %d:%d\n", call->loc.line, call->loc.col);
    }
    for (int v = 0; v < p->nvalues; v++) {
        const TirProgValue *val = &p->values[v];
        if (val->kind != TIR_PV_TEMP)
            continue;
        char type[256];
        fprintf(out, "  intermediate %s: %s, live [%d, %d]\n", val->name,
                tir_program_value_type(type, sizeof type, p, val), val->first, val->last);
    }
}
