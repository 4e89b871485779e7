/* eval_test.c — TIR's scalar arithmetic (src/ir/eval.c) against a table: every integer
   binary, unary and compare op in i32 and i64 (bool for and/or) and the float compares, with
   the edges docs/ir.md defines (wrapping, INT64_MIN / -1, x / 0 and x % 0 as 0 and
   reported, NaN unordered), then the scalar evaluator on kernels in the text form: leaves
   from the caller, division by zero found (only in the branch a select takes), what it
   cannot evaluate named, f32 folding.
   usage: eval_test   (prints a FAIL line per mismatch and `N passed, N failed`) */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tir.h"
#include "../check.h"

#define I32_MIN INT64_C(-2147483648)
#define I32_MAX INT64_C(2147483647)

/* ---- the integer ops */

typedef struct BinaryCase {
    int sub;
    DType t;
    int64_t a, b, want;
} BinaryCase;

static const BinaryCase binary_cases[] = {
    /* add, sub, mul: wrapping in the dtype */
    {TIR_BIN_ADD, DT_I32, 2, 3, 5},
    {TIR_BIN_ADD, DT_I32, I32_MAX, 1, I32_MIN},
    {TIR_BIN_ADD, DT_I32, I32_MIN, -1, I32_MAX},
    {TIR_BIN_ADD, DT_I64, 2, 3, 5},
    {TIR_BIN_ADD, DT_I64, INT64_MAX, 1, INT64_MIN},
    {TIR_BIN_SUB, DT_I32, 2, 3, -1},
    {TIR_BIN_SUB, DT_I32, I32_MIN, 1, I32_MAX},
    {TIR_BIN_SUB, DT_I64, 2, 3, -1},
    {TIR_BIN_SUB, DT_I64, INT64_MIN, 1, INT64_MAX},
    {TIR_BIN_MUL, DT_I32, -6, 7, -42},
    {TIR_BIN_MUL, DT_I32, 65536, 65536, 0},
    {TIR_BIN_MUL, DT_I32, 46341, 46341, -2147479015},           /* 2147488281 - 2^32 */
    {TIR_BIN_MUL, DT_I64, -6, 7, -42},
    {TIR_BIN_MUL, DT_I64, INT64_MAX, 2, -2},
    {TIR_BIN_MUL, DT_I64, INT64_MIN, -1, INT64_MIN},
    /* div truncates; by -1 it negates, wrapping the minimum; by 0 it is 0 */
    {TIR_BIN_DIV, DT_I32, 7, 2, 3},
    {TIR_BIN_DIV, DT_I32, -7, 2, -3},
    {TIR_BIN_DIV, DT_I32, 7, -2, -3},
    {TIR_BIN_DIV, DT_I32, I32_MIN, -1, I32_MIN},
    {TIR_BIN_DIV, DT_I32, I32_MAX, -1, -I32_MAX},
    {TIR_BIN_DIV, DT_I32, 7, 0, 0},
    {TIR_BIN_DIV, DT_I32, I32_MIN, 0, 0},
    {TIR_BIN_DIV, DT_I64, 7, 2, 3},
    {TIR_BIN_DIV, DT_I64, -7, 2, -3},
    {TIR_BIN_DIV, DT_I64, INT64_MIN, -1, INT64_MIN},
    {TIR_BIN_DIV, DT_I64, INT64_MIN, 1, INT64_MIN},
    {TIR_BIN_DIV, DT_I64, INT64_MIN, 2, INT64_MIN / 2},
    {TIR_BIN_DIV, DT_I64, 7, 0, 0},
    /* mod: C's remainder (the dividend's sign); by -1 and by 0 it is 0 */
    {TIR_BIN_MOD, DT_I32, 7, 3, 1},
    {TIR_BIN_MOD, DT_I32, -7, 3, -1},
    {TIR_BIN_MOD, DT_I32, 7, -3, 1},
    {TIR_BIN_MOD, DT_I32, I32_MIN, -1, 0},
    {TIR_BIN_MOD, DT_I32, 7, 0, 0},
    {TIR_BIN_MOD, DT_I64, -7, 3, -1},
    {TIR_BIN_MOD, DT_I64, INT64_MIN, -1, 0},
    {TIR_BIN_MOD, DT_I64, INT64_MIN, 3, -2},
    {TIR_BIN_MOD, DT_I64, 7, 0, 0},
    /* cdiv: (a + b - 1) / b, the sum wrapping like add; by 0 it is 0 */
    {TIR_BIN_CDIV, DT_I32, 7, 2, 4},
    {TIR_BIN_CDIV, DT_I32, 8, 2, 4},
    {TIR_BIN_CDIV, DT_I32, -7, 2, -3},
    {TIR_BIN_CDIV, DT_I32, I32_MAX, 2, -1073741824},             /* 2^31 wraps to -2^31 */
    {TIR_BIN_CDIV, DT_I32, I32_MAX - 1, 2, 1073741823},
    {TIR_BIN_CDIV, DT_I32, I32_MAX, I32_MAX, 0},                  /* 2^32 - 3 wraps to -3 */
    {TIR_BIN_CDIV, DT_I32, 7, 0, 0},
    {TIR_BIN_CDIV, DT_I64, 7, 2, 4},
    {TIR_BIN_CDIV, DT_I64, INT64_MAX, 2, INT64_MIN / 2},
    {TIR_BIN_CDIV, DT_I64, INT64_MIN, -1, -(INT64_MAX - 1)},     /* MIN - 2 wraps to MAX - 1 */
    {TIR_BIN_CDIV, DT_I64, 7, 0, 0},
    /* max, min on the wrapped operands */
    {TIR_BIN_MAX, DT_I32, -1, 1, 1},
    {TIR_BIN_MAX, DT_I32, INT64_C(4294967296), -1, 0},           /* 2^32 is 0 in i32 */
    {TIR_BIN_MAX, DT_I64, INT64_MIN, INT64_MAX, INT64_MAX},
    {TIR_BIN_MIN, DT_I32, -1, 1, -1},
    {TIR_BIN_MIN, DT_I32, INT64_C(2147483648), 0, I32_MIN},
    {TIR_BIN_MIN, DT_I64, INT64_MIN, INT64_MAX, INT64_MIN},
    /* and, or on bool */
    {TIR_BIN_AND, DT_BOOL, 1, 0, 0},
    {TIR_BIN_AND, DT_BOOL, 1, 1, 1},
    {TIR_BIN_AND, DT_BOOL, 2, 1, 1},
    {TIR_BIN_OR, DT_BOOL, 0, 0, 0},
    {TIR_BIN_OR, DT_BOOL, 0, 1, 1},
    /* the small dtypes wrap in their width; unsigned ones divide and compare unsigned */
    {TIR_BIN_ADD, DT_I8, 127, 1, -128},
    {TIR_BIN_ADD, DT_U8, 255, 1, 0},
    {TIR_BIN_SUB, DT_U8, 0, 1, 255},
    {TIR_BIN_MUL, DT_I16, 300, 300, 24464},                        /* 90000 - 65536 */
    {TIR_BIN_DIV, DT_I8, -128, -1, -128},
    {TIR_BIN_DIV, DT_U32, -1, 2, 2147483647},                       /* 0xffffffff / 2 */
    {TIR_BIN_MOD, DT_U32, -1, 10, 5},                               /* 4294967295 % 10 */
    {TIR_BIN_MAX, DT_U32, -1, 1, 4294967295},
    {TIR_BIN_MIN, DT_U8, 200, 100, 100},
    /* bit operations; shift counts unsigned in the dtype, at or past the width: all out */
    {TIR_BIN_BITAND, DT_I32, 0xF0F, 0xFF, 0xF},
    {TIR_BIN_BITAND, DT_I64, -1, INT64_MIN, INT64_MIN},
    {TIR_BIN_BITOR, DT_I32, 0xF00, 0xF, 0xF0F},
    {TIR_BIN_BITOR, DT_I64, 1, INT64_MIN, INT64_MIN + 1},
    {TIR_BIN_BITXOR, DT_I32, -1, 1, -2},
    {TIR_BIN_BITXOR, DT_I64, -1, INT64_MAX, INT64_MIN},
    {TIR_BIN_SHL, DT_I32, 1, 31, I32_MIN},
    {TIR_BIN_SHL, DT_I32, 1, 32, 0},
    {TIR_BIN_SHL, DT_I32, 1, -1, 0},
    {TIR_BIN_SHL, DT_I64, 3, 62, INT64_MIN + (INT64_C(1) << 62)},
    {TIR_BIN_SHL, DT_I64, 1, 64, 0},
    {TIR_BIN_SHL, DT_U8, 0xFF, 4, 0xF0},
    {TIR_BIN_SHL, DT_I8, 0x0F, 4, -16},
    {TIR_BIN_SHR, DT_I32, -8, 1, -4},
    {TIR_BIN_SHR, DT_I32, -8, 32, -1},
    {TIR_BIN_SHR, DT_I32, 8, 40, 0},
    {TIR_BIN_SHR, DT_I32, -8, -3, -1},
    {TIR_BIN_SHR, DT_I64, INT64_MIN, 63, -1},
    {TIR_BIN_SHR, DT_I64, INT64_MIN, 64, -1},
    {TIR_BIN_SHR, DT_U32, -1, 28, 0xF},                             /* logical */
    {TIR_BIN_SHR, DT_U32, -1, 32, 0},
    {TIR_BIN_SHR, DT_U8, 0xF0, 4, 0xF},
    {TIR_BIN_SHR, DT_I8, -128, 4, -8},
    {TIR_BIN_SHR, DT_I8, -128, 8, -1},
};

