"""package_tests.py — the installed tilec package, run by check_package.py in a fresh venv:
signatures of every example bundle's kernels and programs against `tilec inspect`,
shape-symbol binding and output shapes, argument errors, launches through the stub driver
(a program's calls in the stub's launch log, in order, the intermediates at the offsets
`tilec build --emit=buffers` prints; its workspace reused and grown), tilec.compile and its
cache, and (when torch is installed) the torch.library ops under FakeTensorMode.
usage: package_tests.py BUNDLE_DIR REPO_ROOT   (LD_LIBRARY_PATH at the stub, TILEC set)"""
import ctypes
import glob
import os
import re
import subprocess
import sys

import tilec

failures = 0


def check(ok, what):
    global failures
    if not ok:
        failures += 1
    print(("ok   " if ok else "FAIL ") + what)


def raises(fn, status_name, needle, what):
    try:
        fn()
    except tilec.TileError as e:
        check(e.status_name == status_name and needle in e.message,
              f"{what}: {e.status_name}: {e.message}")
        return
    check(False, f"{what}: no TileError")


def test_signatures(bundles):
    for path in sorted(glob.glob(os.path.join(bundles, "*.tbn"))):
        b = tilec.load(path)
        text = subprocess.run([os.environ["TILEC"], "inspect", path], capture_output=True,
                              text=True, check=True).stdout
        # inspect prints each kernel's signature as "kernel NAME(p: dtype[dims], ...)", each
        # program's as "program NAME(inputs) -> (outputs)"
        want = re.findall(r"^(?:kernel|program) .*\)$", text, re.M)
        got = [repr(k) for k in list(b.kernels.values()) + list(b.programs.values())]
        check(got == want and want, f"{os.path.basename(path)}: {len(got)} signatures as "
              f"tilec inspect prints them{'' if got == want else f': {got} vs {want}'}")
        for k in b.kernels.values():
            check(all(p.written is not None for p in k.params if p.is_tensor) and k.outputs,
                  f"{k.name}: access flags recorded, outputs {[p.name for p in k.outputs]}")


def test_attention(bundles):
    b = tilec.load(os.path.join(bundles, "attention.tbn"))
    k = b.attention
    check(k.symbols == ("Z", "H", "M", "D", "N"), f"attention's symbols {k.symbols}")
    kinds = [(p.name, p.kind, p.dtype, p.dims) for p in k.params]
    check(kinds[0] == ("q", "tensor", "bf16", ("Z", "H", "M", "D")) and
          kinds[5][:3] == ("causal", "const", "bool"), f"attention's params {kinds}")
    check([p.name for p in k.outputs] == ["o"] and not k.param("q").written and
          k.param("q").read, "o is the output, q only read")
    q, kv = (2, 4, 300, 64), (2, 4, 500, 64)
    check(k.output_shapes({"q": q, "k": kv, "v": kv}) == {"o": q}, "o's shape from q, k, v")
    check(k.bind_symbols({"q": q, "k": kv}) == {"Z": 2, "H": 4, "M": 300, "D": 64, "N": 500},
          "symbols bound")
    raises(lambda: k.output_shapes({"q": q, "k": (2, 4, 500, 128), "v": kv}), "TILE_ERR_SHAPE",
           "symbol D is 64 in q (dim 3) but 128 in k (dim 3)", "disagreeing symbol")
    raises(lambda: k.bind_symbols({"q": (2, 300, 64)}), "TILE_ERR_SHAPE", "q has rank 4",
           "wrong rank")
    raises(lambda: k.bind_symbols({"scale": (1,)}), "TILE_ERR_ARG", "scale is a scalar",
           "a scalar given a shape")
    raises(lambda: k.param("nope"), "TILE_ERR_ARG", "no parameter 'nope'", "unknown parameter")
    raises(lambda: k.arguments((1, 2), {"scale": 1.0, "q": 3}), "TILE_ERR_ARG", "q given twice",
           "an argument twice")
    raises(lambda: k.arguments((1,), {}), "TILE_ERR_ARG", "missing k, v, o, scale, causal",
           "missing arguments")
    raises(lambda: k.arguments(tuple(range(7)), {}), "TILE_ERR_ARG", "takes 6 arguments",
           "too many arguments")
    raises(lambda: tilec.load("/nonexistent.tbn"), "TILE_ERR_IO", "cannot read '/nonexistent.tbn'",
           "a missing bundle")
    try:
        b.nope
        check(False, "an unknown kernel attribute")
    except AttributeError as e:
        check("no kernel or program 'nope'" in str(e), f"an unknown kernel attribute: {e}")
    return b


