#!/bin/sh
# On the device machine, from the repository root: runs the probe kernels through the driver
# layer, the torch peers in the same call, and counts SASS instructions of the fp8 variants.
# Expects .device/{probe_run,probe.ptx,probe.cubin} built here by bench/probe_gemm/build.sh.
set -u
OUT=${OUT:-/tmp/probe_out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
.device/probe_run .device/probe.ptx 2 2>&1 | tee "$OUT/probe_run.txt"
.device/probe_run .device/probe3.ptx 3 2>&1 | tee "$OUT/probe_run3.txt"
PYTHONUNBUFFERED=1 python3 bench/probe_gemm/torch_peer.py 2>&1 | tee "$OUT/torch_peer.txt"
cuobjdump -sass .device/probe.cubin > "$OUT/probe.sass" 2>&1
awk '/Function :/ { if (f) printf "%-16s HMMA %4d F2FP %4d LDSM %3d LDGSTS %3d STL %3d LDL %3d\n", f, h, c, l, g, s, d;
                    f = $3; h = c = l = g = s = d = 0 }
     /HMMA/ { h++ } /F2FP/ { c++ } /LDSM/ { l++ } /LDGSTS/ { g++ } / STL/ { s++ } / LDL/ { d++ }
     END { printf "%-16s HMMA %4d F2FP %4d LDSM %3d LDGSTS %3d STL %3d LDL %3d\n", f, h, c, l, g, s, d }' \
    "$OUT/probe.sass" | tee "$OUT/sass_counts.txt"
