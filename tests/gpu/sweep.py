#!/usr/bin/env python3
"""The device sweep: every example kernel on the GPU against torch computed on the GPU.

usage: python3 tests/gpu/sweep.py OUT_DIR [--tilec PATH] [--jobs N] [--only SUBSTRING,...]
                                  [--machinery-only | --no-machinery] [--deadline SECONDS]

Runs on the device machine (torch and numpy there). For each kernel, at least 30 shapes
(odd M, N and K such as 93 and 1001; attention with M != N, D 64 and 128, causal and not)
each under two configs of the kernel's list (so every config is used), some with an input
passed as a non-contiguous view (a transposed tensor saved as a Fortran-order .npy, which
tilec keeps strided on the device). Each case drives `tilec run --in ... --out ...`: inputs
are made with torch on the GPU and rounded to the kernel's dtypes, the reference is torch in
float64 on the GPU from those same rounded inputs, and every output is compared with a
tolerance from the rounding involved (README of this folder: tests/gpu/README.md). tilec
checks its guard bands itself: a stray store makes the run fail. Small cases also run with
`--check` (the GPU against the interpreter).

First it tests the launcher on hand-written PTX (tests/gpu/ptx/): a strided copy, a copy
with a deliberate out-of-bounds store that the guard bands must catch, and a scaled sum
into a reduction target; then codegen regressions in tests/gpu/kernels/ on the GPU against
the interpreter (`tilec run --check`, and for math_builtins.tile also `--arith=gpu`, where
sin, cos and integer powers must match bit for bit; for rand.tile every output). The math built-ins also run as a kernel
of the table: wide-range inputs (and ±0, ±inf, NaN, subnormals) against torch in float64,
within the GPU's ulp bounds of docs/language.md (Math functions). dropout (rand's Philox)
is compared bit for bit with a torch re-implementation of the same Philox 4x32-10, itself
checked against Random123's published answers. w8a8_gemm's product is torch's exact int64
one (on the CPU: CUDA has no int64 matmul) times the scales; int4_gemm's reference is
torch's float64 product with the weight dequantised to bf16 as the kernel rounds it; the
small integers and bit operations (tests/gpu/kernels/small_ints.tile) run against the
interpreter bit for bit on sm_90a, sm_89 and sm_80 code.
the interpreter (`tilec run --check`), gathers and scatters among them, and an id outside
its table, which must fail with libtile's index fault.

Prints a table per kernel and `N passed, N failed`; writes results.json and failures.txt
into OUT_DIR.
"""
import argparse
import concurrent.futures as futures
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

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEV = "cuda"
E4M3 = torch.float8_e4m3fn
E5M2 = torch.float8_e5m2


# ---- files

def save_npy(path, t, fortran=False):
    """A torch tensor as .npy in tilec's accepted forms: exact bits for bf16/fp8."""
    t = t.detach()
    if t.dtype == torch.bfloat16:
        arr = t.contiguous().view(torch.int16).cpu().numpy().view(np.uint16)
    elif t.dtype in (E4M3, E5M2):
        arr = t.contiguous().view(torch.uint8).cpu().numpy()
    else:
        arr = t.contiguous().cpu().numpy()
    if fortran:
        arr = np.asfortranarray(arr)
    np.save(path, arr)


def fp8_codes(values, dtype):
    """Exact fp8 values (float) to their codes' order (sign-magnitude as signed ints)."""
    codes = torch.as_tensor(values, device=DEV).float().to(dtype).view(torch.uint8).to(torch.int32)
    mag = codes & 0x7F
    return torch.where(codes >= 128, -mag, mag)


# ---- comparisons: each returns (ok, worst error / tolerance, detail)

def close(out, ref, rel, floor):
    """|out - ref| <= rel |ref| + floor max|ref|, NaN only where the reference has NaN."""
    out = torch.as_tensor(out, device=DEV, dtype=torch.float64)
    ref = ref.to(torch.float64)
    if out.shape != ref.shape:
        return False, math.inf, f"shape {tuple(out.shape)} != {tuple(ref.shape)}"
    nan_ok = torch.equal(torch.isnan(out), torch.isnan(ref))
    finite = torch.isfinite(ref)
    max_ref = ref[finite].abs().max().item() if finite.any() else 0.0
    tol = rel * ref.abs() + floor * max_ref + 1e-30
    err = (out - ref).abs()
    err = torch.where(torch.isnan(ref) | (torch.isinf(ref) & (out == ref)), torch.zeros_like(err), err)
    ratio = (err / tol).max().item() if err.numel() else 0.0
    if math.isnan(ratio):
        ratio = math.inf
    ok = nan_ok and ratio <= 1.0
    return ok, ratio, f"max abs err {err.max().item() if err.numel() else 0:.3g}, max|ref| {max_ref:.3g}"


def fp8_close(out, ref_codes_of, dtype, steps=1):
    a = fp8_codes(out, dtype)
    b = ref_codes_of
    if a.shape != b.shape:
        return False, math.inf, f"shape {tuple(a.shape)} != {tuple(b.shape)}"
    apart = (a - b).abs().max().item() if a.numel() else 0
    return apart <= steps, apart / steps if steps else apart, f"{apart} fp8 steps apart at most"


def merge(results):
    ok = all(r[0] for r in results)
    ratio = max((r[1] for r in results), default=0.0)
    return ok, ratio, "; ".join(r[2] for r in results)


# ---- the kernels: shapes, configs, inputs, references

def rng(seed):
    g = torch.Generator(device=DEV)
    g.manual_seed(seed)
    return g


def uniform(shape, g, lo=-1.0, hi=1.0):
    return torch.rand(shape, generator=g, device=DEV, dtype=torch.float32) * (hi - lo) + lo


def gemm_shapes():
    dims = [1, 7, 16, 33, 64, 93, 128, 129, 200, 255, 256, 1001]
    out = [(93, 1001, 77), (1001, 93, 1001), (67, 45, 93), (128, 128, 128), (1, 1, 1), (255, 257, 129)]
    r = np.random.default_rng(11)
    while len(out) < 32:
        s = tuple(int(r.choice(dims)) for _ in range(3))
        if s not in out:
            out.append(s)
    return out


def attention_shapes():
    out = [(1, 2, 129, 77, 64, False), (1, 2, 77, 129, 64, True), (2, 3, 128, 128, 128, True),
           (1, 1, 1, 1, 64, False), (1, 1, 257, 257, 128, False), (1, 2, 200, 64, 128, True),
           (1, 1, 64, 300, 64, True), (1, 1, 93, 93, 48, False)]
    r = np.random.default_rng(12)
    seqs = [1, 16, 17, 64, 77, 128, 129, 200, 257]
    while len(out) < 32:
        s = (int(r.choice([1, 2])), int(r.choice([1, 2, 3])), int(r.choice(seqs)),
             int(r.choice(seqs)), int(r.choice([64, 128])), bool(r.integers(2)))
        if s not in out:
            out.append(s)
    return out


def rows_shapes(wide=4096):
    out = [(93, 1001), (1, 1), (1001, 93), (64, wide), (3, 17)]
    r = np.random.default_rng(13)
    dims = [1, 3, 17, 64, 93, 128, 255, 256, 1001, 2048]
    while len(out) < 32:
        s = (int(r.choice(dims)), int(r.choice(dims)))
        if s not in out:
            out.append(s)
    return out


# Every config runs on sm_90a: BLOCK_M below a warpgroup's 64 rows takes mma.sync (dot=2);
# the rest cover wgmma with cp.async groups (ws=0), the TMA ring (one or two warpgroups on a
# tile), and ping-pong tile groups.
GEMM_CONFIGS = ["", "BLOCK_M=16,BLOCK_N=16,BLOCK_K=16,num_warps=4,num_stages=1,dot=2",
                "BLOCK_M=128,BLOCK_N=128,BLOCK_K=64,num_warps=8,num_stages=3,group_m=8",
                "BLOCK_M=256,BLOCK_N=64,BLOCK_K=32,num_warps=8,num_stages=2,ws=0",
                "BLOCK_M=128,BLOCK_N=256,BLOCK_K=64,num_warps=8,num_stages=4",
                "BLOCK_M=128,BLOCK_N=128,BLOCK_K=64,num_warps=4,num_stages=4,tile_groups=2",
                "BLOCK_M=32,BLOCK_N=256,BLOCK_K=32,num_warps=4,num_stages=4,dot=2"]
FP8_GEMM_CONFIGS = ["", "BLOCK_M=16,BLOCK_N=16,BLOCK_K=32,num_warps=4,num_stages=1,dot=2",
                    "BLOCK_M=128,BLOCK_N=128,BLOCK_K=128,num_warps=8,num_stages=3,group_m=8",
                    "BLOCK_M=64,BLOCK_N=256,BLOCK_K=64,num_warps=8,num_stages=2",
                    "BLOCK_M=128,BLOCK_N=128,BLOCK_K=128,num_warps=4,num_stages=4,tile_groups=2"]
