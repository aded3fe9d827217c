"""The phases of a numba-CUDA step, rendered as kernel launches or inside one kernel.

The emitter writes a step as host code (conditions on ``t``, monitor rows) with one
placeholder line per phase (:func:`phase_marker`). :func:`render_phases` replaces each
placeholder: by the phase's launch for the host loop, or by the phase's grid-stride
loop and a grid-wide barrier for the persistent kernel (:func:`persistent_kernel`).
Every condition around a phase depends only on ``t``, ``start``, ``stop`` and
``steps``, so all threads of the grid take the same branches and meet at each barrier.
"""
from __future__ import annotations

from typing import Callable

MARKER = "#@phase "


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


def inline_phase(kernel) -> list[str]:
    """A phase inside the persistent kernel: every thread takes elements ``first``,
    ``first + stride``, … of it, then waits for the whole grid."""
    return [f"# phase {kernel.name}",
            f"for element in range(first, {kernel.total()}, stride):",
            *["    " + line for line in split_index(kernel, "element")],
            *["    " + line for line in kernel.body],
            "grid.sync()"]


def persistent_kernel(args: list[str], prologue: list[str], loop: list[str], end: list[str],
                      kernels: list) -> list[str]:
    """``run_persistent(args)``: the steps ``[start, stop)`` (and the end of the run
    when ``stop == steps``) in one cooperative kernel."""
    body = [*prologue, "for t in range(start, stop):",
            *["    " + line for line in render_phases(loop, kernels, inline_phase)]]
    if end:
        body += ["if stop == steps:", *["    " + line for line in render_phases(end, kernels, inline_phase)]]
    return ["@cuda.jit",
            f"def run_persistent({', '.join(args)}):",
            "    grid = cuda.cg.this_grid()",
            "    first = cuda.grid(1)",
            "    stride = cuda.gridsize(1)",
            *["    " + line for line in body],
            "", ""]
