"""Integrate-and-fire neuron models: McCulloch-Pitts, IF, LIF, boosted and current LIF.

Each class records parameters and state; its docstring states the per-step equations
(spec 3.2-3.6), which the compiler implements once for every backend.
"""
from __future__ import annotations

from typing import Iterable

import torch

from snnc.network.node_base import Nodes, Number, _param, allocate


class McCullochPitts(Nodes):
    """Threshold units: ``v = I``; ``s = v >= thresh``; then traces. ``v`` starts at
    zero and a reset leaves it alone."""

    ir_op = "mcculloch_pitts"
    state_names = ("s", "v")
    reset_names = ()

    def __init__(self, n: int | None = None, shape: Iterable[int] | None = None, traces: bool = False,
                 traces_additive: bool = False, tc_trace: Number = 20.0, trace_scale: Number = 1.0,
                 sum_input: bool = False, thresh: Number = 1.0, learning: bool = True) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input, learning)
        self._register(thresh=thresh)
        self.register_buffer("v", torch.zeros(0))

    def initial_state(self) -> dict[str, Number]:
        return {"v": 0.0}

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        return {**super().ir_params(), "thresh": self.thresh}


class _Refractory(Nodes):
    """Shared by the models with a threshold, a refractory period (ms) and ``lbound``."""

    def _common(self, lbound: Number | None, **values: Number) -> None:
        self._register(**values)
        self._non_negative("refrac")
        if "tc_decay" in values:
            self._positive("tc_decay")
        self.lbound = None if lbound is None else _param(type(self).__name__, "lbound", lbound, self.shape)
        self.register_buffer("v", torch.zeros(0))
        self.register_buffer("refrac_count", torch.zeros(0))

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        names = [n for n in ("thresh", "rest", "reset", "refrac", "tc_decay") if hasattr(self, n)]
        return {**super().ir_params(), **{n: getattr(self, n) for n in names}, "lbound": self.lbound}


class IFNodes(_Refractory):
    """Integrate-and-fire neurons without leak (spec 3.3).

    Per step: ``v += I`` where ``refrac_count <= 0``; ``refrac_count -= dt``;
    ``s = v >= thresh``; where ``s``: ``refrac_count = refrac``, ``v = reset``;
    ``v = max(v, lbound)`` with ``lbound``; then traces. ``v`` starts (and resets) at
    ``reset``.
    """

    ir_op = "if"
    state_names = ("s", "v", "refrac_count")

    def __init__(self, n: int | None = None, shape: Iterable[int] | None = None, traces: bool = False,
                 traces_additive: bool = False, tc_trace: Number = 20.0, trace_scale: Number = 1.0,
                 sum_input: bool = False, thresh: Number = -52.0, reset: Number = -65.0,
                 refrac: Number = 5, lbound: Number | None = None, learning: bool = True) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input, learning)
        self._common(lbound, thresh=thresh, reset=reset, refrac=refrac)

    def initial_state(self) -> dict[str, Number]:
        return {"v": self.reset, "refrac_count": 0.0}


class LIFNodes(_Refractory):
    """Leaky integrate-and-fire neurons; the input is a voltage increment (spec 3.4).

    Per step: ``v = (v - rest) * exp(-dt / tc_decay) + rest``; input is ignored while
    ``refrac_count > 0``; ``refrac_count -= dt``; ``v += I``; ``s = v >= thresh``;
    where ``s``: ``refrac_count = refrac`` and ``v = reset``; ``v = max(v, lbound)``
    when ``lbound`` is set. ``refrac`` is in ms: ceil(refrac / dt) blocked steps.
    """

    ir_op = "lif"
    state_names = ("s", "v", "refrac_count")

    def __init__(self, n: int | None = None, shape: Iterable[int] | None = None, traces: bool = False,
                 traces_additive: bool = False, tc_trace: Number = 20.0, trace_scale: Number = 1.0,
                 sum_input: bool = False, thresh: Number = -52.0, rest: Number = -65.0,
                 reset: Number = -65.0, refrac: Number = 5, tc_decay: Number = 100.0,
                 lbound: Number | None = None, learning: bool = True) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input, learning)
        self._common(lbound, thresh=thresh, rest=rest, reset=reset, refrac=refrac, tc_decay=tc_decay)

    def initial_state(self) -> dict[str, Number]:
        return {"v": self.rest, "refrac_count": 0.0}


class BoostedLIFNodes(_Refractory):
    """LIF with rest = reset = 0 and no ``lbound`` (spec 3.5).

    Per step: ``v *= exp(-dt / tc_decay)``; input ignored while ``refrac_count > 0``;
    ``refrac_count -= dt``; ``v += I``; ``s = v >= thresh``; where ``s``:
    ``refrac_count = refrac``, ``v = 0``; then traces.
    """

    ir_op = "boosted_lif"
    state_names = ("s", "v", "refrac_count")

    def __init__(self, n: int | None = None, shape: Iterable[int] | None = None, traces: bool = False,
                 traces_additive: bool = False, tc_trace: Number = 20.0, trace_scale: Number = 1.0,
                 sum_input: bool = False, thresh: Number = 13.0, refrac: Number = 5,
                 tc_decay: Number = 100.0, learning: bool = True) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input, learning)
        self._common(None, thresh=thresh, refrac=refrac, tc_decay=tc_decay)

    def initial_state(self) -> dict[str, Number]:
        return {"v": 0.0, "refrac_count": 0.0}


