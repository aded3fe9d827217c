"""Learning rules as per-synapse expressions, written once for every connection type.

A rule is a list of terms ``(expression, guard)`` over the roles ``s_pre``, ``x_pre``
(the source's spikes and trace this step), ``s_post``, ``x_post``, ``w`` and its
arguments (``nu0``, ``nu1``). Each term becomes a nest ``w[weight] += expression``
through the connection type's synapse map (:mod:`snnc.compiler.ops.connection`): a
domain that does not index ``w`` — the batch, a convolution's output positions — is
summed. Terms apply in order; ``guard`` names the factor whose zeros let a renderer
skip work.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """A learning rule: its terms, applied in order, its docstring equations, and the
    ``Network.run`` arguments it reads (``reward``, ``a_plus``, ``a_minus``; a run
    given one of these with no rule reading it is refused)."""

    name: str
    terms: tuple[tuple[str, str], ...]
    doc: str
    reads: tuple[str, ...] = ()


RULES: dict[str, Rule] = {}


def register_rule(rule: Rule) -> Rule:
    RULES[rule.name] = rule
    return rule


POST_PRE = register_rule(Rule(
    name="post_pre",
    terms=(("-nu0 * s_pre * x_post", "s_pre"),
           ("nu1 * x_pre * s_post", "s_post")),
    doc="PostPre (spec 6.2): w -= nu0 * s_pre * x_post (depression when the source spikes), "
        "then w += nu1 * x_pre * s_post (potentiation when the target spikes), each summed "
        "over the batch.",
))
