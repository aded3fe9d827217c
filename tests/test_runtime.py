"""Network.run / Program.run: batching, continuation, program reuse, one_step, inputs untouched."""
from __future__ import annotations

import torch

import snnc
import snnc.runtime.program as program_module
from conftest import assert_same, layer_state, recordings
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection


# -- batch handling (spec 2.3.4-5) ------------------------------------------------------

def test_batch_change_reinitialises_state(chain, poisson_like):
    network = chain(seed=1)
    network.run({"X": poisson_like(30, 4, p=0.5, seed=2)}, time=30)
    assert network.batch_size == 1
    assert network.layers["A"].x.any() and network.layers["B"].x.any()  # state moved

    batch_data = poisson_like(20, 4, batch=3, p=0.5, seed=3)
    network.run({"X": batch_data}, time=20)

    fresh = chain(seed=1)
    fresh.run({"X": batch_data}, time=20)
    assert network.batch_size == 3
    # The batch change re-created state (as from scratch) and emptied the monitors.
    assert network.monitors["A"].get("v").shape == (20, 3, 3)
    assert_same(recordings(network), recordings(fresh))
    assert_same(layer_state(network), layer_state(fresh))


def test_batch_inference_rows_are_independent(chain, poisson_like):
    """Each batch row of [T, B, n] evolves as its own batch-1 run would."""
    batch_data = poisson_like(40, 4, batch=3, p=0.4, seed=4)
    batched = chain(seed=5)
    batched.run({"X": batch_data}, time=40)
    for row in range(3):
        single = chain(seed=5)
        single.run({"X": batch_data[:, row]}, time=40)
        for (name, var), value in recordings(single).items():
            assert torch.equal(recordings(batched)[(name, var)][:, row], value[:, 0]), (row, name, var)


def test_same_batch_does_not_reset_state(chain, poisson_like):
    data = poisson_like(60, 4, batch=2, p=0.4, seed=6)
    split = chain(seed=7)
    split.run({"X": data[:30]}, time=30)
    split.run({"X": data[30:]}, time=30)
    whole = chain(seed=7)
    whole.run({"X": data}, time=60)
    assert_same(recordings(split), recordings(whole))


def test_t_n_and_t_1_n_inputs_agree(chain, poisson_like):
    data = poisson_like(50, 4, p=0.4, seed=8)
    two_d = chain(seed=9)
    two_d.run({"X": data}, time=50)
    three_d = chain(seed=9)
    three_d.run({"X": data.unsqueeze(1)}, time=50)
    assert_same(recordings(two_d), recordings(three_d))
    assert_same(layer_state(two_d), layer_state(three_d))


def test_extra_input_steps_are_ignored(chain, poisson_like):
    data = poisson_like(50, 4, p=0.4, seed=10)
    exact = chain(seed=11)
    exact.run({"X": data[:30]}, time=30)
    longer = chain(seed=11)
    longer.run({"X": data}, time=30)
    assert longer.monitors["A"].get("v").shape[0] == 30
    assert_same(recordings(exact), recordings(longer))


# -- continuation -----------------------------------------------------------------

def test_two_runs_of_50_equal_one_run_of_100(chain, poisson_like):
    data = poisson_like(100, 4, p=0.4, seed=12)
    split = chain(seed=13)
    split.run({"X": data[:50]}, time=50)
    split.run({"X": data[50:]}, time=50)
    whole = chain(seed=13)
    whole.run({"X": data}, time=100)

    spikes = recordings(whole)
    assert spikes[("A", "s")].any() and spikes[("B", "s")].any()  # not a vacuous comparison
    assert spikes[("A", "s")].shape == (100, 1, 3)
    assert_same(recordings(split), recordings(whole))
    assert_same(layer_state(split), layer_state(whole))


def test_reset_state_variables_restarts_the_simulation(chain, poisson_like):
    data = poisson_like(40, 4, p=0.4, seed=14)
    network = chain(seed=15)
    network.run({"X": poisson_like(25, 4, p=0.6, seed=16)}, time=25)
    network.reset_state_variables()
    network.run({"X": data}, time=40)
    fresh = chain(seed=15)
    fresh.run({"X": data}, time=40)
    assert_same(recordings(network), recordings(fresh))
    assert_same(layer_state(network), layer_state(fresh))


# -- program reuse --------------------------------------------------------------------

def counting_compile(monkeypatch) -> list:
    calls = []
    real = program_module.compile_lowered

    def wrapper(ir, options):
        calls.append(ir)
        return real(ir, options)

    monkeypatch.setattr(program_module, "compile_lowered", wrapper)
    return calls


