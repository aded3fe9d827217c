"""ANN-to-SNN conversion (spec 13, "Conversion"; quirks Q18, Q26): ``ann_to_snn``,
``data_based_normalization``, ``FeatureExtractor`` and the ``Permute`` module.

An ANN's ReLU units become integrate-and-fire neurons with threshold 1 that reset by
subtraction: driven by a constant current ``I`` they fire at the rate ``min(max(I, 0), 1)``
per step, so a layer ``a_l = ReLU(W_l a_{l-1} + b_l)`` whose activations stay below 1 is
reproduced by spike rates. Data-based normalisation (Diehl et al. 2015) rescales the
weights so that they do.

The ANN is read in the order its child modules were registered (``nn.Sequential``
children are flattened, at any depth), not by tracing ``forward``.
"""
from __future__ import annotations

import warnings
from copy import deepcopy
from typing import Sequence, Union

import numpy as np
import torch
from torch import nn

from snnc.conversion.nodes import PassThroughNodes, SubtractiveResetIFNodes
from snnc.errors import SnncError
from snnc.network import Network
from snnc.network.node_base import Nodes
from snnc.network.nodes import Input
from snnc.network.topology import Connection, Conv2dConnection, MaxPool2dConnection

_WEIGHTED = (nn.Linear, nn.Conv2d)
_CONVERTED = (nn.Linear, nn.Conv2d, nn.MaxPool2d)
_FIXED = ("n", "shape", "reset", "thresh", "refrac", "sum_input")   # set by ann_to_snn itself


class Permute(nn.Module):
    """A module form of ``Tensor.permute``: ``forward(x) = x.permute(*dims).contiguous()``
    (``dims`` include the batch dimension). ``ann_to_snn`` cannot convert it (quirk Q26)."""

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims).contiguous()


class FeatureExtractor(nn.Module):
    """Every child's activation: ``forward(x)`` applies ``submodule``'s direct children in
    registration order, ``x_k = child_k(x_{k-1})`` (before a ``Linear``, ``x`` is
    reshaped to ``[-1, in_features]``), and returns ``{"input": x, name_k: x_k, ...}``
    keyed by the children's names (a nested ``nn.Sequential`` is one child)."""

    def __init__(self, submodule: nn.Module) -> None:
        super().__init__()
        self.submodule = submodule

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        activations = {"input": x}
        for name, module in self.submodule.named_children():
            x = _apply(name, module, x, "FeatureExtractor")
            activations[name] = x
        return activations


def _apply(name: str, module: nn.Module, x: torch.Tensor, caller: str) -> torch.Tensor:
    """``module(x)``, ``x`` reshaped to ``[-1, in_features]`` first for a ``Linear``; a
    torch error becomes an SnncError naming the module."""
    what = f"{caller}: module {name} ({type(module).__name__})"
    if isinstance(module, nn.Linear):
        per_sample = x[0].numel() if x.dim() > 1 else x.numel()
        if per_sample != module.in_features:
            raise SnncError(f"{what} expects in_features={module.in_features} values per sample, "
                            f"but gets {per_sample} (an activation of shape {tuple(x.shape[1:])}; "
                            "check input_shape / the data)")
        x = x.reshape(-1, module.in_features)
    try:
        return module(x)
    except Exception as error:      # noqa: BLE001 - any torch failure, reworded
        raise SnncError(f"{what} cannot take an activation of shape {tuple(x.shape)}: {error}") from error


def _load(ann, caller: str) -> nn.Module:
    """A private copy of ``ann`` (a module, or a path loaded with ``weights_only=False``)."""
    if isinstance(ann, str):
        ann = torch.load(ann, weights_only=False)   # runs code from the file: trusted files only
    else:
        ann = deepcopy(ann)
    if not isinstance(ann, nn.Module):
        raise SnncError(f"{caller}: ann must be a torch.nn.Module or the path of a saved one, "
                        f"got {type(ann).__name__}")
    return ann


