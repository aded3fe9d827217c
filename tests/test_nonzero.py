"""Listing a spike row's non-zero elements eight bytes at a time (numba's CPU target):
the same positions, in the same order, as an element-wise scan, for every 1-byte dtype,
length, density and stride; and generated code lists 1-byte spike rows with it only."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from numba import njit

import snnc
from snnc.compiler.render.nonzero import list_nonzero
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection


@njit
def _list_row(matrix, b, n, indices):
    return list_nonzero(matrix[b, :n], indices)


@njit
def _list_column(matrix, n, column, indices):
    return list_nonzero(matrix[:n, column], indices)


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int8])
@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 63, 100, 784, 1001])
def test_list_nonzero_equals_an_elementwise_scan(dtype, n):
    generator = np.random.default_rng(n)
    for density in (0.0, 0.03, 0.5, 1.0):
        values = generator.integers(1, 256, (3, n + 5)).astype(np.uint8)
        matrix = ((generator.random((3, n + 5)) < density) * values).astype(dtype)
        expected = np.flatnonzero(matrix[1, :n])
        indices = np.full(n + 5, -1, np.int64)
        count = _list_row(matrix, 1, n, indices)
        assert count == len(expected) and np.array_equal(indices[:count], expected)
        strided = np.ascontiguousarray(matrix.T)                # the row as a column: stride 3
        count = _list_column(strided, n, 1, indices)
        assert count == len(expected) and np.array_equal(indices[:count], expected)


@pytest.mark.parametrize("offset", range(8))
def test_list_nonzero_reads_unaligned_rows(offset):
    """Rows starting at every byte offset within a word."""
    generator = np.random.default_rng(offset)
    flat = (generator.random(300) < 0.2).astype(np.uint8)
    matrix = flat[offset:offset + 290].reshape(2, 145)
    indices = np.empty(145, np.int64)
    count = _list_row(matrix, 1, 145, indices)
    assert np.array_equal(indices[:count], np.flatnonzero(matrix[1]))


def _network(input_dtype: torch.dtype):
    generator = torch.Generator().manual_seed(2)
    network = Network(dt=1.0)
    source, target = Input(40), LIFNodes(30, thresh=-62.0)
    network.add_layer(source, "X")
    network.add_layer(target, "Y")
    network.add_connection(Connection(source, target, w=torch.rand(40, 30, generator=generator)), "X", "Y")
    network.add_connection(Connection(target, target, w=-0.5 * torch.rand(30, 30, generator=generator)), "Y", "Y")
    network.add_monitor(Monitor(target, ["s", "v"]), "Y")
    spikes = torch.rand(60, 1, 40, generator=generator) < 0.15
    return network, {"X": spikes.to(input_dtype)}


@pytest.mark.parametrize("input_dtype", [torch.uint8, torch.float32])
def test_generated_code_lists_one_byte_spike_rows(input_dtype):
    """uint8 inputs and the LIF layer's bool spikes are listed with
    ``list_nonzero``; float32 inputs element by element. Spikes equal torch's."""
    results = {}
    for backend in ("torch", "numba"):
        network, inputs = _network(input_dtype)
        program = snnc.compile(network, backend=backend)
        program.run(inputs, time=60)
        results[backend] = (network.monitors["Y"].get("s"), network.monitors["Y"].get("v"))
        if backend == "numba":
            source = program.source
    assert "list_nonzero(Y_s[b, :30]" in source
    assert ("list_nonzero(X_s[b, :40]" in source) == (input_dtype != torch.float32)
    assert 0 < int(results["torch"][0].sum()) < results["torch"][0].numel() // 2
    assert torch.equal(results["torch"][0], results["numba"][0])
    torch.testing.assert_close(results["numba"][1], results["torch"][1])
