"""People analytics on tracks: line crossings with hysteresis, zone occupancy and dwell."""

from __future__ import annotations

from streamcv.analytics.lines import Crossing, LineCounter
from streamcv.analytics.zones import ZoneExit, ZoneTracker

__all__ = ["Crossing", "LineCounter", "ZoneExit", "ZoneTracker"]
