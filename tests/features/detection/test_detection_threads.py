"""ONNX Runtime threading of the YOLOX detector (``threads``, ``spin``): the session gets the
settings, and the boxes do not change (real weights, a real 1080p CCTV frame)."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import numpy as np
import pytest
from media import shared_data

from streamcv.stages import build_stage
from streamcv.types import Frame, FrameResult


@pytest.mark.parametrize(
    ("extra", "threads", "spin"),
    [
        ({}, 0, None),                                  # ONNX Runtime's defaults
        ({"threads": 1, "spin": False}, 1, "0"),
        ({"spin": False}, 0, "0"),
    ],
)
def test_session_settings_and_unchanged_boxes(extra: dict[str, object], threads: int,
                                              spin: str | None) -> None:
    pytest.importorskip("onnxruntime")
    import cv2

    weights = shared_data() / "models" / "yolox_nano_416x416.onnx"
    img = cv2.imread(str(shared_data() / "persons" / "cctv" / "images" / "cctv_valid_3-24.jpg"))
    frame = Frame.create("cam", 0, np.ascontiguousarray(img[:, :, ::-1]), pts=0,
                         time_base=Fraction(1, 25), wallclock=datetime(2026, 1, 1, tzinfo=UTC))
    boxes = []
    for cfg in ({}, extra):
        stage = build_stage({"type": "detect", "weights": str(weights),
                             "input_size": [640, 384], **cfg})
        stage.setup("cpu")
        try:
            out = stage.process([FrameResult(frame)])[0]
            so = stage.detector._session.get_session_options()
        finally:
            stage.close()
        assert out.detections is not None
        boxes.append(out.detections.xyxy)
    assert so.intra_op_num_threads == threads
    entries = so.get_session_config_entry if spin is not None else None
    if entries is not None:
        assert entries("session.intra_op.allow_spinning") == spin
    assert len(boxes[0]) >= 3
    np.testing.assert_allclose(boxes[1], boxes[0], atol=1e-3)
