"""Import a generated module from its cache file."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_LOADED: dict[Path, ModuleType] = {}


def load_module(path: Path, key: str) -> ModuleType:
    """The module at ``path``, imported once per process under the name ``snnc_gen_<key>``."""
    path = Path(path)
    if path in _LOADED:
        return _LOADED[path]
    name = f"snnc_gen_{key}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    _LOADED[path] = module
    return module
