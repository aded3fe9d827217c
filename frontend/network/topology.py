"""Connections between layers: weights, bounds and options, as BindsNET names them.

``AbstractConnection`` is in :mod:`.connection_base`; convolutions and pooling in
:mod:`.conv_connections`; locally connected layers in :mod:`.local_connections`.
"""
from __future__ import annotations

import warnings

import numpy as np  # noqa: F401  (BindsNET's topology exports it; its test scripts rely on it)
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


class SparseConnection(Connection):
    """A ``Connection`` that stores only its synapses: ``w`` is a sparse CSR tensor
    ``[source.n, target.n]`` (int32 indices), and learning, weight decay, the clamp and
    normalisation change only the stored entries (the pattern is fixed; BindsNET's
    learning fills it in, Q48).

    ``sparsity``: the fraction of synapses left out (each kept with probability
    ``1 − sparsity``, torch's RNG); without it the entries of ``w`` that are zero are left
    out. Weights are made as ``Connection``'s. Per-synapse bounds, per-synapse ``nu``
    and run ``masks`` need a dense matrix and are refused.
    """

    ir_op = "sparse"

    def __init__(self, source: Nodes, target: Nodes, nu=None, reduction=None, weight_decay: float = 0.0,
                 w_dtype: torch.dtype = torch.float32, *, sparsity: float | None = None, w=None, b=None,
                 wmin=None, wmax=None, norm=None, update_rule=None, **kwargs) -> None:
        super().__init__(source, target, None, None, weight_decay, w_dtype, w=w, b=b, wmin=wmin, wmax=wmax,
                         norm=norm)
        owner = self.describe()
        if self.wmin.numel() != 1 or self.wmax.numel() != 1:
            raise SnncError(f"{owner}: wmin and wmax must be numbers for sparse weights")
        if w_dtype != torch.float32:
            raise SnncError(f"{owner}: sparse weights are float32 (got w_dtype {w_dtype})")
        dense = self.w.data
        if sparsity is not None:
            sparsity = float(sparsity)
            if not 0.0 <= sparsity < 1.0:
                raise SnncError(f"{owner}: sparsity is the fraction of synapses left out, in [0, 1); "
                                f"got {sparsity}")
            kept = torch.rand(dense.shape) >= sparsity
        else:
            kept = dense != 0
        self.sparsity = sparsity
        self.w = torch.nn.Parameter(_csr(dense, kept), requires_grad=False)
        self._attach_update_rule(update_rule, nu, reduction, **kwargs)
        if self.update_rule.nu.dim() > 1:
            raise SnncError(f"{owner}: per-synapse nu needs dense weights; give two numbers")

    @property
    def synapse_shape(self) -> tuple[int]:
        """The stored entries: per-synapse rule state is ``[B, nnz]``."""
        return (self.w.values().numel(),)

    def normalize(self) -> None:
        """Scale every target column's stored entries so that Σ |w| = norm (0 counts as 1)."""
        if self.norm is not None:
            values, columns = self.w.values(), self.w.col_indices().long()
            sums = torch.zeros(self.target.n).index_add_(0, columns, values.abs())
            values.mul_(self.norm / torch.where(sums == 0, 1.0, sums)[columns])

    def ir_params(self) -> dict[str, torch.Tensor | float | None]:
        return {"w": self.w.values().detach(), "w_indptr": self.w.crow_indices(),
                "w_indices": self.w.col_indices(), "wmin": self.wmin.detach(), "wmax": self.wmax.detach(),
                "b": None if self.b is None else self.b.detach(), **self._common_params()}

    def ir_state(self) -> dict[str, torch.Tensor]:
        return self._rule_state()

    def ir_options(self) -> dict[str, object]:
        return {"nnz": int(self.w.values().numel()), **self._common_options()}


def _csr(dense: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
    """``dense`` at ``kept`` as a CSR tensor with int32 indices (values float32)."""
    rows, cols = torch.nonzero(kept, as_tuple=True)
    crow = torch.zeros(dense.shape[0] + 1, dtype=torch.int64)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=dense.shape[0]), 0)
    index = torch.int32 if max(dense.shape) < 2 ** 31 else torch.int64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)        # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(crow.to(index), cols.to(index), dense[rows, cols].to(torch.float32),
                                       tuple(dense.shape))


