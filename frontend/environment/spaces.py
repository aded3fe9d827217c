"""Action spaces of snnc's own simulators: gymnasium's ``Discrete`` when gymnasium is
installed, else a small stand-in with the same ``n``, ``sample``, ``contains`` and ``seed``."""
from __future__ import annotations

import numpy as np


class Discrete:
    """The actions ``0 .. n - 1``."""

    def __init__(self, n: int, seed: int | None = None) -> None:
        self.n = int(n)
        self._rng = np.random.default_rng(seed)

    def sample(self) -> int:
        return int(self._rng.integers(self.n))

    def contains(self, x) -> bool:
        return isinstance(x, (int, np.integer)) and 0 <= int(x) < self.n

    def seed(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)

    def __repr__(self) -> str:
        return f"Discrete({self.n})"


def discrete(n: int):
    """``Discrete(n)``, gymnasium's where available."""
    try:
        from gymnasium.spaces import Discrete as GymDiscrete
    except ImportError:
        return Discrete(n)
    return GymDiscrete(n)
