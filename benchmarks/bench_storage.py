"""The storage pass's choices, measured: sparse against dense weights over densities
0.5-9.5 %, and float16 against float32 weights (the seed guide's two tables).

    python benchmarks/bench_storage.py [--backend numba] [--n 2000] [--time 200]

Network: Input(n) -> LIFNodes(n) through a MulticompartmentConnection with one
``Weight`` (the seed guide's form; ``sparse=True`` for the sparse rows, ``value_dtype``
for the precision rows), Bernoulli(0.05) input spikes, batch 1, no learning.

For each row the program is compiled twice: with the storage the ``storage`` pass
chooses (``auto``), and with the storage forced to dense float32 (``storage=`` override),
on the same weights and inputs. Memory is what the compiled run holds for the
connection's weights (its bound arguments); time is the best of ``--repeats`` runs of
``--time`` steps per step. The target for sparse storage is at most 10 % of the dense
memory at 5 % density, and no slower; for float16, half the memory, no slower.
"""
from __future__ import annotations

import argparse
import time as clock

import torch

import snnc
from snnc.compiler import bind_arguments
from snnc.ir import record_network
from snnc.network import Network
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import MulticompartmentConnection
from snnc.network.topology_features import Weight

EDGE = ("A", "B")


def network(n: int, density: float, sparse: bool, dtype: torch.dtype) -> Network:
    torch.manual_seed(0)
    net = Network()
    source, target = Input(n=n), LIFNodes(n=n)
    net.add_layer(source, "A")
    net.add_layer(target, "B")
    w = 0.5 * torch.rand(n, n) * (torch.rand(n, n) < density)
    pipeline = [Weight("w", w, value_dtype=dtype, sparse=sparse)]
    net.add_connection(MulticompartmentConnection(source, target, "cpu", pipeline=pipeline), "A", "B")
    return net


def measure(net: Network, backend: str, steps: int, repeats: int, storage: dict | None) -> tuple:
    """(bytes of the connection's bound weights, seconds per step, storage decision)."""
    program = snnc.compile(net, backend=backend, storage=storage)
    inputs = {"A": torch.bernoulli(0.05 * torch.ones(steps, 1, net.layers["A"].n),
                                   generator=torch.Generator().manual_seed(1)).bool()}
    best = float("inf")
    for attempt in range(repeats + 1):
        net.reset_state_variables()
        start = clock.perf_counter()
        program.run(inputs, time=steps)
        if attempt:
            best = min(best, clock.perf_counter() - start)
    module = program._module()
    values = bind_arguments(record_network(net, input_dtypes={"A": torch.bool}), module)
    owned = [spec.name for spec in module.buffers if spec.role == "arg" and spec.owner == EDGE]
    held = sum(values[name].nbytes if values[name].layout == torch.strided else
               sum(t.nbytes for t in (values[name].crow_indices(), values[name].col_indices(),
                                      values[name].values()))
               for name in owned)
    decision = module.ir.edges[EDGE]["storage"]
    return held, best / steps, f"{decision['format']}:{decision['dtype']}"


def row(label: str, net: Network, args) -> None:
    auto = measure(net, args.backend, args.time, args.repeats, None)
    dense = measure(net, args.backend, args.time, args.repeats, {"A->B": "dense:float32"})
    print(f"{label:>14} | {auto[2]:>13} | {auto[0] / 2**20:9.3f} | {dense[0] / 2**20:9.3f} | "
          f"{100 * auto[0] / dense[0]:6.1f} % | {auto[1] * 1e6:9.2f} | {dense[1] * 1e6:9.2f} | "
          f"{dense[1] / auto[1]:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="numba")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--time", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"Input({args.n}) -> LIF({args.n}), MCC Weight, {args.time} steps, input rate 0.05, batch 1, "
          f"backend {args.backend}")
    print(f"{'weights':>14} | {'auto storage':>13} | {'auto MiB':>9} | {'dense MiB':>9} | {'memory':>8} | "
          f"{'auto us/st':>9} | {'dense us/st':>9} | speed")
    for tenths in (5, 15, 25, 35, 45, 50, 55, 65, 75, 85, 95):
        density = tenths / 1000
        row(f"sparse {100 * density:.1f} %", network(args.n, density, True, torch.float32), args)
    for dtype in (torch.float32, torch.float16):
        row(f"dense {str(dtype)[6:]}", network(args.n, 1.0, False, dtype), args)


if __name__ == "__main__":
    main()
