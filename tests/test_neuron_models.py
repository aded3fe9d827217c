"""Differential tests of the neuron models of spec 3.2-3.10 and 3.12 on every backend,
against the plain simulator in ``reference_neurons`` (written from the spec alone).

Each model runs as an ``X (4,) -> Y (2, 3)`` network (dense ``w``, one-step delay,
external input to ``Y``, batch 2; spec 2.4), compiled once per backend (numba's JIT,
4-8 s per network here, dominates the file's time), in three ``run`` calls: two
continuing ones (must equal one run; 200 steps, 18 in the CUDA simulator), then
``reset_state_variables`` (the state must restart as 2.6 and 3.x say) and a third run.
Random models follow snnc's contract: ``torch.manual_seed`` right before each run, the
reference draws the same ``torch.rand`` shapes.
Spikes must be identical at every step, other state within 1e-4. Weights and inputs
are multiples of 1/4. Izhikevich's upswing multiplies a rounding difference by ~50
per step and its coupling ``S @ s`` sums random floats (in a backend-specific order),
so two correct float32 implementations drift apart and, after ~100 steps, may shift
a spike: its state, spikes included, is checked one step at a time from snnc's own
previous state (spikes exactly, the rest within 1e-5·|v| + 1e-4).
Golden traces of spec 16 (items 2-7) are checked on the reference and every backend;
Izhikevich's construction is checked against 3.9.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

import pytest
import torch

import snnc
from reference_neurons import ReferenceNeurons, ReferencePair, one_step_predictions, random_shape
from snnc.conversion import PassThroughNodes, SubtractiveResetIFNodes
from snnc.network import Network
from snnc.network import nodes
from snnc.network.monitors import Monitor
from snnc.network.topology import Connection

BACKENDS = ["torch", "numba", "numba-cuda"]
BATCH, SHAPE, N = 2, (2, 3), 6
# Steps of run 1, run 2 (continuing) and run 3 (after a reset). The CUDA simulator runs every
# thread in Python (~0.12 s per step for one of these networks with its monitors), so 200
# steps would take ~25 s per model: it gets 18, a real GPU (SNNC_REAL_CUDA=1) the full length.
SIMULATED = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
STEPS = {"torch": (120, 80, 60), "numba": (120, 80, 60), "numba-cuda": (8, 4, 6) if SIMULATED else (120, 80, 60)}
SEEDS = (11, 12, 13)
CLASSES = {"mcculloch_pitts": nodes.McCullochPitts, "if": nodes.IFNodes, "lif": nodes.LIFNodes,
           "boosted_lif": nodes.BoostedLIFNodes, "current_lif": nodes.CurrentLIFNodes,
           "adaptive_lif": nodes.AdaptiveLIFNodes, "diehl_and_cook": nodes.DiehlAndCookNodes,
           "izhikevich": nodes.IzhikevichNodes, "srm0": nodes.SRM0Nodes,
           "subtractive_if": SubtractiveResetIFNodes, "pass_through": PassThroughNodes}


@dataclass
class Case:
    model: str
    params: dict = field(default_factory=dict)
    w: tuple[float, float] = (0.0, 3.0)            # range of the quarter-valued weights
    ext: tuple[float, float] = (0.0, 1.0)          # range of the quarter-valued external input
    clamp: bool = False                            # random per-step clamp / unclamp masks


T23 = torch.tensor([[-58.0, -56.0, -60.0], [-57.0, -59.0, -55.0]])
T3 = torch.tensor([-58.0, -56.0, -60.0])
CASES = {   # parameters cover per-neuron thresholds, lbound, both trace kinds, tc_trace, trace_scale, summed
    "mcculloch_pitts": Case("mcculloch_pitts", dict(thresh=torch.tensor([0.5, 1.0, 1.25]), traces=True,
                                                    tc_trace=5.0), w=(0.0, 1.0), ext=(-0.5, 0.75)),
    "if": Case("if", dict(thresh=-60.0, refrac=2.0, lbound=-67.0, traces=True, traces_additive=True),
               w=(0.0, 2.0), ext=(-1.5, 1.0)),
    "lif": Case("lif", dict(thresh=T23, refrac=3.0, tc_decay=20.0, lbound=-70.0, traces=True, tc_trace=10.0,
                            trace_scale=0.5, sum_input=True), w=(0.0, 4.0), ext=(-1.0, 2.0), clamp=True),
    "boosted_lif": Case("boosted_lif", dict(thresh=6.0, refrac=2.0, tc_decay=10.0, traces=True,
                                            traces_additive=True, sum_input=True), w=(0.0, 3.0), ext=(0.0, 1.0)),
    "current_lif": Case("current_lif", dict(thresh=T3, refrac=3.0, tc_i_decay=3.0, lbound=-70.0, sum_input=True,
                                            traces=True), w=(0.0, 1.5), ext=(-0.5, 0.5)),
    "izhikevich": Case("izhikevich", dict(excitatory=0.5, lbound=-75.0, traces=True, traces_additive=True,
                                          sum_input=True), w=(0.0, 10.0), ext=(1.0, 8.0)),
    "subtractive_if": Case("subtractive_if", dict(thresh=2.0, reset=0.0, refrac=1.0, lbound=-1.0, traces=True),
                           w=(0.0, 1.0), ext=(-0.5, 0.5)),
    "pass_through": Case("pass_through", dict(traces=True, sum_input=True), w=(-1.0, 1.0), ext=(-1.0, 1.0),
                         clamp=True),
    "adaptive_lif": Case("adaptive_lif", dict(thresh=T23, theta_plus=0.5, tc_theta_decay=50.0, refrac=2.0,
                                              tc_decay=30.0, traces=True, traces_additive=True, trace_scale=2.0),
                         w=(0.0, 4.0), ext=(0.0, 1.5)),
    "srm0": Case("srm0", dict(refrac=2.0, lbound=-75.0, traces=True), w=(0.0, 6.0), ext=(-1.0, 2.0)),
    "diehl_and_cook": Case("diehl_and_cook", dict(one_spike=False, thresh=torch.tensor([-56.0, -55.0, -57.0]),
                                                  theta_plus=1.0, tc_theta_decay=40.0, refrac=3.0, lbound=-68.0,
                                                  traces=True), w=(0.0, 4.0), ext=(-0.5, 1.5)),
    "diehl_and_cook_one_spike": Case("diehl_and_cook", dict(one_spike=True, thresh=-58.0, theta_plus=0.25,
                                                            tc_theta_decay=40.0, refrac=1.0, traces=True,
                                                            traces_additive=True), w=(0.0, 6.0), ext=(0.0, 2.0)),
}


def quarters(gen, shape, low, high) -> torch.Tensor:
    return low + 0.25 * torch.randint(0, int(4 * (high - low)) + 1, shape, generator=gen).float()


def case_data(name: str, steps: int) -> dict:
    """Seeded ``w`` [4, 6], external input [T, B, 2, 3], clamp/unclamp masks [T, 2, 3]
    (the first ``steps`` of 200, so a shorter run sees the start of a longer one)."""
    case = CASES[name]
    gen = torch.Generator().manual_seed(list(CASES).index(name) + 100)
    data = {"w": quarters(gen, (4, N), *case.w), "ext": quarters(gen, (200, BATCH, *SHAPE), *case.ext)[:steps]}
    if case.clamp:
        data["clamp"] = (torch.rand(200, *SHAPE, generator=gen) < 0.1)[:steps]
        data["unclamp"] = (torch.rand(200, *SHAPE, generator=gen) < 0.1)[:steps]
    return data


def x_raster(steps: int) -> torch.Tensor:
    """Input spikes, p = 0.3."""
    return (torch.rand(200, BATCH, 4, generator=torch.Generator().manual_seed(7)) < 0.3).float()[:steps]


def izhikevich_layer(params: dict) -> nodes.IzhikevichNodes:
    return nodes.IzhikevichNodes(shape=list(SHAPE), generator=torch.Generator().manual_seed(5), **params)


def izhikevich_parameters(layer) -> dict:
    return {name: getattr(layer, name).clone() for name in ("a", "b", "c", "d", "S")}


# -- snnc side: per model and backend, one network run in three calls ---------------------

@functools.cache
def snnc_case(name: str, backend: str, dt: float) -> dict:
    """Run 1 + run 2 (continuing), reset, run 3; the recordings, the state right after the
    reset, the uniforms the runs drew (2.4, 2.6; the random-number contract)."""
    case, (t1, t2, t3) = CASES[name], STEPS[backend]
    data, x = case_data(name, t1 + t2), x_raster(t1 + t2)
    network = Network(dt=dt, batch_size=BATCH)
    X = nodes.Input(shape=[4])
    if case.model == "izhikevich":
        Y = izhikevich_layer(case.params)
    else:
        Y = CLASSES[case.model](shape=list(SHAPE), **case.params)
    network.add_layer(X, "X")
    network.add_layer(Y, "Y")
    network.add_connection(Connection(X, Y, w=data["w"].clone()), "X", "Y")
    network.add_monitor(Monitor(X, ["s"]), "X")
    network.add_monitor(Monitor(Y, list(Y.ir_state())), "Y")
    program = snnc.compile(network, backend=backend)
    modified = []

    def run(start: int, stop: int, seed: int) -> None:
        inputs = {"X": x[start:stop], "Y": data["ext"][start:stop]}
        masks = {kind: {"Y": data[kind][start:stop]} for kind in ("clamp", "unclamp") if kind in data}
        given = {**inputs, **{kind: mask["Y"] for kind, mask in masks.items()}}
        originals = {key: value.clone() for key, value in given.items()}
        torch.manual_seed(seed)                    # right before the run: it draws the uniforms
        program.run(inputs, time=(stop - start) * dt, **masks)
        modified.extend(key for key, value in given.items() if not torch.equal(value, originals[key]))

    def collect() -> dict:
        return {f"{name}.{var}": monitor.get(var).clone() for name, monitor in network.monitors.items()
                for var in monitor.state_vars}

    run(0, t1, SEEDS[0])
    run(t1, t1 + t2, SEEDS[1])
    split = collect()
    network.reset_state_variables()
    after_reset = {var: getattr(Y, var).clone() for var in Y.ir_state()}
    run(0, t3, SEEDS[2])
    uniforms = []
    for seed, steps in zip(SEEDS, (t1, t2, t3)):
        torch.manual_seed(seed)
        shape = random_shape(case.model, case.params, steps, BATCH, N)
        uniforms.append(None if shape is None else torch.rand(shape))
    return dict(split=split, after_reset=after_reset, rerun=collect(), uniforms=uniforms, modified=modified,
                x=x, data=data, steps=(t1, t2, t3), dt=dt,
                izhikevich=izhikevich_parameters(Y) if case.model == "izhikevich" else None)


# -- the reference side -----------------------------------------------------------------

def reference_case(name: str, result: dict) -> dict:
    """The reference: the two runs as one run, the reset state, the run after the reset."""
    case, t3 = CASES[name], result["steps"][2]
    data, x = result["data"], result["x"]
    pair = ReferencePair(case.model, case.params, data["w"], BATCH, result["dt"], SHAPE, result["izhikevich"])
    initial = pair.y.state()
    u = result["uniforms"]
    masks = {kind: data.get(kind) for kind in ("clamp", "unclamp")}
    split = pair.run(x, data["ext"], None if u[0] is None else torch.cat(u[:2]), **masks)
    pair.reset_state()
    after_reset = pair.y.state()
    rerun = pair.run(x[:t3], data["ext"][:t3], u[2], **{k: None if m is None else m[:t3] for k, m in masks.items()})
    return dict(initial=initial, split=split, after_reset=after_reset, rerun=rerun)


def assert_trace(where: str, actual: torch.Tensor, expected: torch.Tensor, relative: bool = False) -> None:
    assert actual.shape == expected.shape, (where, tuple(actual.shape), tuple(expected.shape))
    if expected.dtype == torch.bool:
        bad = (actual.float() != expected.float()).reshape(len(actual), -1).any(1)
        assert not bad.any(), f"{where}: first difference at step {int(bad.nonzero()[0])}"
        return
    tolerance = 1e-4 + (1e-5 * expected.abs() if relative else 0.0)
    bad = ((actual.float() - expected).abs() > tolerance).reshape(len(actual), -1).any(1)
    if bad.any():
        t = int(bad.nonzero()[0])
        raise AssertionError(f"{where}: first difference at step {t}: {actual[t].flatten().tolist()} "
                             f"!= {expected[t].flatten().tolist()}")


def assert_part(name: str, part: str, result: dict, expected: dict, before: dict) -> None:
    """One run's recordings; Izhikevich's one step at a time from ``before`` and the
    recorded states (see the module docstring)."""
    case, actual = CASES[name], result[part]
    assert torch.equal(actual["X.s"], expected[part]["X.s"]), f"X.s ({part})"
    if case.model != "izhikevich":
        for var, value in expected[part].items():
            if var != "X.s":
                assert_trace(f"{name}.{var} ({part})", actual[f"Y.{var}"], value)
        return
    x = actual["X.s"]
    x_before = torch.cat([torch.zeros_like(x[:1]), x[:-1]])
    states = {var: torch.cat([before[var][None].float(), actual[f"Y.{var}"][:-1].float()])
              for var in before if var != "s"}
    states["s"] = torch.cat([before["s"][None].bool(), actual["Y.s"][:-1].bool()])
    predicted = one_step_predictions(case.model, case.params, result["data"]["w"], x_before,
                                     result["data"]["ext"][:len(x)], states, result["dt"], SHAPE,
                                     result["izhikevich"])
    for var, value in predicted.items():
        assert_trace(f"{name}.{var} ({part}, one step)", actual[f"Y.{var}"], value, relative=True)


def assert_active(name: str, s: torch.Tensor) -> None:
    """A comparison of silent (or saturated) layers proves nothing."""
    if CASES[name].model == "pass_through":
        assert s.flatten().unique().numel() > 3, f"{name}: input barely varies"
        return
    rate = s.float().mean().item()
    assert 0.0 < rate < 0.6, f"{name}: spike rate {rate:.3f}"


MODEL_RUNS = [pytest.param(name, backend, dt, id=f"{name}-{backend}-dt{dt:g}") for name in CASES
              for backend in BACKENDS for dt in (1.0, 0.5) if backend != "numba-cuda" or dt == 1.0 or not SIMULATED]


@pytest.mark.parametrize("name, backend, dt", MODEL_RUNS)
def test_model_matches_reference(name, backend, dt):
    """Two continuing runs, the reset, a third run (dt 0.5 reuses the compiled module)."""
    result = snnc_case(name, backend, dt)
    expected = reference_case(name, result)
    assert_active(name, expected["split"]["s"])
    assert_active(name, expected["rerun"]["s"])
    assert_part(name, "split", result, expected, expected["initial"])
    for var, value in expected["after_reset"].items():       # 2.6: the state right after the reset
        assert_trace(f"{name}.{var} after reset_state_variables", result["after_reset"][var][None],
                     value[None], relative=CASES[name].model == "izhikevich")
    assert_part(name, "rerun", result, expected, result["after_reset"])
    assert not result["modified"], f"the caller's tensors were modified: {result['modified']}"


@pytest.mark.parametrize("dt", [1.0, 0.5])
@pytest.mark.parametrize("name", CASES)
def test_reference_cases_are_active(name, dt):
    """Every case spikes (not every step) in each run's window, the short CUDA-simulator
    windows included; DiehlAndCook's one-spike choice is really exercised."""
    case, steps = CASES[name], sum(STEPS["torch"][:2])
    data, x = case_data(name, steps), x_raster(steps)
    izhikevich = izhikevich_parameters(izhikevich_layer(case.params)) if case.model == "izhikevich" else None
    pair = ReferencePair(case.model, case.params, data["w"], BATCH, dt, SHAPE, izhikevich)
    shape = random_shape(case.model, case.params, steps, BATCH, N)
    torch.manual_seed(0)
    record = pair.run(x, data["ext"], None if shape is None else torch.rand(shape),
                      data.get("clamp"), data.get("unclamp"))
    s = record["s"]
    cuda = sum(STEPS["numba-cuda"][:2])
    for window in (s, s[:cuda], s[:STEPS["numba-cuda"][2]]):
        assert_active(name, window)
    if case.model != "pass_through":
        assert s.reshape(len(s), -1).any(0).all(), "a neuron never spikes"
    if name == "diehl_and_cook_one_spike":
        crossed = (record["refrac_count"] == case.params["refrac"]).reshape(len(s), BATCH, -1).sum(-1)
        kept = s.reshape(len(s), BATCH, -1).sum(-1)
        assert (kept <= 1).all() and (crossed[:cuda] > 1).sum() >= 3


