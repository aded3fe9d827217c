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
    folded was recorded as an opaque op; it is named here in a log line. Then group
    every layer's incoming propagations into one ``accumulate`` step."""
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
    if "schedule" in ir.graph:
        ir.graph["schedule"] = accumulate(ir, ir.graph["schedule"])
    return ir


def accumulate(ir: nx.DiGraph, steps: list[ScheduledOp]) -> list[ScheduledOp]:
    """Group the compiled propagations into each layer within a run of consecutive
    propagations (their order kept, at the first one's place) into one ``accumulate``
    op, so that a backend can sum every connection into the target in one pass. A layer
    that an opaque connection also feeds is left as it is (its sum order would change)."""
    fed_by_opaque = {op.target[1] for op in steps
                     if op.action == "propagate" and ir.edges[op.target]["op"] == OPAQUE_CONNECTION}
    grouped: list[ScheduledOp] = []
    run: list[ScheduledOp] = []

    def flush() -> None:
        order: dict[str, list[tuple[str, str]]] = {}
        for op in run:
            order.setdefault(op.target[1], []).append(op.target)
        placed = set()
        for op in run:
            layer = op.target[1]
            edges = order[layer]
            if len(edges) == 1 or layer in fed_by_opaque:
                grouped.append(op)
            elif layer not in placed:
                placed.add(layer)
                grouped.append(ScheduledOp("accumulate", layer, {"edges": tuple(edges), "op": "accumulate"}))
        run.clear()

    for op in steps:
        if op.action == "propagate":
            run.append(op)
            continue
        flush()
        grouped.append(op)
    flush()
    return grouped
