"""The per-sample loop (case ``guide-loop``) under load: quiet, with a background snnc job,
and two loop processes side by side.

    bash benchmarks/setup_oracles.sh bindsnet       # once, for the BindsNET rows
    python benchmarks/bench_loop.py                 # snnc: 3 scenarios, BindsNET: quiet; 3 repeats (~2 min)
    python benchmarks/bench_loop.py --bindsnet-scenarios quiet,background,pair   # + ~7 min
    python benchmarks/bench_loop.py --systems snnc --repeats 5 --passes 10

The loop (runners/loop.py): the guide network at batch 1, 100 samples, each
``network.run(inputs={"A": raster}, time=25)`` + ``network.reset_state_variables()``, both
calls timed, after one untimed pass over the samples (compile, numba's JIT or cache load,
torch's start-up). Each process does ``--passes`` timed passes and reports the median
ms per sample. Scenarios, each in fresh processes:

- ``quiet``: the loop process alone.
- ``background``: first ``runners/background_load.py`` at ``nice -n 19`` (snnc's guide
  network at batch 64 in parallel on all numba threads, then torch matrix products on
  torch's default threads, in rounds; it stops by itself after ``--background-seconds``
  and is stopped when the measurement is done); once it has warmed up, the loop process.
- ``pair``: two loop processes side by side; each reports its own ms per sample.

BindsNET runs only ``quiet`` unless ``--bindsnet-scenarios`` says otherwise (loaded, its
loop is slow: two BindsNET processes take ~170 ms per sample each on 2 cores).

Processes print ``READY`` after their untimed pass and start their timed passes together
when told (a line on stdin), so the timed parts overlap each other and the background
job. Within a repeat the scenarios alternate (quiet, background, pair, quiet, ...); the
table gives medians over the repeats (pair: over both processes), and each scenario's
ratio to the quiet figure. All snnc processes share one fresh ``SNNC_CACHE_DIR``.

On a shared machine: each scenario also notes the share of the CPU that other processes
used meanwhile (``others``) and is measured again, up to ``--retries`` (3) times 10 s
apart, while that share exceeds ``--max-others`` (0.05); the table uses the undisturbed
attempts (all of them where none was).

Writes benchmarks/out/bench_loop.json (or --json).
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_compare import OUT, PYTHON, RUNNERS, SCRIPT, available, git_revision, log, snnc_env
from compare_report import loop_section, verdict

SCENARIOS = ("quiet", "background", "pair")
TARGET_LOADED_OVER_QUIET = 2.0


class Proc:
    """A child process whose stdout lines are collected by a thread (stderr to a file)."""

    def __init__(self, cmd: list[str], env: dict, stdin: bool = True) -> None:
        self.cmd = cmd
        self.err = tempfile.TemporaryFile(mode="w+")
        self.popen = subprocess.Popen(cmd, env=env, cwd=str(RUNNERS.parent.parent), text=True,
                                      stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=self.err)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, word: str, timeout: float) -> bool:
        """True once ``word`` is printed alone on a line; False at exit or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
            if line is None:
                return False
            self.seen.append(line)
            if line == word:
                return True

    def go(self) -> None:
        try:
            self.popen.stdin.write("go\n")
            self.popen.stdin.flush()
        except (BrokenPipeError, OSError):
            pass   # it has exited: finish() reports why

    def finish(self, timeout: float) -> dict:
        """Wait for the exit; the last JSON line printed, or an error record."""
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        while (line := self.lines.get()) is not None:
            self.seen.append(line)
        for line in reversed(self.seen):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    continue
        self.err.seek(0)
        return {"error": f"exit {self.popen.returncode}", "cmd": self.cmd,
                "stderr": self.err.read()[-3000:]}

    def stop(self, timeout: float = 30.0) -> dict:
        """SIGTERM (the background job then ends its round and reports), kill if need be."""
        if self.popen.poll() is None:
            self.popen.terminate()
        return self.finish(timeout)


