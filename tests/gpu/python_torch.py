#!/usr/bin/env python3
"""Issue 25's GPU checks of the Python package (`tilec`, `tilec.torch`), in one device call.

usage: PYTHONPATH=python TILEC_LIBTILE=LIB python3 tests/gpu/python_torch.py [BUNDLE_DIR]
           [--tilec PATH] [--checks ops,compile,graph,llama,overhead] [--calls N]

Bundles: every *.tbn in BUNDLE_DIR (tests/gpu/run_python_gpu.sh says how to build them), or
with --tilec every examples/*.tile through tilec.compile. Checks, one line each:
  ops       every kernel and program of every bundle through tilec.torch against torch's
            op at two shapes (ragged sizes, one input a strided view, the second call with
            out=), the references of tests/gpu/sweep.py imported; then attention against
            F.scaled_dot_product_attention (GQA through stride-0 K/V), gemm against
            torch.matmul, the fp8 GEMMs against torch._scaled_mm, and the row kernels
            against torch.nn.functional, in bf16 as a user would compare them;
  compile   torch.compile(fullgraph=True) of a function of attention and the fp8 GEMM:
            torch._dynamo.explain's graph and graph-break counts (0 breaks), the result
            against eager, and dynamic=True over three sequence lengths (one graph);
  graph     the same function captured in a torch.cuda.CUDAGraph, replayed on fresh inputs,
            and under torch.compile(mode="reduce-overhead");
  llama     a 2-layer LlamaForCausalLM from a LlamaConfig (random weights, GQA: 4 heads, 2
            KV heads, bf16) with attn_implementation set to tilec.torch.hf_attention's,
            logits against the same weights with SDPA;
  overhead  host time per call of a tiny kernel (softmax, f32 [4, 64]) through the torch op,
            the core callable, libtile's tile_launch with prepacked arguments, a plain Triton
            kernel and torch.softmax (medians); goal: the op within 10 µs of tile_launch.
Prints `N passed, N failed`; exits 1 on any failure.
"""
import argparse
import glob
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "tests", "gpu"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import tilec  # noqa: E402

DEV = "cuda"
CHECKS = ("ops", "compile", "graph", "llama", "overhead")
tally = {"passed": 0, "failed": 0}


