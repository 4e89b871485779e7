#!/usr/bin/env python3
"""Checks `tilec run --interpret` against references computed here in numpy.

usage: check_examples.py BUILD_DIR [-k SUBSTRING] [-v]

Every example kernel runs on ragged shapes under several configs (block sizes smaller and
larger than the shape), with inputs written as .npy (C order, Fortran order, exact bits)
and outputs read back with --out. The references share no code with tilec: float64 numpy,
with ml_dtypes only to round inputs and the kernels' own quantisation points to bf16/fp8.

Tolerances are derived per output element, never widened to pass (docs/run.md says the
same):
  * a bf16 output carries its rounding, 2^-8 |y| (RNE, 8 significant bits);
  * f32 arithmetic carries (n + c) 2^-24 times the sum of the magnitudes it adds up (n
    terms, c a few extra roundings: scale products, exp2/rsqrt (< 2 ulp in glibc));
  * an intermediate cast inside a kernel (attention's P to bf16, fp8 attention's P*448 to
    e4m3) is modelled, not tolerated: the reference rounds P at the same point, relative
    to the same running row maximum as the kernel's block decomposition; only a P whose
    f32 value could fall on either side of a rounding boundary (it lies within the f32
    error bound of one) contributes the width of that uncertainty;
  * kernels made only of f32 scalar/elementwise operations and one final cast (amax,
    the quantize kernels) are compared bit-exactly: numpy's float32 operations round like
    the interpreter's.
Besides the examples: a non-contiguous input, the mask checker (--no-mask-inference),
every bad input `tilec run` must reject, NaN/Inf propagation, random-fill determinism
(--seed) and a speed limit (attention Z=1 H=2 M=N=257 D=64 under 2 s, optimised builds).
Prints one summary line `interp: N passed, N failed`; exits 1 on any failure.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import ml_dtypes

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import philox_ref  # noqa: E402  (rand's numpy reference: dropout's mask)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
HERE = os.path.dirname(os.path.abspath(__file__))

BF16 = ml_dtypes.bfloat16
E4M3 = ml_dtypes.float8_e4m3fn
E5M2 = ml_dtypes.float8_e5m2
U = 2.0 ** -24          # f32 unit roundoff
U_BF16 = 2.0 ** -8      # bf16 unit roundoff
LOG2E = 1.4426950408889634


# ---- rounding helpers (inputs and modelled quantisation points) ----------------------

def bf16(x):
    """Values rounded to bf16 (from float32, so the rounding is single), as float64."""
    return np.asarray(x, np.float32).astype(BF16).astype(np.float64)


def e4m3(x):
    """Saturating RNE to e4m3 (ml_dtypes does not saturate: clamp first), as float64."""
    x = np.clip(np.asarray(x, np.float32), -448.0, 448.0)
    return x.astype(E4M3).astype(np.float64)


def e5m2(x):
    x = np.clip(np.asarray(x, np.float32), -57344.0, 57344.0)
    return x.astype(E5M2).astype(np.float64)


def bits(x, dtype):
    """The exact bit patterns of values representable in dtype (uint16 / uint8 arrays)."""
    view = np.uint16 if dtype == BF16 else np.uint8
    return np.asarray(x, np.float32).astype(dtype).view(view)


def f32(x):
    return np.float32(x)


# ---- the runner -------------------------------------------------------------------------

class Checker:
    def __init__(self, build, filt, verbose):
        self.tilec = os.path.join(os.path.abspath(build), "tilec")
        self.build = os.path.abspath(build)
        self.filter = filt
        self.verbose = verbose
        self.passed = 0
        self.failed = 0
        self.tmp = tempfile.mkdtemp(prefix="tilec-interp-")
        self.counter = 0

    def selected(self, name):
        return not self.filter or self.filter in name

    def record(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            if self.verbose:
                print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}")
            for line in str(detail).rstrip("\n").split("\n")[:40]:
                print(f"    {line}")

    def path(self, stem):
        self.counter += 1
        return os.path.join(self.tmp, f"{self.counter}_{stem}.npy")

    def tilec_run(self, args, timeout=120):
        t0 = time.monotonic()
        try:
            p = subprocess.run([self.tilec, "run"] + args, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, time.monotonic() - t0
        return p, time.monotonic() - t0

    def default_config(self, file, kernel):
        """{knob: value} of the kernel's default config, as `--emit=schedule` prints it (the
        defaults are the compiler's to choose: a model of a block size asks, not assumes)."""
        p = subprocess.run([self.tilec, "build", file, "--kernel", kernel, "--emit=schedule", "-o", "-"],
                           capture_output=True, text=True, timeout=120)
        line = next(l for l in p.stdout.splitlines() if l.startswith(f"schedule {kernel}: "))
        items = line.split(": ", 1)[1].split(";")[0].split(",")
        return {k: int(v) for k, v in (i.split("=") for i in items) if v.lstrip("-").isdigit()}

    def run_kernel(self, file, kernel, inputs, outputs, config=None, sets=None, shape=None,
                   extra=()):
        """Runs one kernel; inputs maps a parameter to an array (saved as is: its dtype and
        its C/Fortran order travel in the .npy). Returns ({param: float64 array}, error)."""
        args = [os.path.join(EXAMPLES, file) if not os.path.isabs(file) else file,
                "--kernel", kernel, "--interpret"]
        for name, arr in inputs.items():
            path = self.path(name)
            np.save(path, arr)
            args += ["--in", f"{name}={path}"]
        outs = {}
        for name in outputs:
            outs[name] = self.path("out_" + name)
            args += ["--out", f"{name}={outs[name]}"]
        for k, v in (sets or {}).items():
            args += ["--set", f"{k}={v}"]
        if shape:
            args += ["--shape", ",".join(f"{k}={v}" for k, v in shape.items())]
        if config:
            args += ["--config", config]
        args += list(extra)
        p, _ = self.tilec_run(args)
        if p is None:
            return None, "timed out: " + " ".join(args)
        if p.returncode != 0:
            return None, f"exit {p.returncode}: tilec run {' '.join(args)}\n" + \
                p.stderr.decode(errors="replace")
        return {n: np.load(f).astype(np.float64) for n, f in outs.items()}, None

    def compare(self, name, got, model, bound):
        """Passes when |got - model| <= bound everywhere and NaN/Inf sit where the model
        has them."""
        if got.shape != model.shape:
            self.record(name, False, f"shape {got.shape}, expected {model.shape}")
            return
        nan_ok = np.array_equal(np.isnan(got), np.isnan(model))
        fin = np.isfinite(model)
        inf_ok = np.array_equal(got[~fin & ~np.isnan(model)], model[~fin & ~np.isnan(model)])
        with np.errstate(invalid="ignore"):
            err = np.where(fin, np.abs(got - model), 0.0)
        bad = fin & ~(err <= bound)
        ok = nan_ok and inf_ok and not bad.any()
        detail = ""
        if not ok:
            detail = f"{int(bad.sum())} of {got.size} elements outside the bound" \
                     f"{'' if nan_ok else '; NaN positions differ'}{'' if inf_ok else '; Inf values differ'}"
            if bad.any():
                idx = tuple(np.argwhere(bad)[0])
                detail += f"\nfirst at {list(map(int, idx))}: got {got[idx]!r}, model {model[idx]!r}, " \
                          f"bound {np.broadcast_to(bound, got.shape)[idx]!r}"
                ratio = err[bad] / np.maximum(np.broadcast_to(bound, got.shape)[bad], 1e-300)
                detail += f"\nworst err/bound {ratio.max():.3g}"
        if ok and self.verbose and bad.size:
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(fin, err / np.maximum(np.broadcast_to(bound, got.shape), 1e-300), 0)
            name += f" (worst err/bound {np.nanmax(np.where(err > 0, ratio, 0)):.3g})"
        self.record(name, ok, detail)

    def check(self, name, file, kernel, inputs, outputs, model, bounds, configs, sets=None,
              shape=None):
        """Runs the kernel under every config and compares each output with its model."""
        for config in configs:
            full = f"{name} [{config or 'default config'}]"
            if not self.selected(full):
                continue
            got, err = self.run_kernel(file, kernel, inputs, outputs, config, sets, shape)
            if err:
                self.record(full, False, err)
                continue
            for out in outputs:
                self.compare(f"{full} {out}", got[out], model[out], bounds[out])


# ---- references -------------------------------------------------------------------------

def gemm_cases(c, rng):
    M, N, K = 67, 45, 93
    a = bf16(rng.uniform(-1, 1, (M, K)))
    b = bf16(rng.uniform(-1, 1, (K, N)))
    exact = a @ b
    acc = (K + 1) * U * (np.abs(a) @ np.abs(b))
    bound = U_BF16 * np.abs(exact) + (1 + U_BF16) * acc
    configs = [None, "BLOCK_M=16,BLOCK_N=16,BLOCK_K=16", "BLOCK_M=128,BLOCK_N=64,BLOCK_K=128",
               "BLOCK_M=32,BLOCK_N=128,BLOCK_K=32"]
    # a as float32 values, b as its exact bf16 bits (uint16).
    c.check("gemm 67x45x93", "gemm.tile", "gemm",
            {"a": a.astype(np.float32), "b": bits(b, BF16)}, ["c"], {"c": exact}, {"c": bound},
            configs)
    # Non-contiguous: b passed as the transpose of a C-order [N, K] array (a Fortran-order
    # .npy), a as a Fortran-order float64 array.
    bt = np.ascontiguousarray(b.T.astype(np.float32))
    c.check("gemm 67x45x93 fortran-order inputs", "gemm.tile", "gemm",
            {"a": np.asfortranarray(a), "b": bt.T}, ["c"], {"c": exact}, {"c": bound},
            ["BLOCK_M=16,BLOCK_N=32,BLOCK_K=32", "BLOCK_M=128,BLOCK_N=128,BLOCK_K=128"])


