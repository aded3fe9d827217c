"""The connection-op contract: a connection type is a synapse map, written once.

A connection op (``dense``, ``conv2d``, …) supplies:

* a :class:`SynapseMap`: its domains and how the pre index, the post index, the
  weight index and the bias index relate;
* ``bind``: its arguments from its parameters (weights in the chosen storage);
* ``normalize``: its end-of-run normalisation as nests (``None`` if it has none);
* optionally ``fast_paths``: hand-written renderings per backend, each checked
  against the generic rendering by a test.

Everything else is derived here, the same for every type, as nests over the roles
``s_pre``/``x_pre`` (source spikes and trace), ``s_post``/``x_post``, ``I_post``
(the target's input this step), ``w``, ``bias`` and the bound arguments:

* **propagate** (every step): ``I_post[post] += s_pre[pre] * w[weight]``, guard
  ``s_pre``; then ``I_post[post] += bias[...]``;
* **learn** (every step while the network learns): the learning rule's per-synapse
  terms (:mod:`snnc.compiler.ops.rules`), then ``w *= 1 - weight_decay``, then the
  clamp to ``[wmin, wmax]`` (with a rule and a finite bound), in :mod:`.learn_phase`;
* **normalize** (end of each run): the type's own nests.

:func:`learns`, :func:`normalizes` and :func:`weights_change` are the one place that
answers "does this connection change its weights"; ``schedule``, the cost model and
``loop_nest`` ask them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import networkx as nx
import torch

from snnc.compiler.nest import BATCH, Domain, Nest, Operand, substitute
from snnc.compiler.ops.csrm import windowed
from snnc.compiler.ops.opaque import calls_normalize, is_opaque
from snnc.compiler.ops.rules import RULES
from snnc.compiler.render.half import DECODERS
from snnc.ir.schema import RULE_SCHEMAS

ArgValues = dict[str, torch.Tensor]


@dataclass(frozen=True)
class SynapseMap:
    """How a connection type's indices relate (``b`` is the batch domain).

    ``pre`` / ``post``: index texts into the source / target in their logical shapes
    ``pre_shape`` / ``post_shape`` (``"B"`` first); ``weight``: into ``w``; ``bias``:
    into the bias. Every name in these texts is a domain.
    """

    domains: tuple[Domain, ...]
    pre: tuple[str, ...]
    post: tuple[str, ...]
    weight: tuple[str, ...]
    bias: tuple[str, ...]
    pre_shape: tuple
    post_shape: tuple

    def all_domains(self) -> tuple[Domain, ...]:
        return (Domain("b", BATCH), *self.domains)

    def post_domains(self) -> tuple[Domain, ...]:
        used = set(self.post)
        return tuple(d for d in self.all_domains() if d.name in used)

    def weight_domains(self) -> tuple[Domain, ...]:
        by_name = {d.name: d for d in self.domains}
        return tuple(by_name[name] for name in self.weight)

    def access(self, role: str) -> str:
        """``role`` with this map's indices (``s_pre[b, i]``, ``w[i, j]``)."""
        side = {"pre": self.pre, "post": self.post}.get(role.rsplit("_", 1)[-1])
        indices = self.weight if role == "w" else side
        return f"{role}[{', '.join(indices)}]"


@dataclass(frozen=True)
class ConnectionContext:
    """What a phase sees of one connection: its IR attributes (with the storage and
    propagation decisions once made), its endpoints' attributes, the backend and the
    batch size."""

    edge: tuple[str, str]
    attrs: dict
    source: dict
    target: dict
    backend: str
    batch_size: int = 1
    learning: bool = True
    dt: float = 1.0

    @property
    def label(self) -> str:
        return f"{self.edge[0]}->{self.edge[1]}"

    @property
    def params(self) -> dict:
        return self.attrs["params"]

    @property
    def options(self) -> dict:
        return self.attrs["options"]


