"""``Network.run``'s keyword arguments on every backend (spec 2.3-2.4): clamp, unclamp,
injects_v, weight masks, reward checks, progress bar, empty runs and batch changes.
Expected values come from the spec's golden traces (16.14, 16.16) or from plain
torch loops written here from the spec's equations."""
from __future__ import annotations

import math

import pytest
import torch

import snnc
from snnc.errors import SnncError
from snnc.learning import PostPre
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection

BACKENDS = ["torch", "numba", "numba-cuda"]


def lif_layer(n=None, shape=None, **kwargs) -> tuple[Network, Monitor]:
    network = Network()
    network.add_layer(LIFNodes(n if n or shape else 2, shape=shape, traces=True, **kwargs), "B")
    monitor = Monitor(network.layers["B"], ["s", "x", "v", "refrac_count"])
    network.add_monitor(monitor, "m")
    return network, monitor


@pytest.mark.parametrize("backend", BACKENDS)
def test_clamp_golden_item14(backend):
    network, m = lif_layer()
    snnc.compile(network, backend=backend).run({}, time=3, clamp={"B": torch.tensor([True, False])})
    assert m.get("s").squeeze(1).int().tolist() == [[1, 0]] * 3
    assert m.get("x").squeeze(1).tolist() == [[1.0, 0.0]] * 3
    assert m.get("v").squeeze(1).tolist() == [[-65.0, -65.0]] * 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_unclamp_golden_item16(backend):
    network, m = lif_layer()
    snnc.compile(network, backend=backend).run({"B": torch.full((3, 2), 20.0)}, time=3,
                                                unclamp={"B": torch.tensor([True, False])})
    assert m.get("s").squeeze(1).int().tolist() == [[0, 1], [0, 0], [0, 0]]
    x = torch.tensor([[0, 1], [0, 0.9512], [0, 0.9048]])
    assert torch.allclose(m.get("x").squeeze(1), x, atol=1e-4)
    assert m.get("v").squeeze(1).tolist() == [[-65.0, -65.0]] * 3
    assert m.get("refrac_count").squeeze(1).tolist() == [[5, 5], [4, 4], [3, 3]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_per_step_and_index_masks_on_a_2d_layer(backend):
    """A [T, shape0] bool mask clamps per step; integer indices pick rows of the first
    dimension; a full-shape mask per step works too."""
    network, m = lif_layer(shape=(2, 3))
    per_step = torch.tensor([[True, False], [False, True], [False, False], [True, True]])
    program = snnc.compile(network, backend=backend)
    program.run({}, time=4, clamp={"B": per_step})
    s = m.get("s").squeeze(1)
    assert torch.equal(s, per_step[:, :, None].expand(4, 2, 3))
    m.clear()
    network.reset_state_variables()
    program.run({}, time=2, clamp={"B": torch.tensor([1])})
    assert torch.equal(m.get("s").squeeze(1)[:, 0], torch.zeros(2, 3, dtype=torch.bool))
    assert m.get("s").squeeze(1)[:, 1].all()
    m.clear()
    full = torch.zeros(2, 2, 3, dtype=torch.bool)
    full[0, 1, 2] = full[1, 0, 0] = True
    program.run({}, time=2, clamp={"B": full})
    assert torch.equal(m.get("s").squeeze(1), full)


@pytest.mark.parametrize("backend", BACKENDS)
def test_injects_v_before_the_leak(backend):
    """2.4.2.3: ``v += inject`` before the step, so it decays with the step's leak."""
    network, m = lif_layer(tc_decay=10.0)
    inject = torch.tensor([[3.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    snnc.compile(network, backend=backend).run({}, time=3, injects_v={"B": inject})
    decay = math.exp(-1.0 / 10.0)
    v = torch.full((2,), -65.0)
    expected = []
    for t in range(3):
        v = (v + inject[t] + 65.0) * decay - 65.0
        expected.append(v.clone())
    assert torch.allclose(m.get("v").squeeze(1), torch.stack(expected), atol=1e-4)


@pytest.mark.parametrize("learning", [True, False])
@pytest.mark.parametrize("backend", BACKENDS)
def test_weight_masks_apply_after_each_step(backend, learning):
    """2.4.3: ``w[mask] = 0`` in every connection update, learning or not; the first
    step still propagates with the unmasked weights."""
    network = Network(learning=learning)
    network.add_layer(Input(2, traces=True), "X")
    network.add_layer(LIFNodes(2, traces=True, thresh=-60.0), "Y")
    w = torch.tensor([[6.0, 2.0], [3.0, 4.0]])
    network.add_connection(Connection(network.layers["X"], network.layers["Y"], w=w.clone(),
                                      update_rule=PostPre, nu=(0.1, 0.2)), "X", "Y")
    monitor = Monitor(network.connections[("X", "Y")], ["w"])
    network.add_monitor(monitor, "w")
    mask = torch.tensor([[True, False], [False, True]])
    x = torch.ones(5, 2)
    snnc.compile(network, backend=backend).run({"X": x}, time=5, masks={("X", "Y"): mask})
    recorded = monitor.get("w")
    assert (recorded[:, mask] == 0).all()
    if learning:
        assert not torch.equal(recorded[-1][~mask], w[~mask])
    else:
        assert torch.equal(recorded[-1][~mask], w[~mask])
    assert torch.equal(x, torch.ones(5, 2)) and torch.equal(mask, torch.eye(2, dtype=torch.bool))


@pytest.mark.parametrize("bad, match", [
    ({"clamp": {"Nope": torch.tensor([True])}}, "no layer"),
    ({"clamp": {"B": torch.tensor([0.5, 1.0])}}, "bool mask or integer"),
    ({"clamp": {"B": torch.ones(2, 2, dtype=torch.bool)}}, "2 rows.*3 steps"),
    ({"unclamp": {"B": torch.tensor([True, False, True])}}, "does not fit"),
    ({"clamp": {"B": torch.tensor([5])}}, "out of range"),
    ({"injects_v": {"B": torch.ones(3)}}, "do not fit"),
    ({"injects_v": {"B": torch.tensor([float("nan"), 0.0])}}, "NaN"),
    ({"masks": {("X", "B"): torch.ones(1, 2, dtype=torch.bool)}}, "no connection"),
])
def test_bad_run_masks(bad, match):
    network, m = lif_layer()
    before = {k: {n: t.clone() for n, t in v.items()} for k, v in bad.items()}
    with pytest.raises(SnncError, match=match):
        network.run({}, time=3, **bad)
    for keyword, given in bad.items():
        for name, tensor in given.items():
            assert torch.equal(tensor, before[keyword][name]) or torch.isnan(tensor).any()


def test_weight_mask_shape_and_dtype_are_checked():
    network = Network()
    network.add_layer(Input(2), "X")
    network.add_layer(LIFNodes(3), "Y")
    network.add_connection(Connection(network.layers["X"], network.layers["Y"]), "X", "Y")
    with pytest.raises(SnncError, match=r"mask shape \(3, 2\).*\(2, 3\)"):
        network.run({}, time=2, masks={("X", "Y"): torch.ones(3, 2, dtype=torch.bool)})
    with pytest.raises(SnncError, match="bool tensor"):
        network.run({}, time=2, masks={("X", "Y"): torch.ones(2, 3)})


def test_injects_v_needs_a_voltage():
    network = Network()
    network.add_layer(Input(2), "X")
    with pytest.raises(SnncError, match="no voltage"):
        network.run({}, time=2, injects_v={"X": torch.ones(2)})


def test_empty_network_and_empty_inputs_run():
    """BindsNET allows both; snnc runs them for ``time`` steps without error."""
    Network().run({}, time=10)
    with pytest.raises(SnncError, match="no layer"):
        Network().run({"X": torch.ones(3, 1)}, time=3)
    network, m = lif_layer()
    network.run({}, time=4)
    assert m.get("v").shape == (4, 1, 2)


def test_batch_change_between_runs_warns_and_reinitialises():
    network, m = lif_layer()
    network.run({"B": torch.full((3, 2), 5.0)}, time=3)
    with pytest.warns(UserWarning, match="batch size changes from 1 to 4") as caught:
        network.run({"B": torch.full((3, 4, 2), 5.0)}, time=3)
    assert caught[0].filename == __file__
    assert m.get("v").shape == (3, 4, 2) and network.batch_size == 4
    m.clear()
    network.run({"B": torch.full((2, 2), 5.0)}, time=2)     # back to batch 1: nothing recorded to lose
    assert network.layers["B"].v.shape == (1, 2)


@pytest.mark.parametrize("backend", ["torch", "numba"])
def test_progress_bar_runs_in_chunks_with_the_same_result(backend, capsys):
    plain, m1 = lif_layer()
    shown, m2 = lif_layer()
    data = torch.rand(250, 2) * 8
    snnc.compile(plain, backend=backend).run({"B": data}, time=250)
    snnc.compile(shown, backend=backend).run({"B": data}, time=250, progress_bar=True)
    assert torch.equal(m1.get("v"), m2.get("v"))
    assert "250/250" in capsys.readouterr().err


def test_reward_fn_computes_the_reward_once_per_run():
    """6.9 MovingAvgRPE arithmetic; a network whose rules read no reward ignores one,
    with a warning."""
    from snnc.learning.reward import MovingAvgRPE

    rpe = MovingAvgRPE()
    assert float(rpe.compute(reward=2.0)) == 2.0
    rpe.update(accumulated_reward=10.0, steps=5, ema_window=4.0)
    assert math.isclose(float(rpe.reward_predict), 0.5, rel_tol=1e-6)
    assert math.isclose(float(rpe.reward_predict_episode), 2.5, rel_tol=1e-6)
    assert math.isclose(float(rpe.compute(reward=2.0)), 1.5, rel_tol=1e-6)
    network = Network(reward_fn=MovingAvgRPE)
    network.add_layer(Input(2), "X")
    assert isinstance(network.reward_fn, MovingAvgRPE)
    with pytest.warns(UserWarning, match="reward=.* is ignored"):
        network.run({}, time=2, reward=1.0)
    with pytest.warns(UserWarning, match="a_plus=1.0 is ignored"):
        network.run({}, time=2, a_plus=1.0)


def test_progress_bar_calls_the_compiled_loop_a_handful_of_times():
    """A first chunk of 1 % times a step; the rest goes in ~0.1 s chunks."""
    from snnc.runtime.program import _call

    calls = []

    def run(start, stop, steps):
        calls.append((start, stop))

    _call(run, 10_000, [], progress_bar=True)
    assert calls[0] == (0, 100) and calls[-1][1] == 10_000
    assert len(calls) <= 3
    assert all(a[1] == b[0] for a, b in zip(calls, calls[1:]))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.bool, torch.float32])
@pytest.mark.parametrize("backend", BACKENDS)
def test_clamp_on_an_input_layer_of_any_dtype(backend, dtype):
    """Input spikes keep the input's dtype; a clamp sets 1, an unclamp 0, traces follow."""
    network = Network()
    network.add_layer(Input(3, traces=True), "X")
    monitor = Monitor(network.layers["X"], ["s", "x"])
    network.add_monitor(monitor, "m")
    given = torch.zeros(4, 3).to(dtype)
    given[1, 2] = 1
    snnc.compile(network, backend=backend).run({"X": given}, time=4, clamp={"X": torch.tensor([True, False, False])},
                                                unclamp={"X": torch.tensor([False, False, True])})
    assert monitor.get("s").squeeze(1).float().tolist() == [[1.0, 0.0, 0.0]] * 4
    assert monitor.get("x").squeeze(1)[:, 2].tolist() == [0.0] * 4


@pytest.mark.parametrize("backend", ["torch", "numba"])
def test_masks_hold_for_their_run_only(backend):
    """A run with a clamp, then one without, then one with an unclamp: each call binds
    the masks it is given (they are part of what the bound arguments depend on)."""
    network, m = lif_layer()
    program = snnc.compile(network, backend=backend)
    program.run({}, time=2, clamp={"B": torch.tensor([True, True])})
    program.run({}, time=2)
    program.run({"B": torch.full((2, 2), 30.0)}, time=2, unclamp={"B": torch.tensor([False, True])})
    assert m.get("s").squeeze(1).int().tolist() == [[1, 1], [1, 1], [0, 0], [0, 0], [1, 0], [0, 0]]
