/* interp_launch.c — the arguments of a launch from what the command line names: reads the
   .npy inputs, binds the shape symbols (naming both sides of any disagreement), makes the
   tensors not given (random inputs, zeroed outputs, reduction targets at their identity)
   and parses scalars and consts. Shared by `tilec run --interpret` and the GPU path; it
   never prints. (The names were checked against the source kernel before lowering, by
   launch_check_spec in src/cli/launch_cli.c.) */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"

LaunchStatus launch_error(LaunchStatus status, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return status;
}

/* ---- parsing values */

static bool parse_double(const char *text, double *out)
{
    if (!*text)
        return false;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*end || end == text)
        return false;
    *out = v;   /* overflow gives +-inf, which is a value like any other */
    return true;
}

static bool parse_int64(const char *text, int64_t *out)
{
    if (!*text)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 0);
    if (*end || end == text || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

static bool parse_bool(const char *text, int64_t *out)
{
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0) {
        *out = 1;
        return true;
    }
    if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0) {
        *out = 0;
        return true;
    }
    return false;
}

LaunchStatus launch_parse_value(const char *name, DType dtype, const char *text, double *fvalue,
                                int64_t *ivalue, char *err, size_t errlen)
{
    if (dtype == DT_BOOL) {
        if (!parse_bool(text, ivalue))
            return launch_error(LAUNCH_BAD_USAGE, err, errlen, "--set %s=%s: expected true or false", name, text);
        return LAUNCH_OK;
    }
    if (dtype_is_int(dtype)) {
        if (!parse_int64(text, ivalue))
            return launch_error(LAUNCH_BAD_USAGE, err, errlen, "--set %s=%s: '%s' is not an integer", name, text, text);
        if (dtype == DT_I32 && (*ivalue < INT32_MIN || *ivalue > INT32_MAX))
            return launch_error(LAUNCH_BAD_USAGE, err, errlen, "--set %s=%s: the value does not fit in i32", name, text);
        return LAUNCH_OK;
    }
    double v;
    if (!parse_double(text, &v))
        return launch_error(LAUNCH_BAD_USAGE, err, errlen, "--set %s=%s: '%s' is not a number", name, text, text);
    *fvalue = dtype_decode(dtype, dtype_encode_f64(dtype, v));
    return LAUNCH_OK;
}

/* ---- which parameters a kernel writes */

typedef struct WrittenSearch {
    int param;
    bool found;
} WrittenSearch;

static void find_write(TirOp *op, void *ctx)
{
    WrittenSearch *w = ctx;
    if ((op->opcode == TIR_STORE || op->opcode == TIR_ATOMIC) && op->param == w->param)
        w->found = true;
}

bool tir_param_is_written(const TirKernel *k, int param)
{
    WrittenSearch w = {param, false};
    tir_walk(k->body, find_write, &w);
    return w.found;
}

/* ---- binding */

static void param_signature(const TirKernel *k, const TirParam *p, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "%s[", dtype_name(p->dtype));
    for (int d = 0; d < p->rank && used < size; d++) {
        if (p->dims[d].sym >= 0)
            used += (size_t)snprintf(buf + used, size - used, "%s%s", d ? ", " : "", k->syms[p->dims[d].sym].name);
        else
            used += (size_t)snprintf(buf + used, size - used, "%s%lld", d ? ", " : "", (long long)p->dims[d].value);
    }
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

static const char *find_text(const LaunchNamed *list, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i].name, name) == 0)
            return list[i].text;
    return NULL;
}

/* Binds the dims of one tensor to the shape symbols; `source` names where earlier
   bindings came from. */
static LaunchStatus bind_dims(const TirKernel *k, const TirParam *p, const HostTensor *t,
                              int64_t *sym_values, const char **source, char *err, size_t errlen)
{
    if (t->rank != p->rank) {
        char sig[128];
        param_signature(k, p, sig, sizeof sig);
        return launch_error(LAUNCH_BAD_DATA, err, errlen, "%s: expected rank %d (%s), the array has rank %d",
                            p->name, p->rank, sig, t->rank);
    }
    for (int d = 0; d < p->rank; d++) {
        const TirDim *dim = &p->dims[d];
        int64_t size = t->shape[d];
        if (dim->sym < 0) {
            if (size != dim->value)
                return launch_error(LAUNCH_BAD_DATA, err, errlen, "%s: dim %d must be %lld but the array has %lld",
                                    p->name, d, (long long)dim->value, (long long)size);
            continue;
        }
        const char *sym = k->syms[dim->sym].name;
        if (sym_values[dim->sym] < 0) {
            sym_values[dim->sym] = size;
            source[dim->sym] = p->name;
        } else if (sym_values[dim->sym] != size) {
            return launch_error(LAUNCH_BAD_DATA, err, errlen, "%s: dim %d is %s=%lld but %s gave %s=%lld", p->name, d,
                                sym, (long long)size, source[dim->sym], sym, (long long)sym_values[dim->sym]);
        }
    }
    return LAUNCH_OK;
}