ATTN_CONFIGS = ["", "BLOCK_M=16,BLOCK_N=16,num_warps=4,num_stages=1,dot=2",
                "BLOCK_M=128,BLOCK_N=64,num_warps=8,num_stages=2",
                "BLOCK_M=64,BLOCK_N=128,num_warps=4,num_stages=3",
                "BLOCK_M=128,BLOCK_N=128,num_warps=8,num_stages=2",
                "BLOCK_M=64,BLOCK_N=128,num_warps=4,num_stages=2,tile_groups=2"]


def row_configs(inner):
    return ["", f"BLOCK_M=1,{inner}=16,num_warps=4,num_stages=1",
            f"BLOCK_M=16,{inner}=256,num_warps=8,num_stages=3",
            f"BLOCK_M=64,{inner}=32,num_warps=4,num_stages=2"]


def tile_configs(inner):
    return ["", f"BLOCK_M=16,{inner}=16,num_warps=4,num_stages=1",
            f"BLOCK_M=256,{inner}=256,num_warps=8,num_stages=2",
            f"BLOCK_M=32,{inner}=128,num_warps=4,num_stages=3,group_m=8"]


class Case:
    """One run: the command's inputs and sets, and how to judge its outputs."""

    def __init__(self, kernel, file, shape_text, config, inputs, sets, outputs, judge, fortran=()):
        self.kernel, self.file, self.shape_text, self.config = kernel, file, shape_text, config
        self.inputs, self.sets, self.outputs, self.judge = inputs, sets, outputs, judge
        self.fortran = set(fortran)
        self.check = False


def make_gemm(i, shape, g):
    m, n, k = shape
    a = uniform((m, k), g).to(torch.bfloat16)
    b = uniform((k, n), g).to(torch.bfloat16)
    ref = a.double() @ b.double()
    return {"a": a, "b": b}, {}, ["c"], lambda o: close(o["c"], ref, 2 ** -7, 2 ** -10), \
        (["b"] if i % 4 == 1 else ["a"] if i % 4 == 3 else [])


def bmm_shapes():
    out = [(3, 77, 45, 93), (1, 1, 1, 1), (64, 64, 64, 64), (5, 129, 255, 200), (2, 1001, 93, 77)]
    r = np.random.default_rng(12)
    while len(out) < 30:
        s = (int(r.choice([1, 2, 3, 7, 16])),) + tuple(int(r.choice([1, 16, 33, 93, 128, 200, 257]))
                                                     for _ in range(3))
        if s not in out:
            out.append(s)
    return out


def make_bmm(i, shape, g):
    z, m, n, k = shape
    a = uniform((z, m, k), g).to(torch.bfloat16)
    b = uniform((z, k, n), g).to(torch.bfloat16)
    ref = torch.bmm(a.double(), b.double())
    return {"a": a, "b": b}, {}, ["c"], lambda o: close(o["c"], ref, 2 ** -7, 2 ** -10), \
        (["b"] if i % 4 == 1 else [])


F32_DOT_TILE = os.path.join(ROOT, "tests", "gpu", "kernels", "f32_dot.tile")
F32_GEMM_CONFIGS = ["", "BLOCK_M=16,BLOCK_N=16,BLOCK_K=16,num_warps=4",
                    "BLOCK_M=64,BLOCK_N=64,BLOCK_K=32,num_warps=4,num_stages=1",
                    "BLOCK_M=128,BLOCK_N=64,BLOCK_K=16,num_warps=8",
                    "BLOCK_M=32,BLOCK_N=128,BLOCK_K=64,num_warps=4,dot=2"]


def tf32_round(x):
    """cvt.rna.tf32.f32 on f32 values: 10 mantissa bits, ties away from zero."""
    u = x.view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    finite = (u & 0x7F800000) != 0x7F800000
    r = torch.where(finite, (u + 0x1000) & ~0x1FFF, u)
    return (r - ((r >> 31) << 32)).to(torch.int32).view(torch.float32)


def make_f32_gemm(tf32):
    """Exact f32 (torch's default, no tf32): within (k + 1)·2^-24·(|a|@|b|) of float64;
    tf32: the same of the product of tf32-rounded operands."""
    def make(i, shape, g):
        m, n, k = shape
        a = uniform((m, k), g)
        b = uniform((k, n), g)
        ra, rb = (tf32_round(a), tf32_round(b)) if tf32 else (a, b)
        ref = ra.double() @ rb.double()
        bound = (k + 1) * 2.0 ** -24 * (a.double().abs() @ b.double().abs())

        def judge(o):
            out = torch.as_tensor(o["c"], device=DEV, dtype=torch.float64)
            if out.shape != ref.shape:
                return False, math.inf, f"shape {tuple(out.shape)} != {tuple(ref.shape)}"
            ratio = ((out - ref).abs() / (bound + 1e-30)).max().item() if out.numel() else 0.0
            if math.isnan(ratio):
                ratio = math.inf
            return ratio <= 1.0, ratio, f"max error / f32 summation bound {ratio:.3g}"
        return {"a": a, "b": b}, {}, ["c"], judge, (["b"] if i % 3 == 1 else [])
    return make


def make_fp8_gemm(rowwise):
    def make(i, shape, g):
        m, n, k = shape
        a = (uniform((m, k), g) * 8).to(E4M3)
        b = (uniform((n, k), g) * 8).to(E4M3)
        if rowwise:
            sa = uniform((m,), g, 0.5, 1.5)
            sb = uniform((n,), g, 0.5, 1.5)
            ref = (a.double() @ b.double().T) * sa.double()[:, None] * sb.double()[None, :]
        else:
            sa = torch.tensor([0.25], device=DEV)
            sb = torch.tensor([0.125], device=DEV)
            ref = (a.double() @ b.double().T) * 0.25 * 0.125
        return {"a": a, "b": b, "scale_a": sa, "scale_b": sb}, {}, ["c"], \
            lambda o: close(o["c"], ref, 2 ** -7, 2 ** -10), (["a"] if i % 5 == 2 else [])
    return make


W8A8_CONFIGS = ["", "BLOCK_M=16,BLOCK_N=16,BLOCK_K=32,num_warps=4,num_stages=1",
                "BLOCK_M=128,BLOCK_N=128,BLOCK_K=128,num_warps=8,num_stages=3,group_m=8",
                "BLOCK_M=64,BLOCK_N=256,BLOCK_K=64,num_warps=8,num_stages=2",
                "BLOCK_M=32,BLOCK_N=64,BLOCK_K=64,num_warps=4,num_stages=4,dot=mma_sync"]
INT4_CONFIGS = ["", "BLOCK_M=16,BLOCK_N=16,BLOCK_KK=16,num_warps=4,num_stages=1",
                "BLOCK_M=64,BLOCK_N=128,BLOCK_KK=32,num_warps=4,num_stages=2,dot=mma_sync",
                "BLOCK_M=128,BLOCK_N=128,BLOCK_KK=32,num_warps=8,num_stages=3"]


def make_w8a8_gemm(i, shape, g):
    """int8 x int8 -> exact i32 (torch on int64), scaled per row and column, bf16 out."""
    m, n, k = shape
    x = torch.randint(-128, 128, (m, k), generator=g, device=DEV, dtype=torch.int32).to(torch.int8)
    w = torch.randint(-128, 128, (n, k), generator=g, device=DEV, dtype=torch.int32).to(torch.int8)
    sx = uniform((m,), g, 1e-3, 2e-2)
    sw = uniform((n,), g, 1e-3, 2e-2)
    acc = (x.long().cpu() @ w.long().cpu().T).to(DEV).double()
    ref = acc * sx.double()[:, None] * sw.double()[None, :]
    return {"x": x, "w": w, "sx": sx, "sw": sw}, {}, ["y"], \
        lambda o: close(o["y"], ref, 2 ** -7, 2 ** -20), (["x"] if i % 5 == 2 else [])


def int4_shapes():
    """gemm's shapes with K doubled (K2 = the packed rows) and 1, 2 or 4 scale groups."""
    return [(m, n, 2 * k, k, 4 if k % 4 == 0 else 2 if k % 2 == 0 else 1) for m, n, k in gemm_shapes()]


