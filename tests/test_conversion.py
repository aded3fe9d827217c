"""ANN-to-SNN conversion (spec 13 "Conversion", Q18, Q26): ``snnc.conversion.ann_to_snn``,
``data_based_normalization`` and ``FeatureExtractor``.

Structure against the ANN's modules, the caller's model left untouched, the
normalisation on hand-computed percentiles, clear errors, the converted networks
running compiled, and a trained digits MLP keeping its accuracy as a spiking network.
"""
from __future__ import annotations

import contextlib
import copy

import numpy as np
import pytest
import torch
from torch import nn

import snnc
from snnc.conversion import (FeatureExtractor, PassThroughNodes, Permute, SubtractiveResetIFNodes,
                             ann_to_snn, data_based_normalization)
from snnc.errors import SnncError
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection, Conv2dConnection, MaxPool2dConnection

pytestmark = pytest.mark.filterwarnings("ignore:ann_to_snn. no data:RuntimeWarning")


def mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3))


def cnn(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(18, 3))


class Named(nn.Module):
    """The MLP as a custom module with named children."""

    def __init__(self, source: nn.Sequential) -> None:
        super().__init__()
        self.fc1, self.relu1, self.fc2, self.relu2, self.fc3 = (copy.deepcopy(m) for m in source)

    def forward(self, x):
        return self.fc3(self.relu2(self.fc2(self.relu1(self.fc1(x)))))


