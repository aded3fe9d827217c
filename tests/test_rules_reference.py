"""Differential tests of the learning rules (spec 6.0-6.7) against the plain reference in
``reference_rules``, on every backend, for ``Connection`` and ``Conv2dConnection``.

Each case builds a two-layer snnc network (Input -> LIF, or Input -> SRM0 for Rmax) with
one learning connection, records the spikes ``s`` and traces ``x`` of both layers (and
SRM0's ``s_prob``) and the connection's ``w`` every step, runs it, and replays the
recorded spikes and traces through the reference rule from the initial weights: every
step's monitored ``w`` and the final ``connection.w`` must match, and so must the
reward-modulated rules' state (``p_plus``, ``p_minus``, ``eligibility``,
``eligibility_trace``). The recordings themselves are checked first (the Input layer
records its input, traces follow spec 3.0) and every case must spike and learn, so no
comparison is vacuous. Other backends must also give the torch backend's spikes
exactly and its weights within tolerance.

The torch backend runs every case; numba and the CUDA simulator run every case too but
are marked slow (each compile or simulated run takes seconds), except a PostPre / NoOp
smoke subset.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import pytest
import torch

import snnc
import snnc.learning
from reference_rules import (REWARD_RULES, STATE_NAMES, Geometry, ReferenceRule, Synapses, replay,
                             traces)
from snnc.network import Network
from snnc.network.monitors import Monitor
from snnc.network.nodes import Input, LIFNodes, SRM0Nodes
from snnc.network.topology import Connection, Conv2dConnection

BACKENDS = ["torch", "numba", "numba-cuda"]
RTOL_W = 1e-5           # weights: atol = RTOL_W * max(1, max |w|)
TRACE_ATOL = 1e-5

CLASS_NAMES = {"noop": "NoOp", "post_pre": "PostPre", "weight_dependent_post_pre": "WeightDependentPostPre",
               "hebbian": "Hebbian", "diehl_and_cook": "DiehlAndCook", "mstdp": "MSTDP",
               "mstdpet": "MSTDPET", "rmax": "Rmax"}

# (source shape, target shape, geometry or None); TINY for the CUDA simulator
SHAPES = {
    "dense": ((6,), (4,), None),
    "conv": ((2, 5, 5), (2, 3, 3), Geometry((3, 3), (2, 2), (1, 1))),
    "conv_dilated": ((2, 4, 5), (2, 4, 2), Geometry((2, 2), (1, 2), (1, 0), (2, 1))),
    "conv_valid": ((2, 5, 5), (2, 2, 2), Geometry((3, 3), (2, 2))),
}
TINY = {
    "dense": ((5,), (4,), None),
    "conv": ((2, 3, 3), (2, 2, 2), Geometry((2, 2), (2, 2), (1, 1))),
    "conv_dilated": ((2, 3, 4), (2, 3, 2), Geometry((2, 2), (1, 2), (1, 0), (2, 1))),
    "conv_valid": ((2, 3, 3), (2, 2, 2), Geometry((2, 2))),
}
STEPS, TINY_STEPS = 30, 12
REWARDS = ([1.0, -0.5, 2.0], [-0.7, 1.5, 0.25], [0.5, 0.5, -1.0])   # per run call; per sample


@dataclass
class Case:
    """One learning connection. ``nu``/``bounds`` may be ``"per_synapse"`` (tensors shaped
    like ``w``); ``reward``: None, ``"scalar"`` (a float), ``"tensor"`` (a 0-d tensor) or
    ``"per_sample"`` (a ``[B]`` tensor)."""
    id: str
    rule: str
    conn: str = "dense"
    batch: int = 1
    nu: object = (0.05, 0.1)
    mean: bool = False                       # reduction=torch.mean (else the default)
    weight_decay: float = 0.0
    bounds: object = None                    # None, (wmin, wmax) or "per_synapse"
    kwargs: dict = field(default_factory=dict)
    reward: str | None = None
    a_pm: tuple[float, float] | None = None  # run kwargs a_plus, a_minus
    a_pm_by_connection: bool = False         # ... given as {("X", "Y"): value} (spec 2.3 item 7)
    dt: float = 1.0
    pre_traces: bool = True
    post_traces: bool = True
    additive: bool = False                   # the source's trace
    w_range: tuple[float, float] = (0.5, 7.0)
    expect: str | None = None                # "clamp": some weight reaches a bound; "below_wmin"


def _reward_case(id, rule, **kw) -> Case:
    kw.setdefault("reward", "scalar")
    kw.setdefault("nu", 0.004)
    return Case(id, rule, pre_traces=False, post_traces=False, **kw)


CASES = [
    # NoOp: decay only, never clamped (weights fall below wmin)
    Case("dense-noop-b1", "noop", nu=None, weight_decay=0.05, bounds=(1.0, 9.0), w_range=(1.0, 7.0),
         pre_traces=False, post_traces=False, expect="below_wmin"),
    Case("dense-noop-b3", "noop", batch=3, nu=None, weight_decay=0.05, bounds=(1.0, 9.0),
         w_range=(1.0, 7.0), expect="below_wmin"),
    Case("conv-noop-b1", "noop", conn="conv", nu=None, weight_decay=0.05, bounds=(0.5, 9.0),
         w_range=(0.5, 4.0), pre_traces=False, post_traces=False, expect="below_wmin"),
    Case("conv-noop-b3", "noop", conn="conv", batch=3, nu=None, weight_decay=0.05, bounds=(0.5, 9.0),
         w_range=(0.5, 4.0), expect="below_wmin"),
    # PostPre
    Case("dense-post_pre-b1", "post_pre"),
    Case("dense-post_pre-b3", "post_pre", batch=3),
    Case("dense-post_pre-number-mean-b3", "post_pre", batch=3, nu=0.08, mean=True),
    Case("dense-post_pre-clamp-decay-b3", "post_pre", batch=3, nu=(0.2, 0.3), weight_decay=0.01,
         bounds="per_synapse", expect="clamp"),
    Case("dense-post_pre-scalar-bounds-b1", "post_pre", nu=(0.3, 0.3), bounds=(0.5, 6.0),
         w_range=(0.5, 6.0), expect="clamp"),
    Case("conv-post_pre-b1", "post_pre", conn="conv", nu=(0.02, 0.04), w_range=(0.5, 4.0)),
    Case("conv-post_pre-b3", "post_pre", conn="conv", batch=3, nu=(0.02, 0.04), w_range=(0.5, 4.0),
         bounds=(0.0, 4.5), weight_decay=0.005),
    Case("conv-post_pre-mean-b3", "post_pre", conn="conv", batch=3, nu=0.03, mean=True,
         w_range=(0.5, 4.0), bounds="per_synapse", expect="clamp"),
    Case("conv_dilated-post_pre-b3", "post_pre", conn="conv_dilated", batch=3, nu=(0.02, 0.04),
         w_range=(1.0, 5.0)),
    # Hebbian (per-synapse nu works here, spec 6.4)
    Case("dense-hebbian-b1", "hebbian", nu=(0.02, 0.05), bounds=(0.0, 8.0)),
    Case("dense-hebbian-b3", "hebbian", batch=3, nu=(0.02, 0.05), bounds=(0.0, 8.0), weight_decay=0.01),
    Case("dense-hebbian-per_synapse_nu-mean-b3", "hebbian", batch=3, nu="per_synapse", mean=True,
         bounds="per_synapse", expect="clamp"),
    Case("conv-hebbian-b1", "hebbian", conn="conv", nu=0.01, w_range=(0.5, 4.0), weight_decay=0.01),
    Case("conv-hebbian-b3", "hebbian", conn="conv", batch=3, nu=(0.01, 0.02), w_range=(0.5, 4.0),
         bounds=(0.0, 4.5)),
    # WeightDependentPostPre (finite bounds)
    Case("dense-wdpp-b1", "weight_dependent_post_pre", nu=(0.1, 0.2), bounds=(0.0, 8.0)),
    Case("dense-wdpp-b3", "weight_dependent_post_pre", batch=3, nu=(0.1, 0.2), bounds=(-1.0, 8.0)),
    Case("dense-wdpp-per_synapse-mean-b3", "weight_dependent_post_pre", batch=3, nu="per_synapse",
         mean=True, bounds="per_synapse", weight_decay=0.01),
    Case("conv-wdpp-b1", "weight_dependent_post_pre", conn="conv", nu=(0.05, 0.1), w_range=(0.5, 4.0),
         bounds=(0.0, 4.5)),
    Case("conv-wdpp-b3", "weight_dependent_post_pre", conn="conv", batch=3, nu=(0.05, 0.1),
         w_range=(0.5, 4.0), bounds="per_synapse"),
    # DiehlAndCook (only nu[1]; target traces are not needed)
    Case("dense-dc-b1", "diehl_and_cook", nu=(0.0, 0.1), bounds=(0.0, 8.0), post_traces=False),
    Case("dense-dc-xtar-mu2-b3", "diehl_and_cook", batch=3, nu=(5.0, 0.02), bounds=(0.0, 8.0),
         kwargs={"x_tar": 0.3, "mu": 2.0}, additive=True, post_traces=False),
    Case("dense-dc-number-mu05-mean-b3", "diehl_and_cook", batch=3, nu=0.1, mean=True, bounds=(0.0, 8.0),
         kwargs={"x_tar": 0.2, "mu": 0.5}),
    Case("dense-dc-per_synapse-b3", "diehl_and_cook", batch=3, nu="per_synapse", bounds="per_synapse",
         kwargs={"x_tar": 0.1}, post_traces=False),
    # (BindsNET has no convolution DiehlAndCook: snnc's is the per-synapse rule)
    Case("conv-dc-b1", "diehl_and_cook", conn="conv", nu=(0.0, 0.02), w_range=(0.5, 4.0),
         bounds=(0.0, 4.5)),
    Case("conv-dc-b3", "diehl_and_cook", conn="conv_valid", batch=3, nu=(0.0, 0.02), w_range=(0.5, 4.0),
         bounds=(0.0, 4.5), kwargs={"x_tar": 0.2, "mu": 2.0}, post_traces=False),
    # (with padding and x_tar != 0 snnc refuses: see test_padded_diehl_and_cook_with_x_tar_is_refused)
    # MSTDP (only nu[0]; no traces needed)
    _reward_case("dense-mstdp-b1", "mstdp", nu=(0.004, 3.0)),
    _reward_case("dense-mstdp-b3", "mstdp", batch=3, reward="tensor", kwargs={"tc_plus": 10.0, "tc_minus": 25.0}),
    _reward_case("dense-mstdp-zero_lag-per_sample-b3", "mstdp", batch=3, reward="per_sample",
                 kwargs={"zero_lag": True}, a_pm=(0.8, -1.3)),
    _reward_case("dense-mstdp-per_sample-mean-b3", "mstdp", batch=3, reward="per_sample", mean=True,
                 a_pm=(1.5, -0.5), a_pm_by_connection=True),
    _reward_case("dense-mstdp-per_synapse-clamp-b3", "mstdp", batch=3, nu="per_synapse",
                 bounds="per_synapse", dt=0.5, weight_decay=0.01, expect="clamp"),
    _reward_case("conv-mstdp-b1", "mstdp", conn="conv", nu=0.002, w_range=(0.5, 4.0),
                 kwargs={"tc_plus": 12.0}),
    _reward_case("conv-mstdp-zero_lag-b3", "mstdp", conn="conv", batch=3, nu=0.002, w_range=(0.5, 4.0),
                 kwargs={"zero_lag": True}),
    _reward_case("conv-mstdp-per_sample-b3", "mstdp", conn="conv", batch=3, nu=0.002, w_range=(0.5, 4.0),
                 reward="per_sample", a_pm=(0.7, -1.2)),
    _reward_case("conv_dilated-mstdp-per_sample-b3", "mstdp", conn="conv_dilated", batch=3, nu=0.002,
                 w_range=(1.0, 5.0), reward="per_sample", kwargs={"zero_lag": True}),
    # MSTDPET (dt factor)
    _reward_case("dense-mstdpet-b1", "mstdpet", nu=(0.05, 2.0), dt=0.5),
    _reward_case("dense-mstdpet-zero_lag-b3", "mstdpet", batch=3, nu=0.05,
                 kwargs={"zero_lag": True, "tc_e_trace": 15.0, "tc_plus": 12.0}),
    _reward_case("dense-mstdpet-per_sample-mean-b3", "mstdpet", batch=3, nu=0.05, reward="per_sample",
                 mean=True, a_pm=(1.2, -0.8), dt=0.5),
    _reward_case("dense-mstdpet-per_synapse-b1", "mstdpet", nu="per_synapse", reward="per_sample",
                 kwargs={"tc_minus": 30.0}),
    _reward_case("conv-mstdpet-b1", "mstdpet", conn="conv", nu=0.02, w_range=(0.5, 4.0), dt=0.5),
    _reward_case("conv-mstdpet-per_sample-zero_lag-b3", "mstdpet", conn="conv", batch=3, nu=0.02,
                 w_range=(0.5, 4.0), reward="per_sample", kwargs={"zero_lag": True, "tc_e_trace": 10.0}),
    # Rmax (SRM0 target, additive source trace)
    Case("dense-rmax-b1", "rmax", nu=0.01, reward="scalar", additive=True, post_traces=False,
         w_range=(0.0, 1.2)),
    Case("dense-rmax-b3", "rmax", batch=3, nu=(0.005, 4.0), reward="scalar", additive=True,
         post_traces=False, w_range=(0.0, 1.2), kwargs={"tc_c": 0.0, "tc_e_trace": 15.0}, dt=0.5),
    Case("dense-rmax-decay-clamp-b3", "rmax", batch=3, nu=0.05, reward="scalar", additive=True,
         post_traces=False, w_range=(0.0, 1.0), kwargs={"tc_c": 20.0}, bounds=(-0.2, 1.0),
         weight_decay=0.01, expect="clamp"),
]
CASE_IDS = [case.id for case in CASES]
assert len(set(CASE_IDS)) == len(CASE_IDS)
BY_ID = dict(zip(CASE_IDS, CASES))

# run on numba and in the CUDA simulator in the fast tier; every other pair is slow
FAST_OTHER = {("dense-post_pre-b3", "numba"), ("dense-noop-b3", "numba"),
              ("dense-post_pre-b3", "numba-cuda")}


def backend_params(ids, fast=()):
    return [pytest.param(backend, case_id, id=f"{backend}-{case_id}",
                         marks=() if backend == "torch" or (case_id, backend) in fast else pytest.mark.slow)
            for backend in BACKENDS for case_id in ids]


# -- building and running ----------------------------------------------------------------

def _copy(value):
    """A fresh copy of a tensor, or of a tuple of tensors (snnc must not keep the caller's)."""
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return value


def _uniform(gen, shape, low, high) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=gen)