def make_int4_gemm(i, shape, g):
    """Signed int4 pairs in a u8 (k = 2kk low nibble, 2kk + 1 high), group scales: the
    dequantised weight in bf16 (as the kernel rounds it), then torch's product in float64."""
    m, n, k, k2, groups = shape
    x = uniform((m, k), g).to(torch.bfloat16)
    w = torch.randint(0, 256, (k2, n), generator=g, device=DEV, dtype=torch.int32)
    s = uniform((groups, n), g, 0.01, 0.1).to(torch.bfloat16)
    lo, hi = ((w & 15) ^ 8) - 8, ((w >> 4) ^ 8) - 8
    q = torch.stack([lo, hi], dim=1).reshape(k, n).double()
    scale = s.double().repeat_interleave(k // groups, dim=0)
    deq = (q * scale).float().to(torch.bfloat16).double()
    ref = x.double() @ deq
    return {"x": x, "w": w.to(torch.uint8), "s": s}, {}, ["y"], \
        lambda o: close(o["y"], ref, 2 ** -7, 2 ** -10), []


def attention_reference(q, k, v, scale, causal, fp8_p=False, descale=(1.0, 1.0, 1.0), window=None):
    s = (q.double() @ k.double().transpose(-1, -2)) * scale * descale[0] * descale[1]
    m, n = s.shape[-2], s.shape[-1]
    if causal:
        back = torch.arange(m, device=DEV)[:, None] - torch.arange(n, device=DEV)[None, :]
        keep = (back >= 0) & (back < window) if window is not None else back >= 0
        s = s.masked_fill(~keep, -math.inf)
    p = torch.exp(s - s.amax(-1, keepdim=True))
    l = p.sum(-1, keepdim=True)
    if fp8_p:
        p = (p * 448).float().to(E4M3).double() / 448
    return (p @ v.double()) * descale[2] / l


def make_attention(i, shape, g):
    z, h, m, n, d, causal = shape
    q = uniform((z, h, m, d), g).to(torch.bfloat16)
    k = uniform((z, h, n, d), g).to(torch.bfloat16)
    v = uniform((z, h, n, d), g).to(torch.bfloat16)
    scale = 1.0 / math.sqrt(d)
    ref = attention_reference(q, k, v, scale, causal)
    sets = {"scale": repr(scale), "causal": "true" if causal else "false"}
    return {"q": q, "k": k, "v": v}, sets, ["o"], lambda o: close(o["o"], ref, 2 ** -6, 2 ** -7), \
        (["k"] if i % 5 == 4 else [])


def gqa_shapes():
    """(Z, G, R, M, N, D, causal): G key/value heads, R query heads each (MQA at G=1)."""
    out = [(1, 2, 3, 129, 77, 64, False), (1, 1, 4, 77, 129, 64, True), (2, 2, 2, 128, 128, 128, True),
           (1, 4, 1, 65, 65, 128, False), (1, 1, 1, 1, 1, 64, False), (1, 2, 4, 257, 200, 128, True)]
    r = np.random.default_rng(13)
    seqs = [1, 16, 17, 64, 77, 128, 129, 200, 257]
    while len(out) < 16:
        s = (int(r.choice([1, 2])), int(r.choice([1, 2, 4])), int(r.choice([1, 2, 3])), int(r.choice(seqs)),
             int(r.choice(seqs)), int(r.choice([64, 128])), bool(r.integers(2)))
        if s not in out:
            out.append(s)
    return out


def make_gqa_attention(i, shape, g):
    z, kv, r, m, n, d, causal = shape
    q = uniform((z, kv, r, m, d), g).to(torch.bfloat16)
    k = uniform((z, kv, n, d), g).to(torch.bfloat16)
    v = uniform((z, kv, n, d), g).to(torch.bfloat16)
    scale = 1.0 / math.sqrt(d)
    # each key/value head repeated for its R query heads, as SDPA's enable_gqa does
    ref = attention_reference(q.reshape(z, kv * r, m, d), k.repeat_interleave(r, dim=1),
                              v.repeat_interleave(r, dim=1), scale, causal).reshape(z, kv, r, m, d)
    sets = {"scale": repr(scale), "causal": "true" if causal else "false"}
    return {"q": q, "k": k, "v": v}, sets, ["o"], lambda o: close(o["o"], ref, 2 ** -6, 2 ** -7), \
        (["v"] if i % 5 == 4 else [])


def window_shapes():
    """(Z, H, M, N, D, window): windows shorter than a block, across blocks, past the
    sequence, and 1 (each query sees itself alone)."""
    out = [(1, 2, 129, 129, 64, 5), (1, 2, 200, 150, 128, 64), (2, 1, 257, 257, 64, 300),
           (1, 1, 65, 65, 128, 1), (1, 3, 77, 129, 64, 33)]
    r = np.random.default_rng(14)
    seqs = [1, 17, 64, 77, 128, 129, 200, 257]
    while len(out) < 14:
        s = (1, int(r.choice([1, 2])), int(r.choice(seqs)), int(r.choice(seqs)), int(r.choice([64, 128])),
             int(r.choice([1, 3, 16, 63, 64, 65, 200])))
        if s not in out:
            out.append(s)
    return out


def make_window_attention(i, shape, g):
    z, h, m, n, d, window = shape
    q = uniform((z, h, m, d), g).to(torch.bfloat16)
    k = uniform((z, h, n, d), g).to(torch.bfloat16)
    v = uniform((z, h, n, d), g).to(torch.bfloat16)
    scale = 1.0 / math.sqrt(d)
    ref = attention_reference(q, k, v, scale, True, window=window)
    return {"q": q, "k": k, "v": v}, {"scale": repr(scale), "window": str(window)}, ["o"], \
        lambda o: close(o["o"], ref, 2 ** -6, 2 ** -7), (["k"] if i % 5 == 4 else [])


def make_fp8_attention(i, shape, g):
    z, h, m, n, d, causal = shape
    q = (uniform((z, h, m, d), g) * 16).to(E4M3)
    k = (uniform((z, h, n, d), g) * 16).to(E4M3)
    v = (uniform((z, h, n, d), g) * 16).to(E4M3)
    dq, dk, dv = 1 / 16, 1 / 16, 1 / 16
    scale = 1.0 / math.sqrt(d)
    ref = attention_reference(q, k, v, scale, causal, fp8_p=True, descale=(dq, dk, dv))
    ins = {"q": q, "k": k, "v": v, "descale_q": torch.tensor([dq], device=DEV),
           "descale_k": torch.tensor([dk], device=DEV), "descale_v": torch.tensor([dv], device=DEV)}
    sets = {"scale": repr(scale), "causal": "true" if causal else "false"}
    # P is rounded to e4m3 relative to the running maximum in the kernel, to the final one
    # here: each probability may land one e4m3 step (2^-3 relative) apart
    return ins, sets, ["o"], lambda o: close(o["o"], ref, 2 ** -4, 2 ** -4), \
        (["q"] if i % 5 == 4 else [])


def make_amax(i, shape, g):
    m, k = shape
    x = uniform((m, k), g, -3, 3).to(torch.bfloat16)
    ref = x.double().abs().max().reshape(1)
    return {"x": x}, {}, ["out"], lambda o: close(o["out"], ref, 0, 0), (["x"] if i % 4 == 3 else [])


def make_quantize(fp8, fmax):
    def make(i, shape, g):
        m, k = shape
        x = uniform((m, k), g, -3, 3).to(torch.bfloat16)
        amax = x.float().abs().max().reshape(1)
        scale = (torch.tensor(fmax, device=DEV) / torch.clamp(amax, min=1e-12)).float()
        y = (x.float() * scale).clamp(-fmax, fmax)
        codes = fp8_codes(y, fp8)
        inv = (1.0 / scale).double()
        return {"x": x, "amax": amax}, {}, ["y", "inv_scale"], \
            lambda o: merge([fp8_close(o["y"], codes, fp8), close(o["inv_scale"], inv, 2 ** -22, 0)]), \
            (["x"] if i % 4 == 3 else [])
    return make


def make_rowwise_quantize(i, shape, g):
    m, k = shape
    x = uniform((m, k), g, -3, 3).to(torch.bfloat16)
    row_amax = x.float().abs().amax(1)
    scale = (448.0 / torch.clamp(row_amax, min=1e-12)).float()
    y = (x.float() * scale[:, None]).clamp(-448, 448)
    codes = fp8_codes(y, E4M3)
    inv = (1.0 / scale).double()
    return {"x": x}, {}, ["y", "inv_scale"], \
        lambda o: merge([fp8_close(o["y"], codes, E4M3), close(o["inv_scale"], inv, 2 ** -22, 0)]), \
        (["x"] if i % 4 == 3 else [])


def make_layernorm(i, shape, g):
    m, n = shape
    x = uniform((m, n), g, -2, 2).to(torch.bfloat16)
    w = uniform((n,), g, 0.5, 1.5).to(torch.bfloat16)
    b = uniform((n,), g).to(torch.bfloat16)
    eps = 1e-5
    xd = x.double()
    mean = xd.mean(1, keepdim=True)
    var = (xd * xd).mean(1, keepdim=True) - mean * mean
    ref = (xd - mean) / torch.sqrt(var + eps) * w.double() + b.double()
    # bf16 output; the f32 statistics' cancellation (s2/N - mean^2) is tiny for these data
    return {"x": x, "w": w, "b": b}, {"eps": repr(eps)}, ["y"], \
        lambda o: close(o["y"], ref, 2 ** -7, 2 ** -9), (["x"] if i % 4 == 3 else [])


def make_rmsnorm(i, shape, g):
    """examples/rmsnorm.tile against float64: x / sqrt(mean(x^2) + eps) * w, bf16 out."""
    m, n = shape
    x = uniform((m, n), g, -2, 2).to(torch.bfloat16)
    w = uniform((n,), g, 0.5, 1.5).to(torch.bfloat16)
    eps = 1e-5
    xd = x.double()
    ref = xd / torch.sqrt((xd * xd).mean(1, keepdim=True) + eps) * w.double()
    return {"x": x, "w": w}, {"eps": repr(eps)}, ["y"], \
        lambda o: close(o["y"], ref, 2 ** -7, 2 ** -9), (["x"] if i % 4 == 3 else [])


def make_rmsnorm_quantize(i, shape, g):
    """examples/rmsnorm_quantize.tile: rmsnorm in float64, then rowwise_quantize's scaling
    (448 / max|row|); the f32 statistics and rsqrt move a code by at most one e4m3 step."""
    m, n = shape
    x = uniform((m, n), g, -2, 2).to(torch.bfloat16)
    w = uniform((n,), g, 0.5, 1.5).to(torch.bfloat16)
    eps = 1e-5
    xd = x.double()
    h = xd / torch.sqrt((xd * xd).mean(1, keepdim=True) + eps) * w.double()
    scale = 448.0 / torch.clamp(h.abs().amax(1), min=1e-12)
    codes = fp8_codes((h * scale[:, None]).clamp(-448, 448).float(), E4M3)
    return {"x": x, "w": w}, {"eps": repr(eps)}, ["y", "inv_scale"], \
        lambda o: merge([fp8_close(o["y"], codes, E4M3), close(o["inv_scale"], 1.0 / scale, 2 ** -18, 0)]), \
        (["x"] if i % 4 == 3 else [])


def make_softmax(i, shape, g):
    m, n = shape
    x = uniform((m, n), g, -8, 8)
    ref = torch.softmax(x.double(), 1)
    return {"x": x}, {}, ["y"], lambda o: close(o["y"], ref, 2 ** -14, 2 ** -22), \
        (["x"] if i % 4 == 3 else [])


# The math built-ins (tests/gpu/kernels/math_builtins.tile) against torch in float64 on the
# GPU, within docs/language.md's GPU bounds (Math functions): output: (reference of x, bound
# in ulps, range of x where it holds, absolute bound elsewhere).
MATH_TILE = os.path.join(ROOT, "tests", "gpu", "kernels", "math_builtins.tile")
TRIG_LIMIT = 2.0 ** 22


def gelu_tanh_reference(x):
    return x * torch.sigmoid(2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))


