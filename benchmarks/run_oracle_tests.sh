#!/usr/bin/env bash
# Run tests/test_oracle_bindsnet.py against BindsNET 0.3.4 itself, in the oracle venv
# that setup_oracles.sh makes (snnc is installed there without touching its torch).
set -euo pipefail
cd "$(dirname "$0")/.."
bash benchmarks/setup_oracles.sh
venv=benchmarks/.venvs/bindsnet
"$venv/bin/python" -m pip install --quiet numba networkx pytest hypothesis
"$venv/bin/python" -m pip install --quiet --no-deps -e .
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_oracle_bindsnet.py "$@"
