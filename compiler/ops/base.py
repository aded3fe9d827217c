"""What an op module provides to the emitters.

A *layer op* is written once as per-neuron statements in a tiny expression language
(Python syntax; see :mod:`snnc.compiler.elementwise`), and every backend renders
those statements: as whole-tensor torch code, as a numba loop body, as a CUDA kernel
body. A *connection op* is a synapse map (:mod:`snnc.compiler.ops.connection`).

Names in layer statements:

* ``I`` – the layer's input this step (synaptic + external), a local value;
* the layer's state variables (``s``, ``v``, ``x``, …) – read and written in place;
* its arguments (parameters and values derived from them, e.g. ``decay``) – read only;
* this run's masks of ``Network.run`` (``clamp``, ``unclamp``: bool; ``inject_v``:
  values), per neuron, ``[n]`` for the whole run or one row per step, present when
  the layer's ``run`` attribute names them;
* any other assigned name – a local temporary.

A model may also add per-step synaptic work of its own (``nests``, e.g. Izhikevich's
intrinsic coupling ``I += S @ s``): nests over the roles ``s`` (the layer's spikes),
``I`` (its input this step) and its arguments, run just before its statements.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

ArgValues = dict[str, torch.Tensor]


@dataclass(frozen=True)
class LayerOp:
    """A neuron model: how its arguments are bound, its per-neuron statements, its
    spike dtype, whether it writes state shared by the batch, the uniform random
    numbers it draws each step (``random(attrs)``: name -> ``"sample"`` for one per
    sample, ``"neuron"`` for one per neuron; the runtime draws them from torch's
    generator, so ``torch.manual_seed`` makes a run reproducible on every backend),
    and ``nests(attrs)``: synaptic work of its own run before its statements, over the
    roles ``s``, ``I`` and its arguments (Izhikevich's intrinsic coupling)."""

    name: str
    bind: Callable[[dict, float], ArgValues]
    statements: Callable[[dict], list[str]]
    spike_dtype: Callable[[dict, str | None, bool], torch.dtype]
    writes_shared: Callable[[dict], bool] = lambda attrs: False
    random: Callable[[dict], dict[str, str]] = lambda attrs: {}
    nests: Callable[[dict], list] = lambda attrs: []


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


def inject_statements(attrs: dict) -> list[str]:
    """``injects_v`` of ``Network.run``: added to ``v`` before the step (spec 2.4)."""
    return ["v = v + inject_v"] if "inject_v" in attrs.get("run", {}) else []


def trace_statements(attrs: dict, spiked: str = "s") -> list[str]:
    """The shared end of every node update: the run's ``clamp`` / ``unclamp`` of the
    spikes (after the model's spike decision, spec 2.4 / quirk Q7), then spike trace
    and summed input. ``spiked`` is how a spike reads (``nonzero(s)`` for layers whose
    spikes are numbers); an additive trace adds ``trace_scale * s`` (the value itself)."""
    options = attrs["options"]
    run = attrs.get("run", {})
    on, off = ("True", "False") if spiked == "s" else ("1.0", "0.0")
    lines = [f"s = where(clamp, {on}, s)"] if "clamp" in run else []
    lines += [f"s = where(unclamp, {off}, s)"] if "unclamp" in run else []
    if options.get("traces"):
        lines.append("x = x * trace_decay")
        if options.get("traces_additive"):
            lines.append("x = x + trace_scale * to_float(s)")      # weighted by s (spec 3.0)
        else:
            lines.append(f"x = where({spiked}, trace_scale, x)")
    if options.get("sum_input"):
        lines.append("summed = summed + I")
    return lines


def bool_spikes(attrs: dict, external: str | None, has_synaptic: bool) -> torch.dtype:
    """Spike dtype of every model that decides spikes by a threshold."""
    return torch.bool


def dt_value(dt: float) -> torch.Tensor:
    return torch.tensor(dt, dtype=torch.float32)


def decay(attrs: dict, dt: float, time_constant: str) -> torch.Tensor:
    """``exp(-dt / tc)`` per neuron (or a scalar)."""
    return torch.exp(-dt_value(dt) / per_neuron(attrs["params"][time_constant], attrs["shape"]))


def neuron_args(attrs: dict, dt: float, *names: str) -> ArgValues:
    """The named parameters per neuron, ``dt``, ``lbound`` when set, and the trace
    arguments."""
    params, shape = attrs["params"], attrs["shape"]
    args = {"dt": dt_value(dt)}
    args.update({name: per_neuron(params[name], shape) for name in names})
    if params.get("lbound") is not None:
        args["lbound"] = per_neuron(params["lbound"], shape)
    return {**args, **trace_args(attrs, dt)}


# Where a neuron spiked: start its refractory period, reset its voltage.
RESET_ON_SPIKE = ["refrac_count = where(s, refrac, refrac_count)", "v = where(s, reset, v)"]
# A threshold crossing, then its reset.
SPIKE_AND_RESET = ["s = v >= thresh", *RESET_ON_SPIKE]


def lbound_statements(attrs: dict) -> list[str]:
    return ["v = max(v, lbound)"] if attrs["params"].get("lbound") is not None else []
