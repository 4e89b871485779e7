/* tir_parse.c — the TIR text form back into a TirKernel (grammar in docs/ir.md).
   Built to take any input without crashing: every number is range-checked, nesting is
   bounded, and the first error stops the parse with a line:col diagnostic. Scoping of
   values (dominance) is left to tir_verify; names must be defined before use. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tir.h"

/* Bounds that keep a hostile input from exhausting the stack or memory. */
enum { TIR_MAX_NESTING = 32, TIR_MAX_VALUE_NUMBER = 1 << 24, TIR_MAX_LIST = 256, TIR_MAX_TOKEN = 256 };

typedef enum TokKind {
    TK_EOF, TK_IDENT, TK_INT, TK_FLOAT, TK_VALUE, TK_STRING, TK_PUNCT, TK_BAD,
} TokKind;

typedef struct Token {
    TokKind kind;
    const char *start;
    size_t len;
    int line, col;
    char punct;            /* TK_PUNCT */
    int64_t ivalue;        /* TK_INT, TK_VALUE */
    double fvalue;         /* TK_FLOAT */
} Token;

typedef struct Parser {
    Arena *arena;
    Diag *diag;
    SourceFile *file;      /* the .ir text, for diagnostics */
    SourceFile *source;    /* the .tile named by `source`, for @line:col locations */
    const char *p, *end;
    int line, col;
    Token tok;
    bool failed;
    TirKernel *k;
    TirValue **values;     /* by %number */
    int nvalues_cap;
    int scope[TIR_MAX_NESTING * MAX_LOOP_VARS];  /* loop vars in scope, innermost last */
    int nscope;
    int depth;
} Parser;

/* ---- lexer */

static void error_at(Parser *ps, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void error_at(Parser *ps, int line, int col, const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = true;
    va_list ap;
    va_start(ap, fmt);
    diag_verror(ps->diag, (Loc){ps->file, line, col}, "error", fmt, ap);
    va_end(ap);
}

#define error_tok(ps, ...) error_at((ps), (ps)->tok.line, (ps)->tok.col, __VA_ARGS__)

static void advance_char(Parser *ps)
{
    if (*ps->p == '\n') {
        ps->line++;
        ps->col = 1;
    } else {
        ps->col++;
    }
    ps->p++;
}

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident_char(char c)
{
    return is_ident_start(c) || is_digit(c);
}

/* Reads [0-9A-Za-z_.] and a sign after an exponent: the extent of a number token. */
static void lex_number(Parser *ps, Token *t)
{
    const char *s = ps->p;
    if (*ps->p == '-')
        advance_char(ps);
    while (ps->p < ps->end &&
           (is_ident_char(*ps->p) || *ps->p == '.' ||
            ((*ps->p == '+' || *ps->p == '-') && (ps->p[-1] == 'e' || ps->p[-1] == 'E'))))
        advance_char(ps);
    t->start = s;
    t->len = (size_t)(ps->p - s);
    char buf[TIR_MAX_TOKEN];
    if (t->len >= sizeof buf) {
        t->kind = TK_BAD;
        return;
    }
    memcpy(buf, s, t->len);
    buf[t->len] = 0;
    bool integer = true;
    for (size_t i = (buf[0] == '-'); i < t->len; i++)
        if (!is_digit(buf[i]))
            integer = false;
    char *endp;
    errno = 0;
    if (integer) {
        long long v = strtoll(buf, &endp, 10);
        t->kind = (errno == ERANGE || *endp) ? TK_BAD : TK_INT;
        t->ivalue = v;
        return;
    }
    if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
        t->kind = TK_BAD;     /* no hex floats or hex ints in TIR text */
        return;
    }
    double v = strtod(buf, &endp);
    t->kind = *endp || endp == buf ? TK_BAD : TK_FLOAT;
    t->fvalue = v;
}

static void next_token(Parser *ps)
{
    Token *t = &ps->tok;
    for (;;) {
        while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
            advance_char(ps);
        if (ps->p < ps->end && *ps->p == '#') {
            while (ps->p < ps->end && *ps->p != '\n')
                advance_char(ps);
            continue;
        }
        break;
    }
    memset(t, 0, sizeof *t);
    t->line = ps->line;
    t->col = ps->col;
    t->start = ps->p;
    if (ps->p >= ps->end) {
        t->kind = TK_EOF;
        return;
    }
    char c = *ps->p;
    if (is_ident_start(c)) {
        while (ps->p < ps->end && is_ident_char(*ps->p))
            advance_char(ps);
        t->kind = TK_IDENT;
        t->len = (size_t)(ps->p - t->start);
        if (t->len >= TIR_MAX_TOKEN)
            t->kind = TK_BAD;
        return;
    }
    if (is_digit(c) || (c == '-' && ps->p + 1 < ps->end && (is_digit(ps->p[1]) || ps->p[1] == '.')) ||
        (c == '.' && ps->p + 1 < ps->end && is_digit(ps->p[1]))) {
        lex_number(ps, t);
        return;
    }
    if (c == '%') {
        advance_char(ps);
        int64_t v = 0;
        bool any = false;
        while (ps->p < ps->end && is_digit(*ps->p)) {
            if (v < TIR_MAX_VALUE_NUMBER)
                v = v * 10 + (*ps->p - '0');
            any = true;
            advance_char(ps);
        }
        t->len = (size_t)(ps->p - t->start);
        t->kind = any && v < TIR_MAX_VALUE_NUMBER ? TK_VALUE : TK_BAD;
        t->ivalue = v;
        return;
    }
    if (c == '"') {
        advance_char(ps);
        while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\n') {
            if (*ps->p == '\\' && ps->p + 1 < ps->end)
                advance_char(ps);
            advance_char(ps);
        }
        if (ps->p >= ps->end || *ps->p != '"') {
            t->kind = TK_BAD;
            return;
        }
        advance_char(ps);
        t->kind = TK_STRING;
        t->len = (size_t)(ps->p - t->start);
        return;
    }
    if (strchr("()[]{},:=@-", c) && c) {
        advance_char(ps);
        t->kind = TK_PUNCT;
        t->punct = c;
        t->len = 1;
        return;
    }
    advance_char(ps);
    t->kind = TK_BAD;
    t->len = 1;
}

static bool is_punct(Parser *ps, char c)
{
    return ps->tok.kind == TK_PUNCT && ps->tok.punct == c;
}

static bool is_word(Parser *ps, const char *w)
{
    return ps->tok.kind == TK_IDENT && strlen(w) == ps->tok.len && memcmp(ps->tok.start, w, ps->tok.len) == 0;
}

