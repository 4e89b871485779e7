#!/usr/bin/env python3
"""The peers of the tune cases, timed on the device in the same run as bench/tune_compare.py.

usage: python3 bench/tune_peers.py OUT_FILE

torch.matmul for gemm 4096^3, torch._scaled_mm tensorwise for fp8_gemm 4096^3, SDPA with the
flash and cuDNN backends for attention Z=4 H=48 D=64 (not causal) and Z=8 H=16 D=128 causal,
M=N=4096. Median of triton.testing.do_bench (which clears L2 between repetitions).
"""
import json
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from triton.testing import do_bench


def main():
    out = {"device": torch.cuda.get_device_name()}
    n = 4096
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    ms = do_bench(lambda: torch.matmul(a, b), return_mode="median")
    out["gemm"] = {"peer": "torch.matmul", "ms": ms, "tflops": 2 * n**3 / ms / 1e9}
    a8 = a.to(torch.float8_e4m3fn)
    b8 = b.to(torch.float8_e4m3fn).t()  # column-major b, as _scaled_mm wants
    one = torch.tensor(1.0, device="cuda")
    ms = do_bench(lambda: torch._scaled_mm(a8, b8, scale_a=one, scale_b=one,
                                           out_dtype=torch.bfloat16), return_mode="median")
    out["fp8_gemm"] = {"peer": "torch._scaled_mm tensorwise", "ms": ms,
                       "tflops": 2 * n**3 / ms / 1e9}
    for name, (z, h, d, causal) in {"attention64": (4, 48, 64, False),
                                    "attention128c": (8, 16, 128, True)}.items():
        q, k, v = (torch.randn(z, h, n, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        flop = 4 * z * h * n * n * d / (2 if causal else 1)
        for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION):
            with sdpa_kernel(backend):
                ms = do_bench(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal),
                              return_mode="median")
            out[f"{name}/{backend.name}"] = {"ms": ms, "tflops": flop / ms / 1e9}
    text = json.dumps(out, indent=1)
    print(text)
    with open(sys.argv[1], "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
