"""The learn phase of a connection: what happens to its weights each step, written once
for every connection type from its synapse map (:mod:`snnc.compiler.ops.connection`).

While the network learns: the rule's stages (:mod:`snnc.compiler.ops.rules`: per-synapse
terms summed over the batch and every shared position, and element stages over one
side's neurons), then weight decay, then the clamp to ``[wmin, wmax]`` and a local
connection's receptive fields. Learning or not: the run's weight mask and Dale's rule.

The clamp is event-driven where it can be (:func:`touched_sides`): only the rows and
columns of the neurons that spiked, and at batch 1 inside the terms themselves; the
first step of each run call clamps every weight (:class:`FirstStep`).
"""
from __future__ import annotations

from dataclasses import dataclass

from snnc.compiler.nest import Domain, Nest, read_of, substitute
from snnc.compiler.ops.connection import (CONNECTION_OPS, ConnectionContext, SynapseMap, _bound_access, clamps,
                                          has_mask, rule_state_kinds)
from snnc.compiler.ops.rules import RULES, Term


@dataclass(frozen=True)
class FirstStep:
    """Nests that differ on the first step of a run call (``t == start``): ``first``
    then, ``later`` on every other step."""

    first: tuple[Nest, ...]
    later: tuple[Nest, ...]


@dataclass(frozen=True)
class ElementStage:
    """A rule's element statements over one side's neurons (``[B, n]``), in the learn
    phase between its nests."""

    label: str
    side: str
    statements: tuple[str, ...]


def _rule_accesses(ctx: ConnectionContext, synapses: SynapseMap) -> dict[str, str]:
    """Every role a rule's terms name, with this synapse map's indices."""
    weight = ", ".join(synapses.weight)
    accesses = {role: synapses.access(role) for role in ("s_pre", "x_pre", "s_post", "x_post", "w")}
    accesses["s_prob_post"] = synapses.access("s_prob_post")
    accesses.update(wmin=_bound_access(ctx, "wmin", synapses), wmax=_bound_access(ctx, "wmax", synapses))
    nu = ctx.params.get("nu")
    for k, name in enumerate(("nu0", "nu1")):
        accesses[name] = f"{name}[{weight}]" if nu is not None and nu.dim() > 1 else name
    accesses["reward"] = "reward[b]"
    for name, kind in rule_state_kinds(ctx.attrs).items():
        side = {"pre": synapses.pre, "post": synapses.post}.get(kind, ("b", *synapses.weight))
        accesses[name] = f"{name}[{', '.join(side)}]"
    return accesses


def _term_nest(ctx: ConnectionContext, synapses: SynapseMap, term: Term, k: int,
               accesses: dict[str, str]) -> Nest:
    batch = synapses.all_domains()[0]
    domains = {"synapses": synapses.all_domains(), "samples": (batch, *synapses.weight_domains()),
               "weights": synapses.weight_domains()}[term.over]
    expression = substitute(term.expression, accesses)
    if term.output == "w" and ctx.options.get("reduction") == "mean" and term.over != "weights":
        expression = f"({expression}) * inverse_batch"
    guard = accesses[term.guard] if term.guard else None
    return Nest(f"{ctx.label} {ctx.options['rule']} term {k}", tuple(domains), accesses[term.output],
                expression, term.combine, guard=guard)


def learn_phase(ctx: ConnectionContext, synapses: SynapseMap,
                terms_fused: bool = False) -> list[Nest | ElementStage | FirstStep]:
    """While learning: the rule's stages (terms summed over the batch and every shared
    position, since those domains do not index ``w``), then weight decay, then the
    clamp. Then, learning or not, the run's weight mask (``w = 0`` where masked).
    ``terms_fused``: the rule's terms run inside the target's update
    (:func:`fuses_into_target`), so the phase starts after them."""
    work: list[Nest | ElementStage | FirstStep] = []
    weight = synapses.access("w")
    domains = synapses.weight_domains()
    mask = [Nest(f"{ctx.label} weight mask", domains, weight,
                 f"where(nonzero(mask[{', '.join(synapses.weight)}]), 0.0, {weight})", "assign")] \
        if has_mask(ctx.attrs) else []
    if not ctx.learning:
        return mask + dales_nests(ctx, synapses)
    rule = ctx.options.get("rule")
    if rule is not None:
        terms = iter(rule_terms(ctx, synapses))
        for stage in RULES[rule].stages(ctx.options):
            if isinstance(stage, Term):
                nest = next(terms)
                work += [] if terms_fused else [nest]
            else:
                work.append(ElementStage(f"{ctx.label} {rule} {stage.side}-synaptic traces", stage.side,
                                         stage.statements))
    if ctx.params.get("weight_decay") is not None:
        work.append(Nest(f"{ctx.label} weight decay", domains, weight, f"{weight} * decay_factor",
                         "assign"))
    if rule is not None and clamps(ctx):
        work += clamp_nests(ctx, synapses)
    if ctx.params.get("field_mask") is not None:       # a local connection's receptive fields
        work.append(Nest(f"{ctx.label} receptive fields", domains, weight,
                         f"where(nonzero(field_mask[{', '.join(synapses.weight)}]), 0.0, {weight})", "assign"))
    return work + mask + dales_nests(ctx, synapses)