def bmm_cases(c, rng):
    Z, M, N, K = 3, 67, 45, 93
    a = bf16(rng.uniform(-1, 1, (Z, M, K)))
    b = bf16(rng.uniform(-1, 1, (Z, K, N)))
    exact = a @ b
    acc = (K + 1) * U * (np.abs(a) @ np.abs(b))
    bound = U_BF16 * np.abs(exact) + (1 + U_BF16) * acc
    configs = [None, "BLOCK_M=16,BLOCK_N=16,BLOCK_K=16", "BLOCK_M=128,BLOCK_N=64,BLOCK_K=128"]
    c.check("bmm 3x67x45x93", "bmm.tile", "bmm", {"a": a.astype(np.float32), "b": bits(b, BF16)},
            ["c"], {"c": exact}, {"c": bound}, configs)
    c.check("bmm 3x67x45x93 fortran-order b", "bmm.tile", "bmm",
            {"a": a.astype(np.float32), "b": np.asfortranarray(b.astype(np.float32))},
            ["c"], {"c": exact}, {"c": bound}, ["BLOCK_M=32,BLOCK_N=32,BLOCK_K=32"])


def fp8_gemm_cases(c, rng):
    M, N, K = 67, 45, 93
    raw_a = rng.standard_normal((M, K)) * 16        # not fp8 values: tilec rounds them
    a = e4m3(raw_a)
    b = e4m3(rng.standard_normal((N, K)) * 16)
    acc_abs = np.abs(a) @ np.abs(b).T
    configs = [None, "BLOCK_M=16,BLOCK_N=16,BLOCK_K=32", "BLOCK_M=128,BLOCK_N=64,BLOCK_K=128",
               "BLOCK_M=64,BLOCK_N=256,BLOCK_K=64"]
    sa, sb = f32(0.0123), f32(0.0456)
    exact = (a @ b.T) * np.float64(sa) * np.float64(sb)
    scale = abs(np.float64(sa) * np.float64(sb))
    bound = U_BF16 * np.abs(exact) + (1 + U_BF16) * ((K + 1) * U * acc_abs * scale + 3 * U * np.abs(exact))
    c.check("fp8_gemm_tensorwise 67x45x93", "fp8_gemm.tile", "fp8_gemm_tensorwise",
            {"a": raw_a.astype(np.float32), "b": bits(b, E4M3),
             "scale_a": np.array([sa], np.float32), "scale_b": np.array([sb], np.float32)},
            ["c"], {"c": exact}, {"c": bound}, configs)
    sa_r = rng.uniform(0.01, 0.1, M).astype(np.float32)
    sb_r = rng.uniform(0.01, 0.1, N).astype(np.float32)
    exact = (a @ b.T) * sa_r.astype(np.float64)[:, None] * sb_r.astype(np.float64)[None, :]
    scale = np.abs(sa_r.astype(np.float64)[:, None] * sb_r.astype(np.float64)[None, :])
    bound = U_BF16 * np.abs(exact) + (1 + U_BF16) * ((K + 1) * U * acc_abs * scale + 3 * U * np.abs(exact))
    bt = np.ascontiguousarray(bits(b, E4M3).T)         # [K, N] C order: its .T is [N, K] Fortran
    c.check("fp8_gemm_rowwise 67x45x93 (b Fortran-order bits)", "fp8_gemm.tile", "fp8_gemm_rowwise",
            {"a": bits(a, E4M3), "b": bt.T, "scale_a": sa_r, "scale_b": sb_r},
            ["c"], {"c": exact}, {"c": bound}, configs)


