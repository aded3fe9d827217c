"""snnc against BindsNET 0.3.4 itself, on the same networks and inputs.

Optional: skipped unless ``bindsnet`` is importable (see README: "BindsNET as an
oracle"). With a CPU torch its import needs torchvision's ``nms``/``qnms`` operator
schemas, which this module defines first.
"""
from __future__ import annotations

import random

import pytest
import torch

import snnc
from snnc.network import Network as SnncNetwork
from snnc.network.monitors import Monitor as SnncMonitor
from snnc.network.nodes import Input as SnncInput
from snnc.network.nodes import LIFNodes as SnncLIF
from snnc.network.topology import Connection as SnncConnection


from oracle_support import import_bindsnet  # noqa: E402

bindsnet = import_bindsnet()
from bindsnet.network import Network as BNetwork  # noqa: E402
from bindsnet.network.monitors import Monitor as BMonitor  # noqa: E402
from bindsnet.network.nodes import Input as BInput  # noqa: E402
from bindsnet.network.nodes import LIFNodes as BLIF  # noqa: E402
from bindsnet.network.topology import Connection as BConnection  # noqa: E402

SNNC = dict(Network=SnncNetwork, Input=SnncInput, LIF=SnncLIF, Connection=SnncConnection, Monitor=SnncMonitor)
BINDSNET = dict(Network=BNetwork, Input=BInput, LIF=BLIF, Connection=BConnection, Monitor=BMonitor)


def recipe(seed: int) -> dict:
    """Plain data for a random network that both libraries build identically."""
    rng = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    n_lif = rng.randint(1, 3)
    layers = [("X", "input", rng.randint(3, 30), rng.random() < 0.5, rng.random() < 0.5)]
    layers += [(f"L{i}", "lif", rng.randint(2, 40), rng.random() < 0.5, rng.random() < 0.5) for i in range(n_lif)]
    edges = [("X", "L0")] + [(rng.choice([name for name, *_ in layers]), f"L{i}")
                             for i in range(n_lif) for _ in range(rng.randint(0, 2))]
    edges = list(dict.fromkeys(edges))
    sizes = {name: n for name, _, n, _, _ in layers}
    weights = {edge: (torch.rand(sizes[edge[0]], sizes[edge[1]], generator=generator) - 0.3) * 15
               for edge in edges}
    batch = rng.choice([1, 1, 3])
    steps = 100
    return {
        "layers": layers, "edges": edges, "weights": weights, "batch": batch, "steps": steps,
        "dt": rng.choice([1.0, 0.5]), "refrac": rng.choice([0, 2, 5]), "tc_decay": rng.choice([20.0, 100.0]),
        "thresh": -52.0 + torch.rand(sizes["L0"], generator=generator) * 4,
        "lbound": rng.choice([None, -70.0]), "bias": rng.random() < 0.3,
        "norm": rng.choice([None, 10.0]), "weight_decay": rng.choice([0.0, 0.0, 0.01]),
        "one_step": rng.random() < 0.3,
        "input": (torch.rand(steps, batch, sizes["X"], generator=generator) < 0.3).float(),
    }


def build(api: dict, spec: dict):
    network = api["Network"](dt=spec["dt"], batch_size=spec["batch"])
    for name, kind, n, traces, additive in spec["layers"]:
        if kind == "input":
            layer = api["Input"](n=n, traces=traces, traces_additive=additive)
        else:
            thresh = spec["thresh"] if name == "L0" else -52.0
            layer = api["LIF"](n=n, traces=traces, traces_additive=additive, thresh=thresh,
                               refrac=spec["refrac"], tc_decay=spec["tc_decay"], lbound=spec["lbound"])
        network.add_layer(layer, name=name)
    for (source, target), w in spec["weights"].items():
        kwargs = {"w": w.clone(), "norm": spec["norm"] if source == target else None,
                  "weight_decay": spec["weight_decay"]}
        if spec["bias"]:
            kwargs["b"] = torch.linspace(-1, 1, w.shape[1])
        connection = api["Connection"](source=network.layers[source], target=network.layers[target], **kwargs)
        network.add_connection(connection, source=source, target=target)
    for name, kind, *_ in spec["layers"]:
        variables = ("s", "v", "refrac_count") if kind == "lif" else ("s",)
        if network.layers[name].traces:
            variables += ("x",)
        network.add_monitor(api["Monitor"](network.layers[name], variables, time=spec["steps"]), name=name)
    return network


def simulate(api: dict, spec: dict, **compile_options) -> dict[str, torch.Tensor]:
    network = build(api, spec)
    inputs = {"X": spec["input"].clone()}
    time = spec["steps"] * spec["dt"]
    if api is SNNC:
        snnc.compile(network, **compile_options).run(inputs, time=time, one_step=spec["one_step"])
    else:
        network.run(inputs, time=time, one_step=spec["one_step"])
    results = {f"{name}.{var}": monitor.get(var).float()
               for name, monitor in network.monitors.items() for var in monitor.state_vars}
    results.update({f"{s}->{t}.w": c.w.detach().float().clone() for (s, t), c in network.connections.items()})
    return results


def compare(expected: dict, actual: dict, label: str) -> None:
    assert expected.keys() == actual.keys()
    for key in expected:
        if key.endswith(".s"):
            assert torch.equal(expected[key], actual[key]), f"{label} {key}: spikes differ"
        else:
            torch.testing.assert_close(actual[key], expected[key], atol=1e-4, rtol=1e-5,
                                       msg=lambda m: f"{label} {key}: {m}")


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(12))
def test_random_networks_match_bindsnet(seed):
    spec = recipe(seed)
    expected = simulate(BINDSNET, spec)
    compare(expected, simulate(SNNC, spec, backend="torch"), "torch")
    compare(expected, simulate(SNNC, spec, backend="numba"), "numba")


@pytest.mark.oracle
def test_guide_network_matches_bindsnet():
    torch.manual_seed(0)
    w_in = 0.05 + 0.1 * torch.randn(100, 1000)
    w_rec = 0.025 * (torch.eye(1000) - 1)
    spikes = torch.bernoulli(0.1 * torch.ones(500, 100)).byte()
    recordings = {}
    for label, api in (("bindsnet", BINDSNET), ("snnc", SNNC)):
        network = api["Network"]()
        a, b = api["Input"](n=100), api["LIF"](n=1000)
        network.add_layer(a, name="A")
        network.add_layer(b, name="B")
        network.add_connection(api["Connection"](source=a, target=b, w=w_in.clone()), source="A", target="B")
        network.add_connection(api["Connection"](source=b, target=b, w=w_rec.clone()), source="B", target="B")
        network.add_monitor(api["Monitor"](b, ("s", "v"), time=500), name="B")
        network.run({"A": spikes.clone()}, time=500)
        recordings[label] = (network.monitors["B"].get("s"), network.monitors["B"].get("v"))
    assert torch.equal(recordings["bindsnet"][0], recordings["snnc"][0])
    torch.testing.assert_close(recordings["snnc"][1], recordings["bindsnet"][1], atol=1e-4, rtol=1e-5)
