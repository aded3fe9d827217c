"""Learning rules as the IR carries them on a connection (part of the IR contract of
:mod:`snnc.ir.schema`, which re-exports everything here): each rule's parameters,
flags, state and its equations."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleSchema:
    """A learning rule as the IR carries it on a connection.

    ``params``: its scalar parameters (besides ``nu``, ``[2]`` or ``[2, *w.shape]``);
    ``options``: its flags (they change the generated code); ``state``: name -> where
    it lives: ``pre`` ``[B, source.n]``, ``post`` ``[B, target.n]`` or ``synapse``
    ``[B, *w.shape]`` (per sample), never reset by a run, zeroed by
    ``reset_state_variables``; ``traces``: the layers whose traces it reads;
    ``reads``: the ``Network.run`` arguments it takes (``reward`` is required while
    learning). ``doc`` states its equations (``R_b``: the batch reduction, a sum or a
    mean; every rule ends with weight decay and the clamp to ``[wmin, wmax]``).
    """

    name: str
    doc: str
    params: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    state: tuple[tuple[str, str], ...] = ()
    traces: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()

    def state_shape(self, var: str, batch: int, n_pre: int, n_post: int, w_shape: tuple) -> tuple:
        where = dict(self.state)[var]
        return (batch, n_pre) if where == "pre" else (batch, n_post) if where == "post" else (batch, *w_shape)


RULE_SCHEMAS: dict[str, RuleSchema] = {}


def register_rule_schema(schema: RuleSchema) -> RuleSchema:
    if schema.name in RULE_SCHEMAS:
        raise ValueError(f"rule {schema.name!r} is already registered")
    RULE_SCHEMAS[schema.name] = schema
    return schema


_ELIGIBILITY = (("p_plus", "pre"), ("p_minus", "post"), ("last_s_pre", "pre"), ("last_s_post", "post"))
register_rule_schema(RuleSchema(
    "post_pre", "w -= nu0 * R_b(s_pre x_post); w += nu1 * R_b(x_pre s_post)", traces=("source", "target")))
register_rule_schema(RuleSchema(
    "hebbian", "w += nu0 * R_b(s_pre x_post); w += nu1 * R_b(x_pre s_post)", traces=("source", "target")))
register_rule_schema(RuleSchema(
    "weight_dependent_post_pre",
    "with w before the update: w += -nu0 * R_b(s_pre x_post) (w - wmin) + nu1 * R_b(x_pre s_post) (wmax - w)",
    traces=("source", "target")))
register_rule_schema(RuleSchema(
    "diehl_and_cook", "w += nu1 * R_b((x_pre - x_tar) s_post) * F, F = wmax - w (mu == 1, option "
    "mu_power off) or max(wmax - w, 0) ** mu; w before the update", params=("x_tar", "mu"),
    options=("mu_power",), traces=("source",)))
register_rule_schema(RuleSchema(
    "mstdp", "E = p_plus last_s_post + last_s_pre p_minus (the previous step's eligibility); "
    "w += nu0 * R_b(reward E); p_plus = p_plus exp(-dt/tc_plus) + a_plus s_pre; p_minus = p_minus "
    "exp(-dt/tc_minus) + a_minus s_post; last_s = s. zero_lag: the traces and spikes first, "
    "so E is this step's.", params=("tc_plus", "tc_minus"), options=("zero_lag",), state=_ELIGIBILITY,
    reads=("reward", "a_plus", "a_minus")))
register_rule_schema(RuleSchema(
    "mstdpet", "eligibility_trace = eligibility_trace exp(-dt/tc_e_trace) + E / tc_e_trace; "
    "w += nu0 * dt * R_b(reward eligibility_trace); then p_plus, p_minus, last_s as MSTDP "
    "(zero_lag: first)", params=("tc_plus", "tc_minus", "tc_e_trace"), options=("zero_lag",),
    state=_ELIGIBILITY + (("eligibility_trace", "synapse"),), reads=("reward", "a_plus", "a_minus")))
register_rule_schema(RuleSchema(
    "rmax", "eligibility_trace = eligibility_trace (1 - dt/tc_e_trace) + x_pre (s_post - s_prob / "
    "(1 + tc_c/dt s_prob)); w += nu0 * R_b(reward eligibility_trace) (s_prob: the SRM0 target's)",
    params=("tc_c", "tc_e_trace"), state=(("eligibility_trace", "synapse"),), traces=("source",),
    reads=("reward",)))

RULE_PARAMS = ("nu",) + tuple(sorted({p for r in RULE_SCHEMAS.values() for p in r.params}))
# Dale's rule (a bool tensor shaped as w): after every step w >= 0 where True, <= 0 elsewhere
WEIGHT_PARAMS = ("dales_rule",)
RULE_OPTIONS = ("rule", "reduction") + tuple(sorted({o for r in RULE_SCHEMAS.values() for o in r.options}))


__all__ = ["RULE_OPTIONS", "RULE_PARAMS", "RULE_SCHEMAS", "RuleSchema", "WEIGHT_PARAMS",
           "register_rule_schema"]
