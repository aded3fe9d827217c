"""The environment interface and ``GymEnvironment``, a wrapper around gymnasium (spec 13).

``GymEnvironment.step(a)`` returns ``(obs, reward, done, info)``: ``obs`` is a float
tensor with a leading batch dimension (``[1, 1, H, W]`` for a mono image with
``add_channel_dim``, ``[1, L]`` for a vector), after the environment's frame
pre-processing, the optional history difference and the encoder. As in BindsNET,
``BreakoutDeterministic-v4`` frames are cropped to rows 34–193, grey-scaled, resized
to 80×80 and binarised, ``SpaceInvaders-v0`` frames are grey-scaled, resized to 84
wide × 110 high, cut to rows 26–103 and binarised, and other environments' frames are
kept as they are.

With ``history_length=L`` and ``delta=d`` the environment keeps ``L`` past frames, one
every ``d`` steps, in a ring; once the ring is full each observation becomes
``clamp(frame - sum(stored frames), 0, 1)`` (what is new in the frame).

Needs gymnasium, and ale-py for Atari games: ``pip install 'snnc[rl]'``.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch

from snnc.datasets.preprocess import binary_image, crop, gray_scale, subsample
from snnc.encoding import NullEncoder
from snnc.errors import SnncError

_OPTIONS = {"max_prob": 1.0, "clip_rewards": True, "history_length": None, "delta": 1,
            "add_channel_dim": True, "seed": None}


def gymnasium():
    """The gymnasium module (ALE's games registered when ale-py is installed)."""
    try:
        import gymnasium as gym
    except ImportError as error:
        raise ImportError("snnc.environment.GymEnvironment needs gymnasium (and ale-py for Atari "
                          "games): pip install 'snnc[rl]'") from error
    try:
        import ale_py
        gym.register_envs(ale_py)
    except ImportError:
        pass
    return gym


_LEGACY = re.compile(r"^(\w+)Deterministic-v([04])$")


def register_legacy(gym, name: str) -> None:
    """Register ALE's retired ``<Game>Deterministic-v0/v4`` ids (4 frames per action, 3
    for Space Invaders; v4 never repeats an action, v0 repeats it with probability
    0.25), which BindsNET's
    Breakout examples use and ale-py >= 0.9 no longer registers."""
    match = _LEGACY.match(name)
    if match is None or name in gym.envs.registry:
        return
    base = gym.envs.registry.get(f"{match.group(1)}NoFrameskip-v{match.group(2)}")
    if base is None:
        return
    skip = 3 if match.group(1) == "SpaceInvaders" else 4      # as gym defined them
    kwargs = {**base.kwargs, "frameskip": skip,
              "repeat_action_probability": 0.0 if match.group(2) == "4" else 0.25}
    gym.register(id=name, entry_point=base.entry_point, kwargs=kwargs,
                 max_episode_steps=base.max_episode_steps)


def _breakout(frame: np.ndarray) -> np.ndarray:
    return binary_image(subsample(gray_scale(crop(frame, 34, 194, 0, 160)), 80, 80))


def _space_invaders(frame: np.ndarray) -> np.ndarray:
    return binary_image(subsample(gray_scale(frame), 84, 110)[26:104, :])


# The environments whose frames BindsNET pre-processes; any other keeps its raw frames.
PREPROCESSORS = {"BreakoutDeterministic-v4": _breakout, "SpaceInvaders-v0": _space_invaders}


class Environment(ABC):
    """What a pipeline needs of an environment."""

    @abstractmethod
    def step(self, a: int) -> tuple[Any, ...]:
        """Take action ``a``; return ``(obs, reward, done, info)``."""

    @abstractmethod
    def reset(self) -> None:
        """Start a new episode."""

    @abstractmethod
    def render(self) -> None:
        """Show (or return) the current frame."""

    @abstractmethod
    def close(self) -> None:
        """Release the environment."""

    @abstractmethod
    def preprocess(self) -> None:
        """Turn the raw observation into the network's input."""


class GymEnvironment(Environment):
    """A gymnasium environment as BindsNET's pipelines expect it.

    ``GymEnvironment(name, render_mode="rgb_array", encoder=NullEncoder(), max_prob=1.0,
    clip_rewards=True, history_length=None, delta=1, add_channel_dim=True, seed=None)``.
    ``clip_rewards`` replaces each reward by its sign. ``seed`` seeds the first reset
    and the action space, so a seeded run replays exactly; later resets continue the
    environment's random stream unless given a seed of their own.
    """

    def __init__(self, name: str, render_mode: str | None = "rgb_array", encoder=NullEncoder(),
                 **kwargs) -> None:
        unknown = sorted(set(kwargs) - set(_OPTIONS))
        if unknown:
            raise SnncError(f"GymEnvironment({name!r}): unknown option(s) {unknown}; "
                            f"options are {sorted(_OPTIONS)}")
        options = {**_OPTIONS, **kwargs}
        self.max_prob = float(options["max_prob"])
        if not 0.0 < self.max_prob <= 1.0:
            raise SnncError(f"GymEnvironment({name!r}): max_prob must be in (0, 1], got {self.max_prob}")
        self.history_length, self.delta = options["history_length"], options["delta"]
        if self.history_length is not None and (int(self.history_length) < 1 or self.delta is None
                                                or int(self.delta) < 1):
            raise SnncError(f"GymEnvironment({name!r}): history_length and delta must be >= 1, "
                            f"got {self.history_length} and {self.delta}")
        gym = gymnasium()
        self.name = name
        register_legacy(gym, name)
        try:
            self.env = gym.make(name, render_mode=render_mode)
        except gym.error.Error as error:
            hint = " (Atari games need ale-py: pip install 'snnc[rl]')" if "ALE" in str(error) or \
                "Namespace" in str(error) else ""
            raise SnncError(f"GymEnvironment: gymnasium cannot make {name!r}: {error}{hint}") from error
        self.action_space = self.env.action_space
        self.encoder = encoder
        self.clip_rewards = bool(options["clip_rewards"])
        self.add_channel_dim = bool(options["add_channel_dim"])
        self.seed = options["seed"]
        self._seeded = False
        self._preprocess = PREPROCESSORS.get(name)
        slots = int(self.history_length) if self.history_length is not None else 0
        self.history: list[torch.Tensor | None] = [None] * slots
        self.history_index = 0
        self.episode_step_count = 0
        self.obs = self.reward = self.info = None
        self.done = False

    # -- gymnasium calls ----------------------------------------------------------
    def reset(self, seed: int | None = None) -> torch.Tensor:
        """Start an episode; returns the pre-processed first frame (no channel or batch dim)."""
        if seed is None and self.seed is not None and not self._seeded:
            seed = int(self.seed)
            self.action_space.seed(seed)
        self._seeded = True
        self.obs, self.info = self.env.reset(seed=seed)
        self.preprocess()
        self.history = [None] * len(self.history)
        self.episode_step_count = 0
        self.done = False
        return self.obs

    def step(self, a) -> tuple[torch.Tensor, float, bool, dict]:
        """Take action ``a`` (an int or a one-element tensor). ``info`` gains
        ``"raw_obs"`` (the frame as gymnasium gave it), ``"gym_obs"`` (pre-processed) and,
        with a history, ``"delta_obs"`` (the new part of the frame)."""
        action = self._action(a)
        raw, reward, terminated, truncated, info = self.env.step(action)
        self.done = bool(terminated or truncated)
        self.reward = float(np.sign(reward) if self.clip_rewards else reward)
        self.obs = raw
        self.preprocess()
        info["raw_obs"], info["gym_obs"] = raw, self.obs
        if self.history:
            self.obs = info["delta_obs"] = self._difference(self.obs)
        self.obs = self._shaped(self.obs)
        self.episode_step_count += 1
        return self.obs, self.reward, self.done, info

    def _action(self, a) -> int:
        if not isinstance(a, torch.Tensor):
            return int(a)
        if a.numel() != 1:
            raise SnncError(f"GymEnvironment({self.name!r}).step: expected one action, got a tensor "
                            f"of shape {list(a.shape)}")
        return int(a.item())

    def _shaped(self, obs: torch.Tensor) -> torch.Tensor:
        """A channel dim for mono images (``add_channel_dim``), the encoder, a batch dim."""
        if obs.dim() == 2 and self.add_channel_dim:
            obs = obs[None]
        if self.encoder is not None:
            obs = self.encoder(obs)
        return obs[None]

    def render(self):
        return self.env.render()

    def close(self) -> None:
        self.env.close()

    def preprocess(self) -> None:
        frame = np.asarray(self.obs)
        if self._preprocess is not None:
            frame = self._preprocess(frame)
        self.obs = torch.from_numpy(np.ascontiguousarray(frame)).float()

    # -- history ------------------------------------------------------------------
    def _difference(self, frame: torch.Tensor) -> torch.Tensor:
        """Store every ``delta``-th frame in the ring; once it is full, return what is
        new in ``frame`` against the stored frames."""
        full = self.episode_step_count >= len(self.history) * int(self.delta)
        out = torch.clamp(frame - sum(self.history), 0, 1) if full else frame
        if self.episode_step_count % int(self.delta) == 0:
            self.history[self.history_index] = frame
            self.history_index = (self.history_index + 1) % len(self.history)
        return out
