"""Reinforcement-learning steps per second: snnc against BindsNET 0.3.4, same
environment, network and pipeline (``EnvironmentPipeline``).

    python benchmarks/bench_rl.py [--pairs 3] [--steps N] [--out benchmarks/out/rl]

Workloads (each system's own ``pipeline``, ``environment`` and ``learning``):

* **breakout**: ``examples/breakout_stdp``'s agent. BreakoutDeterministic-v4 frames
  (80×80, binarised) → Bernoulli spikes for 100 steps → LIF(100) → LIF(4) with MSTDP,
  ``select_softmax``; the pipeline's default layer monitors; no plots or rendering.
* **cartpole**: CartPole-v1's 4 observations fed as they are (no encoding) into
  Input(4, shape [1, 1, 4]: the pipeline adds two leading dimensions) → LIF(64) → LIF(2) with MSTDP, ``time=1``: one simulation step per
  environment step, so the per-call cost of ``network.run`` is what is measured.

Each run builds the network, plays ``--warmup`` steps (compiles, for snnc), then times
``--steps`` environment steps (300 Breakout, 3000 CartPole) (episodes restart at ``done``). The systems alternate in
fresh processes, ``--pairs`` times; the ratio is of the medians. Run with the project's
python; BindsNET runs in ``benchmarks/.venvs/bindsnet``. Writes OUT.md and OUT.json.
"""
from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BINDSNET_PYTHON = HERE / ".venvs" / "bindsnet" / "bin" / "python"


def legacy_breakout(gym) -> None:
    """BreakoutDeterministic-v4 for BindsNET (ale-py >= 0.9 no longer registers it)."""
    if "BreakoutDeterministic-v4" not in gym.envs.registry:
        base = gym.envs.registry["BreakoutNoFrameskip-v4"]
        gym.register(id="BreakoutDeterministic-v4", entry_point=base.entry_point,
                     kwargs={**base.kwargs, "frameskip": 4, "repeat_action_probability": 0.0},
                     max_episode_steps=base.max_episode_steps)


def build(lib: str, workload: str, seed: int):
    """The network and pipeline of ``workload`` in library ``lib`` (snnc or bindsnet)."""
    if lib == "bindsnet":
        sys.path.insert(0, str(HERE / "runners"))
        import _bindsnet_compat
        _bindsnet_compat.prepare()
    import torch
    torch.manual_seed(seed)
    m = {name: importlib.import_module(f"{lib}.{name}") for name in
         ("encoding", "environment", "learning", "network", "pipeline", "pipeline.action",
          "network.nodes", "network.topology")}
    if lib == "bindsnet":
        import ale_py
        import gymnasium as gym
        gym.register_envs(ale_py)
        legacy_breakout(gym)
    nodes, topology = m["network.nodes"], m["network.topology"]
    network = m["network"].Network(dt=1.0)
    if workload == "breakout":
        layers = [nodes.Input(n=6400, shape=[1, 1, 1, 80, 80], traces=True),
                  nodes.LIFNodes(n=100, traces=True), nodes.LIFNodes(n=4, refrac=0, traces=True)]
        env = m["environment"].GymEnvironment("BreakoutDeterministic-v4")
        options = dict(encoding=m["encoding"].bernoulli, time=100)
        first = topology.Connection(source=layers[0], target=layers[1], wmin=0, wmax=1e-1)
    else:
        layers = [nodes.Input(n=4, shape=[1, 1, 4], traces=True), nodes.LIFNodes(n=64, traces=True),
                  nodes.LIFNodes(n=2, refrac=0, traces=True)]
        env = m["environment"].GymEnvironment("CartPole-v1")
        options = dict(time=1)
        first = topology.Connection(source=layers[0], target=layers[1], w=20 * torch.rand(4, 64))
    second = topology.Connection(source=layers[1], target=layers[2], wmin=0, wmax=1,
                                 update_rule=m["learning"].MSTDP, nu=1e-1, norm=0.5 * layers[1].n)
    for name, layer in zip(("Input Layer", "Hidden Layer", "Output Layer"), layers):
        network.add_layer(layer, name=name)
    network.add_connection(first, source="Input Layer", target="Hidden Layer")
    network.add_connection(second, source="Hidden Layer", target="Output Layer")
    env.env.reset(seed=seed)
    env.env.action_space.seed(seed)
    pipeline = m["pipeline"].EnvironmentPipeline(
        network, env, action_function=m["pipeline.action"].select_softmax, output="Output Layer",
        allow_gpu=False, **options)
    return pipeline


def play(pipeline, steps: int) -> tuple[int, float]:
    """``steps`` environment steps (new episodes at done); the number of episodes ended."""
    ended, reward = 0, 0.0
    for _ in range(steps):
        result = pipeline.env_step()
        pipeline.step(result)
        reward += float(result[1])
        if result[2]:
            ended += 1
            pipeline.reset_state_variables()
    return ended, reward


def worker(args) -> None:
    lib = "snnc" if args.system == "snnc" else "bindsnet"
    start = time.perf_counter()
    pipeline = build(lib, args.workload, args.seed)
    pipeline.reset_state_variables()
    play(pipeline, args.warmup)
    ready = time.perf_counter()
    episodes, reward = play(pipeline, args.steps)
    seconds = time.perf_counter() - ready
    print(json.dumps({"system": args.system, "workload": args.workload, "steps": args.steps,
                      "seconds": seconds, "steps_per_s": args.steps / seconds,
                      "setup_s": ready - start, "episodes": episodes, "reward": reward}))


STEPS = {"breakout": 300, "cartpole": 3000}


def run_one(system: str, workload: str, args) -> dict:
    python = sys.executable if system == "snnc" else str(BINDSNET_PYTHON)
    steps = args.steps or STEPS[workload]
    command = [python, str(Path(__file__).resolve()), "--worker", "--system", system, "--workload", workload,
               "--steps", str(steps), "--warmup", str(args.warmup), "--seed", str(args.seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{system} {workload} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="breakout,cartpole")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None,
                        help="environment steps timed per run (default: breakout 300, cartpole 3000)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "rl")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--system", default="snnc", help=argparse.SUPPRESS)
    parser.add_argument("--workload", default="breakout", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    rows, lines = [], ["| workload | snnc steps/s | BindsNET steps/s | ratio | runs |", "| --- | --- | --- | --- | --- |"]
    for workload in args.workloads.split(","):
        runs = {"snnc": [], "bindsnet": []}
        for _ in range(args.pairs):
            for system in ("bindsnet", "snnc"):
                result = run_one(system, workload, args)
                runs[system].append(result["steps_per_s"])
                rows.append(result)
                print(json.dumps(result), flush=True)
        ours, theirs = statistics.median(runs["snnc"]), statistics.median(runs["bindsnet"])
        lines.append(f"| {workload} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.1f}× | "
                     f"snnc {', '.join(f'{v:.1f}' for v in runs['snnc'])}; "
                     f"BindsNET {', '.join(f'{v:.1f}' for v in runs['bindsnet'])} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
