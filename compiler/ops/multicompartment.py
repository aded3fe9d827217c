"""Folding a ``MulticompartmentConnection``'s feature pipeline into a dense connection.

A pipeline of values ``f0, f1, …`` with ops ``mul`` / ``add`` / ``sub`` (spec 4.8)
gives synapse ``i → j`` the signal ``s_i·A_ij + O_ij`` with

    A = Π_{mul k} f_k          O = Σ_{add/sub k} ±f_k · Π_{mul m after k} f_m

and target ``j`` receives ``Σ_i (s_i·A_ij + O_ij)``. Without spikes ``O`` is the same
every step, so the connection is a dense one:

* no main feature: ``w = A`` and ``b[j] = Σ_i O_ij``, both folded when the run binds;
* a main feature ``M`` (the learning one, or the one with a norm), multiplied and
  with no add before it: ``w = f_M`` (the feature's own tensor, updated in place by
  its rule, clamped to its range, normalised by its norm), ``factor = Π_{mul k ≠ M}
  f_k`` (fixed, applied per synapse as the signal passes: ``s_i·w_ij·factor_ij``) and
  ``b[j] = Σ_i O_ij``;
* a ``Probability`` feature (non-linear: a fresh Bernoulli draw per synapse and step)
  with no add before it stays a per-synapse term of the propagation loop:
  ``prob = f_P``, and synapse ``i → j`` transmits where ``uniform_hash(seed_t, i·n_tgt
  + j) < prob_ij`` (:mod:`snnc.compiler.render.hashing`).

So a pipeline never materialises a ``[batch, n_src, n_tgt]`` tensor: per step it
costs what a dense connection costs. :func:`fused_attrs` is the one definition; the
``fuse`` pass writes its result into the IR and ``bind_arguments`` recomputes it from
the current values at every rebind.
"""
from __future__ import annotations

import math

import torch

MULTICOMPARTMENT = "multicompartment"


def _full(value: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """A feature value as ``[n_src, n_tgt]`` (a number is broadcast; a value with one
    copy per sample keeps its leading axis)."""
    value = value.detach()
    if value.numel() == 1:
        return value.reshape(()).expand(shape)
    return value if value.dim() == 3 and value.shape[0] > 1 else value.reshape(shape)


def fold(values: list[torch.Tensor], ops: list[str], shape: tuple[int, int], skip=()):
    """``(A, O)`` over the pipeline (spec 4.8), leaving out the positions in ``skip`` (the
    main feature, a Probability) from ``A``; either may be None (all ones / all zeros).
    The ``fuse`` pass folds the recorded values; an eager step folds this step's."""
    factor: torch.Tensor | None = None
    offset: torch.Tensor | None = None
    for k, (value, op) in enumerate(zip(values, ops)):
        v = _full(value, shape)
        if op == "mul":
            if k in skip:
                continue
            factor = v if factor is None else v * factor
            offset = None if offset is None else v * offset
        elif op == "add":
            offset = v if offset is None else offset + v
        else:
            offset = -v if offset is None else offset - v
    return factor, offset


def fused_attrs(attrs: dict, n_src: int, n_tgt: int) -> dict:
    """The dense connection an MCC edge's attributes fold into (see the module doc)."""
    params, options = attrs["params"], attrs["options"]
    kinds = [kind for kind, _ in options["pipeline"]]
    ops = [op for _, op in options["pipeline"]]
    values = [params[f"f{k}"] for k in range(len(ops))]
    main = options.get("main")
    shape = (n_src, n_tgt)
    drawn = [k for k, kind in enumerate(kinds) if kind == "Probability"]
    factor, offset = fold(values, ops, shape, {main, *drawn})
    fused = dict(params)
    for k in range(len(ops)):
        del fused[f"f{k}"]
    fused["prob"] = _full(values[drawn[0]], shape).to(torch.float32).contiguous() if drawn else None
    if main is None:
        w = factor if factor is not None else torch.ones(shape)
        if not w.is_floating_point():
            w = w.to(torch.float32)
        fused["w"] = w.contiguous()
        fused["factor"] = None
        described = f"w = {' * '.join(f'f{k}' for k, op in enumerate(ops) if op == 'mul') or '1'}"
    else:
        fused["w"] = values[main].reshape(shape)          # a view: in-place updates reach the feature
        fused["factor"] = None if factor is None else factor.to(torch.float32).contiguous()
        described = f"w = f{main} ({kinds[main]}, kept and updated in place)"
        if factor is not None:
            described += f"; factor = {' * '.join(f'f{k}' for k, op in enumerate(ops) if op == 'mul' and k != main)}"
    fused["b"] = None if offset is None else offset.to(torch.float32).sum(dim=0)
    if drawn:
        described += f"; prob = f{drawn[0]} (a Bernoulli mask per step)"
    if offset is not None:
        described += "; b[j] = sum_i O[i, j]"
    for bound, default in (("wmin", -math.inf), ("wmax", math.inf)):
        if fused.get(bound) is None:
            fused[bound] = torch.tensor(default)
    fused_options = {k: v for k, v in options.items() if k not in ("pipeline", "main", "norm_each_step")}
    fused_options["norm_signed"] = True
    fused_options["norm_each_step"] = bool(options.get("norm_each_step"))
    fused_options["fused"] = f"{MULTICOMPARTMENT} [{', '.join(f'f{k}: {kind} ({op})' for k, (kind, op) in enumerate(options['pipeline']))}] -> {described}"
    return {**attrs, "op": "dense", "params": fused, "options": fused_options}


__all__ = ["MULTICOMPARTMENT", "fold", "fused_attrs"]
