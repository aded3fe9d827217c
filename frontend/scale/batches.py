"""``snnc.scale.map_batches``: inference over a dataset, sharded across Ray workers.

The dataset is ``inputs``: a ``[N, T, *shape]`` tensor for the network's one input
layer, or a dict of them by layer name (samples first, as a dataset holds them). It is
cut into batches of ``batch_size`` samples; each worker process holds its own
copy of the network (the network and the dataset go into Ray's object store once, and
each worker process fetches them once; a batch is then just its index range), compiled
on first use, with learning off. Every batch starts from the network as it was given:
the worker resets the layers' state and puts back the connections' weights (a run ends
with BindsNET's weight normalisation, which would otherwise carry over to the next
batch), seeds torch's global generator from ``seed`` and the batch's first index, runs the
batch's ``T`` steps and calls ``fn(network, batch_inputs)``. A batch whose worker dies
is run again (``retries``).

The default ``fn`` returns the recordings of every monitor on a layer, samples first:
``{"monitor/var": [B, T, *shape]}``. ``fn`` may return a tensor, or a dict of tensors,
with the batch's samples along dim 0; the batches' results are concatenated in dataset
order. Anything else comes back as the list of per-batch results, in order. The results equal
a serial loop over the same batches with the same seeding, whichever worker ran each.

The caller's network is never changed. ``workers=0`` runs the batches in this process
(on a copy), without Ray.
"""
from __future__ import annotations

import warnings

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


def connection_tensors(network) -> list[torch.Tensor]:
    """Every tensor a connection object holds (weights, biases, a multicompartment
    connection's feature values, ...), found through its attributes; not its layers'."""
    skip = {id(network), *map(id, network.layers.values()), *map(id, network.monitors.values())}
    seen, found, stack = set(skip), {}, list(network.connections.values())
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, torch.Tensor):
            found[id(item)] = item
        elif isinstance(item, dict):
            stack += list(item.values())
        elif isinstance(item, (list, tuple)):
            stack += list(item)
        elif hasattr(item, "__dict__") and not isinstance(item, type):
            stack += list(vars(item).values())
    return list(found.values())


class BatchRunner:
    """A network (a copy: the caller's is never run) with learning off, running batches
    of one dataset."""

    def __init__(self, network, inputs: dict, steps: int, fn, threads: int | None = None) -> None:
        if threads is not None:
            limit_threads(threads)
        self.network, self.inputs, self.steps = network, inputs, steps
        self.fn = fn or monitor_recordings
        self.network.train(False)
        self.tensors = connection_tensors(network)
        self.saved = [tensor.detach().clone() for tensor in self.tensors]

    def run(self, start: int, stop: int, seed: int = 0):
        """Samples ``[start, stop)``, the global torch generator seeded by ``seed`` and
        ``start`` first (a model that draws, such as Diehl & Cook's choice among
        simultaneous spikes, draws the same numbers wherever the batch runs)."""
        network = self.network
        batch = {name: tensor[start:stop].transpose(0, 1) for name, tensor in self.inputs.items()}
        if network.batch_size != stop - start:
            network.set_batch_size(stop - start)
        network.reset_state_variables()
        with torch.no_grad():                                    # undo the last run's normalisation
            for tensor, saved in zip(self.tensors, self.saved):
                tensor.copy_(saved)
        torch.manual_seed(batch_seed(seed, start))
        network.run(inputs=batch, time=self.steps * network.dt)
        return self.fn(network, batch)


def batch_seed(seed: int, start: int) -> int:
    return (int(seed) * 1_000_003 + int(start)) % (2 ** 63)


def map_batches(network, inputs, *, batch_size: int = 64, fn=None, address: str | None = None,
                workers: int | None = None, threads: int = 1, retries: int = 2, seed: int = 0,
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
                results.append(runner.run(start, stop, seed))
                bar.update(1)
        else:
            results = _on_ray(network, inputs, steps, fn, ranges, address, workers, threads, retries, seed, bar)
    return _concatenate(results)


_RUNNERS: dict = {}          # in a worker process: the runners of the last datasets it served
_KEEP = 2


def _run_batch(refs: list, steps: int, fn, threads: int, seed: int, start: int, stop: int):
    """A Ray task: batch ``[start, stop)`` on this process's runner for the network and
    dataset in ``refs`` (object refs, passed inside a list so that Ray does not fetch them
    for every batch: a process fetches them, and compiles, once)."""
    import ray

    key = tuple(ref.hex() for ref in refs)
    runner = _RUNNERS.get(key)
    if runner is None:
        network, arrays = ray.get(refs)
        with warnings.catch_warnings():                 # the store's arrays are read-only; runs only read them
            warnings.simplefilter("ignore", UserWarning)
            inputs = {name: torch.from_numpy(array) for name, array in arrays.items()}
        runner = _RUNNERS[key] = BatchRunner(network, inputs, steps, fn, threads)
        while len(_RUNNERS) > _KEEP:
            _RUNNERS.pop(next(iter(_RUNNERS)))
    return runner.run(start, stop, seed)


def _on_ray(network, inputs, steps, fn, ranges, address, workers, threads, retries, seed, bar) -> list:
    ray = connect(address)
    limit = workers or max(1, cluster_cores(ray) // threads)
    task = ray.remote(_run_batch).options(num_cpus=threads, runtime_env=worker_env(threads, address is None),
                                          max_retries=retries)
    arrays = {name: tensor.cpu().numpy() for name, tensor in inputs.items()}   # shared, not copied, on a node
    refs = [ray.put(network), ray.put(arrays)]          # into the object store once
    results: list = [None] * len(ranges)
    queue = iter(range(len(ranges)))
    pending: dict = {}

    def submit() -> None:
        index = next(queue, None)
        if index is not None:
            pending[task.remote(refs, steps, fn, threads, seed, *ranges[index])] = index

    for _ in range(2 * limit):      # two batches in flight per worker: no idle gap between them
        submit()
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        results[pending.pop(ready[0])] = ray.get(ready[0])
        bar.update(1)
        submit()
    return results


def _concatenate(results: list):
    if results and all(isinstance(result, torch.Tensor) for result in results):
        return torch.cat(results, dim=0)
    if results and all(isinstance(result, dict) and result.keys() == results[0].keys()
                       and all(isinstance(v, torch.Tensor) for v in result.values()) for result in results):
        return {key: torch.cat([result[key] for result in results], dim=0) for key in results[0]}
    return results


__all__ = ["BatchRunner", "batch_seed", "connection_tensors", "map_batches", "monitor_recordings"]
