"""An ordered list of named passes, each ``(ir, options) -> ir``, timed and dumpable.

``SNNC_DEBUG=1`` logs each pass and its time; ``SNNC_DEBUG=2`` also the IR after
each pass and the generated source.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Callable

import networkx as nx

from snnc.compiler.options import CompileOptions

log = logging.getLogger("snnc.compiler")

PassFn = Callable[[nx.DiGraph, CompileOptions], nx.DiGraph]


@dataclass(frozen=True)
class CompilerPass:
    name: str
    run: PassFn

    @property
    def doc(self) -> str:
        return (self.run.__doc__ or "").strip().splitlines()[0]


@dataclass(frozen=True)
class PassTiming:
    name: str
    seconds: float


PIPELINE: list[CompilerPass] = []


def register_pass(name: str) -> Callable[[PassFn], PassFn]:
    """Append a pass to the pipeline (passes run in registration order)."""
    def decorate(fn: PassFn) -> PassFn:
        if any(p.name == name for p in PIPELINE):
            raise ValueError(f"pass {name!r} is already registered")
        PIPELINE.append(CompilerPass(name, fn))
        return fn
    return decorate


def pass_names() -> list[str]:
    return [p.name for p in PIPELINE]


def debug_level() -> int:
    """The ``SNNC_DEBUG`` level; from 1 on, snnc's log lines go to stderr."""
    try:
        level = int(os.environ.get("SNNC_DEBUG", "0"))
    except ValueError:
        level = 0
    root = logging.getLogger("snnc")
    if level >= 1 and not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    return level


def run_pipeline(ir: nx.DiGraph, options: CompileOptions, stop_after: str | None = None,
                 start_after: str | None = None) -> tuple[nx.DiGraph, list[PassTiming]]:
    """Run the passes in order (after ``start_after``, up to and including
    ``stop_after``) on a copy of ``ir``."""
    for name in (stop_after, start_after):
        if name is not None and name not in pass_names():
            raise ValueError(f"unknown pass {name!r}; passes are {pass_names()}")
    timings = []
    ir = ir.copy()
    first = 0 if start_after is None else pass_names().index(start_after) + 1
    for compiler_pass in PIPELINE[first:]:
        start = time.perf_counter()
        ir = compiler_pass.run(ir, options)
        elapsed = time.perf_counter() - start
        timings.append(PassTiming(compiler_pass.name, elapsed))
        level = debug_level()
        if level >= 1:
            log.info("pass %-12s %8.3f ms", compiler_pass.name, elapsed * 1e3)
        if level >= 2:
            from snnc.compiler.ir_text import format_text

            log.info("IR after %s:\n%s", compiler_pass.name, format_text(ir))
        if compiler_pass.name == stop_after:
            break
    return ir, timings
