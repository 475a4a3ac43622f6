"""Appearance re-identification (the real re-ID ONNX on real person crops), static false tracks,
the stored boxes of the detect stage and the MOT metrics of ``bench/eval_tracking.py``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from media import shared_data
from peoplekit import dets, person, run_chain

from streamcv.errors import ConfigError, WeightsNotFoundError
from streamcv.features.tracking.reid import ReidEmbedder
from streamcv.stages import build_stage
from streamcv.types import Frame, FrameResult, StageOutput

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from eval_tracking import Frame as MotFrame  # noqa: E402
from eval_tracking import evaluate, load_gt  # noqa: E402

REID = "models/person-reidentification-retail-0288.onnx"
SEQ = "tracking/TUD-Stadtmitte"
FPS = 10


def _crops() -> dict[int, np.ndarray]:
    """Three people of TUD-Stadtmitte's first frame (GT ids 1, 2, 3), RGB, 50 x 120."""
    cap = cv2.VideoCapture(str(shared_data() / SEQ / "TUD-Stadtmitte.mp4"))
    ok, bgr = cap.read()
    cap.release()
    assert ok
    gt = load_gt(shared_data() / SEQ)[1]
    out = {}
    for i, (x1, y1, x2, y2) in zip(gt.ids.tolist(), gt.xyxy.astype(int).tolist(), strict=True):
        if i in (1, 2, 3):
            out[i] = cv2.resize(bgr[max(y1, 0):y2, max(x1, 0):x2, ::-1], (50, 120))
    return out


def _scene(people: list[tuple[np.ndarray, float]], i: int) -> tuple[Frame, list[list[float]]]:
    """A grey frame with ``people`` (crop, centre x; feet at y = 330) pasted in, and their boxes."""
    img = np.full((480, 640, 3), 128, np.uint8)
    rows = []
    for crop, cx in people:
        x1 = int(cx) - 25
        img[210:330, x1:x1 + 50] = crop
        rows.append([x1, 210, x1 + 50, 330, 0.9])
    f = Frame.create("cam", i, img, pts=i, time_base=Fraction(1, FPS),
                     wallclock=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i / FPS))
    return f, rows


def _track_ids(track: dict[str, Any], back: int) -> list[list[int]]:
    """Person 1 walks right, is hidden for 3 s, and person ``back`` walks on from about where
    person 1 would be; person 2 stands still on the right throughout."""
    crops = _crops()
    stage = build_stage({"type": "track", "lost_timeout_s": 2.0, **track})
    stage.setup("cpu")
    ids = []
    for i in range(70):
        people = [(crops[2], 560.0)]
        if i < 20:
            people.append((crops[1], 100 + 5 * i))
        elif i >= 50:
            people.append((crops[back], 260 + 5 * (i - 50)))
        f, rows = _scene(people, i)
        out = stage.process([FrameResult(f, {"detect": StageOutput(detections=dets(rows))})])[0]
        order = np.argsort(out.detections.xyxy[:, 0])
        ids.append(out.detections.track_id[order].tolist())
    return ids


@pytest.fixture
def reid_weights() -> str:
    return str(shared_data() / REID)


def test_embeddings_tell_people_apart(reid_weights: str) -> None:
    crops = _crops()
    emb = ReidEmbedder(reid_weights)
    f1, _ = _scene([(crops[1], 100), (crops[2], 300), (crops[3], 500)], 0)
    v = emb.embed(f1.image, [[75, 210, 125, 330], [275, 210, 325, 330], [475, 210, 525, 330]])
    shifted = emb.embed(f1.image, [[73, 205, 127, 332]])  # the same person, a looser box
    assert v.shape == (3, 256) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert float(shifted[0] @ v[0]) > 0.8
    # person 1 (dark coat) differs from 2 and 3; those two look alike at this size (0.85)
    assert max(float(v[0] @ v[1]), float(v[0] @ v[2])) < 0.55 < float(v[1] @ v[2])


