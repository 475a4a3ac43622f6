"""The detector interface, shared options and the backends' common tail (the factory is in
``factory.py``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from streamcv.boxes import nms
from streamcv.models.coco import COCO80
from streamcv.types import Detections

__all__ = ["Detector", "DetectorOptions", "finish"]

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
        threads: CPU threads of one inference (ONNX Runtime; ``None``: its default, the cores).
        spin: ONNX Runtime's worker threads spin-wait for work between calls (its default):
            a little faster for one camera, CPU burnt that other cameras' stages could use.
    """

    score_threshold: float = 0.3
    classes: tuple[int, ...] = ()
    nms_iou: float = 0.5
    max_detections: int = 300
    input_size: int | None = None
    device: str = "cpu"
    fp16: bool = True
    threads: int | None = None
    spin: bool = True


class Detector(ABC):
    """A detector: RGB images in, :class:`Detections` in source pixels out (COCO-80 ids).

    Example:
        >>> import numpy as np
        >>> from streamcv.features.detection.detectors.hog import HogPeopleDetector
        >>> det = HogPeopleDetector(DetectorOptions(score_threshold=0.5))
        >>> out = det.detect([np.zeros((240, 320, 3), np.uint8)])  # one Detections per image
        >>> len(out), len(out[0])  # nobody in a black frame
        (1, 0)
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
    idx = (nms(boxes, scores, iou=options.nms_iou, classes=classes) if run_nms
           else np.argsort(-scores))
    idx = idx[: options.max_detections]
    return Detections.from_arrays(boxes[idx], scores[idx], classes[idx], labels=COCO80)
