#!/usr/bin/env bash
# Builds libtile's GPU checks with plain gcc (no meson, no LLVM: the device machine has
# neither) and runs them: the launch-overhead bench, the driver-level graph replay and the
# typed launchers against torch. Bundles and their headers come prebuilt in BUNDLE_DIR:
#   tilec build examples/gemm.tile -o DIR/gemm.tbn
#   tilec build examples/attention.tile -o DIR/attention.tbn --config D=64
#   tilec build examples/fp8_quantize.tile -o DIR/quant.tbn
#   tilec build tests/runtime/programs.tile -o DIR/programs.tbn
# usage: tests/gpu/run_runtime_gpu.sh BUNDLE_DIR [OUT_DIR]
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(cd "${1:?usage: run_runtime_gpu.sh BUNDLE_DIR [OUT_DIR]}" && pwd)
out=${2:-$dir/out}
mkdir -p "$out"
cuda_inc=${CUDA_INC:-/usr/local/cuda/include}
cc="${CC:-gcc} -std=c11 -O2 -Wall -Wextra -D_GNU_SOURCE -I$src/runtime -I$dir -I$cuda_inc"
# libtile's sources, as runtime/meson.build lists them
lib=$(sed -n "s/.*files(\(.*\)).*/\1/p" "$src/runtime/meson.build" | tr -d "'," |
      tr ' ' '\n' | grep '\.c$' | sed "s|^|$src/runtime/|" | tr '\n' ' ')
fail=0
# the harnesses use libtile's internal interface (tile_internal.h) for their own driver calls
$cc -o "$out/launch_overhead" "$src/bench/launch_overhead.c" $lib -ldl -lpthread -lm || fail=1
$cc -o "$out/graph_replay" "$src/tests/gpu/graph_replay.c" $lib -ldl -lpthread -lm || fail=1
$cc -fPIC -shared -o "$out/typed_shim.so" "$src/tests/gpu/typed_shim.c" $lib -ldl -lpthread ||
    fail=1
[ $fail -eq 0 ] || { echo "build failed"; exit 1; }
echo "== graph replay"; "$out/graph_replay" "$dir" || fail=1
echo "== typed launchers against torch"
python3 "$src/tests/gpu/typed_torch.py" "$out/typed_shim.so" "$dir/attention.tbn" || fail=1
echo "== launch overhead"; "$out/launch_overhead" "$dir" || fail=1
exit $fail
