"""Benchmark workloads, built through a BindsNET-compatible API namespace.

Each builder takes ``api``, an object with ``Network``, ``Input``, ``LIFNodes``,
``AdaptiveLIFNodes``, ``IzhikevichNodes``, ``CurrentLIFNodes``, ``Connection`` and
``Monitor`` (from snnc, or from BindsNET for comparisons), so the very same network is
simulated by every system.
"""
from __future__ import annotations

from types import SimpleNamespace

import torch


def snnc_api() -> SimpleNamespace:
    from snnc.network import Network
    from snnc.network.monitors import Monitor
    from snnc.network.nodes import (AdaptiveLIFNodes, CurrentLIFNodes, Input, IzhikevichNodes,
                                    LIFNodes)
    from snnc.network.topology import Connection

    return SimpleNamespace(Network=Network, Input=Input, LIFNodes=LIFNodes,
                           AdaptiveLIFNodes=AdaptiveLIFNodes, IzhikevichNodes=IzhikevichNodes,
                           CurrentLIFNodes=CurrentLIFNodes, Connection=Connection, Monitor=Monitor)


# The guide network's variants: the output layer's ``api`` class, its keyword arguments
# (besides ``n``; none: every model at its defaults) and a factor on the input weights
# (1: the guide's w = 0.05 + 0.1 randn). The default Izhikevich network is silent (the
# input current, ~0.5 per step, is far below the model's rheobase of ~4 with threshold
# 45); "izh-w5" scales the input weights by 5 so that it fires and its intrinsic coupling
# is exercised (identical spikes in snnc and BindsNET).
GUIDE_VARIANTS: dict[str, tuple[str, dict, float]] = {
    "lif": ("LIFNodes", {}, 1.0),
    "alif": ("AdaptiveLIFNodes", {}, 1.0),
    "izh": ("IzhikevichNodes", {}, 1.0),
    "izh-w5": ("IzhikevichNodes", {}, 5.0),
    "clif": ("CurrentLIFNodes", {}, 1.0),
}


def guide_network(api, time: int = 500, n_input: int = 100, n_output: int = 1000,
                  monitors: bool = True, neuron: str = "lif"):
    """The user guide's network: Input -> LIF with dense and recurrent connections;
    ``neuron`` (a GUIDE_VARIANTS key) swaps the output layer's model. The output layer is
    built before the weights are drawn, so a model that draws its own parameters at
    construction (Izhikevich: ``r`` then the coupling ``S``) draws them first from the
    same seeded global generator in every system, then the weights are the same too."""
    network = api.Network()
    cls, kwargs, input_scale = GUIDE_VARIANTS[neuron]
    source, target = api.Input(n=n_input), getattr(api, cls)(n=n_output, **kwargs)
    network.add_layer(source, name="A")
    network.add_layer(target, name="B")
    w = 0.05 + 0.1 * torch.randn(n_input, n_output)
    if input_scale != 1.0:
        w = input_scale * w
    network.add_connection(api.Connection(source=source, target=target, w=w), "A", "B")
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