static const char *describe_token(Parser *ps, char *buf, size_t size)
{
    switch (ps->tok.kind) {
    case TK_EOF:
        return "end of input";
    default: {
        /* the token's text, at most 40 bytes, anything unprintable shown as '?' */
        char text[41];
        size_t n = ps->tok.len > 40 ? 40 : ps->tok.len;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)ps->tok.start[i];
            text[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
        }
        text[n] = 0;
        snprintf(buf, size, "%s'%s'", ps->tok.kind == TK_BAD ? "a malformed token " : "", text);
        return buf;
    }
    }
}

static bool expect_punct(Parser *ps, char c)
{
    if (ps->failed)
        return false;
    if (!is_punct(ps, c)) {
        char buf[96];
        error_tok(ps, "expected '%c', found %s", c, describe_token(ps, buf, sizeof buf));
        return false;
    }
    next_token(ps);
    return true;
}

static bool expect_word(Parser *ps, const char *w)
{
    if (ps->failed)
        return false;
    if (!is_word(ps, w)) {
        char buf[96];
        error_tok(ps, "expected '%s', found %s", w, describe_token(ps, buf, sizeof buf));
        return false;
    }
    next_token(ps);
    return true;
}

/* Copies the current identifier into the arena and advances; NULL (diagnosed) otherwise. */
static const char *take_ident(Parser *ps, const char *what)
{
    if (ps->failed)
        return NULL;
    if (ps->tok.kind != TK_IDENT) {
        char buf[96];
        error_tok(ps, "expected %s, found %s", what, describe_token(ps, buf, sizeof buf));
        return NULL;
    }
    const char *s = arena_strndup(ps->arena, ps->tok.start, ps->tok.len);
    next_token(ps);
    return s;
}

static bool take_int(Parser *ps, int64_t *out, const char *what)
{
    if (ps->failed)
        return false;
    if (ps->tok.kind != TK_INT) {
        char buf[96];
        error_tok(ps, "expected %s (an integer), found %s", what, describe_token(ps, buf, sizeof buf));
        return false;
    }
    *out = ps->tok.ivalue;
    next_token(ps);
    return true;
}

/* A value of knob `knob`: an integer, or one of its value names (dot's `wgmma`). */
static bool take_knob_value(Parser *ps, const char *knob, int64_t *out, const char *what)
{
    if (ps->failed)
        return false;
    if (knob && ps->tok.kind == TK_IDENT) {
        if (knob_parse_value(knob, ps->tok.start, ps->tok.len, out) != 0) {
            char buf[96];
            error_tok(ps, "%s is not a value of %s: found %s", what, knob,
                      describe_token(ps, buf, sizeof buf));
            return false;
        }
        next_token(ps);
        return true;
    }
    return take_int(ps, out, what);
}

/* ---- names */

static TirValue *use_value(Parser *ps)
{
    if (ps->failed)
        return NULL;
    if (ps->tok.kind != TK_VALUE) {
        char buf[96];
        error_tok(ps, "expected a value (%%N), found %s", describe_token(ps, buf, sizeof buf));
        return NULL;
    }
    int64_t n = ps->tok.ivalue;
    TirValue *v = n < ps->nvalues_cap ? ps->values[n] : NULL;
    if (!v) {
        error_tok(ps, "use of undefined value %%%lld", (long long)n);
        return NULL;
    }
    next_token(ps);
    return v;
}

typedef struct PendingName {
    int64_t number;
    int line, col;
} PendingName;

static bool define_value(Parser *ps, PendingName name, TirValue *v)
{
    if (name.number >= ps->nvalues_cap) {
        int cap = ps->nvalues_cap ? ps->nvalues_cap : 64;
        while (cap <= name.number)
            cap *= 2;
        TirValue **vals = arena_alloc(ps->arena, (size_t)cap * sizeof *vals);
        if (ps->nvalues_cap)
            memcpy(vals, ps->values, (size_t)ps->nvalues_cap * sizeof *vals);
        ps->values = vals;
        ps->nvalues_cap = cap;
    }
    if (ps->values[name.number]) {
        error_at(ps, name.line, name.col, "value %%%lld is defined twice", (long long)name.number);
        return false;
    }
    ps->values[name.number] = v;
    return true;
}

static bool take_value_name(Parser *ps, PendingName *out)
{
    if (ps->failed)
        return false;
    if (ps->tok.kind != TK_VALUE) {
        char buf[96];
        error_tok(ps, "expected a value name (%%N), found %s", describe_token(ps, buf, sizeof buf));
        return false;
    }
    *out = (PendingName){ps->tok.ivalue, ps->tok.line, ps->tok.col};
    next_token(ps);
    return true;
}

static int find_loopvar_in_scope(Parser *ps, const char *name, size_t len)
{
    for (int i = ps->nscope - 1; i >= 0; i--) {
        const char *n = ps->k->loopvars[ps->scope[i]]->name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return ps->scope[i];
    }
    return -1;
}

static int find_sym_n(const TirKernel *k, const char *name, size_t len)
{
    for (int i = 0; i < k->nsyms; i++)
        if (strlen(k->syms[i].name) == len && memcmp(k->syms[i].name, name, len) == 0)
            return i;
    return -1;
}

/* ---- types */

static bool parse_dtype(Parser *ps, DType *out)
{
    if (ps->failed)
        return false;
    char buf[TIR_MAX_TOKEN];
    if (ps->tok.kind == TK_IDENT && ps->tok.len < sizeof buf) {
        memcpy(buf, ps->tok.start, ps->tok.len);
        buf[ps->tok.len] = 0;
        if (dtype_from_name(buf, out)) {
            next_token(ps);
            return true;
        }
    }
    char d[96];
    error_tok(ps, "expected a dtype (f32 f16 bf16 f8e4m3 f8e5m2 i32 i64 bool), found %s",
              describe_token(ps, d, sizeof d));
    return false;
}

