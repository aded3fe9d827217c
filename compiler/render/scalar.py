"""Scalar renderings of element statements, for numba loops and CUDA kernels.

* :func:`render_scalar` – a *sample* stage for neuron ``j`` of sample ``b``;
* :func:`render_shared` – a *shared* stage for neuron ``j`` (``sum_b`` loops over
  the samples);
* :func:`render_row` – a *row* stage for sample ``b``: first every ``sum_n`` (a loop
  over the neurons), then the per-sample statements, then one loop over the neurons
  in order carrying each ``rank_n``'s running sum.

The caller defines ``b`` / ``j`` (where they apply), ``t``, ``float32`` and ``math``.
"""
from __future__ import annotations

import ast

from snnc.compiler.elementwise import Symbol, names_used, parse


class ScalarExpr(ast.NodeTransformer):
    """Scalar code for one neuron: float32 literals, ternaries for ``where``;
    ``direct`` state names read straight from their buffer; ``replaced`` reduction
    calls (by their text) read a local."""

    def __init__(self, symbols: dict[str, Symbol], direct: frozenset[str] = frozenset(),
                 replaced: dict[str, str] | None = None) -> None:
        self.symbols = symbols
        self.direct = direct
        self.replaced = replaced or {}

    def visit_Name(self, node: ast.Name) -> ast.AST:
        symbol = self.symbols.get(node.id)
        if symbol is not None and symbol.kind == "arg":
            ref = f"{symbol.ref}[j]" if symbol.per_neuron else symbol.ref
            return ast.parse(ref, mode="eval").body
        if symbol is not None and symbol.kind == "random":
            ref = f"{symbol.ref}[t, b, j]" if symbol.per_neuron else f"{symbol.ref}[t, b]"
            return ast.parse(ref, mode="eval").body
        if symbol is not None and symbol.kind == "step":
            return ast.parse(f"{symbol.ref}[{symbol.step_row()}, j]", mode="eval").body
        if symbol is not None and symbol.kind == "state" and node.id in self.direct:
            return ast.parse(element(symbol), mode="eval").body
        return ast.Name(id=node.id, ctx=ast.Load())

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, float):
            return ast.Call(ast.Name("float32", ast.Load()), [node], [])
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        text = ast.unparse(node)
        if text in self.replaced:
            return ast.Name(self.replaced[text], ast.Load())
        args = [self.visit(a) for a in node.args]
        name = node.func.id
        if name == "where":
            return ast.IfExp(test=args[0], body=args[1], orelse=args[2])
        if name == "to_float":
            return ast.Call(ast.Name("float32", ast.Load()), args, [])
        if name == "nonzero":
            return ast.Compare(args[0], [ast.NotEq()], [ast.Constant(0)])
        if name in ("exp", "floor", "pow"):
            call = ast.Call(ast.parse(f"math.{name}", mode="eval").body, args, [])
            return ast.Call(ast.Name("float32", ast.Load()), [call], []) if name != "exp" else call
        if name in ("sum_b", "sum_n", "rank_n", "push", "wdot"):
            raise ValueError(f"{name} outside its stage: {text!r}")
        return ast.Call(ast.Name(name, ast.Load()), args, [])


def scalar(node: ast.AST, symbols: dict[str, Symbol], **kwargs) -> str:
    return ast.unparse(ScalarExpr(symbols, **kwargs).visit(node))


def element(symbol: Symbol) -> str:
    return f"{symbol.ref}[j]" if symbol.shared else f"{symbol.ref}[b, j]"


def read_before_written(name: str, parsed: list[ast.Assign]) -> bool:
    """Whether the statements read ``name`` before (or while) first assigning it."""
    for assign in parsed:
        if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(assign.value)):
            return True
        if assign.targets[0].id == name:
            return False
    return False


def _states(statements: list[str], symbols: dict[str, Symbol], shared: bool | None = None) -> list[str]:
    """The (non-window) state the statements use: loaded into locals, stored back."""
    used = names_used(statements)
    return [name for name, symbol in symbols.items() if symbol.kind == "state" and name in used
            and not symbol.window and (shared is None or symbol.shared == shared)]


