"""Every connection type (spec 4.1-4.7), compiled by snnc for every backend, against the
plain reference in ``reference_connections`` (which imports nothing from snnc).

* signal: an ``Input`` source (random spikes) feeds the connection into a
  ``McCullochPitts`` target with an unreachable threshold, whose ``v`` is exactly the
  input it received (``v = I``), so every step's delivered input is compared with the
  reference's (one step delay, spec 2.4). Weights are multiples of 1/4, so sums are
  exact in any order.
* PostPre (6.2): source and a LIF target (``refrac=0``, external drive) both spike and
  keep traces; monitors record ``s``/``x``/``v`` of both layers and the connection's
  ``w``; each step is replayed through the reference (the LIF step of 3.4 from the
  recorded previous ``v``, the PostPre update from the recorded spikes/traces and
  previous weights). Every non-torch backend must also give the torch backend's spikes
  exactly and its weights to 1e-5.
* normalize (4.1-4.6): a frozen network with ``norm``: the first run uses the initial
  weights (Q42), the end of the run normalises them, the next run uses the result.
* bad geometry is an ``SnncError`` naming the connection's class.

Every case runs at batch 1 and 2 on every backend. The compiled backends take seconds
per network (numba compilation grows faster than linearly with the network, so the
types are not merged into one network) or run every thread in Python (the CUDA
simulator: tiny layers, 8 steps), so their tests are ``slow`` except a few
representatives (see ``grid``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest
import torch
import torch.nn.functional as F

import snnc
import snnc.network.topology as topology
from reference_connections import (Conv, Dense, Local, LocalND, MaxPool, MeanField, deliver,
                                   local_locations, out_size)
from snnc.errors import SnncError
from snnc.learning import PostPre
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes, McCullochPitts

BACKENDS = ["torch", "numba", "numba-cuda"]
STEPS = {"torch": 10, "numba": 10, "numba-cuda": 8}
ATOL = 1e-5
LIF = dict(thresh=-62.0, rest=-65.0, reset=-65.0, refrac=0, tc_decay=10.0)
DRIVE = 5.0                      # external input that makes a LIF target spike on its own
NU = (0.03, 0.05)


def topology_class(name: str):
    """The snnc class by name; a clear failure (not an ImportError for the whole file)
    while a type is not implemented yet."""
    cls = getattr(topology, name, None)
    if cls is None:
        pytest.fail(f"snnc.network.topology has no {name}")
    return cls


def dense(w: torch.Tensor) -> torch.Tensor:
    """A weight tensor (or recording) as a dense float32 tensor, whatever its layout."""
    if w.layout != torch.strided:
        w = w.to_dense()
    return w.float()


def quarters(gen: torch.Generator, shape, low: float, high: float) -> torch.Tensor:
    """Uniform multiples of 1/4 in [low, high] (exact in float16 and in any sum order)."""
    return low + 0.25 * torch.randint(0, int(4 * (high - low)) + 1, tuple(shape), generator=gen).float()


# -- the cases --------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    cls: str                          # class name in snnc.network.topology
    source: tuple
    target: tuple
    model: object                     # the reference
    args: tuple = ()                  # positional geometry after (source, target)
    kwargs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)   # the reference's w / b

    def make(self, source, target, **extra):
        """The snnc connection, from copies of the given tensors (never shared between runs)."""
        kwargs = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in self.kwargs.items()}
        return topology_class(self.cls)(source, target, *self.args, **kwargs, **extra)


def weights(gen, shape, signed: bool) -> torch.Tensor:
    return quarters(gen, shape, -0.5, 1.5) if signed else quarters(gen, shape, 0.25, 1.5)


def make_case(name: str, tiny: bool = False, signed: bool = True, seed: int = 0) -> Case:
    """One connection of type ``name``; ``tiny`` (CUDA simulator): a few dozen synapses;
    ``signed``: weights may be negative (not for normalisation, whose sums must not vanish)."""
    gen = torch.Generator().manual_seed(seed + sum(map(ord, name)))
    if name in ("connection", "connection_bias", "connection_float16"):
        source, target = ((2, 3), (2, 2)) if not tiny else ((5,), (3,))
        w = weights(gen, (math.prod(source), math.prod(target)), signed)
        case = Case(name, "Connection", source, target, Dense(source, target), kwargs={"w": w}, params={"w": w})
        if name != "connection":
            b = quarters(gen, (math.prod(target),), -1.0, 1.0)
            case.kwargs["b"], case.params["b"] = b, b
        if name == "connection_float16":
            case.kwargs["w_dtype"] = torch.float16
            case.params["w"] = w.half()
        return case
    if name == "sparse":
        source, target = ((6,), (5,)) if not tiny else ((4,), (4,))
        pattern = torch.rand(math.prod(source), math.prod(target), generator=gen) < 0.5
        w = weights(gen, pattern.shape, signed=False) * pattern     # no stored entry is zero
        return Case(name, "SparseConnection", source, target, Dense(source, target, pattern),
                    kwargs={"w": w}, params={"w": w})
    if name.startswith("conv"):
        dims = int(name[4])
        geometry = {  # (source, kernel, stride, padding, dilation)
            (1, False): ((2, 7), 3, 2, 1, 1), (1, True): ((2, 4), 2, 2, 0, 1),
            (2, False): ((2, 5, 5), (3, 2), (2, 1), (1, 1), (1, 2)), (2, True): ((2, 3, 3), 2, 2, 1, 1),
            (3, False): ((2, 3, 3, 4), (2, 1, 2), (1, 2, 2), (0, 1, 1), 1),
            (3, True): ((2, 2, 2, 3), (2, 1, 2), (1, 1, 2), 0, 1),
        }[dims, tiny]
        source, kernel, stride, padding, dilation = geometry
        model = Conv(source, 2, kernel, stride, padding, dilation)
        w = weights(gen, model.w_shape, signed)
        b = quarters(gen, (2,), -1.0, 1.0)
        kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding, "w": w, "b": b}
        if dims != 3 and dilation != 1:
            kwargs["dilation"] = dilation
        return Case(name, f"Conv{dims}dConnection", source, model.target_shape, model,
                    kwargs=kwargs, params={"w": w, "b": b})
    if name.startswith("maxpool") or name == "maxpoo3d_alias":
        dims = 3 if name == "maxpoo3d_alias" else int(name[7])
        source, kernel, stride, padding, dilation = {
            1: ((2, 6), 3, 2, 1, 1), 2: ((2, 5, 5), 2, 1, 0, 2), 3: ((2, 2, 4, 4), 2, 2, 0, 1),
        }[dims] if not tiny else {1: ((2, 4), 2, 2, 0, 1), 2: ((2, 4, 4), 2, 2, 0, 1),
                                   3: ((2, 2, 2, 4), 2, 2, 0, 1)}[dims]
        decay = 0.25
        model = MaxPool(source, kernel, stride, padding, dilation, decay=decay)
        cls = "MaxPoo3dConnection" if name == "maxpoo3d_alias" else f"MaxPool{dims}dConnection"
        kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding, "decay": decay}
        if dilation != 1:
            kwargs["dilation"] = dilation
        return Case(name, cls, source, model.target_shape, model, kwargs=kwargs)
    if name == "local":
        # BindsNET's own use: a [1, H, W] (or flat) source, square input, int or pair geometry
        if not tiny:
            source, input_shape, kernel, stride, filters = (25,), (5, 5), (3, 3), (2, 2), 2
        else:
            source, input_shape, kernel, stride, filters = (1, 4, 4), (4, 4), 2, 2, 2
        conv = out_size(input_shape, kernel, stride)
        target = (filters, *conv)
        model = Local(source, target, input_shape, kernel, stride, filters)
        w = weights(gen, model.w_shape, signed=False) * model.used    # structural zeros stay zero
        kwargs = {"kernel_size": kernel, "stride": stride, "n_filters": filters, "w": w}
        if not tiny:
            kwargs["input_shape"] = input_shape
        return Case(name, "LocalConnection", source, target, model, kwargs=kwargs, params={"w": w})
    if name.startswith("local") and name.endswith("d"):
        dims = int(name[5])
        source, kernel, stride, filters = {  # source [C_in, *spatial]
            (1, False): ((2, 7), 3, 2, 2), (1, True): ((2, 4), 2, 2, 2),
            (2, False): ((2, 4, 4), (2, 2), (2, 1), 2), (2, True): ((2, 3, 3), 2, 1, 1),
            (3, False): ((2, 3, 3, 3), 2, 1, 2), (3, True): ((2, 2, 2, 2), (2, 1, 2), 1, 1),
        }[dims, tiny]
        model = LocalND(source, kernel, stride, filters)
        target = (filters, *model.conv) if not tiny else (math.prod(model.target_shape),)
        model.with_target(target)
        w = weights(gen, model.w_shape, signed)
        kwargs = {"kernel_size": kernel, "stride": stride, "n_filters": filters, "w": w}
        return Case(name, f"LocalConnection{dims}D", source, target, model, kwargs=kwargs, params={"w": w})
    if name == "meanfield_scalar":
        source, target = (2, 3), (2, 2)
        w = torch.tensor(0.75)
        return Case(name, "MeanFieldConnection", source, target, MeanField(target), kwargs={"w": w},
                    params={"w": w})
    if name == "meanfield_vector":
        source, target = (4,), (3,)
        w = torch.tensor([0.5, -0.25, 1.25])
        return Case(name, "MeanFieldConnection", source, target, MeanField(target), kwargs={"w": w},
                    params={"w": w})
    raise KeyError(name)


SIGNAL_CASES = ["connection_bias", "connection_float16", "sparse", "conv1d", "conv2d", "conv3d",
                "maxpool1d", "maxpool2d", "maxpool3d", "maxpoo3d_alias", "local", "local1d",
                "local2d", "local3d", "meanfield_scalar", "meanfield_vector"]
LEARN_CASES = ["connection", "sparse", "conv1d", "conv2d", "conv3d", "local", "local1d", "local2d",
               "local3d"]
NORM_CASES = LEARN_CASES
LEARN_OPTIONS = {  # per type: bounds (containing 0, so structural zeros never move; the initial
    # weights, multiples of 1/4 in [0.25, 1.5], inside them) and weight decay
    "connection": dict(wmin=-0.25, wmax=1.5, weight_decay=0.01),
    "conv2d": dict(wmin=0.0, wmax=1.5),
}
DEFAULT_LEARN_OPTIONS = dict(wmin=-1.0, wmax=1.75)


# -- building and running -----------------------------------------------------------------

@dataclass
class Entry:
    """One case placed in a network: its layers' names and the objects to read back."""
    case: Case
    mode: str                     # "signal" or "learn"
    x: str
    y: str
    connection: object = None
    options: dict = field(default_factory=dict)


