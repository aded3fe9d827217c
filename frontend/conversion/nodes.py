"""Conversion neuron models (spec 3.12): subtractive-reset IF and pass-through nodes."""
from __future__ import annotations

from typing import Iterable

import torch

from snnc.network.lif_nodes import IFNodes
from snnc.network.node_base import Nodes, Number


class SubtractiveResetIFNodes(IFNodes):
    """IF neurons that reset by subtraction (spec 3.12); IFNodes' parameters and state.

    Per step: ``v += I`` where ``refrac_count == 0``;
    ``refrac_count = refrac_count - dt`` where it is positive, else 0 (so 1.5 -> 0.5 -> -0.5 at dt 1);
    ``s = v >= thresh``; where ``s``: ``refrac_count = refrac``, ``v -= thresh``;
    ``lbound``; then traces. ``v`` starts (and resets) at ``reset``.
    """

    ir_op = "subtractive_if"


class PassThroughNodes(Nodes):
    """Spikes are the input as it is: ``s = I`` (float; the external dtype when that is
    the only input). Unlike BindsNET (quirk Q56), ``clamp`` / ``unclamp`` and traces
    apply to it as to any layer. ``v`` is a ``[*shape]`` buffer of zeros that no step
    changes (as BindsNET's)."""

    ir_op = "pass_through"
    state_names = ("s", "v")

    def __init__(self, n: int | None = None, shape: Iterable[int] | None = None, traces: bool = False,
                 traces_additive: bool = False, tc_trace: Number = 20.0, trace_scale: Number = 1.0,
                 sum_input: bool = False, learning: bool = True) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input, learning)
        self.register_buffer("v", torch.zeros(self.shape))
