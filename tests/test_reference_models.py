"""Differential tests: AdaptiveLIF / DiehlAndCook nodes, Conv2dConnection and PostPre,
compiled by snnc for every backend, against the plain simulator in ``reference_models``.

Weights are multiples of 1/4 where no learning changes them, so synaptic sums are exact
whatever their order and spikes can be compared exactly; voltages, thresholds and
weights are compared to 1e-4. The ``test_reference_*`` tests check the simulator itself
(spec 16 golden traces 5 and 9, torch's conv2d / unfold) and that every network the
backend tests use spikes and learns.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import snnc
from reference_models import (ADAPTIVE, NEURON_DEFAULTS, ConnectionSpec, Geometry, LayerSpec,
                              NetworkSpec, conv_forward, conv_pairs, initial_weights, quarters,
                              raster, reference_run)
from snnc.learning import PostPre
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import AdaptiveLIFNodes, DiehlAndCookNodes, Input, LIFNodes
from snnc.network.topology import Connection, Conv2dConnection

BACKENDS = ["torch", "numba", "numba-cuda"]
ATOL = 1e-4


# -- the networks ---------------------------------------------------------------------

def adaptive_spec(kind: str, learning: bool, steps: int) -> NetworkSpec:
    """Input -> adaptive layer (2x3) with external current and recurrent inhibition."""
    gen = torch.Generator().manual_seed(3)
    spec = NetworkSpec(dt=0.5, batch=2, learning=learning)
    params = dict(theta_plus=1.5, tc_theta_decay=40.0, refrac=2.0, tc_decay=30.0, lbound=-70.0,
                  thresh=torch.tensor([-52.0, -54.0, -50.0]), traces_additive=True, tc_trace=8.0)
    spec.layers = [LayerSpec("X", "input", (6,)),
                   LayerSpec("A", kind, (2, 3), traces=True, params=params,
                             theta0=torch.tensor([[0.0, 0.5, 1.0], [2.0, 0.0, 0.25]]))]
    spec.connections = [ConnectionSpec("X", "A", quarters(gen, (6, 6), 0.0, 6.0)),
                        ConnectionSpec("A", "A", quarters(gen, (6, 6), -2.0, 0.0),
                                       b=quarters(gen, (6,), 0.0, 0.5))]
    spec.inputs = {"X": raster(gen, steps, 2, (6,), 0.4),
                   "A": quarters(gen, (steps, 2, 2, 3), 0.0, 1.5)}
    return spec


GEOMETRIES = {"plain": Geometry((3, 3)),
              "stride2_pad1": Geometry((3, 3), (2, 2), (1, 1)),
              "mixed_dilated": Geometry((3, 2), (1, 2), (1, 0), (2, 1))}


def out_size(size, g: Geometry) -> tuple[int, int]:
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, s, p, d in zip(size, g.kernel, g.stride, g.padding, g.dilation))


def conv_spec(geometry: str, steps: int, rule: str | None = None) -> NetworkSpec:
    """Input (2x7x7) -conv-> LIF (3 channels); with a rule both layers keep traces."""
    gen = torch.Generator().manual_seed(5)
    g = GEOMETRIES[geometry]
    spec = NetworkSpec(dt=1.0, batch=2)
    target_shape = (3, *out_size((7, 7), g))
    spec.layers = [LayerSpec("X", "input", (2, 7, 7), traces=rule is not None),
                   LayerSpec("Y", "lif", target_shape, traces=rule is not None,
                             params=dict(refrac=2.0, tc_decay=20.0))]
    c = ConnectionSpec("X", "Y", quarters(gen, (3, 2, *g.kernel), -1.0, 4.0), conv=g,
                       b=quarters(gen, (3,), -0.5, 1.0))
    if rule is None:
        c.weight_decay, c.norm = (0.01, 3.0) if geometry == "stride2_pad1" else (0.0, None)
    else:
        c.rule, c.nu, c.wmin, c.wmax, c.norm = rule, (0.02, 0.05), -1.0, 3.0, 4.0
    spec.connections = [c]
    spec.inputs = {"X": raster(gen, steps, 2, (2, 7, 7), 0.4)}
    return spec


def dense_post_pre_spec(reduction: str, steps: int) -> NetworkSpec:
    """Input -> LIF -> AdaptiveLIF, both connections learning with PostPre, batch 3."""
    gen = torch.Generator().manual_seed(7)
    spec = NetworkSpec(dt=1.0, batch=3)
    spec.layers = [LayerSpec("X", "input", (5,), traces=True),
                   LayerSpec("Y", "lif", (4,), traces=True, params=dict(refrac=2.0, tc_decay=20.0)),
                   LayerSpec("Z", "adaptive_lif", (3,), traces=True, params=dict(theta_plus=0.5))]
    spec.connections = [
        ConnectionSpec("X", "Y", quarters(gen, (5, 4), 0.0, 6.0), rule="post_pre", nu=(0.05, 0.1),
                       reduction=reduction, wmin=0.0, wmax=6.0, weight_decay=0.005, norm=12.0),
        ConnectionSpec("Y", "Z", quarters(gen, (4, 3), 2.0, 8.0), rule="post_pre", nu=(0.1, 0.2),
                       reduction=reduction, wmax=7.0)]
    spec.inputs = {"X": raster(gen, steps, 3, (5,), 0.3)}
    return spec


def golden9_spec() -> NetworkSpec:
    """Spec 16.9 with the IF target written as a LIF that does not leak (decay 1.0)."""
    spec = NetworkSpec(dt=1.0, batch=1)
    spec.layers = [LayerSpec("X", "input", (1,), traces=True),
                   LayerSpec("Y", "lif", (1,), traces=True,
                             params=dict(thresh=0.5, rest=0.0, reset=0.0, refrac=0.0, tc_decay=1e30))]
    spec.connections = [ConnectionSpec("X", "Y", torch.tensor([[1.0]]), rule="post_pre", nu=(0.1, 0.2))]
    spec.inputs = {"X": torch.tensor([1.0, 0.0, 1.0, 0.0]).view(4, 1, 1)}
    return spec


# -- snnc side ------------------------------------------------------------------------

LAYER_CLASSES = {"input": Input, "lif": LIFNodes, "adaptive_lif": AdaptiveLIFNodes,
                 "diehl_and_cook": DiehlAndCookNodes}


def build_snnc(spec: NetworkSpec) -> Network:
    network = Network(dt=spec.dt, batch_size=spec.batch, learning=spec.learning)
    for l in spec.layers:
        params = {**NEURON_DEFAULTS, **l.params}
        if l.kind == "input":
            params = {k: v for k, v in params.items() if k in ("tc_trace", "trace_scale", "traces_additive")}
        elif l.kind == "lif":
            params = {k: v for k, v in params.items() if k not in ("theta_plus", "tc_theta_decay")}
        extra = {"one_spike": False} if l.kind == "diehl_and_cook" else {}
        layer = LAYER_CLASSES[l.kind](shape=list(l.shape), traces=l.traces, **params, **extra)
        network.add_layer(layer, l.name)
        if l.theta0 is not None:
            layer.theta.copy_(l.theta0)
        variables = [v for v in ("s", "v", "refrac_count", "theta", "x") if v in layer.ir_state()]
        network.add_monitor(Monitor(layer, variables), l.name)
    for c in spec.connections:
        source, target = network.layers[c.source], network.layers[c.target]
        common = dict(w=c.w.clone(), b=None if c.b is None else c.b.clone(), wmin=c.wmin, wmax=c.wmax,
                      weight_decay=c.weight_decay, norm=c.norm,
                      update_rule=PostPre if c.rule == "post_pre" else None,
                      nu=c.nu if c.rule else None, reduction=c.reduction)
        if c.conv is None:
            connection = Connection(source, target, **common)
        else:
            g = c.conv
            connection = Conv2dConnection(source, target, g.kernel, g.stride, g.padding, g.dilation, **common)
        network.add_connection(connection, c.source, c.target)
        network.add_monitor(Monitor(connection, ["w"]), f"{c.source}->{c.target}")
    return network


def steps_for(backend: str, steps: int) -> int:
    """Fewer steps in the CUDA simulator, which runs every thread in Python."""
    return min(steps, SIMULATOR_STEPS) if backend == "numba-cuda" else steps


def run_snnc(network: Network, spec: NetworkSpec, backend: str, steps: int) -> None:
    inputs = {name: tensor.clone() for name, tensor in spec.inputs.items()}
    snnc.compile(network, backend=backend).run(inputs, time=steps * spec.dt)
    for name, tensor in spec.inputs.items():
        assert torch.equal(inputs[name], tensor), f"input {name!r} was modified"


SIMULATOR_STEPS = 12


def assert_active(spec: NetworkSpec, expected: dict) -> None:
    """A comparison of silent networks proves nothing: every neuron layer must spike."""
    for l in spec.layers:
        if l.kind != "input":
            assert expected[(l.name, "s")].any(), f"layer {l.name} never spiked"
    for c in spec.connections:
        if c.rule and spec.learning:
            w = expected[((c.source, c.target), "w")]
            assert not torch.equal(w[-1], initial_weights(c)), f"{c.source}->{c.target} never learned"


def assert_matches(network: Network, spec: NetworkSpec, expected: dict, weights: dict) -> None:
    for name, monitor in network.monitors.items():
        key = tuple(name.split("->")) if "->" in name else name
        for var in monitor.state_vars:
            actual, reference = monitor.get(var), expected[(key, var)]
            where = f"{name}.{var}"
            assert actual.shape == reference.shape, (where, actual.shape, reference.shape)
            if var == "s":
                bad = (actual.float() != reference.float()).reshape(len(actual), -1).any(1)
                assert not bad.any(), f"{where}: first difference at step {int(bad.nonzero()[0])}"
            else:
                diff = (actual.float() - reference).abs().reshape(len(actual), -1).amax(1)
                assert (diff <= ATOL).all(), f"{where}: first difference at step {int((diff > ATOL).nonzero()[0])}"
    for c in spec.connections:
        w = network.connections[(c.source, c.target)].w
        assert torch.allclose(w, weights[(c.source, c.target)], atol=ATOL, rtol=0), f"final w {c.source}->{c.target}"


# -- backend tests (need the compiler to support these ops) ------------------------------

@pytest.mark.parametrize("learning", [True, False], ids=["learning", "frozen"])
@pytest.mark.parametrize("kind", ADAPTIVE)
@pytest.mark.parametrize("backend", BACKENDS)
def test_adaptive_nodes_match_reference(backend, kind, learning):
    steps = steps_for(backend, 60)
    spec = adaptive_spec(kind, learning, steps)
    expected, weights, thetas = reference_run(spec, steps)
    assert_active(spec, expected)
    network = build_snnc(spec)
    run_snnc(network, spec, backend, steps)
    assert_matches(network, spec, expected, weights)
    # theta is learned state: a reset keeps it, and the next run starts from it.
    network.reset_state_variables()
    expected, weights, _ = reference_run(spec, steps, weights, thetas)
    run_snnc(network, spec, backend, steps)
    assert_matches(network, spec, expected, weights)


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_conv2d_propagation_matches_reference(backend, geometry):
    steps = steps_for(backend, 30)
    spec = conv_spec(geometry, steps)
    expected, weights, _ = reference_run(spec, steps)
    assert_active(spec, expected)
    network = build_snnc(spec)
    run_snnc(network, spec, backend, steps)
    assert_matches(network, spec, expected, weights)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_post_pre_dense_matches_reference(backend, reduction):
    steps = steps_for(backend, 50)
    spec = dense_post_pre_spec(reduction, steps)
    expected, weights, _ = reference_run(spec, steps)
    assert_active(spec, expected)
    network = build_snnc(spec)
    run_snnc(network, spec, backend, steps)
    assert_matches(network, spec, expected, weights)


@pytest.mark.parametrize("geometry", ["plain", "stride2_pad1"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_post_pre_conv2d_matches_reference(backend, geometry):
    steps = steps_for(backend, 30)
    spec = conv_spec(geometry, steps, rule="post_pre")
    expected, weights, _ = reference_run(spec, steps)
    assert_active(spec, expected)
    network = build_snnc(spec)
    run_snnc(network, spec, backend, steps)
    assert_matches(network, spec, expected, weights)


@pytest.mark.parametrize("backend", BACKENDS)
def test_post_pre_golden_item9(backend):
    spec = golden9_spec()
    network = build_snnc(spec)
    run_snnc(network, spec, backend, 4)
    w = network.monitors["X->Y"].get("w").flatten()
    assert torch.allclose(w, torch.tensor([1.0, 1.1902, 1.0951, 1.2854]), atol=ATOL, rtol=0), w.tolist()


# -- the reference itself (pass without any compiler support) ----------------------------

def test_reference_golden_item5_adaptive_lif():
    spec = NetworkSpec(dt=1.0, batch=1)
    spec.layers = [LayerSpec("N", "adaptive_lif", (1,))]
    spec.inputs = {"N": torch.full((10, 1, 1), 5.0)}
    recordings, _, _ = reference_run(spec, 10)
    assert recordings[("N", "s")].flatten().int().tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    v = [-60, -55.0498] + [-65] * 6 + [-60, -55.0498]
    assert torch.allclose(recordings[("N", "v")].flatten(), torch.tensor(v), atol=ATOL, rtol=0)
    decay = torch.exp(torch.tensor(-1e-7))
    theta = [0.0, 0.0] + [float(0.05 * decay ** k) for k in range(8)]
    assert torch.allclose(recordings[("N", "theta")].flatten(), torch.tensor(theta), atol=1e-7, rtol=0)


def test_reference_golden_item9_post_pre():
    recordings, weights, _ = reference_run(golden9_spec(), 4)
    assert recordings[("Y", "s")].flatten().int().tolist() == [0, 1, 0, 1]
    w = recordings[(("X", "Y"), "w")].flatten()
    assert torch.allclose(w, torch.tensor([1.0, 1.1902, 1.0951, 1.2854]), atol=ATOL, rtol=0), w.tolist()


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_reference_conv_agrees_with_torch(geometry):
    """Cross-check of the explicit reference (propagation and PostPre pairing) with torch."""
    g = GEOMETRIES[geometry]
    gen = torch.Generator().manual_seed(11)
    pre = torch.rand(3, 2, 7, 7, generator=gen)
    w, b = torch.randn(4, 2, *g.kernel, generator=gen), torch.randn(4, generator=gen)
    expected = F.conv2d(pre, w, b, g.stride, g.padding, g.dilation)
    out_hw = out_size((7, 7), g)
    assert expected.shape[2:] == out_hw
    assert torch.allclose(conv_forward(pre, w, b, g, out_hw), expected, atol=1e-5)
    post = torch.rand(3, 4, *out_hw, generator=gen)
    columns = F.unfold(pre, g.kernel, g.dilation, g.padding, g.stride)    # [B, C_in·kh·kw, L]
    pairs = torch.bmm(post.reshape(3, 4, -1), columns.transpose(1, 2)).reshape(3, 4, 2, *g.kernel)
    assert torch.allclose(conv_pairs(pre, post, g, g.kernel), pairs, atol=1e-5)


@pytest.mark.parametrize("case", ["adaptive", "diehl_and_cook", "conv", "conv_post_pre", "dense_post_pre"])
def test_reference_networks_are_active(case):
    """Each backend test's network spikes and learns (else its comparison would be vacuous)."""
    build, steps = {"adaptive": (lambda: adaptive_spec("adaptive_lif", True, 60), 60),
                    "diehl_and_cook": (lambda: adaptive_spec("diehl_and_cook", False, 60), 60),
                    "conv": (lambda: conv_spec("mixed_dilated", 30), 30),
                    "conv_post_pre": (lambda: conv_spec("stride2_pad1", 30, rule="post_pre"), 30),
                    "dense_post_pre": (lambda: dense_post_pre_spec("mean", 50), 50)}[case]
    spec = build()
    expected, _, thetas = reference_run(spec, steps)
    assert_active(spec, expected)
    for layer in spec.layers:
        if layer.kind != "input":
            assert not expected[(layer.name, "s")].all(), f"{layer.name} spikes every step"
    if case == "adaptive":
        assert not torch.equal(thetas["A"], spec.layers[1].theta0)
