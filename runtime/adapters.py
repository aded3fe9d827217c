"""How each backend's generated ``run`` wants its buffers: torch tensors or numpy views.

Every conversion is zero-copy: a numpy view shares the torch tensor's memory, so the
generated code updates the frontend's state tensors in place.
"""
from __future__ import annotations

from typing import Callable

import torch


def as_torch(tensor: torch.Tensor):
    return tensor


def as_numpy(tensor: torch.Tensor):
    """A numpy view; 0-d tensors become numpy scalars (so numba keeps float32)."""
    array = tensor.detach().numpy()
    return array[()] if tensor.dim() == 0 else array


ADAPTERS: dict[str, Callable[[torch.Tensor], object]] = {
    "torch": as_torch,
    "numba": as_numpy,
}
