"""The numba-CUDA emitter: CUDA kernels for each step's work and a host loop launching them.

The kernel bodies are the same scalar code the numba CPU emitter writes (element
statements rendered once by :func:`render_scalar`), wrapped in a thread-per-element
kernel instead of a loop. Per step: one kernel per connection (the first into a
target also zeroes its input; an external input is folded into the layer update),
one per layer, one per recorded monitor variable.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from snnc.compiler.elementwise import render_scalar
from snnc.compiler.emit.plan import BufferSpec
from snnc.compiler.emit.schedule_emitter import ScheduleEmitter, indent
from snnc.compiler.ops import LAYER_OPS
from snnc.ir.schema import ScheduledOp

THREADS_PER_BLOCK = 128


@dataclass
class Kernel:
    """A thread-per-element kernel over ``[rows, cols]`` of the array ``extent``
    (thread ``k`` is element ``(b, j) = divmod(k, cols)``, named ``row``/``col``)."""

    name: str
    extent: str
    body: list[str]
    row: str = "b"
    col: str = "j"
    scalars: tuple[str, ...] = ()


class NumbaCudaEmitter(ScheduleEmitter):
    backend = "numba-cuda"

    def __init__(self, ir, plan) -> None:
        super().__init__(ir, plan)
        self.kernels: list[Kernel] = []
        self.first_into: set[str] = set()

    # -- kernels -------------------------------------------------------------------
    def params_of(self, kernel: Kernel) -> list[str]:
        text = "\n".join(kernel.body)
        names = [spec.name for spec in self.plan.buffers
                 if re.search(rf"\b{re.escape(spec.name)}\b", text)]
        if kernel.extent not in names:
            names.append(kernel.extent)
        return list(kernel.scalars) + names

    def launch(self, kernel: Kernel) -> list[str]:
        self.kernels.append(kernel)
        params = ", ".join(self.params_of(kernel))
        blocks = f"({kernel.extent}.shape[0] * {kernel.extent}.shape[1] + {THREADS_PER_BLOCK - 1}) // {THREADS_PER_BLOCK}"
        return [f"{kernel.name}[{blocks}, {THREADS_PER_BLOCK}]({params})"]

    def kernel_source(self, kernel: Kernel) -> list[str]:
        extent, row, col = kernel.extent, kernel.row, kernel.col
        return [
            "@cuda.jit",
            f"def {kernel.name}({', '.join(self.params_of(kernel))}):",
            "    k = cuda.grid(1)",
            f"    if k < {extent}.shape[0] * {extent}.shape[1]:",
            f"        {row} = k // {extent}.shape[1]",
            f"        {col} = k - {row} * {extent}.shape[1]",
            *indent(kernel.body, 2),
            "",
            "",
        ]

    # -- hooks -----------------------------------------------------------------------
    def emit_zero(self, layer: str) -> list[str]:
        self.first_into.add(layer)
        return []

    def emit_propagate(self, op: ScheduledOp) -> list[str]:
        source, target = op.target
        first = target in self.first_into
        self.first_into.discard(target)
        body = self.connection_module(op).propagate_cuda(
            self.connection_names(op.target), self.plan.name(source, "s"),
            self.plan.name(target, "I"), first, self.ir.edges[op.target]["storage"])
        name = f"propagate_{self.plan.prefixes[op.target]}"
        return self.launch(Kernel(name, self.plan.name(target, "I"), body))

    def emit_external(self, op: ScheduledOp) -> list[str]:
        return []

    def input_expression(self, layer: str) -> str:
        given = f"{self.plan.name(layer, 'in')}[t, b, j]"
        if self.has_scratch(layer):
            scratch = f"{self.plan.name(layer, 'I')}[b, j]"
            return f"{scratch} + float32({given})" if layer in self.ir.graph["inputs"] else scratch
        return given if self.ir.nodes[layer]["op"] == "input" else f"float32({given})"

    def emit_update(self, op: ScheduledOp) -> list[str]:
        attrs = self.ir.nodes[op.target]
        statements = LAYER_OPS[attrs["op"]].statements(attrs)
        body = render_scalar(statements, self.plan.layer_symbols(op.target),
                             self.input_expression(op.target))
        name = f"update_{self.plan.prefixes[op.target]}"
        return self.launch(Kernel(name, self.plan.name(op.target, "s"), body, scalars=("t",)))

    def emit_learn(self, op: ScheduledOp) -> list[str]:
        names = self.connection_names(op.target)
        body = self.connection_module(op).learn_cuda(names)
        if not body:
            return []
        return self.launch(Kernel(f"learn_{self.plan.prefixes[op.target]}", names["w"], body,
                                  row="i", col="j"))

    def emit_record(self, spec: BufferSpec) -> list[str]:
        source = self.plan.name(spec.recorded, spec.var)
        kernel = Kernel(f"record_{spec.name}", source, [f"{spec.name}[row, b, j] = {source}[b, j]"],
                        scalars=("row",))
        launch = self.launch(kernel)
        return [f"if t >= {spec.name}_first:",
                f"    row = t - {spec.name}_first",
                *indent(launch, 1)]

    def emit_normalize(self, op: ScheduledOp) -> list[str]:
        names = self.connection_names(op.target)
        body = self.connection_module(op).normalize_cuda(names)
        if not body:
            return []
        kernel = Kernel(f"normalize_{self.plan.prefixes[op.target]}", names["w"],
                        ["if i == 0:", *indent(body, 1)], row="i")
        return self.launch(kernel)

    def signature(self, kernel: Kernel) -> list[tuple[str, str, int]]:
        """``(param, dtype, ndim)`` per kernel parameter (scalars: ndim 0)."""
        specs = {spec.name: spec for spec in self.plan.buffers}
        result = []
        for param in self.params_of(kernel):
            spec = specs.get(param)
            if spec is None:
                result.append((param, "int64", 0))
            else:
                result.append((param, spec.dtype, len(spec.shape)))
        return result

    def wrap(self, key, args, prologue, loop, end) -> str:
        kernels: list[str] = []
        signatures: list[str] = []
        seen: set[str] = set()
        for kernel in self.kernels:
            if kernel.name in seen:
                continue
            seen.add(kernel.name)
            kernels += self.kernel_source(kernel)
            signatures.append(f"    {kernel.name!r}: {self.signature(kernel)!r},")
        lines = [
            f'"""Generated by snnc from IR {key} (backend: numba-cuda). Do not edit."""',
            "import math",
            "",
            "from numba import cuda, float32",
            "",
            "# (parameter, dtype, ndim) of every kernel, for ahead-of-time lowering to PTX",
            "KERNEL_SIGNATURES = {",
            *signatures,
            "}",
            "",
            "",
            *kernels,
            f"def run({', '.join(args)}):",
            *indent(prologue, 1),
            "    for t in range(start, stop):",
            *indent(loop, 2),
            "    if stop == steps:",
            *indent(end or ["pass"], 2),
            "    cuda.synchronize()",
            "",
        ]
        return "\n".join(lines)
