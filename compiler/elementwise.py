"""The per-neuron expression language, and its renderings.

A layer op's update is a list of assignments in Python syntax over per-neuron names
(see :mod:`snnc.compiler.ops.base`). Functions: ``where(c, a, b)``, ``max(a, b)``,
``min(a, b)``, ``exp(a)``, ``abs(a)``, ``floor(a)``, ``pow(a, b)``, ``to_float(a)``, ``nonzero(a)``,
``uniform_hash(seed, index)`` (a uniform number per step seed and integer index, the same on
every backend: :mod:`snnc.compiler.render.hashing`), and three reductions: ``sum_b(a)`` (over the samples of the batch), ``sum_n(a)`` (over
a sample's neurons) and ``rank_n(a)`` (the exclusive running sum over a sample's
neurons in flattened order). Window state (a per-neuron history ``[B, W, n]``, oldest
first) is read and written only through ``wdot(kernel, window)`` (``sum_k kernel[k] *
window[k]`` for the neuron, ``kernel`` an argument ``[W]``) and the statement
``window = push(window, value)`` (drop the oldest entry, append ``value``). Names are state (``[B, n]``, or ``[n]`` when shared by
the batch), arguments, per-step random numbers drawn by the runtime (``u``) and
locals.

Statements fall into stages (:func:`split_stages`): *sample* stages run per sample
and neuron; *shared* stages assign state shared by the batch, once per neuron (only
they use ``sum_b``); *row* stages use ``sum_n`` / ``rank_n`` and run per sample with
the neurons in order. Each backend renders the same statements: torch as
whole-tensor expressions (:func:`render_torch`), numba and numba-cuda as scalar code
(:mod:`snnc.compiler.render.scalar`). Keeping one source of truth here is what lets
every op run on every backend.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal

FUNCTIONS = ("where", "max", "min", "exp", "abs", "floor", "pow", "to_float", "nonzero", "sum_b",
             "sum_n", "rank_n", "push", "wdot", "uniform_hash")
REDUCTIONS = {"sum_b": "shared", "sum_n": "row", "rank_n": "row"}


@dataclass(frozen=True)
class Symbol:
    """How a statement name maps to generated code.

    ``kind``: ``state`` (a ``[B, n]`` buffer updated in place, or ``[n]`` when
    ``shared`` by the batch), ``arg`` (a read-only argument, ``per_neuron`` ``[n]`` or
    scalar), ``random`` (this step's uniform numbers, ``[T, B]`` or ``[T, B, n]`` when
    ``per_neuron``), ``step`` (a run's mask for every sample, ``[T, n]`` when
    ``per_step``, else ``[1, n]``) or ``local`` (a temporary). A state with ``window``
    ``W > 0`` is a per-neuron history ``[B, W, n]``, used only through ``wdot`` / ``push``.
    ``integral``: a state stored as bool or integers (spikes), whose sums a scalar
    rendering may count in integers (exactly what float32 sums of them give while the
    total stays under 2**24).
    """

    kind: Literal["state", "arg", "random", "step", "local"]
    ref: str
    per_neuron: bool = False
    shared: bool = False
    per_step: bool = False
    window: int = 0
    integral: bool = False

    def step_row(self) -> str:
        return "t" if self.per_step else "0"


def parse(statements: list[str]) -> list[ast.Assign]:
    """Parse and check statements: single-target assignments using known functions."""
    parsed = []
    for text in statements:
        node = ast.parse(text, mode="exec").body
        if len(node) != 1 or not isinstance(node[0], ast.Assign) or len(node[0].targets) != 1 \
                or not isinstance(node[0].targets[0], ast.Name):
            raise ValueError(f"element statement must be 'name = expression': {text!r}")
        for call in ast.walk(node[0].value):
            if isinstance(call, ast.Call) and (not isinstance(call.func, ast.Name)
                                               or call.func.id not in FUNCTIONS):
                raise ValueError(f"unknown function in element statement {text!r}")
        parsed.append(node[0])
    return parsed


def names_used(statements: list[str]) -> set[str]:
    """Every name a list of statements reads or writes (functions excluded)."""
    used = set()
    for assign in parse(statements):
        for node in ast.walk(assign):
            if isinstance(node, ast.Name) and node.id not in FUNCTIONS:
                used.add(node.id)
    return used


class TorchExpr(ast.NodeTransformer):
    """Whole-tensor torch code for an expression (subclassed by the nest renderer)."""

    def __init__(self, symbols: dict[str, Symbol]) -> None:
        self.symbols = symbols

    def visit_Name(self, node: ast.Name) -> ast.AST:
        symbol = self.symbols.get(node.id)
        if symbol is not None and symbol.kind == "random":
            code = f"{symbol.ref}[t]" if symbol.per_neuron else f"{symbol.ref}[t][:, None]"
            return ast.parse(code, mode="eval").body
        if symbol is not None and symbol.kind == "step":
            return ast.parse(f"{symbol.ref}[{symbol.step_row()}]", mode="eval").body
        return ast.Name(id=symbol.ref if symbol else node.id, ctx=ast.Load())

    def visit_Call(self, node: ast.Call) -> ast.AST:
        args = [self.visit(a) for a in node.args]
        name = node.func.id
        code = {
            "to_float": "({0}).float()", "nonzero": "({0}) != 0", "sum_b": "({0}).sum(0)",
            "sum_n": "({0}).sum(1, keepdim=True)", "rank_n": "torch.cumsum({0}, 1) - ({0})",
            "push": "torch.cat(({0}[:, 1:], ({1})[:, None]), 1)",
            "wdot": "torch.einsum('k,bkn->bn', {0}, {1})",
            "uniform_hash": "uniform_hash({0}, {1})",
        }.get(name)
        if code is not None:
            return ast.parse(code.format(*[ast.unparse(a) for a in args]), mode="eval").body
        constants = [a for a in args if isinstance(a, ast.Constant)]
        if name in ("max", "min") and len(constants) == 1:     # torch.maximum takes no number
            other = next(a for a in args if a is not constants[0])
            bound = "min" if name == "max" else "max"
            return ast.parse(f"torch.clamp({ast.unparse(other)}, {bound}={constants[0].value!r})",
                             mode="eval").body
        torch_name = {"where": "where", "max": "maximum", "min": "minimum", "exp": "exp",
                      "abs": "abs", "floor": "floor", "pow": "pow"}[name]
        return ast.Call(ast.Attribute(ast.Name("torch", ast.Load()), torch_name, ast.Load()), args, [])


def render_torch(statements: list[str], symbols: dict[str, Symbol]) -> list[str]:
    """Whole-tensor torch code: state is written in place with ``copy_``."""
    lines = []
    for assign in parse(statements):
        target = assign.targets[0].id
        expr = ast.unparse(TorchExpr(symbols).visit(assign.value))
        symbol = symbols.get(target)
        if symbol is not None and symbol.kind == "state":
            lines.append(f"{symbol.ref}.copy_({expr})")
        elif symbol is not None and symbol.kind in ("arg", "random", "step"):
            raise ValueError(f"element statement assigns to the {symbol.kind} {target!r}")
        else:
            lines.append(f"{symbol.ref if symbol else target} = {expr}")
    return lines


def reductions_in(node: ast.AST) -> set[str]:
    return {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and n.func.id in REDUCTIONS}


def split_stages(statements: list[str], symbols: dict[str, Symbol]) -> list[tuple[str, list[str]]]:
    """Consecutive statements grouped into stages: ``shared`` (assigns state shared by
    the batch; may use ``sum_b``), ``row`` (uses ``sum_n`` / ``rank_n``, or a local a
    row stage computed) and ``sample`` (everything else)."""
    stages: list[tuple[str, list[str]]] = []
    row_locals: set[str] = set()
    stage_of: dict[str, int] = {}           # local -> the stage that assigned it
    for text, assign in zip(statements, parse(statements)):
        target = assign.targets[0].id
        symbol = symbols.get(target)
        used = {n.id for n in ast.walk(assign.value) if isinstance(n, ast.Name)}
        reductions = reductions_in(assign.value)
        if symbol is not None and symbol.shared:
            kind = "shared"
        elif reductions & {"sum_n", "rank_n"} or used & row_locals:
            kind = "row"
        else:
            kind = "sample"
        if "sum_b" in reductions and kind != "shared":
            raise ValueError(f"sum_b outside a statement assigning shared state: {text!r}")
        if kind == "row" and symbols.get(target) is None:
            row_locals.add(target)
        if stages and stages[-1][0] == kind:
            stages[-1][1].append(text)
        else:
            stages.append((kind, [text]))
        crossing = [name for name in used if stage_of.get(name, len(stages) - 1) != len(stages) - 1]
        if crossing:   # each stage is its own loop: a local does not survive it
            raise ValueError(f"{text!r} reads {crossing} computed in an earlier stage; "
                             "keep a local within its stage or make it state")
        if symbols.get(target) is None:
            stage_of[target] = len(stages) - 1
    return stages
