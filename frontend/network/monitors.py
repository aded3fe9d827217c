"""Monitors: which state variables to record, and the recordings a run hands back.

A run writes each monitored variable of every step into buffers the compiled code
fills, then hands them to the monitor (:meth:`Monitor.append`). ``parts()`` tells the
IR what to record: one object for a :class:`Monitor`, every layer and connection for
a :class:`NetworkMonitor`.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import Iterable

import numpy as np
import torch

from snnc.changes import Tracked
from snnc.errors import SnncError


class AbstractMonitor(ABC):
    """Base of monitors: ``parts()`` lists ``(suffix, obj, state_vars, time)`` to record
    and ``sink(suffix)`` the recorder each part's steps go to."""

    @abstractmethod
    def parts(self) -> list[tuple[str, object, tuple[str, ...], int | None]]:
        """What the IR records for this monitor: one entry per recorded object."""

    @abstractmethod
    def sink(self, suffix: str) -> "Recorder":
        """The recorder that receives the steps of the part named ``suffix``."""

    @abstractmethod
    def has_data(self) -> bool:
        """Whether anything has been recorded since the last reset."""


class Recorder:
    """The recorded steps of some variables: chunks of ``[T_run, *var_shape]``; with
    ``time`` only the last ``time`` steps are kept; ``sparse`` chunks are stored as
    sparse COO tensors; ``cast`` converts each chunk (e.g. to float)."""

    def __init__(self, state_vars: tuple[str, ...], time: int | None, device: torch.device,
                 sparse: bool = False, cast: torch.dtype | None = None) -> None:
        self.state_vars, self.time, self.device, self.sparse, self.cast = state_vars, time, device, sparse, cast
        self.chunks: dict[str, list[torch.Tensor]] = {var: [] for var in state_vars}
        self.totals = dict.fromkeys(state_vars, 0)     # steps held per variable

    def append(self, var: str, steps: torch.Tensor) -> None:
        if steps.device != self.device:
            steps = steps.to(self.device)
        if self.cast is not None and steps.dtype != self.cast:
            steps = steps.to(self.cast)
        chunks = self.chunks[var]
        chunks.append(steps.to_sparse() if self.sparse else steps)
        total = self.totals[var] + steps.shape[0]
        if self.time is not None and total - chunks[0].shape[0] >= self.time:
            drop = 0                        # the oldest chunks no longer needed for the last `time` steps
            while total - chunks[drop].shape[0] >= self.time:
                total -= chunks[drop].shape[0]
                drop += 1
            del chunks[:drop]
        if self.time is not None and len(chunks) > 64 and not any(c.is_sparse for c in chunks):
            chunks[:] = [torch.cat(chunks, dim=0)[-self.time:]]      # many short runs: one chunk
            total = chunks[0].shape[0]
        self.totals[var] = total

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "totals" not in state:       # saved before the running totals existed
            self.totals = {var: sum(c.shape[0] for c in chunks) for var, chunks in self.chunks.items()}

    def steps(self, var: str) -> torch.Tensor | None:
        """Every kept step of ``var`` (the last ``time`` with a window), or None."""
        chunks = self.chunks[var]
        if not chunks:
            return None
        data = torch.cat(chunks, dim=0) if len(chunks) > 1 else chunks[0]
        if self.time is not None and data.shape[0] > self.time:
            data = data.narrow_copy(0, data.shape[0] - self.time, self.time) if data.is_sparse \
                else data[-self.time:]
        return data

    def clear(self) -> None:
        self.chunks = {var: [] for var in self.state_vars}
        self.totals = dict.fromkeys(self.state_vars, 0)

    def has_data(self) -> bool:
        return any(self.chunks.values())


class Monitor(Tracked, AbstractMonitor):
    """Records ``state_vars`` of a layer or connection at the end of every step.

    ``get(var)`` returns ``[T, *var_shape]`` (layer variables: ``[T, B, *shape]``).
    With ``time=T`` it returns the last ``T`` recorded steps (fewer if fewer were
    recorded). Unlike BindsNET (quirk Q27), ``get`` never empties the monitor: call
    ``clear()`` (or ``reset_state_variables()``) to drop the recording. With
    ``sparse=True`` each run's steps are stored as a sparse tensor and ``get`` returns
    a sparse tensor.
    """

    untracked = frozenset({"recording"})

    def __init__(self, obj, state_vars: Iterable[str], time: int | None = None, batch_size: int = 1,
                 device: str | torch.device = "cpu", sparse: bool = False) -> None:
        if isinstance(state_vars, str):
            state_vars = (state_vars,)
        self.obj = obj
        self.state_vars = tuple(state_vars)
        if not self.state_vars:
            raise SnncError("Monitor: state_vars is empty")
        if time is not None and int(time) <= 0:
            raise SnncError(f"Monitor: time must be a positive number of steps, got {time}")
        self.time = None if time is None else int(time)
        self.batch_size = batch_size
        self.device = torch.device("cpu") if time is None else torch.device(device)
        self.sparse = bool(sparse)
        self.network = None
        self.dt: float | None = None
        self.recording = Recorder(self.state_vars, self.time, self.device, self.sparse)

    def parts(self):
        return [("", self.obj, self.state_vars, self.time)]

    def sink(self, suffix: str) -> Recorder:
        return self.recording

    def has_data(self) -> bool:
        return self.recording.has_data()

    def reset_state_variables(self) -> None:
        """Drop everything recorded."""
        self.recording.clear()

    clear = reset_state_variables

    def append(self, var: str, steps: torch.Tensor) -> None:
        """Add ``steps`` (``[T_run, *var_shape]``) recorded by a run."""
        self.recording.append(var, steps)

    def get(self, var: str) -> torch.Tensor:
        """The recording of ``var``: ``[T, *var_shape]`` (``torch.empty(0)`` if none)."""
        if var not in self.state_vars:
            raise SnncError(f"Monitor: {var!r} is not recorded (recording {list(self.state_vars)})")
        data = self.recording.steps(var)
        return torch.empty(0) if data is None else data


