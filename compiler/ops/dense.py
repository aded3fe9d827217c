"""Dense connections (``Connection``): propagation, weight decay and normalisation.

    I_target += s_source.float() @ w (+ b)           every step, spikes of step t-1
    w *= 1 - weight_decay                             every step while learning
    w[:, j] *= norm / sum_i |w[i, j]|                 end of run (a zero sum counts as 1)

The per-backend code sits below, one function per backend and phase.
"""
from __future__ import annotations

import torch

from snnc.compiler.ops.base import ConnectionOp, register_connection_op


def normalize_columns(w: torch.Tensor, norm: float) -> None:
    """In place: scale each column of ``w`` so that its absolute sum is ``norm``."""
    column_sums = w.abs().sum(dim=0, keepdim=True)
    column_sums[column_sums == 0] = 1.0
    w.mul_(norm / column_sums)


def bind(attrs: dict, dt: float) -> dict[str, torch.Tensor]:
    params = attrs["params"]
    args = {"w": params["w"]}
    if params.get("b") is not None:
        args["b"] = params["b"].detach().to(torch.float32).reshape(-1) if params["b"].dim() else params["b"]
    if params.get("weight_decay") is not None:
        args["decay_factor"] = (1.0 - params["weight_decay"]).to(torch.float32)
    if params.get("norm") is not None:
        args["norm"] = params["norm"].to(torch.float32)
    return args


def propagate_torch(names: dict[str, str], source_spikes: str, target_input: str) -> list[str]:
    product = f"{source_spikes}.to({names['w']}.dtype) @ {names['w']}"
    product = f"({product}).float()"
    if "b" in names:
        product = f"{product} + {names['b']}"
    return [f"{target_input}.add_({product})"]


def learn_torch(names: dict[str, str]) -> list[str]:
    if "decay_factor" not in names:
        return []
    return [f"{names['w']}.mul_({names['decay_factor']})"]


def normalize_torch(names: dict[str, str]) -> list[str]:
    if "norm" not in names:
        return []
    w = names["w"]
    return [
        f"column_sums = {w}.abs().sum(dim=0, keepdim=True)",
        "column_sums[column_sums == 0] = 1.0",
        f"{w}.mul_({names['norm']} / column_sums)",
    ]


DENSE = register_connection_op(ConnectionOp(name="dense", bind=bind))