class Harness:
    """One case on one backend: the snnc network and program, its reference, and the
    reference's weights (continued across run calls)."""

    def __init__(self, case: Case, backend: str, tiny: bool | None = None) -> None:
        self.case, self.backend = case, backend
        self.tiny = backend == "numba-cuda" if tiny is None else tiny
        source_shape, target_shape, geometry = (TINY if self.tiny else SHAPES)[case.conn]
        self.steps = TINY_STEPS if self.tiny else STEPS
        self.seed = zlib.crc32(case.id.encode())
        gen = torch.Generator().manual_seed(self.seed)
        self.synapses = Synapses(source_shape, target_shape, geometry)
        w_shape = self.synapses.w_shape
        self.w0 = _uniform(gen, w_shape, *case.w_range)

        if case.bounds == "per_synapse":
            wmin = self.w0 - _uniform(gen, w_shape, 0.0, 0.6)
            wmax = self.w0 + _uniform(gen, w_shape, 0.05, 0.6)
        elif case.bounds is None:
            wmin = wmax = None
        else:
            wmin, wmax = case.bounds
        self.wmin, self.wmax = wmin, wmax
        if case.nu == "per_synapse":
            scale = {"mstdp": 0.004, "mstdpet": 0.05, "rmax": 0.01}.get(case.rule, 0.1)
            nu = (_uniform(gen, w_shape, 0.0, scale), _uniform(gen, w_shape, 0.0, 2 * scale))
        else:
            nu = case.nu
        self.inputs = [(torch.rand(self.steps, case.batch, *source_shape, generator=gen) < 0.4).float()
                       for _ in range(3)]

        network = Network(dt=case.dt, batch_size=case.batch)
        self.pre_params = dict(tc_trace=20.0, trace_scale=1.0, additive=case.additive)
        X = Input(shape=list(source_shape), traces=case.pre_traces, traces_additive=case.additive)
        if case.rule == "rmax":
            Y = SRM0Nodes(shape=list(target_shape), thresh=-58.0, traces=case.post_traces)
        else:
            Y = LIFNodes(shape=list(target_shape), thresh=-58.0, refrac=2, tc_decay=20.0,
                         traces=case.post_traces, tc_trace=15.0, trace_scale=0.8)
        self.post_params = dict(tc_trace=15.0, trace_scale=0.8, additive=False)
        network.add_layer(X, "X")
        network.add_layer(Y, "Y")
        kwargs = dict(w=self.w0.clone(), update_rule=getattr(snnc.learning, CLASS_NAMES[case.rule]),
                      **case.kwargs)
        for name, value in (("nu", nu), ("wmin", wmin), ("wmax", wmax)):
            if value is not None:
                kwargs[name] = _copy(value)
        if case.mean:
            kwargs["reduction"] = torch.mean
        if case.weight_decay:
            kwargs["weight_decay"] = case.weight_decay
        if geometry is None:
            connection = Connection(X, Y, **kwargs)
        else:
            connection = Conv2dConnection(X, Y, geometry.kernel, geometry.stride, geometry.padding,
                                          geometry.dilation, **kwargs)
        network.add_connection(connection, "X", "Y")
        x_vars = ("s", "x") if case.pre_traces else ("s",)
        y_vars = ("s",) + (("x",) if case.post_traces else ()) + (("s_prob",) if case.rule == "rmax" else ())
        network.add_monitor(Monitor(X, x_vars, time=self.steps), "X")
        network.add_monitor(Monitor(Y, y_vars, time=self.steps), "Y")
        network.add_monitor(Monitor(connection, ("w",), time=self.steps), "w")
        self.network, self.connection = network, connection
        assert torch.equal(connection.w.detach().cpu(), self.w0), "the given weights were changed"

        self.reference = ReferenceRule(
            case.rule, self.synapses, dt=case.dt, nu=nu, reduction="mean" if case.mean else "sum",
            weight_decay=case.weight_decay, wmin=-math.inf if wmin is None else wmin,
            wmax=math.inf if wmax is None else wmax, **case.kwargs)
        self.w = self.w0.to(torch.float64)
        self.x_last: dict[str, torch.Tensor | None] = {"X": None, "Y": None}
        self.program = snnc.compile(network, backend=backend)

    def run_kwargs(self, k: int) -> tuple[dict, dict]:
        """The ``run`` keyword arguments of call ``k`` (snnc's and the reference's)."""
        case = self.case
        if case.reward is None:
            return {}, {}
        values = REWARDS[k % len(REWARDS)][:case.batch]
        reward = {"per_sample": torch.tensor(values), "tensor": torch.tensor(values[0])}.get(case.reward, values[0])
        kwargs = {"reward": reward}
        reference = {"reward": reward.clone() if isinstance(reward, torch.Tensor) else reward}
        if case.a_pm is not None:
            reference["a_plus"], reference["a_minus"] = case.a_pm
            for key in ("a_plus", "a_minus"):
                kwargs[key] = {("X", "Y"): reference[key]} if case.a_pm_by_connection else reference[key]
        return kwargs, reference

    def run(self, k: int = 0) -> dict:
        """Run call ``k``; check it against the reference; return the recordings."""
        case = self.case
        snnc_kwargs, reference_kwargs = self.run_kwargs(k)
        inputs = self.inputs[k].clone()
        torch.manual_seed(self.seed + k)                       # SRM0's random numbers
        self.program.run({"X": inputs}, time=self.steps * case.dt, **snnc_kwargs)
        rec = self.recordings()
        self.check_recordings(rec, k)
        w_start = self.w
        expected = replay(self.reference, w_start, self.rule_inputs(rec), **reference_kwargs)
        scale = max(1.0, float(expected.abs().max()), float(w_start.abs().max()))
        atol = RTOL_W * scale
        actual = rec["w"].to(torch.float64)
        assert actual.shape == expected.shape, (actual.shape, expected.shape)
        diff = (actual - expected).abs().reshape(self.steps, -1).amax(1)
        if (diff > atol).any():
            t = int((diff > atol).nonzero()[0])
            raise AssertionError(f"{case.id} on {self.backend}, run {k}: monitored w differs from the "
                                 f"reference first at step {t} (max |diff| {float(diff[t]):.3g} > {atol:.3g}); "
                                 f"max over the run {float(diff.max()):.3g}")
        final = self.connection.w.detach().cpu().to(torch.float64)
        assert torch.allclose(final, expected[-1], rtol=0, atol=atol), \
            f"{case.id}: final connection.w differs from the reference"
        self.check_state(k)
        self.w = expected[-1]
        rec["expected_w"], rec["w_start"] = expected, w_start
        return rec

    def recordings(self) -> dict[str, torch.Tensor]:
        monitors = self.network.monitors
        rec = {f"{var}_{name}": monitors[layer].get(var).detach().cpu().clone()
               for layer, name in (("X", "pre"), ("Y", "post")) for var in monitors[layer].state_vars}
        rec["w"] = monitors["w"].get("w").detach().cpu().clone()
        return rec

    @staticmethod
    def rule_inputs(rec: dict) -> dict[str, torch.Tensor]:
        return {key: value for key, value in rec.items()
                if key in ("s_pre", "x_pre", "s_post", "x_post", "s_prob_post")}

    def check_recordings(self, rec: dict, k: int) -> None:
        """The recordings the replay rests on: shapes, the Input's spikes, spec 3.0 traces."""
        case, T, B = self.case, self.steps, self.case.batch
        assert rec["s_pre"].shape == (T, B, *self.synapses.source_shape), rec["s_pre"].shape
        assert rec["s_post"].shape == (T, B, *self.synapses.target_shape), rec["s_post"].shape
        assert rec["w"].shape == (T, *self.synapses.w_shape), rec["w"].shape
        assert torch.equal(rec["s_pre"].float(), self.inputs[k]), "Input.s is not the input"
        assert rec["s_post"].dtype == torch.bool
        for layer, side, params in (("X", "pre", self.pre_params), ("Y", "post", self.post_params)):
            key = f"x_{side}"
            if key not in rec:
                continue
            expected = traces(rec[f"s_{side}"], case.dt, params["tc_trace"], params["trace_scale"],
                              params["additive"], self.x_last[layer])
            assert torch.allclose(rec[key].to(torch.float64), expected, rtol=0, atol=TRACE_ATOL), \
                f"{case.id}: {layer}.x does not follow spec 3.0"
            self.x_last[layer] = rec[key][-1].to(torch.float64)
        if "s_prob_post" in rec:
            p = rec["s_prob_post"]
            assert p.shape == rec["s_post"].shape and bool(((p >= 0) & (p <= 1)).all())

    def check_state(self, k: int) -> None:
        """The reward-modulated rules' state equals the reference's (per sample, or summed
        over the batch where snnc keeps it without a batch dimension)."""
        rule = self.connection.update_rule
        for name, expected in self.reference.state().items():
            actual = getattr(rule, name, None)
            assert isinstance(actual, torch.Tensor), f"{self.case.id}: update_rule.{name} is {actual!r}"
            assert_state(f"{self.case.id} run {k}: update_rule.{name}", actual, expected)

    def reset(self) -> None:
        """``network.reset_state_variables()``: snnc zeroes the rule's state (a deliberate
        difference from BindsNET, whose standard rules keep it); layers restart."""
        self.network.reset_state_variables()
        self.reference.reset()
        self.x_last = {"X": None, "Y": None}
        rule = self.connection.update_rule
        for name in STATE_NAMES:
            value = getattr(rule, name, None)
            if value is not None:
                assert isinstance(value, torch.Tensor) and not value.any(), \
                    f"{self.case.id}: update_rule.{name} not zero after reset_state_variables()"
        if self.case.rule in REWARD_RULES:
            names = ("eligibility_trace",) if self.case.rule == "rmax" else \
                ("p_plus", "p_minus", "eligibility") + (("eligibility_trace",) if self.case.rule == "mstdpet" else ())
            missing = [name for name in names if getattr(rule, name, None) is None]
            assert not missing, f"{self.case.id}: no {missing} after reset_state_variables()"


