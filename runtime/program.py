"""A compiled network: loads generated code, binds buffers, runs it, syncs state back."""
from __future__ import annotations

import logging
import math
import os
import time as clock
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import torch

from snnc.compiler import (BACKENDS, BufferSpec, CompileOptions, CompiledModule, bind_arguments,
                           compile_ir, structure_key)
from snnc.compiler.cost_model import unsupported
from snnc.errors import SnncError
from snnc.ir import record_network
from snnc.network.nodes import AbstractInput
from snnc.runtime.adapters import ADAPTERS
from snnc.runtime.buffers import output_buffer
from snnc.runtime.inputs import count_steps, normalize_inputs
from snnc.runtime.loader import load_module

AUTO = "auto"
log = logging.getLogger("snnc.runtime")


def resolve_backend(backend: str, device: torch.device) -> str:
    """``auto``: numba for CPU tensors, numba-cuda for CUDA tensors.

    ``$SNNC_BACKEND`` overrides what ``auto`` picks (e.g. ``torch`` for short runs,
    where numba's compile time would dominate).
    """
    if backend == AUTO:
        backend = os.environ.get("SNNC_BACKEND") or ("numba-cuda" if device.type == "cuda" else "numba")
        if backend == "numba-cuda" and not _numba_cuda_usable():
            backend = "torch"
            log.info("backend auto -> torch: numba-cuda cannot reach a GPU here")
        log.info("backend auto -> %s", backend)
    if backend not in BACKENDS:
        raise SnncError(f"unknown backend {backend!r}; choose one of {[AUTO, *BACKENDS]}")
    if backend == "numba" and device.type != "cpu":
        raise SnncError(f"backend numba runs on CPU tensors, but the network is on {device}; "
                        "use backend='numba-cuda' or 'torch', or network.to('cpu')")
    return backend


def _numba_cuda_usable() -> bool:
    try:
        from numba import cuda
    except ImportError:
        return False
    return bool(cuda.is_available())


@dataclass
class RunStats:
    steps: int = 0
    seconds: float = 0.0
    batch_size: int = 0


@dataclass
class _Compiled:
    module: CompiledModule
    run: Any
    scratch: dict[tuple[str, int], torch.Tensor] = field(default_factory=dict)
    jit_seconds: float | None = None


