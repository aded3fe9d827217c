"""Differential tests: torch (the reference backend), numba and numba-cuda (CUDA
simulator) run the same IR on the same inputs and must agree.

Weights are dyadic (multiples of 1/16), so every sum is exact whatever the order in
which a backend adds it: spikes must be identical and states agree to 1e-5 (1e-3 for
Izhikevich layers, whose intrinsic coupling is not dyadic and whose upswing amplifies
the rounding of its sum). Connections are dense, sparse or feature pipelines
(MulticompartmentConnection: a Mask or a Probability, a learning Weight, a Bias).
(The learning rules — PostPre, Hebbian,
WeightDependentPostPre, MSTDP, MSTDPET, on dense, sparse or pipeline connections — add multiples
of trace values, which are not dyadic; the drawn examples are fixed by ``derandomize``
and were checked to stay clear of a threshold.) A drawn network
whose neurons never spike is redrawn.
"""
from __future__ import annotations

import os

import pytest
import torch
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st

import snnc
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.learning import MSTDP, MSTDPET, Hebbian, PostPre, WeightDependentPostPre
from snnc.conversion import PassThroughNodes, SubtractiveResetIFNodes
from snnc.network.nodes import (AdaptiveLIFNodes, BoostedLIFNodes, CSRMNodes, CurrentLIFNodes,
                                DiehlAndCookNodes, IFNodes, Input, IzhikevichNodes, LIFNodes,
                                McCullochPitts, SRM0Nodes)
from snnc.learning import MCC_learning
from snnc.network.topology import Connection, Conv2dConnection, MulticompartmentConnection, SparseConnection
from snnc.network.topology_features import Bias, Mask, Probability, Weight

SIMULATED = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
BACKENDS = ["torch", "numba"] + (["numba-cuda"] if SIMULATED else [])


RULE_CLASSES = {"post_pre": PostPre, "hebbian": Hebbian, "weight_dependent": WeightDependentPostPre,
                "mstdp": MSTDP, "mstdpet": MSTDPET}
# a feature pipeline learns with the rule's MCC twin (no WeightDependentPostPre there: no rule)
MCC_RULES = {"PostPre": MCC_learning.PostPre, "Hebbian": MCC_learning.Hebbian, "MSTDP": MCC_learning.MSTDP,
             "MSTDPET": MCC_learning.MSTDPET, "WeightDependentPostPre": MCC_learning.NoOp}


def dyadic(shape, generator, low=-16, high=48, scale=16.0) -> torch.Tensor:
    return torch.randint(low, high, shape, generator=generator).float() / scale


# Every neuron model: its class, the arguments that make it active under this harness's
# inputs, and whether it takes refrac / lbound / a per-neuron thresh offset.
MODELS = {
    "lif": (LIFNodes, {"tc_decay": 20.0}, True, True),
    "alif": (AdaptiveLIFNodes, {"tc_decay": 20.0, "theta_plus": 0.5, "tc_theta_decay": 50.0}, True, True),
    "dc": (DiehlAndCookNodes, {"tc_decay": 20.0, "theta_plus": 0.5, "tc_theta_decay": 50.0}, True, True),
    "dc_all": (DiehlAndCookNodes, {"tc_decay": 20.0, "one_spike": False}, True, True),
    "if": (IFNodes, {}, True, True),
    "mp": (McCullochPitts, {"thresh": 2.0}, False, False),
    "boosted": (BoostedLIFNodes, {"thresh": 10.0, "tc_decay": 20.0}, True, False),
    "clif": (CurrentLIFNodes, {"tc_decay": 20.0, "tc_i_decay": 3.0}, True, True),
    "izh": (IzhikevichNodes, {"excitatory": 0.5}, False, True),
    "srm0": (SRM0Nodes, {"thresh": -58.0}, True, True),
    "subif": (SubtractiveResetIFNodes, {"thresh": 4.0, "reset": 0.0}, True, True),
    "pass": (PassThroughNodes, {}, False, False),
    "csrm": (CSRMNodes, {"tau": 2.0, "res_window_size": 4, "ref_window_size": 3, "thresh": -62.0}, False, True),
}

