"""The error every bad network, input or option raises: it names the object at fault;
and :func:`warn`, which points a warning at the caller's own line."""
from __future__ import annotations

import os
import sys
import warnings

_HERE = os.path.dirname(os.path.abspath(__file__))


def _roots() -> tuple[str, ...]:
    """The folders of snnc's three packages (one tree when installed, three in a checkout)."""
    roots = {_HERE}
    for name in ("snnc.compiler", "snnc.runtime"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            roots.add(os.path.dirname(os.path.abspath(module.__file__)))
    return tuple(root + os.sep for root in roots)


class SnncError(ValueError):
    """A layer, connection, monitor, input or option is not what snnc expects."""


class SnncAssertionError(SnncError, AssertionError):
    """An ``SnncError`` where BindsNET asserts (a rule without the traces it reads, a
    ``DiehlAndCook`` rule without a finite ``wmax``): ported code that catches
    ``AssertionError`` still does."""


def _ours(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_roots())


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first frame outside snnc (the user's call)."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and _ours(frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
