"""The buffer plan every backend shares: argument names, roles, shapes and dtypes.

The generated entry point is ``run(start, stop, steps, *buffers)``: it simulates
steps ``start .. stop-1`` of a run of ``steps`` (the end-of-run work happens when
``stop == steps``). The runtime allocates or binds each buffer from its
:class:`BufferSpec` and passes them in this order.
Shapes are symbolic: ``"B"`` is the batch size, ``"R"`` a monitor's rows
(``min(steps, time)``), ``"T"`` the number of steps of the run.
"""
from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass, field

import networkx as nx
import torch

from snnc.compiler.elementwise import Symbol
from snnc.compiler.ops import CONNECTION_OPS, LAYER_OPS
from snnc.compiler.ops.connection import context, rule_state_kinds, run_values, weight_shape
from snnc.compiler.ops.learn_phase import learn_temps
from snnc.compiler.ops.opaque import is_opaque
from snnc.compiler.order import connections_in_order, layers_in_order
from snnc.ir.schema import OPS, RULE_SCHEMAS

Key = str | tuple[str, str]


@dataclass(frozen=True)
class BufferSpec:
    """One argument of the generated ``run``.

    ``role``: ``arg`` (a parameter or a value derived from parameters and dt),
    ``object`` (an opaque op's own Python object),
    ``state`` (a layer's or connection's state, ``[B, n]``, or ``[n]`` when shared by
    the batch, updated in place), ``temp`` (a connection's end-of-run temporary),
    ``input`` (a run input ``[T, B, n]``), ``random`` (uniform numbers the runtime
    draws for the run, ``[T, B]`` or ``[T, B, n]``), ``mask`` (a ``Network.run`` mask given
    for this run: a layer's ``clamp`` / ``unclamp`` / ``inject_v``, ``[T, n]`` or ``[1, n]``;
    a connection's weight ``mask``, shaped as ``w``), ``run`` (a value of this run call a
    learning rule reads: ``reward`` ``[B]``, ``a_plus`` / ``a_minus`` scalars), ``scratch`` (a layer's synaptic input
    ``[B, n]``), ``monitor`` (steps of ``recorded``'s ``var``, ``[R, ...]``; its
    owner is the monitor's name).
    """

    name: str
    role: str
    owner: Key | None
    var: str
    dtype: str
    shape: tuple
    time: int | None = None
    recorded: Key | None = None


@dataclass
class BufferPlan:
    """Argument names per owner, the ordered list of buffers, and the argument values
    computed while planning (the first run after a compilation binds those instead of
    converting the weights again)."""

    prefixes: dict[Key, str] = field(default_factory=dict)
    buffers: list[BufferSpec] = field(default_factory=list)
    values: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)
    kernels: set[str] = field(default_factory=set)      # arguments that are vectors over a window

    def name(self, owner: Key, var: str) -> str:
        return f"{self.prefixes[owner]}_{var}"

    def find(self, owner: Key, var: str, role: str | None = None) -> BufferSpec | None:
        for spec in self.buffers:
            if spec.owner == owner and spec.var == var and (role is None or spec.role == role):
                return spec
        return None

    def layer_symbols(self, layer: str) -> dict[str, Symbol]:
        """How the names of a layer's element statements map to buffers."""
        symbols = {"I": Symbol("local", "I")}
        for spec in self.buffers:
            if spec.owner != layer:
                continue
            if spec.role == "state":
                symbols[spec.var] = Symbol("state", spec.name, shared=len(spec.shape) == 1,
                                           window=spec.shape[1] if len(spec.shape) == 3 else 0,
                                           integral=spec.dtype in INTEGRAL_DTYPES)
            elif spec.role == "arg":
                symbols[spec.var] = Symbol("arg", spec.name,
                                           per_neuron=len(spec.shape) == 1 and spec.name not in self.kernels)
            elif spec.role == "random":
                symbols[spec.var] = Symbol("random", spec.name, per_neuron=len(spec.shape) == 3)
            elif spec.role == "mask":
                symbols[spec.var] = Symbol("step", spec.name, per_step=spec.shape[0] == "T")
        return symbols


def _identifier(text: str) -> str:
    ident = re.sub(r"\W", "_", text)
    if not ident or ident[0].isdigit() or keyword.iskeyword(ident):
        ident = f"L_{ident}"
    return ident


def _prefixes(ir: nx.DiGraph) -> dict[Key, str]:
    prefixes: dict[Key, str] = {}
    taken = {"steps", "t", "I", "torch", "np", "run"}
    owners: list[tuple[Key, str]] = [(name, _identifier(name)) for name in layers_in_order(ir)]
    owners += [(edge, _identifier(f"{edge[0]}_to_{edge[1]}")) for edge in connections_in_order(ir)]
    owners += [(f"monitor:{spec.name}", _identifier(f"mon_{spec.name}")) for spec in ir.graph["monitors"]]
    for owner, base in owners:
        prefix, k = base, 1
        while prefix in taken:
            prefix, k = f"{base}_{k}", k + 1
        taken.add(prefix)
        prefixes[owner] = prefix
    return prefixes


