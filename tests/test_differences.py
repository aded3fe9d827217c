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
