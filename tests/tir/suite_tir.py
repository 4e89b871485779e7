"""TIR suites for tests/run (or standalone: python3 tests/tir/suite_tir.py BUILD_DIR).

- golden/passes/NAME.in.ir -> NAME.out.ir: `tir_tool STAGE` where STAGE is NAME up to
  its first '_' (simplify, masks, fuse, pipeline).
- golden/ir/*.ir and golden/passes/*.ir print back unchanged (`tir_tool roundtrip`).
- golden/tir_errors/NAME.ir is rejected (exit 1) with exactly NAME.err on stderr.
"""
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(os.path.dirname(HERE), "golden")


def _run(tool, stage, path):
    p = subprocess.run([tool, stage, os.path.basename(path)], cwd=os.path.dirname(path),
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "surrogateescape"), p.stderr.decode("utf-8", "surrogateescape")


def suite_tir(r, tool):
    """r: the tests/run Runner (selected, record, compare)."""
    for path in sorted(glob.glob(os.path.join(GOLDEN, "passes", "*.in.ir"))):
        name = "passes/" + os.path.basename(path)[:-6]
        if not r.selected(name):
            continue
        stage = os.path.basename(path).split("_")[0]
        rc, out, err = _run(tool, stage, path)
        if rc != 0 or "Sanitizer" in err or "runtime error:" in err:
            r.record(name, False, f"exit {rc}\n{err}")
            continue
        r.compare(name, out, path[:-6] + ".out.ir")
    for path in sorted(glob.glob(os.path.join(GOLDEN, "ir", "*.ir")) +
                       glob.glob(os.path.join(GOLDEN, "passes", "*.out.ir"))):
        name = "roundtrip/" + os.path.relpath(path, GOLDEN)
        if not r.selected(name):
            continue
        rc, out, err = _run(tool, "roundtrip", path)
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            want = f.read()
        r.record(name, rc == 0 and out == want, f"exit {rc}\n{err}" if rc else "printed text differs")
    for path in sorted(glob.glob(os.path.join(GOLDEN, "tir_errors", "*.ir"))):
        name = "tir_errors/" + os.path.basename(path)
        if not r.selected(name):
            continue
        rc, out, err = _run(tool, "verify", path)
        if rc != 1 or "Sanitizer" in err or "runtime error:" in err:
            r.record(name, False, f"exit {rc}, expected 1\n{err}")
            continue
        r.compare(name, err, path[:-3] + ".err")


if __name__ == "__main__":
    class MiniRunner:
        passed = failed = 0
        def selected(self, name): return True
        def record(self, name, ok, detail=""):
            if ok:
                self.passed += 1
            else:
                self.failed += 1
                print(f"FAIL {name}\n    " + detail.replace("\n", "\n    "))
        def compare(self, name, actual, expected_path):
            with open(expected_path, encoding="utf-8", errors="surrogateescape") as f:
                self.record(name, f.read() == actual, "output differs from " + expected_path)
    mr = MiniRunner()
    suite_tir(mr, os.path.abspath(sys.argv[1]))
    print(f"{mr.passed} passed, {mr.failed} failed")
    sys.exit(1 if mr.failed else 0)
