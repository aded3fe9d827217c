"""Pipelines over a dataset (spec 13): ``DataLoaderPipeline`` loops epochs over a
``snnc.datasets.DataLoader``; ``TorchVisionDatasetPipeline`` runs each batch's encoded
images through the network, unsupervised."""
from __future__ import annotations

from tqdm import tqdm

from snnc.datasets import DataLoader
from snnc.errors import SnncError
from snnc.pipeline.base_pipeline import BasePipeline, options

LOADER_OPTIONS = {"num_epochs": 10, "batch_size": 1, "num_workers": 0, "pin_memory": True, "shuffle": True}


class DataLoaderPipeline(BasePipeline):
    """``DataLoaderPipeline(network, train_ds, test_ds=None, num_epochs=10, batch_size=1,
    num_workers=0, pin_memory=True, shuffle=True, **BasePipeline options)``; subclasses
    provide ``step_``. ``pin_memory`` applies only when the pipeline runs on a GPU."""

    def __init__(self, network, train_ds, test_ds=None, **kwargs) -> None:
        super().__init__(network, **kwargs)
        self.train_ds, self.test_ds = train_ds, test_ds
        for name, value in options(kwargs, LOADER_OPTIONS).items():
            setattr(self, name, value)

    def _loader(self) -> DataLoader:
        return DataLoader(self.train_ds, batch_size=self.batch_size, shuffle=self.shuffle,
                          num_workers=self.num_workers, pin_memory=self.pin_memory and self.device.type == "cuda")

    def train(self) -> None:
        """``num_epochs`` passes over ``train_ds``, each with a fresh (reshuffled) loader."""
        batches = len(self.train_ds) // self.batch_size
        for epoch in range(1, self.num_epochs + 1):
            for batch in tqdm(self._loader(), desc=f"Epoch {epoch}/{self.num_epochs}", total=batches):
                self.step(batch)


class TorchVisionDatasetPipeline(DataLoaderPipeline):
    """Unsupervised runs over an image dataset whose items hold ``"encoded_image"``
    (``[T, B, *shape]`` once batched): each step resets the network and runs all ``T``
    steps of the batch on ``input_layer`` (default ``"X"``); ``step``'s keywords go to
    ``network.run``. With a ``pipeline_analyzer``, ``plots`` shows the summed input of
    the first step, the layers' spikes and voltages."""

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
        spikes = batch["encoded_image"]
        self.network.reset_state_variables()
        self.network.run({self.input_layer: spikes}, time=spikes.shape[0] * self.network.dt, **kwargs)

    def plots(self, batch: dict, *args) -> None:
        analyzer, step = self.pipeline_analyzer, self.step_count
        if analyzer is None:
            return
        analyzer.plot_obs(batch["encoded_image"][0, ...].sum(0), step=step)
        analyzer.plot_spikes(self.get_spike_data(), step=step)
        analyzer.plot_voltages(*self.get_voltage_data(), step=step)
        analyzer.finalize_step()

    def test_step(self) -> None:
        pass
