#!/bin/sh
# Builds, on the build machine, what bench/probe_gemm/run.sh runs on the GPU machine (which has
# no LLVM): the PTX from tests/codegen/mma_probe, its cubin from ptxas, and probe_run.
set -eu
cd "$(dirname "$0")/../.."
mkdir -p .device build-probe
sh tests/codegen/build_probe.sh build-probe/mma_probe
build-probe/mma_probe > .device/probe.ptx
build-probe/mma_probe --stages 3 > .device/probe3.ptx
ptxas -arch=sm_90a -v .device/probe.ptx -o .device/probe.cubin 2> .device/ptxas.txt
ptxas -arch=sm_90a -v .device/probe3.ptx -o /dev/null 2> .device/ptxas3.txt
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -I/usr/local/cuda/include -Iruntime -Isrc/base \
    bench/probe_gemm/probe_run.c runtime/libtile.c runtime/bundle_format.c runtime/bundle_read.c \
    src/base/convert.c src/base/dtype.c -o .device/probe_run -ldl -lpthread -lm
