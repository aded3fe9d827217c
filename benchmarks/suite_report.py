"""suite.py's report: medians and ratios per row, the targets, the markdown and the plots."""
from __future__ import annotations

import statistics
from pathlib import Path

SYSTEMS = ("snnc", "bindsnet", "brian2")

# (description, figure, target) of each runner workload; the figure is seconds per sample
# (per run for the recipe, whose batch is 1; per image for conversion).
WHAT = {
    "guide": "guide network, batch 1, 500 steps",
    "guide-loop": "guide network as a per-sample loop, 25 steps per sample",
    "recipe": "BindsNET's recipe, {n} Poisson inputs -> {n} LIF, 1000 steps",
    "batch": "guide network, batch {batch}, 500 steps (per sample)",
    "dc-train": "Diehl & Cook training 784 -> {n}, learning and monitors on, 250 steps/sample",
    "conversion": "ANN-to-SNN digits MLP, batch {batch}, {steps} steps (per image)",
}
MCC_WHAT = {
    "mcc-weight-bias": "MCC Weight + Bias (fused), Input(100) -> LIF(1000), 500 steps",
    "mcc-postpre": "MCC Weight + Bias with PostPre, 500 steps",
    "mcc-float16": "MCC Weight(float16) + Bias, 500 steps",
    "sparse-5pct": "sparse Weight 5 % (CSR), Input(2000) -> LIF(2000), 200 steps",
}
TARGETS = [  # (row label, minimum BindsNET/snnc, description)
    ("dc-train-100", 100.0, "Diehl & Cook training 784 -> 100: BindsNET/snnc >= 100x"),
    ("guide-b64", 20.0, "guide batch 64: BindsNET/snnc per sample >= 20x (first run of a process)"),
    ("guide-b64:steady", 20.0, "guide batch 64: BindsNET/snnc per sample >= 20x (steady state: later runs)"),
    ("guide", 50.0, "guide network: BindsNET/snnc >= 50x"),
    ("guide-loop", 40.0, "per-sample loop: BindsNET/snnc >= 40x"),
    ("recipe-10000", 10.0, "recipe n = 10000: BindsNET/snnc >= 10x"),
]


def median(records: list[dict], key: str) -> float | None:
    values = [r[key] for r in records if isinstance(r.get(key), (int, float))]
    return statistics.median(values) if values else None


def describe(section: str, label: str, case: dict) -> str:
    key = "batch" if section == "batch" else case["workload"]
    return WHAT[key].format(**case)


def sanity(per: dict) -> str:
    """What both systems computed (output spikes, or accuracy for conversion)."""
    parts = []
    for system in SYSTEMS:
        records = per.get(system, [])
        if not records:
            continue
        if any("accuracy" in r for r in records):
            parts.append(f"{system} {median(records, 'accuracy'):.1f} %")
        elif any(isinstance(r.get("output_spikes"), int) for r in records):
            parts.append(f"{system} {int(median(records, 'output_spikes'))} spikes")
    return ", ".join(parts)


def summarize(results: dict, cases: dict, meta: dict) -> dict:
    rows = []
    for section, per_label in results["sections"].items():
        for label, per in per_label.items():
            case = cases[section][label]
            figures = {s: median(per.get(s, []), "per_sample_s") for s in SYSTEMS}
            errors = [r.get("error") for s in SYSTEMS for r in per.get(s, []) if r.get("error")]
            rows.append({"section": section, "label": label, "what": describe(section, label, case),
                         **{f"{s}_s": figures[s] for s in SYSTEMS},
                         "steady": {s: median(per.get(s, []), "steady_s") for s in SYSTEMS},
                         "batch": case.get("batch", 1), "n": case.get("n"), "sanity": sanity(per),
                         "errors": errors})
    for label, record in results["mcc"].items():
        section = "storage" if label.startswith("sparse") else "fusion"
        ok = "error" not in record
        rows.append({"section": section, "label": label, "what": MCC_WHAT[label],
                     "snnc_s": record["snnc"]["seconds"] if ok else None,
                     "bindsnet_s": record["bindsnet"]["seconds"] if ok else None, "brian2_s": None,
                     "sanity": (f"snnc {record['snnc']['spikes_first_run']} spikes, BindsNET "
                                f"{record['bindsnet']['spikes_first_run']} spikes") if ok else "",
                     "errors": [] if ok else [record.get("error")]})
    for row in rows:
        s, b, r = row["snnc_s"], row["bindsnet_s"], row["brian2_s"]
        row["bindsnet_over_snnc"] = b / s if s and b else None
        row["brian2_over_snnc"] = r / s if s and r else None
        steady = row.get("steady") or {}
        s, b = steady.get("snnc"), steady.get("bindsnet")
        row["steady_bindsnet_over_snnc"] = b / s if s and b else None
    by_label = {row["label"]: row for row in rows}
    targets = []
    for label, goal, text in TARGETS:
        label, _, kind = label.partition(":")
        value = by_label.get(label, {}).get("steady_bindsnet_over_snnc" if kind == "steady" else "bindsnet_over_snnc")
        targets.append({"target": text, "value": value, "goal": goal,
                        "met": None if value is None else value >= goal})
    compile_rows = {}
    if results.get("compile"):
        for kind, records in results["compile"].items():
            compile_rows[kind] = median(records, "compile_total_s")
        for kind, goal in (("cold", 3.0), ("warm", 0.2)):
            value = compile_rows.get(kind)
            targets.append({"target": f"compile {kind} <= {goal:g} s (guide network, snnc.compile + first step)",
                            "value": value, "goal": goal, "met": None if value is None else value <= goal,
                            "lower_is_better": True})
    return {"rows": rows, "targets": targets, "compile": compile_rows}


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f}x"


