"""Synaptic loop nests: fast paths against the generic rendering, 16-bit weights in
float32, CUDA kernels that take exactly the buffers they name, and readable code."""
from __future__ import annotations

import ast

import pytest
import torch

import snnc
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection
from tests.test_backends import BACKENDS, assert_agree, simulate, simulate_conv

STORAGE_RECIPE = {
    "layers": [("input", "X0", 64, True, False), ("lif", "L0", 70, True, True)],
    "edges": [("X0", "L0"), ("L0", "L0")], "batch": 2, "steps": 12, "density": 0.3,
    "input_dtype": torch.uint8, "seed": 7,
    "options": {"bias": True, "per_neuron_thresh": True, "lbound": False, "refrac": 2,
                "norm": True, "dt": 1.0, "weight_decay": 0.5},
}


@pytest.mark.parametrize("propagation", ["event", "matmul"])
def test_torch_fast_path_matches_generic_rendering(propagation):
    """The dense torch fast path (event gather / matmul) against the generic einsum."""
    overrides = {"propagation": {"X0->L0": propagation, "L0->L0": propagation}}
    fast = simulate(STORAGE_RECIPE, "torch", **overrides)
    generic = simulate(STORAGE_RECIPE, "torch", fast_paths=False, **overrides)
    assert any(v.any() for k, v in fast.items() if k.startswith("L0.s"))
    assert_agree(generic, fast, "torch fast path")


@pytest.mark.parametrize("stride, padding, dilation", [((1, 1), (0, 0), (1, 1)), ((2, 1), (1, 0), (1, 2))])
def test_conv2d_fast_path_matches_generic_rendering(stride, padding, dilation):
    """``F.conv2d`` against the generic gather-and-einsum rendering of the conv map."""
    recipe = {"channels": 2, "filters": 3, "size": (6, 7), "kernel": (3, 2), "stride": stride,
              "padding": padding, "dilation": dilation, "adaptive": False, "post_pre": True,
              "norm": True, "batch": 2, "seed": 11}
    fast = simulate_conv(recipe, "torch", steps=12)
    generic = simulate_conv(recipe, "torch", steps=12, fast_paths=False)
    assert fast["Y.s"].any()
    assert_agree(generic, fast, "torch conv fast path")


@pytest.mark.parametrize("backend", BACKENDS[1:])
def test_generic_rendering_matches_torch_on_every_backend(backend):
    reference = simulate(STORAGE_RECIPE, "torch", fast_paths=False)
    assert_agree(reference, simulate(STORAGE_RECIPE, backend), backend)


def sixteen_bit_network(w_dtype: torch.dtype) -> Network:
    network = Network()
    a, c = Input(2), LIFNodes(1, thresh=1000.0)
    network.add_layer(a, "A")
    network.add_layer(c, "C")
    network.add_connection(Connection(a, c, w=torch.tensor([[256.0], [0.125]]), w_dtype=w_dtype), "A", "C")
    network.add_monitor(Monitor(c, ("v",)), "C")
    return network


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("w_dtype, storage", [(torch.float16, None), (torch.bfloat16, None),
                                              (torch.float32, "float16"), (torch.float16, "csr:float16")])
def test_sixteen_bit_weights_are_multiplied_in_float32(backend, w_dtype, storage):
    """256 and 0.125 are exact in 16 bits, their sum is not: -65 + 256.125 = 191.125."""
    network = sixteen_bit_network(w_dtype)
    overrides = {"storage": {"A->C": storage}} if storage else {}
    program = snnc.compile(network, backend=backend, **overrides)
    program.run({"A": torch.ones(2, 2)}, time=2)
    v = network.monitors["C"].get("v")
    assert v[1, 0, 0].item() == -65.0 + 256.125      # at rest until the spikes of step 0 arrive


def kernels_of(source: str) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(source)
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)
            and any(ast.unparse(d) == "cuda.jit" for d in node.decorator_list)}