def report(name, ok, detail=""):
    tally["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)


def guarded(name, fn, *args):
    """Runs one check; an exception is its failure, with the message."""
    try:
        fn(*args)
    except Exception as e:   # a check's error is reported, the others still run
        report(name, False, f"{type(e).__name__}: {str(e)[:600]}")


def load_bundles(args):
    if args.tilec:
        os.environ["TILEC"] = args.tilec
        return {os.path.basename(p)[:-5]: tilec.compile(p)
                for p in sorted(glob.glob(os.path.join(ROOT, "examples", "*.tile")))}
    paths = sorted(glob.glob(os.path.join(args.bundle_dir, "*.tbn")))
    if not paths:
        raise SystemExit(f"python_torch.py: no *.tbn in {args.bundle_dir}")
    return {os.path.basename(p)[:-4]: tilec.load(p) for p in paths}


# ---- check 1: every kernel and program against torch

def strided(t):
    """The same values as a view in reversed (Fortran) order: every stride differs from
    the contiguous tensor's, as sweep.py's fortran inputs."""
    order = list(range(t.dim()))[::-1]
    return t.permute(order).contiguous().permute(order)


def quantized(t, fmax, dtype, rowwise=False):
    """torch's fp8 cast of fp8_quantize.tile and rowwise_quantize.tile: (fp8 tensor as
    float64 values, 1 / scale as float64)."""
    x = t.float()
    amax = x.abs().amax(1, keepdim=True) if rowwise else x.abs().max().reshape(1, 1)
    scale = (torch.tensor(fmax, device=DEV) / torch.clamp(amax, min=1e-12)).float()
    q = (x * scale).clamp(-fmax, fmax).to(dtype)
    return q.double(), (1.0 / scale).double()


def extra_makers(sweep):
    """Makers, in sweep.py's form, for the kernels and programs its table lacks."""
    E4, E5, close, codes = sweep.E4M3, sweep.E5M2, sweep.close, sweep.fp8_codes

    def gemm_bias_relu(i, shape, g):
        m, n, k = shape
        a = sweep.uniform((m, k), g).to(torch.bfloat16)
        b = sweep.uniform((k, n), g).to(torch.bfloat16)
        bias = sweep.uniform((n,), g).to(torch.bfloat16)
        ref = torch.relu(a.double() @ b.double() + bias.double())
        return {"a": a, "b": b, "bias": bias}, {}, ["c"], \
            lambda o: close(o["c"], ref, 2 ** -7, 2 ** -10), (["b"] if i % 2 else [])

    def quantize_e4m3_t(i, shape, g):
        m, k = shape
        x = sweep.uniform((m, k), g, -3, 3).to(torch.bfloat16)
        amax = x.float().abs().max().reshape(1)
        y, inv = quantized(x, 448.0, E4)
        return {"x": x, "amax": amax}, {}, ["yt", "inv_scale"], lambda o: sweep.merge([
            sweep.fp8_close(o["yt"], codes(y.T, E4), E4), close(o["inv_scale"], inv.reshape(1),
                                                              2 ** -22, 0)]), (["x"] if i % 2 else [])

    def quantize_e5m2_both(i, shape, g):
        m, k = shape
        x = sweep.uniform((m, k), g, -3, 3).to(torch.bfloat16)
        amax = x.float().abs().max().reshape(1)
        y, inv = quantized(x, 57344.0, E5)
        return {"x": x, "amax": amax}, {}, ["y", "yt", "inv_scale"], lambda o: sweep.merge([
            sweep.fp8_close(o["y"], codes(y, E5), E5), sweep.fp8_close(o["yt"], codes(y.T, E5), E5),
            close(o["inv_scale"], inv.reshape(1), 2 ** -22, 0)]), (["x"] if i % 2 else [])

    def fp8_gemm_e5m2_e4m3(i, shape, g):
        m, n, k = shape
        a = (sweep.uniform((m, k), g) * 8).to(E5)
        b = (sweep.uniform((n, k), g) * 8).to(E4)
        sa, sb = torch.tensor([0.25], device=DEV), torch.tensor([0.125], device=DEV)
        ref = (a.double() @ b.double().T) * 0.25 * 0.125
        return {"a": a, "b": b, "scale_a": sa, "scale_b": sb}, {}, ["c"], \
            lambda o: close(o["c"], ref, 2 ** -7, 2 ** -10), (["a"] if i % 2 else [])

    def linear_inputs(shape, g):
        m, n, k = shape
        return sweep.uniform((m, k), g).to(torch.bfloat16), sweep.uniform((n, k), g).to(torch.bfloat16)

    def float8_linear_forward(i, shape, g):
        x, w = linear_inputs(shape, g)
        (x8, ix), (w8, iw) = quantized(x, 448.0, E4), quantized(w, 448.0, E4)
        ref = (x8 @ w8.T) * ix * iw
        return {"x": x, "w": w}, {}, ["y"], lambda o: close(o["y"], ref, 2 ** -7, 2 ** -10), \
            (["w"] if i % 2 else [])

    def float8_linear_rowwise_forward(i, shape, g):
        x, w = linear_inputs(shape, g)
        (x8, ix), (w8, iw) = quantized(x, 448.0, E4, True), quantized(w, 448.0, E4, True)
        ref = (x8 @ w8.T) * ix * iw.T
        return {"x": x, "w": w}, {}, ["y"], lambda o: close(o["y"], ref, 2 ** -7, 2 ** -10), \
            (["x"] if i % 2 else [])

    def float8_linear_backward(i, shape, g):
        x, w = linear_inputs(shape, g)
        gy = sweep.uniform((shape[0], shape[1]), g).to(torch.bfloat16)
        (x8, ix), (w8, iw) = quantized(x, 448.0, E4), quantized(w, 448.0, E4)
        g8, ig = quantized(gy, 57344.0, E5)
        gx, gw = (g8 @ w8) * ig * iw, (g8.T @ x8) * ig * ix
        return {"x": x, "w": w, "grad_y": gy}, {}, ["grad_x", "grad_w"], lambda o: sweep.merge([
            close(o["grad_x"], gx, 2 ** -7, 2 ** -10), close(o["grad_w"], gw, 2 ** -7, 2 ** -10)]), \
            (["grad_y"] if i % 2 else [])

    gemm_shapes = [(93, 77, 101), (130, 200, 64)]
    rows = [(93, 1001), (64, 256)]
    return {"gemm_bias_relu": (gemm_shapes, gemm_bias_relu),
            "quantize_e4m3_t": (rows, quantize_e4m3_t),
            "quantize_e5m2_both": (rows, quantize_e5m2_both),
            "fp8_gemm_e5m2_e4m3": (gemm_shapes, fp8_gemm_e5m2_e4m3),
            "float8_linear_forward": (gemm_shapes, float8_linear_forward),
            "float8_linear_rowwise_forward": (gemm_shapes, float8_linear_rowwise_forward),
            "float8_linear_backward": (gemm_shapes, float8_linear_backward)}


# the sizes a kernel's bundle compiles in (its `const ... in {...}`): the sweep's other shapes
# build their own variants, a prebuilt bundle has only these (attention's D: not 48)
BUILT_SIZES = {"rope": lambda s: s[2] in (32, 64)}


def makers():
    """Kernel name -> (two shapes, maker): sweep.py's table (its first shape the prebuilt
    bundle serves, and the first later one the sweep passes a strided input for, else the
    next one; BUILT_SIZES names what the bundles compile in), then extra_makers()."""
    import sweep
    table = {}
    for name, _, _, shapes_of, _, make in sweep.KERNELS:
        shapes = shapes_of()
        built = BUILT_SIZES.get(name, lambda s: 48 not in s)
        usable = [i for i in range(len(shapes)) if built(shapes[i])]
        # a kernel whose sweep passes no strided input (bmm, the integer GEMMs, ...) takes
        # its first usable later shape
        later = next((i for i in usable[1:] if make(i, shapes[i], sweep.rng(1))[4]),
                     usable[1] if len(usable) > 1 else usable[0])
        table[name] = ([(usable[0], shapes[usable[0]]), (later, shapes[later])], make)
    for name, (shapes, make) in extra_makers(sweep).items():
        table[name] = (list(enumerate(shapes)), make)
    return table


def set_value(param, text):
    """A sweep `--set` text as the Python value of the parameter."""
    if param.dtype == "bool":
        return text == "true"
    return float(text) if param.dtype in ("f32", "f16", "bf16") else int(text)


def check_kernel(bundle_name, call, entry, cases, make):
    import sweep
    for n, (i, shape) in enumerate(cases):
        g = sweep.rng(1000 + i)
        ins, sets, outs, judge, fortran = make(i, shape, g)
        values = {k: (strided(t) if k in fortran else t) for k, t in ins.items()}
        values.update({k: set_value(entry.param(k), v) for k, v in sets.items()})
        outputs = entry.outputs
        if n == 0:
            got = call(**values)
        else:   # the _out op, into tensors full of -1
            shapes = entry.output_shapes({k: tuple(t.shape) for k, t in ins.items()})
            given = tuple(torch.full(shapes[p.name], -1.0, device=DEV).to(tt.DTYPES[p.dtype])
                          for p in outputs)
            got = call(**values, out=given if len(given) > 1 else given[0])
        got = (got,) if isinstance(got, torch.Tensor) else tuple(got)
        torch.cuda.synchronize()
        ok, ratio, detail = judge({p.name: t for p, t in zip(outputs, got)})
        how = "out=" if n else "functional"
        view = f", strided {','.join(fortran)}" if fortran else ""
        report(f"ops {bundle_name}.{entry.name} {shape} ({how}{view})", ok,
               f"err/tol {ratio:.3g}; {detail}")


def check_ops(bundles):
    table = makers()
    for bundle_name, bundle in bundles.items():
        ops = tt.ops(bundle)   # the ops launch this bundle's kernels until the next ops()
        for name, entry in list(bundle.kernels.items()) + list(bundle.programs.items()):
            if name not in table:
                report(f"ops {bundle_name}.{name}", False, "no reference in this script")
                continue
            guarded(f"ops {bundle_name}.{name}", check_kernel, bundle_name, getattr(ops, name),
                    entry, *table[name])
        direct_checks(bundle_name, ops, bundle)


def compare(name, out, ref, rel, floor):
    import sweep
    ok, ratio, detail = sweep.close(out, ref.double(), rel, floor)
    report(name, ok, f"err/tol {ratio:.3g}; {detail}")


def direct_checks(bundle_name, ops, bundle):
    """Against torch's own ops in the same precision (bf16 results of both: each within a
    few bf16 roundings of the truth). Each comparison runs on its own (guarded)."""
    g = torch.Generator(device=DEV)
    g.manual_seed(5)
    rand = lambda *s: torch.randn(*s, generator=g, device=DEV)   # noqa: E731
    label = f"ops {bundle_name}."

    def attention(causal):
        q = rand(2, 4, 77, 64).bfloat16()
        kv = [rand(2, 2, 129, 64).bfloat16() for _ in range(2)]
        k4, v4 = (t.repeat_interleave(2, 1) for t in kv)
        ref = F.scaled_dot_product_attention(q, k4, v4, is_causal=causal, scale=0.125)
        # GQA: two KV heads, each shared by two query heads through a stride-0 view
        o = torch.cat([ops.attention(q[:, 2 * h:2 * h + 2], kv[0][:, h:h + 1].expand(2, 2, 129, 64),
                                     kv[1][:, h:h + 1].expand(2, 2, 129, 64), scale=0.125,
                                     causal=causal) for h in range(2)], 1)
        compare(f"{label}attention vs F.scaled_dot_product_attention (Z=2, H=4, KV heads 2 "
                f"through stride 0, M=77, N=129, D=64, causal={causal})", o, ref, 2 ** -5, 2 ** -6)

    def gemm():
        a, b = rand(93, 200).bfloat16(), rand(77, 200).bfloat16().T   # b: a transposed view
        compare(f"{label}gemm vs torch.matmul (93x200 @ 200x77, b a transposed view)",
                ops.gemm(a, b), torch.matmul(a, b), 2 ** -6, 2 ** -8)

    def gemm_bias_relu():
        a, b, bias = rand(93, 128).bfloat16(), rand(128, 77).bfloat16(), rand(77).bfloat16()
        compare(f"{label}gemm_bias_relu vs torch.relu(torch.addmm)",
                ops.gemm_bias_relu(a, b, bias), torch.relu(torch.addmm(bias, a, b)), 2 ** -6, 2 ** -8)

    m, n, kk = 93, 256, 128   # _scaled_mm wants N and K multiples of 16
    a8, b8 = (rand(m, kk) * 8).to(torch.float8_e4m3fn), (rand(n, kk) * 8).to(torch.float8_e4m3fn)

    def fp8_gemm_tensorwise():
        sa, sb = torch.tensor([0.25], device=DEV), torch.tensor([0.125], device=DEV)
        ref = torch._scaled_mm(a8, b8.T, scale_a=sa.reshape(()), scale_b=sb.reshape(()),
                               out_dtype=torch.bfloat16)
        compare(f"{label}fp8_gemm_tensorwise vs torch._scaled_mm ({m}x{n}x{kk})",
                ops.fp8_gemm_tensorwise(a8, b8, sa, sb), ref, 2 ** -6, 2 ** -8)

    def fp8_gemm_rowwise():
        sa, sb = torch.rand(m, device=DEV) + 0.5, torch.rand(n, device=DEV) + 0.5
        ref = torch._scaled_mm(a8, b8.T, scale_a=sa[:, None], scale_b=sb[None, :],
                               out_dtype=torch.bfloat16)
        compare(f"{label}fp8_gemm_rowwise vs torch._scaled_mm rowwise ({m}x{n}x{kk})",
                ops.fp8_gemm_rowwise(a8, b8, sa, sb), ref, 2 ** -6, 2 ** -8)

    def layernorm():
        x, w, b = rand(93, 1001).bfloat16(), rand(1001).bfloat16(), rand(1001).bfloat16()
        compare(f"{label}layernorm vs F.layer_norm (93x1001, x strided)",
                ops.layernorm(strided(x), w, b, eps=1e-5), F.layer_norm(x, (1001,), w, b, 1e-5),
                2 ** -6, 2 ** -8)

    def softmax():
        x = rand(93, 1001) * 4
        compare(f"{label}softmax vs torch.softmax (93x1001, x[:, :1001] of a 93x2002 tensor)",
                ops.softmax(torch.cat([x, x], 1)[:, :1001]), torch.softmax(x, 1), 2 ** -14, 2 ** -22)

    def embedding():
        table = rand(500, 64).bfloat16()
        ids = torch.randint(0, 500, (77,), generator=g, device=DEV, dtype=torch.int32)
        compare(f"{label}embedding vs F.embedding", ops.embedding(ids, table),
                F.embedding(ids.long(), table), 0, 0)

    runs = {"attention": [lambda: attention(False), lambda: attention(True)], "gemm": [gemm],
            "gemm_bias_relu": [gemm_bias_relu], "fp8_gemm_tensorwise": [fp8_gemm_tensorwise],
            "fp8_gemm_rowwise": [fp8_gemm_rowwise], "layernorm": [layernorm],
            "softmax": [softmax], "embedding": [embedding]}
    for name, fns in runs.items():
        if name in bundle.kernels:
            for fn in fns:
                guarded(f"{label}{name} vs torch", fn)


# ---- checks 2 and 3: torch.compile and a CUDA graph of attention + the fp8 GEMM

def attention_fp8_function(attn_ops, gemm_ops):
    def f(q, k, v, a8, b8, sa, sb):
        o = attn_ops.attention(q, k, v, scale=0.125, causal=True)
        c = gemm_ops.fp8_gemm_tensorwise(a8, b8, sa, sb)
        return o * 2 + 1, torch.relu(c) + o.float().mean()
    return f


def inputs_of(seed):
    g = torch.Generator(device=DEV)
    g.manual_seed(seed)
    rand = lambda *s: torch.randn(*s, generator=g, device=DEV)   # noqa: E731
    return (rand(2, 4, 77, 64).bfloat16(), rand(2, 4, 129, 64).bfloat16(),
            rand(2, 4, 129, 64).bfloat16(), (rand(93, 128) * 8).to(torch.float8_e4m3fn),
            (rand(256, 128) * 8).to(torch.float8_e4m3fn), torch.tensor([0.25], device=DEV),
            torch.tensor([0.125], device=DEV))


def max_diff(a, b):
    return max((x.float() - y.float()).abs().max().item() for x, y in zip(a, b))


def check_compile(f):
    args = inputs_of(1)
    torch._dynamo.reset()
    explain = torch._dynamo.explain(f)(*args)
    report("compile: torch._dynamo.explain", explain.graph_break_count == 0,
           f"{explain.graph_count} graph(s), {explain.graph_break_count} graph break(s)"
           + (f"; {explain.break_reasons}" if explain.graph_break_count else ""))
    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True)
    eager = f(*args)
    got = compiled(*args)
    fresh = inputs_of(2)
    got2, eager2 = compiled(*fresh), f(*fresh)
    d = max(max_diff(got, eager), max_diff(got2, eager2))
    report("compile: torch.compile(fullgraph=True) result vs eager", d <= 2 ** -6 * max(
        e.float().abs().max().item() for e in eager + eager2), f"max |compiled - eager| {d:.3g} "
        "(two input sets)")
    # dynamic=True: the sequence length M is a SymInt, so three lengths compile once
    from torch._dynamo.utils import counters
    torch._dynamo.reset()
    counters.clear()
    attend = torch.compile(lambda q, k, v: f(q, k, v, *args[3:])[0], dynamic=True, fullgraph=True)
    worst = 0.0
    for m in (77, 100, 129):
        q = torch.randn(2, 4, m, 64, device=DEV).bfloat16()
        worst = max(worst, max_diff([attend(q, *args[1:3])], [f(q, *args[1:])[0]]))
    graphs = counters["stats"]["unique_graphs"]
    report("compile: dynamic=True over M = 77, 100, 129", graphs == 1 and worst <= 2 ** -4,
           f"{graphs} graph(s) compiled, max |compiled - eager| {worst:.3g}")


