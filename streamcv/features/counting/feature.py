"""Counting: zone occupancy, dwell and line crossings of tracked people (``type: counting``)."""

from __future__ import annotations

from streamcv.features.counting.events import EVENTS
from streamcv.features.counting.queries import PEOPLE_QUERIES
from streamcv.features.counting.stage import Counting
from streamcv.plugins import Feature

FEATURE = Feature(
    name="counting", summary="zone occupancy, dwell, line crossings and visitors",
    stages=(Counting,), queries=PEOPLE_QUERIES,
    events=EVENTS,
)