def add_entry(network: Network, case: Case, mode: str, index: int) -> Entry:
    entry = Entry(case, mode, f"X{index}", f"Y{index}")
    source = Input(shape=list(case.source), traces=True)
    network.add_layer(source, entry.x)
    if mode == "signal":
        target = McCullochPitts(shape=list(case.target), thresh=1e9)
    else:
        target = LIFNodes(shape=list(case.target), traces=True, **LIF)
    network.add_layer(target, entry.y)
    extra = {}
    if mode == "learn":
        entry.options = {**DEFAULT_LEARN_OPTIONS, **LEARN_OPTIONS.get(case.name, {})}
        extra = dict(update_rule=PostPre, nu=NU, **entry.options)
    entry.connection = case.make(source, target, **extra)
    network.add_connection(entry.connection, entry.x, entry.y)
    if mode == "signal":
        network.add_monitor(Monitor(target, ("v",)), f"m{entry.y}")
    else:
        network.add_monitor(Monitor(source, ("s", "x")), f"m{entry.x}")
        network.add_monitor(Monitor(target, ("s", "x", "v")), f"m{entry.y}")
        network.add_monitor(Monitor(entry.connection, ("w",)), f"m{entry.x}{entry.y}")
    return entry


def build(cases: list[tuple[Case, str]], batch: int, learning: bool = True) -> tuple[Network, list[Entry]]:
    network = Network(dt=1.0, batch_size=batch, learning=learning)
    entries = [add_entry(network, case, mode, i) for i, (case, mode) in enumerate(cases)]
    return network, entries


