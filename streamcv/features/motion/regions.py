"""Moving regions from a foreground mask, zone coverage, and the persistence filter.

Example:
    >>> import numpy as np
    >>> fg = np.zeros((60, 80), np.uint8); fg[10:30, 20:40] = 255; fg[50, 5] = 255  # blob + speck
    >>> regions = find_regions(fg, min_px=50, kernel=3)
    >>> regions.boxes.tolist(), len(regions)
    ([[18.0, 8.0, 42.0, 32.0]], 1)
    >>> zone = np.zeros((60, 80), bool); zone[:, :30] = True
    >>> round(regions.coverage(zone), 3), regions.touching(zone).tolist()
    (0.11, [True])
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["Regions", "find_regions", "Persistence"]


@dataclass(frozen=True, eq=False)
class Regions:
    """Connected moving regions in work pixels.

    Attributes:
        boxes: N x 4 float32 boxes (x1, y1, x2, y2) around each region (after the joining
            dilation, so a little larger than the foreground pixels).
        areas: N foreground pixel counts.
        labels: H x W int32 component label of every pixel (0: none; kept regions are 1..N).
        mask: H x W bool, the foreground pixels of the kept regions.
    """

    boxes: npt.NDArray[np.float32]
    areas: npt.NDArray[np.int64]
    labels: npt.NDArray[np.int32]
    mask: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    @property
    def pixels(self) -> int:
        return int(self.areas.sum())

    def coverage(self, zone: npt.NDArray[np.bool_]) -> float:
        """Share of the ``zone`` mask's pixels that belong to a kept region (0-1)."""
        n = int(np.count_nonzero(zone))
        return float(np.count_nonzero(self.mask & zone)) / n if n else 0.0

    def touching(self, zone: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Which regions have at least one foreground pixel inside ``zone``."""
        hits = np.bincount(self.labels[zone & self.mask], minlength=len(self) + 1)
        return hits[1:] > 0


def find_regions(fg: npt.NDArray[np.uint8], *, min_px: float, kernel: int) -> Regions:
    """Clean a foreground mask (opening, then dilation to join fragments of one object) and keep
    the connected regions with at least ``min_px`` foreground pixels."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))
    opened = cv2.morphologyEx(fg, cv2.MORPH_OPEN, k) if kernel > 1 else fg
    joined = cv2.dilate(opened, k, iterations=2) if kernel > 1 else opened
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        (joined > 0).astype(np.uint8), connectivity=8, ltype=cv2.CV_32S
    )
    solid = opened > 0
    areas = np.bincount(labels[solid], minlength=n).astype(np.int64)
    keep = np.flatnonzero(areas >= max(min_px, 1.0))
    keep = keep[keep > 0]
    relabel = np.zeros(n, np.int32)
    relabel[keep] = np.arange(1, len(keep) + 1, dtype=np.int32)
    new_labels = relabel[labels]
    x, y, w, h = (stats[keep, i].astype(np.float32) for i in range(4))
    boxes = np.stack([x, y, x + w, y + h], axis=1) if len(keep) else np.zeros((0, 4), np.float32)
    return Regions(boxes.astype(np.float32), areas[keep], new_labels, (new_labels > 0) & solid)


class Persistence:
    """Motion counts only once it has lasted ``min_frames`` frames and ``min_s`` seconds;
    it ends after more than ``release_frames`` frames without motion (short gaps are bridged).

    Example:
        >>> p = Persistence(min_frames=3, min_s=0.0, release_frames=1)
        >>> [p.update(m, t) for t, m in enumerate([1, 1, 1, 0, 1, 0, 0, 0])]
        [False, False, True, True, True, True, False, False]
    """

    def __init__(self, *, min_frames: int, min_s: float, release_frames: int) -> None:
        self.min_frames = min_frames
        self.min_s = min_s
        self.release_frames = release_frames
        self._start: float | None = None
        self._frames = 0
        self._quiet = 0
        self.active = False

    def update(self, moving: bool, t: float) -> bool:
        """Feed one frame (``t`` in seconds); returns whether motion is active."""
        if moving:
            if self._start is None:
                self._start, self._frames = t, 0
            self._frames += 1
            self._quiet = 0
            if self._frames >= self.min_frames and t - self._start >= self.min_s:
                self.active = True
        elif self._start is not None:
            self._quiet += 1
            if self._quiet > self.release_frames:
                self._start, self._frames, self.active = None, 0, False
        return self.active

    def clear(self) -> None:
        self._start, self._frames, self._quiet, self.active = None, 0, 0, False
