"""snnc.scale on a local Ray instance (2 CPUs): sweeps equal serial runs, map_batches
equals a serial batched run, a killed worker's point is retried, a failing point is
reported, a resumed sweep skips finished points, workers keep their thread limits and
share the compile cache, and the ``snnc sweep`` command."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import torch


ray = pytest.importorskip("ray")
pytestmark = pytest.mark.xdist_group("ray")     # one Ray instance per test session

from snnc.network.topology import Connection  # noqa: E402
from snnc.runtime.cli import main  # noqa: E402
from snnc.scale import load_results, map_batches, points_of, sweep  # noqa: E402
from tests.test_scale_tables import run_small, small_network  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    if started:
        ray.shutdown()


def build(params):
    return small_network(params)


def run(network, params):
    return run_small(network, params)


def _log(path: Path, text: str) -> None:
    with open(path, "a") as handle:
        handle.write(text + "\n")


def run_and_count_threads(network, params):
    import numba
    return {**run_small(network, params), "torch_threads": torch.get_num_threads(),
            "numba_threads": numba.get_num_threads(), "omp": os.environ.get("OMP_NUM_THREADS")}


def test_sweep_equals_serial_runs():
    """Eight points on two workers, one thread each: a plain serial loop's results."""
    grid = {"n": [16, 24], "rate": [0.2, 0.4], "seed": [0, 1]}
    results = sweep(build, grid, run_and_count_threads, workers=2, progress_bar=False)
    points = points_of(grid)
    assert len(results) == 8 and [{k: row[k] for k in grid} for row in results] == points
    for row, point in zip(results, points):
        assert row["error"] is None and row["host"] and row["compile_s"] >= 0 and row["run_s"] > 0
        expected = run_small(small_network(point), point)          # a plain serial run
        assert {k: row[k] for k in expected} == expected
        assert (row["torch_threads"], row["numba_threads"], row["omp"]) == (1, 1, "1")
    assert any(row["spikes"] for row in results)


def test_map_batches_equals_a_serial_run():
    network = small_network({"n": 20, "seed": 3})
    weights = network.connections["A", "B"].w.clone()
    generator = torch.Generator().manual_seed(9)
    dataset = (torch.rand(11, 30, 10, generator=generator) < 0.3).byte()     # [N, T, n]
    results = map_batches(network, dataset, batch_size=4, workers=2, progress_bar=False)
    serial = small_network({"n": 20, "seed": 3})
    serial.train(False)
    serial.set_batch_size(11)
    serial.run(inputs={"A": dataset.transpose(0, 1)}, time=30)              # every sample at once
    assert set(results) == {"B/s", "B/v"}
    assert torch.equal(results["B/s"], serial.monitors["B"].get("s").transpose(0, 1))
    assert torch.equal(results["B/v"], serial.monitors["B"].get("v").transpose(0, 1))
    assert results["B/s"].any()
    assert torch.equal(network.connections["A", "B"].w, weights) and network.batch_size == 1
    counts = map_batches(network, dataset, batch_size=5, workers=2, progress_bar=False,
                         fn=lambda net, batch: net.monitors["B"].get("s").sum((0, 2)))
    assert torch.equal(counts, serial.monitors["B"].get("s").sum((0, 2)))


def test_every_batch_starts_from_the_given_network():
    """A run ends with BindsNET's weight normalisation (``norm``) even with learning off:
    map_batches puts the weights back before each batch, so every batch equals a run of
    the given network, whichever worker ran what before it."""
    network = small_network({"n": 20, "seed": 4})
    layers = network.layers
    network.add_connection(Connection(layers["A"], layers["B"], w=3.0 * torch.rand(10, 20), norm=12.0), "A", "B")
    generator = torch.Generator().manual_seed(2)
    dataset = (torch.rand(9, 25, 10, generator=generator) < 0.3).byte()
    results = map_batches(network, dataset, batch_size=3, workers=2, progress_bar=False)
    for start in range(0, 9, 3):
        fresh = network.clone()
        fresh.train(False)
        fresh.set_batch_size(3)
        fresh.run(inputs={"A": dataset[start:start + 3].transpose(0, 1)}, time=25)
        assert torch.equal(results["B/v"][start:start + 3], fresh.monitors["B"].get("v").transpose(0, 1))
    assert results["B/s"].any()


