"""A plain-torch reference of a MulticompartmentConnection network (imports nothing from snnc).

Written from the spec (``shared/spec/bindsnet_semantics.md``): 2.4 (step order), 3.0,
3.3, 3.4 (traces, IF, LIF), 4.8 (the fold), 4.9 (features) and 6.8 (MCC rules). The
network is ``Input X -> target Y`` through one MCC, optionally with an external drive
into ``Y``. A pipeline is plain data: ``[(class_name, kwargs), ...]`` with the kwargs of
the BindsNET constructor (``value``, ``norm``, ``norm_frequency``, ``degrade_function``,
``learning_rule`` given by *name*, ``nu``, ``range``, ``decay`` and the rule's extras).

Per step ``t`` (2.4): the target's input is ``s_X(t-1)·A + Σ_i O[i, :]`` (+ drive), with
``A`` / ``O`` folded in pipeline order (``mul``: ``A <- a·A, O <- a·O``; ``add``:
``O <- O + b``; ``sub``: ``O <- O - b``; absent ``A`` = all ones); features with
``norm_frequency="time step"`` normalise right after that product; then X and Y step
(traces after the spike decision); then every rule updates (6.8, batch summed), then
the base update (``value *= 1 - decay`` unless the factor is 1, clamp to the range).
At the end of ``run`` every feature with a ``norm`` is normalised (signed column sums,
zero sums replaced by 1), except a ``Weight`` with ``norm_frequency="time step"``,
which normalises only per step (BindsNET 0.3.4 behaves so; 4.9 does not say it).
"""
from __future__ import annotations

import math

import torch

OPS = {"Weight": "mul", "Intensity": "mul", "Mask": "mul", "Probability": "mul", "Bias": "add",
       "Degradation": "sub"}
DEFAULT_RANGE = {"Weight": (-math.inf, math.inf), "Bias": (-math.inf, math.inf), "Probability": (0.0, 1.0)}


def _decay(dt: float, tc: float) -> torch.Tensor:
    return torch.exp(-torch.tensor(dt, dtype=torch.float32) / torch.tensor(tc, dtype=torch.float32))


class Neurons:
    """IF (3.3) or LIF (3.4) with an optional non-additive or additive trace (3.0)."""

    def __init__(self, kind, n, batch, dt, thresh=-52.0, rest=-65.0, reset=-65.0, refrac=5.0,
                 tc_decay=100.0, traces=False, traces_additive=False, tc_trace=20.0, **_):
        self.kind, self.dt, self.thresh, self.rest, self.reset, self.refrac = kind, dt, thresh, rest, reset, refrac
        self.decay = _decay(dt, tc_decay)
        self.traces, self.additive, self.trace_decay = traces, traces_additive, _decay(dt, tc_trace)
        self.v = torch.full((batch, n), rest if kind == "lif" else reset)
        self.refrac_count = torch.zeros(batch, n)
        self.s = torch.zeros(batch, n, dtype=torch.bool)
        self.x = torch.zeros(batch, n)

    def step(self, current: torch.Tensor) -> None:
        if self.kind == "lif":
            self.v = (self.v - self.rest) * self.decay + self.rest
            current = torch.where(self.refrac_count > 0, torch.zeros(()), current)
            self.refrac_count = self.refrac_count - self.dt
            self.v = self.v + current
        else:
            self.v = self.v + (self.refrac_count <= 0).float() * current
            self.refrac_count = self.refrac_count - self.dt
        self.s = self.v >= self.thresh
        self.refrac_count = torch.where(self.s, torch.tensor(float(self.refrac)), self.refrac_count)
        self.v = torch.where(self.s, torch.tensor(float(self.reset)), self.v)
        self.trace_step()

    def trace_step(self) -> None:
        if self.traces:
            self.x = self.x * self.trace_decay
            self.x = self.x + self.s.float() if self.additive else torch.where(self.s, torch.ones(()), self.x)


class InputLayer(Neurons):
    def __init__(self, n, batch, dt, traces=False, traces_additive=False, tc_trace=20.0, **_):
        super().__init__("input", n, batch, dt, traces=traces, traces_additive=traces_additive, tc_trace=tc_trace)
        self.s = torch.zeros(batch, n)

    def step(self, spikes: torch.Tensor) -> None:
        self.s = spikes != 0
        self.trace_step()


