"""NIR -> snnc: a ``nir.NIRGraph`` (or an HDF5 file) as a ``Network`` (docs/nir.md).

Nodes: ``Input`` -> ``Input`` layer; ``LIF`` -> ``LIFNodes``; ``IF`` -> ``IFNodes``;
``Affine`` / ``Linear`` between two of those -> ``Connection`` (``w = weight.T``, ``b``
the bias); ``Flatten`` passes through (snnc's layers are flat to connections);
``Output`` marks an output and builds nothing. Any other node is refused by name.

The ODEs become per-step updates by forward Euler with step ``dt`` (the producer's):
``LIF``: ``decay = 1 - dt / tau`` (snnc's ``tc_decay = -step / ln(decay)``), rest
``v_leak``, and the input term ``dt / tau * r * I``, folded into the incoming weights
and bias; ``IF``: ``v += dt * r * I``, folded likewise. Nodes that snnc exported carry
snnc's own parameters in their metadata; those are used as they are.

NIR's edges are instantaneous: run the network with ``one_step=True`` (layers are added
in a topological order from the inputs, so a step's signal crosses the whole
feed-forward chain, and a recurrent edge waits one step).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from snnc.errors import SnncError
from snnc.nir.export import _require_nir

def _array(value, n: int | None, what: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if n is not None and array.size not in (1, n):
        raise SnncError(f"snnc.nir.load: {what} has {array.size} values for {n} neurons")
    return array


def _value(array: np.ndarray):
    """A scalar where every neuron agrees, else a per-neuron float32 tensor."""
    return float(array[0]) if np.all(array == array[0]) else torch.tensor(array, dtype=torch.float32)


class _Reader:
    def __init__(self, graph, dt: float) -> None:
        self.nir = _require_nir()
        self.graph, self.dt = graph, float(dt)
        self.before = {name: [] for name in graph.nodes}
        self.after = {name: [] for name in graph.nodes}
        for source, target in graph.edges:
            for end in (source, target):
                if end not in graph.nodes:
                    raise SnncError(f"snnc.nir.load: an edge {source!r} -> {target!r} names a node that is not in the graph")
            self.after[source].append(target)
            self.before[target].append(source)
        kinds = (self.nir.Input, self.nir.LIF, self.nir.IF, self.nir.Affine, self.nir.Linear, self.nir.Flatten,
                 self.nir.Output)
        for name, node in graph.nodes.items():
            if not isinstance(node, kinds):
                raise SnncError(f"snnc.nir.load: node {name!r} is a nir.{type(node).__name__}, which snnc cannot "
                                "run exactly (it reads Input, LIF, IF, Affine, Linear, Flatten and Output)")

    def is_layer(self, name: str) -> bool:
        return isinstance(self.graph.nodes[name], (self.nir.Input, self.nir.LIF, self.nir.IF))

    def is_weights(self, name: str) -> bool:
        return isinstance(self.graph.nodes[name], (self.nir.Affine, self.nir.Linear))

    def source_layer(self, name: str) -> str:
        """The layer feeding weight node ``name``, through any Flatten nodes."""
        current = name
        while True:
            sources = self.before[current]
            if len(sources) != 1:
                raise SnncError(f"snnc.nir.load: node {current!r} has {len(sources)} inputs; snnc needs exactly one")
            current = sources[0]
            if self.is_layer(current):
                return current
            if not isinstance(self.graph.nodes[current], self.nir.Flatten):
                raise SnncError(f"snnc.nir.load: weights {name!r} are fed by {current!r}, a nir."
                                f"{type(self.graph.nodes[current]).__name__}; snnc needs a neuron layer there")

    def connections(self) -> list[tuple[str, str, str]]:
        found = []
        for name in self.graph.nodes:
            if not self.is_weights(name):
                continue
            source = self.source_layer(name)
            for target in self.after[name]:
                if not self.is_layer(target) or isinstance(self.graph.nodes[target], self.nir.Input):
                    raise SnncError(f"snnc.nir.load: weights {name!r} feed {target!r}, a nir."
                                    f"{type(self.graph.nodes[target]).__name__}; snnc connections end at a "
                                    "LIF or IF layer")
                found.append((source, name, target))
        return found

    def order(self, links) -> list[str]:
        """Layers from the inputs on (Kahn's order over the non-recurrent links; the rest
        of a cycle in the graph's own order)."""
        layers = [name for name in self.graph.nodes if self.is_layer(name)]
        incoming = {name: {s for s, _, t in links if t == name and s != name} for name in layers}
        ordered: list[str] = []
        while len(ordered) < len(layers):
            ready = [name for name in layers if name not in ordered and incoming[name] <= set(ordered)]
            ordered.append(ready[0] if ready else next(name for name in layers if name not in ordered))
        return ordered


def load(graph_or_path, dt: float = 1e-3):
    """A ``Network`` running ``graph_or_path`` (a ``nir.NIRGraph`` or an HDF5 file) with
    one step per ``dt`` seconds of the graph's time; run it with ``one_step=True``."""
    nir = _require_nir()
    from snnc.network import Network
    from snnc.network.nodes import Input
    from snnc.network.topology import Connection

    if not dt > 0:
        raise SnncError(f"snnc.nir.load: dt must be > 0 seconds, got {dt!r}")
    graph = nir.read(str(graph_or_path)) if isinstance(graph_or_path, (str, Path)) else graph_or_path
    reader = _Reader(graph, dt)
    links = reader.connections()
    sizes: dict[str, int] = {}
    for source, name, target in links:
        weight = np.asarray(graph.nodes[name].weight)
        if weight.ndim != 2:
            raise SnncError(f"snnc.nir.load: weights {name!r} have shape {weight.shape}; snnc reads 2-D [out, in]")
        for layer, size in ((target, weight.shape[0]), (source, weight.shape[1])):
            if sizes.setdefault(layer, size) != size:
                raise SnncError(f"snnc.nir.load: layer {layer!r} has {sizes[layer]} neurons by one node's weights "
                                f"and {size} by {name!r}")
    meta = (getattr(graph, "metadata", None) or {}).get("snnc", {})
    order = [label.decode() if isinstance(label, bytes) else str(label) for label in meta.get("connections", [])]
    if order:       # snnc's own order: a layer's inputs are summed in it, bit for bit
        links.sort(key=lambda link: order.index(link[1]) if link[1] in order else len(order))
    network = Network(dt=float(meta.get("step_ms", 1.0)))
    gains: dict[str, np.ndarray] = {}
    for name in reader.order(links):
        node = graph.nodes[name]
        n = sizes.get(name)
        if isinstance(node, nir.Input):
            shape = [int(d) for d in np.asarray(node.input_type.get("input", [])).reshape(-1)] if node.input_type else []
            flattened = any(isinstance(graph.nodes[after], nir.Flatten) for after in reader.after[name])
            if n is not None and (not flattened or int(np.prod(shape or [0])) != n):
                shape = [n]     # weights read it flat; a shape with a batch dimension (snnTorch's) drops it
            if not shape:
                raise SnncError(f"snnc.nir.load: input {name!r} has no shape and feeds no weights to tell it")
            network.add_layer(Input(shape=shape), name)
            continue
        if n is None:
            n = _array(node.v_threshold, None, f"{name}.v_threshold").size
        layer, gains[name] = _neuron(node, name, n, reader, network.dt)
        network.add_layer(layer, name)
    for source, name, target in links:
        node = graph.nodes[name]
        gain = torch.tensor(gains[target], dtype=torch.float32)
        weight = torch.tensor(np.asarray(node.weight, dtype=np.float32)).T.contiguous()
        bias = getattr(node, "bias", None)
        kwargs = {"b": torch.tensor(np.broadcast_to(np.asarray(bias, dtype=np.float32), (weight.shape[1],)).copy()) * gain} \
            if isinstance(node, nir.Affine) else {}
        network.add_connection(Connection(network.layers[source], network.layers[target],
                                          w=weight * gain if not np.all(gains[target] == 1.0) else weight, **kwargs),
                               source, target)
    return network


def _neuron(node, name: str, n: int, reader: _Reader, step_ms: float):
    """The layer of a LIF or IF node and the gain folded into its incoming weights."""
    from snnc.network.nodes import IFNodes, LIFNodes

    nir, dt = reader.nir, reader.dt
    refrac = 0.0
    own = (getattr(node, "metadata", None) or {}).get("snnc", {})
    model = own.get("model")
    model = model.decode() if isinstance(model, bytes) else model
    threshold = _array(node.v_threshold, n, f"{name}.v_threshold")
    reset = _array(node.v_reset if node.v_reset is not None else 0.0, n, f"{name}.v_reset")
    if isinstance(node, nir.IF):
        gain = dt * _array(node.r, n, f"{name}.r")
        if model == "IFNodes":
            gain = np.ones(1)
        return IFNodes(n=n, thresh=_value(threshold), reset=_value(reset), refrac=refrac), np.broadcast_to(gain, (n,))
    tau, r = _array(node.tau, n, f"{name}.tau"), _array(node.r, n, f"{name}.r")
    leak = _array(node.v_leak, n, f"{name}.v_leak")
    if model == "LIFNodes":
        layer = LIFNodes(n=n, thresh=_value(_array(own["thresh"], n, name)), rest=_value(_array(own["rest"], n, name)),
                         reset=_value(_array(own["reset"], n, name)), refrac=refrac,
                         tc_decay=_value(_array(own["tc_decay"], n, name)))
        return layer, np.ones(n)
    decay = 1.0 - dt / tau
    if np.any(decay <= 0.0) or np.any(decay >= 1.0):
        raise SnncError(f"snnc.nir.load: LIF node {name!r} has tau {tau[:4].tolist()} for dt {dt}: forward Euler "
                        "needs dt < tau (and a finite tau)")
    layer = LIFNodes(n=n, thresh=_value(threshold), rest=_value(leak), reset=_value(reset), refrac=refrac,
                     tc_decay=_value(-step_ms / np.log(decay)))
    return layer, np.broadcast_to(dt / tau * r, (n,))


__all__ = ["load"]
