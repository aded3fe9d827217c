"""The numba emitter: the whole run, every step, as one ``@njit(cache=True)`` function.

Layer updates are the element statements rendered as scalar code inside a loop over
batch and neurons; connection nests are rendered as loops by the strategy that fits
(:mod:`snnc.compiler.render.nest_loops`: event-driven rows, scatter or gather).
Every array write is an explicit loop: numba compiles slice assignments several
times slower (3.3 s against 0.5 s for the guide's network). The module is written
to a real file so numba's cache works.
"""
from __future__ import annotations

from snnc.compiler.elementwise import names_used, split_stages
from snnc.compiler.render.scalar import render_row, render_scalar, render_shared
from snnc.compiler.emit.plan import BufferSpec
from snnc.compiler.emit.schedule_emitter import ScheduleEmitter, indent
from snnc.compiler.nest import Nest, Operand, reads_in
from snnc.compiler.ops import LAYER_OPS
from snnc.compiler.order import edge_label
from snnc.compiler.render.half import DECODERS
from snnc.compiler.render.nest_loops import LoopNestRenderer
from snnc.compiler.render.nest_rows import RowsRenderer
from snnc.compiler.render.shared_lists import share_spike_lists
from snnc.ir.schema import ScheduledOp


class NumbaEmitter(ScheduleEmitter):
    backend = "numba"

    def __init__(self, ir, plan, fast_paths: bool = True) -> None:
        super().__init__(ir, plan, fast_paths)
        self.scratch: list[str] = []
        self.uses_prange = False

    def input_expression(self, layer: str) -> str:
        if self.has_scratch(layer):
            return f"{self.plan.name(layer, 'I')}[b, j]"
        raw = f"{self.plan.name(layer, 'in')}[t, b, j]"
        return raw if self.ir.nodes[layer]["op"] == "input" else f"float32({raw})"

    @property
    def batch_outer(self) -> bool:
        return self.ir.graph["loop_nest"]["batch_outer"]

    def per_sample(self, ref: str, body: list[str]) -> list[str]:
        """``body`` (written for sample ``b``) inside a loop over samples, unless the
        whole step already runs inside one (batch-outer loop nest)."""
        if self.batch_outer:
            return body
        return [f"for b in range({ref}.shape[0]):", *indent(body, 1)]

    def element_loop(self, layer: str, body: list[str]) -> list[str]:
        ref = self.plan.name(layer, "s")
        return self.per_sample(ref, [f"for j in range({ref}.shape[1]):", *indent(body, 1)])

    def emit_zero(self, layer: str) -> list[str]:
        return self.element_loop(layer, [f"{self.plan.name(layer, 'I')}[b, j] = 0.0"])

    def emit_nest(self, nest: Nest, operands: dict[str, Operand], edge, first: bool = False) -> list[str]:
        """Per-sample nests run inside the loop over samples; the rows strategy where
        it fits (its rows split between the cores when ``loop_nest`` says so), else
        scatter where there is a guard, else gather (along the rows for the column sums
        of a row-major matrix)."""
        per_sample = self.is_per_sample(nest)
        renderer = RowsRenderer(nest, operands, bound=frozenset({"b"}) if per_sample else frozenset())
        if per_sample and renderer.rows_pattern() is not None:
            parallel = isinstance(edge, tuple) and edge_label(edge) in self.ir.graph["loop_nest"]["parallel_rows"]
            self.uses_prange |= parallel
            lines, scratch = renderer.rows(self.plan.prefixes[edge], parallel)
            self.scratch += [line for line in scratch if line not in self.scratch]
        elif per_sample and renderer.uniform_pattern() is not None:
            lines = renderer.uniform_sum()
        elif renderer.can_scatter():
            lines = self.listed_scatter(nest, operands, edge, per_sample) or renderer.scatter()
        elif not per_sample and renderer.column_reduction() is not None:
            lines = renderer.gather_by_rows()
        else:
            lines = renderer.gather()
        return self.per_sample(operands[nest.output_role].ref, lines) if per_sample else lines

    def listed_scatter(self, nest: Nest, operands: dict[str, Operand], edge, per_sample: bool) -> list[str] | None:
        """A scatter guarded by ``g[b, i]`` one sample at a time: first the list of the
        ``i`` where the guard is non-zero (branch-free, :meth:`LoopNestRenderer.gather_list`),
        then the synapses of those only, in the same order as the plain scatter
        (bit-identical) without a mispredicted branch per source. None where the guard
        has another form."""
        guard = reads_in(nest.guard)[0] if nest.guard else None
        if guard is None or len(guard.indices) != 2 or guard.indices[0] != "b" or nest.domains[0].name != "b":
            return None
        renderer = LoopNestRenderer(nest, operands, bound=frozenset({"b"}))
        free = guard.indices[1]
        if free not in renderer.domains or renderer.domains[free].dependent:
            return None
        indices = f"{self.plan.prefixes[edge]}_fired_{len(self.scratch)}"
        self.scratch.append(f"{indices} = np.empty({renderer.bound_code(renderer.domains[free].stop)}, np.int64)")
        body = [*renderer.gather_list(free, indices, "fired"),
                *renderer.scatter({free: (indices, "fired")}, unswitch=True)]
        return body if per_sample else [renderer.loop(nest.domain("b")), *indent(body, 1)]

    def emit_external(self, op: ScheduledOp) -> list[str]:
        scratch, given = self.plan.name(op.target, "I"), self.plan.name(op.target, "in")
        return self.element_loop(op.target, [f"{scratch}[b, j] += float32({given}[t, b, j])"])

    def emit_elementwise(self, owner, statements, symbols, shape_ref) -> list[str]:
        body = render_scalar(statements, symbols, "")
        return self.per_sample(shape_ref, [f"for j in range({shape_ref}.shape[1]):", *indent(body, 1)])

    def emit_update(self, op: ScheduledOp) -> list[str]:
        """Per-sample stages loop over samples and neurons; shared stages (state
        without a batch dimension) loop over neurons once; row stages loop over
        samples, then over the neurons in order. Rule terms fused into this update
        (``detail["learning"]``) join the last stage's loop when it is per sample."""
        attrs = self.ir.nodes[op.target]
        statements = LAYER_OPS[attrs["op"]].statements(attrs)
        symbols = self.plan.layer_symbols(op.target)
        spikes = self.plan.name(op.target, "s")
        lines: list[str] = []
        stages = split_stages(statements, symbols)
        inlined = self.inline_terms(op.detail.get("learning", ()), frozenset(names_used(stages[-1][1]))) \
            if stages[-1][0] == "sample" and not self.batch_outer else None
        for k, (kind, stage) in enumerate(stages):
            if kind == "sample":
                body = render_scalar(stage, symbols, self.input_expression(op.target))
                if inlined is not None and k == len(stages) - 1:      # the rule terms join the last loop
                    before, terms = inlined
                    lines += self.per_sample(spikes, [*before, f"for j in range({spikes}.shape[1]):",
                                                      *indent(body + terms, 1)])
                else:
                    lines += self.element_loop(op.target, body)
            elif kind == "row":
                lines += self.per_sample(spikes, render_row(stage, symbols, f"{spikes}.shape[1]"))
            else:
                lines += self.shared_stage(stage, symbols, spikes)
        return lines

    @staticmethod
    def shared_stage(stage: list[str], symbols, spikes: str) -> list[str]:
        """A shared stage's loop over neurons; one that sums over the samples has a
        second rendering for a batch of one (the same sums, in a loop over neurons that
        vectorises), chosen at run time."""
        loop = f"for j in range({spikes}.shape[1]):"
        generic = [loop, *indent(render_shared(stage, symbols, spikes), 1)]
        if "sum_b(" not in "\n".join(stage):
            return generic
        single = [loop, *indent(render_shared(stage, symbols, spikes, samples="1"), 1)]
        return [f"if {spikes}.shape[0] == 1:", *indent(single, 1), "else:", *indent(generic, 1)]

    def inline_terms(self, edges, taken: frozenset[str]) -> tuple[list[str], list[str]] | None:
        """The rule terms of ``edges`` for the body of their target's loop over neurons
        ``j`` (the ``fuse_learning`` pass), and what runs before that loop: each
        pre-synaptic guard's list of the sources that spiked, so that a term visits
        only their rows of column ``j``. None when there is nothing to inline."""
        before: list[str] = []
        body: list[str] = []
        for edge, _, renderers in self.inlinable_terms(edges, taken):
            prefix = self.plan.prefixes[edge]
            lists: dict[str, tuple[str, str]] = {}           # guard -> (indices, count)
            for renderer in renderers:
                guard = renderer.guard_read()
                free = [index for index in guard.indices if index not in renderer.bound]
                if len(free) == 1 and guard.text not in lists:
                    indices, count = f"{prefix}_fired_{len(lists)}", f"{prefix}_count_{len(lists)}"
                    extent = renderer.bound_code(renderer.domains[free[0]].stop)
                    self.scratch.append(f"{indices} = np.empty({extent}, np.int64)")
                    before += [f"# {edge_label(edge)}: where {guard.text} spiked, for its terms below",
                               *renderer.gather_list(free[0], indices, count)]
                    lists[guard.text] = (indices, count)
                nest = renderer.nest
                listed = {free[0]: lists[guard.text]} if guard.text in lists else None
                body += [f"# {nest.label}, guard {nest.guard}, in this loop (fuse_learning)",
                         *renderer.scatter(listed)]
            self.inlined.add(edge)
        return (before, body) if body else None

    def emit_record(self, spec: BufferSpec) -> list[str]:
        """Copy a buffer of any rank into row ``t - first`` of the monitor; a layer's
        per-sample state copies sample ``b`` inside the loop over samples."""
        source = self.plan.name(spec.recorded, spec.var)
        if spec.shape[1:2] == ("B",):
            copy = [f"for j in range({source}.shape[1]):",
                    f"    {spec.name}[t - {spec.name}_first, b, j] = {source}[b, j]"]
            if len(spec.shape) == 3:    # a [B, n] row: streamed when the run's recordings are big
                copy = ["if stream:", f"    stream_row({spec.name}[t - {spec.name}_first, b], {source}[b])",
                        "else:", *indent(copy, 1)]
            return [f"if t >= {spec.name}_first:", *indent(self.per_sample(source, copy), 1)]
        axes = [f"d{k}" for k in range(len(spec.shape) - 1)]
        row = ", ".join([f"t - {spec.name}_first", *axes])
        body = [f"{spec.name}[{row}] = {source}[{', '.join(axes)}]" if axes else f"{spec.name}[{row}] = {source}"]
        for k in reversed(range(len(axes))):
            body = [f"for d{k} in range({source}.shape[{k}]):", *indent(body, 1)]
        when = f"t >= {spec.name}_first" + (" and b == 0" if self.batch_outer else "")
        return [f"if {when}:", *indent(body, 1)]    # not per sample: written once

    def stream_flag(self) -> list[str]:
        """``stream``: whether this run's recordings together outgrow the caches, so their
        rows are written with streaming stores (:mod:`snnc.compiler.render.streaming`)."""
        total = " + ".join(f"{spec.name}.nbytes" for spec in self.plan.buffers if spec.role == "monitor")
        return [f"stream = {total} >= STREAM_MIN_BYTES"]

    def wrap(self, key, args, prologue, loop, end) -> str:
        nest = self.ir.graph["loop_nest"]
        if nest["batch_outer"]:
            batch = self.plan.name(next(iter(self.ir.nodes)), "s")
            samples = "prange" if nest["parallel"] else "range"
            steps = [f"for b in {samples}({batch}.shape[0]):", *indent(self.scratch, 1),
                     "    for t in range(start, stop):", *indent(loop, 2)]
        else:
            loop, shared, unused = share_spike_lists(loop)
            scratch = [line for line in self.scratch if line.split(" = ")[0] not in unused]
            steps = [*scratch, *shared, "for t in range(start, stop):", *indent(loop, 1)]
        if any("stream_row(" in line for line in loop):
            prologue = [*prologue, *self.stream_flag()]
            steps = steps + indent(["if stream:", "    stream_fence()"], 1 if nest["batch_outer"] else 0)
        parallel = nest["parallel"] or self.uses_prange
        source = "\n".join(steps + end)
        imports = ["float32", "njit"] + (["prange"] if "prange(" in source else [])
        decoders = [name for name in DECODERS.values() if f"{name}(" in source]
        lines = [
            f'"""Generated by snnc from IR {key} (backend: numba). Do not edit."""',
            *(["import math", ""] if "math." in source else []),
            *(["import numpy as np"] if "np." in source else []),
            f"from numba import {', '.join(imports)}",
            *([f"from snnc.compiler.render.half import {', '.join(decoders)}"] if decoders else []),
            *(["from snnc.compiler.render.hashing import uniform_hash"] if "uniform_hash(" in source else []),
            *(["from snnc.compiler.render.nonzero import list_nonzero"] if "list_nonzero(" in source else []),
            *(["from snnc.compiler.render.streaming import STREAM_MIN_BYTES, stream_fence, stream_row"]
              if "stream_row(" in source else []),
            "",
            "",
            f"@njit(cache=True, nogil=True, error_model=\"numpy\"{', parallel=True' if parallel else ''})",
            f"def run({', '.join(args)}):",
            *indent(prologue, 1),
            *indent(steps, 1),
        ]
        if end:
            lines += ["    if stop == steps:", *indent(end, 2)]
        return "\n".join(lines + [""])
