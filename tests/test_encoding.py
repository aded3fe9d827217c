"""Encodings (spec section 7): shapes, dtypes, statistics, and no mutation of the caller."""
from __future__ import annotations

import pytest
import torch

from snnc import SnncError
from snnc.encoding import bernoulli, poisson


def test_poisson_shape_dtype_and_first_row_is_time_one():
    torch.manual_seed(0)
    rates = torch.tensor([[0.0, 50.0], [1000.0, 10.0]])
    spikes = poisson(rates, time=200)
    assert spikes.shape == (200, 2, 2) and spikes.dtype == torch.uint8
    assert spikes[:, 0, 0].sum() == 0                     # rate 0 never spikes
    assert int(spikes.max()) <= 1                         # at most one spike per step


def test_poisson_rates_saturate_at_one_step_isi():
    """Poisson-distributed integer ISIs (minimum 1): 1000 Hz gives ~730 spikes/s."""
    torch.manual_seed(1)
    spikes = poisson(torch.full((200,), 1000.0), time=1000).float()
    per_second = spikes.sum(0).mean().item()
    assert 690 < per_second < 770
    torch.manual_seed(2)
    slow = poisson(torch.full((500,), 128.0), time=250).float().sum(0).mean().item()
    assert 27 < slow < 35                                  # spec: about 31 spikes in 250 ms


def test_poisson_dt_scales_the_interval():
    torch.manual_seed(3)
    spikes = poisson(torch.full((400,), 100.0), time=500, dt=0.5).float()
    assert spikes.shape[0] == 1000
    assert 40 < spikes.sum(0).mean().item() < 52           # ~49 (ISI ~ Poisson(20 steps)) in 0.5 s


def test_poisson_approx_and_errors():
    torch.manual_seed(4)
    approx = poisson(torch.full((10,), 20.0), time=50, approx=True)
    assert approx.shape == (50, 10) and approx.dtype == torch.uint8
    with pytest.raises(SnncError, match="non-negative"):
        poisson(torch.tensor([-1.0]), time=10)
    with pytest.raises(SnncError, match="dt must be > 0"):
        poisson(torch.tensor([1.0]), time=10, dt=0)


def test_bernoulli_probabilities_and_caller_untouched():
    torch.manual_seed(5)
    datum = torch.tensor([0.0, 2.0, 4.0])
    before = datum.clone()
    spikes = bernoulli(datum, time=4000, max_prob=0.5).float()
    assert torch.equal(datum, before)                      # BindsNET divides in place (Q35)
    assert spikes.shape == (4000, 3) and spikes[:, 0].sum() == 0
    rates = spikes.mean(0)
    assert abs(rates[1] - 0.25) < 0.03 and abs(rates[2] - 0.5) < 0.03
    single = bernoulli(torch.ones(2, 3))
    assert single.shape == (2, 3) and single.dtype == torch.uint8
    with pytest.raises(SnncError, match="max_prob"):
        bernoulli(datum, time=3, max_prob=1.5)
