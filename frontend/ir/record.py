"""Record a :class:`~snnc.network.Network` as the networkx IR described in ``schema``."""
from __future__ import annotations

import networkx as nx
import torch

from snnc.errors import SnncError
from snnc.ir.schema import MonitorSpec


def _monitor_target(network, name: str, monitor) -> str | tuple[str, str]:
    for layer_name, layer in network.layers.items():
        if monitor.obj is layer:
            return layer_name
    for key, connection in network.connections.items():
        if monitor.obj is connection:
            return key
    raise SnncError(f"Monitor {name!r}: its object ({type(monitor.obj).__name__}) is not a "
                    "layer or connection of this network")


def record_network(network, *, input_dtypes: dict[str, torch.dtype] | None = None,
                   one_step: bool = False) -> nx.DiGraph:
    """The IR of ``network`` for a run whose external inputs have ``input_dtypes``.

    Tensors are referenced, not copied: the IR shows the network's current values.
    """
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
        ir.add_node(
            name, op=layer.ir_op, cls=type(layer).__name__, index=index,
            shape=tuple(layer.shape), n=layer.n, learning=bool(layer.learning),
            params=layer.ir_params(), state=layer.ir_state(), options=layer.ir_options(),
        )
    for index, ((source, target), connection) in enumerate(network.connections.items()):
        ir.add_edge(
            source, target, op=connection.ir_op, cls=type(connection).__name__, index=index,
            params=connection.ir_params(), state=connection.ir_state(),
            options=connection.ir_options(),
        )
    for name, monitor in network.monitors.items():
        ir.graph["monitors"].append(MonitorSpec(
            name=name, target=_monitor_target(network, name, monitor),
            state_vars=tuple(monitor.state_vars), time=monitor.time,
        ))
    return ir
