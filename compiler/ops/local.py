"""Locally connected layers. ``LocalConnection``: the dense synapse map over a matrix
whose entries outside each target's receptive field are held at zero::

    I_post[b, j] += s_pre[b, i] * w[i, j]  (+ bias[j])             every step
    w[i, j] = 0 where field_mask[i, j]                               after every learning step
    colsum[j] = Σ_i w[i, j];  w[i, j] *= norm / colsum[j]            end of run (signed, no zero guard)

``LocalConnection{1,2,3}D``: each filter has its own kernel at every output position,
over every source channel; ``w`` ``[C, F·P, K]`` is indexed as ``[C, F, *positions, *kernel]``
(a view)::

    I_post[b, f, p] += s_pre[b, c, p*stride + k] * w[c, f, p, k]   (+ bias[f, p])
    w[c, f, p, :] *= norm / Σ_k w[c, f, p, k]                       end of run (signed)
"""
from __future__ import annotations

import torch

from snnc.compiler.nest import Nest
from snnc.compiler.ops import dense
from snnc.compiler.ops.connection import ConnectionContext, ConnectionOp, SynapseMap, register_connection_op


def bind(ctx: ConnectionContext) -> dict[str, torch.Tensor]:
    return {**dense.bind(ctx), "field_mask": ctx.params["field_mask"].contiguous()}


def normalize(ctx: ConnectionContext, synapses: SynapseMap) -> list[Nest]:
    domains = synapses.weight_domains()
    return [
        Nest(f"{ctx.label} column sums", domains, "colsum[j]", "w[i, j]", "assign"),
        Nest(f"{ctx.label} normalize", domains, "w[i, j]", "w[i, j] * (norm / colsum[j])", "assign"),
    ]


LOCAL = register_connection_op(ConnectionOp(
    name="local", synapse_map=dense.synapse_map, bind=bind, normalize=normalize,
    temps=lambda ctx: {"colsum": (ctx.target["n"],)} if ctx.params.get("norm") is not None else {},
    fast_paths={"torch": dense.propagate_torch},
))


# -- LocalConnection1D / 2D / 3D: a filter per position, over multi-channel sources ------------

def nd_geometry(ctx: ConnectionContext) -> tuple[int, int, tuple, tuple, tuple]:
    """``(channels, filters, positions per dimension, kernel, stride)``."""
    channels, *size = ctx.source["shape"]
    kernel, stride = tuple(ctx.options["kernel_size"]), tuple(ctx.options["stride"])
    positions = tuple((n - k) // s + 1 for n, k, s in zip(size, kernel, stride))
    return channels, int(ctx.options["n_filters"]), positions, kernel, stride


def nd_synapse_map(ctx: ConnectionContext) -> SynapseMap:
    """``I_post[b, f, p] += s_pre[b, c, p*stride + k] * w[c, f, p, k]`` (positions and
    kernel per dimension; target neuron ``f·P + p``)."""
    from snnc.compiler.nest import BATCH, Domain
    from snnc.compiler.ops.conv import AXES, _position

    channels, filters, positions, kernel, stride = nd_geometry(ctx)
    axes = AXES[len(positions)]
    outs, kernels = [f"o{a}" for a in axes], [f"k{a}" for a in axes]
    return SynapseMap(
        domains=(Domain("c", channels), Domain("f", filters), *[Domain(o, n) for o, n in zip(outs, positions)],
                 *[Domain(k, n) for k, n in zip(kernels, kernel)]),
        pre=("b", "c", *[_position(o, k, s, 1, 0) for o, k, s in zip(outs, kernels, stride)]),
        post=("b", "f", *outs), weight=("c", "f", *outs, *kernels), bias=("f", *outs),
        pre_shape=(BATCH, channels, *ctx.source["shape"][1:]), post_shape=(BATCH, filters, *positions))


def nd_view(ctx: ConnectionContext) -> tuple:
    channels, filters, positions, kernel, _ = nd_geometry(ctx)
    return (channels, filters, *positions, *kernel)


def nd_bind(ctx: ConnectionContext) -> dict[str, torch.Tensor]:
    from snnc.compiler.ops.connection import bound_args

    args = {"w": ctx.params["w"].view(nd_view(ctx))}
    if ctx.params.get("b") is not None:
        channels, filters, positions, _, _ = nd_geometry(ctx)
        args["bias"] = ctx.params["b"].to(torch.float32).expand(ctx.target["n"]).reshape(filters, *positions) \
            .contiguous()
    return {**args, **bound_args(ctx)}


def nd_normalize(ctx: ConnectionContext, synapses: SynapseMap) -> list[Nest]:
    """Per channel and target neuron: ``w *= norm / Σ_kernel w`` (signed, no zero guard)."""
    domains = synapses.weight_domains()
    weight = synapses.access("w")
    row = ", ".join(i for i in synapses.weight if not i.startswith("k"))     # all but the kernel
    return [Nest(f"{ctx.label} kernel sums", domains, f"rowsum[{row}]", weight, "assign"),
            Nest(f"{ctx.label} normalize", domains, weight, f"{weight} * (norm / rowsum[{row}])", "assign")]


def nd_temps(ctx: ConnectionContext) -> dict[str, tuple]:
    if ctx.params.get("norm") is None:
        return {}
    channels, filters, positions, _, _ = nd_geometry(ctx)
    return {"rowsum": (channels, filters, *positions)}


for _dims in (1, 2, 3):
    register_connection_op(ConnectionOp(
        name=f"local{_dims}d", synapse_map=nd_synapse_map, bind=nd_bind, normalize=nd_normalize,
        temps=nd_temps, weight_view=nd_view,
    ))
