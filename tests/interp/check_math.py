#!/usr/bin/env python3
"""Checks the math built-ins and `**` of `tilec run --interpret` against float64.

usage: check_math.py BUILD_DIR [-k SUBSTRING] [-v]

tanh erf sigmoid silu gelu gelu_tanh sin cos run over a fixed set of f32 inputs: seeded
random points (uniform in [-12, 12] and [-2, 2], and magnitudes 2^-40 to 2^24 of both
signs), every function's thresholds and their neighbours, f32 values next to multiples of
pi/2, and the special values (±0, ±inf, NaN, subnormals, ±FLT_MAX). The references are
Python's math and numpy in float64, sharing nothing with tilec. Errors are counted in ulps
of the f32 result (a subnormal's ulp is 2^-149):
  * the default arithmetic rounds the function once: within 0.5 ulp;
  * --arith=gpu computes mathfn.c's recipes, ex2 taken as correctly rounded: within the
    bound docs/language.md states for each function over its range (BOUNDS below), within
    the stated absolute error below that range, and sin/cos bit-exact with the GPU (the
    summary says so), the others within tolerance;
  * special values exactly (NaN where the reference is NaN, infinities and signed zeros);
  * bf16 inputs and outputs: computed in f32 and rounded to bf16 once.
`**` with integer exponents (multiplication: relative error at most (|n| - 1 + [n < 0])
2^-24), 0.5 (sqrt), -0.5 (rsqrt) and other constants (exp2(c log2 x): relative error at
most 2^-22 (1 + |c log2 x|)) in both arithmetics, on f32, bf16 and i32 (wrapping) bases.
exp2 exp log2 log sqrt rsqrt under --arith=gpu within their rows of the same table.
Prints `math: N passed, N failed`; exits 1 on any failure.
"""
import math
import os
import re
import sys

import numpy as np
import ml_dtypes

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_examples import run_suites  # noqa: E402  (the runner: tilec run, .npy in and out)

BF16 = ml_dtypes.bfloat16
FLT_MAX = float(np.finfo(np.float32).max)
TRIG_LIMIT = 2.0 ** 22

FUNCTIONS = ["tanh", "erf", "sigmoid", "silu", "gelu", "gelu_tanh", "sin", "cos"]

# function: (ulp bound under --arith=gpu, range of x where it holds, absolute error bound
# outside that range) -- the numbers of docs/language.md.
BOUNDS = {
    "tanh": (2.5, (-math.inf, math.inf), 0.0),
    "erf": (1.5, (-math.inf, math.inf), 0.0),
    "sigmoid": (4.0, (-87.0, math.inf), 2.0 ** -125),
    "silu": (5.0, (-87.0, math.inf), 2.0 ** -119),
    "gelu": (7.0, (-7.07, math.inf), 2.0 ** -37),
    "gelu_tanh": (5.0, (-10.0, math.inf), 2.0 ** -119),
    "sin": (2.5, (-TRIG_LIMIT, TRIG_LIMIT), 0.0),
    "cos": (2.5, (-TRIG_LIMIT, TRIG_LIMIT), 0.0),
}

MATH_KERNEL = """kernel math(x: f32[N], h: bf16[N], {outs}) {{
    for n in tile(N) {{
{body}
    }}
}}
"""


def math_kernel(path):
    outs = ", ".join(f"o_{f}: f32[N], b_{f}: bf16[N]" for f in FUNCTIONS)
    body = "\n".join(f"        o_{f}[n] = {f}(x[n])\n        b_{f}[n] = {f}(h[n])" for f in FUNCTIONS)
    with open(path, "w") as f:
        f.write(MATH_KERNEL.format(outs=outs, body=body))


# ---- references (float64) ----------------------------------------------------------------

def reference(name, x):
    x = np.asarray(x, np.float64)
    erf = np.vectorize(math.erf, otypes=[np.float64])
    erfc = np.vectorize(math.erfc, otypes=[np.float64])
    with np.errstate(all="ignore"):
        if name == "tanh":
            return np.tanh(x)
        if name == "erf":
            return erf(x)
        if name == "sigmoid":
            return 1 / (1 + np.exp(-x))
        if name == "silu":
            return x / (1 + np.exp(-x))
        if name == "gelu":
            return 0.5 * x * erfc(-x / math.sqrt(2))
        if name == "gelu_tanh":
            z = 2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
            return x / (1 + np.exp(-z))
        if name == "sin":
            return np.where(np.abs(x) <= TRIG_LIMIT, np.sin(x), np.nan)
        if name == "cos":
            return np.where(np.abs(x) <= TRIG_LIMIT, np.cos(x), np.nan)
    raise ValueError(name)