static void test_binary(void)
{
    bool covered[TIR_BIN_COUNT][DT_COUNT] = {{false}};
    for (size_t i = 0; i < sizeof binary_cases / sizeof binary_cases[0]; i++) {
        const BinaryCase *c = &binary_cases[i];
        int64_t got = INT64_C(0x5555);
        bool ok = tir_int_binary(c->sub, c->t, c->a, c->b, &got);
        CHECK(ok && got == c->want, "%s %s %lld, %lld: got %lld, want %lld",
              tir_binary_name((TirBinaryOp)c->sub), dtype_name(c->t), (long long)c->a,
              (long long)c->b, (long long)got, (long long)c->want);
        bool by_zero = c->b == 0 && (c->sub == TIR_BIN_DIV || c->sub == TIR_BIN_MOD ||
                                     c->sub == TIR_BIN_CDIV);
        CHECK(tir_int_divides_by_zero(c->sub, c->b) == by_zero, "%s by %lld: divides by zero %d",
              tir_binary_name((TirBinaryOp)c->sub), (long long)c->b, by_zero);
        covered[c->sub][c->t] = true;
    }
    for (int sub = 0; sub < TIR_BIN_COUNT; sub++) {
        bool is_bool = sub == TIR_BIN_AND || sub == TIR_BIN_OR;
        CHECK(is_bool ? covered[sub][DT_BOOL]
                      : covered[sub][DT_I32] && covered[sub][DT_I64],
              "the table misses %s", tir_binary_name((TirBinaryOp)sub));
    }
    int64_t out;
    CHECK(!tir_int_binary(TIR_BIN_COUNT, DT_I64, 1, 1, &out), "a sub that is no op");
}