def rule_terms(ctx: ConnectionContext, synapses: SynapseMap) -> list[Nest]:
    """The nests of the rule's terms, in order (at batch 1 each clamps the weights it
    touches, :func:`fuses_clamp`)."""
    rule = ctx.options["rule"]
    fused = clamps(ctx) and fuses_clamp(ctx, synapses)
    accesses = _rule_accesses(ctx, synapses)
    stages = RULES[rule].stages(ctx.options)
    last = stages[-1]
    nests = []
    for k, stage in enumerate(stages):
        if isinstance(stage, Term):
            nest = _term_nest(ctx, synapses, stage, k, accesses)
            if fused and (k == len(stages) - 1 or stage.guard != last.guard):
                nest = _clamped(ctx, synapses, nest, None if k == len(stages) - 1 else accesses[last.guard])
            nests.append(nest)
    return nests


def fuses_into_target(ctx: ConnectionContext, synapses: SynapseMap) -> bool:
    """The rule's terms can run inside the target layer's update loop, each target
    neuron ``j`` updating its own column ``w[:, j]`` just after it updates, with every
    synapse's terms in the same order: a dense float32 matrix (``post = (b, j)``, the
    update loop's indices), learning at batch 1 (a larger batch is summed over samples
    before it is added), every term guarded by ``s_pre`` or ``s_post``
    (:func:`touched_sides`: no weight decay, no element stages)."""
    storage = ctx.attrs.get("storage") or {}
    return (ctx.learning and ctx.options.get("rule") is not None and ctx.batch_size == 1
            and ctx.attrs["op"] == "dense" and storage.get("format") == "dense"
            and storage.get("dtype") == "float32" and tuple(synapses.post) == ("b", "j")
            and bool(touched_sides(ctx, synapses)))


def dales_nests(ctx: ConnectionContext, synapses: SynapseMap) -> list[Nest]:
    """Dale's rule after every step, learning or not: ``w >= 0`` where marked, else ``<= 0``."""
    if ctx.params.get("dales_rule") is None:
        return []
    weight, signs = synapses.access("w"), f"dales_rule[{', '.join(synapses.weight)}]"
    return [Nest(f"{ctx.label} Dale's rule", synapses.weight_domains(), weight,
                 f"where(nonzero({signs}), max({weight}, 0.0), min({weight}, 0.0))", "assign")]


def learn_nests(ctx: ConnectionContext, synapses: SynapseMap) -> list[Nest]:
    """The learn phase's nests for one step that is a run's first (for rules without
    element stages)."""
    work = learn_phase(ctx, synapses)
    if any(isinstance(item, ElementStage) for item in work):
        raise ValueError(f"{ctx.label}: its rule has element stages; use learn_phase")
    return [nest for item in work for nest in (item.first if isinstance(item, FirstStep) else (item,))]


def touched_sides(ctx: ConnectionContext, synapses: SynapseMap) -> tuple[str, ...]:
    """The spikes (``s_pre`` / ``s_post``) whose rows or columns are all the rule's terms
    touch this step, when the clamp can be limited to them: every term is guarded by one
    of them, the map reads them by weight indices (a dense or local matrix: a neuron owns
    whole rows or columns; not a convolution's shared kernels), no weight decay touches
    every weight.
    Empty when the clamp must visit every weight."""
    rule = ctx.options.get("rule")
    if rule is None or ctx.params.get("weight_decay") is not None:
        return ()
    stages = RULES[rule].stages(ctx.options)
    if not all(isinstance(stage, Term) and stage.output == "w" and stage.guard in ("s_pre", "s_post")
               for stage in stages):
        return ()
    names = set(synapses.weight)            # each neuron owns whole rows / columns of w
    sides = tuple(sorted({stage.guard for stage in stages}))
    plain = all(all(index in names for index in read_of(synapses.access(side)).indices[1:]) for side in sides)
    return sides if plain else ()


