#!/usr/bin/env python3
"""differential.py BUILD_DIR [--count N] [--seed N] [--first I] [--jobs N] [--out DIR]
                  [--no-gpu] [--tilec PATH] [--deadline SECONDS]

Differential test of the GPU against the interpreter: generates programs with the typed
random-program generator of tests/codegen/random_kernels.py (its differential mode: no
value the GPU computes in another order or approximately feeds a comparison, a condition
or a conversion to an integer), and runs each one as

    tilec run k.tile --check --arith=gpu --target T --config ... --shape ... --set ...

which launches it on the GPU and on the interpreter following the GPU's arithmetic, from
the same inputs (some passed as Fortran-order .npy: strided views), and compares every
output: bit for bit when it depends on no float sum, dot, float atomic_add or
ex2/lg2/rsqrt, else within its dtype's --check tolerance (docs/run.md).

Each program ends as passed, mismatched (an output differs: a compiler or interpreter bug,
or a tolerance too tight), discarded (a diagnostic the program or config earns: a config
value refused, a size codegen declines, fp8 on sm_80; counted by reason) or failed (a
crash, a sanitizer report, a hang, a stray store, a GPU fault, a mask-checker error).
Prints the seed and index of each, with the command that reproduces it; --out keeps the
files of every program that did not pass. On a machine without a GPU the first run says
`no GPU` and the script stops (exit 1); --no-gpu runs the same programs through the
interpreter alone (`--interpret --arith=gpu`): the generation and bookkeeping, for CI.
--deadline stops taking programs after that many seconds and reports the ones done (the
summary names the last index, so a later run goes on with --first).
Exit 0 when nothing mismatched or failed.
"""
import argparse
import collections
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "codegen"))
import random_kernels as rk  # noqa: E402  (the generator: one for every test that generates)

# Errors of the driver (gpu_run.c's driver_failure: "<doing>: <message>") and of a
# launched kernel (its guard bands): never a discard.
AFTER_COMPILE = re.compile(r"error: (?:stray store|(?:allocating|creating|downloading|flushing|launching|"
                           r"loading|opening|raising|reading|recording|resetting|running|timing|"
                           r"uploading) [^:]*:)")
CHECK_LINE = re.compile(r"^check (\w+): .*\[(bit-exact|[^\]]*)\]: (ok|FAIL)(.*)$", re.M)


def run_command(case, tilec, gpu, npys):
    argv = [tilec, "run", "k.tile", "--kernel", case.kernel, "--arith=gpu", "--seed", str(case.seed)]
    argv += ["--check", "--target", case.target] if gpu else ["--interpret"]
    if case.shapes:
        argv += ["--shape", ",".join(f"{s}={v}" for s, v in case.shapes.items())]
    if case.run_config:
        argv += ["--config", case.config_text("run")]
    for name, value in case.sets.items():
        argv += ["--set", f"{name}={value}"]
    for name in npys:
        argv += ["--in", f"{name}={name}.npy"]
    return argv