typedef struct UnaryCase {
    int sub;
    DType t;
    int64_t x, want;
} UnaryCase;

static const UnaryCase unary_cases[] = {
    {TIR_UN_NEG, DT_I32, 5, -5},
    {TIR_UN_NEG, DT_I32, I32_MIN, I32_MIN},
    {TIR_UN_NEG, DT_I64, 5, -5},
    {TIR_UN_NEG, DT_I64, INT64_MIN, INT64_MIN},
    {TIR_UN_ABS, DT_I32, -5, 5},
    {TIR_UN_ABS, DT_I32, I32_MIN, I32_MIN},                       /* as llvm.abs does */
    {TIR_UN_ABS, DT_I64, -5, 5},
    {TIR_UN_ABS, DT_I64, INT64_MIN, INT64_MIN},
    {TIR_UN_NOT, DT_BOOL, 0, 1},
    {TIR_UN_NOT, DT_BOOL, 1, 0},
    {TIR_UN_BITNOT, DT_I32, 0, -1},
    {TIR_UN_BITNOT, DT_I64, INT64_MIN, INT64_MAX},
    {TIR_UN_BITNOT, DT_U8, 0x0F, 0xF0},
    {TIR_UN_BITNOT, DT_U32, 0, 4294967295},
    {TIR_UN_ABS, DT_U32, 4294967295, 4294967295},
    {TIR_UN_NEG, DT_U8, 1, 255},
};

