#!/usr/bin/env python3
"""Checks pair axes (a tensor dim of literal size 2 taken whole), split and join, and
examples/rope.tile on `tilec run --interpret` against numpy.

usage: check_pairs.py BUILD_DIR [-k SUBSTRING] [-v]

split and join only move lanes, so kernels that only split, join, negate, add integers or
reduce with max equal numpy bit for bit; rope's f32 products and sums are within a few f32
roundings of float64 before the bf16 output rounds once. Shapes leave ragged blocks. Prints
`pairs: N passed, N failed`; exits 1 on any failure.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_examples import U, U_BF16, bf16, run_suites  # noqa: E402

KERNELS = """
kernel swap(x: f32[M, 2], y: f32[M, 2], z: f32[M, 2]) {
    for m in tile(M) {
        p = x[m, :]
        y[m, :] = join(split(p, 1), split(p, 0))
        z[m, :] = join(-split(p, 0), max(p, axis=1))[:, :]
    }
}
kernel pairs_of_rows(x: f32[M, N, 2], lo: f32[M, N], hi: f32[M, N]) {
    for m, n in tile(M, N) {
        p = x[m, n, :]
        lo[m, n] = split(p, 0)
        hi[m, n] = split(p, 1)
    }
}
kernel transposed(x: f32[M, N, 2], t: f32[2, M]) {
    for m in tile(M) {
        t[:, m] = x[m, 0, :].T
    }
}
kernel carried(x: f32[M, N, 2], y: f32[M, 2]) {
    for m in tile(M) {
        a = full([m], -inf, f32)
        b = full([m], -inf, f32)
        for n in tile(N) {
            p = x[m, n, :]
            a = max(a, max(split(p, 0), axis=1))
            b = max(b, max(split(p, 1), axis=1))
        }
        y[m, :] = join(a, b)
    }
}
kernel ints(x: i32[M, 2], y: i32[M, 2], b: bool[M, 2]) {
    for m in tile(M) {
        p = x[m, :]
        y[m, :] = join(split(p, 0) + split(p, 1), split(p, 0) ^ split(p, 1))
        b[m, :] = join(split(p, 0) > 0, split(p, 1) > 0)
    }
}
kernel halves(x: bf16[A, B, C, 2], y: bf16[A, B, C, 2]) {
    for a, b, c in tile(A, B, C) {
        p = x[a, b, c, :]
        y[a, b, c, :] = join(split(p, 1), split(p, 0))
    }
}
"""

CONFIGS = [None, "BLOCK_M=16,BLOCK_N=16", "BLOCK_M=128,BLOCK_N=32,num_warps=8"]


def kernel_file(c):
    path = os.path.join(c.tmp, "pairs.tile")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(KERNELS)
    return path


def m_only(config):
    """config without BLOCK_N, for the kernels that tile only M."""
    parts = [p for p in (config or "").split(",") if p and not p.startswith("BLOCK_N=")]
    return ",".join(parts) or None


def exact(c, name, got, want):
    same = got.shape == want.shape and np.array_equal(got, want)
    detail = ""
    if not same and got.shape == want.shape:
        i = np.flatnonzero(got.ravel() != want.ravel())
        detail = f"{i.size} of {got.size} differ; first at {i[0]}: got {got.ravel()[i[0]]!r}, " \
                 f"expected {want.ravel()[i[0]]!r}"
    elif not same:
        detail = f"shape {got.shape}, expected {want.shape}"
    c.record(name, same, detail)


def lane_cases(c, rng):
    path = kernel_file(c)
    M, N = 77, 45
    x2 = rng.standard_normal((M, 2)).astype(np.float32)
    x3 = rng.standard_normal((M, N, 2)).astype(np.float32)
    for config in CONFIGS:
        tag = f"[{config or 'default config'}]"
        name = f"pairs swap and negate {M}x2 {tag}"
        if c.selected(name):
            got, err = c.run_kernel(path, "swap", {"x": x2}, ["y", "z"], config=m_only(config))
            if err:
                c.record(name, False, err)
            else:
                exact(c, name + " swap", got["y"], x2[:, ::-1].astype(np.float64))
                exact(c, name + " negate/max", got["z"],
                      np.stack([-x2[:, 0], x2.max(axis=1)], -1).astype(np.float64))
        name = f"pairs split rows {M}x{N}x2 {tag}"
        if c.selected(name):
            got, err = c.run_kernel(path, "pairs_of_rows", {"x": x3}, ["lo", "hi"], config=config)
            if err:
                c.record(name, False, err)
            else:
                exact(c, name + " lane 0", got["lo"], x3[..., 0].astype(np.float64))
                exact(c, name + " lane 1", got["hi"], x3[..., 1].astype(np.float64))
        name = f"pairs transposed {M}x{N}x2 {tag}"
        if c.selected(name):
            got, err = c.run_kernel(path, "transposed", {"x": x3}, ["t"], config=m_only(config))
            if err:
                c.record(name, False, err)
            else:
                exact(c, name, got["t"], x3[:, 0, :].T.astype(np.float64))
        name = f"pairs loop-carried max, joined {M}x{N}x2 {tag}"
        if c.selected(name):
            got, err = c.run_kernel(path, "carried", {"x": x3}, ["y"], config=config)
            if err:
                c.record(name, False, err)
            else:
                exact(c, name, got["y"], x3.max(axis=1).astype(np.float64))
    name = "pairs i32 (wrapping) and bool"
    if c.selected(name):
        xi = rng.integers(-2 ** 31, 2 ** 31, (M, 2), dtype=np.int64).astype(np.int32)
        got, err = c.run_kernel(path, "ints", {"x": xi}, ["y", "b"], config="BLOCK_M=32")
        if err:
            c.record(name, False, err)
        else:
            want = np.stack([xi[:, 0] + xi[:, 1], xi[:, 0] ^ xi[:, 1]], -1)   # int32: wraps
            exact(c, name + " i32", got["y"], want.astype(np.float64))
            exact(c, name + " bool", got["b"], (xi > 0).astype(np.float64))
    name = "pairs rank-4 bf16 swap"
    if c.selected(name):
        xb = bf16(rng.standard_normal((5, 19, 33, 2)))
        got, err = c.run_kernel(path, "halves", {"x": xb.astype(np.float32)}, ["y"],
                                config="BLOCK_A=16,BLOCK_B=16,BLOCK_C=16")
        if err:
            c.record(name, False, err)
        else:
            exact(c, name, got["y"], xb[..., ::-1])


def rope_model(x, cos, sin):
    """float64 rotation of each pair; x [T, H, P, 2], cos/sin [T, P]."""
    xr, xi = x[..., 0], x[..., 1]
    c, s = cos[:, None, :], sin[:, None, :]
    return np.stack([xr * c - xi * s, xr * s + xi * c], -1)


def example_cases(c, rng):
    for T, H, P in [(77, 3, 32), (130, 4, 64)]:
        x = bf16(rng.standard_normal((T, H, P, 2)))
        theta = 10000.0 ** (-np.arange(P) / P)
        ang = np.arange(T)[:, None] * theta[None, :]
        cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
        ref = rope_model(x, cos.astype(np.float64), sin.astype(np.float64))
        mag = np.abs(x[..., 0])[..., None] + np.abs(x[..., 1])[..., None]
        mag = mag * np.ones_like(ref)
        bound = U_BF16 * np.abs(ref) + (1 + U_BF16) * 3 * U * mag
        c.check(f"examples/rope.tile T={T} H={H} P={P} vs numpy", "rope.tile", "rope",
                {"x": x.astype(np.float32), "cos": cos, "sin": sin}, ["out"], {"out": ref},
                {"out": bound}, [None, "BLOCK_T=16", "BLOCK_T=128,num_warps=8"])


def main():
    return run_suites(__doc__, "pairs", 20261210, (lane_cases, example_cases))


if __name__ == "__main__":
    sys.exit(main())
