"""A plain simulator of spec 2.4 networks with the models snnc added after LIF.

Written from the spec's equations, independently of snnc (it reads a plain
description, never an snnc object): 2.4 (synchronous t-1 delivery, layers in
insertion order, then learning in connection insertion order, then monitors;
normalisation at the end of the run), 3.0 (traces), 3.4 (LIF), 3.7 (AdaptiveLIF),
3.8 (DiehlAndCook without one_spike, which is then identical), 4.1 and 4.3 (dense and
2-D convolution synapses, initial clamping incl. quirk Q17, normalisation), 6.0-6.2
(NoOp weight decay, PostPre, batch reduction, clamp). Everything is float32.
Used by ``test_reference_models.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

NEURON_DEFAULTS = dict(thresh=-52.0, rest=-65.0, reset=-65.0, refrac=5.0, tc_decay=100.0,
                       theta_plus=0.05, tc_theta_decay=1e7, lbound=None,
                       tc_trace=20.0, trace_scale=1.0, traces_additive=False)
ADAPTIVE = ("adaptive_lif", "diehl_and_cook")


# -- a network description, shared by the builder and the reference ------------------

@dataclass
class LayerSpec:
    name: str
    kind: str                     # "input", "lif", "adaptive_lif" or "diehl_and_cook"
    shape: tuple[int, ...]
    traces: bool = False
    params: dict = field(default_factory=dict)   # overrides of NEURON_DEFAULTS
    theta0: torch.Tensor | None = None           # initial theta (adaptive kinds)


@dataclass
class Geometry:
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)


@dataclass
class ConnectionSpec:
    source: str
    target: str
    w: torch.Tensor
    b: torch.Tensor | None = None
    conv: Geometry | None = None  # None: dense
    wmin: float | None = None
    wmax: float | None = None
    weight_decay: float = 0.0
    norm: float | None = None
    rule: str | None = None       # None (NoOp) or "post_pre"
    nu: tuple[float, float] = (0.0, 0.0)
    reduction: str = "sum"


@dataclass
class NetworkSpec:
    dt: float
    batch: int
    learning: bool = True
    layers: list[LayerSpec] = field(default_factory=list)
    connections: list[ConnectionSpec] = field(default_factory=list)
    inputs: dict[str, torch.Tensor] = field(default_factory=dict)   # [T, B, *shape]


def quarters(gen: torch.Generator, shape, low: float, high: float) -> torch.Tensor:
    """Uniform multiples of 1/4 in [low, high]."""
    return low + 0.25 * torch.randint(0, int(4 * (high - low)) + 1, shape, generator=gen).float()


def raster(gen: torch.Generator, steps: int, batch: int, shape, p: float) -> torch.Tensor:
    return (torch.rand((steps, batch, *shape), generator=gen) < p).float()


# -- the reference ------------------------------------------------------------------

def f32(value) -> torch.Tensor:
    return torch.as_tensor(value, dtype=torch.float32)


class ReferenceLayer:
    """One layer's state ``[B, *shape]`` (``theta``: ``[*shape]``) and its step."""

    def __init__(self, spec: LayerSpec, batch: int, dt: float, theta: torch.Tensor | None) -> None:
        self.spec, self.dt = spec, f32(dt)
        p = {**NEURON_DEFAULTS, **spec.params}
        full = (batch, *spec.shape)

        def per_neuron(name: str) -> torch.Tensor:
            return f32(p[name]).expand(spec.shape).clone()

        self.s = torch.zeros(full, dtype=torch.float32 if spec.kind == "input" else torch.bool)
        if spec.traces:
            self.x = torch.zeros(full)
            self.trace_decay = torch.exp(-self.dt / per_neuron("tc_trace"))
            self.trace_scale = per_neuron("trace_scale")
        if spec.kind != "input":
            for name in ("thresh", "rest", "reset", "refrac"):
                setattr(self, name, per_neuron(name))
            self.decay = torch.exp(-self.dt / per_neuron("tc_decay"))
            self.lbound = None if p["lbound"] is None else per_neuron("lbound")
            self.v = self.rest.expand(full).clone()
            self.refrac_count = torch.zeros(full)
        if spec.kind in ADAPTIVE:
            self.theta = torch.zeros(spec.shape) if theta is None else theta.clone()
            self.theta_plus = per_neuron("theta_plus")
            self.theta_decay = torch.exp(-self.dt / per_neuron("tc_theta_decay"))

    def step(self, I: torch.Tensor, learning: bool) -> None:
        adaptive = self.spec.kind in ADAPTIVE
        if self.spec.kind == "input":                       # 3.1: s = I
            self.s = I
        else:                                               # 3.4 / 3.7 steps 1-6
            self.v = (self.v - self.rest) * self.decay + self.rest
            if adaptive and learning:
                self.theta = self.theta * self.theta_decay
            self.v = torch.where(self.refrac_count <= 0, self.v + I, self.v)
            self.refrac_count = self.refrac_count - self.dt
            self.s = self.v >= (self.thresh + self.theta if adaptive else self.thresh)
            self.refrac_count = torch.where(self.s, self.refrac, self.refrac_count)
            self.v = torch.where(self.s, self.reset, self.v)
            if adaptive and learning:
                self.theta = self.theta + self.theta_plus * self.s.float().sum(0)
            if self.lbound is not None:
                self.v = torch.maximum(self.v, self.lbound)
        if self.spec.traces:                                # 3.0: decay, then set or add
            spiked = self.s != 0
            self.x = self.x * self.trace_decay
            if {**NEURON_DEFAULTS, **self.spec.params}["traces_additive"]:
                self.x = self.x + self.trace_scale * spiked.float()
            else:
                self.x = torch.where(spiked, self.trace_scale, self.x)


