"""MoveNet MultiPose (tfjs graph run in torch) as the bottom-up ``multipose`` backend: no detector.

Measured on the shared COCO sample (12 people, 181 keypoints, 4 images; whole images, no boxes
given), ``bench/eval_pose.py --no-boxes --model movenet_multipose``:

==========  =========  =========  =========
max_side    AP         AP75       PCK@0.2
==========  =========  =========  =========
256         0.524      0.543      0.972
384         0.667      0.794      0.972
512         0.651      0.898      0.983
==========  =========  =========  =========

For comparison, the top-down path on detector boxes (``--pipeline pose``) gets AP 0.531
(Lightning) and 0.742 (Thunder). MultiPose runs in float32 torch and is deterministic, so the
bounds sit a few points under the measurements.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from pose_helpers import check_tfjs_entry, frame_of, read_rgb
from pydantic import ValidationError

from streamcv.cli import main
from streamcv.config.models import PipelineConfig
from streamcv.errors import StageError
from streamcv.features.pose.evaluate import (
    evaluate,
    load_coco,
    load_image_json,
    predict_whole_images,
)
from streamcv.features.pose.multipose import (
    MoveNetMultiPose,
    decode_multipose,
    multipose_input_size,
)
from streamcv.features.pose.output import PoseOutput
from streamcv.features.pose.stage import MULTIPOSE, PoseStage
from streamcv.stages import build_stage
from streamcv.types import FrameResult

MULTIPOSE_ONLY = "name: multipose\nstages:\n  - type: pose\n    model: movenet_multipose\n"


@pytest.mark.parametrize(("name", "suffix"), [("movenet_multipose", ".json"),
                                              ("movenet_multipose_weights", ".bin")])
def test_multipose_entries_match_the_shared_files(name: str, suffix: str,
                                                  multipose_json: Path) -> None:
    e = check_tfjs_entry(name, multipose_json.with_suffix(suffix))
    assert e.source and e.notes


@pytest.mark.parametrize(("size", "max_side", "want"), [
    ((640, 425), 256, (256, 192)),  # 170 -> 192
    ((425, 640), 256, (192, 256)),
    ((1920, 1080), 256, (256, 160)),  # 144 -> 160
    ((640, 480), 384, (384, 288)),
    ((100, 100), 256, (256, 256)),  # upscaled
    ((4000, 10), 256, (256, 32)),  # never below one stride
])
def test_multipose_input_sides_are_multiples_of_32(size: tuple[int, int], max_side: int,
                                                    want: tuple[int, int]) -> None:
    assert multipose_input_size(*size, max_side=max_side) == want


def test_multipose_decoding_maps_to_source_pixels_sorts_and_drops() -> None:
    rows = np.zeros((1, 6, 56), np.float32)
    # person 0: score 0.3, box over the left half; person 1: score 0.9, box partly off-frame
    rows[0, 0, 0:51] = np.tile([0.5, 0.25, 0.7], 17)
    rows[0, 0, 51:56] = [0.0, 0.0, 1.0, 0.5, 0.3]
    rows[0, 1, 0:51] = np.tile([1.2, -0.1, 0.8], 17)  # outside: clipped to the frame
    rows[0, 1, 51:56] = [0.25, 0.5, 1.1, 1.0, 0.9]
    rows[0, 2, 55] = 0.05  # under the threshold
    # input 256x192 for a 640x427 frame: x scale 0.4, y scale 192/427
    r = decode_multipose(rows, input_size=(256, 192), scale=(256 / 640, 192 / 427),
                         frame_size=(640, 427), min_score=0.1)
    assert len(r) == 2 and r.score.tolist() == pytest.approx([0.9, 0.3])
    assert r.xyxy.tolist() == [pytest.approx([320, 106.75, 640, 427]),
                               pytest.approx([0, 0, 320, 427])]
    assert r.keypoints.shape == (2, 17, 3) and r.keypoints.dtype == np.float32
    assert r.keypoints[1, 0].tolist() == pytest.approx([160, 213.5, 0.7])
    assert r.keypoints[0, 0].tolist() == pytest.approx([0, 427, 0.8])
    empty = decode_multipose(rows, input_size=(256, 192), scale=(0.4, 0.45),
                             frame_size=(640, 427), min_score=0.95)
    assert len(empty) == 0 and empty.keypoints.shape == (0, 17, 3)


def test_multipose_accuracy_on_whole_coco_images(coco_dir: Path, multipose_json: Path) -> None:
    gts = load_coco(coco_dir / "test_coco.json")
    r = evaluate(gts, predict_whole_images(gts, coco_dir, multipose_json))
    assert (r.people, r.keypoints) == (12, 181)
    assert r.pck >= 0.93, r.to_json()  # measured 0.972
    assert r.ap >= 0.47, r.to_json()  # measured 0.524
    big = evaluate(gts, predict_whole_images(gts, coco_dir, multipose_json, max_side=384))
    assert big.ap >= 0.60, big.to_json()  # measured 0.667


def test_multipose_any_frame_size_and_bad_settings(multipose_json: Path) -> None:
    net = MoveNetMultiPose(multipose_json)
    for shape in ((37, 501, 3), (720, 1280, 3), (64, 64, 3)):
        r = net.predict(np.zeros(shape, np.uint8))
        assert r.keypoints.shape[1:] == (17, 3) and len(r) <= 6
    with pytest.raises(StageError, match="multiple of 32"):
        MoveNetMultiPose(multipose_json, max_side=300)
    with pytest.raises(StageError, match="not a loadable MoveNet MultiPose"):
        MoveNetMultiPose(multipose_json.with_name("missing.json"))


def test_multipose_model_name_selects_the_bottom_up_backend() -> None:
    stage = build_stage({"type": "pose", "model": MULTIPOSE})
    assert isinstance(stage, PoseStage) and stage.config.backend == "multipose"
    assert stage.config.upstream_refs() == {}
    assert stage.config.person_score == 0.1
    plain = build_stage({"type": "pose", "backend": "multipose"})
    assert isinstance(plain, PoseStage) and plain.model_name == MULTIPOSE
    with pytest.raises(ValidationError, match="backend: multipose"):
        build_stage({"type": "pose", "backend": "movenet", "model": MULTIPOSE})
    with pytest.raises(ValidationError, match="multiple of 32"):
        build_stage({"type": "pose", "model": MULTIPOSE, "max_side": 300})
    # no detector needed when the pipeline loads; tracks_from still checked
    PipelineConfig.model_validate({"stages": [{"type": "pose", "model": MULTIPOSE}]})
    with pytest.raises(ValidationError, match="tracks_from: 'track' is not an earlier"):
        PipelineConfig.model_validate(
            {"stages": [{"type": "pose", "model": MULTIPOSE, "tracks_from": "track"}]})


def test_multipose_stage_runs_without_a_detector(coco_dir: Path, multipose_store: Path) -> None:
    stage = build_stage({"type": "pose", "model": MULTIPOSE})
    stage.setup("cpu")
    img = read_rgb(coco_dir / "000000196141.jpg")
    out = stage.process([FrameResult(frame_of(img))])[0]  # no upstream stage at all
    assert isinstance(out, PoseOutput) and not out.skipped
    doc = json.loads(json.dumps(out.to_json()))
    assert 3 <= doc["count"] <= 6 and len(doc["people"]) == doc["count"]
    h, w = img.shape[:2]
    for p in doc["people"]:
        x0, y0, x1, y1 = p["xyxy"]
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        assert 0.1 <= p["score"] <= 1 and len(p["keypoints"]) == 17
        assert p["posture"] in ("standing", "sitting", "lying", "unknown")
    scores = [p["score"] for p in doc["people"]]
    assert scores == sorted(scores, reverse=True)
    stage.close()


def test_multipose_pipeline_through_the_cli(tmp_path: Path, coco_dir: Path,
                                            multipose_store: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """``streamcv image --json`` with a pipeline of one pose stage (no detect, no track)."""
    pipeline = tmp_path / "multipose.yaml"
    pipeline.write_text(MULTIPOSE_ONLY)
    code = main(["image", str(coco_dir), "--pipeline", str(pipeline), "--json", "--no-db"])
    out, err = capsys.readouterr()
    assert code == 0, err
    gts = load_coco(coco_dir / "test_coco.json")
    preds = load_image_json(out.splitlines(), stage="pose")
    assert set(preds) == set(gts)
    r = evaluate(gts, preds)
    assert r.pck >= 0.93 and r.ap >= 0.47, r.to_json()  # the same as on the images directly


def test_models_import_multipose_json_takes_the_bin_beside_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, multipose_json: Path) -> None:
    monkeypatch.setenv("STREAMCV_HOME", str(tmp_path / "home"))
    src = tmp_path / "dl"
    src.mkdir()
    for suffix in (".json", ".bin"):
        shutil.copyfile(multipose_json.with_suffix(suffix), src / f"movenet-multipose{suffix}")
    assert main(["models", "import", str(src / "movenet-multipose.json")]) == 0
    store = tmp_path / "home" / "models"
    assert (store / "movenet-multipose.json").is_file()
    assert (store / "movenet-multipose.bin").is_file()
    stage = build_stage({"type": "pose", "model": MULTIPOSE})
    stage.setup("cpu")  # resolves both entries from the store
    stage.close()
