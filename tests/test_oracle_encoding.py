"""snnc's encodings and batching against BindsNET 0.3.4 itself (spec sections 7 and 12).

With the same torch seed both libraries draw the same random numbers in the same
order, so every encoding must be bit-identical: single, repeat, bernoulli, poisson
(exact and approx), rank_order, the encoder classes and the loaders; and so must
``time_aware_collate`` and a shuffled ``DataLoader``. Where snnc deliberately differs
(docs/differences.md) the difference is asserted instead: BindsNET divides the caller's
tensor in place in ``bernoulli`` / ``rank_order`` (Q35), snnc never does. Inputs are
float32 for poisson and rank_order: BindsNET 0.3.4 raises on float64 there.

Optional: skipped unless ``bindsnet`` imports (see benchmarks/run_oracle_tests.sh).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
import torch

import snnc.datasets
import snnc.encoding

from oracle_support import import_bindsnet  # noqa: E402

bindsnet = import_bindsnet()
import bindsnet.datasets, bindsnet.encoding  # noqa: E401, E402

pytestmark = [pytest.mark.oracle, pytest.mark.filterwarnings("ignore:To copy construct:UserWarning")]
SEEDS = range(40)


def _datum(seed: int, dtype=torch.float32) -> tuple[torch.Tensor, int, float]:
    """A random non-negative datum with zeros and ties, a step count and a dt."""
    g = torch.Generator().manual_seed(seed)
    shape = [(7,), (3, 5), (2, 3, 4), (1, 8, 8)][seed % 4]
    datum = torch.rand(shape, generator=g, dtype=dtype) * [1.0, 4.0, 0.3][seed % 3]
    datum[torch.rand(shape, generator=g) < 0.25] = 0
    if seed % 5 == 0:
        datum = (datum * 8).round()
    time = int(torch.randint(3, 60, (1,), generator=g))
    return datum, time, [1.0, 0.5, 0.25, 2.0][seed % 4]


def _both(function: str, datum: torch.Tensor, *args, seed: int = 0, **kwargs):
    torch.manual_seed(seed)
    theirs = getattr(bindsnet.encoding, function)(datum.clone(), *args, **kwargs)
    torch.manual_seed(seed)
    ours = getattr(snnc.encoding, function)(datum.clone(), *args, **kwargs)
    return theirs, ours


def _same(theirs, ours) -> None:
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("seed", SEEDS)
def test_deterministic_encodings_match(seed):
    datum, time, dt = _datum(seed)
    _same(*_both("single", datum, time, dt, sparsity=[0.5, 0.1, 0.9, 0.0][seed % 4]))
    _same(*_both("repeat", datum, time, dt))
    _same(*_both("repeat", datum.double(), time, dt))
    if datum.max() > 0:                               # BindsNET fills an all-zero datum with NaN
        _same(*_both("rank_order", datum, time, dt))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_encodings_match(seed):
    datum, time, dt = _datum(seed)
    _same(*_both("bernoulli", datum, time, dt, seed=seed, max_prob=[1.0, 0.6, 0.05][seed % 3]))
    _same(*_both("bernoulli", datum.double(), time, dt, seed=seed))
    _same(*_both("bernoulli", datum, None, seed=seed, max_prob=0.5))
    _same(*_both("poisson", datum * 150, time, dt, seed=seed))
    _same(*_both("poisson", datum * 150, time, dt, seed=seed, approx=True))


def test_q35_bindsnet_normalises_the_callers_tensor_snnc_does_not():
    for function in ("bernoulli", "rank_order"):
        theirs, ours = torch.tensor([0.0, 2.0, 4.0]), torch.tensor([0.0, 2.0, 4.0])
        getattr(bindsnet.encoding, function)(theirs, 5)
        getattr(snnc.encoding, function)(ours, 5)
        assert theirs.tolist() == [0.0, 0.5, 1.0] and ours.tolist() == [0.0, 2.0, 4.0]


@pytest.mark.parametrize("name, args, kwargs", [
    ("SingleEncoder", (12,), {"dt": 0.5, "sparsity": 0.3}),
    ("RepeatEncoder", (12,), {}),
    ("BernoulliEncoder", (12,), {"max_prob": 0.4}),
    ("PoissonEncoder", (12,), {"dt": 0.5}),
    ("PoissonEncoder", (12,), {"approx": True}),
    ("RankOrderEncoder", (12,), {"dt": 0.5}),
    ("NullEncoder", (), {}),
])
def test_encoder_classes_match(name, args, kwargs):
    theirs = getattr(bindsnet.encoding, name)(*args, **kwargs)
    ours = getattr(snnc.encoding, name)(*args, **kwargs)
    assert ours.enc_args == theirs.enc_args and ours.enc_kwargs == theirs.enc_kwargs
    for seed in range(5):
        datum = _datum(seed)[0] * 50
        torch.manual_seed(seed)
        expected = theirs(datum.clone())
        torch.manual_seed(seed)
        _same(expected, ours(datum.clone()))


@pytest.mark.parametrize("name, kwargs", [
    ("bernoulli_loader", {"time": 9, "max_prob": 0.3}), ("bernoulli_loader", {}),
    ("poisson_loader", {"time": 9, "dt": 0.5}), ("rank_order_loader", {"time": 9}),
])
def test_loaders_match(name, kwargs):
    data = torch.rand(5, 3, 4) * 20 + 0.1
    torch.manual_seed(11)
    theirs = list(getattr(bindsnet.encoding, name)(data.clone(), **kwargs))
    torch.manual_seed(11)
    ours = list(getattr(snnc.encoding, name)(data.clone(), **kwargs))
    assert len(ours) == len(theirs) == 5
    for a, b in zip(theirs, ours):
        _same(a, b)


Pair = namedtuple("Pair", "x y")
COLLATE_CASES = {
    "time-major": [torch.rand(5, 2, 3), torch.rand(5, 2, 3)],
    "0-dim": [torch.tensor(1.5), torch.tensor(2.5), torch.tensor(3.0)],
    "1-dim": [torch.arange(4), torch.arange(4) * 2],
    "2-dim": [torch.rand(4, 3), torch.rand(4, 3)],
    "numpy": [np.arange(6.0).reshape(2, 3), np.ones((2, 3))],
    "numpy 1-d": [np.arange(3), np.arange(3)],
    "numpy 0-d": [np.array(1.0), np.array(2.0)],
    "numpy scalars": [np.float32(1.5), np.float32(2.5)],
    "ints": [1, 2, 3],
    "floats": [0.5, 1.5],
    "bools": [True, False],
    "dicts": [{"image": torch.rand(1, 8, 8), "label": 3, "encoded_image": torch.rand(7, 1, 8, 8)},
              {"image": torch.rand(1, 8, 8), "label": 5, "encoded_image": torch.rand(7, 1, 8, 8)}],
    "tuples": [(torch.rand(3), 1), (torch.rand(3), 2)],
    "lists": [[torch.rand(2, 2), 1.0], [torch.rand(2, 2), 2.0]],
    "namedtuples": [Pair(torch.rand(2), 1), Pair(torch.rand(2), 2)],
    "nested": [{"a": [torch.rand(3), {"b": 1}]}, {"a": [torch.rand(3), {"b": 2}]}],
}


def _equal(theirs, ours) -> bool:
    if isinstance(theirs, torch.Tensor):
        return isinstance(ours, torch.Tensor) and ours.dtype == theirs.dtype and torch.equal(ours, theirs)
    if isinstance(theirs, dict):
        return isinstance(ours, dict) and ours.keys() == theirs.keys() and \
            all(_equal(theirs[k], ours[k]) for k in theirs)
    if isinstance(theirs, (list, tuple)):
        return type(ours) is type(theirs) and len(ours) == len(theirs) and \
            all(_equal(a, b) for a, b in zip(theirs, ours))
    return ours == theirs


@pytest.mark.parametrize("case", list(COLLATE_CASES))
def test_time_aware_collate_matches(case):
    batch = COLLATE_CASES[case]
    assert _equal(bindsnet.datasets.time_aware_collate(batch), snnc.datasets.time_aware_collate(batch))


def test_shuffled_dataloader_batches_match():
    data = [{"image": torch.rand(1, 4, 4), "label": i, "spikes": torch.rand(6, 16)} for i in range(13)]
    torch.manual_seed(4)
    theirs = list(bindsnet.datasets.DataLoader(data, batch_size=4, shuffle=True))
    torch.manual_seed(4)
    ours = list(snnc.datasets.DataLoader(data, batch_size=4, shuffle=True))
    assert len(ours) == len(theirs) == 4 and all(_equal(a, b) for a, b in zip(theirs, ours))
