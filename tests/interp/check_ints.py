#!/usr/bin/env python3
"""Checks the small integer dtypes (i8 i16 u8 u32) of `tilec run --interpret` exactly
against numpy.

usage: check_ints.py BUILD_DIR [-k SUBSTRING] [-v]

Per dtype: loads and stores through .npy, + - * / % min max wrapping in the dtype
(x / 0 = x % 0 = 0, MIN / -1 wraps, unsigned ops unsigned), comparisons, conversions to
and from f32 and i32 (float to int saturating, NaN to 0), reductions along an axis
(sum wrapping, max, min) at several block sizes. Bit operations & | ^ ~ << >> on every
integer dtype (i64 and i32 too): shift counts negative, 0, width - 1, width and beyond
(docs/language.md: a count read as unsigned at or past the width shifts every bit out;
>> arithmetic on signed, logical on unsigned). examples/int4_gemm.tile against numpy's
dequantise-then-matmul (its nibbles exactly, the product within bf16 and f32 rounding);
i8 @ i8 into i32 exactly (wrapping past 2^31 as the tensor cores do), and
examples/w8a8_gemm.tile against numpy's exact integer product and its scales.
Prints `ints: N passed, N failed`; exits 1 on any failure.
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_examples import EXAMPLES, bf16, run_suites  # noqa: E402  (the runner: tilec run, .npy in and out)

DTYPES = {"i8": np.int8, "i16": np.int16, "u8": np.uint8, "u32": np.uint32}
ALL_INTS = dict(DTYPES, i32=np.int32, i64=np.int64)

BITS_TEMPLATE = """
kernel bits_DT(a: DT[N], b: DT[N], band: DT[N], bor: DT[N], bxor: DT[N], bnot: DT[N],
               shl: DT[N], shr: DT[N], mix: DT[N]) {
    for n in tile(N) {
        x = a[n]
        y = b[n]
        band[n] = x & y
        bor[n] = x | y
        bxor[n] = x ^ y
        bnot[n] = ~x
        shl[n] = x << y
        shr[n] = x >> y
        mix[n] = (x >> 1 & 0x3F | x << 2) ^ 5
    }
}
"""

KERNEL_TEMPLATE = """
kernel ops_DT(a: DT[N], b: DT[N], add: DT[N], sub: DT[N], mul: DT[N], quo: DT[N],
              rem: DT[N], mx: DT[N], mn: DT[N], lt: bool[N], ge: bool[N], f: f32[N],
              w: i32[N], lit: DT[N]) {
    for n in tile(N) {
        x = a[n]
        y = b[n]
        add[n] = x + y
        sub[n] = x - y
        mul[n] = x * y
        quo[n] = x / y
        rem[n] = x % y
        mx[n] = max(x, y)
        mn[n] = min(x, y)
        lt[n] = x < y
        ge[n] = x >= y
        f[n] = x.to(f32)
        w[n] = x.to(i32)
        lit[n] = x * 3 + 1
    }
}
kernel from_DT(f: f32[N], i: i32[N], of: DT[N], oi: DT[N]) {
    for n in tile(N) {
        of[n] = f[n].to(DT)
        oi[n] = i[n].to(DT)
    }
}
kernel red_DT(a: DT[M, N], s: DT[M], mx: DT[M], mn: DT[M]) {
    for m in tile(M) {
        s[m] = sum(a[m, :], axis=1)
        mx[m] = max(a[m, :], axis=1)
        mn[m] = min(a[m, :], axis=1)
    }
}
"""


def kernel_file(c):
    path = os.path.join(c.tmp, "ints.tile")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write("".join(KERNEL_TEMPLATE.replace("DT", dt) for dt in DTYPES))
            f.write("".join(BITS_TEMPLATE.replace("DT", dt) for dt in ALL_INTS))
    return path


def exact(c, name, got, want):
    """got is float64 from the runner (exact for every dtype here)."""
    want = np.asarray(want).astype(np.float64)
    same = got.shape == want.shape and np.array_equal(got, want)
    detail = ""
    if not same and got.shape == want.shape:
        i = np.flatnonzero(got.ravel() != want.ravel())
        detail = f"{i.size} of {got.size} differ; first at {i[0]}: got {got.ravel()[i[0]]!r}, " \
                 f"expected {want.ravel()[i[0]]!r}"
    elif not same:
        detail = f"shape {got.shape}, expected {want.shape}"
    c.record(name, same, detail)


def special_values(npt):
    info = np.iinfo(npt)
    return [0, 1, 2, 3, 7, info.max, info.max - 1, info.min, info.min + 1,
            -1 if info.min < 0 else info.max // 2, 100 % (info.max + 1), 5]


def operands(rng, npt, n):
    info = np.iinfo(npt)
    a = rng.integers(info.min, info.max, n, dtype=np.int64, endpoint=True)
    b = rng.integers(info.min, info.max, n, dtype=np.int64, endpoint=True)
    sp = special_values(npt)
    # every pair of special values, then random ones; small divisors to exercise / and %
    pairs = [(x, y) for x in sp for y in sp]
    for i, (x, y) in enumerate(pairs):
        a[i], b[i] = x, y
    b[len(pairs):len(pairs) + 100] = rng.integers(max(info.min, -9), 10, 100)
    return a.astype(npt), b.astype(npt)


def wrap(x, npt):
    """Python ints (object arrays) to npt, keeping the low bits."""
    bits = np.iinfo(npt).bits
    u = np.array([int(v) % (1 << bits) for v in x], dtype=np.uint64)
    return u.astype(np.dtype(f"u{bits // 8}")).view(npt)


def model_ops(a, b, npt):
    ai, bi = [int(v) for v in a], [int(v) for v in b]
    quo, rem = [], []
    for x, y in zip(ai, bi):
        if y == 0:
            quo.append(0)
            rem.append(0)
        else:
            q = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)   # C: toward zero
            quo.append(q)
            rem.append(x - q * y)
    return {
        "add": wrap([x + y for x, y in zip(ai, bi)], npt),
        "sub": wrap([x - y for x, y in zip(ai, bi)], npt),
        "mul": wrap([x * y for x, y in zip(ai, bi)], npt),
        "quo": wrap(quo, npt), "rem": wrap(rem, npt),
        "mx": np.maximum(a, b), "mn": np.minimum(a, b),
        "lt": a < b, "ge": a >= b,
        "f": a.astype(np.float32), "w": wrap(ai, np.int32),
        "lit": wrap([x * 3 + 1 for x in ai], npt),
    }


def ops_cases(c, rng):
    path = kernel_file(c)
    for dt, npt in DTYPES.items():
        a, b = operands(rng, npt, 1000)
        model = model_ops(a, b, npt)
        for block in [16, 64, 256]:
            name = f"{dt} arithmetic, comparisons, conversions [BLOCK_N={block}]"
            if not c.selected(name):
                continue
            got, err = c.run_kernel(path, f"ops_{dt}", {"a": a, "b": b}, list(model),
                                    config=f"BLOCK_N={block}")
            if err:
                c.record(name, False, err)
                continue
            for out, want in model.items():
                exact(c, f"{name} {out}", got[out], want)


def saturate(f, npt):
    info = np.iinfo(npt)
    t = np.trunc(np.nan_to_num(f, nan=0.0, posinf=np.inf, neginf=-np.inf))
    return np.clip(t, info.min, info.max)


def conversion_cases(c, rng):
    path = kernel_file(c)
    for dt, npt in DTYPES.items():
        info = np.iinfo(npt)
        f = np.concatenate([
            np.array([0, -0.0, 0.5, -0.5, 1.9, -1.9, np.nan, np.inf, -np.inf, info.max,
                      info.max + 0.5, info.max + 1.0, info.min, info.min - 1.0, info.min - 0.5,
                      1e30, -1e30, 3.7e9, -3.7e9], np.float32),
            (rng.standard_normal(300) * 2.0 ** rng.integers(0, 34, 300)).astype(np.float32)])
        i = np.concatenate([np.array([0, -1, 1, 127, 128, -128, -129, 255, 256, 32767, 32768,
                                      -32768, -32769, 65535, 65536, 2**31 - 1, -2**31], np.int32),
                            rng.integers(-2**31, 2**31 - 1, f.size - 17, dtype=np.int32)])
        name = f"{dt} from f32 (saturating) and from i32 (wrapping)"
        if not c.selected(name):
            continue
        got, err = c.run_kernel(path, f"from_{dt}", {"f": f, "i": i}, ["of", "oi"])
        if err:
            c.record(name, False, err)
            continue
        exact(c, f"{name} of", got["of"], saturate(f.astype(np.float64), npt))
        exact(c, f"{name} oi", got["oi"], wrap([int(v) for v in i], npt))


def reduce_cases(c, rng):
    path = kernel_file(c)
    for dt, npt in DTYPES.items():
        info = np.iinfo(npt)
        a = rng.integers(info.min, info.max, (37, 90), dtype=np.int64, endpoint=True).astype(npt)
        a[0, :] = info.max   # the sum wraps
        a[1, :] = info.min
        model = {"s": wrap([int(v) for v in a.astype(np.int64).sum(axis=1)], npt),
                 "mx": a.max(axis=1), "mn": a.min(axis=1)}
        for block in [16, 32, 64]:
            name = f"{dt} sum/max/min along a full axis [BLOCK_M={block}]"
            if not c.selected(name):
                continue
            got, err = c.run_kernel(path, f"red_{dt}", {"a": a}, list(model),
                                    config=f"BLOCK_M={block}")
            if err:
                c.record(name, False, err)
                continue
            for out, want in model.items():
                exact(c, f"{name} {out}", got[out], want)


def shift_model(x, count, npt, left):
    """TIR's shifts: the count unsigned in the dtype; at or past the width all bits go."""
    info = np.iinfo(npt)
    count %= 1 << info.bits
    if count >= info.bits:
        return 0 if left or x >= 0 else -1
    return x << count if left else x >> count   # Python's >> is arithmetic; x is exact


