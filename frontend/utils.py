"""BindsNET's ``utils``: patch extraction and the tilings the weight plots draw.

The tiling helpers turn a stack of small 2-D kernels into one image: the kernels sit
on a square grid, ``ceil(sqrt(count))`` to a side, in row-major order (kernel ``k``
at grid cell ``(k // side, k % side)``), with the cells left over filled with 0.
Their images are CPU tensors of the default float dtype, whatever the input's dtype
and device, ready for matplotlib (as in BindsNET 0.3.4).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

from snnc.errors import SnncError

__all__ = ["col2im_indices", "get_square_assignments", "get_square_weights", "im2col_indices",
           "reshape_conv2d_weights", "reshape_local_connection_2d_weights", "reshape_locally_connected_weights"]


def im2col_indices(x: torch.Tensor, kernel_height: int, kernel_width: int,
                   padding: tuple[int, int] = (0, 0), stride: tuple[int, int] = (1, 1)) -> torch.Tensor:
    """The patches of ``x`` ``[B, C, H, W]`` as columns ``[B, C·kh·kw, L]`` (``F.unfold``)."""
    return F.unfold(x, (kernel_height, kernel_width), padding=padding, stride=stride)


def col2im_indices(cols: torch.Tensor, x_shape: Sequence[int], kernel_height: int, kernel_width: int,
                   padding: tuple[int, int] = (0, 0), stride: tuple[int, int] = (1, 1)) -> torch.Tensor:
    """The inverse layout of :func:`im2col_indices` (``F.fold``; overlapping patches add).

    ``x_shape`` is the image's ``(H, W)`` or its full ``(B, C, H, W)``; only the last two
    sizes are read (BindsNET passes it to ``F.fold`` whole, so only ``(H, W)`` works there).
    """
    return F.fold(cols, tuple(x_shape)[-2:], (kernel_height, kernel_width), padding=padding, stride=stride)


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(int(v) for v in value)
    if len(pair) != 2:
        raise SnncError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair


def _grid_side(count: int) -> int:
    return math.ceil(math.sqrt(count))


def _tile(blocks: torch.Tensor) -> torch.Tensor:
    """``[..., R, C, h, w]`` blocks -> ``[..., R·h, C·w]``, block ``(r, c)`` at rows ``r·h``, columns ``c·w``."""
    *lead, rows, cols, h, w = blocks.shape
    return blocks.transpose(-3, -2).reshape(*lead, rows * h, cols * w)


def _square_grid(kernels: torch.Tensor, side: int) -> torch.Tensor:
    """``[..., n, h, w]`` kernels -> a ``side × side`` grid image ``[..., side·h, side·w]``:
    the first ``side²`` kernels in row-major order, the cells left over 0."""
    *lead, n, h, w = kernels.shape
    cells = kernels.new_zeros(*lead, side * side, h, w)
    used = min(n, side * side)
    cells[..., :used, :, :] = kernels[..., :used, :, :]
    return _tile(cells.reshape(*lead, side, side, h, w))


def _image(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.detach().to(device="cpu", dtype=torch.get_default_dtype())


def get_square_weights(weights: torch.Tensor, n_sqrt: int, side: int | tuple[int, int]) -> torch.Tensor:
    """The filters of ``weights`` ``[side0·side1, n_filters]`` as an ``n_sqrt × n_sqrt`` grid.

    Column ``k`` reshaped (row-major) to ``side`` is placed at block ``(k // n_sqrt,
    k % n_sqrt)`` of the ``[side0·n_sqrt, side1·n_sqrt]`` image; filters beyond
    ``n_sqrt²`` are left out, missing ones stay 0.
    """
    side0, side1 = _pair(side, "get_square_weights: side")
    if weights.dim() != 2 or weights.shape[0] != side0 * side1:
        raise SnncError(f"get_square_weights: weights has shape {tuple(weights.shape)}, "
                        f"expected [side0·side1 = {side0 * side1}, n_filters]")
    kernels = _image(weights).t().reshape(-1, side0, side1)
    return _square_grid(kernels, n_sqrt)


def get_square_assignments(assignments: torch.Tensor, n_sqrt: int) -> torch.Tensor:
    """An ``[n_sqrt, n_sqrt]`` grid of ``assignments`` in row-major order; cells past the
    end of ``assignments`` hold −1, assignments past ``n_sqrt²`` are left out."""
    grid = torch.full((n_sqrt * n_sqrt,), -1.0)
    values = _image(torch.as_tensor(assignments)).reshape(-1)[: n_sqrt * n_sqrt]
    grid[: values.numel()] = values
    return grid.reshape(n_sqrt, n_sqrt)


def reshape_conv2d_weights(weights: torch.Tensor) -> torch.Tensor:
    """A ``Conv2dConnection``'s weights ``[out, in, kh, kw]`` as one image.

    Nested square grids: an outer grid over the input channels (``ceil(sqrt(in))`` to a
    side), each cell an inner grid over the output channels (``ceil(sqrt(out))`` to a
    side) of ``kh × kw`` kernels; the image is ``[kh·s_in·s_out, kw·s_in·s_out]``.
    """
    if weights.dim() != 4:
        raise SnncError(f"reshape_conv2d_weights: weights has shape {tuple(weights.shape)}, "
                        "expected [out_channels, in_channels, kh, kw]")
    n_out, n_in = weights.shape[:2]
    per_input = _square_grid(_image(weights).transpose(0, 1), _grid_side(n_out))  # [in, s_out·kh, s_out·kw]
    return _square_grid(per_input, _grid_side(n_in))


def _positions_of_filters(kernels: torch.Tensor, n_filters: int) -> torch.Tensor:
    """``[n_filters, c0, c1, k0, k1]`` -> an outer ``c0 × c1`` grid over the positions, each
    cell a ``ceil(sqrt(n_filters))`` square grid over the filters' kernels there."""
    per_position = _square_grid(kernels.permute(1, 2, 0, 3, 4), _grid_side(n_filters))
    return _tile(per_position)


