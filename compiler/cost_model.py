"""How weights are stored and propagated, per connection: the documented cost model.

Storage (``choose_storage``), unless overridden by ``CompileOptions.storage``:

* values keep the weights' own dtype (float32 by default; ``w_dtype=float16`` or
  ``bfloat16`` halves the memory and is computed in float32), so the default never
  changes results beyond float tolerance;
* CSR when at most ``CSR_MAX_DENSITY`` of the weights are non-zero and the matrix has
  at least ``CSR_MIN_SIZE`` entries — event-driven propagation then visits only
  stored synapses; dense otherwise;
* dense, in the weights' own dtype, whenever the weights change during a run (per-step
  weight updates, end-of-run normalisation) or a monitor records them: the run updates
  the network's own tensor (the numba backends only float32 ones, see ``unsupported``);
* ``uniform`` (numba only) for fixed float32 weights that would be dense, have at least
  ``CSR_MIN_SIZE`` entries and hold one value off the diagonal and one on it, as lateral inhibition ``c·(1 - I)`` does: two
  scalars instead of ``n²`` weights, and the sources summed once per sample
  (``w_off·Σ_i s_i + (w_diag − w_off)·s_j``, equal to the dense sums up to rounding).

Propagation (``choose_propagation``), unless overridden by ``CompileOptions.propagation``:

* numba and numba-cuda always propagate event-driven: their loops add only the rows
  of sources that spiked, which costs no more than a dense loop when all spike;
* torch uses the sparse product for CSR; for dense weights it gathers the active rows
  (``event``) when the expected fraction of source rows active in the batch,
  ``1 - (1 - p)^B`` with ``p = CompileOptions.activity`` (spike probability per
  neuron and step, default 0.05), is at most ``EVENT_MAX_ACTIVE`` and the target has
  at least ``EVENT_MIN_TARGETS`` neurons; otherwise a dense matrix product (BLAS),
  which also serves real-valued (non-spike) sources. On a CUDA device torch always
  takes the matrix product: gathering the active rows needs ``torch.nonzero``, whose
  result size the host must wait for at every step.

Loop nest (``choose_loop_nest``, numba only): when samples are independent (no
weight changes within a step and no monitor on weights) the whole run is one loop
over samples with time inside — each sample stays in cache — and with a batch of at
least ``PARALLEL_MIN_BATCH`` that loop is a ``prange`` over the cores. Otherwise time
is the outer loop and every step loops over samples serially. Without a parallel batch,
a dense connection expected to add at least ``PARALLEL_MIN_ROW_WORK`` weights per step
(``n_source * activity * n_target``) splits its active rows between the cores. Nothing
is split when the run may use one thread only (``CompileOptions.threads``): numba's
parallel compilation of such a run takes about three times as long for no gain.
"""
from __future__ import annotations

import networkx as nx
import torch

from snnc.compiler.ops.connection import CONNECTION_OPS, learns, weights_change
from snnc.compiler.ops.dense import uniform_values
from snnc.compiler.ops.opaque import is_opaque, opaque_objects
from snnc.compiler.options import CompileOptions
from snnc.compiler.order import edge_label
from snnc.errors import SnncError

CSR_MAX_DENSITY = 0.1
CSR_MIN_SIZE = 4096
EVENT_MAX_ACTIVE = 0.25
EVENT_MIN_TARGETS = 32
PARALLEL_MIN_BATCH = 2
PARALLEL_MIN_ROW_WORK = 500_000
FORMATS = ("dense", "csr", "uniform")
DTYPES = ("float32", "float16", "bfloat16")

DENSITY_SAMPLES = 1 << 14