static void test_unary_compare_wrap(void)
{
    for (size_t i = 0; i < sizeof unary_cases / sizeof unary_cases[0]; i++) {
        const UnaryCase *c = &unary_cases[i];
        int64_t got = INT64_C(0x5555);
        bool ok = tir_int_unary(c->sub, c->t, c->x, &got);
        CHECK(ok && got == c->want, "%s %s %lld: got %lld, want %lld",
              tir_unary_name((TirUnaryOp)c->sub), dtype_name(c->t), (long long)c->x,
              (long long)got, (long long)c->want);
    }
    int64_t out;
    CHECK(!tir_int_unary(TIR_UN_EXP, DT_I64, 1, &out), "exp is no integer op");
    static const bool lt_eq_gt[TIR_CMP_COUNT][3] = {
        [TIR_CMP_LT] = {true, false, false}, [TIR_CMP_LE] = {true, true, false},
        [TIR_CMP_GT] = {false, false, true}, [TIR_CMP_GE] = {false, true, true},
        [TIR_CMP_EQ] = {false, true, false}, [TIR_CMP_NE] = {true, false, true},
    };
    for (int sub = 0; sub < TIR_CMP_COUNT; sub++)
        for (int order = 0; order < 3; order++) {
            int64_t a = order == 0 ? INT64_MIN : order == 1 ? 7 : INT64_MAX;
            int64_t b = order == 1 ? 7 : 0;
            CHECK(tir_int_compare(sub, a, b) == lt_eq_gt[sub][order], "%s %lld, %lld",
                  tir_cmp_name((TirCmpOp)sub), (long long)a, (long long)b);
        }
    for (int sub = 0; sub < TIR_CMP_COUNT; sub++) {
        CHECK(tir_float_compare(sub, -0.5, 0.25) == lt_eq_gt[sub][0] &&
              tir_float_compare(sub, 0.0, -0.0) == lt_eq_gt[sub][1] &&
              tir_float_compare(sub, INFINITY, 1e300) == lt_eq_gt[sub][2],
              "%s on floats", tir_cmp_name((TirCmpOp)sub));
        CHECK(tir_float_compare(sub, NAN, 1.0) == (sub == TIR_CMP_NE) &&
              tir_float_compare(sub, 1.0, NAN) == (sub == TIR_CMP_NE),
              "%s with a NaN holds only for ne", tir_cmp_name((TirCmpOp)sub));
    }
    CHECK(tir_int_wrap(DT_I32, (UINT64_C(1) << 32) + 5) == 5, "i32 wraps 2^32 + 5");
    CHECK(tir_int_wrap(DT_I32, UINT64_C(1) << 31) == I32_MIN, "i32 wraps 2^31");
    CHECK(tir_int_wrap(DT_I64, UINT64_MAX) == -1, "i64 keeps its bits");
    CHECK(tir_int_wrap(DT_I8, 0x1FF) == -1 && tir_int_wrap(DT_I16, 0x8000) == -32768 &&
          tir_int_wrap(DT_U8, UINT64_MAX) == 255 && tir_int_wrap(DT_U32, UINT64_MAX) == 4294967295,
          "i8 i16 sign-extend, u8 u32 zero-extend");
    CHECK(tir_int_wrap(DT_BOOL, 256) == 1, "bool is x != 0");
}

