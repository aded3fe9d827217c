"""Every generated numba-cuda kernel lowers to PTX for real GPUs (no GPU needed).

Lowering runs in a subprocess without ``NUMBA_ENABLE_CUDASIM`` (the tests run
numba-cuda in the simulator). Skipped, with the reason, when numba-cuda's compiler
(the ``cuda`` extra) is missing.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

import snnc
from tests.test_fuse_learning import learning_network
from tests.test_ir_dump import guide_network, mcc_network, storage_network


def probability_network():
    """mcc_network with a Probability feature: the hash device function and the per-step
    seed in a kernel."""
    from snnc.network.topology import MulticompartmentConnection
    from snnc.network.topology_features import Probability, Weight

    network = mcc_network()
    h, y = network.layers["H"], network.layers["Y"]
    pipeline = [Probability("p", torch.rand(40, 300)), Weight("w", torch.rand(40, 300))]
    network.add_connection(MulticompartmentConnection(y, h, "cpu", pipeline=pipeline), "Y", "H")
    return network


def _lowering_available() -> str | None:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    probe = ("from numba import cuda, types\n"
             "from numba.cuda import compile_ptx\n"
             "def k(a):\n    a[0] = 1.0\n"
             "compile_ptx(k, (types.float32[::1],), cc=(8, 0))\n")
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    return None if result.returncode == 0 else result.stderr.strip().splitlines()[-1]


REASON = _lowering_available()


def phase_kernels(program) -> int:
    """The phase kernels of a module: every kernel but ``run_persistent``, whose grid
    barrier makes numba-cuda's PTX lowering ask for the CUDA driver (absent here); it
    is compiled in tests/test_cuda_gpu.py on a GPU."""
    assert program.source.count("def run_persistent(") == 1
    return program.source.count("@cuda.jit") - 1


@pytest.mark.skipif(REASON is not None, reason=f"numba-cuda cannot lower to PTX here: {REASON} "
                                                "(install the extra: pip install 'snnc[cuda]')")
@pytest.mark.parametrize("build, inputs", [
    (guide_network, {"A": torch.ones(2, 1, 100, dtype=torch.uint8)}),
    (storage_network, {"X": torch.ones(2, 1, 200, dtype=torch.bool)}),
    (probability_network, {"X": torch.ones(2, 1, 200, dtype=torch.bool)}),
    (learning_network, {"X": torch.ones(2, 1, 24, dtype=torch.bool)}),
])
def test_every_kernel_lowers_to_ptx(build, inputs, tmp_path):
    program = snnc.compile(build(), backend="numba-cuda")
    program.compile_for({name: tensor.dtype for name, tensor in inputs.items()})
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    result = subprocess.run([sys.executable, "-m", "snnc.runtime.ptx", str(program.source_path),
                             "--cc", "8.0"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    kernels = [line for line in result.stdout.splitlines() if "bytes of PTX" in line]
    expected = phase_kernels(program)
    assert len(kernels) == expected and expected > 0
    assert any(line.startswith(("propagate_", "accumulate_")) for line in kernels)
    if build is guide_network:          # both connections into B summed by one kernel
        assert any(line.startswith("accumulate_B") for line in kernels)
    assert any(line.startswith("update_") for line in kernels)
    if build is learning_network:       # the rule's terms inside the update kernels (fuse_learning)
        assert "in this kernel (fuse_learning)" in program.source
        assert not any(line.startswith("post_pre_term") and "X_to_H" in line for line in kernels)


def model_zoo():
    """An Input feeding every neuron model (and a CSRM layer's response window)."""
    from snnc.conversion import PassThroughNodes, SubtractiveResetIFNodes
    from snnc.network import Network
    from snnc.network import nodes
    from snnc.network.topology import Connection

    network = Network()
    network.add_layer(nodes.Input(4, traces=True), "X")
    models = [nodes.McCullochPitts, nodes.IFNodes, nodes.LIFNodes, nodes.BoostedLIFNodes, nodes.CurrentLIFNodes,
              nodes.AdaptiveLIFNodes, nodes.DiehlAndCookNodes, nodes.IzhikevichNodes, nodes.SRM0Nodes,
              nodes.CSRMNodes, SubtractiveResetIFNodes, PassThroughNodes]
    for k, model in enumerate(models):
        network.add_layer(model(3, traces=True), f"L{k}")
        network.add_connection(Connection(network.layers["X"], network.layers[f"L{k}"]), "X", f"L{k}")
    return network


@pytest.mark.skipif(REASON is not None, reason=f"numba-cuda cannot lower to PTX here: {REASON}")
def test_every_model_and_run_mask_lowers_to_ptx():
    network = model_zoo()
    program = snnc.compile(network, backend="numba-cuda")
    program.run({"X": torch.ones(2, 1, 4)}, time=2, clamp={"L2": torch.ones(2, 3, dtype=torch.bool)},
                injects_v={"L5": torch.ones(3)}, masks={("X", "L1"): torch.zeros(4, 3, dtype=torch.bool)})
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    result = subprocess.run([sys.executable, "-m", "snnc.runtime.ptx", str(program.source_path),
                             "--cc", "9.0"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    kernels = [line for line in result.stdout.splitlines() if "bytes of PTX" in line]
    assert len(kernels) == phase_kernels(program)
    assert any(line.startswith("window_") for line in kernels)
    assert any(line.startswith("coupling_") for line in kernels)
