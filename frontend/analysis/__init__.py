"""Plots of recordings (needs the ``plot`` extra: matplotlib)."""
