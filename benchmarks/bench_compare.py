"""Compare snnc (numba backend) with BindsNET 0.3.4 and Brian2 (cpp_standalone).

    bash benchmarks/setup_oracles.sh                  # once: the two oracle venvs
    python benchmarks/bench_compare.py --quick        # a few minutes
    python benchmarks/bench_compare.py                # guide, guide x64, recipe n=1000/5000/10000
    python benchmarks/bench_compare.py --cases recipe-10000 --systems snnc,brian2 --repeats 5

Every measure is a fresh process (one at a time): snnc through benchmarks/runners/
snnc_runner.py with this interpreter, BindsNET and Brian2 through their runners with
their venvs' interpreters. Each runner builds the workload, times only the simulation
and prints a JSON line. Within a repeat the systems run one after the other (A B C A B C
...), the table shows the median over the repeats. snnc's compile time is measured apart:
``snnc.compile`` + the first one-step run in a fresh process with an empty cache (cold)
and again in a second process reusing that cache (warm).

Workload inputs: the guide's Bernoulli(0.1) raster and weights come from the same torch
seed in every system (Brian2, which has no torch, reads them from a file written here).
The recipe's Poisson inputs are, with ``--inputs encoder`` (default), encoded by each
system's own encoder from the same rates U(0, 100) Hz (snnc.encoding.poisson,
bindsnet.encoding.poisson, Brian2's PoissonGroup, which draws inside its run loop);
with ``--inputs raster`` one raster is generated here and replayed by all systems.

Writes benchmarks/out/bench_compare.json (or --json).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RUNNERS = HERE / "runners"
VENVS = HERE / ".venvs"
OUT = HERE / "out"
DATA = OUT / "compare_data"

SYSTEMS = ("snnc", "bindsnet", "brian2")
PYTHON = {"snnc": sys.executable,
          "bindsnet": str(VENVS / "bindsnet" / "bin" / "python"),
          "brian2": str(VENVS / "brian2" / "bin" / "python")}
SCRIPT = {s: str(RUNNERS / f"{s}_runner.py") for s in SYSTEMS}

# The targets.
TARGET_GUIDE_VS_BINDSNET = 50.0
TARGET_RECIPE_VS_BINDSNET = 10.0
TARGET_COMPILE_COLD = 3.0
TARGET_COMPILE_WARM = 0.2


def case_table(args) -> dict[str, dict]:
    """label -> runner arguments."""
    cases = {
        "guide": {"workload": "guide", "steps": args.guide_steps, "batch": 1},
        "guide-b64": {"workload": "guide", "steps": args.guide_steps, "batch": 64},
    }
    for n in (1000, 5000, 10000):
        cases[f"recipe-{n}"] = {"workload": "recipe", "n": n, "steps": args.recipe_steps}
    return cases


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
        if system == "brian2":
            cmd += ["--guide-data", str(data["guide"])]
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
        if case["workload"] == "guide":
            data["guide"] = guide_data(case["steps"], args.seed)
        else:
            data.update(recipe_data(case["n"], case["steps"], args.seed, args.inputs == "raster"))
        here = [s for s in systems if not (s == "brian2" and case.get("batch", 1) != 1)]
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


def measure_compile(args, workload_case: dict, repeats: int) -> dict:
    """Cold: a fresh cache dir; warm: a second process on the same cache dir."""
    figures: dict[str, list[dict]] = {"cold": [], "warm": []}
    base = [sys.executable, SCRIPT["snnc"], "--measure", "compile", "--workload",
            workload_case["workload"], "--steps", str(workload_case["steps"]), "--seed", str(args.seed)]
    for rep in range(repeats):
        cache = tempfile.mkdtemp(prefix="snnc-cold-")
        try:
            for kind in ("cold", "warm"):
                record = run_json(base, snnc_env(cache), args.timeout)
                figures[kind].append(record)
                shown = (f"{record['compile_total_s']:.3f} s" if "compile_total_s" in record
                         else record.get("error", "?"))
                log(f"  compile      rep {rep + 1}/{repeats}  {kind:<9} {shown}")
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


# -- reporting ---------------------------------------------------------------------------
def med(records: list[dict], key: str) -> float | None:
    values = [r[key] for r in records if r.get(key) is not None]
    return statistics.median(values) if values else None


def fmt(x: float | None, unit: str = "s") -> str:
    if x is None:
        return "-"
    if unit == "x":
        return f"{x:,.1f}x"
    if x >= 100:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.3f}"
    if x >= 0.01:
        return f"{x:.4f}"
    return f"{x * 1e3:.3f}ms"


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("MET" if ok else "NOT MET")


def summarize(args, cases, results, compile_figs, bandwidth) -> tuple[str, dict]:
    lines = []
    summary: dict = {"cases": {}, "targets": []}
    inputs_note = ("each system's own Poisson encoder (snnc.encoding.poisson, bindsnet.encoding."
                   "poisson, Brian2 PoissonGroup) from the same rates" if args.inputs == "encoder"
                   else "one pre-generated Poisson raster (snnc.encoding.poisson) replayed by all")
    lines.append(f"snnc vs BindsNET 0.3.4 vs Brian2 cpp_standalone -- median of {args.repeats} "
                 f"repeat(s), simulation time only, seconds")
    lines.append(f"recipe inputs: {inputs_note}")
    header = (f"{'case':<12} {'snnc':>10} {'BindsNET':>10} {'Brian2':>10} {'BN/snnc':>9} "
              f"{'B2/snnc':>9} {'snnc/sample':>12}  spread snnc [min,max]")
    lines.append(header)
    lines.append("-" * len(header))
    for label, per in results.items():
        s, b, r = (med(per.get(k, []), "run_s") for k in SYSTEMS)
        row = {"snnc": s, "bindsnet": b, "brian2": r,
               "bindsnet_over_snnc": b / s if s and b else None,
               "brian2_over_snnc": r / s if s and r else None,
               "snnc_per_sample": med(per.get("snnc", []), "per_sample_s"),
               "bindsnet_per_sample": med(per.get("bindsnet", []), "per_sample_s"),
               "snnc_runs": [x.get("run_s") for x in per.get("snnc", [])],
               "bindsnet_runs": [x.get("run_s") for x in per.get("bindsnet", [])],
               "brian2_runs": [x.get("run_s") for x in per.get("brian2", [])],
               "snnc_wall": med(per.get("snnc", []), "run_wall_s"),
               "snnc_steady": med(per.get("snnc", []), "steady_s"),
               "snnc_steady_wall": med(per.get("snnc", []), "steady_wall_s"),
               "bindsnet_steady": med(per.get("bindsnet", []), "steady_s"),
               "input_spikes_per_step": med(per.get("snnc", []), "input_spikes_per_step"),
               "snnc_encode_s": med(per.get("snnc", []), "encode_s"),
               "bindsnet_encode_s": med(per.get("bindsnet", []), "encode_s"),
               "records": per}
        summary["cases"][label] = row
        runs = [x for x in row["snnc_runs"] if x is not None]
        spread = f"[{fmt(min(runs))}, {fmt(max(runs))}]" if runs else ""
        lines.append(f"{label:<12} {fmt(s):>10} {fmt(b):>10} {fmt(r):>10} "
                     f"{fmt(row['bindsnet_over_snnc'], 'x'):>9} {fmt(row['brian2_over_snnc'], 'x'):>9} "
                     f"{fmt(row['snnc_per_sample']):>12}  {spread}")
    steady_rows = [(label, row) for label, row in summary["cases"].items() if row["snnc_steady"]]
    if steady_rows:
        lines.append("")
        lines.append(f"same, with the whole program.run call for snnc (wall), and in-process steady state "
                     f"(median of timed runs 2..{args.runs} in each process, after a reset):")
        head2 = (f"{'case':<12} {'snnc wall':>10} {'BN/wall':>8}   {'snnc st.':>10} {'wall st.':>10} "
                 f"{'BN st.':>10} {'BN/snnc st.':>11} {'BN/wall st.':>11}")
        lines.append(head2)
        lines.append("-" * len(head2))
        for label, row in steady_rows:
            b = row["bindsnet"]
            bs = row["bindsnet_steady"]
            row["bindsnet_over_snnc_wall"] = b / row["snnc_wall"] if b and row["snnc_wall"] else None
            row["bindsnet_over_snnc_steady"] = bs / row["snnc_steady"] if bs else None
            row["bindsnet_over_snnc_steady_wall"] = (bs / row["snnc_steady_wall"]
                                                     if bs and row["snnc_steady_wall"] else None)
            lines.append(f"{label:<12} {fmt(row['snnc_wall']):>10} {fmt(row['bindsnet_over_snnc_wall'], 'x'):>8}   "
                         f"{fmt(row['snnc_steady']):>10} {fmt(row['snnc_steady_wall']):>10} {fmt(bs):>10} "
                         f"{fmt(row['bindsnet_over_snnc_steady'], 'x'):>11} "
                         f"{fmt(row['bindsnet_over_snnc_steady_wall'], 'x'):>11}")
    targets = summary["targets"]

    def target(name, value, goal, ok):
        targets.append({"target": name, "value": value, "goal": goal, "met": ok})

    g = summary["cases"].get("guide")
    if g:
        x = g["bindsnet_over_snnc"]
        target("guide: BindsNET/snnc >= 50x", x, TARGET_GUIDE_VS_BINDSNET,
               None if x is None else x >= TARGET_GUIDE_VS_BINDSNET)
        x = g.get("bindsnet_over_snnc_steady")
        if x is not None:
            target("guide, steady state: BindsNET/snnc >= 50x", x, TARGET_GUIDE_VS_BINDSNET,
                   x >= TARGET_GUIDE_VS_BINDSNET)
    g64 = summary["cases"].get("guide-b64")
    if g64:
        target("guide batch 64: snnc time per sample (report)", g64["snnc_per_sample"], None, None)
        if g and g["snnc"] and g64["snnc_per_sample"]:
            summary["batch64_speedup_per_sample"] = g["snnc"] / g64["snnc_per_sample"]
    for label, row in summary["cases"].items():
        if not label.startswith("recipe"):
            continue
        x = row["bindsnet_over_snnc"]
        target(f"{label}: BindsNET/snnc >= 10x", x, TARGET_RECIPE_VS_BINDSNET,
               None if x is None else x >= TARGET_RECIPE_VS_BINDSNET)
        y = row["brian2_over_snnc"]
        target(f"{label}: faster than Brian2 (B2/snnc > 1)", y, 1.0, None if y is None else y > 1.0)
    if compile_figs:
        cold = med(compile_figs["cold"], "compile_total_s")
        warm = med(compile_figs["warm"], "compile_total_s")
        summary["compile"] = {
            "cold_total_s": cold, "warm_total_s": warm,
            "cold_compile_s": med(compile_figs["cold"], "compile_s"),
            "cold_first_run_s": med(compile_figs["cold"], "first_run_s"),
            "warm_compile_s": med(compile_figs["warm"], "compile_s"),
            "warm_first_run_s": med(compile_figs["warm"], "first_run_s"),
            "warm_import_s": med(compile_figs["warm"], "import_s"),
            "warm_process_s": med(compile_figs["warm"], "process_s"),
            "inproc_total_s": med(compile_figs["warm"], "inproc_total_s"),
            "cold_numba_compile_s": med(compile_figs["cold"], "numba_compiler_lock_s"),
            "cold_numba_llvm_s": med(compile_figs["cold"], "numba_llvm_lock_s"),
            "inproc_compile_s": med(compile_figs["warm"], "inproc_compile_s"),
            "inproc_first_run_s": med(compile_figs["warm"], "inproc_first_run_s"),
            "records": compile_figs}
        c = summary["compile"]
        lines.append("")
        lines.append(f"snnc compile (guide network; snnc.compile + first 1-step run, fresh process, "
                     f"median of {len(compile_figs['cold'])}):")
        lines.append(f"  cold {fmt(cold)}  (compile {fmt(c['cold_compile_s'])} + first run "
                     f"{fmt(c['cold_first_run_s'])}, of which numba compiling the run function "
                     f"{fmt(c['cold_numba_compile_s'])}, LLVM {fmt(c['cold_numba_llvm_s'])})")
        lines.append(f"  warm {fmt(warm)}  (compile {fmt(c['warm_compile_s'])} + first run "
                     f"{fmt(c['warm_first_run_s'])}; not counted: import snnc "
                     f"{fmt(c['warm_import_s'])})")
        lines.append(f"  warm, same process again (numba already started) {fmt(c['inproc_total_s'])}  "
                     f"(compile {fmt(c['inproc_compile_s'])} + first run {fmt(c['inproc_first_run_s'])})")
        target("compile cold <= 3 s", cold, TARGET_COMPILE_COLD,
               None if cold is None else cold <= TARGET_COMPILE_COLD)
        target("compile warm <= 0.2 s", warm, TARGET_COMPILE_WARM,
               None if warm is None else warm <= TARGET_COMPILE_WARM)
    if bandwidth:
        summary["bandwidth"] = bandwidth
        lines.append("")
        lines.append(f"memory bandwidth, numpy copy of {bandwidth['array_mb']} MB: "
                     f"{bandwidth['bytes_per_s'] / 1e9:.2f} GB/s read+write "
                     f"({bandwidth['array_bytes_per_s'] / 1e9:.2f} GB/s of array copied); "
                     f"numpy sum (read only): {bandwidth['read_bytes_per_s'] / 1e9:.2f} GB/s")
        for label, row in summary["cases"].items():
            if not label.startswith("recipe") or row["input_spikes_per_step"] is None:
                continue
            n = cases[label]["n"]
            steps = cases[label]["steps"]
            moved = row["input_spikes_per_step"] * 4 * n * steps
            floor = moved / bandwidth["bytes_per_s"]
            row["event_bytes"] = moved
            row["event_floor_s"] = floor
            row["event_floor_array_s"] = moved / bandwidth["array_bytes_per_s"]
            row["event_floor_read_s"] = moved / bandwidth["read_bytes_per_s"]
            row["snnc_over_floor"] = row["snnc"] / floor if row["snnc"] else None
            row["snnc_effective_bytes_per_s"] = moved / row["snnc"] if row["snnc"] else None
            if n == 10000 or args.floor_all:
                lines.append(f"  {label}: event-driven memory floor = {row['input_spikes_per_step']:.1f} "
                             f"spiking inputs/step x {4 * n} B/row x {steps} steps = "
                             f"{moved / 1e9:.2f} GB / {bandwidth['bytes_per_s'] / 1e9:.2f} GB/s = "
                             f"{fmt(floor)}; snnc {fmt(row['snnc'])} = {row['snnc_over_floor']:.2f}x the floor")
                lines.append(f"    (snnc streams the rows at {row['snnc_effective_bytes_per_s'] / 1e9:.2f} GB/s; "
                             f"floor with array-copied bandwidth {fmt(row['event_floor_array_s'])}, "
                             f"with read-only bandwidth {fmt(row['event_floor_read_s'])})")
    if g:
        spikes = {k: med(results["guide"].get(k, []), "output_spikes") for k in SYSTEMS}
        lines.append(f"guide sanity, output spikes in {cases['guide']['steps']} steps: " + ", ".join(
            f"{k} {int(v)}" for k, v in spikes.items() if v is not None)
            + " (Brian2 applies a spike's effect one step earlier; see brian2_runner.py)")
    if summary.get("batch64_speedup_per_sample"):
        lines.append(f"guide batch 64: {fmt(g64['snnc_per_sample'])} per sample, "
                     f"{summary['batch64_speedup_per_sample']:.1f}x less than batch 1's "
                     f"{fmt(g['snnc'])}; BindsNET {fmt(g64['bindsnet_per_sample'])} per sample")
    lines.append("")
    lines.append("targets:")
    for t in targets:
        value = t["value"]
        shown = "-" if value is None else (fmt(value, "x") if "x" in t["target"].split(":")[-1]
                                           or "B2/snnc" in t["target"] else fmt(value))
        lines.append(f"  {t['target']:<48} {shown:>10}  {verdict(t['met'])}")
    return "\n".join(lines), summary


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--quick", action="store_true",
                   help="1 repeat; guide, guide-b64, recipe-1000, recipe-5000; 1 compile repeat")
    p.add_argument("--cases", default=None,
                   help="comma list of guide, guide-b64, recipe-1000, recipe-5000, recipe-10000 "
                        "(default: all; --quick: all but recipe-10000)")
    p.add_argument("--systems", default=",".join(SYSTEMS))
    p.add_argument("--repeats", type=int, default=None, help="default 3 (--quick: 1)")
    p.add_argument("--compile-repeats", type=int, default=None, help="default 3 (--quick: 1); 0: skip")
    p.add_argument("--runs", type=int, default=3,
                   help="timed runs per snnc/BindsNET process (not for n=10000): the table's main "
                        "figure is the first, the steady-state table the median of the others")
    p.add_argument("--inputs", choices=["encoder", "raster"], default="encoder")
    p.add_argument("--guide-steps", type=int, default=500)
    p.add_argument("--recipe-steps", type=int, default=1000)
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
            compile_figs = measure_compile(args, all_cases["guide"], args.compile_repeats)
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