def cpu_times() -> tuple[float, float] | None:
    """(all cores' busy seconds, all cores' total seconds) since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            values = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - values[3] - values[4]) / tick, sum(values) / tick  # idle, iowait out


def cpu_busy(seconds: float = 2.0) -> float | None:
    """Fraction of all cores busy during ``seconds``, to flag other work at the start."""
    before = cpu_times()
    time.sleep(seconds)
    after = cpu_times()
    if before is None or after is None:
        return None
    return (after[0] - before[0]) / max(1e-9, after[1] - before[1])


def own_cpu() -> float:
    """CPU seconds of this script and of its children waited for."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def loop_command(system: str, args) -> list[str]:
    return [PYTHON[system], SCRIPT[system], "--workload", "guide-loop", "--samples",
            str(args.samples), "--runs", str(args.passes), "--seed", str(args.seed), "--wait-go"]


def background_command(args) -> list[str]:
    return ["nice", "-n", "19", sys.executable, str(RUNNERS / "background_load.py"),
            "--seconds", str(args.background_seconds), "--seed", str(args.seed)]


def overlap(records: list[dict]) -> float | None:
    """Shared time of the timed parts [t_go, t_end], as a fraction of the shortest."""
    spans = [(r["t_go"], r["t_end"]) for r in records if "t_go" in r]
    if len(spans) < 2:
        return None
    shared = min(e for _, e in spans) - max(s for s, _ in spans)
    return max(0.0, shared) / min(e - s for s, e in spans)


def run_scenario(scenario: str, system: str, args, env: dict) -> dict:
    """Start the scenario's processes, release them together, collect their records.

    ``other_cpu_s``: CPU seconds that processes other than ours used meanwhile (the
    machine's busy time minus our own and our children's), to flag a shared machine."""
    load = os.getloadavg()[0]
    busy0, own0 = cpu_times(), own_cpu()
    background = None
    if scenario == "background":
        background = Proc(background_command(args), env, stdin=False)
        if not background.wait_for("READY", args.timeout):
            return {"scenario": scenario, "records": [], "background": background.stop()}
    count = 2 if scenario == "pair" else 1
    procs = [Proc(loop_command(system, args), env) for _ in range(count)]
    try:
        ready = [p.wait_for("READY", args.timeout) for p in procs]
        for p in procs:
            if p.popen.poll() is None:
                p.go()
        records = [p.finish(args.timeout) for p in procs]
    finally:
        for p in procs:
            if p.popen.poll() is None:
                p.popen.kill()
        bg_record = background.stop() if background is not None else None
    busy1, own1 = cpu_times(), own_cpu()
    other = busy1[0] - busy0[0] - (own1 - own0) if busy0 and busy1 else None
    return {"scenario": scenario, "system": system, "records": records, "ready": ready,
            "background": bg_record, "overlap": overlap(records), "loadavg_1min_before": load,
            "other_cpu_s": other, "scenario_s": busy1[1] - busy0[1] if busy0 and busy1 else None}


def figures(runs: list[dict]) -> list[float]:
    """Every process's ms per sample (its median pass) over the repeats of a scenario."""
    return [r["ms_per_sample"] for run in runs for r in run["records"] if "ms_per_sample" in r]


def median_of(runs: list[dict], key: str) -> float | None:
    values = [r[key] for run in runs for r in run["records"] if r.get(key) is not None]
    return statistics.median(values) if values else None


def others_share(run: dict) -> float | None:
    """Share of the machine's CPU that other processes used during a scenario."""
    if run.get("other_cpu_s") is None or not run.get("scenario_s"):
        return None
    return max(0.0, run["other_cpu_s"]) / run["scenario_s"]


def undisturbed(runs: list[dict], max_others: float) -> list[dict]:
    """The attempts during which other processes used at most ``max_others`` of the CPU
    (all of them when there is none such, or no measure)."""
    clean = [r for r in runs if (others_share(r) or 0.0) <= max_others]
    return clean or runs


def scenario_row(system: str, scenario: str, all_runs: list[dict], quiet: float | None,
                 max_others: float) -> dict:
    """One table row: medians over the undisturbed attempts (and both processes of a pair)."""
    runs = undisturbed(all_runs, max_others)
    values = figures(runs)
    ms = statistics.median(values) if values else None
    laps = [r["overlap"] for r in runs if r.get("overlap") is not None]
    others = [x for x in map(others_share, runs) if x is not None]
    return {"system": system, "scenario": scenario, "ms_per_sample": ms,
            "over_quiet": ms / quiet if ms and quiet else None,
            "worst_over_quiet": max(values) / quiet if values and quiet else None,
            "per_process": values, "run_call_us": median_of(runs, "run_call_us"),
            "reset_call_us": median_of(runs, "reset_call_us"),
            "overhead_us": median_of(runs, "overhead_us"),
            "min_overlap": min(laps) if laps else None, "max_others": max(others) if others else None,
            "kept": f"{len(runs)}/{len(all_runs)}"}


