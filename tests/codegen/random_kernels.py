#!/usr/bin/env python3
"""random_kernels.py BUILD_DIR [--seed N] [--count N] [--tilec PATH] — codegen on generated kernels.

Generates dot kernels (every operand dtype, b as [K, N] or [N, K].T, a prologue on a, one of
several epilogues, every output dtype, a pinned or ranged K block) and row kernels
(reductions, then a second pass), each with a random config (blocks, warps, stages,
group_m, alignment class) and target (sm_90a, sm_89, sm_80), and runs `tilec build
--emit=ptx` on each. Every outcome must be one of: PTX that `ptxas -arch=TARGET` accepts,
a diagnostic with exit status 1 (a kernel or config the target cannot serve), or exit
status 2 for a config value the kernel does not allow. A crash, a sanitizer report, an
LLVM error, any other exit status or PTX that ptxas rejects fails. Run it on the ASan
build for memory errors. The same seed generates the same kernels."""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

DOT_TYPES = ["bf16", "f16", "f8e4m3", "f8e5m2"]
OUT_TYPES = ["bf16", "f16", "f32", "f8e4m3", "f8e5m2"]
TARGETS = ["sm_90a", "sm_90a", "sm_89", "sm_80"]


def dot_kernel(rng):
    t, to = rng.choice(DOT_TYPES), rng.choice(OUT_TYPES)
    b_nk = rng.random() < 0.5
    bdecl, bexpr = (f"b: {t}[N, K]", "b[n, k].T") if b_nk else (f"b: {t}[K, N]", "b[k, n]")
    aexpr = rng.choice(["a[m, k]", f"(a[m, k].to(f32) * 2.0).to({t})"])
    epi = rng.choice(["acc", "acc * s", "max(acc, 0.0)", "exp2(acc * 0.01)",
                      "where(acc > 0.0, acc, acc * 0.1)"])
    blk = rng.choice(["", " block(16..128)", " block({32, 64})"])
    return f"""kernel k(a: {t}[M, K], {bdecl}, c: {to}[M, N], s: f32) {{
    for m, n in tile(M, N) {{
        acc = zeros([m, n], f32)
        for k in tile(K){blk} {{
            acc += {aexpr} @ {bexpr}
        }}
        c[m, n] = ({epi}).to({to})
    }}
}}
"""


def row_kernel(rng):
    t, to, red = rng.choice(["bf16", "f16", "f32"]), rng.choice(OUT_TYPES), rng.choice(["sum", "max", "min"])
    return f"""kernel k(x: {t}[M, N], y: {to}[M, N]) {{
    for m in tile(M) {{
        acc = zeros([m], f32)
        for n in tile(N) {{
            acc = acc + {red}(x[m, n].to(f32), axis=1)
        }}
        for n in tile(N) {{
            y[m, n] = (x[m, n].to(f32) - acc[:, None]).to({to})
        }}
    }}
}}
"""


def config(rng, dot):
    parts = []
    for name, vals in (("BLOCK_M", [16, 32, 64, 128, 256]), ("BLOCK_N", [16, 32, 64, 128, 256]),
                       ("BLOCK_K", [16, 32, 64, 128]), ("num_warps", [4, 8]),
                       ("num_stages", [1, 2, 3, 4]), ("group_m", [1, 8])):
        if rng.random() < 0.7 and (dot or name != "BLOCK_K"):
            parts.append(f"{name}={rng.choice(vals)}")
    parts.append("align=" + rng.choice(["vec16", "unit", "any"]))
    return ",".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--tilec")
    a = ap.parse_args()
    tilec = a.tilec or os.path.join(a.build, "tilec")
    ptxas = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
    if not os.path.exists(ptxas):
        print("random_kernels: ptxas not found")
        return 1
    rng = random.Random(a.seed)
    counts = {"ptx": 0, "diagnosed": 0, "config refused": 0}
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.count):
            dot = rng.random() < 0.75
            src = dot_kernel(rng) if dot else row_kernel(rng)
            cfg, target = config(rng, dot), rng.choice(TARGETS)
            path, ptx = os.path.join(tmp, "k.tile"), os.path.join(tmp, "k.ptx")
            with open(path, "w") as f:
                f.write(src)
            p = subprocess.run([tilec, "build", path, "--emit=ptx", "--target", target, "--config", cfg,
                                "-o", ptx], capture_output=True, text=True, timeout=600)
            problem = None
            if re.search(r"AddressSanitizer|runtime error|LeakSanitizer|LLVM ERROR|Assertion", p.stderr):
                problem = "sanitizer or LLVM report"
            elif p.returncode == 0:
                q = subprocess.run([ptxas, f"-arch={target}", ptx, "-o", os.devnull],
                                   capture_output=True, text=True)
                if q.returncode != 0:
                    problem = "ptxas rejected the PTX: " + q.stderr[:500]
                else:
                    counts["ptx"] += 1
            elif p.returncode == 1 and "error:" in p.stderr:
                counts["diagnosed"] += 1
            elif p.returncode == 2 and "is not allowed" in p.stderr:
                counts["config refused"] += 1
            else:
                problem = f"exit status {p.returncode}"
            if problem:
                failed += 1
                print(f"FAIL kernel {i} (seed {a.seed}), --target {target} --config {cfg}: {problem}\n"
                      f"{p.stderr[-1500:]}\n{src}")
    print(f"random_kernels: {a.count} kernels, seed {a.seed}: {counts['ptx']} PTX accepted by ptxas, "
          f"{counts['diagnosed']} diagnosed, {counts['config refused']} configs refused, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
