"""Ready-made networks (spec section 10), built from snnc's own layers and connections.

Every model is a :class:`~snnc.network.Network` subclass; layers and connections are
added in the order listed, and initial weights are drawn from torch's global RNG in
the same order as BindsNET 0.3.4, so a seed reproduces its networks.

* :class:`TwoLayerNetwork`: ``X`` (Input) → ``Y`` (LIF), PostPre.
* :class:`DiehlAndCook2015`: ``X`` → ``Ae`` (adaptive-threshold excitatory neurons,
  one spike per step) → ``Ai`` (inhibitory) → ``Ae`` with lateral inhibition, as
  feature pipelines (:class:`MulticompartmentConnection` with one ``Weight`` each).
* :class:`DiehlAndCook2015v2`: the same without the inhibitory layer: ``Y → Y`` carries
  ``−inh`` between every pair of different neurons.
* :class:`IncreasingInhibitionNetwork`: ``Y → Y`` grows with the distance between the
  neurons on a square grid.
* :class:`LocallyConnectedNetwork`: ``X → Y`` a 2-D :class:`LocalConnection`; ``Y → Y``
  inhibits the other filters at the same position.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from snnc.errors import SnncError
from snnc.learning import PostPre
from snnc.learning import MCC_learning
from snnc.network import Network
from snnc.network.nodes import DiehlAndCookNodes, Input, LIFNodes
from snnc.network.topology import Connection, LocalConnection, MulticompartmentConnection
from snnc.network.topology_features import Weight


def _excitatory(n: int, exc_thresh: float, theta_plus: float, tc_theta_decay: float) -> DiehlAndCookNodes:
    """The adaptive-threshold layer every Diehl & Cook variant shares: rest −65, reset
    −60, refractory 5 steps, ``tc_decay`` 100, traces with ``tc_trace`` 20."""
    return DiehlAndCookNodes(n=n, traces=True, rest=-65.0, reset=-60.0, thresh=exc_thresh, refrac=5,
                             tc_decay=100.0, tc_trace=20.0, theta_plus=theta_plus, tc_theta_decay=tc_theta_decay)


def _positive(owner: str, **values) -> None:
    for name, value in values.items():
        if int(value) < 1:
            raise SnncError(f"{owner}: {name} must be a positive integer, got {value}")


class TwoLayerNetwork(Network):
    """``X`` = ``Input(n_inpt)`` → ``Y`` = ``LIFNodes(n_neurons)`` (rest −65, reset −65,
    thresh −52, refractory 5, ``tc_decay`` 100), all-to-all weights ``0.3·U[0, 1)``
    learning with :class:`PostPre`."""

    def __init__(self, n_inpt: int, n_neurons: int = 100, dt: float = 1.0, wmin: float = 0.0,
                 wmax: float = 1.0, nu: float | Sequence[float] | None = (1e-4, 1e-2), reduction=None,
                 norm: float | None = 78.4) -> None:
        _positive("TwoLayerNetwork", n_inpt=n_inpt, n_neurons=n_neurons)
        super().__init__(dt=dt)
        self.n_inpt, self.n_neurons = int(n_inpt), int(n_neurons)
        self.add_layer(Input(n=self.n_inpt, traces=True, tc_trace=20.0), name="X")
        self.add_layer(LIFNodes(n=self.n_neurons, traces=True, rest=-65.0, reset=-65.0, thresh=-52.0, refrac=5,
                                tc_decay=100.0, tc_trace=20.0), name="Y")
        w = 0.3 * torch.rand(self.n_inpt, self.n_neurons)
        self.add_connection(Connection(self.layers["X"], self.layers["Y"], w=w, update_rule=PostPre, nu=nu,
                                       reduction=reduction, wmin=wmin, wmax=wmax, norm=norm),
                            source="X", target="Y")


class DiehlAndCook2015(Network):
    """Diehl & Cook (2015): ``X`` (Input, traces) → ``Ae`` (``DiehlAndCookNodes``:
    ``v`` rests at −65, resets to −60, fires at ``exc_thresh + θ``; ``θ += theta_plus``
    per spike and decays with ``tc_theta_decay``; one spike per step) ⇄ ``Ai``
    (``LIFNodes``: rest −60, reset −45, thresh ``inh_thresh``, ``tc_decay`` 10,
    refractory 2).

    Connections are feature pipelines, each one ``Weight``:

    * ``X → Ae``: ``0.3·U[0, 1)``, clamped to ``[wmin, wmax]``, column sums normalised
      to ``norm`` after each run, learning with ``learning_rule`` (default: the MCC
      :class:`~snnc.learning.MCC_learning.PostPre`; MCC ``DiehlAndCook`` is the
      paper's rule, e.g. ``learning_rule_kwargs={"x_tar": 0.4}``);
    * ``Ae → Ai``: ``exc·I`` (one-to-one), range ``[0, exc]``;
    * ``Ai → Ae``: ``−inh·(1 − I)`` (every other excitatory neuron), range ``[−inh, 0]``.

    ``sparse=True`` stores the weights sparse, per sample (``batch_size`` of them).
    """

    def __init__(self, n_inpt: int, device="cpu", batch_size: int | None = None, sparse: bool = False,
                 n_neurons: int = 100, exc: float = 22.5, inh: float = 17.5, dt: float = 1.0,
                 nu: float | Sequence[float] | None = (1e-4, 1e-2), reduction=None, wmin: float = 0.0,
                 wmax: float = 1.0, w_dtype: torch.dtype = torch.float32, norm: float | None = 78.4,
                 theta_plus: float = 0.05, tc_theta_decay: float = 1e7, inpt_shape=None,
                 inh_thresh: float = -40.0, exc_thresh: float = -52.0, learning_rule=None,
                 learning_rule_kwargs: dict | None = None) -> None:
        _positive("DiehlAndCook2015", n_inpt=n_inpt, n_neurons=n_neurons)
        if sparse and batch_size is None:
            raise SnncError("DiehlAndCook2015: sparse=True stores one weight matrix per sample; give batch_size")
        super().__init__(dt=dt)
        self.n_inpt, self.n_neurons, self.exc, self.inh = int(n_inpt), int(n_neurons), exc, inh
        self.inpt_shape = inpt_shape
        rule = MCC_learning.PostPre if learning_rule is None else learning_rule
        additive = rule is MCC_learning.DiehlAndCook
        self.add_layer(Input(n=self.n_inpt, shape=inpt_shape, traces=True, tc_trace=20.0,
                             traces_additive=additive), name="X")
        self.add_layer(_excitatory(self.n_neurons, exc_thresh, theta_plus, tc_theta_decay), name="Ae")
        self.add_layer(LIFNodes(n=self.n_neurons, traces=False, rest=-60.0, reset=-45.0, thresh=inh_thresh,
                                tc_decay=10.0, refrac=2, tc_trace=20.0), name="Ai")
        x, ae, ai = self.layers["X"], self.layers["Ae"], self.layers["Ai"]
        samples = 1 if batch_size is None else int(batch_size)

        def per_sample(value: torch.Tensor) -> torch.Tensor:
            return value.unsqueeze(0).expand(samples, *value.shape).clone() if sparse else value

        learned = Weight("weight", 0.3 * torch.rand(self.n_inpt, self.n_neurons), value_dtype=w_dtype,
                         range=[wmin, wmax], norm=norm, reduction=reduction, nu=nu, learning_rule=rule,
                         sparse=sparse, batch_size=samples, **(learning_rule_kwargs or {}))
        self.add_connection(MulticompartmentConnection(x, ae, device, pipeline=[learned]), source="X", target="Ae")
        eye = torch.eye(self.n_neurons)
        excite = Weight("weight", per_sample(exc * eye), value_dtype=w_dtype, range=[0, exc], sparse=sparse,
                        batch_size=samples)
        self.add_connection(MulticompartmentConnection(ae, ai, device, pipeline=[excite]), source="Ae", target="Ai")
        inhibit = Weight("weight", per_sample(-inh * (1 - eye)), value_dtype=w_dtype, range=[-inh, 0],
                         sparse=sparse, batch_size=samples)
        self.add_connection(MulticompartmentConnection(ai, ae, device, pipeline=[inhibit]), source="Ai", target="Ae")


class DiehlAndCook2015v2(Network):
    """Diehl & Cook without the inhibitory layer: ``X`` → ``Y`` (as ``Ae`` of
    :class:`DiehlAndCook2015`) through a dense ``Connection`` learning with PostPre, and
    ``Y → Y`` with ``w = −inh·(1 − I)`` bounded to ``[−inh, 0]``."""

    def __init__(self, n_inpt: int, n_neurons: int = 100, inh: float = 17.5, dt: float = 1.0,
                 nu: float | Sequence[float] | None = (1e-4, 1e-2), reduction=None, wmin: float = 0.0,
                 wmax: float = 1.0, norm: float | None = 78.4, theta_plus: float = 0.05,
                 tc_theta_decay: float = 1e7, inpt_shape=None, exc_thresh: float = -52.0) -> None:
        _positive("DiehlAndCook2015v2", n_inpt=n_inpt, n_neurons=n_neurons)
        super().__init__(dt=dt)
        self.n_inpt, self.n_neurons, self.inh, self.inpt_shape = int(n_inpt), int(n_neurons), inh, inpt_shape
        _input_and_excitatory(self, inpt_shape, exc_thresh, theta_plus, tc_theta_decay, nu, reduction, wmin, wmax,
                              norm)
        w = -inh * (1 - torch.eye(self.n_neurons))
        y = self.layers["Y"]
        self.add_connection(Connection(y, y, w=w, wmin=-inh, wmax=0), source="Y", target="Y")


class IncreasingInhibitionNetwork(Network):
    """``X`` → ``Y`` as :class:`DiehlAndCook2015v2`; ``Y`` sits on a square grid of side
    ``s = ⌊√n⌋`` (neuron ``i`` at ``(i // s, i % s)``) and ``Y → Y`` (unbounded) is
    ``w[i, j] = √d(i, j) / max √d · max_inhib + start_inhib``, ``d`` the Euclidean
    distance (0 on the diagonal, so the diagonal is ``start_inhib``). With the defaults
    every weight is positive (quirk Q38); a negative ``max_inhib`` makes it inhibitory."""

    def __init__(self, n_input: int, n_neurons: int = 100, start_inhib: float = 1.0, max_inhib: float = 100.0,
                 dt: float = 1.0, nu: float | Sequence[float] | None = (1e-4, 1e-2), reduction=None,
                 wmin: float = 0.0, wmax: float = 1.0, norm: float | None = 78.4, theta_plus: float = 0.05,
                 tc_theta_decay: float = 1e7, inpt_shape=None, exc_thresh: float = -52.0) -> None:
        _positive("IncreasingInhibitionNetwork", n_input=n_input, n_neurons=n_neurons)
        super().__init__(dt=dt)
        self.n_inpt, self.n_neurons = int(n_input), int(n_neurons)
        self.start_inhib, self.max_inhib, self.inpt_shape = start_inhib, max_inhib, inpt_shape
        _input_and_excitatory(self, inpt_shape, exc_thresh, theta_plus, tc_theta_decay, nu, reduction, wmin, wmax,
                              norm)
        side = int(math.sqrt(self.n_neurons))
        index = torch.arange(self.n_neurons)
        grid = torch.stack([index // side, index % side], dim=1).double()
        distance = torch.cdist(grid, grid).sqrt().float()  # √d in float64, rounded once, then float32
        peak = distance.max()
        w = (distance / peak if peak > 0 else distance) * max_inhib + start_inhib
        y = self.layers["Y"]
        self.add_connection(Connection(y, y, w=w), source="Y", target="Y")


def _input_and_excitatory(network: Network, inpt_shape, exc_thresh, theta_plus, tc_theta_decay, nu, reduction,
                          wmin, wmax, norm) -> None:
    """``X`` (Input, traces) and ``Y`` (``DiehlAndCookNodes``), and ``X → Y``:
    ``0.3·U[0, 1)`` learning with PostPre."""
    network.add_layer(Input(n=network.n_inpt, shape=inpt_shape, traces=True, tc_trace=20.0), name="X")
    network.add_layer(_excitatory(network.n_neurons, exc_thresh, theta_plus, tc_theta_decay), name="Y")
    w = 0.3 * torch.rand(network.n_inpt, network.n_neurons)
    network.add_connection(Connection(network.layers["X"], network.layers["Y"], w=w, update_rule=PostPre, nu=nu,
                                      reduction=reduction, wmin=wmin, wmax=wmax, norm=norm),
                           source="X", target="Y")


class LocallyConnectedNetwork(Network):
    """``X`` (Input) → ``Y`` (``DiehlAndCookNodes``, ``n_filters`` per position of the
    ``conv_size`` output grid) through a 2-D :class:`LocalConnection` learning with
    PostPre (its norm is per receptive field: ``norm · kh · kw`` per column); ``Y → Y``
    carries ``−inh`` from each neuron to the other filters at its position.
    ``conv_size = ((H − kh) // sh + 1, (W − kw) // sw + 1)``, or ``(1, 1)`` when the
    kernel covers the whole input."""

    def __init__(self, n_inpt: int, input_shape: Sequence[int], kernel_size, stride, n_filters: int,
                 inh: float = 25.0, dt: float = 1.0, nu: float | Sequence[float] | None = (1e-4, 1e-2),
                 reduction=None, theta_plus: float = 0.05, tc_theta_decay: float = 1e7, wmin: float = 0.0,
                 wmax: float = 1.0, norm: float | None = 0.2, exc_thresh: float = -52.0) -> None:
        _positive("LocallyConnectedNetwork", n_inpt=n_inpt, n_filters=n_filters)
        super().__init__(dt=dt)
        kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        step = (stride, stride) if isinstance(stride, int) else tuple(stride)
        shape = tuple(int(d) for d in input_shape)
        if len(shape) != 2 or len(kernel) != 2 or len(step) != 2:
            raise SnncError(f"LocallyConnectedNetwork: input_shape, kernel_size and stride must be 2-D, got "
                            f"{input_shape}, {kernel_size}, {stride}")
        if kernel == shape:
            conv = (1, 1)
        else:
            conv = tuple((shape[d] - kernel[d]) // step[d] + 1 for d in range(2))
        self.n_inpt, self.input_shape, self.kernel_size, self.stride = int(n_inpt), list(shape), kernel, step
        self.n_filters, self.conv_size, self.inh = int(n_filters), conv, inh
        n = self.n_filters * conv[0] * conv[1]
        self.add_layer(Input(n=self.n_inpt, traces=True, tc_trace=20.0), name="X")
        self.add_layer(_excitatory(n, exc_thresh, theta_plus, tc_theta_decay), name="Y")
        x, y = self.layers["X"], self.layers["Y"]
        self.add_connection(LocalConnection(x, y, kernel, step, self.n_filters, nu=nu, reduction=reduction,
                                            update_rule=PostPre, norm=norm, wmin=wmin, wmax=wmax,
                                            input_shape=list(shape)), source="X", target="Y")
        w = torch.zeros(self.n_filters, *conv, self.n_filters, *conv)
        for a in range(self.n_filters):
            for b in range(self.n_filters):
                if a != b:
                    for i in range(conv[0]):
                        for j in range(conv[1]):
                            w[a, i, j, b, i, j] = -inh
        self.add_connection(Connection(y, y, w=w.view(n, n)), source="Y", target="Y")
