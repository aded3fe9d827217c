"""CSRMNodes (spec 3.11, with Connection.compute_window of 4.1) against a plain
reference written here from the spec: every backend, 200 steps (the CUDA simulator 30),
batch 2, a bias, theta learning, lbound and traces."""
from __future__ import annotations

import math

import pytest
import torch

import snnc
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import CSRMNodes, Input
from snnc.network.topology import Connection

KERNELS = {  # spec 3.11's table, at lag t
    "ExponentialKernel": lambda t, tau: math.exp(-t / tau) / tau,
    "AlphaKernel": lambda t, tau: t * math.exp(-t / tau) / tau ** 2,
    "TriangularKernel": lambda t, tau: (1 - t / tau) / tau,
}


def reference(x, w, b, kernel, tau, res, ref, params, dt=1.0):
    """Plain per-step simulation; returns per-step s, v, theta, x (trace)."""
    steps, batch, n_in = x.shape
    n = w.shape[1]
    W, R = math.ceil(res / dt), math.ceil(ref / dt)
    K = torch.tensor([KERNELS[kernel](k * dt, tau) for k in range(W)], dtype=torch.float32).flip(0)
    E = torch.tensor([-params["reset_const"] * math.exp(-k * dt / tau) for k in range(R)],
                     dtype=torch.float32).flip(0)
    decay = torch.exp(torch.tensor(-dt / params["tc_decay"]))
    theta_decay = torch.exp(torch.tensor(-dt / params["tc_theta_decay"]))
    trace_decay = torch.exp(torch.tensor(-dt / 20.0))
    window = torch.zeros(batch, W, n_in)            # the connection's source window, oldest first
    last = torch.zeros(batch, R, n)                 # the layer's own spikes, oldest first
    v, theta, trace = torch.full((batch, n), params["rest"]), torch.zeros(n), torch.zeros(batch, n)
    source = torch.zeros(batch, n_in)               # X.s of the previous step
    out = {"s": [], "v": [], "theta": [], "x": []}
    for t in range(steps):
        window = torch.cat([window[:, 1:], source[:, None]], 1)           # 4.1 compute_window
        windowed = window @ w + b                                          # [B, W, n]
        v = v * decay
        theta = theta * theta_decay
        v = v + (K[None, :, None] * windowed).sum(1) + (E[None, :, None] * last).sum(1)
        s = v >= params["thresh"] + theta
        theta = theta + params["theta_plus"] * s.float().sum(0)
        last = torch.cat([last[:, 1:], s.float()[:, None]], 1)
        v = torch.maximum(v, torch.tensor(params["lbound"]))
        trace = torch.where(s, torch.ones(()), trace * trace_decay)
        source = x[t]
        for name, value in (("s", s), ("v", v), ("theta", theta), ("x", trace)):
            out[name].append(value.clone())
    return {name: torch.stack(values) for name, values in out.items()}


@pytest.mark.parametrize("kernel, tau, res, ref", [("ExponentialKernel", 3.0, 6, 4),
                                                   ("AlphaKernel", 2.0, 5, 3),
                                                   ("TriangularKernel", 6.0, 4, 5)])
@pytest.mark.parametrize("backend", ["torch", "numba", "numba-cuda"])
def test_csrm_matches_the_reference(backend, kernel, tau, res, ref):
    steps = 30 if backend == "numba-cuda" else 200
    gen = torch.Generator().manual_seed(len(kernel))
    params = dict(rest=-65.0, thresh=-58.0, tc_decay=25.0, theta_plus=0.5, tc_theta_decay=60.0,
                  lbound=-63.0, reset_const=8.0)
    w = torch.randint(-4, 20, (4, 3), generator=gen).float() / 4
    b = torch.randint(-2, 3, (3,), generator=gen).float() / 8
    x = (torch.rand(steps, 2, 4, generator=gen) < 0.35).float()
    network = Network(batch_size=2)
    network.add_layer(Input(4), "X")
    layer = CSRMNodes(3, traces=True, rest=params["rest"], thresh=params["thresh"], responseKernel=kernel,
                      tau=tau, res_window_size=res, ref_window_size=ref, reset_const=params["reset_const"],
                      tc_decay=params["tc_decay"], theta_plus=params["theta_plus"],
                      tc_theta_decay=params["tc_theta_decay"], lbound=params["lbound"])
    network.add_layer(layer, "Y")
    network.add_connection(Connection(network.layers["X"], layer, w=w.clone(), b=b.clone()), "X", "Y")
    monitor = Monitor(layer, ["s", "v", "theta", "x"])
    network.add_monitor(monitor, "Y")
    half = steps // 2
    program = snnc.compile(network, backend=backend)
    program.run({"X": x[:half]}, time=half)
    program.run({"X": x[half:]}, time=steps - half)
    expected = reference(x, w, b, kernel, tau, res, ref, params)
    spikes = expected["s"]
    assert spikes.any() and not spikes.all(), "not a useful comparison"
    assert (expected["v"] == params["lbound"]).any(), "lbound never acts"
    assert torch.equal(monitor.get("s"), spikes), "spikes differ"
    for var in ("v", "theta", "x"):
        torch.testing.assert_close(monitor.get(var), expected[var], atol=1e-4, rtol=1e-5)