def test_launch(bundles):
    """Launches through libtile on the stub driver (it accepts and records; nothing runs)."""
    b = tilec.load(os.path.join(bundles, "gemm.tbn"))
    k = next(iter(b.kernels.values()))
    tensors = [p for p in k.params if p.is_tensor]
    bases = iter(0x7000000000 + i * 0x100000000 for i in range(len(tensors)))
    syms = {s: 128 for s in k.symbols}
    args = {}
    for p in k.params:
        if p.is_tensor:
            args[p.name] = tilec.DeviceTensor(next(bases), p.dtype,
                                              [syms[d] if isinstance(d, str) else d for d in p.dims])
        elif p.kind == "scalar":
            args[p.name] = 1.0
        else:
            args[p.name] = p.const_values[0]
    try:
        k(**args)
        check(True, f"{k.name} launched on the stub driver")
    except tilec.TileError as e:
        check(False, f"{k.name} launch on the stub: {e}")
    first = tensors[0]
    bad = dict(args)
    bad[first.name] = tilec.DeviceTensor(args[first.name].ptr, first.dtype, [3] * len(first.dims))
    raises(lambda: k(**bad), "TILE_ERR_SHAPE", "", f"{k.name} with disagreeing shapes")
    bad[first.name] = "not a tensor"
    raises(lambda: k(**bad), "TILE_ERR_ARG", "pass a device array", "a string for a tensor")
    raises(lambda: tilec.DeviceTensor(0, "f64", [1]), "TILE_ERR_ARG", "unknown dtype 'f64'",
           "an unknown dtype")


class StubState(ctypes.Structure):   # the first fields of tests/runtime/stub_cuda.h's StubState
    _fields_ = [("device_count", ctypes.c_int), ("sm", ctypes.c_int), ("sm_count", ctypes.c_int),
                ("name", ctypes.c_char * 64), ("capturing", ctypes.c_bool)]


def stub_state():
    fn = ctypes.CDLL("libcuda.so.1").stub_state
    fn.restype = ctypes.POINTER(StubState)
    return fn().contents


def emitted_buffers(root, program, shape):
    """`tilec build --emit=buffers` for one shape: the program's calls (kernel names and
    argument names, in order), every intermediate's workspace offset, and the peak."""
    text = subprocess.run([os.environ["TILEC"], "build", "--emit=buffers",
                           os.path.join(root, "examples", "float8_linear.tile"), "--shape",
                           shape], capture_output=True, text=True, check=True).stdout
    block = text.split(f"program {program}(")[1].split("\n\nprogram ")[0]
    calls = [(k, [a.strip() for a in args.split(",")])
             for k, args in re.findall(r"^  call \d+: (\w+)\((.*)\)  #", block, re.M)]
    offsets, base = {}, 0
    for line in block.split(f"shape {shape}:")[1].splitlines():
        if m := re.match(r"  allocation \d+: offset (\d+),", line):
            base = int(m.group(1))
        elif m := re.match(r"    (\w+) \[\d+, \d+\] at \+(\d+):", line):
            offsets[m.group(1)] = base + int(m.group(2))
    return calls, offsets, int(re.search(r"^  peak (\d+) bytes", block, re.M).group(1))


def logged(log, start):
    """The stub's log lines after the first `start`: (kind, fields)."""
    with open(log) as f:
        lines = [l.split() for l in f.read().splitlines()]
    return [(l[0], l[1:]) for l in lines[start:]]


def log_length(log):
    if not os.path.exists(log):
        return 0
    with open(log) as f:
        return len(f.read().splitlines())


def f8_tensors(prog, m, k, n, bases=0x7000000000):
    """DeviceTensors at made-up addresses for float8_linear's programs at M, K, N."""
    sizes = {"M": m, "K": k, "N": n}
    return {p.name: tilec.DeviceTensor(bases + i * 0x100000000, p.dtype,
                                       [sizes[d] for d in p.dims])
            for i, p in enumerate(prog.params)}


