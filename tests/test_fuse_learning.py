"""The ``fuse_learning`` pass: a rule's terms run inside the target layer's update loop
(numba) or kernel (numba-cuda), each target neuron updating its own column of ``w``.

Fused and unfused numba runs must be bit-identical (every synapse sees its terms in
the same order), and both agree with torch, the reference. The pass must leave alone
every connection where fusing would change the order: a larger batch, a recurrent
connection, a source that updates after its target, weight decay.
"""
from __future__ import annotations

import os

import pytest
import torch
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st

import snnc
from snnc.compiler import CompileOptions, run_pipeline
from snnc.ir import record_network
from snnc.learning import DiehlAndCook, Hebbian, PostPre, WeightDependentPostPre
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import DiehlAndCookNodes, Input, LIFNodes
from snnc.network.topology import Connection
from tests.test_backends import _recipe, assert_agree, networks, simulate

SIMULATED = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def fused_edges(program) -> list[tuple[str, str]]:
    return [edge for op in program.ir.graph["schedule"] if op.action == "update"
            for edge in op.detail.get("learning", ())]


def learning_network(rule=PostPre, target=LIFNodes, seed: int = 0, layer_order=("X", "H", "Y"),
                     weight_decay: float | None = None, batch_size: int = 1, out_of_bounds: bool = False,
                     shared: bool = False) -> Network:
    """X (input) -> H -> Y and H -> H, every connection learning with ``rule``
    (``out_of_bounds``: initial weights in [-1, 2), outside the clamp [0, 1], so the
    first step's clamp matters; ``shared``: H -> Y and H -> H hold one tensor)."""
    generator = torch.Generator().manual_seed(seed)
    network = Network(dt=1.0, batch_size=batch_size)
    layers = {"X": Input(24, traces=True),
              "H": target(16, traces=True, thresh=-60.0),
              "Y": LIFNodes(16 if shared else 8, traces=True, thresh=-62.0)}
    for name in layer_order:
        network.add_layer(layers[name], name)
    kwargs = dict(update_rule=rule, nu=(0.05, 0.1), wmin=0.0, wmax=1.0)
    if weight_decay is not None:
        kwargs["weight_decay"] = weight_decay
    for source, target_name, scale in (("X", "H", 8.0), ("H", "Y", 6.0), ("H", "H", 0.5)):
        w = torch.rand(layers[source].n, layers[target_name].n, generator=generator) * min(scale, 1.0)
        if out_of_bounds:
            w = w * 3.0 - 1.0
        network.add_connection(Connection(layers[source], layers[target_name], w=w, **kwargs), source, target_name)
    if shared:
        network.connections[("H", "Y")].w = network.connections[("H", "H")].w
    for name, layer in network.layers.items():
        network.add_monitor(Monitor(layer, ["s"]), name)
    return network