@dataclass(frozen=True)
class ConnectionOp:
    """A connection type: its synapse map, argument binding, normalisation nests,
    temporaries (``temps``: name -> shape, ``"B"`` for the batch) and optional fast
    paths (``fast_paths[backend](ctx, names) -> lines`` for propagation).

    A type whose signal is not ``s_pre * w`` gives its own ``propagate`` nests; one
    with per-neuron state of its own (``state``: name -> ``pre`` / ``post``) updates
    it with ``pre_statements``, element statements over the source's neurons run
    before propagation. ``couples_samples``: its output mixes the samples of a batch.
    ``weight_view``: the logical shape its map indexes ``w`` (and every ``w``-shaped
    argument and state) by, a view of the stored weights (a local layer's ``[C, F·P, K]``
    as ``[C, F, *positions, *kernel]``). ``random``: the uniform numbers it reads per
    run (name -> shape; ``("T",)``: one per step, read as ``name`` at step ``t``).
    """

    name: str
    synapse_map: Callable[[ConnectionContext], SynapseMap]
    bind: Callable[[ConnectionContext], ArgValues]
    normalize: Callable[[ConnectionContext, SynapseMap], list[Nest]] | None = None
    temps: Callable[[ConnectionContext], dict[str, tuple[int, ...]]] = lambda ctx: {}
    fast_paths: dict[str, Callable] = field(default_factory=dict)
    storage_formats: tuple[str, ...] = ("dense",)
    propagate: Callable[[ConnectionContext, SynapseMap], list[Nest]] | None = None
    weight_view: Callable[[ConnectionContext], tuple] | None = None
    pre_statements: tuple[str, ...] = ()
    state: dict[str, str] = field(default_factory=dict)
    couples_samples: bool = False
    random: Callable[[ConnectionContext], dict[str, tuple]] = lambda ctx: {}


CONNECTION_OPS: dict[str, ConnectionOp] = {}


def register_connection_op(op: ConnectionOp) -> ConnectionOp:
    CONNECTION_OPS[op.name] = op
    return op


def context(ir: nx.DiGraph, edge: tuple[str, str], backend: str = "torch") -> ConnectionContext:
    return ConnectionContext(edge, ir.edges[edge], ir.nodes[edge[0]], ir.nodes[edge[1]],
                             backend, int(ir.graph["batch_size"]), bool(ir.graph["learning"]),
                             float(ir.graph["dt"]))


# -- the one place that says what a connection does to its weights -----------------

def weight_shape(ctx: ConnectionContext) -> tuple:
    """The shape the synapse map indexes ``w`` by (``()`` for a type without weights)."""
    op = CONNECTION_OPS[ctx.attrs["op"]]
    if op.weight_view is not None:
        return tuple(op.weight_view(ctx))
    w = ctx.params.get("w")
    return () if w is None else tuple(w.shape)


def has_rule(attrs: dict) -> bool:
    return attrs["options"].get("rule") is not None


def has_mask(attrs: dict) -> bool:
    """The run masks this connection's weights (``Network.run(masks=...)``)."""
    return bool(attrs.get("run", {}).get("mask"))


def learns(ir: nx.DiGraph, edge: tuple[str, str]) -> bool:
    """Per-step weight work: a learning rule or weight decay while the network learns,
    and a run's weight mask whether it learns or not (an opaque connection's
    ``update``, its own or the inherited eager one, is called every step, as BindsNET
    calls every connection's)."""
    attrs = ir.edges[edge]
    if is_opaque(attrs) or has_mask(attrs) or attrs["params"].get("dales_rule") is not None:
        return True
    return bool(ir.graph["learning"]) and (has_rule(attrs) or attrs["params"].get("weight_decay") is not None)


def normalizes(ir: nx.DiGraph, edge: tuple[str, str]) -> bool:
    """End-of-run normalisation (``norm`` is set, not per step; an opaque connection's
    ``normalize``)."""
    attrs = ir.edges[edge]
    if is_opaque(attrs):
        return calls_normalize(attrs)
    return attrs["params"].get("norm") is not None and not attrs["options"].get("norm_each_step")


