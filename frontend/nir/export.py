"""snnc -> NIR: a network's layers and connections as a ``nir.NIRGraph`` (docs/nir.md).

Layers become neuron nodes named as the layers (``Input`` -> ``nir.Input``,
``LIFNodes`` -> ``nir.LIF``, ``IFNodes`` -> ``nir.IF``, ``CurrentLIFNodes`` ->
``nir.CubaLIF``, parameters in the layer's shape);
a dense ``Connection`` becomes ``nir.Affine`` (with its bias ``b``) or ``nir.Linear``
named ``"{source}->{target}"`` (behind a ``Flatten`` from a multi-dimensional layer), a
``Conv1d``/``Conv2dConnection`` ``nir.Conv1d``/``nir.Conv2d``, with edges source ->
connection -> target (recurrent connections too); every layer that feeds no other layer
(the last one, where all do) also feeds an ``Output`` node ``"{layer}.output"``.

Per-step parameters become continuous-time ones by forward Euler with step ``dt``
(NIR's usual reading, snnTorch's among others): a LIF layer's per-step decay ``d``
gives ``tau = dt / (1 - d)`` and ``r = tau / dt`` (so that ``dt / tau * r * I = I``,
snnc's ``v += I``); ``v_leak = rest``, ``v_threshold = thresh``, ``v_reset = reset``.
A ``CurrentLIFNodes`` layer's current decay ``a`` likewise gives ``tau_syn = dt / (1 - a)``
and ``w_in = tau_syn / dt``. Each node's metadata also keeps snnc's own parameters (``metadata["snnc"]``), so that
:func:`snnc.nir.load` rebuilds the very same layers.

Refused, with the layer or connection named: refractory periods, ``lbound``, other
neuron models (adaptive thresholds, Izhikevich, ...) and other connection types.
Learning rules and weight normalisation are dropped with a warning: NIR has no
plasticity, the export is the network frozen as it is now.
"""
from __future__ import annotations

import numpy as np
import torch

from snnc.errors import SnncError, warn


def _require_nir():
    try:
        import nir
    except ImportError:
        raise SnncError("snnc.nir needs the nir package: pip install 'snnc[nir]' (or: pip install nir)") from None
    return nir


def _per_neuron(value: torch.Tensor, shape) -> np.ndarray:
    """A parameter (scalar or per neuron) as an array of the layer's shape."""
    array = value.detach().double().cpu().numpy()
    shape = tuple(shape)
    return (array.reshape(shape) if array.size == int(np.prod(shape)) else np.broadcast_to(array, shape)).copy()


NIR_MODELS = {"LIFNodes": "LIF", "IFNodes": "IF", "CurrentLIFNodes": "CubaLIF"}


def _neuron(nir, name: str, layer, dt: float, step_ms: float):
    from snnc.network.nodes import CurrentLIFNodes, IFNodes, Input, LIFNodes

    kind = type(layer)
    n = tuple(layer.shape)
    if kind is Input:
        return nir.Input(input_type={"input": np.array(layer.shape)})
    if kind not in (LIFNodes, IFNodes, CurrentLIFNodes):
        raise SnncError(f"snnc.nir.export: layer {name!r} is a {kind.__name__}; NIR expresses only Input, "
                        "LIFNodes, IFNodes and CurrentLIFNodes of snnc's models exactly (an adaptive "
                        "threshold or Izhikevich dynamics has no NIR node)")
    if bool((layer.refrac > 0).any()):
        raise SnncError(f"snnc.nir.export: layer {name!r} has a refractory period (refrac "
                        f"{layer.refrac.flatten()[:4].tolist()}); NIR's {NIR_MODELS[kind.__name__]} has "
                        "none: build the layer with refrac=0 to export it")
    if layer.lbound is not None:
        raise SnncError(f"snnc.nir.export: layer {name!r} has a lower bound on v (lbound); NIR has none")
    thresh, reset = _per_neuron(layer.thresh, n), _per_neuron(layer.reset, n)
    if kind is IFNodes:       # v += I  <=>  dv/dt = r I with r = 1 / dt
        return nir.IF(r=np.full(n, 1.0 / dt), v_threshold=thresh, v_reset=reset,
                      metadata={"snnc": {"model": "IFNodes", "thresh": thresh, "reset": reset}})
    tc = _per_neuron(layer.tc_decay, n)
    decay = _per_neuron(torch.exp(-float(step_ms) / layer.tc_decay.detach().float()), n)   # as compiled
    if np.any(decay >= 1.0):
        raise SnncError(f"snnc.nir.export: layer {name!r} does not leak (decay 1): export it as IFNodes")
    tau = dt / (1.0 - decay)
    rest = _per_neuron(layer.rest, n)
    if kind is CurrentLIFNodes:     # i = alpha i + I; v = rest + decay (v - rest) + i (the new i)
        tc_i = _per_neuron(layer.tc_i_decay, n)
        alpha = _per_neuron(torch.exp(-float(step_ms) / layer.tc_i_decay.detach().float()), n)
        tau_syn = dt / (1.0 - alpha)
        return nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau, r=tau / dt, v_leak=rest, v_threshold=thresh,
                           v_reset=reset, w_in=tau_syn / dt,
                           metadata={"snnc": {"model": "CurrentLIFNodes", "tc_decay": tc, "tc_i_decay": tc_i,
                                              "rest": rest, "thresh": thresh, "reset": reset}})
    return nir.LIF(tau=tau, r=tau / dt, v_leak=rest, v_threshold=thresh, v_reset=reset,
                   metadata={"snnc": {"model": "LIFNodes", "tc_decay": tc, "rest": rest, "thresh": thresh,
                                      "reset": reset}})


