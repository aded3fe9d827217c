"""``Network.reset_state_variables`` as one compiled call, for CPU networks of stock classes.

A training loop resets the network after every sample: spikes, traces and summed
input back to zero, each model's ``initial_state`` (``v = rest``, ``refrac_count = 0``,
...) restored for the names in ``reset_names``, every learning rule's state zeroed.
Done one torch op at a time, right after a run has pushed the interpreter out of the
caches, that is a dozen small ops and about 0.1 ms per sample: a sixth of a Diehl &
Cook training sample. :class:`ResetPlan` gathers the same work once:

- every state that restarts at zero, as its bytes (``uint8``), zeroed;
- every float32 state that restarts at a value, with that value's source: the 0-d or
  per-neuron tensor ``initial_state`` names (a buffer of the layer, read at every
  reset, so an in-place change of ``rest`` is seen), a number, or a value it computes
  (recomputed at every reset);

and :func:`reset_states` does them all in one call (the views passed as tuples:
unboxed in microseconds, and loaded from numba's disk cache in milliseconds, where a
typed list costs a third of a second per process). The plan holds views of the state
tensors; it is rebuilt when any network object changes (``snnc.changes``) or a state
tensor's memory moved (``t.data = other``). It is made only when every layer,
connection and rule resets the stock way (a subclass that overrides
``reset_state_variables`` keeps its own code: :func:`reset_plan` returns None) and
every tensor involved is a contiguous CPU tensor; otherwise the caller does the plain
per-object reset, which has the same result.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from numba import njit

from snnc.changes import CHANGES


@njit(cache=True, nogil=True)
def reset_states(zeros, fills, sources):
    """Zero every array of ``zeros``; set ``fills[k]`` (float32, ``[B * n]``) to
    ``sources[k]`` repeated (one value, or one per neuron repeated for every sample)."""
    for zeroed in zeros:
        zeroed[:] = 0
    for k in range(len(fills)):
        target, source = fills[k], sources[k]
        width = source.shape[0]
        if width == 0:                      # padding
            continue
        for start in range(0, target.shape[0], width):
            for i in range(width):
                target[start + i] = source[i]


def _padded(arrays: list[np.ndarray], multiple: int, dtype) -> tuple:
    """``arrays`` as a tuple, padded with empty arrays to a multiple of ``multiple``
    (numba compiles one version per tuple length: a few lengths, each cached on disk)."""
    count = -(-max(len(arrays), 1) // multiple) * multiple
    return tuple(arrays) + (np.empty(0, dtype),) * (count - len(arrays))


class ResetPlan:
    """The byte views to zero and the float32 views to fill (with their sources) of one
    network, and the Python calls that remain (``after``); valid while ``changes`` is
    the change count and each kept tensor still has the memory it had."""

    def __init__(self, zeroed: list[torch.Tensor], filled: list[tuple[torch.Tensor, object]],
                 after: list) -> None:
        self.changes = CHANGES[0]
        self.after = after
        self.tensors = [*zeroed, *(t for t, _ in filled)]
        self.addresses = [t.data_ptr() for t in self.tensors]
        self.zeros = _padded([t.detach().numpy().reshape(-1).view(np.uint8) for t in zeroed], 8, np.uint8)
        self.fills = _padded([t.detach().numpy().reshape(-1) for t, _ in filled], 4, np.float32)
        self.sources = _padded([_source(value) for _, value in filled], 4, np.float32)
        self.computed = [value for _, value in filled if isinstance(value, Computed)]

    def valid(self) -> bool:
        return self.changes == CHANGES[0] and [t.data_ptr() for t in self.tensors] == self.addresses

    def apply(self) -> None:
        for value in self.computed:
            value.refresh()
        reset_states(self.zeros, self.fills, self.sources)
        for call in self.after:
            call()


class Computed:
    """An initial value ``initial_state`` computes afresh (not a buffer of the layer):
    recomputed at every reset into ``values``."""

    def __init__(self, layer, name: str, count: int) -> None:
        self.layer, self.name = layer, name
        self.values = np.empty(count, np.float32)

    def refresh(self) -> None:
        self.values[:] = self.layer.initial_state()[self.name].detach().numpy().reshape(-1)


def _source(value) -> np.ndarray:
    """The float32 values a fill repeats: a number, a view of the tensor it reads, or
    the array a computed value is refreshed into."""
    if isinstance(value, Computed):
        return value.values
    if isinstance(value, torch.Tensor):
        return value.detach().numpy().reshape(-1)
    return np.array([value], np.float32)


def reset_plan(network) -> ResetPlan | None:
    """The plan of ``network``'s reset, or None when some part resets in its own way
    or holds a tensor the plan cannot view (not contiguous, not on the CPU, or a value
    that is neither a number nor a float32 tensor of one value or one per neuron)."""
    from snnc.network.nodes import Nodes

    zeroed: list[torch.Tensor] = []
    filled: list[tuple[torch.Tensor, object]] = []
    for layer in network.layers.values():
        if type(layer).reset_state_variables is not Nodes.reset_state_variables or layer.batch_size is None:
            return None
        zeroed.append(layer.s)
        if layer.traces:
            zeroed.append(layer.x)
        if layer.sum_input:
            zeroed.append(layer.summed)
        names = layer.reset_names
        buffers = layer._buffers.values()
        for name, value in layer.initial_state().items():
            if names is not None and name not in names:
                continue
            state = getattr(layer, name)
            if state.numel() != layer.batch_size * layer.n:
                return None
            if isinstance(value, numbers.Number) and not isinstance(value, bool) and _plus_zero(value):
                zeroed.append(state)        # all-zero bytes (a -0.0 is filled as a value)
            elif state.dtype != torch.float32:
                return None
            elif isinstance(value, numbers.Number) and not isinstance(value, bool):
                filled.append((state, float(value)))
            elif (isinstance(value, torch.Tensor) and value.dtype == torch.float32
                  and value.numel() in (1, layer.n) and _viewable(value)):
                if any(value is b for b in buffers):
                    filled.append((state, value))
                else:                           # computed from parameters (Izhikevich: u = b * rest)
                    filled.append((state, Computed(layer, name, value.numel())))
            else:
                return None
    after: list = []
    for connection in network.connections.values():
        if not _connection_parts(connection, zeroed, after):
            return None
    if not all(_viewable(t) for t in zeroed) or not all(_viewable(t) for t, _ in filled):
        return None
    return ResetPlan(zeroed, filled, after)


def _connection_parts(connection, zeroed: list, after: list) -> bool:
    """Add what a stock connection's reset does: its rule's (or, multicompartment, each
    feature's rule's) state zeroed. False for a connection, feature or rule with a
    reset of its own."""
    from snnc.network.connection_base import AbstractConnection
    from snnc.network.dynamic_features import AbstractSubFeature
    from snnc.network.multicompartment import MulticompartmentConnection
    from snnc.network.topology_features import AbstractFeature

    kind = type(connection).reset_state_variables
    if kind is AbstractConnection.reset_state_variables:
        return _rule_parts(connection.update_rule, zeroed, after)
    if kind is not MulticompartmentConnection.reset_state_variables:
        return False
    for feature in connection.pipeline:
        kind = type(feature).reset_state_variables
        if kind is AbstractSubFeature.reset_state_variables:
            continue
        if kind is not AbstractFeature.reset_state_variables:
            return False
        rule = getattr(feature, "rule", None)
        if rule is not None and not _rule_parts(rule, zeroed, after):
            return False
    return True


def _rule_parts(rule, zeroed: list, after: list) -> bool:
    """A stock rule's state to zero (a multicompartment rule also empties its list of
    recent updates, a plain Python call kept in ``after``)."""
    from snnc.learning import LearningRule
    from snnc.learning.MCC_learning import MCC_LearningRule

    kind = type(rule).reset_state_variables
    if kind is MCC_LearningRule.reset_state_variables:
        after.append(rule.updates.clear)
    elif kind is not LearningRule.reset_state_variables:
        return False
    zeroed += rule._state.values()
    return True


def _plus_zero(value) -> bool:
    return float(value) == 0.0 and math.copysign(1.0, float(value)) > 0


def _viewable(tensor: torch.Tensor) -> bool:
    return tensor.device.type == "cpu" and tensor.layout == torch.strided and tensor.is_contiguous()
