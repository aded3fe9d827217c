"""The op families. Importing this package registers every op."""
from snnc.compiler.ops import dense, input, lif
from snnc.compiler.ops.base import CONNECTION_OPS, LAYER_OPS

__all__ = ["CONNECTION_OPS", "LAYER_OPS", "dense", "input", "lif"]
