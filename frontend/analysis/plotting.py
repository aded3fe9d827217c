"""BindsNET's ``analysis.plotting``: rasters and voltages of monitor recordings (here),
weight images (:mod:`snnc.analysis.weight_plots`), inputs, assignments and accuracy
curves (:mod:`snnc.analysis.summary_plots`).

Raster and voltage plots take a dict ``name -> [T, ...]`` recording and return the
artists and axes they drew, which a later call can pass back to redraw in place. Unlike
BindsNET, importing this module does not switch matplotlib to interactive mode.
"""
from __future__ import annotations

import torch

from snnc.analysis.summary_plots import plot_assignments, plot_input, plot_performance
from snnc.analysis.weight_plots import (_pyplot, plot_conv2d_weights, plot_local_connection_2d_weights,
                                        plot_locally_connected_weights, plot_weights)


def _axes(plt, count: int, axes, figsize) -> list:
    if axes is None:
        _, grid = plt.subplots(count, 1, figsize=figsize, squeeze=False)
        axes = list(grid[:, 0])
    return axes


def _window(data: torch.Tensor, time, neurons) -> tuple[torch.Tensor, int, int]:
    flat = data.detach().to("cpu").reshape(data.shape[0], -1).float()
    t0, t1 = time if time is not None else (0, flat.shape[0])
    lo, hi = neurons if neurons is not None else (0, flat.shape[1])
    return flat[t0:t1, lo:hi], t0, lo


def plot_spikes(spikes: dict[str, torch.Tensor], time=None, n_neurons=None, ims=None, axes=None,
                figsize=(8.0, 4.5)):
    """One raster per layer: a dot at (step, neuron) for every spike (batch flattened)."""
    plt = _pyplot()
    n_neurons = n_neurons or {}
    axes = _axes(plt, len(spikes), axes, figsize)
    ims = []
    for ax, (name, data) in zip(axes, spikes.items()):
        window, t0, lo = _window(data, time, n_neurons.get(name))
        steps, neurons = torch.nonzero(window, as_tuple=True)
        ax.clear()
        ims.append(ax.scatter((steps + t0).numpy(), (neurons + lo).numpy(), s=1, c="k", marker="."))
        ax.set_title(f"{name} spikes")
        ax.set_ylabel("neuron")
        ax.set_xlim(t0, t0 + window.shape[0])
        ax.set_ylim(lo, lo + window.shape[1])
    axes[-1].set_xlabel("simulation step")
    plt.tight_layout()
    return ims, axes


def plot_voltages(voltages: dict[str, torch.Tensor], ims=None, axes=None, time=None, n_neurons=None,
                  cmap="jet", plot_type="color", thresholds=None, figsize=(8.0, 4.5)):
    """Voltages per layer: a neuron x step colour map, or one line per neuron."""
    plt = _pyplot()
    n_neurons = n_neurons or {}
    thresholds = thresholds or {}
    axes = _axes(plt, len(voltages), axes, figsize)
    ims = []
    for ax, (name, data) in zip(axes, voltages.items()):
        window, t0, lo = _window(data, time, n_neurons.get(name))
        ax.clear()
        if plot_type == "line":
            ims.append(ax.plot(range(t0, t0 + window.shape[0]), window.numpy()))
            threshold = thresholds.get(name)
            if threshold is not None and torch.as_tensor(threshold).numel() == 1:
                ax.axhline(float(threshold), linestyle="--", color="k")
        else:
            ims.append(ax.imshow(window.T.numpy(), cmap=cmap, aspect="auto", origin="lower",
                                 extent=(t0, t0 + window.shape[0], lo, lo + window.shape[1])))
        ax.set_title(f"{name} voltages")
        ax.set_ylabel("neuron" if plot_type != "line" else "v (mV)")
    axes[-1].set_xlabel("simulation step")
    plt.tight_layout()
    return ims, axes


__all__ = ["plot_assignments", "plot_conv2d_weights", "plot_input", "plot_local_connection_2d_weights",
           "plot_locally_connected_weights", "plot_performance", "plot_spikes", "plot_voltages", "plot_weights"]