def ulp(r):
    """The spacing of f32 values at |r| (2^-149 in the subnormal range)."""
    a = np.abs(np.asarray(r, np.float64))
    e = np.floor(np.log2(np.maximum(a, 2.0 ** -126)))
    return 2.0 ** (e - 23)


def f32_of(r):
    """The reference rounded to f32 (beyond FLT_MAX: inf), as float64."""
    with np.errstate(over="ignore"):
        return np.asarray(r, np.float64).astype(np.float32).astype(np.float64)


# ---- inputs --------------------------------------------------------------------------------

def neighbours(values, k):
    """Each f32 value and its k nearest f32 neighbours on either side."""
    out = []
    for v in np.asarray(values, np.float32):
        up = down = v
        out.append(v)
        for _ in range(k):
            up = np.nextafter(up, np.float32(np.inf))
            down = np.nextafter(down, np.float32(-np.inf))
            out += [up, down]
    return np.array(out, np.float32)


def inputs(rng):
    n = 200000
    mags = np.exp2(rng.uniform(-40, 24, n)) * rng.choice([-1.0, 1.0], n)
    random = np.concatenate([rng.uniform(-12, 12, n), rng.uniform(-2, 2, n), mags])
    thresholds = [0.625, 1.0, math.sqrt(2), 5.0, 5 * math.sqrt(2), 7.07, 10.0, 16.0, 87.0,
                  87.3, 87.4, 104.0, 150.0, TRIG_LIMIT]
    edges = neighbours([s * t for t in thresholds for s in (1, -1)], 32)
    ks = np.concatenate([np.arange(1, 64), rng.integers(64, int(TRIG_LIMIT / 1.6), 200)])
    near_pi = neighbours([s * k * math.pi / 2 for k in ks for s in (1, -1)], 3)
    tiny = 2.0 ** -149
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, tiny, -tiny, 2.0 ** -126,
                        -2.0 ** -126, FLT_MAX, -FLT_MAX, 1e-30, -1e-30], np.float32)
    return np.concatenate([random.astype(np.float32), edges, near_pi, special])


# ---- comparisons ---------------------------------------------------------------------------

def compare(c, name, x, got, ref, ulp_bound, lo_hi=(-math.inf, math.inf), outside=0.0):
    """got (f32 values as float64) against ref (float64): NaN where the reference is NaN,
    infinities equal, zeros of the same sign where the reference is a zero, within ulp_bound
    ulps over [lo, hi] and within `outside` absolute elsewhere."""
    x = np.asarray(x, np.float64)
    want = f32_of(ref)
    nan_ok = np.array_equal(np.isnan(got), np.isnan(ref))
    inf = np.isinf(want)
    inf_ok = np.array_equal(got[inf], want[inf])
    zero = want == 0
    sign_ok = np.array_equal(np.signbit(got[zero & (ref == 0)]), np.signbit(ref[zero & (ref == 0)]))
    fin = np.isfinite(want) & ~np.isnan(got)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.where(fin, np.abs(got - ref), 0.0)
        in_range = (x >= lo_hi[0]) & (x <= lo_hi[1])
        limit = np.where(in_range, ulp_bound * ulp(ref), outside)
    bad = fin & ~(err <= limit)
    ok = nan_ok and inf_ok and sign_ok and not bad.any()
    detail = ""
    if not ok:
        detail = f"NaN positions {'agree' if nan_ok else 'differ'}, infinities " \
                 f"{'agree' if inf_ok else 'differ'}, signs of zeros {'agree' if sign_ok else 'differ'}"
        if bad.any():
            i = int(np.argmax(np.where(bad, err / np.maximum(limit, 1e-300), 0)))
            detail += f"; {int(bad.sum())} of {got.size} beyond the bound, worst at x = {x[i]!r} " \
                      f"({float(x[i]).hex()}): got {got[i]!r}, reference {ref[i]!r}, " \
                      f"{err[i] / ulp(ref[i]):.3f} ulp"
    elif c.verbose:
        worst = np.where(fin & in_range, err / ulp(ref), 0).max()
        name += f" (worst {worst:.3f} ulp)"
    c.record(name, ok, detail)


