"""Brian2 runner (run with benchmarks/.venvs/brian2/bin/python): the same workloads in
Brian2's cpp_standalone mode; print one JSON line.

    .venvs/brian2/bin/python benchmarks/runners/brian2_runner.py --workload recipe --n 5000
    .venvs/brian2/bin/python benchmarks/runners/brian2_runner.py --workload guide --guide-data G.npz

Model (BindsNET's LIFNodes defaults, unitless millivolts, dt = 1 ms):

    dv/dt = (rest - v) / tc_decay   threshold v >= thresh   reset v = reset   refractory 5 ms
    Synapses on_pre: v_post += w * int(not_refractory_post)

The ``int(not_refractory_post)`` factor reproduces BindsNET's semantics: a refractory
neuron ignores its input but keeps decaying (BindsNET masks the input, not the decay).
Brian2 applies a spike's synaptic effect in the step it is emitted (after the threshold),
BindsNET and snnc one step later before the threshold: the same network up to that
ordering.

What is timed: ``run_s`` is Brian2's own measurement of the simulation loop,
``device._last_run_time``: the generated ``Network::run`` (network.cpp) times its loop
over the time steps and ``main`` writes it to ``results/last_run_info.txt``, which
Brian2 reads back after the binary ran. It excludes code generation, compilation, the
binary's start-up (allocating arrays, loading the static arrays such as the weights,
creating synapses) and writing results. ``binary_wall_s`` is the wall time of the whole
binary (start-up included); ``build_s`` code generation + compilation. Without OpenMP
Network::run measures CPU time (std::clock), which equals wall time for its single thread.

The project is built in a persistent folder (``--build-dir``, default
benchmarks/out/brian2_build/<workload>-<n>): Brian2 rewrites only files whose content
changed, so repeats recompile nothing. ``--float64`` keeps Brian2's default double
precision; by default state and weights are float32, like snnc and BindsNET.

Inputs of the recipe: ``--inputs encoder`` uses a PoissonGroup at the shared rates
(its spikes are drawn inside the simulation loop, so they count in ``run_s``);
``--inputs raster`` replays the shared raster with a SpikeGeneratorGroup.
The guide reads its weights and Bernoulli inputs from ``--guide-data`` (written by
bench_compare.py from the same torch seed the other runners use).
"""
from __future__ import annotations

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import (BENCHMARKS, LIF, Timer, default_steps, emit, parser,  # noqa: E402
                    python_info, recipe_rates, recipe_weights)

import numpy as np  # noqa: E402
import warnings  # noqa: E402

# float32 state: Brian2's "abs(v) > 1e50" sanity check overflows in a harmless cast.
warnings.filterwarnings("ignore", message="overflow encountered in cast")
from pathlib import Path  # noqa: E402


def lif_group(b2, n):
    eqs = "dv/dt = (rest - v) / tau : 1"
    group = b2.NeuronGroup(n, eqs, threshold="v >= thresh", reset="v = v_reset",
                           refractory=LIF["refrac"] * b2.ms, method="exact",
                           namespace={"rest": LIF["rest"], "tau": LIF["tc_decay"] * b2.ms,
                                      "thresh": LIF["thresh"], "v_reset": LIF["reset"]})
    group.v = LIF["rest"]
    return group


def synapses(b2, source, target, name):
    return b2.Synapses(source, target, "w : 1", on_pre="v_post += w * int(not_refractory_post)",
                       name=name)


def spike_generator(b2, raster):
    steps, idx = np.nonzero(raster)
    order = np.lexsort((idx, steps))
    return b2.SpikeGeneratorGroup(raster.shape[1], idx[order].astype(np.int32),
                                  steps[order] * b2.ms)


