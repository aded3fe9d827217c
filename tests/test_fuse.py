"""The ``fuse`` pass: feature pipelines folded into dense connections, Probability as a
per-synapse draw, every layer's propagations accumulated in one step (one kernel on
numba-cuda), and the eager fallback for pipelines it cannot fold."""
from __future__ import annotations

import logging
import os

import pytest
import torch

import snnc
from snnc.compiler import CompileOptions, run_pipeline
from snnc.compiler.render.hashing import synapse_uniforms, uniform_hash, uniform_hash_tensor
from snnc.ir import record_network
from snnc.learning.MCC_learning import PostPre
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection, MulticompartmentConnection
from snnc.network.topology_features import Bias, Degradation, Intensity, Mask, MeanField, Probability, Weight

BACKENDS = ["torch", "numba", "numba-cuda"]


@pytest.fixture(autouse=True)
def _cuda_simulator(monkeypatch):
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", os.environ.get("NUMBA_ENABLE_CUDASIM", "1"))


def _pair(pipeline, n_pre=12, n_post=9, batch=1, thresh=-63.0):
    network = Network(batch_size=batch)
    source, target = Input(n_pre, traces=True), LIFNodes(n_post, traces=True, thresh=thresh)
    network.add_layer(source, "A")
    network.add_layer(target, "B")
    network.add_connection(MulticompartmentConnection(source, target, "cpu", pipeline=pipeline(source, target)),
                           "A", "B")
    network.add_monitor(Monitor(target, ("s", "v")), "M")
    return network


def _spikes(steps=30, batch=1, n=12, seed=3):
    return {"A": torch.rand(steps, batch, n, generator=torch.Generator().manual_seed(seed)) < 0.3}


def _run(network, backend, inputs, steps=30):
    program = snnc.compile(network, backend=backend)
    torch.manual_seed(11)
    program.run(inputs, time=steps)
    return network.monitors["M"].get("s"), network.monitors["M"].get("v"), program


def _values(seed=0, n_pre=12, n_post=9):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n_pre, n_post, generator=g), torch.rand(n_pre, n_post, generator=g) < 0.6,
            0.01 * torch.rand(n_pre, n_post, generator=g), torch.randint(-1, 2, (n_pre, n_post), generator=g).float())


