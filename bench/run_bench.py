#!/usr/bin/env python3
"""tilec's benchmark, in one run on the device machine: every example timed with
`tilec bench` beside its peer from the same run, at the shapes of the project's anchors
(../shared/bench/anchors.py), each timed output checked against the peer's, plus the same
run's mma.sync ceiling (bench/mma_peak.cu) and copy bandwidth.

usage: python3 bench/run_bench.py RESULTS_DIR [--tilec PATH] [--quick] [--only STEP,...]
                                 [--triton-peers triton_peers.py] [--wgmma-probe wgmma_peak.cu]
                                 [--no-mma-probe]

Peers: torch.matmul (cuBLAS) for gemm; torch._scaled_mm tensorwise and rowwise for the fp8
GEMMs; SDPA with the flash and cuDNN backends for attention; torch's float8 cast (amax,
scale, saturating cast, torch.compile'd) for the quantize kernels; for the row kernels
(layernorm, rmsnorm, softmax, rowwise and fused rmsnorm quantisation) torch eager and
torch.compile'd of the same math, both reported, the faster the main peer (the fused one's
floor is against torch.compile); fp8_attention has no peer and is timed alone (checked
against a float64 reference on a slice). Memory-bound rows also give their share of the
run's copy bandwidth (bench/render.py). Peers are timed
with triton.testing.do_bench (median; it clears L2 between repetitions), tilec's figures
are its cold-L2 medians (warm ones are recorded too). Writes RESULTS_DIR/bench.json (and
the probe's output); bench/render.py turns it into docs/benchmarks.md.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from triton.testing import do_bench

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEV = "cuda"
E4M3 = torch.float8_e4m3fn


def tflops(flop, ms):
    return flop / (ms * 1e-3) / 1e12


def save_npy(path, t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        arr = t.view(torch.int16).cpu().numpy().view(np.uint16)
    elif t.dtype == E4M3:
        arr = t.view(torch.uint8).cpu().numpy()
    else:
        arr = t.cpu().numpy()
    np.save(path, arr)


def compare(out, ref, rel, floor):
    """Elementwise |out - ref| <= rel |ref| + floor max|ref| on the device."""
    out = torch.as_tensor(out, device=DEV, dtype=torch.float32)
    ref = ref.to(torch.float32)
    if out.shape != ref.shape:
        return {"ok": False, "detail": f"shape {tuple(out.shape)} vs {tuple(ref.shape)}"}
    err = (out - ref).abs()
    max_ref = ref.abs().max().item()
    bad = int((err > rel * ref.abs() + floor * max_ref).sum().item()) + int(torch.isnan(out).sum().item())
    return {"ok": bad == 0, "max_abs_err": err.max().item(), "max_ref": max_ref,
            "rel_err": err.max().item() / max_ref if max_ref else 0.0, "beyond_tolerance": bad,
            "tolerance": f"{rel:g} relative + {floor:g} of max|ref|"}


class Bench:
    def __init__(self, tilec, out_dir, reps):
        self.tilec, self.out_dir, self.reps = tilec, out_dir, reps
        self.tmp = tempfile.mkdtemp(prefix="tilec-bench-")
        self.results = {"items": [], "started": time.strftime("%Y-%m-%d %H:%M:%S")}

    def path(self, name):
        return os.path.join(self.tmp, name)

    def save(self):
        with open(os.path.join(self.out_dir, "bench.json"), "w") as f:
            json.dump(self.results, f, indent=1, default=str)

    def tilec_bench(self, file, kernels, shapes, config_sets, ins, sets=None, outs=(), links=()):
        """Times each config of config_sets (a list of --config lists); returns the best run's
        JSON (cold median), all runs' summaries, and the outputs of the best one."""
        runs, best = [], None
        for configs in config_sets:
            jpath = self.path("bench.json")
            cmd = [self.tilec, "bench", os.path.join(ROOT, "examples", file), "--kernel", ",".join(kernels),
                   "--reps", str(self.reps), "--warmup", "2", "--json", jpath]
            if shapes:
                cmd += ["--shape", shapes]
            for c in configs:
                cmd += ["--config", c]
            for name, t in ins.items():
                p = self.path(f"in_{name}.npy")
                cmd += ["--in", f"{name}={p}"]
            for name, text in (sets or {}).items():
                cmd += ["--set", f"{name}={text}"]
            for name in outs:
                cmd += ["--out", f"{name}={self.path('out_' + name + '.npy')}"]
            for link in links:
                cmd += ["--link", link]
            t0 = time.time()
            try:   # a config that hangs the GPU costs its own minute, not the whole run
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
            except subprocess.TimeoutExpired:
                print(f"timed out after 90 s (a hang?): {' '.join(configs) or 'default'}")
                runs.append({"configs": configs, "error": "timed out after 90 s (a hang?)"})
                continue
            print(p.stdout.rstrip())
            if p.returncode != 0:
                print(p.stderr.rstrip()[-1500:])
                runs.append({"configs": configs, "error": p.stderr.strip()[-1500:]})
                continue
            with open(jpath) as f:
                j = json.load(f)
            j["wall_seconds"] = round(time.time() - t0, 2)
            runs.append({"configs": configs, "cold_median_ms": j["cold"]["median_ms"],
                         "warm_median_ms": j["warm"]["median_ms"], "rate": j["cold"]["rate"]})
            if best is None or j["cold"]["median_ms"] < best[0]["cold"]["median_ms"]:
                best = (j, {name: np.load(self.path("out_" + name + ".npy")) for name in outs})
        return (best[0] if best else None), runs, (best[1] if best else {})

    def write_inputs(self, ins):
        for name, t in ins.items():
            save_npy(self.path(f"in_{name}.npy"), t)

    def add(self, item):
        """Records an item (with plain Triton's figure for it, when the run measured one)."""
        triton = self.results.get("triton", {})
        for key, name in TRITON_ROWS:
            if name == item["name"] and key in triton:
                t = triton[key]
                item["peers"]["plain Triton"] = {"tflops": t["tflops"], "config": t.get("cfg")}
        self.results["items"].append(item)
        self.save()


def peer_time(fn, flop=None, nbytes=None):
    try:
        ms = do_bench(fn, warmup=25, rep=200, return_mode="median")
    except Exception as e:  # a backend missing on this build of torch
        return {"error": repr(e)[:200]}
    r = {"median_ms": ms}
    if flop:
        r["tflops"] = tflops(flop, ms)
    if nbytes:
        r["gbps"] = nbytes / (ms * 1e-3) / 1e9
    return r


def torch_peers(label, fn, nbytes):
    """fn timed eager and torch.compile'd (compiled once before timing): the peers dict and
    the name of the faster of the two (memory-bound rows compare with that one)."""
    compiled = torch.compile(fn)
    compiled()
    peers = {f"{label} (eager)": peer_time(fn, nbytes=nbytes),
             f"{label} (compiled)": peer_time(compiled, nbytes=nbytes)}
    timed = [n for n, p in peers.items() if "median_ms" in p]
    return peers, min(timed, key=lambda n: peers[n]["median_ms"]) if timed else None


def run_probe(src, name, out_dir):
    """Builds a tensor-core probe with nvcc for sm_90a and runs it: its output (also kept as
    OUT_DIR/NAME.txt), or {"error": ...}."""
    exe = os.path.join(tempfile.mkdtemp(), name)
    try:
        subprocess.run(["nvcc", "-O3", "-gencode", "arch=compute_90a,code=sm_90a", src, "-o", exe],
                       check=True, capture_output=True, text=True, timeout=240)
        p = subprocess.run([exe], capture_output=True, text=True, timeout=120)
    except Exception as e:
        return {"error": repr(e)[:300]}
    with open(os.path.join(out_dir, name + ".txt"), "w") as f:
        f.write(p.stdout)
    return p.stdout


