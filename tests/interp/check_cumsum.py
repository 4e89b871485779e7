#!/usr/bin/env python3
"""Checks cumsum (inclusive and exclusive, along either axis, f32/bf16/i32/i64) and
examples/cumsum.tile of `tilec run --interpret` against numpy.cumsum.

usage: check_cumsum.py BUILD_DIR [-k SUBSTRING] [-v]

In-tile scans sum each line in lane order in f32 (the GPU's order too): they equal numpy's
sequential f32 cumsum bit for bit; integer scans wrap like the dtype. The example adds a
loop-carried running total across blocks of N: within the f32 summation bound of float64.
Shapes leave partial blocks on both axes. Prints `cumsum: N passed, N failed`; exits 1 on
any failure.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_examples import U, bf16, run_suites  # noqa: E402

KERNELS = """
kernel rows(x: f32[M, N], y: f32[M, N], z: f32[M, N]) {
    for m, n in tile(M, N) {
        y[m, n] = cumsum(x[m, n], axis=1)
        z[m, n] = cumsum(x[m, n], axis=-1, exclusive=true)
    }
}
kernel cols(x: f32[M, N], y: f32[M, N], z: f32[M, N]) {
    for m, n in tile(M, N) {
        y[m, n] = cumsum(x[m, n], axis=0, exclusive=false)
        z[m, n] = cumsum(x[m, n], axis=0, exclusive=true)
    }
}
kernel half(x: bf16[M, N], y: f32[M, N]) {
    for m, n in tile(M, N) {
        y[m, n] = cumsum(x[m, n], axis=1)
    }
}
kernel ints(a: i32[N], b: i64[N], y: i32[N], z: i64[N]) {
    for n in tile(N) {
        y[n] = cumsum(a[n])
        z[n] = cumsum(b[n], exclusive=true)
    }
}
kernel whole_row(x: f32[M, N], y: f32[M, N]) {
    for m in tile(M) {
        y[m, :] = cumsum(x[m, :], axis=1) * 2.0
    }
}
"""

CONFIGS = [None, "BLOCK_M=16,BLOCK_N=16", "BLOCK_M=64,BLOCK_N=256,num_warps=8",
           "BLOCK_M=128,BLOCK_N=32"]


def kernel_file(c):
    path = os.path.join(c.tmp, "cumsum.tile")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(KERNELS)
    return path


def block_of(c, path, kernel, config, name):
    """The block size `name` a run of `kernel` under `config` uses (the default's if the
    config leaves it out)."""
    for part in (config or "").split(","):
        if part.startswith(name + "="):
            return int(part.split("=")[1])
    return c.default_config(path, kernel)[name]


def seq_cumsum(x, axis, exclusive, block):
    """Sequential f32 cumsum within each block of `block` lanes along axis (the tile)."""
    x = np.asarray(x, np.float32)
    out = np.zeros_like(x)
    n = x.shape[axis]
    for b0 in range(0, n, block):
        acc = np.zeros(np.delete(np.array(x.shape), axis), np.float32)
        for i in range(b0, min(b0 + block, n)):
            v = np.take(x, i, axis=axis)
            idx = [slice(None)] * x.ndim
            idx[axis] = i
            out[tuple(idx)] = acc if exclusive else acc + v
            acc = (acc + v).astype(np.float32)
    return out.astype(np.float64)


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


def tile_cases(c, rng):
    path = kernel_file(c)
    M, N = 45, 77
    x = rng.standard_normal((M, N)).astype(np.float32)
    for kernel, axis, block in [("rows", 1, "BLOCK_N"), ("cols", 0, "BLOCK_M")]:
        for config in CONFIGS:
            for arith in ["ieee", "gpu"]:
                name = f"cumsum {kernel} {M}x{N} [{config or 'default config'}] --arith={arith}"
                if not c.selected(name):
                    continue
                got, err = c.run_kernel(path, kernel, {"x": x}, ["y", "z"], config=config,
                                        extra=[f"--arith={arith}"])
                if err:
                    c.record(name, False, err)
                    continue
                b = block_of(c, path, kernel, config, block)
                exact(c, name + " inclusive", got["y"], seq_cumsum(x, axis, False, b))
                exact(c, name + " exclusive", got["z"], seq_cumsum(x, axis, True, b))
    name = "cumsum bf16 input sums in f32"
    if c.selected(name):
        xb = bf16(rng.uniform(-4, 4, (M, N)))
        got, err = c.run_kernel(path, "half", {"x": xb.astype(np.float32)}, ["y"],
                                config="BLOCK_M=16,BLOCK_N=128")
        if err:
            c.record(name, False, err)
        else:
            exact(c, name, got["y"], seq_cumsum(xb, 1, False, 128))
    name = "cumsum whole row (a full axis)"
    if c.selected(name):
        got, err = c.run_kernel(path, "whole_row", {"x": x}, ["y"], config="BLOCK_M=16")
        if err:
            c.record(name, False, err)
        else:
            c.compare(name, got["y"], 2 * np.cumsum(x.astype(np.float64), axis=1),
                      2 * (N + 1) * U * np.cumsum(np.abs(x.astype(np.float64)), axis=1))


def int_cases(c, rng):
    path = kernel_file(c)
    N = 300
    a = rng.integers(-2 ** 31, 2 ** 31, N, dtype=np.int64).astype(np.int32)   # i32 wraps
    b = rng.integers(-2 ** 40, 2 ** 40, N, dtype=np.int64)
    for config in [None, "BLOCK_N=16", "BLOCK_N=256"]:
        name = f"cumsum i32 (wrapping) and exclusive i64 [{config or 'default config'}]"
        if not c.selected(name):
            continue
        got, err = c.run_kernel(path, "ints", {"a": a, "b": b}, ["y", "z"], config=config)
        if err:
            c.record(name, False, err)
            continue
        blk = block_of(c, path, "ints", config, "BLOCK_N")
        want_y = np.concatenate([np.cumsum(a[i:i + blk], dtype=np.int32) for i in range(0, N, blk)])
        want_z = np.concatenate([np.cumsum(b[i:i + blk]) - b[i:i + blk] for i in range(0, N, blk)])
        exact(c, name + " i32", got["y"], want_y.astype(np.float64))
        exact(c, name + " i64", got["z"], want_z.astype(np.float64))


def example_cases(c, rng):
    for M, N in [(37, 1000), (3, 4099), (130, 64)]:
        x = rng.standard_normal((M, N)).astype(np.float32)
        ref = np.cumsum(x.astype(np.float64), axis=1)
        bound = (N + 1) * U * np.cumsum(np.abs(x.astype(np.float64)), axis=1)
        c.check(f"examples/cumsum.tile {M}x{N} vs numpy.cumsum", "cumsum.tile", "cumsum_rows",
                {"x": x}, ["y"], {"y": ref}, {"y": bound},
                [None, "BLOCK_M=16,BLOCK_N=16", "BLOCK_M=64,BLOCK_N=256,num_warps=8"])


def main():
    return run_suites(__doc__, "cumsum", 20261209, (tile_cases, int_cases, example_cases))


if __name__ == "__main__":
    sys.exit(main())