def test_program_args(bundles):
    b = tilec.load(os.path.join(bundles, "float8_linear.tbn"))
    fwd = b.float8_linear_forward
    check(sorted(b.programs) == ["float8_linear_backward", "float8_linear_forward",
                                 "float8_linear_rowwise_forward"] and
          b.programs["float8_linear_forward"] is fwd, f"the bundle's programs {sorted(b.programs)}")
    check(repr(fwd) == "program float8_linear_forward(x: bf16[M, K] in, w: bf16[N, K] in) -> "
          "(y: bf16[M, N] out)", f"the forward's signature {fwd!r}")
    bwd = b.float8_linear_backward
    check(fwd.symbols == ("M", "K", "N") and [p.name for p in bwd.inputs] == ["x", "w", "grad_y"]
          and [p.name for p in bwd.outputs] == ["grad_x", "grad_w"] and
          all(p.is_output for p in bwd.outputs), "the backward's inputs and outputs")
    check(fwd.output_shapes({"x": (64, 96), "w": (128, 96)}) == {"y": (64, 128)},
          "the forward's output shape from x and w")
    t = f8_tensors(fwd, 64, 96, 128)
    D = tilec.DeviceTensor
    raises(lambda: fwd(t["x"], t["w"]), "TILE_ERR_ARG", "program float8_linear_forward: missing y",
           "a program's missing output")
    raises(lambda: fwd(t["x"], t["w"], t["y"], t["y"]), "TILE_ERR_ARG",
           "program float8_linear_forward takes 3 arguments, 4 given", "too many arguments")
    raises(lambda: fwd(t["x"], t["w"], t["y"], x=t["x"]), "TILE_ERR_ARG", "x given twice",
           "an argument twice")
    raises(lambda: fwd(t["x"], t["w"], t["y"], z=1), "TILE_ERR_ARG", "has no parameter 'z'",
           "an unknown keyword")
    raises(lambda: fwd(D(t["x"].ptr, "f32", (64, 96)), t["w"], t["y"]), "TILE_ERR_ARG",
           "tensor x is bf16, given f32", "a wrong dtype")
    raises(lambda: fwd(t["x"], D(t["w"].ptr, "bf16", (128, 95)), t["y"]), "TILE_ERR_SHAPE",
           "K = 96 from tensor x but 95 from tensor w", "disagreeing symbols")
    raises(lambda: fwd(t["x"], t["w"], D(t["y"].ptr, "bf16", (64,))), "TILE_ERR_SHAPE",
           "tensor y has rank 2, given 1", "a wrong rank")
    raises(lambda: fwd(t["x"], "w", t["y"]), "TILE_ERR_ARG", "pass a device array",
           "a string for a tensor")
    raises(lambda: fwd.bind_symbols({"x": (64, 96), "w": (128, 95)}), "TILE_ERR_SHAPE",
           "program float8_linear_forward: symbol K is 96 in x (dim 1) but 95 in w (dim 1)",
           "bind_symbols of a program")
    check(b.workspaces() == {}, "no workspace before a launch")


