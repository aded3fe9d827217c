"""Bad networks and bad run arguments raise SnncError naming the object at fault."""
from __future__ import annotations

import pytest
import torch

import snnc
from snnc import SnncError
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection


def two_layer(n_in: int = 2, n_out: int = 3) -> tuple[Network, Connection]:
    network = Network(dt=1.0)
    X = Input(n_in)
    Y = LIFNodes(n_out)
    network.add_layer(X, "X")
    network.add_layer(Y, "Y")
    connection = Connection(X, Y, w=torch.full((n_in, n_out), 5.0))
    network.add_connection(connection, "X", "Y")
    return network, connection


def test_snnc_error_is_a_value_error():
    assert issubclass(SnncError, ValueError)


def test_unknown_layer_in_inputs():
    network, _ = two_layer()
    with pytest.raises(SnncError, match="'Z'"):
        network.run({"Z": torch.zeros(5, 2)}, time=5)


def test_unknown_layer_in_inputs_through_program():
    network, _ = two_layer()
    program = snnc.compile(network, backend="torch")
    with pytest.raises(SnncError, match="'Nope'"):
        program.run({"Nope": torch.zeros(5, 2)}, time=5)


@pytest.mark.parametrize("source, target, missing", [("X", "Q", "Q"), ("P", "Y", "P")])
def test_unknown_layer_in_add_connection(source, target, missing):
    network, _ = two_layer()
    connection = Connection(network.layers["X"], network.layers["Y"], w=torch.ones(2, 3))
    with pytest.raises(SnncError, match=f"'{missing}'"):
        network.add_connection(connection, source, target)
    assert (source, target) not in network.connections


def test_wrong_w_shape_at_construction():
    X, Y = Input(2), LIFNodes(3)
    with pytest.raises(SnncError, match=r"w has shape \(3, 2\), expected \(2, 3\)"):
        Connection(X, Y, w=torch.ones(3, 2))


def test_wrong_w_shape_set_later_names_the_connection():
    network, connection = two_layer()
    connection.w = torch.nn.Parameter(torch.ones(4, 3), requires_grad=False)
    with pytest.raises(SnncError, match=r"Connection \('X', 'Y'\).*w has shape \(4, 3\)"):
        network.run({"X": torch.zeros(5, 2)}, time=5)


@pytest.mark.parametrize("shape", [(5, 3), (5, 1, 3), (5, 2, 2, 1), (2,)])
def test_input_of_wrong_shape(shape):
    network, _ = two_layer()
    with pytest.raises(SnncError, match="'X'"):
        network.run({"X": torch.zeros(shape)}, time=5)


def test_input_with_too_few_steps():
    network, _ = two_layer()
    with pytest.raises(SnncError, match=r"'X'.*4 time steps.*needs 10"):
        network.run({"X": torch.zeros(4, 2)}, time=10)


def test_input_with_too_few_steps_at_dt_half():
    network = Network(dt=0.5)
    network.add_layer(Input(2), "X")
    with pytest.raises(SnncError, match=r"'X'.*needs 10"):
        network.run({"X": torch.zeros(6, 2)}, time=5)


@pytest.mark.parametrize("dt", [0, 0.0, -1, -1.0, float("nan"), float("inf")])
def test_bad_dt(dt):
    with pytest.raises(SnncError, match="dt"):
        Network(dt=dt)


def test_batch_mismatch_between_inputs():
    network = Network(dt=1.0)
    network.add_layer(Input(2), "A")
    network.add_layer(Input(3), "B")
    network.add_layer(LIFNodes(1), "Y")
    with pytest.raises(SnncError, match=r"'B'.*batch size 3.*'A'.*2"):
        network.run({"A": torch.zeros(5, 2, 2), "B": torch.zeros(5, 3, 3)}, time=5)
    assert network.batch_size == 1  # nothing was changed by the failed run


def test_nan_weight_names_the_connection():
    network, connection = two_layer()
    connection.w.data[0, 0] = float("nan")
    with pytest.raises(SnncError, match=r"Connection \('X', 'Y'\).*NaN"):
        network.run({"X": torch.ones(5, 2)}, time=5)


def test_nan_weight_given_at_construction():
    w = torch.ones(2, 3)
    w[1, 2] = float("nan")
    with pytest.raises(SnncError, match="NaN"):
        Connection(Input(2), LIFNodes(3), w=w)


def test_nan_input_names_the_input():
    network, _ = two_layer()
    data = torch.zeros(5, 2)
    data[3, 1] = float("nan")
    with pytest.raises(SnncError, match=r"'X'.*NaN"):
        network.run({"X": data}, time=5)


def test_unknown_monitor_variable_at_run():
    network, _ = two_layer()
    network.add_monitor(Monitor(network.layers["Y"], ["s", "bogus"]), "watch")
    with pytest.raises(SnncError, match=r"'watch'.*'bogus'"):
        network.run({"X": torch.zeros(5, 2)}, time=5)


