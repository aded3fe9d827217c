"""propagation: choose event-driven or matrix-product propagation per connection."""
from __future__ import annotations

import networkx as nx

from snnc.compiler.cost_model import choose_propagation
from snnc.compiler.options import CompileOptions
from snnc.compiler.pass_manager import register_pass


@register_pass("propagation")
def propagation(ir: nx.DiGraph, options: CompileOptions) -> nx.DiGraph:
    """Set ``propagation`` (``event`` or ``matmul``) on every connection from the cost
    model in :mod:`snnc.compiler.cost_model`: fan-out, layer sizes, batch and the
    expected spike activity."""
    for edge in ir.edges:
        ir.edges[edge]["propagation"] = choose_propagation(ir, edge, ir.edges[edge]["storage"], options)
    return ir
