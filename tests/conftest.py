"""Shared fixtures: a private compile cache per test session and small network builders."""
from __future__ import annotations

import os

# numba-cuda code runs in the CUDA simulator unless a real GPU run is asked for
# (SNNC_REAL_CUDA=1); numba reads this when it is first imported.
if os.environ.get("SNNC_REAL_CUDA") != "1":
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
# Under pytest-xdist each worker gets one core: thread pools that each think they own the
# machine slow every process down many times over.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, "1")

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)

from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection


@pytest.fixture(scope="session", autouse=True)
def snnc_cache_dir(tmp_path_factory):
    """Generated modules go to a fresh directory, never to the user's ~/.cache/snnc."""
    path = tmp_path_factory.mktemp("snnc_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SNNC_CACHE_DIR", str(path))
        yield path


def spike_train(steps: int, n: int = 1, at=(), neuron=None) -> torch.Tensor:
    """A float ``[steps, n]`` raster with spikes at the steps ``at`` (all neurons, or ``neuron``)."""
    raster = torch.zeros(steps, n)
    for t in at:
        if neuron is None:
            raster[t] = 1.0
        else:
            raster[t, neuron] = 1.0
    return raster


@pytest.fixture
def spikes_at():
    """``spikes_at(steps, n, at=(...))``: a float input raster with spikes at the given steps."""
    return spike_train


def build_chain(n_in: int = 4, n_hidden: int = 3, n_out: int = 2, seed: int = 0,
                scale: float = 12.0, monitors: bool = True) -> Network:
    """Input ``X`` -> LIF ``A`` -> LIF ``B`` plus a recurrent ``A -> A``, with traces.

    Weights are seeded (and large enough for regular spiking under a dense input);
    with ``monitors`` every layer records ``s`` and the LIF layers ``v``,
    ``refrac_count`` and ``x``.
    """
    generator = torch.Generator().manual_seed(seed)
    network = Network(dt=1.0)
    X = Input(n_in, traces=True)
    A = LIFNodes(n_hidden, traces=True, refrac=2)
    B = LIFNodes(n_out, traces=True, traces_additive=True, tc_decay=20.0)
    network.add_layer(X, "X")
    network.add_layer(A, "A")
    network.add_layer(B, "B")
    network.add_connection(Connection(X, A, w=scale * torch.rand(n_in, n_hidden, generator=generator)), "X", "A")
    network.add_connection(Connection(A, B, w=scale * torch.rand(n_hidden, n_out, generator=generator)), "A", "B")
    network.add_connection(Connection(A, A, w=-2.0 * torch.rand(n_hidden, n_hidden, generator=generator)), "A", "A")
    if monitors:
        network.add_monitor(Monitor(X, ["s", "x"]), "X")
        for name in ("A", "B"):
            network.add_monitor(Monitor(network.layers[name], ["s", "v", "refrac_count", "x"]), name)
    return network


@pytest.fixture
def chain():
    """``chain(**kwargs)``: a fresh Input -> LIF -> LIF network (see :func:`build_chain`)."""
    return build_chain


def random_input(steps: int, n: int, batch: int | None = None, p: float = 0.3, seed: int = 0) -> torch.Tensor:
    """A float 0/1 raster ``[steps, n]`` (or ``[steps, batch, n]``), seeded."""
    generator = torch.Generator().manual_seed(seed)
    shape = (steps, n) if batch is None else (steps, batch, n)
    return (torch.rand(shape, generator=generator) < p).float()


@pytest.fixture
def poisson_like():
    """``poisson_like(steps, n, batch=None, p=0.3, seed=0)``: a seeded float 0/1 raster."""
    return random_input


def recordings(network: Network) -> dict[tuple[str, str], torch.Tensor]:
    """Every monitor's every variable, keyed by (monitor name, variable)."""
    return {(name, var): monitor.get(var).clone()
            for name, monitor in network.monitors.items() for var in monitor.state_vars}


def layer_state(network: Network) -> dict[tuple[str, str], torch.Tensor]:
    """Every layer's state tensors (``s``, and ``v``, ``refrac_count``, ``x`` where present)."""
    state = {}
    for name, layer in network.layers.items():
        for var in ("s", "v", "refrac_count", "x"):
            if hasattr(layer, var) and isinstance(getattr(layer, var), torch.Tensor):
                state[(name, var)] = getattr(layer, var).clone()
    return state


def assert_same(a: dict, b: dict) -> None:
    """Two dicts of tensors hold exactly the same keys, shapes, dtypes and values."""
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].shape == b[key].shape, key
        assert a[key].dtype == b[key].dtype, key
        assert torch.equal(a[key], b[key]), key
