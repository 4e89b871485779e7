#!/usr/bin/env bash
# The tuner's suites, no GPU needed: `tilec tune --space` golden files (tests/autotune/space:
# NAME.args beside NAME.space, the expected stdout+stderr and exit status), the command's
# CLI (no GPU, the synthetic backend, export), the strategies on synthetic functions, and
# the library checks (child process, timing policy, ptxas, cache, SIGINT).
# usage: tests/autotune/run_tests.sh BUILD_DIR [--update]   -> "N passed, N failed"
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: run_tests.sh BUILD_DIR [--update]}" && pwd)
update=${2:-}
tilec="$build/tilec"
passed=0
failed=0
scratch=$(mktemp -d /tmp/tilec-autotune-tests-XXXXXX)
trap 'rm -rf "$scratch"' EXIT

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -40 | sed 's/^/    /'; }

cd "$root"

# ---- space golden files
for args_file in tests/autotune/space/*.args; do
    name=$(basename "$args_file" .args)
    expected="${args_file%.args}.space"
    # shellcheck disable=SC2046
    actual=$("$tilec" tune $(cat "$args_file") 2>&1; echo "exit $?")
    if [ "$update" = "--update" ]; then
        printf '%s\n' "$actual" > "$expected"
        pass
    elif [ ! -f "$expected" ]; then
        fail "space/$name" "missing $expected (bless with --update after reading the output)"
    elif diff_out=$(diff -u "$expected" <(printf '%s\n' "$actual")); then
        pass
    else
        fail "space/$name" "$diff_out"
    fi
done

# ---- the command without a GPU, with the synthetic backend, export
out=$(env -u TILEC_TUNE_SYNTHETIC "$tilec" tune examples/gemm.tile --shape M=64,N=64,K=64 2>&1)
status=$?
if [ -e /dev/nvidia0 ] || ldconfig -p 2>/dev/null | grep -q libcuda.so.1; then
    echo "  (a GPU driver is present: skipping the no-GPU message check)"
    pass
elif [ $status -eq 1 ] && grep -q "found none" <<<"$out" && grep -q -- "--space" <<<"$out"; then
    pass
else
    fail "cli/no-gpu (exit $status)" "$out"
fi

export TILEC_CACHE_DIR="$scratch/cache"
out=$(TILEC_TUNE_SYNTHETIC=1 "$tilec" tune examples/gemm.tile --shape M=1024,N=1024,K=1024 \
      --max-evals 40 --strategy de --seed 3 2>&1)
status=$?
if [ $status -eq 0 ] && grep -q "speedup" <<<"$out" && grep -q '"config"' "$TILEC_CACHE_DIR/tune-cache.json"; then
    pass
else
    fail "cli/synthetic-tune (exit $status)" "$out"
fi
out=$("$tilec" tune --kernel gemm --export "$scratch/gemm-table.json" 2>&1)
if [ $? -eq 0 ] && grep -q "wrote 1 tuned config" <<<"$out" &&
   python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["format"]=="tilec-tune-cache" and len(d["entries"])==1 and d["entries"][0]["kernel"]=="gemm"' "$scratch/gemm-table.json"; then
    pass
else
    fail "cli/export" "$out"
fi
out=$("$tilec" tune examples/gemm.tile --shape M=64,N=64,K=64 --strategy annealing 2>&1)
if [ $? -eq 2 ] && grep -q "unknown --strategy 'annealing'" <<<"$out"; then pass; else fail "cli/bad-strategy" "$out"; fi
unset TILEC_CACHE_DIR

# ---- strategies on synthetic functions (prints the table)
out=$("$build/tests/autotune_search_test" 2>&1)
status=$?
printf '%s\n' "$out" | sed 's/^/  /'
if [ $status -eq 0 ]; then pass; else fail "search" ""; fi

# ---- the library: one line per test
out=$("$build/tests/autotune_test" "$root" 2>&1)
printf '%s\n' "$out" | grep -v '^PASS' | sed 's/^/  /'
while read -r verdict name; do
    case "$verdict" in
        PASS) pass ;;
        FAIL) fail "lib/$name" "" ;;
    esac
done < <(printf '%s\n' "$out" | grep -E '^(PASS|FAIL) ')
if ! grep -q '^PASS sigint' <<<"$out"; then fail "lib (did not finish)" "$out"; fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
