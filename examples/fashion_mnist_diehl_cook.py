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

import torch
from torch.utils.data import Subset

from digits_diehl_cook import recipe_arguments, run_recipe
from snnc.datasets import FashionMNIST
from snnc.encoding import PoissonEncoder


def arguments() -> argparse.Namespace:
    parser = recipe_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), 1, 128.0, 1000)
    parser.add_argument("--root", default=None, help="folder of the IDX files (default: the Debian package's)")
    parser.add_argument("--train-images", type=int, default=60000)
    parser.add_argument("--test-images", type=int, default=10000)
    parser.add_argument("--label-images", type=int, default=10000,
                        help="training images shown again, learning off, to label the neurons")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    torch.manual_seed(args.seed)
    encoder = PoissonEncoder(time=args.time, dt=1.0)
    sets = {}
    for split, count in (("train", args.train_images), ("test", args.test_images)):
        data = FashionMNIST(image_encoder=encoder, root=args.root, train=split == "train", intensity=args.intensity)
        sets[split] = Subset(data, range(min(count, len(data))))
    labelling = Subset(sets["train"], range(min(args.label_images, len(sets["train"]))))
    run_recipe(args, "Fashion-MNIST", sets["train"], labelling, sets["test"], 28)


if __name__ == "__main__":
    main()
