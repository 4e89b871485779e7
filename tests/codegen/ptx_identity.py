#!/usr/bin/env python3
"""ptx_identity.py BUILD_DIR [--ref COMMIT | --ref-tilec PATH] [--scratch DIR] [-k TEXT] [-j N] [-v]

Shows that a change left code generation alone: every job of the CI PTX check (the list
check_examples_ptx.py builds: each example and regression kernel at its default config and
the corners of its space, sm_89 too for fp8 dots) is compiled with BUILD_DIR/tilec and with
a reference tilec, and the two `tilec build --emit=ptx` outputs are compared byte for byte
(a variant the schedule refuses must be refused alike: same exit status, same message).
The job lists the two binaries give are compared too.

The reference is --ref-tilec PATH, or tilec built at --ref COMMIT in a git worktree under
--scratch DIR (default build-ref-COMMIT in the repository, ignored by git and reused once
built; the first build takes a few minutes). COMMIT defaults to where this branch left main
(`git merge-base HEAD main`): the code generation the branch started from. Prints each
difference and `ptx_identity: N jobs, N PTX compared, N refused alike, N differ`; exits 0
only when nothing differs. A development tool, not a CI suite: CI has no reference build."""
import argparse
import concurrent.futures
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import check_examples_ptx  # noqa: E402  (the job list lives there, once)


def default_reference():
    """The commit where HEAD left main, abbreviated (it names the scratch folder)."""
    base = subprocess.run(["git", "-C", ROOT, "merge-base", "HEAD", "main"],
                          capture_output=True, text=True)
    if base.returncode != 0:
        sys.exit("ptx_identity: no merge base of HEAD and main here; give --ref COMMIT")
    return base.stdout.strip()[:12]


def build_reference(commit, scratch):
    """tilec at `commit`, built in scratch/src (a detached worktree) into scratch/build."""
    src = os.path.join(scratch, "src")
    build = os.path.join(scratch, "build")
    tilec = os.path.join(build, "tilec")
    want = subprocess.run(["git", "-C", ROOT, "rev-parse", "--verify", commit + "^{commit}"],
                          capture_output=True, text=True)
    if want.returncode != 0:
        sys.exit(f"ptx_identity: no commit '{commit}' in this repository")
    if not os.path.isdir(src):
        os.makedirs(scratch, exist_ok=True)
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", src, commit], check=True)
    have = subprocess.run(["git", "-C", src, "rev-parse", "HEAD"], capture_output=True, text=True)
    if have.stdout.strip() != want.stdout.strip():
        sys.exit(f"ptx_identity: {src} holds {have.stdout.strip()[:12]}, not {commit}: "
                 "remove it (git worktree remove) or give another --scratch")
    if not os.path.isdir(build):
        subprocess.run(["meson", "setup", build, "--native-file", "meson-native.ini"], cwd=src,
                       check=True, stdout=subprocess.DEVNULL)
    print(f"ptx_identity: building the reference tilec at {commit} in {build}", flush=True)
    subprocess.run(["ninja", "-C", build, "tilec"], check=True, stdout=subprocess.DEVNULL)
    return tilec


def compile_both(new, ref, args):
    a = subprocess.run([new] + args, capture_output=True)
    b = subprocess.run([ref] + args, capture_output=True)
    return args, a, b


def describe(args, a, b):
    cmd = "tilec " + " ".join(args)
    if a.returncode != b.returncode:
        return f"{cmd}: exit {a.returncode}, reference {b.returncode}"
    if a.stdout != b.stdout:
        for n, (x, y) in enumerate(zip(a.stdout.split(b"\n"), b.stdout.split(b"\n")), 1):
            if x != y:
                return f"{cmd}: PTX differs from line {n}: {x[:100]!r} vs {y[:100]!r}"
        return f"{cmd}: PTX differs in length ({len(a.stdout)} vs {len(b.stdout)} bytes)"
    return f"{cmd}: stderr differs: {a.stderr[-200:]!r} vs {b.stderr[-200:]!r}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", help="the build directory whose tilec is checked")
    ap.add_argument("--ref", help="the reference commit (default: git merge-base HEAD main)")
    ap.add_argument("--ref-tilec", help="a reference tilec already built (skips --ref)")
    ap.add_argument("--scratch", help="where to build the reference (default build-ref-COMMIT)")
    ap.add_argument("-k", metavar="TEXT", help="only the jobs whose kernel name contains TEXT")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2, help="compiles at once")
    ap.add_argument("-v", action="store_true", help="list every job compared")
    opts = ap.parse_args()
    new = os.path.abspath(os.path.join(opts.build, "tilec"))
    if not os.path.exists(new):
        sys.exit(f"ptx_identity: no tilec in {opts.build}")
    if not opts.ref_tilec:
        opts.ref = opts.ref or default_reference()
    ref = opts.ref_tilec or build_reference(
        opts.ref, os.path.abspath(opts.scratch or os.path.join(ROOT, "build-ref-" + opts.ref)))

    def listed(tilec):
        return [check_examples_ptx.build_args(path, kernel, cfg, target)
                for path, kernel, cfg, _, _, _, target in check_examples_ptx.all_jobs(tilec)
                if not opts.k or opts.k in kernel]

    jobs = listed(new)
    differ = []
    ref_jobs = listed(ref)
    if ref_jobs != jobs:
        only_new = [j for j in jobs if j not in ref_jobs]
        only_ref = [j for j in ref_jobs if j not in jobs]
        differ.append(f"the job lists differ: {len(only_new)} only here, {len(only_ref)} only in "
                      f"the reference (first: {(only_new or only_ref)[0] if only_new or only_ref else 'order'})")
    compared = refused = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(opts.j, 1)) as pool:
        for args, a, b in pool.map(lambda j: compile_both(new, ref, j), jobs):
            same = a.returncode == b.returncode and a.stdout == b.stdout and a.stderr == b.stderr
            if not same:
                differ.append(describe(args, a, b))
            elif a.returncode == 0:
                compared += 1
            else:
                refused += 1
            if opts.v:
                print(f"{'same' if same else 'DIFF'} tilec {' '.join(args)}")
    for d in differ:
        print("differs: " + d)
    print(f"ptx_identity: {len(jobs)} jobs, {compared} PTX compared, {refused} refused alike, "
          f"{len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
