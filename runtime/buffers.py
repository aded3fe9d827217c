"""Allocation of the buffers a run writes (monitor recordings)."""
from __future__ import annotations

import math
import mmap
import sys

import numpy as np
import torch

NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16,
                torch.bool: np.bool_, torch.uint8: np.uint8, torch.int32: np.int32, torch.int64: np.int64}
HUGE_PAGE = 2 << 20
MIN_BYTES = 1 << 20


def output_buffer(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """An uninitialised tensor the run fills completely.

    On Linux CPUs, buffers of 1 MiB and more are anonymous mappings (rounded up to
    2 MiB) advised to use transparent huge pages: a fresh recording then costs one
    page fault per 2 MiB instead of one per 4 KiB (1.8 ms -> 0.6 ms for the guide's
    2 MB voltage record in a new process).
    """
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    if device.type != "cpu":
        return torch.empty(shape, dtype=dtype, device=device)
    if nbytes < MIN_BYTES or not sys.platform.startswith("linux") or not hasattr(mmap, "MADV_HUGEPAGE"):
        pair = small_output_array(shape, dtype)
        return torch.empty(shape, dtype=dtype) if pair is None else pair[0]
    region = mmap.mmap(-1, -(-nbytes // HUGE_PAGE) * HUGE_PAGE,
                       flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    region.madvise(mmap.MADV_HUGEPAGE)
    return torch.frombuffer(region, dtype=dtype, count=count).view(shape)


def small_output_array(shape: tuple[int, ...], dtype: torch.dtype) -> tuple[torch.Tensor, np.ndarray] | None:
    """A CPU buffer under ``MIN_BYTES`` as a numpy array and the tensor sharing it
    (numpy allocates faster than torch, and numba takes the array as it is), or None
    when it is larger or numpy has no such dtype."""
    numpy_dtype = NUMPY_DTYPES.get(dtype)
    if numpy_dtype is None or math.prod(shape) * dtype.itemsize >= MIN_BYTES:
        return None
    array = np.empty(shape, numpy_dtype)
    return torch.from_numpy(array), array
