"""A sweep's results: one row (a dict) per point, saved as CSV or JSON and read back.

A row holds the point's parameters, what ``run`` returned, and the bookkeeping columns
:data:`BOOKKEEPING`: ``compile_s`` (seconds compiling, from the process's
:mod:`snnc.runtime.jit` counters), ``run_s`` (the rest of ``build`` and ``run``),
``fresh_compiles`` (generated functions compiled from scratch rather than loaded from
the cache), ``host`` (the worker's host name), ``error`` (``None``, or why the point
failed after its retries) and ``point`` (the point's key, :func:`point_key`).
"""
from __future__ import annotations

import ast
import csv
import json
from pathlib import Path

from snnc.errors import SnncError

BOOKKEEPING = ("compile_s", "run_s", "fresh_compiles", "host", "error", "point")
TEXT = ("host", "error", "point")        # read back from CSV as they were written


class SweepResults(list):
    """A list of row dicts, in the order of the sweep's points."""

    @property
    def failed(self) -> list[dict]:
        return [row for row in self if row.get("error") is not None]

    @property
    def succeeded(self) -> list[dict]:
        return [row for row in self if row.get("error") is None]

    def best(self, key: str, mode: str = "max") -> dict:
        """The successful row with the largest (``mode="max"``) or smallest ``key``."""
        if mode not in ("max", "min"):
            raise SnncError(f"SweepResults.best: mode must be 'max' or 'min', got {mode!r}")
        rows = [row for row in self.succeeded if row.get(key) is not None]
        if not rows:
            raise SnncError(f"SweepResults.best: no successful row has {key!r}")
        return (max if mode == "max" else min)(rows, key=lambda row: row[key])

    def columns(self) -> list[str]:
        names: list[str] = []
        for row in self:
            names += [name for name in row if name not in names and name not in BOOKKEEPING]
        return names + [name for name in BOOKKEEPING if any(name in row for row in self)]

    def save(self, path) -> Path:
        """Write the table as JSON (``.json``) or CSV (anything else), atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        if path.suffix == ".json":
            partial.write_text(json.dumps(list(self), indent=1, default=repr))
        else:
            columns = self.columns()
            with open(partial, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                for row in self:
                    writer.writerow({name: "" if row.get(name) is None else _cell(row[name]) for name in columns})
        partial.replace(path)
        return path


def _cell(value) -> str:
    return value if isinstance(value, str) else repr(value) if isinstance(value, (list, tuple, dict)) else str(value)


def _parse(text: str):
    if text == "":
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def load_results(path) -> SweepResults:
    """A table written by :meth:`SweepResults.save`; CSV cells become Python literals
    where they read as one (numbers, booleans, lists), else stay strings (the
    ``host``, ``error`` and ``point`` columns always do)."""
    path = Path(path)
    if path.suffix == ".json":
        return SweepResults(json.loads(path.read_text()))
    with open(path, newline="") as handle:
        rows = [{name: (text or None) if name in TEXT else _parse(text) for name, text in row.items()}
                for row in csv.DictReader(handle)]
    return SweepResults(rows)


__all__ = ["BOOKKEEPING", "SweepResults", "load_results"]
