#!/bin/sh
# Checks the codegen toolkit without a GPU: mma_probe's PTX (2 and 3 stages) assembles with
# ptxas -arch=sm_90a, has no spills where none are allowed, and holds the instructions the
# kernels are made of, with .file/.loc line info. (Without a GPU, the driver's absence is
# libtile's to report: tests/runtime and tests/gpu/check_no_gpu.sh check it.)
# usage: check_mma_probe.sh MMA_PROBE_BINARY
set -u
PROBE="$1"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

for stages in 2 3; do
    ptx="$TMP/probe$stages.ptx"
    if ! "$PROBE" --stages $stages > "$ptx" 2> "$TMP/err"; then
        fail "mma_probe --stages $stages: $(cat "$TMP/err")"; continue
    fi
    if ! ptxas -arch=sm_90a -v "$ptx" -o "$TMP/probe.cubin" 2> "$TMP/ptxas"; then
        fail "ptxas rejected the $stages-stage PTX:"; sed 's/^/    /' "$TMP/ptxas"; continue
    fi
    # Kernels that must not spill: bf16 and the widened fp8 one (fp8 mma.sync is emulated on
    # sm_90 and ptxas spills a few words there; see the kernel's spec comment).
    awk '/Compiling entry function/ { name = $7; gsub(/\047/, "", name) }
         /spill stores/ { if ($5 != 0 && name !~ /^gemm_e[45]m[23](_ca8)?$/)
                              { print "spill in " name ": " $0; bad = 1 } }
         END { exit bad }' "$TMP/ptxas" || fail "spills at $stages stages"
    for pattern in 'mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32' \
                   'mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32' \
                   'mma.sync.aligned.m16n8k32.row.col.f32.e5m2.e5m2.f32' \
                   'mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32' \
                   'ldmatrix.sync.aligned.m8n8.x4.shared.b16' \
                   'ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16' \
                   'cp.async.cg.shared.global' 'cp.async.ca.shared.global' \
                   'cp.async.commit_group' 'cp.async.wait_group' 'bar.sync' \
                   'cvt.rn.satfinite.e4m3x2.f32' 'cvt.rn.satfinite.e5m2x2.f32' \
                   'cvt.rn.f16x2.e4m3x2' 'cvt.rn.bf16x2.f32' 'ex2.approx.ftz.f32' \
                   'lg2.approx.f32' 'rsqrt.approx.f32' 'shfl.sync.bfly.b32' \
                   'atom.global.max.s32' 'atom.global.min.u32' \
                   'ld.global.v2.b32' 'st.global.v4.b32' '.file' '.loc' '.maxntid 128' \
                   '.extern .shared .align 128'; do
        grep -qF -- "$pattern" "$ptx" || fail "$stages-stage PTX lacks '$pattern'"
    done
    grep -q '^\.target sm_90a$' "$ptx" || fail "PTX target is not plain sm_90a: $(grep '^\.target' "$ptx")"
    # No scalar dot: the GEMM kernels' float math is mma only (no fma.rn.f32 anywhere).
    if grep -q 'fma.rn.f32' "$ptx"; then fail "$stages-stage PTX has a scalar fma"; fi
done
"$PROBE" --emit=llvm > "$TMP/probe.ll" || fail "mma_probe --emit=llvm"
grep -q 'define ptx_kernel void @gemm_bf16' "$TMP/probe.ll" || fail "LLVM IR lacks the ptx_kernel gemm_bf16"
"$PROBE" --target sm_80 > "$TMP/probe80.ptx" || fail "mma_probe --target sm_80"
ptxas -arch=sm_80 "$TMP/probe80.ptx" -o /dev/null || fail "ptxas -arch=sm_80 rejected the sm_80 PTX"
if grep -q 'e4m3' "$TMP/probe80.ptx"; then fail "sm_80 PTX has fp8 mma"; fi

[ $failures -eq 0 ] && echo "check_mma_probe: ok" || echo "check_mma_probe: $failures failure(s)"
[ $failures -eq 0 ]
