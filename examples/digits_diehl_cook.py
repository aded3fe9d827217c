"""Unsupervised STDP (Diehl & Cook 2015) on scikit-learn's 8x8 digits, compiled by snnc.

Each training image (pixel / 16 · intensity Hz, Poisson spikes, ``--time`` steps) is
shown to a ``DiehlAndCook2015`` network learning with PostPre; its states are reset
between images. Every ``--update-interval`` images the excitatory neurons are
(re)labelled from the previous window's spikes and the window is scored with those
labels, giving the accuracy curve. After training, learning is turned off, the
training images are shown once more to assign each neuron a label
(``assign_labels``), and the 500 test images are classified by all-activity and
proportion-weighting voting.

    python examples/digits_diehl_cook.py [--neurons 400] [--epochs 5] [--intensity 256]
                                         [--batch 1] [--backend numba] [--seed 0] [--out out]

``--neurons 100 --epochs 1`` is issue 9's reference recipe (benchmarks/digits_recipe.py runs it
in BindsNET too).
Prints both accuracies and the training speed; writes the weights, assignments and
accuracy plots to ``--out``.
"""
from __future__ import annotations

import argparse
import math
import time as clock
from pathlib import Path

import torch
from torch.utils.data import Subset
from tqdm import tqdm

import snnc
from snnc.datasets import Digits
from snnc.encoding import PoissonEncoder
from snnc.evaluation import all_activity, assign_labels, proportion_weighting
from snnc.models import DiehlAndCook2015
from snnc.network.monitors import Monitor
from snnc.utils import get_square_assignments, get_square_weights

N_LABELS = 10


def recipe_arguments(parser: argparse.ArgumentParser, epochs: int, intensity: float,
                     update_interval: int, theta_plus: float = 0.05, neurons: int = 400) -> argparse.ArgumentParser:
    """The options every Diehl & Cook example shares (network, encoding, run, output)."""
    parser.add_argument("--neurons", type=int, default=neurons)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--intensity", type=float, default=intensity)
    parser.add_argument("--time", type=int, default=250)
    parser.add_argument("--exc", type=float, default=22.5)
    parser.add_argument("--inh", type=float, default=120.0)
    parser.add_argument("--theta-plus", type=float, default=theta_plus)
    parser.add_argument("--nu-decay", type=float, default=1.0,
                        help="multiply both learning rates by this after every epoch")
    parser.add_argument("--update-interval", type=int, default=update_interval)
    parser.add_argument("--batch", type=int, default=1,
                        help="images per run; the learning rates are divided by batch ** (1/3)")
    parser.add_argument("--backend", default="numba")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out")
    parser.add_argument("--no-plots", action="store_true")
    return parser


def arguments() -> argparse.Namespace:
    parser = recipe_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), 5, 256.0, 250)
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first LIMIT training and test images (a quick check)")
    return parser.parse_args()


class Presenter:
    """Runs encoded images through the compiled network and returns the excitatory
    layer's spikes ``[time, n]`` of each."""

    def __init__(self, network, backend: str, time: int) -> None:
        self.network, self.time = network, time
        self.monitor = Monitor(network.layers["Ae"], ["s"], time=time)
        network.add_monitor(self.monitor, name="Ae")
        self.program = snnc.compile(network, backend=backend)

    def __call__(self, encoded: torch.Tensor) -> torch.Tensor:
        return self.batch([encoded])[0]

    def batch(self, encoded: list[torch.Tensor]) -> list[torch.Tensor]:
        """Several encoded images at once (one run of batch ``len(encoded)``); each
        one's spikes ``[time, n]``."""
        stacked = torch.stack([e.reshape(self.time, -1) for e in encoded], dim=1)
        self.program.run({"X": stacked}, time=self.time)
        spikes = self.monitor.get("s").view(self.time, len(encoded), -1).clone()
        self.network.reset_state_variables()
        return list(spikes.unbind(1))


