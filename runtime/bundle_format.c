/* bundle_format.c — what the bundle writer and reader share: CRC-32, FNV-1a, the names of
   dtypes and classes, the signature hash, and the grid-size program's evaluator. */
#include <string.h>

#include "bundle_format.h"

uint32_t tbn_crc32(uint32_t crc, const void *data, size_t size)
{
    /* A 16-entry table (half a byte per step): small enough to build per call, so nothing
       here is global, and ~8x faster than a bit at a time on megabytes of PTX. */
    uint32_t table[16];
    for (uint32_t i = 0; i < 16; i++) {
        uint32_t c = i;
        for (int k = 0; k < 4; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        table[i] = c;
    }
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < size; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ table[crc & 15];
        crc = (crc >> 4) ^ table[crc & 15];
    }
    return ~crc;
}

uint64_t tbn_fnv1a(uint64_t hash, const void *data, size_t size)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < size; i++) {
        hash ^= p[i];
        hash *= 0x100000001b3ull;
    }
    return hash;
}

const char *tbn_dtype_name(int dtype)
{
    static const char *const names[] = {"f32", "f16", "bf16", "f8e4m3", "f8e5m2", "i32", "i64",
                                        "bool", "i8", "i16", "u8", "u32"};
    return dtype >= 0 && dtype < TBN_DT_COUNT ? names[dtype] : "?";
}

int tbn_dtype_size(int dtype)
{
    static const int sizes[] = {4, 2, 2, 1, 1, 4, 8, 1, 1, 2, 1, 4};
    return dtype >= 0 && dtype < TBN_DT_COUNT ? sizes[dtype] : 0;
}

const char *tbn_align_name(int align)
{
    static const char *const names[] = {"vec16", "unit", "any"};
    return align >= 0 && align < TBN_ALIGN_COUNT ? names[align] : "?";
}

const char *tbn_reduce_name(int reduce)
{
    static const char *const names[] = {"", "sum", "max", "min"};
    return reduce >= 0 && reduce < TBN_REDUCE_COUNT ? names[reduce] : "?";
}

const char *tbn_param_kind_name(int kind)
{
    static const char *const names[] = {"tensor", "scalar", "const"};
    return kind >= 0 && kind <= TBN_PARAM_CONST ? names[kind] : "?";
}

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return tbn_fnv1a(h, b, 8);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    return tbn_fnv1a(h, s, strlen(s) + 1);
}

uint64_t tbn_signature(const char *name, const TbnParam *params, uint32_t nparams,
                       const TbnSym *syms, uint32_t nsyms)
{
    uint64_t h = hash_str(TBN_FNV_START, name);
    h = hash_u64(h, nparams);
    for (uint32_t i = 0; i < nparams; i++) {
        const TbnParam *p = &params[i];
        h = hash_str(h, p->name);
        h = hash_u64(h, (uint64_t)p->kind << 24 | (uint64_t)p->dtype << 16 |
                            (uint64_t)p->rank << 8 | p->reduce);
        for (int d = 0; d < p->rank && d < TBN_MAX_RANK; d++)
            h = hash_u64(h, (uint64_t)p->dims[d]);
    }
    h = hash_u64(h, nsyms);
    for (uint32_t s = 0; s < nsyms; s++) {
        h = hash_str(h, syms[s].name);
        h = hash_u64(h, syms[s].full);
    }
    return h;
}

/* ---- the grid program */

typedef struct GridValue {
    int64_t i;
    double f;
} GridValue;

static bool is_float_dtype(int dtype)
{
    return dtype == TBN_DT_F32;   /* the only float the reader admits in a grid program */
}

static int64_t wrap_to(int dtype, uint64_t v)
{
    if (dtype == TBN_DT_I32)
        return (int32_t)(uint32_t)v;
    if (dtype == TBN_DT_BOOL)
        return v != 0;
    return (int64_t)v;
}

static int64_t saturate_to_int(int dtype, double x)
{
    if (x != x)
        return 0;
    if (dtype == TBN_DT_BOOL)
        return x != 0;
    double lo = dtype == TBN_DT_I32 ? -2147483648.0 : -9223372036854775808.0;
    double hi = dtype == TBN_DT_I32 ? 2147483647.0 : 9223372036854775807.0;
    if (x >= -lo)
        return dtype == TBN_DT_I32 ? INT32_MAX : INT64_MAX;
    if (x < lo)
        return dtype == TBN_DT_I32 ? INT32_MIN : INT64_MIN;
    (void)hi;
    return (int64_t)x;
}

static int64_t int_binary(int sub, int dtype, int64_t a, int64_t b)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (sub) {
    case TBN_BIN_ADD: return wrap_to(dtype, ua + ub);
    case TBN_BIN_SUB: return wrap_to(dtype, ua - ub);
    case TBN_BIN_MUL: return wrap_to(dtype, ua * ub);
    case TBN_BIN_DIV:
        if (b == 0)
            return 0;
        if (b == -1)
            return wrap_to(dtype, 0 - ua);
        return wrap_to(dtype, (uint64_t)(a / b));
    case TBN_BIN_MOD:
        return b == 0 || b == -1 ? 0 : wrap_to(dtype, (uint64_t)(a % b));
    case TBN_BIN_MAX: return a > b ? a : b;
    case TBN_BIN_MIN: return a < b ? a : b;
    case TBN_BIN_AND: return (a != 0) & (b != 0);
    case TBN_BIN_OR: return (a != 0) | (b != 0);
    case TBN_BIN_CDIV:
        return b == 0 ? 0 : int_binary(TBN_BIN_DIV, dtype, wrap_to(dtype, ua + ub - 1), b);
    }
    return 0;
}

