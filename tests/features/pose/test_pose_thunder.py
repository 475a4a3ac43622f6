"""MoveNet SinglePose Thunder (tfjs graph run in torch) as the movenet backend's second model.

Measured on the shared COCO sample (12 people, 181 keypoints, 4 images; crops 1.25x the box,
mirror-averaged), ``bench/eval_pose.py``:

=====================================  =====================  =====================
boxes                                   Lightning AP / PCK     Thunder AP / PCK
=====================================  =====================  =====================
ground truth                           0.638 / 0.901          0.790 / 0.917
detector (``--pipeline pose``)         0.531 / 0.901          0.742 / 0.906
=====================================  =====================  =====================

On the three images without the hard crowd (000000197388.jpg), ground-truth boxes: Thunder AP
0.859, PCK 1.000; Lightning 0.723 / 0.981. Thunder runs in float32 torch and is deterministic,
so its bounds sit closer to the measurement than Lightning's.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from pose_helpers import check_tfjs_entry, frame_of, read_rgb, with_boxes
from pydantic import ValidationError

from streamcv.cli import main
from streamcv.config.models import load_pipeline
from streamcv.features.pose.evaluate import (
    evaluate,
    load_coco,
    load_image_json,
    predict_on_gt_boxes,
)
from streamcv.features.pose.movenet import MoveNetTopDown
from streamcv.features.pose.stage import THUNDER, PoseStage
from streamcv.stages import build_stage
from streamcv.types import FrameResult

EASY = ("000000000785.jpg", "000000040083.jpg", "000000196141.jpg")
LIGHTNING = "movenet_singlepose_lightning_int8"


@pytest.mark.parametrize(("name", "suffix"), [("movenet_thunder", ".json"),
                                              ("movenet_thunder_weights", ".bin")])
def test_entries_match_the_shared_files(name: str, suffix: str, thunder_json: Path) -> None:
    e = check_tfjs_entry(name, thunder_json.with_suffix(suffix))
    if suffix == ".json":
        assert e.input_size == (256, 256)


def test_thunder_on_ground_truth_boxes(coco_dir: Path, thunder_json: Path) -> None:
    gts = {k: v for k, v in load_coco(coco_dir / "test_coco.json").items() if k in EASY}
    assert MoveNetTopDown(thunder_json).size == 256
    r = evaluate(gts, predict_on_gt_boxes(gts, coco_dir, thunder_json))
    assert (r.people, r.keypoints) == (7, 105)
    assert r.pck >= 0.97, r.to_json()  # measured 1.000 (Lightning 0.981)
    assert r.ap >= 0.80, r.to_json()  # measured 0.859 (Lightning 0.723)


def test_auto_takes_thunder_when_installed(thunder_store: Path) -> None:
    stage = build_stage({"type": "pose", "model": "auto"})
    assert isinstance(stage, PoseStage) and stage.resolve_model() == THUNDER


def test_auto_falls_back_to_lightning_with_a_warning(
        model_store: Path, caplog: pytest.LogCaptureFixture) -> None:
    stage = build_stage({"type": "pose", "model": "auto"})
    assert isinstance(stage, PoseStage)
    with caplog.at_level(logging.WARNING):
        assert stage.resolve_model() == LIGHTNING
    assert "movenet_thunder" in caplog.text


def test_explicit_thunder_without_its_bin_fails_naming_it(model_store: Path,
                                                          thunder_json: Path) -> None:
    (model_store / thunder_json.name).symlink_to(thunder_json)
    stage = build_stage({"type": "pose", "model": THUNDER})
    assert isinstance(stage, PoseStage) and stage.resolve_model() == THUNDER
    with pytest.raises(FileNotFoundError, match="movenet_thunder_weights"):
        stage.setup("cpu")


def test_models_import_thunder_json_takes_the_bin_beside_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, thunder_json: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("STREAMCV_HOME", str(tmp_path / "home"))
    src = tmp_path / "dl"
    src.mkdir()
    shutil.copyfile(thunder_json, src / thunder_json.name)
    assert main(["models", "import", str(src / thunder_json.name)]) != 0
    assert "movenet-thunder.bin" in capsys.readouterr().err
    store = tmp_path / "home" / "models"
    assert not (store / "movenet-thunder.json").exists()  # no .bin beside it: nothing imported
    shutil.copyfile(thunder_json.with_suffix(".bin"), src / "movenet-thunder.bin")
    assert main(["models", "import", str(src / thunder_json.name)]) == 0, capsys.readouterr().err
    assert (store / "movenet-thunder.json").is_file() and (store / "movenet-thunder.bin").is_file()
    stage = build_stage({"type": "pose", "model": "auto"})
    assert isinstance(stage, PoseStage) and stage.resolve_model() == THUNDER


def test_pose_preset_with_thunder_installed(
        coco_dir: Path, thunder_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The acceptance path: the ``pose`` preset (``model: auto``) with Thunder in the store, on
    detector boxes; the issue's goal is AP >= 0.65."""
    code = main(["image", str(coco_dir), "--pipeline", "pose", "--json", "--no-db"])
    out, err = capsys.readouterr()
    assert code == 0, err
    gts = load_coco(coco_dir / "test_coco.json")
    r = evaluate(gts, load_image_json(out.splitlines(), stage="pose"))
    assert r.ap >= 0.68, r.to_json()  # goal 0.65; measured 0.742 (Lightning 0.531)
    assert r.pck >= 0.88, r.to_json()  # measured 0.906 (Lightning 0.901)


def test_video_frames_take_the_video_model(coco_dir: Path, thunder_store: Path) -> None:
    """``video_model``: frames with pts go through Lightning, stills through Thunder; each the
    same keypoints as a stage of that model alone."""
    image = read_rgb(coco_dir / EASY[0])
    h, w = image.shape[:2]
    box = np.array([[0.1 * w, 0.05 * h, 0.9 * w, 0.95 * h]], np.float32)
    video = with_boxes(frame_of(image), box)
    still = with_boxes(dataclasses.replace(frame_of(image), pts=None), box)

    def keypoints(cfg: dict[str, object], r: FrameResult) -> np.ndarray:
        stage = build_stage({"type": "pose", "boxes_from": "detect", **cfg})
        stage.setup("cpu")
        try:
            out = stage.process([r])[0]
        finally:
            stage.close()
        assert out.detections is not None and len(out.detections) == 1
        return np.asarray(out.detections.data["keypoints"])

    both = {"model": THUNDER, "video_model": LIGHTNING, "video_flip": False}
    lightning = keypoints({"model": LIGHTNING, "flip": False}, video)
    thunder = keypoints({"model": THUNDER}, still)
    assert not np.allclose(lightning, thunder)
    np.testing.assert_allclose(keypoints(both, video), lightning)
    np.testing.assert_allclose(keypoints(both, still), thunder)
    preset = next(s for s in load_pipeline("pose").stages if s.type == "pose")
    assert (preset.model, preset.video_model) == ("auto", LIGHTNING)


@pytest.mark.parametrize(("cfg", "message"), [
    ({"backend": "keypointrcnn", "video_model": LIGHTNING}, "need backend: movenet"),
    ({"video_flip": False, "model": "movenet_multipose"}, "need backend: movenet"),
    ({"video_model": "movenet_multipose"}, "top-down MoveNet model"),
    ({"video_model": "auto"}, "top-down MoveNet model"),
])
def test_bad_video_model_settings_are_refused(cfg: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_stage({"type": "pose", **cfg})
