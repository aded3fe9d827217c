"""Environments for reinforcement learning with pipelines (spec 13).

``GymEnvironment`` wraps gymnasium (``pip install 'snnc[rl]'`` for gymnasium and
ale-py's Atari games); ``DotSimulator`` and ``CueRewardSimulator`` are snnc's own
and need neither.
"""
from snnc.environment.cue_reward import CueRewardSimulator
from snnc.environment.dot_simulator import DotSimulator
from snnc.environment.environment import Environment, GymEnvironment

__all__ = ["Environment", "GymEnvironment", "DotSimulator", "CueRewardSimulator"]
