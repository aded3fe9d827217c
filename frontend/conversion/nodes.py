"""Conversion neuron models (spec 3.12): subtractive-reset IF and pass-through nodes."""
from __future__ import annotations

from typing import Iterable

from snnc.network.lif_nodes import _Refractory
from snnc.network.node_base import Nodes, Number


class SubtractiveResetIFNodes(_Refractory):
    """IF neurons that reset by subtraction (spec 3.12).

    Per step: ``v += I`` where ``refrac_count == 0``;
    ``refrac_count = max(refrac_count - dt, 0)`` where it is positive (else 0);
    ``s = v >= thresh``; where ``s``: ``refrac_count = refrac``, ``v -= thresh``;
    ``lbound``; then traces. ``v`` starts (and resets) at ``reset``.
    """

    ir_op = "subtractive_if"
    state_names = ("s", "v", "refrac_count")

    def __init__(self, n: int | None = None, shape: Iterable[int] | None = None, traces: bool = False,
                 traces_additive: bool = False, tc_trace: Number = 20.0, trace_scale: Number = 1.0,
                 sum_input: bool = False, thresh: Number = -52.0, reset: Number = -65.0,
                 refrac: Number = 5, lbound: Number | None = None, learning: bool = True) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input, learning)
        self._common(lbound, thresh=thresh, reset=reset, refrac=refrac)

    def initial_state(self) -> dict[str, Number]:
        return {"v": self.reset, "refrac_count": 0.0}


class PassThroughNodes(Nodes):
    """Spikes are the input as it is: ``s = I`` (float; the external dtype when that is
    the only input). Unlike BindsNET (quirk Q56), ``clamp`` / ``unclamp`` and traces
    apply to it as to any layer."""

    ir_op = "pass_through"