def assert_state(what: str, actual: torch.Tensor, expected: torch.Tensor) -> None:
    actual = actual.detach().cpu().to(torch.float64)
    if actual.numel() == expected.numel():
        reference = expected
    elif actual.numel() == expected[0].numel():
        reference = expected.sum(0)
    else:
        raise AssertionError(f"{what}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)} "
                             f"(or without the batch dimension)")
    atol = RTOL_W * max(1.0, float(reference.abs().max()))
    assert torch.allclose(actual.reshape(reference.shape), reference, rtol=0, atol=atol), \
        f"{what} differs from the reference (max |diff| " \
        f"{float((actual.reshape(reference.shape) - reference).abs().max()):.3g})"


def assert_active(harness: Harness, rec: dict) -> None:
    """The case's run spikes on both sides and learns; its ``expect`` holds."""
    case = harness.case
    s_pre, s_post = rec["s_pre"] != 0, rec["s_post"]
    assert s_pre.any() and not s_pre.all()
    assert s_post.any(), f"{case.id}: the target never spiked"
    assert not s_post.all(), f"{case.id}: the target spiked every step"
    expected, w_start = rec["expected_w"], rec["w_start"]
    change = float((expected[-1] - w_start).abs().max())
    assert change > 1e-3 * max(1.0, float(w_start.abs().max())), f"{case.id}: the weights hardly change"
    if case.expect == "clamp":
        wmin = torch.as_tensor(harness.wmin, dtype=torch.float64)
        wmax = torch.as_tensor(harness.wmax, dtype=torch.float64)
        assert ((expected == wmin) | (expected == wmax)).any(), f"{case.id}: the clamp never acts"
    if case.expect == "below_wmin":
        assert (expected[-1] < harness.wmin).any(), f"{case.id}: no weight decayed below wmin"


