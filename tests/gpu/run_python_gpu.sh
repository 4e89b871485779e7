#!/usr/bin/env bash
# Issue 25's GPU checks of the Python package (tests/gpu/python_torch.py) on the device
# machine, which has torch, Triton and transformers but no meson or LLVM. Build the bundles
# where tilec is built (every example, every const value and target `tilec build` makes):
#   for f in examples/*.tile; do build/tilec build $f -o DIR/$(basename $f .tile).tbn; done
# then, on the device machine, from the repository:
#   tests/gpu/run_python_gpu.sh DIR [python_torch.py options, e.g. --checks ops,llama]
# libtile is built here with plain gcc from runtime/'s sources into DIR/out/libtile.so (as
# run_runtime_gpu.sh does), unless $TILEC_LIBTILE names one; the package is imported from
# python/ (PYTHONPATH), not installed.
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(cd "${1:?usage: run_python_gpu.sh BUNDLE_DIR [python_torch.py options]}" && pwd)
shift
if [ -z "${TILEC_LIBTILE:-}" ]; then
    mkdir -p "$dir/out"
    lib=$(sed -n "s/.*files(\(.*\)).*/\1/p" "$src/runtime/meson.build" | tr -d "'," |
          tr ' ' '\n' | grep '\.c$' | sed "s|^|$src/runtime/|" | tr '\n' ' ')
    ${CC:-gcc} -std=c11 -O2 -Wall -Wextra -D_GNU_SOURCE -fPIC -shared \
        -I"$src/runtime" -I"${CUDA_INC:-/usr/local/cuda/include}" \
        -o "$dir/out/libtile.so" $lib -ldl -lpthread -lm || { echo "libtile build failed"; exit 1; }
    export TILEC_LIBTILE="$dir/out/libtile.so"
fi
cd "$src" && PYTHONPATH="$src/python${PYTHONPATH:+:$PYTHONPATH}" \
    python3 tests/gpu/python_torch.py "$dir" "$@"
