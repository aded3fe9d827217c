"""Encoding functions: a datum (intensities or rates) to a ``[T, *datum.shape]`` raster.

``T = int(time / dt)``; time is dim 0, there is no batch dim (the dataset collate
function adds it, :func:`snnc.datasets.time_aware_collate`). Randomness comes from
torch's global RNG, so ``torch.manual_seed`` reproduces a run. None of these functions
modifies the caller's tensor (BindsNET normalises it in place in ``bernoulli`` and
``rank_order``, quirk Q35). Integer or bool data are read as float32; floating data
keep their dtype for the arithmetic.

* ``single``: ``q = quantile(x, 1 - sparsity)``; ``s[0, i] = 1`` iff ``x_i > q``, every
  other row is zero (all spikes at t = 0, quirk Q36).
* ``repeat``: ``s[t] = x`` for every ``t`` (same dtype; not spikes).
* ``bernoulli``: ``p = max_prob * x / max(x)`` when ``max(x) > 1``, else
  ``max_prob * x``; ``s[t, i] ~ Bernoulli(p_i)`` independently.
* ``poisson``: rates ``r`` in Hz; inter-spike intervals ``~ Poisson(1000 / (r dt))``
  steps, 0 replaced by 1; spike times are their running sums; row ``k`` is time
  ``k + 1`` (quirk Q52). ``approx=True``: ``s[t, i] = |N(0, 1)| ** ((0.11 r_i + 5) / 50)
  < 0.6``.
* ``poisson_process`` (snnc's, not in BindsNET): rates ``r`` in Hz; ``s[t, i] ~
  Bernoulli(min(1, r_i dt / 1000))`` independently each step: the discrete-time
  Poisson process, the same mean rate as ``poisson`` without its interval algorithm,
  about 10x faster (Diehl & Cook on 28x28 images: 1-2 ms per image instead of 12-17).
* ``rank_order``: ``d = x / max(x)``, ``tau_i = 1 / d_i`` (0 where ``d_i = 0``),
  ``tau = ceil(tau * (T / max(tau)))`` (in that order: it decides ties at a row
  boundary); feature ``i`` spikes once, at row ``tau_i - 1``,
  iff ``0 < tau_i < T``: brighter spikes earlier and the dimmest non-zero feature never
  spikes (quirk Q36).
"""
from __future__ import annotations

import math
import numbers

import torch

from snnc.errors import SnncError


