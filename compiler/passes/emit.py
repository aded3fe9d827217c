"""emit: generate the backend's source for the scheduled IR."""
from __future__ import annotations

import networkx as nx

from snnc.compiler.cache import structure_key
from snnc.compiler.emit.plan import build_plan
from snnc.compiler.emit.numba_backend import NumbaEmitter
from snnc.compiler.emit.numba_cuda_backend import NumbaCudaEmitter
from snnc.compiler.emit.torch_backend import TorchEmitter
from snnc.compiler.options import CompileOptions
from snnc.compiler.pass_manager import register_pass

EMITTERS = {"torch": TorchEmitter, "numba": NumbaEmitter, "numba-cuda": NumbaCudaEmitter}


@register_pass("emit")
def emit(ir: nx.DiGraph, options: CompileOptions) -> nx.DiGraph:
    """Plan every buffer (names, roles, shapes, dtypes) and write the backend's source.

    The source depends only on the IR's structure, so it is cached under that key.
    """
    key = ir.graph.get("key") or structure_key(ir, options)
    plan = build_plan(ir, options.backend)
    ir.graph["key"] = key
    ir.graph["plan"] = plan
    ir.graph["source"] = EMITTERS[options.backend](ir, plan, options.fast_paths).source(key)
    return ir
