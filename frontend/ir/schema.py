"""The IR schema: the contract between the frontend and every compiler pass.

A network is a ``networkx.DiGraph``:

* **node** = a layer, keyed by its name. Attributes:
  ``op`` (an op name below), ``shape`` (tuple of ints), ``n`` (int), ``index``
  (insertion order), ``params`` (name -> float32 tensor, scalar or per-neuron),
  ``state`` (name -> tensor ``[B, *shape]``, the values the next run starts from),
  ``options`` (name -> static python value: flags that change the generated code).
* **edge** ``(source, target)`` = a connection. Attributes: ``op``, ``index``,
  ``params`` (``w`` ``[source.n, target.n]``, bounds, bias, the learning rule's
  parameters; a ``multicompartment`` edge has its features' values ``f0``, ``f1``, … instead,
  until the ``fuse`` pass folds them), ``state`` (incl. the rule's state), ``options`` (``rule``: a
  :class:`RuleSchema` name, ``reduction``, the rule's flags).
* **graph** attributes: ``dt`` (float > 0), ``batch_size`` (int >= 1),
  ``learning`` (bool), ``monitors`` (list of :class:`MonitorSpec`),
  ``one_step`` (bool), ``inputs`` (layer name -> dtype name of that layer's external
  input in the run being compiled), and, once the ``schedule`` pass ran, ``schedule`` (list of
  :class:`ScheduledOp`) and ``end_of_run`` (list of :class:`ScheduledOp`).

Each op is described by an :class:`OpSchema`: its params (per neuron: a scalar or
broadcastable to the layer shape; ``matrix_params``: ``[n, n]``; ``kernel_params``: a
vector over a window of steps; ``input_window``: incoming connections deliver their
response-filtered source window, with ``resKernel``, as CSRM's do), optional params (may be
None), state variables (per sample ``[B, *shape]``, or ``shared_state`` ``[*shape]``
shared by the batch, like ``theta``), options, and for a connection the rule giving
its weight shape from the source and target shapes. ``validate``, the buffer plan,
the cache key and the runtime read these; nothing else hard-codes a shape.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Callable, Literal

LAYER = "layer"
CONNECTION = "connection"


@dataclass(frozen=True)
class OpSchema:
    """What an op's IR node or edge must carry. ``doc`` states its equations."""

    name: str
    kind: Literal["layer", "connection"]
    doc: str
    params: tuple[str, ...] = ()
    optional_params: tuple[str, ...] = ()
    state: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    shared_state: tuple[str, ...] = ()
    window_state: tuple[str, ...] = ()
    kernel_params: tuple[str, ...] = ()
    input_window: bool = False
    matrix_params: tuple[str, ...] = ()
    weight_shape: Callable[[tuple, tuple, dict], tuple] | None = None

    def state_shape(self, var: str, batch: int | str, shape: tuple, window: int = 0) -> tuple:
        """A state tensor's shape: ``[*shape]`` when shared by the batch, ``[B, W, *shape]``
        for a window (a per-neuron history of ``W`` steps), else ``[B, *shape]``."""
        if var in self.shared_state:
            return tuple(shape)
        return (batch, window, *shape) if var in self.window_state else (batch, *shape)


# State and params every layer may carry, switched by its options.
LAYER_OPTIONS = ("traces", "traces_additive", "sum_input")
TRACE_PARAMS = ("tc_trace", "trace_scale")
TRACE_STATE = ("x",)
SUM_STATE = ("summed",)

OPS: dict[str, OpSchema] = {}


def register_op(schema: OpSchema) -> OpSchema:
    """Add an op to the closed list of ops the compiler knows."""
    if schema.name in OPS:
        raise ValueError(f"op {schema.name!r} is already registered")
    OPS[schema.name] = schema
    return schema


register_op(OpSchema(
    name="input",
    kind=LAYER,
    doc="s[t] = I[t] (external input plus incoming connections, dtype kept); "
        "then traces: x = x*exp(-dt/tc_trace), x = trace_scale where s (or += trace_scale*s).",
    state=("s",),
    options=LAYER_OPTIONS,
))

