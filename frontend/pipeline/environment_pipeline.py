"""``EnvironmentPipeline``: a network acting in an environment (spec 13).

Each step: ``env_step()`` picks an action from the output layer's spikes of the last
run (``action_function(pipeline, output=...)``; a random action with probability
``percent_of_random_action``; a forced change after the same action more than
``random_action_after`` times in a row: FIRE (1) after action 0, else a random one),
steps the environment and delays and accumulates the reward; ``step((obs, reward,
done, info))`` encodes the observation (``encoding(obs, time, device=...)``, or the
observation repeated ``time`` times), runs the network for ``time`` with
``reward=reward`` and keeps the output layer's spikes in ``spike_record[output]``; at
the end of an episode it calls ``network.reward_fn.update(accumulated_reward=...,
steps=...)`` and appends the episode's reward to ``reward_list``.

``reward_delay=k`` hands the environment's reward to the network ``k`` steps late
(zeros first). ``overlay_input=k > 1`` replaces a mono frame by a weighted sum of its
last ``k`` frame differences (see :class:`FrameOverlay`), times ``encode_factor``.
"""
from __future__ import annotations

import collections

import torch
from tqdm import tqdm

from snnc.errors import SnncError
from snnc.network.monitors import Monitor
from snnc.network.nodes import AbstractInput
from snnc.pipeline.base_pipeline import BasePipeline, options

ENV_OPTIONS = {"num_episodes": 100, "output": None, "render_interval": None, "reward_delay": None,
               "overlay_input": 1, "percent_of_random_action": 0.0, "encode_factor": 1.0}
FIRE = 1        # Atari's FIRE: forced after too many repeats of action 0 (NOOP)


class FrameOverlay:
    """The last ``k`` differences of a mono frame, ``max(previous - frame, 0)`` (the
    first frame counts as its own difference ``k`` times), summed with weights
    ``1/k, 2/k, ..., 1`` from the oldest to the newest."""

    def __init__(self, k: int, device) -> None:
        self.weights = torch.arange(1, k + 1, dtype=torch.float, device=device) / k
        self.history: torch.Tensor | None = None
        self.previous: torch.Tensor | None = None

    def reset(self) -> None:
        self.history = self.previous = None

    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        frame = obs.reshape(obs.shape[-2], obs.shape[-1]).to(self.weights.device)
        if self.history is None:
            self.history = frame.unsqueeze(-1).repeat(1, 1, len(self.weights))
        else:
            change = (self.previous - frame).clamp(min=0)
            self.history = torch.cat((self.history[..., 1:], change.unsqueeze(-1)), dim=-1)
        self.previous = frame.clone()
        return (self.history * self.weights).sum(-1)


