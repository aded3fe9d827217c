"""What every emitter shares: walking the schedule into the body of ``run``.

``run(start, stop, steps, *buffers)`` loops over steps ``start .. stop-1``; each
scheduled op becomes a block commented with the IR object it came from; the
end-of-run work runs when ``stop == steps``. A backend subclasses this and says
how each kind of block is written.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import networkx as nx

from snnc.compiler.emit.plan import BufferPlan, BufferSpec
from snnc.compiler.ops import dense
from snnc.ir.schema import ScheduledOp

CONNECTION_EMITTERS = {"dense": dense}


def label(owner) -> str:
    return f"{owner[0]!r} -> {owner[1]!r}" if isinstance(owner, tuple) else repr(owner)


class ScheduleEmitter(ABC):
    """Base emitter; subclasses implement the ``emit_*`` hooks and ``wrap``."""

    backend = ""

    def __init__(self, ir: nx.DiGraph, plan: BufferPlan) -> None:
        self.ir = ir
        self.plan = plan

    # -- helpers ------------------------------------------------------------------
    def connection_names(self, edge) -> dict[str, str]:
        """The generated names of a connection's arguments, by variable."""
        return {spec.var: spec.name for spec in self.plan.buffers
                if spec.owner == edge and spec.role == "arg"}

    def connection_module(self, op: ScheduledOp):
        return CONNECTION_EMITTERS[op.detail["op"]]

    def has_scratch(self, layer: str) -> bool:
        return self.plan.find(layer, "I", "scratch") is not None

    def monitor_buffers(self, monitor: str) -> list[BufferSpec]:
        return [spec for spec in self.plan.buffers if spec.role == "monitor" and spec.owner == monitor]

    # -- hooks ----------------------------------------------------------------------
    @abstractmethod
    def emit_zero(self, layer: str) -> list[str]:
        """Code that zeroes a layer's synaptic input before its first propagation."""

    @abstractmethod
    def emit_propagate(self, op: ScheduledOp) -> list[str]:
        """Code adding a connection's output (source spikes of t-1) to its target's input."""

    @abstractmethod
    def emit_external(self, op: ScheduledOp) -> list[str]:
        """Code adding this step's external input to a layer's synaptic input."""

    @abstractmethod
    def emit_update(self, op: ScheduledOp) -> list[str]:
        """Code running a layer's node update for this step."""

    @abstractmethod
    def emit_learn(self, op: ScheduledOp) -> list[str]:
        """Code for a connection's per-step weight work."""

    @abstractmethod
    def emit_record(self, spec: BufferSpec) -> list[str]:
        """Code writing one monitored variable at step ``t``."""

    @abstractmethod
    def emit_normalize(self, op: ScheduledOp) -> list[str]:
        """Code normalising a connection's weights at the end of the run."""

    @abstractmethod
    def wrap(self, key: str, args: list[str], prologue: list[str], loop: list[str],
             end: list[str]) -> str:
        """The whole module around the run function's parts."""

    # -- assembly ---------------------------------------------------------------------
    def step_block(self, op: ScheduledOp) -> list[str]:
        if op.action == "propagate":
            return [f"# propagate {label(op.target)} ({op.detail['op']})"] + self.emit_propagate(op)
        if op.action == "external":
            if not self.has_scratch(op.target):
                return []
            return [f"# external input of {label(op.target)}"] + self.emit_external(op)
        if op.action == "update":
            attrs = self.ir.nodes[op.target]
            return [f"# layer {label(op.target)} ({attrs['cls']}, {attrs['op']})"] + self.emit_update(op)
        if op.action == "learn":
            return [f"# weight update {label(op.target)}"] + self.emit_learn(op)
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
            if op.action == "propagate" and op.target[1] not in zeroed:
                zeroed.add(op.target[1])
                zero = self.emit_zero(op.target[1])
                loop += [f"# synaptic input of {label(op.target[1])} starts from zero"] + zero if zero else []
            loop += self.step_block(op)
        end: list[str] = []
        for op in self.ir.graph["end_of_run"]:
            end += [f"# normalize {label(op.target)}"] + self.emit_normalize(op)
        return self.wrap(key, args, prologue, loop, end)


def indent(lines: list[str], depth: int) -> list[str]:
    pad = "    " * depth
    return [pad + line if line else line for line in lines]
