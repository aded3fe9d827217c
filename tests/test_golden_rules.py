"""Golden traces of spec section 16 for the learning rules (items 9, 10, 18, 19): one
synapse ``Input(1) -> IFNodes(1, thresh=0.5, reset=0, refrac=0)``, ``w0 = 1``, the
weight monitored after each step, on every backend. The numbers come from running
BindsNET 0.3.4 and are rounded in the spec (hence the 1e-4 tolerance)."""
from __future__ import annotations

import pytest
import torch

import snnc
from snnc.learning import MSTDP, MSTDPET, DiehlAndCook, Hebbian, PostPre, WeightDependentPostPre
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import IFNodes, Input
from snnc.network.topology import Connection

BACKENDS = ["torch", "numba", "numba-cuda"]
# the CUDA simulator is slow: items 9 and 19 run it in the slow tier
QUICK = ["torch", "numba", pytest.param("numba-cuda", marks=pytest.mark.slow)]


def weights(backend, rule, nu, pre_steps, steps, traces=True, run_kwargs=None, **kwargs) -> list[float]:
    network = Network(dt=1.0)
    source = Input(1, traces=traces)
    target = IFNodes(1, traces=traces, thresh=0.5, reset=0.0, refrac=0)
    network.add_layer(source, "X")
    network.add_layer(target, "Y")
    connection = Connection(source, target, w=torch.ones(1, 1), update_rule=rule, nu=nu, **kwargs)
    network.add_connection(connection, "X", "Y")
    network.add_monitor(Monitor(connection, ["w"]), "w")
    spikes = torch.zeros(steps, 1)
    spikes[list(pre_steps)] = 1.0
    snnc.compile(network, backend=backend).run(inputs={"X": spikes}, time=steps, **(run_kwargs or {}))
    return network.monitors["w"].get("w").flatten().tolist()


def close(actual, expected) -> bool:
    return torch.allclose(torch.tensor(actual), torch.tensor(expected), atol=1e-4, rtol=0)


@pytest.mark.parametrize("backend", QUICK)
@pytest.mark.parametrize("rule, kwargs, expected", [
    (PostPre, {}, [1.0, 1.1902, 1.0951, 1.2854]),
    (Hebbian, {}, [1.0, 1.1902, 1.2854, 1.4756]),
    (WeightDependentPostPre, {"wmin": 0.0, "wmax": 2.0}, [1.0, 1.1902, 1.0770, 1.2526]),
], ids=["PostPre", "Hebbian", "WeightDependentPostPre"])
def test_item9_trace_rules_on_one_synapse(backend, rule, kwargs, expected):
    assert close(weights(backend, rule, (0.1, 0.2), (0, 2), 4, **kwargs), expected)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("zero_lag, rule, expected", [
    (False, MSTDP, [1.0, 1.0, 1.09512, 1.09512, 1.00464, 1.18164]),
    (False, MSTDPET, [1.0, 1.0, 1.0038, 1.00746, 1.00735, 1.01433]),
    (True, MSTDP, [1.0, 1.09512, 1.09512, 1.00464, 1.18164, 1.18164]),
    (True, MSTDPET, [1.0, 1.0038, 1.00746, 1.00735, 1.01433, 1.02103]),
], ids=["MSTDP", "MSTDPET", "MSTDP-zero_lag", "MSTDPET-zero_lag"])
def test_items10_and_18_reward_modulated_rules(backend, zero_lag, rule, expected):
    actual = weights(backend, rule, 0.1, (0, 3), 6, traces=False, run_kwargs={"reward": 1.0},
                     zero_lag=zero_lag)
    assert close(actual, expected), actual


@pytest.mark.parametrize("backend", QUICK)
@pytest.mark.parametrize("kwargs, expected", [
    ({}, [1.0, 1.19025, 1.19025, 1.3443]),
    ({"x_tar": 0.4, "mu": 2.0}, [1.0, 1.11025, 1.11025, 1.19752]),
], ids=["default", "x_tar-mu"])
def test_item19_diehl_and_cook_rule(backend, kwargs, expected):
    actual = weights(backend, DiehlAndCook, (0.0, 0.2), (0, 2), 4, wmin=0.0, wmax=2.0, **kwargs)
    assert close(actual, expected), actual