def make_inputs(entries: list[Entry], steps: int, batch: int, seed: int = 1) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    inputs = {}
    for e in entries:
        inputs[e.x] = (torch.rand(steps, batch, *e.case.source, generator=gen) < 0.45).float()
        if e.mode == "learn":
            inputs[e.y] = DRIVE * (torch.rand(steps, batch, *e.case.target, generator=gen) < 0.3).float()
    return inputs


def run(cases, backend: str, batch: int, steps: int, learning: bool = True):
    """Build, record the initial weights, run; returns (network, entries, inputs, initial w)."""
    network, entries = build(cases, batch, learning)
    initial = {e.y: dense(e.connection.w).clone() for e in entries if hasattr(e.connection, "w")}
    inputs = make_inputs(entries, steps, batch)
    given = {k: v.clone() for k, v in inputs.items()}
    snnc.compile(network, backend=backend).run(given, time=steps)
    return network, entries, inputs, initial


def get(network: Network, name: str, var: str) -> torch.Tensor:
    return network.monitors[name].get(var)


# -- the checks ---------------------------------------------------------------------------

def first_bad_step(actual: torch.Tensor, expected: torch.Tensor, atol: float) -> int | None:
    diff = (actual.float() - expected.float()).abs().reshape(len(actual), -1)
    bad = (diff > atol).any(1) | torch.isnan(diff).any(1)
    return int(bad.nonzero()[0]) if bad.any() else None


