"""Eager steps of a ``MulticompartmentConnection`` whose pipeline is not folded.

The ``fuse`` pass compiles pipelines of static features. The rest (Probability,
MeanField, the adaptation features, sub-features, per-sample values, averaged or
polarity-enforcing rules) run here, on the torch backend, as an opaque op:
``compute`` folds each feature's value of this step into the signal (spec 4.8), and a
feature's ``update`` runs its rule from the same rule definitions the compiler
renders (:func:`snnc.runtime.eager.rule_update`), then the MCC base update.
"""
from __future__ import annotations

import torch

from snnc.compiler.ops.multicompartment import fold
from snnc.errors import SnncError
from snnc.runtime.eager import _context, rule_update


def _adaptation_value(feature, spikes: torch.Tensor) -> torch.Tensor:
    """The adaptation features' value this step (batch 1): the synapses' activity is
    written to a history of ``H`` columns on steps with a spike (and the first); on every
    step at which the write count is a multiple of ``H`` (so again on silent steps after
    it) an MLP moves each synapse's mask, and the value becomes ``mask > 0``. Until the
    first decision the value is zeros."""
    if spikes.shape[0] != 1:
        raise SnncError(f"{type(feature).__name__} feature {feature.name!r}: runs at batch size 1 only, "
                        f"got {spikes.shape[0]}")
    value = feature.dense_value
    w1, w2 = (v.to(value.device) for v in feature.ann_values)
    width = w1.shape[1]
    first = feature.history is None
    if first:
        feature.history = torch.zeros(value.numel(), width, dtype=torch.bool, device=value.device)
        feature.counter = 0
        value.data.zero_()                       # closed until the first decision
    active = spikes[0].reshape(-1, 1).expand(value.shape) != 0
    if first or bool(active.any()):
        feature.history[:, feature.counter % width] = active.reshape(-1)
        feature.counter += 1
    if feature.counter % width == 0:          # again on every silent step while it stands there
        hidden = torch.relu(feature.history.float() @ w1.t())
        decision = torch.tanh(hidden @ w2.t()).reshape(value.shape)
        mask = feature.mask.to(value.device)
        mask.add_(decision * feature.const_update_rate + feature.const_decay).clamp_(-1.0, 1.0)
        feature.mask = mask
        value.data.copy_((mask > 0).to(value.dtype))
    return value.detach().float()


def _enforce_polarity(feature) -> None:
    """Every row keeps its sign: entries of a positive row that are <= 0 become +1e-4,
    entries of a negative row that are >= 0 become -1e-4 (in place)."""
    value = feature.dense_value.data
    positive = feature.positive_mask.to(value.device)
    value.copy_(torch.where(positive, torch.where(value > 0, value, 1e-4), torch.where(value < 0, value, -1e-4)))


def _value(feature, spikes: torch.Tensor, deferred: list):
    """This step's value of ``feature`` (None: no contribution)."""
    from snnc.network import topology_features as tf

    if isinstance(feature, tf.Normalization):
        feature.parent.normalize_now()
        return None
    if isinstance(feature, tf.Updating):
        feature_update(feature.parent, learning=feature.parent.connection.training)
        return None
    if isinstance(feature, tf.MeanField):
        return spikes.float().mean()
    if isinstance(feature, tf.AdaptationBaseSynapsHistory):
        return _adaptation_value(feature, spikes)
    if isinstance(feature, tf.Probability):
        return torch.bernoulli(feature.dense_value.detach().float())
    if isinstance(feature, tf.Degradation):
        return feature.effective()
    if isinstance(feature, tf.Weight):
        if feature.enforce_polarity:
            _enforce_polarity(feature)
        if feature.norm_frequency == "time step":
            deferred.append(feature.normalize_now)
    return feature.dense_value.detach()