def _children(ann: nn.Module) -> list[nn.Module]:
    """The modules to convert, in order: the children with ``nn.Sequential`` flattened (at
    any depth); a module without children is its own only child."""
    found: list[nn.Module] = []
    for child in ann.children():
        found.extend(_children(child) if isinstance(child, nn.Sequential) else [child])
    if not found and not isinstance(ann, nn.Sequential):
        found = [ann]
    return found


def _check_module(index: int, module: nn.Module) -> None:
    """Refuse what cannot be converted: modules with parameters or buffers that are not
    ``Linear`` / ``Conv2d`` (skipping them would silently give a wrong SNN), and the
    layout-changing modules BindsNET cannot convert either (Q26)."""
    what = f"ann_to_snn: module {index} ({type(module).__name__})"
    if isinstance(module, (Permute, nn.ConstantPad2d)):
        raise SnncError(f"{what} is not supported: BindsNET converts Permute / ConstantPad2d into "
                        "PermuteConnection / ConstantPad2dConnection, which cannot be instantiated "
                        "(quirk Q26); snnc has no such connections")
    if isinstance(module, _CONVERTED):
        if isinstance(module, nn.Conv2d):
            if module.groups != 1:
                raise SnncError(f"{what}: groups={module.groups} is not supported (Conv2dConnection "
                                "is a full convolution; expected groups=1)")
            if module.padding_mode != "zeros":
                raise SnncError(f"{what}: padding_mode={module.padding_mode!r} is not supported "
                                "(expected 'zeros')")
        if isinstance(module, nn.MaxPool2d) and module.ceil_mode:
            raise SnncError(f"{what}: ceil_mode=True is not supported (MaxPool2dConnection floors "
                            "the output size)")
        return
    _check_parameters("ann_to_snn", index, module)


def _check_parameters(caller: str, index: int, module: nn.Module) -> None:
    """Refuse a module that holds parameters or buffers but is not a Linear / Conv2d."""
    if isinstance(module, _CONVERTED):
        return
    held = [n for n, _ in module.named_parameters()] + [n for n, _ in module.named_buffers()]
    if held:
        raise SnncError(f"{caller}: module {index} ({type(module).__name__}) holds parameters or "
                        f"buffers ({', '.join(held[:4])}) but is not a Linear, Conv2d or MaxPool2d; "
                        "skipping it would give a wrong SNN (fold a BatchNorm into the preceding "
                        "layer's weights first)")


def _percentile(name: str, values: torch.Tensor, percentile: float) -> float:
    """``percentile``-th percentile of ``max(values, 0)`` (all samples and units)."""
    scale = float(np.percentile(values.detach().clamp_min(0).double().cpu().numpy(), percentile))
    if not scale > 0:
        raise SnncError(f"data_based_normalization: layer {name} is silent on the data (the "
                        f"{percentile}th percentile of its ReLU activations is {scale}); it cannot be "
                        "normalised: use other data or a higher percentile")
    return scale


