"""Features of a ``MulticompartmentConnection`` (spec 4.9): records of their values.

A feature holds a value ``[n_src, n_tgt]`` (a number is a one-element tensor; a
``sparse`` value is kept per sample, ``[batch_size, n_src, n_tgt]``, and shown as a
sparse COO tensor) and says how it folds into the connection's signal (``op``, spec
4.8): with a running factor ``A`` and offset ``O`` (absent at the start), ``mul``
``a`` gives ``A ← a·A, O ← a·O``; ``add`` ``b`` gives ``O ← O + b``; ``sub`` ``b``
gives ``O ← O − b``. The target receives ``s·A + Σ_i O[i, :]`` each step.

No simulation code lives here: the compiler folds the static features
(:mod:`snnc.compiler.passes.fuse`); the others run in :mod:`snnc.runtime.eager_mcc`.
"""
from __future__ import annotations

import math
import numbers

import torch

from snnc.changes import Tracked
from snnc.errors import SnncError

_DTYPES = {"float16": torch.float16, "float32": torch.float32, "float64": torch.float64,
           "bfloat16": torch.bfloat16, "bool": torch.bool}


def _dtype(owner: str, value_dtype) -> torch.dtype:
    """A torch dtype, or its name as the guide writes it (``'float16'``)."""
    if isinstance(value_dtype, torch.dtype):
        return value_dtype
    if isinstance(value_dtype, str) and value_dtype.removeprefix("torch.") in _DTYPES:
        return _DTYPES[value_dtype.removeprefix("torch.")]
    raise SnncError(f"{owner}: value_dtype must be a torch dtype or one of {sorted(_DTYPES)}, got {value_dtype!r}")