def build_recipe(b2, args, info):
    if args.inputs == "raster":
        raster = np.load(args.raster)[:args.steps]
        source = spike_generator(b2, raster)
        info["input_spikes_per_step"] = float(raster.sum(1).mean())
    else:
        rates = recipe_rates(args)
        source = b2.PoissonGroup(args.n, rates=rates * b2.Hz)
        info["input_spikes_per_step"] = float(rates.sum() / 1000.0)   # expected
    target = lif_group(b2, args.n)
    syn = synapses(b2, source, target, "xy")
    syn.connect()  # all-to-all, i-major (i outer loop): w.ravel() is W[i, j]
    syn.w = recipe_weights(args.n, args.seed).ravel()
    return {"source": source, "target": target, "syn": syn}, [source, target, syn]


def build_guide(b2, args, info):
    data = np.load(args.guide_data)
    raster = data["inputs"][:args.steps]
    source = spike_generator(b2, raster)
    target = lif_group(b2, data["w_ab"].shape[1])
    ab = synapses(b2, source, target, "ab")
    ab.connect()
    ab.w = data["w_ab"].ravel()
    bb = synapses(b2, target, target, "bb")
    bb.connect(condition="i != j")          # w = 0.025 * (eye - 1): -0.025 off the diagonal
    bb.w = float(data["w_bb_off"])
    mons = [b2.SpikeMonitor(source, name="mon_a"), b2.SpikeMonitor(target, name="mon_b"),
            b2.StateMonitor(target, "v", record=True, name="mon_bv")]
    info["input_spikes_per_step"] = float(raster.sum(1).mean())
    return {"source": source, "target": target, "mon_b": mons[1]}, [source, target, ab, bb, *mons]


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--guide-data", type=Path, default=None)
    p.add_argument("--build-dir", type=Path, default=None)
    p.add_argument("--float64", action="store_true")
    p.add_argument("--clean", action="store_true", help="rebuild the project from scratch")
    args = p.parse_args()
    default_steps(args)
    if args.workload == "guide-loop":
        raise SystemExit("brian2 runner: no guide-loop case (a per-call loop of a standalone binary)")
    if args.workload == "guide" and args.batch != 1:
        raise SystemExit("brian2 runner: no batch dimension; run the guide with --batch 1")
    if args.workload == "guide" and args.guide_data is None:
        raise SystemExit("brian2 runner: --guide-data is required for the guide")
    import brian2 as b2
    name = (f"guide-{args.steps}" if args.workload == "guide"
            else f"recipe-{args.n}-{args.steps}-{args.inputs}")
    build_dir = args.build_dir or BENCHMARKS / "out" / "brian2_build" / name
    b2.set_device("cpp_standalone", directory=str(build_dir), build_on_run=False)
    if not args.float64:
        b2.prefs.core.default_float_dtype = np.float32
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    b2.defaultclock.dt = LIF["dt"] * b2.ms
    b2.seed(args.seed)
    info: dict = {}
    with Timer() as t_model:
        objs, members = (build_guide if args.workload == "guide" else build_recipe)(b2, args, info)
        net = b2.Network(*members)
        net.run(args.steps * b2.ms)
    with Timer() as t_build:
        b2.device.build(directory=str(build_dir), compile=True, run=False, clean=args.clean)
    with Timer() as t_bin:
        b2.device.run(directory=str(build_dir), with_output=False)
    record = {"system": "brian2", "version": b2.__version__, "device": "cpp_standalone",
              "workload": args.workload, "n": args.n, "steps": args.steps, "batch": 1,
              "inputs": ("bernoulli" if args.workload == "guide" else
                         "PoissonGroup" if args.inputs == "encoder" else "raster"),
              "float": "float64" if args.float64 else "float32",
              "model_s": t_model.seconds, "build_s": t_build.seconds,
              "binary_wall_s": t_bin.seconds, "run_s": float(b2.device._last_run_time),
              "build_dir": str(build_dir), **info, **python_info()}
    record["per_sample_s"] = record["run_s"]
    if args.workload == "guide":
        record["output_spikes"] = int(objs["mon_b"].num_spikes)
    if args.workload == "recipe" and args.n <= 2000:
        # check the synapse order assumed when assigning w.ravel()
        syn = objs["syn"]
        assert np.array_equal(np.asarray(syn.i[:]), np.repeat(np.arange(args.n), args.n))
    emit(record)


if __name__ == "__main__":
    main()