/* ---- the scalar evaluator */

typedef struct Leaves {
    int64_t a, b;         /* params a and b */
    int64_t m;            /* dim M */
    int64_t begin, end;   /* of every loop variable */
} Leaves;

static bool test_leaf(void *ctx, const TirOp *op, int64_t *ivalue, double *fvalue)
{
    const Leaves *l = ctx;
    (void)fvalue;
    switch (op->opcode) {
    case TIR_PARAM: *ivalue = op->param == 0 ? l->a : l->b; return true;
    case TIR_DIM: *ivalue = l->m; return true;
    case TIR_BEGIN: *ivalue = l->begin; return true;
    case TIR_END: *ivalue = l->end; return true;
    default: return false;
    }
}

/* The grid extent of k is %3 = convert(cdiv(a, b)); the loop's is a select whose untaken
   branch divides by zero; %19 is a carried value. */
static const char kernel_text[] =
    "kernel k(a: i32, b: i32, y: i64[M]) {\n"
    "    tunable BLOCK_M in {16} default 16\n"
    "    %0 = param a : i32 @2:5\n"
    "    %1 = param b : i32 @2:9\n"
    "    %2 = cdiv %0, %1 : i32 @2:14\n"
    "    %3 = convert %2 : i64 @2:14\n"
    "    grid m in tile(%3) block BLOCK_M @2:1 {\n"
    "        %4 = full 0 : i64\n"
    "        %5 = full true : bool\n"
    "        %6 = dim M : i64\n"
    "        %7 = div %6, %4 : i64 @4:7\n"
    "        %8 = end m : i64\n"
    "        %9 = select %5, %8, %7 : i64\n"
    "        %10 = full 0.1 : f32\n"
    "        %11 = full 0.2 : f32\n"
    "        %12 = add %10, %11 : f32\n"
    "        %13 = full 0.1 : f16\n"
    "        %14 = add %13, %13 : f16\n"
    "        %15 = param a : i32\n"
    "        %16 = convert %15 : i64\n"
    "        %17 = add %16, %7 : i64 @5:3\n"
    "        %18 = for n in tile(%9) block 16 iter(%19: i64 = %4) {\n"
    "            %20 = add %19, %6 : i64\n"
    "            yield %20\n"
    "        }\n"
    "        %21 = broadcast %18 : i64[m]\n"
    "        store y[m], %21\n"
    "    }\n"
    "}\n";

typedef struct Find {
    int id;
    const TirValue *found;
} Find;

static void find_value(TirOp *op, void *ctx)
{
    Find *f = ctx;
    for (int r = 0; r < op->nresults; r++)
        if (op->results[r]->id == f->id)
            f->found = op->results[r];
    for (int g = 0; g < 3; g++)
        for (int a = 0; op->regions[g] && a < op->regions[g]->nargs; a++)
            if (op->regions[g]->args[a]->id == f->id)
                f->found = op->regions[g]->args[a];
}

/* The value numbered %id in the text. */
static const TirValue *value_of(const TirKernel *k, int id)
{
    Find f = {id, NULL};
    tir_walk(k->body, find_value, &f);
    return f.found;
}

