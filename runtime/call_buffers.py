"""The buffers each call fills afresh: the recordings (handed to the monitors after the
call) and the random numbers it draws.

A training loop calls ``run`` with the same batch size and number of steps thousands
of times, so everything about these buffers that does not change is worked out once
per ``(batch, steps)`` (:class:`CallBuffers`): each recording's shape as the generated
code indexes it, the shape its monitor shows, its numpy dtype, and where it goes. A small
CPU recording for the numba backend is then one ``np.empty`` in the monitor's shape,
reshaped (a view) for the call, and one ``torch.from_numpy`` for the monitor; the rest
(large buffers from the mapping pool, other devices, sparse or whole-weight
recordings) go through :func:`output_buffer` and :meth:`Recording.hand_back`.

The random numbers (uniform in [0, 1): the one-spike draws, Bernoulli inputs) are
drawn into one tensor kept for these calls with ``uniform_()``, which takes exactly
the numbers ``torch.rand`` of that shape would from torch's generator (no call keeps
them past its end).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from snnc.runtime.binding import Recording
from snnc.runtime.buffers import MIN_BYTES, NUMPY_DTYPES, output_buffer


def sizes(shape: tuple, batch: int, steps: int, time: int | None) -> tuple[int, ...]:
    """A planned shape with ``B`` (batch), ``T`` (steps) and ``R`` (a monitor's rows,
    ``min(steps, time)``) resolved."""
    rows = steps if time is None else min(steps, time)
    named = {"B": batch, "T": steps, "R": rows}
    return tuple(named.get(d, d) for d in shape)


class CallBuffers:
    """The recordings and random numbers of calls with one batch size and number of steps."""

    def __init__(self, recordings: list[Recording], randoms: list[tuple[int, tuple]], batch: int,
                 steps: int, numpy_arrays: bool, device: torch.device, adapt: Callable) -> None:
        self.device, self.adapt = device, adapt
        self.draws = []         # (position, tensor, its form for the generated code)
        for position, shape in randoms:
            drawn = torch.empty(sizes(shape, batch, steps, None), device=device)
            self.draws.append((position, drawn, adapt(drawn)))
        self.arrays = []        # (position, shape, monitor shape, numpy dtype, recorder, var)
        self.tensors = []       # (position, shape, recording)
        for recording in recordings:
            shape = sizes(recording.shape, batch, steps, recording.time)
            numpy_dtype = NUMPY_DTYPES.get(recording.dtype) if numpy_arrays else None
            shown = None
            if recording.pattern is None and recording.row_shape is None:
                shown = shape if recording.layer_shape is None else (*shape[:-1], *recording.layer_shape)
            if (numpy_dtype is not None and shown is not None
                    and math.prod(shape) * recording.dtype.itemsize < MIN_BYTES):
                self.arrays.append((recording.position, shape, shown, numpy_dtype, recording.monitor,
                                    recording.var))
            else:
                self.tensors.append((recording.position, shape, recording))

    def make(self, args: list) -> tuple[list, list]:
        """Fresh recordings and random numbers, placed in ``args``; what :meth:`hand_back`
        needs after the call."""
        for position, drawn, adapted in self.draws:
            drawn.uniform_()
            args[position] = adapted
        arrays, tensors = [], []
        for position, shape, shown, numpy_dtype, _, _ in self.arrays:
            array = np.empty(shown, numpy_dtype)      # numpy allocates faster than torch
            args[position] = array.reshape(shape)     # a view: the generated code's indexing
            arrays.append(array)
        for position, shape, recording in self.tensors:
            buffer = output_buffer(shape, recording.dtype, self.device)
            args[position] = self.adapt(buffer)
            tensors.append(buffer)
        return arrays, tensors

    def hand_back(self, made: tuple[list, list]) -> None:
        """Give each monitor its recording."""
        arrays, tensors = made
        for (_, _, _, _, recorder, var), array in zip(self.arrays, arrays):
            recorder.append(var, torch.from_numpy(array))
        for (_, _, recording), buffer in zip(self.tensors, tensors):
            recording.monitor.append(recording.var, recording.hand_back(buffer))
