"""Keypoint R-CNN backend without downloads: construction, checkpoints by path, batching, mapping.

The COCO weights cannot be downloaded here, so the model is built untrained
(``weights=None, weights_backbone=None``) with a fixed seed and saved as a checkpoint, which the
stage then loads by path through the model registry. Accuracy is not measurable this way.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from pose_helpers import frame_of

from streamcv.errors import StageError, WeightsNotFoundError
from streamcv.features.pose.keypoint_rcnn import build_keypointrcnn, people_from_torchvision
from streamcv.features.pose.output import PoseOutput
from streamcv.stages import build_stage
from streamcv.types import FrameResult


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = build_keypointrcnn()
    path = tmp_path_factory.mktemp("krcnn") / "keypointrcnn_seed0.pth"
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def images() -> tuple[np.ndarray, np.ndarray]:
    """A smooth picture and the same picture at twice the size."""
    rng = np.random.default_rng(0)
    a = cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), np.uint8), (0, 0), 6)
    a = cv2.normalize(a, None, 0, 255, cv2.NORM_MINMAX)
    return a, cv2.resize(a, (640, 480), interpolation=cv2.INTER_LINEAR)


@pytest.mark.parametrize(("labels", "scores", "min_score", "kept"), [
    ([1, 1, 1], [0.9, 0.6, 0.2], 0.5, [0, 1]),
    ([1, 2, 1], [0.9, 0.9, 0.9], 0.0, [0, 2]),  # label 2 is not a person
    ([], [], 0.0, []),
])
def test_adapter_keeps_people_and_squashes_scores(
    labels: list[int], scores: list[float], min_score: float, kept: list[int]
) -> None:
    n = len(labels)
    kp = torch.arange(n * 17 * 3, dtype=torch.float32).reshape(n, 17, 3)
    logits = torch.linspace(-3, 3, n * 17).reshape(n, 17)
    out = {"boxes": torch.arange(n * 4, dtype=torch.float32).reshape(n, 4),
           "scores": torch.tensor(scores), "labels": torch.tensor(labels, dtype=torch.int64),
           "keypoints": kp, "keypoints_scores": logits}
    people = people_from_torchvision(out, min_score=min_score)
    assert len(people) == len(kept) and people.labels == ("person",)
    np.testing.assert_array_equal(people.xyxy, out["boxes"][kept].numpy())
    got = people.data["keypoints"]
    np.testing.assert_array_equal(got[..., :2], kp[kept][..., :2].numpy())
    np.testing.assert_allclose(got[..., 2], torch.sigmoid(logits[kept]).numpy(), rtol=1e-6)


def test_checkpoint_loads_by_path_and_maps_to_source_pixels(
    checkpoint: Path, images: tuple[np.ndarray, np.ndarray]
) -> None:
    stage = build_stage({"type": "pose", "backend": "keypointrcnn", "weights": str(checkpoint),
                         "min_size": 192, "max_people": 4, "min_person_score": 0.0})
    stage.setup("cpu")
    saved = torch.load(checkpoint, weights_only=True)
    loaded = stage._net.model.state_dict()
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)

    small, big = images
    batch = [FrameResult(frame_of(small, source="a")), FrameResult(frame_of(big, source="b"))]
    outs = stage.process(batch)
    assert all(isinstance(o, PoseOutput) for o in outs)
    a, b = outs[0].detections, outs[1].detections
    assert len(a) == len(b) == 4
    # the same picture at twice the size: the same people at twice the coordinates
    for i in range(len(a)):  # untrained boxes can be slivers: compare corners, not IoU
        gap = np.abs(a.xyxy[i] * 2 - b.xyxy).max(axis=1)
        j = int(np.argmin(gap))
        assert gap[j] <= 5.0
    for dets, img in ((a, small), (b, big)):
        assert (dets.xyxy >= 0).all() and (dets.xyxy[:, 2] <= img.shape[1]).all()
        assert (dets.xyxy[:, 3] <= img.shape[0]).all()
        kp = dets.data["keypoints"]
        assert kp.shape == (4, 17, 3) and ((kp[..., 2] > 0) & (kp[..., 2] <= 1)).all()
        # keypoints lie in their own box, in the same (source) pixels; untrained heat maps are
        # too flat for their argmax to be compared between the two sizes
        lo, hi = dets.xyxy[:, None, :2] - 1.5, dets.xyxy[:, None, 2:] + 1.5
        assert ((kp[..., :2] >= lo) & (kp[..., :2] <= hi)).all()

    # batching across sources changes nothing
    alone = stage.process(batch[:1])[0].detections
    np.testing.assert_allclose(alone.xyxy, a.xyxy, atol=1e-3)
    np.testing.assert_allclose(alone.data["keypoints"], a.data["keypoints"], atol=1e-2)
    person = outs[1].to_json()["people"][0]
    assert set(person) >= {"xyxy", "score", "keypoints", "track_id", "posture"}
    assert len(person["keypoints"]) == 17 and all(len(k) == 3 for k in person["keypoints"])


@pytest.mark.parametrize(("content", "error", "message"), [
    (None, WeightsNotFoundError, "not found at"),
    (b"garbage", StageError, "not a torch checkpoint"),
    ({"conv.weight": torch.zeros(3)}, StageError, "not a keypointrcnn_resnet50_fpn"),
    ([1, 2, 3], StageError, "expected a state dict"),
])
def test_bad_checkpoints(tmp_path: Path, content: object, error: type[Exception],
                         message: str) -> None:
    path = tmp_path / "weights.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    stage = build_stage({"type": "pose", "backend": "keypointrcnn", "weights": str(path)})
    with pytest.raises(error, match=message):
        stage.setup("cpu")
