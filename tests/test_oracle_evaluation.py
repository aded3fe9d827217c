"""snnc.evaluation and snnc.utils against BindsNET 0.3.4 itself, on random spike records.

Spec (shared/spec/bindsnet_semantics.md): 9 (evaluation), 11 (utils), quirk Q53. Rates,
proportions, predictions, n-gram tables and the tiling helpers' images must be equal.
Deliberate difference: ``assign_labels`` breaks exact ties with its own generator
where BindsNET adds ``1e-6·N(0,1)`` from the global RNG, so assignments are compared
only for neurons whose best proportion leads the next by more than 1e-4 (or that
never fired, −1 on both sides).

Optional: skipped unless ``bindsnet`` imports (see benchmarks/run_oracle_tests.sh).
"""
from __future__ import annotations

import pytest
import torch

import snnc.evaluation
import snnc.utils

from oracle_support import import_bindsnet  # noqa: E402

bindsnet = import_bindsnet()
import bindsnet.evaluation, bindsnet.utils  # noqa: E401, E402

pytestmark = pytest.mark.oracle

N_LABELS = 4


def random_spikes(seed: int, n_samples: int = 12, time: int = 15, n_neurons: int = 10, p: float = 0.15,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(n_samples, time, n_neurons, generator=generator) < p).to(dtype)


def random_labels(seed: int, n_samples: int = 12) -> torch.Tensor:
    return torch.randint(0, N_LABELS, (n_samples,), generator=torch.Generator().manual_seed(seed + 1000))


def bindsnet_assign(*args, **kwargs):
    """BindsNET's assign_labels, without letting its noise draw move this test's global RNG."""
    with torch.random.fork_rng(devices=[]):
        return bindsnet.evaluation.assign_labels(*args, **kwargs)


def assert_same_assignments_where_untied(ours, theirs, proportions):
    top2 = proportions.topk(2, dim=1).values
    clear = (top2[:, 0] - top2[:, 1] > 1e-4) | (proportions.sum(1) == 0)
    assert clear.any()
    assert torch.equal(ours[clear], theirs[clear])


@pytest.mark.parametrize("dtype", [torch.float32, torch.bool, torch.uint8, torch.float64])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_assign_labels_matches(seed, dtype):
    spikes, labels = random_spikes(seed, p=0.05, dtype=dtype), random_labels(seed)
    ours = snnc.evaluation.assign_labels(spikes, labels, N_LABELS)
    theirs = bindsnet_assign(spikes, labels, N_LABELS)
    assert torch.equal(ours[2], theirs[2]) and ours[2].dtype == theirs[2].dtype
    assert torch.equal(ours[1], theirs[1])
    assert_same_assignments_where_untied(ours[0], theirs[0], ours[1])
    assert ours[0].dtype == theirs[0].dtype == torch.long


