"""Neuron populations: their parameters and state, exactly as BindsNET names them.

No simulation code lives here: a layer is a record of parameters and state tensors.
The equations each model obeys are stated in its docstring and implemented once,
for every backend, in ``snnc.compiler.ops``.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import torch

from snnc.errors import SnncError
from snnc.changes import Tracked

Number = float | int | torch.Tensor


def _param(owner: str, name: str, value: Number, shape: Sequence[int]) -> torch.Tensor:
    """A float32 parameter tensor, scalar or broadcastable to the layer's shape."""
    tensor = torch.as_tensor(value).detach().clone().to(torch.float32)
    try:
        torch.broadcast_shapes(tensor.shape, tuple(shape))
    except RuntimeError:
        raise SnncError(
            f"{owner}: {name} has shape {tuple(tensor.shape)}, expected a scalar or a "
            f"tensor broadcastable to the layer shape {tuple(shape)}"
        ) from None
    if torch.isnan(tensor).any():
        raise SnncError(f"{owner}: {name} contains NaN")
    return tensor


class Nodes(Tracked, torch.nn.Module):
    """Base of every neuron population.

    Traces (``traces=True``), after each step's spike decision:
    ``x = x * exp(-dt / tc_trace)``; then ``x = trace_scale`` where a spike occurred,
    or ``x += trace_scale * s`` when ``traces_additive``. ``sum_input=True`` keeps
    ``summed += I`` (the input the layer used).
    """

    ir_op = ""
    state_names: tuple[str, ...] = ("s",)

    def __init__(
        self,
        n: int | None = None,
        shape: Iterable[int] | None = None,
        traces: bool = False,
        traces_additive: bool = False,
        tc_trace: Number = 20.0,
        trace_scale: Number = 1.0,
        sum_input: bool = False,
        learning: bool = True,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if n is None and shape is None:
            raise SnncError(f"{owner}: give n or shape")
        if shape is not None:
            shape = [int(d) for d in shape]
            if any(d <= 0 for d in shape):
                raise SnncError(f"{owner}: shape {shape} has a non-positive dimension")
            if n is None:
                n = math.prod(shape)
        if n is None or int(n) <= 0:
            raise SnncError(f"{owner}: n must be a positive integer, got {n!r}")
        n = int(n)
        shape = list(shape) if shape is not None else [n]
        if math.prod(shape) != n:
            raise SnncError(f"{owner}: n={n} does not match shape {shape} (product {math.prod(shape)})")
        self.n = n
        self.shape = shape
        self.traces = bool(traces)
        self.traces_additive = bool(traces_additive)
        self.sum_input = bool(sum_input)
        self.learning = bool(learning)
        self.dt: float | None = None
        self.batch_size: int | None = None
        self.register_buffer("s", torch.zeros(0, dtype=torch.bool))
        if self.traces:
            self.register_buffer("tc_trace", _param(owner, "tc_trace", tc_trace, shape))
            self.register_buffer("trace_scale", _param(owner, "trace_scale", trace_scale, shape))
            self.register_buffer("x", torch.zeros(0))
        if self.sum_input:
            self.register_buffer("summed", torch.zeros(0))

    def compute_decays(self, dt: float) -> None:
        """Record the network's time step (the compiler derives every decay from it)."""
        self.dt = float(dt)

    def set_batch_size(self, batch_size: int) -> None:
        """(Re)create every state tensor with a leading batch dimension."""
        self.batch_size = int(batch_size)
        device = self._device()
        full = (self.batch_size, *self.shape)
        self.s = torch.zeros(full, dtype=torch.bool, device=device)
        if self.traces:
            self.x = torch.zeros(full, device=device)
        if self.sum_input:
            self.summed = torch.zeros(full, device=device)

    def reset_state_variables(self) -> None:
        """Spikes, traces and summed input back to zero."""
        self.s.zero_()
        if self.traces:
            self.x.zero_()
        if self.sum_input:
            self.summed.zero_()

    def train(self, mode: bool = True) -> "Nodes":
        self.learning = bool(mode)
        return super().train(mode)

    def forward(self, x: torch.Tensor) -> None:
        """One step of this layer's model on input ``x`` (``[B, *shape]``), computed
        eagerly. ``Network.run`` never calls it for snnc's own classes (it compiles
        them); a subclass with its own ``forward`` runs as an opaque op, and its
        ``super().forward(x)`` lands here (for a direct ``Nodes`` subclass: the traces
        and summed input of the step, from the ``s`` it has set)."""
        from snnc.runtime.eager import layer_step

        layer_step(self, x)

    def _device(self) -> torch.device:
        return self.s.device

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        """The parameters the IR records for this layer."""
        if self.traces:
            return {"tc_trace": self.tc_trace, "trace_scale": self.trace_scale}
        return {}

    def ir_state(self) -> dict[str, torch.Tensor]:
        """The state tensors the IR records (and a run updates)."""
        names = list(self.state_names)
        if self.traces:
            names.append("x")
        if self.sum_input:
            names.append("summed")
        return {name: getattr(self, name) for name in names}

    def ir_options(self) -> dict[str, object]:
        return {
            "traces": self.traces,
            "traces_additive": self.traces_additive,
            "sum_input": self.sum_input,
        }


class AbstractInput:
    """Marker for layers that take external input."""


class Input(Nodes, AbstractInput):
    """A layer whose spikes are its input: ``s[t] = I[t]`` (dtype kept), then traces."""

    ir_op = "input"


class LIFNodes(Nodes):
    """Leaky integrate-and-fire neurons; the input is a voltage increment.

    Per step: ``v = (v - rest) * exp(-dt / tc_decay) + rest``; input is ignored while
    ``refrac_count > 0``; ``refrac_count -= dt``; ``v += I``; ``s = v >= thresh``;
    where ``s``: ``refrac_count = refrac`` and ``v = reset``; ``v = max(v, lbound)``
    when ``lbound`` is set. ``refrac`` is in ms: ceil(refrac / dt) blocked steps.
    """

    ir_op = "lif"
    state_names = ("s", "v", "refrac_count")

    def __init__(
        self,
        n: int | None = None,
        shape: Iterable[int] | None = None,
        traces: bool = False,
        traces_additive: bool = False,
        tc_trace: Number = 20.0,
        trace_scale: Number = 1.0,
        sum_input: bool = False,
        thresh: Number = -52.0,
        rest: Number = -65.0,
        reset: Number = -65.0,
        refrac: Number = 5,
        tc_decay: Number = 100.0,
        lbound: Number | None = None,
        learning: bool = True,
    ) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input, learning)
        owner = type(self).__name__
        for name, value in (("thresh", thresh), ("rest", rest), ("reset", reset),
                            ("refrac", refrac), ("tc_decay", tc_decay)):
            self.register_buffer(name, _param(owner, name, value, self.shape))
        if (self.tc_decay <= 0).any():
            raise SnncError(f"{owner}: tc_decay must be > 0")
        self.lbound = None if lbound is None else _param(owner, "lbound", lbound, self.shape)
        self.register_buffer("v", torch.zeros(0))
        self.register_buffer("refrac_count", torch.zeros(0))

    def set_batch_size(self, batch_size: int) -> None:
        super().set_batch_size(batch_size)
        full = (self.batch_size, *self.shape)
        self.v = self.rest.expand(full).clone().to(self._device())
        self.refrac_count = torch.zeros(full, device=self._device())

    def reset_state_variables(self) -> None:
        super().reset_state_variables()
        self.v.copy_(self.rest.expand(self.v.shape))
        self.refrac_count.zero_()

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        return {
            **super().ir_params(),
            "thresh": self.thresh, "rest": self.rest, "reset": self.reset,
            "refrac": self.refrac, "tc_decay": self.tc_decay, "lbound": self.lbound,
        }


