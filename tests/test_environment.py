"""Environments: GymEnvironment on real gymnasium environments (CartPole; Breakout with
ale-py) and on a registered test environment; DotSimulator; CueRewardSimulator; frame
pre-processing."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from snnc.datasets.preprocess import binary_image, crop, gray_scale, subsample
from snnc.environment import CueRewardSimulator, DotSimulator
from snnc.errors import SnncError

gym = pytest.importorskip("gymnasium")
from snnc.environment import GymEnvironment  # noqa: E402


class Frames(gym.Env):
    """2-D frames: frame t is 1 at cell (t mod 4, t mod 5); reward 3 - t; ends after 8 steps."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, render_mode=None):
        self.observation_space = gym.spaces.Box(0, 1, (4, 5), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0

    def frame(self):
        grid = np.zeros((4, 5), dtype=np.float32)
        grid[self.t % 4, self.t % 5] = 1
        return grid

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.frame(), {}

    def step(self, action):
        self.t += 1
        return self.frame(), 3.0 - self.t, self.t >= 8, False, {}


class Growing(Frames):
    """Frame t lights the first t + 1 cells (row-major), so frames overlap."""

    def frame(self):
        grid = np.zeros((4, 5), dtype=np.float32)
        grid.reshape(-1)[:self.t + 1] = 1
        return grid


for _id, _entry in (("SnncFrames-v0", Frames), ("SnncGrowing-v0", Growing)):
    if _id not in gym.envs.registry:
        gym.register(id=_id, entry_point=_entry)


def test_cartpole_matches_gymnasium_and_replays():
    env = GymEnvironment("CartPole-v1", seed=5)
    raw = gym.make("CartPole-v1")
    first, _ = raw.reset(seed=5)
    assert torch.equal(env.reset(), torch.from_numpy(first).float())
    actions = [0, 1, 1, 0, 1, 0, 0, 1]
    for a in actions:
        obs, reward, done, info = env.step(torch.tensor(a))
        expected, r, term, trunc, _ = raw.step(a)
        assert obs.shape == (1, 4) and torch.equal(obs[0], torch.from_numpy(expected).float())
        assert reward == 1.0 and done == (term or trunc)
        assert np.array_equal(info["raw_obs"], expected) and torch.equal(info["gym_obs"], obs[0])
    one, two = GymEnvironment("CartPole-v1", seed=5), GymEnvironment("CartPole-v1", seed=5)
    assert torch.equal(one.reset(), two.reset())
    for a in actions:
        assert torch.equal(one.step(a)[0], two.step(a)[0])
    assert not torch.equal(GymEnvironment("CartPole-v1", seed=6).reset(), first_tensor(first))


def first_tensor(array):
    return torch.from_numpy(array).float()


def test_registered_frames_channel_reward_clip_and_encoder():
    env = GymEnvironment("SnncFrames-v0")
    assert env.reset().shape == (4, 5)
    obs, reward, done, _ = env.step(0)
    assert obs.shape == (1, 1, 4, 5) and obs[0, 0, 1, 1] == 1 and obs.sum() == 1
    assert reward == 1.0                                  # sign(3 - 1)
    for _ in range(2):
        obs, reward, done, _ = env.step(0)
    assert reward == 0.0 and not done                     # sign(3 - 3)
    raw = GymEnvironment("SnncFrames-v0", clip_rewards=False, add_channel_dim=False,
                         encoder=lambda x: x.unsqueeze(0).repeat(3, 1, 1))
    raw.reset()
    raw.step(0)
    obs, reward, _, _ = raw.step(0)
    assert reward == 1.0 and obs.shape == (1, 3, 4, 5)


def test_history_keeps_the_new_part_of_each_frame():
    env = GymEnvironment("SnncFrames-v0", history_length=2, delta=1, add_channel_dim=False)
    env.reset()
    frames = []
    for t in range(1, 7):
        obs, _, _, info = env.step(0)
        grid = np.zeros((4, 5), dtype=np.float32)
        grid[t % 4, t % 5] = 1
        frames.append(grid)
        if t <= 2:                                        # filling the ring: frames as they are
            expected = grid
        else:                                             # minus the two stored frames, clamped
            expected = np.clip(grid - frames[-2] - frames[-3], 0, 1)
        assert np.array_equal(obs[0].numpy(), expected), t
        assert torch.equal(info["delta_obs"], obs[0])
    growing = GymEnvironment("SnncGrowing-v0", history_length=1, delta=2, add_channel_dim=False)
    growing.reset()
    lit = [growing.step(0)[0][0].sum().item() for _ in range(5)]
    # frame t lights cells 0..t; counts 0 and 2 store their frames (t = 1, 3); from count 2
    # on the stored frame is subtracted: t=3 minus t=1, t=4 minus t=3, t=5 minus t=3
    assert lit == [2, 3, 2, 1, 2]


def test_gym_environment_errors(monkeypatch):
    with pytest.raises(SnncError, match="unknown option"):
        GymEnvironment("CartPole-v1", history=3)
    with pytest.raises(SnncError, match="max_prob"):
        GymEnvironment("CartPole-v1", max_prob=0)
    with pytest.raises(SnncError, match="cannot make 'NoSuchGame-v9'"):
        GymEnvironment("NoSuchGame-v9")
    env = GymEnvironment("CartPole-v1")
    env.reset()
    with pytest.raises(SnncError, match="one action"):
        env.step(torch.tensor([0, 1]))
    monkeypatch.setitem(sys.modules, "gymnasium", None)
    with pytest.raises(ImportError, match=r"snnc\[rl\]"):
        GymEnvironment("CartPole-v1")


def test_breakout_frames():
    pytest.importorskip("ale_py")
    env = GymEnvironment("BreakoutDeterministic-v4", seed=0)
    first = env.reset()
    assert first.shape == (80, 80) and set(first.unique().tolist()) <= {0.0, 1.0}
    assert env.action_space.n == 4
    for action in [1, 2, 2, 3, 3, 0, 1, 2]:
        obs, reward, done, info = env.step(action)
        frame = info["raw_obs"]
        assert frame.shape == (210, 160, 3) and torch.equal(info["gym_obs"], obs[0, 0])
        # an independent reading: grey of rows 34..193, then any lit pixel in each 2x2 block
        grey = frame[34:194].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        expected = (grey.reshape(80, 2, 80, 2) >= 2).any(axis=(1, 3))
        assert obs.shape == (1, 1, 80, 80)
        assert np.array_equal(obs[0, 0].numpy().astype(bool), expected)
        assert reward in (0.0, 1.0)
    assert obs.sum() > 100                                 # bricks, paddle and walls are lit


def test_preprocess_functions():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (30, 20, 3), dtype=np.uint8)
    grey = gray_scale(image)
    exact = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert grey.dtype == np.uint8 and np.abs(grey - exact).max() <= 0.51   # 15-bit weights
    assert crop(image, 2, 10, 3, 7).shape == (8, 4, 3)
    assert np.array_equal(binary_image(np.array([[0, 3], [255, 0]], np.uint8)), [[0, 1], [1, 0]])
    # bilinear with half-pixel centres: halving averages 2x2 blocks, doubling repeats edges
    floats = rng.random((6, 8)).astype(np.float32)
    half = subsample(floats, 4, 3)
    assert half.shape == (3, 4) and np.allclose(half, floats.reshape(3, 2, 4, 2).mean(axis=(1, 3)), atol=1e-6)
    small = np.array([[0.0, 4.0]], np.float32)
    assert np.allclose(subsample(small, 4, 1), [[0.0, 1.0, 3.0, 4.0]])
    bytes_half = subsample(grey[:30, :20], 10, 15)
    assert np.abs(bytes_half.astype(int) - grey.astype(float).reshape(15, 2, 10, 2).mean(axis=(1, 3))).max() <= 1
    with pytest.raises(SnncError, match="3 colour channels"):
        gray_scale(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(SnncError, match="output size"):
        subsample(floats, 0, 3)


# -- DotSimulator ---------------------------------------------------------------------

def test_dot_simulator_replays_and_moves():
    env = DotSimulator(30, height=12, width=12, decay=3, seed=4, mute=True, fit_func="euc")
    start = env.reset().copy()
    assert start.sum() == 2                                   # the network's dot and one target
    trace = []
    for t in range(30):
        obs, reward, done, intercept = env.step(t % 5)
        assert obs.shape == (12, 12) and obs.max() <= 1
        assert isinstance(reward, torch.Tensor) and reward.dim() == 0
        target, net = env.dots[0], env.netDot
        if not intercept:
            assert float(reward) == pytest.approx(-np.hypot(target.row[0] - net.row[0], target.col[0] - net.col[0]),
                                                  abs=2.0)   # the target moved after the reward
        trace.append((obs.copy(), float(reward)))
        assert done == (t == 29)
    assert np.array_equal(env.reset(), start)                # reset re-seeds: the episode replays
    for t, (obs, reward) in enumerate(trace):
        again = env.step(t % 5)
        assert np.array_equal(again[0], obs) and float(again[1]) == reward
    assert not np.array_equal(DotSimulator(5, seed=5, mute=True).reset(),
                              DotSimulator(5, seed=4, mute=True).reset())


def test_dot_simulator_tails_edges_and_fitness():
    env = DotSimulator(10, height=9, width=9, decay=3, seed=1, mute=True, randr=0.0, bound_hand="stay")
    env.reset()
    env.netDot.row[:], env.netDot.col[:] = 4, 4
    env.dots[0].row[:], env.dots[0].col[:] = 0, 0
    env.dotDir = 3                                            # targets move down (row - 1)
    env.step(2)                                               # the network's dot moves right twice
    obs = env.step(2)[0]
    assert obs[4, 6] == 1 and obs[4, 5] == pytest.approx(2 / 3) and obs[4, 4] == pytest.approx(1 / 3)
    assert obs[0, 0] == 1 and obs.sum() == pytest.approx(3)   # the target stays clamped at the edge
    bounce = DotSimulator(10, height=9, width=9, seed=1, mute=True, randr=0.0, bound_hand="bounce", diag=True)
    bounce.reset()
    bounce.dots[0].row[:], bounce.dots[0].col[:] = 8, 8
    bounce.dotDir = 5                                         # up-right into the corner
    bounce.step(None)
    assert bounce.dotDir == 7 and (bounce.dots[0].row[0], bounce.dots[0].col[0]) == (8, 8)
    wrap = DotSimulator(10, height=9, width=9, seed=1, mute=True, randr=0.0, bound_hand="trans")
    wrap.reset()
    wrap.dots[0].row[:], wrap.dots[0].col[:] = 8, 2
    wrap.dotDir = 1
    wrap.step(None)
    assert (wrap.dots[0].row[0], wrap.dots[0].col[0]) == (0, 2)
    direction = DotSimulator(10, height=9, width=9, seed=1, mute=True, randr=0.0, fit_func="dir")
    direction.reset()
    direction.netDot.row[:], direction.netDot.col[:] = 2, 2
    direction.dots[0].row[:], direction.dots[0].col[:] = 6, 6
    assert float(direction.step(1)[1]) == 1.0                 # closer in rows only
    assert float(direction.step(3)[1]) == -1.0                # farther in rows
    hit = DotSimulator(10, height=9, width=9, seed=1, mute=True, randr=0.0, bullseye=5.0)
    hit.reset()
    hit.netDot.row[:], hit.netDot.col[:] = 3, 3
    hit.dots[0].row[:], hit.dots[0].col[:] = 3, 4
    _, reward, _, intercept = hit.step(2)
    assert intercept and float(reward) == 5.0
    disp = DotSimulator(10, height=9, width=9, seed=1, mute=True, randr=0.0, fit_func="disp")
    disp.reset()
    assert disp.step(0)[1].shape == (2,)


def test_dot_simulator_files_and_errors(tmp_path):
    env = DotSimulator(3, seed=9, write=True, mute=True, fpath=str(tmp_path / "out"), height=5, width=6)
    env.addFileSuffix("train")
    assert env.filename.endswith("grids_s9_train_0.csv")
    env.reset()
    for _ in range(3):
        env.step(0)
        env.render()
    grids = np.loadtxt(env.filename, delimiter=",")
    assert grids.shape == (15, 6)
    env.changeFileSuffix("train", "test")
    assert env.filename.endswith("grids_s9_test_0.csv")
    env.cycleOutFiles()
    assert env.filename.endswith("grids_s9_test_1.csv")
    with pytest.raises(SnncError, match="bound_hand"):
        DotSimulator(3, bound_hand="wrap")
    with pytest.raises(SnncError, match="unknown option"):
        DotSimulator(3, colour="red")
    with pytest.raises(SnncError, match="action must be"):
        env.step(7)


# -- CueRewardSimulator -----------------------------------------------------------------

def test_cue_reward_trials():
    env = CueRewardSimulator(seed=3, epdur=120, cuebits=8, zprob=0.3)
    cues = {tuple(c) for c in env.cues}
    assert len(cues) == 4 and (0,) * 8 not in cues and (1,) + (0,) * 7 not in cues   # not the response cue
    rng = np.random.default_rng(0)
    previous_action, previous_reward, judged, shown = 0, 0, 0, set()
    for t in range(1, 121):
        action = int(rng.integers(2))
        obs, reward, done, info = env.step(action)
        assert obs.shape == (12,) and obs[-4] == t and obs[-1] == previous_reward
        assert (obs[-3], obs[-2]) == (previous_action == 0, previous_action == 1)
        if env.trialTime == 1:                                 # a trial's last step: judged
            judged += 1
            assert reward.item() == (1.0 if action == info["targ_disp"] else -1.0)
        else:
            assert reward.item() == 0.0
        if env.trialTime == 2:                                 # the response cue
            assert obs[0] == 1 and not obs[1:-4].any()
        elif obs[:-4].any():
            assert tuple(obs[:-4]) in {tuple(env.cues[i]) for i in info["pairmask"]}
            shown.add(tuple(obs[:-4]))
        assert info["targ_disp"] == int(env.target in info["pairmask"])
        previous_action, previous_reward = action, int(reward.item())
        assert done == (t == 120)
    assert 5 <= judged <= 12 and len(shown) >= 2 and shown <= cues


def test_cue_reward_oracle_policy_always_wins():
    env = CueRewardSimulator(seed=1, epdur=200)
    env.reset()
    rewards, info = [], {"targ_disp": 0}
    for _ in range(200):
        action = info["targ_disp"] if env.trialTime == 2 else 0     # the next step is judged
        obs, reward, done, info = env.step(action)
        if reward.item() != 0:
            rewards.append(reward.item())
    assert len(rewards) >= 9 and set(rewards) == {1.0}
    first = CueRewardSimulator(seed=1, epdur=200)
    assert np.array_equal(first.cues, env.cues) and first.target == env.target     # seeded
