"""The base of every connection: endpoints, weight bounds, norm, weight decay and rule."""
from __future__ import annotations

import math
import numbers

import torch

from snnc.changes import Tracked
from snnc.errors import SnncError
from snnc.learning import RULES, LearningRule, NoOp
from snnc.network.nodes import Nodes


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
        above = self.wmin > self.wmax
        if above.any():
            first = tuple(int(i) for i in torch.nonzero(above)[0]) if above.dim() else ()
            low = self.wmin.expand(above.shape)[first] if first else self.wmin
            high = self.wmax.expand(above.shape)[first] if first else self.wmax
            raise SnncError(f"{owner}: wmin must not exceed wmax ({int(above.sum())} entr"
                            f"{'y' if int(above.sum()) == 1 else 'ies'}; first at {list(first)}: wmin="
                            f"{float(low)}, wmax={float(high)}); every weight would be clamped to wmax")
        if isinstance(norm, torch.Tensor) and norm.numel() == 1:
            norm = norm.item()
        if norm is not None and (not isinstance(norm, numbers.Real) or isinstance(norm, bool)
                                 or not math.isfinite(norm) or norm == 0):
            raise SnncError(f"{owner}: norm must be a finite non-zero number (the sum each target's "
                            f"|weights| is scaled to), got {norm!r}")
        self.norm = None if norm is None else float(norm)
        self.dt: float | None = None
        self.update_rule: LearningRule = NoOp(connection=self, weight_decay=self.weight_decay)
        if (update_rule is not None and update_rule is not NoOp) or kwargs:
            raise SnncError(f"{self.describe()}: learning rule "
                            f"{getattr(update_rule, '__name__', update_rule)!r} (arguments {sorted(kwargs)}) "
                            "needs a connection type snnc knows; a connection class of its own "
                            "applies its learning in its own update()")

    def describe(self) -> str:
        """``Connection (Input[4] -> LIFNodes[2, 3])``: how errors name this connection."""
        return f"{type(self).__name__} ({_endpoint(self.source)} -> {_endpoint(self.target)})"

    def _attach_update_rule(self, update_rule, nu, reduction, **kwargs) -> None:
        """Instantiate the rule class (default ``NoOp``) with the rule's own keyword
        arguments (``tc_plus``, ``x_tar``, …); call once ``w`` exists."""
        self.decay = kwargs.pop("decay", None)        # BindsNET keeps it on every connection
        self._dales_rule(kwargs.pop("Dales_rule", None))
        update_rule = NoOp if update_rule is None else update_rule
        if update_rule not in RULES:
            name = getattr(update_rule, "__qualname__", repr(update_rule))
            raise SnncError(f"{self.describe()}: learning rule {name!r} is not supported; "
                            f"supported rules (from snnc.learning): {[r.__name__ for r in RULES]}")
        self.update_rule = update_rule(connection=self, nu=nu, reduction=reduction,
                                       weight_decay=self.weight_decay, **kwargs)

    def _dales_rule(self, signs) -> None:
        """``Dales_rule``: a bool tensor broadcastable to ``w``; after every step (learning
        or not) weights marked True are kept >= 0 (excitatory) and the others <= 0
        (inhibitory). BindsNET 0.3.4 zeroes every weight instead (quirk Q15)."""
        if signs is None:
            self.Dales_rule = None
            return
        signs = torch.as_tensor(signs)
        if signs.dtype != torch.bool:
            raise SnncError(f"{self.describe()}: Dales_rule must be a bool tensor (True: excitatory, "
                            f"weights kept >= 0; False: inhibitory, kept <= 0), got {signs.dtype}")
        w = getattr(self, "w", None)
        if w is None or w.layout != torch.strided:
            raise SnncError(f"{self.describe()}: Dale's rule needs dense weights")
        try:
            signs = signs.expand(w.shape).clone()
        except RuntimeError:
            raise SnncError(f"{self.describe()}: Dales_rule has shape {tuple(signs.shape)}, expected one "
                            f"broadcastable to w's {tuple(w.shape)}") from None
        self.Dales_rule = torch.nn.Parameter(signs, requires_grad=False)

    def _common_params(self) -> dict[str, torch.Tensor | None]:
        """IR params every connection has after ``w``, bounds and bias: norm, weight decay,
        Dale's rule and the rule's ``nu``."""
        params = {
            "norm": None if self.norm is None else torch.tensor(self.norm),
            "weight_decay": torch.tensor(self.weight_decay) if self.weight_decay else None,
        }
        if getattr(self, "Dales_rule", None) is not None:         # recorded only when set
            params["dales_rule"] = self.Dales_rule
        if self.update_rule.ir_name is not None:
            params.update(self.update_rule.ir_params())
        return params

    def _common_options(self) -> dict[str, object]:
        """IR options of a connection with a learning rule: its name and batch reduction
        (none without a rule)."""
        if self.update_rule.ir_name is None:
            return {}
        return self.update_rule.ir_options()

    def _rule_state(self) -> dict[str, torch.Tensor]:
        return self.update_rule.ir_state() if self.update_rule.state_kinds else {}

    def reset_state_variables(self) -> None:
        """Zero the learning rule's state (eligibility traces); a connection keeps no
        other state between samples."""
        self.update_rule.reset_state_variables()

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

        connection_update(self, **{"learning": True, **kwargs, "mask": None})
        mask = kwargs.get("mask")
        if mask is not None:
            self.w.data.masked_fill_(mask.to(self.w.device), 0.0)