static double float_binary(int sub, double a, double b)
{
    double r;
    switch (sub) {
    case TBN_BIN_ADD: r = a + b; break;
    case TBN_BIN_SUB: r = a - b; break;
    case TBN_BIN_MUL: r = a * b; break;
    case TBN_BIN_DIV: r = a / b; break;
    case TBN_BIN_MAX: r = a != a || b != b ? a + b : a > b ? a : b; break;
    case TBN_BIN_MIN: r = a != a || b != b ? a + b : a < b ? a : b; break;
    default: r = 0; break;
    }
    return (float)r;
}

static bool compare(int sub, bool fl, GridValue a, GridValue b)
{
    if (fl) {
        switch (sub) {
        case TBN_CMP_LT: return a.f < b.f;
        case TBN_CMP_LE: return a.f <= b.f;
        case TBN_CMP_GT: return a.f > b.f;
        case TBN_CMP_GE: return a.f >= b.f;
        case TBN_CMP_EQ: return a.f == b.f;
        default: return a.f != b.f;
        }
    }
    switch (sub) {
    case TBN_CMP_LT: return a.i < b.i;
    case TBN_CMP_LE: return a.i <= b.i;
    case TBN_CMP_GT: return a.i > b.i;
    case TBN_CMP_GE: return a.i >= b.i;
    case TBN_CMP_EQ: return a.i == b.i;
    default: return a.i != b.i;
    }
}

/* The dtype each stack slot holds is checked by the reader; the evaluator trusts it. */
int tbn_grid_blocks(const TbnVariant *v, const int64_t *symbols, const TbnScalar *scalars,
                    int64_t *blocks)
{
    GridValue stack[TBN_MAX_GRID_STACK];
    uint8_t types[TBN_MAX_GRID_STACK];
    int64_t extents[TBN_MAX_GRID_VARS] = {0};
    int sp = 0;
    for (uint32_t n = 0; n < v->ngrid_instrs; n++) {
        const TbnGridInstr *g = &v->grid[n];
        GridValue r = {0, 0};
        switch (g->op) {
        case TBN_G_INT: r.i = wrap_to(g->dtype, (uint64_t)g->imm); break;
        case TBN_G_FLOAT: memcpy(&r.f, &g->imm, sizeof r.f); break;
        case TBN_G_SYM: r.i = symbols[g->index]; break;
        case TBN_G_SCALAR:
            if (is_float_dtype(g->dtype))
                r.f = (float)scalars[g->index].f;
            else
                r.i = wrap_to(g->dtype, (uint64_t)scalars[g->index].i);
            break;
        case TBN_G_UNARY: {
            GridValue a = stack[--sp];
            if (is_float_dtype(g->dtype))
                r.f = g->sub == TBN_UN_NEG ? -a.f : (a.f < 0 ? -a.f : a.f);
            else if (g->sub == TBN_UN_NOT)
                r.i = g->dtype == TBN_DT_BOOL ? !a.i : wrap_to(g->dtype, ~(uint64_t)a.i);
            else if (g->sub == TBN_UN_NEG || a.i < 0)
                r.i = wrap_to(g->dtype, 0 - (uint64_t)a.i);
            else
                r.i = a.i;
            break;
        }
        case TBN_G_BINARY: {
            GridValue b = stack[--sp], a = stack[--sp];
            if (is_float_dtype(g->dtype))
                r.f = float_binary(g->sub, a.f, b.f);
            else
                r.i = int_binary(g->sub, g->dtype, a.i, b.i);
            break;
        }
        case TBN_G_CMP: {
            bool fl = is_float_dtype(types[sp - 1]);
            GridValue b = stack[--sp], a = stack[--sp];
            r.i = compare(g->sub, fl, a, b);
            break;
        }
        case TBN_G_SELECT: {
            GridValue b = stack[--sp], a = stack[--sp], c = stack[--sp];
            r = c.i ? a : b;
            break;
        }
        case TBN_G_CONVERT: {
            int from = types[sp - 1];
            GridValue a = stack[--sp];
            if (is_float_dtype(g->dtype))
                r.f = is_float_dtype(from) ? a.f : (float)a.i;
            else
                r.i = is_float_dtype(from) ? saturate_to_int(g->dtype, a.f)
                                           : wrap_to(g->dtype, (uint64_t)a.i);
            break;
        }
        case TBN_G_EXTENT:
            extents[g->index] = stack[--sp].i;
            continue;
        }
        types[sp] = g->dtype;
        stack[sp++] = r;
    }
    int64_t total = 1;
    for (uint32_t d = 0; d < v->ngrid; d++) {
        int64_t e = extents[d], b = v->grid_blocks[d];
        if (e <= 0) {
            *blocks = 0;
            return 0;
        }
        int64_t count = e / b + (e % b != 0);
        if (__builtin_mul_overflow(total, count, &total) || total > INT32_MAX)
            return -1;
    }
    *blocks = total;
    return 0;
}
