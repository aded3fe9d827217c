"""The per-sample loop (case ``guide-loop``), shared by the snnc and BindsNET runners.

The guide network (workloads.guide_network, batch 1, monitors sized for one sample) sees
``--samples`` samples (default 100), each ``network.run(inputs={"A": raster},
time=steps)`` (default 25 steps) followed by ``network.reset_state_variables()``; the
rasters are the same seeded ones in every system (workloads.guide_loop_inputs).

One untimed pass over all the samples comes first: snnc compiles there (``network.run``
with its default ``backend="auto"``) and numba JIT-compiles or loads its cache; BindsNET
starts torch up. Then ``--runs`` timed passes. Each pass is timed as a whole
(``loop_s``: both calls, every sample) and each call apart (run, reset). For snnc the
generated code's own time of each run (``program.last_run.seconds``) gives the overhead
per call = the ``network.run`` call - that time. Independently of that timer,
``one_step_call_us`` is the median ``network.run(time=1)`` call (overhead + one step).

``--wait-go``: after the untimed pass print ``READY`` and wait for a line on stdin before
the timed passes (bench_loop.py starts processes side by side this way).
"""
from __future__ import annotations

import statistics
import sys
import time
from typing import Callable, Optional

import torch

from common import steady

SimClock = Callable[[], Optional[float]]


def build(args, api):
    """The guide network for one sample and the list of sample rasters ``[T, 1, 100]``."""
    from workloads import guide_loop_inputs, guide_network
    torch.manual_seed(args.seed)
    network = guide_network(api, args.steps)
    samples = guide_loop_inputs(args.samples, args.steps, seed=args.seed)
    return network, samples


def fresh_feeds(samples: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    """One input dict per sample, on copies: BindsNET's Input keeps a view of its input as
    ``s`` and its reset zeroes ``s`` in place, which would alter the shared rasters.
    Made before a pass, outside its timing (the same for every system)."""
    return [{"A": sample.clone()} for sample in samples]


def untimed_pass(network, samples, steps: int) -> dict:
    """The warm-up pass; also counts the output spikes of every sample (sanity figure)."""
    feeds = fresh_feeds(samples)
    spikes = []
    start = time.perf_counter()
    first_call = None
    for feed in feeds:
        network.run(inputs=feed, time=steps)
        if first_call is None:
            first_call = time.perf_counter() - start
        spikes.append(int(network.monitors["B"].get("s").sum()))
        network.reset_state_variables()
    return {"warmup_s": time.perf_counter() - start, "first_call_s": first_call,
            "output_spikes": sum(spikes), "output_spikes_per_sample": spikes}


def timed_pass(network, samples, steps: int, sim_clock: SimClock | None) -> dict:
    """One timed pass: the whole loop, and each run / reset call apart."""
    feeds = fresh_feeds(samples)
    clock = time.perf_counter
    runs, resets, sims = [], [], []
    start = clock()
    for feed in feeds:
        t0 = clock()
        network.run(inputs=feed, time=steps)
        t1 = clock()
        network.reset_state_variables()
        t2 = clock()
        runs.append(t1 - t0)
        resets.append(t2 - t1)
        if sim_clock is not None:
            sims.append(sim_clock())
    return {"loop_s": clock() - start, "run": runs, "reset": resets, "sim": sims}


def one_step_calls(network, samples, calls: int = 100) -> float:
    """Median wall time (us) of ``network.run(time=1)``: the smallest call that runs the
    generated code, an estimate of the overhead per call that needs no timer inside the
    library (one step costs a few microseconds). After a first untimed call; each call is
    followed by an untimed reset."""
    feeds = [{"A": sample[:1].clone()} for sample in samples[:calls]]
    network.run(inputs={"A": samples[0][:1].clone()}, time=1)
    network.reset_state_variables()
    times = []
    for feed in feeds:
        start = time.perf_counter()
        network.run(inputs=feed, time=1)
        times.append(time.perf_counter() - start)
        network.reset_state_variables()
    return us(times)


def wait_for_go() -> None:
    print("READY", flush=True)
    sys.stdin.readline()


def us(values: list[float], q: float = 0.5) -> float | None:
    """Median (or the ``q`` quantile) of ``values`` in seconds, as microseconds."""
    if not values:
        return None
    if q == 0.5:
        return statistics.median(values) * 1e6
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6


def call_figures(passes: list[dict]) -> dict:
    """Medians over every call of every timed pass; the overhead only where the generated
    code's own time was known for every call."""
    runs = [x for p in passes for x in p["run"]]
    resets = [x for p in passes for x in p["reset"]]
    sims = [x for p in passes for x in p["sim"]]
    figures = {"run_call_us": us(runs), "reset_call_us": us(resets),
               "run_call_p90_us": us(runs, 0.9), "sim_us": None, "overhead_us": None,
               "overhead_p90_us": None}
    if sims and len(sims) == len(runs) and all(s is not None for s in sims):
        overhead = [r - s for r, s in zip(runs, sims)]
        figures.update(sim_us=us(sims), overhead_us=us(overhead), overhead_p90_us=us(overhead, 0.9),
                       overhead_min_us=min(overhead) * 1e6)
    return figures


def measure(args, api, system: str, sim_clock_of: Callable | None = None,
            describe: Callable | None = None) -> dict:
    """Build, warm up, time ``args.runs`` passes; the runner's JSON record.

    ``sim_clock_of(network)`` returns a callable giving the last run's generated-code
    seconds (or None when unknown; snnc only); ``describe(network)``, called after the
    warm-up, returns system-specific fields for the record.
    """
    network, samples = build(args, api)
    record = {"system": system, "workload": "guide-loop", "samples": args.samples,
              "steps": args.steps, "batch": 1, "inputs": "bernoulli",
              "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    record.update(untimed_pass(network, samples, args.steps))
    if describe is not None:
        record.update(describe(network))
    sim_clock = sim_clock_of(network) if sim_clock_of is not None else None
    if args.wait_go:
        wait_for_go()
    record["t_go"] = time.time()
    passes = [timed_pass(network, samples, args.steps, sim_clock) for _ in range(max(1, args.runs))]
    record["t_end"] = time.time()
    loops = [p["loop_s"] for p in passes]
    record.update({"run_s": loops[0], "runs": loops, "steady_s": steady(loops),
                   "per_sample_s": loops[0] / args.samples,
                   "ms_per_sample": statistics.median(loops) / args.samples * 1e3,
                   "ms_per_sample_passes": [x / args.samples * 1e3 for x in loops]})
    record.update(call_figures(passes))
    record["one_step_call_us"] = one_step_calls(network, samples)
    return record
