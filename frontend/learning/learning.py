"""Learning rules (spec 6.0-6.4a): records of their rates, reduction, parameters and state.

The compiler reads a rule from the IR (``options["rule"]``, its parameters in
``params``, its state in ``state``) and generates the weight update; the equations
are the rule schemas' (:mod:`snnc.ir.schema`). No update code lives here. The
reward-modulated rules are in :mod:`snnc.learning.reward_rules`.
"""
from __future__ import annotations

import math
import numbers
import warnings

import torch

from snnc.changes import Tracked, changed
from snnc.errors import SnncAssertionError, SnncError


def _owner(connection) -> str:
    describe = getattr(connection, "describe", None)
    return describe() if callable(describe) else type(connection).__name__


def _learning_rates(owner: str, nu, w_shape: tuple | None) -> torch.Tensor:
    """``nu`` as float32 ``[nu_pre, nu_post]`` (None -> [0, 0], a number -> [nu, nu]), or
    ``[2, *w.shape]`` for a pair of per-synapse tensors."""
    if nu is None:
        return torch.zeros(2)
    if isinstance(nu, numbers.Real) or (isinstance(nu, torch.Tensor) and nu.dim() == 0):
        return torch.full((2,), float(nu))
    try:
        entries = list(nu)
    except TypeError:
        raise SnncError(f"{owner}: nu must be None, a number or a pair, got {nu!r}") from None
    if len(entries) != 2:
        raise SnncError(f"{owner}: nu must be a pair (nu_pre, nu_post), got {len(entries)} entries")
    if any(isinstance(e, torch.Tensor) and e.numel() != 1 for e in entries):
        if w_shape is None:
            raise SnncError(f"{owner}: per-synapse learning rates need a connection with weights")
        try:
            rates = torch.stack([torch.as_tensor(e, dtype=torch.float32).expand(w_shape) for e in entries])
        except RuntimeError:
            raise SnncError(f"{owner}: per-synapse nu entries must be numbers or tensors broadcastable to "
                            f"w's shape {tuple(w_shape)}, got {[tuple(torch.as_tensor(e).shape) for e in entries]}"
                            ) from None
        rates = rates.clone()
    else:
        if not all(isinstance(e, (numbers.Real, torch.Tensor)) for e in entries):
            raise SnncError(f"{owner}: nu entries must be numbers, got {entries!r}")
        rates = torch.tensor([float(e) for e in entries], dtype=torch.float32)
    if not torch.isfinite(rates).all():
        raise SnncError(f"{owner}: nu contains NaN or inf")
    return rates


def _batch_reduction(owner: str, reduction) -> str:
    """BindsNET's default (None: squeeze for batch 1, else sum) sums over the batch."""
    if reduction is None or reduction is torch.sum or reduction is torch.squeeze or reduction == "sum":
        return "sum"
    if reduction is torch.mean or reduction == "mean":
        return "mean"
    raise SnncError(f"{owner}: reduction {reduction!r} is not supported; use None or torch.sum "
                    "('sum', the batch sum) or torch.mean ('mean')")


