/* npy.c — NumPy .npy files as host tensors. Reading (versions 1.0, 2.0, 3.0) trusts
   nothing in the file: every length and the shape are checked against the file's size
   before anything is allocated. Writing produces version 1.0 in C order. */
#include "interp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    NPY_MAGIC_LEN = 6,
    NPY_MAX_HEADER = 1 << 20, /* numpy writes a few hundred bytes; refuse absurd ones */
    NPY_CHUNK_ELEMENTS = 4096,
    NPY_DESCR_CAP = 32,
};

static const char npy_magic[NPY_MAGIC_LEN] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* Where a message goes: every one starts with the file's path. */
typedef struct ErrorSink {
    const char *path;
    char *buf;
    size_t len;
} ErrorSink;

static int report(ErrorSink *e, const char *fmt, ...)
{
    if (!e->buf || e->len == 0)
        return -1;
    int used = snprintf(e->buf, e->len, "%s: ", e->path);
    if (used < 0 || (size_t)used >= e->len)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->buf + used, e->len - (size_t)used, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- the header dictionary ---- */

typedef struct NpyHeader {
    char descr[NPY_DESCR_CAP];
    bool fortran_order;
    int rank;
    int64_t shape[HOST_MAX_RANK];
} NpyHeader;

typedef struct DictParser {
    const char *start;
    const char *at;
    const char *end;
    ErrorSink *err;
} DictParser;

static void skip_space(DictParser *p)
{
    while (p->at < p->end && (*p->at == ' ' || *p->at == '\t' || *p->at == '\n' ||
                              *p->at == '\r'))
        p->at++;
}

/* Skip blanks, then consume c if it is next. */
static bool accept(DictParser *p, char c)
{
    skip_space(p);
    if (p->at < p->end && *p->at == c) {
        p->at++;
        return true;
    }
    return false;
}

static int syntax_error(DictParser *p, const char *expected)
{
    if (p->at >= p->end)
        return report(p->err, "malformed header: expected %s, found the end", expected);
    return report(p->err, "malformed header: expected %s at offset %ld", expected,
                  (long)(p->at - p->start));
}

/* A Python string literal in single or double quotes, without escapes. */
static int parse_string(DictParser *p, char *out, size_t cap)
{
    skip_space(p);
    if (p->at >= p->end || (*p->at != '\'' && *p->at != '"'))
        return syntax_error(p, "a quoted string");
    char quote = *p->at++;
    size_t n = 0;
    while (p->at < p->end && *p->at != quote) {
        if (*p->at == '\\' || *p->at == '\n')
            return syntax_error(p, "a simple string");
        if (n + 1 >= cap)
            return report(p->err, "malformed header: string longer than %zu bytes", cap - 1);
        out[n++] = *p->at++;
    }
    if (p->at >= p->end)
        return syntax_error(p, "a closing quote");
    p->at++;
    out[n] = '\0';
    return 0;
}

static bool accept_word(DictParser *p, const char *word)
{
    skip_space(p);
    size_t n = strlen(word);
    if ((size_t)(p->end - p->at) >= n && memcmp(p->at, word, n) == 0) {
        p->at += n;
        return true;
    }
    return false;
}

static int parse_bool(DictParser *p, bool *out)
{
    if (accept_word(p, "True"))
        *out = true;
    else if (accept_word(p, "False"))
        *out = false;
    else
        return syntax_error(p, "True or False");
    return 0;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_dimension(DictParser *p, int64_t *out)
{
    skip_space(p);
    if (p->at < p->end && *p->at == '-')
        return report(p->err, "negative dimension in shape");
    if (p->at >= p->end || !is_digit(*p->at))
        return syntax_error(p, "a dimension");
    int64_t value = 0;
    while (p->at < p->end && is_digit(*p->at)) {
        int digit = *p->at++ - '0';
        if (value > (INT64_MAX - digit) / 10)
            return report(p->err, "dimension in shape is too large");
        value = value * 10 + digit;
    }
    if (p->at < p->end && *p->at == 'L') /* written by Python 2 era numpy */
        p->at++;
    *out = value;
    return 0;
}

/* (), (5,), (5), (2, 3), (2, 3,) */
static int parse_shape(DictParser *p, NpyHeader *h)
{
    if (!accept(p, '('))
        return syntax_error(p, "'(' to open the shape");
    h->rank = 0;
    while (!accept(p, ')')) {
        if (h->rank == HOST_MAX_RANK)
            return report(p->err, "shape has more than %d dimensions", HOST_MAX_RANK);
        if (parse_dimension(p, &h->shape[h->rank]) != 0)
            return -1;
        h->rank++;
        if (!accept(p, ',')) {
            if (!accept(p, ')'))
                return syntax_error(p, "',' or ')' in the shape");
            break;
        }
    }
    return 0;
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4, KEY_ALL = 7 };

static int parse_entry(DictParser *p, NpyHeader *h, int *seen)
{
    char key[32];
    if (parse_string(p, key, sizeof key) != 0)
        return -1;
    if (!accept(p, ':'))
        return syntax_error(p, "':' after a key");
    int bit = strcmp(key, "descr") == 0           ? KEY_DESCR
              : strcmp(key, "fortran_order") == 0 ? KEY_FORTRAN
              : strcmp(key, "shape") == 0         ? KEY_SHAPE
                                                  : 0;
    if (bit == 0)
        return report(p->err, "malformed header: unexpected key '%s'", key);
    if (*seen & bit)
        return report(p->err, "malformed header: key '%s' appears twice", key);
    *seen |= bit;
    if (bit == KEY_FORTRAN)
        return parse_bool(p, &h->fortran_order);
    if (bit == KEY_SHAPE)
        return parse_shape(p, h);
    skip_space(p);
    if (p->at < p->end && *p->at == '[')
        return report(p->err, "structured dtypes are not supported");
    return parse_string(p, h->descr, sizeof h->descr);
}

/* The header is a Python dict literal followed by padding; keys in any order. */
static int parse_header_dict(const char *text, size_t len, ErrorSink *err, NpyHeader *h)
{
    DictParser p = {text, text, text + len, err};
    int seen = 0;
    if (!accept(&p, '{'))
        return syntax_error(&p, "'{'");
    while (!accept(&p, '}')) {
        if (parse_entry(&p, h, &seen) != 0)
            return -1;
        if (!accept(&p, ',')) {
            if (!accept(&p, '}'))
                return syntax_error(&p, "',' or '}'");
            break;
        }
    }
    skip_space(&p);
    if (p.at != p.end)
        return syntax_error(&p, "only padding after the dict");
    if (seen != KEY_ALL)
        return report(err, "malformed header: needs the keys 'descr', 'fortran_order' "
                           "and 'shape'");
    return 0;
}

/* ---- element types ---- */

typedef struct NpyElement {
    char kind; /* 'f' float, 'i' signed, 'u' unsigned, 'b' bool */
    int size;
    bool big_endian;
} NpyElement;

/* Understands only the descrs some target accepts; false for everything else. */
static bool parse_descr(const char *descr, NpyElement *el)
{
    if (strlen(descr) != 3)
        return false;
    char order = descr[0];
    if (order != '<' && order != '>' && order != '|')
        return false;
    el->kind = descr[1];
    el->size = descr[2] - '0';
    el->big_endian = order == '>';
    if (strchr("fiub", el->kind) == NULL || el->size < 1 || el->size > 8)
        return false;
    if (el->size > 1 && order == '|')
        return false; /* a multi-byte type needs a byte order */
    return true;
}

static bool descr_fits_target(const NpyElement *el, DType target)
{
    bool any_float = el->kind == 'f' && (el->size == 2 || el->size == 4 || el->size == 8);
    switch (target) {
    case DT_F32: return any_float;
    case DT_F16:
    case DT_BF16: return any_float || (el->kind == 'u' && el->size == 2);
    case DT_F8E4M3:
    case DT_F8E5M2: return any_float || (el->kind == 'u' && el->size == 1);
    case DT_BOOL: return el->kind == 'b' && el->size == 1;
    default:   /* an integer dtype takes any integer file; each value must fit it */
        return dtype_is_int(target) && (el->kind == 'i' || el->kind == 'u') &&
               (el->size == 1 || el->size == 2 || el->size == 4 || el->size == 8);
    }
}

static const char *accepted_descrs(DType target)
{
    switch (target) {
    case DT_F32: return "float32/float16/float64";
    case DT_F16:
    case DT_BF16: return "float32/float16/float64 or uint16 bits";
    case DT_F8E4M3:
    case DT_F8E5M2: return "float32/float16/float64 or uint8 bits";
    case DT_BOOL: return "bool";
    default: return dtype_is_int(target) ? "int8/16/32/64 or uint8/16/32/64" : "nothing";
    }
}

/* "a bf16", "a bool", but "an f32", "an i32" (read aloud: "eff", "eye"). */
static const char *article_for(DType t)
{
    return dtype_name(t)[0] == 'b' ? "a" : "an";
}

static uint64_t load_unsigned(const unsigned char *p, int size, bool big_endian)
{
    uint64_t v = 0;
    for (int i = 0; i < size; i++) {
        int byte = big_endian ? i : size - 1 - i;
        v = (v << 8) | p[byte];
    }
    return v;
}

static void store_little_endian(unsigned char *p, uint64_t v, int size)
{
    for (int i = 0; i < size; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static double float_from_bits(uint64_t raw, int size)
{
    if (size == 2)
        return dtype_decode(DT_F16, (uint32_t)raw);
    if (size == 4) {
        uint32_t narrow = (uint32_t)raw;
        float f;
        memcpy(&f, &narrow, sizeof f);
        return f;
    }
    double d;
    memcpy(&d, &raw, sizeof d);
    return d;
}

static int64_t int_from_bits(uint64_t raw, int size)
{
    if (size >= 8) {
        int64_t v;
        memcpy(&v, &raw, sizeof v);
        return v;
    }
    uint64_t sign = UINT64_C(1) << (8 * size - 1);   /* sign-extend from the width */
    raw &= (sign << 1) - 1;
    return (int64_t)(raw ^ sign) - (int64_t)sign;
}

/* Store file element number `index` at the same storage offset: the tensor's strides
   follow the file's order, C or Fortran. */
static int store_element(HostTensor *out, int64_t index, const NpyElement *el,
                         const unsigned char *src, ErrorSink *err)
{
    uint64_t raw = load_unsigned(src, el->size, el->big_endian);
    switch (el->kind) {
    case 'f':
        host_set_at(out, index, float_from_bits(raw, el->size));
        return 0;
    case 'i': {
        int64_t v = int_from_bits(raw, el->size);
        if (!dtype_int_fits(out->dtype, v))
            return report(err, "value %lld at flat index %lld does not fit in %s",
                          (long long)v, (long long)index, dtype_name(out->dtype));
        host_set_raw_at(out, index, (uint64_t)v);
        return 0;
    }
    case 'b':
        host_set_raw_at(out, index, raw != 0);
        return 0;
    default: /* 'u': an unsigned integer, or exact bits of a float dtype */
        if (dtype_is_int(out->dtype) && (raw > INT64_MAX || !dtype_int_fits(out->dtype, (int64_t)raw)))
            return report(err, "value %llu at flat index %lld does not fit in %s",
                          (unsigned long long)raw, (long long)index, dtype_name(out->dtype));
        host_set_raw_at(out, index, raw);
        return 0;
    }
}

/* ---- reading ---- */

static int file_size_of(FILE *fp, long *size)
{
    if (fseek(fp, 0, SEEK_END) != 0)
        return -1;
    *size = ftell(fp);
    if (*size < 0 || fseek(fp, 0, SEEK_SET) != 0)
        return -1;
    return 0;
}

/* Reads magic, version and header text; leaves fp at the first data byte. */
static int read_header(FILE *fp, long file_size, ErrorSink *err, NpyHeader *h,
                       long *data_offset)
{
    unsigned char prefix[12];
    size_t got = fread(prefix, 1, 8, fp);
    if (ferror(fp)) /* a directory opens but does not read */
        return report(err, "cannot read: %s", strerror(errno));
    if (got != 8 || file_size < 10)
        return report(err, "not a .npy file (too short: %ld bytes)", file_size);
    if (memcmp(prefix, npy_magic, NPY_MAGIC_LEN) != 0)
        return report(err, "not a .npy file (bad magic)");
    int major = prefix[6], minor = prefix[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return report(err, "unsupported .npy version %d.%d", major, minor);
    int length_bytes = major == 1 ? 2 : 4;
    if (fread(prefix + 8, 1, (size_t)length_bytes, fp) != (size_t)length_bytes)
        return report(err, "truncated header length");
    uint64_t header_len = load_unsigned(prefix + 8, length_bytes, false);
    long header_start = 8 + length_bytes;
    if (header_len > (uint64_t)(file_size - header_start))
        return report(err, "header length %llu runs past the end of the file (%ld bytes)",
                      (unsigned long long)header_len, file_size);
    if (header_len > NPY_MAX_HEADER)
        return report(err, "header of %llu bytes is too long",
                      (unsigned long long)header_len);

    char *text = malloc(header_len + 1);
    if (!text)
        return report(err, "out of memory reading the header");
    int rc = -1;
    if (fread(text, 1, header_len, fp) != header_len) {
        report(err, "truncated header");
        goto done;
    }
    text[header_len] = '\0';
    rc = parse_header_dict(text, header_len, err, h);
    *data_offset = header_start + (long)header_len;
done:
    free(text);
    return rc;
}

static void set_fortran_strides(HostTensor *t)
{
    int64_t stride = 1;
    for (int i = 0; i < t->rank; i++) {
        t->strides[i] = stride;
        stride *= t->shape[i] ? t->shape[i] : 1; /* fits: checked by host_shape_size */
    }
}

static int read_elements(FILE *fp, const NpyElement *el, int64_t count, HostTensor *out,
                         ErrorSink *err)
{
    unsigned char chunk[NPY_CHUNK_ELEMENTS * 8];
    for (int64_t done = 0; done < count;) {
        int64_t n = count - done < NPY_CHUNK_ELEMENTS ? count - done : NPY_CHUNK_ELEMENTS;
        size_t bytes = (size_t)n * (size_t)el->size;
        if (fread(chunk, 1, bytes, fp) != bytes)
            return report(err, "data truncated while reading");
        for (int64_t i = 0; i < n; i++) {
            if (store_element(out, done + i, el, chunk + i * el->size, err) != 0)
                return -1;
        }
        done += n;
    }
    return 0;
}

static int load_from_stream(FILE *fp, DType target, HostTensor *out, ErrorSink *err)
{
    long file_size;
    if (file_size_of(fp, &file_size) != 0)
        return report(err, "cannot determine the file size (not a regular file?)");
    NpyHeader h = {0};
    long data_offset = 0;
    if (read_header(fp, file_size, err, &h, &data_offset) != 0)
        return -1;

    NpyElement el;
    if (!parse_descr(h.descr, &el) || !descr_fits_target(&el, target))
        return report(err, "dtype '%s' cannot be passed to %s %s parameter (expected %s)",
                      h.descr, article_for(target), dtype_name(target),
                      accepted_descrs(target));
    int64_t count;
    size_t data_bytes;
    if (!host_shape_size(h.rank, h.shape, el.size, &count, &data_bytes))
        return report(err, "shape is too large to address");
    if (data_bytes > (uint64_t)(file_size - data_offset))
        return report(err, "data truncated: the shape needs %zu bytes but %ld follow the "
                           "header", data_bytes, file_size - data_offset);
    if (host_alloc(out, target, h.rank, h.shape) != 0)
        return report(err, "out of memory for %lld elements", (long long)count);
    if (h.fortran_order)
        set_fortran_strides(out);
    if (read_elements(fp, &el, count, out, err) != 0) {
        host_free(out);
        return -1;
    }
    return 0;
}

int npy_load(const char *path, DType target, HostTensor *out, char *err, size_t errlen)
{
    ErrorSink sink = {path, err, errlen};
    memset(out, 0, sizeof *out);
    if (!dtype_is_float(target) && !dtype_is_int(target) && target != DT_BOOL)
        return report(&sink, "invalid target dtype");
    char why[128];
    FILE *fp = infile_open(path, why, sizeof why);
    if (!fp)
        return report(&sink, "cannot open: %s", why);
    int rc = load_from_stream(fp, target, out, &sink);
    fclose(fp);
    return rc;
}

/* ---- writing ---- */

static const char *save_descr(DType t)
{
    switch (t) {
    case DT_I8: return "|i1";
    case DT_I16: return "<i2";
    case DT_U8: return "|u1";
    case DT_U32: return "<u4";
    case DT_I32: return "<i4";
    case DT_I64: return "<i8";
    case DT_BOOL: return "|b1";
    default: return "<f4";
    }
}

/* The dict padded with spaces and a newline so the data starts 64-byte aligned. */
static int format_header(const HostTensor *t, char *out, size_t cap)
{
    int n = snprintf(out, cap, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     save_descr(t->dtype));
    for (int i = 0; i < t->rank; i++)
        n += snprintf(out + n, cap - (size_t)n, i ? ", %lld" : "%lld",
                      (long long)t->shape[i]);
    n += snprintf(out + n, cap - (size_t)n, t->rank == 1 ? ",), }" : "), }");
    int total = 10 + n + 1;
    int padded = (total + 63) / 64 * 64;
    memset(out + n, ' ', (size_t)(padded - total));
    n += padded - total;
    out[n++] = '\n';
    out[n] = '\0';
    return n;
}

/* One element as its .npy bytes; returns the byte count. */
static int encode_for_save(const HostTensor *t, int64_t offset, unsigned char *dst)
{
    uint64_t raw = host_get_raw_at(t, offset);
    switch (t->dtype) {
    case DT_I8:
    case DT_I16:
    case DT_U8:
    case DT_U32:
    case DT_I32:
    case DT_I64: store_little_endian(dst, raw, dtype_size(t->dtype)); return dtype_size(t->dtype);
    case DT_BOOL: dst[0] = raw != 0; return 1;
    case DT_F32: store_little_endian(dst, raw, 4); return 4;
    default: /* every narrower float is exactly an f32 */
        store_little_endian(dst, dtype_encode_f64(DT_F32, host_get_at(t, offset)), 4);
        return 4;
    }
}

/* Errors are the stream's: outfile_commit reports them. */
static void write_elements(FILE *fp, const HostTensor *t)
{
    if (host_numel(t) == 0)
        return;
    unsigned char chunk[NPY_CHUNK_ELEMENTS * 8];
    size_t used = 0;
    int64_t index[HOST_MAX_RANK] = {0};
    do {
        used += (size_t)encode_for_save(t, host_offset(t, index), chunk + used);
        if (used + 8 > sizeof chunk) {
            fwrite(chunk, 1, used, fp);
            used = 0;
        }
    } while (host_next_index(t->rank, t->shape, index));
    fwrite(chunk, 1, used, fp);
}

int npy_save(const char *path, const HostTensor *t, char *err, size_t errlen)
{
    ErrorSink sink = {path, err, errlen};
    if (t->rank < 0 || t->rank > HOST_MAX_RANK || dtype_size(t->dtype) == 0)
        return report(&sink, "cannot save a tensor of rank %d and dtype %s", t->rank,
                      dtype_name(t->dtype));
    char header[512]; /* 8 dims of 20 digits plus padding fit easily */
    int header_len = format_header(t, header, sizeof header);

    OutFile *o = outfile_open(path, err, errlen);
    if (!o)
        return -1;
    unsigned char prefix[10];
    memcpy(prefix, npy_magic, NPY_MAGIC_LEN);
    prefix[6] = 1;
    prefix[7] = 0;
    store_little_endian(prefix + 8, (uint64_t)header_len, 2);
    fwrite(prefix, 1, sizeof prefix, o->f);
    fwrite(header, 1, (size_t)header_len, o->f);
    write_elements(o->f, t);
    return outfile_commit(o, err, errlen);   /* reports any failed write */
}
