"""Batched YOLOX inference (several cameras' frames in one ONNX Runtime call) gives the boxes of
one call per frame: table-driven over batch sizes and mixed frame sizes, with real frames.

Throughput of batched against per-frame calls: ``bench/bench_batching.py``.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from media import shared_data
from test_detectors import frame

from streamcv.errors import ConfigError
from streamcv.features.detection.detectors.base import DetectorOptions
from streamcv.features.detection.detectors.yolox import YoloxOnnxDetector
from streamcv.models import get_model, resolve_weights
from streamcv.stages import build_stage
from streamcv.types import Detections

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

#: (width, height) of each camera's frames: 1080p, 720p, PETS-like 4:3, a portrait phone
SIZES = {"1080p": (1920, 1080), "720p": (1280, 720), "4:3": (480, 360), "portrait": (360, 640)}


def _frames(sizes: list[str]) -> list[np.ndarray]:
    """Real CCTV frames (different images) resized to the cameras' sizes."""
    paths = sorted((shared_data() / "persons" / "cctv" / "images").glob("*.jpg"))
    out = []
    for i, name in enumerate(sizes):
        img = cv2.cvtColor(cv2.imread(str(paths[(7 * i) % len(paths)])), cv2.COLOR_BGR2RGB)
        out.append(np.ascontiguousarray(cv2.resize(img, SIZES[name],
                                                   interpolation=cv2.INTER_AREA)))
    return out


def _same(a: Detections, b: Detections) -> None:
    assert len(a) == len(b)
    np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.05)
    np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-4)
    np.testing.assert_array_equal(a.class_id, b.class_id)


CASES = [
    (1, ["1080p"]),
    (2, ["1080p", "1080p"]),
    (4, ["1080p", "720p", "4:3", "portrait"]),
    (8, ["1080p", "720p", "4:3", "portrait", "720p", "4:3", "1080p", "portrait"]),
    (3, ["4:3", "1080p", "720p", "portrait", "4:3"]),  # 5 frames: batches of 3 then 2
]


@pytest.mark.parametrize(("batch", "cameras"), CASES)
@pytest.mark.parametrize("size", [(416, 416), (640, 384)])
def test_batched_call_gives_the_per_frame_boxes(batch: int, cameras: list[str],
                                                size: tuple[int, int]) -> None:
    entry, weights = get_model("yolox_nano"), resolve_weights("yolox_nano")
    opts = DetectorOptions(score_threshold=0.05, classes=(0,), nms_iou=0.65)
    images = _frames(cameras)
    single = YoloxOnnxDetector(entry, weights, opts, input_size=size)  # the published graph
    batched = YoloxOnnxDetector(entry, weights, opts, input_size=size, max_batch=batch)
    assert single.max_batch == 1 and batched.max_batch == batch
    assert batched.dynamic == (batch > 1 or size != (416, 416))  # the export fixes batch 1
    calls = []
    forward = batched._forward
    batched._forward = lambda blob: calls.append(len(blob)) or forward(blob)  # type: ignore[method-assign]
    together = batched.detect(images)
    assert calls == [min(batch, len(images) - i) for i in range(0, len(images), batch)]
    for img, got in zip(images, together, strict=True):
        _same(single.detect([img])[0], got)
    assert sum(len(d) for d in together) > 0


def test_stage_batch_runs_several_cameras_in_one_call() -> None:
    images = _frames(["1080p", "720p", "4:3", "portrait"])
    batch = [frame(img, 3, source=f"cam{i}") for i, img in enumerate(images)]
    per_frame = build_stage({"type": "detect", "score_threshold": 0.1})
    together = build_stage({"type": "detect", "score_threshold": 0.1, "batch": 4})
    per_frame.setup("cpu")
    together.setup("cpu")
    assert together.detector.max_batch == 4 and per_frame.detector.max_batch == 1
    for a, b in zip(per_frame.process(batch), together.process(batch), strict=True):
        assert a.metrics == b.metrics
        assert a.detections is not None and b.detections is not None
        _same(a.detections, b.detections)


def test_batch_needs_yolox() -> None:
    with pytest.raises(ConfigError, match="batch"):
        build_stage({"type": "detect", "model": "hog_people", "batch": 4})
