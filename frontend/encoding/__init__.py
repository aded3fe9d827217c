"""Spike encodings: rates or intensities to ``[T, *shape]`` spike rasters (spec section 7).

Functions (:mod:`~snnc.encoding.encodings`): ``single``, ``repeat``, ``bernoulli``,
``poisson``, ``poisson_process`` (snnc's faster per-step Poisson process), ``rank_order``; generators over a sequence of data
(:mod:`~snnc.encoding.loaders`): ``bernoulli_loader``, ``poisson_loader``,
``rank_order_loader``; objects binding a function's arguments for datasets
(:mod:`~snnc.encoding.encoders`): ``Encoder``, ``NullEncoder``, ``SingleEncoder``,
``RepeatEncoder``, ``BernoulliEncoder``, ``PoissonEncoder``, ``PoissonProcessEncoder``,
``RankOrderEncoder``.
"""
from snnc.encoding.encoders import (BernoulliEncoder, Encoder, NullEncoder, PoissonEncoder,
                                    PoissonProcessEncoder, RankOrderEncoder, RepeatEncoder, SingleEncoder)
from snnc.encoding.encodings import bernoulli, poisson, poisson_process, rank_order, repeat, single
from snnc.encoding.loaders import bernoulli_loader, poisson_loader, rank_order_loader

__all__ = [
    "single", "repeat", "bernoulli", "poisson", "poisson_process", "rank_order",
    "bernoulli_loader", "poisson_loader", "rank_order_loader",
    "Encoder", "NullEncoder", "SingleEncoder", "RepeatEncoder", "BernoulliEncoder",
    "PoissonEncoder", "PoissonProcessEncoder", "RankOrderEncoder",
]
