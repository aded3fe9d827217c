"""``DataLoader``: ``torch.utils.data.DataLoader`` batching with
:func:`time_aware_collate` by default, so time-major samples ``[T, *shape]`` come out as
``[T, B, *shape]`` (spec section 12). ``collate_fn=None`` gives PyTorch's own default
collate (batch as dim 0); shuffling uses torch's global RNG unless a ``generator`` is
passed. Further keywords (``generator``, ``persistent_workers``, ...) go to PyTorch.
"""
from __future__ import annotations

import torch.utils.data

from snnc.datasets.collate import time_aware_collate


class DataLoader(torch.utils.data.DataLoader):
    """A PyTorch ``DataLoader`` whose default ``collate_fn`` is :func:`time_aware_collate`."""

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=time_aware_collate, pin_memory=False, drop_last=False,
                 timeout=0, worker_init_fn=None, **kwargs) -> None:
        super().__init__(dataset, batch_size=batch_size, shuffle=shuffle, sampler=sampler,
                         batch_sampler=batch_sampler, num_workers=num_workers,
                         collate_fn=collate_fn, pin_memory=pin_memory, drop_last=drop_last,
                         timeout=timeout, worker_init_fn=worker_init_fn, **kwargs)
