"""Learning rules of ``MulticompartmentConnection`` features (spec 6.8).

Each rule updates one feature's value ``[n_src, n_tgt]`` with the equations of its
twin in :mod:`snnc.learning` (the same IR rule, so the same generated code), with
the MCC conventions:

* ``nu``: None → ``[0.2, 0.1]``, a number → ``[nu, nu]``, else the pair;
* ``range = [min, max]``: the value is clamped to it after every update (not by
  ``NoOp``), the feature's range by default;
* ``decay``: ``value *= 1 - decay`` every update (not by ``NoOp``);
* ``enforce_polarity``: entries whose sign changed from the initial one become 0;
* ``average_update = k > 0``: the mean of the last ``k`` steps' updates is applied,
  every step (``continues_update=True``) or once every ``k`` steps.

No update code lives here: static pipelines are compiled, the rest runs in
:mod:`snnc.runtime.eager_mcc`.
"""
from __future__ import annotations

import math
import numbers

import torch

from snnc.changes import changed
from snnc.errors import SnncAssertionError, SnncError
from snnc.learning import learning, reward_rules
from snnc.learning.learning import _owner


def _rates(owner: str, nu) -> list[float]:
    if nu is None:
        return [0.2, 0.1]
    if isinstance(nu, numbers.Real) or (isinstance(nu, torch.Tensor) and nu.numel() == 1):
        return [float(nu), float(nu)]
    entries = list(nu)
    if len(entries) != 2:
        raise SnncError(f"{owner}: nu must be a pair (nu_pre, nu_post), got {len(entries)} entries")
    return [float(e) for e in entries]


class MCC_LearningRule:
    """Mixin over a :class:`~snnc.learning.LearningRule`: the MCC constructor
    ``(connection, feature_value, range=None, nu=None, reduction=None, decay=0.0,
    enforce_polarity=False, **kwargs)``."""

    default_range = (-1.0, 1.0)

    def __init__(self, connection, feature_value=None, range=None, nu=None, reduction=None,
                 decay: float = 0.0, enforce_polarity: bool = False, **kwargs) -> None:
        owner = f"{type(self).__name__} (MCC) on {_owner(connection)}"
        self.feature_value = feature_value
        low, high = self.default_range if range is None else range
        self.range = [float(low), float(high)]
        self.average_update = int(kwargs.pop("average_update", 0) or 0)
        self.continues_update = bool(kwargs.pop("continues_update", False))
        self.enforce_polarity = bool(enforce_polarity)
        if not isinstance(decay, numbers.Real) or not 0.0 <= float(decay) <= 1.0:
            raise SnncError(f"{owner}: decay must be a number in [0, 1], got {decay!r}")
        self.decay = float(decay)
        rates = None if self.ir_name is None else _rates(owner, nu)
        learning.LearningRule.__init__(self, connection, rates, reduction, 0.0, **kwargs)
        self.initial_signs = None if feature_value is None or not self.enforce_polarity else \
            torch.sign(feature_value.detach()).clone()
        self.updates: list[torch.Tensor] = []

    @property
    def wmin(self) -> torch.Tensor:
        return torch.tensor(self.range[0])

    @property
    def wmax(self) -> torch.Tensor:
        return torch.tensor(self.range[1])

    def _state_shape(self, kind: str, batch: int) -> tuple:
        if kind == "pre":
            return (batch, self.source.n)
        if kind == "post":
            return (batch, self.target.n)
        return (batch, *self.feature_value.shape[-2:])

    def ir_state(self) -> dict[str, torch.Tensor]:
        device = self.feature_value.device if self.feature_value is not None else torch.device("cpu")
        batch = self.source.batch_size or 1
        for name, kind in self.state_kinds.items():
            shape = self._state_shape(kind, batch)
            value = self._state.get(name)
            if value is None or tuple(value.shape) != shape or value.device != device:
                self._state[name] = torch.zeros(shape, device=device) if value is None or \
                    tuple(value.shape) != shape else value.to(device)
                changed()
        return dict(self._state)

    def ir_params(self) -> dict[str, torch.Tensor]:
        """The IR record of the rule on its feature: rates, bounds, decay, own parameters."""
        params = super().ir_params()
        params["wmin"], params["wmax"] = self.wmin, self.wmax
        if self.decay:
            params["weight_decay"] = torch.tensor(self.decay)
        return params

    def compiles(self) -> str | None:
        """Why this rule cannot be compiled, or None."""
        if self.average_update > 0:
            return "average_update"
        if self.enforce_polarity:
            return "enforce_polarity"
        return None

    def reset_state_variables(self) -> None:
        super().reset_state_variables()
        self.updates.clear()              # in place: a reset is not a change to rebind for

    def _apply(self, fn) -> None:
        for name, value in list(self._state.items()):
            self._state[name] = fn(value)
        if self.initial_signs is not None:
            self.initial_signs = fn(self.initial_signs)


