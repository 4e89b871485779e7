#!/usr/bin/env python3
"""Checks `v.id` (the block number of a loop variable: the program id of a grid variable) and
examples/split_k_gemm.tile (a grid variable pinned to block 1 as the program id
along the split, ranged K loops, atomic_add into an f32 reduction target) of `tilec run
--interpret` against numpy.

usage: check_split_k.py BUILD_DIR [-k SUBSTRING] [-v]

For every split (1 to 16, K not a multiple of the split nor of BLOCK_K, K smaller than the
split: empty chunks add 0) the result lies within the f32 bound (K + split + 1)·u·(|a|@|b|)
of the float64 product of the bf16 operands; the interpreter runs programs in one order, so
two runs agree bit for bit (the GPU's atomic adds may not: docs/language.md). Prints
`split_k: N passed, N failed`; exits 1 on any failure.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_examples import U, bf16, run_suites  # noqa: E402

CONFIGS = [None, "BLOCK_M=16,BLOCK_N=16,BLOCK_K=16", "BLOCK_M=64,BLOCK_N=32,BLOCK_K=128"]


def split_cases(c, rng):
    for M, N, K in [(67, 45, 1000), (33, 70, 5), (16, 16, 4099)]:
        a = bf16(rng.uniform(-1, 1, (M, K)))
        b = bf16(rng.uniform(-1, 1, (K, N)))
        exact = a.astype(np.float64) @ b.astype(np.float64)
        for split in [1, 2, 4, 8, 16]:
            bound = (K + split + 1) * U * (np.abs(a) @ np.abs(b)) + 1e-30
            for config in CONFIGS:
                name = f"split_k_gemm {M}x{N}x{K} split={split} [{config or 'default config'}]"
                if not c.selected(name):
                    continue
                ins = {"a": a.astype(np.float32), "b": b.astype(np.float32)}
                got, err = c.run_kernel("split_k_gemm.tile", "split_k_gemm", ins, ["c"],
                                        config=config, sets={"split": split})
                if err:
                    c.record(name, False, err)
                    continue
                c.compare(name, got["c"], exact, bound)
                again, err = c.run_kernel("split_k_gemm.tile", "split_k_gemm", ins, ["c"],
                                          config=config, sets={"split": split})
                c.record(name + " deterministic", err is None and np.array_equal(got["c"], again["c"]),
                         err or "two runs differ")


ID_KERNEL = """
kernel ids(x: f32[M, N], y: i64[M, N], z: i64[M, N]) {
    for m, n in tile(M, N) {
        y[m, n] = m.id * 1000 + n.id + zeros([m, n], i64)
        acc = zeros([m, n], i64)
        for k in tile(3, N) block(16) {
            acc = acc + k.id
        }
        z[m, n] = acc
    }
}
"""


def id_cases(c, rng):
    path = os.path.join(c.tmp, "ids.tile")
    with open(path, "w") as f:
        f.write(ID_KERNEL)
    M, N = 70, 45
    for bm, bn in [(16, 16), (64, 32), (128, 256)]:
        name = f"v.id: grid block numbers and a ranged loop's (BLOCK_M={bm},BLOCK_N={bn})"
        if not c.selected(name):
            continue
        got, err = c.run_kernel(path, "ids", {"x": np.zeros((M, N), np.float32)}, ["y", "z"],
                                config=f"BLOCK_M={bm},BLOCK_N={bn}")
        if err:
            c.record(name, False, err)
            continue
        i, j = np.meshgrid(np.arange(M), np.arange(N), indexing="ij")
        nb = -(-(N - 3) // 16)
        want_y = (i // bm) * 1000 + j // bn
        want_z = np.full((M, N), nb * (nb - 1) // 2)
        c.record(name, np.array_equal(got["y"], want_y) and np.array_equal(got["z"], want_z),
                 f"y {got['y'][-1, -1]} (want {want_y[-1, -1]}), z {got['z'][0, 0]} (want {want_z[0, 0]})")


def main():
    return run_suites(__doc__, "split_k", 20261210, (id_cases, split_cases))


if __name__ == "__main__":
    sys.exit(main())
