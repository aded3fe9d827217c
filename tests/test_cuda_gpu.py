"""numba-cuda on a real GPU: zero-copy on torch CUDA tensors, agreeing with torch.

Skipped unless a CUDA GPU is present and the tests run with ``SNNC_REAL_CUDA=1``
(otherwise numba-cuda runs in its simulator, see conftest.py).
"""
from __future__ import annotations

import os

import pytest
import torch

import snnc
from tests.test_backends import assert_agree, build

REAL = os.environ.get("SNNC_REAL_CUDA") == "1" and torch.cuda.is_available()
pytestmark = pytest.mark.skipif(not REAL, reason="needs a CUDA GPU and SNNC_REAL_CUDA=1")

RECIPE = {
    "layers": [("input", "X0", 300, True, False), ("lif", "L0", 500, True, True), ("lif", "L1", 40, False, False)],
    "edges": [("X0", "L0"), ("L0", "L0"), ("L0", "L1")], "batch": 8, "steps": 100, "density": 0.2,
    "input_dtype": torch.uint8, "seed": 11,
    "options": {"bias": True, "per_neuron_thresh": True, "lbound": True, "refrac": 2, "norm": True, "dt": 1.0},
}


def run_on(backend: str, device: str, **options) -> dict[str, torch.Tensor]:
    network, inputs = build(RECIPE)
    network.to(device)
    program = snnc.compile(network, backend=backend, **options)
    program.run({k: v.to(device) for k, v in inputs.items()}, time=RECIPE["steps"])
    results = {f"{name}.{var}": monitor.get(var).float().cpu()
               for name, monitor in network.monitors.items() for var in monitor.state_vars}
    results.update({f"{s}->{t}.w": c.w.data.float().cpu() for (s, t), c in network.connections.items()})
    return results


def test_numba_cuda_matches_torch_cuda_and_cpu():
    reference = run_on("torch", "cpu")
    assert_agree(reference, run_on("torch", "cuda"), "torch-cuda")
    assert_agree(reference, run_on("numba-cuda", "cuda"), "numba-cuda")
    assert_agree(reference, run_on("numba-cuda", "cuda", storage={"X0->L0": "csr:float16"}), "numba-cuda/csr")


def test_auto_picks_numba_cuda_for_cuda_tensors():
    network, inputs = build(RECIPE)
    network.to("cuda")
    network.run({k: v.to("cuda") for k, v in inputs.items()}, time=10)
    assert network._program.backend == "numba-cuda"
    assert network.layers["L0"].v.is_cuda


def test_persistent_kernel_is_one_cooperative_launch(monkeypatch):
    """On a device the persistent kernel compiles with its grid barrier, launches once
    with at most the resident-block limit, and agrees with torch and with a kernel
    per phase."""
    reference = run_on("torch", "cpu")
    network, inputs = build(RECIPE)
    network.to("cuda")
    program = snnc.compile(network, backend="numba-cuda")
    program.run({k: v.to("cuda") for k, v in inputs.items()}, time=RECIPE["steps"])
    stats = program.last_run.launches
    assert stats["path"] == "persistent", stats["reason"]
    assert stats["launches"] == 1
    blocks, threads = stats["grid"]
    from snnc.runtime import cuda_launch
    assert 1 <= blocks <= max(cuda_launch._LIMITS.values()) and threads == cuda_launch.THREADS
    persistent = {f"{name}.{var}": monitor.get(var).float().cpu()
                  for name, monitor in network.monitors.items() for var in monitor.state_vars}
    persistent.update({f"{s}->{t}.w": c.w.data.float().cpu() for (s, t), c in network.connections.items()})
    assert_agree(reference, persistent, "numba-cuda persistent")
    monkeypatch.setenv("SNNC_CUDA_PERSISTENT", "0")
    assert_agree(reference, run_on("numba-cuda", "cuda"), "numba-cuda per phase")


def test_torch_on_cuda_replays_a_captured_graph(monkeypatch):
    """From the second run on, torch on CUDA replays the run from a CUDA graph, with
    the numbers of the step-by-step run."""
    def three_runs():
        network, inputs = build(RECIPE)
        network.to("cuda")
        program = snnc.compile(network, backend="torch")
        results, paths = [], []
        for _ in range(3):
            network.reset_state_variables()
            program.run({k: v.to("cuda") for k, v in inputs.items()}, time=RECIPE["steps"])
            results.append({f"{name}.{var}": monitor.get(var).float().cpu()
                            for name, monitor in network.monitors.items() for var in monitor.state_vars})
            paths.append(program.last_run.launches)
        return results, paths

    graphed, paths = three_runs()
    assert paths[0] is None and paths[1]["path"] == paths[2]["path"] == "cuda graph"
    monkeypatch.setenv("SNNC_CUDA_GRAPHS", "0")
    stepped, paths = three_runs()
    assert paths == [None, None, None]
    for ours, theirs in zip(graphed, stepped):
        assert_agree(theirs, ours, "torch-cuda graph")
