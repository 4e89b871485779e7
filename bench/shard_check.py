#!/usr/bin/env python3
"""shard_check.py TILEC OUT_DIR [--evals N] — issue 27's shard check on one GPU.

The same kernel x shape cases (CASES: gemm at four shapes) are tuned three ways, each with
a fixed candidate count (--max-evals, --strategy random, one seed; no time budget decides):
one run over every case, then `--shard 0/2` and `--shard 1/2` as two processes, each with
a cache of its own, merged with `tilec cache merge`. Every case's two winners (one run's,
the merged table's) are then re-timed back to back with `tilec bench`, alternating, and the
merged winner must be within 3% of the one-run winner. Writes OUT_DIR/shard_check.json."""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL = os.path.join(ROOT, "examples", "gemm.tile")
CASES = ["M=2048,N=2048,K=2048", "M=4096,N=4096,K=1024", "M=1024,N=8192,K=2048",
         "M=3072,N=3072,K=3072"]


def tune(tilec, cache, shapes, evals, shard=None):
    env = dict(os.environ, TILEC_CACHE_DIR=cache)
    cmd = [tilec, "tune", KERNEL, "--shapes", shapes, "--max-evals", str(evals),
           "--strategy", "random", "--seed", "7", "--budget", "600s", "--retune"]
    if shard:
        cmd += ["--shard", shard]
    t0 = time.time()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.time() - t0
    tail = (p.stdout + p.stderr).strip().splitlines()[-3:]
    print(f"  tune {shard or 'all'}: exit {p.returncode}, {took:.1f} s  | " + " | ".join(tail))
    if p.returncode != 0:
        sys.exit(f"shard_check: tune {shard or 'all'} failed")
    return took


def winners(path):
    """shape -> (config, time_ms) of a cache or table file."""
    with open(path) as f:
        root = json.load(f)
    return {e["shape"]: (e["config"], e["time_ms"]) for e in root["entries"]}


def bench_ms(tilec, shape, config):
    p = subprocess.run([tilec, "bench", KERNEL, "--shape", shape, "--config", config],
                       capture_output=True, text=True)
    m = re.search(r"([0-9.]+) ms", p.stdout + p.stderr)
    if p.returncode != 0 or not m:
        sys.exit(f"shard_check: bench {shape} {config} failed:\n{p.stdout}{p.stderr}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tilec")
    ap.add_argument("out")
    ap.add_argument("--evals", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    shapes = os.path.join(a.out, "cases.shapes")
    with open(shapes, "w") as f:
        f.write("".join(c + "\n" for c in CASES))

    one = os.path.join(a.out, "one")
    t_one = tune(a.tilec, one, shapes, a.evals)
    t_shards = [tune(a.tilec, os.path.join(a.out, f"shard-{i}"), shapes, a.evals, f"{i}/2")
                for i in range(2)]
    merged = os.path.join(a.out, "merged.json")
    p = subprocess.run([a.tilec, "cache", "merge", merged] +
                       [os.path.join(a.out, f"shard-{i}", "tune-cache.json") for i in range(2)],
                       capture_output=True, text=True)
    print(f"  merge: exit {p.returncode} {p.stderr.strip()}")
    if p.returncode != 0:
        sys.exit("shard_check: merge failed")

    w_one = winners(os.path.join(one, "tune-cache.json"))
    w_merged = winners(merged)
    rows, ok = [], True
    print(f"\n{'shape':24} {'one run':>9} {'merged':>9} {'ratio':>6}  configs")
    for shape in CASES:
        key = next((k for k in w_one if sorted(k.split(",")) == sorted(shape.split(","))), None)
        if key is None or key not in w_merged:
            print(f"{shape:24} missing from {'one run' if key is None else 'the merged table'}")
            ok = False
            continue
        c1, c2 = w_one[key][0], w_merged[key][0]
        t1 = t2 = float("inf")
        for _ in range(a.rounds):  # alternate, keep each one's best
            t1 = min(t1, bench_ms(a.tilec, shape, c1))
            t2 = min(t2, bench_ms(a.tilec, shape, c2))
        ratio = t2 / t1
        ok &= ratio <= 1.03
        rows.append(dict(shape=shape, one_config=c1, one_ms=t1, merged_config=c2,
                         merged_ms=t2, ratio=ratio, same=c1 == c2))
        print(f"{shape:24} {t1:9.4f} {t2:9.4f} {ratio:6.3f}  {c1}{'' if c1 == c2 else ' | ' + c2}")
    print(f"\nwall: one run {t_one:.1f} s, shards {t_shards[0]:.1f} + {t_shards[1]:.1f} s; "
          f"{'PASS' if ok else 'FAIL'}: merged winners within 3% of the one run's")
    with open(os.path.join(a.out, "shard_check.json"), "w") as f:
        json.dump(dict(cases=rows, wall_one=t_one, wall_shards=t_shards, passed=ok), f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
