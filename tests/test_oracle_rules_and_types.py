"""snnc against BindsNET 0.3.4 itself: learning rules and connection types.

Spec (shared/spec/bindsnet_semantics.md): 4.1 (Connection: clamp, weight decay, norm
at the end of a run, Q42), 4.3 (Conv1d/2d/3d), 4.4 (MaxPool), 4.5 (LocalConnection),
4.6 (LocalConnection2D), 4.7 (MeanFieldConnection), 6.0-6.6 (PostPre, Hebbian,
WeightDependentPostPre, DiehlAndCook, MSTDP, MSTDPET). Both libraries build the same
network from plain data (``case``): explicit weight tensors, or, where BindsNET cannot
take one (LocalConnection2D, Q21) or draws from numpy (LocalConnection), the same
seeds before construction (the initial weights are compared too). Spikes must be
identical at every step, weights (recorded every step) and voltages agree to 1e-5.

Only what BindsNET 0.3.4 gets right is compared (docs/differences.md): convolution
and local-2-D learning with one input channel (Q32), LocalConnection at batch 1
(Q20), MeanFieldConnection without weight decay (Q22), MaxPool connections built
after their source joined the network (Q18), batch 2 only where the batch reduction
is a sum, and no Rmax (SRM0's escape noise is drawn from a different stream).

Optional: skipped unless ``bindsnet`` imports (see benchmarks/run_oracle_tests.sh).
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import snnc
import snnc.learning, snnc.network.monitors, snnc.network.nodes, snnc.network.topology  # noqa: E401


from oracle_support import import_bindsnet  # noqa: E402

bindsnet = import_bindsnet()
import bindsnet.learning, bindsnet.network.monitors  # noqa: E401, E402
import bindsnet.network.nodes, bindsnet.network.topology  # noqa: E401, E402


def _library(network, nodes, topology, monitors, learning) -> SimpleNamespace:
    return SimpleNamespace(Network=network.Network, nodes=nodes, topology=topology, Monitor=monitors.Monitor,
                           learning=learning)


SNNC = _library(snnc.network, snnc.network.nodes, snnc.network.topology, snnc.network.monitors, snnc.learning)
BINDSNET = _library(bindsnet.network, bindsnet.network.nodes, bindsnet.network.topology,
                    bindsnet.network.monitors, bindsnet.learning)
BACKENDS = ["torch", "numba"]
pytestmark = pytest.mark.oracle

TRACES = dict(traces=True)


def dyadic(g: torch.Generator, low: float, high: float, *size) -> torch.Tensor:
    """U[low, high) rounded to multiples of 1/16 (exact sums in any order)."""
    return torch.round((low + (high - low) * torch.rand(size, generator=g)) * 16) / 16


def case(layers, connections, batch=1, steps=30, runs=None, seed=0, density=0.3, dt=1.0, **run_kwargs) -> dict:
    """Plain data for a network: ``layers`` (name, node class, kwargs; Input layers get a
    ``density`` spike raster [T, B, *shape]), ``connections`` (source, target, class,
    kwargs; ``rule``/``rule_kwargs`` for the learning rule, ``seed`` to seed torch and
    numpy just before construction), consecutive ``runs`` (step counts) and ``run``
    keyword arguments."""
    g = torch.Generator().manual_seed(seed)
    runs = list(runs or [steps])
    inputs = {}
    for name, cls, kwargs in layers:
        if cls == "Input":
            shape = kwargs.get("shape") or [kwargs["n"]]
            inputs[name] = (torch.rand(sum(runs), batch, *shape, generator=g) < density).float()
    return dict(layers=layers, connections=connections, batch=batch, runs=runs, dt=dt, inputs=inputs,
                run_kwargs=run_kwargs)


def _clone(value):
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    return value.clone() if isinstance(value, torch.Tensor) else value


def build(lib, spec: dict):
    """The case's network in ``lib``: every layer first (so that the rules' batch
    reduction is fixed at the network's batch size), then every connection."""
    net = lib.Network(dt=spec["dt"], batch_size=spec["batch"])
    for name, cls, kwargs in spec["layers"]:
        net.add_layer(getattr(lib.nodes, cls)(**_clone(kwargs)), name)
    initial = {}
    for source, target, cls, kwargs in spec["connections"]:
        kwargs = _clone(kwargs)
        seed = kwargs.pop("seed", None)
        rule = kwargs.pop("rule", None)
        if rule is not None:
            kwargs["update_rule"] = getattr(lib.learning, rule)
        kwargs.update(kwargs.pop("rule_kwargs", {}))
        if seed is not None:
            torch.manual_seed(seed)
            np.random.seed(seed)
        connection = getattr(lib.topology, cls)(net.layers[source], net.layers[target], **kwargs)
        net.add_connection(connection, source, target)
        if hasattr(connection, "w"):
            initial[f"{source}->{target}.w0"] = connection.w.detach().float().clone()
            net.add_monitor(lib.Monitor(connection, ["w"]), f"{source}->{target}")
    for name, cls, _ in spec["layers"]:
        if cls != "Input":
            variables = ["s", "v"] if cls != "McCullochPitts" else ["s"]
            net.add_monitor(lib.Monitor(net.layers[name], variables), name)
    return net, initial


