"""The ``snnc`` command: ``snnc ir NET.pt [--format text|json|dot] [--after PASS]``, ``snnc passes``
and ``snnc sweep SCRIPT.py --grid key=v1,v2 ...`` (:mod:`snnc.scale.script`)."""
from __future__ import annotations

import argparse
import sys

import torch

from snnc.compiler import CompileOptions, pass_names, run_pipeline
from snnc.compiler.ir_text import FORMATS
from snnc.errors import SnncError
from snnc.ir import record_network
from snnc.network import load
from snnc.network.nodes import AbstractInput
from snnc.scale.script import add_parser as add_sweep_parser


def _ir_command(args: argparse.Namespace) -> int:
    network = load(args.network)
    inputs = {name: torch.float32 for name, layer in network.layers.items()
              if isinstance(layer, AbstractInput)}
    ir = record_network(network, input_dtypes=inputs, one_step=args.one_step)
    stop = args.after or pass_names()[-1]
    lowered, _ = run_pipeline(ir, CompileOptions(backend=args.backend), stop_after=stop)
    print(FORMATS[args.format](lowered))
    if args.source and "source" in lowered.graph:
        print(lowered.graph["source"])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snnc", description="snnc: compile spiking networks")
    commands = parser.add_subparsers(dest="command", required=True)
    ir = commands.add_parser("ir", help="print the IR of a saved network")
    ir.add_argument("network", help="a file written by Network.save")
    ir.add_argument("--format", choices=sorted(FORMATS), default="text")
    ir.add_argument("--after", choices=pass_names(), help="stop after this pass (default: all)")
    ir.add_argument("--backend", default="torch")
    ir.add_argument("--one-step", action="store_true", help="schedule for one_step mode")
    ir.add_argument("--source", action="store_true", help="also print the generated source")
    ir.set_defaults(handler=_ir_command)
    commands.add_parser("passes", help="list the compiler passes").set_defaults(
        handler=lambda args: print("\n".join(pass_names())) or 0)
    add_sweep_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (SnncError, FileNotFoundError) as error:
        print(f"snnc: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
