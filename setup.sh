#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install what tilec needs, build it, and run
# it on the attention example.
set -euo pipefail
cd "$(dirname "$0")"
bash .ci/deps.sh
[ -d build ] || meson setup build --native-file meson-native.ini
ninja -C build
./build/tilec check examples/attention.tile
./build/tilec build --emit=ast examples/attention.tile
