"""Loaders: generators that encode a sequence of data one datum at a time.

``loader(data, ...)`` yields ``encoding(data[i], ...)`` for ``i = 0, 1, ...`` (any
iterable works: a tensor is iterated along dim 0). The arguments are checked when the
loader is called, before the first datum; the data are never modified.

* ``bernoulli_loader(data, time=None, dt=1.0, max_prob=1.0)``: :func:`bernoulli`
  (0.3.4 passes ``max_prob``; 0.3.3 passed ``dt`` there instead, quirk Q37).
* ``poisson_loader(data, time, dt=1.0)``: :func:`poisson` (rates in Hz).
* ``rank_order_loader(data, time, dt=1.0)``: :func:`rank_order`.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import torch

from snnc.encoding import encodings
from snnc.errors import SnncError


def _check_iterable(data, name: str) -> None:
    try:
        iter(data)
    except TypeError:
        raise SnncError(f"{name}: data must be a tensor or an iterable of data, "
                        f"got {type(data).__name__}") from None
    if isinstance(data, torch.Tensor) and data.dim() == 0:
        raise SnncError(f"{name}: data must have a leading dim to iterate over, got a 0-dim tensor")


def _encode_each(data, function, *args, **kwargs) -> Iterator[torch.Tensor]:
    for datum in data:
        yield function(datum, *args, **kwargs)


def bernoulli_loader(data: torch.Tensor | Iterable[torch.Tensor], time: float | None = None,
                     dt: float = 1.0, max_prob: float = 1.0, device="cpu") -> Iterator[torch.Tensor]:
    """Bernoulli spike trains (uint8 ``[T, *datum.shape]``, or one sample of
    ``datum.shape`` when ``time`` is None) for each datum of ``data``."""
    _check_iterable(data, "bernoulli_loader")
    encodings.bernoulli(torch.zeros(0), time, dt, max_prob=max_prob)   # argument checks only
    return _encode_each(data, encodings.bernoulli, time, dt, device=device, max_prob=max_prob)


def poisson_loader(data: torch.Tensor | Iterable[torch.Tensor], time: float, dt: float = 1.0,
                   device="cpu", approx: bool = False) -> Iterator[torch.Tensor]:
    """Poisson spike trains (uint8 ``[T, *datum.shape]``) for each datum of ``data``
    (firing rates in Hz)."""
    _check_iterable(data, "poisson_loader")
    encodings._steps(time, dt, "poisson_loader")
    return _encode_each(data, encodings.poisson, time, dt, device=device, approx=approx)


def rank_order_loader(data: torch.Tensor | Iterable[torch.Tensor], time: float, dt: float = 1.0,
                      device="cpu") -> Iterator[torch.Tensor]:
    """Rank-order spike trains (uint8 ``[T, *datum.shape]``) for each datum of ``data``."""
    _check_iterable(data, "rank_order_loader")
    encodings._steps(time, dt, "rank_order_loader")
    return _encode_each(data, encodings.rank_order, time, dt, device=device)
