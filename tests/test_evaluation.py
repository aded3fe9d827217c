"""snnc.evaluation on small hand-computed records (spec section 9, quirk Q53).

Records are ``[n_samples, time, n_neurons]``; every expected value below is worked out
from the spike counts by hand.
"""
from __future__ import annotations

import pytest
import torch

from snnc import SnncError
from snnc.evaluation import (all_activity, assign_labels, logreg_fit, logreg_predict, ngram, proportion_weighting,
                             update_ngram_scores)


def record(counts, time: int = 3) -> torch.Tensor:
    """A float record ``[n_samples, time, n_neurons]`` whose spike counts are ``counts``
    (neuron j of sample s fires at steps 0 .. counts[s][j] - 1)."""
    counts = torch.tensor(counts)
    steps = torch.arange(time).view(1, time, 1)
    return (steps < counts.unsqueeze(1)).float()


# 4 samples x 3 neurons; labels 0, 0, 1, 1
COUNTS = [[2, 1, 0],
          [0, 0, 0],
          [0, 1, 0],
          [0, 1, 0]]
LABELS = torch.tensor([0, 0, 1, 1])


def test_assign_labels_by_hand():
    assignments, proportions, rates = assign_labels(record(COUNTS), LABELS, 2)
    # neuron 0: mean 1 over label 0, 0 over label 1; neuron 1: 0.5 and 1; neuron 2 never fires
    assert torch.equal(rates, torch.tensor([[1.0, 0.0], [0.5, 1.0], [0.0, 0.0]]))
    assert torch.allclose(proportions, torch.tensor([[1.0, 0.0], [1 / 3, 2 / 3], [0.0, 0.0]]))
    assert assignments.tolist() == [0, 1, -1] and assignments.dtype == torch.long


def test_rates_accumulate_with_alpha_without_touching_the_callers_tensors():
    spikes = record(COUNTS)
    _, _, rates = assign_labels(spikes, LABELS, 2)
    rates_before, spikes_before = rates.clone(), spikes.clone()
    # a batch of label 0 only: column 0 becomes 0.5 * old + mean, column 1 is kept (not decayed)
    assignments, proportions, new_rates = assign_labels(record([[0, 3, 0]]), torch.tensor([0]), 2, rates, alpha=0.5)
    assert torch.equal(new_rates, torch.tensor([[0.5, 0.0], [3.25, 1.0], [0.0, 0.0]]))
    assert torch.allclose(proportions[1], torch.tensor([3.25, 1.0]) / 4.25)
    assert assignments.tolist() == [0, 0, -1]
    assert torch.equal(rates, rates_before) and torch.equal(spikes, spikes_before)
    # alpha = 1 (the default) sums the per-call means
    _, _, summed = assign_labels(spikes, LABELS, 2, rates)
    assert torch.equal(summed, 2 * rates_before)


def test_every_spike_format_gives_the_same_result():
    spikes = record(COUNTS)
    expected = assign_labels(spikes, LABELS, 2)
    for form in (spikes.bool(), spikes.to(torch.uint8), spikes.double(), spikes.to_sparse()):
        assert all(torch.equal(a, b) for a, b in zip(assign_labels(form, LABELS, 2), expected))
    assert all(torch.equal(a, b) for a, b in zip(assign_labels(spikes, [0, 0, 1, 1], 2), expected))  # a list of labels


TIED = record([[1, 1, 1, 0]] * 3, time=1)  # neurons 0-2 fire once in every sample
TIED_LABELS = torch.tensor([0, 1, 2])      # so each is tied between labels 0, 1 and 2; neuron 3 is silent


def tied_assignments(generator=None) -> torch.Tensor:
    spikes = TIED.repeat(1, 1, 100)  # 300 neurons tied three ways, 100 silent
    return assign_labels(spikes, TIED_LABELS, 4, generator=generator)[0]


def test_ties_are_broken_at_random_by_a_seedable_private_generator():
    state = torch.random.get_rng_state()
    first = tied_assignments(torch.Generator().manual_seed(7))
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is not touched
    again = tied_assignments(torch.Generator().manual_seed(7))
    other = tied_assignments(torch.Generator().manual_seed(8))
    assert torch.equal(first, again) and not torch.equal(first, other)

    fired = first.view(100, 4)[:, :3].reshape(-1)
    assert set(fired.tolist()) == {0, 1, 2}  # not always the lowest label, never the untied label 3
    assert (first.view(100, 4)[:, 3] == -1).all()