register_op(OpSchema(
    name="lif",
    kind=LAYER,
    doc="v = (v - rest)*exp(-dt/tc_decay) + rest; I = 0 where refrac_count > 0; "
        "refrac_count -= dt; v += I; s = v >= thresh; where s: refrac_count = refrac, "
        "v = reset; v = max(v, lbound) if lbound; then traces.",
    params=("thresh", "rest", "reset", "refrac", "tc_decay"),
    optional_params=("lbound",),
    state=("s", "v", "refrac_count"),
    options=LAYER_OPTIONS,
))

from snnc.ir.rule_schema import (RULE_OPTIONS, RULE_PARAMS, RULE_SCHEMAS, WEIGHT_PARAMS,  # noqa: E402, F401
                                 RuleSchema, register_rule_schema)

# Every connection type with weights: w and its bounds; bias, norm, weight decay, Dale's
# rule and a learning rule's parameters when given.
WEIGHTED_PARAMS = ("w", "wmin", "wmax")
WEIGHTED_OPTIONAL = ("b", "norm", "weight_decay") + WEIGHT_PARAMS + RULE_PARAMS



register_op(OpSchema(
    name="dense",
    kind=CONNECTION,
    doc="I_target += s_source.float() @ (w * factor * [u_t < prob]) (+ b; factor, prob only when given; "
        "u_t[i, j] = uniform_hash(seed[t], i * n_target + j)); w in [wmin, wmax]; "
        "at the end of a run (every step after propagating if norm_each_step), if norm: w[:, j] *= "
        "norm / sum_i |w[i, j]| (signed sums if norm_signed; a zero sum divides by 1); "
        "while learning with weight_decay: w *= 1 - weight_decay every step.",
    params=WEIGHTED_PARAMS,
    optional_params=("factor", "prob") + WEIGHTED_OPTIONAL,
    options=RULE_OPTIONS + ("norm_signed", "norm_each_step", "fused"),
    weight_shape=lambda source, target, options: (math.prod(source), math.prod(target)),
))

register_op(OpSchema(
    name="multicompartment",
    kind=CONNECTION,
    doc="A feature pipeline f0, f1, ... (options pipeline: (class, op) each; params fk: [n_src, n_tgt] "
        "or one value): A = prod of the mul features, O = sum of the add/sub features, each times the "
        "mul features after it; I_target += s_source @ A + sum_i O[i, :]. options main: the feature "
        "kept as w (it learns with the rule's params, or has the norm: w[:, j] *= norm / sum_i w[i, j], "
        "a zero sum divides by 1, at the end of a run or every step if norm_each_step). The fuse pass "
        "turns it into a dense connection (w, factor, b).",
    optional_params=("norm", "weight_decay") + RULE_PARAMS,
    options=("pipeline", "main", "norm_each_step") + RULE_OPTIONS,
))


for _dims, _index in ((1, "ox"), (2, "oy, ox"), (3, "oz, oy, ox")):
    register_op(OpSchema(
        name=f"conv{_dims}d",
        kind=CONNECTION,
        doc=f"I_target[b, o, {_index}] += sum_(c, kernel) s_source[b, c, position*S + kernel*D - P] * "
            "w[o, c, kernel] + b[o] (outside the source: zero); at the end of a run, if norm: "
            "w[o, c] *= norm / sum_kernel w[o, c]; learning rules and weight decay as for dense "
            "(summed over every output position too).",
        params=WEIGHTED_PARAMS,
        optional_params=WEIGHTED_OPTIONAL,
        options=("kernel_size", "stride", "padding", "dilation") + RULE_OPTIONS,
        weight_shape=lambda source, target, options: (target[0], source[0], *options["kernel_size"]),
    ))

