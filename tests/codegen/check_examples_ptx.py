#!/usr/bin/env python3
"""check_examples_ptx.py BUILD_DIR — every example kernel compiles to PTX that ptxas accepts.

For each kernel of examples/*.tile and of the codegen regressions in tests/gpu/kernels/ (const
parameters both ways), under the default config and the corners of its space (num_stages 1
and max, num_warps 4 and 8, smallest and largest blocks, align vec16/unit/any, D=64 and D=128
for full axes, tile_groups=2 at num_warps=4): `tilec build --emit=ptx` and `ptxas -arch=TARGET -v`, for sm_90a (wgmma) and
for sm_80 (mma.sync; sm_89 instead for kernels with fp8 dots, where every fp8 dot must be a
native e4m3/e5m2 mma.sync; the default config of kernels with checked indices, data
masks or tile(lo, hi) ranges for sm_80; a kernel with ranges only at its default config per
const value and D; a kernel without dots for sm_89 and, in a file with no fp8 type, sm_80, at
its first variant). Fails on a compile or ptxas error, on an f32 add/sub/mul without
a rounding modifier (ptxas could contract it), on ptxas's wgmma warnings (C7515/C7511
serialisation, C7519 injected waits, C7508 ignored setmaxnreg) in a default config
(elsewhere the variant is listed as slow: the tuner rejects such configs as "serialised"),
on any spill in a default config (D=64), on two tile groups without their turns at the
ring (named barriers of 256 threads), on a dot without its instruction under its source
line (sm_90a: wgmma.mma_async, of e4m3/e5m2 for fp8 dots, mma.sync s8 for i8 dots;
otherwise mma.sync, for fp8 dots e4m3/e5m2 or on sm_90 f16 on fragments widened from fp8),
on a dot line with more scalar FMAs than its mmas could explain, and on a vec16 variant
whose dots load without cp.async or TMA (but for STAGED_OPERANDS). f32 dots (their operands
staged through registers) must be fma.rn.f32 alone when exact and mma.sync m16n8k8 tf32 on
cvt.rna.tf32.f32 operands when tf32, on every target.
A variant the schedule rejects for its size (shared memory, registers of a tile) or that
sm_90a refuses by docs/codegen.md's rules (fewer than 64 rows per warpgroup) is listed as
pruned, not failed. Needs ptxas (CUDA toolkit) on PATH or in
/usr/local/cuda/bin; without it the check is skipped (exit 77)."""
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

from random_kernels import CONTRACTIBLE  # an f32 op ptxas may contract (codegen emits none)
from random_kernels import register_pool_problems  # setmaxnreg asking past the launch pool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WGMMA_REFUSED = re.compile(r"below wgmma's|too large|not a multiple of 4|i8 dots on mma.sync only")
PRUNE = re.compile(r"shared memory per block|is too large|below the mma.sync tile|below wgmma's 64")
WGMMA_WARNINGS = re.compile(r"C75(15|11|19|08)")
# Kernels whose dot operands are all computed or gathered along K (none a block of a tensor
# that cp.async or TMA could copy): int4_gemm dequantises its B and reads every other column
# of x for its A.
STAGED_OPERANDS = {"int4_gemm"}


def kernels_of(path):
    text = open(path).read()
    out = []
    for m in re.finditer(r"^kernel (\w+)\(([^)]*(?:\)[^{]*)?)\{", text, re.M):
        params = m.group(2)
        consts = re.findall(r"(\w+):\s*const\s+bool", params)
        out.append((m.group(1), consts))
    return out


