"""A compiled network: loads generated code, binds buffers, runs it, syncs state back."""
from __future__ import annotations

import logging
import os
import time as clock
from dataclasses import dataclass, replace
from typing import Any

import networkx as nx
import torch

from snnc.compiler import (BACKENDS, BufferSpec, CompileOptions, CompiledModule, bind_arguments,
                           compile_lowered, lower)
from snnc.changes import CHANGES
from snnc.compiler.cost_model import unsupported
from snnc.errors import SnncError, warn
from snnc.ir import record_network
from snnc.network.nodes import AbstractInput
from snnc.runtime import cuda_graphs, jit
from snnc.runtime.adapters import ADAPTERS
from snnc.runtime.binding import Bound, Recording, fingerprint, split_tensors
from snnc.runtime.inputs import count_steps, normalize_inputs
from snnc.runtime.loader import load_module
from snnc.runtime.call_buffers import CallBuffers, sizes
from snnc.runtime.reset import ResetPlan, reset_plan
from snnc.runtime.run_options import check_reward, prepare, rule_input

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
    launches: dict | None = None      # numba-cuda: kernel launches, path, grid, fallback reason


@dataclass
class _Compiled:
    module: CompiledModule
    run: Any
    jit_seconds: float | None = None
    launch_stats: dict | None = None     # numba-cuda: the generated module's LAUNCH_STATS


