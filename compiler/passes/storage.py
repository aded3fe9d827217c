"""storage: choose each connection's weight storage (dense or CSR, value dtype)."""
from __future__ import annotations

import networkx as nx

from snnc.compiler.cost_model import choose_storage, unsupported
from snnc.compiler.options import CompileOptions
from snnc.compiler.pass_manager import register_pass
from snnc.errors import SnncError


@register_pass("storage")
def storage(ir: nx.DiGraph, options: CompileOptions) -> nx.DiGraph:
    """Set ``storage = {"format", "dtype"}`` on every connection (rules in
    :mod:`snnc.compiler.cost_model`): CSR for sparse fixed weights, the weights' own
    dtype, dense float32 for weights that change during a run."""
    reason = unsupported(ir, options.backend)
    if reason is not None:
        raise SnncError(f"backend {options.backend} cannot run {reason}; use backend='torch'")
    for edge in ir.edges:
        ir.edges[edge]["storage"] = choose_storage(ir, edge, options)
    return ir
