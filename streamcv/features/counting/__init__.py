"""People analytics on tracks: line crossings with hysteresis, zone occupancy and dwell."""

from __future__ import annotations

from streamcv.features.counting.lines import Crossing, LineCounter
from streamcv.features.counting.zones import ZoneExit, ZoneTracker

__all__ = ["Crossing", "LineCounter", "ZoneExit", "ZoneTracker"]