class CurrentLIFNodes(_Refractory):
    """LIF neurons driven by a decaying synaptic current ``i`` (spec 3.6).

    Per step: ``v = (v - rest) * exp(-dt / tc_decay) + rest``;
    ``i *= exp(-dt / tc_i_decay)``; ``refrac_count -= dt`` (before the check, so one
    blocked step fewer than LIF); ``i += I``; ``v += i`` where ``refrac_count <= 0``;
    ``s = v >= thresh``; where ``s``: ``refrac_count = refrac``, ``v = reset``;
    ``lbound``; then traces. A spike does not reset ``i``.
    """

    ir_op = "current_lif"
    state_names = ("s", "v", "i", "refrac_count")

    def __init__(self, n: int | None = None, shape: Iterable[int] | None = None, traces: bool = False,
                 traces_additive: bool = False, tc_trace: Number = 20.0, trace_scale: Number = 1.0,
                 sum_input: bool = False, thresh: Number = -52.0, rest: Number = -65.0,
                 reset: Number = -65.0, refrac: Number = 5, tc_decay: Number = 100.0,
                 tc_i_decay: Number = 2.0, lbound: Number | None = None, learning: bool = True) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input, learning)
        self._common(lbound, thresh=thresh, rest=rest, reset=reset, refrac=refrac, tc_decay=tc_decay)
        self._register(tc_i_decay=tc_i_decay)
        self._positive("tc_i_decay")
        self.register_buffer("i", torch.zeros(0))

    def initial_state(self) -> dict[str, Number]:
        return {"v": self.rest, "i": 0.0, "refrac_count": 0.0}

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        return {**super().ir_params(), "tc_i_decay": self.tc_i_decay}


class AdaptiveLIFNodes(LIFNodes):
    """LIF neurons with an adaptive threshold ``theta`` shared by the batch (spec 3.7).

    Per step, with ``decay = exp(-dt / tc_decay)``, ``theta_decay = exp(-dt / tc_theta_decay)``:
    ``v = (v - rest) * decay + rest`` and, if learning, ``theta *= theta_decay``;
    ``v += I`` where ``refrac_count <= 0``; ``refrac_count -= dt``;
    ``s = v >= thresh + theta``; where ``s``: ``refrac_count = refrac``, ``v = reset``;
    if learning, ``theta += theta_plus * s.sum(batch)``; ``v = max(v, lbound)`` when
    ``lbound`` is set; then traces. ``theta`` has shape ``shape`` (no batch dimension)
    and survives ``reset_state_variables`` and ``set_batch_size``: it is learned state.
    With learning off it neither decays nor grows.
    """

    ir_op = "adaptive_lif"
    state_names = ("s", "v", "refrac_count", "theta")

    def __init__(self, n: int | None = None, shape: Iterable[int] | None = None, traces: bool = False,
                 traces_additive: bool = False, tc_trace: Number = 20.0, trace_scale: Number = 1.0,
                 sum_input: bool = False, rest: Number = -65.0, reset: Number = -65.0,
                 thresh: Number = -52.0, refrac: Number = 5, tc_decay: Number = 100.0,
                 theta_plus: Number = 0.05, tc_theta_decay: Number = 1e7, lbound: Number | None = None,
                 learning: bool = True) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input,
                         thresh=thresh, rest=rest, reset=reset, refrac=refrac, tc_decay=tc_decay,
                         lbound=lbound, learning=learning)
        self._register(theta_plus=theta_plus, tc_theta_decay=tc_theta_decay)
        self._positive("tc_theta_decay")
        self.register_buffer("theta", allocate(type(self).__name__, lambda: torch.zeros(self.shape),
                                               f"theta for {self.n} neurons"))

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        return {**super().ir_params(), "theta_plus": self.theta_plus,
                "tc_theta_decay": self.tc_theta_decay}


class DiehlAndCookNodes(AdaptiveLIFNodes):
    """:class:`AdaptiveLIFNodes` (same state, same step) that keep one spike per sample
    (spec 3.8).

    With ``one_spike``, after the reset / refractory / ``theta`` step and before the
    ``lbound`` clamp: in every sample with spikes, one spiking neuron chosen uniformly
    at random keeps its spike and the others' spikes are cleared; their reset,
    refractory start and ``theta`` growth stand (as in BindsNET). Draws from the
    torch RNG.
    """

    ir_op = "diehl_and_cook"

    def __init__(self, n: int | None = None, shape: Iterable[int] | None = None, traces: bool = False,
                 traces_additive: bool = False, tc_trace: Number = 20.0, trace_scale: Number = 1.0,
                 sum_input: bool = False, thresh: Number = -52.0, rest: Number = -65.0,
                 reset: Number = -65.0, refrac: Number = 5, tc_decay: Number = 100.0,
                 theta_plus: Number = 0.05, tc_theta_decay: Number = 1e7, lbound: Number | None = None,
                 one_spike: bool = True, learning: bool = True) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input,
                         rest=rest, reset=reset, thresh=thresh, refrac=refrac, tc_decay=tc_decay,
                         theta_plus=theta_plus, tc_theta_decay=tc_theta_decay, lbound=lbound,
                         learning=learning)
        self.one_spike = bool(one_spike)

    def ir_options(self) -> dict[str, object]:
        return {**super().ir_options(), "one_spike": self.one_spike}
