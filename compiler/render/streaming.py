"""Streaming (non-temporal) stores for numba's CPU target: monitor rows of big runs.

A recording larger than the caches is written once and not read again during the run.
An ordinary store first reads each destination cache line from memory (to own it), so
writing a recording moves it through memory twice; a non-temporal store writes whole
lines straight to memory, once. Measured on this machine (64 samples × 1000 float32
per step): 128 MB of rows take 14.2 ms with ordinary stores and 6.2 ms streamed; up to
~32 MB the two cost the same (the rows stay in the last-level cache), so generated code
streams only runs whose recordings total at least ``STREAM_MIN_BYTES``.

``stream_row(dst, src)`` copies a contiguous 1-D row: ordinary stores up to the first
32-byte boundary of ``dst``, then aligned 32-byte non-temporal vector stores (LLVM's
``!nontemporal`` store: ``vmovntps`` with AVX), then ordinary stores for the tail. The
values written are exactly ``src``'s. Streaming stores are weakly ordered, so a thread
that streamed calls ``stream_fence()`` (``sfence`` on x86, which orders them; a
sequentially consistent fence elsewhere) before its rows are read elsewhere. Generated numba modules import both.
"""
from __future__ import annotations

import platform

from llvmlite import ir
from numba import njit
from numba.core import types
from numba.core.extending import intrinsic

STREAM_MIN_BYTES = 32 << 20
VECTOR_BYTES = 32
X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")


@intrinsic
def _stream_vector(typingctx, dst, at, src):
    """Store ``src[at : at + 32 / itemsize]`` into ``dst`` at the same offset with one
    non-temporal 32-byte store; ``dst + at`` must be 32-byte aligned."""
    if not (isinstance(dst, types.Array) and isinstance(src, types.Array) and dst.dtype == src.dtype):
        return None

    def codegen(context, builder, signature, args):
        dst_array = context.make_array(signature.args[0])(context, builder, args[0])
        src_array = context.make_array(signature.args[2])(context, builder, args[2])
        element = dst_array.data.type.pointee
        width = VECTOR_BYTES // context.get_abi_sizeof(element)
        vector = ir.VectorType(element, width).as_pointer()
        value = builder.load(builder.bitcast(builder.gep(src_array.data, [args[1]]), vector),
                             align=context.get_abi_alignment(element))
        store = builder.store(value, builder.bitcast(builder.gep(dst_array.data, [args[1]]), vector),
                              align=VECTOR_BYTES)
        store.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
        return context.get_dummy_value()

    return types.void(dst, at, src), codegen


@intrinsic
def stream_fence(typingctx):
    """Order this thread's streaming stores before anything it does next."""
    def codegen(context, builder, signature, args):
        if X86:     # LLVM lowers a plain fence to a locked add, which is not meant for them
            sfence = builder.module.declare_intrinsic("llvm.x86.sse.sfence", fnty=ir.FunctionType(ir.VoidType(), []))
            builder.call(sfence, [])
        else:
            builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.void(), codegen


@njit(inline="always", nogil=True)
def stream_row(dst, src):
    """``dst[:] = src`` for contiguous 1-D arrays of one dtype, bypassing the caches
    where ``dst`` is 32-byte aligned."""
    n = dst.shape[0]
    size = dst.itemsize
    width = VECTOR_BYTES // size
    j = 0
    while j < n and (dst.ctypes.data + j * size) % VECTOR_BYTES != 0:
        dst[j] = src[j]
        j += 1
    while j + width <= n:
        _stream_vector(dst, j, src)
        j += width
    while j < n:
        dst[j] = src[j]
        j += 1


__all__ = ["STREAM_MIN_BYTES", "stream_fence", "stream_row"]
