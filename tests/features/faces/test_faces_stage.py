"""The faces stage on synthesised video made of real faces: tracks, visitors, skips, privacy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from facekit import paste, read_rgb, still_frame, video_frame
from pydantic import ValidationError

from streamcv.errors import StageError
from streamcv.stages import build_stage
from streamcv.types import Detections, FrameResult, StageOutput

FPS = 10.0
SMALL = {"min_face_px": 24}  # the tiny face of the clip is 19-21 px wide


@pytest.fixture(scope="module")
def faces(faces_dir: Path) -> dict[str, np.ndarray]:
    """Two adults from the labelled set: a man (38) and a woman (24)."""
    imgs = faces_dir / "images"
    return {"man": read_rgb(next(imgs.glob("38_0_0_*.jpg"))),
            "woman": read_rgb(next(imgs.glob("24_1_2_*.jpg")))}


def clip(faces: dict[str, np.ndarray], n: int = 20) -> list[np.ndarray]:
    """The man walks right for n frames; the woman is there in frames 0-5 only; a tiny face and
    a heavily blurred face stay put."""
    frames = []
    blurred = cv2.GaussianBlur(faces["woman"], (0, 0), 8)
    for k in range(n):
        canvas = np.full((360, 640, 3), 120, np.uint8)
        canvas = paste(canvas, faces["man"], 20 + 4 * k, 40, 140)
        if k < 6:
            canvas = paste(canvas, faces["woman"], 420, 60, 130)
        canvas = paste(canvas, faces["man"], 560, 300, 26)
        canvas = paste(canvas, blurred, 240, 210, 120)
        frames.append(canvas)
    return frames


def run(stage: Any, images: list[np.ndarray], *, batch: int = 4,
        upstream: list[StageOutput] | None = None) -> list[StageOutput]:
    outs: list[StageOutput] = []
    results = [FrameResult(video_frame(img, index=i, fps=FPS)) for i, img in enumerate(images)]
    if upstream is not None:
        results = [r.with_output("track", u) for r, u in zip(results, upstream, strict=True)]
    for i in range(0, len(results), batch):
        outs += stage.process(results[i:i + batch])
    return outs


def test_visitors_tracks_and_skips(make_stage: Any, faces: dict[str, np.ndarray]) -> None:
    stage = make_stage(track_timeout_s=0.3, **SMALL)
    outs = run(stage, clip(faces))
    first = outs[0].to_json()
    skipped = sorted(f.get("skipped", "") for f in first["faces"])
    assert skipped == ["", "", "blur", "small"], first
    assert first["analysed"] == 2 and first["skipped_small"] == 1 and first["skipped_blur"] == 1
    man = [f for f in first["faces"] if f["gender"] == "male"]
    assert len(man) == 1 and 25 <= man[0]["age"] <= 45
    man_id = man[0]["track_id"]
    assert all(any(f["track_id"] == man_id for f in o.to_json()["faces"]) for o in outs)
    # the woman left after frame 5: her visit ends 0.3 s later, mid-stream, as an event
    mid = [e for o in outs for e in o.events]
    assert [e.data["gender"] for e in mid] == ["female"]
    woman = mid[0].data
    assert woman["frames"] == 6 and woman["faces"] == 6 and 18 <= woman["age"] <= 35
    assert woman["age_band"] in ("18-25", "26-35") and woman["gender_score"] > 0.9
    ended = stage.on_source_eos("cam")
    by_kind = sorted((e.data["skipped_small"], e.data["skipped_blur"], e.data["gender"])
                     for e in ended)
    # the man, the tiny face (never analysed) and the blurred face (never analysed)
    assert by_kind == [(0, 0, "male"), (0, 20, None), (20, 0, None)]
    assert all(e.data["frames"] == 20 for e in ended)
    assert stage.on_source_eos("cam") == []  # state is gone


def test_batches_and_sources_are_independent(make_stage: Any,
                                              faces: dict[str, np.ndarray]) -> None:
    images = clip(faces, n=8)
    a = make_stage(**SMALL)
    one = [o.to_json() for o in run(a, images, batch=1)]
    b = make_stage(**SMALL)
    many = [o.to_json() for o in run(b, images, batch=8)]
    assert one == many
    # a second source interleaved in the same batch keeps its own tracks
    c = make_stage(**SMALL)
    res = []
    for i, img in enumerate(images):
        res += [FrameResult(video_frame(img, index=i, source="a")),
                FrameResult(video_frame(img, index=i, source="b"))]
    outs = c.process(res)
    ids_a = {f["track_id"] for o in outs[0::2] for f in o.to_json()["faces"]}
    ids_b = {f["track_id"] for o in outs[1::2] for f in o.to_json()["faces"]}
    assert ids_a == ids_b == {1, 2, 3, 4}
    assert len(c.on_source_eos("a")) == 4 and len(c.on_source_eos("b")) == 4


def test_faces_join_person_tracks(make_stage: Any, faces: dict[str, np.ndarray]) -> None:
    images = clip(faces, n=4)
    people = [StageOutput(detections=Detections.from_arrays(
        [[10 + 4 * k, 20, 180 + 4 * k, 350]], [0.9], [0], track_id=[42], labels=("person",)))
        for k in range(4)]
    stage = make_stage(tracks_from="track", **SMALL)
    outs = run(stage, images, upstream=people)
    for o in outs:
        ids = sorted((f["track_id"] is None, f["track_id"]) for f in o.to_json()["faces"])
        assert ids[0] == (False, 42) and all(i[0] for i in ids[1:])  # only the man's face
    with pytest.raises(StageError, match="tracks_from='track' is not an earlier stage"):
        stage.process([FrameResult(video_frame(images[0], index=9))])


def test_stills_are_analysed_whatever_their_quality_and_not_tracked(
        make_stage: Any, faces: dict[str, np.ndarray]) -> None:
    stage = make_stage(**SMALL)
    out = stage.process([FrameResult(still_frame(clip(faces, 1)[0]))])[0].to_json()
    assert out["analysed"] == 4 and out["skipped_blur"] == 0
    assert all(f["track_id"] is None for f in out["faces"]) and "visitors" not in out
    gated = make_stage(gate_stills=True, **SMALL)
    assert gated.process([FrameResult(still_frame(clip(faces, 1)[0]))])[0].metrics[
        "analysed"] == 2


def test_privacy_switches(make_stage: Any, faces: dict[str, np.ndarray], tmp_path: Path) -> None:
    images = clip(faces, n=6)
    plain = make_stage(per_frame=False, **SMALL)
    out = run(plain, images)[0]
    assert out.detections is None and len(out.to_json()["faces"]) == 4 and not out.data
    blur = make_stage(blur_faces=True, blur_method="pixelate", save_crops_dir=str(tmp_path),
                      **SMALL)
    out = run(blur, images)[0]
    assert out.data["blur_boxes"].shape == (4, 4) and out.data["blur_method"] == "pixelate"
    ended = blur.on_source_eos("cam")
    crops = sorted(tmp_path.rglob("*.jpg"))
    assert len(crops) == 2 == sum("crop" in e.data for e in ended)  # the analysed visitors
    assert cv2.imread(str(crops[0])).shape == (112, 112, 3)


@pytest.mark.parametrize(("config", "message"), [
    ({"detector": "haar"}, "detector"),
    ({"min_face_px": 0}, "min_face_px"),
    ({"colour": "red"}, "colour"),
    ({"track_timeout_s": -1}, "track_timeout_s"),
])
def test_bad_config_is_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_stage({"type": "faces", **config})


def test_process_before_setup_is_an_error() -> None:
    with pytest.raises(StageError, match="before setup"):
        build_stage({"type": "faces"}).process([])


@pytest.mark.usefixtures("empty_home")
def test_works_offline_with_only_the_pip_package(faces: dict[str, np.ndarray]) -> None:
    """Fresh install, empty model store: dlib HOG + the package's networks, no download."""
    stage = build_stage({"type": "faces"})
    stage.setup("cpu")
    out = stage.process([FrameResult(still_frame(faces["woman"]))])[0].to_json()
    (face,) = out["faces"]
    assert face["gender"] == "female" and 18 <= face["age"] <= 35
    assert stage.config.save_crops_dir is None  # privacy: no face crops unless asked
