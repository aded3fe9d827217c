"""Connections between layers: weights, bounds and options, as BindsNET names them.

``AbstractConnection`` is in :mod:`.connection_base`; convolutions and pooling in
:mod:`.conv_connections`; locally connected layers in :mod:`.local_connections`.
"""
from __future__ import annotations

import torch

from snnc.errors import SnncError
from snnc.network.connection_base import AbstractConnection
from snnc.network.nodes import Nodes
from snnc.network.weights import normalize_columns


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
        **kwargs,
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
        self._attach_update_rule(update_rule, nu, reduction, **kwargs)

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
            return self._rule_state()
        width = self.target.resKernel.numel()          # the kernel it is filtered with
        shape = (self.source.batch_size, width, self.source.n)
        window = getattr(self, "s_w", None)
        if window is None or tuple(window.shape) != shape:
            self.s_w = torch.zeros(shape, device=self.w.device)
        elif window.device != self.w.device:          # network.to(device) moved the weights
            self.s_w = window.to(self.w.device)
        return {"s_w": self.s_w, **self._rule_state()}

    def ir_options(self) -> dict[str, object]:
        return self._common_options()


from snnc.network.conv_connections import (Conv1dConnection, Conv2dConnection, Conv3dConnection,  # noqa: E402
                                           MaxPool1dConnection, MaxPool2dConnection, MaxPool3dConnection,
                                           MaxPoo3dConnection)

__all__ = ["AbstractConnection", "Connection", "Conv1dConnection", "Conv2dConnection", "Conv3dConnection",
           "MaxPool1dConnection", "MaxPool2dConnection", "MaxPool3dConnection", "MaxPoo3dConnection"]
