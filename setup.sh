#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install what tilec needs, build it, install
# tilec, libtile, tile.h and tile.pc under $PREFIX (default ~/.local), and compile the
# attention example into a kernel bundle (build/attention.tbn, with its typed C launcher
# build/attention.h) for head dims 64 and 128.
set -euo pipefail
cd "$(dirname "$0")"
prefix=${PREFIX:-$HOME/.local}
bash .ci/deps.sh
# libdir=lib: the same layout under every prefix (Debian's default adds a multiarch folder)
if [ -d build ]; then
    meson configure build --prefix="$prefix" --libdir=lib
else
    meson setup build --native-file meson-native.ini --prefix="$prefix" --libdir=lib
fi
ninja -C build
meson install -C build --quiet
./build/tilec check examples/attention.tile
./build/tilec build examples/attention.tile -o build/attention.tbn
./build/tilec inspect build/attention.tbn
echo "setup: installed tilec, libtile, tile.h and tile.pc under $prefix"
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "setup: $prefix/bin is not on PATH; add it (then open a new shell):"
       echo "    echo 'export PATH=\"$prefix/bin:\$PATH\"' >> ~/.bashrc" ;;
esac
