"""snnc's EnvironmentPipeline against BindsNET 0.3.4's on the same gymnasium games.

Spec 13. Both libraries build the same network (weights drawn once, handed to both),
wrap the same environment and seed torch and the game alike; from then on every
random number (the random-action draw, the softmax choice, the Bernoulli encoding)
comes from torch's generator in the same order, so the two agents must take the same
actions, get the same rewards, record the same output spikes and learn the same MSTDP
weights (to 1e-4). One documented difference is bridged: at an episode's reset snnc
zeroes MSTDP's traces and eligibility (docs/differences.md), so the test zeroes
BindsNET's too.

Optional: skipped unless ``bindsnet`` imports (see benchmarks/run_oracle_tests.sh).
"""
from __future__ import annotations

import importlib

import pytest
import torch

from oracle_support import import_bindsnet

bindsnet = import_bindsnet()
gym = pytest.importorskip("gymnasium")

pytestmark = pytest.mark.oracle


def play(lib: str, game: str, weights: dict, steps: int, seed: int = 0):
    m = {name: importlib.import_module(f"{lib}.{name}") for name in
         ("encoding", "environment", "learning", "network", "pipeline", "pipeline.action",
          "network.nodes", "network.topology")}
    nodes, topology = m["network.nodes"], m["network.topology"]
    network = m["network"].Network(dt=1.0)
    if game == "breakout":
        from snnc.environment.environment import register_legacy
        register_legacy(gym, "BreakoutDeterministic-v4")        # ale-py >= 0.9 dropped the id
        sizes, name, shape = (6400, 30, 4), "BreakoutDeterministic-v4", [1, 1, 1, 80, 80]
        extra = dict(encoding=m["encoding"].bernoulli, time=20)
    else:
        sizes, name, shape = (4, 16, 2), "CartPole-v1", [1, 1, 4]
        extra = dict(time=1)
    layers = [nodes.Input(n=sizes[0], shape=shape, traces=True), nodes.LIFNodes(n=sizes[1], traces=True),
              nodes.LIFNodes(n=sizes[2], refrac=0, traces=True)]
    for layer_name, layer in zip(("In", "Hidden", "Out"), layers):
        network.add_layer(layer, name=layer_name)
    network.add_connection(topology.Connection(layers[0], layers[1], w=weights["first"].clone()), "In", "Hidden")
    network.add_connection(topology.Connection(layers[1], layers[2], w=weights["second"].clone(), wmin=0, wmax=1,
                                               update_rule=m["learning"].MSTDP, nu=0.1, norm=0.5 * sizes[1]),
                           "Hidden", "Out")
    env = m["environment"].GymEnvironment(name)
    env.env.reset(seed=seed)
    pipeline = m["pipeline"].EnvironmentPipeline(network, env, action_function=m["pipeline.action"].select_softmax,
                                                 output="Out", allow_gpu=False, **extra)
    torch.manual_seed(seed)
    pipeline.reset_state_variables()
    actions, rewards, spikes = [], [], []
    for _ in range(steps):
        obs, reward, done, info = pipeline.env_step()
        pipeline.step((obs, reward, done, info))
        actions.append(int(pipeline.action))
        rewards.append(float(reward))
        spikes.append(pipeline.spike_record["Out"].reshape(-1, sizes[2]).clone())
        if done:
            pipeline.reset_state_variables()
            if lib == "bindsnet":     # snnc zeroes rule state on reset (docs/differences.md)
                rule = network.connections[("Hidden", "Out")].update_rule
                for name in ("p_plus", "p_minus", "eligibility"):
                    if isinstance(getattr(rule, name, None), torch.Tensor):
                        getattr(rule, name).zero_()
    return actions, rewards, spikes, network.connections[("Hidden", "Out")].w.detach().clone()


@pytest.mark.parametrize("game", ["cartpole", "breakout"])
def test_environment_pipeline_plays_as_bindsnet(game):
    if game == "breakout":
        pytest.importorskip("ale_py")
    generator = torch.Generator().manual_seed(3)
    inputs, hidden, outputs = (6400, 30, 4) if game == "breakout" else (4, 16, 2)
    scale = 0.1 if game == "breakout" else 12.0
    weights = {"first": scale * torch.rand(inputs, hidden, generator=generator),
               "second": torch.rand(hidden, outputs, generator=generator)}
    steps = 60 if game == "breakout" else 300
    ours = play("snnc", game, weights, steps)
    theirs = play("bindsnet", game, weights, steps)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    assert len(set(ours[0])) > 1
    for a, b in zip(ours[2], theirs[2]):
        assert torch.equal(a.bool(), b.bool())
    assert sum(float(s.sum()) for s in ours[2]) > 0
    assert torch.allclose(ours[3], theirs[3], atol=1e-4)
    assert not torch.allclose(ours[3], weights["second"])
