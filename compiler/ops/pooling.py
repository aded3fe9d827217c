"""Max pooling by firing rate (``MaxPool{1,2,3}dConnection``), for 1, 2 or 3 spatial
dimensions, as nests over a convolution-like map without weights. In 2-D::

    firing_rates = firing_rates - decay * firing_rates + s_pre        per source neuron
    pool_max[b, c, oy, ox] = max_{ky,kx} rate[b, c, oy*S + ky*D - P, ox*S + kx*D - P]
    pool_first[b, c, oy, ox] = max_{ky,kx} where(rate[...] == pool_max, FIRST - order[ky, kx], 0)
    I_post[b, c, oy, ox] += sum_{ky,kx} where(FIRST - order[ky, kx] == pool_first, s_pre[...], 0)

``order`` numbers a window's inputs row-major, so ``pool_first`` marks the first input
with the highest rate (torch's ``max_pool`` with ``return_indices``, whose index picks
the spike passed on). Rates are never negative (``decay`` in [0, 1]), so a padded
input (read as 0) only ties when every rate in the window is 0, and then every spike
in it is 0 too.
"""
from __future__ import annotations

import math

import torch

from snnc.compiler.nest import BATCH, Domain, Nest
from snnc.compiler.ops.connection import ConnectionContext, ConnectionOp, SynapseMap, register_connection_op
from snnc.compiler.ops.conv import windows

FIRST = 1.0e6           # > every window's size


def synapse_map(ctx: ConnectionContext) -> SynapseMap:
    channels, *size = ctx.source["shape"]
    _, *out_size = ctx.target["shape"]
    options = ctx.options
    outs, kernels, pre = windows(ctx)
    return SynapseMap(
        domains=(Domain("c", channels), *[Domain(o, n) for o, n in zip(outs, out_size)],
                 *[Domain(k, n) for k, n in zip(kernels, options["kernel_size"])]),
        pre=("b", "c", *pre), post=("b", "c", *outs), weight=tuple(kernels), bias=(),
        pre_shape=(BATCH, channels, *size), post_shape=(BATCH, channels, *out_size))


def propagate(ctx: ConnectionContext, synapses: SynapseMap) -> list[Nest]:
    dims = len(ctx.source["shape"]) - 1
    outs = ", ".join(synapses.post)
    kernel = ", ".join(synapses.weight)
    rate = f"firing_rates[{', '.join(synapses.pre)}]"
    spikes = synapses.access("s_pre")
    kept = synapses.all_domains()[:dims + 2]
    domains = synapses.all_domains()
    order = f"{FIRST} - order[{kernel}]"
    return [
        Nest(f"{ctx.label} pool start", kept, f"pool_max[{outs}]", "0.0", "assign"),
        Nest(f"{ctx.label} highest rate", domains, f"pool_max[{outs}]", rate, "max"),
        Nest(f"{ctx.label} pool first", kept, f"pool_first[{outs}]", "0.0", "assign"),
        Nest(f"{ctx.label} first input at the highest rate", domains, f"pool_first[{outs}]",
             f"where({rate} == pool_max[{outs}], {order}, 0.0)", "max"),
        Nest(f"{ctx.label} propagate ({ctx.attrs['op']})", domains, synapses.access("I_post"),
             f"where({order} == pool_first[{outs}], {spikes}, 0.0)", "add"),
    ]


def bind(ctx: ConnectionContext) -> dict[str, torch.Tensor]:
    kernel = tuple(ctx.options["kernel_size"])
    return {"decay": ctx.params["decay"].to(torch.float32).reshape(()),
            "order": torch.arange(math.prod(kernel), dtype=torch.float32).reshape(kernel)}


def temps(ctx: ConnectionContext) -> dict[str, tuple]:
    shape = (BATCH, *ctx.target["shape"])
    return {"pool_max": shape, "pool_first": shape}


for _dims in (1, 2, 3):
    register_connection_op(ConnectionOp(
        name=f"max_pool{_dims}d", synapse_map=synapse_map, bind=bind, temps=temps, propagate=propagate,
        pre_statements=("firing_rates = firing_rates - decay * firing_rates + to_float(s_pre)",),
        state={"firing_rates": "pre"},
    ))
