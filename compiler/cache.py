"""The compile cache: generated modules on disk, keyed by the IR's structure.

The key covers ops, shapes, options, parameter layouts, dtypes, monitors, the
schedule mode and the backend, never tensor values: new weights or inputs reuse
the same code. Files live in ``$SNNC_CACHE_DIR`` (default ``~/.cache/snnc``).
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import networkx as nx
import torch

from snnc.compiler.ops.connection import code_decisions
from snnc.compiler.options import CompileOptions
from snnc.ir.schema import OPS

GENERATOR_VERSION = "13"


def _signature(value) -> object:
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return [str(value.dtype), list(value.shape) if value.numel() != 1 else []]
    return repr(value)


def structure_key(ir: nx.DiGraph, options: CompileOptions) -> str:
    """A hex digest of everything that shapes the generated code.

    ``ir`` is the IR after the ``loop_nest`` pass: the key includes the storage,
    propagation and loop-nest decisions those passes wrote (which may depend on
    weight density and batch size), so the code is regenerated only when one flips.
    The spike buffer's dtype is left out: the compiler derives it from the op and the
    inputs' dtypes (which are in), and the runtime converts the state to it.
    """
    import snnc

    description = {
        "version": [snnc.__version__, GENERATOR_VERSION],
        "options": [options.backend, options.device, options.storage, options.propagation,
                    options.activity, options.fast_paths, options.fuse_learning, options.threads],
        "graph": [ir.graph["learning"], ir.graph["one_step"], sorted(ir.graph["inputs"].items()),
                  [[m.name, list(m.target) if isinstance(m.target, tuple) else m.target,
                    list(m.state_vars), m.time] for m in ir.graph["monitors"]]],
        "layers": [[name, a["op"], a["index"], a["learning"], list(a["shape"]), sorted(a["options"].items()),
                    sorted(a.get("run", {}).items()),
                    {k: _signature(v) for k, v in sorted(a["params"].items())},
                    {k: [str(v.dtype) if k != "s" else "spikes",
                         list(v.shape) if k in OPS[a["op"]].shared_state else list(v.shape[1:])]
                     for k, v in sorted(a["state"].items())}]
                   for name, a in ir.nodes(data=True)],
        "connections": [[list(edge), a["op"], a["index"], sorted(a["options"].items()),
                         sorted(a.get("run", {}).items()),
                         {k: _signature(v) for k, v in sorted(a["params"].items())}]
                        for edge, a in ((e, ir.edges[e]) for e in ir.edges)],
    }
    description["decisions"] = [[list(edge), ir.edges[edge]["storage"], ir.edges[edge]["propagation"],
                                 code_decisions(ir, edge)] for edge in ir.edges]
    description["loop_nest"] = ir.graph["loop_nest"]
    description["schedule"] = [op.label() for op in ir.graph.get("schedule", [])]   # fused learning, too
    text = json.dumps(description, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cache_dir() -> Path:
    root = os.environ.get("SNNC_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "snnc"


def write_module(backend: str, key: str, source: str) -> Path:
    """Write ``source`` to its cache file (atomically) unless it is already there.

    When processes write one new module at once, the first to link its file wins and the
    others leave it be: a file rewritten under a process that imported it would change
    its time stamp, and numba would then refuse the machine code cached for it."""
    directory = cache_dir() / backend.replace("-", "_")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"snnc_{key}.py"
    if path.exists() and path.read_text() == source:
        return path
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(source)
    try:
        os.link(tmp, path)                      # fails where the file exists
    except FileExistsError:
        if path.read_text() != source:          # a stale file: replace it
            os.replace(tmp, path)
    except OSError:                             # a file system without hard links
        os.replace(tmp, path)
    if os.path.exists(tmp):
        os.unlink(tmp)
    return path