def reshape_local_connection_2d_weights(w: torch.Tensor, n_filters: int, kernel_size: int | tuple[int, int],
                                        conv_size: int | tuple[int, int],
                                        input_sqrt: int | tuple[int, int]) -> torch.Tensor:
    """A ``LocalConnection2D`` weight slice ``[n_filters, c0, c1, k0, k1]`` as one image.

    The outer grid follows the ``c0 × c1`` output positions; the cell of a position is a
    ``ceil(sqrt(n_filters))`` square grid of the filters' ``k0 × k1`` kernels there, so the
    image is ``[k0·s·c0, k1·s·c1]``. Only the first ``n_filters`` filters are drawn.
    ``w`` may also be one input channel's rows of the connection's weights,
    ``[n_filters·c0·c1, k0·k1]`` (filter-major); ``input_sqrt`` is accepted for
    BindsNET's signature and not needed.
    """
    k0, k1 = _pair(kernel_size, "reshape_local_connection_2d_weights: kernel_size")
    c0, c1 = _pair(conv_size, "reshape_local_connection_2d_weights: conv_size")
    if w.dim() == 2 and w.shape[1] == k0 * k1 and w.shape[0] % (c0 * c1) == 0:
        w = w.reshape(-1, c0, c1, k0, k1)
    if w.dim() != 5 or tuple(w.shape[1:]) != (c0, c1, k0, k1) or w.shape[0] < n_filters:
        raise SnncError(f"reshape_local_connection_2d_weights: w has shape {tuple(w.shape)}, "
                        f"expected [n_filters = {n_filters}, {c0}, {c1}, {k0}, {k1}]")
    return _positions_of_filters(_image(w[:n_filters]), n_filters)


def reshape_locally_connected_weights(w: torch.Tensor, n_filters: int, kernel_size: int | tuple[int, int],
                                      conv_size: int | tuple[int, int], locations: torch.Tensor,
                                      input_sqrt: int | tuple[int, int]) -> torch.Tensor:
    """A ``LocalConnection``'s weights ``[n_input, n_filters·conv_prod]`` as one image.

    The kernel of filter ``f`` at position ``p`` is ``w[locations[:, p], f·conv_prod + p]``
    reshaped to ``k0 × k1``; the kernels are laid out as in
    :func:`reshape_local_connection_2d_weights`. ``input_sqrt`` is not needed.
    """
    k0, k1 = _pair(kernel_size, "reshape_locally_connected_weights: kernel_size")
    c0, c1 = _pair(conv_size, "reshape_locally_connected_weights: conv_size")
    conv_prod = c0 * c1
    if tuple(locations.shape) != (k0 * k1, conv_prod):
        raise SnncError(f"reshape_locally_connected_weights: locations has shape {tuple(locations.shape)}, "
                        f"expected [k0·k1, c0·c1] = [{k0 * k1}, {conv_prod}]")
    if w.dim() != 2 or w.shape[1] < n_filters * conv_prod:
        raise SnncError(f"reshape_locally_connected_weights: w has shape {tuple(w.shape)}, "
                        f"expected [n_input, n_filters·c0·c1 = {n_filters * conv_prod}]")
    positions = torch.arange(conv_prod, device=w.device)
    columns = torch.arange(n_filters, device=w.device)[:, None] * conv_prod + positions  # [F, P]
    rows = locations.to(device=w.device, dtype=torch.long).t()  # [P, k0·k1]
    kernels = w[rows[None, :, :], columns[:, :, None]]  # [F, P, k0·k1]
    return _positions_of_filters(_image(kernels).reshape(n_filters, c0, c1, k0, k1), n_filters)
