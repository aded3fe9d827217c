"""2-D convolutions (``Conv2dConnection``): the synapse map of a convolution.

    I_post[b, o, oy, ox] += s_pre[b, c, oy*S + ky*D - P, ox*S + kx*D - P] * w[o, c, ky, kx]
                            (a source index outside the layer reads as zero: padding)
    I_post[b, o, oy, ox] += bias[o]
    rowsum[o, c] = Σ_{ky,kx} w[o, c, ky, kx];  w *= norm / rowsum[o, c]    end of run

A learning rule's terms use the same map, so ``w[o, c, ky, kx]`` sums over the batch
and every output position. The torch fast path (``F.conv2d``) is checked against the
generic rendering by the tests.
"""
from __future__ import annotations

import torch

from snnc.compiler.nest import BATCH, Domain, Nest
from snnc.compiler.ops.connection import (ConnectionContext, ConnectionOp, SynapseMap, bound_args,
                                          register_connection_op)
from snnc.compiler.ops.dense import storage_of, weight_values


def _position(out: str, kernel: str, stride: int, dilation: int, padding: int) -> str:
    """``out*stride + kernel*dilation - padding``, written without the trivial parts."""
    text = out if stride == 1 else f"{out} * {stride}"
    text += f" + {kernel}" if dilation == 1 else f" + {kernel} * {dilation}"
    return text + (f" - {padding}" if padding else "")


def synapse_map(ctx: ConnectionContext) -> SynapseMap:
    channels, height, width = ctx.source["shape"]
    filters, out_h, out_w = ctx.target["shape"]
    options = ctx.options
    (kh, kw), (sh, sw) = options["kernel_size"], options["stride"]
    (ph, pw), (dh, dw) = options["padding"], options["dilation"]
    return SynapseMap(
        domains=(Domain("o", filters), Domain("oy", out_h), Domain("ox", out_w),
                 Domain("c", channels), Domain("ky", kh), Domain("kx", kw)),
        pre=("b", "c", _position("oy", "ky", sh, dh, ph), _position("ox", "kx", sw, dw, pw)),
        post=("b", "o", "oy", "ox"), weight=("o", "c", "ky", "kx"), bias=("o",),
        pre_shape=(BATCH, channels, height, width), post_shape=(BATCH, filters, out_h, out_w))


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
    """Per (output, input) channel pair: ``w *= norm / Σ_{ky,kx} w`` (a signed sum)."""
    domains = synapses.weight_domains()
    return [
        Nest(f"{ctx.label} kernel sums", domains, "rowsum[o, c]", "w[o, c, ky, kx]", "assign"),
        Nest(f"{ctx.label} normalize", domains, "w[o, c, ky, kx]",
             "w[o, c, ky, kx] * (norm / rowsum[o, c])", "assign"),
    ]


def temps(ctx: ConnectionContext) -> dict[str, tuple[int, ...]]:
    if ctx.params.get("norm") is None:
        return {}
    return {"rowsum": (ctx.target["shape"][0], ctx.source["shape"][0])}


def propagate_torch(ctx: ConnectionContext, names: dict[str, str]) -> list[str]:
    """Fast path: ``F.conv2d`` on the source spikes viewed ``[B, C, H, W]``."""
    options = ctx.options
    source = ", ".join(str(d) for d in ctx.source["shape"])
    target = ", ".join(str(d) for d in ctx.target["shape"])
    spikes, out = names["s_pre"], names["I_post"]
    return [f"{out}.view({out}.shape[0], {target}).add_(torch.nn.functional.conv2d("
            f"{spikes}.view({spikes}.shape[0], {source}).float(), {names['w']}.float(), "
            f"stride={tuple(options['stride'])}, padding={tuple(options['padding'])}, "
            f"dilation={tuple(options['dilation'])}))"]


CONV2D = register_connection_op(ConnectionOp(
    name="conv2d", synapse_map=synapse_map, bind=bind, normalize=normalize, temps=temps,
    fast_paths={"torch": propagate_torch},
))