def test_without_a_generator_ties_are_reproducible_and_the_global_rng_is_untouched():
    state = torch.random.get_rng_state()
    first, second = tied_assignments(), tied_assignments()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(first, second) and set(first.tolist()) == {-1, 0, 1, 2}


def test_a_clear_winner_does_not_depend_on_the_generator():
    for seed in range(5):
        assignments, _, _ = assign_labels(record(COUNTS), LABELS, 2, generator=torch.Generator().manual_seed(seed))
        assert assignments.tolist() == [0, 1, -1]


ASSIGNMENTS = torch.tensor([0, 0, 1, -1])  # neuron 3 has no label


@pytest.mark.parametrize("counts, expected", [
    ([1, 3, 1, 0], 0),  # scores: label 0 (1+3)/2 = 2, label 1: 1
    ([1, 0, 1, 0], 1),  # 0.5 against 1
    ([2, 0, 1, 0], 0),  # a tie, 1 against 1: the lower label
    ([0, 0, 0, 5], -1),  # only the unassigned neuron fired
    ([0, 0, 0, 0], -1),  # a silent sample
])
def test_all_activity_by_hand(counts, expected):
    predictions = all_activity(record([counts], time=5), ASSIGNMENTS, 3)  # label 2 has no neuron
    assert predictions.tolist() == [expected] and predictions.dtype == torch.long


def test_all_activity_with_no_neuron_assigned_predicts_minus_one():
    assert all_activity(record(COUNTS), torch.full((3,), -1), 2).tolist() == [-1] * 4


def test_proportion_weighting_by_hand():
    proportions = torch.tensor([[0.5, 0.5], [0.5, 0.5], [0.0, 1.0], [1.0, 0.0]])
    spikes = record([[1, 1, 1, 0], [0, 0, 0, 4], [6, 0, 1, 0]], time=6)
    # sample 0: 1 vs 1 (a tie -> 0), weighted 0.5 vs 1 -> 1; sample 2: 3 vs 1, weighted 1.5 vs 1
    assert all_activity(spikes, ASSIGNMENTS, 2).tolist() == [0, -1, 0]
    assert proportion_weighting(spikes, ASSIGNMENTS, proportions, 2).tolist() == [1, -1, 0]
    # a neuron with proportion 0 for its own label contributes nothing
    zero = torch.zeros(4, 2)
    assert proportion_weighting(spikes, ASSIGNMENTS, zero, 2).tolist() == [-1, -1, -1]


def spikes_at(events, time: int = 5, n_neurons: int = 3) -> torch.Tensor:
    """One sample ``[1, time, n_neurons]`` with a spike at each ``(step, neuron)``."""
    spikes = torch.zeros(1, time, n_neurons)
    for step, neuron in events:
        spikes[0, step, neuron] = 1
    return spikes


SCORES = {(0, 1): torch.tensor([0.0, 1.0, 0.0]), (1, 2): torch.tensor([0.0, 0.0, 5.0]),
          (2, 0): torch.tensor([3.0, 0.0, 0.0])}


@pytest.mark.parametrize("events, expected", [
    ([(0, 0), (1, 1), (2, 2)], 1),  # order 0 1 2: window (0, 1) is read, the last window (1, 2) is not
    ([(0, 0), (1, 1)], 0),           # order 0 1: its only window is the last one, so nothing matches
    ([(0, 2), (1, 0), (1, 1), (3, 2)], 0),  # order 2 0 1 2 (same step: by index): (2,0) 3 + (0,1) 1 -> label 0
    ([], 0),                         # a silent sample: 0, as in BindsNET
])
def test_ngram_windows(events, expected):
    predictions = ngram(spikes_at(events), SCORES, 3, 2)
    assert predictions.tolist() == [expected] and predictions.dtype == torch.long


