"""snnc: BindsNET's API, compiled ahead of time to torch and numba code."""
from snnc.errors import SnncError

__version__ = "0.1.0"


def compile(network, backend: str = "torch", **options):
    """Compile ``network`` for ``backend``; returns a :class:`snnc.runtime.Program`."""
    from snnc.runtime.program import Program

    return Program(network, backend=backend, **options)


__all__ = ["SnncError", "compile", "__version__"]
