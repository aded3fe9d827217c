"""The numba-CUDA emitter: the run as one persistent kernel, and as a kernel per phase.

Each step's work is a sequence of phases. Layer updates are the same scalar code the
numba CPU emitter writes (element statements rendered once by :func:`render_scalar`),
one thread per neuron; every connection nest is one thread per output element,
looping over the reduced domains inside (:meth:`LoopNestRenderer.element_body`); the
first propagation into a layer starts its sum from zero instead of reading the input.

The module renders the phases twice (:mod:`snnc.compiler.emit.cuda_phases`):

* ``run_persistent``: one cooperative kernel for the whole run (or for the chunk of
  steps ``[start, stop)``). Its threads loop over the steps; each phase is a
  grid-stride loop over the phase's elements, and a grid-wide barrier
  (``this_grid().sync()``) separates it from the next. The host launches it once,
  with as many blocks as the device keeps resident (:mod:`snnc.runtime.cuda_launch`).
* a kernel per phase, launched from the host loop: the fallback where a cooperative
  launch is not possible. Kernel parameters are the buffers the phase names.

``LAUNCH_STATS`` counts kernel launches (the runtime zeroes it before each run) and says
which path ran, with the grid or the reason for the fallback.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from snnc.compiler.elementwise import names_used, split_stages
from snnc.compiler.render.scalar import render_row, render_scalar, render_shared
from snnc.compiler.emit.cuda_phases import (persistent_kernel, phase_marker, render_phases,
                                             split_index)
from snnc.compiler.emit.plan import BufferSpec
from snnc.compiler.emit.schedule_emitter import ScheduleEmitter, indent
from snnc.compiler.nest import Nest, Operand, reads_in
from snnc.compiler.ops import LAYER_OPS
from snnc.compiler.ops.csrm import windowed
from snnc.compiler.render.nest_loops import LoopNestRenderer
from snnc.ir.schema import ScheduledOp

THREADS_PER_BLOCK = 128


@dataclass
class Kernel:
    """A kernel with one thread per element of ``[extents]`` (``indices`` names each
    extent's index; the last varies fastest)."""

    name: str
    params: list[str]
    indices: list[str]
    extents: list[str]
    body: list[str]

    def total(self) -> str:
        return " * ".join(self.extents)


class NumbaCudaEmitter(ScheduleEmitter):
    backend = "numba-cuda"
    csr_rows_are_sources = False

    def __init__(self, ir, plan, fast_paths: bool = True) -> None:
        super().__init__(ir, plan, fast_paths)
        self.kernels: list[Kernel] = []
        self.names: dict[str, int] = {}

    # -- kernels -------------------------------------------------------------------
    def kernel_name(self, base: str) -> str:
        count = self.names.get(base, 0)
        self.names[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def launch(self, kernel: Kernel) -> list[str]:
        """A placeholder for the phase ``kernel`` in the step's code, rendered by
        :meth:`wrap` as a launch (host loop) or inline (persistent kernel)."""
        self.kernels.append(kernel)
        return [phase_marker(len(self.kernels) - 1)]

    def host_launch(self, kernel: Kernel) -> list[str]:
        blocks = f"({kernel.total()} + {THREADS_PER_BLOCK - 1}) // {THREADS_PER_BLOCK}"
        return [f"{kernel.name}[{blocks}, {THREADS_PER_BLOCK}]({', '.join(kernel.params)})",
                'LAUNCH_STATS["launches"] += 1']

    def kernel_source(self, kernel: Kernel) -> list[str]:
        return [
            "@cuda.jit",
            f"def {kernel.name}({', '.join(kernel.params)}):",
            "    k = cuda.grid(1)",
            f"    if k < {kernel.total()}:",
            *indent(split_index(kernel), 2),
            *indent(kernel.body, 2),
            "",
            "",
        ]

    # -- hooks -----------------------------------------------------------------------
    def emit_zero(self, layer: str) -> list[str]:
        return []

    def emit_nest(self, nest: Nest, operands: dict[str, Operand], edge, first: bool = False) -> list[str]:
        kept = [nest.domain(name) for name in nest.output_indices()]
        renderer = LoopNestRenderer(nest, operands, bound=frozenset(d.name for d in kept))
        body = renderer.element_body(init_zero=first)
        params = _params([operands[role].ref for role in nest.roles()])
        params += [operands[role].table for role in nest.roles() if operands[role].table]
        extents = [renderer.bound_code(d.stop) for d in kept]
        what = nest.label.split(" (")[0].split(" ", 1)[1]
        name = self.kernel_name(f"{_identifier(what)}_{self.plan.prefixes[edge]}")
        kernel = Kernel(name, params, [d.name for d in kept], extents, body)
        return self.launch(kernel)

    def emit_accumulate(self, op: ScheduledOp, first: bool) -> list[str]:
        """One kernel for the group's propagations into the layer (one thread per input
        element, each connection's sum added in the group's order, so the numbers are
        those of one kernel per connection); a connection with a per-source stage or a
        response window launches its own kernels, in its place."""
        lines = [f"# {op.label()}, one kernel"]
        pending: list[tuple[Nest, dict[str, Operand], tuple[str, str], bool]] = []
        starts = first

        def flush() -> None:
            if pending:
                lines.extend(self.fused_kernel(op.target, pending))
                pending.clear()

        for edge in op.detail["edges"]:
            ctx, connection_op = self.context(edge)
            if connection_op.pre_statements or windowed(ctx):
                flush()
                lines.extend(self.emit_propagate(ScheduledOp("propagate", edge), starts))
                starts = False
                continue
            operands = self.operands(edge)
            for nest in self.propagate_nests(edge):
                if nest.output_role != "I_post":
                    flush()
                    lines.extend(self.emit_nest(nest, operands, edge))
                    continue
                if pending and [d for d in pending[0][0].domains if d.name in pending[0][0].output_indices()] != \
                        [d for d in nest.domains if d.name in nest.output_indices()]:
                    flush()
                pending.append((nest, operands, edge, starts))
                starts = False
        flush()
        return lines

    def fused_kernel(self, layer: str, parts: list) -> list[str]:
        kept = [parts[0][0].domain(name) for name in parts[0][0].output_indices()]
        bound = frozenset(d.name for d in kept)
        body: list[str] = []
        params: list[str] = []
        extents: list[str] = []
        for nest, operands, edge, starts in parts:
            renderer = LoopNestRenderer(nest, operands, bound=bound)
            part = renderer.element_body(init_zero=starts)
            store = f"{renderer.element(reads_in(nest.output)[0])} = acc"
            if body and body[-1] == store and part[0] == f"acc = {store.split(' = ')[0]}":
                body.pop()                  # the sum stays in a register between connections
                part = part[1:]
            body += [f"# {nest.label}", *part]
            for role in nest.roles():
                for ref in _params([operands[role].ref]) + [operands[role].table]:
                    if ref and ref not in params:
                        params.append(ref)
            extents = extents or [renderer.bound_code(d.stop) for d in kept]
        name = self.kernel_name(f"accumulate_{self.plan.prefixes[layer]}")
        return self.launch(Kernel(name, params, [d.name for d in kept], extents, body))

    def emit_external(self, op: ScheduledOp) -> list[str]:
        return []

    def input_expression(self, layer: str) -> str:
        given = f"{self.plan.name(layer, 'in')}[t, b, j]"
        if self.has_scratch(layer):
            scratch = f"{self.plan.name(layer, 'I')}[b, j]"
            return f"{scratch} + float32({given})" if layer in self.ir.graph["inputs"] else scratch
        return given if self.ir.nodes[layer]["op"] == "input" else f"float32({given})"

    def emit_elementwise(self, owner, statements, symbols, shape_ref) -> list[str]:
        used = names_used(statements)
        params = [symbol.ref for name, symbol in symbols.items() if name in used and symbol.kind != "local"]
        body = render_scalar(statements, symbols, "")
        params = (["t"] if "t" in _names(body) else []) + params
        name = self.kernel_name(f"window_{self.plan.prefixes[owner]}")
        return self.launch(Kernel(name, params, ["b", "j"], [f"{shape_ref}.shape[0]", f"{shape_ref}.shape[1]"],
                                  body))

    def emit_update(self, op: ScheduledOp) -> list[str]:
        """A kernel per stage: per-sample stages one thread per (sample, neuron),
        shared stages one thread per neuron, row stages one thread per sample. Rule
        terms fused into this update join the last stage's kernel when it is per sample."""
        attrs = self.ir.nodes[op.target]
        statements = LAYER_OPS[attrs["op"]].statements(attrs)
        symbols = self.plan.layer_symbols(op.target)
        spikes = self.plan.name(op.target, "s")
        launches: list[str] = []
        stages = split_stages(statements, symbols)
        for kind, stage in stages:
            used = names_used(stage)
            params = [symbol.ref for name, symbol in symbols.items()
                      if name in used and symbol.kind != "local"]
            if kind == "sample":
                body = render_scalar(stage, symbols, self.input_expression(op.target))
                if stage is stages[-1][1]:         # fused rule terms join the last stage
                    terms, term_params = self.inline_terms(op.detail.get("learning", ()), frozenset(used))
                    body += terms
                    params += [param for param in term_params if param not in params]
                params = (["t"] if "t" in _names(body) else []) + params
                for var in ("I", "in"):
                    spec = self.plan.find(op.target, var)
                    if spec is not None and "I" in used and spec.name in body[0]:
                        params.append(spec.name)
                indices, extents = ["b", "j"], [f"{spikes}.shape[0]", f"{spikes}.shape[1]"]
            elif kind == "row":
                body = render_row(stage, symbols, f"{spikes}.shape[1]")
                params = (["t"] if "t" in _names(body) else []) + params
                indices, extents = ["b"], [f"{spikes}.shape[0]"]
            else:
                body = render_shared(stage, symbols, spikes)
                indices, extents = ["j"], [f"{spikes}.shape[1]"]
            params += [spikes] if spikes not in params else []
            name = self.kernel_name(f"update_{self.plan.prefixes[op.target]}")
            launches += self.launch(Kernel(name, params, indices, extents, body))
        return launches

    def inline_terms(self, edges, taken: frozenset[str]) -> tuple[list[str], list[str]]:
        """The rule terms of ``edges`` in the target's update kernel (the
        ``fuse_learning`` pass): the thread of neuron ``j`` updates column ``w[:, j]``
        after the neuron, so neighbouring threads write neighbouring weights; and the
        kernel parameters they add."""
        body: list[str] = []
        params: list[str] = []
        for edge, operands, renderers in self.inlinable_terms(edges, taken):
            for renderer in renderers:
                body += [f"# {renderer.nest.label}, guard {renderer.nest.guard}, in this kernel (fuse_learning)",
                         *renderer.scatter()]
                for role in renderer.nest.roles():
                    for ref in _params([operands[role].ref]) + [operands[role].table]:
                        if ref and ref not in params:
                            params.append(ref)
            self.inlined.add(edge)
        return body, params

    def emit_record(self, spec: BufferSpec) -> list[str]:
        source = self.plan.name(spec.recorded, spec.var)
        axes = [f"d{k}" for k in range(len(spec.shape) - 1)]
        copy = f"{spec.name}[row, {', '.join(axes)}] = {source}[{', '.join(axes)}]" if axes \
            else f"{spec.name}[row] = {source}"                      # a scalar argument
        kernel = Kernel(self.kernel_name(f"record_{spec.name}"), ["row", spec.name, source],
                        axes or ["d0"], [f"{source}.shape[{k}]" for k in range(len(axes))] or ["1"], [copy])
        return [f"if t >= {spec.name}_first:",
                f"    row = t - {spec.name}_first",
                *indent(self.launch(kernel), 1)]

    def signature(self, kernel: Kernel) -> list[tuple[str, str, int]]:
        """``(param, dtype, ndim)`` per kernel parameter (scalars: ndim 0)."""
        specs = {spec.name: spec for spec in self.plan.buffers}
        result = []
        for param in kernel.params:
            spec = specs.get(param)
            if spec is None:
                result.append((param, "int64", 0))
            else:
                result.append((param, spec.dtype, len(spec.shape)))
        return result

    def wrap(self, key, args, prologue, loop, end) -> str:
        kernels: list[str] = []
        signatures: list[str] = []
        for kernel in self.kernels:
            kernels += self.kernel_source(kernel)
            signatures.append(f"    {kernel.name!r}: {self.signature(kernel)!r},")
        source = "\n".join(kernels)
        per_phase = render_phases(loop, self.kernels, self.host_launch)
        ending = render_phases(end, self.kernels, self.host_launch)
        work = ", ".join(["1", *dict.fromkeys(kernel.total() for kernel in self.kernels)])
        lines = [
            f'"""Generated by snnc from IR {key} (backend: numba-cuda). Do not edit."""',
            *(["import math", ""] if "math." in source else []),
            "from numba import cuda, float32",
            "",
            "from snnc.runtime.cuda_launch import persistent_grid",
            *(["from snnc.compiler.render.hashing import uniform_hash_device as uniform_hash"]
              if "uniform_hash(" in source else []),
            "",
            "# (parameter, dtype, ndim) of every phase kernel, for ahead-of-time lowering to PTX",
            "KERNEL_SIGNATURES = {",
            *signatures,
            "}",
            'LAUNCH_STATS = {"launches": 0, "path": None, "grid": None, "reason": None}',
            "",
            "",
            *persistent_kernel(args, prologue, loop, end, self.kernels),
            *kernels,
            f"def run({', '.join(args)}):",
            f"    grid = persistent_grid(run_persistent, ({', '.join(args)}), max({work}), LAUNCH_STATS)",
            "    if grid is not None:",
            f"        run_persistent[grid]({', '.join(args)})",
            '        LAUNCH_STATS["launches"] += 1',
            "        cuda.synchronize()",
            "        return",
            *indent(prologue, 1),
            "    for t in range(start, stop):",
            *indent(per_phase, 2),
        ]
        if end:
            lines += ["    if stop == steps:", *indent(ending, 2)]
        lines += ["    cuda.synchronize()", ""]
        return "\n".join(lines)


def _names(lines: list[str]) -> set[str]:
    """Every name a block of generated code uses."""
    return {node.id for node in ast.walk(ast.parse("\n".join(lines))) if isinstance(node, ast.Name)}


def _params(refs: list[str]) -> list[str]:
    """Kernel parameters for operand references: a per-step row read as ``name[t]``
    passes ``t`` and the row."""
    found: list[str] = []
    for ref in refs:
        for param in (["t", ref.removesuffix("[t]")] if ref.endswith("[t]") else [ref]):
            if param not in found:
                found.append(param)
    return found


def _identifier(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)
