"""One sweep point, run where it lands: seeded, thread-limited, timed.

:func:`run_point` is what a Ray task runs, and what a serial loop can call to get the
same row: before ``build`` it seeds Python's, numpy's and torch's global generators from
the sweep's seed and the point's key, so a point's result does not depend on which
worker ran it or what ran there before.
"""
from __future__ import annotations

import hashlib
import random
import socket
import time

from snnc.errors import SnncError
from snnc.scale.space import point_key
from snnc.scale.table import BOOKKEEPING


def point_seed(seed: int, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:4], "little")


def seed_everything(value: int) -> None:
    import numpy as np
    import torch

    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)


def run_point(build, run, params: dict, seed: int = 0, threads: int | None = None) -> dict:
    """``run(build(params), params)`` as a row: the parameters, ``run``'s results and
    the bookkeeping columns (:mod:`snnc.scale.table`). Exceptions propagate."""
    from snnc.runtime import jit
    from snnc.scale.cluster import limit_threads

    if threads is not None:
        limit_threads(threads)
    key = point_key(params)
    seed_everything(point_seed(seed, key))
    before = jit.snapshot()
    start = time.perf_counter()
    results = run(build(dict(params)), dict(params))
    elapsed = time.perf_counter() - start
    if not isinstance(results, dict):
        raise SnncError(f"snnc.scale: run(network, params) must return a dict of results, "
                        f"got {type(results).__name__} for the point {key}")
    clash = sorted(set(results) & (set(params) | set(BOOKKEEPING)))
    if clash:
        raise SnncError(f"snnc.scale: run's results reuse the names {clash} (parameters or "
                        f"bookkeeping columns) for the point {key}")
    spent = jit.STATS.since(before)
    return {**params, **results, "compile_s": spent.seconds, "run_s": elapsed - spent.seconds,
            "fresh_compiles": spent.fresh, "host": socket.gethostname(), "error": None, "point": key}


def failed_row(params: dict, error: str) -> dict:
    return {**params, **{name: None for name in BOOKKEEPING}, "error": error, "point": point_key(params)}


__all__ = ["failed_row", "point_seed", "run_point", "seed_everything"]
