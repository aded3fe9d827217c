"""BindsNET's ``network.nodes``: every neuron population, as parameters and state.

No simulation code lives here; each model's docstring states its equations, which
``snnc.compiler.ops`` implements once for every backend.
"""
from snnc.network.lif_nodes import (AdaptiveLIFNodes, BoostedLIFNodes, CurrentLIFNodes,
                                    DiehlAndCookNodes, IFNodes, LIFNodes, McCullochPitts)
from snnc.network.node_base import AbstractInput, Input, Nodes, _param
from snnc.network.other_nodes import CSRMNodes, IzhikevichNodes, SRM0Nodes

__all__ = ["AbstractInput", "AdaptiveLIFNodes", "BoostedLIFNodes", "CSRMNodes", "CurrentLIFNodes",
           "DiehlAndCookNodes", "IFNodes", "Input", "IzhikevichNodes", "LIFNodes", "McCullochPitts",
           "Nodes", "SRM0Nodes", "_param"]