SPECIAL = {   # (x, exact result) of every function, in both arithmetics
    "tanh": [(0.0, 0.0), (-0.0, -0.0), (np.inf, 1.0), (-np.inf, -1.0)],
    "erf": [(0.0, 0.0), (-0.0, -0.0), (np.inf, 1.0), (-np.inf, -1.0), (6.0, 1.0)],
    "sigmoid": [(0.0, 0.5), (-0.0, 0.5), (np.inf, 1.0), (-np.inf, 0.0), (-200.0, 0.0)],
    "silu": [(0.0, 0.0), (-0.0, -0.0), (np.inf, np.inf), (-np.inf, np.nan), (-200.0, -0.0)],
    "gelu": [(0.0, 0.0), (-0.0, -0.0), (np.inf, np.inf), (-np.inf, np.nan), (-20.0, -0.0)],
    "gelu_tanh": [(0.0, 0.0), (-0.0, -0.0), (np.inf, np.inf), (-np.inf, np.nan), (-30.0, -0.0)],
    "sin": [(0.0, 0.0), (-0.0, -0.0), (np.inf, np.nan), (-np.inf, np.nan), (5e6, np.nan)],
    "cos": [(0.0, 1.0), (-0.0, 1.0), (np.inf, np.nan), (-np.inf, np.nan), (-5e6, np.nan)],
}


def math_cases(c, rng):
    path = os.path.join(c.tmp, "math.tile")
    math_kernel(path)
    x = inputs(rng)
    specials = [v for table in SPECIAL.values() for v, _ in table]
    x = np.concatenate([x, np.array(specials + [np.nan], np.float32)])
    h = x.astype(BF16)
    hx = h.astype(np.float64)
    outs = [f"{p}_{f}" for f in FUNCTIONS for p in ("o", "b")]
    for arith in ("ieee", "gpu"):
        prefix = f"--arith={arith}"
        if not any(c.selected(f"{prefix} {f}") for f in FUNCTIONS):
            continue
        got, err = c.run_kernel(path, "math", {"x": x, "h": h.view(np.uint16)}, outs,
                                extra=["--arith", arith])
        if err:
            c.record(f"{prefix}: run", False, err)
            continue
        for f in FUNCTIONS:
            if not c.selected(f"{prefix} {f}"):
                continue
            ref = reference(f, x)
            if arith == "ieee":
                compare(c, f"{prefix} {f}: f32 within 0.5 ulp", x, got[f"o_{f}"], ref, 0.5 * (1 + 2.0 ** -20))
            else:
                bound, lo_hi, outside = BOUNDS[f]
                compare(c, f"{prefix} {f}: f32 within {bound} ulp on [{lo_hi[0]}, {lo_hi[1]}]", x,
                        got[f"o_{f}"], ref, bound, lo_hi, outside)
            xs = np.array([v for v, _ in SPECIAL[f]])
            idx = [int(np.flatnonzero((x == v) & (np.signbit(x) == np.signbit(v)))[0]) for v in xs]
            want = np.array([w for _, w in SPECIAL[f]])
            have = got[f"o_{f}"][idx]
            same = all((np.isnan(w) and np.isnan(g)) or (w == g and np.signbit(w) == np.signbit(g))
                       for w, g in zip(want, have))
            c.record(f"{prefix} {f}: special values", same and np.isnan(got[f"o_{f}"][-1]),
                     f"x {list(xs)}: got {list(have)}, want {list(want)}; NaN gives {got[f'o_{f}'][-1]}")
            # bf16: the f32 result (of the exact bf16 input) rounded once more
            href = reference(f, hx)
            b = got[f"b_{f}"]
            if arith == "ieee":
                want_b = f32_of(href).astype(np.float32).astype(BF16).astype(np.float64)
                ok = np.array_equal(np.isnan(b), np.isnan(want_b)) and \
                    np.array_equal(b[~np.isnan(b)], want_b[~np.isnan(want_b)])
                c.record(f"{prefix} {f}: bf16 is the f32 result rounded once", ok,
                         f"{int((b != want_b).sum())} of {b.size} differ")
            else:
                lo, hi = BOUNDS[f][1]
                fin = np.isfinite(href) & (np.abs(href) >= 2.0 ** -100) & (hx >= lo) & (hx <= hi)
                with np.errstate(invalid="ignore"):
                    rel = np.where(fin, np.abs(b - href) / np.abs(np.where(fin, href, 1)), 0)
                ok = np.array_equal(np.isnan(b), np.isnan(href)) and rel.max() <= 2.0 ** -8 * (1 + 2.0 ** -10)
                c.record(f"{prefix} {f}: bf16 within its rounding", ok, f"worst relative error {rel.max():.3g}")
    name = "--arith=gpu: sin and cos bit-exact with the GPU, the others within tolerance"
    if c.selected(name):
        np.save(os.path.join(c.tmp, "marks_x.npy"), x[:1000])
        p, _ = c.tilec_run([path, "--interpret", "--arith=gpu", "--in", f"x={os.path.join(c.tmp, 'marks_x.npy')}"])
        out = "" if p is None else p.stdout.decode(errors="replace")
        marks = dict(re.findall(r"^(o_\w+): .*\(GPU: (bit-exact|within tolerance)", out, re.M))
        want = {f"o_{f}": "bit-exact" if f in ("sin", "cos") else "within tolerance" for f in FUNCTIONS}
        c.record(name, p is not None and p.returncode == 0 and marks == want, f"{marks}\n{out[-2000:]}")


