"""Tamper: camera covered, defocused or moved, and picture quality per window (``type: tamper``)."""

from __future__ import annotations

from pathlib import Path

from streamcv.features.tamper.events import EVENTS
from streamcv.features.tamper.queries import SCENE
from streamcv.features.tamper.schema import scene_quality
from streamcv.features.tamper.stage import Tamper
from streamcv.plugins import Feature

FEATURE = Feature(
    name="tamper", summary="camera tampering (covered, defocused, moved) and picture quality",
    stages=(Tamper,), tables=(scene_quality,), retention=(scene_quality,),
    migrations=Path(__file__).parent / "migrations",
    queries=(SCENE,), events=EVENTS,
)
