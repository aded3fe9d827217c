"""Adaptive-threshold LIF neurons (``AdaptiveLIFNodes`` and ``DiehlAndCookNodes``):
per-neuron statements with a threshold shared by the batch.

    theta = theta * theta_decay              theta_decay = exp(-dt / tc_theta_decay)   (learning)
    v = (v - rest) * decay + rest            decay = exp(-dt / tc_decay)
    v = v + I where refrac_count <= 0
    refrac_count = refrac_count - dt
    s = v >= thresh + theta
    refrac_count = refrac where s;  v = reset where s
    v = max(v, lbound)                       only with lbound
    theta = theta + theta_plus * sum_b(s)    (learning; theta has no batch dimension)
    one spike per sample (DiehlAndCookNodes, one_spike=True): with count spiking neurons
        and this step's uniform u[b], keep the floor(u * count)-th of them (flattened
        order); the others' reset, refractory period and theta growth stand
    then traces

``theta`` is state shared by the batch: its statements run once per neuron (the
renderers split the statement list into per-sample and shared stages). While the
layer does not learn, ``theta`` is frozen and the statements leave it out.
"""
from __future__ import annotations

import torch

from snnc.compiler.ops.base import (RESET_ON_SPIKE, LayerOp, bool_spikes, decay, inject_statements,
                                    lbound_statements, per_neuron, register_layer_op, trace_statements)
from snnc.compiler.ops.lif import bind as lif_bind


def bind(attrs: dict, dt: float) -> dict[str, torch.Tensor]:
    args = lif_bind(attrs, dt)
    args["theta_decay"] = decay(attrs, dt, "tc_theta_decay")
    args["theta_plus"] = per_neuron(attrs["params"]["theta_plus"], attrs["shape"])
    return args


def statements(attrs: dict) -> list[str]:
    learning = bool(attrs["learning"])
    lines = inject_statements(attrs)
    lines += ["theta = theta * theta_decay"] if learning else []
    lines += [
        "v = (v - rest) * decay + rest",
        "v = v + where(refrac_count > 0, 0.0, I)",
        "refrac_count = refrac_count - dt",
        "s = v >= thresh + theta",
        *RESET_ON_SPIKE,
        *lbound_statements(attrs),
    ]
    if learning:
        lines.append("theta = theta + theta_plus * sum_b(to_float(s))")
    if attrs["options"].get("one_spike"):
        lines += ["spiking = sum_n(to_float(s))",
                  "chosen = min(floor(u * spiking), spiking - 1.0)",
                  "s = where(rank_n(to_float(s)) == chosen, s, False)"]
    return lines + trace_statements(attrs)


def random(attrs: dict) -> dict[str, str]:
    """``one_spike`` draws one uniform number per sample and step."""
    return {"u": "sample"} if attrs["options"].get("one_spike") else {}


def writes_shared(attrs: dict) -> bool:
    return bool(attrs["learning"])


for name in ("adaptive_lif", "diehl_and_cook"):
    register_layer_op(LayerOp(name=name, bind=bind, statements=statements,
                              spike_dtype=bool_spikes,
                              writes_shared=writes_shared, random=random))
