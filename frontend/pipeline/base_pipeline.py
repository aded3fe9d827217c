"""``BasePipeline``: the step loop every pipeline shares (spec 13).

``step(batch)`` counts the step, moves the batch to the pipeline's device, calls the
subclass's ``step_``, then prints, plots, saves and tests at their intervals. With
``plot_config["data_step"]`` set (the default) every layer gets a spike monitor
``"<layer>_spikes"`` and, where it has a voltage, a ``"<layer>_voltages"`` monitor,
each keeping the last ``data_length`` steps.

The network's runs go through its compiled program, bound once and reused for every
call while the network keeps its structure (``Network.run``'s repeated-run path).
"""
from __future__ import annotations

import collections.abc
import time
from typing import Any

import torch

from snnc.errors import SnncError
from snnc.network.monitors import Monitor

_DEFAULT_PLOTS = {"data_step": True, "data_length": 100}


def recursive_to(item, device):
    """``item`` with every tensor it holds (in dicts, lists, tuples, named tuples) on ``device``."""
    if isinstance(item, torch.Tensor):
        return item.to(device)
    if item is None or isinstance(item, (bool, int, float, str)):
        return item
    if isinstance(item, collections.abc.Mapping):
        return {key: recursive_to(value, device) for key, value in item.items()}
    if isinstance(item, tuple) and hasattr(item, "_fields"):
        return type(item)(*(recursive_to(value, device) for value in item))
    if isinstance(item, (list, tuple)):
        return [recursive_to(value, device) for value in item]
    if hasattr(item, "dtype") and hasattr(item, "shape"):       # numpy arrays and scalars
        return item
    raise SnncError(f"recursive_to: cannot move a {type(item).__name__} to {device}")


OPTIONS = {"save_dir": "network.pt", "save_interval": None, "plot_config": None, "print_interval": None,
           "test_interval": None, "plot_interval": None, "allow_gpu": True}


def options(given: dict, defaults: dict) -> dict:
    """``defaults`` updated by the keywords a pipeline was given (it ignores the others,
    which its subclasses read)."""
    return {name: given.get(name, default) for name, default in defaults.items()}


class BasePipeline:
    """``BasePipeline(network, save_dir="network.pt", save_interval=None,
    plot_config={"data_step": True, "data_length": 100}, print_interval=None,
    test_interval=None, plot_interval=None, allow_gpu=True)``.

    Subclasses implement ``step_``, ``train``, ``test``, ``init_fn`` and ``plots``.
    """

    def __init__(self, network, **kwargs) -> None:
        settings = options(kwargs, OPTIONS)
        self.network = network
        self.save_dir, self.save_interval = settings["save_dir"], settings["save_interval"]
        self.print_interval, self.test_interval = settings["print_interval"], settings["test_interval"]
        self.plot_interval, self.allow_gpu = settings["plot_interval"], settings["allow_gpu"]
        self.plot_config = settings["plot_config"] or dict(_DEFAULT_PLOTS)
        if "data_step" not in self.plot_config:
            raise SnncError(f"{type(self).__name__}: plot_config needs a 'data_step' entry "
                            f"(None: no layer monitors), got {sorted(self.plot_config)}")
        if self.plot_config["data_step"] is not None:
            self._monitor_layers(self.plot_config.get("data_length", _DEFAULT_PLOTS["data_length"]))
        self.step_count = 0
        self.init_fn()
        self.clock = time.time()
        self.device = torch.device("cuda" if self.allow_gpu and torch.cuda.is_available() else "cpu")
        self.network.to(self.device)

    def _monitor_layers(self, length: int) -> None:
        """A window of the last ``length`` steps of every layer's spikes (and voltages)."""
        for name, layer in self.network.layers.items():
            recorded = ("s", "v") if hasattr(layer, "v") else ("s",)
            for var in recorded:
                kind = "spikes" if var == "s" else "voltages"
                self.network.add_monitor(Monitor(layer, var, length), name=f"{name}_{kind}")

    def reset_state_variables(self) -> None:
        """Reset the network's state and the step count."""
        self.network.reset_state_variables()
        self.step_count = 0

    def step(self, batch: Any, **kwargs) -> Any:
        """One step: ``step_(batch)``, then the interval work; returns ``step_``'s output."""
        self.step_count += 1
        batch = recursive_to(batch, self.device)
        result = self.step_(batch, **kwargs)
        tasks = ((self.print_interval, self._report), (self.plot_interval, lambda: self.plots(batch, result)),
                 (self.save_interval, self._save), (self.test_interval, self.test))
        for interval, task in tasks:
            if interval is not None and self.step_count % interval == 0:
                task()
        return result

    def _report(self) -> None:
        now = time.time()
        print(f"Iteration: {self.step_count} (Time: {now - self.clock:.4f})")
        self.clock = now

    def _save(self) -> None:
        self.network.save(self.save_dir)

    def get_spike_data(self) -> dict[str, torch.Tensor]:
        """Each layer's recent spikes ``[T, B, *shape]`` from its ``"<layer>_spikes"`` monitor."""
        return {name: self._monitor(f"{name}_spikes").get("s") for name in self.network.layers}

    def get_voltage_data(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Recent voltages of the layers that have one, and every layer's threshold."""
        voltages, thresholds = {}, {}
        for name, layer in self.network.layers.items():
            if hasattr(layer, "v"):
                voltages[name] = self._monitor(f"{name}_voltages").get("v")
            if hasattr(layer, "thresh"):
                thresholds[name] = layer.thresh
        return voltages, thresholds

    def _monitor(self, name: str):
        monitor = self.network.monitors.get(name)
        if monitor is None:
            raise SnncError(f"{type(self).__name__}: no monitor {name!r}; the layer monitors exist only "
                            "when plot_config['data_step'] is not None")
        return monitor

    # -- the subclass hooks (BindsNET's API): a pipeline provides those it uses; ``test``
    # and ``plots`` are needed only when their interval is set
    def _missing(self, hook: str):
        raise NotImplementedError(f"{type(self).__name__} must provide {hook}()")

    def step_(self, batch: Any, **kwargs) -> Any:
        self._missing("step_")

    def train(self) -> None:
        self._missing("train")

    def test(self) -> None:
        self._missing("test")

    def init_fn(self) -> None:
        self._missing("init_fn")

    def plots(self, batch: Any, step_out: Any) -> None:
        self._missing("plots")
