"""Differential tests of the neuron models of spec 3.2-3.10 and 3.12 on every backend,
against the plain simulator in ``reference_neurons`` (written from the spec alone).

Each model is an ``X (4,) -> Y (2, 3)`` pair (dense ``w``, one-step delay, external input
to ``Y``, batch 2; spec 2.4). To pay numba's JIT once per backend rather than once per
model, the pairs share one network per group: the ``X`` layer, with one ``Y`` layer per
model, each with its own weights and external input, so every layer's dynamics are its
pair's. Group "independent" holds models whose samples are independent (numba's
batch-outer loop nest), group "shared" those with a batch-shared ``theta`` (time-outer)
plus ``SRM0Nodes``, so two layers draw random numbers in insertion order. Per group and
backend one fixture makes a split run (two ``run`` calls), ``reset_state_variables``
and a third run; each model's test then compares its layer: spikes exactly, other
state to 1e-4 (Izhikevich: 1e-5·|v| + 1e-4). Weights and inputs are multiples of 1/4.
Golden traces of spec 16 (items 2-7) are checked on the reference and every backend.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch

import snnc
from reference_neurons import DEFAULTS, ReferenceNeurons, ReferencePair, random_shape
from snnc.conversion import PassThroughNodes, SubtractiveResetIFNodes
from snnc.network import Network
from snnc.network import nodes
from snnc.network.monitors import Monitor
from snnc.network.topology import Connection

BACKENDS = ["torch", "numba", "numba-cuda"]
BATCH, SHAPE, N = 2, (2, 3), 6
STEPS = {"torch": (120, 80, 60), "numba": (120, 80, 60), "numba-cuda": (12, 8, 10)}  # run 1, run 2, after reset
SEEDS = (11, 12, 13)
CLASSES = {"mcculloch_pitts": nodes.McCullochPitts, "if": nodes.IFNodes, "lif": nodes.LIFNodes,
           "boosted_lif": nodes.BoostedLIFNodes, "current_lif": nodes.CurrentLIFNodes,
           "adaptive_lif": nodes.AdaptiveLIFNodes, "diehl_and_cook": nodes.DiehlAndCookNodes,
           "izhikevich": nodes.IzhikevichNodes, "srm0": nodes.SRM0Nodes,
           "subtractive_if": SubtractiveResetIFNodes, "pass_through": PassThroughNodes}


@dataclass
class Case:
    model: str
    group: str
    params: dict = field(default_factory=dict)
    w: tuple[float, float] = (0.0, 3.0)            # range of the quarter-valued weights
    ext: tuple[float, float] = (0.0, 1.0)          # range of the quarter-valued external input
    clamp: bool = False                            # random per-step clamp / unclamp masks


T23 = torch.tensor([[-58.0, -56.0, -60.0], [-57.0, -59.0, -55.0]])
CASES = {
    "mcculloch_pitts": Case("mcculloch_pitts", "independent",
                            dict(thresh=torch.tensor([0.5, 1.0, 1.75]), traces=True, tc_trace=5.0),
                            w=(0.0, 1.0), ext=(-0.5, 0.5)),
    "if": Case("if", "independent", dict(thresh=-60.0, refrac=2.0, lbound=-67.0, traces=True,
                                         traces_additive=True), w=(0.0, 2.0), ext=(-1.5, 1.0)),
    "lif": Case("lif", "independent", dict(thresh=T23, refrac=3.0, tc_decay=20.0, lbound=-70.0, traces=True,
                                           tc_trace=10.0, trace_scale=0.5, sum_input=True),
                w=(0.0, 4.0), ext=(-1.0, 2.0), clamp=True),
    "boosted_lif": Case("boosted_lif", "independent", dict(thresh=6.0, refrac=2.0, tc_decay=10.0, traces=True,
                                                           traces_additive=True, sum_input=True),
                        w=(0.0, 3.0), ext=(0.0, 1.0)),
    "current_lif": Case("current_lif", "independent",
                        dict(thresh=torch.tensor([-58.0, -56.0, -60.0]), refrac=3.0, tc_i_decay=3.0,
                             lbound=-70.0, sum_input=True, traces=True),
                        w=(0.0, 1.5), ext=(-0.5, 0.5)),
    "izhikevich": Case("izhikevich", "independent", dict(excitatory=0.5, lbound=-75.0, traces=True,
                                                         traces_additive=True, sum_input=True),
                       w=(0.0, 10.0), ext=(1.0, 8.0)),
    "subtractive_if": Case("subtractive_if", "independent",
                           dict(thresh=2.0, reset=0.0, refrac=1.0, lbound=-1.0, traces=True),
                           w=(0.0, 1.0), ext=(-0.5, 0.5)),
    "pass_through": Case("pass_through", "independent", dict(traces=True, sum_input=True),
                         w=(-1.0, 1.0), ext=(-1.0, 1.0), clamp=True),
    "adaptive_lif": Case("adaptive_lif", "shared", dict(thresh=T23, theta_plus=0.5, tc_theta_decay=50.0,
                                                        refrac=2.0, tc_decay=30.0, traces=True,
                                                        traces_additive=True, trace_scale=2.0),
                         w=(0.0, 4.0), ext=(0.0, 1.5)),
    "srm0": Case("srm0", "shared", dict(refrac=2.0, lbound=-75.0, traces=True), w=(0.0, 6.0), ext=(-1.0, 2.0)),
    "diehl_and_cook": Case("diehl_and_cook", "shared",
                           dict(one_spike=False, thresh=torch.tensor([-56.0, -55.0, -57.0]), theta_plus=1.0,
                                tc_theta_decay=40.0, refrac=3.0, lbound=-68.0, traces=True),
                           w=(0.0, 4.0), ext=(-0.5, 1.5)),
    "diehl_and_cook_one_spike": Case("diehl_and_cook", "shared",
                                     dict(one_spike=True, thresh=-58.0, theta_plus=0.25, tc_theta_decay=40.0,
                                          refrac=1.0, traces=True, traces_additive=True),
                                     w=(0.0, 6.0), ext=(0.0, 2.0)),
}
GROUPS = {g: [name for name, case in CASES.items() if case.group == g] for g in ("independent", "shared")}


def quarters(gen, shape, low, high) -> torch.Tensor:
    return low + 0.25 * torch.randint(0, int(4 * (high - low)) + 1, shape, generator=gen).float()


def case_data(name: str, steps: int) -> dict:
    """Seeded ``w`` [4, 6], external input [T, B, 2, 3], clamp/unclamp masks [T, 2, 3]."""
    case = CASES[name]
    gen = torch.Generator().manual_seed(list(CASES).index(name) + 100)
    data = {"w": quarters(gen, (4, N), *case.w), "ext": quarters(gen, (steps, BATCH, *SHAPE), *case.ext)}
    if case.clamp:
        data["clamp"] = torch.rand(steps, *SHAPE, generator=gen) < 0.1
        data["unclamp"] = torch.rand(steps, *SHAPE, generator=gen) < 0.1
    return data


def x_raster(steps: int) -> torch.Tensor:
    return (torch.rand(steps, BATCH, 4, generator=torch.Generator().manual_seed(7)) < 0.3).float()


def izhikevich_layer(params: dict) -> nodes.IzhikevichNodes:
    return nodes.IzhikevichNodes(shape=list(SHAPE), generator=torch.Generator().manual_seed(5), **params)


def izhikevich_parameters(layer) -> dict:
    return {name: getattr(layer, name).clone() for name in ("a", "b", "c", "d", "S")}


# -- snnc side: one network per group and backend, run in three calls -----------------------

def snnc_group(group: str, backend: str, dt: float) -> dict:
    """Runs the group's network: run 1 + run 2 (continuing), reset, run 3. Returns the
    recordings, the state right after the reset, the uniforms and parameters per layer."""
    t1, t2, t3 = STEPS[backend]
    names, total = GROUPS[group], t1 + t2
    data = {name: case_data(name, total) for name in names}
    x = x_raster(total)
    network = Network(dt=dt, batch_size=BATCH)
    X = nodes.Input(shape=[4])
    network.add_layer(X, "X")
    network.add_monitor(Monitor(X, ["s"]), "X")
    izhikevich = {}
    for name in names:
        case = CASES[name]
        if case.model == "izhikevich":
            layer = izhikevich_layer(case.params)
            izhikevich[name] = izhikevich_parameters(layer)
        else:
            layer = CLASSES[case.model](shape=list(SHAPE), **case.params)
        network.add_layer(layer, name)
        network.add_connection(Connection(X, layer, w=data[name]["w"].clone()), "X", name)
        network.add_monitor(Monitor(layer, list(layer.ir_state())), name)
    program = snnc.compile(network, backend=backend)
    modified, recordings = [], {}

    def run(start: int, stop: int, seed: int) -> None:
        inputs = {"X": x[start:stop], **{name: data[name]["ext"][start:stop] for name in names}}
        masks = {kind: {name: data[name][kind][start:stop] for name in names if kind in data[name]}
                 for kind in ("clamp", "unclamp")}
        originals = {key: value.clone() for key, value in inputs.items()}
        torch.manual_seed(seed)
        program.run(inputs, time=(stop - start) * dt, **masks)
        modified.extend(key for key in inputs if not torch.equal(inputs[key], originals[key]))

    def collect() -> dict:
        return {(name, var): monitor.get(var).clone() for name, monitor in network.monitors.items()
                for var in monitor.state_vars}

    run(0, t1, SEEDS[0])
    run(t1, total, SEEDS[1])
    recordings["split"] = collect()
    network.reset_state_variables()
    after_reset = {(name, var): getattr(network.layers[name], var).clone()
                   for name in names for var in network.layers[name].ir_state()}
    run(0, t3, SEEDS[2])
    recordings["after_reset"] = collect()
    uniforms = {}                                  # the contract: per layer, insertion order
    for seed, (steps, part) in zip(SEEDS, ((t1, 0), (t2, 1), (t3, 2))):
        torch.manual_seed(seed)
        for name in names:
            shape = random_shape(CASES[name].model, CASES[name].params, steps, BATCH, N)
            if shape is not None:
                uniforms[name, part] = torch.rand(shape)
    return dict(recordings=recordings, after_reset=after_reset, uniforms=uniforms, modified=modified,
                x=x, data=data, izhikevich=izhikevich, steps=(t1, t2, t3), dt=dt)


RUNS = [(group, backend, dt) for group in GROUPS for backend in BACKENDS for dt in (1.0, 0.5)
        if backend != "numba-cuda" or dt == 1.0]


@pytest.fixture(scope="module")
def group_run(request):
    """One group's network on one backend (indirectly parametrized; shared by its models)."""
    return snnc_group(*request.param)


