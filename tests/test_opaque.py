"""Opaque ops: user subclasses with their own ``forward`` / ``compute`` run their own
Python code in the torch backend (never compiled as their parent class), checked
against plain torch loops written from the spec; ``auto`` says so in a log line."""
from __future__ import annotations

import logging
import math

import pytest
import torch

import snnc
from snnc.errors import SnncError
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import CSRMNodes, Input, IzhikevichNodes, LIFNodes, Nodes
from snnc.network.topology import AbstractConnection, Connection


class DoubledLIF(LIFNodes):
    """LIF neurons that see twice their input."""

    def forward(self, x):
        super().forward(2.0 * x)


class Threshold(Nodes):
    """Spikes wherever the input reaches ``thresh``; traces from the base step."""

    def __init__(self, n, thresh=1.0, **kwargs):
        super().__init__(n=n, **kwargs)
        self.thresh = thresh

    def forward(self, x):
        self.s = x >= self.thresh
        super().forward(x)


class SummedInput(AbstractConnection):
    """Every target neuron receives ``scale`` times the number of source spikes."""

    def __init__(self, source, target, scale=3.0):
        super().__init__(source, target)
        self.scale = scale

    def compute(self, s):
        return self.scale * s.float().sum(dim=1, keepdim=True).expand(-1, self.target.n)


class LIFSubclass(LIFNodes):
    """No step of its own: compiled as LIF."""


def network(hidden=DoubledLIF) -> Network:
    net = Network()
    a, b, c = Input(3), hidden(4, traces=True), Threshold(2, traces=True)
    net.add_layer(a, "A")
    net.add_layer(b, "B")
    net.add_layer(c, "C")
    net.add_connection(Connection(a, b, w=torch.full((3, 4), 4.0)), "A", "B")
    net.add_connection(SummedInput(b, c), "B", "C")
    net.add_monitor(Monitor(b, ("s", "v", "x")), "B")
    net.add_monitor(Monitor(c, ("s", "x")), "C")
    return net


def plain_loop(spikes: torch.Tensor, gain: float) -> dict[str, torch.Tensor]:
    """Spec 2.4 / 3.0 / 3.4 with B's input scaled by ``gain`` and C as above."""
    decay, trace_decay = math.exp(-1 / 100), math.exp(-1 / 20)
    v, refrac = torch.full((4,), -65.0), torch.zeros(4)
    s_b, x_b = torch.zeros(4, dtype=torch.bool), torch.zeros(4)
    s_c, x_c = torch.zeros(2, dtype=torch.bool), torch.zeros(2)
    s_a = torch.zeros(3)
    out = {k: [] for k in ("B.s", "B.v", "B.x", "C.s", "C.x")}
    for t in range(len(spikes)):
        into_b = s_a @ torch.full((3, 4), 4.0) * gain
        into_c = 3.0 * s_b.float().sum().expand(2)
        s_a = spikes[t]
        v = (v + 65.0) * decay - 65.0
        into_b = torch.where(refrac > 0, 0.0, into_b)
        refrac = refrac - 1.0
        v = v + into_b
        s_b = v >= -52.0
        refrac = torch.where(s_b, 5.0, refrac)
        v = torch.where(s_b, -65.0, v)
        x_b = torch.where(s_b, 1.0, x_b * trace_decay)
        s_c = into_c >= 1.0
        x_c = torch.where(s_c, 1.0, x_c * trace_decay)
        for key, value in (("B.s", s_b), ("B.v", v), ("B.x", x_b), ("C.s", s_c), ("C.x", x_c)):
            out[key].append(value.clone())
    return {k: torch.stack(v) for k, v in out.items()}


def recorded(net: Network) -> dict[str, torch.Tensor]:
    return {f"{m}.{var}": net.monitors[m].get(var)[:, 0] for m in ("B", "C")
            for var in net.monitors[m].state_vars}


