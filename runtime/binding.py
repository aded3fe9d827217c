"""Bound arguments kept between runs, and the cheap fingerprint that says when they
are stale.

A training or inference loop calls ``run`` thousands of times on the same network.
Recording the IR, computing the cache key and binding arguments (derived values,
CSR conversions, numpy views) are done once; each later call only compares a
fingerprint: the network's objects (layers, connections, monitors, learning rules)
by identity, the learning flags, ``norm`` and ``weight_decay``, the batch size, the
inputs' dtypes, ``one_step``, and every parameter and buffer tensor by identity and
version counter (identity alone for those the run reads zero-copy: in-place changes
reach the run anyway). Any change — ``add_layer``, a new ``w`` tensor, ``train()``, a
new batch size, a new dtype, an in-place ``fill_`` on a time constant — rebinds.
A change made through ``tensor.data`` bypasses the version counter: it reaches the run
for tensors read zero-copy (``w``, thresholds, state), not for values derived from
others (``decay`` from ``tc_decay``) until the next rebind.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


def _tensors(module, stable: frozenset[int]) -> tuple:
    """Identity and version counter of a module's parameters and buffers (identity
    alone for those the run reads zero-copy)."""
    return tuple((id(t), -1 if id(t) in stable else t._version)
                 for tensors in (module._parameters, module._buffers) for t in tensors.values()
                 if t is not None)


def _tensor(value, stable: frozenset[int]):
    if not isinstance(value, torch.Tensor):
        return value
    return (id(value), -1 if id(value) in stable else value._version)


def fingerprint(network, input_dtypes: dict, one_step: bool, stable: frozenset[int]) -> tuple:
    """Everything about ``network`` and the call that the bound arguments depend on."""
    parts: list = [network.dt, network.batch_size, network.learning, one_step,
                   tuple(input_dtypes.items())]
    for name, layer in network.layers.items():
        parts.append((name, id(layer), layer.learning, _tensors(layer, stable),
                      _tensor(getattr(layer, "lbound", None), stable)))
    for key, connection in network.connections.items():
        rule = getattr(connection, "update_rule", None)
        parts.append((key, id(connection), _tensors(connection, stable),
                      getattr(connection, "norm", None), getattr(connection, "weight_decay", None),
                      id(rule), _tensor(getattr(rule, "nu", None), stable),
                      getattr(rule, "reduction", None)))
    for name, monitor in network.monitors.items():
        parts.append((name, id(monitor), id(monitor.obj), monitor.state_vars, monitor.time))
    return tuple(parts)


def stable_tensors(network, bound: list[torch.Tensor]) -> frozenset[int]:
    """The network's tensors whose memory the run reads zero-copy: in-place changes
    reach the run, so only their identity matters. (0-d arguments are passed by value
    to the numba backends, so they are never zero-copy.)"""
    memory = {t.data_ptr() for t in bound if t.layout == torch.strided and t.dim() > 0 and t.numel() > 0}
    found = set()
    for module in (*network.layers.values(), *network.connections.values()):
        for tensors in (module._parameters, module._buffers):
            for tensor in tensors.values():
                if tensor is not None and tensor.numel() > 0 and tensor.data_ptr() in memory:
                    found.add(id(tensor))
    return frozenset(found)


@dataclass
class Bound:
    """The arguments of one compiled module, ready for a call: ``static`` holds every
    adapted argument that does not change between calls (``None`` at the positions of
    inputs, random numbers and monitor buffers, filled per call)."""

    print: tuple
    compiled: object
    ir: object
    static: list
    stable: frozenset[int]
    inputs: list[tuple[int, str]] = field(default_factory=list)
    monitors: list[int] = field(default_factory=list)
    randoms: list[int] = field(default_factory=list)
