"""``interval_s``: the faces stage analyses a camera at most once per interval (video only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from facekit import paste, read_rgb, still_frame, video_frame

from streamcv.types import FrameResult


@pytest.fixture(scope="module")
def face_image(faces_dir: Path) -> np.ndarray:
    return paste(np.full((240, 320, 3), 120, np.uint8),
                 read_rgb(next((faces_dir / "images").glob("38_0_0_*.jpg"))), 90, 40, 140)


def test_interval_skips_frames_between_analyses(make_stage: Any, face_image: np.ndarray
                                                ) -> None:
    stage = make_stage(interval_s=0.25, age_gender=False, landmarks="detector")
    frames = [FrameResult(video_frame(face_image, index=i, fps=10.0)) for i in range(10)]
    outs = stage.process(frames[:4]) + stage.process(frames[4:])  # state spans batches
    ran = [not o.skipped for o in outs]
    assert ran == [True, False, False, True, False, False, True, False, False, True]
    assert all(o.metrics["detected"] == 1 for o, go in zip(outs, ran, strict=True) if go)
    assert all(o.to_json() == {"faces": [], "skipped": True} for o in outs[1:3])
    # two cameras keep their own clocks; a restarted source starts again
    other = [FrameResult(video_frame(face_image, index=i, source="b")) for i in range(2)]
    assert [o.skipped for o in stage.process(other)] == [False, True]
    assert not stage.process([frames[0]])[0].skipped


def test_interval_does_not_apply_to_stills(make_stage: Any, face_image: np.ndarray) -> None:
    stage = make_stage(interval_s=10.0, age_gender=False, landmarks="detector")
    outs = stage.process([FrameResult(still_frame(face_image, index=i)) for i in range(3)])
    assert [o.skipped for o in outs] == [False, False, False]


def test_interval_zero_analyses_every_frame(make_stage: Any, face_image: np.ndarray) -> None:
    stage = make_stage(age_gender=False, landmarks="detector")
    outs = stage.process([FrameResult(video_frame(face_image, index=i)) for i in range(3)])
    assert [o.skipped for o in outs] == [False, False, False]
