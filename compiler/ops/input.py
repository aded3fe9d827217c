"""Input layers (``Input``): spikes are the layer's input, dtype kept.

    s = I                 (the external input slice; the float sum when the layer
                           also has incoming connections)
    then traces, with "spiked" meaning s != 0
"""
from __future__ import annotations

import torch

from snnc.compiler.ops.base import LayerOp, register_layer_op, trace_args, trace_statements


def spike_dtype(attrs: dict, external: str | None, has_synaptic: bool) -> torch.dtype:
    """The external input's dtype when it is the only input, else float32."""
    if external is not None and not has_synaptic:
        return getattr(torch, external)
    return torch.float32


def statements(attrs: dict) -> list[str]:
    return ["s = I"] + trace_statements(attrs, spiked="nonzero(s)")


INPUT = register_layer_op(LayerOp(
    name="input", bind=lambda attrs, dt: trace_args(attrs, dt), statements=statements,
    spike_dtype=spike_dtype,
))

# ``PassThroughNodes`` (conversion): the same step; the clamp and traces apply (quirk Q56 fixed).
register_layer_op(LayerOp(
    name="pass_through", bind=lambda attrs, dt: trace_args(attrs, dt), statements=statements,
    spike_dtype=spike_dtype,
))
