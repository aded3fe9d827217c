"""``CueRewardSimulator``: the cue/reward association task of Backpropamine (spec 13;
Miconi et al. 2019, https://openreview.net/pdf?id=r1lrAiA5Ym).

An episode of ``epdur`` steps holds trials of 10–20 steps. Each trial shows two of four
binary cues (``cuebits`` bits each); every step but the last two shows, with
probability ``1 - zprob``, the pair's cues in turn, else zeros. The second-to-last step
shows the response cue (first bit 1); at the last step the action is judged: reward
+1 when it is 1 exactly if the episode's target cue was among the pair (else -1), 0 on
every other step. The observation is ``cuebits + 4`` integers: the cue bits, the step
in the episode, whether the previous action was 0, whether it was 1, and the previous
reward. ``reset`` re-seeds the simulator's own random streams with ``seed`` (so each
episode replays), draws four distinct cues and the target; ``step`` returns
``(obs, reward [1], done, info)``.

The four cues are distinct non-zero bit patterns, none equal to the response cue.
BindsNET's version divides the trial length by ``epdur`` (so every trial lasts one step
and only the judgement remains), can draw a fifth, absent target, writes cue values
left-aligned (so ``v`` and ``2v`` look alike) and returns the same array object every
step; snnc's follows the task as described above.
"""
from __future__ import annotations

import random
import time as _time

import numpy as np
import torch

from snnc.environment.spaces import discrete
from snnc.errors import SnncError

NUM_CUES = 4


class CueRewardSimulator:
    """``CueRewardSimulator(epdur=200, cuebits=20, seed=<clock>, zprob=0.6)``."""

    def __init__(self, **kwargs) -> None:
        unknown = sorted(set(kwargs) - {"epdur", "cuebits", "seed", "zprob"})
        if unknown:
            raise SnncError(f"CueRewardSimulator: unknown option(s) {unknown}; options are "
                            "['cuebits', 'epdur', 'seed', 'zprob']")
        self.ep_duration = int(kwargs.get("epdur", 200))
        self.cuebits = int(kwargs.get("cuebits", 20))
        self.seed = int(kwargs.get("seed", _time.time()))
        self.zeroprob = float(kwargs.get("zprob", 0.6))
        if not 0.0 <= self.zeroprob <= 1.0:
            raise SnncError(f"CueRewardSimulator: zprob must be a probability, got {self.zeroprob}")
        if self.cuebits < 3:
            raise SnncError(f"CueRewardSimulator: cuebits must be >= 3 (four distinct cues), got {self.cuebits}")
        self.action_space = discrete(2)
        self._random = random.Random(self.seed)
        self._numpy = np.random.default_rng(self.seed)
        self.reset()

    def make(self, name=None) -> None:
        self.reset()

    def reset(self) -> np.ndarray:
        """Re-seed, draw four distinct cues and the target; return an all-zero observation."""
        self._random.seed(self.seed)
        self._numpy = np.random.default_rng(self.seed)
        self.tstep, self.trialTime = 0, 0
        response = 2 ** (self.cuebits - 1)          # the pattern 1 0 0 ... 0
        values = [response]
        while response in values:
            values = self._random.sample(range(1, 2 ** self.cuebits), NUM_CUES)
        self.cues = np.array([[int(bit) for bit in np.binary_repr(v, width=self.cuebits)] for v in values],
                             dtype=np.int32)
        self.target = self._random.randrange(NUM_CUES)
        self.pairmask = np.arange(2)
        self.targ_disp, self.cue_pair_ind = 0, 0
        self.obs = np.zeros(self.cuebits + 4, dtype=np.int32)
        self.reward = torch.zeros(1)
        self.response = 0
        return self.obs

    def step(self, action):
        """Show this step's input; judge ``action`` at a trial's last step."""
        action = int(action.item() if isinstance(action, torch.Tensor) else action)
        self.tstep += 1
        self.trialTime -= 1
        obs = np.zeros(self.cuebits + 4, dtype=np.int32)
        obs[-4:] = (self.tstep, self.response == 0, self.response == 1, int(self.reward[0]))
        self.response = action
        reward = 0
        if self.trialTime <= 0:                      # a new trial: its length and cue pair
            self.trialTime = self._random.randint(10, 20)
            self.pairmask = np.sort(self._numpy.permutation(NUM_CUES)[:2])
            self.targ_disp = int(self.target in self.pairmask)
            self.cue_pair_ind = 0
        if self.trialTime == 2:
            obs[0] = 1                               # the response cue
        elif self.trialTime == 1:
            reward = 1 if action == self.targ_disp else -1
        elif self._numpy.uniform() > self.zeroprob:
            obs[:-4] = self.cues[self.pairmask[self.cue_pair_ind]]
            self.cue_pair_ind = 1 - self.cue_pair_ind
        self.obs, self.reward = obs, torch.tensor([float(reward)])
        info = {"target": self.target, "pairmask": self.pairmask.copy(), "targ_disp": self.targ_disp}
        return obs, self.reward.clone(), self.ep_duration <= self.tstep, info

    def render(self) -> None:
        print(self.obs)

    def close(self) -> None:
        pass
