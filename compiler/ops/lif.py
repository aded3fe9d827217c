"""LIF neurons (``LIFNodes``): per-neuron update, shared by every backend.

    v = (v - rest) * decay + rest            decay = exp(-dt / tc_decay)
    I = 0 where refrac_count > 0
    refrac_count = refrac_count - dt
    v = v + I
    s = v >= thresh
    refrac_count = refrac where s;  v = reset where s
    v = max(v, lbound)                       only with lbound
    then traces (see ``base.trace_statements``)
"""
from __future__ import annotations

import torch

from snnc.compiler.ops.base import (LayerOp, per_neuron, register_layer_op, trace_args,
                                    trace_statements)


def bind(attrs: dict, dt: float) -> dict[str, torch.Tensor]:
    params, shape = attrs["params"], attrs["shape"]
    tc_decay = per_neuron(params["tc_decay"], shape)
    args = {
        "decay": torch.exp(-torch.tensor(dt, dtype=torch.float32) / tc_decay),
        "dt": torch.tensor(dt, dtype=torch.float32),
        "rest": per_neuron(params["rest"], shape),
        "reset": per_neuron(params["reset"], shape),
        "thresh": per_neuron(params["thresh"], shape),
        "refrac": per_neuron(params["refrac"], shape),
    }
    if params.get("lbound") is not None:
        args["lbound"] = per_neuron(params["lbound"], shape)
    return {**args, **trace_args(attrs, dt)}


def statements(attrs: dict) -> list[str]:
    lines = [
        "v = (v - rest) * decay + rest",
        "I = where(refrac_count > 0, 0.0, I)",
        "refrac_count = refrac_count - dt",
        "v = v + I",
        "s = v >= thresh",
        "refrac_count = where(s, refrac, refrac_count)",
        "v = where(s, reset, v)",
    ]
    if attrs["params"].get("lbound") is not None:
        lines.append("v = max(v, lbound)")
    return lines + trace_statements(attrs)


LIF = register_layer_op(LayerOp(
    name="lif", bind=bind, statements=statements,
    spike_dtype=lambda attrs, external, has_synaptic: torch.bool,
))