/* The smallest size among the tensor dims that loads of integer tensor `param` index
   directly (a checked index read straight from it, integer converts looked through), so
   random data there stays inside them: `ids` of `weight[ids[b], :]` gets [0, V). 0 when it
   indexes nothing. */
typedef struct IndexRange {
    const TirKernel *k;
    int param;
    const int64_t *sym_values;
    int64_t below;
} IndexRange;

static void find_index_use(TirOp *op, void *ctx)
{
    IndexRange *r = ctx;
    for (int i = 0, dim = 0; i < op->nindex; i++) {
        if (op->index[i].kind == TIR_IDX_NEWAXIS)
            continue;
        int d = dim++;
        const TirValue *v = tir_index_value(op, i);
        if (!(op->index[i].mask & TIR_MASK_CHECK) || !v)
            continue;
        while (v->def && v->def->opcode == TIR_CONVERT && dtype_is_int(v->def->operands[0]->type.dtype))
            v = v->def->operands[0];
        if (!v->def || v->def->opcode != TIR_LOAD || v->def->param != r->param)
            continue;
        const TirDim *td = &r->k->params[op->param].dims[d];
        int64_t size = td->sym >= 0 ? r->sym_values[td->sym] : td->value;
        if (size > 0 && (r->below == 0 || size < r->below))
            r->below = size;
    }
}

static int64_t index_range(const TirKernel *k, int param, const int64_t *sym_values)
{
    IndexRange r = {k, param, sym_values, 0};
    if (dtype_is_int(k->params[param].dtype))
        tir_walk(k->body, find_index_use, &r);
    return r.below;
}

/* Fills a reduction target with its op's identity. */
void launch_fill_identity(HostTensor *t, ReduceOp op)
{
    int64_t n = host_numel(t);
    for (int64_t e = 0; e < n; e++) {
        if (dtype_is_float(t->dtype)) {
            double v = op == REDUCE_MAX ? -INFINITY : op == REDUCE_MIN ? INFINITY : 0.0;
            host_set_at(t, e, v);
        } else {
            int64_t v = 0;
            if (op == REDUCE_MAX)
                v = t->dtype == DT_I32 ? INT32_MIN : t->dtype == DT_I64 ? INT64_MIN : 0;
            else if (op == REDUCE_MIN)
                v = t->dtype == DT_I32 ? INT32_MAX : t->dtype == DT_I64 ? INT64_MAX : 1;
            host_set_raw_at(t, e, (uint64_t)v);
        }
    }
}