INTEGRAL_DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64")


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def build_plan(ir: nx.DiGraph, backend: str) -> BufferPlan:
    """Name and shape every buffer the generated code reads or writes."""
    plan = BufferPlan(prefixes=_prefixes(ir))
    add = plan.buffers.append
    dt = ir.graph["dt"]
    for layer in layers_in_order(ir):
        attrs = ir.nodes[layer]
        op = LAYER_OPS[attrs["op"]]
        n = attrs["n"]
        external = ir.graph["inputs"].get(layer)
        synaptic = ir.in_degree(layer) > 0
        if is_opaque(attrs):
            add(BufferSpec(plan.name(layer, "module"), "object", layer, "module", "object", ()))
        schema = OPS[attrs["op"]]
        for var, value in op.bind(attrs, dt).items():
            add(BufferSpec(plan.name(layer, var), "arg", layer, var, dtype_name(value.dtype),
                           tuple(value.shape)))
            plan.values[plan.name(layer, var)] = value
            if var in schema.kernel_params:
                plan.kernels.add(plan.name(layer, var))
        for var, value in attrs["state"].items():
            dtype = op.spike_dtype(attrs, external, synaptic) if var == "s" else value.dtype
            batch_less = var in schema.shared_state or (is_opaque(attrs) and value.dim() == len(attrs["shape"]))
            if batch_less:
                shape = (n,)
            elif var in schema.window_state:
                shape = ("B", value.shape[1], n)
            else:           # an opaque layer's state is read back as [B, -1]
                shape = ("B", math.prod(value.shape[1:]) if is_opaque(attrs) else n)
            add(BufferSpec(plan.name(layer, var), "state", layer, var, dtype_name(dtype), shape))
        for var, per in op.random(attrs).items():
            shape = ("T", "B", n) if per == "neuron" else ("T", "B")
            add(BufferSpec(plan.name(layer, var), "random", layer, var, "float32", shape))
        for var, per_step in attrs.get("run", {}).items():
            add(BufferSpec(plan.name(layer, var), "mask", layer, var,
                           "float32" if var == "inject_v" else "bool", ("T" if per_step else 1, n)))
        if external is not None:
            add(BufferSpec(plan.name(layer, "in"), "input", layer, "in", external, ("T", "B", n)))
        if synaptic or external is None or op.nests(attrs):
            add(BufferSpec(plan.name(layer, "I"), "scratch", layer, "I", "float32", ("B", n)))
    for edge in connections_in_order(ir):
        if is_opaque(ir.edges[edge]):
            add(BufferSpec(plan.name(edge, "module"), "object", edge, "module", "object", ()))
            if ir.edges[edge].get("run", {}).get("mask"):     # handed to its own update(mask=...)
                shape = tuple(ir.edges[edge]["module"].w.shape)
                add(BufferSpec(plan.name(edge, "mask"), "mask", edge, "mask", "bool", shape))
            rule = getattr(getattr(ir.edges[edge]["module"], "update_rule", None), "ir_name", None)
            if rule is not None and ir.graph["learning"]:     # and update(reward=..., ...)
                for var in RULE_SCHEMAS[rule].reads:
                    add(BufferSpec(plan.name(edge, var), "run", edge, var, "float32", ("B",) if var == "reward" else ()))
            continue
        ctx = context(ir, edge, backend)
        op = CONNECTION_OPS[ctx.attrs["op"]]
        for var, value in op.bind(ctx).items():
            add(BufferSpec(plan.name(edge, var), "arg", edge, var, dtype_name(value.dtype),
                           tuple(value.shape)))
            plan.values[plan.name(edge, var)] = value
        for var, shape in op.random(ctx).items():
            add(BufferSpec(plan.name(edge, var), "random", edge, var, "float32", shape))
        kinds = rule_state_kinds(ctx.attrs)
        for var, value in ctx.attrs["state"].items():        # per-sample connection state
            shape = {"pre": (ctx.source["n"],), "post": (ctx.target["n"],),
                     "synapse": weight_shape(ctx)}.get(kinds.get(var), tuple(value.shape[1:]))
            add(BufferSpec(plan.name(edge, var), "state", edge, var, dtype_name(value.dtype), ("B", *shape)))
        for var, shape in {**op.temps(ctx), **learn_temps(ctx)}.items():
            add(BufferSpec(plan.name(edge, var), "temp", edge, var, "float32", tuple(shape)))
        if ctx.attrs.get("run", {}).get("mask"):
            add(BufferSpec(plan.name(edge, "mask"), "mask", edge, "mask", "bool", weight_shape(ctx)))
        for var, shape in run_values(ir, edge).items():
            add(BufferSpec(plan.name(edge, var), "run", edge, var, "float32", shape))
    for spec in ir.graph["monitors"]:
        for var in spec.state_vars:
            recorded = plan.find(spec.target, var, "state") or plan.find(spec.target, var, "arg")
            add(BufferSpec(plan.name(f"monitor:{spec.name}", var), "monitor", spec.name, var,
                           recorded.dtype, ("R", *recorded.shape), time=spec.time,
                           recorded=spec.target))
    return plan