def test_program_launch(bundles, root):
    """Each call of a program reaches the stub's launch log in order, its intermediates at the
    workspace offsets --emit=buffers prints; the workspace is reused, grown, per stream."""
    log = os.path.join(os.getcwd(), "stub.log")
    os.environ["STUB_CUDA_LOG"] = log   # the stub reads it at each allocation and launch
    b = tilec.load(os.path.join(bundles, "float8_linear.tbn"))
    for name, shape in (("float8_linear_forward", (64, 96, 128)),
                        ("float8_linear_backward", (48, 80, 112))):
        prog = b.programs[name]
        b.release_workspaces()
        start = log_length(log)
        t = f8_tensors(prog, *shape)
        prog(**t)
        calls, offsets, peak = emitted_buffers(root, name, "M=%d,K=%d,N=%d" % shape)
        lines = logged(log, start)
        allocs = [(int(f[0], 0), int(f[1], 0)) for k, f in lines if k == "alloc"]
        launches = [(f[0], [int(a, 0) for a in f[f.index("args") + 1:]])
                    for k, f in lines if k == "launch"]
        check(len(allocs) == 1 and allocs[0][1] == peak == prog.workspace_bytes(**t) and
              b.workspaces() == {(0, 0): peak},
              f"{name}: one workspace of the peak --emit=buffers prints ({peak} bytes): {allocs}")
        check([k for k, _ in launches] == [k for k, _ in calls],
              f"{name}: every call launched in order: {[k for k, _ in launches]}")
        base = allocs[0][0] if allocs else 0
        for c, ((kernel, names), (_, args)) in enumerate(zip(calls, launches)):
            want = {base + offsets[a] for a in names if a in offsets}
            got = {a for a in args if base <= a < base + peak}
            tensors = {t[a].ptr for a in names if a in t}
            check(got == want and tensors <= set(args),
                  f"{name} call {c} ({kernel}): intermediates at {sorted(a - base for a in got)} "
                  f"(wanted {sorted(a - base for a in want)}), the program's tensors passed")
    # reuse, growth and one workspace per stream
    fwd = b.float8_linear_forward
    b.release_workspaces()
    start = log_length(log)
    fwd(**f8_tensors(fwd, 64, 96, 128))
    fwd(**f8_tensors(fwd, 32, 96, 128))
    small = fwd.workspace_bytes(**f8_tensors(fwd, 64, 96, 128))
    allocs = [f for k, f in logged(log, start) if k == "alloc"]
    check(len(allocs) == 1 and b.workspaces() == {(0, 0): small},
          f"a second launch, no larger, reuses the workspace: {allocs}")
    fwd(**f8_tensors(fwd, 256, 96, 512))
    big = fwd.workspace_bytes(**f8_tensors(fwd, 256, 96, 512))
    b.float8_linear_backward(**f8_tensors(b.float8_linear_backward, 64, 96, 128))
    fwd(**f8_tensors(fwd, 64, 96, 128))
    allocs = [int(f[1], 0) for k, f in logged(log, start) if k == "alloc"]
    check(big > small and allocs == [small, big] and b.workspaces() == {(0, 0): big},
          f"a larger launch grows it once ({small} -> {big}); the bundle's programs share it: "
          f"{allocs}")
    fwd(**f8_tensors(fwd, 64, 96, 128), stream=0x5000)
    check(b.workspaces() == {(0, 0): big, (0, 0x5000): small},
          f"another stream has its own workspace: {b.workspaces()}")
    # a capture cannot allocate or free: the workspace must exist at its size before
    stub = stub_state()
    stub.capturing = True
    try:
        start = log_length(log)
        fwd(**f8_tensors(fwd, 64, 96, 128), stream=0x5000)
        check([k for k, _ in logged(log, start)] == ["launch"] * 5,
              "a captured launch in a workspace of its size allocates nothing")
        raises(lambda: fwd(**f8_tensors(fwd, 512, 96, 512), stream=0x5000), "TILE_ERR_CAPTURE",
               "launch once before capturing", "growing a workspace during a capture")
        raises(lambda: fwd(**f8_tensors(fwd, 64, 96, 128), stream=0x6000), "TILE_ERR_CAPTURE",
               "cannot allocate a workspace while its stream is being captured",
               "allocating a workspace during a capture")
    finally:
        stub.capturing = False
    check(b.workspaces() == {(0, 0): big, (0, 0x5000): small},
          f"the refused launches left the workspaces as they were: {b.workspaces()}")
    b.release_workspaces()
    check(b.workspaces() == {}, "release_workspaces frees them")
    del os.environ["STUB_CUDA_LOG"]


def test_compile(root):
    src = os.path.join(root, "examples", "softmax.tile")
    b = tilec.compile(src, target="sm_89")
    check("softmax" in " ".join(b.kernels), f"compiled softmax: {list(b.kernels)}")
    again = tilec.compile(src, target="sm_89")
    check(again.path == b.path and os.path.exists(b.path), "the second compile is the cache's")
    other = tilec.compile(src, target="sm_80")
    check(other.path != b.path, "another target is another cache entry")
    bad = os.path.join(os.getcwd(), "bad.tile")
    with open(bad, "w") as f:
        f.write("kernel k(x: f32[M]) {\n    y = \n}\n")
    try:
        tilec.compile(bad)
        check(False, "a bad source compiles")
    except tilec.CompileError as e:
        check(e.status == 1 and "bad.tile:" in e.stderr and "error:" in e.stderr,
              f"a bad source is a CompileError with the located message: {e.stderr.strip()[:80]}")