def markdown(summary: dict, meta: dict) -> str:
    lines = ["# snnc benchmark suite", "",
             f"{meta['date']}, {meta['platform']}, {meta['cpus']} CPUs, Python {meta['python']}; snnc "
             f"{meta['snnc_revision']['head'][:10]}; load average {meta['loadavg_before']:.2f} at the start; "
             f"{meta['repeats']} repeat(s), each a fresh process per system, systems alternating; "
             f"medians. Times are per sample (per run where the batch is 1). "
             f"{meta['total_s'] / 60:.1f} min in all.", ""]
    titles = {"guide": "Guide network", "batch": "Batch scaling", "recipe": "BindsNET's recipe",
              "dc": "Diehl & Cook training", "conversion": "ANN-to-SNN conversion inference",
              "fusion": "Fused MulticompartmentConnection", "storage": "Sparse storage"}
    for section, title in titles.items():
        rows = [r for r in summary["rows"] if r["section"] == section]
        if not rows:
            continue
        steady = section == "batch"       # also the later runs of each process, per sample
        lines += [f"## {title}", "",
                  "| case | workload | snnc | BindsNET 0.3.4 | Brian2 | BindsNET/snnc | Brian2/snnc | "
                  + ("steady snnc | steady BindsNET | steady BindsNET/snnc | " if steady else "") + "computed |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: | " + ("---: | ---: | ---: | " if steady else "")
                  + "--- |"]
        for r in rows:
            later = ""
            if steady:
                per = {k: (v / r["batch"] if v else None) for k, v in (r.get("steady") or {}).items()}
                later = (f"{_time(per.get('snnc'))} | {_time(per.get('bindsnet'))} | "
                         f"**{_ratio(r.get('steady_bindsnet_over_snnc'))}** | ")
            lines.append(f"| {r['label']} | {r['what']} | {_time(r['snnc_s'])} | {_time(r['bindsnet_s'])} | "
                         f"{_time(r['brian2_s'])} | **{_ratio(r['bindsnet_over_snnc'])}** | "
                         f"{_ratio(r['brian2_over_snnc'])} | {later}{r['sanity']}"
                         + (f" (errors: {'; '.join(map(str, r['errors']))[:200]})" if r["errors"] else "") + " |")
        lines.append("")
    if summary["compile"]:
        lines += ["## Compile time (snnc only; BindsNET and Brian2's runtime mode compile nothing)", "",
                  "| guide network | seconds |", "| --- | ---: |"]
        lines += [f"| {kind} | {value:.3f} |" for kind, value in summary["compile"].items() if value is not None]
        lines.append("")
    lines += ["## Targets", "", "| target | measured | met |", "| --- | ---: | --- |"]
    for t in summary["targets"]:
        value = "-" if t["value"] is None else (f"{t['value']:.3f} s" if t.get("lower_is_better")
                                                else f"{t['value']:,.1f}x")
        met = "-" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['target']} | {value} | {met} |")
    return "\n".join(lines) + "\n"


def plots(summary: dict, out: Path) -> list[Path]:
    """Speed-ups over BindsNET per row; time per sample against batch size; the recipe's
    run time against n. Returns the files written (none without matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    rows = [r for r in summary["rows"] if r["bindsnet_over_snnc"]]
    if rows:
        fig, ax = plt.subplots(figsize=(8, 0.35 * len(rows) + 1.5))
        ax.barh([r["label"] for r in rows], [r["bindsnet_over_snnc"] for r in rows], color="tab:blue")
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set_xlabel("BindsNET 0.3.4 time / snnc time (log)")
        ax.set_title("snnc speed-up over BindsNET")
        written.append(_save(fig, out, "speedups"))
    for section, x_key, x_label, title in (("batch", "batch", "batch size", "guide network: time per sample"),
                                           ("recipe", "n", "n (inputs = neurons)", "recipe: time per run")):
        rows = sorted((r for r in summary["rows"] if r["section"] == section), key=lambda r: r[x_key])
        if not rows:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for system, label in (("snnc", "snnc (numba)"), ("bindsnet", "BindsNET 0.3.4"), ("brian2", "Brian2")):
            points = [(r[x_key], r[f"{system}_s"]) for r in rows if r[f"{system}_s"]]
            if points:
                ax.plot(*zip(*points), marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(x_label)
        ax.set_ylabel("seconds")
        ax.set_title(title)
        ax.legend()
        written.append(_save(fig, out, section))
    plt.close("all")
    return written


def _save(fig, out: Path, name: str) -> Path:
    path = out.with_name(f"{out.name}_{name}.png")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
