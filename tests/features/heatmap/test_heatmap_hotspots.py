"""Hotspots, zone dwell and the PNG overlay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from streamcv.features.heatmap.grid import HeatWindow
from streamcv.features.heatmap.hotspots import find_hotspots, zone_dwell
from streamcv.features.heatmap.render import render_overlay, write_png
from streamcv.zones import ZoneConfig

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def window(grid: np.ndarray, *, size: tuple[int, int] = (200, 100), seconds: float = 10.0,
           kind: str = "detections", reference: np.ndarray | None = None) -> HeatWindow:
    return HeatWindow("cam", "heatmap", kind, T0, T0 + timedelta(minutes=1), grid, size, 10,
                      seconds, T0, T0, reference)


def blob(shape: tuple[int, int], center: tuple[int, int], mass: float) -> np.ndarray:
    g = np.zeros(shape)
    g[center] = mass
    return cv2.GaussianBlur(g, (0, 0), 0.8, borderType=cv2.BORDER_CONSTANT)


@pytest.mark.parametrize(("blobs", "want"), [
    ([((10, 10), 6.0), ((40, 80), 3.0), ((40, 20), 1.0)],
     [((10, 10), 0.6), ((40, 80), 0.3), ((40, 20), 0.1)]),
    ([((25, 50), 1.0)], [((25, 50), 1.0)]),
    ([((5, 5), 2.0), ((5, 95), 2.0), ((45, 5), 96.0)], [((45, 5), 0.96), ((5, 5), 0.02),
                                                        ((5, 95), 0.02)]),
])
def test_hotspots_rank_regions_by_share(blobs: list, want: list) -> None:  # type: ignore[type-arg]
    grid = sum((blob((50, 100), c, m) for c, m in blobs), np.zeros((50, 100)))
    spots = find_hotspots(window(grid), k=5)
    assert [h.rank for h in spots] == list(range(1, len(want) + 1))
    for h, ((r, c), share) in zip(spots, want, strict=True):
        assert h.share == pytest.approx(share, abs=0.01)
        assert h.center == pytest.approx((c * 2 + 1, r * 2 + 1))  # 2 px cells: cell centre
        x1, y1, x2, y2 = h.box
        assert x1 <= h.center[0] <= x2 and y1 <= h.center[1] <= y2


def test_hotspots_of_empty_or_tiny_regions() -> None:
    assert find_hotspots(window(np.zeros((5, 10)))) == []
    g = np.zeros((50, 100))
    g[10, 10], g[40, 90] = 1000.0, 1.0
    assert len(find_hotspots(window(g), min_share=0.01)) == 1
    assert len(find_hotspots(window(g), k=0)) == 0


def test_zone_dwell() -> None:
    g = np.zeros((50, 100))
    g[:, :50] = 0.01  # left half: 25 person-seconds spread evenly
    g[0, 99] = 5.0
    zones = [ZoneConfig(name="left", points=[(0, 0), (0.5, 0), (0.5, 1), (0, 1)], normalized=True),
             ZoneConfig(name="corner", points=[(190, 0), (200, 0), (200, 10), (190, 10)]),
             ZoneConfig(name="quarter", points=[(0, 0), (50, 0), (50, 100), (0, 100)])]
    d = {z.name: z for z in zone_dwell(window(g, seconds=10.0), zones)}
    assert d["left"].person_seconds == pytest.approx(25.0)
    assert d["left"].share == pytest.approx(25 / 30) and d["left"].mean_people == pytest.approx(2.5)
    assert d["corner"].person_seconds == pytest.approx(5.0)
    assert d["quarter"].person_seconds == pytest.approx(12.75)  # zone_mask includes the edge
    # pixel column (x = 50): 51 of the left half's 100 columns


def test_overlay_png(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ref = np.full((100, 200, 3), 90, np.uint8)
    g = blob((50, 100), (25, 75), 20.0)
    w = window(g, reference=ref)
    spots = find_hotspots(w, k=1)
    img = render_overlay(w, hotspots=spots,
                         zones=[ZoneConfig(name="z", points=[(0, 0), (40, 0), (40, 40)])])
    assert img.shape == (100 + 40, 200 + 90, 3)  # title rows and the colour-scale column
    scene = img[40:, :200].astype(int)
    hot, cold = scene[50, 151], scene[50, 20]
    assert (cold == 90).all() and hot.sum() > 3 * 90 + 100  # heat shows; cold areas show the scene
    bar = img[40 + 24: 140 - 14, 200 + 17]
    assert bar[0].mean() > bar[-1].mean() + 100  # the scale runs from bright (top) to dark
    path = write_png(tmp_path / "sub" / "h.png", img)
    back = cv2.imread(str(path))
    assert back.shape == img.shape
    motion = render_overlay(window(g, kind="motion"))  # no reference: a black scene
    assert motion.shape[0] == 140
