"""One list of a layer's spikes per step, shared by every loop that lists them.

Event-driven code lists the sources that spiked before visiting their rows
(``count = list_nonzero(X_s[b, :784], X_to_Ae_active)``, :mod:`snnc.compiler.render.nonzero`).
A layer's spikes are often listed twice: a learning rule's depression lists the
inputs that spiked this step, and the next step's propagation lists the same spikes
again (nothing writes them in between). In Diehl & Cook's step the 784 input spikes
and the 100 excitatory ones were each listed twice.

:func:`share_spike_lists` rewrites the body of a time-outer numba loop (its lines, as
the emitter wrote them) so that such a list is made once and read by the later
listings, per sample, in ``<ref>_listed[b]`` and ``<ref>_listed_count[b]``:

- a *site* is a listing at the top of a loop over samples (``for b in range(...)``
  directly in the step's body; listings nested deeper, or under a condition, are left
  alone);
- a site *reuses* the list of the site before it (in step order; the first site
  after the last, one step earlier) when no line between them may write the spikes.
  Any mention of the array other than an element read (``ref[b, i]``), ``.shape``,
  a listing, or the source row of a monitor's ``stream_row`` counts as a write;
- a reusing site lists afresh where the list it would reuse was not made: on the
  first step of a call (``t == start``) when that list comes from the step before,
  and for samples ``b`` beyond the range of the loop that made it.

The lists are the same, element for element, as the listings they replace.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

SITE = re.compile(r"^    (?P<count>\w+) = list_nonzero\((?P<ref>\w+)\[b, :(?P<extent>\w+)\], (?P<indices>\w+)\)$")
SAMPLES = re.compile(r"^for b in range\((?P<stop>[\w.\[\]]+)\):$")
ELEMENT = r"\[[^\[\]:,]+, [^\[\]:,]+\]"      # ref[b, i]: two indices, no slice
ASSIGN = re.compile(r"(?<![=!<>])(?:\*\*|//|>>|<<|[-+*/%@&|^])?=(?!=)")   # =, +=, |=, ... (not ==, <=)


@dataclass
class Site:
    line: int           # position in the step's body
    count: str          # the count's variable
    ref: str            # the spike buffer listed
    extent: str         # how many of its elements per sample
    indices: str        # the scratch array the listing filled
    stop: str           # the stop of the enclosing loop over samples


def sites_in(loop: list[str]) -> list[Site]:
    """The listings directly inside a top-level loop over samples."""
    found, samples = [], None
    for k, line in enumerate(loop):
        if line and not line.startswith(" "):
            match = SAMPLES.match(line)
            samples = match["stop"] if match else None
            continue
        match = SITE.match(line)
        if match and samples is not None:
            found.append(Site(k, match["count"], match["ref"], match["extent"], match["indices"], samples))
    return found


def may_write(line: str, ref: str) -> bool:
    """Whether ``line`` may change ``ref`` (conservatively: any use not known to read)."""
    site = SITE.match(line)
    if site and site["ref"] == ref:
        return False
    stripped = line.strip()
    rest = re.sub(rf"^stream_row\(\w+\[[^\[\]]*\], {ref}\[b\]\)$", "", stripped)
    assignment = ASSIGN.search(rest)
    if assignment and re.search(rf"\b{ref}\b", rest[:assignment.start()]):
        return True                 # assigned to (or named left of an assignment)
    rest = re.sub(rf"\b{ref}{ELEMENT}", "", rest)
    rest = re.sub(rf"\b{ref}\.shape\b", "", rest)
    return re.search(rf"\b{ref}\b", rest) is not None


def covered(stop: str, by: str) -> str | None:
    """The condition under which sample ``b`` of a loop to ``stop`` was not listed by a
    loop to ``by``: None when it always was (``by`` is the whole batch, a
    ``<buffer>.shape[0]``, or the same stop)."""
    if stop == by or not by.isdigit():
        return None
    if stop.isdigit() and int(stop) <= int(by):
        return None
    return f"b >= {by}"


def share_spike_lists(loop: list[str]) -> tuple[list[str], list[str], set[str]]:
    """The step's body with repeated listings shared, the scratch declarations it needs
    (outside the loop over steps), and the scratch arrays it no longer needs (the
    rewritten listings' own index arrays, now views of the shared lists)."""
    sites = sites_in(loop)
    groups: dict[tuple[str, str], list[Site]] = {}
    for site in sites:
        groups.setdefault((site.ref, site.extent), []).append(site)
    claimed = [s.indices for s in sites]
    scratch: list[str] = []
    replaced: dict[int, list[str]] = {}
    for (ref, extent), group in groups.items():
        if len(group) < 2 or any(claimed.count(s.indices) > 1 for s in group):
            continue
        writes = [k for k, line in enumerate(loop) if may_write(line, ref)]
        reuses = []
        for n, site in enumerate(group):
            before = group[n - 1].line
            if n > 0:
                clear = not any(before < k < site.line for k in writes)
            else:
                clear = not any(k > before or k < site.line for k in writes)
            reuses.append(clear)
        if not any(reuses):
            continue
        reuses[0] = reuses[0] and not all(reuses)     # never written: the first lists anyway
        listed, counts = f"{ref}_listed", f"{ref}_listed_count"
        scratch += [f"{listed} = np.empty(({ref}.shape[0], {extent}), np.int64)",
                    f"{counts} = np.empty({ref}.shape[0], np.int64)"]
        for n, site in enumerate(group):
            row = f"{listed}[b]"
            if not reuses[n]:
                replaced[site.line] = [f"    {site.indices} = {row}",
                                       f"    {site.count} = list_nonzero({ref}[b, :{extent}], {site.indices})",
                                       f"    {counts}[b] = {site.count}"]
                continue
            maker = (n - 1) % len(group)
            while reuses[maker]:
                maker = (maker - 1) % len(group)
            made = group[maker]
            conditions = ["t == start"] if made.line > site.line else []     # a list one step old
            gap = covered(site.stop, made.stop)
            if gap:
                conditions.append(gap)
            relist = [f"        {counts}[b] = list_nonzero({ref}[b, :{extent}], {row})"]
            replaced[site.line] = ([f"    if {' or '.join(conditions)}:", *relist] if conditions else []) + \
                [f"    {site.indices} = {row}", f"    {site.count} = {counts}[b]"]
    body = []
    for k, line in enumerate(loop):
        body += replaced.get(k, [line])
    unused = {site.indices for site in sites if site.line in replaced}
    return body, scratch, unused


__all__ = ["share_spike_lists"]
