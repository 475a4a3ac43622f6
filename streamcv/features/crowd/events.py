"""The crowd feature's output contract: its event kinds and the JSON keys of their ``data``.

Example:
    >>> EVENTS, sorted(KEYS[GATED])
    (('crowd_gated', 'crowd_ungated'), ['reason'])
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["GATED", "UNGATED", "GATED_KEYS", "UNGATED_KEYS", "KEYS", "EVENTS"]

#: A sanity gate forced the count to 0 (the frame is dark, blank or textureless).
GATED = "crowd_gated"
#: Frames are usable again.
UNGATED = "crowd_ungated"
#: Keys of a ``crowd_gated`` event's ``data``: why (a gate reason).
GATED_KEYS = frozenset({"reason"})
#: Keys of a ``crowd_ungated`` event's ``data``: the reason it was gated for.
UNGATED_KEYS = frozenset({"was"})
#: ``data`` keys per event kind.
KEYS: Mapping[str, frozenset[str]] = {GATED: GATED_KEYS, UNGATED: UNGATED_KEYS}
#: Every event kind the crowd stage emits.
EVENTS: tuple[str, ...] = (GATED, UNGATED)
