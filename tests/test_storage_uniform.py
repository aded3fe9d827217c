"""``uniform`` storage: a fixed weight matrix with one value off the diagonal and one on
it (lateral inhibition ``c·(1 - I)``, the guide's recurrent ``0.025·(I - 1)``) is held
as two scalars by the numba backend, which sums the sources once per sample:
``I[j] += w_off * sum_i s[i] + (w_diag - w_off) * s[j]``. That is the dense rows' sum
reassociated, so the results agree with dense storage and torch up to float rounding."""
from __future__ import annotations

import pytest
import torch

import snnc
from snnc.errors import SnncError
from snnc.learning import PostPre
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection


def lateral(n_in: int = 30, n: int = 80, off: float = -0.025, diag: float = 0.0, batch: int = 1,
            steps: int = 60, seed: int = 0, learning: bool = False, n_target: int | None = None):
    """Input -> LIF with random input weights and a recurrent (or, with ``n_target``, a
    feed-forward) connection of uniform weights; monitors on the LIF layers."""
    generator = torch.Generator().manual_seed(seed)
    network = Network()
    X, Y = Input(n_in, traces=learning), LIFNodes(n, thresh=-60.0, traces=learning)
    network.add_layer(X, "X")
    network.add_layer(Y, "Y")
    network.add_connection(Connection(X, Y, w=0.8 + torch.rand(n_in, n, generator=generator)), "X", "Y")
    target, name = Y, "Y"
    if n_target is not None:
        target, name = LIFNodes(n_target, thresh=-64.0), "Z"
        network.add_layer(target, name)
    m = target.n
    w = torch.full((n, m), off)
    w[torch.arange(min(n, m)), torch.arange(min(n, m))] = diag
    rule = dict(update_rule=PostPre, nu=(1e-3, 1e-3)) if learning else {}
    network.add_connection(Connection(Y, target, w=w, **rule), "Y", name)
    for layer in {"Y", name}:
        network.add_monitor(Monitor(network.layers[layer], ("s", "v"), time=steps), name=layer)
    network.learning = learning
    inputs = {"X": torch.rand(steps, batch, n_in, generator=generator) < 0.3}
    return network, inputs


def run(network, inputs, backend: str, **options) -> tuple[dict, snnc.Program]:
    network.reset_state_variables()
    program = snnc.compile(network, backend=backend, **options)
    program.run({k: v.clone() for k, v in inputs.items()}, time=inputs["X"].shape[0])
    recorded = {f"{m}.{var}": network.monitors[m].get(var).clone() for m in network.monitors for var in ("s", "v")}
    return recorded, program


