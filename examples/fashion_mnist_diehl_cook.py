"""Unsupervised STDP (Diehl & Cook 2015) on Fashion-MNIST (28x28), compiled by snnc.

The recipe of ``digits_diehl_cook.py`` (which this script reuses) on the 60 000
training and 10 000 test images of Fashion-MNIST, read from the IDX files of
Debian's ``dataset-fashion-mnist`` package (``apt-get install dataset-fashion-mnist``;
``--root`` points elsewhere). Pixels are scaled to ``pixel / 255 · intensity`` Hz.

    python examples/fashion_mnist_diehl_cook.py [--neurons 400] [--epochs 1] [--intensity 128]
                                                [--train-images 60000] [--label-images 10000]
                                                [--test-images 10000] [--out out]

The neurons are labelled from the first ``--label-images`` training images shown again
with learning off. ``--neurons 100 --train-images 3000 --label-images 3000
--test-images 1000`` is issue 9's reference recipe.
"""
from __future__ import annotations

import argparse
import time as clock
from pathlib import Path

import torch
from torch.utils.data import Subset

from digits_diehl_cook import N_LABELS, Presenter, accuracy, record, save_plots, train
from snnc.datasets import FashionMNIST
from snnc.encoding import PoissonEncoder
from snnc.evaluation import all_activity, assign_labels, proportion_weighting
from snnc.models import DiehlAndCook2015


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=None, help="folder of the IDX files (default: the Debian package's)")
    parser.add_argument("--neurons", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-images", type=int, default=60000)
    parser.add_argument("--test-images", type=int, default=10000)
    parser.add_argument("--label-images", type=int, default=10000,
                        help="training images shown again, learning off, to label the neurons")
    parser.add_argument("--intensity", type=float, default=128.0)
    parser.add_argument("--time", type=int, default=250)
    parser.add_argument("--exc", type=float, default=22.5)
    parser.add_argument("--inh", type=float, default=120.0)
    parser.add_argument("--theta-plus", type=float, default=0.05)
    parser.add_argument("--update-interval", type=int, default=1000)
    parser.add_argument("--backend", default="numba")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out")
    parser.add_argument("--no-plots", action="store_true")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    encoder = PoissonEncoder(time=args.time, dt=1.0)
    sets = {}
    for split, count in (("train", args.train_images), ("test", args.test_images)):
        data = FashionMNIST(image_encoder=encoder, root=args.root, train=split == "train", intensity=args.intensity)
        sets[split] = Subset(data, range(min(count, len(data))))
    network = DiehlAndCook2015(n_inpt=784, n_neurons=args.neurons, exc=args.exc, inh=args.inh,
                               theta_plus=args.theta_plus, nu=(1e-4, 1e-2), norm=0.1 * 784, inpt_shape=(1, 28, 28))
    start = clock.perf_counter()
    present = Presenter(network, args.backend, args.time)
    compiled = clock.perf_counter() - start
    start = clock.perf_counter()
    curves = train(present, sets["train"], args.epochs, args.update_interval, generator)
    trained = clock.perf_counter() - start
    images = args.epochs * len(sets["train"])

    network.train(False)
    start = clock.perf_counter()
    labelling = Subset(sets["train"], range(min(args.label_images, len(sets["train"]))))
    train_spikes, train_labels = record(present, labelling, "labelling")
    assignments, proportions, _ = assign_labels(train_spikes, train_labels, N_LABELS)
    del train_spikes
    test_spikes, test_labels = record(present, sets["test"], "testing")
    evaluated = clock.perf_counter() - start
    all_acc = accuracy(all_activity(test_spikes, assignments, N_LABELS), test_labels)
    prop_acc = accuracy(proportion_weighting(test_spikes, assignments, proportions, N_LABELS), test_labels)
    print(f"Diehl & Cook on Fashion-MNIST: {args.neurons} neurons, {args.epochs} epoch(s) of {len(sets['train'])} "
          f"images, {args.time} steps each, intensity {args.intensity:g}, backend {args.backend}, seed {args.seed}")
    print(f"test accuracy ({len(sets['test'])} images): all activity {all_acc:.1f}%, "
          f"proportion weighting {prop_acc:.1f}%")
    print(f"training: {images} images in {trained:.1f} s ({images / trained:.0f} images/s, "
          f"{1e3 * trained / images:.2f} ms each); compile {compiled:.1f} s; labelling and testing "
          f"{len(labelling) + len(sets['test'])} images in {evaluated:.1f} s")
    if not args.no_plots:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for path in save_plots(network, assignments, curves, args.update_interval, out, "fashion_mnist", 28):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
