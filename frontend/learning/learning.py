"""Learning rules: ``LearningRule``, ``NoOp`` and ``PostPre`` (spec 6.0-6.2)."""
from __future__ import annotations

import numbers
import warnings

import torch

from snnc.errors import SnncError
from snnc.changes import Tracked


def _owner(connection) -> str:
    describe = getattr(connection, "describe", None)
    return describe() if callable(describe) else type(connection).__name__


def _learning_rates(owner: str, nu) -> torch.Tensor:
    """``nu`` as float32 ``[nu_pre, nu_post]``: None -> [0, 0], a number -> [nu, nu]."""
    if nu is None:
        return torch.zeros(2)
    if isinstance(nu, numbers.Real) or (isinstance(nu, torch.Tensor) and nu.dim() == 0):
        return torch.full((2,), float(nu))
    try:
        entries = list(nu)
    except TypeError:
        raise SnncError(f"{owner}: nu must be None, a number or a pair of numbers, got {nu!r}") from None
    if len(entries) != 2:
        raise SnncError(f"{owner}: nu must be a pair (nu_pre, nu_post), got {len(entries)} entries")
    for entry in entries:
        if isinstance(entry, torch.Tensor) and entry.numel() != 1:
            raise SnncError(f"{owner}: per-synapse learning rates (nu entries of shape "
                            f"{tuple(entry.shape)}) are not supported; give two numbers")
        if not isinstance(entry, (numbers.Real, torch.Tensor)):
            raise SnncError(f"{owner}: nu entries must be numbers, got {entry!r}")
    rates = torch.tensor([float(entry) for entry in entries], dtype=torch.float32)
    if torch.isnan(rates).any():
        raise SnncError(f"{owner}: nu contains NaN")
    return rates


def _named(reduction, name: str) -> bool:
    return isinstance(reduction, str) and reduction == name


def _batch_reduction(owner: str, reduction) -> str:
    """BindsNET's default (None: squeeze for batch 1, else sum) sums over the batch."""
    if reduction is None or reduction is torch.sum or reduction is torch.squeeze or _named(reduction, "sum"):
        return "sum"
    if reduction is torch.mean or _named(reduction, "mean"):
        return "mean"
    raise SnncError(f"{owner}: reduction {reduction!r} is not supported; use None or torch.sum "
                    "('sum', the batch sum) or torch.mean ('mean')")


class LearningRule(Tracked):
    """Base of learning rules: the connection, ``nu`` and the batch reduction.

    ``nu`` is a float32 tensor ``[nu_pre, nu_post]``: ``nu[0]`` scales the term driven
    by pre-synaptic spikes, ``nu[1]`` the term driven by post-synaptic spikes.
    ``reduction`` is ``"sum"`` or ``"mean"`` over the batch. Weight decay
    (``w *= 1 - weight_decay`` each learning step) belongs to the connection; with a
    rule other than :class:`NoOp`, the weights are then clamped to ``[wmin, wmax]``.
    """

    ir_name: str | None = None

    def __init__(self, connection, nu=None, reduction=None, weight_decay: float = 0.0) -> None:
        owner = f"{type(self).__name__} on {_owner(connection)}"
        self.connection = connection
        self.nu = _learning_rates(owner, nu)
        self.reduction = _batch_reduction(owner, reduction)

    @property
    def source(self):
        return self.connection.source

    @property
    def target(self):
        return self.connection.target

    @property
    def wmin(self) -> torch.Tensor:
        return self.connection.wmin

    @property
    def wmax(self) -> torch.Tensor:
        return self.connection.wmax


class NoOp(LearningRule):
    """No learning; the connection's weight decay still applies (without clamping)."""


class PostPre(LearningRule):
    """Pair-based STDP from the layers' traces (both need ``traces=True``).

    Each learning step, summed (or averaged) over the batch ``b``:
    ``w[i, j] -= nu[0] * s_pre[b, i] * x_post[b, j]`` (a pre spike depresses by the post
    trace), then ``w[i, j] += nu[1] * x_pre[b, i] * s_post[b, j]`` (a post spike
    potentiates by the pre trace); then weight decay and the clamp to ``[wmin, wmax]``.
    Traces already include this step's spikes, so simultaneous spikes give both terms.
    For a convolution the sums also run over every output position, pairing each
    post-synaptic neuron with the pre-synaptic patch its kernel covers.
    """

    ir_name = "post_pre"

    def __init__(self, connection, nu=None, reduction=None, weight_decay: float = 0.0) -> None:
        super().__init__(connection, nu, reduction, weight_decay)
        owner = _owner(connection)
        for role in ("source", "target"):
            layer = getattr(connection, role)
            if not getattr(layer, "traces", False):
                raise SnncError(f"{owner}: PostPre needs traces=True on the {role} layer "
                                f"({type(layer).__name__})")
        if not bool(self.nu.any()):
            warnings.warn(f"{owner}: PostPre with nu = [0, 0] never changes the weights",
                          stacklevel=4)


RULES: tuple[type[LearningRule], ...] = (NoOp, PostPre)
