"""Encodings (spec section 7): shapes, dtypes, statistics, and no mutation of the caller."""
from __future__ import annotations

import math

import pytest
import torch

from snnc import SnncError
from snnc.encoding import PoissonProcessEncoder, bernoulli, poisson, poisson_process


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


# --- single, repeat, rank_order ---------------------------------------------------------

from snnc.encoding import (PoissonProcessEncoder, poisson_process, BernoulliEncoder, Encoder, NullEncoder, PoissonEncoder,  # noqa: E402
                           RankOrderEncoder, RepeatEncoder, SingleEncoder, bernoulli_loader,
                           poisson_loader, rank_order, rank_order_loader, repeat, single)


def test_single_spikes_above_the_quantile_at_time_zero_only():
    datum = torch.tensor([0.0, 0.1, 0.5, 1.0, 2.0, 4.0])       # median 0.75
    spikes = single(datum, time=4)
    assert spikes.shape == (4, 6) and spikes.dtype == torch.uint8
    assert spikes[0].tolist() == [0, 0, 0, 1, 1, 1] and spikes[1:].sum() == 0   # Q36: all at t = 0
    assert single(datum, time=2, sparsity=0.0).sum() == 0          # q = max: nothing is above
    assert single(datum, time=2, sparsity=1.0)[0].tolist() == [0, 1, 1, 1, 1, 1]
    image = torch.arange(12.0).view(3, 4)                          # quantile over all features
    assert single(image, time=4, dt=0.5, sparsity=0.25).shape == (8, 3, 4)
    assert single(image, time=3, sparsity=0.25)[0].flatten().tolist() == [0] * 9 + [1] * 3
    assert single(torch.tensor([1, 5, 9]), time=2)[0].tolist() == [0, 0, 1]   # ints work


def test_repeat_keeps_dtype_and_copies():
    datum = torch.tensor([[1, 2], [3, 4]])
    out = repeat(datum, time=3)
    assert out.shape == (3, 2, 2) and out.dtype == torch.int64
    assert all(torch.equal(row, datum) for row in out)
    out[0, 0, 0] = 99                                              # a new tensor, not a view
    assert datum[0, 0] == 1
    halves = repeat(torch.tensor([0.5, 0.25], dtype=torch.float64), time=2, dt=0.5)
    assert halves.shape == (4, 2) and halves.dtype == torch.float64
    assert repeat(torch.tensor(0.5), time=3).tolist() == [0.5, 0.5, 0.5]


def _spike_rows(raster: torch.Tensor) -> list:
    """Per feature: the row of its spike, or None."""
    return [int(col.nonzero()[0]) if col.any() else None for col in raster.T]


def test_rank_order_brighter_first_and_dimmest_never_spikes():
    raster = rank_order(torch.tensor([0.0, 0.25, 0.5, 1.0]), time=8)
    assert raster.shape == (8, 4) and raster.dtype == torch.uint8
    # tau = 1/d = [-, 4, 2, 1] -> ceil(tau * 8/4) = [-, 8, 4, 2]; row tau - 1; tau = T never (Q36)
    assert _spike_rows(raster) == [None, None, 3, 1]
    assert torch.equal(rank_order(torch.tensor([0.0, 1.0, 2.0, 4.0]), time=8), raster)   # scale-free
    assert rank_order(torch.tensor([3.0]), time=5).sum() == 0      # a lone feature is the dimmest
    assert rank_order(torch.tensor([0.0, 0.25, 0.5, 1.0]), time=4, dt=0.5).shape == (8, 4)
    assert torch.equal(rank_order(torch.tensor([0, 1, 2, 4]), time=8), raster)        # ints work
    assert torch.equal(rank_order(torch.tensor([0.0, 1.0, 2.0, 4.0], dtype=torch.float64), 8), raster)


def test_rank_order_random_images_are_ordered():
    torch.manual_seed(6)
    image = torch.rand(5, 7) * (torch.rand(5, 7) > 0.2)
    raster = rank_order(image, time=30)
    assert raster.shape == (30, 5, 7) and int(raster.sum(0).max()) == 1
    flat, rows = image.flatten().double(), _spike_rows(raster.view(30, -1))
    dimmest = flat[flat > 0].min()
    checked = 0
    for value, row in zip(flat.tolist(), rows):
        if value == 0 or value == dimmest:
            assert row is None
            continue
        tau = 30 * dimmest.item() / value                          # row ceil(tau) - 1 if tau < T
        if abs(tau - round(tau)) > 1e-4:                           # away from a rounding tie
            assert row == (math.ceil(tau) - 1 if math.ceil(tau) < 30 else None)
            checked += 1
    assert checked > 20
    fired = [(value, row) for value, row in zip(flat.tolist(), rows) if row is not None]
    assert all(r1 <= r2 for v1, r1 in fired for v2, r2 in fired if v1 > v2)   # brighter never later


