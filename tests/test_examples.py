"""The README's main job and the other examples run end to end (tiny settings)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_example(script: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_digits_diehl_cook_trains_reports_and_plots(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    out = run_example("digits_diehl_cook.py", "--neurons", "16", "--epochs", "1", "--time", "60",
                      "--limit", "120", "--update-interval", "40", "--out", str(tmp_path))
    assert "test accuracy (120 images): all activity" in out and "images/s" in out
    accuracy = float(out.split("proportion weighting ")[1].split("%")[0])
    assert 0.0 <= accuracy <= 100.0
    for name in ("digits_weights.png", "digits_assignments.png", "digits_accuracy.png"):
        assert (tmp_path / name).stat().st_size > 1000