class AbstractFeature(Tracked):
    """Base of every feature: name, value, range, norm and learning rule (spec 4.9).

    ``range``: every value must lie in it (default ``[-1, 1]`` here; subclasses set
    their own); ``norm``: ``normalize()`` scales each target column so that its signed
    sum is ``norm`` (a zero sum counts as 1); ``learning_rule``: a class from
    :mod:`snnc.learning.MCC_learning`, made with ``nu``, ``reduction``, ``decay`` and the
    remaining keyword arguments when the connection primes the feature.
    """

    op = "mul"
    is_static = True
    default_range: tuple[float, float] = (-1.0, 1.0)
    untracked = frozenset({"history", "counter", "mask"})     # written by eager steps

    def __init__(self, name: str, value=None, value_dtype=torch.float32, range=None, clamp_frequency=1,
                 norm=None, learning_rule=None, nu=None, reduction=None, enforce_polarity: bool = False,
                 decay: float = 0.0, parent_feature=None, sparse: bool = False, batch_size: int = 1,
                 **kwargs) -> None:
        owner = f"{type(self).__name__} feature {name!r}"
        if not isinstance(name, str):
            raise SnncError(f"{type(self).__name__}: name must be a string, got {name!r}")
        self.name = name
        self.value_dtype = _dtype(owner, value_dtype)
        if self.value_dtype == torch.float64:
            raise SnncError(f"{owner}: value_dtype float64 is not supported; snnc computes in float32 "
                            "and stores float32, float16 or bfloat16 values")
        if value is not None and not isinstance(value, (numbers.Real, torch.Tensor)):
            raise SnncError(f"{owner}: value must be None, a number or a tensor, got {type(value).__name__}")
        if norm is not None and not isinstance(norm, (numbers.Real, torch.Tensor)):
            raise SnncError(f"{owner}: norm must be None, a number or a tensor, got {norm!r}")
        from snnc.learning import MCC_learning

        if learning_rule is not None and learning_rule not in MCC_learning.MCC_RULES:
            raise SnncError(f"{owner}: learning_rule must be one of snnc.learning.MCC_learning's "
                            f"{[r.__name__ for r in MCC_learning.MCC_RULES]}, got "
                            f"{getattr(learning_rule, '__qualname__', learning_rule)!r}")
        if nu is not None and not isinstance(nu, (list, tuple)):
            raise SnncError(f"{owner}: nu must be None or a pair (nu_pre, nu_post), got {nu!r}")
        if reduction is not None and not callable(reduction):
            raise SnncError(f"{owner}: reduction must be None or a callable (torch.sum, torch.mean)")
        if not isinstance(decay, numbers.Real) or isinstance(decay, bool):
            raise SnncError(f"{owner}: decay must be a number, got {decay!r}")
        low, high = self.default_range if range is None else (float(range[0]), float(range[1]))
        if not low < high:
            raise SnncError(f"{owner}: range must be [low, high] with low < high, got {[low, high]}")
        self.range = [low, high]
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise SnncError(f"{owner}: batch_size must be a positive int, got {batch_size!r}")
        self.sparse, self.batch_size = bool(sparse), batch_size
        self.clamp_frequency = clamp_frequency
        self.norm = norm
        self.learning_rule = learning_rule
        self.nu, self.reduction, self.decay = nu, reduction, float(decay)
        self.enforce_polarity = bool(enforce_polarity)
        self.parent_feature = parent_feature
        self.kwargs = kwargs
        self._value: torch.Tensor | None = None
        self.is_primed = False
        self.connection = None
        if value is not None:
            self._value = self._checked(owner, value)

    # -- the value --------------------------------------------------------------------
    def _checked(self, owner: str, value) -> torch.Tensor:
        tensor = torch.as_tensor(value).detach().clone()
        if tensor.layout != torch.strided:
            tensor = tensor.to_dense()
        if tensor.dtype != self.value_dtype:
            tensor = tensor.to(self.value_dtype)
        if tensor.dtype != torch.bool:
            if torch.isnan(tensor).any():
                raise SnncError(f"{owner}: value contains NaN")
            low, high = self.range
            outside = (tensor.float() < low) | (tensor.float() > high)
            if outside.any():
                raise SnncError(f"{owner}: {int(outside.sum())} value(s) outside range {self.range} "
                                f"(e.g. {float(tensor.float()[outside].flatten()[0])})")
        return tensor

    @property
    def value(self) -> torch.Tensor | None:
        """The value: a dense tensor, or for a ``sparse`` feature a sparse COO tensor
        ``[batch_size, n_src, n_tgt]`` (``dense_value`` gives it dense)."""
        if self._value is None or not self.sparse or self._value.layout == torch.sparse_coo:
            return self._value
        return self._value.to_sparse()

    @value.setter
    def value(self, new) -> None:
        owner = f"{type(self).__name__} feature {self.name!r}"
        if self.value_dtype == torch.bool and torch.as_tensor(new).dtype != torch.bool:
            raise SnncError(f"{owner}: value must be a bool tensor, got {torch.as_tensor(new).dtype}")
        tensor = self._checked(owner, new)
        if self.is_primed and self._value is not None:
            old = tuple(self._value.shape)
            fits = tuple(tensor.shape) == old or (tensor.numel() == 1 and len(old) == 1) or \
                (self.sparse and tuple(tensor.shape) == old[-2:])
            if not fits:
                raise SnncError(f"{owner}: value has shape {tuple(tensor.shape)}, expected {old}")
        if self.sparse and self._value is not None and tensor.dim() == 2:
            tensor = tensor.expand(self._value.shape).clone()
        rule = getattr(self, "rule", None)
        if self.sparse and rule is not None and rule.ir_name is None and self.norm is None:
            self._value = tensor.to_sparse().coalesce()
            return
        self._value = torch.nn.Parameter(tensor, requires_grad=False)
        if rule is not None:
            rule.feature_value = self._value

    @property
    def dense_value(self) -> torch.Tensor | None:
        """The value as a dense tensor: the feature's own (the one a learning rule
        updates in place), or a dense copy of a sparse value that does not learn (kept
        as sparse COO: only its non-zero entries use memory)."""
        if self._value is not None and self._value.layout == torch.sparse_coo:
            return self._value.to_dense()
        return self._value

    def initialize_value(self, n_src: int, n_tgt: int) -> torch.Tensor:
        """The default value when none is given: ``U[0, 1)``."""
        return torch.rand(n_src, n_tgt)

    # -- priming ----------------------------------------------------------------------
    def prime_feature(self, connection, device=None, **kwargs) -> None:
        """Bind the feature to ``connection``: check or make its value, and make its
        learning rule (default ``NoOp``) with the feature's options overridden by the
        connection's ``kwargs``. Idempotent."""
        if self.is_primed:
            return
        from snnc.learning import MCC_learning

        owner = f"{type(self).__name__} feature {self.name!r} of {connection.describe()}"
        n_src, n_tgt = connection.source.n, connection.target.n
        self.connection = connection
        parent = self.parent_feature
        if parent is not None:
            if not isinstance(parent, (Probability, Weight, Bias, Intensity)) or \
                    not isinstance(self, (Probability, Weight, Bias, Intensity)):
                raise SnncError(f"{owner}: only Probability, Weight, Bias and Intensity features can "
                                f"share a value (parent {type(parent).__name__})")
            parent.prime_feature(connection, device, **kwargs)
            self._value = parent._value
            self.sparse = parent.sparse
            self.rule = MCC_learning.NoOp(connection, feature_value=self._value)
            self.is_primed = True
            return
        value = self._value
        if value is None:
            value = self._checked(owner, self.initialize_value(n_src, n_tgt))
        if value.dim() == 0 or value.numel() == 1 and value.dim() <= 1:
            value = value.reshape(1)
        elif self.sparse:
            if value.dim() == 2:
                value = value.expand(self.batch_size, *value.shape).clone()
            if tuple(value.shape[1:]) != (n_src, n_tgt):
                raise SnncError(f"{owner}: a sparse value has shape {tuple(value.shape)}, expected "
                                f"[batch_size, {n_src}, {n_tgt}]")
        elif tuple(value.shape) != (n_src, n_tgt):
            raise SnncError(f"{owner}: value has shape {tuple(value.shape)}, expected ({n_src}, {n_tgt})")
        if isinstance(self.norm, torch.Tensor) and self.norm.numel() != 1 and self.norm.numel() != n_tgt:
            raise SnncError(f"{owner}: a tensor norm needs one entry per target neuron ({n_tgt}), "
                            f"got {self.norm.numel()}")
        if device is not None:
            value = value.to(device)
        self._value = torch.nn.Parameter(value, requires_grad=False)
        options = {**self.kwargs, **kwargs}
        if self.enforce_polarity and self.learning_rule is not None:
            options.setdefault("enforce_polarity", True)
        rule = MCC_learning.NoOp if self.learning_rule is None else self.learning_rule
        self.rule = rule(connection, feature_value=self._value, range=self.range, nu=self.nu,
                         reduction=self.reduction, decay=self.decay, **options)
        self.learning_rule = self.rule            # the instance from now on, as in BindsNET
        if self.rule.ir_name is not None or self.norm is not None:
            if self._value.dim() < 2:
                raise SnncError(f"{owner}: a feature that learns or has a norm needs one value per "
                                f"synapse [{n_src}, {n_tgt}], got a single number")
        elif self.sparse:                                   # fixed: only the non-zero entries
            self._value = value.to_sparse().coalesce()
        self.is_primed = True

    # -- maintenance ------------------------------------------------------------------
    def normalize(self) -> None:
        """With a ``norm``: scale every target column of the value so that its signed sum
        over the sources is ``norm`` (a zero sum counts as 1); per sample when sparse. The
        network calls it at the end of every run."""
        self.normalize_now()

    def normalize_now(self) -> None:
        """The scaling itself (a ``Normalization`` sub-feature calls it every step)."""
        if self.norm is None or self._value is None or self._value.dim() < 2:
            return
        if self._value.layout == torch.sparse_coo:
            dense = self._value.to_dense()
            sums = dense.sum(dim=-2, keepdim=True)
            sums[sums == 0] = 1
            self._value = (dense * (self.norm / sums)).to_sparse().coalesce()
            return
        value = self._value.data
        sums = value.sum(dim=-2, keepdim=True)
        sums[sums == 0] = 1
        norm = self.norm if not isinstance(self.norm, torch.Tensor) else self.norm.to(value.device)
        value.mul_(norm / sums)

    def update(self, **kwargs) -> None:
        """One step of the feature's learning rule (``connection.update`` calls it)."""
        from snnc.runtime.eager_mcc import feature_update

        feature_update(self, **kwargs)

    def reset_state_variables(self) -> None:
        """Zero the learning rule's state (eligibility, averaging buffers)."""
        rule = getattr(self, "rule", None)
        if rule is not None:
            rule.reset_state_variables()

    def tensors(self) -> list[torch.Tensor]:
        """Every tensor the feature holds (a run's fingerprint reads their versions)."""
        found = [] if self._value is None else \
            [self._value if self._value.layout == torch.strided else self._value._values()]
        if isinstance(self.norm, torch.Tensor):
            found.append(self.norm)
        return found

    def _apply(self, fn) -> None:
        """Move the value (in place, so the rule's reference stays valid) and the norm."""
        if self._value is not None and self.parent_feature is None:
            if self._value.layout == torch.sparse_coo:
                self._value = fn(self._value)
            else:
                self._value.data = fn(self._value.data)
        if isinstance(self.norm, torch.Tensor):
            self.norm = fn(self.norm)
        rule = getattr(self, "rule", None)
        if rule is not None:
            rule._apply(fn)

    def __repr__(self) -> str:
        shape = None if self._value is None else tuple(self._value.shape)
        return f"{type(self).__name__}({self.name!r}, op={self.op}, shape={shape})"