def test_update_ngram_scores_by_hand():
    # steps {0}, {1, 2}, {}, {0}: the non-empty steps give windows ({0},{1,2}) and ({1,2},{0})
    first = spikes_at([(0, 0), (1, 1), (1, 2), (3, 0)])
    scores = update_ngram_scores(first, torch.tensor([1]), 3, 2, {})
    assert {key: value.tolist() for key, value in scores.items()} == {
        (0, 1): [0, 1, 0], (0, 2): [0, 1, 0], (1, 0): [0, 1, 0], (2, 0): [0, 1, 0]}
    # n = 3: one window, two neurons in its middle step
    triples = update_ngram_scores(first, torch.tensor([2]), 3, 3, {})
    assert {key: value.tolist() for key, value in triples.items()} == {(0, 1, 0): [0, 0, 1], (0, 2, 0): [0, 0, 1]}

    # a second batch: the dictionary is updated in place, its tensors are replaced
    held = scores[(0, 1)]
    second = torch.cat([spikes_at([(0, 0), (2, 1)]), spikes_at([(1, 0), (4, 1)])])
    returned = update_ngram_scores(second, torch.tensor([0, 0]), 3, 2, scores)
    assert returned is scores and scores[(0, 1)].tolist() == [2, 1, 0]
    assert held.tolist() == [0, 1, 0]


def test_ngram_scores_learned_and_read_back():
    train = torch.cat([spikes_at([(0, 0), (1, 1), (2, 2)]), spikes_at([(0, 2), (1, 1), (2, 0)])])
    scores = update_ngram_scores(train, torch.tensor([0, 1]), 2, 2, {})
    test = torch.cat([spikes_at([(0, 2), (1, 1), (2, 0)]), spikes_at([(0, 0), (1, 1), (2, 2)])])
    assert ngram(test, scores, 2, 2).tolist() == [1, 0]
    # sparse records (BindsNET's n-gram functions refuse them) read the same
    assert update_ngram_scores(train.to_sparse(), torch.tensor([0, 1]), 2, 2, {}).keys() == scores.keys()
    assert ngram(test.to_sparse(), scores, 2, 2).tolist() == [1, 0]


def test_logreg_fit_and_predict():
    linear_model = pytest.importorskip("sklearn.linear_model")
    counts = torch.tensor([[5.0, 0.0], [4.0, 1.0], [0.0, 5.0], [1.0, 4.0]])
    labels = torch.tensor([0, 0, 1, 1])
    model = linear_model.LogisticRegression()
    assert logreg_predict(counts, model).tolist() == [-1] * 4  # not fitted yet
    assert logreg_fit(counts, labels, model) is model
    predictions = logreg_predict(counts, model)
    assert predictions.tolist() == [0, 0, 1, 1] and predictions.dtype == torch.long
    # a record [n_samples, time, n_neurons] is read as its spike counts
    assert logreg_predict(record(counts.long().tolist(), time=5), model).tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize("call, message", [
    (lambda: assign_labels(record(COUNTS), torch.tensor([0, 1, 1]), 2), r"labels has shape \(3,\), expected \[n_samples\] = \[4\]"),
    (lambda: assign_labels(record(COUNTS)[0], LABELS, 2), r"spikes has shape \(3, 3\), expected \[n_samples, time, n_neurons\]"),
    (lambda: assign_labels(record(COUNTS), LABELS, 2, torch.zeros(3, 3)), r"rates has shape \(3, 3\), expected \[n_neurons, n_labels\] = \[3, 2\]"),
    (lambda: assign_labels(record(COUNTS), torch.tensor([0, 1, 2, 1]), 2), r"labels must lie in \[0, n_labels\)"),
    (lambda: assign_labels(record(COUNTS), LABELS, 0), "n_labels must be a positive integer"),
    (lambda: all_activity(record(COUNTS), torch.tensor([0, 1]), 2), r"assignments has shape \(2,\), expected \[n_neurons\] = \[3\]"),
    (lambda: proportion_weighting(record(COUNTS), torch.tensor([0, 1, 1]), torch.zeros(3, 3), 2),
     r"proportions has shape \(3, 3\), expected \[n_neurons, n_labels\] = \[3, 2\]"),
    (lambda: ngram(record(COUNTS), {}, 2, 0), "n must be a positive integer"),
    (lambda: update_ngram_scores(record(COUNTS), torch.tensor([0]), 2, 2, {}), r"labels has shape \(1,\)"),
    (lambda: logreg_predict(torch.zeros(2, 2, 2, 2), None), r"expected \[n_samples, n_features\]"),
])
def test_bad_shapes_name_the_argument(call, message):
    with pytest.raises(SnncError, match=message):
        call()
