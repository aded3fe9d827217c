"""The cost of learning: the Diehl & Cook (2015) network (784 inputs -> 100 excitatory
-> 100 inhibitory, spec 10), one sample at a time (batch 1), with PostPre learning on
against the same network with learning off, on one backend.

    python benchmarks/bench_learning.py [--backend numba] [--samples 20] [--time 250]
                                        [--fuse-learning both|on|off]

Prints milliseconds per sample for both and their ratio (issue 8's target: at most 2).
``--fuse-learning both`` also times learning with the rule's terms run inside the
excitatory layer's update loop (the ``fuse_learning`` pass) and without.
The network uses dense Connections (the MulticompartmentConnection form of the model
gives the same numbers; spec 4.8). Inputs are Poisson spikes at the rates of random
"images" with MNIST-like intensity (most pixels dark).
"""
from __future__ import annotations

import argparse
import time as clock

import torch

import snnc
from snnc.learning import PostPre
from snnc.network import Network
from snnc.network.nodes import DiehlAndCookNodes, Input, LIFNodes
from snnc.network.topology import Connection


def diehl_and_cook(n_input: int = 784, n_neurons: int = 100, exc: float = 22.5, inh: float = 17.5) -> Network:
    torch.manual_seed(0)
    network = Network(dt=1.0)
    X = Input(n_input, traces=True, tc_trace=20.0)
    Ae = DiehlAndCookNodes(n_neurons, traces=True, rest=-65.0, reset=-60.0, thresh=-52.0, refrac=5,
                           tc_decay=100.0, tc_trace=20.0, theta_plus=0.05, tc_theta_decay=1e7)
    Ai = LIFNodes(n_neurons, rest=-60.0, reset=-45.0, thresh=-40.0, tc_decay=10.0, refrac=2, tc_trace=20.0)
    for name, layer in (("X", X), ("Ae", Ae), ("Ai", Ai)):
        network.add_layer(layer, name)
    network.add_connection(Connection(X, Ae, w=0.3 * torch.rand(n_input, n_neurons), update_rule=PostPre,
                                      nu=(1e-4, 1e-2), wmin=0.0, wmax=1.0, norm=78.4), "X", "Ae")
    network.add_connection(Connection(Ae, Ai, w=exc * torch.eye(n_neurons), wmin=0.0, wmax=exc), "Ae", "Ai")
    network.add_connection(Connection(Ai, Ae, w=-inh * (1 - torch.eye(n_neurons)), wmin=-inh, wmax=0.0),
                           "Ai", "Ae")
    return network


def poisson_samples(samples: int, steps: int, n_input: int = 784, intensity: float = 128.0) -> list:
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(samples, n_input, generator=generator) ** 4        # mostly dark, like digits
    rates = images * intensity / 1000.0                                     # spikes per step (dt = 1 ms)
    return [(torch.rand(steps, n_input, generator=generator) < rate).to(torch.bool) for rate in rates]


def seconds_per_sample(backend: str, learning: bool, samples: list, steps: int,
                       fuse_learning: bool | None = None) -> float:
    network = diehl_and_cook()
    network.train(learning)
    program = snnc.compile(network, backend=backend, fuse_learning=fuse_learning)
    program.run(inputs={"X": samples[0]}, time=steps)                        # compile and warm up
    start = clock.perf_counter()
    for spikes in samples:
        program.run(inputs={"X": spikes}, time=steps)
        network.reset_state_variables()
    return (clock.perf_counter() - start) / len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="numba")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--time", type=int, default=250)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fuse-learning", choices=("default", "both", "on", "off"), default="default")
    args = parser.parse_args()
    samples = poisson_samples(args.samples, args.time)
    fuse = {"default": [None], "both": [False, True], "on": [True], "off": [False]}[args.fuse_learning]
    off = min(seconds_per_sample(args.backend, False, samples, args.time) for _ in range(args.repeats))
    print(f"Diehl & Cook 784-100-100, batch 1, {args.time} steps, backend {args.backend}")
    print(f"learning off: {off * 1e3:8.3f} ms/sample")
    for choice in fuse:
        on = min(seconds_per_sample(args.backend, True, samples, args.time, choice) for _ in range(args.repeats))
        what = {None: "", False: " (terms in the learn phase)", True: " (terms in the update loop)"}[choice]
        print(f"learning on{what}: {on * 1e3:8.3f} ms/sample, ratio on/off {on / off:6.2f}")


if __name__ == "__main__":
    main()