static bool parse_axis(Parser *ps, Axis *out)
{
    if (ps->tok.kind == TK_INT && ps->tok.ivalue == 1) {
        *out = (Axis){AXIS_ONE, 0};
        next_token(ps);
        return true;
    }
    if (ps->tok.kind == TK_INT && ps->tok.ivalue == 2) {   /* a pair axis */
        *out = (Axis){AXIS_CONST, 2};
        next_token(ps);
        return true;
    }
    if (ps->tok.kind == TK_IDENT) {
        int lv = find_loopvar_in_scope(ps, ps->tok.start, ps->tok.len);
        if (lv >= 0) {
            *out = (Axis){AXIS_BLOCK, lv};
            next_token(ps);
            return true;
        }
        int sym = find_sym_n(ps->k, ps->tok.start, ps->tok.len);
        if (sym >= 0) {
            *out = (Axis){AXIS_FULL, sym};
            next_token(ps);
            return true;
        }
        error_tok(ps, "unknown axis '%.*s': expected a loop variable in scope, a shape symbol, 1 or 2",
                  (int)ps->tok.len, ps->tok.start);
        return false;
    }
    char buf[96];
    error_tok(ps, "expected an axis, found %s", describe_token(ps, buf, sizeof buf));
    return false;
}

static bool parse_type(Parser *ps, TirType *out)
{
    *out = tir_type_scalar(DT_F32);
    if (!parse_dtype(ps, &out->dtype))
        return false;
    if (!is_punct(ps, '['))
        return true;
    next_token(ps);
    for (;;) {
        if (out->rank >= MAX_RANK) {
            error_tok(ps, "a tile has at most %d axes", MAX_RANK);
            return false;
        }
        if (!parse_axis(ps, &out->axes[out->rank]))
            return false;
        out->rank++;
        if (is_punct(ps, ',')) {
            next_token(ps);
            continue;
        }
        return expect_punct(ps, ']');
    }
}

/* ---- signature and tunables */

static bool parse_dims(Parser *ps, TirParam *prm)
{
    next_token(ps);   /* [ */
    for (;;) {
        if (prm->rank >= MAX_RANK) {
            error_tok(ps, "a tensor has at most %d dims", MAX_RANK);
            return false;
        }
        TirDim *dim = &prm->dims[prm->rank++];
        if (ps->tok.kind == TK_INT) {
            if (ps->tok.ivalue < 0) {
                error_tok(ps, "a dim size must not be negative");
                return false;
            }
            dim->sym = -1;
            dim->value = ps->tok.ivalue;
            next_token(ps);
        } else if (ps->tok.kind == TK_IDENT) {
            TirKernel *k = ps->k;
            int sym = find_sym_n(k, ps->tok.start, ps->tok.len);
            if (sym < 0) {
                if (k->nsyms >= TIR_MAX_LIST) {
                    error_tok(ps, "too many shape symbols");
                    return false;
                }
                TirSym *syms = arena_alloc(ps->arena, (size_t)(k->nsyms + 1) * sizeof *syms);
                if (k->nsyms)
                    memcpy(syms, k->syms, (size_t)k->nsyms * sizeof *syms);
                syms[k->nsyms].name = arena_strndup(ps->arena, ps->tok.start, ps->tok.len);
                k->syms = syms;
                sym = k->nsyms++;
            }
            dim->sym = sym;
            next_token(ps);
        } else {
            char buf[96];
            error_tok(ps, "expected a shape symbol or a size, found %s", describe_token(ps, buf, sizeof buf));
            return false;
        }
        if (is_punct(ps, ',')) {
            next_token(ps);
            continue;
        }
        return expect_punct(ps, ']');
    }
}

/* {1, 2}; `knob`, when not NULL, also takes that knob's value names. */
static bool parse_int_set(Parser *ps, const char *knob, int64_t **values, int *n)
{
    if (!expect_punct(ps, '{'))
        return false;
    int64_t buf[TIR_MAX_LIST];
    int count = 0;
    for (;;) {
        int64_t v;
        if (count >= TIR_MAX_LIST) {
            error_tok(ps, "too many values");
            return false;
        }
        if (!take_knob_value(ps, knob, &v, "a value"))
            return false;
        buf[count++] = v;
        if (is_punct(ps, ',')) {
            next_token(ps);
            continue;
        }
        if (!expect_punct(ps, '}'))
            return false;
        break;
    }
    *values = arena_alloc(ps->arena, (size_t)count * sizeof **values);
    memcpy(*values, buf, (size_t)count * sizeof **values);
    *n = count;
    return true;
}

static bool parse_param(Parser *ps, TirParam *prm)
{
    int line = ps->tok.line, col = ps->tok.col;
    prm->name = take_ident(ps, "a parameter name");
    if (!prm->name || !expect_punct(ps, ':'))
        return false;
    if (tir_find_param(ps->k, prm->name) >= 0) {
        error_at(ps, line, col, "parameter '%s' is declared twice", prm->name);
        return false;
    }
    prm->kind = PARAM_SCALAR;
    if (is_word(ps, "const")) {
        prm->kind = PARAM_CONST;
        next_token(ps);
    }
    if (!parse_dtype(ps, &prm->dtype))
        return false;
    if (is_punct(ps, '[')) {
        if (prm->kind == PARAM_CONST) {
            error_tok(ps, "a const parameter is a scalar");
            return false;
        }
        prm->kind = PARAM_TENSOR;
        if (!parse_dims(ps, prm))
            return false;
    }
    if (is_word(ps, "reduce")) {
        if (prm->kind != PARAM_TENSOR) {
            error_tok(ps, "only a tensor can be a reduction target");
            return false;
        }
        next_token(ps);
        if (!expect_punct(ps, '('))
            return false;
        if (is_word(ps, "sum"))
            prm->reduce = REDUCE_SUM;
        else if (is_word(ps, "max"))
            prm->reduce = REDUCE_MAX;
        else if (is_word(ps, "min"))
            prm->reduce = REDUCE_MIN;
        else {
            error_tok(ps, "expected sum, max or min");
            return false;
        }
        next_token(ps);
        if (!expect_punct(ps, ')'))
            return false;
    }
    if (prm->kind != PARAM_CONST)
        return true;
    if (is_word(ps, "in") && prm->dtype != DT_BOOL) {
        next_token(ps);
        if (!parse_int_set(ps, NULL, &prm->const_values, &prm->nconst_values))
            return false;
    }
    if (!expect_punct(ps, '='))
        return false;
    if (prm->dtype == DT_BOOL) {
        if (is_word(ps, "true") || is_word(ps, "false")) {
            prm->const_value = is_word(ps, "true");
            next_token(ps);
            return true;
        }
        error_tok(ps, "expected true or false");
        return false;
    }
    if (!dtype_is_int(prm->dtype)) {
        error_at(ps, line, col, "a const parameter is bool, i32 or i64");
        return false;
    }
    return take_int(ps, &prm->const_value, "the const value");
}

