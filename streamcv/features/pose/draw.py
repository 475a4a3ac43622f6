"""Skeletons on images: limbs between confident keypoints, left side blue, right side orange.

:func:`draw_people` draws the pose stage's people (boxes, skeletons, postures); it is how the
pose stage draws its output on snapshots and videos (:meth:`PoseStage.draw
<streamcv.features.pose.stage.PoseStage.draw>`).

Example:
    >>> import numpy as np
    >>> img = np.zeros((100, 100, 3), np.uint8)
    >>> kp = np.zeros((1, 17, 3)); kp[0, :, 2] = 1.0
    >>> kp[0, :, 0], kp[0, :, 1] = 50, np.linspace(10, 90, 17)
    >>> int(draw_skeletons(img, kp).sum() > 0)
    1
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from streamcv.draw import draw_boxes
from streamcv.features.pose.events import FALLEN, KEYPOINTS, POSTURE
from streamcv.features.pose.skeleton import LEFT, RIGHT, SKELETON
from streamcv.types import Detections

__all__ = ["draw_skeletons", "draw_people", "LEFT_COLOR", "RIGHT_COLOR", "MID_COLOR"]

LEFT_COLOR = (0, 130, 255)  # RGB
RIGHT_COLOR = (255, 140, 0)
MID_COLOR = (60, 220, 60)


def _side_color(a: int, b: int) -> tuple[int, int, int]:
    if a in LEFT and b in LEFT:
        return LEFT_COLOR
    if a in RIGHT and b in RIGHT:
        return RIGHT_COLOR
    return MID_COLOR


def draw_skeletons(
    image: npt.NDArray[np.uint8], keypoints: npt.ArrayLike, *, min_score: float = 0.3,
    labels: Sequence[str] | None = None, thickness: int | None = None,
) -> npt.NDArray[np.uint8]:
    """Draw ``(N, 17, 3)`` keypoints on an RGB copy of ``image``; return the copy.

    Limbs are drawn when both ends score ≥ ``min_score``, joints when they do. ``labels`` (one per
    person, e.g. the posture) are written above the head.
    """
    img = np.ascontiguousarray(image.copy())
    kps = np.asarray(keypoints, np.float64).reshape(-1, 17, 3)
    h, w = img.shape[:2]
    t = thickness or max(2, round(max(h, w) / 400))
    for n, kp in enumerate(kps):
        ok = np.isfinite(kp).all(axis=1) & (kp[:, 2] >= min_score)
        pts = np.round(np.nan_to_num(kp[:, :2])).astype(np.int32)
        for a, b in SKELETON:
            if ok[a] and ok[b]:
                cv2.line(img, tuple(pts[a]), tuple(pts[b]), _side_color(a, b), t, cv2.LINE_AA)
        for i in np.flatnonzero(ok):
            cv2.circle(img, tuple(pts[i]), t + 1, (255, 255, 255), -1, cv2.LINE_AA)
        if labels is not None and ok.any():
            x, y = pts[ok][:, 0].min(), pts[ok][:, 1].min()
            cv2.putText(img, str(labels[n]), (int(x), max(10, int(y) - 6)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4 * t, (255, 255, 0), t, cv2.LINE_AA)
    return img


def draw_people(image: npt.NDArray[np.uint8], people: Detections, *, key: str = "pose",
                min_score: float = 0.3) -> npt.NDArray[np.uint8]:
    """People of the pose stage on an RGB copy of ``image``: boxes (score, track id), skeletons
    and each posture above the head (``FALLEN`` after a fall)."""
    img = draw_boxes(image, people, key=key)
    if len(people) == 0 or KEYPOINTS not in people.data:
        return img
    labels = None
    if POSTURE in people.data:
        fallen = people.data.get(FALLEN)
        labels = [str(p) + (" FALLEN" if fallen is not None and fallen[i] else "")
                  for i, p in enumerate(people.data[POSTURE])]
    return draw_skeletons(img, people.data[KEYPOINTS], min_score=min_score, labels=labels)
