"""The error every bad network, input or option raises: it names the object at fault."""


class SnncError(ValueError):
    """A layer, connection, monitor, input or option is not what snnc expects."""
