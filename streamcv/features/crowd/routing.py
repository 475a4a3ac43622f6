"""Density routing: count with the person detector where people are large and few, with the
density network where they are small and many.

Two decisions per frame, both from the person detector's boxes:

1. **Before the network** (:func:`frame_is_sparse`): at most ``max_people`` confident boxes,
   most of them at least ``min_height`` of the frame tall, and few small boxes of low score (no
   more than ``max_small`` and no more than the confident ones: a crowd of tiny people shows up
   as many small low-score boxes): the frame is sparse, the count is the detector's and the
   density network does not run at all (route ``detector``).
2. **Per region** (:func:`route_cells`), when the network ran: the frame is cut into a
   ``grid`` x ``grid`` cells. A cell whose confident boxes' feet lie in it, with no small
   boxes, and where the network finds at most ``density_ratio`` times as many people as the
   detector (density networks over-count sparse scenes about 3x), is counted by the detector;
   every other cell by the density map (route ``mixed`` when both kinds of cell count, else
   ``density``).

The routed map (:func:`routed_map`) is what the heat map accumulates: the detector's people
splatted as Gaussians at their feet in detector cells, the network's density elsewhere; it sums
to the count.

Example:
    >>> import numpy as np
    >>> rules = RoutingRules()
    >>> boxes = np.array([[100, 100, 180, 400], [300, 120, 380, 420]], np.float32)
    >>> people = Persons(boxes, np.array([0.9, 0.8], np.float32))
    >>> frame_is_sparse(people, width=640, height=480, rules=rules)
    True
    >>> density, n = routed_map(people, None, np.zeros((2, 2), bool), width=640, height=480)
    >>> n, round(float(density.sum()), 3)
    (2, 2.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

__all__ = ["Route", "RoutingRules", "Persons", "frame_is_sparse", "route_cells", "routed_map",
           "cell_of"]

FloatMap = npt.NDArray[np.float32]
BoolGrid = npt.NDArray[np.bool_]


class Route(StrEnum):
    """Which counter produced a frame's count."""

    DETECTOR = "detector"  # the whole frame by the detector (the network did not run)
    DENSITY = "density"  # the whole frame by the density network
    MIXED = "mixed"  # some regions by each


@dataclass(frozen=True)
class RoutingRules:
    """Thresholds of the routing (fields of the crowd stage's config).

    Attributes:
        min_score: a box at least this confident is a person the detector counts.
        small_score: boxes at least this confident (and under ``min_height``) are evidence of
            small people the detector cannot count.
        min_height: a "large" person is at least this fraction of the frame height tall.
        max_people: a frame with more confident boxes is not sparse.
        max_small: a frame with more small boxes (or more small boxes than confident ones) is
            not sparse; a cell with any small box is counted by the density map.
        grid: cells per side of the per-region routing.
        density_ratio: a cell stays with the detector while the network's count there is at most
            this many times the detector's (plus one).
    """

    min_score: float = 0.15
    small_score: float = 0.05
    min_height: float = 0.12
    max_people: int = 40
    max_small: int = 8
    grid: int = 4
    density_ratio: float = 4.0


@dataclass(frozen=True)
class Persons:
    """Person boxes (x1, y1, x2, y2 in source pixels) and their scores."""

    xyxy: npt.NDArray[np.float32]
    score: npt.NDArray[np.float32]

    @classmethod
    def empty(cls) -> Persons:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))

    def heights(self) -> npt.NDArray[np.float32]:
        return np.asarray(self.xyxy[:, 3] - self.xyxy[:, 1], np.float32)

    def confident(self, rules: RoutingRules) -> npt.NDArray[np.bool_]:
        return np.asarray(self.score >= rules.min_score)

    def small(self, rules: RoutingRules, height: int) -> npt.NDArray[np.bool_]:
        return np.asarray((self.score >= rules.small_score)
                          & (self.heights() < rules.min_height * height))


def frame_is_sparse(people: Persons, *, width: int, height: int, rules: RoutingRules) -> bool:
    """Whether the detector alone counts this frame (the density network is skipped)."""
    conf = people.confident(rules)
    n = int(conf.sum())
    if n > rules.max_people or int(people.small(rules, height).sum()) > min(rules.max_small, n):
        return False
    if n == 0:
        return True
    large = people.heights()[conf] >= rules.min_height * height
    return bool(large.mean() >= 0.5)


