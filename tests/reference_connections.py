"""A plain reference of every connection type's signal and of PostPre on it.

Written from the spec (``shared/spec/bindsnet_semantics.md`` 4.1-4.7, 6.0, 6.2 and the
quirks Q15-Q22, Q32, Q47) and imports nothing from snnc. Every weighted connection is
described the same way, by its *synapse map*: one entry per synapse, naming the
pre-synaptic neuron ``pre`` (flat source index), the post-synaptic neuron ``post``
(flat target index) and the weight element ``k`` (flat index into ``w``) it uses.
A convolution has many synapses per weight element, a dense or locally connected
layer one. From that map:

* ``compute``: ``I[b, post] += s[b, pre] · w[k]`` summed over the synapses (plus the
  type's bias), i.e. the input the target receives one step after ``s``;
* ``post_pre``: spec 6.2 per synapse,
  ``Δw[k] = Σ_b Σ_{synapses using k} (−nu0 · s_pre[b, pre] · x_post[b, post]
  + nu1 · x_pre[b, pre] · s_post[b, post])`` (summed over the batch, the default
  reduction), then ``w *= 1 − weight_decay`` and the clamp to ``[wmin, wmax]``
  (6.0); weight elements that no synapse uses (the zeros of a sparse or locally
  connected matrix) stay zero. Written for any channel count, stride, padding and
  dilation, i.e. without BindsNET's Q32 scrambling;
* ``normalize``: the type's rule of 4.1-4.6 (conventions differ, Q47).

``MaxPool*`` keeps its firing-rate estimate per source neuron (4.4) and
``MeanField`` averages over the whole batch and layer (4.7). All arithmetic is
float32; the synapse maps are built with plain loops, so they are meant for the tiny
layers of the tests.
"""
from __future__ import annotations

import itertools
import math

import torch


def _prod(shape) -> int:
    return math.prod(int(n) for n in shape)


def _flat(index, shape) -> int:
    """Row-major flat index of ``index`` in ``shape``."""
    flat = 0
    for i, n in zip(index, shape):
        flat = flat * n + i
    return flat


def _grid(shape):
    return itertools.product(*(range(n) for n in shape))


def _tuple(value, dims: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * dims


def out_size(size, kernel, stride, padding=0, dilation=1) -> tuple[int, ...]:
    """``floor((n + 2p − d(k − 1) − 1) / s) + 1`` per spatial dimension (torch's rule)."""
    dims = len(size)
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in zip(
        size, _tuple(kernel, dims), _tuple(stride, dims), _tuple(padding, dims), _tuple(dilation, dims)))


# -- weighted connections: a synapse map ------------------------------------------------