@contextlib.contextmanager
def one_thread():
    """Tiny torch work is fastest on one thread (and is slowed many times on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def snapshot(model: nn.Module) -> dict:
    return {"state": {k: v.clone() for k, v in model.state_dict().items()},
            "grad": [p.requires_grad for p in model.parameters()],
            "training": [m.training for m in model.modules()]}


def assert_unchanged(model: nn.Module, before: dict) -> None:
    after = snapshot(model)
    assert after["grad"] == before["grad"] and after["training"] == before["training"]
    for key, value in before["state"].items():
        assert torch.equal(after["state"][key], value), key


# -- structure -----------------------------------------------------------------------
def test_mlp_structure():
    ann = mlp()
    with pytest.warns(RuntimeWarning, match="not normalised"):
        net = ann_to_snn(ann, (8,))
    assert list(net.layers) == ["Input", "1", "3", "5"]
    assert list(net.connections) == [("Input", "1"), ("1", "3"), ("3", "5")]
    assert isinstance(net.layers["Input"], Input) and tuple(net.layers["Input"].shape) == (8,)
    for name, size, last in (("1", 6, False), ("3", 4, False), ("5", 3, True)):
        layer = net.layers[name]
        assert type(layer) is SubtractiveResetIFNodes and layer.n == size and layer.sum_input is last
        assert (float(layer.thresh), float(layer.reset), float(layer.refrac)) == (1.0, 0.0, 0.0)
    for (source, target), module in zip(net.connections, ann[::2]):
        connection = net.connections[(source, target)]
        assert type(connection) is Connection and connection.source is net.layers[source]
        assert torch.equal(connection.w, module.weight.t()) and torch.equal(connection.b, module.bias)


def test_cnn_structure():
    ann = cnn()
    net = ann_to_snn(ann, (1, 8, 8))
    shapes = {name: (type(layer), tuple(layer.shape)) for name, layer in net.layers.items()}
    assert shapes == {"Input": (Input, (1, 8, 8)), "1": (SubtractiveResetIFNodes, (2, 6, 6)),
                      "3": (PassThroughNodes, (2, 3, 3)), "5": (SubtractiveResetIFNodes, (3,))}
    assert [layer.sum_input for layer in net.layers.values()] == [False, False, False, True]
    conv, pool, dense = net.connections.values()
    assert [type(c) for c in (conv, pool, dense)] == [Conv2dConnection, MaxPool2dConnection, Connection]
    assert (conv.kernel_size, conv.stride, conv.padding, conv.dilation) == ((3, 3), (1, 1), (0, 0), (1, 1))
    assert torch.equal(conv.w, ann[0].weight) and torch.equal(conv.b, ann[0].bias)
    assert (pool.kernel_size, pool.stride, pool.decay) == ((2, 2), (2, 2), 1.0)
    assert torch.equal(dense.w, ann[4].weight.t()) and torch.equal(dense.b, ann[4].bias)


def test_geometry_nesting_and_options():
    """Strided / padded / dilated convolutions take torch's output shapes; Sequentials
    nested at any depth are flattened; no bias gives zeros; kwargs reach node_type."""
    torch.manual_seed(1)
    ann = nn.Sequential(nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1, dilation=2, bias=False),
                                      nn.Sequential(nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1))),
                        nn.Dropout(), nn.Flatten(), nn.Linear(12, 2, bias=False))
    net = ann_to_snn(ann, [2, 9, 9], node_type=LIFNodes, tc_decay=50.0)
    assert {k: tuple(v.shape) for k, v in net.layers.items()} == {"Input": (2, 9, 9), "1": (3, 4, 4),
                                                                  "3": (3, 2, 2), "6": (2,)}
    assert type(net.layers["1"]) is LIFNodes and float(net.layers["6"].tc_decay) == 50.0
    assert torch.equal(net.connections[("Input", "1")].b, torch.zeros(3))
    assert torch.equal(net.connections[("3", "6")].b, torch.zeros(2))
    assert net.connections[("1", "3")].padding == (1, 1)
    # a bare Linear is a one-layer network; an ANN ending in ReLU still sums its output
    assert list(ann_to_snn(nn.Linear(3, 2), (3,)).layers) == ["Input", "1"]
    assert ann_to_snn(nn.Sequential(nn.Linear(3, 2), nn.ReLU()), (3,)).layers["1"].sum_input


def test_path_and_feature_extractor(tmp_path):
    ann = mlp()
    path = tmp_path / "mlp.pt"
    torch.save(ann, path)
    net = ann_to_snn(str(path), (8,))
    assert torch.equal(net.connections[("3", "5")].w, ann[4].weight.t())
    x = torch.rand(5, 8)
    features = FeatureExtractor(ann)(x)
    assert list(features) == ["input", "0", "1", "2", "3", "4"]
    assert torch.allclose(features["4"], ann(x)) and torch.equal(features["1"], torch.relu(ann[0](x)))
    assert Permute((0, 2, 1))(torch.zeros(2, 3, 4)).shape == (2, 4, 3)


def test_caller_model_unchanged():
    for ann, shape in ((mlp(), (8,)), (Named(mlp()), (8,)), (cnn(), (1, 8, 8))):
        ann.train()
        data = torch.rand(20, *shape)
        before = snapshot(ann)
        normalised = data_based_normalization(ann, data)
        ann_to_snn(ann, shape, data=data)
        assert normalised is not ann and normalised.training
        assert_unchanged(ann, before)


# -- normalisation ---------------------------------------------------------------------
def hand_network() -> nn.Sequential:
    ann = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        ann[0].weight.copy_(torch.tensor([[1.0], [2.0]]))
        ann[0].bias.copy_(torch.tensor([1.0, 0.0]))
        ann[2].weight.copy_(torch.tensor([[1.0, 0.5]]))
        ann[2].bias.copy_(torch.tensor([-1.0]))
    return ann


def test_normalisation_hand_computed():
    """x = 1..4: z1 = (x + 1, 2x), ReLU values {2, 2, 3, 4, 4, 5, 6, 8};
    z2 = (x + 1) + 0.5·2x - 1 = 2x in {2, 4, 6, 8}. Percentile 100: λ1 = 8, λ2 = 8;
    percentile 50 (numpy's linear interpolation): λ1 = 4, λ2 = (4 + 6) / 2 = 5."""
    data = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    for percentile, l1, l2 in ((100.0, 8.0, 8.0), (50.0, 4.0, 5.0)):
        out = data_based_normalization(hand_network(), data, percentile=percentile)
        assert torch.allclose(out[0].weight, torch.tensor([[1.0], [2.0]]) / l1)
        assert torch.allclose(out[0].bias, torch.tensor([1.0, 0.0]) / l1)
        assert torch.allclose(out[2].weight, torch.tensor([[1.0, 0.5]]) * l1 / l2)
        assert torch.allclose(out[2].bias, torch.tensor([-1.0]) / l2)
        # every layer's activation is the ANN's divided by its λ
        assert torch.allclose(out(data), hand_network()(data) / l2)


def test_normalisation_cnn_and_named_module():
    """λ_l is the percentile of max(z_l, 0) for the conv (before pooling) and the output."""
    ann, data = cnn(), torch.rand(30, 1, 8, 8)
    with torch.no_grad():
        conv = ann[0](data)
        out = ann(data)
    l1, l2 = (float(np.percentile(t.clamp_min(0).numpy(), 99.9)) for t in (conv, out))
    norm = data_based_normalization(ann, data)
    assert torch.allclose(norm[0].weight, ann[0].weight / l1) and torch.allclose(norm[0].bias, ann[0].bias / l1)
    assert torch.allclose(norm[4].weight, ann[4].weight * l1 / l2)
    assert torch.allclose(norm[4].bias, ann[4].bias / l2)
    # a custom module with named children is read like the equivalent Sequential
    flat, data = mlp(), torch.rand(30, 8)
    a, b = data_based_normalization(flat, data), data_based_normalization(Named(flat), data)
    for x, y in zip(a.parameters(), b.parameters()):
        assert torch.equal(x, y)
    assert not torch.equal(a[0].weight, flat[0].weight)


# -- errors --------------------------------------------------------------------------
@pytest.mark.parametrize("ann, shape, message", [
    (mlp(), (5,), r"module 0 \(Linear\) expects in_features=8 values per sample, but gets 5"),
    (cnn(), (2, 8, 8), r"module 0 \(Conv2d\) cannot take an activation of shape \(1, 2, 8, 8\)"),
    (nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2)), (4,),
     r"module 1 \(BatchNorm1d\) holds parameters or buffers \(weight, bias, running_mean"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), Permute((0, 1, 3, 2))), (1, 5, 5), r"module 1 \(Permute\).*Q26"),
    (nn.Sequential(nn.ConstantPad2d(1, 0.0), nn.Conv2d(1, 2, 3)), (1, 5, 5), r"module 0 \(ConstantPad2d\)"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.AvgPool2d(2)), (1, 6, 6),
     r"module 1 \(AvgPool2d\) changes the activation from \(2, 4, 4\) to \(2, 2, 2\)"),
    (nn.Sequential(nn.Conv2d(2, 2, 3, groups=2)), (2, 5, 5), r"groups=2 is not supported"),
    (nn.Sequential(nn.Linear(4, 18), nn.Conv2d(2, 2, 3)), (4,), r"module 1 \(Conv2d\)"),
    (nn.Sequential(nn.Conv2d(1, 1, 2), nn.MaxPool2d(2, ceil_mode=True)), (1, 6, 6), "ceil_mode"),
])
def test_unconvertible_anns(ann, shape, message):
    with pytest.raises(SnncError, match=message):
        ann_to_snn(ann, shape)


