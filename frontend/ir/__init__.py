"""The networkx IR: its schema and how a Network is recorded into it."""
from snnc.ir.record import record_network
from snnc.ir.schema import OPS, MonitorSpec, OpSchema, ScheduledOp

__all__ = ["OPS", "MonitorSpec", "OpSchema", "ScheduledOp", "record_network"]