def assert_same_as_torch(case: Case, backend: str, rec: dict) -> None:
    """Another backend gives the torch backend's spikes exactly and its weights."""
    if backend == "torch":
        return
    twin = Harness(case, "torch", tiny=backend == "numba-cuda")
    other = twin.run(0)
    for key in ("s_pre", "s_post"):
        assert torch.equal(rec[key], other[key]), f"{case.id}: {key} differs between {backend} and torch"
    scale = max(1.0, float(other["w"].abs().max()))
    assert torch.allclose(rec["w"], other["w"], rtol=0, atol=RTOL_W * scale), \
        f"{case.id}: w differs between {backend} and torch"


# -- the reference itself (no snnc) ------------------------------------------------------------

def _one_synapse(pre_steps, post_steps, steps):
    s_pre, s_post = torch.zeros(steps, 1, 1), torch.zeros(steps, 1, 1)
    s_pre[list(pre_steps)] = 1.0
    s_post[list(post_steps)] = 1.0
    return {"s_pre": s_pre, "s_post": s_post, "x_pre": traces(s_pre, 1.0), "x_post": traces(s_post, 1.0)}


GOLDEN = [  # spec 16, items 9, 10, 18, 19 (BindsNET 0.3.4's own numbers)
    ("post_pre", dict(nu=(0.1, 0.2)), 9, [1.0, 1.1902, 1.0951, 1.2854]),
    ("hebbian", dict(nu=(0.1, 0.2)), 9, [1.0, 1.1902, 1.2854, 1.4756]),
    ("weight_dependent_post_pre", dict(nu=(0.1, 0.2), wmin=0.0, wmax=2.0), 9, [1.0, 1.1902, 1.0770, 1.2526]),
    ("diehl_and_cook", dict(nu=(0.0, 0.2), wmin=0.0, wmax=2.0), 9, [1.0, 1.19025, 1.19025, 1.3443]),
    ("diehl_and_cook", dict(nu=(0.0, 0.2), wmin=0.0, wmax=2.0, x_tar=0.4, mu=2.0), 9,
     [1.0, 1.11025, 1.11025, 1.19752]),
    ("mstdp", dict(nu=0.1), 10, [1.0, 1.0, 1.09512, 1.09512, 1.00464, 1.18164]),
    ("mstdpet", dict(nu=0.1), 10, [1.0, 1.0, 1.0038, 1.00746, 1.00735, 1.01433]),
    ("mstdp", dict(nu=0.1, zero_lag=True), 18, [1.0, 1.09512, 1.09512, 1.00464, 1.18164, 1.18164]),
    ("mstdpet", dict(nu=0.1, zero_lag=True), 18, [1.0, 1.0038, 1.00746, 1.00735, 1.01433, 1.02103]),
]


