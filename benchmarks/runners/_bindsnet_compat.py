"""Make ``import bindsnet`` work in the oracle venv (CPU torch 2.13.0, torchvision 0.28.0).

torchvision's wheel is built against PyPI's CUDA torch, so its C extension does not load
with the local CPU build of torch and its operators are never registered. torchvision's
Python side still registers fake (meta) kernels for ``torchvision::nms`` and
``torchvision::qnms`` at import, which fails when the operator schemas do not exist.
Defining the two schemas first (no kernels: bindsnet never calls them) lets
``import torchvision`` and hence ``import bindsnet`` succeed.
"""
from __future__ import annotations

import warnings

# The schemas as torchvision registers them (torchvision/csrc/ops/nms.cpp).
SCHEMAS = {
    "torchvision::nms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "torchvision::qnms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}


def prepare() -> None:
    import torch

    for name, schema in SCHEMAS.items():
        namespace, op = name.split("::")
        if hasattr(getattr(torch.ops, namespace), op):
            try:
                getattr(getattr(torch.ops, namespace), op).default
                continue  # already registered (a working torchvision build)
            except (AttributeError, RuntimeError):
                pass
        try:
            torch.library.define(name, schema)
        except RuntimeError:
            pass  # defined meanwhile
    warnings.filterwarnings("ignore", module="torchvision")
