"""Pipeline analyzers (spec 8): what a pipeline shows each step, on screen
(``MatplotlibAnalyzer``, needs ``snnc[plot]``) or as TensorBoard event files
(``TensorboardAnalyzer``, needs tensorboardX: ``snnc[tensorboard]``)."""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch

from snnc.utils import reshape_conv2d_weights


class PipelineAnalyzer(ABC):
    """Plots or logs of a pipeline's observations, rewards, spikes, voltages and
    conv weights; ``tag`` keys one figure (or event series) per kind of data."""

    @abstractmethod
    def finalize_step(self) -> None:
        """Flush this step's output."""

    @abstractmethod
    def plot_obs(self, obs: torch.Tensor, tag: str = "obs", step: int | None = None) -> None:
        """An observation image ``[C, H, W]`` (or ``[H, W]``)."""

    @abstractmethod
    def plot_reward(self, reward_list: list, reward_window: int | None = None, tag: str = "reward",
                    step: int | None = None) -> None:
        """Accumulated reward per episode (moving average over ``reward_window``)."""

    @abstractmethod
    def plot_spikes(self, spike_record: dict, tag: str = "spike", step: int | None = None) -> None:
        """Spike recordings, one per layer."""

    @abstractmethod
    def plot_voltages(self, voltage_record: dict, thresholds: dict | None = None, tag: str = "voltage",
                      step: int | None = None) -> None:
        """Voltage recordings, one per layer, with optional thresholds."""

    @abstractmethod
    def plot_conv2d_weights(self, weights: torch.Tensor, tag: str = "conv2d", step: int | None = None) -> None:
        """A ``Conv2dConnection``'s kernels ``[C_out, C_in, kh, kw]``, tiled."""


