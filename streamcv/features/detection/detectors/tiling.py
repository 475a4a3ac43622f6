"""Tiled inference: small people in large frames.

A 1080p frame shrunk to a 416-pixel network input makes a distant person 10-20 pixels tall, below
what small detectors see. Tiling cuts the frame into an overlapping ``cols x rows`` grid, runs the
detector on every tile (at the tile's higher effective resolution) and optionally on the whole
frame (for people larger than a tile), shifts the boxes back to source pixels and merges them:

1. a tile box that touches an inner tile edge is cut off by the tile; the overlapping neighbour
   tile or the whole-frame pass sees the full person, so the cut box is dropped;
2. the rest are merged with class-aware NMS.

Example:
    >>> tile_windows(1920, 1080, cols=3, rows=2, overlap=0.25)[0]
    (0, 0, 768, 617)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from streamcv.features.detection.detectors.base import Detector, DetectorOptions, Image, finish
from streamcv.types import Detections

__all__ = ["TiledDetector", "tile_windows"]

_EDGE_PX = 2.0


def tile_windows(width: int, height: int, *, cols: int, rows: int, overlap: float
                 ) -> list[tuple[int, int, int, int]]:
    """Tile rectangles (x1, y1, x2, y2) covering the frame; neighbours share ``overlap`` of a
    tile's size."""
    def spans(total: int, n: int) -> list[tuple[int, int]]:
        if n == 1:
            return [(0, total)]
        size = total / (n - (n - 1) * overlap)
        step = size * (1 - overlap)
        return [(int(round(i * step)), min(total, int(round(i * step + size)))) for i in range(n)]

    return [(x1, y1, x2, y2) for (y1, y2) in spans(height, rows) for (x1, x2) in spans(width, cols)]


class TiledDetector(Detector):
    """Runs ``base`` on overlapping tiles (and the whole frame) and merges the boxes.

    Example:
        >>> import numpy as np
        >>> from streamcv.features.detection.detectors.hog import HogPeopleDetector
        >>> base = HogPeopleDetector(DetectorOptions())
        >>> tiled = TiledDetector(base, DetectorOptions(), cols=3, rows=2)
        >>> len(tiled.detect([np.zeros((360, 640, 3), np.uint8)])[0])
        0
    """

    def __init__(self, base: Detector, options: DetectorOptions, *, cols: int, rows: int,
                 overlap: float = 0.25, full_frame: bool = True) -> None:
        super().__init__(options)
        if cols < 1 or rows < 1 or not 0 <= overlap < 1:
            raise ValueError(f"need cols, rows >= 1 and 0 <= overlap < 1; got {cols}, {rows}, "
                             f"{overlap}")
        self.base = base
        self.cols, self.rows, self.overlap, self.full_frame = cols, rows, overlap, full_frame
        self.labels = base.labels
        self.max_batch = base.max_batch

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        crops: list[Image] = []
        plan: list[list[tuple[int, int, int, int] | None]] = []
        for img in images:
            h, w = img.shape[:2]
            wins: list[tuple[int, int, int, int] | None] = list(
                tile_windows(w, h, cols=self.cols, rows=self.rows, overlap=self.overlap))
            if self.full_frame and len(wins) > 1:
                wins.append(None)
            plan.append(wins)
            crops += [img if win is None else img[win[1]:win[3], win[0]:win[2]] for win in wins]
        found: list[Detections] = []
        step = max(1, self.base.max_batch)
        for i in range(0, len(crops), step):
            found += self.base.detect(crops[i:i + step])
        out, k = [], 0
        for img, wins in zip(images, plan, strict=True):
            h, w = img.shape[:2]
            boxes, scores, classes = [], [], []
            for win in wins:
                d = found[k]
                k += 1
                xy = d.xyxy.copy()
                keep = np.ones(len(d), bool)
                if win is not None:
                    x1, y1, x2, y2 = win
                    xy += np.array([x1, y1, x1, y1], np.float32)
                    keep &= ~((x1 > 0) & (xy[:, 0] <= x1 + _EDGE_PX))
                    keep &= ~((y1 > 0) & (xy[:, 1] <= y1 + _EDGE_PX))
                    keep &= ~((x2 < w) & (xy[:, 2] >= x2 - _EDGE_PX))
                    keep &= ~((y2 < h) & (xy[:, 3] >= y2 - _EDGE_PX))
                boxes.append(xy[keep])
                scores.append(d.confidence[keep])
                classes.append(d.class_id[keep])
            out.append(finish(np.concatenate(boxes), np.concatenate(scores),
                              np.concatenate(classes), self.options, width=w, height=h))
        return out

    def close(self) -> None:
        self.base.close()