def attention_model(q, k, v, qk_scale, causal, BN, quant, post_scale, visible=None, blk=None):
    """The flash-attention kernels' output, modelled: P is rounded by `quant` relative to
    the running row maximum after each key block of BN (as the kernel's online softmax
    does), everything else exact. `visible` (M x N, default: causal's or all) and `blk`
    (M x N: the key block row i sees key j in, counted from 0 in the order visited;
    default j // BN) describe a key loop that starts elsewhere. Returns (model, bound
    without the output rounding)."""
    Z, H, M, D = q.shape
    N = k.shape[2]
    out = np.zeros((Z, H, M, D))
    bound = np.zeros((Z, H, M, D))
    if blk is None:
        blk = np.broadcast_to(np.arange(N) // BN, (M, N))
    nb = int(blk.max()) + 1 if N else 1
    if visible is None:
        visible = np.tril(np.ones((M, N), bool)) if causal else np.ones((M, N), bool)
    for z in range(Z):
        for h in range(H):
            s2 = (q[z, h] @ k[z, h].T) * qk_scale                    # base-2 logits
            # f32 error of the interpreter's logits: the dot (D adds) and the product.
            ds = (D + 2) * U * (np.abs(q[z, h]) @ np.abs(k[z, h]).T) * abs(qk_scale) + U * np.abs(s2)
            s2 = np.where(visible, s2, -np.inf)
            ds = np.where(visible, ds, 0.0)
            block_max = np.full((M, nb), -np.inf)
            rows = np.repeat(np.arange(M)[:, None], N, axis=1)
            np.maximum.at(block_max, (rows, blk), s2)
            run_max = np.maximum.accumulate(block_max, axis=1)
            m_at = np.take_along_axis(run_max, blk, axis=1)          # max when key j was seen
            m_fin = run_max[:, -1:]
            with np.errstate(invalid="ignore"):
                p = np.where(visible, np.exp2(s2 - m_at), 0.0)
                sc = np.where(visible, np.exp2(m_at - m_fin), 0.0)   # product of later alphas
            ds_row = ds.max(axis=1, keepdims=True)
            # relative error of the interpreter's p: its logit and the max it subtracts
            # (a logit too), the subtraction, exp2, and p*448's product.
            eta = np.log(2) * (ds + ds_row + U * np.abs(np.where(visible, s2 - m_at, 0))) + 5 * U
            pq = quant(p)
            lo = quant(p * (1 - eta))
            hi = quant(p * (1 + eta))
            li = (p * sc).sum(axis=1)                                 # unquantised row sum
            vv = v[z, h]
            num = (pq * sc) @ vv
            width = ((hi - lo) * sc) @ np.abs(vv)
            mag = (pq * sc) @ np.abs(vv)
            o = num / li[:, None] * post_scale
            # per-row relative error of the unquantised parts: alphas over nb blocks, the
            # f32 sums over N keys, and the same logit error in every term.
            eps = eta.max(axis=1) + nb * (np.log(2) * 2 * ds_row[:, 0] + 4 * U) + (N + 4) * U
            b = (width + eps[:, None] * mag) / li[:, None] * abs(post_scale) + \
                (eps[:, None] + 4 * U) * np.abs(o)
            out[z, h] = o
            bound[z, h] = b
    return out, bound


def attention_cases(c, rng):
    # D=48 is not a power of two: its full axis is padded to 64 and the padding masked
    # (docs/language.md, Full axes).
    shapes = [(129, 129, 64), (129, 77, 64), (77, 129, 64), (129, 129, 128), (65, 33, 48)]
    configs = [(None, 16), ("BLOCK_M=16,BLOCK_N=16", 16), ("BLOCK_M=32,BLOCK_N=64", 64),
               ("BLOCK_M=256,BLOCK_N=256", 256)]
    for (M, N, D) in shapes:
        Z, H = 1, 2
        q = bf16(rng.standard_normal((Z, H, M, D)))
        k = bf16(rng.standard_normal((Z, H, N, D)))
        v = bf16(rng.standard_normal((Z, H, N, D)))
        scale = f32(1.0 / np.sqrt(D))
        qk_scale = np.float64(f32(scale * f32(LOG2E)))
        for causal in (False, True):
            for config, BN in configs:
                if config is None:
                    BN = default_block(c, "attention.tile", "attention", "BLOCK_N")
                    if BN is None:
                        continue
                name = f"attention M={M} N={N} D={D} causal={str(causal).lower()}"
                model, b = attention_model(q, k, v, qk_scale, causal, BN, bf16, 1.0)
                bound = U_BF16 * np.abs(model) + (1 + U_BF16) * b
                # k goes in Fortran order: a non-contiguous 4-d view.
                c.check(name, "attention.tile", "attention",
                        {"q": q.astype(np.float32), "k": np.asfortranarray(k.astype(np.float32)),
                         "v": bits(v, BF16)},
                        ["o"], {"o": model}, {"o": bound}, [config],
                        sets={"scale": repr(float(scale)), "causal": str(causal).lower()})


def gqa_attention_cases(c, rng):
    """examples/gqa_attention.tile against attention_model with each key/value head repeated
    for its group (SDPA's enable_gqa): q as [Z, G, R, M, D], GQA (G=2, R=3) and MQA (G=1)."""
    for (G, R, M, N, D) in [(2, 3, 77, 129, 64), (1, 4, 65, 40, 64), (2, 2, 33, 70, 128)]:
        Z = 1
        q = bf16(rng.standard_normal((Z, G, R, M, D)))
        k = bf16(rng.standard_normal((Z, G, N, D)))
        v = bf16(rng.standard_normal((Z, G, N, D)))
        scale = f32(1.0 / np.sqrt(D))
        qk_scale = np.float64(f32(scale * f32(LOG2E)))
        for causal in (False, True):
            for config, BN in [(None, None), ("BLOCK_M=32,BLOCK_N=32", 32)]:
                if config is None:
                    BN = default_block(c, "gqa_attention.tile", "gqa_attention", "BLOCK_N",
                                       ("--shape", "Z=1,G=1,R=1,M=16,N=16,D=16"))
                    if BN is None:
                        continue
                model, b = attention_model(q.reshape(Z, G * R, M, D), np.repeat(k, R, axis=1),
                                           np.repeat(v, R, axis=1), qk_scale, causal, BN, bf16, 1.0)
                model = model.reshape(Z, G, R, M, D)
                bound = U_BF16 * np.abs(model) + (1 + U_BF16) * b.reshape(Z, G, R, M, D)
                c.check(f"gqa_attention G={G} R={R} M={M} N={N} D={D} causal={str(causal).lower()}",
                        "gqa_attention.tile", "gqa_attention",
                        {"q": q.astype(np.float32), "k": k.astype(np.float32), "v": bits(v, BF16)},
                        ["o"], {"o": model}, {"o": bound}, [config],
                        sets={"scale": repr(float(scale)), "causal": str(causal).lower()})


def window_attention_cases(c, rng):
    """examples/window_attention.tile against attention_model with the band mask (query i
    sees key j iff i - window < j <= i) and the key blocks the kernel visits: from
    max(m.begin - window + 1, 0) for the query block starting at m.begin."""
    for (M, N, D, W) in [(77, 77, 64, 5), (129, 100, 64, 40), (65, 65, 128, 1), (100, 130, 64, 300)]:
        Z, H = 1, 2
        q = bf16(rng.standard_normal((Z, H, M, D)))
        k = bf16(rng.standard_normal((Z, H, N, D)))
        v = bf16(rng.standard_normal((Z, H, N, D)))
        scale = f32(1.0 / np.sqrt(D))
        qk_scale = np.float64(f32(scale * f32(LOG2E)))
        i, j = np.arange(M)[:, None], np.arange(N)[None, :]
        visible = (j <= i) & (j > i - W)
        for config, BM, BN in [(None, None, None), ("BLOCK_M=16,BLOCK_N=16", 16, 16),
                               ("BLOCK_M=32,BLOCK_N=64", 32, 64)]:
            if config is None:
                shape = ("--shape", "Z=1,H=1,M=16,N=16,D=16")
                sets = ("scale=1", "window=4")
                BM = default_block(c, "window_attention.tile", "window_attention", "BLOCK_M", shape, sets)
                BN = default_block(c, "window_attention.tile", "window_attention", "BLOCK_N", shape, sets)
                if BM is None or BN is None:
                    continue
            start = np.maximum((i // BM) * BM - W + 1, 0)
            blk = np.maximum(j - start, 0) // BN
            model, b = attention_model(q, k, v, qk_scale, True, BN, bf16, 1.0, visible, blk)
            bound = U_BF16 * np.abs(model) + (1 + U_BF16) * b
            c.check(f"window_attention M={M} N={N} D={D} window={W}", "window_attention.tile",
                    "window_attention",
                    {"q": q.astype(np.float32), "k": k.astype(np.float32), "v": bits(v, BF16)},
                    ["o"], {"o": model}, {"o": bound}, [config],
                    sets={"scale": repr(float(scale)), "window": str(W)})


def fp8_attention_cases(c, rng):
    shapes = [(129, 129, 64), (129, 77, 64), (77, 129, 128)]
    configs = [(None, 16), ("BLOCK_M=16,BLOCK_N=16", 16), ("BLOCK_M=64,BLOCK_N=32", 32),
               ("BLOCK_M=256,BLOCK_N=256", 256)]
    for (M, N, D) in shapes:
        Z, H = 1, 2
        q = e4m3(rng.standard_normal((Z, H, M, D)) * 8)
        k = e4m3(rng.standard_normal((Z, H, N, D)) * 8)
        v = e4m3(rng.standard_normal((Z, H, N, D)) * 8)
        dq, dk, dv = f32(1 / 8), f32(1 / 8.5), f32(0.12)
        scale = f32(1.0 / np.sqrt(D))
        qk_scale = np.float64(f32(f32(f32(dq * dk) * scale) * f32(LOG2E)))
        quant = lambda p: e4m3(np.asarray(p, np.float32) * np.float32(448.0)) / 448.0
        for causal in (False, True):
            for config, BN in configs:
                if config is None:
                    BN = default_block(c, "fp8_attention.tile", "fp8_attention", "BLOCK_N")
                    if BN is None:
                        continue
                name = f"fp8_attention M={M} N={N} D={D} causal={str(causal).lower()}"
                model, b = attention_model(q, k, v, qk_scale, causal, BN, quant, np.float64(dv))
                bound = U_BF16 * np.abs(model) + (1 + U_BF16) * (b + 4 * U * np.abs(model))
                c.check(name, "fp8_attention.tile", "fp8_attention",
                        {"q": bits(q, E4M3), "k": k.astype(np.float32), "v": bits(v, E4M3),
                         "descale_q": np.array([dq], np.float32),
                         "descale_k": np.array([dk], np.float32),
                         "descale_v": np.array([dv], np.float32)},
                        ["o"], {"o": model}, {"o": bound}, [config],
                        sets={"scale": repr(float(scale)), "causal": str(causal).lower()})


def quantize_cases(c, rng):
    M, K = 67, 93
    x = bf16(rng.standard_normal((M, K)) * 3)
    x32 = x.astype(np.float32)
    configs = [None, "BLOCK_M=16,BLOCK_K=16", "BLOCK_M=128,BLOCK_K=256", "BLOCK_M=64,BLOCK_K=32"]
    amax = np.abs(x).max()
    c.check("amax 67x93", "fp8_quantize.tile", "amax", {"x": bits(x, BF16)}, ["out"],
            {"out": np.array([amax])}, {"out": 0.0}, configs)
    for kernel, fmax, rnd in (("quantize_e4m3", 448.0, e4m3), ("quantize_e5m2", 57344.0, e5m2)):
        am = f32(amax * 0.75)          # some values saturate
        scale = f32(f32(fmax) / max(am, f32(1e-12)))
        y = rnd(x32 * scale)           # float32 product, like the kernel's
        inv = np.array([f32(f32(1.0) / scale)], np.float64)
        c.check(f"{kernel} 67x93", "fp8_quantize.tile", kernel,
                {"x": x32, "amax": np.array([am], np.float32)}, ["y", "inv_scale"],
                {"y": y, "inv_scale": inv}, {"y": 0.0, "inv_scale": 0.0}, configs)
    # rowwise_quantize
    row_amax = np.abs(x32).max(axis=1)
    scale = (np.float32(448.0) / np.maximum(row_amax, np.float32(1e-12))).astype(np.float32)
    y = e4m3(x32 * scale[:, None])
    inv = (np.float32(1.0) / scale).astype(np.float64)
    c.check("rowwise_quantize 67x93", "rowwise_quantize.tile", "rowwise_quantize",
            {"x": np.asfortranarray(x32)}, ["y", "inv_scale"], {"y": y, "inv_scale": inv},
            {"y": 0.0, "inv_scale": 0.0},
            [None, "BLOCK_M=1,BLOCK_K=16", "BLOCK_M=64,BLOCK_K=256", "BLOCK_M=8,BLOCK_K=32"])


def softmax_cases(c, rng):
    M, N = 67, 93
    x = (rng.standard_normal((M, N)) * 4).astype(np.float32)
    xd = x.astype(np.float64)
    mx = xd.max(axis=1, keepdims=True)
    e = np.exp(xd - mx)
    y = e / e.sum(axis=1, keepdims=True)
    # exp of a rounded difference (|x - max| U of argument error), exp itself (2 ulp),
    # the f32 sum of N terms (relative, all terms positive) and the division.
    bound = y * ((np.abs(xd - mx) + N + 6) * U)
    configs = [None, "BLOCK_M=4,BLOCK_N=16", "BLOCK_M=64,BLOCK_N=256", "BLOCK_M=16,BLOCK_N=32"]
    c.check("softmax 67x93", "softmax.tile", "softmax", {"x": x}, ["y"], {"y": y}, {"y": bound},
            configs)
    c.check("softmax 67x93 fortran-order x", "softmax.tile", "softmax", {"x": np.asfortranarray(x)},
            ["y"], {"y": y}, {"y": bound}, ["BLOCK_M=8,BLOCK_N=64"])


def layernorm_cases(c, rng):
    M, N = 67, 93
    x = bf16(rng.standard_normal((M, N)) * 2 + 0.5)
    w = bf16(rng.uniform(0.5, 1.5, N))
    bb = bf16(rng.uniform(-1, 1, N))
    eps = f32(1e-5)
    mean = x.mean(axis=1, keepdims=True)
    s2 = (x * x).mean(axis=1, keepdims=True)
    var = s2 - mean * mean
    rstd = 1.0 / np.sqrt(var + np.float64(eps))
    xn = (x - mean) * rstd
    y = xn * w + bb
    # f32 statistics: the sums (N terms each), the mean's square, the cancellation in
    # s2/N - mean^2 (relative to var), rsqrt (2 ulp); then (x - mean) * rstd * w + b.
    d_mean = (N + 2) * U * np.abs(x).mean(axis=1, keepdims=True)
    d_var = (N + 4) * U * s2 + 2 * np.abs(mean) * d_mean + 4 * U * np.abs(var)
    rel_rstd = 0.5 * d_var / (var + np.float64(eps)) + 3 * U
    dy = np.abs(w) * (np.abs(xn) * rel_rstd + rstd * d_mean + 3 * U * np.abs(xn)) + 2 * U * (np.abs(xn * w) + np.abs(bb))
    bound = U_BF16 * np.abs(y) + (1 + U_BF16) * dy
    configs = [None, "BLOCK_M=1,BLOCK_N=16", "BLOCK_M=64,BLOCK_N=256", "BLOCK_M=8,BLOCK_N=32"]
    c.check("layernorm 67x93", "layernorm.tile", "layernorm",
            {"x": x.astype(np.float32), "w": bits(w, BF16), "b": bb.astype(np.float32)},
            ["y"], {"y": y}, {"y": bound}, configs, sets={"eps": repr(float(eps))})


def rmsnorm_model(x, w, eps):
    """h = x rsqrt(mean(x^2) + eps) w in float64, and the relative error bound of the
    kernel's f32 h: the sum of N positive squares ((N + 2) U), the division and eps (2 U),
    rsqrt (2 ulp) halving the sum's error, then the products by x and w (2 U)."""
    N = x.shape[1]
    rstd = 1.0 / np.sqrt((x * x).mean(axis=1, keepdims=True) + np.float64(eps))
    return x * rstd * w, (0.5 * (N + 4) + 6) * U


def rmsnorm_cases(c, rng):
    eps = f32(1e-5)
    configs = [None, "BLOCK_M=1,BLOCK_N=16", "BLOCK_M=64,BLOCK_N=256", "BLOCK_M=8,BLOCK_N=32"]
    for M, N in ((67, 93), (37, 1000)):
        x = bf16(rng.standard_normal((M, N)) * 2 + 0.5)
        w = bf16(rng.uniform(0.5, 1.5, N))
        h, rel = rmsnorm_model(x, w, eps)
        bound = U_BF16 * np.abs(h) + (1 + U_BF16) * rel * np.abs(h)
        c.check(f"rmsnorm {M}x{N}", "rmsnorm.tile", "rmsnorm",
                {"x": bits(x, BF16), "w": w.astype(np.float32)}, ["y"], {"y": h}, {"y": bound},
                configs, sets={"eps": repr(float(eps))})
        # Quantised: v = h * 448 / amax(h) carries twice h's error (h and the scale) and two
        # roundings; an e4m3 result may differ from the model's only where an interval of
        # that width around v holds a rounding boundary, by the distance to its far side.
        amax = np.abs(h).max(axis=1, keepdims=True)
        scale = 448.0 / np.maximum(amax, 1e-12)
        v = h * scale
        dv = (2 * rel + 3 * U) * np.abs(v)
        y = e4m3(v)
        y_bound = np.maximum(np.abs(e4m3(v + dv) - y), np.abs(e4m3(v - dv) - y))
        inv = (1.0 / scale)[:, 0]
        c.check(f"rmsnorm_quantize {M}x{N}", "rmsnorm_quantize.tile", "rmsnorm_quantize",
                {"x": np.asfortranarray(x.astype(np.float32)), "w": bits(w, BF16)},
                ["y", "inv_scale"], {"y": y, "inv_scale": inv},
                {"y": y_bound, "inv_scale": (rel + 2 * U) * inv}, configs,
                sets={"eps": repr(float(eps))})


def embedding_cases(c, rng):
    T, V, D = 77, 50, 40
    ids = rng.integers(0, V, T).astype(np.int32)            # repeats: rows read twice
    table = bf16(rng.standard_normal((V, D)))
    c.check("embedding 77 ids of a 50x40 table", "embedding.tile", "embedding",
            {"ids": ids, "table": bits(table, BF16)}, ["out"], {"out": table[ids]}, {"out": 0.0},
            [None, "BLOCK_T=16,BLOCK_N=16", "BLOCK_T=128,BLOCK_N=64", "BLOCK_T=32,BLOCK_N=256"])


def dropout_cases(c, rng):
    """Bit-exact: the mask is philox_ref.rand at m*N + n, the scale f32 1/(1 - p), the kept
    value the f32 product rounded once to bf16. The kept fraction is 1 - p within 5
    standard deviations (the stream is not degenerate)."""
    M, N = 67, 93
    x = bf16(rng.standard_normal((M, N)) * 3)
    offs = np.arange(M, dtype=np.int64)[:, None] * N + np.arange(N, dtype=np.int64)[None, :]
    for seed, p in ((1234, 0.3), (-5, 0.9), (1 << 40, 0.0)):
        p32 = np.float32(p)
        scale = np.float32(1.0) / (np.float32(1.0) - p32)
        keep = philox_ref.rand(seed, offs) > p32
        y = np.where(keep, bf16(x.astype(np.float32) * scale), 0.0)
        name = f"dropout 67x93 seed {seed} p {p}"
        c.check(name, "dropout.tile", "dropout", {"x": bits(x, BF16)}, ["y"], {"y": y},
                {"y": 0.0}, [None, "BLOCK_M=16,BLOCK_N=16", "BLOCK_M=128,BLOCK_N=256"],
                sets={"seed": seed, "p": p})
        if c.selected(name + " kept fraction"):
            sd = np.sqrt(max(p * (1 - p), 1e-6) / keep.size)
            c.record(name + " kept fraction", abs(keep.mean() - (1 - p)) <= 5 * sd + 2.0 ** -24,
                     f"kept {keep.mean()}, expected {1 - p}")


def moe_gemm_cases(c, rng):
    T, K, N, E, C = 50, 45, 37, 3, 20
    x = bf16(rng.uniform(-1, 1, (T, K)))
    w = bf16(rng.uniform(-1, 1, (E, K, N)))
    counts = [20, 0, 7]
    # each expert's routed tokens first, then empty slots: -1, or any negative id (the mask
    # keeps them out, so they are not index faults)
    tok = rng.integers(-(1 << 30), 0, (E, C)).astype(np.int32)
    tok[:, ::3] = -1
    exact = np.zeros((E, C, N))
    bound = np.zeros((E, C, N))
    for e in range(E):
        tok[e, :counts[e]] = rng.choice(T, counts[e], replace=False)
        rows = x[tok[e, :counts[e]]]
        exact[e, :counts[e]] = rows @ w[e]
        acc = (K + 1) * U * (np.abs(rows) @ np.abs(w[e]))
        bound[e, :counts[e]] = U_BF16 * np.abs(exact[e, :counts[e]]) + (1 + U_BF16) * acc
    c.check("moe_gemm 3 experts of 45x37, 27 routed tokens", "moe_gemm.tile", "moe_gemm",
            {"x": x.astype(np.float32), "w": bits(w, BF16), "tok": tok},
            ["y"], {"y": exact}, {"y": bound},
            [None, "BLOCK_M=64,BLOCK_N=16,BLOCK_K=16", "BLOCK_M=128,BLOCK_N=64,BLOCK_K=32"])


def varlen_attention_cases(c, rng):
    """examples/varlen_attention.tile against attention_model per sequence: packed tokens,
    an empty sequence, sequences shorter and longer than a block, tokens past the last
    offset that no sequence owns (left at 0)."""
    cu = np.array([0, 37, 37, 90, 101, 130], np.int32)
    T, H, max_seqlen = 133, 2, 53
    configs = [(None, 16), ("BLOCK_M=16,BLOCK_N=16", 16), ("BLOCK_M=32,BLOCK_N=64", 64),
               ("BLOCK_M=128,BLOCK_N=128", 128)]
    for D in (64, 128, 48):
        q = bf16(rng.standard_normal((T, H, D)))
        k = bf16(rng.standard_normal((T, H, D)))
        v = bf16(rng.standard_normal((T, H, D)))
        scale = f32(1.0 / np.sqrt(D))
        qk_scale = np.float64(f32(scale * f32(LOG2E)))
        for causal in (False, True):
            for config, BN in configs:
                if config is None:
                    BN = default_block(c, "varlen_attention.tile", "varlen_attention", "BLOCK_N",
                                       ["--shape", "T=16,H=1,D=16,S=2", "--set", "max_seqlen=16"])
                    if BN is None:
                        continue
                model = np.zeros((T, H, D))
                bound = np.zeros((T, H, D))
                for b in range(len(cu) - 1):
                    lo, hi = cu[b], cu[b + 1]
                    if lo == hi:
                        continue
                    seq = [x[lo:hi].transpose(1, 0, 2)[None] for x in (q, k, v)]
                    m, bb = attention_model(*seq, qk_scale, causal, BN, bf16, 1.0)
                    model[lo:hi] = m[0].transpose(1, 0, 2)
                    bound[lo:hi] = (U_BF16 * np.abs(m) + (1 + U_BF16) * bb)[0].transpose(1, 0, 2)
                name = f"varlen_attention 5 sequences D={D} causal={str(causal).lower()}"
                c.check(name, "varlen_attention.tile", "varlen_attention",
                        {"q": q.astype(np.float32), "k": bits(k, BF16), "v": v.astype(np.float32),
                         "cu_seqlens": cu},
                        ["o"], {"o": model}, {"o": bound}, [config],
                        sets={"scale": repr(float(scale)), "causal": str(causal).lower(),
                              "max_seqlen": max_seqlen})


def jagged_softmax_cases(c, rng):
    """examples/jagged_softmax.tile: each column of each sequence normalised over the
    sequence's rows; an empty sequence and rows past the last offset stay 0."""
    offsets = np.array([0, 1, 1, 40, 47, 90], np.int32)
    T, M = 93, 37
    x = (rng.standard_normal((T, M)) * 4).astype(np.float32)
    xd = x.astype(np.float64)
    y = np.zeros((T, M))
    bound = np.zeros((T, M))
    for b in range(len(offsets) - 1):
        lo, hi = offsets[b], offsets[b + 1]
        if lo == hi:
            continue
        seg = xd[lo:hi]
        mx = seg.max(axis=0, keepdims=True)
        e = np.exp(seg - mx)
        y[lo:hi] = e / e.sum(axis=0, keepdims=True)
        # softmax_cases' bound over the sequence's rows
        bound[lo:hi] = y[lo:hi] * ((np.abs(seg - mx) + (hi - lo) + 6) * U)
    configs = [None, "BLOCK_M=16,BLOCK_N=16", "BLOCK_M=64,BLOCK_N=256", "BLOCK_M=128,BLOCK_N=32"]
    c.check("jagged_softmax 5 sequences of 93 rows x 37", "jagged_softmax.tile", "jagged_softmax",
            {"x": x, "offsets": offsets}, ["y"], {"y": y}, {"y": bound}, configs)


KERNELS = os.path.join(ROOT, "tests", "gpu", "kernels")


def rank3_cases(c, rng):
    """tests/gpu/kernels/rank3.tile: rank-3 tiles reduced along each axis and broadcast
    back. Inputs are small dyadic numbers, so every sum, max and product is exact in f32
    and only y's exp (2 ulp) and bf16 rounding leave a bound."""
    B, M, N = 7, 37, 45
    x = rng.integers(-32, 33, (B, M, N)) / 8.0
    w = rng.choice([0.5, 1.0, 1.5, 2.0], (M, N))
    cv = rng.integers(-8, 9, N) / 4.0
    default_bm = c.default_config(os.path.join(KERNELS, "rank3.tile"), "rank3")["BLOCK_M"]
    for config, BM in ((None, default_bm), ("BLOCK_M=8", 8), ("BLOCK_M=16", 16),
                       ("num_warps=8", default_bm), ("num_warps=8,BLOCK_M=8", 8)):
        v = x * w + cv
        s1 = np.zeros((B, M, N))
        s2 = np.zeros((B, M, N))
        blocksum = np.zeros((B, M, N))
        for m0 in range(0, M, BM):
            part = v[:, m0:m0 + BM].sum(axis=1)
            s1[:, m0] = part
            blocksum[:, m0:m0 + BM] = part[:, None, :]
        mx = np.zeros((B, M, N))
        for n0 in range(0, N, 16):
            part = v[:, :, n0:n0 + 16].max(axis=2)
            s2[:, :, n0] = part
            mx[:, :, n0:n0 + 16] = part[:, :, None]
        e = np.exp(v - mx)
        y = e + blocksum
        y_bound = U_BF16 * np.abs(y) + (1 + U_BF16) * (3 * U * e + U * np.abs(y))
        z = np.zeros((B, M, N))
        for _ in range(0, M, 16):
            z = z * 0.5 + v
        s0 = v[(B - 1) // 4 * 4:].sum(axis=0)   # the last b block writes last
        outs = {"y": y, "s0": s0, "s1": s1, "s2": s2, "z": z}
        bounds = {"y": y_bound, "s0": 0.0, "s1": 0.0, "s2": 0.0, "z": 0.0}
        zero = np.zeros((B, M, N), np.float32)
        c.check(f"rank3 {B}x{M}x{N}", os.path.join(KERNELS, "rank3.tile"), "rank3",
                {"x": x.astype(np.float32), "w": bits(w, BF16), "c": cv.astype(np.float32),
                 "s1": zero, "s2": zero}, list(outs), outs, bounds, [config])


BRANCHES = '''
kernel branches(x: f32[M, N], lim: f32[M], y: f32[M, N]) {
    for m, n in tile(M, N) block(1, _) {
        v = x[m, n]
        if lim[m] > 0.0 {
            v = min(v, lim[m])
        } else if lim[m] < -1.0 {
            v = v * 2.0
        } else {
            v = zeros([n], f32)
        }
        y[m, n] = v
    }
}
kernel window_sums(x: f32[N], lo: i32[B], hi: i32[B], out: f32[B]) {
    for b in tile(B) block(1) {
        acc = 0.0
        for n in tile(lo[b], hi[b]) {
            acc += sum(x[n])
        }
        out[b] = acc
    }
}
'''


def branches_cases(c, rng):
    """An if on a scalar read from data (each program takes one branch of an if / else if /
    else chain), and ranges [lo, hi) read from data that start below 0, end past the dim,
    are empty or reversed: lanes outside x read nothing."""
    src = os.path.join(c.tmp, "branches.tile")
    with open(src, "w") as f:
        f.write(BRANCHES)
    M, N = 37, 45
    x = rng.standard_normal((M, N)).astype(np.float32)
    lim = rng.choice([0.5, -2.0, -0.5, 1.5], M).astype(np.float32)
    xd, ld = x.astype(np.float64), lim.astype(np.float64)[:, None]
    want = np.where(ld > 0, np.minimum(xd, ld), np.where(ld < -1, xd * 2, 0.0))
    c.check("a run-time if / else if / else on a loaded scalar", src, "branches",
            {"x": x, "lim": lim}, ["y"], {"y": want}, {"y": 0.0},
            [None, "BLOCK_N=16", "BLOCK_N=64"])
    Nx = 50
    xs = rng.integers(-8, 8, Nx).astype(np.float32)     # integers: every sum is exact
    lo = np.array([0, -7, 3, 45, 20, 9, 60], np.int32)
    hi = np.array([50, 5, 3, 70, 10, 10, 80], np.int32)
    want = np.array([xs[max(a, 0):min(b, Nx)].sum() if b > a else 0.0 for a, b in zip(lo, hi)])
    c.check("ranges read from data: below 0, past the dim, empty, reversed", src, "window_sums",
            {"x": xs, "lo": lo, "hi": hi}, ["out"], {"out": want}, {"out": 0.0},
            [None, "BLOCK_N=16", "BLOCK_N=256"])


GATHERS = '''
kernel columns(x: f32[M, S], idx: i32[N], y: f32[M, N]) {
    for m, n in tile(M, N) {
        y[m, n] = x[m, idx[n]]
    }
}
kernel table2d(x: f32[S], idx: i32[M, N], y: f32[M, N]) {
    for m, n in tile(M, N) {
        y[m, n] = x[idx[m, n]]
    }
}
kernel shifted(ids: i32[B], table: f32[V, D], out: f32[B, D]) {
    for b in tile(B) {
        out[b, :] = table[ids[b] - 1, :]
    }
}
kernel strided(x: f32[S], y: f32[M]) {
    for m in tile(M) {
        y[m] = x[m.index * 3]
    }
}
kernel masked_rows(x: f32[M, D], ok: bool[M], y: f32[M, D]) {
    for m in tile(M) {
        y[m, :] = x[m, :, mask=ok[m][:, None]]
    }
}
kernel scatter(idx: i32[M], ok: bool[M], x: f32[M, D], y: f32[S, D]) {
    for m in tile(M) {
        y[idx[m], :, mask=ok[m][:, None]] = x[m, :]
    }
}
kernel scatter_add(idx: i32[M], x: f32[M, D], y: f32[S, D] reduce(sum)) {
    for m, d in tile(M, D) {
        atomic_add(y[idx[m], d], x[m, d])
    }
}
'''


def gather_cases(c, rng):
    """Gathers and scatters against numpy: an index tile on either dim, of rank 2, a data
    mask, duplicate scatter indices (a store's winner is one of them; atomic_add adds all),
    and indices that are not read from data (masked, not checked)."""
    src = os.path.join(c.tmp, "gathers.tile")
    with open(src, "w") as f:
        f.write(GATHERS)
    M, N, S, D = 37, 29, 23, 12
    x = rng.standard_normal((M, S)).astype(np.float32)
    idx = rng.integers(0, S, N).astype(np.int32)
    c.check("gather on the innermost dim", src, "columns", {"x": x, "idx": idx}, ["y"],
            {"y": x[:, idx].astype(np.float64)}, {"y": 0.0},
            [None, "BLOCK_M=16,BLOCK_N=16", "BLOCK_M=64,BLOCK_N=128"])
    x1 = rng.standard_normal(S).astype(np.float32)
    idx2 = rng.integers(0, S, (M, N)).astype(np.int32)
    c.check("gather by a 2-d index tile", src, "table2d", {"x": x1, "idx": idx2}, ["y"],
            {"y": x1[idx2].astype(np.float64)}, {"y": 0.0}, [None, "BLOCK_M=16,BLOCK_N=32"])
    # the lanes past B read ids 0, so ids - 1 is -1 there: invalid lanes are not checked
    ids = rng.integers(1, S + 1, M).astype(np.int32)
    table = rng.standard_normal((S, D)).astype(np.float32)
    c.check("a gather's invalid lanes are not checked", src, "shifted",
            {"ids": ids, "table": table}, ["out"], {"out": table[ids - 1].astype(np.float64)},
            {"out": 0.0}, ["BLOCK_B=16", "BLOCK_B=64"])
    xs = rng.standard_normal(S).astype(np.float32)
    want = np.zeros(M)
    inside = np.arange(M) * 3 < S
    want[inside] = xs[np.arange(M)[inside] * 3]
    c.check("an index tile not read from data is masked, not checked", src, "strided",
            {"x": xs}, ["y"], {"y": want}, {"y": 0.0}, ["BLOCK_M=16"], shape={"M": M})
    xm = rng.standard_normal((M, D)).astype(np.float32)
    ok = rng.random(M) < 0.5
    c.check("a data mask on a load reads 0 where it is false", src, "masked_rows",
            {"x": xm, "ok": ok}, ["y"], {"y": np.where(ok[:, None], xm, 0).astype(np.float64)},
            {"y": 0.0}, [None, "BLOCK_M=16"])
    # scatter: unique targets where ok, an out-of-range sentinel where not
    target = rng.permutation(S)[:M % S].astype(np.int32)
    sidx = np.full(M, 1 << 30, np.int32)
    okm = np.zeros(M, bool)
    okm[:len(target)] = True
    sidx[:len(target)] = target
    want = np.zeros((S, D))
    want[target] = xm[:len(target)]
    c.check("a masked scatter writes its rows and nothing else", src, "scatter",
            {"idx": sidx, "ok": okm, "x": xm}, ["y"], {"y": want}, {"y": 0.0},
            [None, "BLOCK_M=16"], shape={"S": S})
    # duplicates in a plain scatter: each written row is one of the rows sent there
    dup = rng.integers(0, 5, M).astype(np.int32)
    name = "a scatter with duplicate indices stores one of their rows"
    if c.selected(name):
        got, err = c.run_kernel(src, "scatter", {"idx": dup, "ok": np.ones(M, bool), "x": xm},
                                ["y"], "BLOCK_M=16", shape={"S": S})
        ok_rows = got is not None and all(
            any(np.array_equal(got["y"][r], xm[i]) for i in np.flatnonzero(dup == r)) if (dup == r).any()
            else not got["y"][r].any() for r in range(S))
        c.record(name, ok_rows, err or "a row holds none of the values sent to it")
    want = np.zeros((S, D))
    np.add.at(want, dup, xm.astype(np.float64))
    mag = np.zeros((S, D))
    np.add.at(mag, dup, np.abs(xm.astype(np.float64)))
    c.check("atomic_add with duplicate indices adds every row", src, "scatter_add",
            {"idx": dup, "x": xm}, ["y"], {"y": want}, {"y": (M + 1) * U * mag},
            [None, "BLOCK_M=16,BLOCK_D=16"], shape={"S": S})


def gather_error_cases(c, rng):
    """An index read from data outside its dim stops the run at the op, naming the tensor,
    the dim, the index and the size; under a false data mask it is not an error."""
    src = os.path.join(c.tmp, "gathers.tile")
    with open(src, "w") as f:
        f.write(GATHERS)
    M, S, D = 20, 9, 4
    xm = rng.standard_normal((M, D)).astype(np.float32)
    cases = [
        ("a scattered index past the end is an error", "scatter",
         {"idx": np.where(np.arange(M) == 13, S, 0).astype(np.int32), "ok": np.ones(M, bool)},
         "store to y: index 9 is outside dim 0 (size 9)"),
        ("a negative gathered index is an error", "columns",
         {"x": np.zeros((M, S), np.float32), "idx": np.array([0, -4, 1], np.int32)},
         "load of x: index -4 is outside dim 1 (size 9)"),
        ("an atomic's index past the end is an error", "scatter_add",
         {"idx": np.full(M, 100, np.int32)}, "atomic update of y: index 100 is outside dim 0 (size 9)"),
    ]
    for name, kernel, inputs, needle in cases:
        if not c.selected(name):
            continue
        inputs = dict(inputs)
        if kernel != "columns":
            inputs["x"] = xm
        args = [src, "--kernel", kernel, "--interpret", "--shape", f"S={S},M={M}"]
        for k, v in inputs.items():
            path = c.path(k)
            np.save(path, v)
            args += ["--in", f"{k}={path}"]
        p, _ = c.tilec_run(args)
        err = "" if p is None else p.stderr.decode(errors="replace")
        c.record(name, p is not None and p.returncode == 1 and "gathers.tile:" in err and
                 needle in err, f"exit {None if p is None else p.returncode}\n{err}")


_default_blocks = {}


def default_block(c, file, kernel, name, shape_args=("--shape", "Z=1,H=1,M=16,N=16,D=16"),
                  sets=("scale=1", "causal=false")):
    """The default value of a block tunable, read from `tilec run`'s config line
    (the model of attention's running max needs BLOCK_N)."""
    key = (file, kernel)
    if key not in _default_blocks:
        p, _ = c.tilec_run([os.path.join(EXAMPLES, file), "--kernel", kernel, "--interpret",
                            *shape_args, *[a for x in sets for a in ("--set", x)]])
        found = {}
        if p is not None:
            for line in p.stdout.decode(errors="replace").splitlines():
                if line.startswith("config:"):
                    for item in line[len("config:"):].replace(",", " ").split():
                        if "=" in item:
                            kk, vv = item.split("=", 1)
                            found[kk] = vv
        _default_blocks[key] = found
    value = _default_blocks[key].get(name)
    if value is None:
        c.record(f"{kernel} default {name}", False, "tilec run printed no `config:` line with it")
        return None
    return int(value)


# ---- the mask checker, bad inputs, NaN/Inf, determinism, speed --------------------------

def mask_checker_cases(c, rng):
    name = "mask checker: gemm 67x45x93 without mask inference"
    if not c.selected(name):
        return
    p, _ = c.tilec_run([os.path.join(EXAMPLES, "gemm.tile"), "--kernel", "gemm", "--interpret",
                        "--shape", "M=67,N=45,K=93", "--config", "BLOCK_M=64,BLOCK_N=32,BLOCK_K=32",
                        "--no-mask-inference"])
    err = "" if p is None else p.stderr.decode(errors="replace")
    ok = p is not None and p.returncode == 1 and "gemm.tile:" in err and \
        "outside the tensor" in err and "the mask did not cover" in err and "Sanitizer" not in err
    c.record(name, ok, f"exit {None if p is None else p.returncode}\n{err}")
    name = "mask checker: gemm on an exact multiple needs no mask"
    if not c.selected(name):
        return
    p, _ = c.tilec_run([os.path.join(EXAMPLES, "gemm.tile"), "--kernel", "gemm", "--interpret",
                        "--shape", "M=64,N=32,K=64", "--config", "BLOCK_M=32,BLOCK_N=32,BLOCK_K=32",
                        "--no-mask-inference"])
    c.record(name, p is not None and p.returncode == 0,
             "" if p is None else p.stderr.decode(errors="replace"))


def write_bytes(c, stem, data):
    path = c.path(stem)
    with open(path, "wb") as f:
        f.write(data)
    return path


def bad_input_cases(c, rng):
    gemm = os.path.join(EXAMPLES, "gemm.tile")
    attn = os.path.join(EXAMPLES, "attention.tile")
    quant = os.path.join(EXAMPLES, "fp8_quantize.tile")
    a = np.zeros((8, 4), np.float32)
    good_a = c.path("a")
    np.save(good_a, a)
    b_wrong_k = c.path("b5")
    np.save(b_wrong_k, np.zeros((5, 3), np.float32))
    b_good = c.path("b")
    np.save(b_good, np.zeros((4, 3), np.float32))
    rank3 = c.path("rank3")
    np.save(rank3, np.zeros((2, 8, 4), np.float32))
    ints = c.path("ints")
    np.save(ints, np.zeros((8, 4), np.int32))
    u8 = c.path("u8")
    np.save(u8, np.zeros((8, 4), np.uint8))
    full = open(good_a, "rb").read()
    truncated = write_bytes(c, "trunc", full[:-9])
    bad_magic = write_bytes(c, "magic", b"NOTNUMPY" + full[8:])
    bad_header = write_bytes(c, "header", full[:10] + b"{'descr': <f4, }".ljust(len(full) - 10, b" "))
    empty = write_bytes(c, "empty", b"")
    base = [gemm, "--kernel", "gemm", "--interpret"]
    attn_base = [attn, "--kernel", "attention", "--interpret", "--shape", "Z=1,H=1,M=8,N=8,D=16"]
    cases = [
        # (name, args, exit status, substring of stderr)
        ("npy of the wrong dtype", base + ["--in", f"a={ints}"], 1, "cannot be passed to a bf16 parameter"),
        ("uint8 bits for a bf16 tensor", base + ["--in", f"a={u8}"], 1, "cannot be passed to a bf16 parameter"),
        ("truncated npy", base + ["--in", f"a={truncated}"], 1, "truncated"),
        ("npy with a bad magic", base + ["--in", f"a={bad_magic}"], 1, "not a .npy file"),
        ("npy with a malformed header", base + ["--in", f"a={bad_header}"], 1, "malformed header"),
        ("empty npy", base + ["--in", f"a={empty}"], 1, "not a .npy file"),
        ("missing npy", base + ["--in", "a=/nonexistent/a.npy"], 1, "cannot open"),
        ("wrong rank", base + ["--in", f"a={rank3}"], 1, "a: expected rank 2 (bf16[M, K]), the array has rank 3"),
        ("inputs disagree on a shape", base + ["--in", f"a={good_a}", "--in", f"b={b_wrong_k}"], 1,
         "b: dim 0 is K=5 but a gave K=4"),
        ("--shape disagrees with an input", base + ["--in", f"a={good_a}", "--shape", "M=9"], 1,
         "a: dim 0 is M=8 but --shape gave M=9"),
        ("shape symbol never bound", base + ["--in", f"a={good_a}"], 2, "shape symbol N is not bound"),
        ("missing scalar", [attn, "--kernel", "attention", "--interpret", "--shape", "Z=1,H=1,M=8,N=8,D=16",
                            "--set", "causal=false"], 2, "no value for scalar parameter 'scale'"),
        ("missing const", attn_base + ["--set", "scale=1"], 2, "no value for const parameter 'causal'"),
        ("unknown parameter in --in", base + ["--in", f"x={good_a}"], 2, "unknown parameter 'x'"),
        ("unknown parameter in --set", base + ["--set", "alpha=1"], 2, "unknown parameter 'alpha'"),
        ("unknown parameter in --out", base + ["--out", "z=/tmp/z.npy"], 2, "unknown parameter 'z'"),
        ("unknown shape symbol", base + ["--shape", "M=8,N=8,K=8,Q=3"], 2, "no shape symbol 'Q'"),
        ("unknown kernel", [gemm, "--kernel", "nope", "--interpret"], 2, "no kernel named 'nope'"),
        ("no kernel in a file of two", [os.path.join(EXAMPLES, "fp8_gemm.tile"), "--interpret"], 2,
         "name one with --kernel"),
        ("block size 0", base + ["--shape", "M=8,N=8,K=8", "--config", "BLOCK_M=0"], 2, "BLOCK_M"),
        ("block size not a power of two", base + ["--shape", "M=8,N=8,K=8", "--config", "BLOCK_M=48"], 2, "BLOCK_M"),
        ("unknown tunable", base + ["--shape", "M=8,N=8,K=8", "--config", "BLOCK_Q=16"], 2, "BLOCK_Q"),
        ("--set on a tensor", base + ["--set", "a=1"], 2, "'a' is a tensor parameter"),
        ("--in on a scalar", attn_base + ["--in", f"scale={good_a}"], 2, "'scale' is a scalar parameter"),
        ("--in on a reduction target", [quant, "--kernel", "amax", "--interpret", "--in", f"out={good_a}"], 2,
         "'out' is a reduction target"),
        ("duplicate --in", base + ["--in", f"a={good_a}", "--in", f"a={good_a}"], 2, "--in a given twice"),
        ("duplicate --set", attn_base + ["--set", "scale=1", "--set", "scale=2"], 2, "--set scale given twice"),
        ("duplicate --shape", base + ["--shape", "M=8", "--shape", "M=8"], 2, "--shape M given twice"),
        ("duplicate --out", base + ["--out", "c=/tmp/c1.npy", "--out", "c=/tmp/c2.npy"], 2, "--out c given twice"),
        ("duplicate --seed", base + ["--seed", "1", "--seed", "2"], 2, "--seed given twice"),
        ("duplicate --config", base + ["--config", "BLOCK_M=16", "--config", "BLOCK_N=16"], 2, "--config given twice"),
        ("bad --seed", base + ["--seed", "12x"], 2, "--seed '12x' is not a number"),
        ("bad --set number", attn_base + ["--set", "scale=1.5.2", "--set", "causal=false"], 2, "'1.5.2' is not a number"),
        ("bad --set bool", attn_base + ["--set", "scale=1", "--set", "causal=maybe"], 2, "expected true or false"),
        ("bad --shape size", base + ["--shape", "M=-3"], 2, "'-3' is not a size"),
        ("bad --shape text", base + ["--shape", "M"], 2, "expected NAME=VALUE"),
        ("bad --in text", base + ["--in", "a"], 2, "expected PARAM=FILE"),
        ("unwritable --out", base + ["--shape", "M=8,N=8,K=8", "--out", "c=/nonexistent/dir/c.npy"], 1,
         "/nonexistent/dir/c.npy"),
        ("unknown flag", base + ["--frob"], 2, "usage: tilec run"),
        ("two files", base + [gemm], 2, "unexpected argument"),
        ("no file", ["--kernel", "gemm"], 2, "needs a FILE"),
        # CI has no GPU: the GPU path (the default) says so (tests/gpu/check_no_gpu.sh has more)
        ("without --interpret", [gemm, "--kernel", "gemm", "--shape", "M=8,N=8,K=8"], 1,
         "no GPU: libcuda.so.1 not found"),
    ]
    for name, args, status, needle in cases:
        name = f"bad input: {name}"
        if not c.selected(name):
            continue
        p, _ = c.tilec_run(args)
        if p is None:
            c.record(name, False, "timed out")
            continue
        err = p.stderr.decode(errors="replace")
        ok = p.returncode == status and needle in err and "Sanitizer" not in err \
            and "runtime error" not in err
        c.record(name, ok, f"exit {p.returncode} (expected {status}); wanted {needle!r} in:\n{err}")
    name = "help"
    if c.selected(name):
        p, _ = c.tilec_run(["--help"])
        c.record(name, p is not None and p.returncode == 0 and b"usage: tilec run" in p.stdout
                 and b"--no-mask-inference" in p.stdout)


def nonfinite_cases(c, rng):
    # softmax: a NaN row, a +inf (inf - inf = NaN: the row turns NaN), a -inf (exp -> 0).
    M, N = 9, 21
    x = rng.standard_normal((M, N)).astype(np.float32)
    x[1, 3] = np.nan
    x[4, 7] = np.inf
    x[6, 2] = -np.inf
    xd = x.astype(np.float64)
    with np.errstate(invalid="ignore"):
        mx = np.max(xd, axis=1, keepdims=True)      # max propagates NaN (docs/run.md)
        e = np.exp(xd - mx)
        y = e / e.sum(axis=1, keepdims=True)
        bound = np.nan_to_num(np.abs(y)) * ((np.nan_to_num(np.abs(xd - mx), nan=0, posinf=0) + N + 6) * U)
    c.check("nonfinite: softmax with NaN, +inf, -inf", "softmax.tile", "softmax", {"x": x}, ["y"],
            {"y": y}, {"y": bound}, ["BLOCK_M=4,BLOCK_N=16", "BLOCK_M=16,BLOCK_N=32"])
    # gemm: a NaN in a poisons its row of c, an inf in b its column.
    M, N, K = 19, 13, 27
    a = bf16(rng.uniform(-1, 1, (M, K)))
    b = bf16(rng.uniform(0.25, 1, (K, N)))
    a[2, 5] = np.nan
    b[4, 6] = np.inf
    with np.errstate(invalid="ignore"):
        exact = a @ b
        bound = U_BF16 * np.abs(exact) + (1 + U_BF16) * (K + 1) * U * (np.abs(a) @ np.abs(b))
    bound = np.nan_to_num(bound, nan=0, posinf=0)
    c.check("nonfinite: gemm with NaN and inf", "gemm.tile", "gemm",
            {"a": a.astype(np.float32), "b": b.astype(np.float32)}, ["c"], {"c": exact}, {"c": bound},
            ["BLOCK_M=16,BLOCK_N=16,BLOCK_K=16"])
    # fp8: +-inf saturate to the format's max, NaN stays NaN (e4m3 0x7F, e5m2 0x7F).
    x = bf16(rng.uniform(-1, 1, (5, 6)))
    x[0, 0], x[1, 1], x[2, 2] = np.inf, -np.inf, np.nan
    for kernel, fmax, rnd in (("quantize_e4m3", 448.0, e4m3), ("quantize_e5m2", 57344.0, e5m2)):
        am = f32(1.0)
        scale = f32(f32(fmax) / am)
        y = rnd(x.astype(np.float32) * scale)
        c.check(f"nonfinite: {kernel} saturates inf, keeps NaN", "fp8_quantize.tile", kernel,
                {"x": x.astype(np.float32), "amax": np.array([am], np.float32)}, ["y"],
                {"y": y}, {"y": 0.0}, ["BLOCK_M=16,BLOCK_K=16"])
    # amax: max propagates NaN (TIR's max, docs/run.md), and |-inf| wins over numbers.
    x = bf16(rng.uniform(-1, 1, (5, 6)))
    x[4, 4] = -np.inf
    c.check("nonfinite: amax of -inf is inf", "fp8_quantize.tile", "amax", {"x": x.astype(np.float32)},
            ["out"], {"out": np.array([np.inf])}, {"out": 0.0}, ["BLOCK_M=16,BLOCK_K=16"])
    x[3, 1] = np.nan
    c.check("nonfinite: amax propagates NaN", "fp8_quantize.tile", "amax", {"x": x.astype(np.float32)},
            ["out"], {"out": np.array([np.nan])}, {"out": 0.0}, ["BLOCK_M=16,BLOCK_K=16", "BLOCK_M=64,BLOCK_K=64"])
    # The summary counts the non-finite values of an output.
    name = "nonfinite: the summary counts non-finite values"
    if c.selected(name):
        path = c.path("x")
        xs = np.ones((4, 8), np.float32)
        xs[1, 2] = np.nan
        np.save(path, xs)
        p, _ = c.tilec_run([os.path.join(EXAMPLES, "softmax.tile"), "--kernel", "softmax", "--interpret",
                            "--in", f"x={path}"])
        out = "" if p is None else p.stdout.decode(errors="replace")
        c.record(name, p is not None and p.returncode == 0 and "non-finite=8" in out, out)


GPU_ARITH_KERNEL = """kernel k(x: f32[N], c: f32[N], s: f32[N], y: f32[N], z: f32[N], u: f32[N],
         w: f32[N], e: f32[N], l: f32[N], r: f32[N], q: f32[1] reduce(max),
         t: f32[1] reduce(sum)) {
    for n in tile(N) {
        y[n] = x[n] * x[n] - c[n]
        z[n] = c[n] - x[n] * x[n]
        w[n] = where(s[n] > 1.0, x[n] * x[n], 0.5) - c[n]
        u[n] = (x[n] * x[n]).to(bf16).to(f32) - c[n]
        e[n] = exp2(s[n])
        l[n] = log2(s[n])
        r[n] = rsqrt(s[n])
        atomic_max(q[0], max(x[n]))
        atomic_add(t[0], sum(x[n]))
    }
}
"""


def gpu_arith_cases(c, rng):
    """--arith=gpu: codegen's fmas (rounded once), ex2 flushing subnormals (lg2 and rsqrt
    keep them), and which outputs the GPU must match bit for bit."""
    path = os.path.join(c.tmp, "gpu_arith.tile")
    with open(path, "w") as f:
        f.write(GPU_ARITH_KERNEL)
    x = np.full(5, 1 + 2.0**-12, np.float32)       # x*x = 1 + 2^-11 + 2^-24: a tie in f32
    cc = np.full(5, 1 + 2.0**-11, np.float32)
    s = np.array([2.0**-130, -2.0**-130, 2.0, -126.5, 0.5], np.float32)
    outs = ["y", "z", "u", "w", "e", "l", "r"]
    exact_xx = x.astype(np.float64) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        models = {
            "ieee": {"y": f32(f32(exact_xx) - cc), "z": f32(cc - f32(exact_xx)),
                     "w": np.where(s > 1, f32(f32(exact_xx) - cc), f32(0.5 - cc)), "e": f32(np.exp2(s.astype(np.float64))),
                     "l": f32(np.log2(s.astype(np.float64))), "r": f32(1 / np.sqrt(s.astype(np.float64)))},
            "gpu": {"y": f32(exact_xx - cc), "z": f32(cc - exact_xx),
                    "w": np.where(s > 1, f32(exact_xx - cc), f32(0.5 - cc)),
                    "e": np.array([1, 1, 4, 0, 2**0.5]), "l": np.array([-130, np.nan, 1, np.nan, -1]),
                    "r": np.array([2.0**65, np.nan, 2**-0.5, np.nan, 2**0.5])},
        }
    for arith, model in models.items():
        name = f"--arith={arith}: fma, ex2/lg2/rsqrt of subnormals"
        if not c.selected(name):
            continue
        got, err = c.run_kernel(path, "k", {"x": x, "c": cc, "s": s}, outs, extra=["--arith", arith])
        if err:
            c.record(name, False, err)
            continue
        for out, want in model.items():
            # fmas and flushes are exact; exp2/log2/rsqrt are within an ulp of the model
            bound = 0.0 if out in "yzw" else np.abs(np.nan_to_num(want, posinf=0, neginf=0)) * 2.0**-23
            c.compare(f"{name} {out}", got[out], np.asarray(want, np.float64), bound)
    name = "--arith=gpu: outputs marked bit-exact or within tolerance on the GPU"
    if c.selected(name):
        p, _ = c.tilec_run([path, "--interpret", "--arith=gpu", "--shape", "N=5"])
        out = "" if p is None else p.stdout.decode(errors="replace")
        marks = dict(re.findall(r"^(\w+): .*\(GPU: (bit-exact|within tolerance)", out, re.M))
        want = {"y": "bit-exact", "z": "bit-exact", "u": "bit-exact", "w": "bit-exact", "q": "bit-exact",
                "e": "within tolerance", "l": "within tolerance", "r": "within tolerance",
                "t": "within tolerance"}
        c.record(name, p is not None and p.returncode == 0 and marks == want, f"{marks}\n{out}")


def determinism_cases(c, rng):
    name = "random fill: same --seed, same inputs and outputs; another seed differs"
    if not c.selected(name):
        return
    runs = []
    for seed in (5, 5, 6):
        got, err = c.run_kernel("gemm.tile", "gemm", {}, ["a", "b", "c"],
                                "BLOCK_M=16,BLOCK_N=16,BLOCK_K=16", shape={"M": 19, "N": 13, "K": 27},
                                extra=["--seed", str(seed)])
        if err:
            c.record(name, False, err)
            return
        runs.append(got)
    same = all(np.array_equal(runs[0][n], runs[1][n]) for n in "abc")
    differ = not np.array_equal(runs[0]["a"], runs[2]["a"])
    a, b = runs[0]["a"], runs[0]["b"]
    in_range = (np.abs(a) <= 1).all() and (np.abs(b) <= 1).all() and np.array_equal(a, bf16(a))
    c.record(name, same and differ and in_range, f"same={same} differ={differ} in_range={in_range}")
    # The dumped random inputs reproduce the output.
    exact = a @ b
    bound = U_BF16 * np.abs(exact) + (1 + U_BF16) * 28 * U * (np.abs(a) @ np.abs(b))
    c.compare("random fill: --out of the random inputs reproduces c", runs[0]["c"], exact, bound)


def build_is_optimised(build):
    """Speed limits hold for optimised builds without sanitizers."""
    try:
        with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
    except (OSError, ValueError, KeyError):
        return True
    if opts.get("sanitize") is True or opts.get("b_sanitize", "none") != "none":
        return False
    return opts.get("optimization", "3") in ("2", "3")


def speed_cases(c, rng):
    name = "speed: attention Z=1 H=2 M=N=257 D=64 under 2 s"
    if not c.selected(name):
        return
    args = [os.path.join(EXAMPLES, "attention.tile"), "--kernel", "attention", "--interpret",
            "--shape", "Z=1,H=2,M=257,N=257,D=64", "--set", "scale=0.125", "--set", "causal=false"]
    p, elapsed = c.tilec_run(args)
    if p is None or p.returncode != 0:
        c.record(name, False, "" if p is None else p.stderr.decode(errors="replace"))
        return
    if not build_is_optimised(c.build):
        print(f"note: {name}: {elapsed:.2f} s (not enforced: sanitizer or unoptimised build)")
        c.record(name, True)
        return
    c.record(name, elapsed < 2.0, f"took {elapsed:.2f} s")


def run_suites(doc, label, seed, suites):
    """The command line `BUILD_DIR [-k SUBSTRING] [-v]` of this script and check_math.py:
    runs each suite(checker, rng) and prints `LABEL: N passed, N failed`."""
    args = [a for a in sys.argv[1:]]
    verbose = "-v" in args
    filt = ""
    if "-k" in args:
        i = args.index("-k")
        filt = args[i + 1]
        del args[i:i + 2]
    args = [a for a in args if a != "-v"]
    if len(args) != 1:
        print(doc)
        return 2
    c = Checker(args[0], filt, verbose)
    if not os.access(c.tilec, os.X_OK):
        print(f"{os.path.basename(sys.argv[0])}: no tilec in {args[0]}")
        print(f"{label}: 0 passed, 1 failed")
        return 1
    rng = np.random.default_rng(seed)
    t0 = time.monotonic()
    for cases in suites:
        cases(c, rng)
    print(f"{label}: {c.passed} passed, {c.failed} failed ({time.monotonic() - t0:.1f} s)")
    return 0 if c.failed == 0 and c.passed > 0 else 1


def main():
    return run_suites(__doc__, "interp", 20240611,
                      (gemm_cases, fp8_gemm_cases, attention_cases, gqa_attention_cases,
                       window_attention_cases,
                       fp8_attention_cases, quantize_cases,
                       softmax_cases, layernorm_cases, rmsnorm_cases, embedding_cases, dropout_cases, moe_gemm_cases,
                       varlen_attention_cases, jagged_softmax_cases, branches_cases, gather_cases,
                       gather_error_cases, mask_checker_cases, bad_input_cases,
                       nonfinite_cases, gpu_arith_cases, determinism_cases, speed_cases, bmm_cases, rank3_cases))


if __name__ == "__main__":
    sys.exit(main())
