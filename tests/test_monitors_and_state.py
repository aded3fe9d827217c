"""Monitors (spec 5.1, 5.2, with ``get`` idempotent, quirk Q27 fixed), NetworkMonitor,
and the network's state: ``train``, ``state_dict`` / ``load_state_dict``, save / load /
clone in the middle of training, ``.to``."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import snnc
from snnc.learning import PostPre
from snnc.network import Network, load
from snnc.network.monitors import Monitor, NetworkMonitor
from snnc.network.nodes import AdaptiveLIFNodes, Input, LIFNodes
from snnc.network.topology import Connection


def learner(batch: int = 2) -> Network:
    """Input -> AdaptiveLIF with PostPre: weights, theta and traces all change."""
    torch.manual_seed(0)
    network = Network(batch_size=batch)
    network.add_layer(Input(5, traces=True), "X")
    network.add_layer(AdaptiveLIFNodes(4, traces=True, theta_plus=0.5, thresh=-58.0), "Y")
    network.add_connection(Connection(network.layers["X"], network.layers["Y"], w=torch.rand(5, 4) * 6,
                                      update_rule=PostPre, nu=(0.01, 0.05), wmin=0.0, wmax=8.0), "X", "Y")
    return network


def raster(steps: int, batch: int = 2, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(steps, batch, 5, generator=gen) < 0.4).float()


def test_monitor_get_is_idempotent_and_clear_empties():
    network = learner()
    monitor = Monitor(network.layers["Y"], ["s", "v"])
    network.add_monitor(monitor, "Y")
    network.run({"X": raster(7)}, time=7)
    first = monitor.get("v")
    assert first.shape == (7, 2, 4)
    assert torch.equal(monitor.get("v"), first)            # BindsNET returns [0] here (Q27)
    network.run({"X": raster(3)}, time=3)
    assert monitor.get("v").shape == (10, 2, 4)
    monitor.clear()
    assert monitor.get("v").numel() == 0


def test_monitor_time_window_across_runs():
    network = learner()
    monitor = Monitor(network.layers["Y"], ["v"], time=5)
    network.add_monitor(monitor, "Y")
    network.run({"X": raster(3)}, time=3)
    assert monitor.get("v").shape == (3, 2, 4)              # fewer than time recorded: all of them
    reference = Monitor(network.layers["Y"], ["v"])
    network.add_monitor(reference, "all")
    network.run({"X": raster(4, seed=2)}, time=4)
    assert torch.equal(monitor.get("v")[-4:], reference.get("v"))
    assert monitor.get("v").shape == (5, 2, 4)


def test_sparse_monitor_stores_sparse_chunks():
    network = learner()
    dense, sparse = Monitor(network.layers["Y"], ["s"]), Monitor(network.layers["Y"], ["s"], sparse=True)
    network.add_monitor(dense, "dense")
    network.add_monitor(sparse, "sparse")
    for seed in (1, 2):
        network.run({"X": raster(6, seed=seed)}, time=6)
    assert all(chunk.is_sparse for chunk in sparse.recording.chunks["s"])
    got = sparse.get("s")
    assert got.is_sparse and torch.equal(got.to_dense(), dense.get("s"))
    assert dense.get("s").any()


def test_network_monitor_records_layers_and_connections(tmp_path):
    network = learner()
    monitor = NetworkMonitor(network, state_vars=("s", "v", "w", "theta"))
    network.add_monitor(monitor, "net")
    plain = Monitor(network.connections[("X", "Y")], ["w"])
    network.add_monitor(plain, "w")
    network.run({"X": raster(6)}, time=6)
    data = monitor.get()
    assert set(data) == {"X", "Y", ("X", "Y")}
    assert set(data["X"]) == {"s"} and set(data["Y"]) == {"s", "v", "theta"}
    assert data["Y"]["s"].dtype == torch.float32 and data["Y"]["s"].shape == (6, 2, 4)
    assert torch.equal(data[("X", "Y")]["w"], plain.get("w"))
    monitor.save(tmp_path / "out" / "rec.npz")
    archive = np.load(tmp_path / "out" / "rec.npz")
    assert sorted(archive.files) == ["X-Y_w", "X_s", "Y_s", "Y_theta", "Y_v"]
    assert np.array_equal(archive["Y_v"], data["Y"]["v"].numpy())
    monitor.save(tmp_path / "rec.pt", fmt="pickle")
    assert torch.equal(torch.load(tmp_path / "rec.pt")["Y"]["v"], data["Y"]["v"])


def test_network_monitor_window_pads_and_resets():
    """time=T: always T rows (zeros before the first records); reset works with a
    recorded connection (BindsNET raises KeyError there, Q29)."""
    network = learner()
    monitor = NetworkMonitor(network, state_vars=("v", "w"), time=4)
    network.add_monitor(monitor, "net")
    network.run({"X": raster(3)}, time=3)
    v = monitor.get()["Y"]["v"]
    assert v.shape == (4, 2, 4) and torch.equal(v[0], torch.zeros(2, 4)) and (v[1:] != 0).all()
    network.reset_state_variables()
    assert monitor.get()["Y"]["v"].abs().sum() == 0


def test_train_sets_every_learning_flag():
    network = learner()
    network.train(False)
    assert not network.learning and not any(layer.learning for layer in network.layers.values())
    w = network.connections[("X", "Y")].w.clone()
    theta = network.layers["Y"].theta.clone()
    network.run({"X": raster(20)}, time=20)
    assert torch.equal(network.connections[("X", "Y")].w, w)
    assert torch.equal(network.layers["Y"].theta, theta)
    network.train(True)
    network.run({"X": raster(20)}, time=20)
    assert not torch.equal(network.connections[("X", "Y")].w, w)


def test_state_dict_round_trip_continues_identically():
    original = learner()
    original.run({"X": raster(15)}, time=15)
    copy = learner()
    copy.load_state_dict(original.state_dict())
    for name in ("v", "refrac_count", "theta", "x", "s"):
        assert torch.equal(getattr(copy.layers["Y"], name), getattr(original.layers["Y"], name))
    for network in (original, copy):
        network.add_monitor(Monitor(network.layers["Y"], ["v"]), "v")
        network.run({"X": raster(10, seed=3)}, time=10)
    assert torch.equal(copy.monitors["v"].get("v"), original.monitors["v"].get("v"))
    assert torch.equal(copy.connections[("X", "Y")].w, original.connections[("X", "Y")].w)


@pytest.mark.parametrize("how", ["save_load", "clone"])
def test_mid_training_copy_continues_like_the_original(tmp_path, how):
    """Weights, theta, traces, refractory counters and the last spikes all survive."""
    original = learner()
    original.run({"X": raster(12)}, time=12)
    if how == "save_load":
        original.save(tmp_path / "net.pt")
        copy = load(tmp_path / "net.pt")
    else:
        copy = original.clone()
    for network in (original, copy):
        network.add_monitor(Monitor(network.layers["Y"], ["s", "v", "theta", "x"]), "m")
        snnc.compile(network, backend="numba").run({"X": raster(12, seed=4)}, time=12)
    for var in ("s", "v", "theta", "x"):
        assert torch.equal(copy.monitors["m"].get(var), original.monitors["m"].get(var)), var
    assert torch.equal(copy.connections[("X", "Y")].w, original.connections[("X", "Y")].w)


def test_to_device_keeps_state_and_runs():
    network = learner()
    network.run({"X": raster(5)}, time=5)
    v = network.layers["Y"].v.clone()
    moved = network.to(torch.device("cpu"))
    assert moved is network and torch.equal(network.layers["Y"].v, v)
    network.run({"X": raster(5)}, time=5)
    assert network.layers["Y"].v.shape == (2, 4)


def test_multi_dimensional_layers_keep_their_shape_in_monitors():
    network = Network()
    network.add_layer(Input(shape=(2, 3)), "X")
    network.add_layer(LIFNodes(shape=(3, 2)), "Y")
    network.add_connection(Connection(network.layers["X"], network.layers["Y"], w=torch.full((6, 6), 3.0)),
                           "X", "Y")
    monitor = Monitor(network.layers["Y"], ["v"])
    network.add_monitor(monitor, "Y")
    network.run({"X": torch.ones(4, 2, 3)}, time=4)
    assert monitor.get("v").shape == (4, 1, 3, 2)


def test_network_monitor_records_a_connection_window_made_after_it():
    """A CSRM connection's window exists from the first run on; a NetworkMonitor built
    before that records what its objects had then, and runs without error."""
    from snnc.network.nodes import CSRMNodes

    network = Network()
    network.add_layer(Input(2), "X")
    network.add_layer(CSRMNodes(2), "Y")
    network.add_connection(Connection(network.layers["X"], network.layers["Y"]), "X", "Y")
    monitor = NetworkMonitor(network, state_vars=("v", "s_w"))
    network.add_monitor(monitor, "net")
    network.run({"X": torch.ones(3, 2)}, time=3)
    assert monitor.get()["Y"]["v"].shape == (3, 1, 2)
    later = NetworkMonitor(network, state_vars=("v", "s_w"))
    network.add_monitor(later, "later")
    network.run({"X": torch.ones(3, 2)}, time=3)
    assert later.get()[("X", "Y")]["s_w"].shape == (3, 1, 20, 2)


def test_windowed_monitors_over_many_short_runs():
    """Many one-step runs: a windowed dense recording keeps exactly its last ``time``
    steps (its chunks compacted), a sparse weight recording too (chunks kept as they
    are); a recorder pickled without running totals rebuilds them."""
    import pickle

    from snnc.network.topology import SparseConnection

    network = Network()
    network.add_layer(Input(3), "X")
    network.add_layer(LIFNodes(2), "Y")
    sparse = SparseConnection(network.layers["X"], network.layers["Y"], w=torch.tensor([[1.0, 0], [0, 2.0], [0.5, 0]]))
    network.add_connection(sparse, "X", "Y")
    network.add_monitor(Monitor(sparse, "w", time=100), "w")
    network.add_monitor(Monitor(network.layers["Y"], "v", time=90), "v")
    network.add_monitor(Monitor(network.layers["Y"], "v"), "all")
    for step in range(150):
        network.run({"X": torch.full((1, 3), float(step % 7 == 0))}, time=1)
    every = network.monitors["all"].get("v")
    assert torch.equal(network.monitors["v"].get("v"), every[-90:])
    assert len(network.monitors["v"].recording.chunks["v"]) <= 65
    weights = network.monitors["w"].get("w")
    assert weights.is_sparse and weights.shape == (100, 3, 2)
    recorder = network.monitors["v"].recording
    del recorder.totals
    again = pickle.loads(pickle.dumps(recorder))
    assert again.totals == {"v": sum(c.shape[0] for c in recorder.chunks["v"])}