def _outer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a[:, :, None] * b[:, None, :]


class Rule:
    """An MCC learning rule (6.8) on a dense ``[n_src, n_tgt]`` value; the per-sample
    terms reduced over the batch by ``reduction(term, dim=0)`` (default: a sum)."""

    def __init__(self, kind, dt, nu=None, range=None, decay=0.0, reduction=None, x_tar=0.0, mu=1.0,
                 tc_plus=20.0, tc_minus=20.0, tc_e_trace=25.0, **_):
        self.kind, self.dt = kind, dt
        self.nu = [0.2, 0.1] if nu is None else [float(nu[0]), float(nu[1])]
        self.min, self.max = range
        self.factor = 1.0 - decay
        self.reduce = (lambda t: t.sum(0)) if reduction is None else (lambda t: reduction(t, dim=0))
        self.x_tar, self.mu = x_tar, mu
        self.plus, self.minus, self.e_decay = _decay(dt, tc_plus), _decay(dt, tc_minus), _decay(dt, tc_e_trace)
        self.tc_e_trace = tc_e_trace
        self.reset()

    def reset(self) -> None:
        self.p_plus = self.p_minus = self.e = self.et = None

    def update(self, w, s_pre, x_pre, s_post, x_post, reward=None, a_plus=1.0, a_minus=-1.0):
        s_pre, s_post = s_pre.float(), s_post.float()
        nu0, nu1, reduce = self.nu[0], self.nu[1], self.reduce
        if self.kind == "PostPre":
            if nu0 != 0:
                w = w - reduce(_outer(s_pre, nu0 * x_post))
            if nu1 != 0:
                w = w + reduce(_outer(x_pre, nu1 * s_post))
        elif self.kind == "Hebbian":
            w = w + nu0 * reduce(_outer(s_pre, x_post)) + nu1 * reduce(_outer(x_pre, s_post))
        elif self.kind == "DiehlAndCook":
            if nu1 != 0:
                room = self.max - w
                factor = room if self.mu == 1.0 else room.clamp(min=0.0) ** self.mu
                w = w + nu1 * reduce(_outer(x_pre - self.x_tar, s_post)) * factor
        elif self.kind in ("MSTDP", "MSTDPET"):
            if self.p_plus is None:
                self.p_plus, self.p_minus = torch.zeros_like(s_pre), torch.zeros_like(s_post)
                self.e = self.et = torch.zeros(s_pre.shape[0], *w.shape)
            if self.kind == "MSTDP":
                w = w + nu0 * reduce(reward * self.e)
            else:
                self.et = self.et * self.e_decay + self.e / self.tc_e_trace
                w = w + reduce(nu0 * self.dt * reward * self.et)
            self.p_plus = self.p_plus * self.plus + a_plus * s_pre
            self.p_minus = self.p_minus * self.minus + a_minus * s_post
            self.e = _outer(self.p_plus, s_post) + _outer(s_pre, self.p_minus)
        elif self.kind != "NoOp":
            raise KeyError(self.kind)
        if self.kind == "NoOp":
            return w
        if self.factor != 1.0:
            w = w * self.factor
        return w.clamp(self.min, self.max)


def normalize(value: torch.Tensor, norm) -> torch.Tensor:
    """4.9: ``value *= norm / value.sum(0)`` (signed column sums; zero sums count as 1)."""
    sums = value.sum(0)
    return value * (torch.as_tensor(norm, dtype=value.dtype) / torch.where(sums == 0, torch.ones_like(sums), sums))


