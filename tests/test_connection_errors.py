"""Refusals of the learning rules and connection types added for spec 4 and 6: each
names the connection and says what was expected (docs/errors.md)."""
from __future__ import annotations

import pytest
import torch

from snnc.errors import SnncError
from snnc.learning import MSTDP, DiehlAndCook, PostPre, Rmax, WeightDependentPostPre
from snnc.network import Network
from snnc.network.nodes import Input, LIFNodes, SRM0Nodes
from snnc.network.topology import (Connection, Conv2dConnection, LocalConnection, LocalConnection2D,
                                   SparseConnection)


def test_rule_arguments():
    x, y = Input(3, traces=True), LIFNodes(2, traces=True)
    with pytest.raises(SnncError, match=r"Connection \(Input\[3\] -> LIFNodes\[2\]\).*unexpected argument.*tc_plus"):
        Connection(x, y, update_rule=PostPre, nu=0.1, tc_plus=3.0)
    with pytest.raises(SnncError, match="tc_plus must be a finite number"):
        Connection(x, y, update_rule=MSTDP, nu=0.1, tc_plus=float("nan"))
    with pytest.raises(SnncError, match="wmin must be finite"):
        Connection(x, y, update_rule=WeightDependentPostPre, nu=0.1, wmax=1.0)
    with pytest.raises(SnncError, match="wmax must be finite"):
        Connection(x, y, update_rule=DiehlAndCook, nu=0.1)
    with pytest.raises(SnncError, match="SRM0Nodes target"):
        Connection(Input(3, traces=True, traces_additive=True), y, update_rule=Rmax, nu=0.1)
    with pytest.raises(SnncError, match="traces_additive"):
        Connection(x, SRM0Nodes(2), update_rule=Rmax, nu=0.1)


def test_reward_shape_names_the_connection():
    network = Network(batch_size=2)
    network.add_layer(Input(3), "X")
    network.add_layer(LIFNodes(2), "Y")
    network.add_connection(Connection(network.layers["X"], network.layers["Y"], update_rule=MSTDP, nu=0.1),
                           "X", "Y")
    with pytest.raises(SnncError, match=r"connection \('X', 'Y'\): reward must be a number or one value per "
                                        r"sample \(shape \(2,\)\)"):
        network.run(inputs={"X": torch.ones(3, 2, 3)}, time=3, reward=torch.ones(2, 2))
    with pytest.raises(SnncError, match="reward contains NaN"):
        network.run(inputs={"X": torch.ones(3, 2, 3)}, time=3, reward=float("nan"))


def test_local_connection_geometry():
    with pytest.raises(SnncError, match=r"LocalConnection .*expected n_filters × positions = 2 × 4"):
        LocalConnection(Input(25), LIFNodes(9), kernel_size=3, stride=2, n_filters=2)
    with pytest.raises(SnncError, match="receptive fields leave the source"):
        LocalConnection(Input(24), LIFNodes(11), kernel_size=2, stride=1, n_filters=1, input_shape=(12, 2))
    with pytest.raises(SnncError, match=r"LocalConnection2D .*w has shape \(1, 4, 4\), expected \(2, 4, 4\)"):
        LocalConnection2D(Input(shape=(2, 3, 3)), LIFNodes(4), kernel_size=2, stride=1, n_filters=1,
                          w=torch.ones(1, 4, 4))


def test_sparse_connection_refusals():
    x, y = Input(4), LIFNodes(3)
    with pytest.raises(SnncError, match="sparsity is the fraction of synapses left out"):
        SparseConnection(x, y, sparsity=1.0)
    with pytest.raises(SnncError, match="wmin and wmax must be numbers"):
        SparseConnection(x, y, wmin=torch.zeros(4, 3))
    with pytest.raises(SnncError, match="per-synapse nu needs dense weights"):
        SparseConnection(Input(4, traces=True), LIFNodes(3, traces=True), update_rule=PostPre,
                         nu=(torch.ones(4, 3), torch.ones(4, 3)))
    network = Network()
    network.add_layer(x, "X")
    network.add_layer(y, "Y")
    network.add_connection(SparseConnection(x, y, sparsity=0.5), "X", "Y")
    with pytest.raises(SnncError, match=r"run\(masks\) for connection \('X', 'Y'\): the weights are sparse"):
        network.run(inputs={"X": torch.ones(2, 4)}, time=2, masks={("X", "Y"): torch.zeros(4, 3, dtype=torch.bool)})


def test_padded_conv_with_x_tar():
    source, target = Input(shape=(1, 4, 4), traces=True), LIFNodes(shape=(1, 4, 4))
    with pytest.raises(SnncError, match="padded convolution"):
        Conv2dConnection(source, target, 3, padding=1, update_rule=DiehlAndCook, nu=(0.0, 0.1), wmax=1.0,
                         x_tar=0.2)


def test_dales_rule_arguments():
    x, y = Input(3), LIFNodes(2)
    with pytest.raises(SnncError, match="Dales_rule must be a bool tensor"):
        Connection(x, y, Dales_rule=torch.ones(3, 1))
    with pytest.raises(SnncError, match=r"Dales_rule has shape \(3, 3\), expected one broadcastable"):
        Connection(x, y, Dales_rule=torch.ones(3, 3, dtype=torch.bool))
    with pytest.raises(SnncError, match="Dale's rule needs dense weights"):
        SparseConnection(x, y, Dales_rule=torch.ones(3, 1, dtype=torch.bool))