def row_line(row: dict) -> str:
    values = row["per_process"]
    return (f"{row['system']:<9} {row['scenario']:<11} {num(row['ms_per_sample'], 3):>10} "
            f"{num(row['over_quiet'], 2, 'x'):>7} {num(row['run_call_us'], 0):>8} "
            f"{num(row['reset_call_us'], 0):>8} {num(row['overhead_us'], 0):>8}  "
            f"[{num(min(values, default=None), 3)}, {num(max(values, default=None), 3)}]"
            f"  {num(row['min_overlap'], 2):>7} {num(row['max_others'], 2):>6} {row['kept']:>5}")


def summarize(results: dict[str, dict[str, list[dict]]], args) -> tuple[str, dict]:
    """The table (system, scenario, ms/sample, ratio to quiet) and the JSON summary."""
    lines = [f"per-sample loop: guide network, {args.samples} x run(time=25) + reset, both timed; "
             f"ms per sample, median over {args.repeats} repeat(s) of each process's median of "
             f"{args.passes} pass(es)",
             f"{'system':<9} {'scenario':<11} {'ms/sample':>10} {'/quiet':>7} {'run us':>8} "
             f"{'reset us':>8} {'ovh us':>8}  per process [min, max]  overlap others  kept"]
    lines.append("-" * len(lines[-1]))
    summary: dict = {"rows": [], "targets": []}
    for system, per in results.items():
        quiet_values = figures(undisturbed(per["quiet"], args.max_others))
        quiet = statistics.median(quiet_values) if quiet_values else None
        for scenario, runs in per.items():
            row = scenario_row(system, scenario, runs, quiet, args.max_others)
            summary["rows"].append(row)
            lines.append(row_line(row))
            if system == "snnc" and scenario != "quiet":
                ratio = row["over_quiet"]
                summary["targets"].append({
                    "target": f"snnc {scenario}: within 2x of quiet", "value": ratio,
                    "worst_process": row["worst_over_quiet"],
                    "met": None if ratio is None else ratio <= TARGET_LOADED_OVER_QUIET})
    lines += footer(results, summary, args)
    return "\n".join(lines), summary


def footer(results: dict, summary: dict, args) -> list[str]:
    """The notes under the table, the quiet figures side by side, the targets (the 40x
    BindsNET target is added to ``summary`` here)."""
    lines = []
    lines.append("overlap: shared part of the timed passes (pair: the two processes), fraction "
                 "of the shorter; ovh us: snnc's run call minus its generated code's own time; "
                 "others: the largest share of the machine's CPU that other processes (not this "
                 "benchmark's) used during the attempts kept; kept: attempts used / made "
                 f"(those with others <= {args.max_others}, else all: figures disturbed)")
    if args.busy_at_start is not None:
        note = "  (other work was running: figures unreliable)" if args.busy_at_start > 0.25 else ""
        lines.append(f"CPU busy before the start: {args.busy_at_start:.0%} of "
                     f"{os.cpu_count()} cores{note}")
    quiet = {system: [r for run in undisturbed(per.get("quiet", []), args.max_others)
                      for r in run["records"]]
             for system, per in results.items()}
    loop_lines, loop_row, loop_target = loop_section(quiet)
    summary["quiet"] = loop_row
    summary["targets"].insert(0, loop_target)
    lines += ["", "quiet scenario, side by side:"] + loop_lines[1:]
    lines.append("targets:")
    for t in summary["targets"]:
        worst = (f" (worst process {num(t['worst_process'], 2, 'x')})"
                 if t.get("worst_process") is not None else "")
        lines.append(f"  {t['target']:<36} {num(t['value'], 2, 'x'):>7}{worst}  {verdict(t['met'])}")
    return lines