@pytest.mark.parametrize("rule,kwargs,item,weights", GOLDEN,
                         ids=[f"{g[0]}-item{g[2]}-{i}" for i, g in enumerate(GOLDEN)])
def test_reference_golden_traces(rule, kwargs, item, weights):
    """The reference gives spec 16's one-synapse traces (items 9/19: pre 0, 2 and post
    1, 3 over 4 steps; items 10/18: pre 0, 3 and post 1, 4 over 6 steps, reward 1)."""
    recordings = _one_synapse((0, 2), (1, 3), 4) if item in (9, 19) else _one_synapse((0, 3), (1, 4), 6)
    reference = ReferenceRule(rule, Synapses((1,), (1,)), **kwargs)
    run_kwargs = {"reward": 1.0} if rule in REWARD_RULES else {}
    w = replay(reference, torch.ones(1, 1), recordings, **run_kwargs).flatten()
    assert torch.allclose(w, torch.tensor(weights, dtype=torch.float64), atol=1e-4, rtol=0), w.tolist()


@pytest.mark.parametrize("conn", sorted(SHAPES))
def test_reference_pairs(conn):
    """``Synapses.pairs`` equals the spec's explicit sum over each weight's neuron pairs and,
    for a convolution, torch's convolution weight-gradient."""
    source_shape, target_shape, geometry = SHAPES[conn]
    synapses = Synapses(source_shape, target_shape, geometry)
    gen = torch.Generator().manual_seed(4)
    pre = torch.rand(2, *source_shape, generator=gen)
    post = torch.rand(2, *target_shape, generator=gen)
    pairs = synapses.pairs(pre, post)
    assert pairs.shape == (2, *synapses.w_shape)
    assert torch.allclose(pairs, synapses.pairs_loop(pre, post), atol=1e-12)
    if geometry is not None:
        for b in range(2):
            grad = torch.nn.grad.conv2d_weight(pre[b:b + 1].double(), synapses.w_shape, post[b:b + 1].double(),
                                               geometry.stride, geometry.padding, geometry.dilation)
            assert torch.allclose(pairs[b], grad, atol=1e-12)