def classify(rc, out, gpu):
    """(status, reason) of one `tilec run --check` (or --interpret) run."""
    if rc is None:
        return "failed", "timeout (a hang)"
    crash = rk.crash_kind(rc, out)
    if crash:
        return "failed", crash
    if "no GPU" in out:
        return "no gpu", out.strip().split("\n")[-1]
    if rc == 0:
        return "passed", ""
    first = re.search(r"error: ([^\n]*)", out)
    msg = rk.normalise(first.group(1))[:160] if first else f"exit {rc}"
    if rc == 2 and re.search(r"is not allowed|a block size must be", out):
        return "discarded", "config value refused"
    if "outside the tensor" in out:
        return "failed", "mask checker: " + msg
    if AFTER_COMPILE.search(out):
        return "failed", msg
    if gpu and "beyond tolerance" in out:
        bad = [m for m in CHECK_LINE.finditer(out) if m.group(3) == "FAIL"]
        kinds = sorted({"bit-exact" if m.group(2) == "bit-exact" else "tolerance" for m in bad})
        return "mismatched", f"{len(bad)} output(s) differ ({', '.join(kinds)})"
    if rc == 1 and first:
        return "discarded", msg   # diagnosed before the launch: check, codegen, device limits
    return "failed", msg


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=min(8, os.cpu_count() or 1))
    ap.add_argument("--out", help="keep the files of every program that did not pass here")
    ap.add_argument("--no-gpu", action="store_true", help="interpreter only (CI without a GPU)")
    ap.add_argument("--tilec")
    ap.add_argument("--deadline", type=float, help="take no new program after this many seconds")
    args = ap.parse_args()
    tilec = os.path.abspath(args.tilec or os.path.join(args.build, "tilec"))
    gpu = not args.no_gpu
    mode = "GPU against the interpreter (--check --arith=gpu)" if gpu else \
        "interpreter only (--interpret --arith=gpu, no GPU comparison)"
    print(f"differential: seed {args.seed}, programs {args.first}..{args.first + args.count - 1}, {mode}")
    sys.stdout.flush()
    counts = collections.Counter()
    reasons = {"discarded": collections.Counter(), "mismatched": collections.Counter(),
               "failed": collections.Counter()}
    outputs = collections.Counter()
    bad = []
    no_gpu = []
    lock = threading.Lock()
    todo = iter(range(args.first, args.first + args.count))
    taken = []
    start = time.time()

    def worker():
        tmp = tempfile.mkdtemp(prefix="tilec-diff-")
        try:
            while True:
                with lock:
                    late = args.deadline is not None and time.time() - start > args.deadline
                    i = None if no_gpu or late else next(todo, None)
                    if i is not None:
                        taken.append(i)
                if i is None:
                    return
                case = rk.generate(args.seed, i, known="avoid", diff=True)
                for old in os.listdir(tmp):
                    os.unlink(os.path.join(tmp, old))
                for name, text in case.files.items():
                    with open(os.path.join(tmp, name), "w") as f:
                        f.write(text)
                npys = rk.random_inputs(case, random.Random(case.seed), 0.5)
                for name, (dtype, shape, vals, fortran) in npys.items():
                    rk.write_npy(os.path.join(tmp, f"{name}.npy"), dtype, shape, vals, fortran)
                argv = run_command(case, tilec, gpu, npys)
                rc, out = rk.run_tool(argv, tmp, 600)
                status, why = classify(rc, out, gpu)
                with lock:
                    if status == "no gpu":
                        no_gpu.append(why)
                        return
                    counts[status] += 1
                    if status != "passed":
                        reasons[status][why] += 1
                    for m in CHECK_LINE.finditer(out):
                        outputs[("bit-exact" if m.group(2) == "bit-exact" else "tolerance", m.group(3))] += 1
                    for m in re.finditer(r"^\w+: .*\(GPU: (bit-exact|within tolerance)", out, re.M):
                        outputs[("bit-exact" if m.group(1) == "bit-exact" else "tolerance", "interpreted")] += 1
                    if status in ("mismatched", "failed"):
                        bad.append((i, status, why, case, argv, out))
                    if status != "passed" and args.out:
                        keep = os.path.join(args.out, f"seed{args.seed}-p{i}-{status}")
                        shutil.copytree(tmp, keep, dirs_exist_ok=True)
                        with open(os.path.join(keep, "command.txt"), "w") as f:
                            f.write(" ".join(shlex.quote(a) for a in argv) + "\n\n" + out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    threads = [threading.Thread(target=worker) for _ in range(max(1, args.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if no_gpu:
        print(f"differential: no GPU: {no_gpu[0]}")
        print("differential: nothing compared (use --no-gpu to run the interpreter side alone)")
        return 1
    for i, status, why, case, argv, out in sorted(bad, key=lambda b: b[0]):
        print(f"{status.upper()} seed {args.seed} program {i}: {why}")
        print(f"  reproduce: tests/gpu/differential.py {args.build} --seed {args.seed} --first {i} --count 1")
        print(f"  $ {' '.join(shlex.quote(a) for a in argv)}")
        for line in out.strip().split("\n")[-12:]:
            print(f"  | {line}")
        for name, text in case.files.items():
            print(f"  --- {name}")
            print("  " + text.rstrip("\n").replace("\n", "\n  "))
    total = sum(counts.values())
    if taken and len(taken) < args.count:
        print(f"differential: deadline reached; programs {args.first}..{max(taken)} taken "
              f"(go on with --first {max(taken) + 1})")
    print(f"differential: seed {args.seed}, {total} programs in {time.time() - start:.0f} s: "
          f"{counts['passed']} passed, {counts['mismatched']} mismatched, "
          f"{counts['discarded']} discarded, {counts['failed']} failed")
    if gpu:
        print(f"  outputs compared: {outputs[('bit-exact', 'ok')]} bit-exact ok, "
              f"{outputs[('bit-exact', 'FAIL')]} bit-exact differ, {outputs[('tolerance', 'ok')]} within "
              f"tolerance, {outputs[('tolerance', 'FAIL')]} beyond tolerance")
    else:
        print(f"  outputs: {outputs[('bit-exact', 'interpreted')]} the GPU must match bit for bit, "
              f"{outputs[('tolerance', 'interpreted')]} within tolerance")
    for status in ("discarded", "mismatched", "failed"):
        for why, n in reasons[status].most_common():
            print(f"  {status:10s} {n:4d}  {why}")
    return 0 if total and not counts["mismatched"] and not counts["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
