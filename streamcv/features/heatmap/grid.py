"""Heat-map windows: occupancy grids per source and time window, their footprints and merging.

A :class:`HeatWindow` holds a ``grid_h x grid_w`` float64 grid over the frame (cell ``(i, j)``
covers source pixels ``[j*W/gw, (j+1)*W/gw) x [i*H/gh, (i+1)*H/gh)``). Each observation adds its
occupancy (people per cell) times the time it stands for (seconds), so cells hold
**person-seconds** (motion masks: motion-seconds). Windows of one source merge by adding grids,
frames and seconds: merging two windows equals accumulating their frames at once.

Occupancy of one observation comes from one of three inputs (:class:`HeatInput`):

* ``detections``: the bottom-centre (feet) of each box adds 1 to its cell;
* ``density``: a density map (people per source pixel) summed over each cell;
* ``motion``: the share of moving pixels in each cell (a motion mask).

Example:
    >>> import numpy as np
    >>> g = np.zeros((2, 4))
    >>> footprint_points(g, [[10, 90], [90, 90], [95, 99]], width=100, height=100).tolist()
    [[0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 2.0]]
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "HeatInput", "HeatWindow", "grid_shape", "footprint_points", "footprint_density",
    "footprint_mask", "encode_grid", "decode_grid", "resample_sum", "merge_windows",
]

Grid = npt.NDArray[np.float64]


class HeatInput(StrEnum):
    """What a heat map accumulates."""

    DETECTIONS = "detections"
    DENSITY = "density"
    MOTION = "motion"


def grid_shape(width: int, height: int, grid_width: int) -> tuple[int, int]:
    """(grid_h, grid_w) for a frame: ``grid_width`` columns, square-ish cells."""
    gw = max(1, min(grid_width, width))
    gh = max(1, min(height, round(gw * height / width)))
    return gh, gw


def footprint_points(grid: Grid, points: npt.ArrayLike, *, width: int, height: int,
                     weights: npt.ArrayLike | None = None) -> Grid:
    """Add ``weights`` (default 1) at the cells holding ``points`` (N x 2 source pixels); in place.

    Points outside the frame are clipped to the border cells (a foot just below the picture is
    still that person).
    """
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return grid
    gh, gw = grid.shape
    col = np.clip(np.floor(pts[:, 0] * gw / width), 0, gw - 1).astype(np.intp)
    row = np.clip(np.floor(pts[:, 1] * gh / height), 0, gh - 1).astype(np.intp)
    w = np.ones(len(pts)) if weights is None else np.asarray(weights, np.float64).reshape(-1)
    np.add.at(grid, (row, col), w)
    return grid


def resample_sum(values: npt.ArrayLike, shape: tuple[int, int]) -> Grid:
    """Resample a map of amounts to ``shape`` (rows, cols) keeping its total exactly."""
    v = np.asarray(values, np.float64)
    if v.shape == shape:
        return v.copy()
    total = float(v.sum())
    h, w = shape
    interp = cv2.INTER_AREA if v.shape[0] >= h and v.shape[1] >= w else cv2.INTER_LINEAR
    out = cv2.resize(v, (w, h), interpolation=interp).astype(np.float64)
    got = float(out.sum())
    if got > 0 and total > 0:
        out *= total / got
    elif total != 0:
        out[:] = total / out.size
    return out


def footprint_density(density: npt.ArrayLike, shape: tuple[int, int]) -> Grid:
    """People per cell from a density map in source pixels (its sum is kept)."""
    return resample_sum(np.clip(np.asarray(density, np.float64), 0, None), shape)


def footprint_mask(mask: npt.ArrayLike, shape: tuple[int, int]) -> Grid:
    """Share (0-1) of each cell covered by a motion mask (non-zero = moving)."""
    m = (np.asarray(mask) > 0).astype(np.float32)
    h, w = shape
    if m.shape == shape:
        return m.astype(np.float64)
    return np.clip(cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA), 0, 1).astype(np.float64)


def encode_grid(grid: npt.ArrayLike) -> bytes:
    """zlib of little-endian float32, row major (codec ``zlib-f32le``)."""
    return zlib.compress(np.ascontiguousarray(grid, "<f4").tobytes(), 6)


def decode_grid(blob: bytes, shape: tuple[int, int]) -> Grid:
    arr = np.frombuffer(zlib.decompress(blob), "<f4")
    if arr.size != shape[0] * shape[1]:
        raise ValueError(f"grid blob holds {arr.size} values, expected {shape[0]}x{shape[1]}")
    return arr.reshape(shape).astype(np.float64)


@dataclass(frozen=True, eq=False)
class HeatWindow:
    """Occupancy of one source over ``[start, end)``.

    Attributes:
        source: source id.
        stage: name of the heat-map stage that made it.
        kind: what was accumulated (:class:`HeatInput` value).
        start, end: the window (aware UTC; ``end`` exclusive).
        grid: ``grid_h x grid_w`` person-seconds (motion: motion-seconds) per cell.
        frame_size: (width, height) of the source frames in pixels.
        frames: observations accumulated.
        seconds: time those observations stand for (sum of their weights).
        first_ts, last_ts: wall clock of the first and last observation.
        reference: a small RGB frame of the scene (for overlays), or ``None``.

    Example:
        >>> from datetime import UTC, datetime, timedelta
        >>> t = datetime(2026, 1, 1, tzinfo=UTC)
        >>> a = HeatWindow("cam", "heatmap", "detections", t, t + timedelta(minutes=1),
        ...                np.ones((2, 2)), (64, 64), 10, 10.0, t, t)
        >>> merge_windows([a, a]).total
        8.0
    """

    source: str
    stage: str
    kind: str
    start: datetime
    end: datetime
    grid: Grid
    frame_size: tuple[int, int]
    frames: int
    seconds: float
    first_ts: datetime
    last_ts: datetime
    reference: npt.NDArray[np.uint8] | None = None

    @property
    def total(self) -> float:
        """Sum of the grid: person-seconds (or motion-seconds) in the window."""
        return float(self.grid.sum())

    @property
    def mean_occupancy(self) -> float:
        """Average people in view (total / seconds); 0 for an empty window."""
        return self.total / self.seconds if self.seconds > 0 else 0.0

    def cell_box(self, row: int, col: int) -> tuple[float, float, float, float]:
        """Source-pixel box (x1, y1, x2, y2) of one cell."""
        gh, gw = self.grid.shape
        w, h = self.frame_size
        return (col * w / gw, row * h / gh, (col + 1) * w / gw, (row + 1) * h / gh)


def merge_windows(windows: Sequence[HeatWindow]) -> HeatWindow:
    """One window covering all of ``windows`` (same source): grids, frames and seconds added.

    Grids of another resolution are resampled (sums kept) to the resolution of the latest
    window; the reference frame is the latest window's.

    Raises:
        ValueError: no windows, or windows of different sources or kinds.
    """
    if not windows:
        raise ValueError("no heat-map windows to merge")
    ws = sorted(windows, key=lambda w: (w.start, w.end))
    last = ws[-1]
    kinds = {w.kind for w in ws}
    sources = {w.source for w in ws}
    if len(sources) > 1 or len(kinds) > 1:
        raise ValueError(
            f"cannot merge windows of sources {sorted(sources)} / kinds {sorted(kinds)}")
    shape = last.grid.shape
    grid = np.zeros(shape, np.float64)
    for w in ws:
        grid += w.grid if w.grid.shape == shape else resample_sum(w.grid, shape)
    ref = next((w.reference for w in reversed(ws) if w.reference is not None), None)
    stages = sorted({w.stage for w in ws})
    return replace(
        last,
        stage="+".join(stages),
        start=ws[0].start,
        end=max(w.end for w in ws),
        grid=grid,
        frames=sum(w.frames for w in ws),
        seconds=float(sum(w.seconds for w in ws)),
        first_ts=min(w.first_ts for w in ws),
        last_ts=max(w.last_ts for w in ws),
        reference=ref,
    )
