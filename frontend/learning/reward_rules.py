"""Reward-modulated learning rules (spec 6.5-6.7): MSTDP, MSTDPET and Rmax.

Each reads ``reward`` from ``Network.run`` (required while learning; a number, or a
tensor ``[B]`` with one reward per sample) and keeps state across runs. The
equations are the rule schemas' (:mod:`snnc.ir.schema`).
"""
from __future__ import annotations

import torch

from snnc.errors import SnncError
from snnc.learning.learning import LearningRule, _owner

_ELIGIBILITY = {"p_plus": "pre", "p_minus": "post", "last_s_pre": "pre", "last_s_post": "post"}


class _Eligibility(LearningRule):
    """The pre- and post-synaptic traces of the reward-modulated STDP rules.

    ``p_plus = p_plus·exp(-dt/tc_plus) + a_plus·s_pre`` ``[B, source.n]``,
    ``p_minus = p_minus·exp(-dt/tc_minus) + a_minus·s_post`` ``[B, target.n]`` (``a_plus``
    = 1, ``a_minus`` = -1 unless ``run`` gives them), and the last step's spikes; the
    eligibility ``E = p_plus ⊗ s_post + s_pre ⊗ p_minus`` is read from them.
    """

    defaults = {"tc_plus": 20.0, "tc_minus": 20.0}
    flags = {"zero_lag": False}
    state_kinds = dict(_ELIGIBILITY)

    @property
    def eligibility(self) -> torch.Tensor:
        """The last step's eligibility: ``[B, source.n, target.n]`` for a dense connection;
        for a convolution, as BindsNET 0.3.4, shaped like ``w`` and summed over the batch
        and the output positions (the convolution's weight gradient)."""
        state = self.ir_state()
        connection = self.connection
        if getattr(connection, "ir_op", "").startswith("conv"):
            gradient = getattr(torch.nn.grad, f"{connection.ir_op}_weight")
            batch = state["p_plus"].shape[0]
            pre_shape, post_shape = (batch, *self.source.shape), (batch, *self.target.shape)
            geometry = dict(stride=connection.stride, padding=connection.padding, dilation=connection.dilation)
            return sum(gradient(pre.view(pre_shape), connection.w.shape, post.view(post_shape), **geometry)
                       for pre, post in ((state["p_plus"], state["last_s_post"]),
                                         (state["last_s_pre"], state["p_minus"])))
        if getattr(connection, "ir_op", "").startswith("local") and connection.ir_op != "local":
            return self._local_eligibility(state)
        if getattr(connection, "ir_op", "") != "dense":
            raise SnncError(f"{type(self).__name__}.eligibility: shown for dense, convolution and "
                            f"LocalConnection1D/2D/3D connections, not {type(connection).__name__}")
        return state["p_plus"][:, :, None] * state["last_s_post"][:, None, :] + \
            state["last_s_pre"][:, :, None] * state["p_minus"][:, None, :]


    def _local_eligibility(self, state: dict) -> torch.Tensor:
        """``[B, C, F·P, K]`` like a local connection's ``w``: each weight's pre-synaptic
        neuron is the kernel element over its position."""
        connection = self.connection
        batch, (channels, *size) = state["p_plus"].shape[0], self.source.shape
        positions, kernel = connection.conv_prod, connection.kernel_prod

        def patches(values: torch.Tensor) -> torch.Tensor:
            x = values.view(batch, channels, *size)
            for d, (k, s) in enumerate(zip(connection.kernel_size, connection.stride)):
                x = x.unfold(2 + d, k, s)
            return x.reshape(batch, channels, 1, positions, kernel)

        post = (batch, 1, connection.n_filters, positions, 1)
        eligibility = patches(state["p_plus"]) * state["last_s_post"].view(post) + \
            patches(state["last_s_pre"]) * state["p_minus"].view(post)
        return eligibility.reshape(batch, channels, connection.n_filters * positions, kernel)


class MSTDP(_Eligibility):
    """Reward-modulated STDP (Florian 2007). Each step ``w += nu[0] R_b(reward · E)`` with
    the previous step's eligibility, then the traces and ``E`` move on (``zero_lag``:
    the traces first, so this step's spikes are rewarded at once); weight decay, clamp."""

    ir_name = "mstdp"


class MSTDPET(_Eligibility):
    """Reward-modulated STDP with an eligibility trace ``[B, *w.shape]``:
    ``eligibility_trace = eligibility_trace·exp(-dt/tc_e_trace) + E/tc_e_trace``, then
    ``w += nu[0]·dt·R_b(reward · eligibility_trace)``, then the traces (``zero_lag``: first)."""

    ir_name = "mstdpet"
    defaults = {"tc_plus": 20.0, "tc_minus": 20.0, "tc_e_trace": 25.0}
    state_kinds = {**_ELIGIBILITY, "eligibility_trace": "synapse"}


class Rmax(LearningRule):
    """Reward-maximising rule (Vasilaki et al. 2009) for an ``SRM0Nodes`` target; the
    source needs ``traces=True, traces_additive=True``. With ``ρ`` the target's firing
    probability ``s_prob``: ``eligibility_trace = eligibility_trace·(1 - dt/tc_e_trace) +
    x_pre ⊗ (s_post - ρ / (1 + (tc_c/dt)·ρ))``, ``w += nu[0] R_b(reward · eligibility_trace)``."""

    ir_name = "rmax"
    defaults = {"tc_c": 5.0, "tc_e_trace": 25.0}
    state_kinds = {"eligibility_trace": "synapse"}
    traces = ("source",)

    def __init__(self, connection, nu=None, reduction=None, weight_decay: float = 0.0, **kwargs) -> None:
        super().__init__(connection, nu, reduction, weight_decay, **kwargs)
        owner = _owner(connection)
        if getattr(connection.target, "ir_op", None) != "srm0":
            raise SnncError(f"{owner}: Rmax needs an SRM0Nodes target (it reads the firing probability "
                            f"s_prob), got {type(connection.target).__name__}")
        if not getattr(connection.source, "traces_additive", False):
            raise SnncError(f"{owner}: Rmax needs the source's traces to accumulate "
                            "(traces=True, traces_additive=True)")
