"""Fast repeated runs: after the first call, ``run`` neither records the IR nor binds
arguments again, and every change a user can make still takes effect."""
from __future__ import annotations

import torch

import snnc.runtime.program as program_module
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import AdaptiveLIFNodes, Input, LIFNodes
from snnc.network.topology import Connection


def adaptive_network() -> Network:
    net = Network()
    x, y = Input(4), AdaptiveLIFNodes(3, theta_plus=1.0)
    net.add_layer(x, "X")
    net.add_layer(y, "Y")
    net.add_connection(Connection(x, y, w=torch.full((4, 3), 8.0)), "X", "Y")
    net.add_monitor(Monitor(y, ("s", "v")), "Y")
    return net


def count_records(monkeypatch) -> list:
    calls = []
    real = program_module.record_network

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(program_module, "record_network", counting)
    return calls


SAMPLE = (torch.rand(25, 4, generator=torch.Generator().manual_seed(0)) < 0.5).to(torch.uint8)


def test_repeated_runs_reuse_the_binding(monkeypatch):
    net = adaptive_network()
    net.run({"X": SAMPLE}, time=25)
    calls = count_records(monkeypatch)
    for _ in range(5):
        net.reset_state_variables()
        net.run({"X": SAMPLE}, time=25)
    assert calls == []


def test_the_loop_gives_what_fresh_programs_give():
    looped, fresh = adaptive_network(), adaptive_network()
    for k in range(4):
        sample = SAMPLE.roll(k, dims=0)
        looped.run({"X": sample}, time=25)
        spikes = looped.monitors["Y"].get("s").clone()
        looped.reset_state_variables()
        fresh._program = None                               # a new program every time
        fresh.run({"X": sample}, time=25)
        assert torch.equal(spikes, fresh.monitors["Y"].get("s"))
        fresh.reset_state_variables()
    assert torch.equal(looped.layers["Y"].theta, fresh.layers["Y"].theta)
    assert looped.layers["Y"].theta.sum() > 0


def test_every_change_rebinds(monkeypatch):
    net = adaptive_network()
    net.run({"X": SAMPLE}, time=25)
    calls = count_records(monkeypatch)

    net.train(False)                                        # theta frozen from now on
    theta = net.layers["Y"].theta.clone()
    net.run({"X": SAMPLE}, time=25)
    assert len(calls) == 1 and torch.equal(net.layers["Y"].theta, theta)

    net.run({"X": SAMPLE.bool()}, time=25)                  # a new input dtype
    assert len(calls) == 2

    net.run({"X": SAMPLE[:, None].expand(-1, 3, -1)}, time=25)   # a new batch size
    assert len(calls) == 3 and net.monitors["Y"].get("s").shape[1] == 3

    extra = LIFNodes(2)
    net.add_layer(extra, "Z")                               # a new layer
    net.add_connection(Connection(net.layers["Y"], extra, w=torch.full((3, 2), 30.0)), "Y", "Z")
    net.add_monitor(Monitor(extra, ("s",)), "Z")
    net.run({"X": SAMPLE[:, None].expand(-1, 3, -1)}, time=25)
    assert len(calls) == 4 and net.monitors["Z"].get("s").any()

    net.connections[("X", "Y")].w = torch.nn.Parameter(torch.zeros(4, 3), requires_grad=False)
    net.reset_state_variables()
    net.run({"X": SAMPLE[:, None].expand(-1, 3, -1)}, time=25)    # a new weight tensor
    assert len(calls) == 5 and not net.monitors["Y"].get("s").any()


def test_in_place_change_of_a_derived_parameter_rebinds(monkeypatch):
    """``decay = exp(-dt / tc_decay)`` is derived: an in-place ``fill_`` must reach it."""
    net = Network()
    layer = LIFNodes(2, thresh=100.0)
    net.add_layer(layer, "N")
    net.add_monitor(Monitor(layer, ("v",)), "N")
    drive = torch.full((10, 2), 2.0)
    net.run({"N": drive}, time=10)
    slow = net.monitors["N"].get("v").clone()
    calls = count_records(monkeypatch)
    layer.tc_decay.fill_(2.0)
    net.reset_state_variables()
    net.run({"N": drive}, time=10)
    fast = net.monitors["N"].get("v")
    assert len(calls) == 1
    torch.testing.assert_close(fast[0, 0], torch.full((2,), -63.0))
    assert (fast[-1] < slow[-1]).all()                       # a faster leak settles lower


def wide_network() -> Network:
    """Input(20) -> LIF(10) with weights large enough (more than 16 of them) that any
    input spike makes every neuron fire."""
    net = Network()
    x, y = Input(20), LIFNodes(10)
    net.add_layer(x, "X")
    net.add_layer(y, "Y")
    net.add_connection(Connection(x, y, w=torch.full((20, 10), 4.0)), "X", "Y")
    net.add_monitor(Monitor(y, ("s",)), "Y")
    return net


def test_in_place_weight_changes_need_no_rebind(monkeypatch):
    """The run reads ``w`` itself (zero-copy), so even a change through ``.data`` is seen."""
    net = wide_network()
    spikes = SAMPLE.repeat(1, 5)
    net.run({"X": spikes}, time=25)
    assert net.monitors["Y"].get("s").any()
    calls = count_records(monkeypatch)
    net.connections[("X", "Y")].w.data.zero_()
    net.reset_state_variables()
    net.run({"X": spikes}, time=25)
    assert calls == [] and not net.monitors["Y"].get("s").any()


def test_moving_the_weight_memory_rebinds(monkeypatch):
    net = wide_network()
    spikes = torch.ones(5, 20)
    net.run({"X": spikes}, time=5)
    assert net.monitors["Y"].get("s").any()
    calls = count_records(monkeypatch)
    net.connections["X", "Y"].w.data = torch.zeros(20, 10)     # new memory behind the same Parameter
    net.reset_state_variables()
    net.run({"X": spikes}, time=5)
    assert len(calls) == 1 and not net.monitors["Y"].get("s").any()
