"""BindsNET's ``conversion`` package: ANN-to-SNN conversion and the neuron models it uses.

``PermuteConnection`` / ``ConstantPad2dConnection`` are not provided: BindsNET's cannot be
instantiated (quirk Q26), and ``ann_to_snn`` refuses ``Permute`` / ``ConstantPad2d``.
"""
from snnc.conversion.conversion import FeatureExtractor, Permute, ann_to_snn, data_based_normalization
from snnc.conversion.nodes import PassThroughNodes, SubtractiveResetIFNodes

__all__ = ["FeatureExtractor", "PassThroughNodes", "Permute", "SubtractiveResetIFNodes", "ann_to_snn",
           "data_based_normalization"]