static void test_scalar_evaluator(void)
{
    Arena arena = {0};
    Diag diag = {.out = stdout};
    TirKernel *k = tir_parse(&arena, &diag, "k.ir", kernel_text, sizeof kernel_text - 1);
    CHECK(k && tir_verify(k, &diag) == 0, "the test kernel parses and verifies");
    if (!k) {
        arena_free(&arena);
        return;
    }
    const TirValue *grid_extent = value_of(k, 3), *loop_extent = value_of(k, 9);
    const TirValue *f32_sum = value_of(k, 12), *f16_sum = value_of(k, 14);
    const TirValue *div_zero = value_of(k, 17), *inner = value_of(k, 20);
    TirScalar s;

    Leaves l = {.a = I32_MAX, .b = 2, .m = 100, .begin = 32, .end = 48};
    CHECK(tir_eval_scalar(grid_extent, test_leaf, &l, &s) && s.i == -1073741824 &&
          !s.div_by_zero, "cdiv(INT32_MAX, 2) in i32 wraps its sum: got %lld", (long long)s.i);
    l.a = 1000;
    l.b = 0;
    CHECK(tir_eval_scalar(grid_extent, test_leaf, &l, &s) && s.i == 0 && s.div_by_zero &&
          s.div_by_zero->loc.line == 2 && s.div_by_zero->loc.col == 14,
          "cdiv(1000, 0) is 0 and reported at 2:14");
    l.b = 7;
    CHECK(tir_eval_scalar(grid_extent, test_leaf, &l, &s) && s.i == 143 && !s.div_by_zero,
          "cdiv(1000, 7) = 143: got %lld", (long long)s.i);
    CHECK(tir_eval_scalar(loop_extent, test_leaf, &l, &s) && s.i == 48 && !s.div_by_zero,
          "select takes end (48) and leaves its division by zero alone: got %lld%s",
          (long long)s.i, s.div_by_zero ? ", reported" : "");
    CHECK(tir_eval_scalar(div_zero, test_leaf, &l, &s) && s.i == 1000 && s.div_by_zero &&
          s.div_by_zero->loc.line == 4, "a + M / 0 is a + 0, the division reported at 4:7");
    CHECK(!tir_eval_scalar(grid_extent, NULL, NULL, &s) && s.unknown &&
          s.unknown->def && s.unknown->def->opcode == TIR_PARAM,
          "without leaves a param is unknown, and named");
    int64_t iv;
    double fv;
    CHECK(!tir_eval_const(grid_extent, &iv, &fv), "a param is no compile-time constant");
    CHECK(!tir_eval_scalar(inner, test_leaf, &l, &s) && s.unknown && !s.unknown->def,
          "a value over a loop-carried one is unknown, and the carried value named");
    CHECK(tir_eval_const(f32_sum, &iv, &fv) && fv == (double)(0.1f + 0.2f),
          "0.1 + 0.2 in f32 rounds once to f32: got %.17g", fv);
    CHECK(!tir_eval_const(f16_sum, &iv, &fv), "f16 arithmetic is not folded");
    arena_free(&arena);
}

/* A chain deeper than the evaluator goes is unknown, not a stack overflow. */
static void test_depth(void)
{
    char text[8192];
    int n = snprintf(text, sizeof text, "kernel d(y: i64[M]) {\n    %%0 = full 1 : i64\n");
    for (int i = 1; i <= 100; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "    %%%d = add %%%d, %%0 : i64\n", i, i - 1);
    n += snprintf(text + n, sizeof text - (size_t)n,
                  "    grid m in tile(%%100) block 16 {\n        %%101 = full 0 : i64[m]\n"
                  "        store y[m], %%101\n    }\n}\n");
    Arena arena = {0};
    Diag diag = {.out = stdout};
    TirKernel *k = tir_parse(&arena, &diag, "d.ir", text, (size_t)n);
    CHECK(k != NULL, "the deep kernel parses");
    if (k) {
        int64_t iv;
        double fv;
        CHECK(tir_eval_const(value_of(k, 60), &iv, &fv) && iv == 61, "60 adds deep: 61");
        CHECK(!tir_eval_const(value_of(k, 100), &iv, &fv), "100 adds deep: not evaluated");
    }
    arena_free(&arena);
}

int main(void)
{
    test_binary();
    test_unary_compare_wrap();
    test_scalar_evaluator();
    test_depth();
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