def test_torch(attention, bundles, root):
    import torch
    import tilec.torch as tt
    from torch._subclasses.fake_tensor import FakeTensorMode
    ops = tt.ops(attention)
    check(hasattr(torch.ops.tilec, "attention") and hasattr(torch.ops.tilec, "attention_out"),
          "torch.ops.tilec.attention and attention_out registered")
    functional, out = tt.schemas(attention.attention)
    check(functional == "(Tensor q, Tensor k, Tensor v, float scale, bool causal) -> Tensor" and
          out.startswith("(Tensor q, Tensor k, Tensor v, Tensor(a!) o,"), f"schemas {functional} {out}")
    with FakeTensorMode():
        q = torch.empty(2, 4, 300, 64, dtype=torch.bfloat16, device="cuda")
        kv = torch.empty(2, 4, 500, 64, dtype=torch.bfloat16, device="cuda")
        o = ops.attention(q, kv, kv, scale=0.125, causal=True)
        check(tuple(o.shape) == (2, 4, 300, 64) and o.dtype == torch.bfloat16,
              f"fake attention: {tuple(o.shape)} {o.dtype}")
        raises(lambda: ops.attention(q.float(), kv, kv, scale=0.1, causal=False), "TILE_ERR_ARG",
               "q is bf16", "a wrong dtype")
        raises(lambda: ops.attention(q, kv[0], kv, scale=0.1, causal=False), "TILE_ERR_SHAPE",
               "k has rank 4", "a wrong rank")
        raises(lambda: ops.attention(q, kv, kv, scale=0.1, causal=False, out=(o, o)),
               "TILE_ERR_ARG", "has 1 outputs", "two outs for one output")
        check(ops.attention(q, kv, kv, scale=0.1, causal=False, out=o) is o, "out= returns o")
        raises(lambda: ops.attention(q, kv.to("cpu"), kv, scale=0.1, causal=False),
               "TILE_ERR_ARG", "k is on cpu but q on cuda:0", "tensors on two devices")
        raises(lambda: ops.attention(q, kv, kv, 0.1), "TILE_ERR_ARG", "missing causal",
               "a missing const")
        raises(lambda: ops.attention(q, kv, kv, scale=0.1, causal=False, o=o), "TILE_ERR_ARG",
               "unexpected or repeated argument o", "an output as an input")
    # several outputs, a reduction target
    quant = tt.ops(tilec.load(os.path.join(bundles, "fp8_quantize.tbn")))
    with FakeTensorMode():
        x = torch.empty(100, 300, dtype=torch.bfloat16, device="cuda")
        amax = quant.amax(x)
        y, inv = quant.quantize_e4m3(x, amax)
        check(tuple(amax.shape) == (1,) and amax.dtype == torch.float32 and
              tuple(y.shape) == (100, 300) and y.dtype == torch.float8_e4m3fn and
              tuple(inv.shape) == (1,), "fake fp8 quantize: a reduction target and two outputs")
    # programs: ops like a kernel's, outputs allocated from the symbols
    f8 = tt.ops(tilec.load(os.path.join(bundles, "float8_linear.tbn")))
    functional, out = tt.schemas(f8.float8_linear_backward.kernel)
    check(functional == "(Tensor x, Tensor w, Tensor grad_y) -> (Tensor, Tensor)" and
          out == "(Tensor x, Tensor w, Tensor grad_y, Tensor(a!) grad_x, Tensor(b!) grad_w) -> ()",
          f"the backward program's schemas {functional} {out}")
    with FakeTensorMode():
        x = torch.empty(48, 80, dtype=torch.bfloat16, device="cuda")
        w = torch.empty(112, 80, dtype=torch.bfloat16, device="cuda")
        y = f8.float8_linear_forward(x, w)
        gx, gw = f8.float8_linear_backward(x, w, y)
        check(tuple(y.shape) == (48, 112) and y.dtype == torch.bfloat16 and
              tuple(gx.shape) == (48, 80) and tuple(gw.shape) == (112, 80),
              "fake float8 forward and backward programs: outputs from M, K, N")
        check(f8.float8_linear_forward(x, w, out=y) is y, "a program's out= returns y")
        raises(lambda: f8.float8_linear_forward(x.float(), w), "TILE_ERR_ARG",
               "program float8_linear_forward: x is bf16", "a program's wrong dtype")
        raises(lambda: f8.float8_linear_forward(x, w[:, :79]), "TILE_ERR_SHAPE",
               "program float8_linear_forward: symbol K is 80 in x (dim 1) but 79 in w (dim 1)",
               "a program's disagreeing symbols")
        raises(lambda: f8.float8_linear_backward(x, w), "TILE_ERR_ARG",
               "program float8_linear_backward: missing grad_y", "a program's missing input")
    # the float8 training example without a GPU: its guard says so and exits 0
    p = subprocess.run([sys.executable, os.path.join(root, "python", "examples",
                                                     "float8_linear_train.py")],
                       capture_output=True, text=True)
    check(p.returncode == 0 and "no CUDA GPU" in p.stdout and "nothing to run" in p.stdout,
          f"float8_linear_train.py without a GPU: exit {p.returncode}, {(p.stdout + p.stderr).strip()[-200:]}")
    # the transformers attention function: grouped-query heads, output [B, M, H, D], and what
    # the kernel cannot do refused with a message
    attend = tt.attention_function(attention)
    causal = type("Module", (), {"is_causal": True})()
    with FakeTensorMode():
        q = torch.empty(2, 4, 48, 64, dtype=torch.bfloat16, device="cuda")
        kv = torch.empty(2, 2, 48, 64, dtype=torch.bfloat16, device="cuda")
        o, weights = attend(causal, q, kv, kv, None, scaling=0.125)
        check(tuple(o.shape) == (2, 48, 4, 64) and weights is None,
              f"attention_function: 4 query heads over 2 KV heads -> {tuple(o.shape)}")
        o, _ = attend(causal, q[:, :, :1], kv, kv, None)   # one query over the cache
        check(tuple(o.shape) == (2, 1, 4, 64), f"attention_function: a decode step {tuple(o.shape)}")
        raises(lambda: attend(causal, q, kv, kv, None, dropout=0.1), "TILE_ERR_ARG",
               "dropout=0.1", "attention_function: dropout refused")
        raises(lambda: attend(causal, q, kv, kv, None, sliding_window=16), "TILE_ERR_ARG",
               "sliding_window=16", "attention_function: a sliding window refused")
        raises(lambda: attend(causal, q[:, :, :8], kv, kv, None), "TILE_ERR_SHAPE",
               "8 queries over 48 keys", "attention_function: causal over a longer cache refused")
        raises(lambda: attend(causal, q[:, :3], kv, kv, None), "TILE_ERR_SHAPE",
               "3 query heads over 2", "attention_function: heads not a multiple refused")
    try:
        import transformers
        name = tt.hf_attention(attention, "tilec_test")
        check(name == "tilec_test" and "tilec_test" in transformers.AttentionInterface._global_mapping,
              "hf_attention registers with transformers' AttentionInterface")
    except ImportError:
        raises(lambda: tt.hf_attention(attention), "TILE_ERR_ARG", "needs the transformers package",
               "hf_attention without transformers")
    # symbolic shapes: the fake implementation binds SymInts (a traced graph, no guards on M)
    from torch.fx.experimental.proxy_tensor import make_fx
    def f(q, k, v):
        return ops.attention(q, k, v, scale=0.125, causal=True)
    q = torch.empty(1, 2, 48, 64, dtype=torch.bfloat16)
    kv = torch.empty(1, 2, 80, 64, dtype=torch.bfloat16)
    g = make_fx(f, tracing_mode="symbolic")(q, kv, kv)
    calls = [n for n in g.graph.nodes if n.op == "call_function" and "tilec" in str(n.target)]
    out_meta = calls[0].meta.get("val") if calls else None
    check(len(calls) == 1 and out_meta is not None and
          str(out_meta.shape[2]) == str(g.graph.find_nodes(op="placeholder")[0].meta["val"].shape[2]),
          f"symbolic trace: one tilec op, o's M is q's symbol ({out_meta.shape if calls else None})")


def main():
    bundles, root = sys.argv[1], sys.argv[2]
    check("torch" not in sys.modules, "import tilec imports no torch")
    test_signatures(bundles)
    attention = test_attention(bundles)
    test_launch(bundles)
    test_program_args(bundles)
    test_program_launch(bundles, root)
    test_compile(root)
    try:
        import torch  # noqa: F401
    except ImportError:
        # .ci/deps.sh (run by setup.sh and CI) installs the pinned torch: without it the
        # torch.library layer would go untested, so that is a failure, not a skip
        check(False, "torch imports (run .ci/deps.sh: the torch.library tests need it)")
    else:
        test_torch(attention, bundles, root)
    print(f"{'FAIL' if failures else 'ok'} package_tests ({failures} failures)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