def bits_cases(c, rng):
    path = kernel_file(c)
    for dt, npt in ALL_INTS.items():
        info = np.iinfo(npt)
        a = rng.integers(info.min, info.max, 600, dtype=np.int64, endpoint=True)
        b = rng.integers(info.min, info.max, 600, dtype=np.int64, endpoint=True)
        counts = [0, 1, 3, info.bits - 1, info.bits, info.bits + 1, 2 * info.bits, 255, -1, -8]
        counts = [v for v in counts if info.min <= v <= info.max]
        values = [0, 1, -1 if info.min < 0 else info.max, info.min, info.max, 0x5A]
        pairs = [(x, y) for x in values for y in counts]
        for i, (x, y) in enumerate(pairs):
            a[i], b[i] = x, y
        b[len(pairs):len(pairs) + 200] = rng.integers(0, info.bits, 200)
        a, b = a.astype(npt), b.astype(npt)
        ai, bi = [int(v) for v in a], [int(v) for v in b]
        model = {
            "band": a & b, "bor": a | b, "bxor": a ^ b, "bnot": ~a,
            "shl": wrap([shift_model(x, y, npt, True) for x, y in zip(ai, bi)], npt),
            "shr": wrap([shift_model(x, y, npt, False) for x, y in zip(ai, bi)], npt),
            "mix": wrap([((shift_model(x, 1, npt, False) & 0x3F) | shift_model(x, 2, npt, True)) ^ 5
                         for x in ai], npt),
        }
        name = f"{dt} bit operations & | ^ ~ << >>"
        if not c.selected(name):
            continue
        got, err = c.run_kernel(path, f"bits_{dt}", {"a": a, "b": b}, list(model))
        if err:
            c.record(name, False, err)
            continue
        for out, want in model.items():
            exact(c, f"{name} {out}", got[out], want)


