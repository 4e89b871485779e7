/* conv_dump.c — streams values through the dtype conversions of convert.c so that
   tests/conv/check_conversions.py can compare millions of them against independent
   implementations. Binary in, binary out, native byte order:
     conv_dump encode DTYPE f32|f64   floats -> dtype_encode_f64 bits (float DTYPE, in
                                      dtype_size bytes) or convert_f64_to_* (i32 i64 bool)
     conv_dump decode DTYPE           dtype_size-byte bit patterns -> f64 (dtype_decode)
     conv_dump round DTYPE            f32 -> f32 (round_f32_to) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

enum { CHUNK = 1 << 16 };

typedef enum Mode { MODE_ENCODE_F32, MODE_ENCODE_F64, MODE_DECODE, MODE_ROUND } Mode;

static int input_size(Mode mode, DType t)
{
    switch (mode) {
    case MODE_ENCODE_F32: return 4;
    case MODE_ENCODE_F64: return 8;
    case MODE_DECODE: return dtype_size(t);
    default: return 4;
    }
}

static int output_size(Mode mode, DType t)
{
    switch (mode) {
    case MODE_DECODE: return 8;
    case MODE_ROUND: return 4;
    default: return dtype_size(t);
    }
}

static double read_input_value(Mode mode, const unsigned char *src)
{
    if (mode == MODE_ENCODE_F64) {
        double d;
        memcpy(&d, src, sizeof d);
        return d;
    }
    float f;
    memcpy(&f, src, sizeof f);
    return f;
}

static void encode_one(DType t, double x, unsigned char *dst)
{
    if (t == DT_I32) {
        int32_t v = convert_f64_to_i32(x);
        memcpy(dst, &v, sizeof v);
    } else if (t == DT_I64) {
        int64_t v = convert_f64_to_i64(x);
        memcpy(dst, &v, sizeof v);
    } else if (t == DT_BOOL) {
        dst[0] = convert_f64_to_bool(x);
    } else {
        uint32_t bits = dtype_encode_f64(t, x);
        if (dtype_size(t) == 4) {
            memcpy(dst, &bits, 4);
        } else if (dtype_size(t) == 2) {
            uint16_t narrow = (uint16_t)bits;
            memcpy(dst, &narrow, 2);
        } else {
            dst[0] = (unsigned char)bits;
        }
    }
}

static void decode_one(DType t, const unsigned char *src, unsigned char *dst)
{
    uint32_t bits = 0;
    if (dtype_size(t) == 4) {
        memcpy(&bits, src, 4);
    } else if (dtype_size(t) == 2) {
        uint16_t narrow;
        memcpy(&narrow, src, 2);
        bits = narrow;
    } else {
        bits = src[0];
    }
    double d = dtype_decode(t, bits);
    memcpy(dst, &d, sizeof d);
}

static void convert_one(Mode mode, DType t, const unsigned char *src, unsigned char *dst)
{
    if (mode == MODE_DECODE) {
        decode_one(t, src, dst);
    } else if (mode == MODE_ROUND) {
        float f;
        memcpy(&f, src, sizeof f);
        f = round_f32_to(t, f);
        memcpy(dst, &f, sizeof f);
    } else {
        encode_one(t, read_input_value(mode, src), dst);
    }
}

static int stream(Mode mode, DType t)
{
    int in_size = input_size(mode, t), out_size = output_size(mode, t);
    unsigned char *in = malloc((size_t)CHUNK * 8), *out = malloc((size_t)CHUNK * 8);
    int rc = 1;
    if (!in || !out)
        goto done;
    for (;;) {
        size_t got = fread(in, (size_t)in_size, CHUNK, stdin);
        for (size_t i = 0; i < got; i++)
            convert_one(mode, t, in + i * (size_t)in_size, out + i * (size_t)out_size);
        if (fwrite(out, (size_t)out_size, got, stdout) != got)
            goto done;
        if (got < CHUNK)
            break;
    }
    rc = ferror(stdin) ? 1 : 0;
done:
    free(in);
    free(out);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: conv_dump encode DTYPE f32|f64 | decode DTYPE | round DTYPE\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    DType t;
    if (!dtype_from_name(argv[2], &t)) {
        fprintf(stderr, "conv_dump: unknown dtype '%s'\n", argv[2]);
        return 2;
    }
    Mode mode;
    if (strcmp(argv[1], "encode") == 0 && argc == 4 && strcmp(argv[3], "f32") == 0)
        mode = MODE_ENCODE_F32;
    else if (strcmp(argv[1], "encode") == 0 && argc == 4 && strcmp(argv[3], "f64") == 0)
        mode = MODE_ENCODE_F64;
    else if (strcmp(argv[1], "decode") == 0 && argc == 3 && dtype_is_float(t))
        mode = MODE_DECODE;
    else if (strcmp(argv[1], "round") == 0 && argc == 3)
        mode = MODE_ROUND;
    else
        return usage();
    return stream(mode, t);
}
