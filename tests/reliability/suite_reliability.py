"""Reliability regressions for tests/run: one case per reproducer of a fault found in
review (data loss, crashes, hangs, silent wrong answers, unclear messages).

Each module `cases_*.py` beside this file lists its cases with the `case` decorator:

    @case("data_loss/build_onto_source", xfail=True)
    def _(t):                     # t: a Tool (paths, a temp folder, run helpers)
        ...
        return ok, detail         # or raise Fail("why")

A case marked `xfail=True` is a known fault whose fix has not landed: it counts as passed
while it fails, and as failed ("fixed: drop xfail") once it passes, so the marker goes in
the same commit as the fix.
"""
import glob
import importlib.util
import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CASES = []


class Fail(Exception):
    pass


def case(name, xfail=False, timeout=60):
    def register(fn):
        CASES.append((name, fn, xfail, timeout))
        return fn
    return register


def sanitizer_report(text):
    return "Sanitizer" in text or "runtime error:" in text


class Tool:
    """What a case needs: the build, a private temp folder, and a runner that never hangs."""

    def __init__(self, build, tmp, timeout):
        self.build = build
        self.tilec = os.path.join(build, "tilec")
        self.root = ROOT
        self.examples = os.path.join(ROOT, "examples")
        self.tmp = tmp
        self.timeout = timeout

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, text, mode="w"):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, mode) as f:
            f.write(text)
        return p

    def copy_example(self, name):
        return shutil.copy(os.path.join(self.examples, name), self.path(name))

    def run(self, args, timeout=None, env=None, stdin=None, cwd=None, preexec_fn=None):
        """Runs a command; returns (rc, stdout+stderr) and raises Fail on a hang."""
        e = dict(os.environ)
        if env:
            e.update(env)
        try:
            p = subprocess.run(args, capture_output=True, timeout=timeout or self.timeout,
                               env=e, input=stdin, cwd=cwd or self.tmp, preexec_fn=preexec_fn)
        except subprocess.TimeoutExpired:
            raise Fail(f"timed out (a hang): {' '.join(map(str, args))[:300]}")
        out = (p.stdout + p.stderr).decode("utf-8", "surrogateescape")
        if sanitizer_report(out):
            raise Fail(f"sanitizer report:\n{out[-3000:]}")
        return p.returncode, out

    def tilec_run(self, *args, **kw):
        return self.run([self.tilec] + [str(a) for a in args], **kw)

    def expect(self, args, status, needle="", **kw):
        """tilec ARGS exits with `status` and prints `needle`."""
        rc, out = self.tilec_run(*args, **kw)
        ok = rc == status and needle in out
        return ok, f"exit {rc} (expected {status}); wanted {needle!r} in:\n{out[-3000:]}"


def find_ptxas():
    """CUDA's ptxas on PATH, else the toolkit's; None when neither (cases then check less)."""
    found = shutil.which("ptxas")
    if found:
        return found
    fallback = "/usr/local/cuda/bin/ptxas"
    return fallback if os.path.exists(fallback) else None


def load_cases():
    if CASES:
        return CASES
    for path in sorted(glob.glob(os.path.join(HERE, "cases_*.py"))):
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    return CASES


def suite_reliability(r):
    """r: the tests/run Runner."""
    for name, fn, xfail, timeout in load_cases():
        full = f"reliability/{name}"
        if not r.selected(full):
            continue
        tmp = tempfile.mkdtemp(prefix="tilec-rel-")
        try:
            try:
                res = fn(Tool(r.build, tmp, timeout))
                ok, detail = res if isinstance(res, tuple) else (bool(res), "")
            except Fail as e:
                ok, detail = False, str(e)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if xfail:
            r.record_xfail(full, ok, detail)
        else:
            r.record(full, ok, detail)