static bool parse_signature(Parser *ps)
{
    TirKernel *k = ps->k;
    if (!expect_punct(ps, '('))
        return false;
    if (is_punct(ps, ')')) {
        next_token(ps);
        return true;
    }
    for (;;) {
        if (k->nparams >= TIR_MAX_LIST) {
            error_tok(ps, "too many parameters");
            return false;
        }
        TirParam *params = arena_alloc(ps->arena, (size_t)(k->nparams + 1) * sizeof *params);
        if (k->nparams)
            memcpy(params, k->params, (size_t)k->nparams * sizeof *params);
        k->params = params;
        if (!parse_param(ps, &k->params[k->nparams]))
            return false;
        k->nparams++;
        if (is_punct(ps, ',')) {
            next_token(ps);
            continue;
        }
        return expect_punct(ps, ')');
    }
}

/* A name that is no knob's (hand-written TIR) counts as a block size. */
static TunableKind tunable_kind(const char *name)
{
    TunableKind kind = TUNE_BLOCK;
    knob_kind_of_name(name, &kind);
    return kind;
}

static bool parse_tunable(Parser *ps)
{
    TirKernel *k = ps->k;
    next_token(ps);   /* tunable */
    int line = ps->tok.line, col = ps->tok.col;
    const char *name = take_ident(ps, "a tunable name");
    if (!name)
        return false;
    if (tir_find_tunable(k, name) >= 0) {
        error_at(ps, line, col, "tunable '%s' is declared twice", name);
        return false;
    }
    if (k->ntunables >= TIR_MAX_LIST) {
        error_at(ps, line, col, "too many tunables");
        return false;
    }
    TirTunable t = {.name = name, .kind = tunable_kind(name)};
    if (!expect_word(ps, "in") || !parse_int_set(ps, name, &t.values, &t.nvalues) ||
        !expect_word(ps, "default") || !take_knob_value(ps, name, &t.default_value, "the default value"))
        return false;
    TirTunable *ts = arena_alloc(ps->arena, (size_t)(k->ntunables + 1) * sizeof *ts);
    if (k->ntunables)
        memcpy(ts, k->tunables, (size_t)k->ntunables * sizeof *ts);
    ts[k->ntunables++] = t;
    k->tunables = ts;
    return true;
}

static const char *parse_quoted(Parser *ps)
{
    if (ps->tok.kind != TK_STRING) {
        char buf[96];
        error_tok(ps, "expected a string, found %s", describe_token(ps, buf, sizeof buf));
        return NULL;
    }
    char *out = arena_alloc(ps->arena, ps->tok.len);
    size_t n = 0;
    for (size_t i = 1; i + 1 < ps->tok.len; i++) {
        char c = ps->tok.start[i];
        if (c == '\\' && i + 2 < ps->tok.len) {
            char e = ps->tok.start[++i];
            if (e == 'x' && i + 3 < ps->tok.len) {
                char hex[3] = {ps->tok.start[i + 1], ps->tok.start[i + 2], 0};
                char *endp;
                long v = strtol(hex, &endp, 16);
                if (*endp || v == 0 || !hex[0] || hex[0] == '-' || hex[0] == '+') {
                    error_tok(ps, "bad \\x escape in a string");
                    return NULL;
                }
                out[n++] = (char)v;
                i += 2;
            } else if (e == '"' || e == '\\') {
                out[n++] = e;
            } else {
                error_tok(ps, "bad escape in a string");
                return NULL;
            }
        } else {
            out[n++] = c;
        }
    }
    out[n] = 0;
    next_token(ps);
    return out;
}

/* ---- ops */

static bool parse_block_body(Parser *ps, TirBlock *b);

static Loc parse_loc(Parser *ps, Loc fallback)
{
    if (!is_punct(ps, '@'))
        return fallback;
    next_token(ps);
    int64_t line = 0, col = 0;
    if (!take_int(ps, &line, "a line"))
        return fallback;
    if (!expect_punct(ps, ':'))
        return fallback;
    if (!take_int(ps, &col, "a column"))
        return fallback;
    if (line < 1 || line > INT32_MAX || col < 1 || col > INT32_MAX) {
        error_tok(ps, "a location needs a line and a column >= 1");
        return fallback;
    }
    return (Loc){ps->source ? ps->source : ps->file, (int)line, (int)col};
}

static bool parse_result_type(Parser *ps, TirType *t)
{
    return expect_punct(ps, ':') && parse_type(ps, t);
}

static bool parse_operand_list(Parser *ps, TirValue **out, int n)
{
    for (int i = 0; i < n; i++) {
        if (i && !expect_punct(ps, ','))
            return false;
        if (!(out[i] = use_value(ps)))
            return false;
    }
    return true;
}

static TirOp *finish_op(Parser *ps, TirOpcode opc, Loc loc, TirValue **operands, int noperands,
                        const TirType *rtype, int nresults)
{
    TirOp *op = tir_op_new(ps->k, opc, loc, noperands, nresults, rtype);
    for (int i = 0; i < noperands; i++)
        op->operands[i] = operands[i];
    return op;
}

static bool lookup_sub(const char *name, size_t len, TirOpcode *opc, int *sub)
{
    for (int i = 0; i < TIR_UN_COUNT; i++)
        if (strlen(tir_unary_name(i)) == len && memcmp(tir_unary_name(i), name, len) == 0) {
            *opc = TIR_UNARY;
            *sub = i;
            return true;
        }
    for (int i = 0; i < TIR_BIN_COUNT; i++)
        if (strlen(tir_binary_name(i)) == len && memcmp(tir_binary_name(i), name, len) == 0) {
            *opc = TIR_BINARY;
            *sub = i;
            return true;
        }
    for (int i = 0; i < TIR_CMP_COUNT; i++)
        if (strlen(tir_cmp_name(i)) == len && memcmp(tir_cmp_name(i), name, len) == 0) {
            *opc = TIR_CMP;
            *sub = i;
            return true;
        }
    for (int i = 0; i < TIR_OPCODE_COUNT; i++) {
        if (i == TIR_UNARY || i == TIR_BINARY || i == TIR_CMP)
            continue;   /* printed by their sub-op's mnemonic only */
        const char *n = tir_op_info(i)->name;
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            *opc = i;
            *sub = 0;
            return true;
        }
    }
    return false;
}

static bool parse_reduce_kind(Parser *ps, int *out, bool atomic)
{
    for (int i = 0; i < TIR_RED_COUNT; i++)
        if (is_word(ps, tir_reduce_name(i)) && !(atomic && i == TIR_RED_AMAX)) {
            *out = i;
            next_token(ps);
            return true;
        }
    char buf[96];
    error_tok(ps, "expected %s, found %s", atomic ? "sum, max or min" : "sum, max, min or amax",
              describe_token(ps, buf, sizeof buf));
    return false;
}