def mma_ceiling(out_dir):
    out = run_probe(os.path.join(ROOT, "bench", "mma_peak.cu"), "mma_peak", out_dir)
    if isinstance(out, dict):
        return out
    res = {}
    for line in out.splitlines():
        m = re.match(r"(\S+)\s+m16n8k(\d+) mma\.sync,\s+(\d+) warps/block .*: (\d+) TFLOP/s", line)
        # a launch that failed (16 warps of fp8 ask for too many registers) still prints a
        # figure; the probe reports the error only at its end: drop figures no GPU reaches
        if m and int(m.group(4)) < 4000:
            kind = m.group(1)
            res[kind] = max(res.get(kind, 0), int(m.group(4)))
    print("mma.sync ceiling (TFLOP/s):", res)
    return res


def wgmma_ceiling(probe, out_dir):
    """The wgmma ceilings (bf16, e4m3) from a probe given by path (../shared/bench/probes/
    wgmma_peak.cu, carried): the roof the Hopper dots aim at."""
    out = run_probe(probe, "wgmma_peak", out_dir)
    if isinstance(out, dict):
        return out
    res = {}
    for line in out.splitlines():
        m = re.match(r"(\S+) wgmma m64n256, \d+ warpgroup\(s\)/SM: (\d+) TFLOP/s", line)
        if m:
            res[m.group(1)] = max(res.get(m.group(1), 0), int(m.group(2)))
    print("wgmma ceiling (TFLOP/s):", res)
    return res


# plain Triton's figures (../shared/bench/triton_peers.py, run in the same call) by the
# item they sit beside: (key prefix in its JSON, item name)
TRITON_ROWS = [
    ("triton_bf16_gemm_4096", "bf16 gemm 4096x4096x4096"), ("triton_bf16_gemm_8192", "bf16 gemm 8192x8192x8192"),
    ("triton_fp8_gemm_4096", "fp8 gemm tensorwise 4096x4096x4096"),
    ("triton_fp8_gemm_8192", "fp8 gemm tensorwise 8192x8192x8192"),
    ("triton_attn_b4h48s4096d64", "bf16 attention Z=4 H=48 M=N=4096 D=64"),
    ("triton_attn_b8h16s4096d128", "bf16 attention Z=8 H=16 M=N=4096 D=128"),
    ("triton_attn_b8h16s4096d128_causal", "bf16 attention Z=8 H=16 M=N=4096 D=128 causal")]


def triton_peers(b, script, timeout):
    """Runs the Triton peer script first (Bench.add puts each figure beside its item)."""
    try:
        p = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=timeout)
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
        res = json.loads(lines[-1]) if lines else {"error": (p.stdout + p.stderr)[-400:]}
    except Exception as e:
        res = {"error": repr(e)[:300]}
    b.results["triton"] = res
    print("triton:", json.dumps(res)[:600])


def copy_bandwidth():
    x = torch.empty(2 ** 30, dtype=torch.uint8, device=DEV)
    y = torch.empty_like(x)
    ms = do_bench(lambda: y.copy_(x), warmup=10, rep=100, return_mode="median")
    del x, y
    return 2 * 2 ** 30 / (ms * 1e-3) / 1e9


# ---- the items

# sm_90a configs: one tile on two warpgroups fed by a TMA ring, two tile groups on 128x128
# tiles (ping-pong), and small tiles for small M.
GEMM_CONFIGS = [
    "BLOCK_M=128,BLOCK_N=256,BLOCK_K=64,num_warps=8,num_stages=4,group_m=8",
    "BLOCK_M=128,BLOCK_N=256,BLOCK_K=64,num_warps=8,num_stages=3,group_m=8",
    "BLOCK_M=128,BLOCK_N=128,BLOCK_K=64,num_warps=4,num_stages=6,group_m=8,tile_groups=2",
    "BLOCK_M=64,BLOCK_N=256,BLOCK_K=64,num_warps=4,num_stages=5,group_m=8,tile_groups=2",
    "BLOCK_M=128,BLOCK_N=128,BLOCK_K=64,num_warps=8,num_stages=4,group_m=8"]
SMALL_M_CONFIGS = [
    "BLOCK_M=64,BLOCK_N=64,BLOCK_K=64,num_warps=4,num_stages=6",
    "BLOCK_M=64,BLOCK_N=32,BLOCK_K=128,num_warps=4,num_stages=6",
    "BLOCK_M=64,BLOCK_N=128,BLOCK_K=64,num_warps=4,num_stages=6",
    "BLOCK_M=128,BLOCK_N=128,BLOCK_K=64,num_warps=8,num_stages=4,group_m=8"]
FP8_CONFIGS = [
    "BLOCK_M=128,BLOCK_N=256,BLOCK_K=128,num_warps=8,num_stages=4,group_m=8",
    "BLOCK_M=128,BLOCK_N=256,BLOCK_K=128,num_warps=8,num_stages=3,group_m=8",
    "BLOCK_M=128,BLOCK_N=128,BLOCK_K=128,num_warps=4,num_stages=6,group_m=8,tile_groups=2",
    "BLOCK_M=64,BLOCK_N=256,BLOCK_K=128,num_warps=4,num_stages=5,group_m=8,tile_groups=2"]


def gemm_items(b, quick):
    shapes = [(4096, 4096, 4096)] if quick else [
        (4096, 4096, 4096), (8192, 8192, 8192), (2048, 8192, 4096),        # benchmark shapes
        (3072, 3072, 3072), (4096, 14336, 4096), (16, 4096, 4096), (128, 4096, 4096),
        (1000, 4096, 4096), (4096, 4096, 4097)]                            # held out
    for m, n, k in shapes:
        a = torch.randn(m, k, device=DEV).to(torch.bfloat16)
        bb = torch.randn(k, n, device=DEV).to(torch.bfloat16)
        flop = 2 * m * n * k
        peer_out = a @ bb
        peer = {"torch.matmul": peer_time(lambda: a @ bb, flop)}
        configs = [[""]] + [[c] for c in (SMALL_M_CONFIGS if m <= 1000 else GEMM_CONFIGS)]
        b.write_inputs({"a": a, "b": bb})
        j, runs, outs = b.tilec_bench("gemm.tile", ["gemm"], f"M={m},N={n},K={k}", configs, {"a": a, "b": bb},
                                      outs=["c"])
        check = compare(outs["c"], peer_out, 2 ** -6, 2 ** -9) if j else None
        held_out = (m, n, k) not in ((4096, 4096, 4096), (8192, 8192, 8192), (2048, 8192, 4096))
        b.add({"name": f"bf16 gemm {m}x{n}x{k}", "kind": "dot", "dtype": "bf16", "kernel": "gemm", "flop": flop,
               "tilec": j, "runs": runs, "peers": peer, "main_peer": "torch.matmul", "check": check,
               "floor": {"ratio": 0.8 if held_out else 0.9, "of": "torch.matmul"}})
    if quick:
        return
    # a fused epilogue: bias + ReLU on the accumulator, against matmul + the epilogue compiled
    m, n, k = 4096, 4096, 4096
    a = torch.randn(m, k, device=DEV).to(torch.bfloat16)
    bb = torch.randn(k, n, device=DEV).to(torch.bfloat16)
    bias = torch.randn(n, device=DEV).to(torch.bfloat16)
    fused = torch.compile(lambda x, y, z: torch.relu(x @ y + z))
    peer_out = fused(a, bb, bias)
    flop = 2 * m * n * k
    peer = {"torch.matmul + bias + relu (compiled)": peer_time(lambda: fused(a, bb, bias), flop)}
    ins = {"a": a, "b": bb, "bias": bias}
    b.write_inputs(ins)
    j, runs, outs = b.tilec_bench("gemm_bias_relu.tile", ["gemm_bias_relu"], "", [[""]] + [[c] for c in GEMM_CONFIGS],
                                  ins, outs=["c"])
    check = compare(outs["c"], peer_out, 2 ** -6, 2 ** -9) if j else None
    b.add({"name": f"bf16 gemm + bias + relu {m}x{n}x{k}", "kind": "dot", "dtype": "bf16", "kernel": "gemm_bias_relu",
           "flop": flop, "tilec": j, "runs": runs, "peers": peer,
           "main_peer": "torch.matmul + bias + relu (compiled)", "check": check,
           "floor": {"ratio": 1.0, "of": "torch.matmul + bias + relu (compiled)"}})


