"""Issue 9's reference recipe, run by BindsNET 0.3.4 or by snnc with the same script.

DiehlAndCook2015 (100 excitatory neurons, exc 22.5, inh 120, theta_plus 0.05,
nu (1e-4, 1e-2), norm 0.1·n_input) trained with one pass, batch 1, Poisson spikes, 250
steps per image; labels are assigned once after training from the training images
shown again with learning off. ``--data digits`` (default): scikit-learn's digits, the
first 1297 images train and the last 500 test, at pixel / 16 · 256 Hz.
``--data fashion``: Fashion-MNIST from Debian's ``dataset-fashion-mnist``, the first
3000 training images train and the first 1000 test images test, at pixel / 255 · 128 Hz.
Only the BindsNET API is used (``network.run``), so ``--library bindsnet`` in BindsNET's
own environment and ``--library snnc`` run the same code path.

    benchmarks/.venvs/bindsnet/bin/python benchmarks/digits_recipe.py --library bindsnet --seeds 0 1 2
    python benchmarks/digits_recipe.py --library snnc --seeds 0 1 2
    python benchmarks/digits_recipe.py --library snnc --data fashion --seeds 0 1 2

Prints one line per seed (accuracies, milliseconds per training image) and writes
``--json`` when given.
"""
from __future__ import annotations

import argparse
import importlib
import json
import time as clock

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
TIME, NEURONS = 250, 100
DATA = {"digits": {"train": 1297, "test": 500, "intensity": 256.0, "inputs": 64},
        "fashion": {"train": 3000, "test": 1000, "intensity": 128.0, "inputs": 784}}
FASHION = "/usr/share/datasets/fashion-mnist/{}-{}-idx{}-ubyte.gz"


def import_library(name: str):
    if name == "bindsnet":                 # torchvision's operators, absent beside a CPU torch
        for op in ("torchvision::nms", "torchvision::qnms"):
            try:
                torch.library.define(op, "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            except RuntimeError:
                pass
    modules = {part: importlib.import_module(f"{name}.{part}")
               for part in ("models", "encoding", "evaluation", "network.monitors")}
    return modules


def digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Train images, train labels, test images, test labels; pixels in [0, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images, labels = torch.tensor(bunch.data, dtype=torch.float32) / 16.0, torch.tensor(bunch.target)
    return images[:1297], labels[:1297], images[1297:], labels[1297:]


def fashion() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fashion-MNIST's four IDX files (stdlib + torch only: both venvs can read them)."""
    from workloads import read_idx_gz as idx
    parts = []
    for split in ("train", "t10k"):
        parts.append(idx(FASHION.format(split, "images", 3), 16).view(-1, 784).float() / 255.0)
        parts.append(idx(FASHION.format(split, "labels", 1), 8).long())
    return tuple(parts)


def run_seed(lib: dict, seed: int, n_train: int, data: str) -> dict:
    torch.manual_seed(seed)
    spec = DATA[data]
    train_x, train_y, test_x, test_y = digits() if data == "digits" else fashion()
    n_input, intensity = spec["inputs"], spec["intensity"]
    test_x, test_y = test_x[:spec["test"]], test_y[:spec["test"]]
    network = lib["models"].DiehlAndCook2015(n_inpt=n_input, n_neurons=NEURONS, exc=22.5, inh=120.0,
                                             theta_plus=0.05, nu=(1e-4, 1e-2), norm=0.1 * n_input)
    monitor = lib["network.monitors"].Monitor(network.layers["Ae"], ["s"], time=TIME)
    network.add_monitor(monitor, name="Ae")

    def present(image: torch.Tensor) -> torch.Tensor:
        spikes = lib["encoding"].poisson(image * intensity, time=TIME).view(TIME, 1, n_input)
        network.run(inputs={"X": spikes}, time=TIME)
        counts = monitor.get("s").view(TIME, NEURONS).clone()
        network.reset_state_variables()
        return counts

    start = clock.perf_counter()
    for index in torch.randperm(n_train).tolist():
        present(train_x[index])
    per_image = (clock.perf_counter() - start) / n_train
    network.train(False)
    train_spikes = torch.stack([present(train_x[i]) for i in range(n_train)])
    test_spikes = torch.stack([present(image) for image in test_x])
    evaluation = lib["evaluation"]
    assignments, proportions, _ = evaluation.assign_labels(train_spikes, train_y[:n_train], 10)
    test_labels = test_y
    all_acc = float((evaluation.all_activity(test_spikes, assignments, 10) == test_labels).float().mean())
    prop_acc = float((evaluation.proportion_weighting(test_spikes, assignments, proportions, 10)
                      == test_labels).float().mean())
    return {"seed": seed, "all_activity": 100 * all_acc, "proportion_weighting": 100 * prop_acc,
            "ms_per_train_image": 1e3 * per_image}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", choices=("snnc", "bindsnet"), default="snnc")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data", choices=tuple(DATA), default="digits")
    parser.add_argument("--train", type=int, default=None,
                        help="training images (default: the recipe's 1297 or 3000; a quick check: fewer)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    lib = import_library(args.library)
    rows = []
    for seed in args.seeds:
        row = run_seed(lib, seed, args.train or DATA[args.data]["train"], args.data)
        rows.append(row)
        print(f"{args.library} {args.data} seed {seed}: all activity {row['all_activity']:.1f}%, proportion weighting "
              f"{row['proportion_weighting']:.1f}%, {row['ms_per_train_image']:.2f} ms per training image",
              flush=True)
    mean = {key: sum(row[key] for row in rows) / len(rows)
            for key in ("all_activity", "proportion_weighting", "ms_per_train_image")}
    print(f"{args.library} mean of {len(rows)}: all activity {mean['all_activity']:.1f}%, proportion weighting "
          f"{mean['proportion_weighting']:.1f}%, {mean['ms_per_train_image']:.2f} ms per training image")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"library": args.library, "data": args.data, "rows": rows, "mean": mean}, handle, indent=2)


if __name__ == "__main__":
    main()
