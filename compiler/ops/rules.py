"""Learning rules as per-synapse expressions, written once for every connection type.

A rule is an ordered list of stages (its IR schema, with the equations, is in
:mod:`snnc.ir.schema`):

* a :class:`Term` ``output combine= expression`` at every synapse, over the roles
  ``s_pre``, ``x_pre`` (the source's spikes and trace this step), ``s_post``,
  ``x_post``, ``s_prob_post`` (an SRM0 target's firing probability), ``w``, ``wmin``,
  ``wmax``, ``nu0``, ``nu1`` (scalars or per synapse), ``reward`` (per sample), the
  rule's state and its arguments. The connection type's synapse map
  (:mod:`snnc.compiler.ops.connection`) gives every role its indices: a domain that
  does not index the output (the batch for ``w``, a convolution's output positions)
  is summed. ``guard`` names the factor whose zeros let a renderer skip work;
* a :class:`NeuronStage`: element statements over the source's (``pre``) or the
  target's (``post``) neurons, ``[B, n]``, for the rule's per-neuron state.

``args(params, dt)`` gives the rule's derived arguments (decay factors).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal

import torch


@dataclass(frozen=True)
class Term:
    """``output combine= expression`` at every synapse. ``over``: the synapse map's
    domains it runs over: ``synapses`` (all of them), ``samples`` (the batch and the
    weight's own) or ``weights`` (the weight's own)."""

    output: str
    expression: str
    guard: str | None = None
    combine: Literal["add", "assign"] = "add"
    over: Literal["synapses", "samples", "weights"] = "synapses"


@dataclass(frozen=True)
class NeuronStage:
    """Element statements over the ``side`` layer's neurons (``s_pre`` / ``s_post``
    name its spikes)."""

    side: Literal["pre", "post"]
    statements: tuple[str, ...]


Stage = Term | NeuronStage


@dataclass(frozen=True)
class Rule:
    """A rule's stages for its options, and its derived arguments."""

    name: str
    stages: Callable[[dict], tuple[Stage, ...]]
    args: Callable[[dict, float], dict[str, torch.Tensor]] = lambda params, dt: {}


RULES: dict[str, Rule] = {}


def register_rule(rule: Rule) -> Rule:
    RULES[rule.name] = rule
    return rule


def _scalar(value: float) -> torch.Tensor:
    return torch.tensor(float(value), dtype=torch.float32)


def _param(params: dict, name: str) -> float:
    return float(params[name])


register_rule(Rule("post_pre", lambda options: (
    Term("w", "-nu0 * s_pre * x_post", "s_pre"),
    Term("w", "nu1 * x_pre * s_post", "s_post"),
)))

register_rule(Rule("hebbian", lambda options: (
    Term("w", "nu0 * s_pre * x_post", "s_pre"),
    Term("w", "nu1 * x_pre * s_post", "s_post"),
)))

# one term, so that both halves read the weights from before this step's update
register_rule(Rule("weight_dependent_post_pre", lambda options: (
    Term("w", "-nu0 * s_pre * x_post * (w - wmin) + nu1 * x_pre * s_post * (wmax - w)"),
)))


def _soft_bound(options: dict) -> str:
    return "pow(max(wmax - w, 0.0), mu)" if options.get("mu_power") else "(wmax - w)"


register_rule(Rule(
    "diehl_and_cook",
    lambda options: (Term("w", f"nu1 * (x_pre - x_tar) * s_post * {_soft_bound(options)}", "s_post"),),
    lambda params, dt: {"x_tar": _scalar(_param(params, "x_tar")), "mu": _scalar(_param(params, "mu"))},
))

# The eligibility of the previous step, E = p_plus (x) last_s_post + last_s_pre (x) p_minus,
# is never stored: its two halves are read from the traces and the kept spikes.
_TRACES = (
    NeuronStage("pre", ("p_plus = p_plus * plus_decay + a_plus * to_float(s_pre)",
                        "last_s_pre = to_float(s_pre)")),
    NeuronStage("post", ("p_minus = p_minus * minus_decay + a_minus * to_float(s_post)",
                         "last_s_post = to_float(s_post)")),
)


def _eligibility(output: str, scale: str) -> tuple[Term, Term]:
    """``output += scale * E`` at every synapse, E's two halves as two guarded terms."""
    return (Term(output, f"{scale} * p_plus * last_s_post", "last_s_post"),
            Term(output, f"{scale} * last_s_pre * p_minus", "last_s_pre"))


def _mstdp(options: dict) -> tuple[Stage, ...]:
    update = _eligibility("w", "nu0 * reward")
    return _TRACES + update if options.get("zero_lag") else update + _TRACES


def _trace_args(params: dict, dt: float) -> dict[str, torch.Tensor]:
    return {"plus_decay": _scalar(math.exp(-dt / _param(params, "tc_plus"))),
            "minus_decay": _scalar(math.exp(-dt / _param(params, "tc_minus")))}


register_rule(Rule("mstdp", _mstdp, _trace_args))


def _mstdpet(options: dict) -> tuple[Stage, ...]:
    update = (Term("eligibility_trace", "eligibility_trace * trace_decay", combine="assign", over="samples"),
              *_eligibility("eligibility_trace", "inv_tc_e"),
              Term("w", "nu0 * dt * reward * eligibility_trace", over="samples"))
    return _TRACES + update if options.get("zero_lag") else update + _TRACES


def _mstdpet_args(params: dict, dt: float) -> dict[str, torch.Tensor]:
    tc = _param(params, "tc_e_trace")
    return {**_trace_args(params, dt), "trace_decay": _scalar(math.exp(-dt / tc)),
            "inv_tc_e": _scalar(1.0 / tc), "dt": _scalar(dt)}


register_rule(Rule("mstdpet", _mstdpet, _mstdpet_args))

register_rule(Rule(
    "rmax",
    lambda options: (
        Term("eligibility_trace", "eligibility_trace * trace_decay", combine="assign", over="samples"),
        Term("eligibility_trace", "x_pre * (s_post - s_prob_post / (1.0 + c_over_dt * s_prob_post))"),
        Term("w", "nu0 * reward * eligibility_trace", over="samples"),
    ),
    lambda params, dt: {"trace_decay": _scalar(1.0 - dt / _param(params, "tc_e_trace")),
                        "c_over_dt": _scalar(_param(params, "tc_c") / dt)},
))


def terms(rule: str, options: dict) -> list[Term]:
    return [stage for stage in RULES[rule].stages(options) if isinstance(stage, Term)]
