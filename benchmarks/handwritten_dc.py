"""Issue 9's yardstick: Diehl & Cook training written by hand as one single-thread numba
function, next to snnc on the same samples, in one process.

    python benchmarks/handwritten_dc.py [--samples 200] [--check 20] [--rounds 5]

The network is ``workloads.dc_network`` (784 -> 100 -> 100, PostPre on X -> Ae with
bounds [0, 1] and column norm 78.4 after each sample, one spike per step, every
layer's spikes and both neuron layers' voltages recorded, 250 steps per sample). The
hand-written loop follows the spec's equations and BindsNET's order of a step
(propagate the previous step's spikes, update X, Ae, Ai, learn, record) the way one
would write it for this network alone: the input's active rows are listed once per
step (skipping zero words of eight inputs) and serve both this step's depression and
the next step's propagation; the
inhibition is ``-inh * (spikes - own spike)``; Ae -> Ai is ``exc * s``; buffers are
allocated once. Its float32 arithmetic is associated as snnc's generated code is, so
that ``--check`` samples (run first, with the one-spike choices drawn from the same
seeded numbers) must give the same spikes and weights.

Then ``--rounds`` rounds alternate ``--samples`` samples of each (weights learning on,
state reset between samples, as in training): snnc through ``network.run`` +
``reset_state_variables()`` + reading a monitor (the suite's ``dc-train`` loop), the
hand-written loop through one call per sample. Prints each one's median time per
sample and their ratio (the issue's goal: snnc within 1.5x of the hand-written loop).
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch
from numba import float32, njit

import workloads

STEPS = 250


@njit(cache=True, nogil=True, error_model="numpy")
def train_sample(raster, u, w, c, x_pre, s_pre, v_e, r_e, theta, x_e, s_e, v_i, r_i, s_i,
                 rec_pre, rec_e, rec_i, rec_ve, rec_vi, active, current, colsum):
    """One sample: ``raster`` [T, n_in] uint8 spikes, ``u`` [T] one-spike numbers, ``w``
    [n_in, n] learning, ``c`` the float32 constants (see ``constants``), then the
    state (updated in place) and the recordings [T, n]."""
    n_in, n = w.shape
    decay_x, decay_e, rest_e, reset_e, thresh_e, refrac_e = c[0], c[1], c[2], c[3], c[4], c[5]
    theta_decay, theta_plus, decay_xe = c[6], c[7], c[8]
    decay_i, rest_i, reset_i, thresh_i, refrac_i = c[9], c[10], c[11], c[12], c[13]
    exc, inh, nu0, nu1, wmin, wmax, norm, dt = c[14], c[15], c[16], c[17], c[18], c[19], c[20], c[21]
    count = 0                                  # the input's active rows (listed from its state)
    for i in range(n_in):
        active[count] = i
        count += s_pre[i] != 0
    for t in range(raster.shape[0]):
        # propagate the previous step's spikes
        for j in range(n):
            current[j] = float32(0.0)
        for k in range(count):
            row = w[active[k]]
            for j in range(n):
                current[j] += row[j]
        fired_i = 0
        for j in range(n):
            fired_i += s_i[j]
        spread = -inh * float32(fired_i)
        # X: state and trace, then the active rows (zero words of 8 inputs skipped)
        for i in range(n_in):
            s = raster[t, i]
            s_pre[i] = s
            x_pre[i] = float32(1.0) if s != 0 else x_pre[i] * decay_x
        count = 0
        words = raster[t, :n_in - n_in % 8].view(np.uint64)
        for word in range(words.shape[0]):
            if words[word] != 0:
                for i in range(8 * word, 8 * word + 8):
                    active[count] = i
                    count += raster[t, i] != 0
        for i in range(n_in - n_in % 8, n_in):
            active[count] = i
            count += raster[t, i] != 0
        # Ae: leak, integrate, fire; theta; one spike; trace. Then Ai (from Ae's last spikes)
        spikes = 0
        for j in range(n):
            input_i = float32(0.0) + exc * float32(s_e[j])
            theta[j] = theta[j] * theta_decay
            v = (v_e[j] - rest_e) * decay_e + rest_e
            v = v + (float32(0.0) if r_e[j] > 0 else current[j] + (spread + inh * float32(s_i[j])))
            r = r_e[j] - dt
            s = v >= thresh_e + theta[j]
            r_e[j] = refrac_e if s else r
            v_e[j] = reset_e if s else v
            s_e[j] = s
            theta[j] = theta[j] + theta_plus * float32(s)
            spikes += s
            v = (v_i[j] - rest_i) * decay_i + rest_i
            input_i = float32(0.0) if r_i[j] > 0 else input_i
            r = r_i[j] - dt
            v = v + input_i
            s = v >= thresh_i
            r_i[j] = refrac_i if s else r
            v_i[j] = reset_i if s else v
            s_i[j] = s
        winner = -1
        if spikes > 0:
            chosen = min(float32(math.floor(u[t] * float32(spikes))), float32(spikes) - float32(1.0))
            rank = 0
            for j in range(n):
                if s_e[j]:
                    if float32(rank) == chosen:
                        winner = j
                    else:
                        s_e[j] = False
                    rank += 1
        for j in range(n):
            x_e[j] = float32(1.0) if s_e[j] else x_e[j] * decay_xe
        # PostPre: depression on this step's active rows, potentiation on the winner's column
        for k in range(count):
            row = w[active[k]]
            if winner < 0:
                for j in range(n):
                    row[j] = min(max(row[j] + -nu0 * x_e[j], wmin), wmax)
            else:
                for j in range(n):
                    value = row[j] + -nu0 * x_e[j]
                    row[j] = value if j == winner else min(max(value, wmin), wmax)
        if winner >= 0:
            for i in range(n_in):
                w[i, winner] = min(max(w[i, winner] + nu1 * x_pre[i], wmin), wmax)
        if t == 0:                             # every weight within bounds after the first update
            for i in range(n_in):
                for j in range(n):
                    w[i, j] = min(max(w[i, j], wmin), wmax)
        for i in range(n_in):
            rec_pre[t, i] = s_pre[i]
        for j in range(n):
            rec_e[t, j] = s_e[j]
            rec_i[t, j] = s_i[j]
            rec_ve[t, j] = v_e[j]
            rec_vi[t, j] = v_i[j]
    for j in range(n):                          # column norms after the sample
        colsum[j] = float32(0.0)
    for i in range(n_in):
        for j in range(n):
            colsum[j] += w[i, j]
    for i in range(n_in):
        for j in range(n):
            w[i, j] = w[i, j] * (norm / (float32(1.0) if colsum[j] == float32(0.0) else colsum[j]))


@njit(cache=True, nogil=True)
def reset(x_pre, s_pre, v_e, r_e, x_e, s_e, v_i, r_i, s_i):
    """State back to its start between samples (theta and the weights are kept)."""
    x_pre[:] = 0.0
    s_pre[:] = 0
    v_e[:] = -65.0
    r_e[:] = 0.0
    x_e[:] = 0.0
    s_e[:] = False
    v_i[:] = -60.0
    r_i[:] = 0.0
    s_i[:] = False


def _decay(tc: float) -> float:
    return float(torch.exp(-1.0 / torch.tensor(tc, dtype=torch.float32)))


def constants(exc: float = 22.5, inh: float = 120.0) -> np.ndarray:
    """The recipe's constants, as float32 (decays as ``exp(-dt / tc)`` in float32)."""
    return np.array([_decay(20.0), _decay(100.0), -65.0, -60.0, -52.0, 5.0, _decay(1e7), 0.05, _decay(20.0),
                     _decay(10.0), -60.0, -45.0, -40.0, 2.0, exc, inh, 1e-4, 1e-2, 0.0, 1.0, 78.4, 1.0],
                    dtype=np.float32)


