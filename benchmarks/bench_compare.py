"""Compare snnc (numba backend) with BindsNET 0.3.4 and Brian2 (cpp_standalone).

    bash benchmarks/setup_oracles.sh                  # once: the two oracle venvs
    python benchmarks/bench_compare.py --quick        # a few minutes
    python benchmarks/bench_compare.py                # guide, guide x64, recipe n=1000/5000/10000, guide-loop,
                                                      # guide-alif/-izh/-izh-w5/-clif
    python benchmarks/bench_compare.py --cases guide,guide-alif,guide-izh,guide-clif --systems snnc,bindsnet
    python benchmarks/bench_compare.py --cases guide-loop --systems snnc,bindsnet --compile-repeats 0
    python benchmarks/bench_compare.py --cases recipe-10000 --systems snnc,brian2 --repeats 5

Every measure is a fresh process (one at a time): snnc through benchmarks/runners/
snnc_runner.py with this interpreter, BindsNET and Brian2 through their runners with
their venvs' interpreters. Each runner builds the workload, times only the simulation
and prints a JSON line. Within a repeat the systems run one after the other (A B C A B C
...), the table shows the median over the repeats. snnc's compile time is measured apart:
``snnc.compile`` + the first one-step run in a fresh process with an empty cache (cold)
and again in a second process reusing that cache (warm), for the guide network and each
guide variant asked for (``--compile-cases``).

Workload inputs: the guide's Bernoulli(0.1) raster and weights come from the same torch
seed in every system (Brian2, which has no torch, reads them from a file written here).
The guide variants (``guide-alif``, ``guide-izh``, ``guide-izh-w5``, ``guide-clif``:
workloads.GUIDE_VARIANTS) swap the 1000 LIF neurons for AdaptiveLIF, Izhikevich (default;
and with the input weights x 5) or CurrentLIF neurons; snnc and BindsNET only.
The recipe's Poisson inputs are, with ``--inputs encoder`` (default), encoded by each
system's own encoder from the same rates U(0, 100) Hz (snnc.encoding.poisson,
bindsnet.encoding.poisson, Brian2's PoissonGroup, which draws inside its run loop);
with ``--inputs raster`` one raster is generated here and replayed by all systems.
The per-sample loop (``guide-loop``, runners/loop.py: 100 x ``network.run(time=25)`` +
``reset_state_variables()``) uses the same seeded rasters everywhere; Brian2 does not run
it. bench_loop.py measures that loop under load.

Writes benchmarks/out/bench_compare.json (or --json).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from compare_report import SYSTEMS, summarize

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from workloads import GUIDE_VARIANTS  # noqa: E402  (imports torch only)

GUIDE_VARIANT_CASES = [v for v in GUIDE_VARIANTS if v != "lif"]
BRIAN2_NEVER = ("guide-loop", "dc-train", "conversion")   # workloads the Brian2 runner has not
RUNNERS = HERE / "runners"
VENVS = HERE / ".venvs"
OUT = HERE / "out"
DATA = OUT / "compare_data"

PYTHON = {"snnc": sys.executable,
          "bindsnet": str(VENVS / "bindsnet" / "bin" / "python"),
          "brian2": str(VENVS / "brian2" / "bin" / "python")}
SCRIPT = {s: str(RUNNERS / f"{s}_runner.py") for s in SYSTEMS}


def case_table(args) -> dict[str, dict]:
    """label -> runner arguments."""
    cases = {
        "guide": {"workload": "guide", "steps": args.guide_steps, "batch": 1},
        "guide-b64": {"workload": "guide", "steps": args.guide_steps, "batch": 64},
    }
    for n in (1000, 5000, 10000):
        cases[f"recipe-{n}"] = {"workload": "recipe", "n": n, "steps": args.recipe_steps}
    cases["guide-loop"] = {"workload": "guide-loop", "steps": 25, "batch": 1,
                           "samples": args.loop_samples}
    for variant in GUIDE_VARIANT_CASES:
        cases[f"guide-{variant}"] = {"workload": "guide", "steps": args.guide_steps, "batch": 1,
                                     "neuron": variant}
    return cases


def is_guide_variant(case: dict) -> bool:
    """A guide network whose output layer is not LIF (snnc and BindsNET only)."""
    return case["workload"] == "guide" and case.get("neuron", "lif") != "lif"


# -- shared inputs ---------------------------------------------------------------------
def guide_data(steps: int, seed: int) -> Path:
    """The guide's weights and batch-1 inputs, drawn exactly as the runners draw them."""
    path = DATA / f"guide-{steps}-{seed}.npz"
    if not path.exists():
        import torch
        sys.path.insert(0, str(HERE))
        from workloads import guide_inputs, guide_network, snnc_api
        torch.manual_seed(seed)
        network = guide_network(snnc_api(), steps)
        inputs = guide_inputs(steps, batch=1)
        w_ab = network.connections[("A", "B")].w.numpy()
        w_bb = network.connections[("B", "B")].w.numpy()
        off = w_bb[~np.eye(w_bb.shape[0], dtype=bool)]
        assert np.all(off == off[0]) and np.all(np.diag(w_bb) == 0)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, w_ab=w_ab, w_bb_off=off[0], inputs=inputs["A"][:, 0].numpy())
    return path


