"""``time_aware_collate``: batch samples whose tensors are time-major (spec section 12).

Like PyTorch's default collate, except that tensors are stacked along **dim 1**, so
``[T, *shape]`` samples make a ``[T, B, *shape]`` batch:

* tensor ``[d0, d1, ...]`` → ``[d0, B, d1, ...]``; ``[T]`` → ``[T, B, 1]``;
  0-dim → ``[1, B, 1]``;
* numpy arrays: converted to tensors, then as above (a 0-d array counts as 0-dim);
* Python or numpy scalars (bool, int, float) → a ``[B]`` tensor (bool, int64, float64
  for Python scalars; the numpy dtype for numpy scalars);
* strings and bytes → the list of them;
* dicts → a dict of collated values per key; named tuples → the same named tuple
  type; other sequences → a list of collated positions (all samples must have the
  same keys / length).

Anything else (None, objects, numpy string arrays) raises :class:`SnncError`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from snnc.errors import SnncError

_NAME = "time_aware_collate"


def _stack_tensors(batch: list) -> torch.Tensor:
    first = batch[0]
    for item in batch[1:]:
        if not isinstance(item, torch.Tensor):
            raise SnncError(f"{_NAME}: the batch mixes tensors with {type(item).__name__}")
        if item.shape != first.shape:
            raise SnncError(f"{_NAME}: cannot stack samples of shapes {list(first.shape)} "
                            f"and {list(item.shape)}")
    if first.dim() == 0:
        return torch.stack(batch).view(1, len(batch), 1)
    stacked = torch.stack(batch, dim=1)
    return stacked.unsqueeze(-1) if first.dim() == 1 else stacked


def _scalars(batch: list) -> torch.Tensor:
    if all(isinstance(item, (bool, np.bool_)) for item in batch):
        return torch.tensor([bool(item) for item in batch], dtype=torch.bool)
    if isinstance(batch[0], np.generic):
        try:
            return torch.as_tensor(np.array(batch))
        except (TypeError, ValueError, RuntimeError) as error:
            raise SnncError(f"{_NAME}: cannot batch numpy scalars ({error})") from None
    if all(isinstance(item, (int, np.integer)) for item in batch):
        return torch.tensor([int(item) for item in batch], dtype=torch.int64)
    return torch.tensor([float(item) for item in batch], dtype=torch.float64)


def time_aware_collate(batch):
    """Collate a list of samples into a batch, tensors stacked along dim 1."""
    if isinstance(batch, (str, bytes)) or not isinstance(batch, Sequence):
        raise SnncError(f"{_NAME}: batch must be a list of samples, got {type(batch).__name__}")
    batch = list(batch)
    if not batch:
        raise SnncError(f"{_NAME}: the batch is empty")
    first = batch[0]
    if isinstance(first, torch.Tensor):
        return _stack_tensors(batch)
    if isinstance(first, np.ndarray):
        if first.dtype.kind in "USOVM":
            raise SnncError(f"{_NAME}: numpy arrays of dtype {first.dtype} cannot become tensors")
        if not all(isinstance(item, np.ndarray) for item in batch):
            raise SnncError(f"{_NAME}: the batch mixes numpy arrays with other types")
        return _stack_tensors([torch.as_tensor(item) for item in batch])
    if isinstance(first, (bool, int, float, np.bool_, np.number)):
        if not all(isinstance(item, (bool, int, float, np.bool_, np.number)) for item in batch):
            raise SnncError(f"{_NAME}: the batch mixes numbers with other types")
        return _scalars(batch)
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, Mapping):
        keys = list(first.keys())
        for item in batch[1:]:
            if not isinstance(item, Mapping) or set(item.keys()) != set(keys):
                raise SnncError(f"{_NAME}: every sample must be a dict with the keys {keys}")
        return {key: time_aware_collate([item[key] for item in batch]) for key in keys}
    if isinstance(first, Sequence):
        size = len(first)
        if any(not isinstance(item, Sequence) or len(item) != size for item in batch):
            raise SnncError(f"{_NAME}: every sample must be a sequence of length {size}")
        columns = [time_aware_collate(list(column)) for column in zip(*batch)]
        if isinstance(first, tuple) and hasattr(first, "_fields"):
            return type(first)(*columns)
        return columns
    raise SnncError(f"{_NAME}: samples must be tensors, numpy arrays, numbers, strings, dicts "
                    f"or sequences; got {type(first).__name__}")
