"""Streaming (non-temporal) stores for numba's CPU target: monitor rows of big runs.

A recording larger than the caches is written once and not read again during the run.
An ordinary store first reads each destination cache line from memory (to own it), so
writing a recording moves it through memory twice; a non-temporal store writes whole
lines straight to memory, once. Measured on this machine (64 samples × 1000 float32
per step): 128 MB of rows take 14.2 ms with ordinary stores and 6.2 ms streamed; up to
~32 MB the two cost the same (the rows stay in the last-level cache), so generated code
streams only runs whose recordings total at least ``STREAM_MIN_BYTES``.

``stream_row(dst, src)`` copies a contiguous 1-D row: ordinary stores up to the first
cache-line (64-byte) boundary of ``dst``, then each whole line as two 32-byte
non-temporal vector stores (LLVM's ``!nontemporal`` store: ``vmovntps`` with AVX), then
ordinary stores for the part of the last line the row ends in. Only whole lines are
streamed: a line that a row shares with its neighbour row (written by a loop much
later) would otherwise be flushed half-written, which the memory controller completes
with a read: rows of 100 float32 then took 85 ms for 128 MB streamed to half lines
against 12 ms to whole lines only and 41 ms with ordinary stores (64 samples × 5000
steps; rows of 1000 float32: 6.4, 6.7 and 14.6 ms). Rows under ``STREAM_ROW_BYTES``
hold too few whole lines to gain and are copied plainly (100 uint8: 11 ms plain against
30 ms streamed). The values written are exactly ``src``'s. Streaming stores are weakly
ordered, so a thread that streamed calls ``stream_fence()`` (``sfence`` on x86, which
orders them; a sequentially consistent fence elsewhere) before its rows are read
elsewhere. Generated numba modules import both.
"""
from __future__ import annotations

import platform

from llvmlite import ir
from numba import njit
from numba.core import types
from numba.core.extending import intrinsic

STREAM_MIN_BYTES = 32 << 20
STREAM_ROW_BYTES = 256
VECTOR_BYTES = 32
LINE_BYTES = 64
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
    for the whole cache lines of ``dst``."""
    n = dst.shape[0]
    size = dst.itemsize
    if n * size < STREAM_ROW_BYTES:
        for j in range(n):
            dst[j] = src[j]
        return
    head = min(n, ((-dst.ctypes.data) % LINE_BYTES) // size)     # before the first line
    stop = head + (n - head) * size // LINE_BYTES * (LINE_BYTES // size)
    for j in range(head):
        dst[j] = src[j]
    width = VECTOR_BYTES // size
    for j in range(head, stop, width):
        _stream_vector(dst, j, src)
    for j in range(stop, n):
        dst[j] = src[j]


__all__ = ["STREAM_MIN_BYTES", "stream_fence", "stream_row"]
