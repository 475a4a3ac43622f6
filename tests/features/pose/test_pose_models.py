"""Registry entries of the pose models, and the keypoint layout against COCO's own file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from streamcv.features.pose.skeleton import KEYPOINT_NAMES, SKELETON
from streamcv.features.pose.stage import DEFAULT_MODELS
from streamcv.features.pose.zoo import POSE_MODELS
from streamcv.models.registry import get_model, resolve_weights


@pytest.mark.parametrize("entry", [e for e in POSE_MODELS if not e.name.endswith("_weights")],
                         ids=lambda e: e.name)
def test_entries_carry_their_metadata(entry: object) -> None:
    e = get_model(entry.name)  # type: ignore[attr-defined]
    assert e.task == "pose" and e.categories == KEYPOINT_NAMES
    assert e.license and e.source
    assert (e.url and e.url.startswith("https://")) or e.archive
    assert e.preprocessing and e.notes
    assert e.name in {*DEFAULT_MODELS.values(), "movenet_thunder"}


def test_movenet_entry_matches_the_published_file(movenet_path: Path) -> None:
    e = get_model("movenet_singlepose_lightning_int8")
    assert movenet_path.stat().st_size == e.size
    assert hashlib.sha256(movenet_path.read_bytes()).hexdigest() == e.sha256
    assert e.input_size == (192, 192)


def test_weights_resolve_by_explicit_path_then_store(movenet_path: Path, model_store: Path
                                                     ) -> None:
    name = "movenet_singlepose_lightning_int8"
    assert resolve_weights(name, movenet_path) == movenet_path
    assert resolve_weights(name) == model_store / get_model(name).file_name


def test_keypoint_names_and_skeleton_are_cocos(coco_dir: Path) -> None:
    (cat,) = json.loads((coco_dir / "test_coco.json").read_text())["categories"]
    assert tuple(cat["keypoints"]) == KEYPOINT_NAMES
    assert {tuple(sorted((a - 1, b - 1))) for a, b in cat["skeleton"]} \
        == {tuple(sorted(p)) for p in SKELETON}
