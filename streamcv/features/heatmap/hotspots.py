"""Hotspots (the top-k busiest regions of a heat map) and per-zone dwell.

Hotspots: the grid is smoothed (Gaussian, ``sigma`` cells; by default 1/40 of the grid width,
at least one cell) and its local maxima are taken from the highest down; each claims the
connected cells within ``3 sigma`` of it whose smoothed value is at least ``level`` x its peak
and that no higher peak claimed. A region's ``share`` is the part of the window's person-time (the
unsmoothed grid) inside its cells; the ``k`` regions with the largest shares are the hotspots,
ranked by share.

Per-zone dwell: the person-seconds inside each zone polygon (cells weighted by the share of
their area inside), their share of the total, and the mean number of people in the zone.

Example:
    >>> import numpy as np
    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> g = np.zeros((10, 10)); g[2, 2] = 3.0; g[7, 8] = 1.0
    >>> w = HeatWindow("cam", "heatmap", "detections", t, t, g, (100, 100), 4, 4.0, t, t)
    >>> [(h.rank, round(h.share, 2), h.center) for h in find_hotspots(w, k=2)]
    [(1, 0.75, (25.0, 25.0)), (2, 0.25, (85.0, 75.0))]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from streamcv.features.heatmap.grid import HeatWindow
from streamcv.zones import ZoneConfig, zone_mask

__all__ = ["Hotspot", "ZoneDwell", "find_hotspots", "zone_dwell"]


@dataclass(frozen=True)
class Hotspot:
    """One busy region: rank (1 = busiest), peak cell centre and bounding box in source pixels,
    person-seconds inside and their share of the window's total."""

    rank: int
    center: tuple[float, float]
    box: tuple[float, float, float, float]
    value: float
    share: float
    cells: int

    def to_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "x": round(self.center[0], 1), "y": round(self.center[1], 1),
                "box": [round(v, 1) for v in self.box], "person_seconds": round(self.value, 3),
                "share": round(self.share, 4), "cells": self.cells}


@dataclass(frozen=True)
class ZoneDwell:
    """Person-seconds inside a zone, their share of the total, and the mean people in it."""

    name: str
    person_seconds: float
    share: float
    mean_people: float

    def to_json(self) -> dict[str, Any]:
        return {"zone": self.name, "person_seconds": round(self.person_seconds, 3),
                "share": round(self.share, 4), "mean_people": round(self.mean_people, 4)}


def find_hotspots(window: HeatWindow, *, k: int = 5, sigma: float | None = None,
                  level: float = 0.5, min_share: float = 0.01) -> list[Hotspot]:
    """The ``k`` busiest regions of ``window`` (see the module docstring)."""
    grid = np.asarray(window.grid, np.float64)
    total = float(grid.sum())
    if total <= 0 or k <= 0:
        return []
    if sigma is None:
        sigma = max(1.0, grid.shape[1] / 40)
    smooth = (cv2.GaussianBlur(grid, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
              if sigma > 0 else grid.copy())
    peaks_mask = (smooth >= cv2.dilate(smooth, np.ones((3, 3), np.uint8))) & (smooth > 0)
    rows, cols = np.nonzero(peaks_mask)
    order = np.argsort(-smooth[rows, cols], kind="stable")
    claimed = np.zeros(grid.shape, bool)
    yy, xx = np.mgrid[0:grid.shape[0], 0:grid.shape[1]]
    radius2 = (3 * sigma) ** 2
    found: list[tuple[float, int, int, npt.NDArray[np.bool_]]] = []
    for idx in order:
        r, c = int(rows[idx]), int(cols[idx])
        if claimed[r, c]:
            continue
        peak = smooth[r, c]
        near = (yy - r) ** 2 + (xx - c) ** 2 <= radius2
        candidate = ((smooth >= level * peak) & near & ~claimed).astype(np.uint8)
        _, labels = cv2.connectedComponents(candidate, connectivity=8)
        region = labels == labels[r, c]
        claimed |= region
        value = float(grid[region].sum())
        if value / total >= min_share:
            found.append((value, r, c, region))
    found.sort(key=lambda item: -item[0])
    out: list[Hotspot] = []
    for value, r, c, region in found[:k]:
        rr, cc = np.nonzero(region)
        x1, y1, _, _ = window.cell_box(int(rr.min()), int(cc.min()))
        _, _, x2, y2 = window.cell_box(int(rr.max()), int(cc.max()))
        bx1, by1, bx2, by2 = window.cell_box(r, c)
        out.append(Hotspot(len(out) + 1, ((bx1 + bx2) / 2, (by1 + by2) / 2), (x1, y1, x2, y2),
                           value, value / total, int(region.sum())))
    return out


def zone_dwell(window: HeatWindow, zones: Sequence[ZoneConfig]) -> list[ZoneDwell]:
    """Person-seconds per zone (cells weighted by the share of their area inside the polygon)."""
    w, h = window.frame_size
    gh, gw = window.grid.shape
    total = window.total
    out = []
    for z in zones:
        mask = zone_mask(z.polygon(width=w, height=h), width=w, height=h).astype(np.float32)
        cover = cv2.resize(mask, (gw, gh), interpolation=cv2.INTER_AREA).astype(np.float64)
        ps = float((window.grid * cover).sum())
        out.append(ZoneDwell(z.name, ps, ps / total if total > 0 else 0.0,
                             ps / window.seconds if window.seconds > 0 else 0.0))
    return out
