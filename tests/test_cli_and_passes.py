"""The pass manager (order, timings, stop_after, debug logging) and the ``snnc`` command."""
from __future__ import annotations

import json
import logging

import pytest
import torch

import snnc
from snnc.compiler import CompileOptions, pass_names, run_pipeline
from snnc.ir import record_network
from snnc.runtime.cli import main
from tests.test_ir_dump import guide_network


def test_pipeline_order_and_timings():
    assert pass_names() == ["validate", "schedule", "fuse", "storage", "propagation", "fuse_learning", "loop_nest",
                            "emit"]
    ir = record_network(guide_network(), input_dtypes={"A": torch.uint8})
    lowered, timings = run_pipeline(ir, CompileOptions())
    assert [t.name for t in timings] == pass_names()
    assert all(t.seconds > 0 for t in timings)                     # each pass was timed
    assert "source" in lowered.graph and "schedule" not in ir.graph  # the input IR is untouched


def test_stop_after_and_unknown_pass():
    ir = record_network(guide_network(), input_dtypes={"A": torch.uint8})
    lowered, timings = run_pipeline(ir, CompileOptions(), stop_after="schedule")
    assert [t.name for t in timings] == ["validate", "schedule"]
    assert "schedule" in lowered.graph and "storage" not in lowered.edges["A", "B"]
    with pytest.raises(ValueError, match="unknown pass 'fusion'"):
        run_pipeline(ir, CompileOptions(), stop_after="fusion")


def test_report_lists_every_pass_and_the_run():
    network = guide_network()
    program = snnc.compile(network, backend="torch")
    program.run({"A": torch.zeros(20, 100, dtype=torch.uint8)}, time=20)
    report = program.report()
    for name in pass_names():
        assert f"pass {name}" in report
    assert "compile total" in report and "20 steps" in report and program.source_path.exists()
    assert program.source_path.read_text() == program.source
    assert "def run(start, stop, steps" in program.source and "# layer 'B' (LIFNodes, lif)" in program.source


def test_debug_logging(monkeypatch, caplog):
    monkeypatch.setenv("SNNC_DEBUG", "2")
    with caplog.at_level(logging.INFO, logger="snnc"):
        snnc.compile(guide_network(), backend="torch")
    text = caplog.text
    assert "pass validate" in text and "IR after emit" in text and "generated" in text


def test_cli_ir_text_json_dot(tmp_path, capsys):
    path = tmp_path / "net.pt"
    guide_network().save(path)
    assert main(["ir", str(path)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith("graph dt=1 batch_size=1")
    assert "layer B lif(LIFNodes) shape=[1000]" in text and "step 0 accumulate B <- A->B + B->B" in text
    assert "buffer B_v state f32[B,1000]" in text
    assert main(["ir", str(path), "--after", "schedule"]) == 0
    assert "buffer " not in capsys.readouterr().out
    assert main(["ir", str(path), "--format", "json", "--backend", "numba"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [layer["name"] for layer in data["layers"]] == ["A", "B"]
    assert data["connections"][0]["propagation"] == "event"
    assert main(["ir", str(path), "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith("digraph snnc")
    assert main(["ir", str(path), "--source"]) == 0
    assert "@torch.no_grad()" in capsys.readouterr().out


def test_cli_errors(tmp_path, capsys):
    assert main(["ir", str(tmp_path / "missing.pt")]) == 2
    assert "snnc:" in capsys.readouterr().err
    assert main(["passes"]) == 0
    assert capsys.readouterr().out.split() == pass_names()
