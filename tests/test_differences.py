"""Deliberate differences from BindsNET 0.3.4 (docs/differences.md) not covered elsewhere."""
from __future__ import annotations

import pytest
import torch

import snnc
from snnc.network import Network, load
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection


def chain(one_step_gain: float = 20.0) -> Network:
    network = Network()
    x, y = Input(1), LIFNodes(1, refrac=0)
    network.add_layer(x, "X")
    network.add_layer(y, "Y")
    network.add_connection(Connection(x, y, w=torch.tensor([[one_step_gain]])), "X", "Y")
    network.add_monitor(Monitor(y, ("s", "v")), "Y")
    return network


def test_one_step_keeps_external_input_of_a_connected_layer():
    """Q6: BindsNET drops the external input of a layer with incoming connections."""
    network = chain()
    spikes = torch.zeros(3, 1)
    spikes[0] = 1
    program = snnc.compile(network, backend="torch")
    program.run({"X": spikes, "Y": torch.full((3, 1), 2.0)}, time=3, one_step=True)
    v = network.monitors["Y"].get("v")[:, 0, 0]
    # step 0: 20 (synapse, same step) + 2 (external) crosses -52 from -65 -> reset.
    assert network.monitors["Y"].get("s")[:, 0, 0].tolist() == [True, False, False]
    decay = torch.exp(torch.tensor(-1.0) / 100.0)
    expected_v1 = (torch.tensor(-65.0) - -65.0) * decay + -65.0 + 2.0
    assert torch.allclose(v[1], expected_v1)


def test_step_count_rounds_float_error():
    """Q41: int(0.3 / 0.1) is 2 in BindsNET; snnc counts 3 steps."""
    network = Network(dt=0.1)
    layer = LIFNodes(2)
    network.add_layer(layer, "A")
    network.add_monitor(Monitor(layer, ("v",)), "A")
    snnc.compile(network, backend="torch").run({}, time=0.3)
    assert network.monitors["A"].get("v").shape[0] == 3


def test_node_constructors_reject_unknown_keywords():
    """Q45: BindsNET swallows unknown keywords (and ignores ``learning``)."""
    with pytest.raises(TypeError):
        LIFNodes(3, refractory=4)
    assert LIFNodes(3, learning=False).learning is False


def test_load_learning_sets_layers_too(tmp_path):
    """Q9: BindsNET's load(learning=False) leaves the layers' flags on."""
    network = chain()
    network.save(tmp_path / "net.pt")
    loaded = load(tmp_path / "net.pt", learning=False)
    assert loaded.learning is False
    assert all(layer.learning is False for layer in loaded.layers.values())


def test_half_precision_connection_runs():
    """Q16: BindsNET's Connection(w_dtype=float16) crashes in compute."""
    network = chain()
    half = Network()
    x, y = Input(1), LIFNodes(1, refrac=0)
    half.add_layer(x, "X")
    half.add_layer(y, "Y")
    half.add_connection(Connection(x, y, w=torch.tensor([[20.0]]), w_dtype=torch.float16), "X", "Y")
    half.add_monitor(Monitor(y, ("v",)), "Y")
    inputs = {"X": torch.tensor([[1.0], [0.0], [1.0]])}
    for net in (network, half):
        snnc.compile(net, backend="torch").run(inputs, time=3)
    assert torch.equal(network.monitors["Y"].get("v"), half.monitors["Y"].get("v"))


def test_izhikevich_parameters_follow_bindsnets_draw_order():
    """Same seed, same parameters as BindsNET 0.3.4 (checked against it in the oracle
    tests): excitatory r, their coupling columns (0.5 U), inhibitory r, their columns (-U)."""
    from snnc.network.nodes import IzhikevichNodes

    generator = torch.Generator().manual_seed(3)
    layer = IzhikevichNodes(n=5, excitatory=0.6, generator=generator)
    replay = torch.Generator().manual_seed(3)
    r_ex, s_ex = torch.rand(3, generator=replay), torch.rand(5, 3, generator=replay)
    r_in, s_in = torch.rand(2, generator=replay), torch.rand(5, 2, generator=replay)
    assert torch.equal(layer.c[:3], -65.0 + 15.0 * r_ex ** 2) and torch.equal(layer.d[:3], 8.0 - 6.0 * r_ex ** 2)
    assert torch.equal(layer.a[3:], 0.02 + 0.08 * r_in) and torch.equal(layer.b[3:], 0.25 - 0.05 * r_in)
    assert torch.equal(layer.S, torch.cat([0.5 * s_ex, -s_in], 1))
    assert layer.excitatory.tolist() == [1, 1, 1, 0, 0]


