"""Faces: detection, alignment, age and gender, visitors (``type: faces``)."""

from __future__ import annotations

from streamcv.features.faces.events import EVENTS
from streamcv.features.faces.queries import DEMOGRAPHICS
from streamcv.features.faces.stage import FacesStage
from streamcv.features.faces.zoo import FACE_MODELS
from streamcv.plugins import Feature

FEATURE = Feature(
    name="faces", summary="faces with age and gender; visitors and demographics",
    stages=(FacesStage,), queries=(DEMOGRAPHICS,), models=FACE_MODELS, events=EVENTS,
)