class AdaptiveLIFNodes(LIFNodes):
    """LIF neurons with an adaptive threshold ``theta`` shared by the batch.

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

    def __init__(
        self,
        n: int | None = None,
        shape: Iterable[int] | None = None,
        traces: bool = False,
        traces_additive: bool = False,
        tc_trace: Number = 20.0,
        trace_scale: Number = 1.0,
        sum_input: bool = False,
        rest: Number = -65.0,
        reset: Number = -65.0,
        thresh: Number = -52.0,
        refrac: Number = 5,
        tc_decay: Number = 100.0,
        theta_plus: Number = 0.05,
        tc_theta_decay: Number = 1e7,
        lbound: Number | None = None,
        learning: bool = True,
    ) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input,
                         thresh=thresh, rest=rest, reset=reset, refrac=refrac, tc_decay=tc_decay,
                         lbound=lbound, learning=learning)
        owner = type(self).__name__
        self.register_buffer("theta_plus", _param(owner, "theta_plus", theta_plus, self.shape))
        self.register_buffer("tc_theta_decay", _param(owner, "tc_theta_decay", tc_theta_decay, self.shape))
        if (self.tc_theta_decay <= 0).any():
            raise SnncError(f"{owner}: tc_theta_decay must be > 0")
        self.register_buffer("theta", torch.zeros(self.shape))

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        return {**super().ir_params(), "theta_plus": self.theta_plus,
                "tc_theta_decay": self.tc_theta_decay}


class DiehlAndCookNodes(AdaptiveLIFNodes):
    """:class:`AdaptiveLIFNodes` (same state, same step) that keep one spike per sample.

    With ``one_spike``, after the reset / refractory / ``theta`` step and before the
    ``lbound`` clamp: in every sample with spikes, one spiking neuron chosen uniformly
    at random keeps its spike and the others' spikes are cleared; their reset,
    refractory start and ``theta`` growth stand (as in BindsNET). Draws from the
    torch RNG.
    """

    ir_op = "diehl_and_cook"

    def __init__(
        self,
        n: int | None = None,
        shape: Iterable[int] | None = None,
        traces: bool = False,
        traces_additive: bool = False,
        tc_trace: Number = 20.0,
        trace_scale: Number = 1.0,
        sum_input: bool = False,
        thresh: Number = -52.0,
        rest: Number = -65.0,
        reset: Number = -65.0,
        refrac: Number = 5,
        tc_decay: Number = 100.0,
        theta_plus: Number = 0.05,
        tc_theta_decay: Number = 1e7,
        lbound: Number | None = None,
        one_spike: bool = True,
        learning: bool = True,
    ) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input,
                         rest=rest, reset=reset, thresh=thresh, refrac=refrac, tc_decay=tc_decay,
                         theta_plus=theta_plus, tc_theta_decay=tc_theta_decay, lbound=lbound,
                         learning=learning)
        self.one_spike = bool(one_spike)

    def ir_options(self) -> dict[str, object]:
        return {**super().ir_options(), "one_spike": self.one_spike}
