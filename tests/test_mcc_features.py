"""Feature behaviour a port relies on, beyond the reference runs: polarity, sub-features,
pipeline editing, run masks, ``activity`` and the adaptation features' reset."""
from __future__ import annotations

import pytest
import torch

from snnc.errors import SnncError
from snnc.learning.MCC_learning import PostPre
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import MulticompartmentConnection
from snnc.network.topology_features import (AdaptationBaseSynapsHistory, Bias, MeanField, Normalization,
                                            Updating, Weight)


def _silent(n_pre: int, n_post: int, pipeline, traces: bool = False, **kwargs):
    """Source -> a target without leak or spikes: ``v`` at step t is the input of step t."""
    network = Network()
    source = Input(n_pre, traces=traces)
    target = LIFNodes(n_post, thresh=1e9, rest=0.0, reset=0.0, tc_decay=1e-9, traces=traces)
    network.add_layer(source, "A")
    network.add_layer(target, "B")
    connection = MulticompartmentConnection(source, target, "cpu", pipeline=pipeline, **kwargs)
    network.add_connection(connection, "A", "B")
    network.add_monitor(Monitor(target, ("v",)), "M")
    return network, connection


def test_enforce_polarity_keeps_each_rows_majority_sign():
    value = torch.tensor([[0.5, -0.2, 0.3], [-0.4, 0.1, -0.6], [0.2, 0.0, 0.7]])
    weight = Weight("w", value, enforce_polarity=True)
    network, _ = _silent(3, 3, [weight])
    network.run({"A": torch.ones(2, 1, 3, dtype=torch.bool)}, time=2)
    expected = torch.tensor([[0.5, 1e-4, 0.3], [-0.4, -1e-4, -0.6], [0.2, 1e-4, 0.7]])
    torch.testing.assert_close(weight.value, expected)
    torch.testing.assert_close(network.monitors["M"].get("v")[1, 0], expected.sum(0))


def test_normalization_sub_feature_normalises_its_parent_every_step():
    weight = Weight("w", torch.tensor([[1.0, 2.0], [3.0, -1.0]]), norm=2.0)
    network, connection = _silent(2, 2, [weight, Normalization("n", weight)])
    spikes = torch.ones(3, 1, 2, dtype=torch.bool)
    network.run({"A": spikes}, time=3)
    received = network.monitors["M"].get("v")[:, 0]
    # step 0 (no spikes yet) already normalised the columns (sums 4 and 1) to 2
    torch.testing.assert_close(received[1:], torch.full((2, 2), 2.0))
    torch.testing.assert_close(weight.value, torch.tensor([[0.5, 4.0], [1.5, -2.0]]))


def test_updating_sub_feature_runs_the_rule_even_with_manual_update():
    weight = Weight("w", torch.full((2, 2), 0.5), learning_rule=PostPre, nu=(0.0, 0.1), range=[0.0, 1.0])
    network, connection = _silent(2, 2, [weight, Updating("u", weight)], traces=True, manual_update=True)
    network.layers["B"].thresh.fill_(-1.0)                 # the target spikes: potentiation
    network.run({"A": torch.ones(4, 1, 2, dtype=torch.bool)}, time=4)
    assert (weight.value > 0.5).all()
    frozen = Weight("w", torch.full((2, 2), 0.5), learning_rule=PostPre, nu=(0.0, 0.1), range=[0.0, 1.0])
    network, _ = _silent(2, 2, [frozen], traces=True, manual_update=True)
    network.layers["B"].thresh.fill_(-1.0)
    network.run({"A": torch.ones(4, 1, 2, dtype=torch.bool)}, time=4)
    assert torch.equal(frozen.value, torch.full((2, 2), 0.5))          # manual_update: the network never does


def test_insert_and_remove_pipeline():
    weight = Weight("w", torch.tensor([[2.0, 1.0]]))
    network, connection = _silent(1, 2, [weight])
    connection.insert_pipeline(Bias("b", torch.tensor([[0.25, 0.5]])), 0)
    assert [f.name for f in connection.pipeline] == ["b", "w"] and set(connection.feature_index) == {"b", "w"}
    network.run({"A": torch.zeros(2, 1, 1, dtype=torch.bool)}, time=2)
    # the bias comes first, so the weight multiplies it: 0.25·2, 0.5·1 every step, spikes or not
    torch.testing.assert_close(network.monitors["M"].get("v")[1, 0], torch.tensor([0.5, 0.5]))
    connection.remove_pipeline("b")
    assert [f.name for f in connection.pipeline] == ["w"] and "b" not in connection.feature_index
    with pytest.raises(SnncError, match="already in the pipeline"):
        connection.append_pipeline(Weight("w", torch.ones(1, 2)))


def test_run_masks_are_refused_by_name():
    network, _ = _silent(2, 2, [Weight("w", torch.ones(2, 2))])
    with pytest.raises(SnncError, match="Mask feature"):
        network.run({"A": torch.ones(2, 1, 2)}, time=2, masks={("A", "B"): torch.zeros(2, 2, dtype=torch.bool)})


def test_eager_pipeline_keeps_its_last_output_as_activity():
    network, connection = _silent(3, 2, [MeanField(), Weight("w", torch.ones(3, 2))], traces=True)
    connection.traces = True
    network.run({"A": torch.tensor([[[1, 1, 0]], [[1, 0, 0]]], dtype=torch.bool)}, time=2)
    # the last step received the first step's spikes: mean 2/3 times two ones per target
    torch.testing.assert_close(connection.activity, torch.full((1, 2), 4 / 3))


def test_adaptation_value_opens_after_a_decision_and_reset_restores_the_mask():
    initial = torch.tensor([[0.5, -0.5], [0.2, 0.9]])
    ann = [torch.ones(3, 2), torch.ones(1, 3)]            # history of 2 steps; positive decisions
    feature = AdaptationBaseSynapsHistory("a", initial, ann_values=ann)
    network, _ = _silent(2, 2, [feature, Weight("w", torch.ones(2, 2))])
    network.run({"A": torch.zeros(1, 1, 2, dtype=torch.bool)}, time=1)
    assert torch.equal(feature.value, torch.zeros(2, 2))                   # closed until a decision
    network.run({"A": torch.ones(3, 1, 2, dtype=torch.bool)}, time=3)
    assert set(feature.value.unique().tolist()) <= {0.0, 1.0} and feature.value.sum() > 0
    network.reset_state_variables()
    torch.testing.assert_close(feature.value, initial)
    assert torch.equal(initial, torch.tensor([[0.5, -0.5], [0.2, 0.9]]))   # the caller's tensor untouched
