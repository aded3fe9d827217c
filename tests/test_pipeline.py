"""Pipelines on a stub environment: the same actions, rewards, spikes and weights as a
plain loop over the same network, written here from spec 13."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from snnc.encoding import bernoulli
from snnc.environment.spaces import Discrete
from snnc.errors import SnncError
from snnc.learning import MSTDP
from snnc.learning.reward import MovingAvgRPE
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection
from snnc.pipeline import EnvironmentPipeline
from snnc.pipeline.action import (select_first_spike, select_highest, select_multinomial, select_random,
                                  select_softmax)

ACTIONS = 3
EPISODE = 12


class StubEnv:
    """Observations ``[1, 1, 8]`` drawn from a seeded stream; reward +1 when the action
    equals the step's target (``step % 3``), else -0.5; an episode lasts ``EPISODE`` steps."""

    def __init__(self, seed: int = 0) -> None:
        self.action_space = Discrete(ACTIONS)
        self.seed, self.t, self.taken = seed, 0, []
        self.rng = np.random.default_rng(seed)

    def reset(self):
        self.rng, self.t = np.random.default_rng(self.seed), 0
        return torch.zeros(1, 1, 8)

    def step(self, action):
        action = int(action.item() if isinstance(action, torch.Tensor) else action)
        self.taken.append(action)
        self.t += 1
        obs = torch.from_numpy(self.rng.random((1, 1, 8))).float()
        reward = 1.0 if action == self.t % ACTIONS else -0.5
        return obs, reward, self.t >= EPISODE, {}

    def render(self):
        pass


def build(seed: int = 0, reward_fn=None) -> Network:
    torch.manual_seed(seed)
    network = Network(dt=1.0, reward_fn=reward_fn)
    network.add_layer(Input(n=8, shape=[1, 1, 8], traces=True), name="In")
    network.add_layer(LIFNodes(n=12, traces=True), name="Hidden")
    network.add_layer(LIFNodes(n=ACTIONS, refrac=0, traces=True), name="Out")
    network.add_connection(Connection(network.layers["In"], network.layers["Hidden"],
                                      w=2.0 + 6.0 * torch.rand(8, 12)), source="In", target="Hidden")
    network.add_connection(Connection(network.layers["Hidden"], network.layers["Out"], wmin=0, wmax=8,
                                      w=0.5 + 2.5 * torch.rand(12, ACTIONS), update_rule=MSTDP, nu=0.5),
                           source="Hidden", target="Out")
    return network


def plain_loop(network, env, steps_time: int, choose, encode, delay: int = 0, episodes: int = 2):
    """Spec 13 by hand: act on the last run's output spikes, step, (delay,) encode, run."""
    monitor = Monitor(network.layers["Out"], ["s"], time=steps_time)
    network.add_monitor(monitor, "plain")
    actions, rewards, records, totals = [], [], [], []
    record = torch.zeros(steps_time, ACTIONS)         # kept across episodes, as BindsNET does
    for _ in range(episodes):
        env.reset()
        network.reset_state_variables()
        total, queue = 0.0, [0.0] * delay
        done, action, repeats = False, -1, 0
        while not done:
            last = action
            torch.rand(1)                               # the random-action draw (probability 0 here)
            if repeats > steps_time:                    # too many repeats: FIRE after 0, else random
                action = 1 if last == 0 else torch.randint(0, ACTIONS, (1,))[0].item()
            else:
                action = choose(record)
            repeats = repeats + 1 if action == last else 0
            obs, reward, done, _ = env.step(action)
            if delay:
                queue.append(reward)
                reward = queue.pop(0)
            total += reward
            network.run({"In": encode(obs, steps_time)}, time=steps_time, reward=reward)
            record = monitor.get("s").float()
            actions.append(int(action))
            rewards.append(reward)
            records.append(record.clone())
            if done and network.reward_fn is not None:
                network.reward_fn.update(accumulated_reward=total, steps=EPISODE)
        totals.append(total)
    return actions, rewards, records, totals


def pipeline_loop(pipeline, episodes: int = 2):
    actions, rewards, records = [], [], []
    for _ in range(episodes):
        pipeline.reset_state_variables()
        done = False
        while not done:
            obs, reward, done, info = pipeline.env_step()
            pipeline.step((obs, reward, done, info))
            actions.append(int(pipeline.action))
            rewards.append(reward)
            records.append(pipeline.spike_record["Out"].clone())
    return actions, rewards, records, pipeline.reward_list


def softmax_choice(record):
    return torch.multinomial(torch.softmax(record.sum(0).squeeze(), dim=0), 1).item()


