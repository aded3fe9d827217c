"""A plain per-step simulator of the neuron models of spec section 3, for differential tests.

Written from the spec's equations only (never from snnc's code): the network is an
``Input`` layer ``X`` (shape ``(4,)``) -> one model layer ``Y`` (default shape
``(2, 3)``) through a dense weight ``w`` ``[4, n]`` with the one-step delay of 2.4
(``Y`` receives ``X``'s spikes of step ``t-1``, flattened, ``@ w``), plus an external
input added to ``Y``'s synaptic input every step (2.4 step 2.1). Per step, in order:
synaptic input, ``X`` (3.1: ``s = x[t]``), ``Y`` (its model's step, then the base part of
3.0: clamp, unclamp, trace, summed input), then every state variable is recorded
(2.4 step 4). Float32 throughout, written plainly.

Models (keys of ``DEFAULTS``; defaults from 3.13): 3.2 ``mcculloch_pitts``, 3.3 ``if``,
3.4 ``lif``, 3.5 ``boosted_lif``, 3.6 ``current_lif``, 3.7 ``adaptive_lif``, 3.8
``diehl_and_cook``, 3.9 ``izhikevich``, 3.10 ``srm0``, 3.12 ``subtractive_if`` and
``pass_through`` (with snnc's fix of quirk Q56: the base part, clamp and traces
included, applies to it; ``s = I`` as float).

Random numbers follow snnc's documented contract (docs/differences.md, architecture.md):
each run draws ``torch.rand(T, B)`` for ``DiehlAndCookNodes(one_spike=True)`` (one
uniform per sample and step; the kept spike is the ``min(floor(u·count), count-1)``-th
of the sample's ``count`` threshold crossings, flattened order) and
``torch.rand(T, B, n)`` for ``SRM0Nodes`` (``s = u < s_prob``). The caller passes them
in as ``uniforms``. Izhikevich's random parameters ``a, b, c, d, S`` are passed in too.
"""
from __future__ import annotations

import torch

COMMON = dict(traces=False, traces_additive=False, tc_trace=20.0, trace_scale=1.0, sum_input=False)
_LIF = dict(thresh=-52.0, rest=-65.0, reset=-65.0, refrac=5.0, tc_decay=100.0, lbound=None)
_ADAPTIVE = dict(_LIF, theta_plus=0.05, tc_theta_decay=1e7)
DEFAULTS = {                                         # spec 3.13
    "mcculloch_pitts": dict(thresh=1.0),
    "if": dict(thresh=-52.0, reset=-65.0, refrac=5.0, lbound=None),
    "lif": _LIF,
    "boosted_lif": dict(thresh=13.0, refrac=5.0, tc_decay=100.0),
    "current_lif": dict(_LIF, tc_i_decay=2.0),
    "adaptive_lif": _ADAPTIVE,
    "diehl_and_cook": dict(_ADAPTIVE, one_spike=True),
    "izhikevich": dict(excitatory=1.0, thresh=45.0, rest=-65.0, lbound=None),
    "srm0": dict(thresh=-50.0, rest=-70.0, reset=-70.0, refrac=5.0, tc_decay=10.0, lbound=None,
                 eps_0=1.0, rho_0=1.0, d_thresh=5.0),
    "subtractive_if": dict(thresh=-52.0, reset=-65.0, refrac=5.0, lbound=None),
    "pass_through": dict(),
}
STATE = {                                            # per-model state variables (besides x, summed)
    "mcculloch_pitts": ("s", "v"), "if": ("s", "v", "refrac_count"), "lif": ("s", "v", "refrac_count"),
    "boosted_lif": ("s", "v", "refrac_count"), "current_lif": ("s", "v", "i", "refrac_count"),
    "adaptive_lif": ("s", "v", "refrac_count", "theta"), "diehl_and_cook": ("s", "v", "refrac_count", "theta"),
    "izhikevich": ("s", "v", "u"), "srm0": ("s", "v", "refrac_count", "rho", "s_prob"),
    "subtractive_if": ("s", "v", "refrac_count"), "pass_through": ("s",),
}


def f32(value) -> torch.Tensor:
    return torch.as_tensor(value, dtype=torch.float32)


def random_shape(model: str, params: dict, steps: int, batch: int, n: int) -> tuple[int, ...] | None:
    """The shape of the uniforms a run of ``steps`` draws for this layer (None: none)."""
    if model == "srm0":
        return (steps, batch, n)
    if model == "diehl_and_cook" and {**DEFAULTS[model], **params}["one_spike"]:
        return (steps, batch)
    return None