@pytest.mark.parametrize("rule", ["mstdp", "mstdpet", "rmax"])
def test_reference_batch_is_sum_of_samples(rule):
    """With a number as reward and the sum reduction, a batch learns the sum of its
    samples' changes (spec 6.5-6.7, summed over the batch)."""
    gen = torch.Generator().manual_seed(9)
    T, B = 20, 3
    synapses = Synapses((4,), (3,))
    rec = {"s_pre": (torch.rand(T, B, 4, generator=gen) < 0.3).float(),
           "s_post": (torch.rand(T, B, 3, generator=gen) < 0.3).float()}
    rec["x_pre"] = traces(rec["s_pre"], 1.0, additive=True)
    rec["s_prob_post"] = torch.rand(T, B, 3, generator=gen)
    w0 = torch.zeros(4, 3)
    batched = replay(ReferenceRule(rule, synapses, nu=0.1), w0, rec, reward=0.7)[-1]
    total = sum(replay(ReferenceRule(rule, synapses, nu=0.1), w0,
                       {k: v[:, b:b + 1] for k, v in rec.items()}, reward=0.7)[-1] for b in range(B))
    assert batched.abs().max() > 1e-3
    assert torch.allclose(batched, total, atol=1e-12)


# -- snnc against the reference ---------------------------------------------------------------

