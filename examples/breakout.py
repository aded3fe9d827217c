"""A spiking agent learns to play Atari Breakout with reward-modulated STDP.

The network of BindsNET's Breakout example: each 80×80 binarised frame
(``GymEnvironment("BreakoutDeterministic-v4")``) becomes Bernoulli spike trains of
``--time`` steps into 100 LIF neurons (weights in [0, 0.1]), which drive 4 output
neurons, one per action, through weights learning with MSTDP (nu 0.1, normalised to
0.5 per hidden neuron). ``EnvironmentPipeline`` picks each action from the outputs'
spike counts by softmax and hands the clipped game reward to the learning rule.
After ``--episodes`` training episodes, learning stops for ``--test-episodes`` more.

    python examples/breakout.py [--episodes 20] [--test-episodes 5] [--time 100]
                                [--max-steps N] [--seed 0] [--out out]

Shows a progress bar per phase, prints each episode's reward and the environment
steps per second, and writes ``OUT/breakout_rewards.png`` (needs ``snnc[rl,plot]``).
"""
from __future__ import annotations

import argparse
import time as clock
from pathlib import Path

import torch
from tqdm import tqdm

from snnc.encoding import bernoulli
from snnc.environment import GymEnvironment
from snnc.learning import MSTDP
from snnc.network import Network
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection
from snnc.pipeline import EnvironmentPipeline
from snnc.pipeline.action import select_softmax


def build(hidden: int) -> Network:
    network = Network(dt=1.0)
    frame = Input(n=80 * 80, shape=[1, 1, 1, 80, 80], traces=True)
    middle = LIFNodes(n=hidden, traces=True)
    actions = LIFNodes(n=4, refrac=0, traces=True)
    network.add_layer(frame, name="Input Layer")
    network.add_layer(middle, name="Hidden Layer")
    network.add_layer(actions, name="Output Layer")
    network.add_connection(Connection(frame, middle, wmin=0, wmax=1e-1), "Input Layer", "Hidden Layer")
    network.add_connection(Connection(middle, actions, wmin=0, wmax=1, update_rule=MSTDP, nu=1e-1,
                                      norm=0.5 * middle.n), "Hidden Layer", "Output Layer")
    return network


def play(pipeline: EnvironmentPipeline, episodes: int, max_steps: int | None, label: str) -> tuple[list, int]:
    """``episodes`` episodes (each cut at ``max_steps``); their rewards and the steps taken."""
    rewards, steps = [], 0
    bar = tqdm(range(episodes), desc=label, unit="episode")
    for _ in bar:
        pipeline.reset_state_variables()
        total, done, taken = 0.0, False, 0
        while not done and (max_steps is None or taken < max_steps):
            result = pipeline.env_step()
            pipeline.step(result)
            total += float(result[1])
            done, taken = result[2], taken + 1
        rewards.append(total)
        steps += taken
        bar.set_postfix(reward=total, steps=taken)
        tqdm.write(f"{label} episode {len(rewards)}: reward {total:.0f} in {taken} steps")
    return rewards, steps


def plot(train: list, test: list, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(7, 4))
    ax.plot(range(1, len(train) + 1), train, "o-", label="training (MSTDP on)")
    ax.plot(range(len(train) + 1, len(train) + len(test) + 1), test, "s-", label="test (learning off)")
    ax.set_xlabel("episode")
    ax.set_ylabel("reward (bricks)")
    ax.set_title("Breakout: spiking agent with MSTDP")
    ax.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--test-episodes", type=int, default=5)
    parser.add_argument("--time", type=int, default=100, help="simulation steps per frame")
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--max-steps", type=int, default=None, help="cut each episode after this many frames")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    network = build(args.hidden)
    environment = GymEnvironment("BreakoutDeterministic-v4", seed=args.seed)
    pipeline = EnvironmentPipeline(network, environment, encoding=bernoulli, action_function=select_softmax,
                                   output="Output Layer", time=args.time, plot_config={"data_step": None},
                                   allow_gpu=False)
    start = clock.perf_counter()
    train, steps = play(pipeline, args.episodes, args.max_steps, "training")
    network.learning = False
    test, more = play(pipeline, args.test_episodes, args.max_steps, "test")
    seconds = clock.perf_counter() - start
    print(f"training reward: mean {sum(train) / max(len(train), 1):.2f} over {len(train)} episodes; "
          f"test reward: mean {sum(test) / max(len(test), 1):.2f} over {len(test)} episodes")
    print(f"{steps + more} environment steps ({args.time} simulation steps each) in {seconds:.1f} s: "
          f"{(steps + more) / seconds:.1f} steps/s")
    if not args.no_plots:
        path = args.out / "breakout_rewards.png"
        plot(train, test, path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
