"""The user guide's MulticompartmentConnection (Weight then Bias, Input(100) -> LIF(1000)),
snnc against BindsNET 0.3.4 on the same network, weights and inputs, in one run.

    python benchmarks/bench_mcc.py [--backend numba] [--time 500] [--repeats 5]

The parent process times snnc and starts ``benchmarks/.venvs/bindsnet/bin/python`` on
this same file with ``--system bindsnet`` (``bash benchmarks/setup_oracles.sh`` makes
that venv). Both build the network through their own API from the same seed, run
Bernoulli(0.1) input spikes for ``--time`` steps with monitors on the target's ``s`` and
``v``, and report the best of ``--repeats`` timed runs (after one warm-up run) and the
spike count (the two must agree). Prints ms per run and the speed-up (issue 8's target:
at least 20x on the numba backend). ``--learning`` adds MCC PostPre on the Weight.
``--sparse DENSITY`` measures the storage workload instead: Input(2000) -> LIF(2000)
through one ``Weight(sparse=True)`` of that density (values 0.5·U(0, 1)), Bernoulli(0.05)
input, 200 steps (use ``--time 200``), no Bias, no learning; snnc's storage pass stores
it as CSR, BindsNET as a torch sparse tensor. ``--json PATH`` writes both records.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time as clock
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
BINDSNET_PYTHON = HERE / ".venvs" / "bindsnet" / "bin" / "python"


def build(system: str, learning: bool, dtype: str, sparse: float | None = None):
    if system == "bindsnet":
        sys.path.insert(0, str(HERE / "runners"))
        from _bindsnet_compat import prepare

        prepare()
        from bindsnet.learning.MCC_learning import PostPre
        from bindsnet.network import Network
        from bindsnet.network.monitors import Monitor
        from bindsnet.network.nodes import Input, LIFNodes
        from bindsnet.network.topology import MulticompartmentConnection
        from bindsnet.network.topology_features import Bias, Weight
    else:
        from snnc.learning.MCC_learning import PostPre
        from snnc.network import Network
        from snnc.network.monitors import Monitor
        from snnc.network.nodes import Input, LIFNodes
        from snnc.network.topology import MulticompartmentConnection
        from snnc.network.topology_features import Bias, Weight
    torch.manual_seed(0)
    network = Network()
    n_source, n_target = (100, 1000) if sparse is None else (2000, 2000)
    source = Input(n=n_source, traces=learning)
    target = LIFNodes(n=n_target, traces=learning)
    network.add_layer(source, name="A")
    network.add_layer(target, name="B")
    if sparse is not None:
        w = 0.5 * torch.rand(n_source, n_target) * (torch.rand(n_source, n_target) < sparse)
        pipeline = [Weight(name="weight_feature", value=w, sparse=True)]
        network.add_connection(MulticompartmentConnection(source, target, "cpu", pipeline=pipeline), "A", "B")
        network.add_monitor(Monitor(target, ("s", "v")), name="B")
        return network
    rule = dict(learning_rule=PostPre, nu=(1e-4, 1e-3), range=[0.0, 1.0]) if learning else {}
    weight = Weight(name="weight_feature", value=0.05 * torch.rand(100, 1000), value_dtype=getattr(torch, dtype), **rule)
    bias = Bias(name="bias_feature", value=1e-4 * torch.rand(100, 1000))
    network.add_connection(MulticompartmentConnection(source, target, "cpu", pipeline=[weight, bias]), "A", "B")
    network.add_monitor(Monitor(target, ("s", "v")), name="B")
    network.learning = learning
    return network


def measure(system: str, backend: str, steps: int, repeats: int, learning: bool, dtype: str,
            sparse: float | None = None) -> dict:
    network = build(system, learning, dtype, sparse)
    n, rate = (100, 0.1) if sparse is None else (2000, 0.05)
    inputs = {"A": torch.bernoulli(rate * torch.ones(steps, 1, n), generator=torch.Generator().manual_seed(1))}
    if system == "snnc":
        import snnc

        runner = snnc.compile(network, backend=backend).run
    else:
        runner = network.run
    times, spikes = [], None
    for attempt in range(repeats + 1):
        network.reset_state_variables()
        start = clock.perf_counter()
        runner(inputs=inputs, time=steps)
        elapsed = clock.perf_counter() - start
        if attempt:
            times.append(elapsed)
        if spikes is None:
            spikes = int(network.monitors["B"].get("s").sum())
    return {"system": system, "seconds": min(times), "spikes_first_run": spikes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--system", choices=["both", "snnc", "bindsnet"], default="both")
    parser.add_argument("--backend", default="numba")
    parser.add_argument("--time", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--learning", action="store_true")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    parser.add_argument("--sparse", type=float, default=None, metavar="DENSITY")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.system != "both":
        print(json.dumps(measure(args.system, args.backend, args.time, args.repeats, args.learning, args.dtype,
                                 args.sparse)))
        return
    mine = measure("snnc", args.backend, args.time, args.repeats, args.learning, args.dtype, args.sparse)
    if not BINDSNET_PYTHON.exists():
        sys.exit(f"{BINDSNET_PYTHON} is missing; run bash benchmarks/setup_oracles.sh first")
    command = [str(BINDSNET_PYTHON), __file__, "--system", "bindsnet", "--time", str(args.time),
               "--repeats", str(args.repeats), "--dtype", args.dtype] + (["--learning"] if args.learning else []) \
        + (["--sparse", str(args.sparse)] if args.sparse is not None else [])
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    if done.returncode:
        sys.exit(done.stderr)
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    what = "PostPre learning" if args.learning else "no learning"
    if args.json is not None:
        args.json.write_text(json.dumps({"snnc": mine, "bindsnet": theirs, "args": vars(args)}, default=str))
    if args.sparse is not None:
        print(f"MCC Weight(sparse, density {args.sparse:g}), Input(2000) -> LIF(2000), {args.time} steps, "
              f"batch 1, 1 thread")
    else:
        print(f"MCC Weight({args.dtype}) + Bias, Input(100) -> LIF(1000), {args.time} steps, batch 1, {what}, "
              f"1 thread")
    print(f"snnc ({args.backend}): {mine['seconds'] * 1e3:9.2f} ms/run   spikes {mine['spikes_first_run']}")
    print(f"BindsNET 0.3.4:  {theirs['seconds'] * 1e3:9.2f} ms/run   spikes {theirs['spikes_first_run']}")
    print(f"speed-up:        {theirs['seconds'] / mine['seconds']:9.1f}x")


if __name__ == "__main__":
    main()
