"""Izhikevich and spike-response neuron models (spec 3.9-3.11)."""
from __future__ import annotations

import math
from typing import Iterable

import torch

from snnc.errors import SnncError, warn
from snnc.network.lif_nodes import _Refractory
from snnc.network.node_base import Nodes, Number, _param, allocate


class IzhikevichNodes(Nodes):
    """Izhikevich neurons with intrinsic all-to-all coupling (spec 3.9).

    ``excitatory`` is the fraction of excitatory neurons (clipped to [0, 1]; with a
    mixed population the first ``int(n * excitatory)`` are excitatory). At
    construction, with ``r ~ U[0, 1)`` per neuron (torch's global generator, or
    ``generator``; drawn in BindsNET's order, so a seed gives BindsNET's parameters): excitatory ``a = 0.02, b = 0.2, c = -65 + 15 r^2, d = 8 - 6 r^2``;
    inhibitory ``a = 0.02 + 0.08 r, b = 0.25 - 0.05 r, c = -65, d = 2``. The coupling
    ``S[j, k]`` (from neuron k to neuron j) is ``0.5 U[0, 1)`` for an excitatory k and
    ``-U[0, 1)`` for an inhibitory one.

    Per step, with ``s`` the previous step's spikes: where ``s``: ``v = c``,
    ``u += d``; ``I += S @ s`` per sample; twice ``v += dt * 0.5 * (0.04 v^2 + 5 v +
    140 - u + I)``; ``u += dt * a * (b v - u)``; ``v = max(v, lbound)``;
    ``s = v >= thresh``; then traces. ``v`` starts at ``rest``, ``u`` at ``b * rest``.
    """

    ir_op = "izhikevich"
    state_names = ("s", "v", "u")

    def __init__(self, n: int | None = None, shape: Iterable[int] | None = None, traces: bool = False,
                 traces_additive: bool = False, tc_trace: Number = 20.0, trace_scale: Number = 1.0,
                 sum_input: bool = False, excitatory: float = 1, thresh: Number = 45.0,
                 rest: Number = -65.0, lbound: Number | None = None, learning: bool = True,
                 generator: torch.Generator | None = None, refrac: Number | None = None) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input, learning)
        owner = type(self).__name__
        if refrac is not None:      # BindsNET's Breakout example passes refrac=0; BindsNET drops it
            warn(f"{owner}: ignoring refrac={refrac!r}: the Izhikevich model has no refractory period "
                 "(BindsNET ignores it too)")
        self._register(thresh=thresh, rest=rest)
        self.lbound = None if lbound is None else _param(owner, "lbound", lbound, self.shape)
        if not math.isfinite(float(excitatory)):
            raise SnncError(f"{owner}: excitatory must be a fraction in [0, 1], got {excitatory!r}")
        fraction = min(max(float(excitatory), 0.0), 1.0)
        n = self.n
        count = n if fraction == 1.0 else int(n * fraction)
        # Draw order (as BindsNET 0.3.4's, so a seed gives the same parameters): the
        # excitatory r, their coupling columns, the inhibitory r, their columns.
        what = f"the parameters and {n} x {n} coupling of {n} neurons"
        r_ex = allocate(owner, lambda: torch.rand(count, generator=generator), what)
        s_ex = allocate(owner, lambda: torch.rand(n, count, generator=generator), what)
        r_in = allocate(owner, lambda: torch.rand(n - count, generator=generator), what)
        s_in = allocate(owner, lambda: torch.rand(n, n - count, generator=generator), what)
        a = torch.cat([torch.full((count,), 0.02), 0.02 + 0.08 * r_in])
        b = torch.cat([torch.full((count,), 0.2), 0.25 - 0.05 * r_in])
        c = torch.cat([-65.0 + 15.0 * r_ex ** 2, torch.full((n - count,), -65.0)])
        d = torch.cat([8.0 - 6.0 * r_ex ** 2, torch.full((n - count,), 2.0)])
        for name, value in (("a", a), ("b", b), ("c", c), ("d", d)):
            self.register_buffer(name, value.view(self.shape).contiguous())
        kind = torch.arange(n) < count
        self.register_buffer("excitatory", kind.to(torch.uint8).view(self.shape))
        self.register_buffer("S", torch.cat([0.5 * s_ex, -s_in], dim=1))
        self.register_buffer("v", torch.zeros(0))
        self.register_buffer("u", torch.zeros(0))

    def initial_state(self) -> dict[str, Number]:
        return {"v": self.rest, "u": self.b * self.rest}

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        return {**super().ir_params(), "thresh": self.thresh, "rest": self.rest, "lbound": self.lbound,
                "a": self.a, "b": self.b, "c": self.c, "d": self.d, "S": self.S}


