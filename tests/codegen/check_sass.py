#!/usr/bin/env python3
"""check_sass.py BUILD_DIR — the tensor-core instructions the shipped configs really run.

Every example kernel with dots, at its default config (D=64 and 128, const values both
ways), compiled for sm_90a: `tilec build --emit=ptx`, `ptxas -arch=sm_90a`, `cuobjdump
-sass`. The SASS of a bf16/f16 dot kernel must hold HGMMA and no HMMA; of an i8 one IMMA; of an fp8 one QGMMA and
neither HMMA nor fp8-to-f16 unpacking F2FP (fp8 emulated through f16; F2FP that packs f32
into bf16 or e4m3, as attention's P, is fine). Prints the counts per kernel.
cuobjdump and nvdisasm come from PyPI (nvidia-cuda-cuobjdump, nvidia-cuda-nvdisasm) in the
test venv: the local CUDA toolkit has neither. Exit 1 on a wrong instruction mix."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def find_tools():
    bins = glob.glob(os.path.join(ROOT, ".venv", "lib", "python3*", "site-packages", "nvidia",
                                  "cu*", "bin"))
    path = os.pathsep.join(bins + [os.environ.get("PATH", ""), "/usr/local/cuda/bin"])
    return shutil.which("cuobjdump", path=path), shutil.which("ptxas", path=path), path


def kernels(path):
    text = open(path).read()
    for m in re.finditer(r"^kernel (\w+)\(([^)]*(?:\)[^{]*)?)\{", text, re.M):
        consts = re.findall(r"(\w+):\s*const\s+bool", m.group(2))
        full = re.search(r"\bD\]", m.group(2)) is not None
        yield m.group(1), consts, full


def configs(consts, full):
    out = [""]
    if full:
        out = [f"D={d}" for d in (64, 128)]
    for c in consts:
        out = [",".join(filter(None, (o, f"{c}={v}"))) for o in out for v in ("false", "true")]
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    tilec = os.path.join(sys.argv[1], "tilec")
    cuobjdump, ptxas, path = find_tools()
    if not cuobjdump or not ptxas:
        print("check_sass: cuobjdump (pip nvidia-cuda-cuobjdump) or ptxas missing")
        return 1
    env = dict(os.environ, PATH=path)
    failed = checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for src in sorted(glob.glob(os.path.join(ROOT, "examples", "*.tile"))):
            for kernel, consts, full in kernels(src):
                for cfg in configs(consts, full):
                    ptx, cubin = os.path.join(tmp, "k.ptx"), os.path.join(tmp, "k.cubin")
                    args = [tilec, "build", src, "--kernel", kernel, "--emit=ptx", "-o", ptx]
                    if cfg:
                        args += ["--config", cfg]
                    r = subprocess.run(args, capture_output=True, text=True)
                    if r.returncode != 0:
                        print(f"FAIL {kernel}[{cfg}]: {r.stderr.strip()}")
                        failed += 1
                        continue
                    if "wgmma" not in open(ptx).read() and "mma.sync" not in open(ptx).read():
                        continue   # no dots
                    subprocess.run([ptxas, "-arch=sm_90a", ptx, "-o", cubin], check=True, env=env)
                    sass = subprocess.run([cuobjdump, "-sass", cubin], capture_output=True,
                                          text=True, env=env, check=True).stdout
                    count = {op: len(re.findall(rf"\b{op}\b", sass)) for op in ("HGMMA", "QGMMA", "HMMA", "IMMA")}
                    count["F2FP unpack"] = len(re.findall(r"\bF2FP\.F16\.E[45]M[23]\.UNPACK", sass))
                    fp8 = kernel.startswith("fp8") or "f8e4m3" in open(src).read().split(f"kernel {kernel}(")[1].split("{")[0]
                    # i8 dots run on mma.sync s8 on sm_90a too (docs/language.md, Targets)
                    int8 = "i8[" in open(src).read().split(f"kernel {kernel}(")[1].split("{")[0]
                    want = "QGMMA" if fp8 else "IMMA" if int8 else "HGMMA"
                    bad = count[want] == 0 or count["HMMA"] or (fp8 and count["F2FP unpack"])
                    checked += 1
                    failed += bool(bad)
                    print(f"{'FAIL' if bad else 'ok  '} {kernel}[{cfg or 'default'}]: " +
                          ", ".join(f"{k} {v}" for k, v in count.items()))
    print(f"check_sass: {checked - failed} ok, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