def test_rank_order_all_zero_gives_no_spikes():
    datum = torch.zeros(2, 3)
    raster = rank_order(datum, time=5)
    assert raster.shape == (5, 2, 3) and raster.sum() == 0 and torch.equal(datum, torch.zeros(2, 3))


# --- the caller's data are never modified (Q35) ------------------------------------------

def _calls():
    return [
        lambda x: single(x, time=5), lambda x: repeat(x, time=5),
        lambda x: bernoulli(x, time=5, max_prob=0.5), lambda x: bernoulli(x),
        lambda x: poisson(x, time=5), lambda x: poisson(x, time=5, approx=True),
        lambda x: rank_order(x, time=5),
        SingleEncoder(5), RepeatEncoder(5), BernoulliEncoder(5, max_prob=0.7), PoissonEncoder(5),
        RankOrderEncoder(5), NullEncoder(),
        lambda x: list(bernoulli_loader(x, time=5)), lambda x: list(poisson_loader(x, time=5)),
        lambda x: list(rank_order_loader(x, time=5)),
    ]


@pytest.mark.parametrize("index", range(16))
def test_no_encoding_modifies_its_input(index):
    torch.manual_seed(index)
    base = torch.rand(4, 6) * 3.0                                   # max > 1: BindsNET divides it
    view = base.t()                                                 # a non-contiguous view too
    before, before_view = base.clone(), view.clone()
    call = _calls()[index]
    call(base)
    call(view)
    array = (base * 2).numpy().copy()
    array_before = array.copy()
    call(array)
    assert torch.equal(base, before) and torch.equal(view, before_view)
    assert (array == array_before).all()


# --- errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: single(torch.ones(3), time=5, sparsity=1.5), "single: sparsity"),
    (lambda: single(torch.tensor([1.0, float("nan")]), time=5), "single: datum contains NaN"),
    (lambda: repeat(torch.ones(3), time=0.5), "repeat: time=0.5, dt=1.0 gives no time step"),
    (lambda: rank_order(torch.tensor([1.0, -1.0]), time=5), "rank_order: datum must be non-negative"),
    (lambda: rank_order(torch.tensor([1.0, float("inf")]), time=5), "rank_order: datum must be finite"),
    (lambda: rank_order(torch.ones(3), time=4, dt=5.0), "rank_order: time=4, dt=5.0 gives no time step"),
    (lambda: poisson(torch.ones(3), time=None), "poisson: time must be a number"),
    (lambda: poisson(torch.tensor([float("nan")]), time=3), "poisson: rates contains NaN"),
    (lambda: bernoulli(torch.ones(3), time=5, max_prob=-0.1), "bernoulli: max_prob"),
    (lambda: bernoulli(torch.ones(3), time=5, dt=-1.0), "bernoulli: dt must be > 0"),
    (lambda: bernoulli(torch.tensor([-0.5]), time=5), "bernoulli: datum must be non-negative"),
    (lambda: bernoulli(["a"], time=5), "bernoulli: datum must be a tensor"),
    (lambda: PoissonEncoder(0.2), "PoissonEncoder: time=0.2, dt=1.0 gives no time step"),
    (lambda: PoissonEncoder(10, sparsity=0.1), "PoissonEncoder: bad arguments for poisson"),
    (lambda: BernoulliEncoder(10, max_prob=2.0)(torch.ones(2)), "bernoulli: max_prob"),
    (lambda: Encoder(10)(torch.ones(2)), "Encoder has no encoding function"),
    (lambda: poisson_loader(torch.ones(3, 2), time=0), "poisson_loader: time=0"),
    (lambda: bernoulli_loader(torch.ones(3, 2), time=5, max_prob=3.0), "bernoulli: max_prob"),
    (lambda: rank_order_loader(5, time=5), "rank_order_loader: data must be"),
])
def test_bad_arguments_raise_snnc_errors(call, match):
    with pytest.raises(SnncError, match=match):
        call()


# --- encoders and loaders ----------------------------------------------------------------