def fp8_gemm_items(b, quick):
    configs = [[""]] + [[c] for c in FP8_CONFIGS]
    shapes = [(4096, 4096, 4096)] if quick else [(4096, 4096, 4096), (8192, 8192, 8192), (2048, 8192, 4096)]
    for m, n, k in shapes:
        a = torch.randn(m, k, device=DEV).to(E4M3)
        w = torch.randn(n, k, device=DEV).to(E4M3)
        one = torch.tensor(1.0, device=DEV)
        flop = 2 * m * n * k
        shape = f"M={m},N={n},K={k}"
        # tensorwise
        peer_out = torch._scaled_mm(a, w.t(), one, one, out_dtype=torch.bfloat16, use_fast_accum=True)
        peer = {"torch._scaled_mm": peer_time(lambda: torch._scaled_mm(a, w.t(), one, one, out_dtype=torch.bfloat16,
                                                                       use_fast_accum=True), flop)}
        ins = {"a": a, "b": w, "scale_a": torch.ones(1, device=DEV), "scale_b": torch.ones(1, device=DEV)}
        b.write_inputs(ins)
        j, runs, outs = b.tilec_bench("fp8_gemm.tile", ["fp8_gemm_tensorwise"], shape, configs, ins, outs=["c"])
        check = compare(outs["c"], peer_out, 2 ** -6, 2 ** -9) if j else None
        b.add({"name": f"fp8 gemm tensorwise {m}x{n}x{k}", "kind": "dot", "dtype": "f8e4m3",
               "kernel": "fp8_gemm_tensorwise", "flop": flop, "tilec": j, "runs": runs, "peers": peer,
               "main_peer": "torch._scaled_mm", "check": check, "floor": {"ratio": 0.9, "of": "torch._scaled_mm"}})
        if (m, n, k) == (2048, 8192, 4096):
            continue
        # rowwise
        sa = torch.rand(m, 1, device=DEV) + 0.5
        sb = torch.rand(1, n, device=DEV) + 0.5
        try:
            peer_out = torch._scaled_mm(a, w.t(), sa, sb, out_dtype=torch.bfloat16, use_fast_accum=True)
            peer = {"torch._scaled_mm rowwise": peer_time(lambda: torch._scaled_mm(
                a, w.t(), sa, sb, out_dtype=torch.bfloat16, use_fast_accum=True), flop)}
        except Exception as e:
            peer_out, peer = None, {"torch._scaled_mm rowwise": {"error": repr(e)[:200]}}
        ins = {"a": a, "b": w, "scale_a": sa.reshape(m), "scale_b": sb.reshape(n)}
        b.write_inputs(ins)
        j, runs, outs = b.tilec_bench("fp8_gemm.tile", ["fp8_gemm_rowwise"], shape, configs, ins, outs=["c"])
        if peer_out is None:
            peer_out = ((a.float() @ w.float().t()) * sa * sb).to(torch.bfloat16)
        check = compare(outs["c"], peer_out, 2 ** -6, 2 ** -9) if j else None
        b.add({"name": f"fp8 gemm rowwise {m}x{n}x{k}", "kind": "dot", "dtype": "f8e4m3",
               "kernel": "fp8_gemm_rowwise", "flop": flop, "tilec": j, "runs": runs, "peers": peer,
               "main_peer": "torch._scaled_mm rowwise", "check": check,
               "floor": {"ratio": 0.9, "of": "torch._scaled_mm rowwise"}})


ATTN_SHAPES = [(4, 48, 4096, 64, False), (4, 48, 4096, 64, True), (8, 16, 4096, 128, False),
               (8, 16, 4096, 128, True)]


def attention_items(b, quick):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    configs = [[""], ["BLOCK_M=128,BLOCK_N=128,num_warps=8,num_stages=2"], ["BLOCK_M=128,BLOCK_N=64,num_warps=8,num_stages=3"],
               ["BLOCK_M=64,BLOCK_N=128,num_warps=4,num_stages=2,tile_groups=2"],
               ["BLOCK_M=64,BLOCK_N=64,num_warps=4,num_stages=3,tile_groups=2"]]
    for z, h, s, d, causal in (ATTN_SHAPES[:2] if quick else ATTN_SHAPES):
        q = torch.randn(z, h, s, d, device=DEV).to(torch.bfloat16)
        k = torch.randn_like(q)
        v = torch.randn_like(q)
        flop = 4 * z * h * s * s * d / (2 if causal else 1)
        peers = {}
        peer_out = None
        for name, backend in [("SDPA flash", SDPBackend.FLASH_ATTENTION), ("SDPA cuDNN", SDPBackend.CUDNN_ATTENTION)]:
            try:
                with sdpa_kernel(backend):
                    out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                    peers[name] = peer_time(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal), flop)
                if peer_out is None:
                    peer_out = out
            except Exception as e:
                peers[name] = {"error": repr(e)[:200]}
        b.write_inputs({"q": q, "k": k, "v": v})
        j, runs, outs = b.tilec_bench("attention.tile", ["attention"], "", configs, {"q": q, "k": k, "v": v},
                                      sets={"scale": repr(1 / math.sqrt(d)), "causal": "true" if causal else "false"},
                                      outs=["o"])
        check = compare(outs["o"], peer_out, 2 ** -6, 2 ** -7) if j and peer_out is not None else None
        b.add({"name": f"bf16 attention Z={z} H={h} M=N={s} D={d}{' causal' if causal else ''}", "kind": "dot",
               "dtype": "bf16", "kernel": "attention", "flop": flop, "tilec": j, "runs": runs, "peers": peers,
               "main_peer": "SDPA flash", "check": check, "floor": {"ratio": 0.7, "of": "SDPA flash"}})


GQA_SHAPES = [(4, 32, 8, 4096, 128, False), (4, 32, 8, 4096, 128, True), (8, 16, 1, 2048, 64, False)]


