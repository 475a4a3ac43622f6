"""The heat-map feature's output contract: the ``heatmap_window`` event and its JSON keys.

Each closed window is a ``heatmap_windows`` row (:mod:`streamcv.features.heatmap.schema`, read by
:mod:`streamcv.features.heatmap.queries`) and is announced by one event whose ``data`` is built
here.

Example:
    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> sorted(window_data(start=t, end=t, frames=3, seconds=1.5, total=2.0, hotspots=[],
    ...                    zones=[])) == sorted(WINDOW_KEYS)
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

__all__ = ["WINDOW", "WINDOW_KEYS", "KEYS", "EVENTS", "window_data"]

#: A heat-map window closed (and was stored).
WINDOW = "heatmap_window"
#: Keys of a ``heatmap_window`` event's ``data``: ISO ``start``/``end``, ``frames``, observed
#: ``seconds``, ``total`` (person-seconds; motion: cell-seconds), ``hotspots`` and zone dwell
#: (``zones``), each a list of JSON objects.
WINDOW_KEYS = frozenset({"start", "end", "frames", "seconds", "total", "hotspots", "zones"})
#: ``data`` keys per event kind.
KEYS: Mapping[str, frozenset[str]] = {WINDOW: WINDOW_KEYS}
#: Every event kind the heat-map stage emits.
EVENTS: tuple[str, ...] = (WINDOW,)


def window_data(*, start: datetime, end: datetime, frames: int, seconds: float, total: float,
                hotspots: Sequence[Mapping[str, Any]], zones: Sequence[Mapping[str, Any]]
                ) -> dict[str, Any]:
    """The ``data`` of a ``heatmap_window`` event."""
    return {"start": start.isoformat(), "end": end.isoformat(), "frames": frames,
            "seconds": seconds, "total": total, "hotspots": list(hotspots), "zones": list(zones)}
