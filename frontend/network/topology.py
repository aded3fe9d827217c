"""Connections between layers: weights, bounds and options, as BindsNET names them."""
from __future__ import annotations

import math

import torch

from snnc.errors import SnncError
from snnc.network.nodes import Nodes


def _bound(owner: str, name: str, value, default: float) -> torch.Tensor:
    tensor = torch.as_tensor(default if value is None else value).detach().clone().to(torch.float32)
    if torch.isnan(tensor).any():
        raise SnncError(f"{owner}: {name} contains NaN")
    return tensor


class AbstractConnection(torch.nn.Module):
    """Base of every connection: endpoints, weight bounds, norm and weight decay."""

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
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if not isinstance(source, Nodes) or not isinstance(target, Nodes):
            raise SnncError(f"{owner}: source and target must be layers (Nodes), got "
                            f"{type(source).__name__} and {type(target).__name__}")
        if update_rule is not None and getattr(update_rule, "__name__", "") != "NoOp":
            raise SnncError(f"{owner}: learning rule {getattr(update_rule, '__name__', update_rule)!r} "
                            "is not supported yet; only NoOp (no learning rule) is")
        if nu is not None or reduction is not None:
            raise SnncError(f"{owner}: nu/reduction need a learning rule; none is supported yet")
        self.source = source
        self.target = target
        self.weight_decay = float(weight_decay)
        if not 0.0 <= self.weight_decay <= 1.0:
            raise SnncError(f"{owner}: weight_decay must be in [0, 1], got {weight_decay}")
        self.wmin = torch.nn.Parameter(_bound(owner, "wmin", wmin, -math.inf), requires_grad=False)
        self.wmax = torch.nn.Parameter(_bound(owner, "wmax", wmax, math.inf), requires_grad=False)
        self.norm = None if norm is None else float(norm)
        self.dt: float | None = None

    def reset_state_variables(self) -> None:
        """Connections without internal state have nothing to reset."""


class Connection(AbstractConnection):
    """Dense all-to-all synapses: ``I_target += s_source.float() @ w (+ b)``.

    ``w`` is ``[source.n, target.n]``. Without ``w`` the weights are U[0, 1) clamped to
    ``[wmin, wmax]`` when a bound is infinite, else ``wmin + U[0, 1)·(wmax − wmin)``; a
    given ``w`` is copied and clamped when a bound is finite. With ``norm`` every target
    column is scaled at the end of each run so that Σ_i |w[i, j]| = norm.
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
        super().__init__(source, target, nu, reduction, weight_decay,
                         wmin=wmin, wmax=wmax, norm=norm, update_rule=update_rule)
        owner = f"Connection ({type(source).__name__}[{source.n}] -> {type(target).__name__}[{target.n}])"
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

    def normalize(self) -> None:
        """Scale every target column so that Σ_i |w[i, j]| = norm (no-op without norm)."""
        if self.norm is not None:
            from snnc.compiler.ops.dense import normalize_columns

            normalize_columns(self.w.data, self.norm)

    def ir_params(self) -> dict[str, torch.Tensor | float | None]:
        return {
            "w": self.w.data, "wmin": self.wmin.data, "wmax": self.wmax.data,
            "b": None if self.b is None else self.b.data,
            "norm": None if self.norm is None else torch.tensor(self.norm),
            "weight_decay": torch.tensor(self.weight_decay) if self.weight_decay else None,
        }

    def ir_state(self) -> dict[str, torch.Tensor]:
        return {}

    def ir_options(self) -> dict[str, object]:
        return {}
