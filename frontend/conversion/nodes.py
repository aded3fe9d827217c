"""Conversion neuron models (spec 3.12): subtractive-reset IF and pass-through nodes."""
from __future__ import annotations

from snnc.network.lif_nodes import IFNodes
from snnc.network.node_base import Nodes


class SubtractiveResetIFNodes(IFNodes):
    """IF neurons that reset by subtraction (spec 3.12); IFNodes' parameters and state.

    Per step: ``v += I`` where ``refrac_count == 0``;
    ``refrac_count = max(refrac_count - dt, 0)`` where it is positive (else 0);
    ``s = v >= thresh``; where ``s``: ``refrac_count = refrac``, ``v -= thresh``;
    ``lbound``; then traces. ``v`` starts (and resets) at ``reset``.
    """

    ir_op = "subtractive_if"


class PassThroughNodes(Nodes):
    """Spikes are the input as it is: ``s = I`` (float; the external dtype when that is
    the only input). Unlike BindsNET (quirk Q56), ``clamp`` / ``unclamp`` and traces
    apply to it as to any layer."""

    ir_op = "pass_through"
