"""Polygon zones and lines in source pixels or normalised coordinates, shared by every stage.

A zone config is ``{name: str, points: [[x, y], ...], normalized: bool}``; normalised points are
fractions of the frame width/height (0-1), so one config fits every resolution of a camera.
Every stage takes its zones as a :data:`ZoneList` (and counting lines as a :data:`LineList`):
names unique within the list and at most :data:`MAX_NAME_LENGTH` characters, at most
:data:`MAX_ZONES` entries.

Example:
    >>> z = ZoneConfig(name="door", points=[[0, 0], [0.5, 0], [0.5, 1], [0, 1]], normalized=True)
    >>> poly = z.polygon(width=200, height=100)
    >>> bool(contains(poly, [[10, 50], [150, 50]])[0]), bool(contains(poly, [[150, 50]])[0])
    (True, False)
    >>> from pydantic import TypeAdapter
    >>> try:
    ...     TypeAdapter(ZoneList).validate_python([z, z])
    ... except ValueError as exc:
    ...     print(exc.errors()[0]["msg"])
    Value error, zone names must be unique; repeated: door
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Protocol, TypeVar

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from streamcv.strict import StrictModel

__all__ = ["ZoneConfig", "LineConfig", "ZoneList", "LineList", "check_unique_names",
           "MAX_NAME_LENGTH", "MAX_ZONES", "contains", "zone_mask"]

#: Longest zone or line name: the metric names built from one (the longest is the pose stage's
#: ``zone.<name>.standing``) stay within the 64 characters the results store keeps.
MAX_NAME_LENGTH = 48
#: Most zones (or lines) in one list.
MAX_ZONES = 100


class ZoneConfig(StrictModel):
    name: str = Field(..., min_length=1, max_length=MAX_NAME_LENGTH,
                      description="Zone name stored with results.")
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
    name: str = Field(..., min_length=1, max_length=MAX_NAME_LENGTH)
    start: tuple[float, float]
    end: tuple[float, float]
    normalized: bool = False

    def endpoints(self, *, width: int, height: int) -> npt.NDArray[np.float32]:
        pts = np.asarray([self.start, self.end], np.float32)
        if self.normalized:
            pts = pts * np.array([width, height], np.float32)
        return pts


class _Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


def check_unique_names(items: list[N], *, what: str = "zone", field: str | None = None) -> list[N]:
    """``items`` if their names are unique, else a ``ValueError`` naming the first repeat.

    With ``field`` (the list's key) the message starts with the repeat's path,
    ``zones.1.name: ...``, which the config loader turns into that item's YAML line.

    Example:
        >>> z = ZoneConfig(name="door", points=[[0, 0], [1, 0], [1, 1]])
        >>> check_unique_names([z, z], field="zones")
        Traceback (most recent call last):
        ...
        ValueError: zones.1.name: zone names must be unique; repeated: door
    """
    names = [item.name for item in items]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        where = next(i for i, n in enumerate(names) if n in names[:i])
        path = f"{field}.{where}.name: " if field else ""
        raise ValueError(f"{path}{what} names must be unique; repeated: {', '.join(dup)}")
    return items


def _unique_zones(zones: list[ZoneConfig], info: ValidationInfo) -> list[ZoneConfig]:
    return check_unique_names(zones, what="zone", field=info.field_name)


def _unique_lines(lines: list[LineConfig], info: ValidationInfo) -> list[LineConfig]:
    return check_unique_names(lines, what="line", field=info.field_name)


#: The zones of a stage config: unique names, at most :data:`MAX_ZONES` (see the module example).
ZoneList = Annotated[list[ZoneConfig], Field(max_length=MAX_ZONES), AfterValidator(_unique_zones)]
#: The counting lines of a stage config: unique names, at most :data:`MAX_ZONES`.
LineList = Annotated[list[LineConfig], Field(max_length=MAX_ZONES), AfterValidator(_unique_lines)]


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


def zone_mask(polygon: npt.NDArray[np.float32], *, width: int, height: int
              ) -> npt.NDArray[np.bool_]:
    """Boolean H x W mask of the polygon (cached per polygon and size; read-only)."""
    return _mask(np.ascontiguousarray(polygon, np.float32).tobytes(), width, height)