def data_based_normalization(ann: Union[nn.Module, str], data: torch.Tensor,
                             percentile: float = 99.9) -> nn.Module:
    """Data-based weight normalisation (Diehl et al. 2015); returns a normalised **copy**.

    ``data`` (``[n_examples, ...]``) is passed through the ANN's modules in order (eval
    mode, as :func:`ann_to_snn` reads them). For the ``l``-th ``Linear`` / ``Conv2d`` with
    output ``z_l`` on the data: ``λ_l = P_percentile(max(z_l, 0))`` over all examples and
    units (numpy's linear interpolation), ``λ_0 = 1``, and

        ``W_l ← W_l · λ_{l-1} / λ_l``,   ``b_l ← b_l / λ_l``,

    so every layer's ReLU activation becomes ``a_l / λ_l`` (mostly ≤ 1, a spike rate a
    threshold-1 IF neuron can reach). The output layer is normalised by its own output's
    percentile too, which keeps its arg-max. Max-pooling and other parameter-free modules
    do not change the scale.

    Unlike BindsNET 0.3.4, which scales the given module in place (and turns off its
    ``requires_grad``) and whose scale is never applied to a ``Linear`` that is a direct
    child of ``ann`` (e.g. any flat ``nn.Sequential`` MLP), the caller's model is left
    untouched. ``ann`` may be a path (``torch.load(weights_only=False)``: trusted files only).
    """
    ann = _load(ann, "data_based_normalization")
    if not 0.0 <= float(percentile) <= 100.0:
        raise SnncError(f"data_based_normalization: percentile must be in [0, 100], got {percentile}")
    modules = _children(ann)
    modes = {module: module.training for module in ann.modules()}
    ann.eval()
    scales: list[tuple[nn.Module, float]] = []
    with torch.no_grad():
        parameter = next(ann.parameters(), None)
        x = torch.as_tensor(data).detach()
        x = x.to(parameter.device, parameter.dtype) if parameter is not None else x.float()
        for index, module in enumerate(modules):
            _check_parameters("data_based_normalization", index, module)
            x = _apply(str(index), module, x, "data_based_normalization")
            if isinstance(module, _WEIGHTED):
                scales.append((module, _percentile(f"{index} ({type(module).__name__})", x, percentile)))
        previous = 1.0
        for module, scale in scales:
            module.weight.mul_(previous / scale)
            if module.bias is not None:
                module.bias.div_(scale)
            previous = scale
    for module, training in modes.items():
        module.training = training
    return ann


def ann_to_snn(ann: Union[nn.Module, str], input_shape: Sequence[int], data: torch.Tensor | None = None,
               percentile: float = 99.9, node_type: type = SubtractiveResetIFNodes, **kwargs) -> Network:
    """Convert an ANN into a spiking network (BindsNET's ``ann_to_snn``).

    The ANN is copied (the caller's model is never changed) and, given ``data``,
    normalised by :func:`data_based_normalization` (without, a ``RuntimeWarning`` says
    the weights are not scaled). The network gets ``Input(shape=input_shape)`` named
    ``"Input"``; then the ``k``-th module (0-based, ``nn.Sequential`` flattened) becomes
    layer ``str(k + 1)``:

    * ``Linear`` → ``node_type(n=out_features, reset=0, thresh=1, refrac=0,
      sum_input=<last>, **kwargs)`` and ``Connection(w=weightᵀ, b=bias)`` (zeros without
      a bias): ``I = s_prev @ Wᵀ + b`` each step;
    * ``Conv2d`` → ``node_type(shape=<the conv's output shape>, …)`` and a
      ``Conv2dConnection`` of the same kernel, stride, padding, dilation, weights, bias;
    * ``MaxPool2d`` → ``PassThroughNodes`` of the pooled shape and a
      ``MaxPool2dConnection(decay=1)`` (each window passes on its largest current spike);
    * parameter-free modules (ReLU, Flatten, Dropout, Identity, Softmax, …) are skipped
      when they keep the number of values; others (``Permute``, ``ConstantPad2d``, a
      pooling other than ``MaxPool2d``) and modules holding parameters or buffers (e.g.
      ``BatchNorm``) raise ``SnncError``.

    ``sum_input=True`` is given to the last ``Linear`` / ``Conv2d`` layer (BindsNET gives
    it only when that module is the ANN's very last child). Each connection is keyed by
    its real layer names, e.g. ``("Input", "1")``, ``("1", "3")`` (BindsNET keys them
    ``(str(k), str(k + 1))``, names that need not be layers). Run it with constant input
    currents, e.g. ``inputs={"Input": x.repeat(T, 1, 1)}``; the output layer's ``summed``
    (or spike count) ranks the classes like the ANN's output.
    """
    ann = _load(ann, "ann_to_snn")
    if data is None:
        warnings.warn("ann_to_snn: no data, the weights are not normalised", RuntimeWarning, stacklevel=2)
    else:
        ann = data_based_normalization(ann, torch.as_tensor(data).detach(), percentile)
    if not (isinstance(node_type, type) and issubclass(node_type, Nodes)):
        raise SnncError(f"ann_to_snn: node_type must be a Nodes class, got {node_type!r}")
    fixed = sorted(set(kwargs) & set(_FIXED))
    if fixed:
        raise SnncError(f"ann_to_snn: {', '.join(fixed)} cannot be passed to node_type: ann_to_snn "
                        "sets n/shape, reset=0, thresh=1, refrac=0 and sum_input itself")
    shape = (int(input_shape),) if isinstance(input_shape, int) else tuple(int(n) for n in input_shape)
    modules = _children(ann)
    for index, module in enumerate(modules):
        _check_module(index, module)
    weighted = [index for index, module in enumerate(modules) if isinstance(module, _WEIGHTED)]
    last = weighted[-1] if weighted else -1

    network = Network()
    previous = Input(shape=shape)
    network.add_layer(previous, name="Input")
    previous_name = "Input"
    ann.eval()
    parameter = next(ann.parameters(), None)
    with torch.no_grad():
        x = torch.zeros((1, *shape))      # a probe sample: the true shape after every module
        if parameter is not None:
            x = x.to(parameter.device, parameter.dtype)
        for index, module in enumerate(modules):
            before = x
            x = _apply(str(index), module, x, "ann_to_snn")
            if not isinstance(module, _CONVERTED):
                if x.numel() != before.numel():
                    raise SnncError(f"ann_to_snn: module {index} ({type(module).__name__}) changes the "
                                    f"activation from {tuple(before.shape[1:])} to {tuple(x.shape[1:])}; "
                                    "snnc has no layer for it (only Linear, Conv2d and MaxPool2d change "
                                    "the shape)")
                continue
            name = str(index + 1)
            layer, connection = _convert(index, module, previous, tuple(x.shape[1:]), node_type,
                                         index == last, kwargs)
            network.add_layer(layer, name=name)
            network.add_connection(connection, source=previous_name, target=name)
            previous, previous_name = layer, name
    return network


