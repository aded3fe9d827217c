"""ANN-to-SNN conversion: a torch MLP trained on scikit-learn's digits for a few
seconds becomes a compiled spiking network, run in batch.

The MLP (64 → 128 → 64 → 10, ReLU) trains with Adam on the 1297 training digits; its
accuracy on the 500 test digits is the target. ``snnc.conversion.ann_to_snn`` turns
each Linear into a ``Connection`` feeding subtractive-reset IF neurons (threshold 1),
with Diehl et al.'s data-based normalisation from the training images (every layer's
weights scaled by the ratio of successive 99.9th activation percentiles). The test
images drive the input layer as constant currents; the output layer sums its input
(``sum_input``), and its arg-max after ``t`` steps is the SNN's answer, which
approaches the ANN's as ``t`` grows.

    python examples/ann_to_snn.py [--steps 10 25 50 100 200] [--batch 500] [--backend numba]

Prints the ANN's accuracy, the SNN's accuracy after each number of steps, and the
images per second of the compiled batch run.
"""
from __future__ import annotations

import argparse
import time as clock

import torch
from torch import nn

import snnc
from snnc.conversion import ann_to_snn
from snnc.datasets import Digits


def digits(train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    data = Digits(train=train)
    images = torch.stack([data[i]["image"].view(64) for i in range(len(data))])
    labels = torch.tensor([data[i]["label"] for i in range(len(data))])
    return images, labels


def train_mlp(images: torch.Tensor, labels: torch.Tensor, seconds: float, seed: int) -> tuple[nn.Module, int]:
    torch.manual_seed(seed)
    mlp = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    optimiser = torch.optim.Adam(mlp.parameters(), lr=3e-3)
    start, epochs = clock.perf_counter(), 0
    while clock.perf_counter() - start < seconds:
        for batch in torch.randperm(len(images)).split(64):
            optimiser.zero_grad()
            nn.functional.cross_entropy(mlp(images[batch]), labels[batch]).backward()
            optimiser.step()
        epochs += 1
    return mlp.eval(), epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 25, 50, 100, 200])
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--train-seconds", type=float, default=3.0)
    parser.add_argument("--backend", default="numba")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train_x, train_y = digits(True)
    test_x, test_y = digits(False)
    mlp, epochs = train_mlp(train_x, train_y, args.train_seconds, args.seed)
    with torch.no_grad():
        ann_accuracy = 100.0 * float((mlp(test_x).argmax(1) == test_y).float().mean())
    print(f"ANN: {epochs} epochs in {args.train_seconds:g} s, test accuracy {ann_accuracy:.1f}%")

    network = ann_to_snn(mlp, input_shape=(64,), data=train_x)
    output = network.layers[list(network.layers)[-1]]
    program = snnc.compile(network, backend=args.backend)
    program.run({"Input": test_x[:args.batch].unsqueeze(0)}, time=1)       # compile before timing
    for steps in sorted(args.steps):
        correct, seconds = 0, 0.0
        for first in range(0, len(test_x), args.batch):
            x, y = test_x[first:first + args.batch], test_y[first:first + args.batch]
            currents = x.unsqueeze(0).expand(steps, *x.shape)             # [T, batch, 64], constant
            network.reset_state_variables()
            start = clock.perf_counter()
            program.run({"Input": currents}, time=steps)
            seconds += clock.perf_counter() - start
            correct += int((output.summed.view(len(x), -1).argmax(1) == y).sum())
        rate = len(test_x) / seconds
        print(f"SNN after {steps:4d} steps: test accuracy {100.0 * correct / len(test_x):5.1f}%, "
              f"{rate:8.0f} images/s ({args.backend}, batch {args.batch})")


if __name__ == "__main__":
    main()
