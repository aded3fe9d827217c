"""Bound arguments kept between runs, and the cheap fingerprint that says when they
are stale.

A training or inference loop calls ``run`` thousands of times on the same network.
Recording the IR, computing the cache key and binding arguments (derived values,
CSR conversions, numpy views) are done once; each later call only compares a
fingerprint: the change count of the network objects (``snnc.changes``:
every attribute assignment on a layer, connection, monitor, rule or network, and
every ``add_*``), the number of layers, connections and monitors, the inputs' dtypes,
``one_step``, and the version counters of the tensors the run does not read
zero-copy (a time constant ``decay`` is derived from; a zero-copy tensor's in-place
changes reach the run anyway). So a new ``w`` tensor, ``train()``, a new batch size,
a new dtype or an in-place ``fill_`` on a time constant rebinds. A change made
through ``tensor.data`` bypasses the version counter: an in-place one reaches the run
for tensors read zero-copy (``w``, thresholds, state), not for values derived from
others until the next rebind; ``w.data = other`` moves the memory and rebinds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from snnc.changes import CHANGES


def _tensors(network) -> list[torch.Tensor]:
    """Every parameter and buffer of the network's layers and connections (a sparse CSR
    tensor as its three component tensors)."""
    modules = [*network.layers.values(), *network.connections.values()]
    found = []
    for module in modules:
        for tensors in (module._parameters, module._buffers):
            for t in tensors.values():
                if t is None:
                    continue
                if t.layout == torch.sparse_csr:
                    found += [t.crow_indices(), t.col_indices(), t.values()]
                else:
                    found.append(t)
        tensors = getattr(module, "tensors", None)      # a feature pipeline's values
        if callable(tensors):
            found += tensors()
    return found


def fingerprint(network, input_dtypes: dict, one_step: bool, versioned: list[torch.Tensor],
                pinned: list[torch.Tensor], masks: tuple = ()) -> tuple:
    """Everything about ``network`` and the call that the bound arguments depend on;
    ``versioned``: the tensors whose version counters matter; ``pinned``: those the run
    reads zero-copy, whose memory must stay where it was bound (``w.data = other``);
    ``masks``: which run masks (clamp, weight masks, …) the call gives, and how."""
    return (CHANGES[0], len(network.layers), len(network.connections), len(network.monitors),
            one_step, tuple(input_dtypes.items()), tuple([t._version for t in versioned]),
            tuple([t.data_ptr() for t in pinned]), masks)


def split_tensors(network, bound: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The network's tensors (and rules' rates) the run does not read zero-copy, and
    those it does. 0-d arguments are passed to the numba backends by value, so they are
    never zero-copy."""
    memory = {t.data_ptr() for t in bound if t.layout == torch.strided and t.dim() > 0 and t.numel() > 0}
    versioned, pinned = [], []
    for t in _tensors(network):
        (pinned if t.numel() > 0 and t.data_ptr() in memory else versioned).append(t)
    for connection in network.connections.values():
        rates = getattr(getattr(connection, "update_rule", None), "nu", None)
        if isinstance(rates, torch.Tensor):
            versioned.append(rates)
    versioned += [layer.lbound for layer in network.layers.values()
                  if isinstance(getattr(layer, "lbound", None), torch.Tensor)]
    return versioned, pinned


@dataclass(frozen=True)
class Recording:
    """A monitor buffer of the plan: where it goes in the call, its dtype, its shape
    (``"T"``/``"R"``/``"B"`` resolved per call) and how it is handed back."""

    position: int
    monitor: object
    var: str
    dtype: torch.dtype
    shape: tuple
    time: int | None
    layer_shape: tuple | None
    row_shape: tuple | None = None      # each row viewed whole (a weight the map views otherwise)
    pattern: object = None              # a sparse weight's CSR tensor: rows become sparse matrices

    def hand_back(self, buffer: torch.Tensor) -> torch.Tensor:
        """A recording as its monitor shows it: ``[R, B, *layer shape]`` for a layer, the
        connection's own ``w`` shape per row (a sparse COO ``[R, n_pre, n_post]`` for
        sparse weights)."""
        if self.layer_shape is not None:
            return buffer.view(*buffer.shape[:-1], *self.layer_shape)
        if self.pattern is not None:
            crow, cols = self.pattern.crow_indices().long(), self.pattern.col_indices().long()
            rows = torch.repeat_interleave(torch.arange(len(crow) - 1), crow[1:] - crow[:-1])
            steps = buffer.shape[0]
            time = torch.arange(steps).repeat_interleave(len(cols))
            indices = torch.stack([time, rows.repeat(steps), cols.repeat(steps)])
            return torch.sparse_coo_tensor(indices, buffer.reshape(-1), (steps, *self.pattern.shape))
        if self.row_shape is not None:
            return buffer.view(buffer.shape[0], *self.row_shape)
        return buffer


@dataclass
class Bound:
    """The arguments of one compiled module, ready for a call: ``static`` holds every
    adapted argument that does not change between calls (``None`` at the positions of
    inputs, random numbers and monitor buffers, filled per call)."""

    print: tuple
    compiled: object
    ir: object
    static: list
    versioned: list
    pinned: list = field(default_factory=list)
    inputs: list[tuple[int, str]] = field(default_factory=list)
    recordings: list[Recording] = field(default_factory=list)
    randoms: list[tuple[int, tuple]] = field(default_factory=list)
    masks: list[tuple[int, object, str, tuple]] = field(default_factory=list)
    run_values: list[tuple[int, object, str]] = field(default_factory=list)
    per_call: dict[tuple[int, int], object] = field(default_factory=dict)  # (batch, steps) -> CallBuffers
    graphs: object = None               # torch on CUDA: the runs captured as CUDA graphs
