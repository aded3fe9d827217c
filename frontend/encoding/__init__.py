"""Spike encodings: rates or intensities to ``[T, *shape]`` spike rasters."""
from snnc.encoding.encodings import bernoulli, poisson

__all__ = ["bernoulli", "poisson"]