register_op(OpSchema(
    name="sparse",
    kind=CONNECTION,
    doc="Stored synapses only (CSR by source: w_indptr, w_indices, values w [nnz]): I_target[b, "
        "cols[e]] += s_source[b, rows[e]] * w[e] (+ b); learning rules at the stored entries only; "
        "at the end of a run, if norm: w[e] *= norm / sum over its column of |w| (a zero sum counts "
        "as 1); weight decay and the clamp as for dense.",
    params=WEIGHTED_PARAMS + ("w_indptr", "w_indices"),
    optional_params=WEIGHTED_OPTIONAL,
    options=("nnz",) + RULE_OPTIONS,
    weight_shape=lambda source, target, options: (options["nnz"],),
))

register_op(OpSchema(
    name="mean_field",
    kind=CONNECTION,
    doc="I_target[b, j] += mean(s_source over the batch and all neurons) * w[j] (one value for "
        "every sample); w in [wmin, wmax]; while learning with weight_decay: w *= 1 - weight_decay.",
    params=WEIGHTED_PARAMS,
    optional_params=("weight_decay",),
    weight_shape=lambda source, target, options: (math.prod(target),),
))

register_op(OpSchema(
    name="local",
    kind=CONNECTION,
    doc="A locally connected layer as a dense matrix with a fixed receptive-field mask: "
        "I_target += s_source @ w + b; after every learning step w = 0 where field_mask; at the "
        "end of a run, if norm: w[:, j] *= norm / sum_i w[i, j] (signed, no zero guard); "
        "learning rules as for dense.",
    params=WEIGHTED_PARAMS + ("field_mask",),
    optional_params=WEIGHTED_OPTIONAL,
    options=RULE_OPTIONS,
    weight_shape=lambda source, target, options: (math.prod(source), math.prod(target)),
))

for _dims in (1, 2, 3):
    register_op(OpSchema(
        name=f"local{_dims}d",
        kind=CONNECTION,
        doc="I_target[b, f*P + p] += sum_(c, k) s_source[b, c, p*stride + k] * w[c, f*P + p, k] "
            "(+ b[f*P + p]); P output positions, K kernel elements; w is [C, n_filters*P, K]; at the "
            "end of a run, if norm: w[c, j, :] *= norm / sum_k w[c, j, k]; learning rules as for dense "
            "(summed over the batch).",
        params=WEIGHTED_PARAMS,
        optional_params=WEIGHTED_OPTIONAL,
        options=("kernel_size", "stride", "n_filters") + RULE_OPTIONS,
        weight_shape=lambda source, target, options: (
            source[0], math.prod(target),
            math.prod(options["kernel_size"])),
    ))

for _dims in (1, 2, 3):
    register_op(OpSchema(
        name=f"max_pool{_dims}d",
        kind=CONNECTION,
        doc="firing_rates[b, i] = firing_rates - decay * firing_rates + s_source (per source neuron, "
            "kept across runs); each pooling window (kernel_size, stride, padding, dilation) passes "
            "on the spike of its first input with the highest firing rate; no weights.",
        params=("decay",),
        state=("firing_rates",),
        options=("kernel_size", "stride", "padding", "dilation"),
    ))

_ADAPTIVE_DOC = (
    "v = (v - rest)*exp(-dt/tc_decay) + rest; if learning: theta *= exp(-dt/tc_theta_decay); "
    "v += I where refrac_count <= 0; refrac_count -= dt; s = v >= thresh + theta; where s: "
    "refrac_count = refrac, v = reset; if learning: theta += theta_plus * sum_b s; "
    "v = max(v, lbound) if lbound; then traces. theta is shared by the batch and never reset.")

register_op(OpSchema(
    name="adaptive_lif",
    kind=LAYER,
    doc=_ADAPTIVE_DOC,
    params=("thresh", "rest", "reset", "refrac", "tc_decay", "theta_plus", "tc_theta_decay"),
    optional_params=("lbound",),
    state=("s", "v", "refrac_count", "theta"),
    shared_state=("theta",),
    options=LAYER_OPTIONS,
))