def run(network: Network, backend: str, steps: int = 60, seed: int = 1, **options) -> tuple[dict, object]:
    generator = torch.Generator().manual_seed(seed)
    spikes = (torch.rand(steps, 1, 24, generator=generator) < 0.4)
    program = snnc.compile(network, backend=backend, **options)
    torch.manual_seed(seed)                        # a one_spike layer's random choice
    program.run({"X": spikes[: steps // 2]}, time=steps // 2)
    program.run({"X": spikes[steps // 2:]}, time=steps - steps // 2)
    results = {f"{name}.s": monitor.get("s").float() for name, monitor in network.monitors.items()}
    results.update({f"{a}->{b}.w": c.w.clone() for (a, b), c in network.connections.items()})
    return results, program


@pytest.mark.parametrize("rule, target", [
    (PostPre, LIFNodes), (DiehlAndCook, DiehlAndCookNodes),
    pytest.param(Hebbian, LIFNodes, marks=pytest.mark.slow),
    pytest.param(DiehlAndCook, LIFNodes, marks=pytest.mark.slow),
    pytest.param(PostPre, DiehlAndCookNodes, marks=pytest.mark.slow),
    pytest.param(Hebbian, DiehlAndCookNodes, marks=pytest.mark.slow)])
def test_fused_terms_are_bit_identical_to_the_learn_phase(rule, target):
    """DiehlAndCookNodes' update has shared and row stages: the terms join its last loop.
    The LIF case starts with weights outside the clamp (the first step's clamp follows
    the fused terms)."""
    bounds = target is LIFNodes and rule is PostPre
    fused, program = run(learning_network(rule, target, out_of_bounds=bounds), "numba", fuse_learning=True)
    assert fused_edges(program) == [("X", "H"), ("H", "Y")]          # not H -> H (recurrent)
    assert "(fuse_learning)" in program.source
    unfused, plain = run(learning_network(rule, target, out_of_bounds=bounds), "numba", fuse_learning=False)
    assert fused_edges(plain) == [] and "(fuse_learning)" not in plain.source
    assert fused["H.s"].any() and fused["Y.s"].any(), "a silent network proves nothing"
    initial = learning_network(rule, target, out_of_bounds=bounds).connections[("X", "H")].w
    assert not torch.equal(fused["X->H.w"], initial), "the weights must have learned"
    for key in fused:
        assert torch.equal(fused[key], unfused[key]), key
    reference, _ = run(learning_network(rule, target, out_of_bounds=bounds), "torch")
    for key in reference:
        torch.testing.assert_close(fused[key], reference[key], atol=1e-5, rtol=1e-5, msg=key)
    if bounds:
        assert float(fused["H->H.w"].min()) >= 0.0 and float(fused["H->H.w"].max()) <= 1.0


@pytest.mark.slow
def test_a_layer_whose_names_clash_runs_the_terms_after_its_loop():
    """CurrentLIF's current is called ``i``, the terms' loop index: the numba emitter runs
    the fused terms right after the layer's loop instead, with the same numbers."""
    from snnc.network.nodes import CurrentLIFNodes

    fused, program = run(learning_network(PostPre, CurrentLIFNodes), "numba", fuse_learning=True)
    assert fused_edges(program) == [("X", "H"), ("H", "Y")]
    unfused, _ = run(learning_network(PostPre, CurrentLIFNodes), "numba", fuse_learning=False)
    for key in fused:
        assert torch.equal(fused[key], unfused[key]), key


@pytest.mark.skipif(not SIMULATED, reason="numba-cuda runs in the CUDA simulator (NUMBA_ENABLE_CUDASIM=1)")
@pytest.mark.parametrize("target", [LIFNodes, pytest.param(DiehlAndCookNodes, marks=pytest.mark.slow)])
def test_numba_cuda_fuses_by_default_and_agrees(target):
    results, program = run(learning_network(PostPre, target), "numba-cuda", steps=30)
    assert fused_edges(program) == [("X", "H"), ("H", "Y")]
    assert "in this kernel (fuse_learning)" in program.source
    assert "post_pre_term_0__clamped_X_to_H" not in program.source      # no kernel of its own
    reference, _ = run(learning_network(PostPre, target), "torch", steps=30)
    for key in reference:
        torch.testing.assert_close(results[key], reference[key], atol=1e-5, rtol=1e-5, msg=key)


def lowered_fused_edges(network: Network, backend: str = "numba", fuse_learning: bool | None = True):
    """The connections whose terms the pass moved, without emitting any code."""
    ir = record_network(network, input_dtypes={"X": torch.bool})
    lowered, _ = run_pipeline(ir, CompileOptions(backend=backend, fuse_learning=fuse_learning),
                              stop_after="fuse_learning")
    return [edge for op in lowered.graph["schedule"] if op.action == "update"
            for edge in op.detail.get("learning", ())]


def test_the_pass_leaves_alone_what_fusing_would_reorder():
    assert lowered_fused_edges(learning_network()) == [("X", "H"), ("H", "Y")]
    # the backend defaults: numba-cuda fuses, numba does not (measured slower), torch has no loops
    assert lowered_fused_edges(learning_network(), "numba-cuda", None) == [("X", "H"), ("H", "Y")]
    assert lowered_fused_edges(learning_network(), "numba", None) == []
    assert lowered_fused_edges(learning_network(), "torch") == []
    # H updates after Y: H -> Y would read last step's trace of H
    assert lowered_fused_edges(learning_network(layer_order=("X", "Y", "H"))) == [("X", "H")]
    # weight decay runs over every weight between the terms and the clamp
    assert lowered_fused_edges(learning_network(weight_decay=0.1)) == []
    # a batch of 2 sums the samples' terms before adding them
    assert lowered_fused_edges(learning_network(batch_size=2)) == []
    # H -> Y and H -> H share their weights: H -> H's learn phase changes H -> Y's too
    assert lowered_fused_edges(learning_network(shared=True)) == [("X", "H")]
    # a rule whose term is not guarded by a spike
    assert lowered_fused_edges(learning_network(rule=WeightDependentPostPre)) == []
    # learning off: nothing to fuse
    network = learning_network()
    network.train(False)
    assert lowered_fused_edges(network) == []


def test_the_ir_dump_shows_the_fused_terms():
    ir = record_network(learning_network(), input_dtypes={"X": torch.bool})
    lowered, _ = run_pipeline(ir, CompileOptions(backend="numba-cuda"), stop_after="fuse_learning")
    labels = [op.label() for op in lowered.graph["schedule"]]
    assert "update H + terms of X->H" in labels
    assert "learn X->H (its terms run in the update of H)" in labels
    assert "learn H->H" in labels


@pytest.mark.slow
@settings(max_examples=6, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(networks(), st.sampled_from(["post_pre", "hebbian"]))
@example(_recipe("post_pre", False, 5, mcc=True) | {"batch": 1}, "post_pre")
@example(_recipe("hebbian", False, 7) | {"batch": 1}, "hebbian")
def test_random_networks_fused_and_unfused_agree(recipe, rule):
    """Drawn networks at batch 1 with a rule on every traced connection: fused numba is
    bit-identical to unfused numba and agrees with torch (numba-cuda too, simulated)."""
    recipe = recipe | {"batch": 1, "options": recipe["options"] | {"rule": rule, "sparse": False}}
    reference = simulate(recipe, "torch")
    assume(any(value.any() for key, value in reference.items()
               if key.startswith("L") and key.endswith(".s")))
    fused = simulate(recipe, "numba", fuse_learning=True)
    unfused = simulate(recipe, "numba", fuse_learning=False)
    for key in fused:
        assert torch.equal(fused[key], unfused[key]), key
    assert_agree(reference, fused, "numba (fused learning)")
    if SIMULATED:
        assert_agree(reference, simulate(recipe, "numba-cuda"), "numba-cuda (fused learning)")
