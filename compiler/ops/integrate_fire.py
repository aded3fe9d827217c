"""Models without leak: McCulloch-Pitts units, IF and subtractive-reset IF neurons.

``mcculloch_pitts``::   v = I;  s = v >= thresh

``if`` (``IFNodes``)::

    v = v + I where refrac_count <= 0
    refrac_count = refrac_count - dt
    s = v >= thresh;  where s: refrac_count = refrac, v = reset;  lbound

``subtractive_if`` (``SubtractiveResetIFNodes``)::

    v = v + I where refrac_count == 0
    refrac_count = refrac_count - dt where refrac_count > 0, else 0
    s = v >= thresh;  where s: refrac_count = refrac, v = v - thresh;  lbound

Each then applies the run's clamp / unclamp and the traces; ``injects_v`` first.
"""
from __future__ import annotations

from snnc.compiler.ops.base import (SPIKE_AND_RESET, LayerOp, bool_spikes, inject_statements,
                                    lbound_statements, neuron_args, register_layer_op, trace_statements)


def mcculloch_pitts(attrs: dict) -> list[str]:
    return inject_statements(attrs) + ["v = I", "s = v >= thresh"] + trace_statements(attrs)


def integrate_fire(attrs: dict) -> list[str]:
    return inject_statements(attrs) + [
        "v = where(refrac_count > 0, v, v + I)",
        "refrac_count = refrac_count - dt",
        *SPIKE_AND_RESET,
    ] + lbound_statements(attrs) + trace_statements(attrs)


def subtractive(attrs: dict) -> list[str]:
    return inject_statements(attrs) + [
        "v = where(refrac_count == 0.0, v + I, v)",
        "refrac_count = where(refrac_count > 0, refrac_count - dt, 0.0)",
        "s = v >= thresh",
        "refrac_count = where(s, refrac, refrac_count)",
        "v = where(s, v - thresh, v)",
    ] + lbound_statements(attrs) + trace_statements(attrs)


register_layer_op(LayerOp(name="mcculloch_pitts", bind=lambda attrs, dt: neuron_args(attrs, dt, "thresh"),
                          statements=mcculloch_pitts, spike_dtype=bool_spikes))
for _name, _statements in (("if", integrate_fire), ("subtractive_if", subtractive)):
    register_layer_op(LayerOp(name=_name, bind=lambda attrs, dt: neuron_args(attrs, dt, "thresh", "reset", "refrac"),
                              statements=_statements, spike_dtype=bool_spikes))
