"""The compile cache is keyed by the IR's structure: new weights or inputs never
recompile, and a second process loads numba's machine code from disk."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import torch

import snnc
from tests.test_ir_dump import guide_network

SCRIPT = textwrap.dedent("""
    import sys, torch
    sys.path.insert(0, {root!r})
    from tests.test_ir_dump import guide_network
    import snnc
    program = snnc.compile(guide_network(), backend="numba")
    program.run({{"A": torch.ones(5, 100, dtype=torch.uint8)}}, time=5)
    stats = program._last.run.stats
    print(stats.cache_hits.most_common(1)[0][1] if stats.cache_hits else 0,
          stats.cache_misses.most_common(1)[0][1] if stats.cache_misses else 0)
""")


def test_new_weights_and_inputs_reuse_the_compiled_program():
    network = guide_network()
    program = snnc.compile(network, backend="numba")
    inputs = {"A": torch.ones(10, 100, dtype=torch.uint8)}
    program.run(inputs, time=10)
    compiled = dict(program._compiled)
    network.connections["A", "B"].w.data.mul_(2.0)
    network.layers["B"].thresh.fill_(-50.0)
    program.run({"A": torch.zeros(10, 100, dtype=torch.uint8)}, time=10)
    assert program._compiled == compiled
    assert len(program._last.run.signatures) == 1


def test_structure_changes_recompile():
    network = guide_network()
    program = snnc.compile(network, backend="numba")
    program.run({"A": torch.ones(3, 100, dtype=torch.uint8)}, time=3)
    before = set(program._compiled)
    program.run({"A": torch.ones(3, 100, dtype=torch.bool)}, time=3)      # input dtype
    network.connections["B", "B"].w = torch.nn.Parameter(                  # new, all-zero weights:
        torch.zeros(1000, 1000), requires_grad=False)                       # now CSR
    program.run({"A": torch.ones(3, 100, dtype=torch.bool)}, time=3)
    assert len(set(program._compiled) - before) == 2
    assert program.ir.edges["B", "B"]["storage"]["format"] == "csr"


def test_second_process_loads_machine_code_from_cache(tmp_path):
    env = {**os.environ, "SNNC_CACHE_DIR": str(tmp_path)}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = SCRIPT.format(root=root)
    first = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert first.stdout.split() == ["0", "1"]      # compiled, written to the cache
    assert second.stdout.split() == ["1", "0"]     # loaded, nothing compiled


def test_numba_runs_on_the_frontend_tensors_without_copies():
    network = guide_network()
    program = snnc.compile(network, backend="numba")
    program.run({"A": torch.ones(2, 100, dtype=torch.uint8)}, time=2)
    layer, connection = network.layers["B"], network.connections["A", "B"]
    pointers = (layer.v.data_ptr(), layer.refrac_count.data_ptr(), layer.s.data_ptr(), connection.w.data_ptr())
    program.run({"A": torch.ones(30, 100, dtype=torch.uint8)}, time=30)
    assert (layer.v.data_ptr(), layer.refrac_count.data_ptr(), layer.s.data_ptr(),
            connection.w.data_ptr()) == pointers
    assert layer.s.any() and (layer.v != -65.0).any()
