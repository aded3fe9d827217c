"""Locally connected layers (spec 4.5): a dense matrix restricted to receptive fields."""
from __future__ import annotations

import math

import numpy as np
import torch

from snnc.errors import SnncError
from snnc.network.connection_base import AbstractConnection
from snnc.network.conv_connections import _tuple
from snnc.network.nodes import Nodes


class LocalConnection(AbstractConnection):
    """A locally connected layer over a 2-D source as a masked dense ``[source.n,
    target.n]`` matrix (BindsNET's numbers, quirk Q19).

    The source is read as ``input_shape`` (default ``(⌊√n⌋, ⌊√n⌋)``); each of
    ``n_filters`` filters has its own weights at each of the ``conv_prod`` output
    positions (``floor((shape − kernel) / stride) + 1`` per dimension, or one position when
    the kernel is the whole input); target neuron ``f·conv_prod + c`` sees the kernel
    window at position ``c``: source index ``c1·stride0·shape1 + c2·stride1 + k1·shape0 + k2``.
    Weights outside every field start at zero (numpy's U[0, 1) inside), are mapped
    like ``Connection``'s, and are held at zero after every learning step (``mask``).
    ``norm`` is per kernel element (multiplied by ``kernel_prod``); normalisation divides
    each column by its signed sum. Works at any batch size (BindsNET: batch 1, Q20).
    """

    ir_op = "local"

    def __init__(self, source: Nodes, target: Nodes, kernel_size, stride, n_filters: int, nu=None,
                 reduction=None, weight_decay: float = 0.0, w_dtype: torch.dtype = torch.float32, *,
                 w: torch.Tensor | None = None, b: torch.Tensor | None = None, wmin=None, wmax=None,
                 norm: float | None = None, update_rule=None, input_shape=None, **kwargs) -> None:
        super().__init__(source, target, nu, reduction, weight_decay, wmin=wmin, wmax=wmax, norm=norm)
        owner = self.describe()
        self.kernel_size = _tuple(owner, "kernel_size", kernel_size, 1, 2)
        self.stride = _tuple(owner, "stride", stride, 1, 2)
        self.n_filters = int(n_filters)
        side = int(math.sqrt(source.n))
        shape = tuple(input_shape) if input_shape is not None else (side, side)
        if len(shape) != 2 or math.prod(shape) != source.n:
            raise SnncError(f"{owner}: input_shape {shape} does not hold the source's {source.n} neurons")
        self.input_shape = shape
        if self.kernel_size == shape:
            conv = (1, 1)
        else:
            conv = tuple((n - k) // s + 1 for n, k, s in zip(shape, self.kernel_size, self.stride))
        if min(conv) < 1:
            raise SnncError(f"{owner}: the kernel {self.kernel_size} does not fit the input {shape}")
        self.conv_size = conv
        self.conv_prod, self.kernel_prod = math.prod(conv), math.prod(self.kernel_size)
        if target.n != self.n_filters * self.conv_prod:
            raise SnncError(f"{owner}: the target has {target.n} neurons, expected n_filters × positions "
                            f"= {self.n_filters} × {self.conv_prod}")
        k1, k2, c1, c2 = torch.meshgrid(*(torch.arange(n) for n in (*self.kernel_size, *conv)), indexing="ij")
        locations = c1 * self.stride[0] * shape[1] + c2 * self.stride[1] + k1 * shape[0] + k2
        self.register_buffer("locations", locations.reshape(self.kernel_prod, self.conv_prod))
        if int(self.locations.max()) >= source.n:
            raise SnncError(f"{owner}: the receptive fields leave the source (non-square input_shape "
                            f"{shape}; BindsNET's index formula assumes square inputs, quirk Q19)")
        finite = bool(torch.isfinite(self.wmin).all() and torch.isfinite(self.wmax).all())
        if w is None:
            w = torch.zeros(source.n, target.n)
            for f in range(self.n_filters):
                for c in range(self.conv_prod):
                    for k in range(self.kernel_prod):
                        w[self.locations[k, c], f * self.conv_prod + c] = float(np.random.rand())
            w = self.wmin + w * (self.wmax - self.wmin) if finite else torch.clamp(w, self.wmin, self.wmax)
        else:
            w = torch.as_tensor(w).detach().to(torch.float32).clone()
            if tuple(w.shape) != (source.n, target.n):
                raise SnncError(f"{owner}: w has shape {tuple(w.shape)}, expected {(source.n, target.n)}")
            if not (torch.isinf(self.wmin).all() and torch.isinf(self.wmax).all()):
                w = torch.clamp(w, self.wmin, self.wmax)
        if w_dtype != torch.float32:
            raise SnncError(f"{owner}: w_dtype {w_dtype} is not supported; use torch.float32")
        self.w = torch.nn.Parameter(w.contiguous(), requires_grad=False)
        self.register_buffer("mask", self.w.data == 0)
        b = torch.zeros(target.n) if b is None else torch.as_tensor(b).detach().to(torch.float32)
        self.b = torch.nn.Parameter(b.expand(target.n).clone(), requires_grad=False)
        if self.norm is not None:
            self.norm = self.norm * self.kernel_prod
        self._attach_update_rule(update_rule, nu, reduction, **kwargs)

    def normalize(self) -> None:
        """``w[:, j] *= norm / Σ_i w[i, j]`` (signed sums, no zero guard)."""
        if self.norm is not None:
            self.w.data.mul_(self.norm / self.w.data.sum(0, keepdim=True))

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        return {"w": self.w.detach(), "wmin": self.wmin.detach(), "wmax": self.wmax.detach(),
                "b": self.b.detach(), "field_mask": self.mask, **self._common_params()}

    def ir_state(self) -> dict[str, torch.Tensor]:
        return self._rule_state()

    def ir_options(self) -> dict[str, object]:
        return self._common_options()


class _LocalConnectionND(AbstractConnection):
    """A locally connected layer over a multi-channel source ``[C, *size]`` (spec 4.6):
    each of ``n_filters`` filters has its own kernel at each of the ``P`` output
    positions (``floor((size − kernel) / stride) + 1`` per dimension, no padding):

        I_target[b, f·P + p] += b[f·P + p] + Σ_{c, k} w[c, f·P + p, k] · s[b, c, p·stride + k]

    ``w`` is ``[C, n_filters·P, K]`` (K the kernel's size), U[0, 1) by default, clamped to
    ``[wmin, wmax]`` when a bound is finite; a given ``w`` of that shape is accepted
    (BindsNET crashes, Q21) and a given ``b`` (``[target.n]``) is added (BindsNET keeps
    it unused). With ``norm``, at the end of each run every (channel, target neuron)
    kernel is scaled so that its signed sum is ``norm``. A learning rule is correct for
    any number of channels (BindsNET's only for one, Q32).
    """

    dims = 2

    def __init__(self, source: Nodes, target: Nodes, kernel_size, stride, n_filters: int, nu=None,
                 reduction=None, weight_decay: float = 0.0, w_dtype: torch.dtype = torch.float32, *,
                 w: torch.Tensor | None = None, b: torch.Tensor | None = None, wmin=None, wmax=None,
                 norm: float | None = None, update_rule=None, **kwargs) -> None:
        super().__init__(source, target, nu, reduction, weight_decay, wmin=wmin, wmax=wmax, norm=norm)
        owner = self.describe()
        dims = self.dims
        self.kernel_size = _tuple(owner, "kernel_size", kernel_size, 1, dims)
        self.stride = _tuple(owner, "stride", stride, 1, dims)
        self.n_filters = int(n_filters)
        if len(source.shape) != dims + 1:
            raise SnncError(f"{owner}: source shape {tuple(source.shape)} must be (channels, {dims} sizes)")
        channels, *size = source.shape
        self.conv_size = tuple((n - k) // s + 1 for n, k, s in zip(size, self.kernel_size, self.stride))
        if min(self.conv_size) < 1:
            raise SnncError(f"{owner}: the kernel {self.kernel_size} does not fit the source {tuple(size)}")
        self.conv_prod, self.kernel_prod = math.prod(self.conv_size), math.prod(self.kernel_size)
        if self.n_filters < 1 or target.n != self.n_filters * self.conv_prod:
            raise SnncError(f"{owner}: the target has {target.n} neurons, expected n_filters × positions "
                            f"= {self.n_filters} × {self.conv_prod} (positions {self.conv_size})")
        expected = (channels, self.n_filters * self.conv_prod, self.kernel_prod)
        bounded = not (torch.isinf(self.wmin).all() and torch.isinf(self.wmax).all())
        if w is None:
            w = torch.rand(expected)
        else:
            w = torch.as_tensor(w).detach().to(torch.float32).clone()
            if tuple(w.shape) != expected:
                raise SnncError(f"{owner}: w has shape {tuple(w.shape)}, expected {expected} "
                                "(channels, n_filters × positions, kernel size)")
        if bounded:
            w = torch.clamp(w, self.wmin, self.wmax)
        if w_dtype != torch.float32:
            raise SnncError(f"{owner}: w_dtype {w_dtype} is not supported; use torch.float32")
        self.w = torch.nn.Parameter(w.contiguous(), requires_grad=False)
        if b is not None:
            b = torch.as_tensor(b).detach().to(torch.float32)
            try:
                b = b.expand(target.n).clone()
            except RuntimeError:
                raise SnncError(f"{owner}: b has shape {tuple(b.shape)}, expected ({target.n},)") from None
            b = torch.nn.Parameter(b, requires_grad=False)
        self.b = b
        self._attach_update_rule(update_rule, nu, reduction, **kwargs)

    def normalize(self) -> None:
        """Every (channel, target neuron) kernel: ``w *= norm / Σ_k w`` (signed, no zero guard)."""
        if self.norm is not None:
            rows = self.w.data.view(-1, self.kernel_prod)
            rows.mul_(self.norm / rows.sum(1, keepdim=True))

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        return {"w": self.w.detach(), "wmin": self.wmin.detach(), "wmax": self.wmax.detach(),
                "b": None if self.b is None else self.b.detach(), **self._common_params()}

    def ir_state(self) -> dict[str, torch.Tensor]:
        return self._rule_state()

    def ir_options(self) -> dict[str, object]:
        return {"kernel_size": self.kernel_size, "stride": self.stride, "n_filters": self.n_filters,
                **self._common_options()}


class LocalConnection1D(_LocalConnectionND):
    """Local connections over a ``[C, L]`` source (see :class:`_LocalConnectionND`)."""

    dims, ir_op = 1, "local1d"


class LocalConnection2D(_LocalConnectionND):
    """Local connections over a ``[C, H, W]`` source (see :class:`_LocalConnectionND`)."""

    dims, ir_op = 2, "local2d"


class LocalConnection3D(_LocalConnectionND):
    """Local connections over a ``[C, H, W, D]`` source (see :class:`_LocalConnectionND`)."""

    dims, ir_op = 3, "local3d"