def assert_agree(uniform: dict, dense: dict) -> None:
    """The same spikes; voltages equal to float rounding."""
    for key in dense:
        if key.endswith(".s"):
            assert torch.equal(uniform[key], dense[key]), key
        else:
            torch.testing.assert_close(uniform[key], dense[key], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("off, diag, batch", [
    (-0.025, 0.0, 1), (-0.5, 0.25, 3),
    pytest.param(0.125, 0.125, 1, marks=pytest.mark.slow), pytest.param(-0.025, 0.0, 3, marks=pytest.mark.slow),
    pytest.param(-0.5, 0.25, 1, marks=pytest.mark.slow), pytest.param(0.125, 0.125, 3, marks=pytest.mark.slow)])
def test_uniform_weights_are_two_scalars_and_agree_with_dense(off, diag, batch):
    network, inputs = lateral(off=off, diag=diag, batch=batch)
    uniform, program = run(network, inputs, "numba")
    assert program.ir.edges["Y", "Y"]["storage"] == {"format": "uniform", "dtype": "float32"}
    assert program.ir.edges["X", "Y"]["storage"]["format"] == "dense"
    assert "Y_to_Y_w_off" in program.source and "Y_to_Y_w_diag" in program.source
    assert "Y_to_Y_w[" not in program.source                  # no weight array is read
    assert "total_count += Y_s[b, i]" in program.source        # the sources are counted once
    assert uniform["Y.s"].any() and not uniform["Y.s"].all(), "not a useful comparison"
    dense, _ = run(network, inputs, "numba", storage={"Y->Y": "dense"})
    assert_agree(uniform, dense)
    reference, _ = run(network, inputs, "torch")
    assert torch.equal(uniform["Y.s"], reference["Y.s"])
    torch.testing.assert_close(uniform["Y.v"], reference["Y.v"], atol=1e-5, rtol=1e-5)


def test_rectangular_uniform_weights():
    """More targets than sources: ``i == j`` exists for the first ``n_pre`` targets only."""
    network, inputs = lateral(n=60, n_target=90, off=0.75, diag=2.0)
    uniform, program = run(network, inputs, "numba")
    assert program.ir.edges["Y", "Z"]["storage"]["format"] == "uniform"
    dense, _ = run(network, inputs, "numba", storage={"Y->Z": "dense"})
    assert uniform["Z.s"].any()
    assert "if j < 60 else" in program.source                 # only the first 60 targets have i == j
    assert_agree(uniform, dense)


def test_what_is_not_uniform_stays_dense():
    network, inputs = lateral()
    w = network.connections["Y", "Y"].w
    w[3, 7] = -0.5                                            # one weight differs
    _, program = run(network, inputs, "numba")
    assert program.ir.edges["Y", "Y"]["storage"]["format"] == "dense"
    network, inputs = lateral(learning=True)                  # the weights change during the run
    _, program = run(network, inputs, "numba")
    assert program.ir.edges["Y", "Y"]["storage"]["format"] == "dense"
    network, inputs = lateral()
    for backend in ("torch",):                                # torch: a matrix product either way
        _, program = run(network, inputs, backend)
        assert program.ir.edges["Y", "Y"]["storage"]["format"] == "dense"
    network, inputs = lateral(off=0.0, diag=-1.0)             # diagonal only: CSR stores n entries
    _, program = run(network, inputs, "numba")
    assert program.ir.edges["Y", "Y"]["storage"]["format"] == "csr"


def test_weights_edited_after_compiling():
    """A weight changed in place between runs: the storage is decided again (dense now),
    and the run uses the new weights."""
    network, inputs = lateral()
    _, program = run(network, inputs, "numba")
    assert program.ir.edges["Y", "Y"]["storage"]["format"] == "uniform"
    network.connections["Y", "Y"].w[3, 5] = 5.0
    network.reset_state_variables()
    program.run({k: v.clone() for k, v in inputs.items()}, time=inputs["X"].shape[0])
    assert program.ir.edges["Y", "Y"]["storage"]["format"] == "dense"
    edited = network.monitors["Y"].get("v").clone()
    reference, _ = run(network, inputs, "torch")
    torch.testing.assert_close(edited, reference["Y.v"], atol=1e-5, rtol=1e-5)
    small, _ = lateral(n=40)                                  # 40 x 40 weights: too few to bother
    assert run(small, inputs, "numba")[1].ir.edges["Y", "Y"]["storage"]["format"] == "dense"


def test_uniform_override_errors_name_the_connection():
    network, inputs = lateral()
    with pytest.raises(SnncError, match="Y->Y.*uniform.*numba"):
        snnc.compile(network, backend="torch", storage={"Y->Y": "uniform"}).compile_for({"X": torch.bool})
    with pytest.raises(SnncError, match="X->Y.*uniform"):
        snnc.compile(network, backend="numba", storage={"X->Y": "uniform"}).compile_for({"X": torch.bool})


def test_real_valued_sources_are_summed():
    """An Input given real values: the sources' values are summed (in float32), not counted."""
    network = Network()
    X, Z = Input(70), LIFNodes(70, thresh=-63.0)
    network.add_layer(X, "X")
    network.add_layer(Z, "Z")
    w = torch.full((70, 70), 0.3)
    w.fill_diagonal_(-0.2)
    network.add_connection(Connection(X, Z, w=w), "X", "Z")
    network.add_monitor(Monitor(Z, ("s", "v"), time=40), name="Z")
    generator = torch.Generator().manual_seed(3)
    inputs = {"X": torch.rand(40, 2, 70, generator=generator) * (torch.rand(40, 2, 70, generator=generator) < 0.2)}
    recorded = {}
    for backend, storage in (("numba", {}), ("numba", {"X->Z": "dense"}), ("torch", {})):
        network.reset_state_variables()
        program = snnc.compile(network, backend=backend, storage=storage)
        program.run({"X": inputs["X"].clone()}, time=40)
        recorded[backend, bool(storage)] = {f"Z.{v}": network.monitors["Z"].get(v).clone() for v in ("s", "v")}
        if backend == "numba" and not storage:
            assert program.ir.edges["X", "Z"]["storage"]["format"] == "uniform"
            assert "total += X_s[b, i]" in program.source
    uniform = recorded["numba", False]
    assert uniform["Z.s"].any() and not uniform["Z.s"].all()
    assert_agree(uniform, recorded["numba", True])
    assert_agree(uniform, recorded["torch", False])