def check_graph(f, bundles):
    for b in bundles:
        b.preload()
    static = inputs_of(1)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):   # warm-up on the capture's side, as torch's docs advise
        for _ in range(2):
            f(*static)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = f(*static)
    worst = 0.0
    for seed in (3, 4):
        fresh = inputs_of(seed)
        for s, t in zip(static, fresh):
            s.copy_(t)
        graph.replay()
        torch.cuda.synchronize()
        worst = max(worst, max_diff(out, f(*fresh)))
    report("graph: torch.cuda.CUDAGraph replay on fresh inputs vs eager", worst == 0.0,
           f"max |replay - eager| {worst:.3g} over 2 replays")
    # torch.compile's CUDA graphs (cudagraph trees record after warm-up runs)
    torch._dynamo.reset()
    replayed = torch.compile(f, mode="reduce-overhead", fullgraph=True)
    worst, scale = 0.0, 0.0
    for seed in (5, 6, 7, 8):
        fresh = inputs_of(seed)
        got = [t.clone() for t in replayed(*fresh)]   # the graph's outputs are reused
        want = f(*fresh)
        worst = max(worst, max_diff(got, want))
        scale = max([scale] + [w.float().abs().max().item() for w in want])
    report("graph: torch.compile(mode='reduce-overhead') on 4 input sets vs eager",
           worst <= 2 ** -6 * scale, f"max |replay - eager| {worst:.3g}")


