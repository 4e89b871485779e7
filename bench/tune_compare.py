#!/usr/bin/env python3
"""Budgeted tune against an exhaustive tune of the same pruned space, on the device.

usage: bench/tune_compare.py TILEC OUT_DIR [--no-exhaustive] CASE...
       (CASE: gemm, attention64, fp8_gemm, attention128c)

For each case, in one run on one GPU: `tilec tune` with the default (budgeted) strategy
and a 60 s budget, then `tilec tune --strategy exhaustive` over the same space (separate
caches), then `tilec bench` of the default config, the budgeted winner and the exhaustive
winner, back to back. Writes OUT_DIR/tune_compare.json and prints a table; the budgeted
winner must be within 3% of the exhaustive one and faster than the default. With
--no-exhaustive only the budgeted tune runs and is re-timed against the default.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

CASES = {
    "gemm": dict(file="examples/gemm.tile", kernel="gemm", shape="M=4096,N=4096,K=4096",
                 sets=[], consts=None),
    "attention64": dict(file="examples/attention.tile", kernel="attention",
                        shape="Z=4,H=48,M=4096,N=4096,D=64", sets=["scale=0.125"],
                        consts="causal=false"),
    "fp8_gemm": dict(file="examples/fp8_gemm.tile", kernel="fp8_gemm_tensorwise",
                     shape="M=4096,N=4096,K=4096", sets=[], consts=None),
    "attention128c": dict(file="examples/attention.tile", kernel="attention",
                          shape="Z=8,H=16,M=4096,N=4096,D=128", sets=["scale=0.088"],
                          consts="causal=true"),
}


def tune(tilec, case, cache, strategy, budget, log):
    args = [tilec, "tune", case["file"], "--kernel", case["kernel"], "--shape", case["shape"],
            "--budget", budget]
    for s in case["sets"]:
        args += ["--set", s]
    if case["consts"]:
        args += ["--const", case["consts"]]
    if strategy:
        args += ["--strategy", strategy]
    env = dict(os.environ, TILEC_CACHE_DIR=cache)
    start = time.time()
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    wall = time.time() - start
    with open(log, "w") as f:
        f.write(p.stdout + p.stderr + f"\nexit {p.returncode}\nwall {wall:.1f} s\n")
    with open(os.path.join(cache, "tune-cache.json")) as f:
        entries = [e for e in json.load(f)["entries"] if e["kernel"] == case["kernel"]]
    best = min(entries, key=lambda e: e["time_ms"])
    return dict(config=best["config"], time_ms=best["time_ms"], default_ms=best["default_ms"],
                evaluations=best["evaluations"], wall_s=wall, exit=p.returncode)


def bench(tilec, case, config, out_json):
    args = [tilec, "bench", case["file"], "--kernel", case["kernel"], "--shape", case["shape"],
            "--json", out_json]
    if config:
        args += ["--config", config]
    for s in case["sets"]:
        args += ["--set", s]
    if case["consts"]:
        args += ["--set", case["consts"]]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        return dict(error=(p.stdout + p.stderr)[-2000:])
    with open(out_json) as f:
        return json.load(f)


def main():
    tilec, out = sys.argv[1], sys.argv[2]
    names = [a for a in sys.argv[3:] if not a.startswith("--")]
    with_exhaustive = "--no-exhaustive" not in sys.argv[3:]
    results = {}
    for name in names:
        case = CASES[name]
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        caches = tempfile.mkdtemp(prefix="tilec-tune-")  # fresh caches, kept out of OUT_DIR
        os.makedirs(os.path.join(caches, "budget"))
        os.makedirs(os.path.join(caches, "exhaustive"))
        budgeted = tune(tilec, case, os.path.join(caches, "budget"), None, "60s",
                        os.path.join(d, "tune_budget.txt"))
        runs = [("default", None), ("budgeted", budgeted["config"])]
        exhaustive = None
        if with_exhaustive:
            exhaustive = tune(tilec, case, os.path.join(caches, "exhaustive"), "exhaustive",
                              "900s", os.path.join(d, "tune_exhaustive.txt"))
            runs.append(("exhaustive", exhaustive["config"]))
        timed = {label: bench(tilec, case, cfg, os.path.join(d, f"bench_{label}.json"))
                 for label, cfg in runs}
        results[name] = dict(budgeted=budgeted, exhaustive=exhaustive, retimed=timed)
        ms = {k: v.get("cold", {}).get("median_ms") for k, v in timed.items()}
        if not with_exhaustive and all(ms.values()):
            results[name]["verdict"] = dict(faster_than_default=ms["budgeted"] < ms["default"],
                                            speedup_over_default=ms["default"] / ms["budgeted"])
        elif all(ms.values()):
            results[name]["verdict"] = dict(
                budgeted_over_exhaustive=ms["budgeted"] / ms["exhaustive"],
                within_3_percent=ms["budgeted"] <= 1.03 * ms["exhaustive"],
                faster_than_default=ms["budgeted"] < ms["default"])
        print(name, json.dumps(results[name], indent=1)[:3000], flush=True)
    with open(os.path.join(out, "tune_compare.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
