"""One eager step of snnc's own models, for user subclasses that write their own.

A subclass of ``Nodes`` with its own ``forward`` (or of ``AbstractConnection`` with
its own ``compute`` / ``update``) runs through its own Python code, as an opaque op.
When that code calls ``super().forward(x)``, ``super().compute(s)`` or
``super().update(...)``, it reaches these functions, which run the very definitions
the compiler renders for every backend (element statements, synapse nests) as torch
code generated once per model and options and cached.
"""
from __future__ import annotations

import torch

from snnc.compiler.elementwise import Symbol, render_torch
from snnc.compiler.emit.plan import dtype_name
from snnc.compiler.ops import CONNECTION_OPS, LAYER_OPS
from snnc.compiler.ops.base import trace_args, trace_statements
from snnc.compiler.ops.connection import ConnectionContext, build_operands, propagate_nests, weight_shape
from snnc.compiler.ops.learn_phase import ElementStage, FirstStep, learn_phase, learn_temps
from snnc.compiler.nest import BATCH, Operand
from snnc.compiler.render.nest_torch import render_nest_torch
from snnc.errors import SnncError
from snnc.ir.schema import OPS, RULE_SCHEMAS
from snnc.runtime.run_options import rule_input

_FUNCTIONS: dict[tuple, object] = {}


def _function(name: str, params: list[str], lines: list[str]):
    """``def name(*params): lines``, compiled once per distinct body."""
    key = (name, tuple(params), tuple(lines))
    function = _FUNCTIONS.get(key)
    if function is None:
        body = "\n".join("    " + line for line in lines) or "    pass"
        source = f"@torch.no_grad()\ndef {name}({', '.join(params)}):\n{body}\n"
        namespace = {"torch": torch}
        exec(compile(source, f"<snnc eager {name}>", "exec"), namespace)
        function = _FUNCTIONS[key] = namespace[name]
    return function


def _layer_attrs(layer) -> dict:
    return dict(op=layer.ir_op, shape=tuple(layer.shape), n=layer.n, learning=bool(layer.learning),
                params=layer.ir_params(), state=layer.ir_state(), options=layer.ir_options())


def layer_step(layer, x: torch.Tensor) -> None:
    """One step of ``layer``'s snnc model (a plain ``Nodes`` subclass: the shared end
    of every step, its traces and summed input) on input ``x`` ``[B, *shape]``: the
    model's own nests (Izhikevich's coupling), then its statements."""
    if layer.dt is None or layer.batch_size is None:
        raise SnncError(f"{type(layer).__name__}: add the layer to a network before stepping it")
    attrs = _layer_attrs(layer)
    op = LAYER_OPS.get(attrs["op"])
    schema = OPS.get(attrs["op"])
    if op is not None:
        statements, args = op.statements(attrs), op.bind(attrs, layer.dt)
        randoms, nests = op.random(attrs), op.nests(attrs)
    else:
        statements, args, randoms, nests = trace_statements(attrs), trace_args(attrs, layer.dt), {}, []
    shared = schema.shared_state if schema else ()
    windows = schema.window_state if schema else ()
    kernels = schema.kernel_params if schema else ()
    batch = layer.s.shape[0]
    symbols: dict[str, Symbol] = {"I": Symbol("local", "I")}
    given = x.reshape(batch, -1)
    values: dict[str, object] = {"I": given if attrs["op"] == "input" else given.float(), "t": 0}
    if nests:                                        # they add into I: never into the caller's x
        values["I"] = values["I"].clone()
    for var, tensor in attrs["state"].items():
        window = tensor.shape[1] if var in windows else 0
        symbols[var] = Symbol("state", f"state_{var}", shared=var in shared, window=window)
        values[f"state_{var}"] = tensor.view(-1) if var in shared else \
            tensor.view(batch, window, -1) if window else tensor.view(batch, -1)
    for var, value in args.items():
        symbols[var] = Symbol("arg", f"arg_{var}", per_neuron=value.dim() == 1 and var not in kernels)
        values[f"arg_{var}"] = value.to(layer.s.device)
    for var, per in randoms.items():
        symbols[var] = Symbol("random", f"random_{var}", per_neuron=per == "neuron")
        shape = (1, batch, layer.n) if per == "neuron" else (1, batch)
        values[f"random_{var}"] = torch.rand(shape, device=layer.s.device)
    lines: list[str] = []
    if nests:
        operands = {"I": Operand("I", (BATCH, layer.n), flat=True),
                    "s": Operand("state_s", (BATCH, layer.n), flat=True, dtype=dtype_name(layer.s.dtype))}
        operands.update({var: Operand(f"arg_{var}", tuple(value.shape), scalar=value.dim() == 0)
                         for var, value in args.items()})
        lines = [line for nest in nests for line in render_nest_torch(nest, operands)]
    lines += render_torch(statements, symbols)
    _function(f"step_{attrs['op'] or 'nodes'}", list(values), lines)(**values)


