"""ctypes_example.py — the attention bundle called from PyTorch through libtile's generic
tile_launch, on torch tensors' data pointers (strided views included), checked against
torch's scaled_dot_product_attention. libtile shares the CUDA primary context with PyTorch,
so the tensors' pointers and torch's current stream pass straight through.

usage: python3 ctypes_example.py path/to/libtile.so attention.tbn   (bundle built with D=64)
"""
import ctypes as C
import sys

import torch

MAX_RANK = 8
TENSOR, SCALAR, CONST = 0, 1, 2
BF16 = 2


class TileArg(C.Structure):  # tile.h's tile_arg
    _fields_ = [("kind", C.c_int), ("dtype", C.c_int), ("name", C.c_char_p),
                ("data", C.c_void_p), ("rank", C.c_int),
                ("shape", C.c_int64 * MAX_RANK), ("strides", C.c_int64 * MAX_RANK),
                ("has_strides", C.c_bool), ("f", C.c_double), ("i", C.c_int64)]


def tensor_arg(t):
    a = TileArg(kind=TENSOR, dtype=BF16, data=t.data_ptr(), rank=t.dim(), has_strides=True)
    for d in range(t.dim()):
        a.shape[d], a.strides[d] = t.shape[d], t.stride(d)   # strides in elements, as torch's
    return a


def main():
    lib = C.CDLL(sys.argv[1])
    lib.tile_error_message.restype = C.c_char_p
    lib.tile_status_string.restype = C.c_char_p
    ctx, bundle = C.c_void_p(), C.c_void_p()
    torch.zeros(1, device="cuda")   # let torch create and make current the primary context
    assert lib.tile_context_create(C.byref(ctx), None) == 0, lib.tile_error_message(ctx)
    s = lib.tile_bundle_load_file(ctx, sys.argv[2].encode(), C.byref(bundle))
    assert s == 0, lib.tile_error_message(ctx)

    Z, H, M, N, D = 2, 4, 300, 500, 64
    q = torch.randn(Z, H, M, D, device="cuda", dtype=torch.bfloat16)
    # k and v as strided views: every other row of a taller tensor, heads transposed in
    k = torch.randn(Z, 2 * N, H, D, device="cuda", dtype=torch.bfloat16)[:, ::2].transpose(1, 2)
    v = torch.randn(Z, N, H, D, device="cuda", dtype=torch.bfloat16).transpose(1, 2)
    o = torch.empty(Z, H, M, D, device="cuda", dtype=torch.bfloat16)
    stream = C.c_void_p(torch.cuda.current_stream().cuda_stream)
    for causal in (False, True):
        args = (TileArg * 6)(tensor_arg(q), tensor_arg(k), tensor_arg(v), tensor_arg(o),
                             TileArg(kind=SCALAR, dtype=0, f=D ** -0.5),
                             TileArg(kind=CONST, i=int(causal)))
        s = lib.tile_launch(ctx, bundle, b"attention", args, 6, stream)
        assert s == 0, (lib.tile_status_string(s), lib.tile_error_message(ctx))
        ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        err = (o.float() - ref.float()).abs().max().item()
        print(f"causal={causal}: max |libtile - torch| = {err:.3g}", "ok" if err < 2e-2 else "WRONG")
    lib.tile_bundle_free(bundle)
    lib.tile_context_destroy(ctx)


if __name__ == "__main__":
    main()
