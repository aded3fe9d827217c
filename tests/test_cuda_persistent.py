"""numba-cuda's persistent kernel (issue 10), in the CUDA simulator: the whole run in
one launch, the same numbers as a kernel per phase and as torch.

The simulator runs a grid's blocks one after another, so a grid barrier is honoured
only within a block; the runtime gives the persistent kernel one block of 16 threads
there (runtime/cuda_launch.py), and the networks below have more elements than that,
so every phase's grid-stride loop really strides. The kernel's compilation for a real
device (cooperative launch, resident-block limit) is tested in tests/test_cuda_gpu.py.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from numba import cuda

import snnc
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import AdaptiveLIFNodes, Input, LIFNodes
from snnc.network.topology import Connection
from snnc.learning import PostPre
from tests.test_backends import assert_agree


def network_and_inputs(batch: int = 2, steps: int = 12, learning: bool = False):
    generator = torch.Generator().manual_seed(5)
    network = Network()
    X = Input(12, traces=learning)
    H = AdaptiveLIFNodes(30, thresh=-62.0, traces=learning)
    Y = LIFNodes(7, thresh=-63.0)
    for layer, name in ((X, "X"), (H, "H"), (Y, "Y")):
        network.add_layer(layer, name)
    rule = dict(update_rule=PostPre, nu=(0.01, 0.02), norm=8.0) if learning else {}
    network.add_connection(Connection(X, H, w=0.6 + torch.rand(12, 30, generator=generator), **rule), "X", "H")
    network.add_connection(Connection(H, H, w=-0.3 * torch.rand(30, 30, generator=generator)), "H", "H")
    network.add_connection(Connection(H, Y, w=torch.rand(30, 7, generator=generator)), "H", "Y")
    network.add_monitor(Monitor(H, ("s", "v"), time=steps), name="H")
    network.add_monitor(Monitor(Y, ("s", "v"), time=steps), name="Y")
    network.learning = learning
    inputs = {"X": (torch.rand(steps, batch, 12, generator=generator) < 0.4).to(torch.uint8)}
    return network, inputs


def simulate(backend: str, monkeypatch, persistent: bool = True, learning: bool = False, **run_options):
    monkeypatch.setenv("SNNC_CUDA_PERSISTENT", "1" if persistent else "0")
    network, inputs = network_and_inputs(learning=learning)
    program = snnc.compile(network, backend=backend)
    program.run({k: v.clone() for k, v in inputs.items()}, time=inputs["X"].shape[0], **run_options)
    results = {f"{m}.{var}": network.monitors[m].get(var).float().clone()
               for m in network.monitors for var in ("s", "v")}
    results.update({f"{s}->{t}.w": c.w.clone() for (s, t), c in network.connections.items()})
    return results, program


@pytest.mark.parametrize("learning", [False, True])
def test_one_launch_per_run_and_the_numbers_of_every_other_path(monkeypatch, learning):
    reference, _ = simulate("torch", monkeypatch, learning=learning)
    assert reference["H.s"].any() and not reference["H.s"].all() and reference["Y.s"].any()
    persistent, program = simulate("numba-cuda", monkeypatch, learning=learning)
    stats = program.last_run.launches
    assert stats["path"] == "persistent" and stats["launches"] == 1 and stats["grid"] == (1, 16)
    assert "def run_persistent(" in program.source and "grid.sync()" in program.source
    per_phase, fallback = simulate("numba-cuda", monkeypatch, persistent=False, learning=learning)
    phases = fallback.last_run.launches
    assert phases["path"] == "per-phase" and phases["reason"] == "SNNC_CUDA_PERSISTENT=0"
    assert phases["launches"] >= 12 * 6                  # several kernels in each of the 12 steps
    for key in persistent:                               # the same kernels' bodies: identical numbers
        assert torch.equal(persistent[key], per_phase[key]), key
    assert_agree(reference, persistent, "numba-cuda persistent")


def test_a_progress_bar_gets_one_launch_per_chunk(monkeypatch):
    monkeypatch.setenv("SNNC_CUDA_PERSISTENT", "1")
    recorded = []
    for progress_bar in (True, False):                    # a fresh network each (theta adapts)
        network, inputs = network_and_inputs(steps=40)
        program = snnc.compile(network, backend="numba-cuda")
        program.run(inputs, time=40, progress_bar=progress_bar)
        recorded.append((program.last_run.launches["launches"], network.monitors["H"].get("s").clone()))
    (chunked, chunked_spikes), (whole, spikes) = recorded
    assert 1 < chunked <= 40 and whole == 1
    assert torch.equal(chunked_spikes, spikes) and spikes.any()


def test_an_input_layer_alone(monkeypatch):
    """Every phase the same size (the grid is sized by the largest phase)."""
    monkeypatch.setenv("SNNC_CUDA_PERSISTENT", "1")
    network = Network()
    X = Input(5)
    network.add_layer(X, "X")
    network.add_monitor(Monitor(X, ("s",), time=3), name="X")
    program = snnc.compile(network, backend="numba-cuda")
    given = torch.rand(3, 1, 5) < 0.5
    program.run({"X": given}, time=3)
    assert program.last_run.launches["launches"] == 1
    assert torch.equal(network.monitors["X"].get("s").bool(), given)


def test_report_names_the_path(monkeypatch):
    _, program = simulate("numba-cuda", monkeypatch)
    assert "kernel launches   1 (persistent kernel, grid 1 x 16 threads" in program.report()
    assert "us/step on the device" in program.report()
    _, program = simulate("numba-cuda", monkeypatch, persistent=False)
    assert "(a kernel per phase: SNNC_CUDA_PERSISTENT=0)" in program.report()


def test_every_phase_is_a_barriered_grid_stride_loop(monkeypatch):
    """Each phase of the persistent kernel visits its elements from ``first`` by the
    grid's stride and ends at a grid barrier; conditions around phases depend on the
    step only (every thread takes the same branch)."""
    _, program = simulate("numba-cuda", monkeypatch, learning=True)
    kernel = program.source.split("def run_persistent(")[1].split("\n@cuda.jit")[0]
    phases = kernel.count("# phase ")
    assert phases >= 6
    assert kernel.count("in range(first, ") == phases and 1 <= kernel.count("grid.sync()") < phases
    conditions, inside = [], None               # conditions outside every phase's loop
    for line in kernel.splitlines():
        depth = len(line) - len(line.lstrip())
        if inside is not None and line.strip() and depth <= inside:
            inside = None
        if inside is None and line.strip().startswith("for element in range("):
            inside = depth
        elif inside is None and line.strip().startswith("if "):
            conditions.append(line.strip())
    assert conditions
    names = {"t", "start", "stop", "steps"}
    for condition in conditions:
        words = {w for w in condition.replace("(", " ").replace(")", " ").replace(":", " ").split() if w.isidentifier()}
        assert words - {"if", "and", "or", "not"} <= names | {w for w in words if w.endswith("_first")}, condition


class Phase:
    """A stand-in for the emitter's kernel: its body's subscripts are what counts."""

    def __init__(self, name: str, *body: str) -> None:
        self.name, self.body = name, list(body)


def test_barriers_go_where_a_phase_depends_on_another():
    from snnc.compiler.emit.cuda_phases import accesses, barriers, phase_marker
    propagate = Phase("propagate", "I[b, j] = w[0, j] * s_in[b, 0] + w[1, j] * s[b, 1]")
    source = Phase("source", "s_in[b, j] = given[t, b, j]")
    update = Phase("update", "v[b, j] = v[b, j] + I[b, j]", "s[b, j] = v[b, j] > 1.0")
    record_in = Phase("record_in", "mon_in[row, d0, d1] = s_in[d0, d1]")
    record_v = Phase("record_v", "mon_v[row, d0, d1] = v[d0, d1]")
    normalize = Phase("normalize", "w[i, j] = w[i, j] * 2.0")
    settle = Phase("settle", "v[b, j] = 0.0")
    kernels = [propagate, source, update, record_in, record_v, normalize, settle]
    assert accesses(update) == ({"v", "I"}, {"v", "s"})
    assert accesses(propagate) == ({"w", "s_in", "s"}, {"I"})
    loop = [phase_marker(0), phase_marker(1), phase_marker(2),
            "if t >= first_in:", "    row = t - first_in", f"    {phase_marker(3)}",
            "if t >= first_v:", "    row = t - first_v", f"    {phase_marker(4)}"]
    needed, lines, end_lines = barriers(loop, [phase_marker(5), phase_marker(6)], kernels)
    # source overwrites what propagate read; update reads nothing source wrote; the
    # monitors read what the updates wrote: one barrier before the first ``if`` serves
    # both; the next step's propagate only reads what the monitors read. After the
    # loop, normalize rewrites the weights propagate read, but a barrier (before
    # source) lies between them; settle overwrites the voltages a monitor read.
    assert needed == {1, 6} and lines == {3} and end_lines == set()
    # without the monitors, the next step's propagation reads the spikes update wrote
    needed, lines, _ = barriers(loop[:3], [], kernels)
    assert needed == {0, 1} and lines == set()
    # a write under a condition still counts for what follows it
    needed, _, _ = barriers(["if t == start:", f"    {phase_marker(5)}", phase_marker(0)], [], kernels)
    assert 0 in needed


def test_the_simulator_runs_blocks_one_after_another():
    """Why the simulator gets one block: a value written by another block before a grid
    barrier is not there after it (block 0 runs to its end before block 1 starts)."""
    @cuda.jit
    def exchange(values, seen):
        grid = cuda.cg.this_grid()
        k = cuda.grid(1)
        values[k] = k + 1
        grid.sync()
        seen[k] = values[(k + 4) % 8]

    values, seen = cuda.to_device(np.zeros(8, np.int64)), cuda.to_device(np.zeros(8, np.int64))
    exchange[2, 4](values, seen)
    assert list(seen.copy_to_host()[:4]) == [0, 0, 0, 0]          # block 1 had not run yet
    values, seen = cuda.to_device(np.zeros(8, np.int64)), cuda.to_device(np.zeros(8, np.int64))
    exchange[1, 8](values, seen)                                   # one block: the barrier holds
    assert list(seen.copy_to_host()) == [5, 6, 7, 8, 1, 2, 3, 4]