def test_pass_through_nodes_honour_clamp_and_traces():
    """Q56: BindsNET's PassThroughNodes ignore clamp / unclamp (and never update traces)."""
    from snnc.conversion import PassThroughNodes

    network = Network()
    network.add_layer(PassThroughNodes(3, traces=True), "P")
    monitor = Monitor(network.layers["P"], ["s", "x", "v"])
    network.add_monitor(monitor, "P")
    given = torch.tensor([[0.5, 0.0, 2.0], [0.0, 0.0, 0.0]])
    network.run({"P": given}, time=2, clamp={"P": torch.tensor([False, True, False])},
                unclamp={"P": torch.tensor([True, False, False])})
    assert monitor.get("s").squeeze(1).tolist() == [[0.0, 1.0, 2.0], [0.0, 1.0, 0.0]]
    assert monitor.get("x")[0, 0].tolist() == [0.0, 1.0, 1.0]
    assert monitor.get("v").tolist() == [[0.0] * 3] * 2        # BindsNET's unchanging v``


def test_csrm_rectangular_kernel_and_no_incoming_connection_run():
    """Q13 / Q14: BindsNET crashes on both; snnc runs them (no connection: no input)."""
    from snnc.network.nodes import CSRMNodes

    network = Network()
    network.add_layer(Input(2), "X")
    network.add_layer(CSRMNodes(2, responseKernel="RectangularKernel", tau=2.0), "Y")
    network.add_layer(CSRMNodes(2), "Z")
    network.add_connection(Connection(network.layers["X"], network.layers["Y"], w=torch.full((2, 2), 5.0)),
                           "X", "Y")
    monitor = Monitor(network.layers["Y"], ["v"])
    network.add_monitor(monitor, "Y")
    network.run({"X": torch.ones(3, 2)}, time=3)
    kernel = network.layers["Y"].resKernel
    assert torch.allclose(kernel, torch.full_like(kernel, 0.25))
    # step 0 delivers X's initial (silent) spikes; step 1 its step-0 spikes: 0.25 * (2 * 5)
    decay = float(torch.exp(torch.tensor(-0.01)))
    v = monitor.get("v")[:, 0]
    assert torch.allclose(v[0], torch.full((2,), -65.0 * decay))
    assert torch.allclose(v[1], v[0] * decay + 2.5)


def test_csrm_windows_follow_dt():
    """BindsNET crashes for dt != 1 (kernel and window lengths disagree); snnc sizes
    both ``ceil(window / dt)`` steps."""
    from snnc.network.nodes import CSRMNodes

    network = Network(dt=0.5)
    network.add_layer(Input(2), "X")
    network.add_layer(CSRMNodes(2, res_window_size=5, ref_window_size=3), "Y")
    connection = Connection(network.layers["X"], network.layers["Y"], w=torch.full((2, 2), 5.0))
    network.add_connection(connection, "X", "Y")
    network.run({"X": torch.ones(4, 2)}, time=2.0)
    layer = network.layers["Y"]
    assert layer.resKernel.shape == (10,) and layer.refKernel.shape == (6,)
    assert connection.s_w.shape == (1, 10, 2) and layer.last_spikes.shape == (1, 6, 2)


def test_izhikevich_takes_and_ignores_refrac_with_a_warning():
    """BindsNET's Breakout example passes ``refrac=0`` to IzhikevichNodes, which drop it."""
    from snnc.network.nodes import IzhikevichNodes

    torch.manual_seed(0)
    plain = IzhikevichNodes(n=4)
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="ignoring refrac=0"):
        given = IzhikevichNodes(n=4, refrac=0)
    assert torch.equal(plain.d, given.d) and not hasattr(given, "refrac")
    with pytest.raises(TypeError):
        IzhikevichNodes(n=4, tc_decay=10.0)


def test_inputs_without_the_shapes_leading_ones_are_read_as_bindsnet_reads_them():
    """``[T, B, *shape]`` without some of the shape's leading 1s (BindsNET's dot-tracing
    example feeds ``[T, 1, 28, 28]`` to a ``[1, 1, 1, 28, 28]`` layer); other
    rearrangements of the same values still raise."""
    def net():
        network = Network()
        network.add_layer(Input(n=12, shape=[1, 1, 1, 3, 4]), name="X")
        network.add_layer(LIFNodes(n=2), name="Y")
        network.add_connection(Connection(network.layers["X"], network.layers["Y"], w=20 * torch.ones(12, 2)),
                               "X", "Y")
        network.add_monitor(Monitor(network.layers["Y"], ["v"]), "Y")
        return network
    spikes = (torch.rand(6, 2, 3, 4) < 0.4).float()
    odd, flat = net(), net()
    odd.run({"X": spikes}, time=6)
    flat.run({"X": spikes.reshape(6, 2, 12)}, time=6)
    assert torch.equal(odd.monitors["Y"].get("v"), flat.monitors["Y"].get("v"))
    for wrong in ((6, 2, 3, 5), (6, 2, 4, 3), (6, 2, 12, 1)):
        with pytest.raises(snnc.SnncError, match="leading 1s"):
            net().run({"X": torch.zeros(wrong)}, time=6)
