"""``threads``: a numba run that may use one thread splits no loop between threads (a
``prange`` would only cost compile time), gives the same numbers as a threaded one,
and the choice is part of the compile-cache key."""
from __future__ import annotations

import pytest
import torch

import snnc
from snnc.compiler.cache import structure_key
from snnc.compiler.options import CompileOptions
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection


def _network() -> Network:
    generator = torch.Generator().manual_seed(3)
    network = Network(dt=1.0, batch_size=3)
    source, target = Input(20), LIFNodes(15, thresh=-60.0)
    network.add_layer(source, "X")
    network.add_layer(target, "Y")
    network.add_connection(Connection(source, target, w=2.0 * torch.rand(20, 15, generator=generator)), "X", "Y")
    network.add_monitor(Monitor(target, ["s", "v"]), "Y")
    return network


def test_one_thread_splits_nothing_and_gives_the_threaded_numbers():
    inputs = {"X": torch.rand(30, 3, 20, generator=torch.Generator().manual_seed(4)) < 0.4}
    results = {}
    for threads in (1, 2):
        network = _network()
        program = snnc.compile(network, backend="numba", threads=threads)
        program.run(dict(inputs), time=30)
        nest = program.ir.graph["loop_nest"]
        assert nest["batch_outer"] and nest["parallel"] == (threads == 2)
        assert ("prange(" in program.source) == (threads == 2)
        assert ("parallel=True" in program.source) == (threads == 2)
        results[threads] = (network.monitors["Y"].get("s"), network.monitors["Y"].get("v"))
    assert results[1][0].any()
    assert torch.equal(results[1][0], results[2][0]) and torch.equal(results[1][1], results[2][1])


def test_threads_default_to_numbas_and_enter_the_cache_key():
    from numba import config

    assert CompileOptions(backend="numba").threads == config.NUMBA_NUM_THREADS
    assert CompileOptions(backend="torch").threads == 0
    program = snnc.compile(_network(), backend="numba", threads=1)
    one = structure_key(program.ir, CompileOptions(backend="numba", threads=1))
    two = structure_key(program.ir, CompileOptions(backend="numba", threads=2))
    assert one != two
    with pytest.raises(ValueError, match="threads must be 0"):
        CompileOptions(backend="numba", threads=-1)
