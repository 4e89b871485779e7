#!/usr/bin/env python3
"""dot_check.py OUT_DIR [--tilec PATH] [--jobs N] [--only SUBSTRING] — the dot back ends on the
GPU against the interpreter: every example with dots under configs that cover each way
codegen can lay a dot out (wgmma: one or two warpgroups along M or N, several m64 or N
instructions per warpgroup, 32/64/128-byte swizzles, K- and MN-major operands, A from
registers; mma.sync on sm_89 code), at ragged and aligned shapes, through
`tilec run --check`. Runs on the device machine; prints a table and `N passed, N failed`.
"""
import argparse
import concurrent.futures as futures
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EX = os.path.join(ROOT, "examples")

GEMM_CONFIGS = [
    "BLOCK_M=64,BLOCK_N=64,BLOCK_K=64,num_warps=4,num_stages=2",
    "BLOCK_M=128,BLOCK_N=128,BLOCK_K=64,num_warps=8,num_stages=3",      # 2 warpgroups along M
    "BLOCK_M=64,BLOCK_N=256,BLOCK_K=64,num_warps=8,num_stages=3",       # 2 along N
    "BLOCK_M=128,BLOCK_N=256,BLOCK_K=64,num_warps=8,num_stages=3",      # m64n256 each
    "BLOCK_M=64,BLOCK_N=128,BLOCK_K=32,num_warps=4,num_stages=1",       # 64-byte swizzle
    "BLOCK_M=64,BLOCK_N=64,BLOCK_K=16,num_warps=4,num_stages=2",        # 32-byte swizzle
    "BLOCK_M=256,BLOCK_N=128,BLOCK_K=64,num_warps=8,num_stages=3",      # 2 m64 per group
    "BLOCK_M=64,BLOCK_N=16,BLOCK_K=128,num_warps=4,num_stages=2",       # n16, 2 K panels
    "BLOCK_M=128,BLOCK_N=128,BLOCK_K=64,num_warps=4,num_stages=4,tile_groups=2",  # ping-pong
    "BLOCK_M=64,BLOCK_N=64,BLOCK_K=64,num_warps=8,num_stages=2,dot=2",  # mma.sync on sm_90a
    "BLOCK_M=128,BLOCK_N=128,BLOCK_K=64,num_warps=8,num_stages=3,ws=0",  # cp.async groups
]
GEMM_SHAPES = ["M=128,N=128,K=128", "M=93,N=1001,K=77", "M=255,N=257,K=129", "M=1,N=1,K=1",
               "M=300,N=512,K=1024", "M=64,N=40,K=1000"]
FP8_CONFIGS = [
    "BLOCK_M=64,BLOCK_N=64,BLOCK_K=64,num_warps=4,num_stages=2",
    "BLOCK_M=128,BLOCK_N=128,BLOCK_K=128,num_warps=8,num_stages=3",
    "BLOCK_M=128,BLOCK_N=256,BLOCK_K=128,num_warps=8,num_stages=2",
    "BLOCK_M=64,BLOCK_N=128,BLOCK_K=32,num_warps=4,num_stages=3",       # 32-byte fp8 rows
    "BLOCK_M=128,BLOCK_N=128,BLOCK_K=128,num_warps=4,num_stages=4,tile_groups=2",
]
ATTN_CONFIGS = [
    "BLOCK_M=64,BLOCK_N=64,num_warps=4,num_stages=2",
    "BLOCK_M=128,BLOCK_N=64,num_warps=8,num_stages=2",
    "BLOCK_M=128,BLOCK_N=128,num_warps=8,num_stages=2",
    "BLOCK_M=64,BLOCK_N=128,num_warps=4,num_stages=3",
    "BLOCK_M=64,BLOCK_N=128,num_warps=4,num_stages=2,tile_groups=2",
]
ATTN_SHAPES = ["Z=1,H=2,M=129,N=77", "Z=1,H=1,M=128,N=128", "Z=2,H=1,M=77,N=300",
               "Z=1,H=1,M=1,N=1"]


def cases():
    out = []
    for cfg in GEMM_CONFIGS:
        for shape in GEMM_SHAPES:
            out.append(("gemm.tile", "gemm", shape, cfg, []))
    for kernel in ("fp8_gemm_tensorwise", "fp8_gemm_rowwise"):
        for cfg in FP8_CONFIGS:
            for shape in GEMM_SHAPES[:4]:
                out.append(("fp8_gemm.tile", kernel, shape, cfg, []))
    for f, k in (("attention.tile", "attention"), ("fp8_attention.tile", "fp8_attention")):
        for cfg in ATTN_CONFIGS:
            for d in (64, 128):
                for causal in ("false", "true"):
                    for shape in ATTN_SHAPES[:3]:
                        out.append((f, k, f"{shape},D={d}", cfg,
                                    ["--set", "scale=0.1", "--set", f"causal={causal}"]))
    # the mma.sync back end (sm_89 code runs on sm_90 through the driver)
    for shape in GEMM_SHAPES[:3]:
        out.append(("gemm.tile", "gemm", shape, "BLOCK_M=32,BLOCK_N=64,BLOCK_K=32", ["--target", "sm_89"]))
        out.append(("fp8_gemm.tile", "fp8_gemm_tensorwise", shape, "BLOCK_M=64,BLOCK_N=64,BLOCK_K=64",
                    ["--target", "sm_89"]))
        out.append(("attention.tile", "attention", "Z=1,H=2,M=129,N=77,D=64",
                    "BLOCK_M=32,BLOCK_N=32", ["--target", "sm_89", "--set", "scale=0.1",
                                                    "--set", "causal=true"]))
    for cfg in ("", "BLOCK_K=32,num_stages=3", "BLOCK_M=128,BLOCK_N=128,BLOCK_K=64,num_stages=4,num_warps=8"):
        out.append(("../tests/gpu/kernels/nested_pipeline.tile", None, "M=93,N=77,K=101,J=3", cfg, []))
    return out


def run(tilec, case):
    f, kernel, shape, cfg, extra = case
    args = [tilec, "run", os.path.join(EX, f), "--check"]
    if kernel:
        args += ["--kernel", kernel]
    if shape:
        args += ["--shape", shape]
    if cfg:
        args += ["--config", cfg]
    args += extra
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        return p.returncode, (p.stdout + p.stderr)[-1500:], args
    except subprocess.TimeoutExpired:
        return 124, "timed out", args


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--tilec", default=os.path.join(ROOT, "build", "tilec"))
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    todo = [c for c in cases() if a.only in " ".join(map(str, c))]
    passed = failed = 0
    with open(os.path.join(a.out, "dot_check.txt"), "w") as log, \
            futures.ThreadPoolExecutor(a.jobs) as pool:
        for case, (rc, out, args) in zip(todo, pool.map(lambda c: run(a.tilec, c), todo)):
            ok = rc == 0
            passed += ok
            failed += not ok
            line = f"{'ok  ' if ok else 'FAIL'} {case[1]} {case[2]} {case[3]} {' '.join(case[4])}"
            log.write(line + "\n" + ("" if ok else "    " + " ".join(args) + "\n" + out + "\n"))
            if not ok:
                print(line)
                print("   ", out.strip().replace("\n", "\n    ")[-600:])
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
