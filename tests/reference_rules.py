"""A plain reference for the learning rules of spec 6.0-6.7, written from the spec's
equations and independent of snnc (it imports nothing from it).

A rule reads nothing but the spikes ``s`` and traces ``x`` of its two layers in the
step it runs (and, for ``Rmax``, the target's ``s_prob``): rules run after every
layer has been updated (spec 2.4), so the values a monitor records at step ``t`` are
the ones the rule saw at step ``t``. :func:`replay` therefore needs no neuron model:
it takes those recordings (``[T, B, *layer shape]``) and the initial weights, runs
the rule step by step and returns the weights after every step.

Conventions (spec 6.0): ``nu = (nu0, nu1)``: None -> (0, 0), a number -> (nu, nu), a
pair of numbers or of tensors shaped like ``w``; ``reduction`` over the batch is
"sum" (BindsNET's default; snnc sums for None, ``torch.sum`` and ``torch.squeeze``) or
"mean"; after the rule: ``w *= 1 - weight_decay`` (when non-zero), then the clamp to
``[wmin, wmax]`` for every rule but NoOp. Everything is computed in float64.

Synapses (:class:`Synapses`): dense ``w [n_pre, n_post]``, or a 2-D convolution
``w [C_out, C_in, kh, kw]`` whose synapse ``(o, c, ky, kx)`` joins source neuron
``(c, oy*sh + ky*dh - ph, ox*sw + kx*dw - pw)`` to target neuron ``(o, oy, ox)`` for
every output position; a rule's pair term for that weight is the sum over those
positions (the convolution weight-gradient, spec 6.2 and 6.5). ``pairs(pre, post)``
gives it per sample, ``[B, *w.shape]``.

Reward-modulated rules (6.5-6.7) keep their state per sample: ``p_plus [B, *source]``,
``p_minus [B, *target]``, ``eligibility`` and ``eligibility_trace [B, *w.shape]``. A
``reward`` is a number (or 0-d tensor) or a tensor of one value per sample ``[B]``; the
update is ``R_b(reward[b] * E[b])`` (for the convolution rules, whose BindsNET state has
no batch dimension, that is ``reward * sum_b E[b]`` for a number).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

DTYPE = torch.float64

RULES = ("noop", "post_pre", "weight_dependent_post_pre", "hebbian", "diehl_and_cook",
         "mstdp", "mstdpet", "rmax")
REWARD_RULES = ("mstdp", "mstdpet", "rmax")
RULE_KWARGS = {                                   # constructor keywords and defaults
    "diehl_and_cook": {"x_tar": 0.0, "mu": 1.0},                                    # 6.4a
    "mstdp": {"tc_plus": 20.0, "tc_minus": 20.0, "zero_lag": False},                # 6.5
    "mstdpet": {"tc_plus": 20.0, "tc_minus": 20.0, "tc_e_trace": 25.0, "zero_lag": False},  # 6.6
    "rmax": {"tc_c": 5.0, "tc_e_trace": 25.0},                                      # 6.7
}
STATE_NAMES = ("p_plus", "p_minus", "eligibility", "eligibility_trace")


def f64(value) -> torch.Tensor:
    return torch.as_tensor(value).detach().to(DTYPE).clone()


def learning_rates(nu) -> tuple[torch.Tensor, torch.Tensor]:
    """Spec 6.0: ``(nu0, nu1)``."""
    if nu is None:
        return f64(0.0), f64(0.0)
    if isinstance(nu, (int, float)) or (isinstance(nu, torch.Tensor) and nu.dim() == 0):
        return f64(nu), f64(nu)
    nu0, nu1 = nu
    return f64(nu0), f64(nu1)


def traces(s: torch.Tensor, dt: float, tc_trace: float = 20.0, trace_scale: float = 1.0,
           additive: bool = False, x0: torch.Tensor | None = None) -> torch.Tensor:
    """Spec 3.0: each step ``x *= exp(-dt / tc_trace)``, then ``x += trace_scale * s``
    (additive) or ``x = trace_scale`` where ``s`` (set). ``s`` is ``[T, B, ...]``."""
    decay = math.exp(-dt / tc_trace)
    x = torch.zeros(s.shape[1:], dtype=DTYPE) if x0 is None else f64(x0)
    out = []
    for step in s:
        spiked = step != 0
        x = x * decay
        x = x + trace_scale * spiked.to(DTYPE) if additive else torch.where(spiked, f64(trace_scale), x)
        out.append(x)
    return torch.stack(out)


@dataclass(frozen=True)
class Geometry:
    """A 2-D convolution's geometry (each a pair)."""
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)

    def out_size(self, size) -> tuple[int, int]:
        return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in
                     zip(size, self.kernel, self.stride, self.padding, self.dilation))