def mcc_compute(connection, s: torch.Tensor) -> torch.Tensor:
    """The target's input ``[B, *target.shape]``: ``s·A + Σ_i O[i, :]`` with this
    step's feature values (per sample where a value has one row per sample)."""
    batch = s.shape[0]
    spikes = s.reshape(batch, -1)
    n_src, n_tgt = connection.source.n, connection.target.n
    deferred: list = []
    values, ops = [], []
    for feature in connection.pipeline:
        value = _value(feature, spikes, deferred)
        if value is None:
            continue
        if value.dim() == 3 and value.shape[0] not in (1, batch):
            raise SnncError(f"{connection.describe()}: feature {feature.name!r} holds values for "
                            f"{value.shape[0]} samples, the batch has {batch}")
        values.append(value)
        ops.append(feature.op)
    factor, offset = fold(values, ops, (n_src, n_tgt))
    if factor is None:
        factor = torch.ones((n_src, n_tgt), device=spikes.device)
    if not factor.is_floating_point():
        factor = factor.float()
    signal = spikes.to(factor.dtype)
    out = torch.bmm(signal[:, None, :], factor.expand(batch, n_src, n_tgt))[:, 0] if factor.dim() == 3 else \
        signal @ factor
    out = out.float()
    if offset is not None:
        out = out + offset.float().sum(dim=-2)
    for callback in deferred:
        callback()
    if connection.traces:
        connection.activity = out
    return out.view(batch, *connection.target.shape)


def _rule_attrs(feature, weights: torch.Tensor) -> dict:
    """The dense-connection IR record of ``feature``'s rule over ``weights``, terms only
    (no decay or clamp: the MCC base update follows)."""
    rule = feature.rule
    params = {**rule.ir_params(), "w": weights}           # wmin / wmax: the range, read by some terms
    params.pop("weight_decay", None)
    return dict(op="dense", params=params, options={**rule.ir_options(), "terms_only": True})


def feature_update(feature, **kwargs) -> None:
    """One step of the feature's rule (spec 6.8): the rule's terms, averaged over the
    last ``average_update`` steps when asked, then ``value *= 1 - decay``, polarity,
    the clamp to the rule's range."""
    rule = getattr(feature, "rule", None)
    if rule is None or rule.ir_name is None or not kwargs.get("learning", True):
        return
    connection = feature.connection
    source, target = connection.source, connection.target
    value = feature.dense_value
    batch = source.s.shape[0]
    before = value.detach().clone()
    working = value.data.float() if value.dtype != torch.float32 else value.data
    if value.dim() == 3 and value.shape[0] > 1:   # one value per sample: each learns from its own spikes
        for b in range(value.shape[0]):
            ctx = _context(_rule_attrs(feature, working[b]), source, target, 1, connection.dt)
            rule_update(ctx, rule, source, target, connection.describe(), kwargs, slice(b, b + 1))
    else:
        flat = working.view(working.shape[-2:])   # one value for the batch: summed over it
        ctx = _context(_rule_attrs(feature, flat), source, target, batch, connection.dt)
        rule_update(ctx, rule, source, target, connection.describe(), kwargs)
    with torch.no_grad():                      # on the tensor itself: its version moves, a run rebinds
        if working is not value.data:
            value.copy_(working)
        if rule.average_update > 0:
            rule.updates.append(value.detach().float() - before.float())       # in place: no rebind
            del rule.updates[:-rule.average_update]
            value.copy_(before)
            if rule.continues_update:
                value.add_(torch.stack(rule.updates).mean(0).to(value.dtype))
            elif len(rule.updates) == rule.average_update:
                value.add_(torch.stack(rule.updates).mean(0).to(value.dtype))
                rule.updates.clear()
        if rule.decay:
            value.mul_(1.0 - rule.decay)
        if rule.initial_signs is not None:
            value.masked_fill_(torch.sign(value) != rule.initial_signs.to(value.device), 0.0)
        low, high = rule.range
        value.clamp_(low, high)


__all__ = ["feature_update", "mcc_compute"]