def fuses_clamp(ctx: ConnectionContext, synapses: SynapseMap) -> bool:
    """At batch 1 the rule's terms clamp the weights they touch as they write them: the
    last term ``w = clamp(w + e)``; a term guarded by the other side ``w = clamp(w + e)``
    only where the last term will not touch the weight again (there it just adds)."""
    return ctx.batch_size == 1 and bool(touched_sides(ctx, synapses))


def _clamped(ctx: ConnectionContext, synapses: SynapseMap, nest: Nest, later: str | None) -> Nest:
    """``nest`` (``w += e`` over one sample) as ``w = min(max(w + e, wmin), wmax)`` (only
    where ``later``, the last term's guard, is zero, when given)."""
    low, high = (_bound_access(ctx, name, synapses) for name in ("wmin", "wmax"))
    domains = tuple(Domain("b", 1) if d.name == "b" else d for d in nest.domains)
    total = f"{nest.output} + ({nest.expression})"
    value = f"min(max({total}, {low}), {high})"
    if later is not None:
        value = f"where(nonzero({later}), {total}, {value})"
    return Nest(nest.label + ", clamped", domains, nest.output, value, "assign", guard=nest.guard)


def clamp_nests(ctx: ConnectionContext, synapses: SynapseMap) -> list[Nest | FirstStep]:
    """``w = min(max(w, wmin), wmax)``: over every weight, or (event-driven) only over the
    rows and columns of the neurons that spiked this step, which are all the rule changed
    (``active_pre[i] = Σ_b |s_pre[b, i]|`` guards the rows). The event-driven clamp
    clamps every weight on the first step of each run call, so a weight set out of
    bounds between runs is clamped after the first step, as BindsNET clamps it."""
    weight = synapses.access("w")
    low, high = (_bound_access(ctx, name, synapses) for name in ("wmin", "wmax"))
    clamp = f"min(max({weight}, {low}), {high})"
    everything = Nest(f"{ctx.label} clamp", synapses.weight_domains(), weight, clamp, "assign")
    sides = touched_sides(ctx, synapses)
    if not sides:
        return [everything]
    if fuses_clamp(ctx, synapses):       # the terms clamp what they touch
        return [FirstStep((everything,), ())]
    by_name = {d.name: d for d in synapses.all_domains()}
    nests = []
    for side in sides:
        indices = read_of(synapses.access(side)).indices[1:]
        active = f"active_{side[2:]}[{', '.join(indices)}]"
        nests += [Nest(f"{ctx.label} {side[2:]}-synaptic neurons that spiked", (by_name["b"], *[by_name[i] for i in indices]),
                       active, f"abs({synapses.access(side)})", "assign"),
                  Nest(f"{ctx.label} clamp (where they spiked)", synapses.weight_domains(), weight, clamp, "assign",
                       guard=active)]
    return [FirstStep((everything,), tuple(nests))]


def learn_temps(ctx: ConnectionContext) -> dict[str, tuple]:
    """Temporaries of the learn phase: the event-driven clamp's active neurons."""
    if not ctx.learning or ctx.options.get("rule") is None or not clamps(ctx):
        return {}
    op = CONNECTION_OPS[ctx.attrs["op"]]
    synapses = op.synapse_map(ctx)
    sizes = {"pre": synapses.pre_shape[1:], "post": synapses.post_shape[1:]}
    return {f"active_{side[2:]}": tuple(sizes[side[2:]]) for side in touched_sides(ctx, synapses)}


def code_batch(ctx: ConnectionContext) -> bool:
    """Whether the connection's code depends on the batch being 1 (the fused clamp)."""
    return ctx.learning and ctx.options.get("rule") is not None and clamps(ctx) and \
        fuses_clamp(ctx, CONNECTION_OPS[ctx.attrs["op"]].synapse_map(ctx))


__all__ = ["ElementStage", "FirstStep", "code_batch", "fuses_into_target", "learn_nests", "learn_phase",
           "learn_temps", "rule_terms"]
