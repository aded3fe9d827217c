"""The op families. Importing this package registers every op."""
from snnc.compiler.ops import (adaptive_lif, conv, csrm, dense, input, integrate_fire, izhikevich, lif, local,
                               mean_field, opaque, pooling, sparse, srm0)
from snnc.compiler.ops.base import LAYER_OPS
from snnc.compiler.ops.connection import CONNECTION_OPS

__all__ = ["CONNECTION_OPS", "LAYER_OPS", "adaptive_lif", "conv", "csrm", "dense", "input", "integrate_fire",
           "izhikevich", "lif", "local", "mean_field", "opaque", "pooling", "sparse", "srm0"]
