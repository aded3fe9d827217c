"""snnc.compiler: named passes over the networkx IR, ending in generated source.

``lower(ir, options)`` runs every pass up to ``loop_nest`` (validate, schedule,
fuse, storage, propagation, loop_nest) and returns the lowered IR with its cache key;
``compile_lowered`` runs ``emit`` and writes the source to the compile cache;
``bind_arguments(ir, module)`` computes the read-only arguments (parameters and the
values derived from them) for a run.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import torch

from snnc.compiler import passes  # noqa: F401  (registers the pipeline)
from snnc.compiler.cache import structure_key, write_module
from snnc.compiler.emit.plan import BufferSpec
from snnc.compiler.ops import CONNECTION_OPS, LAYER_OPS
from snnc.compiler.ops.connection import ConnectionContext
from snnc.compiler.ops.multicompartment import MULTICOMPARTMENT, fused_attrs
from snnc.compiler.options import BACKENDS, CompileOptions
from snnc.compiler.pass_manager import PIPELINE, PassTiming, debug_level, pass_names, run_pipeline

LAST_DECISION = "loop_nest"


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


@dataclass
class Lowered:
    """The IR after every deciding pass, and the cache key derived from it."""

    ir: nx.DiGraph
    key: str
    timings: list[PassTiming]
    seconds: float


def lower(ir: nx.DiGraph, options: CompileOptions) -> Lowered:
    """Run the passes up to ``loop_nest``; the key comes from the IR they produced."""
    start = time.perf_counter()
    lowered, timings = run_pipeline(ir, options, stop_after=LAST_DECISION)
    key = structure_key(lowered, options)
    return Lowered(lowered, key, timings, time.perf_counter() - start)


def compile_lowered(lowered: Lowered, options: CompileOptions) -> CompiledModule:
    """Run ``emit`` on a lowered IR and write the generated module to the cache."""
    start = time.perf_counter()
    lowered.ir.graph["key"] = lowered.key
    emitted, timings = run_pipeline(lowered.ir, options, start_after=LAST_DECISION)
    source = emitted.graph["source"]
    path = write_module(options.backend, lowered.key, source)
    if debug_level() >= 2:
        logging.getLogger("snnc.compiler").info("generated %s:\n%s", path, source)
    return CompiledModule(
        key=lowered.key, backend=options.backend, source=source, path=path,
        buffers=emitted.graph["plan"].buffers, ir=emitted, timings=lowered.timings + timings,
        seconds=lowered.seconds + time.perf_counter() - start,
    )


def compile_ir(ir: nx.DiGraph, options: CompileOptions) -> CompiledModule:
    """Run every pass and write the generated module to the cache."""
    return compile_lowered(lower(ir, options), options)


def bind_arguments(ir: nx.DiGraph, module: CompiledModule) -> dict[str, torch.Tensor]:
    """The values of every ``arg`` buffer, from ``ir``'s current parameters and the
    decisions ``module`` was compiled with."""
    dt = ir.graph["dt"]
    values: dict[str, torch.Tensor] = {}
    wanted = {(spec.owner, spec.var): spec.name for spec in module.buffers if spec.role == "arg"}
    for name, attrs in ir.nodes(data=True):
        for var, value in LAYER_OPS[attrs["op"]].bind(attrs, dt).items():
            values[wanted[(name, var)]] = value
    lowered = module.ir
    for edge in ir.edges:
        attrs = ir.edges[edge]
        if attrs["op"] == MULTICOMPARTMENT:        # folded from the current feature values
            attrs = fused_attrs(attrs, ir.nodes[edge[0]]["n"], ir.nodes[edge[1]]["n"])
        if attrs["op"] not in CONNECTION_OPS:       # opaque: binds its own object
            continue
        attrs = {**attrs, "storage": lowered.edges[edge]["storage"],
                 "propagation": lowered.edges[edge]["propagation"]}
        ctx = ConnectionContext(edge, attrs, ir.nodes[edge[0]], ir.nodes[edge[1]],
                                module.backend, int(ir.graph["batch_size"]), bool(ir.graph["learning"]), dt)
        for var, value in CONNECTION_OPS[attrs["op"]].bind(ctx).items():
            values[wanted[(edge, var)]] = value
    return values


__all__ = [
    "BACKENDS", "BufferSpec", "CompileOptions", "CompiledModule", "Lowered", "PIPELINE",
    "bind_arguments", "compile_ir", "compile_lowered", "lower", "pass_names", "run_pipeline",
    "structure_key",
]
