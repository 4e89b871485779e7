#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install what tilec needs, build it, and
# compile the attention example into a kernel bundle (build/attention.tbn, with its typed C
# launcher build/attention.h) for head dims 64 and 128.
set -euo pipefail
cd "$(dirname "$0")"
bash .ci/deps.sh
[ -d build ] || meson setup build --native-file meson-native.ini
ninja -C build
./build/tilec check examples/attention.tile
./build/tilec build examples/attention.tile -o build/attention.tbn --config 'D=64|128'
./build/tilec inspect build/attention.tbn
