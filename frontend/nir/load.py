"""NIR -> snnc: a ``nir.NIRGraph`` (or an HDF5 file) as a ``Network`` (docs/nir.md).

Nodes: ``Input`` -> ``Input`` layer; ``LIF`` -> ``LIFNodes``; ``IF`` -> ``IFNodes``;
``CubaLIF`` -> ``CurrentLIFNodes``; ``Threshold`` -> ``McCullochPitts``; ``LI`` and ``I``
(read-outs only: their output is a voltage) -> ``LIFNodes`` / ``IFNodes`` that never
spike (threshold +inf); ``Scale`` around dense weights is folded into them;
``Affine`` / ``Linear`` between two of those -> ``Connection`` (``w = weight.T``, ``b``
the bias); ``Conv1d`` / ``Conv2d`` -> ``Conv1dConnection`` / ``Conv2dConnection``;
``SumPool2d`` / ``AvgPool2d`` between two layers -> a ``Conv2dConnection`` keeping
each channel apart; ``Flatten`` passes through (a dense connection reads its source flat); ``Output`` marks
an output and builds nothing. Any other node is refused by name. Layer shapes come
from the weights (see :func:`_shapes`).

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

def _array(value, shape: tuple, what: str) -> np.ndarray:
    """``value`` broadcast to the layer's shape (scalars, per channel, per neuron; flat
    arrays of the layer's size too), flattened in the layer's order."""
    array = np.asarray(value, dtype=np.float64)
    n = int(np.prod(shape))
    if array.size == n:
        return array.reshape(-1).copy()
    try:
        return np.broadcast_to(array.reshape(array.shape[-len(shape):] if array.ndim > len(shape) else array.shape),
                               shape).reshape(-1).copy()
    except ValueError:
        raise SnncError(f"snnc.nir.load: {what} has shape {array.shape}, which does not fit the layer's "
                        f"{tuple(shape)}") from None


def _text(value):
    """A metadata string as written (HDF5 files give it back as bytes)."""
    return value.decode() if isinstance(value, bytes) else None if value is None else str(value)


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
        nir = self.nir
        self.layers = (nir.Input, nir.LIF, nir.IF, nir.CubaLIF, nir.LI, nir.I, nir.Threshold)
        kinds = (*self.layers, nir.Affine, nir.Linear, nir.Conv1d, nir.Conv2d, nir.SumPool2d, nir.AvgPool2d,
                 nir.Flatten, nir.Scale, nir.Output)
        for name, node in graph.nodes.items():
            if not isinstance(node, kinds):
                raise SnncError(f"snnc.nir.load: node {name!r} is a nir.{type(node).__name__}, which snnc cannot "
                                "run exactly (it reads Input, LIF, IF, CubaLIF, LI, I, Threshold, Affine, Linear, "
                                "Conv1d, Conv2d, SumPool2d, AvgPool2d, Flatten, Scale and Output)")
        self.scales: dict = {}        # (weights, target) -> (scale of the input, scale of the output)

    def is_layer(self, name: str) -> bool:
        return isinstance(self.graph.nodes[name], self.layers)

    def is_weights(self, name: str) -> bool:
        return isinstance(self.graph.nodes[name], (self.nir.Affine, self.nir.Linear, self.nir.Conv1d, self.nir.Conv2d,
                                                   self.nir.SumPool2d, self.nir.AvgPool2d))

    def source_layer(self, name: str) -> tuple[str, object]:
        """The layer feeding weight node ``name``, through Flatten and Scale nodes, and the
        product of those scales (1.0 without one)."""
        current, scale = name, 1.0
        while True:
            sources = self.before[current]
            if len(sources) != 1:
                raise SnncError(f"snnc.nir.load: node {current!r} has {len(sources)} inputs; snnc needs exactly one")
            current = sources[0]
            node = self.graph.nodes[current]
            if self.is_layer(current):
                if isinstance(node, (self.nir.LI, self.nir.I)):
                    raise SnncError(f"snnc.nir.load: weights {name!r} read {current!r}, a nir.{type(node).__name__}, "
                                    "whose output is a voltage; snnc's connections carry spikes (an LI or I node "
                                    "can only be a read-out)")
                return current, scale
            if isinstance(node, self.nir.Scale):
                scale = scale * np.asarray(node.scale, dtype=np.float64)
            elif not isinstance(node, self.nir.Flatten):
                raise SnncError(f"snnc.nir.load: weights {name!r} are fed by {current!r}, a nir."
                                f"{type(node).__name__}; snnc needs a neuron layer there")

    def targets(self, name: str) -> list[tuple[str, object]]:
        """The layers weight node ``name`` feeds, through Scale nodes, with their scales."""
        found, stack = [], [(after, 1.0) for after in self.after[name]]
        while stack:
            current, scale = stack.pop(0)
            node = self.graph.nodes[current]
            if isinstance(node, self.nir.Scale):
                stack += [(after, scale * np.asarray(node.scale, dtype=np.float64)) for after in self.after[current]]
            elif self.is_layer(current) and not isinstance(node, self.nir.Input):
                found.append((current, scale))
            else:
                raise SnncError(f"snnc.nir.load: weights {name!r} feed {current!r}, a nir.{type(node).__name__}; "
                                "snnc connections end at a neuron layer")
        return found

    def connections(self) -> list[tuple[str, str, str]]:
        found = []
        for name in self.graph.nodes:
            if not self.is_weights(name):
                continue
            source, scale_in = self.source_layer(name)
            for target, scale_out in self.targets(name):
                if (np.any(np.asarray(scale_in) != 1.0) or np.any(np.asarray(scale_out) != 1.0)) and \
                        not isinstance(self.graph.nodes[name], (self.nir.Affine, self.nir.Linear)):
                    raise SnncError(f"snnc.nir.load: a Scale node around convolution {name!r}; snnc folds scales "
                                    "into dense weights only")
                self.scales[name, target] = (scale_in, scale_out)
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

    if not dt > 0:
        raise SnncError(f"snnc.nir.load: dt must be > 0 seconds, got {dt!r}")
    graph = nir.read(str(graph_or_path)) if isinstance(graph_or_path, (str, Path)) else graph_or_path
    reader = _Reader(graph, dt)
    links = reader.connections()
    meta = (getattr(graph, "metadata", None) or {}).get("snnc", {})
    order = [_text(label) for label in meta.get("connections", [])]
    if order:       # snnc's own order: a layer's inputs are summed in it, bit for bit
        links.sort(key=lambda link: order.index(link[1]) if link[1] in order else len(order))
    layers = reader.order(links)
    own_layers = [_text(name) for name in meta.get("layers", [])]
    if sorted(own_layers) == sorted(layers):     # snnc's own order: one_step runs update layers in it
        layers = own_layers
    shapes = _shapes(reader, links, layers)
    network = Network(dt=float(meta.get("step_ms", 1.0)))
    gains: dict[str, np.ndarray] = {}
    for name in layers:
        node = graph.nodes[name]
        if isinstance(node, nir.Input):
            network.add_layer(Input(shape=list(shapes[name])), name)
        else:
            layer, gains[name] = _neuron(node, name, shapes[name], reader, network.dt)
            network.add_layer(layer, name)
    for source, name, target in links:
        network.add_connection(_connection(reader, name, network.layers[source], network.layers[target], target,
                                           gains[target]), source, target)
    return network


def _conv_dims(reader: _Reader, name: str) -> int:
    node, nir = reader.graph.nodes[name], reader.nir
    return 1 if isinstance(node, nir.Conv1d) else 2 if isinstance(node, (nir.Conv2d, nir.SumPool2d, nir.AvgPool2d)) else 0


def _kernel(reader: _Reader, name: str, channels: int | None) -> np.ndarray | None:
    """The weights of node ``name``: a pooling node's as a convolution that keeps each
    channel apart (``w[c, c] = 1``, or ``1 / window`` to average); None for a pooling
    node while its channel count is unknown."""
    node, nir = reader.graph.nodes[name], reader.nir
    if not isinstance(node, (nir.SumPool2d, nir.AvgPool2d)):
        return np.asarray(node.weight)
    if channels is None:
        return None
    size = tuple(int(k) for k in np.broadcast_to(np.asarray(node.kernel_size).reshape(-1), (2,)))
    kernel = np.zeros((channels, channels, *size), np.float32)
    value = 1.0 if isinstance(node, nir.SumPool2d) else 1.0 / (size[0] * size[1])
    for channel in range(channels):
        kernel[channel, channel] = value
    return kernel


def _geometry(node, dims: int, name: str) -> tuple:
    values = []
    for what in ("stride", "padding", "dilation"):
        value = getattr(node, what, 1)
        if isinstance(value, str):
            raise SnncError(f"snnc.nir.load: convolution {name!r} has padding {value!r}; snnc reads numbers")
        values.append(tuple(int(v) for v in np.broadcast_to(np.asarray(value).reshape(-1), (dims,))))
    if int(getattr(node, "groups", 1)) != 1:
        raise SnncError(f"snnc.nir.load: convolution {name!r} has groups {node.groups}; snnc's have 1")
    return tuple(values)


def _shapes(reader: _Reader, links, layers: list[str]) -> dict[str, tuple]:
    """Each layer's shape: from the weights that feed it (a dense node's rows, a
    convolution's output), else (inputs) from the node's type, fitted to what it feeds
    (an input type with a batch dimension loses it)."""
    graph, nir = reader.graph, reader.nir
    shapes: dict[str, tuple] = {}
    for layer in layers:
        shape = None
        for source, name, target in links:
            if target != layer or source not in shapes and source != layer:
                continue
            weight = _kernel(reader, name, shapes[source][0] if source in shapes else None)
            dims = _conv_dims(reader, name)
            if dims:
                stride, padding, dilation = _geometry(graph.nodes[name], dims, name)
                size = shapes[source][1:]
                found = (weight.shape[0], *((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in
                                            zip(size, weight.shape[2:], stride, padding, dilation)))
            else:
                found = (weight.shape[0],)
            if shape is not None and int(np.prod(shape)) != int(np.prod(found)):
                raise SnncError(f"snnc.nir.load: layer {layer!r} has {int(np.prod(shape))} neurons by one node's "
                                f"weights and {int(np.prod(found))} by {name!r}")
            shape = found if shape is None or len(found) > len(shape) else shape
        node = graph.nodes[layer]
        if shape is None and isinstance(node, nir.Input):
            shape = tuple(int(d) for d in np.asarray((node.input_type or {}).get("input", [])).reshape(-1))
            for source, name, target in links:
                if source != layer:
                    continue
                weight = _kernel(reader, name, None)
                dims = _conv_dims(reader, name)
                wanted = dims + 1 if dims else None
                if wanted is not None:
                    shape = shape[-wanted:] if len(shape) >= wanted else shape
                elif reader.before[name] == [layer]:       # read flat: a vector
                    shape = (weight.shape[1],)
                else:                                          # through a Flatten
                    while len(shape) > 1 and int(np.prod(shape)) != weight.shape[1]:
                        shape = shape[1:]     # a batch dimension, as snnTorch writes its sample's
                    if int(np.prod(shape or (0,))) != weight.shape[1]:
                        shape = (weight.shape[1],)
            if not shape:
                raise SnncError(f"snnc.nir.load: input {layer!r} has no shape and feeds no weights to tell it")
        if shape is None:
            shape = tuple(np.shape(getattr(node, "v_threshold", getattr(node, "threshold", 1.0)))) or (1,)
        shapes[layer] = tuple(int(d) for d in shape)
    for source, name, target in links:       # what each weight node reads must be what its source is
        weight = _kernel(reader, name, shapes[source][0])
        dims = _conv_dims(reader, name)
        fits = len(shapes[source]) == dims + 1 and shapes[source][0] == weight.shape[1] if dims else \
            int(np.prod(shapes[source])) == weight.shape[1]
        if not fits:
            raise SnncError(f"snnc.nir.load: {name!r} (weight {tuple(weight.shape)}) cannot read layer {source!r} "
                            f"of shape {shapes[source]}")
    return shapes


def _connection(reader: _Reader, name: str, source, target, target_name: str, gain: np.ndarray):
    """The snnc connection of weight node ``name``, with the target's input gain folded in."""
    from snnc.network.conv_connections import Conv1dConnection, Conv2dConnection
    from snnc.network.topology import Connection

    node, nir = reader.graph.nodes[name], reader.nir
    weight = torch.tensor(_kernel(reader, name, source.shape[0]).astype(np.float32))
    bias = getattr(node, "bias", None)
    bias = None if bias is None else torch.tensor(np.asarray(bias, dtype=np.float32)).reshape(-1)
    dims = _conv_dims(reader, name)
    if dims:
        per_channel = gain.reshape(target.shape[0], -1)
        if not np.all(per_channel == per_channel[:, :1]):
            raise SnncError(f"snnc.nir.load: the neurons after convolution {name!r} differ in tau or r within a "
                            "channel; a convolution's shared weights cannot carry that")
        channel = torch.tensor(per_channel[:, 0], dtype=torch.float32)
        scale = channel.reshape(-1, *([1] * (dims + 1)))
        stride, padding, dilation = _geometry(node, dims, name)
        kind = Conv1dConnection if dims == 1 else Conv2dConnection
        return kind(source, target, kernel_size=tuple(weight.shape[2:]), stride=stride, padding=padding,
                    dilation=dilation, w=weight if np.all(per_channel == 1.0) else weight * scale,
                    b=None if bias is None else bias * channel)
    scale_in, scale_out = reader.scales[name, target_name]
    rows = gain * np.broadcast_to(scale_out, gain.shape)            # per target neuron
    columns = np.broadcast_to(np.asarray(scale_in, dtype=np.float64).reshape(-1), (weight.shape[1],))
    scale = torch.tensor(rows, dtype=torch.float32)
    kwargs = {} if bias is None or isinstance(node, nir.Linear) else \
        {"b": torch.broadcast_to(bias, (weight.shape[0],)) * scale}
    if not np.all(columns == 1.0):
        weight = weight * torch.tensor(columns, dtype=torch.float32)
    return Connection(source, target, w=weight.T.contiguous() if np.all(rows == 1.0) else weight.T * scale, **kwargs)


