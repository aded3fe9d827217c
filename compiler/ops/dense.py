"""Dense connections (``Connection``): propagation, weight decay and normalisation.

    I_target += s_source.float() @ w (+ b)           every step, spikes of step t-1
    w *= 1 - weight_decay                             every step while learning
    w[:, j] *= norm / sum_i |w[i, j]|                 end of run (a zero sum counts as 1)

Storage (chosen by the ``storage`` pass): dense or CSR, float32 or 16-bit values.
The per-backend code sits below, one function per backend and phase.
"""
from __future__ import annotations

import warnings

import torch

from snnc.compiler.ops.base import ConnectionOp, register_connection_op



def normalize_columns(w: torch.Tensor, norm: float | torch.Tensor) -> None:
    """In place: scale each column of ``w`` so that its absolute sum is ``norm``."""
    column_sums = w.abs().sum(dim=0, keepdim=True)
    column_sums[column_sums == 0] = 1.0
    w.mul_(norm / column_sums)


def decode_table(dtype: torch.dtype) -> torch.Tensor:
    """float32 value of every 16-bit pattern of ``dtype``, indexed by the pattern
    (numba has no float16/bfloat16 arrays; it reads the bits as uint16)."""
    bits = torch.arange(0, 1 << 16, dtype=torch.int32).to(torch.uint16)
    return bits.view(dtype).to(torch.float32)


def storage_of(attrs: dict) -> dict[str, str]:
    """The storage the ``storage`` pass chose, or the weights' own (dense, their dtype)."""
    return attrs.get("storage") or {"format": "dense",
                                     "dtype": str(attrs["params"]["w"].dtype).removeprefix("torch.")}


def _values(args: dict, name: str, values: torch.Tensor, backend: str) -> None:
    """Weights for a backend: torch takes any float tensor; numba reads float32, or
    16-bit patterns through a decode table."""
    if backend == "torch" or values.dtype == torch.float32:
        args[name] = values
    else:
        args[f"{name}_bits"] = values.contiguous().view(torch.uint16)
        args[f"{name}_table"] = decode_table(values.dtype)


def bind(attrs: dict, dt: float, backend: str = "torch") -> dict[str, torch.Tensor]:
    """Arguments per storage: dense ``w`` (the network's own tensor when float32, so
    in-place updates reach it), or CSR arrays ``w_indptr``/``w_indices``/``w_data`` with
    rows = sources (rows = targets for numba-cuda, which sums per target)."""
    params = attrs["params"]
    storage = storage_of(attrs)
    w = params["w"]
    dtype = getattr(torch, storage["dtype"])
    if w.dtype != dtype:
        w = w.to(dtype)
    args: dict[str, torch.Tensor] = {}
    if storage["format"] == "dense":
        _values(args, "w", w, backend)
    elif backend == "torch":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            args["w"] = w.to(torch.float32).to_sparse_csr()
    else:
        rows = w.t() if backend == "numba-cuda" else w
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            csr = rows.to(torch.float32).contiguous().to_sparse_csr()
        args["w_indptr"] = csr.crow_indices().contiguous()
        args["w_indices"] = csr.col_indices().contiguous()
        _values(args, "w_data", csr.values().to(dtype).contiguous(), backend)
    if params.get("b") is not None:
        n_target = params["w"].shape[1]
        args["b"] = params["b"].detach().to(torch.float32).expand(n_target).contiguous()
    if params.get("weight_decay") is not None:
        args["decay_factor"] = (1.0 - params["weight_decay"]).to(torch.float32)
    if params.get("norm") is not None:
        args["norm"] = params["norm"].to(torch.float32)
    return args


def _read(names: dict[str, str], array: str, index: str) -> str:
    """Scalar code reading a float32 weight of ``array`` (direct, or decoded bits)."""
    if array in names:
        return f"{names[array]}[{index}]"
    return f"{names[array + '_table']}[{names[array + '_bits']}[{index}]]"


