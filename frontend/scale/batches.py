"""``snnc.scale.map_batches``: inference over a dataset, sharded across Ray workers.

The dataset is ``inputs``: a ``[N, T, *shape]`` tensor for the network's one input
layer, or a dict of them by layer name (samples first, as a dataset holds them). It is
cut into batches of ``batch_size`` samples; each worker is a Ray actor holding its own
copy of the network (the network and the dataset travel once per worker, through Ray's
object store; a batch is then just its index range), compiled on first use, with
learning off. For every batch the worker resets the network's state, runs the batch's
``T`` steps and calls ``fn(network, batch_inputs)``.

The default ``fn`` returns the recordings of every monitor on a layer, samples first:
``{"monitor/var": [B, T, *shape]}``. ``fn`` may return a tensor, or a dict of tensors,
with the batch's samples along dim 0; the batches' results are concatenated in dataset
order. Anything else comes back as the list of per-batch results, in order.

The caller's network is never changed. ``workers=0`` runs the batches in this process
(on a copy), without Ray.
"""
from __future__ import annotations

import torch

from snnc.errors import SnncError
from snnc.scale.cluster import check_threads, cluster_cores, connect, limit_threads, worker_env


def monitor_recordings(network, inputs: dict) -> dict:
    """Every layer monitor's recordings of the batch just run, ``[B, T, ...]``."""
    layers = set(map(id, network.layers.values()))
    return {f"{name}/{var}": monitor.get(var).transpose(0, 1).clone()
            for name, monitor in network.monitors.items() if id(getattr(monitor, "obj", None)) in layers
            for var in monitor.state_vars}


def _dataset(network, inputs) -> tuple[dict, int, int]:
    if isinstance(inputs, torch.Tensor):
        from snnc.network.nodes import AbstractInput

        names = [name for name, layer in network.layers.items() if isinstance(layer, AbstractInput)]
        if len(names) != 1:
            raise SnncError(f"snnc.scale.map_batches: a tensor of inputs needs exactly one input layer; the "
                            f"network has {names}: pass a dict of tensors by layer name")
        inputs = {names[0]: inputs}
    if not isinstance(inputs, dict) or not inputs:
        raise SnncError("snnc.scale.map_batches: inputs must be a [N, T, ...] tensor or a dict of them")
    sizes = set()
    for name, tensor in inputs.items():
        if name not in network.layers:
            raise SnncError(f"snnc.scale.map_batches: inputs name {name!r}, which is not a layer of the network")
        if not isinstance(tensor, torch.Tensor) or tensor.dim() < 3:
            raise SnncError(f"snnc.scale.map_batches: inputs[{name!r}] must be a [N, T, *shape] tensor "
                            f"(samples first), got {getattr(tensor, 'shape', type(tensor).__name__)}")
        sizes.add(tuple(tensor.shape[:2]))
    if len(sizes) != 1:
        raise SnncError(f"snnc.scale.map_batches: the inputs disagree on [N, T]: {sorted(sizes)}")
    (samples, steps), = sizes
    return inputs, samples, steps


class BatchRunner:
    """A copy of the network with learning off, running batches of one dataset."""

    def __init__(self, network, inputs: dict, steps: int, fn, threads: int | None = None) -> None:
        if threads is not None:
            limit_threads(threads)
        self.network, self.inputs, self.steps = network, inputs, steps
        self.fn = fn or monitor_recordings
        self.network.train(False)

    def run(self, start: int, stop: int):
        network = self.network
        batch = {name: tensor[start:stop].transpose(0, 1) for name, tensor in self.inputs.items()}
        if network.batch_size != stop - start:
            network.set_batch_size(stop - start)
        network.reset_state_variables()
        network.run(inputs=batch, time=self.steps * network.dt)
        return self.fn(network, batch)


def map_batches(network, inputs, *, batch_size: int = 64, fn=None, address: str | None = None,
                workers: int | None = None, threads: int = 1, retries: int = 2,
                progress_bar: bool = True):
    """Run ``network`` (learning off) over ``inputs`` in batches, sharded across workers;
    the results in dataset order (see the module's docstring)."""
    inputs, samples, steps = _dataset(network, inputs)
    check_threads(threads)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise SnncError(f"snnc.scale.map_batches: batch_size must be a positive int, got {batch_size!r}")
    ranges = [(start, min(samples, start + batch_size)) for start in range(0, samples, batch_size)]
    from tqdm.auto import tqdm

    with tqdm(total=len(ranges), unit="batch", disable=not progress_bar, desc="map_batches") as bar:
        if workers == 0:
            runner = BatchRunner(network.clone(), inputs, steps, fn)
            results = []
            for start, stop in ranges:
                results.append(runner.run(start, stop))
                bar.update(1)
        else:
            results = _on_ray(network, inputs, steps, fn, ranges, address, workers, threads, retries, bar)
    return _concatenate(results)


def _on_ray(network, inputs, steps, fn, ranges, address, workers, threads, retries, bar) -> list:
    ray = connect(address)
    count = min(len(ranges), workers or max(1, cluster_cores(ray) // threads))
    actor = ray.remote(BatchRunner).options(num_cpus=threads, runtime_env=worker_env(threads, address is None),
                                             max_restarts=retries, max_task_retries=retries)
    network_ref, inputs_ref = ray.put(network), ray.put(inputs)    # once, whatever the worker count
    runners = [actor.remote(network_ref, inputs_ref, steps, fn, threads) for _ in range(count)]
    results: list = [None] * len(ranges)
    queue = iter(range(len(ranges)))
    pending: dict = {}

    def submit(runner) -> None:
        index = next(queue, None)
        if index is not None:
            pending[runner.run.remote(*ranges[index])] = (index, runner)

    for runner in runners:          # two batches in flight per worker: no idle gap between them
        submit(runner)
        submit(runner)
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        index, runner = pending.pop(ready[0])
        results[index] = ray.get(ready[0])
        bar.update(1)
        submit(runner)
    for runner in runners:
        ray.kill(runner)
    return results


def _concatenate(results: list):
    if results and all(isinstance(result, torch.Tensor) for result in results):
        return torch.cat(results, dim=0)
    if results and all(isinstance(result, dict) and result.keys() == results[0].keys()
                       and all(isinstance(v, torch.Tensor) for v in result.values()) for result in results):
        return {key: torch.cat([result[key] for result in results], dim=0) for key in results[0]}
    return results


__all__ = ["BatchRunner", "map_batches", "monitor_recordings"]