@pytest.mark.parametrize("backend,case_id", backend_params(CASE_IDS, FAST_OTHER))
def test_rule_matches_reference(backend, case_id):
    case = BY_ID[case_id]
    harness = Harness(case, backend)
    rec = harness.run(0)
    assert_active(harness, rec)
    assert_same_as_torch(case, backend, rec)


STATEFUL = ["dense-post_pre-b3", "dense-noop-b3", "dense-mstdp-zero_lag-per_sample-b3", "dense-mstdpet-b1",
            "dense-mstdpet-per_sample-mean-b3", "dense-rmax-b3", "conv-mstdp-per_sample-b3",
            "conv-mstdpet-b1"]


@pytest.mark.parametrize("backend,case_id", backend_params(STATEFUL))
def test_rule_state_across_runs_and_reset(backend, case_id):
    """Two consecutive runs continue the rule's state (and the layers'); after
    ``network.reset_state_variables()`` the rule's state is zero and learning starts
    afresh from the learned weights; with learning off nothing changes."""
    harness = Harness(BY_ID[case_id], backend)
    harness.run(0)
    harness.run(1)                          # continues (reference state carried over)
    harness.reset()
    harness.run(2)                          # starts from zero state
    # learning off: the rule does not run (weights, decay and rule state unchanged)
    rule = harness.connection.update_rule
    before = {name: getattr(rule, name).detach().clone() for name in STATE_NAMES
              if isinstance(getattr(rule, name, None), torch.Tensor)}
    w_before = harness.connection.w.detach().clone()
    harness.network.train(False)
    snnc_kwargs, _ = harness.run_kwargs(0)
    harness.program.run({"X": harness.inputs[0].clone()}, time=harness.steps * harness.case.dt, **snnc_kwargs)
    assert torch.equal(harness.connection.w.detach(), w_before)
    assert torch.equal(harness.network.monitors["w"].get("w"), w_before.expand(harness.steps, *w_before.shape))
    for name, value in before.items():
        assert torch.equal(getattr(rule, name).detach(), value), f"update_rule.{name} changed without learning"