SPIKES = (torch.rand(25, 3, generator=torch.Generator().manual_seed(0)) < 0.5).float()


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_opaque_layers_and_connection_run_their_own_code(backend):
    net = network()
    snnc.compile(net, backend=backend).run({"A": SPIKES}, time=25)
    expected = plain_loop(SPIKES, gain=2.0)
    got = recorded(net)
    assert got["B.s"].any() and got["C.s"].any()
    for key in expected:
        torch.testing.assert_close(got[key].float(), expected[key].float(), atol=1e-5, rtol=0, msg=key)
    plain = plain_loop(SPIKES, gain=1.0)
    assert not torch.equal(plain["B.v"], expected["B.v"])      # the doubling mattered


def test_a_subclass_without_its_own_step_is_compiled_as_its_parent():
    net = network(hidden=LIFSubclass)
    program = snnc.compile(net, backend="torch")
    program.run({"A": SPIKES}, time=25)
    assert program.ir.nodes["B"]["op"] == "lif" and program.ir.nodes["C"]["op"] == "opaque_nodes"
    torch.testing.assert_close(recorded(net)["B.v"], plain_loop(SPIKES, gain=1.0)["B.v"], atol=1e-5, rtol=0)


def test_compiled_backends_refuse_opaque_ops_and_auto_says_why(caplog):
    with pytest.raises(SnncError, match=r"layer 'B' \(DoubledLIF\).*use backend='torch'"):
        snnc.compile(network(), backend="numba")
    with caplog.at_level(logging.INFO, logger="snnc"):
        program = snnc.compile(network(), backend="auto")
    assert program.backend == "torch"
    assert any("opaque" in record.getMessage() for record in caplog.records)


def test_eager_compute_and_update_use_the_compiled_definitions():
    """``super().compute(s)`` / ``super().update()`` reach the same nests the compiler renders."""
    net = Network()
    x, y = Input(3, traces=True), LIFNodes(2, traces=True)
    net.add_layer(x, "X")
    net.add_layer(y, "Y")
    w = torch.tensor([[1.0, -2.0], [0.5, 4.0], [3.0, 0.25]])
    connection = Connection(x, y, w=w, b=torch.tensor([0.5, -1.0]), weight_decay=0.5)
    net.add_connection(connection, "X", "Y")
    s = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    assert torch.equal(connection.compute(s), s @ w + torch.tensor([0.5, -1.0]))
    connection.update(learning=True)
    assert torch.equal(connection.w.data, w * 0.5)
    connection.update(learning=False)
    assert torch.equal(connection.w.data, w * 0.5)


def test_run_masks_for_an_opaque_layer_are_refused():
    """Its own forward decides its spikes; snnc cannot apply a clamp inside it."""
    net = network()
    with pytest.raises(SnncError, match="'B'.*its own forward"):
        net.run({"A": torch.ones(3, 3)}, time=3, clamp={"B": torch.tensor([True, False, False, False])})


class GuideStyleIF(Nodes):
    """A custom model as the seed guide describes one: ``forward``,
    ``reset_state_variables`` and ``_compute_decays`` (leaky integrate, reset to 0)."""

    def __init__(self, n, thresh=2.0, tc=10.0, **kwargs):
        super().__init__(n=n, **kwargs)
        self.thresh, self.tc = thresh, tc
        self.register_buffer("v", torch.zeros(0))

    def _compute_decays(self):
        self.decay = math.exp(-self.dt / self.tc)

    def set_batch_size(self, batch_size):
        super().set_batch_size(batch_size)
        self.v = torch.zeros(batch_size, *self.shape)

    def forward(self, x):
        self.v *= self.decay
        self.v += x
        self.s = self.v >= self.thresh
        self.v.masked_fill_(self.s, 0.0)
        super().forward(x)

    def reset_state_variables(self):
        super().reset_state_variables()
        self.v.zero_()


