"""Features whose effect changes every step: Probability (a fresh Bernoulli draw per
synapse; compiled as a per-synapse term), MeanField, the adaptation features (a learned
on/off mask from each synapse's history) and the sub-features (side effects on a parent
feature). Records only: the last three run in :mod:`snnc.runtime.eager_mcc`.
Re-exported by :mod:`snnc.network.topology_features`.
"""
from __future__ import annotations

import torch

from snnc.changes import Tracked
from snnc.errors import SnncError
from snnc.network.topology_features import AbstractFeature


class Probability(AbstractFeature):
    """Each synapse transmits with probability ``value`` (a fresh Bernoulli draw every
    step, shared by the batch): ``· Bernoulli(value)``. Range ``[0, 1]``."""

    is_static = False
    default_range = (0.0, 1.0)

    def __init__(self, name: str, value=None, range=None, norm=None, learning_rule=None, nu=None,
                 reduction=None, decay: float = 0.0, parent_feature=None, **kwargs) -> None:
        if range is not None and float(range[0]) < 0:
            raise SnncError(f"Probability feature {name!r}: the range's minimum must be >= 0, got {range}")
        super().__init__(name, value, range=range, norm=norm, learning_rule=learning_rule, nu=nu,
                         reduction=reduction, decay=decay, parent_feature=parent_feature, **kwargs)

    def initialize_value(self, n_src: int, n_tgt: int) -> torch.Tensor:
        return torch.clamp(torch.rand(n_src, n_tgt), *self.range)


class MeanField(AbstractFeature):
    """Scales the signal by the mean activity of the source over the batch and its
    neurons this step: ``· mean(s)`` (not static). BindsNET 0.3.4's class cannot be
    made (it sets no name); snnc's takes an optional name."""

    is_static = False

    def __init__(self, name: str = "mean_field", **kwargs) -> None:
        super().__init__(name, value=1.0, **kwargs)


class AdaptationBaseSynapsHistory(AbstractFeature):
    """A learned on/off mask from each synapse's recent activity (batch 1).

    The connection keeps, per synapse, the last ``H`` steps on which any source spiked
    (``H = ann_values[0].shape[1]``); every ``H`` such steps a two-layer MLP
    (``ann_values = [W1, W2]``, ReLU then tanh) maps each history to a decision ``d`` in
    ``[-1, 1]`` and ``mask = clamp(mask + d·const_update_rate + const_decay, -1, 1)``
    (``mask`` starts as the given value); the signal is multiplied by ``value``, which
    is zeros from the first step until the first decision and ``mask > 0`` (0 / 1)
    after each one. As in BindsNET, ``reset_state_variables`` sets ``value`` back to the
    initial mask itself (the continuous values, until the next decision).
    """

    is_static = False
    default_const_decay = 0.001

    def __init__(self, name: str, value=None, ann_values=None, const_update_rate: float = 0.1,
                 const_decay: float | None = None, range=None, **kwargs) -> None:
        if value is None:
            raise SnncError(f"{type(self).__name__} feature {name!r}: give the initial mask as value")
        if ann_values is None or len(ann_values) != 2:
            raise SnncError(f"{type(self).__name__} feature {name!r}: ann_values must be [W1, W2]")
        self.ann_values = [torch.as_tensor(v, dtype=torch.float32) for v in ann_values]
        self.const_update_rate = float(const_update_rate)
        self.const_decay = float(self.default_const_decay if const_decay is None else const_decay)
        super().__init__(name, value, range=range, **kwargs)
        self.initial = self._value.clone().float()
        self.mask = self.initial.clone()
        self.history = None
        self.counter = 0

    def reset_state_variables(self) -> None:
        super().reset_state_variables()
        self._value.data.copy_(self.initial.to(self._value.device))

    def _apply(self, fn) -> None:
        super()._apply(fn)
        self.initial, self.mask = fn(self.initial), fn(self.mask)
        if self.history is not None:
            self.history = fn(self.history)


class AdaptationBaseOtherSynaps(AdaptationBaseSynapsHistory):
    """As :class:`AdaptationBaseSynapsHistory`, with ``const_decay = 0.01`` by default."""

    default_const_decay = 0.01


class AbstractSubFeature(Tracked):
    """A pipeline entry with a side effect on its parent feature and no value."""

    op = "mul"
    is_static = False

    def __init__(self, name: str, parent_feature: AbstractFeature) -> None:
        if not isinstance(parent_feature, AbstractFeature):
            raise SnncError(f"{type(self).__name__} {name!r}: parent_feature must be a feature")
        self.name, self.parent = name, parent_feature
        self.is_primed = False
        self.learning_rule = None

    def prime_feature(self, connection, device=None, **kwargs) -> None:
        self.is_primed = True

    def normalize(self) -> None:
        pass

    def update(self, **kwargs) -> None:
        pass

    def reset_state_variables(self) -> None:
        pass

    def tensors(self) -> list[torch.Tensor]:
        return []

    def _apply(self, fn) -> None:
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, parent={self.parent.name!r})"


class Normalization(AbstractSubFeature):
    """Normalises its parent every step (at this point of the pipeline)."""


class Updating(AbstractSubFeature):
    """Runs its parent's learning rule every step (at this point of the pipeline)."""


__all__ = ["AbstractSubFeature", "AdaptationBaseOtherSynaps", "AdaptationBaseSynapsHistory", "MeanField",
           "Normalization", "Probability", "Updating"]
