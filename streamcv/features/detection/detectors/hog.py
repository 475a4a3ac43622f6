"""The zero-download fallback: OpenCV's HOG + linear SVM people detector (Dalal & Triggs).

Its SVM coefficients are compiled into OpenCV, so it works right after ``pip install`` with no
network. OpenCV 5 moved ``cv2.HOGDescriptor`` out of the main module into the contrib build
(``opencv-contrib-python-headless``, a superset of ``opencv-python-headless``; install one or
the other, never both). Scores are the SVM margins mapped to 0-1 with a logistic curve.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from streamcv.errors import StageError
from streamcv.features.detection.detectors.base import Detector, DetectorOptions, Image, finish
from streamcv.models.coco import COCO80
from streamcv.types import Detections

__all__ = ["HogPeopleDetector", "hog_available"]


def hog_available() -> bool:
    """Whether the installed OpenCV has the HOG people detector."""
    return hasattr(cv2, "HOGDescriptor")


class HogPeopleDetector(Detector):
    """Multi-scale HOG people detection on a downscaled grey frame.

    Args:
        options: shared detector options (``score_threshold`` applies to the 0-1 score).
        work_width: frames wider than this are downscaled first (speed); boxes are mapped back.
        min_height: smallest person height to look for, in source pixels (sets the upscale).

    Example:
        >>> import numpy as np
        >>> det = HogPeopleDetector(DetectorOptions(score_threshold=0.5))
        >>> len(det.detect([np.zeros((240, 320, 3), np.uint8)])[0])
        0
    """

    labels = COCO80

    def __init__(self, options: DetectorOptions, *, work_width: int = 1280,
                 scale: float = 1.05, win_stride: int = 8) -> None:
        super().__init__(options)
        if not hog_available():
            raise StageError(
                f"the HOG people detector is not in this OpenCV build ({cv2.__version__}); "
                "OpenCV 5 moved it to the contrib build: `pip uninstall -y "
                "opencv-python-headless && pip install opencv-contrib-python-headless`"
            )
        hog = cv2.HOGDescriptor()  # contrib build only (checked above)
        hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))
        self.hog = hog
        self.work_width = work_width
        self.scale = scale
        self.win_stride = win_stride

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        out = []
        for img in images:
            h, w = img.shape[:2]
            f = min(1.0, self.work_width / w)
            small = cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA) \
                if f < 1.0 else img
            grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
            rects, weights = self.hog.detectMultiScale(
                grey, hitThreshold=-0.5, winStride=(self.win_stride, self.win_stride),
                padding=(8, 8), scale=self.scale,
            )
            found = np.asarray(rects, np.float32).reshape(-1, 4)
            margin = np.asarray(weights, np.float32).reshape(-1)
            # the 64x128 window has a margin around the person: shrink it as OpenCV's
            # peopledetect sample does (10 % each side, 7 % top, 13 % bottom)
            x, y, bw, bh = found.T
            boxes = np.stack([x + 0.1 * bw, y + 0.07 * bh, x + 0.9 * bw, y + 0.87 * bh], 1) / f
            scores = 1.0 / (1.0 + np.exp(-2.0 * margin))
            out.append(finish(boxes, scores, np.zeros(len(boxes), np.int64), self.options,
                              width=w, height=h))
        return out