def test_unknown_monitor_variable_in_get():
    network, _ = two_layer()
    monitor = Monitor(network.layers["Y"], ["s"])
    network.add_monitor(monitor, "watch")
    network.run({"X": torch.zeros(5, 2)}, time=5)
    with pytest.raises(SnncError, match="'v'"):
        monitor.get("v")


def test_monitor_of_foreign_layer_names_the_monitor():
    network, _ = two_layer()
    network.add_monitor(Monitor(LIFNodes(3), ["s"]), "stray")
    with pytest.raises(SnncError, match="'stray'"):
        network.run({"X": torch.zeros(5, 2)}, time=5)


@pytest.mark.parametrize("kwarg", ["clamp", "unclamp", "injects_v"])
def test_run_mask_of_the_wrong_shape(kwarg):
    network, _ = two_layer()
    with pytest.raises(SnncError, match=f"{kwarg}.*'Y'"):
        network.run({"X": torch.zeros(5, 2)}, time=5, **{kwarg: {"Y": torch.tensor([True, False])}})


def test_reward_without_a_rule_that_reads_it():
    """Ignored, as BindsNET does, but said (its own tests pass ``reward`` to every rule)."""
    network, _ = two_layer()
    with pytest.warns(UserWarning, match="reward=1.0 is ignored") as record:
        network.run({"X": torch.zeros(5, 2)}, time=5, reward=1.0)
    assert record[0].filename == __file__


def test_unknown_run_kwarg_warns():
    """BindsNET forwards unknown keywords silently (Q40); snnc says it ignores them."""
    network, _ = two_layer()
    with pytest.warns(UserWarning, match="no_such_option") as record:
        network.run({"X": torch.zeros(5, 2)}, time=5, no_such_option=1)
    assert record[0].filename == __file__


def test_errors_leave_the_network_usable():
    """A rejected run changes nothing; the next good run works as if nothing happened."""
    network, _ = two_layer()
    monitor = Monitor(network.layers["Y"], ["v"])
    network.add_monitor(monitor, "Y")
    reference, _ = two_layer()
    reference_monitor = Monitor(reference.layers["Y"], ["v"])
    reference.add_monitor(reference_monitor, "Y")

    data = torch.ones(6, 2)
    with pytest.raises(SnncError):
        network.run({"X": data, "Z": data}, time=6)
    with pytest.raises(SnncError):
        network.run({"X": data}, time=6, clamp={"Nope": torch.tensor([True])})
    with pytest.raises(SnncError):
        network.run({"X": data[:3]}, time=6)
    assert monitor.get("v").numel() == 0
    network.run({"X": data}, time=6)
    reference.run({"X": data}, time=6)
    assert torch.equal(monitor.get("v"), reference_monitor.get("v"))


def test_learning_rule_arguments_are_checked():
    """Per-synapse ``nu`` not shaped like ``w``, unknown reductions and rules without
    the traces they read are refused, naming the connection."""
    from snnc.learning import PostPre

    x, y = Input(2, traces=True), LIFNodes(3, traces=True)
    with pytest.raises(SnncError, match=r"Connection \(Input\[2\] -> LIFNodes\[3\]\).*per-synapse"):
        Connection(x, y, update_rule=PostPre, nu=(torch.ones(3, 2), torch.ones(3, 2)))
    with pytest.raises(SnncError, match="reduction"):
        Connection(x, y, update_rule=PostPre, nu=0.1, reduction=torch.max)
    with pytest.raises(SnncError, match="traces"):
        Connection(Input(2), y, update_rule=PostPre, nu=0.1)


# -- the items an independent fuzz found accepted silently or failing obscurely --------

@pytest.mark.parametrize("wmin, wmax", [(1.0, 0.0), (torch.tensor([0.0, 2.0]), 1.0)])
def test_wmin_above_wmax(wmin, wmax):
    with pytest.raises(SnncError, match="wmin must not exceed wmax"):
        Connection(Input(2), LIFNodes(2), wmin=wmin, wmax=wmax)


@pytest.mark.parametrize("norm", [0, 0.0, float("nan"), float("inf"), "1"])
def test_bad_norm(norm):
    with pytest.raises(SnncError, match="norm must be a finite non-zero number"):
        Connection(Input(2), LIFNodes(2), norm=norm)


@pytest.mark.parametrize("kwargs, match", [
    ({"refrac": -1}, "refrac must be >= 0"),
    ({"tc_decay": 0.0}, "tc_decay must be > 0"),
    ({"tc_decay": -5.0}, "tc_decay must be > 0"),
    ({"traces": True, "tc_trace": 0.0}, "tc_trace must be > 0"),
])
def test_bad_time_constants(kwargs, match):
    with pytest.raises(SnncError, match=match):
        LIFNodes(3, **kwargs)


@pytest.mark.parametrize("n", [3.5, "3", True, 0, -2])
def test_non_integer_or_non_positive_size(n):
    with pytest.raises(SnncError, match="n must be a positive integer"):
        LIFNodes(n=n)


