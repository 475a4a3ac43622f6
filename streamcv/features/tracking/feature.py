"""Tracking: ByteTrack-style multi-object tracks over an earlier stage's boxes (``type: track``)."""

from __future__ import annotations

from streamcv.features.tracking.stage import Track
from streamcv.features.tracking.zoo import TRACKING_MODELS
from streamcv.plugins import Feature

FEATURE = Feature(name="tracking", summary="multi-object tracking", stages=(Track,),
                  models=TRACKING_MODELS)
