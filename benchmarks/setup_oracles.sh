#!/usr/bin/env bash
# Create the comparison ("oracle") environments used by benchmarks/bench_compare.py:
#
#   benchmarks/.venvs/bindsnet   BindsNET 0.3.4 on the local CPU build of torch 2.13.0
#   benchmarks/.venvs/brian2     Brian2 (cpp_standalone needs g++, which must be on PATH)
#
#   bash benchmarks/setup_oracles.sh [bindsnet|brian2 ...]     (default: both)
#
# Idempotent: an environment whose check import already succeeds is left as it is.
# Set PYTHON to choose the interpreter the venvs are made from (default: python3).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENVS="$HERE/.venvs"
PYTHON="${PYTHON:-python3}"
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(bindsnet brian2)

# torch 2.13.0 must be the CPU build (never a multi-GB CUDA wheel). pip's config on
# this machine has a find-links folder holding torch-2.13.0+cpu; a local version
# label sorts above the plain release, so "torch==2.13.0" resolves to it. If such a
# wheel is found in a find-links folder we also install it by path, to be certain.
find_cpu_torch() {
    local dirs=("${PIP_FIND_LINKS:-}" /opt/wheels)
    for d in "${dirs[@]}"; do
        [ -n "$d" ] && [ -d "$d" ] || continue
        local w
        w=$(ls "$d"/torch-2.13.0+cpu-*.whl 2>/dev/null | head -n1 || true)
        [ -n "$w" ] && { echo "$w"; return; }
    done
}

make_venv() {
    local name="$1"
    if [ ! -x "$VENVS/$name/bin/python" ]; then
        echo "== creating $VENVS/$name"
        "$PYTHON" -m venv "$VENVS/$name"
    fi
}

# bindsnet's import needs torchvision's operators torchvision::nms/qnms, which a
# CPU torch lacks: runners/_bindsnet_compat.py defines them (the runner uses it too).
CHECK_BINDSNET='
import sys; sys.path.insert(0, "'"$HERE"'/runners")
import _bindsnet_compat; _bindsnet_compat.prepare()
import torch, bindsnet
assert "+cpu" in torch.__version__ or not torch.version.cuda, torch.__version__
print("bindsnet ok, torch", torch.__version__)
'

setup_bindsnet() {
    make_venv bindsnet
    local py="$VENVS/bindsnet/bin/python"
    if "$py" -c "$CHECK_BINDSNET" 2>/dev/null; then
        echo "== bindsnet venv already set up"; return
    fi
    "$py" -m pip install -q --upgrade pip setuptools wheel
    local wheel; wheel=$(find_cpu_torch)
    if [ -n "$wheel" ]; then
        echo "== installing torch from $wheel"
        "$py" -m pip install -q "$wheel"
    else
        # Without the local wheel, only PyTorch's CPU index gives a CPU build; PyPI's
        # linux wheel would pull the CUDA libraries, which we refuse to do.
        echo "== no local torch-2.13.0+cpu wheel; trying PyTorch's CPU index"
        "$py" -m pip install -q torch==2.13.0+cpu --index-url https://download.pytorch.org/whl/cpu \
            || { echo "error: no CPU build of torch 2.13.0 available" >&2; exit 1; }
    fi
    echo "== installing bindsnet 0.3.4 and its runtime dependencies"
    "$py" -m pip install -q --no-deps bindsnet==0.3.4 torchvision==0.28.0
    # bindsnet's own pins (e.g. an old torch) are skipped on purpose; these are what
    # its import needs. The constraint keeps torch where it is.
    "$py" -m pip install -q "torch==2.13.0" numpy scipy tqdm matplotlib pandas tensorboardX \
        opencv-python-headless gymnasium ale-py scikit-learn scikit-image pillow
    "$py" -c "$CHECK_BINDSNET"
}

setup_brian2() {
    make_venv brian2
    local py="$VENVS/brian2/bin/python"
    if "$py" -c 'import brian2; print("brian2", brian2.__version__)' 2>/dev/null; then
        echo "== brian2 venv already set up"; return
    fi
    command -v g++ >/dev/null || echo "warning: g++ not found; cpp_standalone will not build" >&2
    "$py" -m pip install -q --upgrade pip setuptools wheel
    # brian2 2.9 (the newest the registry serves here) reads np.ndarray.ptp, which
    # numpy 2.4 removed: keep numpy below 2.4 in this venv.
    "$py" -m pip install -q brian2 "numpy<2.4"
    "$py" -c 'import brian2; print("brian2", brian2.__version__)'
}

mkdir -p "$VENVS"
for t in "${TARGETS[@]}"; do
    case "$t" in
        bindsnet) setup_bindsnet ;;
        brian2) setup_brian2 ;;
        *) echo "unknown target: $t (bindsnet|brian2)" >&2; exit 2 ;;
    esac
done
