"""Ready-made networks (spec section 10)."""
from snnc.models.models import (DiehlAndCook2015, DiehlAndCook2015v2, IncreasingInhibitionNetwork,
                                LocallyConnectedNetwork, TwoLayerNetwork)

__all__ = ["DiehlAndCook2015", "DiehlAndCook2015v2", "IncreasingInhibitionNetwork", "LocallyConnectedNetwork",
           "TwoLayerNetwork"]
