"""Workloads measured as a loop over samples, shared by the snnc and BindsNET runners.

``dc-train``: Diehl & Cook training (workloads.dc_network, 784 -> ``--n`` excitatory ->
``--n`` inhibitory neurons, PostPre learning on, monitors on every layer's spikes and
both neuron layers' voltages), batch 1. Each sample is ``network.run(inputs={"X":
raster}, time=steps)`` (250 steps) then ``network.reset_state_variables()``; the rasters
(workloads.dc_samples) are the same in every system. One untimed sample first (snnc
compiles there through ``network.run``'s default backend, numba loads or JIT-compiles;
BindsNET starts torch), then ``--runs`` timed passes over ``--samples`` samples, each
pass timed whole. The weights keep learning across passes, as in training.

``conversion``: the digits MLP of examples/ann_to_snn.py converted by each system's own
``ann_to_snn`` (data-based normalisation from the training images), run on ``--batch``
test images at once as constant input currents for ``--steps`` steps (default 100).
One untimed one-step run first, then ``--runs`` timed runs, each after a reset; the
figure per sample is the run's time / batch. The accuracy of the output layer's summed
input (arg-max) is reported as the sanity figure.
"""
from __future__ import annotations

import statistics
import time

import torch

from common import steady


def _feeds(samples: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    """Copies of the rasters, made outside the timing (BindsNET's reset zeroes its input
    layer's ``s``, a view of the input, in place)."""
    return [{"X": sample.clone()} for sample in samples]


def measure_dc_train(args, api, system: str, describe=None) -> dict:
    from workloads import dc_network, dc_samples
    torch.manual_seed(args.seed)
    network = dc_network(api, args.n, args.steps)
    samples, source = dc_samples(args.samples + 1, args.steps, seed=args.seed)
    warm_start = time.perf_counter()
    network.run(inputs={"X": samples[0].clone()}, time=args.steps)
    network.reset_state_variables()
    record = {"system": system, "workload": "dc-train", "n": args.n, "samples": args.samples,
              "steps": args.steps, "batch": 1, "inputs": source, "warmup_s": time.perf_counter() - warm_start,
              "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    if describe is not None:
        record.update(describe(network))
    loops, spikes = [], []
    monitor = network.monitors["Ae_spikes"]
    for _ in range(max(1, args.runs)):
        feeds = _feeds(samples[1:])
        count = 0
        start = time.perf_counter()
        for feed in feeds:
            network.run(inputs=feed, time=args.steps)
            count += int(monitor.get("s").sum())          # the monitor is read in training loops
            network.reset_state_variables()
        loops.append(time.perf_counter() - start)
        spikes.append(count)
    record.update({"run_s": loops[0], "runs": loops, "steady_s": steady(loops),
                   "per_sample_s": statistics.median(loops) / args.samples,
                   "ms_per_sample_passes": [x / args.samples * 1e3 for x in loops],
                   "output_spikes": spikes[0], "output_spikes_runs": spikes})
    return record


def measure_conversion(args, api, system: str, data_path) -> dict:
    from workloads import conversion_mlp
    data = torch.load(data_path)
    mlp = conversion_mlp()
    mlp.load_state_dict(data["state"])
    mlp.eval()
    network = api.ann_to_snn(mlp, input_shape=(64,), data=data["train_x"])
    test_x, test_y = data["test_x"][:args.batch], data["test_y"][:args.batch]
    output = network.layers[list(network.layers)[-1]]
    currents = test_x.unsqueeze(0).expand(args.steps, *test_x.shape).contiguous()
    network.run(inputs={"Input": currents[:1].clone()}, time=1)
    runs, accuracy = [], []
    for _ in range(max(1, args.runs)):
        network.reset_state_variables()
        feed = {"Input": currents.clone()}
        start = time.perf_counter()
        network.run(inputs=feed, time=args.steps)
        runs.append(time.perf_counter() - start)
        answers = output.summed.view(len(test_x), -1).argmax(1)
        accuracy.append(100.0 * float((answers == test_y).float().mean()))
    return {"system": system, "workload": "conversion", "steps": args.steps, "batch": len(test_x),
            "inputs": "digits", "run_s": runs[0], "runs": runs, "steady_s": steady(runs),
            "per_sample_s": statistics.median(runs) / len(test_x), "accuracy": accuracy[0],
            "output_spikes": None, "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