def accuracy(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    return 100.0 * float((predictions == labels).float().mean())


def train(present: Presenter, data: Digits, epochs: int, interval: int, generator: torch.Generator,
          nu_decay: float = 1.0, batch: int = 1):
    """Every image of every epoch in a fresh random order, ``batch`` images per run,
    the learning rates times ``nu_decay`` after each epoch; returns the accuracy curves
    (each window scored with the labels assigned from the window before) and the
    seconds spent after the first run (which compiles the code for the inputs' dtype).

    An epoch's last ``len(data) % batch`` images (a different one each epoch) are left
    out. A batch sums its samples' weight updates (BindsNET's ``sum`` reduction) and its
    spikes' threshold increments, so the learning rates are divided by ``batch ** (1/3)``:
    on the digits (400 neurons, 5 epochs, eight seeds) batches of 16 and 64 then land
    0.2 and 1.4 points below batch 1 (docs/results.md)."""
    rule = present.network.connections[("X", "Ae")].pipeline[0].learning_rule
    if batch > 1:
        rule.nu = rule.nu / batch ** (1 / 3)
    curves = {"all activity": [], "proportion weighting": []}
    window_spikes, window_labels, labelled = [], [], None
    total, warm = epochs * (len(data) - len(data) % batch), None
    with tqdm(total=total, desc="training", unit="image") as bar:
        for _ in range(epochs):
            order = torch.randperm(len(data), generator=generator).tolist()
            for first in range(0, len(order) - len(order) % batch, batch):    # whole batches only
                samples = [data[index] for index in order[first:first + batch]]
                window_spikes += present.batch([sample["encoded_image"] for sample in samples])
                window_labels += [sample["label"] for sample in samples]
                warm = warm if warm is not None else clock.perf_counter()
                bar.update(len(samples))
                if len(window_spikes) >= interval:
                    spikes, labels = torch.stack(window_spikes), torch.tensor(window_labels)
                    if labelled is not None:
                        assignments, proportions = labelled
                        curves["all activity"].append(accuracy(all_activity(spikes, assignments, N_LABELS), labels))
                        curves["proportion weighting"].append(
                            accuracy(proportion_weighting(spikes, assignments, proportions, N_LABELS), labels))
                        bar.set_postfix(accuracy=f"{curves['all activity'][-1]:.0f}%")
                    assignments, proportions, _ = assign_labels(spikes, labels, N_LABELS)
                    labelled = (assignments, proportions)
                    window_spikes, window_labels = [], []
            rule.nu = rule.nu * nu_decay
    return curves, clock.perf_counter() - warm


def record(present: Presenter, data: Digits, what: str, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image's spike counts ``[1, n]`` (learning off: the evaluation functions
    sum over time, so one row holds all they read; 20 000 images × 250 steps × 1600
    neurons would be 8 GB as spikes), ``batch`` per run; the last run is padded with
    silent images so that the batch size never changes."""
    spikes, labels = [], []
    with tqdm(total=len(data), desc=what, unit="image") as bar:
        for first in range(0, len(data), batch):
            samples = [data[index] for index in range(first, min(first + batch, len(data)))]
            encoded = [sample["encoded_image"] for sample in samples]
            encoded += [torch.zeros_like(encoded[0])] * (batch - len(encoded))
            spikes += [s.sum(0, keepdim=True, dtype=torch.int32) for s in present.batch(encoded)[:len(samples)]]
            labels += [sample["label"] for sample in samples]
            bar.update(len(samples))
    return torch.stack(spikes), torch.tensor(labels)


def save_plots(network, assignments, curves, interval: int, out: Path, name: str = "digits",
               side: int = 8) -> list[Path]:
    """The learned weights (one ``side × side`` tile per neuron), the neurons' labels and
    the accuracy curves, as ``out/{name}_weights.png`` and so on."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from snnc.analysis.plotting import plot_assignments, plot_performance, plot_weights

    n = network.n_neurons
    grid = math.ceil(math.sqrt(n))
    weights = network.connections[("X", "Ae")].pipeline[0].value.detach()
    paths = [out / f"{name}_{what}.png" for what in ("weights", "assignments", "accuracy")]
    im = plot_weights(get_square_weights(weights, grid, side), wmax=float(weights.max()),
                      title=f"X -> Ae weights ({n} neurons)")
    im.figure.savefig(paths[0], bbox_inches="tight")
    im = plot_assignments(get_square_assignments(assignments, grid))
    im.figure.savefig(paths[1], bbox_inches="tight")
    plot_performance(curves, x_scale=interval, save=str(paths[2]))
    plt.close("all")
    return paths


def run_recipe(args: argparse.Namespace, title: str, train_set, label_set, test_set, side: int) -> None:
    """Build, train, label and test a ``DiehlAndCook2015`` network on ``side × side``
    images; print the accuracies and speed; save the plots as ``{title}_*.png``."""
    generator = torch.Generator().manual_seed(args.seed)
    n_inpt = side * side
    network = DiehlAndCook2015(n_inpt=n_inpt, n_neurons=args.neurons, exc=args.exc, inh=args.inh,
                               theta_plus=args.theta_plus, nu=(1e-4, 1e-2), norm=0.1 * n_inpt,
                               inpt_shape=(1, side, side))
    start = clock.perf_counter()
    present = Presenter(network, args.backend, args.time)
    compiled = clock.perf_counter() - start

    start = clock.perf_counter()
    curves, warm = train(present, train_set, args.epochs, args.update_interval, generator, args.nu_decay,
                         args.batch)
    trained = clock.perf_counter() - start
    images = args.epochs * (len(train_set) - len(train_set) % args.batch)

    network.train(False)
    start = clock.perf_counter()
    label_spikes, labels = record(present, label_set, "labelling", args.batch)
    assignments, proportions, _ = assign_labels(label_spikes, labels, N_LABELS)
    del label_spikes
    test_spikes, test_labels = record(present, test_set, "testing", args.batch)
    evaluated = clock.perf_counter() - start
    all_acc = accuracy(all_activity(test_spikes, assignments, N_LABELS), test_labels)
    prop_acc = accuracy(proportion_weighting(test_spikes, assignments, proportions, N_LABELS), test_labels)

    print(f"Diehl & Cook on {title}: {args.neurons} neurons, {args.epochs} epoch(s) of {len(train_set)} images, "
          f"{args.time} steps each, intensity {args.intensity:g}, batch {args.batch}, backend {args.backend}, "
          f"seed {args.seed}")
    print(f"test accuracy ({len(test_set)} images): all activity {all_acc:.1f}%, "
          f"proportion weighting {prop_acc:.1f}%")
    after = images - args.batch                      # the images after the first (compiling) run
    print(f"training: {images} images in {trained:.1f} s, of which the first run (compiling) "
          f"{trained - warm:.1f} s; then {after / warm:.0f} images/s ({1e3 * warm / after:.2f} ms "
          f"each); build {compiled:.1f} s; labelling and testing {len(label_set) + len(test_set)} images "
          f"(compiling once more, learning off) in {evaluated:.1f} s")
    if not args.no_plots:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        name = title.lower().replace("-", "_")
        for path in save_plots(network, assignments, curves, args.update_interval, out, name, side):
            print(f"wrote {path}")


def main() -> None:
    args = arguments()
    torch.manual_seed(args.seed)
    encoder = PoissonEncoder(time=args.time, dt=1.0)
    train_set = Digits(image_encoder=encoder, train=True, intensity=args.intensity)
    test_set = Digits(image_encoder=encoder, train=False, intensity=args.intensity)
    if args.limit is not None:
        train_set = Subset(train_set, range(min(args.limit, len(train_set))))
        test_set = Subset(test_set, range(min(args.limit, len(test_set))))
    run_recipe(args, "digits", train_set, train_set, test_set, 8)


if __name__ == "__main__":
    main()