def propagate_torch(names: dict[str, str], spikes: str, target_input: str,
                    strategy: str, storage: dict[str, str]) -> list[str]:
    """``matmul``: the full product; ``event``: only the rows of sources that spiked
    (dense storage); CSR storage multiplies by the sparse matrix."""
    w = names["w"]
    bias = f" + {names['b']}" if "b" in names else ""
    if storage["format"] == "csr":
        return [f"{target_input}.add_({spikes}.float() @ {w}{bias})"]
    if strategy == "event":
        return [f"active = torch.nonzero(({spikes} != 0).any(dim=0)).squeeze(1)",
                f"{target_input}.add_(({spikes}[:, active].to({w}.dtype) @ {w}[active]).float(){bias})"]
    return [f"{target_input}.add_(({spikes}.to({w}.dtype) @ {w}).float(){bias})"]


def learn_torch(names: dict[str, str]) -> list[str]:
    if "decay_factor" not in names:
        return []
    return [f"{names['w']}.mul_({names['decay_factor']})"]


def normalize_torch(names: dict[str, str]) -> list[str]:
    """Calls :func:`normalize_columns`, the one torch definition of the normalisation."""
    if "norm" not in names:
        return []
    return [f"normalize_columns({names['w']}, {names['norm']})"]


ROWS_PER_PASS = 4
PARALLEL_PARTS = 8


def _add_rows(names: dict[str, str], active: str, values: str, target: str, first: str,
              last: str) -> list[str]:
    """Add the dense rows ``active[first:last]`` (scaled by ``values``) into the 1-D
    ``target``, ``ROWS_PER_PASS`` rows per pass, associated exactly as one at a time."""
    rows = names["w"] if "w" in names else names["w_bits"]
    unrolled = range(ROWS_PER_PASS)

    def term(r: int) -> str:
        weight = f"row{r}[j]" if "w" in names else f"{names['w_table']}[row{r}[j]]"
        return f"value{r} * {weight}"

    total = f"{target}[j]"
    for r in unrolled:
        total = f"({total} + {term(r)})" if r < ROWS_PER_PASS - 1 else f"{total} + {term(r)}"
    return [f"k = {first}",
            f"while k + {ROWS_PER_PASS} <= {last}:",
            *[f"    row{r} = {rows}[{active}[k + {r}]]" for r in unrolled],
            *[f"    value{r} = {values}[k + {r}]" for r in unrolled],
            f"    for j in range({target}.shape[0]):",
            f"        {target}[j] = {total}",
            f"    k += {ROWS_PER_PASS}",
            f"while k < {last}:",
            f"    row0 = {rows}[{active}[k]]",
            f"    value0 = {values}[k]",
            f"    for j in range({target}.shape[0]):",
            f"        {target}[j] += {term(0)}",
            "    k += 1"]


def propagate_numba(names: dict[str, str], spikes: str, target_input: str,
                    storage: dict[str, str], scratch: str, parallel: bool = False
                    ) -> tuple[list[str], list[str]]:
    """Event-driven, for sample ``b``: gather the sources that spiked, then add their
    rows of weights (scaled by the source value) to the target input.

    Dense rows are added ``ROWS_PER_PASS`` at a time, associated exactly as one at a
    time (``((I + a) + b) + ...``), so results are bit-identical while the target is
    loaded and stored once per pass (1.7x faster on 10000-wide rows). ``parallel``
    splits the active rows into ``PARALLEL_PARTS`` parts summed on the cores, each
    into its own partial input, added to the target afterwards (float32 reassociation: results agree to
    rounding). CSR visits only the stored entries of each row. Returns the code and
    the scratch arrays it needs (declared once per sample by the caller)."""
    active, values = f"{scratch}_active", f"{scratch}_values"
    declarations = [f"{active} = np.empty({spikes}.shape[1], np.int64)",
                    f"{values} = np.empty({spikes}.shape[1], np.float32)"]
    gather = [
        "count = 0",
        f"for i in range({spikes}.shape[1]):",
        f"    value = float32({spikes}[b, i])",
        "    if value != 0:",
        f"        {active}[count] = i",
        f"        {values}[count] = value",
        "        count += 1",
    ]
    if storage["format"] == "csr":
        indptr, indices = names["w_indptr"], names["w_indices"]
        add = [f"for k in range(count):",
               f"    i = {active}[k]",
               f"    value = {values}[k]",
               f"    for e in range({indptr}[i], {indptr}[i + 1]):",
               f"        {target_input}[b, {indices}[e]] += value * {_read(names, 'w_data', 'e')}"]
    elif parallel:
        partial = f"{scratch}_partial"
        declarations.append(f"{partial} = np.empty(({PARALLEL_PARTS}, {target_input}.shape[1]), np.float32)")
        add = [f"chunk = (count + {partial}.shape[0] - 1) // {partial}.shape[0]",
               f"for part in prange({partial}.shape[0]):",
               f"    target = {partial}[part]",
               "    for j in range(target.shape[0]):",
               "        target[j] = 0.0",
               *["    " + line for line in _add_rows(names, active, values, "target", "part * chunk",
                                                     "min(count, part * chunk + chunk)")],
               f"for part in range({partial}.shape[0]):",
               f"    for j in range({target_input}.shape[1]):",
               f"        {target_input}[b, j] += {partial}[part, j]"]
    else:
        add = [f"target = {target_input}[b]", *_add_rows(names, active, values, "target", "0", "count")]
    lines = gather + add
    if "b" in names:
        lines += [f"for j in range({target_input}.shape[1]):",
                  f"    {target_input}[b, j] += {names['b']}[j]"]
    return lines, declarations


