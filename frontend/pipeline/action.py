"""Action selection from an output layer's spikes (spec 13).

Each function takes the pipeline and ``output=<layer name>`` and returns an action:

* ``select_multinomial``: the output layer of ``k * n_actions`` neurons is ``n_actions``
  populations of ``k``; an action is drawn with probability proportional to its
  population's spikes in the last step (uniformly when none spiked).
* ``select_softmax``: drawn from ``softmax(spike counts over the last run)``.
* ``select_highest``: the action with the most spikes in the last run (ties: the
  first; no spikes: action 0).
* ``select_first_spike``: the neuron of the earliest spike in the last run (ties: the
  lowest index; no spikes: action 0).

Without spikes these two still draw one number from torch's generator, as BindsNET's
do (its "random" choice between 0 and 0), so a seeded run keeps BindsNET's stream.
* ``select_random``: uniform over the action space.

The last four need one output neuron per action and ``pipeline.spike_record``.
"""
from __future__ import annotations

import torch

from snnc.errors import SnncError


def _output(kwargs: dict, function: str) -> str:
    output = kwargs.get("output")
    if output is None:
        raise SnncError(f'{function}() needs the name of the output layer: output="<layer>" '
                        "(the pipeline passes its output= option)")
    return output


def _per_action_counts(pipeline, output: str, function: str) -> torch.Tensor:
    """Spikes of each output neuron over the last run (one neuron per action)."""
    layer = pipeline.network.layers[output]
    actions = pipeline.env.action_space.n
    if layer.n != actions:
        raise SnncError(f"{function}(): output layer {output!r} has {layer.n} neurons, but the action "
                        f"space has {actions} actions (one neuron per action)")
    record = getattr(pipeline, "spike_record", None)
    if record is None or output not in record:
        raise SnncError(f"{function}(): the pipeline has no spike_record[{output!r}] (give the "
                        "EnvironmentPipeline output=...)")
    return record[output]


def select_multinomial(pipeline, **kwargs) -> int:
    output = _output(kwargs, "select_multinomial")
    layer = pipeline.network.layers[output]
    actions = pipeline.env.action_space.n
    if layer.n % actions != 0:
        raise SnncError(f"select_multinomial(): output layer {output!r} has {layer.n} neurons, not a "
                        f"multiple of the {actions} actions")
    spikes = layer.s.reshape(-1, layer.n)[0].float()
    total = spikes.sum()
    if total == 0:
        return int(torch.randint(low=0, high=actions, size=(1,))[0])
    populations = spikes.reshape(actions, layer.n // actions).sum(1)
    return torch.multinomial(populations / total, 1)[0].item()


def select_softmax(pipeline, **kwargs) -> int:
    output = _output(kwargs, "select_softmax")
    counts = torch.sum(_per_action_counts(pipeline, output, "select_softmax"), dim=0).squeeze()
    return torch.multinomial(torch.softmax(counts, dim=0), num_samples=1).item()


def select_highest(pipeline, **kwargs) -> int:
    output = _output(kwargs, "select_highest")
    counts = torch.sum(_per_action_counts(pipeline, output, "select_highest"), dim=0).squeeze()
    if torch.sum(counts) == 0:
        return _no_spikes()
    return int(torch.nonzero(counts == counts.max())[0, 0])


def select_first_spike(pipeline, **kwargs) -> int:
    output = _output(kwargs, "select_first_spike")
    record = _per_action_counts(pipeline, output, "select_first_spike")
    spikes = record.reshape(record.shape[0], -1).nonzero()
    if spikes.shape[0] == 0:
        return _no_spikes()
    return int(spikes[0, 1])


def select_random(pipeline, **kwargs) -> int:
    return int(torch.randint(low=0, high=pipeline.env.action_space.n, size=(1,))[0])


def _no_spikes() -> int:
    """Action 0, after the draw BindsNET makes there (``randint(0, 1)``: always 0)."""
    torch.randint(low=0, high=1, size=(1,))
    return 0
