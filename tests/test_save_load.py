"""Network.save / snnc.network.load and Network.clone (spec 2.8)."""
from __future__ import annotations

import torch

from conftest import assert_same, layer_state, recordings
from snnc.network import Network, load


def run_some(network: Network, steps: int, seed: int, poisson_like) -> None:
    network.run({"X": poisson_like(steps, network.layers["X"].n, p=0.4, seed=seed)}, time=steps)


def parameters(network: Network) -> dict:
    return {key: value.clone() for key, value in network.state_dict().items()}


def test_save_load_round_trip(tmp_path, chain, poisson_like):
    network = chain(seed=1)
    run_some(network, 40, seed=2, poisson_like=poisson_like)
    assert any(monitor.get("s").any() for name, monitor in network.monitors.items() if name != "X")

    path = tmp_path / "network.pt"
    network.save(path)
    loaded = load(path)

    assert isinstance(loaded, Network)
    assert loaded is not network
    assert loaded.dt == network.dt
    assert loaded.batch_size == network.batch_size
    assert loaded.learning == network.learning
    assert list(loaded.layers) == list(network.layers)
    assert list(loaded.connections) == list(network.connections)
    assert list(loaded.monitors) == list(network.monitors)
    assert_same(parameters(loaded), parameters(network))
    assert_same(layer_state(loaded), layer_state(network))
    assert_same(recordings(loaded), recordings(network))
    for key, connection in network.connections.items():
        assert torch.equal(loaded.connections[key].w, connection.w)
        assert loaded.connections[key].source is loaded.layers[key[0]]
        assert loaded.connections[key].target is loaded.layers[key[1]]
    for name, layer in network.layers.items():
        copy = loaded.layers[name]
        assert type(copy) is type(layer)
        assert copy.shape == layer.shape
        for param in ("thresh", "rest", "reset", "refrac", "tc_decay", "tc_trace", "trace_scale"):
            if hasattr(layer, param):
                assert torch.equal(getattr(copy, param), getattr(layer, param)), (name, param)
    for name, monitor in network.monitors.items():
        copy = loaded.monitors[name]
        assert copy.obj is loaded.layers[name]
        assert copy.network is loaded
        assert copy.state_vars == monitor.state_vars


def test_loaded_copy_continues_like_the_original(tmp_path, chain, poisson_like):
    network = chain(seed=3)
    run_some(network, 30, seed=4, poisson_like=poisson_like)
    path = tmp_path / "network.pt"
    network.save(path)
    loaded = load(path)

    more = poisson_like(50, network.layers["X"].n, p=0.4, seed=5)
    network.run({"X": more.clone()}, time=50)
    loaded.run({"X": more.clone()}, time=50)

    assert recordings(network)[("A", "s")].shape == (80, 1, 3)
    assert_same(recordings(loaded), recordings(network))
    assert_same(layer_state(loaded), layer_state(network))
    assert_same(parameters(loaded), parameters(network))


def test_load_map_location_and_learning_flag(tmp_path, chain):
    network = chain(seed=6, monitors=False)
    path = tmp_path / "network.pt"
    network.save(str(path))
    loaded = load(str(path), map_location="cpu", learning=False)
    assert loaded.learning is False
    assert network.learning is True
    assert_same(parameters(loaded), parameters(network))


def test_save_before_any_run_then_run_both(tmp_path, chain, poisson_like):
    network = chain(seed=7)
    path = tmp_path / "fresh.pt"
    network.save(path)
    loaded = load(path)
    data = poisson_like(50, 4, p=0.4, seed=8)
    network.run({"X": data}, time=50)
    loaded.run({"X": data}, time=50)
    assert_same(recordings(loaded), recordings(network))


def test_save_after_compiled_run_holds_no_program(tmp_path, chain, poisson_like):
    network = chain(seed=9)
    run_some(network, 10, seed=10, poisson_like=poisson_like)
    assert network._program is not None
    path = tmp_path / "network.pt"
    network.save(path)
    loaded = load(path)
    assert network._program is not None          # saving does not drop the original's program
    assert loaded._program is None                # the file holds no compiled program
    run_some(loaded, 5, seed=11, poisson_like=poisson_like)
    assert loaded._program is not None and loaded._program.network is loaded


def test_clone_is_equal_and_independent(chain, poisson_like):
    network = chain(seed=11)
    run_some(network, 25, seed=12, poisson_like=poisson_like)
    clone = network.clone()

    assert clone is not network
    assert_same(parameters(clone), parameters(network))
    assert_same(layer_state(clone), layer_state(network))
    assert_same(recordings(clone), recordings(network))

    snapshot_state, snapshot_recordings = layer_state(network), recordings(network)
    snapshot_parameters = parameters(network)

    # Running and changing the clone leaves the original untouched ...
    clone.run({"X": poisson_like(30, 4, p=0.5, seed=13)}, time=30)
    clone.connections[("X", "A")].w.data.mul_(-1.0)
    clone.layers["A"].v.fill_(3.0)
    clone.monitors["A"].clear()
    assert_same(layer_state(network), snapshot_state)
    assert_same(recordings(network), snapshot_recordings)
    assert_same(parameters(network), snapshot_parameters)

    # ... and vice versa.
    clone_parameters = parameters(clone)
    network.connections[("A", "B")].w.data.zero_()
    run_some(network, 5, seed=14, poisson_like=poisson_like)
    assert_same(parameters(clone), clone_parameters)


def test_clone_continues_like_the_original(chain, poisson_like):
    network = chain(seed=15)
    run_some(network, 20, seed=16, poisson_like=poisson_like)
    clone = network.clone()
    data = poisson_like(50, 4, p=0.4, seed=17)
    network.run({"X": data}, time=50)
    clone.run({"X": data}, time=50)
    assert_same(recordings(clone), recordings(network))
    assert_same(layer_state(clone), layer_state(network))
