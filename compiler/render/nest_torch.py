"""The generic torch rendering of a nest: whole-tensor code, the reference.

Each indexed read becomes a tensor over the domains it uses: a view of the buffer
when its indices are bare domains, else a gather with broadcast ``arange`` indices
(out-of-range positions read as zero). A product of reads (and scalars) with a sum
reduction becomes one ``torch.einsum``, so a dense propagation is a matrix product
and a convolution an ``im2col`` product; any other expression is evaluated on the
broadcast domain grid and reduced with ``sum`` / ``amax``. Every read is float32.
"""
from __future__ import annotations

import ast
import string

from snnc.compiler.elementwise import TorchExpr
from snnc.compiler.nest import (BATCH, Domain, Nest, Operand, Read, batch_size_code,
                                needs_bounds_check, product_factors, reads_in, substitute)

class TorchNestRenderer:
    """Render one nest as torch statements (``device`` and batch size from its buffers)."""

    def __init__(self, nest: Nest, operands: dict[str, Operand]) -> None:
        self.nest = nest
        self.operands = operands
        self.domains = {d.name: d for d in nest.domains}
        self.order = [d.name for d in nest.domains]
        self.lines: list[str] = []
        self.temps = 0
        for domain in nest.domains:
            if domain.dependent:
                raise ValueError(f"nest {nest.label}: torch renders no dependent domain ({domain.name})")

    # -- sizes and views -----------------------------------------------------------
    def batch_size(self) -> str:
        return batch_size_code(self.nest, self.operands)

    def extent(self, domain: Domain) -> str:
        return self.batch_size() if domain.stop == BATCH else str(domain.stop)

    def logical(self, role: str, as_float: bool = True) -> str:
        """The buffer viewed in its logical shape (as float32 for reading)."""
        operand = self.operands[role]
        code = operand.ref
        if operand.flat and len(operand.shape) > 2:
            sizes = [f"{code}.shape[0]" if s == BATCH else str(s) for s in operand.shape]
            code = f"{code}.view({', '.join(sizes)})"
        if as_float and (operand.table is not None or operand.dtype != "float32"):
            code = f"{code}.float()"
        return code

    def temp(self, code: str) -> str:
        name = f"g{self.temps}"
        self.temps += 1
        self.lines.append(f"{name} = {code}")
        return name

    # -- reads ---------------------------------------------------------------------
    def gather(self, read: Read) -> tuple[str, list[str]]:
        """Code for ``read`` as a tensor, and the domain of each of its axes."""
        operand = self.operands[read.role]
        if read.plain(set(self.domains)) and len(set(read.indices)) == len(read.indices) \
                and not needs_bounds_check(read, operand, self.domains):
            return self.logical(read.role), list(read.indices)
        used = [name for name in self.order if any(name in _names(i) for i in read.indices)]
        grid = {}
        for axis, name in enumerate(used):
            view = ["1"] * len(used)
            view[axis] = "-1"
            device = f"{self.operands[self.nest.output_role].ref}.device"
            grid[name] = (f"torch.arange({self.extent(self.domains[name])}, device={device})"
                          f".view({', '.join(view)})")
        source = self.temp(self.logical(read.role))
        checked = needs_bounds_check(read, operand, self.domains)
        indices, valid = [], []
        for position, index in enumerate(read.indices):
            refs = {role: operand.ref for role, operand in self.operands.items()}
            code = self.temp(substitute(index, {**refs, **grid})) if index not in grid else grid[index]
            if position in checked:
                size = operand.shape[position]
                valid.append(f"({code} >= 0) & ({code} < {size})")
                code = f"{code}.clamp(0, {size - 1})"
            indices.append(code)
        value = f"{source}[{', '.join(indices)}]"
        if valid:
            value = f"torch.where({' & '.join(valid)}, {value}, 0.0)"
        return self.temp(value), used

    def aligned(self, code: str, dims: list[str]) -> str:
        """``code`` with axes permuted to domain order and size-1 axes for the others."""
        ordered = sorted(dims, key=self.order.index)
        if ordered != dims:
            code = f"{code}.permute({', '.join(str(dims.index(d)) for d in ordered)})"
        index = [":" if name in dims else "None" for name in self.order]
        if all(i == ":" for i in index):
            return code
        return f"{code}[{', '.join(index)}]"

    # -- whole nest ----------------------------------------------------------------
    def render(self) -> list[str]:
        nest = self.nest
        out_read = reads_in(nest.output)[0]
        kept, scattered = self.output_domains(out_read)
        reduced = [d.name for d in nest.reduced()]
        factors = product_factors(nest.expression) if nest.combine != "max" else None
        if factors is not None and reduced:
            value = self.einsum(factors, kept)
        else:
            value = self.broadcast(kept, reduced)
        target = self.logical(nest.output_role, as_float=False)   # written in place
        if scattered is not None:           # out[..., index[d], ...] += value: an indexed add
            position, index = scattered
            self.lines.append(f"{target}.index_add_({position}, {index}, {value})")
        elif nest.combine == "add":
            self.lines.append(f"{target}.add_({value})")
        elif nest.combine == "assign":
            constant = isinstance(ast.parse(value, mode="eval").body, ast.Constant)
            self.lines.append(f"{target}.fill_({value})" if constant else f"{target}.copy_({value})")
        else:
            self.lines.append(f"torch.maximum({target}, {value}, out={target})")
        return self.lines

    def output_domains(self, out_read: Read) -> tuple[list[str], tuple[int, str] | None]:
        """The domain of each output axis; an axis indexed through an index array
        (``I_post[b, cols[e]]``, an ``add`` nest) is scattered: ``(axis, index buffer)``."""
        kept, scattered = [], None
        for position, index in enumerate(out_read.indices):
            if index in self.domains:
                kept.append(index)
                continue
            inner = reads_in(index)
            if scattered is not None or self.nest.combine != "add" or len(inner) != 1 \
                    or len(inner[0].indices) != 1 or inner[0].indices[0] not in self.domains:
                raise ValueError(f"nest {self.nest.label}: torch writes an output indexed through at "
                                 f"most one index array, in an add nest (got {out_read.text})")
            kept.append(inner[0].indices[0])
            scattered = (position, self.operands[inner[0].role].ref)
        return kept, scattered

    def einsum(self, factors: list[ast.AST], kept: list[str]) -> str:
        letters = {name: string.ascii_letters[k] for k, name in enumerate(self.order)}
        tensors, subscripts, scalars = [], [], []
        for factor in factors:
            if isinstance(factor, ast.Subscript):
                code, dims = self.gather(reads_in(ast.unparse(factor))[0])
                tensors.append(code)
                subscripts.append("".join(letters[d] for d in dims))
            else:
                scalars.append(self.scalar(factor))
        present = [d for d in kept if any(letters[d] in sub for sub in subscripts)]
        formula = f"{','.join(subscripts)}->{''.join(letters[d] for d in present)}"
        product = f"torch.einsum({formula!r}, {', '.join(tensors)})"
        if present != kept:         # an output domain no factor reads (a value shared by it)
            product = f"{product}[{', '.join(':' if d in present else 'None' for d in kept)}]"
        return " * ".join(scalars + [product])

    def scalar(self, node: ast.AST) -> str:
        if isinstance(node, ast.Name):
            return self.operands[node.id].ref
        return repr(float(node.value))

    def broadcast(self, kept: list[str], reduced: list[str]) -> str:
        renderer = self

        class ToTorch(TorchExpr):
            """The statement language's torch rendering, with reads gathered and aligned."""

            def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
                code, dims = renderer.gather(reads_in(ast.unparse(node))[0])
                return ast.parse(renderer.aligned(code, dims), mode="eval").body

            def visit_Name(self, node: ast.Name) -> ast.AST:
                if node.id in renderer.domains and node.id not in renderer.operands:   # an index's value
                    device = f"{renderer.operands[renderer.nest.output_role].ref}.device"
                    extent = renderer.extent(renderer.domains[node.id])
                    code = renderer.aligned(f"torch.arange({extent}, device={device})", [node.id])
                    return ast.parse(code, mode="eval").body
                operand = renderer.operands.get(node.id)
                return ast.Name(operand.ref if operand else node.id, ast.Load())

        value = ast.unparse(ToTorch({}).visit(ast.parse(self.nest.expression, mode="eval")))
        if reduced:
            reduce = "amax" if self.nest.combine == "max" else "sum"
            dims = ", ".join(str(self.order.index(d)) for d in reduced)
            value = f"({value}).{reduce}(dim=({dims},))"
        remaining = [d for d in self.order if d not in reduced]
        if remaining != kept and len(remaining) == len(kept):
            value = f"({value}).permute({', '.join(str(remaining.index(d)) for d in kept)})"
        return value


def _names(text: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(text, mode="eval")) if isinstance(n, ast.Name)}


def render_nest_torch(nest: Nest, operands: dict[str, Operand]) -> list[str]:
    """Torch statements performing ``nest`` on whole tensors."""
    return TorchNestRenderer(nest, operands).render()
