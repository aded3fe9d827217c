"""The first call of a generated ``run``: where numba compiles it or loads its cache.

numba compiles a generated function on its first call, or loads the machine code it
cached for that file before. Two processes that meet a new structure at once (the
workers of a sweep, say) would both compile it; :func:`first_call` therefore holds a
lock file next to the generated module (``fcntl.flock``, POSIX), so the first process
compiles and the others then load its cache: one structure compiles once per machine
and cache directory.

:data:`STATS` counts, for this process, the seconds spent compiling (passes, source and
first calls) and how many generated functions numba compiled afresh or loaded from its
cache; :mod:`snnc.scale` reports the difference each sweep point makes.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, replace
from pathlib import Path

try:
    import fcntl
except ImportError:          # not POSIX: no lock, a race only costs a second compile
    fcntl = None


@dataclass
class CompileStats:
    seconds: float = 0.0      # compiler passes, source, and first calls (JIT or cache load)
    fresh: int = 0            # generated functions numba compiled from scratch
    loaded: int = 0           # generated functions numba loaded from its cache

    def since(self, before: "CompileStats") -> "CompileStats":
        return CompileStats(self.seconds - before.seconds, self.fresh - before.fresh,
                            self.loaded - before.loaded)


STATS = CompileStats()


def snapshot() -> CompileStats:
    return replace(STATS)


@contextlib.contextmanager
def _locked(path: Path):
    if fcntl is None:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def first_call(run, module_path: Path, steps: int, args: list) -> float:
    """Call ``run`` for zero steps (compiling or loading it) under the module's lock;
    the seconds it took."""
    misses, hits = _counts(run)
    start = time.perf_counter()
    with _locked(Path(module_path).with_suffix(".lock")):
        run(0, 0, steps, *args)
    seconds = time.perf_counter() - start
    STATS.seconds += seconds
    after_misses, after_hits = _counts(run)
    STATS.fresh += after_misses - misses
    STATS.loaded += after_hits - hits
    return seconds


def _counts(run) -> tuple[int, int]:
    """A numba dispatcher's cache misses and hits so far (it keeps them per process, for
    every program that shares the loaded module); (0, 0) for other callables."""
    stats = getattr(run, "stats", None)
    if stats is None:
        return 0, 0
    return sum(stats.cache_misses.values()), sum(stats.cache_hits.values())