MATH_OUTPUTS = {
    "t": (torch.tanh, 5, (-math.inf, math.inf), 0.0),
    "e": (torch.erf, 3, (-math.inf, math.inf), 0.0),
    "s": (torch.sigmoid, 8, (-87, math.inf), 2.0 ** -125),
    "l": (lambda x: x * torch.sigmoid(x), 9, (-87, math.inf), 2.0 ** -119),
    "g": (lambda x: 0.5 * x * torch.erfc(-x / math.sqrt(2)), 15, (-7.07, math.inf), 2.0 ** -37),
    "gt": (gelu_tanh_reference, 9, (-10, math.inf), 2.0 ** -119),
    "sn": (lambda x: torch.where(x.abs() <= TRIG_LIMIT, torch.sin(x), math.nan), 2.5,
           (-TRIG_LIMIT, TRIG_LIMIT), 0.0),
    "cs": (lambda x: torch.where(x.abs() <= TRIG_LIMIT, torch.cos(x), math.nan), 2.5,
           (-TRIG_LIMIT, TRIG_LIMIT), 0.0),
}


def ulp_close(out, ref, x, bound, lo_hi, outside):
    """out within `bound` ulps of f32 of ref where lo <= x <= hi, within `outside` absolute
    elsewhere; NaN exactly where the reference has NaN, infinities equal."""
    out = torch.as_tensor(out, device=DEV, dtype=torch.float64)
    want = ref.float().double()
    nan_ok = torch.equal(torch.isnan(out), torch.isnan(want))
    inf = torch.isinf(want)
    inf_ok = torch.equal(out[inf], want[inf])
    ulp = torch.exp2(torch.floor(torch.log2(ref.abs().clamp(min=2.0 ** -126))) - 23)
    in_range = (x >= lo_hi[0]) & (x <= lo_hi[1])
    limit = torch.where(in_range, bound * ulp, torch.full_like(ulp, outside))
    fin = torch.isfinite(want) & ~torch.isnan(out)
    err = torch.where(fin, (out - ref).abs(), torch.zeros_like(ref))
    ratio = torch.where(fin, err / (limit + 1e-300), torch.zeros_like(ref)).max().item() if err.numel() else 0.0
    worst_ulp = torch.where(fin & in_range, err / ulp, torch.zeros_like(ref)).max().item() if err.numel() else 0.0
    return nan_ok and inf_ok and ratio <= 1.0, ratio, f"worst {worst_ulp:.2f} ulp" + \
        ("" if nan_ok else ", NaN positions differ") + ("" if inf_ok else ", infinities differ")


def math_shapes():
    return [(93, 1001), (1, 1), (256, 300), (1001, 77), (17, 64), (64, 4096), (3, 17), (200, 255)]


MATH_CONFIGS = ["", "BLOCK_M=16,BLOCK_N=16,num_warps=4", "BLOCK_M=32,BLOCK_N=64,num_warps=8",
                "BLOCK_M=1,BLOCK_N=64,num_warps=4"]


def make_math(i, shape, g):
    m, n = shape
    count = m * n
    x = torch.cat([uniform((count,), g, -12, 12), uniform((count,), g, -2, 2),
                   torch.exp2(uniform((count,), g, -40, 22)) * torch.sign(uniform((count,), g))])
    x = x[torch.randperm(3 * count, generator=g, device=DEV)[:count]]
    special = torch.tensor([0.0, -0.0, math.inf, -math.inf, math.nan, 2.0 ** -149, -7.5, 87.5,
                            TRIG_LIMIT, -3e7], device=DEV)
    x[:min(count, special.numel())] = special[:count]
    x = x.reshape(m, n)
    h = x.to(torch.bfloat16)
    xd, hd = x.double(), h.double()
    ax = xd.abs()
    checks = [(name, fn(xd), bound, lo_hi, outside) for name, (fn, bound, lo_hi, outside) in MATH_OUTPUTS.items()]
    u = 2.0 ** -24 * (1 + 2.0 ** -20)   # a rounding, with room for the second-order terms
    pows = [("p3", xd ** 3, 2 * u), ("pm2", xd ** -2, 2 * u), ("ph", ax ** 0.5, u),
            ("pmh", ax ** -0.5, 2.0 ** -22.9),
            ("p15", ax ** 1.5, 2.0 ** -21 * (2.5 + (1.5 * torch.log2(ax)).abs()))]
    hb = 0.5 * hd * torch.erfc(-hd / math.sqrt(2)) + torch.tanh(hd)

    def judge(o):
        res = [ulp_close(o[name], ref, xd, bound, lo_hi, outside) for name, ref, bound, lo_hi, outside in checks]
        for name, ref, rel in pows:   # relative bounds, for normal x and x^|n| (rsqrt flushes)
            normal = torch.isfinite(ref) & (ref.abs() >= 2.0 ** -100) & (ref.abs() <= 2.0 ** 100) & \
                (ax >= 2.0 ** -126)
            res.append(close(torch.as_tensor(o[name], device=DEV).double()[normal], ref[normal],
                             rel if isinstance(rel, float) else rel[normal], 0))
        finite = torch.isfinite(hb)   # three bf16 roundings: gelu, tanh, their sum
        res.append(close(torch.as_tensor(o["hb"], device=DEV).double()[finite], hb[finite],
                         3 * 2.0 ** -8, 2.0 ** -20))
        return merge(res)
    outs = [name for name, *_ in checks] + [name for name, *_ in pows] + ["hb"]
    return {"x": x, "h": h}, {}, outs, judge, (["x"] if i % 4 == 3 else [])


def embedding_shapes():
    out = [(77, 50, 40), (1, 1, 8), (1000, 1000, 64), (4096, 32000, 128), (93, 7, 1001)]
    r = np.random.default_rng(14)
    while len(out) < 30:
        s = (int(r.choice([1, 17, 93, 256, 1001, 4096])), int(r.choice([1, 7, 100, 5000])),
             int(r.choice([8, 40, 64, 130, 512, 2048])))
        if s not in out:
            out.append(s)
    return out


def moe_shapes():
    out = [(50, 45, 37, 3, 20), (1, 16, 16, 1, 1), (512, 256, 512, 8, 160), (93, 129, 200, 4, 64)]
    r = np.random.default_rng(15)
    while len(out) < 30:
        s = (int(r.choice([16, 93, 300, 1024])), int(r.choice([16, 64, 129, 512])),
             int(r.choice([8, 77, 256, 1001])), int(r.choice([1, 2, 4, 8])),
             int(r.choice([1, 33, 128, 300])))
        if s not in out:
            out.append(s)
    return out