# -- spec 16 golden traces, items 2-7 ------------------------------------------------------

DECAY_THETA = [0.05 * float(torch.exp(torch.tensor(-1e-7))) ** k for k in range(8)]
GOLDEN = {   # item: (model, params, constant input, {var: expected per step})
    2: ("lif", {}, 5.0, dict(s=[0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
                             v=[-60, -55.0498] + [-65] * 6 + [-60, -55.0498] + [-65] * 5)),
    3: ("if", {}, 5.0, dict(s=[0, 0, 1, 0, 0, 0, 0, 0], v=[-60, -55] + [-65] * 6)),
    4: ("current_lif", {}, 5.0, dict(s=[0, 0, 1, 0, 0, 0, 0, 0, 1, 0],
                                     v=[-60, -52.0171, -65, -65, -65, -65, -65, -52.5253, -65, -65],
                                     i=[5, 8.0327, 9.8721, 10.9877, 11.6644, 12.0748, 12.3237, 12.4747,
                                        12.5663, 12.6218])),
    5: ("adaptive_lif", {}, 5.0, dict(s=[0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
                                      v=[-60, -55.0498] + [-65] * 6 + [-60, -55.0498], theta=[0, 0] + DECAY_THETA)),
    6: ("boosted_lif", {}, 5.0, dict(s=[0, 0, 1, 0, 0, 0, 0, 0], v=[5, 9.9502, 0, 0, 0, 0, 0, 0])),
    7: ("lif", dict(refrac=0.0, traces=True, traces_additive=True), 8.0,
        dict(s=[0, 1, 0, 1, 0, 1, 0, 1], x=[0, 1, 0.9512, 1.9048, 1.8119, 2.7236, 2.5907, 3.4644])),
}


def assert_golden(item: int, recorded: dict, steps: int) -> None:
    for var, values in GOLDEN[item][3].items():
        values = torch.tensor(values[:steps], dtype=torch.float32)
        actual = recorded[var][:len(values)].float().flatten()
        assert torch.allclose(actual, values, atol=1e-4, rtol=0), (item, var, actual.tolist(), values.tolist())


@pytest.mark.parametrize("item", GOLDEN)
def test_reference_golden(item):
    model, params, value, expected = GOLDEN[item]
    layer = ReferenceNeurons(model, params, batch=1, dt=1.0, shape=(1,))
    record = {}
    for _ in range(len(expected["s"])):
        layer.step(torch.full((1, 1), value))
        for var, state in layer.state().items():
            record.setdefault(var, []).append(state)
    assert_golden(item, {var: torch.stack(values) for var, values in record.items()}, 15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_golden_traces_on_backend(backend):
    """Items 2-7 as independent one-neuron layers of one network (one compile per backend)."""
    steps = 10 if backend == "numba-cuda" and SIMULATED else 15
    network, inputs = Network(dt=1.0), {}
    for item, (model, params, value, expected) in GOLDEN.items():
        layer = CLASSES[model](1, **params)
        network.add_layer(layer, f"G{item}")
        network.add_monitor(Monitor(layer, list(expected)), f"G{item}")
        inputs[f"G{item}"] = torch.full((steps, 1), value)
    originals = {name: value.clone() for name, value in inputs.items()}
    snnc.compile(network, backend=backend).run(inputs, time=steps)
    for item, (_, _, _, expected) in GOLDEN.items():
        monitor = network.monitors[f"G{item}"]
        assert_golden(item, {var: monitor.get(var) for var in expected}, steps)
    assert all(torch.equal(inputs[name], originals[name]) for name in inputs)   # Q1: not zeroed in place


# -- spec 3.9: Izhikevich's construction ----------------------------------------------------

@pytest.mark.parametrize("excitatory, count", [(0.8, 320), (0.3337, 133), (1.0, 400), (1.5, 400),
                                               (0.0, 0), (-0.5, 0)])
def test_izhikevich_construction(excitatory, count):
    """The first ``int(n·excitatory)`` neurons (fraction clipped to [0, 1]) are excitatory:
    a = 0.02, b = 0.2, c = -65 + 15 r², d = 8 - 6 r²; the others a = 0.02 + 0.08 r,
    b = 0.25 - 0.05 r, c = -65, d = 2; column k of S is 0.5·U[0, 1) or -U[0, 1)."""
    torch.manual_seed(0)
    layer = nodes.IzhikevichNodes(n=400, excitatory=excitatory)
    a, b, c, d, S = (getattr(layer, name) for name in ("a", "b", "c", "d", "S"))
    exc = layer.excitatory.bool()
    assert exc.tolist() == [True] * count + [False] * (400 - count)
    assert S.shape == (400, 400)
    f = torch.tensor
    if count:
        assert (a[exc] == f(0.02)).all() and (b[exc] == f(0.2)).all()
        r2 = (c[exc] + 65) / 15
        assert (r2 >= 0).all() and (r2 < 1).all() and abs(r2.mean() - 1 / 3) < 0.07
        assert torch.allclose((8 - d[exc]) / 6, r2, atol=1e-5)
        assert (S[:, exc] >= 0).all() and (S[:, exc] < 0.5).all() and abs(S[:, exc].mean() - 0.25) < 0.02
    if count < 400:
        inh = ~exc
        r = (a[inh] - 0.02) / 0.08
        assert (r >= -1e-6).all() and (r < 1).all() and abs(r.mean() - 0.5) < 0.1
        assert torch.allclose((0.25 - b[inh]) / 0.05, r, atol=1e-4)
        assert (c[inh] == -65).all() and (d[inh] == 2).all()
        assert (S[:, inh] <= 0).all() and (S[:, inh] > -1).all() and abs(S[:, inh].mean() + 0.5) < 0.02


def test_izhikevich_multi_dimensional_shape():
    layer = nodes.IzhikevichNodes(shape=[2, 3], excitatory=0.5)
    assert layer.excitatory.flatten().tolist() == [1, 1, 1, 0, 0, 0]
    assert all(getattr(layer, name).shape == (2, 3) for name in "abcd") and layer.S.shape == (6, 6)


def test_izhikevich_draws_are_reproducible():
    """The global generator after ``torch.manual_seed``, or a ``generator`` argument
    (which leaves the global generator alone)."""
    def draw(**kwargs):
        return izhikevich_parameters(nodes.IzhikevichNodes(n=50, excitatory=0.6, **kwargs))

    def same(p, q):
        return all(torch.equal(p[name], q[name]) for name in p)

    torch.manual_seed(3)
    first = draw()
    torch.manual_seed(3)
    assert same(first, draw())
    assert not same(first, draw())
    state = torch.get_rng_state()
    with_generator = draw(generator=torch.Generator().manual_seed(9))
    assert torch.equal(state, torch.get_rng_state())
    assert same(with_generator, draw(generator=torch.Generator().manual_seed(9)))
    assert not same(with_generator, draw(generator=torch.Generator().manual_seed(10)))


# -- spec 3.0 / 3.1: an additive trace adds trace_scale · s, s cast to float ----------------

@pytest.mark.parametrize("cls", [nodes.Input, PassThroughNodes])
def test_additive_trace_of_real_valued_spikes(cls):
    """x += trace_scale * s with s the real value (2.5 adds 2.5 trace_scale), on torch;
    the other backends render the same statement (tests/test_backends.py)."""
    network = Network()
    layer = cls(2, traces=True, traces_additive=True, trace_scale=0.5, tc_trace=10.0)
    network.add_layer(layer, "P")
    network.add_monitor(Monitor(layer, ["s", "x"]), "P")
    given = torch.tensor([[2.5, -1.0], [0.5, 0.0]])
    snnc.compile(network, backend="torch").run({"P": given}, time=2)
    reference = ReferenceNeurons("pass_through", dict(traces=True, traces_additive=True, trace_scale=0.5,
                                                      tc_trace=10.0), batch=1, dt=1.0, shape=(2,))
    for t in range(2):
        reference.step(given[t][None])
        assert torch.allclose(network.monitors["P"].get("x")[t], reference.x, atol=1e-6), (t, reference.x)
