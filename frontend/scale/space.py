"""Parameter spaces: the points a sweep runs, each a dict of parameters.

A space is one of
* a grid, ``{"intensity": [64, 128], "n": [100, 400]}``: every combination, the last
  key varying fastest (``itertools.product`` order);
* a list of dicts: those points, in that order;
* a :class:`RandomSearch`: ``samples`` points drawn from per-key distributions
  (:func:`choice`, :func:`uniform`, :func:`loguniform`, :func:`randint`, or a fixed
  value) by a seeded generator, so the same search draws the same points every time and
  a saved sweep can be resumed.

:func:`point_key` names a point by its parameters (sorted JSON), which is how a resumed
sweep recognises the points it has already run.
"""
from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import dataclass
from typing import Any, Callable

from snnc.errors import SnncError


@dataclass(frozen=True)
class Distribution:
    """One parameter's distribution in a :class:`RandomSearch`."""

    name: str
    draw: Callable[[random.Random], Any]

    def __repr__(self) -> str:
        return self.name


def choice(values) -> Distribution:
    values = list(values)
    if not values:
        raise SnncError("snnc.scale.choice: needs at least one value")
    return Distribution(f"choice({values!r})", lambda rng: values[rng.randrange(len(values))])


def uniform(low: float, high: float) -> Distribution:
    return Distribution(f"uniform({low}, {high})", lambda rng: rng.uniform(low, high))


def loguniform(low: float, high: float) -> Distribution:
    if not 0 < low <= high:
        raise SnncError(f"snnc.scale.loguniform: needs 0 < low <= high, got ({low}, {high})")
    return Distribution(f"loguniform({low}, {high})",
                        lambda rng: math.exp(rng.uniform(math.log(low), math.log(high))))


def randint(low: int, high: int) -> Distribution:
    """An integer in ``[low, high]`` (both included)."""
    return Distribution(f"randint({low}, {high})", lambda rng: rng.randint(low, high))


@dataclass(frozen=True)
class RandomSearch:
    """``samples`` points, each key drawn from its distribution (a plain value is fixed)."""

    space: dict
    samples: int
    seed: int = 0

    def points(self) -> list[dict]:
        rng = random.Random(self.seed)
        return [{key: value.draw(rng) if isinstance(value, Distribution) else value
                 for key, value in self.space.items()} for _ in range(self.samples)]


def points_of(space) -> list[dict]:
    """The points of a grid, a list of dicts or a :class:`RandomSearch`, checked."""
    if isinstance(space, RandomSearch):
        points = space.points()
    elif isinstance(space, dict):
        for key, values in space.items():
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                raise SnncError(f"snnc.scale: grid key {key!r} must map to a list of values, got {values!r}")
        keys = list(space)
        points = [dict(zip(keys, combination)) for combination in itertools.product(*(list(space[k]) for k in keys))]
    elif isinstance(space, (list, tuple)):
        points = list(space)
        for index, point in enumerate(points):
            if not isinstance(point, dict):
                raise SnncError(f"snnc.scale: point {index} must be a dict of parameters, got {point!r}")
    else:
        raise SnncError("snnc.scale: the space must be a grid (dict of lists), a list of dicts or a "
                        f"RandomSearch, got {type(space).__name__}")
    keys = [point_key(point) for point in points]
    if len(set(keys)) != len(keys):
        repeated = next(key for key in keys if keys.count(key) > 1)
        raise SnncError(f"snnc.scale: the point {repeated} appears more than once")
    return points


def point_key(point: dict) -> str:
    """The point's parameters as sorted JSON (values JSON cannot hold as their repr)."""
    return json.dumps(point, sort_keys=True, default=repr)


__all__ = ["Distribution", "RandomSearch", "choice", "loguniform", "point_key", "points_of",
           "randint", "uniform"]
