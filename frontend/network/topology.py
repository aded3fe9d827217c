"""Connections between layers: weights, bounds and options, as BindsNET names them."""
from __future__ import annotations

import math
import numbers
import operator

import torch

from snnc.errors import SnncError
from snnc.learning import RULES, LearningRule, NoOp
from snnc.changes import Tracked
from snnc.network.nodes import Nodes
from snnc.network.weights import normalize_columns, normalize_rows_signed


def _bound(owner: str, name: str, value, default: float) -> torch.Tensor:
    tensor = torch.as_tensor(default if value is None else value).detach().clone().to(torch.float32)
    if torch.isnan(tensor).any():
        raise SnncError(f"{owner}: {name} contains NaN")
    return tensor


def _endpoint(layer: Nodes) -> str:
    return f"{type(layer).__name__}[{', '.join(str(d) for d in layer.shape)}]"


class AbstractConnection(Tracked, torch.nn.Module):
    """Base of every connection: endpoints, weight bounds, norm, weight decay and rule.

    While learning, every step: the rule's update (none for ``NoOp``), then
    ``w *= 1 - weight_decay``, then, for a rule other than ``NoOp``, the clamp of ``w``
    to ``[wmin, wmax]``.
    """

    ir_op = ""

    def __init__(
        self,
        source: Nodes,
        target: Nodes,
        nu=None,
        reduction=None,
        weight_decay: float = 0.0,
        *,
        wmin=None,
        wmax=None,
        norm: float | None = None,
        update_rule=None,
        **kwargs,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if not isinstance(source, Nodes) or not isinstance(target, Nodes):
            raise SnncError(f"{owner}: source and target must be layers (Nodes), got "
                            f"{type(source).__name__} and {type(target).__name__}")
        self.source = source
        self.target = target
        self.weight_decay = float(weight_decay)
        if not 0.0 <= self.weight_decay <= 1.0:
            raise SnncError(f"{owner}: weight_decay must be in [0, 1], got {weight_decay}")
        self.wmin = torch.nn.Parameter(_bound(owner, "wmin", wmin, -math.inf), requires_grad=False)
        self.wmax = torch.nn.Parameter(_bound(owner, "wmax", wmax, math.inf), requires_grad=False)
        if (self.wmin > self.wmax).any():
            raise SnncError(f"{owner}: wmin must not exceed wmax (got wmin={self.wmin.tolist()}, "
                            f"wmax={self.wmax.tolist()}); every weight would be clamped to wmax")
        if isinstance(norm, torch.Tensor) and norm.numel() == 1:
            norm = norm.item()
        if norm is not None and (not isinstance(norm, numbers.Real) or isinstance(norm, bool)
                                 or not math.isfinite(norm) or norm == 0):
            raise SnncError(f"{owner}: norm must be a finite non-zero number (the sum each target's "
                            f"|weights| is scaled to), got {norm!r}")
        self.norm = None if norm is None else float(norm)
        self.dt: float | None = None
        self.update_rule: LearningRule = NoOp(connection=self, weight_decay=self.weight_decay)
        if update_rule is not None and update_rule is not NoOp:
            raise SnncError(f"{self.describe()}: learning rule "
                            f"{getattr(update_rule, '__name__', update_rule)!r} needs a connection type "
                            "snnc knows (Connection, Conv2dConnection); a connection class of its own "
                            "applies its learning in its own update()")

    def describe(self) -> str:
        """``Connection (Input[4] -> LIFNodes[2, 3])``: how errors name this connection."""
        return f"{type(self).__name__} ({_endpoint(self.source)} -> {_endpoint(self.target)})"

    def _attach_update_rule(self, update_rule, nu, reduction) -> None:
        """Instantiate the rule class (default ``NoOp``); call once ``w`` exists."""
        update_rule = NoOp if update_rule is None else update_rule
        if update_rule not in RULES:
            name = getattr(update_rule, "__qualname__", repr(update_rule))
            raise SnncError(f"{self.describe()}: learning rule {name!r} is not supported; "
                            f"supported rules (from snnc.learning): {[r.__name__ for r in RULES]}")
        self.update_rule = update_rule(connection=self, nu=nu, reduction=reduction,
                                       weight_decay=self.weight_decay)

    def _common_params(self) -> dict[str, torch.Tensor | None]:
        """IR params every connection has after ``w``, bounds and bias: norm, weight decay
        and the rule's ``nu``."""
        params = {
            "norm": None if self.norm is None else torch.tensor(self.norm),
            "weight_decay": torch.tensor(self.weight_decay) if self.weight_decay else None,
        }
        if self.update_rule.ir_name is not None:
            params["nu"] = self.update_rule.nu
        return params

    def _common_options(self) -> dict[str, object]:
        """IR options of a connection with a learning rule: its name and batch reduction
        (none without a rule)."""
        if self.update_rule.ir_name is None:
            return {}
        return {"rule": self.update_rule.ir_name, "reduction": self.update_rule.reduction}

    def reset_state_variables(self) -> None:
        """Connections without internal state have nothing to reset."""

    def compute(self, s: torch.Tensor) -> torch.Tensor:
        """The input this connection gives its target for source spikes ``s``
        (``[B, *target.shape]``), computed eagerly. ``Network.run`` never calls it for
        snnc's own classes (it compiles them); a subclass's ``super().compute(s)`` does."""
        from snnc.runtime.eager import connection_compute

        return connection_compute(self, s)

    def update(self, **kwargs) -> None:
        """One step of the learning rule, weight decay and clamp, eagerly, when
        ``learning`` (default True), then ``w[mask] = 0`` for a ``mask`` (spec 4.0) —
        what a subclass's ``super().update(...)`` reaches."""
        from snnc.runtime.eager import connection_update

        connection_update(self, learning=bool(kwargs.get("learning", True)))
        mask = kwargs.get("mask")
        if mask is not None:
            self.w.data.masked_fill_(mask.to(self.w.device), 0.0)


class Connection(AbstractConnection):
    """Dense all-to-all synapses: ``I_target += s_source.float() @ w (+ b)``.

    ``w`` is ``[source.n, target.n]``. Without ``w`` the weights are U[0, 1) clamped to
    ``[wmin, wmax]`` when a bound is infinite, else ``wmin + U[0, 1)·(wmax − wmin)``; a
    given ``w`` is copied and clamped when a bound is finite. With ``norm`` every target
    column is scaled at the end of each run so that Σ_i |w[i, j]| = norm.
    ``update_rule`` (a class from :mod:`snnc.learning`), ``nu`` and ``reduction`` set
    how ``w`` learns.
    """

    ir_op = "dense"

    def __init__(
        self,
        source: Nodes,
        target: Nodes,
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
    ) -> None:
        super().__init__(source, target, nu, reduction, weight_decay, wmin=wmin, wmax=wmax, norm=norm)
        owner = self.describe()
        expected = (source.n, target.n)
        finite = bool(torch.isfinite(self.wmin).all() and torch.isfinite(self.wmax).all())
        if w is None:
            w = torch.rand(expected)
            w = self.wmin + w * (self.wmax - self.wmin) if finite else torch.clamp(w, self.wmin, self.wmax)
        else:
            w = torch.as_tensor(w).detach().clone()
            if tuple(w.shape) != expected:
                raise SnncError(f"{owner}: w has shape {tuple(w.shape)}, expected {expected}")
            if not (torch.isinf(self.wmin).all() and torch.isinf(self.wmax).all()):
                w = torch.clamp(w.float(), self.wmin, self.wmax)
        if w_dtype not in (torch.float32, torch.float16, torch.bfloat16):
            raise SnncError(f"{owner}: w_dtype {w_dtype} is not supported; use torch.float32, "
                            "torch.float16 or torch.bfloat16")
        w = w.to(w_dtype)
        if torch.isnan(w).any():
            raise SnncError(f"{owner}: w contains NaN")
        self.w = torch.nn.Parameter(w, requires_grad=False)
        if b is not None:
            b = torch.as_tensor(b).detach().clone().to(torch.float32)
            try:
                torch.broadcast_shapes(tuple(b.shape), (target.n,))
            except RuntimeError:
                raise SnncError(f"{owner}: b has shape {tuple(b.shape)}, expected ({target.n},) "
                                "or a scalar") from None
            b = torch.nn.Parameter(b, requires_grad=False)
        self.b = b
        self._attach_update_rule(update_rule, nu, reduction)

    def normalize(self) -> None:
        """Scale every target column so that Σ_i |w[i, j]| = norm (no-op without norm)."""
        if self.norm is not None:
            normalize_columns(self.w.data, self.norm)

    def ir_params(self) -> dict[str, torch.Tensor | float | None]:
        return {"w": self.w.detach(), "wmin": self.wmin.detach(), "wmax": self.wmax.detach(),
                "b": None if self.b is None else self.b.detach(), **self._common_params()}

    def ir_state(self) -> dict[str, torch.Tensor]:
        """Into a ``CSRMNodes`` layer: ``s_w``, the window of the source's last
        ``res_window_size / dt`` spike vectors ``[B, W, source.n]`` (oldest first), made
        on first use and again when the batch size changes; never reset (spec 3.11)."""
        if getattr(self.target, "ir_op", "") != "csrm":
            return {}
        width = self.target.resKernel.numel()          # the kernel it is filtered with
        shape = (self.source.batch_size, width, self.source.n)
        window = getattr(self, "s_w", None)
        if window is None or tuple(window.shape) != shape:
            self.s_w = torch.zeros(shape, device=self.w.device)
        elif window.device != self.w.device:          # network.to(device) moved the weights
            self.s_w = window.to(self.w.device)
        return {"s_w": self.s_w}

    def ir_options(self) -> dict[str, object]:
        return self._common_options()


def _pair(owner: str, name: str, value, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints (each >= ``minimum``) as a pair, like torch's ``_pair``."""
    try:
        pair = (operator.index(value),) * 2 if not isinstance(value, (tuple, list)) else \
            tuple(operator.index(v) for v in value)
    except TypeError:
        pair = ()
    if len(pair) != 2 or any(v < minimum for v in pair):
        raise SnncError(f"{owner}: {name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return pair


class Conv2dConnection(AbstractConnection):
    """2-D convolution: ``I_target[b, o, y, x] += b[o] + Σ_{c, ky, kx} w[o, c, ky, kx] ·
    s_pad[b, c, y·sh + ky·dh, x·sw + kx·dw]``, with ``s_pad`` the source spikes
    zero-padded by ``padding`` (torch's ``conv2d``).

    Source ``[C_in, H, W]``, target ``[C_out, H_out, W_out]`` with
    ``H_out = floor((H + 2·ph − dh·(kh − 1) − 1) / sh) + 1`` (likewise W), ``w`` is
    ``[C_out, C_in, kh, kw]``, ``b`` ``[C_out]`` (zeros by default). Without ``w`` the
    weights are U[0, 1) clamped to ``[wmin, wmax]`` when a bound is infinite, else
    ``wmin + U[0, 1)·(wmax − wmin)``; a given ``w`` is clamped only when a bound is
    infinite (BindsNET's numbers, quirk Q17). With ``norm``, at the end of each run
    every (output, input) channel kernel is scaled so that its signed sum is ``norm``.
    """

    ir_op = "conv2d"

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
    ) -> None:
        super().__init__(source, target, nu, reduction, weight_decay, wmin=wmin, wmax=wmax, norm=norm)
        owner = self.describe()
        self.kernel_size = _pair(owner, "kernel_size", kernel_size, 1)
        self.stride = _pair(owner, "stride", stride, 1)
        self.padding = _pair(owner, "padding", padding, 0)
        self.dilation = _pair(owner, "dilation", dilation, 1)
        if len(source.shape) != 3:
            raise SnncError(f"{owner}: source shape {tuple(source.shape)} must be "
                            "(channels, height, width)")
        in_channels, *size = source.shape
        out_size = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in zip(
            size, self.kernel_size, self.stride, self.padding, self.dilation))
        if any(n < 1 for n in out_size):
            raise SnncError(f"{owner}: the kernel {self.kernel_size} (dilation {self.dilation}) "
                            f"does not fit the padded source {tuple(size)} (padding {self.padding})")
        out_channels = target.shape[0]
        if len(target.shape) != 3 or tuple(target.shape[1:]) != out_size:
            raise SnncError(f"{owner}: target shape {tuple(target.shape)}, expected "
                            f"(out_channels, {out_size[0]}, {out_size[1]})")
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
        self._attach_update_rule(update_rule, nu, reduction)

    def normalize(self) -> None:
        """Scale every (output, input) channel kernel so that its signed sum is ``norm``."""
        if self.norm is not None:
            normalize_rows_signed(self.w.data.view(-1, math.prod(self.kernel_size)), self.norm)

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        return {"w": self.w.detach(), "wmin": self.wmin.detach(), "wmax": self.wmax.detach(),
                "b": self.b.detach(), **self._common_params()}

    def ir_state(self) -> dict[str, torch.Tensor]:
        return {}

    def ir_options(self) -> dict[str, object]:
        return {"kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
                "dilation": self.dilation, **self._common_options()}