static bool parse_full_value(Parser *ps, TirOp *op)
{
    bool neg = false;
    int line = ps->tok.line, col = ps->tok.col;
    if (is_punct(ps, '-')) {
        neg = true;
        next_token(ps);
    }
    bool is_int = false;
    int64_t iv = 0;
    double fv = 0;
    if (ps->tok.kind == TK_INT) {
        is_int = true;
        iv = ps->tok.ivalue;
        fv = (double)iv;
    } else if (ps->tok.kind == TK_FLOAT) {
        fv = ps->tok.fvalue;
    } else if (is_word(ps, "inf")) {
        fv = INFINITY;
    } else if (is_word(ps, "nan")) {
        fv = NAN;
    } else if (is_word(ps, "true") || is_word(ps, "false")) {
        is_int = true;
        iv = is_word(ps, "true");
        fv = (double)iv;
    } else {
        char buf[96];
        error_tok(ps, "expected a constant, found %s", describe_token(ps, buf, sizeof buf));
        return false;
    }
    next_token(ps);
    if (neg) {
        if (is_int && iv == INT64_MIN) {
            error_at(ps, line, col, "integer constant out of range");
            return false;
        }
        iv = -iv;
        fv = -fv;
    }
    TirType t;
    if (!parse_result_type(ps, &t))
        return false;
    if (!dtype_is_float(t.dtype) && !is_int) {
        error_at(ps, line, col, "a %s constant must be an integer", dtype_name(t.dtype));
        return false;
    }
    if (t.dtype == DT_BOOL && iv != 0 && iv != 1) {
        error_at(ps, line, col, "a bool constant is true or false");
        return false;
    }
    op->results[0]->type = t;
    op->ivalue = iv;
    op->fvalue = dtype_is_float(t.dtype) ? fv : (double)iv;
    return true;
}

static TirOp *parse_named(Parser *ps, TirOpcode opc, Loc loc)
{
    TirOp *op = tir_op_new(ps->k, opc, loc, 0, 1, NULL);
    if (ps->tok.kind != TK_IDENT) {
        char buf[96];
        error_tok(ps, "expected a name after '%s', found %s", tir_op_info(opc)->name,
                  describe_token(ps, buf, sizeof buf));
        return NULL;
    }
    const char *name = arena_strndup(ps->arena, ps->tok.start, ps->tok.len);
    if (opc == TIR_PARAM) {
        op->param = tir_find_param(ps->k, name);
        if (op->param < 0) {
            error_tok(ps, "unknown parameter '%s'", name);
            return NULL;
        }
    } else if (opc == TIR_DIM) {
        op->sym = tir_find_sym(ps->k, name);
        if (op->sym < 0) {
            error_tok(ps, "unknown shape symbol '%s'", name);
            return NULL;
        }
    } else {
        op->loopvar = find_loopvar_in_scope(ps, ps->tok.start, ps->tok.len);
        if (op->loopvar < 0) {
            error_tok(ps, "'%s' is not a loop variable in scope", name);
            return NULL;
        }
    }
    next_token(ps);
    if (!parse_result_type(ps, &op->results[0]->type))
        return NULL;
    return op;
}

static TirOp *parse_memory(Parser *ps, TirOpcode opc, Loc loc)
{
    TirKernel *k = ps->k;
    int sub = 0;
    if (opc == TIR_ATOMIC && !parse_reduce_kind(ps, &sub, true))
        return NULL;
    int pline = ps->tok.line, pcol = ps->tok.col;
    const char *pname = take_ident(ps, "a tensor parameter");
    if (!pname)
        return NULL;
    int param = tir_find_param(k, pname);
    if (param < 0) {
        error_at(ps, pline, pcol, "unknown parameter '%s'", pname);
        return NULL;
    }
    if (!expect_punct(ps, '['))
        return NULL;
    TirIndex index[MAX_RANK * 2];
    TirValue *values[MAX_RANK * 2 + 2];
    int nindex = 0, nvalues = 1;   /* values[0]: the stored value, if any; a data mask last */
    for (;;) {
        if (nindex >= MAX_RANK * 2) {
            error_tok(ps, "too many indices");
            return NULL;
        }
        TirIndex *ix = &index[nindex++];
        memset(ix, 0, sizeof *ix);
        ix->loopvar = ix->operand = -1;
        if (is_punct(ps, ':')) {
            ix->kind = TIR_IDX_FULL;
            next_token(ps);
        } else if (is_word(ps, "None")) {
            ix->kind = TIR_IDX_NEWAXIS;
            next_token(ps);
        } else if (ps->tok.kind == TK_VALUE) {
            ix->kind = TIR_IDX_VALUE;
            if (!(values[nvalues] = use_value(ps)))
                return NULL;
            ix->operand = nvalues++;
        } else if (ps->tok.kind == TK_IDENT) {
            ix->kind = TIR_IDX_BLOCK;
            ix->loopvar = find_loopvar_in_scope(ps, ps->tok.start, ps->tok.len);
            if (ix->loopvar < 0) {
                error_tok(ps, "'%.*s' is not a loop variable in scope", (int)ps->tok.len, ps->tok.start);
                return NULL;
            }
            next_token(ps);
        } else {
            char buf[96];
            error_tok(ps, "expected an index (a loop variable, ':', None or %%N), found %s",
                      describe_token(ps, buf, sizeof buf));
            return NULL;
        }
        if (is_punct(ps, ',')) {
            next_token(ps);
            continue;
        }
        if (!expect_punct(ps, ']'))
            return NULL;
        break;
    }
    if (opc != TIR_LOAD) {
        if (!expect_punct(ps, ',') || !(values[0] = use_value(ps)))
            return NULL;
    }
    if (is_word(ps, "mask")) {
        next_token(ps);
        if (!expect_punct(ps, '('))
            return NULL;
        for (int i = 0; i < nindex; i++) {
            if (i && !expect_punct(ps, ','))
                return NULL;
            static const char *const names[] = {"none", "loop", "dim", "both", "check",
                                                "loop_check"};
            int m = -1;
            for (int j = 0; j < (int)(sizeof names / sizeof names[0]); j++)
                if (is_word(ps, names[j]))
                    m = j;
            if (m < 0) {
                char buf[96];
                error_tok(ps, "expected none, loop, dim, both, check or loop_check, found %s",
                          describe_token(ps, buf, sizeof buf));
                return NULL;
            }
            index[i].mask = (TirMask)m;
            next_token(ps);
        }
        if (!expect_punct(ps, ')'))
            return NULL;
    }
    bool masked = is_word(ps, "if");   /* a data mask, the last operand */
    if (masked) {
        next_token(ps);
        if (!(values[nvalues++] = use_value(ps)))
            return NULL;
    }
    TirType t = tir_type_scalar(DT_F32);
    if (opc == TIR_LOAD && !parse_result_type(ps, &t))
        return NULL;
    int first = opc == TIR_LOAD ? 1 : 0;
    TirOp *op = finish_op(ps, opc, loc, values + first, nvalues - first, &t, opc == TIR_LOAD ? 1 : 0);
    op->sub = sub;
    op->masked = masked;
    op->param = param;
    op->nindex = nindex;
    op->index = arena_alloc(ps->arena, (size_t)nindex * sizeof *op->index);
    memcpy(op->index, index, (size_t)nindex * sizeof *op->index);
    for (int i = 0; i < nindex; i++)
        if (op->index[i].kind == TIR_IDX_VALUE)
            op->index[i].operand -= first;
    return op;
}

