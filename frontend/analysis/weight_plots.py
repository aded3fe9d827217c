"""Weight images: a connection matrix, convolution kernels, locally connected fields.

Each function draws into a new figure, or, given the image it returned before
(``im``), updates that image in place, so a training loop redraws cheaply.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from snnc.errors import SnncError


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("snnc.analysis.plotting needs matplotlib: pip install 'snnc[plot]'") from error
    return plt


def _matrix(name: str, weights, dims: int = 2) -> torch.Tensor:
    data = torch.as_tensor(weights).detach().to("cpu")
    if data.layout != torch.strided:
        data = data.to_dense()
    if data.dim() != dims:
        raise SnncError(f"{name}: expected a {dims}-D tensor, got shape {tuple(data.shape)}")
    return data.float()


def numbered(save: str) -> str:
    """The first free ``stem.K.ext`` (K = 1, 2, …) beside ``save``: successive saves of
    one figure do not overwrite each other."""
    path = Path(save)
    suffix = path.suffix or ".png"
    k = 1
    while path.with_name(f"{path.stem}.{k}{suffix}").exists():
        k += 1
    return str(path.with_name(f"{path.stem}.{k}{suffix}"))


def _image(plt, data: torch.Tensor, im, wmin, wmax, cmap, figsize, title):
    """Draw ``data`` with a colour bar from ``wmin`` to ``wmax``, or (``im`` given) put
    it into that image with the colour limits at the data's minimum and maximum."""
    if im is None:
        fig, ax = plt.subplots(figsize=figsize)
        im = ax.imshow(data.numpy(), cmap=cmap, vmin=wmin, vmax=wmax)
        fig.colorbar(im, ax=ax)
        ax.set_xticks(())
        ax.set_yticks(())
        ax.set_title(title or "")
        fig.tight_layout()
    else:
        im.set_data(data.numpy())
        im.set_clim(float(data.min()), float(data.max()))
        if title is not None:
            im.axes.set_title(title)
    return im


def plot_weights(weights, wmin=0, wmax=1, im=None, figsize=(5, 5), cmap="hot_r", save=None, title=None):
    """A 2-D weight matrix as an image. With ``save``, the figure is written to a new
    numbered file beside it and ``(im, file)`` is returned."""
    plt = _pyplot()
    im = _image(plt, _matrix("plot_weights", weights), im, wmin, wmax, cmap, figsize, title)
    if save is not None:
        name = numbered(save)
        im.figure.savefig(name, bbox_inches="tight")
        return im, name
    return im


def _grid_lines(ax, rows: int, cols: int, cell: tuple[int, int], color="k") -> None:
    for r in range(1, rows):
        ax.axhline(r * cell[0] - 0.5, color=color, linewidth=0.5)
    for c in range(1, cols):
        ax.axvline(c * cell[1] - 0.5, color=color, linewidth=0.5)


def plot_conv2d_weights(weights, wmin=0.0, wmax=1.0, im=None, figsize=(5, 5), cmap="hot_r", title=None):
    """Every ``[kh, kw]`` kernel of ``[C_out, C_in, kh, kw]`` weights tiled on a grid
    (:func:`snnc.utils.reshape_conv2d_weights`), with lines between the kernels."""
    from snnc.utils import reshape_conv2d_weights

    plt = _pyplot()
    data = _matrix("plot_conv2d_weights", weights, 4)
    tiled = reshape_conv2d_weights(data)
    fresh = im is None
    im = _image(plt, tiled, im, wmin, wmax, cmap, figsize, title)
    if fresh:
        c_out, c_in, kh, kw = data.shape
        side_out, side_in = math.ceil(math.sqrt(c_out)), math.ceil(math.sqrt(c_in))
        _grid_lines(im.axes, side_out, side_out, (side_in * kh, side_in * kw))
    return im


def plot_locally_connected_weights(weights, n_filters, kernel_size, conv_size, locations, input_sqrt, wmin=0.0,
                                   wmax=1.0, im=None, lines=True, figsize=(5, 5), cmap="hot_r", title=None):
    """A ``LocalConnection``'s ``[n_source, n_filters·conv_prod]`` matrix as each filter's
    receptive field at each position (:func:`snnc.utils.reshape_locally_connected_weights`)."""
    from snnc.utils import reshape_locally_connected_weights

    plt = _pyplot()
    tiled = reshape_locally_connected_weights(_matrix("plot_locally_connected_weights", weights), n_filters,
                                              kernel_size, conv_size, locations, input_sqrt)
    fresh = im is None
    im = _image(plt, tiled, im, wmin, wmax, cmap, figsize, title)
    if fresh and lines:
        kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        conv = (conv_size, conv_size) if isinstance(conv_size, int) else tuple(conv_size)
        side = math.ceil(math.sqrt(n_filters))
        _grid_lines(im.axes, side * conv[0], side * conv[1], kernel)
    return im


def plot_local_connection_2d_weights(lc, input_channel=0, output_channel=None, im=None, lines=True,
                                     figsize=(5, 5), cmap="hot_r", color="r", title=None):
    """A ``LocalConnection2D``'s fields from one input channel: every filter (or only
    ``output_channel``) at every output position, each position a ``kh × kw`` tile
    (:func:`snnc.utils.reshape_local_connection_2d_weights`)."""
    from snnc.utils import reshape_local_connection_2d_weights

    plt = _pyplot()
    w = torch.as_tensor(lc.w).detach().to("cpu").float()
    if not 0 <= input_channel < w.shape[0]:
        raise SnncError(f"plot_local_connection_2d_weights: input_channel {input_channel} is not in "
                        f"0..{w.shape[0] - 1}")
    kernel, conv, n_filters = tuple(lc.kernel_size), tuple(lc.conv_size), int(lc.n_filters)
    fields = w[input_channel].view(n_filters, -1, w.shape[-1])            # [F, P, K]
    if output_channel is not None:
        if not 0 <= output_channel < n_filters:
            raise SnncError(f"plot_local_connection_2d_weights: output_channel {output_channel} is not in "
                            f"0..{n_filters - 1}")
        fields, n_filters = fields[output_channel:output_channel + 1], 1
    tiled = reshape_local_connection_2d_weights(fields.reshape(-1, w.shape[-1]), n_filters, kernel, conv,
                                                int(math.sqrt(w.shape[-1])))
    lo, hi = (float(torch.as_tensor(lc.wmin).min()), float(torch.as_tensor(lc.wmax).max()))
    fresh = im is None
    im = _image(plt, tiled, im, lo if math.isfinite(lo) else None, hi if math.isfinite(hi) else None, cmap,
                figsize, title)
    if fresh and lines:
        _grid_lines(im.axes, tiled.shape[0] // kernel[0], tiled.shape[1] // kernel[1], kernel, color)
    return im
