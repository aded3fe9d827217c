"""snnc runner: build a workload, compile it, time the simulation; print one JSON line.

    python benchmarks/runners/snnc_runner.py --workload guide [--batch 64] [--neuron alif|izh|izh-w5|clif]
    python benchmarks/runners/snnc_runner.py --workload recipe --n 10000 [--inputs raster --raster R.npy]
    python benchmarks/runners/snnc_runner.py --workload guide --measure compile   # compile + first tiny run
    python benchmarks/runners/snnc_runner.py --workload guide-loop [--runs 3]     # see runners/loop.py

``--measure run`` (default) compiles, does a one-step warm-up run (numba's JIT and cache
load happen there), resets the state and times ``program.run`` over the whole workload
(``program.last_run.seconds``: the generated code's run, not building or compiling;
``run_wall_s`` is the whole ``program.run`` call). ``--runs K`` times K runs, each after
a reset: ``run_s`` is the first (what a fresh process sees: first touch of new monitor
buffers included), ``steady_s`` the median of the others.
``--measure compile`` times ``snnc.compile`` + the first one-step run in this (fresh)
process; whether that is cold or warm depends on ``$SNNC_CACHE_DIR``, set by the caller.
It then repeats that for a second network of the same structure in the same process
(``inproc_*``: numba already imported, module table cleared, machine code from the cache).
``--workload guide-loop`` is the per-sample loop through ``network.run`` with its default
backend ("auto"); ``--backend`` and ``--measure`` do not apply (runners/loop.py).
"""
from __future__ import annotations

import os
import sys
import time

T_START = time.perf_counter()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import common  # noqa: E402
from common import (Timer, default_steps, emit, parser, python_info, recipe_rates,  # noqa: E402
                    recipe_weights, steady)


def build_guide(args, api):
    import torch
    from workloads import guide_inputs, guide_network
    torch.manual_seed(args.seed)
    network = guide_network(api, args.steps, neuron=args.neuron)
    inputs = guide_inputs(args.steps, batch=args.batch)
    return network, inputs, {}


def build_recipe(args, api):
    from snnc.encoding import poisson
    return common.build_recipe(args, api, poisson)


def loop_sim_clock(network, steps: int):
    """A callable giving the generated code's own time of the last ``network.run``
    (``network._program.last_run.seconds``), or None where the program did not report that
    run (no such attribute, another step count, or the same record as the call before)."""
    previous = [None, None]

    def sim_seconds():
        last = getattr(getattr(network, "_program", None), "last_run", None)
        seconds = getattr(last, "seconds", None)
        if seconds is None or getattr(last, "steps", steps) != steps or \
                (last is previous[0] and seconds == previous[1]):
            return None
        previous[:] = [last, seconds]
        return seconds
    return sim_seconds


def describe_loop(network) -> dict:
    """snnc's settings for the guide-loop record: the backend ``network.run`` chose and the
    thread counts."""
    import numba
    import snnc
    program = getattr(network, "_program", None)
    return {"backend": getattr(program, "backend", None),
            "version": getattr(snnc, "__version__", None), "snnc_path": snnc.__file__,
            "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "cache_dir": os.environ.get("SNNC_CACHE_DIR")}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--measure", choices=["run", "compile"], default="run")
    p.add_argument("--backend", default="numba")
    args = p.parse_args()
    default_steps(args)
    if args.workload == "guide-loop":
        import loop
        from workloads import snnc_api
        emit({**loop.measure(args, snnc_api(), "snnc", lambda net: loop_sim_clock(net, args.steps),
                             describe_loop), **python_info()})
        return
    if args.workload in ("dc-train", "conversion"):
        import sample_loops
        from workloads import snnc_api
        record = (sample_loops.measure_dc_train(args, snnc_api(), "snnc", describe_loop)
                  if args.workload == "dc-train"
                  else sample_loops.measure_conversion(args, snnc_api(), "snnc", args.data))
        emit({**record, **python_info()})
        return
    with Timer() as t_import:
        import torch
        import snnc
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from workloads import snnc_api
        api = snnc_api()
    build = build_guide if args.workload == "guide" else build_recipe
    with Timer() as t_build:
        network, inputs, info = build(args, api)
    one = {k: v[:1].clone() for k, v in inputs.items()}
    record = {"system": "snnc", "backend": args.backend, "workload": args.workload,
              "neuron": args.neuron if args.workload == "guide" else "lif", "n": args.n,
              "steps": args.steps, "batch": args.batch, "measure": args.measure,
              "inputs": args.inputs if args.workload == "recipe" else "bernoulli",
              "cache_dir": os.environ.get("SNNC_CACHE_DIR"), "import_s": t_import.seconds,
              "build_s": t_build.seconds, "torch": torch.__version__, **info, **python_info()}
    with Timer() as t_compile:
        program = snnc.compile(network, backend=args.backend)
    with Timer() as t_first:
        program.run(inputs=one, time=1)
    record["compile_s"] = t_compile.seconds
    record["first_run_s"] = t_first.seconds            # includes loading/JIT of the run function
    record["first_run_sim_s"] = program.last_run.seconds
    record["compile_total_s"] = t_compile.seconds + t_first.seconds
    try:  # numba's own timers for the run function (private attributes: best effort)
        timers = [c.metadata.get("timers", {}) for c in program._last.run.overloads.values()]
        if timers:
            record["numba_compiler_lock_s"] = sum(t.get("compiler_lock", 0.0) for t in timers)
            record["numba_llvm_lock_s"] = sum(t.get("llvm_lock", 0.0) for t in timers)
    except AttributeError:
        pass
    record["process_s"] = time.perf_counter() - T_START
    if args.measure == "compile":
        # The same again in this process for a new network of the same structure, with
        # the loaded-module table cleared (as bench_guide.py does): the generated module
        # is re-imported and numba loads its machine code from the disk cache, but numba
        # and snnc are already imported and initialized. This isolates snnc's own
        # per-compile cost from the one-off cost of starting numba in a fresh process.
        from snnc.runtime import loader
        network2, inputs2, _ = build(args, api)
        loader._LOADED.clear()
        with Timer() as t2_compile:
            program2 = snnc.compile(network2, backend=args.backend)
        with Timer() as t2_first:
            program2.run(inputs={k: v[:1].clone() for k, v in inputs2.items()}, time=1)
        record["inproc_compile_s"] = t2_compile.seconds
        record["inproc_first_run_s"] = t2_first.seconds
        record["inproc_total_s"] = t2_compile.seconds + t2_first.seconds
    if args.measure == "run":
        runs, walls, spikes = [], [], []
        for _ in range(max(1, args.runs)):
            network.reset_state_variables()
            with Timer() as t_wall:
                program.run(inputs=inputs, time=args.steps)
            runs.append(program.last_run.seconds)
            walls.append(t_wall.seconds)
            spikes.append(common.run_spikes(network, args.workload))
        record["run_s"] = runs[0]                 # program.last_run.seconds
        record["run_wall_s"] = walls[0]           # the whole program.run call (binding, hand-back)
        record["runs"], record["run_walls"] = runs, walls
        record["steady_s"], record["steady_wall_s"] = steady(runs), steady(walls)
        record["per_sample_s"] = record["run_s"] / args.batch
        record.update(common.spike_counts(network, args.workload))
        record["output_spikes_runs"] = spikes
    emit(record)


if __name__ == "__main__":
    main()