class Program:
    """``snnc.compile(network, backend)``: the network's generated code, ready to run.

    ``program.run(inputs, time)`` simulates like ``Network.run``; ``program.source``
    is the generated code, ``program.ir`` the lowered IR, ``program.report()`` the pass
    timings, compile and run times.
    """

    def __init__(self, network, backend: str = "torch", device: str | None = None,
                 storage: dict | None = None, propagation: dict | None = None,
                 activity: float = 0.05) -> None:
        self.network = network
        device = torch.device(device) if device is not None else device_of(network)
        self.backend = resolve_backend(backend, device)
        if backend == AUTO:
            reason = unsupported(record_network(network), self.backend)
            if reason is not None:
                log.info("backend auto -> torch: %s cannot run %s", self.backend, reason)
                self.backend = "torch"
        self.options = CompileOptions(
            backend=self.backend, device=str(device), storage=CompileOptions.overrides(storage),
            propagation=CompileOptions.overrides(propagation), activity=float(activity))
        self._compiled: dict[str, _Compiled] = {}
        self.last_run = RunStats()
        default_inputs = {name: torch.float32 for name, layer in network.layers.items()
                          if isinstance(layer, AbstractInput)}
        self._last = self._compile(record_network(network, input_dtypes=default_inputs))

    # -- inspection ---------------------------------------------------------------
    @property
    def source(self) -> str:
        """The generated source of the most recent compilation."""
        return self._last.module.source

    @property
    def source_path(self):
        return self._last.module.path

    @property
    def ir(self) -> nx.DiGraph:
        """The IR after the last pass of the most recent compilation."""
        return self._last.module.ir

    def report(self) -> str:
        """Pass timings, compile time and the last run's time, as a table."""
        module = self._last.module
        lines = [f"snnc program  backend={module.backend}  key={module.key}",
                 f"source        {module.path}"]
        lines += [f"pass {t.name:<12} {t.seconds * 1e3:9.3f} ms" for t in module.timings]
        lines.append(f"compile total     {module.seconds * 1e3:9.3f} ms  (passes and source)")
        if self._last.jit_seconds is not None:
            lines.append(f"backend jit       {self._last.jit_seconds * 1e3:9.3f} ms  "
                         "(numba compile or cache load, first call)")
        lowered = module.ir
        for source, target in lowered.edges:
            attrs = lowered.edges[source, target]
            lines.append(f"connection {source}->{target}: storage {attrs['storage']['format']} "
                         f"{attrs['storage']['dtype']}, propagation {attrs['propagation']}")
        nest = lowered.graph["loop_nest"]
        if module.backend == "numba":
            order = "samples outside time" if nest["batch_outer"] else "time outside samples"
            lines.append(f"loop nest: {order}{', parallel over samples' if nest['parallel'] else ''}")
            for label in nest["parallel_rows"]:
                lines.append(f"connection {label}: active rows split between the cores")
        run = self.last_run
        if run.steps:
            per_step = run.seconds / run.steps * 1e6
            lines.append(f"last run          {run.seconds * 1e3:9.3f} ms  ({run.steps} steps, "
                         f"batch {run.batch_size}, {per_step:.1f} us/step)")
        return "\n".join(lines)

    # -- compilation --------------------------------------------------------------
    def _compile(self, ir: nx.DiGraph) -> _Compiled:
        key = structure_key(ir, self.options)
        compiled = self._compiled.get(key)
        if compiled is None:
            module = compile_ir(ir, self.options)
            compiled = _Compiled(module, load_module(module.path, module.key).run)
            self._compiled[key] = compiled
        return compiled

    def compile_for(self, input_dtypes: dict[str, torch.dtype], one_step: bool = False) -> CompiledModule:
        """Compile (without running) for inputs of these dtypes; ``source`` then shows it."""
        ir = record_network(self.network, input_dtypes=input_dtypes, one_step=one_step)
        self._last = self._compile(ir)
        return self._last.module

    # -- running ------------------------------------------------------------------
    def run(self, inputs: dict[str, torch.Tensor], time: float, one_step: bool = False,
            progress_bar: bool = False, **kwargs: Any) -> None:
        """Simulate ``int(time / dt)`` steps from the network's current state."""
        if kwargs:
            raise SnncError(f"run: unsupported keyword argument(s) {sorted(kwargs)}; this version "
                            "supports inputs, time, one_step and progress_bar")
        network = self.network
        steps = count_steps(time, network.dt)
        device = torch.device(self.options.device)
        shaped, batch = normalize_inputs(network, inputs, steps, device)
        if batch is not None and batch != network.batch_size:
            network.set_batch_size(batch)
        if steps == 0:
            return
        ir = record_network(network, input_dtypes={k: v.dtype for k, v in shaped.items()},
                            one_step=one_step)
        compiled = self._compile(ir)
        self._last = compiled
        args = self._bind(compiled, ir, shaped, steps)
        adapted = [ADAPTERS[self.backend](arg) for arg in args]
        if compiled.jit_seconds is None:  # numba compiles (or loads its cache) on the first call
            start = clock.perf_counter()
            compiled.run(0, 0, steps, *adapted)
            compiled.jit_seconds = clock.perf_counter() - start
        start = clock.perf_counter()
        _call(compiled.run, steps, adapted, progress_bar)
        self.last_run = RunStats(steps, clock.perf_counter() - start, network.batch_size)
        self._hand_back(compiled.module.buffers, args, ir)

    def _bind(self, compiled: _Compiled, ir: nx.DiGraph, shaped: dict[str, torch.Tensor],
              steps: int) -> list[torch.Tensor]:
        network, device = self.network, torch.device(self.options.device)
        batch = network.batch_size
        values = bind_arguments(ir, compiled.module)
        args = []
        for spec in compiled.module.buffers:
            if spec.role == "arg":
                args.append(values[spec.name].to(device))
            elif spec.role == "state":
                args.append(self._state_view(spec, ir))
            elif spec.role == "input":
                args.append(shaped[spec.owner])
            elif spec.role == "scratch":
                cache_key = (spec.name, batch)
                if cache_key not in compiled.scratch:
                    compiled.scratch[cache_key] = torch.zeros(_shape(spec, batch, steps), device=device,
                                                              dtype=getattr(torch, spec.dtype))
                args.append(compiled.scratch[cache_key])
            elif spec.role == "monitor":  # every row is written by the run
                args.append(output_buffer(_shape(spec, batch, steps), getattr(torch, spec.dtype), device))
            else:
                raise SnncError(f"runtime: unknown buffer role {spec.role!r} for {spec.name}")
        return args

    def _state_view(self, spec: BufferSpec, ir: nx.DiGraph) -> torch.Tensor:
        """The frontend's state tensor as ``[B, n]`` of the planned dtype, sharing memory."""
        owner = spec.owner
        obj = self.network.connections[owner] if isinstance(owner, tuple) else self.network.layers[owner]
        tensor = getattr(obj, spec.var)
        dtype = getattr(torch, spec.dtype)
        if tensor.dtype != dtype or not tensor.is_contiguous():
            tensor = tensor.to(dtype).contiguous()
            setattr(obj, spec.var, tensor)
        return tensor.view(tensor.shape[0], -1)

    def _hand_back(self, buffers: list[BufferSpec], args: list[torch.Tensor], ir: nx.DiGraph) -> None:
        """Give each monitor its recording, shaped ``[T, B, *shape]`` or ``[T, *w.shape]``."""
        for spec, value in zip(buffers, args):
            if spec.role != "monitor":
                continue
            monitor = self.network.monitors[spec.owner]
            if isinstance(spec.recorded, tuple):
                monitor.append(spec.var, value)
            else:
                shape = ir.nodes[spec.recorded]["shape"]
                monitor.append(spec.var, value.view(value.shape[0], value.shape[1], *shape))


def _shape(spec: BufferSpec, batch: int, steps: int) -> tuple[int, ...]:
    rows = steps if spec.time is None else min(steps, spec.time)
    sizes = {"B": batch, "T": steps, "R": rows}
    return tuple(sizes.get(d, d) for d in spec.shape)


def _call(run, steps: int, args: list, progress_bar: bool) -> None:
    if not progress_bar:
        run(0, steps, steps, *args)
        return
    from tqdm.auto import tqdm

    chunk = max(1, math.ceil(steps / 100))
    with tqdm(total=steps, unit="step") as bar:
        for start in range(0, steps, chunk):
            stop = min(steps, start + chunk)
            run(start, stop, steps, *args)
            bar.update(stop - start)


def device_of(network) -> torch.device:
    for layer in network.layers.values():
        return layer.s.device
    return torch.device("cpu")