def weights_change(ir: nx.DiGraph, edge: tuple[str, str]) -> bool:
    """The weights change during a run (learning, normalisation) or a monitor reads them."""
    recorded = any(spec.target == edge and "w" in spec.state_vars for spec in ir.graph["monitors"])
    per_step_norm = attrs_norm_each_step(ir.edges[edge])
    return learns(ir, edge) or normalizes(ir, edge) or recorded or per_step_norm


def attrs_norm_each_step(attrs: dict) -> bool:
    return bool(attrs["options"].get("norm_each_step")) and attrs["params"].get("norm") is not None


def code_decisions(ir: nx.DiGraph, edge: tuple[str, str]) -> list:
    """What a connection's values decide about its code (so the cache key includes it):
    per-step work, normalisation, the clamp (finite bounds), an opaque op's class."""
    attrs = ir.edges[edge]
    if is_opaque(attrs):        # its rule decides which run values it is handed
        rule = getattr(getattr(attrs["module"], "update_rule", None), "ir_name", None)
        return [attrs["cls"], learns(ir, edge), normalizes(ir, edge), rule]
    clamp = has_rule(attrs) and clamps(context(ir, edge))
    nu = attrs["params"].get("nu")
    per_synapse = nu is not None and nu.dim() > 1
    dales = attrs["params"].get("dales_rule") is not None
    from snnc.compiler.ops.learn_phase import code_batch       # (it builds on this module)

    return [learns(ir, edge), normalizes(ir, edge), clamp, has_mask(attrs), per_synapse, dales,
            code_batch(context(ir, edge))]


def run_values(ir: nx.DiGraph, edge: tuple[str, str]) -> dict[str, tuple]:
    """The ``Network.run`` arguments the connection's rule reads while learning, with
    their buffer shapes: ``reward`` per sample ``("B",)``, ``a_plus`` / ``a_minus`` scalars."""
    attrs = ir.edges[edge]
    if not ir.graph["learning"] or not has_rule(attrs):
        return {}
    return {name: ("B",) if name == "reward" else () for name in RULE_SCHEMAS[attrs["options"]["rule"]].reads}


def reads_traces(attrs: dict) -> tuple[bool, bool]:
    """Whether the connection's learning rule reads the source's / target's traces."""
    if not has_rule(attrs):
        return False, False
    traces = RULE_SCHEMAS[attrs["options"]["rule"]].traces
    return "source" in traces, "target" in traces


# -- phases ----------------------------------------------------------------------------

def propagate_nests(ctx: ConnectionContext, synapses: SynapseMap) -> list[Nest]:
    """``I_post[post] += s_pre[pre] * w[weight]`` (guard ``s_pre``), then the bias. Into
    a CSRM layer the source's spikes are replaced by their response-filtered window
    (``filtered``) and the bias is scaled by the kernel's sum (:mod:`.csrm`)."""
    op = ctx.attrs["op"]
    if CONNECTION_OPS[op].propagate is not None:
        return CONNECTION_OPS[op].propagate(ctx, synapses)
    pre, post, weight = synapses.access("s_pre"), synapses.access("I_post"), synapses.access("w")
    bias = f"bias[{', '.join(synapses.bias)}]"
    if windowed(ctx):
        pre, bias = pre.replace("s_pre[", "filtered[", 1), f"{bias} * res_total"
    if ctx.params.get("factor") is not None:          # a folded feature pipeline's fixed factor
        weight = f"{weight} * factor[{', '.join(synapses.weight)}]"
    if ctx.params.get("prob") is not None:            # a Probability feature: Bernoulli per step
        i, j = synapses.weight
        drawn = f"uniform_hash(seed, {i} * {ctx.target['n']} + {j})"
        weight = f"{weight} * where({drawn} < prob[{i}, {j}], 1.0, 0.0)"
    nests = [Nest(f"{ctx.label} propagate ({op})", synapses.all_domains(), post,
                  f"{pre} * {weight}", "add", guard=pre)]
    if ctx.params.get("b") is not None:
        nests.append(Nest(f"{ctx.label} bias ({op})", synapses.post_domains(), post, bias, "add"))
    if ctx.options.get("norm_each_step") and ctx.params.get("norm") is not None:
        nests += CONNECTION_OPS[op].normalize(ctx, synapses)     # after the step's signal left
    return nests


