#!/usr/bin/env python3
"""The schedule comes from what the code computes, not from how the file is written.

usage: check_schedule_variants.py BUILD_DIR

Variants of examples/attention.tile that users write (a logit soft-cap, an additive bias
tensor, statements reordered with q loaded inside the key loop, grouped-query heads from
examples/gqa_attention.tile, and examples/window_attention.tile's sliding window, whose key
loop is a range starting at the window, against causal attention) must get attention's
schedule: the same warp roles, the same
plan for each dot's operands (wgmma, TMA ring, q staged once, P from registers) and the same
pipeline, for D=64 and D=128, plain and causal; and their PTX must assemble with no spills
and no ptxas note that serialises the wgmmas (C75xx): the bias variant's [BLOCK_M, BLOCK_N]
tile, read from global memory by the compute warps every iteration, spilled up to 136 bytes
at 224 registers until a vec16 variant's innermost stride became the constant 1. Prints
`schedule variants: N passed, N failed`; exits 1 on any failure.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LOOP = """        for n in tile(causal ? min(m.end, N) : N) {{
{score}
            if causal {{
                s = where(m.index[:, None] >= n.index[None, :], s, -inf)
            }}
            mn = max(mi, max(s, axis=1))
            p = exp2(s - mn[:, None])
            alpha = exp2(mi - mn)
            li = li * alpha + sum(p, axis=1)
            acc = acc * alpha[:, None] + p.to(bf16) @ v[z, h, n, :]
            mi = mn
        }}"""

HEAD = """kernel {name}(q: bf16[Z, H, M, D], k: bf16[Z, H, N, D], v: bf16[Z, H, N, D],{extra}
        o: bf16[Z, H, M, D], scale: f32, causal: const bool) {{
    const D in {{64, 128}}
    for z, h, m in tile(Z, H, M) block(1, 1, _) {{
        qs = q[z, h, m, :]
        mi = full([m], -inf, f32)
        li = zeros([m], f32)
        acc = zeros([m, D], f32)
{loop}
        o[z, h, m, :] = (acc / li[:, None]).to(bf16)
    }}
}}
"""

SOFTCAP = HEAD.format(name="attention_softcap", extra=" cap: f32,", loop=LOOP.format(
    score="            s = (cap * 1.4426950408889634) * tanh((qs @ k[z, h, n, :].T) * (scale / cap))"))
BIAS = HEAD.format(name="attention_bias", extra=" bias: bf16[Z, H, M, N],", loop=LOOP.format(
    score="            s = ((qs @ k[z, h, n, :].T) * scale + bias[z, h, m, n].to(f32)) * 1.4426950408889634"))
# q read inside the key loop, the statements of the update in another order, the
# normalisation as a product
REORDERED = """kernel attention_reordered(q: bf16[Z, H, M, D], k: bf16[Z, H, N, D], v: bf16[Z, H, N, D],
        o: bf16[Z, H, M, D], scale: f32, causal: const bool) {
    const D in {64, 128}
    for z, h, m in tile(Z, H, M) block(1, 1, _) {
        acc = zeros([m, D], f32)
        li = zeros([m], f32)
        mi = full([m], -inf, f32)
        for n in tile(causal ? min(m.end, N) : N) {
            kt = k[z, h, n, :].T
            s = q[z, h, m, :] @ kt
            s = s * (scale * 1.4426950408889634)
            if causal {
                s = where(n.index[None, :] <= m.index[:, None], s, -inf)
            }
            mn = max(max(s, axis=1), mi)
            alpha = exp2(mi - mn)
            p = exp2(s - mn[:, None])
            acc = alpha[:, None] * acc + p.to(bf16) @ v[z, h, n, :]
            li = alpha * li + sum(p, axis=1)
            mi = mn
        }
        o[z, h, m, :] = (acc * (1.0 / li)[:, None]).to(bf16)
    }
}
"""


def signature(tilec, path, config):
    """The schedule's roles, dot plans and pipelines, with value numbers and source
    positions left out."""
    p = subprocess.run([tilec, "build", path, "--config", config, "--emit=schedule"],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return None, p.stderr
    keep = [l for l in p.stdout.splitlines()
            if re.match(r"  (roles|pipelined|dot \d)|    (a|b):|  threads|  shared memory", l)]
    norm = [re.sub(r"\(load \w+\)", "(load)", re.sub(r"@\d+:\d+", "", re.sub(r"%\d+", "%", l)))
            for l in keep]
    return norm, p.stdout


def ptxas_report(tilec, ptxas, path, config, tmp):
    ptx = os.path.join(tmp, "k.ptx")
    p = subprocess.run([tilec, "build", path, "--config", config, "--emit=ptx", "-o", ptx],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return p.stderr
    p = subprocess.run([ptxas, "-arch=sm_90a", "-v", ptx, "-o", os.path.join(tmp, "k.cubin")],
                       capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    if p.returncode != 0:
        return out
    spills = re.findall(r"(\d+) bytes spill (stores|loads)", out)
    if any(int(n) for n, _ in spills) or re.search(r"\(C75\d\d\)", out):
        return out
    return None


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    tilec = os.path.join(sys.argv[1], "tilec")
    ptxas = shutil.which("ptxas") or ("/usr/local/cuda/bin/ptxas" if os.path.exists("/usr/local/cuda/bin/ptxas") else None)
    if not ptxas:
        print("schedule variants: no ptxas (the CUDA toolkit's assembler is required)")
        return 1
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="tilec-variants-") as tmp:
        files = {}
        for name, text in (("softcap", SOFTCAP), ("bias", BIAS), ("reordered", REORDERED)):
            files[name] = os.path.join(tmp, name + ".tile")
            with open(files[name], "w") as f:
                f.write(text)
        files["gqa"] = os.path.join(ROOT, "examples", "gqa_attention.tile")
        window = os.path.join(ROOT, "examples", "window_attention.tile")
        base = os.path.join(ROOT, "examples", "attention.tile")
        for config in ("D=64,causal=false", "D=64,causal=true", "D=128,causal=false", "D=128,causal=true"):
            want, text = signature(tilec, base, config)
            if not want or not any("roles" in l for l in want):
                print(f"FAIL attention {config}: no warp-specialised schedule\n{text[-2000:]}")
                failed += 1
                continue
            runs = [(name, path, config) for name, path in files.items()]
            if config.endswith("causal=true"):   # the window is causal, with no const for it
                runs.append(("window", window, config.split(",")[0]))
            for name, path, own in runs:
                got, text = signature(tilec, path, own)
                if got != want:
                    diff = "\n".join(f"    - {a}\n    + {b}" for a, b in zip(want, got or []) if a != b)
                    print(f"FAIL {name} {config}: another schedule than attention's\n{diff or text[-2000:]}")
                    failed += 1
                    continue
                bad = ptxas_report(tilec, ptxas, path, own, tmp)
                if bad:
                    print(f"FAIL {name} {config}: spills, a C75xx note or a build error\n{bad[-2000:]}")
                    failed += 1
                    continue
                passed += 1
    print(f"schedule variants: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
