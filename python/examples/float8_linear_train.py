"""float8_linear_train.py — trains a Linear layer's weight in float8 with tilec programs: a
torch.autograd.Function whose forward is examples/float8_linear.tile's float8_linear_forward
(y = x·wᵀ, x and w cast to e4m3 with tensorwise dynamic scales) and whose backward is its
float8_linear_backward (grad_x = grad_y·w, grad_w = grad_yᵀ·x, grad_y in e5m2), each one
launch of the whole program through tilec.torch (docs/python.md).

The task: recover a teacher weight w_true from random batches x and targets x·w_trueᵀ by SGD
on an fp32 master copy of w (cast to bf16 for each step). Each step prints the loss and how
far the fp8 gradient of w is from bf16 autograd's (F.linear) on the same batch.

usage: python python/examples/float8_linear_train.py [FILE.tile]
Needs `tilec` on PATH (or $TILEC), torch, and a CUDA GPU with fp8 (compute capability 8.9 or
newer); without one it says what is missing and exits 0. Exits 1 if the loss does not fall."""
import os
import sys

M, K, N = 1024, 256, 256    # batch rows, in features, out features: multiples of 128
STEPS, LR = 8, 0.25         # loss = per-row squared error, averaged: dL/dw ≈ 2·(w - w_true)


def missing(what):
    print(f"float8_linear_train: {what}; nothing to run")
    sys.exit(0)


def main():
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        missing("torch is not installed")
    if not torch.cuda.is_available():
        missing("no CUDA GPU (torch.cuda.is_available() is False)")
    cc = torch.cuda.get_device_capability()
    if cc < (8, 9):
        missing(f"the GPU ({torch.cuda.get_device_name()}, sm_{cc[0]}{cc[1]}) has no fp8: "
                "it needs compute capability 8.9 or newer")

    import tilec
    import tilec.torch as tt
    here = os.path.dirname(os.path.abspath(__file__))
    source = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(here, "..", "..", "examples", "float8_linear.tile")
    try:
        # sm_90a: Hopper's own code; on any other fp8 GPU the sm_89 PTX (the driver compiles it)
        bundle = tilec.compile(source, target="sm_90a" if cc == (9, 0) else "sm_89")
    except tilec.CompileError as e:
        print(f"float8_linear_train: {e}")
        sys.exit(1)
    ops = tt.ops(bundle)

    class Float8Linear(torch.autograd.Function):
        """y = x·wᵀ in float8: forward and backward are one program launch each."""

        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return ops.float8_linear_forward(x, w)

        @staticmethod
        def backward(ctx, grad_y):
            x, w = ctx.saved_tensors
            grad_x, grad_w = ops.float8_linear_backward(x, w, grad_y.contiguous())
            return grad_x, grad_w

    torch.manual_seed(0)
    dev = "cuda"
    w_true = torch.randn(N, K, device=dev) / K ** 0.5
    master = (torch.randn(N, K, device=dev) / K ** 0.5).requires_grad_()
    first = last = None
    for step in range(STEPS):
        x = torch.randn(M, K, device=dev).to(torch.bfloat16)
        target = x.float() @ w_true.T
        w = master.to(torch.bfloat16)          # autograd casts grad_w back to fp32
        y = Float8Linear.apply(x, w)
        loss = ((y.float() - target) ** 2).sum(dim=1).mean()
        master.grad = None
        loss.backward()

        # the bf16 reference of the same step's gradient
        w_ref = w.detach().requires_grad_()
        ref_loss = ((F.linear(x, w_ref).float() - target) ** 2).sum(dim=1).mean()
        ref_loss.backward()
        diff = ((master.grad - w_ref.grad.float()).norm() / w_ref.grad.float().norm()).item()
        print(f"step {step:2d}: loss {loss.item():.5f} (bf16 {ref_loss.item():.5f}), "
              f"fp8 grad_w vs bf16: {diff:.3%} relative")
        with torch.no_grad():
            master -= LR * master.grad
        first = loss.item() if first is None else first
        last = loss.item()
    torch.cuda.synchronize()
    print(f"loss {first:.5f} -> {last:.5f} in {STEPS} steps; workspaces held: "
          f"{bundle.workspaces()}")
    if not last < first / 10:
        print("float8_linear_train: the loss did not fall tenfold")
        sys.exit(1)


if __name__ == "__main__":
    main()
