"""Issue 26's measure: examples/float8_linear.tile's programs (tensorwise fp8 Linear, scaling
included) beside bf16 F.linear and the float8 recipe in torch (eager and torch.compile), all
timed in this one run with triton.testing.do_bench (median, L2 cleared).

    PYTHONPATH=python TILEC_LIBTILE=DIR/out/libtile.so \\
        python3 bench/float8_linear.py DIR/float8_linear.tbn [--m 2048 --k 4096 --n 8192]

The recipe is torchao's dynamic tensorwise scaling written in torch: amax = max|t| in f64,
clamped below at 1e-12; scale = 448 / amax (e4m3; 57344 for grad_y's e5m2); the fp8 copy
saturate(t * scale); `_scaled_mm` with the reciprocal scales. Each tilec output is checked
against it before timing (fp8 tolerance), so a fast wrong answer prints FAIL."""
import argparse
import sys

import torch
import torch.nn.functional as F
from triton.testing import do_bench

import tilec
import tilec.torch as tt

E4, E5 = torch.float8_e4m3fn, torch.float8_e5m2
E4_MAX, E5_MAX = 448.0, 57344.0


def cast(t, dtype, fmax):
    """(t8, inverse scale): the recipe's tensorwise cast of t."""
    amax = t.abs().max().to(torch.float64).clamp(min=1e-12)
    scale = (fmax / amax).to(torch.float32)
    t8 = (t.to(torch.float32) * scale).clamp(-fmax, fmax).to(dtype)
    return t8, scale.reciprocal()


def recipe_forward(x, w):
    x8, ix = cast(x, E4, E4_MAX)
    w8, iw = cast(w, E4, E4_MAX)
    return torch._scaled_mm(x8, w8.t(), scale_a=ix, scale_b=iw, out_dtype=torch.bfloat16)


def recipe_backward(x, w, gy):
    """grad_x = gy·w and grad_w = gyᵀ·x, gy in e5m2; each operand cast once per layout, as
    the compiled graph of the source material does."""
    g8, ig = cast(gy, E5, E5_MAX)
    gt8 = g8.t().contiguous()
    wt8, iw = cast(w.t().contiguous(), E4, E4_MAX)
    xt8, ix = cast(x.t().contiguous(), E4, E4_MAX)
    grad_x = torch._scaled_mm(g8, wt8.t(), scale_a=ig, scale_b=iw, out_dtype=torch.bfloat16)
    grad_w = torch._scaled_mm(gt8, xt8.t(), scale_a=ig, scale_b=ix, out_dtype=torch.bfloat16)
    return grad_x, grad_w


def bf16_backward(x, w, gy):
    return gy @ w, gy.t() @ x


def close(name, got, want):
    """fp8 tolerance relative to the largest reference value."""
    err = (got.float() - want.float()).abs().max().item()
    scale = want.float().abs().max().item()
    ok = err <= 2 ** -4 * scale
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max |tilec - recipe| {err:.4g} of max|ref| {scale:.4g}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bundle", help="float8_linear.tbn built by tilec for this GPU")
    ap.add_argument("--m", type=int, default=2048)
    ap.add_argument("--k", type=int, default=4096)
    ap.add_argument("--n", type=int, default=8192)
    args = ap.parse_args()
    ops = tt.ops(tilec.load(args.bundle))
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(args.m, args.k, device="cuda", generator=g).to(torch.bfloat16)
    w = (torch.randn(args.n, args.k, device="cuda", generator=g) * 0.02).to(torch.bfloat16)
    gy = (torch.randn(args.m, args.n, device="cuda", generator=g) * 1e-3).to(torch.bfloat16)

    ok = close("forward y", ops.float8_linear_forward(x, w), recipe_forward(x, w))
    gx, gw = ops.float8_linear_backward(x, w, gy)
    rx, rw = recipe_backward(x, w, gy)
    ok &= close("backward grad_x", gx, rx)
    ok &= close("backward grad_w", gw, rw)

    fwd_c = torch.compile(recipe_forward)
    bwd_c = torch.compile(recipe_backward)
    rows = {
        "tilec float8_linear_forward": lambda: ops.float8_linear_forward(x, w),
        "bf16 F.linear": lambda: F.linear(x, w),
        "float8 recipe, eager": lambda: recipe_forward(x, w),
        "float8 recipe, torch.compile": lambda: fwd_c(x, w),
        "tilec float8_linear_backward": lambda: ops.float8_linear_backward(x, w, gy),
        "bf16 backward (two matmuls)": lambda: bf16_backward(x, w, gy),
        "float8 recipe backward, torch.compile": lambda: bwd_c(x, w, gy),
    }
    ms = {name: do_bench(fn, warmup=50, rep=300, return_mode="median") for name, fn in rows.items()}
    print(f"\ndevice {torch.cuda.get_device_name()}, torch {torch.__version__}, "
          f"x bf16[{args.m}, {args.k}], w bf16[{args.n}, {args.k}]")
    print("| measure | ms |\n|---|---|")
    for name, t in ms.items():
        print(f"| {name} | {t:.4f} |")
    fwd, bwd = ms["tilec float8_linear_forward"], ms["tilec float8_linear_backward"]
    both = fwd + bwd
    ratios = [
        ("forward vs bf16 F.linear (time ratio, floor <= 1.0)", fwd / ms["bf16 F.linear"]),
        ("forward speed-up over compiled float8 recipe (floor >= 1.3)",
         ms["float8 recipe, torch.compile"] / fwd),
        ("fwd+bwd speed-up over bf16 fwd+bwd (floor >= 1.2)",
         (ms["bf16 F.linear"] + ms["bf16 backward (two matmuls)"]) / both),
        ("fwd+bwd speed-up over compiled float8 recipe (floor >= 1.3)",
         (ms["float8 recipe, torch.compile"] + ms["float8 recipe backward, torch.compile"]) / both),
    ]
    for name, r in ratios:
        print(f"RESULT {name}: {r:.3f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
