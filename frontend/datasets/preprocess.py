"""Frame pre-processing for environments (spec 13): crop, grey-scale, resize, binarise.

BindsNET does these with OpenCV; snnc uses numpy only and reproduces OpenCV's
arithmetic on 8-bit images, so an Atari frame pre-processes to the same 0/1 pixels:

* ``gray_scale``: ``Y = 0.299 R + 0.587 G + 0.114 B``; for uint8 in 15-bit fixed
  point, ``(9798 R + 19235 G + 3735 B + 2**14) >> 15``.
* ``subsample(image, x, y)``: bilinear resize to ``y`` rows and ``x`` columns,
  sampling source point ``(d + 0.5) * in / out - 0.5`` with edge clamping; for uint8
  the two weights per axis are rounded to 1/2048 and the rows combined with OpenCV's
  vectorised fixed-point rounding (its scalar tail can differ by 1 on a few pixels;
  the binarised frames agree).
* ``binary_image``: 1 where a pixel is > 0, else 0 (same dtype).
"""
from __future__ import annotations

import numpy as np

from snnc.errors import SnncError

_COEF_BITS = 11                      # 8-bit resize weights: multiples of 1/2048


def _array(image, name: str, dims: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim not in dims:
        raise SnncError(f"{name}: expected an image with {' or '.join(map(str, dims))} dimensions, "
                        f"got shape {list(array.shape)}")
    return array


def gray_scale(image: np.ndarray) -> np.ndarray:
    """An RGB image ``[H, W, 3]`` as grey ``[H, W]`` of the same dtype."""
    rgb = _array(image, "gray_scale", (3,))
    if rgb.shape[2] != 3:
        raise SnncError(f"gray_scale: expected 3 colour channels (RGB), got shape {list(rgb.shape)}")
    if rgb.dtype == np.uint8:
        r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
        return ((9798 * r + 19235 * g + 3735 * b + (1 << 14)) >> 15).astype(np.uint8)
    grey = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    return grey.astype(rgb.dtype)


def crop(image: np.ndarray, x1: int, x2: int, y1: int, y2: int) -> np.ndarray:
    """Rows ``x1:x2`` and columns ``y1:y2`` of an ``[H, W, C]`` image."""
    return _array(image, "crop", (3,))[x1:x2, y1:y2, :]


def binary_image(image: np.ndarray) -> np.ndarray:
    """1 where ``image > 0``, else 0, in the image's dtype."""
    array = np.asarray(image)
    return (array > 0).astype(array.dtype)


def _taps(size_in: int, size_out: int, fixed: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output index: the two source indices and their weights (scaled by 2048 when fixed)."""
    scale = size_in / size_out
    where = (np.arange(size_out) + 0.5) * scale - 0.5
    low = np.floor(where).astype(np.int64)
    frac = where - low
    frac[low < 0] = 0.0
    low = np.clip(low, 0, size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    if fixed:
        upper = np.rint(frac * (1 << _COEF_BITS)).astype(np.int64)
        return low, high, np.stack([(1 << _COEF_BITS) - upper, upper])
    return low, high, np.stack([1.0 - frac, frac])


def subsample(image: np.ndarray, x: int, y: int) -> np.ndarray:
    """Bilinear resize of ``[H, W]`` or ``[H, W, C]`` to ``y`` rows and ``x`` columns."""
    array = _array(image, "subsample", (2, 3))
    if int(x) < 1 or int(y) < 1:
        raise SnncError(f"subsample: output size must be >= 1, got x={x}, y={y}")
    fixed = array.dtype == np.uint8
    rows, cols = _taps(array.shape[0], int(y), fixed), _taps(array.shape[1], int(x), fixed)
    work = array.astype(np.int64 if fixed else np.float64)
    extra = (1,) * (array.ndim - 2)
    col_w = [w.reshape((1, -1) + extra) for w in cols[2]]
    row_w = [w.reshape((-1, 1) + extra) for w in rows[2]]
    across = work[:, cols[0]] * col_w[0] + work[:, cols[1]] * col_w[1]
    low, high = across[rows[0]], across[rows[1]]
    if fixed:   # OpenCV's vectorised rounding: 16-bit high products, then (sum + 2) >> 2
        down = ((row_w[0] * (low >> 4)) >> 16) + ((row_w[1] * (high >> 4)) >> 16)
        return np.clip((down + 2) >> 2, 0, 255).astype(np.uint8)
    return (low * row_w[0] + high * row_w[1]).astype(array.dtype)
