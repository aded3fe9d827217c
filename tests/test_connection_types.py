"""Connection types beyond dense and 2-D convolution, on every backend, against plain
references written here from the spec (4.3-4.7): 1-D/3-D convolutions (torch's
``conv1d``/``conv3d``), max pooling by firing rate (torch's ``max_pool`` indices on the
rate estimate), mean-field and locally connected layers; plus every learning rule
agreeing across backends on dense and convolution maps, at batch 1 and 3."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import snnc
from snnc.learning import (MSTDP, MSTDPET, DiehlAndCook, Hebbian, PostPre, Rmax,
                           WeightDependentPostPre)
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import IFNodes, Input, LIFNodes, SRM0Nodes
from snnc.network.topology import (Conv1dConnection, Conv3dConnection, Connection, LocalConnection,
                                   MaxPool1dConnection, MaxPool2dConnection, MaxPool3dConnection,
                                   MaxPoo3dConnection, MeanFieldConnection)

BACKENDS = ["torch", "numba", "numba-cuda"]
SLOW = pytest.mark.slow


def delivered(network: Network, inputs: torch.Tensor, steps: int, backend: str) -> torch.Tensor:
    """The input each step delivered to layer ``Y`` (an integrating IF layer that never
    fires): differences of its recorded voltage."""
    network.add_monitor(Monitor(network.layers["Y"], ["v"]), "m")
    snnc.compile(network, backend=backend).run(inputs={"X": inputs}, time=steps)
    v = network.monitors["m"].get("v")
    return torch.diff(torch.cat([torch.zeros_like(v[:1]), v]), dim=0)


def probe(shape, out_shape, batch) -> tuple[Network, Input, IFNodes]:
    network = Network(batch_size=batch)
    source, target = Input(shape=shape), IFNodes(shape=out_shape, thresh=1e9, reset=0.0)
    network.add_layer(source, "X")
    network.add_layer(target, "Y")
    return network, source, target


def one_step_late(values: torch.Tensor) -> torch.Tensor:
    """Step t delivers the spikes of step t - 1."""
    return torch.cat([torch.zeros_like(values[:1]), values[:-1]])


def reference_pool(spikes: torch.Tensor, decay: float, k, s, p, dims: int) -> torch.Tensor:
    pool = getattr(torch.nn.functional, f"max_pool{dims}d")
    rates = torch.zeros_like(spikes[0], dtype=torch.float32)
    out = []
    for step in spikes:
        rates = rates - decay * rates + step.float()
        _, index = pool(rates, k, s, p, return_indices=True)
        out.append(step.float().flatten(2).gather(2, index.flatten(2)).view(index.shape))
    return torch.stack(out)


POOLS = [(MaxPool1dConnection, (3, 7), 3, 2, 1), (MaxPool2dConnection, (2, 5, 5), 3, 1, 1),
         (MaxPool2dConnection, (2, 4, 4), 2, 2, 0), (MaxPool3dConnection, (2, 3, 4, 4), 2, 1, 0)]


@pytest.mark.parametrize("backend, cls, shape, k, s, p", [
    *[("torch", *pool) for pool in POOLS],
    *[(backend, *POOLS[1]) for backend in BACKENDS[1:]],
    *[pytest.param(backend, *pool, marks=SLOW) for backend in BACKENDS[1:] for pool in POOLS[:1] + POOLS[2:]],
])
def test_max_pooling_passes_the_spike_of_the_highest_rate(backend, cls, shape, k, s, p):
    dims = len(shape) - 1
    out = [(n + 2 * p - k) // s + 1 for n in shape[1:]]
    for batch in (1, 2):
        network, source, target = probe(shape, [shape[0], *out], batch)
        network.add_connection(cls(source, target, kernel_size=k, stride=s, padding=p, decay=0.3), "X", "Y")
        spikes = torch.rand(12, batch, *shape, generator=torch.Generator().manual_seed(3)) < 0.3
        got = delivered(network, spikes, 12, backend)
        assert got.abs().sum() > 0
        assert torch.equal(got, one_step_late(reference_pool(spikes, 0.3, k, s, p, dims)))


def test_max_pooling_state_and_refusals():
    source, target = Input(shape=(1, 4, 4)), IFNodes(shape=(1, 2, 2))
    assert MaxPoo3dConnection is MaxPool3dConnection
    network, source, target = probe((1, 4, 4), (1, 2, 2), 1)
    network.add_connection(MaxPool2dConnection(source, target, 2, 2), "X", "Y")   # BindsNET accepts it
    with pytest.raises(snnc.errors.SnncError, match="decay is required to run"):
        network.run(inputs={"X": torch.ones(2, 1, 1, 4, 4)}, time=2)
    with pytest.raises(snnc.errors.SnncError, match="decay must be in"):
        MaxPool2dConnection(source, target, kernel_size=2, stride=2, decay=2.0)
    with pytest.raises(snnc.errors.SnncError, match="target shape"):
        MaxPool2dConnection(source, IFNodes(shape=(1, 3, 3)), kernel_size=2, stride=2, decay=1.0)
    network, source, target = probe((1, 4, 4), (1, 2, 2), 1)
    pool = MaxPool2dConnection(source, target, kernel_size=2, stride=2, decay=0.5)
    network.add_connection(pool, "X", "Y")
    network.run(inputs={"X": torch.ones(3, 1, 1, 4, 4)}, time=3)
    # the rates see the spikes each step delivers, those of the step before: 0, 1, 1.5
    assert torch.allclose(pool.firing_rates, torch.full((1, 1, 4, 4), 1.5))
    network.reset_state_variables()
    assert not pool.firing_rates.any()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cls, shape, k, s, p", [
    (Conv1dConnection, (2, 9), 3, 2, 1), (Conv3dConnection, (2, 4, 5, 5), (2, 3, 2), 1, (0, 1, 1)),
])
def test_convolutions_in_one_and_three_dimensions(backend, cls, shape, k, s, p):
    dims = len(shape) - 1
    ks = (k,) * dims if isinstance(k, int) else k
    ps = (p,) * dims if isinstance(p, int) else p
    out = [(n + 2 * pp - kk) // s + 1 for n, kk, pp in zip(shape[1:], ks, ps)]
    network, source, target = probe(shape, [3, *out], 2)
    torch.manual_seed(1)
    conv = cls(source, target, kernel_size=k, stride=s, padding=p, b=torch.tensor([0.5, -1.0, 0.0]))
    network.add_connection(conv, "X", "Y")
    spikes = torch.rand(8, 2, *shape, generator=torch.Generator().manual_seed(4)) < 0.4
    got = delivered(network, spikes, 8, backend)
    function = getattr(torch.nn.functional, f"conv{dims}d")
    previous = one_step_late(spikes.float())       # step t delivers the spikes of t - 1, and the bias
    expected = torch.stack([function(step, conv.w, conv.b, s, p) for step in previous])
    assert torch.allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mean_field_gives_every_target_the_batch_mean(backend):
    batch = 3
    network, source, target = probe((6,), (4,), batch)
    w = torch.tensor([1.0, 2.0, -1.0, 0.5])
    field = MeanFieldConnection(source, target, w=w, weight_decay=0.1)
    network.add_connection(field, "X", "Y")
    spikes = torch.rand(10, batch, 6, generator=torch.Generator().manual_seed(3)) < 0.4
    got = delivered(network, spikes, 10, backend)
    expected, weights = [], w.clone()
    for step in range(10):       # delivery uses this step's weights, then decay (learning)
        expected.append((spikes[step - 1].float().mean() * weights if step else torch.zeros(4)).expand(batch, 4))
        weights = weights * 0.9
    assert torch.allclose(got, torch.stack(expected), atol=1e-6)
    assert torch.allclose(field.w, weights, atol=1e-6)


def test_mean_field_refusals():
    with pytest.raises(snnc.errors.SnncError, match="no learning rule"):
        MeanFieldConnection(Input(2), LIFNodes(2), update_rule=PostPre)
    with pytest.raises(snnc.errors.SnncError, match="cannot be normalised"):
        MeanFieldConnection(Input(2), LIFNodes(2), norm=1.0)


@pytest.mark.parametrize("backend", ["torch", "numba", pytest.param("numba-cuda", marks=SLOW)])
def test_local_connection_learns_inside_its_fields_at_batch_two(backend):
    np.random.seed(0)
    network = Network(batch_size=2)
    source, target = Input(25, traces=True), LIFNodes(8, traces=True, thresh=-64.0)
    network.add_layer(source, "X")
    network.add_layer(target, "Y")
    local = LocalConnection(source, target, kernel_size=3, stride=2, n_filters=2, update_rule=PostPre,
                            nu=(0.01, 0.02), wmin=0.0, wmax=1.0, norm=0.5)
    network.add_connection(local, "X", "Y")
    fields = ~local.mask
    assert int(fields.sum()) == 2 * 4 * 9          # filters x positions x kernel
    for f in range(2):                             # filter f at position c sees locations[:, c]
        for c in range(4):
            assert torch.equal(torch.nonzero(fields[:, f * 4 + c]).flatten(), local.locations[:, c].sort().values)
    w0 = local.w.clone()
    spikes = torch.rand(20, 2, 25, generator=torch.Generator().manual_seed(3)) < 0.5
    snnc.compile(network, backend=backend).run(inputs={"X": spikes}, time=20)
    assert not local.w[local.mask].any()
    assert not torch.equal(local.w, w0)
    assert torch.allclose(local.w.sum(0), torch.full((8,), 0.5 * 9), atol=1e-5)   # norm per kernel element


RULE_CASES = [(PostPre, {}, {}), (Hebbian, {}, {}), (WeightDependentPostPre, {}, {}),
              (DiehlAndCook, {"x_tar": 0.1, "mu": 2.0}, {}), (DiehlAndCook, {}, {}),
              (MSTDP, {}, {"reward": 0.5}), (MSTDP, {"zero_lag": True}, {"reward": 0.5, "a_plus": 2.0}),
              (MSTDPET, {"zero_lag": True}, {"reward": 1.0}), (Rmax, {}, {"reward": 1.0})]


def rule_network(rule, batch, kwargs, conv=False):
    torch.manual_seed(0)
    network = Network(batch_size=batch)
    shape = (2, 4, 4) if conv else (5,)
    source = Input(shape=shape, traces=True, traces_additive=rule is Rmax)
    target_shape = (2, 4, 4) if conv else (4,)
    target = (SRM0Nodes if rule is Rmax else LIFNodes)(shape=target_shape, traces=True, thresh=-60.0)
    network.add_layer(source, "X")
    network.add_layer(target, "Y")
    if conv:
        from snnc.network.topology import Conv2dConnection
        connection = Conv2dConnection(source, target, kernel_size=3, padding=1, update_rule=rule,
                                      nu=(0.01, 0.02), wmin=0.0, wmax=4.0, **kwargs)
    else:
        connection = Connection(source, target, w=torch.rand(5, 4) * 30, update_rule=rule, nu=(0.01, 0.02),
                                wmin=0.0, wmax=40.0, **kwargs)
    network.add_connection(connection, "X", "Y")
    network.add_monitor(Monitor(target, ["s"]), "spikes")
    return network, connection


# PostPre, DiehlAndCook (mu; x_tar only without padding), MSTDP, MSTDPET
CONV_CASES = [RULE_CASES[0], (DiehlAndCook, {"mu": 2.0}, {}), RULE_CASES[6], RULE_CASES[7]]
@pytest.mark.parametrize("rule, kwargs, run_kwargs, conv, batches", [
    *[(*case, False, (3,)) for case in RULE_CASES if case[0] in (PostPre, DiehlAndCook, MSTDP, MSTDPET, Rmax)],
    *[pytest.param(*case, False, (3,), marks=SLOW) for case in RULE_CASES if case[0] in (Hebbian, WeightDependentPostPre)],
    *[(*case, True, (2,)) for case in CONV_CASES[:3]],
    pytest.param(*CONV_CASES[3], True, (2,), marks=SLOW),
    *[pytest.param(*case, False, (1,), marks=SLOW) for case in RULE_CASES],
    *[pytest.param(*case, True, (1,), marks=SLOW) for case in RULE_CASES if case[0] is not Rmax],
], ids=lambda v: getattr(v, "__name__", str(v)))
def test_every_rule_agrees_across_backends(rule, kwargs, run_kwargs, conv, batches):
    """Rmax reads an SRM0 target: kept to the dense map here. The CUDA simulator (slow)
    runs the cases with state and a batch (the rest in the slow tier)."""
    cuda = rule in (MSTDP, MSTDPET, Rmax) or batches == (1,)
    for batch in batches:
        results = {}
        for backend in BACKENDS if cuda else BACKENDS[:2]:
            network, connection = rule_network(rule, batch, kwargs, conv)
            w0 = connection.w.clone()
            shape = (30, batch, *network.layers["X"].shape)
            spikes = torch.rand(shape, generator=torch.Generator().manual_seed(1)) < 0.3
            given = dict(run_kwargs)
            if batch > 1 and "reward" in given:
                given["reward"] = torch.tensor([0.5, -1.0, 2.0])[:batch]
            snnc.compile(network, backend=backend).run(inputs={"X": spikes}, time=30, **given)
            results[backend] = (connection.w.clone(), network.monitors["spikes"].get("s"))
        w, s = results["torch"]
        assert not torch.equal(w, w0)
        assert s.any()
        for backend, (other_w, other_s) in results.items():
            assert torch.equal(other_s, s), backend
            assert torch.allclose(other_w, w, atol=2e-5, rtol=1e-5), backend


def test_reward_is_required_while_learning_and_state_resets():
    network, connection = rule_network(MSTDP, 1, {})
    spikes = torch.rand(10, 1, 5, generator=torch.Generator().manual_seed(1)) < 0.5
    with pytest.raises(snnc.errors.SnncError, match="reward"):
        network.run(inputs={"X": spikes}, time=10)
    network.run(inputs={"X": spikes}, time=10, reward=1.0)
    assert connection.update_rule.p_plus.any()
    network.reset_state_variables()
    assert not connection.update_rule.p_plus.any() and not connection.update_rule.last_s_pre.any()
    network.train(False)
    network.run(inputs={"X": spikes}, time=10)        # not learning: no reward needed
    with pytest.raises(snnc.errors.SnncError, match="one value per sample"):
        network.train(True)
        network.run(inputs={"X": spikes}, time=10, reward=torch.ones(4))


@pytest.mark.parametrize("rule, run_kwargs", [(PostPre, {}), (MSTDPET, {"reward": 1.5})],
                         ids=["PostPre", "MSTDPET"])
def test_sparse_learning_agrees_across_backends_and_keeps_its_pattern(rule, run_kwargs):
    from snnc.network.topology import SparseConnection

    results = {}
    for backend in BACKENDS:
        torch.manual_seed(0)
        network = Network(batch_size=2)
        source, target = Input(12, traces=True), LIFNodes(8, traces=True, thresh=-62.0)
        network.add_layer(source, "X")
        network.add_layer(target, "Y")
        sparse = SparseConnection(source, target, sparsity=0.6, update_rule=rule, nu=(0.01, 0.02),
                                  wmin=0.0, wmax=6.0, w=torch.rand(12, 8) * 5, norm=8.0)
        network.add_connection(sparse, "X", "Y")
        network.add_monitor(Monitor(target, ["s"]), "m")
        before = sparse.w.to_dense().clone()
        pattern = (sparse.w.crow_indices().clone(), sparse.w.col_indices().clone())
        spikes = torch.rand(25, 2, 12, generator=torch.Generator().manual_seed(2)) < 0.4
        snnc.compile(network, backend=backend).run(inputs={"X": spikes}, time=25, **run_kwargs)
        after = sparse.w.to_dense()
        assert torch.equal(sparse.w.crow_indices(), pattern[0]) and torch.equal(sparse.w.col_indices(), pattern[1])
        assert not after[before == 0].any() and not torch.equal(after, before)
        if rule is MSTDPET:
            assert sparse.update_rule.eligibility_trace.shape == (2, int((before != 0).sum()))
        results[backend] = (after, network.monitors["m"].get("s"))
    w, s = results["torch"]
    assert s.any()
    for backend, (other_w, other_s) in results.items():
        assert torch.equal(other_s, s), backend
        assert torch.allclose(other_w, w, atol=2e-5), backend


@pytest.mark.parametrize("backend", BACKENDS)
def test_dales_rule_keeps_each_synapses_sign(backend):
    """Q15: BindsNET's Dale's rule zeroes every weight; snnc keeps the marked synapses
    >= 0 and the others <= 0 after every step, learning or not."""
    torch.manual_seed(0)
    network = Network(batch_size=2)
    source, target = Input(6, traces=True), LIFNodes(4, traces=True, thresh=-63.0)
    network.add_layer(source, "X")
    network.add_layer(target, "Y")
    excitatory = torch.tensor([True, True, True, False, False, False])[:, None]
    w = torch.randn(6, 4) * 3
    connection = Connection(source, target, w=w, update_rule=Hebbian, nu=(0.5, -0.5), Dales_rule=excitatory)
    network.add_connection(connection, "X", "Y")
    spikes = torch.rand(20, 2, 6, generator=torch.Generator().manual_seed(2)) < 0.5
    snnc.compile(network, backend=backend).run(inputs={"X": spikes}, time=20)
    after = connection.w
    assert (after[:3] >= 0).all() and (after[3:] <= 0).all()
    assert after.abs().sum() > 0 and not torch.equal(after, torch.where(excitatory, w.clamp(min=0), w.clamp(max=0)))
    network.train(False)
    connection.w.data[0, 0] = -1.0                         # not learning: the rule still applies
    snnc.compile(network, backend=backend).run(inputs={"X": spikes}, time=2)
    assert connection.w[0, 0] == 0.0


@pytest.mark.parametrize("cls, shape, kernel", [("LocalConnection1D", (2, 7), 3), ("LocalConnection2D", (2, 4, 4), 2)])
def test_mstdp_eligibility_of_local_connections_drives_the_next_update(cls, shape, kernel):
    """MSTDP's ``eligibility`` on a local connection is shaped like ``w`` (per sample) and
    is what the next step adds: ``Δw = nu · reward · Σ_b E``."""
    from snnc.network import topology

    torch.manual_seed(0)
    network = Network(batch_size=2)
    source, target = Input(shape=shape), LIFNodes(shape=(2, *[(n - kernel) // 1 + 1 for n in shape[1:]]),
                                                   thresh=-64.0)
    network.add_layer(source, "X")
    network.add_layer(target, "Y")
    local = getattr(topology, cls)(source, target, kernel_size=kernel, stride=1, n_filters=2, update_rule=MSTDP,
                                   nu=0.1, w=torch.rand(shape[0], target.n, kernel ** (len(shape) - 1)) * 3)
    network.add_connection(local, "X", "Y")
    program = snnc.compile(network, backend="torch")
    spikes = torch.rand(12, 2, *shape, generator=torch.Generator().manual_seed(1)) < 0.5
    checked = 0
    for t in range(12):
        before, eligibility = local.w.clone(), local.update_rule.eligibility.clone()
        program.run(inputs={"X": spikes[t:t + 1]}, time=1, reward=1.5)
        assert eligibility.shape == (2, *local.w.shape)
        assert torch.allclose(local.w - before, 0.1 * 1.5 * eligibility.sum(0), atol=1e-5)
        checked += bool(eligibility.any())
    assert checked


def test_eager_compute_and_update_of_a_local_connection_subclass():
    """A subclass with its own ``compute`` runs as an opaque op; its ``super().compute``
    and ``super().update`` reach the same definitions as the compiled class, with the
    local connection's weights indexed as the map indexes them."""
    from snnc.network.topology import LocalConnection2D

    class Logged(LocalConnection2D):
        def compute(self, s):
            return super().compute(s)

    results = []
    for cls in (LocalConnection2D, Logged):
        torch.manual_seed(0)
        network = Network(batch_size=2)
        source, target = Input(shape=(2, 4, 4), traces=True), LIFNodes(shape=(2, 3, 3), thresh=-63.0, traces=True)
        network.add_layer(source, "X")
        network.add_layer(target, "Y")
        connection = cls(source, target, kernel_size=2, stride=1, n_filters=2, update_rule=MSTDPET, nu=0.2,
                         w=torch.rand(2, 18, 4) * 3)
        network.add_connection(connection, "X", "Y")
        network.add_monitor(Monitor(target, ["s"]), "m")
        spikes = torch.rand(10, 2, 2, 4, 4, generator=torch.Generator().manual_seed(1)) < 0.5
        network.run(inputs={"X": spikes}, time=10, reward=1.0)
        results.append((network.monitors["m"].get("s"), connection.w.clone()))
    assert results[0][0].any() and torch.equal(results[0][0], results[1][0])
    assert torch.allclose(results[0][1], results[1][1], atol=1e-5)
