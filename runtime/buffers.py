"""Allocation of the buffers a run writes (monitor recordings).

Large CPU recordings are anonymous mappings advised to use transparent huge pages, and
they are recycled: when every tensor made from a recording (views included) has been
freed, its mapping returns to a small pool, and the next recording of that size reuses
it. The pages are then already mapped, so the run writes them at memory speed instead
of faulting and zeroing each page first (a batch-64 guide run records 160 MB: about
20 ms of page faults per run). The pool keeps at most ``SNNC_BUFFER_POOL_MB`` MiB of
free mappings (default 1024; 0 turns recycling off); :func:`release_pool` empties it.
"""
from __future__ import annotations

import math
import mmap
import os
import sys
import threading
import weakref

import numpy as np
import torch

NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16,
                torch.bool: np.bool_, torch.uint8: np.uint8, torch.int32: np.int32, torch.int64: np.int64}
HUGE_PAGE = 2 << 20
MIN_BYTES = 1 << 20


class MappingPool:
    """Free anonymous mappings by size, most recently freed last, up to ``limit`` bytes.

    A mapping is handed out wrapped in a fresh ``memoryview``; the tensor made from it
    keeps that view alive, and a weak reference to the view tells when the last user
    is gone (its callback returns the mapping to the pool)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.free: list[mmap.mmap] = []
        self.lock = threading.Lock()
        self.watched: dict[int, tuple[weakref.ref, mmap.mmap]] = {}
        self.reused = 0

    def take(self, nbytes: int) -> memoryview:
        """A writable view of a mapping of exactly ``nbytes`` (a multiple of
        ``HUGE_PAGE``): a free one when the pool has it, else a new one."""
        region = None
        with self.lock:
            for k, candidate in enumerate(self.free):
                if len(candidate) == nbytes:
                    region = self.free.pop(k)
                    self.reused += 1
                    break
        if region is None:
            region = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            region.madvise(mmap.MADV_HUGEPAGE)
        view = memoryview(region)
        if self.limit > 0:
            key = id(view)
            self.watched[key] = (weakref.ref(view, lambda _, key=key: self.give_back(key)), region)
        return view

    def give_back(self, key: int) -> None:
        """The view ``key`` died: its mapping is free again (kept if it fits the limit)."""
        with self.lock:
            _, region = self.watched.pop(key)
            self.free.append(region)
            while self.free and sum(len(r) for r in self.free) > self.limit:
                self.free.pop(0).close()

    def release(self) -> None:
        with self.lock:
            while self.free:
                self.free.pop().close()


POOL = MappingPool(int(float(os.environ.get("SNNC_BUFFER_POOL_MB", "1024")) * (1 << 20)))


def release_pool() -> None:
    """Unmap every free recording kept for reuse."""
    POOL.release()


def output_buffer(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """An uninitialised tensor the run fills completely.

    On Linux CPUs, buffers of 1 MiB and more are anonymous mappings (rounded up to
    2 MiB) advised to use transparent huge pages: a fresh recording then costs one
    page fault per 2 MiB instead of one per 4 KiB (1.8 ms -> 0.6 ms for the guide's
    2 MB voltage record in a new process), and a recycled one none (module docstring).
    """
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    if device.type != "cpu":
        return torch.empty(shape, dtype=dtype, device=device)
    if nbytes < MIN_BYTES or not sys.platform.startswith("linux") or not hasattr(mmap, "MADV_HUGEPAGE"):
        pair = small_output_array(shape, dtype)
        return torch.empty(shape, dtype=dtype) if pair is None else pair[0]
    view = POOL.take(-(-nbytes // HUGE_PAGE) * HUGE_PAGE)
    return torch.frombuffer(view, dtype=dtype, count=count).view(shape)


def small_output_array(shape: tuple[int, ...], dtype: torch.dtype) -> tuple[torch.Tensor, np.ndarray] | None:
    """A CPU buffer under ``MIN_BYTES`` as a numpy array and the tensor sharing it
    (numpy allocates faster than torch, and numba takes the array as it is), or None
    when it is larger or numpy has no such dtype."""
    numpy_dtype = NUMPY_DTYPES.get(dtype)
    if numpy_dtype is None or math.prod(shape) * dtype.itemsize >= MIN_BYTES:
        return None
    array = np.empty(shape, numpy_dtype)
    return torch.from_numpy(array), array
