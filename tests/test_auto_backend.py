"""backend="auto" (what Network.run uses): numba on CPU, torch where numba cannot run."""
from __future__ import annotations

import logging

import pytest
import torch

import snnc
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection


def network(w_dtype=torch.float32, weight_decay=0.0) -> Network:
    net = Network()
    x, y = Input(4), LIFNodes(3)
    net.add_layer(x, "X")
    net.add_layer(y, "Y")
    net.add_connection(Connection(x, y, w=torch.full((4, 3), 8.0), w_dtype=w_dtype,
                                  weight_decay=weight_decay), "X", "Y")
    net.add_monitor(Monitor(y, ("s",)), "Y")
    return net


def test_network_run_uses_numba_on_cpu(monkeypatch):
    monkeypatch.delenv("SNNC_BACKEND", raising=False)
    net = network()
    net.run({"X": torch.ones(5, 4)}, time=5)
    assert net._program.backend == "numba"


def test_env_overrides_auto(monkeypatch):
    monkeypatch.setenv("SNNC_BACKEND", "torch")
    net = network()
    net.run({"X": torch.ones(5, 4)}, time=5)
    assert net._program.backend == "torch"


def test_auto_falls_back_to_torch_and_says_why(monkeypatch, caplog):
    monkeypatch.delenv("SNNC_BACKEND", raising=False)
    net = network(w_dtype=torch.float16, weight_decay=0.1)
    with caplog.at_level(logging.INFO, logger="snnc"):
        net.run({"X": torch.ones(5, 4)}, time=5)
    assert net._program.backend == "torch"
    assert "connection X->Y: float16 weights that change during the run" in caplog.text
    assert net.connections["X", "Y"].w.dtype == torch.float16


def test_explicit_numba_refuses_what_it_cannot_run():
    with pytest.raises(snnc.SnncError, match="backend numba cannot run connection X->Y"):
        snnc.compile(network(w_dtype=torch.bfloat16, weight_decay=0.1), backend="numba").run(
            {"X": torch.ones(2, 4)}, time=2)


def test_unknown_backend():
    with pytest.raises(snnc.SnncError, match="unknown backend 'jax'"):
        snnc.compile(network(), backend="jax")
