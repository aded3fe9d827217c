"""Cases a review found: values that decide code (CSR sizes, finite bounds), 16-bit
weights that learn, opaque connections that inherit ``update``,
monitors on scalar parameters, and ``auto`` meeting an op only torch runs."""
from __future__ import annotations

import logging

import pytest
import torch

import snnc
from snnc.learning import PostPre
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection
from tests.test_backends import BACKENDS


def sparse(n_in: int, n_out: int, density: float, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    mask = torch.rand(n_in, n_out, generator=generator) < density
    return torch.where(mask, torch.full((n_in, n_out), 6.0), torch.zeros(()))


@pytest.mark.parametrize("backend", BACKENDS)
def test_csr_code_does_not_depend_on_the_number_of_stored_weights(backend):
    """A new, denser weight tensor reuses the CSR code (same key) and every synapse counts."""
    net = Network()
    x, y = Input(100), LIFNodes(60, thresh=1000.0)
    net.add_layer(x, "X")
    net.add_layer(y, "Y")
    net.add_connection(Connection(x, y, w=sparse(100, 60, 0.03, 0)), "X", "Y")
    net.add_monitor(Monitor(y, ("v",)), "Y")
    program = snnc.compile(net, backend=backend)
    spikes = (torch.rand(4, 100, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    program.run({"X": spikes}, time=4)
    assert program.ir.edges["X", "Y"]["storage"]["format"] == "csr"
    denser = sparse(100, 60, 0.08, 2)
    net.connections["X", "Y"].w = torch.nn.Parameter(denser, requires_grad=False)
    net.reset_state_variables()
    program.run({"X": spikes}, time=4)
    assert program.ir.edges["X", "Y"]["storage"]["format"] == "csr"
    expected = -65.0 + spikes[0] @ denser         # step 1 holds the spikes of step 0, from rest
    torch.testing.assert_close(net.monitors["Y"].get("v")[1, 0], expected, atol=1e-4, rtol=0)


def test_sixteen_bit_weights_learn_in_place_on_torch():
    net = Network()
    x, y = Input(2), LIFNodes(2)
    net.add_layer(x, "X")
    net.add_layer(y, "Y")
    connection = Connection(x, y, w=torch.full((2, 2), 4.0), w_dtype=torch.bfloat16, weight_decay=0.5)
    net.add_connection(connection, "X", "Y")
    net.run({"X": torch.zeros(3, 2)}, time=3)     # auto: numba cannot update bf16 weights
    assert net._program.backend == "torch"
    assert connection.w.dtype == torch.bfloat16 and torch.equal(connection.w.float(), torch.full((2, 2), 0.5))


@pytest.mark.parametrize("backend", BACKENDS)
def test_finite_bounds_are_part_of_the_code_key(backend):
    """Two networks that differ only in ``wmax`` (infinite or not) get their own code."""
    def run(wmax):
        net = Network()
        x, y = Input(2, traces=True), LIFNodes(2, traces=True, thresh=-64.0, refrac=0)
        net.add_layer(x, "X")
        net.add_layer(y, "Y")
        net.add_connection(Connection(x, y, w=torch.full((2, 2), 1.0), update_rule=PostPre,
                                      nu=(0.0, 0.5), wmax=wmax), "X", "Y")
        snnc.compile(net, backend=backend).run({"X": torch.ones(6, 2)}, time=6)
        return net.connections["X", "Y"].w.clone()
    clamped, free = run(1.5), run(None)
    assert clamped.max() == 1.5 and free.max() > 1.5


class CountingCompute(Connection):
    """A dense connection with its own ``compute`` and the inherited learning."""

    def compute(self, s):
        return s.float().view(s.shape[0], -1) @ self.w


def test_an_opaque_connection_still_learns_through_its_inherited_update():
    net = Network()
    x, y = Input(2, traces=True), LIFNodes(2, traces=True, thresh=-64.0, refrac=0)
    net.add_layer(x, "X")
    net.add_layer(y, "Y")
    net.add_connection(CountingCompute(x, y, w=torch.full((2, 2), 1.0), update_rule=PostPre, nu=(0.0, 0.5)),
                       "X", "Y")
    net.run({"X": torch.ones(6, 2)}, time=6)
    assert net._program.backend == "torch"
    assert (net.connections["X", "Y"].w > 1.0).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_monitor_on_a_scalar_parameter(backend):
    net = Network()
    layer = LIFNodes(3)
    net.add_layer(layer, "N")
    net.add_monitor(Monitor(layer, ("thresh", "s")), "N")
    snnc.compile(net, backend=backend).run({"N": torch.full((4, 3), 20.0)}, time=4)
    assert torch.equal(net.monitors["N"].get("thresh"), torch.full((4,), -52.0))


def test_auto_moves_to_torch_when_a_later_change_needs_it(caplog):
    net = Network()
    x, y = Input(2), LIFNodes(2)
    net.add_layer(x, "X")
    net.add_layer(y, "Y")
    net.add_connection(Connection(x, y, w=torch.full((2, 2), 20.0)), "X", "Y")
    net.run({"X": torch.ones(3, 2)}, time=3)
    assert net._program.backend == "numba"
    z = LIFNodes(2)
    net.add_layer(z, "Z")
    net.add_connection(CountingCompute(y, z, w=torch.full((2, 2), 20.0)), "Y", "Z")
    net.add_monitor(Monitor(z, ("s",)), "Z")
    with caplog.at_level(logging.INFO, logger="snnc"):
        net.run({"X": torch.ones(6, 2)}, time=6)
    assert net._program.backend == "torch" and net.monitors["Z"].get("s").any()
    assert any("opaque" in record.getMessage() for record in caplog.records)