class ReferenceNeurons:
    """One model layer: state ``[B, *shape]`` (``theta``: ``[*shape]``) and its step."""

    def __init__(self, model: str, params: dict, batch: int, dt: float, shape=(2, 3),
                 izhikevich: dict | None = None) -> None:
        unknown = set(params) - set(DEFAULTS[model]) - set(COMMON)
        assert not unknown, f"unknown parameters for {model}: {unknown}"
        self.model, self.shape, self.batch, self.dt = model, tuple(shape), batch, f32(dt)
        self.p = p = {**COMMON, **DEFAULTS[model], **params}
        self.full = (batch, *self.shape)
        self.vars = STATE[model] + (("x",) if p["traces"] else ()) + (("summed",) if p["sum_input"] else ())

        def param(name):
            return None if p.get(name) is None else f32(p[name]).expand(self.shape).clone()

        for name in ("thresh", "rest", "reset", "refrac", "lbound", "theta_plus", "eps_0", "rho_0",
                     "d_thresh"):
            setattr(self, name, param(name))
        self.trace_decay = torch.exp(-self.dt / param("tc_trace"))                 # 3.0 compute_decays
        self.trace_scale = param("trace_scale")
        if "tc_decay" in p:
            self.decay = torch.exp(-self.dt / param("tc_decay"))
        if model == "current_lif":
            self.i_decay = torch.exp(-self.dt / param("tc_i_decay"))
        if model in ("adaptive_lif", "diehl_and_cook"):
            self.theta_decay = torch.exp(-self.dt / param("tc_theta_decay"))
            self.theta = torch.zeros(self.shape)                                   # no batch dim (3.7)
        if model == "izhikevich":                                                  # drawn at construction
            for name in ("a", "b", "c", "d"):
                setattr(self, name, f32(izhikevich[name]).reshape(self.shape).clone())
            self.S = f32(izhikevich["S"]).clone()
        self.reset_state()

    # -- 3.0 set_batch_size / reset_state_variables -------------------------------------
    def reset_state(self) -> None:
        """Initial state (3.0, 3.2-3.12); ``theta`` is never reset (3.7, 3.8), McCullochPitts
        keeps ``v`` (3.2), SRM0 keeps ``rho`` and ``s_prob`` (3.10 resets only v and counters)."""
        m = self.model
        self.s = torch.zeros(self.full, dtype=torch.float32 if m == "pass_through" else torch.bool)
        self.x = torch.zeros(self.full)
        self.summed = torch.zeros(self.full)
        self.refrac_count = torch.zeros(self.full)
        self.i = torch.zeros(self.full)
        if m == "mcculloch_pitts":
            self.v = getattr(self, "v", torch.zeros(self.full))
        elif m in ("if", "subtractive_if"):
            self.v = self.reset.expand(self.full).clone()
        elif m == "boosted_lif":
            self.v = torch.zeros(self.full)
        elif m != "pass_through":
            self.v = self.rest.expand(self.full).clone()
        if m == "izhikevich":
            self.u = self.b * self.v
        if m == "srm0" and not hasattr(self, "rho"):             # recomputed each step, kept by a reset
            self.rho, self.s_prob = torch.zeros(self.full), torch.zeros(self.full)

    def state(self) -> dict[str, torch.Tensor]:
        return {var: getattr(self, var).clone() for var in self.vars}

    # -- one step ---------------------------------------------------------------------
    def step(self, I: torch.Tensor, uniform: torch.Tensor | None = None,
             clamp: torch.Tensor | None = None, unclamp: torch.Tensor | None = None) -> None:
        """``I`` ``[B, *shape]``; ``uniform`` this step's ``[B]`` / ``[B, n]`` random numbers;
        ``clamp`` / ``unclamp`` bool masks over ``shape``."""
        I = getattr(self, "_" + self.model)(I.float().clone(), uniform)
        p = self.p
        if clamp is not None:                                    # 2.4 step 2.5 / 3.0 base
            self.s = torch.where(clamp, torch.ones_like(self.s), self.s)
        if unclamp is not None:
            self.s = torch.where(unclamp, torch.zeros_like(self.s), self.s)
        if p["traces"]:
            self.x = self.x * self.trace_decay
            if p["traces_additive"]:
                self.x = self.x + self.trace_scale * self.s.float()
            else:
                self.x = torch.where(self.s != 0, self.trace_scale, self.x)
        if p["sum_input"]:                                       # the input as forward left it
            self.summed = self.summed + I

    def _spike_and_reset(self, v_threshold: torch.Tensor) -> None:
        self.s = self.v >= v_threshold
        self.refrac_count = torch.where(self.s, self.refrac, self.refrac_count)
        self.v = torch.where(self.s, self.reset, self.v)

    def _lbound(self) -> None:
        if self.lbound is not None:
            self.v = torch.maximum(self.v, self.lbound)

    def _mcculloch_pitts(self, I, _):                            # 3.2
        self.v = I.clone()
        self.s = self.v >= self.thresh
        return I

    def _if(self, I, _):                                         # 3.3
        self.v = torch.where(self.refrac_count <= 0, self.v + I, self.v)
        self.refrac_count = self.refrac_count - self.dt
        self._spike_and_reset(self.thresh)
        self._lbound()
        return I

    def _lif(self, I, _):                                        # 3.4
        self.v = (self.v - self.rest) * self.decay + self.rest
        I = torch.where(self.refrac_count > 0, torch.zeros_like(I), I)   # in place in BindsNET (Q1)
        self.refrac_count = self.refrac_count - self.dt
        self.v = self.v + I
        self._spike_and_reset(self.thresh)
        self._lbound()
        return I

    def _boosted_lif(self, I, _):                                # 3.5: rest = reset = 0, no lbound
        self.v = self.v * self.decay
        I = torch.where(self.refrac_count > 0, torch.zeros_like(I), I)
        self.refrac_count = self.refrac_count - self.dt
        self.v = self.v + I
        self.s = self.v >= self.thresh
        self.refrac_count = torch.where(self.s, self.refrac, self.refrac_count)
        self.v = torch.where(self.s, torch.zeros_like(self.v), self.v)
        return I

    def _current_lif(self, I, _):                                # 3.6
        self.v = (self.v - self.rest) * self.decay + self.rest
        self.i = self.i * self.i_decay
        self.refrac_count = self.refrac_count - self.dt          # before the refractory check
        self.i = self.i + I
        self.v = torch.where(self.refrac_count <= 0, self.v + self.i, self.v)
        self._spike_and_reset(self.thresh)
        self._lbound()
        return I

    def _adaptive_lif(self, I, uniform=None):                    # 3.7 (layers learn: add_layer)
        self.v = (self.v - self.rest) * self.decay + self.rest
        self.theta = self.theta * self.theta_decay
        self.v = torch.where(self.refrac_count <= 0, self.v + I, self.v)
        self.refrac_count = self.refrac_count - self.dt
        self._spike_and_reset(self.thresh + self.theta)
        self.theta = self.theta + self.theta_plus * self.s.float().sum(0)
        if uniform is not None:                                  # 3.8 one_spike, before lbound
            self._keep_one(uniform)
        self._lbound()
        return I

    def _diehl_and_cook(self, I, uniform):                       # 3.8
        return self._adaptive_lif(I, uniform if self.p["one_spike"] else None)

    def _keep_one(self, uniform: torch.Tensor) -> None:
        """Per sample: keep the ``min(floor(u·count), count-1)``-th crossing (flattened
        order); reset, refractoriness and theta already hit all of them (Q12)."""
        flat = self.s.reshape(self.batch, -1)
        kept = torch.zeros_like(flat)
        for b in range(self.batch):
            crossed = flat[b].nonzero().flatten()
            count = len(crossed)
            if count:
                k = min(int(torch.floor(uniform[b] * f32(count))), count - 1)
                kept[b, crossed[k]] = True
        self.s = kept.reshape(self.full)

    def _izhikevich(self, I, _):                                 # 3.9; s: the previous step's spikes
        self.v = torch.where(self.s, self.c, self.v)
        self.u = torch.where(self.s, self.u + self.d, self.u)
        coupling = self.s.reshape(self.batch, -1).float() @ self.S.T      # Σ_k S[j, k] s_k
        I = I + coupling.reshape(self.full)                              # in place in BindsNET
        for _ in range(2):                                               # two half steps
            self.v = self.v + self.dt * 0.5 * (0.04 * self.v * self.v + 5 * self.v + 140 - self.u + I)
        self.u = self.u + self.dt * self.a * (self.b * self.v - self.u)
        self._lbound()
        self.s = self.v >= self.thresh
        return I

    def _srm0(self, I, uniform):                                 # 3.10
        self.v = (self.v - self.rest) * self.decay + self.rest
        self.v = torch.where(self.refrac_count <= 0, self.v + self.eps_0 * I, self.v)
        self.rho = self.rho_0 * torch.exp((self.v - self.thresh) / self.d_thresh)
        self.s_prob = 1 - torch.exp(-self.rho * self.dt)
        self.refrac_count = self.refrac_count - self.dt
        self.s = uniform.reshape(self.full) < self.s_prob
        self.refrac_count = torch.where(self.s, self.refrac, self.refrac_count)
        self.v = torch.where(self.s, self.reset, self.v)
        self._lbound()
        return I

    def _subtractive_if(self, I, _):                             # 3.12: reset by subtraction
        self.v = torch.where(self.refrac_count == 0, self.v + I, self.v)
        self.refrac_count = torch.where(self.refrac_count > 0, self.refrac_count - self.dt,
                                        torch.zeros_like(self.refrac_count))
        self.s = self.v >= self.thresh
        self.refrac_count = torch.where(self.s, self.refrac, self.refrac_count)
        self.v = torch.where(self.s, self.v - self.thresh, self.v)
        self._lbound()
        return I

    def _pass_through(self, I, _):                               # 3.12: s = I
        self.s = I.clone()
        return I