LaunchStatus launch_bind(const TirKernel *k, const LaunchSpec *spec, LaunchArgs *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof *out);
    LaunchStatus st = LAUNCH_OK;
    int64_t bytes = 0;   /* of the tensors bound so far */
    const char **source = calloc((size_t)k->nsyms + 1, sizeof *source);
    out->nargs = k->nparams;
    out->args = calloc((size_t)k->nparams + 1, sizeof *out->args);
    out->nsyms = k->nsyms;
    out->sym_values = malloc(((size_t)k->nsyms + 1) * sizeof *out->sym_values);
    if (!source || !out->args || !out->sym_values) {
        st = launch_error(LAUNCH_BAD_DATA, err, errlen, "out of memory");
        goto done;
    }
    for (int s = 0; s < k->nsyms; s++)
        out->sym_values[s] = -1;
    for (int i = 0; i < spec->nshapes; i++) {
        int s = tir_find_sym(k, spec->shapes[i].name);
        if (s < 0)
            continue;   /* launch_check_spec named it; a symbol the lowering dropped is unused */
        out->sym_values[s] = spec->shapes[i].value;
        source[s] = "--shape";
    }
    for (int i = 0; i < k->nparams; i++) {
        const TirParam *p = &k->params[i];
        LaunchArg *a = &out->args[i];
        a->is_output = p->kind == PARAM_TENSOR && tir_param_is_written(k, i);
        const char *path = find_text(spec->inputs, spec->ninputs, p->name);
        if (p->kind != PARAM_TENSOR || !path)
            continue;
        if (npy_load(path, p->dtype, &a->tensor, err, errlen) != 0) {
            st = LAUNCH_BAD_DATA;
            goto done;
        }
        a->given = true;
        bytes += (int64_t)a->tensor.nbytes;
        if ((st = bind_dims(k, p, &a->tensor, out->sym_values, source, err, errlen)) != LAUNCH_OK)
            goto done;
    }
    for (int s = 0; s < k->nsyms; s++)
        if (out->sym_values[s] < 0) {
            st = launch_error(LAUNCH_BAD_USAGE, err, errlen,
                              "shape symbol %s is not bound: pass a tensor that has it (--in) or --shape %s=SIZE",
                              k->syms[s].name, k->syms[s].name);
            goto done;
        }
    for (int i = 0; i < k->nparams; i++) {
        const TirParam *p = &k->params[i];
        LaunchArg *a = &out->args[i];
        if (p->kind == PARAM_CONST) {
            a->ivalue = p->const_value;
            a->fvalue = (double)p->const_value;
            a->given = true;
            continue;
        }
        if (p->kind == PARAM_SCALAR) {
            const char *text = find_text(spec->sets, spec->nsets, p->name);
            if (!text) {
                st = launch_error(LAUNCH_BAD_USAGE, err, errlen, "no value for scalar parameter '%s' (use --set %s=VALUE)",
                                  p->name, p->name);
                goto done;
            }
            if ((st = launch_parse_value(p->name, p->dtype, text, &a->fvalue, &a->ivalue, err, errlen)) != LAUNCH_OK)
                goto done;
            a->given = true;
            continue;
        }
        if (a->given)
            continue;
        int64_t shape[HOST_MAX_RANK], count;
        size_t nbytes;
        for (int d = 0; d < p->rank; d++)
            shape[d] = p->dims[d].sym >= 0 ? out->sym_values[p->dims[d].sym] : p->dims[d].value;
        bool sized = host_shape_size(p->rank, shape, dtype_size(p->dtype), &count, &nbytes);
        if (spec->max_bytes > 0 && (!sized || (int64_t)nbytes > spec->max_bytes - bytes)) {
            char size[32] = "more than 2^63";
            if (sized)
                snprintf(size, sizeof size, "%zu", nbytes);
            st = launch_error(LAUNCH_BAD_DATA, err, errlen, "%s: a tensor of %s bytes would take the "
                              "run past its limit of %lld bytes (--max-bytes raises it)", p->name,
                              size, (long long)spec->max_bytes);
            goto done;
        }
        bytes += (int64_t)nbytes;
        if (host_alloc(&a->tensor, p->dtype, p->rank, shape) != 0) {
            st = launch_error(LAUNCH_BAD_DATA, err, errlen, "%s: cannot allocate a tensor of this shape", p->name);
            goto done;
        }
        if (p->reduce != REDUCE_NONE)
            launch_fill_identity(&a->tensor, p->reduce);
        else if (!a->is_output)
            /* one stream per parameter, so adding an input does not change the others */
            host_fill_random(&a->tensor, spec->seed * 0x9E3779B97F4A7C15ull + (uint64_t)i + 1,
                             index_range(k, i, out->sym_values));
    }
done:
    free(source);
    if (st != LAUNCH_OK)
        launch_free(out);
    return st;
}

bool launch_leaf_value(void *args, const TirOp *op, int64_t *ivalue, double *fvalue)
{
    const LaunchArgs *a = args;
    if (op->opcode == TIR_DIM && op->sym >= 0 && op->sym < a->nsyms) {
        *ivalue = a->sym_values[op->sym];
        return true;
    }
    if (op->opcode == TIR_PARAM && op->param >= 0 && op->param < a->nargs) {
        *ivalue = a->args[op->param].ivalue;
        *fvalue = a->args[op->param].fvalue;
        return true;
    }
    return false;
}

void launch_spec_free(LaunchSpec *s)
{
    free(s->inputs);
    free(s->outputs);
    free(s->sets);
    free(s->shapes);
}

void launch_free(LaunchArgs *a)
{
    for (int i = 0; i < a->nargs && a->args; i++)
        host_free(&a->args[i].tensor);
    free(a->args);
    free(a->sym_values);
    memset(a, 0, sizeof *a);
}
