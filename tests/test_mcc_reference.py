"""MulticompartmentConnection (spec 4.8, 4.9, 6.8) compiled by snnc, against the plain
reference in ``reference_mcc`` (which imports nothing from snnc), plus the golden
traces 16.17, 16.19 and 16.20 and the construction errors.

Every case is ``Input X (6) -> LIF/IF Y (4)`` through one MCC whose pipeline is plain
data (``[(feature class, kwargs), ...]``, rules by name); learning cases also drive
``Y`` directly so that it spikes on its own. Values are multiples of 1/4 (exact in
float16 and in any summation order). A case may run in several ``run`` calls (the
features' ``norm`` applies at the end of each). Checked: the target's spikes exactly
at every step, its ``v`` (and trace) to 1e-4, every feature's value after every run
to 1e-5 (float16 learning: 1e-2, the reference rounds once per step). ``build`` /
``simulate`` take the library as an argument, so the oracle tests
(``test_oracle_mcc.py``) run the same cases through BindsNET 0.3.4 (and check the
reference against it). A case that a compiled backend refuses with "use
backend='torch'" (pipelines snnc runs as an opaque torch step) is skipped there.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
import torch

from reference_mcc import Reference

N_SRC, N_TGT = 6, 4
LIF = dict(thresh=-60.0, rest=-65.0, reset=-65.0, refrac=2, tc_decay=20.0)
IF = dict(thresh=-62.0, reset=-65.0, refrac=1)
TRACES = dict(traces=True)
RULES = {"PostPre", "Hebbian", "DiehlAndCook", "MSTDP", "MSTDPET", "NoOp"}


def quarters(g: torch.Generator, low: float, high: float, shape=(N_SRC, N_TGT)) -> torch.Tensor:
    """Uniform multiples of 1/4 in [low, high]."""
    return low + 0.25 * torch.randint(0, int(4 * (high - low)) + 1, shape, generator=g).float()


@dataclass
class Case:
    pipeline: list                     # [(class name, kwargs)], learning_rule by name
    batch: int = 1
    target: str = "lif"
    runs: tuple = (12,)
    dt: float = 1.0
    drive: float = 0.0                 # external input to Y (density 0.2); 0: none
    run_kwargs: dict = field(default_factory=dict)
    source: dict = field(default_factory=lambda: dict(TRACES))
    seed: int = 0
    mcc: dict = field(default_factory=dict)      # MulticompartmentConnection keyword arguments
    atol: float = 1e-5                           # values (float16 learning: rounding order)

    @property
    def target_kwargs(self) -> dict:
        return {**(LIF if self.target == "lif" else IF), **TRACES}

    def inputs(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        g = torch.Generator().manual_seed(1000 + self.seed)
        steps = sum(self.runs)
        x = (torch.rand(steps, self.batch, N_SRC, generator=g) < 0.4).float()
        drive = None
        if self.drive:
            drive = self.drive * (torch.rand(steps, self.batch, N_TGT, generator=g) < 0.2).float()
        return x, drive


def _clone(value):
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    return value.clone() if isinstance(value, torch.Tensor) else value


def library(name: str) -> SimpleNamespace:
    """The classes a case needs, from ``snnc`` or ``bindsnet``."""
    if name == "snnc":
        import snnc.learning.MCC_learning as rules
        import snnc.network as network
        import snnc.network.topology_features as features
        from snnc.network.topology import MulticompartmentConnection
    else:
        import bindsnet.learning.MCC_learning as rules
        import bindsnet.network as network
        import bindsnet.network.topology_features as features
        from bindsnet.network.topology import MulticompartmentConnection
    return SimpleNamespace(name=name, Network=network.Network, nodes=network.nodes, features=features, rules=rules,
                           MCC=MulticompartmentConnection, Monitor=network.monitors.Monitor)


def make_feature(lib, cls: str, kwargs: dict):
    kwargs = _clone(kwargs)
    if isinstance(kwargs.get("learning_rule"), str):
        kwargs["learning_rule"] = getattr(lib.rules, kwargs["learning_rule"])
    name = kwargs.pop("name", cls.lower())
    return getattr(lib.features, cls)(name, **kwargs)


def build(lib, case: Case):
    net = lib.Network(dt=case.dt, batch_size=case.batch)
    X = lib.nodes.Input(N_SRC, **case.source)
    Y = (lib.nodes.LIFNodes if case.target == "lif" else lib.nodes.IFNodes)(N_TGT, **case.target_kwargs)
    net.add_layer(X, "X")
    net.add_layer(Y, "Y")
    pipeline = [make_feature(lib, cls, kwargs) for cls, kwargs in case.pipeline]
    connection = lib.MCC(X, Y, "cpu", pipeline=pipeline, **case.mcc)
    net.add_connection(connection, "X", "Y")
    net.add_monitor(lib.Monitor(Y, ["s", "v", "x"]), "Y")
    return net, connection


def dense_value(value: torch.Tensor) -> torch.Tensor:
    """A feature's value as a dense float32 ``[n_src, n_tgt]`` (a sparse value is tiled
    ``[batch_size, n_src, n_tgt]``; every slice must hold the same numbers)."""
    value = value.detach().clone()
    if value.layout != torch.strided:
        value = value.to_dense()
    value = value.float()
    if value.dim() == 3:
        assert all(torch.equal(value[0], v) for v in value), "the batch copies of a sparse value differ"
        value = value[0]
    return value.reshape(N_SRC, N_TGT) if value.numel() == N_SRC * N_TGT else value


def simulate(lib, case: Case, backend: str | None = None, between=None, learning: bool = True) -> dict:
    """Run the case in ``lib`` (snnc: compiled for ``backend``); the recordings and every
    feature's value after each run. ``between(features, network)`` runs after every run
    but the last; ``learning=False`` freezes the network (``train(False)``)."""
    net, connection = build(lib, case)
    net.train(learning)
    program = net
    if lib.name == "snnc":
        import snnc
        program = snnc.compile(net, backend=backend)
    x, drive = case.inputs()
    results, start = {}, 0
    for i, steps in enumerate(case.runs):
        inputs = {"X": x[start:start + steps].clone()}
        if drive is not None:
            inputs["Y"] = drive[start:start + steps].clone()
        program.run(inputs, time=steps * case.dt, **_clone(case.run_kwargs))
        start += steps
        for k, feature in enumerate(connection.pipeline):
            results[f"value{k}@{i}"] = dense_value(feature.value)
        if between is not None and i < len(case.runs) - 1:
            between(connection.pipeline, net)
    for var in ("s", "v", "x"):
        results[f"Y.{var}"] = net.monitors["Y"].get(var).float().clone()
    return results


def simulate_snnc(case: Case, backend: str) -> dict:
    """``simulate`` in snnc. A pipeline that snnc runs as an opaque torch step (e.g. a
    ``Probability`` feature, a fresh random draw every step, or a sparse value with one
    copy per sample) or that needs float16 arithmetic is refused by the compiled
    backends with an ``SnncError`` that says "use backend='torch'" (as any opaque op,
    docs/differences.md): then the test skips, naming the refusal."""
    from snnc.errors import SnncError
    try:
        return simulate(library("snnc"), case, backend)
    except SnncError as error:
        if backend != "torch" and "use backend='torch'" in str(error):
            pytest.skip(f"{backend} refuses this case: {error}")
        raise


def reference(case: Case, between=None) -> dict:
    ref = Reference(case.pipeline, N_SRC, N_TGT, case.batch, case.dt, source=case.source,
                    target=case.target_kwargs, target_kind=case.target)
    x, drive = case.inputs()
    results, start, records = {}, 0, []
    for i, steps in enumerate(case.runs):
        d = None if drive is None else drive[start:start + steps]
        records.append(ref.run(x[start:start + steps], d, **case.run_kwargs))
        start += steps
        for k, feature in enumerate(ref.features):
            results[f"value{k}@{i}"] = feature.value.float().clone()
        if between is not None and i < len(case.runs) - 1:
            between(ref.features, ref)
            if ref.monitors_emptied:          # a network reset empties the monitors too (2.6)
                records.clear()
                ref.monitors_emptied = False
    for var in ("s", "v", "x"):
        results[f"Y.{var}"] = torch.cat([r[var] for r in records]).float()
    return results


def compare(expected: dict, actual: dict, label: str, atol: float = 1e-5) -> None:
    """Spikes exactly (the first differing step named), v / x to 1e-4 (or ``atol`` if
    larger), values to ``atol``."""
    assert expected.keys() == actual.keys(), (label, sorted(expected), sorted(actual))
    for key in sorted(expected, key=lambda k: (not k.startswith("Y.s"), k)):
        e, a = expected[key], actual[key]
        assert a.shape == e.shape, f"{label} {key}: shape {tuple(a.shape)} != {tuple(e.shape)}"
        tol = 0.0 if key == "Y.s" else (max(1e-4, atol) if key.startswith("Y.") else atol)
        bad = ((a - e).abs() > tol) | torch.isnan(a)
        if bad.any():
            where = bad.nonzero()[0].tolist()
            raise AssertionError(f"{label} {key}: first difference at {where}: actual {a[tuple(where)].item()} vs "
                                 f"expected {e[tuple(where)].item()} ({int(bad.sum())} entries differ)")


# -- the cases ----------------------------------------------------------------------------

def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _cases() -> dict[str, Case]:
    g = _g(7)
    W = quarters(g, 0.0, 2.0)
    B = quarters(g, -0.25, 0.25)
    M = torch.rand(N_SRC, N_TGT, generator=g) < 0.6
    I = quarters(g, -0.5, 1.0)
    D = quarters(g, 0.0, 0.5)
    P = (torch.rand(N_SRC, N_TGT, generator=g) < 0.5).float()
    S = W * (torch.rand(N_SRC, N_TGT, generator=g) < 0.6)      # a sparse pattern
    cases = {
        "weight": Case([("Weight", dict(value=W))]),
        "weight-if": Case([("Weight", dict(value=W))], target="if"),
        "weight-b3": Case([("Weight", dict(value=W))], batch=3),
        "weight-dt-half": Case([("Weight", dict(value=W))], dt=0.5, runs=(10, 6)),
        "weight-bias": Case([("Weight", dict(value=W)), ("Bias", dict(value=B))]),
        "weight-bias-b3": Case([("Weight", dict(value=W)), ("Bias", dict(value=B))], batch=3),
        "bias-weight": Case([("Bias", dict(value=B)), ("Weight", dict(value=W))]),
        "mask-weight": Case([("Mask", dict(value=M)), ("Weight", dict(value=W))]),
        "intensity-weight": Case([("Intensity", dict(value=I)), ("Weight", dict(value=2 * W))]),
        "weight-degradation": Case([("Weight", dict(value=W)), ("Degradation", dict(value=D))]),
        "weight-degradation-function": Case([("Weight", dict(value=W)),
                                             ("Degradation", dict(value=D, degrade_function=lambda v: 0.5 * v))]),
        "probability-01-weight": Case([("Probability", dict(value=P)), ("Weight", dict(value=W))]),
        "weight-float16": Case([("Weight", dict(value=W, value_dtype=torch.float16))]),
        "weight-float16-string": Case([("Weight", dict(value=W, value_dtype="float16"))]),
        "weight-sparse": Case([("Weight", dict(value=S, sparse=True))]),
        "weight-sparse-b3": Case([("Weight", dict(value=S, sparse=True, batch_size=3))], batch=3),
        "weight-sparse-compute-b3": Case([("Weight", dict(value=W)), ("Bias", dict(value=B))], batch=3,
                                         mcc=dict(sparse_compute=True)),
        "weight-noop-decay": Case([("Weight", dict(value=W, learning_rule="NoOp", decay=0.5, range=[0.0, 2.0]))],
                                  drive=6.0),
        "weight-norm-time-step": Case([("Weight", dict(value=W, norm=3.0, norm_frequency="time step"))],
                                      runs=(6, 6)),
    }
    rule_cases = {
        "postpre": ("PostPre", dict(nu=(0.05, 0.1), range=[0.0, 2.5])),
        "postpre-default-nu-decay": ("PostPre", dict(range=[-0.5, 2.5], decay=0.01)),
        "hebbian": ("Hebbian", dict(nu=(0.02, 0.05), range=[0.0, 3.0])),
        "diehl-and-cook": ("DiehlAndCook", dict(nu=(0.0, 0.1), range=[0.0, 2.5])),
        "diehl-and-cook-x-tar-mu": ("DiehlAndCook", dict(nu=(0.0, 0.2), range=[0.0, 2.5], x_tar=0.3, mu=2.0)),
        "mstdp": ("MSTDP", dict(nu=(0.1, 0.0), range=[-1.0, 3.0])),
        "mstdpet": ("MSTDPET", dict(nu=(0.5, 0.0), range=[-1.0, 3.0], tc_e_trace=10.0)),
    }
    for name, (rule, kwargs) in rule_cases.items():
        reward = dict(reward=0.5) if rule.startswith("MSTDP") else {}
        for batch in (1, 3):
            if rule == "MSTDPET" and batch > 1:
                continue          # BindsNET's MCC MSTDPET is batch 1 only (Q33); see test_mcc_mstdpet_batch
            key = name if batch == 1 else f"{name}-b3"
            cases[key] = Case([("Weight", dict(value=W, learning_rule=rule, **kwargs))], batch=batch, drive=6.0,
                              runs=(10, 8), run_kwargs=dict(reward), seed=len(cases))
    cases["mstdp-a-plus-minus"] = Case([("Weight", dict(value=W, learning_rule="MSTDP", nu=(0.1, 0.0)))],
                                       drive=6.0, runs=(14,), seed=31,
                                       run_kwargs=dict(reward=1.5, a_plus=0.5, a_minus=-0.75))
    cases["postpre-norm"] = Case([("Weight", dict(value=W, learning_rule="PostPre", nu=(0.05, 0.1), norm=4.0))],
                                 drive=6.0, runs=(8, 8, 8), seed=32)
    cases["postpre-norm-time-step"] = Case(
        [("Weight", dict(value=W, learning_rule="PostPre", nu=(0.05, 0.1), norm=4.0, norm_frequency="time step"))],
        drive=6.0, runs=(8, 8), seed=33)
    cases["postpre-sparse"] = Case([("Weight", dict(value=S, sparse=True, learning_rule="PostPre",
                                                    nu=(0.05, 0.1), range=[0.0, 2.5]))], drive=6.0, runs=(10, 8))
    cases["postpre-dt-half-if"] = Case([("Weight", dict(value=W, learning_rule="PostPre", nu=(0.05, 0.1)))],
                                       target="if", dt=0.5, drive=4.0, runs=(12, 8), seed=34)
    cases["hebbian-mask-weight-bias"] = Case([("Mask", dict(value=M)),
                                              ("Weight", dict(value=W, learning_rule="Hebbian", nu=(0.02, 0.04),
                                                              range=[0.0, 3.0])),
                                              ("Bias", dict(value=B))], drive=6.0, runs=(10, 6), seed=35)
    # an offset folded through a learning Weight changes with it; two learning features
    cases["bias-weight-postpre"] = Case([("Bias", dict(value=B)),
                                         ("Weight", dict(value=W, learning_rule="PostPre", nu=(0.05, 0.1)))],
                                        drive=6.0, runs=(10, 8), seed=37)
    cases["degradation-weight-hebbian-b3"] = Case([("Degradation", dict(value=D)),
                                                   ("Weight", dict(value=W, learning_rule="Hebbian", nu=(0.02, 0.04),
                                                                   range=[0.0, 3.0]))],
                                                  batch=3, drive=6.0, runs=(10, 8), seed=38)
    cases["two-learning-weights"] = Case([("Weight", dict(name="w1", value=W, learning_rule="PostPre",
                                                          nu=(0.05, 0.1), range=[0.0, 2.5])),
                                          ("Weight", dict(name="w2", value=quarters(g, 0.5, 1.5),
                                                          learning_rule="Hebbian", nu=(0.01, 0.02), range=[0.0, 2.0]))],
                                         drive=6.0, runs=(10, 8), seed=39)
    cases["mstdpet-dt-half"] = Case([("Weight", dict(value=W, learning_rule="MSTDPET", nu=(0.5, 0.0)))],
                                    dt=0.5, drive=6.0, runs=(16,), run_kwargs=dict(reward=1.0), seed=41)
    cases["bias-only-b3"] = Case([("Bias", dict(value=quarters(g, 0.0, 0.5)))], batch=3)
    cases["postpre-bias-norm"] = Case([("Weight", dict(value=W, learning_rule="PostPre", nu=(0.05, 0.1), norm=4.0)),
                                       ("Bias", dict(value=quarters(g, 0.0, 0.5), norm=0.75))],
                                      drive=6.0, runs=(6, 6, 6), seed=42)
    # float16 learning: BindsNET updates in half precision, the reference in float32
    # rounded once per step (a few half ulps apart after 18 steps)
    for rule, kwargs in (("PostPre", dict(nu=(0.05, 0.1), range=[0.0, 2.5])),
                         ("DiehlAndCook", dict(nu=(0.0, 0.1), range=[0.0, 2.5])),
                         ("MSTDP", dict(nu=(0.1, 0.0)))):
        cases[f"{rule.lower()}-float16"] = Case(
            [("Weight", dict(value=W, value_dtype=torch.float16, learning_rule=rule, **kwargs))], drive=6.0,
            runs=(10, 8), run_kwargs=dict(reward=0.5) if rule == "MSTDP" else {}, seed=43, atol=1e-2)
    cases["postpre-intensity-degradation"] = Case(
        [("Weight", dict(value=2 * W, learning_rule="PostPre", nu=(0.05, 0.1))), ("Intensity", dict(value=I)),
         ("Degradation", dict(value=D, degrade_function=lambda v: v * v))], drive=6.0, runs=(10, 8), seed=45)
    cases["mask-postpre-norm-time-step-b3"] = Case(
        [("Mask", dict(value=M)), ("Weight", dict(value=W, learning_rule="PostPre", nu=(0.05, 0.1), norm=3.0,
                                                  norm_frequency="time step"))],
        batch=3, drive=6.0, runs=(8, 8), seed=46)
    # a callable batch reduction (4.9: accepted since 0.3.4): the unfused path
    for rule, kwargs in (("PostPre", dict(nu=(0.05, 0.1), range=[0.0, 2.5])),
                         ("Hebbian", dict(nu=(0.02, 0.05), range=[0.0, 3.0])),
                         ("MSTDP", dict(nu=(0.1, 0.0)))):
        cases[f"{rule.lower()}-mean-reduction-b3"] = Case(
            [("Weight", dict(value=W, learning_rule=rule, reduction=torch.mean, **kwargs))], batch=3, drive=6.0,
            runs=(10, 8), run_kwargs=dict(reward=0.5) if rule == "MSTDP" else {}, seed=44)
    cases["postpre-additive-source"] = Case([("Weight", dict(value=W, learning_rule="PostPre", nu=(0.05, 0.1)))],
                                            source=dict(traces=True, traces_additive=True), drive=6.0, seed=36)
    return cases


CASES = _cases()
BACKENDS = ["torch", "numba"]
# numba compiles every network for seconds: a representative subset runs in the default tier
NUMBA_FAST = {"weight-bias-b3", "mask-weight", "weight-sparse", "postpre-b3", "mstdp", "diehl-and-cook-x-tar-mu"}


def _params():
    out = []
    for name in CASES:
        for backend in BACKENDS:
            marks = [pytest.mark.slow] if backend == "numba" and name not in NUMBA_FAST else []
            out.append(pytest.param(name, backend, marks=marks, id=f"{name}-{backend}"))
    return out


def _nontrivial(name: str, expected: dict) -> None:
    """The case proves something: the target spikes but not always; rules move values."""
    rate = expected["Y.s"].mean()
    assert 0.0 < rate < 0.9, f"{name}: reference spike rate {rate}"
    case = CASES[name]
    if any(kwargs.get("learning_rule", "NoOp") != "NoOp" for _, kwargs in case.pipeline):
        last = len(case.runs) - 1
        initial = [kwargs["value"].float() for _, kwargs in case.pipeline]
        assert any(not torch.equal(expected[f"value{k}@{last}"], v) for k, v in enumerate(initial)), \
            f"{name}: the reference never learned"


@pytest.mark.parametrize("name, backend", _params())
def test_mcc_matches_reference(name, backend):
    """Spec 4.8/4.9/6.8: the fold (mul/add/sub, in pipeline order), every feature, the
    MCC rules (nu default [0.2, 0.1], range clamp, decay), norm (per run or per time
    step), float16 and sparse values, batch 1 and 3, dt 0.5, IF and LIF targets."""
    case = CASES[name]
    expected = reference(case)
    _nontrivial(name, expected)
    compare(expected, simulate_snnc(case, backend), f"{name}/{backend}", atol=case.atol)


def _halve_in_place(features, _):
    with torch.no_grad():
        features[-1].value.mul_(0.5)


def _halve_rebound(features, _):
    features[-1].value = features[-1].value.detach() * 0.5


EDITS = {"in-place": _halve_in_place, "rebound": _halve_rebound}


@pytest.mark.parametrize("pipeline, edit, backend", [
    (p, e, b) for p in ("weight", "mask-weight", "weight-bias-b3") for e in EDITS for b in BACKENDS
    if b == "torch" or p == "mask-weight"])
def test_value_edits_between_runs_are_seen(pipeline, edit, backend):
    """Q58: the fold may be cached within a run, but the end of a run drops the cache, so
    a value edited (in place or rebound) between two runs is used by the next run."""
    edit = EDITS[edit]
    case = dataclasses.replace(CASES[pipeline], runs=(8, 8))
    expected = reference(case, between=edit)
    actual = simulate(library("snnc"), case, backend, between=edit)
    compare(expected, actual, f"{pipeline}/{edit.__name__}/{backend}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("how", ["train-false", "manual-update"])
def test_no_update_without_learning_or_with_manual_update(backend, how):
    """4.8: ``update`` runs the features' rules only while learning and without
    ``manual_update``; the signal is unchanged (the reference without a rule)."""
    learning = CASES["postpre"]
    case = dataclasses.replace(learning, mcc=dict(manual_update=True)) if how == "manual-update" else learning
    frozen = dataclasses.replace(learning, pipeline=[("Weight", dict(value=learning.pipeline[0][1]["value"]))])
    actual = simulate(library("snnc"), case, backend, learning=how != "train-false")
    compare(reference(frozen), actual, f"{how}/{backend}")


def reset_network(_, network):
    network.reset_state_variables()


@pytest.mark.parametrize("name, backend", [(n, b) for n in ("mstdp-b3", "mstdpet", "postpre-b3")
                                           for b in BACKENDS if b == "torch" or n == "mstdp-b3"])
def test_reset_between_runs(name, backend):
    """2.6 / 6.8: ``network.reset_state_variables()`` resets the layers and the MCC
    rules' state (MSTDP's P+, P-, eligibility; MSTDPET's trace too) but not the values."""
    case = CASES[name]
    compare(reference(case, between=reset_network),
            simulate(library("snnc"), case, backend, between=reset_network), f"{name}/reset/{backend}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_sparse_values_learn_per_sample(backend):
    """Q57 fixed (docs/differences.md): a sparse value tiled for batch 3 gives each
    sample its own copy, which learns from that sample's spikes only, so the run equals
    three independent batch-1 runs."""
    S = CASES["postpre-sparse"].pipeline[0][1]["value"]
    kwargs = dict(value=S, sparse=True, learning_rule="PostPre", nu=(0.05, 0.1), range=[0.0, 2.5])
    case = Case([("Weight", dict(kwargs, batch_size=3))], batch=3, drive=6.0, runs=(10, 8), seed=47)
    net, connection = build(library("snnc"), case)
    import snnc
    from snnc.errors import SnncError
    x, drive = case.inputs()
    try:
        program = snnc.compile(net, backend=backend)
        program.run({"X": x[:10].clone(), "Y": drive[:10].clone()}, time=10)
    except SnncError as error:
        if backend == "torch" or "use backend='torch'" not in str(error):
            raise
        pytest.skip(f"{backend} refuses this case: {error}")
    program.run({"X": x[10:].clone(), "Y": drive[10:].clone()}, time=8)
    value = connection.pipeline[0].value.detach()
    value = (value.to_dense() if value.layout != torch.strided else value).float().reshape(3, N_SRC, N_TGT)
    spikes = net.monitors["Y"].get("s").float()
    for b in range(3):
        ref = Reference([("Weight", dict(kwargs))], N_SRC, N_TGT, 1, source=case.source, target=case.target_kwargs)
        first = ref.run(x[:10, b:b + 1], drive[:10, b:b + 1])["s"]
        expected = torch.cat([first, ref.run(x[10:, b:b + 1], drive[10:, b:b + 1])["s"]]).float()
        assert torch.equal(spikes[:, b:b + 1], expected), f"sample {b}: spikes differ"
        torch.testing.assert_close(value[b], ref.features[0].value, atol=1e-5, rtol=0,
                                   msg=lambda m: f"sample {b}: learned value: {m}")
    assert not torch.equal(value[0], value[1]), "the samples' copies did not learn separately"


def test_float16_value_keeps_its_dtype():
    """4.9: ``value_dtype`` casts the value; the string 'float16' (the guide's spelling,
    Q16: BindsNET needs a torch dtype) means the same."""
    lib = library("snnc")
    for dtype in (torch.float16, "float16"):
        net, connection = build(lib, Case([("Weight", dict(value=torch.full((N_SRC, N_TGT), 0.75),
                                                           value_dtype=dtype))]))
        assert connection.pipeline[0].value.dtype == torch.float16, dtype


def test_mcc_mstdpet_batch():
    """MCC MSTDPET at batch 3 (BindsNET flattens its spikes and fails, Q33): snnc's fix
    is the batch-aware dense rule (6.6): per-sample traces, the update summed."""
    W = quarters(_g(8), 0.0, 2.0)
    case = Case([("Weight", dict(value=W, learning_rule="MSTDPET", nu=(0.5, 0.0), range=[-1.0, 3.0]))],
                batch=3, drive=6.0, runs=(10, 8), run_kwargs=dict(reward=0.5), seed=40)
    expected = reference(case)
    assert 0 < expected["Y.s"].mean() < 0.9
    compare(expected, simulate(library("snnc"), case, "torch"), "mstdpet-b3/torch")


try:
    from hypothesis import given, settings, strategies as st
except ImportError:  # pragma: no cover
    given = None

if given is not None:
    FEATURES = ["Weight", "Bias", "Intensity", "Mask", "Degradation"]

    @settings(max_examples=8, deadline=None, derandomize=True)
    @given(order=st.lists(st.sampled_from(FEATURES), min_size=1, max_size=4, unique=True),
           seed=st.integers(0, 1000), batch=st.sampled_from([1, 2]))
    def test_any_pipeline_order_folds_like_the_reference(order, seed, batch):
        """4.8: any order of mul / add / sub features folds as the reference (torch backend)."""
        g = _g(seed)
        values = {"Weight": quarters(g, 0.0, 2.5), "Bias": quarters(g, -0.25, 0.5),
                  "Intensity": quarters(g, -0.5, 1.0), "Mask": torch.rand(N_SRC, N_TGT, generator=g) < 0.7,
                  "Degradation": quarters(g, -0.25, 0.25)}
        case = Case([(cls, dict(value=values[cls])) for cls in order], batch=batch, seed=seed)
        compare(reference(case), simulate(library("snnc"), case, "torch"), f"{order}/b{batch}")


# -- golden traces (section 16) ------------------------------------------------------------

def _golden_pair(lib, rule: str, dt: float = 1.0, traces: bool = True, **weight):
    """16.9's pair: Input(1) -> IF(thresh 0.5, reset 0, refrac 0), w0 = 1, through an MCC Weight."""
    net = lib.Network(dt=dt)
    X = lib.nodes.Input(1, traces=traces)
    Y = lib.nodes.IFNodes(1, traces=traces, thresh=0.5, reset=0.0, refrac=0)
    net.add_layer(X, "X")
    net.add_layer(Y, "Y")
    feature = lib.features.Weight("w", torch.tensor([[1.0]]), learning_rule=getattr(lib.rules, rule), **weight)
    net.add_connection(lib.MCC(X, Y, "cpu", pipeline=[feature]), "X", "Y")
    return net, feature


def golden_run(lib, backend, rule, spikes_at, steps, dt=1.0, traces=True, reset_after=None, run_kwargs=None,
               **weight):
    """One ``run(time=dt)`` per step (16.17); the value after each step, rounded to 5 places."""
    net, feature = _golden_pair(lib, rule, dt, traces, **weight)
    program = net
    if lib.name == "snnc":
        import snnc
        program = snnc.compile(net, backend=backend)
    out = []
    for t in range(steps):
        program.run({"X": torch.tensor([[1.0 if t in spikes_at else 0.0]])}, time=dt, **(run_kwargs or {}))
        out.append(round(dense_value(feature.value).item(), 5))
        if reset_after == t:
            net.reset_state_variables()
    return out


GOLDEN = {
    # 16.17
    "postpre-dt1": (dict(rule="PostPre", spikes_at=(0, 2), steps=4, nu=(0.1, 0.2)),
                    [1.0, 1.19025, 1.09512, 1.28537]),
    "postpre-dt0.5": (dict(rule="PostPre", spikes_at=(0, 2), steps=4, dt=0.5, nu=(0.1, 0.2)),
                      [1.0, 1.19506, 1.09753, 1.29259]),
    "hebbian-dt1": (dict(rule="Hebbian", spikes_at=(0, 2), steps=4, nu=(0.1, 0.2)),
                    [1.0, 1.19025, 1.28537, 1.47561]),
    # 16.19
    "diehl-and-cook": (dict(rule="DiehlAndCook", spikes_at=(0, 2), steps=4, nu=(0.0, 0.2), range=[0.0, 2.0]),
                       [1.0, 1.19025, 1.19025, 1.3443]),
    "diehl-and-cook-x-tar-mu": (dict(rule="DiehlAndCook", spikes_at=(0, 2), steps=4, nu=(0.0, 0.2),
                                     range=[0.0, 2.0], x_tar=0.4, mu=2.0),
                                [1.0, 1.11025, 1.11025, 1.19752]),
    # 16.20 (and 16.10 through an MCC)
    "mstdp": (dict(rule="MSTDP", spikes_at=(0, 3), steps=6, traces=False, nu=(0.1, 0.1),
                   run_kwargs=dict(reward=1.0)), [1.0, 1.0, 1.09512, 1.09512, 1.00464, 1.18164]),
    "mstdpet": (dict(rule="MSTDPET", spikes_at=(0, 3), steps=6, traces=False, nu=(0.1, 0.1),
                     run_kwargs=dict(reward=1.0)), [1.0, 1.0, 1.0038, 1.00746, 1.00735, 1.01433]),
    "mstdp-reset": (dict(rule="MSTDP", spikes_at=(0, 3), steps=6, traces=False, nu=(0.1, 0.1), reset_after=1,
                         run_kwargs=dict(reward=1.0)), [1.0, 1.0, 1.0, 1.0, 1.0, 1.09512]),
    "mstdpet-reset": (dict(rule="MSTDPET", spikes_at=(0, 3), steps=6, traces=False, nu=(0.1, 0.1), reset_after=1,
                           run_kwargs=dict(reward=1.0)), [1.0, 1.0, 1.0, 1.0, 1.0, 1.0038]),
}
GOLDEN_NUMBA = {"postpre-dt1", "mstdp-reset"}


@pytest.mark.parametrize("name, backend", [
    pytest.param(n, b, marks=[pytest.mark.slow] if b == "numba" and n not in GOLDEN_NUMBA else [])
    for n in GOLDEN for b in BACKENDS])
def test_golden_mcc_traces(name, backend):
    """Spec 16.17 (MCC PostPre without a dt factor, Hebbian), 16.19 (MCC DiehlAndCook),
    16.20 (MCC MSTDP / MSTDPET state reset by ``network.reset_state_variables()``)."""
    kwargs, expected = GOLDEN[name]
    assert golden_run(library("snnc"), backend, **kwargs) == expected


# -- errors --------------------------------------------------------------------------------

def _pair(lib, batch=1):
    net = lib.Network(batch_size=batch)
    X, Y = lib.nodes.Input(N_SRC), lib.nodes.LIFNodes(N_TGT)
    net.add_layer(X, "X")
    net.add_layer(Y, "Y")
    return net, X, Y


ERRORS = (ValueError, TypeError, AssertionError)   # SnncError is a ValueError


def test_value_outside_range_is_refused():
    """4.9: every value must lie inside ``range``."""
    lib = library("snnc")
    net, X, Y = _pair(lib)
    with pytest.raises(ERRORS) as info:
        feature = lib.features.Weight("too_big_w", torch.full((N_SRC, N_TGT), 2.0), range=[0.0, 1.0])
        lib.MCC(X, Y, "cpu", pipeline=[feature])
    message = str(info.value)
    assert "too_big_w" in message or "Weight" in message, message


def test_bare_float_nu_is_refused():
    """4.9 / Q23: ``nu`` must be None or a pair (a bare float is rejected)."""
    lib = library("snnc")
    net, X, Y = _pair(lib)
    with pytest.raises(ERRORS) as info:
        feature = lib.features.Weight("float_nu_w", torch.full((N_SRC, N_TGT), 0.5),
                                      learning_rule=lib.rules.PostPre, nu=0.1)
        lib.MCC(X, Y, "cpu", pipeline=[feature])
    message = str(info.value)
    assert "nu" in message and ("float_nu_w" in message or "Weight" in message), message


def test_sparse_batch_size_mismatch_is_a_clear_error():
    """Q57: a sparse feature tiled for batch 2 in a network running batch 3 is refused
    with an error naming the batch size (BindsNET: a shape error deep in compute)."""
    import snnc
    from snnc.errors import SnncError
    lib = library("snnc")
    net, X, Y = _pair(lib, batch=3)
    with pytest.raises(SnncError) as info:
        feature = lib.features.Weight("sparse_w", torch.full((N_SRC, N_TGT), 0.5), sparse=True, batch_size=2)
        net.add_connection(lib.MCC(X, Y, "cpu", pipeline=[feature]), "X", "Y")
        snnc.compile(net, backend="torch").run({"X": torch.zeros(3, 3, N_SRC)}, time=3)
    message = str(info.value)
    assert "batch" in message and ("sparse_w" in message or "Weight" in message
                                   or "MulticompartmentConnection" in message), message
