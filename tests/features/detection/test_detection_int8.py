"""int8 YOLOX-nano: ``streamcv models quantize`` on real frames, then the detect stage runs it.

Calibrates on 8 frames of the PETS clip (not the CCTV frames it is checked on) in a temporary
``STREAMCV_HOME``, then compares the int8 model's boxes with the fp32 model's on 3 labelled
CCTV frames through the real detect stage. AP on all 70 frames and speed: ``bench/bench_int8.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import shared_data
from test_detectors import frame

from streamcv.boxes import iou_matrix
from streamcv.cli import main
from streamcv.errors import WeightsNotFoundError
from streamcv.models import get_model, resolve_weights
from streamcv.stages import build_stage
from streamcv.types import Detections

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

CCTV = ["cctv_valid_3-24.jpg", "cctv_train_1-10.jpg", "cctv_train_1-36.jpg"]


@pytest.fixture(scope="module")
def int8_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("streamcv_home")
    mp = pytest.MonkeyPatch()
    mp.setenv("STREAMCV_HOME", str(home))
    video = shared_data() / "videos" / "pets09_s2l1_view001_vtest_480x360.mp4"
    assert main(["models", "quantize", "yolox_nano", "--calibration", str(video),
                 "--frames", "8", "--input-size", "640", "384"]) == 0
    yield home
    mp.undo()


def _images() -> list[np.ndarray]:
    folder = shared_data() / "persons" / "cctv" / "images"
    return [cv2.cvtColor(cv2.imread(str(folder / n)), cv2.COLOR_BGR2RGB) for n in CCTV]


def _detect(model: str, images: list[np.ndarray]) -> list[Detections]:
    stage = build_stage({"type": "detect", "model": model, "input_size": [640, 384],
                         "score_threshold": 0.3})
    stage.setup("cpu")
    try:
        return [stage.process([frame(img, i)])[0].detections for i, img in enumerate(images)]
    finally:
        stage.close()


def test_quantize_writes_the_int8_entry_into_the_store(int8_home: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = resolve_weights("yolox_nano_int8", download=False)
    assert path == int8_home / "models" / "yolox_nano_int8.onnx"
    assert get_model("yolox_nano_int8").url is None
    import onnx

    model = onnx.load(str(path))
    ops = {n.op_type for n in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    # per-channel weights (an axis on the weights' DequantizeLinear) and a dynamic input
    assert any(a.name == "axis" for n in model.graph.node if n.op_type == "DequantizeLinear"
               for a in n.attribute)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ["batch", "", "height", "width"]
    # how it was made travels with the file
    meta = json.loads({p.key: p.value for p in model.metadata_props}["streamcv.quantize"])
    assert meta["calibration_input_size"] == [640, 384] and meta["calibration_frames"] == 8
    assert meta["min_db"] == 25.0


def test_int8_finds_the_people_fp32_finds(int8_home: Path) -> None:
    images = _images()
    fp32 = _detect("yolox_nano", images)
    int8 = _detect("yolox_nano_int8", images)
    for a, b in zip(fp32, int8, strict=True):
        confident = a[a.confidence >= 0.5]
        assert len(confident) >= 3  # crowded CCTV frames: there is something to compare
        # every confident fp32 person has an int8 box on it, and the counts are close
        iou = iou_matrix(confident.xyxy, b.xyxy)
        assert (iou.max(1) >= 0.7).mean() >= 0.9, iou.max(1)
        assert abs(len(a) - len(b)) <= max(2, len(a) // 5), (len(a), len(b))


def test_int8_runs_at_other_input_sizes_and_batched(int8_home: Path) -> None:
    """The int8 graph survives the detector's shape rewrite (any multiple of 32, batch > 1)."""
    from streamcv.features.detection.detectors.base import DetectorOptions
    from streamcv.features.detection.detectors.yolox import YoloxOnnxDetector

    images = _images()[:2]
    entry = get_model("yolox_nano_int8")
    path = resolve_weights("yolox_nano_int8")
    for size in [(416, 416), (512, 288)]:
        det = YoloxOnnxDetector(entry, path, DetectorOptions(classes=(0,)), input_size=size,
                                dynamic=True, max_batch=2)
        one = [det.detect([img])[0] for img in images]
        two = det.detect(images)
        for a, b in zip(one, two, strict=True):
            assert len(a) == len(b) and len(a) > 0
            np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.5)


def test_missing_int8_model_says_how_to_make_it(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMCV_HOME", str(tmp_path))
    stage = build_stage({"type": "detect", "model": "yolox_nano_int8"})
    with pytest.raises(WeightsNotFoundError, match="streamcv models quantize yolox_nano"):
        stage.setup("cpu")


def test_quantize_refuses_what_it_cannot_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("STREAMCV_HOME", str(tmp_path))
    video = str(shared_data() / "videos" / "pets09_s2l1_view001_vtest_480x360.mp4")
    assert main(["models", "quantize", "hog_people", "--calibration", video]) != 0
    assert "only YOLOX models" in capsys.readouterr().err
    assert main(["models", "quantize", "yolox_nano", "--calibration",
                 str(tmp_path / "nothing.mp4")]) != 0
    assert "calibration source" in capsys.readouterr().err
    assert main(["models", "quantize", "yolox_nano", "--calibration", video,
                 "--input-size", "640", "360"]) != 0
    assert "multiple of 32" in capsys.readouterr().err
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_calibration_input_is_the_detectors_letterbox() -> None:
    from streamcv.features.detection.detectors.yolox import letterbox
    from streamcv.models.quantize import yolox_input

    img = _images()[0]
    for size in [(416, 416), (640, 384)]:
        blob, _ = letterbox(img, size)
        np.testing.assert_array_equal(yolox_input(img, size).astype(np.float32), blob)