def moving_average(values: list, window: int | None) -> np.ndarray:
    """The running mean over the last ``window`` values (fewer at the start)."""
    data = np.asarray([float(v) for v in values], dtype=np.float64)
    if window is None or data.size == 0:
        return data
    window = max(1, min(int(window), data.size))
    sums = np.cumsum(np.concatenate([[0.0], data]))
    ends = np.arange(1, data.size + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


class MatplotlibAnalyzer(PipelineAnalyzer):
    """Live matplotlib windows, redrawn in place each step. ``volts_type`` is
    ``"color"`` or ``"line"`` (see ``plot_voltages``); other options (a pipeline's
    ``plot_config``) are accepted and ignored."""

    def __init__(self, **kwargs) -> None:
        from snnc.analysis.weight_plots import _pyplot

        self.volts_type = kwargs.get("volts_type", "color")
        self.plt = _pyplot()
        self.plt.ion()
        self.plots: dict = {}

    def plot_obs(self, obs, tag="obs", step=None) -> None:
        image = obs.detach().cpu().numpy()
        if image.ndim == 3:
            image = np.transpose(image, (1, 2, 0)).squeeze()
        if tag in self.plots:
            self.plots[tag][1].set_data(image)
            return
        _, ax = self.plt.subplots()
        ax.set_title("Observation")
        ax.set_xticks(())
        ax.set_yticks(())
        self.plots[tag] = ax, ax.imshow(image, cmap="gray")

    def plot_reward(self, reward_list, reward_window=None, tag="reward", step=None) -> None:
        curve = moving_average(reward_list, reward_window)
        if tag in self.plots:
            _, ax, line = self.plots[tag]
            line.set_data(range(len(curve)), curve)
            ax.relim()
            ax.autoscale_view()
            return
        figure, ax = self.plt.subplots()
        ax.set_title("Accumulated reward")
        ax.set_xlabel("Episode")
        ax.set_ylabel("Reward")
        (line,) = ax.plot(curve)
        self.plots[tag] = figure, ax, line

    def plot_spikes(self, spike_record, tag="spike", step=None) -> None:
        from snnc.analysis.plotting import plot_spikes

        ims, axes = self.plots.get(tag, (None, None))
        self.plots[tag] = plot_spikes(spike_record, ims=ims, axes=axes)

    def plot_voltages(self, voltage_record, thresholds=None, tag="voltage", step=None) -> None:
        from snnc.analysis.plotting import plot_voltages

        ims, axes = self.plots.get(tag, (None, None))
        self.plots[tag] = plot_voltages(voltage_record, ims=ims, axes=axes, plot_type=self.volts_type,
                                        thresholds=thresholds)

    def plot_conv2d_weights(self, weights, tag="conv2d", step=None) -> None:
        from snnc.analysis.plotting import plot_conv2d_weights

        low, high = weights.min().item(), weights.max().item()
        self.plots[tag] = plot_conv2d_weights(weights, low, high, im=self.plots.get(tag))

    def finalize_step(self) -> None:
        self.plt.draw()
        self.plt.pause(1e-8)
        self.plt.show()


def image_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
               pad_value: float = 0.0) -> torch.Tensor:
    """Images ``[H, W]``, ``[C, H, W]`` or ``[B, C, H, W]`` tiled ``nrow`` per row into one
    3-channel ``[3, H', W']`` image (one image: no padding); ``normalize`` rescales the
    values to [0, 1] by their min and max."""
    data = images.detach().float().cpu()
    if data.dim() == 2:
        data = data.unsqueeze(0)
    if data.dim() == 3:
        data = data.unsqueeze(0)
    if data.dim() != 4:
        raise ValueError(f"image_grid: expected [H, W], [C, H, W] or [B, C, H, W], got {list(images.shape)}")
    if data.shape[1] == 1:
        data = data.expand(-1, 3, -1, -1)
    data = data.clone()
    if normalize:
        low, high = data.min(), data.max()
        data = (data - low) / max(float(high - low), 1e-5)
    if data.shape[0] == 1:
        return data[0]
    count, channels, height, width = data.shape
    cols = min(nrow, count)
    rows = -(-count // cols)
    grid = torch.full((channels, rows * (height + padding) + padding, cols * (width + padding) + padding),
                      float(pad_value))
    for index in range(count):
        r, c = divmod(index, cols)
        top, left = r * (height + padding) + padding, c * (width + padding) + padding
        grid[:, top:top + height, left:left + width] = data[index]
    return grid


class TensorboardAnalyzer(PipelineAnalyzer):
    """Event files for TensorBoard in ``summary_directory`` (tensorboardX's
    ``SummaryWriter``): images for observations, spikes, voltages and conv kernels, a
    scalar for the latest episode reward."""

    def __init__(self, summary_directory: str = "./logs") -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError as error:
            raise ImportError("TensorboardAnalyzer needs tensorboardX: pip install 'snnc[tensorboard]'") \
                from error
        self.writer = SummaryWriter(summary_directory)

    def finalize_step(self) -> None:
        self.writer.flush()

    def plot_obs(self, obs, tag="obs", step=None) -> None:
        self.writer.add_image(tag, image_grid(obs, nrow=4, normalize=True), step)

    def plot_reward(self, reward_list, reward_window=None, tag="reward", step=None) -> None:
        if len(reward_list):
            self.writer.add_scalar(tag, float(moving_average(reward_list, reward_window)[-1]), step)

    def plot_spikes(self, spike_record, tag="spike", step=None) -> None:
        for name, spikes in spike_record.items():
            raster = spikes.reshape(1, 1, -1, spikes.shape[-1]).float()   # rows: time (x batch)
            self.writer.add_image(f"{tag}_{name}", image_grid(raster, nrow=1, pad_value=0.5), step)

    def plot_voltages(self, voltage_record, thresholds=None, tag="voltage", step=None) -> None:
        for name, voltages in voltage_record.items():
            image = voltages.reshape(1, 1, -1, voltages.shape[-1]).float()
            self.writer.add_image(f"{tag}_{name}", image_grid(image, nrow=1, normalize=True), step)

    def plot_conv2d_weights(self, weights, tag="conv2d", step=None) -> None:
        tiled = reshape_conv2d_weights(weights.detach().cpu().float()).unsqueeze(0)
        tiled = tiled - tiled.min()
        self.writer.add_image(tag, tiled / max(float(tiled.max()), 1e-12), step)

    def close(self) -> None:
        self.writer.close()
