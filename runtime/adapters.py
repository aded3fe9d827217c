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


def as_cuda_array(tensor: torch.Tensor):
    """A numba device-array view of a CUDA tensor; under the CUDA simulator
    (``NUMBA_ENABLE_CUDASIM=1``) CPU tensors pass as numpy views."""
    if tensor.dim() == 0:
        return tensor.detach().cpu().numpy()[()]
    if tensor.is_cuda:
        from numba import cuda

        return cuda.as_cuda_array(tensor.detach())
    if _simulating():
        return as_numpy(tensor)
    raise RuntimeError("backend numba-cuda: buffers must be CUDA tensors; move the network "
                       "with network.to('cuda')")


def _simulating() -> bool:
    import os

    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"


ADAPTERS["numba-cuda"] = as_cuda_array
