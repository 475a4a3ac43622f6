"""Tracker logic on scripted tracks (no model): ID switches, occlusion, flicker, crossing paths,
independent sources."""

from __future__ import annotations

from peoplekit import dets, frame, ids_per_frame, person, run_chain, walk

from streamcv.stages import build_stage
from streamcv.types import FrameResult, StageOutput


# tracker -------------------------------------------------------------------------------------
def test_flicker_never_gets_an_id() -> None:
    script = [[person(100, 300)] if i % 3 == 0 else [] for i in range(30)]  # 1 frame in 3
    res = run_chain(script)
    assert all(ids == [] for ids in ids_per_frame(res))
    assert res[-1].outputs["track"].metrics["confirmed_total"] == 0


def test_occlusion_keeps_the_id() -> None:
    path = walk(50, 590, 300, 40)
    script = [[] if 15 <= i < 25 else [p] for i, p in enumerate(path)]  # hidden for 1.0 s
    ids = ids_per_frame(run_chain(script, track={"lost_timeout_s": 2.0}))
    assert ids[:2] == [[], []]  # confirmed on the 3rd hit
    assert {tuple(x) for x in ids if x} == {(1,)}


def test_long_occlusion_gives_a_new_id() -> None:
    path = walk(50, 590, 300, 60)
    script = [[] if 15 <= i < 45 else [p] for i, p in enumerate(path)]  # hidden for 3 s
    ids = ids_per_frame(run_chain(script, track={"lost_timeout_s": 2.0}))
    assert {tuple(x) for x in ids if x} == {(1,), (2,)}


def test_crossing_paths_keep_their_ids() -> None:
    a, b = walk(100, 540, 300, 40), walk(540, 100, 310, 40)
    res = run_chain([[p, q] for p, q in zip(a, b, strict=True)])
    first = {int(t): float(res[5].outputs["track"].detections.xyxy[k, 0])
             for k, t in enumerate(res[5].outputs["track"].detections.track_id)}
    last = {int(t): float(res[-1].outputs["track"].detections.xyxy[k, 0])
            for k, t in enumerate(res[-1].outputs["track"].detections.track_id)}
    left_id = min(first, key=first.get)  # the one that started on the left ...
    assert last[left_id] > 400  # ... ends on the right: no swap when they pass each other


def test_low_score_detections_continue_tracks() -> None:
    path = walk(50, 590, 300, 30)
    script = [[p[:4] + [0.3 if i >= 10 else 0.9]] for i, p in enumerate(path)]  # occluded: 0.3
    ids = ids_per_frame(run_chain(script))
    assert all(x == [1] for x in ids[2:])


def test_tracker_output_is_a_new_object() -> None:
    d = dets([person(100, 300)])
    tr = build_stage({"type": "track", "confirm_hits": 1})
    r = FrameResult(frame(0), {"detect": StageOutput(detections=d)})
    out = tr.process([r])[0].detections
    assert out.track_id.tolist() == [1] and d.track_id.tolist() == [-1]


def test_skipped_upstream_is_skipped() -> None:
    tr = build_stage({"type": "track"})
    r = FrameResult(frame(0), {"detect": StageOutput(skipped=True)})
    assert tr.process([r])[0].skipped


def test_sources_are_independent_and_reset() -> None:
    tr = build_stage({"type": "track", "confirm_hits": 1})
    for i in range(3):
        for src in ("a", "b"):
            out = StageOutput(detections=dets([person(100 + i, 300)]))
            r = FrameResult(frame(i, src), {"detect": out})
            assert tr.process([r])[0].detections.track_id.tolist() == [1]
    tr.reset("a")
    r = FrameResult(frame(3, "a"), {"detect": StageOutput(detections=dets([person(400, 300)]))})
    assert tr.process([r])[0].detections.track_id.tolist() == [1]
    assert set(tr._state) == {"a", "b"}