@pytest.mark.parametrize(("track", "back", "same_id"), [
    ({}, 1, False),  # IoU only: a 3 s occlusion outlasts lost_timeout_s, a new id
    ({"reid": "person_reid_retail_0288"}, 1, True),  # appearance re-finds the person
    ({"reid": "person_reid_retail_0288"}, 3, False),  # ... and never gives it to someone else
])
def test_reid_bridges_a_long_occlusion(reid_weights: str, track: dict[str, Any], back: int,
                                       same_id: bool) -> None:
    if "reid" in track:
        track = {**track, "reid_weights": reid_weights}
    ids = _track_ids(track, back)
    before, after = ids[19], ids[69]
    assert len(before) == len(after) == 2 and before[1] == after[1]  # the standing person
    assert (after[0] == before[0]) is same_id, (before, after)


def test_reid_tracks_through_empty_frames(reid_weights: str) -> None:
    """Frames with no detection at all (an empty room) pass through the re-ID tracker."""
    crops = _crops()
    stage = build_stage({"type": "track", "reid": "person_reid_retail_0288",
                         "reid_weights": reid_weights})
    stage.setup("cpu")
    seen = []
    for i in range(12):
        f, rows = _scene([] if 4 <= i < 6 else [(crops[1], 100 + 5 * i)], i)
        out = stage.process([FrameResult(f, {"detect": StageOutput(detections=dets(rows))})])[0]
        seen.append(out.detections.track_id.tolist())
    assert seen[4] == seen[5] == [] and seen[11] == seen[3] and len(seen[3]) == 1


def test_reid_config_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="not a re-identification model"):
        build_stage({"type": "track", "reid": "yolox_nano"})
    with pytest.raises(ConfigError, match="reid"):
        build_stage({"type": "track", "reid": "no_such_model"})
    monkeypatch.setenv("STREAMCV_HOME", str(tmp_path))
    stage = build_stage({"type": "track", "reid": "person_reid_retail_0288",
                         "reid_weights": str(tmp_path / "missing.onnx")})
    with pytest.raises(WeightsNotFoundError, match="models import"):
        stage.setup("cpu")


# static false tracks ---------------------------------------------------------------------------
def test_a_static_low_score_box_is_not_counted() -> None:
    """A cone (score 0.45, never moves) beside a walker and a person standing still (0.9)."""
    walker = [person(100 + 3 * (i % 100), 300) for i in range(150)]  # 15 s at 10 fps
    script = [[person(500, 200, 0.45), person(300, 420, 0.9), w] for w in walker]
    res = run_chain(script, counting={}, track={"high_score": 0.35, "new_track_score": 0.4})
    static_ids = []
    for r in res:
        d = r.outputs["track"].detections
        flags = d.data.get("static", np.zeros(len(d), bool))
        static_ids.append(sorted(int(t) for t, s in zip(d.track_id, flags, strict=True) if s))
    cone = next(int(t) for t, b in zip(res[5].outputs["track"].detections.track_id,
                                       res[5].outputs["track"].detections.xyxy, strict=True)
                if b[0] == 480)
    assert all(s == [] for s in static_ids[:95])  # not before 10 s
    assert all(s == [cone] for s in static_ids[101:])  # from then on: the cone only
    people = [r.outputs["counting"].metrics["people"] for r in res]
    assert people[50] == 3 and people[-1] == 2  # the cone stops counting as a person


def test_static_flag_can_be_disabled() -> None:
    script = [[person(500, 200, 0.45)] for _ in range(120)]
    res = run_chain(script, track={"high_score": 0.35, "new_track_score": 0.4,
                                   "static_after_s": 0})
    assert all("static" not in r.outputs["track"].detections.data for r in res)


