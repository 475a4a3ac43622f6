"""`streamcv image`: still images are independent unless `--sequence` says they are the frames of
one sequence (then tracks and backgrounds carry over from one image to the next)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from media import shared_data

from streamcv.cli import main

# consecutive shots of one camera: a tracker links people across them when told to
SHOTS = ("cctv_train_1-36.jpg", "cctv_train_1-38.jpg", "cctv_train_1-39.jpg")


def _image(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["image", *args, "--json", "--no-db"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture
def shots() -> list[str]:
    folder = shared_data() / "persons" / "cctv" / "images"
    return [str(folder / name) for name in SHOTS]


@pytest.fixture
def people(tmp_path: Path) -> str:
    """Person detection (one scale, for speed) and IoU tracking with the shared weights."""
    weights = shared_data() / "models" / "yolox_nano_416x416.onnx"
    pipe = tmp_path / "people.yaml"
    pipe.write_text(
        "name: people_test\nstages:\n"
        f"  - {{type: detect, model: yolox_nano, weights: '{weights}', classes: [person],\n"
        "     scales: [[640, 384]], flip: false, score_threshold: 0.01, count_threshold: 0.15}\n"
        "  - {type: track, detections_from: detect, high_score: 0.35, low_score: 0.1,\n"
        "     new_track_score: 0.4}\n")
    return str(pipe)


def test_independent_stills_get_boxes_and_no_track_ids(
    shots: list[str], people: str, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = _image(capsys, *shots, "--pipeline", people)
    assert [d["path"] for d in docs] == shots
    for doc in docs:
        det, track = doc["stages"]["detect"], doc["stages"]["track"]
        assert det["count"] >= 3  # every still reports its boxes ...
        assert all(d["track_id"] is None for d in det["detections"])
        # ... and no image is linked to another: a track needs several frames of one sequence
        assert track["detections"] == [] and track["confirmed_total"] == 0


def test_a_sequence_links_tracks_across_images(
    shots: list[str], people: str, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = _image(capsys, *shots, "--pipeline", people, "--sequence")
    last = docs[-1]["stages"]["track"]
    ids = [d["track_id"] for d in last["detections"]]
    assert len(ids) >= 3 and None not in ids and len(set(ids)) == len(ids)
    assert docs[0]["stages"]["track"]["detections"] == []  # not confirmed on the first image


def test_motion_compares_images_only_in_a_sequence(
    shots: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipe = tmp_path / "motion.yaml"
    pipe.write_text("name: stills\nstages:\n  - type: motion\n    warmup_frames: 1\n")
    alone = [d["stages"]["motion"]["regions"] for d in _image(capsys, *shots, "-p", str(pipe))]
    assert alone == [0, 0, 0]  # nothing to compare a lone picture with
    seq = [d["stages"]["motion"]["regions"]
           for d in _image(capsys, *shots, "-p", str(pipe), "--sequence")]
    assert seq[0] == 0 and sum(seq[1:]) >= 1  # people moved between the shots
