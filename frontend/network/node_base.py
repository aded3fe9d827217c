"""The base of every neuron population, and ``Input``.

No simulation code lives here: a layer is a record of parameters and state tensors.
The equations each model obeys are stated in its docstring and implemented once,
for every backend, in ``snnc.compiler.ops``.
"""
from __future__ import annotations

import math
import numbers
from typing import Callable, Iterable, Sequence

import torch

from snnc.changes import Tracked
from snnc.errors import SnncError

Number = float | int | torch.Tensor


def _param(owner: str, name: str, value: Number, shape: Sequence[int]) -> torch.Tensor:
    """A float32 parameter tensor, scalar or broadcastable to the layer's shape."""
    try:
        tensor = torch.as_tensor(value).detach().clone().to(torch.float32)
    except (TypeError, ValueError, RuntimeError):
        raise SnncError(f"{owner}: {name} must be a number or a tensor, got {value!r}") from None
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


def _count(owner: str, name: str, value) -> int:
    """A positive integer size; floats with a fraction, bools and strings are refused."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point() \
            and value.dtype != torch.bool:
        value = int(value.item())
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) and \
            not (isinstance(value, float) and value.is_integer()):
        raise SnncError(f"{owner}: {name} must be a positive integer, got {value!r}")
    value = int(value)
    if value <= 0:
        raise SnncError(f"{owner}: {name} must be a positive integer, got {value}")
    return value


def allocate(owner: str, make: Callable[[], torch.Tensor], what: str) -> torch.Tensor:
    """``make()``, with an allocation failure reported against the layer."""
    try:
        return make()
    except (RuntimeError, MemoryError) as error:
        raise SnncError(f"{owner}: cannot allocate {what}: {str(error).splitlines()[0]}") from None


class Nodes(Tracked, torch.nn.Module):
    """Base of every neuron population.

    Traces (``traces=True``), after each step's spike decision and after any
    ``clamp`` / ``unclamp`` of ``Network.run``: ``x = x * exp(-dt / tc_trace)``; then
    ``x = trace_scale`` where a spike occurred, or ``x += trace_scale * s`` when
    ``traces_additive``. ``sum_input=True`` keeps ``summed += I`` (the input the layer
    used).

    A model declares its per-sample state in :meth:`initial_state` (values
    broadcastable to its shape); ``set_batch_size`` creates them with a batch
    dimension and ``reset_state_variables`` restores those named in ``reset_names``.
    """

    ir_op = ""
    state_names: tuple[str, ...] = ("s",)
    reset_names: tuple[str, ...] | None = None     # None: every initial_state variable

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
            if isinstance(shape, (int, numbers.Integral)):
                shape = [shape]
            shape = [_count(owner, "every shape dimension", d) for d in shape]
            if not shape:
                raise SnncError(f"{owner}: shape is empty")
        n = math.prod(shape) if n is None else _count(owner, "n", n)
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
            self._register(tc_trace=tc_trace, trace_scale=trace_scale)
            self._positive("tc_trace")
            self.register_buffer("x", torch.zeros(0))
        if self.sum_input:
            self.register_buffer("summed", torch.zeros(0))

    # -- parameters ------------------------------------------------------------------
    def _register(self, **values: Number) -> None:
        """Register each value as a float32 parameter buffer (scalar or per neuron)."""
        for name, value in values.items():
            self.register_buffer(name, _param(type(self).__name__, name, value, self.shape))

    def _positive(self, *names: str) -> None:
        for name in names:
            if not (getattr(self, name) > 0).all():
                raise SnncError(f"{type(self).__name__}: {name} must be > 0, got {getattr(self, name).tolist()}")

    def _non_negative(self, *names: str) -> None:
        for name in names:
            if not (getattr(self, name) >= 0).all():
                raise SnncError(f"{type(self).__name__}: {name} must be >= 0, got {getattr(self, name).tolist()}")

    # -- state -----------------------------------------------------------------------
    def initial_state(self) -> dict[str, Number]:
        """Per-sample state besides ``s``, ``x`` and ``summed``: name -> initial value."""
        return {}

    def compute_decays(self, dt: float) -> None:
        """Record the network's time step (the compiler derives every decay from it),
        then call the ``_compute_decays()`` hook a custom model may define."""
        self.dt = float(dt)
        self._compute_decays()

    def set_batch_size(self, batch_size: int) -> None:
        """(Re)create every state tensor with a leading batch dimension."""
        self.batch_size = int(batch_size)
        owner, device = type(self).__name__, self._device()
        full = (self.batch_size, *self.shape)
        what = f"state of {self.n} neurons x batch {self.batch_size}"
        self.s = allocate(owner, lambda: torch.zeros(full, dtype=torch.bool, device=device), what)
        if self.traces:
            self.x = allocate(owner, lambda: torch.zeros(full, device=device), what)
        if self.sum_input:
            self.summed = allocate(owner, lambda: torch.zeros(full, device=device), what)
        for name, value in self.initial_state().items():
            start = torch.as_tensor(value, dtype=torch.float32, device=device)
            setattr(self, name, allocate(owner, lambda: start.expand(full).clone(), what))

    def reset_state_variables(self) -> None:
        """Spikes, traces, summed input and the model's own state back to their start."""
        self.s.zero_()
        if self.traces:
            self.x.zero_()
        if self.sum_input:
            self.summed.zero_()
        names = self.reset_names
        for name, value in self.initial_state().items():
            if names is None or name in names:
                state = getattr(self, name)
                if isinstance(value, (int, float)) or (isinstance(value, torch.Tensor) and value.dim() == 0):
                    state.fill_(value)          # one value for every neuron (a loop's reset: one op)
                else:
                    state.copy_(torch.as_tensor(value, dtype=state.dtype, device=state.device).expand(state.shape))

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

    def _compute_decays(self) -> None:
        """Hook for a custom model's decay factors (``self.dt`` is set); none here."""

    def _device(self) -> torch.device:
        return self.s.device

    # -- IR ----------------------------------------------------------------------------
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
