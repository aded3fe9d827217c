"""The user guide's network (Input(100) -> LIF(1000) + recurrent LIF -> LIF, 500 steps),
compiled and run with snnc: prints the IR, the compile and run timings and the spike
counts, and saves a raster plot.

    python examples/guide_network.py [--backend torch] [--out out]
"""
from __future__ import annotations

import argparse
import time as clock
from pathlib import Path

import torch

import snnc
from snnc.compiler.ir_text import format_text
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection


def build_guide_network(time: int = 500, n_input: int = 100, n_output: int = 1000) -> Network:
    """The network of the guide's "Running Simulations" section."""
    network = Network()
    source_layer = Input(n=n_input)
    target_layer = LIFNodes(n=n_output)
    network.add_layer(layer=source_layer, name="A")
    network.add_layer(layer=target_layer, name="B")
    forward = Connection(source=source_layer, target=target_layer,
                         w=0.05 + 0.1 * torch.randn(source_layer.n, target_layer.n))
    network.add_connection(connection=forward, source="A", target="B")
    recurrent = Connection(source=target_layer, target=target_layer,
                           w=0.025 * (torch.eye(target_layer.n) - 1))
    network.add_connection(connection=recurrent, source="B", target="B")
    network.add_monitor(Monitor(obj=source_layer, state_vars=("s",), time=time), name="A")
    network.add_monitor(Monitor(obj=target_layer, state_vars=("s", "v"), time=time), name="B")
    return network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="auto", help="auto (numba on CPU), torch, numba or numba-cuda")
    parser.add_argument("--time", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    start = clock.perf_counter()
    network = build_guide_network(args.time)
    built = clock.perf_counter() - start
    inputs = {"A": torch.bernoulli(0.1 * torch.ones(args.time, network.layers["A"].n)).byte()}

    program = snnc.compile(network, backend=args.backend)
    program.run(inputs=inputs, time=args.time)

    print("== IR ==")
    print(format_text(program.ir))
    print("\n== timings ==")
    print(f"build             {built * 1e3:9.3f} ms")
    print(program.report())
    spikes = {name: network.monitors[name].get("s") for name in ("A", "B")}
    print("\n== spikes ==")
    for name, record in spikes.items():
        total = int(record.sum())
        rate = total / (record.shape[0] * record[0].numel()) * 1000.0 / network.dt
        print(f"layer {name}: {total} spikes over {record.shape[0]} steps "
              f"({rate:.1f} Hz per neuron)")

    from snnc.analysis.plotting import plot_spikes, plot_voltages
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.mkdir(parents=True, exist_ok=True)
    plot_spikes(spikes)
    plt.savefig(args.out / "guide_raster.png", dpi=120)
    plot_voltages({"B": network.monitors["B"].get("v")}, n_neurons={"B": (0, 100)})
    plt.savefig(args.out / "guide_voltages.png", dpi=120)
    network.save(args.out / "guide_network.pt")
    print(f"\nwrote {args.out / 'guide_raster.png'}, {args.out / 'guide_voltages.png'} and "
          f"{args.out / 'guide_network.pt'} (inspect it with: snnc ir {args.out / 'guide_network.pt'})")


if __name__ == "__main__":
    main()
