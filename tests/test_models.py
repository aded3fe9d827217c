"""snnc.models (spec section 10): the ready-made networks' structure, defaults and runs.

test_oracle_zoo.py compares them with BindsNET 0.3.4 itself; these tests check the
spec's facts directly and run every model compiled.
"""
from __future__ import annotations

import math

import pytest
import torch

import snnc
from snnc import SnncError
from snnc.learning import MCC_learning, PostPre
from snnc.models import (DiehlAndCook2015, DiehlAndCook2015v2, IncreasingInhibitionNetwork,
                         LocallyConnectedNetwork, TwoLayerNetwork)
from snnc.network.nodes import DiehlAndCookNodes, Input, LIFNodes
from snnc.network.topology import LocalConnection, MulticompartmentConnection


def test_two_layer_network_defaults():
    torch.manual_seed(0)
    network = TwoLayerNetwork(20, n_neurons=5)
    x, y = network.layers["X"], network.layers["Y"]
    assert isinstance(x, Input) and x.traces and isinstance(y, LIFNodes)
    assert (float(y.rest), float(y.reset), float(y.thresh), float(y.refrac), float(y.tc_decay)) == \
        (-65.0, -65.0, -52.0, 5.0, 100.0)
    c = network.connections[("X", "Y")]
    assert isinstance(c.update_rule, PostPre) and c.norm == 78.4
    assert c.w.shape == (20, 5) and 0 <= float(c.w.min()) and float(c.w.max()) < 0.3


def test_diehl_and_cook_2015_pipelines_and_ranges():
    network = DiehlAndCook2015(16, n_neurons=4, exc=10.0, inh=7.0, inh_thresh=-41.0, exc_thresh=-50.0)
    assert list(network.layers) == ["X", "Ae", "Ai"]
    ae, ai = network.layers["Ae"], network.layers["Ai"]
    assert isinstance(ae, DiehlAndCookNodes) and ae.one_spike and float(ae.thresh) == -50.0
    assert isinstance(ai, LIFNodes) and not ai.traces and float(ai.thresh) == -41.0
    learned = network.connections[("X", "Ae")]
    assert isinstance(learned, MulticompartmentConnection)
    weight = learned.pipeline[0]
    assert isinstance(weight.learning_rule, MCC_learning.PostPre) and weight.norm == 78.4
    assert list(weight.range) == [0.0, 1.0]
    excite = network.connections[("Ae", "Ai")].pipeline[0]
    inhibit = network.connections[("Ai", "Ae")].pipeline[0]
    assert torch.equal(excite.value, 10.0 * torch.eye(4)) and list(excite.range) == [0, 10.0]
    assert torch.equal(inhibit.value, -7.0 * (1 - torch.eye(4))) and list(inhibit.range) == [-7.0, 0]
    assert not network.layers["X"].traces_additive
    paper = DiehlAndCook2015(16, n_neurons=4, learning_rule=MCC_learning.DiehlAndCook,
                             learning_rule_kwargs={"x_tar": 0.4})
    assert paper.layers["X"].traces_additive           # the paper's rule reads an additive trace
    assert isinstance(paper.connections[("X", "Ae")].pipeline[0].learning_rule, MCC_learning.DiehlAndCook)


def test_diehl_and_cook_2015_v2_and_increasing_inhibition():
    v2 = DiehlAndCook2015v2(9, n_neurons=4, inh=5.0)
    recurrent = v2.connections[("Y", "Y")]
    assert torch.equal(recurrent.w, -5.0 * (1 - torch.eye(4)))
    assert (float(recurrent.wmin), float(recurrent.wmax)) == (-5.0, 0.0)
    network = IncreasingInhibitionNetwork(9, n_neurons=10, start_inhib=2.0, max_inhib=-30.0)
    w = network.connections[("Y", "Y")].w
    side = int(math.sqrt(10))                    # neuron i at (i // 3, i % 3)
    def at(i):
        return (i // side, i % side)
    root = lambda i, j: math.dist(at(i), at(j)) ** 0.5     # noqa: E731
    peak = max(root(i, j) for i in range(10) for j in range(10))
    for i, j in [(0, 0), (0, 1), (1, 5), (9, 0), (4, 7)]:
        assert float(w[i, j]) == pytest.approx(root(i, j) / peak * -30.0 + 2.0, rel=1e-6)


def test_locally_connected_network_geometry_and_inhibition():
    network = LocallyConnectedNetwork(n_inpt=49, input_shape=[7, 7], kernel_size=3, stride=2, n_filters=2, inh=4.0)
    assert network.conv_size == (3, 3) and network.layers["Y"].n == 2 * 9
    local = network.connections[("X", "Y")]
    assert isinstance(local, LocalConnection) and local.norm == pytest.approx(0.2 * 9)
    w = network.connections[("Y", "Y")].w
    for a in range(18):
        for b in range(18):
            same_position = a % 9 == b % 9
            expected = -4.0 if same_position and a != b else 0.0
            assert float(w[a, b]) == expected
    whole = LocallyConnectedNetwork(n_inpt=49, input_shape=[7, 7], kernel_size=7, stride=1, n_filters=3)
    assert whole.conv_size == (1, 1) and whole.layers["Y"].n == 3


def test_bad_arguments_name_the_model():
    with pytest.raises(SnncError, match="DiehlAndCook2015: sparse=True .* batch_size"):
        DiehlAndCook2015(16, sparse=True)
    with pytest.raises(SnncError, match="TwoLayerNetwork: n_neurons must be a positive integer"):
        TwoLayerNetwork(10, n_neurons=0)
    with pytest.raises(SnncError, match="LocallyConnectedNetwork: .* must be 2-D"):
        LocallyConnectedNetwork(27, input_shape=[3, 3, 3], kernel_size=2, stride=1, n_filters=2)


@pytest.mark.parametrize("build", [
    lambda: TwoLayerNetwork(36, n_neurons=6),
    lambda: DiehlAndCook2015(36, n_neurons=6),
    lambda: DiehlAndCook2015v2(36, n_neurons=6),
    lambda: IncreasingInhibitionNetwork(36, n_neurons=9, max_inhib=-20.0),
    lambda: LocallyConnectedNetwork(36, input_shape=[6, 6], kernel_size=3, stride=3, n_filters=2),
], ids=["two_layer", "diehl_and_cook", "v2", "increasing", "local"])
def test_every_model_learns_compiled(build):
    torch.manual_seed(0)
    network = build()
    initial = {key: c.pipeline[0].value.clone() if hasattr(c, "pipeline") else c.w.clone()
               for key, c in network.connections.items()}
    spikes = torch.rand(150, 1, 36) < 0.3
    snnc.compile(network, backend="torch").run({"X": spikes}, time=150)
    key = next(iter(network.connections))              # X -> the excitatory layer, which learns
    learned = network.connections[key]
    value = learned.pipeline[0].value if hasattr(learned, "pipeline") else learned.w
    assert not torch.equal(value, initial[key])


def test_sparse_diehl_and_cook_runs_a_batch():
    """sparse=True keeps one sparse weight matrix per sample (BindsNET 0.3.4 fails here for
    a batch above 1, quirk Q57)."""
    torch.manual_seed(0)
    network = DiehlAndCook2015(25, n_neurons=4, sparse=True, batch_size=3)
    assert network.connections[("Ae", "Ai")].pipeline[0].value.shape == (3, 4, 4)
    network.run({"X": torch.rand(40, 3, 25) < 0.4}, time=40)
    assert network.layers["Ae"].v.shape == (3, 4)
