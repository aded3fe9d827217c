"""Opaque ops: user subclasses that write their own step in Python.

A ``Nodes`` subclass with its own ``forward``, or an ``AbstractConnection`` subclass
with its own ``compute`` / ``update``, is never compiled as its parent class: the
torch backend calls its code in the schedule (layer: ``forward(x)`` then read ``s``;
connection: ``compute(s)`` into the target's input, ``update(mask=None,
learning=...)`` after the layers every step, ``normalize()`` at the end of a run). The numba
backends cannot call Python per step; ``auto`` runs such a network on torch and says
so in a log line. The code these hooks render lives in the torch emitter.
"""
from __future__ import annotations

import networkx as nx

from snnc.compiler.ops.base import LayerOp, register_layer_op
from snnc.ir.schema import OPAQUE_CONNECTION, OPAQUE_LAYER

register_layer_op(LayerOp(
    name=OPAQUE_LAYER, bind=lambda attrs, dt: {}, statements=lambda attrs: [],
    spike_dtype=lambda attrs, external, has_synaptic: attrs["state"]["s"].dtype,
))


def opaque_objects(ir: nx.DiGraph) -> list[str]:
    """``"layer 'X' (MyNodes)"`` for every opaque layer and connection."""
    found = [f"layer {name!r} ({a['cls']})" for name, a in ir.nodes(data=True) if a["op"] == OPAQUE_LAYER]
    found += [f"connection {s}->{t} ({a['cls']}: {a.get('reason', 'its own compute / update')})"
              for s, t, a in ir.edges(data=True) if a["op"] == OPAQUE_CONNECTION]
    return found


def is_opaque(attrs: dict) -> bool:
    return attrs["op"] in (OPAQUE_LAYER, OPAQUE_CONNECTION)


def calls_normalize(attrs: dict) -> bool:
    return callable(getattr(attrs["module"], "normalize", None))


__all__ = ["OPAQUE_CONNECTION", "OPAQUE_LAYER", "calls_normalize", "is_opaque",
           "opaque_objects"]