def patches(x: torch.Tensor, g: Geometry, ky: int, kx: int, out_hw) -> torch.Tensor:
    """``x_pad[b, c, oy·sh + ky·dh, ox·sw + kx·dw]`` for every output position (oy, ox)."""
    B, C, H, W = x.shape
    padded = torch.zeros(B, C, H + 2 * g.padding[0], W + 2 * g.padding[1])
    padded[:, :, g.padding[0]:g.padding[0] + H, g.padding[1]:g.padding[1] + W] = x
    y0, x0 = ky * g.dilation[0], kx * g.dilation[1]
    return padded[:, :, y0:y0 + g.stride[0] * (out_hw[0] - 1) + 1:g.stride[0],
                  x0:x0 + g.stride[1] * (out_hw[1] - 1) + 1:g.stride[1]]


def conv_forward(s: torch.Tensor, w: torch.Tensor, b: torch.Tensor, g: Geometry, out_hw) -> torch.Tensor:
    """Shift-and-add: one kernel offset at a time, summed over input channels."""
    out = b.view(1, -1, 1, 1).expand(s.shape[0], w.shape[0], *out_hw).clone()
    for ky in range(w.shape[2]):
        for kx in range(w.shape[3]):
            out = out + torch.einsum("bchw,oc->bohw", patches(s, g, ky, kx, out_hw), w[:, :, ky, kx])
    return out


def conv_pairs(pre: torch.Tensor, post: torch.Tensor, g: Geometry, kernel) -> torch.Tensor:
    """``[B, C_out, C_in, kh, kw]``: Σ_{oy, ox} pre[patch] · post, per sample."""
    B, C_out, *out_hw = post.shape
    out = torch.zeros(B, C_out, pre.shape[1], *kernel)
    for ky in range(kernel[0]):
        for kx in range(kernel[1]):
            out[..., ky, kx] = torch.einsum("bchw,bohw->boc", patches(pre, g, ky, kx, out_hw), post)
    return out


def initial_weights(c: ConnectionSpec) -> torch.Tensor:
    w = f32(c.w).clone()
    bounded = c.wmin is not None or c.wmax is not None
    both_finite = c.wmin is not None and c.wmax is not None
    if bounded and (c.conv is None or not both_finite):     # 4.1; 4.3 clamps only then (Q17)
        w = w.clamp(min=c.wmin, max=c.wmax)
    return w


