"""Weight normalisation, the one torch definition of each rule (spec 4.1, 4.3).

Both work in place on float tensors; a connection's ``normalize()`` calls them. A
compiled run applies the same rules from the op's normalisation nests (the golden
traces check both against spec 16.11).
"""
from __future__ import annotations

import torch


def normalize_columns(w: torch.Tensor, norm: float | torch.Tensor) -> None:
    """Dense: scale each column of ``w`` so that Σ_i |w[i, j]| = norm (a zero sum divides by 1)."""
    column_sums = w.abs().sum(dim=0, keepdim=True)
    column_sums[column_sums == 0] = 1.0
    w.mul_(norm / column_sums)


def normalize_rows_signed(w2d: torch.Tensor, norm: float | torch.Tensor) -> None:
    """Convolution: scale each row of ``w2d`` by ``norm / Σ_k w2d[r, k]``.

    The sum is signed and has no zero guard (BindsNET's numbers: a zero-sum row
    becomes inf/NaN). For a ``[C_out, C_in, kh, kw]`` kernel pass its
    ``[C_out·C_in, kh·kw]`` view: one row per (output, input) channel pair.
    """
    w2d.mul_(norm / w2d.sum(dim=1, keepdim=True))