# ---- check 4: a small Llama on tilec's attention against SDPA

def compare_llama(label, name):
    import transformers
    from transformers import LlamaConfig, LlamaForCausalLM
    config = LlamaConfig(vocab_size=1000, hidden_size=256, intermediate_size=512,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512)
    torch.manual_seed(0)
    sdpa = LlamaForCausalLM._from_config(config, attn_implementation="sdpa")
    sdpa = sdpa.to(DEV, torch.bfloat16).eval()
    ours = LlamaForCausalLM._from_config(config, attn_implementation=name)
    ours = ours.to(DEV, torch.bfloat16).eval()
    ours.load_state_dict(sdpa.state_dict())
    ids = torch.randint(0, 1000, (2, 77), device=DEV)
    with torch.no_grad():
        want, got = sdpa(ids).logits.float(), ours(ids).logits.float()
    d = (got - want).abs().max().item()
    scale = want.abs().max().item()
    # two layers of bf16 activations: a few bf16 roundings (2^-8) of the logits' range
    report(f"{label}: 2 layers, 4 heads / 2 KV heads, bf16, batch 2 x 77 tokens, "
           f"attn_implementation={name!r} vs 'sdpa'", d <= 2 ** -5 * scale,
           f"max |logits diff| {d:.3g}, max |logit| {scale:.3g}, argmax agreement "
           f"{(got.argmax(-1) == want.argmax(-1)).float().mean().item():.3f} "
           f"(transformers {transformers.__version__})")


