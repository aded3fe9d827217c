"""Cumulative spike-response neurons (``CSRMNodes``) and the response window of the
connections into them, shared by every backend.

Each connection into a CSRM layer keeps ``s_w``, the window of its source's last ``W``
spike vectors (oldest first; connection state, never reset), and delivers the
response-kernel-weighted window through its synapse map::

    s_w = push(s_w, s_pre)                          per source neuron, every step
    filtered = wdot(resKernel, s_w)                 sum_k resKernel[k] * s_w[k]
    I_post[b, j] += filtered[b, i] * w[i, j]        the connection type's propagation
    I_post[b, j] += bias[j] * res_total             res_total = sum_k resKernel[k]

(by linearity, BindsNET's ``sum_k K[k] (s_w[k] @ w + b)``). The layer::

    v = v * decay                                   towards 0 (quirk Q14), decay = exp(-dt / tc_decay)
    theta = theta * theta_decay                     learning
    v = v + I + wdot(refKernel, last_spikes)
    s = v >= thresh + theta
    theta = theta + theta_plus * sum_b(s)           learning
    last_spikes = push(last_spikes, s)
    v = max(v, lbound)                              only with lbound
    then the run's clamp / unclamp and traces

Kernels are reversed (the last entry is lag 0), as the frontend builds them.
"""
from __future__ import annotations

import torch

from snnc.compiler.elementwise import Symbol
from snnc.ir.schema import OPS
from snnc.compiler.ops.base import (LayerOp, bool_spikes, decay, inject_statements, lbound_statements,
                                    neuron_args, register_layer_op, trace_statements)


def bind(attrs: dict, dt: float) -> dict[str, torch.Tensor]:
    args = neuron_args(attrs, dt, "thresh", "theta_plus")
    args["decay"] = decay(attrs, dt, "tc_decay")
    args["theta_decay"] = decay(attrs, dt, "tc_theta_decay")
    args["refKernel"] = attrs["params"]["refKernel"].detach().to(torch.float32).contiguous()
    return args


def statements(attrs: dict) -> list[str]:
    learning = bool(attrs["learning"])
    lines = inject_statements(attrs) + ["v = v * decay"]
    lines += ["theta = theta * theta_decay"] if learning else []
    lines += ["v = v + I + wdot(refKernel, last_spikes)", "s = v >= thresh + theta"]
    lines += ["theta = theta + theta_plus * sum_b(to_float(s))"] if learning else []
    lines += ["last_spikes = push(last_spikes, to_float(s))"]
    return lines + lbound_statements(attrs) + trace_statements(attrs)


register_layer_op(LayerOp(name="csrm", bind=bind, statements=statements, spike_dtype=bool_spikes,
                          writes_shared=lambda attrs: bool(attrs["learning"])))


# -- the connections into a CSRM layer ---------------------------------------------------

def windowed(ctx) -> bool:
    """The connection delivers a response window (its target's schema says
    ``input_window``, as CSRM's does)."""
    schema = OPS.get(ctx.target.get("op"))
    return schema is not None and schema.input_window


WINDOW_STATEMENTS = ["s_w = push(s_w, to_float(s_pre))", "filtered = wdot(resKernel, s_w)"]


def window_args(ctx) -> dict[str, torch.Tensor]:
    kernel = ctx.target["params"]["resKernel"].detach().to(torch.float32).contiguous()
    return {"resKernel": kernel, "res_total": kernel.sum()}


def window_symbols(names: dict[str, str], width: int) -> dict[str, Symbol]:
    """Symbols of :data:`WINDOW_STATEMENTS`; ``names`` maps each role to its buffer."""
    return {"s_w": Symbol("state", names["s_w"], window=width),
            "s_pre": Symbol("state", names["s_pre"]),
            "filtered": Symbol("state", names["filtered"]),
            "resKernel": Symbol("arg", names["resKernel"])}