class NetworkMonitor(Tracked, AbstractMonitor):
    """Records ``state_vars`` (default ``v``, ``s``, ``w``) of every listed layer and
    connection (default: all) that has them.

    ``get()`` returns ``{layer name or (source, target): {var: tensor}}``: layer data
    as float32 ``[T, B, *shape]``, connection data as recorded ``[T, *w.shape]``.
    With ``time=T`` each tensor has exactly ``T`` rows, the last ``T`` steps, preceded
    by zero rows while fewer were recorded (as BindsNET's pre-allocated window).
    ``save(path, fmt="npz")`` writes a compressed numpy archive with keys
    ``"<layer>_<var>"`` and ``"<source>-<target>_<var>"``; ``fmt="pickle"`` a
    ``torch.save`` of ``get()``. ``reset_state_variables()`` empties it (BindsNET's
    raises with a recorded connection and ``time``, quirk Q29).
    """

    untracked = frozenset({"recorders"})

    def __init__(self, network, layers: Iterable[str] | None = None,
                 connections: Iterable[tuple[str, str]] | None = None,
                 state_vars: Iterable[str] | None = None, time: int | None = None) -> None:
        self.network = network
        self.layers = list(network.layers) if layers is None else list(layers)
        self.connections = list(network.connections) if connections is None else [tuple(c) for c in connections]
        for name in self.layers:
            if name not in network.layers:
                raise SnncError(f"NetworkMonitor: no layer {name!r}; layers are {list(network.layers)}")
        for key in self.connections:
            if key not in network.connections:
                raise SnncError(f"NetworkMonitor: no connection {key!r}; connections are "
                                f"{list(network.connections)}")
        self.state_vars = tuple(("v", "s", "w") if state_vars is None else state_vars)
        if time is not None and int(time) <= 0:
            raise SnncError(f"NetworkMonitor: time must be a positive number of steps, got {time}")
        self.time = None if time is None else int(time)
        self.dt: float | None = None
        self.recorders: dict = {}
        self.reset_state_variables()

    def _objects(self) -> list[tuple[str | tuple[str, str], object, tuple[str, ...]]]:
        found = []
        for key in [*self.layers, *self.connections]:
            obj = self._object(key)
            variables = tuple(var for var in self.state_vars if isinstance(getattr(obj, var, None), torch.Tensor))
            if variables:
                found.append((key, obj, variables))
        return found

    @staticmethod
    def _suffix(key) -> str:
        return f"/{key}" if isinstance(key, str) else f"/{key[0]}->{key[1]}"

    def parts(self):
        """One part per object it records, as chosen at construction."""
        return [(suffix, self._object(key), recorder.state_vars, self.time)
                for suffix, (key, recorder) in self.recorders.items()]

    def _object(self, key):
        return self.network.layers[key] if isinstance(key, str) else self.network.connections[key]

    def sink(self, suffix: str) -> Recorder:
        return self.recorders[suffix][1]

    def has_data(self) -> bool:
        return any(recorder.has_data() for _, recorder in self.recorders.values())

    def reset_state_variables(self) -> None:
        """Drop everything recorded (the recorders stay: a compiled run holds them)."""
        if self.recorders:
            for _, recorder in self.recorders.values():
                recorder.clear()
            return
        self.recorders = {
            self._suffix(key): (key, Recorder(variables, self.time, torch.device("cpu"),
                                              cast=torch.float32 if isinstance(key, str) else None))
            for key, _, variables in self._objects()}

    clear = reset_state_variables

    def get(self) -> dict:
        result: dict = {}
        for key, recorder in self.recorders.values():
            entry = result.setdefault(key, {})
            obj = self._object(key)
            for var in recorder.state_vars:
                data = recorder.steps(var)
                if data is None:
                    shape = tuple(getattr(obj, var).shape)
                    data = torch.zeros((0, *shape), dtype=torch.float32 if isinstance(key, str) else getattr(obj, var).dtype)
                if self.time is not None and data.shape[0] < self.time:
                    pad = torch.zeros((self.time - data.shape[0], *data.shape[1:]), dtype=data.dtype)
                    data = torch.cat([pad, data])
                entry[var] = data
        return result

    def save(self, path, fmt: str = "npz") -> None:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        data = self.get()
        if fmt == "npz":
            arrays = {}
            for key, variables in data.items():
                name = key if isinstance(key, str) else f"{key[0]}-{key[1]}"
                for var, tensor in variables.items():
                    arrays[f"{name}_{var}"] = tensor.numpy()
            np.savez_compressed(path, **arrays)
        elif fmt == "pickle":
            torch.save(data, path)
        else:
            raise SnncError(f"NetworkMonitor.save: fmt must be 'npz' or 'pickle', got {fmt!r}")