class Synapses:
    """Which source neuron each weight joins to which target neuron (see the module doc)."""

    def __init__(self, source_shape, target_shape, geometry: Geometry | None = None) -> None:
        self.source_shape, self.target_shape = tuple(source_shape), tuple(target_shape)
        self.geometry = geometry
        if geometry is None:
            self.w_shape = (math.prod(self.source_shape), math.prod(self.target_shape))
        else:
            c_in, *size = self.source_shape
            assert tuple(self.target_shape[1:]) == geometry.out_size(size), "target shape does not fit"
            self.w_shape = (self.target_shape[0], c_in, *geometry.kernel)

    def pairs(self, pre: torch.Tensor, post: torch.Tensor) -> torch.Tensor:
        """``[B, *w.shape]``: per sample, the sum over every (pre, post) neuron pair a
        weight joins of ``pre * post``; ``pre`` is ``[B, *source]``, ``post`` ``[B, *target]``."""
        pre, post = f64(pre), f64(post)
        B = pre.shape[0]
        if self.geometry is None:
            return pre.reshape(B, -1, 1) * post.reshape(B, 1, -1)
        g = self.geometry
        columns = F.unfold(pre, g.kernel, g.dilation, g.padding, g.stride)   # [B, C_in*kh*kw, L]
        out = torch.bmm(post.reshape(B, self.target_shape[0], -1), columns.transpose(1, 2))
        return out.reshape(B, *self.w_shape)

    def pairs_loop(self, pre: torch.Tensor, post: torch.Tensor) -> torch.Tensor:
        """:meth:`pairs` written as the spec's explicit sum (slow; checks :meth:`pairs`)."""
        pre, post = f64(pre), f64(post)
        B = pre.shape[0]
        if self.geometry is None:
            pre, post = pre.reshape(B, -1), post.reshape(B, -1)
            out = torch.zeros(B, *self.w_shape, dtype=DTYPE)
            for b in range(B):
                for i in range(pre.shape[1]):
                    for j in range(post.shape[1]):
                        out[b, i, j] = pre[b, i] * post[b, j]
            return out
        g = self.geometry
        C_out, C_in, kh, kw = self.w_shape
        H, W = pre.shape[2:]
        out = torch.zeros(B, *self.w_shape, dtype=DTYPE)
        for b in range(B):
            for o in range(C_out):
                for c in range(C_in):
                    for ky in range(kh):
                        for kx in range(kw):
                            for oy in range(post.shape[2]):
                                for ox in range(post.shape[3]):
                                    y = oy * g.stride[0] + ky * g.dilation[0] - g.padding[0]
                                    x = ox * g.stride[1] + kx * g.dilation[1] - g.padding[1]
                                    if 0 <= y < H and 0 <= x < W:
                                        out[b, o, c, ky, kx] += pre[b, c, y, x] * post[b, o, oy, ox]
        return out


