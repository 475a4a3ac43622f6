"""Crowd: density-map counting with sanity gates (``type: crowd``)."""

from __future__ import annotations

from streamcv.features.crowd.events import EVENTS
from streamcv.features.crowd.stage import Crowd
from streamcv.features.crowd.zoo import CROWD_MODELS
from streamcv.plugins import Feature

FEATURE = Feature(name="crowd", summary="crowd counting with density maps",
                  stages=(Crowd,), models=CROWD_MODELS, events=EVENTS)
