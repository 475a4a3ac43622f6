"""A detect stage's ``video:`` settings: video frames (with pts) go through them, still images
keep the stage's (real YOLOX on a real 1080p CCTV frame), and bad combinations are refused."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from media import shared_data

from streamcv.config.models import load_pipeline
from streamcv.errors import ConfigError
from streamcv.stages import build_stage
from streamcv.types import Frame, FrameResult


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    import cv2

    path = shared_data() / "persons" / "cctv" / "images" / "cctv_valid_3-24.jpg"
    return np.ascontiguousarray(np.asarray(cv2.imread(str(path)))[:, :, ::-1])


@pytest.fixture(scope="module")
def yolox() -> Path:
    pytest.importorskip("onnxruntime")
    path: Path = shared_data() / "models" / "yolox_nano_416x416.onnx"
    return path


def _boxes(cfg: dict[str, object], frame: Frame) -> np.ndarray:
    stage = build_stage(cfg)
    stage.setup("cpu")
    try:
        out = stage.process([FrameResult(frame)])[0]
    finally:
        stage.close()
    assert out.detections is not None
    return np.round(out.detections.xyxy, 2)


def test_video_frames_use_the_video_settings_and_stills_the_stage_s(
        yolox: Path, image: np.ndarray) -> None:
    base = {"type": "detect", "weights": str(yolox), "score_threshold": 0.2}
    cfg = {**base, "scales": [[416, 256], [640, 384]], "flip": True,
           "video": {"scales": [], "input_size": [416, 256], "flip": False}}
    video = Frame.create("cam", 0, image, pts=0, time_base=Fraction(1, 25),
                         wallclock=datetime(2026, 1, 1, tzinfo=UTC))
    still = Frame("img", 0, None, Fraction(1, 1), 0.0, datetime(2026, 1, 1, tzinfo=UTC), image)
    one_pass = _boxes({**base, "input_size": [416, 256]}, video)
    fused = _boxes({**base, "scales": [[416, 256], [640, 384]], "flip": True}, still)
    assert len(one_pass) >= 3 and not np.array_equal(one_pass, fused)  # they differ here
    np.testing.assert_array_equal(_boxes(cfg, video), one_pass)
    np.testing.assert_array_equal(_boxes(cfg, still), fused)


def test_the_people_preset_runs_two_sizes_on_video() -> None:
    det = next(s for s in load_pipeline("people").stages if s.type == "detect")
    assert len(det.scales) == 10 and det.flip  # stills: the accuracy setting
    assert det.video is not None and det.video.scales == [(640, 384), (896, 512)]
    assert det.video.flip is False


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"regions": {}, "video": {"flip": False}}, "cannot be combined with regions or tiles"),
        ({"tiles": [2, 1], "video": {"flip": False}}, "cannot be combined with regions or tiles"),
        ({"model": "hog_people", "video": {"scales": [[640, 384]]}}, "need a YOLOX model"),
    ],
)
def test_bad_video_settings_are_refused(extra: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_stage({"type": "detect", **extra})
