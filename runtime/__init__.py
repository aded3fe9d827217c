"""snnc.runtime: loads generated code, binds buffers and monitors, runs it."""
from snnc.runtime.program import Program

__all__ = ["Program"]
