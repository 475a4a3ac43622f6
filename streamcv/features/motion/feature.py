"""Motion: lighting-robust motion regions, zones and re-baselining (``type: motion``)."""

from __future__ import annotations

from streamcv.features.motion.events import EVENTS
from streamcv.features.motion.stage import Motion
from streamcv.plugins import Feature

FEATURE = Feature(
    name="motion", summary="motion regions with zones, persistence and re-baselining",
    stages=(Motion,),
    events=EVENTS,
)
