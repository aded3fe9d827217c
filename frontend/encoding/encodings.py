"""Encoding functions. They never modify the caller's tensor."""
from __future__ import annotations

import torch

from snnc.errors import SnncError


def _steps(time: float, dt: float) -> int:
    if dt <= 0:
        raise SnncError(f"encoding: dt must be > 0, got {dt}")
    steps = int(time / dt)
    if steps <= 0:
        raise SnncError(f"encoding: time={time}, dt={dt} gives no time step")
    return steps


def bernoulli(datum: torch.Tensor, time: float | None = None, dt: float = 1.0,
              device="cpu", max_prob: float = 1.0) -> torch.Tensor:
    """Each step each feature spikes with probability ``max_prob * datum`` (datum scaled
    by its max when that exceeds 1). Returns uint8 ``[T, *shape]``, or ``datum.shape``
    when ``time`` is None."""
    if not 0.0 <= max_prob <= 1.0:
        raise SnncError(f"bernoulli: max_prob must be in [0, 1], got {max_prob}")
    datum = torch.as_tensor(datum, dtype=torch.float32)
    if (datum < 0).any():
        raise SnncError("bernoulli: inputs must be non-negative")
    shape = datum.shape
    flat = datum.flatten().to(device)
    peak = flat.max() if flat.numel() else torch.tensor(0.0)
    if peak > 1.0:
        flat = flat / peak
    probs = max_prob * flat
    if time is None:
        return torch.bernoulli(probs).to(torch.uint8).view(shape)
    steps = _steps(time, dt)
    return torch.bernoulli(probs.repeat(steps, 1)).to(torch.uint8).view(steps, *shape)


def poisson(datum: torch.Tensor, time: float, dt: float = 1.0, device="cpu",
            approx: bool = False) -> torch.Tensor:
    """Poisson spike trains for firing rates ``datum`` (Hz).

    Inter-spike intervals are Poisson-distributed integers with mean
    ``1000 / (rate * dt)`` steps, at least 1; row ``k`` of the uint8 ``[T, *shape]``
    result is simulation time ``k + 1``. ``approx=True`` spikes independently each
    step where ``|N(0, 1)| ** ((0.11 * rate + 5) / 50) < 0.6``.
    """
    datum = torch.as_tensor(datum, dtype=torch.float32)
    if (datum < 0).any():
        raise SnncError("poisson: rates must be non-negative")
    shape = datum.shape
    rates = datum.flatten().to(device)
    steps = _steps(time, dt)
    if approx:
        noise = torch.randn(steps, rates.numel(), device=device).abs()
        spikes = noise.pow((0.11 * rates + 5.0) / 50.0) < 0.6
        return spikes.to(torch.uint8).view(steps, *shape)
    firing = rates != 0
    mean_isi = torch.zeros_like(rates)
    mean_isi[firing] = 1000.0 / (rates[firing] * dt)
    intervals = torch.distributions.Poisson(rate=mean_isi).sample((steps + 1,))
    intervals[:, firing] += (intervals[:, firing] == 0).float()
    times = torch.cumsum(intervals, dim=0).long()
    times[times >= steps + 1] = 0
    raster = torch.zeros(steps + 1, rates.numel(), dtype=torch.uint8, device=device)
    raster[times, torch.arange(rates.numel(), device=device)] = 1
    return raster[1:].view(steps, *shape)
