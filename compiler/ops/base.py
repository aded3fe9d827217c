"""What an op module provides to the emitters.

A *layer op* is written once as per-neuron statements in a tiny expression language
(Python syntax; see :mod:`snnc.compiler.elementwise`), and every backend renders
those statements: as whole-tensor torch code, as a numba loop body, as a CUDA kernel
body. A *connection op* is a synapse map (:mod:`snnc.compiler.ops.connection`).

Names in layer statements:

* ``I`` – the layer's input this step (synaptic + external), a local value;
* the layer's state variables (``s``, ``v``, ``x``, …) – read and written in place;
* its arguments (parameters and values derived from them, e.g. ``decay``) – read only;
* any other assigned name – a local temporary.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

ArgValues = dict[str, torch.Tensor]


@dataclass(frozen=True)
class LayerOp:
    """A neuron model: how its arguments are bound, its per-neuron statements, its
    spike dtype, whether it writes state shared by the batch, and the uniform random
    numbers it draws each step (``random(attrs)``: name -> ``"sample"`` for one per
    sample, ``"neuron"`` for one per neuron; the runtime draws them from torch's
    generator, so ``torch.manual_seed`` makes a run reproducible on every backend)."""

    name: str
    bind: Callable[[dict, float], ArgValues]
    statements: Callable[[dict], list[str]]
    spike_dtype: Callable[[dict, str | None, bool], torch.dtype]
    writes_shared: Callable[[dict], bool] = lambda attrs: False
    random: Callable[[dict], dict[str, str]] = lambda attrs: {}


LAYER_OPS: dict[str, LayerOp] = {}


def register_layer_op(op: LayerOp) -> LayerOp:
    LAYER_OPS[op.name] = op
    return op


def per_neuron(value: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """A float32 argument: a 0-d tensor for a scalar, else flattened to ``[n]``."""
    value = value.detach().to(torch.float32)
    if value.numel() == 1 and value.dim() <= len(shape):
        return value.reshape(())
    return value.expand(shape).reshape(-1).contiguous()


def trace_args(attrs: dict, dt: float) -> ArgValues:
    """Arguments of the shared trace update: ``trace_decay = exp(-dt / tc_trace)``."""
    if not attrs["options"].get("traces"):
        return {}
    params = attrs["params"]
    shape = attrs["shape"]
    tc_trace = per_neuron(params["tc_trace"], shape)
    return {
        "trace_decay": torch.exp(-torch.tensor(dt, dtype=torch.float32) / tc_trace),
        "trace_scale": per_neuron(params["trace_scale"], shape),
    }


def trace_statements(attrs: dict, spiked: str = "s") -> list[str]:
    """The shared end of every node update: spike trace and summed input."""
    options = attrs["options"]
    lines = []
    if options.get("traces"):
        lines.append("x = x * trace_decay")
        if options.get("traces_additive"):
            lines.append(f"x = x + trace_scale * to_float({spiked})")
        else:
            lines.append(f"x = where({spiked}, trace_scale, x)")
    if options.get("sum_input"):
        lines.append("summed = summed + I")
    return lines
