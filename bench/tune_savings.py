#!/usr/bin/env python3
"""What each pruning rule and the parallel compile save in `tilec tune`, on the device.

usage: bench/tune_savings.py TILEC OUT_DIR [--synthetic] [--run-timeout S] [--total S]

gemm 4096^3 over a narrowed space (SPACE below: 200 points, 146 survive; every rule that
can fire at this shape removes points of its own), tuned exhaustively, each run with a
fresh TILEC_CACHE_DIR:
  warm-up     every rule on, not counted (the first tune pays for the machine's warm-up)
  all-rules   every rule on, the default compile jobs (one per CPU)
  off-RULE    one rule turned off (--prune-off RULE); skipped for a rule with no points
              of its own, whose points a later rule removes anyway (at 4096^3
              oversized-block and duplicate remove nothing)
  jobs-1      every rule on, --jobs 1: each candidate compiled just before it is timed
Per run: wall time, candidates measured, candidates/s, how they ended (ok, spills,
failed), the default's and the winner's time. A run past its timeout gets SIGINT (tilec
then prints what it measured and exits 130), 20 s later SIGKILL; runs that would start
after --total seconds are skipped. Writes OUT_DIR/tune_savings.json (after every run) and
each run's output to OUT_DIR/NAME.log (its cache: OUT_DIR/caches/NAME, emptied first),
and prints a table.

--synthetic times candidates with tilec's made-up backend (TILEC_TUNE_SYNTHETIC=1): no GPU,
for checking this script. Only the tilec binary is needed (no torch).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL = ["examples/gemm.tile", "--kernel", "gemm", "--shape", "M=4096,N=4096,K=4096"]
SPACE = ["--space-set", "BLOCK_K=64,128", "--space-set", "group_m=8",
         "--space-set", "num_stages=3,4"]
RULES = ["oversized-block", "duplicate", "warps", "shared-memory", "registers"]
FAILED = ["compile-failed", "crashed", "timeout", "wrong-output", "bench-failed"]


def tune_args(tilec, extra):
    return [tilec, "tune", os.path.join(ROOT, KERNEL[0])] + KERNEL[1:] + SPACE + extra


def space_counts(tilec, prune_off=None):
    """`tilec tune --space`: points, survivors and what each rule removed (no GPU)."""
    extra = ["--prune-off", prune_off] if prune_off else []
    p = subprocess.run(tune_args(tilec, extra + ["--space"]), capture_output=True, text=True,
                       check=True)
    counts = {"pruned": {}}
    for line in p.stdout.splitlines():
        m = re.match(r"\s+(\S+)\s+(\d+|off)\s{3}", line)
        if m and m.group(1) in RULES:
            counts["pruned"][m.group(1)] = m.group(2) if m.group(2) == "off" else int(m.group(2))
        m = re.match(r"survivors: (\d+) of (\d+)", line)
        if m:
            counts["survivors"], counts["points"] = int(m.group(1)), int(m.group(2))
    return counts


def parse_tune(out, err):
    """What `tilec tune` printed: the header, the table's first row, the default, the
    status counts (stdout) and the progress lines (stderr, not a terminal)."""
    r = {"statuses": {}}
    m = re.search(r"(\d+) of (\d+) points survive pruning.*; (\w+) search on (.+)", out)
    if m:
        r["survivors"], r["gpu"] = int(m.group(1)), m.group(4).strip()
    m = re.search(r"^\s+1\s+([\d.]+)\s+\S+\s+\S+\s+\S+\s+(\S+)$", out, re.M)
    if m:
        r["winner_ms"], r["winner"] = float(m.group(1)), m.group(2)
    m = re.search(r"^default ([\d.]+) ms", out, re.M)
    r["default_ms"] = float(m.group(1)) if m else None
    m = re.search(r"^measured (\d+):(.*)$", out, re.M)
    if m:
        r["measured"] = int(m.group(1))
        for name, n in re.findall(r"([a-z-]+) (\d+)", m.group(2)):
            r["statuses"][name] = int(n)
        r["interrupted"] = "interrupted" in m.group(2)
    progress = [(int(a), float(b)) for a, b in
                re.findall(r"^tune: (\d+) measured, \d+ left in the space, \d+ failed; ([\d.]+) s",
                           err, re.M)]
    if len(progress) >= 2 and progress[-1][1] > progress[0][1]:
        # after the first line (the default measured): the search alone, without start-up
        (n0, t0), (n1, t1) = progress[0], progress[-1]
        r["first_measured_s"] = t0
        r["search_candidates_per_s"] = (n1 - n0) / (t1 - t0)
    return r


def run_tune(tilec, name, extra, out_dir, env, timeout):
    cache = os.path.join(out_dir, "caches", name)
    shutil.rmtree(cache, ignore_errors=True)
    os.makedirs(cache)
    args = tune_args(tilec, ["--strategy", "exhaustive", "--budget", "600s"] + extra)
    env = dict(env, TILEC_CACHE_DIR=cache)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.monotonic()
        p = subprocess.Popen(args, stdout=out, stderr=err, env=env, text=True)
        timed_out = False
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            p.send_signal(signal.SIGINT)   # tilec keeps and prints what it measured
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        wall = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    with open(os.path.join(out_dir, name + ".log"), "w") as f:
        f.write(" ".join(args) + "\n\n" + stdout + "\n" + stderr +
                f"\nexit {p.returncode}\nwall {wall:.1f} s\n")
    r = dict(name=name, args=extra, exit=p.returncode, timed_out=timed_out, wall_s=wall)
    r.update(parse_tune(stdout, stderr))
    measured = r.get("measured", 0)
    s = r["statuses"]
    r["ok"], r["spills"] = s.get("ok", 0), s.get("spills", 0)
    r["failed"] = sum(s.get(k, 0) for k in FAILED)
    r["candidates_per_s"] = measured / wall if wall > 0 else None
    if p.returncode != 0:
        r["error_tail"] = (stdout + stderr)[-1500:]
    return r


def status_delta(r, base):
    names = set(r["statuses"]) | set(base["statuses"])
    delta = {k: r["statuses"].get(k, 0) - base["statuses"].get(k, 0) for k in sorted(names)}
    return {k: v for k, v in delta.items() if v}


def savings(runs):
    """Each rule against the run with it turned off (the candidates only it removes, and
    how they ended when tried), and the parallel compile against --jobs 1."""
    base = runs.get("all-rules")
    if not base or "measured" not in base:
        return {}
    out = {}
    for name, r in runs.items():
        if not name.startswith("off-") or "measured" not in r:
            continue
        saved = r["wall_s"] - base["wall_s"]
        out["rule " + name[4:]] = dict(
            candidates_saved=r["measured"] - base["measured"],
            outcomes_of_those=status_delta(r, base), wall_saved_s=saved,
            fraction_of_run_without=saved / r["wall_s"],
            same_winner=r.get("winner") == base.get("winner"),
            valid=not (r["timed_out"] or base["timed_out"]))
    r = runs.get("jobs-1")
    if r and "measured" in r:
        saved = r["wall_s"] - base["wall_s"]
        out["parallel compile"] = dict(
            wall_s=[base["wall_s"], r["wall_s"]], wall_saved_s=saved,
            fraction_of_run_without=saved / r["wall_s"],
            candidates_per_s=[base["candidates_per_s"], r["candidates_per_s"]],
            search_candidates_per_s=[base.get("search_candidates_per_s"),
                                     r.get("search_candidates_per_s")],
            same_winner=r.get("winner") == base.get("winner"),
            valid=not (r["timed_out"] or base["timed_out"]))
    return out


def print_table(result):
    print(f"{'run':<20} {'surv':>5} {'meas':>5} {'ok':>4} {'spill':>5} {'fail':>4} {'wall s':>7} "
          f"{'cand/s':>7} {'srch/s':>7} {'default':>8} {'winner':>8}  winner config")
    for r in result["runs"].values():
        if "skipped" in r:
            print(f"{r['name']:<20} skipped: {r['skipped']}")
            continue
        flag = " (timed out)" if r["timed_out"] else "" if r["exit"] == 0 else f" (exit {r['exit']})"
        print(f"{r['name']:<20} {r.get('survivors', '?'):>5} {r.get('measured', 0):>5} "
              f"{r['ok']:>4} {r['spills']:>5} {r['failed']:>4} {r['wall_s']:>7.1f} "
              f"{r['candidates_per_s'] or 0:>7.2f} {r.get('search_candidates_per_s') or 0:>7.2f} "
              f"{r.get('default_ms') or 0:>8.4f} {r.get('winner_ms', 0):>8.4f}  "
              f"{r.get('winner', '-')}{flag}")
    for what, s in result["savings"].items():
        note = "" if s["valid"] else " (a run timed out: not comparable)"
        if what == "parallel compile":
            rates = s["candidates_per_s"]
            print(f"{what}: {s['wall_s'][0]:.1f} s against {s['wall_s'][1]:.1f} s with --jobs 1, "
                  f"saves {s['wall_saved_s']:.1f} s ({100 * s['fraction_of_run_without']:.0f}%); "
                  f"{rates[0]:.2f} against {rates[1]:.2f} candidates/s{note}")
        else:
            ends = ", ".join(f"{k} {v:+d}" for k, v in s["outcomes_of_those"].items()) or "-"
            print(f"{what}: saves {s['candidates_saved']} candidates ({ends}) and "
                  f"{s['wall_saved_s']:.1f} s ({100 * s['fraction_of_run_without']:.0f}% of the "
                  f"run without it); same winner: {s['same_winner']}{note}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tilec")
    ap.add_argument("out_dir")
    ap.add_argument("--synthetic", action="store_true",
                    help="TILEC_TUNE_SYNTHETIC=1: made-up timings, no GPU (to test the script)")
    ap.add_argument("--run-timeout", type=float, default=120, help="seconds per run (default 120)")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false",
                    help="skip the uncounted warm-up tune that goes first")
    ap.add_argument("--total", type=float, default=290,
                    help="no run starts after this many seconds (default 290)")
    a = ap.parse_args()
    tilec = os.path.abspath(a.tilec)
    os.makedirs(a.out_dir, exist_ok=True)
    env = dict(os.environ)
    if a.synthetic:
        env["TILEC_TUNE_SYNTHETIC"] = "1"
    else:
        env.pop("TILEC_TUNE_SYNTHETIC", None)
    version = subprocess.run([tilec, "--version"], capture_output=True, text=True).stdout.strip()
    space = {"all-rules": space_counts(tilec)}
    for rule in RULES:
        space["off-" + rule] = space_counts(tilec, rule)
    # The first tune of a fresh machine also pays for its warm-up (ptxas and the driver
    # loaded, clocks raised): measured in the first H100 run, all-rules took 21.3 s against
    # 16.0 s for a later run with more candidates. A warm-up tune, not counted, goes first.
    plan = [("warm-up", [])] if a.warmup else []
    plan.append(("all-rules", []))
    for rule in RULES:
        plan.append(("off-" + rule, ["--prune-off", rule]))
    plan.append(("jobs-1", ["--jobs", "1"]))
    result = dict(kernel=" ".join(KERNEL), space_sets=" ".join(SPACE), tilec=version,
                  synthetic=a.synthetic, cpus=os.cpu_count(), date=time.strftime("%Y-%m-%d %H:%M"),
                  space=space, runs={}, savings={})
    path = os.path.join(a.out_dir, "tune_savings.json")
    started = time.monotonic()
    base_survivors = space["all-rules"]["survivors"]
    for name, extra in plan:
        left = a.total - (time.monotonic() - started)
        if name in space and space[name]["survivors"] == base_survivors and name != "all-rules":
            result["runs"][name] = dict(name=name, skipped="no point of its own (the same "
                                        f"{base_survivors} survivors with it off)")
        elif left <= 0:
            result["runs"][name] = dict(name=name, skipped=f"past --total {a.total:.0f} s")
        else:
            print(f"{name}: {' '.join(extra) or 'every rule, default jobs'} "
                  f"(timeout {min(a.run_timeout, left):.0f} s)", flush=True)
            result["runs"][name] = run_tune(tilec, name, extra, a.out_dir, env,
                                            min(a.run_timeout, left))
        result["savings"] = savings({k: v for k, v in result["runs"].items() if k != "warm-up"})
        with open(path, "w") as f:
            json.dump(result, f, indent=1)
    print(f"\n{version.splitlines()[0] if version else 'tilec'}; {os.cpu_count()} CPUs; "
          f"space {space['all-rules']['points']} points, {base_survivors} survive "
          f"({', '.join(f'{k} {v}' for k, v in space['all-rules']['pruned'].items())})")
    print_table(result)
    print(f"wrote {path}")
    failed = [r["name"] for r in result["runs"].values() if r.get("exit") not in (None, 0)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