def cell_of(x: npt.NDArray[np.floating], y: npt.NDArray[np.floating], *, width: int,
            height: int, grid: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Grid cell (row, column) of points in source pixels."""
    col = np.clip((x / max(width, 1) * grid).astype(np.intp), 0, grid - 1)
    row = np.clip((y / max(height, 1) * grid).astype(np.intp), 0, grid - 1)
    return row, col


def _feet(people: Persons) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.floating]]:
    return (people.xyxy[:, 0] + people.xyxy[:, 2]) / 2, people.xyxy[:, 3]


def route_cells(people: Persons, density: FloatMap, *, rules: RoutingRules) -> BoolGrid:
    """``grid x grid`` booleans: True where the detector counts (``density``: source pixels)."""
    g = rules.grid
    h, w = density.shape
    conf = people.confident(rules)
    det = np.zeros((g, g), np.int64)
    small = np.zeros((g, g), np.int64)
    fx, fy = _feet(people)
    r, c = cell_of(fx, fy, width=w, height=h, grid=g)
    np.add.at(det, (r[conf], c[conf]), 1)
    sm = people.small(rules, h)
    xy = people.xyxy
    cx, cy = (xy[:, 0] + xy[:, 2]) / 2, (xy[:, 1] + xy[:, 3]) / 2
    sr, sc = cell_of(cx, cy, width=w, height=h, grid=g)
    np.add.at(small, (sr[sm], sc[sm]), 1)
    ys = np.linspace(0, h, g + 1).round().astype(int)
    xs = np.linspace(0, w, g + 1).round().astype(int)
    sums = np.array([[density[ys[i]:ys[i + 1], xs[j]:xs[j + 1]].sum(dtype=np.float64)
                      for j in range(g)] for i in range(g)])
    cells: BoolGrid = (det > 0) & (small == 0) & (sums <= rules.density_ratio * det + 1.0)
    return cells


def _splat(out: FloatMap, x: float, y: float, sigma: float) -> None:
    h, w = out.shape
    rad = max(1, int(3 * sigma))
    x0, x1 = max(0, int(x) - rad), min(w, int(x) + rad + 1)
    y0, y1 = max(0, int(y) - rad), min(h, int(y) + rad + 1)
    if x0 >= x1 or y0 >= y1:
        return
    gx = np.exp(-0.5 * ((np.arange(x0, x1) + 0.5 - x) / sigma) ** 2)
    gy = np.exp(-0.5 * ((np.arange(y0, y1) + 0.5 - y) / sigma) ** 2)
    patch = np.outer(gy, gx).astype(np.float32)
    out[y0:y1, x0:x1] += patch / patch.sum()


def routed_map(people: Persons, density: FloatMap | None, cells: BoolGrid, *, width: int,
               height: int, rules: RoutingRules | None = None) -> tuple[FloatMap, int]:
    """Source-pixel map: confident people splatted at their feet in detector cells (all of them
    when ``density`` is ``None``), ``density`` in the other cells; and the number of people the
    detector counted. The map sums to the routed count."""
    rules = rules or RoutingRules()
    out = np.zeros((height, width), np.float32)
    g = cells.shape[0]
    if density is not None:
        ys = np.linspace(0, height, g + 1).round().astype(int)
        xs = np.linspace(0, width, g + 1).round().astype(int)
        for i in range(g):
            for j in range(g):
                if not cells[i, j]:
                    out[ys[i]:ys[i + 1], xs[j]:xs[j + 1]] = \
                        density[ys[i]:ys[i + 1], xs[j]:xs[j + 1]]
    conf = people.confident(rules)
    fx, fy = _feet(people)
    r, c = cell_of(fx, fy, width=width, height=height, grid=g)
    n = 0
    for k in np.flatnonzero(conf):
        if density is None or cells[r[k], c[k]]:
            n += 1
            sigma = max(2.0, 0.1 * float(people.xyxy[k, 3] - people.xyxy[k, 1]))
            _splat(out, float(min(max(fx[k], 0), width - 1)),
                   float(min(max(fy[k], 0), height - 1)), sigma)
    return out, n
