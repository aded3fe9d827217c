"""A counter of changes to network objects, so a run can tell cheaply that nothing changed.

Every attribute assignment on a layer, connection, monitor, learning rule or network
(a new ``w`` tensor, ``learning`` flipped by ``train()``, state re-created by
``set_batch_size``, ``norm`` changed, …) and every ``add_layer`` / ``add_connection`` /
``add_monitor`` advances :data:`CHANGES`. A compiled program keeps its bound arguments
while the count stands still (in-place tensor changes are followed by their version
counters; see ``snnc.runtime.binding``). Attributes a run itself writes every call
(a monitor's recordings, the network's cached program) do not count.
"""
from __future__ import annotations

import itertools

_COUNTER = itertools.count(1)
CHANGES = [0]


def changed() -> None:
    """Advance the change count."""
    CHANGES[0] = next(_COUNTER)


class Tracked:
    """Mixin: assigning an attribute (other than those in ``untracked``) is a change."""

    untracked: frozenset[str] = frozenset()

    def __setattr__(self, name: str, value) -> None:
        super().__setattr__(name, value)
        if name not in self.untracked:
            changed()