class SRM0Nodes(_Refractory):
    """Spike-response neurons with escape noise (spec 3.10).

    Per step: ``v = (v - rest) * exp(-dt / tc_decay) + rest``; ``v += eps_0 * I`` where
    ``refrac_count <= 0``; ``rho = rho_0 * exp((v - thresh) / d_thresh)``;
    ``s_prob = 1 - exp(-rho * dt)``; ``refrac_count -= dt``; ``s = u < s_prob`` with a
    fresh uniform ``u`` per neuron and step (drawn by the runtime from torch's
    generator); where ``s``: ``refrac_count = refrac``, ``v = reset``; ``lbound``; then
    traces. A refractory neuron ignores input but may still fire.
    """

    ir_op = "srm0"
    state_names = ("s", "v", "refrac_count", "rho", "s_prob")
    reset_names = ("v", "refrac_count")

    def __init__(self, n: int | None = None, shape: Iterable[int] | None = None, traces: bool = False,
                 traces_additive: bool = False, tc_trace: Number = 20.0, trace_scale: Number = 1.0,
                 sum_input: bool = False, thresh: Number = -50.0, rest: Number = -70.0,
                 reset: Number = -70.0, refrac: Number = 5, tc_decay: Number = 10.0,
                 lbound: Number | None = None, eps_0: Number = 1.0, rho_0: Number = 1.0,
                 d_thresh: Number = 5.0, learning: bool = True) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input, learning)
        self._common(lbound, thresh=thresh, rest=rest, reset=reset, refrac=refrac, tc_decay=tc_decay)
        self._register(eps_0=eps_0, rho_0=rho_0, d_thresh=d_thresh)
        self._positive("d_thresh")
        self._non_negative("rho_0")
        self.register_buffer("rho", torch.zeros(0))
        self.register_buffer("s_prob", torch.zeros(0))

    def initial_state(self) -> dict[str, Number]:
        return {"v": self.rest, "refrac_count": 0.0, "rho": 0.0, "s_prob": 0.0}

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        return {**super().ir_params(), "eps_0": self.eps_0, "rho_0": self.rho_0, "d_thresh": self.d_thresh}


def kernel_values(name: str, tau: float, lags: torch.Tensor, reset_const: float) -> torch.Tensor:
    """A CSRM kernel at the given lags (spec 3.11's table)."""
    table = {
        "AlphaKernel": lambda t: t * torch.exp(-t / tau) / tau ** 2,
        "AlphaKernelSLAYER": lambda t: (t / tau) * torch.exp(1 - t / tau),
        "LaplacianKernel": lambda t: torch.exp(-torch.abs(t / tau)) / (2 * tau),
        "ExponentialKernel": lambda t: torch.exp(-t / tau) / tau,
        "RectangularKernel": lambda t: torch.full_like(t, 1.0 / (2 * tau)),
        "TriangularKernel": lambda t: (1 - t / tau) / tau,
        "EtaKernel": lambda t: -reset_const * torch.exp(-t / tau),
    }
    if name not in table:
        raise SnncError(f"CSRMNodes: unknown kernel {name!r}; known: {sorted(table)}")
    return table[name](lags)