class Mask(AbstractFeature):
    """A fixed bool mask: ``· value`` (default ``U[0, 1) > 0.99``, about 1 % True)."""

    def __init__(self, name: str, value=None, **kwargs) -> None:
        if value is not None and torch.as_tensor(value).dtype != torch.bool:
            raise SnncError(f"Mask feature {name!r}: value must be a bool tensor, got "
                            f"{torch.as_tensor(value).dtype}")
        super().__init__(name, value, value_dtype=torch.bool, **kwargs)

    def initialize_value(self, n_src: int, n_tgt: int) -> torch.Tensor:
        return torch.rand(n_src, n_tgt) > 0.99


class Weight(AbstractFeature):
    """Synaptic weights: ``· value`` (default ``U[0, 1)``, range ``[-inf, inf]``).

    ``norm_frequency``: ``"sample"`` normalises at the end of every run; ``"time step"``
    after every step's propagation (the step itself uses the value from before).
    ``enforce_polarity``: every row keeps the sign most of its entries had at priming
    (an entry of the wrong sign or zero becomes ±0.0001). Extra keyword arguments go
    to the learning rule (``x_tar``, ``mu``, ``tc_plus``, …).
    """

    default_range = (-math.inf, math.inf)

    def __init__(self, name: str, value=None, value_dtype=torch.float32, range=None, norm=None,
                 norm_frequency: str = "sample", learning_rule=None, nu=None, reduction=None,
                 enforce_polarity: bool = False, decay: float = 0.0, sparse: bool = False,
                 batch_size: int = 1, **kwargs) -> None:
        if norm_frequency not in ("sample", "time step"):
            raise SnncError(f"Weight feature {name!r}: norm_frequency must be 'sample' or 'time step', "
                            f"got {norm_frequency!r}")
        self.norm_frequency = norm_frequency
        super().__init__(name, value, value_dtype, range=range, norm=norm, learning_rule=learning_rule,
                         nu=nu, reduction=reduction, enforce_polarity=enforce_polarity, decay=decay,
                         sparse=sparse, batch_size=batch_size, **kwargs)
        if self.norm_frequency == "time step":
            self.is_static = False

    def prime_feature(self, connection, device=None, **kwargs) -> None:
        super().prime_feature(connection, device, **kwargs)
        if self.enforce_polarity and self.positive_mask is None:
            value = self._value.detach()
            self.positive_mask = (value > 0).sum(dim=-1, keepdim=True) > value.shape[-1] / 2

    positive_mask = None

    def normalize(self) -> None:
        """At the end of a run, only with ``norm_frequency="sample"`` (a per-step norm
        is not applied again then, as in BindsNET 0.3.4)."""
        if self.norm_frequency == "sample":
            self.normalize_now()


