"""snnc's ANN-to-SNN conversion against BindsNET 0.3.4's (spec 13 "Conversion", Q18, Q26).

The same ANN, converted without data by both libraries, gives the same layers (names,
classes, shapes, neuron parameters), connection classes, weights and biases, and the
same spikes over 30 steps of constant input currents on snnc's torch and numba backends.
Weights and inputs are multiples of 1/16, so every sum is exact in any order.

Deliberate differences (docs/differences.md), asserted as snnc documents them:
connections are keyed by their real layer names (BindsNET: ``(str(k), str(k + 1))``, e.g.
``("0", "1")`` although the input layer is ``"Input"``); BindsNET's
``data_based_normalization`` never scales a ``Linear`` that is a direct child of the ANN
(so a flat ``nn.Sequential`` MLP comes back unchanged) and scales the caller's model in
place; snnc normalises a copy, equal to what BindsNET computes where its normalisation
works (layers inside a nested ``nn.Sequential``).

Optional: skipped unless ``bindsnet`` imports (see benchmarks/run_oracle_tests.sh).
"""
from __future__ import annotations

import copy
import warnings

import pytest
import torch
from torch import nn

import snnc
import snnc.conversion
import snnc.network.monitors

from oracle_support import import_bindsnet  # noqa: E402

bindsnet = import_bindsnet()
import bindsnet.conversion, bindsnet.network.monitors  # noqa: E401, E402

pytestmark = [pytest.mark.oracle, pytest.mark.filterwarnings("ignore::RuntimeWarning")]
BACKENDS = ["torch", "numba"]
STEPS = 30


def dyadic(model: nn.Module, seed: int) -> nn.Module:
    """``model`` with every parameter a multiple of 1/16 in [-1, 1]."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randint(-16, 17, parameter.shape, generator=generator) / 16)
    return model


ANNS = {
    "mlp": (lambda: nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3)),
            (8,), 3),
    "cnn": (lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(18, 3)), (1, 8, 8), 1),
    "cnn_strided": (lambda: nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.ReLU(),
                                          nn.MaxPool2d(2, stride=1), nn.Flatten(), nn.Linear(27, 6),
                                          nn.ReLU(), nn.Linear(6, 2)), (2, 7, 7), 1),
}


def convert(name: str, seed: int = 0):
    """The ANN, its two conversions and a ``[STEPS, batch, *shape]`` constant input
    (BindsNET's MaxPool connection works only at the batch size it was built with, Q18)."""
    make, shape, batch = ANNS[name]
    ann = dyadic(make(), seed)
    generator = torch.Generator().manual_seed(seed + 1)
    x = torch.randint(0, 17, (batch, *shape), generator=generator) / 16
    return (ann, snnc.conversion.ann_to_snn(ann, shape), bindsnet.conversion.ann_to_snn(ann, shape),
            x.repeat(STEPS, *([1] * x.dim())))


def by_target(network) -> dict:
    return {target: connection for (_, target), connection in network.connections.items()}


@pytest.mark.parametrize("name", list(ANNS))
def test_same_structure(name):
    _, ours, theirs, _ = convert(name)
    assert list(ours.layers) == list(theirs.layers)
    for key, layer in ours.layers.items():
        other = theirs.layers[key]
        assert type(layer).__name__ == type(other).__name__, key
        assert tuple(layer.shape) == tuple(other.shape), key
        for attribute in ("thresh", "reset", "refrac"):
            if hasattr(other, attribute):
                assert float(getattr(layer, attribute)) == float(getattr(other, attribute)), (key, attribute)
        if type(other).__name__ != "PassThroughNodes":
            assert layer.sum_input == other.sum_input, key
    # BindsNET keys the connections (str(k), str(k + 1)); snnc by the layers they join
    names = list(ours.layers)
    assert list(ours.connections) == list(zip(names, names[1:]))
    assert [target for _, target in theirs.connections] == names[1:]
    ours_c, theirs_c = by_target(ours), by_target(theirs)
    for target, connection in ours_c.items():
        other = theirs_c[target]
        assert type(connection).__name__ == type(other).__name__, target
        for attribute in ("w", "b"):
            if hasattr(other, attribute):
                assert torch.equal(getattr(connection, attribute), getattr(other, attribute)), target
        for attribute in ("kernel_size", "stride", "padding", "dilation"):
            if hasattr(other, attribute):
                assert tuple(getattr(connection, attribute)) == tuple(getattr(other, attribute)), target


def spikes(network, library, inputs, backend=None) -> dict:
    monitors = library.network.monitors
    for key, layer in network.layers.items():
        network.add_monitor(monitors.Monitor(layer, ["s"], time=STEPS), key)
    program = snnc.compile(network, backend=backend) if backend else network
    program.run(inputs={"Input": inputs.clone()}, time=STEPS)
    found = {key: network.monitors[key].get("s").float() for key in network.layers}
    found["summed"] = network.layers[list(network.layers)[-1]].summed.clone()
    return found


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(ANNS))
def test_same_spikes(name, backend):
    _, ours, theirs, inputs = convert(name)
    expected = spikes(theirs, bindsnet, inputs)
    found = spikes(ours, snnc, inputs, backend)
    for key, value in expected.items():
        if key != "Input":
            assert torch.equal(found[key], value), f"{name} {backend} {key}"
    last = list(ours.layers)[-1]
    assert 0 < expected[last].sum() < expected[last].numel(), "the output layer should fire, not always"


class Nested(nn.Module):
    """BindsNET's normalisation scales only layers inside a nested ``nn.Sequential``."""

    def __init__(self, body: nn.Sequential) -> None:
        super().__init__()
        self.body = body

    def forward(self, x):
        return self.body(x)


def test_normalisation_matches_bindsnet_where_it_works():
    torch.manual_seed(3)
    flat = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3))
    data = torch.rand(64, 8)
    expected = bindsnet.conversion.data_based_normalization(Nested(copy.deepcopy(flat)), data)
    for ann in (flat, Nested(copy.deepcopy(flat))):
        ours = snnc.conversion.data_based_normalization(ann, data)
        for a, b in zip(ours.parameters(), expected.parameters()):
            assert torch.allclose(a, b, rtol=1e-5, atol=1e-7)
    # ... and the converted networks carry those weights
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = bindsnet.conversion.ann_to_snn(Nested(copy.deepcopy(flat)), (8,), data=data)
    ours = snnc.conversion.ann_to_snn(flat, (8,), data=data)
    for target, connection in by_target(ours).items():
        assert torch.allclose(connection.w, by_target(theirs)[target].w, rtol=1e-5, atol=1e-7)


def test_bindsnet_flat_normalisation_quirk():
    """BindsNET 0.3.4 returns the caller's flat MLP itself, weights unchanged (a direct
    ``Linear`` child is never remembered as the layer to scale); snnc returns a scaled copy."""
    torch.manual_seed(4)
    flat = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    before = [p.detach().clone() for p in flat.parameters()]
    data = torch.rand(32, 8)
    ours = snnc.conversion.data_based_normalization(flat, data)
    assert all(torch.equal(p, q) for p, q in zip(flat.parameters(), before))
    assert not torch.equal(ours[0].weight, before[0])
    theirs = bindsnet.conversion.data_based_normalization(flat, data)
    assert theirs is flat and all(torch.equal(p, q) for p, q in zip(flat.parameters(), before))