def test_encoders_store_arguments_and_apply_their_function():
    datum = torch.rand(3, 4) * 50
    cases = [(SingleEncoder(6, dt=0.5, sparsity=0.3), lambda: single(datum, 6, 0.5, sparsity=0.3)),
             (RepeatEncoder(6), lambda: repeat(datum, 6)),
             (BernoulliEncoder(6, max_prob=0.2), lambda: bernoulli(datum, 6, max_prob=0.2)),
             (PoissonEncoder(6, approx=True), lambda: poisson(datum, 6, approx=True)),
             (PoissonEncoder(6), lambda: poisson(datum, 6)),
             (RankOrderEncoder(6, dt=0.5), lambda: rank_order(datum, 6, 0.5))]
    for encoder, direct in cases:
        torch.manual_seed(7)
        expected = direct()
        torch.manual_seed(7)
        assert torch.equal(encoder(datum), expected), encoder
    encoder = PoissonEncoder(250, dt=0.5)
    assert encoder.enc_args == (250,) and encoder.enc_kwargs == {"dt": 0.5, "approx": False}
    assert BernoulliEncoder(9, max_prob=0.3).enc_kwargs == {"dt": 1.0, "max_prob": 0.3}
    assert SingleEncoder(9).enc_kwargs == {"dt": 1.0, "sparsity": 0.5}
    one = BernoulliEncoder(None)(torch.ones(4, 2))                  # time=None: a single sample
    assert one.shape == (4, 2) and one.sum() == 8
    assert repr(encoder) == "PoissonEncoder(250, dt=0.5, approx=False)"
    assert NullEncoder()(datum) is datum and NullEncoder()(3) == 3


def test_a_user_encoder_subclass_binds_its_own_function():
    class Doubler(Encoder):
        def __init__(self, factor):
            super().__init__(factor)
            self.enc = lambda img, factor: img * factor

    assert torch.equal(Doubler(2)(torch.ones(2)), torch.full((2,), 2.0))


def test_loaders_encode_each_datum_in_turn():
    data = torch.rand(4, 3, 2) * 40
    torch.manual_seed(8)
    expected = [poisson(datum, 7, 0.5) for datum in data]
    torch.manual_seed(8)
    got = list(poisson_loader(data, 7, dt=0.5))
    assert len(got) == 4 and all(torch.equal(a, b) for a, b in zip(got, expected))
    ranked = list(rank_order_loader([torch.tensor([0.0, 0.25, 0.5, 1.0])] * 2, time=8))
    assert [_spike_rows(r) for r in ranked] == [[None, None, 3, 1]] * 2
    samples = list(bernoulli_loader(torch.ones(5, 3)))             # time=None: one sample each
    assert len(samples) == 5 and samples[0].shape == (3,) and samples[0].sum() == 3


def test_bernoulli_loader_passes_max_prob():
    """0.3.4 reads ``max_prob`` (0.3.3 took it from ``dt``, quirk Q37)."""
    torch.manual_seed(9)
    silent = list(bernoulli_loader(torch.ones(3, 50), time=20, dt=1.0, max_prob=0.0))
    assert all(s.shape == (20, 50) and s.sum() == 0 for s in silent)
    rates = torch.stack(list(bernoulli_loader(torch.ones(3, 500), time=40, max_prob=0.3))).float().mean()
    assert abs(rates.item() - 0.3) < 0.01


def test_poisson_process_rates_clamp_generator_and_caller_untouched():
    rates = torch.tensor([[0.0, 20.0, 200.0], [1000.0, 5000.0, 60.0]])
    kept = rates.clone()
    spikes = poisson_process(rates, time=4000, dt=0.5, generator=torch.Generator().manual_seed(3))
    assert spikes.shape == (8000, 2, 3) and spikes.dtype == torch.uint8
    assert torch.equal(rates, kept)
    observed = spikes.float().mean(0) * 1000.0 / 0.5                  # spikes per second
    assert observed[0, 0] == 0 and observed[1, 1] == 2000.0            # p = min(1, r dt / 1000)
    for (i, j), rate in (((0, 1), 20.0), ((0, 2), 200.0), ((1, 2), 60.0), ((1, 0), 1000.0)):
        expected = rate * 0.5 / 1000.0
        sigma = (expected * (1 - expected) / 8000) ** 0.5
        assert abs(float(spikes[:, i, j].float().mean()) - expected) < 5 * sigma
    again = poisson_process(rates, time=4000, dt=0.5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(spikes, again)
    assert torch.equal(PoissonProcessEncoder(10)(torch.full((4,), 2000.0)), torch.ones(10, 4, dtype=torch.uint8))
    with pytest.raises(SnncError, match="poisson_process.*non-negative"):
        poisson_process(torch.tensor([-1.0]), time=5)
