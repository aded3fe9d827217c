"""snnc.scale on this machine: sweep throughput against a serial loop, Ray's overhead
per task, and map_batches throughput against one process.

    python benchmarks/bench_scale.py [--points 8] [--limit 300] [--out benchmarks/out/scale]

* **sweep**: ``--points`` points of the digits recipe (examples/sweep_digits.py: 100
  neurons, one pass over the first ``--limit`` training digits, then labelling and
  scoring) run (a) one after the other in this process (``run_point``, what a plain loop
  does) and (b) as a sweep on a local Ray instance, one worker per core, one thread each.
  The sweep is timed cold once (starting Ray and its workers), then ``--repeats`` pairs
  of the serial loop and a warm sweep (on the running instance) in turn; the median
  ratio of the pairs is the speed-up. All use a compile cache warmed beforehand.
* **overhead**: ``--tasks`` points whose ``build`` and ``run`` do nothing, per task.
* **map_batches**: Diehl & Cook inference (784 -> 100, learning off, 250 steps) over
  ``--samples`` Poisson rasters in batches of 64, keeping each sample's excitatory spike
  counts: one process (``workers=0``: numba's threads over the batch) against
  ``map_batches`` on one worker per core, one thread each.
Writes OUT.md and OUT.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "examples")]

import sweep_digits  # noqa: E402
import workloads  # noqa: E402

from snnc.scale import map_batches, run_point, sweep  # noqa: E402
from snnc.scale.cluster import connect, local_cores  # noqa: E402


def nothing_build(params):
    return None


def nothing_run(network, params):
    return {"value": params["i"]}


def excitatory_counts(network, batch):
    """Each sample's spike count per excitatory neuron, ``[B, 100]``: what inference keeps."""
    return network.monitors["Ae_spikes"].get("s").sum(0)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=8)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3, help="serial/sweep pairs, in turn")
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--out", default=str(HERE / "out" / "scale"))
    args = parser.parse_args()
    cores = local_cores()
    points = [{"intensity": 256.0, "neurons": 100, "limit": args.limit, "seed": seed} for seed in range(args.points)]
    record: dict = {"cores": cores, "points": len(points), "limit": args.limit, "torch_threads": torch.get_num_threads()}

    run_point(sweep_digits.build, sweep_digits.run, dict(points[0], limit=5))      # warm the compile cache
    cold_s, cold = timed(lambda: sweep(sweep_digits.build, points, sweep_digits.run, progress_bar=False))
    pairs = []                  # serial loop and warm sweep in turn: the machine's drift hits both
    for _ in range(args.repeats):
        serial_s, serial = timed(lambda: [run_point(sweep_digits.build, sweep_digits.run, p) for p in points])
        warm_s, warm = timed(lambda: sweep(sweep_digits.build, points, sweep_digits.run, progress_bar=False))
        pairs.append((serial_s, warm_s))
    ratios = sorted(a / b for a, b in pairs)
    serial_s, warm_s = (statistics.median(p[k] for p in pairs) for k in (0, 1))
    same = [r["proportion"] for r in serial] == [r["proportion"] for r in cold] == [r["proportion"] for r in warm]
    record.update(serial_s=serial_s, sweep_cold_s=cold_s, sweep_warm_s=warm_s, same_results=same, pairs=pairs,
                  ratio_median=statistics.median(ratios), work_s=sum(r["compile_s"] + r["run_s"] for r in warm))

    ray = connect(None)
    overhead_points = [{"i": i} for i in range(args.tasks)]
    sweep(nothing_build, overhead_points[:8], nothing_run, progress_bar=False)          # workers up
    overhead_s, _ = timed(lambda: sweep(nothing_build, overhead_points, nothing_run, progress_bar=False))
    record.update(tasks=args.tasks, overhead_s=overhead_s)

    torch.manual_seed(0)
    network = workloads.dc_network(workloads.snnc_api(), 100, 250)
    rasters, _ = workloads.dc_samples(args.samples, 250, seed=0)
    dataset = torch.cat(rasters, dim=1).transpose(0, 1).reshape(args.samples, 250, 784)   # [N, T, 784]
    kwargs = dict(batch_size=64, fn=excitatory_counts, progress_bar=False)
    map_batches(network, dataset[:64], workers=0, **kwargs)                              # compile
    one_s, one = timed(lambda: map_batches(network, dataset, workers=0, **kwargs))
    map_batches(network, dataset[:128], **kwargs)                                        # workers up
    sharded_s, sharded = timed(lambda: map_batches(network, dataset, **kwargs))
    record.update(samples=args.samples, one_process_s=one_s, map_batches_s=sharded_s,
                  map_equal=torch.equal(one, sharded))
    ray.shutdown()

    lines = [
        f"# snnc.scale on {cores} cores ({time.strftime('%Y-%m-%d %H:%M')}, ray {ray.__version__})", "",
        "| what | one process | Ray | speed-up | note |", "| --- | ---: | ---: | ---: | --- |",
        f"| sweep, {len(points)} digits points (100 neurons, {args.limit} images) | {serial_s:.1f} s | "
        f"{warm_s:.1f} s warm, {cold_s:.1f} s cold | **{record['ratio_median']:.2f}x** warm "
        f"({ratios[0]:.2f}-{ratios[-1]:.2f} over {len(pairs)} pairs), {serial_s / cold_s:.2f}x cold | "
        f"same results: {same} |",
        f"| Ray overhead per task ({args.tasks} empty points) | - | {1e3 * overhead_s / args.tasks:.2f} ms | - | "
        f"{args.tasks / overhead_s:.0f} tasks/s |",
        f"| map_batches, D&C 784->100 inference, {args.samples} samples, batch 64 | {args.samples / one_s:.0f} samples/s | "
        f"{args.samples / sharded_s:.0f} samples/s | {one_s / sharded_s:.2f}x | equal: {record['map_equal']} |",
    ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps(record, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    main()