def _convert(index: int, module: nn.Module, source: Nodes, shape: tuple, node_type: type, last: bool,
             kwargs: dict) -> tuple[Nodes, object]:
    """The layer and the connection into it for one Linear / Conv2d / MaxPool2d."""
    what = f"ann_to_snn: module {index} ({type(module).__name__})"
    if isinstance(module, nn.MaxPool2d):
        if len(source.shape) != 3:
            raise SnncError(f"{what} needs a (channels, height, width) layer before it, got "
                            f"shape {tuple(source.shape)}")
        layer = PassThroughNodes(shape=shape)
        return layer, MaxPool2dConnection(source, layer, kernel_size=module.kernel_size,
                                          stride=module.stride, padding=module.padding,
                                          dilation=module.dilation, decay=1)
    weight = module.weight.detach().cpu().float()
    neurons = dict(reset=0, thresh=1, refrac=0, sum_input=last, **kwargs)
    if isinstance(module, nn.Linear):
        layer = node_type(n=module.out_features, **neurons)
        bias = torch.zeros(module.out_features) if module.bias is None else module.bias
        return layer, Connection(source, layer, w=weight.t(), b=bias.detach().cpu().float())
    if tuple(source.shape[:1]) != (module.in_channels,) or len(source.shape) != 3:
        raise SnncError(f"{what} expects (in_channels={module.in_channels}, height, width) before it, "
                        f"got a layer of shape {tuple(source.shape)}")
    padding = module.padding
    if isinstance(padding, str):        # 'valid' or 'same' (stride 1): the padding torch uses
        padding = tuple(0 if padding == "valid" else d * (k - 1) // 2
                        for k, d in zip(module.kernel_size, module.dilation))
        if module.padding == "same" and any(d * (k - 1) % 2 for k, d in zip(module.kernel_size,
                                                                          module.dilation)):
            raise SnncError(f"{what}: padding='same' with an even kernel pads unevenly; "
                            "Conv2dConnection pads both sides equally")
    layer = node_type(shape=shape, **neurons)
    bias = torch.zeros(module.out_channels) if module.bias is None else module.bias.detach().cpu().float()
    return layer, Conv2dConnection(source, layer, kernel_size=module.kernel_size, stride=module.stride,
                                   padding=padding, dilation=module.dilation, w=weight, b=bias)
