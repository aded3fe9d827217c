"""Label assignment and classification from spike records (BindsNET 0.3.4's ``evaluation``).

Every function reads a spike record ``spikes`` of shape ``[n_samples, time, n_neurons]``
(samples first; dense or sparse; bool, integer or float) and writes nothing the caller
passed in, except the ``ngram_scores`` dictionary that :func:`update_ngram_scores`
exists to update. ``counts[s, j] = Σ_t spikes[s, t, j]`` is neuron ``j``'s spike count
in sample ``s``.
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any, Dict, Optional, Tuple

import torch

from snnc.errors import SnncError

NGramScores = Dict[Tuple[int, ...], torch.Tensor]

# the generator behind assign_labels' tie-breaking when the caller passes none
_DEFAULT_TIE_SEED = 0


def _spike_record(spikes: Any, where: str) -> torch.Tensor:
    """``spikes`` as a dense ``[n_samples, time, n_neurons]`` tensor (never the caller's own storage)."""
    if not isinstance(spikes, torch.Tensor):
        raise SnncError(f"{where}: spikes must be a tensor [n_samples, time, n_neurons], got {type(spikes).__name__}")
    if spikes.layout != torch.strided:
        spikes = spikes.to_dense()
    if spikes.dim() != 3:
        raise SnncError(f"{where}: spikes has shape {tuple(spikes.shape)}, expected [n_samples, time, n_neurons]")
    return spikes


def _counts(spikes: torch.Tensor) -> torch.Tensor:
    """``counts[s, j] = Σ_t spikes[s, t, j]``, in the default float dtype (float spikes keep theirs).
    Bool or integer spikes are summed straight into that dtype, without a float copy of
    the whole record (20 000 samples × 250 steps × 1600 neurons would need 32 GB)."""
    if spikes.is_floating_point():
        return spikes.sum(1)
    return spikes.sum(1, dtype=torch.get_default_dtype())


def _check_n(value: Any, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SnncError(f"{where}: {name} must be a positive integer, got {value!r}")
    return value


def _per_sample_labels(labels: Any, n_samples: int, n_labels: int, where: str, device) -> torch.Tensor:
    labels = torch.as_tensor(labels, device=device)
    if labels.dim() != 1 or labels.shape[0] != n_samples:
        raise SnncError(f"{where}: labels has shape {tuple(labels.shape)}, expected [n_samples] = [{n_samples}] "
                        "(one label per sample of spikes)")
    if labels.is_floating_point() and not torch.equal(labels, labels.round()):
        raise SnncError(f"{where}: labels must be whole numbers")
    labels = labels.long()
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= n_labels):
        raise SnncError(f"{where}: labels must lie in [0, n_labels) = [0, {n_labels}), "
                        f"got values from {int(labels.min())} to {int(labels.max())}")
    return labels


def _per_neuron_assignments(assignments: Any, n_neurons: int, where: str, device) -> torch.Tensor:
    assignments = torch.as_tensor(assignments, device=device)
    if assignments.dim() != 1 or assignments.shape[0] != n_neurons:
        raise SnncError(f"{where}: assignments has shape {tuple(assignments.shape)}, "
                        f"expected [n_neurons] = [{n_neurons}] (one label per neuron of spikes)")
    return assignments


def _per_neuron_table(table: Any, name: str, n_neurons: int, n_labels: int, where: str) -> torch.Tensor:
    if not isinstance(table, torch.Tensor) or tuple(table.shape) != (n_neurons, n_labels):
        shape = tuple(table.shape) if isinstance(table, torch.Tensor) else type(table).__name__
        raise SnncError(f"{where}: {name} has shape {shape}, expected [n_neurons, n_labels] = [{n_neurons}, {n_labels}]")
    return table


def _best_label_or_minus_one(scores: torch.Tensor) -> torch.Tensor:
    """Per row, the index of the highest score (the lowest such index on a tie), or −1
    where every score is 0."""
    predictions = scores.argmax(1)
    predictions[(scores == 0).all(1)] = -1
    return predictions


def assign_labels(spikes: torch.Tensor, labels: torch.Tensor, n_labels: int, rates: Optional[torch.Tensor] = None,
                  alpha: float = 1.0, *, generator: Optional[torch.Generator] = None
                  ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Assign each neuron the label it fires most for; returns ``(assignments, proportions, rates)``.

    ``rates`` ``[n_neurons, n_labels]`` (zeros when None) accumulates, for each label
    ``c`` present among ``labels``::

        rates[:, c] = alpha · rates[:, c] + mean over the samples s with labels[s] = c of counts[s, :]

    (labels absent from this call keep their column, undecayed). Then::

        proportions[j, c] = rates[j, c] / Σ_c' rates[j, c']      (0 where the row sums to 0)
        assignments[j]    = argmax_c proportions[j, c]           (−1 where the row sums to 0)

    A returned ``rates`` is new; the caller's is not modified (BindsNET updates it in
    place). Labels outside ``[0, n_labels)`` are an error (BindsNET ignores them).

    Ties: among labels with exactly equal proportions one is chosen uniformly at random
    with ``generator``; without one, a fresh generator seeded 0 is used on every call,
    so the assignments are a function of the arguments. The global torch RNG is never
    touched. This differs from BindsNET 0.3.4 on purpose: it adds ``1e-6·N(0,1)`` noise
    from the global RNG on every call, which shifts every later random draw (Poisson
    encodings, data shuffling) and can also reorder labels within about 1e-6 of each
    other; here only exact ties are random, and reproducibly so.
    """
    where = "assign_labels"
    spikes = _spike_record(spikes, where)
    n_labels = _check_n(n_labels, "n_labels", where)
    n_samples, _, n_neurons = spikes.shape
    labels = _per_sample_labels(labels, n_samples, n_labels, where, spikes.device)
    if rates is None:
        rates = torch.zeros(n_neurons, n_labels, device=spikes.device)
    else:
        rates = _per_neuron_table(rates, "rates", n_neurons, n_labels, where)
        dtype = rates.dtype if rates.is_floating_point() else torch.get_default_dtype()
        rates = rates.to(device=spikes.device, dtype=dtype, copy=True)

    counts = _counts(spikes)
    for label in labels.unique().tolist():
        mean_counts = counts[labels == label].mean(0)
        rates[:, label] = alpha * rates[:, label] + mean_counts

    totals = rates.sum(1, keepdim=True)
    proportions = torch.where(totals > 0, rates / totals, torch.zeros_like(rates))

    if generator is None:
        generator = torch.Generator().manual_seed(_DEFAULT_TIE_SEED)
    keys = torch.rand(n_neurons, n_labels, generator=generator, device=generator.device).to(rates.device)
    is_best = proportions == proportions.max(1, keepdim=True).values
    assignments = torch.where(is_best, keys, torch.full_like(keys, -1.0)).argmax(1)
    assignments[totals.squeeze(1) == 0] = -1
    return assignments, proportions, rates


def all_activity(spikes: torch.Tensor, assignments: torch.Tensor, n_labels: int) -> torch.Tensor:
    """Predict each sample's label from the mean spike count of each label's neurons.

    ``score[s, c] = mean over the neurons j with assignments[j] = c of counts[s, j]``
    (0 for a label with no neuron); the prediction ``[n_samples]`` (long) is
    ``argmax_c score[s, c]`` (the lower label on a tie), or −1 for a sample whose scores
    are all 0 (no assigned neuron fired).
    """
    where = "all_activity"
    spikes = _spike_record(spikes, where)
    n_labels = _check_n(n_labels, "n_labels", where)
    assignments = _per_neuron_assignments(assignments, spikes.shape[2], where, spikes.device)
    counts = _counts(spikes)
    scores = counts.new_zeros(spikes.shape[0], n_labels)
    for label in range(n_labels):
        neurons = assignments == label
        if neurons.any():
            scores[:, label] = counts[:, neurons].sum(1) / neurons.sum()
    return _best_label_or_minus_one(scores)


def proportion_weighting(spikes: torch.Tensor, assignments: torch.Tensor, proportions: torch.Tensor,
                         n_labels: int) -> torch.Tensor:
    """Like :func:`all_activity`, with each count weighted by the neuron's proportion.

    ``score[s, c] = mean over the neurons j with assignments[j] = c of
    counts[s, j] · proportions[j, c]``; prediction ``argmax_c score[s, c]``, −1 where all
    scores are 0.
    """
    where = "proportion_weighting"
    spikes = _spike_record(spikes, where)
    n_labels = _check_n(n_labels, "n_labels", where)
    n_neurons = spikes.shape[2]
    assignments = _per_neuron_assignments(assignments, n_neurons, where, spikes.device)
    proportions = _per_neuron_table(proportions, "proportions", n_neurons, n_labels, where).to(spikes.device)
    counts = _counts(spikes)
    scores = counts.new_zeros(spikes.shape[0], n_labels)
    for label in range(n_labels):
        neurons = assignments == label
        if neurons.any():
            weighted = counts[:, neurons] * proportions[neurons, label]
            scores[:, label] = weighted.sum(1) / neurons.sum()
    return _best_label_or_minus_one(scores)


def _firing_steps(spikes: torch.Tensor) -> list[list[list[int]]]:
    """Per sample, the sorted neuron indices firing at each step that has any spike."""
    steps: list[dict[int, list[int]]] = [defaultdict(list) for _ in range(spikes.shape[0])]
    for sample, step, neuron in spikes.nonzero().tolist():  # lexicographic: by step, then neuron
        steps[sample][step].append(neuron)
    return [list(per_step.values()) for per_step in steps]


def ngram(spikes: torch.Tensor, ngram_scores: NGramScores, n_labels: int, n: int) -> torch.Tensor:
    """Predict labels from the order in which neurons fire.

    A sample's firing order lists the firing neurons step by step (ascending index
    within a step). Every window ``order[i : i+n]`` with ``0 ≤ i < len(order) − n``
    that is a key of ``ngram_scores`` adds its score vector; the prediction is the
    argmax of the sum (the lower label on a tie, so 0 when nothing matched, as in
    BindsNET 0.3.4). As there, the last window (``i = len(order) − n``) is not read.
    """
    where = "ngram"
    spikes = _spike_record(spikes, where)
    n_labels = _check_n(n_labels, "n_labels", where)
    n = _check_n(n, "n", where)
    predictions = []
    for per_step in _firing_steps(spikes):
        order = [neuron for neurons in per_step for neuron in neurons]
        score = torch.zeros(n_labels)
        for start in range(len(order) - n):
            window = tuple(order[start:start + n])
            if window in ngram_scores:
                score = score + ngram_scores[window].to(score)
        predictions.append(int(score.argmax()))
    return torch.tensor(predictions, dtype=torch.long, device=spikes.device)


def update_ngram_scores(spikes: torch.Tensor, labels: torch.Tensor, n_labels: int, n: int,
                        ngram_scores: NGramScores) -> NGramScores:
    """Count, per label, the n-grams of firing steps; returns ``ngram_scores``, updated.

    Per sample, take the steps with at least one spike in time order; for every ``n``
    consecutive such steps (all ``len − n + 1`` windows) and every choice of one firing
    neuron per step (the cartesian product), ``ngram_scores[(j_1, …, j_n)][label] += 1``;
    a new key starts at zeros ``[n_labels]``. The dictionary is updated in place, as in
    BindsNET, but its tensors are replaced by new ones rather than modified.
    """
    where = "update_ngram_scores"
    spikes = _spike_record(spikes, where)
    n_labels = _check_n(n_labels, "n_labels", where)
    n = _check_n(n, "n", where)
    labels = _per_sample_labels(labels, spikes.shape[0], n_labels, where, torch.device("cpu"))
    added: dict[tuple[int, ...], torch.Tensor] = {}
    for label, per_step in zip(labels.tolist(), _firing_steps(spikes)):
        for start in range(len(per_step) - n + 1):
            for sequence in itertools.product(*per_step[start:start + n]):
                if sequence not in added:
                    added[sequence] = torch.zeros(n_labels)
                added[sequence][label] += 1
    for sequence, increment in added.items():
        old = ngram_scores.get(sequence)
        ngram_scores[sequence] = increment if old is None else old + increment.to(old)
    return ngram_scores


def _features(spikes: Any, where: str):
    """The feature matrix scikit-learn reads: ``[n_samples, n_features]`` as given, or the
    spike counts of a ``[n_samples, time, n_neurons]`` record."""
    spikes = torch.as_tensor(spikes)
    if spikes.layout != torch.strided:
        spikes = spikes.to_dense()
    if spikes.dim() == 3:
        spikes = _counts(spikes)
    if spikes.dim() != 2:
        raise SnncError(f"{where}: spikes has shape {tuple(spikes.shape)}, "
                        "expected [n_samples, n_features] or [n_samples, time, n_neurons]")
    return spikes.detach().cpu().numpy()


def logreg_fit(spikes: torch.Tensor, labels: torch.Tensor, logreg):
    """Fit scikit-learn's ``LogisticRegression`` ``logreg`` to ``spikes`` and ``labels``; returns it.

    ``spikes`` is ``[n_samples, n_features]`` (e.g. spike counts), or a record
    ``[n_samples, time, n_neurons]``, which is summed over time first (BindsNET refuses
    3-D input). Needs the ``data`` extra (scikit-learn).
    """
    features = _features(spikes, "logreg_fit")
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.shape[0] != features.shape[0]:
        raise SnncError(f"logreg_fit: labels has shape {tuple(labels.shape)}, "
                        f"expected [n_samples] = [{features.shape[0]}]")
    logreg.fit(features, labels.cpu().numpy())
    return logreg


def logreg_predict(spikes: torch.Tensor, logreg) -> torch.Tensor:
    """``logreg.predict(spikes)`` as a long tensor ``[n_samples]``; all −1 while ``logreg``
    is not fitted (no ``coef_``). ``spikes`` as for :func:`logreg_fit`."""
    features = _features(spikes, "logreg_predict")
    if getattr(logreg, "coef_", None) is None:
        return torch.full((features.shape[0],), -1, dtype=torch.long)
    return torch.as_tensor(logreg.predict(features)).long()