# stored boxes ----------------------------------------------------------------------------------
def test_detect_outputs_counted_boxes_and_tracks_see_all(tmp_path: Path) -> None:
    from streamcv.features.detection.stage import Detect

    weights = shared_data() / "models" / "yolox_nano_416x416.onnx"
    cap = cv2.VideoCapture(str(shared_data() / SEQ / "TUD-Stadtmitte.mp4"))
    ok, bgr = cap.read()
    cap.release()
    assert ok
    f = Frame.create("cam", 0, bgr[:, :, ::-1].copy(), pts=0, time_base=Fraction(1, 25),
                     wallclock=datetime(2026, 1, 1, tzinfo=UTC))
    cfg = {"type": "detect", "weights": str(weights), "score_threshold": 0.01,
           "count_threshold": 0.3}
    outs = {}
    for store_all in (False, True):
        stage = build_stage({**cfg, "store_all": store_all})
        assert isinstance(stage, Detect)
        stage.setup("cpu")
        outs[store_all] = stage.process([FrameResult(f)])[0]
        stage.close()
    lean, full = outs[False], outs[True]
    assert len(full.detections) > len(lean.detections) > 0
    assert (lean.detections.confidence >= 0.3).all() and (full.detections.confidence < 0.3).any()
    assert lean.metrics == full.metrics == {"count": float(len(lean.detections))}
    assert len(lean.data["candidates"]) == len(full.detections)
    # the tracker reads the candidates: the same tracks as from the full output
    got = {}
    for store_all, out in outs.items():
        tr = build_stage({"type": "track", "confirm_hits": 1, "high_score": 0.1,
                          "new_track_score": 0.1, "low_score": 0.05})
        got[store_all] = len(tr.process([FrameResult(f, {"detect": out})])[0].detections)
    assert got[False] == got[True] > len(lean.detections)


# MOT metrics -----------------------------------------------------------------------------------
def _mot(rows: dict[int, list[tuple[int, list[float]]]], ignore: set[int] = frozenset()
         ) -> dict[int, MotFrame]:
    return {f: MotFrame(np.array([i for i, _ in r], np.int64),
                        np.array([b for _, b in r], np.float64).reshape(-1, 4),
                        np.array([i in ignore for i, _ in r])) for f, r in rows.items()}


A, B, FAR = [0, 0, 10, 20], [30, 0, 40, 20], [100, 100, 110, 120]


@pytest.mark.parametrize(("gt", "hyp", "want"), [
    # perfect
    ({1: [(1, A)], 2: [(1, A)]}, {1: [(7, A)], 2: [(7, A)]}, (1.0, 1.0, 0, 0, 0)),
    # a switch halfway and a false positive: MOTA 1 - 2/4, IDF1 = 2*2 / (4+5)
    ({f: [(1, A)] for f in (1, 2, 3, 4)},
     {1: [(1, A), (9, FAR)], 2: [(1, A)], 3: [(2, A)], 4: [(2, A)]}, (0.5, 4 / 9, 1, 1, 0)),
    # two people swap ids (2 switches), a miss: MOTA 1 - 3/6; IDTP = 2 + 1 -> IDF1 6/11
    ({1: [(1, A), (2, B)], 2: [(1, A), (2, B)], 3: [(1, A), (2, B)]},
     {1: [(1, A), (2, B)], 2: [(2, A), (1, B)], 3: [(2, A)]}, (0.5, 6 / 11, 2, 0, 1)),
    # a box below IoU 0.5 is a miss and a false positive
    ({1: [(1, A)]}, {1: [(1, [0, 11, 10, 31])]}, (-1.0, 0.0, 0, 1, 1)),
])
def test_mot_metrics_on_hand_made_cases(gt: dict, hyp: dict, want: tuple) -> None:
    m = evaluate(_mot(gt), _mot(hyp))
    assert (m.mota, m.idf1, m.idsw, m.fp, m.fn) == pytest.approx(want)


def test_hypotheses_on_ignore_regions_are_dropped() -> None:
    gt = _mot({1: [(1, A), (5, B)]}, ignore={5})
    m = evaluate(gt, _mot({1: [(1, A), (2, B)]}))
    assert (m.gt, m.hyp, m.fp, m.mota) == (1, 1, 0, 1.0)
