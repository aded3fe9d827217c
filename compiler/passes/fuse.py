"""fuse: fold each feature pipeline into one connection the backends already run."""
from __future__ import annotations

import logging

import networkx as nx

from snnc.compiler.ops.multicompartment import MULTICOMPARTMENT, fused_attrs
from snnc.compiler.options import CompileOptions
from snnc.compiler.pass_manager import register_pass
from snnc.ir.schema import OPAQUE_CONNECTION, ScheduledOp

log = logging.getLogger("snnc.compiler")


@register_pass("fuse")
def fuse(ir: nx.DiGraph, options: CompileOptions) -> nx.DiGraph:
    """Fold every ``MulticompartmentConnection`` into a dense connection: linear
    features into an effective weight (or the learning feature's own tensor times a
    fixed per-synapse factor) plus a constant per target (``options["fused"]`` says
    how; :mod:`snnc.compiler.ops.multicompartment`). One whose pipeline cannot be
    folded was recorded as an opaque op; it is named here in a log line."""
    fused = set()
    for edge in ir.edges:
        attrs = ir.edges[edge]
        if attrs["op"] == MULTICOMPARTMENT:
            ir.edges[edge].update(fused_attrs(attrs, ir.nodes[edge[0]]["n"], ir.nodes[edge[1]]["n"]))
            fused.add(edge)
        elif attrs["op"] == OPAQUE_CONNECTION and "reason" in attrs and attrs["reason"] != "its own compute / update":
            log.info("connection %s->%s (%s) runs eagerly on torch: %s", *edge, attrs["cls"], attrs["reason"])
    for key in ("schedule", "end_of_run"):
        ir.graph[key] = [ScheduledOp(op.action, op.target, {**op.detail, "op": ir.edges[op.target]["op"]})
                         if op.target in fused else op for op in ir.graph.get(key, [])]
    return ir