register_op(OpSchema(
    name="diehl_and_cook",
    kind=LAYER,
    doc=_ADAPTIVE_DOC + " With one_spike, after theta grows: each sample keeps one of its "
        "spiking neurons, chosen uniformly with the step's random number u[b] (the "
        "floor(u*count)-th spiking neuron in flattened order); reset, refractory and theta "
        "already applied to all that crossed.",
    params=("thresh", "rest", "reset", "refrac", "tc_decay", "theta_plus", "tc_theta_decay"),
    optional_params=("lbound",),
    state=("s", "v", "refrac_count", "theta"),
    shared_state=("theta",),
    options=LAYER_OPTIONS + ("one_spike",),
))


_TRACES = " then clamp / unclamp of the run (s = 1 / 0 where masked), then traces."

register_op(OpSchema(
    name="mcculloch_pitts", kind=LAYER,
    doc="v = I; s = v >= thresh;" + _TRACES,
    params=("thresh",), state=("s", "v"), options=LAYER_OPTIONS,
))

register_op(OpSchema(
    name="if", kind=LAYER,
    doc="v += I where refrac_count <= 0; refrac_count -= dt; s = v >= thresh; where s: "
        "refrac_count = refrac, v = reset; v = max(v, lbound) if lbound;" + _TRACES,
    params=("thresh", "reset", "refrac"), optional_params=("lbound",),
    state=("s", "v", "refrac_count"), options=LAYER_OPTIONS,
))

register_op(OpSchema(
    name="subtractive_if", kind=LAYER,
    doc="v += I where refrac_count == 0; refrac_count = refrac_count - dt where > 0, else 0; "
        "s = v >= thresh; where s: refrac_count = refrac, v -= thresh; lbound;" + _TRACES,
    params=("thresh", "reset", "refrac"), optional_params=("lbound",),
    state=("s", "v", "refrac_count"), options=LAYER_OPTIONS,
))

register_op(OpSchema(
    name="boosted_lif", kind=LAYER,
    doc="v *= exp(-dt/tc_decay); I = 0 where refrac_count > 0; refrac_count -= dt; v += I; "
        "s = v >= thresh; where s: refrac_count = refrac, v = 0;" + _TRACES,
    params=("thresh", "refrac", "tc_decay"), state=("s", "v", "refrac_count"), options=LAYER_OPTIONS,
))

register_op(OpSchema(
    name="current_lif", kind=LAYER,
    doc="v = (v - rest)*exp(-dt/tc_decay) + rest; i *= exp(-dt/tc_i_decay); refrac_count -= dt; "
        "i += I; v += i where refrac_count <= 0; s = v >= thresh; where s: refrac_count = refrac, "
        "v = reset; lbound;" + _TRACES,
    params=("thresh", "rest", "reset", "refrac", "tc_decay", "tc_i_decay"), optional_params=("lbound",),
    state=("s", "v", "i", "refrac_count"), options=LAYER_OPTIONS,
))

register_op(OpSchema(
    name="srm0", kind=LAYER,
    doc="v = (v - rest)*exp(-dt/tc_decay) + rest; v += eps_0*I where refrac_count <= 0; "
        "rho = rho_0*exp((v - thresh)/d_thresh); s_prob = 1 - exp(-rho*dt); refrac_count -= dt; "
        "s = u < s_prob (u uniform per neuron and step); where s: refrac_count = refrac, v = reset; "
        "lbound;" + _TRACES,
    params=("thresh", "rest", "reset", "refrac", "tc_decay", "eps_0", "rho_0", "d_thresh"),
    optional_params=("lbound",), state=("s", "v", "refrac_count", "rho", "s_prob"), options=LAYER_OPTIONS,
))