def num(x: float | None, digits: int, suffix: str = "") -> str:
    return "-" if x is None else f"{x:.{digits}f}{suffix}"


def describe(run: dict) -> str:
    """A progress line's figures: each process's ms per sample, the background job's rounds,
    the other processes' share of the CPU."""
    shown = ", ".join(f"{r['ms_per_sample']:.3f}" if "ms_per_sample" in r else r.get("error", "?")
                      for r in run["records"]) or "failed"
    bg = run.get("background") or {}
    extra = f"  (background: {bg['rounds']} rounds)" if "rounds" in bg else ""
    share = others_share(run)
    extra += f"  [others used {share:.0%} of the CPU]" if share is not None else ""
    return f"{shown} ms/sample{extra}"


def measure_scenario(scenario: str, system: str, args, env: dict, label: str) -> list[dict]:
    """``run_scenario``, again (up to ``--retries`` times) while other processes used more
    than ``--max-others`` of the machine's CPU meanwhile; every attempt."""
    attempts = []
    for attempt in range(args.retries + 1):
        run = run_scenario(scenario, system, args, env)
        run["attempt"] = attempt + 1
        attempts.append(run)
        share = others_share(run)
        log(f"  {label} {describe(run)}")
        for r in run["records"] + [run.get("background") or {}]:
            if "error" in r:
                log("    " + r.get("stderr", "")[-800:].replace("\n", "\n    "))
        if share is None or share <= args.max_others or attempt == args.retries:
            break
        log(f"    others busy; again in {args.retry_wait:.0f} s")
        time.sleep(args.retry_wait)
    return attempts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--systems", default="snnc,bindsnet")
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--bindsnet-scenarios", default="quiet",
                   help="BindsNET's scenarios (of --scenarios); default: quiet only")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--passes", type=int, default=5, help="timed passes per process")
    p.add_argument("--samples", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--background-seconds", type=float, default=300.0,
                   help="the background job's own time limit (it is stopped sooner)")
    p.add_argument("--timeout", type=float, default=600.0, help="per process, seconds")
    p.add_argument("--max-others", type=float, default=0.05,
                   help="measure a scenario again when other processes used more than this share "
                        "of the CPU meanwhile (a shared machine)")
    p.add_argument("--retries", type=int, default=3, help="at most this many times (0: never)")
    p.add_argument("--retry-wait", type=float, default=10.0, help="seconds before measuring again")
    p.add_argument("--json", type=Path, default=OUT / "bench_loop.json")
    args = p.parse_args()
    systems = [s for s in args.systems.split(",") if s]
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = [s for s in scenarios if s not in SCENARIOS] + [s for s in systems if s not in PYTHON]
    if unknown:
        p.error(f"unknown system(s)/scenario(s) {unknown}")
    if "quiet" not in scenarios:
        scenarios.insert(0, "quiet")  # the reference of every ratio
    missing = [s for s in systems if not available(s)]
    if missing:
        log(f"skipping {missing}: no venv (run benchmarks/setup_oracles.sh)")
        systems = [s for s in systems if s not in missing]

    started = time.perf_counter()
    args.busy_at_start = cpu_busy()
    revision = git_revision()
    cache = tempfile.mkdtemp(prefix="snnc-loop-")
    plan = {s: [c for c in scenarios if s != "bindsnet" or c == "quiet"
                or c in args.bindsnet_scenarios.split(",")] for s in systems}
    results: dict[str, dict[str, list[dict]]] = {s: {c: [] for c in plan[s]} for s in systems}
    try:
        for rep in range(args.repeats):
            for system in systems:
                for scenario in plan[system]:   # alternating: quiet, background, pair, quiet, ...
                    label = f"rep {rep + 1}/{args.repeats}  {system:<9} {scenario:<11}"
                    attempts = measure_scenario(scenario, system, args, snnc_env(cache), label)
                    results[system][scenario].extend(attempts)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    table, summary = summarize(results, args)
    print(table)
    summary["meta"] = {"argv": sys.argv, "revision": revision, "cpus": os.cpu_count(),
                       "total_s": time.perf_counter() - started}
    summary["results"] = results
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2, default=str))
    print(f"\nwrote {args.json}  ({summary['meta']['total_s']:.0f} s in all)")


if __name__ == "__main__":
    main()
