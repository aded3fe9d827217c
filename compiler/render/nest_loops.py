"""Scalar-loop renderings of a nest, for numba loops and CUDA kernel bodies.

Strategies (the nest says *what*; these say *how*):

* **gather** (output-stationary): loop over the output's domains; for each output
  element accumulate over the reduced domains into ``acc``, skipping where the guard
  is zero, then store. A CUDA kernel runs one thread per output element with this
  body (:meth:`LoopNestRenderer.element_body`).
* **scatter** (guard-outer, ``add`` only): loop over the guard's domains, test the
  guard once, then add into the output over the remaining domains. Event-driven
  propagation is this: only the rows of sources that spiked are visited.
* **rows** and **uniform sum**: propagation by rows of a weight matrix, and by two
  scalars for uniform weights (:mod:`snnc.compiler.render.nest_rows`).

Reads are float32 scalars: 16-bit weights are decoded through a table, other dtypes
converted; a read whose index may leave its tensor is guarded and reads as zero.
"""
from __future__ import annotations

import ast

from snnc.compiler.nest import (BATCH, Domain, Nest, Operand, Read, batch_size_code,
                                needs_bounds_check, reads_in)
from snnc.compiler.render.nonzero import ONE_BYTE_DTYPES
from snnc.compiler.render.scalar import ScalarExpr


def _atom(code: str) -> str:
    """``code`` parenthesised unless it is a name, a number or an element access."""
    node = ast.parse(code, mode="eval").body
    return code if isinstance(node, (ast.Name, ast.Constant, ast.Subscript)) else f"({code})"


