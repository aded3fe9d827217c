"""snnc.models against BindsNET 0.3.4's bindsnet.models (spec section 10).

With the same torch seed both libraries must build the same network: the same layer
classes and parameters, the same connection classes, bounds, norms and initial
weights (drawn in the same order from the global RNG). Then both run the same Poisson
input with learning on, with every DiehlAndCookNodes layer's ``one_spike`` turned off
(the kept spike is drawn from different random streams, see test_oracle_models.py):
spikes must be identical and the learned weights agree to 1e-5.

Optional: skipped unless ``bindsnet`` imports (see benchmarks/run_oracle_tests.sh).
"""
from __future__ import annotations

import numpy
import pytest
import torch

import snnc
import snnc.encoding
import snnc.models
import snnc.network.monitors

from oracle_support import import_bindsnet  # noqa: E402

bindsnet = import_bindsnet()
import bindsnet.models  # noqa: E402
import bindsnet.network.monitors  # noqa: E402

pytestmark = pytest.mark.oracle

CASES = {
    "two_layer": ("TwoLayerNetwork", (49,), dict(n_neurons=9)),
    "diehl_and_cook": ("DiehlAndCook2015", (49,), dict(n_neurons=9, exc=30.0, inh=60.0)),
    "diehl_and_cook_v2": ("DiehlAndCook2015v2", (49,), dict(n_neurons=9, inh=20.0)),
    "increasing": ("IncreasingInhibitionNetwork", (49,), dict(n_neurons=10, max_inhib=-40.0)),
    "increasing_100": ("IncreasingInhibitionNetwork", (49,), dict(n_neurons=100, max_inhib=-40.0)),
    "local": ("LocallyConnectedNetwork", (49,), dict(input_shape=[7, 7], kernel_size=3, stride=2,
                                                     n_filters=2, norm=0.3)),
}
LAYER_PARAMS = ("n", "shape", "traces", "traces_additive", "rest", "reset", "thresh", "refrac", "tc_decay",
                "tc_trace", "theta_plus", "tc_theta_decay", "one_spike")


def build(library, name: str, args, kwargs, seed: int = 3):
    torch.manual_seed(seed)
    numpy.random.seed(seed)                 # a LocalConnection's initial weights (spec 4.5)
    return getattr(library.models, name)(*args, **kwargs)


def weights_of(connection) -> torch.Tensor:
    if hasattr(connection, "pipeline"):
        return connection.pipeline[0].value.detach().clone()
    return connection.w.detach().clone()


def bounds_of(connection):
    if hasattr(connection, "pipeline"):          # the feature's rule holds its clamp (min/max or range)
        feature = connection.pipeline[0]
        rule = feature.learning_rule
        if hasattr(rule, "min"):
            return [float(rule.min), float(rule.max)], feature.norm
        if type(rule).__name__ == "NoOp":
            return None, feature.norm
        return [float(v) for v in rule.range], feature.norm
    return [float(torch.as_tensor(connection.wmin)), float(torch.as_tensor(connection.wmax))], connection.norm


def value(x):
    if isinstance(x, torch.Tensor):
        return x.detach().flatten().tolist()
    return list(x) if isinstance(x, (list, tuple)) else x


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_structure_and_initial_weights(case):
    name, args, kwargs = CASES[case]
    ours, theirs = build(snnc, name, args, kwargs), build(bindsnet, name, args, kwargs)
    assert list(ours.layers) == list(theirs.layers)
    for key in ours.layers:
        mine, other = ours.layers[key], theirs.layers[key]
        assert type(mine).__name__ == type(other).__name__, key
        for param in LAYER_PARAMS:
            if hasattr(other, param):
                assert value(getattr(mine, param)) == pytest.approx(value(getattr(other, param))), (key, param)
    assert list(ours.connections) == list(theirs.connections)
    for key in ours.connections:
        mine, other = ours.connections[key], theirs.connections[key]
        assert type(mine).__name__ == type(other).__name__, key
        assert torch.equal(weights_of(mine), weights_of(other)), key
        (mine_bounds, mine_norm), (other_bounds, other_norm) = bounds_of(mine), bounds_of(other)
        assert mine_norm == other_norm, key
        if mine_bounds is not None and other_bounds is not None:
            assert mine_bounds == other_bounds, key
        if not hasattr(other, "pipeline"):         # a pipeline's rules sit on its features
            assert type(mine.update_rule).__name__ == type(other.update_rule).__name__, key


@pytest.mark.parametrize("backend", ["torch", "numba"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_run_with_learning(case, backend):
    name, args, kwargs = CASES[case]
    ours, theirs = build(snnc, name, args, kwargs), build(bindsnet, name, args, kwargs)
    for network, monitors in ((ours, snnc.network.monitors), (theirs, bindsnet.network.monitors)):
        for key, layer in network.layers.items():
            if hasattr(layer, "one_spike"):
                layer.one_spike = False
            network.add_monitor(monitors.Monitor(layer, ["s"], time=120), name=key)
    torch.manual_seed(11)
    rates = torch.rand(49) * 120.0
    spikes = snnc.encoding.poisson(rates, time=120).view(120, 1, 49)
    program = snnc.compile(ours, backend=backend)
    for _ in range(2):                               # two runs: the norm applies in between
        program.run({"X": spikes}, time=120)
        theirs.run({"X": spikes.clone()}, time=120)
        for key in ours.layers:
            assert torch.equal(ours.monitors[key].get("s").bool(), theirs.monitors[key].get("s").bool()), key
    assert any(ours.monitors[key].get("s").any() for key in ours.layers if key != "X"), "a silent network"
    for key in ours.connections:
        torch.testing.assert_close(weights_of(ours.connections[key]), weights_of(theirs.connections[key]),
                                   atol=1e-5, rtol=1e-5, msg=lambda m: f"{key}: {m}")