class CSRMNodes(Nodes):
    """Cumulative spike-response neurons (spec 3.11).

    Each incoming ``Connection`` delivers a window of its last ``W = res_window_size
    / dt`` source spike vectors (oldest first), each through ``w`` (and ``b``). With
    the response kernel ``K`` and the refractory kernel ``E`` (``EtaKernel``:
    ``-reset_const exp(-t / tau)``) evaluated at lags ``0, dt, 2 dt, …`` and reversed
    (the last entry is lag 0), per step: ``v *= exp(-dt / tc_decay)`` (towards 0); if
    learning ``theta *= exp(-dt / tc_theta_decay)``; ``v += sum_k K[k] I[k] + sum_k
    E[k] last_spikes[k]``; ``s = v >= thresh + theta``; if learning ``theta +=
    theta_plus * sum_b s``; ``last_spikes`` drops its oldest entry and appends ``s``;
    ``lbound``; then traces. There is no voltage reset; a reset restores ``v = rest``
    only. ``RectangularKernel`` is constant over the window (BindsNET crashes on it).
    """

    ir_op = "csrm"
    state_names = ("s", "v", "theta", "last_spikes")
    reset_names = ("v",)

    def __init__(self, n: int | None = None, shape: Iterable[int] | None = None, traces: bool = False,
                 traces_additive: bool = False, tc_trace: Number = 20.0, trace_scale: Number = 1.0,
                 sum_input: bool = False, rest: Number = -65.0, thresh: Number = -52.0,
                 responseKernel: str = "ExponentialKernel", refractoryKernel: str = "EtaKernel",
                 tau: float = 1, res_window_size: int = 20, ref_window_size: int = 10,
                 reset_const: float = 50, tc_decay: Number = 100.0, theta_plus: Number = 0.05,
                 tc_theta_decay: Number = 1e7, lbound: Number | None = None, learning: bool = True) -> None:
        super().__init__(n, shape, traces, traces_additive, tc_trace, trace_scale, sum_input, learning)
        owner = type(self).__name__
        self._register(rest=rest, thresh=thresh, tc_decay=tc_decay, theta_plus=theta_plus,
                       tc_theta_decay=tc_theta_decay)
        self._positive("tc_decay", "tc_theta_decay")
        if refractoryKernel != "EtaKernel":
            raise SnncError(f"{owner}: refractoryKernel must be 'EtaKernel', got {refractoryKernel!r}")
        kernel_values(responseKernel, 1.0, torch.zeros(1), 0.0)      # an unknown name fails here
        if not float(tau) > 0:
            raise SnncError(f"{owner}: tau must be > 0, got {tau}")
        self.responseKernel, self.refractoryKernel = responseKernel, refractoryKernel
        self.tau, self.reset_const = float(tau), float(reset_const)
        self.res_window_size, self.ref_window_size = float(res_window_size), float(ref_window_size)
        if not (self.res_window_size > 0 and self.ref_window_size > 0):
            raise SnncError(f"{owner}: res_window_size and ref_window_size must be > 0 ms, got "
                            f"{res_window_size} and {ref_window_size}")
        self.lbound = None if lbound is None else _param(owner, "lbound", lbound, self.shape)
        self.register_buffer("theta", allocate(owner, lambda: torch.zeros(self.shape), f"theta of {self.n} neurons"))
        self.register_buffer("v", torch.zeros(0))
        self.register_buffer("last_spikes", torch.zeros(0))
        self.register_buffer("resKernel", torch.zeros(0))
        self.register_buffer("refKernel", torch.zeros(0))

    def windows(self) -> tuple[int, int]:
        """The response and refractory windows in steps."""
        if self.dt is None:
            raise SnncError("CSRMNodes: add the layer to a network first (its windows depend on dt)")
        return max(1, math.ceil(self.res_window_size / self.dt)), max(1, math.ceil(self.ref_window_size / self.dt))

    def compute_decays(self, dt: float) -> None:
        super().compute_decays(dt)
        res, ref = self.windows()
        lags = lambda count: torch.arange(count, dtype=torch.float32) * float(dt)   # noqa: E731
        self.resKernel = kernel_values(self.responseKernel, self.tau, lags(res), 0.0).flip(0).contiguous()
        self.refKernel = kernel_values("EtaKernel", self.tau, lags(ref), self.reset_const).flip(0).contiguous()

    def set_batch_size(self, batch_size: int) -> None:
        super().set_batch_size(batch_size)
        _, ref = self.windows()
        self.v = self.rest.expand(self.batch_size, *self.shape).clone().to(self._device())
        self.last_spikes = torch.zeros(self.batch_size, ref, *self.shape, device=self._device())

    def initial_state(self) -> dict[str, Number]:
        return {"v": self.rest}

    def ir_params(self) -> dict[str, torch.Tensor | None]:
        return {**super().ir_params(), "rest": self.rest, "thresh": self.thresh, "tc_decay": self.tc_decay,
                "theta_plus": self.theta_plus, "tc_theta_decay": self.tc_theta_decay, "lbound": self.lbound,
                "resKernel": self.resKernel, "refKernel": self.refKernel}
