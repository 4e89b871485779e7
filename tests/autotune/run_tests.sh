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

# --jobs and --prune-off: bad values, and an exhaustive synthetic tune of the space
# bench/tune_savings.py measures (gemm_4096_savings.space) with a rule off and one job
bad=""
for jobs in -1 x 2x 99999999999 ''; do
    out=$("$tilec" tune examples/gemm.tile --shape M=64,N=64,K=64 --jobs "$jobs" --space 2>&1)
    status=$?
    [ $status -eq 2 ] && grep -q "^tilec: error: --jobs '$jobs': expected" <<<"$out" ||
        bad+="--jobs '$jobs': exit $status"$'\n'"$out"$'\n'
done
if [ -z "$bad" ]; then pass; else fail "cli/bad-jobs" "$bad"; fi
out=$("$tilec" tune examples/gemm.tile --shape M=64,N=64,K=64 --prune-off warps,smem --space 2>&1)
if [ $? -eq 2 ] && grep -q "unknown pruning rule 'smem' (expected oversized-block, duplicate, warps, shared-memory or registers)" <<<"$out"; then
    pass
else
    fail "cli/bad-prune-rule" "$out"
fi
savings="examples/gemm.tile --shape M=4096,N=4096,K=4096 --space-set BLOCK_K=64,128 --space-set group_m=8 --space-set num_stages=3,4 --strategy exhaustive"
# shellcheck disable=SC2086
out=$(TILEC_TUNE_SYNTHETIC=1 "$tilec" tune $savings --jobs 1 --prune-off registers 2>&1)
status=$?
if [ $status -eq 0 ] && grep -q "152 of 200 points survive pruning (pruning off: registers); exhaustive" <<<"$out" &&
   grep -q "^measured 152: ok 152$" <<<"$out"; then
    pass
else
    fail "cli/synthetic-prune-off-jobs-1 (exit $status)" "$out"
fi
# bench/tune_savings.py (a device script) parses this command's output: run it synthetic
out=$(python3 bench/tune_savings.py "$tilec" "$scratch/savings" --synthetic 2>&1)
status=$?
if [ $status -eq 0 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
runs = {k: v.get("measured", v.get("skipped")) for k, v in d["runs"].items()}
want = {"all-rules": 146, "off-warps": 162, "off-shared-memory": 168, "off-registers": 152, "jobs-1": 146}
assert all(runs[k] == v for k, v in want.items()), runs
assert "skipped" not in d["runs"]["off-warps"] and "skipped" in d["runs"]["off-duplicate"], runs
assert d["savings"]["rule shared-memory"]["candidates_saved"] == 22, d["savings"]
assert d["runs"]["all-rules"]["winner"].startswith("BLOCK_M="), d["runs"]["all-rules"]
' "$scratch/savings/tune_savings.json" 2>&1; then
    pass
else
    fail "cli/tune-savings-synthetic (exit $status)" "$out"
fi
# --gpus: three synthetic GPUs time one tune (the winner re-timed on one), and bad lists
out=$(TILEC_TUNE_SYNTHETIC=1 TILEC_TUNE_SYNTHETIC_GPUS=3 "$tilec" tune examples/gemm.tile \
      --shape M=512,N=512,K=512 --max-evals 30 --gpus all --retune 2>&1)
status=$?
if [ $status -eq 0 ] && grep -q "search on 3 x synthetic (GPUs 0,1,2)" <<<"$out" &&
   grep -q "^re-timed on one GPU: best" <<<"$out" && grep -q "^measured 30: ok 30$" <<<"$out"; then
    pass
else
    fail "cli/gpus-synthetic (exit $status)" "$out"
fi
bad=""
for gpus in x 0,0 0, ,1 '' 64 1.5 -1 all,0; do
    out=$(TILEC_TUNE_SYNTHETIC=1 TILEC_TUNE_SYNTHETIC_GPUS=3 "$tilec" tune examples/gemm.tile \
          --shape M=64,N=64,K=64 --max-evals 2 --gpus "$gpus" 2>&1)
    status=$?
    [ $status -eq 2 ] && grep -q "^tilec: error: --gpus '$gpus': expected all, or GPU numbers" <<<"$out" ||
        bad+="--gpus '$gpus': exit $status"$'\n'"$out"$'\n'
done
out=$(TILEC_TUNE_SYNTHETIC=1 TILEC_TUNE_SYNTHETIC_GPUS=3 "$tilec" tune examples/gemm.tile \
      --shape M=64,N=64,K=64 --max-evals 2 --gpus 1,3 2>&1)
status=$?
[ $status -eq 2 ] && grep -q "^tilec: error: --gpus 1,3: there is no GPU 3 (the driver sees 3: 0 to 2)" <<<"$out" ||
    bad+="--gpus 1,3: exit $status"$'\n'"$out"$'\n'
if [ -z "$bad" ]; then pass; else fail "cli/bad-gpus" "$bad"; fi
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
