#!/usr/bin/env python3
"""compare_binaries.py OUT_DIR --a TILEC_A --b TILEC_B [--rounds N] — two tilec builds timed
on the same kernels in one device call, interleaved (A, B, A, B, ...), so a change that should
not move speed (a restructuring) shows it does not. Each case is `tilec bench` of a benchmark
row of bench/run_bench.py at one config (inputs random, the same seed for both); the table
gives each binary's best cold-L2 median and the ratio B/A. Writes OUT_DIR/compare.json."""
import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "examples")

# (file, kernels, shape, config, sets): the rows of bench/run_bench.py at a config of theirs
CASES = [
    ("gemm.tile", "gemm", "M=4096,N=4096,K=4096", "BLOCK_M=128,BLOCK_N=256,BLOCK_K=64,num_warps=8,num_stages=3,group_m=8", []),
    ("gemm.tile", "gemm", "M=2048,N=8192,K=4096", "BLOCK_M=128,BLOCK_N=256,BLOCK_K=64,num_warps=8,num_stages=3,group_m=8", []),
    ("fp8_gemm.tile", "fp8_gemm_tensorwise", "M=4096,N=4096,K=4096", "BLOCK_M=128,BLOCK_N=128,BLOCK_K=128,num_warps=4,num_stages=3,group_m=8", []),
    ("fp8_gemm.tile", "fp8_gemm_rowwise", "M=4096,N=4096,K=4096", "BLOCK_M=128,BLOCK_N=128,BLOCK_K=128,num_warps=4,num_stages=3,group_m=8", []),
    ("attention.tile", "attention", "Z=4,H=48,M=4096,N=4096,D=64", "BLOCK_M=128,BLOCK_N=64,num_warps=4,num_stages=3", ["scale=0.125", "causal=false"]),
    ("attention.tile", "attention", "Z=4,H=48,M=4096,N=4096,D=64", "BLOCK_M=128,BLOCK_N=64,num_warps=4,num_stages=3", ["scale=0.125", "causal=true"]),
    ("attention.tile", "attention", "Z=8,H=16,M=4096,N=4096,D=128", "BLOCK_M=128,BLOCK_N=128,num_warps=8,num_stages=2", ["scale=0.088", "causal=false"]),
    ("attention.tile", "attention", "Z=8,H=16,M=4096,N=4096,D=128", "BLOCK_M=128,BLOCK_N=128,num_warps=8,num_stages=2", ["scale=0.088", "causal=true"]),
    ("fp8_attention.tile", "fp8_attention", "Z=4,H=48,M=4096,N=4096,D=64", "BLOCK_M=128,BLOCK_N=64,num_warps=8,num_stages=2", ["scale=0.125", "causal=false"]),
    ("fp8_attention.tile", "fp8_attention", "Z=8,H=16,M=4096,N=4096,D=128", "BLOCK_M=128,BLOCK_N=64,num_warps=8,num_stages=2", ["scale=0.088", "causal=true"]),
    ("rowwise_quantize.tile", "rowwise_quantize", "M=2048,K=4096", "BLOCK_M=4,BLOCK_K=256,num_warps=4", []),
    ("layernorm.tile", "layernorm", "M=4096,N=8192", "BLOCK_M=4,BLOCK_N=256,num_warps=4", []),
    ("softmax.tile", "softmax", "M=4096,N=8192", "BLOCK_M=4,BLOCK_N=256,num_warps=4", []),
    ("layernorm.tile", "layernorm", "M=4096,N=8192", "", []),
]


def bench(tilec, case):
    f, kernel, shape, config, sets = case
    args = [tilec, "bench", os.path.join(EX, f), "--kernel", kernel, "--shape", shape, "--reps", "20", "--seed", "7"]
    if config:
        args += ["--config", config]
    for s in sets:
        args += ["--set", s]
    p = subprocess.run(args, capture_output=True, text=True, timeout=300)
    m = re.search(r"cold L2: median ([0-9.]+) ms", p.stdout)
    return float(m.group(1)) if m else None, (p.stdout + p.stderr)[-300:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rows = []
    worst = 0.0
    for case in CASES:
        best = {"a": None, "b": None}
        for _ in range(a.rounds):
            for side, tilec in (("a", a.a), ("b", a.b)):
                ms, tail = bench(tilec, case)
                if ms is not None and (best[side] is None or ms < best[side]):
                    best[side] = ms
                if ms is None:
                    print(f"{side} failed: {case[1]} {case[2]}: {tail}")
        ratio = best["b"] / best["a"] if best["a"] and best["b"] else None
        if ratio:
            worst = max(worst, abs(ratio - 1))
        rows.append({"case": case, "a_ms": best["a"], "b_ms": best["b"], "b_over_a": ratio})
        print(f"{case[1]:22} {case[2]:30} {case[4] and case[4][-1] or '':14} A {best['a']} ms  B {best['b']} ms  "
              f"B/A {ratio:.3f}" if ratio else f"{case[1]} {case[2]}: missing")
    print(f"largest difference: {100 * worst:.1f}%")
    with open(os.path.join(a.out, "compare.json"), "w") as f:
        json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
