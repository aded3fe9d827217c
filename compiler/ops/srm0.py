"""Spike-response neurons with escape noise (``SRM0Nodes``), shared by every backend.

    v = (v - rest) * decay + rest                  decay = exp(-dt / tc_decay)
    v = v + eps_0 * I where refrac_count <= 0
    rho = rho_0 * exp((v - thresh) / d_thresh)
    s_prob = 1 - exp(-rho * dt)
    refrac_count = refrac_count - dt
    s = u < s_prob                                 u: uniform per neuron and step
    refrac_count = refrac where s;  v = reset where s;  lbound
    then the run's clamp / unclamp and traces

``u`` is drawn by the runtime from torch's generator (``torch.manual_seed`` makes a
run reproducible, and every backend sees the same numbers).
"""
from __future__ import annotations

import torch

from snnc.compiler.ops.base import (RESET_ON_SPIKE, LayerOp, bool_spikes, decay, inject_statements,
                                    lbound_statements, neuron_args, register_layer_op, trace_statements)


def bind(attrs: dict, dt: float) -> dict[str, torch.Tensor]:
    return {**neuron_args(attrs, dt, "rest", "reset", "thresh", "refrac", "eps_0", "rho_0", "d_thresh"),
            "decay": decay(attrs, dt, "tc_decay")}


def statements(attrs: dict) -> list[str]:
    return inject_statements(attrs) + [
        "v = (v - rest) * decay + rest",
        "v = where(refrac_count > 0, v, v + eps_0 * I)",
        "rho = rho_0 * exp((v - thresh) / d_thresh)",
        "s_prob = 1.0 - exp(-rho * dt)",
        "refrac_count = refrac_count - dt",
        "s = u < s_prob",
        *RESET_ON_SPIKE,
    ] + lbound_statements(attrs) + trace_statements(attrs)


register_layer_op(LayerOp(name="srm0", bind=bind, statements=statements, spike_dtype=bool_spikes,
                          random=lambda attrs: {"u": "neuron"}))
