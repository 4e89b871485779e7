#!/usr/bin/env bash
# The runtime's suite, without a GPU: bundle writer/reader round trip and the corrupted
# corpus (bundle_test), libtile against the stub libcuda.so.1 (runtime_test, and its internal
# interface: internal_test), tile.h with
# cuda.h, `tilec inspect` on good and corrupt bundles, `tilec run`, `bench` and `tune`
# launching through libtile on the stub, and tuned bundles (`tilec build --tuned-from`,
# `--tuned`) dispatching per GPU through the stub.
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
step "libtile's internal interface against the stub driver" \
    env LD_LIBRARY_PATH="$build/tests/runtime" "$build/tests/runtime/internal_test" "$out"
step "tile.h with cuda.h" "$build/tests/runtime/tile_cuda_h_test"
inspect_good() {
    "$build/tilec" inspect "$out/attention.tbn" > "$out/inspect.txt" &&
        grep -q "^kernel attention(q: bf16\[Z, H, M, D\] in, " "$out/inspect.txt" &&
        grep -q "o: bf16\[Z, H, M, D\] out, " "$out/inspect.txt" &&
        grep -q "causal=true D=128" "$out/inspect.txt" &&
        grep -q "gpu \*, causal=true D=128, align any, default -> variant 7" "$out/inspect.txt"
}
step "tilec inspect prints a bundle" inspect_good
inspect_program() {
    "$build/tilec" inspect "$out/programs.tbn" > "$out/inspect.txt" &&
        grep -q "^program chain(x: f32\[R, C\] in, s: f32) -> (y: f32\[R, C\] out)$" "$out/inspect.txt" &&
        grep -q "^  intermediate d: f32\[R, C\], live \[3, 4\]$" "$out/inspect.txt" &&
        grep -q "^  call 1: scale(a, 2, b)$" "$out/inspect.txt" &&
        grep -q "^  call 4: shift(d, y, true)$" "$out/inspect.txt" || { cat "$out/inspect.txt"; return 1; }
}
step "tilec inspect prints a bundle's programs" inspect_program
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

