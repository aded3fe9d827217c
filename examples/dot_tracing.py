"""A spiking network learns to chase a moving dot (``DotSimulator``) with MSTDPET.

The set-up of BindsNET's dot-tracing example: a ``--dim``×``--dim`` grid with a target
dot that moves (a new random direction with probability ``--randr`` per step, bouncing
off the edges) and the network's own dot. Each step the grid becomes Poisson spike
trains (``grid * 500`` Hz, ``--granularity`` steps) into 100 LIF neurons with a
recurrent PostPre connection, which drive one output neuron per move (stay, up, right,
down, left) through weights learning with MSTDPET. The move is drawn by softmax over
the outputs' spike counts of the previous step, and the reward is the simulator's
``"dir"`` fitness: +1 per axis on which the network's dot came closer to the target,
-1 per axis on which it went farther, 10 on an intercept.

    python examples/dot_tracing.py [--episodes 20] [--test-episodes 5] [--steps 100]
                                   [--dim 28] [--granularity 100] [--seed 0] [--out out]

Prints each episode's reward and intercepts, the environment steps per second, and
writes ``OUT/dot_tracing.csv`` (per episode) and ``OUT/dot_tracing.png``.
"""
from __future__ import annotations

import argparse
import csv
import time as clock
from pathlib import Path

import torch
from tqdm import tqdm

from snnc.encoding import poisson
from snnc.environment import DotSimulator
from snnc.learning import MSTDPET, PostPre
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection

MOVES = 5


def build(dim: int, hidden: int, granularity: int) -> Network:
    network = Network(dt=1.0)
    grid = Input(n=dim * dim, shape=[1, 1, 1, dim, dim], traces=True)
    middle = LIFNodes(n=hidden, traces=True)
    moves = LIFNodes(n=MOVES, refrac=0, traces=True)
    network.add_layer(grid, name="Input")
    network.add_layer(middle, name="Hidden")
    network.add_layer(moves, name="Output")
    network.add_connection(Connection(grid, middle, wmin=0, wmax=1), "Input", "Hidden")
    network.add_connection(Connection(middle, moves, wmin=0, wmax=1, update_rule=MSTDPET, nu=1e-1,
                                      norm=0.5 * middle.n), "Hidden", "Output")
    network.add_connection(Connection(middle, middle, wmin=0, wmax=1, update_rule=PostPre, nu=1e-1,
                                      norm=5e-3 * middle.n), "Hidden", "Hidden")
    network.add_monitor(Monitor(moves, ["s"], time=granularity), name="Output")
    return network


def episode(network: Network, env: DotSimulator, granularity: int) -> tuple[float, int, int]:
    """One episode; its total reward, intercepts and steps."""
    network.reset_state_variables()
    env.reset()
    counts = torch.zeros(MOVES)
    action = torch.randint(0, MOVES, (1,)).item()
    total, intercepts, steps, done = 0.0, 0, 0, False
    while not done:
        grid, reward, done, intercept = env.step(action)
        action = torch.multinomial(torch.softmax(counts, 0), 1).item()
        rates = torch.as_tensor(grid, dtype=torch.float32).unsqueeze(0) * 500.0
        network.run({"Input": poisson(rates, granularity)}, time=granularity, reward=reward)
        counts = network.monitors["Output"].get("s").float().sum((0, 1))
        total += float(reward)
        intercepts += int(intercept)
        steps += 1
    return total, intercepts, steps


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    for phase, marker in (("train", "o-"), ("test", "s-")):
        picked = [r for r in rows if r["phase"] == phase]
        top.plot([r["episode"] for r in picked], [r["reward"] for r in picked], marker, label=phase)
        bottom.plot([r["episode"] for r in picked], [r["intercepts"] for r in picked], marker, label=phase)
    top.set_ylabel("episode reward")
    bottom.set_ylabel("intercepts")
    bottom.set_xlabel("episode")
    top.legend()
    top.set_title("Dot tracing with MSTDPET")
    figure.tight_layout()
    figure.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--test-episodes", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100, help="environment steps per episode")
    parser.add_argument("--dim", type=int, default=28)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--granularity", type=int, default=100, help="simulation steps per environment step")
    parser.add_argument("--randr", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    network = build(args.dim, args.hidden, args.granularity)
    env = DotSimulator(args.steps, height=args.dim, width=args.dim, decay=4, randr=args.randr,
                       bound_hand="bounce", fit_func="dir", allow_stay=False, mute=True, seed=args.seed + 1)
    rows, start, steps = [], clock.perf_counter(), 0
    for phase, count in (("train", args.episodes), ("test", args.test_episodes)):
        network.learning = phase == "train"
        for _ in tqdm(range(count), desc=phase, unit="episode"):
            reward, intercepts, taken = episode(network, env, args.granularity)
            steps += taken
            rows.append({"phase": phase, "episode": len(rows) + 1, "reward": reward, "intercepts": intercepts})
            tqdm.write(f"{phase} episode {len(rows)}: reward {reward:.0f}, intercepts {intercepts}")
    seconds = clock.perf_counter() - start
    for phase in ("train", "test"):
        picked = [r["reward"] for r in rows if r["phase"] == phase]
        if picked:
            print(f"{phase}: mean reward {sum(picked) / len(picked):.2f} over {len(picked)} episodes")
    print(f"{steps} environment steps ({args.granularity} simulation steps each) in {seconds:.1f} s: "
          f"{steps / seconds:.1f} steps/s")
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "dot_tracing.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["phase", "episode", "reward", "intercepts"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out / 'dot_tracing.csv'}")
    if not args.no_plots:
        plot(rows, args.out / "dot_tracing.png")
        print(f"wrote {args.out / 'dot_tracing.png'}")


if __name__ == "__main__":
    main()