/* `( %a: T, ... )` of a dot region. */
static bool parse_region(Parser *ps, TirOp *op, int r)
{
    TirBlock *b = tir_block_new(ps->k, op);
    op->regions[r] = b;
    if (!expect_punct(ps, '('))
        return false;
    while (!is_punct(ps, ')')) {
        if (b->nargs && !expect_punct(ps, ','))
            return false;
        if (b->nargs >= TIR_MAX_LIST) {
            error_tok(ps, "too many region arguments");
            return false;
        }
        PendingName name;
        TirType t;
        if (!take_value_name(ps, &name) || !expect_punct(ps, ':') || !parse_type(ps, &t))
            return false;
        if (!define_value(ps, name, tir_block_add_arg(ps->k, b, t)))
            return false;
    }
    next_token(ps);
    return expect_punct(ps, '{') && parse_block_body(ps, b);
}

static TirOp *parse_dot(Parser *ps, Loc loc)
{
    TirValue *ops[3];
    if (!parse_operand_list(ps, ops, 3))
        return NULL;
    bool masked = false, tf32 = false;
    if (is_word(ps, "tf32")) {
        tf32 = true;
        next_token(ps);
    }
    if (is_word(ps, "masked")) {
        masked = true;
        next_token(ps);
    }
    TirType t;
    if (!parse_result_type(ps, &t))
        return NULL;
    loc = parse_loc(ps, loc);
    TirOp *op = finish_op(ps, TIR_DOT, loc, ops, 3, &t, 1);
    op->masked = masked;
    op->sub = tf32 ? TIR_DOT_TF32 : TIR_DOT_EXACT;
    static const char *const region_names[3] = {"prologue_a", "prologue_b", "epilogue"};
    for (int r = 0; r < 3 && !ps->failed; r++) {
        if (!is_word(ps, region_names[r]))
            continue;
        next_token(ps);
        if (!parse_region(ps, op, r))
            return NULL;
    }
    return ps->failed ? NULL : op;
}

/* One `VAR in tile(%e) block B` (or `tile(%start, %e)`) of a loop header: the variable (the
   loop's nvars-th), its extent in *extent, its start in *start (NULL when absent) and its
   block size or tunable. */
static TirLoopVar *parse_loop_var(Parser *ps, TirOpcode opc, const int *vars, int nvars,
                                  TirValue **extent, TirValue **start)
{
    TirKernel *k = ps->k;
    int line = ps->tok.line, col = ps->tok.col;
    const char *name = take_ident(ps, "a loop variable");
    if (!name)
        return NULL;
    if (find_loopvar_in_scope(ps, name, strlen(name)) >= 0) {
        error_at(ps, line, col, "loop variable '%s' shadows another", name);
        return NULL;
    }
    for (int i = 0; i < nvars; i++)
        if (strcmp(k->loopvars[vars[i]]->name, name) == 0) {
            error_at(ps, line, col, "loop variable '%s' is bound twice", name);
            return NULL;
        }
    TirLoopVar *lv = tir_loopvar_new(k, name, opc == TIR_GRID, (Loc){ps->file, line, col});
    lv->dim = nvars;
    *start = NULL;
    if (!expect_word(ps, "in") || !expect_word(ps, "tile") || !expect_punct(ps, '(') ||
        !(*extent = use_value(ps)))
        return NULL;
    if (is_punct(ps, ',')) {
        next_token(ps);
        *start = *extent;
        if (!(*extent = use_value(ps)))
            return NULL;
    }
    if (!expect_punct(ps, ')') || !expect_word(ps, "block"))
        return NULL;
    if (ps->tok.kind == TK_INT) {
        if (ps->tok.ivalue < 1) {
            error_tok(ps, "a block size is at least 1");
            return NULL;
        }
        lv->block = ps->tok.ivalue;
        next_token(ps);
    } else if (ps->tok.kind == TK_IDENT) {
        lv->tunable = -1;
        for (int i = 0; i < k->ntunables; i++)
            if (strlen(k->tunables[i].name) == ps->tok.len &&
                memcmp(k->tunables[i].name, ps->tok.start, ps->tok.len) == 0)
                lv->tunable = i;
        if (lv->tunable < 0) {
            error_tok(ps, "unknown tunable '%.*s' (declare it with `tunable`)", (int)ps->tok.len, ps->tok.start);
            return NULL;
        }
        lv->block = 0;
        next_token(ps);
    } else {
        char buf[96];
        error_tok(ps, "expected a block size or a tunable, found %s", describe_token(ps, buf, sizeof buf));
        return NULL;
    }
    if (is_word(ps, "branch")) {
        if (opc != TIR_FOR || nvars > 0 || lv->tunable >= 0 || lv->block != 1) {
            error_tok(ps, "only a sequential loop of one variable with block 1 is a branch");
            return NULL;
        }
        lv->is_branch = true;
        next_token(ps);
    }
    return lv;
}

/* `iter(%x: T = %init, ...)`, when present: names, types and initial values. Returns the
   number of carried values, or -1. */
