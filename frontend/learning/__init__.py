"""BindsNET's ``learning`` package: learning rules as records of their parameters.

A rule holds its learning rates, batch reduction, parameters and state; the compiler
reads them from the IR (``options["rule"]``, ``options["reduction"]``, ``params["nu"]``
and the rule's parameters and state on the connection) and generates the weight
update. No update code lives here.
"""
from snnc.learning import reward
from snnc.learning.learning import (DiehlAndCook, Hebbian, LearningRule, NoOp, PostPre,
                                    WeightDependentPostPre)
from snnc.learning.reward_rules import MSTDP, MSTDPET, Rmax
from snnc.learning import MCC_learning  # noqa: E402  (after the rules it builds on)

RULES: tuple[type[LearningRule], ...] = (NoOp, PostPre, Hebbian, WeightDependentPostPre, DiehlAndCook,
                                         MSTDP, MSTDPET, Rmax)

__all__ = ["DiehlAndCook", "Hebbian", "LearningRule", "MCC_learning", "MSTDP", "MSTDPET", "NoOp", "PostPre", "RULES",
           "Rmax", "WeightDependentPostPre", "reward"]
