"""Check and normalise run inputs to ``[T, B, n]`` without touching the caller's tensors."""
from __future__ import annotations

import math

import numpy as np
import torch

from snnc.changes import CHANGES
from snnc.errors import SnncError


def count_steps(time: float, dt: float) -> int:
    """``time / dt`` steps; a quotient within 1e-9 of an integer counts as that integer."""
    if isinstance(time, torch.Tensor) and time.numel() == 1:
        time = time.item()
    if isinstance(time, bool) or not isinstance(time, (int, float, np.integer, np.floating)):
        raise SnncError(f"run: time must be a number of ms, got {time!r} ({type(time).__name__})")
    ratio = float(time) / dt
    if not math.isfinite(ratio) or ratio < 0:
        raise SnncError(f"run: time must be a finite number >= 0, got {time}")
    nearest = round(ratio)
    return int(nearest) if abs(ratio - nearest) < 1e-9 else int(ratio)


def _layout(name: str, tensor: torch.Tensor, shape: list[int], n: int, steps: int) -> torch.Tensor:
    """``tensor`` as ``[T, B, n]`` (a view where possible)."""
    dims = tuple(tensor.shape)
    k = len(shape)
    if tensor.dim() == 1 and dims[0] == n:
        if steps > 1:
            raise SnncError(f"input {name!r}: a 1-D input {dims} covers one step, but the run "
                            f"has {steps} steps; give [T, {n}] or [T, B, *{shape}]")
        return tensor.reshape(1, 1, n)
    if tensor.dim() == k + 1 and list(dims[1:]) == shape or tensor.dim() == 2 and dims[1] == n:
        return tensor.reshape(dims[0], 1, n)
    if tensor.dim() == k + 2 and list(dims[2:]) == shape or tensor.dim() == 3 and dims[2] == n:
        return tensor.reshape(dims[0], dims[1], n)
    lead = next((j for j, size in enumerate(shape) if size != 1), k)
    if tensor.dim() >= 3 and any(list(dims[2:]) == shape[j:] for j in range(1, lead + 1)):
        return tensor.reshape(dims[0], dims[1], n)      # [T, B, *shape] without leading 1s of the shape
    raise SnncError(f"input {name!r}: shape {dims} does not fit layer {name!r} of shape {shape}; "
                    f"expected [T, {n}], [T, *{shape}] or [T, B, *{shape}] (the shape's leading 1s may be "
                    "left out)")


def _not_finite(tensor: torch.Tensor) -> bool:
    """NaN / inf check without torch's thread pool on CPU (numpy's check runs on this
    thread, so a run's per-call work never waits on thread barriers when the cores are
    busy)."""
    if tensor.device.type == "cpu" and tensor.dtype in (torch.float32, torch.float64, torch.float16):
        return not bool(np.isfinite(tensor.detach().numpy()).all())
    return not bool(torch.isfinite(tensor).all())


def normalize_inputs(network, inputs, steps: int, device: torch.device, known: dict | None = None
                     ) -> tuple[dict[str, torch.Tensor], int | None]:
    """Every input as a contiguous ``[steps, B, n]`` tensor, and the common batch size.

    ``known`` (a caller's dict, kept between calls) remembers the ``[T, B, n]`` layout
    of each input name, shape and dtype already checked while the network has not
    changed (``snnc.changes``), so a loop's later calls only reshape."""
    if not isinstance(inputs, dict):
        raise SnncError(f"run: inputs must be a dict of layer name -> tensor, got {type(inputs).__name__}")
    shaped: dict[str, torch.Tensor] = {}
    batch = None
    for name, tensor in inputs.items():
        key = layout = None
        if known is not None and type(tensor) is torch.Tensor:
            key = (name, tensor.shape, tensor.dtype, steps, CHANGES[0])
            layout = known.get(key)
        if layout is None:
            data = _checked_layout(network, name, tensor, steps)
            if key is not None:
                if len(known) >= 64:            # stale change counts: start again
                    known.clear()
                known[key] = data.shape
        else:
            data = tensor.reshape(layout)
        if data.shape[0] < steps:
            raise SnncError(f"input {name!r}: has {data.shape[0]} time steps, the run needs {steps}")
        if tensor.is_floating_point() and _not_finite(data[:steps]):
            raise SnncError(f"input {name!r}: contains NaN or inf")
        if batch is not None and data.shape[1] != batch:
            first = next(iter(shaped))
            raise SnncError(f"input {name!r}: batch size {data.shape[1]} differs from input "
                            f"{first!r}'s batch size {batch}")
        batch = data.shape[1]
        if data.shape[0] != steps:
            data = data[:steps]
        if data.device != device:
            data = data.to(device)
        shaped[name] = data if data.is_contiguous() else data.contiguous()
    return shaped, batch


def _checked_layout(network, name: str, tensor, steps: int) -> torch.Tensor:
    """``tensor`` as ``[T, B, n]`` for input layer ``name``, after checking its type."""
    if name not in network.layers:
        raise SnncError(f"input {name!r}: no layer of that name; layers are {list(network.layers)}")
    if not isinstance(tensor, torch.Tensor):
        raise SnncError(f"input {name!r}: expected a torch.Tensor, got {type(tensor).__name__}")
    if tensor.is_complex() or tensor.dtype in (torch.int8, torch.int16):
        raise SnncError(f"input {name!r}: dtype {tensor.dtype} is not supported; use bool, "
                        "uint8, an integer or a float dtype")
    layer = network.layers[name]
    return _layout(name, tensor, list(layer.shape), layer.n, steps)
