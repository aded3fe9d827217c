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
