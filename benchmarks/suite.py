"""The whole benchmark suite in one command: snnc next to BindsNET 0.3.4 and Brian2.

    bash benchmarks/setup_oracles.sh          # once: the BindsNET and Brian2 venvs
    python benchmarks/suite.py                # everything, ~25-40 min on 2 cores
    python benchmarks/suite.py --quick        # 1 repeat, smaller sizes, ~8 min
    python benchmarks/suite.py --sections dc,batch --systems snnc,bindsnet

Sections (``--sections``, default all):

- ``guide``: the user guide's network (batch 1, 500 steps) in all three systems, and as
  a per-sample loop (100 × ``network.run(time=25)`` + reset; snnc and BindsNET).
- ``batch``: the guide network at batch 1, 4, 16, 64, 256: time per sample.
- ``recipe``: BindsNET's published benchmark at n = 250 … 10000 (live Poisson inputs
  from each system's own encoder).
- ``dc``: Diehl & Cook training, 784 → 100 and 784 → 400, PostPre on, monitors on every
  layer, batch 1, 250 steps per sample (runners/sample_loops.py).
- ``conversion``: the digits MLP converted by each system's ``ann_to_snn``, 500 test
  images at once, 100 steps.
- ``fusion``: the guide's MulticompartmentConnection (Weight + Bias, folded by snnc's
  ``fuse`` pass), with PostPre, and with a float16 Weight (bench_mcc.py).
- ``storage``: a 5 %-dense sparse Weight, Input(2000) → LIF(2000) (bench_mcc.py
  ``--sparse``; snnc stores it as CSR).
- ``compile``: snnc's compile time for the guide network, cold (empty cache) and warm.

Every measure is a fresh process, one at a time, the systems alternating within each
repeat; tables give medians and every row its ratio to BindsNET. Writes
``OUT.md`` (the tables and the targets), ``OUT.json`` (every record) and
``OUT_*.png`` (speed-ups, batch scaling, recipe scaling); ``OUT`` defaults to
``benchmarks/out/suite``.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_compare as bc  # noqa: E402
import suite_report  # noqa: E402

SECTIONS = ("guide", "batch", "recipe", "dc", "conversion", "fusion", "storage", "compile")


def suite_cases(args) -> dict[str, dict[str, dict]]:
    """section -> case label -> runner arguments (bench_compare's case format)."""
    batches = (1, 16, 64) if args.quick else (1, 4, 16, 64, 256)
    ns = (250, 1000, 2500) if args.quick else (250, 1000, 2500, 5000, 10000)
    dc_sizes = (100,) if args.quick else (100, 400)
    return {
        "guide": {"guide": {"workload": "guide", "steps": 500, "batch": 1},
                  "guide-loop": {"workload": "guide-loop", "steps": 25, "batch": 1, "samples": 100}},
        "batch": {f"guide-b{b}": {"workload": "guide", "steps": 500, "batch": b} for b in batches},
        "recipe": {f"recipe-{n}": {"workload": "recipe", "n": n, "steps": 1000} for n in ns},
        "dc": {f"dc-train-{n}": {"workload": "dc-train", "n": n, "steps": 250, "batch": 1,
                                 "samples": args.dc_samples} for n in dc_sizes},
        "conversion": {"conversion": {"workload": "conversion", "steps": 100, "batch": 500}},
    }


MCC_CASES = {
    "fusion": {"mcc-weight-bias": [], "mcc-postpre": ["--learning"], "mcc-float16": ["--dtype", "float16"]},
    "storage": {"sparse-5pct": ["--sparse", "0.05", "--time", "200"]},
}


def run_mcc(label: str, extra: list[str], args) -> dict:
    """One bench_mcc.py comparison (it runs snnc here and BindsNET in its venv)."""
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    cmd = [sys.executable, str(HERE / "bench_mcc.py"), "--repeats", str(args.mcc_repeats), "--json", str(out), *extra]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, cwd=str(HERE.parent))
        if done.returncode:
            return {"error": f"exit {done.returncode}", "stderr": done.stderr[-2000:]}
        record = json.loads(out.read_text())
    except (subprocess.TimeoutExpired, json.JSONDecodeError, OSError) as error:
        return {"error": str(error)}
    finally:
        out.unlink(missing_ok=True)
    bc.log(f"  {label:<16} snnc {record['snnc']['seconds'] * 1e3:.2f} ms, "
           f"BindsNET {record['bindsnet']['seconds'] * 1e3:.2f} ms")
    return record


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--quick", action="store_true", help="1 repeat, fewer sizes")
    p.add_argument("--sections", default=",".join(SECTIONS))
    p.add_argument("--systems", default="snnc,bindsnet,brian2")
    p.add_argument("--repeats", type=int, default=None, help="default 3 (--quick: 1)")
    p.add_argument("--runs", type=int, default=3, help="timed runs (or passes) per process")
    p.add_argument("--dc-samples", type=int, default=10, help="dc: samples per timed pass")
    p.add_argument("--mcc-repeats", type=int, default=5)
    p.add_argument("--compile-repeats", type=int, default=None, help="default 3 (--quick: 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--out", type=Path, default=HERE / "out" / "suite")
    args = p.parse_args()
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.compile_repeats = args.compile_repeats if args.compile_repeats is not None else (1 if args.quick else 3)
    # what bench_compare's helpers read from args
    args.inputs, args.bindsnet_threads, args.brian2_float64 = "encoder", None, False
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        p.error(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    missing = [s for s in systems if not bc.available(s)]
    if missing:
        bc.log(f"skipping {missing}: no venv (run bash benchmarks/setup_oracles.sh)")
        systems = [s for s in systems if s not in missing]

    started = time.perf_counter()
    revision = bc.git_revision()
    load = os.getloadavg()[0]
    bc.log(f"snnc at {revision['head'][:10]}; load average {load:.2f} before the start")
    cases = suite_cases(args)
    results: dict = {"sections": {}, "mcc": {}, "compile": None}
    cache = tempfile.mkdtemp(prefix="snnc-suite-")
    try:
        for section in sections:
            if section in cases:
                bc.log(f"[{section}]")
                results["sections"][section] = bc.measure_cases(args, cases[section], systems, cache)
            elif section in MCC_CASES and "bindsnet" in systems:
                bc.log(f"[{section}]")
                for label, extra in MCC_CASES[section].items():
                    results["mcc"][label] = run_mcc(label, extra, args)
            elif section == "compile" and args.compile_repeats:
                bc.log("[compile]")
                results["compile"] = bc.measure_compile(args, cases["guide"]["guide"], args.compile_repeats, "guide")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    meta = {"argv": sys.argv, "repeats": args.repeats, "runs": args.runs, "systems": systems,
            "python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
            "loadavg_before": load, "total_s": time.perf_counter() - started,
            "snnc_revision": revision, "date": time.strftime("%Y-%m-%d %H:%M")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = suite_report.summarize(results, cases, meta)
    json_path = args.out.with_suffix(".json")
    json_path.write_text(json.dumps({"summary": summary, "results": results, "cases": cases, "meta": meta},
                                    indent=1, default=str))
    markdown = suite_report.markdown(summary, meta)
    args.out.with_suffix(".md").write_text(markdown)
    plots = suite_report.plots(summary, args.out)
    print(markdown)
    print(f"wrote {args.out.with_suffix('.md')}, {json_path}" + "".join(f", {p}" for p in plots))


if __name__ == "__main__":
    main()
