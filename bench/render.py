#!/usr/bin/env python3
"""Renders bench/run_bench.py's results as docs/benchmarks.md.

usage: python3 bench/render.py RESULTS_DIR [RESULTS_DIR ...] > docs/benchmarks.md

One section per RESULTS_DIR (one run of bench/run_bench.py, RESULTS_DIR/bench.json): tilec's
figures (cold-L2 median, warm beside it), the peers' from the same run, their ratio, for dots
the fraction of the same run's ceiling (for dots the tensor cores': wgmma where measured, else
mma.sync; for memory-bound kernels the copy bandwidth), and the issues' performance floors,
met or not.
"""
import json
import os
import sys


def fmt(x, digits=1):
    return "—" if x is None else f"{x:.{digits}f}"


def figure(item, which="cold"):
    """tilec's figure in the item's unit (TFLOP/s for dots, GB/s otherwise)."""
    j = item.get("tilec")
    if not j:
        return None
    ms = j[which]["median_ms"]
    if item["kind"] == "dot":
        return item["flop"] / (ms * 1e-3) / 1e12
    return item["bytes"] / (ms * 1e-3) / 1e9


def peer_figure(item, name):
    p = item.get("peers", {}).get(name)
    if not p or "error" in p:
        return None
    return p.get("tflops") if item["kind"] == "dot" else p.get("gbps")


def floor_status(item, results):
    f = item.get("floor")
    if not f:
        return "", None
    mine = figure(item)
    if mine is None:
        return f"≥ {f['ratio']}× {f['of']}", False
    if f["of"] == "copy bandwidth":
        copy = results.get("copy_gbps")
        return f"≥ {f['ratio']}× copy ({fmt(copy, 0)} GB/s)", copy is not None and mine >= f["ratio"] * copy
    peer = peer_figure(item, f["of"])
    return f"≥ {f['ratio']}× {f['of']}", peer is not None and mine >= f["ratio"] * peer


def ceiling_of(item, r):
    """The item's roof from the same run: for dots the tensor cores' (wgmma's, bf16 or e4m3,
    where the run measured it, else mma.sync's bf16), for memory-bound items the copy
    bandwidth."""
    if item["kind"] != "dot":
        return r.get("copy_gbps"), "copy"
    wg = r.get("wgmma_ceiling_tflops")
    if isinstance(wg, dict) and "error" not in wg and wg:
        kind = "e4m3" if item.get("dtype", "").startswith("f8") else "bf16"
        return wg.get(kind), f"wgmma {kind}"
    mma = r.get("mma_sync_ceiling_tflops")
    return (mma.get("bf16"), "mma.sync bf16") if isinstance(mma, dict) else (None, "")