def _window_code(assign: ast.Assign, symbols: dict[str, Symbol], replaced: dict[str, str]) -> list[str] | None:
    """Scalar loops for window operations: each ``wdot`` becomes a local computed
    first (added to ``replaced``); a ``push`` statement becomes the shift itself
    (returned instead of an assignment). None when the statement has neither."""
    lines: list[str] = []
    for call in ast.walk(assign.value):
        if isinstance(call, ast.Call) and call.func.id == "wdot":
            kernel, window = (symbols[a.id] for a in call.args)
            total = f"wdot{len(replaced)}"
            replaced[ast.unparse(call)] = total
            lines += [f"{total} = float32(0.0)", f"for k in range({window.window}):",
                      f"    {total} += {kernel.ref}[k] * {window.ref}[b, k, j]"]
    value = assign.value
    if isinstance(value, ast.Call) and value.func.id == "push":
        window = symbols[value.args[0].id]
        appended = scalar(value.args[1], symbols, replaced=replaced)
        return lines + [f"for k in range({window.window - 1}):",
                        f"    {window.ref}[b, k, j] = {window.ref}[b, k + 1, j]",
                        f"{window.ref}[b, {window.window - 1}, j] = {appended}"]
    return lines if lines else None


def _check_target(symbols: dict[str, Symbol], target: str) -> None:
    symbol = symbols.get(target)
    if symbol is not None and symbol.kind in ("arg", "random", "step"):
        raise ValueError(f"element statement assigns to the {symbol.kind} {target!r}")


def render_scalar(statements: list[str], symbols: dict[str, Symbol], input_expr: str) -> list[str]:
    """Scalar code for neuron ``j`` of sample ``b``: load state, compute, store state."""
    parsed = parse(statements)
    states = _states(statements, symbols)
    lines = [f"I = {input_expr}"] if "I" in names_used(statements) else []
    lines += [f"{name} = {element(symbols[name])}" for name in states if read_before_written(name, parsed)]
    return lines + _assignments(parsed, symbols, states, {})


def _assignments(parsed: list[ast.Assign], symbols: dict[str, Symbol], states: list[str],
                 replaced: dict[str, str]) -> list[str]:
    """Each statement as scalar code, then the stores of the ``states`` it assigned."""
    lines, written = [], set()
    for assign in parsed:
        target = assign.targets[0].id
        _check_target(symbols, target)
        window = _window_code(assign, symbols, replaced)
        if window is not None:
            lines += window
            if isinstance(assign.value, ast.Call) and assign.value.func.id == "push":
                continue
        written.add(target)
        lines.append(f"{target} = {scalar(assign.value, symbols, replaced=replaced)}")
    return lines + [f"{element(symbols[name])} = {name}" for name in states if name in written]


def _reduction_loops(parsed: list[ast.Assign], symbols: dict[str, Symbol], function: str,
                     index: str, extent: str, direct: frozenset[str]) -> tuple[list[str], dict[str, str]]:
    """A loop accumulating each ``function(e)`` call over ``index``; returns the code
    and the local holding each call's result."""
    lines: list[str] = []
    replaced: dict[str, str] = {}
    for assign in parsed:
        for call in ast.walk(assign.value):
            if isinstance(call, ast.Call) and call.func.id == function and ast.unparse(call) not in replaced:
                total = f"{function}{len(replaced)}"
                replaced[ast.unparse(call)] = total
                counted = _counted(call.args[0], symbols)
                if counted is not None:                 # integers: a short dependency chain
                    lines += [f"count_{total} = 0", f"for {index} in range({extent}):",
                              f"    count_{total} += {scalar(counted, symbols, direct=direct)}",
                              f"{total} = float32(count_{total})"]
                    continue
                term = scalar(call.args[0], symbols, direct=direct)
                lines += [f"{total} = float32(0.0)", f"for {index} in range({extent}):",
                          f"    {total} += {term}"]
    return lines, replaced


def _counted(node: ast.AST, symbols: dict[str, Symbol]) -> ast.AST | None:
    """The state of ``to_float(s)`` when ``s`` is an integral state (spikes): its sums
    and running sums are counted in integers, equal to the float32 ones; else None."""
    if isinstance(node, ast.Call) and node.func.id == "to_float" and len(node.args) == 1 \
            and isinstance(node.args[0], ast.Name):
        symbol = symbols.get(node.args[0].id)
        if symbol is not None and symbol.kind == "state" and symbol.integral and not symbol.window:
            return node.args[0]
    return None


