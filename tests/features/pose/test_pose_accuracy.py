"""Keypoint accuracy on the COCO val2017 images in the shared data (acceptance figures).

Measured (MoveNet SinglePose Lightning int8, crops 1.25x the box, each crop also run mirrored
and averaged), with OpenCV 5.0.0 / 5.1.0:

=====================================  =============  =============  =============
boxes                                   AP             AP75           PCK@0.2
=====================================  =============  =============  =============
ground truth                           0.640 / 0.638  0.911 / 0.780  0.895 / 0.901
detector (``--pipeline pose``)         0.540 / 0.531  0.451 / 0.611  0.901 / 0.901
=====================================  =============  =============  =============

12 people with keypoints (181 labelled keypoints) in 4 images. The int8 network is chaotic at
this sample size: OpenCV 5.1.0's warpAffine, which differs from 5.0.0's by one grey level in
0.01 % of the crop pixels, moved single-pass keypoints by up to 89 px (ground-truth-box PCK
0.928 -> 0.895). Flipping one grey level in 0.02 % of the crop pixels (11 random trials per
OpenCV version) spread single-pass PCK over 0.851-0.939 and AP over 0.523-0.610; with the mirror
average PCK 0.895-0.934 and AP 0.603-0.654. The bounds below sit under that noise floor, so they
catch broken weights, preprocessing or decoding, not the noise; the detector-box PCK must reach
the issue's goal, 0.85.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from streamcv.cli import main
from streamcv.features.pose.evaluate import (
    evaluate,
    load_coco,
    load_image_json,
    predict_on_gt_boxes,
)


def test_with_ground_truth_boxes(coco_dir: Path, movenet_path: Path) -> None:
    gts = load_coco(coco_dir / "test_coco.json")
    r = evaluate(gts, predict_on_gt_boxes(gts, coco_dir, movenet_path))
    assert (r.people, r.keypoints) == (12, 181)
    assert r.pck >= 0.87, r.to_json()  # measured 0.895-0.901; noise floor 0.895
    assert r.ap >= 0.58, r.to_json()  # measured 0.638-0.640; noise floor 0.603




def test_with_detector_boxes_through_the_cli(
    coco_dir: Path, model_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["image", str(coco_dir), "--pipeline", "pose", "--json", "--no-db"])
    out, err = capsys.readouterr()
    assert code == 0, err
    preds = load_image_json(out.splitlines(), stage="pose")
    gts = load_coco(coco_dir / "test_coco.json")
    assert set(preds) == set(gts)
    r = evaluate(gts, preds)
    assert r.pck >= 0.85, r.to_json()  # goal 0.85; measured 0.901 (163/181)
    assert r.ap >= 0.48, r.to_json()  # measured 0.531-0.540
