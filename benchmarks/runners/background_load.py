"""A bounded multi-threaded snnc job, the background load of bench_loop.py.

    nice -n 19 python benchmarks/runners/background_load.py [--seconds 300] [--batch 64]

Rounds of: the guide network at batch 64 for ``--steps`` steps through ``network.run``
(numba's backend, parallel over the samples on all numba threads), a reset, then
``--matmuls`` products of two 512 x 512 float32 matrices with torch's default thread
count. Prints ``READY`` after the first round (compile, numba JIT or cache load), stops
by itself once ``--seconds`` have passed (or on SIGTERM) and prints one JSON line with
the number of rounds it did.
"""
from __future__ import annotations

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import emit  # noqa: E402

import torch  # noqa: E402

STOP = []


def one_round(network, inputs, steps: int, a, b, matmuls: int) -> None:
    network.run(inputs=inputs, time=steps)
    network.reset_state_variables()
    for _ in range(matmuls):
        torch.mm(a, b)


def main() -> None:
    import argparse
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=300.0, help="stop after this long")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--matmuls", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    deadline = time.monotonic() + args.seconds
    signal.signal(signal.SIGTERM, lambda *_: STOP.append(True))

    import numba
    from workloads import guide_inputs, guide_network, snnc_api
    torch.manual_seed(args.seed)
    network = guide_network(snnc_api(), args.steps)
    inputs = guide_inputs(args.steps, batch=args.batch)
    a, b = torch.randn(512, 512), torch.randn(512, 512)
    one_round(network, inputs, args.steps, a, b, args.matmuls)
    print("READY", flush=True)
    rounds, start = 0, time.monotonic()
    while not STOP and time.monotonic() < deadline:
        one_round(network, inputs, args.steps, a, b, args.matmuls)
        rounds += 1
    elapsed = time.monotonic() - start
    emit({"system": "snnc-background", "rounds": rounds, "seconds": elapsed,
          "rounds_per_s": rounds / elapsed if elapsed > 0 else None, "batch": args.batch,
          "steps": args.steps, "matmuls": args.matmuls, "stopped": "signal" if STOP else "deadline",
          "numba_threads": numba.config.NUMBA_NUM_THREADS, "torch_threads": torch.get_num_threads(),
          "backend": getattr(network._program, "backend", None), "nice": os.nice(0)})


if __name__ == "__main__":
    main()
