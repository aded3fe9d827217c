"""``snnc sweep SCRIPT.py --grid key=v1,v2 ...``: a sweep over a script's ``build`` and ``run``.

The script defines ``build(params) -> Network`` and ``run(network, params) -> dict`` at
module level (and may run anything else under ``if __name__ == "__main__":``, which
the command does not execute). Grid values are Python literals where they read as one
(``64``, ``0.05``, ``True``, ``None``), else strings.
"""
from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

from snnc.errors import SnncError


def load_script(path) -> tuple:
    """The script's ``build`` and ``run``; the module is pickled by value for Ray's
    workers, which cannot import it by name."""
    path = Path(path)
    if not path.is_file():
        raise SnncError(f"snnc sweep: no script at {path}")
    name = f"snnc_sweep_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.resolve().parent))       # the script's own imports, as python would
    spec.loader.exec_module(module)
    missing = [f for f in ("build", "run") if not callable(getattr(module, f, None))]
    if missing:
        raise SnncError(f"snnc sweep: {path} must define {' and '.join(missing)} at module level "
                        "(build(params) -> Network, run(network, params) -> dict)")
    try:
        from ray import cloudpickle
        cloudpickle.register_pickle_by_value(module)
    except ImportError:
        pass                                           # sweep itself says how to install Ray
    return module.build, module.run


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_grid(items: list[str]) -> dict:
    """``["n=100,400", "intensity=64,128"]`` -> ``{"n": [100, 400], "intensity": [64, 128]}``."""
    grid: dict = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key or not values:
            raise SnncError(f"snnc sweep: --grid wants key=v1,v2,..., got {item!r}")
        if key in grid:
            raise SnncError(f"snnc sweep: --grid names {key!r} twice")
        grid[key] = [_literal(value.strip()) for value in values.split(",")]
    if not grid:
        raise SnncError("snnc sweep: give at least one --grid key=v1,v2,...")
    return grid


def sweep_command(args) -> int:
    from snnc.scale.sweep import sweep

    build, run = load_script(args.script)
    results = sweep(build, parse_grid(args.grid), run, address=args.address, workers=args.workers,
                    threads=args.threads, retries=args.retries, seed=args.seed, out=args.out,
                    resume=args.resume)
    columns = [c for c in results.columns() if c not in ("point", "host")]
    print("\t".join(columns))
    for row in results:
        print("\t".join("" if row.get(c) is None else f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c])
                        for c in columns))
    if args.out:
        print(f"wrote {args.out}")
    return 1 if results.failed else 0


def add_parser(commands) -> None:
    parser = commands.add_parser("sweep", help="run a parameter sweep of a script's build and run on Ray")
    parser.add_argument("script", help="a Python file defining build(params) and run(network, params)")
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                        help="a parameter and its values (repeat for more keys; every combination runs)")
    parser.add_argument("--address", help="a Ray cluster's address (default: a local instance)")
    parser.add_argument("--workers", type=int, help="points at once (default: cores / threads; 0: no Ray)")
    parser.add_argument("--threads", type=int, default=1, help="cores per point (default 1)")
    parser.add_argument("--retries", type=int, default=2, help="retries of a failing point (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="the sweep's seed (default 0)")
    parser.add_argument("--out", help="results file, .csv or .json, written as points finish")
    parser.add_argument("--resume", action="store_true", help="skip the points --out already holds")
    parser.set_defaults(handler=sweep_command)
