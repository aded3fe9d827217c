"""Propagation renderings of a nest for numba loops: whole rows of a weight matrix, and
uniform weights as two scalars (the strategies :class:`LoopNestRenderer` leaves out).

* **rows** (a scatter whose body is ``out[b, j] += g * W[i, j]`` over one contiguous
  domain): gather the active rows first (a row of 1-byte spikes eight at a time with
  :func:`~snnc.compiler.render.nonzero.list_nonzero`; other rows without a branch:
  every row is written at the list's end, which advances only past active ones, so no
  mispredicted branch per row), then add them ``ROWS_PER_PASS`` at a time,
  associated exactly as one at a time (bit-identical, 1.7x faster on wide rows), or
  split them into ``PARALLEL_PARTS`` parts summed on the cores.
* **uniform sum** (``out[b, j] += g[b, i] * where(i == j, w_diag, w_off)``, uniform
  storage): the sources are summed once, ``G = sum_i g[b, i]``, and each target adds
  ``w_off * G + (w_diag - w_off) * g[b, j]``: O(n) per sample instead of O(spikes * n),
  equal to the row sums up to float rounding (the sum is reassociated).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from snnc.compiler.nest import Read, product_factors, reads_in
from snnc.compiler.render.nest_loops import LoopNestRenderer

ROWS_PER_PASS = 4
PARALLEL_PARTS = 8


@dataclass(frozen=True)
class RowsPattern:
    """The parts of a nest that the rows strategy needs."""

    guard: Read
    weight: Read
    row_domain: str
    column_domain: str


class RowsRenderer(LoopNestRenderer):
    """A :class:`LoopNestRenderer` that also renders the rows and uniform-sum strategies."""

    def rows_pattern(self) -> RowsPattern | None:
        """The nest is ``out[b, j] += g[b, i] * W[i, j]`` (bound ``b``), W a 2-D buffer."""
        nest, guard = self.nest, self.guard_read()
        if not self.can_scatter() or nest.output_indices()[-1:] == ():
            return None
        factors = product_factors(nest.expression)
        if factors is None or len(factors) != 2 or not all(isinstance(f, ast.Subscript) for f in factors):
            return None
        reads = [reads_in(ast.unparse(f))[0] for f in factors]
        if guard.text not in [r.text for r in reads]:
            return None
        weight = next(r for r in reads if r.text != guard.text)
        free = [d for d in guard.indices if d not in self.bound]
        rest = [d.name for d in nest.domains if d.name not in guard.indices]
        if len(free) != 1 or len(rest) != 1 or weight.indices != (free[0], rest[0]) \
                or nest.output_indices()[-1] != rest[0] or self.operands[weight.role].flat \
                or self.domains[rest[0]].dependent:
            return None
        return RowsPattern(guard, weight, free[0], rest[0])

    def uniform_pattern(self) -> tuple[Read, str, str] | None:
        """``(guard, row domain, column domain)`` when the nest is
        ``out[b, j] += g[b, i] * where(i == j, w_diag, w_off)`` (bound ``b``), ``g`` the
        guard; else None."""
        nest, guard = self.nest, self.guard_read()
        if not self.can_scatter() or nest.combine != "add":
            return None
        node = ast.parse(nest.expression, mode="eval").body
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)
                and isinstance(node.left, ast.Subscript) and ast.unparse(node.left) == guard.text):
            return None
        free = [d for d in guard.indices if d not in self.bound]
        rest = [d.name for d in nest.domains if d.name not in guard.indices]
        if len(free) != 1 or len(rest) != 1 or nest.output_indices()[-1] != rest[0] \
                or self.domains[rest[0]].dependent or nest.output_indices()[:-1] != guard.indices[:-1] \
                or guard.indices[-1] != free[0]:
            return None
        if ast.unparse(node.right) != f"where({free[0]} == {rest[0]}, w_diag, w_off)":
            return None
        return guard, free[0], rest[0]

    def uniform_sum(self) -> list[str]:
        """The uniform sum (see the module docstring): integer spikes are counted
        exactly; other sources summed in order."""
        guard, row, column = self.uniform_pattern()
        operand = self.operands[guard.role]
        counted = operand.dtype in ("bool", "uint8", "int8", "int16", "int32", "int64")
        element = self.element(guard)
        total = ["total_count = 0", self.loop(self.domains[row]), f"    total_count += {element}",
                 "total = float32(total_count)"] if counted else \
            ["total = float32(0.0)", self.loop(self.domains[row]), f"    total += {self.value(guard)}"]
        n_rows = self.bound_code(self.domains[row].stop)
        own = self.value(reads_in(f"{guard.role}[{', '.join([*guard.indices[:-1], column])}]")[0])
        output = self.element(reads_in(self.nest.output)[0])
        off, diag = self.code("w_off"), self.code("w_diag")
        column_stop = self.bound_code(self.domains[column].stop)
        own_term = f"own * {own}" if n_rows == column_stop else \
            f"(own * {own} if {column} < {n_rows} else float32(0.0))"
        return [*total, f"spread = {off} * total", f"own = {diag} - {off}",
                self.loop(self.domains[column]), f"    {output} += spread + {own_term}"]

    def rows(self, scratch: str, parallel: bool) -> tuple[list[str], list[str]]:
        """Gather the active rows, then add them; returns the code and the scratch
        arrays (declared once by the caller, outside the time loop)."""
        pattern = self.rows_pattern()
        guard, row, column = pattern.guard, pattern.row_domain, pattern.column_domain
        active, values = f"{scratch}_active", f"{scratch}_values"
        extent = self.bound_code(self.domains[row].stop)
        declarations = [f"{active} = np.empty({extent}, np.int64)",
                        f"{values} = np.empty({extent}, np.float32)"]
        spikes = self.spike_row(guard, row)
        if spikes is not None:
            lines = [f"count = list_nonzero({spikes}, {active})", f"for n_{row} in range(count):",
                     f"    {row} = {active}[n_{row}]", f"    {values}[n_{row}] = {self.value(guard)}"]
        else:
            lines = ["count = 0", f"for {row} in range({extent}):",     # branch-free: each row is
                     f"    value = {self.value(guard)}",                      # written, kept if active
                     f"    {active}[count] = {row}",
                     f"    {values}[count] = value",
                     "    count += value != 0"]
        out_read = reads_in(self.nest.output)[0]
        target = self.operands[out_read.role].ref
        width = self.bound_code(self.domains[column].stop)
        prefix = ", ".join(self.code(i) for i in out_read.indices[:-1])
        if parallel:
            partial = f"{scratch}_partial"
            declarations.append(f"{partial} = np.empty(({PARALLEL_PARTS}, {width}), np.float32)")
            lines += [f"chunk = (count + {PARALLEL_PARTS - 1}) // {PARALLEL_PARTS}",
                      f"for part in prange({PARALLEL_PARTS}):",
                      f"    target = {partial}[part]",
                      "    for j in range(target.shape[0]):",
                      "        target[j] = 0.0",
                      *["    " + line for line in self.add_rows(pattern.weight, active, values, "target",
                                                                 "part * chunk",
                                                                 "min(count, part * chunk + chunk)")],
                      f"for part in range({PARALLEL_PARTS}):",
                      f"    for j in range({width}):",
                      f"        {target}[{prefix}, j] += {partial}[part, j]"]
        else:
            lines += [f"target = {target}[{prefix}]",
                      *self.add_rows(pattern.weight, active, values, "target", "0", "count")]
        return lines, declarations

    def add_rows(self, weight: Read, active: str, values: str, target: str, first: str,
                 last: str) -> list[str]:
        """Add rows ``active[first:last]`` of ``weight`` (scaled by ``values``) into the
        1-D ``target``, ``ROWS_PER_PASS`` per pass, associated as one at a time."""
        operand = self.operands[weight.role]
        unrolled = range(ROWS_PER_PASS)

        def term(r: int) -> str:
            element = f"{operand.decode}(row{r}[j])" if operand.decode else \
                f"{operand.table}[row{r}[j]]" if operand.table else f"row{r}[j]"
            return f"value{r} * {element}"

        total = f"{target}[j]"
        for r in unrolled:
            total = f"({total} + {term(r)})" if r < ROWS_PER_PASS - 1 else f"{total} + {term(r)}"
        return [f"k = {first}",
                f"while k + {ROWS_PER_PASS} <= {last}:",
                *[f"    row{r} = {operand.ref}[{active}[k + {r}]]" for r in unrolled],
                *[f"    value{r} = {values}[k + {r}]" for r in unrolled],
                f"    for j in range({target}.shape[0]):",
                f"        {target}[j] = {total}",
                f"    k += {ROWS_PER_PASS}",
                f"while k < {last}:",
                f"    row0 = {operand.ref}[{active}[k]]",
                f"    value0 = {values}[k]",
                f"    for j in range({target}.shape[0]):",
                f"        {target}[j] += {term(0)}",
                "    k += 1"]