@pytest.mark.parametrize("alpha", [1.0, 0.7])
def test_assign_labels_accumulates_like_bindsnet(alpha):
    rates_ours = rates_theirs = None
    for batch in range(3):
        spikes, labels = random_spikes(10 + batch), random_labels(10 + batch)[:12]
        labels[labels == 3] = 2  # a label absent from every batch keeps its column
        ours = snnc.evaluation.assign_labels(spikes, labels, N_LABELS, rates_ours, alpha)
        theirs = bindsnet_assign(spikes, labels, N_LABELS, None if rates_theirs is None else rates_theirs.clone(),
                                 alpha)
        rates_ours, rates_theirs = ours[2], theirs[2]
        assert torch.equal(ours[2], theirs[2])
        assert torch.equal(ours[1], theirs[1])
        assert_same_assignments_where_untied(ours[0], theirs[0], ours[1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.bool])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_all_activity_and_proportion_weighting_match(seed, dtype):
    train, labels = random_spikes(seed), random_labels(seed)
    assignments, proportions, _ = snnc.evaluation.assign_labels(train, labels, N_LABELS)
    assignments[seed % 10] = -1  # an unassigned neuron
    test = random_spikes(seed + 50, n_samples=30, p=0.04, dtype=dtype)
    test[:3] = 0  # silent samples
    for record in (test, test.to_sparse()):
        assert torch.equal(snnc.evaluation.all_activity(record, assignments, N_LABELS),
                           bindsnet.evaluation.all_activity(record, assignments, N_LABELS))
        assert torch.equal(snnc.evaluation.proportion_weighting(record, assignments, proportions, N_LABELS),
                           bindsnet.evaluation.proportion_weighting(record, assignments, proportions, N_LABELS))
    predictions = snnc.evaluation.all_activity(test, assignments, N_LABELS)
    assert (predictions == -1).any() and (predictions >= 0).any()  # both kinds of sample occur


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("seed", [0, 1])
def test_ngram_scores_and_predictions_match(seed, n):
    train, labels = random_spikes(seed, n_neurons=6, time=10, p=0.2), random_labels(seed)
    ours = snnc.evaluation.update_ngram_scores(train, labels, N_LABELS, n, {})
    theirs = bindsnet.evaluation.update_ngram_scores(train, labels, N_LABELS, n, {})
    assert ours.keys() == theirs.keys() and len(ours) > 0
    assert all(torch.equal(ours[key], theirs[key]) for key in ours)
    # a second batch updates both tables
    more, more_labels = random_spikes(seed + 7, n_neurons=6, time=10, p=0.2), random_labels(seed + 7)
    ours = snnc.evaluation.update_ngram_scores(more, more_labels, N_LABELS, n, ours)
    theirs = bindsnet.evaluation.update_ngram_scores(more, more_labels, N_LABELS, n, theirs)
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[key], theirs[key]) for key in ours)

    test = random_spikes(seed + 99, n_samples=20, n_neurons=6, time=10, p=0.1)
    test[0] = 0  # a silent sample
    assert torch.equal(snnc.evaluation.ngram(test, ours, N_LABELS, n),
                       bindsnet.evaluation.ngram(test, theirs, N_LABELS, n))


def test_logreg_matches():
    sklearn = pytest.importorskip("sklearn.linear_model")
    counts = random_spikes(5, n_samples=40).sum(1)
    labels = random_labels(5, n_samples=40)
    assert torch.equal(snnc.evaluation.logreg_predict(counts, sklearn.LogisticRegression(max_iter=1000)),
                       bindsnet.evaluation.logreg_predict(counts, sklearn.LogisticRegression(max_iter=1000)))
    ours = snnc.evaluation.logreg_fit(counts, labels, sklearn.LogisticRegression(max_iter=1000))
    theirs = bindsnet.evaluation.logreg_fit(counts, labels, sklearn.LogisticRegression(max_iter=1000))
    assert torch.equal(snnc.evaluation.logreg_predict(counts, ours),
                       bindsnet.evaluation.logreg_predict(counts, theirs))


def _same_image(ours: torch.Tensor, theirs: torch.Tensor) -> None:
    assert ours.dtype == theirs.dtype and torch.equal(ours, theirs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64])
@pytest.mark.parametrize("n_filters, n_sqrt, side", [(4, 2, 3), (5, 3, (2, 3)), (7, 2, (3, 2)), (1, 1, 4)])
def test_get_square_weights_matches(n_filters, n_sqrt, side, dtype):
    side0, side1 = (side, side) if isinstance(side, int) else side
    weights = torch.randn(side0 * side1, n_filters, generator=torch.Generator().manual_seed(3)).mul(9).to(dtype)
    _same_image(snnc.utils.get_square_weights(weights, n_sqrt, side),
                bindsnet.utils.get_square_weights(weights, n_sqrt, side))