# ---- tilec's commands launch through libtile (docs/run.md "On the GPU"): on the stub, which
# logs every allocation and launch (STUB_CUDA_LOG) and can make a launch store out of bounds
# (STUB_CUDA_STORE=ARG:OFFSET)
stub_env() { env LD_LIBRARY_PATH="$build/tests/runtime" STUB_CUDA_LOG="$out/stub.log" "$@"; }
machinery="$src/tests/gpu/machinery.tile"
# logged_launch_is LOG ENTRY GRID THREADS ARGS...: the log's one launch; an argument @N is the N-th
# allocation's base plus the 64 KiB guard band
logged_launch_is() {
    python3 - "$@" <<'PY'
import sys
log, entry, grid, threads, want = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
lines = [l.split() for l in open(log)]
allocs = [int(l[1], 0) for l in lines if l[0] == "alloc"]
launches = [l for l in lines if l[0] == "launch"]
assert len(launches) == 1, f"{len(launches)} launches: {lines}"
l = launches[0]
got = (l[1], int(l[3]), int(l[7]), [int(a, 0) for a in l[l.index("args") + 1:]])
expect = (entry, grid, threads, [allocs[int(a[1:])] + 65536 if a[0] == "@" else int(a) for a in want])
assert got == expect, f"got {got}, wanted {expect}"
PY
}
run_through_libtile() {
    rm -f "$out/stub.log"
    stub_env "$build/tilec" run "$machinery" --kernel copy --shape M=3,N=5 > "$out/run.txt" 2>&1 &&
        grep -q "^gpu: Stub GPU, unit variant, 3 blocks of 128 threads, 0 bytes of dynamic shared memory$" "$out/run.txt" &&
        logged_launch_is "$out/stub.log" copy 3 128 @0 5 1 @1 5 1 3 5 || { cat "$out/run.txt"; return 1; }
}
step "tilec run launches a compiled kernel through libtile" run_through_libtile
run_ptx_through_libtile() {
    rm -f "$out/stub.log"
    stub_env "$build/tilec" run "$machinery" --kernel copy --shape M=2,N=300 \
        --ptx "$src/tests/gpu/ptx/copy.ptx" > "$out/run.txt" 2>&1 &&
        logged_launch_is "$out/stub.log" copy 6 128 @0 300 1 @1 300 1 2 300 || { cat "$out/run.txt"; return 1; }
}
step "tilec run --ptx launches the hand-written PTX through libtile" run_ptx_through_libtile
stray_store() { # OFFSET NEEDLE: a store at y + OFFSET is caught, exit 1
    STUB_CUDA_STORE="3:$1" stub_env "$build/tilec" run "$machinery" --kernel copy --shape M=5,N=7 \
        > /dev/null 2> "$out/err.txt"
    local rc=$?
    [ $rc -eq 1 ] && grep -qF "tilec: error: stray store: $2" "$out/err.txt" || { echo "rc $rc"; cat "$out/err.txt"; return 1; }
}
guard_bands() {
    stray_store 140 "the guard band after y was written at byte offset 140 (the tensor's storage is 140 bytes)" &&
        stray_store -3 "the guard band before y was written at byte offset -3 (before the tensor's first byte)"
}
step "tilec run's guard bands catch a store past either end" guard_bands
gpu_watchdog() { # a kernel that never returns: run and bench end after TILEC_GPU_TIMEOUT, exit 1
    local cmd
    for cmd in run bench; do
        local t0=$SECONDS
        STUB_CUDA_HANG=1 TILEC_GPU_TIMEOUT=1 timeout 30 env LD_LIBRARY_PATH="$build/tests/runtime" \
            "$build/tilec" $cmd "$machinery" --kernel copy --shape M=5,N=7 > /dev/null 2> "$out/err.txt"
        local rc=$?
        [ $rc -eq 1 ] && [ $((SECONDS - t0)) -le 10 ] &&
            grep -q "of kernel copy did not finish within 1 s (TILEC_GPU_TIMEOUT)" "$out/err.txt" ||
            { echo "$cmd: rc $rc after $((SECONDS - t0)) s"; cat "$out/err.txt"; return 1; }
    done
}
step "a kernel that never returns ends tilec run and bench after TILEC_GPU_TIMEOUT" gpu_watchdog
program_through_libtile() {
    # tests/runtime/programs.tile's chain at R=3, C=100: its tensors in guard-banded
    # allocations 0 (x) and 1 (y), then the workspace (allocation 2, aligned up to 256
    # bytes): a at 0, b at 1280, c at 2560, d at 0 again
    rm -f "$out/stub.log"
    stub_env "$build/tilec" run "$src/tests/runtime/programs.tile" --program chain \
        --shape R=3,C=100 --set s=0.5 > "$out/run.txt" 2>&1 &&
        grep -q "^gpu: Stub GPU, program chain: 5 calls, a workspace of 3840 bytes$" "$out/run.txt" &&
        python3 - "$out/stub.log" <<'PY' || { cat "$out/run.txt" "$out/stub.log"; return 1; }
import sys
lines = [l.split() for l in open(sys.argv[1])]
allocs = [int(l[1], 0) for l in lines if l[0] == "alloc"]
x, y = allocs[0] + 65536, allocs[1] + 65536
ws = (allocs[2] + 255) // 256 * 256
a, b, c, d = ws, ws + 1280, ws + 2560, ws
half = 0x3f000000      # the f32 0.5 in its 8-byte slot
two = 0x40000000
want = [("scale", [x, 100, 1, half, a, 100, 1, 3, 100]),
        ("scale", [a, 100, 1, two, b, 100, 1, 3, 100]),
        ("add", [a, 100, 1, b, 100, 1, c, 100, 1, 3, 100]),
        ("scale", [c, 100, 1, half, d, 100, 1, 3, 100]),
        ("shift", [d, 100, 1, y, 100, 1, 3, 100])]
got = [(l[1], [int(v, 0) for v in l[l.index("args") + 1:]]) for l in lines if l[0] == "launch"]
assert got == want, f"got {got}\nwanted {want}"
PY
}
step "tilec run --program launches every call through libtile, intermediates in one workspace" program_through_libtile
i64_targets() {
    # the stub runs no kernel: each target holds the identity libtile set
    stub_env "$build/tilec" run "$src/tests/runtime/launch_path.tile" --shape N=300 \
        --out hi="$out/hi.npy" --out lo="$out/lo.npy" --out total="$out/total.npy" > "$out/run.txt" 2>&1 &&
        [ "$(tail -c 8 "$out/hi.npy" | od -An -tx1 | tr -d ' ')" = 0000000000000080 ] &&
        [ "$(tail -c 8 "$out/lo.npy" | od -An -tx1 | tr -d ' ')" = ffffffffffffff7f ] &&
        [ "$(tail -c 16 "$out/total.npy" | od -An -tx1 | tr -d ' \n')" = 00000000000000000000000000000000 ] ||
        { cat "$out/run.txt"; od -An -tx1 "$out/hi.npy" "$out/lo.npy" | tail -3; return 1; }
}
step "libtile sets i64 max/min/sum targets to their identity" i64_targets
bench_through_libtile() {
    rm -f "$out/stub.log"
    stub_env "$build/tilec" bench "$src/examples/fp8_quantize.tile" --kernel amax,quantize_e4m3 \
        --link quantize_e4m3.amax=amax.out --shape M=64,K=64 --reps 2 --warmup 1 \
        --json "$out/bench.json" > "$out/bench.txt" 2>&1 &&
        grep -q "^  amax: .*; vec16 variant; 4 blocks of 128 threads; 32 bytes of dynamic shared memory; 32 registers" "$out/bench.txt" &&
        grep -q "^  cold L2: median 0.2500 ms" "$out/bench.txt" &&
        python3 - "$out/bench.json" "$out/stub.log" <<'PY' || { cat "$out/bench.txt"; return 1; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["device"] == "Stub GPU" and [k["name"] for k in d["kernels"]] == ["amax", "quantize_e4m3"], d
assert d["kernels"][0]["blocks"] == 4 and d["kernels"][0]["threads"] == 128, d
launches = [l.split()[1] for l in open(sys.argv[2]) if l.startswith("launch ")]
# (1 warm-up + 2 repetitions) x (cold, warm), each the chain of two kernels
assert launches == ["amax", "quantize_e4m3"] * 6, launches
PY
}
step "tilec bench times launches prepared by libtile" bench_through_libtile
tune_through_libtile() {
    rm -f "$out/stub.log"
    # the stub computes nothing, so every candidate fails the output check, after a launch
    stub_env TILEC_CACHE_DIR="$out/tune-cache" "$build/tilec" tune "$src/examples/gemm.tile" \
        --shape M=64,N=64,K=64 --max-evals 2 --jobs 1 > "$out/tune.txt" 2>&1 &&
        grep -q "on Stub GPU" "$out/tune.txt" && grep -q "^measured [0-9]*: wrong-output" "$out/tune.txt" &&
        grep -q "^launch gemm grid" "$out/stub.log" || { cat "$out/tune.txt"; return 1; }
}
step "the tuner's benchmark child launches through libtile" tune_through_libtile

# ---- tuned bundles: `tilec build --tuned-from TABLE` / `--tuned` (docs/tuning.md)
gemm="$src/examples/gemm.tile"
tuned="$out/tuned"
mkdir -p "$tuned"
# table ENTRIES...: a tune-cache file; entry GPU SHAPE CONFIG [HASH] prints one entry
entry() {
    printf '{"kernel": "gemm", "source_hash": "%s", "consts": "", "align": "vec16", "shape": "%s", "gpu": "%s", "sm_count": 132, "driver_version": 13000, "tilec_version": "%s", "config": "%s", "time_ms": 0.5, "default_ms": 1.0, "strategy": "pattern", "evaluations": 10}' \
        "${4:-$hash}" "$2" "$1" "$version" "$3"
}
table() { local IFS=,; printf '{"format": "tilec-tune-cache", "version": 1, "entries": [%s]}\n' "$*"; }
version=$("$build/tilec" --version | awk '{print $2}')
stale_ignored() {
    # an entry of another source version is ignored with a note that names this source's hash
    hash=0123456789abcdef
    table "$(entry "GPU A" M=1024,K=1024,N=1024 BLOCK_M=128)" > "$tuned/stale.json"
    "$build/tilec" build "$gemm" --target sm_90a --tuned-from "$tuned/stale.json" -o "$tuned/stale.tbn" \
        2> "$tuned/stale.err" || { cat "$tuned/stale.err"; return 1; }
    grep -q "note: .*stale.json: ignored 1 entry of kernel gemm tuned for another version of its source" "$tuned/stale.err" &&
        "$build/tilec" inspect "$tuned/stale.tbn" > "$tuned/stale.txt" &&
        ! grep -q 'gpu "' "$tuned/stale.txt" && grep -q "2 variants" "$tuned/stale.txt" &&
        sed -n 's/.*this source is \([0-9a-f]*\)).*/\1/p' "$tuned/stale.err" > "$tuned/hash"
}
step "tuned table of another source version is ignored with a note" stale_ignored
hash=$(cat "$tuned/hash" 2>/dev/null)
# GPU A and B tuned at two shapes each (B's configs equal: one variant); a config that no
# longer resolves (num_warps=3); a stale entry
A1=BLOCK_M=128,BLOCK_N=128,BLOCK_K=64,num_warps=8,num_stages=3,group_m=8
A2=BLOCK_M=64,BLOCK_N=32,BLOCK_K=64,num_warps=4,num_stages=2,group_m=1
B=BLOCK_M=64,BLOCK_N=128,BLOCK_K=32,num_warps=4,num_stages=4,group_m=1
table "$(entry "GPU A" M=1024,K=1024,N=1024 $A1)" "$(entry "GPU B" M=1024,K=1024,N=1024 $B)" \
    "$(entry "GPU A" M=512,K=512,N=512 $A2)" "$(entry "GPU B" M=512,K=512,N=512 $B)" \
    "$(entry "GPU B" M=2048,K=2048,N=2048 BLOCK_M=64,num_warps=3)" \
    "$(entry "GPU C" M=1024,K=1024,N=1024 $A1 0123456789abcdef)" > "$tuned/table.json"
tuned_build() {
    "$build/tilec" build "$gemm" --target sm_90a --tuned-from "$tuned/table.json" -o "$tuned/g.tbn" 2> "$tuned/build.err" &&
        grep -q "warning: kernel gemm: skipped the tuned config 'BLOCK_M=64,num_warps=3' for GPU 'GPU B'.*num_warps=3 is not allowed" "$tuned/build.err" &&
        grep -q "ignored 1 entry of kernel gemm tuned for another version" "$tuned/build.err" &&
        "$build/tilec" inspect "$tuned/g.tbn" > "$tuned/g.txt" &&
        grep -q "1 kernels, 5 variants" "$tuned/g.txt" &&
        grep -q '^    gpu \*, align vec16, default -> variant 0$' "$tuned/g.txt" &&
        grep -q '^    gpu \*, align any, default -> variant 1$' "$tuned/g.txt" &&
        grep -q '^    gpu "GPU A", align vec16, shape M=1024,K=1024,N=1024 -> variant 2$' "$tuned/g.txt" &&
        grep -q '^    gpu "GPU B", align vec16, shape M=1024,K=1024,N=1024 -> variant 3$' "$tuned/g.txt" &&
        grep -q '^    gpu "GPU A", align vec16, shape M=512,K=512,N=512 -> variant 4$' "$tuned/g.txt" &&
        grep -q '^    gpu "GPU B", align vec16, shape M=512,K=512,N=512 -> variant 3$' "$tuned/g.txt" &&
        ! grep -q '"GPU C"\|M=2048' "$tuned/g.txt" || { cat "$tuned/build.err" "$tuned/g.txt"; return 1; }
}
step "tilec build --tuned-from: both GPUs' entries, deduped variants, stale config skipped" tuned_build
# launch GPU M N K WANT: the stub device named GPU runs gemm at MxNxK; WANT is what ran
launch_is() {
    local got; got=$(env LD_LIBRARY_PATH="$build/tests/runtime" "$build/tests/runtime/tuned_test" \
        "$tuned/g.tbn" "$1" "$2" "$3" "$4") || return 1
    [ "$got" = "$5" ] || { echo "$1 at $2x$3x$4: got '$got', wanted '$5'"; return 1; }
}
tuned_dispatch() {
    # sm_90a variants are warp-specialised (a producer warpgroup beside num_warps) and
    # persistent (at most one block per multiprocessor: the stub has 132)
    launch_is "GPU A" 1024 1024 1024 "threads 384 blocks 64" &&   # A's exact
        launch_is "GPU B" 1024 1024 1024 "threads 256 blocks 128" && # B's exact
        launch_is "GPU A" 512 512 512 "threads 256 blocks 128" &&    # A's other shape
        launch_is "GPU B" 2048 2048 2048 "threads 256 blocks 132" && # B's nearest
        launch_is "GPU Z" 1024 1024 1024 "threads 384 blocks 32" &&  # default: 256x128 tiles
        launch_is "Stub GPU" 512 512 512 "threads 384 blocks 8"      # default
}
step "libtile picks the running GPU's tuned entry, else the default" tuned_dispatch
# a bundle of two targets (the default): sm_90a's variants on compute capability 9.0 (a
# producer warpgroup beside 8 warps), sm_80's (4 warps, 64x64 tiles) on 8.0 and 8.9
two_targets() {
    "$build/tilec" build "$gemm" --no-tuned -o "$tuned/two.tbn" 2> "$tuned/two.err" || {
        cat "$tuned/two.err"; return 1; }
    local got
    for case in "90:threads 384 blocks 32" "80:threads 128 blocks 256" "89:threads 128 blocks 256"; do
        got=$(env LD_LIBRARY_PATH="$build/tests/runtime" "$build/tests/runtime/tuned_test" \
            "$tuned/two.tbn" "Stub GPU" 1024 1024 1024 "${case%%:*}") || return 1
        [ "$got" = "${case#*:}" ] || { echo "sm ${case%%:*}: got '$got', wanted '${case#*:}'"; return 1; }
    done
    "$build/tilec" build "$gemm" --no-tuned --target sm_90a -o "$tuned/one.tbn" 2> "$tuned/one.err" &&
        ! env LD_LIBRARY_PATH="$build/tests/runtime" "$build/tests/runtime/tuned_test" \
            "$tuned/one.tbn" "Stub GPU" 64 64 64 80 2> "$tuned/one.err" &&
        grep -q "no variant for this GPU (Stub GPU, sm_80; built for sm_90a)" "$tuned/one.err" || {
            cat "$tuned/one.err"; return 1; }
}
step "a bundle for sm_90a and sm_80 runs the newest variant the GPU can" two_targets
tuned_from_cache() {
    mkdir -p "$tuned/cache"
    table "$(entry "GPU A" M=1024,K=1024,N=1024 $A1)" > "$tuned/cache/tune-cache.json"
    TILEC_CACHE_DIR="$tuned/cache" "$build/tilec" build "$gemm" --target sm_90a --tuned -o "$tuned/c.tbn" 2> "$tuned/c.err" &&
        "$build/tilec" inspect "$tuned/c.tbn" > "$tuned/c.txt" &&
        grep -q '^    gpu "GPU A", align vec16, shape M=1024,K=1024,N=1024 -> variant 2$' "$tuned/c.txt" &&
        TILEC_CACHE_DIR="$tuned/empty" "$build/tilec" build "$gemm" --target sm_90a --tuned -o "$tuned/e.tbn" 2> "$tuned/e.err" &&
        grep -q "note: --tuned: no tune cache at" "$tuned/e.err" || { cat "$tuned/c.err" "$tuned/e.err"; return 1; }
}
step "tilec build --tuned reads the tune cache" tuned_from_cache
bad_table() { # FILE CONTENT NEEDLE: exit 1 and a message naming the file
    [ -n "$2" ] && printf '%s' "$2" > "$tuned/$1"
    "$build/tilec" build "$gemm" --tuned-from "$tuned/$1" -o "$tuned/bad.tbn" 2> "$tuned/bad.err"
    local rc=$?
    [ $rc -eq 1 ] && grep -q "error: --tuned-from $tuned/$1.*$3" "$tuned/bad.err" ||
        { echo "$1: rc $rc"; cat "$tuned/bad.err"; return 1; }
}
bad_tables() {
    bad_table broken.json '{"format": "tilec-tune-cache", "entries": [' "not valid JSON" &&
        bad_table other.json '{"entries": []}' "not a tilec tune cache" &&
        bad_table entry.json '{"format": "tilec-tune-cache", "entries": [{"kernel": "gemm"}]}' "entry 0 is malformed" &&
        bad_table missing.json "" "no such file"
}
step "a malformed or missing table is an error (exit 1) naming the file" bad_tables

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