# -- the reference side -----------------------------------------------------------------

def reference_group_case(name: str, result: dict) -> dict:
    """The reference for one model of a group run: split run as one run, reset, run 3."""
    case, (t1, t2, t3) = CASES[name], result["steps"]
    data, x, total = result["data"][name], result["x"], t1 + t2
    pair = ReferencePair(case.model, case.params, data["w"], BATCH, result["dt"], SHAPE,
                         result["izhikevich"].get(name))
    parts = [result["uniforms"].get((name, k)) for k in range(3)]
    joined = None if parts[0] is None else torch.cat(parts[:2])
    masks = {kind: data.get(kind) for kind in ("clamp", "unclamp")}
    split = pair.run(x, data["ext"], joined, **masks)
    pair.reset_state()
    after_reset = pair.y.state()
    rest = pair.run(x[:t3], data["ext"][:t3], parts[2], **{k: None if m is None else m[:t3] for k, m in masks.items()})
    return dict(split=split, after_reset=after_reset, after_reset_run=rest)


def assert_close_trace(name: str, var: str, actual: torch.Tensor, expected: torch.Tensor, relative: bool) -> None:
    where = f"{name}.{var}"
    assert actual.shape == expected.shape, (where, tuple(actual.shape), tuple(expected.shape))
    steps = len(actual)
    if var == "s" and expected.dtype == torch.bool:
        bad = (actual.float() != expected.float()).reshape(steps, -1).any(1)
        assert not bad.any(), f"{where}: first difference at step {int(bad.nonzero()[0])}"
        return
    tolerance = 1e-4 + (1e-5 * expected.abs() if relative else 0.0)
    bad = ((actual.float() - expected).abs() > tolerance).reshape(steps, -1).any(1)
    assert not bad.any(), (f"{where}: first difference at step {int(bad.nonzero()[0])}: "
                           f"{actual[bad][0].flatten().tolist()} != {expected[bad][0].flatten().tolist()}")


