"""Plots of an input and its encoding, of label assignments and of accuracy curves."""
from __future__ import annotations


from snnc.analysis.weight_plots import _matrix, _pyplot, numbered
from snnc.errors import SnncError


def plot_input(image, inpt, label=None, axes=None, ims=None, figsize=(8, 4)):
    """Two panels: the image and its encoding summed over time (``inpt``, the same 2-D
    shape as the image, e.g. ``spikes.sum(0)``). Returns ``(axes, ims)``; pass them back to
    redraw."""
    plt = _pyplot()
    picture = _matrix("plot_input (image)", image)
    encoded = _matrix("plot_input (inpt)", inpt)
    title = "Current image" + (f" (label = {int(label)})" if label is not None else "")
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=figsize)
        ims = (axes[0].imshow(picture.numpy(), cmap="binary"), axes[1].imshow(encoded.numpy(), cmap="binary"))
        for ax, name in zip(axes, (title, "Reconstruction")):
            ax.set_title(name)
            ax.set_xticks(())
            ax.set_yticks(())
        fig.tight_layout()
    else:
        ims[0].set_data(picture.numpy())
        ims[1].set_data(encoded.numpy())
        ims[0].set_clim(float(picture.min()), float(picture.max()))
        ims[1].set_clim(float(encoded.min()), float(encoded.max()))
        axes[0].set_title(title)
    return axes, ims


def plot_assignments(assignments, im=None, figsize=(5, 5), classes=None, save=None):
    """A 2-D grid of neuron labels (``−1``: never fired), one colour per label and one
    for ``−1`` (10 labels unless ``classes`` names them). With ``save``, written to a new
    numbered file; returns ``(im, file)`` then."""
    plt = _pyplot()
    grid = _matrix("plot_assignments", assignments)
    labels = list(classes) if classes is not None else list(range(10))
    if grid.numel() and (grid.max() >= len(labels) or grid.min() < -1):
        raise SnncError(f"plot_assignments: labels must be in -1..{len(labels) - 1}, got "
                        f"{int(grid.min())}..{int(grid.max())}")
    if im is None:
        from matplotlib.colors import ListedColormap

        fig, ax = plt.subplots(figsize=figsize)
        palette = plt.get_cmap("RdBu", len(labels) + 1)
        cmap = ListedColormap([palette(k) for k in range(len(labels) + 1)])
        im = ax.matshow(grid.numpy(), cmap=cmap, vmin=-1.5, vmax=len(labels) - 0.5)
        bar = fig.colorbar(im, ax=ax, ticks=list(range(-1, len(labels))))
        bar.ax.set_yticklabels(["none", *[str(name) for name in labels]])
        ax.set_title("Categorical assignments")
        ax.set_xticks(())
        ax.set_yticks(())
    else:
        im.set_data(grid.numpy())
    if save is not None:
        name = numbered(save)
        im.figure.savefig(name, bbox_inches="tight")
        return im, name
    return im


def plot_performance(performances: dict, ax=None, figsize=(7, 4), x_scale=1, save=None):
    """Accuracy (%) per evaluation scheme against the update index times ``x_scale``.
    With ``save``, the figure is written there."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    else:
        ax.clear()
    for scheme, values in performances.items():
        values = [float(v) for v in values]
        ax.plot([k * x_scale for k in range(len(values))], values, label=scheme)
    ax.set_ylim(0, 100)
    ax.set_title("Estimated classification accuracy")
    ax.set_xlabel("No. of examples")
    ax.set_ylabel("Accuracy (%)")
    ax.legend()
    if save is not None:
        ax.figure.savefig(save, bbox_inches="tight")
    return ax