def learn_numba(names: dict[str, str]) -> list[str]:
    if "decay_factor" not in names:
        return []
    w = names["w"]
    return [f"for i in range({w}.shape[0]):",
            f"    for j in range({w}.shape[1]):",
            f"        {w}[i, j] *= {names['decay_factor']}"]


def normalize_numba(names: dict[str, str]) -> list[str]:
    if "norm" not in names:
        return []
    w = names["w"]
    return [f"for j in range({w}.shape[1]):",
            "    column_sum = float32(0.0)",
            f"    for i in range({w}.shape[0]):",
            f"        column_sum += abs({w}[i, j])",
            "    if column_sum == 0:",
            "        column_sum = float32(1.0)",
            f"    scale = {names['norm']} / column_sum",
            f"    for i in range({w}.shape[0]):",
            f"        {w}[i, j] *= scale",
            ]


def propagate_cuda(names: dict[str, str], spikes: str, target_input: str, first: bool,
                   storage: dict[str, str]) -> list[str]:
    """Thread ``(b, j)`` sums, in source order, the weights of the sources that spiked
    (CSR: rows are targets, so the thread walks its own row)."""
    if storage["format"] == "csr":
        indptr, indices = names["w_indptr"], names["w_indices"]
        loop = [f"for k in range({indptr}[j], {indptr}[j + 1]):",
                f"    value = float32({spikes}[b, {indices}[k]])",
                "    if value != 0:",
                f"        acc += value * {_read(names, 'w_data', 'k')}"]
    else:
        loop = [f"for i in range({spikes}.shape[1]):",
                f"    value = float32({spikes}[b, i])",
                "    if value != 0:",
                f"        acc += value * {_read(names, 'w', 'i, j')}"]
    lines = ["acc = float32(0.0)" if first else f"acc = {target_input}[b, j]", *loop]
    if "b" in names:
        lines.append(f"acc += {names['b']}[j]")
    return lines + [f"{target_input}[b, j] = acc"]


def learn_cuda(names: dict[str, str]) -> list[str]:
    if "decay_factor" not in names:
        return []
    return [f"{names['w']}[i, j] *= {names['decay_factor']}"]


def normalize_cuda(names: dict[str, str]) -> list[str]:
    """Thread ``(0, j)`` normalises column ``j``."""
    if "norm" not in names:
        return []
    w = names["w"]
    return ["column_sum = float32(0.0)",
            f"for i in range({w}.shape[0]):",
            f"    column_sum += abs({w}[i, j])",
            "if column_sum == 0:",
            "    column_sum = float32(1.0)",
            f"scale = {names['norm']} / column_sum",
            f"for i in range({w}.shape[0]):",
            f"    {w}[i, j] *= scale"]


DENSE = register_connection_op(ConnectionOp(name="dense", bind=bind))