# ---- the older built-ins: their row of docs/language.md's table under --arith=gpu ------------

OLDER_KERNEL = """kernel older(x: f32[N], e2: f32[N], e: f32[N], l2: f32[N], l: f32[N], s: f32[N], r: f32[N]) {
    for n in tile(N) {
        e2[n] = exp2(x[n])
        e[n] = exp(x[n])
        l2[n] = log2(x[n])
        l[n] = log(x[n])
        s[n] = sqrt(x[n])
        r[n] = rsqrt(x[n])
    }
}
"""


def older_cases(c, rng):
    name = "--arith=gpu exp2 exp log2 log sqrt rsqrt: within their stated bounds"
    if not c.selected(name):
        return
    path = os.path.join(c.tmp, "older.tile")
    with open(path, "w") as f:
        f.write(OLDER_KERNEL)
    n = 100000
    x = np.concatenate([rng.uniform(-100, 100, n), rng.uniform(0, 4, n),
                        np.exp2(rng.uniform(-120, 120, n))]).astype(np.float32)
    got, err = c.run_kernel(path, "older", {"x": x}, ["e2", "e", "l2", "l", "s", "r"], extra=["--arith", "gpu"])
    if err:
        c.record(name, False, err)
        return
    xd = x.astype(np.float64)
    with np.errstate(all="ignore"):
        for out, ref, bound in (("e2", np.exp2(xd), 0.51 * ulp(np.exp2(xd))),
                                ("e", np.exp(xd), (1 + 1.5 * np.abs(xd)) * 2.0 ** -24 * np.exp(xd)),
                                ("l2", np.log2(xd), 0.8 * ulp(np.log2(xd))),
                                ("l", np.log(xd), 1.5 * ulp(np.log(xd))),
                                ("s", np.sqrt(xd), 0.5 * ulp(np.sqrt(xd)) * (1 + 2.0 ** -20)),
                                ("r", 1 / np.sqrt(xd), 0.5 * ulp(1 / np.sqrt(xd)) * (1 + 2.0 ** -20))):
            normal = np.isfinite(ref) & (np.abs(ref) >= 2.0 ** -126) & (f32_of(ref) < np.inf)
            bad = normal & ~(np.abs(got[out] - ref) <= bound)
            detail = ""
            if bad.any():
                j = int(np.flatnonzero(bad)[0])
                detail = f"{int(bad.sum())} beyond, first x = {xd[j]!r}: got {got[out][j]!r}, reference {ref[j]!r}"
            c.record(f"{name}: {out}", not bad.any(), detail)


# ---- ** ----------------------------------------------------------------------------------

POW_INTEGERS = [0, 1, 2, 3, 4, 5, 7, 10, -1, -2, -3]
POW_OTHERS = [1.5, -1.5, 0.25, 2.5, -2.75, 0.3333333]


def pow_name(e):
    return "p_" + str(e).replace("-", "m").replace(".", "_")


def pow_kernel(path):
    exps = POW_INTEGERS + [0.5, -0.5] + POW_OTHERS
    outs = ", ".join(f"{pow_name(e)}: f32[N]" for e in exps)
    body = "\n".join(f"        {pow_name(e)}[n] = x[n] ** {e}" for e in exps)
    with open(path, "w") as f:
        f.write(f"kernel pw(x: f32[N], h: bf16[N], i: i32[N], {outs}, hb: bf16[N], hc: bf16[N],\n"
                f"          i3: i32[N], i0: i32[N]) {{\n    for n in tile(N) {{\n{body}\n"
                f"        hb[n] = h[n] ** 3\n        hc[n] = h[n] ** -0.5\n"
                f"        i3[n] = i[n] ** 3\n        i0[n] = i[n] ** 0\n    }}\n}}\n")
    return exps


