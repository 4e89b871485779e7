#!/usr/bin/env bash
# Installs what tilec needs on Debian 12 and makes the test venv. Shared by setup.sh and
# .ci/run. Fails (never skips) when a required tool is missing afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential meson ninja-build flex bison llvm-22-dev zlib1g-dev libzstd-dev
          clang libclang-rt-14-dev python3-numpy python3-venv libjansson-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# ml_dtypes (PyPI) is the independent reference for bf16/fp8 rounding in the tests;
# cuobjdump and nvdisasm (PyPI, not in the local CUDA toolkit) disassemble the cubins whose
# tensor-core instructions tests/codegen/check_sass.py checks.
sass_tools="nvidia-cuda-cuobjdump==13.2.51 nvidia-cuda-nvdisasm==13.2.51"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import numpy, ml_dtypes' 2>/dev/null; then
    /usr/bin/python3 -m venv --system-site-packages .venv
    .venv/bin/pip install -q ml_dtypes
fi
if ! ls .venv/lib/python3*/site-packages/nvidia/cu*/bin/nvdisasm >/dev/null 2>&1; then
    .venv/bin/pip install -q $sass_tools
fi
# The Python package (python/, tests/python): meson-python builds it offline from .venv; a
# pinned torch checks its torch.library ops under fake tensors. The CPU wheel index first
# (small); PyPI's wheel, which pulls the CUDA libraries, where that index is unreachable.
.venv/bin/python -c 'import mesonpy' 2>/dev/null || .venv/bin/pip install -q meson-python==0.19.0
torch_version=2.15.0
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$torch_version')" 2>/dev/null; then
    .venv/bin/pip install -q "torch==$torch_version" --index-url https://download.pytorch.org/whl/cpu ||
        .venv/bin/pip install -q "torch==$torch_version"
fi

export PATH="$PATH:/usr/local/cuda/bin"
for tool in flex bison meson ninja llvm-config-22 clang ptxas; do
    command -v "$tool" >/dev/null || { echo "deps: required tool '$tool' is missing" >&2; exit 1; }
done