class ReferencePair:
    """``Input X (4,)`` -> ``w`` -> model layer ``Y``, continuing across ``run`` calls (2.4)."""

    def __init__(self, model: str, params: dict, w: torch.Tensor, batch: int = 2, dt: float = 1.0,
                 shape=(2, 3), izhikevich: dict | None = None) -> None:
        self.w = f32(w)
        self.y = ReferenceNeurons(model, params, batch, dt, shape, izhikevich)
        self.x_s = torch.zeros(batch, self.w.shape[0])

    def reset_state(self) -> None:
        """2.6: both layers back to their initial state (X.s = 0)."""
        self.x_s = torch.zeros_like(self.x_s)
        self.y.reset_state()

    def run(self, x: torch.Tensor, ext: torch.Tensor | None = None, uniforms: torch.Tensor | None = None,
            clamp: torch.Tensor | None = None, unclamp: torch.Tensor | None = None) -> dict:
        """``x`` ``[T, B, 4]``, ``ext`` ``[T, B, *shape]``, ``uniforms`` as drawn for this run,
        ``clamp`` / ``unclamp`` ``[T, *shape]`` bool; returns ``{"X.s" | var: [T, B, ...]}``."""
        y, record = self.y, {}
        for t in range(len(x)):
            synaptic = (self.x_s.float() @ self.w).reshape(y.full)      # spikes of step t-1
            if ext is not None:
                synaptic = synaptic + f32(ext[t])
            self.x_s = f32(x[t]).clone()                                  # X first (insertion order)
            y.step(synaptic, None if uniforms is None else uniforms[t],
                   None if clamp is None else clamp[t], None if unclamp is None else unclamp[t])
            record.setdefault("X.s", []).append(self.x_s.clone())
            for var, value in y.state().items():
                record.setdefault(var, []).append(value)
        return {key: torch.stack(values) for key, values in record.items()}


def one_step_predictions(model: str, params: dict, w: torch.Tensor, x_before: torch.Tensor, ext: torch.Tensor,
                         before: dict, dt: float, shape=(2, 3), izhikevich: dict | None = None) -> dict:
    """The reference step applied once to each of ``T`` recorded states (for models whose
    dynamics amplify float rounding, e.g. Izhikevich's upswing, where free runs of two
    correct implementations drift apart): ``before[var]`` ``[T, B, *shape]`` is the state
    before step ``t``, ``x_before`` ``[T, B, 4]`` X's spikes of step ``t-1``. Returns the
    state after each step. Batch-independent, deterministic models only."""
    steps, batch = ext.shape[:2]
    layer = ReferenceNeurons(model, params, steps * batch, dt, shape, izhikevich)
    for var, value in before.items():
        setattr(layer, var, value.reshape(steps * batch, *shape).clone())
    synaptic = (f32(x_before).reshape(steps * batch, -1) @ f32(w)).reshape(layer.full)
    layer.step(synaptic + f32(ext).reshape(layer.full))
    return {var: value.reshape(steps, batch, *shape) for var, value in layer.state().items()}