class HandWritten:
    """The hand-written loop's buffers, allocated once."""

    def __init__(self, w: torch.Tensor, n_in: int = 784, n: int = 100) -> None:
        self.w = w.detach().clone().numpy()
        self.c = constants()
        f32 = np.float32
        self.x_pre, self.s_pre = np.zeros(n_in, f32), np.zeros(n_in, np.uint8)
        self.v_e, self.r_e, self.theta, self.x_e = np.full(n, -65.0, f32), np.zeros(n, f32), np.zeros(n, f32), \
            np.zeros(n, f32)
        self.s_e, self.v_i, self.r_i, self.s_i = np.zeros(n, np.bool_), np.full(n, -60.0, f32), np.zeros(n, f32), \
            np.zeros(n, np.bool_)
        self.rec = (np.zeros((STEPS, n_in), np.uint8), np.zeros((STEPS, n), np.bool_), np.zeros((STEPS, n), np.bool_),
                    np.zeros((STEPS, n), f32), np.zeros((STEPS, n), f32))
        self.active, self.current, self.colsum = np.zeros(n_in, np.int64), np.zeros(n, f32), np.zeros(n, f32)

    def sample(self, raster: np.ndarray, u: np.ndarray) -> None:
        train_sample(raster, u, self.w, self.c, self.x_pre, self.s_pre, self.v_e, self.r_e, self.theta, self.x_e,
                     self.s_e, self.v_i, self.r_i, self.s_i, *self.rec, self.active, self.current, self.colsum)
        reset(self.x_pre, self.s_pre, self.v_e, self.r_e, self.x_e, self.s_e, self.v_i, self.r_i, self.s_i)


