"""package_tests.py — the installed tilec package, run by check_package.py in a fresh venv:
signatures of every example bundle against `tilec inspect`, shape-symbol binding and output
shapes, argument errors, launches through the stub driver, tilec.compile and its cache, and
(when torch is installed) the torch.library ops under FakeTensorMode.
usage: package_tests.py BUNDLE_DIR REPO_ROOT   (LD_LIBRARY_PATH at the stub, TILEC set)"""
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
        # inspect prints each kernel's signature as "kernel NAME(p: dtype[dims], ...)"
        want = re.findall(r"^kernel .*\)$", text, re.M)
        got = [repr(k) for k in b.kernels.values()]
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
        check("no kernel 'nope'" in str(e), f"an unknown kernel attribute: {e}")
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


def test_torch(attention):
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


def main():
    bundles, root = sys.argv[1], sys.argv[2]
    check("torch" not in sys.modules, "import tilec imports no torch")
    test_signatures(bundles)
    attention = test_attention(bundles)
    test_launch(bundles)
    test_compile(root)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("note: torch is not installed here: the torch.library tests did not run")
    else:
        test_torch(attention)
    print(f"{'FAIL' if failures else 'ok'} package_tests ({failures} failures)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
