"""Memory-bound kernels (issue 21): the default config of a dot-free kernel sizes its
contiguous block for 16-byte vectors and keeps one row per warp (docs/tuning.md, "Default
configs"), and the rmsnorm examples run on the interpreter at ragged shapes."""
import os
import re

from suite_reliability import case


def defaults(t, example):
    """{tunable: default} as `tilec build --emit=ast` prints them."""
    rc, out = t.run([t.tilec, "build", "--emit=ast", os.path.join(t.examples, example)])
    if rc != 0:
        return None, out
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"tunable (\w+) in \{[^}]*\} default (\d+)", out)}, out


def expect_defaults(t, example, want):
    got, out = defaults(t, example)
    if got is None:
        return False, out
    wrong = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    return not wrong, f"(got, wanted): {wrong}"


@case("defaults/layernorm_vector_rows")
def _(t):
    """bf16 rows: 256 contiguous (8 per lane, one 16-byte vector), 4 rows (one per warp)."""
    return expect_defaults(t, "layernorm.tile", {"BLOCK_M": 4, "BLOCK_N": 256, "num_warps": 4})


@case("defaults/softmax_vector_rows")
def _(t):
    """f32 rows: 8 per lane (two 16-byte vectors), 4 rows."""
    return expect_defaults(t, "softmax.tile", {"BLOCK_M": 4, "BLOCK_N": 256, "num_warps": 4})


@case("defaults/rowwise_quantize_vector_rows")
def _(t):
    return expect_defaults(t, "rowwise_quantize.tile",
                           {"BLOCK_M": 4, "BLOCK_K": 256, "num_warps": 4})


@case("defaults/memory_bound_block_ranges")
def _(t):
    """The rule's values move to the nearest allowed one: rows 16..64 give 16, columns
    capped at 128 give 128; an fp8-only row takes 16 per lane (512, nearest allowed)."""
    src = t.write("k.tile", """kernel k(x: f32[M, N], y: f32[M, N]) {
    for m in tile(M) block(16..64) {
        for n in tile(N) block(16..128) {
            y[m, n] = x[m, n]
        }
    }
}
kernel f8(z: f8e4m3[M, N], w: f8e4m3[M, N]) {
    for m, n in tile(M, N) block(_, 16..1024) {
        w[m, n] = z[m, n]
    }
}
""")
    rc, out = t.run([t.tilec, "build", "--emit=ast", src])
    ok = rc == 0 and "tunable BLOCK_M in {16, 32, 64} default 16" in out \
        and "tunable BLOCK_N in {16, 32, 64, 128} default 128" in out \
        and re.search(r"kernel f8.*tunable BLOCK_N in \{[^}]*\} default 512", out, re.S) is not None
    return ok, out


@case("defaults/dot_kernels_unchanged")
def _(t):
    """The Hopper dot defaults stay (gemm 256x128, 64 bf16 of k per step, 8 warps)."""
    return expect_defaults(t, "gemm.tile", {"BLOCK_M": 256, "BLOCK_N": 128, "BLOCK_K": 64,
                                            "num_warps": 8})


@case("defaults/transpose_keeps_preferred")
def _(t):
    """No block variable is contiguous in every access (a transpose): 64x64 as before."""
    src = t.write("tr.tile", """kernel tr(x: f32[M, N], y: f32[N, M]) {
    for m, n in tile(M, N) {
        y[n, m] = x[m, n].T
    }
}
""")
    rc, out = t.run([t.tilec, "build", "--emit=ast", src])
    return rc == 0 and "tunable BLOCK_M in {16, 32, 64, 128, 256} default 64" in out \
        and "tunable BLOCK_N in {16, 32, 64, 128, 256} default 64" in out, out


def interpret(t, example, shape):
    rc, out = t.run([t.tilec, "run", "--interpret", os.path.join(t.examples, example),
                     "--shape", shape, "--set", "eps=1e-5"], timeout=120)
    return rc == 0, out


@case("examples/rmsnorm_interpreted")
def _(t):
    return interpret(t, "rmsnorm.tile", "M=37,N=1000")


@case("examples/rmsnorm_quantize_interpreted")
def _(t):
    return interpret(t, "rmsnorm_quantize.tile", "M=37,N=1000")


@case("bench/render_copy_fraction")
def _(t):
    """bench/render.py gives a memory-bound row its fraction of the run's copy bandwidth
    and says how far the default config is from the best one timed."""
    import json
    import sys
    os.makedirs(t.path("run"), exist_ok=True)
    ms = 1.0   # 1.5e9 bytes in 1 ms: 1500 GB/s, half of the 3000 GB/s copy
    item = {"name": "rmsnorm 16384x8192 bf16", "kind": "memory", "kernel": "rmsnorm",
            "bytes": 1.5e9, "tilec": {"cold": {"median_ms": ms}, "warm": {"median_ms": ms}},
            "runs": [{"configs": [""], "cold_median_ms": 2.0}, {"configs": ["BLOCK_M=1"],
                                                               "cold_median_ms": ms}],
            "peers": {"F.rms_norm (eager)": {"median_ms": 2.0, "gbps": 750.0}},
            "main_peer": "F.rms_norm (eager)", "check": {"ok": True}, "floor": None}
    t.write("run/bench.json", json.dumps({"items": [item], "copy_gbps": 3000.0,
                                          "device": "test", "steps": ["rows"]}))
    rc, out = t.run([sys.executable, os.path.join(t.root, "bench", "render.py"), t.path("run")])
    return rc == 0 and "| 0.50 (copy) |" in out and "(default 2.00× the best)" in out, out


@case("bench/copy_fraction_printed")
def _(t):
    """`tilec bench` times a device-to-device copy in the same run and gives a kernel without
    dots its share of it (the stub driver's events read 0.25 ms: 2 x 128 MiB in 0.25 ms is
    1074 GB/s); a kernel with dots is not given one."""
    env = {"LD_LIBRARY_PATH": os.path.join(t.build, "tests", "runtime")}
    rc, out = t.run([t.tilec, "bench", os.path.join(t.examples, "softmax.tile"), "--shape",
                     "M=64,N=64", "--reps", "3", "--json", t.path("b.json")], env=env)
    ok = rc == 0 and out.count("0.00 of copy (1074 GB/s)") == 2
    ok = ok and '"copy_gbps": 1073.74' in open(t.path("b.json")).read()
    rc2, out2 = t.run([t.tilec, "bench", os.path.join(t.examples, "gemm.tile"), "--shape",
                       "M=64,N=64,K=64", "--reps", "3"], env=env)
    return ok and rc2 == 0 and "of copy" not in out2, out + out2
