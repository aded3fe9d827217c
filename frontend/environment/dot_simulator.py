"""``DotSimulator``: a grid with moving target dots that a network's dot must chase (spec 13).

Each step the target dots move together one ``speed`` in a shared direction (re-drawn
with probability ``randr``), red herrings move at random, and the network's dot moves
by the action. Directions: 0 stay, 1 up (row + speed), 2 right, 3 down, 4 left,
5 up-right, 6 down-right, 7 down-left, 8 up-left (5–8 only with ``diag``).

The observation is an ``[height, width]`` grid: each dot and its tail of ``decay``
past positions, position ``k`` of the tail adding ``1 - k / decay`` (capped at 1).
Edges: ``"stay"`` clamps, ``"bounce"`` reflects the position (``r -> h - 1 - r mod h``)
and flips the shared direction's crossing component, ``"trans"`` wraps around.

Reward of the step (``fit_func``), against the first target dot: ``bullseye`` on an
intercept (same cell; the network's dot then teleports with ``teleport``), else
``"euc"`` minus the Euclidean distance, ``"disp"`` the (row, col) displacement,
``"rng"`` minus the distance floor-divided by ``ring_size``, ``"dir"`` +1/-1 per axis
on which the network's dot came closer/went farther. ``step`` returns
``(obs, reward tensor, done, intercept)``; ``done`` after ``t`` steps.

``reset`` re-seeds the simulator's own random stream with ``seed`` (0: from the clock),
so every episode replays the same target motion, as in BindsNET; Python's global
``random`` state is left alone.
"""
from __future__ import annotations

import math
import os
import random
import time as _time

import numpy as np
import torch

from snnc.environment.spaces import discrete
from snnc.errors import SnncError

# Row and column step of each direction (row + is "up").
MOVES = ((0, 0), (1, 0), (0, 1), (-1, 0), (0, -1), (1, 1), (-1, 1), (-1, -1), (1, -1))
_DIRECTION = {move: index for index, move in enumerate(MOVES)}
BOUNDS = ("stay", "bounce", "trans")
FITNESS = ("euc", "disp", "rng", "dir")
_OPTIONS = {"height": 28, "width": 28, "decay": 1, "dots": 1, "herrs": 0, "pandas": False,
            "write": False, "mute": False, "speed": 1, "randr": 1.0, "allow_stay": True, "seed": 0,
            "fname": None, "fpath": "out", "diag": False, "bound_hand": "stay", "fit_func": "euc",
            "ring_size": 2, "bullseye": 10.0, "teleport": True}


class Dot:
    """A dot's position and its tail: ``row[0], col[0]`` now, ``[k]`` ``k`` steps ago."""

    def __init__(self, r: int = 0, c: int = 0, t: int = 1) -> None:
        self.row = np.full(t, r, dtype=np.int32)
        self.col = np.full(t, c, dtype=np.int32)

    def move(self, r: int, c: int) -> None:
        self.row[1:], self.col[1:] = self.row[:-1].copy(), self.col[:-1].copy()
        self.row[0], self.col[0] = r, c


