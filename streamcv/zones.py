"""Polygon zones and lines in source pixels or normalised coordinates, shared by every stage.

A zone config is ``{name: str, points: [[x, y], ...], normalized: bool}``; normalised points are
fractions of the frame width/height (0-1), so one config fits every resolution of a camera.

Example:
    >>> z = ZoneConfig(name="door", points=[[0, 0], [0.5, 0], [0.5, 1], [0, 1]], normalized=True)
    >>> poly = z.polygon(width=200, height=100)
    >>> bool(contains(poly, [[10, 50], [150, 50]])[0]), bool(contains(poly, [[150, 50]])[0])
    (True, False)
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import Field, field_validator

from streamcv.config.base import StrictModel

__all__ = ["ZoneConfig", "LineConfig", "contains", "zone_mask"]


class ZoneConfig(StrictModel):
    name: str = Field(..., min_length=1, description="Zone name stored with results.")
    points: list[tuple[float, float]] = Field(..., min_length=3, description="Polygon vertices.")
    normalized: bool = Field(
        False, description="Points are fractions (0-1) of frame width/height, not pixels."
    )

    @field_validator("points")
    @classmethod
    def verify_points(cls, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if any(x < 0 or y < 0 for x, y in pts):
            raise ValueError("zone points must be non-negative")
        return pts

    def polygon(self, *, width: int, height: int) -> npt.NDArray[np.float32]:
        """Vertices in source pixels for a frame of the given size (N x 2 float32)."""
        pts = np.asarray(self.points, np.float32)
        if self.normalized:
            pts = pts * np.array([width, height], np.float32)
        return pts


class LineConfig(StrictModel):
    name: str = Field(..., min_length=1)
    start: tuple[float, float]
    end: tuple[float, float]
    normalized: bool = False

    def endpoints(self, *, width: int, height: int) -> npt.NDArray[np.float32]:
        pts = np.asarray([self.start, self.end], np.float32)
        if self.normalized:
            pts = pts * np.array([width, height], np.float32)
        return pts


def contains(polygon: npt.NDArray[np.float32], points: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Which points (N x 2, pixels) lie inside or on the polygon."""
    pts = np.asarray(points, np.float32).reshape(-1, 2)
    contour = polygon.reshape(-1, 1, 2)
    return np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0
                     for x, y in pts], dtype=bool)


@lru_cache(maxsize=256)
def _mask(key: bytes, width: int, height: int) -> npt.NDArray[np.bool_]:
    poly = np.frombuffer(key, np.float32).reshape(-1, 2)
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    out = mask.astype(bool)
    out.flags.writeable = False
    return out


def zone_mask(polygon: npt.NDArray[np.float32], *, width: int, height: int) -> npt.NDArray[np.bool_]:
    """Boolean H x W mask of the polygon (cached per polygon and size; read-only)."""
    return _mask(np.ascontiguousarray(polygon, np.float32).tobytes(), width, height)