static int parse_carried(Parser *ps, PendingName *names, TirType *types, TirValue **inits)
{
    int niter = 0;
    if (!is_word(ps, "iter"))
        return 0;
    next_token(ps);
    if (!expect_punct(ps, '('))
        return -1;
    for (;;) {
        if (niter >= TIR_MAX_LIST) {
            error_tok(ps, "too many carried values");
            return -1;
        }
        if (!take_value_name(ps, &names[niter]) || !expect_punct(ps, ':') ||
            !parse_type(ps, &types[niter]) || !expect_punct(ps, '=') ||
            !(inits[niter] = use_value(ps)))
            return -1;
        niter++;
        if (is_punct(ps, ',')) {
            next_token(ps);
            continue;
        }
        return expect_punct(ps, ')') ? niter : -1;
    }
}

static TirOp *parse_loop(Parser *ps, TirOpcode opc, Loc loc, int nresults)
{
    TirKernel *k = ps->k;
    int vars[MAX_LOOP_VARS];
    TirValue *operands[MAX_LOOP_VARS + TIR_MAX_LIST + 1];
    TirValue *start = NULL;
    int nvars = 0;
    for (;;) {
        if (nvars >= MAX_LOOP_VARS) {
            error_tok(ps, "a loop binds at most %d variables", MAX_LOOP_VARS);
            return NULL;
        }
        int line = ps->tok.line, col = ps->tok.col;
        TirValue *its_start = NULL;
        TirLoopVar *lv = parse_loop_var(ps, opc, vars, nvars, &operands[nvars], &its_start);
        if (!lv)
            return NULL;
        if (its_start && (opc != TIR_FOR || nvars > 0 || start)) {
            error_at(ps, line, col, "only a sequential loop of one variable has a start");
            return NULL;
        }
        start = start ? start : its_start;
        vars[nvars++] = lv->id;
        if (!is_punct(ps, ','))
            break;
        if (start) {
            error_tok(ps, "only a sequential loop of one variable has a start");
            return NULL;
        }
        next_token(ps);
    }
    PendingName names[TIR_MAX_LIST];
    TirType *types = arena_alloc(ps->arena, TIR_MAX_LIST * sizeof *types);
    int niter = parse_carried(ps, names, types, operands + nvars);
    if (niter < 0)
        return NULL;
    if (nresults != niter) {
        error_at(ps, loc.line, loc.col, "a loop has one result per carried value: %d results, %d carried",
                 nresults, niter);
        return NULL;
    }
    loc = parse_loc(ps, loc);
    if (start)
        operands[nvars + niter] = start;
    TirOp *op = finish_op(ps, opc, loc, operands, nvars + niter + (start != NULL), types, niter);
    op->nvars = nvars;
    op->ranged = start != NULL;
    op->loopvars = arena_alloc(ps->arena, (size_t)nvars * sizeof *op->loopvars);
    memcpy(op->loopvars, vars, (size_t)nvars * sizeof *vars);
    for (int i = 0; i < nvars; i++)
        k->loopvars[vars[i]]->loop = op;
    TirBlock *body = tir_block_new(k, op);
    op->regions[0] = body;
    for (int i = 0; i < niter; i++)
        if (!define_value(ps, names[i], tir_block_add_arg(k, body, types[i])))
            return NULL;
    if (ps->nscope + nvars > (int)(sizeof ps->scope / sizeof ps->scope[0])) {
        error_at(ps, loc.line, loc.col, "loops nest too deeply");
        return NULL;
    }
    int saved_scope = ps->nscope;
    for (int i = 0; i < nvars; i++)
        ps->scope[ps->nscope++] = vars[i];
    bool ok = expect_punct(ps, '{') && parse_block_body(ps, body);
    ps->nscope = saved_scope;
    return ok ? op : NULL;
}

/* "%r, ... =" before an op's mnemonic (none when the line starts with the mnemonic). */
static bool parse_result_names(Parser *ps, PendingName *results, int *nresults)
{
    *nresults = 0;
    if (ps->tok.kind != TK_VALUE)
        return true;
    for (;;) {
        if (*nresults >= TIR_MAX_LIST) {
            error_tok(ps, "too many results");
            return false;
        }
        if (!take_value_name(ps, &results[(*nresults)++]))
            return false;
        if (!is_punct(ps, ','))
            break;
        next_token(ps);
    }
    return expect_punct(ps, '=');
}

/* expand_dims %x, AXIS : T  /  reduce KIND %x, AXIS [masked] : T */
static TirOp *parse_axis_op(Parser *ps, TirOpcode opc, Loc loc, int mline, int mcol)
{
    const TirOpInfo *info = tir_op_info(opc);
    int kind = 0;
    if (info->form == TIR_FORM_REDUCE && !parse_reduce_kind(ps, &kind, false))
        return NULL;
    TirValue *v;
    int64_t axis;
    if (!(v = use_value(ps)) || !expect_punct(ps, ',') || !take_int(ps, &axis, "an axis"))
        return NULL;
    bool masked = false;
    if (info->form == TIR_FORM_REDUCE && is_word(ps, "masked")) {
        masked = true;
        next_token(ps);
    }
    if (opc == TIR_CUMSUM && is_word(ps, "exclusive")) {
        kind = 1;
        next_token(ps);
    }
    TirType t;
    if (!parse_result_type(ps, &t))
        return NULL;
    if (axis < 0 || axis > MAX_RANK) {
        error_at(ps, mline, mcol, "axis %lld is out of range", (long long)axis);
        return NULL;
    }
    TirOp *op = finish_op(ps, opc, loc, &v, 1, &t, 1);
    op->sub = kind;
    op->axis = (int)axis;
    op->masked = masked;
    return op;
}

/* yield [%a, ...]: the values on the mnemonic's line. */
static TirOp *parse_yield(Parser *ps, TirOpcode opc, Loc loc, int mline)
{
    TirValue *vals[TIR_MAX_LIST];
    int n = 0;
    if (ps->tok.kind == TK_VALUE && ps->tok.line == mline) {
        for (;;) {
            if (n >= TIR_MAX_LIST) {
                error_tok(ps, "too many yielded values");
                return NULL;
            }
            if (!(vals[n++] = use_value(ps)))
                return NULL;
            if (!is_punct(ps, ','))
                break;
            next_token(ps);
        }
    }
    return finish_op(ps, opc, loc, vals, n, NULL, 0);
}

