"""``Network.reset_state_variables`` in one compiled call (``snnc.runtime.reset``): the
same state as every object's own reset, for every stock model, rule state and
multicompartment connection; in-place and ``.data`` changes seen; a subclass's own
reset still called."""
from __future__ import annotations

import os

import pytest
import torch

from snnc.learning import MSTDPET, PostPre
from snnc.learning.MCC_learning import PostPre as MccPostPre
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.multicompartment import MulticompartmentConnection
from snnc.network.nodes import (CSRMNodes, CurrentLIFNodes, DiehlAndCookNodes, Input, IzhikevichNodes,
                                LIFNodes, McCullochPitts)
from snnc.network.topology import Connection
from snnc.network.topology_features import Weight
from snnc.runtime.reset import ResetPlan, reset_plan

numba_only = pytest.mark.skipif(os.environ.get("SNNC_BACKEND", "numba") != "numba",
                                reason="network.run's program resets through the plan with numba only")

MODELS = {
    "lif": lambda: LIFNodes(4, traces=True, sum_input=True, rest=torch.tensor([-65.0, -64.0, -63.0, -62.0]),
                            thresh=-60.0),
    "mp": lambda: McCullochPitts(4, thresh=0.5),
    "dc": lambda: DiehlAndCookNodes(4, traces=True, thresh=-60.0),
    "current": lambda: CurrentLIFNodes(4, thresh=-60.0),
    "izhikevich": lambda: IzhikevichNodes(4),
    "csrm": lambda: CSRMNodes(4),
}


def zoo(batch: int = 2) -> Network:
    """An input feeding a layer of each kind of initial state (a per-neuron ``rest``,
    none reset, ``theta`` kept, a second variable, a computed ``u``, ``v`` only), with
    rule state (MSTDPET's eligibility) and a multicompartment PostPre, all recorded."""
    torch.manual_seed(0)
    network = Network(batch_size=batch)
    source = Input(6, traces=True)
    network.add_layer(source, "X")
    for name, make in MODELS.items():
        layer = make()
        network.add_layer(layer, name)
        network.add_connection(Connection(source, layer, w=torch.rand(6, 4) * 12), "X", name)
        network.add_monitor(Monitor(layer, ["s"]), name)
    lif, dc = network.layers["lif"], network.layers["dc"]
    rewarded = LIFNodes(4, traces=True, thresh=-60.0)
    network.add_layer(rewarded, "rewarded")
    network.add_connection(Connection(lif, rewarded, w=torch.rand(4, 4) * 20, update_rule=MSTDPET,
                                      nu=(0.01, 0.01)), "lif", "rewarded")
    weight = Weight("w", torch.rand(4, 4) * 10, learning_rule=MccPostPre, nu=(0.01, 0.02),
                    range=[0.0, 10.0])
    network.add_connection(MulticompartmentConnection(dc, lif, pipeline=[weight]), "dc", "lif")
    return network


def feed(steps: int, batch: int = 2, seed: int = 1) -> dict:
    generator = torch.Generator().manual_seed(seed)
    return {"X": (torch.rand(steps, batch, 6, generator=generator) < 0.5).float()}


def every_tensor(network: Network) -> dict:
    found = {}
    for name, layer in network.layers.items():
        for var, value in layer._buffers.items():
            if isinstance(value, torch.Tensor):
                found[(name, var)] = value.clone()
    for key, connection in network.connections.items():
        rule = getattr(connection, "update_rule", None)
        for var, value in getattr(rule, "_state", {}).items():
            found[(key, var)] = value.clone()
        for var, value in connection._buffers.items():
            if isinstance(value, torch.Tensor):
                found[(key, var)] = value.clone()
    return found


def assert_equal_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key


def test_the_compiled_reset_equals_every_objects_own_reset(monkeypatch):
    monkeypatch.setenv("SNNC_BACKEND", "torch")     # the plan does not depend on the backend
    network = zoo()
    for seed in (1, 2):                          # a fresh plan, then one kept across a run
        network.run(feed(30, seed=seed), time=30, reward=0.5)
        plain = network.clone()                  # the same state, and no program: the plain reset
        plan = reset_plan(network) if seed == 1 else plan
        assert plan is not None and plan.valid()
        plan.apply()
        plain.reset_state_variables()
        assert_equal_state(every_tensor(network), every_tensor(plain))
        assert network.layers["lif"].v[1].tolist() == [-65.0, -64.0, -63.0, -62.0]
        assert (network.layers["dc"].theta != 0).any()      # kept: not in its reset_names
        assert (network.layers["izhikevich"].u != 0).all()  # computed: b * rest
        assert len(plan.after) == 1                          # the multicompartment rule's updates


def small(batch: int = 1) -> Network:
    network = Network(batch_size=batch)
    source = Input(3, traces=True)
    layer = LIFNodes(2, traces=True, thresh=-60.0, rest=torch.tensor([-65.0, -64.0]))
    network.add_layer(source, "X")
    network.add_layer(layer, "Y")
    network.add_connection(Connection(source, layer, w=torch.full((3, 2), 4.0), update_rule=MSTDPET,
                                      nu=(0.01, 0.01)), "X", "Y")
    network.add_monitor(Monitor(layer, ["s", "v"]), "Y")
    return network


@numba_only
def test_network_reset_uses_the_plan_and_sees_in_place_and_data_changes():
    network = small(batch=2)
    layer = network.layers["Y"]
    network.run({"X": torch.ones(6, 2, 3)}, time=6, reward=1.0)
    network.reset_state_variables()
    assert isinstance(network._program._reset, ResetPlan)
    assert not network.monitors["Y"].has_data()
    assert (layer.v == torch.tensor([-65.0, -64.0])).all() and not layer.x.any()
    rule_state = network.connections["X", "Y"].update_rule._state
    assert rule_state and not any(value.any() for value in rule_state.values())
    layer.rest.fill_(-61.0)                      # read at every reset
    network.run({"X": torch.ones(6, 2, 3)}, time=6, reward=1.0)
    network.reset_state_variables()
    assert (layer.v == -61.0).all()
    layer.v.data = torch.full_like(layer.v, 5.0)     # new memory, no attribute assignment
    layer.refrac_count.data = torch.full_like(layer.refrac_count, 3.0)
    network.reset_state_variables()
    assert (layer.v == -61.0).all() and (layer.refrac_count == 0).all()


class Remembering(LIFNodes):
    """A layer with its own reset, which the compiled reset must not skip."""

    resets = 0

    def reset_state_variables(self) -> None:
        super().reset_state_variables()
        Remembering.resets += 1
        self.v.fill_(-70.0)


@numba_only
def test_a_layer_with_its_own_reset_keeps_it():
    network = Network()
    source, layer = Input(3), Remembering(2, thresh=-60.0)
    network.add_layer(source, "X")
    network.add_layer(layer, "Y")
    network.add_connection(Connection(source, layer, w=torch.full((3, 2), 4.0)), "X", "Y")
    network.run({"X": torch.ones(5, 3)}, time=5)
    before = Remembering.resets
    network.reset_state_variables()
    network.reset_state_variables()
    assert Remembering.resets == before + 2
    assert (layer.v == -70.0).all()
    assert not isinstance(network._program._reset, ResetPlan)