def test_a_guide_style_custom_model_runs_unchanged():
    """The compiled run equals a plain loop of the same equations; its own ``v`` is
    monitorable; a reset goes through its own ``reset_state_variables``."""
    net = Network(dt=0.5)
    source, custom = Input(3), GuideStyleIF(2, traces=True)
    net.add_layer(source, "A")
    net.add_layer(custom, "C")
    w = torch.tensor([[1.5, 0.5], [0.5, 1.0], [1.0, 0.25]])
    net.add_connection(Connection(source, custom, w=w), "A", "C")
    monitor = Monitor(custom, ["s", "v", "x"])
    net.add_monitor(monitor, "C")
    spikes = (torch.rand(20, 3, generator=torch.Generator().manual_seed(4)) < 0.5).float()
    net.run({"A": spikes}, time=10.0)
    decay, trace_decay = math.exp(-0.5 / 10.0), math.exp(-0.5 / 20.0)
    v, x, previous = torch.zeros(2), torch.zeros(2), torch.zeros(3)
    for t in range(20):
        v = v * decay + previous @ w
        s = v >= 2.0
        v = torch.where(s, torch.zeros(2), v)
        x = torch.where(s, torch.ones(2), x * trace_decay)
        previous = spikes[t]
        assert torch.equal(monitor.get("s")[t, 0], s), t
        assert torch.allclose(monitor.get("v")[t, 0], v, atol=1e-5)
        assert torch.allclose(monitor.get("x")[t, 0], x, atol=1e-5)
    assert monitor.get("s").any()
    net.reset_state_variables()
    assert not custom.v.any() and not custom.s.any()


class ComputeOnly(Connection):
    """A connection with its own compute (opaque): its update is the inherited one."""

    def compute(self, s):
        return super().compute(s)


def test_weight_masks_reach_an_opaque_connections_update():
    """Spec 2.4.3: update(mask=...) every step; the inherited update zeroes w[mask]."""
    net = Network()
    a, b = Input(2), LIFNodes(2)
    net.add_layer(a, "X")
    net.add_layer(b, "Y")
    net.add_connection(ComputeOnly(a, b, w=torch.ones(2, 2)), "X", "Y")
    mask = torch.tensor([[True, False], [False, False]])
    net.run({"X": torch.ones(3, 2)}, time=3, masks={("X", "Y"): mask})
    assert net.connections[("X", "Y")].w.tolist() == [[0.0, 1.0], [1.0, 1.0]]


class OwnIzhikevich(IzhikevichNodes):
    def forward(self, x):
        super().forward(x)


class OwnCSRM(CSRMNodes):
    def forward(self, x):
        super().forward(x)


def test_super_forward_runs_the_models_own_nests_and_windows():
    """An Izhikevich subclass keeps the intrinsic coupling (spec 3.9 step 2): it steps
    like the compiled class; a CSRM subclass's window state steps too."""
    voltages = []
    for cls in (IzhikevichNodes, OwnIzhikevich):
        torch.manual_seed(0)
        net = Network()
        net.add_layer(Input(4), "X")
        net.add_layer(cls(4, excitatory=0.5), "Y")
        net.add_connection(Connection(net.layers["X"], net.layers["Y"], w=torch.full((4, 4), 6.0)), "X", "Y")
        net.add_monitor(Monitor(net.layers["Y"], ["v"]), "m")
        drive = torch.zeros(30, 4)
        drive[:, 0] = 1
        net.run({"X": drive, "Y": torch.full((30, 4), 3.0)}, time=30)
        voltages.append(net.monitors["m"].get("v"))
    torch.testing.assert_close(voltages[1], voltages[0], atol=1e-4, rtol=1e-5)
    net = Network()
    net.add_layer(Input(4), "X")
    net.add_layer(OwnCSRM(3), "Y")
    net.add_connection(Connection(net.layers["X"], net.layers["Y"], w=torch.full((4, 3), 2.0)), "X", "Y")
    net.run({"X": torch.ones(5, 4)}, time=5)
    assert net.layers["Y"].last_spikes.shape == (1, 10, 3)
