"""On the PETS 2009 walkway clip, the heat map's hotspots lie on the walkway.

The walkway polygon (source pixels of the 480 x 360 clip) was drawn by eye on the first frame:
the paved path entering on the left between y = 118 and 152, crossing to the wide paved area
and the road that leaves at the top right. Grass fills the bottom left, buildings the top.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from media import shared_data

from streamcv.app import replay
from streamcv.config.models import PipelineConfig
from streamcv.features.heatmap.api import render_heatmap
from streamcv.zones import ZoneConfig, contains

CLIP = "videos/pets09_s2l1_view001_vtest_480x360.mp4"
SOURCE = "pets09_s2l1_view001_vtest_480x360"
WALKWAY = ZoneConfig(name="walkway", points=[
    (0, 118), (200, 122), (300, 110), (380, 75), (480, 55), (480, 305), (400, 272),
    (320, 238), (240, 207), (160, 187), (80, 168), (0, 152)])


def _check(report: Any, *, min_share: float) -> None:
    spots = report.hotspots
    assert len(spots) >= 3
    poly = WALKWAY.polygon(width=480, height=360)
    inside = contains(poly, [h.center for h in spots])
    assert inside.all(), [(h.rank, h.center) for h in spots]
    (walk,) = report.zones
    assert walk.share >= min_share, walk


def _run(tmp_path: Path, stages: list[dict[str, Any]], **kw: Any) -> str:
    url = f"sqlite:///{tmp_path}/pets.db"
    job = replay([str(shared_data() / CLIP)], db=url,
                 pipeline=PipelineConfig(name="pets_heat", stages=stages), **kw)
    assert job.summary.frames > 0 and not job.summary.failed
    return url


def test_motion_footprints_put_hotspots_on_the_walkway(tmp_path: Path) -> None:
    url = _run(tmp_path, [
        {"type": "motion"},
        {"type": "heatmap", "input": "detections", "detections_from": "motion",
         "labels": ["motion"], "window": "1min"},
    ])
    report = render_heatmap(SOURCE, tmp_path / "pets.png", db=url, zones=[WALKWAY])
    assert report.windows == 2 and report.window.frames == 795
    assert report.window.seconds == pytest.approx(79.5, abs=0.2)
    _check(report, min_share=0.75)  # measured 0.83 (motion boxes include shadows)
    assert (tmp_path / "pets.png").stat().st_size > 50_000


@pytest.mark.slow
def test_person_detections_put_hotspots_on_the_walkway(tmp_path: Path) -> None:
    weights = shared_data() / "models" / "yolox_nano_416x416.onnx"
    url = _run(tmp_path, [
        {"type": "detect", "model": "yolox_nano", "weights": str(weights), "classes": ["person"],
         "input_size": [512, 384], "score_threshold": 0.3},
        {"type": "track", "detections_from": "detect"},
        {"type": "heatmap", "input": "detections", "detections_from": "track",
         "window": "1min"},
    ], every_n=3)
    report = render_heatmap(SOURCE, tmp_path / "pets.png", db=url, zones=[WALKWAY])
    assert report.window.frames == 265
    assert 3 <= report.window.mean_occupancy <= 9  # about 3-8 pedestrians in view
    _check(report, min_share=0.85)  # measured 0.90 (every frame: 0.896)
