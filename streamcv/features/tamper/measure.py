"""What the tamper watch measures on one picture: brightness, contrast, sharpness and edges.

Everything is computed on a small grey copy (``width`` pixels wide, 160 by default), so the cost
is a resize and a few 3x3 filters per frame whatever the camera's resolution, and the numbers of
cameras with different resolutions compare:

* ``brightness``: mean grey level (0-255);
* ``contrast``: standard deviation of the grey levels;
* ``sharpness``: variance of the Laplacian (high for crisp edges, near 0 out of focus);
* ``edges``: gradient magnitude smoothed by a Gaussian of about ``width / 80`` pixels, so that
  the edge maps of one view still match when the camera shakes a pixel or two.

Views are compared tile by tile (a :data:`GRID` x :data:`GRID` grid): :func:`tile_structure`
says which tiles of a reference have structure to match (sensor noise on a plain wall has
about 0.13, lane marks, kerbs and furniture 0.5 and more), :func:`tile_correlations` how well
each tile of a picture matches the reference (1: same view, about 0: another view). A passing
lorry changes a few tiles; a camera turned away changes them all.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> scene = rng.integers(0, 255, (24, 32), dtype=np.uint8).repeat(10, 0).repeat(10, 1)
    >>> rgb = np.repeat(scene[:, :, None], 3, axis=2)
    >>> p = measure(rgb, width=160)
    >>> p.edges.shape, p.sharpness > 100
    ((120, 160), True)
    >>> wall = np.full((120, 160, 3), 120, np.uint8)
    >>> [int((tile_structure(m.edges) >= 0.3).sum()) for m in (p, measure(wall))]  # of 36
    [22, 0]
    >>> float(tile_correlations(p.edges, measure(rgb, width=160).edges).min().round(3))
    1.0
    >>> moved = measure(np.roll(rgb, 64, axis=1))  # turned by 20 % of the width
    >>> bool((tile_correlations(moved.edges, p.edges) >= 0.5).mean() < 0.3)
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["Picture", "GRID", "measure", "tile_structure", "tile_correlations"]

EdgeMap = npt.NDArray[np.float32]
#: Views are compared on a GRID x GRID grid of tiles.
GRID = 6


@dataclass(frozen=True, eq=False)
class Picture:
    """The numbers of one picture (see the module docstring)."""

    brightness: float
    contrast: float
    sharpness: float
    edges: EdgeMap

    def values(self) -> dict[str, float]:
        """``brightness``, ``contrast`` and ``sharpness``, rounded for storage."""
        return {"brightness": round(self.brightness, 3), "contrast": round(self.contrast, 3),
                "sharpness": round(self.sharpness, 3)}


def _grey(rgb: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.uint8]:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    if w > width:
        grey = cv2.resize(grey, (width, max(1, round(h * width / w))),
                          interpolation=cv2.INTER_AREA)
    return np.asarray(grey, np.uint8)


def measure(rgb: npt.NDArray[np.uint8], *, width: int = 160) -> Picture:
    """Measure an RGB picture on a grey copy at most ``width`` pixels wide."""
    grey = _grey(rgb, width)
    mean, std = cv2.meanStdDev(grey)
    lap = cv2.Laplacian(grey, cv2.CV_32F)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    sigma = max(1.0, grey.shape[1] / 80)
    edges = cv2.GaussianBlur(cv2.magnitude(gx, gy), (0, 0), sigma)
    return Picture(float(mean[0, 0]), float(std[0, 0]), float(lap.var()),
                   np.asarray(edges, np.float32))


def _tiles(edges: EdgeMap) -> npt.NDArray[np.float64]:
    """The edge map cut into GRID x GRID tiles: shape (GRID * GRID, pixels per tile)."""
    h, w = edges.shape
    th, tw = max(1, h // GRID), max(1, w // GRID)
    if h < GRID or w < GRID:  # a tiny picture: resize so that every tile has a pixel
        edges = np.asarray(cv2.resize(edges, (GRID, GRID), interpolation=cv2.INTER_AREA))
        th = tw = 1
    y0, x0 = (edges.shape[0] - th * GRID) // 2, (edges.shape[1] - tw * GRID) // 2
    cut = edges[y0:y0 + th * GRID, x0:x0 + tw * GRID].astype(np.float64)
    return cut.reshape(GRID, th, GRID, tw).transpose(0, 2, 1, 3).reshape(GRID * GRID, th * tw)


def tile_structure(edges: EdgeMap) -> npt.NDArray[np.float64]:
    """Per tile, how much the edge strength varies (its coefficient of variation)."""
    t = _tiles(edges)
    mean = t.mean(axis=1)
    return np.where(mean > 1e-9, t.std(axis=1) / np.maximum(mean, 1e-9), 0.0)


def tile_correlations(edges: EdgeMap, reference: EdgeMap) -> npt.NDArray[np.float64]:
    """Per tile, the correlation (-1..1; 0 where either is flat) of two edge maps. ``edges``
    is resized to the reference's shape when they differ (the camera changed resolution)."""
    if edges.shape != reference.shape:
        edges = np.asarray(cv2.resize(edges, (reference.shape[1], reference.shape[0]),
                                      interpolation=cv2.INTER_AREA), np.float32)
    a, b = _tiles(edges), _tiles(reference)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.where(den > 1e-9, (a * b).sum(axis=1) / np.maximum(den, 1e-9), 0.0)