class Weighted:
    """A connection described by its synapses ``(pre, post, k)``; see the module text."""

    bias_per_channel = False       # conv: b[C_out] is added to every position of its channel

    def __init__(self, source_shape, target_shape, w_shape, synapses) -> None:
        self.source_shape = tuple(source_shape)
        self.target_shape = tuple(target_shape)
        self.w_shape = tuple(w_shape)
        pre, post, k = zip(*synapses) if synapses else ((), (), ())
        self.pre = torch.tensor(pre, dtype=torch.long)
        self.post = torch.tensor(post, dtype=torch.long)
        self.k = torch.tensor(k, dtype=torch.long)
        used = torch.zeros(_prod(self.w_shape), dtype=torch.bool)
        used[self.k] = True
        self.used = used.view(self.w_shape)   # weight elements some synapse uses

    def compute(self, s: torch.Tensor, params: dict) -> torch.Tensor:
        """Input to the target, ``[B, *target_shape]``, for source spikes ``s`` ``[B, *source_shape]``;
        ``params``: ``w`` (any float dtype, read as float32) and optional ``b``."""
        batch = s.shape[0]
        s = s.reshape(batch, -1).float()
        w = params["w"].float().reshape(-1)
        out = torch.zeros(batch, _prod(self.target_shape))
        out.index_add_(1, self.post, s[:, self.pre] * w[self.k])
        out = out.view(batch, *self.target_shape)
        b = params.get("b")
        if b is not None:
            out = out + _bias(b.float(), self.target_shape, self.bias_per_channel)
        return out

    def post_pre_delta(self, s_pre, x_pre, s_post, x_post) -> tuple[torch.Tensor, torch.Tensor]:
        """The depression ``Σ s_pre·x_post`` and potentiation ``Σ x_pre·s_post`` sums per
        weight element (shape of ``w``), already summed over the batch and over every
        synapse sharing the element (the rates ``nu`` not applied)."""
        batch = s_pre.shape[0]
        s_pre, x_pre = s_pre.reshape(batch, -1).float(), x_pre.reshape(batch, -1).float()
        s_post, x_post = s_post.reshape(batch, -1).float(), x_post.reshape(batch, -1).float()
        depression = torch.zeros(_prod(self.w_shape))
        depression.index_add_(0, self.k, (s_pre[:, self.pre] * x_post[:, self.post]).sum(0))
        potentiation = torch.zeros(_prod(self.w_shape))
        potentiation.index_add_(0, self.k, (x_pre[:, self.pre] * s_post[:, self.post]).sum(0))
        return depression.view(self.w_shape), potentiation.view(self.w_shape)

    def post_pre(self, w, s_pre, x_pre, s_post, x_post, nu, wmin=-math.inf, wmax=math.inf,
                 weight_decay: float = 0.0) -> torch.Tensor:
        """One step of PostPre (6.2) and the base update (6.0) on ``w`` (a new tensor):
        ``w −= nu0·D``, ``w += nu1·P``, ``w *= 1 − weight_decay`` (unless 0), clamp when a
        bound is finite; unused weight elements stay zero."""
        depression, potentiation = self.post_pre_delta(s_pre, x_pre, s_post, x_post)
        w = w.float().clone()
        if nu[0] != 0:
            w = w - nu[0] * depression
        if nu[1] != 0:
            w = w + nu[1] * potentiation
        if weight_decay != 0:
            w = w * (1.0 - weight_decay)
        wmin, wmax = torch.as_tensor(wmin, dtype=torch.float32), torch.as_tensor(wmax, dtype=torch.float32)
        if torch.isfinite(wmin).any() or torch.isfinite(wmax).any():
            w = torch.maximum(torch.minimum(w, wmax), wmin)
        return torch.where(self.used, w, torch.zeros(()))


def _bias(b: torch.Tensor, target_shape, per_channel: bool) -> torch.Tensor:
    if per_channel:                                   # [C_out] -> [C_out, 1, ...]
        return b.view(-1, *([1] * (len(target_shape) - 1)))
    if b.numel() == 1:
        return b.reshape(())
    return b.view(target_shape)                       # [target.n] -> target shape


class Dense(Weighted):
    """``Connection`` (4.1) and ``SparseConnection`` (4.2): ``w[i, j]`` joins source ``i`` to
    target ``j`` (flattened layers). With a ``pattern`` (``[source.n, target.n]`` bool) only
    those entries are synapses: a sparse matrix keeps its zeros."""

    def __init__(self, source_shape, target_shape, pattern: torch.Tensor | None = None) -> None:
        n_source, n_target = _prod(source_shape), _prod(target_shape)
        synapses = [(i, j, i * n_target + j) for i in range(n_source) for j in range(n_target)
                    if pattern is None or bool(pattern[i, j])]
        super().__init__(source_shape, target_shape, (n_source, n_target), synapses)

    @staticmethod
    def normalize(w: torch.Tensor, norm: float) -> torch.Tensor:
        """4.1: every column scaled so that Σ_i |w[i, j]| = norm (a zero column divides by 1)."""
        sums = w.float().abs().sum(0, keepdim=True)
        sums = torch.where(sums == 0, torch.ones(()), sums)
        return w.float() * (norm / sums)


