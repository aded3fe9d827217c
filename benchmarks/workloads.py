"""Benchmark workloads, built through a BindsNET-compatible API namespace.

Each builder takes ``api``, an object with ``Network``, ``Input``, ``LIFNodes``,
``Connection`` and ``Monitor`` (from snnc, or from BindsNET for comparisons), so the
very same network is simulated by every system.
"""
from __future__ import annotations

from types import SimpleNamespace

import torch


def snnc_api() -> SimpleNamespace:
    from snnc.network import Network
    from snnc.network.monitors import Monitor
    from snnc.network.nodes import Input, LIFNodes
    from snnc.network.topology import Connection

    return SimpleNamespace(Network=Network, Input=Input, LIFNodes=LIFNodes,
                           Connection=Connection, Monitor=Monitor)


def guide_network(api, time: int = 500, n_input: int = 100, n_output: int = 1000,
                  monitors: bool = True):
    """The user guide's network: Input -> LIF with dense and recurrent connections."""
    network = api.Network()
    source, target = api.Input(n=n_input), api.LIFNodes(n=n_output)
    network.add_layer(source, name="A")
    network.add_layer(target, name="B")
    network.add_connection(api.Connection(source=source, target=target,
                                          w=0.05 + 0.1 * torch.randn(n_input, n_output)), "A", "B")
    network.add_connection(api.Connection(source=target, target=target,
                                          w=0.025 * (torch.eye(n_output) - 1)), "B", "B")
    if monitors:
        network.add_monitor(api.Monitor(source, ("s",), time=time), name="A")
        network.add_monitor(api.Monitor(target, ("s", "v"), time=time), name="B")
    return network


def guide_inputs(time: int = 500, n_input: int = 100, batch: int = 1) -> dict[str, torch.Tensor]:
    """Bernoulli(0.1) input spikes, ``[T, B, n]``."""
    return {"A": torch.bernoulli(0.1 * torch.ones(time, batch, n_input)).byte()}


def guide_loop_inputs(samples: int = 100, time: int = 25, n_input: int = 100,
                      seed: int = 0) -> list[torch.Tensor]:
    """``samples`` Bernoulli(0.1) rasters ``[time, 1, n_input]`` (uint8) for the per-sample
    loop, from their own seeded generator: the same rasters in every system, whatever the
    network's construction drew from torch's global generator."""
    generator = torch.Generator().manual_seed(seed + 12345)
    probs = 0.1 * torch.ones(samples, time, 1, n_input)
    return list(torch.bernoulli(probs, generator=generator).byte().unbind(0))
