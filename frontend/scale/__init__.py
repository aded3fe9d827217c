"""snnc.scale: parameter sweeps and dataset-parallel inference on Ray.

* :func:`sweep`: every point of a grid, a list of points or a :class:`RandomSearch`
  as a Ray task running ``run(build(params), params)``; one table of results
  (:class:`SweepResults`, saveable as CSV or JSON, resumable).
* :func:`map_batches`: inference with learning off over a dataset, in batches sharded
  across workers, each with its own compiled copy of the network; results in dataset
  order, equal to a serial run's.

Ray is an optional extra: ``pip install 'snnc[scale]'``. With ``address=None`` a local
Ray instance with this machine's cores starts on first use; ``workers=0`` runs in this
process without Ray. Each worker's torch and numba thread pools are sized so that
workers × threads never exceeds a machine's cores, and workers share the compile
cache, so a structure compiles once per machine (:mod:`snnc.runtime.jit`).
"""
from snnc.scale.batches import map_batches, monitor_recordings
from snnc.scale.cluster import INSTALL
from snnc.scale.point import run_point
from snnc.scale.space import RandomSearch, choice, loguniform, point_key, points_of, randint, uniform
from snnc.scale.sweep import sweep
from snnc.scale.table import SweepResults, load_results

__all__ = ["INSTALL", "RandomSearch", "SweepResults", "choice", "load_results", "loguniform", "map_batches",
           "monitor_recordings", "point_key", "points_of", "randint", "run_point", "sweep", "uniform"]