def conversion_data() -> Path:
    """The trained digits MLP and its images for the ``conversion`` workload (made once)."""
    path = DATA / "conversion.pt"
    if not path.exists():
        from workloads import conversion_data as make
        path.parent.mkdir(parents=True, exist_ok=True)
        make(path)
    return path


def recipe_data(n: int, steps: int, seed: int, raster: bool) -> dict[str, Path]:
    """Rates U(0, 100) Hz (as runners/common.py draws them) and, for raster mode, one
    Poisson raster encoded with snnc.encoding.poisson."""
    DATA.mkdir(parents=True, exist_ok=True)
    rates_path = DATA / f"rates-{n}-{seed}.npy"
    rates = np.random.default_rng(seed).uniform(0.0, 100.0, n).astype(np.float32)
    if not rates_path.exists():
        np.save(rates_path, rates)
    paths = {"rates": rates_path}
    if raster:
        raster_path = DATA / f"raster-{n}-{steps}-{seed}.npy"
        if not raster_path.exists():
            import torch
            from snnc.encoding import poisson
            torch.manual_seed(seed)
            np.save(raster_path, poisson(torch.from_numpy(rates), time=steps).numpy())
        paths["raster"] = raster_path
    return paths


# -- running -----------------------------------------------------------------------------
def runner_command(system: str, case: dict, args, data: dict[str, Path]) -> list[str]:
    cmd = [PYTHON[system], SCRIPT[system], "--workload", case["workload"], "--seed", str(args.seed)]
    if case.get("steps"):
        cmd += ["--steps", str(case["steps"])]
    if case["workload"] == "guide":
        cmd += ["--batch", str(case["batch"])]
        if is_guide_variant(case):
            cmd += ["--neuron", case["neuron"]]
        if system == "brian2":
            cmd += ["--guide-data", str(data["guide"])]
    elif case["workload"] == "guide-loop":
        cmd += ["--samples", str(case["samples"])]
    elif case["workload"] == "dc-train":
        cmd += ["--n", str(case["n"]), "--samples", str(case["samples"])]
    elif case["workload"] == "conversion":
        cmd += ["--batch", str(case["batch"]), "--data", str(data["conversion"])]
    else:
        cmd += ["--n", str(case["n"]), "--inputs", args.inputs, "--rates", str(data["rates"])]
        if args.inputs == "raster":
            cmd += ["--raster", str(data["raster"])]
    runs = args.runs if case.get("n", 0) < 10000 else 1
    if system in ("snnc", "bindsnet") and runs > 1:
        cmd += ["--runs", str(runs)]
    if system == "bindsnet" and args.bindsnet_threads:
        cmd += ["--threads", str(args.bindsnet_threads)]
    if system == "brian2" and args.brian2_float64:
        cmd.append("--float64")
    return cmd


