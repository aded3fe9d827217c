"""Reward functions for reward-modulated learning (spec 6.9).

``Network(reward_fn=MovingAvgRPE)`` instantiates the class; each ``run`` given a
``reward`` replaces it by ``reward_fn.compute(reward=...)`` (once per run call) and an
environment loop calls ``reward_fn.update(...)`` once per episode.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch


class AbstractReward(ABC):
    """A reward function: ``compute(**kwargs)`` gives the reward a run uses;
    ``update(**kwargs)`` updates its own state."""

    @abstractmethod
    def compute(self, **kwargs):
        """The reward signal for this run."""

    @abstractmethod
    def update(self, **kwargs) -> None:
        """Update internal state (e.g. once per episode)."""


class MovingAvgRPE(AbstractReward):
    """Reward prediction error against an exponential moving average.

    ``compute(reward=r)`` returns ``r - reward_predict``. ``update(accumulated_reward=R,
    steps=n, ema_window=10.0)``: with ``a = 1 / ema_window``,
    ``reward_predict = (1 - a) * reward_predict + a * R / n`` and
    ``reward_predict_episode = (1 - a) * reward_predict_episode + a * R``, appended to
    ``rewards_predict_episode``.
    """

    def __init__(self, **kwargs) -> None:
        self.reward_predict = torch.tensor(0.0)
        self.reward_predict_episode = torch.tensor(0.0)
        self.rewards_predict_episode: list[torch.Tensor] = []

    def compute(self, **kwargs):
        return kwargs["reward"] - self.reward_predict

    def update(self, **kwargs) -> None:
        accumulated = torch.as_tensor(kwargs["accumulated_reward"], dtype=torch.float32)
        steps = torch.as_tensor(kwargs["steps"], dtype=torch.float32)
        window = torch.as_tensor(kwargs.get("ema_window", 10.0), dtype=torch.float32)
        keep = 1.0 - 1.0 / window
        self.reward_predict = keep * self.reward_predict + (accumulated / steps) / window
        self.reward_predict_episode = keep * self.reward_predict_episode + accumulated / window
        self.rewards_predict_episode.append(self.reward_predict_episode)
