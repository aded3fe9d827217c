"""Streaming (non-temporal) monitor stores on numba's CPU target: the rows written are
exactly the rows an ordinary copy writes, whatever the dtype, length and alignment."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from numba import njit

import snnc
from snnc.compiler.emit.numba_backend import NumbaEmitter
from snnc.compiler.render.streaming import stream_fence, stream_row
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection
from snnc.runtime import loader


@njit
def _copy_into(dst, row, src):
    stream_row(dst[row], src)
    stream_fence()


@pytest.mark.parametrize("dtype", [np.float32, np.bool_, np.uint8, np.int32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 7, 8, 31, 33, 63, 64, 65, 300, 1001])
def test_stream_row_writes_exactly_the_row(dtype, n):
    """Head (up to a cache-line boundary), streamed whole lines and tail, or a plain copy
    of a short row: every element, no other."""
    generator = np.random.default_rng(n)
    for offset in range(3):                          # rows starting off the 32-byte grid
        src = (generator.random(n) * 10).astype(dtype)
        dst = np.zeros((3, n + offset), dtype)[:, offset:]
        dst = np.ascontiguousarray(dst) if offset == 0 else dst.copy()
        _copy_into(dst, 1, src)
        assert np.array_equal(dst[1], src)
        assert not dst[0].any() and not dst[2].any()
    flat = np.zeros(3 * n + 17, dtype)
    for start in range(17):                          # alignments of the destination
        flat[:] = 0
        _copy_into(flat[start:start + 2 * n].reshape(2, n), 1, src)
        assert np.array_equal(flat[start + n:start + 2 * n], src)
        assert not flat[:start + n].any() and not flat[start + 2 * n:].any()


def _network(batch: int, learning: bool) -> Network:
    generator = torch.Generator().manual_seed(3)
    network = Network(dt=1.0, batch_size=batch)
    source, target = Input(37, traces=learning), LIFNodes(45, thresh=-60.0, traces=learning)
    network.add_layer(source, "X")
    network.add_layer(target, "Y")
    kwargs = dict(update_rule=snnc.learning.PostPre, nu=(0.01, 0.02), wmin=0.0, wmax=1.0) if learning else {}
    network.add_connection(Connection(source, target, w=torch.rand(37, 45, generator=generator), **kwargs), "X", "Y")
    network.add_monitor(Monitor(source, ["s"]), "X")
    network.add_monitor(Monitor(target, ["s", "v"]), "Y")
    return network


@pytest.mark.parametrize("batch, learning", [(3, False), (1, False), (2, True)])
def test_streamed_recordings_equal_plain_ones(batch, learning, monkeypatch):
    """A run forced to stream its monitor rows against the same run forced not to: the
    same recordings bit for bit, with samples in parallel, serial, and time outermost."""
    generator = torch.Generator().manual_seed(5)
    inputs = {"X": torch.rand(40, batch, 37, generator=generator) < 0.3}

    def run(stream: bool):
        loader._LOADED.clear()                       # both renderings share the IR's key
        monkeypatch.setattr(NumbaEmitter, "stream_flag", lambda self: [f"stream = {stream}"])
        network = _network(batch, learning)
        program = snnc.compile(network, backend="numba", threads=2)      # samples in parallel
        program.run(dict(inputs), time=40)
        monkeypatch.undo()
        recorded = {f"{m}.{v}": network.monitors[m].get(v).clone()
                    for m in network.monitors for v in network.monitors[m].state_vars}
        return recorded, program.source

    streamed, source = run(True)
    plain, _ = run(False)
    assert source.count("stream_row(") == 3 and "stream_fence()" in source
    assert ("prange(" in source) == (batch > 1 and not learning)
    assert streamed["Y.s"].any()
    for key in plain:
        assert torch.equal(streamed[key], plain[key]), key


def test_only_big_recordings_stream():
    """The generated flag compares the run's recordings, all together, with the threshold."""
    network = _network(2, False)
    source = snnc.compile(network, backend="numba").source
    assert "stream = mon_X_s.nbytes + mon_Y_s.nbytes + mon_Y_v.nbytes >= STREAM_MIN_BYTES" in source
