"""Sparse connections (``SparseConnection``): only the stored synapses exist, CSR rows
by source. The synapse map is one domain ``e`` over the stored entries, with
``rows[e]`` / ``cols[e]`` their source and target::

    I_post[b, cols[e]] += s_pre[b, rows[e]] * w[e]        every step (+ bias[j])
    learning rule terms at w[e]                           (the pattern never changes)
    colsum[j] = Σ_{e: cols[e] = j} |w[e]|;  w[e] *= norm / colsum[cols[e]]    end of run

Each backend walks the same entries in the order that suits it: the torch rendering
adds per entry (``index_add``), numba walks the rows of the sources that spiked
(``e in [indptr[i], indptr[i + 1])``), numba-cuda gives each target a thread that
walks its column (``k in [t_indptr[j], t_indptr[j + 1])``, entry ``t_order[k]``).
"""
from __future__ import annotations

import torch

from snnc.compiler.nest import BATCH, Domain, Nest
from snnc.compiler.ops.connection import (ConnectionContext, ConnectionOp, SynapseMap, bound_args,
                                          register_connection_op)


def synapse_map(ctx: ConnectionContext) -> SynapseMap:
    n_pre, n_post = ctx.source["n"], ctx.target["n"]
    return SynapseMap(domains=(Domain("e", int(ctx.options["nnz"])),), pre=("b", "rows[e]"),
                      post=("b", "cols[e]"), weight=("e",), bias=("cols[e]",),
                      pre_shape=(BATCH, n_pre), post_shape=(BATCH, n_post))


def propagate(ctx: ConnectionContext, synapses: SynapseMap) -> list[Nest]:
    n_pre, n_post = ctx.source["n"], ctx.target["n"]
    batch = Domain("b", BATCH)
    label = f"{ctx.label} propagate (sparse"
    if ctx.backend == "numba":
        nests = [Nest(f"{label}, rows of the active sources)",
                      (batch, Domain("i", n_pre), Domain("e", "indptr[i + 1]", "indptr[i]")),
                      "I_post[b, cols[e]]", "s_pre[b, i] * w[e]", "add", guard="s_pre[b, i]")]
    elif ctx.backend == "numba-cuda":
        nests = [Nest(f"{label}, a column per target)",
                      (batch, Domain("j", n_post), Domain("k", "t_indptr[j + 1]", "t_indptr[j]")),
                      "I_post[b, j]", "s_pre[b, rows[t_order[k]]] * w[t_order[k]]", "add",
                      guard="s_pre[b, rows[t_order[k]]]")]
    else:
        nests = [Nest(f"{label})", (batch, *synapses.domains), synapses.access("I_post"),
                      f"{synapses.access('s_pre')} * w[e]", "add")]
    if ctx.params.get("b") is not None:
        nests.append(Nest(f"{ctx.label} bias (sparse)", (batch, Domain("j", n_post)), "I_post[b, j]",
                          "bias[j]", "add"))
    return nests


def normalize(ctx: ConnectionContext, synapses: SynapseMap) -> list[Nest]:
    """Column sums of |w| over the stored entries (a zero sum counts as 1), then the scale."""
    n_post, entries = ctx.target["n"], synapses.domains
    if ctx.backend == "numba-cuda":           # a thread per target: no two threads add to one sum
        sums = [Nest(f"{ctx.label} column sums", (Domain("j", n_post), Domain("k", "t_indptr[j + 1]",
                                                                              "t_indptr[j]")),
                     "colsum[j]", "abs(w[t_order[k]])", "assign")]
    else:
        sums = [Nest(f"{ctx.label} column sums start", (Domain("j", n_post),), "colsum[j]", "0.0", "assign"),
                Nest(f"{ctx.label} column sums", entries, "colsum[cols[e]]", "abs(w[e])", "add")]
    return sums + [Nest(f"{ctx.label} normalize", entries, "w[e]",
                        "w[e] * (norm / where(colsum[cols[e]] == 0.0, 1.0, colsum[cols[e]]))", "assign")]


def bind(ctx: ConnectionContext) -> dict[str, torch.Tensor]:
    """The stored values (the network's own tensor, updated in place), the entries'
    sources and targets, the row pointers by source and, for numba-cuda, by target."""
    params = ctx.params
    indptr, cols = params["w_indptr"], params["w_indices"]
    counts = indptr[1:] - indptr[:-1]
    rows = torch.repeat_interleave(torch.arange(len(counts), dtype=cols.dtype), counts.long())
    args = {"w": params["w"], "rows": rows, "cols": cols, "indptr": indptr}
    if ctx.backend == "numba-cuda":
        order = torch.argsort(cols.long() * len(counts) + rows.long(), stable=True)
        per_target = torch.bincount(cols.long(), minlength=ctx.target["n"])
        t_indptr = torch.zeros(ctx.target["n"] + 1, dtype=torch.int64)
        t_indptr[1:] = torch.cumsum(per_target, 0)
        args.update(t_order=order.to(cols.dtype), t_indptr=t_indptr.to(cols.dtype))
    if params.get("b") is not None:
        args["bias"] = params["b"].detach().to(torch.float32).expand(ctx.target["n"]).contiguous()
    return {**args, **bound_args(ctx)}


register_connection_op(ConnectionOp(
    name="sparse", synapse_map=synapse_map, bind=bind, normalize=normalize, propagate=propagate,
    temps=lambda ctx: {"colsum": (ctx.target["n"],)} if ctx.params.get("norm") is not None else {},
    storage_formats=("csr",), weight_view=lambda ctx: (int(ctx.options["nnz"]),),
))
