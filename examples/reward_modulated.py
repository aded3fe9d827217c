"""Reward-modulated STDP (MSTDP, Florian 2007) learns which output answers which input.

Two input patterns (20 Poisson inputs, the first or the second half firing at 60 Hz)
drive two LIF outputs through weights learning with MSTDP. A trial shows one pattern
for ``--steps`` steps, one step per ``network.run`` call, so that the reward can
follow the network: after a step where the output matching the pattern spiked the
reward is +1, after the other output spiked it is −1, else 0. STDP pairings are thus
kept or undone by what they led to, and the matching output comes to fire more.

    python examples/reward_modulated.py [--trials 300] [--backend numba] [--seed 0]

Prints the share of correct answers (the matching output fired more) per block of
trials and the run calls per second.
"""
from __future__ import annotations

import argparse
import time as clock

import torch

import snnc
from snnc.learning import MSTDP
from snnc.network import Network
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection

N_INPUT, RATE = 20, 0.06


def build(seed: int) -> Network:
    torch.manual_seed(seed)
    network = Network(dt=1.0)
    network.add_layer(Input(N_INPUT, traces=True), "X")
    network.add_layer(LIFNodes(2, traces=True, thresh=-58.0, tc_decay=20.0, refrac=2), "Y")
    network.add_connection(Connection(network.layers["X"], network.layers["Y"], w=2.0 + torch.rand(N_INPUT, 2),
                                      update_rule=MSTDP, nu=0.01, wmin=0.0, wmax=6.0), "X", "Y")
    return network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--block", type=int, default=25)
    parser.add_argument("--backend", default="numba")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    network = build(args.seed)
    program = snnc.compile(network, backend=args.backend)
    y = network.layers["Y"]
    generator = torch.Generator().manual_seed(args.seed)
    correct, calls, start = [], 0, clock.perf_counter()
    for trial in range(args.trials):
        pattern = int(torch.randint(2, (1,), generator=generator))
        rates = torch.zeros(N_INPUT)
        rates[pattern * N_INPUT // 2:(pattern + 1) * N_INPUT // 2] = RATE
        counts, reward = torch.zeros(2), 0.0
        for _ in range(args.steps):
            spikes = (torch.rand(1, 1, N_INPUT, generator=generator) < rates)
            program.run({"X": spikes}, time=1, reward=reward)
            calls += 1
            fired = y.s.view(2).float()
            counts += fired
            reward = float(fired[pattern] - fired[1 - pattern])
        correct.append(bool(counts[pattern] > counts[1 - pattern]))
        network.reset_state_variables()
        if (trial + 1) % args.block == 0:
            share = 100.0 * sum(correct[-args.block:]) / args.block
            print(f"trials {trial + 2 - args.block:4d}-{trial + 1:4d}: {share:5.1f}% correct")
    seconds = clock.perf_counter() - start
    w = network.connections[("X", "Y")].w
    half = N_INPUT // 2
    print(f"weights, pattern 0 inputs -> outputs (0, 1): {w[:half].mean(0).tolist()}")
    print(f"weights, pattern 1 inputs -> outputs (0, 1): {w[half:].mean(0).tolist()}")
    print(f"{calls} run calls in {seconds:.1f} s ({calls / seconds:.0f} per second)")


if __name__ == "__main__":
    main()