def test_program_is_reused_across_runs(chain, poisson_like, monkeypatch):
    network = chain(seed=17)
    network.run({"X": poisson_like(10, 4, seed=18)}, time=10)
    program = network._program
    assert program is not None
    assert len(program._compiled) == 1

    calls = counting_compile(monkeypatch)
    for seed in range(3):
        network.run({"X": poisson_like(10, 4, seed=19 + seed)}, time=10)
    network.run({"X": poisson_like(7, 4, seed=23)}, time=7)   # another length: same code
    assert network._program is program
    assert len(program._compiled) == 1
    assert calls == []


def test_changing_weights_reuses_the_program_and_takes_effect(chain, poisson_like, monkeypatch):
    network = chain(seed=24)
    data = poisson_like(30, 4, p=0.5, seed=25)
    network.run({"X": data}, time=30)
    program = network._program
    assert network.monitors["A"].get("s").any()

    calls = counting_compile(monkeypatch)
    network.reset_state_variables()
    network.connections[("X", "A")].w.data.zero_()
    network.run({"X": data}, time=30)
    assert not network.monitors["A"].get("s").any()      # the new weights were used

    network.reset_state_variables()
    network.connections[("X", "A")].w = torch.nn.Parameter(
        torch.full((4, 3), 30.0), requires_grad=False)   # a new tensor of the same shape
    network.run({"X": data}, time=30)
    assert torch.equal(network.monitors["A"].get("s")[1:, 0],
                       (data[:-1] > 0).any(dim=1, keepdim=True).expand(-1, 3)
                       & (network.monitors["A"].get("refrac_count")[:-1, 0] <= 0))

    assert network._program is program
    assert len(program._compiled) == 1
    assert calls == []


def test_changing_parameters_takes_effect_without_recompiling(monkeypatch):
    network = Network(dt=1.0)
    layer = LIFNodes(2)
    network.add_layer(layer, "N")
    monitor = Monitor(layer, ["s"])
    network.add_monitor(monitor, "N")
    data = torch.full((10, 2), 5.0)
    network.run({"N": data}, time=10)
    assert monitor.get("s").any()
    program = network._program
    entries = len(program._compiled)

    calls = counting_compile(monkeypatch)
    layer.thresh.fill_(100.0)
    network.reset_state_variables()
    network.run({"N": data}, time=10)
    assert not monitor.get("s").any()
    assert len(program._compiled) == entries
    assert calls == []


def test_explicit_program_reuse():
    network = Network(dt=1.0)
    network.add_layer(Input(2), "X")
    network.add_layer(LIFNodes(2), "Y")
    network.add_connection(Connection(network.layers["X"], network.layers["Y"], w=torch.eye(2) * 20),
                           "X", "Y")
    program = snnc.compile(network, backend="torch")
    for _ in range(3):
        program.run({"X": torch.ones(5, 2)}, time=5)
    assert len(program._compiled) == 1
    assert "def run(" in program.source


# -- one_step (spec 2.4.2.2, golden 16.13 with LIF neurons) -----------------------------

def lif_chain_one_spike() -> tuple[Network, Monitor, Monitor]:
    network = Network(dt=1.0)
    X, B, C = Input(1), LIFNodes(1), LIFNodes(1)
    network.add_layer(X, "X")
    network.add_layer(B, "B")
    network.add_layer(C, "C")
    network.add_connection(Connection(X, B, w=torch.tensor([[20.0]])), "X", "B")
    network.add_connection(Connection(B, C, w=torch.tensor([[20.0]])), "B", "C")
    mb, mc = Monitor(B, ["s"]), Monitor(C, ["s"])
    network.add_monitor(mb, "B")
    network.add_monitor(mc, "C")
    return network, mb, mc


def test_default_mode_delays_one_step_per_connection(spikes_at):
    network, mb, mc = lif_chain_one_spike()
    network.run({"X": spikes_at(4, 1, at=(0,))}, time=4)
    assert mb.get("s").flatten().int().tolist() == [0, 1, 0, 0]
    assert mc.get("s").flatten().int().tolist() == [0, 0, 1, 0]


def test_one_step_propagates_within_the_step(spikes_at):
    network, mb, mc = lif_chain_one_spike()
    network.run({"X": spikes_at(4, 1, at=(0,))}, time=4, one_step=True)
    assert mb.get("s").flatten().int().tolist() == [1, 0, 0, 0]
    assert mc.get("s").flatten().int().tolist() == [1, 0, 0, 0]


