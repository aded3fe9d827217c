"""``MulticompartmentConnection`` (spec 4.8): a signal path of features, in order.

The connection has no ``w``: each feature folds its value into the signal (see
:mod:`snnc.network.topology_features`), and the target receives
``s·A + Σ_i O[i, :]`` every step. A pipeline of static features (Weight, Bias,
Mask, Intensity, Degradation) with at most one learning feature is compiled: the
``fuse`` pass folds it into one effective weight and a constant per target; a
Probability feature stays a per-synapse draw in the propagation loop.
Anything else (MeanField, the adaptation features, sub-features,
averaged or polarity-enforcing rules, per-sample values) runs eagerly on the torch
backend, as an opaque op, and says so in a log line.
"""
from __future__ import annotations

import torch

from snnc.errors import SnncError
from snnc.network.connection_base import AbstractConnection
from snnc.network.nodes import Nodes
from snnc.network.topology_features import (STATIC_FEATURES, AbstractFeature, AbstractSubFeature, Degradation,
                                            Probability, Weight)


class AbstractMulticompartmentConnection(AbstractConnection):
    """Base of connections whose signal is a pipeline of features."""


class MulticompartmentConnection(AbstractMulticompartmentConnection):
    """A connection made of features (spec 4.8).

    ``device`` is where the features' values live; ``pipeline`` lists the features in
    the order they fold; ``manual_update``: the network's steps never run the
    features' learning rules (call ``feature.update`` yourself); ``traces``: keep the
    last output as ``activity``; ``sparse_compute`` is accepted (the compiler decides
    how to propagate). Extra keyword arguments go to every feature's learning rule.
    """

    ir_op = "multicompartment"
    untracked = frozenset({"activity"})          # written by each eager step

    def __init__(self, source: Nodes, target: Nodes, device=None, pipeline=None, manual_update: bool = False,
                 traces: bool = False, sparse_compute: bool = False, **kwargs) -> None:
        super().__init__(source, target)
        if device is not None and not isinstance(device, (str, torch.device, int)):
            raise SnncError(f"{self.describe()}: device must be a device name or torch.device, got "
                            f"{type(device).__name__} (the pipeline is the fourth argument: "
                            "MulticompartmentConnection(source, target, device, pipeline))")
        self.device = device
        self.manual_update = bool(manual_update)
        self.traces = bool(traces)
        self.sparse_compute = bool(sparse_compute)
        self.kwargs = kwargs
        self.pipeline: list = []
        self.feature_index: dict[str, object] = {}
        for feature in list(pipeline or []):
            self.append_pipeline(feature)

    # -- editing the pipeline -----------------------------------------------------------
    def _prime(self, feature) -> None:
        if not isinstance(feature, (AbstractFeature, AbstractSubFeature)):
            raise SnncError(f"{self.describe()}: pipeline entries must be features, got {type(feature).__name__}")
        if feature.name in self.feature_index:
            raise SnncError(f"{self.describe()}: a feature named {feature.name!r} is already in the pipeline")
        feature.prime_feature(connection=self, device=self.device, **self.kwargs)

    def append_pipeline(self, feature) -> None:
        """Prime ``feature`` and add it at the end of the pipeline."""
        self._prime(feature)
        self.pipeline = [*self.pipeline, feature]
        self.feature_index = {**self.feature_index, feature.name: feature}

    def insert_pipeline(self, feature, index: int) -> None:
        """Prime ``feature`` and insert it at ``index`` (BindsNET 0.3.4 swaps the
        arguments of ``list.insert`` here and fails)."""
        self._prime(feature)
        pipeline = list(self.pipeline)
        pipeline.insert(index, feature)
        self.pipeline = pipeline
        self.feature_index = {**self.feature_index, feature.name: feature}

    def remove_pipeline(self, feature) -> None:
        """Remove ``feature`` (the object or its name) from the pipeline."""
        if isinstance(feature, str):
            feature = self.feature_index.get(feature, feature)
        if feature not in self.pipeline:
            raise SnncError(f"{self.describe()}: {feature!r} is not in the pipeline")
        self.pipeline = [f for f in self.pipeline if f is not feature]
        self.feature_index = {k: f for k, f in self.feature_index.items() if f is not feature}

    # -- what the compiler can take -------------------------------------------------------
    def _learners(self) -> list[int]:
        """The pipeline positions whose rule the network's steps run."""
        if self.manual_update:
            return []
        return [k for k, f in enumerate(self.pipeline)
                if getattr(getattr(f, "rule", None), "ir_name", None) is not None]

    def main_feature(self) -> int | None:
        """The feature the compiled code keeps as ``w`` (updated in place): the learning
        one, else the one with a norm, else none (every value is folded)."""
        learners = self._learners()
        if learners:
            return learners[0]
        normed = [k for k, f in enumerate(self.pipeline) if getattr(f, "norm", None) is not None]
        return normed[0] if normed else None

    def why_eager(self) -> str | None:
        """Why this pipeline runs eagerly instead of compiled, or None."""
        drawn = [k for k, f in enumerate(self.pipeline) if isinstance(f, Probability)]
        if len(drawn) > 1:
            return "more than one Probability feature"
        if drawn and any(f.op != "mul" for f in self.pipeline[:drawn[0]]):
            return f"a Bias or Degradation comes before the Probability feature {self.pipeline[drawn[0]].name!r}"
        for feature in self.pipeline:
            if not isinstance(feature, (*STATIC_FEATURES, Probability)):
                return f"feature {feature.name!r} ({type(feature).__name__}) changes every step"
            if feature.sparse and feature.value.dim() == 3 and feature.value.shape[0] > 1:
                return f"feature {feature.name!r} holds one value per sample"
            if isinstance(feature, Weight) and feature.enforce_polarity:
                return f"feature {feature.name!r} enforces polarity"
            reason = feature.rule.compiles()
            if reason is not None:
                return f"feature {feature.name!r}'s rule uses {reason}"
        if len(self._learners()) > 1:
            return "more than one feature learns"
        if drawn and (drawn[0] in self._learners() or self.pipeline[drawn[0]].norm is not None):
            return f"the Probability feature {self.pipeline[drawn[0]].name!r} learns or has a norm"
        normed = [k for k, f in enumerate(self.pipeline) if f.norm is not None]
        main = self.main_feature()
        if any(k != main for k in normed):
            return "a feature other than the learning one has a norm"
        if main is not None:
            feature = self.pipeline[main]
            if feature.op != "mul":
                return f"the learning feature {feature.name!r} is added, not multiplied"
            if any(f.op != "mul" for f in self.pipeline[:main]):
                return f"a Bias or Degradation comes before the learning feature {feature.name!r}"
            if isinstance(feature.norm, torch.Tensor) and feature.norm.numel() > 1:
                return f"feature {feature.name!r} has a norm per target"
        return None

    # -- the IR record --------------------------------------------------------------------
    def ir_params(self) -> dict[str, torch.Tensor | None]:
        """``f0``, ``f1``, …: the features' values (a Degradation's: the amount it
        subtracts), then the main feature's rule parameters and norm."""
        params: dict[str, torch.Tensor | None] = {}
        for k, feature in enumerate(self.pipeline):
            value = feature.effective() if isinstance(feature, Degradation) else feature.dense_value
            params[f"f{k}"] = value.detach()
        main = self.main_feature()
        if main is not None:
            feature = self.pipeline[main]
            rule = feature.rule
            if main in self._learners():
                params.update(rule.ir_params())
            if feature.norm is not None:
                params["norm"] = torch.as_tensor(feature.norm, dtype=torch.float32).reshape(())
        return params

    def ir_options(self) -> dict[str, object]:
        """``pipeline``: ``(class, op)`` of every feature; ``main``: the position of the
        feature kept as ``w``; ``norm_each_step``; the learning rule's options."""
        main = self.main_feature()
        options: dict[str, object] = {
            "pipeline": tuple((type(f).__name__, f.op) for f in self.pipeline),
            "main": main,
        }
        if main is not None:
            feature = self.pipeline[main]
            options["norm_each_step"] = getattr(feature, "norm_frequency", "sample") == "time step"
            if main in self._learners():
                options.update(feature.rule.ir_options())
        return options

    def ir_state(self) -> dict[str, torch.Tensor]:
        main = self.main_feature()
        if main is None or main not in self._learners():
            return {}
        rule = self.pipeline[main].rule
        return rule.ir_state() if rule.state_kinds else {}

    @property
    def update_rule(self):
        """The learning rule the compiled run applies (the main feature's), else NoOp."""
        main = self.main_feature() if "pipeline" in self.__dict__ else None
        if main is not None and main in self._learners():
            return self.pipeline[main].rule
        return self.__dict__.get("_no_rule")

    @update_rule.setter
    def update_rule(self, rule) -> None:
        self.__dict__["_no_rule"] = rule

    # -- BindsNET's methods ------------------------------------------------------------
    def compute(self, s: torch.Tensor) -> torch.Tensor:
        """The target's input ``[B, *target.shape]`` for source spikes ``s``, eagerly."""
        from snnc.runtime.eager_mcc import mcc_compute

        return mcc_compute(self, s)

    def update(self, **kwargs) -> None:
        """While ``learning`` (default False, as in BindsNET) and not ``manual_update``:
        every feature's learning rule."""
        if kwargs.get("learning", False) and not self.manual_update:
            for feature in self.pipeline:
                feature.update(**kwargs)

    def normalize(self) -> None:
        """Every feature's ``normalize`` (those with a ``norm``)."""
        for feature in self.pipeline:
            feature.normalize()

    def reset_state_variables(self) -> None:
        """Reset every feature (its rule's state, an adaptation feature's mask)."""
        for feature in self.pipeline:
            feature.reset_state_variables()

    def tensors(self) -> list[torch.Tensor]:
        return [t for feature in self.pipeline for t in feature.tensors()]

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        for feature in self.pipeline:
            feature._apply(fn)
        return self


__all__ = ["AbstractMulticompartmentConnection", "MulticompartmentConnection"]
