"""Record a :class:`~snnc.network.Network` as the networkx IR described in ``schema``."""
from __future__ import annotations

import networkx as nx
import torch

from snnc.errors import SnncError
from snnc.ir.schema import OPAQUE_CONNECTION, OPAQUE_LAYER, MonitorSpec


def _monitor_target(network, name: str, obj) -> str | tuple[str, str]:
    for layer_name, layer in network.layers.items():
        if obj is layer:
            return layer_name
    for key, connection in network.connections.items():
        if obj is connection:
            return key
    raise SnncError(f"Monitor {name!r}: its object ({type(obj).__name__}) is not a "
                    "layer or connection of this network")


def has_own_step(obj) -> bool:
    """Whether ``obj``'s class writes its own simulation step in Python: a layer with
    its own ``forward``, a connection with its own ``compute`` or ``update`` (snnc's
    classes define none of them as simulation code)."""
    from snnc.network.nodes import Nodes
    from snnc.network.topology import AbstractConnection

    from snnc.network.multicompartment import MulticompartmentConnection

    cls = type(obj)
    if isinstance(obj, Nodes):
        return cls.forward is not Nodes.forward
    base = MulticompartmentConnection if isinstance(obj, MulticompartmentConnection) else AbstractConnection
    return cls.compute is not base.compute or cls.update is not base.update


def eager_reason(connection) -> str | None:
    """Why one of snnc's own connections runs eagerly (an opaque op), or None: a
    feature pipeline the ``fuse`` pass cannot fold."""
    why = getattr(connection, "why_eager", None)
    return why() if callable(why) else None


def layer_attrs(layer, index: int = 0) -> dict:
    """A layer's IR node attributes; a layer with its own ``forward`` is opaque (the
    object itself rides along as ``module``)."""
    opaque = has_own_step(layer)
    state = layer.ir_state()
    if opaque:      # every buffer shaped like the layer (with or without a batch) is monitorable
        shape = list(layer.shape)
        state.update({name: value for name, value in layer._buffers.items()
                      if isinstance(value, torch.Tensor) and name not in state
                      and (list(value.shape) == shape or list(value.shape[1:]) == shape)})
    return dict(op=OPAQUE_LAYER if opaque else layer.ir_op, cls=type(layer).__name__, index=index,
                shape=tuple(layer.shape), n=layer.n, learning=bool(layer.learning),
                params={} if opaque else layer.ir_params(), state=state,
                options={} if opaque else layer.ir_options(), **({"module": layer} if opaque else {}))


def connection_attrs(connection, index: int = 0) -> dict:
    """A connection's IR edge attributes; one with its own ``compute`` / ``update`` is
    opaque."""
    reason = "its own compute / update" if has_own_step(connection) else eager_reason(connection)
    opaque = reason is not None
    return dict(op=OPAQUE_CONNECTION if opaque else connection.ir_op, cls=type(connection).__name__,
                index=index, **({"reason": reason} if opaque else {}), params={} if opaque else connection.ir_params(),
                state={} if opaque else connection.ir_state(),
                options={} if opaque else connection.ir_options(),
                **({"module": connection} if opaque else {}))


def record_network(network, *, input_dtypes: dict[str, torch.dtype] | None = None,
                   one_step: bool = False, run: dict | None = None) -> nx.DiGraph:
    """The IR of ``network`` for a run whose external inputs have ``input_dtypes``.

    ``run`` names the masks the run is given: ``{layer: {"clamp": per_step, ...}}``
    and ``{(source, target): {"mask": True}}``; they become each object's ``run``
    attribute. Tensors are referenced, not copied: the IR shows the network's
    current values.
    """
    run = run or {}
    ir = nx.DiGraph()
    ir.graph.update(
        dt=float(network.dt),
        batch_size=int(network.batch_size),
        learning=bool(network.learning),
        one_step=bool(one_step),
        inputs={name: str(dtype).removeprefix("torch.") for name, dtype in (input_dtypes or {}).items()},
        monitors=[],
    )
    for index, (name, layer) in enumerate(network.layers.items()):
        ir.add_node(name, **layer_attrs(layer, index), run=dict(run.get(name, {})))
    for index, ((source, target), connection) in enumerate(network.connections.items()):
        ir.add_edge(source, target, **connection_attrs(connection, index),
                    run=dict(run.get((source, target), {})))
    for name, monitor in network.monitors.items():
        for suffix, obj, state_vars, time in monitor.parts():
            ir.graph["monitors"].append(MonitorSpec(
                name=name + suffix, target=_monitor_target(network, name, obj),
                state_vars=tuple(state_vars), time=time, monitor=name, part=suffix,
            ))
    return ir
