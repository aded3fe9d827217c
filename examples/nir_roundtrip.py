"""A snnTorch model through NIR into snnc: the same spikes, compiled.

Builds a snnTorch ``Linear -> Leaky -> Linear -> Leaky`` model (``reset_mechanism="zero"``,
NIR's reset), exports it with snnTorch's own ``export_to_nir``, loads the graph with
``snnc.nir.load`` and runs the same Bernoulli input spikes in both: snnTorch's eager
loop over steps, and snnc's numba backend (``one_step=True``: NIR's edges are
instantaneous). Prints whether the output spikes agree and both run times.

    python examples/nir_roundtrip.py [--inputs 100] [--hidden 400] [--outputs 10]
                                     [--steps 500] [--batch 32] [--out out]

Needs ``pip install snntorch==0.9.4 nir==1.0.8 nirtorch==2.0.5`` (the test extra).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch


def build(inputs: int, hidden: int, outputs: int):
    import snntorch as snn

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(inputs, hidden),
        snn.Leaky(beta=0.9, threshold=1.0, init_hidden=True, reset_mechanism="zero"),
        torch.nn.Linear(hidden, outputs),
        snn.Leaky(beta=0.95, threshold=1.0, init_hidden=True, output=True, reset_mechanism="zero"))
    with torch.no_grad():
        model[0].weight.mul_(4.0)
        model[2].weight.mul_(6.0)
    return model


def snntorch_run(model, spikes: torch.Tensor) -> torch.Tensor:
    from snntorch import utils

    utils.reset(model)
    with torch.no_grad():
        return torch.stack([model(spikes[t])[0] for t in range(spikes.shape[0])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=400)
    parser.add_argument("--outputs", type=int, default=10)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--out", default="out")
    args = parser.parse_args()

    import snnc
    import snnc.nir
    from snnc.network.monitors import Monitor
    from snntorch.export_nir import export_to_nir

    model = build(args.inputs, args.hidden, args.outputs)
    generator = torch.Generator().manual_seed(1)
    spikes = (torch.rand(args.steps, args.batch, args.inputs, generator=generator) < 0.2).float()
    graph = export_to_nir(model, spikes[0])
    network = snnc.nir.load(graph, dt=1e-4)         # snnTorch exports with dt = 1e-4 s
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    snnc.nir.write(network, out / "snntorch_model.nir", dt=1e-4)   # (nir.write refuses snnTorch's scalar params)
    last = list(network.layers)[-1]
    network.add_monitor(Monitor(network.layers[last], ["s"]), "out")
    program = snnc.compile(network, backend="numba")
    program.run({"input": spikes}, time=args.steps, one_step=True)      # compiles
    times = []
    for _ in range(3):
        network.reset_state_variables()
        start = time.perf_counter()
        program.run({"input": spikes}, time=args.steps, one_step=True)
        times.append(time.perf_counter() - start)
    ours = network.monitors["out"].get("s").float()

    snntorch_run(model, spikes[:2])                                       # warm up
    eager = []
    for _ in range(3):
        start = time.perf_counter()
        expected = snntorch_run(model, spikes)
        eager.append(time.perf_counter() - start)
    same = torch.equal(ours, expected)
    print(f"graph: {', '.join(f'{name} ({type(node).__name__})' for name, node in graph.nodes.items())}")
    print(f"output spikes: snnTorch {int(expected.sum())}, snnc {int(ours.sum())}, identical: {same}")
    print(f"{args.steps} steps, batch {args.batch}: snnTorch (eager, torch {torch.get_num_threads()} threads) "
          f"{1e3 * min(eager):.1f} ms, snnc numba {1e3 * min(times):.1f} ms: "
          f"{min(eager) / min(times):.1f}x")
    print(f"wrote {out / 'snntorch_model.nir'}")
    if not same:
        raise SystemExit("the spikes differ")


if __name__ == "__main__":
    main()