def density(w: torch.Tensor) -> float:
    """Fraction of non-zero weights: exact up to ``DENSITY_SAMPLES`` weights, else
    counted on evenly spaced whole rows holding about that many (deterministic)."""
    if w.numel() <= DENSITY_SAMPLES:
        return float(torch.count_nonzero(w)) / max(1, w.numel())
    rows = min(w.shape[0], max(1, DENSITY_SAMPLES // w.shape[1]))
    picked = torch.linspace(0, w.shape[0] - 1, rows, device=w.device).long()
    sample = w[picked]
    return float(torch.count_nonzero(sample)) / sample.numel()


def _override(options_items: tuple, edge: tuple[str, str]) -> str | None:
    return dict(options_items).get(edge_label(edge))


def choose_storage(ir: nx.DiGraph, edge: tuple[str, str], options: CompileOptions) -> dict[str, str] | None:
    """``{"format": dense|csr, "dtype": float32|float16|bfloat16}`` for one connection
    (None for an opaque one, whose weights are its own business)."""
    if is_opaque(ir.edges[edge]):
        return None
    w = ir.edges[edge]["params"].get("w")
    if w is None:                       # a type without weights (pooling)
        return {"format": "dense", "dtype": "float32"}
    dtype = str(w.dtype).removeprefix("torch.")
    formats = CONNECTION_OPS[ir.edges[edge]["op"]].storage_formats
    if formats == ("csr",):             # stored sparse by the network itself (SparseConnection)
        return {"format": "csr", "dtype": dtype}
    if (options.backend == "torch" and not options.fast_paths) or any(ir.edges[edge]["params"].get(k) is not None for k in ("factor", "prob")):
        formats = ("dense",)
    sparse = "csr" in formats and w.numel() >= CSR_MIN_SIZE and density(w) <= CSR_MAX_DENSITY
    fmt = "csr" if sparse else "dense"
    if fmt == "dense" and "uniform" in formats and options.backend == "numba" and w.dtype == torch.float32 \
            and w.numel() >= CSR_MIN_SIZE and not weights_change(ir, edge) and uniform_values(w) is not None:
        fmt = "uniform"
    owner = f"Connection {edge_label(edge)}"
    override = _override(options.storage, edge)
    if override is not None:
        for part in override.split(":"):
            if part in FORMATS:
                if part == "uniform" and (options.backend != "numba" or uniform_values(w) is None):
                    raise SnncError(f"{owner}: storage 'uniform' needs the numba backend and weights that "
                                    "hold one value off the diagonal and one on it")
                if part not in formats:
                    raise SnncError(f"{owner}: storage {part!r} is not available for "
                                    f"{ir.edges[edge]['op']} connections; use one of {formats}")
                fmt = part
            elif part in DTYPES:
                dtype = part
            else:
                raise SnncError(f"{owner}: unknown storage {part!r}; use one of {FORMATS + DTYPES}")
    if dtype not in DTYPES:
        raise SnncError(f"{owner}: weights of dtype {dtype} are not supported; use one of {DTYPES}")
    if fmt == "uniform" and dtype != "float32":     # two float32 scalars: a 16-bit request means dense
        fmt = "dense"
    own = str(w.dtype).removeprefix("torch.")
    if weights_change(ir, edge):
        if override is not None and (fmt != "dense" or dtype != own):
            raise SnncError(f"{owner}: storage {override!r} needs fixed weights, but they change "
                            "during the run (weight updates, normalisation or a monitor on w); "
                            f"they are stored as given (dense {own})")
        fmt, dtype = "dense", own      # the run updates the network's own tensor
    return {"format": fmt, "dtype": dtype}


def binary_source(ir: nx.DiGraph, source: str) -> bool:
    """Whether a layer's spikes are 0/1 (neuron models, or an input fed spikes only)."""
    attrs = ir.nodes[source]
    if attrs["op"] != "input":
        return True
    external = ir.graph["inputs"].get(source)
    return external in ("bool", "uint8") and ir.in_degree(source) == 0


def choose_propagation(ir: nx.DiGraph, edge: tuple[str, str], storage: dict[str, str],
                       options: CompileOptions) -> str:
    """``event`` or ``matmul`` for one connection (see the module docstring)."""
    if is_opaque(ir.edges[edge]):
        return "opaque"
    override = _override(options.propagation, edge)
    if override is not None:
        if override not in ("event", "matmul"):
            raise SnncError(f"Connection {edge_label(edge)}: unknown propagation {override!r}; "
                            "use 'event' or 'matmul'")
        return override
    if options.backend != "torch":
        return "event"
    if storage["format"] == "csr" or not binary_source(ir, edge[0]) or options.device.startswith("cuda"):
        return "matmul"
    active = 1.0 - (1.0 - options.activity) ** ir.graph["batch_size"]
    if active <= EVENT_MAX_ACTIVE and ir.nodes[edge[1]]["n"] >= EVENT_MIN_TARGETS:
        return "event"
    return "matmul"


def samples_independent(ir: nx.DiGraph) -> bool:
    """Nothing couples the samples of a batch within a step: no per-step weight change,
    no weight monitor, no batch-shared layer state written during the run."""
    from snnc.compiler.ops import CONNECTION_OPS

    per_step = any(learns(ir, e) for e in ir.edges)
    if any(CONNECTION_OPS.get(ir.edges[e]["op"]) is not None and CONNECTION_OPS[ir.edges[e]["op"]].couples_samples
           for e in ir.edges):
        return False
    weight_monitor = any(isinstance(spec.target, tuple) for spec in ir.graph["monitors"])
    return not per_step and not weight_monitor and not any(shared_state_written(ir, n) for n in ir.nodes)


def shared_state_written(ir: nx.DiGraph, layer: str) -> bool:
    """The layer updates state shared by the batch this run (``theta`` while learning)."""
    from snnc.compiler.ops import LAYER_OPS

    return LAYER_OPS[ir.nodes[layer]["op"]].writes_shared(ir.nodes[layer])


def choose_loop_nest(ir: nx.DiGraph, options: CompileOptions) -> dict:
    """``{"batch_outer", "parallel", "parallel_rows"}`` for the numba backend (see the
    module docstring); ``parallel_rows`` lists the connections that split their rows.
    Reads the storage decisions from the IR."""
    if options.backend != "numba":
        return {"batch_outer": False, "parallel": False, "parallel_rows": []}
    independent = samples_independent(ir)
    threaded = options.threads > 1
    parallel = threaded and independent and ir.graph["batch_size"] >= PARALLEL_MIN_BATCH
    rows = []
    if threaded and not parallel:
        for edge in sorted(ir.edges, key=lambda e: ir.edges[e]["index"]):
            storage = ir.edges[edge]["storage"]
            if storage is None:
                continue
            n_source, n_target = ir.nodes[edge[0]]["n"], ir.nodes[edge[1]]["n"]
            work = n_source * options.activity * n_target
            dense_map = ir.edges[edge]["op"] == "dense"
            if dense_map and storage["format"] == "dense" and binary_source(ir, edge[0]) \
                    and work >= PARALLEL_MIN_ROW_WORK:
                rows.append(edge_label(edge))
    return {"batch_outer": independent, "parallel": parallel, "parallel_rows": rows}


def unsupported(ir: nx.DiGraph, backend: str) -> str | None:
    """Why ``backend`` cannot run this IR, or None. numba backends read 16-bit weights
    through a decode table, so they cannot update them during a run."""
    if backend == "torch":
        return None
    opaque = opaque_objects(ir)
    if opaque:
        return f"{', '.join(opaque)}: its own Python step (an opaque op, run by the torch backend)"
    for edge in ir.edges:
        w = ir.edges[edge]["params"].get("w")
        dtype = torch.float32 if w is None else w.dtype
        if dtype != torch.float32 and weights_change(ir, edge):
            return (f"connection {edge_label(edge)}: {str(dtype).removeprefix('torch.')} weights "
                    "that change during the run")
    return None