def simulate(lib, spec: dict, backend=None) -> dict[str, torch.Tensor]:
    """Run the case; return every recording (all runs, each step), the initial weights
    and the weights at the end of each run (after normalisation)."""
    net, results = build(lib, spec)
    program = snnc.compile(net, backend=backend) if lib is SNNC else net
    start = 0
    for i, steps in enumerate(spec["runs"]):
        inputs = {name: x[start:start + steps].clone() for name, x in spec["inputs"].items()}
        program.run(inputs, time=steps * spec["dt"], **_clone(spec["run_kwargs"]))
        start += steps
        results.update({f"{s}->{t}.w@{i}": c.w.detach().float().clone()
                        for (s, t), c in net.connections.items() if hasattr(c, "w")})
    for name, monitor in net.monitors.items():
        for var in monitor.state_vars:
            results[f"{name}.{var}"] = monitor.get(var).float().clone()
    return results


def compare(expected: dict, actual: dict, label: str) -> None:
    """Spikes exactly, weights and voltages to 1e-5 (relative 1e-5)."""
    assert expected.keys() == actual.keys(), label
    for key in expected:
        if key.endswith(".s"):
            assert torch.equal(expected[key], actual[key]), f"{label} {key}: spikes differ at " \
                f"{(expected[key] != actual[key]).nonzero()[:5].tolist()}"
        else:
            torch.testing.assert_close(actual[key], expected[key], atol=1e-5, rtol=1e-5,
                                       msg=lambda m: f"{label} {key}: {m}")


def _dense(rule=None, batch=1, rule_kwargs=None, seed=0, steps=30, runs=None, recurrent=False, w=(0.0, 6.0),
           additive=False, run_kwargs=None, **conn):
    """Input X (6) -> LIF L (5) (+ L -> L with ``recurrent``): a dense Connection with
    the given rule and connection keyword arguments."""
    g = torch.Generator().manual_seed(100 + seed)
    traces = dict(traces=True, traces_additive=additive)
    layers = [("X", "Input", dict(n=6, **traces)),
              ("L", "LIFNodes", dict(n=5, refrac=2, tc_decay=30.0, **traces))]
    rule_part = {} if rule is None else dict(rule=rule, rule_kwargs=rule_kwargs or {})
    connections = [("X", "L", "Connection", dict(w=dyadic(g, *w, 6, 5), **rule_part, **conn))]
    if recurrent:
        connections.append(("L", "L", "Connection", dict(w=dyadic(g, -3.0, 2.0, 5, 5), **rule_part, **conn)))
    return case(layers, connections, batch=batch, steps=steps, runs=runs, seed=seed, **(run_kwargs or {}))


