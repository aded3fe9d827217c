"""Unsupervised STDP (Diehl & Cook 2015) on Fashion-MNIST (28x28), compiled by snnc.

The recipe of ``digits_diehl_cook.py`` (which this script reuses) on the 60 000
training and 10 000 test images of Fashion-MNIST, read from the IDX files of
Debian's ``dataset-fashion-mnist`` package (``apt-get install dataset-fashion-mnist``;
``--root`` points elsewhere).

    python examples/fashion_mnist_diehl_cook.py [--neurons 1600] [--epochs 1] [--intensity 128]
                                                [--theta-plus 0.2] [--mean 0.3] [--encoding process]
                                                [--train-images 60000] [--label-images 10000]
                                                [--test-images 10000] [--out out]

The defaults reach 76.5 % (all activity) / 77.4 % (proportion weighting) on the 10 000
test images in about 15 minutes on 2 cores (docs/results.md); ``--neurons 400``
trains 4x faster and reaches 71 %.

Each image is scaled so that its mean pixel is ``--mean`` (0 keeps ``pixel / 255``),
then to ``· intensity`` Hz. Fashion-MNIST's items differ a lot in brightness (a shirt
lights half the image, a sandal a tenth): without the scaling, bright items win most
neurons and dim classes get few. ``--theta-plus 0.2`` (the recipe's 0.05 × 4) makes
the neurons' adaptive thresholds spread them over more prototypes. ``--encoding
process`` draws the spikes one Bernoulli per step (``snnc.encoding.poisson_process``),
~10x faster than BindsNET's interval algorithm (``poisson``).

The neurons are labelled from the first ``--label-images`` training images shown again
with learning off. ``--neurons 100 --train-images 3000 --label-images 3000
--test-images 1000 --theta-plus 0.05 --mean 0 --encoding poisson`` is issue 9's
reference recipe.
"""
from __future__ import annotations

import argparse

import torch
from torch.utils.data import Subset

from digits_diehl_cook import recipe_arguments, run_recipe
from snnc.datasets import FashionMNIST
from snnc.encoding import PoissonEncoder, PoissonProcessEncoder


def arguments() -> argparse.Namespace:
    parser = recipe_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), 1, 128.0, 1000,
                              theta_plus=0.2, neurons=1600)
    parser.add_argument("--mean", type=float, default=0.3,
                        help="scale each image to this mean pixel value (0: pixel / 255 as it is)")
    parser.add_argument("--encoding", choices=["process", "poisson"], default="process")
    parser.add_argument("--root", default=None, help="folder of the IDX files (default: the Debian package's)")
    parser.add_argument("--train-images", type=int, default=60000)
    parser.add_argument("--test-images", type=int, default=10000)
    parser.add_argument("--label-images", type=int, default=10000,
                        help="training images shown again, learning off, to label the neurons")
    return parser.parse_args()


class MeanScaled:
    """A dataset transform: the raw uint8 image ``[28, 28]`` as float32 ``[1, 28, 28]``
    rates, scaled so that its mean pixel is ``mean`` (of 1) before ``· intensity``."""

    def __init__(self, mean: float, intensity: float) -> None:
        self.mean, self.intensity = mean, intensity

    def __call__(self, raw) -> torch.Tensor:
        image = torch.from_numpy(raw).to(torch.float32).div(255.0).unsqueeze(0)
        if self.mean > 0 and image.sum() > 0:
            image = image * (self.mean / image.mean())
        return image * self.intensity


def main() -> None:
    args = arguments()
    torch.manual_seed(args.seed)
    encoder = (PoissonProcessEncoder if args.encoding == "process" else PoissonEncoder)(time=args.time, dt=1.0)
    sets = {}
    for split, count in (("train", args.train_images), ("test", args.test_images)):
        data = FashionMNIST(image_encoder=encoder, root=args.root, train=split == "train",
                            transform=MeanScaled(args.mean, args.intensity))
        sets[split] = Subset(data, range(min(count, len(data))))
    labelling = Subset(sets["train"], range(min(args.label_images, len(sets["train"]))))
    run_recipe(args, "Fashion-MNIST", sets["train"], labelling, sets["test"], 28)


if __name__ == "__main__":
    main()
