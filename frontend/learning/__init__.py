"""BindsNET's ``learning`` package: learning rules as records of their parameters.

A rule holds its learning rates and batch reduction; the compiler reads them from the
IR (``options["rule"]``, ``options["reduction"]``, ``params["nu"]`` of the
connection) and generates the weight update. No update code lives here.
"""
from snnc.learning import reward
from snnc.learning.learning import RULES, LearningRule, NoOp, PostPre

__all__ = ["LearningRule", "NoOp", "PostPre", "RULES", "reward"]