class MeanFieldConnection(AbstractConnection):
    """Every target neuron receives the mean of the source's spikes over the batch and
    all its neurons, times its weight: ``I_target[b, j] += mean(s) · w[j]``.

    ``w`` is ``[target.n]`` (a scalar is spread over it). Without ``w``: one draw of
    ``(N(0, 1) + 1) / 10``, clamped to ``[wmin, wmax]`` when a bound is infinite, else
    mapped to ``wmin + w·(wmax − wmin)``; a given ``w`` is clamped only when a bound is
    infinite. No learning rule; ``weight_decay`` applies while learning (BindsNET
    silently drops it, quirk Q22). ``norm`` is refused (BindsNET raises on normalize).
    """

    ir_op = "mean_field"

    def __init__(self, source: Nodes, target: Nodes, nu=None, weight_decay: float = 0.0,
                 w_dtype: torch.dtype = torch.float32, *, w=None, wmin=None, wmax=None, norm=None,
                 update_rule=None, **kwargs) -> None:
        super().__init__(source, target, None, None, weight_decay, wmin=wmin, wmax=wmax)
        self.decay = kwargs.pop("decay", None)
        owner = self.describe()
        for name in ("wmin", "wmax"):             # bounds shaped like the target: one per weight
            bound = getattr(self, name)
            if bound.numel() > 1:
                try:
                    flat = bound.reshape(-1) if bound.numel() == target.n else \
                        bound.expand(tuple(target.shape)).reshape(-1)
                except RuntimeError:
                    raise SnncError(f"{owner}: {name} has shape {tuple(bound.shape)}, expected a scalar, "
                                    f"({target.n},) or one broadcastable to the target's "
                                    f"{tuple(target.shape)}") from None
                setattr(self, name, torch.nn.Parameter(flat.clone(), requires_grad=False))
        if norm is not None:
            raise SnncError(f"{owner}: a mean-field connection cannot be normalised (no norm)")
        if (update_rule is not None and getattr(update_rule, "ir_name", None) is not None) or kwargs:
            raise SnncError(f"{owner}: a mean-field connection takes no learning rule "
                            f"(got {getattr(update_rule, '__name__', update_rule)}, {sorted(kwargs)})")
        finite = bool(torch.isfinite(self.wmin).all() and torch.isfinite(self.wmax).all())
        if w is None:
            w = (torch.randn(()) + 1) / 10
            w = self.wmin + w * (self.wmax - self.wmin) if finite else torch.clamp(w, self.wmin, self.wmax)
        else:
            w = torch.as_tensor(w).detach().to(torch.float32)
            try:                 # a scalar, [target.n], or broadcastable to the target's shape
                w = w.reshape(-1) if w.numel() == target.n else w.expand(tuple(target.shape)).reshape(-1)
            except RuntimeError:
                raise SnncError(f"{owner}: w has shape {tuple(w.shape)}, expected a scalar, ({target.n},) "
                                f"or a shape broadcastable to the target's {tuple(target.shape)}") from None
            if not finite:
                w = torch.clamp(w, self.wmin, self.wmax)
        if w_dtype != torch.float32:
            raise SnncError(f"{owner}: w_dtype {w_dtype} is not supported; use torch.float32")
        self.w = torch.nn.Parameter(w.reshape(-1).expand(target.n).to(torch.float32).clone(),
                                    requires_grad=False)
        self._attach_update_rule(None, None, None)

    def normalize(self) -> None:
        """Nothing to normalise (``norm`` is refused)."""

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        return {"w": self.w.detach(), "wmin": self.wmin.detach(), "wmax": self.wmax.detach(),
                **self._common_params()}

    def ir_state(self) -> dict[str, torch.Tensor]:
        return {}

    def ir_options(self) -> dict[str, object]:
        return {}


from snnc.network.conv_connections import (Conv1dConnection, Conv2dConnection, Conv3dConnection,  # noqa: E402
                                           MaxPool1dConnection, MaxPool2dConnection, MaxPool3dConnection,
                                           MaxPoo3dConnection)
from snnc.network.local_connections import (LocalConnection, LocalConnection1D, LocalConnection2D,  # noqa: E402
                                            LocalConnection3D)
from snnc.network.multicompartment import (AbstractMulticompartmentConnection,  # noqa: E402
                                           MulticompartmentConnection)

__all__ = ["AbstractConnection", "Connection", "SparseConnection", "Conv1dConnection", "Conv2dConnection", "Conv3dConnection",
           "LocalConnection", "LocalConnection1D", "LocalConnection2D", "LocalConnection3D", "MaxPool1dConnection", "MaxPool2dConnection", "MaxPool3dConnection",
           "MaxPoo3dConnection", "MeanFieldConnection", "AbstractMulticompartmentConnection",
           "MulticompartmentConnection", "np"]
