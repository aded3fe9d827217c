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
from snnc.network.topology_features import (AdaptationBaseSynapsHistory, Bias, Mask, MeanField, Normalization,
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


def test_bindsnet_style_rule_attributes():
    """What BindsNET's own tests read: ``reduction`` is the function, ``weight_decay`` the
    factor, a feature's ``learning_rule`` the instance once primed; its asserts are
    ``AssertionError``s."""
    from snnc.errors import SnncAssertionError
    from snnc.learning import DiehlAndCook
    from snnc.learning import PostPre as StandardPostPre
    from snnc.network.topology import Connection

    network, connection = _silent(2, 2, [Weight("w", torch.ones(2, 2), learning_rule=PostPre)], traces=True)
    rule = connection.feature_index["w"].learning_rule
    assert isinstance(rule, PostPre) and rule.reduction is torch.sum and rule.weight_decay == 1.0
    plain = Connection(Input(2, traces=True), LIFNodes(2, traces=True), update_rule=StandardPostPre, nu=0.1,
                       reduction=torch.mean, weight_decay=0.25)
    assert plain.update_rule.reduction is torch.mean and plain.update_rule.weight_decay == 0.75
    with pytest.raises(AssertionError, match="wmax must be finite"):
        Connection(Input(2, traces=True), LIFNodes(2), update_rule=DiehlAndCook, nu=0.1)
    with pytest.raises(SnncAssertionError, match="needs traces=True"):
        Connection(Input(2), LIFNodes(2), update_rule=StandardPostPre, nu=0.1)


def _learning_pair(pipeline, batch=1, **kwargs):
    from snnc.network.nodes import IFNodes

    network = Network(batch_size=batch)
    source, target = Input(6, traces=True), IFNodes(4, traces=True, thresh=0.6, reset=0.0, refrac=0)
    network.add_layer(source, "A")
    network.add_layer(target, "B")
    connection = MulticompartmentConnection(source, target, "cpu", pipeline=pipeline, **kwargs)
    network.add_connection(connection, "A", "B")
    return network, connection


def _raster(steps, batch=1, seed=0):
    return {"A": torch.rand(steps, batch, 6, generator=torch.Generator().manual_seed(seed)) < 0.6}


@pytest.mark.parametrize("backend", ["torch", "numba"])
def test_changes_between_runs_reach_the_next_run(backend):
    """A manual rule step (manual_update: the Weight is folded, not kept) and an in-place
    edit of a sparse value both reach the next run of the same program."""
    import snnc

    w, m = torch.full((6, 4), 0.25), torch.ones(6, 4, dtype=torch.bool)
    weight = Weight("w", w, learning_rule=PostPre, nu=(0.0, 1.0))
    network, connection = _learning_pair([weight, Mask("m", m)], manual_update=True)
    network.add_monitor(Monitor(network.layers["B"], ("v",)), "M")
    program = snnc.compile(network, backend=backend)
    program.run(_raster(3), time=3)
    network.layers["B"].s.fill_(True)
    network.layers["B"].x.fill_(1.0)
    weight.update(learning=True)                            # + nu1 * x_pre where the target spiked
    expected = weight.value.clone()
    network.layers["B"].thresh.fill_(1e9)
    network.reset_state_variables()
    network.monitors["M"].reset_state_variables()
    program.run({"A": torch.ones(2, 1, 6, dtype=torch.bool)}, time=2)
    torch.testing.assert_close(network.monitors["M"].get("v")[1, 0], expected.sum(0))

    sparse = Weight("w", torch.full((6, 4), 0.5), sparse=True)
    network, _ = _silent(6, 4, [sparse])
    program = snnc.compile(network, backend=backend)
    program.run({"A": torch.ones(2, 1, 6, dtype=torch.bool)}, time=2)
    sparse.value.mul_(2)
    network.monitors["M"].reset_state_variables()
    program.run({"A": torch.ones(2, 1, 6, dtype=torch.bool)}, time=2)
    torch.testing.assert_close(network.monitors["M"].get("v")[1, 0], torch.full((4,), 6.0))


def test_sparse_feature_with_a_norm_is_normalised_in_place():
    sparse = Weight("w", torch.rand(6, 4, generator=torch.Generator().manual_seed(1)), norm=1.0, sparse=True)
    network, _ = _silent(6, 4, [sparse])
    network.run({"A": torch.ones(3, 1, 6, dtype=torch.bool)}, time=3)
    torch.testing.assert_close(sparse.value.to_dense().sum(-2).reshape(-1), torch.ones(4))


def test_eager_rules_match_the_compiled_ones():
    """``average_update=1`` forces the eager path: the same numbers as the compiled rule,
    for DiehlAndCook (its terms read the range's wmax) and for a sparse value shared by a
    batch of 2 (summed over the batch)."""
    from snnc.learning.MCC_learning import DiehlAndCook

    for rule, extra, sparse in ((DiehlAndCook, dict(x_tar=0.2), False), (PostPre, {}, True)):
        learned = []
        for eager in (False, True):
            torch.manual_seed(1)
            weight = Weight("w", 0.4 * torch.rand(6, 4), sparse=sparse, learning_rule=rule, nu=(0.002, 0.004),
                            range=[0.0, 1.0], **extra, **({"average_update": 1} if eager else {}))
            network, connection = _learning_pair([weight], batch=2)
            assert (connection.why_eager() is not None) == eager
            network.run(_raster(15, batch=2), time=15)
            learned.append(weight.dense_value.reshape(6, 4).clone())
        assert not torch.equal(learned[0], 0.4 * torch.rand(6, 4, generator=torch.Generator().manual_seed(1)))
        torch.testing.assert_close(learned[0], learned[1], atol=1e-6, rtol=0)


def test_eager_pipelines_with_different_rules_in_one_process():
    from snnc.learning.MCC_learning import MSTDP

    for rule, extra in ((MSTDP, {"reward": 0.5}), (PostPre, {})):
        network, _ = _learning_pair([Weight("w", torch.rand(6, 4), learning_rule=rule, range=[0, 1]), MeanField()])
        network.add_monitor(Monitor(network.layers["B"], ("s",)), "M")
        network.run(_raster(5), time=5, **extra)
        assert network.monitors["M"].get("s").shape == (5, 1, 4)


def test_adaptation_decides_again_on_silent_steps():
    """Spec 4.9: the MLP decides on every step at which the write count is a multiple of
    H, so silent steps after a write repeat the decision (the mask keeps moving)."""
    initial = torch.zeros(2, 2)
    ann = [torch.ones(3, 2), torch.ones(1, 3)]           # H = 2; positive decisions
    feature = AdaptationBaseSynapsHistory("a", initial, ann_values=ann, const_update_rate=0.1,
                                          const_decay=0.0)
    network, _ = _silent(2, 2, [feature, Weight("w", torch.ones(2, 2))])
    raster = torch.zeros(6, 1, 2, dtype=torch.bool)
    raster[0] = True                                     # writes: step 0 (first) and step 1 (spikes of 0)
    network.run({"A": raster}, time=6)
    # decisions at steps 1..5 (5 of them, the count stays 2); each adds tanh(relu(h·W1)·W2)·0.1
    history = torch.tensor([[0.0, 1.0]])                   # step 0 wrote no activity, step 1 the spikes
    decision = torch.tanh(torch.relu(history @ ann[0].t()) @ ann[1].t()).item()
    torch.testing.assert_close(feature.mask[0], torch.full((2,), min(1.0, 5 * 0.1 * decision)))


def test_a_pipeline_given_where_the_device_goes_is_an_error():
    """BindsNET's third argument is the device: a list there is a misplaced pipeline,
    which would otherwise leave the connection silently empty."""
    weight = Weight("w", torch.ones(2, 3))
    with pytest.raises(SnncError, match=r"device must be a device name.*pipeline is the fourth argument"):
        MulticompartmentConnection(Input(2), LIFNodes(3), [weight])