def check_signal(network: Network, entry: Entry, inputs: dict) -> None:
    case = entry.case
    if isinstance(case.model, MaxPool):
        case.model.rates = None
    expected = deliver(case.model, inputs[entry.x], case.params)
    actual = get(network, f"m{entry.y}", "v")
    assert actual.shape == expected.shape, (case.name, actual.shape, expected.shape)
    assert expected.abs().sum() > 0 and (expected[2:] != expected[1:2]).any(), \
        f"{case.name}: the reference signal is trivial, the comparison would prove nothing"
    bad = first_bad_step(actual, expected, ATOL)
    assert bad is None, (f"{case.name}: delivered input differs from the reference at step {bad}: "
                         f"{actual[bad].flatten().tolist()} vs {expected[bad].flatten().tolist()}")


def lif_step(v_prev: torch.Tensor, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Spec 3.4 without refractoriness (refrac=0): leak, add, spike, reset."""
    decay = torch.exp(torch.tensor(-1.0 / LIF["tc_decay"]))
    v = (v_prev - LIF["rest"]) * decay + LIF["rest"] + current
    s = v >= LIF["thresh"]
    return s, torch.where(s, torch.tensor(LIF["reset"]), v)


def trace_step(x_prev: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Spec 3.0 with the defaults: decay by exp(-1/20), then set to 1 where spiking."""
    return torch.where(s != 0, torch.ones(()), x_prev * torch.exp(torch.tensor(-1.0 / 20.0)))


def check_learning(network: Network, entry: Entry, inputs: dict, initial: dict) -> None:
    case, model, opts = entry.case, entry.case.model, entry.options
    s_pre, x_pre = get(network, f"m{entry.x}", "s").float(), get(network, f"m{entry.x}", "x")
    s_post, x_post = get(network, f"m{entry.y}", "s"), get(network, f"m{entry.y}", "x")
    v_post = get(network, f"m{entry.y}", "v")
    w_rec = dense(get(network, f"m{entry.x}{entry.y}", "w"))
    steps, batch = s_pre.shape[:2]
    w0 = initial[entry.y]
    assert torch.equal(w0, dense(case.params["w"])), f"{case.name}: initial weights were altered"
    assert w_rec.shape == (steps, *model.w_shape), (case.name, w_rec.shape)
    assert torch.equal(s_pre, inputs[entry.x]), f"{case.name}: source spikes differ from the input"
    assert s_post.any() and s_pre.any(), f"{case.name}: a layer never spiked"
    zeros = torch.zeros(batch, *case.target)
    previous = dict(s=torch.zeros(batch, *case.source), v=torch.full_like(zeros, LIF["rest"]),
                    x_pre=torch.zeros(batch, *case.source), x_post=zeros, w=w0)
    for t in range(steps):
        where = f"{case.name} step {t}"
        current = model.compute(previous["s"], {**case.params, "w": previous["w"]}) + inputs[entry.y][t]
        s, v = lif_step(previous["v"], current)
        assert torch.equal(s_post[t], s), f"{where}: target spikes differ from the reference LIF step"
        assert first_bad_step(v_post[t:t + 1], v[None], 1e-4) is None, f"{where}: target v differs"
        for name, x, s_now in (("source", x_pre, s_pre), ("target", x_post, s_post)):
            expected_x = trace_step(previous["x_pre" if name == "source" else "x_post"], s_now[t])
            assert first_bad_step(x[t:t + 1], expected_x[None], 1e-6) is None, f"{where}: {name} trace differs"
        w = model.post_pre(previous["w"], s_pre[t], x_pre[t], s_post[t], x_post[t], NU, opts["wmin"],
                           opts["wmax"], opts.get("weight_decay", 0.0))
        bad = first_bad_step(w_rec[t:t + 1], w[None], ATOL)
        assert bad is None, (f"{where}: PostPre weights differ from the reference by "
                             f"{(w_rec[t] - w).abs().max().item():.3g}")
        assert not (w_rec[t][~model.used] != 0).any(), f"{where}: a structural/sparse zero weight changed"
        previous = dict(s=s_pre[t], v=v_post[t], x_pre=x_pre[t], x_post=x_post[t], w=w_rec[t])
    assert not torch.equal(w_rec[-1], w0), f"{case.name}: the weights never changed"
    assert torch.allclose(dense(entry.connection.w), w_rec[-1], atol=ATOL, rtol=0), \
        f"{case.name}: connection.w after the run is not the last recorded w"


def check_same_as_torch(network: Network, entries: list[Entry], cases, batch: int, steps: int) -> None:
    """Spikes identical and weights within 1e-5 of the torch backend's run of the same network."""
    reference, _, _, _ = run(cases, "torch", batch, steps)
    for name, monitor in network.monitors.items():
        for var in monitor.state_vars:
            ours, theirs = monitor.get(var), reference.monitors[name].get(var)
            if var == "s":
                assert torch.equal(ours, theirs), f"{name}.s differs from the torch backend"
            else:
                ours, theirs = dense(ours), dense(theirs)
                assert torch.allclose(ours, theirs, atol=ATOL, rtol=0), f"{name}.{var} differs from torch"


# -- per type, per backend ------------------------------------------------------------------

def grid(names: list[str], fast: set[tuple[str, str, int]]) -> list:
    """(name, backend, batch) for every case; the compiled backends are ``slow`` (seconds of
    numba compilation per network, Python threads in the CUDA simulator) except ``fast``."""
    params = []
    for name in names:
        for backend in BACKENDS:
            for batch in (1, 2):
                slow = backend != "torch" and (name, backend, batch) not in fast
                params.append(pytest.param(name, backend, batch, id=f"{name}-{backend}-{batch}",
                                           marks=[pytest.mark.slow] if slow else []))
    return params


@pytest.mark.parametrize("name, backend, batch", grid(SIGNAL_CASES, {("maxpool2d", "numba", 2),
                                                                     ("local1d", "numba-cuda", 2)}))
def test_signal_matches_reference(name, backend, batch):
    case = make_case(name, tiny=backend == "numba-cuda")
    network, entries, inputs, _ = run([(case, "signal")], backend, batch, STEPS[backend])
    check_signal(network, entries[0], inputs)
    if isinstance(case.model, MaxPool):
        connection = entries[0].connection
        assert torch.allclose(connection.firing_rates.float(), case.model.rates, atol=ATOL), \
            "firing_rates after the run"
        network.reset_state_variables()
        assert torch.equal(connection.firing_rates, torch.zeros(batch, *case.source)), "firing_rates after reset"


@pytest.mark.parametrize("name, backend, batch", grid(LEARN_CASES, {("conv3d", "numba", 2),
                                                                    ("sparse", "numba", 2),
                                                                    ("local2d", "numba-cuda", 2)}))
def test_post_pre_matches_reference(name, backend, batch):
    case = make_case(name, tiny=backend == "numba-cuda", signed=False)
    cases = [(case, "learn")]
    network, entries, inputs, initial = run(cases, backend, batch, STEPS[backend])
    check_learning(network, entries[0], inputs, initial)
    if backend != "torch":
        check_same_as_torch(network, entries, cases, batch, STEPS[backend])


@pytest.mark.parametrize("name, backend, batch", grid(NORM_CASES, {("local", "numba-cuda", 1)}))
def test_normalize_at_the_end_of_each_run(name, backend, batch):
    case = make_case(name, tiny=backend == "numba-cuda", signed=False)
    norm = 2.5
    case.kwargs["norm"] = norm
    try:
        network, entries = build([(case, "signal")], batch, learning=False)
        entry = entries[0]
        w0 = dense(entry.connection.w).clone()
        inputs = make_inputs(entries, 6, batch)[entry.x]
        program = snnc.compile(network, backend=backend)
        program.run({entry.x: inputs[:3].clone()}, time=3)
        program.run({entry.x: inputs[3:].clone()}, time=3)
    except SnncError:
        if name == "sparse":     # BindsNET crashes here (4.2); a clear refusal is acceptable too
            return
        raise
    expected_w = case.model.normalize(w0, norm)
    assert not torch.allclose(expected_w, w0), "normalisation would change nothing"
    previous = torch.cat([torch.zeros_like(inputs[:1]), inputs[:-1]])
    expected = torch.stack([case.model.compute(previous[t], {**case.params, "w": w0 if t < 3 else expected_w})
                            for t in range(6)])
    actual = get(network, f"m{entry.y}", "v")
    bad = first_bad_step(actual, expected, 1e-4)
    assert bad is None, f"{name}: delivered input differs at step {bad} (0-2 initial w, 3-5 normalised)"
    w = dense(entry.connection.w)
    assert torch.allclose(w, case.model.normalize(expected_w, norm), atol=ATOL, rtol=1e-5), \
        f"{name}: weights after the second run"
    assert not (w[~case.model.used] != 0).any(), f"{name}: normalisation filled in structural zeros"


# -- what snnc adds: fixes of BindsNET crashes --------------------------------------------------

def test_sparsity_is_the_fraction_of_zero_weights_and_learning_keeps_it():
    network = Network(batch_size=2)
    source, target = Input(20, traces=True), LIFNodes(20, traces=True, **LIF)
    network.add_layer(source, "X")
    network.add_layer(target, "Y")
    connection = topology_class("SparseConnection")(source, target, sparsity=0.75, update_rule=PostPre,
                                                    nu=NU, wmin=-1.0, wmax=2.0)
    network.add_connection(connection, "X", "Y")
    w0 = dense(connection.w).clone()
    zero = w0 == 0
    assert 0.6 < zero.float().mean().item() < 0.9, f"sparsity 0.75 gave {zero.float().mean():.2f} zeros"
    stored = w0[~zero]
    assert ((stored >= -1.0) & (stored < 2.0)).all() and stored.std() > 0.3, \
        "stored weights are wmin + U[0, 1)·(wmax − wmin) (4.1)"
    gen = torch.Generator().manual_seed(4)
    inputs = {"X": (torch.rand(20, 2, 20, generator=gen) < 0.5).float(),
              "Y": DRIVE * (torch.rand(20, 2, 20, generator=gen) < 0.5).float()}
    snnc.compile(network, backend="torch").run(inputs, time=20)
    w = dense(connection.w)
    assert not torch.equal(w, w0), "no learning happened"
    assert (w[zero] == 0).all(), "learning filled in the sparsity pattern"


def test_local_connection_structure():
    """4.5: ``w`` is ``[source.n, target.n]``, ``locations`` ``[kernel_prod, conv_prod]`` (square
    input: the spec's formula), ``mask`` the out-of-field entries (zeros of a default ``w``)."""
    source, target = Input(shape=[1, 6, 6]), LIFNodes(shape=[3, 2, 2])
    connection = topology_class("LocalConnection")(source, target, kernel_size=3, stride=3, n_filters=3)
    model = Local((1, 6, 6), (3, 2, 2), (6, 6), 3, 3, 3)
    assert tuple(connection.w.shape) == (36, 12)
    assert torch.equal(connection.locations.long(), local_locations((6, 6), 3, 3))
    literal = torch.tensor([[c1 * 3 * 6 + c2 * 3 + k1 * 6 + k2 for c1 in range(2) for c2 in range(2)]
                            for k1 in range(3) for k2 in range(3)])
    assert torch.equal(local_locations((6, 6), 3, 3), literal), "the reference's locations (spec formula)"
    assert torch.equal(connection.mask.bool(), model.mask)
    assert (connection.w[model.mask] == 0).all() and (connection.w[~model.mask] != 0).any()


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_local_nd_default_weights(dims):
    """4.6: without ``w``: ``[C_in, n_filters·conv_prod, kernel_prod]``, U[0, 1)."""
    shape = {1: [2, 7], 2: [2, 5, 4], 3: [2, 4, 3, 3]}[dims]
    model = LocalND(tuple(shape), 2, 1, 3)
    source, target = Input(shape=shape), LIFNodes(shape=[3, *model.conv])
    connection = topology_class(f"LocalConnection{dims}D")(source, target, 2, 1, 3)
    assert tuple(connection.w.shape) == model.w_shape
    assert ((connection.w >= 0) & (connection.w < 1)).all() and connection.w.std() > 0


def test_connection_float16_weights_stay_half():
    """Q16: BindsNET crashes in compute; snnc keeps half weights and computes in float32."""
    case = make_case("connection_float16")
    network, entries, inputs, _ = run([(case, "signal")], "torch", 2, 6)
    assert entries[0].connection.w.dtype == torch.float16
    check_signal(network, entries[0], inputs)


def test_max_pool_needs_decay():
    """4.4: ``decay`` is required. BindsNET constructs without it (its device-transfer test
    does) and fails in ``compute``; snnc may refuse at construction or at the run."""
    cls = topology_class("MaxPool2dConnection")
    network = Network()
    source, target = Input(shape=[1, 4, 4]), McCullochPitts(shape=[1, 2, 2])
    network.add_layer(source, "X")
    network.add_layer(target, "Y")
    with pytest.raises(SnncError, match="MaxPool2dConnection.*decay|decay.*MaxPool2dConnection"):
        network.add_connection(cls(source, target, 2, 2), "X", "Y")
        snnc.compile(network, backend="torch").run({"X": torch.ones(2, 1, 1, 4, 4)}, time=2)


BAD_GEOMETRY = {  # name: (class, source shape, target shape, args, kwargs)
    "conv1d_target": ("Conv1dConnection", [2, 7], [2, 5], (3,), {"stride": 2, "padding": 1}),
    "conv1d_kernel": ("Conv1dConnection", [1, 2], [1, 1], (3,), {}),
    "conv2d_target": ("Conv2dConnection", [2, 5, 5], [2, 3, 4], ((3, 2),), {"stride": (2, 1)}),
    "conv3d_target": ("Conv3dConnection", [2, 3, 3, 4], [2, 2, 3, 3], (2,), {}),
    "conv3d_source": ("Conv3dConnection", [2, 3, 3], [2, 2, 2, 2], (2,), {}),
    "maxpool1d_target": ("MaxPool1dConnection", [2, 6], [2, 4], (2,), {"stride": 2, "decay": 0.5}),
    "maxpool2d_target": ("MaxPool2dConnection", [2, 4, 4], [2, 3, 3], (2,), {"stride": 2, "decay": 0.5}),
    "maxpool3d_target": ("MaxPool3dConnection", [2, 2, 4, 4], [2, 1, 2, 3], (2,), {"stride": 2, "decay": 0.5}),
    "maxpoo3d_target": ("MaxPoo3dConnection", [2, 2, 4, 4], [1, 1, 2, 2], (2,), {"stride": 2, "decay": 0.5}),
    "local_target": ("LocalConnection", [1, 5, 5], [2, 3, 3], (3, 2, 2), {}),
    "local_kernel": ("LocalConnection", [1, 4, 4], [1, 1, 1], (5, 1, 1), {}),
    "local1d_target": ("LocalConnection1D", [2, 7], [2, 4], (3, 2, 2), {}),
    "local2d_target": ("LocalConnection2D", [2, 4, 4], [2, 2, 2], ((2, 2), (2, 1), 2), {}),
    "local2d_w": ("LocalConnection2D", [2, 4, 4], [2, 2, 3], ((2, 2), (2, 1), 2), {"w": torch.rand(2, 12, 3)}),
    "local3d_target": ("LocalConnection3D", [2, 3, 3, 3], [2, 2, 2, 3], (2, 1, 2), {}),
    "sparse_w": ("SparseConnection", [4], [3], (), {"w": torch.rand(3, 4)}),
    "meanfield_w": ("MeanFieldConnection", [4], [3], (), {"w": torch.rand(5)}),
}


@pytest.mark.parametrize("name", list(BAD_GEOMETRY))
def test_bad_geometry_is_an_snnc_error_naming_the_connection(name):
    cls, source_shape, target_shape, args, kwargs = BAD_GEOMETRY[name]
    pattern = "MaxPool?3dConnection" if cls == "MaxPoo3dConnection" else cls
    connection_class = topology_class(cls)
    network = Network(batch_size=2)
    source, target = Input(shape=source_shape), McCullochPitts(shape=target_shape)
    network.add_layer(source, "X")
    network.add_layer(target, "Y")
    with pytest.raises(SnncError, match=pattern):
        network.add_connection(connection_class(source, target, *args, **kwargs), "X", "Y")
        snnc.compile(network, backend="torch").run({"X": torch.ones(2, 2, *source_shape)}, time=2)


# -- the reference itself, against torch's own operators ------------------------------------------

def spikes(gen, shape) -> torch.Tensor:
    return (torch.rand(shape, generator=gen) < 0.5).float()


@pytest.mark.parametrize("name", ["conv1d", "conv2d", "conv3d"])
@pytest.mark.parametrize("tiny", [False, True])
def test_reference_conv_is_torch_conv_and_its_weight_gradient(name, tiny):
    case = make_case(name, tiny=tiny)
    gen = torch.Generator().manual_seed(2)
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[int(name[4])]
    kw = {k: case.kwargs.get(k, default) for k, default in (("stride", 1), ("padding", 0), ("dilation", 1))}
    s = spikes(gen, (3, *case.source))
    w, b = case.params["w"], case.params["b"]
    expected = conv(s, w, b, **kw)
    assert torch.equal(case.model.compute(s, case.params), expected)
    # PostPre's sums are the convolution's weight gradients: Σ pre-patch · post
    post = torch.rand(expected.shape, generator=gen)
    weight = w.clone().requires_grad_(True)
    (conv(s, weight, None, **kw) * post).sum().backward()
    depression, potentiation = case.model.post_pre_delta(s, s, post, post)
    torch.testing.assert_close(depression, weight.grad)
    torch.testing.assert_close(potentiation, weight.grad)


def test_reference_dense_and_local_are_masked_matmuls():
    gen = torch.Generator().manual_seed(3)
    for name in ("connection_bias", "sparse", "local"):
        case = make_case(name)
        s = spikes(gen, (3, *case.source))
        w = case.params["w"]
        expected = s.reshape(3, -1) @ w + case.params.get("b", 0.0)
        assert torch.equal(case.model.compute(s, case.params), expected.view(3, *case.target)), name
        pre, post = spikes(gen, (3, *case.source)), torch.rand(3, *case.target, generator=gen)
        dep, _ = case.model.post_pre_delta(pre, pre, post, post)
        outer = torch.einsum("bi,bj->ij", pre.reshape(3, -1), post.reshape(3, -1))
        torch.testing.assert_close(dep, torch.where(case.model.used, outer, torch.zeros(())))
    local = make_case("local")
    assert local.model.used.sum() == 9 * 8        # kernel_prod x target.n


@pytest.mark.parametrize("name", ["local1d", "local2d", "local3d"])
def test_reference_local_nd_is_the_unfold_formula(name):
    """4.6: unfold into [B, C, P, K] (row-major), tile n_filters times, × w, sum over C and K."""
    case = make_case(name)
    gen = torch.Generator().manual_seed(4)
    s = spikes(gen, (2, *case.source))
    kernel, stride = case.kwargs["kernel_size"], case.kwargs["stride"]
    dims = len(case.source) - 1
    kernel = kernel if isinstance(kernel, tuple) else (kernel,) * dims
    stride = stride if isinstance(stride, tuple) else (stride,) * dims
    patches = s
    for d in range(dims):
        patches = patches.unfold(2 + d, kernel[d], stride[d])
    patches = patches.reshape(2, case.source[0], -1, math.prod(kernel))
    tiled = patches.repeat(1, 1, case.kwargs["n_filters"], 1)
    expected = (tiled * case.params["w"]).sum((1, 3)).view(2, *case.target)
    torch.testing.assert_close(case.model.compute(s, case.params), expected)


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_reference_max_pool_is_torch_max_pool_with_indices(dims):
    case = make_case(f"maxpool{dims}d")
    pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[dims]
    kw = {k: case.kwargs.get(k, default) for k, default in (("stride", 1), ("padding", 0), ("dilation", 1))}
    gen = torch.Generator().manual_seed(5)
    rates = torch.zeros(2, *case.source)
    differs = False
    for _ in range(8):
        s = spikes(gen, (2, *case.source))
        rates = rates - 0.25 * rates + s
        _, index = pool(rates, case.kwargs["kernel_size"], return_indices=True, **kw)
        expected = s.flatten(2).gather(2, index.flatten(2)).view(index.shape)
        assert torch.equal(case.model.compute(s), expected)
        differs |= not torch.equal(expected, pool(s, case.kwargs["kernel_size"], **kw))
    assert differs, "the rate never mattered: a plain max-pool of the spikes would pass"
