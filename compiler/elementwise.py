"""The per-neuron expression language, and its renderings.

A layer op's update is a list of assignments in Python syntax over per-neuron names
(see :mod:`snnc.compiler.ops.base`). Functions: ``where(c, a, b)``, ``max(a, b)``,
``min(a, b)``, ``exp(a)``, ``to_float(a)``, ``nonzero(a)``. Each backend renders the
same statements: torch as whole-tensor expressions, numba as scalar code inside a loop
over batch and neurons (or inside a CUDA kernel). Keeping one source of truth here is
what lets every op run on every backend.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal

FUNCTIONS = ("where", "max", "min", "exp", "to_float", "nonzero")


@dataclass(frozen=True)
class Symbol:
    """How a statement name maps to generated code.

    ``kind``: ``state`` (a ``[B, n]`` buffer updated in place), ``arg`` (a read-only
    argument, ``per_neuron`` ``[n]`` or scalar) or ``local`` (a temporary).
    """

    kind: Literal["state", "arg", "local"]
    ref: str
    per_neuron: bool = False


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


class _TorchExpr(ast.NodeTransformer):
    def __init__(self, symbols: dict[str, Symbol]) -> None:
        self.symbols = symbols

    def visit_Name(self, node: ast.Name) -> ast.AST:
        symbol = self.symbols.get(node.id)
        return ast.Name(id=symbol.ref if symbol else node.id, ctx=ast.Load())

    def visit_Call(self, node: ast.Call) -> ast.AST:
        args = [self.visit(a) for a in node.args]
        name = node.func.id
        if name == "to_float":
            return ast.Call(ast.Attribute(args[0], "float", ast.Load()), [], [])
        if name == "nonzero":
            return ast.Compare(args[0], [ast.NotEq()], [ast.Constant(0)])
        torch_name = {"where": "where", "max": "maximum", "min": "minimum", "exp": "exp"}[name]
        return ast.Call(ast.Attribute(ast.Name("torch", ast.Load()), torch_name, ast.Load()), args, [])


def render_torch(statements: list[str], symbols: dict[str, Symbol]) -> list[str]:
    """Whole-tensor torch code: state is written in place with ``copy_``."""
    lines = []
    for assign in parse(statements):
        target = assign.targets[0].id
        expr = ast.unparse(_TorchExpr(symbols).visit(assign.value))
        symbol = symbols.get(target)
        if symbol is not None and symbol.kind == "state":
            lines.append(f"{symbol.ref}.copy_({expr})")
        elif symbol is not None and symbol.kind == "arg":
            raise ValueError(f"element statement assigns to the argument {target!r}")
        else:
            lines.append(f"{symbol.ref if symbol else target} = {expr}")
    return lines


class _ScalarExpr(ast.NodeTransformer):
    """Scalar code for one neuron: float32 literals, ternaries for ``where``."""

    def __init__(self, symbols: dict[str, Symbol]) -> None:
        self.symbols = symbols

    def visit_Name(self, node: ast.Name) -> ast.AST:
        symbol = self.symbols.get(node.id)
        if symbol is not None and symbol.kind == "arg":
            ref = f"{symbol.ref}[j]" if symbol.per_neuron else symbol.ref
            return ast.parse(ref, mode="eval").body
        return ast.Name(id=node.id, ctx=ast.Load())

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, float):
            return ast.Call(ast.Name("float32", ast.Load()), [node], [])
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        args = [self.visit(a) for a in node.args]
        name = node.func.id
        if name == "where":
            return ast.IfExp(test=args[0], body=args[1], orelse=args[2])
        if name == "to_float":
            return ast.Call(ast.Name("float32", ast.Load()), args, [])
        if name == "nonzero":
            return ast.Compare(args[0], [ast.NotEq()], [ast.Constant(0)])
        if name == "exp":
            return ast.Call(ast.Attribute(ast.Name("math", ast.Load()), "exp", ast.Load()), args, [])
        return ast.Call(ast.Name(name, ast.Load()), args, [])


def render_scalar(statements: list[str], symbols: dict[str, Symbol], input_expr: str) -> list[str]:
    """Scalar code for neuron ``j`` of sample ``b``: load state, compute, store state.

    Used inside numba loops and CUDA kernels alike; the caller defines ``b``, ``j``,
    ``float32`` and ``math``.
    """
    parsed = parse(statements)
    used = names_used(statements)
    states = [name for name, symbol in symbols.items() if symbol.kind == "state" and name in used]
    written = {assign.targets[0].id for assign in parsed}
    lines = [f"I = {input_expr}"]
    lines += [f"{name} = {symbols[name].ref}[b, j]" for name in states]
    for assign in parsed:
        target = assign.targets[0].id
        if symbols.get(target) is not None and symbols[target].kind == "arg":
            raise ValueError(f"element statement assigns to the argument {target!r}")
        lines.append(f"{target} = {ast.unparse(_ScalarExpr(symbols).visit(assign.value))}")
    lines += [f"{symbols[name].ref}[b, j] = {name}" for name in states if name in written]
    return lines
