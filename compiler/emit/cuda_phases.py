"""The phases of a numba-CUDA step, rendered as kernel launches or inside one kernel.

The emitter writes a step as host code (conditions on ``t``, monitor rows) with one
placeholder line per phase (:func:`phase_marker`). :func:`render_phases` replaces each
placeholder: by the phase's launch for the host loop, or by the phase's grid-stride
loop and a grid-wide barrier for the persistent kernel (:func:`persistent_kernel`).
Every condition around a phase depends only on ``t``, ``start``, ``stop`` and
``steps``, so all threads of the grid take the same branches and meet at each barrier.

A barrier goes before a phase only where it is needed (:func:`barriers`): when the
phase writes a buffer that a phase since the last barrier read or wrote, or reads one
that such a phase wrote. The analysis follows the step's branches (a phase under a
condition may or may not have run) and the loop over steps (the first phases of a step
follow the last phases of the step before). The guide network needs 2 barriers per
step instead of 6: before its input layer's update, which overwrites the spikes the
propagation read, and before its monitors, which read what the updates wrote.
"""
from __future__ import annotations

import ast
from typing import Callable

MARKER = "#@phase "
CALL = "__phase__"


def phase_marker(index: int) -> str:
    return f"{MARKER}{index}"


def split_index(kernel, flat: str = "k") -> list[str]:
    """The kernel's indices from the flat element number ``flat`` (the last fastest)."""
    split = []
    rest = flat
    for k in range(len(kernel.indices) - 1, 0, -1):
        split.append(f"{kernel.indices[k]} = {rest} % {kernel.extents[k]}")
        if k > 1:
            split.append(f"rest = {rest} // {kernel.extents[k]}")
            rest = "rest"
        else:
            rest = f"{rest} // {kernel.extents[k]}"
    split.append(f"{kernel.indices[0]} = {rest}")
    return split


def render_phases(lines: list[str], kernels: list, render: Callable[[object], list[str]]) -> list[str]:
    """``lines`` with each placeholder replaced by ``render(kernel)``, indented alike."""
    out: list[str] = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(MARKER):
            pad = line[:len(line) - len(stripped)]
            out += [pad + text for text in render(kernels[int(stripped[len(MARKER):])])]
        else:
            out.append(line)
    return out


def accesses(kernel) -> tuple[frozenset[str], frozenset[str]]:
    """The buffers a phase reads and writes (every subscripted name of its body)."""
    reads: set[str] = set()
    writes: set[str] = set()

    def base(node: ast.AST) -> str | None:
        while isinstance(node, ast.Subscript):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    for node in ast.walk(ast.parse("\n".join(kernel.body))):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AugAssign) else []
        for target in targets:
            if isinstance(target, ast.Subscript):
                writes.add(base(target))
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            reads.add(base(node))
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            reads.add(base(node.target))
    return frozenset(reads - {None}), frozenset(writes - {None})


Pending = tuple[frozenset[str], frozenset[str]]


def _conflict(pending: Pending, access: Pending) -> bool:
    (reads, writes), (phase_reads, phase_writes) = pending, access
    return bool(phase_writes & (reads | writes) or phase_reads & writes)


def _union(a: Pending, b: Pending) -> Pending:
    return a[0] | b[0], a[1] | b[1]


def barriers(loop: list[str], end: list[str], kernels: list) -> tuple[set[int], set[int], set[int]]:
    """Where grid barriers go (module docstring): the phases (kernel indices) that
    need one before them, and the lines of ``loop`` and of ``end`` (``if`` statements)
    before which one goes. A launch starts with nothing pending; a phase under a
    condition leaves the union of both outcomes pending, unless a barrier before the
    ``if`` (all threads reach it) saves the barriers inside; the loop over steps is
    walked until what is pending at its start stops growing."""
    access = [accesses(kernel) for kernel in kernels]
    empty: Pending = (frozenset(), frozenset())

    def parse(lines: list[str]) -> list[ast.stmt]:
        text = [line.replace(MARKER, f"{CALL}(", 1) + ")" if line.lstrip().startswith(MARKER) else line
                for line in lines]
        return ast.parse("\n".join(text) or "pass").body

    def walk(statements: list[ast.stmt], pending: Pending, needed: set[int], lines: set[int]) -> Pending:
        for statement in statements:
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) \
                    and getattr(statement.value.func, "id", None) == CALL:
                index = statement.value.args[0].value
                if _conflict(pending, access[index]):
                    needed.add(index)
                    pending = access[index]
                else:
                    pending = _union(pending, access[index])
            elif isinstance(statement, ast.If):
                inside, fresh = set(), set()
                walk(statement.body + statement.orelse, pending, inside, set())
                walk(statement.body + statement.orelse, empty, fresh, set())
                if inside - fresh:              # one barrier before the ``if`` saves those inside
                    lines.add(statement.lineno - 1)
                    pending = empty
                pending = _union(walk(statement.body, pending, needed, lines),
                                 walk(statement.orelse, pending, needed, lines))
            elif any(isinstance(node, ast.Call) and getattr(node.func, "id", None) == CALL
                     for node in ast.walk(statement)):
                raise ValueError("cuda_phases: a phase inside a host loop or block is not supported")
        return pending

    step, finish = parse(loop), parse(end)
    start = empty
    while True:
        needed, step_lines, end_lines = set(), set(), set()
        after = walk(step, start, needed, step_lines)
        grown = _union(start, after)
        if grown == start:
            break
        start = grown
    walk(finish, start, needed, end_lines)
    return needed, step_lines, end_lines


def inline_phase(kernel, barrier: bool = True) -> list[str]:
    """A phase inside the persistent kernel: a grid barrier first where one is needed,
    then every thread takes elements ``first``, ``first + stride``, … of the phase."""
    return [*(["grid.sync()"] if barrier else []),
            f"# phase {kernel.name}",
            f"for element in range(first, {kernel.total()}, stride):",
            *["    " + line for line in split_index(kernel, "element")],
            *["    " + line for line in kernel.body]]


def persistent_kernel(args: list[str], prologue: list[str], loop: list[str], end: list[str],
                      kernels: list) -> list[str]:
    """``run_persistent(args)``: the steps ``[start, stop)`` (and the end of the run
    when ``stop == steps``) in one cooperative kernel."""
    needed, step_lines, end_lines = barriers(loop, end, kernels)
    index = {id(kernel): k for k, kernel in enumerate(kernels)}

    def phase(kernel) -> list[str]:
        return inline_phase(kernel, index[id(kernel)] in needed)

    def with_barriers(lines: list[str], before: set[int]) -> list[str]:
        out = []
        for k, line in enumerate(lines):
            if k in before:
                out.append(line[:len(line) - len(line.lstrip())] + "grid.sync()")
            out.append(line)
        return render_phases(out, kernels, phase)

    body = [*prologue, "for t in range(start, stop):",
            *["    " + line for line in with_barriers(loop, step_lines)]]
    if end:
        body += ["if stop == steps:", *["    " + line for line in with_barriers(end, end_lines)]]
    return ["@cuda.jit",
            f"def run_persistent({', '.join(args)}):",
            "    grid = cuda.cg.this_grid()",
            "    first = cuda.grid(1)",
            "    stride = cuda.gridsize(1)",
            *["    " + line for line in body],
            "", ""]
