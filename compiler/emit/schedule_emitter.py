"""What every emitter shares: walking the schedule into the body of ``run``.

``run(start, stop, steps, *buffers)`` loops over steps ``start .. stop-1``; each
scheduled op becomes a block commented with the IR object it came from; the
end-of-run work runs when ``stop == steps``. Connection work arrives as nests
(:mod:`snnc.compiler.nest`) from the connection-op contract; a backend subclasses
this and says how a nest, a layer update and a monitor write are rendered.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import networkx as nx

from snnc.compiler.elementwise import Symbol
from snnc.compiler.emit.plan import BufferPlan, BufferSpec
from snnc.compiler.nest import BATCH, Nest, Operand
from snnc.compiler.ops import CONNECTION_OPS, LAYER_OPS
from snnc.compiler.ops.csrm import WINDOW_STATEMENTS, window_symbols, windowed
from snnc.compiler.ops.opaque import is_opaque
from snnc.compiler.render.nest_loops import LoopNestRenderer
from snnc.compiler.ops.learn_phase import FirstStep, learn_phase, rule_terms
from snnc.compiler.ops.connection import (build_operands, context, propagate_nests,
                                          rule_state_kinds, to_csr, to_uniform, weight_shape)
from snnc.ir.schema import ScheduledOp


def label(owner) -> str:
    return f"{owner[0]!r} -> {owner[1]!r}" if isinstance(owner, tuple) else repr(owner)


class ScheduleEmitter(ABC):
    """Base emitter; subclasses implement the ``emit_*`` hooks and ``wrap``."""

    backend = ""
    csr_rows_are_sources = True

    def __init__(self, ir: nx.DiGraph, plan: BufferPlan, fast_paths: bool = True) -> None:
        self.ir = ir
        self.plan = plan
        self.fast_paths = fast_paths
        self.inlined: set[tuple[str, str]] = set()    # rule terms rendered inside an update loop

    # -- helpers ------------------------------------------------------------------
    def has_scratch(self, layer: str) -> bool:
        return self.plan.find(layer, "I", "scratch") is not None

    def monitor_buffers(self, monitor: str) -> list[BufferSpec]:
        return [spec for spec in self.plan.buffers if spec.role == "monitor" and spec.owner == monitor]

    def context(self, edge):
        ctx = context(self.ir, edge, self.backend)
        return ctx, CONNECTION_OPS[ctx.attrs["op"]]

    def operands(self, edge) -> dict[str, Operand]:
        """Every role a connection's nests may name, as the buffers of this plan."""
        ctx, op = self.context(edge)
        source, target = edge
        ends = {}
        for role, layer, var in (("s_pre", source, "s"), ("x_pre", source, "x"), ("s_post", target, "s"),
                                 ("x_post", target, "x"), ("I_post", target, "I"), ("s_prob_post", target, "s_prob")):
            spec = self.plan.find(layer, var)
            if spec is not None and spec.role in ("state", "scratch"):
                ends[role] = (spec.name, spec.dtype)
        args = [(spec.var, spec.name, spec.dtype, spec.shape) for spec in self.plan.buffers
                if spec.owner == edge and spec.role in ("arg", "temp", "mask", "run", "random")]
        states = {var: (self.plan.name(edge, var), self.plan.find(edge, var, "state").dtype, kind)
                  for var, kind in rule_state_kinds(ctx.attrs).items()}
        return build_operands(op.synapse_map(ctx), ends, args, weight_shape(ctx), states)

    def propagate_nests(self, edge) -> list[Nest]:
        ctx, op = self.context(edge)
        nests = propagate_nests(ctx, op.synapse_map(ctx))
        if ctx.attrs["storage"]["format"] == "csr" and op.propagate is None:     # dense weights as CSR
            nests[0] = to_csr(nests[0], self.csr_rows_are_sources)
        elif ctx.attrs["storage"]["format"] == "uniform":
            nests[0] = to_uniform(nests[0])
        return nests

    def fast_path(self, edge):
        """The op's hand-written propagation for this backend, when enabled (never
        for a response window, which it does not read)."""
        ctx, op = self.context(edge)
        path = op.fast_paths.get(self.backend) if self.fast_paths and not windowed(ctx) else None
        return (lambda: path(ctx, {role: o.ref for role, o in self.operands(edge).items()})) if path else None

    def layer_nests(self, layer: str) -> tuple[list[Nest], dict[str, Operand]]:
        """A model's own per-step nests (before its statements) and their operands:
        ``s`` (its spikes), ``I`` (its input this step) and its arguments."""
        attrs = self.ir.nodes[layer]
        nests = LAYER_OPS[attrs["op"]].nests(attrs)
        domains = {d.name for nest in nests for d in nest.domains}
        roles = {role for nest in nests for role in nest.roles()} - domains
        operands: dict[str, Operand] = {}
        for spec in self.plan.buffers:
            if spec.owner != layer or spec.var not in roles:
                continue
            if (spec.role, spec.var) in (("state", "s"), ("scratch", "I")):
                operands[spec.var] = Operand(spec.name, (BATCH, attrs["n"]), flat=True, dtype=spec.dtype)
            elif spec.role == "arg":
                operands[spec.var] = Operand(spec.name, tuple(spec.shape), scalar=not spec.shape, dtype=spec.dtype)
        return nests, operands

    def term_nests(self, edge) -> list[Nest]:
        """A learning connection's rule terms (run in its target's update when fused)."""
        ctx, op = self.context(edge)
        return rule_terms(ctx, op.synapse_map(ctx))

    def inlinable_terms(self, edges, taken: frozenset[str] = frozenset()):
        """``(edge, operands, renderers)`` for each connection of ``edges`` (fused into a
        target's update) whose rule terms render inside the loop over the target's
        neurons: one renderer per term with ``b, j`` bound. A connection is left out, and
        runs after the update instead, when a term is not a scatter or its loop names
        (a domain ``i``, ``n_i``, the guard value ``g``) are ``taken`` by the layer's
        statements (CurrentLIF's current is ``i``)."""
        found = []
        for edge in edges:
            operands = self.operands(edge)
            renderers = [LoopNestRenderer(nest, operands, bound=frozenset({"b", "j"}))
                         for nest in self.term_nests(edge)]
            names = {"g"} | {name for renderer in renderers for d in renderer.nest.domains
                             if d.name not in renderer.bound for name in (d.name, f"n_{d.name}")}
            if all(renderer.can_scatter() for renderer in renderers) and not names & taken:
                found.append((edge, operands, renderers))
        return found

    def learn_block(self, edge, terms_fused: bool = False) -> list[str]:
        """The learn phase: the rule's nests and element stages, decay, clamp, mask
        (``terms_fused``: without the terms, which ran in the target's update)."""
        ctx, op = self.context(edge)
        lines: list[str] = []
        operands = self.operands(edge)
        for item in learn_phase(ctx, op.synapse_map(ctx), terms_fused):
            if isinstance(item, Nest):
                lines.append(f"# {item.label}" + (f", guard {item.guard}" if item.guard else ""))
                lines += self.emit_nest(item, operands, edge)
                continue
            if isinstance(item, FirstStep):
                branches = []
                for nests in (item.first, item.later):
                    branch = []
                    for nest in nests:
                        branch.append(f"# {nest.label}" + (f", guard {nest.guard}" if nest.guard else ""))
                        branch += self.emit_nest(nest, operands, edge)
                    branches.append(branch)
                lines += ["if t == start:  # the first step of this call", *indent(branches[0], 1)]
                lines += ["else:", *indent(branches[1], 1)] if branches[1] else []
                continue
            layer = edge[0] if item.side == "pre" else edge[1]
            spikes = self.plan.name(layer, "s")
            symbols = {f"s_{item.side}": Symbol("state", spikes)}
            for spec in self.plan.buffers:
                if spec.owner == edge and spec.role == "state" and \
                        rule_state_kinds(ctx.attrs).get(spec.var) == item.side:
                    symbols[spec.var] = Symbol("state", spec.name)
                elif spec.owner == edge and spec.role in ("arg", "run") and not spec.shape:
                    symbols[spec.var] = Symbol("arg", spec.name)
            lines += [f"# {item.label}", *self.emit_elementwise(edge, list(item.statements), symbols, spikes)]
        return lines

    def normalize_nests(self, edge) -> list[Nest]:
        ctx, op = self.context(edge)
        return op.normalize(ctx, op.synapse_map(ctx)) if op.normalize else []

    @staticmethod
    def is_per_sample(nest: Nest) -> bool:
        """The nest writes one sample's data (its output is indexed by the batch first)."""
        indices = nest.output_indices()
        return bool(indices) and indices[0] == "b" and nest.domain("b").stop == BATCH

    # -- hooks ----------------------------------------------------------------------
    @abstractmethod
    def emit_zero(self, layer: str) -> list[str]:
        """Code that zeroes a layer's synaptic input before its first propagation."""

    @abstractmethod
    def emit_nest(self, nest: Nest, operands: dict[str, Operand], edge, first: bool = False) -> list[str]:
        """Code performing one nest (``first``: the first propagation into its target)."""

    @abstractmethod
    def emit_external(self, op: ScheduledOp) -> list[str]:
        """Code adding this step's external input to a layer's synaptic input."""

    @abstractmethod
    def emit_update(self, op: ScheduledOp) -> list[str]:
        """Code running a layer's node update for this step."""

    @abstractmethod
    def emit_record(self, spec: BufferSpec) -> list[str]:
        """Code writing one monitored variable at step ``t``."""

    @abstractmethod
    def wrap(self, key: str, args: list[str], prologue: list[str], loop: list[str],
             end: list[str]) -> str:
        """The whole module around the run function's parts."""

    # -- connection phases, shared ------------------------------------------------------
    def nests_block(self, nests: list[Nest], edge, first: bool = False) -> list[str]:
        operands = self.operands(edge)
        lines: list[str] = []
        for nest in nests:      # ``first``: the first nest adding into the target's input
            lines.append(f"# {nest.label}" + (f", guard {nest.guard}" if nest.guard else ""))
            starts = first and nest.output_role == "I_post"
            lines += self.emit_nest(nest, operands, edge, starts)
            first = first and not starts
        return lines

    @abstractmethod
    def emit_elementwise(self, owner, statements: list[str], symbols: dict[str, Symbol],
                         shape_ref: str) -> list[str]:
        """Element statements over every ``(b, j)`` of the ``[B, n]`` buffer ``shape_ref``."""

    def emit_window(self, edge) -> list[str]:
        """A connection into a CSRM layer: push the source's spikes into its window and
        filter the window with the response kernel (:mod:`snnc.compiler.ops.csrm`)."""
        ctx, _ = self.context(edge)
        if not windowed(ctx):
            return []
        names = {"s_w": self.plan.name(edge, "s_w"), "s_pre": self.plan.name(edge[0], "s"),
                 "filtered": self.plan.name(edge, "filtered"), "resKernel": self.plan.name(edge, "resKernel")}
        width = self.plan.find(edge, "s_w", "state").shape[1]
        symbols = window_symbols(names, width)
        return [f"# {ctx.label} response window (into a CSRM layer)",
                *self.emit_elementwise(edge, WINDOW_STATEMENTS, symbols, names["filtered"])]

    def emit_pre_stage(self, edge) -> list[str]:
        """A connection type's own per-source-neuron statements (a pooling's firing rates)."""
        ctx, op = self.context(edge)
        if not op.pre_statements:
            return []
        spikes = self.plan.name(edge[0], "s")
        symbols = {"s_pre": Symbol("state", spikes)}
        for spec in self.plan.buffers:
            if spec.owner == edge and (spec.role == "state" and op.state.get(spec.var) == "pre"):
                symbols[spec.var] = Symbol("state", spec.name)
            elif spec.owner == edge and spec.role == "arg" and not spec.shape:
                symbols[spec.var] = Symbol("arg", spec.name)
        return [f"# {ctx.label} {ctx.attrs['op']} per-source-neuron state",
                *self.emit_elementwise(edge, list(op.pre_statements), symbols, spikes)]

    def emit_propagate(self, op: ScheduledOp, first: bool) -> list[str]:
        stage = self.emit_pre_stage(op.target)
        if stage:
            return stage + self.nests_block(self.propagate_nests(op.target), op.target, first)
        window = self.emit_window(op.target)
        if window:
            return window + self.nests_block(self.propagate_nests(op.target), op.target, first)
        fast = self.fast_path(op.target)
        nests = self.propagate_nests(op.target)
        if fast is None:
            return self.nests_block(nests, op.target, first)
        ctx, _ = self.context(op.target)
        lines = [f"# {ctx.label} propagate ({ctx.attrs['op']}, {self.backend} fast path)", *fast()]
        return lines + self.nests_block(nests[1:], op.target)

    def emit_accumulate(self, op: ScheduledOp, first: bool) -> list[str]:
        """Every connection of the group in order (a backend may sum them in one pass)."""
        lines = [f"# {op.label()}"]
        for k, edge in enumerate(op.detail["edges"]):
            lines += self.emit_propagate(ScheduledOp("propagate", edge), first and k == 0)
        return lines

    def emit_opaque(self, op: ScheduledOp) -> list[str]:
        """Code calling an opaque op's own Python (only the torch backend can)."""
        raise ValueError(f"{self.backend} emitter: cannot call the opaque {op.label()} "
                         "(the storage pass should have refused it)")

    def opaque(self, op: ScheduledOp) -> bool:
        attrs = self.ir.edges[op.target] if isinstance(op.target, tuple) else self.ir.nodes.get(op.target)
        return attrs is not None and is_opaque(attrs)

    # -- assembly ---------------------------------------------------------------------
    def step_block(self, op: ScheduledOp, first: bool = False) -> list[str]:
        if op.action in ("propagate", "update", "learn") and self.opaque(op):
            kind = "connection" if isinstance(op.target, tuple) else "layer"
            cls = (self.ir.edges[op.target] if kind == "connection" else self.ir.nodes[op.target])["cls"]
            return [f"# {op.action} {kind} {label(op.target)} ({cls}: its own Python, opaque)",
                    *self.emit_opaque(op)]
        if op.action == "propagate":
            return self.emit_propagate(op, first)
        if op.action == "accumulate":
            return self.emit_accumulate(op, first)
        if op.action == "external":
            if not self.has_scratch(op.target):
                return []
            return [f"# external input of {label(op.target)}"] + self.emit_external(op)
        if op.action == "update":
            attrs = self.ir.nodes[op.target]
            lines = [f"# layer {label(op.target)} ({attrs['cls']}, {attrs['op']})"]
            nests, operands = self.layer_nests(op.target)
            for k, nest in enumerate(nests):
                lines.append(f"# {nest.label}" + (f", guard {nest.guard}" if nest.guard else ""))
                lines += self.emit_nest(nest, operands, op.target, first and k == 0)
            lines += self.emit_update(op)
            for edge in op.detail.get("learning", ()):      # terms a backend did not inline
                if edge not in self.inlined:
                    lines += self.nests_block(self.term_nests(edge), edge)
            return lines
        if op.action == "learn":
            return self.learn_block(op.target, op.detail.get("terms_fused", False))
        if op.action == "record":
            lines = [f"# monitor {op.target!r}"]
            for spec in self.monitor_buffers(op.target):
                lines += self.emit_record(spec)
            return lines
        raise ValueError(f"{self.backend} emitter: unknown scheduled action {op.action!r}")

    def source(self, key: str) -> str:
        args = ["start", "stop", "steps"] + [spec.name for spec in self.plan.buffers]
        prologue = [f"{spec.name}_first = steps - {spec.name}.shape[0]"
                    for spec in self.plan.buffers if spec.role == "monitor"]
        loop: list[str] = []
        zeroed: set[str] = set()
        for op in self.ir.graph["schedule"]:
            first = False
            receiver = op.target[1] if op.action == "propagate" else op.target
            adds = op.action in ("propagate", "accumulate") or op.action == "update" and self.layer_nests(op.target)[0] \
                or op.action == "external" and self.has_scratch(op.target)
            if adds and receiver not in zeroed:
                first = True
                zero = self.emit_zero(receiver)
                if zero:
                    loop += [f"# input of {label(receiver)} starts from zero", *zero]
                if zero or op.action != "external":    # numba-cuda adds external input in the update
                    zeroed.add(receiver)
            loop += self.step_block(op, first)
        end: list[str] = []
        for op in self.ir.graph["end_of_run"]:
            if self.opaque(op):
                end += [f"# normalize {label(op.target)} (its own Python, opaque)", *self.emit_opaque(op)]
            else:
                end += self.nests_block(self.normalize_nests(op.target), op.target)
        return self.wrap(key, args, prologue, loop, end)


def indent(lines: list[str], depth: int) -> list[str]:
    pad = "    " * depth
    return [pad + line if line else line for line in lines]
