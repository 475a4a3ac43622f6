"""Test-time augmentation: several input sizes and a mirrored pass, fused box by box.

Every pass (one input size, mirrored or not) is a vote. Boxes of one class from all passes are
clustered greedily in descending score order (a box joins the cluster whose fused box it overlaps
with IoU > ``iou``); a cluster's box is the score-weighted mean of its members and its score the
mean over passes of each pass's best score in it (0 for passes that missed it), so a person found
by most passes outranks one found by a single pass (weighted boxes fusion, Solovyev et al.,
2021). This fixes both weaknesses of one small-input pass on CCTV: people missed at one scale are
found at another, and averaging sharpens the boxes of seated, partly hidden people.

Example:
    >>> import numpy as np
    >>> b, s, c = fuse_boxes([np.array([[0, 0, 10, 10.]]), np.array([[0, 0, 12, 10.]])],
    ...                      [np.array([0.8]), np.array([0.4])], [np.array([0]), np.array([0])],
    ...                      iou=0.55)
    >>> [round(float(v), 2) for v in b[0]], round(float(s[0]), 2)
    ([0.0, 0.0, 10.67, 10.0], 0.6)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from streamcv.boxes import iou_one_to_many
from streamcv.features.detection.detectors.base import Detector, DetectorOptions, Image, finish
from streamcv.types import Detections

__all__ = ["MultiPassDetector", "fuse_boxes"]


def _area(box: npt.NDArray[np.float64]) -> float:
    """Area of one xyxy box (0 when inverted), as :func:`~streamcv.boxes.iou_matrix` counts it."""
    return max(float(box[2] - box[0]), 0.0) * max(float(box[3] - box[1]), 0.0)


def fuse_boxes(boxes: Sequence[np.ndarray], scores: Sequence[np.ndarray],
               classes: Sequence[np.ndarray], *, iou: float = 0.55
               ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Weighted boxes fusion; ``boxes[p]``, ``scores[p]``, ``classes[p]`` are pass ``p``'s."""
    n_passes = len(boxes)
    b_all = np.concatenate([np.asarray(b, np.float64).reshape(-1, 4) for b in boxes])
    s_all = np.concatenate([np.asarray(s, np.float64).reshape(-1) for s in scores])
    c_all = np.concatenate([np.asarray(c, np.int64).reshape(-1) for c in classes])
    p_all = np.concatenate([np.full(len(np.asarray(s).reshape(-1)), p, np.int64)
                            for p, s in enumerate(scores)])
    out_b, out_s, out_c = [], [], []
    for cls in np.unique(c_all):
        idx = np.flatnonzero(c_all == cls)
        idx = idx[np.argsort(-s_all[idx], kind="stable")]
        fused = np.zeros((len(idx), 4))
        # the fused boxes' corners and areas as columns: the IoU of one box against all of them
        # in a few array operations (boxes.iou_one_to_many: this loop runs per box and frame)
        x1, y1, x2, y2 = (np.zeros(len(idx)) for _ in range(4))
        area = np.zeros(len(idx))
        wsum = np.zeros(len(idx))
        bsum = np.zeros((len(idx), 4))
        best = np.zeros((len(idx), n_passes))
        n = 0
        for i in idx:
            box, sc, p = b_all[i], s_all[i], p_all[i]
            if n:
                ov = iou_one_to_many(box, _area(box), x1[:n], y1[:n], x2[:n], y2[:n],
                                     area[:n])
                j = int(ov.argmax())
                if ov[j] > iou:
                    bsum[j] += box * sc
                    wsum[j] += sc
                    fused[j] = f = bsum[j] / wsum[j]
                    x1[j], y1[j], x2[j], y2[j], area[j] = f[0], f[1], f[2], f[3], _area(f)
                    best[j, p] = max(best[j, p], sc)
                    continue
            fused[n], bsum[n], wsum[n], best[n, p] = box, box * sc, sc, sc
            x1[n], y1[n], x2[n], y2[n], area[n] = box[0], box[1], box[2], box[3], _area(box)
            n += 1
        out_b.append(fused[:n])
        out_s.append(best[:n].sum(1) / max(1, n_passes))
        out_c.append(np.full(n, cls, np.int64))
    if not out_b:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    return (np.concatenate(out_b).astype(np.float32), np.concatenate(out_s).astype(np.float32),
            np.concatenate(out_c))


class MultiPassDetector(Detector):
    """Runs each detector (e.g. one per input size), optionally on mirrored images too, and
    fuses the passes with :func:`fuse_boxes`.

    The member detectors should use a low score threshold (their boxes are votes); the
    ``options`` threshold applies to the fused scores.

    Example:
        >>> import numpy as np
        >>> from streamcv.features.detection.detectors.hog import HogPeopleDetector
        >>> members = [HogPeopleDetector(DetectorOptions(score_threshold=0.1), work_width=w)
        ...            for w in (640, 960)]
        >>> tta = MultiPassDetector(members, DetectorOptions(score_threshold=0.5), flip=True)
        >>> len(tta.detect([np.zeros((360, 640, 3), np.uint8)])[0])
        0
    """

    def __init__(self, members: Sequence[Detector], options: DetectorOptions, *,
                 flip: bool = True, iou: float = 0.55) -> None:
        super().__init__(options)
        if not members:
            raise ValueError("MultiPassDetector needs at least one member detector")
        self.members = list(members)
        self.flip = flip
        self.iou = iou
        self.labels = members[0].labels
        self.max_batch = max(m.max_batch for m in members)

    @property
    def n_passes(self) -> int:
        return len(self.members) * (2 if self.flip else 1)

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        views: list[Image] = list(images)
        if self.flip:
            views += [np.ascontiguousarray(img[:, ::-1]) for img in images]
        passes = [m.detect(views) for m in self.members]
        out = []
        n = len(images)
        for k, img in enumerate(images):
            h, w = img.shape[:2]
            boxes, scores, classes = [], [], []
            for found in passes:
                for view in (k, k + n) if self.flip else (k,):
                    d = found[view]
                    xy = d.xyxy.copy()
                    if view >= n:  # mirrored pass: map x back
                        xy[:, [0, 2]] = w - xy[:, [2, 0]]
                    boxes.append(xy)
                    scores.append(d.confidence)
                    classes.append(d.class_id)
            fb, fs, fc = fuse_boxes(boxes, scores, classes, iou=self.iou)
            out.append(finish(fb, fs, fc, self.options, width=w, height=h, run_nms=False))
        return out

    def close(self) -> None:
        for m in self.members:
            m.close()
