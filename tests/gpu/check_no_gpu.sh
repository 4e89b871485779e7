#!/bin/sh
# check_no_gpu.sh BUILD_DIR — on a machine without an NVIDIA driver (CI), `tilec run`
# without --interpret and `tilec bench` must say `tilec: error: no GPU: libcuda.so.1 not
# found ...` and exit 1, never crash, and so must tests/gpu/differential.py and (with
# torch) tests/gpu/python_torch.py; usage errors still exit 2. Prints one line per case and `N passed, N failed`; exits 1 on any failure.
# Where a driver loads, it says so and checks only the usage cases.
set -u
build=${1:-build}
tilec="$build/tilec"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the Python package's checks need torch: the project's .venv has it where .ci/deps.sh ran
py=$root/.venv/bin/python
[ -x "$py" ] || py=python3

# expect NAME STATUS PATTERN COMMAND...: the exit status and a fixed string in the output
expect() {
    name=$1 want_status=$2 pattern=$3
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
    cat "$tmp/out" >>"$tmp/err"
    if [ "$status" -eq "$want_status" ] && grep -qF -- "$pattern" "$tmp/err"; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name: exit $status (want $want_status), stderr:"
        sed 's/^/    /' "$tmp/err" | head -5
    fi
}

"$tilec" run examples/gemm.tile --shape M=8,N=8,K=8 >/dev/null 2>"$tmp/probe"
if grep -qF "libcuda.so.1 not found" "$tmp/probe"; then
    nogpu="tilec: error: no GPU: libcuda.so.1 not found"
    expect "run without --interpret" 1 "$nogpu" \
        "$tilec" run examples/gemm.tile --shape M=8,N=8,K=8
    expect "run --check" 1 "$nogpu" \
        "$tilec" run examples/attention.tile --shape Z=1,H=1,M=16,N=16,D=64 --set scale=0.125 \
        --set causal=true --check
    expect "run --ptx" 1 "$nogpu" \
        "$tilec" run tests/gpu/machinery.tile --kernel copy --shape M=3,N=5 --ptx tests/gpu/ptx/copy.ptx
    expect "bench" 1 "$nogpu" \
        "$tilec" bench examples/gemm.tile --kernel gemm --shape M=64,N=64,K=64
    expect "bench of a file's only kernel" 1 "$nogpu" \
        "$tilec" bench examples/gemm.tile --shape M=64,N=64,K=64
    expect "bench of a chain" 1 "$nogpu" \
        "$tilec" bench examples/fp8_quantize.tile --kernel amax,quantize_e4m3 \
        --link quantize_e4m3.amax=amax.out --shape M=64,K=64
    # the differential test's driver says so and stops (docs/run.md)
    expect "differential.py without a GPU" 1 "differential: no GPU: tilec: error: no GPU" \
        python3 tests/gpu/differential.py "$build" --count 4 --jobs 2
    # the Python package's GPU checks load the bundles (no device needed), then stop
    if "$py" -c "import torch" 2>/dev/null; then
        mkdir -p "$tmp/bundles"
        "$tilec" build examples/softmax.tile -o "$tmp/bundles/softmax.tbn" 2>/dev/null
        # a sanitized libtile needs its sanitizer runtimes loaded first (python has none)
        preload=$(ldd "$build/runtime/libtile.so" 2>/dev/null |
                  awk '/libasan|libubsan/ { print $3 }' | paste -sd: -)
        expect "python_torch.py without a GPU" 1 "torch.cuda.is_available() is False" \
            env PYTHONPATH=python TILEC_LIBTILE="$build/runtime/libtile.so" \
            LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 \
            "$py" tests/gpu/python_torch.py "$tmp/bundles"
    fi
else
    echo "a CUDA driver loads here: the no-GPU cases are skipped"
fi
if "$py" -c "import torch" 2>/dev/null; then
    expect "python_torch.py without bundles" 2 "give a BUNDLE_DIR or --tilec PATH" \
        env PYTHONPATH=python "$py" tests/gpu/python_torch.py
    expect "python_torch.py --checks unknown" 2 "unknown check nope" \
        env PYTHONPATH=python "$py" tests/gpu/python_torch.py --checks nope some_dir
fi
# usage errors come before the device is opened
expect "bench without --kernel of two kernels" 2 "name one with --kernel (fp8_gemm_tensorwise, fp8_gemm_rowwise)" \
    "$tilec" bench examples/fp8_gemm.tile --shape M=8,N=8,K=8
expect "bench --reps 0" 2 "--reps '0'" \
    "$tilec" bench examples/gemm.tile --kernel gemm --reps 0
expect "bench --link malformed" 2 "--link 'amax'" \
    "$tilec" bench examples/fp8_quantize.tile --kernel amax --link amax
expect "bench unknown name" 2 "no kernel of the chain has a parameter 'nope'" \
    "$tilec" bench examples/gemm.tile --kernel gemm --set nope=1
expect "run --check with --interpret" 2 "leave out --interpret" \
    "$tilec" run examples/gemm.tile --interpret --check
expect "run --arith on the GPU alone" 2 "use it with --interpret or --check" \
    "$tilec" run examples/gemm.tile --arith=gpu
# the differential test's generation and bookkeeping, its interpreter side alone
# (discards are counted, not failures: a generated config the schedule refuses is one)
expect "differential.py --no-gpu: none mismatched" 0 ", 0 mismatched," \
    python3 tests/gpu/differential.py "$build" --no-gpu --count 30 --first 100 --jobs 2
expect "differential.py --no-gpu: none failed" 0 "discarded, 0 failed" \
    python3 tests/gpu/differential.py "$build" --no-gpu --count 30 --first 100 --jobs 2
if "$tilec" bench --help | grep -q "usage: tilec bench"; then
    passed=$((passed + 1)); echo "ok   bench --help"
else
    failed=$((failed + 1)); echo "FAIL bench --help"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
