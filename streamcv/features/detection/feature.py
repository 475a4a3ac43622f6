"""Detection: objects and people from YOLOX, torchvision detectors or HOG (``type: detect``)."""

from __future__ import annotations

from streamcv.features.detection.stage import Detect
from streamcv.features.detection.zoo import DETECTION_MODELS
from streamcv.plugins import Feature

FEATURE = Feature(name="detection", summary="object and person detection",
                  stages=(Detect,), models=DETECTION_MODELS)
