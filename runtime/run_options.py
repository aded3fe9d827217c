"""``Network.run``'s keyword arguments beyond inputs and time (spec 2.3-2.4).

* ``clamp`` / ``unclamp``: ``{layer: mask}``; after the layer's spike decision,
  ``s = 1`` where clamped, then ``s = 0`` where unclamped, before its trace update
  (quirk Q7). A 1-D mask holds for every step, a mask with one more dimension gives
  one row per step. A row is a bool mask over the layer's first dimension (BindsNET
  indexes ``s[:, mask]``), over its ``n`` neurons or over its whole shape, or integer
  indices into the first dimension (a uint8 tensor is refused: flags or indices?).
* ``injects_v``: ``{layer: values}`` added to ``v`` before the step (1-D: every step;
  2-D ``[T, n]`` or ``[T, *shape]``: per step).
* ``masks``: ``{(source, target): bool tensor shaped as w}``; ``w = 0`` where true,
  after every step's weight update, learning or not.
* ``reward``, ``a_plus``, ``a_minus``: only reward-modulated rules read them
  (:func:`rule_input`): ``reward`` is required while such a rule learns, a number or
  one value per sample ``[B]``; ``a_plus`` / ``a_minus`` default to 1 and -1.

Each is checked here and turned into ``[rows, n]`` (or ``w``-shaped) tensors the
generated code reads; the caller's tensors are never modified. Errors name the layer
or connection and what was expected.
"""
from __future__ import annotations

import math

import numpy as np

import torch

from snnc.errors import SnncError, warn
from snnc.ir.record import has_own_step

LAYER_MASKS = {"clamp": "clamp", "unclamp": "unclamp", "injects_v": "inject_v"}
KNOWN = {"clamp", "unclamp", "injects_v", "masks", "reward", "a_plus", "a_minus"}


def _row_mask(owner: str, row: torch.Tensor, shape: list[int], n: int) -> torch.Tensor:
    """One step's mask as bool ``[n]``."""
    if row.dtype == torch.bool:
        if tuple(row.shape) == tuple(shape) or tuple(row.shape) == (n,):
            return row.reshape(n)
        if tuple(row.shape) == (shape[0],):
            return row.reshape(shape[0], *[1] * (len(shape) - 1)).expand(shape).reshape(n)
        raise SnncError(f"{owner}: a bool mask of shape {tuple(row.shape)} does not fit the layer of shape "
                        f"{shape}; expected ({shape[0]},), ({n},) or {tuple(shape)}")
    if row.dtype == torch.uint8:
        raise SnncError(f"{owner}: a uint8 mask is ambiguous (0/1 flags or indices); give a bool mask, "
                        "or int64 indices into the layer's first dimension")
    if row.dtype in (torch.int64, torch.int32, torch.int16, torch.int8) and row.dim() <= 1:
        index = row.reshape(-1).long()
        if index.numel() and (index.min() < -shape[0] or index.max() >= shape[0]):
            raise SnncError(f"{owner}: index {int(index.abs().max())} out of range for the layer's first "
                            f"dimension ({shape[0]})")
        first = torch.zeros(shape[0], dtype=torch.bool)
        first[index] = True
        return first.reshape(shape[0], *[1] * (len(shape) - 1)).expand(shape).reshape(n)
    raise SnncError(f"{owner}: expected a bool mask or integer indices, got dtype {row.dtype} "
                    f"and shape {tuple(row.shape)}")


def spike_mask(owner: str, mask, shape: list[int], n: int, steps: int) -> tuple[torch.Tensor, bool]:
    """``clamp`` / ``unclamp`` as bool ``[rows, n]`` and whether rows are per step."""
    if not isinstance(mask, torch.Tensor):
        raise SnncError(f"{owner}: expected a tensor, got {type(mask).__name__}")
    mask = mask.detach().cpu()
    integer = mask.dtype != torch.bool
    per_step = mask.dim() >= 2 if not integer else mask.dim() == 2
    if not per_step:
        return _row_mask(owner, mask, shape, n).reshape(1, n), False
    if mask.shape[0] < steps:
        raise SnncError(f"{owner}: a per-step mask has {mask.shape[0]} rows, the run has {steps} steps")
    return torch.stack([_row_mask(owner, mask[t], shape, n) for t in range(steps)]), True


