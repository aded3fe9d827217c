"""Lower a numba-cuda program's kernels to PTX ahead of time (no GPU needed).

``python -m snnc.runtime.ptx MODULE.py [--cc 8.0]`` prints each kernel's PTX size;
it needs numba-cuda with the CUDA compiler (``pip install 'snnc[cuda]'``) and must run
without ``NUMBA_ENABLE_CUDASIM``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from snnc.runtime.loader import load_module


def _numba_type(dtype: str, ndim: int):
    from numba import types

    scalar = {"bool": types.boolean, "uint8": types.uint8, "int16": types.int16, "uint16": types.uint16,
              "int32": types.int32, "int64": types.int64, "float32": types.float32,
              "float64": types.float64}[dtype]
    return scalar if ndim == 0 else types.Array(scalar, ndim, "A")


def lower_kernels(path: Path, cc: tuple[int, int] = (8, 0)) -> dict[str, str]:
    """PTX of every kernel in a generated numba-cuda module, by kernel name."""
    from numba.cuda import compile_ptx

    module = load_module(Path(path), Path(path).stem)
    lowered = {}
    for name, signature in module.KERNEL_SIGNATURES.items():
        kernel = getattr(module, name)
        argtypes = tuple(_numba_type(dtype, ndim) for _, dtype, ndim in signature)
        ptx, _ = compile_ptx(kernel.py_func, argtypes, cc=cc)
        lowered[name] = ptx
    return lowered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="lower a generated numba-cuda module to PTX")
    parser.add_argument("module", type=Path)
    parser.add_argument("--cc", default="8.0", help="compute capability, e.g. 8.0 or 9.0")
    args = parser.parse_args(argv)
    major, minor = (int(x) for x in args.cc.split("."))
    for name, ptx in lower_kernels(args.module, (major, minor)).items():
        entries = ptx.count(".entry")
        print(f"{name}: {len(ptx)} bytes of PTX, {entries} entry")
    return 0


if __name__ == "__main__":
    sys.exit(main())