EMBEDDING_CONFIGS = ["", "BLOCK_T=16,BLOCK_N=256,num_warps=4", "BLOCK_T=128,BLOCK_N=64,num_warps=8",
                     "BLOCK_T=16,BLOCK_N=16,num_warps=4"]
MOE_CONFIGS = ["", "BLOCK_M=64,BLOCK_N=128,BLOCK_K=32,num_warps=4",
               "BLOCK_M=128,BLOCK_N=256,BLOCK_K=16,num_warps=8",
               "BLOCK_M=64,BLOCK_N=64,BLOCK_K=16,num_warps=4,dot=2",
               "BLOCK_M=128,BLOCK_N=128,BLOCK_K=32,num_warps=8,ws=0"]


def make_embedding(i, shape, g):
    t, v, d = shape
    ids = torch.randint(0, v, (t,), generator=g, device=DEV, dtype=torch.int32)
    table = uniform((v, d), g).to(torch.bfloat16)
    ref = table.double()[ids.long()]
    return {"ids": ids, "table": table}, {}, ["out"], lambda o: close(o["out"], ref, 0, 0), \
        (["table"] if i % 4 == 3 else [])


def make_moe_gemm(i, shape, g):
    t, k, n, e, c = shape
    x = uniform((t, k), g).to(torch.bfloat16)
    w = uniform((e, k, n), g).to(torch.bfloat16)
    tok = torch.full((e, c), -1, device=DEV, dtype=torch.int32)   # empty slots
    ref = torch.zeros((e, c, n), device=DEV, dtype=torch.float64)
    for j in range(e):
        cnt = int(torch.randint(0, min(c, t) + 1, (1,), generator=g, device=DEV))
        rows = torch.randperm(t, generator=g, device=DEV)[:cnt].to(torch.int32)
        tok[j, :cnt] = rows
        ref[j, :cnt] = x.double()[rows.long()] @ w[j].double()
    filled = (tok >= 0)[:, :, None]   # empty slots are not written (any value passes)

    def judge(o):
        y = torch.as_tensor(o["y"], device=DEV, dtype=torch.float64)
        return close(torch.where(filled, y, ref) if y.shape == ref.shape else y, ref, 2 ** -7, 2 ** -10)
    return {"x": x, "w": w, "tok": tok}, {}, ["y"], judge, (["x"] if i % 4 == 1 else [])


def varlen_shapes():
    """(total tokens, sequence lengths, H, D, causal): empty sequences, one token, lengths
    around the block sizes, the total never a multiple of 16."""
    out = [(133, (37, 0, 53, 11, 32), 2, 64, False), (1, (1,), 1, 64, True),
           (493, (129, 64, 300), 2, 128, True), (917, (5, 200, 77, 1, 16, 128, 257, 233), 3, 128, False),
           (93, (93,), 1, 48, True), (257, (0, 257, 0), 1, 128, True)]
    r = np.random.default_rng(16)
    while len(out) < 30:
        lens = tuple(int(x) for x in r.choice([0, 1, 16, 17, 64, 77, 128, 129, 257], int(r.integers(1, 9))))
        if sum(lens) == 0:
            lens += (1,)
        s = (sum(lens), lens, int(r.choice([1, 2, 3])), int(r.choice([64, 128])), bool(r.integers(2)))
        if s not in out:
            out.append(s)
    return out


def jagged_shapes():
    """(total rows, sequence lengths, columns)."""
    out = [(93, (1, 0, 39, 7, 46), 37), (1, (1,), 1), (4096, (2048, 0, 1, 2047), 512),
           (300, (300,), 1001)]
    r = np.random.default_rng(17)
    while len(out) < 30:
        lens = tuple(int(x) for x in r.choice([0, 1, 3, 17, 64, 93, 256, 1001], int(r.integers(1, 9))))
        if sum(lens) == 0:
            lens += (3,)
        s = (sum(lens), lens, int(r.choice([1, 17, 64, 130, 512])))
        if s not in out:
            out.append(s)
    return out


# Ranged key loops take no warp specialisation (docs/codegen.md): ws and tile_groups are
# accepted and have no effect, so the list covers blocks, warps, stages and both dots.
VARLEN_CONFIGS = ["", "BLOCK_M=16,BLOCK_N=16,num_warps=4,num_stages=1,dot=2",
                  "BLOCK_M=128,BLOCK_N=64,num_warps=8,num_stages=2",
                  "BLOCK_M=64,BLOCK_N=128,num_warps=4,num_stages=3",
                  "BLOCK_M=64,BLOCK_N=64,num_warps=4,num_stages=2,dot=2"]


def offsets_of(lens):
    return torch.tensor(np.concatenate([[0], np.cumsum(lens)]).astype(np.int32), device=DEV)


def make_varlen_attention(i, shape, g):
    """Each sequence against torch's scaled_dot_product_attention in float64 on its own
    tokens; tokens outside every sequence do not occur (the total is the last offset)."""
    total, lens, h, d, causal = shape
    q = uniform((total, h, d), g).to(torch.bfloat16)
    k = uniform((total, h, d), g).to(torch.bfloat16)
    v = uniform((total, h, d), g).to(torch.bfloat16)
    cu = offsets_of(lens)
    scale = 1.0 / math.sqrt(d)
    ref = torch.zeros((total, h, d), device=DEV, dtype=torch.float64)
    for b in range(len(lens)):
        lo, hi = int(cu[b]), int(cu[b + 1])
        if lo == hi:
            continue
        seq = [x[lo:hi].double().transpose(0, 1) for x in (q, k, v)]   # [H, L, D]
        ref[lo:hi] = torch.nn.functional.scaled_dot_product_attention(
            *seq, is_causal=causal, scale=scale).transpose(0, 1)
    sets = {"scale": repr(scale), "causal": "true" if causal else "false",
            "max_seqlen": str(max(lens))}
    return {"q": q, "k": k, "v": v, "cu_seqlens": cu}, sets, ["o"], \
        lambda o: close(o["o"], ref, 2 ** -6, 2 ** -7), (["k"] if i % 5 == 4 else [])


def make_jagged_softmax(i, shape, g):
    total, lens, m = shape
    x = uniform((total, m), g, -8, 8)
    offsets = offsets_of(lens)
    ref = torch.zeros((total, m), device=DEV, dtype=torch.float64)
    for b in range(len(lens)):
        lo, hi = int(offsets[b]), int(offsets[b + 1])
        if lo < hi:
            ref[lo:hi] = torch.softmax(x[lo:hi].double(), 0)
    return {"x": x, "offsets": offsets}, {}, ["y"], lambda o: close(o["y"], ref, 2 ** -14, 2 ** -22), \
        (["x"] if i % 4 == 3 else [])


