"""torch on CUDA replays a run from a captured CUDA graph (runtime/cuda_graphs.py).

Without a GPU the capture is replaced by a stand-in that keeps the call and runs it on
the graph's own buffers at each replay: what a graph would read and write. So these
tests check the plumbing (which arguments are copied in before a replay, which are
copied out after, when a capture happens, that nothing the caller keeps is
overwritten) against the same runs made step by step; tests/test_cuda_gpu.py checks
real graphs on a device.
"""
from __future__ import annotations

import torch

import snnc
from snnc.models import DiehlAndCook2015
from snnc.network.monitors import Monitor
from snnc.runtime import cuda_graphs


def diehl_and_cook():
    """Inputs, random numbers (one spike per step), learning and monitors: every kind
    of per-call argument but masks."""
    torch.manual_seed(0)
    network = DiehlAndCook2015(n_inpt=20, n_neurons=12, exc=22.5, inh=60.0, theta_plus=0.05, norm=8.0)
    for name in ("Ae", "Ai"):
        network.add_monitor(Monitor(network.layers[name], ("s", "v"), time=30), name=name)
    return network


def test_replays_give_the_numbers_of_step_by_step_runs(monkeypatch):
    graphs_on = [True]
    monkeypatch.setattr(cuda_graphs, "applies", lambda *args: graphs_on[0])
    kept = []

    def stand_in(call):
        kept.append(call)
        return call

    generator = torch.Generator().manual_seed(1)
    inputs = [(torch.rand(30, 1, 20, generator=generator) < 0.3).float() for _ in range(4)]
    runs, reports = {}, {}
    for graphs in (True, False):            # one network after the other: no rebinding between calls
        graphs_on[0] = graphs
        network = diehl_and_cook()
        program = snnc.compile(network, backend="torch")
        program._graph_capture = stand_in
        runs[graphs] = []
        for call, raster in enumerate(inputs):
            network.reset_state_variables()
            torch.manual_seed(100 + call)                     # the same random numbers in both
            program.run({"X": raster.clone()}, time=30)
            record = {f"{m}.{v}": network.monitors[m].get(v) for m in ("Ae", "Ai") for v in ("s", "v")}
            record["w"] = network.connections["X", "Ae"].pipeline[0].value.clone()
            runs[graphs].append((record, {k: t.clone() for k, t in record.items()}, program.last_run.launches))
        reports[graphs] = program.report()
    assert len(kept) == 1                                       # captured once, replayed three times
    for call, ((graphed, copy, paths), (stepped, _, _)) in enumerate(zip(runs[True], runs[False])):
        assert (paths is None) == (call == 0)                   # the first call runs step by step
        if call:
            assert paths == {"launches": 1, "path": "cuda graph", "grid": None, "reason": None}
        for key in stepped:
            assert torch.equal(graphed[key], stepped[key]), (call, key)
            assert torch.equal(graphed[key], copy[key]), (call, key)   # later replays wrote elsewhere
    assert runs[True][-1][0]["Ae.s"].any()
    assert "the run replayed from its captured CUDA graph" in reports[True]
    assert "graph launches" not in reports[False]
    assert not torch.equal(runs[True][1][0]["Ae.v"], runs[True][2][0]["Ae.v"])


def test_a_new_batch_or_length_is_captured_anew(monkeypatch):
    monkeypatch.setattr(cuda_graphs, "applies", lambda *args: True)
    captures = []
    network = diehl_and_cook()
    program = snnc.compile(network, backend="torch")
    program._graph_capture = lambda call: captures.append(call) or call
    for steps in (30, 30, 30, 20, 20):
        network.reset_state_variables()
        program.run({"X": torch.ones(steps, 1, 20)}, time=steps)
    assert len(captures) == 2


def test_when_graphs_apply():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    asked = []

    def opaque(answer: bool):
        return lambda: asked.append(answer) or answer

    assert cuda_graphs.applies("torch", cuda, False, opaque(False))
    assert not cuda_graphs.applies("torch", cuda, False, opaque(True))        # an opaque op
    assert not cuda_graphs.applies("torch", cpu, False, opaque(False))
    assert not cuda_graphs.applies("numba-cuda", cuda, False, opaque(False))
    assert not cuda_graphs.applies("torch", cuda, True, opaque(False))        # a progress bar
    assert asked == [False, True]           # the IR is walked only when the rest allows graphs