def assert_active(name: str, s: torch.Tensor) -> None:
    """A comparison of silent (or saturated) layers proves nothing."""
    if CASES[name].model == "pass_through":
        assert s.flatten().unique().numel() > 3, f"{name}: input barely varies"
        return
    rate = s.float().mean().item()
    assert s.any() and 0.0 < rate < 0.6, f"{name}: spike rate {rate:.3f}"


MODEL_RUNS = [pytest.param(run, name, id=f"{name}-{run[1]}-dt{run[2]}")
              for run in RUNS for name in GROUPS[run[0]]]


@pytest.mark.parametrize("group_run, name", MODEL_RUNS, indirect=["group_run"])
def test_model_matches_reference(group_run, name):
    expected = reference_group_case(name, group_run)
    relative = CASES[name].model == "izhikevich"
    for part, reference in (("split", expected["split"]), ("after_reset", expected["after_reset_run"])):
        actual = group_run["recordings"][part]
        assert_active(name, reference["s"])
        assert torch.equal(actual[("X", "s")], reference["X.s"]), f"X.s ({part})"
        for var, value in reference.items():
            if var != "X.s":
                assert_close_trace(f"{name} ({part})", var, actual[(name, var)], value, relative)
    for var, value in expected["after_reset"].items():       # state right after the reset (2.6)
        actual = group_run["after_reset"][(name, var)]
        assert actual.shape == value.shape and torch.allclose(actual.float(), value.float(), atol=1e-4), \
            f"{name}.{var} after reset_state_variables: {actual.flatten().tolist()} != {value.flatten().tolist()}"
    assert not group_run["modified"], f"caller's inputs modified: {group_run['modified']}"
