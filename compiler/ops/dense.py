"""Dense connections (``Connection``): the synapse map ``(i, j)``.

    I_post[b, j] += s_pre[b, i] * w[i, j]  (+ bias[j])     every step, spikes of t-1
    learning rule, w *= 1 - weight_decay, clamp            every step while learning
    w[i, j] *= norm / sum_i |w[i, j]|                       end of run (a zero sum counts as 1)

Storage (the ``storage`` pass): dense or CSR, float32 or 16-bit values; CSR turns
the map's ``j`` (numba: rows are sources) or ``i`` (numba-cuda: rows are targets)
into a walk along the stored entries (:func:`~snnc.compiler.ops.connection.to_csr`);
``uniform`` (numba) keeps two scalars, ``w_off`` and ``w_diag`` for ``i == j``
(:func:`~snnc.compiler.ops.connection.to_uniform`), and sums the sources once per
sample: ``I_post[b, j] += w_off * sum_i s_pre[b, i] + (w_diag - w_off) * s_pre[b, j]``.
The torch fast path below is checked against the generic rendering by the tests.
"""
from __future__ import annotations

import warnings

import torch

from snnc.compiler.nest import BATCH, Domain, Nest
from snnc.compiler.ops.connection import (ConnectionContext, ConnectionOp, SynapseMap, bound_args,
                                          register_connection_op)
from snnc.compiler.ops.csrm import window_args, windowed


def decode_table(dtype: torch.dtype) -> torch.Tensor:
    """float32 value of every 16-bit pattern of ``dtype``, indexed by the pattern
    (numba has no float16/bfloat16 arrays; it reads the bits as uint16)."""
    bits = torch.arange(0, 1 << 16, dtype=torch.int32).to(torch.uint16)
    return bits.view(dtype).to(torch.float32)


def storage_of(attrs: dict) -> dict[str, str]:
    """The storage the ``storage`` pass chose, or the weights' own (dense, their dtype)."""
    return attrs.get("storage") or {"format": "dense",
                                     "dtype": str(attrs["params"]["w"].dtype).removeprefix("torch.")}


def weight_values(args: dict, name: str, values: torch.Tensor, backend: str) -> None:
    """Weights for a backend: torch takes any float tensor; numba reads float32, or
    16-bit patterns (``name_float16`` / ``name_bfloat16``) widened as they are loaded
    (:mod:`snnc.compiler.render.half`); numba-cuda reads the patterns through a decode
    table (``name_bits``, ``name_table``)."""
    if backend == "torch" or values.dtype == torch.float32:
        args[name] = values
    elif backend == "numba":
        args[f"{name}_{str(values.dtype).removeprefix('torch.')}"] = values.contiguous().view(torch.uint16)
    else:
        args[f"{name}_bits"] = values.contiguous().view(torch.uint16)
        args[f"{name}_table"] = decode_table(values.dtype)


def uniform_values(w: torch.Tensor) -> tuple[float, float] | None:
    """``(off, diag)`` when every weight is ``off`` except those with ``i == j``, which
    are ``diag``; else None. Reads one row first, so a non-uniform matrix costs little."""
    if w.dim() != 2 or w.shape[0] < 2 or w.shape[1] < 2 or w.is_sparse or w.layout != torch.strided:
        return None
    off = w[0, 1]
    if not bool((w[0, 1:] == off).all()):
        return None
    diag = w[0, 0]
    eye = torch.eye(*w.shape, dtype=torch.bool, device=w.device)
    if not bool((w == torch.where(eye, diag, off)).all()):
        return None
    return float(off), float(diag)


def synapse_map(ctx: ConnectionContext) -> SynapseMap:
    n_pre, n_post = ctx.source["n"], ctx.target["n"]
    return SynapseMap(domains=(Domain("i", n_pre), Domain("j", n_post)),
                      pre=("b", "i"), post=("b", "j"), weight=("i", "j"), bias=("j",),
                      pre_shape=(BATCH, n_pre), post_shape=(BATCH, n_post))


