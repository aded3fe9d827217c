"""Monitors: which state variables to record, and the recordings a run hands back."""
from __future__ import annotations

from typing import Iterable

import torch

from snnc.errors import SnncError
from snnc.changes import Tracked


class AbstractMonitor:
    """Base of monitors."""


class Monitor(Tracked, AbstractMonitor):
    """Records ``state_vars`` of a layer or connection at the end of every step.

    ``get(var)`` returns ``[T, *var_shape]`` (layer variables: ``[T, B, *shape]``).
    With ``time=T`` it returns the last ``T`` recorded steps (fewer if fewer were
    recorded). Unlike BindsNET, ``get`` never empties the monitor: call ``clear()``
    (or ``reset_state_variables()``) to drop the recording.
    """

    untracked = frozenset({"recording"})

    def __init__(
        self,
        obj,
        state_vars: Iterable[str],
        time: int | None = None,
        batch_size: int = 1,
        device: str | torch.device = "cpu",
        sparse: bool = False,
    ) -> None:
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
        self.recording: dict[str, list[torch.Tensor]] = {}
        self.reset_state_variables()

    def reset_state_variables(self) -> None:
        """Drop everything recorded."""
        self.recording = {var: [] for var in self.state_vars}

    clear = reset_state_variables

    def append(self, var: str, steps: torch.Tensor) -> None:
        """Add ``steps`` (``[T_run, *var_shape]``) recorded by a run."""
        chunks = self.recording[var]
        chunks.append(steps if steps.device == self.device else steps.to(self.device))
        if self.time is not None:
            total = sum(c.shape[0] for c in chunks)
            while chunks and total - chunks[0].shape[0] >= self.time:
                total -= chunks.pop(0).shape[0]

    def get(self, var: str) -> torch.Tensor:
        """The recording of ``var``: ``[T, *var_shape]`` (``torch.empty(0)`` if none)."""
        if var not in self.recording:
            raise SnncError(f"Monitor: {var!r} is not recorded (recording {list(self.state_vars)})")
        chunks = self.recording[var]
        if not chunks:
            return torch.empty(0)
        data = torch.cat(chunks, dim=0) if len(chunks) > 1 else chunks[0]
        if self.time is not None:
            data = data[-self.time:]
        return data.to_sparse() if self.sparse else data