@pytest.mark.parametrize("backend", BACKENDS)
def test_static_pipeline_is_the_equivalent_connection(backend):
    """Intensity · Weight, then Bias, then Mask, then Degradation: one dense weight
    ``I·W·M`` and a bias ``Σ_i (B·M − D)``, the numbers of a plain Connection."""
    w, mask, bias, sign = _values()
    degrade = torch.full((12, 9), 0.001)

    def pipeline(source, target):
        return [Intensity("i", sign), Weight("w", w), Bias("b", bias), Mask("m", mask),
                Degradation("d", degrade, degrade_function=lambda v: 2 * v)]

    mcc = _pair(pipeline)
    plain = Network()
    source, target = Input(12, traces=True), LIFNodes(9, traces=True, thresh=-63.0)
    plain.add_layer(source, "A")
    plain.add_layer(target, "B")
    plain.add_connection(Connection(source, target, w=sign * w * mask, b=(bias * mask - 2 * degrade).sum(0)), "A", "B")
    plain.add_monitor(Monitor(target, ("s", "v")), "M")
    inputs = _spikes()
    s1, v1, program = _run(mcc, backend, inputs)
    s2, v2, _ = _run(plain, backend, inputs)
    assert torch.equal(s1, s2) and s1.sum() > 0
    torch.testing.assert_close(v1, v2, atol=1e-5, rtol=0)
    fused = program.ir.edges["A", "B"]
    assert fused["op"] == "dense" and "w = f0 * f1 * f3" in fused["options"]["fused"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_learning_feature_is_kept_and_updated_in_place(backend):
    """Mask then a learning Weight: the Weight's own tensor learns (its rule, its range),
    the mask multiplies as a fixed factor; same as the eager rendering of the rule."""
    w, mask, bias, _ = _values(1)
    weight = {}

    def pipeline(source, target):
        weight["f"] = Weight("w", 0.8 * w, range=[0.0, 0.8], learning_rule=PostPre, nu=(0.05, 0.1))
        return [Mask("m", mask), weight["f"], Bias("b", bias)]

    network = _pair(pipeline, batch=2)
    s1, v1, program = _run(network, backend, _spikes(batch=2))
    learned = weight["f"].value.clone()
    assert not torch.equal(learned, 0.8 * w) and learned.min() >= 0 and learned.max() <= 0.8
    reference = _pair(pipeline, batch=2)        # the same on torch, the reference
    s2, v2, _ = _run(reference, "torch", _spikes(batch=2))
    assert torch.equal(s1, s2)
    torch.testing.assert_close(learned, weight["f"].value, atol=1e-5, rtol=0)
    assert "factor = f0" in program.ir.edges["A", "B"]["options"]["fused"]


@pytest.mark.parametrize("backend", ["numba", "numba-cuda"])
def test_probability_draws_the_same_bits_on_every_backend(backend):
    w, _, bias, _ = _values(2)
    prob = torch.rand(12, 9, generator=torch.Generator().manual_seed(5))

    def pipeline(source, target):
        return [Probability("p", prob), Weight("w", w, learning_rule=PostPre, range=[0, 1]), Bias("b", bias)]

    inputs = _spikes(batch=2)
    s1, v1, program = _run(_pair(pipeline, batch=2), backend, inputs)
    s2, v2, _ = _run(_pair(pipeline, batch=2), "torch", inputs)
    assert torch.equal(s1, s2) and s1.sum() > 0
    torch.testing.assert_close(v1, v2, atol=1e-5, rtol=0)
    assert program.ir.edges["A", "B"]["params"]["prob"] is not None


def test_probability_transmits_at_its_rate_and_follows_the_seed():
    """Every source spikes every step into a silent target (threshold out of reach): the
    input each step counts the synapses that transmitted; over 400 steps each synapse's
    rate is its probability."""
    prob = torch.linspace(0.05, 0.95, 6)[:, None].expand(6, 5).contiguous()

    def pipeline(source, target):
        return [Probability("p", prob), Weight("w", torch.ones(6, 5))]

    network = Network()
    source, target = Input(6), LIFNodes(5, thresh=1e9, rest=0.0, reset=0.0, tc_decay=1e-9)
    network.add_layer(source, "A")
    network.add_layer(target, "B")
    network.add_connection(MulticompartmentConnection(source, target, "cpu", pipeline=pipeline(source, target)),
                           "A", "B")
    network.add_monitor(Monitor(target, ("v",)), "M")
    program = snnc.compile(network, backend="numba")
    torch.manual_seed(0)
    program.run({"A": torch.ones(401, 1, 6, dtype=torch.bool)}, time=401)
    received = network.monitors["M"].get("v")[1:, 0]          # the input of the step before
    assert received.mean() == pytest.approx(float(prob.sum(0).mean()), rel=0.03)
    first = network.monitors["M"].get("v").clone()
    network.reset_state_variables()
    network.monitors["M"].reset_state_variables()
    torch.manual_seed(0)
    program.run({"A": torch.ones(401, 1, 6, dtype=torch.bool)}, time=401)
    assert torch.equal(network.monitors["M"].get("v"), first)    # torch.manual_seed reproduces it


def test_uniform_hash_renderings_agree_and_are_uniform():
    index = torch.arange(0, 200000, 7)
    seed = torch.tensor(0.3721, dtype=torch.float32)
    tensor = uniform_hash_tensor(seed, index)
    scalar = torch.tensor([uniform_hash(float(seed), int(i)) for i in index[:500]], dtype=torch.float32)
    assert torch.equal(tensor[:500], scalar)
    assert 0.0 <= float(tensor.min()) and float(tensor.max()) < 1.0
    counts = torch.histc(tensor, bins=10, min=0.0, max=1.0)
    expected = len(index) / 10
    assert float(((counts - expected) ** 2 / expected).sum()) < 30          # chi-square, 9 dof
    grid = synapse_uniforms(seed, 40, 50, "cpu")
    assert torch.equal(grid.reshape(-1), uniform_hash_tensor(seed, torch.arange(2000)))
    other = synapse_uniforms(torch.tensor(0.3722), 40, 50, "cpu")
    assert (grid != other).float().mean() > 0.99                         # a new seed, new numbers


def test_accumulate_groups_a_layers_propagations():
    network = Network()
    a, b, c = Input(10), LIFNodes(8), LIFNodes(6)
    for name, layer in (("A", a), ("B", b), ("C", c)):
        network.add_layer(layer, name)
    network.add_connection(Connection(a, b), "A", "B")
    network.add_connection(Connection(a, c), "A", "C")
    network.add_connection(Connection(c, b), "C", "B")
    network.add_connection(Connection(b, b), "B", "B")
    ir = record_network(network, input_dtypes={"A": torch.bool})
    lowered, _ = run_pipeline(ir, CompileOptions(), stop_after="fuse")
    labels = [op.label() for op in lowered.graph["schedule"]]
    assert labels[:2] == ["accumulate B <- A->B + C->B + B->B", "propagate A->C"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_accumulated_layer_gets_the_same_numbers(backend):
    torch.manual_seed(4)
    network = Network(batch_size=2)
    a, b, c = Input(10), LIFNodes(8, thresh=-60.0), LIFNodes(6, thresh=-60.0)
    for name, layer in (("A", a), ("B", b), ("C", c)):
        network.add_layer(layer, name)
    network.add_connection(Connection(a, b, w=2 * torch.rand(10, 8), b=torch.rand(8)), "A", "B")
    network.add_connection(Connection(a, c, w=3 * torch.rand(10, 6)), "A", "C")
    network.add_connection(Connection(c, b, w=torch.randn(6, 8)), "C", "B")
    network.add_connection(Connection(b, b, w=-torch.rand(8, 8)), "B", "B")
    network.add_monitor(Monitor(b, ("v",)), "M")
    inputs = {"A": torch.rand(25, 2, 10, generator=torch.Generator().manual_seed(2)) < 0.4}
    program = snnc.compile(network, backend=backend)
    program.run(inputs, time=25)
    mine = network.monitors["M"].get("v").clone()
    if backend == "numba-cuda":
        assert program.source.count("accumulate_B[") == 1 and "propagate_A_to_B" not in program.source
    network.reset_state_variables()
    network.monitors["M"].reset_state_variables()
    snnc.compile(network, backend="torch", fast_paths=False).run(inputs, time=25)
    torch.testing.assert_close(mine, network.monitors["M"].get("v"), atol=1e-5, rtol=0)


def test_unfoldable_pipeline_runs_eagerly_and_says_so(caplog):
    """A MeanField feature scales the signal by the source's mean activity each step: no
    fold, so the connection runs eagerly on torch (``auto`` moves there) and a log line
    says why. A silent target with no leak shows the input each step received."""
    w, _, bias, _ = _values(3)
    network = Network()
    source, target = Input(12), LIFNodes(9, thresh=1e9, rest=0.0, reset=0.0, tc_decay=1e-9)
    network.add_layer(source, "A")
    network.add_layer(target, "B")
    pipeline = [MeanField(), Weight("w", w), Bias("b", bias)]
    network.add_connection(MulticompartmentConnection(source, target, "cpu", pipeline=pipeline), "A", "B")
    network.add_monitor(Monitor(target, ("v",)), "M")
    inputs = _spikes()
    with caplog.at_level(logging.INFO, logger="snnc"):
        program = snnc.compile(network, backend="auto")
        program.run(inputs, time=30)
    assert "runs eagerly on torch: feature 'mean_field' (MeanField) changes every step" in caplog.text
    assert program.backend == "torch"
    spikes = inputs["A"].float()[:, 0]
    expected = torch.stack([bias.sum(0)] + [spikes[t].mean() * spikes[t] @ w + bias.sum(0) for t in range(29)])
    torch.testing.assert_close(network.monitors["M"].get("v")[:, 0], expected, atol=1e-5, rtol=1e-5)


def test_snnc_ir_after_fuse(tmp_path, capsys):
    from snnc.runtime.cli import main

    w, mask, bias, _ = _values()
    network = _pair(lambda source, target: [Weight("w", w), Mask("m", mask), Bias("b", bias)])
    path = tmp_path / "mcc.pt"
    network.save(path)
    assert main(["ir", str(path), "--after", "fuse"]) == 0
    text = capsys.readouterr().out
    assert "connection A->B dense(MulticompartmentConnection)" in text
    assert "fused=multicompartment [f0: Weight (mul), f1: Mask (mul), f2: Bias (add)] -> w = f0 * f1" in text