def int4_model(x, w, s):
    """y = x . dequant(w): signed nibbles (k = 2kk low, 2kk + 1 high) times their group's
    scale, rounded to bf16 as the kernel does, then an exact product; and its bound."""
    lo = ((w.astype(np.int64) & 0xF) ^ 8) - 8
    hi = ((w.astype(np.int64) >> 4) ^ 8) - 8
    k2, n = w.shape
    q = np.empty((2 * k2, n))
    q[0::2], q[1::2] = lo, hi
    scale = np.repeat(s, 2 * k2 // s.shape[0], axis=0)
    deq = bf16(q * scale)
    y = x @ deq
    bound = 2.0 ** -8 * np.abs(y) + 2.0 ** -20 * (np.abs(x) @ np.abs(deq)) + 1e-30
    return y, bound


def int4_gemm_cases(c, rng):
    for (m, n, k, g), config in [((16, 64, 256, 2), None), ((37, 70, 96, 3), "BLOCK_KK=16"),
                                 ((100, 33, 64, 1), "BLOCK_M=32,BLOCK_N=32,BLOCK_KK=32"),
                                 ((5, 128, 512, 4), "BLOCK_KK=16")]:
        x = bf16(rng.standard_normal((m, k)))
        w = rng.integers(0, 256, (k // 2, n), dtype=np.uint8)
        w[0, :16] = np.arange(16) * 16 + np.arange(16)[::-1]   # every nibble, both halves
        s = bf16(rng.uniform(0.01, 0.1, (g, n)))
        y, bound = int4_model(x, w, s)
        bits = lambda a: (a.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
        c.check(f"int4_gemm M={m} N={n} K={k} G={g}", "int4_gemm.tile", "int4_gemm",
                {"x": bits(x), "w": w, "s": bits(s)}, ["y"], {"y": y}, {"y": bound}, [config])


DOT_KERNEL = """
kernel idot(x: i8[M, K], w: i8[K, N], y: i32[M, N], start: const i32 in {0, 2147480000}) {
    for m, n in tile(M, N) {
        acc = full([m, n], start, i32)
        for k in tile(K) {
            acc += x[m, k] @ w[k, n]
        }
        y[m, n] = acc + 1
    }
}
"""


def i8_dot_cases(c, rng):
    path = os.path.join(c.tmp, "idot.tile")
    with open(path, "w") as f:
        f.write(DOT_KERNEL)
    for (m, n, k), config, start in [((17, 33, 70), None, 0), ((64, 64, 256), "BLOCK_K=32", 0),
                                     ((5, 100, 256), "BLOCK_K=64", 2147480000)]:
        x = rng.integers(-128, 128, (m, k), dtype=np.int64).astype(np.int8)
        w = rng.integers(-128, 128, (k, n), dtype=np.int64).astype(np.int8)
        if start:   # every product -128 * -128 on top of a start near 2^31: the sum wraps
            x[:, :], w[:, :n // 2] = -128, -128
        y = wrap(list((x.astype(object) @ w.astype(object) + start + 1).ravel()),
                 np.int32).reshape(m, n)
        name = f"i8 @ i8 -> i32 M={m} N={n} K={k} from {start}"
        if not c.selected(name):
            continue
        got, err = c.run_kernel(path, "idot", {"x": x, "w": w}, ["y"], config=config,
                                sets={"start": start})
        if err:
            c.record(name, False, err)
            continue
        exact(c, name, got["y"], y)


def w8a8_gemm_cases(c, rng):
    for (m, n, k), config in [((16, 64, 256), None), ((37, 70, 96), "BLOCK_K=32"),
                              ((100, 33, 512), "BLOCK_M=32,BLOCK_N=32,BLOCK_K=128")]:
        x = rng.integers(-128, 128, (m, k), dtype=np.int64).astype(np.int8)
        w = rng.integers(-128, 128, (n, k), dtype=np.int64).astype(np.int8)
        sx = rng.uniform(1e-3, 2e-2, m).astype(np.float32)
        sw = rng.uniform(1e-3, 2e-2, n).astype(np.float32)
        acc = (x.astype(np.int64) @ w.astype(np.int64).T).astype(np.float64)
        y = acc * sx.astype(np.float64)[:, None] * sw.astype(np.float64)[None, :]
        bound = 2.0 ** -8 * np.abs(y) + 1e-30   # f32 scaling, then one bf16 rounding
        c.check(f"w8a8_gemm M={m} N={n} K={k}", "w8a8_gemm.tile", "w8a8_gemm",
                {"x": x, "w": w, "sx": sx, "sw": sw}, ["y"], {"y": y}, {"y": bound}, [config])


def wgmma_refusal_cases(c, rng):
    """sm_90a runs i8 dots on mma.sync: --emit=schedule says so, and dot=wgmma is refused."""
    path = os.path.join(EXAMPLES, "w8a8_gemm.tile")
    name = "w8a8_gemm on sm_90a: mma.sync in --emit=schedule, dot=wgmma refused"
    if not c.selected(name):
        return
    s = subprocess.run([c.tilec, "build", path, "--emit=schedule"], capture_output=True, text=True)
    w = subprocess.run([c.tilec, "build", path, "--emit=ptx", "--config", "dot=wgmma"],
                       capture_output=True, text=True)
    ok = s.returncode == 0 and "i8 x i8" in s.stdout and ", mma.sync," in s.stdout and \
        w.returncode == 1 and "i8 dots on mma.sync only" in w.stderr
    c.record(name, ok, s.stdout[-600:] + s.stderr[-300:] + w.stderr[-300:])


def main():
    return run_suites(__doc__, "ints", 20261207,
                      (ops_cases, conversion_cases, reduce_cases, bits_cases, int4_gemm_cases,
                       i8_dot_cases, w8a8_gemm_cases, wgmma_refusal_cases))


if __name__ == "__main__":
    sys.exit(main())
