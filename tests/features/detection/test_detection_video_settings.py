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
from streamcv.errors import ConfigError, StageError
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
    assert det.video.pass_score_threshold == 0.01


def test_every_pass_of_a_stage_runs_on_one_session(yolox: Path, image: np.ndarray) -> None:
    from streamcv.features.detection.detectors.yolox import YoloxOnnxDetector

    stage = build_stage({"type": "detect", "weights": str(yolox), "scales": [[416, 256],
                         [640, 384]], "flip": True, "video": {"scales": [[512, 288]],
                                                              "fuse_iou": 0.6}})
    stage.setup("cpu")
    options = stage.detector.options
    try:
        members = stage.detector.members + stage.video_detector.members
        assert [m.size for m in members] == [(416, 256), (640, 384), (512, 288)]
        assert len({id(m._session) for m in members}) == 1
        assert stage.video_detector.iou == 0.6 and stage.detector.iou == 0.55
        # a size the shared session was not built for still runs (the graph is dynamic)
        video = Frame.create("cam", 0, image, pts=0, time_base=Fraction(1, 25),
                             wallclock=datetime(2026, 1, 1, tzinfo=UTC))
        out = stage.process([FrameResult(video)])[0]
        assert out.detections is not None and len(out.detections) > 0
    finally:
        stage.close()
    entry = stage.entry
    fixed = YoloxOnnxDetector(entry, yolox, options)  # the export size: a fixed graph
    assert not fixed.dynamic
    with pytest.raises(StageError, match="share only a dynamic"):
        YoloxOnnxDetector(entry, yolox, fixed.options, share=fixed)


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
