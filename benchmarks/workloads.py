"""Benchmark workloads, built through a BindsNET-compatible API namespace.

Each builder takes ``api``, an object with ``Network``, ``Input``, ``LIFNodes``,
``AdaptiveLIFNodes``, ``IzhikevichNodes``, ``CurrentLIFNodes``, ``Connection``,
``Monitor``, ``DiehlAndCook2015`` and ``ann_to_snn`` (from snnc, or from BindsNET for comparisons), so the very same network is
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
    from snnc.models import DiehlAndCook2015
    from snnc.conversion import ann_to_snn

    return SimpleNamespace(Network=Network, Input=Input, LIFNodes=LIFNodes,
                           AdaptiveLIFNodes=AdaptiveLIFNodes, IzhikevichNodes=IzhikevichNodes,
                           CurrentLIFNodes=CurrentLIFNodes, Connection=Connection, Monitor=Monitor,
                           DiehlAndCook2015=DiehlAndCook2015, ann_to_snn=ann_to_snn)


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


# -- Diehl & Cook training (issue 9's target workload) ----------------------------------
FASHION_TEST_IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def read_idx_gz(path: str, header: int, count: int | None = None) -> torch.Tensor:
    """The uint8 payload of a gzipped IDX file after its ``header`` bytes (the first
    ``count`` bytes of it when given), read with the stdlib so that every venv can."""
    import gzip
    with gzip.open(path, "rb") as handle:
        raw = handle.read(None if count is None else header + count)
    return torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8)


def dc_images(samples: int) -> tuple[torch.Tensor, str]:
    """``samples`` 784-pixel images in [0, 1]: the first Fashion-MNIST test images when
    Debian's ``dataset-fashion-mnist`` is installed, else seeded synthetic ones, mostly
    dark like digits (``U(0, 1) ** 4``)."""
    import os
    if os.path.exists(FASHION_TEST_IMAGES):
        pixels = read_idx_gz(FASHION_TEST_IMAGES, 16, 784 * samples)
        return pixels.view(samples, 784).float() / 255.0, "fashion-mnist"
    generator = torch.Generator().manual_seed(7)
    return torch.rand(samples, 784, generator=generator) ** 4, "synthetic"


def dc_samples(samples: int, steps: int, intensity: float = 128.0,
               seed: int = 0) -> tuple[list[torch.Tensor], str]:
    """Poisson-like rasters ``[steps, 1, 1, 28, 28]`` (uint8, spike probability
    ``pixel * intensity * dt / 1000`` per step) from a seeded generator: the same in every
    system."""
    images, source = dc_images(samples)
    generator = torch.Generator().manual_seed(seed + 54321)
    rasters = [(torch.rand(steps, 1, 784, generator=generator) < image * intensity / 1000.0)
               .to(torch.uint8).view(steps, 1, 1, 28, 28) for image in images]
    return rasters, source


def dc_network(api, n_neurons: int, steps: int):
    """``DiehlAndCook2015`` (784 inputs, the issue's recipe: exc 22.5, inh 120,
    theta_plus 0.05, nu (1e-4, 1e-2), norm 78.4) learning with PostPre, with the monitors
    of BindsNET's own example: every layer's spikes, both neuron layers' voltages."""
    network = api.DiehlAndCook2015(n_inpt=784, n_neurons=n_neurons, exc=22.5, inh=120.0, dt=1.0,
                                   nu=(1e-4, 1e-2), norm=78.4, theta_plus=0.05, inpt_shape=(1, 28, 28))
    for name in ("X", "Ae", "Ai"):
        network.add_monitor(api.Monitor(network.layers[name], ["s"], time=steps), name=f"{name}_spikes")
    for name in ("Ae", "Ai"):
        network.add_monitor(api.Monitor(network.layers[name], ["v"], time=steps), name=f"{name}_voltages")
    return network


# -- ANN-to-SNN conversion inference ------------------------------------------------------
def conversion_mlp():
    """The MLP (64 -> 128 -> 64 -> 10, ReLU) of examples/ann_to_snn.py, untrained."""
    from torch import nn
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def conversion_data(path) -> None:
    """Train the MLP for 300 Adam steps on scikit-learn's digits (seeded) and save its
    weights with the train / test images and labels to ``path`` (run by the parent, which
    has scikit-learn; every runner then loads the same file)."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = torch.tensor(digits.data, dtype=torch.float32) / 16.0
    labels = torch.tensor(digits.target, dtype=torch.long)
    train_x, train_y, test_x, test_y = images[:1297], labels[:1297], images[1297:], labels[1297:]
    torch.manual_seed(0)
    mlp = conversion_mlp()
    optimiser = torch.optim.Adam(mlp.parameters(), lr=3e-3)
    for step in range(300):
        batch = torch.randint(0, len(train_x), (64,))
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(mlp(train_x[batch]), train_y[batch]).backward()
        optimiser.step()
    torch.save({"state": mlp.state_dict(), "train_x": train_x, "test_x": test_x, "test_y": test_y}, path)
