"""Ray, started on demand, and the thread limits every worker keeps.

``address=None`` starts a local Ray instance with this machine's cores (or joins the one
this process already started); any other address is handed to ``ray.init`` (``"auto"``,
``"ray://head:10001"``, ...).

Threads: a worker given ``threads`` cores runs torch, numba and the BLAS/OpenMP pools
with that many threads, and Ray runs at most ``cores / threads`` such workers on a node,
so workers × threads never exceeds the cores. (Two processes whose thread pools each
want every core slow each other down tens of times on a small machine.)
"""
from __future__ import annotations

import os
import sys

from snnc.errors import SnncError

INSTALL = "pip install 'snnc[scale]' (or: pip install ray)"
THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def require_ray():
    try:
        import ray
    except ImportError:
        raise SnncError(f"snnc.scale runs its tasks on Ray, which is not installed: {INSTALL}") from None
    return ray


def local_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def connect(address: str | None = None):
    """The ``ray`` module, initialised: joined to ``address`` or a local instance."""
    ray = require_ray()
    if not ray.is_initialized():
        if address is None:
            ray.init(num_cpus=local_cores(), include_dashboard=False)
        else:
            ray.init(address=address)
    return ray


def cluster_cores(ray) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def worker_env(threads: int, local: bool) -> dict:
    """The environment of a worker process: its thread pools' sizes and the driver's
    compile cache (``SNNC_CACHE_DIR``), shared by every worker of a machine. On a local
    instance (``local``) workers also get the driver's ``sys.path``, so the modules a
    script's ``build`` and ``run`` import are found there too; on a cluster, ship them
    with Ray's own ``runtime_env`` (``working_dir``, ``py_modules``)."""
    env = {name: str(threads) for name in THREAD_VARIABLES}
    if os.environ.get("SNNC_CACHE_DIR"):
        env["SNNC_CACHE_DIR"] = os.environ["SNNC_CACHE_DIR"]
    if local:
        paths = [os.path.abspath(path or ".") for path in sys.path if os.path.isdir(path or ".")]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return {"env_vars": env}


def limit_threads(threads: int) -> None:
    """Run torch's and numba's pools in this process with ``threads`` threads."""
    import numba
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def check_threads(threads) -> int:
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise SnncError(f"snnc.scale: threads must be a positive int, got {threads!r}")
    return threads


__all__ = ["INSTALL", "check_threads", "cluster_cores", "connect", "limit_threads", "local_cores",
           "require_ray", "worker_env"]
