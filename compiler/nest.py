"""Synaptic loop nests: per-synapse work described once, rendered by every backend.

A :class:`Nest` is a small declarative record (the idea of GeNN's snippets and of
Halide's algorithm-apart-from-schedule, at the scale of our ops):

* ``domains`` – named index ranges, ``b < B``, ``i < 100``, ``e in [indptr[i], indptr[i+1])``;
* ``output`` – the element written, e.g. ``I_post[b, j]``;
* ``combine`` – ``add`` (``out += Σ expr``), ``max`` (``out = max(out, max expr)``) or
  ``assign`` (``out = Σ expr``; without reduced domains, plain assignment);
* ``expression`` – the statement language of :mod:`snnc.compiler.elementwise` over
  indexed reads, e.g. ``s_pre[b, i] * w[i, j]``;
* ``guard`` (optional) – a read that is usually zero and makes the expression zero:
  a renderer may skip the work where it is zero (event-driven propagation). On an
  ``assign`` nest without reduced domains it says where the assignment changes
  anything (a clamp of the weights this step's rule touched).

A domain that does not index the output is **reduced** with the combine's reduction
(sum, or max), so summing over sources, BindsNET's batch sum in learning and a
convolution kernel shared across positions need no special code. A read whose index
falls outside its tensor (padding) reads as zero.

Names in a nest are *roles* (``s_pre``, ``w``, ``I_post``, ``nu0``); an
:class:`Operand` per role says which generated buffer it is and how it is laid out.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Literal

from snnc.compiler.elementwise import FUNCTIONS

BATCH = "B"


@dataclass(frozen=True)
class Domain:
    """An index range ``start <= name < stop``; bounds are ints, ``"B"`` (the batch
    size) or code over enclosing domains (``w_indptr[i + 1]``)."""

    name: str
    stop: int | str
    start: int | str = 0

    @property
    def dependent(self) -> bool:
        return isinstance(self.start, str) or (isinstance(self.stop, str) and self.stop != BATCH)


@dataclass(frozen=True)
class Operand:
    """How a role is stored.

    ``ref``: the generated buffer name; ``shape``: the logical shape indexed by the nest
    (``"B"`` for the batch dimension); ``flat``: the buffer is ``[B, n]`` and the logical
    dimensions after the batch are linearised; ``table``: 16-bit storage, ``ref`` holds
    bit patterns decoded by this float32 table; ``decode``: 16-bit storage read through
    this scalar function instead (numba's CPU target); ``scalar``: a 0-d argument, used
    without indices; ``dtype``: the buffer's dtype name (reads are float32 in every backend).
    """

    ref: str
    shape: tuple = ()
    flat: bool = False
    table: str | None = None
    scalar: bool = False
    dtype: str = "float32"
    decode: str | None = None


@dataclass(frozen=True)
class Nest:
    """Per-synapse work: ``output combine= reduce(expression)`` over ``domains``."""

    label: str
    domains: tuple[Domain, ...]
    output: str
    expression: str
    combine: Literal["add", "max", "assign"] = "add"
    guard: str | None = None

    def __post_init__(self) -> None:
        if self.combine not in ("add", "max", "assign"):
            raise ValueError(f"nest {self.label}: unknown combine {self.combine!r}")

    @property
    def output_role(self) -> str:
        return read_of(self.output).role

    def output_indices(self) -> tuple[str, ...]:
        return read_of(self.output).indices

    def reduced(self) -> list[Domain]:
        """The domains that do not index the output (reduced by the combine)."""
        used = _names_in(", ".join(self.output_indices()))
        return [d for d in self.domains if d.name not in used]

    def kept(self) -> list[Domain]:
        used = _names_in(", ".join(self.output_indices()))
        return [d for d in self.domains if d.name in used]

    def domain(self, name: str) -> Domain:
        return next(d for d in self.domains if d.name == name)

    def reads(self) -> list["Read"]:
        """Every indexed read of the expression and guard, in source order, deduplicated."""
        seen, result = set(), []
        for text in (self.expression, self.guard or ""):
            for read in reads_in(text):
                if read.text not in seen:
                    seen.add(read.text)
                    result.append(read)
        return result

    def roles(self) -> list[str]:
        """Every role the nest touches: output, indexed reads, scalars, index arrays."""
        names: list[str] = []
        texts = [self.output, self.expression, self.guard or ""]
        texts += [str(b) for d in self.domains for b in (d.start, d.stop) if isinstance(b, str)]
        for text in texts:
            for name in _names_in(text):
                if name not in names:
                    names.append(name)
        domain_names = {d.name for d in self.domains}
        return [n for n in names if n not in domain_names and n not in FUNCTIONS and n != BATCH]


@dataclass(frozen=True)
class Read:
    """``role[indices]`` as written in a nest."""

    text: str
    role: str
    indices: tuple[str, ...] = field(default=())

    def plain(self, domains: set[str]) -> bool:
        """Every index is a bare domain name (no arithmetic, no indirection)."""
        return all(index in domains for index in self.indices)


def batch_size_code(nest: Nest, operands: dict[str, Operand]) -> str:
    """Code for the batch size: the first dimension of a batch-shaped operand."""
    for role in nest.roles():
        operand = operands[role]
        if operand.shape and operand.shape[0] == BATCH:
            return f"{operand.ref}.shape[0]"
    raise ValueError(f"nest {nest.label}: no operand carries the batch size")


def _names_in(text: str) -> list[str]:
    if not text.strip():
        return []
    tree = ast.parse(text, mode="eval")
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in names:
            names.append(node.id)
    return names


def read_of(text: str) -> Read:
    node = ast.parse(text, mode="eval").body
    if not isinstance(node, ast.Subscript) or not isinstance(node.value, ast.Name):
        raise ValueError(f"expected an indexed read like 'x[b, i]', got {text!r}")
    return _read(node)


def _read(node: ast.Subscript) -> Read:
    index = node.slice
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    return Read(ast.unparse(node), node.value.id, tuple(ast.unparse(p) for p in parts))


def reads_in(text: str) -> list[Read]:
    """Indexed reads in an expression, outermost first (index arrays inside indices too)."""
    if not text:
        return []
    reads = []
    for node in ast.walk(ast.parse(text, mode="eval")):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            reads.append(_read(node))
    return reads


def substitute(text: str, mapping: dict[str, str]) -> str:
    """``text`` with every bare name in ``mapping`` replaced by its code."""
    class Swap(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in mapping:
                return ast.parse(mapping[node.id], mode="eval").body
            return node

    return ast.unparse(Swap().visit(ast.parse(text, mode="eval")))


def product_factors(text: str) -> list[ast.AST] | None:
    """The factors of an expression that is a product (with optional unary minus) of
    reads, names and constants; None for any other expression."""
    factors: list[ast.AST] = []

    def walk(node: ast.AST) -> bool:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            return walk(node.left) and walk(node.right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            factors.append(ast.Constant(-1.0))
            return walk(node.operand)
        if isinstance(node, (ast.Subscript, ast.Name, ast.Constant)):
            factors.append(node)
            return True
        return False

    return factors if walk(ast.parse(text, mode="eval").body) else None


def index_range(text: str, domains: dict[str, Domain]) -> tuple[int, int] | None:
    """The smallest and largest value an index expression takes over int-bounded
    domains (``+``, ``-``, ``*`` by constants), or None when it cannot tell."""
    def walk(node: ast.AST) -> tuple[int, int] | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value, node.value
        if isinstance(node, ast.Name):
            domain = domains.get(node.id)
            if domain is None or not isinstance(domain.stop, int) or not isinstance(domain.start, int):
                return None
            return domain.start, domain.stop - 1
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = walk(node.operand)
            return None if inner is None else (-inner[1], -inner[0])
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            left, right = walk(node.left), walk(node.right)
            if left is None or right is None:
                return None
            if isinstance(node.op, ast.Add):
                return left[0] + right[0], left[1] + right[1]
            if isinstance(node.op, ast.Sub):
                return left[0] - right[1], left[1] - right[0]
            products = [a * b for a in left for b in right]
            return min(products), max(products)
        return None

    return walk(ast.parse(text, mode="eval").body)


def needs_bounds_check(read: Read, operand: Operand, domains: dict[str, Domain]) -> list[int]:
    """Positions of ``read``'s indices that may fall outside ``operand``'s shape (an
    index read from an index array, or a domain bounded by one, as in CSR, is trusted:
    the storage built them in range)."""
    positions = []
    for position, index in enumerate(read.indices):
        size = operand.shape[position]
        if reads_in(index) or (index in domains and domains[index].dependent):
            continue
        if index in domains and (size == BATCH or domains[index].stop == size):
            continue
        bounds = index_range(index, domains)
        if bounds is None or not isinstance(size, int) or bounds[0] < 0 or bounds[1] >= size:
            positions.append(position)
    return positions
