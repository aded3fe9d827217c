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
        n_target = params["w"].shape[1]
        args["b"] = params["b"].detach().to(torch.float32).expand(n_target).contiguous()
    if params.get("weight_decay") is not None:
        args["decay_factor"] = (1.0 - params["weight_decay"]).to(torch.float32)
    if params.get("norm") is not None:
        args["norm"] = params["norm"].to(torch.float32)
    return args


def propagate_torch(names: dict[str, str], spikes: str, target_input: str,
                    strategy: str) -> list[str]:
    """``matmul``: the full product; ``event``: only the rows of sources that spiked."""
    w = names["w"]
    bias = f" + {names['b']}" if "b" in names else ""
    if strategy == "event":
        return [f"active = torch.nonzero(({spikes} != 0).any(dim=0)).squeeze(1)",
                f"{target_input}.add_(({spikes}[:, active].to({w}.dtype) @ {w}[active]).float(){bias})"]
    return [f"{target_input}.add_(({spikes}.to({w}.dtype) @ {w}).float(){bias})"]


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


def propagate_numba(names: dict[str, str], spikes: str, target_input: str) -> list[str]:
    """Event-driven: add row ``i`` of ``w``, scaled by the source value, for each non-zero source."""
    w = names["w"]
    lines = [
        f"for b in range({spikes}.shape[0]):",
        f"    for i in range({spikes}.shape[1]):",
        f"        value = float32({spikes}[b, i])",
        "        if value != 0:",
        f"            for j in range({w}.shape[1]):",
        f"                {target_input}[b, j] += value * {w}[i, j]",
    ]
    if "b" in names:
        bias = names["b"]
        lines += [f"for b in range({target_input}.shape[0]):",
                  f"    for j in range({target_input}.shape[1]):",
                  f"        {target_input}[b, j] += {bias}[j]"]
    return lines


def learn_numba(names: dict[str, str]) -> list[str]:
    if "decay_factor" not in names:
        return []
    w = names["w"]
    return [f"for i in range({w}.shape[0]):",
            f"    for j in range({w}.shape[1]):",
            f"        {w}[i, j] *= {names['decay_factor']}"]


def normalize_numba(names: dict[str, str]) -> list[str]:
    if "norm" not in names:
        return []
    w = names["w"]
    return [f"for j in range({w}.shape[1]):",
            "    column_sum = float32(0.0)",
            f"    for i in range({w}.shape[0]):",
            f"        column_sum += abs({w}[i, j])",
            "    if column_sum == 0:",
            "        column_sum = float32(1.0)",
            f"    scale = {names['norm']} / column_sum",
            f"    for i in range({w}.shape[0]):",
            f"        {w}[i, j] *= scale",
            ]


def propagate_cuda(names: dict[str, str], spikes: str, target_input: str, first: bool) -> list[str]:
    """Thread ``(b, j)`` sums, in source order, the weights of the sources that spiked."""
    w = names["w"]
    lines = [
        "acc = float32(0.0)" if first else f"acc = {target_input}[b, j]",
        f"for i in range({spikes}.shape[1]):",
        f"    value = float32({spikes}[b, i])",
        "    if value != 0:",
        f"        acc += value * {w}[i, j]",
    ]
    if "b" in names:
        lines.append(f"acc += {names['b']}[j]")
    return lines + [f"{target_input}[b, j] = acc"]


def learn_cuda(names: dict[str, str]) -> list[str]:
    if "decay_factor" not in names:
        return []
    return [f"{names['w']}[i, j] *= {names['decay_factor']}"]


def normalize_cuda(names: dict[str, str]) -> list[str]:
    """Thread ``j`` normalises column ``j``."""
    if "norm" not in names:
        return []
    w = names["w"]
    return ["column_sum = float32(0.0)",
            f"for i in range({w}.shape[0]):",
            f"    column_sum += abs({w}[i, j])",
            "if column_sum == 0:",
            "    column_sum = float32(1.0)",
            f"scale = {names['norm']} / column_sum",
            f"for i in range({w}.shape[0]):",
            f"    {w}[i, j] *= scale"]


DENSE = register_connection_op(ConnectionOp(name="dense", bind=bind))