def tunables(tilec, path, kernel):
    ir = subprocess.run([tilec, "build", path, "--kernel", kernel, "--emit=ir"],
                        capture_output=True, text=True, check=True).stdout
    tun = {}
    for m in re.finditer(r"tunable (\w+) in \{([^}]*)\} default (\d+)", ir):
        tun[m.group(1)] = ([int(x) for x in m.group(2).split(",")], int(m.group(3)))
    dots = [int(m.group(1)) for m in re.finditer(r"= dot .*@(\d+):\d+", ir)]
    # the source lines of f32 dots (their operand dtypes after prologues, from the schedule):
    # "f32" exact (FMA), "tf32" (mma.sync m16n8k8)
    sched = subprocess.run([tilec, "build", path, "--kernel", kernel, "--emit=schedule"],
                           capture_output=True, text=True).stdout
    f32_dots = {int(m.group(1)): "tf32" if m.group(2) == "mma.sync tf32" else "f32"
                for m in re.finditer(r"dot \d+: %\d+ @(\d+):\d+, f32 x f32, [^\n]*?\), "
                                     r"(fma|mma\.sync tf32)", sched)}
    dots = [(d, f32_dots.get(d, "tc")) for d in dots]
    fp8 = bool(re.search(r"f8e[45]m[23]\[.*\] .*\n?.*= dot|load \w+\[[^]]*\][^:]*: f8e", ir))
    has_full = "D" in re.findall(r"\[([^]]*)\]", ir.split("\n")[0])[0] if ir else False
    gathers = bool(re.search(r"mask\([^)]*check|\) if %|\] if %", ir))
    ranged = bool(re.search(r"for \w+ in tile\(%\d+, %\d+\)", ir))
    return tun, dots, fp8, has_full, gathers, ranged


def variants(tun, consts, has_full):
    blocks = [n for n in tun if n.startswith("BLOCK_")]
    base = []
    for c in ([{}] if not consts else [{consts[0]: "false"}, {consts[0]: "true"}]):
        for d in ([64, 128] if has_full else [None]):
            v = dict(c)
            if d:
                v["D"] = str(d)
            base.append(v)
    out = []
    for b in base:
        default = b.get("D") in (None, "64")
        out.append((dict(b), default))
        for align in ("unit", "any"):
            out.append((dict(b, align=align), False))
        for name, pick in (("num_stages", min), ("num_stages", max), ("num_warps", min),
                           ("num_warps", max)):
            if name in tun:
                out.append((dict(b, **{name: str(pick(tun[name][0]))}), False))
        if "tile_groups" in tun and 2 in tun["tile_groups"][0] and default:
            v = dict(b, tile_groups="2", num_warps="4")   # one warpgroup per 128x128 tile
            for n in ("BLOCK_M", "BLOCK_N"):
                if n in tun and 128 in tun[n][0]:
                    v[n] = "128"
            out.append((v, False))
        for pick in (min, max):
            v = dict(b)
            for n in blocks:
                v[n] = str(pick(tun[n][0]))
            out.append((v, False))
            out.append((dict(v, align="any"), False))
    return out


def all_jobs(tilec):
    """Every (path, kernel, cfg, default, dots, fp8, target) the check compiles; the
    byte-identity tool (ptx_identity.py) compiles the same list with two binaries."""
    jobs = []
    sources = [os.path.join(ROOT, d, f) for d in ("examples", os.path.join("tests", "gpu", "kernels"))
               for f in sorted(os.listdir(os.path.join(ROOT, d))) if f.endswith(".tile")]
    for path in sources:
        fp8_file = "f8e" in open(path).read()   # sm_80 refuses a file holding an fp8 type
        for kernel, consts in kernels_of(path):
            tun, dots, fp8, has_full, gathers, ranged = tunables(tilec, path, kernel)
            fp8 = fp8 or kernel.startswith("fp8_")
            for i, (cfg, default) in enumerate(variants(tun, consts, has_full)):
                # a kernel with tile(lo, hi) ranges: its default config per const value and
                # D only (its corners are attention's, and the generator's ranges cover the
                # rest: the check's time)
                if ranged and set(cfg) - {"D", *consts}:
                    continue
                jobs.append((path, kernel, cfg, default, dots, fp8, "sm_90a"))
                # the mma.sync back end: native fp8 on sm_89, sm_80 otherwise; index checks
                # and data masks on sm_80 too (their default config: without a dot the two
                # targets' code differs in little else), and a kernel with tile(lo, hi) loops
                # at its default config
                if (dots and not ranged) or ((gathers or ranged) and default):
                    jobs.append((path, kernel, cfg, False, dots, fp8, "sm_89" if fp8 else "sm_80"))
                    if default and not fp8 and any(kind != "tc" for _, kind in dots):
                        jobs.append((path, kernel, cfg, False, dots, fp8, "sm_89"))  # f32 dots
                elif i == 0:   # elementwise code is the same on every target: once on the others
                    for target in ("sm_89",) if fp8_file else ("sm_89", "sm_80"):
                        jobs.append((path, kernel, cfg, False, dots, fp8, target))
    return jobs


