"""16-bit float loads for numba's CPU target.

numba has no float16 or bfloat16 arrays on the CPU; 16-bit weights are stored as their
``uint16`` bit patterns and widened to float32 as they are read. These two intrinsics
do it in LLVM: ``fpext half`` (one ``vcvtph2ps`` instruction with F16C, vectorised
across a row) and a 16-bit shift for bfloat16 (its bits are float32's upper half).
Generated numba modules import them; numba-cuda and the CUDA simulator read through a
decode table instead.
"""
from __future__ import annotations

from llvmlite import ir
from numba.core import types
from numba.core.extending import intrinsic


@intrinsic
def f16_to_f32(typingctx, bits):
    """float32 value of IEEE half-precision bits (uint16)."""
    def codegen(context, builder, signature, args):
        return builder.fpext(builder.bitcast(args[0], ir.HalfType()), ir.FloatType())

    return types.float32(types.uint16), codegen


@intrinsic
def bf16_to_f32(typingctx, bits):
    """float32 value of bfloat16 bits (uint16): the bits become float32's upper half."""
    def codegen(context, builder, signature, args):
        wide = builder.shl(builder.zext(args[0], ir.IntType(32)), ir.Constant(ir.IntType(32), 16))
        return builder.bitcast(wide, ir.FloatType())

    return types.float32(types.uint16), codegen


DECODERS = {"float16": "f16_to_f32", "bfloat16": "bf16_to_f32"}

__all__ = ["DECODERS", "bf16_to_f32", "f16_to_f32"]
