"""loop_nest: choose how the numba run nests its loops over time and samples."""
from __future__ import annotations

import networkx as nx

from snnc.compiler.cost_model import choose_loop_nest
from snnc.compiler.options import CompileOptions
from snnc.compiler.pass_manager import register_pass


@register_pass("loop_nest")
def loop_nest(ir: nx.DiGraph, options: CompileOptions) -> nx.DiGraph:
    """Set ``loop_nest = {"batch_outer", "parallel"}``: independent samples run as an
    outer (parallel, from a batch of 2) loop with time inside; else time is outermost."""
    ir.graph["loop_nest"] = choose_loop_nest(ir, options)
    return ir
