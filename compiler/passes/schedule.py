"""schedule: fix the order of the per-step work (BindsNET's clock-driven semantics)."""
from __future__ import annotations

import networkx as nx

from snnc.compiler.ops.connection import learns, normalizes
from snnc.compiler.options import CompileOptions
from snnc.compiler.pass_manager import register_pass
from snnc.compiler.order import connections_in_order, layers_in_order
from snnc.ir.schema import ScheduledOp


def _update(ir: nx.DiGraph, layer: str) -> ScheduledOp:
    return ScheduledOp("update", layer, {
        "op": ir.nodes[layer]["op"],
        "synaptic": ir.in_degree(layer) > 0,
        "external": layer in ir.graph["inputs"],
    })


@register_pass("schedule")
def schedule(ir: nx.DiGraph, options: CompileOptions) -> nx.DiGraph:
    """Order each step's work.

    Synchronous mode: every connection first delivers its source's spikes of step
    t-1 (connection insertion order), then layers add their external input and
    update (layer insertion order), then per-step weight work, then monitors.
    ``one_step`` mode: just before a layer updates, its incoming connections deliver
    the spikes their sources hold now, so a feed-forward chain responds within one
    step; its external input is added as well (BindsNET drops it, quirk Q6).
    Weight normalisation runs once, at the end of the run.
    """
    layers, connections = layers_in_order(ir), connections_in_order(ir)
    steps: list[ScheduledOp] = []
    if not ir.graph["one_step"]:
        steps += [ScheduledOp("propagate", edge, {"op": ir.edges[edge]["op"]}) for edge in connections]
    for layer in layers:
        if ir.graph["one_step"]:
            steps += [ScheduledOp("propagate", edge, {"op": ir.edges[edge]["op"]})
                      for edge in connections if edge[1] == layer]
        if layer in ir.graph["inputs"]:
            steps.append(ScheduledOp("external", layer))
        steps.append(_update(ir, layer))
    steps += [ScheduledOp("learn", edge, {"op": ir.edges[edge]["op"]}) for edge in connections
              if learns(ir, edge)]
    steps += [ScheduledOp("record", spec.name) for spec in ir.graph["monitors"]]
    ir.graph["schedule"] = steps
    ir.graph["end_of_run"] = [ScheduledOp("normalize", edge, {"op": ir.edges[edge]["op"]})
                              for edge in connections if normalizes(ir, edge)]
    return ir
