"""Convolutions and max pooling over multi-channel layers (spec 4.3, 4.4)."""
from __future__ import annotations

import math
import operator

import torch

from snnc.errors import SnncError
from snnc.network.connection_base import AbstractConnection
from snnc.network.nodes import Nodes
from snnc.network.weights import normalize_rows_signed


def _tuple(owner: str, name: str, value, minimum: int, dims: int) -> tuple[int, ...]:
    """An int or ``dims`` ints (each >= ``minimum``) as a tuple, like torch's ``_pair``."""
    try:
        values = (operator.index(value),) * dims if not isinstance(value, (tuple, list)) else \
            tuple(operator.index(v) for v in value)
    except TypeError:
        values = ()
    if len(values) != dims or any(v < minimum for v in values):
        raise SnncError(f"{owner}: {name} must be an int >= {minimum} or {dims} of them, got {value!r}")
    return values


def _geometry(connection, source: Nodes, target: Nodes, dims: int, kernel_size, stride, padding,
              dilation, pooled: bool) -> None:
    """Check and keep the geometry; the target's shape must be the output's."""
    owner = connection.describe()
    connection.kernel_size = _tuple(owner, "kernel_size", kernel_size, 1, dims)
    connection.stride = _tuple(owner, "stride", stride, 1, dims)
    connection.padding = _tuple(owner, "padding", padding, 0, dims)
    connection.dilation = _tuple(owner, "dilation", dilation, 1, dims)
    if len(source.shape) != dims + 1:
        raise SnncError(f"{owner}: source shape {tuple(source.shape)} must be (channels, "
                        f"{dims} spatial sizes)")
    channels, *size = source.shape
    out_size = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in zip(
        size, connection.kernel_size, connection.stride, connection.padding, connection.dilation))
    if any(n < 1 for n in out_size):
        raise SnncError(f"{owner}: the kernel {connection.kernel_size} (dilation {connection.dilation}) "
                        f"does not fit the padded source {tuple(size)} (padding {connection.padding})")
    expected = (channels if pooled else target.shape[0], *out_size)
    if len(target.shape) != dims + 1 or tuple(target.shape) != expected and \
            (pooled or tuple(target.shape[1:]) != out_size):
        raise SnncError(f"{owner}: target shape {tuple(target.shape)}, expected "
                        f"({'channels' if not pooled else channels}, {', '.join(map(str, out_size))})")


class _ConvConnection(AbstractConnection):
    """A convolution over ``dims`` spatial dimensions (torch's ``conv{1,2,3}d``):
    ``I_target[b, o, p] += b[o] + Σ_{c, k} w[o, c, k] · s_pad[b, c, p·stride + k·dilation]``,
    ``s_pad`` the source spikes zero-padded by ``padding``.

    Source ``[C_in, *size]``, target ``[C_out, *out]`` with ``out = floor((size + 2·padding
    − dilation·(kernel − 1) − 1) / stride) + 1``, ``w`` ``[C_out, C_in, *kernel]``, ``b``
    ``[C_out]`` (zeros by default). Without ``w`` the weights are U[0, 1) clamped to
    ``[wmin, wmax]`` when a bound is infinite, else ``wmin + U[0, 1)·(wmax − wmin)``; a
    given ``w`` is clamped only when a bound is infinite (BindsNET's numbers, quirk Q17).
    With ``norm``, at the end of each run every (output, input) channel kernel is scaled
    so that its signed sum is ``norm``. A learning rule sums over every output position.
    """

    dims = 2

    def __init__(
        self,
        source: Nodes,
        target: Nodes,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        nu=None,
        reduction=None,
        weight_decay: float = 0.0,
        w_dtype: torch.dtype = torch.float32,
        *,
        w: torch.Tensor | None = None,
        b: torch.Tensor | None = None,
        wmin=None,
        wmax=None,
        norm: float | None = None,
        update_rule=None,
        **kwargs,
    ) -> None:
        super().__init__(source, target, nu, reduction, weight_decay, wmin=wmin, wmax=wmax, norm=norm)
        owner = self.describe()
        _geometry(self, source, target, self.dims, kernel_size, stride, padding, dilation, pooled=False)
        in_channels, out_channels = source.shape[0], target.shape[0]
        if w_dtype != torch.float32:
            raise SnncError(f"{owner}: w_dtype {w_dtype} is not supported; use torch.float32")
        expected = (out_channels, in_channels, *self.kernel_size)
        for name, bound in (("wmin", self.wmin), ("wmax", self.wmax)):
            try:
                fits = torch.broadcast_shapes(tuple(bound.shape), expected) == expected
            except RuntimeError:
                fits = False
            if not fits:
                raise SnncError(f"{owner}: {name} has shape {tuple(bound.shape)}, expected a scalar "
                                f"or a tensor broadcastable to w's {expected}")
        finite = bool(torch.isfinite(self.wmin).all() and torch.isfinite(self.wmax).all())
        if w is None:
            w = torch.rand(expected)
            w = self.wmin + (self.wmax - self.wmin) * w if finite else torch.clamp(w, self.wmin, self.wmax)
        else:
            w = torch.as_tensor(w).detach().to(torch.float32).clone(memory_format=torch.contiguous_format)
            if tuple(w.shape) != expected:
                raise SnncError(f"{owner}: w has shape {tuple(w.shape)}, expected {expected}")
            if not finite:
                w = torch.clamp(w, self.wmin, self.wmax)
        if torch.isnan(w).any():
            raise SnncError(f"{owner}: w contains NaN")
        self.w = torch.nn.Parameter(w.contiguous(), requires_grad=False)
        b = torch.zeros(out_channels) if b is None else torch.as_tensor(b).detach().to(torch.float32)
        if tuple(b.shape) != (out_channels,):
            raise SnncError(f"{owner}: b has shape {tuple(b.shape)}, expected ({out_channels},)")
        if torch.isnan(b).any():
            raise SnncError(f"{owner}: b contains NaN")
        self.b = torch.nn.Parameter(b.clone(), requires_grad=False)
        self._attach_update_rule(update_rule, nu, reduction, **kwargs)

    def normalize(self) -> None:
        """Scale every (output, input) channel kernel so that its signed sum is ``norm``."""
        if self.norm is not None:
            normalize_rows_signed(self.w.data.view(-1, math.prod(self.kernel_size)), self.norm)

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        return {"w": self.w.detach(), "wmin": self.wmin.detach(), "wmax": self.wmax.detach(),
                "b": self.b.detach(), **self._common_params()}

    def ir_state(self) -> dict[str, torch.Tensor]:
        return self._rule_state()

    def ir_options(self) -> dict[str, object]:
        return {"kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
                "dilation": self.dilation, **self._common_options()}


