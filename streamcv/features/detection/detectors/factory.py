"""The detector backend for a model registry entry: ``build_detector(entry, weights, options)``.

Its own module (above ``base`` and the backends), so the interface does not import its
implementations.
"""

from __future__ import annotations

from pathlib import Path

from streamcv.errors import ConfigError
from streamcv.features.detection.detectors.base import Detector, DetectorOptions
from streamcv.features.detection.detectors.hog import HogPeopleDetector
from streamcv.features.detection.detectors.tv import TORCHVISION_BUILDERS, TorchvisionDetector
from streamcv.features.detection.detectors.yolox import YoloxOnnxDetector
from streamcv.models.registry import ModelEntry

__all__ = ["build_detector"]


def build_detector(entry: ModelEntry, weights: Path | None, options: DetectorOptions) -> Detector:
    """The backend for ``entry`` (by ``entry.architecture``), loaded from ``weights``."""
    arch = entry.architecture
    if arch == "yolox":
        assert weights is not None
        return YoloxOnnxDetector(entry, weights, options)
    if arch == "hog":
        return HogPeopleDetector(options)
    if arch in TORCHVISION_BUILDERS:
        assert weights is not None
        return TorchvisionDetector(entry, weights, options)
    raise ConfigError(f"model {entry.name!r} ({entry.task}, {arch}) is not a detector", key="model")
