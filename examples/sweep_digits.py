"""A parameter sweep on Ray: Diehl & Cook's digits recipe over input intensity and size.

Every point trains a ``DiehlAndCook2015`` network (PostPre STDP, Poisson inputs at
``pixel / 16 · intensity`` Hz, 250 steps per image) for one pass over scikit-learn's
digits, labels its neurons and scores the 500 test digits; ``snnc.scale.sweep`` runs
the points as Ray tasks on every core (a local Ray instance starts on demand) and
gathers one table. The script prints the table and the best configuration, saves the
table (CSV) and plots test accuracy over the grid.

    python examples/sweep_digits.py [--intensity 64 128 256] [--neurons 50 100 200]
                                    [--epochs 1] [--limit N] [--address ADDR] [--out out]

``build`` and ``run`` are also what ``snnc sweep`` wants:

    snnc sweep examples/sweep_digits.py --grid intensity=64,128 --grid neurons=100,200
"""
from __future__ import annotations

import argparse
import time as clock
from pathlib import Path

import torch

N_LABELS = 10
STEPS = 250


def build(params: dict):
    """The network of one point: ``params["neurons"]`` excitatory neurons, 8×8 inputs."""
    from snnc.models import DiehlAndCook2015

    return DiehlAndCook2015(n_inpt=64, n_neurons=int(params["neurons"]), exc=22.5, inh=120.0,
                            theta_plus=0.05, nu=(1e-4, 1e-2), norm=6.4, inpt_shape=(1, 8, 8))


def _present(program, monitor, network, encoded: torch.Tensor) -> torch.Tensor:
    program.run({"X": encoded.reshape(STEPS, 1, -1)}, time=STEPS)
    spikes = monitor.get("s").reshape(STEPS, -1).sum(0, keepdim=True, dtype=torch.int32)
    network.reset_state_variables()
    return spikes


def run(network, params: dict) -> dict:
    """Train for ``params.get("epochs", 1)`` passes (a seeded order), label the neurons
    on the training digits with learning off, score the test digits (the first
    ``params["limit"]`` of each set, where given)."""
    import snnc
    from snnc.datasets import Digits
    from snnc.encoding import PoissonEncoder
    from snnc.evaluation import all_activity, assign_labels, proportion_weighting
    from snnc.network.monitors import Monitor
    from torch.utils.data import Subset

    encoder = PoissonEncoder(time=STEPS, dt=1.0)
    train_set = Digits(image_encoder=encoder, train=True, intensity=float(params["intensity"]))
    test_set = Digits(image_encoder=encoder, train=False, intensity=float(params["intensity"]))
    if params.get("limit"):                     # the first LIMIT images of each: a shorter point
        train_set, test_set = (Subset(data, range(min(int(params["limit"]), len(data))))
                               for data in (train_set, test_set))
    monitor = Monitor(network.layers["Ae"], ["s"], time=STEPS)
    network.add_monitor(monitor, name="Ae")
    program = snnc.compile(network, backend="numba")
    generator = torch.Generator().manual_seed(int(params.get("seed", 0)))
    start = clock.perf_counter()
    for _ in range(int(params.get("epochs", 1))):
        for index in torch.randperm(len(train_set), generator=generator).tolist():
            _present(program, monitor, network, train_set[index]["encoded_image"])
    trained = clock.perf_counter() - start
    network.train(False)

    def counts(data) -> tuple[torch.Tensor, torch.Tensor]:
        samples = [data[index] for index in range(len(data))]
        spikes = [_present(program, monitor, network, s["encoded_image"]) for s in samples]
        return torch.stack(spikes), torch.tensor([s["label"] for s in samples])

    assignments, proportions, _ = assign_labels(*counts(train_set), N_LABELS)
    test_spikes, labels = counts(test_set)
    score = lambda predicted: 100.0 * float((predicted == labels).float().mean())   # noqa: E731
    return {"all_activity": score(all_activity(test_spikes, assignments, N_LABELS)),
            "proportion": score(proportion_weighting(test_spikes, assignments, proportions, N_LABELS)),
            "train_s": trained,
            "images_per_s": int(params.get("epochs", 1)) * len(train_set) / trained}


def plot(results, intensities, sizes, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = torch.full((len(sizes), len(intensities)), float("nan"))
    for row in results.succeeded:
        grid[sizes.index(row["neurons"]), intensities.index(row["intensity"])] = row["proportion"]
    figure, axes = plt.subplots(figsize=(1.6 + 1.3 * len(intensities), 1.2 + 0.8 * len(sizes)))
    image = axes.imshow(grid.numpy(), cmap="viridis", origin="lower", aspect="auto")
    axes.set_xticks(range(len(intensities)), [f"{v:g}" for v in intensities])
    axes.set_yticks(range(len(sizes)), [str(v) for v in sizes])
    axes.set_xlabel("input intensity (Hz at full pixel)")
    axes.set_ylabel("excitatory neurons")
    for (i, j), value in zip(((i, j) for i in range(len(sizes)) for j in range(len(intensities))), grid.flatten()):
        if value == value:
            axes.text(j, i, f"{value:.1f}", ha="center", va="center", color="white")
    figure.colorbar(image, label="test accuracy, proportion weighting (%)")
    axes.set_title("Diehl & Cook on digits: one pass")
    figure.savefig(path, bbox_inches="tight")
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intensity", type=float, nargs="+", default=[64.0, 128.0, 256.0])
    parser.add_argument("--neurons", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first LIMIT training and test digits (a quick check)")
    parser.add_argument("--address", default=None, help="a Ray cluster (default: a local instance)")
    parser.add_argument("--out", default="out")
    args = parser.parse_args()

    from snnc.scale import sweep

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = {"intensity": args.intensity, "neurons": args.neurons, "epochs": [args.epochs], "seed": [args.seed]}
    if args.limit:
        grid["limit"] = [args.limit]
    start = clock.perf_counter()
    results = sweep(build, grid, run, address=args.address, out=out / "sweep_digits.csv")
    elapsed = clock.perf_counter() - start
    print(f"{'intensity':>9} {'neurons':>7} {'all act.':>8} {'prop.':>6} {'img/s':>6} {'compile':>7} host")
    for row in results:
        if row["error"] is not None:
            print(f"{row['intensity']:9g} {row['neurons']:7d}  failed: {row['error']}")
            continue
        print(f"{row['intensity']:9g} {row['neurons']:7d} {row['all_activity']:7.1f}% {row['proportion']:5.1f}% "
              f"{row['images_per_s']:6.0f} {row['compile_s']:6.1f}s {row['host']}")
    best = results.best("proportion")
    busy = sum(row["compile_s"] + row["run_s"] for row in results.succeeded)
    print(f"best: intensity {best['intensity']:g}, {best['neurons']} neurons: {best['proportion']:.1f}% "
          f"(proportion weighting), {best['all_activity']:.1f}% (all activity)")
    print(f"{len(results)} points in {elapsed:.1f} s ({busy:.1f} s of work: {busy / elapsed:.2f} points at once)")
    plot(results, args.intensity, args.neurons, out / "sweep_digits.png")
    print(f"wrote {out / 'sweep_digits.csv'}, {out / 'sweep_digits.png'}")


if __name__ == "__main__":
    main()
