"""check_package.py — the Python package (python/, docs/python.md) without a GPU: builds and
installs it into a fresh venv, then runs package_tests.py there against every example's
bundle, with the stub libcuda.so.1 (tests/runtime/stub_cuda.c, compiled here) as the driver.
usage: check_package.py BUILD_DIR   (run by tests/run under the project's .venv)"""
import glob
import os
import re
import site
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def same_sources():
    """python/meson.build builds libtile from the sources runtime/meson.build lists."""
    def sources(path):
        return set(re.findall(r"'(\w+\.c)'", open(os.path.join(ROOT, path)).read()))
    missing = sources("runtime/meson.build") - sources("python/meson.build")
    if missing:
        print("FAIL python/meson.build lacks libtile's sources " + ", ".join(sorted(missing)))
    return not missing


def main():
    build = os.path.abspath(sys.argv[1])
    if not same_sources():
        return 1
    with tempfile.TemporaryDirectory(prefix="tilec-py-") as tmp:
        venv = os.path.join(tmp, "venv")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        py = os.path.join(venv, "bin", "python")
        # the project venv's packages (meson-python, and torch when installed) seen through
        # a .pth, so the install runs offline and torch is not copied per run
        sp = subprocess.run([py, "-c", "import site; print(site.getsitepackages()[0])"],
                            capture_output=True, text=True, check=True).stdout.strip()
        with open(os.path.join(sp, "project_venv.pth"), "w") as f:
            f.write("\n".join(site.getsitepackages()) + "\n")
        p = subprocess.run([py, "-m", "pip", "install", "-q", "--no-build-isolation",
                            "--no-deps", os.path.join(ROOT, "python")],
                           capture_output=True, text=True)
        if p.returncode != 0:
            print("FAIL pip install ./python\n" + p.stdout[-3000:] + p.stderr[-3000:])
            return 1
        bundles = os.path.join(tmp, "bundles")
        os.makedirs(bundles)
        for src in sorted(glob.glob(os.path.join(ROOT, "examples", "*.tile"))):
            name = os.path.splitext(os.path.basename(src))[0]
            subprocess.run([os.path.join(build, "tilec"), "build", src, "-o",
                            os.path.join(bundles, name + ".tbn"), "--target", "sm_89",
                            "--no-tuned"], check=True,
                           capture_output=True)
        where = subprocess.run([py, "-c", "import tilec; print(tilec.__file__)"], cwd=tmp,
                               capture_output=True, text=True).stdout
        if not where.startswith(venv):
            print(f"FAIL the package is not installed in the fresh venv: {where or 'not found'}")
            return 1
        # the stub driver compiled here without sanitizers: the build's (ASan in build-asan)
        # cannot load into an uninstrumented python
        stub = os.path.join(tmp, "stub")
        os.makedirs(stub)
        subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-shared", "-fPIC", "-O1",
                        "-I/usr/local/cuda/include", "-I" + os.path.join(ROOT, "tests", "runtime"),
                        os.path.join(ROOT, "tests", "runtime", "stub_cuda.c"), "-o",
                        os.path.join(stub, "libcuda.so.1"), "-lpthread"], check=True)
        env = dict(os.environ, LD_LIBRARY_PATH=stub,
                   TILEC=os.path.join(build, "tilec"), TILEC_CACHE_DIR=os.path.join(tmp, "cache"),
                   PYTHONNOUSERSITE="1")
        p = subprocess.run([py, os.path.join(ROOT, "tests", "python", "package_tests.py"),
                            bundles, ROOT], env=env, cwd=tmp)
        return p.returncode


if __name__ == "__main__":
    sys.exit(main())