def test_killed_worker_is_retried(tmp_path):
    marker = tmp_path / "killed"

    def run_or_die(network, params):
        if params["seed"] == 2 and not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)          # the worker dies mid-point
        return run_small(network, params)

    points = [{"n": 16, "seed": seed} for seed in range(4)]
    results = sweep(build, points, run_or_die, workers=2, retries=2, progress_bar=False)
    assert marker.exists()
    assert all(row["error"] is None for row in results)
    assert [row["spikes"] for row in results] == [run_small(small_network(p), p)["spikes"] for p in points]


def test_failing_point_is_reported(tmp_path):
    attempts = tmp_path / "attempts"

    def run_or_fail(network, params):
        _log(attempts, str(params["seed"]))
        if params["seed"] == 1:
            raise RuntimeError("no spikes for this seed")
        return run_small(network, params)

    points = [{"n": 16, "seed": seed} for seed in range(3)]
    results = sweep(build, points, run_or_fail, workers=2, retries=1, progress_bar=False)
    assert [row["error"] is None for row in results] == [True, False, True]
    assert results[1]["error"] == "RuntimeError: no spikes for this seed (after 2 attempts)"
    assert results[1]["spikes"] is None if "spikes" in results[1] else True
    assert attempts.read_text().split().count("1") == 2


def test_resumed_sweep_skips_finished_points(tmp_path):
    out, ran = tmp_path / "sweep.json", tmp_path / "ran"

    def make_run(failing):
        def run_logged(network, params):
            _log(ran, str(params["seed"]))
            if params["seed"] in failing:
                raise ValueError("interrupted")
            return run_small(network, params)
        return run_logged

    points = [{"n": 16, "seed": seed} for seed in range(4)]
    first = sweep(build, points, make_run({2}), workers=2, retries=0, out=out, progress_bar=False)
    assert [row["error"] is None for row in first] == [True, True, False, True]
    ran.write_text("")
    second = sweep(build, points, make_run(set()), workers=2, retries=0, out=out, resume=True, progress_bar=False)
    assert ran.read_text().split() == ["2"]                      # only the unfinished point ran
    assert all(row["error"] is None for row in second)
    assert [row["spikes"] for row in second] == [run_small(small_network(p), p)["spikes"] for p in points]
    assert load_results(out) == second


def test_workers_keep_their_thread_limits():
    """Two threads a point on two cores: one point at a time (one thread: the test above)."""
    def run_threads(network, params):
        start = time.time()
        results = run_and_count_threads(network, params)
        time.sleep(0.2)
        return {**results, "start": start, "end": time.time()}

    points = [{"n": 16, "seed": seed} for seed in range(3)]
    two = sweep(build, points, run_threads, threads=2, progress_bar=False)
    assert {(row["torch_threads"], row["numba_threads"], row["omp"]) for row in two} == {(2, 2, "2")}
    spans = sorted((row["start"], row["end"]) for row in two)
    assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:]))   # never two at once


def test_one_structure_compiles_once(tmp_path, monkeypatch):
    monkeypatch.setenv("SNNC_CACHE_DIR", str(tmp_path / "cache"))   # workers get the driver's cache
    points = [{"n": 16, "seed": seed} for seed in range(4)]         # one structure, four points
    results = sweep(build, points, run, workers=2, progress_bar=False)
    assert all(row["error"] is None for row in results)
    assert sum(row["fresh_compiles"] for row in results) == 1
    assert list((tmp_path / "cache").rglob("snnc_*.py"))


def test_sweep_command(tmp_path, capsys):
    script = tmp_path / "grid_script.py"
    script.write_text(
        "from tests.test_scale_tables import small_network, run_small\n"
        "def build(params):\n    return small_network(params)\n"
        "def run(network, params):\n    return {'spikes': run_small(network, params)['spikes']}\n"
        "if __name__ == '__main__':\n    raise SystemExit('not run by snnc sweep')\n")
    out = tmp_path / "results.csv"
    code = main(["sweep", str(script), "--grid", "n=16,20", "--grid", "seed=0,1", "--out", str(out)])
    assert code == 0
    rows = load_results(out)
    assert [(row["n"], row["seed"]) for row in rows] == [(16, 0), (16, 1), (20, 0), (20, 1)]
    assert [row["spikes"] for row in rows] == [run_small(small_network(row), row)["spikes"] for row in rows]
    assert f"wrote {out}" in capsys.readouterr().out
