"""Time the guide's network with snnc: build, compile (cold and warm cache) and run.

    python benchmarks/bench_guide.py [--backend numba] [--repeats 5] [--json out/bench_guide.json]

Prints a table (median of the repeats, with min and max) and writes the figures as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import guide_inputs, guide_network, snnc_api  # noqa: E402

import snnc  # noqa: E402
from snnc.runtime import loader  # noqa: E402


def measure(backend: str, steps: int, batch: int, repeats: int) -> dict[str, list[float]]:
    api = snnc_api()
    figures: dict[str, list[float]] = {"build": [], "compile_cold": [], "compile_warm": [], "run": []}
    for _ in range(repeats):
        torch.manual_seed(0)
        start = time.perf_counter()
        network = guide_network(api, steps)
        figures["build"].append(time.perf_counter() - start)
        inputs = guide_inputs(steps, batch=batch)
        with tempfile.TemporaryDirectory() as cache:
            os.environ["SNNC_CACHE_DIR"] = cache
            loader._LOADED.clear()
            start = time.perf_counter()
            program = snnc.compile(network, backend=backend)
            program.run(inputs, time=1)
            figures["compile_cold"].append(time.perf_counter() - start - program.last_run.seconds)
            loader._LOADED.clear()
            start = time.perf_counter()
            program = snnc.compile(network, backend=backend)
            program.run(inputs, time=1)
            figures["compile_warm"].append(time.perf_counter() - start - program.last_run.seconds)
            network.reset_state_variables()
            program.run(inputs, time=steps)
            figures["run"].append(program.last_run.seconds)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numba")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=Path("out/bench_guide.json"))
    args = parser.parse_args()
    figures = measure(args.backend, args.steps, args.batch, args.repeats)
    print(f"guide network, backend={args.backend}, {args.steps} steps, batch {args.batch}, "
          f"{args.repeats} repeats (seconds: median [min, max])")
    summary = {}
    for name, values in figures.items():
        summary[name] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
        print(f"  {name:<13} {summary[name]['median']:.4f}  [{min(values):.4f}, {max(values):.4f}]")
    per_step = summary["run"]["median"] / args.steps * 1e6
    print(f"  run per step  {per_step:.1f} us")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"backend": args.backend, "steps": args.steps, "batch": args.batch,
                                     "torch": torch.__version__, "figures": summary}, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