class Bias(AbstractFeature):
    """A constant per synapse added to the signal: target ``j`` receives
    ``Σ_i value[i, j]`` every step, spikes or not (default ``U[0, 1)``)."""

    op = "add"
    default_range = (-math.inf, math.inf)

    def __init__(self, name: str, value=None, range=None, norm=None, **kwargs) -> None:
        super().__init__(name, value, range=range, norm=norm, **kwargs)


class Intensity(AbstractFeature):
    """A per-synapse gain: ``· value`` (default a random sign in {−1, 0, 1} clamped to the
    range ``[-1, 1]``)."""

    def __init__(self, name: str, value=None, range=None, **kwargs) -> None:
        super().__init__(name, value, range=range, **kwargs)

    def initialize_value(self, n_src: int, n_tgt: int) -> torch.Tensor:
        return torch.clamp(torch.randint(-1, 2, (n_src, n_tgt)).float(), *self.range)


class Degradation(AbstractFeature):
    """Subtracted from the signal: ``− degrade_function(value)``, or ``− value``."""

    op = "sub"

    def __init__(self, name: str, value=None, range=None, degrade_function=None, parent_feature=None,
                 **kwargs) -> None:
        if degrade_function is not None and not callable(degrade_function):
            raise SnncError(f"Degradation feature {name!r}: degrade_function must be callable")
        self.degrade_function = degrade_function
        super().__init__(name, value, range=range, parent_feature=parent_feature, **kwargs)

    def initialize_value(self, n_src: int, n_tgt: int) -> torch.Tensor:
        raise SnncError(f"Degradation feature {self.name!r}: give a value")

    def effective(self) -> torch.Tensor:
        """The amount subtracted per synapse."""
        value = self._value.detach()
        if self.degrade_function is None:
            return value
        result = torch.as_tensor(self.degrade_function(value))
        if result.shape != value.shape and result.numel() != 1:
            raise SnncError(f"Degradation feature {self.name!r}: degrade_function returned shape "
                            f"{tuple(result.shape)}, expected {tuple(value.shape)} (or one number)")
        return result


from snnc.network.dynamic_features import (AbstractSubFeature, AdaptationBaseOtherSynaps,  # noqa: E402
                                           AdaptationBaseSynapsHistory, MeanField, Normalization, Probability,
                                           Updating)

STATIC_FEATURES = (Weight, Bias, Mask, Intensity, Degradation)

__all__ = ["AbstractFeature", "AbstractSubFeature", "AdaptationBaseOtherSynaps", "AdaptationBaseSynapsHistory",
           "Bias", "Degradation", "Intensity", "Mask", "MeanField", "Normalization", "Probability",
           "STATIC_FEATURES", "Updating", "Weight"]