def reference_run(spec: NetworkSpec, steps: int, weights=None, thetas=None):
    """Simulate ``spec``; returns recordings, final weights and final thetas.

    ``weights`` / ``thetas`` (from an earlier run) continue learned state after a
    reset; everything else starts from the initial state.
    """
    batch = spec.batch
    thetas = thetas or {}
    layers = {l.name: ReferenceLayer(l, batch, spec.dt, thetas.get(l.name, l.theta0)) for l in spec.layers}
    keys = [(c.source, c.target) for c in spec.connections]
    weights = {k: w.clone() for k, w in (weights or {}).items()} or \
        {k: initial_weights(c) for k, c in zip(keys, spec.connections)}
    record: dict = {}
    for t in range(steps):
        synaptic: dict[str, torch.Tensor] = {}              # 2.4.1: spikes of step t-1
        for key, c in zip(keys, spec.connections):
            source, target = layers[c.source], layers[c.target]
            if c.conv is None:
                post = source.s.float().reshape(batch, -1) @ weights[key]
                post = (post if c.b is None else post + f32(c.b)).reshape(target.s.shape)
            else:
                post = conv_forward(source.s.float(), weights[key], f32(c.b), c.conv, target.s.shape[2:])
            synaptic[c.target] = synaptic.get(c.target, 0) + post
        for l in spec.layers:                               # 2.4.2: insertion order
            I = synaptic.get(l.name, torch.zeros(batch, *l.shape))
            if l.name in spec.inputs:
                I = I + spec.inputs[l.name][t].float()
            layers[l.name].step(I, spec.learning)
        for key, c in zip(keys, spec.connections):          # 2.4.3: learning
            if spec.learning:
                weights[key] = learn(c, weights[key], layers[c.source], layers[c.target])
        for name, layer in layers.items():                  # 2.4.4: monitors
            for var in ("s", "v", "refrac_count", "theta", "x"):
                if hasattr(layer, var):
                    record.setdefault((name, var), []).append(getattr(layer, var).clone())
        for key in keys:
            record.setdefault((key, "w"), []).append(weights[key].clone())
    for key, c in zip(keys, spec.connections):              # end of run: normalisation
        if c.norm is not None:
            w = weights[key]
            if c.conv is None:                              # 4.1: abs column sums, 0 -> 1
                sums = w.abs().sum(0, keepdim=True)
                weights[key] = w * (c.norm / torch.where(sums == 0, torch.ones_like(sums), sums))
            else:                                           # 4.3: signed sum per channel pair
                rows = w.reshape(-1, w[0, 0].numel())
                weights[key] = (rows * (c.norm / rows.sum(1, keepdim=True))).reshape(w.shape)
    recordings = {key: torch.stack(values) for key, values in record.items()}
    final_thetas = {name: layer.theta.clone() for name, layer in layers.items() if hasattr(layer, "theta")}
    return recordings, weights, final_thetas


def learn(c: ConnectionSpec, w: torch.Tensor, pre: ReferenceLayer, post: ReferenceLayer) -> torch.Tensor:
    """6.2 PostPre (depression, then potentiation, reduced over the batch), then 6.0:
    weight decay, then the clamp (not for NoOp)."""
    if c.rule == "post_pre":
        nu0, nu1 = f32(c.nu[0]), f32(c.nu[1])
        reduce = (lambda t: t.sum(0)) if c.reduction == "sum" else (lambda t: t.mean(0))
        s_pre, x_pre, s_post, x_post = pre.s.float(), pre.x, post.s.float(), post.x
        if c.conv is None:
            B = s_pre.shape[0]
            s_pre, x_pre, s_post, x_post = (v.reshape(B, -1) for v in (s_pre, x_pre, s_post, x_post))
            if nu0 != 0:
                w = w - reduce(s_pre[:, :, None] * nu0 * x_post[:, None, :])
            if nu1 != 0:
                w = w + reduce(x_pre[:, :, None] * nu1 * s_post[:, None, :])
        else:
            kernel = tuple(w.shape[2:])
            if nu0 != 0:
                w = w - nu0 * reduce(conv_pairs(s_pre, x_post, c.conv, kernel))
            if nu1 != 0:
                w = w + nu1 * reduce(conv_pairs(x_pre, s_post, c.conv, kernel))
    if c.weight_decay:
        w = w * (f32(1.0) - f32(c.weight_decay))
    if c.rule is not None and (c.wmin is not None or c.wmax is not None):
        w = w.clamp(min=c.wmin, max=c.wmax)
    return w