@st.composite
def networks(draw):
    """A recipe (plain data) for a small random network and its inputs."""
    n_inputs = draw(st.integers(1, 2))
    n_lif = draw(st.integers(1, 3))
    layers = [("input", f"X{i}", draw(st.integers(1, 6)), draw(st.booleans()), draw(st.booleans()))
              for i in range(n_inputs)]
    layers += [(draw(st.sampled_from(sorted(MODELS))), f"L{i}", draw(st.integers(1, 6)),
                draw(st.booleans()), draw(st.booleans())) for i in range(n_lif)]
    order = draw(st.permutations(layers))
    names = [layer[1] for layer in order]
    lif_names = [name for name in names if name.startswith("L")]
    edges = set()
    for target in lif_names:
        for source in draw(st.lists(st.sampled_from(names), min_size=1, max_size=3)):
            edges.add((source, target))
    return {
        "layers": order,
        "edges": sorted(edges),
        "batch": draw(st.integers(1, 3)),
        "steps": draw(st.integers(5, 20)),
        "density": draw(st.sampled_from([0.1, 0.3, 0.6])),
        "input_dtype": draw(st.sampled_from([torch.float32, torch.uint8, torch.bool])),
        "options": draw(st.fixed_dictionaries({
            "bias": st.booleans(), "per_neuron_thresh": st.booleans(), "lbound": st.booleans(),
            "refrac": st.sampled_from([0, 1, 2, 5]), "norm": st.booleans(), "dt": st.sampled_from([1.0, 0.5]),
            "weight_decay": st.sampled_from([0.0, 0.5]), "one_step": st.booleans(),
            "rule": st.sampled_from([None, "post_pre", "hebbian", "weight_dependent", "mstdp", "mstdpet"]),
            "sparse": st.booleans(), "mcc": st.booleans(), "clamp": st.sampled_from([None, "clamp", "unclamp"]),
            "per_step_mask": st.booleans(), "inject": st.booleans(), "weight_mask": st.booleans(),
        })),
        "seed": draw(st.integers(0, 2**16)),
    }


