#!/usr/bin/env python3
"""check_readme.py BUILD_DIR [--gpu] — every `tilec ...` command line of README.md's code
blocks runs as written (`\\` continuations joined), in order, through bash in a temp folder
holding a copy of examples/, with BUILD_DIR's tilec first on PATH (what set-up installs).

A GPU command (`run` without --interpret, `bench`, `tune` without --space, or a line ending
in `# GPU`) must exit 1 with the no-GPU message on a machine without a CUDA driver; where a
driver loads it is skipped, or with --gpu must succeed. Every other command must exit 0.
Prints one line per command and `N passed, N failed`; exits 1 on any failure.
"""
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NO_GPU = "libcuda.so.1 not found"


def code_lines(text):
    """The lines of the Markdown's code blocks: fenced (```) and indented (4 spaces after a
    blank line, or after another such line)."""
    lines, fenced, indented, prev_blank = [], False, False, True
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            lines.append(line)
            continue
        indented = line.startswith("    ") and (indented or prev_blank)
        if indented:
            lines.append(line[4:])
        prev_blank = not line.strip()
    return lines


def commands(text):
    """The command lines that start with `tilec `, continuations joined."""
    out, joined = [], None
    for line in code_lines(text):
        if joined is not None:
            joined += " " + line.strip()
        elif line.startswith("tilec "):
            joined = line.strip()
        else:
            continue
        if joined.endswith("\\"):
            joined = joined[:-1].rstrip()
            continue
        out.append(joined)
        joined = None
    return out


def needs_gpu(command):
    if command.rstrip().endswith("# GPU"):
        return True
    words = shlex.split(command, comments=True)
    sub = words[1] if len(words) > 1 else ""
    return sub == "bench" or (sub == "run" and "--interpret" not in words) or \
        (sub == "tune" and "--space" not in words)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    build = os.path.abspath(sys.argv[1])
    gpu = "--gpu" in sys.argv[2:]
    commands_found = commands(open(os.path.join(ROOT, "README.md"), encoding="utf-8").read())
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="tilec-readme-") as tmp:
        work = os.path.join(tmp, "work")
        shutil.copytree(os.path.join(ROOT, "examples"), os.path.join(work, "examples"))
        bindir = os.path.join(tmp, "bin")
        os.mkdir(bindir)
        os.symlink(os.path.join(build, "tilec"), os.path.join(bindir, "tilec"))
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
                   TILEC_CACHE_DIR=os.path.join(tmp, "cache"))
        probe = subprocess.run([os.path.join(build, "tilec"), "run", "examples/gemm.tile",
                                "--shape", "M=8,N=8,K=8"], cwd=work, env=env, capture_output=True)
        driver = NO_GPU not in (probe.stdout + probe.stderr).decode("utf-8", "replace")
        if not commands_found:
            print("FAIL README.md has no `tilec ...` command lines")
            failed += 1
        for command in commands_found:
            gpu_command = needs_gpu(command)
            if gpu_command and driver and not gpu:
                print(f"skip {command}  (a CUDA driver loads here; --gpu runs it)")
                continue
            try:
                p = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True,
                                   timeout=600 if gpu and gpu_command else 120)
                rc, out = p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")
            except subprocess.TimeoutExpired:
                rc, out = None, "timed out (a hang)"
            if gpu_command and not gpu:
                ok, want = rc == 1 and NO_GPU in out, f"exit 1 with '{NO_GPU}'"
            else:
                ok, want = rc == 0, "exit 0"
            if "Sanitizer" in out or "runtime error:" in out:
                ok = False
            if ok:
                passed += 1
                print(f"ok   {command}")
            else:
                failed += 1
                print(f"FAIL {command}: exit {rc}, expected {want}")
                for line in out.rstrip().split("\n")[-8:]:
                    print(f"    {line}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