def rule_state_kinds(attrs: dict) -> dict[str, str]:
    """The connection's own and its rule's state: name -> ``pre`` / ``post`` / ``synapse``."""
    rule = attrs["options"].get("rule")
    own = CONNECTION_OPS[attrs["op"]].state if attrs["op"] in CONNECTION_OPS else {}
    return {**own, **(dict(RULE_SCHEMAS[rule].state) if rule is not None else {})}


def clamps(ctx: ConnectionContext) -> bool:
    """The learn phase clamps to finite bounds (``terms_only``: the bounds are only read
    by the rule's terms; an MCC rule's eager base update clamps after its decay)."""
    if ctx.options.get("terms_only"):
        return False
    return any(bool(torch.isfinite(ctx.params[name]).any()) for name in ("wmin", "wmax"))


def _bound_access(ctx: ConnectionContext, name: str, synapses: SynapseMap) -> str:
    return name if ctx.params[name].numel() == 1 else f"{name}[{', '.join(synapses.weight)}]"


def bound_args(ctx: ConnectionContext) -> ArgValues:
    """Arguments every connection type shares: decay factor, bounds, rates."""
    params, options = ctx.params, ctx.options
    shape = weight_shape(ctx)
    args: ArgValues = {}
    if params.get("weight_decay") is not None:
        args["decay_factor"] = (1.0 - params["weight_decay"]).to(torch.float32)
    if has_rule(ctx.attrs):
        nu = params["nu"].to(torch.float32)
        for k, name in enumerate(("nu0", "nu1")):
            args[name] = nu[k].clone() if nu.dim() == 1 else nu[k].reshape(shape).contiguous()
        args.update(RULES[options["rule"]].args(params, ctx.dt))
        if clamps(ctx) or ctx.options.get("terms_only"):       # the clamp's, or read by the terms
            for name in ("wmin", "wmax"):
                value = params[name].to(torch.float32)
                args[name] = value.reshape(()) if value.numel() == 1 else \
                    value.expand(params["w"].shape).reshape(shape).contiguous()
        if options.get("reduction") == "mean":
            args["inverse_batch"] = torch.tensor(1.0 / ctx.batch_size, dtype=torch.float32)
    if params.get("norm") is not None:
        args["norm"] = params["norm"].to(torch.float32)
    if params.get("dales_rule") is not None:
        args["dales_rule"] = params["dales_rule"].reshape(shape).contiguous()
    return args


# -- operands ---------------------------------------------------------------------------