def build(recipe) -> tuple[Network, dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(recipe["seed"])
    options = recipe["options"]
    network = Network(dt=options["dt"])
    for kind, name, n, traces, additive in recipe["layers"]:
        if kind == "input":
            layer = Input(n, traces=traces, traces_additive=additive)
        else:
            model, extra, refractory, bounded = MODELS[kind]
            extra = dict(extra)
            if options["per_neuron_thresh"] and "thresh" not in extra and kind not in ("izh", "pass"):
                extra["thresh"] = -52.0 + dyadic((n,), generator, 0, 32, 4.0)
            if refractory:
                extra["refrac"] = options["refrac"]
            if bounded and options["lbound"]:
                extra["lbound"] = -70.0
            if kind == "izh":
                torch.manual_seed(recipe["seed"])          # its random parameters
            layer = model(n, traces=traces, traces_additive=additive, **extra)
        network.add_layer(layer, name)
    for source, target in recipe["edges"]:
        pre, post = network.layers[source], network.layers[target]
        bias = dyadic((post.n,), generator, -8, 8) if options["bias"] else None
        norm = 4.0 if options["norm"] and source == target else None
        decay = options.get("weight_decay", 0.0) if source != target else 0.0
        rule = {}
        name = options.get("rule")
        traced = pre.traces and post.traces
        if name is not None and source != target and (traced or name.startswith("mstdp")):
            rule = {"update_rule": RULE_CLASSES[name], "nu": (0.25, 0.5), "wmin": -4.0, "wmax": 8.0}
        w = dyadic((pre.n, post.n), generator) * 8
        sparse = options.get("sparse") and source != target and type(post).__name__ != "CSRMNodes"
        if sparse:
            w = w * (torch.rand(w.shape, generator=generator) < 0.5)
        if options.get("mcc") and not sparse and type(post).__name__ != "CSRMNodes":
            network.add_connection(multicompartment(pre, post, w, bias, norm, decay, rule, generator),
                                   source, target)
            continue
        kind = SparseConnection if sparse else Connection
        network.add_connection(kind(pre, post, w=w, b=bias, norm=norm, weight_decay=decay, **rule), source, target)
    for name, layer in network.layers.items():
        variables = [var for var in layer.ir_state() if var != "last_spikes"]
        network.add_monitor(Monitor(layer, variables), name)
    inputs = {}
    for kind, name, n, _, _ in recipe["layers"]:
        if kind == "input":
            raster = torch.rand(recipe["steps"], recipe["batch"], n, generator=generator) < recipe["density"]
            inputs[name] = raster.to(recipe["input_dtype"])
    return network, inputs


def multicompartment(pre, post, w, bias, norm, decay, rule, generator) -> MulticompartmentConnection:
    """The drawn connection as a feature pipeline (folded by the ``fuse`` pass): a Mask
    (or a Probability) before the Weight, which learns with the drawn rule's MCC twin, and
    the bias spread over the synapses of each target."""
    gate = torch.rand(w.shape, generator=generator)
    if torch.rand((), generator=generator) < 0.5:
        pipeline = [Mask("m", gate < 0.75)]
    else:
        pipeline = [Probability("p", (gate * 4).floor() / 4)]        # 0, 1/4, 1/2, 3/4
    learns = {}
    if rule:
        learns = dict(learning_rule=MCC_RULES[rule["update_rule"].__name__], nu=rule["nu"],
                      range=[rule["wmin"], rule["wmax"]], decay=decay)
        w = w.clamp(rule["wmin"], rule["wmax"])
    pipeline.append(Weight("w", w, norm=norm, **learns))
    if bias is not None:
        share = torch.zeros(pre.n, post.n)
        share[0] = bias                                        # the whole bias on the first row
        pipeline.append(Bias("b", share))
    return MulticompartmentConnection(pre, post, "cpu", pipeline=pipeline)


def run_options(recipe, network: Network, steps: int) -> dict:
    """The drawn ``run`` masks: a clamp or unclamp and an injected voltage on the first
    model layer, a weight mask on the first connection."""
    options, generator = recipe["options"], torch.Generator().manual_seed(recipe["seed"] + 1)
    found: dict = {}
    layer = next(name for name in network.layers if name.startswith("L"))
    n = network.layers[layer].n
    if options.get("clamp"):
        shape = (steps, n) if options["per_step_mask"] else (n,)
        found[options["clamp"]] = {layer: torch.rand(shape, generator=generator) < 0.3}
    if options.get("inject") and "v" in network.layers[layer].ir_state():
        found["injects_v"] = {layer: dyadic((steps, n), generator, -8, 24, 4.0)}
    key, connection = next(iter(network.connections.items()))
    if options.get("weight_mask") and getattr(connection, "w", None) is not None \
            and connection.w.layout == torch.strided:
        found["masks"] = {key: torch.rand(connection.w.shape, generator=generator) < 0.3}
    if any(type(c.update_rule).__name__.startswith("MSTDP") for c in network.connections.values()):
        found["reward"] = 0.5
    return found


def simulate(recipe, backend: str, **options) -> dict[str, torch.Tensor]:
    network, inputs = build(recipe)
    program = snnc.compile(network, backend=backend, **options)
    steps = recipe["steps"]
    half = steps // 2
    one_step = recipe["options"].get("one_step", False)
    dt = recipe["options"]["dt"]
    masks = {name: run_options(recipe, network, count) for name, count in (("first", half), ("second", steps - half))}
    torch.manual_seed(recipe["seed"])                  # the random numbers of SRM0 and one_spike
    program.run({k: v[:half] for k, v in inputs.items()}, time=half * dt, one_step=one_step, **masks["first"])
    program.run({k: v[half:] for k, v in inputs.items()}, time=(steps - half) * dt, one_step=one_step,
                **masks["second"])
    results = {f"{name}.{var}": monitor.get(var).float()
               for name, monitor in network.monitors.items() for var in monitor.state_vars}
    for (src, tgt), c in network.connections.items():
        w = c.feature_index["w"].dense_value if isinstance(c, MulticompartmentConnection) else c.w
        results[f"{src}->{tgt}.w"] = (w.to_dense() if w.layout != torch.strided else w.data).float().clone()
    return results


def loose_layers(recipe) -> set[str]:
    """Izhikevich layers: their non-dyadic coupling is summed in a backend's own order,
    and the model amplifies the rounding near a spike; states compare to 1e-3."""
    return {name for kind, name, *_ in recipe["layers"] if kind == "izh"}


def assert_agree(reference: dict, other: dict, backend: str, loose: set[str] = frozenset()) -> None:
    assert reference.keys() == other.keys()
    for key in reference:
        expected, actual = reference[key], other[key]
        tolerance = 1e-3 if key.split(".")[0] in loose else 1e-5
        assert expected.shape == actual.shape, f"{backend} {key}: shape"
        binary = bool(((expected == 0) | (expected == 1)).all())
        if key.endswith(".s") and binary:    # PassThroughNodes' real-valued "spikes" compare as states
            assert torch.equal(expected, actual), f"{backend} {key}: spikes differ"
        else:
            torch.testing.assert_close(actual, expected, atol=tolerance, rtol=tolerance,
                                       msg=lambda m: f"{backend} {key}: {m}")


def _recipe(rule: str, sparse: bool, seed: int, mcc: bool = False) -> dict:
    """An explicit recipe: a traced chain with a recurrent layer, learning on sparse or
    dense weights (the drawn ones need not pick every rule and type)."""
    options = dict(bias=True, per_neuron_thresh=False, lbound=False, refrac=2, norm=False, dt=1.0,
                   weight_decay=0.0, one_step=False, rule=rule, sparse=sparse, mcc=mcc, clamp=None,
                   per_step_mask=False, inject=False, weight_mask=False)
    layers = [("input", "X0", 6, True, False), ("lif", "L0", 5, True, False), ("alif", "L1", 4, True, True)]
    return {"layers": layers, "edges": [("L0", "L1"), ("L1", "L1"), ("X0", "L0")], "batch": 2, "steps": 16,
            "density": 0.5, "input_dtype": torch.bool, "options": options, "seed": seed}


@settings(max_examples=4, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(networks())
@example(_recipe("mstdp", True, 3))
@example(_recipe("post_pre", False, 5, mcc=True))
def test_backends_agree_on_random_networks(recipe):
    reference = simulate(recipe, "torch")
    assume(any(value.any() for key, value in reference.items()
               if key.startswith("L") and key.endswith(".s")))     # a silent network proves nothing
    for backend in BACKENDS[1:]:
        assert_agree(reference, simulate(recipe, backend), backend, loose_layers(recipe))


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_every_model_agrees_with_every_run_option(kind):
    """Each model once, with traces, learning, a recurrent connection and every run mask
    (a clamp for half the models, a per-step unclamp for the others)."""
    clamp = "clamp" if sorted(MODELS).index(kind) % 2 else "unclamp"
    recipe = {
        "layers": [("input", "X0", 4, True, False), (kind, "L0", 5, True, clamp == "clamp")],
        "edges": [("X0", "L0")] + ([] if kind == "pass" else [("L0", "L0")]),   # pass: no runaway loop
        "batch": 2, "steps": 16, "density": 0.4, "input_dtype": torch.float32, "seed": 11,
        "options": {"bias": True, "per_neuron_thresh": True, "lbound": True, "refrac": 2, "norm": True,
                    "dt": 1.0, "weight_decay": 0.0, "one_step": False, "post_pre": True, "clamp": clamp,
                    "per_step_mask": clamp == "unclamp", "inject": True, "weight_mask": True},
    }
    reference = simulate(recipe, "torch")
    assert reference["L0.s"].any() and not reference["L0.s"].all(), f"{kind}: not a useful comparison"
    for backend in BACKENDS[1:]:
        assert_agree(reference, simulate(recipe, backend), f"{backend}/{kind}", loose_layers(recipe))


@pytest.mark.parametrize("storage", ["csr", "float16", pytest.param("csr:bfloat16", marks=pytest.mark.slow)])
def test_backends_agree_with_storage_overrides(storage):
    recipe = {
        "layers": [("input", "X0", 64, True, False), ("lif", "L0", 70, True, True)],
        "edges": [("X0", "L0"), ("L0", "L0")], "batch": 2, "steps": 12, "density": 0.3,
        "input_dtype": torch.uint8, "seed": 7,
        "options": {"bias": True, "per_neuron_thresh": True, "lbound": False, "refrac": 2,
                    "norm": False, "dt": 1.0},
    }
    overrides = {"storage": {"X0->L0": storage, "L0->L0": storage}}
    reference = simulate(recipe, "torch")
    for backend in BACKENDS:
        assert_agree(reference, simulate(recipe, backend, **overrides), f"{backend}/{storage}")


def test_event_and_matmul_propagation_agree_on_torch():
    recipe = {
        "layers": [("input", "X0", 40, False, False), ("lif", "L0", 50, True, False)],
        "edges": [("X0", "L0"), ("L0", "L0")], "batch": 3, "steps": 15, "density": 0.2,
        "input_dtype": torch.bool, "seed": 3,
        "options": {"bias": False, "per_neuron_thresh": False, "lbound": False, "refrac": 1,
                    "norm": True, "dt": 1.0},
    }
    event = simulate(recipe, "torch", propagation={"X0->L0": "event", "L0->L0": "event"})
    matmul = simulate(recipe, "torch", propagation={"X0->L0": "matmul", "L0->L0": "matmul"})
    assert_agree(matmul, event, "torch/event")


def test_parallel_rows_agree_with_torch():
    """A wide connection at batch 1 splits its active rows between the cores."""
    recipe = {
        "layers": [("input", "X0", 800, False, False), ("lif", "L0", 700, True, False)],
        "edges": [("X0", "L0")], "batch": 1, "steps": 20, "density": 0.3,
        "input_dtype": torch.uint8, "seed": 5,
        "options": {"bias": True, "per_neuron_thresh": True, "lbound": False, "refrac": 2,
                    "norm": False, "dt": 1.0},
    }
    network, _ = build(recipe)
    program = snnc.compile(network, backend="numba", activity=1.0, threads=2)
    program.compile_for({"X0": torch.uint8})
    assert program.ir.graph["loop_nest"]["parallel_rows"] == ["X0->L0"]
    assert_agree(simulate(recipe, "torch"), simulate(recipe, "numba", activity=1.0, threads=2), "numba")
    single = snnc.compile(build(recipe)[0], backend="numba", activity=1.0, threads=1)
    single.compile_for({"X0": torch.uint8})
    assert single.ir.graph["loop_nest"]["parallel_rows"] == []       # one thread: nothing to split


@pytest.mark.parametrize("backend", BACKENDS[1:])
def test_multidimensional_layers(backend):
    """Layers shaped [4, 5] and [2, 3, 2]: flattened buffers, monitors shaped back."""
    def run(name: str):
        generator = torch.Generator().manual_seed(2)
        network = Network()
        x, y = Input(shape=[4, 5], traces=True), LIFNodes(shape=[2, 3, 2], thresh=-60.0)
        network.add_layer(x, "X")
        network.add_layer(y, "Y")
        network.add_connection(Connection(x, y, w=dyadic((20, 12), generator) * 4), "X", "Y")
        network.add_monitor(Monitor(y, ("s", "v")), "Y")
        network.add_monitor(Monitor(x, ("x",)), "X")
        spikes = torch.rand(15, 2, 4, 5, generator=generator) < 0.4
        snnc.compile(network, backend=name).run({"X": spikes}, time=15)
        return {var: network.monitors[m].get(var) for m, var in (("Y", "s"), ("Y", "v"), ("X", "x"))}
    reference, other = run("torch"), run(backend)
    assert reference["s"].shape == (15, 2, 2, 3, 2) and reference["x"].shape == (15, 2, 4, 5)
    assert torch.equal(reference["s"], other["s"]) and reference["s"].any()
    torch.testing.assert_close(other["v"], reference["v"], atol=1e-5, rtol=0)
    torch.testing.assert_close(other["x"], reference["x"], atol=1e-6, rtol=0)


@st.composite
def conv_networks(draw):
    """A recipe for Input [C, H, W] -> Conv2d -> adaptive or plain LIF [O, OH, OW]."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    dilation = (draw(st.integers(1, 2)), 1)
    size = (draw(st.integers(4, 7)), draw(st.integers(4, 7)))
    return {"channels": draw(st.integers(1, 2)), "filters": draw(st.integers(1, 3)), "size": size,
            "kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation,
            "adaptive": draw(st.booleans()), "post_pre": draw(st.booleans()), "norm": draw(st.booleans()),
            "batch": draw(st.integers(1, 2)), "seed": draw(st.integers(0, 2**16))}


def simulate_conv(recipe, backend: str, steps: int = 10, **options) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(recipe["seed"])
    (h, w), (kh, kw) = recipe["size"], recipe["kernel"]
    out = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in
           zip((h, w), (kh, kw), recipe["stride"], recipe["padding"], recipe["dilation"])]
    network = Network()
    x = Input(shape=[recipe["channels"], h, w], traces=True)
    model = AdaptiveLIFNodes if recipe["adaptive"] else LIFNodes
    y = model(shape=[recipe["filters"], *out], traces=True, thresh=-60.0)
    network.add_layer(x, "X")
    network.add_layer(y, "Y")
    rule = {"update_rule": PostPre, "nu": (0.25, 0.5), "wmin": -2.0, "wmax": 6.0} if recipe["post_pre"] else {}
    weights = dyadic((recipe["filters"], recipe["channels"], kh, kw), generator, -8, 40, 8.0)
    connection = Conv2dConnection(x, y, (kh, kw), stride=recipe["stride"], padding=recipe["padding"],
                                  dilation=recipe["dilation"], w=weights,
                                  b=dyadic((recipe["filters"],), generator, -4, 4),
                                  norm=6.0 if recipe["norm"] else None, **rule)
    network.add_connection(connection, "X", "Y")
    network.add_monitor(Monitor(y, ["s", "v"]), "Y")
    raster = torch.rand(steps, recipe["batch"], recipe["channels"], h, w, generator=generator) < 0.4
    snnc.compile(network, backend=backend, **options).run({"X": raster}, time=steps)
    return {"Y.s": network.monitors["Y"].get("s").float(), "Y.v": network.monitors["Y"].get("v"),
            "w": connection.w.data.clone()}


@settings(max_examples=5, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(conv_networks())
def test_backends_agree_on_random_conv_networks(recipe):
    reference = simulate_conv(recipe, "torch")
    assume(reference["Y.s"].any())
    for backend in BACKENDS[1:]:
        assert_agree(reference, simulate_conv(recipe, backend), backend)