class ReferenceRule:
    """One learning rule on one set of synapses; :meth:`step` is one learning step."""

    def __init__(self, name: str, synapses: Synapses, dt: float = 1.0, nu=None, reduction: str = "sum",
                 weight_decay: float = 0.0, wmin=-math.inf, wmax=math.inf, **kwargs) -> None:
        assert name in RULES, name
        assert reduction in ("sum", "mean"), reduction
        unknown = set(kwargs) - set(RULE_KWARGS.get(name, {}))
        assert not unknown, f"{name} takes no {sorted(unknown)}"
        self.name, self.synapses, self.dt = name, synapses, float(dt)
        self.nu0, self.nu1 = learning_rates(nu)
        self.reduction, self.weight_decay = reduction, float(weight_decay)
        self.wmin, self.wmax = f64(wmin), f64(wmax)
        self.kwargs = {**RULE_KWARGS.get(name, {}), **kwargs}
        if name == "weight_dependent_post_pre":                      # 6.3
            assert torch.isfinite(self.wmin).any() and torch.isfinite(self.wmax).any()
        if name == "diehl_and_cook":                                 # 6.4a
            assert torch.isfinite(self.wmax).all()
        self.reset()

    def reset(self) -> None:
        """No state (the value every rule starts with, and snnc's state after a reset)."""
        self.p_plus = self.p_minus = self.eligibility = self.eligibility_trace = None

    def state(self) -> dict[str, torch.Tensor]:
        return {name: getattr(self, name) for name in STATE_NAMES if getattr(self, name) is not None}

    # -- pieces -----------------------------------------------------------------------
    def reduce(self, per_sample: torch.Tensor) -> torch.Tensor:
        """``R_b`` over the leading batch dimension."""
        return per_sample.sum(0) if self.reduction == "sum" else per_sample.mean(0)

    def base(self, w: torch.Tensor) -> torch.Tensor:
        """6.0: weight decay, then (not for NoOp) the clamp to [wmin, wmax]."""
        if self.weight_decay != 0.0:
            w = w * (1.0 - self.weight_decay)
        if self.name != "noop":
            w = torch.minimum(torch.maximum(w, self.wmin), self.wmax)
        return w

    def reward(self, run_kwargs: dict, batch: int) -> torch.Tensor:
        """A number, or one value per sample shaped to multiply ``[B, *w.shape]``."""
        reward = f64(run_kwargs["reward"])          # required: KeyError without it (6.5)
        if reward.dim() == 0:
            return reward
        assert reward.numel() == batch, f"reward of shape {tuple(reward.shape)} for batch {batch}"
        return reward.reshape(batch, *[1] * len(self.synapses.w_shape))

    def _zeros(self, name: str, shape) -> None:
        if getattr(self, name) is None:
            setattr(self, name, torch.zeros(shape, dtype=DTYPE))

    def _point_eligibility(self, s_pre, s_post, run_kwargs) -> None:
        """MSTDP/MSTDPET steps: P+ and P- decay and take this step's spikes, then
        ``E = P+ (x) s_post + s_pre (x) P-`` per sample."""
        k, dt = self.kwargs, self.dt
        a_plus = f64(run_kwargs.get("a_plus", 1.0))
        a_minus = f64(run_kwargs.get("a_minus", -1.0))
        self.p_plus = self.p_plus * math.exp(-dt / k["tc_plus"]) + a_plus * s_pre
        self.p_minus = self.p_minus * math.exp(-dt / k["tc_minus"]) + a_minus * s_post
        pairs = self.synapses.pairs
        self.eligibility = pairs(self.p_plus, s_post) + pairs(s_pre, self.p_minus)

    # -- one step -----------------------------------------------------------------------
    def step(self, w: torch.Tensor, obs: dict[str, torch.Tensor], **run_kwargs) -> torch.Tensor:
        """The weights after one learning step. ``obs`` holds this step's ``s_pre``,
        ``x_pre``, ``s_post``, ``x_post`` and ``s_prob_post`` (those the rule reads),
        each ``[B, *layer shape]``; ``run_kwargs`` the ``reward``, ``a_plus``, ``a_minus``
        of the run call."""
        w = f64(w)
        get = lambda key: f64(obs[key])                          # noqa: E731
        pairs, reduce, name = self.synapses.pairs, self.reduce, self.name
        nu0, nu1 = self.nu0, self.nu1
        if name == "post_pre":                                   # 6.2
            if nu0.any():
                w = w - reduce(nu0 * pairs(get("s_pre"), get("x_post")))
            if nu1.any():
                w = w + reduce(nu1 * pairs(get("x_pre"), get("s_post")))
        elif name == "weight_dependent_post_pre":                # 6.3 (both from the old w)
            delta = torch.zeros_like(w)
            if nu0.any():
                delta = delta - nu0 * reduce(pairs(get("s_pre"), get("x_post"))) * (w - self.wmin)
            if nu1.any():
                delta = delta + nu1 * reduce(pairs(get("x_pre"), get("s_post"))) * (self.wmax - w)
            w = w + delta
        elif name == "hebbian":                                  # 6.4
            w = w + reduce(nu0 * pairs(get("s_pre"), get("x_post")))
            w = w + reduce(nu1 * pairs(get("x_pre"), get("s_post")))
        elif name == "diehl_and_cook":                           # 6.4a: only nu1
            if nu1.any():
                x_pre, s_post = get("x_pre"), get("s_post")
                # (x_pre - x_tar) (x) s_post, summed over the synapses a weight stands for
                term = pairs(x_pre, s_post) - self.kwargs["x_tar"] * pairs(torch.ones_like(x_pre), s_post)
                mu = float(self.kwargs["mu"])
                factor = self.wmax - w if mu == 1.0 else torch.clamp(self.wmax - w, min=0.0) ** mu
                w = w + nu1 * reduce(term) * factor
        elif name in ("mstdp", "mstdpet"):                       # 6.5, 6.6: only nu0
            s_pre, s_post = get("s_pre"), get("s_post")
            B = s_pre.shape[0]
            self._zeros("p_plus", s_pre.shape)
            self._zeros("p_minus", s_post.shape)
            self._zeros("eligibility", (B, *self.synapses.w_shape))
            reward = self.reward(run_kwargs, B)
            zero_lag = bool(self.kwargs["zero_lag"])
            if zero_lag:
                self._point_eligibility(s_pre, s_post, run_kwargs)
            if name == "mstdp":
                w = w + nu0 * reduce(reward * self.eligibility)
            else:
                self._zeros("eligibility_trace", (B, *self.synapses.w_shape))
                tc_e = self.kwargs["tc_e_trace"]
                self.eligibility_trace = (self.eligibility_trace * math.exp(-self.dt / tc_e)
                                          + self.eligibility / tc_e)
                w = w + reduce(nu0 * self.dt * reward * self.eligibility_trace)
            if not zero_lag:
                self._point_eligibility(s_pre, s_post, run_kwargs)
        elif name == "rmax":                                     # 6.7: only nu0
            assert self.synapses.geometry is None, "Rmax is dense only"
            x_pre, s_post, rho = get("x_pre"), get("s_post"), get("s_prob_post")
            B = x_pre.shape[0]
            self._zeros("eligibility_trace", (B, *self.synapses.w_shape))
            k = self.kwargs
            post = s_post - rho / (1.0 + (k["tc_c"] / self.dt) * rho)
            self.eligibility_trace = (self.eligibility_trace * (1.0 - self.dt / k["tc_e_trace"])
                                      + pairs(x_pre, post))
            w = w + nu0 * reduce(self.reward(run_kwargs, B) * self.eligibility_trace)
        return self.base(w)


def replay(rule: ReferenceRule, w0: torch.Tensor, recordings: dict[str, torch.Tensor],
           **run_kwargs) -> torch.Tensor:
    """``[T, *w.shape]``: the weights after every step of a run whose layers recorded
    ``recordings`` (``s_pre``, ``x_pre``, ``s_post``, ``x_post``, ``s_prob_post``, each
    ``[T, B, *shape]``), continuing from ``w0`` and the rule's current state."""
    steps = next(iter(recordings.values())).shape[0]
    w, out = f64(w0), []
    for t in range(steps):
        w = rule.step(w, {key: value[t] for key, value in recordings.items()}, **run_kwargs)
        out.append(w)
    return torch.stack(out)
