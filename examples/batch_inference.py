"""Batch inference: the same trained network classifies the digits test set one image
at a time and in batches of 16 and 64, with identical spikes and a higher throughput.

A 100-neuron Diehl & Cook network is trained for one pass over scikit-learn's digits
(``digits_diehl_cook.py``'s loop), labelled, then switched to inference: learning off
and ``one_spike`` off on the excitatory layer (its random pick of one spike per step
would draw random numbers in a batch-dependent order). The 500 test images are encoded
once; each batch size runs them through ``program.run`` with inputs ``[time, batch, 64]``
collated by ``snnc.datasets.DataLoader``.

    python examples/batch_inference.py [--batches 1 16 64] [--backend numba]
"""
from __future__ import annotations

import argparse
import time as clock

import torch

import snnc
from digits_diehl_cook import N_LABELS, Presenter, accuracy, record, train
from snnc.datasets import DataLoader, Digits
from snnc.encoding import PoissonEncoder
from snnc.evaluation import all_activity, assign_labels
from snnc.models import DiehlAndCook2015
from snnc.network.monitors import Monitor

TIME = 250


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--backend", default="numba")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    encoder = PoissonEncoder(time=TIME, dt=1.0)
    train_set = Digits(image_encoder=encoder, train=True, intensity=256.0)
    network = DiehlAndCook2015(n_inpt=64, n_neurons=100, inh=120.0, norm=6.4, inpt_shape=(1, 8, 8))
    present = Presenter(network, args.backend, TIME)
    train(present, train_set, 1, 250, torch.Generator().manual_seed(args.seed))     # curves, seconds unused
    network.train(False)
    network.layers["Ae"].one_spike = False
    spikes, labels = record(present, train_set, "labelling")
    assignments, _, _ = assign_labels(spikes, labels, N_LABELS)

    test = list(DataLoader(Digits(image_encoder=encoder, train=False, intensity=256.0), batch_size=1))
    images = torch.cat([batch["encoded_image"] for batch in test], dim=1).view(TIME, -1, 64)     # [T, 500, 64]
    test_labels = torch.cat([batch["label"] for batch in test])
    network.monitors.pop("Ae")
    results = {}
    for size in args.batches:
        monitor = Monitor(network.layers["Ae"], ["s"], time=TIME)
        network.add_monitor(monitor, name=f"Ae batch {size}")
        program = snnc.compile(network, backend=args.backend)
        counts = []
        program.run({"X": images[:, :size]}, time=TIME)           # compile for this batch size
        network.reset_state_variables()
        start = clock.perf_counter()
        for first in range(0, images.shape[1], size):
            program.run({"X": images[:, first:first + size]}, time=TIME)
            counts.append(monitor.get("s").float().permute(1, 0, 2).clone())     # [batch, T, n]
            network.reset_state_variables()
        seconds = clock.perf_counter() - start
        network.monitors.pop(f"Ae batch {size}")
        results[size] = torch.cat(counts)
        predictions = all_activity(results[size], assignments, N_LABELS)
        print(f"batch {size:3d}: {images.shape[1] / seconds:7.0f} images/s, test accuracy "
              f"{accuracy(predictions, test_labels):.1f}%")
    first = args.batches[0]
    same = all(torch.equal(results[first], results[size]) for size in args.batches)
    print(f"identical spikes for every batch size: {same}")
    if not same:
        raise SystemExit("batched spikes differ from the per-image ones")


if __name__ == "__main__":
    main()
