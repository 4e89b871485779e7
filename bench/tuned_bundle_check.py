"""tuned_bundle_check.py — a bundle built on a machine without a GPU from an exported tune
table (`tilec build --tuned-from`) launches its tuned config through libtile on the GPU.

Times gemm 4096^3 through libtile's tile_launch from two bundles of the same source — one
with the tuned dispatch entries, one with the defaults only — and checks both results
against torch.matmul. The tuned bundle must run at the tuned config's speed (the tune
table's time), the default one at the default's.

usage: python3 tuned_bundle_check.py libtile.so tuned.tbn default.tbn [M N K]
"""
import ctypes as C
import sys

import torch

MAX_RANK = 8
TENSOR = 0
BF16 = 2


class TileArg(C.Structure):  # tile.h's tile_arg
    _fields_ = [("kind", C.c_int), ("dtype", C.c_int), ("name", C.c_char_p),
                ("data", C.c_void_p), ("rank", C.c_int),
                ("shape", C.c_int64 * MAX_RANK), ("strides", C.c_int64 * MAX_RANK),
                ("has_strides", C.c_bool), ("f", C.c_double), ("i", C.c_int64)]


def tensor_arg(t):
    a = TileArg(kind=TENSOR, dtype=BF16, data=t.data_ptr(), rank=t.dim(), has_strides=True)
    for d in range(t.dim()):
        a.shape[d], a.strides[d] = t.shape[d], t.stride(d)
    return a


def time_bundle(lib, ctx, path, a, b, c, stream):
    bundle = C.c_void_p()
    assert lib.tile_bundle_load_file(ctx, path.encode(), C.byref(bundle)) == 0, \
        lib.tile_error_message(ctx)
    args = (TileArg * 3)(tensor_arg(a), tensor_arg(b), tensor_arg(c))

    def launch():
        s = lib.tile_launch(ctx, bundle, b"gemm", args, 3, stream)
        assert s == 0, (lib.tile_status_string(s), lib.tile_error_message(ctx))

    for _ in range(3):
        launch()
    torch.cuda.synchronize()
    times = []
    flush = torch.empty(256 * 1024 * 1024 // 4, device="cuda")
    for _ in range(20):
        flush.zero_()            # cold L2, outside the timed region
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        launch()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    lib.tile_bundle_free(bundle)
    times.sort()
    return times[len(times) // 2]


def main():
    lib = C.CDLL(sys.argv[1])
    lib.tile_error_message.restype = C.c_char_p
    lib.tile_status_string.restype = C.c_char_p
    M, N, K = (int(x) for x in sys.argv[4:7]) if len(sys.argv) > 6 else (4096, 4096, 4096)
    torch.zeros(1, device="cuda")
    ctx = C.c_void_p()
    assert lib.tile_context_create(C.byref(ctx), None) == 0, lib.tile_error_message(ctx)
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    ref = (a.float() @ b.float())
    stream = C.c_void_p(torch.cuda.current_stream().cuda_stream)
    print(f"gpu: {torch.cuda.get_device_name()}  gemm {M}x{N}x{K} through libtile tile_launch")
    for label, path in (("tuned", sys.argv[2]), ("default", sys.argv[3])):
        c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
        ms = time_bundle(lib, ctx, path, a, b, c, stream)
        err = ((c.float() - ref).abs().max() / ref.abs().max()).item()
        tflops = 2 * M * N * K / ms / 1e9
        print(f"{label:8s} bundle: {ms:.4f} ms  {tflops:.1f} TFLOP/s  max rel err {err:.2g} "
              f"{'ok' if err < 1e-2 else 'WRONG'}")
    lib.tile_context_destroy(ctx)


if __name__ == "__main__":
    main()
