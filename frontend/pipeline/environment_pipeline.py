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
last ``k`` frame differences (weights ``1/k .. 1``), times ``encode_factor``.
"""
from __future__ import annotations

import collections
import itertools

import torch
from tqdm import tqdm

from snnc.errors import SnncError
from snnc.network.monitors import Monitor
from snnc.network.nodes import AbstractInput
from snnc.pipeline.base_pipeline import BasePipeline


class EnvironmentPipeline(BasePipeline):
    """``EnvironmentPipeline(network, environment, action_function=None, encoding=None,
    num_episodes=100, output=None, render_interval=None, plot_interval=None,
    reward_delay=None, time=int(network.dt), overlay_input=1,
    percent_of_random_action=0.0, encode_factor=1.0, random_action_after=time,
    **BasePipeline options)``."""

    def __init__(self, network, environment, action_function=None, encoding=None, **kwargs) -> None:
        super().__init__(network, **kwargs)
        self.episode = 0
        self.env = environment
        self.action_function, self.encoding = action_function, encoding
        self.accumulated_reward = 0.0
        self.reward_list: list = []
        self.num_episodes = kwargs.get("num_episodes", 100)
        self.output = kwargs.get("output", None)
        self.render_interval = kwargs.get("render_interval", None)
        self.reward_delay = kwargs.get("reward_delay", None)
        self.time = kwargs.get("time", int(network.dt))
        self.overlay_t = int(kwargs.get("overlay_input", 1))
        self.percent_of_random_action = kwargs.get("percent_of_random_action", 0.0)
        self.encode_factor = kwargs.get("encode_factor", 1.0)
        self.random_action_after = kwargs.get("random_action_after", self.time)
        if self.reward_delay is not None:
            if int(self.reward_delay) < 1:
                raise SnncError(f"EnvironmentPipeline: reward_delay must be >= 1, got {self.reward_delay}")
            self.rewards = collections.deque([0.0] * int(self.reward_delay))
        if self.overlay_t > 1:
            self.overlay_time_effect = torch.arange(1, self.overlay_t + 1, dtype=torch.float,
                                                    device=self.device) / self.overlay_t
        self.overlay_start = True
        self.inputs = [name for name, layer in network.layers.items() if isinstance(layer, AbstractInput)]
        if not self.inputs:
            raise SnncError("EnvironmentPipeline: the network has no Input layer to feed observations to")
        self.action = torch.tensor(-1)
        self.last_action = torch.tensor(-1)
        self.action_counter = 0
        self.voltage_record = self.threshold_value = self.reward_plot = None
        self.first = True
        self._analyzer = None
        if self.output is not None:
            if self.output not in network.layers:
                raise SnncError(f"EnvironmentPipeline: output layer {self.output!r} is not in the network; "
                                f"layers are {list(network.layers)}")
            network.add_monitor(Monitor(network.layers[self.output], ["s"], time=self.time), self.output)
            actions = getattr(getattr(environment, "action_space", None), "n", None)
            width = actions if actions is not None else network.layers[self.output].n
            self.spike_record = {self.output: torch.zeros((self.time, width), device=self.device)}

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
        """Run episodes until ``num_episodes``, each from a reset until ``done``."""
        while self.episode < self.num_episodes:
            self.reset_state_variables()
            for _ in itertools.count():
                obs, reward, done, info = self.env_step()
                self.step((obs, reward, done, info), **kwargs)
                if done:
                    break
            print(f"Episode: {self.episode} - accumulated reward: {self.accumulated_reward:.2f}")
            self.episode += 1

    # -- acting -------------------------------------------------------------------
    def _choose(self):
        """This step's action (see the module docstring)."""
        n = self.env.action_space.n
        if torch.rand(1) < self.percent_of_random_action:
            return torch.randint(low=0, high=n, size=(1,))[0]
        if self.action_counter > self.random_action_after:
            if self.last_action == 0:
                tqdm.write(f"Fire -> too many times {self.last_action} ")
                return 1
            tqdm.write(f"too many times {self.last_action} ")
            return torch.randint(low=0, high=n, size=(1,))[0].item()
        return self.action_function(self, output=self.output)

    def env_step(self):
        """Render (at ``render_interval``), act, step the environment; returns
        ``(obs, reward, done, info)`` with the delayed reward and
        ``info["accumulated_reward"]``."""
        if self.render_interval is not None and self.step_count % self.render_interval == 0:
            self.env.render()
        if self.action_function is not None:
            self.last_action = self.action
            self.action = self._choose()
            self.action_counter = self.action_counter + 1 if self.last_action == self.action else 0
        obs, reward, done, info = self.env.step(self.action)
        if self.reward_delay is not None:
            self.rewards.append(reward)
            reward = self.rewards.popleft()
        self.accumulated_reward += reward
        info["accumulated_reward"] = self.accumulated_reward
        return obs, reward, done, info

    # -- the network's step ---------------------------------------------------------
    def _overlay(self, obs: torch.Tensor) -> torch.Tensor:
        """The weighted sum of the last ``overlay_input`` frame differences."""
        if self.overlay_start:
            self.overlay_last_obs = obs.reshape(obs.shape[-2], obs.shape[-1]).clone().to(self.device)
            self.overlay_buffer = torch.stack([self.overlay_last_obs] * self.overlay_t, dim=2)
            self.overlay_start = False
        else:
            obs = obs.to(self.device)
            change = torch.clamp(self.overlay_last_obs - obs, min=0)
            self.overlay_last_obs = obs.clone()
            self.overlay_buffer = torch.cat(
                (self.overlay_buffer[:, :, 1:], change.reshape(change.shape[-2], change.shape[-1], 1)), dim=2)
        return torch.sum(self.overlay_time_effect * self.overlay_buffer, dim=2) * self.encode_factor

    def step_(self, gym_batch, **kwargs) -> None:
        """Encode the observation, run the network with the reward, record the output."""
        obs, reward, done, info = gym_batch
        if self.overlay_t > 1:
            obs = self._overlay(obs)
        if self.encoding is None:
            frames = obs.unsqueeze(0).unsqueeze(0)
            frames = frames.repeat(self.time, *([1] * (frames.dim() - 1))).to(self.device)
            inputs = {name: frames for name in self.inputs}
        else:
            inputs = {name: self.encoding(obs.unsqueeze(0), self.time, device=self.device)
                      for name in self.inputs}
        self.network.run(inputs=inputs, time=self.time, reward=reward, **kwargs)
        if self.output is not None:
            self.spike_record[self.output] = self.network.monitors[self.output].get("s").float()
        if done:
            if self.network.reward_fn is not None:
                self.network.reward_fn.update(accumulated_reward=self.accumulated_reward,
                                              steps=self.step_count, **kwargs)
            self.reward_list.append(self.accumulated_reward)

    def reset_state_variables(self) -> None:
        """A new episode: environment and network reset, reward and action history cleared."""
        self.env.reset()
        self.network.reset_state_variables()
        self.accumulated_reward = 0.0
        self.step_count = 0
        self.overlay_start = True
        self.action = torch.tensor(-1)
        self.last_action = torch.tensor(-1)
        self.action_counter = 0
        if self.reward_delay is not None:
            self.rewards = collections.deque([0.0] * int(self.reward_delay))

    def plots(self, gym_batch, *args) -> None:
        """Per ``plot_config``: the observation (``obs_step``), spikes and voltages
        (``data_step``), the reward curve at episode ends (``reward_eps``)."""
        if self.plot_interval is None:
            return
        obs, reward, done, info = gym_batch
        for key, every in self.plot_config.items():
            if every is None or isinstance(every, bool) and not every:
                continue
            if key == "obs_step" and self.step_count % every == 0:
                self.analyzer.plot_obs(obs[0, ...].sum(0))
            elif key == "data_step" and self.step_count % every == 0:
                self.analyzer.plot_spikes(self.get_spike_data())
                self.analyzer.plot_voltages(*self.get_voltage_data())
            elif key == "reward_eps" and done and self.episode % every == 0:
                self.analyzer.plot_reward(self.reward_list)
        self.analyzer.finalize_step()
