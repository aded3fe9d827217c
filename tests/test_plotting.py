"""snnc.analysis.plotting (spec section 8), headless: each plot is rendered with the Agg
backend to a PNG, and the drawn data and the rendered pixels are checked."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from snnc import SnncError  # noqa: E402
from snnc.analysis import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def rendered(figure, path) -> np.ndarray:
    figure.savefig(path)
    return matplotlib.image.imread(path)


def colours(pixels: np.ndarray) -> int:
    return len(np.unique(pixels[..., :3].reshape(-1, 3), axis=0))


def test_plot_spikes_draws_every_spike_in_its_window(tmp_path):
    spikes = {"A": torch.zeros(20, 1, 6, dtype=torch.bool), "B": torch.zeros(20, 1, 3, dtype=torch.bool)}
    spikes["A"][[2, 5, 17], 0, [0, 4, 5]] = True
    spikes["B"][9, 0, 1] = True
    ims, axes = plotting.plot_spikes(spikes, time=(0, 10))
    assert len(axes) == 2
    assert sorted(map(tuple, ims[0].get_offsets().tolist())) == [(2.0, 0.0), (5.0, 4.0)]   # step 17 is outside
    assert ims[1].get_offsets().tolist() == [[9.0, 1.0]]
    assert colours(rendered(axes[0].figure, tmp_path / "spikes.png")) > 1


def test_plot_voltages_color_and_line(tmp_path):
    v = torch.linspace(-70, -50, 30).view(10, 1, 3)
    ims, axes = plotting.plot_voltages({"L": v})
    assert np.allclose(ims[0].get_array(), v.view(10, 3).T.numpy())
    ims, axes = plotting.plot_voltages({"L": v}, plot_type="line", thresholds={"L": -52.0})
    assert len(ims[0]) == 3 and any(line.get_linestyle() == "--" for line in axes[0].get_lines())
    assert colours(rendered(axes[0].figure, tmp_path / "v.png")) > 2


def test_plot_weights_draws_redraws_and_saves_numbered_files(tmp_path):
    w = torch.arange(12.0).view(3, 4) / 12
    im = plotting.plot_weights(w)
    assert np.allclose(im.get_array(), w.numpy()) and im.get_clim() == (0, 1)
    pixels = rendered(im.figure, tmp_path / "w.png")
    assert colours(pixels) > 10                                # a gradient, not a blank figure
    im2 = plotting.plot_weights(2 * w, im=im)
    assert im2 is im and np.allclose(im.get_array(), 2 * w.numpy())
    assert im.get_clim() == pytest.approx((0.0, float(2 * w.max())))
    first = plotting.plot_weights(w, save=str(tmp_path / "weights.png"))
    second = plotting.plot_weights(w, im=first[0], save=str(tmp_path / "weights.png"))
    assert first[1].endswith("weights.1.png") and second[1].endswith("weights.2.png")
    assert (tmp_path / "weights.1.png").exists() and (tmp_path / "weights.2.png").exists()
    with pytest.raises(SnncError, match="plot_weights: expected a 2-D tensor"):
        plotting.plot_weights(torch.zeros(2, 2, 2))


def test_plot_weights_leaves_the_callers_tensor_alone():
    w = torch.rand(5, 5)
    before = w.clone()
    plotting.plot_weights(w)
    assert torch.equal(w, before)


def test_plot_assignments_one_colour_per_label(tmp_path):
    grid = torch.tensor([[0, 1, 2], [-1, 9, 0]])
    im = plotting.plot_assignments(grid)
    assert np.array_equal(im.get_array(), grid.numpy())
    rgba = im.to_rgba(im.get_array())
    shade = {int(label): tuple(rgba[r, c]) for (r, c), label in np.ndenumerate(grid.numpy())}
    assert len(set(shade.values())) == 5                      # -1, 0, 1, 2, 9 all differ
    assert shade[0] == tuple(rgba[1, 2])                       # the same label, the same colour
    im, name = plotting.plot_assignments(grid, save=str(tmp_path / "assign.png"))
    assert name.endswith("assign.1.png") and colours(matplotlib.image.imread(name)) > 4
    with pytest.raises(SnncError, match="labels must be in -1..2"):
        plotting.plot_assignments(grid, classes=["a", "b", "c"])


def test_plot_performance_curves(tmp_path):
    ax = plotting.plot_performance({"all": [10, 50, 80], "proportion": [12, 55, 85]}, x_scale=250,
                                   save=str(tmp_path / "perf.png"))
    lines = ax.get_lines()
    assert [list(line.get_xdata()) for line in lines] == [[0, 250, 500]] * 2
    assert list(lines[1].get_ydata()) == [12, 55, 85] and ax.get_ylim() == (0, 100)
    assert (tmp_path / "perf.png").exists()
    again = plotting.plot_performance({"all": [1, 2]}, ax=ax)
    assert again is ax and len(ax.get_lines()) == 1


def test_plot_input_two_panels(tmp_path):
    image = torch.rand(8, 8)
    spikes = (torch.rand(30, 8, 8) < image).sum(0)
    axes, ims = plotting.plot_input(image, spikes, label=7)
    assert axes[0].get_title() == "Current image (label = 7)" and axes[1].get_title() == "Reconstruction"
    assert np.allclose(ims[1].get_array(), spikes.numpy())
    axes, ims = plotting.plot_input(image * 0, spikes * 0, label=3, axes=axes, ims=ims)
    assert axes[0].get_title() == "Current image (label = 3)" and float(ims[0].get_array().max()) == 0
    assert colours(rendered(axes[0].figure, tmp_path / "input.png")) >= 2


def test_plot_conv2d_weights_tiles_every_kernel(tmp_path):
    from snnc.utils import reshape_conv2d_weights

    weights = torch.rand(4, 2, 3, 3)
    im = plotting.plot_conv2d_weights(weights)
    assert np.allclose(im.get_array(), reshape_conv2d_weights(weights).numpy())
    assert len(im.axes.get_lines()) > 0                        # the grid between kernels
    assert colours(rendered(im.figure, tmp_path / "conv.png")) > 10


def test_plot_locally_connected_weights_from_a_network(tmp_path):
    from snnc.models import LocallyConnectedNetwork
    from snnc.utils import reshape_locally_connected_weights

    network = LocallyConnectedNetwork(n_inpt=36, input_shape=[6, 6], kernel_size=3, stride=3, n_filters=4)
    c = network.connections[("X", "Y")]
    im = plotting.plot_locally_connected_weights(c.w, 4, c.kernel_size, c.conv_size, c.locations, 6)
    expected = reshape_locally_connected_weights(c.w, 4, c.kernel_size, c.conv_size, c.locations, 6)
    assert np.allclose(im.get_array(), expected.numpy())
    assert colours(rendered(im.figure, tmp_path / "local.png")) > 10


def test_plot_local_connection_2d_weights(tmp_path):
    from snnc.network.nodes import Input, LIFNodes
    from snnc.network.topology import LocalConnection2D

    source, target = Input(shape=[2, 6, 6]), LIFNodes(n=3 * 4)
    lc = LocalConnection2D(source, target, kernel_size=3, stride=3, n_filters=3, wmin=0.0, wmax=1.0)
    im = plotting.plot_local_connection_2d_weights(lc, input_channel=1)
    assert im.get_array().shape == (2 * 3 * 2, 2 * 3 * 2)      # 2x2 positions, 2x2 filter grid, 3x3 kernels
    assert float(np.asarray(im.get_array()).max()) <= 1.0
    one = plotting.plot_local_connection_2d_weights(lc, output_channel=2)
    assert one.get_array().shape == (2 * 3, 2 * 3)
    assert colours(rendered(im.figure, tmp_path / "lc2d.png")) > 10
    with pytest.raises(SnncError, match="input_channel 2 is not in 0..1"):
        plotting.plot_local_connection_2d_weights(lc, input_channel=2)
