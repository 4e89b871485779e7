#!/usr/bin/env python3
"""Checks programs (docs/language.md, "Programs") run by `tilec run --program --interpret`
against references computed here in numpy.

usage: check_programs.py BUILD_DIR [-v]

* A two-layer MLP (matmul -> bias/ReLU -> matmul -> bias, tests/golden/buffers/mlp.tile),
  whose intermediates h and z share bytes of the workspace: a wrong plan corrupts y.
* tests/golden/buffers/branches.tile: two branches joined, a reduction into an
  intermediate, a call written before its input's writer.
* examples/float8_linear.tile, forward, backward and rowwise forward, at small ragged
  shapes, against a float64 reference of the same math: every scale bit-equal to
  f32(FP8_MAX / max(f64(amax), 1e-12)) and its f32 reciprocal, every fp8 code equal to
  ml_dtypes' cast of f32(t) * scale after clamping to the format's range (the saturating
  cast), the transposed copies equal to the row-major ones transposed, and the GEMM outputs
  within the bound of their f32 sums and bf16 rounding.
The references share no code with tilec. Prints `programs: N passed, N failed`; exits 1 on
any failure.
"""
import os
import subprocess
import sys
import tempfile

import ml_dtypes
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BF16 = ml_dtypes.bfloat16
E4M3 = ml_dtypes.float8_e4m3fn
E5M2 = ml_dtypes.float8_e5m2
U = 2.0 ** -24          # f32 unit roundoff
U_BF16 = 2.0 ** -8      # bf16 unit roundoff (round to nearest: half an ulp of 8 bits)


def bf16_bits(x):
    return np.asarray(x, np.float32).astype(BF16).view(np.uint16)


def from_bits(bits, dtype):
    return bits.view(dtype).astype(np.float64)


def fp8_codes(values, dtype):
    """The codes of values an fp8 output held (written as exact float32)."""
    return np.asarray(values, np.float32).astype(dtype).view(np.uint8)


def saturating_cast(x32, dtype, fmax):
    """ml_dtypes' cast after clamping to the format's range: saturating RNE."""
    return np.clip(x32, np.float32(-fmax), np.float32(fmax)).astype(dtype).view(np.uint8)


def tensor_scale(t, fmax):
    """torchao's tensorwise scale: amax in f64, clamped below at 1e-12, rounded to f32."""
    amax = np.max(np.abs(t.astype(np.float64))) if t.size else 0.0
    return np.float32(fmax / max(amax, 1e-12))


