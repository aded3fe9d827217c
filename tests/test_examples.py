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


def test_digits_diehl_cook_trains_in_batches(tmp_path):
    """Batch 4: whole batches only in training (122 images: 120 trained per epoch), the
    last labelling/testing run padded; the learning rates are divided by 4 ** (1/3)."""
    pytest.importorskip("sklearn")
    out = run_example("digits_diehl_cook.py", "--neurons", "16", "--epochs", "1", "--time", "40",
                      "--limit", "122", "--update-interval", "40", "--batch", "4", "--no-plots")
    assert "batch 4" in out and "test accuracy (122 images)" in out
    assert "training: 120 images" in out


@pytest.mark.slow          # ~45 s; tests/test_scale.py covers sweeps on Ray in the default tier
@pytest.mark.xdist_group("ray")
def test_sweep_digits_runs_on_ray_and_plots(tmp_path):
    """Two points (the first 40 digits each) on a local Ray instance: the table, the best
    configuration, the CSV and the accuracy map."""
    pytest.importorskip("ray")
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    out = run_example("sweep_digits.py", "--intensity", "128", "256", "--neurons", "12", "--limit", "40",
                      "--out", str(tmp_path))
    assert "best: intensity" in out and "2 points in" in out
    from snnc.scale import load_results
    rows = load_results(tmp_path / "sweep_digits.csv")
    assert [row["intensity"] for row in rows] == [128.0, 256.0] and all(row["error"] is None for row in rows)
    assert all(0.0 <= row["proportion"] <= 100.0 for row in rows)
    assert (tmp_path / "sweep_digits.png").stat().st_size > 1000


def test_nir_roundtrip_gives_snntorchs_spikes(tmp_path):
    pytest.importorskip("snntorch")
    out = run_example("nir_roundtrip.py", "--inputs", "20", "--hidden", "30", "--outputs", "4", "--steps", "60",
                      "--batch", "2", "--out", str(tmp_path))
    assert "identical: True" in out and "snnc numba" in out
    assert (tmp_path / "snntorch_model.nir").stat().st_size > 0


@pytest.mark.slow
def test_reward_modulated_learns_the_mapping():
    out = run_example("reward_modulated.py", "--trials", "150", "--block", "50")
    shares = [float(line.split(":")[1].split("%")[0]) for line in out.splitlines() if line.startswith("trials")]
    assert shares[-1] >= 90.0 and shares[-1] > shares[0]


@pytest.mark.slow
def test_inspect_ir_writes_every_pass_and_source(tmp_path):
    out = run_example("inspect_ir.py", "--out", str(tmp_path))
    assert "update Ae + terms of X->Ae" in out
    for backend in ("torch", "numba", "numba-cuda"):
        assert (tmp_path / f"{backend}_generated.py").stat().st_size > 1000
        assert (tmp_path / f"{backend}_2_fuse.txt").exists()


@pytest.mark.slow
def test_fashion_mnist_example_reads_idx_files(tmp_path):
    pytest.importorskip("matplotlib")
    root = Path("/usr/share/datasets/fashion-mnist")
    if not (root / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    out = run_example("fashion_mnist_diehl_cook.py", "--neurons", "16", "--train-images", "60", "--test-images",
                      "40", "--time", "50", "--update-interval", "20", "--out", str(tmp_path))
    assert "test accuracy (40 images)" in out
    assert (tmp_path / "fashion_mnist_weights.png").exists()


@pytest.mark.slow
def test_batch_inference_gives_identical_spikes():
    pytest.importorskip("sklearn")
    out = run_example("batch_inference.py", "--batches", "1", "8")
    assert "identical spikes for every batch size: True" in out


@pytest.mark.slow
def test_ann_to_snn_example_matches_the_ann():
    pytest.importorskip("sklearn")
    out = run_example("ann_to_snn.py", "--steps", "20", "60", "--train-seconds", "1")
    ann = float(out.split("test accuracy ")[1].split("%")[0])
    snn = [float(line.split("test accuracy")[1].split("%")[0]) for line in out.splitlines() if line.startswith("SNN")]
    assert ann > 80 and abs(snn[-1] - ann) <= 3.0


def test_breakout_agent_plays_learns_and_plots(tmp_path):
    pytest.importorskip("ale_py")
    pytest.importorskip("matplotlib")
    out = run_example("breakout.py", "--episodes", "1", "--test-episodes", "1", "--time", "20",
                      "--max-steps", "25", "--out", str(tmp_path))
    assert "training reward: mean" in out and "50 environment steps (20 simulation steps each)" in out
    assert "steps/s" in out and (tmp_path / "breakout_rewards.png").stat().st_size > 1000


def test_dot_tracing_writes_its_table(tmp_path):
    pytest.importorskip("matplotlib")
    out = run_example("dot_tracing.py", "--episodes", "2", "--test-episodes", "1", "--steps", "12",
                      "--dim", "10", "--hidden", "20", "--granularity", "20", "--out", str(tmp_path))
    assert "36 environment steps" in out
    import csv
    rows = list(csv.DictReader(open(tmp_path / "dot_tracing.csv")))
    assert [r["phase"] for r in rows] == ["train", "train", "test"]
    assert all(-24 <= float(r["reward"]) <= 120 for r in rows)
    assert (tmp_path / "dot_tracing.png").stat().st_size > 1000
