"""The detector interface, shared options, NMS, and the backend factory."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from streamcv.errors import ConfigError
from streamcv.models.coco import COCO80
from streamcv.models.registry import ModelEntry
from streamcv.types import Detections

__all__ = ["Detector", "DetectorOptions", "build_detector", "nms", "finish"]

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class DetectorOptions:
    """What every backend honours.

    Attributes:
        score_threshold: drop objects scoring below this.
        classes: COCO-80 ids to keep (empty: all).
        nms_iou: IoU above which overlapping boxes of one class are merged.
        max_detections: most objects kept per image (highest scores first).
        input_size: network input side override (torchvision ``min_size``; ``None``: the model's).
        device: ``cpu`` or ``cuda[:N]``.
        fp16: half precision on CUDA (ignored on CPU).
    """

    score_threshold: float = 0.3
    classes: tuple[int, ...] = ()
    nms_iou: float = 0.5
    max_detections: int = 300
    input_size: int | None = None
    device: str = "cpu"
    fp16: bool = True


class Detector(ABC):
    """A detector: RGB images in, :class:`Detections` in source pixels out (COCO-80 ids).

    Example:
        >>> from streamcv.features.detection.detectors.base import DetectorOptions
        >>> from streamcv.features.detection.detectors.hog import HogPeopleDetector  # doctest: +SKIP
        >>> det = HogPeopleDetector(DetectorOptions(score_threshold=0.5))  # doctest: +SKIP
        >>> det.detect([image])[0].labels[0]  # doctest: +SKIP
        'person'
    """

    labels: tuple[str, ...] = COCO80
    #: Images per call the backend runs well with (the stage splits larger batches).
    max_batch: int = 8

    def __init__(self, options: DetectorOptions) -> None:
        self.options = options

    @abstractmethod
    def detect(self, images: Sequence[Image]) -> list[Detections]:
        """Detect objects in each RGB image (H x W x 3 uint8); one result per image."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the model."""


def nms(boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32],
        classes: npt.NDArray[np.int64] | None, iou: float) -> npt.NDArray[np.int64]:
    """Indices kept by (class-aware) greedy non-maximum suppression, best score first."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    b = boxes.astype(np.float64)
    if classes is not None:  # offset boxes per class so that classes never overlap
        b = b + (classes.astype(np.float64) * (b.max() + 1.0))[:, None]
    x1, y1, x2, y2 = b.T
    area = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        ov = inter / np.maximum(area[i] + area[rest] - inter, 1e-9)
        order = rest[ov <= iou]
    return np.asarray(keep, np.int64)


def finish(boxes: Any, scores: Any, classes: Any, options: DetectorOptions, *,
           width: int, height: int, run_nms: bool = True) -> Detections:
    """Threshold, class-filter, clip to the frame, NMS and cap; the common tail of backends."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    scores = np.asarray(scores, np.float32).reshape(-1)
    classes = np.asarray(classes, np.int64).reshape(-1)
    keep = (scores >= options.score_threshold) & (classes >= 0)
    if options.classes:
        keep &= np.isin(classes, options.classes)
    boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    ok = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes, scores, classes = boxes[ok], scores[ok], classes[ok]
    idx = nms(boxes, scores, classes, options.nms_iou) if run_nms else np.argsort(-scores)
    idx = idx[: options.max_detections]
    return Detections.from_arrays(boxes[idx], scores[idx], classes[idx], labels=COCO80)


def build_detector(entry: ModelEntry, weights: Path | None, options: DetectorOptions) -> Detector:
    """The backend for ``entry`` (by ``entry.architecture``), loaded from ``weights``."""
    arch = entry.architecture
    if arch == "yolox":
        from streamcv.features.detection.detectors.yolox import YoloxOnnxDetector

        assert weights is not None
        return YoloxOnnxDetector(entry, weights, options)
    if arch == "hog":
        from streamcv.features.detection.detectors.hog import HogPeopleDetector

        return HogPeopleDetector(options)
    from streamcv.features.detection.detectors.tv import TORCHVISION_BUILDERS, TorchvisionDetector

    if arch in TORCHVISION_BUILDERS:
        assert weights is not None
        return TorchvisionDetector(entry, weights, options)
    raise ConfigError(f"model {entry.name!r} ({entry.task}, {arch}) is not a detector", key="model")