class Program:
    """``snnc.compile(network, backend)``: the network's generated code, ready to run.

    ``program.run(inputs, time)`` simulates like ``Network.run``; ``program.source``
    is the generated code, ``program.ir`` the lowered IR, ``program.report()`` the pass
    timings, compile and run times.
    """

    def __init__(self, network, backend: str = "torch", device: str | None = None,
                 storage: dict | None = None, propagation: dict | None = None,
                 activity: float = 0.05, fast_paths: bool = True,
                 fuse_learning: bool | None = None, threads: int = 0) -> None:
        self.network = network
        device = torch.device(device) if device is not None else device_of(network)
        self.backend = resolve_backend(backend, device)
        self._auto = backend == AUTO
        self.options = CompileOptions(
            backend=self.backend, device=str(device), storage=CompileOptions.overrides(storage),
            propagation=CompileOptions.overrides(propagation), activity=float(activity),
            fast_paths=bool(fast_paths), fuse_learning=None if fuse_learning is None else bool(fuse_learning),
            threads=int(threads))
        self._compiled: dict[str, _Compiled] = {}
        self._bound: Bound | None = None
        self._reward_checked: tuple | None = None
        self._layouts: dict = {}                    # inputs' checked layouts (runtime.inputs)
        self._reset: ResetPlan | int | None = None    # the reset plan, or the change count it was refused at
        self._device = device
        self._graph_capture = cuda_graphs.capture_cuda_graph
        self._adapt = ADAPTERS[self.backend]
        self.last_run = RunStats()
        default_inputs = {name: torch.float32 for name, layer in network.layers.items()
                          if isinstance(layer, AbstractInput)}
        self._last: _Compiled | None = None     # an empty network compiles nothing
        if network.layers:
            self._last = self._compile(record_network(network, input_dtypes=default_inputs))

    def _fall_back(self, ir: nx.DiGraph) -> None:
        """``auto``: move to torch (and say why) when this IR needs what only torch runs;
        asked at every rebind, so a later change (an opaque op, learning 16-bit weights)
        is seen too."""
        reason = unsupported(ir, self.backend) if self._auto else None
        if reason is not None:
            log.info("backend auto -> torch: %s cannot run %s", self.backend, reason)
            self.backend = "torch"
            self.options = replace(self.options, backend="torch")
            self._adapt = ADAPTERS["torch"]

    # -- inspection ---------------------------------------------------------------
    def _module(self) -> CompiledModule:
        if self._last is None:
            raise SnncError("program: nothing was compiled (the network has no layers)")
        return self._last.module

    @property
    def source(self) -> str:
        """The generated source of the most recent compilation."""
        return self._module().source

    @property
    def source_path(self):
        return self._module().path

    @property
    def ir(self) -> nx.DiGraph:
        """The IR after the last pass of the most recent compilation."""
        return self._module().ir

    def report(self) -> str:
        """Pass timings, compile time and the last run's time, as a table."""
        module = self._module()
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
                         f"batch {run.batch_size}, {per_step:.1f} us/step on the device)")
        if run.launches is not None:
            launched = run.launches
            if launched["path"] == "persistent":
                blocks, threads = launched["grid"]
                lines.append(f"kernel launches   {launched['launches']} (persistent kernel, grid {blocks} x "
                             f"{threads} threads; one launch per call or progress chunk)")
            elif launched["path"] == "cuda graph":
                lines.append("graph launches    1 (the run replayed from its captured CUDA graph)")
            else:
                lines.append(f"kernel launches   {launched['launches']} (a kernel per phase: "
                             f"{launched['reason']})")
        return "\n".join(lines)

    # -- compilation --------------------------------------------------------------
    def _compile(self, ir: nx.DiGraph, bind_next: bool = False) -> _Compiled:
        """The compiled module for ``ir``, compiling on a miss. The argument values the
        plan computed are kept only when the caller binds from this very IR next."""
        self._fall_back(ir)
        lowered = lower(ir, self.options)
        compiled = self._compiled.get(lowered.key)
        jit.STATS.seconds += lowered.seconds
        if compiled is None:
            module = compile_lowered(lowered, self.options)
            jit.STATS.seconds += module.seconds - lowered.seconds
            loaded = load_module(module.path, module.key)
            compiled = _Compiled(module, loaded.run, launch_stats=getattr(loaded, "LAUNCH_STATS", None))
            self._compiled[lowered.key] = compiled
            if not bind_next:
                module.ir.graph["plan"].values = {}
        return compiled

    def compile_for(self, input_dtypes: dict[str, torch.dtype], one_step: bool = False) -> CompiledModule:
        """Compile (without running) for inputs of these dtypes; ``source`` then shows it."""
        ir = record_network(self.network, input_dtypes=input_dtypes, one_step=one_step)
        self._last = self._compile(ir)
        return self._last.module

    # -- running ------------------------------------------------------------------
    def run(self, inputs: dict[str, torch.Tensor], time: float, one_step: bool = False,
            progress_bar: bool = False, **kwargs: Any) -> None:
        """Simulate ``int(time / dt)`` steps from the network's current state.

        Keyword arguments as ``Network.run``: ``clamp``, ``unclamp``, ``injects_v``,
        ``masks``, ``reward`` (through the network's ``reward_fn`` when it has one),
        ``a_plus``, ``a_minus`` (see :mod:`snnc.runtime.run_options`).
        """
        network = self.network
        steps = count_steps(time, network.dt)
        shaped, batch = normalize_inputs(network, inputs, steps, self._device, self._layouts)
        structure: dict = {}
        masks: dict = {}
        if kwargs:                      # the usual call has none: nothing to check per call
            if network.reward_fn is not None and kwargs.get("reward") is not None:
                kwargs["reward"] = network.reward_fn.compute(**kwargs)
            self._reward_checked = check_reward(network, kwargs, self._reward_checked)
            structure, masks = prepare(network, steps, kwargs)
        if batch is not None and batch != network.batch_size:
            _batch_changes(network, batch)
        if steps == 0 or not network.layers:
            return
        input_dtypes = {k: v.dtype for k, v in shaped.items()}
        mask_key = tuple(sorted((str(owner), tuple(sorted(given.items()))) for owner, given in structure.items()))
        bound = self._bound
        if bound is None or fingerprint(network, input_dtypes, one_step, bound.versioned, bound.pinned,
                                        mask_key) != bound.print:
            bound = self._rebind(input_dtypes, one_step, structure, mask_key)
        compiled, adapt, batch = bound.compiled, self._adapt, network.batch_size
        args = list(bound.static)
        for position, layer in bound.inputs:
            args[position] = adapt(shaped[layer])
        for position, owner, var, shape in bound.masks:     # a weight mask: as the map indexes w
            mask = masks[(owner, var)]
            args[position] = adapt((mask.reshape(shape) if var == "mask" else mask).to(self._device))
        for position, owner, var in bound.run_values:
            args[position] = adapt(rule_input(owner, var, kwargs, batch).to(self._device))
        buffers = bound.per_call.get((batch, steps))
        if buffers is None:
            buffers = bound.per_call[batch, steps] = CallBuffers(
                bound.recordings, bound.randoms, batch, steps, self.backend == "numba", self._device, adapt)
        made = buffers.make(args)
        if compiled.jit_seconds is None:  # numba compiles (or loads its cache) on the first call
            compiled.jit_seconds = jit.first_call(compiled.run, compiled.module.path, steps, args)
        self._last = compiled
        launches = compiled.launch_stats                # numba-cuda modules count their launches
        if launches is not None:
            launches["launches"] = 0
        start = clock.perf_counter()
        if cuda_graphs.replayed(bound, self.backend, self._device, (batch, steps), args, progress_bar,
                                self._graph_capture):
            launches = {"launches": 1, "path": "cuda graph", "grid": None, "reason": None}
        else:
            _call(compiled.run, steps, args, progress_bar)
        self.last_run = RunStats(steps, clock.perf_counter() - start, batch,
                                 None if launches is None else dict(launches))
        buffers.hand_back(made)

    def reset_states(self) -> bool:
        """Every layer's and learning rule's state back to its start in one compiled call
        (numba backend, CPU; see :mod:`snnc.runtime.reset`). False when the network needs
        its objects' own ``reset_state_variables`` instead (monitors are never touched)."""
        if self.backend != "numba":
            return False
        plan = self._reset
        if not isinstance(plan, ResetPlan) or not plan.valid():
            if plan == CHANGES[0]:                  # refused, and nothing changed since
                return False
            plan = self._reset = reset_plan(self.network)
            if plan is None:
                self._reset = CHANGES[0]
                return False
        plan.apply()
        return True

    def _rebind(self, input_dtypes: dict[str, torch.dtype], one_step: bool, structure: dict,
                mask_key: tuple) -> Bound:
        """Record the IR, find (or compile) its module and bind every static argument."""
        network = self.network
        ir = record_network(network, input_dtypes=input_dtypes, one_step=one_step, run=structure)
        compiled = self._compile(ir, bind_next=True)
        plan = compiled.module.ir.graph["plan"]
        values = plan.values if plan.values else bind_arguments(ir, compiled.module)
        plan.values = {}                    # planned from this IR: used once, then dropped
        static, tensors = [], []
        bound = Bound((), compiled, ir, static, [])
        for position, spec in enumerate(compiled.module.buffers):
            value = None
            if spec.role == "arg":
                value = values[spec.name].to(self._device)
            elif spec.role == "state":
                value = self._state_view(spec)
            elif spec.role in ("scratch", "temp"):
                value = torch.zeros(sizes(spec.shape, network.batch_size, 0, None), device=self._device,
                                    dtype=getattr(torch, spec.dtype))
            elif spec.role == "object":
                static.append(self._object(spec.owner))
                continue
            elif spec.role == "input":
                bound.inputs.append((position, spec.owner))
            elif spec.role == "monitor":
                layer = None if isinstance(spec.recorded, tuple) else ir.nodes[spec.recorded]
                per_neuron = layer is not None and spec.shape[-1] == layer["n"]
                recorded = tuple(layer["shape"]) if per_neuron else None     # viewed [.., *shape]
                row, pattern = None, None
                if layer is None and spec.var == "w":       # the connection's own w shape
                    row = tuple(ir.edges[spec.recorded]["params"]["w"].shape)
                    weights = network.connections[spec.recorded].w
                    pattern = weights if weights.layout == torch.sparse_csr else None
                part = next(m for m in ir.graph["monitors"] if m.name == spec.owner)
                sink = network.monitors[part.monitor].sink(part.part)
                bound.recordings.append(Recording(position, sink, spec.var, getattr(torch, spec.dtype),
                                                  spec.shape, spec.time, recorded, row, pattern))
            elif spec.role == "random":
                bound.randoms.append((position, spec.shape))
            elif spec.role == "mask":
                bound.masks.append((position, spec.owner, spec.var, spec.shape))
            elif spec.role == "run":
                bound.run_values.append((position, spec.owner, spec.var))
            else:
                raise SnncError(f"runtime: unknown buffer role {spec.role!r} for {spec.name}")
            if value is not None:
                tensors.append(value)
            static.append(None if value is None else self._adapt(value))
        bound.versioned, bound.pinned = split_tensors(network, tensors)
        bound.print = fingerprint(network, input_dtypes, one_step, bound.versioned, bound.pinned, mask_key)
        self._bound = bound
        return bound

    def _object(self, owner):
        return self.network.connections[owner] if isinstance(owner, tuple) else self.network.layers[owner]

    def _state_view(self, spec: BufferSpec) -> torch.Tensor:
        """The frontend's state tensor as ``[B, n]`` (``[n]`` when shared by the batch)
        of the planned dtype, sharing memory."""
        owner = spec.owner
        obj = self.network.connections[owner] if isinstance(owner, tuple) else self.network.layers[owner]
        rule = getattr(obj, "update_rule", None)
        if spec.var in getattr(rule, "state_kinds", {}):          # a learning rule's state
            obj = rule
        tensor = getattr(obj, spec.var)
        dtype = getattr(torch, spec.dtype)
        if tensor.dtype != dtype or not tensor.is_contiguous():
            tensor = tensor.to(dtype).contiguous()
            setattr(obj, spec.var, tensor)
        if len(spec.shape) == 1:
            return tensor.view(-1)
        return tensor.view(tensor.shape[0], *spec.shape[1:])


