"""Launch geometry for the persistent numba-CUDA kernel, and the fallback decision.

:func:`persistent_grid` returns ``(blocks, threads)`` for ``run_persistent``: as many
blocks as the device keeps resident for that kernel (a cooperative launch may not
exceed it), and no more than the largest phase has elements for. It returns None, and
records why in the module's ``LAUNCH_STATS``, where the run must fall back to a kernel
per phase: ``SNNC_CUDA_PERSISTENT=0``, or a device or driver without cooperative
launches. The CUDA simulator runs the blocks of a grid one after another, so there a
grid barrier holds only within one block: it gets one block of 16 threads, and the same
kernel (grid-stride loops, barriers) is tested without a GPU.
"""
from __future__ import annotations

import os

THREADS = 256
SIMULATOR_GRID = (1, 16)
_LIMITS: dict[tuple, int] = {}


def _simulated() -> bool:
    from numba import config
    return bool(config.ENABLE_CUDASIM)


def _resident_blocks(kernel, args: tuple) -> int:
    """The co-resident block limit of ``kernel`` for these argument types (cached)."""
    signature = tuple(kernel.typeof_pyval(a) for a in args)
    key = (id(kernel), signature)
    if key not in _LIMITS:
        compiled = kernel.compile(signature)
        _LIMITS[key] = compiled.max_cooperative_grid_blocks(THREADS)
    return _LIMITS[key]


def persistent_grid(kernel, args: tuple, work: int, stats: dict) -> tuple[int, int] | None:
    """``(blocks, threads)`` for one launch of the persistent kernel over phases of at
    most ``work`` elements; None to run a kernel per phase (the reason in ``stats``)."""
    if os.environ.get("SNNC_CUDA_PERSISTENT", "1") == "0":
        return _fall_back(stats, "SNNC_CUDA_PERSISTENT=0")
    if _simulated():
        blocks, threads = SIMULATOR_GRID
        grid = (max(1, min(blocks, -(-work // threads))), threads)
    else:
        try:
            limit = _resident_blocks(kernel, args)
        except Exception as error:          # no cooperative launch on this device or driver
            return _fall_back(stats, f"no cooperative launch: {type(error).__name__}: {error}")
        if limit < 1:
            return _fall_back(stats, "the kernel cannot be resident (resource limits)")
        grid = (max(1, min(limit, -(-work // THREADS))), THREADS)
    stats.update(path="persistent", grid=grid, reason=None)
    return grid


def _fall_back(stats: dict, reason: str) -> None:
    stats.update(path="per-phase", grid=None, reason=reason)
    return None
