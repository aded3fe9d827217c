"""The numba renderings that exist for speed give torch's results: spike counts summed
in integers, a shared stage's batch-of-one loop, and a clamped rule term rendered twice
(for samples whose post-synaptic layer is silent, and for the others)."""
from __future__ import annotations

import pytest
import torch

import snnc
from snnc.learning import PostPre
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import DiehlAndCookNodes, Input, LIFNodes
from snnc.network.topology import Connection


def _winner_take_all(batch: int) -> tuple[Network, dict[str, torch.Tensor]]:
    """A small Diehl & Cook network: one-spike adaptive layer (theta learns, shared by
    the batch), PostPre with finite bounds, lateral inhibition."""
    generator = torch.Generator().manual_seed(4)
    network = Network(dt=1.0, batch_size=batch)
    source = Input(50, traces=True, tc_trace=20.0)
    excitatory = DiehlAndCookNodes(12, traces=True, thresh=-58.0, theta_plus=0.5, tc_theta_decay=1e4)
    inhibitory = LIFNodes(12, thresh=-50.0)
    for name, layer in (("X", source), ("E", excitatory), ("I", inhibitory)):
        network.add_layer(layer, name)
    network.add_connection(Connection(source, excitatory, w=0.6 * torch.rand(50, 12, generator=generator),
                                      update_rule=PostPre, nu=(1e-2, 5e-2), wmin=0.0, wmax=0.5), "X", "E")
    network.add_connection(Connection(excitatory, inhibitory, w=20.0 * torch.eye(12)), "E", "I")
    network.add_connection(Connection(inhibitory, excitatory, w=-5.0 * (1 - torch.eye(12))), "I", "E")
    network.add_monitor(Monitor(excitatory, ["s", "v", "theta"]), "E")
    spikes = torch.rand(80, batch, 50, generator=generator) < 0.2
    return network, {"X": spikes}


@pytest.mark.parametrize("batch", [1, pytest.param(3, marks=pytest.mark.slow)])
def test_diehl_and_cook_renderings_equal_torch(batch):
    results, sources = {}, {}
    for backend in ("torch", "numba"):
        network, inputs = _winner_take_all(batch)
        program = snnc.compile(network, backend=backend)
        torch.manual_seed(0)                                   # one_spike's choices
        program.run(inputs, time=80)
        monitor = network.monitors["E"]
        results[backend] = (monitor.get("s"), monitor.get("v"), network.connections[("X", "E")].w.clone())
        sources[backend] = program.source
    spikes = results["torch"][0]
    assert 5 < int(spikes.sum()) and bool((spikes.flatten(1).sum(1) <= batch).all())   # one winner per sample
    assert torch.equal(results["numba"][0], spikes)
    torch.testing.assert_close(results["numba"][1], results["torch"][1])
    torch.testing.assert_close(results["numba"][2], results["torch"][2])
    source = sources["numba"]
    assert "count_sum_n0 += E_s[b, j]" in source and "rank0 = float32(running0)" in source
    assert "if E_s.shape[0] == 1:" in source and "for b in range(1):" in source
    assert ("spiking_later" in source) == (batch == 1)   # the clamped term is fused at batch 1 only