def injected(owner: str, values, shape: list[int], n: int, steps: int) -> tuple[torch.Tensor, bool]:
    """``injects_v`` as float32 ``[rows, n]`` and whether rows are per step."""
    if not isinstance(values, torch.Tensor):
        raise SnncError(f"{owner}: expected a tensor, got {type(values).__name__}")
    values = values.detach().cpu().to(torch.float32)
    if not torch.isfinite(values).all():
        raise SnncError(f"{owner}: injected voltages contain NaN or inf")
    if values.dim() == 1:
        try:
            return values.expand(shape).reshape(1, n).clone(), False
        except RuntimeError:
            if values.numel() == n:
                return values.reshape(1, n).clone(), False
    elif values.dim() >= 2 and values.shape[0] >= steps and math.prod(values.shape[1:]) == n and \
            (values.dim() == 2 or list(values.shape[1:]) == list(shape)):
        return values[:steps].reshape(steps, n).clone(), True
    raise SnncError(f"{owner}: values of shape {tuple(values.shape)} do not fit the layer of shape {shape}; "
                    f"expected ({n},), [T, {n}] or [T, *{shape}] with T >= {steps}")


def prepare(network, steps: int, kwargs: dict) -> tuple[dict, dict]:
    """``(structure, tensors)``: ``structure`` maps each layer / connection to the masks
    it is given (``{"clamp": per_step, ...}``; what the compiled code depends on);
    ``tensors`` maps ``(owner, var)`` to the tensor to pass."""
    unknown = sorted(set(kwargs) - KNOWN)
    if unknown:
        warn(f"Network.run: ignoring argument(s) snnc does not use: {unknown}")
    structure: dict = {}
    tensors: dict = {}
    for keyword, var in LAYER_MASKS.items():
        given = kwargs.get(keyword) or {}
        if not isinstance(given, dict):
            raise SnncError(f"run: {keyword} must be a dict of layer name -> tensor, got {type(given).__name__}")
        for name, value in given.items():
            owner = f"run({keyword}) for layer {name!r}"
            layer = network.layers.get(name)
            if layer is None:
                raise SnncError(f"{owner}: no layer of that name; layers are {list(network.layers)}")
            if has_own_step(layer):
                raise SnncError(f"{owner}: {type(layer).__name__} runs its own forward (an opaque op); "
                                "apply the mask in that forward")
            if var == "inject_v" and "v" not in layer.ir_state():
                raise SnncError(f"{owner}: {type(layer).__name__} has no voltage v to inject into")
            prepare_one = injected if var == "inject_v" else spike_mask
            tensor, per_step = prepare_one(owner, value, list(layer.shape), layer.n, steps)
            structure.setdefault(name, {})[var] = per_step
            tensors[(name, var)] = tensor
    masks = kwargs.get("masks") or {}
    if not isinstance(masks, dict):
        raise SnncError(f"run: masks must be a dict of (source, target) -> bool tensor, got {type(masks).__name__}")
    for key, mask in masks.items():
        connection = network.connections.get(key)
        if connection is None:
            raise SnncError(f"run(masks): no connection {key!r}; connections are {list(network.connections)}")
        owner = f"run(masks) for connection {key!r}"
        w = getattr(connection, "w", None)
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise SnncError(f"{owner}: expected a bool tensor, got "
                            f"{mask.dtype if isinstance(mask, torch.Tensor) else type(mask).__name__}")
        if w is None:
            raise SnncError(f"{owner}: a {type(connection).__name__} has no weights w to mask (a "
                            "MulticompartmentConnection leaves synapses out with a Mask feature)")
        if w.layout != torch.strided:
            raise SnncError(f"{owner}: the weights are sparse (a fixed pattern); leave synapses out with "
                            "the connection's sparsity instead of a mask")
        if tuple(mask.shape) != tuple(w.shape):
            raise SnncError(f"{owner}: mask shape {tuple(mask.shape)} differs from the weights' {tuple(w.shape)}")
        structure.setdefault(key, {})["mask"] = True
        tensors[(key, "mask")] = mask.detach().to(w.device).contiguous()
    return structure, tensors


