"""The counting feature's output contract: event kinds, the JSON keys of their ``data``, and the
metric names of zone occupancy and line counts.

The stage builds its events and metrics with this module and
:mod:`streamcv.features.counting.queries` reads them with it, so that a renamed key cannot split
writer and reader.

Example:
    >>> zone_exit(zone="till", track_id=7, entered=None, dwell_s=12.34567)
    {'zone': 'till', 'track_id': 7, 'entered': None, 'dwell_s': 12.346}
    >>> occupancy_metric("till"), line_metric("door", IN)
    ('occupancy:till', 'in:door')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = [
    "VISITOR", "ZONE_ENTER", "ZONE_EXIT", "LINE_CROSS", "EVENTS", "KEYS", "Key", "IN", "OUT",
    "VISITOR_KEYS", "ZONE_ENTER_KEYS", "ZONE_EXIT_KEYS", "LINE_CROSS_KEYS", "OCCUPANCY_PREFIX",
    "visitor", "zone_enter", "zone_exit", "line_cross", "occupancy_metric", "line_metric",
]

#: A confirmed track seen for the first time (a distinct person).
VISITOR = "visitor"
#: A track entered a zone.
ZONE_ENTER = "zone_enter"
#: A track left a zone (after ``exit_grace_s``), with its dwell time.
ZONE_EXIT = "zone_exit"
#: A track crossed a counting line.
LINE_CROSS = "line_cross"


class Key:
    """Keys of the events' ``data``."""

    TRACK_ID = "track_id"
    ZONE = "zone"
    ENTERED = "entered"  #: ISO time the visit began (``None`` without a wall clock)
    DWELL_S = "dwell_s"
    LINE = "line"
    DIRECTION = "direction"  #: :data:`IN` or :data:`OUT`


#: Line crossing directions (``in``: from the left- to the right-hand side of start → end).
IN: Final = "in"
OUT: Final = "out"

VISITOR_KEYS = frozenset({Key.TRACK_ID})
ZONE_ENTER_KEYS = frozenset({Key.ZONE, Key.TRACK_ID})
ZONE_EXIT_KEYS = frozenset({Key.ZONE, Key.TRACK_ID, Key.ENTERED, Key.DWELL_S})
LINE_CROSS_KEYS = frozenset({Key.LINE, Key.DIRECTION, Key.TRACK_ID})
#: ``data`` keys per event kind.
KEYS: Mapping[str, frozenset[str]] = {
    ZONE_ENTER: ZONE_ENTER_KEYS, ZONE_EXIT: ZONE_EXIT_KEYS, LINE_CROSS: LINE_CROSS_KEYS,
    VISITOR: VISITOR_KEYS,
}
#: Every event kind the counting stage emits.
EVENTS: tuple[str, ...] = (ZONE_ENTER, ZONE_EXIT, LINE_CROSS, VISITOR)

#: Metric ``occupancy:<zone>``: tracks in the zone on the frame.
OCCUPANCY_PREFIX = "occupancy:"


def visitor(track_id: int) -> dict[str, object]:
    return {Key.TRACK_ID: track_id}


def zone_enter(*, zone: str, track_id: int) -> dict[str, object]:
    return {Key.ZONE: zone, Key.TRACK_ID: track_id}


def zone_exit(*, zone: str, track_id: int, entered: str | None, dwell_s: float
              ) -> dict[str, object]:
    return {Key.ZONE: zone, Key.TRACK_ID: track_id, Key.ENTERED: entered,
            Key.DWELL_S: round(dwell_s, 3)}


def line_cross(*, line: str, direction: str, track_id: int) -> dict[str, object]:
    return {Key.LINE: line, Key.DIRECTION: direction, Key.TRACK_ID: track_id}


def occupancy_metric(zone: str) -> str:
    return f"{OCCUPANCY_PREFIX}{zone}"


def line_metric(line: str, direction: str) -> str:
    """Metric ``in:<line>`` / ``out:<line>``: crossings so far in that direction."""
    return f"{direction}:{line}"