def test_argument_errors():
    with pytest.raises(SnncError, match="must be a torch.nn.Module"):
        ann_to_snn(42, (8,))
    with pytest.raises(SnncError, match="thresh cannot be passed"):
        ann_to_snn(mlp(), (8,), thresh=2.0)
    with pytest.raises(SnncError, match="node_type must be a Nodes class"):
        ann_to_snn(mlp(), (8,), node_type=nn.ReLU)
    with pytest.raises(SnncError, match=r"percentile must be in \[0, 100\]"):
        data_based_normalization(mlp(), torch.rand(4, 8), percentile=120)
    with pytest.raises(SnncError, match=r"layer 0 \(Linear\) is silent"):
        data_based_normalization(hand_network(), -torch.ones(3, 1))
    with pytest.raises(SnncError, match=r"module 1 \(BatchNorm1d\)"):
        data_based_normalization(nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)), torch.rand(4, 4))


# -- running ----------------------------------------------------------------------------
def rates_follow_ann(ann, shape, backends, steps=60, batch=3, seed=0):
    """A normalised network run ``steps`` with constant currents: every backend gives the
    same spikes, and the summed output input tracks the normalised ANN's output."""
    generator = torch.Generator().manual_seed(seed)
    data = torch.rand(40, *shape, generator=generator)
    net = ann_to_snn(ann, shape, data=data)
    x = data[:batch]
    inputs = {"Input": x.repeat(steps, *([1] * (x.dim())))}
    found = []
    for backend in backends:
        net.reset_state_variables()
        if backend is None:
            net.run(inputs=inputs, time=steps)
        else:
            snnc.compile(net, backend=backend).run(inputs, time=steps)
        found.append(net.layers[list(net.layers)[-1]].summed.clone())
    for other in found[1:]:
        assert torch.allclose(other, found[0], atol=1e-4)
    with torch.no_grad():
        expected = data_based_normalization(ann, data)(x)
    assert torch.allclose(found[0] / steps, expected, atol=0.1)


def test_converted_networks_run_on_torch():
    with one_thread():
        rates_follow_ann(mlp(), (8,), ["torch"])
        rates_follow_ann(cnn(), (1, 8, 8), ["torch"])


@pytest.mark.slow
@pytest.mark.parametrize("make, shape", [(mlp, (8,)), (cnn, (1, 8, 8))])
def test_converted_networks_run_on_every_backend(make, shape, monkeypatch):
    monkeypatch.delenv("SNNC_BACKEND", raising=False)
    rates_follow_ann(make(), shape, [None, "torch", "numba"])


def test_digits_accuracy():
    """A 64-32-10 MLP trained briefly on scikit-learn's digits keeps its test accuracy
    (within 3 points) as a normalised SNN run 100 steps on constant input currents,
    read out by the output layer's summed input."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16
    y = torch.tensor(digits.target)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    train, test = order[:1400], order[1400:1600]
    torch.manual_seed(0)
    ann = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    optimiser = torch.optim.Adam(ann.parameters(), lr=0.01)
    with one_thread():
        for _ in range(150):
            optimiser.zero_grad()
            nn.functional.cross_entropy(ann(x[train]), y[train]).backward()
            optimiser.step()
        with torch.no_grad():
            ann_accuracy = (ann(x[test]).argmax(1) == y[test]).float().mean().item()
        net = ann_to_snn(ann, (64,), data=x[train])
        steps = 100
        snnc.compile(net, backend="torch").run({"Input": x[test].repeat(steps, 1, 1)}, time=steps)
    output = net.layers["3"]
    snn_accuracy = (output.summed.argmax(1) == y[test]).float().mean().item()
    assert ann_accuracy > 0.9
    assert snn_accuracy >= ann_accuracy - 0.03, (snn_accuracy, ann_accuracy)
