"""BindsNET's ``conversion`` package: the neuron models an ANN-to-SNN conversion uses."""
from snnc.conversion.nodes import PassThroughNodes, SubtractiveResetIFNodes

__all__ = ["PassThroughNodes", "SubtractiveResetIFNodes"]
