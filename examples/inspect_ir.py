"""What snnc makes of a network: its IR after every compiler pass and the generated
source for every backend, written to files you can read or diff.

The network is the Diehl & Cook model (64 inputs, 25 excitatory neurons) learning with
PostPre, whose connections are feature pipelines: the ``fuse`` pass folds them into
dense connections, ``fuse_learning`` moves the rule's terms into the excitatory
layer's update kernel on numba-cuda, and each backend writes its own code.

    python examples/inspect_ir.py [--out out/ir]

The same views from the command line: ``snnc ir NET.pt --after fuse``, ``snnc passes``,
``snnc ir NET.pt --backend numba --source``; ``SNNC_DEBUG=2`` logs them while compiling.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

import snnc
from snnc.compiler import CompileOptions, pass_names, run_pipeline
from snnc.compiler.ir_text import format_text
from snnc.ir import record_network
from snnc.models import DiehlAndCook2015

BACKENDS = ("torch", "numba", "numba-cuda")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/ir")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    network = DiehlAndCook2015(n_inpt=64, n_neurons=25)
    ir = record_network(network, input_dtypes={"X": torch.bool})
    for backend in BACKENDS:
        previous = None
        for k, name in enumerate(pass_names()):
            lowered, _ = run_pipeline(ir, CompileOptions(backend=backend), stop_after=name)
            text = format_text(lowered)
            path = out / f"{backend}_{k}_{name}.txt"
            path.write_text(text + "\n")
            changed = "unchanged" if text == previous else f"{len(text.splitlines())} lines"
            print(f"{backend:10s} after {name:13s} -> {path} ({changed})")
            previous = text
        program = snnc.compile(network, backend=backend)
        source = out / f"{backend}_generated.py"
        source.write_text(program.source)
        print(f"{backend:10s} generated source -> {source} ({len(program.source.splitlines())} lines)")
    schedule = run_pipeline(ir, CompileOptions(backend="numba-cuda"), stop_after="fuse_learning")[0]
    print("\nnumba-cuda's step, after fuse_learning:")
    for op in schedule.graph["schedule"]:
        print("   ", op.label())


if __name__ == "__main__":
    main()