def run_json(cmd: list[str], env: dict | None = None, timeout: float = 1800) -> dict:
    """Run one measuring process; return its last JSON line (or an error record)."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                              cwd=str(HERE.parent))
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s", "cmd": cmd}
    wall = time.perf_counter() - start
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            record["process_wall_s"] = wall
            record["loadavg_1min_before"] = load
            return record
    return {"error": f"exit {proc.returncode}", "cmd": cmd,
            "stderr": proc.stderr[-3000:], "stdout": proc.stdout[-1000:]}


def git_revision() -> dict:
    """The library's commit and its modified files (the working tree is what runs)."""
    def git(*a):
        try:
            return subprocess.run(["git", *a], capture_output=True, text=True, cwd=str(HERE.parent),
                                  timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            return ""
    dirty = [line[3:] for line in git("status", "--short").splitlines()
             if not line[3:].startswith("benchmarks/")]
    return {"head": git("rev-parse", "HEAD").strip(), "dirty": dirty}


def available(system: str) -> bool:
    return system == "snnc" or Path(PYTHON[system]).exists()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def snnc_env(cache_dir: str | None = None) -> dict:
    env = dict(os.environ)
    if cache_dir is not None:
        env["SNNC_CACHE_DIR"] = cache_dir
    return env


def measure_cases(args, cases: dict[str, dict], systems: list[str], snnc_cache: str) -> dict:
    results: dict[str, dict[str, list[dict]]] = {}
    for label, case in cases.items():
        data: dict[str, Path] = {}
        here = [s for s in systems if not (s == "brian2" and (case.get("batch", 1) != 1
                                                               or case["workload"] in BRIAN2_NEVER
                                                               or is_guide_variant(case)))]
        if case["workload"] == "guide" and "brian2" in here:
            data["guide"] = guide_data(case["steps"], args.seed)
        elif case["workload"] == "conversion":
            data["conversion"] = conversion_data()
        elif case["workload"] == "recipe":
            data.update(recipe_data(case["n"], case["steps"], args.seed, args.inputs == "raster"))
        results[label] = {s: [] for s in here}
        for rep in range(args.repeats):
            for system in here:  # alternating: A B C, A B C, ...
                env = snnc_env(snnc_cache) if system == "snnc" else None
                record = run_json(runner_command(system, case, args, data), env, args.timeout)
                results[label][system].append(record)
                shown = (f"{record['run_s']:.4f} s" if "run_s" in record
                         else record.get("error", "?"))
                log(f"  {label:<12} rep {rep + 1}/{args.repeats}  {system:<9} {shown}")
                if "error" in record:
                    log("    " + record.get("stderr", "")[-800:].replace("\n", "\n    "))
    return results


def measure_compile(args, workload_case: dict, repeats: int, label: str = "compile") -> dict:
    """Cold: a fresh cache dir; warm: a second process on the same cache dir."""
    figures: dict[str, list[dict]] = {"cold": [], "warm": []}
    base = [sys.executable, SCRIPT["snnc"], "--measure", "compile", "--workload",
            workload_case["workload"], "--steps", str(workload_case["steps"]), "--seed", str(args.seed)]
    if is_guide_variant(workload_case):
        base += ["--neuron", workload_case["neuron"]]
    for rep in range(repeats):
        cache = tempfile.mkdtemp(prefix="snnc-cold-")
        try:
            for kind in ("cold", "warm"):
                record = run_json(base, snnc_env(cache), args.timeout)
                figures[kind].append(record)
                shown = (f"{record['compile_total_s']:.3f} s" if "compile_total_s" in record
                         else record.get("error", "?"))
                log(f"  {label:<12} rep {rep + 1}/{repeats}  {kind:<9} {shown}")
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    return figures


def memory_bandwidth(size_mb: int = 512, repeats: int = 5) -> dict:
    """Memory bandwidth of one core, from a numpy copy of a large float64 array (best of N).

    ``bytes_per_s`` counts the bytes read plus the bytes written (STREAM's convention for
    copy); ``array_bytes_per_s`` = array size / copy time (half of it). Also a read-only
    figure, numpy's sum of a float32 array of the same size (single-threaded).
    """
    src = np.ones(size_mb * 2 ** 20 // 8, dtype=np.float64)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    del dst
    flat = src.view(np.float32)
    flat.sum()
    best_read = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        flat.sum()
        best_read = min(best_read, time.perf_counter() - start)
    return {"array_mb": size_mb, "copy_s": best, "bytes_per_s": 2 * src.nbytes / best,
            "array_bytes_per_s": src.nbytes / best, "read_bytes_per_s": src.nbytes / best_read,
            "note": f"np.copyto of a {size_mb} MB float64 array, best of {repeats}; bytes_per_s = "
                    "(read + write) / time, array_bytes_per_s = size / time; read_bytes_per_s: "
                    "np.sum of the same buffer as float32"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--quick", action="store_true",
                   help="1 repeat; guide, guide-b64, recipe-1000, recipe-5000; 1 compile repeat")
    p.add_argument("--cases", default=None,
                   help="comma list of guide, guide-b64, recipe-1000, recipe-5000, recipe-10000, "
                        "guide-loop, " + ", ".join(f"guide-{v}" for v in GUIDE_VARIANT_CASES)
                        + " (default: all; --quick: all but recipe-10000)")
    p.add_argument("--compile-cases", default=None,
                   help="comma list of guide networks whose compile time is measured (guide and "
                        "guide variants; default: guide and the guide variants among the cases)")
    p.add_argument("--systems", default=",".join(SYSTEMS))
    p.add_argument("--repeats", type=int, default=None, help="default 3 (--quick: 1)")
    p.add_argument("--compile-repeats", type=int, default=None, help="default 3 (--quick: 1); 0: skip")
    p.add_argument("--runs", type=int, default=3,
                   help="timed runs per snnc/BindsNET process (not for n=10000): the table's main "
                        "figure is the first, the steady-state table the median of the others")
    p.add_argument("--inputs", choices=["encoder", "raster"], default="encoder")
    p.add_argument("--guide-steps", type=int, default=500)
    p.add_argument("--recipe-steps", type=int, default=1000)
    p.add_argument("--loop-samples", type=int, default=100, help="guide-loop: samples per pass")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--brian2-float64", action="store_true", help="Brian2 in double precision")
    p.add_argument("--bindsnet-threads", type=int, default=None,
                   help="torch threads for BindsNET (default: torch's choice, = cores)")
    p.add_argument("--floor-all", action="store_true", help="print the memory floor for every n")
    p.add_argument("--timeout", type=float, default=1800, help="per measuring process, seconds")
    p.add_argument("--json", type=Path, default=OUT / "bench_compare.json")
    args = p.parse_args()
    args.repeats = args.repeats or (1 if args.quick else 3)
    if args.compile_repeats is None:
        args.compile_repeats = 1 if args.quick else 3
    all_cases = case_table(args)
    if args.cases:
        wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in all_cases]
        if unknown:
            p.error(f"unknown case(s) {unknown}; choose from {list(all_cases)}")
    else:
        wanted = [c for c in all_cases if not (args.quick and c == "recipe-10000")]
    cases = {c: all_cases[c] for c in wanted}
    if args.compile_cases:
        compile_cases = [c.strip() for c in args.compile_cases.split(",") if c.strip()]
        bad = [c for c in compile_cases if c not in all_cases or not (
            c == "guide" or is_guide_variant(all_cases[c]))]
        if bad:
            p.error(f"--compile-cases: not a guide network at batch 1: {bad}")
    else:
        compile_cases = ["guide"] + [c for c in cases if is_guide_variant(cases[c])]
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    missing = [s for s in systems if not available(s)]
    if missing:
        log(f"skipping {missing}: no venv (run benchmarks/setup_oracles.sh)")
        systems = [s for s in systems if s not in missing]

    started = time.perf_counter()
    revision = git_revision()
    log(f"snnc at {revision['head'][:10]}, {len(revision['dirty'])} library file(s) modified")
    bandwidth = memory_bandwidth()
    log(f"memory bandwidth {bandwidth['bytes_per_s'] / 1e9:.2f} GB/s")
    snnc_cache = tempfile.mkdtemp(prefix="snnc-bench-")
    try:
        # warm the run cache once per case so that no snnc measure pays numba's JIT (the
        # runners also do a 1-step warm-up run before the timed run).
        compile_figs = None
        if args.compile_repeats > 0 and "snnc" in systems:
            log("compile time (cold/warm)")
            compile_figs = {label: measure_compile(args, all_cases[label], args.compile_repeats, label)
                            for label in compile_cases}
        log("runs")
        results = measure_cases(args, cases, systems, snnc_cache)
    finally:
        shutil.rmtree(snnc_cache, ignore_errors=True)
    # the raw records first, so that a failure below loses no measurement
    raw_path = args.json.with_name(args.json.stem + ".raw.json")
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    raw_path.write_text(json.dumps({"results": results, "compile": compile_figs, "bandwidth": bandwidth,
                                    "cases": cases, "revision": revision}, default=str))
    table, summary = summarize(args, cases, results, compile_figs, bandwidth)
    print(table)
    summary["meta"] = {"argv": sys.argv, "repeats": args.repeats, "inputs": args.inputs,
                       "python": sys.version.split()[0], "platform": platform.platform(),
                       "cpus": os.cpu_count(), "total_s": time.perf_counter() - started,
                       "systems": systems, "cases": cases, "snnc_revision": revision,
                       "snnc_revision_after": git_revision()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2, default=str))
    print(f"\nwrote {args.json}  ({summary['meta']['total_s']:.0f} s in all)")


if __name__ == "__main__":
    main()