def test_cuda_kernels_take_exactly_the_buffers_they_name():
    network, inputs = _normalised_network()
    program = snnc.compile(network, backend="numba-cuda")
    program.compile_for({"X": torch.uint8})
    buffers = {spec.name for spec in program.ir.graph["plan"].buffers}
    kernels = kernels_of(program.source)
    assert any(name.startswith("normalize_") for name in kernels)
    for name, kernel in kernels.items():
        params = [a.arg for a in kernel.args.args]
        body = {n.id for stmt in kernel.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
        assert set(params) <= body, f"{name}: unused parameters {set(params) - body}"
        assert body & buffers <= set(params), f"{name}: names buffers it does not take"
        assert "if i == 0" not in ast.unparse(kernel)


def _normalised_network():
    network = Network()
    x, y = Input(6), LIFNodes(5)
    network.add_layer(x, "X")
    network.add_layer(y, "Y")
    network.add_connection(Connection(x, y, w=torch.rand(6, 5) * 10, norm=3.0, weight_decay=0.25), "X", "Y")
    return network, {"X": (torch.rand(8, 6) < 0.5).to(torch.uint8)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_generated_code_is_tidy(backend):
    """No state loaded and then overwritten, no unused imports, no empty blocks."""
    network, inputs = _normalised_network()
    program = snnc.compile(network, backend=backend)
    program.compile_for({"X": torch.uint8})
    source = program.source
    tree = ast.parse(source)
    imported = [alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names]
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert all(name in used for name in imported), imported
    assert "pass" not in source.split()
    assert "s = X_s[b, j]" not in source and "s = X_s" not in source


@pytest.mark.parametrize("batch", [1, pytest.param(3, marks=pytest.mark.slow)])
def test_listed_scatter_is_the_plain_scatter(batch, monkeypatch):
    """numba lists the sources a guard lets through (branch-free) before a scatter:
    the same synapses in the same order as the plain guarded loops, so bit-identical
    weights and states (learning terms, CSR propagation, clamps of touched rows)."""
    from snnc.compiler.emit.numba_backend import NumbaEmitter
    from tests.test_fuse_learning import learning_network

    from snnc.runtime import loader

    def run(listed: bool):
        loader._LOADED.clear()               # both renderings share the IR's key: load afresh
        if not listed:
            monkeypatch.setattr(NumbaEmitter, "listed_scatter", lambda *args: None)
        network = learning_network(batch_size=batch, out_of_bounds=True)
        generator = torch.Generator().manual_seed(4)
        Z = LIFNodes(20, thresh=-63.0)                       # a fixed sparse connection: CSR rows
        network.add_layer(Z, "Z")
        w = torch.rand(24, 20, generator=generator) * (torch.rand(24, 20, generator=generator) < 0.2) * 4.0
        network.add_connection(Connection(network.layers["X"], Z, w=w), "X", "Z")
        network.add_monitor(Monitor(Z, ["s", "v"]), "Z")
        inputs = {"X": (torch.rand(15, batch, network.layers["X"].n, generator=generator) < 0.4).float()}
        program = snnc.compile(network, backend="numba", fuse_learning=False, storage={"X->Z": "csr"})
        program.run(inputs, time=15)
        monkeypatch.undo()
        recorded = {f"{s}->{t}": c.w.clone() for (s, t), c in network.connections.items()}
        recorded.update({f"{m}.{v}": network.monitors[m].get(v).clone()
                         for m in network.monitors for v in network.monitors[m].state_vars})
        return recorded, program.source

    listed, source = run(True)
    plain, plain_source = run(False)
    assert "fired += " in source and "fired += " not in plain_source
    assert "X_to_Z_w_indptr" in source
    assert all(listed[f"{name}.s"].any() for name in ("H", "Y", "Z"))
    for key in plain:
        assert torch.equal(listed[key], plain[key]), key
