"""Pipeline analyzers write their plots (matplotlib) and event files (tensorboardX);
the dataset pipeline trains as a plain loop over the same loader does."""
from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from snnc.analysis.pipeline_analysis import image_grid, moving_average
from snnc.datasets import DataLoader
from snnc.encoding import PoissonEncoder
from snnc.learning import PostPre
from snnc.network import Network
from snnc.network.nodes import Input, LIFNodes
from snnc.network.topology import Connection
from snnc.pipeline import TorchVisionDatasetPipeline


def record():
    spikes = {"A": (torch.rand(20, 1, 6) < 0.3), "B": (torch.rand(20, 1, 4) < 0.3)}
    voltages = {"A": -65 + 10 * torch.rand(20, 1, 6)}
    return spikes, voltages


def test_moving_average_and_image_grid():
    assert np.allclose(moving_average([1, 3, 5, 7], 2), [1, 2, 4, 6])
    assert np.allclose(moving_average([1, 3], None), [1, 3])
    single = image_grid(torch.tensor([[0.0, 2.0], [4.0, 2.0]]), normalize=True)
    assert single.shape == (3, 2, 2) and torch.allclose(single[0], torch.tensor([[0.0, 0.5], [1.0, 0.5]]))
    tiles = image_grid(torch.ones(5, 1, 3, 3), nrow=2, padding=1, pad_value=0.25)
    assert tiles.shape == (3, 3 * 4 + 1, 2 * 4 + 1)
    assert tiles[:, 1:4, 1:4].eq(1).all() and tiles[0, 0, 0] == 0.25 and tiles[0, 9:12, 5:8].eq(0.25).all()


def test_matplotlib_analyzer_draws(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from snnc.analysis.pipeline_analysis import MatplotlibAnalyzer

    plt.close("all")
    analyzer = MatplotlibAnalyzer(volts_type="line")
    spikes, voltages = record()
    for step in range(2):                                # the second call redraws in place
        analyzer.plot_obs(torch.rand(1, 8, 8))
        analyzer.plot_reward([1.0, 3.0, 2.0 + step], reward_window=2)
        analyzer.plot_spikes(spikes)
        analyzer.plot_voltages(voltages, thresholds={"A": -52.0})
        analyzer.plot_conv2d_weights(torch.rand(4, 1, 3, 3))
        analyzer.finalize_step()
    assert set(analyzer.plots) == {"obs", "reward", "spike", "voltage", "conv2d"}
    assert len(plt.get_fignums()) == 5
    _, _, line = analyzer.plots["reward"]
    assert np.allclose(line.get_ydata(), [1.0, 2.0, 3.0])
    for number in plt.get_fignums():
        path = tmp_path / f"figure{number}.png"
        plt.figure(number).savefig(path)
        assert path.stat().st_size > 1000
    plt.close("all")


def read_events(folder):
    """(tag, step, kind) of every summary value in the event files under ``folder``."""
    from tensorboardX.proto import event_pb2

    found = []
    for path in sorted(folder.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        at = 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at:at + 8])
            event = event_pb2.Event.FromString(data[at + 12:at + 12 + length])
            at += 12 + length + 4
            for value in event.summary.value:
                found.append((value.tag, event.step, value.WhichOneof("value")))
    return found


def test_tensorboard_analyzer_writes_events(tmp_path):
    pytest.importorskip("tensorboardX")
    from snnc.analysis.pipeline_analysis import TensorboardAnalyzer

    analyzer = TensorboardAnalyzer(str(tmp_path / "logs"))
    spikes, voltages = record()
    for step in (1, 2):
        analyzer.plot_obs(torch.rand(1, 8, 8), step=step)
        analyzer.plot_reward([0.5, 1.5 * step], step=step)
        analyzer.plot_spikes(spikes, step=step)
        analyzer.plot_voltages(voltages, step=step)
        analyzer.plot_conv2d_weights(torch.rand(4, 1, 3, 3), step=step)
        analyzer.finalize_step()
    analyzer.close()
    events = read_events(tmp_path / "logs")
    tags = {(tag, step, kind) for tag, step, kind in events}
    for step in (1, 2):
        assert {("obs", step, "image"), ("reward", step, "simple_value"), ("spike_A", step, "image"),
                ("spike_B", step, "image"), ("voltage_A", step, "image"), ("conv2d", step, "image")} <= tags


def test_tensorboard_voltage_images_are_normalised(tmp_path):
    pytest.importorskip("tensorboardX")
    from snnc.analysis.pipeline_analysis import TensorboardAnalyzer

    analyzer = TensorboardAnalyzer(str(tmp_path / "logs"))
    logged = {}
    analyzer.writer.add_image = lambda tag, image, step: logged.__setitem__(tag, image)
    voltages = torch.linspace(-70, -50, 12).reshape(3, 1, 4)
    analyzer.plot_voltages({"A": voltages}, step=0)
    image = logged["voltage_A"]
    assert image.shape == (3, 3, 4) and image.min() == 0 and image.max() == 1
    assert torch.allclose(image[0], (voltages.reshape(3, 4) + 70) / 20)
    analyzer.close()


def test_tensorboard_needs_tensorboardx(monkeypatch):
    import sys

    from snnc.analysis.pipeline_analysis import TensorboardAnalyzer

    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"snnc\[tensorboard\]"):
        TensorboardAnalyzer()


class Images(torch.utils.data.Dataset):
    """Eight 4x4 images with Poisson spike trains, as BindsNET's image datasets give them."""

    def __init__(self):
        self.images = torch.rand(8, 1, 4, 4, generator=torch.Generator().manual_seed(1)) * 200
        self.encoder = PoissonEncoder(time=15)

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return {"image": self.images[i], "label": i % 2, "encoded_image": self.encoder(self.images[i])}


def conv_like_network(seed):
    torch.manual_seed(seed)
    network = Network()
    network.add_layer(Input(shape=(1, 4, 4), traces=True), name="X")
    network.add_layer(LIFNodes(n=5, traces=True), name="Y")
    network.add_connection(Connection(network.layers["X"], network.layers["Y"], update_rule=PostPre,
                                      nu=(1e-2, 1e-1), wmin=0, wmax=10, w=3 + 5 * torch.rand(16, 5)),
                           source="X", target="Y")
    return network


def test_torchvision_dataset_pipeline_matches_a_plain_loop(tmp_path):
    data = Images()
    network = conv_like_network(0)
    pipeline = TorchVisionDatasetPipeline(network, data, num_epochs=2, batch_size=2, allow_gpu=False,
                                          plot_config={"data_step": None}, save_interval=3,
                                          save_dir=str(tmp_path / "net.pt"))
    torch.manual_seed(5)
    pipeline.train()
    assert pipeline.step_count == 8 and (tmp_path / "net.pt").exists()

    reference = conv_like_network(0)
    torch.manual_seed(5)
    for _ in range(2):
        for batch in DataLoader(data, batch_size=2, shuffle=True):
            reference.reset_state_variables()
            reference.run({"X": batch["encoded_image"]}, time=15)
    w = network.connections[("X", "Y")].w
    assert torch.equal(w, reference.connections[("X", "Y")].w)
    assert not torch.equal(w, conv_like_network(0).connections[("X", "Y")].w)