@pytest.mark.parametrize("time", ["10", None, [10], True])
def test_time_must_be_a_number(time):
    network, _ = two_layer()
    with pytest.raises(SnncError, match="time must be a number"):
        network.run({"X": torch.zeros(10, 2)}, time=time)


@pytest.mark.parametrize("option", ["storage", "propagation"])
def test_override_naming_an_unknown_connection(option):
    network, _ = two_layer()
    with pytest.raises(SnncError, match=f"{option} override for 'X->Q': no such connection"):
        snnc.compile(network, backend="torch", **{option: {"X->Q": "csr" if option == "storage" else "event"}})


@pytest.mark.parametrize("value", [float("inf"), float("-inf")])
def test_inf_weight_names_the_connection(value):
    network, connection = two_layer()
    connection.w[0, 1] = value
    with pytest.raises(SnncError, match=r"Connection \('X', 'Y'\): w contains inf"):
        network.run({"X": torch.zeros(3, 2)}, time=3)


def test_inf_input_names_the_input():
    network, _ = two_layer()
    data = torch.zeros(3, 2)
    data[1, 0] = float("inf")
    with pytest.raises(SnncError, match="input 'X': contains NaN or inf"):
        network.run({"X": data}, time=3)


def test_absurd_size_names_the_layer():
    layer = LIFNodes(n=10 ** 11)
    with pytest.raises(SnncError, match="LIFNodes: cannot allocate state of 100000000000 neurons"):
        Network().add_layer(layer, "huge")


def test_n_and_shape_must_agree():
    with pytest.raises(SnncError, match=r"n=2 does not match shape \[2, 3\]"):
        LIFNodes(n=2, shape=(2, 3))


def test_network_monitor_of_unknown_objects():
    from snnc.network.monitors import NetworkMonitor

    network, _ = two_layer()
    with pytest.raises(SnncError, match="NetworkMonitor: no layer 'Q'"):
        NetworkMonitor(network, layers=["Q"])
    with pytest.raises(SnncError, match="NetworkMonitor: no connection"):
        NetworkMonitor(network, connections=[("Y", "X")])


def test_external_input_to_a_csrm_layer_is_refused():
    from snnc.network.nodes import CSRMNodes

    network = Network()
    network.add_layer(Input(2), "X")
    network.add_layer(CSRMNodes(2), "Y")
    network.add_connection(Connection(network.layers["X"], network.layers["Y"]), "X", "Y")
    with pytest.raises(SnncError, match="input 'Y': a CSRMNodes layer takes input only through Connections"):
        network.run({"Y": torch.ones(3, 2)}, time=3)


def test_uint8_clamp_masks_are_refused():
    """Flags or indices? BindsNET's torch refuses uint8 masks too; snnc says which to give."""
    network, _ = two_layer()
    with pytest.raises(SnncError, match="uint8 mask is ambiguous"):
        network.run({"X": torch.zeros(3, 2)}, time=3, clamp={"Y": torch.tensor([1, 0, 1], dtype=torch.uint8)})


def test_more_bad_sizes_and_options():
    from snnc.network.nodes import CSRMNodes, IzhikevichNodes

    with pytest.raises(SnncError, match="n must be a positive integer"):
        LIFNodes(n=torch.tensor(3.5))
    assert LIFNodes(n=torch.tensor(3)).n == 3
    with pytest.raises(SnncError, match="IzhikevichNodes: cannot allocate"):
        IzhikevichNodes(n=10 ** 11)
    with pytest.raises(SnncError, match="CSRMNodes: cannot allocate"):
        CSRMNodes(n=10 ** 11)
    with pytest.raises(SnncError, match="excitatory must be a fraction"):
        IzhikevichNodes(3, excitatory=float("nan"))
    with pytest.raises(SnncError, match="window_size must be > 0"):
        CSRMNodes(3, res_window_size=0)
    import numpy as np
    assert Connection(Input(2), LIFNodes(2), norm=np.float32(2)).norm == 2.0
    assert Connection(Input(2), LIFNodes(2), norm=torch.tensor(3.0)).norm == 3.0


def test_csrm_window_follows_its_kernel():
    """The source window is as long as the response kernel it is filtered with, even
    when the kernel (or res_window_size) changes after the layer was added."""
    from snnc.network.nodes import CSRMNodes

    network = Network()
    network.add_layer(Input(2), "X")
    network.add_layer(CSRMNodes(2), "Y")
    connection = Connection(network.layers["X"], network.layers["Y"])
    network.add_connection(connection, "X", "Y")
    network.run({"X": torch.ones(2, 2)}, time=2)
    assert connection.s_w.shape == (1, 20, 2)
    network.layers["Y"].res_window_size = 5.0
    network.layers["Y"].resKernel = torch.full((5,), 0.2)
    network.run({"X": torch.ones(2, 2)}, time=2)
    assert connection.s_w.shape == (1, 5, 2)
