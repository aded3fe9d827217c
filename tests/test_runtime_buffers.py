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
