"""Golden traces of spec section 16 that need only Input, LIFNodes and Connection.

The expected numbers were obtained by running BindsNET 0.3.4 and are rounded to 3-4
digits in the spec, hence the 1e-4 tolerance (float32 otherwise).
"""
from __future__ import annotations

import pytest
import torch

import snnc
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection

ATOL = 1e-4


def flat(values) -> list[float]:
    return [float(v) for v in torch.as_tensor(values).flatten()]


def assert_trace(actual: torch.Tensor, expected, atol: float = ATOL) -> None:
    actual = actual.detach().float().flatten()
    expected = torch.tensor(expected, dtype=torch.float32).flatten()
    assert actual.shape == expected.shape, (flat(actual), flat(expected))
    assert torch.allclose(actual, expected, atol=atol, rtol=0), (flat(actual), flat(expected))


def single_lif_network(**lif_kwargs) -> tuple[Network, Monitor]:
    """A one-neuron LIF layer ``N`` fed directly, monitoring s, v, refrac_count (and x)."""
    network = Network(dt=1.0)
    layer = LIFNodes(1, **lif_kwargs)
    network.add_layer(layer, "N")
    variables = ["s", "v", "refrac_count"] + (["x"] if lif_kwargs.get("traces") else [])
    monitor = Monitor(layer, variables)
    network.add_monitor(monitor, "N")
    return network, monitor


def item1_network() -> Network:
    """Spec 16.1: ``Input(1, traces)`` -> ``LIFNodes(1, traces)`` with ``w = [[20]]``."""
    network = Network(dt=1.0)
    network.add_layer(Input(1, traces=True), "X")
    network.add_layer(LIFNodes(1, traces=True), "Y")
    network.add_connection(Connection(network.layers["X"], network.layers["Y"],
                                      w=torch.tensor([[20.0]])), "X", "Y")
    return network


# -- 16.1: one-step synaptic delay and LIF refractoriness -----------------------------

def test_item1_synaptic_delay_and_refractory(spikes_at):
    network = item1_network()
    mx = Monitor(network.layers["X"], ["s", "x"])
    my = Monitor(network.layers["Y"], ["s", "v", "refrac_count", "x"])
    network.add_monitor(mx, "X")
    network.add_monitor(my, "Y")

    network.run({"X": spikes_at(12, 1, at=(0, 1, 3, 9))}, time=12)

    for monitor, var in ((mx, "s"), (mx, "x"), (my, "s"), (my, "v"), (my, "refrac_count"), (my, "x")):
        assert monitor.get(var).shape == (12, 1, 1), var
    assert_trace(mx.get("s"), [1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0])
    assert_trace(mx.get("x"), [1, 1, 0.951229, 1, 0.951229, 0.904837, 0.860708, 0.818731,
                               0.778801, 1, 0.951229, 0.904837])
    assert my.get("s").dtype == torch.bool
    assert_trace(my.get("s"), [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0])
    assert_trace(my.get("v"), [-65.0] * 12)
    assert_trace(my.get("refrac_count"), [-1, 5, 4, 3, 2, 1, 0, -1, -2, -3, 5, 4])
    assert_trace(my.get("x"), [0, 1, 0.951229, 0.904837, 0.860708, 0.818731, 0.778801,
                               0.740818, 0.704688, 0.670320, 1, 0.951229])


def test_item1_through_compiled_program(spikes_at):
    """The same trace through ``snnc.compile(...).run`` instead of ``Network.run``."""
    network = item1_network()
    my = Monitor(network.layers["Y"], ["s", "refrac_count"])
    network.add_monitor(my, "Y")
    program = snnc.compile(network, backend="torch")
    program.run({"X": spikes_at(12, 1, at=(0, 1, 3, 9))}, time=12)
    assert_trace(my.get("s"), [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0])
    assert_trace(my.get("refrac_count"), [-1, 5, 4, 3, 2, 1, 0, -1, -2, -3, 5, 4])


# -- 16.2: LIF with a constant input of 5 ---------------------------------------------

