"""The tables of bench_compare.py: medians, ratios, the issue's targets.

``summarize`` turns the raw records of bench_compare.py into the printed report and the
JSON summary; the per-sample loop (case ``guide-loop``) gets its own section.
"""
from __future__ import annotations

import statistics

SYSTEMS = ("snnc", "bindsnet", "brian2")

# The targets.
TARGET_GUIDE_VS_BINDSNET = 50.0
TARGET_RECIPE_VS_BINDSNET = 10.0
TARGET_COMPILE_COLD = 3.0
TARGET_COMPILE_WARM = 0.2
TARGET_LOOP_VS_BINDSNET = 40.0


def med(records: list[dict], key: str) -> float | None:
    values = [r[key] for r in records if r.get(key) is not None]
    return statistics.median(values) if values else None


def fmt(x: float | None, unit: str = "s") -> str:
    if x is None:
        return "-"
    if unit == "x":
        return f"{x:,.1f}x"
    if unit == "ms":
        return f"{x:.3f} ms"
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
    if any(label != "guide-loop" for label in results):
        lines.append(header)
        lines.append("-" * len(header))
    for label, per in results.items():
        if label == "guide-loop":   # wall time of a loop, not simulation time: its own section
            continue
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
    guides = [label for label in summary["cases"] if label == "guide" or is_variant(cases[label])]
    for label in guides:   # the guide network and its variants (other neuron models)
        row = summary["cases"][label]
        x = row["bindsnet_over_snnc"]
        target(f"{label}: BindsNET/snnc >= 50x", x, TARGET_GUIDE_VS_BINDSNET,
               None if x is None else x >= TARGET_GUIDE_VS_BINDSNET)
        x = row.get("bindsnet_over_snnc_steady")
        if x is not None:
            target(f"{label}, steady state: BindsNET/snnc >= 50x", x, TARGET_GUIDE_VS_BINDSNET,
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
        lines += compile_section(compile_figs, summary, target)
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
    for label in guides:
        # the first timed run's count (older records: the last run's, ``output_spikes``)
        for records in results[label].values():
            for r in records:
                if r.get("output_spikes_runs"):
                    r["output_spikes_first"] = r["output_spikes_runs"][0]
        key = ("output_spikes_first" if any(r.get("output_spikes_first") is not None
                                            for rs in results[label].values() for r in rs)
               else "output_spikes")
        spikes = {k: med(results[label].get(k, []), key) for k in SYSTEMS}
        row = summary["cases"][label]
        row["output_spikes"] = spikes
        row["output_spikes_all"] = {k: sorted({r.get(key) for r in results[label].get(k, [])
                                               if r.get(key) is not None})
                                    for k in SYSTEMS if results[label].get(k)}
        row["output_spikes_runs"] = {k: [r.get("output_spikes_runs") for r in results[label].get(k, [])]
                                     for k in SYSTEMS if results[label].get(k)}
        shown = ", ".join(f"{k} {int(v)}" for k, v in spikes.items() if v is not None)
        varying = [k for k, v in row["output_spikes_all"].items() if len(v) > 1]
        if varying:
            shown += " (varies between processes: " + "; ".join(
                f"{k} {row['output_spikes_all'][k]}" for k in varying) + ")"
        # runs after the first differ where a reset keeps learned state (AdaptiveLIF's theta)
        later = {k: runs[0] for k, runs in row["output_spikes_runs"].items()
                 if runs and runs[0] and len(set(runs[0])) > 1}
        if later:
            shown += "; per timed run in one process: " + ", ".join(
                f"{k} {v}" for k, v in later.items())
        if label == "guide":
            lines.append(f"guide sanity, output spikes in {cases['guide']['steps']} steps (first timed run): " + shown
                         + (" (Brian2 applies a spike's effect one step earlier; see brian2_runner.py)"
                            if spikes.get("brian2") is not None else ""))
        else:
            lines.append(f"{label} sanity, output spikes in {cases[label]['steps']} steps "
                         f"(first timed run): {shown}")
    if summary.get("batch64_speedup_per_sample"):
        lines.append(f"guide batch 64: {fmt(g64['snnc_per_sample'])} per sample, "
                     f"{summary['batch64_speedup_per_sample']:.1f}x less than batch 1's "
                     f"{fmt(g['snnc'])}; BindsNET {fmt(g64['bindsnet_per_sample'])} per sample")
    if "guide-loop" in results:
        loop_lines, loop_row, loop_target = loop_section(results["guide-loop"])
        summary["cases"]["guide-loop"] = {**loop_row, "records": results["guide-loop"]}
        lines += [""] + loop_lines
        targets.append(loop_target)
    lines.append("")
    lines.append("targets:")
    width = max([48] + [len(t["target"]) for t in targets])
    for t in targets:
        value = t["value"]
        shown = "-" if value is None else (fmt(value, "x") if "x" in t["target"].split(":")[-1]
                                           or "B2/snnc" in t["target"] else fmt(value))
        lines.append(f"  {t['target']:<{width}} {shown:>10}  {verdict(t['met'])}")
    return "\n".join(lines), summary




def is_variant(case: dict) -> bool:
    """A guide network with another output neuron model (workloads.GUIDE_VARIANTS)."""
    return case.get("workload") == "guide" and case.get("neuron", "lif") != "lif"


def compile_figures(figs: dict) -> dict:
    """Medians of one network's cold/warm compile records."""
    return {
        "cold_total_s": med(figs["cold"], "compile_total_s"),
        "warm_total_s": med(figs["warm"], "compile_total_s"),
        "cold_compile_s": med(figs["cold"], "compile_s"),
        "cold_first_run_s": med(figs["cold"], "first_run_s"),
        "warm_compile_s": med(figs["warm"], "compile_s"),
        "warm_first_run_s": med(figs["warm"], "first_run_s"),
        "warm_import_s": med(figs["warm"], "import_s"),
        "warm_process_s": med(figs["warm"], "process_s"),
        "inproc_total_s": med(figs["warm"], "inproc_total_s"),
        "cold_numba_compile_s": med(figs["cold"], "numba_compiler_lock_s"),
        "cold_numba_llvm_s": med(figs["cold"], "numba_llvm_lock_s"),
        "inproc_compile_s": med(figs["warm"], "inproc_compile_s"),
        "inproc_first_run_s": med(figs["warm"], "inproc_first_run_s"),
        "records": figs}


def compile_section(compile_figs: dict, summary: dict, target) -> list[str]:
    """snnc's compile time: the guide network in full (with the targets), then one line
    per guide variant. ``compile_figs``: case label -> {"cold": [...], "warm": [...]}."""
    lines = []
    summary["compile_by_case"] = {label: compile_figures(figs) for label, figs in compile_figs.items()}
    if "guide" in compile_figs:
        c = summary["compile"] = summary["compile_by_case"]["guide"]
        cold, warm = c["cold_total_s"], c["warm_total_s"]
        lines.append("")
        lines.append(f"snnc compile (guide network; snnc.compile + first 1-step run, fresh process, "
                     f"median of {len(compile_figs['guide']['cold'])}):")
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
    others = [label for label in compile_figs if label != "guide"]
    if others:
        lines.append("")
        lines.append("snnc compile, guide variants (same measures; cold = compile + first run, "
                     "numba's share of it in brackets):")
        for label in others:
            c = summary["compile_by_case"][label]
            lines.append(f"  {label:<14} cold {fmt(c['cold_total_s']):>8} (numba {fmt(c['cold_numba_compile_s'])}, "
                         f"LLVM {fmt(c['cold_numba_llvm_s'])})  warm {fmt(c['warm_total_s']):>8}  "
                         f"same process again {fmt(c['inproc_total_s'])}")
    return lines


def loop_section(per: dict[str, list[dict]]) -> tuple[list[str], dict, dict]:
    """The per-sample loop (guide-loop): ms per sample side by side, the call times, the
    overhead per call, the 40x target. ``per``: system -> the runners' records."""
    def ms(system: str) -> float | None:
        return med(per.get(system, []), "ms_per_sample")

    row = {"snnc_ms_per_sample": ms("snnc"), "bindsnet_ms_per_sample": ms("bindsnet")}
    for system in ("snnc", "bindsnet"):
        for key in ("run_call_us", "reset_call_us", "one_step_call_us"):
            row[f"{system}_{key}"] = med(per.get(system, []), key)
    for key in ("sim_us", "overhead_us", "overhead_p90_us"):
        row[f"snnc_{key}"] = med(per.get("snnc", []), key)
    s, b = row["snnc_ms_per_sample"], row["bindsnet_ms_per_sample"]
    row["loop_bindsnet_over_snnc"] = b / s if s and b else None
    samples = next((r.get("samples") for rs in per.values() for r in rs if r.get("samples")), "?")

    def us(x: float | None) -> str:
        return "-" if x is None else f"{x:.0f} us"

    lines = [f"per-sample loop (guide-loop): {samples} x network.run(time=25) + "
             "reset_state_variables(), both timed, after an untimed pass (compile, JIT/cache load); "
             "wall time, median of the timed passes",
             f"  ms per sample: snnc {fmt(s, 'ms')}, BindsNET {fmt(b, 'ms')}, "
             f"BindsNET/snnc {fmt(row['loop_bindsnet_over_snnc'], 'x')}",
             f"  snnc per call: run {us(row['snnc_run_call_us'])} = generated code "
             f"{us(row['snnc_sim_us'])} + overhead {us(row['snnc_overhead_us'])} (p90 "
             f"{us(row['snnc_overhead_p90_us'])}); reset {us(row['snnc_reset_call_us'])}; "
             f"run(time=1) {us(row['snnc_one_step_call_us'])}",
             f"  BindsNET per call: run {us(row['bindsnet_run_call_us'])}; reset "
             f"{us(row['bindsnet_reset_call_us'])}; run(time=1) {us(row['bindsnet_one_step_call_us'])}"]
    if not per.get("bindsnet"):
        lines.pop()
    spikes = {k: rs[0].get("output_spikes_per_sample") for k, rs in per.items() if rs}
    if spikes.get("snnc") and spikes.get("bindsnet"):
        same = spikes["snnc"] == spikes["bindsnet"]
        lines.append(f"  sanity: output spikes per sample {'identical' if same else 'DIFFER'} "
                     f"(snnc {sum(spikes['snnc'])}, BindsNET {sum(spikes['bindsnet'])} in all)")
    x = row["loop_bindsnet_over_snnc"]
    target = {"target": "guide-loop: BindsNET/snnc >= 40x", "value": x,
              "goal": TARGET_LOOP_VS_BINDSNET, "met": None if x is None else x >= TARGET_LOOP_VS_BINDSNET}
    return lines, row, target
