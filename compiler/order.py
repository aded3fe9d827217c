"""Insertion order of layers and connections, which BindsNET's semantics depend on."""
from __future__ import annotations

import networkx as nx


def layers_in_order(ir: nx.DiGraph) -> list[str]:
    return sorted(ir.nodes, key=lambda name: ir.nodes[name]["index"])


def connections_in_order(ir: nx.DiGraph) -> list[tuple[str, str]]:
    return sorted(ir.edges, key=lambda edge: ir.edges[edge]["index"])


def edge_label(edge: tuple[str, str]) -> str:
    """``"A->B"``: how options and reports name a connection."""
    return f"{edge[0]}->{edge[1]}"
