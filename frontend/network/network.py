"""The Network: layers, connections and monitors, and the entry point of a run.

``Network.run`` records the network as IR, compiles it on first use (and again only
when its structure changes) and runs the compiled program.
"""
from __future__ import annotations

import io
import math
from typing import Any

import torch

from snnc.errors import SnncError
from snnc.changes import Tracked
from snnc.network.monitors import AbstractMonitor
from snnc.network.nodes import Nodes
from snnc.network.topology import AbstractConnection


def _check_dt(dt: float) -> float:
    try:
        dt = float(dt)
    except (TypeError, ValueError):
        raise SnncError(f"Network: dt must be a number, got {dt!r}") from None
    if not math.isfinite(dt) or dt <= 0:
        raise SnncError(f"Network: dt must be a finite number > 0, got {dt}")
    return dt


class Network(Tracked, torch.nn.Module):
    """A spiking network simulated with BindsNET's clock-driven semantics.

    Every connection delivers its source's spikes of step ``t - 1`` at step ``t``;
    layers update in insertion order, then connections' per-step weight updates,
    then monitors record; weight normalisation happens at the end of each run.
    """

    untracked = frozenset({"_program"})

    def __init__(self, dt: float = 1.0, batch_size: int = 1, learning: bool = True,
                 reward_fn=None) -> None:
        super().__init__()
        self.dt = _check_dt(dt)
        if int(batch_size) < 1:
            raise SnncError(f"Network: batch_size must be >= 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.layers: dict[str, Nodes] = {}
        self.connections: dict[tuple[str, str], AbstractConnection] = {}
        self.monitors: dict[str, AbstractMonitor] = {}
        self.reward_fn = reward_fn() if reward_fn is not None else None
        self._program = None
        self.train(learning)

    def add_layer(self, layer: Nodes, name: str) -> None:
        """Add ``layer`` under ``name`` (replacing any layer of that name)."""
        if not isinstance(layer, Nodes):
            raise SnncError(f"Network.add_layer({name!r}): expected a Nodes layer, got {type(layer).__name__}")
        if not isinstance(name, str) or not name:
            raise SnncError(f"Network.add_layer: layer name must be a non-empty string, got {name!r}")
        self.layers[name] = layer
        self.add_module(name, layer)
        layer.train(self.learning)
        layer.compute_decays(self.dt)
        layer.set_batch_size(self.batch_size)

    def add_connection(self, connection: AbstractConnection, source: str, target: str) -> None:
        """Add ``connection`` from layer ``source`` to layer ``target``."""
        key = f"Connection ({source!r}, {target!r})"
        if not isinstance(connection, AbstractConnection):
            raise SnncError(f"{key}: expected a connection, got {type(connection).__name__}")
        for role, name, obj in (("source", source, connection.source), ("target", target, connection.target)):
            if name not in self.layers:
                raise SnncError(f"{key}: unknown {role} layer {name!r}; layers are {list(self.layers)}")
            if self.layers[name] is not obj:
                raise SnncError(f"{key}: the connection's {role} is not the layer named {name!r}")
        self.connections[(source, target)] = connection
        self.add_module(f"{source}_to_{target}", connection)
        connection.dt = self.dt
        connection.train(self.learning)

    def add_monitor(self, monitor: AbstractMonitor, name: str) -> None:
        """Add ``monitor`` under ``name``; its object must belong to this network."""
        if not isinstance(monitor, AbstractMonitor):
            raise SnncError(f"Network.add_monitor({name!r}): expected a Monitor, got {type(monitor).__name__}")
        self.monitors[name] = monitor
        monitor.network = self
        monitor.dt = self.dt

    def train(self, mode: bool = True) -> "Network":
        """Turn learning (weight updates, threshold adaptation) on or off."""
        self.learning = bool(mode)
        return super().train(mode)

    def run(self, inputs: dict[str, torch.Tensor], time: float, one_step: bool = False,
            **kwargs: Any) -> None:
        """Simulate ``time`` ms (``int(time / dt)`` steps), continuing from the current state.

        ``inputs`` maps layer names to ``[T, B, *shape]`` tensors (``[T, n]`` and
        ``[T, *shape]`` mean batch 1). Compiles on first use with ``backend="auto"``.
        """
        from snnc.runtime.session import run_network

        run_network(self, inputs, time, one_step=one_step, **kwargs)

    def reset_state_variables(self) -> None:
        """Layers back to their initial state; monitors emptied. Weights are kept.

        A network compiled for numba resets its layers and rules in one call when they
        all reset the stock way (``snnc.runtime.reset``; same result, a tenth of the time)."""
        program = self._program
        if program is None or not program.reset_states():
            for layer in self.layers.values():
                layer.reset_state_variables()
            for connection in self.connections.values():
                connection.reset_state_variables()
        for monitor in self.monitors.values():
            monitor.reset_state_variables()

    def set_batch_size(self, batch_size: int) -> None:
        """Re-create every layer's state for ``batch_size`` and empty the monitors."""
        self.batch_size = int(batch_size)
        for layer in self.layers.values():
            layer.set_batch_size(self.batch_size)
        for monitor in self.monitors.values():
            monitor.reset_state_variables()

    def save(self, file_name) -> None:
        """Save the whole network (layers, connections, monitors, state) to a file."""
        torch.save(self, file_name)

    def clone(self) -> "Network":
        """An independent deep copy."""
        buffer = io.BytesIO()
        torch.save(self, buffer)
        buffer.seek(0)
        return torch.load(buffer, weights_only=False)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_program"] = None
        return state


def load(file_name, map_location="cpu", learning: bool | None = None,
         weights_only: bool = False) -> Network:
    """Load a network written by :meth:`Network.save`."""
    network = torch.load(file_name, map_location=map_location, weights_only=weights_only)
    if not isinstance(network, Network):
        raise SnncError(f"load({file_name!r}): the file holds a {type(network).__name__}, not a Network")
    if learning is not None:
        network.train(learning)
    return network
