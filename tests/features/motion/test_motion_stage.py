"""The motion stage: metrics, zones, masks, persistence, events, per-camera config, stills."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from motionkit import frame, results, room, with_box
from pydantic import ValidationError

from streamcv.cli import main
from streamcv.errors import SourceNotFoundError, StageError
from streamcv.stages import build_stage
from streamcv.types import FrameResult

ZONES = [{"name": "left", "normalized": True, "points": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]},
         {"name": "right", "points": [[160, 0], [320, 0], [320, 192], [160, 192]]}]


def _run(stage: Any, images: list[np.ndarray], **kw: Any) -> list[Any]:
    return [stage.process([r])[0] for r in results(images, **kw)]


def _stage(**cfg: Any) -> Any:
    return build_stage({"type": "motion", "warmup_frames": 5} | cfg)


def test_metrics_zones_and_boxes() -> None:
    stage = _stage(zones=ZONES, persist_frames=1, persist_s=0)
    outs = _run(stage, [room()] * 5 + [with_box(room(), 40, 60)])
    warm, moving = outs[0], outs[-1]
    assert warm.metrics == {"score": 0.0, "regions": 0.0, "active": 0.0, "exposure_shift": 0.0,
                            "rebaselining": 0.0, "zone.left": 0.0, "zone.right": 0.0}
    m = moving.metrics
    assert m["regions"] == 1 and m["active"] == 1 and m["zone.right"] == 0
    assert 0.03 < m["score"] < 0.05 and 0.07 < m["zone.left"] < 0.09  # 40x60 box in 320x192
    (box,) = moving.detections.xyxy.tolist()
    assert all(abs(a - b) <= 6 for a, b in zip(box, [40, 60, 80, 120], strict=True))
    assert moving.detections.data["zones"][0] == ["left"]
    assert moving.detections.labels == ("motion",)
    assert moving.to_json()["detections"][0]["label"] == "motion"


def test_ignore_masks_and_min_area() -> None:
    ignore = [{"name": "clock", "points": [[30, 50], [90, 50], [90, 130], [30, 130]]}]
    masked = _stage(ignore=ignore, persist_frames=1)
    imgs = [room()] * 5 + [with_box(room(), 40, 60)]
    assert _run(masked, imgs)[-1].metrics["regions"] == 0
    tiny = _stage(min_area=0.1, persist_frames=1)  # regions must cover 10 % of the picture
    assert _run(tiny, imgs)[-1].metrics["regions"] == 0


@pytest.mark.parametrize(
    ("persist", "first_active"),
    [({"persist_frames": 1, "persist_s": 0}, 5), ({"persist_frames": 3, "persist_s": 0}, 7),
     ({"persist_frames": 1, "persist_s": 0.5}, 10), ({"persist_frames": 3, "persist_s": 0.1}, 7)],
)
def test_persistence(persist: dict[str, Any], first_active: int) -> None:
    stage = _stage(zones=ZONES, **persist)
    walk = [with_box(room(), 20 + 8 * i, 60) for i in range(10)]
    outs = _run(stage, [room()] * 5 + walk)
    active = [i for i, o in enumerate(outs) if o.metrics["active"]]
    assert active[0] == first_active
    zone_on = [i for i, o in enumerate(outs) if o.metrics["zone.left"] > 0]
    assert zone_on[0] == first_active  # zones need the same persistence
    events = [(i, e.kind) for i, o in enumerate(outs) for e in o.events]
    assert events == [(first_active, "motion_start")]


def test_motion_end_and_short_gaps() -> None:
    stage = _stage(persist_frames=1, persist_s=0, release_frames=2)
    box = with_box(room(), 100, 60)
    seq = [room()] * 5 + [box, room(), room(), box, room(), room(), room(), room()]
    outs = _run(stage, seq)
    kinds = [(i, e.kind) for i, o in enumerate(outs) for e in o.events]
    assert kinds == [(5, "motion_start"), (11, "motion_end")]  # a 2-frame gap is bridged


def test_lights_off_records_rebaseline_not_motion() -> None:
    stage = _stage(persist_frames=1)
    dark = (room() // 3).astype(np.uint8)
    outs = _run(stage, [room()] * 10 + [dark] * 20)
    kinds = [(i, e.kind) for i, o in enumerate(outs) for e in o.events]
    assert kinds[0] == (10, "motion_rebaseline") and kinds[1][1] == "motion_rebaseline_end"
    assert all(o.metrics["active"] == 0 and o.metrics["regions"] == 0 for o in outs)
    ev = outs[10].events[0]
    assert ev.data["reason"] == "exposure" and ev.data["shift"] < -60
    assert "background re-learned" in ev.message
    assert [o.metrics["rebaselining"] for o in outs[9:12]] == [0.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("source", "zones"),
    [("lobby", ["door"]), ("gate-1", ["road"]), ("gate-2", ["road"]), ("yard", ["all"]),
     ("lobby-2", ["road"])],
)
def test_camera_config_by_id_or_pattern(source: str, zones: list[str]) -> None:
    z = {"normalized": True, "points": [[0, 0], [1, 0], [1, 1]]}
    stage = _stage(zones=[{"name": "all", **z}], cameras={
        "lobby": {"zones": [{"name": "door", **z}]},
        "*-*": {"zones": [{"name": "road", **z}], "ignore": [{"name": "tree", **z}]},
    })
    assert [x.name for x in stage.camera_config(source).zones] == zones


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"zones": [ZONES[0], ZONES[0]]}, "zone names must be unique; repeated: left"),
        ({"cameras": {"a": {"zones": [ZONES[1], ZONES[1]]}}}, "repeated: right"),
        ({"cameras": {"a": {"zone": []}}}, "Extra inputs are not permitted"),
        ({"method": "gmg"}, "Input should be 'mog2' or 'knn'"),
        ({"global_share": 0}, "greater than 0"),
        ({"gate": {"stage": "motion", "hold_s": -1}}, "greater than or equal to 0"),
    ],
)
def test_config_errors(cfg: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_stage({"type": "motion"} | cfg)


def test_knn_method_works() -> None:
    outs = _run(_stage(method="knn", persist_frames=1), [room()] * 5 + [with_box(room(), 40, 60)])
    assert outs[-1].metrics["regions"] == 1


def test_sources_have_separate_models_and_resolution_changes() -> None:
    stage = _stage(persist_frames=1)
    a = [FrameResult(frame(room(), i, source="a")) for i in range(6)]
    b = [FrameResult(frame(with_box(room(), 40, 60) if i == 5 else room(), i, source="b"))
         for i in range(6)]
    outs = stage.process([x for pair in zip(a, b, strict=True) for x in pair])
    assert [o.metrics["regions"] for o in outs[-2:]] == [0, 1]
    big = cv2.resize(room(), (640, 384), interpolation=cv2.INTER_NEAREST)
    again = stage.process([FrameResult(frame(big, 6, source="a"))])[0]
    assert again.metrics["active"] == 0  # a new model: warming up again


# stills ------------------------------------------------------------------------------------------
def test_still_image_against_reference_background(tmp_path: Path) -> None:
    ref = tmp_path / "empty.png"
    cv2.imwrite(str(ref), cv2.cvtColor(room(), cv2.COLOR_RGB2BGR))
    stage = _stage(cameras={"shop": {"background": str(ref)}})
    stage.setup()
    imgs = [room(), with_box(room(), 200, 40)]
    outs = [stage.process([FrameResult(frame(img, i, source="shop", still=True))])[0]
            for i, img in enumerate(imgs)]
    assert [o.metrics["regions"] for o in outs] == [0, 1]
    assert outs[1].metrics["active"] == 1  # no persistence needed for a single still


def test_missing_or_mismatched_background(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="no such file"):
        _stage(background=str(tmp_path / "nope.png")).setup()
    wide = tmp_path / "wide.png"
    cv2.imwrite(str(wide), np.zeros((100, 400, 3), np.uint8))
    stage = _stage(background=str(wide))
    stage.setup()
    with pytest.raises(StageError, match="is 400x100, frames are 320x192"):
        stage.process([FrameResult(frame(room(), 0, still=True))])


def test_image_sequence_with_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`streamcv image FOLDER --sequence --json`: each image compared with those before it."""
    folder = tmp_path / "shots"
    folder.mkdir()
    for i, img in enumerate([room(), room(), with_box(room(), 200, 40, 60, 80), room()]):
        cv2.imwrite(str(folder / f"shot_{i:02d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    pipe = tmp_path / "p.yaml"
    pipe.write_text("name: stills\nstages:\n  - type: motion\n    warmup_frames: 1\n")
    code = main(["image", str(folder), "--sequence", "--json", "--no-db", "--pipeline", str(pipe)])
    out = capsys.readouterr().out
    assert code == 0
    docs = [json.loads(line)["stages"]["motion"] for line in out.splitlines()]
    assert [d["regions"] for d in docs] == [0, 0, 1, 0]  # the object came and went
    (det,) = docs[2]["detections"]
    assert det["label"] == "motion" and abs(det["xyxy"][0] - 200) <= 6