def _steps(time, dt, name: str = "encoding") -> int:
    """``int(time / dt)``, which must be at least one step."""
    for label, value in (("time", time), ("dt", dt)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
            raise SnncError(f"{name}: {label} must be a number, got {value!r}")
    if dt <= 0:
        raise SnncError(f"{name}: dt must be > 0, got {dt}")
    steps = int(time / dt)
    if steps <= 0:
        raise SnncError(f"{name}: time={time}, dt={dt} gives no time step (need time / dt >= 1)")
    return steps


def _as_float(datum, name: str) -> torch.Tensor:
    """``datum`` as a floating tensor (never a copy we write to: callers only read it)."""
    try:
        tensor = torch.as_tensor(datum)
    except (TypeError, ValueError, RuntimeError) as error:
        raise SnncError(f"{name}: datum must be a tensor or array of numbers ({error})") from None
    if not tensor.is_floating_point():
        if tensor.is_complex():
            raise SnncError(f"{name}: datum must be real, got {tensor.dtype}")
        tensor = tensor.to(torch.float32)
    return tensor


def _check_values(tensor: torch.Tensor, name: str, what: str = "datum", finite: bool = False) -> None:
    if tensor.numel() == 0:
        return
    if torch.isnan(tensor).any():
        raise SnncError(f"{name}: {what} contains NaN")
    if finite and torch.isinf(tensor).any():
        raise SnncError(f"{name}: {what} must be finite")
    if (tensor < 0).any():
        raise SnncError(f"{name}: {what} must be non-negative, got a minimum of {tensor.min().item()}")


def single(datum: torch.Tensor, time: float, dt: float = 1.0, sparsity: float = 0.5,
           device="cpu") -> torch.Tensor:
    """One spike, at row 0, for each feature above the ``1 - sparsity`` quantile of
    ``datum``. Returns uint8 ``[T, *datum.shape]``."""
    if isinstance(sparsity, bool) or not isinstance(sparsity, numbers.Real) or not 0.0 <= sparsity <= 1.0:
        raise SnncError(f"single: sparsity must be a number in [0, 1], got {sparsity!r}")
    steps = _steps(time, dt, "single")
    datum = _as_float(datum, "single")
    if datum.numel() and torch.isnan(datum).any():
        raise SnncError("single: datum contains NaN")
    spikes = torch.zeros(steps, *datum.shape, dtype=torch.uint8, device=device)
    if datum.numel():
        threshold = torch.quantile(datum.flatten(), 1.0 - sparsity)
        spikes[0] = (datum > threshold).to(device)
    return spikes


def repeat(datum: torch.Tensor, time: float, dt: float = 1.0, device=None) -> torch.Tensor:
    """``datum`` repeated ``T`` times along a new dim 0 (a new tensor of the same dtype,
    on ``device`` when given)."""
    steps = _steps(time, dt, "repeat")
    try:
        datum = torch.as_tensor(datum)
    except (TypeError, ValueError, RuntimeError) as error:
        raise SnncError(f"repeat: datum must be a tensor or array ({error})") from None
    if device is not None:
        datum = datum.to(device)
    return datum.unsqueeze(0).repeat(steps, *([1] * datum.dim()))


def bernoulli(datum: torch.Tensor, time: float | None = None, dt: float = 1.0,
              device="cpu", max_prob: float = 1.0) -> torch.Tensor:
    """Each step each feature spikes with probability ``max_prob * datum`` (datum scaled
    by its max when that exceeds 1). Returns uint8 ``[T, *shape]``, or ``datum.shape``
    when ``time`` is None."""
    if isinstance(max_prob, bool) or not isinstance(max_prob, numbers.Real) or not 0.0 <= max_prob <= 1.0:
        raise SnncError(f"bernoulli: max_prob must be in [0, 1], got {max_prob!r}")
    steps = None if time is None else _steps(time, dt, "bernoulli")
    datum = _as_float(datum, "bernoulli")
    _check_values(datum, "bernoulli", finite=True)
    shape = datum.shape
    flat = datum.flatten().to(device)
    if flat.numel() and flat.max() > 1.0:
        flat = flat / flat.max()
    probs = max_prob * flat
    if steps is None:
        return torch.bernoulli(probs).to(torch.uint8).view(shape)
    return torch.bernoulli(probs.repeat(steps, 1)).to(torch.uint8).view(steps, *shape)


def poisson(datum: torch.Tensor, time: float, dt: float = 1.0, device="cpu",
            approx: bool = False) -> torch.Tensor:
    """Poisson spike trains for firing rates ``datum`` (Hz).

    Inter-spike intervals are Poisson-distributed integers with mean
    ``1000 / (rate * dt)`` steps, at least 1; row ``k`` of the uint8 ``[T, *shape]``
    result is simulation time ``k + 1``. ``approx=True`` spikes independently each
    step where ``|N(0, 1)| ** ((0.11 * rate + 5) / 50) < 0.6``.
    """
    steps = _steps(time, dt, "poisson")
    datum = _as_float(datum, "poisson")
    _check_values(datum, "poisson", what="rates")
    shape = datum.shape
    rates = datum.flatten().to(device)
    if approx:
        noise = torch.randn(steps, rates.numel(), device=device).abs()
        spikes = noise.pow((0.11 * rates + 5.0) / 50.0) < 0.6
        return spikes.to(torch.uint8).view(steps, *shape)
    firing = rates != 0
    mean_isi = torch.zeros_like(rates)
    mean_isi[firing] = (1.0 / rates[firing]) * (1000.0 / dt)   # this order: BindsNET's bits
    intervals = torch.distributions.Poisson(rate=mean_isi).sample((steps + 1,))
    intervals += ((intervals == 0) & firing).to(intervals.dtype)     # a firing feature's ISI is >= 1
    times = torch.cumsum(intervals, dim=0).long()
    times[times >= steps + 1] = 0
    raster = torch.zeros(steps + 1, rates.numel(), dtype=torch.uint8, device=device)
    raster.scatter_(0, times, 1)                    # raster[times[k, i], i] = 1 (not an indexed put: 80x faster)
    return raster[1:].view(steps, *shape)


def poisson_process(datum: torch.Tensor, time: float, dt: float = 1.0, device="cpu",
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Spike trains for firing rates ``datum`` (Hz, >= 0): every step every feature
    spikes with probability ``min(1, rate * dt / 1000)``, independently. Returns uint8
    ``[T, *shape]``; ``generator`` (else torch's global one) draws the uniforms."""
    steps = _steps(time, dt, "poisson_process")
    datum = _as_float(datum, "poisson_process")
    _check_values(datum, "poisson_process", what="rates")
    shape = datum.shape
    probs = (datum.flatten().to(device, torch.float32) * (dt / 1000.0)).clamp_(max=1.0)
    uniforms = torch.rand(steps, probs.numel(), device=device, generator=generator)
    return (uniforms < probs).to(torch.uint8).view(steps, *shape)


def rank_order(datum: torch.Tensor, time: float, dt: float = 1.0, device="cpu") -> torch.Tensor:
    """Time-to-first-spike code: each feature spikes at most once, brighter ones earlier
    (at row ``ceil(T * min(d) / d_i) - 1``, ``d`` the non-zero values, up to rounding);
    the dimmest non-zero feature never spikes (Q36). Returns uint8 ``[T, *datum.shape]``."""
    steps = _steps(time, dt, "rank_order")
    datum = _as_float(datum, "rank_order")
    _check_values(datum, "rank_order", finite=True)
    shape = datum.shape
    flat = datum.flatten().to(device)
    spikes = torch.zeros(steps, flat.numel(), dtype=torch.uint8, device=device)
    if flat.numel() and flat.max() > 0:
        flat = flat / flat.max()
        nonzero = flat != 0
        tau = torch.zeros_like(flat)
        tau[nonzero] = 1.0 / flat[nonzero]
        tau = torch.ceil(tau * (steps / tau.max()))
        fires = ((tau > 0) & (tau < steps)).nonzero().flatten()
        spikes[tau[fires].long() - 1, fires] = 1
    return spikes.view(steps, *shape)