class LoopNestRenderer:
    """Scalar code for one nest. ``bound``: domains an enclosing loop already binds
    (``b`` in a per-sample loop; every output domain inside a CUDA thread)."""

    def __init__(self, nest: Nest, operands: dict[str, Operand], bound: frozenset[str] = frozenset()) -> None:
        self.nest = nest
        self.operands = operands
        self.bound = bound
        self.domains = {d.name: d for d in nest.domains}

    # -- pieces --------------------------------------------------------------------
    def batch_size(self) -> str:
        return batch_size_code(self.nest, self.operands)

    def bound_code(self, value: int | str) -> str:
        if value == BATCH:
            return self.batch_size()
        return self.code(value, raw=True) if isinstance(value, str) else str(value)

    def loop(self, domain: Domain) -> str:
        start = self.bound_code(domain.start)
        stop = self.bound_code(domain.stop)
        span = stop if start == "0" else f"{start}, {stop}"
        return f"for {domain.name} in range({span}):"

    def element(self, read: Read) -> str:
        """``role[...]`` as an element access of its buffer (linearised when flat)."""
        operand = self.operands[read.role]
        indices = [self.code(i, raw=True) for i in read.indices]
        if operand.flat and len(indices) > 2:
            linear = indices[1]
            for size, index in zip(operand.shape[2:], indices[2:]):
                linear = f"{_atom(linear)} * {size} + {_atom(index)}"
            indices = [indices[0], linear]
        return f"{operand.ref}[{', '.join(indices)}]"

    def value(self, read: Read) -> str:
        """The float32 value of a read (zero outside its tensor)."""
        operand = self.operands[read.role]
        element = self.element(read)
        if operand.decode is not None:
            code = f"{operand.decode}({element})"
        elif operand.table is not None:
            code = f"{operand.table}[{element}]"
        elif operand.dtype != "float32":
            code = f"float32({element})"
        else:
            code = element
        checked = needs_bounds_check(read, operand, self.domains)
        if not checked:
            return code
        tests = [f"0 <= {self.code(read.indices[p], raw=True)} < {operand.shape[p]}" for p in checked]
        return f"({code} if {' and '.join(tests)} else float32(0.0))"

    def code(self, text: str, replace: dict[str, str] | None = None, raw: bool = False) -> str:
        """Scalar code for an expression: reads, scalars, float32 constants, functions.
        ``raw``: an index expression (reads stay as they are stored, constants ints)."""
        renderer = self

        class Scalar(ScalarExpr):
            """The statement language's scalar rendering, with reads as buffer elements."""

            def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
                text = ast.unparse(node)
                if replace and text in replace:
                    return ast.Name(replace[text], ast.Load())
                if node.value.id not in renderer.operands:
                    return node
                read = reads_in(text)[0]
                code = renderer.element(read) if raw else renderer.value(read)
                return ast.parse(code, mode="eval").body

            def visit_Name(self, node: ast.Name) -> ast.AST:
                operand = renderer.operands.get(node.id)
                return ast.Name(operand.ref if operand else node.id, ast.Load())

            def visit_Constant(self, node: ast.Constant) -> ast.AST:
                return node if raw else super().visit_Constant(node)

        return ast.unparse(Scalar({}).visit(ast.parse(text, mode="eval")))

    def guard_read(self) -> Read | None:
        return reads_in(self.nest.guard)[0] if self.nest.guard else None

    def loops(self, domains: list[Domain], body: list[str]) -> list[str]:
        for domain in reversed([d for d in domains if d.name not in self.bound]):
            body = [self.loop(domain), *["    " + line for line in body]]
        return body

    def accumulate(self, expression: str) -> str:
        return f"acc = max(acc, {expression})" if self.nest.combine == "max" else f"acc += {expression}"

    # -- gather ----------------------------------------------------------------------
    def element_body(self, init_zero: bool = False) -> list[str]:
        """Code for one output element (its domains bound): accumulate over the reduced
        domains, skipping where the guard is zero, and store. ``init_zero``: the output
        is known to hold zero (the first propagation into a layer's input)."""
        nest = self.nest
        output = self.element(reads_in(nest.output)[0])
        reduced = nest.reduced()
        guard = self.guard_read()
        if nest.combine == "assign" and guard is not None and all(d.stop == 1 for d in reduced):
            # where the guard is zero the output stays as it is (a clamp of touched weights)
            bind = [f"{d.name} = {self.bound_code(d.start)}" for d in reduced]
            return [*bind, f"g = {self.value(guard)}", "if g != 0:",
                    f"    {output} = {self.code(nest.expression, {guard.text: 'g'})}"]
        if not reduced:
            value = self.code(nest.expression)
            if nest.combine == "assign" or (init_zero and nest.combine == "add"):
                return [f"{output} = {value}"]
            if nest.combine == "add":
                return [f"{output} += {value}"]
            return [f"{output} = max({output}, {value})"]
        start = "float32(0.0)" if init_zero or nest.combine == "assign" else output
        if guard is not None:
            expression = self.code(nest.expression, {guard.text: "g"})
            inner = [f"g = {self.value(guard)}", "if g != 0:", f"    {self.accumulate(expression)}"]
        else:
            inner = [self.accumulate(self.code(nest.expression))]
        return [f"acc = {start}", *self.loops(reduced, inner), f"{output} = acc"]

    def gather(self, init_zero: bool = False) -> list[str]:
        return self.loops(self.nest.kept(), self.element_body(init_zero))

    def column_reduction(self) -> tuple[Domain, Domain] | None:
        """``(i, j)`` when the nest sums ``out[j]`` over ``i`` (no guard, no batch) and
        every read indexed by both has ``i`` first: the sum of a row-major matrix's
        columns (``colsum[j] = Σ_i |w[i, j]|``), which :meth:`gather_by_rows` walks
        along the rows."""
        nest = self.nest
        kept, reduced = nest.kept(), nest.reduced()
        if nest.guard or nest.combine not in ("add", "assign") or len(kept) != 1 or len(reduced) != 1:
            return None
        j, i = kept[0], reduced[0]
        if j.name in self.bound or i.name in self.bound or BATCH in (j.name, i.name):
            return None
        if reads_in(nest.output)[0].indices != (j.name,):
            return None
        for read in nest.reads():
            if read.role == nest.output_role:
                return None
            if i.name in read.indices and j.name in read.indices and \
                    read.indices != (i.name, j.name):
                return None
        return i, j

    def gather_by_rows(self) -> list[str]:
        """A column reduction (:meth:`column_reduction`) with the reduced domain outside:
        ``out[j]`` accumulates in place, row after row. Each ``out[j]`` adds the same
        terms in the same order as :meth:`gather` (bit-identical), reading the matrix
        contiguously instead of one strided element per row."""
        i, j = self.column_reduction()
        output = self.element(reads_in(self.nest.output)[0])
        start = [] if self.nest.combine == "add" else [self.loop(j), f"    {output} = float32(0.0)"]
        add = f"{output} += {self.code(self.nest.expression)}"
        return [*start, self.loop(i), f"    {self.loop(j)}", f"        {add}"]

    # -- scatter ---------------------------------------------------------------------
    def scatter(self, listed: dict[str, tuple[str, str]] | None = None, unswitch: bool = False) -> list[str]:
        """Guard-outer loops adding straight into the output (``add`` nests), or assigning
        it where the guard is non-zero (``assign`` nests without a reduction).
        ``listed``: guard domains visited through a list of the indices where the guard
        is non-zero, ``{domain: (indices array, count)}`` (:meth:`gather_list`).
        ``unswitch``: an expression ``where(nonzero(c[...]), a, e)`` whose ``c`` the
        inner loops walk (a clamped rule term's ``s_post``, mostly silent) is rendered
        twice: ``e`` alone where ``c`` is zero all along those loops (counted first), so
        that they vectorise without a branch per element; the whole where not."""
        nest = self.nest
        guard = self.guard_read()
        rest = [d for d in nest.domains if d.name not in guard.indices]
        quiet = self.quiet_form(rest) if unswitch else None
        body = self.scatter_loops(nest.expression, listed)
        if quiet is None:
            return body
        condition, otherwise = quiet
        walked = [self.domains[i] for i in condition.indices if i not in self.bound]
        return ["spiking_later = 0", *self.loops(walked, [f"spiking_later += {self.value(condition)} != 0"]),
                "if spiking_later == 0:", *["    " + line for line in self.scatter_loops(otherwise, listed)],
                "else:", *["    " + line for line in body]]

    def scatter_loops(self, expression: str, listed: dict[str, tuple[str, str]] | None) -> list[str]:
        """The loops of :meth:`scatter` storing ``expression``."""
        nest = self.nest
        guard = self.guard_read()
        outer = [self.domains[i] for i in guard.indices]
        rest = [d for d in nest.domains if d.name not in guard.indices]
        output = self.element(reads_in(nest.output)[0])
        expression = self.code(expression, {guard.text: "g"})
        store = f"{output} = {expression}" if nest.combine == "assign" else f"{output} += {expression}"
        body = [f"g = {self.value(guard)}", "if g != 0:", *["    " + line for line in self.loops(rest, [store])]]
        for domain in reversed([d for d in outer if d.name not in self.bound]):
            if listed and domain.name in listed:
                indices, count = listed[domain.name]
                body = [f"for n_{domain.name} in range({count}):",
                        f"    {domain.name} = {indices}[n_{domain.name}]", *["    " + line for line in body]]
            else:
                body = [self.loop(domain), *["    " + line for line in body]]
        return body

    def quiet_form(self, rest: list[Domain]) -> tuple[Read, str] | None:
        """``(c, e)`` when the expression is ``where(nonzero(c[...]), a, e)``, ``c`` a read
        of another buffer indexed by bound domains and at least one of ``rest`` (the
        domains the inner loops walk); else None."""
        node = ast.parse(self.nest.expression, mode="eval").body
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "where"
                and len(node.args) == 3):
            return None
        test = node.args[0]
        if not (isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id == "nonzero"
                and len(test.args) == 1 and isinstance(test.args[0], ast.Subscript)):
            return None
        condition = reads_in(ast.unparse(test.args[0]))[0]
        walked = {d.name for d in rest if d.name not in self.bound}
        if condition.role == self.nest.output_role or condition.role not in self.operands \
                or not all(i in self.bound or i in walked for i in condition.indices) \
                or not walked & set(condition.indices):
            return None
        return condition, ast.unparse(node.args[2])

    def spike_row(self, read: Read, domain: str) -> str | None:
        """``ref[<bound indices>, :stop]``, the 1-D row of 1-byte elements that ``read``
        walks along ``domain`` (its last index, from 0; the others bound), for
        :func:`~snnc.compiler.render.nonzero.list_nonzero`; None for any other read."""
        operand, extent = self.operands[read.role], self.domains[domain]
        if operand.dtype not in ONE_BYTE_DTYPES or operand.decode or operand.table or operand.scalar \
                or (operand.flat and len(read.indices) > 2) or read.indices[-1:] != (domain,) \
                or not all(index in self.bound for index in read.indices[:-1]) \
                or self.bound_code(extent.start) != "0" or extent.dependent \
                or needs_bounds_check(read, operand, self.domains):
            return None
        prefix = [self.code(index, raw=True) for index in read.indices[:-1]]
        return f"{operand.ref}[{', '.join([*prefix, ':' + self.bound_code(extent.stop)])}]"

    def gather_list(self, domain: str, indices: str, count: str) -> list[str]:
        """Collect the values of ``domain`` where the guard is non-zero (the other guard
        domains bound) into ``indices[:count]``, for :meth:`scatter`."""
        row = self.spike_row(self.guard_read(), domain)
        if row is not None:
            return [f"{count} = list_nonzero({row}, {indices})"]
        return [f"{count} = 0", self.loop(self.domains[domain]),      # branch-free, as in rows
                f"    {indices}[{count}] = {domain}",
                f"    {count} += {self.value(self.guard_read())} != 0"]

    def can_scatter(self) -> bool:
        """An ``add`` nest with a plain guard, unless its expression reads its own output
        while summing over domains (each sum must see the output from before the nest);
        or an ``assign`` nest without a reduction, whose guard says where it changes
        anything (a clamp of the rows a rule touched)."""
        guard = self.guard_read()
        reads_output = any(read.role == self.nest.output_role for read in self.nest.reads())
        assigns = self.nest.combine == "assign" and all(d.stop == 1 for d in self.nest.reduced())
        return ((self.nest.combine == "add" or assigns) and guard is not None
                and not (reads_output and any(d.stop != 1 for d in self.nest.reduced()))
                and guard.plain(set(self.domains)) and len(set(guard.indices)) == len(guard.indices))