REWARD = dict(reward=0.75, a_plus=0.8, a_minus=-0.6)
DENSE = {
    "postpre": _dense("PostPre", nu=(1e-2, 2e-2), recurrent=True),
    "postpre-b2": _dense("PostPre", batch=2, nu=(1e-2, 2e-2), recurrent=True, seed=1),
    "postpre-additive-nu-pair-b2": _dense("PostPre", batch=2, nu=(3e-2, 5e-3), additive=True, seed=2),
    "postpre-clamp-decay": _dense("PostPre", nu=(5e-2, 1e-1), wmin=0.5, wmax=5.5, weight_decay=0.02,
                                  recurrent=False, seed=3),
    "postpre-clamp-decay-b2": _dense("PostPre", batch=2, nu=(5e-2, 1e-1), wmin=0.5, wmax=5.5, weight_decay=0.01,
                                     seed=4),
    "postpre-norm": _dense("PostPre", nu=(1e-2, 2e-2), norm=12.0, runs=[20, 15, 10], seed=5),
    "postpre-norm-b2": _dense("PostPre", batch=2, nu=(1e-2, 2e-2), norm=12.0, runs=[20, 15], recurrent=True,
                              seed=6),
    "hebbian": _dense("Hebbian", nu=(5e-2, 1e-1), wmax=6.0, recurrent=True, seed=7),
    "hebbian-b2": _dense("Hebbian", batch=2, nu=(1e-1, 5e-2), wmax=6.0, seed=8),
    "weight-dependent": _dense("WeightDependentPostPre", nu=(5e-2, 1e-1), wmin=-0.5, wmax=6.5, seed=9),
    "weight-dependent-b2": _dense("WeightDependentPostPre", batch=2, nu=(5e-2, 1e-1), wmin=-0.5, wmax=6.5,
                                  weight_decay=0.01, seed=10),
    "diehl-and-cook": _dense("DiehlAndCook", nu=(1e-2, 5e-2), wmax=7.0, additive=True,
                             rule_kwargs=dict(x_tar=0.4), seed=11),
    "diehl-and-cook-mu-b2": _dense("DiehlAndCook", batch=2, nu=(0.0, 5e-2), wmax=7.0, additive=True,
                                   rule_kwargs=dict(x_tar=0.3, mu=0.6), seed=12),
    "diehl-and-cook-mu-decay": _dense("DiehlAndCook", nu=(0.0, 4e-2), wmin=0.0, wmax=6.5,
                                      rule_kwargs=dict(mu=2.0), weight_decay=0.005, seed=13),
    "mstdp": _dense("MSTDP", nu=0.05, run_kwargs=dict(reward=0.5), recurrent=True, seed=14),
    "mstdp-zero-lag": _dense("MSTDP", nu=0.05, rule_kwargs=dict(zero_lag=True, tc_plus=10.0, tc_minus=15.0),
                             run_kwargs=REWARD, seed=15),
    "mstdp-b2": _dense("MSTDP", batch=2, nu=0.05, wmin=0.0, wmax=6.0, run_kwargs=dict(reward=-0.5), seed=16),
    "mstdp-zero-lag-b2": _dense("MSTDP", batch=2, nu=(0.04, 0.0), rule_kwargs=dict(zero_lag=True),
                                run_kwargs=REWARD, weight_decay=0.01, seed=17),
    "mstdpet": _dense("MSTDPET", nu=0.2, run_kwargs=dict(reward=1.0), recurrent=True, seed=18),
    "mstdpet-zero-lag": _dense("MSTDPET", nu=0.2, rule_kwargs=dict(zero_lag=True, tc_e_trace=10.0),
                               run_kwargs=REWARD, wmin=0.0, wmax=6.0, seed=19),
    "mstdpet-b2": _dense("MSTDPET", batch=2, nu=0.2, run_kwargs=dict(reward=0.5), seed=20),
    "mstdpet-zero-lag-b2": _dense("MSTDPET", batch=2, nu=0.2, rule_kwargs=dict(zero_lag=True),
                                  run_kwargs=REWARD, seed=21),
    "no-rule-weight-decay": _dense(None, weight_decay=0.05, recurrent=True, seed=22),
    "no-rule-weight-decay-b2": _dense(None, batch=2, weight_decay=0.05, wmin=1.0, wmax=5.0, seed=23),
}


