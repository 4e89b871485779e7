#!/usr/bin/env python3
"""Checks f32 `@` (exact: one fma per product, in k order) and dot(a, b, tf32=true) (operands
rounded to tf32 by cvt.rna, products exact, f32 sums) of `tilec run --interpret` against numpy.

usage: check_f32_dot.py BUILD_DIR [-k SUBSTRING] [-v]

The exact dot must lie within the f32 summation bound (k + 1)·u·(|a|@|b|) of the float64
product, and equal numpy's sequential fma (emulated in float64, exact products) within one
rounding per step; the tf32 dot must lie within that bound of the product of tf32-rounded
operands, and, on random data, visibly away from the exact one (the rounding happened).
Shapes leave partial blocks on every axis (masked contraction lanes); operands come through
prologues (a scale, a bf16 input widened, a transpose) under several block sizes and both
arithmetics. Prints `f32_dot: N passed, N failed`; exits 1 on any failure.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_examples import U, bf16, run_suites  # noqa: E402

KERNELS = """
kernel mm(a: f32[M, K], b: f32[K, N], c: f32[M, N]) {
    for m, n in tile(M, N) {
        acc = zeros([m, n], f32)
        for k in tile(K) {
            acc += a[m, k] @ b[k, n]
        }
        c[m, n] = acc
    }
}
kernel mm_tf32(a: f32[M, K], b: f32[K, N], c: f32[M, N]) {
    for m, n in tile(M, N) {
        acc = zeros([m, n], f32)
        for k in tile(K) {
            acc += dot(a[m, k], b[k, n], tf32=true)
        }
        c[m, n] = acc
    }
}
kernel mm_exact_call(a: f32[M, K], b: f32[K, N], c: f32[M, N]) {
    for m, n in tile(M, N) {
        acc = zeros([m, n], f32)
        for k in tile(K) {
            acc += dot(a[m, k], b[k, n], tf32=false)
        }
        c[m, n] = acc
    }
}
kernel mm_prologue(a: bf16[M, K], bt: f32[N, K], c: f32[M, N]) {
    for m, n in tile(M, N) {
        acc = zeros([m, n], f32)
        for k in tile(K) {
            acc += (a[m, k].to(f32) * 0.5) @ bt[n, k].T
        }
        c[m, n] = acc
    }
}
kernel mm_whole_k(a: f32[M, K], b: f32[K, N], c: f32[M, N]) {
    for m, n in tile(M, N) {
        c[m, n] = a[m, :] @ b[:, n] + 1.0
    }
}
"""

CONFIGS = [None, "BLOCK_M=16,BLOCK_N=16,BLOCK_K=16", "BLOCK_M=64,BLOCK_N=32,BLOCK_K=128",
           "BLOCK_M=32,BLOCK_N=64,BLOCK_K=32"]


def tf32(x):
    """cvt.rna.tf32.f32: 10 mantissa bits, to nearest, ties away from zero."""
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    finite = (u & 0x7f800000) != 0x7f800000
    r = np.where(finite, (u + 0x1000) & ~np.uint64(0x1fff), u)
    return r.astype(np.uint32).view(np.float32)


def fma_in_order(a, b):
    """Sequential f32 fmas over k (products exact in float64, one rounding per step)."""
    acc = np.zeros((a.shape[0], b.shape[1]), np.float32)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    for k in range(a.shape[1]):
        acc = (acc.astype(np.float64) + a64[:, k:k + 1] * b64[k:k + 1, :]).astype(np.float32)
    return acc.astype(np.float64)


def kernel_file(c):
    path = os.path.join(c.tmp, "f32_dot.tile")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(KERNELS)
    return path


def bound(a, b):
    return (a.shape[1] + 1) * U * (np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64)))


def exact_cases(c, rng):
    path = kernel_file(c)
    M, N, K = 45, 38, 93
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    seq = fma_in_order(a, b)
    for kernel in ["mm", "mm_exact_call"]:
        for config in CONFIGS:
            for arith in ["ieee", "gpu"]:
                name = f"{kernel} {M}x{N}x{K} [{config or 'default config'}] --arith={arith}"
                if not c.selected(name):
                    continue
                got, err = c.run_kernel(path, kernel, {"a": a, "b": b}, ["c"], config=config,
                                        extra=[f"--arith={arith}"])
                if err:
                    c.record(name, False, err)
                    continue
                c.compare(name + " vs float64", got["c"], exact, bound(a, b))
                # one rounding per fma either way: the emulation's double rounding aside, equal
                c.compare(name + " vs sequential fma", got["c"], seq, 2 * U * np.abs(seq))
    name = "mm whole-K operands (a[m, :] @ b[:, n] + 1)"
    if c.selected(name):
        got, err = c.run_kernel(path, "mm_whole_k", {"a": a, "b": b}, ["c"],
                                config="BLOCK_M=16,BLOCK_N=32")
        if err:
            c.record(name, False, err)
        else:
            c.compare(name, got["c"], exact + 1, bound(a, b) + 2 * U * np.abs(exact + 1))


def tf32_cases(c, rng):
    path = kernel_file(c)
    M, N, K = 45, 38, 93
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    rounded = tf32(a).astype(np.float64) @ tf32(b).astype(np.float64)
    for config in CONFIGS:
        name = f"mm_tf32 {M}x{N}x{K} [{config or 'default config'}]"
        if not c.selected(name):
            continue
        got, err = c.run_kernel(path, "mm_tf32", {"a": a, "b": b}, ["c"], config=config)
        if err:
            c.record(name, False, err)
            continue
        c.compare(name + " vs tf32-rounded operands", got["c"], rounded, bound(a, b))
        off = np.abs(got["c"] - exact).max()
        c.record(name + " differs from exact f32 (operands were rounded)", off > 1e-4,
                 f"max |tf32 - exact| = {off}")
    name = "tf32 rounding: ties away from zero, NaN/inf kept"
    if c.selected(name):
        specials = np.array([1 + 2.0 ** -11, -(1 + 2.0 ** -11), 1 + 3 * 2.0 ** -11,
                             1 + 2.0 ** -11 - 2.0 ** -23, np.inf, -np.inf,
                             np.finfo(np.float32).max], np.float32)
        got, err = c.run_kernel(path, "mm_tf32", {"a": specials[:, None], "b": np.ones((1, 1), np.float32)},
                                ["c"])
        if err:
            c.record(name, False, err)
        else:
            want = np.array([1 + 2.0 ** -10, -(1 + 2.0 ** -10), 1 + 2 * 2.0 ** -10, 1.0,
                             np.inf, -np.inf, np.inf])
            row = got["c"][:, 0]
            c.record(name, np.array_equal(row, want), f"got {row}, expected {want}")


def prologue_cases(c, rng):
    path = kernel_file(c)
    M, N, K = 70, 33, 50
    a = bf16(rng.uniform(-2, 2, (M, K)))
    bt = rng.standard_normal((N, K)).astype(np.float32)
    a_scaled = (a * 0.5).astype(np.float32)
    exact = a_scaled.astype(np.float64) @ bt.T.astype(np.float64)
    for config in CONFIGS:
        name = f"mm_prologue bf16.to(f32)*0.5 @ f32.T {M}x{N}x{K} [{config or 'default config'}]"
        if not c.selected(name):
            continue
        got, err = c.run_kernel(path, "mm_prologue",
                                {"a": a.astype(np.float32), "bt": bt}, ["c"], config=config)
        if err:
            c.record(name, False, err)
            continue
        c.compare(name, got["c"], exact, bound(a_scaled, bt.T))


def main():
    return run_suites(__doc__, "f32_dot", 20261208, (exact_cases, tf32_cases, prologue_cases))


if __name__ == "__main__":
    sys.exit(main())