def _batch_changes(network, batch: int) -> None:
    """A new batch size re-creates every layer's state and empties the monitors (as
    BindsNET does); say so when that drops recorded data."""
    recorded = [name for name, monitor in network.monitors.items() if monitor.has_data()]
    if recorded:
        warn(f"run: the batch size changes from {network.batch_size} to {batch}: layer state "
             f"is re-initialised and the recordings of monitor(s) {recorded} are dropped")
    network.set_batch_size(batch)


PROGRESS_INTERVAL = 0.1     # seconds of simulation between two progress-bar updates


def _call(run, steps: int, args: list, progress_bar: bool) -> None:
    """Run every step; with a progress bar, in chunks: a first one of 1 % of the steps
    times a step, then chunks of about ``PROGRESS_INTERVAL`` seconds each, so the bar
    costs a handful of calls however short the steps are."""
    if not progress_bar:
        run(0, steps, steps, *args)
        return
    from tqdm.auto import tqdm

    chunk = max(1, steps // 100)
    with tqdm(total=steps, unit="step") as bar:
        start = 0
        while start < steps:
            stop = min(steps, start + chunk)
            began = clock.perf_counter()
            run(start, stop, steps, *args)
            per_step = (clock.perf_counter() - began) / (stop - start)
            chunk = max(1, int(PROGRESS_INTERVAL / per_step)) if per_step > 0 else steps
            bar.update(stop - start)
            start = stop


def device_of(network) -> torch.device:
    for layer in network.layers.values():
        return layer.s.device
    return torch.device("cpu")
