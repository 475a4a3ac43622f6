"""Skeletons on images: limbs between confident keypoints, left side blue, right side orange.

``annotate_with_poses(result)`` is :func:`streamcv.sinks.annotate.annotate` plus the skeleton of
every person whose detections carry ``keypoints`` (any stage), with the posture next to the box.

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

from streamcv.features.pose.skeleton import LEFT, RIGHT, SKELETON
from streamcv.types import FrameResult

__all__ = ["draw_skeletons", "annotate_with_poses", "LEFT_COLOR", "RIGHT_COLOR", "MID_COLOR"]

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


def annotate_with_poses(result: FrameResult, *, min_score: float = 0.3) -> npt.NDArray[np.uint8]:
    """The core annotation (boxes, labels, metrics) plus skeletons of every stage's people."""
    from streamcv.sinks.annotate import annotate

    img = annotate(result)
    for out in result.outputs.values():
        dets = out.detections
        if dets is None or "keypoints" not in dets.data or len(dets) == 0:
            continue
        labels = None
        if "posture" in dets.data:
            labels = [str(p) + (" FALLEN" if "fallen" in dets.data and dets.data["fallen"][i]
                                else "") for i, p in enumerate(dets.data["posture"])]
        img = draw_skeletons(img, dets.data["keypoints"], min_score=min_score, labels=labels)
    return img