def check_llama(attn_bundle):
    name = tt.hf_attention(attn_bundle)   # registers itself with transformers
    compare_llama("llama: tilec.torch.hf_attention", name)


# ---- check 5: host overhead per call

try:
    import triton
    import triton.language as tl

    @triton.jit
    def triton_softmax_rows(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
        row = tl.program_id(0)
        cols = tl.arange(0, BLOCK)
        v = tl.load(x_ptr + row * n + cols, mask=cols < n, other=-float("inf"))
        e = tl.exp(v - tl.max(v, 0))
        tl.store(y_ptr + row * n + cols, e / tl.sum(e, 0), mask=cols < n)
except ImportError:   # reported by check_overhead
    triton = None


def per_call_us(fn, calls, reps=15):
    """Median over reps of host wall time per call of `calls` calls (synchronized between
    reps, not within: the host's cost of enqueueing)."""
    for _ in range(20):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls * 1e6)
        torch.cuda.synchronize()
    return statistics.median(times)


def check_overhead(bundle, calls):
    import ctypes as C
    from tilec import _libtile as L
    ops = tt.ops(bundle)
    kernel = bundle.kernels["softmax"]
    x = torch.randn(4, 64, device=DEV)
    y = torch.empty_like(x)
    stream = torch.cuda.current_stream().cuda_stream
    targs = kernel.pack([x, y], tt._tensor_arg)
    lib, ctx, handle, name = L.lib(), bundle._ctx.handle, bundle._handle, b"softmax"
    triton_y = None
    cstream = C.c_void_p(stream)
    raw = lambda: lib.tile_launch(ctx, handle, name, targs, 2, cstream)   # noqa: E731
    rows = [("tile_launch, prepacked arguments (raw libtile through ctypes)", raw),
            ("core tilec callable: bundle.softmax(x, y, stream=...)",
             lambda: kernel(x, y, stream=stream)),
            ("torch op with out=: ops.softmax(x, out=y)", lambda: ops.softmax(x, out=y)),
            ("torch op, functional: ops.softmax(x)", lambda: ops.softmax(x)),
            ("torch.ops.tilec.softmax_out(x, y)", lambda: torch.ops.tilec.softmax_out(x, y)),
            ("torch.softmax(x, 1)", lambda: torch.softmax(x, 1))]
    if triton is None:
        report("overhead: Triton", False, "not importable")
    else:
        triton_y = torch.empty_like(x)
        rows.append((f"plain Triton kernel (triton {triton.__version__})",
                     lambda: triton_softmax_rows[(4,)](x, triton_y, 64, BLOCK=64)))
    if raw() != 0:
        raise tilec.TileError(raw(), bundle._ctx.message())
    times = {}
    for label, fn in rows:
        times[label] = per_call_us(fn, calls)
        print(f"     {times[label]:8.2f} µs/call  {label}", flush=True)
    if triton_y is not None:
        report("overhead: the Triton kernel's result", torch.allclose(triton_y, torch.softmax(x, 1)),
               "against torch.softmax")
    torch.cuda.synchronize()
    report("overhead: ops.softmax's result", torch.allclose(ops.softmax(x), torch.softmax(x, 1)),
           "against torch.softmax")
    added = times[rows[2][0]] - times[rows[0][0]]
    report("overhead: torch op (out=) over raw tile_launch", added <= 10.0,
           f"{added:.2f} µs added (goal <= 10; functional op {times[rows[3][0]] - times[rows[0][0]]:.2f} "
           f"µs added; {calls} calls x 15 reps, medians, on {torch.cuda.get_device_name()})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bundle_dir", nargs="?", help="folder of prebuilt *.tbn (run_python_gpu.sh)")
    ap.add_argument("--tilec", help="a tilec binary: compile examples/*.tile instead")
    ap.add_argument("--checks", default=",".join(CHECKS), help=f"some of {','.join(CHECKS)}")
    ap.add_argument("--calls", type=int, default=200, help="calls per timing repetition")
    args = ap.parse_args()
    checks = args.checks.split(",")
    bad = [c for c in checks if c not in CHECKS]
    if bad or (args.bundle_dir is None) == (args.tilec is None):
        ap.error(f"unknown check {bad[0]}" if bad else "give a BUNDLE_DIR or --tilec PATH (one)")
    try:
        bundles = load_bundles(args)
    except (tilec.TileError, tilec.CompileError) as e:
        report("load bundles", False, str(e))
        print(f"{tally['passed']} passed, {tally['failed']} failed")
        return 1
    if not torch.cuda.is_available():
        report("torch sees a CUDA device", False, "torch.cuda.is_available() is False")
        print(f"{tally['passed']} passed, {tally['failed']} failed")
        return 1
    global tt
    import tilec.torch as tt
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"device {torch.cuda.get_device_name()}, torch {torch.__version__}, "
          f"bundles {', '.join(bundles)}", flush=True)
    if "ops" in checks:
        guarded("ops", check_ops, bundles)
    if "attention" in bundles and "fp8_gemm" in bundles:
        f = attention_fp8_function(tt.ops(bundles["attention"]), tt.ops(bundles["fp8_gemm"]))
        if "compile" in checks:
            guarded("compile", check_compile, f)
        if "graph" in checks:
            guarded("graph", check_graph, f, list(bundles.values()))
    elif "compile" in checks or "graph" in checks:
        report("compile/graph", False, "needs attention.tbn and fp8_gemm.tbn")
    for check, fn, needs in (("llama", check_llama, "attention"),
                             ("overhead", check_overhead, "softmax")):
        if check in checks and needs not in bundles:
            report(check, False, f"needs {needs}.tbn")
        elif check in checks:
            guarded(check, fn, bundles[needs], *([args.calls] if check == "overhead" else []))
    print(f"{tally['passed']} passed, {tally['failed']} failed")
    return 1 if tally["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
