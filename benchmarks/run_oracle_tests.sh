#!/usr/bin/env bash
# Run every oracle module (tests/test_oracle_*.py, both tiers) against BindsNET 0.3.4
# itself, in the oracle venv that setup_oracles.sh makes (snnc is installed there without
# touching its torch).
set -euo pipefail
cd "$(dirname "$0")/.."
bash benchmarks/setup_oracles.sh
venv=benchmarks/.venvs/bindsnet
"$venv/bin/python" -m pip install --quiet numba networkx pytest hypothesis pytest-xdist
"$venv/bin/python" -m pip install --quiet --no-deps -e .
"$venv/bin/python" -m pytest -q -p no:cacheprovider -m "slow or not slow" tests/test_oracle_*.py "$@"