def highest_choice(record):
    counts = record.sum(0).squeeze()
    if counts.sum() == 0:
        torch.randint(0, 1, (1,))                   # BindsNET's draw between 0 and 0
        return 0
    return int(torch.argmax(counts))                # argmax: the first maximum


def repeat_encode(obs, steps):
    frames = obs.unsqueeze(0).unsqueeze(0)
    return frames.repeat(steps, 1, 1, 1, 1)


def bernoulli_encode(obs, steps):
    return bernoulli(obs.unsqueeze(0), steps)


CASES = {
    "softmax-bernoulli": (select_softmax, softmax_choice, bernoulli, bernoulli_encode, 0),
    "highest-repeat-delay": (select_highest, highest_choice, None, repeat_encode, 2),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_environment_pipeline_matches_a_plain_loop(case):
    action_fn, choose, encoding, encode, delay = CASES[case]
    steps_time = 10
    reference = build(reward_fn=MovingAvgRPE)
    torch.manual_seed(7)
    expected = plain_loop(reference, StubEnv(3), steps_time, choose, encode, delay)

    network = build(reward_fn=MovingAvgRPE)
    options = dict(reward_delay=delay) if delay else {}
    pipeline = EnvironmentPipeline(network, StubEnv(3), action_function=action_fn, encoding=encoding,
                                   output="Out", time=steps_time, allow_gpu=False, **options)
    torch.manual_seed(7)
    got = pipeline_loop(pipeline)

    assert got[0] == expected[0]
    assert got[1] == expected[1]
    assert len(set(got[0])) > 1, "the agent should take more than one action"
    for ours, theirs in zip(got[2], expected[2]):
        assert torch.equal(ours, theirs)
    assert sum(r.sum() for r in got[2]) > 0, "the output layer should spike"
    assert got[3] == pytest.approx(expected[3])
    assert torch.equal(network.connections[("Hidden", "Out")].w, reference.connections[("Hidden", "Out")].w)
    assert not torch.equal(network.connections[("Hidden", "Out")].w, build().connections[("Hidden", "Out")].w)
    assert network.reward_fn.reward_predict == pytest.approx(float(reference.reward_fn.reward_predict))


def test_pipeline_layer_monitors_and_data():
    network = build()
    pipeline = EnvironmentPipeline(network, StubEnv(), action_function=select_highest, output="Out",
                                   time=4, allow_gpu=False, plot_config={"data_step": 1, "data_length": 10})
    assert {"In_spikes", "Hidden_spikes", "Hidden_voltages", "Out_spikes", "Out_voltages", "Out"} \
        <= set(network.monitors)
    assert "In_voltages" not in network.monitors
    pipeline.reset_state_variables()
    for _ in range(3):
        pipeline.step(pipeline.env_step())
    spikes = pipeline.get_spike_data()
    assert spikes["Hidden"].shape == (10, 1, 12)                      # the last data_length steps
    voltages, thresholds = pipeline.get_voltage_data()
    assert set(voltages) == {"Hidden", "Out"} and voltages["Out"].shape == (10, 1, ACTIONS)
    assert float(thresholds["Hidden"]) == -52.0
    assert pipeline.step_count == 3


def test_no_layer_monitors_without_data_step():
    network = build()
    EnvironmentPipeline(network, StubEnv(), action_function=select_highest, output="Out",
                        allow_gpu=False, plot_config={"data_step": None})
    assert set(network.monitors) == {"Out"}


def test_random_action_options():
    torch.manual_seed(0)
    pipeline = EnvironmentPipeline(build(), StubEnv(), action_function=select_highest, output="Out",
                                   time=2, percent_of_random_action=1.0, allow_gpu=False,
                                   plot_config={"data_step": None})
    pipeline.reset_state_variables()
    seen = set()
    for _ in range(30):
        pipeline.env_step()
        seen.add(int(pipeline.action))
    assert seen == {0, 1, 2}
    # the same action more than random_action_after times in a row forces a change
    forced = EnvironmentPipeline(build(), StubEnv(), action_function=lambda p, output: 0, output="Out",
                                 time=2, random_action_after=2, allow_gpu=False, plot_config={"data_step": None})
    forced.reset_state_variables()
    taken = []
    for _ in range(5):
        forced.env_step()
        taken.append(int(forced.action))
    assert taken[:4] == [0, 0, 0, 0] and taken[4] == 1            # FIRE after action 0


def test_action_functions():
    network = build()
    pipeline = EnvironmentPipeline(network, StubEnv(), action_function=select_softmax, output="Out",
                                   time=5, allow_gpu=False, plot_config={"data_step": None})
    record = torch.zeros(5, 1, ACTIONS)
    record[3, 0, 2] = record[4, 0, 2] = record[1, 0, 1] = record[2, 0, 0] = 1
    pipeline.spike_record["Out"] = record
    assert select_highest(pipeline, output="Out") == 2
    assert select_first_spike(pipeline, output="Out") == 1
    torch.manual_seed(0)
    draws = [select_softmax(pipeline, output="Out") for _ in range(3000)]
    counts = np.bincount(draws, minlength=3) / 3000
    expected = torch.softmax(torch.tensor([1.0, 1.0, 2.0]), 0).numpy()
    assert np.allclose(counts, expected, atol=0.03)
    pipeline.spike_record["Out"] = torch.zeros(5, 1, ACTIONS)
    assert select_highest(pipeline, output="Out") == 0 and select_first_spike(pipeline, output="Out") == 0
    assert 0 <= int(select_random(pipeline)) < ACTIONS
    with pytest.raises(SnncError, match="output="):
        select_softmax(pipeline)


def test_select_multinomial_uses_populations():
    torch.manual_seed(0)
    network = Network()
    network.add_layer(Input(n=2), name="In")
    network.add_layer(LIFNodes(n=6), name="Out")
    network.add_connection(Connection(network.layers["In"], network.layers["Out"]), source="In", target="Out")
    pipeline = EnvironmentPipeline(network, StubEnv(), action_function=select_multinomial, output="Out",
                                   allow_gpu=False, plot_config={"data_step": None})
    network.layers["Out"].s = torch.tensor([[0, 0, 1, 1, 0, 0]], dtype=torch.bool)   # action 1's pair
    assert {select_multinomial(pipeline, output="Out") for _ in range(50)} == {1}
    network.layers["Out"].s = torch.tensor([[1, 0, 0, 0, 0, 1]], dtype=torch.bool)
    assert {select_multinomial(pipeline, output="Out") for _ in range(200)} == {0, 2}
    network.layers["Out"].s = torch.zeros(1, 6, dtype=torch.bool)
    assert {int(select_multinomial(pipeline, output="Out")) for _ in range(200)} == {0, 1, 2}
    network.add_layer(LIFNodes(n=4), name="Odd")
    with pytest.raises(SnncError, match="multiple"):
        select_multinomial(pipeline, output="Odd")


def test_bad_pipeline_options():
    with pytest.raises(SnncError, match="output layer 'Nope'"):
        EnvironmentPipeline(build(), StubEnv(), output="Nope", allow_gpu=False)
    with pytest.raises(SnncError, match="reward_delay"):
        EnvironmentPipeline(build(), StubEnv(), output="Out", reward_delay=0, allow_gpu=False)
    pipeline = EnvironmentPipeline(build(), StubEnv(), output="Out", allow_gpu=False,
                                   plot_config={"data_step": None})
    with pytest.raises(SnncError, match="data_step"):
        pipeline.get_spike_data()


class FrameEnv(StubEnv):
    """The stub with 4x4 frames ``[1, 1, 4, 4]``."""

    def step(self, action):
        obs, reward, done, info = super().step(action)
        return obs.repeat(1, 1, 2).reshape(1, 1, 4, 4), reward, done, info


def test_environment_pipeline_plots_at_its_interval(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    torch.manual_seed(0)
    network = Network()
    network.add_layer(Input(n=16, shape=[1, 1, 1, 4, 4]), name="In")
    network.add_layer(LIFNodes(n=ACTIONS), name="Out")
    network.add_connection(Connection(network.layers["In"], network.layers["Out"], w=10 * torch.rand(16, ACTIONS)),
                           source="In", target="Out")
    config = {"data_step": 2, "data_length": 8, "obs_step": 1, "reward_eps": 1}
    pipeline = EnvironmentPipeline(network, FrameEnv(), action_function=select_highest, output="Out", time=3,
                                   plot_interval=1, plot_config=config, allow_gpu=False)
    pipeline.reset_state_variables()
    done = False
    while not done:
        result = pipeline.env_step()
        pipeline.step(result)
        done = result[2]
    plots = pipeline.analyzer.plots
    assert set(plots) == {"obs", "spike", "voltage", "reward"}
    assert np.allclose(plots["reward"][2].get_ydata(), pipeline.reward_list)
    assert plots["obs"][1].get_array().shape == (4, 4)
    plt.close("all")


def test_frame_overlay_weights_the_last_frame_differences():
    from snnc.pipeline.environment_pipeline import FrameOverlay

    overlay = FrameOverlay(3, "cpu")
    frames = [torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.tensor([[0.0, 0.0], [1.0, 0.0]]),
              torch.tensor([[0.0, 1.0], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [0.0, 0.0]])]
    outputs = [overlay(frame.reshape(1, 1, 2, 2)) for frame in frames]
    weights = [1 / 3, 2 / 3, 1.0]
    history = [frames[0]] * 3                        # the first frame fills the history
    for previous, frame, out in zip([None] + frames[:-1], frames, outputs):
        if previous is not None:
            history = history[1:] + [(previous - frame).clamp(min=0)]
        expected = sum(w * h for w, h in zip(weights, history))
        assert torch.allclose(out, expected)
    assert torch.allclose(outputs[-1], torch.tensor([[1 / 3, 1.0], [2 / 3, 1 / 3]]))
    overlay.reset()
    assert torch.allclose(overlay(frames[1].reshape(1, 1, 2, 2)), 2 * frames[1])


def test_pipeline_steps_reuse_the_bound_program():
    """After the first step, steps and episode resets neither lower nor compile again:
    each run takes the program's repeated-run path (jit.STATS counts any lowering)."""
    from snnc.runtime import jit

    network = build(reward_fn=MovingAvgRPE)
    pipeline = EnvironmentPipeline(network, StubEnv(), action_function=select_softmax, encoding=bernoulli,
                                   output="Out", time=5, allow_gpu=False)
    pipeline.reset_state_variables()
    pipeline.step(pipeline.env_step())
    before = jit.snapshot()
    for _ in range(2 * EPISODE):
        done = pipeline.step(pipeline.env_step()) or pipeline.env.t >= EPISODE
        if done:
            pipeline.reset_state_variables()
    spent = jit.STATS.since(before)
    assert (spent.seconds, spent.fresh, spent.loaded) == (0.0, 0, 0)
    assert len(pipeline.reward_list) == 2


def test_cue_reward_task_in_an_environment_pipeline():
    """CueRewardSimulator's integer arrays go through the pipeline as they are; its
    tensor rewards accumulate; the episode ends after ``epdur`` steps."""
    from snnc.environment import CueRewardSimulator

    torch.manual_seed(0)
    network = Network()
    network.add_layer(Input(n=24, shape=[1, 1, 24], traces=True), name="In")
    network.add_layer(LIFNodes(n=2, refrac=0, traces=True), name="Out")
    network.add_connection(Connection(network.layers["In"], network.layers["Out"], w=0.5 + torch.rand(24, 2),
                                      update_rule=MSTDP, nu=0.1, wmin=0, wmax=2), source="In", target="Out")
    env = CueRewardSimulator(seed=2, epdur=60, cuebits=20)
    pipeline = EnvironmentPipeline(network, env, action_function=select_softmax, output="Out", time=3,
                                   num_episodes=1, allow_gpu=False, plot_config={"data_step": None})
    pipeline.train()
    assert pipeline.step_count == 60 and len(pipeline.reward_list) == 1
    judged = float(pipeline.reward_list[0])
    assert judged == float(pipeline.accumulated_reward) and -6 <= judged <= 6


def test_base_pipeline_intervals_and_batch_moves(capsys):
    """``step`` runs ``step_`` on the batch (tensors moved, containers kept), then prints,
    plots, saves and tests at their own intervals; missing hooks say which."""
    import collections

    from snnc.pipeline import BasePipeline
    from snnc.pipeline.base_pipeline import recursive_to

    calls = collections.Counter()

    class Counting(BasePipeline):
        def init_fn(self):
            calls["init"] += 1

        def step_(self, batch, **kwargs):
            return batch["x"] * 2

        def plots(self, batch, step_out):
            calls["plots"] += 1
            assert torch.equal(step_out, batch["x"] * 2)

        def test(self):
            calls["test"] += 1

    pipeline = Counting(build(), print_interval=2, plot_interval=3, test_interval=4, allow_gpu=False,
                        plot_config={"data_step": None})
    for _ in range(12):
        out = pipeline.step({"x": torch.ones(2), "meta": [1, "a"]})
    assert torch.equal(out, 2 * torch.ones(2))
    assert calls == {"init": 1, "plots": 4, "test": 3}
    assert capsys.readouterr().out.count("Iteration:") == 6
    Pair = collections.namedtuple("Pair", "a b")
    moved = recursive_to({"p": Pair(torch.zeros(1), [torch.ones(1), 3]), "n": None}, torch.device("cpu"))
    assert isinstance(moved["p"], Pair) and moved["p"].b[1] == 3 and moved["n"] is None
    with pytest.raises(SnncError, match="cannot move a set"):
        recursive_to({1, 2}, torch.device("cpu"))

    class Bare(BasePipeline):
        def init_fn(self):
            pass

    with pytest.raises(NotImplementedError, match="Bare must provide step_"):
        Bare(build(), allow_gpu=False, plot_config={"data_step": None}).step({})