class Conv(Weighted):
    """``Conv1d/2d/3dConnection`` (4.3): ``I[b, o, *y] = b[o] + Σ_{c, *κ} w[o, c, *κ] ·
    s[b, c, *(y·stride + κ·dilation − padding)]`` over the positions inside the source
    (zero padding). Source ``[C_in, *size]``, target ``[C_out, *out_size]``."""

    bias_per_channel = True

    def __init__(self, source_shape, out_channels: int, kernel, stride=1, padding=0, dilation=1) -> None:
        in_channels, *size = source_shape
        dims = len(size)
        kernel, stride = _tuple(kernel, dims), _tuple(stride, dims)
        padding, dilation = _tuple(padding, dims), _tuple(dilation, dims)
        outs = out_size(size, kernel, stride, padding, dilation)
        self.kernel = kernel
        target_shape = (out_channels, *outs)
        w_shape = (out_channels, in_channels, *kernel)
        synapses = []
        for o, c in itertools.product(range(out_channels), range(in_channels)):
            for y in _grid(outs):
                for kappa in _grid(kernel):
                    at = tuple(yi * s + ki * d - p for yi, ki, s, d, p in zip(y, kappa, stride, dilation, padding))
                    if all(0 <= a < n for a, n in zip(at, size)):
                        synapses.append((_flat((c, *at), source_shape), _flat((o, *y), target_shape),
                                         _flat((o, c, *kappa), w_shape)))
        super().__init__(source_shape, target_shape, w_shape, synapses)

    @staticmethod
    def normalize(w: torch.Tensor, norm: float) -> torch.Tensor:
        """4.3: each (output, input) channel kernel scaled by norm / (its signed sum)."""
        rows = w.float().reshape(w.shape[0] * w.shape[1], -1)
        return (rows * (norm / rows.sum(1, keepdim=True))).view(w.shape)


