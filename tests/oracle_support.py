"""Importing BindsNET 0.3.4 for the optional oracle tests (skipped when it is absent)."""
from __future__ import annotations

import pytest
import torch


def import_bindsnet():
    """``bindsnet``, or a skip of the calling module. Declares first the two operators
    whose absence breaks ``import torchvision`` beside a CPU build of torch."""
    for name in ("torchvision::nms", "torchvision::qnms"):
        try:
            torch.library.define(name, "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        except RuntimeError:
            pass  # already defined
    return pytest.importorskip("bindsnet", reason="BindsNET 0.3.4 is not installed (optional oracle)")