def _context(attrs: dict, source, target, batch: int, dt) -> ConnectionContext:
    def end(layer) -> dict:
        return dict(shape=tuple(layer.shape), n=layer.n, state=layer.ir_state())   # compute(s): no window

    return ConnectionContext(("source", "target"), attrs, end(source), end(target), "torch", batch, True,
                             float(dt or 1.0))


def _connection_context(connection, batch: int) -> ConnectionContext:
    attrs = dict(op=connection.ir_op, params=connection.ir_params(), options=connection.ir_options())
    return _context(attrs, connection.source, connection.target, batch, connection.dt)


def _operands(ctx: ConnectionContext, ends: dict[str, torch.Tensor], args: dict[str, torch.Tensor]):
    op = CONNECTION_OPS[ctx.attrs["op"]]
    synapses = op.synapse_map(ctx)
    operands = build_operands(
        synapses, {role: (role, dtype_name(t.dtype)) for role, t in ends.items()},
        [(var, var, dtype_name(v.dtype), tuple(v.shape)) for var, v in args.items()],
        weight_shape(ctx))
    return synapses, operands


def connection_compute(connection, spikes: torch.Tensor) -> torch.Tensor:
    """The connection's output ``[B, *target.shape]`` for source spikes ``spikes``."""
    batch = spikes.shape[0]
    ctx = _connection_context(connection, batch)
    args = CONNECTION_OPS[ctx.attrs["op"]].bind(ctx)
    out = torch.zeros(batch, connection.target.n, device=spikes.device)
    ends = {"s_pre": spikes.reshape(batch, -1), "I_post": out}
    synapses, operands = _operands(ctx, ends, args)
    lines = [line for nest in propagate_nests(ctx, synapses) for line in render_nest_torch(nest, operands)]
    _function(f"compute_{ctx.attrs['op']}", list(ends) + list(args), lines)(**ends, **args)
    return out.view(batch, *connection.target.shape)


def connection_update(connection, learning: bool = True, **kwargs) -> None:
    """One step of the connection's learning rule (its nests and element stages; a
    reward-modulated rule reads ``reward``, ``a_plus``, ``a_minus`` from ``kwargs``),
    weight decay and clamp (spec 6.0)."""
    if not learning or connection.ir_op not in CONNECTION_OPS:
        return                               # a user's own connection type: its own update
    source = connection.source
    ctx = _connection_context(connection, source.s.shape[0])
    rule_update(ctx, connection.update_rule, source, connection.target, connection.describe(), kwargs)


def rule_update(ctx: ConnectionContext, rule, source, target, owner: str, kwargs: dict,
                sample: slice | None = None) -> None:
    """One eager step of ``rule`` on the weights in ``ctx`` (its terms, then the weight
    decay and clamp ``ctx``'s params ask for), rendered from the rule's definition;
    ``sample``: only these samples' spikes, traces and state."""
    batch = source.s.shape[0]
    pick = (lambda t: t) if sample is None else (lambda t: t[sample])
    args = CONNECTION_OPS[ctx.attrs["op"]].bind(ctx)
    args.update({var: torch.zeros(shape, device=source.s.device) for var, shape in learn_temps(ctx).items()})
    for var in (RULE_SCHEMAS[rule.ir_name].reads if rule.ir_name else ()):
        args[var] = pick(rule_input(owner, var, kwargs, batch).to(source.s.device))
    ends = {"s_pre": pick(source.s.view(batch, -1)), "s_post": pick(target.s.view(batch, -1))}
    for role, layer in (("x_pre", source), ("x_post", target)):
        if getattr(layer, "traces", False):
            ends[role] = pick(layer.x.view(batch, -1))
    if hasattr(target, "s_prob"):
        ends["s_prob_post"] = pick(target.s_prob.view(batch, -1))
    shape = weight_shape(ctx)                      # as the synapse map indexes w
    states = {var: pick(value.view(value.shape[0], *shape) if rule.state_kinds[var] == "synapse" else value)
              for var, value in (rule.ir_state() if rule.state_kinds else {}).items()}
    synapses = CONNECTION_OPS[ctx.attrs["op"]].synapse_map(ctx)
    operands = build_operands(
        synapses, {role: (role, dtype_name(t.dtype)) for role, t in ends.items()},
        [(var, var, dtype_name(v.dtype), tuple(v.shape)) for var, v in args.items()],
        shape, {var: (var, "float32", kind) for var, kind in rule.state_kinds.items()})
    lines: list[str] = []
    for item in learn_phase(ctx, synapses):
        if isinstance(item, FirstStep):              # one eager step: the whole clamp
            lines += [line for nest in item.first for line in render_nest_torch(nest, operands)]
        elif isinstance(item, ElementStage):
            side = f"s_{item.side}"
            symbols = {side: Symbol("state", side)}
            symbols.update({var: Symbol("state", var) for var, kind in rule.state_kinds.items()
                            if kind == item.side})
            symbols.update({var: Symbol("arg", var) for var, value in args.items() if value.dim() == 0})
            lines += render_torch(list(item.statements), symbols)
        else:
            lines += render_nest_torch(item, operands)
    values = {**ends, **args, **states}
    _function(f"update_{ctx.attrs['op']}", list(values), lines)(**values)
