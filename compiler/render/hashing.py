"""A counter-based uniform random number per synapse and step, the same on every backend.

``uniform_hash(seed, index)`` maps a step's seed (a uniform number in ``[0, 1)`` that
the runtime draws from torch's generator, one per step) and a synapse's index
``i * n_post + j`` to a float32 uniform in ``[0, 1)`` through two rounds of a 32-bit
integer hash (xor-shift, multiply; the multipliers are below 2^31, so every product
fits in an int64 on every backend). A ``Probability`` feature transmits where
``uniform_hash(seed, index) < p``: a fresh Bernoulli mask every step, shared by the
batch, bit-identical in torch, numba and numba-cuda, reproducible with
``torch.manual_seed``, and computed only for the synapses a spike reaches.

One plain function, ``_uniform``, compiled three ways: ``uniform_hash`` (numba, scalar),
``uniform_hash_device`` (a numba-cuda device function), ``uniform_hash_tensor`` (torch,
on tensors of indices).
"""
from __future__ import annotations

import torch
from numba import njit

MASK = 0xFFFFFFFF
FIRST, SECOND = 0x7FEB352D, 0x5BD1E995
SCALE = 1.0 / 16777216.0                  # 2^-24: the top 24 bits of the hash, exactly


def _uniform(seed, index):
    """The one definition: ``seed`` a number (or 0-d tensor) in [0, 1), ``index`` an int
    (or an int64 tensor); plain Python, compiled by numba and numba-cuda as it is."""
    x = int(seed * 16777216.0)              # the step's seed: 24 bits
    x = x ^ (x >> 16)
    x = (x * FIRST) & MASK
    x = x ^ (x >> 15)
    x = (x * SECOND) & MASK
    x = x ^ (x >> 16)
    x = (x + index) & MASK
    x = x ^ (x >> 16)
    x = (x * FIRST) & MASK
    x = x ^ (x >> 15)
    x = (x * SECOND) & MASK
    x = x ^ (x >> 16)
    return (x >> 8) * SCALE


uniform_hash = njit(inline="always", cache=True)(_uniform)


def __getattr__(name: str):
    if name == "uniform_hash_device":            # made on first use: importing numba.cuda is slow
        from numba import cuda

        globals()[name] = cuda.jit(device=True, inline=True)(_uniform)
        return globals()[name]
    raise AttributeError(name)


def uniform_hash_tensor(seed, index: torch.Tensor) -> torch.Tensor:
    """The same numbers for a tensor of int64 indices (any shape), as float32."""
    return _uniform(seed, index).to(torch.float32)


def synapse_uniforms(seed, n_pre: int, n_post: int, device) -> torch.Tensor:
    """``[n_pre, n_post]`` uniforms of one step (the torch fast path)."""
    index = torch.arange(n_pre, device=device)[:, None] * n_post + torch.arange(n_post, device=device)
    return uniform_hash_tensor(seed, index)


__all__ = ["synapse_uniforms", "uniform_hash", "uniform_hash_tensor"]     # and uniform_hash_device