class DotSimulator:
    """``DotSimulator(t, height=28, width=28, decay=1, dots=1, herrs=0, speed=1, randr=1.0,
    allow_stay=True, diag=False, bound_hand="stay", fit_func="euc", ring_size=2,
    bullseye=10.0, teleport=True, seed=0, write=False, fpath="out", fname=None,
    pandas=False, mute=False)``; see the module docstring."""

    def __init__(self, t: int, **kwargs) -> None:
        unknown = sorted(set(kwargs) - set(_OPTIONS))
        if unknown:
            raise SnncError(f"DotSimulator: unknown option(s) {unknown}; options are {sorted(_OPTIONS)}")
        o = {**_OPTIONS, **kwargs}
        if o["bound_hand"] not in BOUNDS:
            raise SnncError(f"DotSimulator: bound_hand must be one of {BOUNDS}, got {o['bound_hand']!r}")
        if o["fit_func"] not in FITNESS:
            raise SnncError(f"DotSimulator: fit_func must be one of {FITNESS}, got {o['fit_func']!r}")
        if int(o["dots"]) < 1:
            raise SnncError(f"DotSimulator: needs at least one target dot (dots >= 1), got {o['dots']}")
        self.timesteps, self.ts = int(t), 0
        self.h, self.w, self.decay = int(o["height"]), int(o["width"]), int(o["decay"])
        self.ndots, self.herrs, self.speed = int(o["dots"]), int(o["herrs"]), int(o["speed"])
        self.pandas, self.write2F, self.mute = o["pandas"], o["write"], o["mute"]
        self.randr, self.minch = float(o["randr"]), int(not o["allow_stay"])
        self.choices = 9 if o["diag"] else 5
        self.b_handling, self.fit_func = o["bound_hand"], o["fit_func"]
        self.ring_size, self.bullseye, self.teleport = o["ring_size"], o["bullseye"], o["teleport"]
        now = _time.time()
        self.seed = o["seed"] or int(1e10 * (now - 1e6 * (now // 1e6)))
        self._random = random.Random(self.seed)
        self.fileCnt = 0
        name = o["fname"] or f"grids_s{self.seed}.csv"
        self.filename = os.path.join(o["fpath"], f"{name[:-4]}_{self.fileCnt}.csv")
        if self.write2F:
            os.makedirs(o["fpath"], exist_ok=True)
        self.action_space = discrete(self.choices)
        self.netDot, self.dots, self.herrings = Dot(0, 0, self.decay), [], []
        self.obs = np.zeros((self.h, self.w))
        self.dotDir = 0
        self.prevRow = self.prevCol = 0
        self._figure = None

    # -- episode ------------------------------------------------------------------
    def _spawn(self) -> tuple[int, int]:
        """A random cell away from the edges (the middle three fifths)."""
        r = self._random.randint(self.h // 5, 4 * self.h // 5)
        return r, self._random.randint(self.w // 5, 4 * self.w // 5)

    def _direction(self) -> int:
        return self._random.randint(self.minch, self.choices - 1)

    def reset(self) -> np.ndarray:
        """Re-seed, place the network's dot, the targets and the herrings; return the grid."""
        self.ts = 0
        self._random.seed(self.seed)
        self.obs = np.zeros((self.h, self.w))
        r, c = self._spawn()
        self.netDot = Dot(r, c, self.decay)
        self.obs[r, c] = 1
        self.dotDir = self._direction()
        self.dots, self.herrings = [], []
        for group, count in ((self.dots, self.ndots), (self.herrings, self.herrs)):
            for _ in range(count):
                r, c = self._spawn()
                group.append(Dot(r, c, self.decay))
                self.obs[r, c] = 1
        return self.obs

    def step(self, action):
        """Move everything one step; ``action`` is the network dot's direction (None: stay)."""
        if not self.dots:
            raise SnncError("DotSimulator.step: call reset() first")
        self.ts += 1
        if self._random.uniform(0, 1) <= self.randr:
            self.dotDir = self._direction()
        self.obs = np.zeros((self.h, self.w))
        self.prevRow, self.prevCol = int(self.netDot.row[0]), int(self.netDot.col[0])
        if action is not None:
            self.movePoint(self.netDot, self._action(action))
        reward, intercept = self.compute_reward()
        if intercept and self.teleport:
            r, c = self._spawn()
            self.netDot = Dot(r, c, self.decay)
            self.obs = np.zeros((self.h, self.w))
            self.obs[r, c] = 1
        for dot in self.dots:
            self.movePoint(dot)
        for herring in self.herrings:
            self.movePoint(herring, self._direction())
        reward = reward if isinstance(reward, torch.Tensor) else torch.tensor(float(reward))
        return self.obs, reward, self.timesteps <= self.ts, intercept

    def _action(self, action) -> int:
        value = int(action.item() if isinstance(action, torch.Tensor) else action)
        if not 0 <= value < self.choices:
            raise SnncError(f"DotSimulator.step: action must be in 0..{self.choices - 1}, got {value}")
        return value

    # -- motion -------------------------------------------------------------------
    def movePoint(self, d: Dot, dotDir: int = -1) -> None:
        """Move ``d`` one step in ``dotDir`` (negative: the targets' shared direction),
        handle the edge and draw it with its tail."""
        shared = dotDir < 0
        direction = self.dotDir if shared else dotDir
        if not 0 <= direction < len(MOVES):
            raise SnncError(f"DotSimulator: unsupported direction {direction}")
        dr, dc = MOVES[direction]
        r, c = int(d.row[0]) + dr * self.speed, int(d.col[0]) + dc * self.speed
        if self.b_handling == "stay":
            r, c = min(max(r, 0), self.h - 1), min(max(c, 0), self.w - 1)
        elif self.b_handling == "bounce":
            flip_r, flip_c = not 0 <= r < self.h, not 0 <= c < self.w
            if flip_r:
                r = self.h - 1 - r % self.h
            if flip_c:
                c = self.w - 1 - c % self.w
            if shared and (flip_r or flip_c):
                self.dotDir = _DIRECTION[(-dr if flip_r else dr, -dc if flip_c else dc)]
        else:
            r, c = r % self.h, c % self.w
        d.move(r, c)
        for k in range(self.decay):
            cell = (d.row[k], d.col[k])
            self.obs[cell] = min(self.obs[cell] + 1 - k / self.decay, 1)

    def compute_reward(self):
        """``(reward, intercepted)`` of this step under ``fit_func``."""
        target = self.dots[0]
        tr, tc = int(target.row[0]), int(target.col[0])
        nr, nc = int(self.netDot.row[0]), int(self.netDot.col[0])
        if self.bullseye != 0 and (tr, tc) == (nr, nc):
            return self.bullseye, True
        if self.fit_func == "euc":
            return -math.hypot(tr - nr, tc - nc), False
        if self.fit_func == "disp":
            return torch.tensor([float(tr - nr), float(tc - nc)]), False
        if self.fit_func == "rng":
            return -math.hypot(tr - nr, tc - nc) // self.ring_size, False
        reward = 0.0
        for before, after in ((abs(tr - self.prevRow), abs(tr - nr)), (abs(tc - self.prevCol), abs(tc - nc))):
            reward += (after < before) - (before < after)
        return reward, False

    # -- output -------------------------------------------------------------------
    def render(self) -> None:
        """Append the grid to the CSV file (``write``), print it (``pandas``) and draw
        it (unless ``mute``); the network's dot shows doubled."""
        grid = self.obs.copy()
        grid[self.netDot.row, self.netDot.col] *= 2
        if self.write2F:
            with open(self.filename, "ab") as f:
                np.savetxt(f, grid, delimiter=",")
        if self.pandas:
            print("Timestep:", self.ts)
            print(np.array2string(grid.astype(np.uint32), max_line_width=10_000))
        if not self.mute:
            import matplotlib.pyplot as plt
            if self._figure is None:
                self._figure = plt.figure()
            plt.figure(self._figure.number)
            plt.clf()
            plt.imshow(grid, cmap="hot", interpolation="nearest")
            plt.colorbar()
            plt.pause(1e-8)

    def cycleOutFiles(self, newInt: int = -1) -> None:
        """Start the next numbered grid file (or number ``newInt``)."""
        self.fileCnt = newInt if newInt >= 0 else self.fileCnt + 1
        self.filename = f"{self.filename[:self.filename.rfind('_') + 1]}{self.fileCnt}.csv"

    def addFileSuffix(self, suffix: str) -> None:
        """Insert ``suffix`` before the file number (``grids_s1_0.csv`` -> ``grids_s1_train_0.csv``)."""
        cut = self.filename.rfind("_") + 1
        self.filename = f"{self.filename[:cut]}{suffix}_{self.filename[cut:]}"

    def changeFileSuffix(self, sFrom: str, sTo: str) -> None:
        """Replace ``sFrom`` by ``sTo`` in the file name and restart the numbering at 0."""
        self.filename = self.filename.replace(sFrom, sTo)
        self.cycleOutFiles(newInt=0)