DEFAULT_RULE_INPUTS = {"a_plus": 1.0, "a_minus": -1.0}
# the defaults as the 0-d tensors a run hands over (read only), made once
_DEFAULT_TENSORS = {name: torch.tensor(value, dtype=torch.float32) for name, value in DEFAULT_RULE_INPUTS.items()}


def rule_input(owner, var: str, kwargs: dict, batch: int) -> torch.Tensor:
    """The value of ``reward`` (float32 ``[B]``), ``a_plus`` or ``a_minus`` (0-d) for
    this run, for the connection ``owner`` whose rule reads it."""
    value = kwargs.get(var)
    if isinstance(value, dict) and var != "reward":       # per connection (spec 2.3 item 7)
        value = value.get(owner)
    if value is None and var in _DEFAULT_TENSORS:
        return _DEFAULT_TENSORS[var]
    where = f"run: connection {owner!r}"
    if value is None:
        raise SnncError(f"{where}: its learning rule is reward-modulated and the network learns; "
                        "give run(..., reward=...) (a number or one value per sample), or call "
                        "network.train(False)")
    if isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, bool):
        number = float(value)                  # the per-step RL call: a plain number, no tensor checks
        if not math.isfinite(number):
            raise SnncError(f"{where}: {var} contains NaN or inf")
        return torch.full((batch,), number, dtype=torch.float32) if var == "reward" \
            else torch.tensor(number, dtype=torch.float32)
    tensor = torch.as_tensor(value).detach().to(torch.float32).cpu()
    if not torch.isfinite(tensor).all():
        raise SnncError(f"{where}: {var} contains NaN or inf")
    if var != "reward" or tensor.numel() == 1:
        tensor = tensor.reshape(())
        return tensor.expand(batch).contiguous() if var == "reward" else tensor
    if tuple(tensor.shape) != (batch,):
        raise SnncError(f"{where}: {var} must be a number or one value per sample (shape ({batch},)), "
                        f"got shape {tuple(tensor.shape)}")
    return tensor.clone()


def check_reward(network, kwargs: dict, checked: tuple | None = None) -> tuple:
    """A reward (or ``a_plus`` / ``a_minus``) that no connection's rule reads is ignored
    with a warning (BindsNET ignores it silently; its own tests pass ``reward`` to every
    rule). Returns what was checked (the connections' rule types and the keywords
    given); given that again as ``checked``, it checks nothing (a per-step RL loop)."""
    from snnc.ir.schema import RULE_SCHEMAS

    now = (tuple((name, type(getattr(c, "update_rule", None))) for name, c in network.connections.items()),
           tuple(k for k in ("reward", "a_plus", "a_minus") if kwargs.get(k) is not None))
    if now == checked:
        return now
    for keyword in ("reward", "a_plus", "a_minus"):
        if kwargs.get(keyword) is None:
            continue
        readers = [key for key, c in network.connections.items()
                   if _rule_name(c) in RULE_SCHEMAS and keyword in RULE_SCHEMAS[_rule_name(c)].reads]
        if not readers:
            warn(f"run: {keyword}={kwargs[keyword]!r} is ignored: no connection's learning rule uses it "
                 "(reward-modulated rules do; this network's rules are "
                 f"{sorted({type(getattr(c, 'update_rule', None)).__name__ for c in network.connections.values()})})")
    return now


def _rule_name(connection):
    options = connection.ir_options() if hasattr(connection, "ir_options") else {}
    return options.get("rule")