def section(results_dir, r, w):
    steps = ", ".join(r.get("steps", [])) or "every step"
    w(f"## {r.get('device')}, {str(r.get('started'))[:10]}: {steps}")
    w("")
    w(f"From `{results_dir}/bench.json`.")
    w("")
    w(f"- device: {r.get('device')}, torch {r.get('torch')}, run {r.get('started')} – {r.get('finished')}")
    ceiling = r.get("mma_sync_ceiling_tflops", {})
    if not ceiling:
        w("- `mma.sync` ceiling: not measured in this run")
    elif isinstance(ceiling, dict) and "error" not in ceiling:
        w("- `mma.sync` ceiling of this run (bench/mma_peak.cu, register-only loops): " +
          ", ".join(f"{k} {v} TFLOP/s" for k, v in ceiling.items()))
    else:
        w(f"- `mma.sync` ceiling: not measured ({ceiling})")
    wg = r.get("wgmma_ceiling_tflops")
    if isinstance(wg, dict) and wg:
        w("- wgmma ceiling of this run (m64n256 from shared memory, ../shared/bench/probes/wgmma_peak.cu): " +
          ", ".join(f"{k} {v} TFLOP/s" for k, v in wg.items()))
    w(f"- copy bandwidth of this run (1 GiB device-to-device, read + write): {fmt(r.get('copy_gbps'), 0)} GB/s")
    if r.get("triton"):
        w("- plain Triton: ../shared/bench/triton_peers.py in the same run (best of its config list per row)")
    w("")
    w("| benchmark | tilec | tilec warm | peer | peer figure | tilec / peer | of ceiling (tensor cores, or copy) | floor | met | output check |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for item in r.get("items", []):
        unit = "TFLOP/s" if item["kind"] == "dot" else "GB/s"
        mine, warm = figure(item), figure(item, "warm")
        peer_name = item.get("main_peer")
        peer = peer_figure(item, peer_name) if peer_name else None
        others = [n for n in item.get("peers", {}) if n != peer_name]
        ratio = mine / peer if mine and peer else None
        roof, roof_name = ceiling_of(item, r)
        frac = f"{mine / roof:.2f} ({roof_name})" if mine and roof else "—"
        floor_text, met = floor_status(item, r)
        chk = item.get("check")
        check_text = "—" if not chk else ("ok" if chk.get("ok") else "FAIL") + (
            f" (rel err {chk['rel_err']:.2g})" if "rel_err" in chk else "")
        w(f"| {item['name']} | {fmt(mine)} {unit if mine else ''} | {fmt(warm)} | {peer_name or 'none'} | "
          f"{fmt(peer)} | {fmt(ratio, 2)} | {frac} | {floor_text} | "
          f"{'' if met is None else ('met' if met else 'NOT met')} | {check_text} |")
        for n in others:
            pf = peer_figure(item, n)
            w(f"| ↳ also {n} | | | {n} | {fmt(pf)} | {fmt(mine / pf if mine and pf else None, 2)} | | | | |")
    w("")
    w("Configurations timed (the first is the kernel's default config; the default's time "
      "over the best one's follows):")
    w("")
    for item in r.get("items", []):
        times = [run.get("cold_median_ms") for run in item.get("runs", [])]
        ratio = f" (default {times[0] / min(t for t in times if t):.2f}× the best)" \
            if len(times) > 1 and times[0] and any(times[1:]) else ""
        w(f"- {item['name']}{ratio}: " + "; ".join(
            ("`" + " / ".join(c or "default" for c in run["configs"]) + "` " +
             (f"{run['cold_median_ms']:.3f} ms" if "cold_median_ms" in run else "failed: " +
              run.get("error", "").splitlines()[-1][:160] if run.get("error") else "failed"))
            for run in item.get("runs", [])))
    if r.get("errors"):
        w("")
        w("Errors:")
        for e in r["errors"]:
            w(f"- {e}")
    w("")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    out = []
    w = out.append
    w("# Benchmarks")
    w("")
    w(f"Generated by `bench/render.py {' '.join(sys.argv[1:])}`. Each section below is one run of "
      "`bench/run_bench.py` on the device machine, and every peer figure in it comes from that "
      "same run. Do not edit by hand: rerun and re-render.")
    w("")
    w("- tilec: `tilec bench` cold-L2 median (256 MB written between repetitions, outside the timed "
      "region; reduction targets reset inside it), warm-L2 median beside it; the best of the "
      "configs listed under its section. Peers: `triton.testing.do_bench` median (it clears L2 between "
      "repetitions).")
    w("- Dots in TFLOP/s (2·m·n·k per product; causal attention counts half), memory-bound "
      "kernels in GB/s (each tensor read or written once; amax + quantize counts 5 bytes per "
      "element: x read twice, y written once).")
    w("")
    for results_dir in sys.argv[1:]:
        with open(os.path.join(results_dir, "bench.json")) as f:
            section(results_dir, json.load(f), w)
    # Hand-written sections (SASS read-backs, launch overhead, ...) live in bench/notes/
    # and are appended in name order, so a re-render never drops them.
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes")
    for name in sorted(os.listdir(notes)) if os.path.isdir(notes) else []:
        if name.endswith(".md"):
            w("")
            with open(os.path.join(notes, name)) as f:
                w(f.read().rstrip("\n"))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
