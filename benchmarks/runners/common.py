"""Shared by the runners (stdlib + numpy + torch only, so every venv can import it).

Each runner builds one workload, times only the simulation and prints one JSON line
(the last line of its stdout) with its figures.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

RUNNERS = Path(__file__).resolve().parent
BENCHMARKS = RUNNERS.parent

# BindsNET's LIFNodes defaults, used by every system (Brian2 spells them out).
LIF = dict(thresh=-52.0, rest=-65.0, reset=-65.0, refrac=5, tc_decay=100.0, dt=1.0)


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--workload", choices=["guide", "recipe", "guide-loop", "dc-train", "conversion"], required=True)
    p.add_argument("--n", type=int, default=1000,
                   help="recipe: inputs = neurons = n; dc-train: excitatory neurons")
    p.add_argument("--steps", type=int, default=None,
                   help="default: guide 500, recipe 1000, guide-loop 25 and dc-train 250 (per sample), "
                        "conversion 100")
    p.add_argument("--batch", type=int, default=1, help="guide; conversion: test images at once")
    p.add_argument("--neuron", default="lif",
                   help="guide: the output layer's variant, a workloads.GUIDE_VARIANTS key "
                        "(lif, alif, izh, izh-w5, clif)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--inputs", choices=["encoder", "raster"], default="encoder",
                   help="recipe: encode Poisson spikes with the system's own encoder, or "
                        "read the shared raster --raster (uint8 .npy, [T, n])")
    p.add_argument("--raster", type=Path, default=None)
    p.add_argument("--rates", type=Path, default=None,
                   help="recipe, encoder mode: the shared rates (float32 .npy, [n], Hz)")
    p.add_argument("--runs", type=int, default=1,
                   help="timed runs in this process, each after a state reset; run_s is the "
                        "first (the figure of a fresh process), steady_s the median of the others; "
                        "guide-loop: timed passes over all the samples")
    p.add_argument("--samples", type=int, default=100, help="guide-loop, dc-train: samples per pass")
    p.add_argument("--data", type=Path, default=None,
                   help="conversion: the trained MLP and images (workloads.conversion_data)")
    p.add_argument("--wait-go", action="store_true",
                   help="guide-loop: print READY after the warm-up, wait for a stdin line")
    return p


def steady(runs: list[float]) -> float | None:
    """Median of the runs after the first (None with a single run)."""
    rest = sorted(runs[1:])
    if not rest:
        return None
    mid = len(rest) // 2
    return rest[mid] if len(rest) % 2 else (rest[mid - 1] + rest[mid]) / 2


def default_steps(args) -> int:
    if args.steps is None:
        args.steps = {"guide": 500, "recipe": 1000, "guide-loop": 25, "dc-train": 250,
                      "conversion": 100}[args.workload]
    return args.steps


def recipe_rates(args):
    """Firing rates U(0, 100) Hz, the same for all systems (from --rates, else seeded)."""
    import numpy as np
    if args.rates is not None:
        return np.load(args.rates).astype(np.float32)
    return np.random.default_rng(args.seed).uniform(0.0, 100.0, args.n).astype(np.float32)


def recipe_weights(n: int, seed: int):
    """All-to-all weights N(0, 1), ``[n_pre, n_post]`` float32 (numpy, seeded: the same
    matrix in every system)."""
    import numpy as np
    return np.random.default_rng(seed + 1).standard_normal((n, n), dtype=np.float32)


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def python_info() -> dict:
    return {"python": sys.version.split()[0], "executable": sys.executable}


def build_recipe(args, api, poisson):
    """The recipe network (n inputs -> n LIF, all-to-all N(0, 1)) through ``api``, and
    its input spikes: the saved raster, or ``poisson`` (the system's own encoder)
    applied to the shared rates."""
    import numpy as np
    import torch
    network = api.Network()
    source, target = api.Input(n=args.n), api.LIFNodes(n=args.n)
    network.add_layer(source, name="X")
    network.add_layer(target, name="Y")
    w = torch.from_numpy(recipe_weights(args.n, args.seed))
    network.add_connection(api.Connection(source=source, target=target, w=w), "X", "Y")
    info = {}
    if args.inputs == "raster":
        spikes = torch.from_numpy(np.load(args.raster)).to(torch.uint8)
        info["encode_s"] = 0.0
    else:
        torch.manual_seed(args.seed)
        rates = torch.from_numpy(recipe_rates(args))
        with Timer() as t:
            spikes = poisson(rates, time=args.steps)
        info["encode_s"] = t.seconds
    spikes = spikes[:args.steps]
    info["input_spikes_per_step"] = float(spikes.float().sum(1).mean())
    return network, {"X": spikes.unsqueeze(1)}, info


def spike_counts(network, workload: str) -> dict:
    """Sanity figures every runner reports: total output spikes (guide) and the last step's."""
    layer = "B" if workload == "guide" else "Y"
    counts = {"last_step_spikes": int(network.layers[layer].s.sum())}
    if workload == "guide":
        counts["output_spikes"] = int(network.monitors["B"].get("s").sum())
    return counts


def run_spikes(network, workload: str) -> int | None:
    """The output spikes of the run just made (guide: monitor B, which the reset before
    each run empties; None for the other workloads). Read after the timing."""
    if workload != "guide":
        return None
    return int(network.monitors["B"].get("s").sum())