def test_padded_diehl_and_cook_with_x_tar_is_refused():
    """A padded position joins no source neuron: the x_tar term must not count it, and
    snnc's per-synapse term would (a padded trace reads as 0), so it refuses."""
    from snnc.errors import SnncError
    from snnc.learning import DiehlAndCook
    from snnc.network.nodes import Input, LIFNodes
    from snnc.network.topology import Conv2dConnection

    source, target = Input(shape=(1, 4, 4), traces=True), LIFNodes(shape=(1, 4, 4))
    with pytest.raises(SnncError, match="padded convolution"):
        Conv2dConnection(source, target, 3, padding=1, update_rule=DiehlAndCook, nu=(0.0, 0.1), wmax=1.0,
                         x_tar=0.2)
    Conv2dConnection(source, target, 3, padding=1, update_rule=DiehlAndCook, nu=(0.0, 0.1), wmax=1.0)


@pytest.mark.parametrize("case_id", ["dense-mstdp-b1", "conv-mstdpet-b1", "dense-rmax-b1"])
def test_reward_is_required(case_id):
    """Spec 6.5-6.7: a reward-modulated rule needs ``reward`` (BindsNET: KeyError)."""
    harness = Harness(BY_ID[case_id], "torch")
    with pytest.raises((KeyError, ValueError), match="reward"):
        harness.program.run({"X": harness.inputs[0]}, time=harness.steps * harness.case.dt)


def test_cases_cover_the_brief():
    """Every rule on both connection kinds (Rmax: dense only) at batch 1 and 3."""
    seen = {(c.rule, c.conn.split("_")[0], c.batch) for c in CASES}
    for rule in CLASS_NAMES:
        for conn in (("dense",) if rule == "rmax" else ("dense", "conv")):
            assert {b for r, k, b in seen if r == rule and k == conn} >= {1, 3}, (rule, conn)