def test_item2_lif_constant_input_and_caller_tensor_untouched():
    network, monitor = single_lif_network()
    inputs = torch.full((15, 1), 5.0)
    original = inputs.clone()

    network.run({"N": inputs}, time=15)

    assert_trace(monitor.get("s"), [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    assert_trace(monitor.get("v"), [-60, -55.0498, -65, -65, -65, -65, -65, -65, -60, -55.0498,
                                    -65, -65, -65, -65, -65])
    # BindsNET zeroes the caller's input at the refractory steps (quirk Q1); snnc must not.
    assert torch.equal(inputs, original)


def test_item2_two_runs_equal_one():
    """Splitting item 2 into runs of 7 and 8 steps gives the same trace (state carries over)."""
    network, monitor = single_lif_network()
    network.run({"N": torch.full((7, 1), 5.0)}, time=7)
    network.run({"N": torch.full((8, 1), 5.0)}, time=8)
    assert_trace(monitor.get("s"), [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    assert_trace(monitor.get("v"), [-60, -55.0498, -65, -65, -65, -65, -65, -65, -60, -55.0498,
                                    -65, -65, -65, -65, -65])


# -- 16.7: additive trace ---------------------------------------------------------------

def test_item7_additive_trace():
    network, monitor = single_lif_network(refrac=0, traces=True, traces_additive=True)
    network.run({"N": torch.full((8, 1), 8.0)}, time=8)
    assert_trace(monitor.get("s"), [0, 1, 0, 1, 0, 1, 0, 1])
    assert_trace(monitor.get("x"), [0, 1, 0.9512, 1.9048, 1.8119, 2.7236, 2.5907, 3.4644])


# -- 16.11: Connection.normalize ------------------------------------------------------

W11 = [[1.0, -1.0], [1.0, 0.0], [2.0, 0.0]]
W11_NORMALISED = [[0.5, -2.0], [0.5, 0.0], [1.0, 0.0]]


def normalize_network() -> tuple[Network, Connection]:
    network = Network(dt=1.0)
    X = Input(3)
    Y = LIFNodes(2)
    network.add_layer(X, "X")
    network.add_layer(Y, "Y")
    connection = Connection(X, Y, w=torch.tensor(W11), norm=2.0)
    network.add_connection(connection, "X", "Y")
    return network, connection


def test_item11_normalize_called_directly():
    _, connection = normalize_network()
    assert_trace(connection.w, W11)  # not normalised at construction
    connection.normalize()
    assert_trace(connection.w, W11_NORMALISED)
    column_abs_sums = connection.w.abs().sum(dim=0)
    assert_trace(column_abs_sums, [2.0, 2.0])


def test_item11_normalize_without_norm_is_noop():
    network = Network(dt=1.0)
    X, Y = Input(3), LIFNodes(2)
    network.add_layer(X, "X")
    network.add_layer(Y, "Y")
    connection = Connection(X, Y, w=torch.tensor(W11))
    connection.normalize()
    assert torch.equal(connection.w, torch.tensor(W11))


def test_item11_normalize_zero_column_kept():
    network = Network(dt=1.0)
    X, Y = Input(2), LIFNodes(2)
    network.add_layer(X, "X")
    network.add_layer(Y, "Y")
    connection = Connection(X, Y, w=torch.tensor([[0.0, 3.0], [0.0, 1.0]]), norm=2.0)
    connection.normalize()
    assert_trace(connection.w, [[0.0, 1.5], [0.0, 0.5]])


def test_item11_normalisation_happens_at_end_of_run(spikes_at):
    network, connection = normalize_network()
    monitor = Monitor(connection, ["w"])
    network.add_monitor(monitor, "w")
    w_before_run = connection.w.clone()

    network.run({"X": spikes_at(5, 3, at=(0, 2))}, time=5)

    recorded = monitor.get("w")
    assert recorded.shape == (5, 3, 2)
    # Every step of the run still used (and recorded) the original weights ...
    for step in range(5):
        assert_trace(recorded[step], W11)
    assert torch.equal(w_before_run, torch.tensor(W11))
    # ... and the weights are normalised once the run is over.
    assert_trace(connection.w, W11_NORMALISED)


def test_item11_run_uses_unnormalised_weights_during_the_run(spikes_at):
    """With w = [[20]] and norm = 1, the first run's spike still gets through at full strength."""
    network = Network(dt=1.0)
    X, Y = Input(1), LIFNodes(1)
    network.add_layer(X, "X")
    network.add_layer(Y, "Y")
    connection = Connection(X, Y, w=torch.tensor([[20.0]]), norm=1.0)
    network.add_connection(connection, "X", "Y")
    monitor = Monitor(Y, ["s", "v"])
    network.add_monitor(monitor, "Y")
    network.run({"X": spikes_at(3, 1, at=(0,))}, time=3)
    assert_trace(monitor.get("s"), [0, 1, 0])
    assert_trace(connection.w, [[1.0]])
    # Second run: the normalised weight 1 only nudges the voltage.
    monitor.clear()
    network.reset_state_variables()
    network.run({"X": spikes_at(3, 1, at=(0,))}, time=3)
    assert_trace(monitor.get("s"), [0, 0, 0])
    decay = torch.exp(torch.tensor(-1.0) / 100.0).item()
    assert_trace(monitor.get("v"), [-65.0, -64.0, -65.0 + decay])


# -- 16.15: monitor shapes ----------------------------------------------------------

def monitored_layer(n: int = 3, dt: float = 1.0, time=None) -> tuple[Network, Monitor]:
    network = Network(dt=dt)
    layer = LIFNodes(n)
    network.add_layer(layer, "L")
    monitor = Monitor(layer, ["s", "v"], time=time)
    network.add_monitor(monitor, "L")
    return network, monitor


def test_item15_shape_batch_1():
    network, monitor = monitored_layer(n=3)
    network.run({"L": torch.full((100, 3), 2.0)}, time=100)
    assert monitor.get("s").shape == (100, 1, 3)
    assert monitor.get("v").shape == (100, 1, 3)


def test_item15_shape_batch_4():
    network, monitor = monitored_layer(n=3)
    network.run({"L": torch.full((20, 4, 3), 2.0)}, time=20)
    assert monitor.get("s").shape == (20, 4, 3)
    assert monitor.get("v").shape == (20, 4, 3)


def test_item15_dt_half_records_every_step():
    network, monitor = monitored_layer(n=3, dt=0.5)
    network.run({"L": torch.full((10, 3), 2.0)}, time=5)
    assert monitor.get("s").shape == (10, 1, 3)


def test_item15_monitor_time_after_fewer_steps():
    network, monitor = monitored_layer(n=3, time=5)
    network.run({"L": torch.full((3, 3), 2.0)}, time=3)
    assert monitor.get("s").shape == (3, 1, 3)


def test_item15_monitor_time_keeps_last_steps():
    network, windowed = monitored_layer(n=3, time=5)
    full = Monitor(network.layers["L"], ["v"])
    network.add_monitor(full, "full")
    network.run({"L": torch.full((8, 3), 4.0)}, time=8)
    network.run({"L": torch.full((4, 3), 4.0)}, time=4)
    assert full.get("v").shape == (12, 1, 3)
    assert windowed.get("v").shape == (5, 1, 3)
    assert torch.equal(windowed.get("v"), full.get("v")[-5:])


def test_item15_second_get_is_idempotent():
    """snnc difference (Q27 fix): a second get returns the same data, clear() empties."""
    network, monitor = monitored_layer(n=3)
    network.run({"L": torch.full((10, 3), 5.0)}, time=10)
    first = monitor.get("v").clone()
    second = monitor.get("v")
    assert second.shape == (10, 1, 3)
    assert torch.equal(first, second)
    assert torch.equal(monitor.get("s"), monitor.get("s"))
    monitor.clear()
    assert monitor.get("v").numel() == 0
    assert monitor.get("s").numel() == 0


def test_item15_recordings_accumulate_across_runs():
    network, monitor = monitored_layer(n=2)
    network.run({"L": torch.full((4, 2), 5.0)}, time=4)
    network.run({"L": torch.full((6, 2), 5.0)}, time=6)
    assert monitor.get("v").shape == (10, 1, 2)


@pytest.mark.parametrize("time", [None, 5])
def test_item15_reset_state_variables_empties_monitor(time):
    network, monitor = monitored_layer(n=2, time=time)
    network.run({"L": torch.full((4, 2), 5.0)}, time=4)
    network.reset_state_variables()
    assert monitor.get("v").numel() == 0


# -- 16.13: one_step with IF neurons, on every backend ---------------------------------

@pytest.mark.parametrize("backend", ["torch", "numba", "numba-cuda"])
@pytest.mark.parametrize("one_step, b_spikes, c_spikes", [(False, [0, 1, 0, 0], [0, 0, 1, 0]),
                                                          (True, [1, 0, 0, 0], [1, 0, 0, 0])])
def test_item13_one_step_with_if_nodes(backend, one_step, b_spikes, c_spikes):
    from snnc.network.nodes import IFNodes

    network = Network()
    network.add_layer(Input(1), "A")
    for name in ("B", "C"):
        network.add_layer(IFNodes(1, thresh=0.5, reset=0.0), name)
        network.add_monitor(Monitor(network.layers[name], ["s"]), name)
    network.add_connection(Connection(network.layers["A"], network.layers["B"], w=torch.ones(1, 1)), "A", "B")
    network.add_connection(Connection(network.layers["B"], network.layers["C"], w=torch.ones(1, 1)), "B", "C")
    spikes = torch.tensor([1.0, 0.0, 0.0, 0.0]).view(4, 1)
    snnc.compile(network, backend=backend).run({"A": spikes}, time=4, one_step=one_step)
    assert network.monitors["B"].get("s").flatten().int().tolist() == b_spikes
    assert network.monitors["C"].get("s").flatten().int().tolist() == c_spikes
