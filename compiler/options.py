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
    None: the backend's default, :data:`snnc.compiler.passes.fuse_learning.DEFAULT`);
    ``threads``: how many threads a numba run may use (0: numba's thread count,
    ``NUMBA_NUM_THREADS``, resolved here so that it is part of the cache key). With one,
    no loop is split between threads: a ``prange`` would only triple the compile time."""

    backend: str = "torch"
    device: str = "cpu"
    storage: tuple[tuple[str, str], ...] = ()
    propagation: tuple[tuple[str, str], ...] = ()
    activity: float = 0.05
    fast_paths: bool = True
    fuse_learning: bool | None = None
    threads: int = 0

    def __post_init__(self) -> None:
        if self.threads < 0:
            raise ValueError(f"threads must be 0 (numba's thread count) or positive, not {self.threads}")
        if self.threads == 0 and self.backend == "numba":
            from numba import config
            object.__setattr__(self, "threads", int(config.NUMBA_NUM_THREADS))

    @staticmethod
    def overrides(mapping: dict | None) -> tuple[tuple[str, str], ...]:
        """``{"A->B": "csr"}`` (or ``{("A", "B"): "csr"}``) as a sorted tuple of pairs."""
        items = []
        for key, value in (mapping or {}).items():
            label = f"{key[0]}->{key[1]}" if isinstance(key, tuple) else str(key)
            items.append((label, str(value)))
        return tuple(sorted(items))
