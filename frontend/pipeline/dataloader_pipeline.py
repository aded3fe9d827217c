"""Pipelines over a dataset (spec 13): ``DataLoaderPipeline`` loops epochs over a
``snnc.datasets.DataLoader``; ``TorchVisionDatasetPipeline`` runs each batch's encoded
images through the network, unsupervised."""
from __future__ import annotations

from tqdm import tqdm

from snnc.datasets import DataLoader
from snnc.errors import SnncError
from snnc.pipeline.base_pipeline import BasePipeline


class DataLoaderPipeline(BasePipeline):
    """``DataLoaderPipeline(network, train_ds, test_ds=None, num_epochs=10, batch_size=1,
    num_workers=0, pin_memory=True, shuffle=True, **BasePipeline options)``; subclasses
    provide ``step_``."""

    def __init__(self, network, train_ds, test_ds=None, **kwargs) -> None:
        super().__init__(network, **kwargs)
        self.train_ds, self.test_ds = train_ds, test_ds
        self.num_epochs = kwargs.get("num_epochs", 10)
        self.batch_size = kwargs.get("batch_size", 1)
        self.num_workers = kwargs.get("num_workers", 0)
        self.pin_memory = kwargs.get("pin_memory", True)
        self.shuffle = kwargs.get("shuffle", True)

    def train(self) -> None:
        """``num_epochs`` passes over ``train_ds``, a fresh (reshuffled) loader each epoch."""
        for epoch in range(self.num_epochs):
            loader = DataLoader(self.train_ds, batch_size=self.batch_size, num_workers=self.num_workers,
                                pin_memory=self.pin_memory and self.device.type == "cuda",
                                shuffle=self.shuffle)
            for batch in tqdm(loader, desc=f"Epoch {epoch + 1}/{self.num_epochs}",
                              total=len(self.train_ds) // self.batch_size):
                self.step(batch)

    def test(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must provide test()")


class TorchVisionDatasetPipeline(DataLoaderPipeline):
    """Unsupervised runs over an image dataset whose items hold ``"encoded_image"``
    (``[T, B, *shape]`` once batched): each step resets the network and runs it for
    ``T`` steps with the images on ``input_layer`` (default ``"X"``). With a
    ``pipeline_analyzer``, ``plots`` shows the summed input, spikes and voltages."""

    def __init__(self, network, train_ds, pipeline_analyzer=None, **kwargs) -> None:
        super().__init__(network, train_ds, None, **kwargs)
        self.input_layer = kwargs.get("input_layer", "X")
        if self.input_layer not in network.layers:
            raise SnncError(f"TorchVisionDatasetPipeline: input_layer {self.input_layer!r} is not a layer "
                            f"of the network; layers are {list(network.layers)}")
        self.pipeline_analyzer = pipeline_analyzer

    def init_fn(self) -> None:
        pass

    def step_(self, batch: dict, **kwargs) -> None:
        images = batch["encoded_image"]
        self.network.reset_state_variables()
        self.network.run({self.input_layer: images}, time=images.shape[0] * self.network.dt, **kwargs)

    def plots(self, batch: dict, *args) -> None:
        analyzer = self.pipeline_analyzer
        if analyzer is None:
            return
        analyzer.plot_obs(batch["encoded_image"][0, ...].sum(0), step=self.step_count)
        analyzer.plot_spikes(self.get_spike_data(), step=self.step_count)
        voltages, thresholds = self.get_voltage_data()
        analyzer.plot_voltages(voltages, thresholds, step=self.step_count)
        analyzer.finalize_step()

    def test_step(self) -> None:
        pass