class LearningRule(Tracked):
    """Base of learning rules: the connection, ``nu``, the batch reduction, the rule's
    own parameters (``defaults``: name -> default, given as keyword arguments) and its
    state (``state_kinds``: name -> ``pre`` ``[B, source.n]``, ``post`` ``[B, target.n]``
    or ``synapse`` ``[B, *w.shape]``; made at the network's batch size, kept across
    runs, zeroed by ``reset_state_variables``).

    ``nu`` is float32 ``[nu_pre, nu_post]`` (or ``[2, *w.shape]`` per synapse):
    ``nu[0]`` scales the term driven by pre-synaptic spikes, ``nu[1]`` the term driven
    by post-synaptic spikes. ``reduction`` is ``"sum"`` or ``"mean"`` over the batch.
    Weight decay (``w *= 1 - weight_decay`` each learning step) belongs to the
    connection; with a rule other than :class:`NoOp`, the weights are then clamped to
    ``[wmin, wmax]``.
    """

    ir_name: str | None = None
    defaults: dict[str, float] = {}
    flags: dict[str, bool] = {}
    state_kinds: dict[str, str] = {}
    traces: tuple[str, ...] = ()

    def __init__(self, connection, nu=None, reduction=None, weight_decay: float = 0.0, **kwargs) -> None:
        owner = f"{type(self).__name__} on {_owner(connection)}"
        self.connection = connection
        w = getattr(connection, "w", None)
        self.nu = _learning_rates(owner, nu, None if w is None else tuple(w.shape))
        self.reduction = {"sum": torch.sum, "mean": torch.mean}[_batch_reduction(owner, reduction)]
        self.weight_decay = 1.0 - float(weight_decay) if weight_decay else 1.0     # BindsNET's factor
        unknown = sorted(set(kwargs) - set(self.defaults) - set(self.flags))
        if unknown:
            raise SnncError(f"{owner}: unexpected argument(s) {unknown}; "
                            f"{type(self).__name__} takes {sorted({**self.defaults, **self.flags})}")
        for name, default in self.defaults.items():
            value = kwargs.get(name, default)
            if isinstance(value, torch.Tensor) and value.numel() == 1:
                value = value.item()
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
                raise SnncError(f"{owner}: {name} must be a finite number, got {value!r}")
            setattr(self, name, float(value))
        for name, default in self.flags.items():
            setattr(self, name, bool(kwargs.get(name, default)))
        self._state: dict[str, torch.Tensor] = {}
        for role in self.traces:
            layer = getattr(connection, role)
            if not getattr(layer, "traces", False):
                raise SnncAssertionError(f"{_owner(connection)}: {type(self).__name__} needs traces=True on the "
                                f"{role} layer ({type(layer).__name__})")
        if self.ir_name is not None and not bool(self.nu.any()):
            warnings.warn(f"{_owner(connection)}: {type(self).__name__} with nu = 0 never changes the "
                          "weights", stacklevel=5)

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

    # -- what the IR records -------------------------------------------------------
    def ir_params(self) -> dict[str, torch.Tensor]:
        return {"nu": self.nu, **{name: torch.tensor(getattr(self, name)) for name in self.defaults}}

    def ir_options(self) -> dict[str, object]:
        return {"rule": self.ir_name, "reduction": "mean" if self.reduction is torch.mean else "sum",
                **{name: getattr(self, name) for name in self.flags}}

    def _state_shape(self, kind: str, batch: int) -> tuple:
        if kind == "pre":
            return (batch, self.source.n)
        if kind == "post":
            return (batch, self.target.n)
        return (batch, *getattr(self.connection, "synapse_shape", self.connection.w.shape))

    def ir_state(self) -> dict[str, torch.Tensor]:
        """The rule's state at the network's batch size (zeros when first needed or
        when the batch size changed), on the weights' device."""
        batch = self.source.batch_size or 1
        device = self.connection.w.device if hasattr(self.connection, "w") else torch.device("cpu")
        for name, kind in self.state_kinds.items():
            shape = self._state_shape(kind, batch)
            value = self._state.get(name)
            if value is None or tuple(value.shape) != shape:
                self._state[name] = torch.zeros(shape, device=device)
                changed()
            elif value.device != device:
                self._state[name] = value.to(device)
                changed()
        return dict(self._state)

    def __getattr__(self, name: str):
        state = self.__dict__.get("_state", {})
        if name in state:
            return state[name]
        if name in type(self).state_kinds:
            return self.ir_state()[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def reset_state_variables(self) -> None:
        """Zero the rule's state (snnc resets it with the network; BindsNET 0.3.4 does so
        only for MulticompartmentConnection rules, docs/differences.md)."""
        for value in self._state.values():
            value.zero_()


class NoOp(LearningRule):
    """No learning; the connection's weight decay still applies (without clamping)."""


class PostPre(LearningRule):
    """Pair-based STDP from the layers' traces (both need ``traces=True``).

    Each learning step, summed (or averaged) over the batch ``b``:
    ``w[i, j] -= nu[0] * s_pre[b, i] * x_post[b, j]`` (a pre spike depresses by the post
    trace), then ``w[i, j] += nu[1] * x_pre[b, i] * s_post[b, j]`` (a post spike
    potentiates by the pre trace); then weight decay and the clamp to ``[wmin, wmax]``.
    Traces already include this step's spikes, so simultaneous spikes give both terms.
    For a convolution or a local connection the sums also run over every position
    that shares the weight.
    """

    ir_name = "post_pre"
    traces = ("source", "target")


class Hebbian(LearningRule):
    """Hebbian learning (both layers need traces): ``w += nu[0] * s_pre * x_post``, then
    ``w += nu[1] * x_pre * s_post``, each summed over the batch; weight decay, clamp."""

    ir_name = "hebbian"
    traces = ("source", "target")


class WeightDependentPostPre(LearningRule):
    """Soft-bounded STDP (both layers need traces; ``wmin`` and ``wmax`` each need a
    finite entry). With ``w`` from before this step's update:
    ``Δw = -nu[0] R_b(s_pre ⊗ x_post) (w - wmin) + nu[1] R_b(x_pre ⊗ s_post) (wmax - w)``."""

    ir_name = "weight_dependent_post_pre"
    traces = ("source", "target")

    def __init__(self, connection, nu=None, reduction=None, weight_decay: float = 0.0, **kwargs) -> None:
        super().__init__(connection, nu, reduction, weight_decay, **kwargs)
        for name in ("wmin", "wmax"):
            bound = getattr(connection, name)
            if not bool(torch.isfinite(bound).all()):
                raise SnncError(f"{_owner(connection)}: WeightDependentPostPre scales by the distance to "
                                f"the bounds; {name} must be finite (got {bound.tolist()})")


class DiehlAndCook(LearningRule):
    """Diehl & Cook (2015)'s post-spike-only rule (source traces; finite ``wmax``):
    ``Δw = nu[1] R_b((x_pre - x_tar) ⊗ s_post) F``, ``F = wmax - w`` for ``mu = 1``, else
    ``max(wmax - w, 0) ** mu``, ``w`` from before this step's update; only ``nu[1]`` is
    used. For the paper's accumulating trace give the source ``traces_additive=True``."""

    ir_name = "diehl_and_cook"
    defaults = {"x_tar": 0.0, "mu": 1.0}
    traces = ("source",)

    def __init__(self, connection, nu=None, reduction=None, weight_decay: float = 0.0, **kwargs) -> None:
        super().__init__(connection, nu, reduction, weight_decay, **kwargs)
        if not bool(torch.isfinite(connection.wmax).all()):
            raise SnncAssertionError(f"{_owner(connection)}: DiehlAndCook scales by wmax - w; wmax must be finite "
                            f"for every synapse (got {connection.wmax.tolist()})")
        if self.x_tar != 0.0 and any(getattr(connection, "padding", ())):
            raise SnncError(f"{_owner(connection)}: DiehlAndCook with x_tar != 0 on a padded convolution "
                            "would count the padding as synapses; use padding=0 or x_tar=0")

    def ir_options(self) -> dict[str, object]:
        return {**super().ir_options(), "mu_power": self.mu != 1.0}