def _neuron(node, name: str, shape: tuple, reader: _Reader, step_ms: float):
    """The layer of a LIF or IF node and the gain folded into its incoming weights."""
    from snnc.network.nodes import IFNodes, LIFNodes

    nir, dt = reader.nir, reader.dt
    n = int(np.prod(shape))
    own = (getattr(node, "metadata", None) or {}).get("snnc", {})
    model = _text(own.get("model"))
    if not isinstance(node, (nir.Threshold, nir.I, nir.LI)):
        threshold = _array(node.v_threshold, shape, f"{name}.v_threshold")
        reset = _array(node.v_reset if node.v_reset is not None else 0.0, shape, f"{name}.v_reset")
    if isinstance(node, nir.IF):
        gain = np.ones(n) if model == "IFNodes" else dt * _array(node.r, shape, f"{name}.r")
        return IFNodes(shape=list(shape), thresh=_value(threshold), reset=_value(reset), refrac=0.0), gain
    if isinstance(node, nir.Threshold):      # z = Θ(x − threshold) of the summed input
        from snnc.network.nodes import McCullochPitts

        return McCullochPitts(shape=list(shape), thresh=_value(_array(node.threshold, shape, name))), np.ones(n)
    if isinstance(node, nir.I):              # a read-out: v += dt r x, never a spike
        return (IFNodes(shape=list(shape), thresh=float("inf"), reset=0.0, refrac=0.0),
                dt * _array(node.r, shape, f"{name}.r"))
    if isinstance(node, nir.LI):             # a read-out: the leaky voltage, never a spike
        tau = _array(node.tau, shape, f"{name}.tau")
        decay = _euler_decay(tau, dt, name, "tau")
        return (LIFNodes(shape=list(shape), thresh=float("inf"), rest=_value(_array(node.v_leak, shape, name)),
                         reset=0.0, refrac=0.0, tc_decay=_time_constant(decay, step_ms)),
                dt / tau * _array(node.r, shape, f"{name}.r"))
    if isinstance(node, nir.CubaLIF):
        return _current_lif(node, name, shape, dt, step_ms, own if model == "CurrentLIFNodes" else None,
                            threshold, reset)
    tau, r = _array(node.tau, shape, f"{name}.tau"), _array(node.r, shape, f"{name}.r")
    leak = _array(node.v_leak, shape, f"{name}.v_leak")
    if model == "LIFNodes":
        layer = LIFNodes(shape=list(shape), thresh=_value(_array(own["thresh"], shape, name)),
                         rest=_value(_array(own["rest"], shape, name)), reset=_value(_array(own["reset"], shape, name)),
                         refrac=0.0, tc_decay=_value(_array(own["tc_decay"], shape, name)))
        return layer, np.ones(n)
    decay = _euler_decay(tau, dt, name, "tau")
    layer = LIFNodes(shape=list(shape), thresh=_value(threshold), rest=_value(leak), reset=_value(reset), refrac=0.0,
                     tc_decay=_time_constant(decay, step_ms))
    return layer, dt / tau * r


