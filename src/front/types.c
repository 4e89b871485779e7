/* types.c — the checked types of expressions: printing them the way diagnostics and
   `--emit=ast` show them ("bf16[m, D]", "tensor bf16[M, K]", "loop m"), comparing axes, the
   promotion of binary operations, and the table of built-in function names. */
#include <string.h>

#include "front.h"

/* Indexed by Builtin; the order must follow the enum. */
static const char *const builtin_names[BI_COUNT] = {
    [BI_NONE] = "",
    [BI_EXP2] = "exp2",
    [BI_EXP] = "exp",
    [BI_LOG] = "log",
    [BI_LOG2] = "log2",
    [BI_SQRT] = "sqrt",
    [BI_RSQRT] = "rsqrt",
    [BI_ABS] = "abs",
    [BI_TANH] = "tanh",
    [BI_ERF] = "erf",
    [BI_SIGMOID] = "sigmoid",
    [BI_SILU] = "silu",
    [BI_GELU] = "gelu",
    [BI_GELU_TANH] = "gelu_tanh",
    [BI_SIN] = "sin",
    [BI_COS] = "cos",
    [BI_MAX] = "max",
    [BI_MIN] = "min",
    [BI_WHERE] = "where",
    [BI_SUM] = "sum",
    [BI_AMAX] = "amax",
    [BI_ZEROS] = "zeros",
    [BI_FULL] = "full",
    [BI_ATOMIC_ADD] = "atomic_add",
    [BI_ATOMIC_MAX] = "atomic_max",
    [BI_ATOMIC_MIN] = "atomic_min",
    [BI_CDIV] = "cdiv",
    [BI_RAND] = "rand",
    [BI_RANDINT] = "randint",
    [BI_DOT] = "dot",
    [BI_CUMSUM] = "cumsum",
    [BI_SPLIT] = "split",
    [BI_JOIN] = "join",
};

const char *builtin_name(Builtin b)
{
    if (b <= BI_NONE || b >= BI_COUNT)
        return "?";
    return builtin_names[b];
}

Builtin builtin_lookup(const char *name)
{
    if (!name)
        return BI_NONE;
    for (int b = BI_NONE + 1; b < BI_COUNT; b++)
        if (strcmp(name, builtin_names[b]) == 0)
            return (Builtin)b;
    return BI_NONE;
}

DType type_promote(const Type *a, const Type *b)
{
    if (a->weak != b->weak) {
        /* a weak literal takes the other operand's dtype, except that a float literal with
           an integer tile gives f32 (the literal's own dtype) rather than truncating it */
        DType literal = a->weak ? a->dtype : b->dtype, other = a->weak ? b->dtype : a->dtype;
        return dtype_is_float(literal) && dtype_is_int(other) ? DT_F32 : other;
    }
    if (a->dtype == b->dtype)
        return a->dtype;
    bool ai = dtype_is_int(a->dtype), bi = dtype_is_int(b->dtype);
    if (ai && bi)
        return DT_I64;
    if (ai)
        return b->dtype;
    if (bi)
        return a->dtype;
    return DT_F32;          /* f16 with bf16, or a 16-bit float with f32 */
}

bool axis_equal(Axis a, Axis b)
{
    if (a.kind != b.kind)
        return false;
    return a.kind == AXIS_ONE || a.id == b.id;
}

/* A bounded writer: output past the buffer's end is dropped, the text stays terminated. */
typedef struct TextBuf {
    char *buf;
    size_t size, len;
} TextBuf;

static void put(TextBuf *w, const char *s)
{
    size_t n = strlen(s);
    if (w->size == 0)
        return;
    size_t room = w->size - 1 - w->len;
    if (n > room)
        n = room;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

static void put_axis(TextBuf *w, Axis a, const Kernel *k)
{
    char num[32];
    switch (a.kind) {
    case AXIS_BLOCK:
        if (k && a.id >= 0 && a.id < k->nloopvars && k->loopvars[a.id] && k->loopvars[a.id]->name)
            put(w, k->loopvars[a.id]->name);
        else
            put(w, "?");
        return;
    case AXIS_FULL:
        if (k && a.id >= 0 && a.id < k->nsyms && k->syms[a.id] && k->syms[a.id]->name)
            put(w, k->syms[a.id]->name);
        else
            put(w, "?");
        return;
    case AXIS_ONE:
        put(w, "1");
        return;
    case AXIS_CONST:
        snprintf(num, sizeof num, "%d", a.id);
        put(w, num);
        return;
    }
    put(w, "?");
}

static void put_axes(TextBuf *w, const Type *t, const Kernel *k)
{
    int rank = t->rank < 0 ? 0 : t->rank > MAX_RANK ? MAX_RANK : t->rank;
    put(w, "[");
    for (int i = 0; i < rank; i++) {
        if (i)
            put(w, ", ");
        put_axis(w, t->axes[i], k);
    }
    put(w, "]");
}

const char *type_str(char *buf, size_t size, const Type *t, const Kernel *k)
{
    TextBuf w = {buf, size, 0};
    if (size)
        buf[0] = 0;
    if (!t) {
        put(&w, "<error>");
        return buf;
    }
    switch (t->kind) {
    case TYPE_ERROR:
        put(&w, "<error>");
        break;
    case TYPE_VALUE:
        put(&w, dtype_name(t->dtype));
        if (t->rank > 0)
            put_axes(&w, t, k);
        break;
    case TYPE_TENSOR:
        put(&w, "tensor ");
        put(&w, dtype_name(t->dtype));
        put_axes(&w, t, k);
        break;
    case TYPE_LOOPVAR:
        put(&w, "loop ");
        put_axis(&w, t->axes[0], k);
        break;
    case TYPE_DTYPE:
        put(&w, "dtype ");
        put(&w, dtype_name(t->dtype));
        break;
    case TYPE_SHAPELIST:
        put(&w, "shape ");
        put_axes(&w, t, k);
        break;
    case TYPE_SLICE:
        put(&w, ":");
        break;
    case TYPE_NONE:
        put(&w, "None");
        break;
    }
    return buf;
}
