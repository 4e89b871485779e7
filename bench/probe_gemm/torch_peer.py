"""Times torch's peers of the probe kernels in the same run: torch.matmul (bf16, cuBLAS) and
torch._scaled_mm (fp8 e4m3, tensorwise scales of 1), median of 20 after warm-up, events."""
import torch


def median_ms(fn, reps=20, warmup=5):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return (times[reps // 2 - 1] + times[reps // 2]) / 2


def report(name, m, n, k, ms):
    print(f"{name:<26} {m:5d}x{n:5d}x{k:5d} | {ms:8.4f} ms {2 * m * n * k / ms / 1e9:7.1f} TFLOP/s")


def main():
    dev = torch.device("cuda")
    print("torch", torch.__version__, torch.cuda.get_device_name(0))
    for m, n, k in [(4096, 4096, 4096), (1000, 1000, 1000)]:
        a = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
        b = torch.randn(k, n, device=dev, dtype=torch.bfloat16)
        report("torch.matmul bf16", m, n, k, median_ms(lambda: torch.matmul(a, b)))
    one = torch.ones((), device=dev, dtype=torch.float32)
    for m, n, k in [(4096, 4096, 4096), (1008, 1008, 1008)]:
        a = torch.randn(m, k, device=dev).to(torch.float8_e4m3fn)
        b = torch.randn(n, k, device=dev).to(torch.float8_e4m3fn)
        fn = lambda: torch._scaled_mm(a, b.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
        report("torch._scaled_mm e4m3", m, n, k, median_ms(fn))


if __name__ == "__main__":
    main()