def local_geometry(input_shape, kernel, stride) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """``LocalConnection``: kernel and stride pairs and the output grid ``conv_size``."""
    kernel, stride = _tuple(kernel, 2), _tuple(stride, 2)
    conv = tuple((n - k) // s + 1 for n, k, s in zip(input_shape, kernel, stride))
    return kernel, stride, conv


def local_locations(input_shape, kernel, stride) -> torch.Tensor:
    """4.5's ``locations[k1·k_w + k2, c1·conv_w + c2]``: the flat source index of kernel
    element (k1, k2) at output position (c1, c2) (square inputs: row stride = width)."""
    kernel, stride, conv = local_geometry(input_shape, kernel, stride)
    locations = torch.zeros(_prod(kernel), _prod(conv), dtype=torch.long)
    for k1, k2, c1, c2 in _grid((*kernel, *conv)):
        row, col = c1 * stride[0] + k1, c2 * stride[1] + k2
        locations[k1 * kernel[1] + k2, c1 * conv[1] + c2] = row * input_shape[1] + col
    return locations


class Local(Weighted):
    """``LocalConnection`` (4.5): a dense ``[source.n, target.n]`` matrix whose synapses join
    target ``f·conv_prod + c`` (filter ``f`` at output position ``c``) to the source
    pixels of its receptive field; every other entry is a structural zero (``mask``)."""

    def __init__(self, source_shape, target_shape, input_shape, kernel, stride, n_filters: int) -> None:
        self.input_shape = tuple(input_shape)
        self.kernel_pair, _, self.conv = local_geometry(input_shape, kernel, stride)
        locations = local_locations(input_shape, kernel, stride)
        n_target = _prod(target_shape)
        conv_prod = _prod(self.conv)
        synapses = []
        for f in range(n_filters):
            for c in range(conv_prod):
                j = f * conv_prod + c
                for kk in range(locations.shape[0]):
                    i = int(locations[kk, c])
                    synapses.append((i, j, i * n_target + j))
        super().__init__(source_shape, target_shape, (_prod(source_shape), n_target), synapses)
        self.mask = ~self.used                 # BindsNET's ``mask``: the out-of-field entries

    def normalize(self, w: torch.Tensor, norm: float) -> torch.Tensor:
        """4.5: ``norm`` is per kernel element (× kernel_prod); signed column sums, no guard."""
        w = w.float()
        return w * (norm * _prod(self.kernel_pair) / w.sum(0, keepdim=True))


class LocalND(Weighted):
    """``LocalConnection1D/2D/3D`` (4.6): ``w[c, f·P + p, κ]`` joins source ``(c, p·stride + κ)``
    (position ``p`` and kernel element ``κ`` row-major over the spatial axes, no padding)
    to target neuron ``f·P + p``; every weight element is its own synapse."""

    def __init__(self, source_shape, kernel, stride, n_filters: int) -> None:
        channels, *size = source_shape
        dims = len(size)
        kernel, stride = _tuple(kernel, dims), _tuple(stride, dims)
        self.conv = out_size(size, kernel, stride)
        positions, kernel_prod = _prod(self.conv), _prod(kernel)
        w_shape = (channels, n_filters * positions, kernel_prod)
        synapses = []
        for c, f in itertools.product(range(channels), range(n_filters)):
            for p, y in enumerate(_grid(self.conv)):
                for kk, kappa in enumerate(_grid(kernel)):
                    at = tuple(yi * s + ki for yi, s, ki in zip(y, stride, kappa))
                    synapses.append((_flat((c, *at), source_shape), f * positions + p,
                                     _flat((c, f * positions + p, kk), w_shape)))
        super().__init__(source_shape, (n_filters * positions,), w_shape, synapses)

    def with_target(self, target_shape) -> "LocalND":
        """The target's own shape (any shape with ``n_filters · P`` neurons, row-major)."""
        assert _prod(target_shape) == _prod(self.target_shape)
        self.target_shape = tuple(target_shape)
        return self

    @staticmethod
    def normalize(w: torch.Tensor, norm: float) -> torch.Tensor:
        """4.6: each ``[c, f·P + p]`` row over the kernel scaled by norm / (its signed sum)."""
        rows = w.float().reshape(-1, w.shape[-1])
        return (rows * (norm / rows.sum(1, keepdim=True))).view(w.shape)


# -- unweighted connections -------------------------------------------------------------

class MaxPool:
    """``MaxPool1d/2d/3dConnection`` (4.4): per source neuron a firing-rate estimate,
    ``rates −= decay·rates; rates += s`` at every ``compute``; the output of each pooling
    window (torch's max-pool geometry, padding never chosen) is the spike value of the
    input with the highest rate, the first in window scan order on ties."""

    def __init__(self, source_shape, kernel, stride=None, padding=0, dilation=1, decay: float = 1.0) -> None:
        channels, *size = source_shape
        dims = len(size)
        self.source_shape = tuple(source_shape)
        self.kernel = _tuple(kernel, dims)
        self.stride = _tuple(kernel if stride is None else stride, dims)
        self.padding, self.dilation = _tuple(padding, dims), _tuple(dilation, dims)
        self.target_shape = (channels, *out_size(size, self.kernel, self.stride, self.padding, self.dilation))
        self.decay = torch.tensor(decay, dtype=torch.float32)
        self.windows = []        # per target neuron (flat): the flat source indices, scan order
        for c in range(channels):
            for y in _grid(self.target_shape[1:]):
                members = []
                for kappa in _grid(self.kernel):
                    at = tuple(yi * s + ki * d - p for yi, ki, s, d, p in
                               zip(y, kappa, self.stride, self.dilation, self.padding))
                    if all(0 <= a < n for a, n in zip(at, size)):
                        members.append(_flat((c, *at), self.source_shape))
                self.windows.append(members)
        self.rates: torch.Tensor | None = None

    def reset(self, batch: int) -> None:
        self.rates = torch.zeros(batch, *self.source_shape)

    def compute(self, s: torch.Tensor, params: dict | None = None) -> torch.Tensor:
        batch = s.shape[0]
        if self.rates is None or self.rates.shape[0] != batch:
            self.reset(batch)
        self.rates = self.rates - self.decay * self.rates
        self.rates = self.rates + s.float()
        rates, spikes = self.rates.reshape(batch, -1), s.float().reshape(batch, -1)
        out = torch.zeros(batch, len(self.windows))
        for b in range(batch):
            for j, members in enumerate(self.windows):
                best = members[0]
                for i in members[1:]:
                    if rates[b, i] > rates[b, best]:
                        best = i
                out[b, j] = spikes[b, best]
        return out.view(batch, *self.target_shape)


class MeanField:
    """``MeanFieldConnection`` (4.7): every target neuron of every sample receives
    ``mean(s over the batch and all source neurons) · w`` (``w`` a scalar or one value per
    target neuron)."""

    def __init__(self, target_shape) -> None:
        self.target_shape = tuple(target_shape)

    def compute(self, s: torch.Tensor, params: dict) -> torch.Tensor:
        w = params["w"].float()
        w = w.reshape(()) if w.numel() == 1 else w.reshape(self.target_shape)
        mean = s.float().mean()
        return (mean * w).expand(s.shape[0], *self.target_shape).clone()


# -- a driver ---------------------------------------------------------------------------

def deliver(model, inputs: torch.Tensor, params: dict | None = None) -> torch.Tensor:
    """Spec 2.4's one-step delay: the input a target receives at every step of a run
    whose source emits ``inputs`` ``[T, B, *source_shape]`` (step 0 sees zero spikes)."""
    previous = torch.zeros_like(inputs[0])
    out = []
    for step in inputs:
        out.append(model.compute(previous, params or {}))
        previous = step
    return torch.stack(out)
