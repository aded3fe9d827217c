"""``snnc.scale.sweep``: every point of a parameter space as a Ray task, one table back.

Each point runs ``run(build(params), params)`` (:func:`snnc.scale.point.run_point`) in a
worker with ``threads`` cores. At most ``workers`` points run at once (default: the
cluster's cores / ``threads``). A task whose worker dies is run again, and so is one
that raises, up to ``retries`` more times; a point that still fails becomes a row whose
``error`` says why. Nothing is dropped: the table has a row per point, in the space's
order.

With ``out``, the table is written after every finished point (CSV, or JSON for a
``.json`` path), so ``resume=True`` on the same ``out`` skips the points that finished
without error and runs the rest. ``workers=0`` runs the points one after the other in
this process, without Ray.
"""
from __future__ import annotations

from pathlib import Path

from snnc.errors import SnncError
from snnc.scale.cluster import check_threads, cluster_cores, connect, worker_env
from snnc.scale.point import failed_row, run_point
from snnc.scale.space import point_key, points_of
from snnc.scale.table import SweepResults, load_results


def sweep(build, space, run, *, address: str | None = None, workers: int | None = None,
          threads: int = 1, retries: int = 2, seed: int = 0, out=None, resume: bool = False,
          progress_bar: bool = True) -> SweepResults:
    """Run ``run(build(params), params)`` for every point of ``space`` (a grid dict, a
    list of dicts or a :class:`snnc.scale.RandomSearch`); ``build`` returns a
    ``Network``, ``run`` a dict of results. Returns the rows (:class:`SweepResults`)."""
    if not callable(build) or not callable(run):
        raise SnncError("snnc.scale.sweep: build and run must be callables: build(params) -> Network, "
                        "run(network, params) -> dict")
    check_threads(threads)
    if not isinstance(retries, int) or retries < 0:
        raise SnncError(f"snnc.scale.sweep: retries must be an int >= 0, got {retries!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 0):
        raise SnncError(f"snnc.scale.sweep: workers must be None or an int >= 0, got {workers!r}")
    points = points_of(space)
    rows: list[dict | None] = [None] * len(points)
    if resume:
        if out is None:
            raise SnncError("snnc.scale.sweep: resume=True needs the out path of the sweep to resume")
        if Path(out).exists():
            finished = {row["point"]: row for row in load_results(out) if row.get("error") is None}
            rows = [finished.get(point_key(point)) for point in points]
    todo = [index for index, row in enumerate(rows) if row is None]
    table = _Table(rows, out)
    from tqdm.auto import tqdm

    with tqdm(total=len(points), initial=len(points) - len(todo), unit="point",
              disable=not progress_bar, desc="sweep") as bar:
        if workers == 0:
            _run_here(build, run, points, todo, seed, retries, table, bar)
        else:
            _run_on_ray(build, run, points, todo, seed, retries, threads, workers, address, table, bar)
    return table.finish()


class _Table:
    """The rows so far, saved to ``out`` as each one arrives."""

    def __init__(self, rows: list, out) -> None:
        self.rows, self.out = rows, out

    def set(self, index: int, row: dict) -> None:
        self.rows[index] = row
        if self.out is not None:
            SweepResults(row for row in self.rows if row is not None).save(self.out)

    def finish(self) -> SweepResults:
        results = SweepResults(self.rows)
        if self.out is not None:
            results.save(self.out)
        return results


def _describe(error: BaseException) -> str:
    cause = getattr(error, "cause", None) or error
    return f"{type(cause).__name__}: {cause}"


def _run_here(build, run, points, todo, seed, retries, table, bar) -> None:
    for index in todo:
        for attempt in range(retries + 1):
            try:
                row = run_point(build, run, points[index], seed)
                break
            except Exception as error:              # reported in the row after the last try
                row = failed_row(points[index], f"{_describe(error)} (after {attempt + 1} attempts)")
        table.set(index, row)
        bar.update(1)


def _run_on_ray(build, run, points, todo, seed, retries, threads, workers, address, table, bar) -> None:
    ray = connect(address)
    from ray.exceptions import RayTaskError

    limit = workers or max(1, cluster_cores(ray) // threads)
    task = ray.remote(run_point).options(num_cpus=threads, max_retries=retries, retry_exceptions=True,
                                         runtime_env=worker_env(threads, address is None))
    build_ref, run_ref = ray.put(build), ray.put(run)      # pickled once, not once per point
    queue = iter(todo)
    pending: dict = {}

    def submit() -> None:
        index = next(queue, None)
        if index is not None:
            pending[task.remote(build_ref, run_ref, points[index], seed, threads)] = index

    for _ in range(limit):
        submit()
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        index = pending.pop(ready[0])
        try:
            row = ray.get(ready[0])
        except RayTaskError as error:
            row = failed_row(points[index], f"{_describe(error)} (after {retries + 1} attempts)")
        except ray.exceptions.RayError as error:     # the worker died on every attempt
            row = failed_row(points[index], f"{type(error).__name__}: the worker died on each of "
                                            f"{retries + 1} attempts")
        table.set(index, row)
        bar.update(1)
        submit()


__all__ = ["sweep"]