def bind(ctx: ConnectionContext) -> dict[str, torch.Tensor]:
    """Arguments per storage: dense ``w`` (the network's own tensor when float32, so
    in-place updates reach it), or CSR arrays ``w_indptr``/``w_indices`` (int32)/``w_data`` with
    rows = sources (rows = targets for numba-cuda, which sums per target)."""
    params, backend = ctx.params, ctx.backend
    storage = storage_of(ctx.attrs)
    w = params["w"]
    dtype = getattr(torch, storage["dtype"])
    if w.dtype != dtype:
        w = w.to(dtype)
    args: dict[str, torch.Tensor] = {}
    if storage["format"] == "dense":
        weight_values(args, "w", w, backend)
    elif storage["format"] == "uniform":
        off, diag = uniform_values(w)
        args["w_off"] = torch.tensor(off, dtype=torch.float32)
        args["w_diag"] = torch.tensor(diag, dtype=torch.float32)
    elif backend == "torch":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            csr = w.to(torch.float32).to_sparse_csr()
            args["w"] = torch.sparse_csr_tensor(csr.crow_indices().to(torch.int32), csr.col_indices().to(torch.int32),
                                                csr.values(), csr.shape)
    else:
        rows = w.t() if backend == "numba-cuda" else w
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            csr = rows.to(torch.float32).contiguous().to_sparse_csr()
        args["w_indptr"] = csr.crow_indices().to(torch.int32).contiguous()      # 4 bytes per index
        args["w_indices"] = csr.col_indices().to(torch.int32).contiguous()
        weight_values(args, "w_data", csr.values().to(dtype).contiguous(), backend)
    if params.get("factor") is not None:
        args["factor"] = params["factor"].to(torch.float32).contiguous()
    if params.get("prob") is not None:
        args["prob"] = params["prob"].to(torch.float32).expand(params["w"].shape[-2:]).contiguous()
    if params.get("b") is not None:
        args["bias"] = params["b"].detach().to(torch.float32).expand(ctx.target["n"]).contiguous()
    if windowed(ctx):
        args.update(window_args(ctx))
    return {**args, **bound_args(ctx)}


def normalize(ctx: ConnectionContext, synapses: SynapseMap) -> list[Nest]:
    """``colsum[j] = Σ_i |w[i, j]|`` (signed ``Σ_i w[i, j]`` with ``norm_signed``, a
    feature's norm), then ``w[i, j] *= norm / colsum[j]`` (0 counts as 1)."""
    domains = synapses.weight_domains()
    summed = "w[i, j]" if ctx.options.get("norm_signed") else "abs(w[i, j])"
    return [
        Nest(f"{ctx.label} column sums", domains, "colsum[j]", summed, "assign"),
        Nest(f"{ctx.label} normalize", domains, "w[i, j]",
             "w[i, j] * (norm / where(colsum[j] == 0.0, 1.0, colsum[j]))", "assign"),
    ]


def temps(ctx: ConnectionContext) -> dict[str, tuple]:
    """``colsum`` for normalisation; ``filtered`` (the response window, ``[B, n_pre]``)
    into a CSRM layer."""
    found: dict[str, tuple] = {"colsum": (ctx.target["n"],)} if ctx.params.get("norm") is not None else {}
    if windowed(ctx):
        found["filtered"] = (BATCH, ctx.source["n"])
    return found


def propagate_torch(ctx: ConnectionContext, names: dict[str, str]) -> list[str]:
    """Fast path. ``matmul``: one product; ``event``: only the rows of sources that
    spiked in the batch (dense storage); CSR storage: the sparse product. 16-bit
    weights are widened to float32 first, so products and sums are float32."""
    spikes, target, w = names["s_pre"], names["I_post"], names["w"]
    storage = storage_of(ctx.attrs)
    wide = "" if storage["dtype"] == "float32" or storage["format"] == "csr" else ".float()"
    factors = []                                  # a folded pipeline's (dense weights only)
    if ctx.params.get("factor") is not None:
        factors.append(names["factor"])
    if ctx.params.get("prob") is not None:        # a Probability feature: this step's mask
        n_pre, n_post = ctx.source["n"], ctx.target["n"]
        factors.append(f"(synapse_uniforms({names['seed']}, {n_pre}, {n_post}, {w}.device) < {names['prob']})")
    if factors:
        return [f"{target}.add_({spikes}.float() @ ({' * '.join([w + wide, *factors])}))"]
    if storage["format"] == "csr":
        return [f"{target}.add_({spikes}.float() @ {w})"]
    if ctx.attrs.get("propagation") == "event":
        return [f"active = torch.nonzero(({spikes} != 0).any(dim=0)).squeeze(1)",
                f"{target}.add_({spikes}[:, active].float() @ {w}[active]{wide})"]
    return [f"{target}.add_({spikes}.float() @ {w}{wide})"]


DENSE = register_connection_op(ConnectionOp(
    name="dense", synapse_map=synapse_map, bind=bind, normalize=normalize, temps=temps,
    fast_paths={"torch": propagate_torch}, storage_formats=("dense", "csr", "uniform"),
    random=lambda ctx: {"seed": ("T",)} if ctx.params.get("prob") is not None else {},
))

__all__ = ["DENSE", "decode_table", "storage_of", "uniform_values", "weight_values"]
