"""The passes, registered in pipeline order by importing them."""
from snnc.compiler.passes import validate  # noqa: F401  (registers "validate")
from snnc.compiler.passes import schedule  # noqa: F401  (registers "schedule")
from snnc.compiler.passes import fuse  # noqa: F401  (registers "fuse")
from snnc.compiler.passes import storage  # noqa: F401  (registers "storage")
from snnc.compiler.passes import propagation  # noqa: F401  (registers "propagation")
from snnc.compiler.passes import loop_nest  # noqa: F401  (registers "loop_nest")
from snnc.compiler.passes import emit  # noqa: F401  (registers "emit")
