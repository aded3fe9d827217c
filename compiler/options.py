"""Options that steer compilation (part of the compile-cache key)."""
from __future__ import annotations

from dataclasses import dataclass

BACKENDS = ("torch", "numba", "numba-cuda")


@dataclass(frozen=True)
class CompileOptions:
    """``backend``: which emitter writes the code; ``device``: where buffers live;
    ``storage`` / ``propagation``: per-connection overrides as ``(("A->B", "csr"), ...)``
    (storage: ``dense``, ``csr``, ``float32``, ``float16``, ``bfloat16`` or e.g.
    ``csr:float16``; propagation: ``event`` or ``matmul``); ``activity``: the spike
    probability per neuron and step the cost model assumes; ``fast_paths``: use an
    op's hand-written rendering where it has one for the backend (off: the generic
    rendering of every nest, which the tests compare against); ``fuse_learning``: run a
    rule's terms inside its target's update loop where they can be (True, False, or
    None: the backend's default, :data:`snnc.compiler.passes.fuse_learning.DEFAULT`)."""

    backend: str = "torch"
    device: str = "cpu"
    storage: tuple[tuple[str, str], ...] = ()
    propagation: tuple[tuple[str, str], ...] = ()
    activity: float = 0.05
    fast_paths: bool = True
    fuse_learning: bool | None = None

    @staticmethod
    def overrides(mapping: dict | None) -> tuple[tuple[str, str], ...]:
        """``{"A->B": "csr"}`` (or ``{("A", "B"): "csr"}``) as a sorted tuple of pairs."""
        items = []
        for key, value in (mapping or {}).items():
            label = f"{key[0]}->{key[1]}" if isinstance(key, tuple) else str(key)
            items.append((label, str(value)))
        return tuple(sorted(items))
