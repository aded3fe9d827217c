"""snnc.utils: patch extraction and the tilings behind the weight plots (spec section 11)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from snnc import SnncError
from snnc.utils import (col2im_indices, get_square_assignments, get_square_weights, im2col_indices,
                        reshape_conv2d_weights, reshape_local_connection_2d_weights,
                        reshape_locally_connected_weights)


def block(image: torch.Tensor, row: int, col: int, height: int, width: int) -> torch.Tensor:
    return image[row * height:(row + 1) * height, col * width:(col + 1) * width]


def test_im2col_and_col2im_are_unfold_and_fold():
    x = torch.randn(2, 3, 5, 6)
    cols = im2col_indices(x, 2, 3, padding=(1, 0), stride=(2, 1))
    assert cols.shape == (2, 3 * 2 * 3, 3 * 4)
    assert torch.equal(cols, F.unfold(x, (2, 3), padding=(1, 0), stride=(2, 1)))
    folded = F.fold(cols, (5, 6), (2, 3), padding=(1, 0), stride=(2, 1))
    assert torch.equal(col2im_indices(cols, (5, 6), 2, 3, padding=(1, 0), stride=(2, 1)), folded)
    assert torch.equal(col2im_indices(cols, x.shape, 2, 3, padding=(1, 0), stride=(2, 1)), folded)  # (B, C, H, W)


@pytest.mark.parametrize("side", [2, (2, 3)])
def test_get_square_weights_places_filter_k_at_block_i_j(side):
    side0, side1 = (side, side) if isinstance(side, int) else side
    weights = torch.arange(side0 * side1 * 3, dtype=torch.float64).view(side0 * side1, 3)  # 3 filters
    image = get_square_weights(weights, 2, side)
    assert image.shape == (2 * side0, 2 * side1) and image.dtype == torch.float32
    for k in range(3):
        assert torch.equal(block(image, k // 2, k % 2, side0, side1), weights[:, k].view(side0, side1).float())
    assert (block(image, 1, 1, side0, side1) == 0).all()  # the missing fourth filter


def test_get_square_weights_leaves_out_filters_beyond_the_grid():
    weights = torch.arange(4 * 5.0).view(4, 5)
    image = get_square_weights(weights, 2, 2)
    assert image.shape == (4, 4) and torch.equal(block(image, 1, 1, 2, 2), weights[:, 3].view(2, 2))


def test_get_square_assignments_fills_with_minus_one():
    grid = get_square_assignments(torch.tensor([3, 1, 2]), 2)
    assert torch.equal(grid, torch.tensor([[3.0, 1.0], [2.0, -1.0]]))
    assert get_square_assignments(torch.arange(6), 2).tolist() == [[0, 1], [2, 3]]


def test_reshape_conv2d_weights_nests_output_channels_inside_input_channels():
    weights = torch.arange(2 * 3 * 4 * 5.0).view(2, 3, 4, 5)  # out 2, in 3, kernel 4 x 5
    image = reshape_conv2d_weights(weights)
    # input channels on a 2 x 2 grid of cells 8 x 10, each a 2 x 2 grid over the 2 outputs
    assert image.shape == (16, 20)
    assert torch.equal(image[8:12, 5:10], weights[1, 2])   # in 2 -> cell (1, 0); out 1 -> (0, 1)
    assert torch.equal(image[0:4, 15:20], weights[1, 1])   # in 1 -> cell (0, 1); out 1 -> (0, 1)
    assert (image[8:16, 10:20] == 0).all()                 # no fourth input channel
    assert (image[4:8, :] == 0).all()                      # no third or fourth output channel


def test_reshape_local_connection_2d_weights_nests_filters_inside_positions():
    w = torch.arange(3 * 2 * 3 * 2 * 2.0).view(3, 2, 3, 2, 2)  # 3 filters, positions 2 x 3, kernel 2 x 2
    image = reshape_local_connection_2d_weights(w, 3, 2, (2, 3), (5, 6))
    assert image.shape == (2 * 2 * 2, 2 * 2 * 3)  # cells of 2 x 2 filters, each kernel 2 x 2
    # filter 2 at position (1, 2): cell (1, 2) is 4 x 4, the filter's kernel at (1, 0) in it
    assert torch.equal(image[4 + 2:4 + 4, 8:8 + 2], w[2, 1, 2])
    assert (image[4 + 2:4 + 4, 8 + 2:8 + 4] == 0).all()  # no fourth filter
    assert reshape_local_connection_2d_weights(w, 2, (2, 2), (2, 3), (5, 6)).shape == (8, 12)
    # the same weights as one input channel's rows of LocalConnection2D.w, [F·c0·c1, k0·k1]
    assert torch.equal(reshape_local_connection_2d_weights(w.reshape(3 * 6, 4), 3, 2, (2, 3), 5), image)


def test_a_single_position_is_tiled_like_any_other():
    # BindsNET takes another path here, which mis-tiles non-square kernels (a deliberate difference)
    w = torch.arange(2 * 3 * 2.0).view(2, 1, 1, 3, 2)
    image = reshape_local_connection_2d_weights(w, 2, (3, 2), (1, 1), (3, 2))
    assert torch.equal(image[:3], torch.cat([w[0, 0, 0], w[1, 0, 0]], dim=1))
    assert (image[3:] == 0).all()


def test_reshape_locally_connected_weights_reads_each_kernel_through_locations():
    # a 4 x 4 input, kernel 2, stride 2: 4 positions; 2 filters; target f * 4 + p
    rows, cols = torch.meshgrid(torch.arange(2), torch.arange(2), indexing="ij")
    corners = torch.tensor([0, 2, 8, 10])
    locations = (rows * 4 + cols).reshape(4, 1) + corners  # [kernel 4, positions 4]
    w = torch.arange(16 * 8.0).view(16, 8)
    image = reshape_locally_connected_weights(w, 2, 2, 2, locations, 4)
    assert image.shape == (2 * 2 * 2, 2 * 2 * 2)
    # filter 1 at position 3 (cell (1, 1), 4 x 4): kernel at (0, 1) in the cell
    expected = w[locations[:, 3], 1 * 4 + 3].view(2, 2)
    assert torch.equal(image[4:6, 6:8], expected)
    assert expected.tolist() == [[10 * 8 + 7, 11 * 8 + 7], [14 * 8 + 7, 15 * 8 + 7]]


@pytest.mark.parametrize("call, message", [
    (lambda: get_square_weights(torch.zeros(5, 2), 2, 2), r"weights has shape \(5, 2\), expected \[side0·side1 = 4"),
    (lambda: reshape_conv2d_weights(torch.zeros(2, 3, 4)), r"expected \[out_channels, in_channels, kh, kw\]"),
    (lambda: reshape_local_connection_2d_weights(torch.zeros(3, 2, 2, 3, 3), 3, 3, 3, 5),
     r"w has shape \(3, 2, 2, 3, 3\), expected \[n_filters = 3, 3, 3, 3, 3\]"),
    (lambda: reshape_locally_connected_weights(torch.zeros(16, 8), 2, 2, 2, torch.zeros(4, 3), 4), r"locations has shape"),
    (lambda: get_square_weights(torch.zeros(4, 2), 2, (1, 2, 2)), r"side must be an int or a pair"),
])
def test_bad_shapes_are_snnc_errors(call, message):
    with pytest.raises(SnncError, match=message):
        call()