register_op(OpSchema(
    name="izhikevich", kind=LAYER,
    doc="where s (previous step): v = c, u += d; I += S @ s; twice: v += dt*0.5*(0.04 v^2 + 5 v + "
        "140 - u + I); u += dt*a*(b v - u); v = max(v, lbound) if lbound; s = v >= thresh;" + _TRACES,
    params=("thresh", "rest", "a", "b", "c", "d", "S"), optional_params=("lbound",),
    matrix_params=("S",), state=("s", "v", "u"), options=LAYER_OPTIONS,
))

register_op(OpSchema(
    name="csrm", kind=LAYER,
    doc="Input I = sum_k resKernel[k] * (window of the incoming connections' source spikes "
        "through w, and b)[k]; v *= exp(-dt/tc_decay); if learning: theta *= exp(-dt/tc_theta_decay); "
        "v += I + sum_k refKernel[k] * last_spikes[k]; s = v >= thresh + theta; if learning: "
        "theta += theta_plus * sum_b s; last_spikes = push(last_spikes, s); lbound;" + _TRACES,
    params=("thresh", "tc_decay", "theta_plus", "tc_theta_decay", "resKernel", "refKernel"),
    optional_params=("lbound",), state=("s", "v", "theta", "last_spikes"), shared_state=("theta",),
    window_state=("last_spikes",), kernel_params=("resKernel", "refKernel"), input_window=True,
    options=LAYER_OPTIONS,
))

register_op(OpSchema(
    name="pass_through", kind=LAYER,
    doc="s = I (float; the external dtype when that is the only input); v: zeros, never changed;" + _TRACES,
    state=("s", "v"), shared_state=("v",), options=LAYER_OPTIONS,
))


OPAQUE_LAYER = "opaque_nodes"
OPAQUE_CONNECTION = "opaque_connection"

register_op(OpSchema(
    name=OPAQUE_LAYER,
    kind=LAYER,
    doc="A Nodes subclass with its own forward: each step the torch backend calls "
        "forward(x) with its input [B, *shape] and reads the layer's s afterwards.",
    state=("s",),
))

register_op(OpSchema(
    name=OPAQUE_CONNECTION,
    kind=CONNECTION,
    doc="An AbstractConnection subclass with its own compute or update: each step the "
        "torch backend adds compute(s_source) to the target's input, calls "
        "update(mask=None, learning=...) after the layers, and normalize() at the end of a run.",
))


@dataclass(frozen=True)
class MonitorSpec:
    """A monitor: which object (a layer name or a ``(source, target)`` connection
    key), which state variables, and its ``time`` window (None = unbounded).
    ``monitor`` / ``part``: the network's monitor and which of its parts this is (a
    ``NetworkMonitor`` has one part per layer and connection)."""

    name: str
    target: str | tuple[str, str]
    state_vars: tuple[str, ...]
    time: int | None = None
    monitor: str = ""
    part: str = ""


@dataclass(frozen=True)
class ScheduledOp:
    """One entry of the per-step schedule.

    ``action`` is one of ``propagate`` (a connection adds its source's spikes into
    its target's input), ``accumulate`` (the ``fuse`` pass's group of every compiled
    propagation into one layer, ``detail["edges"]`` in order: one pass over the
    target where the backend can), ``external`` (a run input is added to a layer's input),
    ``update`` (a layer's node update), ``learn`` (a connection's per-step weight
    update), ``record`` (a monitor writes this step), ``normalize`` (end of run).
    """

    action: str
    target: str | tuple[str, str]
    detail: dict = field(default_factory=dict, compare=False, hash=False)

    def label(self) -> str:
        name = "->".join(self.target) if isinstance(self.target, tuple) else self.target
        if self.action == "accumulate":
            return f"accumulate {name} <- {' + '.join('->'.join(e) for e in self.detail['edges'])}"
        if self.detail.get("learning"):
            return f"{self.action} {name} + terms of {', '.join('->'.join(e) for e in self.detail['learning'])}"
        if self.detail.get("terms_fused"):
            return f"{self.action} {name} (its terms run in the update of {self.target[1]})"
        return f"{self.action} {name}"
