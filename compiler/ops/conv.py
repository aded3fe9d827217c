"""Convolutions (``Conv1dConnection``, ``Conv2dConnection``, ``Conv3dConnection``): one
synapse map for 1, 2 or 3 spatial dimensions. In 2-D::

    I_post[b, o, oy, ox] += s_pre[b, c, oy*S + ky*D - P, ox*S + kx*D - P] * w[o, c, ky, kx]
                            (a source index outside the layer reads as zero: padding)
    I_post[b, o, oy, ox] += bias[o]
    rowsum[o, c] = Σ_{ky,kx} w[o, c, ky, kx];  w *= norm / rowsum[o, c]    end of run

A learning rule's terms use the same map, so ``w[o, c, ky, kx]`` sums over the batch
and every output position (correct for any number of channels). The torch fast path
(``F.conv{1,2,3}d``) is checked against the generic rendering by the tests.
"""
from __future__ import annotations

import torch

from snnc.compiler.nest import BATCH, Domain, Nest
from snnc.compiler.ops.connection import (ConnectionContext, ConnectionOp, SynapseMap, bound_args,
                                          register_connection_op)
from snnc.compiler.ops.dense import storage_of, weight_values

AXES = {1: ("x",), 2: ("y", "x"), 3: ("z", "y", "x")}


def _position(out: str, kernel: str, stride: int, dilation: int, padding: int) -> str:
    """``out*stride + kernel*dilation - padding``, written without the trivial parts."""
    text = out if stride == 1 else f"{out} * {stride}"
    text += f" + {kernel}" if dilation == 1 else f" + {kernel} * {dilation}"
    return text + (f" - {padding}" if padding else "")


def windows(ctx: ConnectionContext) -> tuple[list[str], list[str], tuple[str, ...]]:
    """The output-position and kernel domain names per spatial axis, and the source
    index each pair reads (``o*S + k*D - P``), for a convolution or a pooling."""
    options = ctx.options
    axes = AXES[len(ctx.source["shape"]) - 1]
    outs, kernels = [f"o{a}" for a in axes], [f"k{a}" for a in axes]
    pre = tuple(_position(o, k, s, d, p) for o, k, s, d, p in zip(
        outs, kernels, options["stride"], options["dilation"], options["padding"]))
    return outs, kernels, pre


def synapse_map(ctx: ConnectionContext) -> SynapseMap:
    channels, *size = ctx.source["shape"]
    filters, *out_size = ctx.target["shape"]
    options = ctx.options
    outs, kernels, pre = windows(ctx)
    return SynapseMap(
        domains=(Domain("o", filters), *[Domain(o, n) for o, n in zip(outs, out_size)],
                 Domain("c", channels), *[Domain(k, n) for k, n in zip(kernels, options["kernel_size"])]),
        pre=("b", "c", *pre), post=("b", "o", *outs), weight=("o", "c", *kernels), bias=("o",),
        pre_shape=(BATCH, channels, *size), post_shape=(BATCH, filters, *out_size))


def bind(ctx: ConnectionContext) -> dict[str, torch.Tensor]:
    """``w`` in its storage dtype (numba reads 16-bit values through a table) and
    the bias (zeros by default)."""
    w = ctx.params["w"]
    dtype = getattr(torch, storage_of(ctx.attrs)["dtype"])
    args: dict[str, torch.Tensor] = {}
    weight_values(args, "w", w if w.dtype == dtype else w.to(dtype), ctx.backend)
    filters = ctx.target["shape"][0]
    bias = ctx.params.get("b")
    args["bias"] = (torch.zeros(filters) if bias is None else bias.detach()).to(torch.float32) \
        .expand(filters).contiguous()
    return {**args, **bound_args(ctx)}


def normalize(ctx: ConnectionContext, synapses: SynapseMap) -> list[Nest]:
    """Per (output, input) channel pair: ``w *= norm / Σ_kernel w`` (a signed sum)."""
    domains = synapses.weight_domains()
    weight = synapses.access("w")
    return [
        Nest(f"{ctx.label} kernel sums", domains, "rowsum[o, c]", weight, "assign"),
        Nest(f"{ctx.label} normalize", domains, weight, f"{weight} * (norm / rowsum[o, c])", "assign"),
    ]


def temps(ctx: ConnectionContext) -> dict[str, tuple[int, ...]]:
    if ctx.params.get("norm") is None:
        return {}
    return {"rowsum": (ctx.target["shape"][0], ctx.source["shape"][0])}


def propagate_torch(ctx: ConnectionContext, names: dict[str, str]) -> list[str]:
    """Fast path: ``F.conv{1,2,3}d`` on the source spikes viewed ``[B, C, *size]``."""
    options = ctx.options
    dims = len(ctx.source["shape"]) - 1
    source = ", ".join(str(d) for d in ctx.source["shape"])
    target = ", ".join(str(d) for d in ctx.target["shape"])
    spikes, out = names["s_pre"], names["I_post"]
    return [f"{out}.view({out}.shape[0], {target}).add_(torch.nn.functional.conv{dims}d("
            f"{spikes}.view({spikes}.shape[0], {source}).float(), {names['w']}.float(), "
            f"stride={tuple(options['stride'])}, padding={tuple(options['padding'])}, "
            f"dilation={tuple(options['dilation'])}))"]


for _dims in (1, 2, 3):
    register_connection_op(ConnectionOp(
        name=f"conv{_dims}d", synapse_map=synapse_map, bind=bind, normalize=normalize, temps=temps,
        fast_paths={"torch": propagate_torch},
    ))
