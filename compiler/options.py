"""Options that steer compilation (part of the compile-cache key)."""
from __future__ import annotations

from dataclasses import dataclass

BACKENDS = ("torch", "numba", "numba-cuda")


@dataclass(frozen=True)
class CompileOptions:
    """``backend``: which emitter writes the code; ``device``: where buffers live."""

    backend: str = "torch"
    device: str = "cpu"