def learned_weights(network) -> torch.Tensor:
    """``X -> Ae``'s weight matrix (a feature pipeline's Weight, or a Connection's ``w``)."""
    learned = network.connections[("X", "Ae")]
    return learned.feature_index["weight"].value if hasattr(learned, "feature_index") else learned.w


def check(network, hand: HandWritten, rasters: list[torch.Tensor], seed: int) -> tuple[int, float]:
    """Run the same samples through both with the same one-spike numbers; returns the
    steps whose excitatory spikes differ and the largest weight difference."""
    monitor = network.monitors["Ae_spikes"]
    differing = 0
    for k, raster in enumerate(rasters):
        torch.manual_seed(seed + k)
        network.run(inputs={"X": raster.clone()}, time=STEPS)
        torch.manual_seed(seed + k)
        u = torch.rand(STEPS, 1)[:, 0].numpy()
        hand.sample(raster.view(STEPS, -1).numpy(), u)
        ours = monitor.get("s").view(STEPS, -1).numpy()
        differing += int((ours != hand.rec[1]).any(axis=1).sum())
        network.reset_state_variables()
    return differing, float(np.abs(learned_weights(network).detach().numpy() - hand.w).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--check", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    network = workloads.dc_network(workloads.snnc_api(), 100, STEPS)
    hand = HandWritten(learned_weights(network))
    rasters, source = workloads.dc_samples(args.check + args.samples, STEPS, seed=args.seed)
    differing, largest = check(network, hand, rasters[:args.check], args.seed + 1000)
    print(f"check over {args.check} samples ({source}): {differing} of {args.check * STEPS} steps with "
          f"different Ae spikes, largest weight difference {largest:.3g}")
    timed = rasters[args.check:]
    plain = [r.view(STEPS, -1).numpy() for r in timed]
    numbers = [torch.rand(STEPS, 1)[:, 0].numpy() for _ in timed]
    monitor = network.monitors["Ae_spikes"]
    ours, theirs = [], []
    for _ in range(args.rounds):
        feeds = [{"X": r.clone()} for r in timed]
        start = time.perf_counter()
        for feed in feeds:
            network.run(inputs=feed, time=STEPS)
            int(monitor.get("s").sum())
            network.reset_state_variables()
        ours.append((time.perf_counter() - start) / len(timed))
        start = time.perf_counter()
        for raster, u in zip(plain, numbers):
            hand.sample(raster, u)
            int(hand.rec[1].sum())
        theirs.append((time.perf_counter() - start) / len(timed))
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"snnc (network.run + reset + monitor read): {a * 1e3:.3f} ms/sample  "
          f"({', '.join(f'{x * 1e3:.3f}' for x in ours)})")
    print(f"hand-written numba loop:                   {b * 1e3:.3f} ms/sample  "
          f"({', '.join(f'{x * 1e3:.3f}' for x in theirs)})")
    print(f"snnc / hand-written: {a / b:.2f}x (median of per-round ratios "
          f"{statistics.median(x / y for x, y in zip(ours, theirs)):.2f}x; goal <= 1.5x)")


if __name__ == "__main__":
    main()
