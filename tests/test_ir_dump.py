"""Golden IR dumps: the IR after every pass, as text, for fixed networks.

Regenerate after a deliberate change with ``SNNC_UPDATE_GOLDEN=1 python -m pytest
tests/test_ir_dump.py`` and review the diff.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import snnc

from snnc.compiler import CompileOptions, pass_names, run_pipeline
from snnc.compiler.ir_text import format_dot, format_json, format_text
from snnc.ir import record_network
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection

GOLDEN = Path(__file__).parent / "golden"


def guide_network() -> Network:
    torch.manual_seed(0)
    network = Network()
    a, b = Input(n=100), LIFNodes(n=1000)
    network.add_layer(a, "A")
    network.add_layer(b, "B")
    network.add_connection(Connection(a, b, w=0.05 + 0.1 * torch.randn(100, 1000)), "A", "B")
    network.add_connection(Connection(b, b, w=0.025 * (torch.eye(1000) - 1)), "B", "B")
    network.add_monitor(Monitor(a, ("s",), time=500), "A")
    network.add_monitor(Monitor(b, ("s", "v"), time=500), "B")
    return network


def storage_network(batch: int = 1) -> Network:
    """Four connections that the cost model treats differently."""
    torch.manual_seed(1)
    network = Network(batch_size=batch)
    x = Input(n=200, traces=True)
    h = LIFNodes(n=300, thresh=torch.full((300,), -55.0), lbound=-70.0)
    y = LIFNodes(n=50, traces=True, traces_additive=True, sum_input=True)
    for name, layer in (("X", x), ("H", h), ("Y", y)):
        network.add_layer(layer, name)
    sparse = torch.randn(200, 300) * (torch.rand(200, 300) < 0.05)
    network.add_connection(Connection(x, h, w=sparse), "X", "H")                        # CSR
    network.add_connection(Connection(h, y, w_dtype=torch.float16), "H", "Y")            # float16
    network.add_connection(Connection(y, y, w=-torch.rand(50, 50), weight_decay=0.01), "Y", "Y")
    network.add_connection(Connection(h, h, w=-0.1 * torch.rand(300, 300), norm=5.0), "H", "H")
    network.add_monitor(Monitor(y, ("s", "x")), "Y")
    return network


def mcc_network() -> Network:
    """Two feature pipelines: a fixed one (folded to one sparse weight and a bias) and a
    learning one (the Weight kept, the Mask as a fixed factor)."""
    from snnc.learning.MCC_learning import PostPre
    from snnc.network.topology import MulticompartmentConnection
    from snnc.network.topology_features import Bias, Mask, Weight

    torch.manual_seed(2)
    network = Network()
    x, h, y = Input(n=200, traces=True), LIFNodes(n=300, traces=True), LIFNodes(n=40, traces=True)
    for name, layer in (("X", x), ("H", h), ("Y", y)):
        network.add_layer(layer, name)
    fixed = [Weight("w", torch.rand(200, 300)), Mask("m", torch.rand(200, 300) < 0.04),
             Bias("b", torch.full((200, 300), 1e-4))]
    network.add_connection(MulticompartmentConnection(x, h, "cpu", pipeline=fixed), "X", "H")
    learning = [Mask("m", torch.rand(300, 40) < 0.5),
                Weight("w", torch.rand(300, 40), range=[0.0, 1.0], learning_rule=PostPre, nu=(1e-3, 1e-2))]
    network.add_connection(MulticompartmentConnection(h, y, "cpu", pipeline=learning), "H", "Y")
    return network


CASES = {
    "guide_torch": (guide_network, "torch", {"A": torch.uint8}),
    "guide_numba": (guide_network, "numba", {"A": torch.uint8}),
    "guide_cuda": (guide_network, "numba-cuda", {"A": torch.uint8}),
    "storage_torch": (storage_network, "torch", {"X": torch.bool}),
    "storage_numba": (storage_network, "numba", {"X": torch.bool}),
    "storage_torch_batch64": (lambda: storage_network(64), "torch", {"X": torch.bool}),
    "mcc_numba": (mcc_network, "numba", {"X": torch.bool}),
    "mcc_torch": (mcc_network, "torch", {"X": torch.bool}),
}


def dump(case: str) -> str:
    build, backend, inputs = CASES[case]
    ir = record_network(build(), input_dtypes=inputs)
    sections = []
    for name in pass_names():
        lowered, _ = run_pipeline(ir, CompileOptions(backend=backend), stop_after=name)
        sections.append(f"## after {name}\n{format_text(lowered)}")
    return "\n\n".join(sections) + "\n"


@pytest.mark.parametrize("case", sorted(CASES))
def test_ir_dump_matches_golden(case):
    text = dump(case)
    path = GOLDEN / f"{case}.txt"
    if os.environ.get("SNNC_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; generate it with SNNC_UPDATE_GOLDEN=1"
    assert text == path.read_text()


def test_storage_decisions():
    ir = record_network(storage_network(), input_dtypes={"X": torch.bool})
    lowered, _ = run_pipeline(ir, CompileOptions(backend="torch"))
    decisions = {edge: (lowered.edges[edge]["storage"]["format"], lowered.edges[edge]["storage"]["dtype"],
                        lowered.edges[edge]["propagation"]) for edge in lowered.edges}
    assert decisions == {
        ("X", "H"): ("csr", "float32", "matmul"),
        ("H", "Y"): ("dense", "float16", "event"),
        ("Y", "Y"): ("dense", "float32", "event"),
        ("H", "H"): ("dense", "float32", "event"),
    }
    batched, _ = run_pipeline(record_network(storage_network(64), input_dtypes={"X": torch.bool}),
                              CompileOptions(backend="torch"))
    assert batched.edges["H", "Y"]["propagation"] == "matmul"
    on_gpu, _ = run_pipeline(ir, CompileOptions(backend="torch", device="cuda"))   # no per-step host sync
    assert {on_gpu.edges[edge]["propagation"] for edge in on_gpu.edges} == {"matmul"}


def test_json_and_dot_formats():
    ir = record_network(guide_network(), input_dtypes={"A": torch.uint8})
    lowered, _ = run_pipeline(ir, CompileOptions(backend="numba"))
    data = format_json(lowered)
    assert '"propagation": "event"' in data and '"B_v"' in data
    dot = format_dot(lowered)
    assert dot.startswith("digraph snnc {") and '"A" -> "B"' in dot and '"B" -> "B"' in dot


def test_ir_text_shows_run_masks_and_connection_state():
    """A run's masks and a CSRM connection's window appear in the dump, as the buffers do."""
    from snnc.compiler.ir_text import format_text
    from snnc.network.nodes import CSRMNodes

    network = Network()
    network.add_layer(Input(4), "X")
    network.add_layer(CSRMNodes(3), "Y")
    network.add_layer(LIFNodes(2), "Z")
    network.add_connection(Connection(network.layers["X"], network.layers["Y"]), "X", "Y")
    network.add_connection(Connection(network.layers["Y"], network.layers["Z"]), "Y", "Z")
    program = snnc.compile(network, backend="numba")
    program.run({"X": torch.ones(3, 4)}, time=3, clamp={"Z": torch.ones(3, 2, dtype=torch.bool)},
                masks={("Y", "Z"): torch.zeros(3, 2, dtype=torch.bool)})
    text = format_text(program.ir)
    assert "run=clamp[per step] | state" in text
    assert "connection Y->Z dense(Connection)" in text and "run=mask" in text
    assert "| state s_w:f32[1,20,4]" in text
    assert "buffer Z_clamp mask bool[T,2]" in text and "buffer X_to_Y_filtered temp f32[B,4]" in text