def test_one_step_then_default_on_the_same_network(spikes_at):
    network, mb, mc = lif_chain_one_spike()
    network.run({"X": spikes_at(8, 1, at=(0,))}, time=8, one_step=True)
    network.run({"X": spikes_at(8, 1, at=(0,))}, time=8)
    assert mb.get("s").flatten().int().tolist() == [1, 0, 0, 0, 0, 0, 0, 0] + [0, 1, 0, 0, 0, 0, 0, 0]
    assert mc.get("s").flatten().int().tolist() == [1, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 1, 0, 0, 0, 0, 0]


# -- the caller's inputs are never mutated (quirks Q1-Q3 fixed) --------------------------

def test_inputs_dict_and_tensors_are_not_mutated(poisson_like):
    network = Network(dt=1.0)
    X, Y = Input(3), LIFNodes(2)
    network.add_layer(X, "X")
    network.add_layer(Y, "Y")
    network.add_connection(Connection(X, Y, w=torch.full((3, 2), 10.0)), "X", "Y")
    network.add_monitor(Monitor(Y, ["s"]), "Y")
    x_data = poisson_like(20, 3, p=0.5, seed=30)          # [T, n]: BindsNET reshapes it in the dict
    y_data = torch.full((20, 2), 6.0)                     # direct LIF input: BindsNET zeroes it
    inputs = {"X": x_data, "Y": y_data}
    originals = {name: tensor.clone() for name, tensor in inputs.items()}

    network.run(inputs, time=20)

    assert network.monitors["Y"].get("s").any()          # refractory periods did happen
    assert list(inputs) == ["X", "Y"]
    assert inputs["X"] is x_data and inputs["Y"] is y_data
    for name, tensor in inputs.items():
        assert tensor.shape == originals[name].shape
        assert torch.equal(tensor, originals[name])
    # Input.s is not a view of the caller's tensor: changing the caller's tensor later
    # does not change the layer's state.
    state = X.s.clone()
    x_data.fill_(7.0)
    assert torch.equal(X.s, state)
    # ... nor does a reset (which zeroes Input.s in place, quirk Q8) reach the caller.
    x_data.copy_(originals["X"])
    network.reset_state_variables()
    assert torch.equal(x_data, originals["X"])


def test_bool_and_uint8_inputs_are_not_mutated():
    network = Network(dt=1.0)
    network.add_layer(Input(2), "X")
    network.add_layer(LIFNodes(2), "Y")
    network.add_connection(Connection(network.layers["X"], network.layers["Y"], w=torch.eye(2) * 20),
                           "X", "Y")
    for dtype in (torch.bool, torch.uint8):
        data = torch.ones(6, 2, dtype=dtype)
        inputs = {"X": data}
        network.run(inputs, time=6)
        assert inputs["X"] is data and data.dtype == dtype and data.shape == (6, 2)
        assert torch.equal(data, torch.ones(6, 2, dtype=dtype))


# -- progress_bar ------------------------------------------------------------------

def test_progress_bar_gives_the_same_results(chain, poisson_like, capsys):
    data = poisson_like(250, 4, p=0.4, seed=31)
    plain = chain(seed=32)
    plain.run({"X": data}, time=250)
    with_bar = chain(seed=32)
    with_bar.run({"X": data}, time=250, progress_bar=True)
    assert_same(recordings(with_bar), recordings(plain))
    assert_same(layer_state(with_bar), layer_state(plain))


def test_progress_bar_keeps_end_of_run_normalisation(poisson_like):
    """With the run split into chunks for the bar, normalisation still happens exactly once."""
    def build():
        network = Network(dt=1.0)
        X, Y = Input(3), LIFNodes(2)
        network.add_layer(X, "X")
        network.add_layer(Y, "Y")
        network.add_connection(Connection(X, Y, w=torch.tensor([[1.0, -1.0], [1.0, 0.0], [2.0, 0.0]]),
                                          norm=2.0), "X", "Y")
        return network

    data = poisson_like(150, 3, p=0.3, seed=33)
    plain, with_bar = build(), build()
    plain.run({"X": data}, time=150)
    with_bar.run({"X": data}, time=150, progress_bar=True)
    assert torch.allclose(with_bar.connections[("X", "Y")].w,
                          torch.tensor([[0.5, -2.0], [0.5, 0.0], [1.0, 0.0]]))
    assert torch.equal(with_bar.connections[("X", "Y")].w, plain.connections[("X", "Y")].w)