def _time_constant(decay: np.ndarray, step_ms: float):
    """snnc's ``tc`` (ms) whose per-step decay ``exp(-step / tc)`` is ``decay``."""
    return _value(-step_ms / np.log(decay))


def _euler_decay(tau: np.ndarray, dt: float, name: str, what: str) -> np.ndarray:
    decay = 1.0 - dt / tau
    if np.any(decay <= 0.0) or np.any(decay >= 1.0):
        raise SnncError(f"snnc.nir.load: node {name!r} has {what} {tau[:4].tolist()} for dt {dt}: forward Euler "
                        "needs dt < tau (and a finite tau)")
    return decay


def _current_lif(node, name: str, shape: tuple, dt: float, step_ms: float, own, threshold, reset):
    """CubaLIF as ``CurrentLIFNodes``: ``i = a i + g x``, then ``v = rest + d (v - rest) + i``
    (the current first, then the voltage with the new current), with ``a = 1 - dt/tau_syn``,
    ``d = 1 - dt/tau_mem`` and the gain ``g = (dt/tau_syn) w_in (dt/tau_mem) r`` folded
    into the incoming weights (v's gain on i moves onto i: the update is linear)."""
    from snnc.network.nodes import CurrentLIFNodes

    n = int(np.prod(shape))
    if own is not None:
        values = {key: _value(_array(own[key], shape, name)) for key in ("thresh", "rest", "reset", "tc_decay",
                                                                            "tc_i_decay")}
        return CurrentLIFNodes(shape=list(shape), refrac=0.0, **values), np.ones(n)
    tau_syn, tau_mem = _array(node.tau_syn, shape, f"{name}.tau_syn"), _array(node.tau_mem, shape, f"{name}.tau_mem")
    alpha = _euler_decay(tau_syn, dt, name, "tau_syn")
    decay = _euler_decay(tau_mem, dt, name, "tau_mem")
    gain = dt / tau_syn * _array(node.w_in, shape, f"{name}.w_in") * dt / tau_mem * _array(node.r, shape, f"{name}.r")
    layer = CurrentLIFNodes(shape=list(shape), thresh=_value(threshold), rest=_value(_array(node.v_leak, shape, name)),
                            reset=_value(reset), refrac=0.0, tc_decay=_time_constant(decay, step_ms),
                            tc_i_decay=_time_constant(alpha, step_ms))
    return layer, gain


__all__ = ["load"]