class Checker:
    def __init__(self, build, verbose):
        self.tilec = os.path.join(os.path.abspath(build), "tilec")
        self.verbose = verbose
        self.passed = self.failed = 0
        self.tmp = tempfile.mkdtemp(prefix="tilec-programs-")
        self.count = 0

    def record(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            if self.verbose:
                print(f"ok   {name}")
            return
        self.failed += 1
        print(f"FAIL {name}")
        for line in str(detail).rstrip("\n").split("\n")[:40]:
            print(f"    {line}")

    def run(self, path, program, inputs, outputs, shape=None, sets=None):
        """Runs a program; returns ({name: float64 array}, error text)."""
        args = [self.tilec, "run", path, "--program", program, "--interpret"]
        for name, arr in inputs.items():
            self.count += 1
            f = os.path.join(self.tmp, f"{self.count}_{name}.npy")
            np.save(f, arr)
            args += ["--in", f"{name}={f}"]
        outs = {}
        for name in outputs:
            self.count += 1
            outs[name] = os.path.join(self.tmp, f"{self.count}_out_{name}.npy")
            args += ["--out", f"{name}={outs[name]}"]
        if shape:
            args += ["--shape", ",".join(f"{k}={v}" for k, v in shape.items())]
        for k, v in (sets or {}).items():
            args += ["--set", f"{k}={v}"]
        try:
            p = subprocess.run(args, capture_output=True, timeout=300)
        except subprocess.TimeoutExpired:
            return None, "timed out: " + " ".join(args)
        if p.returncode != 0:
            return None, f"exit {p.returncode}: {' '.join(args)}\n{p.stderr.decode(errors='replace')}"
        return {n: np.load(f).astype(np.float64) for n, f in outs.items()}, None

    def within(self, name, got, ref, bound):
        bad = np.abs(got - ref) > bound
        if got.shape != ref.shape:
            return self.record(name, False, f"shape {got.shape}, expected {ref.shape}")
        worst = np.unravel_index(np.argmax(np.abs(got - ref) - bound), got.shape) if got.size else ()
        self.record(name, not bad.any(),
                    f"{int(bad.sum())} of {got.size} beyond the bound; worst at {worst}: got "
                    f"{got[worst] if got.size else ''}, reference {ref[worst] if got.size else ''}, "
                    f"bound {bound[worst] if got.size else ''}")

    def equal(self, name, got, ref):
        same = got.shape == ref.shape and np.array_equal(got, ref)
        detail = ""
        if not same and got.shape == ref.shape:
            at = np.argwhere(got != ref)
            detail = f"{len(at)} differ, first at {tuple(at[0])}: got {got[tuple(at[0])]}, expected {ref[tuple(at[0])]}"
        elif not same:
            detail = f"shape {got.shape}, expected {ref.shape}"
        self.record(name, same, detail)


def mlp_cases(c, rng):
    path = os.path.join(ROOT, "tests", "golden", "buffers", "mlp.tile")
    for B, D, H, O in ((5, 7, 9, 3), (33, 70, 65, 17)):
        x = bf16_bits(rng.standard_normal((B, D)))
        w1 = bf16_bits(rng.standard_normal((D, H)) / np.sqrt(D))
        w2 = bf16_bits(rng.standard_normal((H, O)) / np.sqrt(H))
        b1 = rng.standard_normal(H).astype(np.float32)
        b2 = rng.standard_normal(O).astype(np.float32)
        out, err = c.run(path, "mlp", {"x": x, "w1": w1, "b1": b1, "w2": w2, "b2": b2},
                         ["y", "a", "h"])
        name = f"mlp B={B} D={D} H={H} O={O}"
        if err:
            c.record(name, False, err)
            continue
        xf, w1f, w2f = from_bits(x, BF16), from_bits(w1, BF16), from_bits(w2, BF16)
        h = xf @ w1f
        c.within(name + ": h", out["h"], h, (D + 2) * U * (np.abs(xf) @ np.abs(w1f)))
        # a = bf16(relu(h + b1)): the kernel's f32 h may sit on the other side of a bf16
        # rounding boundary, so a may differ by one bf16 step where h does
        a_ref = np.maximum(h + b1, 0)
        c.within(name + ": a", out["a"], a_ref, U_BF16 * np.abs(a_ref) * 2 +
                 (D + 4) * U * (np.abs(xf) @ np.abs(w1f)))
        a = out["a"]   # y from the kernel's own a: the rest is f32 sums and one add
        y = a @ w2f + b2
        c.within(name + ": y", out["y"], y, (H + 3) * U * (np.abs(a) @ np.abs(w2f) + np.abs(b2)))


def branches_cases(c, rng):
    path = os.path.join(ROOT, "tests", "golden", "buffers", "branches.tile")
    for R, C, W in ((4, 64, 8), (7, 9, 65)):
        x = rng.standard_normal((R, C)).astype(np.float32)
        v = rng.standard_normal((R, W)).astype(np.float32)
        out, err = c.run(path, "branches", {"x": x, "v": v}, ["y", "total", "s"])
        name = f"branches R={R} C={C} W={W}"
        if err:
            c.record(name, False, err)
            continue
        xd = x.astype(np.float64)
        cc = 2 * xd + 3 * xd
        s = cc.sum(axis=1)
        c.within(name + ": s", out["s"], s, (C + 4) * U * np.abs(cc).sum(axis=1))
        d = v + out["s"][:, None]
        c.within(name + ": y", out["y"], 0.5 * d, 2 * U * np.abs(d))
        c.within(name + ": total", out["total"], d.sum(axis=1), (W + 4) * U * np.abs(d).sum(axis=1))


def gemm_bound(a, b, sa, sb, k):
    """|c - ref| for c = bf16((a·bᵀ) · (sa·sb)) in f32: the products of fp8 codes are exact
    in f32, the K-term sum rounds, the scale's product and the multiply round once each,
    and bf16 rounds half an ulp of 8 bits."""
    ref = (a @ b.T) * (np.float64(sa) * np.float64(sb))
    mag = (np.abs(a) @ np.abs(b).T) * abs(np.float64(sa) * np.float64(sb))
    f32_err = (k + 3) * U * mag
    return ref, U_BF16 * (np.abs(ref) + f32_err) + f32_err


def check_cast(c, name, out, src, fmax, dtype, scale_name, code_names):
    """The scale bit-equal to the formula and the codes to the saturating cast."""
    scale = tensor_scale(src, fmax)
    inv = np.float32(1) / scale
    got_inv = np.float32(out[scale_name][0])
    c.record(f"{name}: {scale_name} bit-equal to 1 / f32({fmax:g} / max(amax, 1e-12))",
             got_inv.view(np.uint32) == inv.view(np.uint32),
             f"got {got_inv!r} ({got_inv.view(np.uint32):#x}), formula {inv!r} ({inv.view(np.uint32):#x})")
    codes = saturating_cast(src.astype(np.float32) * scale, dtype, fmax)
    for code_name, transposed in code_names:
        got = fp8_codes(out[code_name], dtype)
        c.equal(f"{name}: {code_name} codes equal ml_dtypes' saturating cast",
                got, codes.T if transposed else codes)
    return codes.view(dtype).astype(np.float64), inv


def float8_forward_cases(c, rng):
    path = os.path.join(ROOT, "examples", "float8_linear.tile")
    cases = [((37, 53, 29), 1.0, 1.0), ((5, 130, 67), 30.0, 0.02), ((9, 17, 3), 1.0, 0.0)]
    for (M, K, N), xs, ws in cases:
        x = from_bits(bf16_bits(rng.standard_normal((M, K)) * xs), BF16)
        w = from_bits(bf16_bits(rng.standard_normal((N, K)) * ws), BF16)
        name = f"float8_linear_forward M={M} K={K} N={N}" + (" (w all zero: amax clamped)" if ws == 0 else "")
        out, err = c.run(path, "float8_linear_forward", {"x": bf16_bits(x), "w": bf16_bits(w)},
                         ["y", "x8", "w8", "inv_scale_x", "inv_scale_w"])
        if err:
            c.record(name, False, err)
            continue
        x8, inv_x = check_cast(c, name, out, x, 448.0, E4M3, "inv_scale_x", [("x8", False)])
        w8, inv_w = check_cast(c, name, out, w, 448.0, E4M3, "inv_scale_w", [("w8", False)])
        ref, bound = gemm_bound(x8, w8, inv_x, inv_w, K)
        c.within(name + ": y within fp8 GEMM tolerance", out["y"], ref, bound)


def float8_backward_cases(c, rng):
    path = os.path.join(ROOT, "examples", "float8_linear.tile")
    for M, K, N in ((37, 53, 29), (6, 33, 130)):
        x = from_bits(bf16_bits(rng.standard_normal((M, K))), BF16)
        w = from_bits(bf16_bits(rng.standard_normal((N, K)) * 0.1), BF16)
        gy = from_bits(bf16_bits(rng.standard_normal((M, N)) * 1e-3), BF16)
        name = f"float8_linear_backward M={M} K={K} N={N}"
        out, err = c.run(path, "float8_linear_backward",
                         {"x": bf16_bits(x), "w": bf16_bits(w), "grad_y": bf16_bits(gy)},
                         ["grad_x", "grad_w", "xt8", "wt8", "g8", "gt8", "inv_scale_x",
                          "inv_scale_w", "inv_scale_g"])
        if err:
            c.record(name, False, err)
            continue
        x8, inv_x = check_cast(c, name, out, x, 448.0, E4M3, "inv_scale_x", [("xt8", True)])
        w8, inv_w = check_cast(c, name, out, w, 448.0, E4M3, "inv_scale_w", [("wt8", True)])
        g8, inv_g = check_cast(c, name, out, gy, 57344.0, E5M2, "inv_scale_g",
                               [("g8", False), ("gt8", True)])
        ref, bound = gemm_bound(g8, w8.T, inv_g, inv_w, N)       # grad_y · w
        c.within(name + ": grad_x within fp8 GEMM tolerance", out["grad_x"], ref, bound)
        ref, bound = gemm_bound(g8.T, x8.T, inv_g, inv_x, M)     # grad_yᵀ · x
        c.within(name + ": grad_w within fp8 GEMM tolerance", out["grad_w"], ref, bound)


def float8_rowwise_cases(c, rng):
    path = os.path.join(ROOT, "examples", "float8_linear.tile")
    M, K, N = 37, 53, 29
    x = from_bits(bf16_bits(rng.standard_normal((M, K)) * np.exp(rng.standard_normal((M, 1)))), BF16)
    w = from_bits(bf16_bits(rng.standard_normal((N, K))), BF16)
    w[3] = 0    # a zero row: its amax is clamped
    name = f"float8_linear_rowwise_forward M={M} K={K} N={N}"
    out, err = c.run(path, "float8_linear_rowwise_forward", {"x": bf16_bits(x), "w": bf16_bits(w)},
                     ["y", "x8", "w8", "inv_scale_x", "inv_scale_w"])
    if err:
        return c.record(name, False, err)
    ops = {}
    for t, tag in ((x, "x"), (w, "w")):
        scales = np.array([tensor_scale(row, 448.0) for row in t], np.float32)
        inv = np.float32(1) / scales
        c.equal(f"{name}: inv_scale_{tag} bit-equal to the formula per row",
                np.asarray(out[f"inv_scale_{tag}"], np.float32).view(np.uint32), inv.view(np.uint32))
        codes = saturating_cast(t.astype(np.float32) * scales[:, None], E4M3, 448.0)
        c.equal(f"{name}: {tag}8 codes equal ml_dtypes' saturating cast",
                fp8_codes(out[f"{tag}8"], E4M3), codes)
        ops[tag] = (codes.view(E4M3).astype(np.float64), inv.astype(np.float64))
    (x8, sx), (w8, sw) = ops["x"], ops["w"]
    ref = (x8 @ w8.T) * sx[:, None] * sw[None, :]
    mag = (np.abs(x8) @ np.abs(w8).T) * np.abs(sx[:, None] * sw[None, :])
    f32_err = (K + 3) * U * mag
    c.within(name + ": y within fp8 GEMM tolerance", out["y"], ref, U_BF16 * (np.abs(ref) + f32_err) + f32_err)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    c = Checker(sys.argv[1], "-v" in sys.argv)
    rng = np.random.default_rng(26)
    for cases in (mlp_cases, branches_cases, float8_forward_cases, float8_backward_cases,
                  float8_rowwise_cases):
        cases(c, rng)
    print(f"programs: {c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