def _conv(dims, rule=None, batch=1, c_in=1, c_out=2, size=6, kernel=3, stride=1, padding=0, seed=0,
          rule_kwargs=None, run_kwargs=None, w=(0.0, 4.0), thresh=-52.0, **conn):
    """Input X [c_in, size^dims] -> LIF L [c_out, out^dims] through Conv{dims}dConnection."""
    g = torch.Generator().manual_seed(200 + seed)
    out = (size + 2 * padding - kernel) // stride + 1
    layers = [("X", "Input", dict(shape=[c_in] + [size] * dims, **TRACES)),
              ("L", "LIFNodes", dict(shape=[c_out] + [out] * dims, refrac=2, tc_decay=30.0, thresh=thresh,
                                     **TRACES))]
    rule_part = {} if rule is None else dict(rule=rule, rule_kwargs=rule_kwargs or {})
    kwargs = dict(kernel_size=kernel, stride=stride, padding=padding, w=dyadic(g, *w, c_out, c_in, *[kernel] * dims),
                  **rule_part, **conn)
    return case(layers, [("X", "L", f"Conv{dims}dConnection", kwargs)], batch=batch, seed=seed,
                **(run_kwargs or {}))


CONV = {
    "conv2d-postpre": _conv(2, "PostPre", nu=(1e-2, 2e-2)),
    "conv2d-postpre-stride-pad-b2": _conv(2, "PostPre", batch=2, stride=2, padding=1, nu=(1e-2, 2e-2),
                                          wmin=0.0, wmax=4.0, weight_decay=0.01, seed=1),
    "conv2d-postpre-2-channels": _conv(2, "PostPre", c_in=2, w=(0.0, 2.5), nu=(1e-2, 2e-2), seed=2),
    "conv2d-mstdp": _conv(2, "MSTDP", nu=0.02, run_kwargs=dict(reward=0.5), seed=3),
    "conv2d-mstdp-zero-lag-b2": _conv(2, "MSTDP", batch=2, padding=1, nu=0.02, rule_kwargs=dict(zero_lag=True),
                                      run_kwargs=REWARD, seed=4),
    "conv2d-mstdp-2-channels-b2": _conv(2, "MSTDP", batch=2, c_in=2, w=(0.0, 2.5), stride=2, nu=0.02,
                                        run_kwargs=dict(reward=1.0), seed=5),
    "conv1d": _conv(1, c_in=2, c_out=3, size=10, stride=2, padding=1, w=(-1.0, 8.0), batch=2, seed=6),
    "conv1d-postpre": _conv(1, "PostPre", size=10, w=(0.0, 8.0), nu=(1e-2, 2e-2), seed=7),
    "conv1d-postpre-b2": _conv(1, "PostPre", batch=2, size=10, w=(0.0, 8.0), nu=(1e-2, 2e-2), wmax=8.0, seed=8),
    "conv3d": _conv(3, c_in=2, c_out=2, size=4, kernel=2, padding=1, stride=2, w=(-0.5, 5.0), seed=9),
    "conv3d-postpre": _conv(3, "PostPre", size=4, kernel=2, w=(0.0, 4.0), nu=(1e-2, 2e-2), seed=10),
    "conv3d-postpre-b2": _conv(3, "PostPre", batch=2, size=4, kernel=2, w=(0.0, 4.0), nu=(1e-2, 2e-2), seed=11),
}


def _maxpool(batch=1, decay=0.3, lif_source=False, seed=0):
    """Input X [2, 6, 6] (or X -> Conv2d -> LIF C [2, 6, 6]) -> MaxPool2d (kernel 2,
    stride 2) -> McCullochPitts P [2, 3, 3] (threshold 0.5: fires with its pooled spike)."""
    g = torch.Generator().manual_seed(300 + seed)
    layers = [("X", "Input", dict(shape=[1 if lif_source else 2, 6, 6]))]
    connections = []
    source = "X"
    if lif_source:
        layers.append(("C", "LIFNodes", dict(shape=[2, 6, 6], refrac=1, tc_decay=20.0)))
        connections.append(("X", "C", "Conv2dConnection",
                            dict(kernel_size=3, padding=1, w=dyadic(g, 0.0, 6.0, 2, 1, 3, 3))))
        source = "C"
    layers.append(("P", "McCullochPitts", dict(shape=[2, 3, 3], thresh=0.5)))
    connections.append((source, "P", "MaxPool2dConnection", dict(kernel_size=2, stride=2, decay=decay)))
    return case(layers, connections, batch=batch, seed=seed, density=0.4)


