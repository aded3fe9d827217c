"""Izhikevich neurons (``IzhikevichNodes``), shared by every backend.

Intrinsic coupling, a nest run before the statements (``s`` still holds the previous
step's spikes)::

    I[b, j] += s[b, k] * coupling[k, j]           coupling = S transposed (k -> j)

Statements::

    v = c where s;  u = u + d where s              (the previous step's spikes)
    v = v + dt * 0.5 * (0.04 * (v * v) + 5 * v + 140 - u + I)   twice
    u = u + dt * a * (b * v - u)
    v = max(v, lbound)                             only with lbound
    s = v >= thresh
    then the run's clamp / unclamp and traces
"""
from __future__ import annotations

import torch

from snnc.compiler.nest import BATCH, Domain, Nest
from snnc.compiler.ops.base import (LayerOp, bool_spikes, inject_statements, lbound_statements,
                                    neuron_args, register_layer_op, trace_statements)

HALF_STEP = "v = v + dt * 0.5 * (0.04 * (v * v) + 5.0 * v + 140.0 - u + I)"   # v*v first, as BindsNET rounds


def bind(attrs: dict, dt: float) -> dict[str, torch.Tensor]:
    args = neuron_args(attrs, dt, "thresh", "a", "b", "c", "d")
    args["coupling"] = attrs["params"]["S"].detach().to(torch.float32).t().contiguous()
    return args


def statements(attrs: dict) -> list[str]:
    return inject_statements(attrs) + [
        "v = where(s, c, v)",
        "u = where(s, u + d, u)",
        HALF_STEP,
        HALF_STEP,
        "u = u + dt * a * (b * v - u)",
        *lbound_statements(attrs),
        "s = v >= thresh",
    ] + trace_statements(attrs)


def nests(attrs: dict) -> list[Nest]:
    n = attrs["n"]
    return [Nest("intrinsic coupling (izhikevich)", (Domain("b", BATCH), Domain("k", n), Domain("j", n)),
                 "I[b, j]", "s[b, k] * coupling[k, j]", "add", guard="s[b, k]")]


register_layer_op(LayerOp(name="izhikevich", bind=bind, statements=statements, spike_dtype=bool_spikes,
                          nests=nests))
