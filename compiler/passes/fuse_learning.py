"""fuse_learning: run a learning rule's terms inside its target layer's update loop."""
from __future__ import annotations

import logging
import math

import networkx as nx
import torch

from snnc.compiler.ops.connection import CONNECTION_OPS, context
from snnc.compiler.ops.learn_phase import fuses_into_target
from snnc.compiler.ops.opaque import is_opaque
from snnc.compiler.options import CompileOptions
from snnc.compiler.pass_manager import register_pass
from snnc.ir.schema import ScheduledOp

log = logging.getLogger("snnc.compiler")

# Whether a backend fuses by default. numba-cuda: the terms join the target's update
# kernel, which saves two or three launches per learning connection and step, and the
# threads of neighbouring target neurons walk neighbouring columns of ``w`` (coalesced).
# numba: off, measured slower (benchmarks/RESULTS.md, "fused learning"): inside the
# loop over target neurons the pre-synaptic term walks a column of the row-major ``w``
# one element at a time, where the learn phase adds whole contiguous rows.
# torch: nothing to fuse (whole-tensor operations, no loops).
DEFAULT = {"torch": False, "numba": False, "numba-cuda": True}


@register_pass("fuse_learning")
def fuse_learning(ir: nx.DiGraph, options: CompileOptions) -> nx.DiGraph:
    """Move the rule terms of each learning connection that can
    (:func:`snnc.compiler.ops.learn_phase.fuses_into_target`) into its target's update:
    the ``update`` step gains ``detail["learning"]`` (those connections, in order) and
    each one's ``learn`` step keeps only what follows the terms (``terms_fused``).
    Valid when the source has updated earlier in the step (its spikes and trace are
    this step's) and is not the target itself, and no other connection holds the same
    weight tensor (it could read or change them between the target's update and the
    learn phase). ``options.fuse_learning``
    (None: the backend's :data:`DEFAULT`) turns it on or off."""
    wanted = DEFAULT.get(options.backend, False) if options.fuse_learning is None else options.fuse_learning
    schedule = ir.graph.get("schedule", [])
    if not wanted or options.backend == "torch" or not ir.graph["learning"]:
        return ir
    updated = {op.target: k for k, op in enumerate(schedule) if op.action == "update"}
    shared = _shared_weights(ir)
    fused: dict[str, list[tuple[str, str]]] = {}
    for op in schedule:
        if op.action != "learn" or op.target in shared or not _fusable(ir, op.target, updated, options.backend):
            continue
        fused.setdefault(op.target[1], []).append(op.target)
        log.info("connection %s->%s: %s terms run in the update of %r", *op.target,
                 ir.edges[op.target]["options"]["rule"], op.target[1])
    edges = {edge for group in fused.values() for edge in group}
    ir.graph["schedule"] = [
        ScheduledOp(op.action, op.target, {**op.detail, "learning": tuple(fused[op.target])})
        if op.action == "update" and op.target in fused else
        ScheduledOp(op.action, op.target, {**op.detail, "terms_fused": True})
        if op.action == "learn" and op.target in edges else op
        for op in schedule]
    return ir


def _shared_weights(ir: nx.DiGraph) -> set[tuple[str, str]]:
    """Connections whose weight tensor shares its memory with another connection's."""
    owners: dict[int, list[tuple[str, str]]] = {}
    for edge in ir.edges:
        w = ir.edges[edge].get("params", {}).get("w")
        if isinstance(w, torch.Tensor) and w.layout == torch.strided:
            owners.setdefault(w.untyped_storage().data_ptr(), []).append(edge)
    return {edge for edges in owners.values() if len(edges) > 1 for edge in edges}


def _fusable(ir: nx.DiGraph, edge: tuple[str, str], updated: dict[str, int], backend: str) -> bool:
    source, target = edge
    if source == target or is_opaque(ir.edges[edge]) or is_opaque(ir.nodes[target]):
        return False
    if updated.get(source, math.inf) >= updated.get(target, -1):
        return False                    # the source updates later: its trace is not yet this step's
    ctx = context(ir, edge, backend)
    return fuses_into_target(ctx, CONNECTION_OPS[ctx.attrs["op"]].synapse_map(ctx))