class EnvironmentPipeline(BasePipeline):
    """``EnvironmentPipeline(network, environment, action_function=None, encoding=None,
    num_episodes=100, output=None, render_interval=None, plot_interval=None,
    reward_delay=None, time=int(network.dt), overlay_input=1,
    percent_of_random_action=0.0, encode_factor=1.0, random_action_after=time,
    **BasePipeline options)``."""

    def __init__(self, network, environment, action_function=None, encoding=None, **kwargs) -> None:
        super().__init__(network, **kwargs)
        settings = options(kwargs, ENV_OPTIONS)
        self.env, self.action_function, self.encoding = environment, action_function, encoding
        self.num_episodes, self.output = settings["num_episodes"], settings["output"]
        self.render_interval, self.reward_delay = settings["render_interval"], settings["reward_delay"]
        self.percent_of_random_action = settings["percent_of_random_action"]
        self.encode_factor = settings["encode_factor"]
        self.overlay_t = int(settings["overlay_input"])
        self.time = kwargs.get("time", int(network.dt))
        self.random_action_after = kwargs.get("random_action_after", self.time)
        if self.reward_delay is not None and int(self.reward_delay) < 1:
            raise SnncError(f"EnvironmentPipeline: reward_delay must be >= 1, got {self.reward_delay}")
        self.inputs = [name for name, layer in network.layers.items() if isinstance(layer, AbstractInput)]
        if not self.inputs:
            raise SnncError("EnvironmentPipeline: the network has no Input layer to feed observations to")
        self.overlay = FrameOverlay(self.overlay_t, self.device) if self.overlay_t > 1 else None
        self.episode, self.reward_list = 0, []
        self._analyzer = None
        self._new_episode()
        if self.output is not None:
            self._record_output(network, environment)

    def _record_output(self, network, environment) -> None:
        """A monitor of the output layer's spikes over each run, read into ``spike_record``."""
        if self.output not in network.layers:
            raise SnncError(f"EnvironmentPipeline: output layer {self.output!r} is not in the network; "
                            f"layers are {list(network.layers)}")
        network.add_monitor(Monitor(network.layers[self.output], ["s"], time=self.time), self.output)
        width = getattr(getattr(environment, "action_space", None), "n", None) or network.layers[self.output].n
        self.spike_record = {self.output: torch.zeros((self.time, width), device=self.device)}

    def _new_episode(self) -> None:
        """Reward, action history, reward queue and frame overlay back to an episode's start."""
        self.accumulated_reward = 0.0
        self.action, self.last_action, self.action_counter = torch.tensor(-1), torch.tensor(-1), 0
        self.rewards = collections.deque([0.0] * int(self.reward_delay)) if self.reward_delay else None
        if self.overlay is not None:
            self.overlay.reset()

    @property
    def analyzer(self):
        """The ``MatplotlibAnalyzer`` that ``plots`` draws with, made on first use."""
        if self._analyzer is None:
            from snnc.analysis.pipeline_analysis import MatplotlibAnalyzer
            self._analyzer = MatplotlibAnalyzer(**self.plot_config)
        return self._analyzer

    @analyzer.setter
    def analyzer(self, value) -> None:
        self._analyzer = value

    def init_fn(self) -> None:
        pass

    def train(self, **kwargs) -> None:
        """Play episodes until ``num_episodes`` have been played."""
        while self.episode < self.num_episodes:
            self.reset_state_variables()
            done = False
            while not done:
                transition = self.env_step()
                self.step(transition, **kwargs)
                done = transition[2]
            print(f"Episode: {self.episode} - accumulated reward: {float(self.accumulated_reward):.2f}")
            self.episode += 1

    # -- acting -------------------------------------------------------------------
    def _pick(self):
        """The next action: random, forced variety, or the action function's choice."""
        actions = self.env.action_space.n
        explore = torch.rand(1) < self.percent_of_random_action     # drawn every step
        if explore:
            return torch.randint(low=0, high=actions, size=(1,))[0]
        if self.action_counter <= self.random_action_after:
            return self.action_function(self, output=self.output)
        tqdm.write(f"action {int(self.last_action)} repeated {self.action_counter} times: "
                   f"{'FIRE' if self.last_action == 0 else 'a random action'} instead")
        return FIRE if self.last_action == 0 else torch.randint(low=0, high=actions, size=(1,))[0].item()

    def env_step(self):
        """Render (at ``render_interval``), act, step the environment; returns
        ``(obs, reward, done, info)`` with the delayed reward and
        ``info["accumulated_reward"]``."""
        if self.render_interval is not None and self.step_count % self.render_interval == 0:
            self.env.render()
        if self.action_function is not None:
            self.last_action = self.action
            self.action = self._pick()
            self.action_counter = self.action_counter + 1 if self.last_action == self.action else 0
        obs, reward, done, info = self.env.step(self.action)
        if self.rewards is not None:
            self.rewards.append(reward)
            reward = self.rewards.popleft()
        self.accumulated_reward += reward
        info["accumulated_reward"] = self.accumulated_reward
        return obs, reward, done, info

    # -- the network's step ---------------------------------------------------------
    def _encode(self, obs) -> torch.Tensor:
        """The run's input for an observation (a tensor or an array such as
        ``CueRewardSimulator``'s): encoded, or repeated ``time`` times."""
        obs = torch.as_tensor(obs, dtype=torch.float32) if not isinstance(obs, torch.Tensor) else obs
        if self.overlay is not None:
            obs = self.overlay(obs) * self.encode_factor
        if self.encoding is not None:
            return self.encoding(obs.unsqueeze(0), self.time, device=self.device)
        framed = obs[None, None]
        return framed.expand(self.time, *framed.shape[1:]).to(self.device)

    def step_(self, gym_batch, **kwargs) -> None:
        """Run the network on the encoded observation with the reward; record the output."""
        obs, reward, done, info = gym_batch
        data = self._encode(obs)
        self.network.run(inputs={name: data for name in self.inputs}, time=self.time, reward=reward, **kwargs)
        if self.output is not None:
            self.spike_record[self.output] = self.network.monitors[self.output].get("s").float()
        if not done:
            return
        if self.network.reward_fn is not None:
            self.network.reward_fn.update(accumulated_reward=self.accumulated_reward, steps=self.step_count,
                                          **kwargs)
        self.reward_list.append(self.accumulated_reward)

    def reset_state_variables(self) -> None:
        """A new episode: environment and network reset, reward and action history cleared."""
        self.env.reset()
        self.network.reset_state_variables()
        self.step_count = 0
        self._new_episode()

    def plots(self, gym_batch, *args) -> None:
        """Per ``plot_config``: every ``obs_step`` steps the observation, every
        ``data_step`` steps the layers' spikes and voltages, at the end of every
        ``reward_eps``-th episode the reward curve."""
        if self.plot_interval is None:
            return
        obs, reward, done, info = gym_batch
        due = {key: every for key, every in self.plot_config.items()
               if every is not None and every is not False and key in ("obs_step", "data_step", "reward_eps")}
        if "obs_step" in due and self.step_count % due["obs_step"] == 0:
            self.analyzer.plot_obs(obs[0, ...].sum(0))
        if "data_step" in due and self.step_count % due["data_step"] == 0:
            self.analyzer.plot_spikes(self.get_spike_data())
            self.analyzer.plot_voltages(*self.get_voltage_data())
        if "reward_eps" in due and done and self.episode % due["reward_eps"] == 0:
            self.analyzer.plot_reward(self.reward_list)
        self.analyzer.finalize_step()
