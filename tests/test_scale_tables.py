"""snnc.scale without Ray: parameter spaces, result tables, the serial path, the CLI's
parsing, and the message when Ray is missing; and the small networks the Ray tests sweep."""
from __future__ import annotations

import sys

import pytest
import torch

from snnc.errors import SnncError
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection
from snnc.scale import (RandomSearch, SweepResults, choice, load_results, loguniform, point_key, points_of,
                        randint, sweep, uniform)
from snnc.scale.cluster import require_ray
from snnc.scale.script import parse_grid


def test_grid_is_every_combination_last_key_fastest():
    assert points_of({"a": [1, 2], "b": ["x", "y", "z"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 1, "b": "z"},
        {"a": 2, "b": "x"}, {"a": 2, "b": "y"}, {"a": 2, "b": "z"}]
    assert points_of([{"a": 3}, {"a": 1}]) == [{"a": 3}, {"a": 1}]


def test_random_search_is_seeded_and_in_range():
    search = RandomSearch({"lr": loguniform(1e-4, 1e-1), "x": uniform(-1, 1), "k": randint(2, 4),
                           "kind": choice(["a", "b"]), "fixed": 7}, samples=200, seed=3)
    points = points_of(search)
    assert points == points_of(RandomSearch(search.space, samples=200, seed=3))
    assert points != points_of(RandomSearch(search.space, samples=200, seed=4))
    assert all(1e-4 <= p["lr"] <= 1e-1 and -1 <= p["x"] <= 1 and p["fixed"] == 7 for p in points)
    assert {p["k"] for p in points} == {2, 3, 4} and {p["kind"] for p in points} == {"a", "b"}


@pytest.mark.parametrize("space, message", [
    ({"a": 5}, "must map to a list"), ({"a": "xy"}, "must map to a list"), ([{"a": 1}, 3], "point 1"),
    ([{"a": 1}, {"a": 1}], "more than once"), (42, "must be a grid")])
def test_bad_spaces_say_what_is_wrong(space, message):
    with pytest.raises(SnncError, match=message):
        points_of(space)


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_tables_round_trip(tmp_path, suffix):
    rows = SweepResults([
        {"n": 100, "rate": 0.1, "tag": "a b", "acc": 0.5, "counts": [1, 2], "compile_s": 0.25, "run_s": 1.5,
         "fresh_compiles": 1, "host": "h1", "error": None, "point": point_key({"n": 100, "rate": 0.1, "tag": "a b"})},
        {"n": 400, "rate": 0.2, "tag": "1", "compile_s": None, "run_s": None, "fresh_compiles": None,
         "host": None, "error": "ValueError: bad, really", "point": point_key({"n": 400, "rate": 0.2, "tag": "1"})}])
    back = load_results(rows.save(tmp_path / f"table{suffix}"))
    assert back[0] == rows[0]
    expected = dict(rows[1])
    if suffix == ".csv":
        expected["tag"] = 1          # a CSV cell that reads as a literal comes back as one
        expected["acc"] = expected["counts"] = None
    assert {k: v for k, v in back[1].items() if v is not None} == {k: v for k, v in expected.items() if v is not None}
    assert back.failed == [back[1]] and back.best("acc") == back[0]
    with pytest.raises(SnncError, match="no successful row"):
        back.best("missing")


def small_network(params: dict) -> Network:
    """A guide-like network (Input 10 -> LIF n, recurrent inhibition), seeded by the point."""
    generator = torch.Generator().manual_seed(params["seed"])
    network = Network(dt=1.0)
    source, target = Input(10), LIFNodes(params["n"], thresh=-60.0)
    network.add_layer(source, "A")
    network.add_layer(target, "B")
    network.add_connection(Connection(source, target, w=2.0 + 4.0 * torch.rand(10, params["n"], generator=generator)),
                           "A", "B")
    network.add_connection(Connection(target, target, w=-0.5 * torch.rand(params["n"], params["n"], generator=generator)),
                           "B", "B")
    network.add_monitor(Monitor(target, ("s", "v")), "B")
    return network


def run_small(network: Network, params: dict) -> dict:
    generator = torch.Generator().manual_seed(100 + params["seed"])
    spikes = (torch.rand(40, 1, 10, generator=generator) < params.get("rate", 0.3)).byte()
    network.run(inputs={"A": spikes}, time=40)
    recorded = network.monitors["B"].get("s")
    return {"spikes": int(recorded.sum()), "per_neuron": recorded.sum((0, 1)).tolist(),
            "v_end": float(network.monitors["B"].get("v")[-1].sum())}


def build(params):
    return small_network(params)


def run(network, params):
    if params.get("fail"):
        raise ValueError(f"point {params['seed']} fails")
    return run_small(network, params)


def test_serial_sweep_without_ray_reports_failures(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)          # as if Ray were not installed
    points = [{"n": 12, "seed": 0}, {"n": 12, "seed": 1, "fail": True}]
    results = sweep(build, points, run, workers=0, retries=1, out=tmp_path / "t.csv", progress_bar=False)
    assert results[0]["error"] is None and results[0]["spikes"] == run(build(points[0]), points[0])["spikes"]
    assert results[1]["error"] == "ValueError: point 1 fails (after 2 attempts)"
    assert load_results(tmp_path / "t.csv")[1]["error"] == results[1]["error"]
    with pytest.raises(SnncError, match=r"pip install 'snnc\[scale\]'"):
        require_ray()
    with pytest.raises(SnncError, match="not installed"):
        sweep(build, points, run, progress_bar=False)


def test_run_results_must_be_a_dict_without_clashes():
    rows = sweep(build, [{"n": 12, "seed": 0}], lambda network, params: 3, workers=0, retries=0,
                 progress_bar=False)
    assert "must return a dict of results, got int" in rows[0]["error"]
    rows = sweep(build, [{"n": 12, "seed": 0}], lambda network, params: {"n": 1}, workers=0, retries=0,
                 progress_bar=False)
    assert "reuse the names ['n']" in rows[0]["error"]


def test_parse_grid():
    assert parse_grid(["n=100,400", "rate=0.1", "name=a,b c", "flag=True,None"]) == {
        "n": [100, 400], "rate": [0.1], "name": ["a", "b c"], "flag": [True, None]}
    for bad in (["n"], ["=1"], ["n="], ["n=1", "n=2"], []):
        with pytest.raises(SnncError):
            parse_grid(bad)


def test_map_batches_checks_its_inputs():
    from snnc.scale import map_batches

    network = small_network({"n": 12, "seed": 0})
    with pytest.raises(SnncError, match="samples first"):
        map_batches(network, torch.zeros(5, 8), workers=0, progress_bar=False)
    with pytest.raises(SnncError, match="not a layer"):
        map_batches(network, {"Q": torch.zeros(5, 8, 10)}, workers=0, progress_bar=False)
    with pytest.raises(SnncError, match="batch_size"):
        map_batches(network, torch.zeros(5, 8, 10), batch_size=0, workers=0, progress_bar=False)