def gqa_attention_items(b, quick):
    """examples/gqa_attention.tile (q viewed [Z, G, H/G, M, D]) against SDPA's enable_gqa
    (flash and cuDNN, where they take it): Llama-3-8B's 32 query heads over 8 key/value
    heads at D=128, plain and causal, and MQA."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    configs = [[""], ["BLOCK_M=128,BLOCK_N=128,num_warps=8,num_stages=2"],
               ["BLOCK_M=64,BLOCK_N=128,num_warps=4,num_stages=2,tile_groups=2"]]
    for z, h, g, s, d, causal in (GQA_SHAPES[:1] if quick else GQA_SHAPES):
        q = torch.randn(z, h, s, d, device=DEV).to(torch.bfloat16)
        k = torch.randn(z, g, s, d, device=DEV).to(torch.bfloat16)
        v = torch.randn_like(k)
        flop = 4 * z * h * s * s * d / (2 if causal else 1)
        peers, peer_out = {}, None
        for name, backend in [("SDPA flash", SDPBackend.FLASH_ATTENTION), ("SDPA cuDNN", SDPBackend.CUDNN_ATTENTION),
                              ("SDPA math", SDPBackend.MATH)]:
            try:
                with sdpa_kernel(backend):
                    call = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
                    out = call()
                    if name != "SDPA math":
                        peers[name] = peer_time(call, flop)
                if peer_out is None:
                    peer_out = out
            except Exception as e:
                peers[name] = {"error": repr(e)[:200]}
        ins = {"q": q.view(z, g, h // g, s, d), "k": k, "v": v}
        b.write_inputs(ins)
        j, runs, outs = b.tilec_bench("gqa_attention.tile", ["gqa_attention"], "", configs, ins,
                                      sets={"scale": repr(1 / math.sqrt(d)), "causal": "true" if causal else "false"},
                                      outs=["o"])
        check = None
        if j and peer_out is not None:
            check = compare(outs["o"].reshape(z, h, s, d), peer_out, 2 ** -6, 2 ** -7)
        b.add({"name": f"bf16 gqa attention Z={z} H={h} G={g} M=N={s} D={d}{' causal' if causal else ''}",
               "kind": "dot", "dtype": "bf16", "kernel": "gqa_attention", "flop": flop, "tilec": j,
               "runs": runs, "peers": peers, "main_peer": "SDPA cuDNN", "check": check,
               "floor": {"ratio": 0.9, "of": "SDPA cuDNN"}})


def attention_variant_items(b, quick):
    """The schedule comes from the code: examples/window_attention.tile with a window as long
    as the sequence (causal attention's work) and examples/gqa_attention.tile with a key/value
    head per query head (plain attention's), each beside attention.tile in the same run
    (floor: within 10%); and a 4096-token window over 16k tokens (Mistral) against SDPA with
    the band as a boolean mask."""
    configs = [[""], ["BLOCK_M=128,BLOCK_N=128,num_warps=8,num_stages=2"]]
    z, h, s, d = 8, 16, 4096, 128
    q = torch.randn(z, h, s, d, device=DEV).to(torch.bfloat16)
    k, v = torch.randn_like(q), torch.randn_like(q)
    ins = {"q": q, "k": k, "v": v}
    b.write_inputs(ins)
    sets = {"scale": repr(1 / math.sqrt(d))}
    for causal in (True, False):
        flop = 4 * z * h * s * s * d / (2 if causal else 1)
        base, _, _ = b.tilec_bench("attention.tile", ["attention"], "", configs, ins,
                                   sets=dict(sets, causal="true" if causal else "false"))
        if causal:
            name, j = "window_attention (window = sequence)", b.tilec_bench(
                "window_attention.tile", ["window_attention"], "", configs, ins, sets=dict(sets, window=str(s)))
        else:
            gq = {"q": q.view(z, h, 1, s, d), "k": k, "v": v}
            b.write_inputs(gq)
            name, j = "gqa_attention (G = H)", b.tilec_bench(
                "gqa_attention.tile", ["gqa_attention"], "", configs, gq, sets=dict(sets, causal="false"))
            b.write_inputs(ins)
        peers = {}
        if base:
            ms = base["cold"]["median_ms"]
            peers["attention.tile"] = {"median_ms": ms, "tflops": tflops(flop, ms)}
        b.add({"name": f"{name} Z={z} H={h} M=N={s} D={d}", "kind": "dot", "dtype": "bf16",
               "kernel": name.split()[0], "flop": flop, "tilec": j[0], "runs": j[1], "peers": peers,
               "main_peer": "attention.tile", "check": None, "floor": {"ratio": 0.9, "of": "attention.tile"}})
    if quick:
        return
    from torch.nn.attention import SDPBackend, sdpa_kernel
    z, h, s, w = 1, 32, 16384, 4096
    q = torch.randn(z, h, s, d, device=DEV).to(torch.bfloat16)
    k, v = torch.randn_like(q), torch.randn_like(q)
    back = torch.arange(s, device=DEV)[:, None] - torch.arange(s, device=DEV)[None, :]
    band = (back >= 0) & (back < w)
    flop = 4 * z * h * s * d * float(band.sum().item())
    peers, peer_out = {}, None
    for pname, backend in [("SDPA efficient (mask)", SDPBackend.EFFICIENT_ATTENTION),
                           ("SDPA cuDNN (mask)", SDPBackend.CUDNN_ATTENTION)]:
        try:
            with sdpa_kernel(backend):
                call = lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=band)
                out = call()
                peers[pname] = peer_time(call, flop)
            peer_out = out if peer_out is None else peer_out
        except Exception as e:
            peers[pname] = {"error": repr(e)[:200]}
    ins = {"q": q, "k": k, "v": v}
    b.write_inputs(ins)
    j, runs, outs = b.tilec_bench("window_attention.tile", ["window_attention"], "", configs, ins,
                                  sets={"scale": repr(1 / math.sqrt(d)), "window": str(w)}, outs=["o"])
    check = compare(outs["o"], peer_out, 2 ** -6, 2 ** -7) if j and peer_out is not None else None
    b.add({"name": f"bf16 window attention Z={z} H={h} M=N={s} D={d} window={w}", "kind": "dot",
           "dtype": "bf16", "kernel": "window_attention", "flop": flop, "tilec": j, "runs": runs,
           "peers": peers, "main_peer": "SDPA efficient (mask)", "check": check})


def fp8_attention_items(b, quick):
    configs = [[""], ["BLOCK_M=128,BLOCK_N=64,num_warps=8,num_stages=2"],
               ["BLOCK_M=128,BLOCK_N=128,num_warps=8,num_stages=2"],
               ["BLOCK_M=128,BLOCK_N=64,num_warps=8,num_stages=3"],
               ["BLOCK_M=64,BLOCK_N=128,num_warps=4,num_stages=2,tile_groups=2"]]
    for z, h, s, d, causal in ([ATTN_SHAPES[0]] if quick else [ATTN_SHAPES[0], ATTN_SHAPES[3]]):
        qf = torch.randn(z, h, s, d, device=DEV)
        kf, vf = torch.randn_like(qf), torch.randn_like(qf)
        ds = [t.abs().max().item() / 448 for t in (qf, kf, vf)]
        q8, k8, v8 = ((t / dsc).to(E4M3) for t, dsc in zip((qf, kf, vf), ds))
        flop = 4 * z * h * s * s * d / (2 if causal else 1)
        ins = {"q": q8, "k": k8, "v": v8, "descale_q": torch.tensor([ds[0]], device=DEV),
               "descale_k": torch.tensor([ds[1]], device=DEV), "descale_v": torch.tensor([ds[2]], device=DEV)}
        b.write_inputs(ins)
        j, runs, outs = b.tilec_bench("fp8_attention.tile", ["fp8_attention"], "", configs, ins,
                                      sets={"scale": repr(1 / math.sqrt(d)), "causal": "true" if causal else "false"},
                                      outs=["o"])
        check = None
        if j:  # the first two heads against float64 with P rounded to e4m3 as the kernel does
            qs, ks, vs = (t[0, :2].double() * dsc for t, dsc in zip((q8, k8, v8), ds))
            sc = (qs @ ks.transpose(-1, -2)) / math.sqrt(d)
            if causal:
                keep = torch.ones(s, s, device=DEV, dtype=torch.bool).tril()
                sc = sc.masked_fill(~keep, -math.inf)
            p = torch.exp(sc - sc.amax(-1, keepdim=True))
            l = p.sum(-1, keepdim=True)
            p8 = (p * 448).float().to(E4M3).double() / 448
            ref = (p8 @ (vs / ds[2])) * ds[2] / l
            check = compare(torch.as_tensor(outs["o"][0, :2]), ref, 2 ** -4, 2 ** -4)
        b.add({"name": f"fp8 attention Z={z} H={h} M=N={s} D={d}{' causal' if causal else ''}", "kind": "dot",
               "dtype": "f8e4m3", "kernel": "fp8_attention", "flop": flop, "tilec": j, "runs": runs, "peers": {},
               "main_peer": None, "check": check, "floor": None})


def to_f8(t, fmax=448.0, dtype=E4M3):
    amax = t.abs().max().to(torch.float32).clamp(min=1e-12)
    s = fmax / amax
    return (t.to(torch.float32) * s).clamp(-fmax, fmax).to(dtype), s.reciprocal()


# Issue 21's large shape (16384x8192: launch and tail effects do not decide) beside the small
# one; its floors hold at the large shape.
LARGE = (16384, 8192)
ROW_CONFIGS = [[""], ["BLOCK_M=1,BLOCK_N=256,num_warps=4"], ["BLOCK_M=8,BLOCK_N=256,num_warps=8"],
               ["BLOCK_M=16,BLOCK_N=128,num_warps=4"], ["BLOCK_M=64,BLOCK_N=64,num_warps=4"]]


def configs_for(axis, sets):
    """ROW_CONFIGS with BLOCK_N renamed for a kernel whose row axis is another variable."""
    return [[c.replace("BLOCK_N", axis) for c in s] for s in sets]


def fp8_order(t):
    """e4m3 codes as integers in value order (one step apart = adjacent values)."""
    c = t.view(torch.uint8).to(torch.int32)
    return torch.where(c >= 128, -(c & 0x7F), c & 0x7F)


def fp8_check(y, y_peer):
    """torch.compile may fold 448/amax differently (one rounding of the scale): allow one
    e4m3 step, as tests/gpu/sweep.py does, and report how many codes differ."""
    steps = (fp8_order(torch.as_tensor(y, device=DEV).to(E4M3)) - fp8_order(y_peer)).abs()
    return {"ok": steps.max().item() <= 1, "detail": f"{int((steps > 0).sum().item())} fp8 codes differ, "
                                                      f"at most {steps.max().item()} step(s) apart"}


def quantize_items(b, quick, copy_gbps):
    for m, k in [(2048, 4096)] + ([] if quick else [LARGE]):
        tensorwise_item(b, m, k, copy_gbps, 0.6 if (m, k) != LARGE else 0.75)
    if quick:
        return
    for m, k in [(2048, 4096), LARGE]:
        rowwise_item(b, m, k, copy_gbps if (m, k) == LARGE else None)


def tensorwise_item(b, m, k, copy_gbps, floor):
    x = torch.randn(m, k, device=DEV).to(torch.bfloat16)
    nbytes = 5 * m * k
    cast = torch.compile(lambda t: to_f8(t))
    y_peer, inv_peer = cast(x)
    peers = {"torch float8 cast (compiled)": peer_time(lambda: cast(x), nbytes=nbytes),
             "torch float8 cast (eager)": peer_time(lambda: to_f8(x), nbytes=nbytes)}
    b.write_inputs({"x": x})
    configs = [["", ""], ["BLOCK_M=16,BLOCK_K=256,num_warps=4", "BLOCK_M=32,BLOCK_K=128,num_warps=4"],
               ["BLOCK_M=32,BLOCK_K=256,num_warps=8", "BLOCK_M=32,BLOCK_K=256,num_warps=8"],
               ["BLOCK_M=128,BLOCK_K=64,num_warps=8", "BLOCK_M=128,BLOCK_K=64,num_warps=8"],
               ["BLOCK_M=32,BLOCK_K=256,num_warps=4", "BLOCK_M=32,BLOCK_K=256,num_warps=4"],
               ["BLOCK_M=16,BLOCK_K=256,num_warps=4", "BLOCK_M=16,BLOCK_K=256,num_warps=4"],
               ["BLOCK_M=64,BLOCK_K=128,num_warps=4", "BLOCK_M=32,BLOCK_K=128,num_warps=4"],
               ["BLOCK_M=32,BLOCK_K=256,num_warps=8", "BLOCK_M=16,BLOCK_K=256,num_warps=4"],
               ["BLOCK_M=64,BLOCK_K=64,num_warps=4", "BLOCK_M=64,BLOCK_K=64,num_warps=4"]]
    j, runs, outs = b.tilec_bench("fp8_quantize.tile", ["amax", "quantize_e4m3"], "", configs, {"x": x},
                                  outs=["y", "inv_scale"], links=["quantize_e4m3.amax=amax.out"])
    check = None
    if j:
        yd = torch.as_tensor(outs["y"], device=DEV)
        same = (yd.to(E4M3).view(torch.uint8) == y_peer.view(torch.uint8))
        check = {"ok": bool(same.all().item()) and abs(float(outs["inv_scale"][0]) - inv_peer.item()) <= 1e-6 * inv_peer.item(),
                 "detail": f"{int((~same).sum().item())} fp8 codes differ from torch's cast; inv_scale "
                           f"{float(outs['inv_scale'][0]):.8g} vs {inv_peer.item():.8g}"}
        j["floor_gbps"] = nbytes / (j["cold"]["median_ms"] * 1e-3) / 1e9
    b.add({"name": f"amax + quantize_e4m3 {m}x{k} (one region, 5 B/elem)", "kind": "memory", "kernel": "amax,quantize_e4m3",
           "bytes": nbytes, "tilec": j, "runs": runs, "peers": peers, "main_peer": "torch float8 cast (compiled)",
           "check": check, "floor": {"ratio": floor, "of": "copy bandwidth", "copy_gbps": copy_gbps}})


def rowwise(t):
    """torch's rowwise float8 cast: examples/rowwise_quantize.tile's formula."""
    amax = t.abs().amax(1, keepdim=True).float().clamp(min=1e-12)
    s = 448.0 / amax
    return (t.float() * s).clamp(-448, 448).to(E4M3), (1 / s).reshape(-1)


def rowwise_item(b, m, k, copy_gbps):
    """rowwise quantisation against torch's rowwise cast; the floor (issue 21) at the large
    shape only."""
    x = torch.randn(m, k, device=DEV).to(torch.bfloat16)
    nb = 3 * m * k + 4 * m
    peers, fastest = torch_peers("torch rowwise float8 cast", lambda: rowwise(x), nb)
    y_peer, _ = rowwise(x)
    b.write_inputs({"x": x})
    j, runs, outs = b.tilec_bench("rowwise_quantize.tile", ["rowwise_quantize"], "",
                                  configs_for("BLOCK_K", ROW_CONFIGS), {"x": x}, outs=["y", "inv_scale"])
    floor = {"ratio": 0.75, "of": "copy bandwidth", "copy_gbps": copy_gbps} if copy_gbps else None
    b.add({"name": f"rowwise_quantize {m}x{k}", "kind": "memory", "kernel": "rowwise_quantize", "bytes": nb,
           "tilec": j, "runs": runs, "peers": peers, "main_peer": fastest,
           "check": fp8_check(outs["y"], y_peer) if j else None, "floor": floor})


def row_item(b, name, file, kernel, nb, ins, peer_label, peer_fn, outs, check, floor, sets=None,
             configs=None):
    """One memory-bound row kernel beside the faster of torch eager and torch.compile of
    the same math (both reported); `check(outs)` compares tilec's outputs."""
    peers, fastest = torch_peers(peer_label, peer_fn, nb)
    b.write_inputs(ins)
    j, runs, got = b.tilec_bench(file, [kernel], "", configs or ROW_CONFIGS, ins, sets=sets, outs=outs)
    b.add({"name": name, "kind": "memory", "kernel": kernel, "bytes": nb, "tilec": j, "runs": runs,
           "peers": peers, "main_peer": fastest, "check": check(got) if j else None,
           "floor": dict(floor, of=fastest) if floor and fastest else None})


def rms_norm_math(x, w, eps):
    """RMSNorm in f32 (examples/rmsnorm.tile's math), before any rounding."""
    xf = x.float()
    return xf * torch.rsqrt(xf.pow(2).mean(1, keepdim=True) + eps) * w.float()


def row_items(b, quick):
    if quick:
        return
    for m, n in [(4096, 8192), LARGE]:
        large = (m, n) == LARGE
        floor = {"ratio": 1.0} if large else None   # issue 21: at least the faster torch
        x = torch.randn(m, n, device=DEV).to(torch.bfloat16)
        w = (torch.rand(n, device=DEV) + 0.5).to(torch.bfloat16)
        bias = torch.randn(n, device=DEV).to(torch.bfloat16)
        ref = F.layer_norm(x, (n,), w, bias, 1e-5)
        row_item(b, f"layernorm {m}x{n} bf16", "layernorm.tile", "layernorm", 2 * m * n * 2 + 4 * n,
                 {"x": x, "w": w, "b": bias}, "F.layer_norm", lambda: F.layer_norm(x, (n,), w, bias, 1e-5),
                 ["y"], lambda got: compare(got["y"], ref, 2 ** -6, 2 ** -8), floor, sets={"eps": "1e-5"})
        ref = rms_norm_math(x, w, 1e-5).to(torch.bfloat16)
        row_item(b, f"rmsnorm {m}x{n} bf16", "rmsnorm.tile", "rmsnorm", 2 * m * n * 2 + 2 * n,
                 {"x": x, "w": w}, "F.rms_norm", lambda: F.rms_norm(x, (n,), w, 1e-5),
                 ["y"], lambda got: compare(got["y"], ref, 2 ** -6, 2 ** -8), floor, sets={"eps": "1e-5"})
        if large:
            # fused rmsnorm + rowwise e4m3 quantisation against torch of the same math;
            # issue 21's floor is against torch.compile (eager is reported beside it)
            def fused():
                return rowwise(rms_norm_math(x, w, 1e-5))
            y_ref, _ = fused()
            nb = 3 * m * n + 4 * m + 2 * n
            peers, _ = torch_peers("torch rmsnorm + rowwise float8 cast", fused, nb)
            b.write_inputs({"x": x, "w": w})
            j, runs, got = b.tilec_bench("rmsnorm_quantize.tile", ["rmsnorm_quantize"], "", ROW_CONFIGS,
                                         {"x": x, "w": w}, sets={"eps": "1e-5"}, outs=["y", "inv_scale"])
            compiled = "torch rmsnorm + rowwise float8 cast (compiled)"
            b.add({"name": f"rmsnorm + rowwise quantize {m}x{n}", "kind": "memory", "kernel": "rmsnorm_quantize",
                   "bytes": nb, "tilec": j, "runs": runs, "peers": peers, "main_peer": compiled,
                   "check": fp8_check(got["y"], y_ref) if j else None,
                   "floor": {"ratio": 1.3, "of": compiled}})
        xf = torch.randn(m, n, device=DEV)
        ref = torch.softmax(xf, 1)
        row_item(b, f"softmax {m}x{n} f32", "softmax.tile", "softmax", 2 * m * n * 4, {"x": xf},
                 "torch.softmax", lambda: torch.softmax(xf, 1), ["y"],
                 lambda got: compare(got["y"], ref, 2 ** -14, 2 ** -20), floor)
    # a vocabulary-sized row (issue 21): 256 rows of 131072
    m, n = 256, 131072
    xf = torch.randn(m, n, device=DEV)
    ref = torch.softmax(xf, 1)
    row_item(b, f"softmax {m}x{n} f32 (vocabulary rows)", "softmax.tile", "softmax", 2 * m * n * 4, {"x": xf},
             "torch.softmax", lambda: torch.softmax(xf, 1), ["y"],
             lambda got: compare(got["y"], ref, 2 ** -14, 2 ** -20), {"ratio": 1.0})



def best_of(*results):
    """The fastest (j, runs, outs) of several tilec_bench calls, with every call's runs."""
    runs = [r for _, rr, _ in results for r in rr]
    timed = [(j, o) for j, _, o in results if j]
    if not timed:
        return None, runs, {}
    j, o = min(timed, key=lambda jo: jo[0]["cold"]["median_ms"])
    return j, runs, o


def data_items(b, quick):
    """Issue 23's data-dependent kernels: an embedding gather against copy bandwidth, the
    MoE gathered GEMM against a dense GEMM of the same FLOPs, variable-length attention
    against SDPA on the padded batch and a per-sequence SDPA loop."""
    g = torch.Generator(device=DEV).manual_seed(23)
    # embedding: out[t] = table[ids[t]] (bytes: each output row read once and written once)
    t, v, n = (4096, 32768, 4096) if quick else (32768, 131072, 4096)
    ids = torch.randint(0, v, (t,), device=DEV, generator=g, dtype=torch.int32)
    table = torch.randn(v, n, device=DEV, generator=g).to(torch.bfloat16)
    nb = 2 * t * n * 2 + 4 * t
    peers = {"F.embedding": peer_time(lambda: F.embedding(ids, table), nbytes=nb)}
    b.write_inputs({"ids": ids, "table": table})
    j, runs, outs = b.tilec_bench("embedding.tile", ["embedding"], "", [[""], ["BLOCK_T=16,BLOCK_N=512,num_warps=4"]],
                                  {"ids": ids, "table": table}, outs=["out"])
    check = compare(outs["out"], F.embedding(ids, table), 0, 0) if j else None
    b.add({"name": f"embedding gather T={t} V={v} N={n} bf16", "kind": "memory", "kernel": "embedding",
           "bytes": nb, "tilec": j, "runs": runs, "peers": peers, "main_peer": "F.embedding", "check": check,
           "floor": {"ratio": 0.8, "of": "copy bandwidth", "copy_gbps": b.results.get("copy_gbps")}})
    del table
    # MoE: y[e, c] = x[tok[e, c]] @ w[e]; every slot routed (the dense GEMM's FLOPs)
    tt, k, n, e, c = (4096, 4096, 14336, 8, 2048) if not quick else (2048, 2048, 4096, 4, 1024)
    x = (torch.randn(tt, k, device=DEV, generator=g) * 0.1).to(torch.bfloat16)
    w = (torch.randn(e, k, n, device=DEV, generator=g) * 0.02).to(torch.bfloat16)
    tok = torch.stack([torch.randperm(tt, device=DEV, generator=g)[:c] for _ in range(e)]).to(torch.int32)
    flop = 2 * e * c * k * n
    xg = x[tok.long()]   # [E, C, K]: the dense peer's operand, gathered outside its timing
    peers = {"torch.bmm (dense, same FLOPs)": peer_time(lambda: torch.bmm(xg, w), flop=flop),
             "gather + torch.bmm": peer_time(lambda: torch.bmm(x[tok.long()], w), flop=flop)}
    b.write_inputs({"x": x, "w": w, "tok": tok})
    j, runs, outs = b.tilec_bench("moe_gemm.tile", ["moe_gemm"], "", [[""], ["BLOCK_M=128,num_stages=3"]],
                                  {"x": x, "w": w, "tok": tok}, outs=["y"])
    check = compare(outs["y"][:2, :256], torch.bmm(xg[:2, :256], w[:2]), 2 ** -6, 2 ** -8) if j else None
    b.add({"name": f"MoE gathered GEMM E={e} C={c} K={k} N={n}", "kind": "dot", "dtype": "bf16", "kernel": "moe_gemm",
           "flop": flop, "tilec": j, "runs": runs, "peers": peers, "main_peer": "torch.bmm (dense, same FLOPs)",
           "check": check, "floor": {"ratio": 0.7, "of": "torch.bmm (dense, same FLOPs)"}})
    del x, w, xg
    # varlen attention: 8 sequences of mixed lengths, 16384 tokens, H=16, D=128
    lens = [512, 1024, 3072, 256, 4096, 2048, 1536, 3840]
    if quick:
        lens = [s_ // 8 for s_ in lens]
    h, d = 16, 128
    total, longest = sum(lens), max(lens)
    cu = torch.tensor([0] + list(np.cumsum(lens)), device=DEV, dtype=torch.int32)
    q, kk, vv = [torch.randn(total, h, d, device=DEV, generator=g).to(torch.bfloat16) for _ in range(3)]
    scale = 1 / math.sqrt(d)
    for causal in (False, True):
        flop = sum(4 * h * s * s * d for s in lens) / (2 if causal else 1)
        seqs = [(lo, hi) for lo, hi in zip(cu[:-1].tolist(), cu[1:].tolist())]

        def loop():
            return [F.scaled_dot_product_attention(*(t[lo:hi].transpose(0, 1) for t in (q, kk, vv)),
                                                   is_causal=causal, scale=scale) for lo, hi in seqs]
        pad = [torch.zeros(len(lens), h, longest, d, device=DEV, dtype=torch.bfloat16) for _ in range(3)]
        for i, (lo, hi) in enumerate(seqs):
            for p_, t in zip(pad, (q, kk, vv)):
                p_[i, :, :hi - lo] = t[lo:hi].transpose(0, 1)
        # the padded batch as users run it with flash (no mask: padding computed and dropped)
        peers = {"per-sequence SDPA loop": peer_time(loop, flop=flop),
                 "SDPA on the padded batch": peer_time(
                     lambda: F.scaled_dot_product_attention(*pad, is_causal=causal, scale=scale), flop=flop)}
        del pad
        b.write_inputs({"q": q, "k": kk, "v": vv, "cu_seqlens": cu})
        j, runs, outs = b.tilec_bench("varlen_attention.tile", ["varlen_attention"], "", [[""]],
                                      {"q": q, "k": kk, "v": vv, "cu_seqlens": cu},
                                      sets={"scale": repr(scale), "causal": "true" if causal else "false",
                                            "max_seqlen": str(longest)}, outs=["o"])
        check = None
        if j:
            ref = torch.cat([o.transpose(0, 1) for o in loop()])
            check = compare(outs["o"], ref, 2 ** -6, 2 ** -7)
        best = max((n_ for n_ in peers if "tflops" in peers[n_]), key=lambda n_: peers[n_]["tflops"], default=None)
        b.add({"name": f"varlen attention 8 sequences, {total} tokens, H={h} D={d}{' causal' if causal else ''}",
               "kind": "dot", "dtype": "bf16", "kernel": "varlen_attention", "flop": flop, "tilec": j, "runs": runs,
               "peers": peers, "main_peer": best, "check": check,
               "floor": {"ratio": 0.8, "of": best} if best else None})


def language_items(b, quick):
    """Issue 24's examples beside their peers: the int4-weight and W8A8 GEMMs at M=16 and
    M=4096, split-K at 512x512x65536, dropout and cumsum."""
    g = torch.Generator(device=DEV).manual_seed(24)
    n, k, groups = 4096, 4096, 32
    w4 = torch.randint(0, 256, (k // 2, n), device=DEV, generator=g, dtype=torch.int32)
    s4 = (torch.rand(groups, n, device=DEV, generator=g) * 0.09 + 0.01).to(torch.bfloat16)
    w4u8 = w4.to(torch.uint8)

    def dequant_mm(x, w, s):
        wi = w.to(torch.int32)
        lo, hi = ((wi & 15) ^ 8) - 8, ((wi >> 4) ^ 8) - 8
        q = torch.stack([lo, hi], dim=1).reshape(k, n).to(torch.float32)
        return x @ (q * s.float().repeat_interleave(k // groups, dim=0)).to(torch.bfloat16)
    deq_c = torch.compile(dequant_mm)
    wi8 = torch.randint(-128, 128, (n, k), device=DEV, generator=g, dtype=torch.int32).to(torch.int8)
    sw = torch.rand(n, device=DEV, generator=g) * 0.02 + 1e-3

    def int_mm(x8, sx):
        return (torch._int_mm(x8, wi8.t()).float() * sx[:, None] * sw[None, :]).to(torch.bfloat16)
    int_mm_c = torch.compile(int_mm)

    def bf16_mm(x8, sx):
        return ((x8.to(torch.bfloat16) @ wi8.to(torch.bfloat16).t()).float() * sx[:, None] * sw[None, :]).to(torch.bfloat16)
    bf16_mm_c = torch.compile(bf16_mm)
    for m in ((16,) if quick else (16, 4096)):
        x = (torch.randn(m, k, device=DEV, generator=g) * 0.5).to(torch.bfloat16)
        flop = 2 * m * n * k
        peers = {"torch.compile dequantise + matmul": peer_time(lambda: deq_c(x, w4u8, s4), flop=flop)}
        b.write_inputs({"x": x, "w": w4u8, "s": s4})
        j, runs, outs = b.tilec_bench("int4_gemm.tile", ["int4_gemm"], "", [[""]], {"x": x, "w": w4u8, "s": s4},
                                      outs=["y"])
        check = compare(outs["y"], dequant_mm(x, w4u8, s4), 2 ** -6, 2 ** -8) if j else None
        b.add({"name": f"int4-weight GEMM {m}x{n}x{k} (groups of {k // groups})", "kind": "dot", "dtype": "bf16",
               "kernel": "int4_gemm", "flop": flop, "tilec": j, "runs": runs, "peers": peers,
               "main_peer": "torch.compile dequantise + matmul", "check": check,
               "floor": {"ratio": 1.0, "of": "torch.compile dequantise + matmul"}})
        x8 = torch.randint(-128, 128, (m, k), device=DEV, generator=g, dtype=torch.int32).to(torch.int8)
        sx = torch.rand(m, device=DEV, generator=g) * 0.02 + 1e-3
        peers = {"torch._int_mm + scales (compiled)": peer_time(lambda: int_mm_c(x8, sx), flop=flop),
                 "bf16 matmul of the int8 values + scales (compiled)": peer_time(lambda: bf16_mm_c(x8, sx), flop=flop)}
        main = "torch._int_mm + scales (compiled)" if "tflops" in peers["torch._int_mm + scales (compiled)"] \
            else "bf16 matmul of the int8 values + scales (compiled)"
        b.write_inputs({"x": x8, "w": wi8, "sx": sx, "sw": sw})
        j, runs, outs = b.tilec_bench("w8a8_gemm.tile", ["w8a8_gemm"], "", [[""]], {"x": x8, "w": wi8, "sx": sx, "sw": sw},
                                      outs=["y"])
        check = compare(outs["y"], bf16_mm(x8, sx), 2 ** -6, 2 ** -8) if j else None
        b.add({"name": f"W8A8 GEMM {m}x{n}x{k}", "kind": "dot", "dtype": "i8", "kernel": "w8a8_gemm", "flop": flop,
               "tilec": j, "runs": runs, "peers": peers, "main_peer": main, "check": check,
               "floor": {"ratio": 1.0, "of": main}})
    # split-K: 512 x 512 x 65536, f32 partial sums by atomics
    m, n, k = 512, 512, 65536
    a = torch.randn(m, k, device=DEV, generator=g).to(torch.bfloat16)
    bb = torch.randn(k, n, device=DEV, generator=g).to(torch.bfloat16)
    flop = 2 * m * n * k
    peers = {"torch.matmul": peer_time(lambda: a @ bb, flop=flop)}
    b.write_inputs({"a": a, "b": bb})
    j, runs, outs = best_of(*(b.tilec_bench("split_k_gemm.tile", ["split_k_gemm"], "", [[""]], {"a": a, "b": bb},
                                            sets={"split": str(sp)}, outs=["c"]) for sp in (8, 16)))
    check = compare(outs["c"], (a.float() @ bb.float()), 2 ** -10, 2 ** -14) if j else None
    b.add({"name": f"split-K GEMM {m}x{n}x{k} (f32 out; best of split 8, 16)", "kind": "dot", "dtype": "bf16",
           "kernel": "split_k_gemm", "flop": flop, "tilec": j, "runs": runs, "peers": peers, "main_peer": "torch.matmul",
           "check": check, "floor": {"ratio": 0.9, "of": "torch.matmul"}})
    del a, bb
    # dropout (p = 0.1) and cumsum
    x = torch.randn(16384, 4096, device=DEV, generator=g).to(torch.bfloat16)
    nb = 2 * x.numel() * 2
    peers = {"F.dropout": peer_time(lambda: F.dropout(x, 0.1, training=True), nbytes=nb)}
    b.write_inputs({"x": x})
    j, runs, outs = b.tilec_bench("dropout.tile", ["dropout"], "", [[""], ["BLOCK_M=4,BLOCK_N=256,num_warps=4"]],
                                  {"x": x}, sets={"seed": "1", "p": "0.1"}, outs=["y"])
    check = None
    if j:
        kept = float((outs["y"] != 0).mean())   # bf16 outputs come back as f32 .npy
        check = {"ok": abs(kept - 0.9) < 0.01, "detail": f"kept fraction {kept:.4f} (p = 0.1; bits checked by the sweep)"}
    b.add({"name": "dropout 16384x4096 bf16 p=0.1", "kind": "memory", "kernel": "dropout", "bytes": nb, "tilec": j,
           "runs": runs, "peers": peers, "main_peer": "F.dropout", "check": check,
           "floor": {"ratio": 1.0, "of": "F.dropout"}})
    xf = torch.randn(4096, 4096, device=DEV, generator=g)
    nb = 2 * xf.numel() * 4
    peers = {"torch.cumsum": peer_time(lambda: torch.cumsum(xf, 1), nbytes=nb)}
    b.write_inputs({"x": xf})
    j, runs, outs = b.tilec_bench("cumsum.tile", ["cumsum_rows"], "", [[""]], {"x": xf}, outs=["y"])
    check = compare(outs["y"], torch.cumsum(xf.double(), 1), 2 ** -12, 2 ** -12) if j else None
    b.add({"name": "cumsum 4096x4096 f32 (rows)", "kind": "memory", "kernel": "cumsum_rows", "bytes": nb, "tilec": j,
           "runs": runs, "peers": peers, "main_peer": "torch.cumsum", "check": check,
           "floor": {"ratio": 1.0, "of": "torch.cumsum"}})

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results_dir")
    ap.add_argument("--tilec", default=os.path.join(ROOT, "build", "tilec"))
    ap.add_argument("--quick", action="store_true", help="the floors' items only")
    ap.add_argument("--only", default="")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--triton-peers", help="plain Triton's peer script (run after tilec's items)")
    ap.add_argument("--wgmma-probe", help="the wgmma ceiling probe (.cu, built with nvcc)")
    ap.add_argument("--no-mma-probe", action="store_true",
                    help="skip the mma.sync ceiling (a call that times memory-bound steps only)")
    args = ap.parse_args()
    os.makedirs(args.results_dir, exist_ok=True)
    torch.manual_seed(0)
    b = Bench(args.tilec, args.results_dir, args.reps)
    steps = [("gemm", gemm_items), ("fp8_gemm", fp8_gemm_items), ("attention", attention_items),
             ("fp8_attention", fp8_attention_items), ("gqa_attention", gqa_attention_items),
             ("attention_variants", attention_variant_items),
             ("quantize", lambda bb, q: quantize_items(bb, q, b.results["copy_gbps"])), ("rows", row_items),
             ("data", data_items), ("language", language_items)]
    only = [o for o in args.only.split(",") if o]
    unknown = [o for o in only if o not in [name for name, _ in steps]]
    if unknown:
        sys.exit(f"run_bench: unknown step {', '.join(unknown)} (steps: {', '.join(n for n, _ in steps)})")
    b.results["device"] = torch.cuda.get_device_name()
    b.results["torch"] = torch.__version__
    if not args.no_mma_probe:
        b.results["mma_sync_ceiling_tflops"] = mma_ceiling(args.results_dir)
    if args.wgmma_probe:
        b.results["wgmma_ceiling_tflops"] = wgmma_ceiling(args.wgmma_probe, args.results_dir)
    b.results["copy_gbps"] = copy_bandwidth()
    print(f"copy bandwidth {b.results['copy_gbps']:.0f} GB/s")
    if args.triton_peers:
        t0 = time.time()
        triton_peers(b, args.triton_peers, 300)
        print(f"[triton: {time.time() - t0:.1f} s]", flush=True)
    for name, step in steps:
        if only and name not in only:
            continue
        t0 = time.time()
        b.results.setdefault("steps", []).append(name)
        try:
            step(b, args.quick)
        except Exception as e:
            b.results.setdefault("errors", []).append(f"{name}: {e!r}"[:400])
            print(f"{name} failed: {e!r}")
        print(f"[{name}: {time.time() - t0:.1f} s]", flush=True)
        torch.cuda.empty_cache()
        b.save()   # a call cut short keeps the steps it finished
    b.results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    b.save()
    print(subprocess.run([sys.executable, os.path.join(ROOT, "bench", "render.py"), args.results_dir],
                         capture_output=True, text=True).stdout)


if __name__ == "__main__":
    main()