@pytest.mark.parametrize("assignments", [[3, 1, 2], [0, 1, 2, 3], [-1, 2, 0, 1, 1, 2], [0.5, 1.5]])
@pytest.mark.parametrize("n_sqrt", [1, 2, 3])
def test_get_square_assignments_matches(assignments, n_sqrt):
    assignments = torch.tensor(assignments)
    _same_image(snnc.utils.get_square_assignments(assignments, n_sqrt),
                bindsnet.utils.get_square_assignments(assignments, n_sqrt))


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 2, 2, 2), (5, 1, 2, 2), (1, 1, 3, 3), (10, 3, 2, 3)])
def test_reshape_conv2d_weights_matches(shape):
    weights = torch.randn(shape, generator=torch.Generator().manual_seed(4))
    _same_image(snnc.utils.reshape_conv2d_weights(weights), bindsnet.utils.reshape_conv2d_weights(weights))
    _same_image(snnc.utils.reshape_conv2d_weights(weights.double()),
                bindsnet.utils.reshape_conv2d_weights(weights.double()))


# A single position (conv (1, 1)) takes another path in BindsNET, which needs the kernel to
# equal input_sqrt and mis-tiles non-square kernels; snnc draws it like any other geometry.
@pytest.mark.parametrize("n_filters, kernel, conv, input_sqrt", [(3, (3, 3), (2, 2), (7, 7)), (2, (1, 3), (2, 3), (7, 7)),
                                                                 (5, (2, 2), (3, 1), (7, 7)), (4, (3, 3), (1, 1), (3, 3)),
                                                                 (5, (2, 2), (1, 1), (2, 2))])
def test_reshape_local_connection_2d_weights_matches(n_filters, kernel, conv, input_sqrt):
    w = torch.randn(n_filters, *conv, *kernel, generator=torch.Generator().manual_seed(5))
    for drawn in (n_filters, n_filters - 1):  # fewer filters than w holds: only the first ones are drawn
        _same_image(snnc.utils.reshape_local_connection_2d_weights(w, drawn, kernel, conv, input_sqrt),
                    bindsnet.utils.reshape_local_connection_2d_weights(w, drawn, kernel, conv, input_sqrt))


@pytest.mark.parametrize("input_shape, kernel, stride, n_filters",
                         [((5, 5), 3, 2, 2), ((5, 7), (3, 2), (2, 2), 3), ((6, 6), 2, 2, 5), ((4, 4), 4, 1, 1)])
def test_reshape_locally_connected_weights_matches(input_shape, kernel, stride, n_filters):
    from bindsnet.network.nodes import Input, LIFNodes
    from bindsnet.network.topology import LocalConnection

    with torch.random.fork_rng(devices=[]):
        kernel_pair = (kernel, kernel) if isinstance(kernel, int) else kernel
        stride_pair = (stride, stride) if isinstance(stride, int) else stride
        conv = tuple((i - k) // s + 1 for i, k, s in zip(input_shape, kernel_pair, stride_pair))
        connection = LocalConnection(Input(shape=(1, *input_shape)), LIFNodes(n=n_filters * conv[0] * conv[1]),
                                     kernel_size=kernel, stride=stride, n_filters=n_filters, input_shape=input_shape)
    w = torch.randn(connection.w.shape, generator=torch.Generator().manual_seed(6))
    args = (n_filters, connection.kernel_size, connection.conv_size, connection.locations, input_shape)
    _same_image(snnc.utils.reshape_locally_connected_weights(w, *args),
                bindsnet.utils.reshape_locally_connected_weights(w, *args))


def test_im2col_and_col2im_match():
    x = torch.randn(2, 3, 5, 6, generator=torch.Generator().manual_seed(7))
    for kernel, padding, stride in [((2, 3), (1, 0), (2, 1)), ((2, 2), (0, 0), (1, 1)), ((3, 1), (1, 1), (1, 2))]:
        ours = snnc.utils.im2col_indices(x, *kernel, padding=padding, stride=stride)
        assert torch.equal(ours, bindsnet.utils.im2col_indices(x, *kernel, padding=padding, stride=stride))
        # BindsNET's col2im works only with x_shape = (H, W)
        assert torch.equal(snnc.utils.col2im_indices(ours, (5, 6), *kernel, padding=padding, stride=stride),
                           bindsnet.utils.col2im_indices(ours, (5, 6), *kernel, padding=padding, stride=stride))