def _local(batch=1, rule=None, kernel=3, stride=1, n_filters=2, seed=0, thresh=-52.0, **conn):
    """Input X (36 = 6 x 6) -> LIF L through LocalConnection (numpy-seeded weights)."""
    conv = (6 - kernel) // stride + 1
    layers = [("X", "Input", dict(n=36, **TRACES)),
              ("L", "LIFNodes", dict(n=n_filters * conv * conv, refrac=2, tc_decay=30.0, thresh=thresh, **TRACES))]
    rule_part = {} if rule is None else dict(rule=rule)
    kwargs = dict(kernel_size=kernel, stride=stride, n_filters=n_filters, seed=400 + seed, **rule_part, **conn)
    return case(layers, [("X", "L", "LocalConnection", kwargs)], batch=batch, seed=seed)


def _local2d(rule=None, batch=1, kernel=3, stride=1, n_filters=2, seed=0, **conn):
    """Input X [1, 6, 6] -> LIF L [n_filters, conv, conv] through LocalConnection2D
    (torch-seeded weights U[0, 1): a low threshold)."""
    conv = (6 - kernel) // stride + 1
    layers = [("X", "Input", dict(shape=[1, 6, 6], **TRACES)),
              ("L", "LIFNodes", dict(shape=[n_filters, conv, conv], refrac=2, tc_decay=30.0, thresh=-63.0,
                                     **TRACES))]
    rule_part = {} if rule is None else dict(rule=rule)
    kwargs = dict(kernel_size=kernel, stride=stride, n_filters=n_filters, seed=500 + seed, **rule_part, **conn)
    return case(layers, [("X", "L", "LocalConnection2D", kwargs)], batch=batch, seed=seed)


def _mean_field(batch=1, seed=0):
    """Input X (6) -> LIF L (4) through a MeanFieldConnection with a per-target ``w``
    (and a dense L -> L connection)."""
    g = torch.Generator().manual_seed(600 + seed)
    layers = [("X", "Input", dict(n=6)), ("L", "LIFNodes", dict(n=4, refrac=1, tc_decay=20.0))]
    connections = [("X", "L", "MeanFieldConnection", dict(w=torch.tensor([10.0, 20.0, 30.0, 45.0]))),
                   ("L", "L", "Connection", dict(w=dyadic(g, -4.0, 2.0, 4, 4)))]
    return case(layers, connections, batch=batch, seed=seed)


TYPES = {
    "maxpool2d": _maxpool(),
    "maxpool2d-b2": _maxpool(batch=2, decay=0.5, seed=1),
    "maxpool2d-lif-source": _maxpool(lif_source=True, decay=0.2, seed=2),
    "maxpool2d-decay-1-b2": _maxpool(batch=2, decay=1.0, lif_source=True, seed=3),
    "local": _local(wmin=0.0, wmax=6.0),
    "local-postpre": _local(rule="PostPre", nu=(1e-2, 2e-2), wmin=0.0, wmax=6.0, seed=1),
    "local-postpre-stride-norm": _local(rule="PostPre", kernel=2, stride=2, nu=(1e-2, 2e-2), thresh=-60.0, norm=1.5,
                                        seed=2),
    "local-mstdp": _local(rule="MSTDP", nu=0.05, wmin=0.0, wmax=6.0, seed=3),
    "local2d": _local2d(batch=2),
    "local2d-postpre": _local2d("PostPre", nu=(1e-2, 2e-2), seed=1),
    "local2d-postpre-stride-clamp": _local2d("PostPre", kernel=2, stride=2, nu=(5e-2, 1e-1), wmin=0.1, wmax=0.9,
                                             seed=2),
    "mean-field": _mean_field(),
    "mean-field-b2": _mean_field(batch=2, seed=1),
}
TYPES["local-mstdp"]["run_kwargs"] = dict(reward=0.5)


