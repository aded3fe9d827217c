"""benchmarks/suite_report.py: medians, ratios to BindsNET, target verdicts, markdown
and plots from the suite's raw records (synthetic records here; no benchmark runs)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import suite_report  # noqa: E402

CASES = {
    "batch": {"guide-b64": {"workload": "guide", "steps": 500, "batch": 64}},
    "dc": {"dc-train-100": {"workload": "dc-train", "n": 100, "steps": 250, "batch": 1, "samples": 10}},
}
META = {"date": "2026-11-30 12:00", "platform": "test", "cpus": 2, "python": "3.11", "loadavg_before": 0.1,
        "repeats": 3, "total_s": 120.0, "snnc_revision": {"head": "0123456789abcdef"}}


def records(system: str, values: list[float], spikes: int = 10, steady: list[float] | None = None) -> list[dict]:
    """Runner records; ``steady``: the later runs' median per record (seconds per run)."""
    return [{"system": system, "per_sample_s": v, "steady_s": v if steady is None else steady[k],
             "output_spikes": spikes} for k, v in enumerate(values)]


def results() -> dict:
    return {"sections": {
        "batch": {"guide-b64": {"snnc": records("snnc", [0.003, 0.001, 0.002], steady=[0.064, 0.064, 0.128]),
                                "bindsnet": records("bindsnet", [0.05, 0.01, 0.03], steady=[1.28] * 3)}},
        "dc": {"dc-train-100": {"snnc": records("snnc", [0.001, 0.0011, 0.0009]) + [{"error": "exit 1"}],
                                "bindsnet": records("bindsnet", [0.12, 0.11, 0.13])}},
    }, "mcc": {"sparse-5pct": {"snnc": {"seconds": 0.004, "spikes_first_run": 7},
                               "bindsnet": {"seconds": 1.0, "spikes_first_run": 7}}},
        "compile": {"cold": [{"compile_total_s": 2.0}, {"compile_total_s": 2.5}],
                    "warm": [{"compile_total_s": 0.3}]}}


def test_medians_ratios_and_targets():
    summary = suite_report.summarize(results(), CASES, META)
    rows = {row["label"]: row for row in summary["rows"]}
    assert rows["guide-b64"]["snnc_s"] == pytest.approx(0.002)              # median of 3
    assert rows["guide-b64"]["bindsnet_over_snnc"] == pytest.approx(15.0)
    assert rows["dc-train-100"]["bindsnet_over_snnc"] == pytest.approx(120.0)
    assert rows["dc-train-100"]["errors"] == ["exit 1"]                     # reported, not dropped
    assert rows["sparse-5pct"]["bindsnet_over_snnc"] == pytest.approx(250.0)
    assert rows["guide-b64"]["brian2_s"] is None and rows["guide-b64"]["brian2_over_snnc"] is None
    assert rows["guide-b64"]["steady_bindsnet_over_snnc"] == pytest.approx(20.0)   # 1.28 s / 64 ms
    verdicts = {t["target"].split(":")[0] + t["target"].partition("(")[2]: t["met"] for t in summary["targets"]}
    assert verdicts["Diehl & Cook training 784 -> 100"] is True
    assert verdicts["guide batch 64first run of a process)"] is False
    assert verdicts["guide batch 64steady state: later runs)"] is True
    assert verdicts["guide network"] is None                                # not measured
    compile_targets = [t for t in summary["targets"] if t.get("lower_is_better")]
    assert [t["met"] for t in compile_targets] == [True, False]             # cold 2.25 s, warm 0.3 s


def test_markdown_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    summary = suite_report.summarize(results(), CASES, META)
    text = suite_report.markdown(summary, META)
    assert "| guide-b64 |" in text and "**15.0x**" in text and "exit 1" in text
    assert "| guide batch 64: BindsNET/snnc per sample >= 20x (first run of a process) | 15.0x | **no** |" in text
    assert "| 1.00 ms | 20.00 ms | **20.0x** |" in text                     # steady, per sample
    written = suite_report.plots(summary, tmp_path / "suite")
    assert {p.name for p in written} == {"suite_speedups.png", "suite_batch.png"}
    assert all(p.stat().st_size > 5000 for p in written)
