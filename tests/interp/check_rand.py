#!/usr/bin/env python3
"""Checks rand and randint of `tilec run --interpret` bit for bit against numpy's Philox.

usage: check_rand.py BUILD_DIR [-k SUBSTRING] [-v]

The reference (philox_ref.py) is first checked against Random123's published answers for
Philox 4x32-10. Then kernels run on the interpreter, in both arithmetics (rand is integer
math: --arith=gpu gives the same bits): i64 seeds (0, ±1, 2^32, the int64 extremes, random
ones) on 64-bit offsets (negative, beyond 2^32, the extremes) read from a tensor; i32 seeds
and offsets (sign-extended); literal seeds; offsets computed from the grid's indices
(`m * N + n`) under several block sizes (the bits depend on the offset only); a scalar
offset. Every f32 lies in [0, 1) and equals (randint >>> 8) * 2^-24.
Prints `rand: N passed, N failed`; exits 1 on any failure.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_examples import run_suites  # noqa: E402  (the runner: tilec run, .npy in and out)
import philox_ref  # noqa: E402

KERNELS = """
kernel vec(seed: i64, offs: i64[N], y: f32[N], z: i32[N]) {
    for n in tile(N) {
        y[n] = rand(seed, offs[n])
        z[n] = randint(seed, offs[n])
    }
}
kernel vec32(seed: i32, offs: i32[N], y: f32[N], z: i32[N]) {
    for n in tile(N) {
        y[n] = rand(seed, offs[n])
        z[n] = randint(seed, offs[n])
    }
}
kernel literal(offs: i64[N], y: f32[N], z: i32[N]) {
    for n in tile(N) {
        y[n] = rand(-7, offs[n])
        z[n] = randint(12345678901, offs[n])
    }
}
kernel grid2d(seed: i64, y: f32[M, N], z: i32[M, N]) {
    for m, n in tile(M, N) {
        offs = m.index[:, None] * N + n.index[None, :]
        y[m, n] = rand(seed, offs)
        z[m, n] = randint(seed, offs + 4294967296)
    }
}
kernel scalar(seed: i64, y: f32[N]) {
    for n in tile(N) {
        y[n] = rand(seed, 3) + zeros([n], f32)
    }
}
"""

# Random123's known answers for Philox 4x32-10 (counter, key, output).
KNOWN = [
    ((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
    ((0xffffffff,) * 4, (0xffffffff,) * 2, (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
    ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
     (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1)),
]

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def kernel_file(c):
    path = os.path.join(c.tmp, "rand.tile")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(KERNELS)
    return path


def exact(c, name, got, want):
    """Bit-exact comparison (got is float64 from the runner: exact for f32 and i32)."""
    want = np.asarray(want, np.float64)
    same = got.shape == want.shape and np.array_equal(got, want)
    detail = ""
    if not same and got.shape == want.shape:
        i = np.flatnonzero(got.ravel() != want.ravel())
        detail = f"{i.size} of {got.size} differ; first at {i[0]}: got {got.ravel()[i[0]]!r}, " \
                 f"expected {want.ravel()[i[0]]!r}"
    elif not same:
        detail = f"shape {got.shape}, expected {want.shape}"
    c.record(name, same, detail)


def reference_cases(c, rng):
    for counter, key, want in KNOWN:
        name = f"philox_ref known answer key {key[0]:08x}"
        if c.selected(name):
            got = [int(x) for x in philox_ref.philox4x32_10(counter, key)]
            c.record(name, got == list(want), f"got {[hex(x) for x in got]}")


def offsets(rng, n):
    o = rng.integers(INT64_MIN, INT64_MAX, n, dtype=np.int64, endpoint=True)
    special = [0, 1, -1, 255, 256, (1 << 32) - 1, 1 << 32, -(1 << 32), INT64_MIN, INT64_MAX,
               0x7fffffff, -0x80000000]
    o[:len(special)] = special
    o[len(special):len(special) + 100] = np.arange(100)            # consecutive counters
    o[len(special) + 100:len(special) + 200] = rng.integers(0, 1 << 20, 100)
    return o


def check_outputs(c, name, got, seed, offs):
    exact(c, f"{name} rand", got["y"], philox_ref.rand(seed, offs))
    exact(c, f"{name} randint", got["z"], philox_ref.randint(seed, offs))
    y = got["y"]
    bits = got["z"].astype(np.int64) % (1 << 32)
    c.record(f"{name} rand in [0, 1) and = (randint >>> 8) 2^-24",
             bool(((y >= 0) & (y < 1)).all()) and np.array_equal(y, (bits >> 8) * 2.0 ** -24))


def seed_cases(c, rng):
    path = kernel_file(c)
    seeds = [0, 1, -1, 42, 1 << 32, INT64_MIN, INT64_MAX, 0x0123456789abcdef,
             -0x5deece66d] + [int(s) for s in rng.integers(INT64_MIN, INT64_MAX, 4, dtype=np.int64)]
    offs = offsets(rng, 3000)
    for i, seed in enumerate(seeds):
        for arith in ["ieee", "gpu"] if i < 4 else ["ieee"]:
            name = f"rand i64 seed {seed} on 3000 64-bit offsets (--arith={arith})"
            if not c.selected(name):
                continue
            got, err = c.run_kernel(path, "vec", {"offs": offs}, ["y", "z"], sets={"seed": seed},
                                    extra=[f"--arith={arith}"])
            if err:
                c.record(name, False, err)
                continue
            check_outputs(c, name, got, seed, offs)


def i32_cases(c, rng):
    path = kernel_file(c)
    offs = offsets(rng, 2000).astype(np.int32)        # wrapped: negative ones included
    for seed in [0, -1, -2147483648, 2147483647, 977]:
        name = f"rand i32 seed {seed} on i32 offsets (sign-extended)"
        if not c.selected(name):
            continue
        got, err = c.run_kernel(path, "vec32", {"offs": offs}, ["y", "z"], sets={"seed": seed})
        if err:
            c.record(name, False, err)
            continue
        check_outputs(c, name, got, seed, offs.astype(np.int64))


def literal_cases(c, rng):
    path = kernel_file(c)
    offs = offsets(rng, 500)
    name = "rand literal seeds -7 and 12345678901"
    if c.selected(name):
        got, err = c.run_kernel(path, "literal", {"offs": offs}, ["y", "z"])
        if err:
            c.record(name, False, err)
        else:
            exact(c, name + " rand", got["y"], philox_ref.rand(-7, offs))
            exact(c, name + " randint", got["z"], philox_ref.randint(12345678901, offs))


def grid_cases(c, rng):
    path = kernel_file(c)
    M, N = 45, 77
    offs = np.arange(M)[:, None] * N + np.arange(N)[None, :]
    for config in [None, "BLOCK_M=16,BLOCK_N=16", "BLOCK_M=128,BLOCK_N=32", "BLOCK_M=32,BLOCK_N=256"]:
        for arith in ["ieee", "gpu"]:
            name = f"rand grid offsets m*N+n {M}x{N} [{config or 'default config'}] --arith={arith}"
            if not c.selected(name):
                continue
            got, err = c.run_kernel(path, "grid2d", {}, ["y", "z"], config=config,
                                    sets={"seed": 2024}, shape={"M": M, "N": N},
                                    extra=[f"--arith={arith}"])
            if err:
                c.record(name, False, err)
                continue
            exact(c, name + " rand", got["y"], philox_ref.rand(2024, offs))
            exact(c, name + " randint", got["z"], philox_ref.randint(2024, offs + (1 << 32)))
    name = "rand scalar offset"
    if c.selected(name):
        got, err = c.run_kernel(path, "scalar", {}, ["y"], sets={"seed": 5}, shape={"N": 70})
        if err:
            c.record(name, False, err)
        else:
            exact(c, name, got["y"], np.full(70, philox_ref.rand(5, np.int64(3))))


def main():
    return run_suites(__doc__, "rand", 20261207,
                      (reference_cases, seed_cases, i32_cases, literal_cases, grid_cases))


if __name__ == "__main__":
    sys.exit(main())
