#!/bin/sh
# Builds tests/codegen/mma_probe against LLVM 22, statically linked,
# without meson: usage build_probe.sh OUTPUT_BINARY. Run from anywhere.
set -eu
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUTPUT="$1"
LLVM_CONFIG=${LLVM_CONFIG:-llvm-config-22}
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 $($LLVM_CONFIG --cflags) \
    -I"$ROOT/src/base" -I"$ROOT/codegen" \
    "$ROOT/tests/codegen/mma_probe.c" "$ROOT/codegen/llvm_ptx.c" "$ROOT/codegen/nvvm.c" \
    "$ROOT/codegen/target.c" "$ROOT/src/base/arena.c" "$ROOT/src/base/dtype.c" \
    -o "$OUTPUT" $($LLVM_CONFIG --link-static --ldflags) \
    $($LLVM_CONFIG --link-static --libs nvptx core target analysis passes) \
    -lz -lzstd -lstdc++ -lm -ldl -lpthread
