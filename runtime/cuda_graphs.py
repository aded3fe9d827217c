"""torch on CUDA: a run replayed from a captured CUDA graph.

For a given network, batch and number of steps, the torch backend's run is a fixed
sequence of kernels (on CUDA, propagation is a matrix product: nothing in the loop
waits for the host). From the second call with the same bound arguments, batch and
steps, the runtime captures the whole call, every step, as one CUDA graph, and from
then on replays it: one graph launch per run, no Python per step. Before a replay the
call's own arguments (inputs, random numbers, masks, rule inputs) are copied into the
graph's buffers; after it each recording is copied out of the graph's buffer into the
monitor's fresh one, since the next replay overwrites the graph's.

:func:`applies` says when: the torch backend on a CUDA device, without a progress bar
(which needs control back between chunks of steps), without opaque ops (their Python
may do anything, a host sync included), unless ``SNNC_CUDA_GRAPHS=0``.
"""
from __future__ import annotations

import os
from typing import Callable

import torch

from snnc.compiler.ops.opaque import is_opaque


def applies(backend: str, device: torch.device, progress_bar: bool, opaque: Callable[[], bool]) -> bool:
    """``opaque``: whether the network has opaque ops, asked last (it walks the IR)."""
    return (backend == "torch" and device.type == "cuda" and not progress_bar
            and os.environ.get("SNNC_CUDA_GRAPHS", "1") != "0" and not opaque())


def replayed(bound, backend: str, device: torch.device, key: tuple, args: list, progress_bar: bool,
             capture: Callable) -> bool:
    """Run the call ``args`` (batch and steps ``key``) of ``bound`` as a graph replay
    where :func:`applies` allows it; False where the caller runs it step by step."""
    ir = bound.ir

    def opaque() -> bool:
        return any(is_opaque(attrs) for _, attrs in ir.nodes(data=True)) or \
            any(is_opaque(attrs) for _, _, attrs in ir.edges(data=True))

    if not applies(backend, device, progress_bar, opaque):
        return False
    if bound.graphs is None:
        bound.graphs = GraphRuns(capture)
    per_call = [entry[0] for entry in bound.inputs + bound.randoms + bound.masks + bound.run_values]
    outputs = [recording.position for recording in bound.recordings]
    return bound.graphs.run(key, bound.compiled.run, key[1], args, per_call, outputs)


def capture_cuda_graph(call: Callable[[], None]) -> Callable[[], None]:
    """Capture ``call`` (recorded, not run) into a CUDA graph; returns its replay."""
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        call()
    return graph.replay


class GraphRuns:
    """The captured runs of one set of bound arguments, by ``(batch, steps)``."""

    def __init__(self, capture: Callable[[Callable[[], None]], Callable[[], None]] = capture_cuda_graph) -> None:
        self.capture = capture
        self.seen: set[tuple] = set()
        self.graphs: dict[tuple, tuple[Callable[[], None], list]] = {}

    def run(self, key: tuple, run: Callable, steps: int, args: list, per_call: list[int],
            outputs: list[int]) -> bool:
        """Run ``run(0, steps, steps, *args)`` as a replay; False (nothing done) the
        first time ``key`` is seen, when the caller runs it eagerly instead (lazy CUDA
        initialisation, cuBLAS workspaces, happens outside the capture).
        ``per_call``: the argument positions that change from call to call;
        ``outputs``: the positions of the recordings."""
        entry = self.graphs.get(key)
        if entry is None:
            if key not in self.seen:
                self.seen.add(key)
                return False
            owned = list(args)
            for position in per_call + outputs:
                owned[position] = args[position].clone()
            entry = self.graphs[key] = (self.capture(lambda: run(0, steps, steps, *owned)), owned)
        replay, owned = entry
        for position in per_call:
            owned[position].copy_(args[position])
        replay()
        for position in outputs:
            args[position].copy_(owned[position])
        return True
