"""MoveNet top-down backend: crop geometry, mapping back to source pixels, the real model."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from media import shared_data
from pose_helpers import read_rgb

from streamcv.errors import StageError
from streamcv.features.pose.evaluate import load_coco
from streamcv.features.pose.movenet import MoveNetTopDown, crop_transforms, map_back


@pytest.fixture(scope="module")
def net(movenet_path: Path) -> MoveNetTopDown:
    return MoveNetTopDown(movenet_path, num_threads=2)


@pytest.mark.parametrize("box", [
    [10, 20, 110, 220],  # tall
    [0, 0, 300, 50],  # wide, at the corner
    [-20, -10, 40, 90],  # partly outside the frame
    [5.5, 7.25, 6.5, 8.75],  # tiny
])
def test_crop_then_map_back_is_identity(box: list[float]) -> None:
    size, scale = 192, 1.25
    origins, sides = crop_transforms([box], size=size, scale=scale)
    (x0, y0), s = origins[0], float(sides[0])
    assert s == pytest.approx(max(box[2] - box[0], box[3] - box[1]) * scale)
    assert (x0 + s / 2, y0 + s / 2) == pytest.approx(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    pts = np.array([[box[0], box[1]], [box[2], box[3]], [(box[0] + box[2]) / 2, box[1]]])
    raw = np.stack([(pts[:, 1] - y0) / s, (pts[:, 0] - x0) / s, np.full(3, 0.5)], axis=1)
    back = map_back(raw, origins[0], s)
    np.testing.assert_allclose(back[:, :2], pts, atol=1e-3)
    assert back[:, 2].tolist() == [0.5] * 3


def test_no_boxes(net: MoveNetTopDown) -> None:
    assert net.predict(np.zeros((64, 64, 3), np.uint8), np.zeros((0, 4))).shape == (0, 17, 3)


def test_single_person_is_accurate(net: MoveNetTopDown, coco_dir: Path) -> None:
    """COCO 000000000785 (one skier, 17 labelled keypoints) from its ground-truth box."""
    gt = load_coco(coco_dir / "test_coco.json")["000000000785.jpg"][0]
    x, y, w, h = gt.bbox
    kp = net.predict(read_rgb(coco_dir / "000000000785.jpg"), [[x, y, x + w, y + h]])[0]
    err = np.hypot(*(kp[:, :2] - gt.keypoints[:, :2]).T)
    assert np.mean(err <= 0.1 * max(w, h)) >= 0.9  # PCK@0.1 (measured: 17/17)
    assert kp[:, 2].min() > 0.2  # mirror-averaged: 0.365 (OpenCV 5.0), 0.348 (5.1)


def test_keypoints_follow_the_person_in_source_pixels(net: MoveNetTopDown, coco_dir: Path
                                                       ) -> None:
    """Shifting the picture shifts the keypoints by exactly as much; scaling scales them."""
    img = read_rgb(coco_dir / "000000000785.jpg")
    gt = load_coco(coco_dir / "test_coco.json")["000000000785.jpg"][0]
    x, y, w, h = gt.bbox
    box = np.array([[x, y, x + w, y + h]])
    base = net.predict(img, box)[0]
    dx, dy = 37, 21
    canvas = np.zeros((img.shape[0] + 100, img.shape[1] + 100, 3), np.uint8)
    canvas[dy:dy + img.shape[0], dx:dx + img.shape[1]] = img
    shifted = net.predict(canvas, box + [dx, dy, dx, dy])[0]
    np.testing.assert_allclose(shifted[:, :2] - base[:, :2], np.broadcast_to([dx, dy], (17, 2)),
                               atol=0.05)
    big = cv2.resize(img, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
    scaled = net.predict(big, box * 2)[0]
    err = np.hypot(*(scaled[:, :2] / 2 - base[:, :2]).T)
    assert np.median(err) < 0.02 * max(w, h)  # measured 3.6 px of a 347 px box


def test_people_are_independent(net: MoveNetTopDown, coco_dir: Path) -> None:
    """Running boxes together or one by one gives the same keypoints."""
    gts = load_coco(coco_dir / "test_coco.json")["000000197388.jpg"]
    img = read_rgb(coco_dir / "000000197388.jpg")
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (g.bbox for g in gts)])
    together = net.predict(img, boxes)
    for i, box in enumerate(boxes):
        np.testing.assert_array_equal(net.predict(img, box[None])[0], together[i])


@pytest.mark.parametrize(("name", "message"), [
    ("not_a_model.tflite", "not a loadable TFLite model"),
    ("light_person_detector_192.tflite", r"expected a \[1, S, S, 3\] input"),
])
def test_bad_model_files(tmp_path: Path, name: str, message: str) -> None:
    path = shared_data() / "models" / name
    if not path.exists():
        path = tmp_path / name
        path.write_bytes(b"this is not a flatbuffer" * 10)
    with pytest.raises(StageError, match=message):
        MoveNetTopDown(path)
