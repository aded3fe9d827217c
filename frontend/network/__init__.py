"""BindsNET's ``network`` package, compiled: Network, load and the sub-modules."""
from snnc.network import monitors, nodes, topology, topology_features
from snnc.network.network import Network, load

__all__ = ["Network", "load", "monitors", "nodes", "topology", "topology_features"]
