"""BindsNET 0.3.4 runner (run with benchmarks/.venvs/bindsnet/bin/python): build a
workload with BindsNET's own classes, time ``network.run`` only; print one JSON line.

    .venvs/bindsnet/bin/python benchmarks/runners/bindsnet_runner.py --workload guide [--batch 64] [--neuron izh]
    .venvs/bindsnet/bin/python benchmarks/runners/bindsnet_runner.py --workload recipe --n 5000
    .venvs/bindsnet/bin/python benchmarks/runners/bindsnet_runner.py --workload guide-loop  # runners/loop.py

The guide network (and its variants with AdaptiveLIF, Izhikevich or CurrentLIF output
neurons, ``--neuron``) is built by benchmarks/workloads.py's ``guide_network`` with
BindsNET's classes as the ``api``. The recipe (BindsNET's published benchmark: Poisson inputs at
rates U(0, 100) Hz, all-to-all N(0, 1) weights to as many LIF neurons, no monitors) encodes
its inputs with ``bindsnet.encoding.poisson`` (timed apart, as ``encode_s``) or reads the
shared raster (``--inputs raster``).
"""
from __future__ import annotations

import os
import sys
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import common  # noqa: E402
from common import (Timer, default_steps, emit, parser, python_info, recipe_rates,  # noqa: E402
                    recipe_weights, steady)

import _bindsnet_compat  # noqa: E402

_bindsnet_compat.prepare()

import torch  # noqa: E402
import bindsnet  # noqa: E402,F401
from bindsnet.network import Network  # noqa: E402
from bindsnet.network.monitors import Monitor  # noqa: E402
from bindsnet.network.nodes import (AdaptiveLIFNodes, CurrentLIFNodes, Input,  # noqa: E402
                                    IzhikevichNodes, LIFNodes)
from bindsnet.network.topology import Connection  # noqa: E402
from bindsnet.models import DiehlAndCook2015  # noqa: E402
from bindsnet.conversion import ann_to_snn  # noqa: E402

API = SimpleNamespace(Network=Network, Input=Input, LIFNodes=LIFNodes,
                      AdaptiveLIFNodes=AdaptiveLIFNodes, IzhikevichNodes=IzhikevichNodes,
                      CurrentLIFNodes=CurrentLIFNodes, Connection=Connection, Monitor=Monitor,
                      DiehlAndCook2015=DiehlAndCook2015, ann_to_snn=ann_to_snn)
BINDSNET_VERSION = getattr(bindsnet, "__version__", "0.3.4")


def build_guide(args):
    from workloads import guide_inputs, guide_network
    torch.manual_seed(args.seed)
    network = guide_network(API, args.steps, neuron=args.neuron)
    inputs = guide_inputs(args.steps, batch=args.batch)
    return network, inputs, {}


def build_recipe(args):
    from bindsnet.encoding import poisson
    return common.build_recipe(args, API, poisson)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads (default: torch's own choice)")
    p.add_argument("--no-warmup", action="store_true",
                   help="time the process's first network.run (torch's lazy start-up included)")
    args = p.parse_args()
    default_steps(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.workload == "guide-loop":
        import loop
        emit({**loop.measure(args, API, "bindsnet"), "version": BINDSNET_VERSION, **python_info()})
        return
    if args.workload in ("dc-train", "conversion"):
        import sample_loops
        record = (sample_loops.measure_dc_train(args, API, "bindsnet") if args.workload == "dc-train"
                  else sample_loops.measure_conversion(args, API, "bindsnet", args.data))
        emit({**record, "version": BINDSNET_VERSION, **python_info()})
        return
    build = build_guide if args.workload == "guide" else build_recipe
    with Timer() as t_build:
        network, inputs, info = build(args)
    if not args.no_warmup:
        # one step first, so that torch's lazy start-up (thread pool, kernels) is not
        # timed, as snnc's runner does a 1-step run before its timed run; then reset.
        # (a clone: BindsNET's Input keeps a view of its input as ``s`` and
        # reset_state_variables zeroes ``s`` in place, which would zero step 0 of ours)
        network.run(inputs={k: v[:1].clone() for k, v in inputs.items()}, time=1)
        network.reset_state_variables()
    runs, spikes = [], []
    # fresh copies per run: BindsNET's Input keeps a view of the input as ``s``, which
    # reset_state_variables zeroes in place
    pristine = {key: v.clone() for key, v in inputs.items()} if args.runs > 1 else None
    for k in range(max(1, args.runs)):
        if k:
            network.reset_state_variables()
        run_inputs = inputs if k == 0 else {key: v.clone() for key, v in pristine.items()}
        with Timer() as t_run:
            network.run(inputs=run_inputs, time=args.steps)
        runs.append(t_run.seconds)
        spikes.append(common.run_spikes(network, args.workload))
    record = {"system": "bindsnet", "version": BINDSNET_VERSION, "workload": args.workload,
              "neuron": args.neuron if args.workload == "guide" else "lif",
              "n": args.n, "steps": args.steps,
              "batch": args.batch, "inputs": args.inputs if args.workload == "recipe" else "bernoulli",
              "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
              "warmup": not args.no_warmup, "build_s": t_build.seconds, "run_s": runs[0], "runs": runs,
              "steady_s": steady(runs), "per_sample_s": runs[0] / args.batch, **info, **python_info()}
    record.update(common.spike_counts(network, args.workload))
    record["output_spikes_runs"] = spikes
    emit(record)


if __name__ == "__main__":
    main()