class Conv1dConnection(_ConvConnection):
    """1-D convolution: source ``[C_in, L]``, target ``[C_out, L_out]``, ``w``
    ``[C_out, C_in, k]`` (see :class:`_ConvConnection`; any dilation)."""

    dims, ir_op = 1, "conv1d"


class Conv2dConnection(_ConvConnection):
    """2-D convolution: source ``[C_in, H, W]``, target ``[C_out, H_out, W_out]``, ``w``
    ``[C_out, C_in, kh, kw]`` (see :class:`_ConvConnection`)."""

    dims, ir_op = 2, "conv2d"


class Conv3dConnection(_ConvConnection):
    """3-D convolution: source ``[C_in, D, H, W]``, target ``[C_out, D_out, H_out, W_out]``,
    ``w`` ``[C_out, C_in, kd, kh, kw]`` (see :class:`_ConvConnection`)."""

    dims, ir_op = 3, "conv3d"


class _MaxPoolConnection(AbstractConnection):
    """Max pooling by estimated firing rate (spec 4.4). Each step, per source neuron,
    ``firing_rates = firing_rates - decay·firing_rates + s``; each pooling window then
    passes on the spike of its input with the highest rate (the first such input, in
    the window's row-major order, on a tie). Source ``[C, *size]``, target
    ``[C, *out]`` (as a convolution's output size); no weights, no learning.
    ``firing_rates`` is kept per sample, across runs; ``reset_state_variables`` zeroes it.
    """

    dims = 2

    def __init__(self, source: Nodes, target: Nodes, kernel_size, stride=1, padding=0, dilation=1,
                 decay=None, **kwargs) -> None:
        super().__init__(source, target, **kwargs)
        owner = self.describe()
        if decay is not None and not 0.0 <= float(decay) <= 1.0:
            raise SnncError(f"{owner}: decay must be in [0, 1], got {decay}")
        self.decay = None if decay is None else float(decay)
        _geometry(self, source, target, self.dims, kernel_size, stride, padding, dilation, pooled=True)
        self.register_buffer("firing_rates", None)

    def ir_params(self) -> dict[str, torch.Tensor]:
        """``decay``; required to run (BindsNET accepts its absence until the first step)."""
        if self.decay is None:
            raise SnncError(f"{self.describe()}: decay is required to run (the firing-rate estimate's "
                            "decay per step, in [0, 1]; 1 passes on the current spikes' maximum)")
        return {"decay": torch.tensor(self.decay)}

    def ir_state(self) -> dict[str, torch.Tensor]:
        """``firing_rates`` ``[B, *source.shape]``, made on first use and again when the
        batch size changes."""
        shape = (self.source.batch_size or 1, *self.source.shape)
        if self.firing_rates is None or tuple(self.firing_rates.shape) != shape:
            spikes = getattr(self.source, "s", None)
            self.firing_rates = torch.zeros(shape, device=None if spikes is None else spikes.device)
        return {"firing_rates": self.firing_rates}

    def ir_options(self) -> dict[str, object]:
        return {"kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
                "dilation": self.dilation}

    def normalize(self) -> None:
        """Pooling has no weights to normalise."""

    def reset_state_variables(self) -> None:
        if self.firing_rates is not None:
            self.firing_rates.zero_()


class MaxPool1dConnection(_MaxPoolConnection):
    dims, ir_op = 1, "max_pool1d"


class MaxPool2dConnection(_MaxPoolConnection):
    dims, ir_op = 2, "max_pool2d"


class MaxPool3dConnection(_MaxPoolConnection):
    dims, ir_op = 3, "max_pool3d"


MaxPoo3dConnection = MaxPool3dConnection      # BindsNET's spelling (sic), kept as an alias