def render_shared(statements: list[str], symbols: dict[str, Symbol], batch: str,
                  samples: str | None = None) -> list[str]:
    """Scalar code for neuron ``j`` of a shared stage: each ``sum_b(e)`` is a loop over
    the samples of ``batch`` (``samples`` of them when given, e.g. ``"1"``: a loop a
    compiler removes, so that the loop over ``j`` vectorises) reading per-sample state
    directly; shared state is loaded, updated and stored once."""
    parsed = parse(statements)
    shared = _states(statements, symbols, shared=True)
    per_sample = frozenset(_states(statements, symbols, shared=False))
    lines = [f"{name} = {element(symbols[name])}" for name in shared if read_before_written(name, parsed)]
    sums, replaced = _reduction_loops(parsed, symbols, "sum_b", "b", samples or f"{batch}.shape[0]", per_sample)
    return lines + sums + _assignments(parsed, symbols, shared, replaced)


def _names_outside(node: ast.AST, function: str) -> set[str]:
    """The names ``node`` reads outside calls of ``function``."""
    if isinstance(node, ast.Call) and node.func.id == function:
        return set()
    if isinstance(node, ast.Name):
        return {node.id}
    return set().union(*(_names_outside(child, function) for child in ast.iter_child_nodes(node)))


def render_row(statements: list[str], symbols: dict[str, Symbol], width: str) -> list[str]:
    """Scalar code for sample ``b`` of a row stage over ``width`` neurons."""
    parsed = parse(statements)
    states = _states(statements, symbols)
    for k, assign in enumerate(parsed):            # every sum_n runs before the stage's statements
        for call in ast.walk(assign.value):
            if isinstance(call, ast.Call) and call.func.id == "sum_n":
                late = {n.id for n in ast.walk(call) if isinstance(n, ast.Name)} & \
                    {a.targets[0].id for a in parsed[:k]}
                if late:
                    raise ValueError(f"sum_n reads {sorted(late)} assigned earlier in its row stage")
    lines, replaced = _reduction_loops(parsed, symbols, "sum_n", "j", width, frozenset(states))
    neuron_names = {name for name, symbol in symbols.items()
                    if symbol.kind == "state" or symbol.per_neuron} | {"I"}
    per_neuron: list[ast.Assign] = []
    for assign in parsed:
        names = _names_outside(assign.value, "sum_n")
        calls = {n.func.id for n in ast.walk(assign.value) if isinstance(n, ast.Call)}
        if not per_neuron and not names & neuron_names and "rank_n" not in calls:
            _check_target(symbols, assign.targets[0].id)
            lines.append(f"{assign.targets[0].id} = {scalar(assign.value, symbols, replaced=replaced)}")
        else:
            per_neuron.append(assign)
    ranks = [call for assign in per_neuron for call in ast.walk(assign.value)
             if isinstance(call, ast.Call) and call.func.id == "rank_n"]
    body = [f"{name} = {element(symbols[name])}" for name in states if read_before_written(name, per_neuron)]
    counted = [_counted(call.args[0], symbols) for call in ranks]
    for k, call in enumerate(ranks):
        replaced[ast.unparse(call)] = f"rank{k}"
        lines.append(f"running{k} = {'0' if counted[k] is not None else 'float32(0.0)'}")
    written = set()
    for assign in per_neuron:
        for k, call in enumerate(ranks):
            if any(node is call for node in ast.walk(assign.value)):
                if counted[k] is not None:
                    body += [f"rank{k} = float32(running{k})", f"running{k} += {scalar(counted[k], symbols)}"]
                else:
                    body += [f"rank{k} = running{k}", f"running{k} += {scalar(call.args[0], symbols)}"]
        target = assign.targets[0].id
        _check_target(symbols, target)
        written.add(target)
        body.append(f"{target} = {scalar(assign.value, symbols, replaced=replaced)}")
    body += [f"{element(symbols[name])} = {name}" for name in states if name in written]
    return lines + [f"for j in range({width}):", *["    " + line for line in body]]
