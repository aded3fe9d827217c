"""Leaky integrate-and-fire models: per-neuron updates, shared by every backend.

``lif`` (``LIFNodes``)::

    v = (v - rest) * decay + rest            decay = exp(-dt / tc_decay)
    I = 0 where refrac_count > 0
    refrac_count = refrac_count - dt
    v = v + I
    s = v >= thresh
    refrac_count = refrac where s;  v = reset where s
    v = max(v, lbound)                       only with lbound

``boosted_lif`` (``BoostedLIFNodes``): the same with rest = reset = 0 and no lbound.

``current_lif`` (``CurrentLIFNodes``)::

    v = (v - rest) * decay + rest;  i = i * i_decay      i_decay = exp(-dt / tc_i_decay)
    refrac_count = refrac_count - dt                       (before the check)
    i = i + I
    v = v + i where refrac_count <= 0
    s = v >= thresh;  where s: refrac_count = refrac, v = reset;  lbound

Each then applies the run's clamp / unclamp and the traces (``base.trace_statements``);
``injects_v`` is added to ``v`` first.
"""
from __future__ import annotations

import torch

from snnc.compiler.ops.base import (SPIKE_AND_RESET, LayerOp, bool_spikes, decay, inject_statements,
                                    lbound_statements, neuron_args, register_layer_op, trace_statements)

def bind(attrs: dict, dt: float) -> dict[str, torch.Tensor]:
    return {**neuron_args(attrs, dt, "rest", "reset", "thresh", "refrac"),
            "decay": decay(attrs, dt, "tc_decay")}


def statements(attrs: dict) -> list[str]:
    return inject_statements(attrs) + [
        "v = (v - rest) * decay + rest",
        "I = where(refrac_count > 0, 0.0, I)",
        "refrac_count = refrac_count - dt",
        "v = v + I",
        *SPIKE_AND_RESET,
    ] + lbound_statements(attrs) + trace_statements(attrs)


def boosted_bind(attrs: dict, dt: float) -> dict[str, torch.Tensor]:
    return {**neuron_args(attrs, dt, "thresh", "refrac"), "decay": decay(attrs, dt, "tc_decay")}


def boosted_statements(attrs: dict) -> list[str]:
    return inject_statements(attrs) + [
        "v = v * decay",
        "I = where(refrac_count > 0, 0.0, I)",
        "refrac_count = refrac_count - dt",
        "v = v + I",
        "s = v >= thresh",
        "refrac_count = where(s, refrac, refrac_count)",
        "v = where(s, 0.0, v)",
    ] + trace_statements(attrs)


def current_bind(attrs: dict, dt: float) -> dict[str, torch.Tensor]:
    return {**bind(attrs, dt), "i_decay": decay(attrs, dt, "tc_i_decay")}


def current_statements(attrs: dict) -> list[str]:
    return inject_statements(attrs) + [
        "v = (v - rest) * decay + rest",
        "i = i * i_decay",
        "refrac_count = refrac_count - dt",
        "i = i + I",
        "v = where(refrac_count > 0, v, v + i)",
        *SPIKE_AND_RESET,
    ] + lbound_statements(attrs) + trace_statements(attrs)


LIF = register_layer_op(LayerOp(name="lif", bind=bind, statements=statements, spike_dtype=bool_spikes))
register_layer_op(LayerOp(name="boosted_lif", bind=boosted_bind, statements=boosted_statements,
                          spike_dtype=bool_spikes))
register_layer_op(LayerOp(name="current_lif", bind=current_bind, statements=current_statements,
                          spike_dtype=bool_spikes))
