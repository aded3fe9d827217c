"""The error every bad network, input or option raises: it names the object at fault;
and :func:`warn`, which points a warning at the caller's own line."""
from __future__ import annotations

import os
import sys
import warnings

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class SnncError(ValueError):
    """A layer, connection, monitor, input or option is not what snnc expects."""


def _ours(filename: str) -> bool:
    path = os.path.abspath(filename)
    return any(path.startswith(os.path.join(_PACKAGE_ROOT, part) + os.sep)
               for part in ("frontend", "compiler", "runtime"))


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first frame outside snnc (the user's call)."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and _ours(frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
