"""typed_torch.py — attention.h's typed launcher (through typed_shim.so) on the GPU against
torch: causal and not, contiguous tensors and strided views passed through the stride
arguments, and the launch captured into a torch CUDA graph and replayed on new inputs; a
bundle that was not preloaded answers TILE_ERR_CAPTURE during capture.

usage: python3 typed_torch.py typed_shim.so attention.tbn   (bundle built with D=64)
"""
import ctypes as C
import sys

import torch
import torch.nn.functional as F

TILE_ERR_CAPTURE = 7
I64x4 = C.c_int64 * 4


def main():
    lib = C.CDLL(sys.argv[1])
    lib.shim_open.restype = C.c_void_p
    lib.shim_open.argtypes = [C.c_char_p, C.c_int]
    lib.shim_message.restype = C.c_char_p
    lib.shim_message.argtypes = [C.c_void_p]
    I64P = C.POINTER(C.c_int64)
    lib.shim_attention.argtypes = [C.c_void_p, C.c_void_p] + [C.c_void_p, I64P] * 4 + [
        I64P, C.c_float, C.c_int]
    torch.zeros(1, device="cuda")   # torch's primary context is current: libtile shares it
    h = lib.shim_open(sys.argv[2].encode(), 1)
    assert h, "shim_open failed"

    def launch(q, k, v, o, causal, handle=h):
        Z, H, M, D = q.shape
        N = k.shape[2]
        st = [I64x4(*t.stride()) for t in (q, k, v, o)]
        dims = (C.c_int64 * 5)(Z, H, M, D, N)
        stream = torch.cuda.current_stream().cuda_stream
        return lib.shim_attention(handle, stream, q.data_ptr(), st[0], k.data_ptr(), st[1],
                                  v.data_ptr(), st[2], o.data_ptr(), st[3], dims,
                                  D ** -0.5, int(causal))

    def reference(q, k, v, causal):
        return F.scaled_dot_product_attention(q.float(), k.float(), v.float(), is_causal=causal)

    ok = True
    torch.manual_seed(0)
    Z, H, M, N, D = 2, 4, 300, 500, 64
    cases = {
        "contiguous": (torch.randn(Z, H, M, D, device="cuda", dtype=torch.bfloat16),
                       torch.randn(Z, H, N, D, device="cuda", dtype=torch.bfloat16),
                       torch.randn(Z, H, N, D, device="cuda", dtype=torch.bfloat16)),
        # q with heads transposed in, k every other row of a taller tensor, v transposed
        "strided views": (
            torch.randn(Z, M, H, D, device="cuda", dtype=torch.bfloat16).transpose(1, 2),
            torch.randn(Z, 2 * N, H, D, device="cuda", dtype=torch.bfloat16)[:, ::2].transpose(1, 2),
            torch.randn(Z, N, H, D, device="cuda", dtype=torch.bfloat16).transpose(1, 2)),
        "square, M = N = 256": (torch.randn(1, 2, 256, D, device="cuda", dtype=torch.bfloat16),
                                torch.randn(1, 2, 256, D, device="cuda", dtype=torch.bfloat16),
                                torch.randn(1, 2, 256, D, device="cuda", dtype=torch.bfloat16)),
    }
    for name, (q, k, v) in cases.items():
        for causal in (False, True):
            o = torch.empty(q.shape, device="cuda", dtype=torch.bfloat16)
            s = launch(q, k, v, o, causal)
            torch.cuda.synchronize()
            err = (o.float() - reference(q, k, v, causal)).abs().max().item() if s == 0 else -1
            good = s == 0 and err < 2e-2
            ok &= good
            print(f"typed attention {name} causal={causal}: status {s}, max |o - torch| = "
                  f"{err:.3g} {'ok' if good else 'WRONG ' + lib.shim_message(h).decode()}")

    # a torch CUDA graph around the typed launch, replayed on new inputs
    q, k, v = (torch.empty(1, 4, 256, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    o = torch.empty_like(q)
    for t in (q, k, v):
        t.normal_()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):   # warm-up off the capture, as torch asks
        assert launch(q, k, v, o, True) == 0
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        captured = launch(q, k, v, o, True)
    assert captured == 0, lib.shim_message(h).decode()
    for replay in range(4):
        for t in (q, k, v):
            t.normal_(std=1 + replay)
        graph.replay()
        torch.cuda.synchronize()
        err = (o.float() - reference(q, k, v, True)).abs().max().item()
        tolerance = 2e-2 * (1 + replay)   # bf16 rounding of o grows with |v|
        ok &= err < tolerance
        print(f"torch graph replay {replay} (inputs of std {1 + replay}): max |o - torch| = "
              f"{err:.3g} {'ok' if err < tolerance else 'WRONG'}")

    cold = lib.shim_open(sys.argv[2].encode(), 0)
    g2 = torch.cuda.CUDAGraph()
    o2 = torch.zeros_like(q)
    with torch.cuda.graph(g2):
        o2.add_(1)   # keep the graph non-empty
        s = launch(q, k, v, o2, False, handle=cold)
    good = s == TILE_ERR_CAPTURE
    ok &= good
    print(f"not-preloaded bundle during torch capture: status {s} "
          f"({lib.shim_message(cold).decode()}) {'ok' if good else 'WRONG'}")
    print("typed_torch:", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