class NoOp(MCC_LearningRule, learning.NoOp):
    """Does nothing at all (not even decay or the clamp)."""

    def __init__(self, connection, feature_value=None, range=None, nu=None, reduction=None,
                 decay: float = 0.0, enforce_polarity: bool = False, **kwargs) -> None:
        super().__init__(connection, feature_value, range, nu, reduction, 0.0, False)


class PostPre(MCC_LearningRule, learning.PostPre):
    """STDP from both layers' traces (spec 6.2): ``value −= nu0·R_b(s_pre ⊗ x_post)``,
    ``value += nu1·R_b(x_pre ⊗ s_post)``; then decay, polarity, clamp to the range."""


class Hebbian(MCC_LearningRule, learning.Hebbian):
    """``value += nu0·R_b(s_pre ⊗ x_post) + nu1·R_b(x_pre ⊗ s_post)``; decay, clamp."""


class DiehlAndCook(MCC_LearningRule, learning.DiehlAndCook):
    """Spec 6.4a with ``wmax`` = the range's upper end (default range ``[0, 1]``; must
    be finite), ``x_tar`` and ``mu`` from the feature's keyword arguments."""

    default_range = (0.0, 1.0)

    def __init__(self, connection, feature_value=None, range=None, nu=None, reduction=None,
                 decay: float = 0.0, enforce_polarity: bool = False, **kwargs) -> None:
        high = (range or self.default_range)[1]
        if not math.isfinite(float(high)):
            raise SnncAssertionError(f"DiehlAndCook (MCC) on {_owner(connection)}: the range's upper end is its "
                            f"wmax and must be finite, got {range}")
        MCC_LearningRule.__init__(self, connection, feature_value, range, nu, reduction, decay,
                                  enforce_polarity, **kwargs)


class MSTDP(MCC_LearningRule, reward_rules.MSTDP):
    """Reward-modulated STDP (spec 6.5): ``value += nu0·R_b(reward·E)`` with the previous
    step's eligibility ``E = P⁺ ⊗ s_post + s_pre ⊗ P⁻``; then decay, clamp."""

    @property
    def eligibility(self) -> torch.Tensor:
        state = self.ir_state()
        return state["p_plus"][:, :, None] * state["last_s_post"][:, None, :] + \
            state["last_s_pre"][:, :, None] * state["p_minus"][:, None, :]


class MSTDPET(MCC_LearningRule, reward_rules.MSTDPET):
    """MSTDP with an eligibility trace (spec 6.6): ``ET = ET·exp(−dt/tc_e_trace) +
    E/tc_e_trace``, ``value += nu0·dt·R_b(reward·ET)``; then decay, clamp."""


MCC_RULES = (NoOp, PostPre, Hebbian, DiehlAndCook, MSTDP, MSTDPET)

__all__ = ["DiehlAndCook", "Hebbian", "MCC_LearningRule", "MCC_RULES", "MSTDP", "MSTDPET", "NoOp", "PostPre"]