class Feature:
    def __init__(self, cls: str, kwargs: dict, dt: float):
        self.cls, self.op = cls, OPS[cls]
        self.value = kwargs["value"].clone()
        self.dtype = self.value.dtype
        self.norm = kwargs.get("norm")
        self.each_step = kwargs.get("norm_frequency", "sample") == "time step"
        self.function = kwargs.get("degrade_function")
        rule = kwargs.get("learning_rule")
        extras = {k: kwargs[k] for k in ("x_tar", "mu", "tc_plus", "tc_minus", "tc_e_trace") if k in kwargs}
        rng = kwargs.get("range") or DEFAULT_RANGE.get(cls, (-1.0, 1.0))
        if rule == "DiehlAndCook" and kwargs.get("range") is None:
            rng = (0.0, 1.0)
        self.rule = None if rule is None else Rule(rule, dt, kwargs.get("nu"), rng, kwargs.get("decay", 0.0),
                                                   kwargs.get("reduction"), **extras)

    def contribution(self, generator) -> torch.Tensor:
        v = self.value
        if self.cls == "Probability":
            return torch.bernoulli(v.float(), generator=generator)
        if self.cls == "Degradation" and self.function is not None:
            return self.function(v)
        return v


class Reference:
    """``X`` (Input) -> ``Y`` (``target_kind`` "lif" / "if") through one MCC with ``pipeline``."""

    def __init__(self, pipeline, n_src, n_tgt, batch=1, dt=1.0, source=None, target=None, target_kind="lif",
                 seed=0):
        self.dt = dt
        self.features = [Feature(cls, kwargs, dt) for cls, kwargs in pipeline]
        self.X = InputLayer(n_src, batch, dt, **(source or {}))
        self.Y = Neurons(target_kind, n_tgt, batch, dt, **(target or {}))
        self.generator = torch.Generator().manual_seed(seed)
        self.n_tgt = n_tgt
        self.monitors_emptied = False

    def signal(self, s_prev: torch.Tensor) -> torch.Tensor:
        factor = offset = None
        for f in self.features:
            part = f.contribution(self.generator)
            if f.op == "mul":
                factor = part if factor is None else part * factor
                offset = None if offset is None else part * offset
            else:
                part = part if f.op == "add" else -part
                offset = part if offset is None else offset + part
        if factor is None:
            factor = torch.ones(s_prev.shape[1], self.n_tgt)
        if not factor.is_floating_point():
            factor = factor.float()
        out = (s_prev.to(factor.dtype) @ factor).float()
        if offset is not None:
            out = out + offset.float().sum(0)
        return out

    def run(self, x: torch.Tensor, drive=None, reward=None, a_plus=1.0, a_minus=-1.0) -> dict:
        """``x`` ``[T, B, n_src]``; returns the target's ``s``/``v``/``x`` and every
        feature's value after each step, stacked over ``T``."""
        record = {"s": [], "v": [], "x": [], "values": []}
        for t in range(x.shape[0]):
            current = self.signal(self.X.s)
            for f in self.features:
                if f.each_step and f.norm is not None:
                    f.value = normalize(f.value, f.norm)
            if drive is not None:
                current = current + drive[t]
            self.X.step(x[t])
            self.Y.step(current)
            for f in self.features:
                if f.rule is not None:
                    f.value = f.rule.update(f.value.float(), self.X.s, self.X.x, self.Y.s, self.Y.x, reward,
                                            a_plus, a_minus).to(f.dtype)
            record["s"].append(self.Y.s.clone())
            record["v"].append(self.Y.v.clone())
            record["x"].append(self.Y.x.clone())
            record["values"].append([f.value.clone() for f in self.features])
        for f in self.features:
            if f.norm is not None and not f.each_step:    # a "time step" Weight only per step
                f.value = normalize(f.value, f.norm)
        out = {k: torch.stack(record[k]) for k in ("s", "v", "x")}
        out["values"] = record["values"]
        return out

    def reset_state_variables(self) -> None:
        """2.6: layer state, monitors and every MCC rule's state (not the values)."""
        self.monitors_emptied = True
        batch, n_src = self.X.s.shape
        self.X.s = torch.zeros(batch, n_src, dtype=torch.bool)
        self.X.x = torch.zeros_like(self.X.x)
        self.Y.v = torch.full_like(self.Y.v, self.Y.rest if self.Y.kind == "lif" else self.Y.reset)
        self.Y.refrac_count.zero_()
        self.Y.s = torch.zeros_like(self.Y.s)
        self.Y.x = torch.zeros_like(self.Y.x)
        for f in self.features:
            if f.rule is not None:
                f.rule.reset()
