"""snnc.compiler: named passes over the networkx IR, ending in generated source.

``compile_ir(ir, options)`` runs the pipeline (validate, schedule, storage,
propagation, emit), writes the
source to the compile cache and returns a :class:`CompiledModule`;
``bind_arguments(ir, module)`` computes the read-only arguments (parameters and the
values derived from them) for a run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import torch

from snnc.compiler import passes  # noqa: F401  (registers the pipeline)
from snnc.compiler.cache import structure_key, write_module
from snnc.compiler.emit.plan import BufferSpec
from snnc.compiler.ops import CONNECTION_OPS, LAYER_OPS
from snnc.compiler.options import BACKENDS, CompileOptions
from snnc.compiler.pass_manager import PIPELINE, PassTiming, debug_level, pass_names, run_pipeline


@dataclass
class CompiledModule:
    """Generated source on disk, the buffers its ``run`` takes, and how it was made."""

    key: str
    backend: str
    source: str
    path: Path
    buffers: list[BufferSpec]
    ir: nx.DiGraph
    timings: list[PassTiming] = field(default_factory=list)
    seconds: float = 0.0


def compile_ir(ir: nx.DiGraph, options: CompileOptions) -> CompiledModule:
    """Run every pass and write the generated module to the cache."""
    start = time.perf_counter()
    lowered, timings = run_pipeline(ir, options)
    source = lowered.graph["source"]
    path = write_module(options.backend, lowered.graph["key"], source)
    if debug_level() >= 2:
        import logging

        logging.getLogger("snnc.compiler").info("generated %s:\n%s", path, source)
    return CompiledModule(
        key=lowered.graph["key"], backend=options.backend, source=source, path=path,
        buffers=lowered.graph["plan"].buffers, ir=lowered, timings=timings,
        seconds=time.perf_counter() - start,
    )


def bind_arguments(ir: nx.DiGraph, module: CompiledModule) -> dict[str, torch.Tensor]:
    """The values of every ``arg`` buffer, computed from the IR's current parameters."""
    dt = ir.graph["dt"]
    values: dict[str, torch.Tensor] = {}
    wanted = {(spec.owner, spec.var): spec.name for spec in module.buffers if spec.role == "arg"}
    for name, attrs in ir.nodes(data=True):
        for var, value in LAYER_OPS[attrs["op"]].bind(attrs, dt).items():
            values[wanted[(name, var)]] = value
    for edge in ir.edges:
        attrs = {**ir.edges[edge], "storage": module.ir.edges[edge]["storage"]}
        for var, value in CONNECTION_OPS[attrs["op"]].bind(attrs, dt, module.backend).items():
            values[wanted[(edge, var)]] = value
    return values


__all__ = [
    "BACKENDS", "BufferSpec", "CompileOptions", "CompiledModule", "PIPELINE", "bind_arguments",
    "compile_ir", "pass_names", "run_pipeline", "structure_key",
]