def _connection(nir, label: str, connection):
    from snnc.network.conv_connections import Conv1dConnection, Conv2dConnection
    from snnc.network.topology import Connection

    if type(connection) in (Conv1dConnection, Conv2dConnection):
        _frozen(label, connection)
        weight = connection.w.detach().float().cpu().numpy().copy()
        bias = getattr(connection, "b", None)
        bias = np.zeros(weight.shape[0], np.float32) if bias is None else \
            np.broadcast_to(bias.detach().float().cpu().numpy(), (weight.shape[0],)).copy()
        kind = nir.Conv1d if type(connection) is Conv1dConnection else nir.Conv2d
        size = tuple(connection.source.shape[1:])
        geometry = [tuple(getattr(connection, what)) for what in ("stride", "padding", "dilation")]
        if kind is nir.Conv1d:
            size, geometry = size[0], [g[0] for g in geometry]
        return kind(input_shape=size, weight=weight, stride=geometry[0], padding=geometry[1], dilation=geometry[2],
                    groups=1, bias=bias)
    if type(connection) is not Connection:
        raise SnncError(f"snnc.nir.export: connection {label} is a {type(connection).__name__}; only a dense "
                        "Connection (Affine / Linear) and Conv1d / Conv2d connections map to NIR so far")
    if len(connection.target.shape) > 1:
        raise SnncError(f"snnc.nir.export: connection {label} is dense into a layer of shape "
                        f"{tuple(connection.target.shape)}; NIR would need an unflatten node there")
    _frozen(label, connection)
    weight = connection.w.detach().float().cpu().numpy().T.copy()       # NIR: [out, in]
    bias = getattr(connection, "b", None)
    if bias is None:
        return nir.Linear(weight=weight)
    return nir.Affine(weight=weight, bias=np.broadcast_to(bias.detach().float().cpu().numpy(),
                                                          (weight.shape[0],)).copy())


def _frozen(label: str, connection) -> None:
    """Warn that learning and normalisation do not travel."""
    if getattr(connection, "update_rule", None) is not None and type(connection.update_rule).__name__ != "NoOp":
        warn(f"snnc.nir.export: connection {label} learns ({type(connection.update_rule).__name__}); NIR has no "
             "plasticity: its current weights are exported, frozen")
    if getattr(connection, "norm", None) is not None:
        warn(f"snnc.nir.export: connection {label} normalises its weights after each run; NIR cannot say so: "
             "its current weights are exported")


def export(network, dt: float = 1e-3):
    """``network`` as a ``nir.NIRGraph``; ``dt`` (seconds) is the length of one step."""
    nir = _require_nir()
    if not dt > 0:
        raise SnncError(f"snnc.nir.export: dt must be > 0 seconds, got {dt!r}")
    nodes, edges = {}, []
    for name, layer in network.layers.items():
        nodes[name] = _neuron(nir, name, layer, float(dt), network.dt)
    feeds = set()
    for (source, target), connection in network.connections.items():
        label = f"{source}->{target}"
        nodes[label] = _connection(nir, label, connection)
        if isinstance(nodes[label], (nir.Affine, nir.Linear)) and len(network.layers[source].shape) > 1:
            flat = f"{label}.flatten"           # a dense connection reads its source flat
            nodes[flat] = nir.Flatten(input_type={"input": np.array(network.layers[source].shape)}, start_dim=0)
            edges += [(source, flat), (flat, label), (label, target)]
        else:
            edges += [(source, label), (label, target)]
        if source != target:
            feeds.add(source)
    outputs = [name for name in network.layers if name not in feeds] or list(network.layers)[-1:]
    for name, layer in network.layers.items():
        if name in outputs:
            nodes[f"{name}.output"] = nir.Output(output_type={"output": np.array(layer.shape)})
            edges.append((name, f"{name}.output"))
    order = [f"{source}->{target}" for source, target in network.connections]     # the sums' order
    # (with the layers' order, which one_step runs follow, in the graph's metadata)
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"snnc": {"dt": float(dt), "step_ms": float(network.dt),
                                                                     "connections": order,
                                                                     "layers": list(network.layers)}})


def write(network_or_graph, path, dt: float = 1e-3) -> None:
    """Write a network (exported with ``dt``) or a graph to ``path`` (HDF5, ``nir.write``)."""
    nir = _require_nir()
    graph = network_or_graph if isinstance(network_or_graph, nir.NIRGraph) else export(network_or_graph, dt)
    nir.write(str(path), graph)


__all__ = ["export", "write"]