/* The op after its mnemonic, by its form (docs/ir.md). */
static TirOp *parse_op_form(Parser *ps, TirOpcode opc, int sub, Loc loc, int mline, int mcol,
                            int nresults)
{
    const TirOpInfo *info = tir_op_info(opc);
    TirOp *op = NULL;
    switch (info->form) {
    case TIR_FORM_FULL:
        op = tir_op_new(ps->k, opc, loc, 0, 1, NULL);
        return parse_full_value(ps, op) ? op : NULL;
    case TIR_FORM_NAMED:
        return parse_named(ps, opc, loc);
    case TIR_FORM_OPERANDS: {
        TirValue *vals[3];
        TirType t;
        if (!parse_operand_list(ps, vals, info->noperands) || !parse_result_type(ps, &t))
            return NULL;
        op = finish_op(ps, opc, loc, vals, info->noperands, &t, 1);
        op->sub = sub;
        return op;
    }
    case TIR_FORM_AXIS:
    case TIR_FORM_REDUCE:
        return parse_axis_op(ps, opc, loc, mline, mcol);
    case TIR_FORM_DOT:
    case TIR_FORM_LOOP:
        if (ps->depth >= TIR_MAX_NESTING) {
            error_tok(ps, info->form == TIR_FORM_DOT ? "regions nest too deeply"
                                                     : "loops nest too deeply");
            return NULL;
        }
        ps->depth++;
        op = info->form == TIR_FORM_DOT ? parse_dot(ps, loc) : parse_loop(ps, opc, loc, nresults);
        ps->depth--;
        return op;
    case TIR_FORM_MEMORY:
        return parse_memory(ps, opc, loc);
    case TIR_FORM_YIELD:
        return parse_yield(ps, opc, loc, mline);
    }
    return NULL;
}

/* One op line: [%r, ... =] mnemonic ... [: T] [@line:col] [regions] */
static TirOp *parse_op(Parser *ps)
{
    Loc loc = {ps->file, ps->tok.line, ps->tok.col};
    PendingName results[TIR_MAX_LIST];
    int nresults;
    if (!parse_result_names(ps, results, &nresults))
        return NULL;
    if (ps->tok.kind != TK_IDENT) {
        char buf[96];
        error_tok(ps, "expected an op, found %s", describe_token(ps, buf, sizeof buf));
        return NULL;
    }
    TirOpcode opc;
    int sub;
    int mline = ps->tok.line, mcol = ps->tok.col;
    if (!lookup_sub(ps->tok.start, ps->tok.len, &opc, &sub)) {
        error_tok(ps, "unknown op '%.*s'", (int)ps->tok.len, ps->tok.start);
        return NULL;
    }
    const TirOpInfo *info = tir_op_info(opc);
    if (info->nresults >= 0 && nresults != info->nresults) {
        error_at(ps, mline, mcol, "'%s' has %d result%s, found %d", info->name, info->nresults,
                 info->nresults == 1 ? "" : "s", nresults);
        return NULL;
    }
    next_token(ps);
    TirOp *op = parse_op_form(ps, opc, sub, loc, mline, mcol, nresults);
    if (!op || ps->failed)
        return NULL;
    if (info->form != TIR_FORM_DOT && info->form != TIR_FORM_LOOP)
        op->loc = parse_loc(ps, op->loc);
    if (ps->failed)
        return NULL;
    for (int i = 0; i < nresults && i < op->nresults; i++)
        if (!define_value(ps, results[i], op->results[i]))
            return NULL;
    return op;
}

static bool parse_block_body(Parser *ps, TirBlock *b)
{
    while (!ps->failed && !is_punct(ps, '}')) {
        if (ps->tok.kind == TK_EOF) {
            error_tok(ps, "expected '}' before the end of input");
            return false;
        }
        TirOp *op = parse_op(ps);
        if (!op)
            return false;
        tir_op_append(b, op);
    }
    return expect_punct(ps, '}');
}

/* One `kernel ... { ... }` at the current token. */
static TirKernel *parse_kernel(Parser *ps)
{
    Arena *a = ps->arena;
    ps->k = NULL;
    ps->source = NULL;
    ps->nscope = 0;
    ps->depth = 0;
    if (ps->nvalues_cap)
        memset(ps->values, 0, (size_t)ps->nvalues_cap * sizeof *ps->values);
    int kline = ps->tok.line, kcol = ps->tok.col;
    if (!expect_word(ps, "kernel"))
        return NULL;
    if (ps->tok.kind != TK_IDENT) {
        error_tok(ps, "expected the kernel's name");
        return NULL;
    }
    char kname[TIR_MAX_TOKEN];
    memcpy(kname, ps->tok.start, ps->tok.len);
    kname[ps->tok.len] = 0;
    next_token(ps);
    ps->k = tir_kernel_new(a, kname, (Loc){ps->file, kline, kcol});
    if (!parse_signature(ps) || !expect_punct(ps, '{'))
        return NULL;
    if (is_word(ps, "source")) {
        next_token(ps);
        const char *src = parse_quoted(ps);
        if (!src)
            return NULL;
        ps->k->source = src;
        SourceFile *sf = arena_alloc(a, sizeof *sf);
        sf->path = src;
        ps->source = sf;
    }
    while (!ps->failed && is_word(ps, "tunable"))
        if (!parse_tunable(ps))
            return NULL;
    if (!parse_block_body(ps, ps->k->body) || ps->failed)
        return NULL;
    tir_renumber(ps->k);
    return ps->k;
}

static void parser_init(Parser *ps, Arena *a, Diag *d, const char *name, const char *text, size_t len)
{
    SourceFile *file = arena_alloc(a, sizeof *file);
    file->path = arena_strdup(a, name ? name : "<tir>");
    file->text = arena_strndup(a, text, len);
    file->len = len;
    *ps = (Parser){.arena = a, .diag = d, .file = file, .p = file->text, .end = file->text + len,
                   .line = 1, .col = 1};
    next_token(ps);
}

TirKernel *tir_parse(Arena *a, Diag *d, const char *name, const char *text, size_t len)
{
    Parser ps;
    parser_init(&ps, a, d, name, text, len);
    TirKernel *k = parse_kernel(&ps);
    if (!k)
        return NULL;
    if (ps.tok.kind != TK_EOF) {
        char buf[96];
        error_tok(&ps, "expected the end of input after the kernel, found %s", describe_token(&ps, buf, sizeof buf));
        return NULL;
    }
    return k;
}

int tir_parse_many(Arena *a, Diag *d, const char *name, const char *text, size_t len, TirKernel ***out)
{
    Parser ps;
    parser_init(&ps, a, d, name, text, len);
    PtrVec kernels = {0};
    while (ps.tok.kind != TK_EOF) {
        TirKernel *k = parse_kernel(&ps);
        if (!k)
            return -1;
        ptrvec_push(a, &kernels, k);
    }
    *out = (TirKernel **)kernels.items;
    return kernels.len;
}