def _check(spec: dict, expected: dict, name: str) -> None:
    """The case exercises something: the target layers spike (not always), learning
    moves the weights, a dense ``norm`` holds after every run."""
    for key, value in expected.items():
        if key.endswith(".s"):
            assert 0.0 < value.float().mean() < 0.9, f"{name}: {key} spike rate {value.float().mean()}"
    learning = any("rule" in kwargs or kwargs.get("weight_decay") for *_, kwargs in spec["connections"])
    if learning:
        assert any(not torch.equal(expected[key], expected[key.replace(".w0", f".w@{len(spec['runs']) - 1}")])
                   for key in expected if key.endswith(".w0")), f"{name}: the weights never changed"
    for source, target, cls, kwargs in spec["connections"]:
        if cls == "Connection" and kwargs.get("norm") is not None:
            for i in range(len(spec["runs"])):
                sums = expected[f"{source}->{target}.w@{i}"].abs().sum(0)
                torch.testing.assert_close(sums, torch.full_like(sums, kwargs["norm"]))


# numba compiles every network for a few seconds: it runs a subset (one or two cases per
# rule and type; the torch backend runs every case). Cases that differ only in values
# (batch size, parameters) share the generated code.
NUMBA = {
    "postpre", "postpre-b2", "postpre-clamp-decay", "postpre-clamp-decay-b2", "postpre-norm-b2", "hebbian-b2",
    "weight-dependent-b2", "diehl-and-cook", "diehl-and-cook-mu-b2", "mstdp-zero-lag", "mstdp-b2",
    "mstdpet-zero-lag-b2", "no-rule-weight-decay-b2",
    "conv1d", "conv1d-postpre", "conv3d", "conv3d-postpre", "conv3d-postpre-b2", "conv2d-postpre",
    "conv2d-mstdp-zero-lag-b2", "conv2d-mstdp-2-channels-b2",
    "maxpool2d-lif-source", "maxpool2d-decay-1-b2", "local-postpre", "local2d-postpre-stride-clamp",
    "mean-field", "mean-field-b2",
}


def _params(cases: dict) -> list:
    return [pytest.param(name, backend) for name in cases for backend in BACKENDS
            if backend == "torch" or name in NUMBA]


def _test(cases: dict, name: str, backend: str) -> None:
    spec = cases[name]
    expected = simulate(BINDSNET, spec)
    _check(spec, expected, name)
    compare(expected, simulate(SNNC, spec, backend=backend), f"{name}/{backend}")


@pytest.mark.parametrize("name, backend", _params(DENSE))
def test_dense_rule_matches_bindsnet(name, backend):
    """Spec 6.2-6.6 on a dense Connection: PostPre, Hebbian, WeightDependentPostPre,
    DiehlAndCook (x_tar, mu), MSTDP and MSTDPET (zero_lag, reward, a_plus / a_minus),
    per-step weight decay (also without a rule), wmin / wmax clamp, a nu pair, norm at
    the end of every run (Q42); batch 1 and 2 (the batch sum, Q30)."""
    _test(DENSE, name, backend)


@pytest.mark.parametrize("name, backend", _params(CONV))
def test_convolution_matches_bindsnet(name, backend):
    """Spec 4.3, 6.2, 6.5: Conv1d/2d/3d propagation (several channels, stride,
    padding), PostPre with one input channel (Q32; Conv2d's unfold is right for two),
    MSTDP's convolution eligibility (any channel count, batch 2, zero_lag)."""
    _test(CONV, name, backend)


@pytest.mark.parametrize("name, backend", _params(TYPES))
def test_connection_type_matches_bindsnet(name, backend):
    """Spec 4.4-4.7: MaxPool2d (decay, batch 2, an LIF source), LocalConnection at
    batch 1 (numpy-seeded weights, mask, PostPre, MSTDP, norm), LocalConnection2D
    (torch-seeded weights, one channel, PostPre, clamp), MeanFieldConnection."""
    _test(TYPES, name, backend)
