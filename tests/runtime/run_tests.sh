#!/usr/bin/env bash
# The runtime's suite, without a GPU: bundle writer/reader round trip and the corrupted
# corpus (bundle_test), libtile against the stub libcuda.so.1 (runtime_test), tile.h with
# cuda.h, and `tilec inspect` on good and corrupt bundles.
# usage: tests/runtime/run_tests.sh BUILD_DIR   (prints `N passed, N failed`; exit 1 on failure)
set -uo pipefail
build=$(cd "${1:?usage: run_tests.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
out="$build/runtime-tests"
rm -rf "$out"
pass=0; fail=0
step() { # name, command...
    local name=$1; shift
    local log; log=$("$@" 2>&1); local rc=$?
    if [ $rc -eq 0 ]; then pass=$((pass + 1)); echo "ok   $name"
    else fail=$((fail + 1)); echo "FAIL $name"; echo "$log" | tail -30; fi
}
step "bundle round trip and corrupted corpus" "$build/tests/runtime/bundle_test" "$out" "$src"
# only the stub's folder on the path: libtile finds it as it finds the real driver
step "libtile against the stub driver" \
    env LD_LIBRARY_PATH="$build/tests/runtime" "$build/tests/runtime/runtime_test" "$out"
step "tile.h with cuda.h" "$build/tests/runtime/tile_cuda_h_test"
inspect_good() {
    "$build/tilec" inspect "$out/attention.tbn" > "$out/inspect.txt" &&
        grep -q "^kernel attention(q: bf16\[Z, H, M, D\]" "$out/inspect.txt" &&
        grep -q "causal=true D=128" "$out/inspect.txt" &&
        grep -q "gpu \*, default -> variant 7" "$out/inspect.txt"
}
step "tilec inspect prints a bundle" inspect_good
inspect_corpus() {
    local n=0
    for f in "$out"/corpus/*.tbn; do
        "$build/tilec" inspect "$f" > /dev/null 2> "$out/err.txt"
        local rc=$?
        [ $rc -eq 1 ] && grep -q "invalid bundle: " "$out/err.txt" || { echo "$f: rc $rc"; cat "$out/err.txt"; return 1; }
        n=$((n + 1))
    done
    [ $n -gt 100 ]
}
step "tilec inspect rejects every corrupt bundle with exit 1 and a message" inspect_corpus
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