def build_args(path, kernel, cfg, target):
    """The `tilec build --emit=ptx` arguments of one job."""
    text = ",".join(f"{k}={v}" for k, v in cfg.items())
    return (["build", path, "--kernel", kernel, "--emit=ptx", "--target", target] +
            (["--config", text] if text else []))


def check_one(tilec, ptxas, path, kernel, cfg, default, dots, fp8, target, tmp):
    text = ",".join(f"{k}={v}" for k, v in cfg.items())
    tag = f"{kernel}[{text or 'default'}]" + ("" if target == "sm_90a" else f"@{target}")
    r = subprocess.run([tilec] + build_args(path, kernel, cfg, target), capture_output=True, text=True)
    if r.returncode != 0:
        if PRUNE.search(r.stderr):
            return ("pruned", tag, r.stderr.strip().splitlines()[-1])
        return ("fail", tag, "tilec: " + r.stderr.strip())
    ptx = r.stdout
    fd, name = tempfile.mkstemp(suffix=".ptx", dir=tmp)
    with os.fdopen(fd, "w") as f:
        f.write(ptx)
    a = subprocess.run([ptxas, f"-arch={target}", "-v", name, "-o", os.devnull],
                       capture_output=True, text=True)
    os.unlink(name)
    if a.returncode != 0:
        return ("fail", tag, "ptxas: " + a.stderr.strip()[:2000])
    info = a.stdout + a.stderr
    regs = re.search(r"Used (\d+) registers", info)
    warned = sorted(set(WGMMA_WARNINGS.findall(info)))
    spill = re.search(r"(\d+) bytes spill stores", info)
    spills = int(spill.group(1)) if spill else 0
    problems = []
    serialised = None
    if warned:
        note = "ptxas warns C75" + ", C75".join(warned) + " (wgmma serialised or waits injected)"
        if default:
            problems.append(note)
        else:   # slow, not wrong: the tuner rejects it as "serialised" and never ships it
            serialised = note
    if default and spills:
        problems.append(f"{spills} bytes of spills in a default config")
    problems += register_pool_problems(ptx, regs)
    # two tile groups (two compute warpgroups of 4 warps and the producer's) take turns
    if cfg.get("tile_groups") == "2" and re.search(r"\.maxntid 384\b", ptx) and not (
            re.search(r"bar\.sync\s+%r\d+, 256;", ptx) and re.search(r"bar\.arrive\s+%r\d+, 256;", ptx)):
        problems.append("two tile groups without their turns at the ring (bar.sync/bar.arrive 256)")
    # instructions per source line (.loc FILE LINE COL)
    per_line = {}
    line = None
    for ins in ptx.splitlines():
        s = ins.strip()
        if s.startswith(".loc"):
            line = int(s.split()[2])
            continue
        if line is not None and s and not s.startswith("//"):
            per_line.setdefault(line, []).append(s)
    wgmma = target == "sm_90a" and cfg.get("dot") != "mma_sync"
    tensor_dots = [d for d, kind in dots if kind == "tc"]
    if wgmma and tensor_dots and "dot" not in cfg and "wgmma.mma_async" not in ptx:
        # dot=auto takes mma.sync only where wgmma refuses the config: ask for wgmma
        forced = dict(cfg, dot="wgmma")
        w = subprocess.run([tilec] + build_args(path, kernel, forced, target), capture_output=True,
                           text=True)
        if w.returncode == 0 or not WGMMA_REFUSED.search(w.stderr):
            problems.append("dot=auto chose mma.sync where dot=wgmma builds")
        wgmma = False
    for d, kind in sorted(set(dots)):
        body = per_line.get(d, [])
        if kind == "f32":    # exact f32: FMAs from shared memory, no tensor core
            if not any(s.startswith("fma.rn.f32") for s in body) or \
                    any(s.startswith(("mma.sync", "wgmma")) for s in body):
                problems.append(f"the exact f32 dot on line {d} is not fma.rn.f32 alone")
            continue
        if kind == "tf32":   # mma.sync m16n8k8 tf32 on every target, operands by cvt.rna
            if not any(s.startswith("mma.sync") and ".tf32" in s for s in body) or \
                    not any(s.startswith("cvt.rna.tf32.f32") for s in body):
                problems.append(f"the tf32 dot on line {d} has no tf32 mma.sync on cvt.rna operands")
            continue
        if wgmma:
            ops = [s for s in body if s.startswith("wgmma.mma_async")]
            if not ops:
                problems.append(f"the dot on line {d} has no wgmma.mma_async")
            elif fp8 and not all(".e4m3" in s or ".e5m2" in s for s in ops):
                problems.append(f"the fp8 dot on line {d} has wgmmas that are not e4m3/e5m2")
            fma = [s for s in body if s.startswith("fma.rn.f32")]
            if len(fma) > 64 * max(len(ops), 1):
                problems.append(f"line {d} has {len(fma)} scalar FMAs for {len(ops)} wgmmas")
            continue
        mma = [s for s in body if s.startswith("mma.sync")]
        native = [s for s in mma if "e4m3" in s or "e5m2" in s]
        s8 = [s for s in mma if ".s32.s8.s8.s32" in s]
        if not mma:
            problems.append(f"the dot on line {d} has no mma.sync")
        elif s8 and len(s8) != len(mma):   # an i8 dot: every mma the int8 one
            problems.append(f"the i8 dot on line {d} has {len(mma) - len(s8)} mmas that are not s8")
        elif fp8 and target == "sm_89" and len(native) != len(mma):
            problems.append(f"the fp8 dot on line {d} has {len(mma) - len(native)} mmas that are "
                            "not e4m3/e5m2 on sm_89")
        elif fp8 and not any("e4m3" in s or "e5m2" in s for s in mma) and not (
                all(".f16.f16" in s for s in mma)
                and any(s.startswith(("cvt.rn.f16x2.e4m3x2", "cvt.rn.f16x2.e5m2x2")) for s in body)):
            # on sm_90 the fp8 fragments are widened to f16 once per k-step (codegen.md)
            problems.append(f"the fp8 dot on line {d} is neither an e4m3/e5m2 mma nor f16 mmas "
                            "on fragments widened from fp8")
        fma = [s for s in body if s.startswith("fma.rn.f32")]
        if len(fma) > 4 * max(len(mma), 1):
            problems.append(f"line {d} has {len(fma)} scalar FMAs for {len(mma)} mmas")
    loose = CONTRACTIBLE.search(ptx)
    if loose:
        problems.append(f"'{loose.group(0).strip()}' has no rounding modifier: ptxas may fuse it into "
                        "an fma that the interpreter's --arith=gpu does not make")
    if tensor_dots and cfg.get("align", "vec16") == "vec16" and "cp.async.cg" not in ptx and \
            "cp.async.bulk.tensor" not in ptx and kernel not in STAGED_OPERANDS:
        problems.append("a vec16 variant with dots has neither cp.async nor TMA copies")
    status = "fail" if problems else "slow" if serialised else "ok"
    detail = "; ".join(problems) or serialised or \
        f"{regs.group(1) if regs else '?'} registers, {spills} B spills"
    return (status, tag, detail)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    tilec = os.path.join(sys.argv[1], "tilec")
    ptxas = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
    if not os.path.exists(ptxas):
        print("check_examples_ptx: ptxas not found, skipped")
        return 77
    jobs = all_jobs(tilec)
    results = []
    with tempfile.TemporaryDirectory() as tmp, \
            concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() * 2 or 4) as pool:
        futures = [pool.submit(check_one, tilec, ptxas, *j, tmp) for j in jobs]
        for fu in futures:
            results.append(fu.result())
    failed = [r for r in results if r[0] == "fail"]
    pruned = [r for r in results if r[0] == "pruned"]
    slow = [r for r in results if r[0] == "slow"]
    for status, tag, detail in results:
        if status != "ok" or "-v" in sys.argv:
            print(f"{status:6} {tag}: {detail}")
    for status, tag, detail in results:
        if status == "ok" and "[" in tag and (re.search(r"\[default\](@\w+)?$", tag) or
                                              re.search(r"\[(causal=\w+,)?D=\d+\](@\w+)?$", tag)):
            print(f"ok     {tag}: {detail}")
    print(f"check_examples_ptx: {len(results) - len(failed) - len(pruned) - len(slow)} ok, "
          f"{len(slow)} slow, {len(pruned)} pruned, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
