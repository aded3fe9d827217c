"""Per-step random numbers: drawn by the runtime from torch's generator, so a seed
reproduces a run and every backend consumes the same numbers (DiehlAndCookNodes'
one-spike choice, spec 3.8 and golden trace 8)."""
from __future__ import annotations

import pytest
import torch

import snnc
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import DiehlAndCookNodes, Input
from snnc.network.topology import Connection
from tests.test_backends import BACKENDS


def network(n: int = 6) -> Network:
    net = Network()
    x, y = Input(n), DiehlAndCookNodes(n, traces=True)
    net.add_layer(x, "X")
    net.add_layer(y, "Y")
    net.add_connection(Connection(x, y, w=20.0 * torch.eye(n)), "X", "Y")
    net.add_monitor(Monitor(y, ("s", "v", "refrac_count", "theta", "x")), "Y")
    return net


SPIKES = (torch.rand(30, 4, 6, generator=torch.Generator().manual_seed(1)) < 0.5).float()


def run(backend: str, seed: int) -> dict[str, torch.Tensor]:
    net = network()
    torch.manual_seed(seed)
    snnc.compile(net, backend=backend).run({"X": SPIKES}, time=30)
    return {var: net.monitors["Y"].get(var).clone() for var in ("s", "v", "refrac_count", "theta", "x")}


def test_golden_item8_one_spike_after_all_crossed():
    """All three cross threshold: all reset and refractory, theta grows for all, one spike kept."""
    net = network(3)
    spikes = torch.zeros(3, 3)
    spikes[0] = 1.0
    snnc.compile(net, backend="torch").run({"X": spikes}, time=3)
    monitor = net.monitors["Y"]
    assert monitor.get("s")[1].sum() == 1
    assert torch.equal(monitor.get("v")[1, 0], torch.full((3,), -65.0))
    assert torch.equal(monitor.get("refrac_count")[1, 0], torch.full((3,), 5.0))
    torch.testing.assert_close(monitor.get("theta")[1], torch.full((3,), 0.05), atol=1e-6, rtol=0)
    net.reset_state_variables()
    torch.testing.assert_close(net.layers["Y"].theta, torch.full((3,), 0.05), atol=1e-5, rtol=0)


def test_same_seed_same_spikes_on_every_backend():
    reference = run("torch", seed=3)
    spikes = reference["s"]
    assert (spikes.sum(-1) > 1).sum() == 0 and spikes.any()          # at most one spike per sample
    crossed = (reference["refrac_count"] == 5.0).sum(-1)
    assert (crossed > 1).any()                                        # a real choice was made
    for backend in BACKENDS[1:]:
        other = run(backend, seed=3)
        assert torch.equal(other["s"], spikes), backend
        for var in ("v", "theta", "x"):
            torch.testing.assert_close(other[var], reference[var], atol=1e-5, rtol=0, msg=var)


def test_the_seed_decides_the_choice():
    assert torch.equal(run("torch", seed=4)["s"], run("torch", seed=4)["s"])
    assert not torch.equal(run("torch", seed=4)["s"], run("torch", seed=5)["s"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_choice_is_uniform(backend):
    """Six neurons cross together in each of 4 samples x 150 draws: each is kept about
    equally often (chi-square with 5 degrees of freedom, p > 0.001)."""
    net = Network()
    x, y = Input(6), DiehlAndCookNodes(6, refrac=0, theta_plus=0.0)
    net.add_layer(x, "X")
    net.add_layer(y, "Y")
    net.add_connection(Connection(x, y, w=20.0 * torch.eye(6)), "X", "Y")
    net.add_monitor(Monitor(y, ("s",)), "Y")
    torch.manual_seed(0)
    snnc.compile(net, backend=backend).run({"X": torch.ones(151 if backend != "numba-cuda" else 41, 4, 6)},
                                           time=151 if backend != "numba-cuda" else 41)
    counts = net.monitors["Y"].get("s")[1:].float().sum(dim=(0, 1))
    expected = counts.sum() / 6
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert counts.sum() == net.monitors["Y"].get("s")[1:].shape[0] * 4
    assert chi2 < 20.5
