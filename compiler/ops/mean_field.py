"""Mean-field connections (``MeanFieldConnection``): every target neuron receives the
mean activity of the whole source, over the batch and its neurons, times its weight::

    mean[0] = sum_{a, i} s_pre[a, i] / (B * n_pre)        one value for every sample
    I_post[b, j] += mean[0] * w[j]

The mean couples the samples of a batch. No learning rule; weight decay and the clamp
apply to ``w[j]`` as for every type.
"""
from __future__ import annotations

import torch

from snnc.compiler.nest import BATCH, Domain, Nest
from snnc.compiler.ops.connection import (ConnectionContext, ConnectionOp, SynapseMap, bound_args,
                                          register_connection_op)


def synapse_map(ctx: ConnectionContext) -> SynapseMap:
    n_pre, n_post = ctx.source["n"], ctx.target["n"]
    return SynapseMap(domains=(Domain("i", n_pre), Domain("j", n_post)), pre=("b", "i"), post=("b", "j"),
                      weight=("j",), bias=(), pre_shape=(BATCH, n_pre), post_shape=(BATCH, n_post))


def propagate(ctx: ConnectionContext, synapses: SynapseMap) -> list[Nest]:
    n_pre = ctx.source["n"]
    return [
        Nest(f"{ctx.label} mean activity", (Domain("z", 1), Domain("a", BATCH), Domain("i", n_pre)),
             "mean[z]", "s_pre[a, i] * inverse_count", "assign"),
        Nest(f"{ctx.label} propagate (mean_field)", (Domain("b", BATCH), Domain("z", 1),
                                                     Domain("j", ctx.target["n"])),
             "I_post[b, j]", "mean[z] * w[j]", "add"),
    ]


def bind(ctx: ConnectionContext) -> dict[str, torch.Tensor]:
    count = ctx.batch_size * ctx.source["n"]
    return {"w": ctx.params["w"], "inverse_count": torch.tensor(1.0 / count, dtype=torch.float32),
            **bound_args(ctx)}


register_connection_op(ConnectionOp(
    name="mean_field", synapse_map=synapse_map, bind=bind, temps=lambda ctx: {"mean": (1,)},
    propagate=propagate, couples_samples=True,
))
