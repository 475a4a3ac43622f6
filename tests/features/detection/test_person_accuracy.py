"""Person-detection accuracy regression on the labelled 1080p CCTV frames (real YOLOX-nano).

The full 70-image figures are measured with ``bench/eval_persons.py`` (see the README); this test
runs the ``people`` preset's detector on a fixed subsample (every 5th image, 14 images) and fails
if AP@0.5 drops below what was measured on that subsample minus a small margin.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import pytest
from media import shared_data
from test_detectors import frame

from streamcv.config.models import load_pipeline
from streamcv.features.detection.detectors.base import DetectorOptions
from streamcv.stages import build_stage
from streamcv.types import FrameResult

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from eval_persons import average_precision, evaluate, load_gt  # noqa: E402

#: measured on the 14-image subsample (all 70 images: people 0.805 on stills, 0.782 on video
#: frames (its ``video:`` setting: two sizes, no mirror), single 640x384 0.727)
MEASURED_AP50 = {"people": 0.804, "people_video": 0.768, "single_640": 0.711}
MARGIN = 0.02


def _subsample() -> list[Path]:
    imgs = sorted((shared_data() / "persons" / "cctv" / "images").glob("*.jpg"))
    assert len(imgs) == 70
    return imgs[::5]


def _run(stage_cfg: dict, images: list[Path], weights: Path, *, video: bool) -> list[str]:
    stage = build_stage({**stage_cfg, "weights": str(weights)})
    stage.setup("cpu")
    lines = []
    for i, p in enumerate(images):
        img = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
        f = frame(img, i)
        if not video:  # a still image: no pts
            f = FrameResult(replace(f.frame, pts=None))
        out = stage.process([f])[0]
        lines.append(json.dumps({"path": str(p), "stages": {"detect": out.to_json()}}))
    stage.close()
    return lines


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["people", "people_video", "single_640"])
def test_ap50_does_not_regress(variant: str) -> None:
    pytest.importorskip("onnxruntime")
    data = shared_data()
    weights = data / "models" / "yolox_nano_416x416.onnx"
    cfg = load_pipeline("people").stages[0].model_dump(exclude_none=True)
    cfg["store_all"] = True  # AP needs every box, also those below the count threshold
    if variant == "single_640":
        cfg.update(scales=[], flip=False, input_size=(640, 384), score_threshold=0.03,
                   nms_iou=0.65)
        cfg.pop("video")
    lines = _run(cfg, _subsample(), weights, video=variant != "people")
    res = evaluate(lines, data / "persons" / "cctv" / "boxes.csv")
    print(variant, res)
    assert res["images"] == 14
    assert res["ap50"] >= MEASURED_AP50[variant] - MARGIN, res


def test_ap_metric_golden() -> None:
    import numpy as np
    from eval_persons import Prediction

    gt = {"a": np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)}
    preds = [Prediction("a", (0, 0, 10, 10), 0.9), Prediction("a", (50, 50, 60, 60), 0.8),
             Prediction("a", (20, 20, 30, 31), 0.7)]
    # precision/recall: (1, .5), (.5, .5), (.67, 1) → AP = .5 * 1 + .5 * .667
    assert average_precision(preds, gt) == pytest.approx(0.5 + 0.5 * 2 / 3)
    gt_all = load_gt(shared_data() / "persons" / "cctv" / "boxes.csv")
    assert len(gt_all) == 70 and sum(len(v) for v in gt_all.values()) == 970
    assert DetectorOptions().score_threshold == 0.3