def build_operands(synapses: SynapseMap, ends: dict[str, tuple[str, str]],
                   args: list[tuple[str, str, str, tuple]], w_shape: tuple,
                   states: dict[str, tuple[str, str, str]] | None = None) -> dict[str, Operand]:
    """Every role a connection's nests may name: ``ends`` maps ``s_pre`` … ``I_post`` to
    ``(buffer, dtype)``; ``args`` lists ``(var, buffer, dtype, shape)`` of its arguments,
    run values and temporaries (``name_bits`` / ``name_table`` pairs become one decoded
    role); ``states`` maps the rule's state to ``(buffer, dtype, kind)``."""
    shapes = {"s_pre": synapses.pre_shape, "x_pre": synapses.pre_shape, "s_post": synapses.post_shape,
              "x_post": synapses.post_shape, "I_post": synapses.post_shape, "filtered": synapses.pre_shape,
              "s_prob_post": synapses.post_shape}
    roles = {role: Operand(ref, tuple(shapes[role]), flat=True, dtype=dtype)
             for role, (ref, dtype) in ends.items()}
    for role, (ref, dtype, kind) in (states or {}).items():
        shape = {"pre": synapses.pre_shape, "post": synapses.post_shape}.get(kind)
        roles[role] = Operand(ref, tuple(shape), flat=True, dtype=dtype) if shape else \
            Operand(ref, (BATCH, *w_shape), dtype=dtype)
    tables = {var.removesuffix("_table"): ref for var, ref, _, _ in args if var.endswith("_table")}
    for var, ref, dtype, shape in args:
        if var.endswith("_table"):
            continue
        decoder = next((fn for suffix, fn in DECODERS.items() if var.endswith(f"_{suffix}")), None)
        if decoder is not None:                      # 16-bit patterns widened as read (numba)
            role = var.rsplit("_", 1)[0]
            roles[role] = Operand(ref, w_shape if role == "w" else tuple(shape), dtype=dtype, decode=decoder)
            continue
        if var == "seed":                            # this step's seed of a per-run random row
            roles[var] = Operand(f"{ref}[t]", scalar=True)
            continue
        role = var.removesuffix("_bits")
        logical = w_shape if role in ("w", "wmin", "wmax", "mask", "nu0", "nu1", "field_mask", "dales_rule",
                                   "factor", "prob") \
            else tuple(shape)
        if role == "filtered":
            roles[role] = Operand(ref, tuple(shapes[role]), flat=True, dtype=dtype)
            continue
        if not shape:
            roles[role] = Operand(ref, scalar=True, dtype=dtype)
        else:
            roles[role] = Operand(ref, logical, table=tables.get(role) if var.endswith("_bits") else None,
                                  dtype=dtype)
    return roles


# -- storage ------------------------------------------------------------------------------

def to_csr(nest: Nest, rows_are_sources: bool) -> Nest:
    """The dense propagation nest over CSR weights (``w_indptr``, ``w_indices``,
    ``w_data``): rows are sources (scatter along each active row) or targets (each
    target walks its own row)."""
    weight = next(r for r in nest.reads() if r.role == "w")
    row, column = weight.indices
    walked, replaced = (row, column) if rows_are_sources else (column, row)
    domains = [d for d in nest.domains if d.name != replaced]
    domains.append(Domain("e", f"w_indptr[{walked} + 1]", f"w_indptr[{walked}]"))
    mapping = {replaced: "w_indices[e]"}

    def swap(text: str) -> str:
        return substitute(text.replace(weight.text, "w_data[e]"), mapping)

    return Nest(nest.label.replace(")", ", csr)"), tuple(domains), swap(nest.output), swap(nest.expression),
                nest.combine, guard=swap(nest.guard) if nest.guard else None)


def to_uniform(nest: Nest) -> Nest:
    """The dense propagation nest over uniform weights: every ``w[i, j]`` is ``w_off``
    but where ``i == j``, ``w_diag`` (lateral inhibition ``c·(1 - I)``, the guide's
    recurrent ``0.025·(I - 1)``). No weight is read from memory; the numba renderer
    sums the sources once per sample (:meth:`~snnc.compiler.render.nest_rows.RowsRenderer.uniform_sum`), equal to
    the dense rows up to float rounding."""
    weight = next(r for r in nest.reads() if r.role == "w")
    row, column = weight.indices
    value = f"where({row} == {column}, w_diag, w_off)"

    def swap(text: str) -> str:
        return text.replace(weight.text, value)

    return Nest(nest.label.replace(")", ", uniform)"), nest.domains, swap(nest.output), swap(nest.expression),
                nest.combine, guard=swap(nest.guard) if nest.guard else None)


__all__ = ["CONNECTION_OPS", "ConnectionContext", "ConnectionOp", "SynapseMap", "bound_args",
           "context", "rule_state_kinds", "learns", "normalizes", "propagate_nests",
           "register_connection_op", "run_values", "to_csr", "to_uniform", "weight_shape", "weights_change"]