# rand's Philox 4x32-10 (docs/language.md, Random numbers) re-implemented in torch on the
# GPU, sharing nothing with tilec: 32-bit words held in int64 tensors, each 32x32 product
# taken in 16-bit halves so that no int64 product overflows.
PHILOX_M = (0xD2511F53, 0xCD9E8D57)
PHILOX_W = (0x9E3779B9, 0xBB67AE85)
WORD = 0xFFFFFFFF
# Random123's published answers: (counter, key, output).
PHILOX_KNOWN = [((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
                ((WORD,) * 4, (WORD,) * 2, (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
                ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
                 (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1))]


def mul_hi_lo(c, m):
    """(c·m) >> 32 and (c·m) & WORD for a word tensor c and a word constant m."""
    ch, cl = c >> 16, c & 0xFFFF
    high, low = ch * m, cl * m                     # each below 2^48
    hi = (high + (low >> 16)) >> 16
    lo = (low + ((high & 0xFFFF) << 16)) & WORD
    return hi, lo


def philox(counter, key):
    """Philox 4x32-10 of four int64 word tensors and two Python int key words."""
    c = list(counter)
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + PHILOX_W[0]) & WORD, (k1 + PHILOX_W[1]) & WORD
        hi0, lo0 = mul_hi_lo(c[0], PHILOX_M[0])
        hi1, lo1 = mul_hi_lo(c[2], PHILOX_M[1])
        c = [hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0]
    return c


def philox_known_answers():
    bad = []
    for counter, key, want in PHILOX_KNOWN:
        words = [torch.tensor([w], device=DEV, dtype=torch.int64) for w in counter]
        got = tuple(int(w) for w in philox(words, key))
        if got != want:
            bad.append(f"torch Philox gives {[hex(w) for w in got]} for key {key}")
    return (not bad, 0.0, "; ".join(bad))


def torch_rand(seed, offs):
    """tilec's rand(seed, offs): word offs & 3 of counter block offs >> 2 (offsets as
    unsigned 64-bit), as (word >> 8)·2^-24 in f32; offs an int64 tensor."""
    s = seed % (1 << 64)
    q = (offs >> 2) & ((1 << 62) - 1)   # a logical shift of the 64-bit pattern
    zero = torch.zeros_like(offs)
    words = torch.stack(philox([q & WORD, (q >> 32) & WORD, zero, zero], (s & WORD, s >> 32)))
    r = torch.gather(words, 0, (offs & 3).unsqueeze(0)).squeeze(0)
    return (r >> 8).to(torch.float32) * 2.0 ** -24


def bits_equal(out, ref):
    """out (float32 values of a bf16 output) has ref's bf16 bits exactly."""
    o = torch.as_tensor(out, device=DEV).to(torch.bfloat16).view(torch.int16)
    r = ref.view(torch.int16)
    if o.shape != r.shape:
        return False, math.inf, f"shape {tuple(o.shape)}, expected {tuple(r.shape)}"
    diff = int((o != r).sum())
    return diff == 0, float(diff), f"{diff} elements differ in their bits" if diff else ""


DROPOUT_SEEDS = [0, 1234, -1, (1 << 63) - 1, -(1 << 63), 0x0123456789ABCDEF, 1 << 32, -987654321]
DROPOUT_PS = [0.5, 0.1, 0.9, 0.0, 0.3]


def make_dropout(i, shape, g):
    """Bit-exact against torch: the mask is torch_rand at m*N + n > p (f32), the kept value
    x·(1/(1-p)) in f32 rounded once to bf16."""
    m, n = shape
    seed, p = DROPOUT_SEEDS[i % len(DROPOUT_SEEDS)], DROPOUT_PS[i % len(DROPOUT_PS)]
    x = uniform((m, n), g, -3, 3).to(torch.bfloat16)
    p32 = torch.tensor(p, device=DEV, dtype=torch.float32)
    scale = 1.0 / (1.0 - p32)                      # f32 ops, as the kernel's prologue
    offs = torch.arange(m, device=DEV, dtype=torch.int64)[:, None] * n + \
        torch.arange(n, device=DEV, dtype=torch.int64)[None, :]
    keep = torch_rand(seed, offs) > p32
    ref = torch.where(keep, (x.float() * scale).to(torch.bfloat16),
                      torch.zeros((), device=DEV, dtype=torch.bfloat16))
    return {"x": x}, {"seed": str(seed), "p": repr(p)}, ["y"], \
        lambda o: merge([philox_known_answers(), bits_equal(o["y"], ref)]), \
        (["x"] if i % 4 == 3 else [])


def make_cumsum(i, shape, g):
    """examples/cumsum.tile against torch.cumsum in float64: within the f32 summation bound
    (N + 1)·2^-24·cumsum(|x|) (in-block scans are serial; block totals are sums)."""
    m, n = shape
    x = uniform((m, n), g, -2, 2)
    ref = torch.cumsum(x.double(), dim=1)
    bound = (n + 1) * 2.0 ** -24 * torch.cumsum(x.double().abs(), dim=1)

    def judge(o):
        out = torch.as_tensor(o["y"], device=DEV, dtype=torch.float64)
        if out.shape != ref.shape:
            return False, math.inf, f"shape {tuple(out.shape)} != {tuple(ref.shape)}"
        ratio = ((out - ref).abs() / (bound + 1e-30)).max().item() if out.numel() else 0.0
        if math.isnan(ratio):
            ratio = math.inf
        return ratio <= 1.0, ratio, f"max error / f32 summation bound {ratio:.3g}"
    return {"x": x}, {}, ["y"], judge, (["x"] if i % 4 == 3 else [])


SPLIT_K_SPLITS = [1, 2, 4, 8, 16]


def make_split_k_gemm(i, shape, g):
    """examples/split_k_gemm.tile against torch in float64: bf16 operands, f32 atomic
    partial sums, within the f32 bound (K + split + 1)·2^-24·(|a|@|b|)."""
    m, n, k = shape
    split = SPLIT_K_SPLITS[i % len(SPLIT_K_SPLITS)]
    a = uniform((m, k), g).to(torch.bfloat16)
    b = uniform((k, n), g).to(torch.bfloat16)
    ref = a.double() @ b.double()
    bound = (k + split + 1) * 2.0 ** -24 * (a.double().abs() @ b.double().abs())

    def judge(o):
        out = torch.as_tensor(o["c"], device=DEV, dtype=torch.float64)
        if out.shape != ref.shape:
            return False, math.inf, f"shape {tuple(out.shape)} != {tuple(ref.shape)}"
        ratio = ((out - ref).abs() / (bound + 1e-30)).max().item() if out.numel() else 0.0
        if math.isnan(ratio):
            ratio = math.inf
        return ratio <= 1.0, ratio, f"max error / f32 summation bound {ratio:.3g} (split {split})"
    return {"a": a, "b": b}, {"split": str(split)}, ["c"], judge, (["b"] if i % 3 == 2 else [])


def rope_shapes():
    out = [(4096, 32, 64), (77, 3, 32), (1, 1, 1), (130, 8, 7), (1001, 4, 100)]
    r = np.random.default_rng(15)
    while len(out) < 24:
        s = (int(r.choice([1, 17, 93, 256, 1001, 4096])), int(r.choice([1, 3, 8, 32])),
             int(r.choice([1, 7, 16, 32, 64, 100, 128])))
        if s not in out:
            out.append(s)
    return out


ROPE_CONFIGS = ["", "BLOCK_T=16,num_warps=4", "BLOCK_T=128,num_warps=8", "BLOCK_T=32,num_warps=8"]


def make_rope(i, shape, g):
    """examples/rope.tile (split and join of the pair axis) against torch's rotation of
    x.view(T, H, P, 2) in float64: the bf16 output's rounding plus a few f32 roundings of
    the largest value."""
    t, h, p = shape
    x = uniform((t, h, p, 2), g, -2, 2).to(torch.bfloat16)
    ang = uniform((t, p), g, -math.pi, math.pi)
    cos, sin = torch.cos(ang), torch.sin(ang)
    xr, xi = x[..., 0].double(), x[..., 1].double()
    c, s = cos.double()[:, None, :], sin.double()[:, None, :]
    ref = torch.stack([xr * c - xi * s, xr * s + xi * c], -1)
    return {"x": x, "cos": cos, "sin": sin}, {}, ["out"], \
        lambda o: close(o["out"], ref, 2 ** -8, 2 ** -20), (["cos"] if i % 4 == 3 else [])


def shape_text(names, shape):
    return ",".join(f"{n}={v}" for n, v in zip(names, shape))


KERNELS = [
    # name, file, shape names, shapes, configs, maker
    ("gemm", "gemm", "MNK", gemm_shapes, GEMM_CONFIGS, make_gemm),
    ("bmm", "bmm", "ZMNK", bmm_shapes, GEMM_CONFIGS, make_bmm),
    ("f32_gemm", F32_DOT_TILE, "MNK", gemm_shapes, F32_GEMM_CONFIGS, make_f32_gemm(False)),
    ("tf32_gemm", F32_DOT_TILE, "MNK", gemm_shapes, F32_GEMM_CONFIGS, make_f32_gemm(True)),
    ("w8a8_gemm", "w8a8_gemm", "MNK", gemm_shapes, W8A8_CONFIGS, make_w8a8_gemm),
    ("int4_gemm", "int4_gemm", ["M", "N", "K", "K2", "G"], int4_shapes, INT4_CONFIGS, make_int4_gemm),
    ("fp8_gemm_tensorwise", "fp8_gemm", "MNK", gemm_shapes, FP8_GEMM_CONFIGS, make_fp8_gemm(False)),
    ("fp8_gemm_rowwise", "fp8_gemm", "MNK", gemm_shapes, FP8_GEMM_CONFIGS, make_fp8_gemm(True)),
    ("attention", "attention", ["Z", "H", "M", "N", "D"], attention_shapes, ATTN_CONFIGS, make_attention),
    ("fp8_attention", "fp8_attention", ["Z", "H", "M", "N", "D"], attention_shapes, ATTN_CONFIGS,
     make_fp8_attention),
    ("gqa_attention", "gqa_attention", ["Z", "G", "R", "M", "N", "D"], gqa_shapes, ATTN_CONFIGS,
     make_gqa_attention),
    ("window_attention", "window_attention", ["Z", "H", "M", "N", "D"], window_shapes, ATTN_CONFIGS,
     make_window_attention),
    ("amax", "fp8_quantize", "MK", rows_shapes, tile_configs("BLOCK_K"), make_amax),
    ("quantize_e4m3", "fp8_quantize", "MK", rows_shapes, tile_configs("BLOCK_K"), make_quantize(E4M3, 448.0)),
    ("quantize_e5m2", "fp8_quantize", "MK", rows_shapes, tile_configs("BLOCK_K"), make_quantize(E5M2, 57344.0)),
    ("rowwise_quantize", "rowwise_quantize", "MK", rows_shapes, row_configs("BLOCK_K"), make_rowwise_quantize),
    ("layernorm", "layernorm", "MN", rows_shapes, row_configs("BLOCK_N"), make_layernorm),
    ("softmax", "softmax", "MN", rows_shapes, row_configs("BLOCK_N"), make_softmax),
    ("rmsnorm", "rmsnorm", "MN", rows_shapes, row_configs("BLOCK_N"), make_rmsnorm),
    ("rmsnorm_quantize", "rmsnorm_quantize", "MN", rows_shapes, row_configs("BLOCK_N"), make_rmsnorm_quantize),
    ("math_builtins", MATH_TILE, "MN", math_shapes, MATH_CONFIGS, make_math),
    ("embedding", "embedding", "TVN", embedding_shapes, EMBEDDING_CONFIGS, make_embedding),
    ("dropout", "dropout", "MN", rows_shapes, tile_configs("BLOCK_N"), make_dropout),
    ("cumsum_rows", "cumsum", "MN", rows_shapes, row_configs("BLOCK_N"), make_cumsum),
    ("rope", "rope", "THP", rope_shapes, ROPE_CONFIGS, make_rope),
    ("split_k_gemm", "split_k_gemm", "MNK", gemm_shapes, F32_GEMM_CONFIGS[:3], make_split_k_gemm),
    ("moe_gemm", "moe_gemm", "TKNEC", moe_shapes, MOE_CONFIGS, make_moe_gemm),
    # the sequence lengths are not shape symbols: the name T alone labels (and sizes) a case
    ("varlen_attention", "varlen_attention", "T", varlen_shapes, VARLEN_CONFIGS, make_varlen_attention),
    ("jagged_softmax", "jagged_softmax", "T", jagged_shapes, tile_configs("BLOCK_N"), make_jagged_softmax),
]


def build_cases(only):
    cases = []
    for kernel, file, names, shapes_of, configs, make in KERNELS:
        if only and not any(o in kernel for o in only.split(",")):
            continue
        for i, shape in enumerate(shapes_of()):
            g = rng(1000 + i)
            ins, sets, outs, judge, fortran = make(i, shape, g)
            for c in range(2):
                config = configs[(2 * i + c) % len(configs)]
                case = Case(kernel, file, shape_text(names, shape[:len(names)]), config, ins, sets,
                            outs, judge, fortran)
                work = 1
                for v in shape[:len(names)]:
                    work *= v
                case.check = c == 0 and i % 6 == 0 and work <= 300_000
                cases.append(case)
    return cases


# ---- running

def command(tilec, case, folder):
    tile = case.file if os.path.isabs(case.file) else os.path.join(ROOT, "examples", case.file + ".tile")
    cmd = [tilec, "run", tile, "--kernel", case.kernel]
    for name, t in case.inputs.items():
        path = os.path.join(folder, name + ".npy")
        cmd += ["--in", f"{name}={path}"]
    for name, text in case.sets.items():
        cmd += ["--set", f"{name}={text}"]
    for name in case.outputs:
        cmd += ["--out", f"{name}={os.path.join(folder, 'out_' + name + '.npy')}"]
    if case.config:
        cmd += ["--config", case.config]
    if case.check:
        cmd.append("--check")
    return cmd


def run_case(tilec, case, folder):
    cmd = command(tilec, case, folder)
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        status, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        status, out, err = -1, "", "timed out after 300 s"
    return status, out, err, time.time() - t0, cmd


def machinery(tilec, tmp):
    """The launcher on hand-written PTX: results as (name, ok, detail)."""
    res = []
    tile = os.path.join(ROOT, "tests", "gpu", "machinery.tile")
    ptx = os.path.join(ROOT, "tests", "gpu", "ptx")
    g = rng(7)
    for m, n, fortran in [(3, 5, False), (93, 1001, False), (93, 1001, True), (1, 128, False), (257, 129, True)]:
        x = uniform((m, n), g)
        xp, yp = os.path.join(tmp, "mx.npy"), os.path.join(tmp, "my.npy")
        save_npy(xp, x, fortran)
        p = subprocess.run([tilec, "run", tile, "--kernel", "copy", "--ptx", os.path.join(ptx, "copy.ptx"),
                            "--in", f"x={xp}", "--out", f"y={yp}", "--check"], capture_output=True, text=True)
        ok = p.returncode == 0 and np.array_equal(np.load(yp), x.cpu().numpy())
        res.append((f"copy {m}x{n}{' fortran' if fortran else ''}", ok, (p.stdout + p.stderr)[-400:]))
    p = subprocess.run([tilec, "run", tile, "--kernel", "copy", "--ptx", os.path.join(ptx, "copy_stray.ptx"),
                        "--shape", "M=5,N=7"], capture_output=True, text=True)
    ok = p.returncode == 1 and "stray store: the guard band after y was written at byte offset 140" in p.stderr
    res.append(("guard band catches a stray store", ok, p.stderr[-400:]))
    x = uniform((77, 300), g)
    xp, yp, tp = (os.path.join(tmp, f) for f in ("sx.npy", "sy.npy", "st.npy"))
    save_npy(xp, x)
    p = subprocess.run([tilec, "run", tile, "--kernel", "scale_sum", "--ptx", os.path.join(ptx, "scale_sum.ptx"),
                        "--in", f"x={xp}", "--set", "alpha=0.5", "--out", f"y={yp}", "--out", f"total={tp}",
                        "--check"], capture_output=True, text=True)
    ok = p.returncode == 0 and abs(float(np.load(tp)[0]) - float(x.double().sum() * 0.5)) < 1e-3
    res.append(("scalar + reduction target (scale_sum)", ok, (p.stdout + p.stderr)[-400:]))
    p = subprocess.run([tilec, "bench", tile, "--kernel", "scale_sum", "--ptx", os.path.join(ptx, "scale_sum.ptx"),
                        "--shape", "M=4096,N=4096", "--set", "alpha=2", "--reps", "5",
                        "--out", f"total={tp}", "--json", os.path.join(tmp, "b.json")], capture_output=True, text=True)
    ok = p.returncode == 0 and "GB/s" in p.stdout
    if ok:  # the target is reset inside every repetition, so it holds one launch's sum
        ok = math.isfinite(float(np.load(tp)[0]))
    res.append(("bench on PTX (targets reset per repetition)", ok, (p.stdout + p.stderr)[-600:]))
    # codegen regressions (tests/gpu/kernels/): the GPU against the interpreter
    nested = os.path.join(ROOT, "tests", "gpu", "kernels", "nested_pipeline.tile")
    for config in ("", "BLOCK_K=32,num_stages=3", "BLOCK_M=128,BLOCK_N=128,BLOCK_K=64,num_stages=4,num_warps=8"):
        for shape in ("M=93,N=77,K=101,J=3", "M=130,N=200,K=260,J=2"):
            p = subprocess.run([tilec, "run", nested, "--check", "--shape", shape] +
                               (["--config", config] if config else []), capture_output=True, text=True)
            res.append((f"nested pipeline {shape} {config or 'default'}", p.returncode == 0,
                        (p.stdout + p.stderr)[-400:]))
    for name, shapes in (("broadcast_new_axis", ("M=93,N=77", "M=130,N=200")),
                         ("float_to_int", ("M=93,N=77", "M=130,N=200")),
                         ("prologue_layout", ("M=93,N=77,K=101", "M=130,N=200,K=260")),
                         ("transposed_accumulator", ("M=93,N=77,K=101,D=64", "M=130,N=200,K=260,D=32"))):
        tile = os.path.join(ROOT, "tests", "gpu", "kernels", name + ".tile")
        for config in ("", "BLOCK_M=16,BLOCK_N=128,num_warps=8"):
            for shape in shapes:
                p = subprocess.run([tilec, "run", tile, "--check", "--shape", shape] +
                                   (["--config", config] if config else []),
                                   capture_output=True, text=True)
                res.append((f"{name} {shape} {config or 'default'}", p.returncode == 0,
                            (p.stdout + p.stderr)[-400:]))
    # rank-3 tiles (tests/gpu/kernels/rank3.tile): reductions along each axis, crossing warps
    rank3 = os.path.join(ROOT, "tests", "gpu", "kernels", "rank3.tile")
    for config, target in (("", []), ("BLOCK_M=8,num_warps=8", []), ("num_warps=8", ["--target", "sm_80"])):
        for shape in ("B=7,M=93,N=77", "B=3,M=130,N=200"):
            p = subprocess.run([tilec, "run", rank3, "--check", "--shape", shape] + target +
                               (["--config", config] if config else []), capture_output=True, text=True)
            res.append((f"rank3 {shape} {config or 'default'}{' sm_80' if target else ''}",
                        p.returncode == 0, (p.stdout + p.stderr)[-400:]))
    # the math built-ins against the interpreter, and against its --arith=gpu: there sin, cos
    # and integer ** give the same bits, the rest stay within tolerance (docs/run.md)
    for config in MATH_CONFIGS[:3]:
        for shape in ("M=93,N=77", "M=130,N=200"):
            for arith in ([], ["--arith=gpu"]):
                p = subprocess.run([tilec, "run", MATH_TILE, "--check", "--shape", shape] + arith +
                                   (["--config", config] if config else []), capture_output=True, text=True)
                exact = {m.group(1) for m in re.finditer(r"^check (\w+): .*\[bit-exact", p.stdout, re.M)}
                ok = p.returncode == 0 and (not arith or {"sn", "cs", "p3", "pm2", "ph"} <= exact)
                res.append((f"math_builtins {shape} {config or 'default'} {' '.join(arith)}", ok,
                            (p.stdout + p.stderr)[-600:]))
    # rand and randint: integer Philox, the same bits in both arithmetics, on sm_80's code too
    rand_tile = os.path.join(ROOT, "tests", "gpu", "kernels", "rand.tile")
    for kernel, outs in (("rand_bits", {"y", "z", "w"}),):
        for config, target in (("", []), ("BLOCK_N=256,num_warps=8", []),
                               ("BLOCK_N=32", ["--target", "sm_80"])):
            for shape in ("N=7001", "N=130000"):
                for arith in ([], ["--arith=gpu"]):
                    p = subprocess.run([tilec, "run", rand_tile, "--kernel", kernel, "--check",
                                        "--shape", shape, "--set", "seed=-12345678901",
                                        "--set", "s32=-7"] + arith +
                                       (["--config", config] if config else []) + target,
                                       capture_output=True, text=True)
                    exact = {m.group(1) for m in re.finditer(r"^check (\w+): .*\[bit-exact", p.stdout, re.M)}
                    ok = p.returncode == 0 and (not arith or outs <= exact)
                    res.append((f"{kernel} {shape} {config or 'default'}{' sm_80' if target else ''} "
                                f"{' '.join(arith)}", ok, (p.stdout + p.stderr)[-600:]))
    # the small integers and bit operations (tests/gpu/kernels/small_ints.tile): integer
    # results, so every output bit for bit, on sm_80's and sm_89's code too
    small = os.path.join(ROOT, "tests", "gpu", "kernels", "small_ints.tile")
    for kernel, shapes in (("small_ints", ("M=93,N=64", "M=130,N=128")),
                           ("bit_ops", ("M=93,N=77", "M=130,N=1001")),
                           ("bit_ops_i64", ("M=93,N=77", "M=130,N=1001"))):
        for config, target in (("", []), ("BLOCK_M=16,num_warps=8", ["--target", "sm_80"]),
                               ("", ["--target", "sm_89"])):
            for shape in shapes:
                p = subprocess.run([tilec, "run", small, "--kernel", kernel, "--check", "--arith=gpu",
                                    "--shape", shape] + (["--config", config] if config else []) +
                                   target, capture_output=True, text=True)
                res.append((f"{kernel} {shape} {config or 'default'} {' '.join(target)}",
                            p.returncode == 0, (p.stdout + p.stderr)[-600:]))
    # gathers and scatters (tests/gpu/kernels/gather_scatter.tile), sm_80's code too
    gather = os.path.join(ROOT, "tests", "gpu", "kernels", "gather_scatter.tile")
    for kernel in ("gather_rows", "gather_columns", "gather_masked", "gather_2d", "scatter_add"):
        for config, target in (("", []), ("BLOCK_M=16,BLOCK_N=128,num_warps=8", []),
                               ("BLOCK_M=128,BLOCK_N=32", ["--target", "sm_80"])):
            for shape in ("M=93,N=77,V=50", "M=130,N=200,V=1001"):
                p = subprocess.run([tilec, "run", gather, "--kernel", kernel, "--check", "--shape", shape] +
                                   (["--config", config] if config else []) + target,
                                   capture_output=True, text=True)
                res.append((f"{kernel} {shape} {config or 'default'}{' sm_80' if target else ''}",
                            p.returncode == 0, (p.stdout + p.stderr)[-400:]))
    # an id outside the table: the kernel's index fault, reported by libtile, never zeros
    ids = os.path.join(tmp, "bad_ids.npy")
    np.save(ids, np.array([3, 999, 1000, 7], np.int32))
    p = subprocess.run([tilec, "run", gather, "--kernel", "gather_rows", "--in", f"ids={ids}",
                        "--shape", "V=1000,N=64"], capture_output=True, text=True)
    ok = p.returncode == 1 and "kernel gather_rows: index 1000 is outside dim 0 of x (size 1000) " \
        "in a load at line 8" in p.stderr
    res.append(("an id outside the table is an index fault", ok, (p.stdout + p.stderr)[-400:]))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--tilec", default=os.path.join(ROOT, "build", "tilec"))
    ap.add_argument("--jobs", type=int, default=min(12, os.cpu_count() or 4))
    ap.add_argument("--only", default="")
    ap.add_argument("--machinery-only", action="store_true")
    ap.add_argument("--no-machinery", action="store_true", help="the kernels' table only")
    ap.add_argument("--deadline", type=float, default=0,
                    help="start no case after this many seconds of runs; judge and report the "
                         "ones that ran (a device call's limit then leaves a table, not nothing)")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    tmp = tempfile.mkdtemp(prefix="tilec-sweep-")
    results = {"device": torch.cuda.get_device_name(), "machinery": [], "cases": []}
    passed = failed = 0
    failures = []

    for name, ok, detail in ([] if args.no_machinery else machinery(args.tilec, tmp)):
        results["machinery"].append({"name": name, "ok": ok, "detail": detail})
        print(f"{'ok  ' if ok else 'FAIL'} machinery: {name}")
        if ok:
            passed += 1
        else:
            failed += 1
            failures.append(f"machinery {name}\n{detail}\n")
    cases = [] if args.machinery_only else build_cases(args.only)

    # inputs as files (one folder per case), then the runs in parallel, then the judging
    folders = []
    for n, case in enumerate(cases):
        folder = os.path.join(tmp, f"c{n}")
        os.makedirs(folder)
        for name, t in case.inputs.items():
            save_npy(os.path.join(folder, name + ".npy"), t, name in case.fortran)
        folders.append(folder)
    t0 = time.time()

    def run_in_time(cf):
        if args.deadline and time.time() - t0 > args.deadline:
            return None
        return run_case(args.tilec, cf[0], cf[1])

    with futures.ThreadPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(run_in_time, zip(cases, folders)))
    wall = time.time() - t0
    not_run = sum(r is None for r in runs)

    table = {}
    for case, folder, run in zip(cases, folders, runs):
        if run is None:
            continue
        status, out, err, secs, cmd = run
        row = table.setdefault(case.kernel, {"runs": 0, "passed": 0, "worst": 0.0, "configs": set(),
                                             "shapes": set(), "strided": 0, "checked": 0})
        row["runs"] += 1
        row["configs"].add(case.config or "default")
        row["shapes"].add(case.shape_text)
        row["strided"] += bool(case.fortran)
        row["checked"] += case.check
        if status == 0:
            try:
                outs = {name: np.load(os.path.join(folder, "out_" + name + ".npy")) for name in case.outputs}
                ok, ratio, detail = case.judge(outs)
            except Exception as e:  # a missing or malformed output file
                ok, ratio, detail = False, math.inf, repr(e)
        else:
            ok, ratio, detail = False, math.inf, f"exit {status}: {err.strip()[-600:]}"
        row["worst"] = max(row["worst"], ratio)
        results["cases"].append({"kernel": case.kernel, "shape": case.shape_text, "config": case.config,
                                 "strided": sorted(case.fortran), "check": case.check, "ok": ok,
                                 "error_over_tolerance": ratio if math.isfinite(ratio) else None,
                                 "detail": detail, "seconds": round(secs, 3)})
        if ok:
            row["passed"] += 1
            passed += 1
        else:
            failed += 1
            failures.append(f"{case.kernel} {case.shape_text} config '{case.config}' strided {sorted(case.fortran)}:"
                            f" {detail}\n  {' '.join(cmd)}\n")

    print(f"\n{'kernel':22s} {'shapes':>6s} {'runs':>5s} {'passed':>6s} {'configs':>7s} {'strided':>7s} "
          f"{'--check':>7s} {'worst err/tol':>13s}")
    for kernel, row in table.items():
        print(f"{kernel:22s} {len(row['shapes']):6d} {row['runs']:5d} {row['passed']:6d} {len(row['configs']):7d} "
              f"{row['strided']:7d} {row['checked']:7d} {row['worst']:13.3g}")
        results.setdefault("table", {})[kernel] = {k: (sorted(v) if isinstance(v, set) else v)
                                                   for k, v in row.items()}
    results["wall_seconds"] = round(wall, 1)
    results["not_run"] = not_run
    if not_run:
        print(f"{not_run} of {len(cases)} cases not run: the --deadline of {args.deadline:g} s passed")
    results["passed"], results["failed"] = passed, failed
    with open(os.path.join(args.out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    with open(os.path.join(args.out_dir, "failures.txt"), "w") as f:
        f.write("".join(failures))
    for line in failures[:15]:
        print("FAIL", line.rstrip()[:700])
    print(f"sweep wall time {wall:.1f} s over {len(cases)} runs with {args.jobs} jobs")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
