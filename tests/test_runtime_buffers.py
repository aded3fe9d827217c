"""Output buffers: huge-page-advised mappings for large CPU recordings."""
from __future__ import annotations

import torch

from snnc.runtime.buffers import MIN_BYTES, output_buffer


def test_large_buffers_are_plain_writable_tensors():
    shape = (600, 1, 1000)                                  # 2.4 MB of float32
    buffer = output_buffer(shape, torch.float32, torch.device("cpu"))
    assert buffer.numel() * 4 >= MIN_BYTES and buffer.shape == shape and buffer.is_contiguous()
    buffer.fill_(3.0)
    copy = torch.cat([buffer, buffer])
    assert copy.shape == (1200, 1, 1000) and float(copy.sum()) == 3.0 * 1_200_000


def test_small_and_bool_buffers():
    assert output_buffer((4, 2), torch.bool, torch.device("cpu")).dtype == torch.bool
    spikes = output_buffer((2000, 1, 1000), torch.bool, torch.device("cpu"))
    spikes.fill_(True)
    assert bool(spikes.all())


def test_a_recording_is_recycled_only_after_every_view_of_it_is_gone():
    from snnc.runtime.buffers import HUGE_PAGE, MappingPool
    pool = MappingPool(limit=8 * HUGE_PAGE)
    first = pool.take(2 * HUGE_PAGE)
    tensor = torch.frombuffer(first, dtype=torch.float32)
    del first
    row = tensor[10:20]                                     # a view outlives its base
    del tensor
    assert pool.free == [] and pool.reused == 0
    second = torch.frombuffer(pool.take(2 * HUGE_PAGE), dtype=torch.float32)
    assert pool.reused == 0                                 # still in use: a new mapping
    row.fill_(7.0)
    assert float(second[10:20].abs().sum()) == 0.0
    del row
    assert [len(r) for r in pool.free] == [2 * HUGE_PAGE]
    third = torch.frombuffer(pool.take(2 * HUGE_PAGE), dtype=torch.float32)
    assert pool.reused == 1 and pool.free == []
    assert float(third[10:20].sum()) == 70.0                # the same pages, uninitialised
    del second, third
    pool.release()
    assert pool.free == []


def test_the_pool_keeps_at_most_its_limit():
    from snnc.runtime.buffers import HUGE_PAGE, MappingPool
    pool = MappingPool(limit=3 * HUGE_PAGE)
    views = [pool.take(2 * HUGE_PAGE) for _ in range(3)]
    del views
    assert sum(len(r) for r in pool.free) <= 3 * HUGE_PAGE and len(pool.free) == 1
    off = MappingPool(limit=0)
    view = off.take(HUGE_PAGE)
    del view
    assert off.free == []


def test_a_later_run_never_writes_into_a_recording_the_caller_kept():
    """Big recordings are recycled between runs only when nothing refers to them."""
    from snnc.network import Network
    from snnc.network.monitors import Monitor
    from snnc.network.nodes import Input, LIFNodes
    from snnc.network.topology import Connection
    import snnc
    generator = torch.Generator().manual_seed(0)
    network = Network()
    X, Y = Input(50), LIFNodes(600, thresh=-62.0)
    network.add_layer(X, "X")
    network.add_layer(Y, "Y")
    network.add_connection(Connection(X, Y, w=torch.rand(50, 600, generator=generator)), "X", "Y")
    network.add_monitor(Monitor(Y, ("v",), time=500), name="Y")      # 1.2 MB: a mapped buffer
    program = snnc.compile(network, backend="numba")
    kept = []
    for seed in range(3):
        inputs = torch.rand(500, 1, 50, generator=generator) < 0.1 * (seed + 1)
        network.reset_state_variables()
        program.run({"X": inputs}, time=500)
        kept.append((network.monitors["Y"].get("v"), network.monitors["Y"].get("v").clone()))
    for recording, copy in kept:
        assert torch.equal(recording, copy)
    assert not torch.equal(kept[0][1], kept[2][1])