def pow_cases(c, rng):
    path = os.path.join(c.tmp, "pow.tile")
    exps = pow_kernel(path)
    n = 50000
    x = np.concatenate([rng.uniform(-4, 4, n), np.exp2(rng.uniform(-30, 30, n)) * rng.choice([-1.0, 1.0], n),
                        [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 2.0, 0.5]]).astype(np.float32)
    xd = x.astype(np.float64)
    h = x.astype(BF16)
    i = rng.integers(-2000, 2000, x.size).astype(np.int32)
    outs = [pow_name(e) for e in exps] + ["hb", "hc", "i3", "i0"]
    for arith in ("ieee", "gpu"):
        prefix = f"--arith={arith} **"
        if not c.selected(prefix):
            continue
        got, err = c.run_kernel(path, "pw", {"x": x, "h": h.view(np.uint16), "i": i}, outs,
                                extra=["--arith", arith])
        if err:
            c.record(f"{prefix}: run", False, err)
            continue
        with np.errstate(all="ignore"):
            for e in exps:
                g = got[pow_name(e)]
                if e == 0:
                    c.record(f"{prefix} 0: 1 everywhere (NaN too)", bool((g == 1).all()), f"{g[g != 1][:5]}")
                    continue
                if e in POW_INTEGERS:
                    ref = xd ** e
                    muls = abs(e) - 1 + (e < 0)
                    # the bound holds while x^|e| is a normal f32 (no subnormal intermediate)
                    normal = (np.abs(xd) ** abs(e) >= 2.0 ** -126) | ~np.isfinite(xd) | (xd == 0)
                    bound = np.where(normal, muls * 2.0 ** -24 * np.abs(ref) * (1 + 2.0 ** -20), 2.0 ** -126)
                    check_pow(c, f"{prefix} {e}: multiplication, {muls} roundings", x, g, ref, bound)
                elif abs(e) == 0.5:
                    ref = np.sqrt(xd) if e > 0 else 1 / np.sqrt(xd)
                    bound = 0.5 * ulp(ref) * (1 + 2.0 ** -20)
                    check_pow(c, f"{prefix} {e}: {'sqrt' if e > 0 else 'rsqrt'}, 0.5 ulp", x, g, ref, bound)
                else:
                    ref = np.where(xd >= 0, np.abs(xd) ** e, np.nan)
                    y = np.nan_to_num(np.abs(e * np.log2(np.abs(xd))), posinf=0.0)
                    bound = 2.0 ** -22 * (1 + y) * np.nan_to_num(np.abs(ref), posinf=0.0) + 2.0 ** -149
                    check_pow(c, f"{prefix} {e}: exp2(c log2 x), 2^-22 (1 + |c log2 x|)", x, g, ref, bound)
            hd = h.astype(np.float64)
            check_pow(c, f"{prefix} bf16 ** 3: in f32, rounded once", h, got["hb"],
                      hd ** 3, 2.0 ** -8 * np.abs(hd ** 3) + 2.0 ** -126)
            check_pow(c, f"{prefix} bf16 ** -0.5: in f32, rounded once", h, got["hc"],
                      1 / np.sqrt(hd), 2.0 ** -8 * np.abs(1 / np.sqrt(hd)) * (1 + 2.0 ** -10))
        want_i3 = (i.astype(np.int64) ** 3).astype(np.int32).astype(np.float64)
        c.record(f"{prefix} i32 ** 3 wraps like *", np.array_equal(got["i3"], want_i3), "")
        c.record(f"{prefix} i32 ** 0 is 1", bool((got["i0"] == 1).all()), "")


def check_pow(c, name, x, got, ref, bound):
    want = f32_of(ref)
    nan_ok = np.array_equal(np.isnan(got), np.isnan(want))
    inf = np.isinf(want)
    inf_ok = np.array_equal(got[inf], want[inf])
    fin = np.isfinite(want) & ~np.isnan(got)
    with np.errstate(invalid="ignore"):
        bad = fin & ~(np.abs(got - ref) <= bound)
    detail = f"NaN {'agree' if nan_ok else 'differ'}, inf {'agree' if inf_ok else 'differ'}"
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        detail += f"; {int(bad.sum())} beyond the bound, first x = {float(x[j])!r}: got {got[j]!r}, " \
                  f"reference {ref[j]!r}, bound {bound[j]!r}"
    c.record(name, nan_ok and inf_ok and not bad.any(), detail)


def main():
    return run_suites(__doc__, "math", 20250301, (math_cases, older_cases, pow_cases))


if __name__ == "__main__":
    sys.exit(main())
